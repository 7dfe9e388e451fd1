/*
 * identity.c — Ed25519 identities and X25519 sealed boxes over libsodium
 * (tkms/identity.h). The X25519 keys are the birationally equivalent
 * forms of the Ed25519 ones, so one public key serves both purposes.
 */
#include <sodium.h>
#include <string.h>

#include "tkms/identity.h"
#include "tkms/secmem.h"

_Static_assert(TKMS_IDENTITY_SEAL_OVERHEAD == crypto_box_SEALBYTES, "seal overhead");

tkms_status tkms_identity_from_seed(tkms_identity *out,
                                    const uint8_t seed[TKMS_IDENTITY_SEED_SIZE])
{
    if (sodium_init() < 0)
        return TKMS_ERR_INVALID_ARGUMENT;
    memcpy(out->seed, seed, TKMS_IDENTITY_SEED_SIZE);
    crypto_sign_seed_keypair(out->public_key, out->sign_secret, out->seed);
    if (crypto_sign_ed25519_pk_to_curve25519(out->box_public, out->public_key) != 0 ||
        crypto_sign_ed25519_sk_to_curve25519(out->box_secret, out->sign_secret) != 0) {
        tkms_identity_wipe(out);
        return TKMS_ERR_INVALID_ARGUMENT;
    }
    return TKMS_OK;
}

tkms_status tkms_identity_generate(tkms_identity *out, tkms_rng *rng)
{
    uint8_t seed[TKMS_IDENTITY_SEED_SIZE];
    tkms_status st = tkms_rng_fill(rng, seed, sizeof seed);
    if (st == TKMS_OK)
        st = tkms_identity_from_seed(out, seed);
    tkms_wipe(seed, sizeof seed);
    return st;
}

void tkms_identity_wipe(tkms_identity *id)
{
    tkms_wipe(id, sizeof *id);
}

void tkms_identity_sign(uint8_t sig[TKMS_IDENTITY_SIGNATURE_SIZE],
                        const tkms_identity *id, const uint8_t *msg, size_t len)
{
    crypto_sign_detached(sig, NULL, msg, len, id->sign_secret);
}

bool tkms_identity_verify(const uint8_t public_key[TKMS_IDENTITY_PUBLIC_SIZE],
                          const uint8_t sig[TKMS_IDENTITY_SIGNATURE_SIZE],
                          const uint8_t *msg, size_t len)
{
    return crypto_sign_verify_detached(sig, msg, len, public_key) == 0;
}

tkms_status tkms_identity_box_key(uint8_t out[32],
                                  const uint8_t ed25519[TKMS_IDENTITY_PUBLIC_SIZE])
{
    if (sodium_init() < 0 || crypto_sign_ed25519_pk_to_curve25519(out, ed25519) != 0)
        return TKMS_ERR_INVALID_ARGUMENT;
    return TKMS_OK;
}

void tkms_identity_seal_to(uint8_t *out, const uint8_t *msg, size_t len,
                           const uint8_t box_public[32])
{
    crypto_box_seal(out, msg, len, box_public);
}

tkms_status tkms_identity_seal(uint8_t *out, const uint8_t *msg, size_t len,
                               const uint8_t recipient[TKMS_IDENTITY_PUBLIC_SIZE])
{
    uint8_t box_public[32];
    tkms_status st = tkms_identity_box_key(box_public, recipient);
    if (st == TKMS_OK)
        tkms_identity_seal_to(out, msg, len, box_public);
    return st;
}

tkms_status tkms_identity_open(uint8_t *out, const uint8_t *sealed, size_t len,
                               const tkms_identity *id)
{
    if (len < TKMS_IDENTITY_SEAL_OVERHEAD ||
        crypto_box_seal_open(out, sealed, len, id->box_public, id->box_secret) != 0)
        return TKMS_ERR_VERIFY_FAILED;
    return TKMS_OK;
}
