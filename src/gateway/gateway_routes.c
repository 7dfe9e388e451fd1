/*
 * gateway_routes.c — the gateway's HTTP side: who the client is (its own
 * loopback listener, a bearer token, or its certificate), the Web3Signer
 * routes, /healthcheck and /metrics. Signing itself is gateway_sign.c; the
 * keymanager API (/eth/v1/keystores) is keymanager.c. A key a keymanager
 * DELETE is retiring is no longer served: unknown to signing, left out of
 * the listings.
 */
#include "gateway_internal.h"
#include "keymanager.h"
#include "migration.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "tkms/hex.h"

#define SIGN_PREFIX "/api/v1/eth2/sign/"

double gateway_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void gateway_reply_text(struct tkms_gateway *g, tkms_http_request *req, server_route route,
                        int status, const char *content_type, const char *text, double started)
{
    tkms_http_reply(req, status, content_type, text, strlen(text));
    server_metrics_request(g->metrics, route, status, gateway_now() - started);
}

void gateway_reply_error(struct tkms_gateway *g, tkms_http_request *req, server_route route,
                         int status, const char *reason, double started)
{
    tkms_http_reply_error(req, status, reason);
    server_metrics_request(g->metrics, route, status, gateway_now() - started);
}

static void reply_json(struct tkms_gateway *g, tkms_http_request *req, server_route route,
                       json_t *value, double started)
{
    char *text = value != NULL ? json_dumps(value, JSON_COMPACT) : NULL;
    json_decref(value);
    if (text == NULL) {
        gateway_reply_error(g, req, route, 500, "out of memory", started);
        return;
    }
    gateway_reply_text(g, req, route, 200, "application/json", text, started);
    free(text);
}

/* The client of a request (its index in the configuration), or -1 when it
 * is none. */
static long client_of(const gateway_listener *l, tkms_http_request *req)
{
    const gateway_config *cfg = l->gateway->cfg;
    if (l->client >= 0)
        return l->client;
    const char *auth = tkms_http_request_header(req, "Authorization");
    if (auth != NULL && strncmp(auth, "Bearer ", 7) == 0) {
        const char *token = auth + 7;
        size_t len = strlen(token);
        for (size_t i = 0; i < cfg->client_count; i++) {
            const char *want = l->gateway->tokens[i];
            if (want != NULL && strlen(want) == len &&
                sodium_memcmp(want, token, len) == 0)     /* constant time */
                return (long)i;
        }
        return -1;
    }
    const char *cn = tkms_http_request_client(req);
    for (size_t i = 0; cn != NULL && i < cfg->client_count; i++)
        if (cfg->clients[i].auth == GATEWAY_AUTH_CERT && strcmp(cfg->clients[i].name, cn) == 0)
            return (long)i;
    return -1;
}

static bool banned(struct tkms_gateway *g, const char *server)
{
    return gateway_banned_name(g, server);     /* the loop's copy: no database read */
}

/* Shares of the key held by servers that are up and not locked out
 * (locked[s] for configured server s). */
static uint32_t healthy_shares(struct tkms_gateway *g, const gateway_key_entry *e,
                               const bool *locked)
{
    uint32_t healthy = 0;
    for (size_t i = 0; i < e->key.server_count; i++) {
        size_t s = e->server_of[i];
        if (g->health[s].up && !locked[s])
            healthy += (uint32_t)e->key.servers[i].index_count;
    }
    return healthy;
}

static void public_keys(struct tkms_gateway *g, tkms_http_request *req, const char *client,
                        double started)
{
    json_t *list = json_array();
    for (size_t i = 0; i < gateway_registry_count(g->keys); i++) {
        const gateway_key_entry *e = gateway_registry_at(g->keys, i);
        if (strcmp(e->client, client) == 0 && !gateway_keymanager_retired(g, e->group_key))
            json_array_append_new(list, json_string(e->hex));
    }
    reply_json(g, req, SERVER_ROUTE_OTHER, list, started);
}

static void healthcheck(struct tkms_gateway *g, tkms_http_request *req, double started)
{
    json_t *servers = json_array(), *keys = json_array();
    bool up = true;
    bool *locked = calloc(g->cfg->server_count ? g->cfg->server_count : 1, sizeof *locked);
    if (locked == NULL) {
        json_decref(servers);
        json_decref(keys);
        gateway_reply_error(g, req, SERVER_ROUTE_HEALTH, 500, "out of memory", started);
        return;
    }
    for (size_t s = 0; s < g->cfg->server_count; s++) {
        const server_health *h = &g->health[s];
        locked[s] = banned(g, g->servers[s].name);
        json_array_append_new(servers,
                              json_pack("{s:s, s:b, s:b, s:f, s:s}", "name", g->servers[s].name,
                                        "up", h->up, "locked_out", locked[s],
                                        "latency_ms", h->latency_ms, "last_error",
                                        h->last_error));
    }
    for (size_t i = 0; i < gateway_registry_count(g->keys); i++) {
        const gateway_key_entry *e = gateway_registry_at(g->keys, i);
        if (gateway_keymanager_retired(g, e->group_key))
            continue;
        uint32_t healthy = e->available ? healthy_shares(g, e, locked) : 0;
        uint32_t k = e->file.group->threshold;
        up = up && e->available && healthy >= k;
        json_array_append_new(keys, json_pack("{s:s, s:I, s:I, s:s, s:s}", "pubkey", e->hex,
                                              "healthy_shares", (json_int_t)healthy,
                                              "threshold", (json_int_t)k, "client", e->client,
                                              "unavailable", e->available ? "" : e->reason));
    }
    free(locked);
    json_t *body = json_pack("{s:s, s:o, s:o}", "status", up ? "UP" : "DOWN", "servers",
                             servers, "keys", keys);
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (text == NULL) {
        gateway_reply_error(g, req, SERVER_ROUTE_HEALTH, 500, "out of memory", started);
        return;
    }
    /* Web3Signer: 200 when healthy, 503 when not; the body says why. */
    gateway_reply_text(g, req, SERVER_ROUTE_HEALTH, up ? 200 : 503, "application/json", text,
                       started);
    free(text);
}

static void metrics(struct tkms_gateway *g, tkms_http_request *req, double started)
{
    char *base = server_metrics_render(g->metrics, NULL);
    size_t size = (base != NULL ? strlen(base) : 0) + 1024 + 400 * g->cfg->server_count;
    char *text = malloc(size);
    if (base == NULL || text == NULL) {
        free(base);
        free(text);
        gateway_reply_error(g, req, SERVER_ROUTE_METRICS, 500, "out of memory", started);
        return;
    }
    size_t n = (size_t)snprintf(text, size,
                                "%s# HELP tkms_gateway_lockouts_total Servers locked out for an "
                                "invalid partial.\n# TYPE tkms_gateway_lockouts_total counter\n"
                                "tkms_gateway_lockouts_total %llu\n"
                                "# HELP tkms_gateway_keys_moved_total Keys moved to another "
                                "validator client.\n# TYPE tkms_gateway_keys_moved_total counter\n"
                                "tkms_gateway_keys_moved_total %llu\n"
                                "# TYPE tkms_gateway_server_up gauge\n"
                                "# TYPE tkms_gateway_server_locked_out gauge\n"
                                "# TYPE tkms_gateway_server_latency_seconds gauge\n"
                                "# TYPE tkms_gateway_server_answers_total counter\n",
                                base, (unsigned long long)g->lockouts,
                                (unsigned long long)gateway_migration_moved(g));
    for (size_t s = 0; s < g->cfg->server_count && n < size; s++) {
        const server_health *h = &g->health[s];
        const char *name = g->servers[s].name;
        n += (size_t)snprintf(text + n, size - n,
                              "tkms_gateway_server_up{server=\"%s\"} %d\n"
                              "tkms_gateway_server_locked_out{server=\"%s\"} %d\n"
                              "tkms_gateway_server_latency_seconds{server=\"%s\"} %.6f\n"
                              "tkms_gateway_server_answers_total{server=\"%s\",outcome=\"ok\"} "
                              "%llu\n"
                              "tkms_gateway_server_answers_total{server=\"%s\",outcome=\"failed\"}"
                              " %llu\n",
                              name, h->up, name, banned(g, name), name, h->latency_ms / 1e3,
                              name, (unsigned long long)h->sign_ok, name,
                              (unsigned long long)h->sign_failed);
    }
    free(base);
    gateway_reply_text(g, req, SERVER_ROUTE_METRICS, 200, "text/plain; version=0.0.4", text,
                       started);
    free(text);
}

void gateway_handle(tkms_http_request *req, void *arg)
{
    const gateway_listener *l = arg;
    struct tkms_gateway *g = l->gateway;
    double started = gateway_now();
    const char *method = tkms_http_request_method(req);
    const char *path = tkms_http_request_path(req);
    bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;

    if (get && strcmp(path, "/upcheck") == 0) {
        gateway_reply_text(g, req, SERVER_ROUTE_HEALTH, 200, "application/json",
                           "{\"status\":\"OK\"}", started);
        return;
    }
    if (get && strcmp(path, "/healthcheck") == 0) {
        healthcheck(g, req, started);
        return;
    }
    if (get && strcmp(path, "/metrics") == 0) {
        metrics(g, req, started);
        return;
    }
    if (strcmp(path, GATEWAY_KEYMANAGER_PATH) == 0) {
        gateway_keymanager_handle(g, l, req, started);
        return;
    }
    if (strncmp(path, GATEWAY_MIGRATION_PREFIX, strlen(GATEWAY_MIGRATION_PREFIX)) == 0) {
        gateway_migration_handle(g, l, req, started);
        return;
    }
    bool sign = strncmp(path, SIGN_PREFIX, strlen(SIGN_PREFIX)) == 0;
    bool keys = strcmp(path, "/api/v1/eth2/publicKeys") == 0;
    if (!sign && !keys) {
        gateway_reply_error(g, req, SERVER_ROUTE_OTHER, 404, "no such route", started);
        return;
    }
    if ((sign && !post) || (keys && !get)) {
        gateway_reply_error(g, req, sign ? SERVER_ROUTE_SIGN : SERVER_ROUTE_OTHER, 405,
                            "method not allowed", started);
        return;
    }
    long index = client_of(l, req);
    if (index < 0) {
        gateway_reply_error(g, req, sign ? SERVER_ROUTE_SIGN : SERVER_ROUTE_OTHER, 401,
                            "unknown client: present a client certificate or a bearer token "
                            "of a configured client",
                            started);
        return;
    }
    const char *client = g->cfg->clients[index].name;
    if (keys) {
        public_keys(g, req, client, started);
        return;
    }
    gateway_migration_sign_request(g, (size_t)index);
    uint8_t key[TKMS_PUBLIC_KEY_SIZE];
    const char *hex = path + strlen(SIGN_PREFIX);
    const gateway_key_entry *entry = NULL;
    if (tkms_hex_decode(key, sizeof key, hex, NULL) == TKMS_OK &&
        !gateway_keymanager_retired(g, key))
        entry = gateway_registry_find(g->keys, key);
    if (entry == NULL) {
        char reason[200];
        snprintf(reason, sizeof reason, "Public Key not found: %.120s", hex);
        gateway_reply_error(g, req, SERVER_ROUTE_SIGN, 404, reason, started);
        return;
    }
    if (strcmp(entry->client, client) != 0) {
        char reason[400];
        snprintf(reason, sizeof reason, "key %s is not assigned to client %.64s%s%.64s",
                 entry->hex, client, entry->client[0] ? " (it is assigned to " : "",
                 entry->client[0] ? entry->client : "");
        if (entry->client[0])
            strncat(reason, ")", sizeof reason - strlen(reason) - 1);
        gateway_reply_error(g, req, SERVER_ROUTE_SIGN, 403, reason, started);
        return;
    }
    if (!entry->available) {
        gateway_reply_error(g, req, SERVER_ROUTE_SIGN, 503, entry->reason, started);
        return;
    }
    gateway_sign(g, req, entry, started);
}
