/*
 * gateway_internal.h — what the gateway's lifecycle (gateway.c), its routes
 * (gateway_routes.c) and its sign fan-out (gateway_sign.c) share.
 */
#ifndef TKMS_GATEWAY_INTERNAL_H
#define TKMS_GATEWAY_INTERNAL_H

#include <stdbool.h>

#include <event2/event.h>

#include "gateway.h"
#include "key_registry.h"
#include "metrics.h"
#include "tkms/banlist.h"
#include "tkms/http_fanout.h"
#include "tkms/http_server.h"

/* What the gateway knows of one threshold server's health. */
typedef struct {
    bool up;                    /* the last health check answered 200      */
    double latency_ms;          /* of the last successful sign or check    */
    uint64_t sign_ok, sign_failed, checks_failed;
    char last_error[160];
} server_health;

/* One listener and whom it serves. */
typedef struct {
    struct tkms_gateway *gateway;
    tkms_http_server *http;
    long client;                /* a LISTEN client's index, or -1 (main)   */
} gateway_listener;

struct tkms_gateway {
    const gateway_config *cfg;
    gateway_server_config *servers;     /* cfg's servers, for the registry  */
    server_health *health;              /* [cfg->server_count]              */
    char **tokens;                      /* [cfg->client_count]: token clients */
    gateway_registry *keys;
    tkms_banlist *bans;
    tkms_fanout *fanout;
    server_metrics *metrics;
    uint64_t lockouts;
    struct event_base *base;
    struct event *on_sigint, *on_sigterm, *health_timer;
    gateway_listener *listeners;        /* [0] main, then LISTEN clients     */
    size_t listener_count;
};

/* The HTTP handler of every listener (arg: its gateway_listener). */
void gateway_handle(tkms_http_request *req, void *arg);

/* Starts the fan-out of a sign request for `entry` (the caller checked
 * the client may use it); replies when done. */
void gateway_sign(struct tkms_gateway *g, tkms_http_request *req,
                  const gateway_key_entry *entry, double started);

/* Starts one round of health checks (GET /health at every server). */
void gateway_check_health(struct tkms_gateway *g);

/* Replies {"error": reason} / a JSON value, and counts it. */
void gateway_reply_error(struct tkms_gateway *g, tkms_http_request *req, server_route route,
                         int status, const char *reason, double started);
void gateway_reply_text(struct tkms_gateway *g, tkms_http_request *req, server_route route,
                        int status, const char *content_type, const char *text,
                        double started);

double gateway_now(void);

#endif /* TKMS_GATEWAY_INTERNAL_H */
