/*
 * test_bls.c — edge cases of the BLS layer (tkms/bls.h) that the official
 * vectors do not reach: secret-key range, each point-validation error code
 * (including points on the curve but outside the prime-order subgroup, built
 * here for G1 and G2), the unchecked signature decoder, sign/verify round
 * trips, verify vs verify_hashed, empty aggregates, and the identity
 * signature (never valid, even against keys that sum to the identity).
 */
#include <string.h>

#include "test.h"
#include "tkms/bls.h"

/* The group order r, big-endian. */
static const uint8_t order_r[32] = {
    0x73, 0xed, 0xa7, 0x53, 0x29, 0x9d, 0x7d, 0x48, 0x33, 0x39, 0xd8, 0x08, 0x09, 0xa1, 0xd8, 0x05,
    0x53, 0xbd, 0xa4, 0x02, 0xff, 0xfe, 0x5b, 0xfe, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01};

/* The field modulus p, big-endian. */
static const uint8_t modulus_p[48] = {
    0x1a, 0x01, 0x11, 0xea, 0x39, 0x7f, 0xe6, 0x9a, 0x4b, 0x1b, 0xa7, 0xb6, 0x43, 0x4b, 0xac, 0xd7,
    0x64, 0x77, 0x4b, 0x84, 0xf3, 0x85, 0x12, 0xbf, 0x67, 0x30, 0xd2, 0xa0, 0xf6, 0xb0, 0xf6, 0x24,
    0x1e, 0xab, 0xff, 0xfe, 0xb1, 0x53, 0xff, 0xff, 0xb9, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xaa, 0xab};

static const uint8_t msg_a[] = "message a";
static const uint8_t msg_b[] = "message b";
_Static_assert(sizeof msg_a == sizeof msg_b, "the loops below use one length");

static bool all_zero(const void *p, size_t len)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < len; i++)
        if (b[i] != 0)
            return false;
    return true;
}

/* Secret key k = (big-endian) 0...0 || seed byte repeated in the low half. */
static void make_key(tkms_secret_key *sk, uint8_t seed)
{
    uint8_t b[32] = {0};
    memset(b + 16, seed, 16);
    if (tkms_secret_key_from_bytes(sk, b) != TKMS_OK)
        test_fatal("test key %u refused", seed);
}

/* ---- secret keys ------------------------------------------------------- */

static void check_secret_key_range(void)
{
    tkms_secret_key sk;
    uint8_t b[32];

    memset(b, 0, sizeof b);
    memset(&sk, 0xa5, sizeof sk);
    CHECK(tkms_secret_key_from_bytes(&sk, b) == TKMS_ERR_BAD_SCALAR, "zero secret refused");
    CHECK(all_zero(&sk, sizeof sk), "refused secret is wiped");

    memcpy(b, order_r, 32);
    CHECK(tkms_secret_key_from_bytes(&sk, b) == TKMS_ERR_BAD_SCALAR, "secret == r refused");
    b[31] = 0x02;
    CHECK(tkms_secret_key_from_bytes(&sk, b) == TKMS_ERR_BAD_SCALAR, "secret == r+1 refused");
    memset(b, 0xff, sizeof b);
    CHECK(tkms_secret_key_from_bytes(&sk, b) == TKMS_ERR_BAD_SCALAR, "secret 2^256-1 refused");

    memcpy(b, order_r, 32);
    b[31] = 0x00;
    uint8_t back[32];
    CHECK(tkms_secret_key_from_bytes(&sk, b) == TKMS_OK, "secret == r-1 accepted");
    tkms_secret_key_to_bytes(back, &sk);
    CHECK(memcmp(back, b, 32) == 0, "r-1 round-trips through to_bytes");

    memset(b, 0, sizeof b);
    b[31] = 1;
    CHECK(tkms_secret_key_from_bytes(&sk, b) == TKMS_OK, "secret == 1 accepted");

    tkms_secret_key_wipe(&sk);
    CHECK(all_zero(&sk, sizeof sk), "tkms_secret_key_wipe zeroes the key");
}

/* ---- crafted points ---------------------------------------------------- */

/* The compressed encoding (sign bit clear) of the first x = 1, 2, ... for
 * which x^3 + 4 is a square (want_on_curve) or is not. */
static void g1_candidate(uint8_t out[48], bool want_on_curve)
{
    blst_fp x, rhs, y, four;
    uint64_t limbs[6] = {4};
    blst_fp_from_uint64(&four, limbs);
    for (uint64_t i = 1;; i++) {
        limbs[0] = i;
        blst_fp_from_uint64(&x, limbs);
        blst_fp_sqr(&rhs, &x);
        blst_fp_mul(&rhs, &rhs, &x);
        blst_fp_add(&rhs, &rhs, &four);
        if (blst_fp_sqrt(&y, &rhs) == want_on_curve)
            break;
    }
    blst_bendian_from_fp(out, &x);
    out[0] |= 0x80;
}

/* The same on the twist E': y^2 = x^3 + 4(1 + i), with x = i + 1·u for
 * i = 1, 2, ...; encoded c1 || c0 with the compression flag. */
static void g2_candidate(uint8_t out[96], bool want_on_curve)
{
    blst_fp2 x, rhs, y, b;
    uint64_t limbs[6] = {4};
    blst_fp_from_uint64(&b.fp[0], limbs);
    b.fp[1] = b.fp[0];
    limbs[0] = 1;
    blst_fp_from_uint64(&x.fp[1], limbs);
    for (uint64_t i = 1;; i++) {
        limbs[0] = i;
        blst_fp_from_uint64(&x.fp[0], limbs);
        blst_fp2_sqr(&rhs, &x);
        blst_fp2_mul(&rhs, &rhs, &x);
        blst_fp2_add(&rhs, &rhs, &b);
        if (blst_fp2_sqrt(&y, &rhs) == want_on_curve)
            break;
    }
    blst_bendian_from_fp(out, &x.fp[1]);
    blst_bendian_from_fp(out + 48, &x.fp[0]);
    out[0] |= 0x80;
}

static void check_g1_validation(void)
{
    uint8_t b[48];
    tkms_public_key pk;
    blst_p1_affine raw;

    memset(b, 0, sizeof b);
    b[0] = 0xc0;
    CHECK(tkms_public_key_from_bytes(&pk, b) == TKMS_ERR_INFINITY, "infinity public key refused");
    CHECK(tkms_g1_decode(&raw, b) == TKMS_OK && blst_p1_affine_is_inf(&raw),
          "raw G1 decode accepts the identity");

    g1_candidate(b, false);
    CHECK(tkms_public_key_from_bytes(&pk, b) == TKMS_ERR_NOT_ON_CURVE, "x off the curve: NOT_ON_CURVE");
    CHECK(tkms_g1_decode(&raw, b) == TKMS_ERR_NOT_ON_CURVE, "raw G1 decode: NOT_ON_CURVE");

    g1_candidate(b, true);
    bool crafted = blst_p1_uncompress(&raw, b) == BLST_SUCCESS &&
                   blst_p1_affine_on_curve(&raw) && !blst_p1_affine_in_g1(&raw);
    CHECK(crafted, "crafted G1 point is on the curve and outside the subgroup");
    CHECK(tkms_public_key_from_bytes(&pk, b) == TKMS_ERR_NOT_IN_GROUP,
          "G1 point outside the subgroup: NOT_IN_GROUP");
    CHECK(tkms_g1_decode(&raw, b) == TKMS_ERR_NOT_IN_GROUP, "raw G1 decode: NOT_IN_GROUP");

    memset(b, 0, sizeof b); /* x = 0: the 2-torsion point (0, ±2), which blst */
    b[0] = 0x80;            /* reports as not in the group while decoding */
    CHECK(tkms_public_key_from_bytes(&pk, b) == TKMS_ERR_NOT_IN_GROUP, "x == 0: NOT_IN_GROUP");

    memcpy(b, modulus_p, 48);
    b[0] |= 0x80;
    CHECK(tkms_public_key_from_bytes(&pk, b) == TKMS_ERR_BAD_ENCODING, "x == p: BAD_ENCODING");

    tkms_secret_key sk;
    make_key(&sk, 7);
    tkms_public_key_from_secret(&pk, &sk);
    tkms_public_key_to_bytes(b, &pk);
    tkms_public_key back;
    CHECK(tkms_public_key_from_bytes(&back, b) == TKMS_OK && tkms_public_key_equal(&pk, &back),
          "public key round-trips through bytes");
    b[0] &= 0x7f;
    CHECK(tkms_public_key_from_bytes(&back, b) == TKMS_ERR_BAD_ENCODING,
          "compression flag cleared: BAD_ENCODING");
    tkms_secret_key_wipe(&sk);
}

static void check_g2_validation(void)
{
    uint8_t b[96], back[96];
    tkms_signature sig;
    blst_p2_affine raw;

    memset(b, 0, sizeof b);
    b[0] = 0xc0;
    CHECK(tkms_signature_from_bytes(&sig, b) == TKMS_OK && blst_p2_affine_is_inf(&sig.point),
          "identity signature decodes");

    g2_candidate(b, false);
    CHECK(tkms_signature_from_bytes(&sig, b) == TKMS_ERR_NOT_ON_CURVE, "G2 x off the curve: NOT_ON_CURVE");
    CHECK(tkms_signature_from_bytes_unchecked(&sig, b) == TKMS_ERR_NOT_ON_CURVE,
          "unchecked decode still checks the curve");
    CHECK(tkms_g2_decode(&raw, b) == TKMS_ERR_NOT_ON_CURVE, "raw G2 decode: NOT_ON_CURVE");

    g2_candidate(b, true);
    bool crafted = blst_p2_uncompress(&raw, b) == BLST_SUCCESS &&
                   blst_p2_affine_on_curve(&raw) && !blst_p2_affine_in_g2(&raw);
    CHECK(crafted, "crafted G2 point is on the curve and outside the subgroup");
    CHECK(tkms_signature_from_bytes(&sig, b) == TKMS_ERR_NOT_IN_GROUP,
          "G2 point outside the subgroup: NOT_IN_GROUP");
    CHECK(tkms_g2_decode(&raw, b) == TKMS_ERR_NOT_IN_GROUP, "raw G2 decode: NOT_IN_GROUP");
    CHECK(tkms_signature_from_bytes_unchecked(&sig, b) == TKMS_OK,
          "unchecked decode accepts the point outside the subgroup");
    tkms_signature_to_bytes(back, &sig);
    CHECK(memcmp(back, b, 96) == 0, "unchecked point re-encodes to the same bytes");

    memset(b, 0, sizeof b);
    memcpy(b + 48, modulus_p, 48); /* c0 == p */
    b[0] = 0x80;
    CHECK(tkms_signature_from_bytes(&sig, b) == TKMS_ERR_BAD_ENCODING, "x.c0 == p: BAD_ENCODING");
    CHECK(tkms_signature_from_bytes_unchecked(&sig, b) == TKMS_ERR_BAD_ENCODING,
          "unchecked decode: x.c0 == p: BAD_ENCODING");
}

/* ---- signing and verifying --------------------------------------------- */

static void check_sign_verify(void)
{
    tkms_secret_key sk1, sk2;
    tkms_public_key pk1, pk2;
    make_key(&sk1, 0x11);
    make_key(&sk2, 0x22);
    tkms_public_key_from_secret(&pk1, &sk1);
    tkms_public_key_from_secret(&pk2, &sk2);

    tkms_signature sig_a, sig_b, again;
    tkms_sign(&sig_a, &sk1, msg_a, sizeof msg_a);
    tkms_sign(&sig_b, &sk1, msg_b, sizeof msg_b);
    CHECK(tkms_verify(&pk1, msg_a, sizeof msg_a, &sig_a), "signature verifies");
    CHECK(!tkms_verify(&pk1, msg_b, sizeof msg_b, &sig_a), "wrong message fails");
    CHECK(!tkms_verify(&pk2, msg_a, sizeof msg_a, &sig_a), "wrong key fails");
    CHECK(!tkms_verify(&pk1, msg_a, sizeof msg_a - 1, &sig_a), "truncated message fails");

    uint8_t bytes[TKMS_SIGNATURE_SIZE];
    tkms_signature_to_bytes(bytes, &sig_a);
    CHECK(tkms_signature_from_bytes(&again, bytes) == TKMS_OK && tkms_signature_equal(&again, &sig_a),
          "signature round-trips through bytes");

    blst_p2 hash;
    tkms_hash_to_g2(&hash, msg_a, sizeof msg_a);
    tkms_sign_hashed(&again, &sk1, &hash);
    CHECK(tkms_signature_equal(&again, &sig_a), "sign_hashed(H(m)) == sign(m)");

    /* tkms_verify_hashed must agree with tkms_verify on every combination */
    const uint8_t *msgs[2] = {msg_a, msg_b};
    const tkms_public_key *pks[2] = {&pk1, &pk2};
    const tkms_signature *sigs[2] = {&sig_a, &sig_b};
    for (int m = 0; m < 2; m++) {
        blst_p2_affine h;
        tkms_hash_to_g2(&hash, msgs[m], sizeof msg_a);
        blst_p2_to_affine(&h, &hash);
        for (int k = 0; k < 2; k++)
            for (int s = 0; s < 2; s++)
                CHECK(tkms_verify_hashed(pks[k], &h, sigs[s]) ==
                      tkms_verify(pks[k], msgs[m], sizeof msg_a, sigs[s]),
                      "verify_hashed agrees with verify (msg %d, key %d, sig %d)", m, k, s);
    }

    tkms_secret_key_wipe(&sk1);
    tkms_secret_key_wipe(&sk2);
}

static void check_aggregates(void)
{
    tkms_secret_key sk[2];
    tkms_public_key pk[2];
    tkms_signature sig[2], agg;
    for (int i = 0; i < 2; i++) {
        make_key(&sk[i], (uint8_t)(0x31 + i));
        tkms_public_key_from_secret(&pk[i], &sk[i]);
        tkms_sign(&sig[i], &sk[i], msg_a, sizeof msg_a);
    }
    CHECK(tkms_aggregate(&agg, sig, 0) == TKMS_ERR_INVALID_ARGUMENT, "aggregate of n=0 refused");
    CHECK(tkms_aggregate(&agg, sig, 1) == TKMS_OK && tkms_signature_equal(&agg, &sig[0]),
          "aggregate of one signature is itself");
    CHECK(tkms_aggregate(&agg, sig, 2) == TKMS_OK, "aggregate of two");
    CHECK(tkms_fast_aggregate_verify(pk, 2, msg_a, sizeof msg_a, &agg), "fast_aggregate_verify, 2 signers");
    CHECK(!tkms_fast_aggregate_verify(pk, 1, msg_a, sizeof msg_a, &agg), "fast_aggregate_verify, a signer missing");
    CHECK(!tkms_fast_aggregate_verify(pk, 0, msg_a, sizeof msg_a, &sig[0]), "fast_aggregate_verify with n=0 is false");

    /* aggregate_verify: distinct messages, then swapped */
    const uint8_t *msgs[2] = {msg_a, msg_b};
    const uint8_t *swapped[2] = {msg_b, msg_a};
    size_t lens[2] = {sizeof msg_a, sizeof msg_b};
    tkms_signature pair[2];
    tkms_sign(&pair[0], &sk[0], msg_a, sizeof msg_a);
    tkms_sign(&pair[1], &sk[1], msg_b, sizeof msg_b);
    CHECK(tkms_aggregate(&agg, pair, 2) == TKMS_OK, "aggregate of a pair");
    CHECK(tkms_aggregate_verify(pk, msgs, lens, 2, &agg), "aggregate_verify");
    CHECK(!tkms_aggregate_verify(pk, swapped, lens, 2, &agg), "aggregate_verify, messages swapped");
    CHECK(!tkms_aggregate_verify(pk, msgs, lens, 0, &agg), "aggregate_verify with n=0 is false");

    for (int i = 0; i < 2; i++)
        tkms_secret_key_wipe(&sk[i]);
}

/* The identity signature never verifies: not against a key, and not against
 * keys {pk, -pk} whose sum is the identity (where the pairing equation alone
 * would hold). */
static void check_identity_signature(void)
{
    uint8_t b[TKMS_SIGNATURE_SIZE] = {0xc0};
    tkms_signature inf;
    if (tkms_signature_from_bytes(&inf, b) != TKMS_OK)
        test_fatal("identity signature does not decode");

    tkms_secret_key sk;
    tkms_public_key pk[2];
    make_key(&sk, 0x44);
    tkms_public_key_from_secret(&pk[0], &sk);
    uint8_t pkb[TKMS_PUBLIC_KEY_SIZE];
    tkms_public_key_to_bytes(pkb, &pk[0]);
    pkb[0] ^= 0x20; /* the sign flag: -pk */
    CHECK(tkms_public_key_from_bytes(&pk[1], pkb) == TKMS_OK && !tkms_public_key_equal(&pk[0], &pk[1]),
          "-pk decodes");

    blst_p2 hash;
    blst_p2_affine h;
    tkms_hash_to_g2(&hash, msg_a, sizeof msg_a);
    blst_p2_to_affine(&h, &hash);
    const uint8_t *msgs[2] = {msg_a, msg_a};
    size_t lens[2] = {sizeof msg_a, sizeof msg_a};

    CHECK(!tkms_verify(&pk[0], msg_a, sizeof msg_a, &inf), "identity signature: verify is false");
    CHECK(!tkms_verify_hashed(&pk[0], &h, &inf), "identity signature: verify_hashed is false");
    /* no decoder yields an identity key, but verify must not rely on that:
     * e(-G1, 0)·e(0, H) == 1 would otherwise accept */
    tkms_public_key zero_pk;
    memset(&zero_pk, 0, sizeof zero_pk);
    CHECK(!tkms_verify(&zero_pk, msg_a, sizeof msg_a, &inf),
          "identity signature with an identity key is false");
    CHECK(!tkms_fast_aggregate_verify(pk, 2, msg_a, sizeof msg_a, &inf),
          "identity signature with keys {pk, -pk}: fast_aggregate_verify is false");
    CHECK(!tkms_aggregate_verify(pk, msgs, lens, 2, &inf),
          "identity signature with keys {pk, -pk}: aggregate_verify is false");

    tkms_signature pair[2], agg;
    tkms_sign(&pair[0], &sk, msg_a, sizeof msg_a);
    tkms_signature_to_bytes(b, &pair[0]);
    b[0] ^= 0x20; /* -sig */
    CHECK(tkms_signature_from_bytes(&pair[1], b) == TKMS_OK, "-sig decodes");
    CHECK(tkms_aggregate(&agg, pair, 2) == TKMS_OK && blst_p2_affine_is_inf(&agg.point),
          "sig + (-sig) aggregates to the identity");
    CHECK(!tkms_fast_aggregate_verify(pk, 2, msg_a, sizeof msg_a, &agg),
          "aggregated identity with keys {pk, -pk} is false");
    tkms_secret_key_wipe(&sk);
}

int main(void)
{
    check_secret_key_range();
    check_g1_validation();
    check_g2_validation();
    check_sign_verify();
    check_aggregates();
    check_identity_signature();
    return test_report();
}
