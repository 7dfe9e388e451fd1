/*
 * gateway_sign.c — one Web3Signer sign request at the gateway: the body is
 * checked and its signing root computed here. A block proposal or an
 * attestation is then checked and recorded in the gateway's own slashing
 * database (EIP-3076, tkms/slashing.h) before any server sees it: that
 * database may be shared by several gateways serving the same keys
 * (PostgreSQL), so two gateways (an old and a new validator client after a
 * migration) cannot both get a slashable pair signed, and a refusal costs
 * the servers nothing. The check runs on a worker thread, never on the
 * event loop, and checks arriving together share one COMMIT (a group
 * commit, as the servers' record_queue.c); the request then comes back to
 * the loop (loop_queue.h) for the fan-out.
 *
 * The fan-out sends the request at once to every server holding shares of
 * the key (skipping banned ones) over the fan-out's persistent mutual-TLS
 * connections; each answer goes to the request's sign session
 * (sign_session.h), and the client gets its signature as soon as K valid
 * partials are in. Servers that are still answering then finish in the
 * background (their connections stay open for the next request). A server
 * proven to have lied is banned with its signed response and the request
 * as evidence.
 *
 * The session's work — reading each response, the combine and its final
 * verify, a server's signature when it is blamed, a ban's durable write —
 * is CPU or disk
 * time the event loop cannot spare (it drives every connection), so it
 * runs on the sessions' worker pool (gateway_sessions): the loop only
 * queues each answer in the request's inbox and, unless the request's job
 * is under way already, starts one; the job feeds the session everything
 * in the inbox, bans the liars it found, and hands the request back to
 * the loop, which replies once the session is done.
 */
#include "gateway_internal.h"
#include "migration.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "tkms/eth2.h"
#include "tkms/hex.h"
#include "tkms/log.h"

#define PATH_SIZE 4096

typedef struct sign_request sign_request;

/* One server's part of a request: the fan-out's callback argument, then
 * (once its answer is in) an input of the session, waiting in the
 * request's inbox for the request's job. */
typedef struct server_call {
    sign_request *request;
    size_t holder;              /* position in the key's holders */
    bool answered;              /* a 200 body; else a failure for `reason` */
    char *body;                 /* answered: a copy of the response        */
    size_t len;
    char reason[200];
    struct server_call *next_in;    /* the inbox                           */
    bool banned;                /* the job recorded its ban (for the loop)  */
    bool ban_created, ban_learnt;
} server_call;

struct sign_request {
    struct tkms_gateway *g;
    tkms_http_request *req;     /* NULL once answered */
    const gateway_key_entry *entry;
    gateway_session *session;
    char *body;                 /* the request, for evidence */
    size_t body_len;
    size_t outstanding;         /* fan-out callbacks still to come */
    size_t faulty_seen;         /* faulty servers already banned */
    int refused_412, refused_400;
    char refusal[200];          /* a server's 412/400 reason */
    double started;

    /* The gateway's slashing check (BLOCK_V2, ATTESTATION): what is
     * checked, then the decision (set on the worker thread, read on the
     * loop thread after the loop queue handed the request back). */
    tkms_eth2_type type;
    uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE];   /* a copy: the registry is the loop's */
    uint64_t slot_or_source, target;
    uint8_t signing_root[TKMS_ROOT_SIZE];
    int check_http;             /* 200 recorded; 400, 412, 500, 503 */
    char check_reason[TKMS_ERR_MESSAGE_SIZE + 64];
    struct sign_request *next;  /* gateway_records' lists (waiting, leaving) */
    loop_queue_item back;       /* to the loop once checked, then once the
                                 * session's job is done                   */

    /* The session's work (gateway_sessions). `state` is the session's as
     * the loop last saw it: the loop reads the session only while no job
     * runs. The inbox is guarded by g->sessions.lock. */
    gateway_session_state state;
    size_t pool_seen;           /* partials in the session's pool then     */
    bool busy;                  /* a job queued or running, or its hand-back */
    uint64_t mark;              /* from g->sessions.marks when it got busy */
    struct sign_request *busy_prev, *busy_next;
    server_call *inbox, *inbox_tail;

    server_call calls[];
};

static void request_free(sign_request *r)
{
    gateway_session_free(r->session);
    for (size_t i = 0; i < r->entry->key.server_count; i++)
        free(r->calls[i].body);
    free(r->body);
    free(r);
}

/* Bans every newly faulty server with its evidence: {"request": …,
 * "response": …} (the response as the server sent it, signed). On the
 * request's job: the write is durable before the client is answered, and
 * the loop learns of it (learn_bans) when the job hands back. */
static void ban_faulty(sign_request *r)
{
    size_t count = 0;
    const gateway_fault *faults = gateway_session_faulty(r->session, &count);
    for (; r->faulty_seen < count; r->faulty_seen++) {
        const gateway_fault *f = &faults[r->faulty_seen];
        const gateway_holder *holder = &r->entry->key.servers[f->server];
        json_t *evidence = json_pack("{s:s, s:s#, s:s#, s:s}", "key", r->entry->hex, "request",
                                     r->body, (int)r->body_len, "response",
                                     f->evidence != NULL ? f->evidence : "",
                                     (int)f->evidence_len, "reason", f->reason);
        char *text = evidence != NULL ? json_dumps(evidence, JSON_COMPACT) : NULL;
        json_decref(evidence);
        tkms_err e;
        bool created = false;
        tkms_status st = tkms_banlist_ban(r->g->bans, holder->name, NULL, f->reason, text,
                                          text != NULL ? strlen(text) : 0, (int64_t)time(NULL),
                                          NULL, &created, &e);
        free(text);
        char reason[300];
        if (st == TKMS_OK) {
            r->calls[f->server].banned = true;
            r->calls[f->server].ban_created = created;
            tkms_log(TKMS_LOG_ERROR, "server locked out", "server=%s key=%s reason=%s",
                     holder->name, r->entry->hex, tkms_log_quote(reason, sizeof reason, f->reason));
        } else {
            tkms_log(TKMS_LOG_ERROR, "cannot record a lockout", "server=%s reason=%s",
                     holder->name, tkms_log_quote(reason, sizeof reason, e.message));
        }
    }
}

static void answer(sign_request *r, gateway_session_state state)
{
    if (r->req == NULL || state == GATEWAY_SESSION_PENDING)
        return;
    struct tkms_gateway *g = r->g;
    if (state == GATEWAY_SESSION_DONE) {
        uint8_t sig[TKMS_SIGNATURE_SIZE];
        char hex[TKMS_HEX_SIZE(TKMS_SIGNATURE_SIZE)], body[TKMS_HEX_SIZE(TKMS_SIGNATURE_SIZE) + 32];
        gateway_session_signature(r->session, sig);
        tkms_hex_encode(hex, sig, sizeof sig);
        snprintf(body, sizeof body, "{\"signature\":\"%s\"}", hex);
        gateway_reply_text(g, r->req, SERVER_ROUTE_SIGN, 200, "application/json", body,
                           r->started);
    } else {
        char report[900];
        gateway_session_report(r->session, report, sizeof report);
        int status = r->refused_412 > 0 ? 412 : r->refused_400 > 0 ? 400 : 503;
        if (status == 412)
            gateway_migration_refusal(g, r->entry->client);
        char reason[1200];
        if (status == 503)
            snprintf(reason, sizeof reason, "not enough valid partial signatures: %.900s",
                     report);
        else
            snprintf(reason, sizeof reason, "%.200s (%.900s)", r->refusal, report);
        gateway_reply_error(g, r->req, SERVER_ROUTE_SIGN, status, reason, r->started);
    }
    r->req = NULL;
}

/* The reason a server gave in an error body ({"error": …}), shortened. */
static void error_reason(char *out, size_t size, const char *body, size_t len)
{
    json_t *j = json_loadb(body, len, 0, NULL);
    const char *text = json_string_value(json_object_get(j, "error"));
    snprintf(out, size, "%.150s", text != NULL ? text : "no reason given");
    json_decref(j);
}

/* ---- the session's work (a worker) -------------------------------------------- */

static void session_back(void *arg);

/* The job: feeds the session what waits in the inbox (until it is
 * empty), bans the liars found, and hands the request back to the loop. */
static void session_job(void *arg)
{
    sign_request *r = arg;
    gateway_sessions *ss = &r->g->sessions;
    for (;;) {
        pthread_mutex_lock(&ss->lock);
        server_call *in = r->inbox;
        r->inbox = r->inbox_tail = NULL;
        pthread_mutex_unlock(&ss->lock);
        if (in == NULL)
            break;
        for (; in != NULL; in = in->next_in) {
            if (in->answered)
                gateway_session_response(r->session, in->holder, in->body, in->len);
            else
                gateway_session_failed(r->session, in->holder, in->reason);
            free(in->body);
            in->body = NULL;
        }
        ban_faulty(r);
    }
    loop_queue_post(ss->loop, &r->back, session_back, r);
}

/* Loop: runs the request's job on the pool — or here, when the pool is
 * gone (the gateway is closing) or cannot take it. */
static void session_run(sign_request *r)
{
    tkms_workpool *pool = r->g->sessions.pool;
    if (pool == NULL || tkms_workpool_submit(pool, session_job, r) != TKMS_OK)
        session_job(r);
}

/* Loop: the request gets busy (its mark, the end of the busy list). */
static void busy_begin(sign_request *r)
{
    gateway_sessions *ss = &r->g->sessions;
    r->busy = true;
    r->mark = ss->marks++;
    r->busy_next = NULL;
    r->busy_prev = ss->busy_tail;
    if (ss->busy_tail != NULL)
        ss->busy_tail->busy_next = r;
    else
        ss->busy_head = r;
    ss->busy_tail = r;
}

static void busy_end(sign_request *r)
{
    gateway_sessions *ss = &r->g->sessions;
    if (r->busy_prev != NULL)
        r->busy_prev->busy_next = r->busy_next;
    else
        ss->busy_head = r->busy_next;
    if (r->busy_next != NULL)
        r->busy_next->busy_prev = r->busy_prev;
    else
        ss->busy_tail = r->busy_prev;
    r->busy = false;
}

uint64_t gateway_sign_mark(const struct tkms_gateway *g)
{
    return g->sessions.marks;
}

bool gateway_sign_passed(const struct tkms_gateway *g, uint64_t mark)
{
    return g->sessions.busy_head == NULL || g->sessions.busy_head->mark >= mark;
}

/* Whether what waits in the inbox is worth a job now (ss->lock held, no
 * job under way): a failure (it may end the session early), answers that
 * could bring the pool to K, or the last outcome to come. Until then
 * answers wait, so that one job checks them all and combines: one hand-off
 * to a worker and back per request, not one per answer. */
static bool inbox_ready(const sign_request *r)
{
    if (r->outstanding == 0)
        return r->inbox != NULL;
    size_t partials = r->pool_seen;
    for (const server_call *c = r->inbox; c != NULL; c = c->next_in) {
        if (!c->answered)
            return true;
        partials += r->entry->key.servers[c->holder].index_count;
    }
    return partials >= r->entry->key.group->threshold;
}

/* Loop: queues a server's outcome for the session; starts the request's
 * job when the inbox is ready for one, unless it is under way (it then
 * takes this one too). */
static void session_give(sign_request *r, server_call *call)
{
    gateway_sessions *ss = &r->g->sessions;
    call->next_in = NULL;
    pthread_mutex_lock(&ss->lock);
    if (r->inbox_tail != NULL)
        r->inbox_tail->next_in = call;
    else
        r->inbox = call;
    r->inbox_tail = call;
    bool start = !r->busy && inbox_ready(r);
    pthread_mutex_unlock(&ss->lock);
    if (!start)
        return;
    busy_begin(r);
    session_run(r);
}

/* Loop: what the job's bans change here (the copy of the ban list, the
 * lockout count). */
static void learn_bans(sign_request *r)
{
    for (size_t i = 0; i < r->entry->key.server_count; i++) {
        server_call *c = &r->calls[i];
        if (!c->banned || c->ban_learnt)
            continue;
        c->ban_learnt = true;
        gateway_bans_learn(r->g, r->entry->server_of[i]);
        if (c->ban_created)
            r->g->lockouts++;
    }
}

/* Loop: the job is done. Answers when the session is, runs the job again
 * for what came meanwhile, frees the request once nothing is left. */
static void session_back(void *arg)
{
    sign_request *r = arg;
    gateway_sessions *ss = &r->g->sessions;
    learn_bans(r);
    r->state = gateway_session_state_of(r->session);
    r->pool_seen = gateway_session_partial_count(r->session);
    answer(r, r->state);
    pthread_mutex_lock(&ss->lock);
    server_call *left = NULL;
    bool again = false;
    if (r->state != GATEWAY_SESSION_PENDING) {
        left = r->inbox;                      /* a late answer is not examined */
        r->inbox = r->inbox_tail = NULL;
    } else {
        again = inbox_ready(r);               /* else the answers wait for more */
    }
    pthread_mutex_unlock(&ss->lock);
    if (again) {
        session_run(r);                       /* still busy, with its mark */
        return;
    }
    for (; left != NULL; left = left->next_in) {
        free(left->body);
        left->body = NULL;
    }
    busy_end(r);
    if (r->outstanding == 0) {
        answer(r, r->state);                  /* cannot stay pending */
        request_free(r);
    }
}

/* ---- the fan-out (the loop) ---------------------------------------------------- */

static void on_answer(void *arg, const tkms_fanout_result *res)
{
    server_call *call = arg;
    sign_request *r = call->request;
    struct tkms_gateway *g = r->g;
    size_t config_index = r->entry->server_of[call->holder];
    server_health *h = &g->health[config_index];
    if (res->outcome == TKMS_FANOUT_OK && res->status == 200) {
        h->sign_ok++;
        h->latency_ms = res->seconds * 1e3;
        call->answered = true;
        if (r->state == GATEWAY_SESSION_PENDING &&   /* a late answer is not examined */
            (call->body = malloc(res->len + 1)) != NULL) {
            memcpy(call->body, res->body, res->len);
            call->body[res->len] = '\0';
            call->len = res->len;
        } else if (r->state == GATEWAY_SESSION_PENDING) {
            call->answered = false;
            snprintf(call->reason, sizeof call->reason, "gateway: out of memory");
        }
    } else {
        char text[160];
        h->sign_failed++;
        call->answered = false;
        if (res->outcome == TKMS_FANOUT_OK) {
            error_reason(text, sizeof text, res->body, res->len);
            snprintf(call->reason, sizeof call->reason, "%ld: %s", res->status, text);
            if (res->status == 412 || res->status == 400) {
                if (res->status == 412)
                    r->refused_412++;
                else
                    r->refused_400++;
                snprintf(r->refusal, sizeof r->refusal, "%s", text);
            }
        } else {
            snprintf(call->reason, sizeof call->reason, "%s",
                     res->error != NULL ? res->error : "failed");
        }
        snprintf(h->last_error, sizeof h->last_error, "%.150s", call->reason);
    }
    r->outstanding--;                         /* before: the last one starts a job */
    if (r->state == GATEWAY_SESSION_PENDING)
        session_give(r, call);
    if (r->outstanding == 0 && !r->busy) {
        answer(r, r->state);                  /* cannot stay pending */
        request_free(r);
    }
}

/* The fan-out of one request, in three steps so that requests that leave
 * together can go to each server in turn (fan_out_batch). fan_begin
 * counts every call first: a callback never runs inside
 * tkms_fanout_request, but a failure to start one is answered here (no
 * job can be under way yet, so the loop may feed the session). */
static void fan_begin(sign_request *r)
{
    r->outstanding = r->entry->key.server_count + 1;
}

/* Starts the call to the key's holder `i` (or fails it: locked out, or
 * it could not be started). */
static void fan_call(sign_request *r, size_t i)
{
    struct tkms_gateway *g = r->g;
    const gateway_key_entry *entry = r->entry;
    const gateway_server_config *server = &g->servers[entry->server_of[i]];
    tkms_err e;
    gateway_session_state state;
    if (gateway_banned(g, entry->server_of[i])) {
        state = gateway_session_failed(r->session, i, "locked out");
    } else {
        char url[600];
        snprintf(url, sizeof url, "%s/v1/eth2/sign/%s", server->url, entry->hex);
        r->calls[i] = (server_call){.request = r, .holder = i};
        if (tkms_fanout_request(g->fanout, "POST", url, "application/json", r->body,
                                r->body_len, g->cfg->timeout_ms, on_answer, &r->calls[i], NULL,
                                &e) == TKMS_OK)
            return;
        state = gateway_session_failed(r->session, i, e.message);
    }
    r->outstanding--;
    r->state = state;
    answer(r, state);
}

/* Ends the counting of fan_begin (may free the request). */
static void fan_end(sign_request *r)
{
    if (--r->outstanding == 0 && !r->busy) {
        answer(r, r->state);
        request_free(r);
    }
}

/* Sends the request to every server holding shares of the key. */
static void fan_out(sign_request *r)
{
    fan_begin(r);
    for (size_t i = 0; i < r->entry->key.server_count; i++)
        fan_call(r, i);
    fan_end(r);
}

/* Sends the requests of list `head` (linked by `next`), server by server:
 * each server gets the requests that leave together back to back, so
 * that it can record them in one group commit. */
static void fan_out_batch(struct tkms_gateway *g, sign_request *head)
{
    for (sign_request *r = head; r != NULL; r = r->next)
        fan_begin(r);
    for (size_t s = 0; s < g->cfg->server_count; s++)
        for (sign_request *r = head; r != NULL; r = r->next)
            for (size_t i = 0; i < r->entry->key.server_count; i++)
                if (r->entry->server_of[i] == s)
                    fan_call(r, i);
    while (head != NULL) {
        sign_request *next = head->next;
        fan_end(head);
        head = next;
    }
}

/* ---- the gateway's slashing records ------------------------------------------ */

static void set_check(sign_request *r, int http, const char *prefix, const char *reason)
{
    r->check_http = http;
    snprintf(r->check_reason, sizeof r->check_reason, "%s%s", prefix, reason);
}

/* Checks one request inside the open batch. */
static void check_one(tkms_slashing_db *db, sign_request *r)
{
    tkms_err e;
    tkms_err_clear(&e);
    tkms_status st =
        r->type == TKMS_ETH2_BLOCK_V2
            ? tkms_slashing_check_block(db, r->pubkey, r->slot_or_source, r->signing_root, &e)
            : tkms_slashing_check_attestation(db, r->pubkey, r->slot_or_source, r->target,
                                              r->signing_root, &e);
    switch (st) {
    case TKMS_OK:
        set_check(r, 200, "", "");      /* durable only once the batch commits */
        break;
    case TKMS_ERR_REFUSED:
        set_check(r, 412, "refused by the gateway's slashing protection: ", e.message);
        break;
    case TKMS_ERR_INVALID_ARGUMENT:
        set_check(r, 400, "", e.message);
        break;
    case TKMS_ERR_NO_MEMORY:
        set_check(r, 500, "", "out of memory");
        break;
    default:    /* could not check or record: not signed, the client may retry */
        set_check(r, 503, "the gateway could not record the slashing check: ", e.message);
        break;
    }
}

/*
 * One group commit: every check of the batch in one slashing transaction.
 * Sorted by key first (stable, so one key's requests keep their order):
 * with PostgreSQL each check holds its key's lock until the COMMIT, and
 * batches that all take their keys in the same order never deadlock, here
 * or against another gateway.
 */
static void check_batch(tkms_slashing_db *db, sign_request **batch, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        sign_request *r = batch[i];
        size_t j = i;
        for (; j > 0 && memcmp(batch[j - 1]->pubkey, r->pubkey, TKMS_PUBLIC_KEY_SIZE) > 0; j--)
            batch[j] = batch[j - 1];
        batch[j] = r;
    }
    tkms_err e;
    if (tkms_slashing_begin(db, &e) != TKMS_OK) {
        for (size_t i = 0; i < n; i++)
            set_check(batch[i], 503, "the gateway could not record the slashing check: ",
                      e.message);
        return;
    }
    for (size_t i = 0; i < n; i++)
        check_one(db, batch[i]);
    if (tkms_slashing_commit(db, &e) == TKMS_OK)
        return;
    /* Nothing of the batch was recorded: what it allowed may not be signed,
     * and a refusal may have rested on a record that is gone. */
    for (size_t i = 0; i < n; i++)
        if (batch[i]->check_http == 200 || batch[i]->check_http == 412)
            set_check(batch[i], 503, "the gateway could not record the slashing check: ",
                      e.message);
}

/* Back on the loop thread with the decision. */
static void after_check(void *arg)
{
    sign_request *r = arg;
    struct tkms_gateway *g = r->g;
    if (g->stopping && r->check_http == 200)
        set_check(r, 503, "", "the gateway is stopping");
    if (r->check_http == 200) {     /* leaves with its batch (after_check_last) */
        gateway_records *rec = &g->records;
        r->next = NULL;
        if (rec->leaving_tail != NULL)
            rec->leaving_tail->next = r;
        else
            rec->leaving = r;
        rec->leaving_tail = r;
        return;
    }
    char reason[300], root[TKMS_HEX_SIZE(TKMS_ROOT_SIZE)];
    tkms_hex_encode(root, r->signing_root, TKMS_ROOT_SIZE);
    tkms_log(r->check_http == 412 ? TKMS_LOG_WARN : g->stopping ? TKMS_LOG_INFO : TKMS_LOG_ERROR,
             r->check_http == 412 ? "refused by the gateway's slashing protection"
                                  : "no slashing record: not signed",
             "key=%s type=%s signing_root=%s client=%s status=%d reason=%s", r->entry->hex,
             tkms_eth2_type_name(r->type), root, r->entry->client[0] ? r->entry->client : "-",
             r->check_http, tkms_log_quote(reason, sizeof reason, r->check_reason));
    if (r->check_http == 412)
        gateway_migration_refusal(g, r->entry->client);
    gateway_reply_error(g, r->req, SERVER_ROUTE_SIGN, r->check_http, r->check_reason,
                        r->started);
    r->req = NULL;
    request_free(r);
}

/* Loop: the last request of a batch is back; the batch's allowed ones
 * leave together. */
static void after_check_last(void *arg)
{
    sign_request *r = arg;
    struct tkms_gateway *g = r->g;
    after_check(r);                     /* may free r */
    sign_request *head = g->records.leaving;
    g->records.leaving = g->records.leaving_tail = NULL;
    if (head != NULL)
        fan_out_batch(g, head);
}

/* The commit job (a worker thread): batches until the list is empty. Only
 * one runs at a time (records->running), so it has the handle to itself. */
static void records_job(void *arg)
{
    struct tkms_gateway *g = arg;
    gateway_records *rec = &g->records;
    for (;;) {
        sign_request *batch[GATEWAY_RECORD_MAX_BATCH];
        size_t n = 0;
        pthread_mutex_lock(&rec->lock);
        while (rec->head != NULL && n < GATEWAY_RECORD_MAX_BATCH) {
            batch[n++] = rec->head;
            rec->head = rec->head->next;
        }
        if (rec->head == NULL)
            rec->tail = NULL;
        if (n == 0)
            rec->running = false;
        pthread_mutex_unlock(&rec->lock);
        if (n == 0)
            return;
        double began = gateway_now();
        check_batch(rec->db, batch, n);
        double ms = (gateway_now() - began) * 1e3;
        pthread_mutex_lock(&rec->lock);
        rec->commits++;
        rec->records += n;
        if (n > rec->largest)
            rec->largest = n;
        pthread_mutex_unlock(&rec->lock);
        tkms_log(TKMS_LOG_DEBUG, "slashing commit", "checks=%zu ms=%.3f", n, ms);
        /* Each request belongs to the loop again once posted. */
        for (size_t i = 0; i < n; i++)
            loop_queue_post(rec->loop, &batch[i]->back,
                            i + 1 < n ? after_check : after_check_last, batch[i]);
    }
}

/* Queues the request's check; starts the commit job when none runs. */
static void records_submit(struct tkms_gateway *g, sign_request *r)
{
    gateway_records *rec = &g->records;
    r->next = NULL;
    pthread_mutex_lock(&rec->lock);
    if (rec->tail != NULL)
        rec->tail->next = r;
    else
        rec->head = r;
    rec->tail = r;
    bool start = !rec->running;
    rec->running = true;
    pthread_mutex_unlock(&rec->lock);
    if (!start || tkms_workpool_submit(rec->pool, records_job, g) == TKMS_OK)
        return;
    /* No job runs, so the list holds only what this thread queued. */
    pthread_mutex_lock(&rec->lock);
    sign_request *waiting = rec->head;
    rec->head = rec->tail = NULL;
    rec->running = false;
    pthread_mutex_unlock(&rec->lock);
    while (waiting != NULL) {
        sign_request *next = waiting->next;
        set_check(waiting, 503, "the gateway could not queue the slashing check: ",
                  "out of memory");
        after_check(waiting);
        waiting = next;
    }
}

tkms_status gateway_records_open(struct tkms_gateway *g, tkms_err *err)
{
    gateway_records *rec = &g->records;
    const gateway_config *cfg = g->cfg;
    if (pthread_mutex_init(&rec->lock, NULL) != 0)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "cannot create a mutex");
    rec->lock_ready = true;
    char path[PATH_SIZE];
    snprintf(path, sizeof path, "%s/%s", cfg->data_dir, GATEWAY_SLASHING_FILE);
    tkms_err e;
    tkms_status st = tkms_slashing_open(&rec->db, cfg->db != NULL ? cfg->db : path,
                                        cfg->genesis_validators_root, &e);
    if (st != TKMS_OK)      /* the message hides a URL's password */
        return tkms_fail(err, st, "the gateway's slashing database: %s", e.message);
    st = tkms_workpool_new(&rec->pool, 1, err);
    if (st == TKMS_OK)
        st = loop_queue_new(&rec->loop, g->base, err);
    return st;
}

void gateway_records_close(struct tkms_gateway *g)
{
    gateway_records *rec = &g->records;
    tkms_workpool_free(rec->pool);      /* the last batch finishes, posts back */
    rec->pool = NULL;
    loop_queue_free(rec->loop);         /* answers what came back */
    rec->loop = NULL;
    if (rec->commits > 0)
        tkms_log(TKMS_LOG_INFO, "slashing records", "checks=%llu commits=%llu largest_batch=%llu",
                 (unsigned long long)rec->records, (unsigned long long)rec->commits,
                 (unsigned long long)rec->largest);
    tkms_slashing_close(rec->db);
    rec->db = NULL;
    if (rec->lock_ready)
        pthread_mutex_destroy(&rec->lock);
    rec->lock_ready = false;
}

/* ---- the sessions' pool --------------------------------------------------------- */

tkms_status gateway_sessions_open(struct tkms_gateway *g, tkms_err *err)
{
    gateway_sessions *ss = &g->sessions;
    if (pthread_mutex_init(&ss->lock, NULL) != 0)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "cannot create a mutex");
    ss->lock_ready = true;
    tkms_status st = loop_queue_new(&ss->loop, g->base, err);
    if (st == TKMS_OK)
        st = tkms_workpool_new(&ss->pool, g->cfg->workers, err);
    return st;
}

void gateway_sessions_close(struct tkms_gateway *g)
{
    gateway_sessions *ss = &g->sessions;
    tkms_workpool_free(ss->pool);       /* the jobs under way finish, hand back */
    ss->pool = NULL;                    /* from now on a job runs on the loop  */
    if (ss->loop != NULL)
        loop_queue_run(ss->loop);       /* answers; may run jobs, which post   */
    loop_queue_free(ss->loop);
    ss->loop = NULL;
    if (ss->lock_ready)
        pthread_mutex_destroy(&ss->lock);
    ss->lock_ready = false;
}

/* ---- a request --------------------------------------------------------------- */

void gateway_sign(struct tkms_gateway *g, tkms_http_request *req,
                  const gateway_key_entry *entry, double started)
{
    size_t len;
    const char *body = tkms_http_request_body(req, &len);
    tkms_eth2_request parsed;
    tkms_err e;
    tkms_status st = tkms_eth2_parse_sign_request(&parsed, body, len, &g->cfg->chain, &e);
    if (st != TKMS_OK) {
        gateway_reply_error(g, req, SERVER_ROUTE_SIGN, st == TKMS_ERR_NO_MEMORY ? 500 : 400,
                            e.message, started);
        return;
    }
    bool record = parsed.type == TKMS_ETH2_BLOCK_V2 || parsed.type == TKMS_ETH2_ATTESTATION;
    if (record && (!parsed.has_fork_info ||
                   memcmp(parsed.fork_info.genesis_validators_root,
                          g->cfg->genesis_validators_root, TKMS_ROOT_SIZE) != 0)) {
        char have[TKMS_HEX_SIZE(TKMS_ROOT_SIZE)], want[TKMS_HEX_SIZE(TKMS_ROOT_SIZE)];
        char reason[300];
        tkms_hex_encode(have, parsed.fork_info.genesis_validators_root, TKMS_ROOT_SIZE);
        tkms_hex_encode(want, g->cfg->genesis_validators_root, TKMS_ROOT_SIZE);
        snprintf(reason, sizeof reason,
                 "wrong genesis validators root: fork_info says %s, the gateway's chain is %s",
                 have, want);
        gateway_reply_error(g, req, SERVER_ROUTE_SIGN, 400, reason, started);
        return;
    }
    const gateway_key *key = &entry->key;
    sign_request *r = calloc(1, sizeof *r + key->server_count * sizeof(server_call));
    if (r == NULL || (r->body = malloc(len + 1)) == NULL) {
        free(r);
        gateway_reply_error(g, req, SERVER_ROUTE_SIGN, 500, "out of memory", started);
        return;
    }
    memcpy(r->body, body, len);
    r->body[len] = '\0';
    r->body_len = len;
    r->g = g;
    r->req = req;
    r->entry = entry;
    r->started = started;
    r->type = parsed.type;
    st = gateway_session_new(&r->session, key, parsed.type, parsed.signing_root, &e);
    if (st != TKMS_OK) {
        request_free(r);
        gateway_reply_error(g, req, SERVER_ROUTE_SIGN, 500, e.message, started);
        return;
    }
    r->state = gateway_session_state_of(r->session);
    if (!record) {
        fan_out(r);
        return;
    }
    memcpy(r->pubkey, entry->group_key, TKMS_PUBLIC_KEY_SIZE);
    r->slot_or_source = parsed.type == TKMS_ETH2_BLOCK_V2 ? parsed.slot : parsed.source_epoch;
    r->target = parsed.target_epoch;
    memcpy(r->signing_root, parsed.signing_root, TKMS_ROOT_SIZE);
    records_submit(g, r);
}
