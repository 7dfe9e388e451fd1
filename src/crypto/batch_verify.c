/*
 * batch_verify.c — verifying many partial signatures of one message at the
 * cost of two pairings.
 *
 * With random 64-bit weights r_t, all partials are valid (except with
 * probability ~2^-63) iff
 *     e(−G1, Σ r_t σ_t) · e(Σ r_t pk_t, H(m)) == 1.
 * Both sums are multi-scalar multiplications with 64-bit scalars. The
 * signatures must already be subgroup-checked: the weights only defeat
 * cancellation inside the prime-order group.
 */
#include "combiner_internal.h"
#include "tkms/secmem.h"

tkms_status tkms_combiner_draw_weights(tkms_combiner *c, size_t count,
                                       tkms_rng *rng)
{
    tkms_status st = tkms_rng_fill(rng, &c->weights[0][0],
                                   count * TKMS_BATCH_WEIGHT_BYTES);
    for (size_t t = 0; t < count; t++)
        c->weights[t][0] |= 1;   /* never zero: a zero weight checks nothing */
    return st;
}

bool tkms_combiner_batch_check(tkms_combiner *c, const blst_p2_affine *hash,
                               const uint32_t *indices,
                               const tkms_signature *sigs, const size_t *pos,
                               size_t count)
{
    if (count == 0)
        return false;
    for (size_t t = 0; t < count; t++) {
        size_t p = pos[t];
        if (blst_p2_affine_is_inf(&sigs[p].point))
            return false;
        c->p2_ptrs[t] = &sigs[p].point;
        c->p1_ptrs[t] = &c->group->share_keys[indices[p] - 1].point;
        c->scalar_ptrs[t] = c->weights[p];
    }
    blst_p2 sig_sum;
    blst_p1 key_sum;
    blst_p2s_mult_pippenger(&sig_sum, c->p2_ptrs, count, c->scalar_ptrs,
                            8 * TKMS_BATCH_WEIGHT_BYTES, c->msm_scratch);
    blst_p1s_mult_pippenger(&key_sum, c->p1_ptrs, count, c->scalar_ptrs,
                            8 * TKMS_BATCH_WEIGHT_BYTES, c->msm_scratch);
    blst_p2_affine sig_affine;
    blst_p1_affine key_affine;
    blst_p2_to_affine(&sig_affine, &sig_sum);
    blst_p1_to_affine(&key_affine, &key_sum);

    const blst_p2_affine *qs[2] = {&sig_affine, hash};
    const blst_p1_affine *ps[2] = {&BLS12_381_NEG_G1, &key_affine};
    blst_fp12 gt;
    blst_miller_loop_n(&gt, qs, ps, 2);
    blst_final_exp(&gt, &gt);
    return blst_fp12_is_one(&gt);
}

bool tkms_combiner_batch_verify(tkms_combiner *c, const uint8_t *msg,
                                size_t msg_len, const uint32_t *indices,
                                const tkms_signature *sigs, size_t count,
                                tkms_rng *rng)
{
    if (count == 0 || count > c->capacity)
        return false;
    for (size_t t = 0; t < count; t++) {
        if (indices[t] == 0 || indices[t] > c->group->share_count)
            return false;
        c->order[t] = t;
    }
    if (tkms_combiner_draw_weights(c, count, rng) != TKMS_OK)
        return false;
    blst_p2 hash;
    blst_p2_affine hash_affine;
    tkms_hash_to_g2(&hash, msg, msg_len);
    blst_p2_to_affine(&hash_affine, &hash);
    return tkms_combiner_batch_check(c, &hash_affine, indices, sigs, c->order, count);
}
