/*
 * workpool.c — a fixed pool of pthreads draining one FIFO queue of jobs
 * (tkms/workpool.h). One mutex guards the queue; idle workers wait on one
 * condition variable. Stopping sets a flag and lets the workers empty the
 * queue before they exit, so no submitted job is ever dropped.
 */
#include "tkms/workpool.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct job {
    void (*fn)(void *arg);
    void *arg;
    struct job *next;
} job;

struct tkms_workpool {
    pthread_mutex_t lock;
    pthread_cond_t ready;   /* signalled when a job is queued or on stop */
    job *head, *tail;       /* FIFO: take at head, add at tail */
    size_t queued;
    bool stopping;
    unsigned threads;       /* threads running (== requested once started) */
    pthread_t *tids;
};

static void *worker(void *arg)
{
    tkms_workpool *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->head == NULL && !p->stopping)
            pthread_cond_wait(&p->ready, &p->lock);
        job *j = p->head;
        if (j == NULL)
            break; /* stopping and nothing left */
        p->head = j->next;
        if (p->head == NULL)
            p->tail = NULL;
        p->queued--;
        pthread_mutex_unlock(&p->lock);
        j->fn(j->arg);
        free(j);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Stops and joins the threads started so far, frees what is left. */
static void shut_down(tkms_workpool *p)
{
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->ready);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->threads; i++)
        pthread_join(p->tids[i], NULL);
    /* The workers emptied the queue before exiting; nothing to free. */
    pthread_cond_destroy(&p->ready);
    pthread_mutex_destroy(&p->lock);
    free(p->tids);
    free(p);
}

tkms_status tkms_workpool_new(tkms_workpool **out, unsigned threads, tkms_err *err)
{
    if (out == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "workpool: missing argument");
    *out = NULL;
    if (threads == 0 || threads > TKMS_WORKPOOL_MAX_THREADS)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "workpool: threads must be 1..%u, not %u", TKMS_WORKPOOL_MAX_THREADS,
                         threads);
    tkms_workpool *p = calloc(1, sizeof *p);
    pthread_t *tids = calloc(threads, sizeof *tids);
    if (p == NULL || tids == NULL) {
        free(p);
        free(tids);
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "workpool: out of memory");
    }
    p->tids = tids;
    if (pthread_mutex_init(&p->lock, NULL) != 0) {
        free(tids);
        free(p);
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "workpool: cannot create a mutex");
    }
    if (pthread_cond_init(&p->ready, NULL) != 0) {
        pthread_mutex_destroy(&p->lock);
        free(tids);
        free(p);
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "workpool: cannot create a condition variable");
    }

    /* Workers inherit this mask: block the asynchronous signals (faults
     * stay deliverable so crashes still crash). */
    sigset_t all, old;
    sigfillset(&all);
    sigdelset(&all, SIGSEGV);
    sigdelset(&all, SIGBUS);
    sigdelset(&all, SIGFPE);
    sigdelset(&all, SIGILL);
    sigdelset(&all, SIGABRT);
    sigdelset(&all, SIGTRAP);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = 0;
    for (unsigned i = 0; i < threads; i++) {
        rc = pthread_create(&p->tids[i], NULL, worker, p);
        if (rc != 0)
            break;
        p->threads++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        unsigned started = p->threads;
        shut_down(p);
        return tkms_fail(err, TKMS_ERR_NO_MEMORY,
                         "workpool: cannot start thread %u of %u: %s", started + 1, threads,
                         strerror(rc));
    }
    *out = p;
    return TKMS_OK;
}

tkms_status tkms_workpool_submit(tkms_workpool *p, void (*fn)(void *arg), void *arg)
{
    if (p == NULL || fn == NULL)
        return TKMS_ERR_INVALID_ARGUMENT;
    job *j = malloc(sizeof *j);
    if (j == NULL)
        return TKMS_ERR_NO_MEMORY;
    j->fn = fn;
    j->arg = arg;
    j->next = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->queued >= TKMS_WORKPOOL_MAX_QUEUED) {
        pthread_mutex_unlock(&p->lock);
        free(j);
        return TKMS_ERR_NO_MEMORY;
    }
    if (p->tail != NULL)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    p->queued++;
    pthread_cond_signal(&p->ready);
    pthread_mutex_unlock(&p->lock);
    return TKMS_OK;
}

unsigned tkms_workpool_threads(const tkms_workpool *p)
{
    return p != NULL ? p->threads : 0;
}

void tkms_workpool_free(tkms_workpool *p)
{
    if (p != NULL)
        shut_down(p);
}
