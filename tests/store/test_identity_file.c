/*
 * test_identity_file.c — identity files and the secret files under them
 * (tkms/identity_file.h, tkms/keystore.h): round trips with scrypt and
 * PBKDF2, the public key readable without the password, wrong passwords,
 * a public key that is not the seed's, other kinds, bad arguments, and
 * every failure leaving nothing secret behind.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "test.h"
#include "tkms/identity_file.h"
#include "tkms/keystore.h"

#define PASSWORD "correct horse battery staple"

static tkms_rng_seeded rng;

static tkms_kdf_params cheap(tkms_kdf kdf)
{
    tkms_kdf_params p;
    tkms_kdf_params_default(&p);
    p.kdf = kdf;
    p.scrypt_n = 1024;
    p.pbkdf2_c = 1000;
    return p;
}

static bool wiped(const tkms_identity *id)
{
    static const tkms_identity zero;
    return memcmp(id, &zero, sizeof zero) == 0;
}

/* `json` with its top-level member `key` set to the string `value`. */
static char *edited(const char *json, const char *key, const char *value)
{
    json_t *root = json_loads(json, 0, NULL);
    json_object_set_new(root, key, json_string(value));
    char *out = json_dumps(root, 0);
    json_decref(root);
    return out;
}

static void test_round_trip(tkms_kdf kdf, const char *label)
{
    tkms_identity id, back;
    tkms_identity_generate(&id, &rng.base);
    tkms_kdf_params params = cheap(kdf);
    char *json;
    tkms_err err;
    CHECK(tkms_identity_file_encrypt(&json, &id, PASSWORD, &params, &rng.base, &err) == TKMS_OK,
          "%s: encrypts", label);
    CHECK(strstr(json, "\"kind\": \"identity\"") != NULL, "%s: kind identity", label);
    tkms_identity_file *file = NULL;
    CHECK(tkms_identity_file_parse(&file, json, strlen(json), &err) == TKMS_OK, "%s: parses (%s)",
          label, err.message);
    if (file == NULL) {
        free(json);
        return;
    }
    CHECK(memcmp(tkms_identity_file_public_key(file), id.public_key, 32) == 0,
          "%s: public key readable without the password", label);
    tkms_kdf_params got;
    tkms_secret_file_kdf_params(file, &got);
    CHECK(got.kdf == kdf && (kdf == TKMS_KDF_SCRYPT ? got.scrypt_n == 1024 : got.pbkdf2_c == 1000),
          "%s: KDF parameters reported", label);
    CHECK(tkms_identity_file_decrypt(&back, file, PASSWORD, &err) == TKMS_OK &&
              memcmp(back.seed, id.seed, 32) == 0 &&
              memcmp(back.sign_secret, id.sign_secret, sizeof id.sign_secret) == 0,
          "%s: decrypts to the same identity", label);
    tkms_status st = tkms_identity_file_decrypt(&back, file, "wrong", &err);
    CHECK(st == TKMS_ERR_BAD_PASSWORD && wiped(&back) && strstr(err.message, "identity file") != NULL,
          "%s: wrong password refused, nothing left (%s)", label, err.message);
    tkms_identity_file_free(file);

    /* another identity's public key with this seed */
    tkms_identity other;
    tkms_identity_generate(&other, &rng.base);
    char hex[67] = "0x";
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 + 2 * i, 3, "%02x", other.public_key[i]);
    char *swapped = edited(json, "public_key", hex);
    CHECK(tkms_identity_file_parse(&file, swapped, strlen(swapped), &err) == TKMS_OK,
          "%s: a swapped public key still parses", label);
    st = tkms_identity_file_decrypt(&back, file, PASSWORD, &err);
    CHECK(st == TKMS_ERR_BAD_FORMAT && wiped(&back) && strstr(err.message, "does not give public_key"),
          "%s: but decrypting catches it (%s)", label, err.message);
    tkms_identity_file_free(file);
    free(swapped);
    tkms_identity_wipe(&other);
    tkms_identity_wipe(&id);
    tkms_identity_wipe(&back);
    free(json);
}

static void test_refusals(void)
{
    tkms_identity id;
    tkms_identity_generate(&id, &rng.base);
    tkms_kdf_params params = cheap(TKMS_KDF_SCRYPT);
    char *json;
    tkms_identity_file_encrypt(&json, &id, PASSWORD, &params, &rng.base, NULL);
    struct { const char *key, *value, *needle; tkms_status st; } cases[] = {
        {"kind", "keystore", "kind must be identity", TKMS_ERR_UNSUPPORTED},
        {"public_key", "0x0000000000000000000000000000000000000000000000000000000000000000",
         "not a valid Ed25519 public key", TKMS_ERR_BAD_FORMAT},
        {"public_key", "0x00", "public_key", TKMS_ERR_BAD_FORMAT},
        {"version", "1", "version must be an integer", TKMS_ERR_BAD_FORMAT},
        {"crypto", "x", "crypto must be an object", TKMS_ERR_BAD_FORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *bad = edited(json, cases[i].key, cases[i].value);
        tkms_identity_file *file = NULL;
        tkms_err err = {0};
        tkms_status st = tkms_identity_file_parse(&file, bad, strlen(bad), &err);
        CHECK(st == cases[i].st && file == NULL && strstr(err.message, cases[i].needle) != NULL &&
                  strncmp(err.message, "identity file: ", 15) == 0,
              "%s = %s refused: %s", cases[i].key, cases[i].value, err.message);
        free(bad);
    }
    /* a keystore is not an identity file and an identity file not a keystore */
    tkms_keystore *ks = NULL;
    tkms_err err;
    CHECK(tkms_keystore_parse(&ks, json, strlen(json), &err) != TKMS_OK && ks == NULL,
          "an identity file is not a keystore (%s)", err.message);
    tkms_secret_file *other = NULL;
    CHECK(tkms_secret_file_parse(&other, json, strlen(json), "server-key", 32, &err) ==
                  TKMS_ERR_UNSUPPORTED && other == NULL,
          "nor a secret file of another kind (%s)", err.message);
    CHECK(tkms_secret_file_parse(&other, json, strlen(json), "identity", 48, &err) ==
                  TKMS_ERR_BAD_FORMAT && strstr(err.message, "public_key"),
          "nor one with another public key size (%s)", err.message);
    tkms_identity_file *file = NULL;
    CHECK(tkms_identity_file_parse(&file, json, TKMS_IDENTITY_FILE_MAX_SIZE + 1, &err) ==
                  TKMS_ERR_BAD_FORMAT && strstr(err.message, "larger"),
          "an over-large file is refused before parsing (%s)", err.message);
    free(json);

    /* arguments */
    uint8_t secret[32] = {1}, pub[32] = {2};
    char *out = (char *)1;
    CHECK(tkms_secret_file_encrypt(&out, secret, PASSWORD, &params, "Identity", pub, 32,
                                   &rng.base, &err) == TKMS_ERR_INVALID_ARGUMENT && out == NULL,
          "a kind outside [a-z0-9-] is refused (%s)", err.message);
    CHECK(tkms_secret_file_encrypt(&out, secret, PASSWORD, &params, "x", pub, 0, &rng.base,
                                   &err) == TKMS_ERR_INVALID_ARGUMENT,
          "an empty public key is refused (%s)", err.message);
    tkms_kdf_params bad = params;
    bad.scrypt_n = 1000;
    CHECK(tkms_secret_file_encrypt(&out, secret, PASSWORD, &bad, "x", pub, 32, &rng.base, &err) ==
                  TKMS_ERR_INVALID_ARGUMENT && strstr(err.message, "x file: crypto.kdf.params.n"),
          "KDF parameters are checked, named for the kind (%s)", err.message);
    CHECK(tkms_identity_file_encrypt(&out, &id, "\xff", &params, &rng.base, &err) ==
              TKMS_ERR_BAD_FORMAT,
          "a password that is not UTF-8 is refused (%s)", err.message);
    tkms_identity_wipe(&id);
}

/* The same RNG state gives the same file: encryption draws only salt and IV. */
static void test_deterministic(void)
{
    uint8_t seed[32] = {9};
    tkms_identity id;
    tkms_identity_from_seed(&id, seed);
    tkms_kdf_params params = cheap(TKMS_KDF_SCRYPT);
    char *a, *b;
    tkms_rng_seeded r1, r2;
    tkms_rng_seeded_init(&r1, seed);
    tkms_rng_seeded_init(&r2, seed);
    tkms_identity_file_encrypt(&a, &id, PASSWORD, &params, &r1.base, NULL);
    tkms_identity_file_encrypt(&b, &id, PASSWORD, &params, &r2.base, NULL);
    CHECK(a && b && strcmp(a, b) == 0, "the same salt and IV give the same file");
    free(a);
    free(b);
    tkms_identity_wipe(&id);
}

int main(void)
{
    uint8_t seed[32] = {'i', 'd'};
    tkms_rng_seeded_init(&rng, seed);
    test_round_trip(TKMS_KDF_SCRYPT, "scrypt");
    test_round_trip(TKMS_KDF_PBKDF2, "pbkdf2");
    test_refusals();
    test_deterministic();
    return test_report();
}
