/*
 * test_keystore.c — EIP-2335 keystores: the official vectors, password
 * normalization, round trips (scrypt, PBKDF2, plain and share keystores),
 * wrong passwords, and every kind of malformed or hostile document, each of
 * which must fail with the right status and a message naming the field.
 *
 * Documents whose decrypted content is bad (zero secret, secret >= r) are
 * built by craft_keystore below, a second, independent implementation of
 * the EIP's encryption made directly with OpenSSL, which also cross-checks
 * the module's decryption.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "test.h"
#include "tkms/file.h"
#include "tkms/hex.h"
#include "tkms/keystore.h"
#include "tkms/shamir.h"

#define PASSWORD "correct horse battery staple"

static tkms_rng_seeded test_rng;

static tkms_rng *rng(void)
{
    return &test_rng.base;
}

static void secret_from_seed(tkms_secret_key *sk, uint8_t seed)
{
    uint8_t bytes[32] = {0};
    bytes[0] = 0x1f;
    bytes[31] = seed;
    if (tkms_secret_key_from_bytes(sk, bytes) != TKMS_OK)
        test_fatal("bad test secret");
}

static tkms_kdf_params cheap_scrypt(void)
{
    tkms_kdf_params p;
    tkms_kdf_params_default(&p);
    p.scrypt_n = 1024;
    return p;
}

static tkms_kdf_params cheap_pbkdf2(void)
{
    tkms_kdf_params p;
    tkms_kdf_params_default(&p);
    p.kdf = TKMS_KDF_PBKDF2;
    p.pbkdf2_c = 1000;
    return p;
}

static char *encrypt_or_die(const tkms_secret_key *sk, const tkms_kdf_params *params,
                            const tkms_share_info *share)
{
    char *json = NULL;
    tkms_err err;
    if (tkms_keystore_encrypt(&json, sk, PASSWORD, params, share, "m/12381/3600/0/0/0",
                              rng(), &err) != TKMS_OK)
        test_fatal("encrypt: %s", err.message);
    return json;
}

static tkms_status parse_text(tkms_keystore **ks, const char *json, tkms_err *err)
{
    return tkms_keystore_parse(ks, json, strlen(json), err);
}

static bool secrets_equal(const tkms_secret_key *a, const tkms_secret_key *b)
{
    uint8_t x[32], y[32];
    tkms_secret_key_to_bytes(x, a);
    tkms_secret_key_to_bytes(y, b);
    return memcmp(x, y, 32) == 0;
}

static bool is_wiped(const tkms_secret_key *sk)
{
    static const tkms_secret_key zero;
    return memcmp(sk, &zero, sizeof zero) == 0;
}

static char *hex_of_key(const tkms_public_key *pk, bool prefixed)
{
    static char text[TKMS_HEX_SIZE(TKMS_PUBLIC_KEY_SIZE)];
    uint8_t bytes[TKMS_PUBLIC_KEY_SIZE];
    tkms_public_key_to_bytes(bytes, pk);
    tkms_hex_encode(text, bytes, sizeof bytes);
    return prefixed ? text : text + 2;
}

/* ---- JSON surgery on a document ----------------------------------------- */

/* Sets (or, with value NULL, removes) the member at dotted `path` (array
 * elements by number: "tkms.commitments.1"). Steals `value`. */
static void set_path(json_t *doc, const char *path, json_t *value)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *node = doc;
    char *key = buf, *dot;
    while ((dot = strchr(key, '.')) != NULL) {
        *dot = '\0';
        node = json_is_array(node) ? json_array_get(node, strtoul(key, NULL, 10))
                                   : json_object_get(node, key);
        if (node == NULL)
            test_fatal("set_path: no %s in %s", key, path);
        key = dot + 1;
    }
    if (json_is_array(node)) {
        size_t i = strtoul(key, NULL, 10);
        if (value) json_array_set_new(node, i, value);
        else json_array_remove(node, i);
    } else if (value) {
        json_object_set_new(node, key, value);
    } else {
        json_object_del(node, key);
    }
}

/* A copy of document `json` with `path` set to the JSON text `value`
 * (NULL removes it). Caller frees. */
static char *edited(const char *json, const char *path, const char *value)
{
    json_t *doc = json_loads(json, 0, NULL);
    json_t *v = NULL;
    if (value != NULL && (v = json_loads(value, JSON_DECODE_ANY, NULL)) == NULL)
        test_fatal("edited: bad JSON value %s", value);
    set_path(doc, path, v);
    char *out = json_dumps(doc, 0);
    json_decref(doc);
    return out;
}

/* Parsing `json` must fail with `status` and a message containing `needle`. */
static void expect_parse_failure(const char *json, tkms_status status, const char *needle,
                                 const char *label)
{
    tkms_keystore *ks = (tkms_keystore *)1;
    tkms_err err = {0};
    tkms_status st = parse_text(&ks, json, &err);
    CHECK(st == status, "%s: status %s, expected %s (%s)", label,
          tkms_status_string(st), tkms_status_string(status), err.message);
    CHECK(ks == NULL, "%s: no keystore returned on failure", label);
    CHECK(strstr(err.message, needle) != NULL, "%s: message '%s' names '%s'", label,
          err.message, needle);
    CHECK(strchr(err.message, '\n') == NULL, "%s: one-line message", label);
    if (st == TKMS_OK)
        tkms_keystore_free(ks);
}

typedef struct {
    const char *path;
    const char *value;      /* JSON text; NULL removes the field */
    tkms_status status;
    const char *needle;     /* must appear in err.message        */
} edit_case;

static void run_edit_cases(const char *base, const edit_case *cases, size_t count,
                           const char *what)
{
    for (size_t i = 0; i < count; i++) {
        char *json = edited(base, cases[i].path, cases[i].value);
        char label[160];
        snprintf(label, sizeof label, "%s: %s = %s", what, cases[i].path,
                 cases[i].value ? cases[i].value : "(removed)");
        expect_parse_failure(json, cases[i].status, cases[i].needle, label);
        free(json);
    }
}

/* ---- an independent encryption for crafted plaintexts ------------------ */

/* A PBKDF2 (c = 1) keystore holding exactly `plain`, made with OpenSSL
 * directly, with `pubkey_hex` (or no pubkey when NULL). Caller frees. */
static char *craft_keystore(const uint8_t plain[32], const char *password,
                            const char *pubkey_hex)
{
    static const uint8_t salt[32] = {1, 2, 3}, iv[16] = {4, 5, 6};
    uint8_t dk[32], ct[32], sum[32], mac_input[48];
    int len = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, sizeof salt, 1,
                          EVP_sha256(), 32, dk) != 1 ||
        EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), NULL, dk, iv) != 1 ||
        EVP_EncryptUpdate(ctx, ct, &len, plain, 32) != 1)
        test_fatal("craft_keystore: OpenSSL failed");
    EVP_CIPHER_CTX_free(ctx);
    memcpy(mac_input, dk + 16, 16);
    memcpy(mac_input + 16, ct, 32);
    EVP_Digest(mac_input, sizeof mac_input, sum, NULL, EVP_sha256(), NULL);

    char salt_hex[TKMS_HEX_SIZE(32)], iv_hex[TKMS_HEX_SIZE(16)], ct_hex[TKMS_HEX_SIZE(32)],
        sum_hex[TKMS_HEX_SIZE(32)];
    tkms_hex_encode(salt_hex, salt, 32);
    tkms_hex_encode(iv_hex, iv, 16);
    tkms_hex_encode(ct_hex, ct, 32);
    tkms_hex_encode(sum_hex, sum, 32);
    json_t *doc = json_pack(
        "{s:{s:{s:s, s:{s:i, s:i, s:s, s:s}, s:s}, s:{s:s, s:{}, s:s},"
        " s:{s:s, s:{s:s}, s:s}}, s:s, s:s, s:i}",
        "crypto", "kdf", "function", "pbkdf2", "params", "dklen", 32, "c", 1, "prf",
        "hmac-sha256", "salt", salt_hex + 2, "message", "", "checksum", "function",
        "sha256", "params", "message", sum_hex + 2, "cipher", "function", "aes-128-ctr",
        "params", "iv", iv_hex + 2, "message", ct_hex + 2, "path", "",
        "uuid", "0f0e0d0c-0b0a-4908-8706-050403020100", "version", 4);
    if (pubkey_hex != NULL)
        json_object_set_new(doc, "pubkey", json_string(pubkey_hex));
    char *out = json_dumps(doc, 0);
    json_decref(doc);
    return out;
}

/* ---- the official vectors --------------------------------------------- */

static void test_vectors(void)
{
    json_t *root = test_load_json(test_vector_path("eip-2335/test_cases.json"));
    json_t *cases = json_object_get(root, "test_cases");
    CHECK(json_array_size(cases) == 2, "two EIP-2335 vectors");
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *file = json_string_value(json_object_get(c, "keystore_file"));
        const char *password = json_string_value(json_object_get(c, "password"));
        uint8_t *want_pw, *want_secret, *pw;
        size_t want_pw_len, want_secret_len, pw_len;
        if (!test_hex(json_string_value(json_object_get(c, "encoded_password")), &want_pw,
                      &want_pw_len) ||
            !test_hex(json_string_value(json_object_get(c, "secret")), &want_secret,
                      &want_secret_len))
            test_fatal("%s: bad hex in test_cases.json", name);

        CHECK(tkms_password_normalize(&pw, &pw_len, password, NULL) == TKMS_OK &&
              pw_len == want_pw_len && memcmp(pw, want_pw, pw_len) == 0,
              "%s: normalized password equals encoded_password", name);
        free(pw);

        char path[512], *json;
        size_t len;
        tkms_err err;
        snprintf(path, sizeof path, "eip-2335/%s", file);
        if (tkms_file_read(test_vector_path(path), TKMS_KEYSTORE_MAX_SIZE, &json, &len,
                           &err) != TKMS_OK)
            test_fatal("%s", err.message);
        tkms_keystore *ks;
        CHECK(tkms_keystore_parse(&ks, json, len, &err) == TKMS_OK, "%s: parses (%s)", name,
              err.message);
        if (ks != NULL) {
            bool scrypt = strstr(file, "scrypt") != NULL;
            tkms_kdf_params params;
            tkms_keystore_kdf_params(ks, &params);
            CHECK(tkms_keystore_kdf(ks) == (scrypt ? TKMS_KDF_SCRYPT : TKMS_KDF_PBKDF2) &&
                  params.kdf == tkms_keystore_kdf(ks), "%s: KDF reported", name);
            CHECK(scrypt ? params.scrypt_n == 262144 && params.scrypt_r == 8 &&
                               params.scrypt_p == 1
                         : params.pbkdf2_c == 262144, "%s: KDF parameters reported", name);
            CHECK(tkms_keystore_pubkey(ks) != NULL, "%s: has a pubkey", name);
            CHECK(tkms_keystore_share_info(ks) == NULL, "%s: not a share keystore", name);
            tkms_secret_key sk;
            CHECK(tkms_keystore_decrypt(ks, password, &sk, &err) == TKMS_OK,
                  "%s: decrypts (%s)", name, err.message);
            uint8_t got[32];
            tkms_secret_key_to_bytes(got, &sk);
            CHECK(want_secret_len == 32 && memcmp(got, want_secret, 32) == 0,
                  "%s: secret matches", name);
            if (!scrypt) {
                CHECK(tkms_keystore_decrypt(ks, "testpassword", &sk, &err) ==
                          TKMS_ERR_BAD_PASSWORD && is_wiped(&sk),
                      "%s: wrong password refused, output wiped", name);
                CHECK(tkms_keystore_decrypt(ks, "testpassword\xf0\x9f\x94\x91", &sk, &err) ==
                          TKMS_OK,
                      "%s: the normalized password decrypts too", name);
            }
            tkms_secret_key_wipe(&sk);
            tkms_keystore_free(ks);
        }
        free(json);
        free(want_pw);
        free(want_secret);
    }
    json_decref(root);
}

/* ---- password normalization ------------------------------------------- */

static void expect_normalized(const char *password, const char *want, size_t want_len,
                              const char *label)
{
    uint8_t *out = NULL;
    size_t len = 0;
    tkms_err err;
    tkms_status st = tkms_password_normalize(&out, &len, password, &err);
    CHECK(st == TKMS_OK && out != NULL && len == want_len && memcmp(out, want, len) == 0,
          "normalize %s (%s)", label, st == TKMS_OK ? "wrong bytes" : err.message);
    free(out);
}

static void test_password(void)
{
    expect_normalized("", "", 0, "empty");
    expect_normalized("plain ascii ~", "plain ascii ~", 13, "ASCII unchanged");
    expect_normalized("a\x01\x1f" "b\x7f" "c\xc2\x80\xc2\x9f" "d\xc2\xa0" "e", "abcd e", 6,
                      "C0, DEL and C1 removed; NBSP becomes a space");
    expect_normalized("\xef\xac\x81", "fi", 2, "U+FB01 ligature decomposes");
    expect_normalized("\xc3\xa9", "e\xcc\x81", 3, "U+00E9 decomposes (NFKD)");
    expect_normalized("\xef\xbd\x90\xef\xbd\x97", "pw", 2, "fullwidth letters fold");
    expect_normalized("\xe2\x84\xab", "A\xcc\x8a", 3, "U+212B Angstrom sign");

    uint8_t *out;
    size_t len;
    tkms_err err;
    const char *invalid[] = {"\xff", "ab\xc3", "\xc0\xaf", "\xed\xa0\x80",
                             "\xf4\x90\x80\x80"};
    for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++) {
        CHECK(tkms_password_normalize(&out, &len, invalid[i], &err) == TKMS_ERR_BAD_FORMAT &&
                  out == NULL,
              "invalid UTF-8 #%zu refused", i);
        CHECK(strstr(err.message, "UTF-8") != NULL, "invalid UTF-8 named: %s", err.message);
    }

    char *longest = malloc(TKMS_PASSWORD_MAX_SIZE + 2);
    memset(longest, 'x', TKMS_PASSWORD_MAX_SIZE);
    longest[TKMS_PASSWORD_MAX_SIZE] = '\0';
    CHECK(tkms_password_normalize(&out, &len, longest, &err) == TKMS_OK &&
              len == TKMS_PASSWORD_MAX_SIZE,
          "a password of exactly the maximum size is accepted");
    free(out);
    longest[TKMS_PASSWORD_MAX_SIZE] = 'x';
    longest[TKMS_PASSWORD_MAX_SIZE + 1] = '\0';
    CHECK(tkms_password_normalize(&out, &len, longest, &err) == TKMS_ERR_BAD_FORMAT &&
              strstr(err.message, "longer") != NULL,
          "an over-long password is refused: %s", err.message);
    free(longest);

    /* U+FDFA, the largest known NFKD expansion, many times over */
    char *expanding = malloc(3 * 1000 + 1);
    for (int i = 0; i < 1000; i++)
        memcpy(expanding + 3 * i, "\xef\xb7\xba", 3);
    expanding[3000] = '\0';
    CHECK(tkms_password_normalize(&out, &len, expanding, &err) == TKMS_OK && len == 33000,
          "U+FDFA x1000 expands to 33000 bytes (got %zu)", len);
    free(out);
    free(expanding);
}

/* ---- round trips --------------------------------------------------------- */

static void check_written_conventions(const char *json, bool share)
{
    json_t *doc = json_loads(json, 0, NULL);
    const char *pubkey = json_string_value(json_object_get(doc, "pubkey"));
    const char *uuid = json_string_value(json_object_get(doc, "uuid"));
    json_t *crypto = json_object_get(doc, "crypto");
    const char *salt = json_string_value(
        json_object_get(json_object_get(json_object_get(crypto, "kdf"), "params"), "salt"));
    const char *iv = json_string_value(
        json_object_get(json_object_get(json_object_get(crypto, "cipher"), "params"), "iv"));
    CHECK(json_integer_value(json_object_get(doc, "version")) == 4, "writes version 4");
    CHECK(pubkey && strlen(pubkey) == 96 && strncmp(pubkey, "0x", 2) != 0,
          "pubkey is bare hex");
    CHECK(salt && strlen(salt) == 64, "32-byte salt in bare hex");
    CHECK(iv && strlen(iv) == 32, "16-byte IV in bare hex");
    CHECK(uuid && strlen(uuid) == 36 && uuid[14] == '4' && strchr("89ab", uuid[19]),
          "uuid is a version-4 RFC 4122 UUID: %s", uuid ? uuid : "(none)");
    CHECK(json_is_string(json_object_get(doc, "path")) &&
              json_is_string(json_object_get(doc, "description")),
          "path and description written");
    json_t *tkms = json_object_get(doc, "tkms");
    CHECK(share == (tkms != NULL), "tkms object present only for a share");
    if (tkms != NULL) {
        const char *group = json_string_value(json_object_get(tkms, "group_public_key"));
        CHECK(group && strncmp(group, "0x", 2) == 0, "tkms uses 0x hex");
    }
    json_decref(doc);
}

static void round_trip(const tkms_kdf_params *params, const char *label)
{
    tkms_secret_key sk, back;
    secret_from_seed(&sk, 7);
    char *json = encrypt_or_die(&sk, params, NULL);
    check_written_conventions(json, false);
    tkms_keystore *ks;
    tkms_err err;
    CHECK(parse_text(&ks, json, &err) == TKMS_OK, "%s: parses (%s)", label, err.message);
    if (ks == NULL) {
        free(json);
        return;
    }
    tkms_kdf_params got;
    tkms_keystore_kdf_params(ks, &got);
    CHECK(got.kdf == params->kdf &&
              (params->kdf == TKMS_KDF_SCRYPT ? got.scrypt_n == params->scrypt_n &&
                                                    got.scrypt_r == params->scrypt_r &&
                                                    got.scrypt_p == params->scrypt_p
                                              : got.pbkdf2_c == params->pbkdf2_c),
          "%s: parameters read back", label);
    tkms_public_key pk;
    tkms_public_key_from_secret(&pk, &sk);
    CHECK(tkms_keystore_pubkey(ks) && tkms_public_key_equal(tkms_keystore_pubkey(ks), &pk),
          "%s: pubkey is secret*G1", label);
    CHECK(tkms_keystore_decrypt(ks, PASSWORD, &back, &err) == TKMS_OK &&
              secrets_equal(&sk, &back),
          "%s: decrypts to the secret (%s)", label, err.message);
    CHECK(tkms_keystore_decrypt(ks, PASSWORD "!", &back, &err) == TKMS_ERR_BAD_PASSWORD &&
              is_wiped(&back) && strstr(err.message, "password") != NULL,
          "%s: wrong password gives BAD_PASSWORD (%s)", label, err.message);
    CHECK(tkms_keystore_decrypt(ks, "\xff", &back, &err) == TKMS_ERR_BAD_FORMAT &&
              strstr(err.message, "UTF-8") != NULL,
          "%s: invalid UTF-8 password refused", label);
    tkms_keystore_free(ks);

    /* 0x prefixes on the EIP fields are accepted too */
    const char *fields[] = {"pubkey", "crypto.kdf.params.salt", "crypto.cipher.params.iv",
                            "crypto.cipher.message", "crypto.checksum.message"};
    json_t *doc = json_loads(json, 0, NULL);
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        json_t *node = doc;
        char path[64], *key = path, *dot;
        snprintf(path, sizeof path, "%s", fields[i]);
        while ((dot = strchr(key, '.')) != NULL) {
            *dot = '\0';
            node = json_object_get(node, key);
            key = dot + 1;
        }
        char prefixed[200];
        snprintf(prefixed, sizeof prefixed, "0x%s", json_string_value(json_object_get(node, key)));
        json_object_set_new(node, key, json_string(prefixed));
    }
    char *with_prefix = json_dumps(doc, 0);
    json_decref(doc);
    CHECK(parse_text(&ks, with_prefix, &err) == TKMS_OK &&
              tkms_keystore_decrypt(ks, PASSWORD, &back, &err) == TKMS_OK &&
              secrets_equal(&sk, &back),
          "%s: 0x-prefixed EIP fields accepted (%s)", label, err.message);
    tkms_keystore_free(ks);
    free(with_prefix);
    free(json);
}

/* A 2-of-3 split of a fixed secret; the caller frees the group. */
static tkms_group *make_group(tkms_share shares[3])
{
    tkms_secret_key sk;
    secret_from_seed(&sk, 9);
    tkms_group *group;
    if (tkms_split(&group, shares, &sk, 2, 3, rng()) != TKMS_OK)
        test_fatal("tkms_split failed");
    return group;
}

static tkms_share_info share_info_of(const tkms_group *group, uint32_t index,
                                     const char *owner)
{
    tkms_share_info info = {.index = index, .threshold = group->threshold,
                            .share_count = group->share_count,
                            .group_key = group->group_key,
                            .commitments = group->commitments};
    snprintf(info.owner, sizeof info.owner, "%s", owner);
    return info;
}

static void test_share_round_trip(void)
{
    tkms_share shares[3];
    tkms_group *group = make_group(shares);
    tkms_kdf_params params = cheap_scrypt();
    tkms_share_info info = share_info_of(group, 2, "operator-b");
    char *json = encrypt_or_die(&shares[1].key, &params, &info);
    check_written_conventions(json, true);
    tkms_keystore *ks;
    tkms_err err;
    CHECK(parse_text(&ks, json, &err) == TKMS_OK, "share keystore parses (%s)", err.message);
    const tkms_share_info *got = ks ? tkms_keystore_share_info(ks) : NULL;
    CHECK(got != NULL, "share info present");
    if (got != NULL) {
        CHECK(got->index == 2 && got->threshold == 2 && got->share_count == 3,
              "index, K, n read back");
        CHECK(strcmp(got->owner, "operator-b") == 0, "owner read back");
        CHECK(tkms_public_key_equal(&got->group_key, &group->group_key),
              "group key read back");
        CHECK(tkms_public_key_equal(&got->commitments[1], &group->commitments[1]),
              "commitments read back");
        CHECK(tkms_public_key_equal(tkms_keystore_pubkey(ks), &group->share_keys[1]),
              "pubkey is the share key");
        tkms_secret_key back;
        CHECK(tkms_keystore_decrypt(ks, PASSWORD, &back, &err) == TKMS_OK &&
                  secrets_equal(&back, &shares[1].key),
              "share keystore decrypts to the share (%s)", err.message);
        tkms_secret_key_wipe(&back);
    }
    tkms_keystore_free(ks);
    free(json);

    /* without an owner the field is left out and reads back empty */
    info = share_info_of(group, 3, "");
    json = encrypt_or_die(&shares[2].key, &params, &info);
    CHECK(strstr(json, "\"owner\"") == NULL, "no owner written when empty");
    CHECK(parse_text(&ks, json, &err) == TKMS_OK &&
              tkms_keystore_share_info(ks)->owner[0] == '\0',
          "absent owner reads back as empty");
    tkms_keystore_free(ks);
    free(json);

    /* encrypt refuses a share description that does not fit the secret */
    char *out = NULL;
    info = share_info_of(group, 1, "x");
    CHECK(tkms_keystore_encrypt(&out, &shares[1].key, PASSWORD, &params, &info, NULL, rng(),
                                &err) == TKMS_ERR_INVALID_ARGUMENT && out == NULL &&
              strstr(err.message, "share 1") != NULL,
          "encrypt: share 2's secret under index 1 refused (%s)", err.message);
    info = share_info_of(group, 4, "x");
    CHECK(tkms_keystore_encrypt(&out, &shares[1].key, PASSWORD, &params, &info, NULL, rng(),
                                &err) == TKMS_ERR_INVALID_ARGUMENT &&
              strstr(err.message, "tkms.index") != NULL,
          "encrypt: index above n refused (%s)", err.message);
    info = share_info_of(group, 2, "bad\towner");
    CHECK(tkms_keystore_encrypt(&out, &shares[1].key, PASSWORD, &params, &info, NULL, rng(),
                                &err) == TKMS_ERR_INVALID_ARGUMENT &&
              strstr(err.message, "tkms.owner") != NULL,
          "encrypt: unprintable owner refused (%s)", err.message);
    for (int i = 0; i < 3; i++)
        tkms_share_wipe(&shares[i]);
    tkms_group_free(group);
}

static void test_encrypt_arguments(void)
{
    tkms_secret_key sk;
    secret_from_seed(&sk, 3);
    char *out = NULL;
    tkms_err err;
    tkms_kdf_params params = cheap_scrypt();
    params.scrypt_n = 1000;
    CHECK(tkms_keystore_encrypt(&out, &sk, PASSWORD, &params, NULL, NULL, rng(), &err) ==
              TKMS_ERR_INVALID_ARGUMENT && strstr(err.message, "power of two"),
          "encrypt: n not a power of two refused (%s)", err.message);
    params = cheap_scrypt();
    params.scrypt_r = TKMS_SCRYPT_MAX_R + 1;
    CHECK(tkms_keystore_encrypt(&out, &sk, PASSWORD, &params, NULL, NULL, rng(), &err) ==
              TKMS_ERR_INVALID_ARGUMENT && strstr(err.message, "params.r"),
          "encrypt: r above the limit refused (%s)", err.message);
    params = cheap_pbkdf2();
    params.pbkdf2_c = 0;
    CHECK(tkms_keystore_encrypt(&out, &sk, PASSWORD, &params, NULL, NULL, rng(), &err) ==
              TKMS_ERR_INVALID_ARGUMENT && strstr(err.message, "params.c"),
          "encrypt: c = 0 refused (%s)", err.message);
    params = cheap_pbkdf2();
    CHECK(tkms_keystore_encrypt(&out, &sk, PASSWORD, &params, NULL, "m/\xff", rng(), &err) ==
              TKMS_ERR_INVALID_ARGUMENT && strstr(err.message, "path"),
          "encrypt: non-UTF-8 path refused (%s)", err.message);
    CHECK(tkms_keystore_encrypt(&out, &sk, "\xc3", &params, NULL, NULL, rng(), &err) ==
              TKMS_ERR_BAD_FORMAT && out == NULL,
          "encrypt: non-UTF-8 password refused (%s)", err.message);
    CHECK(out == NULL, "nothing returned on failure");

    /* the EIP's example password, written in two forms, is one password */
    CHECK(tkms_keystore_encrypt(&out, &sk,
                                "\xf0\x9d\x94\xb1\xf0\x9d\x94\xa2\xf0\x9d\x94\xb0", &params,
                                NULL, NULL, rng(), &err) == TKMS_OK,
          "encrypt with a non-ASCII password (%s)", err.message);
    tkms_keystore *ks;
    tkms_secret_key back;
    CHECK(parse_text(&ks, out, &err) == TKMS_OK &&
              tkms_keystore_decrypt(ks, "tes", &back, &err) == TKMS_OK &&
              secrets_equal(&sk, &back),
          "decrypt with its NFKD form (%s)", err.message);
    tkms_keystore_free(ks);
    free(out);
}

/* ---- malformed documents ----------------------------------------------- */

static void test_malformed_json(const char *base)
{
    expect_parse_failure("", TKMS_ERR_BAD_FORMAT, "not valid JSON", "empty input");
    expect_parse_failure("{\"version\": 4,", TKMS_ERR_BAD_FORMAT, "not valid JSON",
                         "unterminated object");
    expect_parse_failure("{} trailing", TKMS_ERR_BAD_FORMAT, "not valid JSON",
                         "trailing garbage");
    expect_parse_failure("[1, 2]", TKMS_ERR_BAD_FORMAT, "JSON object", "array document");
    expect_parse_failure("\"keystore\"", TKMS_ERR_BAD_FORMAT, "not valid JSON",
                         "string document");
    expect_parse_failure("{\"version\": 4, \"version\": 4}", TKMS_ERR_BAD_FORMAT,
                         "duplicate", "duplicate key");
    expect_parse_failure("{\"a\": \"\x01\xff\n\"}", TKMS_ERR_BAD_FORMAT, "not valid JSON",
                         "control bytes in a string");
    expect_parse_failure("{}", TKMS_ERR_BAD_FORMAT, "version is missing", "empty object");

    /* every truncation of a valid document fails cleanly */
    size_t len = strlen(base);
    bool all_refused = true;
    for (size_t cut = 0; cut < len; cut++) {
        tkms_keystore *ks;
        if (tkms_keystore_parse(&ks, base, cut, NULL) != TKMS_ERR_BAD_FORMAT) {
            all_refused = false;
            tkms_keystore_free(ks);
        }
    }
    CHECK(all_refused, "every truncated document is refused as BAD_FORMAT");

    /* a NUL inside the length is not the end of the document */
    char *with_nul = strdup(base);
    with_nul[len / 2] = '\0';
    tkms_keystore *ks;
    CHECK(tkms_keystore_parse(&ks, with_nul, len, NULL) == TKMS_ERR_BAD_FORMAT,
          "embedded NUL refused");
    free(with_nul);

    char *huge = malloc(TKMS_KEYSTORE_MAX_SIZE + 2);
    memset(huge, ' ', TKMS_KEYSTORE_MAX_SIZE + 1);
    memcpy(huge, base, len);
    huge[TKMS_KEYSTORE_MAX_SIZE + 1] = '\0';
    expect_parse_failure(huge, TKMS_ERR_BAD_FORMAT, "larger than", "oversized document");
    free(huge);
}

#define BAD TKMS_ERR_BAD_FORMAT
#define UNSUP TKMS_ERR_UNSUPPORTED

static const edit_case common_cases[] = {
    /* missing fields */
    {"version", NULL, BAD, "version is missing"},
    {"uuid", NULL, BAD, "uuid is missing"},
    {"path", NULL, BAD, "path is missing"},
    {"crypto", NULL, BAD, "crypto is missing"},
    {"crypto.kdf", NULL, BAD, "crypto.kdf is missing"},
    {"crypto.kdf.function", NULL, BAD, "crypto.kdf.function is missing"},
    {"crypto.kdf.params", NULL, BAD, "crypto.kdf.params is missing"},
    {"crypto.kdf.message", NULL, BAD, "crypto.kdf.message is missing"},
    {"crypto.kdf.params.dklen", NULL, BAD, "crypto.kdf.params.dklen is missing"},
    {"crypto.kdf.params.salt", NULL, BAD, "crypto.kdf.params.salt is missing"},
    {"crypto.checksum", NULL, BAD, "crypto.checksum is missing"},
    {"crypto.checksum.params", NULL, BAD, "crypto.checksum.params is missing"},
    {"crypto.checksum.message", NULL, BAD, "crypto.checksum.message is missing"},
    {"crypto.cipher", NULL, BAD, "crypto.cipher is missing"},
    {"crypto.cipher.function", NULL, BAD, "crypto.cipher.function is missing"},
    {"crypto.cipher.params.iv", NULL, BAD, "crypto.cipher.params.iv is missing"},
    {"crypto.cipher.message", NULL, BAD, "crypto.cipher.message is missing"},
    /* wrong types */
    {"version", "\"4\"", BAD, "version must be an integer"},
    {"version", "4.0", BAD, "version must be an integer"},
    {"uuid", "7", BAD, "uuid must be a string"},
    {"path", "null", BAD, "path must be a string"},
    {"description", "[]", BAD, "description must be a string"},
    {"pubkey", "{}", BAD, "pubkey must be a string"},
    {"crypto", "\"x\"", BAD, "crypto must be an object"},
    {"crypto.kdf", "[]", BAD, "crypto.kdf must be an object"},
    {"crypto.kdf.function", "1", BAD, "crypto.kdf.function must be a string"},
    {"crypto.kdf.params", "[]", BAD, "crypto.kdf.params must be an object"},
    {"crypto.kdf.message", "0", BAD, "crypto.kdf.message must be a string"},
    {"crypto.kdf.params.dklen", "\"32\"", BAD, "crypto.kdf.params.dklen must be an integer"},
    {"crypto.kdf.params.salt", "12", BAD, "crypto.kdf.params.salt must be a string"},
    {"crypto.checksum.params", "\"\"", BAD, "crypto.checksum.params must be an object"},
    {"crypto.checksum.message", "true", BAD, "crypto.checksum.message must be a string"},
    {"crypto.cipher.params", "null", BAD, "crypto.cipher.params must be an object"},
    {"crypto.cipher.params.iv", "123", BAD, "crypto.cipher.params.iv must be a string"},
    {"tkms", "[]", BAD, "tkms must be an object"},
    /* versions and functions */
    {"version", "3", UNSUP, "version must be 4"},
    {"version", "-4", BAD, "version must not be negative"},
    {"crypto.kdf.function", "\"argon2id\"", UNSUP, "crypto.kdf.function must be scrypt or pbkdf2"},
    {"crypto.kdf.function", "\"\"", UNSUP, "crypto.kdf.function"},
    {"crypto.checksum.function", "\"sha512\"", UNSUP, "crypto.checksum.function must be sha256"},
    {"crypto.cipher.function", "\"aes-256-gcm\"", UNSUP, "crypto.cipher.function"},
    {"crypto.cipher.function", "\"aes-128-ctr \"", UNSUP, "crypto.cipher.function"},
    {"crypto.kdf.params.dklen", "64", UNSUP, "crypto.kdf.params.dklen must be 32"},
    {"crypto.kdf.params.dklen", "16", UNSUP, "crypto.kdf.params.dklen must be 32"},
    /* hex fields */
    {"crypto.checksum.message", "\"zz\"", BAD, "crypto.checksum.message"},
    {"crypto.checksum.message",
     "\"00112233445566778899aabbccddeeff00112233445566778899aabbccddee\"", BAD,
     "crypto.checksum.message: hex string holds 31 bytes, expected 32"},
    {"crypto.cipher.params.iv", "\"000102030405060708090a0b0c0d0e\"", BAD,
     "crypto.cipher.params.iv: hex string holds 15 bytes, expected 16"},
    {"crypto.cipher.params.iv", "\"000102030405060708090a0b0c0d0e0f10\"", BAD,
     "crypto.cipher.params.iv: hex string holds 17 bytes, expected 16"},
    {"crypto.cipher.params.iv", "\"0x0g0102030405060708090a0b0c0d0e0f\"", BAD,
     "crypto.cipher.params.iv: not a hex string"},
    {"crypto.cipher.message", "\"0011\"", BAD, "crypto.cipher.message: hex string holds 2"},
    {"crypto.cipher.message",
     "\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00\"", BAD,
     "crypto.cipher.message: hex string holds 33 bytes"},
    {"crypto.kdf.params.salt", "\"abc\"", BAD, "crypto.kdf.params.salt: hex string has an odd"},
    {"crypto.kdf.params.salt", "\"0xq0\"", BAD, "crypto.kdf.params.salt: not a hex string"},
    {"uuid", "\"not-a-uuid\"", BAD, "uuid must be a UUID"},
    {"uuid", "\"0f0e0d0c-0b0a-4908-8706-05040302010g\"", BAD, "uuid must be a UUID"},
    {"pubkey", "\"00\"", BAD, "pubkey: hex string holds 1 bytes, expected 48"},
    {"pubkey",
     "\"c00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\"",
     BAD, "pubkey is not a valid public key (point at infinity)"},
    {"pubkey",
     "\"a11111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111\"",
     BAD, "pubkey is not a valid public key"},
};

static const edit_case scrypt_cases[] = {
    {"crypto.kdf.params.n", NULL, BAD, "crypto.kdf.params.n is missing"},
    {"crypto.kdf.params.r", NULL, BAD, "crypto.kdf.params.r is missing"},
    {"crypto.kdf.params.p", NULL, BAD, "crypto.kdf.params.p is missing"},
    {"crypto.kdf.params.n", "\"1024\"", BAD, "crypto.kdf.params.n must be an integer"},
    {"crypto.kdf.params.n", "1024.5", BAD, "crypto.kdf.params.n must be an integer"},
    {"crypto.kdf.params.n", "1000", BAD, "crypto.kdf.params.n must be a power of two"},
    {"crypto.kdf.params.n", "0", BAD, "crypto.kdf.params.n must be a power of two"},
    {"crypto.kdf.params.n", "1", BAD, "crypto.kdf.params.n must be a power of two"},
    {"crypto.kdf.params.n", "-1024", BAD, "crypto.kdf.params.n must not be negative"},
    {"crypto.kdf.params.n", "2097152", UNSUP, "crypto.kdf.params.n is above the limit"},
    {"crypto.kdf.params.n", "9223372036854775807", BAD, "power of two"},
    {"crypto.kdf.params.n", "4611686018427387904", UNSUP, "crypto.kdf.params.n is above"},
    {"crypto.kdf.params.r", "0", BAD, "crypto.kdf.params.r must be at least 1"},
    {"crypto.kdf.params.r", "33", UNSUP, "crypto.kdf.params.r is above the limit of 32"},
    {"crypto.kdf.params.p", "0", BAD, "crypto.kdf.params.p must be at least 1"},
    {"crypto.kdf.params.p", "17", UNSUP, "crypto.kdf.params.p is above the limit of 16"},
};

static const edit_case pbkdf2_cases[] = {
    {"crypto.kdf.params.c", NULL, BAD, "crypto.kdf.params.c is missing"},
    {"crypto.kdf.params.prf", NULL, BAD, "crypto.kdf.params.prf is missing"},
    {"crypto.kdf.params.c", "0", BAD, "crypto.kdf.params.c must be at least 1"},
    {"crypto.kdf.params.c", "10000001", UNSUP, "crypto.kdf.params.c is above the limit"},
    {"crypto.kdf.params.c", "[1]", BAD, "crypto.kdf.params.c must be an integer"},
    {"crypto.kdf.params.prf", "\"hmac-sha512\"", UNSUP,
     "crypto.kdf.params.prf must be hmac-sha256"},
};

static void test_scrypt_memory_limit(const char *base)
{
    /* an integer beyond 64 bits is refused by the JSON reader itself */
    const char *n_field = strstr(base, "\"n\": 1024");
    if (n_field == NULL)
        test_fatal("scrypt base document has no \"n\": 1024");
    size_t at = (size_t)(n_field - base) + 5;
    char *too_big = malloc(strlen(base) + 32);
    snprintf(too_big, strlen(base) + 32, "%.*s99999999999999999999999%s", (int)at, base,
             base + at + 4);
    expect_parse_failure(too_big, BAD, "not valid JSON", "n beyond 64 bits");
    free(too_big);

    /* n = 2^20 at r = 8 is exactly the 1 GiB limit (accepted); r = 9 is over */
    char *at_limit = edited(base, "crypto.kdf.params.n", "1048576");
    tkms_keystore *ks;
    tkms_err err;
    CHECK(parse_text(&ks, at_limit, &err) == TKMS_OK, "n = 2^20, r = 8 accepted (%s)",
          err.message);
    tkms_keystore_free(ks);
    char *over = edited(at_limit, "crypto.kdf.params.r", "9");
    expect_parse_failure(over, UNSUP, "above the limit of 1024 MiB", "128*r*n over 1 GiB");
    free(over);
    /* RFC 7914 wants n < 2^(16*r), which only r = 1 can break */
    char *r1 = edited(at_limit, "crypto.kdf.params.r", "1");
    expect_parse_failure(r1, BAD, "crypto.kdf.params.n must be below 2^(16*r)",
                         "n = 2^20 at r = 1");
    free(r1);
    free(at_limit);

    char *long_salt = malloc(2 * (TKMS_KDF_SALT_MAX_SIZE + 1) + 3);
    long_salt[0] = '"';
    memset(long_salt + 1, 'a', 2 * (TKMS_KDF_SALT_MAX_SIZE + 1));
    strcpy(long_salt + 1 + 2 * (TKMS_KDF_SALT_MAX_SIZE + 1), "\"");
    char *json = edited(base, "crypto.kdf.params.salt", long_salt);
    expect_parse_failure(json, UNSUP, "crypto.kdf.params.salt is longer than 1024 bytes",
                         "salt over the limit");
    free(json);
    long_salt[2 * TKMS_KDF_SALT_MAX_SIZE + 1] = '"';
    long_salt[2 * TKMS_KDF_SALT_MAX_SIZE + 2] = '\0';
    json = edited(base, "crypto.kdf.params.salt", long_salt);
    CHECK(parse_text(&ks, json, &err) == TKMS_OK, "a salt of exactly 1024 bytes is accepted");
    tkms_keystore_free(ks);
    free(json);
    json = edited(base, "crypto.kdf.params.salt", "\"\"");
    CHECK(parse_text(&ks, json, &err) == TKMS_OK, "an empty salt is accepted");
    tkms_keystore_free(ks);
    free(json);
    free(long_salt);
}

static void test_share_cases(void)
{
    tkms_share shares[3];
    tkms_group *group = make_group(shares);
    tkms_kdf_params params = cheap_pbkdf2();
    params.pbkdf2_c = 1;
    tkms_share_info info = share_info_of(group, 2, "operator-b");
    char *base = encrypt_or_die(&shares[1].key, &params, &info);

    tkms_secret_key other;
    secret_from_seed(&other, 200);
    tkms_public_key other_pk;
    tkms_public_key_from_secret(&other_pk, &other);
    char other_bare[100], other_value[110], share1[110], commitment0[110];
    snprintf(other_bare, sizeof other_bare, "\"%s\"", hex_of_key(&other_pk, false));
    snprintf(other_value, sizeof other_value, "\"%s\"", hex_of_key(&other_pk, true));
    snprintf(share1, sizeof share1, "\"%s\"", hex_of_key(&group->share_keys[0], false));
    snprintf(commitment0, sizeof commitment0, "\"%s\"",
             hex_of_key(&group->commitments[0], true));

    const edit_case cases[] = {
        {"tkms.version", NULL, BAD, "tkms.version is missing"},
        {"tkms.version", "2", UNSUP, "tkms.version must be 1"},
        {"tkms.index", NULL, BAD, "tkms.index is missing"},
        {"tkms.index", "0", BAD, "tkms.index must be between 1 and tkms.shares (3)"},
        {"tkms.index", "4", BAD, "tkms.index must be between 1 and tkms.shares (3)"},
        {"tkms.index", "-1", BAD, "tkms.index must not be negative"},
        {"tkms.index", "\"2\"", BAD, "tkms.index must be an integer"},
        {"tkms.threshold", "0", BAD, "tkms.threshold must be between 1 and tkms.shares"},
        {"tkms.threshold", "4", BAD, "tkms.threshold must be between 1 and tkms.shares"},
        {"tkms.threshold", "3", BAD, "tkms.commitments must have tkms.threshold (3) entries"},
        {"tkms.shares", "0", BAD, "tkms.shares must be at least 1"},
        {"tkms.shares", "1", BAD, "tkms.threshold must be between 1 and tkms.shares (1)"},
        {"tkms.shares", "1025", UNSUP, "tkms.shares is above the limit of 1024"},
        {"tkms.group_public_key", NULL, BAD, "tkms.group_public_key is missing"},
        {"tkms.group_public_key", "\"0x00\"", BAD, "tkms.group_public_key: hex string"},
        {"tkms.group_public_key", other_value, BAD,
         "tkms.commitments[0] must equal tkms.group_public_key"},
        {"tkms.commitments", NULL, BAD, "tkms.commitments is missing"},
        {"tkms.commitments", "{}", BAD, "tkms.commitments must be an array"},
        {"tkms.commitments.1", NULL, BAD,
         "tkms.commitments must have tkms.threshold (2) entries, not 1"},
        {"tkms.commitments.1", "5", BAD, "tkms.commitments[1] must be a string"},
        {"tkms.commitments.1", "\"0x1234\"", BAD, "tkms.commitments[1]: hex string holds 2"},
        {"tkms.commitments.1", other_value, BAD, "pubkey is not the key tkms.commitments give"},
        {"tkms.commitments.0", other_value, BAD, "tkms.commitments[0] must equal"},
        {"tkms.commitments.1", commitment0, BAD, "pubkey is not the key"},
        {"tkms.owner", "\"\"", BAD, "tkms.owner must be 1 to 64 characters"},
        {"tkms.owner", "\"an-owner-id-that-is-definitely-longer-than-sixty-four-bytes-in-all\"",
         BAD, "tkms.owner must be 1 to 64 characters"},
        {"tkms.owner", "\"tab\\there\"", BAD, "tkms.owner must be 1 to 64 characters"},
        {"tkms.owner", "\"caf\\u00e9\"", BAD, "tkms.owner must be 1 to 64 characters"},
        {"tkms.owner", "\"has space\"", BAD, "[A-Za-z0-9._-]"},
        {"tkms.owner", "\"../escape\"", BAD, "not starting with '.' or '-'"},
        {"tkms.owner", "7", BAD, "tkms.owner must be a string"},
        {"pubkey", NULL, BAD, "pubkey is required in a share keystore"},
        {"pubkey", other_bare, BAD, "pubkey is not the key tkms.commitments give for share 2"},
        {"pubkey", share1, BAD, "pubkey is not the key tkms.commitments give for share 2"},
    };
    run_edit_cases(base, cases, sizeof cases / sizeof *cases, "share");

    /* a share keystore whose pubkey (and so commitments) fit but whose
     * secret is another: crafted by swapping in share 1's ciphertext */
    char *share1_json = encrypt_or_die(&shares[0].key, &params, NULL);
    json_t *a = json_loads(base, 0, NULL), *b = json_loads(share1_json, 0, NULL);
    json_object_set(a, "crypto", json_object_get(b, "crypto"));
    char *swapped = json_dumps(a, 0);
    json_decref(a);
    json_decref(b);
    tkms_keystore *ks;
    tkms_secret_key out;
    tkms_err err;
    CHECK(parse_text(&ks, swapped, &err) == TKMS_OK, "swapped share keystore parses");
    CHECK(ks && tkms_keystore_decrypt(ks, PASSWORD, &out, &err) == TKMS_ERR_BAD_FORMAT &&
              strstr(err.message, "does not match pubkey") && is_wiped(&out),
          "secret of share 1 in share 2's keystore refused (%s)", err.message);
    tkms_keystore_free(ks);
    free(swapped);
    free(share1_json);
    free(base);
    for (int i = 0; i < 3; i++)
        tkms_share_wipe(&shares[i]);
    tkms_group_free(group);
}

/* Decryption-time failures: bad plaintexts and a pubkey that is not the
 * secret's. */
static void test_bad_plaintexts(void)
{
    static const uint8_t order_r[32] = {
        0x73, 0xed, 0xa7, 0x53, 0x29, 0x9d, 0x7d, 0x48, 0x33, 0x39, 0xd8,
        0x08, 0x09, 0xa1, 0xd8, 0x05, 0x53, 0xbd, 0xa4, 0x02, 0xff, 0xfe,
        0x5b, 0xfe, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01};
    uint8_t zero[32] = {0}, ones[32], good[32];
    memset(ones, 0xff, sizeof ones);
    tkms_secret_key sk, out;
    secret_from_seed(&sk, 42);
    tkms_secret_key_to_bytes(good, &sk);
    tkms_public_key pk, other_pk;
    tkms_public_key_from_secret(&pk, &sk);
    secret_from_seed(&out, 43);
    tkms_public_key_from_secret(&other_pk, &out);
    char own_hex[100], other_hex[100];
    snprintf(own_hex, sizeof own_hex, "%s", hex_of_key(&pk, false));
    snprintf(other_hex, sizeof other_hex, "%s", hex_of_key(&other_pk, false));

    struct {
        const uint8_t *plain;
        const char *pubkey;
        tkms_status status;
        const char *needle;
        const char *label;
    } cases[] = {
        {good, own_hex, TKMS_OK, "", "independently made keystore"},
        {good, NULL, TKMS_OK, "", "keystore without pubkey"},
        {zero, NULL, BAD, "decrypted secret is not a valid BLS secret key", "zero secret"},
        {order_r, NULL, BAD, "decrypted secret is not a valid BLS secret key", "secret = r"},
        {ones, NULL, BAD, "decrypted secret is not a valid BLS secret key", "secret > r"},
        {good, other_hex, BAD, "does not match pubkey", "pubkey of another key"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *json = craft_keystore(cases[i].plain, PASSWORD, cases[i].pubkey);
        tkms_keystore *ks;
        tkms_err err = {0};
        CHECK(parse_text(&ks, json, &err) == TKMS_OK, "%s: parses (%s)", cases[i].label,
              err.message);
        tkms_status st = ks ? tkms_keystore_decrypt(ks, PASSWORD, &out, &err) : TKMS_ERR_IO;
        CHECK(st == cases[i].status && strstr(err.message, cases[i].needle) != NULL,
              "%s: decrypt gives %s (%s)", cases[i].label, tkms_status_string(st),
              err.message);
        if (st == TKMS_OK)
            CHECK(secrets_equal(&out, &sk), "%s: the right secret", cases[i].label);
        else
            CHECK(is_wiped(&out), "%s: output wiped", cases[i].label);
        tkms_keystore_free(ks);
        free(json);
    }
}

int main(void)
{
    static const uint8_t seed[32] = {'k', 'e', 'y', 's', 't', 'o', 'r', 'e'};
    tkms_rng_seeded_init(&test_rng, seed);

    test_vectors();
    test_password();

    tkms_kdf_params scrypt = cheap_scrypt(), pbkdf2 = cheap_pbkdf2();
    round_trip(&scrypt, "scrypt n=1024");
    round_trip(&pbkdf2, "pbkdf2 c=1000");
    test_share_round_trip();
    test_encrypt_arguments();

    tkms_secret_key sk;
    secret_from_seed(&sk, 5);
    char *scrypt_doc = encrypt_or_die(&sk, &scrypt, NULL);
    char *pbkdf2_doc = encrypt_or_die(&sk, &pbkdf2, NULL);
    test_malformed_json(scrypt_doc);
    run_edit_cases(scrypt_doc, common_cases, sizeof common_cases / sizeof *common_cases,
                   "scrypt");
    run_edit_cases(pbkdf2_doc, common_cases, sizeof common_cases / sizeof *common_cases,
                   "pbkdf2");
    run_edit_cases(scrypt_doc, scrypt_cases, sizeof scrypt_cases / sizeof *scrypt_cases,
                   "scrypt");
    run_edit_cases(pbkdf2_doc, pbkdf2_cases, sizeof pbkdf2_cases / sizeof *pbkdf2_cases,
                   "pbkdf2");
    test_scrypt_memory_limit(scrypt_doc);
    free(scrypt_doc);
    free(pbkdf2_doc);

    test_share_cases();
    test_bad_plaintexts();
    return test_report();
}
