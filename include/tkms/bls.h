/*
 * tkms/bls.h — Ethereum BLS signatures on BLS12-381.
 *
 * Ciphersuite BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_ (the Ethereum
 * consensus one): secret keys are scalars 0 < sk < r, public keys are G1
 * points (48-byte compressed), signatures are G2 points (96-byte compressed,
 * ZCash encoding). All group arithmetic is blst's; this module only fixes
 * the ciphersuite and the validation rules:
 *
 *   - a public key must decode, lie on the curve, be in the prime-order
 *     subgroup and not be the identity (KeyValidate);
 *   - a signature must decode, lie on the curve and be in the subgroup; the
 *     identity decodes but never verifies against a valid key;
 *   - a secret key of zero, or one not below r, is refused.
 *
 * The structs below hold decoded values; convert at the boundary with the
 * *_from_bytes / *_to_bytes functions. A tkms_secret_key holds a secret:
 * wipe it with tkms_secret_key_wipe when done.
 */
#ifndef TKMS_BLS_H
#define TKMS_BLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <blst.h>

#include "tkms/status.h"

#define TKMS_SECRET_KEY_SIZE 32
#define TKMS_PUBLIC_KEY_SIZE 48
#define TKMS_SIGNATURE_SIZE 96

/* The POP ciphersuite's domain separation tag, used for hash_to_curve. */
#define TKMS_BLS_DST "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"

typedef struct { blst_scalar value; } tkms_secret_key;    /* 0 < value < r  */
typedef struct { blst_p1_affine point; } tkms_public_key; /* in G1, not 0   */
typedef struct { blst_p2_affine point; } tkms_signature;  /* in G2          */

/* ---- secret keys ------------------------------------------------------- */

/*
 * Reads a 32-byte big-endian secret key. Returns TKMS_ERR_BAD_SCALAR when it
 * is zero or not below the group order r (out is then wiped).
 */
tkms_status tkms_secret_key_from_bytes(tkms_secret_key *out,
                                       const uint8_t in[TKMS_SECRET_KEY_SIZE]);

/* Writes the secret key as 32 big-endian bytes. */
void tkms_secret_key_to_bytes(uint8_t out[TKMS_SECRET_KEY_SIZE],
                              const tkms_secret_key *sk);

/* Overwrites the key with zeros. */
void tkms_secret_key_wipe(tkms_secret_key *sk);

/* ---- public keys ------------------------------------------------------- */

/* Computes sk·G1. Constant time in sk. */
void tkms_public_key_from_secret(tkms_public_key *out, const tkms_secret_key *sk);

/*
 * Decodes a 48-byte compressed G1 public key and applies KeyValidate.
 * Returns TKMS_ERR_BAD_ENCODING (flags, length or field element out of
 * range), TKMS_ERR_NOT_ON_CURVE, TKMS_ERR_NOT_IN_GROUP or TKMS_ERR_INFINITY.
 */
tkms_status tkms_public_key_from_bytes(tkms_public_key *out,
                                       const uint8_t in[TKMS_PUBLIC_KEY_SIZE]);

void tkms_public_key_to_bytes(uint8_t out[TKMS_PUBLIC_KEY_SIZE],
                              const tkms_public_key *pk);

bool tkms_public_key_equal(const tkms_public_key *a, const tkms_public_key *b);

/* ---- signatures -------------------------------------------------------- */

/*
 * Decodes a 96-byte compressed G2 signature, checking the encoding, the
 * curve equation and subgroup membership. The identity is accepted here
 * (it is a group element) and rejected by every verify function.
 */
tkms_status tkms_signature_from_bytes(tkms_signature *out,
                                      const uint8_t in[TKMS_SIGNATURE_SIZE]);

/*
 * As tkms_signature_from_bytes but WITHOUT the subgroup check (on-curve is
 * still checked). Only for callers that verify the result of a computation
 * on the point afterwards with a subgroup-checking verify, as the optimistic
 * combine does. Never hand such a value to anything else.
 */
tkms_status tkms_signature_from_bytes_unchecked(tkms_signature *out,
                                                const uint8_t in[TKMS_SIGNATURE_SIZE]);

void tkms_signature_to_bytes(uint8_t out[TKMS_SIGNATURE_SIZE],
                             const tkms_signature *sig);

bool tkms_signature_equal(const tkms_signature *a, const tkms_signature *b);

/* ---- raw point decoding (used by the deserialization vectors) ---------- */

/*
 * Decodes a compressed G1 (48 bytes) or G2 (96 bytes) point with the same
 * checks as above but accepting the identity. For tests and tools; keys and
 * signatures go through the typed functions.
 */
tkms_status tkms_g1_decode(blst_p1_affine *out, const uint8_t in[48]);
tkms_status tkms_g2_decode(blst_p2_affine *out, const uint8_t in[96]);

/* ---- hashing, signing, verifying --------------------------------------- */

/* hash_to_curve(msg) into G2 with the POP DST. */
void tkms_hash_to_g2(blst_p2 *out, const uint8_t *msg, size_t msg_len);

/* hash_to_curve(msg) into G2 with an explicit DST (for RFC 9380 vectors). */
void tkms_hash_to_g2_dst(blst_p2 *out, const uint8_t *msg, size_t msg_len,
                         const uint8_t *dst, size_t dst_len);

/* sig = sk·H(msg). Constant time in sk. */
void tkms_sign(tkms_signature *out, const tkms_secret_key *sk,
               const uint8_t *msg, size_t msg_len);

/* sig = sk·hash for a precomputed hash (partial signing of one message by
 * many shares). */
void tkms_sign_hashed(tkms_signature *out, const tkms_secret_key *sk,
                      const blst_p2 *hash);

/* CoreVerify: true iff e(pk, H(msg)) == e(G1, sig) and sig is not the
 * identity. pk and sig must come from the typed decoders. */
bool tkms_verify(const tkms_public_key *pk, const uint8_t *msg, size_t msg_len,
                 const tkms_signature *sig);

/* As tkms_verify with H(msg) precomputed by tkms_hash_to_g2. */
bool tkms_verify_hashed(const tkms_public_key *pk, const blst_p2_affine *hash,
                        const tkms_signature *sig);

/* Sums n >= 1 signatures. Returns TKMS_ERR_INVALID_ARGUMENT when n == 0. */
tkms_status tkms_aggregate(tkms_signature *out, const tkms_signature *sigs,
                           size_t n);

/* FastAggregateVerify: n signers, one message. False when n == 0. */
bool tkms_fast_aggregate_verify(const tkms_public_key *pks, size_t n,
                                const uint8_t *msg, size_t msg_len,
                                const tkms_signature *sig);

/* AggregateVerify (POP scheme: messages need not be distinct): n pairs of
 * (pks[i], msgs[i] of msg_lens[i] bytes). False when n == 0. */
bool tkms_aggregate_verify(const tkms_public_key *pks,
                           const uint8_t *const *msgs, const size_t *msg_lens,
                           size_t n, const tkms_signature *sig);

#endif /* TKMS_BLS_H */
