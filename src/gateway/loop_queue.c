/*
 * loop_queue.c — functions posted from any thread, run on the event loop's
 * thread (loop_queue.h): a mutex-guarded list and a pipe that wakes the
 * loop.
 */
#include "loop_queue.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

struct loop_queue {
    pthread_mutex_t lock;
    loop_queue_item *head, *tail;   /* posted, not run yet                 */
    bool signalled;                 /* a byte was written since the last take */
    int pipe_fd[2];                 /* [0] read (the event), [1] write      */
    struct event *wake;
};

/* Takes the whole list (NULL when empty), under the lock. */
static loop_queue_item *take_all(loop_queue *q)
{
    pthread_mutex_lock(&q->lock);
    loop_queue_item *items = q->head;
    q->head = q->tail = NULL;
    q->signalled = false;
    pthread_mutex_unlock(&q->lock);
    return items;
}

size_t loop_queue_run(loop_queue *q)
{
    size_t ran = 0;
    for (loop_queue_item *items; (items = take_all(q)) != NULL;) {
        while (items != NULL) {
            loop_queue_item *item = items;
            items = item->next;         /* the function may free the item */
            item->next = NULL;
            item->fn(item->arg);
            ran++;
        }
    }
    return ran;
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    char drain[64];
    while (read(fd, drain, sizeof drain) > 0)   /* non-blocking: stops at EAGAIN */
        ;
    loop_queue_run(arg);
}

void loop_queue_post(loop_queue *q, loop_queue_item *item, loop_queue_fn fn, void *arg)
{
    item->fn = fn;
    item->arg = arg;
    item->next = NULL;
    pthread_mutex_lock(&q->lock);
    if (q->tail != NULL)
        q->tail->next = item;
    else
        q->head = item;
    q->tail = item;
    if (!q->signalled) {
        q->signalled = true;
        /* One byte while signalled: the pipe never fills. A failed write
         * (EAGAIN: a byte is waiting anyway) changes nothing. */
        ssize_t n;
        do
            n = write(q->pipe_fd[1], "", 1);
        while (n < 0 && errno == EINTR);
    }
    pthread_mutex_unlock(&q->lock);
}

tkms_status loop_queue_new(loop_queue **out, struct event_base *base, tkms_err *err)
{
    *out = NULL;
    loop_queue *q = calloc(1, sizeof *q);
    if (q == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "loop queue: out of memory");
    if (pthread_mutex_init(&q->lock, NULL) != 0) {
        free(q);
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "loop queue: cannot create a mutex");
    }
    if (pipe2(q->pipe_fd, O_CLOEXEC | O_NONBLOCK) != 0) {
        tkms_status st = tkms_fail(err, TKMS_ERR_NO_MEMORY, "loop queue: cannot create a pipe: %s",
                                   strerror(errno));
        pthread_mutex_destroy(&q->lock);
        free(q);
        return st;
    }
    q->wake = event_new(base, q->pipe_fd[0], EV_READ | EV_PERSIST, on_wake, q);
    if (q->wake == NULL || event_add(q->wake, NULL) != 0) {
        loop_queue_free(q);
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "loop queue: cannot set up its event");
    }
    *out = q;
    return TKMS_OK;
}

void loop_queue_free(loop_queue *q)
{
    if (q == NULL)
        return;
    loop_queue_run(q);
    if (q->wake != NULL)
        event_free(q->wake);
    close(q->pipe_fd[0]);
    close(q->pipe_fd[1]);
    pthread_mutex_destroy(&q->lock);
    free(q);
}
