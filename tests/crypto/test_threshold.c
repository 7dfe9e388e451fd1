/*
 * test_threshold.c — properties of split / partial sign / combine over
 * random K-of-n (n up to 200, K from 1 to n) with a seeded RNG:
 *   - every K-subset tried combines to exactly the whole key's signature;
 *   - K-1 partials never do (interpolation gives a different signature, and
 *     the combiner reports not enough shares);
 *   - a corrupted partial (wrong share, garbage point, point outside the
 *     subgroup, identity) is named in `bad` and excluded, and the result is
 *     still the whole key's signature when K valid ones remain;
 *   - share keys from commitments match the shares; Lagrange coefficients
 *     sum to 1.
 * Seeds are printed on failure so a case can be replayed.
 */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "tkms/combine.h"
#include "tkms/shamir.h"

static tkms_rng_seeded rng;

static uint32_t rand_below(uint32_t bound)
{
    return test_rand_below(&rng.base, bound);
}

static void shuffle(uint32_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = rand_below((uint32_t)i);
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

static void random_secret(tkms_secret_key *sk)
{
    uint8_t b[32];
    do {
        tkms_rng_fill(&rng.base, b, 32);
        b[0] &= 0x3f;
    } while (tkms_secret_key_from_bytes(sk, b) != TKMS_OK);
}

/* A G2 point on the curve but outside the subgroup, compressed. */
static void non_subgroup_g2(uint8_t out[96])
{
    for (uint64_t x0 = 1;; x0++) {
        blst_fp2 x, y2, t;
        uint64_t limbs[6] = {x0, 0, 0, 0, 0, 0};
        blst_fp_from_uint64(&x.fp[0], limbs);
        memset(&x.fp[1], 0, sizeof x.fp[1]);
        /* y^2 = x^3 + 4(1+i) */
        blst_fp2_sqr(&t, &x);
        blst_fp2_mul(&y2, &t, &x);
        blst_fp2 b;
        uint64_t four[6] = {4, 0, 0, 0, 0, 0};
        blst_fp_from_uint64(&b.fp[0], four);
        blst_fp_from_uint64(&b.fp[1], four);
        blst_fp2_add(&y2, &y2, &b);
        blst_p2_affine p;
        if (!blst_fp2_sqrt(&p.y, &y2))
            continue;
        p.x = x;
        if (blst_p2_affine_on_curve(&p) && !blst_p2_affine_in_g2(&p)) {
            blst_p2_affine_compress(out, &p);
            return;
        }
    }
}

static void test_split_and_combine(uint32_t k, uint32_t n, int subsets)
{
    tkms_secret_key sk;
    random_secret(&sk);
    tkms_share *shares = calloc(n, sizeof *shares);
    tkms_group *group;
    CHECK(tkms_split(&group, shares, &sk, k, n, &rng.base) == TKMS_OK, "split %u-of-%u", k, n);

    tkms_public_key pk;
    tkms_public_key_from_secret(&pk, &sk);
    CHECK(tkms_public_key_equal(&pk, &group->group_key), "group key is sk·G (%u-of-%u)", k, n);
    for (uint32_t i = 0; i < n; i++)
        CHECK(tkms_share_check(group, &shares[i]) == TKMS_OK, "share %u matches its key", i + 1);

    uint8_t msg[32];
    tkms_rng_fill(&rng.base, msg, sizeof msg);
    tkms_signature whole;
    tkms_sign(&whole, &sk, msg, sizeof msg);

    tkms_partial *partials = calloc(n, sizeof *partials);
    for (uint32_t i = 0; i < n; i++) {
        tkms_signature s;
        tkms_partial_sign(&s, &shares[i], msg, sizeof msg);
        partials[i].index = i + 1;
        tkms_signature_to_bytes(partials[i].signature, &s);
    }

    tkms_combiner *c = tkms_combiner_new(group);
    uint32_t *order = calloc(n, sizeof *order);
    uint32_t *bad = calloc(n, sizeof *bad);
    tkms_partial *subset = calloc(n, sizeof *subset);
    for (int trial = 0; trial < subsets; trial++) {
        for (uint32_t i = 0; i < n; i++) order[i] = i;
        shuffle(order, n);
        for (uint32_t t = 0; t < k; t++) subset[t] = partials[order[t]];

        tkms_signature out;
        size_t nbad;
        tkms_status st = tkms_combiner_combine(c, msg, sizeof msg, subset, k, &rng.base, &out, bad, &nbad);
        CHECK(st == TKMS_OK && nbad == 0, "%u-of-%u trial %d: K partials combine (%s)", k, n, trial,
              tkms_status_string(st));
        CHECK(tkms_signature_equal(&out, &whole), "%u-of-%u trial %d: equals the whole key's signature", k, n, trial);

        if (k > 1) {
            /* K-1 partials: not enough, and interpolating them is wrong */
            st = tkms_combiner_combine(c, msg, sizeof msg, subset, k - 1, &rng.base, &out, bad, &nbad);
            CHECK(st == TKMS_ERR_NOT_ENOUGH_SHARES && nbad == 0, "%u-of-%u: K-1 refused (%s)", k, n,
                  tkms_status_string(st));
            uint32_t idx[TKMS_MAX_SHARES];
            tkms_signature sigs[TKMS_MAX_SHARES];
            for (uint32_t t = 0; t + 1 < k; t++) {
                idx[t] = subset[t].index;
                tkms_signature_from_bytes(&sigs[t], subset[t].signature);
            }
            CHECK(tkms_combiner_interpolate(c, idx, sigs, k - 1, &out) == TKMS_OK &&
                      !tkms_signature_equal(&out, &whole),
                  "%u-of-%u: K-1 interpolate to something else", k, n);
        }
    }

    /* Corruption: one bad partial among K+1 (when n > K) is named and excluded. */
    if (n > k) {
        static uint8_t off_group[96];
        non_subgroup_g2(off_group);
        /* with K = 1 every share equals the secret, so "another share's
         * partial" is not a corruption */
        for (int kind = k == 1 ? 1 : 0; kind < 4; kind++) {
            for (uint32_t i = 0; i < n; i++) order[i] = i;
            shuffle(order, n);
            for (uint32_t t = 0; t <= k; t++) subset[t] = partials[order[t]];
            uint32_t victim_pos = rand_below(k + 1);
            uint32_t victim = subset[victim_pos].index;
            if (kind == 0) {          /* another share's valid partial */
                memcpy(subset[victim_pos].signature, partials[victim % n].signature, 96);
            } else if (kind == 1) {   /* garbage that is not a point */
                memset(subset[victim_pos].signature, 0x5a, 96);
            } else if (kind == 2) {   /* on the curve, not in G2 */
                memcpy(subset[victim_pos].signature, off_group, 96);
            } else {                  /* identity */
                memset(subset[victim_pos].signature, 0, 96);
                subset[victim_pos].signature[0] = 0xc0;
            }
            tkms_signature out;
            size_t nbad;
            tkms_status st = tkms_combiner_combine(c, msg, sizeof msg, subset, k + 1, &rng.base, &out, bad, &nbad);
            CHECK(st == TKMS_OK, "%u-of-%u kind %d: combine with one bad (%s)", k, n, kind, tkms_status_string(st));
            CHECK(tkms_signature_equal(&out, &whole), "%u-of-%u kind %d: result is the whole key's", k, n, kind);
            /* When the victim is outside the first K the fast path never looks at it. */
            if (victim_pos < k)
                CHECK(nbad == 1 && bad[0] == victim, "%u-of-%u kind %d: victim %u named (nbad %zu, bad[0] %u)",
                      k, n, kind, victim, nbad, nbad ? bad[0] : 0);
            else
                CHECK(nbad == 0, "%u-of-%u kind %d: unused partial not examined", k, n, kind);
            /* with only K given, one bad leaves K-1: refused, and named */
            if (victim_pos == k)
                subset[0] = subset[k];
            st = tkms_combiner_combine(c, msg, sizeof msg, subset, k, &rng.base, &out, bad, &nbad);
            CHECK(st == TKMS_ERR_NOT_ENOUGH_SHARES && nbad == 1 && bad[0] == victim,
                  "%u-of-%u kind %d: K with one bad refused and victim %u named (%s, nbad %zu)",
                  k, n, kind, victim, tkms_status_string(st), nbad);
        }
    }

    free(subset);
    free(bad);
    free(order);
    tkms_combiner_free(c);
    free(partials);
    for (uint32_t i = 0; i < n; i++) tkms_share_wipe(&shares[i]);
    free(shares);
    tkms_group_free(group);
    tkms_secret_key_wipe(&sk);
}

static void test_lagrange_sums_to_one(void)
{
    uint32_t idx[200];
    blst_scalar out[200];
    blst_fr scratch[400];
    for (int trial = 0; trial < 20; trial++) {
        uint32_t all[TKMS_MAX_SHARES];
        for (uint32_t i = 0; i < TKMS_MAX_SHARES; i++) all[i] = i + 1;
        shuffle(all, TKMS_MAX_SHARES);
        size_t k = 1 + rand_below(200);
        memcpy(idx, all, k * sizeof *idx);
        CHECK(tkms_lagrange_at_zero(out, idx, k, scratch) == TKMS_OK, "lagrange k=%zu", k);
        blst_fr sum, term;
        memset(&sum, 0, sizeof sum);
        for (size_t i = 0; i < k; i++) {
            blst_fr_from_scalar(&term, &out[i]);
            blst_fr_add(&sum, &sum, &term);
        }
        uint64_t one[4] = {1, 0, 0, 0};
        blst_fr fr_one;
        blst_fr_from_uint64(&fr_one, one);
        CHECK(memcmp(&sum, &fr_one, sizeof sum) == 0, "Σλ = 1 for k=%zu", k);
    }
    uint32_t dup[3] = {1, 2, 1}, zero[2] = {0, 1}, big[1] = {TKMS_MAX_SHARES + 1};
    CHECK(tkms_lagrange_at_zero(out, dup, 3, scratch) == TKMS_ERR_DUPLICATE_INDEX, "duplicate index");
    CHECK(tkms_lagrange_at_zero(out, zero, 2, scratch) == TKMS_ERR_INVALID_ARGUMENT, "index 0");
    CHECK(tkms_lagrange_at_zero(out, big, 1, scratch) == TKMS_ERR_INVALID_ARGUMENT, "index too big");
    CHECK(tkms_lagrange_at_zero(out, dup, 0, scratch) == TKMS_ERR_INVALID_ARGUMENT, "empty set");
}

static void test_argument_errors(void)
{
    tkms_secret_key sk;
    random_secret(&sk);
    tkms_share shares[5];
    tkms_group *g;
    CHECK(tkms_split(&g, shares, &sk, 0, 5, &rng.base) == TKMS_ERR_INVALID_ARGUMENT, "K = 0 refused");
    CHECK(tkms_split(&g, shares, &sk, 6, 5, &rng.base) == TKMS_ERR_INVALID_ARGUMENT, "K > n refused");
    CHECK(tkms_split(&g, shares, &sk, 3, 5, &rng.base) == TKMS_OK, "3-of-5");
    tkms_combiner *c = tkms_combiner_new(g);
    uint8_t msg[1] = {7};
    tkms_partial p[3];
    for (int i = 0; i < 3; i++) {
        tkms_signature s;
        tkms_partial_sign(&s, &shares[i], msg, 1);
        p[i].index = shares[i].index;
        tkms_signature_to_bytes(p[i].signature, &s);
    }
    tkms_signature out;
    uint32_t bad[6];
    size_t nbad;
    p[2].index = 1;
    CHECK(tkms_combiner_combine(c, msg, 1, p, 3, &rng.base, &out, bad, &nbad) == TKMS_ERR_DUPLICATE_INDEX,
          "duplicate partial index refused");
    p[2].index = 6;
    CHECK(tkms_combiner_combine(c, msg, 1, p, 3, &rng.base, &out, bad, &nbad) == TKMS_ERR_INVALID_ARGUMENT,
          "index beyond n refused");
    p[2].index = 3;
    CHECK(tkms_combiner_combine(c, msg, 1, p, 0, &rng.base, &out, bad, &nbad) == TKMS_ERR_INVALID_ARGUMENT,
          "no partials refused");
    CHECK(tkms_combiner_combine(c, msg, 1, p, 3, &rng.base, &out, bad, &nbad) == TKMS_OK, "valid 3 combine");
    uint8_t other[1] = {8};
    CHECK(tkms_combiner_combine(c, other, 1, p, 3, &rng.base, &out, bad, &nbad) == TKMS_ERR_NOT_ENOUGH_SHARES &&
              nbad == 3, "partials of another message all named bad (nbad=%zu)", nbad);
    tkms_combiner_free(c);
    tkms_group_free(g);
}

int main(int argc, char **argv)
{
    uint8_t seed[32] = {0};
    uint64_t s = argc > 1 ? strtoull(argv[1], NULL, 0) : 20261121;
    memcpy(seed, &s, sizeof s);
    tkms_rng_seeded_init(&rng, seed);
    printf("seed %llu\n", (unsigned long long)s);

    test_lagrange_sums_to_one();
    test_argument_errors();
    /* edges and a spread of random shapes up to n = 200 */
    static const uint32_t fixed[][2] = {{1, 1}, {1, 2}, {2, 2}, {1, 5}, {3, 5}, {5, 5}, {7, 10}, {200, 200}, {1, 200}, {101, 200}};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        test_split_and_combine(fixed[i][0], fixed[i][1], 4);
    for (int trial = 0; trial < 24; trial++) {
        uint32_t n = 1 + rand_below(200);
        uint32_t k = 1 + rand_below(n);
        test_split_and_combine(k, n, 3);
    }
    return test_report();
}
