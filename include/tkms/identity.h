/*
 * tkms/identity.h — a party's long-term identity: an Ed25519 key pair
 * (libsodium) that signs every ceremony message and, converted to X25519,
 * receives the point-to-point shares sealed to it. Derived from a 32-byte
 * seed, which is the secret to keep (and to wipe).
 */
#ifndef TKMS_IDENTITY_H
#define TKMS_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tkms/rng.h"
#include "tkms/status.h"

#define TKMS_IDENTITY_SEED_SIZE 32
#define TKMS_IDENTITY_PUBLIC_SIZE 32
#define TKMS_IDENTITY_SIGNATURE_SIZE 64
/* Added by tkms_identity_seal to the plaintext length. */
#define TKMS_IDENTITY_SEAL_OVERHEAD 48

typedef struct {
    uint8_t seed[TKMS_IDENTITY_SEED_SIZE];          /* secret            */
    uint8_t sign_secret[64];                        /* secret, Ed25519   */
    uint8_t box_secret[32];                         /* secret, X25519    */
    uint8_t public_key[TKMS_IDENTITY_PUBLIC_SIZE];  /* Ed25519 public    */
    uint8_t box_public[32];                         /* X25519 public     */
} tkms_identity;

/* Derives the key pairs from a seed. Returns TKMS_ERR_INVALID_ARGUMENT if
 * libsodium cannot be initialized or the key cannot be converted. */
tkms_status tkms_identity_from_seed(tkms_identity *out,
                                    const uint8_t seed[TKMS_IDENTITY_SEED_SIZE]);

/* A new identity from rng. */
tkms_status tkms_identity_generate(tkms_identity *out, tkms_rng *rng);

void tkms_identity_wipe(tkms_identity *id);

/* Ed25519 signature of msg. */
void tkms_identity_sign(uint8_t sig[TKMS_IDENTITY_SIGNATURE_SIZE],
                        const tkms_identity *id, const uint8_t *msg, size_t len);

/* True iff sig is public_key's signature of msg. */
bool tkms_identity_verify(const uint8_t public_key[TKMS_IDENTITY_PUBLIC_SIZE],
                          const uint8_t sig[TKMS_IDENTITY_SIGNATURE_SIZE],
                          const uint8_t *msg, size_t len);

/* Seals `len` bytes to the owner of the Ed25519 public key (anonymous
 * sender, X25519 sealed box); `out` must hold len + OVERHEAD bytes.
 * Returns TKMS_ERR_INVALID_ARGUMENT for a key that does not convert. */
tkms_status tkms_identity_seal(uint8_t *out, const uint8_t *msg, size_t len,
                               const uint8_t recipient[TKMS_IDENTITY_PUBLIC_SIZE]);

/* The X25519 public key of an Ed25519 one, for sealing to it many times
 * (tkms_identity_seal_to). TKMS_ERR_INVALID_ARGUMENT if it does not
 * convert (not a valid Ed25519 point). */
tkms_status tkms_identity_box_key(uint8_t out[32],
                                  const uint8_t ed25519[TKMS_IDENTITY_PUBLIC_SIZE]);

/* As tkms_identity_seal, to an X25519 key from tkms_identity_box_key. */
void tkms_identity_seal_to(uint8_t *out, const uint8_t *msg, size_t len,
                           const uint8_t box_public[32]);

/* Opens a sealed box (len >= OVERHEAD) into out (len - OVERHEAD bytes).
 * Returns TKMS_ERR_VERIFY_FAILED when it was not sealed to `id` or was
 * altered. */
tkms_status tkms_identity_open(uint8_t *out, const uint8_t *sealed, size_t len,
                               const tkms_identity *id);

#endif /* TKMS_IDENTITY_H */
