/*
 * fuzz_party_receive.c — libFuzzer target for what a ceremony party takes
 * in: the router (tkms_party_receive) and, behind it, the decoders of every
 * message payload (DEAL, SHARE, ECHO, JUSTIFY, EVIDENCE, CONFIRM), then the
 * processing of each round (tkms_party_end_round), which must never crash
 * whatever was received.
 *
 * A small fixed ceremony is built once: parties p1, p2, p3 holding 1, 2
 * and 1 shares (n = 4), K = 2, two keys, identities from fixed seeds. It is
 * run once per scenario with a seeded RNG, recording what p2 and p3 send
 * p1 in each round:
 *   0 honest;
 *   1 p2's sealed share to p3 is corrupted (p3 complains, p2 justifies in
 *     round 3);
 *   2 p3 shows p2 another deal (echoes disagree, deals are forwarded as
 *     evidence in round 3);
 *   3 p2 sends nothing.
 * Each input then re-creates p1 from the same seed (so it deals exactly as
 * when the messages were recorded) and starts it. The first input byte
 * picks the scenario; the rest is a list of records:
 *   0                    end the round
 *   1 i                  deliver recorded message i of p1's current round
 *   2                    deliver every recorded message of the round
 *   3 i pos pos x        recorded message i with payload byte pos ^= x,
 *                        re-signed by its sender
 *   4 t f fs tp ts len len payload…
 *                        a message of type t from party 1 + (f & 3) (4 is
 *                        no party) for p1's current round, signed by the
 *                        sender's identity (f & 0x40: the next party's) for
 *                        this ceremony (f & 0x80: another one), so the
 *                        payload decoders see arbitrary payloads
 *   5 len len bytes…     raw bytes
 * At the end the remaining rounds are ended. Asserted: every refusal has a
 * reason; after four rounds the party is DONE or FAILED; a FAILED one says
 * why and yields no group or share; a DONE one has its share of both keys,
 * and each matches its key's group (shares never disagree with the public
 * commitments, whatever the others sent).
 *
 * Seeds (fuzz/seeds/party_receive/): the four scenarios played honestly,
 * and records wrapping every recorded payload (type 4) and tweaks of each,
 * written once by a throwaway program that #includes this file and dumps
 * records built from `recorded` (likewise the raw recorded messages became
 * fuzz/seeds/ceremony_message/).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "tkms/ceremony_message.h"
#include "tkms/dkg.h"

#define PARTIES 3
#define SCENARIOS 4
#define ROUNDS 4

typedef struct {
    uint8_t *data;
    size_t len;
} blob;

typedef struct {
    blob *items;
    size_t count;
} blob_list;

static tkms_ceremony_spec *spec;
static tkms_identity identities[PARTIES];
/* what p2 and p3 sent p1, by scenario and round (index round - 1) */
static blob_list recorded[SCENARIOS][ROUNDS];

static void party_rng(tkms_rng_seeded *rng, uint32_t party)
{
    uint8_t seed[32] = {'r', 'n', 'g', (uint8_t)party};
    tkms_rng_seeded_init(rng, seed);
}

static void record(blob_list *list, const uint8_t *data, size_t len)
{
    blob *items = realloc(list->items, (list->count + 1) * sizeof *items);
    INVARIANT(items != NULL);
    list->items = items;
    items[list->count].data = malloc(len);
    INVARIANT(items[list->count].data != NULL);
    memcpy(items[list->count].data, data, len);
    items[list->count++].len = len;
}

/* msg re-encoded with a new payload, signed by its sender. */
static uint8_t *resign(const tkms_message *msg, const uint8_t *payload, size_t len, size_t *out_len)
{
    uint8_t *out;
    INVARIANT(tkms_message_encode(&out, out_len, msg, payload, len,
                                  &identities[msg->from_party - 1]) == TKMS_OK);
    return out;
}

/* Scenario 2: p3's deal with its second commitment moved by G. */
static uint8_t *other_deal(const tkms_message *msg, size_t *out_len)
{
    uint8_t *payload = malloc(msg->payload_len);
    INVARIANT(payload != NULL);
    memcpy(payload, msg->payload, msg->payload_len);
    blst_p1_affine a;
    blst_p1 p;
    INVARIANT(blst_p1_deserialize(&a, payload + 96) == BLST_SUCCESS);
    blst_p1_from_affine(&p, &a);
    blst_p1_add_or_double(&p, &p, blst_p1_generator());
    blst_p1_serialize(payload + 96, &p);
    uint8_t *out = resign(msg, payload, msg->payload_len, out_len);
    free(payload);
    return out;
}

/* Delivers one message of `from` as scenario s has it, recording what
 * reaches p1. */
static void relay(int s, tkms_party **parties, uint32_t from, const uint8_t *bytes, size_t len)
{
    tkms_message msg;
    INVARIANT(tkms_message_decode(&msg, bytes, len, NULL) == TKMS_OK);
    if (s == 3 && from == 2)
        return;
    uint8_t *changed = NULL, *alternative = NULL;
    size_t changed_len = 0, alternative_len = 0;
    if (s == 1 && from == 2 && msg.type == TKMS_MSG_SHARE && msg.to_party == 3) {
        uint8_t *payload = malloc(msg.payload_len);
        INVARIANT(payload != NULL);
        memcpy(payload, msg.payload, msg.payload_len);
        payload[msg.payload_len / 2] ^= 0x40;
        changed = resign(&msg, payload, msg.payload_len, &changed_len);
        free(payload);
    }
    if (s == 2 && from == 3 && msg.type == TKMS_MSG_DEAL)
        alternative = other_deal(&msg, &alternative_len);
    for (uint32_t to = 1; to <= PARTIES; to++) {
        if (to == from || (msg.to_party != TKMS_MESSAGE_BROADCAST && msg.to_party != to))
            continue;
        const uint8_t *out = bytes;
        size_t out_len = len;
        if (changed != NULL)
            out = changed, out_len = changed_len;
        if (alternative != NULL && to == 2)
            out = alternative, out_len = alternative_len;
        if (to == 1)
            record(&recorded[s][msg.round - 1], out, out_len);
        tkms_party_receive(parties[to - 1], out, out_len, NULL);
    }
    free(changed);
    free(alternative);
}

static void relay_all(int s, tkms_party **parties, tkms_outbox *boxes)
{
    for (uint32_t q = 1; q <= PARTIES; q++) {
        for (size_t i = 0; i < boxes[q - 1].count; i++)
            relay(s, parties, q, boxes[q - 1].data[i], boxes[q - 1].len[i]);
        tkms_outbox_clear(&boxes[q - 1]);
    }
}

static void setup(void)
{
    tkms_ceremony_party parties[PARTIES];
    const uint32_t shares[PARTIES] = {1, 2, 1};
    for (uint32_t i = 0; i < PARTIES; i++) {
        uint8_t seed[TKMS_IDENTITY_SEED_SIZE] = {'i', 'd', (uint8_t)(i + 1)};
        INVARIANT(tkms_identity_from_seed(&identities[i], seed) == TKMS_OK);
        snprintf(parties[i].id, sizeof parties[i].id, "p%u", i + 1);
        parties[i].shares = shares[i];
        memcpy(parties[i].identity, identities[i].public_key, TKMS_IDENTITY_PUBLIC_SIZE);
    }
    uint8_t ceremony_id[TKMS_CEREMONY_ID_SIZE] = {'f', 'u', 'z', 'z'};
    INVARIANT(tkms_ceremony_spec_new(&spec, TKMS_CEREMONY_DKG, ceremony_id, 2, 2, parties,
                                     PARTIES, NULL, NULL, NULL) == TKMS_OK);
    for (int s = 0; s < SCENARIOS; s++) {
        tkms_rng_seeded rngs[PARTIES];
        tkms_party *p[PARTIES];
        tkms_outbox boxes[PARTIES];
        memset(boxes, 0, sizeof boxes);
        for (uint32_t q = 0; q < PARTIES; q++) {
            party_rng(&rngs[q], q + 1);
            INVARIANT(tkms_party_new(&p[q], spec, spec->parties[q].id, &identities[q], NULL, 0,
                                     &rngs[q].base, NULL) == TKMS_OK);
            INVARIANT(tkms_party_start(p[q], &boxes[q], NULL) == TKMS_OK);
        }
        relay_all(s, p, boxes);
        for (int round = 1; round <= ROUNDS; round++) {
            for (uint32_t q = 0; q < PARTIES; q++)
                if (tkms_party_state_of(p[q]) == TKMS_PARTY_RUNNING)
                    tkms_party_end_round(p[q], &boxes[q], NULL);
            relay_all(s, p, boxes);
        }
        /* the honest parties of every scenario finished */
        INVARIANT(tkms_party_state_of(p[0]) == TKMS_PARTY_DONE);
        for (uint32_t q = 0; q < PARTIES; q++)
            tkms_party_free(p[q]);
    }
}

/* ---- one input --------------------------------------------------------------- */

typedef struct {
    const uint8_t *data;
    size_t size, at;
} reader;

static bool take(reader *r, size_t n, const uint8_t **out)
{
    if (r->size - r->at < n)
        return false;
    *out = r->data + r->at;
    r->at += n;
    return true;
}

static bool take_u8(reader *r, uint32_t *v)
{
    const uint8_t *p;
    if (!take(r, 1, &p))
        return false;
    *v = p[0];
    return true;
}

static bool take_u16(reader *r, uint32_t *v)
{
    const uint8_t *p;
    if (!take(r, 2, &p))
        return false;
    *v = (uint32_t)p[0] << 8 | p[1];
    return true;
}

static void deliver(tkms_party *party, const uint8_t *bytes, size_t len)
{
    tkms_err err;
    err.message[0] = '\0';
    if (tkms_party_receive(party, bytes, len, &err) != TKMS_OK)
        INVARIANT(err.message[0] != '\0');
}

static void end_round(tkms_party *party)
{
    if (tkms_party_state_of(party) != TKMS_PARTY_RUNNING)
        return;
    tkms_outbox box = {0};
    tkms_party_end_round(party, &box, NULL);
    tkms_outbox_clear(&box);
}

/* The recorded message i of party's current round, or NULL. */
static const blob *recorded_message(int s, const tkms_party *party, uint32_t i)
{
    uint32_t round = tkms_party_round(party);
    if (round < 1 || round > ROUNDS || recorded[s][round - 1].count == 0)
        return NULL;
    const blob_list *list = &recorded[s][round - 1];
    return &list->items[i % list->count];
}

/* Record 3: a recorded message with one payload byte changed, re-signed. */
static void tweak(int s, tkms_party *party, reader *r)
{
    uint32_t i, pos, x;
    if (!take_u8(r, &i) || !take_u16(r, &pos) || !take_u8(r, &x))
        return;
    const blob *b = recorded_message(s, party, i);
    tkms_message msg;
    if (b == NULL || tkms_message_decode(&msg, b->data, b->len, NULL) != TKMS_OK ||
        msg.payload_len == 0)
        return;
    uint8_t *payload = malloc(msg.payload_len);
    INVARIANT(payload != NULL);
    memcpy(payload, msg.payload, msg.payload_len);
    payload[pos % msg.payload_len] ^= (uint8_t)x;
    size_t len;
    uint8_t *bytes = resign(&msg, payload, msg.payload_len, &len);
    deliver(party, bytes, len);
    free(bytes);
    free(payload);
}

/* Record 4: the input's payload in a validly signed envelope. */
static void wrap(tkms_party *party, reader *r)
{
    uint32_t type, from, from_share, to_party, to_share, len;
    const uint8_t *payload;
    if (!take_u8(r, &type) || !take_u8(r, &from) || !take_u8(r, &from_share) ||
        !take_u8(r, &to_party) || !take_u8(r, &to_share) || !take_u16(r, &len))
        return;
    if (len > r->size - r->at)
        len = (uint32_t)(r->size - r->at);
    take(r, len, &payload);
    uint32_t round = tkms_party_round(party);
    tkms_message msg = {
        .round = (uint8_t)(round <= ROUNDS ? round : ROUNDS),
        .type = (uint8_t)(TKMS_MSG_DEAL + type % 6),
        .from_party = (uint16_t)(1 + (from & 3)),     /* 4: no such party */
        .from_share = (uint16_t)from_share,
        .to_party = (uint16_t)(to_party % 4),
        .to_share = (uint16_t)to_share,
    };
    memcpy(msg.ceremony_id, spec->ceremony_id, TKMS_CEREMONY_ID_SIZE);
    if (from & 0x80)
        msg.ceremony_id[0] ^= 1;                       /* another ceremony */
    /* signed by the sender, or (bit 6) by the next party */
    uint32_t signer = ((uint32_t)(from & 3) + ((from & 0x40) ? 1 : 0)) % PARTIES;
    size_t out_len;
    uint8_t *bytes;
    INVARIANT(tkms_message_encode(&bytes, &out_len, &msg, payload, len, &identities[signer]) == TKMS_OK);
    deliver(party, bytes, out_len);
    free(bytes);
}

/* A DONE party's shares match its groups; a FAILED one says why. */
static void check_outcome(const tkms_party *party)
{
    tkms_party_state state = tkms_party_state_of(party);
    if (state != TKMS_PARTY_DONE) {
        size_t count;
        INVARIANT(tkms_party_group(party, 0) == NULL);
        INVARIANT(tkms_party_shares(party, 0, &count) == NULL && count == 0);
        INVARIANT(state == TKMS_PARTY_FAILED && tkms_party_failure(party)[0] != '\0');
        return;
    }
    INVARIANT(tkms_party_round(party) == ROUNDS + 1);
    for (uint32_t key = 0; key < spec->keys; key++) {
        size_t count;
        const tkms_group *group = tkms_party_group(party, key);
        const tkms_share *shares = tkms_party_shares(party, key, &count);
        INVARIANT(group != NULL && count == 1 && shares[0].index == 1);
        INVARIANT(group->threshold == spec->threshold && group->share_count == 4);
        INVARIANT(tkms_share_check(group, &shares[0]) == TKMS_OK);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        setup();
        ready = true;
    }
    if (size == 0)
        return 0;
    int s = data[0] % SCENARIOS;
    reader r = {.data = data, .size = size, .at = 1};
    tkms_rng_seeded rng;
    party_rng(&rng, 1);
    tkms_party *party;
    tkms_outbox box = {0};
    INVARIANT(tkms_party_new(&party, spec, "p1", &identities[0], NULL, 0, &rng.base, NULL) == TKMS_OK);
    INVARIANT(tkms_party_start(party, &box, NULL) == TKMS_OK);
    tkms_outbox_clear(&box);
    uint32_t op, i;
    while (take_u8(&r, &op)) {
        switch (op % 6) {
        case 0:
            end_round(party);
            break;
        case 1: {
            const blob *b = take_u8(&r, &i) ? recorded_message(s, party, i) : NULL;
            if (b != NULL)
                deliver(party, b->data, b->len);
            break;
        }
        case 2: {
            uint32_t round = tkms_party_round(party);
            for (size_t k = 0; round <= ROUNDS && k < recorded[s][round - 1].count; k++)
                deliver(party, recorded[s][round - 1].items[k].data, recorded[s][round - 1].items[k].len);
            break;
        }
        case 3:
            tweak(s, party, &r);
            break;
        case 4:
            wrap(party, &r);
            break;
        default: {
            uint32_t len;
            const uint8_t *bytes;
            if (!take_u16(&r, &len))
                break;
            if (len > r.size - r.at)
                len = (uint32_t)(r.size - r.at);
            take(&r, len, &bytes);
            deliver(party, bytes, len);
        }
        }
    }
    for (int k = 0; k < ROUNDS; k++)
        end_round(party);
    check_outcome(party);
    tkms_party_free(party);
    return 0;
}
