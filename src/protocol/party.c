/*
 * party.c — one party of a DKG or reshare ceremony, sans-IO (tkms/dkg.h):
 * creating it, dealing its polynomials in round 1, sending, stepping
 * through the rounds and handing out the results. The router is in
 * party_router.c, the round processing in party_rounds.c; the state they
 * share is in party_internal.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "party_internal.h"

/* ---- small helpers ------------------------------------------------------- */

void party_put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

uint32_t party_get16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

uint8_t *party_copy_bytes(const uint8_t *p, size_t len)
{
    uint8_t *c = malloc(len ? len : 1);
    if (c != NULL)
        memcpy(c, p, len);
    return c;
}

static tkms_status outbox_add(tkms_outbox *box, uint8_t *data, size_t len, uint16_t to)
{
    if (box->count == box->capacity) {
        size_t cap = box->capacity ? box->capacity * 2 : 16;
        uint8_t **d = realloc(box->data, cap * sizeof *d);
        size_t *l = d ? realloc(box->len, cap * sizeof *l) : NULL;
        uint16_t *t = l ? realloc(box->to_party, cap * sizeof *t) : NULL;
        if (d) box->data = d;
        if (l) box->len = l;
        if (t) box->to_party = t;
        if (!d || !l || !t) {
            free(data);
            return TKMS_ERR_NO_MEMORY;
        }
        box->capacity = cap;
    }
    box->data[box->count] = data;
    box->len[box->count] = len;
    box->to_party[box->count++] = to;
    return TKMS_OK;
}

void tkms_outbox_clear(tkms_outbox *box)
{
    for (size_t i = 0; i < box->count; i++)
        free(box->data[i]);
    free(box->data);
    free(box->len);
    free(box->to_party);
    memset(box, 0, sizeof *box);
}

bool party_is_reshare(const tkms_party *p)
{
    return p->spec->kind == TKMS_CEREMONY_RESHARE;
}

/* The party number of dealing d's dealer. */
static uint32_t dealer_of(const tkms_party *p, uint32_t d)
{
    if (!party_is_reshare(p))
        return d;
    const tkms_owner *o = tkms_owner_of(p->spec->old_owners, d);
    return o ? tkms_ceremony_party_number(p->spec, o->id) : 0;
}

share_instance *party_share_instance(tkms_party *p, uint32_t index)
{
    for (size_t i = 0; i < p->share_count; i++)
        if (p->shares[i].index == index)
            return &p->shares[i];
    return NULL;
}

void party_disqualify(tkms_party *p, uint32_t d, const uint8_t *ev1, size_t len1,
                       const uint8_t *ev2, size_t len2, const char *fmt, ...)
{
    dealing *dl = &p->dealings[d - 1];
    if (dl->disqualified || p->dq_count == TKMS_CEREMONY_MAX_PARTIES)
        return;
    dl->disqualified = true;
    tkms_disqualification *q = &p->dq[p->dq_count++];
    memset(q, 0, sizeof *q);
    q->party = dl->party;
    q->dealing = d;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q->reason, sizeof q->reason, fmt, ap);
    va_end(ap);
    if (ev1 != NULL && (q->evidence[0] = party_copy_bytes(ev1, len1)) != NULL)
        q->evidence_len[q->evidence_count++] = len1;
    if (ev2 != NULL && (q->evidence[q->evidence_count] = party_copy_bytes(ev2, len2)) != NULL)
        q->evidence_len[q->evidence_count++] = len2;
}

void party_value_to_bytes(uint8_t out[VALUE_SIZE], const blst_fr *v)
{
    blst_scalar s;
    blst_scalar_from_fr(&s, v);
    blst_bendian_from_scalar(out, &s);
    tkms_wipe(&s, sizeof s);
}

/* Reads a value; false if it is not below r. */
bool party_value_from_bytes(blst_scalar *out, const uint8_t in[VALUE_SIZE])
{
    blst_scalar_from_bendian(out, in);
    return blst_scalar_fr_check(out);
}

/* ---- creation ------------------------------------------------------------- */

void tkms_party_free(tkms_party *p)
{
    if (p == NULL)
        return;
    for (uint32_t d = 0; p->dealings && d < p->D; d++) {
        dealing *dl = &p->dealings[d];
        free(dl->deal);
        free(dl->other_deal);
        free(dl->commitments);
        free(dl->complained);
        free(dl->justify);
        if (dl->coeffs != NULL)
            tkms_wipe(dl->coeffs, (size_t)p->M * p->K * sizeof *dl->coeffs);
        free(dl->coeffs);
    }
    free(p->dealings);
    for (size_t i = 0; p->shares && i < p->share_count; i++) {
        share_instance *s = &p->shares[i];
        for (uint32_t d = 0; s->sealed && d < p->D; d++)
            free(s->sealed[d]);
        free(s->sealed);
        free(s->sealed_len);
        if (s->values != NULL)
            tkms_wipe(s->values, (size_t)p->D * p->M * sizeof *s->values);
        free(s->values);
        free(s->have);
    }
    if (p->results != NULL)
        tkms_wipe(p->results, (size_t)p->M * p->share_count * sizeof *p->results);
    free(p->results);
    free(p->shares);
    free(p->echo_hashes);
    free(p->echo_received);
    free(p->confirm_sigs);
    free(p->confirm_received);
    free(p->box_keys);
    free(p->refused);
    free(p->refused_reason);
    for (uint32_t k = 0; p->groups && k < p->M; k++)
        tkms_group_free(p->groups[k]);
    free(p->groups);
    free(p->new_commitments);
    for (size_t i = 0; i < p->dq_count; i++) {
        free(p->dq[i].evidence[0]);
        free(p->dq[i].evidence[1]);
    }
    tkms_identity_wipe(&p->identity);
    free(p);
}

static bool allocate_state(tkms_party *p)
{
    p->dealings = calloc(p->D, sizeof *p->dealings);
    p->echo_hashes = calloc((size_t)p->m * p->D, HASH_SIZE);
    p->echo_received = calloc(p->m + 1, sizeof *p->echo_received);
    p->confirm_sigs = calloc((size_t)p->n * p->M, TKMS_SIGNATURE_SIZE);
    p->confirm_received = calloc(p->n + 1, sizeof *p->confirm_received);
    p->box_keys = calloc(p->m, sizeof *p->box_keys);
    p->refused = calloc(p->m + 1, sizeof *p->refused);
    p->refused_reason = calloc(p->m + 1, sizeof *p->refused_reason);
    p->groups = calloc(p->M, sizeof *p->groups);
    p->new_commitments = calloc((size_t)p->M * p->K, sizeof *p->new_commitments);
    if (!p->box_keys || !p->new_commitments || !p->dealings || !p->echo_hashes || !p->echo_received || !p->confirm_sigs ||
        !p->confirm_received || !p->refused || !p->refused_reason || !p->groups)
        return false;
    for (uint32_t d = 1; d <= p->D; d++) {
        dealing *dl = &p->dealings[d - 1];
        dl->party = dealer_of(p, d);
        dl->complained = calloc(p->n + 1, 1);
        if (dl->complained == NULL)
            return false;
    }
    const tkms_owner *mine = &p->spec->owners->owners[p->me - 1];
    p->share_count = mine->share_count;
    p->shares = calloc(p->share_count ? p->share_count : 1, sizeof *p->shares);
    if (p->shares == NULL)
        return false;
    for (size_t i = 0; i < p->share_count; i++) {
        share_instance *s = &p->shares[i];
        s->index = mine->first_index + (uint32_t)i;
        s->sealed = calloc(p->D, sizeof *s->sealed);
        s->sealed_len = calloc(p->D, sizeof *s->sealed_len);
        s->values = calloc((size_t)p->D * p->M, sizeof *s->values);
        s->have = calloc(p->D, sizeof *s->have);
        if (!s->sealed || !s->sealed_len || !s->values || !s->have)
            return false;
    }
    p->results = calloc((size_t)p->M * (p->share_count ? p->share_count : 1), sizeof *p->results);
    return p->results != NULL;
}

/* Draws (or, for a reshare, partly sets) the polynomials of this party's
 * dealings. */
static tkms_status make_polynomials(tkms_party *p, const tkms_share *old_shares,
                                    size_t old_count, tkms_err *err)
{
    for (uint32_t d = 1; d <= p->D; d++) {
        dealing *dl = &p->dealings[d - 1];
        if (dl->party != p->me)
            continue;
        const tkms_share *old = NULL;
        if (party_is_reshare(p)) {
            for (size_t i = 0; i < old_count; i++)
                if (old_shares[i].index == d)
                    old = &old_shares[i];
            if (old == NULL || tkms_share_check(p->spec->old_group, old) != TKMS_OK)
                return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                                 "reshare: old share %u of this owner is missing or does not "
                                 "match the old group", d);
        }
        dl->coeffs = malloc((size_t)p->M * p->K * sizeof *dl->coeffs);
        if (dl->coeffs == NULL)
            return tkms_fail(err, TKMS_ERR_NO_MEMORY, "party: out of memory");
        for (size_t c = 0; c < (size_t)p->M * p->K; c++) {
            uint8_t wide[64];
            blst_scalar s;
            if (tkms_rng_fill(p->rng, wide, sizeof wide) != TKMS_OK)
                return tkms_fail(err, TKMS_ERR_RNG, "party: the RNG failed");
            blst_scalar_from_be_bytes(&s, wide, sizeof wide);
            blst_fr_from_scalar(&dl->coeffs[c], &s);
            tkms_wipe(wide, sizeof wide);
            tkms_wipe(&s, sizeof s);
        }
        if (old != NULL)
            blst_fr_from_scalar(&dl->coeffs[0], &old->key.value);
    }
    return TKMS_OK;
}

tkms_status tkms_party_new(tkms_party **out, const tkms_ceremony_spec *spec,
                           const char *my_id, const tkms_identity *identity,
                           const tkms_share *old_shares, size_t old_share_count,
                           tkms_rng *rng, tkms_err *err)
{
    *out = NULL;
    uint32_t me = tkms_ceremony_party_number(spec, my_id);
    if (me == 0)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "party: '%s' is not a party of this ceremony",
                         my_id);
    if (memcmp(spec->parties[me - 1].identity, identity->public_key, TKMS_IDENTITY_PUBLIC_SIZE) != 0)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "party: this identity is not the one the spec gives '%s'", my_id);
    tkms_party *p = calloc(1, sizeof *p);
    if (p == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "party: out of memory");
    p->spec = spec;
    p->me = me;
    p->identity = *identity;
    p->rng = rng;
    p->round = 1;
    p->state = TKMS_PARTY_RUNNING;
    p->K = spec->threshold;
    p->M = spec->keys;
    p->n = spec->owners->total;
    p->m = (uint32_t)spec->party_count;
    p->D = party_is_reshare(p) ? spec->old_group->share_count : p->m;
    tkms_status st = TKMS_OK;
    if (!allocate_state(p))
        st = tkms_fail(err, TKMS_ERR_NO_MEMORY, "party: out of memory");
    for (uint32_t q = 0; st == TKMS_OK && q < p->m; q++)
        if (tkms_identity_box_key(p->box_keys[q], spec->parties[q].identity) != TKMS_OK)
            st = tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                           "party: '%s' has an identity key that cannot receive sealed shares",
                           spec->parties[q].id);
    if (st == TKMS_OK)
        st = make_polynomials(p, old_shares, old_share_count, err);
    if (st != TKMS_OK) {
        tkms_party_free(p);
        return st;
    }
    *out = p;
    return TKMS_OK;
}

/* ---- sending -------------------------------------------------------------- */


tkms_status party_send(tkms_party *p, tkms_outbox *out, uint8_t type, uint32_t from_share,
                       uint32_t to_party, uint32_t to_share, const uint8_t *payload,
                       size_t len, tkms_err *err)
{
    tkms_message f = {.round = (uint8_t)p->round, .type = type,
                      .from_party = (uint16_t)p->me, .from_share = (uint16_t)from_share,
                      .to_party = (uint16_t)to_party, .to_share = (uint16_t)to_share};
    memcpy(f.ceremony_id, p->spec->ceremony_id, TKMS_CEREMONY_ID_SIZE);
    uint8_t *bytes;
    size_t bytes_len;
    tkms_status st = tkms_message_encode(&bytes, &bytes_len, &f, payload, len, &p->identity);
    if (st != TKMS_OK)
        return tkms_fail(err, st, "party: cannot encode a message: %s", tkms_status_string(st));
    /* this party takes its own messages to itself directly */
    if (to_party == TKMS_MESSAGE_BROADCAST || to_party == p->me) {
        tkms_err inner;
        st = party_accept(p, bytes, bytes_len, &inner);
        if (st != TKMS_OK) {
            free(bytes);
            return tkms_fail(err, st, "party: own message refused: %s", inner.message);
        }
        if (to_party == p->me) {
            free(bytes);
            return TKMS_OK;
        }
    }
    if ((st = outbox_add(out, bytes, bytes_len, (uint16_t)to_party)) != TKMS_OK)
        return tkms_fail(err, st, "party: out of memory");
    return TKMS_OK;
}

/* The dealing id a message claims: DKG the sender, reshare its from_share. */
uint32_t party_dealing_share(const tkms_party *p, uint32_t d)
{
    return party_is_reshare(p) ? d : 0;
}

static tkms_status deal(tkms_party *p, uint32_t d, tkms_outbox *out, tkms_err *err)
{
    dealing *dl = &p->dealings[d - 1];
    size_t points = (size_t)p->M * p->K;
    uint8_t *payload = malloc(points * POINT_SIZE);
    blst_p1 *proj = malloc(points * sizeof *proj);
    const blst_p1 **ptrs = calloc(points, sizeof *ptrs);
    blst_p1_affine *affine = malloc(points * sizeof *affine);
    uint8_t *values = malloc((size_t)p->M * VALUE_SIZE);
    uint8_t *sealed = malloc((size_t)p->M * VALUE_SIZE + TKMS_IDENTITY_SEAL_OVERHEAD);
    tkms_status st = TKMS_OK;
    if (!payload || !proj || !ptrs || !affine || !values || !sealed) {
        st = tkms_fail(err, TKMS_ERR_NO_MEMORY, "party: out of memory");
        goto done;
    }
    for (size_t c = 0; c < points; c++) {
        blst_scalar s;
        blst_scalar_from_fr(&s, &dl->coeffs[c]);
        blst_sk_to_pk_in_g1(&proj[c], &s);
        tkms_wipe(&s, sizeof s);
        ptrs[c] = &proj[c];
    }
    blst_p1s_to_affine(affine, ptrs, points);
    for (size_t c = 0; c < points; c++)
        blst_p1_affine_serialize(payload + c * POINT_SIZE, &affine[c]);
    if ((st = party_send(p, out, TKMS_MSG_DEAL, party_dealing_share(p, d), TKMS_MESSAGE_BROADCAST, 0,
                   payload, points * POINT_SIZE, err)) != TKMS_OK)
        goto done;
    for (uint32_t k = 1; k <= p->n; k++) {
        for (uint32_t key = 0; key < p->M; key++) {
            blst_fr v;
            tkms_poly_eval(&v, &dl->coeffs[(size_t)key * p->K], p->K, k);
            party_value_to_bytes(values + (size_t)key * VALUE_SIZE, &v);
            tkms_wipe(&v, sizeof v);
        }
        const tkms_owner *to = tkms_owner_of(p->spec->owners, k);
        uint32_t to_party = tkms_ceremony_party_number(p->spec, to->id);
        tkms_identity_seal_to(sealed, values, (size_t)p->M * VALUE_SIZE, p->box_keys[to_party - 1]);
        if ((st = party_send(p, out, TKMS_MSG_SHARE, party_dealing_share(p, d), to_party, k, sealed,
                       (size_t)p->M * VALUE_SIZE + TKMS_IDENTITY_SEAL_OVERHEAD, err)) != TKMS_OK)
            goto done;
    }
done:
    if (values != NULL)
        tkms_wipe(values, (size_t)p->M * VALUE_SIZE);
    free(values);
    free(sealed);
    free(payload);
    free(proj);
    free(ptrs);
    free(affine);
    return st;
}

tkms_status tkms_party_start(tkms_party *p, tkms_outbox *out, tkms_err *err)
{
    if (p->round != 1 || p->state != TKMS_PARTY_RUNNING)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "party: already started");
    for (uint32_t d = 1; d <= p->D; d++)
        if (p->dealings[d - 1].party == p->me) {
            tkms_status st = deal(p, d, out, err);
            if (st != TKMS_OK)
                return st;
        }
    return TKMS_OK;
}

/* ---- the driver's entry point --------------------------------------------- */

tkms_status tkms_party_end_round(tkms_party *p, tkms_outbox *out, tkms_err *err)
{
    if (p->state != TKMS_PARTY_RUNNING)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "party: the ceremony is over");
    /* what ending round r sends belongs to round r + 1, and is stamped so */
    uint32_t ending = p->round++;
    tkms_status st;
    switch (ending) {
    case 1: st = party_end_round_1(p, out, err); break;
    case 2: st = party_end_round_2(p, out, err); break;
    case 3: st = party_end_round_3(p, out, err); break;
    default: st = party_end_round_4(p, err); break;
    }
    if (st != TKMS_OK) {
        p->state = TKMS_PARTY_FAILED;
        snprintf(p->failure, sizeof p->failure, "%s", err ? err->message : tkms_status_string(st));
    } else if (p->round == 5)
        p->state = TKMS_PARTY_DONE;
    return st;
}

uint32_t tkms_party_round(const tkms_party *p) { return p->round; }
tkms_party_state tkms_party_state_of(const tkms_party *p) { return p->state; }
uint32_t tkms_party_number(const tkms_party *p) { return p->me; }
const char *tkms_party_failure(const tkms_party *p) { return p->failure; }

const tkms_group *tkms_party_group(const tkms_party *p, uint32_t key)
{
    return p->state == TKMS_PARTY_DONE && key < p->M ? party_group_of((tkms_party *)p, key) : NULL;
}

const tkms_share *tkms_party_shares(const tkms_party *p, uint32_t key, size_t *count)
{
    *count = 0;
    if (p->state != TKMS_PARTY_DONE || key >= p->M)
        return NULL;
    *count = p->share_count;
    return &p->results[(size_t)key * p->share_count];
}

const uint8_t *tkms_party_transcript(const tkms_party *p) { return p->transcript; }

const tkms_disqualification *tkms_party_disqualified(const tkms_party *p, size_t *count)
{
    *count = p->dq_count;
    return p->dq;
}
