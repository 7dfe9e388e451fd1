/*
 * fuzz_keystore.c — libFuzzer target for the EIP-2335 keystore reader.
 *
 * Any bytes go to tkms_keystore_parse. A refusal must explain itself in one
 * printable line. A keystore that parses and whose KDF is cheap is also
 * decrypted with FUZZ_PASSWORD (the password of the seeds in
 * fuzz/seeds/keystore), so the checksum, cipher and secret checks are
 * reached; one that decrypts is re-encrypted with the same parameters and
 * share description and read back, which must give the same secret.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "tkms/keystore.h"


static bool secrets_equal(const tkms_secret_key *a, const tkms_secret_key *b)
{
    uint8_t x[TKMS_SECRET_KEY_SIZE], y[TKMS_SECRET_KEY_SIZE];
    tkms_secret_key_to_bytes(x, a);
    tkms_secret_key_to_bytes(y, b);
    return memcmp(x, y, sizeof x) == 0;
}

/* Re-encrypts `secret` like `ks` and checks the result reads back. */
static void round_trip(const tkms_keystore *ks, const tkms_secret_key *secret)
{
    static const uint8_t seed[32] = {'f', 'u', 'z', 'z'};
    tkms_rng_seeded rng;
    tkms_rng_seeded_init(&rng, seed);
    tkms_kdf_params params;
    tkms_keystore_kdf_params(ks, &params);
    char *json;
    tkms_err err;
    if (tkms_keystore_encrypt(&json, secret, FUZZ_PASSWORD, &params,
                              tkms_keystore_share_info(ks), NULL, &rng.base,
                              &err) != TKMS_OK)
        abort();
    tkms_keystore *again;
    tkms_secret_key back;
    if (tkms_keystore_parse(&again, json, strlen(json), &err) != TKMS_OK ||
        tkms_keystore_decrypt(again, FUZZ_PASSWORD, &back, &err) != TKMS_OK ||
        !secrets_equal(secret, &back))
        abort();
    tkms_secret_key_wipe(&back);
    tkms_keystore_free(again);
    free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tkms_keystore *ks;
    tkms_err err = {0};
    if (tkms_keystore_parse(&ks, (const char *)data, size, &err) != TKMS_OK) {
        fuzz_require_explained(&err);
        return 0;
    }
    tkms_kdf_params params;
    tkms_keystore_kdf_params(ks, &params);
    if (params.kdf != tkms_keystore_kdf(ks))
        abort();
    const tkms_share_info *share = tkms_keystore_share_info(ks);
    if (share != NULL && (tkms_keystore_pubkey(ks) == NULL || share->index == 0 ||
                          share->index > share->share_count ||
                          share->threshold > share->share_count))
        abort();
    if (fuzz_kdf_is_cheap(&params)) {
        static const tkms_secret_key zero;
        tkms_secret_key secret;
        tkms_status st = tkms_keystore_decrypt(ks, FUZZ_PASSWORD, &secret, &err);
        if (st == TKMS_OK)
            round_trip(ks, &secret);
        else if (memcmp(&secret, &zero, sizeof zero) != 0)
            abort();   /* a failed decryption must leave nothing behind */
        else
            fuzz_require_explained(&err);
        tkms_secret_key_wipe(&secret);
    }
    tkms_keystore_free(ks);
    return 0;
}
