/*
 * server_internal.h — what the server's lifecycle (server.c), its routes
 * (server_routes.c) and its admin handlers (server_admin.c) share.
 */
#ifndef TKMS_SERVER_INTERNAL_H
#define TKMS_SERVER_INTERNAL_H

#include <pthread.h>

#include <event2/event.h>
#include <jansson.h>

#include "ceremony_host.h"
#include "metrics.h"
#include "reply_delay.h"
#include "rules.h"
#include "server.h"
#include "signer.h"
#include "tkms/audit.h"
#include "tkms/http_server.h"
#include "tkms/identity.h"
#include "tkms/slashing.h"
#include "tkms/workpool.h"

#define SERVER_IDENTITY_FILE "identity.json"
#define SERVER_SLASHING_FILE "slashing.sqlite"
#define SERVER_AUDIT_FILE "audit.log"

struct tkms_server {
    const server_config *cfg;          /* borrowed: outlives the server         */
    char *password;                    /* secret: the data directory's          */
    uint8_t identity_public[TKMS_IDENTITY_PUBLIC_SIZE];
    tkms_slashing_db *slashing;
    tkms_audit *audit;
    tkms_signer *signer;
    ceremony_host *ceremonies;
    server_metrics *metrics;
    pthread_mutex_t admin;             /* serializes key-store changes          */
    struct event_base *base;
    struct event *on_sigint, *on_sigterm;
    tkms_http_server *http;
    tkms_workpool *workers;
    reply_delay *delay;                /* fault injection only; NULL: none      */
};

/* The HTTP handler (server_routes.c): runs on the event loop. */
void server_handle(tkms_http_request *req, void *arg);

/* Admin routes (server_admin.c), run on a worker. `key` is the key from
 * the path (NULL for the collection). Reply themselves. */
void server_admin_list(tkms_server *s, tkms_http_request *req);
void server_admin_import(tkms_server *s, tkms_http_request *req);
void server_admin_delete(tkms_server *s, tkms_http_request *req, const uint8_t *key);
void server_admin_lock(tkms_server *s, tkms_http_request *req, const uint8_t *key, bool locked);

/* Appends an audit record `event` {"client":…, "action":…, "subject":…,
 * "outcome":…, "reason":…} under the signer's records lock; a failure is
 * logged (the action itself is already done or refused). */
void server_audit(tkms_server *s, const char *event, const char *client, const char *action,
                  const char *subject, const char *outcome, const char *reason);

/* Replies with a JSON value (takes the reference) and counts it. */
void server_reply_json(tkms_server *s, tkms_http_request *req, server_route route, int status,
                       json_t *value, double started);

/* Replies {"error": reason} and counts it. */
void server_reply_error(tkms_server *s, tkms_http_request *req, server_route route, int status,
                        const char *reason, double started);

/* Seconds on a monotonic clock. */
double server_now(void);

#endif /* TKMS_SERVER_INTERNAL_H */
