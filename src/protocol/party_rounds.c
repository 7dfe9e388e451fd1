/*
 * party_rounds.c — processing the rounds of a ceremony party: checking
 * values against commitments (optimistically, against the summed deals
 * first), echoing and complaining, forwarding disputed deals and
 * justifying, judging every dealing on broadcast messages only, forming the
 * new shares and commitments, and checking that the new keys signed the
 * transcript (all keys at once, key by key only on failure).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "party_internal.h"

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
            party_disqualify(p, d, dl->deal, dl->deal_len, NULL, 0,
                       "its deal holds commitments that are not curve points");
            return;
        }
    if (party_is_reshare(p) &&
        !blst_p1_affine_is_equal(&dl->commitments[0], &p->spec->old_group->share_keys[d - 1].point)) {
        party_disqualify(p, d, dl->deal, dl->deal_len, NULL, 0,
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
        ok = party_value_from_bytes(&vals[key], plain + (size_t)key * VALUE_SIZE);
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

tkms_status party_end_round_1(tkms_party *p, tkms_outbox *out, tkms_err *err)
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
                party_put16(payload + len, d);
                party_put16(payload + len + 2, p->shares[i].index);
                len += 4;
                complaints++;
            }
    }
    free(sum);
    party_put16(payload + (size_t)p->D * HASH_SIZE, complaints);
    tkms_status st = party_send(p, out, TKMS_MSG_ECHO, 0, TKMS_MESSAGE_BROADCAST, 0, payload, len, err);
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
    party_put16(payload, d);
    memcpy(payload + 2, deal, len);
    tkms_status st = party_send(p, out, TKMS_MSG_EVIDENCE, 0, TKMS_MESSAGE_BROADCAST, 0, payload, 2 + len, err);
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
    party_put16(payload, (uint32_t)count);
    uint8_t *e = payload + 2;
    for (uint32_t k = 1; k <= p->n; k++) {
        if (!dl->complained[k])
            continue;
        party_put16(e, k);
        for (uint32_t key = 0; key < p->M; key++) {
            blst_fr v;
            tkms_poly_eval(&v, &dl->coeffs[(size_t)key * p->K], p->K, k);
            party_value_to_bytes(e + 2 + (size_t)key * VALUE_SIZE, &v);
        }
        e += entry;
    }
    tkms_status st = party_send(p, out, TKMS_MSG_JUSTIFY, party_dealing_share(p, d), TKMS_MESSAGE_BROADCAST,
                          0, payload, 2 + entry * count, err);
    free(payload);
    return st;
}

tkms_status party_end_round_2(tkms_party *p, tkms_outbox *out, tkms_err *err)
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
        party_disqualify(p, d, dl->deal, dl->deal_len, NULL, 0,
                   "did not answer the complaints about its shares");
        return;
    }
    tkms_message m;
    tkms_message_decode(&m, dl->justify, dl->justify_len, NULL);
    size_t entry = 2 + (size_t)p->M * VALUE_SIZE;
    uint32_t count = party_get16(m.payload);
    uint8_t *answered = calloc(p->n + 1, 1);
    blst_scalar *vals = malloc(p->M * sizeof *vals);
    if (answered == NULL || vals == NULL)
        goto done;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *e = m.payload + 2 + entry * i;
        uint32_t k = party_get16(e);
        if (k == 0 || k > p->n || !dl->complained[k])
            continue;
        bool ok = true;
        for (uint32_t key = 0; ok && key < p->M; key++)
            ok = party_value_from_bytes(&vals[key], e + 2 + (size_t)key * VALUE_SIZE);
        if (!ok || !values_match(p, dl->commitments, k, vals)) {
            party_disqualify(p, d, dl->deal, dl->deal_len, dl->justify, dl->justify_len,
                       "revealed values for share %u that do not match its commitments", k);
            goto done;
        }
        answered[k] = 1;
        share_instance *s = party_share_instance(p, k);
        if (s != NULL) {
            memcpy(&s->values[(size_t)(d - 1) * p->M], vals, p->M * sizeof *vals);
            s->have[d - 1] = true;
        }
    }
    for (uint32_t k = 1; k <= p->n; k++)
        if (dl->complained[k] && !answered[k]) {
            party_disqualify(p, d, dl->deal, dl->deal_len, dl->justify, dl->justify_len,
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
        party_disqualify(p, d, mine_first ? dl->deal : dl->other_deal,
                   mine_first ? dl->deal_len : dl->other_len,
                   mine_first ? dl->other_deal : dl->deal,
                   mine_first ? dl->other_len : dl->deal_len,
                   "signed two different deals (shown to different parties)");
        return;
    }
    if (dl->deal == NULL) {
        uint32_t q = dl->party;
        if (p->refused[q] > 0)
            party_disqualify(p, d, NULL, 0, NULL, 0, "sent no valid deal (its deal was refused: %s)",
                       p->refused_reason[q]);
        else
            party_disqualify(p, d, NULL, 0, NULL, 0, "sent no deal");
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
    size_t want = party_is_reshare(p) ? p->spec->old_group->threshold : p->D;
    for (uint32_t d = 1; d <= p->D && count < want; d++)
        if (!p->dealings[d - 1].disqualified && p->dealings[d - 1].commitments_ok)
            chosen[count++] = d;
    if (count == 0 || (party_is_reshare(p) && count < want))
        return 0;
    if (party_is_reshare(p)) {
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
            if (party_is_reshare(p))
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
                        party_disqualify(p, chosen[i], dl->deal, dl->deal_len, NULL, 0,
                                   "its commitments are not in the prime-order subgroup");
                        found = true;
                    }
            }
            if (!found)   /* sums of subgroup points stay in it: only infinity */
                party_disqualify(p, chosen[0], NULL, 0, NULL, 0, "the new key would be the identity");
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
    if (party_is_reshare(p) &&
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
    party_put16(q, 0), party_put16(q + 2, (uint32_t)count), q += 4;
    for (size_t j = 0; j < count; j++) {
        party_put16(q, 0), party_put16(q + 2, chosen[j]), q += 4;
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

tkms_status party_end_round_3(tkms_party *p, tkms_outbox *out, tkms_err *err)
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
        st = party_send(p, out, TKMS_MSG_CONFIRM, p->shares[i].index, TKMS_MESSAGE_BROADCAST, 0, payload,
                  (size_t)p->M * TKMS_SIGNATURE_SIZE, err);
    }
    free(payload);
    return st;
}

/* The group of key `key`, with every share key computed from the
 * commitments — done on first use, as the ceremony itself needs only the
 * group keys (a DKG among many parties would otherwise spend most of its
 * time here, in every party). NULL on OOM. */
const tkms_group *party_group_of(tkms_party *p, uint32_t key)
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

tkms_status party_end_round_4(tkms_party *p, tkms_err *err)
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
        const tkms_group *g = party_group_of(p, key);
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
