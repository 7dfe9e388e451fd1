/*
 * identity_file.c — identity keys at rest (tkms/identity_file.h): a secret
 * file of kind "identity" (the keystore module's crypto object) whose
 * public key must be a valid Ed25519 key and must be the one the decrypted
 * seed gives.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "tkms/file.h"
#include "tkms/identity_file.h"
#include "tkms/secmem.h"

#define WHAT TKMS_IDENTITY_FILE_KIND " file"

tkms_status tkms_identity_file_encrypt(char **json_out, const tkms_identity *identity,
                                       const char *password, const tkms_kdf_params *params,
                                       tkms_rng *rng, tkms_err *err)
{
    if (identity == NULL) {
        if (json_out != NULL)
            *json_out = NULL;
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, WHAT ": identity is NULL");
    }
    return tkms_secret_file_encrypt(json_out, identity->seed, password, params,
                                    TKMS_IDENTITY_FILE_KIND, identity->public_key,
                                    TKMS_IDENTITY_PUBLIC_SIZE, rng, err);
}

tkms_status tkms_identity_file_parse(tkms_identity_file **out, const char *json,
                                     size_t len, tkms_err *err)
{
    tkms_status st = tkms_secret_file_parse(out, json, len, TKMS_IDENTITY_FILE_KIND,
                                            TKMS_IDENTITY_PUBLIC_SIZE, err);
    if (st != TKMS_OK)
        return st;
    if (sodium_init() < 0 ||
        !crypto_core_ed25519_is_valid_point(tkms_secret_file_public_key(*out))) {
        tkms_secret_file_free(*out);
        *out = NULL;
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         WHAT ": public_key is not a valid Ed25519 public key");
    }
    return TKMS_OK;
}

tkms_status tkms_identity_file_read(tkms_identity_file **out, const char *path,
                                    tkms_err *err)
{
    *out = NULL;
    char *text;
    size_t len;
    tkms_status st = tkms_file_read(path, TKMS_IDENTITY_FILE_MAX_SIZE, &text, &len, err);
    if (st != TKMS_OK)
        return st;
    tkms_err inner;
    st = tkms_identity_file_parse(out, text, len, &inner);
    free(text);
    if (st != TKMS_OK)
        return tkms_fail(err, st, "%s: %s", path, inner.message);
    return TKMS_OK;
}

void tkms_identity_file_free(tkms_identity_file *file)
{
    tkms_secret_file_free(file);
}

const uint8_t *tkms_identity_file_public_key(const tkms_identity_file *file)
{
    return tkms_secret_file_public_key(file);
}

tkms_status tkms_identity_file_decrypt(tkms_identity *out, const tkms_identity_file *file,
                                       const char *password, tkms_err *err)
{
    if (out == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, WHAT ": out is NULL");
    memset(out, 0, sizeof *out);
    uint8_t seed[TKMS_IDENTITY_SEED_SIZE];
    tkms_status st = tkms_secret_file_decrypt(file, password, seed, err);
    if (st == TKMS_OK && tkms_identity_from_seed(out, seed) != TKMS_OK)
        st = tkms_fail(err, TKMS_ERR_BAD_FORMAT, WHAT ": the decrypted seed gives no key pair");
    tkms_wipe(seed, sizeof seed);
    if (st == TKMS_OK && memcmp(out->public_key, tkms_identity_file_public_key(file),
                                TKMS_IDENTITY_PUBLIC_SIZE) != 0)
        st = tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                       WHAT ": the decrypted seed does not give public_key (the file was "
                       "altered or public_key belongs to another identity)");
    if (st != TKMS_OK)
        tkms_identity_wipe(out);
    return st;
}
