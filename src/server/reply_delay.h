/*
 * reply_delay.h — FOR TESTS AND DEMONSTRATIONS ONLY: holds the threshold
 * server's finished sign answers for a fixed time before sending them, so
 * that a real server process can play a slow one (a congested link, an
 * overloaded machine) in fault tests: `tkms server` with
 * TKMS_FAULT_INJECTION=delay-ms=N (cmd_server.c).
 *
 * The answer is complete when it is held — signed, its slashing record and
 * audit line durable — only its sending waits. The waiting happens on one
 * thread of its own (a FIFO of held answers, each due `delay_ms` after it
 * was handed over, so the FIFO is in due order), never on a worker of the
 * pool nor on the event loop: a delayed server keeps signing at its usual
 * rate, and its /health and /metrics answer at once.
 *
 * Threads: reply_delay_send may be called from any thread;
 * reply_delay_new and reply_delay_free from one.
 */
#ifndef TKMS_SERVER_REPLY_DELAY_H
#define TKMS_SERVER_REPLY_DELAY_H

#include <stddef.h>

#include "metrics.h"
#include "tkms/http_server.h"
#include "tkms/status.h"

/* Longest delay, in milliseconds (ten minutes). */
#define REPLY_DELAY_MAX_MS 600000u

typedef struct reply_delay reply_delay;

/*
 * Starts the delaying thread: every answer handed over is sent `delay_ms`
 * (1..REPLY_DELAY_MAX_MS) later, and then counted in `metrics` (borrowed;
 * must outlive the delay) like any answer. TKMS_OK with *out set;
 * TKMS_ERR_INVALID_ARGUMENT for a delay out of range;
 * TKMS_ERR_NO_MEMORY when the thread or its memory cannot be had.
 */
tkms_status reply_delay_new(reply_delay **out, unsigned delay_ms, server_metrics *metrics,
                            tkms_err *err);

/*
 * Holds the answer to `req` (`status`, `content_type` — a static string —
 * and `len` bytes of `body`, copied) and sends it with tkms_http_reply
 * once the delay has passed; it is then counted for `route` with the time
 * since `started` (server_now()). When memory for the copy cannot be had
 * the answer is sent at once instead. Thread-safe.
 */
void reply_delay_send(reply_delay *d, tkms_http_request *req, server_route route, int status,
                      const char *content_type, const char *body, size_t len, double started);

/* Sends every answer still held at once (the loop has stopped by then:
 * they are dropped, as the workers' last answers are), stops the thread
 * and frees everything. NULL is fine. */
void reply_delay_free(reply_delay *d);

#endif /* TKMS_SERVER_REPLY_DELAY_H */
