/*
 * server_routes.c — the threshold server's HTTP routes: the request is
 * classified and authorized on the event loop, and its work (signing,
 * admin, ceremonies) handed to the worker pool; /health and /metrics are
 * answered on the loop. The route table is in server.h. Under fault
 * injection (tests only) sign answers may be held before they are sent
 * (reply_delay.h).
 */
#include "server_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tkms/hex.h"
#include "tkms/log.h"

#define SIGN_PREFIX "/v1/eth2/sign/"
#define KEYS_PATH "/v1/keys"
#define CEREMONY_PATH "/v1/ceremony"
#define KEY_HEX_LEN (TKMS_HEX_SIZE(TKMS_PUBLIC_KEY_SIZE) - 1)

/* ---- replies and audit records ------------------------------------------------ */

static void count(tkms_server *s, server_route route, int status, double started)
{
    server_metrics_request(s->metrics, route, status, server_now() - started);
}

void server_reply_error(tkms_server *s, tkms_http_request *req, server_route route, int status,
                        const char *reason, double started)
{
    tkms_http_reply_error(req, status, reason);
    count(s, route, status, started);
}

void server_reply_json(tkms_server *s, tkms_http_request *req, server_route route, int status,
                       json_t *value, double started)
{
    char *text = value != NULL ? json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(value);
    if (text == NULL) {
        server_reply_error(s, req, route, 500, "out of memory", started);
        return;
    }
    tkms_http_reply(req, status, "application/json", text, strlen(text));
    free(text);
    count(s, route, status, started);
}

typedef struct {
    const char *event, *text;
} audit_line;

static tkms_status append_line(tkms_slashing_db *slashing, tkms_audit *audit, void *arg,
                               tkms_err *err)
{
    (void)slashing;
    const audit_line *line = arg;
    return tkms_audit_append(audit, line->event, line->text, err);
}

void server_audit(tkms_server *s, const char *event, const char *client, const char *action,
                  const char *subject, const char *outcome, const char *reason)
{
    json_t *data = json_pack("{s:s, s:s, s:s, s:s, s:s}", "client", client, "action", action,
                             "subject", subject != NULL ? subject : "", "outcome", outcome,
                             "reason", reason != NULL ? reason : "");
    char *text = data != NULL ? json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(data);
    audit_line line = {event, text};
    tkms_err e;
    tkms_err_clear(&e);
    if (text == NULL)
        tkms_fail(&e, TKMS_ERR_NO_MEMORY, "out of memory");
    else
        tkms_signer_with_records(s->signer, append_line, &line, &e);
    if (e.status != TKMS_OK)
        tkms_log(TKMS_LOG_ERROR, "cannot write the audit log", "event=%s action=%s reason=%s",
                 event, action, e.message);
    free(text);
}

/* ---- work on the pool ---------------------------------------------------------- */

typedef enum {
    JOB_SIGN,
    JOB_KEYS_LIST,
    JOB_KEYS_IMPORT,
    JOB_KEY_DELETE,
    JOB_KEY_LOCK,
    JOB_KEY_UNLOCK,
    JOB_CEREMONY_START,
    JOB_CEREMONY_STEP,
    JOB_CEREMONY_STATUS,
    JOB_DENIED,          /* audit the denial (off the loop: it waits for the disk), 403 */
} job_kind;

typedef struct {
    tkms_server *server;
    tkms_http_request *req;
    job_kind kind;
    double started;
    uint8_t key[TKMS_PUBLIC_KEY_SIZE];
    char subject[256];                 /* the sign key's hex, or the ceremony path */
    server_route route;                /* JOB_DENIED: for the metrics              */
    char denial[TKMS_ERR_MESSAGE_SIZE];
} job;

/* A sign answer: at once, or held by the fault-injection delay. */
static void sign_reply(job *j, int status, const char *body, size_t len)
{
    tkms_server *s = j->server;
    if (s->delay == NULL) {
        tkms_http_reply(j->req, status, "application/json", body, len);
        count(s, SERVER_ROUTE_SIGN, status, j->started);
    } else {
        reply_delay_send(s->delay, j->req, SERVER_ROUTE_SIGN, status, "application/json", body,
                         len, j->started);
    }
}

static void sign_refusal(job *j, int status, const char *reason)
{
    json_t *value = j->server->delay != NULL ? json_pack("{s:s}", "error", reason) : NULL;
    char *text = value != NULL ? json_dumps(value, JSON_COMPACT) : NULL;
    json_decref(value);
    if (text != NULL)
        sign_reply(j, status, text, strlen(text));
    else        /* no delay (or no memory for it): as every other route does */
        server_reply_error(j->server, j->req, SERVER_ROUTE_SIGN, status, reason, j->started);
    free(text);
}

static void run_sign(job *j)
{
    size_t len;
    const char *body = (const char *)tkms_http_request_body(j->req, &len);
    tkms_signer_result result;
    tkms_signer_sign_announced(j->server->signer, tkms_http_request_client(j->req), j->subject,
                               body, len, &result, NULL);
    if (result.status == 200) {
        sign_reply(j, 200, result.body, result.body_len);
    } else {
        char client[128], key[24], reason[512];
        tkms_log(TKMS_LOG_INFO, "sign refused", "client=%s key=%s status=%d reason=%s",
                 tkms_log_quote(client, sizeof client, tkms_http_request_client(j->req)),
                 tkms_log_quote(key, sizeof key, j->subject), result.status,
                 tkms_log_quote(reason, sizeof reason, result.reason));
        sign_refusal(j, result.status, result.reason);
    }
    tkms_signer_result_free(&result);
}

/* Splits a ceremony subject "0x<id>[/action]" at the slash. */
static const char *ceremony_action(char *subject)
{
    char *slash = strchr(subject, '/');
    if (slash == NULL)
        return "";
    *slash = '\0';
    return slash + 1;
}

static void run_ceremony(job *j)
{
    tkms_server *s = j->server;
    size_t len;
    const char *body = (const char *)tkms_http_request_body(j->req, &len);
    const char *client = tkms_http_request_client(j->req);
    const char *action = "start", *id = "";
    ceremony_reply reply;
    if (j->kind == JOB_CEREMONY_START) {
        ceremony_host_start(s->ceremonies, body, len, &reply);
    } else {
        id = j->subject;
        action = ceremony_action(j->subject);
        if (j->kind == JOB_CEREMONY_STATUS && action[0] == '\0') {
            action = "status";
            ceremony_host_status(s->ceremonies, id, &reply);
        } else if (j->kind == JOB_CEREMONY_STEP && strcmp(action, "round") == 0) {
            ceremony_host_round(s->ceremonies, id, body, len, &reply);
        } else if (j->kind == JOB_CEREMONY_STEP && strcmp(action, "commit") == 0) {
            /* A commit changes the key store: not while an admin call does. */
            pthread_mutex_lock(&s->admin);
            ceremony_host_commit(s->ceremonies, id, &reply);
            pthread_mutex_unlock(&s->admin);
        } else if (j->kind == JOB_CEREMONY_STEP && strcmp(action, "abort") == 0) {
            ceremony_host_abort(s->ceremonies, id, &reply);
        } else {
            server_reply_error(s, j->req, SERVER_ROUTE_CEREMONY, 404,
                               "no such ceremony route (round, commit, abort, or GET the id)",
                               j->started);
            return;
        }
    }
    const char *ceremony_id = json_string_value(json_object_get(reply.body, "ceremony_id"));
    if (strcmp(action, "status") != 0)
        server_audit(s, "ceremony", client, action, ceremony_id != NULL ? ceremony_id : id,
                     reply.status == 200 ? "ok" : "error", reply.reason);
    if (reply.status == 200) {
        server_reply_json(s, j->req, SERVER_ROUTE_CEREMONY, 200, json_incref(reply.body),
                          j->started);
    } else {
        server_reply_error(s, j->req, SERVER_ROUTE_CEREMONY, reply.status, reply.reason,
                           j->started);
    }
    ceremony_reply_clear(&reply);
}

static void run_job(void *arg)
{
    job *j = arg;
    switch (j->kind) {
    case JOB_SIGN:
        run_sign(j);
        break;
    case JOB_KEYS_LIST:
        server_admin_list(j->server, j->req);
        break;
    case JOB_KEYS_IMPORT:
        server_admin_import(j->server, j->req);
        break;
    case JOB_KEY_DELETE:
        server_admin_delete(j->server, j->req, j->key);
        break;
    case JOB_KEY_LOCK:
    case JOB_KEY_UNLOCK:
        server_admin_lock(j->server, j->req, j->key, j->kind == JOB_KEY_LOCK);
        break;
    case JOB_DENIED:
        server_audit(j->server, j->route == SERVER_ROUTE_ADMIN ? "admin" : "ceremony",
                     tkms_http_request_client(j->req), tkms_http_request_path(j->req), "",
                     "denied", j->denial);
        server_reply_error(j->server, j->req, j->route, 403, j->denial, j->started);
        break;
    default:
        run_ceremony(j);
        break;
    }
    free(j);
}

/* ---- classification on the loop ---------------------------------------------------- */

/* Parses "0x<96 hex>" (exactly, lower or upper case) from the start of
 * `text`; the rest must be `tail`. */
static bool key_then(const char *text, const char *tail, uint8_t key[TKMS_PUBLIC_KEY_SIZE])
{
    char hex[KEY_HEX_LEN + 1];
    if (strlen(text) != KEY_HEX_LEN + strlen(tail) || strcmp(text + KEY_HEX_LEN, tail) != 0)
        return false;
    memcpy(hex, text, KEY_HEX_LEN);
    hex[KEY_HEX_LEN] = '\0';
    return tkms_hex_decode(key, TKMS_PUBLIC_KEY_SIZE, hex, NULL) == TKMS_OK;
}

/* Keys by state and shares (from the signer's memory: no file is read
 * on the event loop), and the group-commit counters. */
static server_key_counts key_counts(tkms_server *s)
{
    tkms_signer_key_counts keys;
    tkms_signer_record_stats stats;
    tkms_signer_count_keys(s->signer, &keys);
    tkms_signer_records_stats(s->signer, &stats);
    return (server_key_counts){keys.ready, keys.locked, keys.unavailable, keys.shares,
                               stats.commits, stats.records};
}

static void health(tkms_server *s, tkms_http_request *req, double started)
{
    server_key_counts counts = key_counts(s);
    char identity[TKMS_HEX_SIZE(TKMS_IDENTITY_PUBLIC_SIZE)];
    tkms_hex_encode(identity, s->identity_public, TKMS_IDENTITY_PUBLIC_SIZE);
    server_reply_json(s, req, SERVER_ROUTE_HEALTH, 200,
                      json_pack("{s:s, s:s, s:{s:I, s:I, s:I}}", "status", "ok", "server",
                                identity, "keys", "ready", (json_int_t)counts.ready, "locked",
                                (json_int_t)counts.locked, "unavailable",
                                (json_int_t)counts.unavailable),
                      started);
}

static void metrics(tkms_server *s, tkms_http_request *req, double started)
{
    server_key_counts counts = key_counts(s);
    char *text = server_metrics_render(s->metrics, &counts);
    if (text == NULL) {
        server_reply_error(s, req, SERVER_ROUTE_METRICS, 500, "out of memory", started);
        return;
    }
    tkms_http_reply(req, 200, "text/plain; version=0.0.4", text, strlen(text));
    free(text);
    count(s, SERVER_ROUTE_METRICS, 200, started);
}

/* Which job a request is, and which operation it needs; false with a
 * status and reason when there is no such route. */
static bool classify(const char *method, const char *path, job *j, server_operation *op,
                     server_route *route, int *status, char *reason, size_t size)
{
    bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0,
         del = strcmp(method, "DELETE") == 0;
    *status = 405;
    if (strncmp(path, SIGN_PREFIX, strlen(SIGN_PREFIX)) == 0) {
        *route = SERVER_ROUTE_SIGN;
        *op = SERVER_OP_SIGN;
        snprintf(j->subject, sizeof j->subject, "%.200s", path + strlen(SIGN_PREFIX));
        j->kind = JOB_SIGN;
        if (post)
            return true;
    } else if (strncmp(path, KEYS_PATH, strlen(KEYS_PATH)) == 0) {
        *route = SERVER_ROUTE_ADMIN;
        *op = SERVER_OP_ADMIN;
        const char *rest = path + strlen(KEYS_PATH);
        if (strcmp(rest, "") == 0 || strcmp(rest, "/") == 0) {
            j->kind = get ? JOB_KEYS_LIST : JOB_KEYS_IMPORT;
            if (get || post)
                return true;
        } else if (rest[0] == '/' && key_then(rest + 1, "", j->key)) {
            j->kind = JOB_KEY_DELETE;
            if (del)
                return true;
        } else if (rest[0] == '/' && key_then(rest + 1, "/lock", j->key)) {
            j->kind = JOB_KEY_LOCK;
            if (post)
                return true;
        } else if (rest[0] == '/' && key_then(rest + 1, "/unlock", j->key)) {
            j->kind = JOB_KEY_UNLOCK;
            if (post)
                return true;
        } else {
            *status = 404;
            snprintf(reason, size, "no such route: %.20s %.100s (a key is 0x and 96 hex digits)",
                     method, path);
            return false;
        }
    } else if (strncmp(path, CEREMONY_PATH, strlen(CEREMONY_PATH)) == 0) {
        *route = SERVER_ROUTE_CEREMONY;
        *op = SERVER_OP_CEREMONY;
        const char *rest = path + strlen(CEREMONY_PATH);
        snprintf(j->subject, sizeof j->subject, "%.200s", rest[0] == '/' ? rest + 1 : rest);
        if (strcmp(rest, "") == 0) {
            j->kind = JOB_CEREMONY_START;
            if (post)
                return true;
        } else if (rest[0] == '/') {
            j->kind = get ? JOB_CEREMONY_STATUS : JOB_CEREMONY_STEP;
            if (get || post)
                return true;
        } else {
            *status = 404;
        }
    } else {
        *route = SERVER_ROUTE_OTHER;
        *status = 404;
    }
    if (*status == 405)
        snprintf(reason, size, "method %.20s is not allowed on %.100s", method, path);
    else
        snprintf(reason, size, "no such route: %.20s %.100s", method, path);
    return false;
}

void server_handle(tkms_http_request *req, void *arg)
{
    tkms_server *s = arg;
    double started = server_now();
    const char *method = tkms_http_request_method(req);
    const char *path = tkms_http_request_path(req);
    const char *client = tkms_http_request_client(req);
    char reason[TKMS_ERR_MESSAGE_SIZE];

    if (strcmp(path, "/health") == 0 && strcmp(method, "GET") == 0) {
        health(s, req, started);
        return;
    }
    if (strcmp(path, "/metrics") == 0 && strcmp(method, "GET") == 0) {
        if (!server_rules_allow(s->cfg->rules, client, SERVER_OP_METRICS, 0, NULL)) {
            server_rules_denial(reason, sizeof reason, client, SERVER_OP_METRICS, 0, NULL);
            server_reply_error(s, req, SERVER_ROUTE_METRICS, 403, reason, started);
            return;
        }
        metrics(s, req, started);
        return;
    }

    job *j = calloc(1, sizeof *j);
    if (j == NULL) {
        server_reply_error(s, req, SERVER_ROUTE_OTHER, 500, "out of memory", started);
        return;
    }
    j->server = s;
    j->req = req;
    j->started = started;
    server_operation op;
    server_route route = SERVER_ROUTE_OTHER;
    int status;
    if (!classify(method, path, j, &op, &route, &status, reason, sizeof reason)) {
        free(j);
        server_reply_error(s, req, route, status, reason, started);
        return;
    }
    /* Signing is authorized per type once the body is parsed (the
     * signer's authorizer); everything else here. */
    if (op != SERVER_OP_SIGN && !server_rules_allow(s->cfg->rules, client, op, 0, NULL)) {
        server_rules_denial(reason, sizeof reason, client, op, 0, NULL);
        char quoted_client[128], quoted_path[256];
        tkms_log(TKMS_LOG_WARN, "denied", "client=%s op=%s path=%s",
                 tkms_log_quote(quoted_client, sizeof quoted_client, client),
                 server_operation_name(op), tkms_log_quote(quoted_path, sizeof quoted_path, path));
        j->kind = JOB_DENIED;
        j->route = route;
        snprintf(j->denial, sizeof j->denial, "%s", reason);
    } else if (op == SERVER_OP_CEREMONY && s->ceremonies == NULL) {
        free(j);
        server_reply_error(s, req, route, 503,
                           "this server takes no part in ceremonies: set its owner id "
                           "(owner, TKMS_OWNER or --owner)",
                           started);
        return;
    }
    bool sign = j->kind == JOB_SIGN;
    if (sign)       /* before it can run: run_sign ends the announcement */
        tkms_signer_announce(s->signer);
    if (tkms_workpool_submit(s->workers, run_job, j) != TKMS_OK) {
        if (sign)
            tkms_signer_withdraw(s->signer);
        free(j);
        server_reply_error(s, req, route, 503, "server overloaded", started);
    }
}
