/*
 * simulation.c — all parties of a ceremony in one process
 * (tkms/simulation.h): runs the rounds in lock step, delivers every
 * message through an in-memory relay, and makes faulty parties misbehave by
 * rewriting (and re-signing with their identity) what they send.
 */
#include <stdlib.h>
#include <string.h>

#include "tkms/ceremony_message.h"
#include "tkms/secmem.h"
#include "tkms/simulation.h"

static const char *const fault_names[] = {
    [TKMS_FAULT_NONE] = "none",
    [TKMS_FAULT_BAD_SHARE] = "bad-share",
    [TKMS_FAULT_BAD_COMMITMENT] = "bad-commitment",
    [TKMS_FAULT_MISSING] = "missing",
    [TKMS_FAULT_EQUIVOCATE] = "equivocate",
    [TKMS_FAULT_BAD_SIGNATURE] = "bad-signature",
    [TKMS_FAULT_REPLAY] = "replay",
};

tkms_fault tkms_fault_from_name(const char *name)
{
    for (size_t i = 1; i < sizeof fault_names / sizeof *fault_names; i++)
        if (strcmp(name, fault_names[i]) == 0)
            return (tkms_fault)i;
    return TKMS_FAULT_NONE;
}

const char *tkms_fault_name(tkms_fault fault)
{
    return (size_t)fault < sizeof fault_names / sizeof *fault_names ? fault_names[fault] : "?";
}

typedef struct {
    const tkms_simulation_config *cfg;
    tkms_simulation *sim;
    uint32_t m;
    /* BAD_SHARE: the values the faulty party's tampered share carried */
    uint8_t *bad_values;
    uint32_t bad_index;
    /* BAD_COMMITMENT: the hash of the altered deal, which the faulty party
     * then echoes as its own, consistently */
    uint8_t altered_hash[32];
} relay;

static void work(const relay *r, uint32_t party, int begin)
{
    if (r->cfg->on_work != NULL)
        r->cfg->on_work(r->cfg->ctx, party, begin);
}

static tkms_fault fault_of(const relay *r, uint32_t party)
{
    return r->cfg->faults ? r->cfg->faults[party - 1] : TKMS_FAULT_NONE;
}

static void deliver_to(relay *r, uint32_t from, uint32_t to, const uint8_t *bytes, size_t len)
{
    tkms_err err;
    r->sim->bytes_sent[from - 1] += len;
    r->sim->messages_sent[from - 1]++;
    work(r, to, 1);
    if (tkms_party_receive(r->sim->parties[to - 1], bytes, len, &err) != TKMS_OK)
        r->sim->refused++;
    work(r, to, 0);
}

/* Re-encodes msg with a new payload (and ceremony id), signed by `from`. */
static uint8_t *resign(const relay *r, const tkms_message *msg, const uint8_t *payload,
                       size_t payload_len, const uint8_t *ceremony_id, size_t *out_len)
{
    tkms_message f = *msg;
    memcpy(f.ceremony_id, ceremony_id, TKMS_CEREMONY_ID_SIZE);
    uint8_t *out = NULL;
    if (tkms_message_encode(&out, out_len, &f, payload, payload_len,
                            &r->cfg->identities[msg->from_party - 1]) != TKMS_OK)
        return NULL;
    return out;
}

/* A deal whose first non-constant commitment (or the constant one when
 * K = 1) is moved by the generator. */
static uint8_t *altered_deal(relay *r, const tkms_message *msg, size_t *out_len)
{
    uint8_t *payload = malloc(msg->payload_len);
    if (payload == NULL)
        return NULL;
    memcpy(payload, msg->payload, msg->payload_len);
    size_t at = r->cfg->spec->threshold > 1 ? 96 : 0;
    blst_p1_affine a;
    blst_p1 p;
    blst_p1_deserialize(&a, payload + at);
    blst_p1_from_affine(&p, &a);
    blst_p1_add_or_double(&p, &p, blst_p1_generator());
    blst_p1_serialize(payload + at, &p);
    uint8_t *out = resign(r, msg, payload, msg->payload_len, msg->ceremony_id, out_len);
    if (out != NULL)
        blst_sha256(r->altered_hash, out, *out_len);
    free(payload);
    return out;
}

/* BAD_COMMITMENT: the faulty dealer echoes the altered deal as its own. */
static uint8_t *consistent_echo(const relay *r, const tkms_message *msg, size_t *out_len)
{
    uint8_t *payload = malloc(msg->payload_len);
    if (payload == NULL)
        return NULL;
    memcpy(payload, msg->payload, msg->payload_len);
    memcpy(payload + (size_t)(msg->from_party - 1) * 32, r->altered_hash, 32);
    uint8_t *out = resign(r, msg, payload, msg->payload_len, msg->ceremony_id, out_len);
    free(payload);
    return out;
}

/* BAD_SHARE: the first share of the next party that holds one. */
static uint32_t victim_index(const relay *r, uint32_t from)
{
    const tkms_owner_map *owners = r->cfg->spec->owners;
    for (uint32_t step = 1; step < r->m; step++) {
        const tkms_owner *o = &owners->owners[(from - 1 + step) % r->m];
        if (o->share_count > 0)
            return o->first_index;
    }
    return 0;
}

static uint8_t *bad_share(relay *r, const tkms_message *msg, size_t *out_len)
{
    size_t n = msg->payload_len - TKMS_IDENTITY_SEAL_OVERHEAD;
    free(r->bad_values);
    r->bad_values = malloc(n);
    uint8_t *sealed = malloc(msg->payload_len);
    if (r->bad_values == NULL || sealed == NULL ||
        tkms_rng_fill(r->cfg->rng, r->bad_values, n) != TKMS_OK) {
        free(sealed);
        return NULL;
    }
    for (size_t i = 0; i < n; i += 32)
        r->bad_values[i] &= 0x3f;   /* below r */
    r->bad_index = msg->to_share;
    uint8_t *out = NULL;
    if (tkms_identity_seal(sealed, r->bad_values, n,
                           r->cfg->spec->parties[msg->to_party - 1].identity) == TKMS_OK)
        out = resign(r, msg, sealed, msg->payload_len, msg->ceremony_id, out_len);
    free(sealed);
    return out;
}

/* BAD_SHARE: the justification reveals the bad values for the victim. */
static uint8_t *bad_justification(const relay *r, const tkms_message *msg, size_t *out_len)
{
    size_t values = r->cfg->spec->keys * 32u, entry = 2 + values;
    uint8_t *payload = malloc(msg->payload_len);
    if (payload == NULL)
        return NULL;
    memcpy(payload, msg->payload, msg->payload_len);
    uint32_t count = (uint32_t)payload[0] << 8 | payload[1];
    for (uint32_t i = 0; i < count && r->bad_values != NULL; i++) {
        uint8_t *e = payload + 2 + entry * i;
        if (((uint32_t)e[0] << 8 | e[1]) == r->bad_index)
            memcpy(e + 2, r->bad_values, values);
    }
    uint8_t *out = resign(r, msg, payload, msg->payload_len, msg->ceremony_id, out_len);
    free(payload);
    return out;
}

/* Delivers one message as sent by `from`, applying its fault. */
static void relay_message(relay *r, uint32_t from, const uint8_t *bytes, size_t len)
{
    tkms_message msg;
    if (tkms_message_decode(&msg, bytes, len, NULL) != TKMS_OK)
        return;
    tkms_fault fault = fault_of(r, from);
    uint8_t *rewritten = NULL, *second = NULL;
    size_t rewritten_len = 0, second_len = 0;
    if (fault == TKMS_FAULT_MISSING)
        return;
    /* a dealer that broadcast altered commitments does not forward its true
     * deal as evidence against itself */
    if (fault == TKMS_FAULT_BAD_COMMITMENT && msg.type == TKMS_MSG_EVIDENCE)
        return;
    if (fault == TKMS_FAULT_BAD_SIGNATURE) {
        rewritten = malloc(len);
        if (rewritten != NULL) {
            memcpy(rewritten, bytes, len);
            rewritten[len - 1] ^= 0x01;
            rewritten_len = len;
        }
    } else if (fault == TKMS_FAULT_REPLAY) {   /* everything it sends is from elsewhere */
        uint8_t other[TKMS_CEREMONY_ID_SIZE];
        for (size_t i = 0; i < sizeof other; i++)
            other[i] = msg.ceremony_id[i] ^ 0xa5;
        rewritten = resign(r, &msg, msg.payload, msg.payload_len, other, &rewritten_len);
    } else if (fault == TKMS_FAULT_BAD_SHARE && msg.type == TKMS_MSG_SHARE &&
               msg.to_share == victim_index(r, from)) {
        rewritten = bad_share(r, &msg, &rewritten_len);
    } else if (fault == TKMS_FAULT_BAD_SHARE && msg.type == TKMS_MSG_JUSTIFY) {
        rewritten = bad_justification(r, &msg, &rewritten_len);
    } else if (fault == TKMS_FAULT_BAD_COMMITMENT && msg.type == TKMS_MSG_DEAL) {
        rewritten = altered_deal(r, &msg, &rewritten_len);
    } else if (fault == TKMS_FAULT_BAD_COMMITMENT && msg.type == TKMS_MSG_ECHO &&
               r->cfg->spec->kind == TKMS_CEREMONY_DKG) {
        rewritten = consistent_echo(r, &msg, &rewritten_len);
    } else if (fault == TKMS_FAULT_EQUIVOCATE && msg.type == TKMS_MSG_DEAL) {
        second = altered_deal(r, &msg, &second_len);
    }
    const uint8_t *out = rewritten ? rewritten : bytes;
    size_t out_len = rewritten ? rewritten_len : len;
    if (msg.to_party != TKMS_MESSAGE_BROADCAST) {
        deliver_to(r, from, msg.to_party, out, out_len);
    } else {
        for (uint32_t to = 1; to <= r->m; to++) {
            if (to == from)
                continue;
            /* an equivocating dealer shows its second deal to the upper half */
            bool alt = second != NULL && to > r->m / 2;
            deliver_to(r, from, to, alt ? second : out, alt ? second_len : out_len);
        }
    }
    free(rewritten);
    free(second);
}

static void relay_outboxes(relay *r, tkms_outbox *boxes)
{
    for (uint32_t q = 1; q <= r->m; q++) {
        for (size_t i = 0; i < boxes[q - 1].count; i++)
            relay_message(r, q, boxes[q - 1].data[i], boxes[q - 1].len[i]);
        tkms_outbox_clear(&boxes[q - 1]);
    }
}

void tkms_simulation_free(tkms_simulation *sim)
{
    for (size_t i = 0; sim->parties && i < sim->party_count; i++)
        tkms_party_free(sim->parties[i]);
    free(sim->parties);
    free(sim->bytes_sent);
    free(sim->messages_sent);
    memset(sim, 0, sizeof *sim);
}

tkms_status tkms_simulate(tkms_simulation *sim, const tkms_simulation_config *cfg,
                          tkms_err *err)
{
    memset(sim, 0, sizeof *sim);
    uint32_t m = (uint32_t)cfg->spec->party_count;
    relay r = {.cfg = cfg, .sim = sim, .m = m};
    sim->party_count = m;
    sim->parties = calloc(m, sizeof *sim->parties);
    sim->bytes_sent = calloc(m, sizeof *sim->bytes_sent);
    sim->messages_sent = calloc(m, sizeof *sim->messages_sent);
    tkms_outbox *boxes = calloc(m, sizeof *boxes);
    tkms_status st = TKMS_OK;
    if (!sim->parties || !sim->bytes_sent || !sim->messages_sent || !boxes) {
        st = tkms_fail(err, TKMS_ERR_NO_MEMORY, "simulation: out of memory");
        goto done;
    }
    for (uint32_t q = 1; q <= m && st == TKMS_OK; q++) {
        const tkms_share *old = cfg->old_shares ? cfg->old_shares[q - 1] : NULL;
        size_t old_count = cfg->old_share_counts ? cfg->old_share_counts[q - 1] : 0;
        work(&r, q, 1);
        st = tkms_party_new(&sim->parties[q - 1], cfg->spec, cfg->spec->parties[q - 1].id,
                            &cfg->identities[q - 1], old, old_count, cfg->rng, err);
        if (st == TKMS_OK)
            st = tkms_party_start(sim->parties[q - 1], &boxes[q - 1], err);
        work(&r, q, 0);
    }
    if (st != TKMS_OK)
        goto done;
    relay_outboxes(&r, boxes);
    for (int round = 1; round <= 4; round++) {
        for (uint32_t q = 1; q <= m; q++) {
            tkms_party *p = sim->parties[q - 1];
            if (tkms_party_state_of(p) != TKMS_PARTY_RUNNING)
                continue;
            tkms_err ignored;   /* a party that fails keeps its reason in its state */
            work(&r, q, 1);
            tkms_party_end_round(p, &boxes[q - 1], &ignored);
            work(&r, q, 0);
        }
        relay_outboxes(&r, boxes);
    }
done:
    for (uint32_t q = 0; boxes && q < m; q++)
        tkms_outbox_clear(&boxes[q]);
    free(boxes);
    free(r.bad_values);
    if (st != TKMS_OK)
        tkms_simulation_free(sim);
    return st;
}
