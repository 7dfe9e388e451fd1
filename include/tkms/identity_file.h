/*
 * tkms/identity_file.h — a party's identity key (tkms/identity.h) at rest.
 *
 * An identity file is a password-protected secret file (tkms/keystore.h)
 * of kind "identity" whose secret is the 32-byte identity seed:
 *
 *   { "version": 1, "kind": "identity",
 *     "public_key": "0x<Ed25519 public key, 32 bytes>",
 *     "crypto": { EIP-2335 crypto object: kdf (scrypt by default or
 *                 pbkdf2), checksum, cipher } }
 *
 * The public key is readable without the password (it is what a ceremony
 * spec lists for the party). Reading is split as for keystores:
 * tkms_identity_file_parse checks the structure, bounds the KDF and checks
 * that public_key is a valid Ed25519 key, without the password;
 * tkms_identity_file_decrypt then decrypts the seed, re-derives the key
 * pair and refuses a file whose seed does not give public_key.
 */
#ifndef TKMS_IDENTITY_FILE_H
#define TKMS_IDENTITY_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "tkms/identity.h"
#include "tkms/keystore.h"
#include "tkms/rng.h"
#include "tkms/status.h"

/* The secret file kind, and the largest identity file accepted. */
#define TKMS_IDENTITY_FILE_KIND "identity"
#define TKMS_IDENTITY_FILE_MAX_SIZE TKMS_SECRET_FILE_MAX_SIZE

/* A parsed identity file: a secret file of kind "identity", so
 * tkms_secret_file_kdf_params applies to it too. */
typedef struct tkms_secret_file tkms_identity_file;

/*
 * Encrypts identity->seed with `password` into a new identity file
 * document (NUL-terminated, caller frees with free()); salt and IV from
 * rng. Returns what tkms_secret_file_encrypt returns.
 */
tkms_status tkms_identity_file_encrypt(char **json_out, const tkms_identity *identity,
                                       const char *password, const tkms_kdf_params *params,
                                       tkms_rng *rng, tkms_err *err);

/*
 * Parses and checks an identity file of `len` bytes without the password
 * (as tkms_secret_file_parse, plus: public_key is a canonical Ed25519 point
 * of the prime-order subgroup). TKMS_OK with *out to free with
 * tkms_identity_file_free; otherwise TKMS_ERR_BAD_FORMAT,
 * TKMS_ERR_UNSUPPORTED or TKMS_ERR_NO_MEMORY with the reason in err, and
 * *out NULL.
 */
tkms_status tkms_identity_file_parse(tkms_identity_file **out, const char *json,
                                     size_t len, tkms_err *err);

/* Reads the file at `path` (at most TKMS_IDENTITY_FILE_MAX_SIZE bytes) and
 * parses it as above; TKMS_ERR_IO when it cannot be read. Every error
 * message starts with the path. */
tkms_status tkms_identity_file_read(tkms_identity_file **out, const char *path,
                                    tkms_err *err);

void tkms_identity_file_free(tkms_identity_file *file);

/* The Ed25519 public key the file names (TKMS_IDENTITY_PUBLIC_SIZE bytes). */
const uint8_t *tkms_identity_file_public_key(const tkms_identity_file *file);

/*
 * Decrypts the seed with `password` and derives the identity into *out.
 * Returns TKMS_OK; TKMS_ERR_BAD_PASSWORD when the checksum does not match;
 * TKMS_ERR_BAD_FORMAT when the password is not UTF-8 or the seed does not
 * give public_key; TKMS_ERR_NO_MEMORY. The seed is wiped, and *out on
 * failure.
 */
tkms_status tkms_identity_file_decrypt(tkms_identity *out, const tkms_identity_file *file,
                                       const char *password, tkms_err *err);

#endif /* TKMS_IDENTITY_FILE_H */
