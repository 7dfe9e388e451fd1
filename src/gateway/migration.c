/*
 * migration.c — moving keys between validator clients (migration.h): the
 * operator's routes, the two automatic rules (slashing refusals, silence),
 * and the one worker thread that writes the audit records and the client
 * files before the loop hands the keys over.
 */
#include "migration.h"
#include "keymanager.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tkms/audit.h"
#include "tkms/hex.h"
#include "tkms/log.h"
#include "tkms/owners.h"

#define PATH_SIZE 4096

typedef enum { CAUSE_OPERATOR, CAUSE_MARK, CAUSE_REFUSALS, CAUSE_SILENCE } migration_cause;

static const char *const CAUSE_NAMES[] = {"operator", "unhealthy-mark", "slashing-refusals",
                                          "silence"};

/* One key to move. */
typedef struct {
    uint8_t key[TKMS_PUBLIC_KEY_SIZE];
    char hex[TKMS_HEX_SIZE(TKMS_PUBLIC_KEY_SIZE)];
    char from[GATEWAY_CLIENT_NAME_MAX + 1];
} key_move;

/* One move request: the operator's (req set) or a rule's. */
typedef struct migration_op {
    struct tkms_gateway *g;
    tkms_http_request *req;             /* NULL: a rule's                   */
    double started;
    migration_cause cause;
    bool migrate;                       /* the key must have a client        */
    bool one_key;                       /* `key`; else every key of `client` */
    uint8_t key[TKMS_PUBLIC_KEY_SIZE];
    char client[GATEWAY_CLIENT_NAME_MAX + 1];
    char to[GATEWAY_CLIENT_NAME_MAX + 1];
    char reason[GATEWAY_MIGRATION_REASON_MAX + 64];
    key_move *moves;
    size_t count, done;                 /* done: client files written        */
    tkms_status status;                 /* of the worker's part              */
    char error[TKMS_ERR_MESSAGE_SIZE];
    loop_queue_item back;
    struct migration_op *next;
} migration_op;

/* What the rules know of one configured client. */
typedef struct {
    double last_sign;                   /* see "silence" in migration.h      */
    double *refusals;                   /* the last max_refusals refusals'
                                         * times, a ring                     */
    unsigned refusal_count, refusal_next;
    bool queued;                        /* a rule's move of its keys waits   */
} client_state;

struct gateway_migration {
    tkms_audit *audit;                  /* the worker's alone                */
    tkms_workpool *pool;                /* one thread                        */
    loop_queue *loop;
    struct event *timer;                /* the silence rule, every second    */
    client_state *clients;              /* [cfg->client_count]               */
    migration_op *head, *tail, *active;
    size_t waiting;
    uint64_t moved;
};

/* ---- the records and files (any thread) ------------------------------------ */

static char *record_text(const key_move *m, const char *to, const char *cause,
                         const char *reason)
{
    json_t *data = json_pack("{s:s, s:s, s:s, s:s, s:s}", "pubkey", m->hex, "from", m->from,
                             "to", to, "cause", cause, "reason", reason);
    char *text = data != NULL ? json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(data);
    return text;
}

/*
 * Appends one audit record per move (one batch: one write, one fsync), and
 * only then writes each key's client file; *done counts the files written.
 * A file that cannot be written stops there, with a "key.migrate.failed"
 * record for each key left (best effort) so the log says what happened.
 */
static tkms_status apply_moves(tkms_audit *audit, const char *data_dir, const key_move *moves,
                               size_t count, const char *to, const char *cause,
                               const char *reason, size_t *done, tkms_err *err)
{
    *done = 0;
    tkms_audit_record *records = calloc(count, sizeof *records);
    char **texts = calloc(count, sizeof *texts);
    tkms_status st = TKMS_OK;
    if (records == NULL || texts == NULL)
        st = tkms_fail(err, TKMS_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; st == TKMS_OK && i < count; i++) {
        if ((texts[i] = record_text(&moves[i], to, cause, reason)) == NULL)
            st = tkms_fail(err, TKMS_ERR_NO_MEMORY, "out of memory");
        records[i] = (tkms_audit_record){moves[i].from[0] ? "key.migrate" : "key.assign",
                                         texts[i]};
    }
    if (st == TKMS_OK)
        st = tkms_audit_append_batch(audit, records, count, err);
    for (; st == TKMS_OK && *done < count; (*done)++)
        st = gateway_registry_write_client(data_dir, moves[*done].key, to, err);
    if (st != TKMS_OK && *done > 0) {
        /* The files of moves[*done ..] were not written: say so. */
        for (size_t i = *done; i < count; i++) {
            char *text = record_text(&moves[i], to, cause, err->message);
            tkms_err ignored;
            if (text != NULL)
                tkms_audit_append(audit, "key.migrate.failed", text, &ignored);
            free(text);
        }
    }
    for (size_t i = 0; texts != NULL && i < count; i++)
        free(texts[i]);
    free(texts);
    free(records);
    return st;
}

/* ---- the queue of moves (loop thread) --------------------------------------- */

static void start_next(struct gateway_migration *m);

static void reply_error(struct tkms_gateway *g, migration_op *op, int status, const char *reason)
{
    if (op->req != NULL)
        gateway_reply_error(g, op->req, SERVER_ROUTE_ADMIN, status, reason, op->started);
    op->req = NULL;
}

/* Answers the operator with what moved (200, or 503 with the error). */
static void reply_moves(struct tkms_gateway *g, migration_op *op)
{
    if (op->req == NULL)
        return;
    json_t *data = json_array();
    for (size_t i = 0; data != NULL && i < op->done; i++)
        json_array_append_new(data, json_pack("{s:s, s:s, s:s}", "pubkey", op->moves[i].hex,
                                              "from", op->moves[i].from, "to", op->to));
    bool ok = op->status == TKMS_OK;
    json_t *body = data != NULL ? json_pack("{s:o}", "data", data) : NULL;
    if (body != NULL && !ok)
        json_object_set_new(body, "error", json_string(op->error));
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (text == NULL) {
        reply_error(g, op, 500, "out of memory");
        return;
    }
    gateway_reply_text(g, op->req, SERVER_ROUTE_ADMIN, ok ? 200 : 503, "application/json", text,
                       op->started);
    op->req = NULL;
    free(text);
}

static long client_index(const struct tkms_gateway *g, const char *name)
{
    const gateway_client *c = name[0] ? gateway_config_client(g->cfg, name) : NULL;
    return c != NULL ? (long)(c - g->cfg->clients) : -1;
}

static void finish(struct gateway_migration *m, migration_op *op)
{
    struct tkms_gateway *g = op->g;
    if (!op->one_key) {
        long c = client_index(g, op->client);
        if (c >= 0)
            m->clients[c].queued = false;
    }
    reply_moves(g, op);
    free(op->moves);
    free(op);
}

/* The worker's part (the migration thread): the audit records, then the
 * client files; then back to the loop. */
static void on_moved(void *arg);

static void worker_job(void *arg)
{
    migration_op *op = arg;
    struct gateway_migration *m = op->g->migration;
    tkms_err err;
    op->status = apply_moves(m->audit, op->g->cfg->data_dir, op->moves, op->count, op->to,
                             CAUSE_NAMES[op->cause], op->reason, &op->done, &err);
    if (op->status != TKMS_OK)
        snprintf(op->error, sizeof op->error, "%s", err.message);
    loop_queue_post(m->loop, &op->back, on_moved, op);
}

/* Back on the loop: the registry names the new client. */
static void on_moved(void *arg)
{
    migration_op *op = arg;
    struct tkms_gateway *g = op->g;
    struct gateway_migration *m = g->migration;
    double now = gateway_now();
    char quoted[300];
    tkms_log_quote(quoted, sizeof quoted, op->reason);
    for (size_t i = 0; i < op->done; i++) {
        const key_move *mv = &op->moves[i];
        tkms_err ignored;   /* a key deleted meanwhile has nothing to change */
        gateway_registry_set_client(g->keys, mv->key, op->to, &ignored);
        long from = client_index(g, mv->from);
        if (from >= 0)
            m->clients[from].refusal_count = 0;
        m->moved++;
        tkms_log(TKMS_LOG_WARN, "key moved", "key=%s from=%s to=%s cause=%s reason=%s", mv->hex,
                 mv->from[0] ? mv->from : "-", op->to, CAUSE_NAMES[op->cause], quoted);
    }
    long to = client_index(g, op->to);
    if (to >= 0 && op->done > 0) {
        m->clients[to].last_sign = now;
        m->clients[to].refusal_count = 0;
    }
    if (op->status != TKMS_OK) {
        char why[300];
        tkms_log(TKMS_LOG_ERROR, "keys not moved", "to=%s moved=%zu of=%zu reason=%s", op->to,
                 op->done, op->count, tkms_log_quote(why, sizeof why, op->error));
    }
    m->active = NULL;
    finish(m, op);
    start_next(m);
}

/* Decides what op moves, from the registry as it is now. False when there
 * is nothing to hand to the worker (op answered or nothing to move). */
static bool resolve(struct tkms_gateway *g, migration_op *op)
{
    size_t total = gateway_registry_count(g->keys);
    op->moves = calloc(op->one_key ? 1 : (total ? total : 1), sizeof *op->moves);
    if (op->moves == NULL) {
        reply_error(g, op, 500, "out of memory");
        return false;
    }
    if (op->one_key) {
        const gateway_key_entry *e = gateway_keymanager_retired(g, op->key)
                                         ? NULL
                                         : gateway_registry_find(g->keys, op->key);
        char hex[TKMS_HEX_SIZE(TKMS_PUBLIC_KEY_SIZE)], reason[200];
        tkms_hex_encode(hex, op->key, sizeof op->key);
        if (e == NULL) {
            snprintf(reason, sizeof reason, "Public Key not found: %s", hex);
            reply_error(g, op, 404, reason);
            return false;
        }
        if (op->migrate && e->client[0] == '\0') {
            snprintf(reason, sizeof reason,
                     "key %s has no client to migrate from: use assign", hex);
            reply_error(g, op, 400, reason);
            return false;
        }
        if (strcmp(e->client, op->to) != 0) {
            memcpy(op->moves[0].key, op->key, sizeof op->key);
            memcpy(op->moves[0].hex, e->hex, sizeof op->moves[0].hex);
            snprintf(op->moves[0].from, sizeof op->moves[0].from, "%s", e->client);
            op->count = 1;
        }
    } else {
        for (size_t i = 0; i < total; i++) {
            const gateway_key_entry *e = gateway_registry_at(g->keys, i);
            if (strcmp(e->client, op->client) != 0 || gateway_keymanager_retired(g, e->group_key))
                continue;
            key_move *mv = &op->moves[op->count++];
            memcpy(mv->key, e->group_key, sizeof mv->key);
            memcpy(mv->hex, e->hex, sizeof mv->hex);
            snprintf(mv->from, sizeof mv->from, "%s", e->client);
        }
    }
    return op->count > 0;
}

static void start_next(struct gateway_migration *m)
{
    while (m->active == NULL && m->head != NULL) {
        migration_op *op = m->head;
        m->head = op->next;
        if (m->head == NULL)
            m->tail = NULL;
        m->waiting--;
        struct tkms_gateway *g = op->g;
        if (g->stopping || m->pool == NULL) {
            reply_error(g, op, 503, "the gateway is stopping");
            finish(m, op);
            continue;
        }
        if (!resolve(g, op)) {
            finish(m, op);
            continue;
        }
        m->active = op;
        if (tkms_workpool_submit(m->pool, worker_job, op) != TKMS_OK) {
            m->active = NULL;
            op->status = TKMS_ERR_NO_MEMORY;
            snprintf(op->error, sizeof op->error, "out of memory: the move could not be queued");
            op->done = 0;
            finish(m, op);
        }
    }
}

static void enqueue(struct gateway_migration *m, migration_op *op)
{
    if (m->tail != NULL)
        m->tail->next = op;
    else
        m->head = op;
    m->tail = op;
    m->waiting++;
    start_next(m);
}

/* ---- the rules (loop thread) -------------------------------------------------- */

/* Moves every key of client c to its standby (when it has one). */
static void move_to_standby(struct tkms_gateway *g, long c, migration_cause cause,
                            const char *reason)
{
    struct gateway_migration *m = g->migration;
    const gateway_client *client = &g->cfg->clients[c];
    if (m == NULL || client->standby == NULL || m->clients[c].queued || g->stopping)
        return;
    migration_op *op = calloc(1, sizeof *op);
    if (op == NULL)
        return;     /* the rule fires again on the next refusal or tick */
    op->g = g;
    op->cause = cause;
    snprintf(op->client, sizeof op->client, "%s", client->name);
    snprintf(op->to, sizeof op->to, "%s", client->standby);
    snprintf(op->reason, sizeof op->reason, "%s", reason);
    m->clients[c].queued = true;
    tkms_log(TKMS_LOG_WARN, "client unhealthy: moving its keys to its standby",
             "client=%s standby=%s cause=%s", client->name, client->standby, CAUSE_NAMES[cause]);
    enqueue(m, op);
}

void gateway_migration_sign_request(struct tkms_gateway *g, size_t client)
{
    if (g->migration != NULL && client < g->cfg->client_count)
        g->migration->clients[client].last_sign = gateway_now();
}

void gateway_migration_refusal(struct tkms_gateway *g, const char *client)
{
    long c = g->migration != NULL ? client_index(g, client) : -1;
    if (c < 0)
        return;
    client_state *s = &g->migration->clients[c];
    unsigned max = g->cfg->migration_max_refusals;
    double now = gateway_now();
    s->refusals[s->refusal_next] = now;
    s->refusal_next = (s->refusal_next + 1) % max;
    if (s->refusal_count < max)
        s->refusal_count++;
    /* Full ring: refusals[refusal_next] is the oldest of the last max. */
    double window = g->cfg->migration_window_seconds;
    if (s->refusal_count == max && now - s->refusals[s->refusal_next] <= window) {
        char reason[160];
        snprintf(reason, sizeof reason, "%u slashing refusals within %u s", max,
                 g->cfg->migration_window_seconds);
        move_to_standby(g, c, CAUSE_REFUSALS, reason);
    }
}

static bool has_keys(const struct tkms_gateway *g, const char *client)
{
    for (size_t i = 0; i < gateway_registry_count(g->keys); i++)
        if (strcmp(gateway_registry_at(g->keys, i)->client, client) == 0)
            return true;
    return false;
}

static void on_silence_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct tkms_gateway *g = arg;
    double now = gateway_now(), silence = g->cfg->migration_silence_seconds;
    for (size_t c = 0; c < g->cfg->client_count; c++) {
        client_state *s = &g->migration->clients[c];
        const gateway_client *client = &g->cfg->clients[c];
        if (client->standby == NULL || s->queued || now - s->last_sign < silence ||
            !has_keys(g, client->name))
            continue;
        char reason[160];
        snprintf(reason, sizeof reason, "no sign request for %u s",
                 g->cfg->migration_silence_seconds);
        move_to_standby(g, (long)c, CAUSE_SILENCE, reason);
    }
}

/* ---- the operator's routes (loop thread) ------------------------------------- */

/* A JSON string member, or NULL when absent; false when present but not a
 * string. */
static bool string_member(json_t *doc, const char *name, const char **out)
{
    json_t *v = json_object_get(doc, name);
    *out = json_is_string(v) ? json_string_value(v) : NULL;
    return v == NULL || *out != NULL;
}

static bool printable(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

/* Fills op from the body: the key or client, the target, the reason.
 * False with the reply sent. */
static bool parse_body(struct tkms_gateway *g, migration_op *op, tkms_http_request *req,
                       bool mark)
{
    size_t len = 0;
    const char *body = tkms_http_request_body(req, &len);
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    const char *pubkey = NULL, *to = NULL, *client = NULL, *reason = NULL;
    char why[300] = "";
    if (!json_is_object(doc))
        snprintf(why, sizeof why, "the body must be a JSON object%s%.200s",
                 doc == NULL ? ": " : "", doc == NULL ? jerr.text : "");
    else if (!string_member(doc, "pubkey", &pubkey) || !string_member(doc, "to", &to) ||
             !string_member(doc, "client", &client) || !string_member(doc, "reason", &reason))
        snprintf(why, sizeof why, "pubkey, to, client and reason must be strings");
    else if (reason != NULL && (strlen(reason) > GATEWAY_MIGRATION_REASON_MAX || !printable(reason)))
        snprintf(why, sizeof why, "reason: at most %u printable characters",
                 GATEWAY_MIGRATION_REASON_MAX);
    else if (mark && client == NULL)
        snprintf(why, sizeof why, "missing \"client\": the client to mark unhealthy");
    else if (mark && gateway_config_client(g->cfg, client) == NULL)
        snprintf(why, sizeof why, "no client named '%.64s'", printable(client) ? client : "?");
    else if (mark && gateway_config_client(g->cfg, client)->standby == NULL)
        snprintf(why, sizeof why, "client %.64s has no standby to take its keys", client);
    else if (!mark && (pubkey == NULL || to == NULL))
        snprintf(why, sizeof why, "missing \"pubkey\" or \"to\"");
    else if (!mark && (strlen(pubkey) != TKMS_HEX_SIZE(TKMS_PUBLIC_KEY_SIZE) - 1 ||
                       tkms_hex_decode(op->key, sizeof op->key, pubkey, NULL) != TKMS_OK))
        snprintf(why, sizeof why, "pubkey: expected 0x and 96 hex digits");
    else if (!mark && gateway_config_client(g->cfg, to) == NULL)
        snprintf(why, sizeof why, "no client named '%.64s'", printable(to) ? to : "?");
    if (why[0] == '\0') {
        op->one_key = !mark;
        const gateway_client *target =
            mark ? gateway_config_client(g->cfg, client) : gateway_config_client(g->cfg, to);
        snprintf(op->to, sizeof op->to, "%s", mark ? target->standby : target->name);
        if (mark)
            snprintf(op->client, sizeof op->client, "%s", target->name);
        snprintf(op->reason, sizeof op->reason, "%s", reason != NULL ? reason : "");
    }
    json_decref(doc);
    if (why[0] != '\0')
        gateway_reply_error(g, req, SERVER_ROUTE_ADMIN, 400, why, op->started);
    return why[0] == '\0';
}

void gateway_migration_handle(struct tkms_gateway *g, const gateway_listener *l,
                              tkms_http_request *req, double started)
{
    struct gateway_migration *m = g->migration;
    const char *path = tkms_http_request_path(req) + strlen(GATEWAY_MIGRATION_PREFIX);
    bool assign = strcmp(path, "assign") == 0, migrate = strcmp(path, "migrate") == 0,
         mark = strcmp(path, "mark-unhealthy") == 0;
    if (g->keymanager == NULL) {
        gateway_reply_error(g, req, SERVER_ROUTE_ADMIN, 404,
                            "the operator API is off (no keymanager.token_file)", started);
        return;
    }
    if (l->client >= 0) {
        gateway_reply_error(g, req, SERVER_ROUTE_ADMIN, 404,
                            "the operator API is served on the main listener only", started);
        return;
    }
    if (!gateway_keymanager_operator(g, l, req)) {
        gateway_reply_error(g, req, SERVER_ROUTE_ADMIN, 401, "missing or wrong bearer token",
                            started);
        return;
    }
    if (!assign && !migrate && !mark) {
        gateway_reply_error(g, req, SERVER_ROUTE_ADMIN, 404, "no such route", started);
        return;
    }
    if (strcmp(tkms_http_request_method(req), "POST") != 0) {
        gateway_reply_error(g, req, SERVER_ROUTE_ADMIN, 405, "method not allowed", started);
        return;
    }
    if (m->waiting >= GATEWAY_MIGRATION_MAX_WAITING) {
        gateway_reply_error(g, req, SERVER_ROUTE_ADMIN, 503,
                            "too many moves waiting; try again later", started);
        return;
    }
    migration_op *op = calloc(1, sizeof *op);
    if (op == NULL) {
        gateway_reply_error(g, req, SERVER_ROUTE_ADMIN, 500, "out of memory", started);
        return;
    }
    op->g = g;
    op->req = req;
    op->started = started;
    op->cause = mark ? CAUSE_MARK : CAUSE_OPERATOR;
    op->migrate = migrate;
    if (!parse_body(g, op, req, mark)) {
        free(op);
        return;
    }
    if (mark) {
        long c = client_index(g, op->client);
        if (m->clients[c].queued) {     /* a rule's move of its keys waits */
            op->req = NULL;
            gateway_reply_text(g, req, SERVER_ROUTE_ADMIN, 200, "application/json",
                               "{\"data\":[]}", started);
            free(op);
            return;
        }
        m->clients[c].queued = true;
        tkms_log(TKMS_LOG_WARN, "client marked unhealthy: moving its keys to its standby",
                 "client=%s standby=%s", op->client, op->to);
    }
    enqueue(m, op);
}

uint64_t gateway_migration_moved(const struct tkms_gateway *g)
{
    return g->migration != NULL ? g->migration->moved : 0;
}

/* ---- opening and closing ------------------------------------------------------ */

tkms_status gateway_migration_open(struct tkms_gateway *g, tkms_err *err)
{
    struct gateway_migration *m = calloc(1, sizeof *m);
    if (m == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "out of memory");
    g->migration = m;
    size_t clients = g->cfg->client_count;
    m->clients = calloc(clients ? clients : 1, sizeof *m->clients);
    if (m->clients == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "out of memory");
    double now = gateway_now();
    for (size_t c = 0; c < clients; c++) {
        m->clients[c].last_sign = now;
        m->clients[c].refusals = calloc(g->cfg->migration_max_refusals,
                                        sizeof *m->clients[c].refusals);
        if (m->clients[c].refusals == NULL)
            return tkms_fail(err, TKMS_ERR_NO_MEMORY, "out of memory");
    }
    char path[PATH_SIZE];
    snprintf(path, sizeof path, "%s/%s", g->cfg->data_dir, GATEWAY_AUDIT_FILE);
    tkms_status st = tkms_audit_open(&m->audit, path, err);
    if (st == TKMS_OK)
        st = tkms_workpool_new(&m->pool, 1, err);
    if (st == TKMS_OK)
        st = loop_queue_new(&m->loop, g->base, err);
    if (st == TKMS_OK && g->cfg->migration_silence_seconds > 0) {
        struct timeval every = {1, 0};
        m->timer = event_new(g->base, -1, EV_PERSIST, on_silence_timer, g);
        if (m->timer == NULL || event_add(m->timer, &every) != 0)
            st = tkms_fail(err, TKMS_ERR_NO_MEMORY, "cannot set up the silence timer");
    }
    return st;
}

void gateway_migration_close(struct tkms_gateway *g)
{
    struct gateway_migration *m = g->migration;
    if (m == NULL)
        return;
    if (m->timer != NULL)
        event_free(m->timer);
    /* The move under way finishes and posts back; its loop step runs in
     * loop_queue_free and answers. */
    tkms_workpool_free(m->pool);
    m->pool = NULL;
    loop_queue_free(m->loop);
    m->loop = NULL;
    start_next(m);                  /* answers every waiting move 503 */
    tkms_audit_close(m->audit);
    for (size_t c = 0; m->clients != NULL && c < g->cfg->client_count; c++)
        free(m->clients[c].refusals);
    free(m->clients);
    free(m);
    g->migration = NULL;
}

/* ---- offline ------------------------------------------------------------------ */

tkms_status gateway_migration_offline(const char *data_dir,
                                      const uint8_t key[TKMS_PUBLIC_KEY_SIZE], const char *to,
                                      bool migrate, const char *reason,
                                      char from[GATEWAY_CLIENT_NAME_MAX + 1], tkms_err *err)
{
    from[0] = '\0';
    if (to == NULL || !tkms_owner_id_valid(to))
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "--to: a client name is 1..64 of A-Z a-z 0-9 . _ -");
    if (reason == NULL)
        reason = "";
    if (strlen(reason) > GATEWAY_MIGRATION_REASON_MAX || !printable(reason))
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "--reason: at most %u printable characters",
                         GATEWAY_MIGRATION_REASON_MAX);
    gateway_registry *r = NULL;
    tkms_status st = gateway_registry_open(&r, data_dir, NULL, 0, NULL, err);
    const gateway_key_entry *e = st == TKMS_OK ? gateway_registry_find(r, key) : NULL;
    if (st == TKMS_OK && e == NULL)
        st = tkms_fail(err, TKMS_ERR_NOT_FOUND, "%s does not serve this key", data_dir);
    if (st == TKMS_OK && migrate && e->client[0] == '\0')
        st = tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                       "the key has no client to migrate from: use assign");
    key_move mv = {0};
    if (st == TKMS_OK) {
        memcpy(mv.key, key, sizeof mv.key);
        memcpy(mv.hex, e->hex, sizeof mv.hex);
        snprintf(mv.from, sizeof mv.from, "%s", e->client);
        snprintf(from, GATEWAY_CLIENT_NAME_MAX + 1, "%s", e->client);
    }
    if (st == TKMS_OK && strcmp(mv.from, to) != 0) {
        char path[PATH_SIZE];
        snprintf(path, sizeof path, "%s/%s", data_dir, GATEWAY_AUDIT_FILE);
        tkms_audit *audit = NULL;
        size_t done = 0;
        st = tkms_audit_open(&audit, path, err);
        if (st == TKMS_OK)
            st = apply_moves(audit, data_dir, &mv, 1, to, CAUSE_NAMES[CAUSE_OPERATOR], reason,
                             &done, err);
        tkms_audit_close(audit);
    }
    gateway_registry_free(r);
    return st;
}
