/*
 * test_signer.c — the server's signing core (src/server/signer.h) on the
 * captured Lodestar requests (read in place, mainnet preset): a server
 * holding shares 1 and 2 of a 3-of-5 key answers with partials that
 * verify and combine (with share 3's) into the group signature, in a
 * response whose Ed25519 signature verifies and breaks on any change;
 * re-signing the same attestation or block is allowed, a double vote or
 * double proposal is 412; unknown key 404; malformed body, signing-root
 * mismatch and another chain's genesis validators root 400; RANDAO_REVEAL
 * signs without a slashing record; a slashing database or audit log that
 * cannot be written (RLIMIT_FSIZE, SIGXFSZ ignored) is 503 with nothing
 * signed; every request leaves one audit record and the log verifies.
 * Also: a locked key is 423, an unavailable one 503 with its reason, a
 * client the authorizer denies 403 with nothing recorded; eight threads
 * racing conflicting votes get exactly one signature; a removed key 404.
 * Group commits: requests queued together go into one commit (each gets
 * its own decision, every 200 is in the slashing history, the audit log
 * has one record per request and lists a signed vote before the votes it
 * made refused); a batch whose audit records cannot be written is 503
 * for every request in it and leaves no audit record. Requests announced
 * by the HTTP layer (tkms_signer_announce) sign like any other.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "signer.h"
#include "test.h"
#include "tkms/combine.h"
#include "tkms/hex.h"

static char dir[] = "/tmp/tkms-signer-test.XXXXXX";
static char slashing_path[256], audit_path[256];

static tkms_group *group;
static tkms_share shares[5];
static uint8_t group_key[TKMS_PUBLIC_KEY_SIZE];
static char group_hex[TKMS_HEX_SIZE(TKMS_PUBLIC_KEY_SIZE)];
static tkms_identity identity;
static tkms_slashing_db *slashing;
static tkms_audit *audit;
static tkms_signer *signer;
static uint64_t requests;          /* sign calls made: one audit record each */

/* ---- the captured requests ---------------------------------------------- */

/* A captured request body, read in place from the shared Lodestar folder. */
static char *captured(const char *name, size_t *len)
{
    char rel[256];
    snprintf(rel, sizeof rel, "captured-requests/%s", name);
    return test_read_file(test_lodestar_path(rel), len);
}

/* A captured body with one string member changed (path of object keys,
 * NULL-terminated) and signingRoot removed or kept. */
static char *edited(const char *name, const char *const *keys, const char *value,
                    bool keep_signing_root)
{
    size_t len;
    char *text = captured(name, &len);
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    free(text);
    if (root == NULL)
        test_fatal("%s: %s", name, jerr.text);
    json_t *obj = root;
    for (size_t i = 0; keys[i + 1] != NULL; i++)
        obj = json_object_get(obj, keys[i]);
    size_t last = 0;
    while (keys[last + 1] != NULL)
        last++;
    if (obj == NULL || json_object_set_new(obj, keys[last], json_string(value)) != 0)
        test_fatal("%s: cannot edit", name);
    if (!keep_signing_root)
        json_object_del(root, "signingRoot");
    char *out = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return out;
}

/* ---- signing and checking ------------------------------------------------- */

static int sign_text(const char *body, size_t len, tkms_signer_result *res, const char *key)
{
    tkms_err err;
    requests++;
    tkms_status st = tkms_signer_sign(signer, "vc-1", key, body, len, res, &err);
    CHECK((st == TKMS_OK) == (res->status == 200), "status %d with %s", res->status,
          tkms_status_string(st));
    CHECK((res->body != NULL) == (res->status == 200), "a body exactly for 200 (%d)",
          res->status);
    return res->status;
}

static int sign_captured(const char *name, tkms_signer_result *res)
{
    size_t len;
    char *body = captured(name, &len);
    int status = sign_text(body, len, res, group_hex);
    free(body);
    return status;
}

/* The signing root the eth2 module computes for a body. */
static void root_of(const char *body, size_t len, uint8_t root[32])
{
    tkms_eth2_request req;
    tkms_err err;
    if (tkms_eth2_parse_sign_request(&req, body, len, &TKMS_ETH2_MAINNET, &err) != TKMS_OK)
        test_fatal("parse: %s", err.message);
    memcpy(root, req.signing_root, 32);
}

/* A 200 response: signed by the identity, for our key and `root`, with
 * partials 1 and 2 that verify and combine with share 3's. */
static void check_response(const tkms_signer_result *res, const uint8_t root[32],
                           const char *type, const char *what)
{
    tkms_err err;
    CHECK(tkms_signer_verify_response(res->body, res->body_len, identity.public_key, &err) ==
              TKMS_OK, "%s: response signature: %s", what, err.message);
    uint8_t other[TKMS_IDENTITY_PUBLIC_SIZE];
    memcpy(other, identity.public_key, sizeof other);
    other[0] ^= 1;
    CHECK(tkms_signer_verify_response(res->body, res->body_len, other, &err) ==
              TKMS_ERR_VERIFY_FAILED, "%s: verifies for another server", what);

    json_error_t jerr;
    json_t *j = json_loadb(res->body, res->body_len, JSON_REJECT_DUPLICATES, &jerr);
    CHECK(j != NULL, "%s: response JSON: %s", what, jerr.text);
    if (j == NULL)
        return;
    char root_hex[TKMS_HEX_SIZE(32)];
    tkms_hex_encode(root_hex, root, 32);
    CHECK(strcmp(json_string_value(json_object_get(j, "signing_root")), root_hex) == 0,
          "%s: signing root", what);
    CHECK(strcmp(json_string_value(json_object_get(j, "type")), type) == 0, "%s: type", what);
    CHECK(strcmp(json_string_value(json_object_get(j, "group_public_key")), group_hex) == 0,
          "%s: group key", what);
    json_t *parts = json_object_get(j, "partials");
    CHECK(json_array_size(parts) == 2, "%s: two partials", what);

    tkms_partial partials[3];
    for (size_t i = 0; i < 2 && i < json_array_size(parts); i++) {
        json_t *p = json_array_get(parts, i);
        partials[i].index = (uint32_t)json_integer_value(json_object_get(p, "index"));
        tkms_signature sig;
        bool ok = tkms_hex_decode(partials[i].signature, TKMS_SIGNATURE_SIZE,
                                  json_string_value(json_object_get(p, "signature")),
                                  NULL) == TKMS_OK &&
                  tkms_signature_from_bytes(&sig, partials[i].signature) == TKMS_OK;
        CHECK(partials[i].index == i + 1, "%s: partial %zu has index %u", what, i,
              partials[i].index);
        CHECK(ok && tkms_partial_verify(group, partials[i].index, root, 32, &sig),
              "%s: partial %u verifies against its share key", what, partials[i].index);
    }
    json_decref(j);

    tkms_signature third, combined;
    tkms_partial_sign(&third, &shares[2], root, 32);
    partials[2].index = 3;
    tkms_signature_to_bytes(partials[2].signature, &third);
    tkms_combiner *c = tkms_combiner_new(group);
    uint32_t bad[3];
    size_t nbad = 0;
    tkms_rng_seeded rng;
    uint8_t seed[32] = {7};
    tkms_rng_seeded_init(&rng, seed);
    CHECK(c != NULL && tkms_combiner_combine(c, root, 32, partials, 3, &rng.base, &combined,
                                             bad, &nbad) == TKMS_OK &&
              tkms_verify(&group->group_key, root, 32, &combined),
          "%s: combined with share 3 gives a group signature", what);
    tkms_combiner_free(c);

    /* one changed byte of a partial breaks the response signature */
    char *copy = malloc(res->body_len + 1);
    memcpy(copy, res->body, res->body_len + 1);
    char *sig = strstr(copy, "\"signature\":\"0x");
    if (sig != NULL) {
        char *digit = sig + strlen("\"signature\":\"0x") + 20;
        *digit = *digit == '0' ? '1' : '0';
    }
    CHECK(sig != NULL && tkms_signer_verify_response(copy, res->body_len, identity.public_key,
                                                     &err) == TKMS_ERR_VERIFY_FAILED,
          "%s: a changed partial still verifies", what);
    /* ... which the parse without the signature check does not look at,
     * while it still names the wrong server */
    tkms_signer_response parsed;
    CHECK(tkms_signer_parse_response(copy, res->body_len, identity.public_key, &parsed, &err) ==
                  TKMS_OK &&
              parsed.count == 2 && parsed.partials[0].index == 1 &&
              memcmp(parsed.signing_root, root, 32) == 0,
          "%s: parse without the signature check: %s", what, err.message);
    tkms_signer_response_free(&parsed);
    CHECK(tkms_signer_parse_response(copy, res->body_len, other, &parsed, &err) ==
              TKMS_ERR_VERIFY_FAILED,
          "%s: the parse still checks the server", what);
    CHECK(tkms_signer_read_response(copy, res->body_len, identity.public_key, &parsed, &err) ==
              TKMS_ERR_VERIFY_FAILED,
          "%s: the read checks the signature", what);
    free(copy);
}

static void expect_signed(const char *name, const char *type)
{
    size_t len;
    char *body = captured(name, &len);
    uint8_t root[32];
    root_of(body, len, root);
    tkms_signer_result res;
    CHECK(sign_text(body, len, &res, group_hex) == 200, "%s: status %d (%s)", name,
          res.status, res.reason);
    if (res.status == 200)
        check_response(&res, root, type, name);
    tkms_signer_result_free(&res);
    free(body);
}

static void expect_status(const char *body, const char *key, int status, const char *reason,
                          const char *what)
{
    tkms_signer_result res;
    sign_text(body, strlen(body), &res, key);
    CHECK(res.status == status, "%s: status %d, expected %d (%s)", what, res.status, status,
          res.reason);
    CHECK(reason == NULL || strstr(res.reason, reason) != NULL, "%s: reason '%s' lacks '%s'",
          what, res.reason, reason);
    tkms_signer_result_free(&res);
}

/* The number of blocks and attestations the slashing history has for our key. */
static void history(size_t *blocks, size_t *attestations)
{
    char *json = NULL;
    tkms_err err;
    const uint8_t(*keys)[TKMS_PUBLIC_KEY_SIZE] = &group_key;
    *blocks = *attestations = 0;
    if (tkms_slashing_export(slashing, &json, keys, 1, &err) != TKMS_OK)
        test_fatal("export: %s", err.message);
    json_t *j = json_loads(json, 0, NULL);
    json_t *entry = json_array_get(json_object_get(j, "data"), 0);
    *blocks = json_array_size(json_object_get(entry, "signed_blocks"));
    *attestations = json_array_size(json_object_get(entry, "signed_attestations"));
    json_decref(j);
    free(json);
}

/* The audit log: verifies, holds one record per request; the last one's
 * outcome is `outcome`. */
static void check_audit(const char *outcome, const char *what)
{
    uint64_t lines = 0;
    tkms_err err;
    CHECK(tkms_audit_verify_file(audit_path, &lines, NULL, &err) == TKMS_OK,
          "%s: audit log verifies: %s", what, err.message);
    CHECK(lines == requests, "%s: %llu audit records for %llu requests", what,
          (unsigned long long)lines, (unsigned long long)requests);
    size_t len;
    char *text = test_read_file(audit_path, &len);
    char *last = len > 1 ? text + len - 2 : text;
    while (last > text && last[-1] != '\n')
        last--;
    char want[64];
    snprintf(want, sizeof want, "\"outcome\":\"%s\"", outcome);
    CHECK(strstr(last, want) != NULL && strstr(last, "\"event\":\"sign\"") != NULL,
          "%s: last audit record is not %s: %s", what, outcome, last);

    /* no secret ever reaches the log */
    for (size_t i = 0; i < 5; i++) {
        uint8_t sk[32];
        char sk_hex[TKMS_HEX_SIZE(32)];
        tkms_secret_key_to_bytes(sk, &shares[i].key);
        tkms_hex_encode(sk_hex, sk, 32);
        CHECK(strstr(text, sk_hex + 2) == NULL, "share %zu in the audit log", i + 1);
    }
    free(text);
}

/* ---- set-up ------------------------------------------------------------------ */

static void set_up(void)
{
    if (mkdtemp(dir) == NULL)
        test_fatal("mkdtemp");
    snprintf(slashing_path, sizeof slashing_path, "%s/slashing.db", dir);
    snprintf(audit_path, sizeof audit_path, "%s/audit.log", dir);

    tkms_rng_seeded rng;
    uint8_t seed[32] = {42};
    tkms_rng_seeded_init(&rng, seed);
    uint8_t sk_bytes[32];
    rng.base.fill(&rng.base, sk_bytes, sizeof sk_bytes);
    sk_bytes[0] &= 0x3f;                       /* below r */
    tkms_secret_key sk;
    if (tkms_secret_key_from_bytes(&sk, sk_bytes) != TKMS_OK ||
        tkms_split(&group, shares, &sk, 3, 5, &rng.base) != TKMS_OK)
        test_fatal("split");
    tkms_secret_key_wipe(&sk);
    tkms_public_key_to_bytes(group_key, &group->group_key);
    tkms_hex_encode(group_hex, group_key, sizeof group_key);

    uint8_t id_seed[32] = {1, 2, 3};
    if (tkms_identity_from_seed(&identity, id_seed) != TKMS_OK)
        test_fatal("identity");

    /* bind the slashing database to the captured requests' chain */
    size_t len;
    char *body = captured("12_ATTESTATION.json", &len);
    tkms_eth2_request req;
    tkms_err err;
    if (tkms_eth2_parse_sign_request(&req, body, len, &TKMS_ETH2_MAINNET, &err) != TKMS_OK)
        test_fatal("12_ATTESTATION.json: %s", err.message);
    free(body);
    if (tkms_slashing_open(&slashing, slashing_path, req.fork_info.genesis_validators_root,
                           &err) != TKMS_OK ||
        tkms_audit_open(&audit, audit_path, &err) != TKMS_OK)
        test_fatal("open: %s", err.message);
    if (tkms_signer_new(&signer, &identity, &TKMS_ETH2_MAINNET, slashing, audit, &err) !=
        TKMS_OK)
        test_fatal("signer: %s", err.message);
}

static void test_add_shares(void)
{
    tkms_share_info info = {.threshold = 3, .share_count = 5, .group_key = group->group_key,
                            .commitments = group->commitments, .owner = "alice"};
    tkms_err err;
    for (uint32_t i = 1; i <= 2; i++) {       /* one owner holding two shares */
        info.index = i;
        CHECK(tkms_signer_add_share(signer, &info, &shares[i - 1], &err) == TKMS_OK,
              "add share %u: %s", i, err.message);
    }
    CHECK(tkms_signer_add_share(signer, &info, &shares[1], &err) == TKMS_ERR_DUPLICATE_INDEX,
          "share 2 twice");
    info.index = 4;
    tkms_share wrong = shares[2];
    wrong.index = 4;                          /* share 3's key claiming index 4 */
    CHECK(tkms_signer_add_share(signer, &info, &wrong, &err) == TKMS_ERR_VERIFY_FAILED,
          "a share that does not match its commitments");
    CHECK(tkms_signer_add_share(signer, &info, &shares[2], &err) == TKMS_ERR_INVALID_ARGUMENT,
          "index mismatch");
    tkms_share_wipe(&wrong);
    CHECK(tkms_signer_share_count(signer, group_key) == 2, "two shares held");
}

/* ---- the cases ----------------------------------------------------------------- */

static const char *const BLOCK_ROOT[] = {"attestation", "beacon_block_root", NULL};
static const char *const GVR[] = {"fork_info", "genesis_validators_root", NULL};
static const char *const STATE_ROOT[] = {"beacon_block", "block", "state_root", NULL};
static const char *const SOURCE[] = {"attestation", "source", "epoch", NULL};
static const char ROOT_44[] = "0x4444444444444444444444444444444444444444444444444444444444444444";

static void test_attestations(void)
{
    expect_signed("12_ATTESTATION.json", "ATTESTATION");
    check_audit("signed", "attestation");
    expect_signed("12_ATTESTATION.json", "ATTESTATION");    /* same root again */

    char *vote = edited("12_ATTESTATION.json", BLOCK_ROOT, ROOT_44, false);
    expect_status(vote, group_hex, 412, "double vote", "double vote");
    free(vote);
    check_audit("refused", "double vote");

    char *mismatch = edited("12_ATTESTATION.json", BLOCK_ROOT, ROOT_44, true);
    expect_status(mismatch, group_hex, 400, "signing root mismatch", "signingRoot mismatch");
    free(mismatch);
    check_audit("error", "mismatch");

    char *chain = edited("12_ATTESTATION.json", GVR, ROOT_44, false);
    expect_status(chain, group_hex, 400, "wrong genesis validators root", "another chain");
    free(chain);

    size_t blocks, attestations;
    history(&blocks, &attestations);
    CHECK(blocks == 0 && attestations == 1, "history: %zu blocks, %zu attestations", blocks,
          attestations);
}

static void test_other_requests(void)
{
    expect_status("{\"type\":", group_hex, 400, NULL, "malformed JSON");
    expect_status("", group_hex, 400, NULL, "empty body");
    size_t len;
    char *body = captured("12_ATTESTATION.json", &len);
    uint8_t share_key[TKMS_PUBLIC_KEY_SIZE];          /* a valid key, not ours */
    char unknown[TKMS_HEX_SIZE(TKMS_PUBLIC_KEY_SIZE)];
    tkms_public_key_to_bytes(share_key, &group->share_keys[0]);
    tkms_hex_encode(unknown, share_key, sizeof share_key);
    expect_status(body, unknown, 404, "unknown public key", "unknown key");
    expect_status(body, "0x12", 400, "public key", "malformed key");
    free(body);
    body = captured("20_DEPOSIT.json", &len);      /* a deposit of another key */
    expect_status(body, group_hex, 400, "not the key in the URL", "deposit of another key");
    free(body);
    check_audit("error", "bad requests");

    expect_signed("04_RANDAO_REVEAL_phase0.json", "RANDAO_REVEAL");
    size_t blocks, attestations;
    history(&blocks, &attestations);
    CHECK(blocks == 0 && attestations == 1, "RANDAO_REVEAL left a slashing record");

    expect_signed("07_BLOCK_V2_phase0.json", "BLOCK_V2");
    expect_signed("08_BLOCK_V2_altair.json", "BLOCK_V2");
    expect_signed("07_BLOCK_V2_phase0.json", "BLOCK_V2");    /* same block again */
    char *twin = edited("07_BLOCK_V2_phase0.json", STATE_ROOT, ROOT_44, false);
    expect_status(twin, group_hex, 412, "slot", "double proposal");
    free(twin);
    history(&blocks, &attestations);
    CHECK(blocks == 2 && attestations == 1, "history: %zu blocks, %zu attestations", blocks,
          attestations);
    check_audit("refused", "blocks");
}

/* An attestation from `source` to `source + 1` (no signingRoot). */
static char *attestation(uint64_t source)
{
    char s[32], t[32];
    snprintf(s, sizeof s, "%llu", (unsigned long long)source);
    snprintf(t, sizeof t, "%llu", (unsigned long long)source + 1);
    char *first = edited("12_ATTESTATION.json", SOURCE, s, false);
    json_t *j = json_loads(first, 0, NULL);
    free(first);
    json_object_set_new(json_object_get(json_object_get(j, "attestation"), "target"), "epoch",
                        json_string(t));
    char *out = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return out;
}

static void limit_file_size(rlim_t size, struct rlimit *old)
{
    struct rlimit lim;
    getrlimit(RLIMIT_FSIZE, old);
    lim = *old;
    lim.rlim_cur = size;
    signal(SIGXFSZ, SIG_IGN);
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
        test_fatal("setrlimit");
}

/* The WAL may not grow: the slashing record fails, nothing is signed, the
 * refusal is audited; once storage recovers the same request signs. */
static void test_slashing_unwritable(void)
{
    char wal[300];
    snprintf(wal, sizeof wal, "%s-wal", slashing_path);
    struct stat sb, ab;
    if (stat(wal, &sb) != 0 || stat(audit_path, &ab) != 0)
        test_fatal("no WAL or audit log");
    CHECK(ab.st_size + 4096 < sb.st_size, "the audit log (%lld) must stay below the WAL (%lld)",
          (long long)ab.st_size, (long long)sb.st_size);

    struct rlimit old;
    limit_file_size((rlim_t)sb.st_size, &old);
    int status = 200;
    uint64_t source = 10;
    for (; source < 60 && status == 200; source += 2) {
        char *body = attestation(source);
        tkms_signer_result res;
        status = sign_text(body, strlen(body), &res, group_hex);
        if (status != 200)
            CHECK(status == 503 && res.body == NULL && strstr(res.reason, "could not") != NULL,
                  "full disk: status %d (%s)", status, res.reason);
        tkms_signer_result_free(&res);
        free(body);
    }
    setrlimit(RLIMIT_FSIZE, &old);
    CHECK(status == 503, "the slashing database never filled");
    check_audit("error", "full disk");

    char *body = attestation(source - 2);   /* the one that failed: not recorded */
    tkms_signer_result res;
    CHECK(sign_text(body, strlen(body), &res, group_hex) == 200,
          "after recovery: status %d (%s)", res.status, res.reason);
    tkms_signer_result_free(&res);
    free(body);
}

/* The audit log cannot grow: even a non-slashable request is not signed. */
static void test_audit_unwritable(void)
{
    struct stat ab;
    if (stat(audit_path, &ab) != 0)
        test_fatal("no audit log");
    struct rlimit old;
    limit_file_size((rlim_t)ab.st_size, &old);
    tkms_signer_result res;
    int status = sign_captured("04_RANDAO_REVEAL_phase0.json", &res);
    requests--;                                  /* this one has no record */
    setrlimit(RLIMIT_FSIZE, &old);
    CHECK(status == 503 && strstr(res.reason, "audit log") != NULL,
          "audit log full: status %d (%s)", status, res.reason);
    tkms_signer_result_free(&res);
    check_audit("signed", "after the audit failure");
}

static void test_verify_response_format(void)
{
    tkms_err err;
    const char *bad[] = {"", "[]", "{}", "{\"server\":1}", NULL};
    for (size_t i = 0; bad[i] != NULL; i++)
        CHECK(tkms_signer_verify_response(bad[i], strlen(bad[i]), identity.public_key, &err) ==
                  TKMS_ERR_BAD_FORMAT, "malformed response %zu accepted", i);
}

/* ---- key states, the authorizer, threads ---------------------------------------- */

static void test_key_states(void)
{
    char *body = attestation(200);
    tkms_signer_mark_key(signer, group_key, TKMS_SIGNER_KEY_LOCKED, NULL);
    CHECK(tkms_signer_key_state_of(signer, group_key, NULL) == TKMS_SIGNER_KEY_LOCKED,
          "locked key reads locked");
    expect_status(body, group_hex, 423, "is locked", "locked key");
    check_audit("error", "locked key");
    tkms_signer_mark_key(signer, group_key, TKMS_SIGNER_KEY_UNAVAILABLE,
                         "share-2.json: wrong password");
    expect_status(body, group_hex, 503, "share-2.json: wrong password", "unavailable key");
    tkms_signer_mark_key(signer, group_key, TKMS_SIGNER_KEY_READY, NULL);
    expect_status(body, group_hex, 200, NULL, "ready again");
    free(body);
}

static bool deny_attestations_of_eve(void *arg, const char *client, tkms_eth2_type type,
                                     const uint8_t key[TKMS_PUBLIC_KEY_SIZE],
                                     char reason[TKMS_ERR_MESSAGE_SIZE])
{
    (void)arg;
    (void)key;
    if (strcmp(client, "eve") == 0 && type == TKMS_ETH2_ATTESTATION) {
        snprintf(reason, TKMS_ERR_MESSAGE_SIZE, "client eve may not sign ATTESTATION");
        return false;
    }
    return true;
}

static void test_authorizer(void)
{
    tkms_signer_set_authorizer(signer, deny_attestations_of_eve, NULL);
    char *body = attestation(202);
    tkms_signer_result res;
    requests++;
    tkms_signer_sign(signer, "eve", group_hex, body, strlen(body), &res, NULL);
    CHECK(res.status == 403 && strstr(res.reason, "eve may not sign") != NULL,
          "denied client: %d %s", res.status, res.reason);
    tkms_signer_result_free(&res);
    check_audit("denied", "denied client");
    size_t blocks, before, after;
    history(&blocks, &before);
    expect_status(body, group_hex, 200, NULL, "another client may");
    history(&blocks, &after);
    CHECK(after == before + 1, "the denied request recorded nothing (%zu, %zu)", before, after);
    tkms_signer_set_authorizer(signer, NULL, NULL);
    free(body);
}

/* Eight threads each send the same attestation slot with their own block
 * root (eight conflicting votes) and then their own distinct attestations. */
#define THREADS 8
#define DISTINCT 6

typedef struct {
    int index;
    int conflicting_status;
    int distinct_ok;
} racer;

static char *conflicting[THREADS];
static char *distinct[THREADS][DISTINCT];

static void *race(void *arg)
{
    racer *r = arg;
    tkms_signer_result res;
    tkms_signer_sign(signer, "vc-1", group_hex, conflicting[r->index],
                     strlen(conflicting[r->index]), &res, NULL);
    r->conflicting_status = res.status;
    tkms_signer_result_free(&res);
    for (int i = 0; i < DISTINCT; i++) {
        tkms_signer_sign(signer, "vc-1", group_hex, distinct[r->index][i],
                         strlen(distinct[r->index][i]), &res, NULL);
        r->distinct_ok += res.status == 200;
        tkms_signer_result_free(&res);
    }
    return NULL;
}

static void test_threads(void)
{
    for (int t = 0; t < THREADS; t++) {
        char root[70];
        snprintf(root, sizeof root, "0x%064x", 0xa0 + t);
        char *vote = attestation(300);
        json_t *j = json_loads(vote, 0, NULL);
        json_object_set_new(json_object_get(j, "attestation"), "beacon_block_root",
                            json_string(root));
        conflicting[t] = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        free(vote);
        for (int i = 0; i < DISTINCT; i++)
            distinct[t][i] = attestation(1000 + (uint64_t)(t * DISTINCT + i) * 2);
    }
    pthread_t threads[THREADS];
    racer racers[THREADS];
    for (int t = 0; t < THREADS; t++) {
        racers[t] = (racer){.index = t};
        pthread_create(&threads[t], NULL, race, &racers[t]);
    }
    int signed_conflicting = 0, refused = 0, distinct_ok = 0;
    for (int t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
        signed_conflicting += racers[t].conflicting_status == 200;
        refused += racers[t].conflicting_status == 412;
        distinct_ok += racers[t].distinct_ok;
    }
    requests += THREADS * (1 + DISTINCT);
    CHECK(signed_conflicting == 1 && refused == THREADS - 1,
          "of %d racing conflicting votes exactly one is signed (%d signed, %d refused)",
          THREADS, signed_conflicting, refused);
    CHECK(distinct_ok == THREADS * DISTINCT, "every distinct attestation signed (%d of %d)",
          distinct_ok, THREADS * DISTINCT);
    check_audit("signed", "after the threads");
    for (int t = 0; t < THREADS; t++) {
        free(conflicting[t]);
        for (int i = 0; i < DISTINCT; i++)
            free(distinct[t][i]);
    }
}

/* ---- group commits ------------------------------------------------------------------ */

/* BATCH_THREADS threads each send, for each of BATCH_TARGETS target
 * epochs, a vote with their own block root (conflicting across threads),
 * then BATCH_EACH distinct attestations. They all start while the test
 * holds the records lock, so their first requests (conflicting votes for
 * one target) are queued together and go into one commit; the rest batch
 * as they come. */
#define BATCH_THREADS 12
#define BATCH_EACH 8
#define BATCH_TARGETS 3
#define BATCH_REQUESTS (BATCH_EACH + BATCH_TARGETS)

typedef struct {
    char *body;
    uint8_t root[32];
    uint64_t target;               /* 0: a distinct attestation */
    int status;
    bool body_ok;                  /* a body exactly for 200 */
    char reason[TKMS_ERR_MESSAGE_SIZE];
} batch_request;

static batch_request batch_requests[BATCH_THREADS][BATCH_REQUESTS];
static int batch_per_thread = BATCH_REQUESTS;

static void *batch_thread(void *arg)
{
    batch_request *mine = arg;
    for (int i = 0; i < batch_per_thread; i++) {
        tkms_signer_result res;
        tkms_signer_sign(signer, "vc-batch", group_hex, mine[i].body, strlen(mine[i].body),
                         &res, NULL);
        mine[i].status = res.status;
        mine[i].body_ok = (res.status == 200) == (res.body != NULL);   /* CHECK is not
                                                                         * thread-safe */
        snprintf(mine[i].reason, sizeof mine[i].reason, "%s", res.reason);
        tkms_signer_result_free(&res);
    }
    return NULL;
}

typedef struct {
    pthread_t threads[BATCH_THREADS];
    size_t queued;                 /* requests waiting when the hold ended */
    const char *audit_path;        /* when set: the audit log may not grow */
    struct rlimit old_limit;
} batch_hold;

/* Under the records lock: starts the threads, waits until each has a
 * request queued (none can be committed meanwhile). */
static tkms_status hold_and_start(tkms_slashing_db *db, tkms_audit *log, void *arg,
                                  tkms_err *err)
{
    (void)db;
    (void)log;
    (void)err;
    batch_hold *hold = arg;
    for (int t = 0; t < BATCH_THREADS; t++)
        pthread_create(&hold->threads[t], NULL, batch_thread, batch_requests[t]);
    tkms_signer_record_stats stats = {0};
    for (int waited = 0; waited < 10000; waited++) {
        tkms_signer_records_stats(signer, &stats);
        if (stats.waiting >= BATCH_THREADS)
            break;
        usleep(1000);
    }
    hold->queued = stats.waiting;
    if (hold->audit_path != NULL) {
        struct stat ab;
        if (stat(hold->audit_path, &ab) != 0)
            test_fatal("no audit log");
        limit_file_size((rlim_t)ab.st_size, &hold->old_limit);
    }
    return TKMS_OK;
}

static void run_batch_threads(batch_hold *hold)
{
    tkms_err err;
    CHECK(tkms_signer_with_records(signer, hold_and_start, hold, &err) == TKMS_OK,
          "hold the records: %s", err.message);
    for (int t = 0; t < BATCH_THREADS; t++)
        pthread_join(hold->threads[t], NULL);
    if (hold->audit_path != NULL)
        setrlimit(RLIMIT_FSIZE, &hold->old_limit);
}

/* The signing roots in the slashing history of our key, as hex. */
static char *exported(void)
{
    char *json = NULL;
    tkms_err err;
    const uint8_t(*keys)[TKMS_PUBLIC_KEY_SIZE] = &group_key;
    if (tkms_slashing_export(slashing, &json, keys, 1, &err) != TKMS_OK)
        test_fatal("export: %s", err.message);
    return json;
}

/* The audit record (line number, 1-based) whose signing root is `root`
 * among the last `tail` records; 0 when absent, -1 when there are two. */
static long audit_line_of(char *const *lines, size_t count, size_t tail, const char *root,
                          const char **outcome)
{
    long found = 0;
    for (size_t i = count > tail ? count - tail : 0; i < count; i++) {
        if (strstr(lines[i], root) == NULL)
            continue;
        if (found != 0)
            return -1;
        found = (long)i + 1;
        *outcome = strstr(lines[i], "\"outcome\":\"signed\"")    ? "signed"
                   : strstr(lines[i], "\"outcome\":\"refused\"") ? "refused"
                                                                    : "other";
    }
    return found;
}

static char **split_lines(char *text, size_t *count)
{
    size_t n = 0, cap = 1024;
    char **lines = malloc(cap * sizeof *lines);
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (n == cap)
            lines = realloc(lines, (cap *= 2) * sizeof *lines);
        lines[n++] = line;
    }
    *count = n;
    return lines;
}

static void test_group_commits(void)
{
    for (int t = 0; t < BATCH_THREADS; t++) {
        for (int i = 0; i < BATCH_EACH; i++) {
            batch_request *r = &batch_requests[t][BATCH_TARGETS + i];
            r->body = attestation(3000 + (uint64_t)(t * BATCH_EACH + i) * 2);
            r->target = 0;
        }
        for (int k = 0; k < BATCH_TARGETS; k++) {     /* first: the held batch has them */
            batch_request *r = &batch_requests[t][k];
            char root[70];
            snprintf(root, sizeof root, "0x%064x", 0xb00 + t);
            char *vote = attestation(5001 + (uint64_t)k * 2);
            json_t *j = json_loads(vote, 0, NULL);
            json_object_set_new(json_object_get(j, "attestation"), "beacon_block_root",
                                json_string(root));
            r->body = json_dumps(j, JSON_COMPACT);
            r->target = 5002 + (uint64_t)k * 2;
            json_decref(j);
            free(vote);
        }
        for (int i = 0; i < BATCH_REQUESTS; i++)
            root_of(batch_requests[t][i].body, strlen(batch_requests[t][i].body),
                    batch_requests[t][i].root);
    }
    tkms_signer_record_stats before, after;
    tkms_signer_records_stats(signer, &before);
    batch_hold hold = {0};
    run_batch_threads(&hold);
    tkms_signer_records_stats(signer, &after);
    const size_t total = BATCH_THREADS * BATCH_REQUESTS;
    requests += total;
    CHECK(hold.queued == BATCH_THREADS, "%zu of %d requests queued behind the hold",
          hold.queued, BATCH_THREADS);
    CHECK(after.records - before.records == total, "%llu requests recorded, %zu sent",
          (unsigned long long)(after.records - before.records), total);
    CHECK(after.largest >= BATCH_THREADS, "one commit took all %d held requests (largest %llu)",
          BATCH_THREADS, (unsigned long long)after.largest);
    CHECK(after.commits - before.commits < total, "fewer commits (%llu) than requests (%zu)",
          (unsigned long long)(after.commits - before.commits), total);
    printf("group commits: %zu requests in %llu commits, largest %llu\n", total,
           (unsigned long long)(after.commits - before.commits),
           (unsigned long long)after.largest);

    /* every distinct one signed, exactly one vote per target */
    int distinct_ok = 0, per_target[BATCH_TARGETS] = {0}, refused = 0, bodies_ok = 0;
    for (int t = 0; t < BATCH_THREADS; t++)
        for (int i = 0; i < BATCH_REQUESTS; i++) {
            const batch_request *r = &batch_requests[t][i];
            bodies_ok += r->body_ok;
            if (r->target == 0)
                distinct_ok += r->status == 200;
            else if (r->status == 200)
                per_target[(r->target - 5002) / 2]++;
            else
                refused += r->status == 412 && strstr(r->reason, "double vote") != NULL;
        }
    CHECK(bodies_ok == (int)total, "%d of %zu answers have a body exactly for 200", bodies_ok,
          total);
    CHECK(distinct_ok == BATCH_THREADS * BATCH_EACH, "%d of %d distinct attestations signed",
          distinct_ok, BATCH_THREADS * BATCH_EACH);
    for (int k = 0; k < BATCH_TARGETS; k++)
        CHECK(per_target[k] == 1, "target %d: %d conflicting votes signed", k, per_target[k]);
    CHECK(refused == BATCH_TARGETS * (BATCH_THREADS - 1), "%d double votes refused", refused);

    /* every 200 is in the slashing history; the audit log verifies and
     * holds exactly one record per request, with its outcome, and for
     * each target the signed vote before the refused ones */
    char *history_json = exported();
    size_t len;
    uint64_t lines_count = 0;
    tkms_err err;
    CHECK(tkms_audit_verify_file(audit_path, &lines_count, NULL, &err) == TKMS_OK,
          "audit log verifies after the batches: %s", err.message);
    CHECK(lines_count == requests, "%llu audit records for %llu requests",
          (unsigned long long)lines_count, (unsigned long long)requests);
    char *text = test_read_file(audit_path, &len);
    size_t count;
    char **lines = split_lines(text, &count);
    long signed_line[BATCH_TARGETS] = {0};
    int missing = 0, wrong = 0, unexported = 0;
    for (int t = 0; t < BATCH_THREADS; t++)
        for (int i = 0; i < BATCH_REQUESTS; i++) {
            const batch_request *r = &batch_requests[t][i];
            char hex[TKMS_HEX_SIZE(32)];
            tkms_hex_encode(hex, r->root, 32);
            if (r->status == 200 && strstr(history_json, hex) == NULL)
                unexported++;
            const char *outcome = "";
            long at = audit_line_of(lines, count, total, hex, &outcome);
            if (at <= 0) {
                missing++;
                continue;
            }
            if (strcmp(outcome, r->status == 200 ? "signed" : "refused") != 0)
                wrong++;
            if (r->target != 0 && r->status == 200)
                signed_line[(r->target - 5002) / 2] = at;
        }
    CHECK(unexported == 0, "%d signed attestations missing from the slashing history",
          unexported);
    CHECK(missing == 0, "%d requests without exactly one audit record", missing);
    CHECK(wrong == 0, "%d audit records with another outcome than the answer", wrong);
    for (int k = 0; k < BATCH_TARGETS; k++) {
        bool refused_first = false;
        for (int t = 0; t < BATCH_THREADS; t++) {
            const batch_request *r = &batch_requests[t][k];
            char hex[TKMS_HEX_SIZE(32)];
            tkms_hex_encode(hex, r->root, 32);
            const char *outcome = "";
            long at = audit_line_of(lines, count, total, hex, &outcome);
            refused_first |= r->status != 200 && at > 0 && at < signed_line[k];
        }
        CHECK(signed_line[k] > 0 && !refused_first,
              "target %d: the audit log lists the signed vote (line %ld) before the refused "
              "ones", k, signed_line[k]);
    }
    free(lines);
    free(text);
    free(history_json);
    for (int t = 0; t < BATCH_THREADS; t++)
        for (int i = 0; i < BATCH_REQUESTS; i++)
            free(batch_requests[t][i].body);
}

/* A batch whose audit records cannot be written: every request in it is
 * 503, none signed, none audited; once there is room the same requests
 * sign (the attestations' slashing records, if made, allow re-signing). */
static void test_group_commit_audit_failure(void)
{
    size_t len;
    char *randao = captured("04_RANDAO_REVEAL_phase0.json", &len);
    batch_per_thread = 1;          /* one request per thread, all in one batch */
    for (int t = 0; t < BATCH_THREADS; t++)   /* half attestations, half RANDAO_REVEAL */
        batch_requests[t][0].body = t % 2 ? attestation(7000 + (uint64_t)t * 2) : strdup(randao);
    free(randao);
    uint64_t lines_before = 0, lines_after = 0;
    tkms_err err;
    tkms_audit_verify_file(audit_path, &lines_before, NULL, &err);

    batch_hold hold = {.audit_path = audit_path};
    run_batch_threads(&hold);
    batch_per_thread = BATCH_REQUESTS;
    int failed = 0;
    for (int t = 0; t < BATCH_THREADS; t++)
        failed += batch_requests[t][0].status == 503 &&
                  strstr(batch_requests[t][0].reason, "could not") != NULL;
    CHECK(hold.queued == BATCH_THREADS, "%zu of %d requests queued behind the hold",
          hold.queued, BATCH_THREADS);
    CHECK(failed == BATCH_THREADS, "%d of %d requests of the unwritable batch are 503", failed,
          BATCH_THREADS);
    CHECK(tkms_audit_verify_file(audit_path, &lines_after, NULL, &err) == TKMS_OK &&
              lines_after == lines_before,
          "the failed batch left no audit record (%llu, then %llu): %s",
          (unsigned long long)lines_before, (unsigned long long)lines_after, err.message);

    for (int t = 0; t < BATCH_THREADS; t++) {
        tkms_signer_result res;
        requests++;
        tkms_signer_sign(signer, "vc-batch", group_hex, batch_requests[t][0].body,
                         strlen(batch_requests[t][0].body), &res, NULL);
        CHECK(res.status == 200, "after the failed batch, request %d signs: %d %s", t,
              res.status, res.reason);
        tkms_signer_result_free(&res);
        free(batch_requests[t][0].body);
    }
    check_audit("signed", "after the failed batch");
}

static void test_remove_key(void)
{
    CHECK(tkms_signer_remove_key(signer, group_key) == 2, "removing the key drops 2 shares");
    CHECK(tkms_signer_share_count(signer, group_key) == 0, "no share left");
    char *body = attestation(400);
    expect_status(body, group_hex, 404, "unknown public key", "removed key");
    free(body);
}

/* The HTTP layer's path: a request announced when received, signed later
 * on another thread; an announcement may also be withdrawn, and a request
 * that cannot be signed (a missing argument) ends its own. */
static void test_announced(void)
{
    tkms_signer_announce(signer);
    tkms_signer_announce(signer);
    char *body = attestation(7001);
    tkms_signer_result res;
    tkms_err err;
    requests++;
    tkms_status st = tkms_signer_sign_announced(signer, "vc-1", group_hex, body, strlen(body),
                                                &res, &err);
    CHECK(st == TKMS_OK && res.status == 200, "an announced request signs (%d: %s)",
          res.status, res.reason);
    tkms_signer_result_free(&res);
    tkms_signer_withdraw(signer);
    st = tkms_signer_sign_announced(signer, NULL, group_hex, body, strlen(body), &res, &err);
    CHECK(st == TKMS_ERR_INVALID_ARGUMENT && res.status == 500,
          "an announced request without a client is 500 (%d)", res.status);
    tkms_signer_result_free(&res);
    free(body);
    body = attestation(7003);
    CHECK(sign_text(body, strlen(body), &res, group_hex) == 200,
          "then a plain request signs (%d: %s)", res.status, res.reason);
    tkms_signer_result_free(&res);
    free(body);
}

int main(void)
{
    set_up();
    test_add_shares();
    test_attestations();
    test_other_requests();
    test_verify_response_format();
    test_slashing_unwritable();
    test_audit_unwritable();
    test_key_states();
    test_authorizer();
    test_threads();
    test_group_commits();
    test_group_commit_audit_failure();
    test_announced();
    test_remove_key();

    tkms_signer_free(signer);
    tkms_slashing_close(slashing);
    tkms_audit_close(audit);
    tkms_identity_wipe(&identity);
    for (size_t i = 0; i < 5; i++)
        tkms_share_wipe(&shares[i]);
    tkms_group_free(group);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        printf("note: could not remove %s\n", dir);
    return test_report();
}
