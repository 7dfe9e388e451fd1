/*
 * gateway_internal.h — what the gateway's lifecycle (gateway.c), its routes
 * (gateway_routes.c), its sign path (gateway_sign.c: the gateway's own
 * slashing records, then the fan-out, then the sessions' work off the
 * loop), its copy of the ban list (gateway_bans.c) and the keymanager API
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
    /* Loop thread: the allowed requests of a batch that is coming back,
     * which go to the servers together once its last one is back. */
    struct sign_request *leaving, *leaving_tail;
} gateway_records;

/*
 * The sign sessions' work off the loop (gateway_sign.c): checking each
 * server's response (JSON, its Ed25519 signature), the combine and its
 * final verify, and the ban of a server proven to have lied all run as
 * jobs on `pool`; each hands back to the loop through `loop`. A request
 * has at most one job at a time (a session is not thread-safe): answers
 * that come while it runs wait in the request's inbox (guarded by `lock`)
 * for the same job. The ban list's re-reads (gateway_bans.c) run on
 * `pool` too.
 *
 * `busy_head`..`busy_tail` lists the requests that have session work
 * under way (a job queued or running, or its hand-back waiting on
 * `loop`), in the order they became busy; each got the mark `marks` had
 * then (see gateway_sign_mark). Loop thread only, like the list.
 */
typedef struct {
    tkms_workpool *pool;
    loop_queue *loop;
    pthread_mutex_t lock;               /* guards the requests' inboxes      */
    bool lock_ready;                    /* `lock` was initialised            */
    struct sign_request *busy_head, *busy_tail;
    uint64_t marks;                     /* marks handed out so far           */
} gateway_sessions;

/*
 * The ban list as the loop sees it (gateway_bans.c): whether each
 * configured server is locked out, so that no sign request and no status
 * route reads the database on the loop. Read once when the gateway opens,
 * then again every TKMS_BANLIST_REFRESH_MS by a job on sessions.pool (so
 * unbans and bans made elsewhere show within about that time); a ban this
 * gateway records shows at once. Loop thread only.
 */
typedef struct {
    bool *banned;                       /* [cfg->server_count]               */
    uint64_t learnt;                    /* bans this gateway made: a re-read
                                         * begun before one is stale         */
    bool reading;                       /* a re-read is under way            */
    struct event *timer;
} gateway_ban_cache;

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
 * (b) in the records pipeline (waiting, in a commit job, posted back to
 * records.loop, or back and in records.leaving until the last one of its
 * batch is back: a commit job posts a whole batch at once, so that is
 * before anything a later job posts), (c) with fan-out calls
 * outstanding, each of which ends within its timeout (cfg->timeout_ms for
 * sign calls), or (d) with session work under way (gateway_sessions: a
 * job checking answers and combining — it reads the entry — or its
 * hand-back); it never starts a new fan-out call after its last one
 * ended, and its session work only ever begins in a fan-out callback, so
 * once its calls have all ended it is in (d) at most, with work that
 * began before, until that work is over. So an entry
 * may be freed (gateway_registry_remove) only once the key has stopped
 * being served (new requests get 404: gateway_keymanager_retired) and then
 *   1. a job on records.pool has run after that moment and posted to
 *      records.loop, and that item has run on the loop (every request of
 *      (b) is then answered or in the fan-out), and
 *   2. after that item, at a moment when tkms_fanout_pending was 0, or
 *      once cfg->timeout_ms (at least the health checks' 2 s) plus a
 *      margin has passed (every call of (c) has ended), a mark was taken
 *      with gateway_sign_mark, and
 *   3. gateway_sign_passed(mark) was true after that (every request of (d)
 *      then is done).
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
    gateway_sessions sessions;          /* session work off the loop         */
    gateway_ban_cache ban_cache;        /* the loop's copy of `bans`         */
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

/* Starts the sessions' worker pool (cfg->workers threads: by default one
 * per core online) and the loop queue that brings their work
 * back to g->base. Needs g->base. */
tkms_status gateway_sessions_open(struct tkms_gateway *g, tkms_err *err);

/* Lets the jobs under way finish and hand back (their requests are
 * answered), then stops the pool. Call it after tkms_fanout_free (whose
 * cancelled calls still give the sessions work) and before
 * gateway_bans_close. Safe on a half-opened or zeroed g->sessions. */
void gateway_sessions_close(struct tkms_gateway *g);

/* A mark for the removal rule (above): every request with session work
 * under way now became busy with a mark below it. Loop thread. */
uint64_t gateway_sign_mark(const struct tkms_gateway *g);

/* True when no request that became busy with a mark below `mark` still has
 * session work under way. Loop thread. */
bool gateway_sign_passed(const struct tkms_gateway *g, uint64_t mark);

/* Reads the ban list into g->ban_cache and starts its re-read timer.
 * Needs g->bans, g->base and gateway_sessions_open. */
tkms_status gateway_bans_open(struct tkms_gateway *g, tkms_err *err);

/* Stops the timer and frees the copy (safe when half-opened or zeroed).
 * After gateway_sessions_close. */
void gateway_bans_close(struct tkms_gateway *g);

/* Whether configured server `server` (its index in cfg->servers) is
 * locked out, from the loop's copy. Loop thread. */
bool gateway_banned(const struct tkms_gateway *g, size_t server);

/* The same by the server's configured name (false for a name that is not
 * configured). Loop thread. */
bool gateway_banned_name(const struct tkms_gateway *g, const char *name);

/* Records in the loop's copy that this gateway has just banned configured
 * server `server` (durably: tkms_banlist_ban succeeded). Loop thread. */
void gateway_bans_learn(struct tkms_gateway *g, size_t server);

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
