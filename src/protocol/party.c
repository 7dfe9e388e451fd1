/*
 * party.c — one party of a DKG or reshare ceremony, sans-IO (tkms/dkg.h).
 *
 * State is kept per dealing (DKG: one per party; reshare: one per old
 * share) and per share instance (each new share this owner holds). The
 * router (receive) checks every message before anything is stored; the
 * rounds are processed in end_round. Subgroup checks are optimistic: the
 * aggregated commitments are checked, and only if one fails is every
 * dealing's commitments checked to find the culprit.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tkms/ceremony_message.h"
#include "tkms/combine.h"
#include "tkms/dkg.h"
#include "tkms/secmem.h"

#define POINT_SIZE 96              /* uncompressed G1 in deals          */
#define VALUE_SIZE 32              /* big-endian scalar                 */
#define HASH_SIZE 32

typedef struct {
    uint32_t party;                /* the dealer                         */
    uint8_t *deal;                 /* first signed DEAL seen (raw)       */
    size_t deal_len;
    uint8_t deal_hash[HASH_SIZE];
    uint8_t *other_deal;           /* a second, different one            */
    size_t other_len;
    blst_p1_affine *commitments;   /* M × K once decoded                 */
    bool commitments_ok;
    uint8_t *complained;           /* [n + 1]                            */
    bool any_complaint;
    uint8_t *justify;              /* the dealer's JUSTIFY (raw)         */
    size_t justify_len;
    bool disqualified;
    blst_fr *coeffs;               /* M × K, only for this party's own   */
} dealing;

typedef struct {
    uint32_t index;
    uint8_t **sealed;              /* [D] SHARE payloads received        */
    size_t *sealed_len;
    blst_scalar *values;           /* [D × M]                            */
    bool *have;                    /* [D] values verified or revealed    */
} share_instance;

struct tkms_party {
    const tkms_ceremony_spec *spec;
    uint32_t me;
    tkms_identity identity;
    tkms_rng *rng;
    uint32_t round;
    tkms_party_state state;
    uint32_t K, M, n, D, m;
    dealing *dealings;             /* [D]                                */
    share_instance *shares;        /* this owner's new shares            */
    size_t share_count;
    uint8_t *echo_hashes;          /* [m × D × 32]                       */
    bool *echo_received;           /* [m + 1]                            */
    uint8_t *confirm_sigs;         /* [n × M × 96]                       */
    bool *confirm_received;        /* [n + 1]                            */
    uint8_t (*box_keys)[32];       /* [m] each party's X25519 key        */
    uint32_t *refused;             /* [m + 1] deals refused per sender   */
    char (*refused_reason)[96];    /* [m + 1] why the last one was       */
    tkms_public_key *new_commitments; /* [M × K] the new keys' commitments */
    tkms_group **groups;           /* [M], built on demand (share keys)  */
    tkms_share *results;           /* [M × share_count]: key-major       */
    uint8_t transcript[HASH_SIZE];
    blst_p2_affine transcript_point;   /* H(transcript), hashed once      */
    tkms_disqualification dq[TKMS_CEREMONY_MAX_PARTIES];
    size_t dq_count;
    char failure[TKMS_ERR_MESSAGE_SIZE];   /* why, once FAILED */
};

/* ---- small helpers ------------------------------------------------------- */

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint32_t get16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static uint8_t *copy_bytes(const uint8_t *p, size_t len)
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

static bool is_reshare(const tkms_party *p)
{
    return p->spec->kind == TKMS_CEREMONY_RESHARE;
}

/* The party number of dealing d's dealer. */
static uint32_t dealer_of(const tkms_party *p, uint32_t d)
{
    if (!is_reshare(p))
        return d;
    const tkms_owner *o = tkms_owner_of(p->spec->old_owners, d);
    return o ? tkms_ceremony_party_number(p->spec, o->id) : 0;
}

static share_instance *my_share(tkms_party *p, uint32_t index)
{
    for (size_t i = 0; i < p->share_count; i++)
        if (p->shares[i].index == index)
            return &p->shares[i];
    return NULL;
}

static void disqualify(tkms_party *p, uint32_t d, const uint8_t *ev1, size_t len1,
                       const uint8_t *ev2, size_t len2, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static void disqualify(tkms_party *p, uint32_t d, const uint8_t *ev1, size_t len1,
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
    if (ev1 != NULL && (q->evidence[0] = copy_bytes(ev1, len1)) != NULL)
        q->evidence_len[q->evidence_count++] = len1;
    if (ev2 != NULL && (q->evidence[q->evidence_count] = copy_bytes(ev2, len2)) != NULL)
        q->evidence_len[q->evidence_count++] = len2;
}

static void value_to_bytes(uint8_t out[VALUE_SIZE], const blst_fr *v)
{
    blst_scalar s;
    blst_scalar_from_fr(&s, v);
    blst_bendian_from_scalar(out, &s);
    tkms_wipe(&s, sizeof s);
}

/* Reads a value; false if it is not below r. */
static bool value_from_bytes(blst_scalar *out, const uint8_t in[VALUE_SIZE])
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
        if (is_reshare(p)) {
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
    p->D = is_reshare(p) ? spec->old_group->share_count : p->m;
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

static tkms_status accept(tkms_party *p, const uint8_t *bytes, size_t len, tkms_err *err);

static tkms_status send(tkms_party *p, tkms_outbox *out, uint8_t type, uint32_t from_share,
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
        st = accept(p, bytes, bytes_len, &inner);
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
static uint32_t my_dealing_share(const tkms_party *p, uint32_t d)
{
    return is_reshare(p) ? d : 0;
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
    if ((st = send(p, out, TKMS_MSG_DEAL, my_dealing_share(p, d), TKMS_MESSAGE_BROADCAST, 0,
                   payload, points * POINT_SIZE, err)) != TKMS_OK)
        goto done;
    for (uint32_t k = 1; k <= p->n; k++) {
        for (uint32_t key = 0; key < p->M; key++) {
            blst_fr v;
            tkms_poly_eval(&v, &dl->coeffs[(size_t)key * p->K], p->K, k);
            value_to_bytes(values + (size_t)key * VALUE_SIZE, &v);
            tkms_wipe(&v, sizeof v);
        }
        const tkms_owner *to = tkms_owner_of(p->spec->owners, k);
        uint32_t to_party = tkms_ceremony_party_number(p->spec, to->id);
        tkms_identity_seal_to(sealed, values, (size_t)p->M * VALUE_SIZE, p->box_keys[to_party - 1]);
        if ((st = send(p, out, TKMS_MSG_SHARE, my_dealing_share(p, d), to_party, k, sealed,
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

/* ---- the router ------------------------------------------------------------ */

static tkms_status refuse(tkms_party *p, uint32_t from, tkms_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static tkms_status refuse(tkms_party *p, uint32_t from, tkms_err *err, const char *fmt, ...)
{
    (void)p;
    (void)from;
    char reason[TKMS_ERR_MESSAGE_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s", reason);
}

/* The dealing a DEAL/SHARE/JUSTIFY claims to come from; 0 if the sender
 * does not deal it. */
static uint32_t claimed_dealing(const tkms_party *p, const tkms_message *m)
{
    uint32_t d = is_reshare(p) ? m->from_share : m->from_party;
    if (d == 0 || d > p->D || (!is_reshare(p) && m->from_share != 0))
        return 0;
    return p->dealings[d - 1].party == m->from_party ? d : 0;
}

static size_t expected_len(const tkms_party *p, const tkms_message *m)
{
    switch (m->type) {
    case TKMS_MSG_DEAL: return (size_t)p->M * p->K * POINT_SIZE;
    case TKMS_MSG_SHARE: return (size_t)p->M * VALUE_SIZE + TKMS_IDENTITY_SEAL_OVERHEAD;
    case TKMS_MSG_CONFIRM: return (size_t)p->M * TKMS_SIGNATURE_SIZE;
    default: return 0;   /* variable */
    }
}

static uint8_t round_of_type(uint8_t type)
{
    switch (type) {
    case TKMS_MSG_DEAL:
    case TKMS_MSG_SHARE: return 1;
    case TKMS_MSG_ECHO: return 2;
    case TKMS_MSG_JUSTIFY:
    case TKMS_MSG_EVIDENCE: return 3;
    default: return 4;
    }
}

/* Checks a forwarded deal and keeps it: adopted if this party had none,
 * kept as proof if it differs from the one it has. */
static tkms_status take_forwarded_deal(tkms_party *p, uint32_t d, const uint8_t *raw,
                                       size_t len, uint32_t from, tkms_err *err)
{
    tkms_message inner;
    tkms_err e;
    if (tkms_message_decode(&inner, raw, len, &e) != TKMS_OK)
        return refuse(p, from, err, "evidence: the forwarded deal is malformed: %s", e.message);
    if (memcmp(inner.ceremony_id, p->spec->ceremony_id, TKMS_CEREMONY_ID_SIZE) != 0 ||
        inner.type != TKMS_MSG_DEAL || inner.round != 1 || claimed_dealing(p, &inner) != d ||
        inner.payload_len != expected_len(p, &inner) ||
        !tkms_message_signed_by(&inner, p->spec->parties[inner.from_party - 1].identity))
        return refuse(p, from, err, "evidence: the forwarded deal is not dealing %u's signed deal", d);
    dealing *dl = &p->dealings[d - 1];
    if (dl->deal == NULL) {
        dl->deal = copy_bytes(raw, len);
        dl->deal_len = len;
        blst_sha256(dl->deal_hash, raw, len);
    } else if ((len != dl->deal_len || memcmp(raw, dl->deal, len) != 0) && dl->other_deal == NULL) {
        dl->other_deal = copy_bytes(raw, len);
        dl->other_len = len;
    }
    return TKMS_OK;
}

static tkms_status store(tkms_party *p, const tkms_message *m, const uint8_t *bytes,
                         size_t len, tkms_err *err)
{
    uint32_t from = m->from_party;
    const uint8_t *pl = m->payload;
    switch (m->type) {
    case TKMS_MSG_DEAL: {
        dealing *dl = &p->dealings[claimed_dealing(p, m) - 1];
        if (dl->deal == NULL) {
            dl->deal = copy_bytes(bytes, len);
            dl->deal_len = len;
            blst_sha256(dl->deal_hash, bytes, len);
            return TKMS_OK;
        }
        if (len == dl->deal_len && memcmp(bytes, dl->deal, len) == 0)
            return refuse(p, 0, err, "duplicate deal from party %u", from);
        if (dl->other_deal == NULL) {   /* two signed deals: proof of equivocation */
            dl->other_deal = copy_bytes(bytes, len);
            dl->other_len = len;
        }
        return TKMS_OK;
    }
    case TKMS_MSG_SHARE: {
        share_instance *s = my_share(p, m->to_share);
        uint32_t d = claimed_dealing(p, m);
        if (s->sealed[d - 1] != NULL)
            return refuse(p, 0, err, "duplicate share message from party %u", from);
        s->sealed[d - 1] = copy_bytes(pl, m->payload_len);
        s->sealed_len[d - 1] = m->payload_len;
        return TKMS_OK;
    }
    case TKMS_MSG_ECHO: {
        if (p->echo_received[from])
            return refuse(p, 0, err, "duplicate echo from party %u", from);
        if (m->payload_len < (size_t)p->D * HASH_SIZE + 2)
            return refuse(p, from, err, "echo from party %u is too short", from);
        uint32_t count = get16(pl + (size_t)p->D * HASH_SIZE);
        if (m->payload_len != (size_t)p->D * HASH_SIZE + 2 + 4 * (size_t)count)
            return refuse(p, from, err, "echo from party %u has the wrong length", from);
        const tkms_owner *sender = &p->spec->owners->owners[from - 1];
        const uint8_t *c = pl + (size_t)p->D * HASH_SIZE + 2;
        for (uint32_t i = 0; i < count; i++) {
            uint32_t d = get16(c + 4 * i), k = get16(c + 4 * i + 2);
            if (d == 0 || d > p->D || k < sender->first_index || k >= sender->first_index + sender->share_count)
                return refuse(p, from, err, "party %u complains about share %u of dealing %u, "
                              "which it does not hold", from, k, d);
        }
        for (uint32_t i = 0; i < count; i++) {
            dealing *dl = &p->dealings[get16(c + 4 * i) - 1];
            dl->complained[get16(c + 4 * i + 2)] = 1;
            dl->any_complaint = true;
        }
        memcpy(p->echo_hashes + (size_t)(from - 1) * p->D * HASH_SIZE, pl, (size_t)p->D * HASH_SIZE);
        p->echo_received[from] = true;
        return TKMS_OK;
    }
    case TKMS_MSG_JUSTIFY: {
        dealing *dl = &p->dealings[claimed_dealing(p, m) - 1];
        if (dl->justify != NULL)
            return refuse(p, 0, err, "duplicate justification from party %u", from);
        size_t entry = 2 + (size_t)p->M * VALUE_SIZE;
        if (m->payload_len < 2 || m->payload_len != 2 + entry * get16(pl))
            return refuse(p, from, err, "justification from party %u has the wrong length", from);
        dl->justify = copy_bytes(bytes, len);
        dl->justify_len = len;
        return TKMS_OK;
    }
    case TKMS_MSG_EVIDENCE: {
        if (m->payload_len < 2)
            return refuse(p, from, err, "evidence from party %u is too short", from);
        uint32_t d = get16(pl);
        if (d == 0 || d > p->D)
            return refuse(p, from, err, "evidence from party %u names no dealing", from);
        return take_forwarded_deal(p, d, pl + 2, m->payload_len - 2, from, err);
    }
    default: {   /* CONFIRM */
        uint32_t k = m->from_share;
        if (p->confirm_received[k])
            return refuse(p, 0, err, "duplicate confirmation for share %u", k);
        memcpy(p->confirm_sigs + (size_t)(k - 1) * p->M * TKMS_SIGNATURE_SIZE, pl, m->payload_len);
        p->confirm_received[k] = true;
        return TKMS_OK;
    }
    }
}

/* The router: checks one message and stores it. */
static tkms_status accept(tkms_party *p, const uint8_t *bytes, size_t len, tkms_err *err)
{
    tkms_message m;
    tkms_err e;
    if (tkms_message_decode(&m, bytes, len, &e) != TKMS_OK)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s", e.message);
    uint32_t from = m.from_party;
    if (from > p->m)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "message from unknown party %u", from);
    if (memcmp(m.ceremony_id, p->spec->ceremony_id, TKMS_CEREMONY_ID_SIZE) != 0)
        return refuse(p, from, err, "message from party %u belongs to another ceremony", from);
    if (!tkms_message_signed_by(&m, p->spec->parties[from - 1].identity))
        return refuse(p, from, err, "message claiming party %u has a bad signature", from);
    if (m.round != p->round || round_of_type(m.type) != m.round)
        return refuse(p, from, err, "round %u message of type %u from party %u while in round %u",
                      m.round, m.type, from, p->round);
    if (m.to_party != TKMS_MESSAGE_BROADCAST && m.to_party != p->me)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "message for party %u, not this one", m.to_party);
    bool p2p = m.type == TKMS_MSG_SHARE;
    if (p2p != (m.to_party != TKMS_MESSAGE_BROADCAST))
        return refuse(p, from, err, "type %u message from party %u has the wrong addressee", m.type, from);
    if (p2p && my_share(p, m.to_share) == NULL)
        return refuse(p, from, err, "share message from party %u for share %u, which this party "
                      "does not hold", from, m.to_share);
    size_t want = expected_len(p, &m);
    if (want != 0 && m.payload_len != want)
        return refuse(p, from, err, "type %u message from party %u: %u bytes, expected %zu",
                      m.type, from, m.payload_len, want);
    switch (m.type) {
    case TKMS_MSG_DEAL:
    case TKMS_MSG_SHARE:
    case TKMS_MSG_JUSTIFY:
        if (claimed_dealing(p, &m) == 0)
            return refuse(p, from, err, "party %u sent a message for share %u, which it does not deal",
                          from, m.from_share);
        break;
    case TKMS_MSG_CONFIRM: {
        const tkms_owner *o = tkms_owner_of(p->spec->owners, m.from_share);
        if (o == NULL || tkms_ceremony_party_number(p->spec, o->id) != from)
            return refuse(p, from, err, "party %u confirmed for share %u, which it does not hold",
                          from, m.from_share);
        break;
    }
    default:
        if (m.from_share != 0)
            return refuse(p, from, err, "party %u sent a party message from share %u", from, m.from_share);
    }
    return store(p, &m, bytes, len, err);
}

tkms_status tkms_party_receive(tkms_party *p, const uint8_t *bytes, size_t len,
                               tkms_err *err)
{
    tkms_message m;
    tkms_err e;
    if (tkms_message_decode(&m, bytes, len, &e) != TKMS_OK)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s", e.message);
    /* this party took its own messages when it sent them; the relay's
     * copies (and anything else claiming to be from it) change nothing */
    if (m.from_party == p->me)
        return TKMS_OK;
    tkms_err why;
    tkms_status st = accept(p, bytes, len, &why);
    /* a refused deal is remembered to explain the dealer's absence; only
     * deals, which every party receives alike, so every honest party gives
     * the same reason */
    if (st != TKMS_OK && m.type == TKMS_MSG_DEAL && m.from_party <= p->m) {
        p->refused[m.from_party]++;
        snprintf(p->refused_reason[m.from_party], sizeof p->refused_reason[m.from_party], "%.90s",
                 why.message);
    }
    if (st != TKMS_OK && err != NULL)
        *err = why;
    return st;
}

/* ---- checking values against commitments ---------------------------------- */

/* Decodes dealing d's commitments (once); disqualifies it if they are not
 * curve points or, in a reshare, if its constant term is not its old share. */
static void decode_commitments(tkms_party *p, uint32_t d)
{
    dealing *dl = &p->dealings[d - 1];
    if (dl->deal == NULL || dl->commitments != NULL || dl->disqualified)
        return;
    tkms_message m;
    tkms_message_decode(&m, dl->deal, dl->deal_len, NULL);
    size_t points = (size_t)p->M * p->K;
    dl->commitments = malloc(points * sizeof *dl->commitments);
    if (dl->commitments == NULL)
        return;
    for (size_t c = 0; c < points; c++)
        if (blst_p1_deserialize(&dl->commitments[c], m.payload + c * POINT_SIZE) != BLST_SUCCESS) {
            disqualify(p, d, dl->deal, dl->deal_len, NULL, 0,
                       "its deal holds commitments that are not curve points");
            return;
        }
    if (is_reshare(p) &&
        !blst_p1_affine_is_equal(&dl->commitments[0], &p->spec->old_group->share_keys[d - 1].point)) {
        disqualify(p, d, dl->deal, dl->deal_len, NULL, 0,
                   "its deal does not deal its old share %u (constant term commitment differs "
                   "from the old share key)", d);
        return;
    }
    dl->commitments_ok = true;
}

/* True iff vals[key]·G == Σ_t C_{key,t}·k^t for every key; for several keys
 * one check with random 64-bit weights ρ: (Σ ρ v)·G == Σ ρ·F_key(k). */
static bool values_match(tkms_party *p, const blst_p1_affine *commitments, uint32_t k,
                         const blst_scalar *vals)
{
    blst_p1 lhs, rhs;
    if (p->M == 1) {
        blst_sk_to_pk_in_g1(&lhs, &vals[0]);
        tkms_feldman_eval(&rhs, commitments, p->K, k);
        return blst_p1_is_equal(&lhs, &rhs);
    }
    blst_p1 *eval = malloc(p->M * sizeof *eval);
    blst_p1_affine *affine = malloc(p->M * sizeof *affine);
    const blst_p1 **eptr = calloc(p->M, sizeof *eptr);
    const blst_p1_affine **aptr = calloc(p->M, sizeof *aptr);
    uint8_t *weights = malloc((size_t)p->M * 8);
    const uint8_t **wptr = calloc(p->M, sizeof *wptr);
    limb_t *scratch = malloc(blst_p1s_mult_pippenger_scratch_sizeof(p->M));
    bool ok = false;
    if (!eval || !affine || !eptr || !aptr || !weights || !wptr || !scratch ||
        tkms_rng_fill(p->rng, weights, (size_t)p->M * 8) != TKMS_OK)
        goto done;
    blst_fr sum, term, w;
    memset(&sum, 0, sizeof sum);
    for (uint32_t key = 0; key < p->M; key++) {
        tkms_feldman_eval(&eval[key], &commitments[(size_t)key * p->K], p->K, k);
        eptr[key] = &eval[key];
        aptr[key] = &affine[key];
        weights[(size_t)key * 8] |= 1;
        wptr[key] = weights + (size_t)key * 8;
        uint64_t limbs[4] = {0, 0, 0, 0};
        for (int b = 0; b < 8; b++)
            limbs[0] |= (uint64_t)weights[(size_t)key * 8 + b] << (8 * b);
        blst_fr_from_uint64(&w, limbs);
        blst_fr_from_scalar(&term, &vals[key]);
        blst_fr_mul(&term, &term, &w);
        blst_fr_add(&sum, &sum, &term);
    }
    blst_p1s_to_affine(affine, eptr, p->M);
    blst_p1s_mult_pippenger(&rhs, aptr, p->M, wptr, 64, scratch);
    blst_scalar total;
    blst_scalar_from_fr(&total, &sum);
    blst_sk_to_pk_in_g1(&lhs, &total);
    ok = blst_p1_is_equal(&lhs, &rhs);
    tkms_wipe(&total, sizeof total);
    tkms_wipe(&sum, sizeof sum);
    tkms_wipe(&term, sizeof term);
done:
    free(eval);
    free(affine);
    free(eptr);
    free(aptr);
    free(weights);
    free(wptr);
    free(scratch);
    return ok;
}

/* Opens what dealing d sealed to share s into s's values; false if it is
 * missing, not sealed to this party, or holds a value not below r. */
static bool open_sealed_values(tkms_party *p, uint32_t d, share_instance *s)
{
    if (!p->dealings[d - 1].commitments_ok || s->sealed[d - 1] == NULL)
        return false;
    size_t len = (size_t)p->M * VALUE_SIZE;
    uint8_t *plain = malloc(len);
    bool ok = plain != NULL &&
              tkms_identity_open(plain, s->sealed[d - 1], s->sealed_len[d - 1], &p->identity) == TKMS_OK;
    blst_scalar *vals = &s->values[(size_t)(d - 1) * p->M];
    for (uint32_t key = 0; ok && key < p->M; key++)
        ok = value_from_bytes(&vals[key], plain + (size_t)key * VALUE_SIZE);
    if (plain != NULL)
        tkms_wipe(plain, len);
    free(plain);
    return ok;
}

/* Σ of the commitments of every dealing whose commitments decoded, M × K
 * affine points (NULL on OOM). */
static blst_p1_affine *sum_commitments(const tkms_party *p)
{
    size_t points = (size_t)p->M * p->K;
    blst_p1 *sum = calloc(points, sizeof *sum);
    const blst_p1 **ptrs = calloc(points, sizeof *ptrs);
    blst_p1_affine *out = malloc(points * sizeof *out);
    if (sum && ptrs && out) {
        for (uint32_t d = 1; d <= p->D; d++) {
            const dealing *dl = &p->dealings[d - 1];
            if (!dl->commitments_ok)
                continue;
            for (size_t c = 0; c < points; c++)
                blst_p1_add_or_double_affine(&sum[c], &sum[c], &dl->commitments[c]);
        }
        for (size_t c = 0; c < points; c++)
            ptrs[c] = &sum[c];
        blst_p1s_to_affine(out, ptrs, points);
    } else {
        free(out);
        out = NULL;
    }
    free(sum);
    free(ptrs);
    return out;
}

/* Checks every dealing's values for share s. Optimistic: one check of the
 * summed values against the summed commitments; only if that fails (or a
 * value is missing) is each dealing checked alone, to know whom to
 * complain about. */
static void check_share_values(tkms_party *p, share_instance *s, const blst_p1_affine *sum)
{
    bool all_opened = true;
    for (uint32_t d = 1; d <= p->D; d++) {
        bool opened = open_sealed_values(p, d, s);
        s->have[d - 1] = opened;
        all_opened &= opened || !p->dealings[d - 1].commitments_ok;
    }
    if (all_opened && sum != NULL) {
        blst_scalar *total = calloc(p->M, sizeof *total);
        bool ok = total != NULL;
        for (uint32_t key = 0; ok && key < p->M; key++) {
            blst_fr acc, v;
            memset(&acc, 0, sizeof acc);
            for (uint32_t d = 1; d <= p->D; d++)
                if (p->dealings[d - 1].commitments_ok) {
                    blst_fr_from_scalar(&v, &s->values[(size_t)(d - 1) * p->M + key]);
                    blst_fr_add(&acc, &acc, &v);
                }
            blst_scalar_from_fr(&total[key], &acc);
            tkms_wipe(&acc, sizeof acc);
            tkms_wipe(&v, sizeof v);
        }
        ok = ok && values_match(p, sum, s->index, total);
        if (total != NULL)
            tkms_wipe(total, p->M * sizeof *total);
        free(total);
        if (ok)
            return;   /* every opened value is right: have[] stands */
    }
    for (uint32_t d = 1; d <= p->D; d++)
        if (s->have[d - 1])
            s->have[d - 1] = values_match(p, p->dealings[d - 1].commitments, s->index,
                                          &s->values[(size_t)(d - 1) * p->M]);
}

/* ---- round 1 -> 2: check what arrived, echo and complain ------------------ */

static tkms_status end_round_1(tkms_party *p, tkms_outbox *out, tkms_err *err)
{
    size_t cap = (size_t)p->D * (p->share_count ? p->share_count : 1);
    size_t len = (size_t)p->D * HASH_SIZE + 2;
    uint8_t *payload = calloc(len + 4 * cap, 1);
    if (payload == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "party: out of memory");
    uint32_t complaints = 0;
    for (uint32_t d = 1; d <= p->D; d++) {
        decode_commitments(p, d);
        if (p->dealings[d - 1].deal != NULL)
            memcpy(payload + (size_t)(d - 1) * HASH_SIZE, p->dealings[d - 1].deal_hash, HASH_SIZE);
    }
    blst_p1_affine *sum = sum_commitments(p);
    for (size_t i = 0; i < p->share_count; i++) {
        check_share_values(p, &p->shares[i], sum);
        for (uint32_t d = 1; d <= p->D; d++)
            if (!p->shares[i].have[d - 1]) {
                put16(payload + len, d);
                put16(payload + len + 2, p->shares[i].index);
                len += 4;
                complaints++;
            }
    }
    free(sum);
    put16(payload + (size_t)p->D * HASH_SIZE, complaints);
    tkms_status st = send(p, out, TKMS_MSG_ECHO, 0, TKMS_MESSAGE_BROADCAST, 0, payload, len, err);
    free(payload);
    return st;
}

/* ---- round 2 -> 3: forward disputed deals, answer complaints -------------- */

static bool echoes_disagree(const tkms_party *p, uint32_t d)
{
    const uint8_t *first = NULL;
    for (uint32_t q = 1; q <= p->m; q++) {
        if (!p->echo_received[q])
            continue;
        const uint8_t *h = p->echo_hashes + ((size_t)(q - 1) * p->D + (d - 1)) * HASH_SIZE;
        if (first == NULL)
            first = h;
        else if (memcmp(first, h, HASH_SIZE) != 0)
            return true;
    }
    return false;
}

static tkms_status forward(tkms_party *p, uint32_t d, const uint8_t *deal, size_t len,
                           tkms_outbox *out, tkms_err *err)
{
    uint8_t *payload = malloc(2 + len);
    if (payload == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "party: out of memory");
    put16(payload, d);
    memcpy(payload + 2, deal, len);
    tkms_status st = send(p, out, TKMS_MSG_EVIDENCE, 0, TKMS_MESSAGE_BROADCAST, 0, payload, 2 + len, err);
    free(payload);
    return st;
}

static tkms_status justify(tkms_party *p, uint32_t d, tkms_outbox *out, tkms_err *err)
{
    dealing *dl = &p->dealings[d - 1];
    size_t entry = 2 + (size_t)p->M * VALUE_SIZE, count = 0;
    for (uint32_t k = 1; k <= p->n; k++)
        count += dl->complained[k];
    uint8_t *payload = malloc(2 + entry * count);
    if (payload == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "party: out of memory");
    put16(payload, (uint32_t)count);
    uint8_t *e = payload + 2;
    for (uint32_t k = 1; k <= p->n; k++) {
        if (!dl->complained[k])
            continue;
        put16(e, k);
        for (uint32_t key = 0; key < p->M; key++) {
            blst_fr v;
            tkms_poly_eval(&v, &dl->coeffs[(size_t)key * p->K], p->K, k);
            value_to_bytes(e + 2 + (size_t)key * VALUE_SIZE, &v);
        }
        e += entry;
    }
    tkms_status st = send(p, out, TKMS_MSG_JUSTIFY, my_dealing_share(p, d), TKMS_MESSAGE_BROADCAST,
                          0, payload, 2 + entry * count, err);
    free(payload);
    return st;
}

static tkms_status end_round_2(tkms_party *p, tkms_outbox *out, tkms_err *err)
{
    tkms_status st = TKMS_OK;
    for (uint32_t d = 1; d <= p->D && st == TKMS_OK; d++) {
        dealing *dl = &p->dealings[d - 1];
        if ((echoes_disagree(p, d) || dl->other_deal != NULL) && dl->deal != NULL)
            st = forward(p, d, dl->deal, dl->deal_len, out, err);
        if (st == TKMS_OK && dl->other_deal != NULL)
            st = forward(p, d, dl->other_deal, dl->other_len, out, err);
        if (st == TKMS_OK && dl->party == p->me && dl->any_complaint)
            st = justify(p, d, out, err);
    }
    return st;
}

/* ---- round 3 -> 4: judge the dealings, form the new shares, confirm ------- */

/* Checks dealing d's answers to the complaints against it; adopts the
 * revealed values for this party's shares. */
static void judge_justification(tkms_party *p, uint32_t d)
{
    dealing *dl = &p->dealings[d - 1];
    if (dl->justify == NULL) {
        disqualify(p, d, dl->deal, dl->deal_len, NULL, 0,
                   "did not answer the complaints about its shares");
        return;
    }
    tkms_message m;
    tkms_message_decode(&m, dl->justify, dl->justify_len, NULL);
    size_t entry = 2 + (size_t)p->M * VALUE_SIZE;
    uint32_t count = get16(m.payload);
    uint8_t *answered = calloc(p->n + 1, 1);
    blst_scalar *vals = malloc(p->M * sizeof *vals);
    if (answered == NULL || vals == NULL)
        goto done;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *e = m.payload + 2 + entry * i;
        uint32_t k = get16(e);
        if (k == 0 || k > p->n || !dl->complained[k])
            continue;
        bool ok = true;
        for (uint32_t key = 0; ok && key < p->M; key++)
            ok = value_from_bytes(&vals[key], e + 2 + (size_t)key * VALUE_SIZE);
        if (!ok || !values_match(p, dl->commitments, k, vals)) {
            disqualify(p, d, dl->deal, dl->deal_len, dl->justify, dl->justify_len,
                       "revealed values for share %u that do not match its commitments", k);
            goto done;
        }
        answered[k] = 1;
        share_instance *s = my_share(p, k);
        if (s != NULL) {
            memcpy(&s->values[(size_t)(d - 1) * p->M], vals, p->M * sizeof *vals);
            s->have[d - 1] = true;
        }
    }
    for (uint32_t k = 1; k <= p->n; k++)
        if (dl->complained[k] && !answered[k]) {
            disqualify(p, d, dl->deal, dl->deal_len, dl->justify, dl->justify_len,
                       "did not reveal share %u it was complained about", k);
            break;
        }
done:
    if (vals != NULL)
        tkms_wipe(vals, p->M * sizeof *vals);
    free(vals);
    free(answered);
}

static void judge_dealing(tkms_party *p, uint32_t d)
{
    dealing *dl = &p->dealings[d - 1];
    if (dl->disqualified)
        return;
    if (dl->other_deal != NULL) {
        /* the two signed deals, in the order of their hashes, so that every
         * party presents the same evidence */
        uint8_t other_hash[HASH_SIZE];
        blst_sha256(other_hash, dl->other_deal, dl->other_len);
        bool mine_first = memcmp(dl->deal_hash, other_hash, HASH_SIZE) < 0;
        disqualify(p, d, mine_first ? dl->deal : dl->other_deal,
                   mine_first ? dl->deal_len : dl->other_len,
                   mine_first ? dl->other_deal : dl->deal,
                   mine_first ? dl->other_len : dl->deal_len,
                   "signed two different deals (shown to different parties)");
        return;
    }
    if (dl->deal == NULL) {
        uint32_t q = dl->party;
        if (p->refused[q] > 0)
            disqualify(p, d, NULL, 0, NULL, 0, "sent no valid deal (its deal was refused: %s)",
                       p->refused_reason[q]);
        else
            disqualify(p, d, NULL, 0, NULL, 0, "sent no deal");
        return;
    }
    decode_commitments(p, d);     /* a deal adopted from evidence */
    if (dl->disqualified || !dl->commitments_ok)
        return;
    /* Every verdict rests on broadcast messages only (deals, echoes,
     * justifications, forwarded deals), so all honest parties that saw the
     * same broadcasts agree on it. A value this party lacked or could not
     * verify was complained about in its echo, so it is judged here, in
     * public, through the justification. */
    if (dl->any_complaint)
        judge_justification(p, d);
}

/* The dealings that form the new key (ascending) and their weights:
 * DKG all qualified with weight 1, reshare the first K_old with Lagrange
 * coefficients. Returns the count, 0 if there are not enough. */
static size_t choose_dealings(tkms_party *p, uint32_t *chosen, blst_scalar *weights)
{
    size_t count = 0;
    size_t want = is_reshare(p) ? p->spec->old_group->threshold : p->D;
    for (uint32_t d = 1; d <= p->D && count < want; d++)
        if (!p->dealings[d - 1].disqualified && p->dealings[d - 1].commitments_ok)
            chosen[count++] = d;
    if (count == 0 || (is_reshare(p) && count < want))
        return 0;
    if (is_reshare(p)) {
        blst_fr *scratch = malloc(2 * count * sizeof *scratch);
        bool ok = scratch && tkms_lagrange_at_zero(weights, chosen, count, scratch) == TKMS_OK;
        free(scratch);
        return ok ? count : 0;
    }
    uint64_t one[4] = {1, 0, 0, 0};
    for (size_t i = 0; i < count; i++)
        blst_scalar_from_uint64(&weights[i], one);
    return count;
}

/* C'_{key,t} = Σ w_d C_{d,key,t}; false (and the culprit disqualified) if
 * a sum leaves the subgroup, in which case the caller chooses again. */
static bool aggregate_commitments(tkms_party *p, const uint32_t *chosen, const blst_scalar *w,
                                  size_t count, uint32_t key, tkms_public_key *out)
{
    for (uint32_t t = 0; t < p->K; t++) {
        blst_p1 sum, term;
        memset(&sum, 0, sizeof sum);
        for (size_t i = 0; i < count; i++) {
            const blst_p1_affine *c = &p->dealings[chosen[i] - 1].commitments[(size_t)key * p->K + t];
            blst_p1_from_affine(&term, c);
            if (is_reshare(p))
                blst_p1_mult(&term, &term, w[i].b, 255);
            blst_p1_add_or_double(&sum, &sum, &term);
        }
        blst_p1_to_affine(&out[t].point, &sum);
        if (!blst_p1_affine_in_g1(&out[t].point) || blst_p1_affine_is_inf(&out[t].point)) {
            /* slow path: find the dealings whose own commitments are bad */
            bool found = false;
            for (size_t i = 0; i < count; i++) {
                dealing *dl = &p->dealings[chosen[i] - 1];
                for (uint32_t u = 0; u < p->K && !dl->disqualified; u++)
                    if (!blst_p1_affine_in_g1(&dl->commitments[(size_t)key * p->K + u])) {
                        disqualify(p, chosen[i], dl->deal, dl->deal_len, NULL, 0,
                                   "its commitments are not in the prime-order subgroup");
                        found = true;
                    }
            }
            if (!found)   /* sums of subgroup points stay in it: only infinity */
                disqualify(p, chosen[0], NULL, 0, NULL, 0, "the new key would be the identity");
            return false;
        }
    }
    return true;
}

static tkms_status form_new_key(tkms_party *p, tkms_err *err)
{
    uint32_t *chosen = malloc(p->D * sizeof *chosen);
    blst_scalar *w = malloc(p->D * sizeof *w);
    tkms_status st = TKMS_OK;
    if (!chosen || !w) {
        st = tkms_fail(err, TKMS_ERR_NO_MEMORY, "party: out of memory");
        goto done;
    }
    size_t count;
    for (;;) {
        count = choose_dealings(p, chosen, w);
        if (count == 0) {
            st = tkms_fail(err, TKMS_ERR_NOT_ENOUGH_SHARES,
                           "ceremony failed: too few qualified dealings remain (%zu disqualified)",
                           p->dq_count);
            goto done;
        }
        bool clean = true;
        for (uint32_t key = 0; key < p->M && clean; key++)
            clean = aggregate_commitments(p, chosen, w, count, key,
                                          &p->new_commitments[(size_t)key * p->K]);
        if (clean)
            break;
    }
    if (is_reshare(p) &&
        !tkms_public_key_equal(&p->new_commitments[0], &p->spec->old_group->group_key)) {
        st = tkms_fail(err, TKMS_ERR_VERIFY_FAILED,
                       "reshare failed: the new commitments do not reproduce the group key");
        goto done;
    }
    for (size_t i = 0; i < p->share_count; i++) {
        share_instance *s = &p->shares[i];
        for (uint32_t key = 0; key < p->M; key++) {
            blst_fr sum, term, weight;
            memset(&sum, 0, sizeof sum);
            for (size_t j = 0; j < count; j++) {
                blst_fr_from_scalar(&term, &s->values[(size_t)(chosen[j] - 1) * p->M + key]);
                blst_fr_from_scalar(&weight, &w[j]);
                blst_fr_mul(&term, &term, &weight);
                blst_fr_add(&sum, &sum, &term);
            }
            tkms_share *r = &p->results[(size_t)key * p->share_count + i];
            r->index = s->index;
            blst_scalar_from_fr(&r->key.value, &sum);
            tkms_wipe(&sum, sizeof sum);
            tkms_wipe(&term, sizeof term);
        }
    }
    /* the transcript: spec, chosen deals, new group keys */
    size_t tlen = 27 + HASH_SIZE + 4 + count * (4 + HASH_SIZE) + (size_t)p->M * TKMS_PUBLIC_KEY_SIZE;
    uint8_t *t = malloc(tlen), *q = t;
    if (t == NULL) {
        st = tkms_fail(err, TKMS_ERR_NO_MEMORY, "party: out of memory");
        goto done;
    }
    memcpy(q, "tkms-ceremony-transcript-v1", 27), q += 27;
    memcpy(q, p->spec->hash, HASH_SIZE), q += HASH_SIZE;
    put16(q, 0), put16(q + 2, (uint32_t)count), q += 4;
    for (size_t j = 0; j < count; j++) {
        put16(q, 0), put16(q + 2, chosen[j]), q += 4;
        memcpy(q, p->dealings[chosen[j] - 1].deal_hash, HASH_SIZE), q += HASH_SIZE;
    }
    for (uint32_t key = 0; key < p->M; key++, q += TKMS_PUBLIC_KEY_SIZE)
        tkms_public_key_to_bytes(q, &p->new_commitments[(size_t)key * p->K]);
    blst_sha256(p->transcript, t, tlen);
    free(t);
done:
    if (w != NULL)
        tkms_wipe(w, p->D * sizeof *w);
    free(w);
    free(chosen);
    return st;
}

static tkms_status end_round_3(tkms_party *p, tkms_outbox *out, tkms_err *err)
{
    for (uint32_t d = 1; d <= p->D; d++)
        judge_dealing(p, d);
    tkms_status st = form_new_key(p, err);
    if (st != TKMS_OK)
        return st;
    /* every share of this owner signs the transcript with every key */
    blst_p2 hash;
    tkms_hash_to_g2(&hash, p->transcript, HASH_SIZE);
    blst_p2_to_affine(&p->transcript_point, &hash);
    uint8_t *payload = malloc((size_t)p->M * TKMS_SIGNATURE_SIZE);
    if (payload == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "party: out of memory");
    for (size_t i = 0; i < p->share_count && st == TKMS_OK; i++) {
        for (uint32_t key = 0; key < p->M; key++) {
            tkms_signature sig;
            tkms_sign_hashed(&sig, &p->results[(size_t)key * p->share_count + i].key, &hash);
            tkms_signature_to_bytes(payload + (size_t)key * TKMS_SIGNATURE_SIZE, &sig);
        }
        st = send(p, out, TKMS_MSG_CONFIRM, p->shares[i].index, TKMS_MESSAGE_BROADCAST, 0, payload,
                  (size_t)p->M * TKMS_SIGNATURE_SIZE, err);
    }
    free(payload);
    return st;
}

/* The group of key `key`, with every share key computed from the
 * commitments — done on first use, as the ceremony itself needs only the
 * group keys (a DKG among many parties would otherwise spend most of its
 * time here, in every party). NULL on OOM. */
static const tkms_group *group_of(tkms_party *p, uint32_t key)
{
    if (p->groups[key] == NULL)
        tkms_group_from_commitments(&p->groups[key], &p->new_commitments[(size_t)key * p->K],
                                    p->K, p->n);
    return p->groups[key];
}

/* ---- round 4: check that the new key(s) signed the transcript ------------ */

/*
 * Every key signed the same transcript, and the first K confirmations hold
 * a partial for every key, so one set of Lagrange coefficients serves all
 * keys and all M group signatures σ_m = Σ_k λ_k σ_{k,m} are checked at
 * once with random 64-bit weights ρ_m:
 *   e(−G1, Σ_k λ_k Σ_m ρ_m σ_{k,m}) · e(Σ_m ρ_m pk_m, H(T)) == 1
 * — K MSMs in G2 and one in G1 over M points, and two pairings. False
 * means "look key by key" (the caller's slow path), not failure.
 */
static bool all_keys_signed(tkms_party *p)
{
    uint32_t chosen[TKMS_MAX_SHARES];
    uint32_t k_count = 0;
    for (uint32_t k = 1; k <= p->n && k_count < p->K; k++)
        if (p->confirm_received[k])
            chosen[k_count++] = k;
    if (k_count < p->K)
        return false;
    size_t m = p->M;
    blst_scalar *lambda = malloc(p->K * sizeof *lambda);
    blst_fr *scratch = malloc(2 * (size_t)p->K * sizeof *scratch);
    blst_p2_affine *sigs = malloc(m * sizeof *sigs);
    const blst_p2_affine **sptr = calloc(m, sizeof *sptr);
    const blst_p1_affine **kptr = calloc(m, sizeof *kptr);
    uint8_t *weights = malloc(m * 8);
    const uint8_t **wptr = calloc(m, sizeof *wptr);
    blst_p2 *per_share = malloc(p->K * sizeof *per_share);
    limb_t *msm = malloc(blst_p2s_mult_pippenger_scratch_sizeof(m > p->K ? m : p->K));
    bool ok = lambda && scratch && sigs && sptr && kptr && weights && wptr && per_share && msm &&
              tkms_lagrange_at_zero(lambda, chosen, p->K, scratch) == TKMS_OK &&
              tkms_rng_fill(p->rng, weights, m * 8) == TKMS_OK;
    for (size_t i = 0; ok && i < m; i++) {
        weights[i * 8] |= 1;
        wptr[i] = weights + i * 8;
        sptr[i] = &sigs[i];
        kptr[i] = &p->new_commitments[i * p->K].point;
    }
    for (uint32_t j = 0; ok && j < p->K; j++) {
        const uint8_t *row = p->confirm_sigs + (size_t)(chosen[j] - 1) * m * TKMS_SIGNATURE_SIZE;
        for (size_t i = 0; ok && i < m; i++)
            ok = blst_p2_uncompress(&sigs[i], row + i * TKMS_SIGNATURE_SIZE) == BLST_SUCCESS;
        if (ok)
            blst_p2s_mult_pippenger(&per_share[j], sptr, m, wptr, 64, msm);
    }
    if (ok) {
        blst_p2_affine per_affine[1];
        blst_p2 total, term;
        memset(&total, 0, sizeof total);
        for (uint32_t j = 0; j < p->K; j++) {
            blst_p2_mult(&term, &per_share[j], lambda[j].b, 255);
            blst_p2_add_or_double(&total, &total, &term);
        }
        blst_p1 keys;
        blst_p1_affine keys_affine;
        blst_p1s_mult_pippenger(&keys, kptr, m, wptr, 64, msm);
        blst_p1_to_affine(&keys_affine, &keys);
        blst_p2_to_affine(&per_affine[0], &total);
        const blst_p2_affine *qs[2] = {&per_affine[0], &p->transcript_point};
        const blst_p1_affine *ps[2] = {&BLS12_381_NEG_G1, &keys_affine};
        blst_fp12 gt;
        blst_miller_loop_n(&gt, qs, ps, 2);
        blst_final_exp(&gt, &gt);
        ok = blst_p2_affine_in_g2(&per_affine[0]) && blst_fp12_is_one(&gt);
    }
    free(lambda);
    free(scratch);
    free(sigs);
    free(sptr);
    free(kptr);
    free(weights);
    free(wptr);
    free(per_share);
    free(msm);
    return ok;
}

static tkms_status end_round_4(tkms_party *p, tkms_err *err)
{
    if (all_keys_signed(p))
        return TKMS_OK;
    /* slow path: key by key, naming the key that failed */
    tkms_partial *partials = malloc(p->n * sizeof *partials);
    uint32_t *bad = malloc(p->n * sizeof *bad);
    tkms_status st = TKMS_OK;
    if (partials == NULL || bad == NULL) {
        st = tkms_fail(err, TKMS_ERR_NO_MEMORY, "party: out of memory");
        goto done;
    }
    for (uint32_t key = 0; key < p->M && st == TKMS_OK; key++) {
        size_t count = 0, nbad;
        for (uint32_t k = 1; k <= p->n; k++)
            if (p->confirm_received[k]) {
                partials[count].index = k;
                memcpy(partials[count++].signature,
                       p->confirm_sigs + ((size_t)(k - 1) * p->M + key) * TKMS_SIGNATURE_SIZE,
                       TKMS_SIGNATURE_SIZE);
            }
        const tkms_group *g = group_of(p, key);
        tkms_combiner *c = g ? tkms_combiner_new(g) : NULL;
        tkms_signature sig;
        st = c == NULL ? TKMS_ERR_NO_MEMORY
             : count == 0 ? TKMS_ERR_NOT_ENOUGH_SHARES
                          : tkms_combiner_combine(c, p->transcript, HASH_SIZE, partials, count,
                                                  p->rng, &sig, bad, &nbad);
        tkms_combiner_free(c);
        if (st != TKMS_OK)
            tkms_fail(err, st, "ceremony failed: key %u did not sign the transcript (%zu "
                      "confirmations: %s)", key, count, tkms_status_string(st));
    }
done:
    free(partials);
    free(bad);
    return st;
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
    case 1: st = end_round_1(p, out, err); break;
    case 2: st = end_round_2(p, out, err); break;
    case 3: st = end_round_3(p, out, err); break;
    default: st = end_round_4(p, err); break;
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
    return p->state == TKMS_PARTY_DONE && key < p->M ? group_of((tkms_party *)p, key) : NULL;
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
