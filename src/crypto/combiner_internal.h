/*
 * combiner_internal.h — the combiner's working memory, shared by
 * combiner.c (interpolation, optimistic combine, culprit search) and
 * batch_verify.c (random-linear-combination checks). Not a public header.
 *
 * Everything is sized for the group's n at creation, so no call allocates.
 */
#ifndef TKMS_COMBINER_INTERNAL_H
#define TKMS_COMBINER_INTERNAL_H

#include "tkms/combine.h"

#define TKMS_BATCH_WEIGHT_BYTES 8   /* 64-bit random weights */

struct tkms_combiner {
    const tkms_group *group;
    size_t capacity;                 /* n */
    uint32_t *indices;               /* [n] index of each partial given     */
    uint32_t *chosen;                /* [n] indices being interpolated      */
    tkms_signature *sigs;            /* [n] decoded partials                */
    uint8_t *seen;                   /* [n+1] duplicate detection           */
    uint8_t *verdict;                /* [n] per candidate: see combiner.c   */
    size_t *order;                   /* [n] candidate positions             */
    blst_scalar *coeffs;             /* [n] Lagrange coefficients           */
    blst_fr *fr_scratch;             /* [2n]                                */
    uint8_t (*weights)[TKMS_BATCH_WEIGHT_BYTES]; /* [n]                     */
    const blst_p2_affine **p2_ptrs;  /* [n] MSM arguments                   */
    const blst_p1_affine **p1_ptrs;  /* [n]                                 */
    const uint8_t **scalar_ptrs;     /* [n]                                 */
    limb_t *msm_scratch;             /* pippenger scratch for n points      */
};

/*
 * Random-linear-combination check that every sigs[pos[t]] (t < count) is
 * share indices[pos[t]]'s partial on the message whose hash is `hash`,
 * using weights[pos[t]]. Signatures must be subgroup-checked. Returns false
 * if any is the identity or the product of pairings is not one.
 */
bool tkms_combiner_batch_check(tkms_combiner *c, const blst_p2_affine *hash,
                               const uint32_t *indices,
                               const tkms_signature *sigs, const size_t *pos,
                               size_t count);

/* Draws `count` non-zero 64-bit weights into c->weights. */
tkms_status tkms_combiner_draw_weights(tkms_combiner *c, size_t count,
                                       tkms_rng *rng);

#endif /* TKMS_COMBINER_INTERNAL_H */
