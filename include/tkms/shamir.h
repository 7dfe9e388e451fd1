/*
 * tkms/shamir.h — K-of-n Shamir sharing of a BLS secret key with Feldman
 * commitments, and the public description of a shared key (the "group").
 *
 * A dealer picks f(x) = a_0 + a_1 x + ... + a_{K-1} x^{K-1} over Fr with
 * a_0 = the secret; share i (i = 1..n) is s_i = f(i). The commitments
 * C_j = a_j·G1 are public: C_0 is the group public key and share i's public
 * key is pk_i = Σ_j C_j·i^j (Horner with small scalars), so anyone holding
 * the commitments can check a share or a partial signature.
 *
 * Any K shares determine the secret; K-1 shares are independent of it.
 */
#ifndef TKMS_SHAMIR_H
#define TKMS_SHAMIR_H

#include <stddef.h>
#include <stdint.h>

#include "tkms/bls.h"
#include "tkms/rng.h"
#include "tkms/status.h"

/* Largest supported n (share indices are 1..TKMS_MAX_SHARES). */
#define TKMS_MAX_SHARES 1024u

/* One share of a secret key. Holds a secret: wipe with tkms_share_wipe. */
typedef struct {
    uint32_t index;          /* evaluation point, 1..n */
    tkms_secret_key key;     /* s_index = f(index)     */
} tkms_share;

/* The public side of a shared key. Created by tkms_split or
 * tkms_group_from_commitments, released by tkms_group_free. */
typedef struct {
    uint32_t threshold;            /* K: shares needed to sign          */
    uint32_t share_count;          /* n: shares in existence            */
    tkms_public_key group_key;     /* the key signatures verify against */
    tkms_public_key *commitments;  /* K entries; commitments[0] == group_key */
    tkms_public_key *share_keys;   /* n entries; share_keys[i-1] is share i's */
} tkms_group;

/*
 * Splits `secret` into n shares with threshold K, 1 <= K <= n <=
 * TKMS_MAX_SHARES. Writes n shares (index 1..n, in order) to `shares_out`
 * and the group (commitments and share public keys) to *group_out.
 * Coefficients are drawn from `rng` and wiped before returning.
 * Returns TKMS_ERR_INVALID_ARGUMENT for K or n out of range,
 * TKMS_ERR_NO_MEMORY, or TKMS_ERR_RNG. On failure nothing is allocated and
 * shares_out is wiped.
 */
tkms_status tkms_split(tkms_group **group_out, tkms_share *shares_out,
                       const tkms_secret_key *secret, uint32_t threshold,
                       uint32_t share_count, tkms_rng *rng);

/*
 * Builds a group from K Feldman commitments for n shares, computing every
 * share public key. Returns TKMS_ERR_INVALID_ARGUMENT for K or n out of
 * range, TKMS_ERR_INFINITY if some share key is the identity, or
 * TKMS_ERR_NO_MEMORY.
 */
tkms_status tkms_group_from_commitments(tkms_group **group_out,
                                        const tkms_public_key *commitments,
                                        uint32_t threshold,
                                        uint32_t share_count);

/* Frees a group (NULL is fine). */
void tkms_group_free(tkms_group *group);

/*
 * Share public key for `index` (1..TKMS_MAX_SHARES) from K commitments:
 * pk = Σ_j C_j·index^j. Returns TKMS_ERR_INVALID_ARGUMENT for index 0 or
 * too large, TKMS_ERR_INFINITY if the result is the identity.
 */
tkms_status tkms_share_public_key(tkms_public_key *out,
                                  const tkms_public_key *commitments,
                                  uint32_t threshold, uint32_t index);

/*
 * Checks a share against the group: its index is in range and
 * share->key·G1 equals the group's share key. Returns TKMS_OK,
 * TKMS_ERR_INVALID_ARGUMENT (index) or TKMS_ERR_VERIFY_FAILED.
 */
tkms_status tkms_share_check(const tkms_group *group, const tkms_share *share);

/* f(x) = Σ_j coeffs[j]·x^j over Fr (Horner), for threshold coefficients. */
void tkms_poly_eval(blst_fr *out, const blst_fr *coeffs, uint32_t threshold,
                    uint32_t x);

/* Σ_j commitments[j]·x^j in G1 (Horner with small scalars), projective.
 * commitments need not be checked points: callers verify results. */
void tkms_feldman_eval(blst_p1 *out, const blst_p1_affine *commitments,
                       uint32_t threshold, uint32_t x);

/* Wipes a share. */
void tkms_share_wipe(tkms_share *share);

/* Partial signature of share on msg: σ_i = s_i·H(msg). */
void tkms_partial_sign(tkms_signature *out, const tkms_share *share,
                       const uint8_t *msg, size_t msg_len);

/* True iff `sig` is share `index`'s valid partial signature on msg. False
 * also for an index outside 1..n. */
bool tkms_partial_verify(const tkms_group *group, uint32_t index,
                         const uint8_t *msg, size_t msg_len,
                         const tkms_signature *sig);

#endif /* TKMS_SHAMIR_H */
