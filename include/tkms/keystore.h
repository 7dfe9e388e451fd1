/*
 * tkms/keystore.h — EIP-2335 keystores, plain and share keystores.
 *
 * A keystore is JSON (version 4): crypto.kdf (scrypt or pbkdf2 with
 * HMAC-SHA256), crypto.checksum (sha256), crypto.cipher (aes-128-ctr),
 * pubkey, path, uuid, description. tkms reads any valid one and writes
 * scrypt by default.
 *
 * A *share keystore* is an EIP-2335 keystore whose secret is one Shamir
 * share and whose `pubkey` is that share's public key, plus a top-level
 * `tkms` object that other tools ignore:
 *
 *   "tkms": { "version": 1, "group_public_key": "0x…", "index": i,
 *             "threshold": K, "shares": n, "owner": "id" (optional),
 *             "commitments": ["0x…", … K entries] }
 *
 * Reading is split in two: tkms_keystore_parse checks the structure and
 * bounds every KDF parameter (so a hostile file cannot demand unbounded
 * memory or time) without needing the password; tkms_keystore_decrypt then
 * derives the key, checks the checksum in constant time, decrypts, and
 * checks that the secret matches `pubkey` when present.
 *
 * Passwords are UTF-8 strings, processed as EIP-2335 says: NFKD
 * normalization, then removal of the C0 and C1 control codes and DEL.
 */
#ifndef TKMS_KEYSTORE_H
#define TKMS_KEYSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tkms/bls.h"
#include "tkms/owners.h"
#include "tkms/rng.h"
#include "tkms/status.h"

/* Largest keystore file accepted, in bytes (commitments of K up to 1024). */
#define TKMS_KEYSTORE_MAX_SIZE (256u * 1024u)

/* Limits applied when parsing (a keystore beyond them is refused). */
#define TKMS_SCRYPT_MAX_N (1u << 20)          /* 1 GiB of memory at r = 8 */
#define TKMS_SCRYPT_MAX_R 32u
#define TKMS_SCRYPT_MAX_P 16u
#define TKMS_SCRYPT_MAX_MEMORY (1024ull * 1024 * 1024)  /* 128·r·n bytes  */
#define TKMS_PBKDF2_MAX_C 10000000u
#define TKMS_KDF_SALT_MAX_SIZE 1024u
#define TKMS_PASSWORD_MAX_SIZE 4096u          /* bytes, before normalizing */

typedef enum { TKMS_KDF_SCRYPT = 0, TKMS_KDF_PBKDF2 = 1 } tkms_kdf;

/* KDF choice for writing. */
typedef struct {
    tkms_kdf kdf;
    uint32_t scrypt_n;    /* power of two, 2 .. TKMS_SCRYPT_MAX_N; default 262144 */
    uint32_t scrypt_r;    /* default 8 */
    uint32_t scrypt_p;    /* default 1 */
    uint32_t pbkdf2_c;    /* default 262144 */
} tkms_kdf_params;

/* The EIP-2335 defaults: scrypt n = 2^18, r = 8, p = 1 (pbkdf2 c = 2^18). */
void tkms_kdf_params_default(tkms_kdf_params *params);

/* What a share keystore says about its share (the `tkms` object). */
typedef struct {
    uint32_t index;                 /* 1..share_count                      */
    uint32_t threshold;             /* K                                   */
    uint32_t share_count;           /* n                                   */
    tkms_public_key group_key;      /* equals commitments[0]               */
    tkms_public_key *commitments;   /* threshold entries, owned by keystore*/
    char owner[TKMS_OWNER_ID_MAX_SIZE + 1];  /* "" when absent             */
} tkms_share_info;

typedef struct tkms_keystore tkms_keystore;

/*
 * Parses and checks a keystore document of `len` bytes (not necessarily
 * NUL-terminated). Checks: valid JSON object without duplicate keys;
 * version 4; uuid (8-4-4-4-12 hex) and path present; kdf function
 * "scrypt" or "pbkdf2" with params in the limits above (dklen 32, prf
 * hmac-sha256, n a power of two); checksum function "sha256" with a 32-byte
 * message; cipher "aes-128-ctr" with a 16-byte IV and a 32-byte message;
 * pubkey, if present, a valid public key; for a share keystore, every field
 * of the `tkms` object (commitments decode, commitments[0] equals
 * group_public_key, 1 <= index <= n, 1 <= K <= n <= TKMS_MAX_SHARES, K
 * commitments, owner 1..TKMS_OWNER_ID_MAX_SIZE bytes of printable ASCII),
 * and pubkey present and equal to the key the commitments give for index.
 * Returns TKMS_OK, TKMS_ERR_BAD_FORMAT, TKMS_ERR_UNSUPPORTED (e.g. another
 * cipher or KDF, or a parameter above a limit) or TKMS_ERR_NO_MEMORY, with
 * the reason in err.
 */
tkms_status tkms_keystore_parse(tkms_keystore **out, const char *json,
                                size_t len, tkms_err *err);

void tkms_keystore_free(tkms_keystore *ks);

/* The `pubkey` field, or NULL when the keystore has none. */
const tkms_public_key *tkms_keystore_pubkey(const tkms_keystore *ks);

/* The share description, or NULL for a plain (non-share) keystore. */
const tkms_share_info *tkms_keystore_share_info(const tkms_keystore *ks);

/* The KDF the keystore uses. */
tkms_kdf tkms_keystore_kdf(const tkms_keystore *ks);

/* The KDF and its parameters as read from the file (the fields of the
 * other KDF are zero), so a caller can budget or refuse the cost of
 * tkms_keystore_decrypt before paying it. */
void tkms_keystore_kdf_params(const tkms_keystore *ks, tkms_kdf_params *out);

/*
 * Decrypts with `password` (NUL-terminated UTF-8). Returns TKMS_OK with the
 * secret in *out; TKMS_ERR_BAD_PASSWORD when the checksum does not match;
 * TKMS_ERR_BAD_FORMAT when the password is not valid UTF-8, or the
 * decrypted secret is zero, not below r, or does not match `pubkey`;
 * TKMS_ERR_NO_MEMORY. Intermediate secrets are wiped; *out is wiped on
 * failure.
 */
tkms_status tkms_keystore_decrypt(const tkms_keystore *ks, const char *password,
                                  tkms_secret_key *out, tkms_err *err);

/*
 * Encrypts `secret` into a new keystore document (NUL-terminated, caller
 * frees with free()). pubkey is secret·G1; path may be NULL (written as
 * ""); share may be NULL for a plain keystore, otherwise its fields are
 * written as the `tkms` object and share->index must match a share whose
 * public key is secret·G1 (checked against the commitments). Salt (32
 * bytes), IV and uuid (v4) come from rng. EIP-2335 fields are written as
 * bare hex (as in the EIP), the `tkms` object's keys as 0x hex.
 * Returns TKMS_OK; TKMS_ERR_INVALID_ARGUMENT for params outside the limits,
 * a share that does not fit the secret, or a path that is not UTF-8;
 * TKMS_ERR_BAD_FORMAT for a password that is not UTF-8 or too long;
 * TKMS_ERR_RNG; TKMS_ERR_NO_MEMORY.
 */
tkms_status tkms_keystore_encrypt(char **json_out, const tkms_secret_key *secret,
                                  const char *password,
                                  const tkms_kdf_params *params,
                                  const tkms_share_info *share, const char *path,
                                  tkms_rng *rng, tkms_err *err);

/* ---- Secret files ---------------------------------------------------------
 *
 * A *secret file* keeps one 32-byte secret other than a BLS key (an
 * identity seed, tkms/identity_file.h) under a password, exactly as a
 * keystore does: the same EIP-2335 crypto object, the same KDFs, limits
 * and password processing. The document is
 *
 *   { "version": 1, "kind": KIND, "public_key": "0x…",
 *     "crypto": { "kdf": …, "checksum": …, "cipher": … } }
 *
 * KIND (1..TKMS_SECRET_FILE_KIND_MAX_SIZE characters of [a-z0-9-], e.g.
 * "identity") says what the secret is, so one kind of file is never read
 * as another; errors name the document "KIND file". `public_key` is the
 * caller's public counterpart of the secret (any 1..PUBLIC_MAX_SIZE bytes):
 * readable without the password, and the caller's to check against the
 * decrypted secret. The crypto object's hex fields are bare, as in a
 * keystore; public_key is 0x hex.
 */
#define TKMS_SECRET_FILE_SECRET_SIZE 32
#define TKMS_SECRET_FILE_KIND_MAX_SIZE 32u
#define TKMS_SECRET_FILE_PUBLIC_MAX_SIZE 128u
#define TKMS_SECRET_FILE_MAX_SIZE (16u * 1024u)

typedef struct tkms_secret_file tkms_secret_file;

/*
 * Encrypts `secret` into a new secret file document (NUL-terminated, caller
 * frees with free()). Salt (32 bytes) and IV come from rng. Returns TKMS_OK;
 * TKMS_ERR_INVALID_ARGUMENT for a NULL argument, a bad kind, a public key
 * of 0 or more than TKMS_SECRET_FILE_PUBLIC_MAX_SIZE bytes or params
 * outside the limits; TKMS_ERR_BAD_FORMAT for a password that is not UTF-8
 * or too long; TKMS_ERR_RNG; TKMS_ERR_NO_MEMORY.
 */
tkms_status tkms_secret_file_encrypt(char **json_out,
                                     const uint8_t secret[TKMS_SECRET_FILE_SECRET_SIZE],
                                     const char *password, const tkms_kdf_params *params,
                                     const char *kind, const uint8_t *public_key,
                                     size_t public_len, tkms_rng *rng, tkms_err *err);

/*
 * Parses and checks a secret file of `len` bytes (at most
 * TKMS_SECRET_FILE_MAX_SIZE) without the password: version 1, "kind" equal
 * to `kind`, "public_key" of exactly `public_len` bytes, and the crypto
 * object with every check and limit of tkms_keystore_parse. Returns TKMS_OK
 * (*out to free with tkms_secret_file_free), TKMS_ERR_BAD_FORMAT,
 * TKMS_ERR_UNSUPPORTED (another KDF, cipher or kind, or a parameter above a
 * limit), TKMS_ERR_INVALID_ARGUMENT (bad kind or public_len), or
 * TKMS_ERR_NO_MEMORY, with the reason in err.
 */
tkms_status tkms_secret_file_parse(tkms_secret_file **out, const char *json, size_t len,
                                   const char *kind, size_t public_len, tkms_err *err);

void tkms_secret_file_free(tkms_secret_file *file);

/* The public_key field (public_len bytes as given to parse). */
const uint8_t *tkms_secret_file_public_key(const tkms_secret_file *file);

/* The KDF and its parameters, to budget the cost of decrypting. */
void tkms_secret_file_kdf_params(const tkms_secret_file *file, tkms_kdf_params *out);

/*
 * Decrypts with `password`: TKMS_OK with the secret in `secret`;
 * TKMS_ERR_BAD_PASSWORD when the checksum does not match;
 * TKMS_ERR_BAD_FORMAT for a password that is not UTF-8; TKMS_ERR_NO_MEMORY.
 * Intermediate secrets are wiped, and `secret` on failure. Does not check
 * the secret against public_key: that is the caller's (it knows the kind).
 */
tkms_status tkms_secret_file_decrypt(const tkms_secret_file *file, const char *password,
                                     uint8_t secret[TKMS_SECRET_FILE_SECRET_SIZE],
                                     tkms_err *err);

/*
 * EIP-2335 password processing: NFKD-normalizes `password` and removes
 * control codes (U+0000–U+001F, U+007F–U+009F). Writes the result (not
 * NUL-terminated) to a buffer allocated with malloc in *out and its length
 * in *out_len; the caller wipes and frees it. Returns TKMS_ERR_BAD_FORMAT
 * for invalid UTF-8 or a password over TKMS_PASSWORD_MAX_SIZE bytes.
 */
tkms_status tkms_password_normalize(uint8_t **out, size_t *out_len,
                                    const char *password, tkms_err *err);

#endif /* TKMS_KEYSTORE_H */
