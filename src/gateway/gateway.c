/*
 * gateway.c — the gateway's lifecycle: data directory, key registry, ban
 * list (and the loop's copy of it, gateway_bans.c), slashing records and
 * the sessions' worker pool (their workers and loop queues are
 * gateway_sign.c's), the fan-out to the servers, the keymanager API
 * (keymanager.c), key moves and the audit log (migration.c), the
 * listeners, periodic health checks of every server, and an orderly stop
 * on SIGINT/SIGTERM.
 */
#include "gateway_internal.h"
#include "keymanager.h"
#include "migration.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tkms/file.h"
#include "tkms/log.h"
#include "tkms/secmem.h"

#define PATH_SIZE 4096
#define GATEWAY_CONNECTIONS_PER_SERVER 16u
#define TOKEN_MAX_SIZE 4096u

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    tkms_gateway *g = arg;
    tkms_log(TKMS_LOG_INFO, "stopping", "signal=%d", (int)fd);
    event_base_loopexit(g->base, NULL);
}

/* ---- health ---------------------------------------------------------------- */

typedef struct {
    tkms_gateway *g;
    size_t server;
} health_call;

static void on_health(void *arg, const tkms_fanout_result *r)
{
    health_call *call = arg;
    server_health *h = &call->g->health[call->server];
    bool up = r->outcome == TKMS_FANOUT_OK && r->status == 200;
    if (up != h->up)
        tkms_log(up ? TKMS_LOG_INFO : TKMS_LOG_WARN, up ? "server up" : "server down",
                 "server=%s", call->g->servers[call->server].name);
    h->up = up;
    if (up) {
        h->latency_ms = r->seconds * 1e3;
    } else {
        h->checks_failed++;
        snprintf(h->last_error, sizeof h->last_error, "%s",
                 r->outcome == TKMS_FANOUT_OK ? "health check: not 200"
                                              : (r->error != NULL ? r->error : "failed"));
    }
    free(call);
}

void gateway_check_health(tkms_gateway *g)
{
    for (size_t s = 0; s < g->cfg->server_count; s++) {
        health_call *call = malloc(sizeof *call);
        if (call == NULL)
            return;
        *call = (health_call){g, s};
        char url[600];
        snprintf(url, sizeof url, "%s/health", g->servers[s].url);
        unsigned timeout = g->cfg->health_interval_ms < 2000 ? g->cfg->health_interval_ms : 2000;
        if (tkms_fanout_request(g->fanout, "GET", url, NULL, NULL, 0, timeout, on_health, call,
                                NULL, NULL) != TKMS_OK)
            free(call);
    }
}

static void on_health_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    gateway_check_health(arg);
}

/* ---- opening --------------------------------------------------------------- */

static tkms_status read_tokens(tkms_gateway *g, tkms_err *err)
{
    g->tokens = calloc(g->cfg->client_count ? g->cfg->client_count : 1, sizeof *g->tokens);
    if (g->tokens == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < g->cfg->client_count; i++) {
        const gateway_client *c = &g->cfg->clients[i];
        if (c->auth != GATEWAY_AUTH_TOKEN)
            continue;
        size_t len = 0;
        tkms_status st = tkms_file_read(c->token_file, TOKEN_MAX_SIZE, &g->tokens[i], &len, err);
        if (st != TKMS_OK)
            return st;
        while (len > 0 && (g->tokens[i][len - 1] == '\n' || g->tokens[i][len - 1] == '\r'))
            g->tokens[i][--len] = '\0';
        if (len < 16)
            return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                             "client %s: the token in %s is shorter than 16 characters", c->name,
                             c->token_file);
    }
    return TKMS_OK;
}

static tkms_status open_listeners(tkms_gateway *g, tkms_err *err)
{
    const gateway_config *cfg = g->cfg;
    bool mutual = false;
    size_t plain = 0;
    for (size_t i = 0; i < cfg->client_count; i++) {
        mutual = mutual || cfg->clients[i].auth == GATEWAY_AUTH_CERT;
        plain += cfg->clients[i].auth == GATEWAY_AUTH_LISTEN;
    }
    g->listeners = calloc(1 + plain, sizeof *g->listeners);
    if (g->listeners == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "out of memory");
    tkms_http_server_options main = {
        .address = cfg->listen_host,
        .port = cfg->listen_port,
        .cert_file = cfg->tls_cert,
        .key_file = cfg->tls_key,
        .ca_file = mutual ? cfg->tls_ca : NULL,
        .max_body_size = cfg->max_body_size,
        .tls = mutual ? TKMS_HTTP_TLS_MUTUAL : TKMS_HTTP_TLS_SERVER_ONLY,
    };
    g->listeners[0] = (gateway_listener){g, NULL, -1};
    tkms_status st = tkms_http_server_new(&g->listeners[0].http, g->base, &main, gateway_handle,
                                          &g->listeners[0], err);
    g->listener_count = 1;
    for (size_t i = 0; st == TKMS_OK && i < cfg->client_count; i++) {
        const gateway_client *c = &cfg->clients[i];
        if (c->auth != GATEWAY_AUTH_LISTEN)
            continue;
        tkms_http_server_options own = {
            .address = c->listen_host,
            .port = c->listen_port,
            .max_body_size = cfg->max_body_size,
            .tls = TKMS_HTTP_TLS_PLAIN,
        };
        gateway_listener *l = &g->listeners[g->listener_count];
        *l = (gateway_listener){g, NULL, (long)i};
        st = tkms_http_server_new(&l->http, g->base, &own, gateway_handle, l, err);
        if (st == TKMS_OK)
            g->listener_count++;
    }
    return st;
}

tkms_status tkms_gateway_open(tkms_gateway **out, const gateway_config *cfg, tkms_err *err)
{
    *out = NULL;
    tkms_gateway *g = calloc(1, sizeof *g);
    if (g == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "out of memory");
    g->cfg = cfg;
    g->metrics = server_metrics_new("tkms_gateway");
    g->servers = calloc(cfg->server_count, sizeof *g->servers);
    g->health = calloc(cfg->server_count, sizeof *g->health);
    if (g->metrics == NULL || g->servers == NULL || g->health == NULL) {
        tkms_gateway_free(g);
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "out of memory");
    }
    for (size_t s = 0; s < cfg->server_count; s++) {
        g->servers[s].name = cfg->servers[s].name;
        g->servers[s].url = cfg->servers[s].url;
        memcpy(g->servers[s].identity, cfg->servers[s].identity, TKMS_IDENTITY_PUBLIC_SIZE);
    }
    tkms_status st = TKMS_OK;
    if (mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST)
        st = tkms_fail(err, TKMS_ERR_IO, "data_dir %s: cannot create: %s", cfg->data_dir,
                       strerror(errno));
    if (st == TKMS_OK)
        st = read_tokens(g, err);
    size_t skipped = 0;
    if (st == TKMS_OK)
        st = gateway_registry_open(&g->keys, cfg->data_dir, g->servers, cfg->server_count,
                                   &skipped, err);
    if (st == TKMS_OK) {
        char path[PATH_SIZE];
        snprintf(path, sizeof path, "%s/%s", cfg->data_dir, GATEWAY_BANS_FILE);
        st = tkms_banlist_open(&g->bans, cfg->db != NULL ? cfg->db : path, err);
    }
    if (st == TKMS_OK && (g->base = event_base_new()) == NULL)
        st = tkms_fail(err, TKMS_ERR_NO_MEMORY, "cannot create the event loop");
    if (st == TKMS_OK)
        st = gateway_records_open(g, err);
    if (st == TKMS_OK)
        st = gateway_sessions_open(g, err);
    if (st == TKMS_OK)
        st = gateway_bans_open(g, err);
    if (st == TKMS_OK) {
        /* Keep every connection the servers may need open for reuse: a
         * cache smaller than servers × per-server connections churns TLS
         * handshakes under load (measured by the load benchmark). */
        size_t idle = (size_t)cfg->server_count * GATEWAY_CONNECTIONS_PER_SERVER;
        tkms_fanout_options fan = {
            .ca_file = cfg->servers_tls_ca,
            .cert_file = cfg->servers_tls_cert,
            .key_file = cfg->servers_tls_key,
            .max_host_connections = GATEWAY_CONNECTIONS_PER_SERVER,
            .max_idle_connections = idle < TKMS_FANOUT_MAX_CONNECTIONS_LIMIT
                                        ? (unsigned)idle
                                        : TKMS_FANOUT_MAX_CONNECTIONS_LIMIT,
        };
        st = tkms_fanout_new(&g->fanout, g->base, &fan, err);
    }
    if (st == TKMS_OK)
        st = gateway_keymanager_open(g, err);
    if (st == TKMS_OK)
        st = gateway_migration_open(g, err);
    if (st == TKMS_OK)
        st = open_listeners(g, err);
    if (st == TKMS_OK) {
        g->on_sigint = evsignal_new(g->base, SIGINT, on_signal, g);
        g->on_sigterm = evsignal_new(g->base, SIGTERM, on_signal, g);
        g->health_timer = event_new(g->base, -1, EV_PERSIST, on_health_timer, g);
        struct timeval every = {cfg->health_interval_ms / 1000,
                                (cfg->health_interval_ms % 1000) * 1000};
        if (g->on_sigint == NULL || g->on_sigterm == NULL || g->health_timer == NULL ||
            event_add(g->on_sigint, NULL) != 0 || event_add(g->on_sigterm, NULL) != 0 ||
            event_add(g->health_timer, &every) != 0)
            st = tkms_fail(err, TKMS_ERR_NO_MEMORY, "cannot set up the event loop");
    }
    if (st != TKMS_OK) {
        tkms_gateway_free(g);
        return st;
    }
    tkms_log(TKMS_LOG_INFO, "keys loaded", "keys=%zu skipped=%zu",
             gateway_registry_count(g->keys), skipped);
    gateway_check_health(g);
    *out = g;
    return TKMS_OK;
}

uint16_t tkms_gateway_port(const tkms_gateway *g)
{
    return tkms_http_server_port(g->listeners[0].http);
}

tkms_status tkms_gateway_run(tkms_gateway *g, tkms_err *err)
{
    tkms_log(TKMS_LOG_INFO, "listening", "addr=%s port=%u servers=%zu clients=%zu",
             g->cfg->listen_host, (unsigned)tkms_gateway_port(g), g->cfg->server_count,
             g->cfg->client_count);
    for (size_t i = 1; i < g->listener_count; i++)
        tkms_log(TKMS_LOG_INFO, "listening for a client", "client=%s addr=%s port=%u",
                 g->cfg->clients[g->listeners[i].client].name,
                 g->cfg->clients[g->listeners[i].client].listen_host,
                 (unsigned)tkms_http_server_port(g->listeners[i].http));
    if (event_base_dispatch(g->base) < 0)
        return tkms_fail(err, TKMS_ERR_IO, "the event loop failed");
    return TKMS_OK;
}

void tkms_gateway_free(tkms_gateway *g)
{
    if (g == NULL)
        return;
    g->stopping = true;
    for (size_t i = 0; i < g->listener_count; i++)
        tkms_http_server_free(g->listeners[i].http);
    free(g->listeners);
    /* Requests still in a slashing check are answered (503) before the
     * fan-out, the loop and the metrics go. */
    gateway_records_close(g);
    /* After the records (their last jobs may hand keymanager work back),
     * before the fan-out and the loop (a DELETE may be waiting on them). */
    gateway_keymanager_close(g);
    gateway_migration_close(g);
    tkms_fanout_free(g->fanout);
    /* After the fan-out (its cancelled calls still go to the sessions):
     * the sessions' last jobs finish and their requests are answered. */
    gateway_sessions_close(g);
    gateway_bans_close(g);
    if (g->on_sigint != NULL)
        event_free(g->on_sigint);
    if (g->on_sigterm != NULL)
        event_free(g->on_sigterm);
    if (g->health_timer != NULL)
        event_free(g->health_timer);
    if (g->base != NULL)
        event_base_free(g->base);
    tkms_banlist_close(g->bans);
    gateway_registry_free(g->keys);
    if (g->tokens != NULL) {
        for (size_t i = 0; i < g->cfg->client_count; i++) {
            if (g->tokens[i] != NULL)
                tkms_wipe(g->tokens[i], strlen(g->tokens[i]));
            free(g->tokens[i]);
        }
    }
    free(g->tokens);
    free(g->health);
    free(g->servers);
    server_metrics_free(g->metrics);
    free(g);
}
