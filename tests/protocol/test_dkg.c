/*
 * test_dkg.c — distributed key generation and resharing, with every party
 * run through the in-memory relay (tkms/simulation.h) and a seeded RNG:
 *   - honest DKGs, one share per owner and weighted, through the same
 *     calls; every honest party ends with the same group keys and
 *     transcript, its shares match the group, and K shares sign;
 *   - each misbehaviour is caught and blamed on the faulty party, with the
 *     signed evidence where the fault is provable, and the honest parties
 *     still finish;
 *   - reshare: a refresh keeps the key and old and new shares cannot be
 *     combined; a change of owners and threshold keeps the key and only the
 *     new set signs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "tkms/ceremony_message.h"
#include "tkms/combine.h"
#include "tkms/simulation.h"

static tkms_rng_seeded rng;

typedef struct {
    tkms_ceremony_spec *spec;
    tkms_identity identities[TKMS_CEREMONY_MAX_PARTIES];
} ceremony;

/* Parties p1..pm (or the given names) with the given share counts. */
static void make_ceremony(ceremony *c, tkms_ceremony_kind kind, const char *const *names,
                          const uint32_t *shares, size_t m, uint32_t k, uint32_t keys,
                          tkms_group *old_group, tkms_owner_map *old_owners)
{
    tkms_ceremony_party parties[TKMS_CEREMONY_MAX_PARTIES];
    for (size_t i = 0; i < m; i++) {
        if (names)
            snprintf(parties[i].id, sizeof parties[i].id, "%s", names[i]);
        else
            snprintf(parties[i].id, sizeof parties[i].id, "p%02zu", i + 1);
        parties[i].shares = shares ? shares[i] : 1;
    }
    uint8_t id[TKMS_CEREMONY_ID_SIZE];
    tkms_rng_fill(&rng.base, id, sizeof id);
    /* identities in spec (sorted id) order: sort the names first */
    tkms_err err;
    for (size_t i = 0; i < m; i++) {
        tkms_identity_generate(&c->identities[i], &rng.base);
        memcpy(parties[i].identity, c->identities[i].public_key, TKMS_IDENTITY_PUBLIC_SIZE);
    }
    if (tkms_ceremony_spec_new(&c->spec, kind, id, k, keys, parties, m, old_group, old_owners, &err) != TKMS_OK)
        test_fatal("spec: %s", err.message);
    /* re-order identities to spec order */
    tkms_identity sorted[TKMS_CEREMONY_MAX_PARTIES];
    for (size_t i = 0; i < m; i++) {
        uint32_t at = tkms_ceremony_party_number(c->spec, parties[i].id);
        sorted[at - 1] = c->identities[i];
    }
    memcpy(c->identities, sorted, m * sizeof *sorted);
}

static void run(tkms_simulation *sim, const ceremony *c, const tkms_fault *faults,
                const tkms_share *const *old_shares, const size_t *old_counts)
{
    tkms_simulation_config cfg = {.spec = c->spec, .identities = c->identities, .faults = faults,
                                  .old_shares = old_shares, .old_share_counts = old_counts,
                                  .rng = &rng.base};
    tkms_err err;
    if (tkms_simulate(sim, &cfg, &err) != TKMS_OK)
        test_fatal("simulate: %s", err.message);
}

/* Collects every honest party's shares of `key` (index order). */
static size_t collect_shares(const tkms_simulation *sim, const tkms_fault *faults, uint32_t key,
                             tkms_share *out)
{
    size_t n = 0;
    for (size_t q = 0; q < sim->party_count; q++) {
        if (faults && faults[q] != TKMS_FAULT_NONE)
            continue;
        size_t count;
        const tkms_share *s = tkms_party_shares(sim->parties[q], key, &count);
        for (size_t i = 0; i < count; i++)
            out[n++] = s[i];
    }
    return n;
}

/* K of the given shares (from `first`) sign msg; the result verifies. */
static tkms_status sign_with(const tkms_group *g, const tkms_share *shares, size_t count,
                             const uint8_t *msg, size_t len, tkms_signature *out)
{
    tkms_partial *p = calloc(count, sizeof *p);
    uint32_t *bad = calloc(count, sizeof *bad);
    size_t nbad;
    for (size_t i = 0; i < count; i++) {
        tkms_signature s;
        tkms_partial_sign(&s, &shares[i], msg, len);
        p[i].index = shares[i].index;
        tkms_signature_to_bytes(p[i].signature, &s);
    }
    tkms_combiner *c = tkms_combiner_new(g);
    tkms_status st = tkms_combiner_combine(c, msg, len, p, count, &rng.base, out, bad, &nbad);
    tkms_combiner_free(c);
    free(p);
    free(bad);
    return st;
}

/* Every honest party is DONE with the same keys and transcript; its shares
 * match the group; K honest shares sign. Returns the first honest party. */
static const tkms_party *check_honest(const char *label, const tkms_simulation *sim,
                                      const ceremony *c, const tkms_fault *faults)
{
    const tkms_party *ref = NULL;
    for (size_t q = 0; q < sim->party_count; q++) {
        if (faults && faults[q] != TKMS_FAULT_NONE)
            continue;
        const tkms_party *p = sim->parties[q];
        CHECK(tkms_party_state_of(p) == TKMS_PARTY_DONE, "%s: honest party %zu done (%s)", label,
              q + 1, tkms_party_failure(p));
        if (tkms_party_state_of(p) != TKMS_PARTY_DONE)
            return NULL;
        if (ref == NULL) {
            ref = p;
            continue;
        }
        CHECK(memcmp(tkms_party_transcript(p), tkms_party_transcript(ref), 32) == 0,
              "%s: party %zu has the same transcript", label, q + 1);
        for (uint32_t key = 0; key < c->spec->keys; key++)
            CHECK(tkms_public_key_equal(&tkms_party_group(p, key)->group_key,
                                        &tkms_party_group(ref, key)->group_key),
                  "%s: party %zu has the same key %u", label, q + 1, key);
    }
    if (ref == NULL)
        return NULL;
    tkms_share *shares = calloc(c->spec->owners->total, sizeof *shares);
    for (uint32_t key = 0; key < c->spec->keys; key++) {
        const tkms_group *g = tkms_party_group(ref, key);
        size_t n = collect_shares(sim, faults, key, shares);
        bool all_match = true;
        for (size_t i = 0; i < n; i++)
            all_match &= tkms_share_check(g, &shares[i]) == TKMS_OK;
        CHECK(all_match, "%s: key %u: every honest share matches its share key", label, key);
        if (n >= g->threshold) {
            uint8_t msg[8] = {'k', 'e', 'y', (uint8_t)key};
            tkms_signature sig;
            CHECK(sign_with(g, shares + (n - g->threshold), g->threshold, msg, sizeof msg, &sig) == TKMS_OK &&
                      tkms_verify(&g->group_key, msg, sizeof msg, &sig),
                  "%s: key %u: K honest shares sign", label, key);
        }
    }
    free(shares);
    return ref;
}

static void free_ceremony(ceremony *c)
{
    for (size_t i = 0; i < c->spec->party_count; i++)
        tkms_identity_wipe(&c->identities[i]);
    tkms_ceremony_spec_free(c->spec);
}

static void test_honest(const char *label, const uint32_t *shares, size_t m, uint32_t k, uint32_t keys)
{
    ceremony c;
    make_ceremony(&c, TKMS_CEREMONY_DKG, NULL, shares, m, k, keys, NULL, NULL);
    tkms_simulation sim;
    run(&sim, &c, NULL, NULL, NULL);
    const tkms_party *ref = check_honest(label, &sim, &c, NULL);
    size_t dq;
    if (ref)
        tkms_party_disqualified(ref, &dq);
    CHECK(ref && dq == 0, "%s: nobody disqualified", label);
    CHECK(sim.refused == 0, "%s: the routers refused nothing (%llu)", label, (unsigned long long)sim.refused);
    tkms_simulation_free(&sim);
    free_ceremony(&c);
}

/* One faulty party among five (2-of-5 of them have two shares). */
static void test_fault(tkms_fault fault, const char *keyword, size_t evidence)
{
    char label[64];
    snprintf(label, sizeof label, "fault %s", tkms_fault_name(fault));
    uint32_t shares[5] = {1, 2, 1, 2, 1};
    ceremony c;
    make_ceremony(&c, TKMS_CEREMONY_DKG, NULL, shares, 5, 4, 2, NULL, NULL);
    tkms_fault faults[5] = {0};
    faults[1] = fault;   /* p02, holding two shares */
    tkms_simulation sim;
    run(&sim, &c, faults, NULL, NULL);
    const tkms_party *ref = check_honest(label, &sim, &c, faults);
    if (ref != NULL) {
        size_t count;
        const tkms_disqualification *dq = tkms_party_disqualified(ref, &count);
        CHECK(count == 1 && dq[0].party == 2, "%s: exactly p02 is disqualified (count %zu)", label, count);
        if (count >= 1) {
            CHECK(strstr(dq[0].reason, keyword) != NULL, "%s: reason names it: '%s'", label, dq[0].reason);
            CHECK(dq[0].evidence_count == evidence, "%s: %zu signed messages as evidence (got %zu)",
                  label, evidence, dq[0].evidence_count);
            /* the evidence is the faulty party's own signed messages */
            for (size_t e = 0; e < dq[0].evidence_count; e++) {
                tkms_message m;
                CHECK(tkms_message_decode(&m, dq[0].evidence[e], dq[0].evidence_len[e], NULL) == TKMS_OK &&
                          m.from_party == 2 && tkms_message_signed_by(&m, c.spec->parties[1].identity),
                      "%s: evidence %zu is signed by p02", label, e);
            }
        }
        /* every honest party reached the same verdict, in the same words,
         * with the same evidence */
        for (size_t q = 0; q < 5; q++) {
            size_t n2;
            if (faults[q] != TKMS_FAULT_NONE)
                continue;
            const tkms_disqualification *other = tkms_party_disqualified(sim.parties[q], &n2);
            bool same = n2 == count;
            for (size_t i = 0; same && i < count; i++) {
                same = other[i].party == dq[i].party && strcmp(other[i].reason, dq[i].reason) == 0 &&
                       other[i].evidence_count == dq[i].evidence_count;
                for (size_t e = 0; same && e < dq[i].evidence_count; e++)
                    same = other[i].evidence_len[e] == dq[i].evidence_len[e] &&
                           memcmp(other[i].evidence[e], dq[i].evidence[e], dq[i].evidence_len[e]) == 0;
            }
            CHECK(same, "%s: party %zu gives the same verdict, reason and evidence ('%s')", label,
                  q + 1, n2 ? other[0].reason : "-");
        }
    }
    tkms_simulation_free(&sim);
    free_ceremony(&c);
}

/* Old shares of each party of `old` as arrays for a reshare. */
static void old_shares_of(const tkms_simulation *old, tkms_share **arrays, size_t *counts,
                          const ceremony *next, const ceremony *prev)
{
    for (size_t q = 0; q < next->spec->party_count; q++) {
        uint32_t at = tkms_ceremony_party_number(prev->spec, next->spec->parties[q].id);
        arrays[q] = NULL;
        counts[q] = 0;
        if (at == 0)
            continue;
        const tkms_share *s = tkms_party_shares(old->parties[at - 1], 0, &counts[q]);
        arrays[q] = malloc((counts[q] ? counts[q] : 1) * sizeof *s);
        memcpy(arrays[q], s, counts[q] * sizeof *s);
    }
}

static tkms_owner_map *copy_owners(const tkms_owner_map *o)
{
    const char *ids[TKMS_CEREMONY_MAX_PARTIES];
    uint32_t counts[TKMS_CEREMONY_MAX_PARTIES];
    for (size_t i = 0; i < o->count; i++) {
        ids[i] = o->owners[i].id;
        counts[i] = o->owners[i].share_count;
    }
    tkms_owner_map *copy;
    tkms_owner_map_new(&copy, ids, counts, o->count, NULL);
    return copy;
}

static tkms_group *copy_group(const tkms_group *g)
{
    tkms_group *copy;
    tkms_group_from_commitments(&copy, g->commitments, g->threshold, g->share_count);
    return copy;
}

static void test_reshare(void)
{
    /* a DKG among p01..p05, 3-of-5 */
    ceremony dkg;
    make_ceremony(&dkg, TKMS_CEREMONY_DKG, NULL, NULL, 5, 3, 1, NULL, NULL);
    tkms_simulation first;
    run(&first, &dkg, NULL, NULL, NULL);
    const tkms_party *ref = check_honest("reshare: the first dkg", &first, &dkg, NULL);
    if (ref == NULL)
        return;
    const tkms_group *g0 = tkms_party_group(ref, 0);
    tkms_share old_all[5];
    size_t n_old = collect_shares(&first, NULL, 0, old_all);

    /* 1. refresh: the same owners, the same K */
    ceremony refresh;
    make_ceremony(&refresh, TKMS_CEREMONY_RESHARE, NULL, NULL, 5, 3, 1, copy_group(g0),
                  copy_owners(dkg.spec->owners));
    /* same parties must keep their identities: reuse them */
    for (size_t i = 0; i < 5; i++)
        refresh.identities[i] = dkg.identities[i];
    tkms_ceremony_party parties[5];
    for (size_t i = 0; i < 5; i++) {
        parties[i] = dkg.spec->parties[i];
    }
    tkms_ceremony_spec_free(refresh.spec);
    uint8_t id[32];
    tkms_rng_fill(&rng.base, id, sizeof id);
    tkms_err err;
    if (tkms_ceremony_spec_new(&refresh.spec, TKMS_CEREMONY_RESHARE, id, 3, 1, parties, 5,
                               copy_group(g0), copy_owners(dkg.spec->owners), &err) != TKMS_OK)
        test_fatal("refresh spec: %s", err.message);
    tkms_share *arrays[5];
    size_t counts[5];
    old_shares_of(&first, arrays, counts, &refresh, &dkg);
    tkms_simulation second;
    run(&second, &refresh, NULL, (const tkms_share *const *)arrays, counts);
    const tkms_party *ref2 = check_honest("reshare: refresh", &second, &refresh, NULL);
    if (ref2 != NULL) {
        const tkms_group *g1 = tkms_party_group(ref2, 0);
        CHECK(tkms_public_key_equal(&g1->group_key, &g0->group_key), "refresh keeps the group key");
        tkms_share new_all[5];
        collect_shares(&second, NULL, 0, new_all);
        bool changed = true;
        for (size_t i = 0; i < 5; i++)
            changed &= memcmp(&new_all[i].key, &old_all[i].key, sizeof new_all[i].key) != 0;
        CHECK(changed, "refresh changes every share");
        /* old and new shares do not combine: two old + one new */
        tkms_share mixed[3] = {old_all[0], old_all[1], new_all[2]};
        uint8_t msg[] = "mixed";
        tkms_signature sig;
        tkms_status st = sign_with(g1, mixed, 3, msg, sizeof msg, &sig);
        CHECK(st != TKMS_OK, "old and new shares cannot be combined (%s)", tkms_status_string(st));
        st = sign_with(g0, mixed, 3, msg, sizeof msg, &sig);
        CHECK(st != TKMS_OK, "not even against the old group (%s)", tkms_status_string(st));
    }
    for (size_t i = 0; i < 5; i++)
        free(arrays[i]);
    tkms_simulation_free(&second);
    tkms_ceremony_spec_free(refresh.spec);

    /* 2. p01 and p02 leave, p06 and p07 join, K goes from 3 to 4 */
    const char *names[] = {"p01", "p02", "p03", "p04", "p05", "p06", "p07"};
    uint32_t shares[] = {0, 0, 1, 1, 1, 1, 1};
    tkms_ceremony_party next[7];
    tkms_identity ids[7];
    for (size_t i = 0; i < 7; i++) {
        snprintf(next[i].id, sizeof next[i].id, "%s", names[i]);
        next[i].shares = shares[i];
        if (i < 5)
            ids[i] = dkg.identities[i];
        else
            tkms_identity_generate(&ids[i], &rng.base);
        memcpy(next[i].identity, ids[i].public_key, 32);
    }
    ceremony change;
    tkms_rng_fill(&rng.base, id, sizeof id);
    if (tkms_ceremony_spec_new(&change.spec, TKMS_CEREMONY_RESHARE, id, 4, 1, next, 7,
                               copy_group(g0), copy_owners(dkg.spec->owners), &err) != TKMS_OK)
        test_fatal("change spec: %s", err.message);
    memcpy(change.identities, ids, sizeof ids);
    tkms_share *arrays2[7];
    size_t counts2[7];
    old_shares_of(&first, arrays2, counts2, &change, &dkg);
    tkms_simulation third;
    run(&third, &change, NULL, (const tkms_share *const *)arrays2, counts2);
    const tkms_party *ref3 = check_honest("reshare: new owners, K 3 -> 4", &third, &change, NULL);
    if (ref3 != NULL) {
        const tkms_group *g2 = tkms_party_group(ref3, 0);
        CHECK(tkms_public_key_equal(&g2->group_key, &g0->group_key), "the change of owners keeps the key");
        CHECK(g2->threshold == 4 && g2->share_count == 5, "new K = 4 of n = 5");
        tkms_share fresh[5];
        size_t nf = collect_shares(&third, NULL, 0, fresh);
        CHECK(nf == 5, "the five new shares are held by p03..p07 (%zu)", nf);
        uint8_t msg[] = "after the change";
        tkms_signature sig;
        CHECK(sign_with(g2, fresh, 4, msg, sizeof msg, &sig) == TKMS_OK, "four new shares sign");
        CHECK(sign_with(g2, fresh, 3, msg, sizeof msg, &sig) != TKMS_OK, "three new shares do not");
        /* the leavers' old shares with new ones: nothing */
        tkms_share mixed[4] = {old_all[0], old_all[1], fresh[2], fresh[3]};
        mixed[0].index = 1, mixed[1].index = 2;
        CHECK(sign_with(g2, mixed, 4, msg, sizeof msg, &sig) != TKMS_OK,
              "old shares of the leavers do not help the new set");
    }
    for (size_t i = 0; i < 7; i++) {
        free(arrays2[i]);
        tkms_identity_wipe(&ids[i]);
    }
    tkms_simulation_free(&third);
    tkms_ceremony_spec_free(change.spec);
    tkms_simulation_free(&first);
    (void)n_old;
    free_ceremony(&dkg);
}

/* Weighted old owners (2/1/2 shares, 3-of-5) reshare to four owners with
 * one share each, 2-of-4: each old share deals itself. */
static void test_weighted_reshare(void)
{
    uint32_t old_weights[] = {2, 1, 2};
    ceremony dkg;
    make_ceremony(&dkg, TKMS_CEREMONY_DKG, NULL, old_weights, 3, 3, 1, NULL, NULL);
    tkms_simulation first;
    run(&first, &dkg, NULL, NULL, NULL);
    const tkms_party *ref = check_honest("weighted reshare: the dkg", &first, &dkg, NULL);
    if (ref == NULL)
        return;
    const tkms_group *g0 = tkms_party_group(ref, 0);
    tkms_ceremony_party next[4];
    tkms_identity ids[4];
    for (size_t i = 0; i < 4; i++) {
        snprintf(next[i].id, sizeof next[i].id, "p%02zu", i + 1);
        next[i].shares = 1;
        if (i < 3)
            ids[i] = dkg.identities[i];
        else
            tkms_identity_generate(&ids[i], &rng.base);
        memcpy(next[i].identity, ids[i].public_key, 32);
    }
    ceremony change;
    uint8_t id[32];
    tkms_err err;
    tkms_rng_fill(&rng.base, id, sizeof id);
    if (tkms_ceremony_spec_new(&change.spec, TKMS_CEREMONY_RESHARE, id, 2, 1, next, 4,
                               copy_group(g0), copy_owners(dkg.spec->owners), &err) != TKMS_OK)
        test_fatal("weighted reshare spec: %s", err.message);
    memcpy(change.identities, ids, sizeof ids);
    tkms_share *arrays[4];
    size_t counts[4];
    old_shares_of(&first, arrays, counts, &change, &dkg);
    CHECK(counts[0] == 2 && counts[1] == 1 && counts[2] == 2 && counts[3] == 0,
          "old owners hold 2/1/2 shares, the newcomer none");
    tkms_simulation second;
    run(&second, &change, NULL, (const tkms_share *const *)arrays, counts);
    const tkms_party *ref2 = check_honest("weighted reshare: 2/1/2 -> 1/1/1/1", &second, &change, NULL);
    if (ref2 != NULL) {
        const tkms_group *g1 = tkms_party_group(ref2, 0);
        CHECK(tkms_public_key_equal(&g1->group_key, &g0->group_key), "weighted reshare keeps the key");
        CHECK(g1->threshold == 2 && g1->share_count == 4, "new 2-of-4");
    }
    for (size_t i = 0; i < 4; i++)
        free(arrays[i]);
    tkms_identity_wipe(&ids[3]);
    tkms_simulation_free(&second);
    tkms_ceremony_spec_free(change.spec);
    tkms_simulation_free(&first);
    free_ceremony(&dkg);
}

int main(void)
{
    uint8_t seed[32] = {'d', 'k', 'g'};
    tkms_rng_seeded_init(&rng, seed);
    test_honest("honest 3-of-5, 4 keys", NULL, 5, 3, 4);
    uint32_t weighted[] = {3, 2, 0, 5};
    test_honest("weighted 6-of-10 (3/2/0/5), 2 keys", weighted, 4, 6, 2);
    test_honest("one party, 1-of-1", NULL, 1, 1, 1);
    test_fault(TKMS_FAULT_BAD_SHARE, "do not match its commitments", 2);
    test_fault(TKMS_FAULT_BAD_COMMITMENT, "do not match its commitments", 2);
    test_fault(TKMS_FAULT_MISSING, "sent no deal", 0);
    test_fault(TKMS_FAULT_EQUIVOCATE, "two different deals", 2);
    test_fault(TKMS_FAULT_BAD_SIGNATURE, "bad signature", 0);
    test_fault(TKMS_FAULT_REPLAY, "another ceremony", 0);
    test_reshare();
    test_weighted_reshare();
    /* the sizes the issue names */
    uint32_t ten[10] = {20, 15, 12, 10, 10, 9, 8, 7, 5, 4};
    test_honest("weighted 10 owners, 100 shares, K = 67", ten, 10, 67, 1);
    test_honest("64 parties, K = 43", NULL, 64, 43, 1);
    return test_report();
}
