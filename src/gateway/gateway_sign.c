/*
 * gateway_sign.c — one Web3Signer sign request at the gateway: the body is
 * checked and its signing root computed here, then sent at once to every
 * server holding shares of the key (skipping banned ones) over the
 * fan-out's persistent mutual-TLS connections; each answer goes to the
 * request's sign session (sign_session.h), and the client gets its
 * signature as soon as K valid partials are in. Servers that are still
 * answering then finish in the background (their connections stay open
 * for the next request). A server proven to have lied is banned with its
 * signed response and the request as evidence.
 */
#include "gateway_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "tkms/eth2.h"
#include "tkms/hex.h"
#include "tkms/log.h"

typedef struct sign_request sign_request;

/* One server's part of a request: the fan-out's callback argument. */
typedef struct {
    sign_request *request;
    size_t holder;              /* position in the key's holders */
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
    server_call calls[];
};

static void request_free(sign_request *r)
{
    gateway_session_free(r->session);
    free(r->body);
    free(r);
}

/* Bans every newly faulty server with its evidence: {"request": …,
 * "response": …} (the response as the server sent it, signed). */
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
            if (created)
                r->g->lockouts++;
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

static void on_answer(void *arg, const tkms_fanout_result *res)
{
    server_call *call = arg;
    sign_request *r = call->request;
    struct tkms_gateway *g = r->g;
    size_t config_index = r->entry->server_of[call->holder];
    server_health *h = &g->health[config_index];
    gateway_session_state state;
    if (res->outcome == TKMS_FANOUT_OK && res->status == 200) {
        h->sign_ok++;
        h->latency_ms = res->seconds * 1e3;
        state = gateway_session_response(r->session, call->holder, res->body, res->len);
        ban_faulty(r);
    } else {
        char reason[200], text[160];
        h->sign_failed++;
        if (res->outcome == TKMS_FANOUT_OK) {
            error_reason(text, sizeof text, res->body, res->len);
            snprintf(reason, sizeof reason, "%ld: %s", res->status, text);
            if (res->status == 412 || res->status == 400) {
                if (res->status == 412)
                    r->refused_412++;
                else
                    r->refused_400++;
                snprintf(r->refusal, sizeof r->refusal, "%s", text);
            }
        } else {
            snprintf(reason, sizeof reason, "%s", res->error != NULL ? res->error : "failed");
        }
        snprintf(h->last_error, sizeof h->last_error, "%.150s", reason);
        state = gateway_session_failed(r->session, call->holder, reason);
    }
    answer(r, state);
    if (--r->outstanding == 0) {
        answer(r, gateway_session_state_of(r->session));   /* cannot stay pending */
        request_free(r);
    }
}

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
    st = gateway_session_new(&r->session, key, parsed.type, parsed.signing_root, &e);
    if (st != TKMS_OK) {
        request_free(r);
        gateway_reply_error(g, req, SERVER_ROUTE_SIGN, 500, e.message, started);
        return;
    }
    char path[160];
    snprintf(path, sizeof path, "/v1/eth2/sign/%s", entry->hex);
    /* Count every call first: a callback never runs inside
     * tkms_fanout_request, but a failure to start one is answered here. */
    r->outstanding = key->server_count + 1;
    for (size_t i = 0; i < key->server_count; i++) {
        const gateway_server_config *server = &g->servers[entry->server_of[i]];
        bool banned = false;
        tkms_banlist_is_banned(g->bans, server->name, NULL, &banned, NULL);
        gateway_session_state state;
        if (banned) {
            state = gateway_session_failed(r->session, i, "locked out");
            r->outstanding--;
        } else {
            char url[600];
            snprintf(url, sizeof url, "%s%s", server->url, path);
            r->calls[i] = (server_call){r, i};
            if (tkms_fanout_request(g->fanout, "POST", url, "application/json", r->body, len,
                                    g->cfg->timeout_ms, on_answer, &r->calls[i], NULL,
                                    &e) != TKMS_OK) {
                state = gateway_session_failed(r->session, i, e.message);
                r->outstanding--;
            } else {
                continue;
            }
        }
        answer(r, state);
    }
    if (--r->outstanding == 0) {
        answer(r, gateway_session_state_of(r->session));
        request_free(r);
    }
}
