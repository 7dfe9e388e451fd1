/*
 * sign_session.c — one threshold sign request at the gateway, sans-IO:
 * server responses in (their content checked at once, their Ed25519
 * signature only when blame needs it), the optimistic combine over the pool
 * of partials, the culprit search only when the combination fails, lockout
 * with evidence, and a report of every server's fate. The contract is in
 * sign_session.h.
 */
#include "sign_session.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer.h"
#include "tkms/combine.h"
#include "tkms/hex.h"
#include "tkms/rng.h"

/* Combinations whose batch-verified partials still fail (the batch check
 * misses a bad partial with probability about 2^-64) are tried again with
 * fresh weights this many times before the session gives up. */
#define COMBINE_TRIES 3

/* What the session knows about one server. It owns the body copy and the
 * bad-index list that a fault points to. */
typedef struct {
    gateway_server_state state;
    char reason[GATEWAY_REASON_SIZE];   /* FAILED and UNUSABLE                 */
    char *body;                         /* ANSWERED / FAULTY: the response     */
    size_t body_len;
    bool verified;                      /* body's Ed25519 signature checked    */
    uint32_t *bad;                      /* FAULTY: its bad indices             */
} server_slot;

struct gateway_session {
    const gateway_key *key;             /* borrowed */
    uint32_t threshold, share_count;    /* K, n */
    tkms_eth2_type type;
    uint8_t signing_root[TKMS_ROOT_SIZE];
    uint8_t group_key[TKMS_PUBLIC_KEY_SIZE];
    gateway_session_state state;
    char internal[GATEWAY_REASON_SIZE]; /* why FAILED when it is the gateway's fault */

    tkms_combiner *combiner;
    tkms_partial *pool;                 /* [n] partials in arrival order      */
    size_t *pool_server;                /* [n] who sent pool[i]               */
    size_t pool_count;
    uint32_t *bad;                      /* [n] the combiner's culprits        */
    size_t *holder;                     /* [n+1] 1 + server holding index i; 0: none */
    size_t awaited;                     /* indices held by servers still WAITING */

    server_slot *slots;                 /* [server_count] */
    gateway_fault *faults;              /* [server_count]: each server at most once */
    size_t fault_count;

    uint8_t signature[TKMS_SIGNATURE_SIZE];   /* DONE */
};

/* ---- life cycle --------------------------------------------------------- */

static tkms_status check_key(const gateway_key *key, tkms_err *err)
{
    if (key->group == NULL || key->servers == NULL || key->server_count == 0)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "gateway: a key needs a group and at least one server");
    const tkms_group *g = key->group;
    if (g->threshold == 0 || g->threshold > g->share_count || g->share_count > TKMS_MAX_SHARES)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "gateway: group with K=%u, n=%u",
                         g->threshold, g->share_count);
    for (size_t i = 0; i < key->server_count; i++)
        if (key->servers[i].index_count > 0 && key->servers[i].indices == NULL)
            return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                             "gateway: server %zu has no index list", i);
    return TKMS_OK;
}

/* Fills s->holder, checking every index is in 1..n and held once. */
static tkms_status map_holders(gateway_session *s, tkms_err *err)
{
    const gateway_key *key = s->key;
    for (size_t i = 0; i < key->server_count; i++) {
        const gateway_holder *srv = &key->servers[i];
        for (size_t t = 0; t < srv->index_count; t++) {
            uint32_t index = srv->indices[t];
            if (index == 0 || index > s->share_count)
                return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                                 "gateway: server %zu holds index %u, outside 1..%u", i,
                                 index, s->share_count);
            if (s->holder[index] != 0)
                return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                                 "gateway: index %u is held by servers %zu and %zu", index,
                                 s->holder[index] - 1, i);
            s->holder[index] = i + 1;
        }
        s->awaited += srv->index_count;
    }
    return TKMS_OK;
}

tkms_status gateway_session_new(gateway_session **out, const gateway_key *key,
                                tkms_eth2_type type, const uint8_t signing_root[32],
                                tkms_err *err)
{
    if (out != NULL)
        *out = NULL;
    if (out == NULL || key == NULL || signing_root == NULL ||
        type > TKMS_ETH2_BLS_TO_EXECUTION_CHANGE)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "gateway: missing argument");
    tkms_status st = check_key(key, err);
    if (st != TKMS_OK)
        return st;

    gateway_session *s = calloc(1, sizeof *s);
    if (s == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "gateway: out of memory");
    s->key = key;
    s->threshold = key->group->threshold;
    s->share_count = key->group->share_count;
    s->type = type;
    memcpy(s->signing_root, signing_root, sizeof s->signing_root);
    tkms_public_key_to_bytes(s->group_key, &key->group->group_key);
    size_t n = s->share_count;
    s->combiner = tkms_combiner_new(key->group);
    s->pool = calloc(n, sizeof *s->pool);
    s->pool_server = calloc(n, sizeof *s->pool_server);
    s->bad = calloc(n, sizeof *s->bad);
    s->holder = calloc(n + 1, sizeof *s->holder);
    s->slots = calloc(key->server_count, sizeof *s->slots);
    s->faults = calloc(key->server_count, sizeof *s->faults);
    if (s->combiner == NULL || s->pool == NULL || s->pool_server == NULL || s->bad == NULL ||
        s->holder == NULL || s->slots == NULL || s->faults == NULL) {
        gateway_session_free(s);
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "gateway: out of memory");
    }
    st = map_holders(s, err);
    if (st != TKMS_OK) {
        gateway_session_free(s);
        return st;
    }
    if (s->awaited < s->threshold)
        s->state = GATEWAY_SESSION_FAILED;
    *out = s;
    tkms_err_clear(err);
    return TKMS_OK;
}

void gateway_session_free(gateway_session *s)
{
    if (s == NULL)
        return;
    if (s->slots != NULL)
        for (size_t i = 0; i < s->key->server_count; i++) {
            free(s->slots[i].body);
            free(s->slots[i].bad);
        }
    free(s->slots);
    free(s->faults);
    free(s->holder);
    free(s->bad);
    free(s->pool_server);
    free(s->pool);
    tkms_combiner_free(s->combiner);
    free(s);
}

/* ---- what a response is for ---------------------------------------------- */

/* NULL when the response is for this key, type and root; else why not. */
static const char *request_mismatch(const tkms_signer_response *v,
                                    const uint8_t group_key[TKMS_PUBLIC_KEY_SIZE],
                                    tkms_eth2_type type,
                                    const uint8_t signing_root[TKMS_ROOT_SIZE],
                                    char *why, size_t size)
{
    if (memcmp(v->group_key, group_key, TKMS_PUBLIC_KEY_SIZE) != 0) {
        char hex[TKMS_HEX_SIZE(TKMS_PUBLIC_KEY_SIZE)];
        tkms_hex_encode(hex, v->group_key, TKMS_PUBLIC_KEY_SIZE);
        snprintf(why, size, "signed a response for another group key %.24s...", hex);
    } else if (v->type != type) {
        snprintf(why, size, "signed a response for type %.48s, not %s",
                 tkms_eth2_type_name(v->type), tkms_eth2_type_name(type));
    } else if (memcmp(v->signing_root, signing_root, TKMS_ROOT_SIZE) != 0) {
        char hex[TKMS_HEX_SIZE(TKMS_ROOT_SIZE)];
        tkms_hex_encode(hex, v->signing_root, TKMS_ROOT_SIZE);
        snprintf(why, size, "signed a response for another signing root %s", hex);
    } else {
        return NULL;
    }
    return why;
}

/* "invalid partial 4" or "invalid partials 4, 5, 7" (cut if long). */
static void describe_indices(char *out, size_t size, const char *one, const char *many,
                             const uint32_t *indices, size_t count)
{
    size_t len = (size_t)snprintf(out, size, "%s", count == 1 ? one : many);
    for (size_t i = 0; i < count && len < size; i++)
        len += (size_t)snprintf(out + len, size - len, "%s%u", i ? ", " : " ", indices[i]);
}

/* ---- the session ---------------------------------------------------------------- */

static void leave_waiting(gateway_session *s, size_t server, gateway_server_state state)
{
    s->slots[server].state = state;
    s->awaited -= s->key->servers[server].index_count;
}

/* Records server `server` as faulty (it is no longer WAITING nor in the
 * pool). `bad` (owned by the slot from now on) may be NULL. */
static void add_fault(gateway_session *s, size_t server, gateway_fault_kind kind,
                      const char *reason, uint32_t *bad, size_t bad_count)
{
    server_slot *slot = &s->slots[server];
    slot->state = GATEWAY_SERVER_FAULTY;
    free(slot->bad);
    slot->bad = bad;
    gateway_fault *f = &s->faults[s->fault_count++];
    f->server = server;
    f->kind = kind;
    snprintf(f->reason, sizeof f->reason, "%s", reason);
    f->evidence = slot->body;
    f->evidence_len = slot->body != NULL ? slot->body_len : 0;
    f->bad_indices = bad;
    f->bad_count = bad != NULL ? bad_count : 0;
}

/* Whether server `server`'s answer is provably its own: its body's Ed25519
 * signature verifies (checked once, when the session is about to blame
 * it). When not, the body is dropped and why is kept as the reason. */
static bool attributable(gateway_session *s, size_t server)
{
    server_slot *slot = &s->slots[server];
    tkms_err err;
    if (!slot->verified && tkms_signer_verify_response(slot->body, slot->body_len,
                                                       s->key->servers[server].identity,
                                                       &err) != TKMS_OK) {
        snprintf(slot->reason, sizeof slot->reason, "%s", err.message);
        free(slot->body);
        slot->body = NULL;
        return false;
    }
    slot->verified = true;
    return true;
}

/* Blames server `server` (no longer WAITING) with add_fault when its
 * answer is attributable; else it is only UNUSABLE (`bad` is freed). */
static void blame(gateway_session *s, size_t server, gateway_fault_kind kind,
                  const char *reason, uint32_t *bad, size_t bad_count)
{
    if (attributable(s, server)) {
        add_fault(s, server, kind, reason, bad, bad_count);
    } else {
        free(bad);
        s->slots[server].state = GATEWAY_SERVER_UNUSABLE;
    }
}

/* A copy of the body, NUL-terminated (NULL when out of memory). */
static char *copy_body(const char *body, size_t len)
{
    char *copy = malloc(len + 1);
    if (copy != NULL) {
        memcpy(copy, body, len);
        copy[len] = '\0';
    }
    return copy;
}

/* Blames the culprits s->bad[0..bad_count) on their servers (each becomes
 * FAULTY with its own bad indices, or UNUSABLE when its answer is not
 * attributable) and drops every partial of those servers from the pool.
 * Returns true when a dropped partial was not among the culprits (such a
 * server's other partial, which the combination may have used). */
static bool lock_out(gateway_session *s, size_t bad_count)
{
    for (size_t b = 0; b < bad_count; b++) {
        size_t server = s->holder[s->bad[b]] - 1;   /* in the pool: held by its sender */
        if (s->slots[server].state != GATEWAY_SERVER_ANSWERED)
            continue;                               /* already blamed */
        size_t mine = 0;
        for (size_t t = b; t < bad_count; t++)
            mine += s->holder[s->bad[t]] - 1 == server;
        uint32_t *list = malloc(mine * sizeof *list);
        size_t k = 0;
        for (size_t t = b; t < bad_count && list != NULL; t++)
            if (s->holder[s->bad[t]] - 1 == server)
                list[k++] = s->bad[t];
        char reason[GATEWAY_REASON_SIZE];
        if (list != NULL)
            describe_indices(reason, sizeof reason, "invalid partial", "invalid partials", list,
                             mine);
        else
            snprintf(reason, sizeof reason, "invalid partial %u", s->bad[b]);
        blame(s, server, GATEWAY_FAULT_INVALID_PARTIAL, reason, list, mine);
    }

    bool dropped_good = false;
    size_t kept = 0;
    for (size_t i = 0; i < s->pool_count; i++) {
        if (s->slots[s->pool_server[i]].state == GATEWAY_SERVER_ANSWERED) {
            s->pool[kept] = s->pool[i];
            s->pool_server[kept++] = s->pool_server[i];
            continue;
        }
        bool culprit = false;
        for (size_t b = 0; b < bad_count && !culprit; b++)
            culprit = s->bad[b] == s->pool[i].index;
        dropped_good |= !culprit;
    }
    s->pool_count = kept;
    return dropped_good;
}

/* Combines when the pool holds K partials; then decides the state. */
static void evaluate(gateway_session *s)
{
    unsigned tries = 0;
    while (s->state == GATEWAY_SESSION_PENDING && s->pool_count >= s->threshold) {
        tkms_signature sig;
        size_t bad_count = 0;
        tkms_status st = tkms_combiner_combine(s->combiner, s->signing_root, TKMS_ROOT_SIZE,
                                               s->pool, s->pool_count, tkms_rng_system(),
                                               &sig, s->bad, &bad_count);
        bool dropped_good = bad_count > 0 && lock_out(s, bad_count);
        if (st == TKMS_OK && !dropped_good) {
            tkms_signature_to_bytes(s->signature, &sig);
            s->state = GATEWAY_SESSION_DONE;
            return;
        }
        if (bad_count > 0)
            continue;            /* the pool shrank: combine what is left, if K */
        if (st == TKMS_ERR_VERIFY_FAILED && ++tries < COMBINE_TRIES)
            continue;
        snprintf(s->internal, sizeof s->internal, "combine failed: %s",
                 tkms_status_string(st));
        s->state = GATEWAY_SESSION_FAILED;
        return;
    }
    if (s->state == GATEWAY_SESSION_PENDING && s->pool_count + s->awaited < s->threshold)
        s->state = GATEWAY_SESSION_FAILED;
}

/* Steps 2-4 of gateway_session_response on a parsed response (its body
 * in the slot). */
static void accept_response(gateway_session *s, size_t server, const tkms_signer_response *v)
{
    char why[GATEWAY_REASON_SIZE];
    if (request_mismatch(v, s->group_key, s->type, s->signing_root, why, sizeof why)) {
        leave_waiting(s, server, GATEWAY_SERVER_FAULTY);    /* or UNUSABLE: blame decides */
        blame(s, server, GATEWAY_FAULT_WRONG_REQUEST, why, NULL, 0);
        return;
    }

    /* Indices are 1..TKMS_MAX_SHARES, ascending (tkms_signer_read_response). */
    size_t foreign = 0;
    for (size_t i = 0; i < v->count; i++) {
        uint32_t index = v->partials[i].index;
        foreign += index > s->share_count || s->holder[index] != server + 1;
    }
    if (foreign > 0) {
        uint32_t *list = malloc(foreign * sizeof *list);
        size_t k = 0;
        for (size_t i = 0; i < v->count && list != NULL; i++) {
            uint32_t index = v->partials[i].index;
            if (index > s->share_count || s->holder[index] != server + 1)
                list[k++] = index;
        }
        char reason[GATEWAY_REASON_SIZE];
        if (list != NULL) {
            char indices[GATEWAY_REASON_SIZE - 64];
            describe_indices(indices, sizeof indices, "a partial for index",
                             "partials for indices", list, foreign);
            snprintf(reason, sizeof reason, "sent %s, which it does not hold", indices);
        } else {
            snprintf(reason, sizeof reason, "sent partials for indices it does not hold");
        }
        leave_waiting(s, server, GATEWAY_SERVER_FAULTY);    /* or UNUSABLE: blame decides */
        blame(s, server, GATEWAY_FAULT_FOREIGN_INDEX, reason, list, foreign);
        return;
    }

    /* Every index is this server's (distinct, ascending), and it answers
     * once, so they fit in the pool. */
    size_t at = s->pool_count;
    for (size_t i = 0; i < v->count; i++) {
        s->pool[at + i] = v->partials[i];
        s->pool_server[at + i] = server;
    }
    s->pool_count += v->count;
    leave_waiting(s, server, GATEWAY_SERVER_ANSWERED);
}

gateway_session_state gateway_session_response(gateway_session *s, size_t server,
                                               const char *body, size_t len)
{
    if (s == NULL)
        return GATEWAY_SESSION_FAILED;
    if (s->state != GATEWAY_SESSION_PENDING || server >= s->key->server_count ||
        s->slots[server].state != GATEWAY_SERVER_WAITING)
        return s->state;
    server_slot *slot = &s->slots[server];
    if (body == NULL) {
        body = "";
        len = 0;
    }
    slot->body = copy_body(body, len);        /* evidence, should it come to that */
    slot->body_len = len;
    /* The Ed25519 signature waits until blame needs it (attributable); a
     * body that could not be copied for that later check is verified now. */
    const uint8_t *identity = s->key->servers[server].identity;
    tkms_signer_response parsed;
    tkms_err err;
    tkms_status st;
    if (slot->body != NULL) {
        st = tkms_signer_parse_response(body, len, identity, &parsed, &err);
    } else {
        st = tkms_signer_read_response(body, len, identity, &parsed, &err);
        slot->verified = st == TKMS_OK;
    }
    if (st != TKMS_OK) {
        free(slot->body);
        slot->body = NULL;
        leave_waiting(s, server, GATEWAY_SERVER_UNUSABLE);
        snprintf(slot->reason, sizeof slot->reason, "%s", err.message);
    } else {
        accept_response(s, server, &parsed);
        tkms_signer_response_free(&parsed);
    }
    evaluate(s);
    return s->state;
}

gateway_session_state gateway_session_failed(gateway_session *s, size_t server,
                                             const char *reason)
{
    if (s == NULL)
        return GATEWAY_SESSION_FAILED;
    if (s->state != GATEWAY_SESSION_PENDING || server >= s->key->server_count ||
        s->slots[server].state != GATEWAY_SERVER_WAITING)
        return s->state;
    server_slot *slot = &s->slots[server];
    snprintf(slot->reason, sizeof slot->reason, "%s", reason != NULL ? reason : "failed");
    for (char *c = slot->reason; *c != '\0'; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = ' ';
    leave_waiting(s, server, GATEWAY_SERVER_FAILED);
    evaluate(s);
    return s->state;
}

/* ---- what the session tells ------------------------------------------------------ */

gateway_session_state gateway_session_state_of(const gateway_session *s)
{
    return s != NULL ? s->state : GATEWAY_SESSION_FAILED;
}

gateway_server_state gateway_session_server_state(const gateway_session *s, size_t server)
{
    if (s == NULL || server >= s->key->server_count)
        return GATEWAY_SERVER_WAITING;
    return s->slots[server].state;
}

size_t gateway_session_partial_count(const gateway_session *s)
{
    return s != NULL ? s->pool_count : 0;
}

tkms_status gateway_session_signature(const gateway_session *s,
                                      uint8_t out[TKMS_SIGNATURE_SIZE])
{
    if (s == NULL || out == NULL || s->state != GATEWAY_SESSION_DONE)
        return TKMS_ERR_NOT_ENOUGH_SHARES;
    memcpy(out, s->signature, TKMS_SIGNATURE_SIZE);
    return TKMS_OK;
}

const gateway_fault *gateway_session_faulty(const gateway_session *s, size_t *count)
{
    size_t n = s != NULL ? s->fault_count : 0;
    if (count != NULL)
        *count = n;
    return n > 0 ? s->faults : NULL;
}

/* snprintf-like appending that keeps counting past the end. */
typedef struct {
    char *out;
    size_t size, len;
} sink;

static void emit(sink *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void emit(sink *k, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bool room = k->out != NULL && k->len < k->size;
    int m = vsnprintf(room ? k->out + k->len : NULL, room ? k->size - k->len : 0, fmt, ap);
    va_end(ap);
    if (m > 0)
        k->len += (size_t)m;
}

size_t gateway_session_report(const gateway_session *s, char *out, size_t size)
{
    sink k = {out, size, 0};
    if (out != NULL && size > 0)
        out[0] = '\0';
    if (s == NULL)
        return 0;
    emit(&k, "%zu partial%s of %u needed", s->pool_count, s->pool_count == 1 ? "" : "s",
         s->threshold);
    for (size_t i = 0; i < s->key->server_count; i++) {
        const server_slot *slot = &s->slots[i];
        const char *name = s->key->servers[i].name;
        if (name != NULL)
            emit(&k, "%s %s: ", i == 0 ? ":" : ";", name);
        else
            emit(&k, "%s server #%zu: ", i == 0 ? ":" : ";", i);
        switch (slot->state) {
        case GATEWAY_SERVER_WAITING:
            emit(&k, "no answer");
            break;
        case GATEWAY_SERVER_ANSWERED: {
            size_t mine = 0;
            for (size_t p = 0; p < s->pool_count; p++)
                mine += s->pool_server[p] == i;
            emit(&k, "ok (partial%s", mine == 1 ? "" : "s");
            size_t shown = 0;
            for (size_t p = 0; p < s->pool_count; p++)
                if (s->pool_server[p] == i)
                    emit(&k, "%s%u", shown++ ? ", " : " ", s->pool[p].index);
            emit(&k, ")");
            break;
        }
        case GATEWAY_SERVER_FAILED:
            emit(&k, "%s", slot->reason);
            break;
        case GATEWAY_SERVER_UNUSABLE:
            emit(&k, "unusable response (not counted): %s", slot->reason);
            break;
        case GATEWAY_SERVER_FAULTY:
            for (size_t f = 0; f < s->fault_count; f++)
                if (s->faults[f].server == i)
                    emit(&k, "%s (locked out)", s->faults[f].reason);
            break;
        }
    }
    if (s->internal[0] != '\0')
        emit(&k, "; gateway: %s", s->internal);
    return k.len;
}

/* ---- evidence ---------------------------------------------------------------- */

tkms_status gateway_evidence_verify(const uint8_t identity[TKMS_IDENTITY_PUBLIC_SIZE],
                                    const tkms_group *group, tkms_eth2_type type,
                                    const uint8_t signing_root[32], const char *body,
                                    size_t len, uint32_t *bad_index, tkms_err *err)
{
    if (bad_index != NULL)
        *bad_index = 0;
    if (identity == NULL || group == NULL || signing_root == NULL || body == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "evidence: missing argument");
    tkms_err e;
    tkms_signer_response v;
    tkms_status st = tkms_signer_read_response(body, len, identity, &v, &e);
    if (st == TKMS_ERR_NO_MEMORY)
        return tkms_fail(err, st, "evidence: out of memory");
    if (st != TKMS_OK)
        return tkms_fail(err, TKMS_ERR_VERIFY_FAILED,
                         "evidence: not a response signed by that server: %.200s", e.message);

    uint8_t group_key[TKMS_PUBLIC_KEY_SIZE];
    tkms_public_key_to_bytes(group_key, &group->group_key);
    char why[GATEWAY_REASON_SIZE];
    if (request_mismatch(&v, group_key, type, signing_root, why, sizeof why) != NULL) {
        st = tkms_fail(err, TKMS_ERR_VERIFY_FAILED,
                       "evidence: proves nothing here: the server %s", why);
    } else {
        st = tkms_fail(err, TKMS_ERR_VERIFY_FAILED,
                       "evidence: every partial verifies: no misbehaviour shown");
        for (size_t i = 0; i < v.count; i++) {
            const tkms_partial *p = &v.partials[i];
            tkms_signature sig;
            const char *fault = NULL;
            if (p->index > group->share_count)
                fault = "is not a share of the group";
            else if (tkms_signature_from_bytes(&sig, p->signature) != TKMS_OK)
                fault = "does not decode to a signature";
            else if (!tkms_partial_verify(group, p->index, signing_root, TKMS_ROOT_SIZE, &sig))
                fault = "does not verify against its share public key";
            if (fault != NULL) {
                if (bad_index != NULL)
                    *bad_index = p->index;
                st = TKMS_OK;
                tkms_fail(err, TKMS_OK, "evidence: partial %u %s", p->index, fault);
                break;
            }
        }
    }
    tkms_signer_response_free(&v);
    return st;
}
