/*
 * test_http_fanout.c — tkms/http_fanout.h against real TLS servers on
 * 127.0.0.1: a CA, server certificates and a client certificate made with
 * tkms_certs_* in a scratch directory; seven tkms_http_server instances,
 * each on a thread and event loop of its own (five mutual-TLS "threshold
 * servers", one whose certificate names another address, one that asks
 * for no client certificate); the fanout on the test's own event loop.
 *
 * It shows: a request to each of five servers at once is answered by
 * all; a server that answers after 2 s times out at the request's 300 ms
 * while the other four complete first; a closed port fails to connect
 * quickly; a cancelled request gets its one "cancelled" callback at once;
 * 100 rounds reuse the same five connections; concurrent requests respect
 * the per-host connection limit and a queued request still meets its own
 * deadline; a response above max_response_size is an error and the
 * fanout goes on; server certificates are checked (CA and host) and the
 * client certificate is presented; freeing a fanout with requests in
 * flight (also from inside a callback) calls each callback once with
 * "cancelled" and never again. Timing only appears as orderings and
 * generous bounds.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "test.h"
#include "tkms/certs.h"
#include "tkms/http_fanout.h"
#include "tkms/http_server.h"

#define NSERVERS 5      /* the "threshold servers"                    */
#define S_WRONGHOST 5   /* certificate for 127.0.0.2 only             */
#define S_SERVERONLY 6  /* TKMS_HTTP_TLS_SERVER_ONLY                  */
#define NALL 7

static char dir[] = "/tmp/tkms-fanout-test.XXXXXX"; /* CA, srv, wrong, gateway */
static char dir2[64];                                /* another CA            */

static const char *path_in(const char *d, const char *name)
{
    static char buf[8][512];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, sizeof buf[0], "%s/%s", d, name);
    return p;
}

/* ---- the servers, each on its own loop thread ------------------------------ */

typedef struct server server;

/* A "/slow" request held until its timer fires (server loop thread only). */
typedef struct held {
    server *s;
    tkms_http_request *req;
    struct event *ev;
    struct held *prev, *next;
} held;

struct server {
    int id;
    struct event_base *base;
    tkms_http_server *http;
    struct event *stop_ev;
    int stop_pipe[2];
    pthread_t thread;
    uint16_t port;
    held *held;
    atomic_int handled;
};

static server servers[NALL];

static void held_unlink(held *h)
{
    if (h->prev)
        h->prev->next = h->next;
    else
        h->s->held = h->next;
    if (h->next)
        h->next->prev = h->prev;
    event_free(h->ev);
    free(h);
}

static void on_held(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    held *h = arg;
    char body[64];
    int n = snprintf(body, sizeof body, "s%d slow", h->s->id);
    tkms_http_reply(h->req, 200, "text/plain", body, (size_t)n);
    held_unlink(h);
}

static void handler(tkms_http_request *req, void *arg)
{
    server *s = arg;
    atomic_fetch_add(&s->handled, 1);
    const char *path = tkms_http_request_path(req);
    if (strcmp(path, "/slow") == 0) {
        const char *q = tkms_http_request_query(req);
        long ms = q && strncmp(q, "ms=", 3) == 0 ? strtol(q + 3, NULL, 10) : 1000;
        held *h = calloc(1, sizeof *h);
        h->s = s;
        h->req = req;
        h->ev = evtimer_new(s->base, on_held, h);
        struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
        evtimer_add(h->ev, &tv);
        h->next = s->held;
        if (s->held)
            s->held->prev = h;
        s->held = h;
        return;
    }
    if (strcmp(path, "/big") == 0) {
        char *big = malloc(100000);
        memset(big, 'x', 100000);
        tkms_http_reply(req, 200, "text/plain", big, 100000);
        free(big);
        return;
    }
    if (strcmp(path, "/status") == 0) {
        tkms_http_reply_error(req, 503, "not now");
        return;
    }
    if (strcmp(path, "/client") == 0) {
        const char *c = tkms_http_request_client(req);
        tkms_http_reply(req, 200, "text/plain", c, strlen(c));
        return;
    }
    size_t len;
    const char *body = tkms_http_request_body(req, &len);
    char out[600];
    int n = snprintf(out, sizeof out, "s%d %s %.*s", s->id, tkms_http_request_method(req),
                     (int)(len < 500 ? len : 500), body);
    tkms_http_reply(req, 200, "text/plain", out, (size_t)n);
}

/* Server loop thread: answers what is held, frees the server, stops. */
static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    server *s = arg;
    while (s->held != NULL) {
        tkms_http_reply_error(s->held->req, 503, "stopping");
        held_unlink(s->held);
    }
    tkms_http_server_free(s->http);
    s->http = NULL;
    event_base_loopbreak(s->base);
}

static void *server_main(void *arg)
{
    server *s = arg;
    event_base_dispatch(s->base);
    return NULL;
}

static void start_server(int id, const char *cert, tkms_http_tls_mode mode)
{
    server *s = &servers[id];
    s->id = id;
    s->base = event_base_new();
    if (s->base == NULL || pipe(s->stop_pipe) != 0)
        test_fatal("server %d: event base", id);
    char certf[300], keyf[300];
    snprintf(certf, sizeof certf, "%s/%s.pem", dir, cert);
    snprintf(keyf, sizeof keyf, "%s/%s-key.pem", dir, cert);
    tkms_http_server_options o = {
        .address = "127.0.0.1",
        .cert_file = certf,
        .key_file = keyf,
        .ca_file = path_in(dir, "ca.pem"),
        .timeout_seconds = 20,
        .tls = mode,
    };
    tkms_err err;
    if (tkms_http_server_new(&s->http, s->base, &o, handler, s, &err) != TKMS_OK)
        test_fatal("server %d: %s", id, err.message);
    s->port = tkms_http_server_port(s->http);
    s->stop_ev = event_new(s->base, s->stop_pipe[0], EV_READ, on_stop, s);
    event_add(s->stop_ev, NULL);
    pthread_create(&s->thread, NULL, server_main, s);
}

static void stop_server(server *s)
{
    if (write(s->stop_pipe[1], "x", 1) != 1)
        test_fatal("stop");
    pthread_join(s->thread, NULL);
    event_free(s->stop_ev);
    event_base_free(s->base);
    close(s->stop_pipe[0]);
    close(s->stop_pipe[1]);
}

static size_t accepted(int id)
{
    return tkms_http_server_accepted(servers[id].http);
}

/* ---- the fanout side: the test's loop and its callbacks ---------------------- */

static struct event_base *fbase;
static int completed; /* callbacks so far (this is the loop thread) */

typedef struct {
    int calls;
    int order; /* completion rank, 0 first */
    tkms_fanout_request_id id;
    tkms_fanout_outcome outcome;
    long status;
    char body[600];
    size_t len;
    char error[300];
    double seconds;
    bool during; /* called while `inside` was set */
} slot;

static bool inside; /* set around a tkms_fanout_cancel / _free call */

static void on_done(void *arg, const tkms_fanout_result *r)
{
    slot *s = arg;
    s->calls++;
    s->order = completed++;
    s->outcome = r->outcome;
    s->status = r->status;
    s->len = r->len;
    snprintf(s->body, sizeof s->body, "%s", r->body ? r->body : "(null)");
    snprintf(s->error, sizeof s->error, "%s", r->error ? r->error : "");
    s->seconds = r->seconds;
    s->during = inside;
    if (s->id != 0 && s->id != r->id)
        s->calls += 100; /* wrong id: fails the calls == 1 checks */
}

static void on_guard(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    *(bool *)arg = true;
}

/* Runs the test's loop until `want` callbacks in all, or `seconds` pass.
 * True if they came. */
static bool run_until(int want, double seconds)
{
    bool expired = false;
    struct event *guard = evtimer_new(fbase, on_guard, &expired);
    struct timeval tv = {(time_t)seconds, (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6)};
    evtimer_add(guard, &tv);
    while (completed < want && !expired)
        event_base_loop(fbase, EVLOOP_ONCE);
    event_free(guard);
    return completed >= want;
}

/* Runs the loop for `seconds` whatever happens. */
static void run_for(double seconds)
{
    run_until(1 << 30, seconds);
}

static const char *url(int id, const char *target)
{
    static char buf[8][256];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, sizeof buf[0], "https://127.0.0.1:%u%s", (unsigned)servers[id].port, target);
    return p;
}

static tkms_fanout *fanout_with(const char *ca_dir, const char *client, size_t max_response,
                                unsigned per_host)
{
    tkms_fanout_options o = {
        .ca_file = path_in(ca_dir, "ca.pem"),
        .max_response_size = max_response,
        .max_host_connections = per_host,
        .connect_timeout_ms = 3000,
    };
    if (client != NULL) {
        o.cert_file = path_in(dir, client);
        char key[300];
        snprintf(key, sizeof key, "%.*s-key.pem", (int)(strlen(client) - 4), client);
        o.key_file = path_in(dir, key);
    }
    tkms_fanout *f = NULL;
    tkms_err err;
    if (tkms_fanout_new(&f, fbase, &o, &err) != TKMS_OK)
        test_fatal("fanout: %s", err.message);
    return f;
}

static tkms_fanout_request_id start(tkms_fanout *f, const char *method, const char *u,
                                    const char *body, unsigned timeout_ms, slot *s)
{
    memset(s, 0, sizeof *s);
    s->order = -1;
    tkms_err err;
    tkms_fanout_request_id id = 0;
    tkms_status st = tkms_fanout_request(f, method, u, body ? "text/plain" : NULL, body,
                                         body ? strlen(body) : 0, timeout_ms, on_done, s, &id,
                                         &err);
    if (st != TKMS_OK)
        test_fatal("request %s: %s", u, err.message);
    s->id = id;
    return id;
}

/* ---- the tests -------------------------------------------------------------- */

static void test_all_five(tkms_fanout *f)
{
    slot s[NSERVERS];
    completed = 0;
    for (int i = 0; i < NSERVERS; i++) {
        char body[32];
        snprintf(body, sizeof body, "hello %d", i);
        start(f, "POST", url(i, "/echo"), body, 5000, &s[i]);
    }
    CHECK(tkms_fanout_pending(f) == NSERVERS, "%d pending", NSERVERS);
    CHECK(completed == 0, "no callback from inside tkms_fanout_request");
    CHECK(run_until(NSERVERS, 10), "all %d callbacks came (%d)", NSERVERS, completed);
    int ok = 0;
    for (int i = 0; i < NSERVERS; i++) {
        char want[64];
        snprintf(want, sizeof want, "s%d POST hello %d", i, i);
        bool good = s[i].calls == 1 && s[i].outcome == TKMS_FANOUT_OK && s[i].status == 200 &&
                    strcmp(s[i].body, want) == 0 && s[i].len == strlen(want) &&
                    s[i].error[0] == '\0' && s[i].seconds >= 0 && s[i].seconds < 10;
        CHECK(good, "server %d: %d call, %s, %ld, \"%s\" %s", i, s[i].calls,
              tkms_fanout_outcome_string(s[i].outcome), s[i].status, s[i].body, s[i].error);
        ok += good;
    }
    CHECK(ok == NSERVERS && tkms_fanout_pending(f) == 0, "all answered, none pending");

    /* a status other than 200 is still a complete response */
    slot st;
    completed = 0;
    start(f, "GET", url(1, "/status"), NULL, 5000, &st);
    run_until(1, 10);
    CHECK(st.calls == 1 && st.outcome == TKMS_FANOUT_OK && st.status == 503 &&
              strstr(st.body, "not now") != NULL,
          "a 503 is passed on with its body: %ld %s", st.status, st.body);
}

static void test_timeout(tkms_fanout *f)
{
    slot s[NSERVERS];
    completed = 0;
    start(f, "POST", url(0, "/slow?ms=2000"), "late", 300, &s[0]);
    for (int i = 1; i < NSERVERS; i++)
        start(f, "POST", url(i, "/echo"), "quick", 300, &s[i]);
    CHECK(run_until(NSERVERS, 10), "all callbacks came");
    CHECK(s[0].calls == 1 && s[0].outcome == TKMS_FANOUT_TIMEOUT && s[0].status == 0 &&
              s[0].error[0] != '\0' && s[0].len == 0 && s[0].body[0] == '\0',
          "the slow server timed out: %s (%s)", tkms_fanout_outcome_string(s[0].outcome),
          s[0].error);
    CHECK(s[0].seconds >= 0.29 && s[0].seconds < 1.8,
          "… after about 0.3 s, long before its 2 s answer (%.3f s)", s[0].seconds);
    CHECK(s[0].order == NSERVERS - 1, "… and last (rank %d)", s[0].order);
    for (int i = 1; i < NSERVERS; i++)
        CHECK(s[i].calls == 1 && s[i].outcome == TKMS_FANOUT_OK && s[i].status == 200 &&
                  s[i].order < s[0].order && s[i].seconds <= s[0].seconds,
              "server %d answered before the timeout (%.3f s, rank %d)", i, s[i].seconds,
              s[i].order);
}

static void test_down(tkms_fanout *f)
{
    /* a port nobody listens on */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0)
        test_fatal("free port");
    close(fd);
    char down[128];
    snprintf(down, sizeof down, "https://127.0.0.1:%u/echo", (unsigned)ntohs(sa.sin_port));

    slot d, up;
    completed = 0;
    start(f, "POST", down, "anyone?", 5000, &d);
    start(f, "POST", url(2, "/echo"), "still here", 5000, &up);
    CHECK(run_until(2, 10), "both callbacks came");
    CHECK(d.calls == 1 && d.outcome == TKMS_FANOUT_CONNECT_FAILED && d.status == 0 &&
              d.error[0] != '\0',
          "closed port: connect failed: %s (%s)", tkms_fanout_outcome_string(d.outcome), d.error);
    CHECK(d.seconds < 2, "… quickly, not after the 5 s timeout (%.3f s)", d.seconds);
    CHECK(up.calls == 1 && up.outcome == TKMS_FANOUT_OK && strcmp(up.body, "s2 POST still here") == 0,
          "the other request is unaffected: %s", up.body);
}

static tkms_fanout *cancel_fanout;
static tkms_fanout_request_id cancel_id;

static void on_cancel_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    inside = true;
    tkms_fanout_cancel(cancel_fanout, cancel_id);
    inside = false;
}

static void test_cancel(tkms_fanout *f)
{
    slot slow, quick;
    completed = 0;
    cancel_fanout = f;
    cancel_id = start(f, "GET", url(3, "/slow?ms=2000"), NULL, 5000, &slow);
    start(f, "GET", url(4, "/echo"), NULL, 5000, &quick);
    CHECK(cancel_id != 0 && quick.id != 0 && quick.id != cancel_id, "ids are distinct and not 0");
    struct event *t = evtimer_new(fbase, on_cancel_timer, NULL);
    struct timeval tv = {0, 150 * 1000};
    evtimer_add(t, &tv);
    CHECK(run_until(2, 10), "both callbacks came");
    CHECK(slow.calls == 1 && slow.outcome == TKMS_FANOUT_CANCELLED && slow.status == 0 &&
              strcmp(slow.error, "cancelled") == 0,
          "cancelled request: one \"cancelled\" callback: %d, %s (%s)", slow.calls,
          tkms_fanout_outcome_string(slow.outcome), slow.error);
    CHECK(slow.during, "… called from inside tkms_fanout_cancel");
    CHECK(slow.seconds >= 0.1 && slow.seconds < 1.5, "… after the cancel, not the answer (%.3f s)",
          slow.seconds);
    CHECK(quick.calls == 1 && quick.outcome == TKMS_FANOUT_OK && quick.status == 200,
          "the other request completed: %s", quick.body);
    tkms_fanout_cancel(f, cancel_id); /* done already */
    tkms_fanout_cancel(f, quick.id);
    tkms_fanout_cancel(f, 0);
    tkms_fanout_cancel(f, 999999);
    tkms_fanout_cancel(NULL, 1);
    run_for(0.1);
    CHECK(slow.calls == 1 && quick.calls == 1 && tkms_fanout_pending(f) == 0,
          "cancelling finished or unknown ids does nothing");
    event_free(t);

    /* the fanout goes on after a cancel */
    slot again;
    completed = 0;
    start(f, "GET", url(3, "/echo"), NULL, 5000, &again);
    CHECK(run_until(1, 10) && again.outcome == TKMS_FANOUT_OK && again.status == 200,
          "a new request to the same server after a cancel: %s", again.body);
}

static void test_reuse(void)
{
    tkms_fanout *f = fanout_with(dir, "gateway.pem", 0, 0);
    size_t before[NSERVERS];
    for (int i = 0; i < NSERVERS; i++)
        before[i] = accepted(i);
    int ok = 0;
    for (int round = 0; round < 100; round++) {
        slot s[NSERVERS];
        completed = 0;
        for (int i = 0; i < NSERVERS; i++) {
            char body[32];
            snprintf(body, sizeof body, "round %d", round);
            start(f, "POST", url(i, "/echo"), body, 5000, &s[i]);
        }
        if (!run_until(NSERVERS, 10))
            break;
        for (int i = 0; i < NSERVERS; i++)
            ok += s[i].calls == 1 && s[i].outcome == TKMS_FANOUT_OK && s[i].status == 200;
    }
    CHECK(ok == 100 * NSERVERS, "100 rounds of %d: all answered (%d)", NSERVERS, ok);
    size_t used = 0;
    for (int i = 0; i < NSERVERS; i++)
        used += accepted(i) - before[i];
    CHECK(used == NSERVERS, "… over %d connections, one per server (%zu)", NSERVERS, used);
    tkms_fanout_free(f);
}

static void test_concurrency_limit(void)
{
    /* 10 requests at once to each server, at most 2 connections per host */
    tkms_fanout *f = fanout_with(dir, "gateway.pem", 0, 2);
    enum { PER = 10 };
    static slot s[NSERVERS][PER];
    size_t before[NSERVERS];
    for (int i = 0; i < NSERVERS; i++)
        before[i] = accepted(i);
    completed = 0;
    for (int i = 0; i < NSERVERS; i++)
        for (int k = 0; k < PER; k++) {
            char body[32];
            snprintf(body, sizeof body, "c%d", k);
            start(f, "POST", url(i, "/echo"), body, 10000, &s[i][k]);
        }
    CHECK(run_until(NSERVERS * PER, 20), "all %d concurrent requests done", NSERVERS * PER);
    int ok = 0;
    bool within = true;
    for (int i = 0; i < NSERVERS; i++) {
        for (int k = 0; k < PER; k++) {
            char want[32];
            snprintf(want, sizeof want, "s%d POST c%d", i, k);
            ok += s[i][k].calls == 1 && s[i][k].outcome == TKMS_FANOUT_OK &&
                  strcmp(s[i][k].body, want) == 0;
        }
        within &= accepted(i) - before[i] <= 2;
    }
    CHECK(ok == NSERVERS * PER, "each got its own answer (%d)", ok);
    CHECK(within, "at most 2 connections per server");
    tkms_fanout_free(f);

    /* one connection per host: a request queued behind a slow one still
     * meets its own deadline */
    f = fanout_with(dir, "gateway.pem", 0, 1);
    slot slow, queued;
    completed = 0;
    start(f, "GET", url(4, "/slow?ms=1000"), NULL, 5000, &slow);
    start(f, "GET", url(4, "/echo"), NULL, 200, &queued);
    CHECK(run_until(1, 10), "first callback came");
    CHECK(queued.calls == 1 && queued.outcome == TKMS_FANOUT_TIMEOUT && queued.seconds < 0.9,
          "a request waiting for a connection times out on time: %s after %.3f s",
          tkms_fanout_outcome_string(queued.outcome), queued.seconds);
    CHECK(run_until(2, 10) && slow.outcome == TKMS_FANOUT_OK && strcmp(slow.body, "s4 slow") == 0,
          "the slow one is answered: %s", slow.body);
    tkms_fanout_free(f);
}

static void test_too_large(void)
{
    tkms_fanout *f = fanout_with(dir, "gateway.pem", 10000, 0);
    slot big, next;
    completed = 0;
    start(f, "GET", url(1, "/big"), NULL, 5000, &big);
    CHECK(run_until(1, 10), "callback came");
    CHECK(big.calls == 1 && big.outcome == TKMS_FANOUT_TOO_LARGE && big.status == 0 &&
              big.len == 0 && big.body[0] == '\0' && strstr(big.error, "larger") != NULL,
          "a 100000-byte answer over a 10000-byte limit: %s (%s)",
          tkms_fanout_outcome_string(big.outcome), big.error);
    completed = 0;
    start(f, "POST", url(1, "/echo"), "small", 5000, &next);
    CHECK(run_until(1, 10) && next.outcome == TKMS_FANOUT_OK &&
              strcmp(next.body, "s1 POST small") == 0,
          "the fanout goes on: %s", next.body);
    tkms_fanout_free(f);
}

static void test_tls(void)
{
    slot s;
    /* the client certificate is presented: the server sees its CN */
    tkms_fanout *f = fanout_with(dir, "gateway.pem", 0, 0);
    completed = 0;
    start(f, "GET", url(0, "/client"), NULL, 5000, &s);
    CHECK(run_until(1, 10) && s.outcome == TKMS_FANOUT_OK && strcmp(s.body, "gateway") == 0,
          "mutual TLS: the server sees the client \"gateway\": %s", s.body);
    /* a certificate for another address */
    int handled = atomic_load(&servers[S_WRONGHOST].handled);
    completed = 0;
    start(f, "GET", url(S_WRONGHOST, "/client"), NULL, 5000, &s);
    CHECK(run_until(1, 10) && s.outcome == TKMS_FANOUT_TLS_FAILED,
          "server certificate for another host refused: %s (%s)",
          tkms_fanout_outcome_string(s.outcome), s.error);
    CHECK(atomic_load(&servers[S_WRONGHOST].handled) == handled, "… before any request");
    tkms_fanout_free(f);

    /* a server of another CA */
    f = fanout_with(dir2, NULL, 0, 0);
    handled = atomic_load(&servers[0].handled);
    completed = 0;
    start(f, "GET", url(0, "/client"), NULL, 5000, &s);
    CHECK(run_until(1, 10) && s.outcome == TKMS_FANOUT_TLS_FAILED,
          "server certificate from an untrusted CA refused: %s (%s)",
          tkms_fanout_outcome_string(s.outcome), s.error);
    tkms_fanout_free(f);

    /* no client certificate: a mutual-TLS server refuses, one that asks
     * for none serves */
    f = fanout_with(dir, NULL, 0, 0);
    completed = 0;
    start(f, "GET", url(0, "/client"), NULL, 5000, &s);
    /* (the alert, or the server's close overtaking it) */
    CHECK(run_until(1, 10) && s.status == 0 &&
              (s.outcome == TKMS_FANOUT_TLS_FAILED || s.outcome == TKMS_FANOUT_TRANSFER_FAILED),
          "no client certificate: refused by a mutual-TLS server: %s (%s)",
          tkms_fanout_outcome_string(s.outcome), s.error);
    CHECK(atomic_load(&servers[0].handled) == handled, "… and its handler never called");
    completed = 0;
    start(f, "GET", url(S_SERVERONLY, "/client"), NULL, 5000, &s);
    CHECK(run_until(1, 10) && s.outcome == TKMS_FANOUT_OK && s.status == 200 && s.len == 0,
          "no client certificate: served by a SERVER_ONLY server, client \"\": %s (%s)",
          tkms_fanout_outcome_string(s.outcome), s.error);
    tkms_fanout_free(f);
}

static tkms_fanout *freed_fanout;

static void on_free_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    inside = true;
    tkms_fanout_free(freed_fanout);
    inside = false;
}

/* A callback that frees its fanout, and one that tries to start a
 * request while the fanout is being freed. */
static slot nested_a, nested_b;
static tkms_status nested_request_status;

static void on_done_then_free(void *arg, const tkms_fanout_result *r)
{
    on_done(arg, r);
    inside = true;
    tkms_fanout_free(freed_fanout);
    inside = false;
}

static void on_done_then_request(void *arg, const tkms_fanout_result *r)
{
    on_done(arg, r);
    tkms_err err;
    tkms_fanout_request_id id = 7;
    nested_request_status = tkms_fanout_request(freed_fanout, "GET", url(0, "/echo"), NULL, NULL,
                                                0, 1000, on_done, &nested_a, &id, &err);
    if (id != 0)
        nested_request_status = TKMS_ERR_NOT_FOUND; /* id must be 0 on failure */
}

static void test_free_in_flight(void)
{
    slot s[NSERVERS];
    freed_fanout = fanout_with(dir, "gateway.pem", 0, 0);
    completed = 0;
    for (int i = 0; i < NSERVERS; i++)
        start(freed_fanout, "GET", url(i, "/slow?ms=2000"), NULL, 5000, &s[i]);
    struct event *t = evtimer_new(fbase, on_free_timer, NULL);
    struct timeval tv = {0, 100 * 1000};
    evtimer_add(t, &tv);
    CHECK(run_until(NSERVERS, 10), "all callbacks came");
    int cancelled = 0;
    for (int i = 0; i < NSERVERS; i++)
        cancelled += s[i].calls == 1 && s[i].outcome == TKMS_FANOUT_CANCELLED && s[i].during;
    CHECK(cancelled == NSERVERS, "free: each request cancelled once, inside tkms_fanout_free (%d)",
          cancelled);
    run_for(0.3);
    CHECK(completed == NSERVERS, "no callback after free (%d)", completed);
    event_free(t);

    /* freed from inside a callback; a request started while freeing fails */
    freed_fanout = fanout_with(dir, "gateway.pem", 0, 0);
    completed = 0;
    memset(&nested_a, 0, sizeof nested_a);
    memset(&nested_b, 0, sizeof nested_b);
    tkms_err err;
    tkms_status st1 = tkms_fanout_request(freed_fanout, "GET", url(1, "/echo"), NULL, NULL, 0,
                                          5000, on_done_then_free, &nested_a, NULL, &err);
    tkms_status st2 = tkms_fanout_request(freed_fanout, "GET", url(2, "/slow?ms=2000"), NULL,
                                          NULL, 0, 5000, on_done_then_request, &nested_b, NULL,
                                          &err);
    CHECK(st1 == TKMS_OK && st2 == TKMS_OK, "two requests started: %s", err.message);
    CHECK(run_until(2, 10), "both callbacks came");
    CHECK(nested_a.calls == 1 && nested_a.outcome == TKMS_FANOUT_OK && !nested_a.during,
          "the quick one answered, then freed the fanout");
    CHECK(nested_b.calls == 1 && nested_b.outcome == TKMS_FANOUT_CANCELLED && nested_b.during,
          "the slow one cancelled by that free, once");
    CHECK(nested_request_status == TKMS_ERR_INVALID_ARGUMENT,
          "a request started while freeing is refused, id 0 (%d)", (int)nested_request_status);
    run_for(0.2);
    CHECK(completed == 2, "nothing after");
}

static void test_arguments(void)
{
    tkms_err err;
    tkms_fanout *f = (tkms_fanout *)1;
    tkms_fanout_options o = {.ca_file = NULL};
    CHECK(tkms_fanout_new(&f, fbase, &o, &err) == TKMS_ERR_INVALID_ARGUMENT && f == NULL,
          "ca_file is required");
    o.ca_file = path_in(dir, "ca.pem");
    o.cert_file = path_in(dir, "gateway.pem");
    CHECK(tkms_fanout_new(&f, fbase, &o, &err) == TKMS_ERR_INVALID_ARGUMENT,
          "a certificate without its key refused");
    o.key_file = path_in(dir, "missing-key.pem");
    CHECK(tkms_fanout_new(&f, fbase, &o, &err) == TKMS_ERR_IO &&
              strstr(err.message, "missing-key.pem") != NULL,
          "a missing key file named: %s", err.message);
    o.cert_file = o.key_file = NULL;
    o.max_response_size = (size_t)TKMS_FANOUT_MAX_RESPONSE_LIMIT + 1;
    CHECK(tkms_fanout_new(&f, fbase, &o, &err) == TKMS_ERR_INVALID_ARGUMENT,
          "a response limit above the largest refused");
    CHECK(tkms_fanout_new(&f, NULL, &o, &err) == TKMS_ERR_INVALID_ARGUMENT, "NULL base refused");

    f = fanout_with(dir, "gateway.pem", 0, 0);
    slot s = {0};
    tkms_fanout_request_id id = 5;
    CHECK(tkms_fanout_request(f, "GET", "http://127.0.0.1:1/", NULL, NULL, 0, 0, on_done, &s,
                              &id, &err) == TKMS_ERR_INVALID_ARGUMENT &&
              id == 0,
          "plain http refused, id 0: %s", err.message);
    CHECK(tkms_fanout_request(f, "G T", url(0, "/"), NULL, NULL, 0, 0, on_done, &s, NULL, &err) ==
              TKMS_ERR_INVALID_ARGUMENT,
          "bad method refused");
    CHECK(tkms_fanout_request(f, "GET", url(0, "/"), "a\r\nb: c", NULL, 0, 0, on_done, &s, NULL,
                              &err) == TKMS_ERR_INVALID_ARGUMENT,
          "header injection refused");
    CHECK(tkms_fanout_request(f, "GET", url(0, "/"), NULL, NULL, 0, 0, NULL, &s, NULL, &err) ==
              TKMS_ERR_INVALID_ARGUMENT,
          "no callback refused");
    CHECK(tkms_fanout_request(f, "POST", url(0, "/"), NULL, NULL, 3, 0, on_done, &s, NULL,
                              &err) == TKMS_ERR_INVALID_ARGUMENT,
          "NULL body with a length refused");
    CHECK(tkms_fanout_request(f, "HEAD", url(0, "/"), NULL, "x", 1, 0, on_done, &s, NULL, &err) ==
              TKMS_ERR_INVALID_ARGUMENT,
          "HEAD with a body refused");
    CHECK(tkms_fanout_request(f, "GET", url(0, "/"), NULL, NULL, 0,
                              TKMS_FANOUT_MAX_TIMEOUT_MS + 1, on_done, &s, NULL,
                              &err) == TKMS_ERR_INVALID_ARGUMENT,
          "a timeout above a day refused");
    CHECK(s.calls == 0 && tkms_fanout_pending(f) == 0, "refused requests never call back");

    /* the body is copied: the caller's buffer may go at once */
    char *body = strdup("copied body");
    completed = 0;
    CHECK(tkms_fanout_request(f, "PUT", url(0, "/echo"), "text/plain", body, strlen(body), 0,
                              on_done, &s, NULL, &err) == TKMS_OK,
          "PUT started");
    memset(body, 'X', strlen(body));
    free(body);
    CHECK(run_until(1, 10) && s.outcome == TKMS_FANOUT_OK &&
              strcmp(s.body, "s0 PUT copied body") == 0,
          "the body was copied: %s", s.body);
    CHECK(strcmp(tkms_fanout_outcome_string(TKMS_FANOUT_TIMEOUT), "timeout") == 0 &&
              strcmp(tkms_fanout_outcome_string((tkms_fanout_outcome)99), "unknown") == 0,
          "outcome names");
    tkms_fanout_free(f);
    tkms_fanout_free(NULL);
}

int main(void)
{
    if (mkdtemp(dir) == NULL)
        test_fatal("mkdtemp failed");
    snprintf(dir2, sizeof dir2, "%s/other", dir);
    tkms_err err;
    const char *ips[] = {"127.0.0.1"};
    const char *other_ips[] = {"127.0.0.2"};
    if (tkms_certs_make_ca(dir, "fanout test CA", 2, &err) != TKMS_OK ||
        tkms_certs_make_server(dir, "srv", NULL, 0, ips, 1, 2, &err) != TKMS_OK ||
        tkms_certs_make_server(dir, "wrong", NULL, 0, other_ips, 1, 2, &err) != TKMS_OK ||
        tkms_certs_make_client(dir, "gateway", 2, &err) != TKMS_OK ||
        tkms_certs_make_ca(dir2, "other CA", 2, &err) != TKMS_OK)
        test_fatal("certificates: %s", err.message);

    for (int i = 0; i < NSERVERS; i++)
        start_server(i, "srv", TKMS_HTTP_TLS_MUTUAL);
    start_server(S_WRONGHOST, "wrong", TKMS_HTTP_TLS_MUTUAL);
    start_server(S_SERVERONLY, "srv", TKMS_HTTP_TLS_SERVER_ONLY);
    fbase = event_base_new();
    if (fbase == NULL)
        test_fatal("event base");

    test_arguments();
    tkms_fanout *f = fanout_with(dir, "gateway.pem", 0, 0);
    test_all_five(f);
    test_timeout(f);
    test_down(f);
    test_cancel(f);
    tkms_fanout_free(f);
    test_reuse();
    test_concurrency_limit();
    test_too_large();
    test_tls();
    test_free_in_flight();

    for (int i = 0; i < NALL; i++)
        stop_server(&servers[i]);
    event_base_free(fbase);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return test_report();
}
