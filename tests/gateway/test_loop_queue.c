/*
 * test_loop_queue.c — the gateway's loop queue (src/gateway/loop_queue.h):
 * four threads post 2,500 calls each while the loop runs; every call runs
 * exactly once, on the loop thread, and each thread's calls run in the
 * order it posted them; a call posted from the loop thread itself runs on
 * a later turn, not inside the post; items still queued when the queue is
 * freed are run by loop_queue_free.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "loop_queue.h"
#include "test.h"

#define THREADS 4
#define PER_THREAD 2500

typedef struct {
    loop_queue_item item;
    int thread, seq;
} call;

static pthread_t loop_thread;
static call calls[THREADS][PER_THREAD];
static int last_seq[THREADS];
static atomic_int ran, off_loop, out_of_order;
static struct event_base *base;
static loop_queue *queue;

static void on_call(void *arg)
{
    call *c = arg;
    if (!pthread_equal(pthread_self(), loop_thread))
        atomic_fetch_add(&off_loop, 1);
    if (c->seq != last_seq[c->thread] + 1)
        atomic_fetch_add(&out_of_order, 1);
    last_seq[c->thread] = c->seq;
    if (atomic_fetch_add(&ran, 1) + 1 == THREADS * PER_THREAD)
        event_base_loopexit(base, NULL);
}

static void *poster(void *arg)
{
    int t = (int)(intptr_t)arg;
    for (int i = 0; i < PER_THREAD; i++) {
        calls[t][i] = (call){.thread = t, .seq = i};
        loop_queue_post(queue, &calls[t][i].item, on_call, &calls[t][i]);
    }
    return NULL;
}

static bool inside_post;
static int self_runs;
static loop_queue_item self_item;

static void on_self(void *arg)
{
    (void)arg;
    CHECK(!inside_post, "a call posted from the loop runs on a later turn");
    self_runs++;
    event_base_loopexit(base, NULL);
}

static void post_from_loop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    inside_post = true;
    loop_queue_post(queue, &self_item, on_self, NULL);
    inside_post = false;
}

static int freed_runs;
static void on_freed(void *arg)
{
    (void)arg;
    freed_runs++;
}

int main(void)
{
    for (int t = 0; t < THREADS; t++)
        last_seq[t] = -1;
    base = event_base_new();
    tkms_err err;
    if (base == NULL || loop_queue_new(&queue, base, &err) != TKMS_OK)
        test_fatal("set-up: %s", err.message);
    loop_thread = pthread_self();

    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++)
        pthread_create(&threads[t], NULL, poster, (void *)(intptr_t)t);
    event_base_dispatch(base);
    for (int t = 0; t < THREADS; t++)
        pthread_join(threads[t], NULL);
    CHECK(atomic_load(&ran) == THREADS * PER_THREAD, "every call ran once (%d)",
          atomic_load(&ran));
    CHECK(atomic_load(&off_loop) == 0, "every call ran on the loop thread");
    CHECK(atomic_load(&out_of_order) == 0, "each thread's calls ran in posting order");

    struct event *once = evtimer_new(base, post_from_loop, NULL);
    struct timeval now = {0, 0};
    evtimer_add(once, &now);
    event_base_dispatch(base);
    CHECK(self_runs == 1, "the call posted from the loop ran once");
    event_free(once);

    loop_queue_item pending[3];
    for (int i = 0; i < 3; i++)
        loop_queue_post(queue, &pending[i], on_freed, NULL);
    loop_queue_free(queue);
    CHECK(freed_runs == 3, "items still queued are run by loop_queue_free (%d)", freed_runs);
    event_base_free(base);
    return test_report();
}
