/*
 * tkms/combine.h — turning partial signatures into the group signature.
 *
 * σ = Σ λ_i σ_i over a set S of K distinct share indices, where λ_i are the
 * Lagrange coefficients at zero (all computed with one batched inversion)
 * and the sum is one multi-scalar multiplication. The result is
 * byte-identical to the signature the whole key would give.
 *
 * The combiner is optimistic: it decodes the first K partials without the
 * subgroup check, combines them and verifies the result once against the
 * group key (that verify does the subgroup check). Only if that fails does
 * it look for culprits: every partial is decoded with full checks, the set
 * is batch-verified with random 64-bit weights (one MSM in G1, one in G2,
 * two pairings), and failing halves are bisected down to the bad indices.
 * It then combines K of the good partials.
 *
 * A tkms_combiner holds all scratch memory for its group, so combining does
 * not allocate. It is not thread-safe; use one per thread.
 */
#ifndef TKMS_COMBINE_H
#define TKMS_COMBINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tkms/bls.h"
#include "tkms/rng.h"
#include "tkms/shamir.h"
#include "tkms/status.h"

/* A partial signature as received: share index and 96-byte encoding. */
typedef struct {
    uint32_t index;
    uint8_t signature[TKMS_SIGNATURE_SIZE];
} tkms_partial;

/*
 * Lagrange coefficients at x = 0 for the `count` distinct indices in
 * `indices` (each 1..TKMS_MAX_SHARES): out[i] = Π_{j≠i} x_j / (x_j - x_i).
 * One field inversion in total. `scratch` must hold 2*count blst_fr.
 * Returns TKMS_ERR_INVALID_ARGUMENT for count 0 or an index 0,
 * TKMS_ERR_DUPLICATE_INDEX for a repeated index.
 */
tkms_status tkms_lagrange_at_zero(blst_scalar *out, const uint32_t *indices,
                                  size_t count, blst_fr *scratch);

typedef struct tkms_combiner tkms_combiner;

/* Allocates a combiner for `group` (which must outlive it). NULL on OOM. */
tkms_combiner *tkms_combiner_new(const tkms_group *group);

void tkms_combiner_free(tkms_combiner *combiner);

/*
 * Combines partial signatures on msg into the group signature.
 *
 * partials: `count` partials, 1 <= count <= n, each index 1..n, no index
 *   twice. Order matters only in that the first K are tried first.
 * rng: weights for batch verification (only used on the slow path).
 * out: the group signature, valid only when TKMS_OK is returned.
 * bad, bad_count: receive the indices (ascending) of partials found invalid:
 *   undecodable, not in the group, or failing verification against their
 *   share key. `bad` must hold `count` entries. Partials are examined only
 *   as far as needed: on the fast path (the first K combine to a valid
 *   signature) *bad_count is 0; otherwise the first K are judged, and the
 *   later ones only while fewer than K good ones are known. A partial that
 *   was not needed is neither used nor judged.
 *
 * Returns TKMS_OK (out is a verified signature), TKMS_ERR_NOT_ENOUGH_SHARES
 * (fewer than K valid partials; bad lists the invalid ones),
 * TKMS_ERR_INVALID_ARGUMENT (count or an index out of range),
 * TKMS_ERR_DUPLICATE_INDEX, or TKMS_ERR_RNG.
 */
tkms_status tkms_combiner_combine(tkms_combiner *combiner,
                                  const uint8_t *msg, size_t msg_len,
                                  const tkms_partial *partials, size_t count,
                                  tkms_rng *rng, tkms_signature *out,
                                  uint32_t *bad, size_t *bad_count);

/*
 * Batch verification of `count` partial signatures on one message:
 * true iff every sigs[i] is share indices[i]'s valid partial (except with
 * probability about 2^-64 over rng). sigs must come from
 * tkms_signature_from_bytes (subgroup-checked). Returns false for count 0,
 * an index out of range, an identity signature, or an RNG failure.
 */
bool tkms_combiner_batch_verify(tkms_combiner *combiner,
                                const uint8_t *msg, size_t msg_len,
                                const uint32_t *indices,
                                const tkms_signature *sigs, size_t count,
                                tkms_rng *rng);

/*
 * Plain Lagrange combination of exactly the given partials with no
 * verification at all (K = count). For callers that verified the partials
 * themselves, and for tests. Same argument rules as tkms_combiner_combine.
 */
tkms_status tkms_combiner_interpolate(tkms_combiner *combiner,
                                      const uint32_t *indices,
                                      const tkms_signature *sigs, size_t count,
                                      tkms_signature *out);

#endif /* TKMS_COMBINE_H */
