/*
 * fuzz_identity_file.c — libFuzzer target for the identity file reader
 * (tkms_identity_file_parse, and through it the secret file reader of
 * tkms/keystore.h). A refusal must explain itself in one printable line.
 * A file that parses and whose KDF is cheap is also decrypted with
 * FUZZ_PASSWORD (the password of the seeds in fuzz/seeds/identity_file): a
 * failure must leave the identity wiped; a success must give the file's
 * public key, and re-encrypting the identity must read back the same.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "tkms/identity_file.h"


/* Re-encrypts `id` like `file` and checks that it reads back. */
static void round_trip(const tkms_identity_file *file, const tkms_identity *id)
{
    static const uint8_t seed[32] = {'f', 'u', 'z', 'z'};
    tkms_rng_seeded rng;
    tkms_rng_seeded_init(&rng, seed);
    tkms_kdf_params params;
    tkms_secret_file_kdf_params(file, &params);
    char *json;
    tkms_err err;
    if (tkms_identity_file_encrypt(&json, id, FUZZ_PASSWORD, &params, &rng.base, &err) != TKMS_OK)
        abort();
    tkms_identity_file *again;
    tkms_identity back;
    if (tkms_identity_file_parse(&again, json, strlen(json), &err) != TKMS_OK ||
        tkms_identity_file_decrypt(&back, again, FUZZ_PASSWORD, &err) != TKMS_OK ||
        memcmp(back.seed, id->seed, sizeof back.seed) != 0 ||
        memcmp(tkms_identity_file_public_key(again), id->public_key, TKMS_IDENTITY_PUBLIC_SIZE) != 0)
        abort();
    tkms_identity_wipe(&back);
    tkms_identity_file_free(again);
    free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tkms_identity_file *file = NULL;
    tkms_err err = {0};
    if (tkms_identity_file_parse(&file, (const char *)data, size, &err) != TKMS_OK) {
        if (file != NULL)
            abort();
        fuzz_require_explained(&err);
        return 0;
    }
    tkms_kdf_params params;
    tkms_secret_file_kdf_params(file, &params);
    if (fuzz_kdf_is_cheap(&params)) {
        static const tkms_identity zero;
        tkms_identity id;
        tkms_status st = tkms_identity_file_decrypt(&id, file, FUZZ_PASSWORD, &err);
        if (st == TKMS_OK) {
            if (memcmp(id.public_key, tkms_identity_file_public_key(file),
                       TKMS_IDENTITY_PUBLIC_SIZE) != 0)
                abort();
            round_trip(file, &id);
        } else if (memcmp(&id, &zero, sizeof zero) != 0) {
            abort();   /* a failed decryption must leave nothing behind */
        } else {
            fuzz_require_explained(&err);
        }
        tkms_identity_wipe(&id);
    }
    tkms_identity_file_free(file);
    return 0;
}
