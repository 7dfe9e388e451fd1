/*
 * lagrange.c — Lagrange coefficients at zero for a set of share indices
 * (tkms_lagrange_at_zero in tkms/combine.h).
 *
 *   λ_i = Π_{j≠i} x_j / Π_{j≠i} (x_j − x_i)
 *
 * Indices are small (≤ TKMS_MAX_SHARES < 2^11), so the factors of each
 * product are multiplied as 64-bit integers while they fit and only folded
 * into Fr every five or six factors; all k denominators are then inverted
 * with Montgomery's trick: one field inversion and 3(k−1) multiplications.
 */
#include <string.h>

#include "tkms/combine.h"
#include "tkms/secmem.h"

/* Accumulates a product of small positive integers into an Fr element,
 * batching factors in a uint64 while they fit. */
typedef struct {
    blst_fr acc;
    uint64_t pending;
} small_product;

static void small_product_init(small_product *p)
{
    static const uint64_t one[4] = {1, 0, 0, 0};
    blst_fr_from_uint64(&p->acc, one);
    p->pending = 1;
}

static void small_product_fold(small_product *p)
{
    if (p->pending != 1) {
        uint64_t limbs[4] = {p->pending, 0, 0, 0};
        blst_fr factor;
        blst_fr_from_uint64(&factor, limbs);
        blst_fr_mul(&p->acc, &p->acc, &factor);
        p->pending = 1;
    }
}

static void small_product_mul(small_product *p, uint64_t factor)
{
    if (p->pending > UINT64_MAX / factor)
        small_product_fold(p);
    p->pending *= factor;
}

tkms_status tkms_lagrange_at_zero(blst_scalar *out, const uint32_t *indices,
                                  size_t count, blst_fr *scratch)
{
    if (count == 0)
        return TKMS_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < count; i++) {
        if (indices[i] == 0 || indices[i] > TKMS_MAX_SHARES)
            return TKMS_ERR_INVALID_ARGUMENT;
        for (size_t j = 0; j < i; j++)
            if (indices[j] == indices[i])
                return TKMS_ERR_DUPLICATE_INDEX;
    }
    /* With P = Π_j x_j, λ_i = P / e_i where e_i = x_i · Π_{j≠i} (x_j − x_i). */
    blst_fr *e = scratch;                /* count entries */
    blst_fr *prefix = scratch + count;   /* count entries: e_0·…·e_i */

    small_product all;
    small_product_init(&all);
    for (size_t i = 0; i < count; i++) {
        small_product den;
        small_product_init(&den);
        small_product_mul(&all, indices[i]);
        small_product_mul(&den, indices[i]);
        bool negative = false;
        for (size_t j = 0; j < count; j++) {
            if (j == i)
                continue;
            if (indices[j] > indices[i]) {
                small_product_mul(&den, indices[j] - indices[i]);
            } else {
                small_product_mul(&den, indices[i] - indices[j]);
                negative = !negative;
            }
        }
        small_product_fold(&den);
        blst_fr_cneg(&e[i], &den.acc, negative);
    }
    small_product_fold(&all);

    /* Montgomery's batch inversion of e_0..e_{k-1}. */
    prefix[0] = e[0];
    for (size_t i = 1; i < count; i++)
        blst_fr_mul(&prefix[i], &prefix[i - 1], &e[i]);
    blst_fr inv;                                   /* 1 / (e_0·…·e_i) */
    blst_fr_inverse(&inv, &prefix[count - 1]);
    blst_fr_mul(&inv, &inv, &all.acc);             /* P / (e_0·…·e_i) */
    for (size_t i = count; i-- > 0;) {
        blst_fr lambda;
        if (i > 0) {
            blst_fr_mul(&lambda, &inv, &prefix[i - 1]);   /* P / e_i */
            blst_fr_mul(&inv, &inv, &e[i]);
        } else {
            lambda = inv;
        }
        blst_scalar_from_fr(&out[i], &lambda);
    }
    return TKMS_OK;
}
