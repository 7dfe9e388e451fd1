/*
 * test_sign_session.c — the gateway's sign session (src/gateway/
 * sign_session.h) fed with real signed responses: a 3-of-5 key split with
 * a seeded RNG, five real threshold signers (src/server/signer.h, each
 * with its own identity, slashing database and audit log, one share each)
 * and a weighted sixth ("w", shares 1 and 2) answer captured Lodestar
 * requests. Lies are crafted the way a malicious server would: a partial
 * changed and the canonical bytes re-signed with that server's identity
 * key, so the response is valid evidence.
 *
 * Shown: K good responses give a signature that verifies and equals the
 * whole key's, DONE exactly at the K-th good one, in any arrival order
 * (a seeded property test over orders, liars, timeouts and tampered
 * bodies); a liar among the first K is named with evidence that
 * gateway_evidence_verify accepts (and rejects when altered, for another
 * server, root or type, or for an honest response) and the session
 * finishes from the others; two liars of five; a response for another
 * signing root, type or key, or with a partial for an index the server
 * does not hold, is faulty; a body that does not read as the server's
 * response (another server's, not JSON) is not faulty and not counted; a
 * body whose Ed25519 signature does not verify (tampered in transit) is
 * used while its partials are valid (the session still reaches DONE) and,
 * when it would be blamed (an invalid partial, another root), is UNUSABLE,
 * never faulty, never evidence; too few is FAILED as soon as K is out of
 * reach, with a report naming each server's fate; a weighted server counts twice and is
 * locked out whole when one of its partials lies; a key with overlapping
 * or out-of-range indices is refused. The good path's cost is printed as
 * a ratio to one plain verify.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../src/gateway/sign_session.h"
#include "signer.h"
#include "test.h"
#include "tkms/combine.h"
#include "tkms/hex.h"

#define SIGNERS 6          /* s1..s5 hold shares 1..5; w holds 1 and 2 */
#define W 5                /* the weighted signer's position */

static char dir[] = "/tmp/tkms-gateway-session.XXXXXX";
static tkms_group *group;
static tkms_share shares[5];
static tkms_secret_key whole;
static uint8_t group_key[TKMS_PUBLIC_KEY_SIZE];
static char group_hex[TKMS_HEX_SIZE(TKMS_PUBLIC_KEY_SIZE)];

typedef struct {
    tkms_identity identity;
    tkms_slashing_db *slashing;
    tkms_audit *audit;
    tkms_signer *signer;
} test_server;

static test_server servers[SIGNERS];

/* The request every session signs unless said otherwise, and another. */
static uint8_t root[32], other_root[32];
static char *randao;                 /* 04_RANDAO_REVEAL_phase0.json */
static size_t randao_len;
static char *honest[SIGNERS];        /* each signer's response to randao */

/* Keys as the gateway sees them. */
static const uint32_t IDX[5][1] = {{1}, {2}, {3}, {4}, {5}};
static const uint32_t W_IDX[2] = {1, 2};
static gateway_holder five_servers[5], weighted_servers[4];
static gateway_key key5, keyw;

/* ---- set-up ------------------------------------------------------------------ */

static char *captured(const char *name, size_t *len)
{
    char rel[256];
    snprintf(rel, sizeof rel, "captured-requests/%s", name);
    return test_read_file(test_lodestar_path(rel), len);
}

static void root_of(const char *body, size_t len, uint8_t out[32], tkms_eth2_type *type)
{
    tkms_eth2_request req;
    tkms_err err;
    if (tkms_eth2_parse_sign_request(&req, body, len, &TKMS_ETH2_MAINNET, &err) != TKMS_OK)
        test_fatal("parse: %s", err.message);
    memcpy(out, req.signing_root, 32);
    if (type != NULL)
        *type = req.type;
}

static void open_server(size_t i, const uint32_t *indices, size_t count,
                        const uint8_t genesis_root[32])
{
    test_server *t = &servers[i];
    uint8_t seed[TKMS_IDENTITY_SEED_SIZE] = {0x60, (uint8_t)(i + 1)};
    char path[300];
    tkms_err err;
    if (tkms_identity_from_seed(&t->identity, seed) != TKMS_OK)
        test_fatal("identity %zu", i);
    snprintf(path, sizeof path, "%s/slashing-%zu.db", dir, i);
    if (tkms_slashing_open(&t->slashing, path, genesis_root, &err) != TKMS_OK)
        test_fatal("slashing %zu: %s", i, err.message);
    snprintf(path, sizeof path, "%s/audit-%zu.log", dir, i);
    if (tkms_audit_open(&t->audit, path, &err) != TKMS_OK)
        test_fatal("audit %zu: %s", i, err.message);
    if (tkms_signer_new(&t->signer, &t->identity, &TKMS_ETH2_MAINNET, t->slashing, t->audit,
                        &err) != TKMS_OK)
        test_fatal("signer %zu: %s", i, err.message);
    tkms_share_info info = {.threshold = 3, .share_count = 5, .group_key = group->group_key,
                            .commitments = group->commitments};
    snprintf(info.owner, sizeof info.owner, "%s", i == W ? "w" : "s");
    for (size_t k = 0; k < count; k++) {
        info.index = indices[k];
        if (tkms_signer_add_share(t->signer, &info, &shares[indices[k] - 1], &err) != TKMS_OK)
            test_fatal("share %u to signer %zu: %s", indices[k], i, err.message);
    }
}

/* Signer i's signed response to `body` (malloc'ed), which must be 200. */
static char *respond(size_t i, const char *body, size_t len)
{
    tkms_signer_result res;
    tkms_err err;
    if (tkms_signer_sign(servers[i].signer, "gateway", group_hex, body, len, &res, &err) !=
        TKMS_OK)
        test_fatal("signer %zu: %d %s", i, res.status, res.reason);
    char *out = res.body;
    res.body = NULL;
    tkms_signer_result_free(&res);
    return out;
}

static void set_up(void)
{
    if (mkdtemp(dir) == NULL)
        test_fatal("mkdtemp");
    tkms_rng_seeded rng;
    uint8_t seed[32] = {0x9a, 0x7e};
    tkms_rng_seeded_init(&rng, seed);
    uint8_t sk[32];
    rng.base.fill(&rng.base, sk, sizeof sk);
    sk[0] &= 0x3f;
    if (tkms_secret_key_from_bytes(&whole, sk) != TKMS_OK ||
        tkms_split(&group, shares, &whole, 3, 5, &rng.base) != TKMS_OK)
        test_fatal("split");
    tkms_public_key_to_bytes(group_key, &group->group_key);
    tkms_hex_encode(group_hex, group_key, sizeof group_key);

    randao = captured("04_RANDAO_REVEAL_phase0.json", &randao_len);
    root_of(randao, randao_len, root, NULL);
    size_t len;
    char *capella = captured("05_RANDAO_REVEAL_capella.json", &len);
    root_of(capella, len, other_root, NULL);
    free(capella);
    tkms_eth2_request req;
    tkms_err err;
    char *att = captured("12_ATTESTATION.json", &len);
    if (tkms_eth2_parse_sign_request(&req, att, len, &TKMS_ETH2_MAINNET, &err) != TKMS_OK)
        test_fatal("attestation: %s", err.message);
    free(att);

    for (size_t i = 0; i < 5; i++)
        open_server(i, IDX[i], 1, req.fork_info.genesis_validators_root);
    open_server(W, W_IDX, 2, req.fork_info.genesis_validators_root);
    for (size_t i = 0; i < SIGNERS; i++)
        honest[i] = respond(i, randao, randao_len);

    static const char *const names[5] = {"s1", "s2", "s3", "s4", "s5"};
    for (size_t i = 0; i < 5; i++) {
        five_servers[i] = (gateway_holder){.name = names[i], .indices = IDX[i], .index_count = 1};
        memcpy(five_servers[i].identity, servers[i].identity.public_key,
               TKMS_IDENTITY_PUBLIC_SIZE);
    }
    weighted_servers[0] = (gateway_holder){.name = "w", .indices = W_IDX, .index_count = 2};
    memcpy(weighted_servers[0].identity, servers[W].identity.public_key,
           TKMS_IDENTITY_PUBLIC_SIZE);
    for (size_t i = 1; i < 4; i++)
        weighted_servers[i] = five_servers[i + 1];        /* s3, s4, s5 */
    key5 = (gateway_key){group, five_servers, 5};
    keyw = (gateway_key){group, weighted_servers, 4};
}

static void tear_down(void)
{
    for (size_t i = 0; i < SIGNERS; i++) {
        tkms_signer_free(servers[i].signer);
        tkms_slashing_close(servers[i].slashing);
        tkms_audit_close(servers[i].audit);
        tkms_identity_wipe(&servers[i].identity);
        free(honest[i]);
    }
    for (size_t i = 0; i < 5; i++)
        tkms_share_wipe(&shares[i]);
    tkms_secret_key_wipe(&whole);
    tkms_group_free(group);
    free(randao);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        printf("note: could not remove %s\n", dir);
}

/* ---- crafted responses -------------------------------------------------------------- */

/* A response signed by `id` exactly as signer.c signs (signer.h: the
 * context with its NUL, then the canonical JSON), malloc'ed. */
static char *build_response(const tkms_identity *id, const uint8_t gk[TKMS_PUBLIC_KEY_SIZE],
                            const char *type, const uint8_t sr[32], const tkms_partial *partials,
                            size_t count)
{
    size_t cap = 1024 + count * 256;
    char *text = malloc(cap);
    char hex[TKMS_HEX_SIZE(TKMS_SIGNATURE_SIZE)];
    size_t len = 0;
    tkms_hex_encode(hex, id->public_key, TKMS_IDENTITY_PUBLIC_SIZE);
    len += (size_t)snprintf(text + len, cap - len, "{\"server\":\"%s\"", hex);
    tkms_hex_encode(hex, gk, TKMS_PUBLIC_KEY_SIZE);
    len += (size_t)snprintf(text + len, cap - len, ",\"group_public_key\":\"%s\"", hex);
    tkms_hex_encode(hex, sr, 32);
    len += (size_t)snprintf(text + len, cap - len, ",\"type\":\"%s\",\"signing_root\":\"%s\"",
                            type, hex);
    len += (size_t)snprintf(text + len, cap - len, ",\"partials\":[");
    for (size_t i = 0; i < count; i++) {
        tkms_hex_encode(hex, partials[i].signature, TKMS_SIGNATURE_SIZE);
        len += (size_t)snprintf(text + len, cap - len, "%s{\"index\":%u,\"signature\":\"%s\"}",
                                i ? "," : "", partials[i].index, hex);
    }
    len += (size_t)snprintf(text + len, cap - len, "]}");

    size_t ctx = sizeof TKMS_SIGNER_RESPONSE_CONTEXT;
    uint8_t *msg = malloc(ctx + len);
    memcpy(msg, TKMS_SIGNER_RESPONSE_CONTEXT, ctx);
    memcpy(msg + ctx, text, len);
    uint8_t sig[TKMS_IDENTITY_SIGNATURE_SIZE];
    tkms_identity_sign(sig, id, msg, ctx + len);
    free(msg);
    char sig_hex[TKMS_HEX_SIZE(TKMS_IDENTITY_SIGNATURE_SIZE)];
    tkms_hex_encode(sig_hex, sig, sizeof sig);
    snprintf(text + len - 1, cap - len + 1, ",\"signature\":\"%s\"}", sig_hex);
    return text;
}

/* The partials of a response (at most 8). */
static size_t partials_of(const char *body, tkms_partial *out)
{
    json_t *j = json_loads(body, 0, NULL);
    json_t *parts = json_object_get(j, "partials");
    size_t n = json_array_size(parts);
    for (size_t i = 0; i < n && i < 8; i++) {
        json_t *p = json_array_get(parts, i);
        out[i].index = (uint32_t)json_integer_value(json_object_get(p, "index"));
        if (tkms_hex_decode(out[i].signature, TKMS_SIGNATURE_SIZE,
                            json_string_value(json_object_get(p, "signature")), NULL) != TKMS_OK)
            test_fatal("partial %zu", i);
    }
    json_decref(j);
    return n;
}

typedef enum {
    LIE_WRONG_POINT = 0,   /* a valid G2 point: the share's partial on another root */
    LIE_INFINITY,          /* the identity's encoding                              */
    LIE_GARBAGE,           /* bytes that do not decode                             */
} lie_kind;

/* Signer i's response to randao with its partial at position `which`
 * replaced, re-signed with i's identity (valid evidence). */
static char *lie(size_t i, size_t which, lie_kind kind)
{
    tkms_partial p[8];
    size_t n = partials_of(honest[i], p);
    if (kind == LIE_WRONG_POINT) {
        tkms_signature wrong;
        tkms_partial_sign(&wrong, &shares[p[which].index - 1], other_root, 32);
        tkms_signature_to_bytes(p[which].signature, &wrong);
    } else {
        memset(p[which].signature, kind == LIE_INFINITY ? 0 : 0xff, TKMS_SIGNATURE_SIZE);
        if (kind == LIE_INFINITY)
            p[which].signature[0] = 0xc0;
    }
    return build_response(&servers[i].identity, group_key, "RANDAO_REVEAL", root, p, n);
}

/* A copy of body with one digit of its Ed25519 signature changed: what a
 * tamperer on the path could send. */
static char *tampered(const char *body)
{
    char *copy = strdup(body);
    size_t len = strlen(copy);
    char *digit = copy + len - 10;           /* inside the last member's hex */
    *digit = *digit == '0' ? '1' : '0';
    return copy;
}

/* ---- checking ------------------------------------------------------------------------ */

static gateway_session *session(const gateway_key *key, tkms_eth2_type type,
                                const uint8_t *sr)
{
    gateway_session *s = NULL;
    tkms_err err;
    if (gateway_session_new(&s, key, type, sr, &err) != TKMS_OK)
        test_fatal("session: %s", err.message);
    return s;
}

static gateway_session_state feed(gateway_session *s, size_t server, const char *body)
{
    return gateway_session_response(s, server, body, strlen(body));
}

/* The session is DONE with the whole key's signature of sr. */
static void check_signature(const gateway_session *s, const uint8_t *sr, const char *what)
{
    uint8_t got[TKMS_SIGNATURE_SIZE], want[TKMS_SIGNATURE_SIZE];
    tkms_signature expected, sig;
    tkms_sign(&expected, &whole, sr, 32);
    tkms_signature_to_bytes(want, &expected);
    bool ok = gateway_session_signature(s, got) == TKMS_OK;
    CHECK(gateway_session_state_of(s) == GATEWAY_SESSION_DONE && ok, "%s: DONE with a signature",
          what);
    CHECK(ok && memcmp(got, want, sizeof want) == 0, "%s: the whole key's signature", what);
    CHECK(ok && tkms_signature_from_bytes(&sig, got) == TKMS_OK &&
              tkms_verify(&group->group_key, sr, 32, &sig),
          "%s: verifies against the group key", what);
}

static char *report(const gateway_session *s)
{
    size_t need = gateway_session_report(s, NULL, 0);
    char *text = malloc(need + 1);
    size_t again = gateway_session_report(s, text, need + 1);
    CHECK(again == need && strlen(text) == need, "report length %zu vs %zu", again, need);
    return text;
}

/* ---- the cases ------------------------------------------------------------------------- */

static void test_good_path(void)
{
    gateway_session *s = session(&key5, TKMS_ETH2_RANDAO_REVEAL, root);
    uint8_t sig[TKMS_SIGNATURE_SIZE];
    CHECK(gateway_session_signature(s, sig) == TKMS_ERR_NOT_ENOUGH_SHARES, "no signature yet");
    CHECK(feed(s, 0, honest[0]) == GATEWAY_SESSION_PENDING, "one of three: pending");
    CHECK(gateway_session_partial_count(s) == 1, "one partial in");
    CHECK(feed(s, 0, honest[0]) == GATEWAY_SESSION_PENDING &&
              gateway_session_partial_count(s) == 1, "a second answer of s1 is ignored");
    CHECK(feed(s, 2, honest[2]) == GATEWAY_SESSION_PENDING, "two of three: pending");
    CHECK(feed(s, 4, honest[4]) == GATEWAY_SESSION_DONE, "the third good one: done");
    check_signature(s, root, "s1, s3, s5");
    CHECK(feed(s, 1, honest[1]) == GATEWAY_SESSION_DONE &&
              gateway_session_server_state(s, 1) == GATEWAY_SERVER_WAITING,
          "a late answer is not examined");
    size_t faults = 9;
    CHECK(gateway_session_faulty(s, &faults) == NULL && faults == 0, "nobody faulty");
    char *text = report(s);
    const char *want = "3 partials of 3 needed: s1: ok (partial 1); s2: no answer; "
                       "s3: ok (partial 3); s4: no answer; s5: ok (partial 5)";
    CHECK(strcmp(text, want) == 0, "report: '%s'", text);
    char small[12];
    CHECK(gateway_session_report(s, small, sizeof small) == strlen(want) &&
              strcmp(small, "3 partials ") == 0, "a cut report: '%s'", small);
    free(text);
    gateway_session_free(s);
}

/* Random arrival orders and fates. The oracle: the session is DONE exactly
 * at the arrival of the K-th honest response, with every liar that arrived
 * before named and nobody else; it is never FAILED while the honest ones
 * in plus those not yet arrived could reach K, and ends FAILED when fewer
 * than K are honest. A tampered body (its Ed25519 signature broken, its
 * partial valid) counts as honest: its partial is used, and it is never
 * named. */
typedef enum { FATE_HONEST = 0, FATE_LIAR, FATE_TIMEOUT, FATE_TAMPERED } fate;

static void test_arrival_orders(void)
{
    tkms_rng_seeded rng;
    uint8_t seed[32] = {0x0d, 0xe5};
    tkms_rng_seeded_init(&rng, seed);
    int done_runs = 0, failed_runs = 0, bad_runs = 0;
    for (int trial = 0; trial < 40; trial++) {
        fate fates[5];
        int liars = 0, honest_total = 0;
        for (size_t i = 0; i < 5; i++) {
            uint32_t r = test_rand_below(&rng.base, 20);
            fates[i] = r < 10 ? FATE_HONEST : r < 14 ? FATE_LIAR : r < 17 ? FATE_TIMEOUT
                                                                          : FATE_TAMPERED;
            if (fates[i] == FATE_LIAR && liars == 2)
                fates[i] = FATE_HONEST;
            liars += fates[i] == FATE_LIAR;
            honest_total += fates[i] == FATE_HONEST || fates[i] == FATE_TAMPERED;
        }
        size_t order[5] = {0, 1, 2, 3, 4};
        for (size_t i = 4; i > 0; i--) {
            size_t j = test_rand_below(&rng.base, (uint32_t)i + 1);
            size_t t = order[i];
            order[i] = order[j];
            order[j] = t;
        }

        gateway_session *s = session(&key5, TKMS_ETH2_RANDAO_REVEAL, root);
        int honest_in = 0;
        bool liar_before_done[5] = {false}, ok = true, done = false;
        for (size_t a = 0; a < 5; a++) {
            size_t i = order[a];
            gateway_session_state st;
            char *body = NULL;
            switch (fates[i]) {
            case FATE_HONEST:
                st = feed(s, i, honest[i]);
                honest_in++;
                break;
            case FATE_LIAR:
                body = lie(i, 0, (lie_kind)test_rand_below(&rng.base, 3));
                st = feed(s, i, body);
                if (!done)
                    liar_before_done[i] = true;
                break;
            case FATE_TIMEOUT:
                st = gateway_session_failed(s, i, "timeout after 300 ms");
                break;
            default:
                body = tampered(honest[i]);
                st = feed(s, i, body);
                honest_in++;
                break;
            }
            free(body);
            int not_arrived = (int)(4 - a);
            bool expect_done = honest_total >= 3 && honest_in >= 3;
            if (expect_done != (st == GATEWAY_SESSION_DONE)) {
                ok = false;
                CHECK(false, "trial %d arrival %zu (server %zu): state %d, %d honest in", trial,
                      a, i, st, honest_in);
            }
            if (st == GATEWAY_SESSION_FAILED && honest_in + not_arrived >= 3) {
                ok = false;
                CHECK(false, "trial %d: FAILED while %d honest in and %d to come", trial,
                      honest_in, not_arrived);
            }
            done = st == GATEWAY_SESSION_DONE;
        }
        size_t count;
        const gateway_fault *f = gateway_session_faulty(s, &count);
        bool named[5] = {false};
        for (size_t k = 0; k < count; k++) {
            named[f[k].server] = true;
            tkms_err err;
            if (gateway_evidence_verify(five_servers[f[k].server].identity, group,
                                        TKMS_ETH2_RANDAO_REVEAL, root, f[k].evidence,
                                        f[k].evidence_len, NULL, &err) != TKMS_OK) {
                ok = false;
                CHECK(false, "trial %d: evidence against server %zu: %s", trial, f[k].server,
                      err.message);
            }
        }
        for (size_t i = 0; i < 5; i++) {
            bool must = done && liar_before_done[i];
            bool may = liar_before_done[i];
            if ((must && !named[i]) || (!may && named[i])) {
                ok = false;
                CHECK(false, "trial %d: server %zu named %d (liar before done: %d)", trial, i,
                      named[i], liar_before_done[i]);
            }
        }
        if (honest_total >= 3) {
            check_signature(s, root, "random order");
            done_runs++;
        } else {
            CHECK(gateway_session_state_of(s) == GATEWAY_SESSION_FAILED,
                  "trial %d: %d honest: FAILED at the end", trial, honest_total);
            char *text = report(s);
            for (size_t i = 0; i < 5; i++)
                CHECK(strstr(text, five_servers[i].name) != NULL, "report names %s: %s",
                      five_servers[i].name, text);
            free(text);
            failed_runs++;
        }
        bad_runs += !ok;
        gateway_session_free(s);
    }
    CHECK(done_runs > 5 && failed_runs > 5, "both outcomes covered (%d done, %d failed)",
          done_runs, failed_runs);
    CHECK(bad_runs == 0, "%d of 40 random orders went wrong", bad_runs);
}

static void test_liar_among_first_k(void)
{
    char *liar = lie(0, 0, LIE_WRONG_POINT);
    gateway_session *s = session(&key5, TKMS_ETH2_RANDAO_REVEAL, root);
    feed(s, 0, liar);
    feed(s, 1, honest[1]);
    CHECK(feed(s, 2, honest[2]) == GATEWAY_SESSION_PENDING,
          "a liar among the first three: still pending");
    CHECK(gateway_session_server_state(s, 0) == GATEWAY_SERVER_FAULTY, "s1 is faulty");
    CHECK(gateway_session_partial_count(s) == 2, "its partial left the pool (%zu)",
          gateway_session_partial_count(s));
    size_t count;
    const gateway_fault *f = gateway_session_faulty(s, &count);
    CHECK(count == 1 && f[0].server == 0 && f[0].kind == GATEWAY_FAULT_INVALID_PARTIAL &&
              f[0].bad_count == 1 && f[0].bad_indices[0] == 1,
          "one fault: s1, invalid partial 1");
    CHECK(count == 1 && f[0].evidence_len == strlen(liar) &&
              memcmp(f[0].evidence, liar, f[0].evidence_len) == 0 &&
              f[0].evidence[f[0].evidence_len] == '\0',
          "the evidence is the signed response as received");
    CHECK(feed(s, 3, honest[3]) == GATEWAY_SESSION_DONE, "s4 completes it");
    check_signature(s, root, "liar s1");

    /* the evidence, checked offline */
    tkms_err err;
    uint32_t bad = 0;
    CHECK(gateway_evidence_verify(servers[0].identity.public_key, group,
                                  TKMS_ETH2_RANDAO_REVEAL, root, f[0].evidence,
                                  f[0].evidence_len, &bad, &err) == TKMS_OK && bad == 1,
          "the evidence proves partial 1 is invalid (%u): %s", bad, err.message);
    CHECK(strstr(err.message, "partial 1") != NULL, "named: %s", err.message);
    CHECK(gateway_evidence_verify(servers[1].identity.public_key, group,
                                  TKMS_ETH2_RANDAO_REVEAL, root, liar, strlen(liar), &bad,
                                  &err) == TKMS_ERR_VERIFY_FAILED && bad == 0,
          "not evidence against another server");
    CHECK(gateway_evidence_verify(servers[0].identity.public_key, group,
                                  TKMS_ETH2_RANDAO_REVEAL, other_root, liar, strlen(liar), NULL,
                                  &err) == TKMS_ERR_VERIFY_FAILED,
          "not evidence for another root");
    CHECK(gateway_evidence_verify(servers[0].identity.public_key, group, TKMS_ETH2_ATTESTATION,
                                  root, liar, strlen(liar), NULL, &err) ==
              TKMS_ERR_VERIFY_FAILED, "not evidence for another type");
    CHECK(gateway_evidence_verify(servers[1].identity.public_key, group,
                                  TKMS_ETH2_RANDAO_REVEAL, root, honest[1], strlen(honest[1]),
                                  NULL, &err) == TKMS_ERR_VERIFY_FAILED &&
              strstr(err.message, "every partial verifies") != NULL,
          "an honest response proves nothing: %s", err.message);
    char *altered = strdup(liar);
    char *digit = strstr(altered, "\"signature\":\"0x") + 40;
    *digit = *digit == '0' ? '1' : '0';
    CHECK(gateway_evidence_verify(servers[0].identity.public_key, group,
                                  TKMS_ETH2_RANDAO_REVEAL, root, altered, strlen(altered), NULL,
                                  &err) == TKMS_ERR_VERIFY_FAILED,
          "altered evidence proves nothing");
    free(altered);
    CHECK(gateway_evidence_verify(NULL, group, TKMS_ETH2_RANDAO_REVEAL, root, liar,
                                  strlen(liar), NULL, &err) == TKMS_ERR_INVALID_ARGUMENT,
          "NULL identity");
    for (lie_kind k = LIE_INFINITY; k <= LIE_GARBAGE; k++) {
        char *other = lie(2, 0, k);
        CHECK(gateway_evidence_verify(servers[2].identity.public_key, group,
                                      TKMS_ETH2_RANDAO_REVEAL, root, other, strlen(other), &bad,
                                      &err) == TKMS_OK && bad == 3,
              "an undecodable partial (%d) is evidence: %s", (int)k, err.message);
        free(other);
    }

    char *text = report(s);
    CHECK(strstr(text, "s1: invalid partial 1 (locked out)") != NULL, "report: %s", text);
    free(text);
    gateway_session_free(s);

    /* the same lie, not re-signed (changed on the way): used until the
     * combination fails, then not counted, and nobody blamed */
    tkms_partial p[8];
    partials_of(liar, p);
    char *forged = strdup(honest[0]);
    char hex[TKMS_HEX_SIZE(TKMS_SIGNATURE_SIZE)];
    tkms_hex_encode(hex, p[0].signature, TKMS_SIGNATURE_SIZE);
    char *at = strstr(forged, "\"signature\":\"") + strlen("\"signature\":\"");
    memcpy(at, hex, strlen(hex));
    s = session(&key5, TKMS_ETH2_RANDAO_REVEAL, root);
    CHECK(feed(s, 0, forged) == GATEWAY_SESSION_PENDING &&
              gateway_session_server_state(s, 0) == GATEWAY_SERVER_ANSWERED &&
              gateway_session_partial_count(s) == 1,
          "a forged body that reads: its partial joins the pool unjudged");
    feed(s, 1, honest[1]);
    CHECK(feed(s, 2, honest[2]) == GATEWAY_SESSION_PENDING &&
              gateway_session_server_state(s, 0) == GATEWAY_SERVER_UNUSABLE &&
              gateway_session_partial_count(s) == 2,
          "its invalid partial found: UNUSABLE (not FAULTY), its partial out");
    gateway_session_faulty(s, &count);
    CHECK(count == 0, "and blames nobody: no evidence (%zu)", count);
    text = report(s);
    CHECK(strstr(text, "s1: unusable response (not counted): sign response: the server's "
                       "signature does not verify") != NULL, "report: %s", text);
    free(text);
    CHECK(feed(s, 3, honest[3]) == GATEWAY_SESSION_DONE, "s4 completes it");
    check_signature(s, root, "forged s1");
    gateway_session_faulty(s, &count);
    CHECK(count == 0, "still nobody blamed (%zu)", count);
    gateway_session_free(s);

    /* the same with w: both its partials leave, the good one too */
    char *lw = lie(W, 1, LIE_WRONG_POINT), *forged_w = tampered(lw);
    free(lw);
    s = session(&keyw, TKMS_ETH2_RANDAO_REVEAL, root);
    feed(s, 0, forged_w);
    CHECK(feed(s, 1, honest[2]) == GATEWAY_SESSION_PENDING &&
              gateway_session_server_state(s, 0) == GATEWAY_SERVER_UNUSABLE &&
              gateway_session_partial_count(s) == 1,
          "w forged: unusable, both its partials out (%zu in)",
          gateway_session_partial_count(s));
    gateway_session_faulty(s, &count);
    CHECK(count == 0, "w forged: nobody blamed");
    feed(s, 2, honest[3]);
    CHECK(feed(s, 3, honest[4]) == GATEWAY_SESSION_DONE, "s3, s4, s5: done");
    check_signature(s, root, "forged w");
    gateway_session_free(s);
    free(forged_w);
    free(forged);
    free(liar);
}

static void test_two_liars(void)
{
    char *l1 = lie(0, 0, LIE_WRONG_POINT), *l2 = lie(1, 0, LIE_INFINITY);
    gateway_session *s = session(&key5, TKMS_ETH2_RANDAO_REVEAL, root);
    CHECK(feed(s, 0, l1) == GATEWAY_SESSION_PENDING && feed(s, 1, l2) == GATEWAY_SESSION_PENDING &&
              feed(s, 2, honest[2]) == GATEWAY_SESSION_PENDING,
          "two liars and one honest: pending");
    size_t count;
    const gateway_fault *f = gateway_session_faulty(s, &count);
    CHECK(count == 2 && f[0].server == 0 && f[1].server == 1, "both liars named (%zu)", count);
    CHECK(feed(s, 3, honest[3]) == GATEWAY_SESSION_PENDING, "two honest: pending");
    CHECK(feed(s, 4, honest[4]) == GATEWAY_SESSION_DONE, "three honest: done");
    check_signature(s, root, "two liars, three honest");
    gateway_session_free(s);

    /* liars arriving after two honest ones */
    s = session(&key5, TKMS_ETH2_RANDAO_REVEAL, root);
    feed(s, 3, honest[3]);
    feed(s, 2, honest[2]);
    CHECK(feed(s, 0, l1) == GATEWAY_SESSION_PENDING, "third is a liar: pending");
    CHECK(feed(s, 1, l2) == GATEWAY_SESSION_PENDING, "fourth is a liar: pending");
    CHECK(feed(s, 4, honest[4]) == GATEWAY_SESSION_DONE, "fifth: done");
    f = gateway_session_faulty(s, &count);
    CHECK(count == 2 && f[0].server == 0 && f[1].server == 1 && f[1].bad_indices[0] == 2,
          "both liars named in arrival order");
    check_signature(s, root, "liars third and fourth");
    gateway_session_free(s);
    free(l1);
    free(l2);
}

static void test_wrong_request(void)
{
    size_t len;
    char *capella = captured("05_RANDAO_REVEAL_capella.json", &len);
    char *other = respond(0, capella, len);
    free(capella);
    tkms_partial p[8];
    partials_of(honest[1], p);
    char *wrong_type = build_response(&servers[1].identity, group_key, "ATTESTATION", root, p, 1);
    partials_of(honest[2], p);
    uint8_t not_ours[TKMS_PUBLIC_KEY_SIZE];
    tkms_public_key_to_bytes(not_ours, &group->share_keys[0]);
    char *wrong_key = build_response(&servers[2].identity, not_ours, "RANDAO_REVEAL", root, p, 1);

    gateway_session *s = session(&key5, TKMS_ETH2_RANDAO_REVEAL, root);
    CHECK(feed(s, 0, other) == GATEWAY_SESSION_PENDING, "another root: pending");
    feed(s, 1, wrong_type);
    feed(s, 2, wrong_key);
    size_t count;
    const gateway_fault *f = gateway_session_faulty(s, &count);
    CHECK(count == 3, "three faulty (%zu)", count);
    for (size_t k = 0; k < count; k++)
        CHECK(f[k].kind == GATEWAY_FAULT_WRONG_REQUEST && f[k].bad_count == 0 &&
                  f[k].server == k && f[k].evidence != NULL,
              "fault %zu: wrong request with its response kept", k);
    CHECK(count == 3 && strstr(f[0].reason, "another signing root") != NULL &&
              strstr(f[1].reason, "type ATTESTATION") != NULL &&
              strstr(f[2].reason, "another group key") != NULL,
          "reasons: '%s' / '%s' / '%s'", count > 0 ? f[0].reason : "",
          count > 1 ? f[1].reason : "", count > 2 ? f[2].reason : "");
    CHECK(gateway_session_partial_count(s) == 0, "none counted");
    tkms_err err;
    CHECK(gateway_evidence_verify(servers[0].identity.public_key, group,
                                  TKMS_ETH2_RANDAO_REVEAL, root, other, strlen(other), NULL,
                                  &err) == TKMS_ERR_VERIFY_FAILED &&
              strstr(err.message, "the server signed a response for another signing root") !=
                  NULL,
          "a response for another root is no transferable evidence: %s", err.message);
    CHECK(gateway_evidence_verify(servers[0].identity.public_key, group,
                                  TKMS_ETH2_RANDAO_REVEAL, other_root, other, strlen(other),
                                  NULL, &err) == TKMS_ERR_VERIFY_FAILED,
          "its partial is valid for its own root");
    feed(s, 3, honest[3]);
    CHECK(feed(s, 4, honest[4]) == GATEWAY_SESSION_FAILED,
          "three locked out, two honest: FAILED");
    char *text = report(s);
    CHECK(strstr(text, "s1: signed a response for another signing root 0x") != NULL &&
              strstr(text, "(locked out)") != NULL, "report: %s", text);
    free(text);
    gateway_session_free(s);
    free(other);
    free(wrong_type);
    free(wrong_key);
}

static void test_foreign_index(void)
{
    tkms_partial p[2];
    tkms_signature sig;
    tkms_partial_sign(&sig, &shares[0], root, 32);   /* share 1's valid partial */
    p[0].index = 1;
    tkms_signature_to_bytes(p[0].signature, &sig);
    char *s2_sends_1 = build_response(&servers[1].identity, group_key, "RANDAO_REVEAL", root, p, 1);
    partials_of(honest[2], p);
    tkms_partial_sign(&sig, &shares[3], root, 32);
    p[1].index = 4;
    tkms_signature_to_bytes(p[1].signature, &sig);
    char *s3_sends_3_4 = build_response(&servers[2].identity, group_key, "RANDAO_REVEAL", root, p,
                                        2);

    gateway_session *s = session(&key5, TKMS_ETH2_RANDAO_REVEAL, root);
    feed(s, 1, s2_sends_1);
    feed(s, 2, s3_sends_3_4);
    size_t count;
    const gateway_fault *f = gateway_session_faulty(s, &count);
    CHECK(count == 2 && f[0].kind == GATEWAY_FAULT_FOREIGN_INDEX && f[0].bad_count == 1 &&
              f[0].bad_indices[0] == 1 && f[1].kind == GATEWAY_FAULT_FOREIGN_INDEX &&
              f[1].bad_count == 1 && f[1].bad_indices[0] == 4,
          "partials for indices a server does not hold: faulty, even valid ones");
    CHECK(count == 2 && strcmp(f[0].reason,
                               "sent a partial for index 1, which it does not hold") == 0,
          "reason: %s", count ? f[0].reason : "");
    CHECK(gateway_session_partial_count(s) == 0, "none counted");
    feed(s, 0, honest[0]);
    feed(s, 3, honest[3]);
    CHECK(feed(s, 4, honest[4]) == GATEWAY_SESSION_DONE, "the other three: done");
    check_signature(s, root, "foreign indices");
    gateway_session_free(s);

    /* w's response (indices 1 and 2) fed as s4's */
    partials_of(honest[W], p);
    char *w_as_s4 = build_response(&servers[3].identity, group_key, "RANDAO_REVEAL", root, p, 2);
    s = session(&key5, TKMS_ETH2_RANDAO_REVEAL, root);
    feed(s, 3, w_as_s4);
    f = gateway_session_faulty(s, &count);
    CHECK(count == 1 && f[0].bad_count == 2 &&
              strcmp(f[0].reason, "sent partials for indices 1, 2, which it does not hold") == 0,
          "two foreign indices: %s", count ? f[0].reason : "");
    gateway_session_free(s);

    /* the same, its Ed25519 signature broken: not s2's word, unusable */
    char *forged = tampered(s2_sends_1);
    s = session(&key5, TKMS_ETH2_RANDAO_REVEAL, root);
    feed(s, 1, forged);
    gateway_session_faulty(s, &count);
    CHECK(count == 0 && gateway_session_server_state(s, 1) == GATEWAY_SERVER_UNUSABLE &&
              gateway_session_partial_count(s) == 0,
          "a foreign index under a bad signature: unusable, nobody blamed");
    gateway_session_free(s);
    free(forged);
    free(w_as_s4);
    free(s2_sends_1);
    free(s3_sends_3_4);
}

static void test_unusable(void)
{
    /* a broken Ed25519 signature on valid partials: used, nobody blamed */
    gateway_session *s = session(&key5, TKMS_ETH2_RANDAO_REVEAL, root);
    char *bad_sig = tampered(honest[0]);
    CHECK(feed(s, 0, bad_sig) == GATEWAY_SESSION_PENDING &&
              gateway_session_partial_count(s) == 1,
          "a bad Ed25519 signature on a valid partial: in the pool");
    feed(s, 1, honest[1]);
    CHECK(feed(s, 2, honest[2]) == GATEWAY_SESSION_DONE,
          "it does not keep the session from DONE");
    check_signature(s, root, "s1 tampered, s2, s3");
    size_t count;
    gateway_session_faulty(s, &count);
    CHECK(count == 0 && gateway_session_server_state(s, 0) == GATEWAY_SERVER_ANSWERED,
          "s1 answered, nobody blamed (%zu)", count);
    gateway_session_free(s);

    /* a root changed on the way (the signature no longer verifies): it
     * would be WRONG_REQUEST, but it is not s1's word: unusable */
    char *moved = strdup(honest[0]);
    char *digit = strstr(moved, "\"signing_root\":\"0x") + 20;
    *digit = *digit == '0' ? '1' : '0';
    s = session(&key5, TKMS_ETH2_RANDAO_REVEAL, root);
    CHECK(feed(s, 0, moved) == GATEWAY_SESSION_PENDING, "a bad Ed25519 signature: pending");
    CHECK(gateway_session_server_state(s, 0) == GATEWAY_SERVER_UNUSABLE, "s1 unusable");
    CHECK(feed(s, 2, honest[1]) == GATEWAY_SESSION_PENDING &&
              gateway_session_server_state(s, 2) == GATEWAY_SERVER_UNUSABLE,
          "s2's response as s3's: unusable");
    CHECK(gateway_session_response(s, 3, NULL, 0) == GATEWAY_SESSION_FAILED,
          "a missing body leaves two servers for three partials: FAILED at once");
    CHECK(gateway_session_server_state(s, 3) == GATEWAY_SERVER_UNUSABLE, "s4 unusable");
    gateway_session_faulty(s, &count);
    CHECK(count == 0, "unattributable answers blame nobody (%zu)", count);
    char *text = report(s);
    CHECK(strstr(text, "s1: unusable response (not counted): sign response: the server's "
                       "signature does not verify") != NULL &&
              strstr(text, "s3: unusable response (not counted): sign response: from another "
                           "server") != NULL &&
              strstr(text, "s2: no answer") != NULL,
          "report: %s", text);
    free(text);
    gateway_session_free(s);

    s = session(&key5, TKMS_ETH2_RANDAO_REVEAL, root);
    const char *junk[] = {"not json", "{}", "[1,2]", "{\"server\":\"0x00\"}"};
    for (size_t i = 0; i < 4; i++)
        feed(s, i, junk[i]);
    for (size_t i = 0; i < 3; i++)
        CHECK(gateway_session_server_state(s, i) == GATEWAY_SERVER_UNUSABLE, "junk %zu", i);
    CHECK(gateway_session_state_of(s) == GATEWAY_SESSION_FAILED &&
              gateway_session_server_state(s, 3) == GATEWAY_SERVER_WAITING,
          "junk from three of five: FAILED, and final (the fourth is not examined)");
    gateway_session_free(s);
    free(bad_sig);
    free(moved);
}

static void test_too_few(void)
{
    char *l5 = lie(4, 0, LIE_WRONG_POINT);
    gateway_session *s = session(&key5, TKMS_ETH2_RANDAO_REVEAL, root);
    CHECK(feed(s, 4, l5) == GATEWAY_SESSION_PENDING, "liar first");
    CHECK(feed(s, 0, honest[0]) == GATEWAY_SESSION_PENDING, "s1");
    CHECK(gateway_session_failed(s, 1, "timeout after 300 ms") == GATEWAY_SESSION_PENDING,
          "s2 times out");
    CHECK(gateway_session_failed(s, 2, "412: refused by\nslashing protection") ==
              GATEWAY_SESSION_PENDING, "s3 refuses");
    CHECK(feed(s, 3, honest[3]) == GATEWAY_SESSION_FAILED, "s4: the liar found, FAILED");
    CHECK(gateway_session_failed(s, 3, "late") == GATEWAY_SESSION_FAILED &&
              gateway_session_server_state(s, 3) == GATEWAY_SERVER_ANSWERED,
          "FAILED is final");
    uint8_t sig[TKMS_SIGNATURE_SIZE];
    CHECK(gateway_session_signature(s, sig) == TKMS_ERR_NOT_ENOUGH_SHARES, "no signature");
    char *text = report(s);
    const char *want = "2 partials of 3 needed: s1: ok (partial 1); s2: timeout after 300 ms; "
                       "s3: 412: refused by slashing protection; s4: ok (partial 4); "
                       "s5: invalid partial 5 (locked out)";
    CHECK(strcmp(text, want) == 0, "report: '%s'", text);
    printf("503 report: %s\n", text);
    free(text);
    gateway_session_free(s);

    /* out of reach before everyone answered */
    s = session(&key5, TKMS_ETH2_RANDAO_REVEAL, root);
    gateway_session_failed(s, 0, NULL);
    gateway_session_failed(s, 1, "connection refused");
    CHECK(gateway_session_state_of(s) == GATEWAY_SESSION_PENDING, "two failed of five: pending");
    CHECK(gateway_session_failed(s, 4, "timeout") == GATEWAY_SESSION_FAILED,
          "three failed of five: FAILED without waiting for the rest");
    text = report(s);
    CHECK(strstr(text, "0 partials of 3 needed: s1: failed; s2: connection refused; "
                       "s3: no answer") == text, "report: %s", text);
    free(text);
    gateway_session_free(s);
    free(l5);
}

static void test_weighted(void)
{
    /* w counts twice */
    gateway_session *s = session(&keyw, TKMS_ETH2_RANDAO_REVEAL, root);
    CHECK(feed(s, 0, honest[W]) == GATEWAY_SESSION_PENDING && gateway_session_partial_count(s) == 2,
          "w brings two partials");
    CHECK(feed(s, 1, honest[2]) == GATEWAY_SESSION_DONE, "w and s3: done");
    check_signature(s, root, "weighted");
    char *text = report(s);
    CHECK(strstr(text, "w: ok (partials 1, 2); s3: ok (partial 3)") != NULL, "report: %s", text);
    free(text);
    gateway_session_free(s);

    /* w honest, s3 lies */
    char *l3 = lie(2, 0, LIE_GARBAGE);
    s = session(&keyw, TKMS_ETH2_RANDAO_REVEAL, root);
    feed(s, 0, honest[W]);
    CHECK(feed(s, 1, l3) == GATEWAY_SESSION_PENDING, "w and a lying s3: pending");
    CHECK(feed(s, 2, honest[3]) == GATEWAY_SESSION_DONE, "w and s4: done");
    check_signature(s, root, "weighted, s3 lies");
    gateway_session_free(s);
    free(l3);

    /* w lies with one of its two partials: all of w is out */
    char *lw = lie(W, 1, LIE_WRONG_POINT);
    s = session(&keyw, TKMS_ETH2_RANDAO_REVEAL, root);
    feed(s, 0, lw);
    CHECK(feed(s, 1, honest[2]) == GATEWAY_SESSION_PENDING, "w lying and s3: pending");
    CHECK(gateway_session_partial_count(s) == 1, "w's valid partial 1 left with the bad one (%zu)",
          gateway_session_partial_count(s));
    size_t count;
    const gateway_fault *f = gateway_session_faulty(s, &count);
    CHECK(count == 1 && f[0].server == 0 && f[0].bad_count == 1 && f[0].bad_indices[0] == 2,
          "w named for partial 2");
    tkms_err err;
    uint32_t bad = 0;
    CHECK(count == 1 && gateway_evidence_verify(servers[W].identity.public_key, group,
                                                TKMS_ETH2_RANDAO_REVEAL, root, f[0].evidence,
                                                f[0].evidence_len, &bad, &err) == TKMS_OK &&
              bad == 2, "the evidence against w verifies: %s", err.message);
    CHECK(feed(s, 2, honest[3]) == GATEWAY_SESSION_PENDING, "s3, s4: pending");
    CHECK(feed(s, 3, honest[4]) == GATEWAY_SESSION_DONE, "s3, s4, s5: done");
    check_signature(s, root, "weighted liar");
    text = report(s);
    CHECK(strstr(text, "w: invalid partial 2 (locked out)") != NULL, "report: %s", text);
    free(text);
    gateway_session_free(s);
    free(lw);

    /* w lies with partial 1 after s3 and s4: the combiner finds a
     * signature with w's good partial 2, but w is locked out whole */
    lw = lie(W, 0, LIE_INFINITY);
    s = session(&keyw, TKMS_ETH2_RANDAO_REVEAL, root);
    feed(s, 1, honest[2]);
    feed(s, 2, honest[3]);
    CHECK(feed(s, 0, lw) == GATEWAY_SESSION_PENDING, "a locked-out server's good partial is "
                                                     "not used");
    CHECK(gateway_session_partial_count(s) == 2, "s3 and s4 remain (%zu)",
          gateway_session_partial_count(s));
    CHECK(feed(s, 3, honest[4]) == GATEWAY_SESSION_DONE, "s5: done");
    check_signature(s, root, "weighted liar last");
    gateway_session_free(s);
    free(lw);

    /* w fails: three single servers needed */
    s = session(&keyw, TKMS_ETH2_RANDAO_REVEAL, root);
    gateway_session_failed(s, 0, "timeout");
    CHECK(gateway_session_failed(s, 1, "timeout") == GATEWAY_SESSION_FAILED,
          "w and s3 failed: FAILED");
    gateway_session_free(s);
}

static void test_attestation(void)
{
    size_t len;
    char *body = captured("12_ATTESTATION.json", &len);
    uint8_t att_root[32];
    tkms_eth2_type type;
    root_of(body, len, att_root, &type);
    gateway_session *s = session(&key5, type, att_root);
    for (size_t i = 4; i >= 2; i--) {
        char *r = respond(i, body, len);
        gateway_session_state st = feed(s, i, r);
        CHECK(st == (i == 2 ? GATEWAY_SESSION_DONE : GATEWAY_SESSION_PENDING),
              "attestation, server %zu: %d", i, st);
        free(r);
    }
    check_signature(s, att_root, "attestation");
    gateway_session_free(s);
    free(body);
}

static void test_bad_keys(void)
{
    static char dummy;
    gateway_session *s = (gateway_session *)(void *)&dummy;   /* must become NULL */
    tkms_err err;
    gateway_holder twice[2] = {five_servers[0], five_servers[1]};
    twice[1].indices = IDX[0];
    gateway_key k = {group, twice, 2};
    CHECK(gateway_session_new(&s, &k, TKMS_ETH2_RANDAO_REVEAL, root, &err) ==
              TKMS_ERR_INVALID_ARGUMENT && s == NULL && strstr(err.message, "index 1") != NULL,
          "an index held twice: %s", err.message);
    static const uint32_t zero[1] = {0}, six[1] = {6};
    twice[1].indices = zero;
    CHECK(gateway_session_new(&s, &k, TKMS_ETH2_RANDAO_REVEAL, root, &err) ==
              TKMS_ERR_INVALID_ARGUMENT, "index 0");
    twice[1].indices = six;
    CHECK(gateway_session_new(&s, &k, TKMS_ETH2_RANDAO_REVEAL, root, &err) ==
              TKMS_ERR_INVALID_ARGUMENT, "index 6 of 5");
    k.group = NULL;
    CHECK(gateway_session_new(&s, &k, TKMS_ETH2_RANDAO_REVEAL, root, &err) ==
              TKMS_ERR_INVALID_ARGUMENT, "no group");
    CHECK(gateway_session_new(&s, &key5, (tkms_eth2_type)99, root, &err) ==
              TKMS_ERR_INVALID_ARGUMENT, "unknown type");
    k = (gateway_key){group, five_servers, 2};       /* s1, s2: two indices for K = 3 */
    CHECK(gateway_session_new(&s, &k, TKMS_ETH2_RANDAO_REVEAL, root, &err) == TKMS_OK &&
              gateway_session_state_of(s) == GATEWAY_SESSION_FAILED,
          "a key whose servers hold fewer than K shares starts FAILED");
    gateway_session_free(s);
    gateway_session_free(NULL);
}

/* The good path's cost (three responses: JSON, no Ed25519 verify, one
 * combine with its one verify) against one plain verify. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void test_cost(void)
{
    tkms_signature sig;
    tkms_sign(&sig, &whole, root, 32);
    double verify = 1e9, combine = 1e9;
    for (int run = 0; run < 7; run++) {
        double t0 = now();
        bool ok = tkms_verify(&group->group_key, root, 32, &sig);
        double t1 = now();
        gateway_session *s = session(&key5, TKMS_ETH2_RANDAO_REVEAL, root);
        feed(s, 0, honest[0]);
        feed(s, 1, honest[1]);
        gateway_session_state st = feed(s, 2, honest[2]);
        double t2 = now();
        gateway_session_free(s);
        CHECK(ok && st == GATEWAY_SESSION_DONE, "timed run %d", run);
        if (t1 - t0 < verify)
            verify = t1 - t0;
        if (t2 - t1 < combine)
            combine = t2 - t1;
    }
    printf("good path, K=3: %.0f us = %.2f x one verify (%.0f us)\n", combine * 1e6,
           combine / verify, verify * 1e6);
    CHECK(combine < 8 * verify, "the good path costs %.2f verifies", combine / verify);
}

int main(void)
{
    set_up();
    test_good_path();
    test_arrival_orders();
    test_liar_among_first_k();
    test_two_liars();
    test_wrong_request();
    test_foreign_index();
    test_unusable();
    test_too_few();
    test_weighted();
    test_attestation();
    test_bad_keys();
    test_cost();
    tear_down();
    return test_report();
}
