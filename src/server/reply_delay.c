/*
 * reply_delay.c — FOR TESTS AND DEMONSTRATIONS ONLY: the threshold
 * server's delayed answers (TKMS_FAULT_INJECTION=delay-ms=N), held on a
 * thread of their own until they are due. See reply_delay.h.
 *
 * Why a thread and not a libevent timer: answers are finished on the
 * worker pool, and the server's event_base has no libevent threading
 * support (tkms/http_server.h), so a worker may not add a timer to it; a
 * worker may call tkms_http_reply from any thread, so this thread does.
 * Every answer waits the same time, so the FIFO is in due order and one
 * timed wait on its head is enough.
 */
#include "reply_delay.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct held {
    tkms_http_request *req;
    server_route route;
    int status;
    const char *content_type;
    char *body;
    size_t len;
    double started;             /* server_now() at the request's arrival */
    struct timespec due;        /* CLOCK_MONOTONIC                        */
    struct held *next;
} held;

struct reply_delay {
    unsigned delay_ms;
    server_metrics *metrics;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;        /* on CLOCK_MONOTONIC                     */
    held *head, *tail;
    bool stopping;
};

static double monotonic(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static bool due_now(const struct timespec *due)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > due->tv_sec || (now.tv_sec == due->tv_sec && now.tv_nsec >= due->tv_nsec);
}

static void send_held(reply_delay *d, held *h)
{
    tkms_http_reply(h->req, h->status, h->content_type, h->body, h->len);
    server_metrics_request(d->metrics, h->route, h->status, monotonic() - h->started);
    free(h->body);
    free(h);
}

static void *delay_main(void *arg)
{
    reply_delay *d = arg;
    pthread_mutex_lock(&d->lock);
    for (;;) {
        held *h = d->head;
        if (h == NULL) {
            if (d->stopping)
                break;
            pthread_cond_wait(&d->cond, &d->lock);
            continue;
        }
        if (!d->stopping && !due_now(&h->due)) {
            int rc = pthread_cond_timedwait(&d->cond, &d->lock, &h->due);
            if (rc != 0 && rc != ETIMEDOUT && rc != EINTR)
                break;              /* cannot wait: reply_delay_free sends the rest */
            continue;
        }
        d->head = h->next;
        if (d->head == NULL)
            d->tail = NULL;
        pthread_mutex_unlock(&d->lock);
        send_held(d, h);
        pthread_mutex_lock(&d->lock);
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

tkms_status reply_delay_new(reply_delay **out, unsigned delay_ms, server_metrics *metrics,
                            tkms_err *err)
{
    *out = NULL;
    if (delay_ms == 0 || delay_ms > REPLY_DELAY_MAX_MS)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "delay must be 1..%u ms, got %u",
                         REPLY_DELAY_MAX_MS, delay_ms);
    reply_delay *d = calloc(1, sizeof *d);
    if (d == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "out of memory");
    d->delay_ms = delay_ms;
    d->metrics = metrics;
    pthread_condattr_t attr;
    bool attr_ok = pthread_condattr_init(&attr) == 0;
    if (!attr_ok || pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&d->cond, &attr) != 0) {
        if (attr_ok)
            pthread_condattr_destroy(&attr);
        free(d);
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "cannot create a condition variable");
    }
    pthread_condattr_destroy(&attr);
    if (pthread_mutex_init(&d->lock, NULL) != 0) {
        pthread_cond_destroy(&d->cond);
        free(d);
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "cannot create a mutex");
    }
    if (pthread_create(&d->thread, NULL, delay_main, d) != 0) {
        pthread_mutex_destroy(&d->lock);
        pthread_cond_destroy(&d->cond);
        free(d);
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "cannot start the reply delay thread");
    }
    *out = d;
    return TKMS_OK;
}

void reply_delay_send(reply_delay *d, tkms_http_request *req, server_route route, int status,
                      const char *content_type, const char *body, size_t len, double started)
{
    held *h = calloc(1, sizeof *h);
    char *copy = malloc(len > 0 ? len : 1);
    if (h == NULL || copy == NULL) {
        free(h);
        free(copy);
        tkms_http_reply(req, status, content_type, body, len);
        server_metrics_request(d->metrics, route, status, monotonic() - started);
        return;
    }
    if (len > 0)
        memcpy(copy, body, len);
    *h = (held){.req = req, .route = route, .status = status, .content_type = content_type,
                .body = copy, .len = len, .started = started};
    clock_gettime(CLOCK_MONOTONIC, &h->due);
    h->due.tv_sec += (time_t)(d->delay_ms / 1000u);
    h->due.tv_nsec += (long)(d->delay_ms % 1000u) * 1000000L;
    if (h->due.tv_nsec >= 1000000000L) {
        h->due.tv_sec++;
        h->due.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&d->lock);
    if (d->tail != NULL)
        d->tail->next = h;
    else
        d->head = h;
    d->tail = h;
    pthread_cond_signal(&d->cond);
    pthread_mutex_unlock(&d->lock);
}

void reply_delay_free(reply_delay *d)
{
    if (d == NULL)
        return;
    pthread_mutex_lock(&d->lock);
    d->stopping = true;
    pthread_cond_signal(&d->cond);
    pthread_mutex_unlock(&d->lock);
    pthread_join(d->thread, NULL);
    /* Only when the thread could not wait: what it left. */
    while (d->head != NULL) {
        held *h = d->head;
        d->head = h->next;
        send_held(d, h);
    }
    pthread_mutex_destroy(&d->lock);
    pthread_cond_destroy(&d->cond);
    free(d);
}
