/*
 * gateway_internal.h — what the gateway's lifecycle (gateway.c), its routes
 * (gateway_routes.c), its sign path (gateway_sign.c: the gateway's own
 * slashing records, then the fan-out) and the keymanager API
 * (keymanager.c) share.
 */
#ifndef TKMS_GATEWAY_INTERNAL_H
#define TKMS_GATEWAY_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>

#include <event2/event.h>

#include "gateway.h"
#include "key_registry.h"
#include "loop_queue.h"
#include "metrics.h"
#include "tkms/banlist.h"
#include "tkms/http_fanout.h"
#include "tkms/http_server.h"
#include "tkms/slashing.h"
#include "tkms/workpool.h"

/* Most slashing checks one group commit takes (the rest wait for the next). */
#define GATEWAY_RECORD_MAX_BATCH 128

struct sign_request;
struct gateway_keymanager;
struct gateway_migration;

/*
 * The gateway's own slashing records (gateway_sign.c). Sign requests that
 * need a record (BLOCK_V2, ATTESTATION) wait in `head`..`tail`; one job on
 * `pool` at a time (`running`) takes them in arrival order, up to
 * GATEWAY_RECORD_MAX_BATCH, checks them in one slashing batch (one COMMIT)
 * and posts each back to the loop through `loop`. Only that job touches
 * `db` (so one handle serves, whatever the pool's size). `lock` guards the
 * list, `running` and the counters.
 *
 * Exclusive use of `db` by others (keymanager.c): `pool` has exactly one
 * thread (gateway_keymanager_open checks it), so a job submitted to it
 * runs alone, between commit jobs, and may use `db` (import, export,
 * delete_key: never inside a batch). Such a job ends by handing its
 * result back with loop_queue_post — to `loop` when it must come after
 * every checked request the commit jobs before it posted (the FIFO order
 * the keymanager's removal of a key relies on, below).
 */
typedef struct {
    tkms_slashing_db *db;
    tkms_workpool *pool;
    loop_queue *loop;
    pthread_mutex_t lock;
    bool lock_ready;                    /* `lock` was initialised            */
    struct sign_request *head, *tail;
    bool running;                       /* a commit job is queued or running */
    uint64_t commits, records, largest; /* for /metrics                      */
} gateway_records;

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

/*
 * Registry entries and sign requests — the removal rule. A sign request
 * holds a pointer to its key's registry entry (gateway_key_entry, and the
 * group, holders and indices inside it) from gateway_sign until it is
 * freed. It is alive only (a) inside the loop callback that started it,
 * (b) in the records pipeline (waiting, in a commit job, or posted back to
 * records.loop), or (c) with fan-out calls outstanding, each of which ends
 * within its timeout (cfg->timeout_ms for sign calls); it never starts a
 * new fan-out call after its last one ended. So an entry may be freed
 * (gateway_registry_remove) only once the key has stopped being served
 * (new requests get 404: gateway_keymanager_retired) and then
 *   1. a job on records.pool has run after that moment and posted to
 *      records.loop, and that item has run on the loop (every request of
 *      (b) is then answered or in the fan-out), and
 *   2. after that item, tkms_fanout_pending was 0 at some moment, or
 *      cfg->timeout_ms (at least the health checks' 2 s) plus a margin
 *      has passed (every call of (c) has ended).
 * keymanager.c removes keys exactly so. Anything that makes sign requests
 * hold entries longer (retries, other queues) must keep this rule true.
 */
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
    gateway_records records;            /* the gateway's slashing records    */
    struct gateway_keymanager *keymanager;  /* NULL: keymanager API off        */
    bool stopping;                      /* tkms_gateway_free has begun       */
    struct event_base *base;
    struct event *on_sigint, *on_sigterm, *health_timer;
    gateway_listener *listeners;        /* [0] main, then LISTEN clients     */
    size_t listener_count;
    struct gateway_migration *migration;    /* key moves, audit log (migration.h) */
};

/* The HTTP handler of every listener (arg: its gateway_listener). */
void gateway_handle(tkms_http_request *req, void *arg);

/* Signs for `entry` (the caller checked the client may use it): parses
 * the body; for BLOCK_V2 and ATTESTATION checks and records it in the
 * gateway's slashing database on a worker thread first (412 refused, 503
 * not recorded; nothing goes to the servers then); then fans it out.
 * Replies when done. Loop thread. The request uses `entry` until it is
 * freed: see the removal rule above. */
void gateway_sign(struct tkms_gateway *g, tkms_http_request *req,
                  const gateway_key_entry *entry, double started);

/* Opens the gateway's slashing database (D/slashing.sqlite, or cfg->db),
 * bound to cfg->genesis_validators_root (another root: the open fails
 * with the database's message), its worker pool and the loop queue that
 * brings checked requests back to g->base. Needs g->base. */
tkms_status gateway_records_open(struct tkms_gateway *g, tkms_err *err);

/* Stops the worker (the checks under way finish and come back through the
 * loop queue; with g->stopping set they are answered 503) and closes the
 * database. Safe on a half-opened or zeroed g->records. */
void gateway_records_close(struct tkms_gateway *g);

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
