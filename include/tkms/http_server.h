/*
 * tkms/http_server.h — an HTTPS server on a libevent event_base, for the
 * threshold servers and the gateway. It knows nothing about keys: it
 * authenticates the client (by its certificate, in the default mode),
 * reads one bounded request at a time per connection, hands it to one
 * handler, and sends back whatever the handler answers — from the loop
 * thread or from any other thread (e.g. a tkms_workpool job).
 *
 * Listener modes (tkms_http_server_options.tls; see tkms_http_tls_mode):
 * MUTUAL (the default) authenticates every client by its certificate, as
 * below; SERVER_ONLY is TLS 1.3 without client certificates (the handler
 * authenticates, e.g. by a bearer token); PLAIN is HTTP without TLS, and
 * only on a loopback address, for validator clients that can do neither.
 * Everything else below (HTTP framing, limits, timeouts, threads) is the
 * same in every mode.
 *
 * TLS (MUTUAL): TLS 1.3 only. Every client must present a certificate that chains
 * to the CA of `ca_file` (and only to it: the system trust store is not
 * used), is valid for TLS client authentication (extendedKeyUsage
 * clientAuth when the certificate has one) and has exactly one subject
 * common name of 1..TKMS_HTTP_CLIENT_NAME_MAX bytes of UTF-8 without
 * control characters. That CN is the client's identity
 * (tkms_http_request_client). A client without such a certificate fails
 * the handshake and never reaches the handler. Sessions are not resumed:
 * every connection makes a full handshake (keep-alive makes that rare).
 *
 * HTTP: HTTP/1.1 (and 1.0) with keep-alive; one request in flight per
 * connection (a pipelined request waits for the answer to the one before).
 * The request line and headers together are at most max_header_size bytes
 * (else 431), at most TKMS_HTTP_MAX_HEADERS header lines (else 431); the
 * request target must be a path ("/…"; else 400); a body needs
 * Content-Length — a chunked (Transfer-Encoding) body is refused with 411 —
 * and a Content-Length above max_body_size is refused with 413 before the
 * body is read ("Expect: 100-continue" is honoured). Those refusals, and
 * 400 for a malformed request and 505 for an HTTP version other than 1.x,
 * are sent by the server itself with a JSON body {"error":"…"} and
 * "Connection: close"; the handler is not called. Closing is lingering:
 * after its last answer the server sends close_notify (with TLS) and a
 * FIN, then drops what the
 * client still sends (so it reads the answer, not a reset) until the
 * client closes, the timeout, or 16 MiB. A connection that stays
 * idle, or stalls while sending a request or receiving an answer, for
 * timeout_seconds is closed; the handler itself has no deadline. A client
 * that closes its connection (or only its sending side) while its request
 * is being handled is gone: the answer will be dropped.
 *
 * Memory is bounded per connection by max_header_size + max_body_size
 * and the answer; connections by max_connections (beyond it the server
 * stops accepting until one closes; the kernel's backlog holds the rest).
 *
 * Threads: the server belongs to the thread that runs its event loop
 * (event_base_dispatch). The handler runs there. tkms_http_reply and
 * tkms_http_reply_error may be called from any thread; off the loop
 * thread the answer is handed to the loop through a pipe, so the
 * event_base needs no libevent threading support (evthread_use_pthreads
 * is neither required nor harmful). The request accessors may be called
 * from any one thread at a time until the request is answered.
 * tkms_http_server_port, _connections and _accepted are thread-safe.
 *
 * The server never logs; nothing it reports contains request bodies.
 */
#ifndef TKMS_HTTP_SERVER_H
#define TKMS_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "tkms/status.h"

struct event_base;

/* Defaults and limits of tkms_http_server_options. */
#define TKMS_HTTP_DEFAULT_MAX_BODY (1024u * 1024u)         /* 1 MiB            */
#define TKMS_HTTP_MAX_BODY_LIMIT (1024u * 1024u * 1024u)   /* 1 GiB, largest   */
#define TKMS_HTTP_DEFAULT_MAX_HEADER (16u * 1024u)         /* 16 KiB           */
#define TKMS_HTTP_MIN_HEADER_LIMIT 256u
#define TKMS_HTTP_MAX_HEADER_LIMIT (1024u * 1024u)
#define TKMS_HTTP_DEFAULT_TIMEOUT_SECONDS 30u
#define TKMS_HTTP_MAX_TIMEOUT_SECONDS 86400u
#define TKMS_HTTP_DEFAULT_MAX_CONNECTIONS 1024u
#define TKMS_HTTP_MAX_CONNECTIONS_LIMIT 65536u

/* Most header lines in one request. */
#define TKMS_HTTP_MAX_HEADERS 100u

/* Longest client name (certificate CN), in bytes. */
#define TKMS_HTTP_CLIENT_NAME_MAX 255u

/* Longest reason tkms_http_reply_error puts in a body, in bytes (longer
 * reasons are cut). */
#define TKMS_HTTP_REASON_MAX 1024u

/*
 * How a listener authenticates its clients. Zero (MUTUAL) is the default,
 * so options that do not set `tls` keep the mutual-TLS behaviour.
 *
 * TKMS_HTTP_TLS_MUTUAL       TLS 1.3; a client certificate of ca_file's CA
 *                            is required and its CN is the client's name
 *                            (see the top of this file). For the threshold
 *                            servers and for validator clients that can
 *                            hold a certificate. Needs cert_file, key_file
 *                            and ca_file.
 *
 * TKMS_HTTP_TLS_SERVER_ONLY  TLS 1.3 with the server's certificate only: no
 *                            client certificate is requested (a client
 *                            that has one is not asked for it), so the
 *                            connection is confidential and the client
 *                            knows it talks to this server, but the server
 *                            knows nothing about the client.
 *                            tkms_http_request_client is "". The handler
 *                            must authenticate every request itself, e.g.
 *                            by an "Authorization: Bearer …" header
 *                            compared in constant time; TLS keeps that
 *                            token secret on the wire. Needs cert_file and
 *                            key_file; ca_file is not used (may be NULL).
 *
 * TKMS_HTTP_TLS_PLAIN        HTTP without TLS, for a validator client that
 *                            can do neither (Lodestar 1.5.1 speaks only
 *                            http:// to its remote signer). Allowed only on
 *                            a loopback address — 127.0.0.0/8 or ::1 —
 *                            because there nothing is encrypted or
 *                            authenticated: on loopback the bytes never
 *                            leave the host, so nobody on the network can
 *                            read or change them or connect at all, and
 *                            the peer is always a process of this host
 *                            (the validator client running beside the
 *                            gateway). Any other address, including the
 *                            wildcards "0.0.0.0" and "::" and
 *                            IPv4-mapped forms such as "::ffff:127.0.0.1",
 *                            is refused. What remains is every local
 *                            process (and every local user) being able to
 *                            connect, and web pages in a local browser
 *                            being able to send it requests: so the
 *                            handler should still authorize (a token, the
 *                            keys this listener may use) and should
 *                            refuse requests that carry an Origin header
 *                            or a Host other than the listen address. The
 *                            threshold servers' own slashing protection
 *                            still bounds what any signature can do.
 *                            tkms_http_request_client is "". cert_file,
 *                            key_file and ca_file are not used (may be
 *                            NULL).
 */
typedef enum {
    TKMS_HTTP_TLS_MUTUAL = 0,
    TKMS_HTTP_TLS_SERVER_ONLY = 1,
    TKMS_HTTP_TLS_PLAIN = 2,
} tkms_http_tls_mode;

typedef struct {
    const char *address;      /* numeric IP to listen on: "127.0.0.1", "0.0.0.0", "::1", "::" */
    uint16_t port;            /* 0 = ephemeral; see tkms_http_server_port */
    const char *cert_file;    /* server certificate, PEM; may hold the chain after it
                               * (not used by PLAIN) */
    const char *key_file;     /* its private key, PEM (not used by PLAIN) */
    const char *ca_file;      /* CA (PEM) that client certificates must chain to
                               * (MUTUAL only) */
    size_t max_body_size;     /* 0 = TKMS_HTTP_DEFAULT_MAX_BODY; larger bodies: 413 */
    size_t max_header_size;   /* request line + headers; 0 = TKMS_HTTP_DEFAULT_MAX_HEADER */
    unsigned timeout_seconds; /* idle / stalled read or write; 0 = 30 */
    unsigned max_connections; /* open connections; 0 = TKMS_HTTP_DEFAULT_MAX_CONNECTIONS */
    tkms_http_tls_mode tls;   /* 0 = TKMS_HTTP_TLS_MUTUAL; see tkms_http_tls_mode */
} tkms_http_server_options;

typedef struct tkms_http_server tkms_http_server;
typedef struct tkms_http_request tkms_http_request;

/*
 * Called on the loop thread once per complete request. The handler (or
 * whoever it passes the request to) must answer it exactly once with
 * tkms_http_reply or tkms_http_reply_error; until then the request stays
 * valid, even if the client has gone away (the answer is then dropped).
 * `arg` is the pointer given to tkms_http_server_new.
 */
typedef void (*tkms_http_handler)(tkms_http_request *req, void *arg);

/*
 * Creates a server on `base`, binds opt->address:opt->port and starts
 * listening at once; requests are served while the caller runs the loop
 * (event_base_dispatch). Ignores SIGPIPE for the process (writes to a
 * closed connection then fail with EPIPE instead of killing it).
 *
 * Checks: every pointer argument except `arg` and `err` is non-NULL, and
 * address is set, and so are the files the mode needs (MUTUAL: cert_file,
 * key_file, ca_file; SERVER_ONLY: cert_file, key_file; PLAIN: none); `tls`
 * is one of the tkms_http_tls_mode values; the sizes, timeout and
 * connection limit are within the limits above (TKMS_ERR_INVALID_ARGUMENT);
 * the address is a numeric IPv4 or IPv6 address (TKMS_ERR_INVALID_ARGUMENT),
 * and for PLAIN a loopback one, 127.0.0.0/8 or ::1 (TKMS_ERR_INVALID_ARGUMENT,
 * saying that plain HTTP is only for loopback). Files the mode does not use
 * are ignored. The files it uses must be readable (TKMS_ERR_IO, naming the file and the
 * system's reason), hold PEM that OpenSSL accepts (TKMS_ERR_BAD_FORMAT,
 * naming the file and OpenSSL's reason), and the key must match the
 * certificate (TKMS_ERR_BAD_FORMAT). An address that cannot be bound
 * (e.g. in use) is TKMS_ERR_IO naming "address:port" and the reason.
 * TKMS_ERR_NO_MEMORY when memory, a pipe or a libevent object could not be
 * had.
 *
 * On success sets *out and clears err; on failure *out is NULL and nothing
 * is left open.
 */
tkms_status tkms_http_server_new(tkms_http_server **out, struct event_base *base,
                                 const tkms_http_server_options *opt,
                                 tkms_http_handler handler, void *arg, tkms_err *err);

/* The port the server listens on (the ephemeral one when opt->port was 0).
 * Thread-safe. */
uint16_t tkms_http_server_port(const tkms_http_server *s);

/* Number of open client connections (including ones still in the TLS
 * handshake, and closing ones). Thread-safe; for metrics. */
size_t tkms_http_server_connections(const tkms_http_server *s);

/* Number of connections accepted since the server was created (a
 * counter; with keep-alive it grows much slower than the requests).
 * Thread-safe; for metrics. */
size_t tkms_http_server_accepted(const tkms_http_server *s);

/*
 * Stops listening, closes every connection and frees the server. NULL is
 * fine. Call it either when no thread runs the event loop, or from a
 * callback on the loop thread — but not from inside the handler.
 *
 * Requests handed to the handler and not answered yet stay valid: they
 * may still be answered (from any thread) after this returns; the answer
 * is dropped and the last one frees what remains of the server. Free the
 * event_base only after this (libevent completes closing the connections
 * when the base is freed or runs again).
 */
void tkms_http_server_free(tkms_http_server *s);

/* ---- the request ------------------------------------------------------
 * Each accessor takes a request given to the handler and not answered yet
 * (see tkms_http_handler); the strings it returns live as long as the
 * request. None of them touches the connection, so they may be used from
 * a worker thread while the loop goes on. */

/* "GET", "POST", "PUT", "DELETE", "HEAD", or "OTHER" for any other method.
 * A static string. */
const char *tkms_http_request_method(const tkms_http_request *req);

/* The request path without the query, percent-decoded ("/api/v1/sign/0xab"
 * for "/api/v1/sign/0x%61b?x=1"). Never NULL, always starts with '/', never
 * contains a NUL byte ("%00" is refused with 400 before the handler). '+'
 * is not decoded; ".." segments are not resolved. */
const char *tkms_http_request_path(const tkms_http_request *req);

/* The raw (not decoded) query after '?', or NULL when there is none or it
 * is empty. */
const char *tkms_http_request_query(const tkms_http_request *req);

/* The value of the first header named `name` (ASCII case-insensitive),
 * without surrounding spaces; NULL when absent or name is NULL. */
const char *tkms_http_request_header(const tkms_http_request *req, const char *name);

/* The client's name. MUTUAL: the subject CN of its verified certificate,
 * never empty. SERVER_ONLY and PLAIN: "" (no certificate was asked for;
 * "" can never be a certificate's name, so a rule keyed by client name
 * never matches it). Never NULL. */
const char *tkms_http_request_client(const tkms_http_request *req);

/* The request body, NUL-terminated (the body itself may contain NULs), and
 * its length in *len (len may be NULL). "" and 0 when there is no body.
 * The request owns it. */
const char *tkms_http_request_body(const tkms_http_request *req, size_t *len);

/*
 * Answers `req` with `status` (200..599; anything else is sent as 500),
 * a Content-Type of `content_type` (NULL: none; one with control
 * characters is sent as "application/octet-stream"), and `len` bytes of
 * `body` (copied; body may be NULL when len is 0). Content-Length is always
 * sent; HEAD requests and 204/304 get no body. The connection is kept
 * alive unless the client asked to close it.
 *
 * Call exactly once per request, from any thread. `req` is invalid when
 * this returns. If the client has gone away, or the server was freed, the
 * answer is dropped. When memory for the answer cannot be had, a fixed
 * 500 {"error":"out of memory"} is sent instead and the connection closed.
 */
void tkms_http_reply(tkms_http_request *req, int status, const char *content_type,
                     const void *body, size_t len);

/*
 * tkms_http_reply with Content-Type application/json and the body
 * {"error":"<reason>"}: `reason` (NULL = "") cut to TKMS_HTTP_REASON_MAX
 * bytes and JSON-escaped (invalid UTF-8 becomes U+FFFD). Same threading
 * and lifetime rules as tkms_http_reply.
 */
void tkms_http_reply_error(tkms_http_request *req, int status, const char *reason);

#endif /* TKMS_HTTP_SERVER_H */
