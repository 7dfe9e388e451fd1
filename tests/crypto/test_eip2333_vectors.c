/*
 * test_eip2333_vectors.c — EIP-2333 key derivation against the EIP's own
 * test cases (eip-2333/test_cases.json and the master/child part of
 * test_vector_intermediate.json, read in place):
 * tkms_derive_master_key(seed) == master_SK and
 * tkms_derive_child_key(master_SK, child_index) == child_SK.
 * The SKs are printed in the EIP as decimal integers; they are converted to
 * 32 big-endian bytes here. Also: input key material under 32 bytes is
 * refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "tkms/hex.h"
#include "tkms/keyderive.h"

/* Decimal string -> 32-byte big-endian integer (out = out * 10 + digit, one
 * digit at a time). False if `s` is empty, not all digits, or >= 2^256. */
static bool decimal_to_be32(const char *s, uint8_t out[32])
{
    memset(out, 0, 32);
    if (s == NULL || *s == '\0')
        return false;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return false;
        unsigned carry = (unsigned)(*s - '0');
        for (int i = 31; i >= 0; i--) {
            unsigned v = out[i] * 10u + carry;
            out[i] = (uint8_t)v;
            carry = v >> 8;
        }
        if (carry != 0)
            return false;
    }
    return true;
}

static void check_decimal_conversion(void)
{
    /* the group order r, whose hex is well known */
    static const char r_dec[] =
        "52435875175126190479447740508185965837690552500527637822603658699938581184513";
    static const uint8_t r_be[32] = {
        0x73, 0xed, 0xa7, 0x53, 0x29, 0x9d, 0x7d, 0x48, 0x33, 0x39, 0xd8, 0x08, 0x09, 0xa1, 0xd8, 0x05,
        0x53, 0xbd, 0xa4, 0x02, 0xff, 0xfe, 0x5b, 0xfe, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01};
    uint8_t b[32];
    CHECK(decimal_to_be32(r_dec, b) && memcmp(b, r_be, 32) == 0, "decimal r converts");
    CHECK(decimal_to_be32("258", b) && b[30] == 1 && b[31] == 2, "decimal 258 converts");
    static const uint8_t all_ones[32] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    CHECK(decimal_to_be32("115792089237316195423570985008687907853269984665640564039457584007913129639935", b) &&
          memcmp(b, all_ones, 32) == 0, "2^256 - 1 converts");
    CHECK(!decimal_to_be32("115792089237316195423570985008687907853269984665640564039457584007913129639936", b),
          "2^256 does not fit");
    CHECK(!decimal_to_be32("12a", b) && !decimal_to_be32("", b), "non-decimal refused");
}

/* Checks that `sk` equals the decimal `want`. */
static void check_sk(const char *name, const char *what, const tkms_secret_key *sk,
                     const char *want)
{
    uint8_t want_b[32], have[32];
    if (!decimal_to_be32(want, want_b)) {
        CHECK(false, "%s: %s '%s' is not a decimal below 2^256", name, what,
              want ? want : "(missing)");
        return;
    }
    tkms_secret_key_to_bytes(have, sk);
    char hex[TKMS_HEX_SIZE(32)], want_hex[TKMS_HEX_SIZE(32)];
    tkms_hex_encode(hex, have, 32);
    tkms_hex_encode(want_hex, want_b, 32);
    CHECK(memcmp(have, want_b, 32) == 0, "%s: %s is %s, expected %s (%s)", name, what,
          hex, want_hex, want);
}

/* One case object: {seed, master_SK, child_index, child_SK}. */
static void run_case(const char *name, json_t *c)
{
    const char *seed_hex = json_string_value(json_object_get(c, "seed"));
    const char *master_dec = json_string_value(json_object_get(c, "master_SK"));
    const char *child_dec = json_string_value(json_object_get(c, "child_SK"));
    json_t *index = json_object_get(c, "child_index");
    uint8_t *seed;
    size_t seed_len;
    bool ok = seed_hex != NULL && test_hex(seed_hex, &seed, &seed_len) &&
              json_is_integer(index) && json_integer_value(index) >= 0 &&
              json_integer_value(index) <= UINT32_MAX;
    CHECK(ok, "%s: malformed seed or child_index", name);
    if (!ok)
        return;
    uint32_t idx = (uint32_t)json_integer_value(index);

    tkms_secret_key master, child;
    tkms_status st = tkms_derive_master_key(&master, seed, seed_len);
    CHECK(st == TKMS_OK, "%s: derive_master_SK failed: %s", name, tkms_status_string(st));
    if (st == TKMS_OK) {
        check_sk(name, "master_SK", &master, master_dec);
        st = tkms_derive_child_key(&child, &master, idx);
        CHECK(st == TKMS_OK, "%s: derive_child_SK failed: %s", name, tkms_status_string(st));
        if (st == TKMS_OK)
            check_sk(name, "child_SK", &child, child_dec);
    }

    /* child from the published master alone, so a master mismatch does not
     * hide a child-derivation fault */
    uint8_t mb[32];
    tkms_secret_key given;
    if (decimal_to_be32(master_dec, mb) && tkms_secret_key_from_bytes(&given, mb) == TKMS_OK &&
        tkms_derive_child_key(&child, &given, idx) == TKMS_OK)
        check_sk(name, "child_SK of the published master_SK", &child, child_dec);
    else
        CHECK(false, "%s: no child key from the published master_SK", name);

    tkms_secret_key_wipe(&master);
    tkms_secret_key_wipe(&child);
    tkms_secret_key_wipe(&given);
    free(seed);
}

static void check_short_ikm(void)
{
    uint8_t ikm[TKMS_IKM_MIN_SIZE];
    memset(ikm, 0x42, sizeof ikm);
    tkms_secret_key sk;
    CHECK(tkms_derive_master_key(&sk, ikm, 0) == TKMS_ERR_INVALID_ARGUMENT, "empty IKM refused");
    CHECK(tkms_derive_master_key(&sk, ikm, 16) == TKMS_ERR_INVALID_ARGUMENT, "16-byte IKM refused");
    CHECK(tkms_derive_master_key(&sk, ikm, sizeof ikm - 1) == TKMS_ERR_INVALID_ARGUMENT,
          "31-byte IKM refused");
    CHECK(tkms_derive_master_key(&sk, ikm, sizeof ikm) == TKMS_OK, "32-byte IKM accepted");
    tkms_secret_key_wipe(&sk);
}

int main(void)
{
    check_decimal_conversion();

    json_t *doc = test_load_json(test_vector_path("eip-2333/test_cases.json"));
    json_t *cases = json_object_get(doc, "test_cases");
    size_t n = json_array_size(cases);
    CHECK(n == 4, "eip-2333/test_cases.json: %zu cases, expected 4", n);
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(cases, i);
        char name[128];
        snprintf(name, sizeof name, "test_cases.json \"%s\"",
                 json_string_value(json_object_get(c, "name")) ? json_string_value(json_object_get(c, "name")) : "?");
        run_case(name, c);
    }
    json_decref(doc);

    doc = test_load_json(test_vector_path("eip-2333/test_vector_intermediate.json"));
    json_t *v = json_object_get(doc, "test_vector");
    CHECK(json_is_object(v), "test_vector_intermediate.json: no test_vector");
    if (json_is_object(v))
        run_case("test_vector_intermediate.json", v);
    json_decref(doc);

    check_short_ikm();
    return test_report();
}
