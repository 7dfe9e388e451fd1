/*
 * test_signing_roots.c — signing roots of Web3Signer eth2 sign requests
 * (tkms/eth2.h).
 *
 * 1. Every request body Lodestar 1.5.1 sent (../shared/lodestar/
 *    captured-requests: mainnet preset; captured-devnet-requests: a
 *    minimal-preset `lodestar dev` chain) is parsed in place and its
 *    signing root recomputed; it must equal the client's own signingRoot,
 *    computed by an independent implementation.
 * 2. Known answers for domains, and the fork-version choice.
 * 3. Bad input: missing fields, wrong lengths, bad numbers, bitlists and
 *    bitvectors, lists over their limits, refused types, a changed
 *    signingRoot — each refused with a message naming the field.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "tkms/eth2.h"
#include "tkms/hex.h"
#include "test.h"

/* The minimal-preset devnet `lodestar dev` runs (GENESIS_FORK_VERSION of
 * Lodestar's minimal config). */
static const tkms_eth2_chain DEVNET = {
    .preset = TKMS_ETH2_PRESET_MINIMAL,
    .genesis_fork_version = {0x00, 0x00, 0x00, 0x01},
};

/* ---- finding the captured requests (read in place) ------------------- */

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Recomputes every request body (*.json not starting with '_') in `sub`. */
static size_t check_captured_dir(const char *sub, const tkms_eth2_chain *chain)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", test_lodestar_path(sub));
    DIR *d = opendir(dir);
    if (d == NULL)
        test_fatal("missing %s", dir);
    char *names[256];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 256) {
        size_t len = strlen(e->d_name);
        if (len > 5 && e->d_name[0] != '_' && strcmp(e->d_name + len - 5, ".json") == 0)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, compare_strings);
    CHECK(n > 0, "%s holds request bodies", dir);

    for (size_t i = 0; i < n; i++) {
        char path[4200];
        size_t len;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        char *body = test_read_file(path, &len);
        tkms_eth2_request req;
        tkms_err err;
        tkms_status st = tkms_eth2_parse_sign_request(&req, body, len, chain, &err);
        if (strstr(names[i], "ERR_unknown_pubkey") != NULL) {
            /* the probe sent a made-up all-zero signingRoot with this one */
            CHECK(st == TKMS_ERR_VERIFY_FAILED &&
                      strstr(err.message, "body says 0x0000000000000000") != NULL,
                  "%s/%s: the made-up root is a mismatch (%s)", sub, names[i], err.message);
        } else {
            CHECK(st == TKMS_OK && req.has_body_signing_root,
                  "%s/%s: signing root recomputed and matched (%s)", sub, names[i],
                  err.message);
            if (st == TKMS_OK)
                printf("  ok %-28s %-40s %s\n", sub, names[i], tkms_eth2_type_name(req.type));
        }
        free(body);
        free(names[i]);
    }
    return n;
}

/* ---- helpers for hand-written bodies ---------------------------------- */

static tkms_status parse_str(tkms_eth2_request *req, const char *body,
                             const tkms_eth2_chain *chain, tkms_err *err)
{
    return tkms_eth2_parse_sign_request(req, body, strlen(body), chain, err);
}

/* Parses `body` and expects `want` with a message containing `fragment`. */
static void expect_fail(const char *what, const char *body, tkms_status want,
                        const char *fragment)
{
    tkms_eth2_request req;
    tkms_err err;
    tkms_status st = parse_str(&req, body, &TKMS_ETH2_MAINNET, &err);
    CHECK(st == want && strstr(err.message, fragment) != NULL,
          "%s: want status %d with '%s', got %d '%s'", what, want, fragment, st, err.message);
    if (st != TKMS_ERR_VERIFY_FAILED)
        CHECK(req.type == 0 && !req.has_slot && req.signing_root[0] == 0,
              "%s: a refusal leaves the request zeroed", what);
}

static json_t *load(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (j == NULL)
        test_fatal("test body does not parse: %s", e.text);
    return j;
}

/* Dumps j (consumed) and expects the failure. */
static void expect_fail_json(const char *what, json_t *j, tkms_status want,
                             const char *fragment)
{
    char *text = json_dumps(j, JSON_COMPACT);
    expect_fail(what, text, want, fragment);
    free(text);
    json_decref(j);
}

static json_t *get_path(json_t *j, const char *dotted)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", dotted);
    for (char *tok = strtok(buf, "."); tok != NULL && j != NULL; tok = strtok(NULL, "."))
        j = json_object_get(j, tok);
    if (j == NULL)
        test_fatal("test body has no %s", dotted);
    return j;
}

static const char FORK_INFO[] =
    "\"fork_info\":{\"fork\":{\"previous_version\":\"0x02000000\","
    "\"current_version\":\"0x03000000\",\"epoch\":\"3\"},"
    "\"genesis_validators_root\":"
    "\"0x04700007fabc8282644aed6d1c7c9e21d38a03a0c4ba193f3afe428824b3a673\"}";

#define R32(c) "0x" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define SIG "\"0x" "c0" "0000000000000000000000000000000000000000000000000000000000000000" \
            "0000000000000000000000000000000000000000000000000000000000000000" \
            "00000000000000000000000000000000000000000000000000000000000000\""

static char *attestation_body(void)
{
    static char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"type\":\"ATTESTATION\",%s,\"attestation\":{\"slot\":\"101\",\"index\":\"0\","
             "\"beacon_block_root\":\"" R32("11") "\","
             "\"source\":{\"epoch\":\"2\",\"root\":\"" R32("22") "\"},"
             "\"target\":{\"epoch\":\"3\",\"root\":\"" R32("33") "\"}}}",
             FORK_INFO);
    return buf;
}

/* A phase0 block whose body carries one of every operation. */
static const char *full_block_body(void)
{
    return "{\"type\":\"BLOCK_V2\","
           "\"fork_info\":{\"fork\":{\"previous_version\":\"0x00000000\","
           "\"current_version\":\"0x00000000\",\"epoch\":\"0\"},"
           "\"genesis_validators_root\":\"" R32("04") "\"},"
           "\"beacon_block\":{\"version\":\"PHASE0\",\"block\":{\"slot\":\"9\","
           "\"proposer_index\":\"3\",\"parent_root\":\"" R32("01") "\","
           "\"state_root\":\"" R32("02") "\",\"body\":{\"randao_reveal\":" SIG ","
           "\"eth1_data\":{\"deposit_root\":\"" R32("03") "\",\"deposit_count\":\"8\","
           "\"block_hash\":\"" R32("05") "\"},\"graffiti\":\"" R32("06") "\","
           "\"proposer_slashings\":[{\"signed_header_1\":{\"message\":{\"slot\":\"4\","
           "\"proposer_index\":\"1\",\"parent_root\":\"" R32("07") "\",\"state_root\":\""
           R32("08") "\",\"body_root\":\"" R32("09") "\"},\"signature\":" SIG "},"
           "\"signed_header_2\":{\"message\":{\"slot\":\"4\",\"proposer_index\":\"1\","
           "\"parent_root\":\"" R32("07") "\",\"state_root\":\"" R32("08") "\","
           "\"body_root\":\"" R32("0a") "\"},\"signature\":" SIG "}}],"
           "\"attester_slashings\":[{\"attestation_1\":{\"attesting_indices\":[\"1\",\"2\"],"
           "\"data\":{\"slot\":\"3\",\"index\":\"0\",\"beacon_block_root\":\"" R32("0b") "\","
           "\"source\":{\"epoch\":\"0\",\"root\":\"" R32("00") "\"},\"target\":{\"epoch\":\"0\","
           "\"root\":\"" R32("0c") "\"}},\"signature\":" SIG "},"
           "\"attestation_2\":{\"attesting_indices\":[\"2\"],"
           "\"data\":{\"slot\":\"3\",\"index\":\"0\",\"beacon_block_root\":\"" R32("0d") "\","
           "\"source\":{\"epoch\":\"0\",\"root\":\"" R32("00") "\"},\"target\":{\"epoch\":\"0\","
           "\"root\":\"" R32("0c") "\"}},\"signature\":" SIG "}}],"
           "\"attestations\":[{\"aggregation_bits\":\"0x0b\",\"data\":{\"slot\":\"8\","
           "\"index\":\"0\",\"beacon_block_root\":\"" R32("0e") "\",\"source\":{\"epoch\":\"0\","
           "\"root\":\"" R32("00") "\"},\"target\":{\"epoch\":\"0\",\"root\":\"" R32("0f") "\"}},"
           "\"signature\":" SIG "}],"
           "\"deposits\":[{\"proof\":["
           "\"" R32("10") "\",\"" R32("11") "\",\"" R32("12") "\",\"" R32("13") "\",\"" R32("14") "\","
           "\"" R32("15") "\",\"" R32("16") "\",\"" R32("17") "\",\"" R32("18") "\",\"" R32("19") "\","
           "\"" R32("1a") "\",\"" R32("1b") "\",\"" R32("1c") "\",\"" R32("1d") "\",\"" R32("1e") "\","
           "\"" R32("1f") "\",\"" R32("20") "\",\"" R32("21") "\",\"" R32("22") "\",\"" R32("23") "\","
           "\"" R32("24") "\",\"" R32("25") "\",\"" R32("26") "\",\"" R32("27") "\",\"" R32("28") "\","
           "\"" R32("29") "\",\"" R32("2a") "\",\"" R32("2b") "\",\"" R32("2c") "\",\"" R32("2d") "\","
           "\"" R32("2e") "\",\"" R32("2f") "\",\"" R32("30") "\"],"
           "\"data\":{\"pubkey\":\"0xa99a76ed7796f7be22d5b7e85deeb7c5677e88e511e0b337618f8c4eb61349b4"
           "bf2d153f649f7b53359fe8b94a38e44c\",\"withdrawal_credentials\":\"" R32("31") "\","
           "\"amount\":\"32000000000\",\"signature\":" SIG "}}],"
           "\"voluntary_exits\":[{\"message\":{\"epoch\":\"1\",\"validator_index\":\"5\"},"
           "\"signature\":" SIG "}]}}}}";
}

static void hex32(uint8_t out[32], const char *hex)
{
    if (tkms_hex_decode(out, 32, hex, NULL) != TKMS_OK)
        test_fatal("bad test hex %s", hex);
}

/* reference roots computed once by independent implementations (see
 * test_fields and test_aggregate_v2) */
#define ELECTRA_AGGREGATE_SIGNING_ROOT "0x481a4e024ca63d7e31fb1d33ef86e075428ce35c6d54a1d7489388ba2d24e061"
#define FULL_BLOCK_SIGNING_ROOT "0xcd7fe3cd9627a2bc93c90916810a33f112b95b8565ae1f24c59773ca83f64147"

/* ---- known answers ----------------------------------------------------- */

static void test_domains(void)
{
    /* the mainnet deposit domain, as deposit tooling prints it */
    static const uint8_t zero[32];
    uint8_t domain[32], want[32];
    tkms_eth2_compute_domain(domain, TKMS_ETH2_DOMAIN_DEPOSIT,
                             TKMS_ETH2_MAINNET.genesis_fork_version, zero);
    hex32(want, "0x03000000f5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a9");
    CHECK(memcmp(domain, want, 32) == 0, "mainnet DOMAIN_DEPOSIT");

    /* get_domain: previous_version before fork.epoch, current from it on */
    tkms_eth2_fork_info fi = {
        .previous_version = {1, 0, 0, 0}, .current_version = {2, 0, 0, 0}, .epoch = 10,
    };
    uint8_t prev[32], cur[32];
    tkms_eth2_compute_domain(prev, TKMS_ETH2_DOMAIN_RANDAO, fi.previous_version,
                             fi.genesis_validators_root);
    tkms_eth2_compute_domain(cur, TKMS_ETH2_DOMAIN_RANDAO, fi.current_version,
                             fi.genesis_validators_root);
    tkms_eth2_fork_domain(domain, TKMS_ETH2_DOMAIN_RANDAO, 9, &fi);
    CHECK(memcmp(domain, prev, 32) == 0, "epoch 9 < fork epoch 10: previous_version");
    tkms_eth2_fork_domain(domain, TKMS_ETH2_DOMAIN_RANDAO, 10, &fi);
    CHECK(memcmp(domain, cur, 32) == 0, "epoch 10 = fork epoch: current_version");
    CHECK(memcmp(prev, cur, 32) != 0, "the two versions give different domains");

    CHECK(tkms_eth2_slots_per_epoch(TKMS_ETH2_PRESET_MAINNET) == 32 &&
              tkms_eth2_slots_per_epoch(TKMS_ETH2_PRESET_MINIMAL) == 8,
          "slots per epoch");
    CHECK(strcmp(tkms_eth2_type_name(TKMS_ETH2_SYNC_COMMITTEE_SELECTION_PROOF),
                 "SYNC_COMMITTEE_SELECTION_PROOF") == 0 &&
              strcmp(tkms_eth2_type_name((tkms_eth2_type)99), "UNKNOWN") == 0,
          "type names");
}

/* The fields handed to the slashing rules, and a body without signingRoot. */
static void test_fields(void)
{
    tkms_eth2_request req;
    tkms_err err;
    CHECK(parse_str(&req, attestation_body(), &TKMS_ETH2_MAINNET, &err) == TKMS_OK,
          "attestation without signingRoot parses (%s)", err.message);
    CHECK(req.type == TKMS_ETH2_ATTESTATION && !req.has_body_signing_root &&
              req.has_slot && req.slot == 101 && req.source_epoch == 2 &&
              req.target_epoch == 3 && req.epoch == 3 && req.has_fork_info &&
              req.fork_info.epoch == 3 && req.fork_info.current_version[0] == 3,
          "attestation: slot, source and target epochs, fork_info");
    uint8_t want[32];
    tkms_eth2_signing_root(want, req.object_root, req.domain);
    CHECK(memcmp(want, req.signing_root, 32) == 0, "signing root = SigningData root");
    /* the same attestation Lodestar sent (12_ATTESTATION) */
    hex32(want, "0x7d1fb9e4292bd5683326fdd516a37980c063dc6465aa692d4ab78defa0f2161f");
    CHECK(memcmp(want, req.signing_root, 32) == 0, "attestation root matches Lodestar's");

    CHECK(parse_str(&req, full_block_body(), &TKMS_ETH2_MAINNET, &err) == TKMS_OK,
          "phase0 block with every operation parses (%s)", err.message);
    CHECK(req.type == TKMS_ETH2_BLOCK_V2 && req.has_slot && req.slot == 9 &&
              req.proposer_index == 3 && req.epoch == 0,
          "block: slot and proposer index");
    /* root computed by Lodestar 1.5.1 (@lodestar/types phase0.BeaconBlock,
     * computeSigningRoot) from the same JSON */
    hex32(want, FULL_BLOCK_SIGNING_ROOT);
    CHECK(memcmp(want, req.signing_root, 32) == 0,
          "full phase0 block root matches Lodestar's");

    /* the preset decides the epoch of a slot: slot 9 is epoch 1 on minimal */
    CHECK(parse_str(&req, full_block_body(), &DEVNET, &err) == TKMS_OK && req.epoch == 1,
          "minimal preset: slot 9 is epoch 1");
}

/* AGGREGATE_AND_PROOF_V2: { version, data }; ELECTRA and later carry the
 * EIP-7549 attestation (committee_bits, a 2048*64-bit bitlist). */
static const char AGGREGATE_V2[] =
    "{\"type\":\"AGGREGATE_AND_PROOF_V2\",%s,\"aggregate_and_proof\":{\"version\":\"%s\","
    "\"data\":{\"aggregator_index\":\"7\",\"aggregate\":{\"aggregation_bits\":\"0x0b01\","
    "\"data\":{\"slot\":\"101\",\"index\":\"0\",\"beacon_block_root\":\"" R32("11") "\","
    "\"source\":{\"epoch\":\"2\",\"root\":\"" R32("22") "\"},\"target\":{\"epoch\":\"3\","
    "\"root\":\"" R32("33") "\"}},\"signature\":" SIG "%s},\"selection_proof\":" SIG "}}}";

static void test_aggregate_v2(void)
{
    char body[4096];
    tkms_eth2_request req;
    tkms_err err;
    uint8_t want[32];
    snprintf(body, sizeof body, AGGREGATE_V2, FORK_INFO, "ELECTRA",
             ",\"committee_bits\":\"0x0100000000000000\"");
    CHECK(parse_str(&req, body, &TKMS_ETH2_MAINNET, &err) == TKMS_OK &&
              req.type == TKMS_ETH2_AGGREGATE_AND_PROOF_V2 && req.slot == 101 && req.epoch == 3,
          "electra AGGREGATE_AND_PROOF_V2 parses (%s)", err.message);
    /* computed by @chainsafe/ssz 0.9 with the electra containers spelled
     * out from the spec (Lodestar 1.5.1 predates electra) */
    hex32(want, ELECTRA_AGGREGATE_SIGNING_ROOT);
    CHECK(memcmp(req.signing_root, want, 32) == 0, "electra aggregate root matches @chainsafe/ssz");
    CHECK(parse_str(&req, body, &DEVNET, &err) == TKMS_ERR_BAD_FORMAT &&
              strstr(err.message, "aggregate_and_proof.data.aggregate.committee_bits: "
                                  "bitvector of 8 bytes, expected 1") != NULL,
          "64 committee bits refused on the minimal preset (%s)", err.message);
    snprintf(body, sizeof body, AGGREGATE_V2, FORK_INFO, "ELECTRA", "");
    expect_fail("electra aggregate without committee_bits", body, TKMS_ERR_BAD_FORMAT,
                "aggregate_and_proof.data.aggregate.committee_bits: missing");

    /* a pre-electra version is the v1 object */
    snprintf(body, sizeof body, AGGREGATE_V2, FORK_INFO, "DENEB", "");
    CHECK(parse_str(&req, body, &TKMS_ETH2_MAINNET, &err) == TKMS_OK,
          "deneb AGGREGATE_AND_PROOF_V2 parses (%s)", err.message);
    uint8_t v2_root[32];
    memcpy(v2_root, req.signing_root, 32);
    json_t *j = load(body), *agg = get_path(j, "aggregate_and_proof.data");
    json_incref(agg);
    json_object_set_new(j, "aggregate_and_proof", agg);
    json_object_set_new(j, "type", json_string("AGGREGATE_AND_PROOF"));
    char *text = json_dumps(j, JSON_COMPACT);
    CHECK(parse_str(&req, text, &TKMS_ETH2_MAINNET, &err) == TKMS_OK &&
              memcmp(req.signing_root, v2_root, 32) == 0,
          "deneb V2 and v1 give the same root (%s)", err.message);
    free(text);
    json_decref(j);
}

/* ---- bad input --------------------------------------------------------- */

static void test_bad_input(void)
{
    const char *att = attestation_body();
    json_t *j;

    expect_fail("not JSON", "{\"type\":", TKMS_ERR_BAD_FORMAT, "sign request: not JSON");
    expect_fail("array", "[1]", TKMS_ERR_BAD_FORMAT, "not a JSON object");
    expect_fail("duplicate key", "{\"type\":\"ATTESTATION\",\"type\":\"BLOCK\"}",
                TKMS_ERR_BAD_FORMAT, "not JSON");
    expect_fail("no type", "{}", TKMS_ERR_BAD_FORMAT, "type: missing");
    expect_fail("BLOCK v1", "{\"type\":\"BLOCK\"}", TKMS_ERR_UNSUPPORTED,
                "type: BLOCK (v1) is not supported");
    expect_fail("unknown type", "{\"type\":\"SIGN_ANYTHING\"}", TKMS_ERR_UNSUPPORTED,
                "type: unknown signing type");
    expect_fail("type not a string", "{\"type\":5}", TKMS_ERR_BAD_FORMAT,
                "type: not a string");
    expect_fail("no fork_info", "{\"type\":\"RANDAO_REVEAL\",\"randao_reveal\":{\"epoch\":\"1\"}}",
                TKMS_ERR_BAD_FORMAT, "fork_info: missing");

    j = load(att);
    json_object_del(get_path(j, "attestation"), "target");
    expect_fail_json("missing target", j, TKMS_ERR_BAD_FORMAT, "attestation.target: missing");

    j = load(att);
    json_object_set_new(get_path(j, "attestation.target"), "epoch",
                        json_string("18446744073709551616"));
    expect_fail_json("epoch 2^64", j, TKMS_ERR_BAD_FORMAT,
                     "attestation.target.epoch: not a decimal uint64");
    static const char *const bad_numbers[] = {"-1", "1.0", "", " 1", "0x10", "1e3", "+1"};
    for (size_t i = 0; i < sizeof bad_numbers / sizeof *bad_numbers; i++) {
        j = load(att);
        json_object_set_new(get_path(j, "attestation.source"), "epoch",
                            json_string(bad_numbers[i]));
        expect_fail_json(bad_numbers[i], j, TKMS_ERR_BAD_FORMAT,
                         "attestation.source.epoch: not a decimal uint64");
    }
    j = load(att);
    json_object_set_new(get_path(j, "attestation"), "slot", json_integer(101));
    expect_fail_json("JSON number slot", j, TKMS_ERR_BAD_FORMAT,
                     "attestation.slot: not a decimal uint64");

    tkms_eth2_request req;
    tkms_err err;
    j = load(att);
    json_object_set_new(get_path(j, "attestation"), "slot", json_string("18446744073709551615"));
    char *text = json_dumps(j, JSON_COMPACT);
    CHECK(parse_str(&req, text, &TKMS_ETH2_MAINNET, &err) == TKMS_OK &&
              req.slot == UINT64_MAX,
          "slot 2^64-1 is a uint64 (%s)", err.message);
    free(text);
    json_decref(j);

    j = load(att);
    json_object_set_new(get_path(j, "fork_info"), "genesis_validators_root",
                        json_string("0x04700007fabc8282644aed6d1c7c9e21d38a03a0c4ba193f3afe428824b3a6"));
    expect_fail_json("31-byte root", j, TKMS_ERR_BAD_FORMAT,
                     "fork_info.genesis_validators_root: not hex of exactly 32 bytes");
    j = load(att);
    json_object_set_new(get_path(j, "fork_info.fork"), "current_version", json_string("0x0300000g"));
    expect_fail_json("non-hex version", j, TKMS_ERR_BAD_FORMAT,
                     "fork_info.fork.current_version: not hex of exactly 4 bytes");

    /* a changed signingRoot */
    j = load(att);
    json_object_set_new(j, "signingRoot",
                        json_string("0x7d1fb9e4292bd5683326fdd516a37980c063dc6465aa692d4ab78defa0f2161e"));
    text = json_dumps(j, JSON_COMPACT);
    CHECK(parse_str(&req, text, &TKMS_ETH2_MAINNET, &err) == TKMS_ERR_VERIFY_FAILED &&
              strcmp(err.message,
                     "signing root mismatch: body says "
                     "0x7d1fb9e4292bd5683326fdd516a37980c063dc6465aa692d4ab78defa0f2161e, computed "
                     "0x7d1fb9e4292bd5683326fdd516a37980c063dc6465aa692d4ab78defa0f2161f") == 0 &&
              req.signing_root[0] == 0x7d,
          "changed signingRoot: mismatch naming both roots (%s)", err.message);
    free(text);
    json_decref(j);
    j = load(att);
    json_object_set_new(j, "signingRoot", json_string("0x7d1f"));
    expect_fail_json("short signingRoot", j, TKMS_ERR_BAD_FORMAT,
                     "signingRoot: not hex of exactly 32 bytes");

    /* bitlists and bitvectors */
    static const char aggregate[] =
        "{\"type\":\"AGGREGATE_AND_PROOF\",%s,\"aggregate_and_proof\":{\"aggregator_index\":\"0\","
        "\"aggregate\":{\"aggregation_bits\":\"%s\",\"data\":{\"slot\":\"101\",\"index\":\"0\","
        "\"beacon_block_root\":\"" R32("11") "\",\"source\":{\"epoch\":\"2\",\"root\":\"" R32("22")
        "\"},\"target\":{\"epoch\":\"3\",\"root\":\"" R32("33") "\"}},\"signature\":" SIG "},"
        "\"selection_proof\":" SIG "}}";
    char body[8192];
    snprintf(body, sizeof body, aggregate, FORK_INFO, "0x8d00");
    expect_fail("bitlist without end bit", body, TKMS_ERR_BAD_FORMAT,
                "aggregate_and_proof.aggregate.aggregation_bits: bitlist without its end bit");
    snprintf(body, sizeof body, aggregate, FORK_INFO, "0x");
    expect_fail("empty bitlist", body, TKMS_ERR_BAD_FORMAT,
                "aggregate_and_proof.aggregate.aggregation_bits: empty bitlist");
    char bits[600] = "0x";
    for (int i = 0; i < 256; i++)
        strcat(bits, "ff");
    strcat(bits, "03");                       /* 2049 bits + delimiter */
    snprintf(body, sizeof body, aggregate, FORK_INFO, bits);
    expect_fail("2049-bit bitlist", body, TKMS_ERR_BAD_FORMAT, "2049 bits, at most 2048");
    bits[strlen(bits) - 2] = '0';
    bits[strlen(bits) - 1] = '1';            /* exactly 2048 bits */
    snprintf(body, sizeof body, aggregate, FORK_INFO, bits);
    CHECK(parse_str(&req, body, &TKMS_ETH2_MAINNET, &err) == TKMS_OK,
          "2048-bit bitlist accepted (%s)", err.message);

    static const char contribution[] =
        "{\"type\":\"SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF\",%s,\"contribution_and_proof\":{"
        "\"aggregator_index\":\"0\",\"contribution\":{\"slot\":\"101\",\"beacon_block_root\":\""
        R32("44") "\",\"subcommittee_index\":\"%s\",\"aggregation_bits\":\"%s\",\"signature\":"
        SIG "},\"selection_proof\":" SIG "}}";
    snprintf(body, sizeof body, contribution, FORK_INFO, "1", "0x21841042082184104208218410420821");
    CHECK(parse_str(&req, body, &TKMS_ETH2_MAINNET, &err) == TKMS_OK,
          "contribution with 128 bits on mainnet (%s)", err.message);
    CHECK(parse_str(&req, body, &DEVNET, &err) == TKMS_ERR_BAD_FORMAT &&
              strstr(err.message, "contribution_and_proof.contribution.aggregation_bits: "
                                  "bitvector of 16 bytes, expected 1") != NULL,
          "the same bits on the minimal preset are refused (%s)", err.message);
    snprintf(body, sizeof body, contribution, FORK_INFO, "4", "0x21841042082184104208218410420821");
    expect_fail("subcommittee 4", body, TKMS_ERR_BAD_FORMAT,
                "contribution_and_proof.contribution.subcommittee_index: must be below 4");

    /* list limits, block versions */
    j = load(full_block_body());
    json_t *atts = get_path(j, "beacon_block.block.body.attestations");
    json_t *one = json_array_get(atts, 0);
    while (json_array_size(atts) < 129)
        json_array_append(atts, one);
    expect_fail_json("129 attestations", j, TKMS_ERR_BAD_FORMAT,
                     "beacon_block.block.body.attestations: 129 entries, at most 128");
    j = load(full_block_body());
    atts = get_path(j, "beacon_block.block.body.attestations");
    one = json_array_get(atts, 0);
    while (json_array_size(atts) < 128)
        json_array_append(atts, one);
    text = json_dumps(j, JSON_COMPACT);
    CHECK(parse_str(&req, text, &TKMS_ETH2_MAINNET, &err) == TKMS_OK,
          "128 attestations accepted (%s)", err.message);
    free(text);
    json_decref(j);
    j = load(full_block_body());
    json_t *sl = get_path(j, "beacon_block.block.body.attester_slashings");
    json_array_append(sl, json_array_get(sl, 0));
    json_array_append(sl, json_array_get(sl, 0));
    expect_fail_json("3 attester slashings", j, TKMS_ERR_BAD_FORMAT,
                     "beacon_block.block.body.attester_slashings: 3 entries, at most 2");
    j = load(full_block_body());
    json_array_remove(get_path(j, "beacon_block.block.body.deposits"), 0);
    json_array_append_new(get_path(j, "beacon_block.block.body.deposits"), json_string("x"));
    expect_fail_json("deposit not an object", j, TKMS_ERR_BAD_FORMAT,
                     "beacon_block.block.body.deposits[0]: not an object");
    j = load(full_block_body());
    json_array_remove(json_object_get(json_array_get(get_path(j, "beacon_block.block.body.deposits"), 0),
                                      "proof"), 0);
    expect_fail_json("short deposit proof", j, TKMS_ERR_BAD_FORMAT,
                     "beacon_block.block.body.deposits[0].proof: 32 entries, must be 33");
    j = load(full_block_body());
    json_t *ids = json_object_get(json_object_get(json_array_get(
        get_path(j, "beacon_block.block.body.attester_slashings"), 0), "attestation_1"),
        "attesting_indices");
    json_array_set_new(ids, 1, json_string("x"));
    expect_fail_json("bad attesting index", j, TKMS_ERR_BAD_FORMAT,
                     "beacon_block.block.body.attester_slashings[0].attestation_1."
                     "attesting_indices[1]: not a decimal uint64");
    j = load(full_block_body());
    json_object_set_new(get_path(j, "beacon_block"), "version", json_string("ALTAIR"));
    expect_fail_json("altair block without sync_aggregate", j, TKMS_ERR_BAD_FORMAT,
                     "beacon_block.block.body.sync_aggregate: missing");
    j = load(full_block_body());
    json_object_set_new(get_path(j, "beacon_block"), "version", json_string("BELLATRIX"));
    expect_fail_json("full bellatrix block", j, TKMS_ERR_UNSUPPORTED,
                     "beacon_block.block: full BELLATRIX blocks are not supported");
    j = load(full_block_body());
    json_object_set_new(get_path(j, "beacon_block"), "version", json_string("GLOAS2"));
    expect_fail_json("unknown block version", j, TKMS_ERR_UNSUPPORTED,
                     "beacon_block.version: unknown fork");

    /* size bound */
    size_t big = TKMS_ETH2_MAX_REQUEST_SIZE + 1;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    huge[0] = '{';
    huge[big - 1] = '}';
    CHECK(tkms_eth2_parse_sign_request(&req, huge, big, &TKMS_ETH2_MAINNET, &err) ==
                  TKMS_ERR_BAD_FORMAT && strstr(err.message, "at most") != NULL,
          "a body over the limit is refused (%s)", err.message);
    free(huge);
    CHECK(tkms_eth2_parse_sign_request(NULL, "{}", 2, &TKMS_ETH2_MAINNET, &err) ==
              TKMS_ERR_INVALID_ARGUMENT, "NULL out");
    tkms_eth2_chain odd = {.preset = (tkms_eth2_preset)7};
    CHECK(tkms_eth2_parse_sign_request(&req, "{}", 2, &odd, &err) ==
              TKMS_ERR_INVALID_ARGUMENT, "unknown preset");
}

/* DEPOSIT and VALIDATOR_REGISTRATION carry no fork_info. */
static void test_genesis_domain_types(void)
{
    tkms_eth2_request req;
    tkms_err err;
    static const char deposit[] =
        "{\"type\":\"DEPOSIT\",\"deposit\":{\"pubkey\":\"0xa99a76ed7796f7be22d5b7e85deeb7c5677e88e5"
        "11e0b337618f8c4eb61349b4bf2d153f649f7b53359fe8b94a38e44c\",\"withdrawal_credentials\":\""
        R32("01") "\",\"amount\":\"32000000000\",\"genesis_fork_version\":\"0x00000000\"},"
        "\"signingRoot\":\"0xce558963975c6a3488e1f3e444599a5a4e97fe0b9b6e682a5affac37dae31cf1\"}";
    CHECK(parse_str(&req, deposit, &TKMS_ETH2_MAINNET, &err) == TKMS_OK &&
              !req.has_fork_info && req.has_pubkey && req.pubkey[0] == 0xa9,
          "DEPOSIT without fork_info (%s)", err.message);
    uint8_t want[32];
    hex32(want, "0x03000000f5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a9");
    CHECK(memcmp(req.domain, want, 32) == 0, "DEPOSIT uses the mainnet deposit domain");
    static const char registration[] =
        "{\"type\":\"VALIDATOR_REGISTRATION\",\"validator_registration\":{\"fee_recipient\":"
        "\"0xabababababababababababababababababababab\",\"gas_limit\":\"30000000\","
        "\"timestamp\":\"1795240400\",\"pubkey\":\"0xa99a76ed7796f7be22d5b7e85deeb7c5677e88e511e0"
        "b337618f8c4eb61349b4bf2d153f649f7b53359fe8b94a38e44c\"}}";
    CHECK(parse_str(&req, registration, &TKMS_ETH2_MAINNET, &err) == TKMS_OK &&
              !req.has_fork_info && req.domain[3] == 0x01,
          "VALIDATOR_REGISTRATION without fork_info, APPLICATION_BUILDER domain (%s)",
          err.message);
    hex32(want, "0xfe8b3088af9c6cd45b10f9a09fcdb9a19e6cfa73d60a5966297cda7e38fc43f7");
    CHECK(memcmp(req.signing_root, want, 32) == 0, "registration root matches Lodestar's");
    expect_fail("registration with a short fee recipient",
                "{\"type\":\"VALIDATOR_REGISTRATION\",\"validator_registration\":{"
                "\"fee_recipient\":\"0xabab\",\"gas_limit\":\"1\",\"timestamp\":\"1\",\"pubkey\":\"0x\"}}",
                TKMS_ERR_BAD_FORMAT,
                "validator_registration.fee_recipient: not hex of exactly 20 bytes");
}

int main(void)
{
    size_t mainnet = check_captured_dir("captured-requests", &TKMS_ETH2_MAINNET);
    size_t devnet = check_captured_dir("captured-devnet-requests", &DEVNET);
    printf("captured requests checked: %zu mainnet-preset, %zu devnet (minimal)\n",
           mainnet, devnet);
    test_domains();
    test_fields();
    test_aggregate_v2();
    test_bad_input();
    test_genesis_domain_types();
    return test_report();
}
