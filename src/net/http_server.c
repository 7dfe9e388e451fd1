/*
 * http_server.c — the HTTPS (and loopback-only HTTP) server of
 * tkms/http_server.h.
 *
 * Layers, bottom up:
 *   - a listening socket we bind ourselves (for exact errors), accepted by
 *     an evconnlistener on the caller's event_base;
 *   - one bufferevent_openssl per connection (TLS 1.3; in MUTUAL mode the
 *     client certificate is required and checked, its CN kept as the
 *     client's name; SERVER_ONLY asks for none), or in PLAIN mode a plain
 *     socket bufferevent (the address was checked to be loopback);
 *   - the request reader of http_request.h (which parses every byte the
 *     client sends before the body) fed from that bufferevent: one request
 *     at a time, every size bounded, refusals answered with JSON;
 *   - a hand-off of answers from other threads to the loop thread (a
 *     mutex-guarded queue and a self-pipe).
 *
 * Why not evhttp: libevent 2.1's evhttp answers an oversized body with its
 * own HTML page before any user code can see the request (no per-request
 * hook exists before the body is read), and it cannot tell its user that
 * a client left while a request is being handled. Both matter here (a
 * JSON 413; answers that arrive from worker threads long after the client
 * may have gone), so the HTTP framing, which is small, is done here and
 * in http_request.c; libevent still does all I/O and OpenSSL all TLS.
 *
 * Lifetimes. A connection (struct conn) lives on the loop thread only. A
 * request is created when its head has been read, owned by its connection
 * while its body is read, and owned by whoever must answer it once the
 * handler has it. If the connection closes first, the request is
 * orphaned (req->conn = NULL) and the answer, when it comes, is dropped.
 * The server itself outlives tkms_http_server_free while requests are
 * still unanswered: `outstanding` counts them under `lock`, and whoever
 * brings it to zero after `closed` was set frees the rest.
 */
#include "tkms/http_server.h"

#include "http_request.h"
#include "openssl_reason.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* Closing a connection is "lingering": once the last answer is written we
 * send close_notify, shut down our sending side, and read and drop what
 * the client still sends — up to this many bytes, until it closes or the
 * timeout — so that a client still sending (e.g. a body refused with 413)
 * reads our answer instead of a connection reset. */
#define DRAIN_MAX (16u * 1024u * 1024u)

/* Longest Content-Type we send as given. */
#define CONTENT_TYPE_MAX 200u

/* Pause before accepting again after accept() failed (e.g. EMFILE). */
#define ACCEPT_RETRY_MS 100

enum conn_state {
    ST_HANDSHAKE, /* TLS handshake not finished                              */
    ST_READ_HEAD, /* reading a request line and headers (or idle)            */
    ST_READ_BODY, /* reading Content-Length bytes of body into c->req        */
    ST_HANDLING,  /* the handler has the request; waiting for the answer     */
    ST_WRITING,   /* answer queued; keep the connection once it is written   */
    ST_CLOSING,   /* last answer queued; linger once it is written; input dropped */
    ST_LINGER,    /* last answer written, close_notify sent; input dropped   */
};

typedef struct conn conn;

struct tkms_http_request {
    tkms_http_server *server;
    conn *conn;            /* loop thread only; NULL once orphaned        */
    pthread_t loop_thread; /* the thread that created it (the loop's)     */
    tkms_http_head head;   /* method, path, query, headers, flags         */
    char *body;            /* NULL: no body                               */
    size_t body_len;
    char client[TKMS_HTTP_CLIENT_NAME_MAX + 1];
    char *answer;          /* built by tkms_http_reply                    */
    size_t answer_len;
    tkms_http_request *next; /* in the server's answer queue              */
};

struct conn {
    tkms_http_server *server;
    struct bufferevent *bev;
    SSL *ssl;                /* NULL in PLAIN mode */
    enum conn_state state;
    tkms_http_request *req;  /* being read (READ_BODY) or handled        */
    size_t body_expected;    /* READ_BODY: Content-Length                */
    size_t drain_left;       /* CLOSING, LINGER: bytes still to drop     */
    bool expect_continue;    /* READ_BODY: send "100 Continue" if needed */
    tkms_http_reader reader; /* READ_HEAD: the request head so far       */
    char client[TKMS_HTTP_CLIENT_NAME_MAX + 1];
    conn *prev, *next;
};

struct tkms_http_server {
    /* loop thread only */
    struct event_base *base;
    tkms_http_tls_mode mode;
    SSL_CTX *ctx;             /* NULL in PLAIN mode */
    struct evconnlistener *listener;
    struct event *wake_event;
    struct event *retry_event;
    tkms_http_handler handler;
    void *arg;
    size_t max_body, max_header;
    struct timeval timeout;
    unsigned max_conns;
    conn *conns;
    bool paused_full, paused_error;

    /* any thread */
    uint16_t port;            /* immutable after creation */
    atomic_size_t nconns;     /* open connections */
    atomic_size_t accepted;   /* connections accepted, ever */

    /* any thread, under lock */
    pthread_mutex_t lock;
    tkms_http_request *queue_head, *queue_tail; /* answers for the loop */
    bool wake_pending;
    bool closed;              /* tkms_http_server_free has run        */
    size_t outstanding;       /* handed to the handler, not answered  */
    int wake_fd[2];
};

/* ---- small helpers -------------------------------------------------------- */

/* Fails with "http server: what: <OpenSSL's reason>" and clears OpenSSL's
 * error queue. */
static tkms_status ssl_fail(tkms_err *err, tkms_status status, const char *what,
                            const char *path)
{
    char reason[160];
    return tkms_fail(err, status, "http server: %s %s: %s", what, path,
                     net_openssl_reason(reason, sizeof reason));
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0;
        if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

/* {"error":"<reason, escaped>"} (malloc'ed), its length in *len; NULL when
 * out of memory. */
static char *error_json(const char *reason, size_t *len)
{
    if (reason == NULL)
        reason = "";
    size_t n = strnlen(reason, TKMS_HTTP_REASON_MAX);
    static const char pre[] = "{\"error\":\"", post[] = "\"}";
    char *out = malloc(sizeof pre - 1 + 6 * n + sizeof post);
    if (out == NULL)
        return NULL;
    size_t o = sizeof pre - 1;
    memcpy(out, pre, o);
    const unsigned char *s = (const unsigned char *)reason;
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)sprintf(out + o, "\\u%04x", c);
            i++;
        } else if (c < 0x80) {
            out[o++] = (char)c;
            i++;
        } else {
            size_t k = utf8_sequence(s + i, n - i);
            if (k == 0) {
                memcpy(out + o, "\\ufffd", 6);
                o += 6;
                i++;
            } else {
                memcpy(out + o, s + i, k);
                o += k;
                i += k;
            }
        }
    }
    memcpy(out + o, post, sizeof post); /* with the NUL */
    *len = o + sizeof post - 1;
    return out;
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Status";
    }
}

static bool content_type_ok(const char *ct)
{
    size_t n = strnlen(ct, CONTENT_TYPE_MAX + 1);
    if (n == 0 || n > CONTENT_TYPE_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)ct[i];
        if (c < 0x20 || c == 0x7f)
            return false;
    }
    return true;
}

/* The whole answer (status line, headers, body) as one malloc'ed buffer;
 * NULL when out of memory. */
static char *build_answer(int status, const char *content_type, const void *body, size_t len,
                          bool head_only, bool keep_alive, size_t *out_len)
{
    if (status < 200 || status > 599)
        status = 500;
    bool no_body = status == 204 || status == 304;
    if (no_body)
        len = 0;
    if (content_type != NULL && !content_type_ok(content_type))
        content_type = "application/octet-stream";
    char head[512];
    int h = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\n%s%s%s", status,
                     reason_phrase(status), content_type ? "Content-Type: " : "",
                     content_type ? content_type : "", content_type ? "\r\n" : "");
    if (!no_body)
        h += snprintf(head + h, sizeof head - (size_t)h, "Content-Length: %zu\r\n", len);
    h += snprintf(head + h, sizeof head - (size_t)h, "Connection: %s\r\n\r\n",
                  keep_alive ? "keep-alive" : "close");
    size_t body_len = head_only ? 0 : len;
    if (body_len > SIZE_MAX - (size_t)h - 1)
        return NULL;
    char *out = malloc((size_t)h + body_len + 1);
    if (out == NULL)
        return NULL;
    memcpy(out, head, (size_t)h);
    if (body_len > 0)
        memcpy(out + h, body, body_len);
    out[(size_t)h + body_len] = '\0';
    *out_len = (size_t)h + body_len;
    return out;
}

/* Sent instead of an answer that could not be built (out of memory). */
static const char oom_answer[] =
    "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
    "Content-Length: 25\r\nConnection: close\r\n\r\n{\"error\":\"out of memory\"}";

/* The client's name from a certificate: its only subject CN, as UTF-8,
 * 1..TKMS_HTTP_CLIENT_NAME_MAX bytes without control characters. */
static bool client_name(X509 *cert, char out[TKMS_HTTP_CLIENT_NAME_MAX + 1])
{
    X509_NAME *subject = cert ? X509_get_subject_name(cert) : NULL;
    if (subject == NULL)
        return false;
    int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (i < 0 || X509_NAME_get_index_by_NID(subject, NID_commonName, i) >= 0)
        return false;
    unsigned char *utf8 = NULL;
    int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i)));
    bool ok = len > 0 && (size_t)len <= TKMS_HTTP_CLIENT_NAME_MAX;
    for (int k = 0; ok && k < len; k++)
        if (utf8[k] < 0x20 || utf8[k] == 0x7f)
            ok = false;
    if (ok) {
        memcpy(out, utf8, (size_t)len);
        out[len] = '\0';
    }
    OPENSSL_free(utf8);
    return ok;
}

/* ---- requests ------------------------------------------------------------- */

static void request_free(tkms_http_request *req)
{
    if (req == NULL)
        return;
    tkms_http_head_free(&req->head);
    free(req->body);
    free(req->answer);
    free(req);
}

/* ---- connections ---------------------------------------------------------- */

static void set_timeouts(conn *c, bool reading)
{
    const struct timeval *tv = &c->server->timeout;
    bufferevent_set_timeouts(c->bev, reading ? tv : NULL, tv);
}

static void listener_update(tkms_http_server *s)
{
    if (s->listener == NULL)
        return;
    if (s->paused_full || s->paused_error)
        evconnlistener_disable(s->listener);
    else
        evconnlistener_enable(s->listener);
}

/* Closes and frees c (loop thread; never from inside the handler's call
 * chain — see close_soon). A request the handler has is orphaned. */
static void conn_close(conn *c, bool graceful)
{
    tkms_http_server *s = c->server;
    if (c->req != NULL) {
        if (c->state == ST_HANDLING)
            c->req->conn = NULL; /* the answerer frees it */
        else
            request_free(c->req);
        c->req = NULL;
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (graceful && c->ssl != NULL && c->state != ST_HANDSHAKE &&
        evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
        SSL_shutdown(c->ssl); /* best effort: send close_notify */
        ERR_clear_error();
    }
    bufferevent_free(c->bev); /* closes the socket, frees the SSL */
    tkms_http_reader_free(&c->reader);
    free(c);
    atomic_fetch_sub(&s->nconns, 1);
    if (s->paused_full) {
        s->paused_full = false;
        listener_update(s);
    }
}

/* Makes the write callback run soon (from the loop), which closes a
 * CLOSING connection once its output is written. Used where freeing the
 * connection at once could pull it from under a caller. */
static void close_soon(conn *c)
{
    c->state = ST_CLOSING;
    c->drain_left = DRAIN_MAX;
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
        bufferevent_trigger(c->bev, EV_WRITE,
                            BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

static void free_answer(const void *data, size_t len, void *extra)
{
    (void)len;
    (void)extra;
    free((void *)data);
}

/* Queues `answer` (taken over, freed after writing; NULL: the out-of-memory
 * answer) on c's output. False when even that failed. */
static bool queue_output(conn *c, char *answer, size_t len)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (answer == NULL)
        return evbuffer_add_reference(out, oom_answer, sizeof oom_answer - 1, NULL, NULL) == 0;
    if (evbuffer_add_reference(out, answer, len, free_answer, NULL) != 0) {
        free(answer);
        return false;
    }
    return true;
}

/* Refuses the request being read with `status` and a JSON reason, then
 * closes. */
static void refuse(conn *c, int status, const char *reason)
{
    if (c->req != NULL) {
        request_free(c->req);
        c->req = NULL;
    }
    size_t body_len = 0, len = 0;
    char *body = error_json(reason, &body_len);
    char *answer = body ? build_answer(status, "application/json", body, body_len, false, false,
                                       &len)
                        : NULL;
    free(body);
    if (!queue_output(c, answer, len)) {
        close_soon(c);
        return;
    }
    set_timeouts(c, true);
    c->state = ST_CLOSING;
    c->drain_left = DRAIN_MAX;
}

/* Gives a complete request to the handler. */
static void dispatch(conn *c, tkms_http_request *req)
{
    tkms_http_server *s = c->server;
    c->req = req;
    req->conn = c;
    c->state = ST_HANDLING;
    set_timeouts(c, false); /* the handler has no deadline */
    pthread_mutex_lock(&s->lock);
    s->outstanding++;
    pthread_mutex_unlock(&s->lock);
    s->handler(req, s->arg);
    /* c is still valid here: nothing on this path frees a connection. */
}

/* Gives c's input to its request reader, up to the end of the next
 * request head; then refuses the request, or takes it (to the handler, or
 * to reading its body). Leaves c in ST_READ_HEAD while the head is not
 * complete. */
static void read_head(conn *c)
{
    tkms_http_server *s = c->server;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    tkms_http_head head;
    tkms_http_refusal refusal;
    tkms_http_read_result got = TKMS_HTTP_NEED_MORE;
    /* the evbuffer's chains as they are: nothing is copied but the head */
    while (got == TKMS_HTTP_NEED_MORE && evbuffer_get_length(in) > 0) {
        struct evbuffer_iovec v[4];
        int n = evbuffer_peek(in, -1, NULL, v, 4);
        size_t taken = 0;
        for (int k = 0; k < n && k < 4 && got == TKMS_HTTP_NEED_MORE; k++) {
            size_t used = 0;
            if (v[k].iov_len > 0)
                got = tkms_http_reader_feed(&c->reader, v[k].iov_base, v[k].iov_len, &used,
                                            &head, &refusal);
            taken += used;
        }
        evbuffer_drain(in, taken);
        if (taken == 0)
            break; /* (no progress: wait for more rather than spin) */
    }
    if (got == TKMS_HTTP_NEED_MORE)
        return; /* wait for more */
    if (got == TKMS_HTTP_REFUSED) {
        refuse(c, refusal.status, refusal.reason);
        return;
    }

    tkms_http_request *req = calloc(1, sizeof *req);
    if (req == NULL) {
        tkms_http_head_free(&head);
        refuse(c, 500, "out of memory");
        return;
    }
    req->head = head;
    req->server = s;
    req->loop_thread = pthread_self();
    memcpy(req->client, c->client, sizeof req->client);
    c->req = req; /* owned by the connection while being read */
    if (head.content_length == 0) {
        c->req = NULL;
        dispatch(c, req);
        return;
    }
    req->body = malloc(head.content_length + 1);
    if (req->body == NULL) {
        refuse(c, 500, "out of memory");
        return;
    }
    c->body_expected = head.content_length;
    c->expect_continue = head.expect_continue;
    c->state = ST_READ_BODY;
}

/* Advances c as far as its input allows. May free c (only as its last
 * step; callers must not touch c afterwards). */
static void conn_advance(conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    for (;;) {
        switch (c->state) {
        case ST_READ_HEAD:
            read_head(c);
            if (c->state == ST_READ_HEAD)
                return; /* incomplete */
            break;
        case ST_READ_BODY: {
            size_t avail = evbuffer_get_length(in);
            if (avail < c->body_expected) {
                if (c->expect_continue) {
                    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
                    c->expect_continue = false;
                    if (evbuffer_add_reference(bufferevent_get_output(c->bev), cont,
                                               sizeof cont - 1, NULL, NULL) != 0) {
                        close_soon(c);
                        return;
                    }
                }
                return;
            }
            c->expect_continue = false;
            tkms_http_request *req = c->req;
            evbuffer_remove(in, req->body, c->body_expected);
            req->body[c->body_expected] = '\0';
            req->body_len = c->body_expected;
            c->req = NULL;
            dispatch(c, req);
            break;
        }
        case ST_CLOSING:
        case ST_LINGER: {
            size_t n = evbuffer_get_length(in);
            if (n > c->drain_left) {
                conn_close(c, false); /* the client will not stop */
                return;
            }
            evbuffer_drain(in, n);
            c->drain_left -= n;
            return;
        }
        case ST_HANDSHAKE:
        case ST_HANDLING:
        case ST_WRITING:
        default:
            return; /* input waits */
        }
    }
}

static void on_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    conn_advance(arg);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    conn *c = arg;
    if (evbuffer_get_length(bufferevent_get_output(bev)) != 0)
        return;
    switch (c->state) {
    case ST_WRITING:
        c->state = ST_READ_HEAD;
        set_timeouts(c, true);
        conn_advance(c); /* a pipelined request may be waiting */
        break;
    case ST_CLOSING:
        /* The last answer is out: say so (close_notify, FIN), then wait
         * for the client to close, dropping what it still sends. */
        c->state = ST_LINGER;
        if (c->ssl != NULL) {
            SSL_shutdown(c->ssl);
            ERR_clear_error();
        }
        shutdown(bufferevent_getfd(bev), SHUT_WR);
        set_timeouts(c, true);
        conn_advance(c);
        break;
    default:
        break; /* e.g. "100 Continue" written while reading a body */
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    conn *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        if (c->state != ST_HANDSHAKE) {
            conn_close(c, false);
            return;
        }
        if (c->server->mode == TKMS_HTTP_TLS_MUTUAL) {
            X509 *peer = SSL_get0_peer_certificate(c->ssl);
            if (SSL_get_verify_result(c->ssl) != X509_V_OK || !client_name(peer, c->client)) {
                conn_close(c, false);
                return;
            }
        } /* SERVER_ONLY: no certificate asked for; the name stays "" */
        c->state = ST_READ_HEAD;
        set_timeouts(c, true);
        conn_advance(c);
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
        ERR_clear_error();
        /* an idle keep-alive connection timing out gets a close_notify */
        conn_close(c, (what & BEV_EVENT_TIMEOUT) != 0 && c->state == ST_READ_HEAD);
    }
}

static void on_accept(struct evconnlistener *listener, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *arg)
{
    (void)listener;
    (void)sa;
    (void)socklen;
    tkms_http_server *s = arg;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        evutil_closesocket(fd);
        return;
    }
    struct bufferevent *bev = NULL;
    SSL *ssl = NULL;
    if (s->mode == TKMS_HTTP_TLS_PLAIN) {
        bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
    } else {
        ssl = SSL_new(s->ctx);
        if (ssl != NULL) /* on failure the SSL is freed by libevent, the socket is not */
            bev = bufferevent_openssl_socket_new(s->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                 BEV_OPT_CLOSE_ON_FREE);
    }
    if (bev == NULL) {
        free(c);
        evutil_closesocket(fd);
        ERR_clear_error();
        return;
    }
    c->server = s;
    c->bev = bev;
    c->ssl = ssl;
    /* a plain connection has no handshake: it reads a request at once */
    c->state = ssl != NULL ? ST_HANDSHAKE : ST_READ_HEAD;
    tkms_http_reader_init(&c->reader, s->max_header, s->max_body);
    if (ssl != NULL)
        bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    bufferevent_setcb(bev, on_read, on_write, on_event, c);
    /* A request never needs more than this buffered; beyond it the
     * connection stops reading until the request is dealt with. */
    bufferevent_setwatermark(bev, EV_READ, 0, s->max_header + s->max_body);
    set_timeouts(c, true);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    atomic_fetch_add(&s->accepted, 1);
    if (atomic_fetch_add(&s->nconns, 1) + 1 >= s->max_conns) {
        s->paused_full = true;
        listener_update(s);
    }
}

static void on_accept_error(struct evconnlistener *listener, void *arg)
{
    (void)listener;
    tkms_http_server *s = arg;
    /* e.g. out of file descriptors: stop accepting for a moment rather
     * than spin on a listening socket that stays readable */
    s->paused_error = true;
    listener_update(s);
    struct timeval tv = {0, ACCEPT_RETRY_MS * 1000};
    evtimer_add(s->retry_event, &tv);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    tkms_http_server *s = arg;
    s->paused_error = false;
    listener_update(s);
}

/* ---- answers ---------------------------------------------------------------- */

/* Loop thread: sends req's answer on its connection (or drops it) and
 * frees req. Never frees a connection directly (see close_soon). */
static void deliver(tkms_http_request *req)
{
    conn *c = req->conn;
    if (c == NULL) {
        request_free(req);
        return;
    }
    c->req = NULL;
    bool keep_alive = req->head.keep_alive && req->answer != NULL;
    char *answer = req->answer;
    req->answer = NULL;
    bool queued = queue_output(c, answer, req->answer_len);
    request_free(req);
    if (!queued) {
        close_soon(c);
        return;
    }
    c->state = keep_alive ? ST_WRITING : ST_CLOSING;
    c->drain_left = DRAIN_MAX;
    set_timeouts(c, !keep_alive);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    tkms_http_server *s = arg;
    char buf[64];
    while (read(fd, buf, sizeof buf) > 0) {
    }
    pthread_mutex_lock(&s->lock);
    tkms_http_request *q = s->queue_head;
    s->queue_head = s->queue_tail = NULL;
    s->wake_pending = false;
    pthread_mutex_unlock(&s->lock);
    while (q != NULL) {
        tkms_http_request *next = q->next;
        deliver(q);
        q = next;
    }
}

/* Frees what is left of a server once it is closed and nothing is
 * outstanding. */
static void server_destroy(tkms_http_server *s)
{
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void tkms_http_reply(tkms_http_request *req, int status, const char *content_type,
                     const void *body, size_t len)
{
    if (req == NULL)
        return;
    if (body == NULL)
        len = 0;
    req->answer = build_answer(status, content_type, body, len, req->head.head_only,
                               req->head.keep_alive, &req->answer_len);
    tkms_http_server *s = req->server;
    bool on_loop = pthread_equal(pthread_self(), req->loop_thread) != 0;

    pthread_mutex_lock(&s->lock);
    s->outstanding--;
    if (s->closed) {
        bool last = s->outstanding == 0;
        pthread_mutex_unlock(&s->lock);
        request_free(req);
        if (last)
            server_destroy(s);
        return;
    }
    if (on_loop) {
        pthread_mutex_unlock(&s->lock);
        deliver(req);
        return;
    }
    req->next = NULL;
    if (s->queue_tail)
        s->queue_tail->next = req;
    else
        s->queue_head = req;
    s->queue_tail = req;
    if (!s->wake_pending) {
        s->wake_pending = true;
        ssize_t w;
        do
            w = write(s->wake_fd[1], "", 1);
        while (w < 0 && errno == EINTR);
        /* EAGAIN: the pipe is full, so the loop will wake anyway */
    }
    pthread_mutex_unlock(&s->lock);
}

void tkms_http_reply_error(tkms_http_request *req, int status, const char *reason)
{
    if (req == NULL)
        return;
    size_t len = 0;
    char *body = error_json(reason, &len);
    if (body == NULL) {
        tkms_http_reply(req, status, "application/json", "{\"error\":\"\"}", 12);
        return;
    }
    tkms_http_reply(req, status, "application/json", body, len);
    free(body);
}

/* ---- request accessors ---------------------------------------------------- */

const char *tkms_http_request_method(const tkms_http_request *req)
{
    return req->head.method;
}

const char *tkms_http_request_path(const tkms_http_request *req)
{
    return req->head.path;
}

const char *tkms_http_request_query(const tkms_http_request *req)
{
    return req->head.query;
}

const char *tkms_http_request_header(const tkms_http_request *req, const char *name)
{
    return tkms_http_head_header(&req->head, name);
}

const char *tkms_http_request_client(const tkms_http_request *req)
{
    return req->client;
}

const char *tkms_http_request_body(const tkms_http_request *req, size_t *len)
{
    if (len != NULL)
        *len = req->body_len;
    return req->body != NULL ? req->body : "";
}

/* ---- set-up ------------------------------------------------------------------ */

/* Accepts only client certificates with a usable CN (the chain and the
 * purpose are checked by OpenSSL before this sees depth 0). */
static int verify_client(int ok, X509_STORE_CTX *store)
{
    if (!ok || X509_STORE_CTX_get_error_depth(store) != 0)
        return ok;
    char name[TKMS_HTTP_CLIENT_NAME_MAX + 1];
    if (!client_name(X509_STORE_CTX_get_current_cert(store), name)) {
        X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
        return 0;
    }
    return 1;
}

static tkms_status check_readable(const char *what, const char *path, tkms_err *err)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return tkms_fail(err, TKMS_ERR_IO, "http server: cannot read %s %s: %s", what, path,
                         strerror(errno));
    fclose(f);
    return TKMS_OK;
}

/* The TLS context of a MUTUAL or SERVER_ONLY listener. */
static tkms_status make_tls(SSL_CTX **out, const tkms_http_server_options *opt, tkms_err *err)
{
    tkms_status st;
    bool mutual = opt->tls == TKMS_HTTP_TLS_MUTUAL;
    if ((st = check_readable("certificate file", opt->cert_file, err)) != TKMS_OK ||
        (st = check_readable("key file", opt->key_file, err)) != TKMS_OK ||
        (mutual && (st = check_readable("CA file", opt->ca_file, err)) != TKMS_OK))
        return st;
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        return ssl_fail(err, TKMS_ERR_NO_MEMORY, "cannot create a TLS context for", opt->cert_file);
    st = TKMS_OK;
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1) {
        st = ssl_fail(err, TKMS_ERR_UNSUPPORTED, "TLS 1.3 unavailable for", opt->cert_file);
        goto out;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, opt->cert_file) != 1) {
        st = ssl_fail(err, TKMS_ERR_BAD_FORMAT, "certificate file", opt->cert_file);
        goto out;
    }
    BIO *bio = BIO_new_file(opt->key_file, "r");
    EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (key == NULL) {
        st = ssl_fail(err, TKMS_ERR_BAD_FORMAT, "key file", opt->key_file);
        goto out;
    }
    int used = SSL_CTX_use_PrivateKey(ctx, key);
    EVP_PKEY_free(key);
    if (used != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        st = tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                       "http server: key file %s does not match certificate file %s",
                       opt->key_file, opt->cert_file);
        goto out;
    }
    if (!mutual) {
        /* SERVER_ONLY: no CertificateRequest is sent, so clients never
         * show (or are asked for) a certificate; the handler
         * authenticates. Resumption stays off as in MUTUAL: one code
         * path, and keep-alive makes full handshakes rare. */
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_num_tickets(ctx, 0);
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
        goto out;
    }
    if (SSL_CTX_load_verify_locations(ctx, opt->ca_file, NULL) != 1) {
        st = ssl_fail(err, TKMS_ERR_BAD_FORMAT, "CA file", opt->ca_file);
        goto out;
    }
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(opt->ca_file);
    if (names == NULL) {
        st = ssl_fail(err, TKMS_ERR_BAD_FORMAT, "no certificate in CA file", opt->ca_file);
        goto out;
    }
    SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_client);
    SSL_CTX_set_verify_depth(ctx, 8);
    SSL_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
    /* No resumption: every connection proves its certificate afresh. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
out:
    if (st != TKMS_OK) {
        SSL_CTX_free(ctx);
        ERR_clear_error();
        return st;
    }
    *out = ctx;
    return TKMS_OK;
}

/* PLAIN listeners: `address` must be a numeric loopback address,
 * 127.0.0.0/8 or ::1 (not a wildcard, not an IPv4-mapped form). */
static tkms_status check_loopback(const char *address, tkms_err *err)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, address, &a4) == 1) {
        if ((ntohl(a4.s_addr) >> 24) == 127)
            return TKMS_OK;
    } else if (inet_pton(AF_INET6, address, &a6) == 1) {
        if (IN6_IS_ADDR_LOOPBACK(&a6))
            return TKMS_OK;
    } else {
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "http server: address %s is not a numeric IP address", address);
    }
    return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                     "http server: plain HTTP (no TLS) is only allowed on a loopback address "
                     "(127.0.0.0/8 or ::1), not on %s",
                     address);
}

/* Binds and listens on address:port; the socket in *fd, the port in *port. */
static tkms_status bind_listen(const char *address, uint16_t port, int *fd, uint16_t *bound,
                               tkms_err *err)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    char service[8];
    snprintf(service, sizeof service, "%u", (unsigned)port);
    if (getaddrinfo(address, service, &hints, &res) != 0 || res == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "http server: address %s is not a numeric IP address", address);
    bool v6 = res->ai_family == AF_INET6;
    char where[80];
    snprintf(where, sizeof where, v6 ? "[%s]:%u" : "%s:%u", address, (unsigned)port);
    int s = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0) {
        int e = errno;
        freeaddrinfo(res);
        return tkms_fail(err, TKMS_ERR_IO, "http server: cannot listen on %s: %s", where,
                         strerror(e));
    }
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(s, res->ai_addr, res->ai_addrlen) != 0 || listen(s, SOMAXCONN) != 0) {
        int e = errno;
        freeaddrinfo(res);
        close(s);
        return tkms_fail(err, TKMS_ERR_IO, "http server: cannot listen on %s: %s", where,
                         strerror(e));
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(s, (struct sockaddr *)&ss, &sl) != 0) {
        int e = errno;
        close(s);
        return tkms_fail(err, TKMS_ERR_IO, "http server: cannot listen on %s: %s", where,
                         strerror(e));
    }
    *bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                            : ((struct sockaddr_in *)&ss)->sin_port);
    *fd = s;
    return TKMS_OK;
}

tkms_status tkms_http_server_new(tkms_http_server **out, struct event_base *base,
                                 const tkms_http_server_options *opt,
                                 tkms_http_handler handler, void *arg, tkms_err *err)
{
    tkms_err_clear(err);
    if (out != NULL)
        *out = NULL;
    if (out == NULL || base == NULL || opt == NULL || handler == NULL || opt->address == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "http server: missing argument");
    if (opt->tls != TKMS_HTTP_TLS_MUTUAL && opt->tls != TKMS_HTTP_TLS_SERVER_ONLY &&
        opt->tls != TKMS_HTTP_TLS_PLAIN)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "http server: unknown TLS mode %d",
                         (int)opt->tls);
    if (opt->tls != TKMS_HTTP_TLS_PLAIN && (opt->cert_file == NULL || opt->key_file == NULL))
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "http server: TLS needs cert_file and key_file");
    if (opt->tls == TKMS_HTTP_TLS_MUTUAL && opt->ca_file == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "http server: mutual TLS needs ca_file");
    size_t max_body = opt->max_body_size ? opt->max_body_size : TKMS_HTTP_DEFAULT_MAX_BODY;
    size_t max_header = opt->max_header_size ? opt->max_header_size : TKMS_HTTP_DEFAULT_MAX_HEADER;
    unsigned timeout = opt->timeout_seconds ? opt->timeout_seconds
                                            : TKMS_HTTP_DEFAULT_TIMEOUT_SECONDS;
    unsigned max_conns = opt->max_connections ? opt->max_connections
                                              : TKMS_HTTP_DEFAULT_MAX_CONNECTIONS;
    if (max_body > TKMS_HTTP_MAX_BODY_LIMIT)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "http server: max_body_size above %u", TKMS_HTTP_MAX_BODY_LIMIT);
    if (max_header < TKMS_HTTP_MIN_HEADER_LIMIT || max_header > TKMS_HTTP_MAX_HEADER_LIMIT)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "http server: max_header_size must be %u..%u", TKMS_HTTP_MIN_HEADER_LIMIT,
                         TKMS_HTTP_MAX_HEADER_LIMIT);
    if (timeout > TKMS_HTTP_MAX_TIMEOUT_SECONDS)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "http server: timeout_seconds above %u", TKMS_HTTP_MAX_TIMEOUT_SECONDS);
    if (max_conns > TKMS_HTTP_MAX_CONNECTIONS_LIMIT)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "http server: max_connections above %u", TKMS_HTTP_MAX_CONNECTIONS_LIMIT);

    /* A peer that closes while we write must not kill the process. */
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_IGN;
        sigaction(SIGPIPE, &sa, NULL);
    }

    tkms_status st;
    if (opt->tls == TKMS_HTTP_TLS_PLAIN && (st = check_loopback(opt->address, err)) != TKMS_OK)
        return st;
    SSL_CTX *ctx = NULL;
    if (opt->tls != TKMS_HTTP_TLS_PLAIN && (st = make_tls(&ctx, opt, err)) != TKMS_OK)
        return st;
    int fd = -1;
    uint16_t port = 0;
    if ((st = bind_listen(opt->address, opt->port, &fd, &port, err)) != TKMS_OK) {
        SSL_CTX_free(ctx);
        return st;
    }

    tkms_http_server *s = calloc(1, sizeof *s);
    if (s == NULL) {
        close(fd);
        SSL_CTX_free(ctx);
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "http server: out of memory");
    }
    s->base = base;
    s->mode = opt->tls;
    s->ctx = ctx;
    s->handler = handler;
    s->arg = arg;
    s->max_body = max_body;
    s->max_header = max_header;
    s->timeout.tv_sec = (time_t)timeout;
    s->max_conns = max_conns;
    s->port = port;
    s->wake_fd[0] = s->wake_fd[1] = -1;
    atomic_init(&s->nconns, 0);
    atomic_init(&s->accepted, 0);
    bool have_lock = pthread_mutex_init(&s->lock, NULL) == 0;
    if (have_lock && pipe2(s->wake_fd, O_NONBLOCK | O_CLOEXEC) == 0)
        s->wake_event = event_new(base, s->wake_fd[0], EV_READ | EV_PERSIST, on_wake, s);
    if (s->wake_event != NULL)
        s->retry_event = evtimer_new(base, on_retry, s);
    if (s->retry_event != NULL && event_add(s->wake_event, NULL) == 0)
        s->listener = evconnlistener_new(base, on_accept, s,
                                         LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
    if (s->listener == NULL) {
        close(fd);
        if (s->retry_event)
            event_free(s->retry_event);
        if (s->wake_event)
            event_free(s->wake_event);
        if (s->wake_fd[0] >= 0) {
            close(s->wake_fd[0]);
            close(s->wake_fd[1]);
        }
        if (have_lock)
            pthread_mutex_destroy(&s->lock);
        SSL_CTX_free(ctx);
        free(s);
        return tkms_fail(err, TKMS_ERR_NO_MEMORY,
                         "http server: cannot set up the listener on the event loop");
    }
    evconnlistener_set_error_cb(s->listener, on_accept_error);
    *out = s;
    return TKMS_OK;
}

uint16_t tkms_http_server_port(const tkms_http_server *s)
{
    return s != NULL ? s->port : 0;
}

size_t tkms_http_server_connections(const tkms_http_server *s)
{
    return s != NULL ? atomic_load(&((tkms_http_server *)s)->nconns) : 0;
}

size_t tkms_http_server_accepted(const tkms_http_server *s)
{
    return s != NULL ? atomic_load(&((tkms_http_server *)s)->accepted) : 0;
}

void tkms_http_server_free(tkms_http_server *s)
{
    if (s == NULL)
        return;
    evconnlistener_free(s->listener);
    s->listener = NULL;
    event_free(s->retry_event);
    event_free(s->wake_event);
    while (s->conns != NULL)
        conn_close(s->conns, false);
    SSL_CTX_free(s->ctx);
    s->ctx = NULL;

    pthread_mutex_lock(&s->lock);
    s->closed = true;
    tkms_http_request *q = s->queue_head;
    s->queue_head = s->queue_tail = NULL;
    close(s->wake_fd[0]);
    close(s->wake_fd[1]);
    bool last = s->outstanding == 0;
    pthread_mutex_unlock(&s->lock);
    while (q != NULL) { /* answered, never sent */
        tkms_http_request *next = q->next;
        request_free(q);
        q = next;
    }
    if (last)
        server_destroy(s);
}
