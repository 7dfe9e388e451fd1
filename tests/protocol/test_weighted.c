/*
 * test_weighted.c — threshold signing with weighted owners: stakes are
 * allocated by the rule (tkms_allocate), the key is split K-of-N and each
 * owner holds the shares of its index range. For the seed stakes of
 * DESIGN §5 and random stake sets, with a seeded RNG:
 *   - a coalition of owners signs — byte-identical to the whole key — iff
 *     its owners' shares reach K, at the boundary too (exactly K and K-1);
 *   - an owner that sends one bad partial among its shares is found, and
 *     the bad index maps back to that owner.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "tkms/allocation.h"
#include "tkms/combine.h"
#include "tkms/owners.h"
#include "tkms/shamir.h"

static tkms_rng_seeded rng;

static uint32_t rand_below(uint32_t bound)
{
    return test_rand_below(&rng.base, bound);
}

typedef struct {
    const tkms_owner_map *owners;
    const tkms_group *group;
    tkms_combiner *combiner;
    tkms_partial *all;          /* every share's valid partial, by index-1 */
    tkms_signature whole;
    uint8_t msg[32];
} weighted_case;

/* Collects the partials of the owners in `members` (owner positions),
 * owners in the given order; returns the count. */
static size_t gather(const weighted_case *wc, const size_t *members, size_t m,
                     tkms_partial *out)
{
    size_t n = 0;
    for (size_t i = 0; i < m; i++) {
        const tkms_owner *o = &wc->owners->owners[members[i]];
        for (uint32_t j = 0; j < o->share_count; j++)
            out[n++] = wc->all[o->first_index + j - 1];
    }
    return n;
}

static void check_coalition(const weighted_case *wc, const size_t *members, size_t m,
                            const char *label)
{
    tkms_partial partials[TKMS_MAX_SHARES];
    uint32_t bad[TKMS_MAX_SHARES];
    size_t n = gather(wc, members, m, partials), nbad;
    tkms_signature out;
    tkms_status st = n == 0 ? TKMS_ERR_NOT_ENOUGH_SHARES
                            : tkms_combiner_combine(wc->combiner, wc->msg, sizeof wc->msg, partials, n,
                                                    &rng.base, &out, bad, &nbad);
    if (n >= wc->group->threshold)
        CHECK(st == TKMS_OK && tkms_signature_equal(&out, &wc->whole),
              "%s: %zu owners with %zu >= K=%u shares sign (%s)", label, m, n,
              wc->group->threshold, tkms_status_string(st));
    else
        CHECK(st == TKMS_ERR_NOT_ENOUGH_SHARES, "%s: %zu owners with %zu < K=%u shares cannot sign (%s)",
              label, m, n, wc->group->threshold, tkms_status_string(st));
}

/* Random coalitions, plus ones built up owner by owner in random order so
 * that the share count crosses K exactly (K-1 -> at least K). */
static void check_coalitions(const weighted_case *wc, const char *label, int trials)
{
    size_t count = wc->owners->count;
    size_t *order = malloc(count * sizeof *order);
    for (int t = 0; t < trials; t++) {
        for (size_t i = 0; i < count; i++) order[i] = i;
        for (size_t i = count; i > 1; i--) {
            size_t j = rand_below((uint32_t)i), tmp = order[i - 1];
            order[i - 1] = order[j];
            order[j] = tmp;
        }
        check_coalition(wc, order, 1 + rand_below((uint32_t)count), label);
        /* grow until the coalition reaches K; check the last two sizes */
        uint32_t shares = 0;
        size_t m = 0;
        while (m < count && shares < wc->group->threshold)
            shares += wc->owners->owners[order[m++]].share_count;
        check_coalition(wc, order, m, label);
        if (m > 1)
            check_coalition(wc, order, m - 1, label);
    }
    free(order);
}

/* An owner holding at least two shares sends one bad partial; it is named. */
static void check_blame(const weighted_case *wc, const char *label)
{
    size_t liar = 0;
    while (liar < wc->owners->count && wc->owners->owners[liar].share_count < 2)
        liar++;
    if (liar == wc->owners->count)
        return;
    const tkms_owner *o = &wc->owners->owners[liar];
    /* the liar first, then everyone else: at least K valid remain when the
     * liar's other shares and the rest reach K */
    size_t *members = malloc(wc->owners->count * sizeof *members);
    size_t m = 0;
    members[m++] = liar;
    for (size_t i = 0; i < wc->owners->count; i++)
        if (i != liar) members[m++] = i;
    tkms_partial partials[TKMS_MAX_SHARES];
    uint32_t bad[TKMS_MAX_SHARES];
    size_t n = gather(wc, members, m, partials), nbad;
    /* one of the liar's partials, moved to the front so the combiner
     * examines it, is negated: a valid point, the wrong value */
    uint32_t victim = rand_below(o->share_count);
    tkms_partial lie = partials[victim];
    partials[victim] = partials[0];
    partials[0] = lie;
    partials[0].signature[0] ^= 0x20;   /* the sign flag of the compressed point */
    tkms_signature out;
    tkms_status st = tkms_combiner_combine(wc->combiner, wc->msg, sizeof wc->msg, partials, n,
                                           &rng.base, &out, bad, &nbad);
    bool enough = n - 1 >= wc->group->threshold;
    CHECK(enough ? st == TKMS_OK && tkms_signature_equal(&out, &wc->whole)
                 : st == TKMS_ERR_NOT_ENOUGH_SHARES,
          "%s: one bad partial from %s (%s)", label, o->id, tkms_status_string(st));
    CHECK(nbad == 1 && tkms_owner_of(wc->owners, bad[0]) == o,
          "%s: the bad partial is blamed on %s (nbad %zu, owner %s)", label, o->id, nbad,
          nbad ? tkms_owner_of(wc->owners, bad[0])->id : "-");
    free(members);
}

/* Allocates `stakes_json` (N shares, fraction F) and runs the checks. */
static void run_case(const char *label, const char *stakes_json, uint32_t total,
                     const char *fraction, int trials, const uint32_t *expected_shares)
{
    tkms_stakes *stakes;
    tkms_allocation *allocation;
    tkms_owner_map *owners;
    tkms_err err;
    if (tkms_stakes_parse(&stakes, stakes_json, strlen(stakes_json), &err) != TKMS_OK ||
        tkms_allocate(&allocation, stakes, total, fraction, &err) != TKMS_OK ||
        tkms_allocation_owner_map(&owners, allocation, &err) != TKMS_OK)
        test_fatal("%s: %s", label, err.message);
    for (size_t i = 0; expected_shares != NULL && i < allocation->owner_count; i++)
        CHECK(allocation->owners[i].shares == expected_shares[i], "%s: owner %s gets %u shares (got %u)",
              label, allocation->owners[i].id, expected_shares[i], allocation->owners[i].shares);
    uint32_t threshold = allocation->threshold;
    tkms_allocation_free(allocation);
    tkms_stakes_free(stakes);
    uint32_t n = owners->total;
    tkms_secret_key sk;
    uint8_t skb[32] = {0};
    tkms_rng_fill(&rng.base, skb + 1, 31);
    if (tkms_secret_key_from_bytes(&sk, skb) != TKMS_OK)
        test_fatal("secret");
    tkms_share *shares = calloc(n, sizeof *shares);
    tkms_group *group;
    if (tkms_split(&group, shares, &sk, threshold, n, &rng.base) != TKMS_OK)
        test_fatal("%s: split", label);
    weighted_case wc = {.owners = owners, .group = group, .combiner = tkms_combiner_new(group)};
    tkms_rng_fill(&rng.base, wc.msg, sizeof wc.msg);
    tkms_sign(&wc.whole, &sk, wc.msg, sizeof wc.msg);
    wc.all = calloc(n, sizeof *wc.all);
    for (uint32_t i = 0; i < n; i++) {
        tkms_signature s;
        tkms_partial_sign(&s, &shares[i], wc.msg, sizeof wc.msg);
        wc.all[i].index = shares[i].index;
        tkms_signature_to_bytes(wc.all[i].signature, &s);
        tkms_share_wipe(&shares[i]);
    }
    check_coalitions(&wc, label, trials);
    check_blame(&wc, label);
    free(wc.all);
    tkms_combiner_free(wc.combiner);
    tkms_group_free(group);
    free(shares);
    tkms_owner_map_free(owners);
    tkms_secret_key_wipe(&sk);
}

int main(void)
{
    uint8_t seed[32] = {3, 1, 4, 1, 5};
    tkms_rng_seeded_init(&rng, seed);

    /* DESIGN §5 seeds at N = 100, F = 0.40 -> K = 41 */
    const uint32_t exact[] = {47, 17, 36}, rounded[] = {48, 16, 36};
    run_case("47/17/36", "[{\"id\":\"alice\",\"stake\":47},{\"id\":\"bob\",\"stake\":17},"
                         "{\"id\":\"carol\",\"stake\":36}]", 100, "0.40", 8, exact);
    run_case("47.5/16.5/36", "[{\"id\":\"alice\",\"stake\":\"47.5\"},{\"id\":\"bob\",\"stake\":\"16.5\"},"
                             "{\"id\":\"carol\",\"stake\":\"36\"}]", 100, "0.40", 8, rounded);
    /* 50 owners at 0.7%, 50 at 0.6%, 50 at 0.4%, 50 at 0.3%: one share to
     * each of the first hundred (by stake), none to the rest */
    static char json[200 * 40];
    static uint32_t one_each[200];
    size_t used = 0;
    used += (size_t)snprintf(json + used, sizeof json - used, "[");
    for (int i = 0; i < 200; i++) {
        static const char *const pct[] = {"0.7", "0.6", "0.4", "0.3"};
        used += (size_t)snprintf(json + used, sizeof json - used, "%s{\"id\":\"o%03d\",\"stake\":\"%s\"}",
                                 i ? "," : "", i, pct[i / 50]);
        one_each[i] = i < 100 ? 1 : 0;
    }
    snprintf(json + used, sizeof json - used, "]");
    run_case("200 owners, 100 with one share", json, 100, "0.40", 6, one_each);

    /* random stake sets: 2..12 owners, decimal stakes, N up to 120, random F */
    for (int t = 0; t < 12; t++) {
        size_t m = 2 + rand_below(11);
        used = (size_t)snprintf(json, sizeof json, "[");
        for (size_t i = 0; i < m; i++)
            used += (size_t)snprintf(json + used, sizeof json - used,
                                     "%s{\"id\":\"p%zu\",\"stake\":\"%u.%02u\"}", i ? "," : "", i,
                                     1 + rand_below(1000), rand_below(100));
        snprintf(json + used, sizeof json - used, "]");
        uint32_t total = 1 + rand_below(120);
        char fraction[16], label[64];
        snprintf(fraction, sizeof fraction, "0.%02u", rand_below(100));
        snprintf(label, sizeof label, "random #%d (%zu owners, N=%u, F=%s)", t, m, total, fraction);
        run_case(label, json, total, fraction, 6, NULL);
    }
    return test_report();
}
