/*
 * tkms/http_fanout.h — an asynchronous HTTPS client on a libevent
 * event_base (libcurl multi interface, driven by the loop's events and
 * timers), for the gateway's fan-out: one sign request goes to every
 * threshold server at once, each answer is handed over the moment it is
 * in, and the stragglers can be cancelled once enough answers have come.
 * Nothing here knows about keys or signatures.
 *
 * Requests run concurrently and independently: each has its own deadline
 * (a timer on the loop, so it holds even while the request waits for a
 * free connection), and a slow, dead or timed-out server never delays the
 * completion of a request to another one.
 *
 * Connections: kept alive and reused across requests (libcurl's
 * connection cache, shared by all requests of one fanout), at most
 * max_host_connections open to one host:port at a time (requests beyond
 * that wait for a connection, still under their own deadline), at most
 * max_idle_connections kept open in all. A request that is cancelled, or
 * fails before its response is complete, closes the connection it used.
 *
 * TLS: TLS 1.3 at least; the server certificate must chain to the CA of
 * `ca_file` (only to it: the system trust store is not used) and match
 * the URL's host (a DNS name or IP address in its subjectAltName). With
 * cert_file and key_file the fanout presents that client certificate
 * (mutual TLS, as tkms servers require). Only https:// URLs; HTTP/1.1;
 * redirects are not followed; proxies from the environment are ignored.
 * Under TLS 1.3 a server that refuses our certificate says so with an
 * alert after the handshake; a TLS alert received (or hit while sending)
 * is TKMS_FANOUT_TLS_FAILED too, with OpenSSL's reason ("…alert
 * certificate required") — but when the server's close overtakes its
 * alert, the same refusal shows as TKMS_FANOUT_TRANSFER_FAILED.
 *
 * Threads: a fanout belongs to the thread that runs its event loop (the
 * "loop thread"). Every function here must be called on that thread, or
 * on any one thread while no thread runs the loop; `done` callbacks run
 * on the loop thread. The event_base needs no libevent threading support.
 * libcurl's global set-up runs once per process (under pthread_once); it
 * also makes the process ignore SIGPIPE if nobody handles it, since
 * libcurl is told not to touch signals.
 *
 * Nothing here logs; error texts never contain request or response
 * bodies.
 */
#ifndef TKMS_HTTP_FANOUT_H
#define TKMS_HTTP_FANOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tkms/status.h"

struct event_base;

/* Defaults and limits. */
#define TKMS_FANOUT_DEFAULT_MAX_RESPONSE (1024u * 1024u)        /* 1 MiB   */
#define TKMS_FANOUT_MAX_RESPONSE_LIMIT (1024u * 1024u * 1024u)  /* 1 GiB   */
#define TKMS_FANOUT_DEFAULT_HOST_CONNECTIONS 16u
#define TKMS_FANOUT_DEFAULT_IDLE_CONNECTIONS 64u
#define TKMS_FANOUT_MAX_CONNECTIONS_LIMIT 65536u
#define TKMS_FANOUT_DEFAULT_CONNECT_TIMEOUT_MS 5000u
#define TKMS_FANOUT_DEFAULT_TIMEOUT_MS 30000u
#define TKMS_FANOUT_MAX_TIMEOUT_MS (24u * 3600u * 1000u)          /* a day   */

typedef struct {
    const char *ca_file;           /* CA (PEM) servers must chain to; required       */
    const char *cert_file;         /* client certificate (PEM), or NULL: none        */
    const char *key_file;          /* its key (PEM); set exactly when cert_file is   */
    size_t max_response_size;      /* response body; 0 = TKMS_FANOUT_DEFAULT_MAX_RESPONSE */
    unsigned max_host_connections; /* open at once to one host:port; 0 = 16           */
    unsigned max_idle_connections; /* kept open for reuse, all hosts; 0 = 64          */
    unsigned connect_timeout_ms;   /* TCP + TLS set-up of a new connection; 0 = 5000;
                                    * never longer than the request's own timeout     */
} tkms_fanout_options;

/* How a request ended. */
typedef enum {
    TKMS_FANOUT_OK = 0,          /* a complete response, whatever its HTTP status  */
    TKMS_FANOUT_TIMEOUT,         /* its timeout_ms passed first                    */
    TKMS_FANOUT_CONNECT_FAILED,  /* no TCP connection (refused, unreachable, name) */
    TKMS_FANOUT_TLS_FAILED,      /* handshake failed, server certificate refused,
                                  * a TLS alert (e.g. our certificate refused)   */
    TKMS_FANOUT_TRANSFER_FAILED, /* the connection broke, a malformed response     */
    TKMS_FANOUT_TOO_LARGE,       /* the body is larger than max_response_size      */
    TKMS_FANOUT_CANCELLED,       /* tkms_fanout_cancel or tkms_fanout_free         */
    TKMS_FANOUT_NO_MEMORY,       /* out of memory for the response                 */
} tkms_fanout_outcome;

/* A request's handle, for tkms_fanout_cancel: unique within its fanout,
 * never 0, never reused. */
typedef uint64_t tkms_fanout_request_id;

/* What a `done` callback gets. Every pointer is valid only during the
 * callback; copy what must outlive it. */
typedef struct {
    tkms_fanout_request_id id;   /* as returned by tkms_fanout_request           */
    tkms_fanout_outcome outcome;
    long status;                 /* HTTP status (100..599) when outcome is OK, else 0 */
    const char *body;            /* the response body, NUL-terminated (it may also
                                  * contain NULs); "" when none or not OK        */
    size_t len;                  /* its length                                   */
    const char *error;           /* NULL when OK; else a one-line reason: libcurl's
                                  * ("Failed to connect to 127.0.0.1 port 9 …"),
                                  * "timed out after N ms", "cancelled", …       */
    double seconds;              /* from tkms_fanout_request to now (monotonic)  */
} tkms_fanout_result;

/* Called exactly once for every request tkms_fanout_request accepted, on
 * the loop thread. `arg` is the pointer given with the request. It may
 * call tkms_fanout_request, tkms_fanout_cancel and tkms_fanout_free. */
typedef void (*tkms_fanout_done)(void *arg, const tkms_fanout_result *r);

typedef struct tkms_fanout tkms_fanout;

/*
 * Creates a fanout on `base`.
 *
 * Checks: out, base, opt and opt->ca_file are non-NULL, cert_file and
 * key_file are both set or both NULL, max_response_size is at most
 * TKMS_FANOUT_MAX_RESPONSE_LIMIT, the connection counts at most
 * TKMS_FANOUT_MAX_CONNECTIONS_LIMIT and connect_timeout_ms at most
 * TKMS_FANOUT_MAX_TIMEOUT_MS (TKMS_ERR_INVALID_ARGUMENT); each given file
 * must be readable (TKMS_ERR_IO naming it). Whether the PEM contents are
 * usable shows on the first request (TKMS_FANOUT_TLS_FAILED).
 * TKMS_ERR_NO_MEMORY when libcurl or a libevent object cannot be set up.
 *
 * On success sets *out and clears err; on failure *out is NULL.
 */
tkms_status tkms_fanout_new(tkms_fanout **out, struct event_base *base,
                            const tkms_fanout_options *opt, tkms_err *err);

/*
 * Starts one request and returns at once; `done(arg, result)` is called
 * later, exactly once, on the loop thread — never from inside this call.
 *
 * `method` is an HTTP method token ("GET", "POST", …; at most 32
 * characters); `url` an https:// URL; `content_type` the request's
 * Content-Type or NULL for none; `body` (`len` bytes, copied: the caller
 * may free it when this returns; NULL when len is 0) is sent with
 * Content-Length for any method but HEAD (len 0 sends no body except for
 * POST and PUT, which send an empty one). `timeout_ms` bounds the whole
 * request, waiting for a connection and connecting included (0 =
 * TKMS_FANOUT_DEFAULT_TIMEOUT_MS). `id_out`, when not NULL, gets the
 * request's id (for tkms_fanout_cancel).
 *
 * Returns TKMS_OK when the request was started; then `done` will be
 * called. Otherwise `done` is never called and *id_out is 0:
 * TKMS_ERR_INVALID_ARGUMENT for bad arguments (NULL f, method, url or
 * done; a method that is not a token; a URL that is not https://; a
 * content_type with control characters or longer than 200 bytes; a body
 * on HEAD; body NULL with len > 0; timeout_ms above
 * TKMS_FANOUT_MAX_TIMEOUT_MS; a fanout being freed), TKMS_ERR_NO_MEMORY
 * when the request cannot be set up. On success err is cleared.
 */
tkms_status tkms_fanout_request(tkms_fanout *f, const char *method, const char *url,
                                const char *content_type, const void *body, size_t len,
                                unsigned timeout_ms, tkms_fanout_done done, void *arg,
                                tkms_fanout_request_id *id_out, tkms_err *err);

/*
 * Cancels request `id`: stops it (closing its connection if it had one)
 * and calls its `done` at once, before this returns, with outcome
 * TKMS_FANOUT_CANCELLED and error "cancelled". An id that is unknown, 0,
 * or whose `done` has already been called (or is running) is ignored, so
 * cancelling all of a round's requests after the K-th answer is safe.
 * f may be NULL.
 */
void tkms_fanout_cancel(tkms_fanout *f, tkms_fanout_request_id id);

/* Number of requests started whose `done` has not been called yet. */
size_t tkms_fanout_pending(const tkms_fanout *f);

/*
 * Cancels every outstanding request — each `done` is called, before this
 * returns, with TKMS_FANOUT_CANCELLED — closes every connection and frees
 * the fanout. No callback comes after this returns. NULL is fine.
 *
 * It may be called from a `done` callback: the other requests' callbacks
 * still run inside this call, and what is left of the fanout is torn down
 * when the fanout code that called that `done` returns (still on the loop
 * thread); until then tkms_fanout_request fails and tkms_fanout_cancel
 * and tkms_fanout_pending may still be called (nothing is pending). Call
 * it at most once. Free the event_base only after this.
 */
void tkms_fanout_free(tkms_fanout *f);

/* A static, lower-case name of an outcome ("ok", "timeout", "connect
 * failed", "tls failed", "transfer failed", "too large", "cancelled",
 * "no memory"; "unknown" for anything else), for logs and metrics. */
const char *tkms_fanout_outcome_string(tkms_fanout_outcome outcome);

#endif /* TKMS_HTTP_FANOUT_H */
