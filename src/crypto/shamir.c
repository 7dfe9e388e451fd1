/*
 * shamir.c — K-of-n Shamir sharing with Feldman commitments
 * (tkms/shamir.h): polynomial evaluation over Fr, commitments a_j·G1, share
 * public keys from commitments by Horner's rule with small scalars, and
 * partial sign / verify.
 */
#include <stdlib.h>
#include <string.h>

#include "tkms/secmem.h"
#include "tkms/shamir.h"

static bool counts_valid(uint32_t threshold, uint32_t share_count)
{
    return threshold >= 1 && threshold <= share_count && share_count <= TKMS_MAX_SHARES;
}

static tkms_group *group_alloc(uint32_t threshold, uint32_t share_count)
{
    tkms_group *g = calloc(1, sizeof *g);
    if (g == NULL)
        return NULL;
    g->threshold = threshold;
    g->share_count = share_count;
    g->commitments = calloc(threshold, sizeof *g->commitments);
    g->share_keys = calloc(share_count, sizeof *g->share_keys);
    if (g->commitments == NULL || g->share_keys == NULL) {
        tkms_group_free(g);
        return NULL;
    }
    return g;
}

void tkms_group_free(tkms_group *group)
{
    if (group == NULL)
        return;
    free(group->commitments);
    free(group->share_keys);
    free(group);
}

/* Little-endian bytes of a small index and its bit length, for blst_p1_mult. */
static size_t small_scalar(uint8_t out[4], uint32_t value)
{
    size_t bits = 0;
    for (uint32_t v = value; v != 0; v >>= 1)
        bits++;
    for (int i = 0; i < 4; i++)
        out[i] = (uint8_t)(value >> (8 * i));
    return bits;
}

void tkms_feldman_eval(blst_p1 *out, const blst_p1_affine *commitments,
                       uint32_t threshold, uint32_t x)
{
    uint8_t scalar[4];
    size_t nbits = small_scalar(scalar, x);
    blst_p1_from_affine(out, &commitments[threshold - 1]);
    for (uint32_t j = threshold - 1; j-- > 0;) {
        blst_p1_mult(out, out, scalar, nbits);
        blst_p1_add_or_double_affine(out, out, &commitments[j]);
    }
}

/* tkms_public_key is a blst_p1_affine in a struct: evaluate in place. */
static void horner_g1(blst_p1 *out, const tkms_public_key *commitments,
                      uint32_t threshold, uint32_t x)
{
    _Static_assert(sizeof(tkms_public_key) == sizeof(blst_p1_affine), "layout");
    tkms_feldman_eval(out, &commitments[0].point, threshold, x);
}

tkms_status tkms_share_public_key(tkms_public_key *out,
                                  const tkms_public_key *commitments,
                                  uint32_t threshold, uint32_t index)
{
    if (index == 0 || index > TKMS_MAX_SHARES || threshold == 0 ||
        threshold > TKMS_MAX_SHARES)
        return TKMS_ERR_INVALID_ARGUMENT;
    blst_p1 p;
    horner_g1(&p, commitments, threshold, index);
    if (blst_p1_is_inf(&p))
        return TKMS_ERR_INFINITY;
    blst_p1_to_affine(&out->point, &p);
    return TKMS_OK;
}

tkms_status tkms_group_from_commitments(tkms_group **group_out,
                                        const tkms_public_key *commitments,
                                        uint32_t threshold,
                                        uint32_t share_count)
{
    *group_out = NULL;
    if (!counts_valid(threshold, share_count))
        return TKMS_ERR_INVALID_ARGUMENT;
    tkms_group *g = group_alloc(threshold, share_count);
    blst_p1 *projective = malloc(share_count * sizeof *projective);
    const blst_p1 **ptrs = calloc(share_count, sizeof *ptrs);
    blst_p1_affine *affine = malloc(share_count * sizeof *affine);
    tkms_status st = TKMS_OK;
    if (g == NULL || projective == NULL || ptrs == NULL || affine == NULL) {
        st = TKMS_ERR_NO_MEMORY;
        goto done;
    }
    memcpy(g->commitments, commitments, threshold * sizeof *commitments);
    g->group_key = commitments[0];
    for (uint32_t i = 0; i < share_count; i++) {
        horner_g1(&projective[i], commitments, threshold, i + 1);
        if (blst_p1_is_inf(&projective[i])) {
            st = TKMS_ERR_INFINITY;
            goto done;
        }
        ptrs[i] = &projective[i];
    }
    /* one shared inversion for all n conversions to affine */
    blst_p1s_to_affine(affine, ptrs, share_count);
    for (uint32_t i = 0; i < share_count; i++)
        g->share_keys[i].point = affine[i];
done:
    free(projective);
    free(ptrs);
    free(affine);
    if (st != TKMS_OK)
        tkms_group_free(g);
    else
        *group_out = g;
    return st;
}

/* A uniformly random element of Fr: 64 random bytes reduced mod r. */
static tkms_status random_fr(blst_fr *out, tkms_rng *rng)
{
    uint8_t wide[64];
    blst_scalar s;
    tkms_status st = tkms_rng_fill(rng, wide, sizeof wide);
    if (st == TKMS_OK) {
        blst_scalar_from_be_bytes(&s, wide, sizeof wide);
        blst_fr_from_scalar(out, &s);
    }
    tkms_wipe(wide, sizeof wide);
    tkms_wipe(&s, sizeof s);
    return st;
}

void tkms_poly_eval(blst_fr *out, const blst_fr *coeffs, uint32_t threshold,
                    uint32_t x)
{
    uint64_t x64[4] = {x, 0, 0, 0};
    blst_fr fx;
    blst_fr_from_uint64(&fx, x64);
    *out = coeffs[threshold - 1];
    for (uint32_t j = threshold - 1; j-- > 0;) {
        blst_fr_mul(out, out, &fx);
        blst_fr_add(out, out, &coeffs[j]);
    }
}

/* Evaluates the polynomial at 1..n into shares; false if some share is 0
 * (probability n/r: the caller draws a new polynomial). */
static bool make_shares(tkms_share *shares, const blst_fr *coeffs,
                        uint32_t threshold, uint32_t share_count)
{
    bool all_nonzero = true;
    for (uint32_t i = 0; i < share_count; i++) {
        blst_fr value;
        shares[i].index = i + 1;
        tkms_poly_eval(&value, coeffs, threshold, i + 1);
        blst_scalar_from_fr(&shares[i].key.value, &value);
        all_nonzero &= blst_sk_check(&shares[i].key.value);
        tkms_wipe(&value, sizeof value);
    }
    return all_nonzero;
}

tkms_status tkms_split(tkms_group **group_out, tkms_share *shares_out,
                       const tkms_secret_key *secret, uint32_t threshold,
                       uint32_t share_count, tkms_rng *rng)
{
    *group_out = NULL;
    if (!counts_valid(threshold, share_count) || !blst_sk_check(&secret->value))
        return TKMS_ERR_INVALID_ARGUMENT;
    blst_fr *coeffs = malloc(threshold * sizeof *coeffs);
    tkms_public_key *commitments = malloc(threshold * sizeof *commitments);
    tkms_status st = TKMS_OK;
    if (coeffs == NULL || commitments == NULL) {
        st = TKMS_ERR_NO_MEMORY;
        goto done;
    }
    for (int attempt = 0;; attempt++) {
        blst_fr_from_scalar(&coeffs[0], &secret->value);
        for (uint32_t j = 1; j < threshold && st == TKMS_OK; j++)
            st = random_fr(&coeffs[j], rng);
        if (st != TKMS_OK)
            goto done;
        if (make_shares(shares_out, coeffs, threshold, share_count))
            break;
        if (attempt == 8) {           /* only a broken RNG gets here */
            st = TKMS_ERR_RNG;
            goto done;
        }
    }
    for (uint32_t j = 0; j < threshold; j++) {
        blst_scalar a;
        blst_p1 c;
        blst_scalar_from_fr(&a, &coeffs[j]);
        blst_sk_to_pk_in_g1(&c, &a);
        blst_p1_to_affine(&commitments[j].point, &c);
        tkms_wipe(&a, sizeof a);
    }
    st = tkms_group_from_commitments(group_out, commitments, threshold, share_count);
done:
    if (coeffs != NULL)
        tkms_wipe(coeffs, threshold * sizeof *coeffs);
    free(coeffs);
    free(commitments);
    if (st != TKMS_OK)
        tkms_wipe(shares_out, share_count * sizeof *shares_out);
    return st;
}

tkms_status tkms_share_check(const tkms_group *group, const tkms_share *share)
{
    if (share->index == 0 || share->index > group->share_count)
        return TKMS_ERR_INVALID_ARGUMENT;
    tkms_public_key pk;
    tkms_public_key_from_secret(&pk, &share->key);
    return tkms_public_key_equal(&pk, &group->share_keys[share->index - 1])
               ? TKMS_OK
               : TKMS_ERR_VERIFY_FAILED;
}

void tkms_share_wipe(tkms_share *share)
{
    tkms_wipe(share, sizeof *share);
}

void tkms_partial_sign(tkms_signature *out, const tkms_share *share,
                       const uint8_t *msg, size_t msg_len)
{
    tkms_sign(out, &share->key, msg, msg_len);
}

bool tkms_partial_verify(const tkms_group *group, uint32_t index,
                         const uint8_t *msg, size_t msg_len,
                         const tkms_signature *sig)
{
    if (index == 0 || index > group->share_count)
        return false;
    return tkms_verify(&group->share_keys[index - 1], msg, msg_len, sig);
}
