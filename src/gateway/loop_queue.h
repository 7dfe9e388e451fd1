/*
 * loop_queue.h — runs functions on an event loop's thread on behalf of
 * other threads. A worker thread that has finished its part of a job (a
 * slashing check, a disk write) and must hand the rest back to state that
 * belongs to the loop (the fan-out, the key registry, a session) posts a
 * function here; the loop thread runs it on its next turn.
 *
 * How: a mutex-guarded FIFO list of items and a pipe whose read end is a
 * persistent libevent read event on the loop. Posting appends an item and,
 * when the list was not already signalled, writes one byte to the pipe;
 * the loop's event drains the pipe, takes the whole list and runs its
 * items in the order they were posted. So the event_base needs no libevent
 * threading support, and at most one byte is ever waiting in the pipe
 * (posting never blocks and never fails).
 *
 * Items are intrusive: the caller embeds a loop_queue_item in its own
 * object (so posting allocates nothing), and must leave it alone from
 * loop_queue_post until its function has been called. Every posted item's
 * function is called exactly once: by the loop, or by loop_queue_free for
 * items still queued when the queue is freed.
 *
 * Threads: loop_queue_post may be called from any thread (the loop thread
 * too: the function then runs on a later turn, never inside the call).
 * loop_queue_new and loop_queue_free belong to the loop thread, or to any
 * thread while no thread runs the loop.
 */
#ifndef TKMS_GATEWAY_LOOP_QUEUE_H
#define TKMS_GATEWAY_LOOP_QUEUE_H

#include <stddef.h>

#include "tkms/status.h"

struct event_base;

typedef void (*loop_queue_fn)(void *arg);

/* One posted call. Embed it in the object it concerns; the fields are the
 * queue's own. */
typedef struct loop_queue_item {
    loop_queue_fn fn;
    void *arg;
    struct loop_queue_item *next;
} loop_queue_item;

typedef struct loop_queue loop_queue;

/*
 * Creates a queue whose functions run on `base`'s loop thread (the read
 * event is added at once; it keeps the loop running, so stop the loop with
 * event_base_loopexit/loopbreak). Returns TKMS_OK with *out set, or
 * TKMS_ERR_NO_MEMORY (memory, the pipe, the mutex or the event could not
 * be had; err says which); *out is NULL on failure.
 */
tkms_status loop_queue_new(loop_queue **out, struct event_base *base, tkms_err *err);

/*
 * Queues fn(arg) to run on the loop thread, after every item posted before
 * it. `item` is the caller's (see above); q, item and fn must not be NULL.
 * Thread-safe; never blocks on the loop and cannot fail. Must not be
 * called once loop_queue_free has begun.
 */
void loop_queue_post(loop_queue *q, loop_queue_item *item, loop_queue_fn fn, void *arg);

/*
 * Runs, on the calling thread, every item queued now (and any they post
 * meanwhile), in order, and returns how many ran. For the loop's own event
 * and for shutting down; call it on the loop thread or while no thread
 * runs the loop.
 */
size_t loop_queue_run(loop_queue *q);

/*
 * Runs the items still queued (loop_queue_run), then removes the event,
 * closes the pipe and frees the queue (NULL is fine). No other thread may
 * post once this has begun (stop them first, e.g. tkms_workpool_free).
 * Call it before event_base_free of the loop's base.
 */
void loop_queue_free(loop_queue *q);

#endif /* TKMS_GATEWAY_LOOP_QUEUE_H */
