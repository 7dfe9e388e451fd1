/*
 * tkms/workpool.h — a fixed pool of POSIX threads running submitted jobs in
 * FIFO order. The servers use it to keep slow work (signing, slashing
 * checks, disk syncs) off the event-loop thread: the loop hands a request
 * to a job, and the job answers it with tkms_http_reply, which may be
 * called from any thread.
 *
 * A job is a plain function and an opaque argument; the pool never looks
 * at the argument and never frees it. Jobs start in the order they were
 * submitted (with more than one thread they may finish in any order).
 * Worker threads have asynchronous signals blocked, so signals go to the
 * threads the application chose for them.
 *
 * The queue is bounded (TKMS_WORKPOOL_MAX_QUEUED jobs waiting): a caller
 * that submits faster than the pool works sees TKMS_ERR_NO_MEMORY and
 * should shed load (e.g. answer 503) rather than queue without limit.
 */
#ifndef TKMS_WORKPOOL_H
#define TKMS_WORKPOOL_H

#include "tkms/status.h"

/* Most threads one pool may have. */
#define TKMS_WORKPOOL_MAX_THREADS 256u

/* Most jobs that may wait in the queue (not counting running ones). */
#define TKMS_WORKPOOL_MAX_QUEUED 65536u

typedef struct tkms_workpool tkms_workpool;

/*
 * Starts a pool of `threads` worker threads (1..TKMS_WORKPOOL_MAX_THREADS).
 *
 * Returns TKMS_OK and sets *out; TKMS_ERR_INVALID_ARGUMENT when out is NULL
 * or `threads` is out of range; TKMS_ERR_NO_MEMORY when memory or a thread
 * could not be had (with the reason in err, which may be NULL). On failure
 * *out is NULL and no thread is left running.
 */
tkms_status tkms_workpool_new(tkms_workpool **out, unsigned threads, tkms_err *err);

/*
 * Queues job(arg) to run on one of the pool's threads, after every job
 * submitted before it has started.
 *
 * Returns TKMS_OK; TKMS_ERR_INVALID_ARGUMENT when p or job is NULL;
 * TKMS_ERR_NO_MEMORY when the job could not be queued (out of memory, or
 * TKMS_WORKPOOL_MAX_QUEUED jobs are already waiting) — the job will then
 * never run, and the caller still owns arg.
 *
 * Thread-safe: may be called from any thread, including from a job of the
 * same pool. Must not be called once tkms_workpool_free has begun, except
 * from a job of this pool (those jobs are run too).
 */
tkms_status tkms_workpool_submit(tkms_workpool *p, void (*job)(void *arg), void *arg);

/*
 * Number of worker threads of `p` (as given to tkms_workpool_new).
 * Thread-safe.
 */
unsigned tkms_workpool_threads(const tkms_workpool *p);

/*
 * Stops the pool: runs every job still queued (and any they submit), waits
 * for all of them to finish, joins the threads and frees the pool. NULL is
 * fine. Must not be called from one of the pool's own jobs (it would wait
 * for itself), nor concurrently with tkms_workpool_submit from another
 * thread.
 */
void tkms_workpool_free(tkms_workpool *p);

#endif /* TKMS_WORKPOOL_H */
