/*
 * test_rules.c — the server's authorization rules (src/server/rules.h):
 * deny by default (empty set, unauthenticated client, unknown operation or
 * type), exact and wildcard clients, "sign" against single signing types,
 * per-key lists (sorted, duplicates, NULL key), admin / ceremony / metrics
 * independent of keys, every validation error of server_rules_add and
 * server_rules_add_names with its message, the rule limit, and the
 * one-line denial reasons.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "test.h"
#include "tkms/hex.h"

static uint8_t key_a[48], key_b[48], key_c[48];
static char hex_a[TKMS_HEX_SIZE(48)], hex_b[TKMS_HEX_SIZE(48)], hex_c[TKMS_HEX_SIZE(48)];

static void make_keys(void)
{
    for (int i = 0; i < 48; i++) {
        key_a[i] = (uint8_t)(0xa0 + i);
        key_b[i] = (uint8_t)(0x10 + i);
        key_c[i] = (uint8_t)(0x55 ^ i);
    }
    tkms_hex_encode(hex_a, key_a, 48);
    tkms_hex_encode(hex_b, key_b, 48);
    tkms_hex_encode(hex_c, key_c, 48);
}

static bool contains(const char *text, const char *part)
{
    return strstr(text, part) != NULL;
}

static void test_empty_denies(void)
{
    server_rules *r = NULL;
    CHECK(server_rules_new(&r, NULL) == TKMS_OK && r != NULL, "new");
    CHECK(server_rules_count(r) == 0, "empty");
    CHECK(!server_rules_allow(r, "gateway", SERVER_OP_SIGN, TKMS_ETH2_ATTESTATION, key_a),
          "empty set denies sign");
    CHECK(!server_rules_allow(r, "gateway", SERVER_OP_ADMIN, 0, NULL), "empty set denies admin");
    CHECK(!server_rules_allow(r, "gateway", SERVER_OP_METRICS, 0, NULL),
          "empty set denies metrics");
    CHECK(!server_rules_allow(NULL, "gateway", SERVER_OP_METRICS, 0, NULL), "NULL set denies");
    CHECK(server_rules_count(NULL) == 0, "count of NULL");
    server_rules_free(r);
    server_rules_free(NULL);
}

static void test_wildcard_and_exact_clients(void)
{
    server_rules *r = NULL;
    server_rules_new(&r, NULL);
    const char *metrics[] = {"metrics"};
    const char *sign[] = {"sign"};
    CHECK(server_rules_add_names(r, "*", metrics, 1, NULL, 0, NULL) == TKMS_OK, "add * metrics");
    CHECK(server_rules_add_names(r, "gateway-1", sign, 1, NULL, 0, NULL) == TKMS_OK,
          "add gateway-1 sign");
    CHECK(server_rules_count(r) == 2, "two rules");

    CHECK(server_rules_allow(r, "anyone", SERVER_OP_METRICS, 0, NULL), "* matches any client");
    CHECK(server_rules_allow(r, "gateway-1", SERVER_OP_METRICS, 0, NULL), "* matches gateway-1");
    CHECK(!server_rules_allow(r, NULL, SERVER_OP_METRICS, 0, NULL),
          "* does not match an unauthenticated client (NULL)");
    CHECK(!server_rules_allow(r, "", SERVER_OP_METRICS, 0, NULL),
          "* does not match an unauthenticated client (\"\")");
    CHECK(!server_rules_allow(r, "anyone", SERVER_OP_ADMIN, 0, NULL), "metrics is not admin");

    CHECK(server_rules_allow(r, "gateway-1", SERVER_OP_SIGN, TKMS_ETH2_BLOCK_V2, key_a),
          "exact client signs");
    CHECK(!server_rules_allow(r, "gateway-2", SERVER_OP_SIGN, TKMS_ETH2_BLOCK_V2, key_a),
          "another client may not sign");
    CHECK(!server_rules_allow(r, "Gateway-1", SERVER_OP_SIGN, TKMS_ETH2_BLOCK_V2, key_a),
          "client names are case-sensitive");
    CHECK(!server_rules_allow(r, "gateway-1x", SERVER_OP_SIGN, TKMS_ETH2_BLOCK_V2, key_a),
          "no prefix matching");
    CHECK(!server_rules_allow(r, "*", SERVER_OP_SIGN, TKMS_ETH2_BLOCK_V2, key_a),
          "a client literally named * is not gateway-1");
    CHECK(!server_rules_allow(r, "gateway-1", SERVER_OP_ADMIN, 0, NULL), "sign is not admin");
    CHECK(!server_rules_allow(r, "gateway-1", SERVER_OP_CEREMONY, 0, NULL),
          "sign is not ceremony");
    server_rules_free(r);
}

static void test_sign_and_types(void)
{
    server_rules *r = NULL;
    server_rules_new(&r, NULL);
    const char *sign[] = {"sign"};
    const char *att[] = {"ATTESTATION", "AGGREGATE_AND_PROOF_V2"};
    CHECK(server_rules_add_names(r, "full", sign, 1, NULL, 0, NULL) == TKMS_OK, "add full");
    CHECK(server_rules_add_names(r, "att", att, 2, NULL, 0, NULL) == TKMS_OK, "add att");

    for (unsigned t = 0; t < SERVER_SIGN_TYPE_COUNT; t++) {
        bool att_ok = t == TKMS_ETH2_ATTESTATION || t == TKMS_ETH2_AGGREGATE_AND_PROOF_V2;
        CHECK(server_rules_allow(r, "full", SERVER_OP_SIGN, (tkms_eth2_type)t, key_a),
              "sign grants %s", tkms_eth2_type_name((tkms_eth2_type)t));
        CHECK(server_rules_allow(r, "att", SERVER_OP_SIGN, (tkms_eth2_type)t, key_a) == att_ok,
              "ATTESTATION/AGGREGATE_AND_PROOF_V2 rule and %s",
              tkms_eth2_type_name((tkms_eth2_type)t));
    }
    CHECK(!server_rules_allow(r, "full", SERVER_OP_SIGN, (tkms_eth2_type)SERVER_SIGN_TYPE_COUNT,
                              key_a),
          "unknown signing type denied");
    CHECK(!server_rules_allow(r, "full", SERVER_OP_SIGN, (tkms_eth2_type)-1, key_a),
          "negative signing type denied");
    CHECK(!server_rules_allow(r, "full", (server_operation)99, 0, NULL),
          "unknown operation denied");
    CHECK(server_rules_allow(r, "full", SERVER_OP_SIGN, TKMS_ETH2_DEPOSIT, NULL),
          "any-key rule allows a NULL key");

    /* every type name is an operation, and only those */
    for (unsigned t = 0; t < SERVER_SIGN_TYPE_COUNT; t++) {
        server_op_set set = 0;
        CHECK(server_op_set_add(&set, tkms_eth2_type_name((tkms_eth2_type)t), NULL) == TKMS_OK &&
                  set == SERVER_OPS_SIGN_TYPE(t),
              "type %u is an operation", t);
    }
    server_op_set set = 0;
    CHECK(server_op_set_add(&set, "sign", NULL) == TKMS_OK && set == SERVER_OPS_SIGN_ALL,
          "sign is every type");
    tkms_err err;
    CHECK(server_op_set_add(&set, "BLOCK", &err) == TKMS_ERR_BAD_FORMAT &&
              contains(err.message, "unknown operation 'BLOCK'"),
          "BLOCK (v1) is not an operation: %s", err.message);
    CHECK(server_op_set_add(&set, "UNKNOWN", &err) == TKMS_ERR_BAD_FORMAT,
          "UNKNOWN is not an operation");
    CHECK(server_op_set_add(&set, "attestation", &err) == TKMS_ERR_BAD_FORMAT,
          "operation names are case-sensitive");
    CHECK(server_op_set_add(&set, "Admin", &err) == TKMS_ERR_BAD_FORMAT, "Admin refused");
    CHECK(server_op_set_add(NULL, "sign", &err) == TKMS_ERR_INVALID_ARGUMENT, "NULL set");
    server_rules_free(r);
}

static void test_keys(void)
{
    server_rules *r = NULL;
    server_rules_new(&r, NULL);
    const char *sign[] = {"sign", "admin"};
    /* c, a, c: unsorted with a duplicate; upper-case hex and without 0x */
    char upper_c[TKMS_HEX_SIZE(48)];
    strcpy(upper_c, hex_c + 2);
    for (char *p = upper_c; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    const char *keys[] = {hex_c, hex_a, upper_c};
    CHECK(server_rules_add_names(r, "gw", sign, 2, keys, 3, NULL) == TKMS_OK, "add with keys");
    CHECK(server_rules_allow(r, "gw", SERVER_OP_SIGN, TKMS_ETH2_ATTESTATION, key_a), "key a");
    CHECK(server_rules_allow(r, "gw", SERVER_OP_SIGN, TKMS_ETH2_ATTESTATION, key_c), "key c");
    CHECK(!server_rules_allow(r, "gw", SERVER_OP_SIGN, TKMS_ETH2_ATTESTATION, key_b),
          "key b not listed");
    CHECK(!server_rules_allow(r, "gw", SERVER_OP_SIGN, TKMS_ETH2_ATTESTATION, NULL),
          "NULL key does not match a key list");
    CHECK(server_rules_allow(r, "gw", SERVER_OP_ADMIN, 0, NULL),
          "keys do not restrict admin");

    /* a second rule for the same client adds key b for RANDAO_REVEAL only */
    uint8_t one[1][48];
    memcpy(one[0], key_b, 48);
    CHECK(server_rules_add(r, "gw", SERVER_OPS_SIGN_TYPE(TKMS_ETH2_RANDAO_REVEAL), false,
                           (const uint8_t (*)[48])one, 1, NULL) == TKMS_OK,
          "add binary rule");
    CHECK(server_rules_allow(r, "gw", SERVER_OP_SIGN, TKMS_ETH2_RANDAO_REVEAL, key_b),
          "rules combine: key b for RANDAO_REVEAL");
    CHECK(!server_rules_allow(r, "gw", SERVER_OP_SIGN, TKMS_ETH2_ATTESTATION, key_b),
          "but not for ATTESTATION");

    /* many keys: binary search finds every one */
    enum { MANY = 500 };
    uint8_t (*many)[48] = malloc(MANY * sizeof *many);
    for (int i = 0; i < MANY; i++) {
        memset(many[i], 0, 48);
        many[i][0] = (uint8_t)(i * 37);
        many[i][47] = (uint8_t)(i >> 3);
        many[i][10] = (uint8_t)i;
    }
    server_rules *m = NULL;
    server_rules_new(&m, NULL);
    CHECK(server_rules_add(m, "x", SERVER_OPS_SIGN_ALL, false, (const uint8_t (*)[48])many, MANY,
                           NULL) == TKMS_OK,
          "add many");
    bool all = true;
    for (int i = 0; i < MANY; i++)
        all &= server_rules_allow(m, "x", SERVER_OP_SIGN, TKMS_ETH2_BLOCK_V2, many[i]);
    CHECK(all, "every listed key found");
    CHECK(!server_rules_allow(m, "x", SERVER_OP_SIGN, TKMS_ETH2_BLOCK_V2, key_a),
          "unlisted key not found");
    free(many);
    server_rules_free(m);
    server_rules_free(r);
}

static void test_admin_ceremony_metrics(void)
{
    server_rules *r = NULL;
    server_rules_new(&r, NULL);
    CHECK(server_rules_add(r, "operator", SERVER_OPS_ADMIN | SERVER_OPS_CEREMONY, true, NULL, 0,
                           NULL) == TKMS_OK,
          "add operator");
    CHECK(server_rules_add(r, "prometheus", SERVER_OPS_METRICS, true, NULL, 0, NULL) == TKMS_OK,
          "add prometheus");
    CHECK(server_rules_allow(r, "operator", SERVER_OP_ADMIN, 0, NULL), "operator admin");
    CHECK(server_rules_allow(r, "operator", SERVER_OP_CEREMONY, 0, NULL), "operator ceremony");
    CHECK(!server_rules_allow(r, "operator", SERVER_OP_METRICS, 0, NULL), "operator no metrics");
    CHECK(!server_rules_allow(r, "operator", SERVER_OP_SIGN, TKMS_ETH2_ATTESTATION, NULL),
          "operator may not sign");
    CHECK(server_rules_allow(r, "prometheus", SERVER_OP_METRICS, 0, key_a),
          "metrics ignores a key");
    CHECK(!server_rules_allow(r, "prometheus", SERVER_OP_ADMIN, 0, NULL), "prometheus no admin");
    CHECK(!server_rules_allow(r, "prometheus", SERVER_OP_CEREMONY, 0, NULL),
          "prometheus no ceremony");
    CHECK(strcmp(server_operation_name(SERVER_OP_CEREMONY), "ceremony") == 0 &&
              strcmp(server_operation_name((server_operation)42), "unknown") == 0,
          "operation names");
    server_rules_free(r);
}

static void test_errors(void)
{
    server_rules *r = NULL;
    server_rules_new(&r, NULL);
    tkms_err err;
    const char *sign[] = {"sign"};
    const char *bad_ops[] = {"sign", "sgin"};
    const char *admin[] = {"admin"};

    CHECK(server_rules_add_names(r, "gw", bad_ops, 2, NULL, 0, &err) == TKMS_ERR_BAD_FORMAT &&
              contains(err.message, "operations[1]: unknown operation 'sgin'"),
          "unknown operation named: %s", err.message);
    CHECK(server_rules_add_names(r, "gw", sign, 0, NULL, 0, &err) == TKMS_ERR_BAD_FORMAT &&
              contains(err.message, "operations: none given"),
          "no operations: %s", err.message);
    const char *bad_key[] = {hex_a, "0x1234"};
    CHECK(server_rules_add_names(r, "gw", sign, 1, bad_key, 2, &err) == TKMS_ERR_BAD_FORMAT &&
              contains(err.message, "keys[1]: bad key '0x1234'"),
          "bad key named: %s", err.message);
    const char *not_hex[] = {"0xzz"};
    CHECK(server_rules_add_names(r, "gw", sign, 1, not_hex, 1, &err) == TKMS_ERR_BAD_FORMAT &&
              contains(err.message, "expected 0x and 96 hex digits"),
          "non-hex key: %s", err.message);
    const char *mixed[] = {"*", hex_a};
    CHECK(server_rules_add_names(r, "gw", sign, 1, mixed, 2, &err) == TKMS_ERR_BAD_FORMAT &&
              contains(err.message, "cannot be mixed"),
          "* mixed with keys: %s", err.message);
    CHECK(server_rules_add_names(r, "gw", sign, 1, mixed, 0, &err) == TKMS_ERR_BAD_FORMAT &&
              contains(err.message, "keys: empty list"),
          "empty key list: %s", err.message);
    const char *one_key[] = {hex_a};
    CHECK(server_rules_add_names(r, "gw", admin, 1, one_key, 1, &err) == TKMS_ERR_BAD_FORMAT &&
              contains(err.message, "keys: only restrict signing"),
          "keys on a rule without signing: %s", err.message);
    const char *star[] = {"*"};
    CHECK(server_rules_add_names(r, "gw", admin, 1, star, 1, &err) == TKMS_OK,
          "\"*\" keys on admin is fine");
    CHECK(server_rules_add_names(r, "", sign, 1, NULL, 0, &err) == TKMS_ERR_BAD_FORMAT &&
              contains(err.message, "client:"),
          "empty client: %s", err.message);
    CHECK(server_rules_add_names(r, "a\nb", sign, 1, NULL, 0, &err) == TKMS_ERR_BAD_FORMAT,
          "client with a newline");
    char long_name[SERVER_CLIENT_MAX_SIZE + 2];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    CHECK(server_rules_add_names(r, long_name, sign, 1, NULL, 0, &err) == TKMS_ERR_BAD_FORMAT,
          "client longer than 255 bytes");
    long_name[SERVER_CLIENT_MAX_SIZE] = '\0';
    CHECK(server_rules_add_names(r, long_name, sign, 1, NULL, 0, &err) == TKMS_OK,
          "client of 255 bytes");
    CHECK(server_rules_add_names(r, "caf\xc3\xa9", sign, 1, NULL, 0, &err) == TKMS_OK,
          "UTF-8 client name");
    CHECK(server_rules_add(r, "gw", 0, true, NULL, 0, &err) == TKMS_ERR_BAD_FORMAT,
          "binary: no operations");
    CHECK(server_rules_add(r, "gw", 1u << 30, true, NULL, 0, &err) == TKMS_ERR_BAD_FORMAT,
          "binary: unknown bits");
    CHECK(server_rules_add(r, "gw", SERVER_OPS_SIGN_ALL, false, NULL, 0, &err) ==
              TKMS_ERR_INVALID_ARGUMENT,
          "binary: neither any key nor keys");
    CHECK(server_rules_add(r, "gw", SERVER_OPS_SIGN_ALL, false, NULL, 2, &err) ==
              TKMS_ERR_INVALID_ARGUMENT,
          "binary: NULL keys with a count");
    CHECK(server_rules_add(NULL, "gw", SERVER_OPS_SIGN_ALL, true, NULL, 0, &err) ==
              TKMS_ERR_INVALID_ARGUMENT,
          "NULL set");
    CHECK(server_rules_add(r, NULL, SERVER_OPS_SIGN_ALL, true, NULL, 0, &err) ==
              TKMS_ERR_INVALID_ARGUMENT,
          "NULL client");
    CHECK(server_rules_count(r) == 3, "failures added nothing (%zu)", server_rules_count(r));
    uint8_t key[48];
    CHECK(server_rule_key_parse(key, hex_b, NULL) == TKMS_OK && memcmp(key, key_b, 48) == 0,
          "key parse");
    CHECK(server_rule_key_parse(key, "0x\x01\x02", &err) == TKMS_ERR_BAD_FORMAT &&
              contains(err.message, "'0x?" "?'"),
          "control characters shown as ?: %s", err.message);
    server_rules_free(r);
}

static void test_limit(void)
{
    server_rules *r = NULL;
    server_rules_new(&r, NULL);
    bool ok = true;
    char name[32];
    for (unsigned i = 0; i < SERVER_RULES_MAX; i++) {
        snprintf(name, sizeof name, "c%u", i);
        ok &= server_rules_add(r, name, SERVER_OPS_METRICS, true, NULL, 0, NULL) == TKMS_OK;
    }
    CHECK(ok && server_rules_count(r) == SERVER_RULES_MAX, "1024 rules fit");
    tkms_err err;
    CHECK(server_rules_add(r, "one-more", SERVER_OPS_METRICS, true, NULL, 0, &err) ==
                  TKMS_ERR_BAD_FORMAT &&
              contains(err.message, "more than 1024 rules"),
          "rule 1025 refused: %s", err.message);
    CHECK(server_rules_allow(r, "c1023", SERVER_OP_METRICS, 0, NULL), "last rule matches");
    server_rules_free(r);
}

static void test_denial(void)
{
    char out[SERVER_RULES_DENIAL_SIZE];
    char expected[SERVER_RULES_DENIAL_SIZE];
    server_rules_denial(out, sizeof out, "gateway-2", SERVER_OP_SIGN, TKMS_ETH2_ATTESTATION, key_a);
    snprintf(expected, sizeof expected, "client gateway-2 may not sign ATTESTATION for key %s",
             hex_a);
    CHECK(strcmp(out, expected) == 0, "sign denial: %s", out);
    server_rules_denial(out, sizeof out, "gateway-2", SERVER_OP_SIGN, TKMS_ETH2_BLOCK_V2, NULL);
    CHECK(strcmp(out, "client gateway-2 may not sign BLOCK_V2") == 0, "no key: %s", out);
    server_rules_denial(out, sizeof out, "x", SERVER_OP_ADMIN, 0, NULL);
    CHECK(strcmp(out, "client x may not use admin") == 0, "admin: %s", out);
    server_rules_denial(out, sizeof out, "x", SERVER_OP_CEREMONY, 0, key_a);
    CHECK(strcmp(out, "client x may not use ceremony") == 0, "ceremony ignores key: %s", out);
    server_rules_denial(out, sizeof out, NULL, SERVER_OP_METRICS, 0, NULL);
    CHECK(strcmp(out, "an unauthenticated client may not use metrics") == 0, "NULL: %s", out);
    server_rules_denial(out, sizeof out, "", SERVER_OP_METRICS, 0, NULL);
    CHECK(strcmp(out, "an unauthenticated client may not use metrics") == 0, "empty: %s", out);
    server_rules_denial(out, sizeof out, "evil\nname\x7f", SERVER_OP_ADMIN, 0, NULL);
    CHECK(strcmp(out, "client evil?name? may not use admin") == 0, "sanitized: %s", out);
    char long_name[300];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    server_rules_denial(out, sizeof out, long_name, SERVER_OP_SIGN,
                        TKMS_ETH2_SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF, key_a);
    CHECK(strlen(out) < sizeof out && contains(out, "...") && contains(out, hex_a),
          "long client cut, key kept: %s", out);
    server_rules_denial(out, 8, "gateway", SERVER_OP_ADMIN, 0, NULL);
    CHECK(strlen(out) == 7, "small buffer truncates safely");
}

int main(void)
{
    make_keys();
    test_empty_denies();
    test_wildcard_and_exact_clients();
    test_sign_and_types();
    test_keys();
    test_admin_ceremony_metrics();
    test_errors();
    test_limit();
    test_denial();
    return test_report();
}
