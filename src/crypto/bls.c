/*
 * bls.c — the Ethereum BLS ciphersuite over blst (tkms/bls.h).
 *
 * blst does the arithmetic; this file fixes the DST, maps blst's errors to
 * tkms_status, and enforces the validation rules: KeyValidate for public
 * keys, subgroup checks for signatures, non-zero secrets. Verification is a
 * two-pairing product check e(-G1, σ)·e(pk, H(m)) == 1, which lets callers
 * that verify many signatures on one message hash it once.
 */
#include <stdlib.h>
#include <string.h>

#include "tkms/bls.h"
#include "tkms/secmem.h"

static const uint8_t pop_dst[] = TKMS_BLS_DST;
#define POP_DST_LEN (sizeof pop_dst - 1)

static tkms_status from_blst_error(BLST_ERROR e)
{
    switch (e) {
    case BLST_SUCCESS: return TKMS_OK;
    case BLST_POINT_NOT_ON_CURVE: return TKMS_ERR_NOT_ON_CURVE;
    case BLST_POINT_NOT_IN_GROUP: return TKMS_ERR_NOT_IN_GROUP;
    case BLST_PK_IS_INFINITY: return TKMS_ERR_INFINITY;
    case BLST_BAD_SCALAR: return TKMS_ERR_BAD_SCALAR;
    case BLST_VERIFY_FAIL: return TKMS_ERR_VERIFY_FAILED;
    default: return TKMS_ERR_BAD_ENCODING;
    }
}

/* ---- secret keys ------------------------------------------------------- */

tkms_status tkms_secret_key_from_bytes(tkms_secret_key *out,
                                       const uint8_t in[TKMS_SECRET_KEY_SIZE])
{
    blst_scalar_from_bendian(&out->value, in);
    if (!blst_sk_check(&out->value)) {
        tkms_secret_key_wipe(out);
        return TKMS_ERR_BAD_SCALAR;
    }
    return TKMS_OK;
}

void tkms_secret_key_to_bytes(uint8_t out[TKMS_SECRET_KEY_SIZE],
                              const tkms_secret_key *sk)
{
    blst_bendian_from_scalar(out, &sk->value);
}

void tkms_secret_key_wipe(tkms_secret_key *sk)
{
    tkms_wipe(sk, sizeof *sk);
}

/* ---- public keys ------------------------------------------------------- */

void tkms_public_key_from_secret(tkms_public_key *out, const tkms_secret_key *sk)
{
    blst_p1 p;
    blst_sk_to_pk_in_g1(&p, &sk->value);
    blst_p1_to_affine(&out->point, &p);
}

tkms_status tkms_g1_decode(blst_p1_affine *out, const uint8_t in[48])
{
    tkms_status st = from_blst_error(blst_p1_uncompress(out, in));
    if (st != TKMS_OK)
        return st;
    if (!blst_p1_affine_in_g1(out))
        return TKMS_ERR_NOT_IN_GROUP;
    return TKMS_OK;
}

tkms_status tkms_public_key_from_bytes(tkms_public_key *out,
                                       const uint8_t in[TKMS_PUBLIC_KEY_SIZE])
{
    tkms_status st = tkms_g1_decode(&out->point, in);
    if (st == TKMS_OK && blst_p1_affine_is_inf(&out->point))
        st = TKMS_ERR_INFINITY;
    return st;
}

void tkms_public_key_to_bytes(uint8_t out[TKMS_PUBLIC_KEY_SIZE],
                              const tkms_public_key *pk)
{
    blst_p1_affine_compress(out, &pk->point);
}

bool tkms_public_key_equal(const tkms_public_key *a, const tkms_public_key *b)
{
    return blst_p1_affine_is_equal(&a->point, &b->point);
}

/* ---- signatures -------------------------------------------------------- */

tkms_status tkms_g2_decode(blst_p2_affine *out, const uint8_t in[96])
{
    tkms_status st = from_blst_error(blst_p2_uncompress(out, in));
    if (st != TKMS_OK)
        return st;
    if (!blst_p2_affine_in_g2(out))
        return TKMS_ERR_NOT_IN_GROUP;
    return TKMS_OK;
}

tkms_status tkms_signature_from_bytes(tkms_signature *out,
                                      const uint8_t in[TKMS_SIGNATURE_SIZE])
{
    return tkms_g2_decode(&out->point, in);
}

tkms_status tkms_signature_from_bytes_unchecked(tkms_signature *out,
                                                const uint8_t in[TKMS_SIGNATURE_SIZE])
{
    return from_blst_error(blst_p2_uncompress(&out->point, in));
}

void tkms_signature_to_bytes(uint8_t out[TKMS_SIGNATURE_SIZE],
                             const tkms_signature *sig)
{
    blst_p2_affine_compress(out, &sig->point);
}

bool tkms_signature_equal(const tkms_signature *a, const tkms_signature *b)
{
    return blst_p2_affine_is_equal(&a->point, &b->point);
}

/* ---- hashing, signing, verifying --------------------------------------- */

void tkms_hash_to_g2_dst(blst_p2 *out, const uint8_t *msg, size_t msg_len,
                         const uint8_t *dst, size_t dst_len)
{
    blst_hash_to_g2(out, msg, msg_len, dst, dst_len, NULL, 0);
}

void tkms_hash_to_g2(blst_p2 *out, const uint8_t *msg, size_t msg_len)
{
    tkms_hash_to_g2_dst(out, msg, msg_len, pop_dst, POP_DST_LEN);
}

void tkms_sign_hashed(tkms_signature *out, const tkms_secret_key *sk,
                      const blst_p2 *hash)
{
    blst_p2 sig;
    blst_sign_pk_in_g1(&sig, hash, &sk->value);
    blst_p2_to_affine(&out->point, &sig);
}

void tkms_sign(tkms_signature *out, const tkms_secret_key *sk,
               const uint8_t *msg, size_t msg_len)
{
    blst_p2 hash;
    tkms_hash_to_g2(&hash, msg, msg_len);
    tkms_sign_hashed(out, sk, &hash);
}

/* e(-G1, sig) · e(pk, hash) == 1 */
static bool pairing_check(const blst_p1_affine *pk, const blst_p2_affine *hash,
                          const blst_p2_affine *sig)
{
    const blst_p2_affine *qs[2] = {sig, hash};
    const blst_p1_affine *ps[2] = {&BLS12_381_NEG_G1, pk};
    blst_fp12 gt;
    blst_miller_loop_n(&gt, qs, ps, 2);
    blst_final_exp(&gt, &gt);
    return blst_fp12_is_one(&gt);
}

bool tkms_verify_hashed(const tkms_public_key *pk, const blst_p2_affine *hash,
                        const tkms_signature *sig)
{
    if (blst_p1_affine_is_inf(&pk->point) || blst_p2_affine_is_inf(&sig->point))
        return false;
    return pairing_check(&pk->point, hash, &sig->point);
}

bool tkms_verify(const tkms_public_key *pk, const uint8_t *msg, size_t msg_len,
                 const tkms_signature *sig)
{
    blst_p2 hash;
    blst_p2_affine hash_affine;
    tkms_hash_to_g2(&hash, msg, msg_len);
    blst_p2_to_affine(&hash_affine, &hash);
    return tkms_verify_hashed(pk, &hash_affine, sig);
}

tkms_status tkms_aggregate(tkms_signature *out, const tkms_signature *sigs,
                           size_t n)
{
    if (n == 0)
        return TKMS_ERR_INVALID_ARGUMENT;
    blst_p2 sum;
    blst_p2_from_affine(&sum, &sigs[0].point);
    for (size_t i = 1; i < n; i++)
        blst_p2_add_or_double_affine(&sum, &sum, &sigs[i].point);
    blst_p2_to_affine(&out->point, &sum);
    return TKMS_OK;
}

bool tkms_fast_aggregate_verify(const tkms_public_key *pks, size_t n,
                                const uint8_t *msg, size_t msg_len,
                                const tkms_signature *sig)
{
    if (n == 0 || blst_p2_affine_is_inf(&sig->point))
        return false;
    blst_p1 sum;
    blst_p1_from_affine(&sum, &pks[0].point);
    for (size_t i = 1; i < n; i++)
        blst_p1_add_or_double_affine(&sum, &sum, &pks[i].point);
    tkms_public_key aggregate;
    blst_p1_to_affine(&aggregate.point, &sum);
    return tkms_verify(&aggregate, msg, msg_len, sig);
}

bool tkms_aggregate_verify(const tkms_public_key *pks,
                           const uint8_t *const *msgs, const size_t *msg_lens,
                           size_t n, const tkms_signature *sig)
{
    if (n == 0 || blst_p2_affine_is_inf(&sig->point))
        return false;
    blst_pairing *ctx = malloc(blst_pairing_sizeof());
    if (ctx == NULL)
        return false;
    blst_pairing_init(ctx, true, pop_dst, POP_DST_LEN);
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        if (blst_p1_affine_is_inf(&pks[i].point))
            ok = false;
        else if (blst_pairing_aggregate_pk_in_g1(ctx, &pks[i].point,
                                                 i == 0 ? &sig->point : NULL,
                                                 msgs[i], msg_lens[i], NULL, 0)
                 != BLST_SUCCESS)
            ok = false;
    }
    if (ok) {
        blst_pairing_commit(ctx);
        ok = blst_pairing_finalverify(ctx, NULL);
    }
    free(ctx);
    return ok;
}
