/*
 * http_fanout.c — the asynchronous HTTPS client of tkms/http_fanout.h:
 * libcurl's multi interface driven by libevent ("multi_socket" style).
 *
 * libcurl tells us which sockets to watch (on_socket: one persistent
 * event per socket) and when to wake it up (on_timer_set: one timer per
 * fanout); each wake-up calls curl_multi_socket_action, then collects the
 * finished transfers (drain_done). Every request is one easy handle in
 * the multi handle, so connections come from the multi's shared cache and
 * are reused across requests. Every request also has a deadline timer of
 * its own, so its timeout holds even while libcurl keeps it waiting for a
 * connection (max_host_connections), which libcurl's own timeout does not
 * cover.
 *
 * Callbacks and re-entrance: `done` is only ever called from our code,
 * after libcurl has returned (never from inside a libcurl callback), so a
 * `done` may start, cancel or free freely. Every entry point that can
 * call `done` (the loop's callbacks, tkms_fanout_cancel, tkms_fanout_free)
 * counts itself in f->depth; tkms_fanout_free only marks the fanout as
 * closing when it is nested in one, and the outermost one tears it down
 * on its way out (leave).
 */
#include "tkms/http_fanout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "curl_common.h"

#define WHO "http fanout"

typedef struct fanout_req fanout_req;
typedef struct sock_watch sock_watch;

struct fanout_req {
    tkms_fanout *f;
    tkms_fanout_request_id id;
    CURL *easy;                 /* in f->multi until finished */
    struct curl_slist *headers;
    char *body;                 /* our copy of the request body */
    net_curl_sink resp;
    struct event *deadline;
    unsigned timeout_ms;
    double started;
    tkms_fanout_done done;
    void *arg;
    char errbuf[CURL_ERROR_SIZE];
    fanout_req *prev, *next;
};

/* One socket libcurl wants watched. */
struct sock_watch {
    tkms_fanout *f;
    curl_socket_t fd;
    struct event *ev;
    sock_watch *prev, *next;
};

struct tkms_fanout {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;        /* libcurl's timeout */
    net_curl_tls tls;
    size_t max_response;
    long connect_timeout_ms;
    fanout_req *reqs;           /* started, `done` not yet called */
    size_t nreqs;
    sock_watch *watches;
    tkms_fanout_request_id next_id;
    unsigned depth;             /* entry points on the stack that may call `done` */
    bool closing;               /* tkms_fanout_free has been called */
};

/* ---- helpers -------------------------------------------------------------- */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct timeval ms_to_tv(long ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    return tv;
}

static tkms_fanout_outcome classify(CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return TKMS_FANOUT_TIMEOUT;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return TKMS_FANOUT_CONNECT_FAILED;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_USE_SSL_FAILED:
        return TKMS_FANOUT_TLS_FAILED;
    case CURLE_FILESIZE_EXCEEDED:
        return TKMS_FANOUT_TOO_LARGE;
    case CURLE_OUT_OF_MEMORY:
        return TKMS_FANOUT_NO_MEMORY;
    default:
        return TKMS_FANOUT_TRANSFER_FAILED;
    }
}

/* ---- teardown --------------------------------------------------------------- */

static void req_free(fanout_req *r)
{
    if (r == NULL)
        return;
    if (r->easy)
        curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    if (r->deadline)
        event_free(r->deadline);
    free(r->body);
    free(r->resp.buf);
    free(r);
}

static void watch_free(tkms_fanout *f, sock_watch *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        f->watches = w->next;
    if (w->next)
        w->next->prev = w->prev;
    if (w->ev)
        event_free(w->ev);
    free(w);
}

/* Frees everything (no request may be left). */
static void destroy(tkms_fanout *f)
{
    if (f->multi)
        curl_multi_cleanup(f->multi); /* closes the cached connections */
    while (f->watches)
        watch_free(f, f->watches);
    if (f->timer)
        event_free(f->timer);
    net_curl_tls_free(&f->tls);
    free(f);
}

/* Leaves an entry point counted in f->depth; the outermost one tears down
 * a fanout that was freed meanwhile. f is invalid afterwards if so. */
static void leave(tkms_fanout *f)
{
    if (--f->depth == 0 && f->closing)
        destroy(f);
}

/* ---- finishing a request -------------------------------------------------- */

/* Takes r out of the fanout (and libcurl), calls its `done` with the given
 * outcome and frees it. Only from an entry point counted in f->depth. */
static void finish(tkms_fanout *f, fanout_req *r, tkms_fanout_outcome outcome, long status,
                   const char *error)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        f->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    f->nreqs--;
    /* a transfer stopped before its end closes its connection */
    curl_multi_remove_handle(f->multi, r->easy);
    event_del(r->deadline);

    tkms_fanout_result res = {
        .id = r->id,
        .outcome = outcome,
        .status = outcome == TKMS_FANOUT_OK ? status : 0,
        .body = "",
        .len = 0,
        .error = outcome == TKMS_FANOUT_OK ? NULL : error,
        .seconds = now_seconds() - r->started,
    };
    if (outcome == TKMS_FANOUT_OK && r->resp.buf != NULL) {
        r->resp.buf[r->resp.len] = '\0';
        res.body = r->resp.buf;
        res.len = r->resp.len;
    }
    r->done(r->arg, &res);
    req_free(r);
}

/* A transfer libcurl reports finished with `rc`. */
static void complete(tkms_fanout *f, fanout_req *r, CURLcode rc)
{
    if (rc == CURLE_OK) {
        long status = 0;
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
        finish(f, r, TKMS_FANOUT_OK, status, NULL);
        return;
    }
    tkms_fanout_outcome outcome;
    if (r->resp.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        outcome = TKMS_FANOUT_TOO_LARGE;
        snprintf(r->errbuf, sizeof r->errbuf, "response body larger than %zu bytes",
                 f->max_response);
    } else if (r->resp.no_memory) {
        outcome = TKMS_FANOUT_NO_MEMORY;
        snprintf(r->errbuf, sizeof r->errbuf, "out of memory for the response");
    } else {
        outcome = classify(rc);
        /* Under TLS 1.3 a server refuses our certificate after the
         * handshake: libcurl reports a receive error carrying OpenSSL's
         * alert ("…tlsv13 alert certificate required"). */
        if ((rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR) &&
            strstr(r->errbuf, "SSL routines") != NULL && strstr(r->errbuf, " alert ") != NULL)
            outcome = TKMS_FANOUT_TLS_FAILED;
        if (r->errbuf[0] == '\0')
            snprintf(r->errbuf, sizeof r->errbuf, "%s", curl_easy_strerror(rc));
    }
    finish(f, r, outcome, 0, r->errbuf);
}

/* Hands every transfer libcurl has finished to its `done`. */
static void drain_done(tkms_fanout *f)
{
    CURLMsg *m;
    int left;
    while (!f->closing && (m = curl_multi_info_read(f->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURLcode rc = m->data.result;
        char *p = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &p);
        if (p != NULL)
            complete(f, (fanout_req *)p, rc); /* (m is invalid from here) */
    }
}

/* ---- libevent <-> libcurl ----------------------------------------------- */

static void on_sock_event(evutil_socket_t fd, short what, void *arg)
{
    sock_watch *w = arg;
    tkms_fanout *f = w->f; /* w may be freed by socket_action */
    int flags = ((what & EV_READ) ? CURL_CSELECT_IN : 0) |
                ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    int running = 0;
    f->depth++;
    curl_multi_socket_action(f->multi, fd, flags, &running);
    drain_done(f);
    leave(f);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    tkms_fanout *f = arg;
    int running = 0;
    f->depth++;
    curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    drain_done(f);
    leave(f);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    fanout_req *r = arg;
    tkms_fanout *f = r->f;
    f->depth++;
    snprintf(r->errbuf, sizeof r->errbuf, "timed out after %u ms", r->timeout_ms);
    finish(f, r, TKMS_FANOUT_TIMEOUT, 0, r->errbuf);
    leave(f);
}

/* CURLMOPT_SOCKETFUNCTION: watch `s` for what libcurl wants. */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)easy;
    tkms_fanout *f = userp;
    sock_watch *w = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (w != NULL)
            watch_free(f, w);
        return 0;
    }
    if (w == NULL) {
        w = calloc(1, sizeof *w);
        if (w == NULL)
            return -1;
        w->f = f;
        w->fd = s;
        w->next = f->watches;
        if (f->watches)
            f->watches->prev = w;
        f->watches = w;
        curl_multi_assign(f->multi, s, w);
    } else if (w->ev != NULL) {
        event_free(w->ev);
        w->ev = NULL;
    }
    short kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
                 ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
    w->ev = event_new(f->base, s, kind, on_sock_event, w);
    if (w->ev == NULL || event_add(w->ev, NULL) != 0)
        return -1; /* the transfers on it fail, or meet their deadline */
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: wake libcurl after `ms` (-1: never). */
static int on_timer_set(CURLM *multi, long ms, void *userp)
{
    (void)multi;
    tkms_fanout *f = userp;
    if (ms < 0) {
        evtimer_del(f->timer);
        return 0;
    }
    struct timeval tv = ms_to_tv(ms);
    return evtimer_add(f->timer, &tv) == 0 ? 0 : -1;
}

/* ---- the fanout ------------------------------------------------------------ */

tkms_status tkms_fanout_new(tkms_fanout **out, struct event_base *base,
                            const tkms_fanout_options *opt, tkms_err *err)
{
    tkms_err_clear(err);
    if (out != NULL)
        *out = NULL;
    if (out == NULL || base == NULL || opt == NULL || opt->ca_file == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "http fanout: missing argument");
    size_t max;
    tkms_status st = net_curl_check_options(WHO, opt->cert_file, opt->key_file,
                                            opt->max_response_size,
                                            TKMS_FANOUT_DEFAULT_MAX_RESPONSE,
                                            TKMS_FANOUT_MAX_RESPONSE_LIMIT, &max, err);
    if (st != TKMS_OK)
        return st;
    unsigned per_host = opt->max_host_connections ? opt->max_host_connections
                                                  : TKMS_FANOUT_DEFAULT_HOST_CONNECTIONS;
    unsigned idle = opt->max_idle_connections ? opt->max_idle_connections
                                              : TKMS_FANOUT_DEFAULT_IDLE_CONNECTIONS;
    unsigned connect_ms = opt->connect_timeout_ms ? opt->connect_timeout_ms
                                                  : TKMS_FANOUT_DEFAULT_CONNECT_TIMEOUT_MS;
    if (per_host > TKMS_FANOUT_MAX_CONNECTIONS_LIMIT || idle > TKMS_FANOUT_MAX_CONNECTIONS_LIMIT)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "http fanout: connection limit above %u",
                         TKMS_FANOUT_MAX_CONNECTIONS_LIMIT);
    if (connect_ms > TKMS_FANOUT_MAX_TIMEOUT_MS)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "http fanout: connect_timeout_ms above %u", TKMS_FANOUT_MAX_TIMEOUT_MS);
    if ((st = net_curl_start(WHO, opt->ca_file, opt->cert_file, opt->key_file, err)) != TKMS_OK)
        return st;

    tkms_fanout *f = calloc(1, sizeof *f);
    if (f == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "http fanout: out of memory");
    f->base = base;
    f->max_response = max;
    f->connect_timeout_ms = (long)connect_ms;
    f->next_id = 1;
    bool ok = net_curl_tls_copy(&f->tls, opt->ca_file, opt->cert_file, opt->key_file);
    ok = ok && (f->timer = evtimer_new(base, on_timeout, f)) != NULL;
    ok = ok && (f->multi = curl_multi_init()) != NULL;
    if (ok) {
        CURLM *m = f->multi;
        ok &= curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, on_socket) == CURLM_OK;
        ok &= curl_multi_setopt(m, CURLMOPT_SOCKETDATA, f) == CURLM_OK;
        ok &= curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, on_timer_set) == CURLM_OK;
        ok &= curl_multi_setopt(m, CURLMOPT_TIMERDATA, f) == CURLM_OK;
        ok &= curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)per_host) == CURLM_OK;
        ok &= curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)idle) == CURLM_OK;
        ok &= curl_multi_setopt(m, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING) == CURLM_OK;
    }
    if (!ok) {
        destroy(f);
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "http fanout: cannot set up libcurl");
    }
    *out = f;
    return TKMS_OK;
}

/* The options of one request's easy handle. False when libcurl refused
 * one. */
static bool configure(tkms_fanout *f, fanout_req *r, const char *method, const char *url,
                      size_t len, bool head)
{
    CURL *h = r->easy;
    long connect_ms = f->connect_timeout_ms < (long)r->timeout_ms ? f->connect_timeout_ms
                                                                  : (long)r->timeout_ms;
    /* libcurl's own timeout backs up the deadline timer */
    net_curl_setup setup = {.tls = &f->tls, .errbuf = r->errbuf,
                            .timeout_ms = (long)r->timeout_ms, .connect_timeout_ms = connect_ms,
                            .max_response = f->max_response, .sink = &r->resp};
    bool ok = true;
    ok &= curl_easy_setopt(h, CURLOPT_PRIVATE, (char *)r) == CURLE_OK;
    ok &= net_curl_configure(h, &setup);
    ok &= curl_easy_setopt(h, CURLOPT_URL, url) == CURLE_OK;
    ok &= net_curl_set_method(h, method, r->body, len, head);
    ok &= curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->headers) == CURLE_OK;
    return ok;
}

tkms_status tkms_fanout_request(tkms_fanout *f, const char *method, const char *url,
                                const char *content_type, const void *body, size_t len,
                                unsigned timeout_ms, tkms_fanout_done done, void *arg,
                                tkms_fanout_request_id *id_out, tkms_err *err)
{
    tkms_err_clear(err);
    if (id_out != NULL)
        *id_out = 0;
    if (f == NULL || method == NULL || url == NULL || done == NULL || (body == NULL && len > 0))
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "http fanout: missing argument");
    if (f->closing)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "http fanout: being freed");
    bool head;
    tkms_status st = net_curl_check_request(WHO, method, url, content_type, len, &head, err);
    if (st != TKMS_OK)
        return st;
    if (timeout_ms > TKMS_FANOUT_MAX_TIMEOUT_MS)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "http fanout: timeout_ms above %u",
                         TKMS_FANOUT_MAX_TIMEOUT_MS);

    fanout_req *r = calloc(1, sizeof *r);
    if (r == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "http fanout: out of memory");
    r->f = f;
    r->timeout_ms = timeout_ms ? timeout_ms : TKMS_FANOUT_DEFAULT_TIMEOUT_MS;
    r->done = done;
    r->arg = arg;
    r->resp.max = f->max_response;

    bool ok = (r->body = malloc(len + 1)) != NULL;
    if (ok) {
        if (len > 0)
            memcpy(r->body, body, len);
        r->body[len] = '\0';
    }
    ok = ok && (r->headers = net_curl_headers(content_type)) != NULL;
    ok = ok && (r->deadline = evtimer_new(f->base, on_deadline, r)) != NULL;
    ok = ok && (r->easy = curl_easy_init()) != NULL;
    if (ok && !configure(f, r, method, url, len, head)) {
        req_free(r);
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "http fanout: cannot configure libcurl");
    }
    struct timeval tv = ms_to_tv((long)r->timeout_ms);
    ok = ok && evtimer_add(r->deadline, &tv) == 0;
    if (!ok) {
        req_free(r);
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "http fanout: out of memory");
    }
    r->started = now_seconds();
    /* (adding only arms libcurl's timer: nothing completes in here) */
    CURLMcode mc = curl_multi_add_handle(f->multi, r->easy);
    if (mc != CURLM_OK) {
        req_free(r);
        return tkms_fail(err, mc == CURLM_OUT_OF_MEMORY ? TKMS_ERR_NO_MEMORY
                                                        : TKMS_ERR_INVALID_ARGUMENT,
                         "http fanout: %s", curl_multi_strerror(mc));
    }
    r->id = f->next_id++;
    r->next = f->reqs;
    if (f->reqs)
        f->reqs->prev = r;
    f->reqs = r;
    f->nreqs++;
    if (id_out != NULL)
        *id_out = r->id;
    return TKMS_OK;
}

void tkms_fanout_cancel(tkms_fanout *f, tkms_fanout_request_id id)
{
    if (f == NULL || id == 0)
        return;
    fanout_req *r = f->reqs;
    while (r != NULL && r->id != id)
        r = r->next;
    if (r == NULL)
        return;
    f->depth++;
    finish(f, r, TKMS_FANOUT_CANCELLED, 0, "cancelled");
    leave(f);
}

size_t tkms_fanout_pending(const tkms_fanout *f)
{
    return f != NULL ? f->nreqs : 0;
}

void tkms_fanout_free(tkms_fanout *f)
{
    if (f == NULL || f->closing)
        return;
    f->closing = true;
    f->depth++;
    while (f->reqs != NULL)
        finish(f, f->reqs, TKMS_FANOUT_CANCELLED, 0, "cancelled");
    leave(f);
}

const char *tkms_fanout_outcome_string(tkms_fanout_outcome outcome)
{
    switch (outcome) {
    case TKMS_FANOUT_OK: return "ok";
    case TKMS_FANOUT_TIMEOUT: return "timeout";
    case TKMS_FANOUT_CONNECT_FAILED: return "connect failed";
    case TKMS_FANOUT_TLS_FAILED: return "tls failed";
    case TKMS_FANOUT_TRANSFER_FAILED: return "transfer failed";
    case TKMS_FANOUT_TOO_LARGE: return "too large";
    case TKMS_FANOUT_CANCELLED: return "cancelled";
    case TKMS_FANOUT_NO_MEMORY: return "no memory";
    default: return "unknown";
    }
}
