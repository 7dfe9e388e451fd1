/*
 * keystore.c — EIP-2335 keystores (tkms/keystore.h): reading and checking
 * the JSON document, deriving the key (scrypt or PBKDF2-HMAC-SHA256), the
 * SHA-256 checksum, AES-128-CTR, and the `tkms` object of share keystores.
 *
 * Hex conventions written: the EIP-2335 fields (salt, checksum, IV, cipher
 * message, pubkey) are bare lower-case hex, as in the EIP's examples and as
 * other tools' schemas require; the `tkms` object uses 0x-prefixed hex
 * (DESIGN §6). Both forms are accepted on read.
 *
 * Every limit is enforced by tkms_keystore_parse, before any password is
 * asked for, so a hostile file cannot make decryption take unbounded memory
 * or time. Error messages name the offending field and never contain
 * secret material.
 *
 * The crypto object (KDF, checksum, cipher) is handled by one set of
 * functions over `crypto_fields`, shared by keystores and by the other
 * password-protected secrets of tkms/keystore.h's "secret files" (identity
 * files); each reports errors under its document's name (`what`).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <unistr.h>

#include "json_fields.h"
#include "tkms/hex.h"
#include "tkms/keystore.h"
#include "tkms/secmem.h"
#include "tkms/shamir.h"

#define WHAT "keystore"
#define KEYSTORE_VERSION 4
#define SHARE_OBJECT_VERSION 1
#define DK_SIZE 32                /* derived key: AES key || checksum key   */
#define AES_KEY_SIZE 16
#define IV_SIZE 16
#define CHECKSUM_SIZE 32
#define WRITE_SALT_SIZE 32
#define UUID_SIZE 16
#define UUID_TEXT_LEN 36          /* 8-4-4-4-12 */

/* An EIP-2335 crypto object: what is needed to decrypt one 32-byte secret. */
typedef struct {
    tkms_kdf_params kdf;          /* the KDF and its parameters            */
    uint8_t salt[TKMS_KDF_SALT_MAX_SIZE];
    size_t salt_len;
    uint8_t checksum[CHECKSUM_SIZE];
    uint8_t iv[IV_SIZE];
    uint8_t ciphertext[TKMS_SECRET_KEY_SIZE];
} crypto_fields;

_Static_assert(TKMS_SECRET_FILE_SECRET_SIZE == TKMS_SECRET_KEY_SIZE,
               "secret files and keystores encrypt secrets of one size");

struct tkms_keystore {
    crypto_fields crypto;
    bool has_pubkey;
    tkms_public_key pubkey;
    bool is_share;
    tkms_share_info share;        /* valid when is_share                   */
};

/* Function names, indexed by tkms_kdf for the KDFs. */
static const char *const kdf_names[] = {[TKMS_KDF_SCRYPT] = "scrypt",
                                        [TKMS_KDF_PBKDF2] = "pbkdf2"};
static const char *const checksum_names[] = {"sha256"};
static const char *const cipher_names[] = {"aes-128-ctr"};
static const char *const prf_names[] = {"hmac-sha256"};
#define COUNT(array) (sizeof(array) / sizeof *(array))

void tkms_kdf_params_default(tkms_kdf_params *params)
{
    params->kdf = TKMS_KDF_SCRYPT;
    params->scrypt_n = 1u << 18;
    params->scrypt_r = 8;
    params->scrypt_p = 1;
    params->pbkdf2_c = 1u << 18;
}

/* ======================================================================
 * Checks shared by reading and writing. They report in terms of the
 * document's fields; tkms_keystore_encrypt turns their status into
 * TKMS_ERR_INVALID_ARGUMENT.
 * ====================================================================== */

/* min <= value <= max; below min is malformed, above max is a limit. */
static tkms_status check_bound(uint64_t value, uint64_t min, uint64_t max,
                               const char *name, const char *what, tkms_err *err)
{
    if (value < min)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: %s must be at least %llu",
                         what, name, (unsigned long long)min);
    if (value > max)
        return tkms_fail(err, TKMS_ERR_UNSUPPORTED,
                         "%s: %s is above the limit of %llu", what, name,
                         (unsigned long long)max);
    return TKMS_OK;
}

/* Bytes scrypt's large array takes: 128·r·n (the bound the header states). */
static uint64_t scrypt_array_size(uint64_t n, uint64_t r)
{
    return 128u * r * n;
}

static tkms_status check_scrypt(uint64_t n, uint64_t r, uint64_t p, const char *what,
                                tkms_err *err)
{
    if (n < 2 || (n & (n - 1)) != 0)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "%s: crypto.kdf.params.n must be a power of two (at least 2)", what);
    tkms_status st;
    if ((st = check_bound(n, 2, TKMS_SCRYPT_MAX_N, "crypto.kdf.params.n", what, err)) ||
        (st = check_bound(r, 1, TKMS_SCRYPT_MAX_R, "crypto.kdf.params.r", what, err)) ||
        (st = check_bound(p, 1, TKMS_SCRYPT_MAX_P, "crypto.kdf.params.p", what, err)))
        return st;
    /* RFC 7914: n < 2^(16·r); only r = 1 can break it within the limits. */
    if (r < 4 && n >= (1ull << (16 * r)))
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "%s: crypto.kdf.params.n must be below 2^(16*r)", what);
    if (scrypt_array_size(n, r) > TKMS_SCRYPT_MAX_MEMORY)
        return tkms_fail(err, TKMS_ERR_UNSUPPORTED,
                         "%s: crypto.kdf.params: scrypt would need %llu MiB "
                         "(128*r*n), above the limit of %llu MiB", what,
                         (unsigned long long)(scrypt_array_size(n, r) >> 20),
                         (unsigned long long)(TKMS_SCRYPT_MAX_MEMORY >> 20));
    return TKMS_OK;
}

static tkms_status check_pbkdf2(uint64_t c, const char *what, tkms_err *err)
{
    return check_bound(c, 1, TKMS_PBKDF2_MAX_C, "crypto.kdf.params.c", what, err);
}

static tkms_status check_kdf_params(const tkms_kdf_params *p, const char *what, tkms_err *err)
{
    switch (p->kdf) {
    case TKMS_KDF_SCRYPT: return check_scrypt(p->scrypt_n, p->scrypt_r, p->scrypt_p, what, err);
    case TKMS_KDF_PBKDF2: return check_pbkdf2(p->pbkdf2_c, what, err);
    }
    return tkms_fail(err, TKMS_ERR_UNSUPPORTED, "%s: unknown KDF %d", what, (int)p->kdf);
}

static tkms_status check_share_counts(uint64_t index, uint64_t threshold,
                                      uint64_t shares, tkms_err *err)
{
    tkms_status st = check_bound(shares, 1, TKMS_MAX_SHARES, "tkms.shares", WHAT, err);
    if (st != TKMS_OK)
        return st;
    if (threshold < 1 || threshold > shares)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "keystore: tkms.threshold must be between 1 and tkms.shares (%llu)",
                         (unsigned long long)shares);
    if (index < 1 || index > shares)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "keystore: tkms.index must be between 1 and tkms.shares (%llu)",
                         (unsigned long long)shares);
    return TKMS_OK;
}

/* An owner id is 1..TKMS_OWNER_ID_MAX_SIZE bytes of printable ASCII. */
static tkms_status check_owner(const char *owner, size_t len, tkms_err *err)
{
    if (len != strlen(owner) || !tkms_owner_id_valid(owner))
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "keystore: tkms.owner must be 1 to %u characters of "
                         "[A-Za-z0-9._-], not starting with '.' or '-'",
                         TKMS_OWNER_ID_MAX_SIZE);
    return TKMS_OK;
}

/* commitments[0] is the group key and the commitments give `share_key` as
 * the public key of share `index`. */
static tkms_status check_share_keys(const tkms_share_info *share,
                                    const tkms_public_key *share_key, tkms_err *err)
{
    if (!tkms_public_key_equal(&share->commitments[0], &share->group_key))
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "keystore: tkms.commitments[0] must equal tkms.group_public_key");
    tkms_public_key expected;
    tkms_status st = tkms_share_public_key(&expected, share->commitments,
                                           share->threshold, share->index);
    if (st != TKMS_OK)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "keystore: tkms.commitments give no valid key for share %u (%s)",
                         share->index, tkms_status_string(st));
    if (!tkms_public_key_equal(&expected, share_key))
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "keystore: pubkey is not the key tkms.commitments give for share %u",
                         share->index);
    return TKMS_OK;
}

/* ======================================================================
 * Cryptography: KDF, checksum, cipher (OpenSSL 3).
 * ====================================================================== */

/* Derives DK_SIZE bytes from the normalized password. */
static tkms_status derive_key(uint8_t dk[DK_SIZE], const tkms_kdf_params *p,
                              const uint8_t *salt, size_t salt_len,
                              const char *password, const char *what, tkms_err *err)
{
    uint8_t *pw;
    size_t pw_len;
    tkms_status st = tkms_password_normalize(&pw, &pw_len, password, err);
    if (st != TKMS_OK)
        return st;
    int ok;
    if (p->kdf == TKMS_KDF_SCRYPT) {
        /* OpenSSL counts 128·r·(n + 2) for the array plus 128·r·p. */
        uint64_t maxmem = 128u * (uint64_t)p->scrypt_r *
                          ((uint64_t)p->scrypt_n + 2 + p->scrypt_p);
        ok = EVP_PBE_scrypt((const char *)pw, pw_len, salt, salt_len, p->scrypt_n,
                            p->scrypt_r, p->scrypt_p, maxmem, dk, DK_SIZE);
    } else {
        ok = PKCS5_PBKDF2_HMAC((const char *)pw, (int)pw_len, salt, (int)salt_len,
                               (int)p->pbkdf2_c, EVP_sha256(), DK_SIZE, dk);
    }
    tkms_wipe(pw, pw_len);
    free(pw);
    if (ok != 1) {
        tkms_wipe(dk, DK_SIZE);
        return tkms_fail(err, TKMS_ERR_NO_MEMORY,
                         "%s: key derivation failed (out of memory?)", what);
    }
    return TKMS_OK;
}

/* checksum = SHA-256(dk[16:32] || ciphertext) */
static tkms_status compute_checksum(uint8_t out[CHECKSUM_SIZE], const uint8_t dk[DK_SIZE],
                                    const uint8_t ciphertext[TKMS_SECRET_KEY_SIZE],
                                    const char *what, tkms_err *err)
{
    uint8_t input[DK_SIZE - AES_KEY_SIZE + TKMS_SECRET_KEY_SIZE];
    memcpy(input, dk + AES_KEY_SIZE, DK_SIZE - AES_KEY_SIZE);
    memcpy(input + DK_SIZE - AES_KEY_SIZE, ciphertext, TKMS_SECRET_KEY_SIZE);
    int ok = EVP_Digest(input, sizeof input, out, NULL, EVP_sha256(), NULL);
    tkms_wipe(input, sizeof input);
    if (ok != 1)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "%s: SHA-256 failed", what);
    return TKMS_OK;
}

/* AES-128-CTR with key dk[0:16]; the same operation encrypts and decrypts. */
static tkms_status aes_128_ctr(uint8_t out[TKMS_SECRET_KEY_SIZE],
                               const uint8_t in[TKMS_SECRET_KEY_SIZE],
                               const uint8_t dk[DK_SIZE], const uint8_t iv[IV_SIZE],
                               const char *what, tkms_err *err)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0;
    bool ok = ctx != NULL &&
              EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), NULL, dk, iv) == 1 &&
              EVP_EncryptUpdate(ctx, out, &len, in, TKMS_SECRET_KEY_SIZE) == 1 &&
              len == TKMS_SECRET_KEY_SIZE;
    EVP_CIPHER_CTX_free(ctx);   /* cleanses the key schedule */
    if (!ok) {
        tkms_wipe(out, TKMS_SECRET_KEY_SIZE);
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "%s: AES-128-CTR failed", what);
    }
    return TKMS_OK;
}

/* 8-4-4-4-12 hex digits (RFC 4122 §3 syntax; any version). */
static bool is_uuid(const char *s)
{
    if (strlen(s) != UUID_TEXT_LEN)
        return false;
    for (size_t i = 0; i < UUID_TEXT_LEN; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        char c = s[i];
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                   (c >= 'A' && c <= 'F');
        if (dash ? c != '-' : !hex)
            return false;
    }
    return true;
}

/* ======================================================================
 * Parsing the document.
 * ====================================================================== */

static tkms_status parse_kdf(crypto_fields *cf, const json_t *crypto, const char *what,
                             tkms_err *err)
{
    json_t *kdf, *params;
    const char *message;
    size_t function, prf;
    uint64_t dklen, n, r, p, c;
    tkms_status st;
    if ((st = json_get_object(&kdf, crypto, "crypto.kdf", what, err)) ||
        (st = json_get_choice(&function, kdf, "crypto.kdf.function", kdf_names,
                         COUNT(kdf_names), what, err)) ||
        (st = json_get_object(&params, kdf, "crypto.kdf.params", what, err)) ||
        /* present as the EIP requires; its value (empty) is not used */
        (st = json_get_string(&message, kdf, "crypto.kdf.message", true, what, err)) ||
        (st = json_get_uint(&dklen, params, "crypto.kdf.params.dklen", what, err)))
        return st;
    if (dklen != DK_SIZE)
        return tkms_fail(err, TKMS_ERR_UNSUPPORTED,
                         "%s: crypto.kdf.params.dklen must be %d", what, DK_SIZE);

    if (function == TKMS_KDF_SCRYPT) {
        if ((st = json_get_uint(&n, params, "crypto.kdf.params.n", what, err)) ||
            (st = json_get_uint(&r, params, "crypto.kdf.params.r", what, err)) ||
            (st = json_get_uint(&p, params, "crypto.kdf.params.p", what, err)) ||
            (st = check_scrypt(n, r, p, what, err)))
            return st;
        cf->kdf.kdf = TKMS_KDF_SCRYPT;
        cf->kdf.scrypt_n = (uint32_t)n;
        cf->kdf.scrypt_r = (uint32_t)r;
        cf->kdf.scrypt_p = (uint32_t)p;
    } else {
        if ((st = json_get_uint(&c, params, "crypto.kdf.params.c", what, err)) ||
            (st = check_pbkdf2(c, what, err)) ||
            (st = json_get_choice(&prf, params, "crypto.kdf.params.prf", prf_names,
                             COUNT(prf_names), what, err)))
            return st;
        cf->kdf.kdf = TKMS_KDF_PBKDF2;
        cf->kdf.pbkdf2_c = (uint32_t)c;
    }

    const char *salt;
    if ((st = json_get_string(&salt, params, "crypto.kdf.params.salt", true, what, err)))
        return st;
    size_t digits = strlen(salt);
    if (salt[0] == '0' && (salt[1] == 'x' || salt[1] == 'X'))
        digits -= 2;
    if (digits / 2 > TKMS_KDF_SALT_MAX_SIZE)
        return tkms_fail(err, TKMS_ERR_UNSUPPORTED,
                         "%s: crypto.kdf.params.salt is longer than %u bytes", what,
                         TKMS_KDF_SALT_MAX_SIZE);
    tkms_err inner;
    if (tkms_hex_decode_var(cf->salt, sizeof cf->salt, &cf->salt_len, salt, &inner))
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: crypto.kdf.params.salt: %s",
                         what, inner.message);
    return TKMS_OK;
}

static tkms_status parse_checksum(crypto_fields *cf, const json_t *crypto, const char *what,
                                  tkms_err *err)
{
    json_t *checksum, *params;
    size_t function;
    tkms_status st;
    if ((st = json_get_object(&checksum, crypto, "crypto.checksum", what, err)) ||
        (st = json_get_choice(&function, checksum, "crypto.checksum.function", checksum_names,
                         COUNT(checksum_names), what, err)) ||
        (st = json_get_object(&params, checksum, "crypto.checksum.params", what, err)) ||
        (st = json_get_hex(cf->checksum, CHECKSUM_SIZE, checksum, "crypto.checksum.message",
                           what, err)))
        return st;
    return TKMS_OK;
}

static tkms_status parse_cipher(crypto_fields *cf, const json_t *crypto, const char *what,
                                tkms_err *err)
{
    json_t *cipher, *params;
    size_t function;
    tkms_status st;
    if ((st = json_get_object(&cipher, crypto, "crypto.cipher", what, err)) ||
        (st = json_get_choice(&function, cipher, "crypto.cipher.function", cipher_names,
                         COUNT(cipher_names), what, err)) ||
        (st = json_get_object(&params, cipher, "crypto.cipher.params", what, err)) ||
        (st = json_get_hex(cf->iv, IV_SIZE, params, "crypto.cipher.params.iv", what, err)) ||
        (st = json_get_hex(cf->ciphertext, TKMS_SECRET_KEY_SIZE, cipher,
                      "crypto.cipher.message", what, err)))
        return st;
    return TKMS_OK;
}

/* The `crypto` object of `root`: KDF (within the limits), checksum, cipher. */
static tkms_status parse_crypto(crypto_fields *cf, const json_t *root, const char *what,
                                tkms_err *err)
{
    json_t *crypto;
    tkms_status st;
    if ((st = json_get_object(&crypto, root, "crypto", what, err)) ||
        (st = parse_kdf(cf, crypto, what, err)) ||
        (st = parse_checksum(cf, crypto, what, err)) ||
        (st = parse_cipher(cf, crypto, what, err)))
        return st;
    return TKMS_OK;
}

static tkms_status parse_commitments(tkms_share_info *share, const json_t *obj,
                                     tkms_err *err)
{
    json_t *list;
    tkms_status st = json_field(&list, obj, "tkms.commitments", JSON_ARRAY, true, WHAT, err);
    if (st != TKMS_OK)
        return st;
    if (json_array_size(list) != share->threshold)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "keystore: tkms.commitments must have tkms.threshold (%u) entries, "
                         "not %zu", share->threshold, json_array_size(list));
    share->commitments = calloc(share->threshold, sizeof *share->commitments);
    if (share->commitments == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "keystore: out of memory");
    return json_get_public_keys(share->commitments, share->threshold, obj,
                                "tkms.commitments", WHAT, err);
}

static tkms_status parse_share(tkms_keystore *ks, const json_t *obj, tkms_err *err)
{
    tkms_share_info *share = &ks->share;
    uint64_t version, index, threshold, shares;
    const char *owner;
    tkms_status st;
    if ((st = json_get_uint(&version, obj, "tkms.version", WHAT, err)))
        return st;
    if (version != SHARE_OBJECT_VERSION)
        return tkms_fail(err, TKMS_ERR_UNSUPPORTED, "keystore: tkms.version must be %d",
                         SHARE_OBJECT_VERSION);
    if ((st = json_get_uint(&index, obj, "tkms.index", WHAT, err)) ||
        (st = json_get_uint(&threshold, obj, "tkms.threshold", WHAT, err)) ||
        (st = json_get_uint(&shares, obj, "tkms.shares", WHAT, err)) ||
        (st = check_share_counts(index, threshold, shares, err)))
        return st;
    share->index = (uint32_t)index;
    share->threshold = (uint32_t)threshold;
    share->share_count = (uint32_t)shares;
    if ((st = json_get_public_key(&share->group_key, NULL, obj, "tkms.group_public_key", true,
                             WHAT, err)) ||
        (st = json_get_string(&owner, obj, "tkms.owner", false, WHAT, err)))
        return st;
    if (owner != NULL) {
        size_t owner_len = strlen(owner);
        if ((st = check_owner(owner, owner_len, err)))
            return st;
        memcpy(share->owner, owner, owner_len + 1);
    }
    if ((st = parse_commitments(share, obj, err)))
        return st;
    if (!ks->has_pubkey)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "keystore: pubkey is required in a share keystore");
    ks->is_share = true;
    return check_share_keys(share, &ks->pubkey, err);
}

static tkms_status parse_document(tkms_keystore *ks, const json_t *root, tkms_err *err)
{
    uint64_t version;
    const char *uuid, *path, *description;
    json_t *share;
    tkms_status st;
    if ((st = json_get_uint(&version, root, "version", WHAT, err)))
        return st;
    if (version != KEYSTORE_VERSION)
        return tkms_fail(err, TKMS_ERR_UNSUPPORTED,
                         "keystore: version must be %d (EIP-2335)", KEYSTORE_VERSION);
    if ((st = json_get_string(&uuid, root, "uuid", true, WHAT, err)))
        return st;
    if (!is_uuid(uuid))
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "keystore: uuid must be a UUID (8-4-4-4-12 hex digits)");
    if ((st = json_get_string(&path, root, "path", true, WHAT, err)) ||
        (st = json_get_string(&description, root, "description", false, WHAT, err)) ||
        (st = json_get_public_key(&ks->pubkey, &ks->has_pubkey, root, "pubkey", false, WHAT, err)) ||
        (st = parse_crypto(&ks->crypto, root, WHAT, err)) ||
        (st = json_field(&share, root, "tkms", JSON_OBJECT, false, WHAT, err)))
        return st;
    return share != NULL ? parse_share(ks, share, err) : TKMS_OK;
}

tkms_status tkms_keystore_parse(tkms_keystore **out, const char *json, size_t len,
                                tkms_err *err)
{
    *out = NULL;
    if (len > TKMS_KEYSTORE_MAX_SIZE)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "keystore: document is larger than %u bytes",
                         TKMS_KEYSTORE_MAX_SIZE);
    json_t *root;
    tkms_status st = json_parse_object(&root, json, len, WHAT, err);
    if (st != TKMS_OK)
        return st;
    tkms_keystore *ks = NULL;
    if ((ks = calloc(1, sizeof *ks)) == NULL)
        st = tkms_fail(err, TKMS_ERR_NO_MEMORY, "keystore: out of memory");
    else
        st = parse_document(ks, root, err);
    json_decref(root);
    if (st != TKMS_OK) {
        tkms_keystore_free(ks);
        return st;
    }
    *out = ks;
    return TKMS_OK;
}

void tkms_keystore_free(tkms_keystore *ks)
{
    if (ks == NULL)
        return;
    free(ks->share.commitments);
    free(ks);
}

const tkms_public_key *tkms_keystore_pubkey(const tkms_keystore *ks)
{
    return ks->has_pubkey ? &ks->pubkey : NULL;
}

const tkms_share_info *tkms_keystore_share_info(const tkms_keystore *ks)
{
    return ks->is_share ? &ks->share : NULL;
}

tkms_kdf tkms_keystore_kdf(const tkms_keystore *ks)
{
    return ks->crypto.kdf.kdf;
}

void tkms_keystore_kdf_params(const tkms_keystore *ks, tkms_kdf_params *out)
{
    *out = ks->crypto.kdf;
}

/* ======================================================================
 * Decrypting.
 * ====================================================================== */

/* Derives the key from `password`, checks the checksum in constant time and
 * decrypts the secret into `plain` (wiped on failure). */
static tkms_status open_crypto(uint8_t plain[TKMS_SECRET_KEY_SIZE], const crypto_fields *cf,
                               const char *password, const char *what, tkms_err *err)
{
    uint8_t dk[DK_SIZE], checksum[CHECKSUM_SIZE];
    tkms_status st = derive_key(dk, &cf->kdf, cf->salt, cf->salt_len, password, what, err);
    if (st == TKMS_OK)
        st = compute_checksum(checksum, dk, cf->ciphertext, what, err);
    if (st == TKMS_OK && !tkms_ct_equal(checksum, cf->checksum, CHECKSUM_SIZE))
        st = tkms_fail(err, TKMS_ERR_BAD_PASSWORD,
                       "%s: wrong password (crypto.checksum.message does not match)", what);
    if (st == TKMS_OK)
        st = aes_128_ctr(plain, cf->ciphertext, dk, cf->iv, what, err);
    tkms_wipe(dk, sizeof dk);
    if (st != TKMS_OK)
        tkms_wipe(plain, TKMS_SECRET_KEY_SIZE);
    return st;
}

tkms_status tkms_keystore_decrypt(const tkms_keystore *ks, const char *password,
                                  tkms_secret_key *out, tkms_err *err)
{
    if (ks == NULL || password == NULL || out == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "keystore: keystore, password and out are required");
    uint8_t plain[TKMS_SECRET_KEY_SIZE];
    tkms_status st = open_crypto(plain, &ks->crypto, password, WHAT, err);
    if (st == TKMS_OK && tkms_secret_key_from_bytes(out, plain) != TKMS_OK)
        st = tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                       "keystore: the decrypted secret is not a valid BLS secret key "
                       "(zero or not below r)");
    tkms_wipe(plain, sizeof plain);
    if (st == TKMS_OK && ks->has_pubkey) {
        tkms_public_key derived;
        tkms_public_key_from_secret(&derived, out);
        if (!tkms_public_key_equal(&derived, &ks->pubkey))
            st = tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                           "keystore: the decrypted secret does not match pubkey");
    }
    if (st != TKMS_OK)
        tkms_secret_key_wipe(out);
    return st;
}

/* ======================================================================
 * Encrypting.
 * ====================================================================== */

/* A check of the caller's arguments failed: keep its message, report it as
 * the caller's mistake. */
static tkms_status invalid_argument(tkms_status st, tkms_err *err)
{
    if (st == TKMS_OK)
        return TKMS_OK;
    if (err != NULL)
        err->status = TKMS_ERR_INVALID_ARGUMENT;
    return TKMS_ERR_INVALID_ARGUMENT;
}

/* Random version-4 UUID, lower-case 8-4-4-4-12. */
static tkms_status make_uuid(char text[UUID_TEXT_LEN + 1], tkms_rng *rng, tkms_err *err)
{
    uint8_t b[UUID_SIZE];
    if (tkms_rng_fill(rng, b, sizeof b) != TKMS_OK)
        return tkms_fail(err, TKMS_ERR_RNG, "keystore: randomness source failed");
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);   /* version 4     */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);   /* RFC 4122 variant */
    char *p = text;
    for (size_t i = 0; i < UUID_SIZE; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        p += snprintf(p, 3, "%02x", b[i]);
    }
    *p = '\0';
    return TKMS_OK;
}

/* The checks on the caller's share description before it is written. */
static tkms_status check_share_argument(const tkms_share_info *share,
                                        const tkms_public_key *pubkey, tkms_err *err)
{
    if (share->commitments == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "keystore: share->commitments is NULL");
    size_t owner_len = strnlen(share->owner, sizeof share->owner);
    tkms_status st = check_share_counts(share->index, share->threshold,
                                        share->share_count, err);
    if (st == TKMS_OK && owner_len > 0)
        st = check_owner(share->owner, owner_len, err);
    if (st == TKMS_OK)
        st = check_share_keys(share, pubkey, err);
    return invalid_argument(st, err);
}

static json_t *kdf_params_json(const tkms_kdf_params *p, const char *salt_hex)
{
    if (p->kdf == TKMS_KDF_SCRYPT)
        return json_pack("{s:i, s:I, s:I, s:I, s:s}", "dklen", DK_SIZE,
                         "n", (json_int_t)p->scrypt_n, "p", (json_int_t)p->scrypt_p,
                         "r", (json_int_t)p->scrypt_r, "salt", salt_hex);
    return json_pack("{s:i, s:I, s:s, s:s}", "dklen", DK_SIZE, "c",
                     (json_int_t)p->pbkdf2_c, "prf", prf_names[0], "salt", salt_hex);
}

static json_t *share_json(const tkms_share_info *share)
{
    json_t *commitments = json_public_keys(share->commitments, share->threshold);
    json_t *obj = json_pack("{s:i, s:o, s:I, s:I, s:I}", "version", SHARE_OBJECT_VERSION,
                            "group_public_key", json_public_key(&share->group_key),
                            "index", (json_int_t)share->index,
                            "threshold", (json_int_t)share->threshold,
                            "shares", (json_int_t)share->share_count);
    if (obj != NULL && share->owner[0] != '\0' &&
        json_object_set_new(obj, "owner", json_string(share->owner)) != 0) {
        json_decref(obj);
        obj = NULL;
    }
    if (obj == NULL || commitments == NULL) {
        json_decref(obj);
        json_decref(commitments);
        return NULL;
    }
    if (json_object_set_new(obj, "commitments", commitments) != 0) {  /* frees it */
        json_decref(obj);
        return NULL;
    }
    return obj;
}

/* Bare hex (no 0x), the EIP-2335 convention. */
#define BARE(hex_text) ((hex_text) + 2)

/* The crypto object of `cf` (written with a WRITE_SALT_SIZE salt), or NULL
 * on OOM. */
static json_t *crypto_json(const crypto_fields *cf, const tkms_kdf_params *params)
{
    char salt[TKMS_HEX_SIZE(TKMS_KDF_SALT_MAX_SIZE)], iv[TKMS_HEX_SIZE(IV_SIZE)],
        checksum[TKMS_HEX_SIZE(CHECKSUM_SIZE)],
        ciphertext[TKMS_HEX_SIZE(TKMS_SECRET_KEY_SIZE)];
    tkms_hex_encode(salt, cf->salt, cf->salt_len);
    tkms_hex_encode(iv, cf->iv, sizeof cf->iv);
    tkms_hex_encode(checksum, cf->checksum, sizeof cf->checksum);
    tkms_hex_encode(ciphertext, cf->ciphertext, sizeof cf->ciphertext);
    json_t *kdf_params = kdf_params_json(params, BARE(salt));
    return kdf_params == NULL ? NULL : json_pack(
        "{s:{s:s, s:o, s:s}, s:{s:s, s:{}, s:s}, s:{s:s, s:{s:s}, s:s}}",
        "kdf", "function", kdf_names[params->kdf],
        "params", kdf_params, "message", "",
        "checksum", "function", checksum_names[0], "params", "message", BARE(checksum),
        "cipher", "function", cipher_names[0], "params", "iv", BARE(iv),
        "message", BARE(ciphertext));
}

static tkms_status document_json(char **json_out, const crypto_fields *cf,
                                 const tkms_kdf_params *params,
                                 const uint8_t pubkey_bytes[TKMS_PUBLIC_KEY_SIZE],
                                 const char *uuid, const tkms_share_info *share,
                                 const char *path, tkms_err *err)
{
    char pubkey[TKMS_HEX_SIZE(TKMS_PUBLIC_KEY_SIZE)], description[96] = "";
    tkms_hex_encode(pubkey, pubkey_bytes, TKMS_PUBLIC_KEY_SIZE);
    if (share != NULL)
        snprintf(description, sizeof description, "tkms share %u of %u (threshold %u)",
                 share->index, share->share_count, share->threshold);

    json_t *crypto = crypto_json(cf, params);
    json_t *doc = crypto == NULL ? NULL : json_pack(
        "{s:o, s:s, s:s, s:s, s:s, s:i}", "crypto", crypto,
        "description", description, "pubkey", BARE(pubkey), "path", path,
        "uuid", uuid, "version", KEYSTORE_VERSION);
    if (doc == NULL)  /* every string was checked: only memory can run out */
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "keystore: out of memory");
    if (share != NULL) {
        json_t *obj = share_json(share);
        if (obj == NULL || json_object_set_new(doc, "tkms", obj) != 0) {
            json_decref(doc);
            return tkms_fail(err, TKMS_ERR_NO_MEMORY, "keystore: out of memory");
        }
    }
    *json_out = json_dumps(doc, JSON_INDENT(4));
    json_decref(doc);
    if (*json_out == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "keystore: out of memory");
    return TKMS_OK;
}

/* Draws a salt and an IV, derives the key, encrypts the secret and
 * computes the checksum. */
static tkms_status seal(crypto_fields *cf, const uint8_t plain[TKMS_SECRET_KEY_SIZE],
                        const char *password, const tkms_kdf_params *params,
                        tkms_rng *rng, const char *what, tkms_err *err)
{
    cf->kdf = *params;
    cf->salt_len = WRITE_SALT_SIZE;
    if (tkms_rng_fill(rng, cf->salt, cf->salt_len) != TKMS_OK ||
        tkms_rng_fill(rng, cf->iv, sizeof cf->iv) != TKMS_OK)
        return tkms_fail(err, TKMS_ERR_RNG, "%s: randomness source failed", what);
    uint8_t dk[DK_SIZE];
    tkms_status st = derive_key(dk, params, cf->salt, cf->salt_len, password, what, err);
    if (st == TKMS_OK)
        st = aes_128_ctr(cf->ciphertext, plain, dk, cf->iv, what, err);
    if (st == TKMS_OK)
        st = compute_checksum(cf->checksum, dk, cf->ciphertext, what, err);
    tkms_wipe(dk, sizeof dk);
    return st;
}

tkms_status tkms_keystore_encrypt(char **json_out, const tkms_secret_key *secret,
                                  const char *password, const tkms_kdf_params *params,
                                  const tkms_share_info *share, const char *path,
                                  tkms_rng *rng, tkms_err *err)
{
    if (json_out == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "keystore: json_out is NULL");
    *json_out = NULL;
    if (secret == NULL || password == NULL || params == NULL || rng == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "keystore: secret, password, params and rng are required");
    if (path == NULL)
        path = "";
    if (u8_check((const uint8_t *)path, strlen(path)) != NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "keystore: path must be valid UTF-8");
    tkms_status st = invalid_argument(check_kdf_params(params, WHAT, err), err);
    if (st != TKMS_OK)
        return st;

    uint8_t plain[TKMS_SECRET_KEY_SIZE];
    tkms_secret_key check;
    tkms_secret_key_to_bytes(plain, secret);
    st = tkms_secret_key_from_bytes(&check, plain);
    tkms_secret_key_wipe(&check);
    if (st != TKMS_OK) {
        tkms_wipe(plain, sizeof plain);
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "keystore: the secret is not a valid BLS secret key");
    }
    tkms_public_key pubkey;
    tkms_public_key_from_secret(&pubkey, secret);
    if (share != NULL)
        st = check_share_argument(share, &pubkey, err);

    crypto_fields cf;
    char uuid[UUID_TEXT_LEN + 1];
    if (st == TKMS_OK)
        st = seal(&cf, plain, password, params, rng, WHAT, err);
    tkms_wipe(plain, sizeof plain);
    if (st == TKMS_OK)
        st = make_uuid(uuid, rng, err);
    if (st != TKMS_OK)
        return st;
    uint8_t pubkey_bytes[TKMS_PUBLIC_KEY_SIZE];
    tkms_public_key_to_bytes(pubkey_bytes, &pubkey);
    return document_json(json_out, &cf, params, pubkey_bytes, uuid, share, path, err);
}

/* ======================================================================
 * Secret files: one 32-byte secret in the same crypto object, with a
 * public key of the caller's kind (tkms/keystore.h).
 * ====================================================================== */

#define SECRET_FILE_VERSION 1
#define SECRET_FILE_WHAT_SIZE (TKMS_SECRET_FILE_KIND_MAX_SIZE + 8)

struct tkms_secret_file {
    crypto_fields crypto;
    uint8_t public_key[TKMS_SECRET_FILE_PUBLIC_MAX_SIZE];
    size_t public_len;
    char what[SECRET_FILE_WHAT_SIZE];   /* "<kind> file", for messages */
};

/* A kind is 1..TKMS_SECRET_FILE_KIND_MAX_SIZE of [a-z0-9-]; `what` gets the
 * document's name for messages. */
static bool kind_valid(const char *kind, char what[SECRET_FILE_WHAT_SIZE])
{
    size_t len = kind ? strlen(kind) : 0;
    if (len == 0 || len > TKMS_SECRET_FILE_KIND_MAX_SIZE)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((kind[i] >= 'a' && kind[i] <= 'z') || (kind[i] >= '0' && kind[i] <= '9') ||
              kind[i] == '-'))
            return false;
    snprintf(what, SECRET_FILE_WHAT_SIZE, "%s file", kind);
    return true;
}

tkms_status tkms_secret_file_encrypt(char **json_out,
                                     const uint8_t secret[TKMS_SECRET_FILE_SECRET_SIZE],
                                     const char *password, const tkms_kdf_params *params,
                                     const char *kind, const uint8_t *public_key,
                                     size_t public_len, tkms_rng *rng, tkms_err *err)
{
    char what[SECRET_FILE_WHAT_SIZE];
    if (json_out == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "secret file: json_out is NULL");
    *json_out = NULL;
    if (secret == NULL || password == NULL || params == NULL || rng == NULL ||
        public_key == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "secret file: secret, password, params, public_key and rng are "
                         "required");
    if (!kind_valid(kind, what))
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "secret file: kind must be 1..%u characters of [a-z0-9-]",
                         TKMS_SECRET_FILE_KIND_MAX_SIZE);
    if (public_len == 0 || public_len > TKMS_SECRET_FILE_PUBLIC_MAX_SIZE)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "%s: public_key must be 1..%u bytes", what,
                         TKMS_SECRET_FILE_PUBLIC_MAX_SIZE);
    tkms_status st = invalid_argument(check_kdf_params(params, what, err), err);
    crypto_fields cf;
    if (st == TKMS_OK)
        st = seal(&cf, secret, password, params, rng, what, err);
    if (st != TKMS_OK)
        return st;
    char public_hex[TKMS_HEX_SIZE(TKMS_SECRET_FILE_PUBLIC_MAX_SIZE)];
    tkms_hex_encode(public_hex, public_key, public_len);
    json_t *crypto = crypto_json(&cf, params);
    json_t *doc = crypto == NULL ? NULL : json_pack(
        "{s:i, s:s, s:s, s:o}", "version", SECRET_FILE_VERSION, "kind", kind,
        "public_key", public_hex, "crypto", crypto);
    if (doc != NULL)
        *json_out = json_dumps(doc, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (*json_out == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "%s: out of memory", what);
    return TKMS_OK;
}

static tkms_status parse_secret_document(tkms_secret_file *f, const json_t *root,
                                         const char *kind, size_t public_len,
                                         const char *what, tkms_err *err)
{
    const char *kinds[] = {kind};
    size_t which;
    uint32_t version;
    tkms_status st;
    if ((st = json_get_u32(&version, root, "version", SECRET_FILE_VERSION,
                           SECRET_FILE_VERSION, what, err)) ||
        (st = json_get_choice(&which, root, "kind", kinds, 1, what, err)) ||
        (st = json_get_hex(f->public_key, public_len, root, "public_key", what, err)) ||
        (st = parse_crypto(&f->crypto, root, what, err)))
        return st;
    return TKMS_OK;
}

tkms_status tkms_secret_file_parse(tkms_secret_file **out, const char *json, size_t len,
                                   const char *kind, size_t public_len, tkms_err *err)
{
    *out = NULL;
    char what[SECRET_FILE_WHAT_SIZE];
    if (!kind_valid(kind, what) || public_len == 0 ||
        public_len > TKMS_SECRET_FILE_PUBLIC_MAX_SIZE)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "secret file: bad kind or public key size");
    if (len > TKMS_SECRET_FILE_MAX_SIZE)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: document is larger than %u bytes",
                         what, TKMS_SECRET_FILE_MAX_SIZE);
    json_t *root;
    tkms_status st = json_parse_object(&root, json, len, what, err);
    if (st != TKMS_OK)
        return st;
    tkms_secret_file *f = calloc(1, sizeof *f);
    if (f == NULL)
        st = tkms_fail(err, TKMS_ERR_NO_MEMORY, "%s: out of memory", what);
    else
        st = parse_secret_document(f, root, kind, public_len, what, err);
    json_decref(root);
    if (st != TKMS_OK) {
        free(f);
        return st;
    }
    f->public_len = public_len;
    memcpy(f->what, what, sizeof what);
    *out = f;
    return TKMS_OK;
}

void tkms_secret_file_free(tkms_secret_file *file)
{
    free(file);
}

const uint8_t *tkms_secret_file_public_key(const tkms_secret_file *file)
{
    return file->public_key;
}

void tkms_secret_file_kdf_params(const tkms_secret_file *file, tkms_kdf_params *out)
{
    *out = file->crypto.kdf;
}

tkms_status tkms_secret_file_decrypt(const tkms_secret_file *file, const char *password,
                                     uint8_t secret[TKMS_SECRET_FILE_SECRET_SIZE],
                                     tkms_err *err)
{
    if (file == NULL || password == NULL || secret == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "secret file: file, password and secret are required");
    return open_crypto(secret, &file->crypto, password, file->what, err);
}
