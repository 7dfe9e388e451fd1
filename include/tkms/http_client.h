/*
 * tkms/http_client.h — a small blocking HTTPS client (libcurl easy handle)
 * for the CLI, the tests and the benchmarks: one request at a time over a
 * connection that is kept alive and reused between requests.
 *
 * TLS: TLS 1.3 at least; the server certificate is verified against
 * `ca_file` (or the system's trust store when ca_file is NULL) and must
 * match the URL's host (a DNS name or an IP address in its
 * subjectAltName, as `tkms certs server NAME --ip 127.0.0.1` makes). With
 * cert_file and key_file the client presents that certificate (mutual
 * TLS, as tkms servers require). Only https:// URLs are accepted;
 * redirects are not followed; proxies from the environment are ignored.
 *
 * Threads: a client is for one thread at a time; use one client per
 * thread. Creating clients is thread-safe (libcurl's global set-up runs
 * once, under pthread_once; it also makes the process ignore SIGPIPE if
 * nobody handles it, since libcurl is told not to touch signals).
 */
#ifndef TKMS_HTTP_CLIENT_H
#define TKMS_HTTP_CLIENT_H

#include <stddef.h>

#include "tkms/status.h"

#define TKMS_HTTP_CLIENT_DEFAULT_TIMEOUT_MS 30000u
#define TKMS_HTTP_CLIENT_DEFAULT_MAX_RESPONSE (16u * 1024u * 1024u) /* 16 MiB */
#define TKMS_HTTP_CLIENT_MAX_RESPONSE_LIMIT (1024u * 1024u * 1024u) /* 1 GiB */

typedef struct {
    const char *ca_file;      /* CA (PEM) the server must chain to; NULL: system store */
    const char *cert_file;    /* client certificate (PEM), or NULL: none            */
    const char *key_file;     /* its key (PEM); set exactly when cert_file is       */
    unsigned timeout_ms;      /* whole request, connecting included; 0 = 30000      */
    size_t max_response_size; /* response body; 0 = 16 MiB                         */
    const char *bearer_token; /* sent as "Authorization: Bearer <token>" with every
                                 request, or NULL: none. Copied; the copies are
                                 wiped when freed. No control characters.      */
} tkms_http_client_options;

typedef struct {
    long status;    /* HTTP status                                       */
    char *body;     /* malloc'ed, NUL-terminated (may also contain NULs) */
    size_t body_len;
} tkms_http_response;

typedef struct tkms_http_client tkms_http_client;

/*
 * Creates a client. The files are checked now: each given one must be
 * readable (TKMS_ERR_IO naming it); cert_file and key_file must be both
 * set or both NULL and max_response_size at most
 * TKMS_HTTP_CLIENT_MAX_RESPONSE_LIMIT (TKMS_ERR_INVALID_ARGUMENT).
 * TKMS_ERR_NO_MEMORY when libcurl cannot be set up. Whether the PEM
 * contents are usable shows on the first request (TKMS_ERR_IO).
 *
 * On success sets *out and clears err; on failure *out is NULL.
 */
tkms_status tkms_http_client_new(tkms_http_client **out, const tkms_http_client_options *opt,
                                 tkms_err *err);

/*
 * Sends one request and waits for the whole response.
 *
 * `method` is an HTTP method token ("GET", "POST", "PUT", "DELETE",
 * "HEAD", …; at most 32 characters); `url` an https:// URL;
 * `content_type` the request's Content-Type or NULL for none; `body`
 * (`len` bytes, only read during the call; NULL when len is 0) is sent
 * with Content-Length for any method but HEAD (len 0 sends no body except
 * for POST and PUT, which send an empty one).
 *
 * Returns TKMS_OK for any HTTP status, with *out filled (free it with
 * tkms_http_response_free); TKMS_ERR_INVALID_ARGUMENT for bad arguments
 * (a method that is not a token, a URL that is not https://, a
 * content_type with control characters, a body on HEAD);
 * TKMS_ERR_IO with libcurl's reason when connecting, TLS (e.g. the server
 * refused our certificate, or its own did not verify) or the transfer
 * failed or timed out; TKMS_ERR_BAD_FORMAT when the response body is
 * larger than max_response_size. On failure *out is zeroed (status 0,
 * body NULL); on success err is cleared. The connection is reused by the next request when the
 * server keeps it open.
 */
tkms_status tkms_http_client_request(tkms_http_client *c, const char *method, const char *url,
                                     const char *content_type, const void *body, size_t len,
                                     tkms_http_response *out, tkms_err *err);

/* Frees r->body and zeroes *r (r may be NULL). */
void tkms_http_response_free(tkms_http_response *r);

/* Closes the connection and frees the client (NULL is fine). */
void tkms_http_client_free(tkms_http_client *c);

#endif /* TKMS_HTTP_CLIENT_H */
