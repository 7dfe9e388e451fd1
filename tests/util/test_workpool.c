/*
 * test_workpool.c — tkms/workpool.h: argument checks, FIFO order on one
 * thread, every queued job run by tkms_workpool_free (also jobs submitted
 * by jobs while it drains), jobs really running in parallel, and the
 * bounded queue refusing with TKMS_ERR_NO_MEMORY.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "tkms/workpool.h"

static int order[1000];
static size_t order_len;

static void record(void *arg)
{
    order[order_len++] = (int)(intptr_t)arg; /* one thread: no race */
}

static atomic_int counter;

static void count(void *arg)
{
    (void)arg;
    atomic_fetch_add(&counter, 1);
}

static tkms_workpool *chain_pool;

static void chain(void *arg)
{
    intptr_t left = (intptr_t)arg;
    atomic_fetch_add(&counter, 1);
    if (left > 0)
        tkms_workpool_submit(chain_pool, chain, (void *)(left - 1));
}

/* Each job waits (up to 10 s) until `parallel` jobs are running at once. */
static atomic_int running;
static atomic_int met;
static const int parallel = 4;

static void rendezvous(void *arg)
{
    (void)arg;
    atomic_fetch_add(&running, 1);
    for (int i = 0; i < 10000 && atomic_load(&running) < parallel; i++)
        usleep(1000);
    if (atomic_load(&running) >= parallel)
        atomic_fetch_add(&met, 1);
}

static atomic_int release;

static void block(void *arg)
{
    (void)arg;
    while (!atomic_load(&release))
        usleep(1000);
}

int main(void)
{
    tkms_err err;
    tkms_workpool *p = (tkms_workpool *)1;
    CHECK(tkms_workpool_new(&p, 0, &err) == TKMS_ERR_INVALID_ARGUMENT && p == NULL,
          "0 threads refused: %s", err.message);
    CHECK(tkms_workpool_new(&p, TKMS_WORKPOOL_MAX_THREADS + 1, &err) ==
              TKMS_ERR_INVALID_ARGUMENT,
          "too many threads refused: %s", err.message);
    CHECK(tkms_workpool_new(NULL, 1, &err) == TKMS_ERR_INVALID_ARGUMENT, "NULL out refused");
    tkms_workpool_free(NULL);
    CHECK(tkms_workpool_threads(NULL) == 0, "threads(NULL) is 0");

    /* FIFO on one thread; free runs everything queued */
    CHECK(tkms_workpool_new(&p, 1, &err) == TKMS_OK, "one thread: %s", err.message);
    CHECK(tkms_workpool_threads(p) == 1, "threads() is 1");
    CHECK(tkms_workpool_submit(p, NULL, NULL) == TKMS_ERR_INVALID_ARGUMENT, "NULL job refused");
    CHECK(tkms_workpool_submit(NULL, record, NULL) == TKMS_ERR_INVALID_ARGUMENT,
          "NULL pool refused");
    bool all = true;
    for (int i = 0; i < 1000; i++)
        all &= tkms_workpool_submit(p, record, (void *)(intptr_t)i) == TKMS_OK;
    CHECK(all, "1000 jobs queued");
    tkms_workpool_free(p);
    bool fifo = order_len == 1000;
    for (int i = 0; fifo && i < 1000; i++)
        fifo = order[i] == i;
    CHECK(fifo, "jobs ran in submission order (%zu ran)", order_len);

    /* many threads, many jobs: all run by the time free returns */
    CHECK(tkms_workpool_new(&p, 8, &err) == TKMS_OK, "eight threads: %s", err.message);
    CHECK(tkms_workpool_threads(p) == 8, "threads() is 8");
    all = true;
    for (int i = 0; i < 20000; i++)
        all &= tkms_workpool_submit(p, count, NULL) == TKMS_OK;
    CHECK(all, "20000 jobs queued");
    tkms_workpool_free(p);
    CHECK(atomic_load(&counter) == 20000, "all 20000 ran: %d", atomic_load(&counter));

    /* jobs that submit jobs while free drains */
    atomic_store(&counter, 0);
    CHECK(tkms_workpool_new(&chain_pool, 2, &err) == TKMS_OK, "chain pool: %s", err.message);
    tkms_workpool_submit(chain_pool, chain, (void *)(intptr_t)99);
    tkms_workpool_free(chain_pool);
    CHECK(atomic_load(&counter) == 100, "a chain of 100 jobs all ran: %d", atomic_load(&counter));

    /* jobs run in parallel */
    CHECK(tkms_workpool_new(&p, (unsigned)parallel, &err) == TKMS_OK, "parallel pool: %s",
          err.message);
    for (int i = 0; i < parallel; i++)
        tkms_workpool_submit(p, rendezvous, NULL);
    tkms_workpool_free(p);
    CHECK(atomic_load(&met) == parallel, "%d jobs ran at the same time", parallel);

    /* the queue is bounded */
    CHECK(tkms_workpool_new(&p, 1, &err) == TKMS_OK, "bounded pool: %s", err.message);
    tkms_workpool_submit(p, block, NULL);
    usleep(20000); /* let the worker take the blocking job (not required) */
    atomic_store(&counter, 0);
    size_t queued = 0;
    tkms_status st = TKMS_OK;
    for (size_t i = 0; i <= TKMS_WORKPOOL_MAX_QUEUED + 1 && st == TKMS_OK; i++) {
        st = tkms_workpool_submit(p, count, NULL);
        if (st == TKMS_OK)
            queued++;
    }
    CHECK(st == TKMS_ERR_NO_MEMORY, "a full queue refuses with no memory");
    CHECK(queued >= TKMS_WORKPOOL_MAX_QUEUED - 1 && queued <= TKMS_WORKPOOL_MAX_QUEUED,
          "queue holds %u jobs (%zu queued)", TKMS_WORKPOOL_MAX_QUEUED, queued);
    atomic_store(&release, 1);
    tkms_workpool_free(p);
    CHECK((size_t)atomic_load(&counter) == queued, "every accepted job ran (%d of %zu)",
          atomic_load(&counter), queued);
    return test_report();
}
