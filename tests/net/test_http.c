/*
 * test_http.c — tkms/http_server.h and tkms/http_client.h over real TLS
 * sockets on 127.0.0.1: a CA, a server certificate (IP SAN 127.0.0.1), two
 * client certificates and a second CA with its own client, made with
 * tkms_certs_* in a scratch directory; the server's event loop on a thread
 * of its own, and an echo handler that answers "/slow" from a workpool
 * thread.
 *
 * It shows: good clients get their CN and their request echoed; many
 * requests from several threads are all answered over kept-alive
 * connections; a body above the limit gets a JSON 413 and the server goes
 * on; clients without a certificate, or with one from the other CA or
 * without clientAuth, never reach the handler; clients that leave before a
 * slow answer (and a server freed before one) crash nothing; malformed
 * requests get the right refusals; the connection limit holds; set-up
 * errors name the file or the address. The other listener modes: a
 * SERVER_ONLY server asks no client for a certificate, serves clients
 * with or without one (client name "") and passes a bearer token to the
 * handler, while clients still check its certificate; a PLAIN server
 * speaks HTTP on 127.0.0.1 with keep-alive and refusals, TLS and plain
 * clients each fail against the other kind, and PLAIN is refused on any
 * address that is not loopback. Timing only appears as generous
 * timeouts and as a client timeout that must expire.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "test.h"
#include "tkms/certs.h"
#include "tkms/http_client.h"
#include "tkms/http_server.h"
#include "tkms/workpool.h"

#define MAX_BODY 4096u

static char dir[] = "/tmp/tkms-http-test.XXXXXX"; /* CA 1, server, alice, bob */
static char dir2[64];                              /* CA 2, mallory            */
static tkms_workpool *pool;
static atomic_int handled;      /* handler calls                         */
static atomic_int slow_started; /* "/slow" and "/hold" jobs submitted    */
static atomic_int slow_done;    /* … that answered                       */
static atomic_int hold_release; /* lets the "/hold" jobs answer          */

/* d/name in one of four rotating static buffers (main thread only). */
static const char *path_in(const char *d, const char *name)
{
    static char buf[4][512];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", d, name);
    return p;
}

/* ---- the handler ------------------------------------------------------------ */

static void echo(tkms_http_request *req)
{
    size_t len;
    const char *body = tkms_http_request_body(req, &len);
    const char *query = tkms_http_request_query(req);
    const char *xtest = tkms_http_request_header(req, "x-TEST");
    const char *auth = tkms_http_request_header(req, "authorization");
    json_t *jbody = json_stringn(body, len);
    json_t *o = json_pack("{s:s, s:s, s:o, s:s, s:o, s:o, s:I, s:o}", "method",
                          tkms_http_request_method(req), "path", tkms_http_request_path(req),
                          "query", query ? json_string(query) : json_null(), "client",
                          tkms_http_request_client(req), "body",
                          jbody ? jbody : json_null(),
                          "x_test", xtest ? json_string(xtest) : json_null(), "len",
                          (json_int_t)len, "auth", auth ? json_string(auth) : json_null());
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (text == NULL) {
        tkms_http_reply_error(req, 500, "cannot encode");
        return;
    }
    tkms_http_reply(req, 200, "application/json", text, strlen(text));
    free(text);
}

static void slow_job(void *arg)
{
    usleep(50 * 1000);
    echo(arg);
    atomic_fetch_add(&slow_done, 1);
}

static void sleep_job(void *arg)
{
    usleep(1500 * 1000);
    echo(arg);
    atomic_fetch_add(&slow_done, 1);
}

static void hold_job(void *arg)
{
    for (int i = 0; i < 10000 && !atomic_load(&hold_release); i++)
        usleep(1000);
    echo(arg);
    atomic_fetch_add(&slow_done, 1);
}

static void handler(tkms_http_request *req, void *arg)
{
    (void)arg;
    atomic_fetch_add(&handled, 1);
    const char *path = tkms_http_request_path(req);
    if (strcmp(path, "/slow") == 0 || strcmp(path, "/hold") == 0 ||
        strcmp(path, "/sleep") == 0) {
        atomic_fetch_add(&slow_started, 1);
        void (*job)(void *) = strcmp(path, "/slow") == 0   ? slow_job
                              : strcmp(path, "/hold") == 0 ? hold_job
                                                           : sleep_job;
        if (tkms_workpool_submit(pool, job, req) != TKMS_OK) {
            atomic_fetch_add(&slow_done, 1);
            tkms_http_reply_error(req, 503, "busy");
        }
        return;
    }
    if (strcmp(path, "/big") == 0) {
        char *big = malloc(10000);
        memset(big, 'x', 10000);
        tkms_http_reply(req, 200, "text/plain", big, 10000);
        free(big);
        return;
    }
    if (strcmp(path, "/error") == 0) {
        tkms_http_reply_error(req, 418, "bad \"thing\"\\\n\x01 \xc3\xa9 \xff end");
        return;
    }
    if (strcmp(path, "/nocontent") == 0) {
        tkms_http_reply(req, 204, NULL, "ignored", 7);
        return;
    }
    echo(req);
}

/* ---- the loop thread ---------------------------------------------------------- */

static struct event_base *base;
static int stop_pipe[2];

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    event_base_loopbreak(base);
}

static void *loop_main(void *arg)
{
    (void)arg;
    event_base_dispatch(base);
    return NULL;
}

/* ---- client helpers ---------------------------------------------------------- */

static uint16_t port, port_small, port_quick, port_so, port_plain;

/* (called from several threads: no static buffers here) */
static tkms_http_client *client_for(const char *ca_dir, const char *name, unsigned timeout_ms)
{
    char ca[512], cert[512], key[512];
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    tkms_http_client_options o = {
        .ca_file = ca,
        .timeout_ms = timeout_ms ? timeout_ms : 20000,
    };
    if (name != NULL) {
        snprintf(cert, sizeof cert, "%s/%s.pem", ca_dir, name);
        snprintf(key, sizeof key, "%s/%s-key.pem", ca_dir, name);
        o.cert_file = cert;
        o.key_file = key;
    }
    tkms_http_client *c = NULL;
    tkms_err err;
    if (tkms_http_client_new(&c, &o, &err) != TKMS_OK)
        test_fatal("client %s: %s", name ? name : "(none)", err.message);
    return c;
}

static tkms_status request(tkms_http_client *c, uint16_t p, const char *method,
                           const char *target, const char *body, size_t len,
                           tkms_http_response *r, tkms_err *err)
{
    char url[600];
    snprintf(url, sizeof url, "https://127.0.0.1:%u%s", (unsigned)p, target);
    return tkms_http_client_request(c, method, url, body ? "text/plain" : NULL, body, len, r,
                                    err);
}

/* Parses r's JSON body (NULL if it is not JSON). */
static json_t *json_of(const tkms_http_response *r)
{
    return r->body ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
}

static const char *jstr(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static bool wait_until(atomic_int *v, int want)
{
    for (int i = 0; i < 10000 && atomic_load(v) < want; i++)
        usleep(1000);
    return atomic_load(v) >= want;
}

static bool wait_connections(tkms_http_server *s, size_t want)
{
    for (int i = 0; i < 10000 && tkms_http_server_connections(s) != want; i++)
        usleep(1000);
    return tkms_http_server_connections(s) == want;
}

/* ---- a raw TLS client, for what libcurl will not send --------------------- */

static SSL_CTX *raw_ctx(const char *name)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_load_verify_locations(ctx, path_in(dir, "ca.pem"), NULL) != 1)
        test_fatal("raw TLS context");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (name != NULL) {
        char cert[512], key[512];
        snprintf(cert, sizeof cert, "%s/%s.pem", dir, name);
        snprintf(key, sizeof key, "%s/%s-key.pem", dir, name);
        if (SSL_CTX_use_certificate_file(ctx, cert, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
            test_fatal("raw TLS client certificate");
    }
    return ctx;
}

static SSL *raw_connect(SSL_CTX *ctx, uint16_t p)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(p)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        test_fatal("raw connect");
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1) {
        ERR_clear_error();
        SSL_free(ssl);
        close(fd);
        return NULL;
    }
    return ssl;
}

static void raw_close(SSL *ssl)
{
    if (ssl == NULL)
        return;
    int fd = SSL_get_fd(ssl);
    SSL_free(ssl);
    close(fd);
    ERR_clear_error();
}

static bool raw_send(SSL *ssl, const char *data, size_t len)
{
    return ssl != NULL && SSL_write(ssl, data, (int)len) == (int)len;
}

/* Reads into buf (NUL-terminated) until `until` occurs `times` times, or
 * EOF, error or timeout. Returns the length read. */
static size_t raw_read(SSL *ssl, char *buf, size_t cap, const char *until, int times)
{
    size_t len = 0;
    buf[0] = '\0';
    while (ssl != NULL && len + 1 < cap) {
        if (until != NULL) {
            int seen = 0;
            for (const char *p = strstr(buf, until); p; p = strstr(p + 1, until))
                seen++;
            if (seen >= times)
                break;
        }
        int n = SSL_read(ssl, buf + len, (int)(cap - 1 - len));
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
    }
    ERR_clear_error();
    return len;
}

/* One request on a fresh raw connection with alice's certificate; the
 * response (until the server closes, or `until` is seen) in buf. */
static size_t raw_exchange(SSL_CTX *ctx, const char *req, size_t req_len, char *buf, size_t cap,
                           const char *until)
{
    SSL *ssl = raw_connect(ctx, port);
    size_t n = 0;
    if (raw_send(ssl, req, req_len))
        n = raw_read(ssl, buf, cap, until, 1);
    raw_close(ssl);
    return n;
}

/* ---- concurrent clients ------------------------------------------------------- */

#define THREADS 4
#define PER_THREAD 25

typedef struct {
    int id;
    tkms_http_client *client;
    int ok;
} worker_arg;

static void *client_thread(void *arg)
{
    worker_arg *w = arg;
    const char *name = w->id % 2 ? "bob" : "alice";
    w->client = client_for(dir, name, 0);
    for (int i = 0; i < PER_THREAD; i++) {
        char target[64], body[64];
        bool slow = i % 5 == 0;
        snprintf(target, sizeof target, slow ? "/slow" : "/t%d/r%d", w->id, i);
        int blen = snprintf(body, sizeof body, "thread %d request %d", w->id, i);
        tkms_http_response r;
        tkms_err err;
        if (request(w->client, port, "POST", target, body, (size_t)blen, &r, &err) != TKMS_OK)
            continue;
        json_t *o = json_of(&r);
        if (r.status == 200 && o && strcmp(jstr(o, "path"), target) == 0 &&
            strcmp(jstr(o, "client"), name) == 0 && jstr(o, "body") &&
            strcmp(jstr(o, "body"), body) == 0)
            w->ok++;
        json_decref(o);
        tkms_http_response_free(&r);
    }
    return NULL;
}

/* ---- the test ----------------------------------------------------------------- */

static void make_certs(void)
{
    if (mkdtemp(dir) == NULL)
        test_fatal("mkdtemp failed");
    snprintf(dir2, sizeof dir2, "%s/other", dir);
    tkms_err err;
    const char *ips[] = {"127.0.0.1"};
    if (tkms_certs_make_ca(dir, "test CA", 2, &err) != TKMS_OK ||
        tkms_certs_make_server(dir, "srv", NULL, 0, ips, 1, 2, &err) != TKMS_OK ||
        tkms_certs_make_client(dir, "alice", 2, &err) != TKMS_OK ||
        tkms_certs_make_client(dir, "bob", 2, &err) != TKMS_OK ||
        tkms_certs_make_ca(dir2, "other CA", 2, &err) != TKMS_OK ||
        tkms_certs_make_client(dir2, "mallory", 2, &err) != TKMS_OK)
        test_fatal("certificates: %s", err.message);
    FILE *f = fopen(path_in(dir, "garbage.pem"), "w");
    fputs("this is not PEM\n", f);
    fclose(f);
}

static tkms_http_server_options options(void)
{
    tkms_http_server_options o = {
        .address = "127.0.0.1",
        .cert_file = path_in(dir, "srv.pem"),
        .key_file = path_in(dir, "srv-key.pem"),
        .ca_file = path_in(dir, "ca.pem"),
        .max_body_size = MAX_BODY,
        .timeout_seconds = 20,
    };
    return o;
}

static void setup_errors(tkms_http_server *s)
{
    tkms_err err;
    tkms_http_server *bad = (tkms_http_server *)1;
    tkms_http_server_options o = options();
    char missing[512];
    snprintf(missing, sizeof missing, "%s/nope-key.pem", dir);
    o.key_file = missing;
    tkms_status st = tkms_http_server_new(&bad, base, &o, handler, NULL, &err);
    CHECK(st == TKMS_ERR_IO && bad == NULL && strstr(err.message, missing) != NULL &&
              strstr(err.message, "key file") != NULL,
          "missing key file named: %s", err.message);

    o = options();
    o.cert_file = path_in(dir, "nope.pem");
    st = tkms_http_server_new(&bad, base, &o, handler, NULL, &err);
    CHECK(st == TKMS_ERR_IO && strstr(err.message, "nope.pem") != NULL,
          "missing certificate file named: %s", err.message);

    o = options();
    o.ca_file = path_in(dir, "garbage.pem");
    st = tkms_http_server_new(&bad, base, &o, handler, NULL, &err);
    CHECK(st == TKMS_ERR_BAD_FORMAT && strstr(err.message, "garbage.pem") != NULL,
          "CA file without PEM refused: %s", err.message);

    o = options();
    o.key_file = path_in(dir, "garbage.pem");
    st = tkms_http_server_new(&bad, base, &o, handler, NULL, &err);
    CHECK(st == TKMS_ERR_BAD_FORMAT && strstr(err.message, "garbage.pem") != NULL,
          "key file without PEM refused: %s", err.message);

    o = options();
    o.key_file = path_in(dir, "alice-key.pem");
    st = tkms_http_server_new(&bad, base, &o, handler, NULL, &err);
    CHECK(st == TKMS_ERR_BAD_FORMAT && strstr(err.message, "does not match") != NULL,
          "key of another certificate refused: %s", err.message);

    o = options();
    o.address = "localhost";
    st = tkms_http_server_new(&bad, base, &o, handler, NULL, &err);
    CHECK(st == TKMS_ERR_INVALID_ARGUMENT, "a host name is not an address: %s", err.message);

    o = options();
    o.max_header_size = 10;
    st = tkms_http_server_new(&bad, base, &o, handler, NULL, &err);
    CHECK(st == TKMS_ERR_INVALID_ARGUMENT, "tiny header limit refused: %s", err.message);
    CHECK(tkms_http_server_new(&bad, base, NULL, handler, NULL, &err) ==
              TKMS_ERR_INVALID_ARGUMENT,
          "NULL options refused");

    o = options();
    o.port = tkms_http_server_port(s);
    st = tkms_http_server_new(&bad, base, &o, handler, NULL, &err);
    char where[64];
    snprintf(where, sizeof where, "127.0.0.1:%u", (unsigned)o.port);
    CHECK(st == TKMS_ERR_IO && bad == NULL && strstr(err.message, where) != NULL &&
              strstr(err.message, "in use") != NULL,
          "address in use named: %s", err.message);
}

static void test_basics(void)
{
    tkms_http_client *c = client_for(dir, "alice", 0);
    tkms_http_response r;
    tkms_err err;
    tkms_status st = request(c, port, "GET", "/hello/%41b%2Fc?x=1&y=%20", NULL, 0, &r, &err);
    json_t *o = json_of(&r);
    CHECK(st == TKMS_OK && r.status == 200, "GET answered: %s (%ld)", err.message, r.status);
    CHECK(o && strcmp(jstr(o, "method"), "GET") == 0, "method GET");
    CHECK(o && strcmp(jstr(o, "path"), "/hello/Ab/c") == 0, "path decoded: %s",
          o ? jstr(o, "path") : "-");
    CHECK(o && jstr(o, "query") && strcmp(jstr(o, "query"), "x=1&y=%20") == 0,
          "query raw: %s", o && jstr(o, "query") ? jstr(o, "query") : "-");
    CHECK(o && strcmp(jstr(o, "client"), "alice") == 0, "client is alice's CN");
    CHECK(o && strcmp(jstr(o, "body"), "") == 0 &&
              json_integer_value(json_object_get(o, "len")) == 0,
          "no body is \"\"");
    json_decref(o);
    tkms_http_response_free(&r);

    st = request(c, port, "POST", "/echo", "hello body", 10, &r, &err);
    o = json_of(&r);
    CHECK(st == TKMS_OK && r.status == 200 && o && strcmp(jstr(o, "body"), "hello body") == 0 &&
              strcmp(jstr(o, "method"), "POST") == 0 && json_is_null(json_object_get(o, "query")),
          "POST body echoed, no query: %s", r.body ? r.body : err.message);
    json_decref(o);
    tkms_http_response_free(&r);

    const char *methods[][2] = {{"PUT", "PUT"}, {"DELETE", "DELETE"}, {"OPTIONS", "OTHER"},
                                {"PATCH", "OTHER"}};
    for (size_t i = 0; i < 4; i++) {
        st = request(c, port, methods[i][0], "/m", "b", 1, &r, &err);
        o = json_of(&r);
        CHECK(st == TKMS_OK && o && strcmp(jstr(o, "method"), methods[i][1]) == 0,
              "%s is %s", methods[i][0], methods[i][1]);
        json_decref(o);
        tkms_http_response_free(&r);
    }
    st = request(c, port, "HEAD", "/h", NULL, 0, &r, &err);
    CHECK(st == TKMS_OK && r.status == 200 && r.body_len == 0, "HEAD: 200, no body: %s",
          err.message);
    tkms_http_response_free(&r);

    st = request(c, port, "GET", "/nocontent", NULL, 0, &r, &err);
    CHECK(st == TKMS_OK && r.status == 204 && r.body_len == 0, "204 without a body: %s",
          err.message);
    tkms_http_response_free(&r);

    st = request(c, port, "GET", "/error", NULL, 0, &r, &err);
    o = json_of(&r);
    CHECK(st == TKMS_OK && r.status == 418 && o != NULL, "reply_error is JSON: %s",
          r.body ? r.body : err.message);
    CHECK(o && jstr(o, "error") &&
              strcmp(jstr(o, "error"), "bad \"thing\"\\\n\x01 \xc3\xa9 \xef\xbf\xbd end") == 0,
          "reason escaped, bad UTF-8 replaced: %s", r.body ? r.body : "");
    json_decref(o);
    tkms_http_response_free(&r);

    char url[128];
    snprintf(url, sizeof url, "https://127.0.0.1:%u/hdr", (unsigned)port);
    tkms_http_client_free(c);

    /* response limit on the client side */
    tkms_http_client_options co = {.ca_file = path_in(dir, "ca.pem"),
                                   .cert_file = path_in(dir, "alice.pem"),
                                   .key_file = path_in(dir, "alice-key.pem"),
                                   .max_response_size = 1000};
    tkms_http_client *small = NULL;
    CHECK(tkms_http_client_new(&small, &co, &err) == TKMS_OK, "small client: %s", err.message);
    st = request(small, port, "GET", "/big", NULL, 0, &r, &err);
    CHECK(st == TKMS_ERR_BAD_FORMAT && r.body == NULL && strstr(err.message, "larger") != NULL,
          "response over the limit refused: %s", err.message);
    st = request(small, port, "GET", "/x", NULL, 0, &r, &err);
    CHECK(st == TKMS_OK && r.status == 200, "small client goes on: %s", err.message);
    tkms_http_response_free(&r);
    tkms_http_client_free(small);

    /* client argument checks */
    co.key_file = NULL;
    CHECK(tkms_http_client_new(&small, &co, &err) == TKMS_ERR_INVALID_ARGUMENT,
          "cert without key refused");
    co.key_file = path_in(dir, "missing-key.pem");
    CHECK(tkms_http_client_new(&small, &co, &err) == TKMS_ERR_IO &&
              strstr(err.message, "missing-key.pem") != NULL,
          "missing client key named: %s", err.message);
    c = client_for(dir, "alice", 0);
    CHECK(tkms_http_client_request(c, "GET", "http://127.0.0.1/", NULL, NULL, 0, &r, &err) ==
              TKMS_ERR_INVALID_ARGUMENT,
          "plain http refused");
    CHECK(tkms_http_client_request(c, "G T", url, NULL, NULL, 0, &r, &err) ==
              TKMS_ERR_INVALID_ARGUMENT,
          "bad method refused");
    CHECK(tkms_http_client_request(c, "GET", url, "a\r\nb: c", NULL, 0, &r, &err) ==
              TKMS_ERR_INVALID_ARGUMENT,
          "header injection refused");
    tkms_http_client_free(c);
}

static void test_concurrent(tkms_http_server *s)
{
    CHECK(wait_connections(s, 0), "earlier connections closed");
    size_t accepted = tkms_http_server_accepted(s);
    int before = atomic_load(&slow_done);
    pthread_t t[THREADS];
    worker_arg w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker_arg){.id = i};
        pthread_create(&t[i], NULL, client_thread, &w[i]);
    }
    int ok = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        ok += w[i].ok;
    }
    CHECK(ok == THREADS * PER_THREAD, "all %d concurrent requests answered right (%d)",
          THREADS * PER_THREAD, ok);
    CHECK(atomic_load(&slow_done) - before == THREADS * PER_THREAD / 5,
          "the slow ones were answered from worker threads");
    size_t used = tkms_http_server_accepted(s) - accepted;
    CHECK(used == THREADS, "keep-alive: %d requests over %zu connections", THREADS * PER_THREAD,
          used);
    CHECK(tkms_http_server_connections(s) == THREADS, "%d connections open",
          THREADS);
    for (int i = 0; i < THREADS; i++)
        tkms_http_client_free(w[i].client);
    CHECK(wait_connections(s, 0), "closed connections counted down");
}

static void test_limits(void)
{
    tkms_http_client *c = client_for(dir, "alice", 0);
    tkms_http_response r;
    tkms_err err;
    char *body = malloc(100000);
    memset(body, 'b', 100000);
    int before = atomic_load(&handled);

    tkms_status st = request(c, port, "POST", "/echo", body, MAX_BODY, &r, &err);
    json_t *o = json_of(&r);
    CHECK(st == TKMS_OK && r.status == 200 && o &&
              json_integer_value(json_object_get(o, "len")) == MAX_BODY,
          "a body of exactly max_body_size is served: %s", err.message);
    json_decref(o);
    tkms_http_response_free(&r);

    size_t sizes[] = {MAX_BODY + 1, 100000};
    for (size_t i = 0; i < 2; i++) {
        int h = atomic_load(&handled);
        st = request(c, port, "POST", "/echo", body, sizes[i], &r, &err);
        o = json_of(&r);
        CHECK(st == TKMS_OK && r.status == 413 && o && jstr(o, "error") &&
                  strstr(jstr(o, "error"), "larger than 4096") != NULL,
              "a body of %zu bytes: JSON 413: %s", sizes[i], r.body ? r.body : err.message);
        CHECK(atomic_load(&handled) == h, "… and the handler was not called");
        json_decref(o);
        tkms_http_response_free(&r);
        st = request(c, port, "GET", "/after413", NULL, 0, &r, &err);
        CHECK(st == TKMS_OK && r.status == 200, "served after the 413: %s", err.message);
        tkms_http_response_free(&r);
    }
    CHECK(atomic_load(&handled) == before + 3, "handler saw only the good requests");
    free(body);
    tkms_http_client_free(c);
}

static void test_refused_clients(void)
{
    tkms_http_response r;
    tkms_err err;
    int before = atomic_load(&handled);

    tkms_http_client *none = client_for(dir, NULL, 0);
    tkms_status st = request(none, port, "GET", "/x", NULL, 0, &r, &err);
    CHECK(st == TKMS_ERR_IO && r.body == NULL, "no client certificate: I/O error: %s",
          err.message);
    tkms_http_client_free(none);

    tkms_http_client *other = client_for(dir2, "mallory", 0);
    st = request(other, port, "GET", "/x", NULL, 0, &r, &err);
    CHECK(st == TKMS_ERR_IO, "client of another CA refused: %s", err.message);
    tkms_http_client_free(other);

    /* the server's own certificate has no clientAuth */
    tkms_http_client *srv = client_for(dir, "srv", 0);
    st = request(srv, port, "GET", "/x", NULL, 0, &r, &err);
    CHECK(st == TKMS_ERR_IO, "certificate without clientAuth refused: %s", err.message);
    tkms_http_client_free(srv);

    /* raw: handshake without a certificate, then try to talk anyway */
    SSL_CTX *ctx = raw_ctx(NULL);
    SSL *ssl = raw_connect(ctx, port);
    char buf[256];
    if (ssl != NULL) {
        static const char get[] = "GET /x HTTP/1.1\r\n\r\n";
        raw_send(ssl, get, sizeof get - 1);
        size_t n = raw_read(ssl, buf, sizeof buf, NULL, 1);
        CHECK(n == 0, "raw client without a certificate gets nothing");
    }
    raw_close(ssl);
    SSL_CTX_free(ctx);

    CHECK(atomic_load(&handled) == before, "none of them reached the handler");

    /* the client checks the server too */
    tkms_http_client *alice = client_for(dir, "alice", 0);
    char url[128];
    snprintf(url, sizeof url, "https://localhost:%u/x", (unsigned)port);
    st = tkms_http_client_request(alice, "GET", url, NULL, NULL, 0, &r, &err);
    CHECK(st == TKMS_ERR_IO, "server certificate without that host name refused: %s",
          err.message);
    st = request(alice, port, "GET", "/ok", NULL, 0, &r, &err);
    CHECK(st == TKMS_OK && r.status == 200, "the server still serves: %s", err.message);
    tkms_http_response_free(&r);
    tkms_http_client_free(alice);

    tkms_http_client_options wrong_ca = {.ca_file = path_in(dir2, "ca.pem"),
                                         .cert_file = path_in(dir, "alice.pem"),
                                         .key_file = path_in(dir, "alice-key.pem")};
    tkms_http_client *c = NULL;
    tkms_http_client_new(&c, &wrong_ca, &err);
    st = c ? request(c, port, "GET", "/x", NULL, 0, &r, &err) : TKMS_ERR_NO_MEMORY;
    CHECK(st == TKMS_ERR_IO, "server certificate from an untrusted CA refused: %s", err.message);
    tkms_http_client_free(c);
}

static void test_gone_clients(tkms_http_server *s)
{
    tkms_http_response r;
    tkms_err err;
    int started = atomic_load(&slow_started);

    /* libcurl gives up before the answer */
    tkms_http_client *impatient = client_for(dir, "bob", 20);
    tkms_status st = request(impatient, port, "GET", "/slow", NULL, 0, &r, &err);
    CHECK(st == TKMS_ERR_IO, "client timeout is an I/O error: %s", err.message);
    tkms_http_client_free(impatient);

    /* raw clients send a request and vanish at once */
    SSL_CTX *ctx = raw_ctx("alice");
    static const char slow[] = "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n";
    int sent = 0;
    for (int i = 0; i < 5; i++) {
        SSL *ssl = raw_connect(ctx, port);
        sent += raw_send(ssl, slow, sizeof slow - 1);
        raw_close(ssl);
    }
    CHECK(sent == 5, "5 abandoned requests sent");
    /* every request that reached the handler gets its (dropped) answer */
    CHECK(wait_until(&slow_started, started + 5), "abandoned requests reached the handler");
    CHECK(wait_until(&slow_done, atomic_load(&slow_started)), "their jobs all answered");

    tkms_http_client *c = client_for(dir, "alice", 0);
    st = request(c, port, "GET", "/alive", NULL, 0, &r, &err);
    CHECK(st == TKMS_OK && r.status == 200, "still serving after abandoned requests: %s",
          err.message);
    tkms_http_response_free(&r);
    tkms_http_client_free(c);
    CHECK(wait_connections(s, 0), "abandoned connections closed");
    SSL_CTX_free(ctx);
}

static void test_raw(void)
{
    SSL_CTX *ctx = raw_ctx("alice");
    static char buf[70000];
    struct {
        const char *req, *want, *why;
    } cases[] = {
        {"BLAH\r\n\r\n", "HTTP/1.1 400 ", "malformed request line"},
        {"GET / HTTP/2.0\r\n\r\n", "HTTP/1.1 505 ", "HTTP/2.0 refused"},
        {"GET /a%00b HTTP/1.1\r\n\r\n", "HTTP/1.1 400 ", "%00 in the path"},
        {"GET /a%zz HTTP/1.1\r\n\r\n", "HTTP/1.1 400 ", "bad escape"},
        {"GET http://x/ HTTP/1.1\r\n\r\n", "HTTP/1.1 400 ", "absolute-form target"},
        {"GET / HTTP/1.1\r\n folded\r\n\r\n", "HTTP/1.1 400 ", "line folding"},
        {"GET / HTTP/1.1\r\nNo colon\r\n\r\n", "HTTP/1.1 400 ", "header without colon"},
        {"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", "HTTP/1.1 400 ",
         "two Content-Lengths"},
        {"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "HTTP/1.1 400 ", "negative length"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "HTTP/1.1 411 ",
         "chunked refused"},
        {"POST / HTTP/1.1\r\nExpect: magic\r\n\r\n", "HTTP/1.1 417 ", "unknown Expect"},
        {"POST / HTTP/1.1\r\nContent-Length: 99999999\r\nExpect: 100-continue\r\n\r\n",
         "HTTP/1.1 413 ", "413 before the body"},
        {"GET / HTTP/1.0\r\n\r\n", "HTTP/1.1 200 ", "HTTP/1.0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t n = raw_exchange(ctx, cases[i].req, strlen(cases[i].req), buf, sizeof buf, NULL);
        bool refusal = strstr(cases[i].want, "200") == NULL;
        CHECK(n > 0 && strncmp(buf, cases[i].want, strlen(cases[i].want)) == 0 &&
                  strstr(buf, "Connection: close\r\n") != NULL &&
                  (!refusal || strstr(buf, "\r\n\r\n{\"error\":\"") != NULL),
              "%s: %.40s", cases[i].why, buf);
    }

    /* headers beyond 16 KiB */
    size_t big = 20000;
    char *req = malloc(big + 64);
    int h = sprintf(req, "GET / HTTP/1.1\r\nX-Big: ");
    memset(req + h, 'a', big);
    strcpy(req + h + big, "\r\n\r\n");
    size_t n = raw_exchange(ctx, req, strlen(req), buf, sizeof buf, NULL);
    CHECK(n > 0 && strncmp(buf, "HTTP/1.1 431 ", 13) == 0, "huge headers: 431: %.40s", buf);
    free(req);

    /* too many header lines */
    req = malloc(8192);
    h = sprintf(req, "GET / HTTP/1.1\r\n");
    for (unsigned i = 0; i <= TKMS_HTTP_MAX_HEADERS; i++)
        h += sprintf(req + h, "X-%u: v\r\n", i);
    strcpy(req + h, "\r\n");
    n = raw_exchange(ctx, req, strlen(req), buf, sizeof buf, NULL);
    CHECK(n > 0 && strncmp(buf, "HTTP/1.1 431 ", 13) == 0, "too many headers: 431: %.40s", buf);
    free(req);

    /* pipelining on one connection: answers in order, connection kept */
    SSL *ssl = raw_connect(ctx, port);
    static const char two[] = "\r\nGET /p1 HTTP/1.1\r\nX-Test:  one \r\n\r\n"
                              "POST /p2 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
    raw_send(ssl, two, sizeof two - 1);
    n = raw_read(ssl, buf, sizeof buf, "HTTP/1.1 200 ", 2);
    /* wait for the second body too */
    if (strstr(buf, "\"abc\"") == NULL)
        n += raw_read(ssl, buf + n, sizeof buf - n, "\"abc\"", 1);
    const char *p1 = strstr(buf, "\"/p1\""), *p2 = strstr(buf, "\"/p2\"");
    CHECK(p1 && p2 && p1 < p2 && strstr(buf, "\"x_test\":\"one\"") != NULL &&
              strstr(buf, "Connection: keep-alive") != NULL,
          "pipelined requests answered in order: %.300s", buf);

    /* Expect: 100-continue on the same connection */
    static const char expect[] = "POST /e HTTP/1.1\r\nContent-Length: 5\r\n"
                                 "Expect: 100-continue\r\n\r\n";
    raw_send(ssl, expect, sizeof expect - 1);
    n = raw_read(ssl, buf, sizeof buf, "\r\n\r\n", 1);
    CHECK(strcmp(buf, "HTTP/1.1 100 Continue\r\n\r\n") == 0, "100 Continue: %s", buf);
    raw_send(ssl, "hello", 5);
    n = raw_read(ssl, buf, sizeof buf, "}", 1);
    CHECK(strncmp(buf, "HTTP/1.1 200 ", 13) == 0 && strstr(buf, "\"body\":\"hello\"") != NULL,
          "body after 100 Continue: %.200s", buf);

    /* a request dripped in one byte per TLS record, head and body */
    static const char drip[] =
        "POST /drip HTTP/1.1\r\nX-Test: drip\r\nContent-Length: 4\r\n\r\nabcd";
    bool sent = true;
    for (size_t i = 0; i + 1 < sizeof drip; i++) {
        sent &= raw_send(ssl, drip + i, 1);
        if (i % 8 == 0)
            usleep(1000);
    }
    n = raw_read(ssl, buf, sizeof buf, "}", 1);
    CHECK(sent && strncmp(buf, "HTTP/1.1 200 ", 13) == 0 &&
              strstr(buf, "\"path\":\"/drip\"") != NULL &&
              strstr(buf, "\"body\":\"abcd\"") != NULL &&
              strstr(buf, "\"x_test\":\"drip\"") != NULL,
          "request sent a byte at a time: %.200s", buf);

    /* Connection: close is honoured */
    static const char closing[] = "GET /c HTTP/1.1\r\nConnection: close\r\n\r\n";
    raw_send(ssl, closing, sizeof closing - 1);
    n = raw_read(ssl, buf, sizeof buf, NULL, 1);
    CHECK(strncmp(buf, "HTTP/1.1 200 ", 13) == 0 && strstr(buf, "Connection: close\r\n"),
          "Connection: close answered and closed: %.100s", buf);
    raw_close(ssl);
    SSL_CTX_free(ctx);
    (void)n;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The server with a 1 s timeout closes silent connections (in the TLS
 * handshake, in a request head, idle after an answer) well before the
 * test's 10 s socket timeout, and yet waits longer for a slow handler. */
static void test_timeouts(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port_quick)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    double t0 = now();
    char b[16];
    bool closed =
        connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && recv(fd, b, sizeof b, 0) <= 0;
    CHECK(closed && now() - t0 < 9, "silent TCP client closed after the timeout (%.1f s)",
          now() - t0);
    close(fd);

    SSL_CTX *ctx = raw_ctx("alice");
    static char buf[4096];
    SSL *ssl = raw_connect(ctx, port_quick);
    static const char part[] = "GET / HTTP/1.1\r\n";
    t0 = now();
    size_t n = raw_send(ssl, part, sizeof part - 1) ? raw_read(ssl, buf, sizeof buf, NULL, 1) : 1;
    CHECK(n == 0 && now() - t0 < 9, "stalled request head closed after the timeout (%.1f s)",
          now() - t0);
    raw_close(ssl);

    ssl = raw_connect(ctx, port_quick);
    static const char get[] = "GET /sleep HTTP/1.1\r\n\r\n";
    raw_send(ssl, get, sizeof get - 1);
    n = raw_read(ssl, buf, sizeof buf, "}", 1);
    CHECK(strncmp(buf, "HTTP/1.1 200 ", 13) == 0 && strstr(buf, "\"/sleep\"") != NULL,
          "a handler slower than the timeout is still answered: %.60s", buf);
    t0 = now();
    n = raw_read(ssl, buf, sizeof buf, NULL, 1);
    CHECK(n == 0 && now() - t0 < 9, "idle keep-alive connection closed after the timeout (%.1f s)",
          now() - t0);
    raw_close(ssl);
    SSL_CTX_free(ctx);
}

static void test_connection_limit(tkms_http_server *small)
{
    SSL_CTX *ctx = raw_ctx("alice");
    SSL *hog = raw_connect(ctx, port_small);
    CHECK(hog != NULL, "first connection to the limited server");
    CHECK(wait_connections(small, 1), "it holds the only slot");
    tkms_http_client *c = client_for(dir, "bob", 300);
    tkms_http_response r;
    tkms_err err;
    tkms_status st = request(c, port_small, "GET", "/x", NULL, 0, &r, &err);
    CHECK(st == TKMS_ERR_IO, "a second connection waits (and times out): %s", err.message);
    tkms_http_client_free(c);
    raw_close(hog);
    c = client_for(dir, "bob", 0);
    st = request(c, port_small, "GET", "/x", NULL, 0, &r, &err);
    CHECK(st == TKMS_OK && r.status == 200, "served once the slot is free: %s", err.message);
    tkms_http_response_free(&r);
    tkms_http_client_free(c);
    SSL_CTX_free(ctx);
}

/* ---- listener modes: SERVER_ONLY and PLAIN ----------------------------- */

/* Set-up checks of the modes (before the loop runs: creating a server
 * touches the event_base). */
static void setup_mode_errors(void)
{
    tkms_err err;
    tkms_http_server *bad = (tkms_http_server *)1;
    tkms_http_server_options o = {.address = "127.0.0.1", .tls = TKMS_HTTP_TLS_PLAIN};
    const char *not_loopback[] = {"0.0.0.0", "::", "10.1.2.3", "192.168.0.1",
                                  "::ffff:127.0.0.1", "2001:db8::1", "128.0.0.1"};
    for (size_t i = 0; i < sizeof not_loopback / sizeof *not_loopback; i++) {
        o.address = not_loopback[i];
        tkms_status st = tkms_http_server_new(&bad, base, &o, handler, NULL, &err);
        CHECK(st == TKMS_ERR_INVALID_ARGUMENT && bad == NULL &&
                  strstr(err.message, "loopback") != NULL &&
                  strstr(err.message, not_loopback[i]) != NULL,
              "plain HTTP on %s refused: %s", not_loopback[i], err.message);
    }
    o.address = "localhost";
    CHECK(tkms_http_server_new(&bad, base, &o, handler, NULL, &err) ==
              TKMS_ERR_INVALID_ARGUMENT,
          "plain HTTP on a host name refused: %s", err.message);

    /* anywhere in 127.0.0.0/8, without any certificate file */
    o.address = "127.0.0.2";
    tkms_http_server *ok = NULL;
    tkms_status st = tkms_http_server_new(&ok, base, &o, handler, NULL, &err);
    CHECK(st == TKMS_OK && ok != NULL, "plain HTTP on 127.0.0.2 without files: %s", err.message);
    tkms_http_server_free(ok);
    ok = NULL;
    o.address = "::1"; /* loopback; the machine may lack IPv6, not the check */
    st = tkms_http_server_new(&ok, base, &o, handler, NULL, &err);
    CHECK(st == TKMS_OK || (st == TKMS_ERR_IO && strstr(err.message, "[::1]") != NULL),
          "plain HTTP on ::1 is not refused as non-loopback: %s", err.message);
    tkms_http_server_free(ok);

    o = options();
    o.tls = (tkms_http_tls_mode)7;
    CHECK(tkms_http_server_new(&bad, base, &o, handler, NULL, &err) ==
                  TKMS_ERR_INVALID_ARGUMENT &&
              strstr(err.message, "mode") != NULL,
          "unknown TLS mode refused: %s", err.message);
    o = options();
    o.ca_file = NULL;
    CHECK(tkms_http_server_new(&bad, base, &o, handler, NULL, &err) ==
              TKMS_ERR_INVALID_ARGUMENT,
          "mutual TLS without ca_file refused: %s", err.message);
    o = options();
    o.tls = TKMS_HTTP_TLS_SERVER_ONLY;
    o.cert_file = NULL;
    CHECK(tkms_http_server_new(&bad, base, &o, handler, NULL, &err) ==
              TKMS_ERR_INVALID_ARGUMENT,
          "server-only TLS without a certificate refused: %s", err.message);
    o = options();
    o.tls = TKMS_HTTP_TLS_SERVER_ONLY;
    o.key_file = path_in(dir, "garbage.pem");
    st = tkms_http_server_new(&bad, base, &o, handler, NULL, &err);
    CHECK(st == TKMS_ERR_BAD_FORMAT && strstr(err.message, "garbage.pem") != NULL,
          "server-only TLS checks its key file: %s", err.message);
}

static int cert_requests;

/* OpenSSL calls this only when the server sends a CertificateRequest. */
static int count_cert_request(SSL *ssl, X509 **x509, EVP_PKEY **pkey)
{
    (void)ssl;
    (void)x509;
    (void)pkey;
    cert_requests++;
    return 0; /* no certificate */
}

static void test_server_only(tkms_http_server *so)
{
    tkms_http_response r;
    tkms_err err;
    int before = atomic_load(&handled);

    /* a client without a certificate is served; the client name is "" */
    tkms_http_client *none = client_for(dir, NULL, 0);
    tkms_status st = request(none, port_so, "POST", "/so", "token-less", 10, &r, &err);
    json_t *o = json_of(&r);
    CHECK(st == TKMS_OK && r.status == 200 && o && jstr(o, "client") &&
              strcmp(jstr(o, "client"), "") == 0 && strcmp(jstr(o, "body"), "token-less") == 0,
          "server-only TLS: a client without a certificate is served, client \"\": %s",
          r.body ? r.body : err.message);
    json_decref(o);
    tkms_http_response_free(&r);
    tkms_http_client_free(none);

    /* one with a certificate is not asked for it */
    tkms_http_client *alice = client_for(dir, "alice", 0);
    st = request(alice, port_so, "GET", "/so2", NULL, 0, &r, &err);
    o = json_of(&r);
    CHECK(st == TKMS_OK && r.status == 200 && o && strcmp(jstr(o, "client"), "") == 0,
          "server-only TLS: a client certificate is not used: %s", r.body ? r.body : err.message);
    json_decref(o);
    tkms_http_response_free(&r);
    tkms_http_client_free(alice);

    /* no CertificateRequest at all (the mutual server sends one) */
    SSL_CTX *ctx = raw_ctx(NULL);
    SSL_CTX_set_client_cert_cb(ctx, count_cert_request);
    cert_requests = 0;
    SSL *ssl = raw_connect(ctx, port_so);
    static char buf[4096];
    static const char bearer[] = "GET /token HTTP/1.1\r\nAuthorization: Bearer s3cret\r\n\r\n";
    size_t n = raw_send(ssl, bearer, sizeof bearer - 1) ? raw_read(ssl, buf, sizeof buf, "}", 1)
                                                        : 0;
    CHECK(ssl != NULL && cert_requests == 0, "server-only TLS sends no certificate request");
    CHECK(n > 0 && strncmp(buf, "HTTP/1.1 200 ", 13) == 0 &&
              strstr(buf, "\"auth\":\"Bearer s3cret\"") != NULL &&
              strstr(buf, "\"client\":\"\"") != NULL,
          "the handler gets the bearer token to check: %.300s", buf);
    raw_close(ssl);
    ssl = raw_connect(ctx, port);
    CHECK(cert_requests == 1, "(the mutual-TLS server does send one: %d)", cert_requests);
    raw_close(ssl);
    SSL_CTX_free(ctx);

    /* the client still checks the server */
    tkms_http_client_options wrong_ca = {.ca_file = path_in(dir2, "ca.pem")};
    tkms_http_client *c = NULL;
    tkms_http_client_new(&c, &wrong_ca, &err);
    st = c ? request(c, port_so, "GET", "/x", NULL, 0, &r, &err) : TKMS_ERR_NO_MEMORY;
    CHECK(st == TKMS_ERR_IO, "server-only TLS: an untrusted server certificate is refused: %s",
          err.message);
    tkms_http_client_free(c);
    CHECK(atomic_load(&handled) == before + 3, "server-only: the handler saw the 3 requests");
    CHECK(wait_connections(so, 0), "server-only connections closed");
}

static int plain_connect(uint16_t p)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(p)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {10, 0};
    if (fd < 0)
        test_fatal("socket");
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        test_fatal("plain connect");
    return fd;
}

static bool plain_send(int fd, const char *data)
{
    size_t len = strlen(data);
    return send(fd, data, len, MSG_NOSIGNAL) == (ssize_t)len;
}

/* Like raw_read, on a plain socket. */
static size_t plain_read(int fd, char *buf, size_t cap, const char *until, int times)
{
    size_t len = 0;
    buf[0] = '\0';
    while (len + 1 < cap) {
        if (until != NULL) {
            int seen = 0;
            for (const char *p = strstr(buf, until); p; p = strstr(p + 1, until))
                seen++;
            if (seen >= times)
                break;
        }
        ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
    }
    return len;
}

static void test_plain(tkms_http_server *plain)
{
    static char buf[8192];
    int before = atomic_load(&handled);
    size_t accepted = tkms_http_server_accepted(plain);

    /* two requests on one kept-alive connection, no TLS, client "" */
    int fd = plain_connect(port_plain);
    plain_send(fd, "GET /plain?a=b HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   "Authorization: Bearer t0ken\r\n\r\n");
    plain_read(fd, buf, sizeof buf, "}", 1);
    CHECK(strncmp(buf, "HTTP/1.1 200 ", 13) == 0 && strstr(buf, "Connection: keep-alive") &&
              strstr(buf, "\"path\":\"/plain\"") != NULL &&
              strstr(buf, "\"client\":\"\"") != NULL &&
              strstr(buf, "\"auth\":\"Bearer t0ken\"") != NULL,
          "plain HTTP: answered, client \"\", bearer token seen: %.300s", buf);
    plain_send(fd, "POST /second HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
    plain_read(fd, buf, sizeof buf, "}", 1);
    CHECK(strncmp(buf, "HTTP/1.1 200 ", 13) == 0 && strstr(buf, "\"body\":\"hello\"") != NULL,
          "plain HTTP: a second request on the same connection: %.300s", buf);
    CHECK(tkms_http_server_accepted(plain) == accepted + 1, "… one connection for both");
    /* refusals work the same without TLS */
    plain_send(fd, "BLAH\r\n\r\n");
    plain_read(fd, buf, sizeof buf, NULL, 1);
    CHECK(strncmp(buf, "HTTP/1.1 400 ", 13) == 0 && strstr(buf, "Connection: close\r\n") &&
              strstr(buf, "{\"error\":\"") != NULL,
          "plain HTTP: a malformed request gets a JSON 400 and the close: %.120s", buf);
    close(fd);
    CHECK(atomic_load(&handled) == before + 2, "plain: the handler saw the 2 good requests");

    /* a TLS client cannot talk to it, nor a plain one to a TLS server */
    tkms_http_client *c = client_for(dir, NULL, 2000);
    tkms_http_response r;
    tkms_err err;
    CHECK(request(c, port_plain, "GET", "/x", NULL, 0, &r, &err) == TKMS_ERR_IO,
          "an https client fails against the plain listener: %s", err.message);
    tkms_http_client_free(c);
    fd = plain_connect(port);
    plain_send(fd, "GET /x HTTP/1.1\r\n\r\n");
    size_t n = plain_read(fd, buf, sizeof buf, NULL, 1);
    CHECK(n == 0 || strncmp(buf, "HTTP/", 5) != 0,
          "plain HTTP to the mutual-TLS server gets no HTTP answer (%zu bytes)", n);
    close(fd);
    CHECK(atomic_load(&handled) == before + 2, "… and neither reached a handler");
    CHECK(wait_connections(plain, 0), "plain connections closed");
}

int main(void)
{
    make_certs();
    tkms_err err;
    if (tkms_workpool_new(&pool, 2, &err) != TKMS_OK)
        test_fatal("workpool: %s", err.message);
    base = event_base_new();
    if (base == NULL || pipe(stop_pipe) != 0)
        test_fatal("event base");
    struct event *stop = event_new(base, stop_pipe[0], EV_READ, on_stop, NULL);
    event_add(stop, NULL);

    tkms_http_server *s = NULL, *small = NULL, *quick = NULL;
    tkms_http_server_options o = options();
    CHECK(tkms_http_server_new(&s, base, &o, handler, NULL, &err) == TKMS_OK, "server: %s",
          err.message);
    if (s == NULL)
        return test_report();
    port = tkms_http_server_port(s);
    CHECK(port != 0, "ephemeral port %u", (unsigned)port);
    o.max_connections = 1;
    CHECK(tkms_http_server_new(&small, base, &o, handler, NULL, &err) == TKMS_OK,
          "limited server: %s", err.message);
    port_small = tkms_http_server_port(small);
    o.max_connections = 0;
    o.timeout_seconds = 1;
    CHECK(tkms_http_server_new(&quick, base, &o, handler, NULL, &err) == TKMS_OK,
          "server with a 1 s timeout: %s", err.message);
    port_quick = tkms_http_server_port(quick);
    tkms_http_server *so = NULL, *plain = NULL;
    o = options();
    o.tls = TKMS_HTTP_TLS_SERVER_ONLY;
    o.ca_file = NULL; /* not used */
    CHECK(tkms_http_server_new(&so, base, &o, handler, NULL, &err) == TKMS_OK,
          "server-only TLS server without a CA file: %s", err.message);
    port_so = tkms_http_server_port(so);
    tkms_http_server_options po = {.address = "127.0.0.1", .tls = TKMS_HTTP_TLS_PLAIN,
                                   .timeout_seconds = 20};
    CHECK(tkms_http_server_new(&plain, base, &po, handler, NULL, &err) == TKMS_OK,
          "plain HTTP server on 127.0.0.1: %s", err.message);
    port_plain = tkms_http_server_port(plain);
    setup_errors(s);
    setup_mode_errors();

    pthread_t loop;
    pthread_create(&loop, NULL, loop_main, NULL);

    test_basics();
    test_concurrent(s);
    test_limits();
    test_refused_clients();
    test_gone_clients(s);
    test_raw();
    if (small != NULL)
        test_connection_limit(small);
    if (quick != NULL)
        test_timeouts();
    if (so != NULL)
        test_server_only(so);
    if (plain != NULL)
        test_plain(plain);

    /* A request still held by a job when the server is freed. */
    SSL_CTX *ctx = raw_ctx("alice");
    SSL *ssl = raw_connect(ctx, port);
    static const char hold[] = "GET /hold HTTP/1.1\r\n\r\n";
    int started = atomic_load(&slow_started), done = atomic_load(&slow_done);
    raw_send(ssl, hold, sizeof hold - 1);
    CHECK(wait_until(&slow_started, started + 1), "held request reached the handler");

    if (write(stop_pipe[1], "x", 1) != 1)
        test_fatal("stop");
    pthread_join(loop, NULL);
    tkms_http_server_free(s);
    tkms_http_server_free(small);
    tkms_http_server_free(quick);
    tkms_http_server_free(so);
    tkms_http_server_free(plain);
    atomic_store(&hold_release, 1);
    tkms_workpool_free(pool); /* the held job answers a freed server */
    CHECK(atomic_load(&slow_done) == done + 1, "held request answered after the server was freed");
    raw_close(ssl);
    SSL_CTX_free(ctx);
    event_free(stop);
    event_base_free(base);
    close(stop_pipe[0]);
    close(stop_pipe[1]);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return test_report();
}
