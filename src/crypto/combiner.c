/*
 * combiner.c — optimistic combination of partial signatures
 * (tkms_combiner_* in tkms/combine.h).
 *
 * Fast path: decode the first K partials without the subgroup check,
 * interpolate σ = Σ λ_i σ_i with one MSM, and accept σ if it is in G2 and
 * verifies against the group key. Cost: K decompressions, one MSM, one
 * verify.
 *
 * Slow path (only when the fast path fails): subgroup-check the first K
 * (reusing their decompression), then find the invalid ones by batch
 * verification and bisection — a failing set is split in halves; when the
 * left half passes the right half must hold a culprit and is searched
 * without re-checking it. If all K were in G2 the set is known to fail and
 * is not checked whole. With one bad partial among K this costs about
 * log2(K) batch checks. Further partials are decoded and checked only
 * while fewer than K good ones are known. Then K good partials are
 * combined and the result verified once more.
 */
#include <stdlib.h>
#include <string.h>

#include "combiner_internal.h"
#include "tkms/secmem.h"

enum { VERDICT_UNKNOWN = 0, VERDICT_GOOD, VERDICT_BAD };

tkms_combiner *tkms_combiner_new(const tkms_group *group)
{
    tkms_combiner *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    size_t n = group->share_count;
    size_t msm = blst_p2s_mult_pippenger_scratch_sizeof(n);
    size_t msm1 = blst_p1s_mult_pippenger_scratch_sizeof(n);
    if (msm1 > msm)
        msm = msm1;
    c->group = group;
    c->capacity = n;
    c->indices = calloc(n, sizeof *c->indices);
    c->chosen = calloc(n, sizeof *c->chosen);
    c->sigs = calloc(n, sizeof *c->sigs);
    c->seen = calloc(n + 1, 1);
    c->verdict = calloc(n, 1);
    c->order = calloc(n, sizeof *c->order);
    c->coeffs = calloc(n, sizeof *c->coeffs);
    c->fr_scratch = calloc(2 * n, sizeof *c->fr_scratch);
    c->weights = calloc(n, sizeof *c->weights);
    c->p2_ptrs = calloc(n, sizeof *c->p2_ptrs);
    c->p1_ptrs = calloc(n, sizeof *c->p1_ptrs);
    c->scalar_ptrs = calloc(n, sizeof *c->scalar_ptrs);
    c->msm_scratch = malloc(msm > 0 ? msm : 1);
    if (!c->indices || !c->chosen || !c->sigs || !c->seen || !c->verdict || !c->order ||
        !c->coeffs || !c->fr_scratch || !c->weights || !c->p2_ptrs ||
        !c->p1_ptrs || !c->scalar_ptrs || !c->msm_scratch) {
        tkms_combiner_free(c);
        return NULL;
    }
    return c;
}

void tkms_combiner_free(tkms_combiner *c)
{
    if (c == NULL)
        return;
    free(c->indices);
    free(c->chosen);
    free(c->sigs);
    free(c->seen);
    free(c->verdict);
    free(c->order);
    free(c->coeffs);
    free(c->fr_scratch);
    free(c->weights);
    free(c->p2_ptrs);
    free(c->p1_ptrs);
    free(c->scalar_ptrs);
    free(c->msm_scratch);
    free(c);
}

/* Checks count and indices (1..n, distinct). */
static tkms_status check_indices(tkms_combiner *c, const uint32_t *indices,
                                 size_t count)
{
    if (count == 0 || count > c->capacity)
        return TKMS_ERR_INVALID_ARGUMENT;
    memset(c->seen, 0, c->capacity + 1);
    for (size_t t = 0; t < count; t++) {
        if (indices[t] == 0 || indices[t] > c->group->share_count)
            return TKMS_ERR_INVALID_ARGUMENT;
        if (c->seen[indices[t]]++)
            return TKMS_ERR_DUPLICATE_INDEX;
    }
    return TKMS_OK;
}

/* σ = Σ λ_t sigs[pos[t]] over the indices of the chosen positions. */
static tkms_status interpolate_positions(tkms_combiner *c, const uint32_t *indices,
                                         const tkms_signature *sigs,
                                         const size_t *pos, size_t count,
                                         blst_p2_affine *out)
{
    for (size_t t = 0; t < count; t++)
        c->chosen[t] = indices[pos[t]];
    tkms_status st = tkms_lagrange_at_zero(c->coeffs, c->chosen, count, c->fr_scratch);
    if (st != TKMS_OK)
        return st;
    for (size_t t = 0; t < count; t++) {
        c->p2_ptrs[t] = &sigs[pos[t]].point;
        c->scalar_ptrs[t] = c->coeffs[t].b;
    }
    blst_p2 sum;
    blst_p2s_mult_pippenger(&sum, c->p2_ptrs, count, c->scalar_ptrs, 255,
                            c->msm_scratch);
    blst_p2_to_affine(out, &sum);
    return TKMS_OK;
}

tkms_status tkms_combiner_interpolate(tkms_combiner *c, const uint32_t *indices,
                                      const tkms_signature *sigs, size_t count,
                                      tkms_signature *out)
{
    tkms_status st = check_indices(c, indices, count);
    if (st != TKMS_OK)
        return st;
    for (size_t t = 0; t < count; t++)
        c->order[t] = t;
    return interpolate_positions(c, indices, sigs, c->order, count, &out->point);
}

/* The combined signature is accepted only if it is in G2 and verifies. */
static bool group_signature_valid(const tkms_combiner *c, const blst_p2_affine *hash,
                                  const tkms_signature *sig)
{
    return blst_p2_affine_in_g2(&sig->point) &&
           tkms_verify_hashed(&c->group->group_key, hash, sig);
}

/* Decodes the first K partials without subgroup checks (*decoded says how
 * many decoded, for the slow path to reuse), combines and verifies. */
static tkms_status fast_path(tkms_combiner *c, const blst_p2_affine *hash,
                             const tkms_partial *partials, tkms_signature *out,
                             size_t *decoded)
{
    size_t k = c->group->threshold;
    for (size_t t = 0; t < k; t++) {
        if (tkms_signature_from_bytes_unchecked(&c->sigs[t], partials[t].signature) != TKMS_OK)
            return TKMS_ERR_VERIFY_FAILED;
        *decoded = t + 1;
        c->order[t] = t;
    }
    tkms_status st = interpolate_positions(c, c->indices, c->sigs, c->order, k, &out->point);
    if (st != TKMS_OK)
        return st;
    return group_signature_valid(c, hash, out) ? TKMS_OK : TKMS_ERR_VERIFY_FAILED;
}

/* Marks the invalid candidates among order[lo..hi). `known_bad` means the
 * range is already known to fail the batch check. */
static void find_culprits(tkms_combiner *c, const blst_p2_affine *hash,
                          size_t lo, size_t hi, bool known_bad)
{
    size_t count = hi - lo;
    if (!known_bad &&
        tkms_combiner_batch_check(c, hash, c->indices, c->sigs, c->order + lo, count))
        return;
    if (count == 1) {
        c->verdict[c->order[lo]] = VERDICT_BAD;
        return;
    }
    size_t mid = lo + count / 2;
    if (tkms_combiner_batch_check(c, hash, c->indices, c->sigs, c->order + lo, mid - lo)) {
        find_culprits(c, hash, mid, hi, true);
    } else {
        find_culprits(c, hash, lo, mid, true);
        find_culprits(c, hash, mid, hi, false);
    }
}

/* Admits partials [from, to) as candidates: those that decode (before
 * `decoded` the fast path already decompressed them, so only the subgroup
 * check is left) are appended to order[] from position *n on; the others
 * are judged bad at once. */
static void admit(tkms_combiner *c, const tkms_partial *partials, size_t from,
                  size_t to, size_t decoded, size_t *n)
{
    for (size_t t = from; t < to; t++) {
        bool valid = t < decoded
                         ? blst_p2_affine_in_g2(&c->sigs[t].point)
                         : tkms_signature_from_bytes(&c->sigs[t], partials[t].signature) == TKMS_OK;
        c->verdict[t] = valid ? VERDICT_GOOD : VERDICT_BAD;
        if (valid)
            c->order[(*n)++] = t;
    }
}

/* Finds the bad partials among the first K; looks at further partials only
 * while fewer than K good ones are known. `decoded` is how many of the
 * first K the fast path decompressed. */
static tkms_status slow_path(tkms_combiner *c, const blst_p2_affine *hash,
                             const tkms_partial *partials, size_t count,
                             size_t decoded, tkms_rng *rng, tkms_signature *out)
{
    size_t k = c->group->threshold;
    size_t first = count < k ? count : k;
    memset(c->verdict, VERDICT_UNKNOWN, count);
    tkms_status st = tkms_combiner_draw_weights(c, count, rng);
    if (st != TKMS_OK)
        return st;

    /* If all first K decoded into G2, their combination failed to verify,
     * so one of them is certainly bad: skip the check of the whole set. */
    size_t n = 0;
    admit(c, partials, 0, first, decoded, &n);
    if (n > 0)
        find_culprits(c, hash, 0, n, decoded == k && n == k);
    size_t good = 0;
    for (size_t i = 0; i < n; i++)
        if (c->verdict[c->order[i]] == VERDICT_GOOD)
            c->order[good++] = c->order[i];

    if (good < k && count > first) {
        size_t more = good;
        admit(c, partials, first, count, decoded, &more);
        if (more > good)
            find_culprits(c, hash, good, more, false);
        size_t kept = good;
        for (size_t i = good; i < more; i++)
            if (c->verdict[c->order[i]] == VERDICT_GOOD)
                c->order[kept++] = c->order[i];
        good = kept;
    }
    if (good < k)
        return TKMS_ERR_NOT_ENOUGH_SHARES;
    st = interpolate_positions(c, c->indices, c->sigs, c->order, k, &out->point);
    if (st != TKMS_OK)
        return st;
    return group_signature_valid(c, hash, out) ? TKMS_OK : TKMS_ERR_VERIFY_FAILED;
}

tkms_status tkms_combiner_combine(tkms_combiner *c, const uint8_t *msg,
                                  size_t msg_len, const tkms_partial *partials,
                                  size_t count, tkms_rng *rng,
                                  tkms_signature *out, uint32_t *bad,
                                  size_t *bad_count)
{
    *bad_count = 0;
    if (count == 0 || count > c->capacity)
        return TKMS_ERR_INVALID_ARGUMENT;
    for (size_t t = 0; t < count; t++)
        c->indices[t] = partials[t].index;
    tkms_status st = check_indices(c, c->indices, count);
    if (st != TKMS_OK)
        return st;

    blst_p2 hash_projective;
    blst_p2_affine hash;
    tkms_hash_to_g2(&hash_projective, msg, msg_len);
    blst_p2_to_affine(&hash, &hash_projective);

    size_t decoded = 0;
    if (count >= c->group->threshold &&
        fast_path(c, &hash, partials, out, &decoded) == TKMS_OK)
        return TKMS_OK;

    st = slow_path(c, &hash, partials, count, decoded, rng, out);
    /* bad indices in ascending order, via the seen[] table */
    memset(c->seen, 0, c->capacity + 1);
    for (size_t t = 0; t < count; t++)
        if (c->verdict[t] == VERDICT_BAD)
            c->seen[partials[t].index] = 1;
    for (uint32_t i = 1; i <= c->group->share_count; i++)
        if (c->seen[i])
            bad[(*bad_count)++] = i;
    return st;
}
