/*
 * test_allocation.c — the allocation rule and its rounding report
 * (tkms/allocation.h):
 *   - the seed cases of DESIGN §5, exactly, with their reports;
 *   - exactness: stakes one unit apart where a double cannot tell them apart
 *     change the result as they should, also with 10,000 owners;
 *   - random stakes (seeded RNG, seed printed on failure): the invariants of
 *     the rule, the report against an independent brute force over all
 *     coalitions (up to 12 owners), and the bracket statements proved below;
 *   - F at 0 and near 1; refused N and F;
 *   - the search for the smallest N, against a brute force over N;
 *   - stakes files and allocation files: each refusal with its message,
 *     round trips, hand-edited allocations refused, the owner map.
 *
 * What the report bounds say about F. Let T be the total stake,
 * e_i = stake_i × N / T owner i's exact share, c_i its shares (floor(e_i) or
 * floor(e_i) + 1) and D = Σ max(0, c_i − e_i), the shares given beyond the
 * exact amounts (also Σ max(0, e_i − c_i), as both c and e sum to N; at most
 * the number of extras of step 2). For a coalition C,
 *   stake(C)/T = Σ_C e_i / N = (shares(C) − Σ_C (c_i − e_i)) / N,
 * and −D <= Σ_C (c_i − e_i) <= D. So a coalition that cannot sign
 * (shares <= K − 1) has stake/T <= (K − 1 + D)/N, and one that can
 * (shares >= K) has stake/T >= (K − D)/N. As (K − 1)/N <= F < K/N:
 *   cannot_sign_max <= (K − 1 + D)/N <= F + D/N,
 *   can_sign_min   >= (K − D)/N      >  F − D/N.
 * With exactly proportional shares (D = 0) this is the bracket
 * cannot_sign_max <= F < can_sign_min. Otherwise F is not bracketed in
 * general, on either side, and cannot_sign_max can even exceed
 * can_sign_min (fixed cases in test_bracket_counterexamples).
 */
#include <gmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "tkms/allocation.h"
#include "tkms/rng.h"
#include "tkms/shamir.h"

static tkms_rng_seeded rng;

static uint32_t rand_below(uint32_t bound)
{
    return test_rand_below(&rng.base, bound);
}

/* ---- small helpers -------------------------------------------------------- */

/* A growable text buffer. */
typedef struct {
    char *text;
    size_t len, cap;
} buffer;

static void append(buffer *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void append(buffer *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->len + (size_t)n + 1 > b->cap) {
        b->cap = (b->len + (size_t)n + 1) * 2;
        b->text = realloc(b->text, b->cap);
        if (b->text == NULL)
            test_fatal("out of memory");
    }
    va_start(ap, fmt);
    vsnprintf(b->text + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static tkms_stakes *stakes_or_die(const char *json)
{
    tkms_stakes *s = NULL;
    tkms_err err;
    if (tkms_stakes_parse(&s, json, strlen(json), &err) != TKMS_OK)
        test_fatal("stakes refused: %s\n%.200s", err.message, json);
    return s;
}

static tkms_allocation *allocate_or_die(const tkms_stakes *s, uint32_t n, const char *f)
{
    tkms_allocation *a = NULL;
    tkms_err err;
    if (tkms_allocate(&a, s, n, f, &err) != TKMS_OK)
        test_fatal("allocate N=%u F=%s failed: %s", n, f, err.message);
    return a;
}

static const tkms_owner_share *owner(const tkms_allocation *a, const char *id)
{
    for (size_t i = 0; i < a->owner_count; i++)
        if (strcmp(a->owners[i].id, id) == 0)
            return &a->owners[i];
    return NULL;
}

static uint32_t shares_of(const tkms_allocation *a, const char *id)
{
    const tkms_owner_share *o = owner(a, id);
    return o ? o->shares : UINT32_MAX;
}

/* Reads a report fraction; false unless it is "p/q" in lowest terms. */
static bool read_fraction(mpq_t out, const char *text)
{
    if (strchr(text, '/') == NULL || mpq_set_str(out, text, 10) != 0 ||
        mpz_sgn(mpq_denref(out)) <= 0)
        return false;
    mpz_t g;
    mpz_init(g);
    mpz_gcd(g, mpq_numref(out), mpq_denref(out));
    bool lowest = mpz_cmp_ui(g, 1) == 0;
    mpz_clear(g);
    return lowest;
}

/* F = numerator / 10^digits, the way the tests write fractions. */
static void fraction_value(mpq_t out, const char *f)
{
    const char *dot = strchr(f, '.');
    size_t scale = dot ? strlen(dot + 1) : 0;
    char digits[128];
    size_t j = 0;
    for (const char *p = f; *p && j + 1 < sizeof digits; p++)
        if (*p != '.')
            digits[j++] = *p;
    digits[j] = '\0';
    mpz_set_str(mpq_numref(out), digits, 10);
    mpz_ui_pow_ui(mpq_denref(out), 10, scale);
    mpq_canonicalize(out);
}

/* ---- the seed cases of DESIGN §5 -------------------------------------------- */

static void test_seed_cases(void)
{
    tkms_stakes *s = stakes_or_die("[{\"id\": \"alice\", \"stake\": 47}, "
                                   "{\"id\": \"bob\", \"stake\": \"17\"}, "
                                   "{\"id\": \"carol\", \"stake\": 36}]");
    tkms_allocation *a = allocate_or_die(s, 100, "0.40");
    CHECK(a->total == 100 && a->threshold == 41, "47/17/36: N %u K %u", a->total, a->threshold);
    CHECK(shares_of(a, "alice") == 47 && shares_of(a, "bob") == 17 && shares_of(a, "carol") == 36,
          "47/17/36 → 47/17/36");
    CHECK(a->owners[0].first_index == 1 && a->owners[1].first_index == 48 &&
          a->owners[2].first_index == 65, "47/17/36: indices by prefix sums");
    /* carol alone (36) cannot sign; alice alone (47) can, bob+carol too (53) */
    CHECK(strcmp(a->cannot_sign_max, "9/25") == 0, "47/17/36: cannot_sign_max %s",
          a->cannot_sign_max);
    CHECK(strcmp(a->can_sign_min, "47/100") == 0, "47/17/36: can_sign_min %s", a->can_sign_min);
    tkms_allocation_free(a);
    tkms_stakes_free(s);

    s = stakes_or_die("[{\"id\": \"carol\", \"stake\": \"36\"}, "
                      "{\"id\": \"alice\", \"stake\": \"47.5\"}, "
                      "{\"id\": \"bob\", \"stake\": \"16.50\"}]");
    a = allocate_or_die(s, 100, "0.4");
    CHECK(shares_of(a, "alice") == 48 && shares_of(a, "bob") == 16 && shares_of(a, "carol") == 36,
          "47.5/16.5/36 → 48/16/36");
    CHECK(strcmp(a->owners[0].id, "alice") == 0 && strcmp(a->owners[1].stake, "16.5") == 0,
          "owners in id order, stakes canonical");
    CHECK(strcmp(a->cannot_sign_max, "9/25") == 0 && strcmp(a->can_sign_min, "19/40") == 0,
          "47.5/16.5/36 report %s %s", a->cannot_sign_max, a->can_sign_min);
    tkms_allocation_free(a);
    tkms_stakes_free(s);

    /* 50 owners each at 0.7%, 0.6%, 0.4%, 0.3% */
    static const char *const percents[] = {"0.007", "0.006", "0.004", "0.003"};
    buffer b = {0};
    append(&b, "[");
    for (int i = 0; i < 200; i++)
        append(&b, "%s{\"id\": \"o%03d\", \"stake\": \"%s\"}", i ? ", " : "", i, percents[i / 50]);
    append(&b, "]");
    s = stakes_or_die(b.text);
    a = allocate_or_die(s, 100, "0.4");
    bool ok = true;
    for (size_t i = 0; i < 200; i++)
        ok = ok && a->owners[i].shares == (i < 100 ? 1u : 0u) &&
             a->owners[i].first_index == (i < 100 ? i + 1 : 0);
    CHECK(ok, "200 small owners: one share to each of the first hundred");
    CHECK(strcmp(a->owners[0].stake, "0.007") == 0, "stake text %s", a->owners[0].stake);
    /* K = 41: the 100 owners without shares (0.35) and 40 holders at 0.7%
     * (0.28) cannot sign; 41 holders at 0.6% can */
    CHECK(strcmp(a->cannot_sign_max, "63/100") == 0, "200 owners: cannot_sign_max %s",
          a->cannot_sign_max);
    CHECK(strcmp(a->can_sign_min, "123/500") == 0, "200 owners: can_sign_min %s (41 × 0.6%%)",
          a->can_sign_min);
    tkms_allocation_free(a);
    /* F = 0: one share signs; only the owners without shares cannot */
    a = allocate_or_die(s, 100, "0");
    CHECK(a->threshold == 1, "F = 0 → K = 1");
    CHECK(strcmp(a->cannot_sign_max, "7/20") == 0 && strcmp(a->can_sign_min, "3/500") == 0,
          "F = 0 report %s %s", a->cannot_sign_max, a->can_sign_min);
    tkms_allocation_free(a);
    tkms_stakes_free(s);
    free(b.text);
}

/* ---- exactness ---------------------------------------------------------------- */

static void check_two(const char *stake_a, const char *stake_b, uint32_t n, uint32_t want_a,
                      uint32_t want_b, const char *what)
{
    char json[256];
    snprintf(json, sizeof json, "[{\"id\": \"a\", \"stake\": \"%s\"}, {\"id\": \"b\", \"stake\": \"%s\"}]",
             stake_a, stake_b);
    tkms_stakes *s = stakes_or_die(json);
    tkms_allocation *a = allocate_or_die(s, n, "0.5");
    CHECK(a->owners[0].shares == want_a && a->owners[1].shares == want_b,
          "%s: got %u/%u, want %u/%u", what, a->owners[0].shares, a->owners[1].shares, want_a,
          want_b);
    tkms_allocation_free(a);
    tkms_stakes_free(s);
}

static void test_exactness(void)
{
    /* floor(e) exactly: 41 − 10^-20 shares is 40, then the extra goes to b */
    check_two("4100000000000000000000", "5900000000000000000000", 100, 41, 59, "41/59 exact");
    check_two("4099999999999999999999", "5900000000000000000001", 100, 40, 60,
              "one unit in 10^22 below 41");
    check_two("40.99999999999999999999", "59.00000000000000000001", 100, 40, 60,
              "the same with 20 decimals");
    /* step 2 order: one unit more stake wins the tie */
    check_two("32000000000000000000000", "32000000000000000000000", 1, 1, 0, "tie → lower id");
    check_two("32000000000000000000000", "32000000000000000000001", 1, 0, 1,
              "one unit more at 10^22 → the extra");
    check_two("32000000000", "32000000000.0001", 1, 0, 1, "one unit more at 10^-4 scale");
    check_two("32000000000.0000", "32000000000", 1, 1, 0, "trailing zeros are the same stake");

    /* 10,000 owners of 32000000000 (one of them 10^-4 more, 3.2×10^18 units
     * in all at the common scale): with N = 1000 each is owed 0.1 share, so
     * the extras go to the heavier one first, then by id. */
    for (int bump = 0; bump <= 1; bump++) {
        buffer b = {0};
        append(&b, "[");
        for (unsigned i = 0; i < TKMS_MAX_OWNERS; i++)
            append(&b, "%s{\"id\": \"o%04u\", \"stake\": \"%s\"}", i ? "," : "", i,
                   bump && i == TKMS_MAX_OWNERS - 1 ? "32000000000.0001" : "32000000000");
        append(&b, "]");
        tkms_stakes *s = stakes_or_die(b.text);
        tkms_allocation *a = allocate_or_die(s, 1000, "0.4");
        uint32_t sum = 0;
        for (size_t i = 0; i < a->owner_count; i++)
            sum += a->owners[i].shares;
        CHECK(sum == 1000 && a->owner_count == TKMS_MAX_OWNERS, "10,000 owners: %u shares", sum);
        CHECK(shares_of(a, "o9999") == (bump ? 1u : 0u) && shares_of(a, "o0999") == (bump ? 0u : 1u) &&
                  shares_of(a, "o0998") == 1,
              "10,000 owners, bump %d: the heavier owner gets the first extra", bump);
        tkms_allocation_free(a);
        tkms_stakes_free(s);
        free(b.text);
    }
}

/* ---- random stakes: invariants, brute force, bracket ---------------------------- */

#define MAX_RANDOM_OWNERS 40u
#define BRUTE_FORCE_OWNERS 12u

typedef struct {
    size_t count;
    mpz_t value[MAX_RANDOM_OWNERS];   /* stakes at one scale, owner i is id "o%02zu" */
    mpz_t total;
} stake_set;

/* A random number of `digits` decimal digits, not zero. */
static void random_value(mpz_t out, unsigned digits)
{
    char text[96];
    for (unsigned i = 0; i < digits; i++)
        text[i] = (char)('0' + rand_below(10));
    text[digits] = '\0';
    mpz_set_str(out, text, 10);
    if (mpz_sgn(out) == 0)
        mpz_set_ui(out, 1);
}

/* The stakes file for `set` at `scale` fraction digits, entries shuffled,
 * with some leading/trailing zeros and JSON integers for variety. */
static char *stakes_json(const stake_set *set, unsigned scale)
{
    size_t order[MAX_RANDOM_OWNERS];
    for (size_t i = 0; i < set->count; i++)
        order[i] = i;
    for (size_t i = set->count; i > 1; i--) {
        size_t j = rand_below((uint32_t)i), t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    buffer b = {0};
    append(&b, "[");
    for (size_t k = 0; k < set->count; k++) {
        size_t i = order[k];
        char *digits = mpz_get_str(NULL, 10, set->value[i]);
        size_t len = strlen(digits);
        append(&b, "%s{\"id\": \"o%02zu\", \"stake\": ", k ? ", " : "", i);
        if (scale == 0 && len < 15 && rand_below(2)) {
            append(&b, "%s}", digits);
        } else if (scale == 0) {
            append(&b, "\"%s%s\"}", rand_below(4) ? "" : "00", digits);
        } else {
            /* digits / 10^scale, with at least one integer digit */
            char padded[128];
            size_t pad = len <= scale ? scale + 1 - len : 0;
            memset(padded, '0', pad);
            strcpy(padded + pad, digits);
            size_t int_len = pad + len - scale;
            append(&b, "\"%.*s.%s%s\"}", (int)int_len, padded, padded + int_len,
                   rand_below(3) ? "" : "000");
        }
        free(digits);
    }
    append(&b, "]");
    return b.text;
}

/* A random decimal fraction in [0, 1) with 1..4 digits. */
static void random_fraction(char *out, size_t size)
{
    unsigned digits = 1 + rand_below(4), v = rand_below(10000);
    static const unsigned pow10[] = {1, 10, 100, 1000, 10000};
    snprintf(out, size, "0.%0*u", (int)digits, v % pow10[digits]);
}

/* All checks of one allocation against its stakes. */
static void check_allocation(const stake_set *set, const tkms_allocation *a, uint32_t n,
                             const char *f, unsigned case_no)
{
    CHECK(a->total == n && a->owner_count == set->count, "case %u: sizes", case_no);
    mpq_t fq, e, d, bound, cannot, can;
    mpq_inits(fq, e, d, bound, cannot, can, NULL);
    mpz_t floor_share, k;
    mpz_inits(floor_share, k, NULL);
    fraction_value(fq, f);
    mpz_mul_ui(k, mpq_numref(fq), n);
    mpz_fdiv_q(k, k, mpq_denref(fq));
    mpz_add_ui(k, k, 1);
    CHECK(mpz_cmp_ui(k, a->threshold) == 0, "case %u: K = floor(F × N) + 1", case_no);

    uint32_t sum = 0, next = 1;
    bool floors_ok = true, order_ok = true, indices_ok = true;
    bool extra[MAX_RANDOM_OWNERS];
    for (size_t i = 0; i < set->count; i++) {
        const tkms_owner_share *o = &a->owners[i];
        char id[8];
        snprintf(id, sizeof id, "o%02zu", i);
        indices_ok = indices_ok && strcmp(o->id, id) == 0 &&
                     o->first_index == (o->shares ? next : 0);
        next += o->shares;
        sum += o->shares;
        mpz_mul_ui(floor_share, set->value[i], n);
        mpz_fdiv_q(floor_share, floor_share, set->total);
        uint32_t fl = (uint32_t)mpz_get_ui(floor_share);
        floors_ok = floors_ok && (o->shares == fl || o->shares == fl + 1);
        extra[i] = o->shares == fl + 1;
        /* D += max(0, c_i − e_i) */
        mpq_set_num(e, set->value[i]);
        mpq_set_den(e, set->total);
        mpq_canonicalize(e);
        mpz_mul_ui(mpq_numref(e), mpq_numref(e), n);
        mpq_canonicalize(e);
        mpq_set_ui(bound, o->shares, 1);
        mpq_sub(bound, bound, e);
        if (mpq_sgn(bound) > 0)
            mpq_add(d, d, bound);
    }
    /* extras go by descending stake, ties by ascending id */
    for (size_t i = 0; i < set->count; i++)
        for (size_t j = 0; j < set->count; j++)
            if (extra[i] && !extra[j]) {
                int c = mpz_cmp(set->value[i], set->value[j]);
                order_ok = order_ok && (c > 0 || (c == 0 && i < j));
            }
    CHECK(sum == n, "case %u: shares add up to N (%u, not %u)", case_no, sum, n);
    CHECK(floors_ok, "case %u: each owner holds floor(e) or floor(e) + 1", case_no);
    CHECK(order_ok, "case %u: extras by descending stake, ties by id", case_no);
    CHECK(indices_ok, "case %u: ids in order, indices by prefix sums", case_no);

    bool parsed = read_fraction(cannot, a->cannot_sign_max) && read_fraction(can, a->can_sign_min);
    CHECK(parsed, "case %u: report fractions p/q in lowest terms: %s %s", case_no,
          a->cannot_sign_max, a->can_sign_min);
    if (parsed) {
        /* cannot_sign_max <= (K − 1 + D)/N and can_sign_min >= (K − D)/N */
        mpq_set_z(bound, k);
        mpq_sub(bound, bound, d);
        mpz_mul_ui(mpq_denref(bound), mpq_denref(bound), n);
        mpq_canonicalize(bound);
        CHECK(mpq_cmp(can, bound) >= 0, "case %u: can_sign_min >= (K − D)/N", case_no);
        mpq_set_z(bound, k);
        mpq_add(bound, bound, d);
        mpz_sub(mpq_numref(bound), mpq_numref(bound), mpq_denref(bound));
        mpz_mul_ui(mpq_denref(bound), mpq_denref(bound), n);
        mpq_canonicalize(bound);
        CHECK(mpq_cmp(cannot, bound) <= 0, "case %u: cannot_sign_max <= (K − 1 + D)/N", case_no);
        if (mpq_sgn(d) == 0)
            CHECK(mpq_cmp(cannot, fq) <= 0 && mpq_cmp(fq, can) < 0,
                  "case %u: exactly proportional: cannot_sign_max <= F < can_sign_min", case_no);
    }

    if (parsed && set->count <= BRUTE_FORCE_OWNERS) {
        /* every coalition */
        mpz_t stake, best_cannot, best_can;
        mpz_inits(stake, best_cannot, best_can, NULL);
        mpz_add_ui(best_can, set->total, 1);
        for (uint32_t mask = 0; mask < (1u << set->count); mask++) {
            uint32_t held = 0;
            mpz_set_ui(stake, 0);
            for (size_t i = 0; i < set->count; i++)
                if (mask >> i & 1) {
                    held += a->owners[i].shares;
                    mpz_add(stake, stake, set->value[i]);
                }
            if (held < a->threshold && mpz_cmp(stake, best_cannot) > 0)
                mpz_set(best_cannot, stake);
            if (held >= a->threshold && mpz_cmp(stake, best_can) < 0)
                mpz_set(best_can, stake);
        }
        mpq_set_num(bound, best_cannot);
        mpq_set_den(bound, set->total);
        mpq_canonicalize(bound);
        CHECK(mpq_equal(bound, cannot), "case %u: cannot_sign_max %s matches brute force",
              case_no, a->cannot_sign_max);
        mpq_set_num(bound, best_can);
        mpq_set_den(bound, set->total);
        mpq_canonicalize(bound);
        CHECK(mpq_equal(bound, can), "case %u: can_sign_min %s matches brute force", case_no,
              a->can_sign_min);
        mpz_clears(stake, best_cannot, best_can, NULL);
    }
    mpq_clears(fq, e, d, bound, cannot, can, NULL);
    mpz_clears(floor_share, k, NULL);
}

static void stake_set_init(stake_set *set, size_t count)
{
    set->count = count;
    for (size_t i = 0; i < count; i++)
        mpz_init(set->value[i]);
    mpz_init(set->total);
}

static void stake_set_clear(stake_set *set)
{
    for (size_t i = 0; i < set->count; i++)
        mpz_clear(set->value[i]);
    mpz_clear(set->total);
}

static void stake_set_sum(stake_set *set)
{
    mpz_set_ui(set->total, 0);
    for (size_t i = 0; i < set->count; i++)
        mpz_add(set->total, set->total, set->value[i]);
}

static void run_case(const stake_set *set, unsigned scale, uint32_t n, const char *f,
                     unsigned case_no)
{
    char *json = stakes_json(set, scale);
    tkms_stakes *s = stakes_or_die(json);
    tkms_allocation *a = allocate_or_die(s, n, f);
    check_allocation(set, a, n, f, case_no);
    /* format → parse → format gives the same document */
    char *text = tkms_allocation_format_json(a);
    tkms_allocation *again = NULL;
    tkms_err err;
    CHECK(text != NULL && tkms_allocation_parse(&again, text, strlen(text), &err) == TKMS_OK,
          "case %u: allocation re-parses: %s", case_no, text ? err.message : "no text");
    char *text2 = again ? tkms_allocation_format_json(again) : NULL;
    CHECK(text2 != NULL && strcmp(text, text2) == 0, "case %u: round trip", case_no);
    free(text2);
    free(text);
    tkms_allocation_free(again);
    tkms_allocation_free(a);
    tkms_stakes_free(s);
    free(json);
}

static void test_random(void)
{
    static const unsigned digit_choices[] = {1, 2, 4, 9, 20, 42};
    for (unsigned c = 0; c < 600; c++) {
        /* small sets are checked by brute force; 42-digit stakes take the
         * GMP path of the report */
        size_t count = 1 + rand_below(c % 3 == 0 ? MAX_RANDOM_OWNERS : BRUTE_FORCE_OWNERS);
        unsigned digits = digit_choices[rand_below(6)];
        unsigned scale = rand_below(digits < 4 ? digits + 1 : 4);
        stake_set set;
        stake_set_init(&set, count);
        for (size_t i = 0; i < count; i++) {
            if (i > 0 && rand_below(5) == 0)
                mpz_set(set.value[i], set.value[rand_below((uint32_t)i)]);   /* ties */
            else
                random_value(set.value[i], 1 + rand_below(digits));
        }
        stake_set_sum(&set);
        uint32_t n = 1 + rand_below(c % 10 == 0 ? TKMS_MAX_SHARES : 60);
        char f[16];
        random_fraction(f, sizeof f);
        run_case(&set, scale, n, f, c);
        stake_set_clear(&set);
    }
}

/* Exactly proportional stakes: c_i shares of `unit` each; the rule must
 * give back c_i and the report must bracket F. */
static void test_proportional(void)
{
    for (unsigned c = 0; c < 200; c++) {
        uint32_t n = 1 + rand_below(80);
        size_t count = 1 + rand_below(n < BRUTE_FORCE_OWNERS ? n : BRUTE_FORCE_OWNERS);
        stake_set set;
        stake_set_init(&set, count);
        uint32_t shares[MAX_RANDOM_OWNERS], left = n - (uint32_t)count;
        for (size_t i = 0; i < count; i++) {
            uint32_t more = i + 1 == count ? left : rand_below(left + 1);
            shares[i] = 1 + more;
            left -= more;
        }
        mpz_t unit;
        mpz_init(unit);
        random_value(unit, 1 + rand_below(30));
        for (size_t i = 0; i < count; i++)
            mpz_mul_ui(set.value[i], unit, shares[i]);
        mpz_clear(unit);
        stake_set_sum(&set);
        char f[16];
        random_fraction(f, sizeof f);
        char *json = stakes_json(&set, rand_below(3));
        tkms_stakes *s = stakes_or_die(json);
        tkms_allocation *a = allocate_or_die(s, n, f);
        bool same = true;
        for (size_t i = 0; i < count; i++)
            same = same && a->owners[i].shares == shares[i];
        CHECK(same, "proportional case %u: shares as given", c);
        check_allocation(&set, a, n, f, 1000 + c);
        tkms_allocation_free(a);
        tkms_stakes_free(s);
        free(json);
        stake_set_clear(&set);
    }
}

static void check_report(const char *json, uint32_t n, const char *f, const char *cannot,
                         const char *can, const char *what)
{
    tkms_stakes *s = stakes_or_die(json);
    tkms_allocation *a = allocate_or_die(s, n, f);
    CHECK(strcmp(a->cannot_sign_max, cannot) == 0 && strcmp(a->can_sign_min, can) == 0,
          "%s: report %s %s, want %s %s", what, a->cannot_sign_max, a->can_sign_min, cannot, can);
    tkms_allocation_free(a);
    tkms_stakes_free(s);
}

static void test_bracket_counterexamples(void)
{
    /* 40/60 shares, K = 41: the 40-share owner cannot sign with 0.4099 > F */
    check_report("[{\"id\": \"a\", \"stake\": \"0.4099\"}, {\"id\": \"b\", \"stake\": \"0.5901\"}]",
                 100, "0.4", "4099/10000", "5901/10000", "cannot_sign_max above F");
    /* 41/30/29 shares, K = floor(40.5) + 1 = 41: a signs alone with 0.4049 < F */
    check_report("[{\"id\": \"a\", \"stake\": \"0.4049\"}, {\"id\": \"b\", \"stake\": \"0.3\"}, "
                 "{\"id\": \"c\", \"stake\": \"0.2951\"}]",
                 100, "0.405", "3/10", "4049/10000", "can_sign_min below F");
    /* N = 1 goes to b (tie with c by id); K = 1: a + c cannot sign with 3/5,
     * b alone can with 2/5 */
    check_report("[{\"id\": \"a\", \"stake\": 2}, {\"id\": \"b\", \"stake\": 4}, "
                 "{\"id\": \"c\", \"stake\": 4}]",
                 1, "0", "3/5", "2/5", "cannot_sign_max above can_sign_min");
}

/* ---- F and N at and beyond their limits ---------------------------------------- */

static void test_fraction_edges(void)
{
    tkms_stakes *s = stakes_or_die("[{\"id\": \"a\", \"stake\": 3}, {\"id\": \"b\", \"stake\": 7}]");
    static const struct {
        const char *f;
        uint32_t n, k;
    } good[] = {
        {"0", 100, 1},       {"0.0", 100, 1},         {"0.40", 100, 41},  {"00.4", 100, 41},
        {"0.989", 100, 99},  {"0.99", 100, 100},      {"0.999999999", 100, 100},
        {"0.5", 1, 1},       {"0.9999", 1024, 1024},  {"0.5", 1024, 513},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        tkms_allocation *a = allocate_or_die(s, good[i].n, good[i].f);
        CHECK(a->threshold == good[i].k, "F = %s, N = %u: K = %u, want %u", good[i].f, good[i].n,
              a->threshold, good[i].k);
        tkms_allocation_free(a);
    }
    static const char *const bad[] = {"1", "1.0", "1.5", "-0.1", "-0", "", "abc", ".5", "0.",
                                      "0.4.1", "1e-1", " 0.4", "0.4 ", "+0.4", "0,4",
                                      "0.0000000000000000000000000000000000000000000000000000000000000000000000000000001"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tkms_allocation *a = NULL;
        tkms_err err;
        tkms_status st = tkms_allocate(&a, s, 10, bad[i], &err);
        CHECK(st == TKMS_ERR_INVALID_ARGUMENT && a == NULL && strstr(err.message, "fraction"),
              "F = '%s' refused (%s)", bad[i], err.message);
    }
    static const uint32_t bad_n[] = {0, TKMS_MAX_SHARES + 1, UINT32_MAX};
    for (size_t i = 0; i < 3; i++) {
        tkms_allocation *a = NULL;
        tkms_err err;
        tkms_status st = tkms_allocate(&a, s, bad_n[i], "0.4", &err);
        CHECK(st == TKMS_ERR_INVALID_ARGUMENT && a == NULL && strstr(err.message, "1..1024"),
              "N = %u refused (%s)", bad_n[i], err.message);
    }
    tkms_allocation *a = NULL;
    CHECK(tkms_allocate(&a, s, 10, NULL, NULL) == TKMS_ERR_INVALID_ARGUMENT, "F = NULL refused");
    tkms_stakes_free(s);
}

/* ---- the search ---------------------------------------------------------------- */

/* max(|cannot − F|, |can − F|) of an allocation. */
static void report_error(mpq_t out, const tkms_allocation *a, const mpq_t f)
{
    mpq_t x;
    mpq_init(x);
    read_fraction(x, a->cannot_sign_max);
    mpq_sub(x, x, f);
    mpq_abs(out, x);
    read_fraction(x, a->can_sign_min);
    mpq_sub(x, x, f);
    mpq_abs(x, x);
    if (mpq_cmp(x, out) > 0)
        mpq_set(out, x);
    mpq_clear(x);
}

static void check_search(const char *json, const char *f, const char *e, uint32_t max_shares,
                         unsigned case_no)
{
    tkms_stakes *s = stakes_or_die(json);
    mpq_t fq, eq, error, best;
    mpq_inits(fq, eq, error, best, NULL);
    fraction_value(fq, f);
    fraction_value(eq, e);
    uint32_t want = 0, best_n = 0;
    for (uint32_t n = 1; n <= max_shares && want == 0; n++) {
        tkms_allocation *a = allocate_or_die(s, n, f);
        report_error(error, a, fq);
        if (mpq_cmp(error, eq) <= 0)
            want = n;
        if (best_n == 0 || mpq_cmp(error, best) < 0) {
            mpq_set(best, error);
            best_n = n;
        }
        tkms_allocation_free(a);
    }
    tkms_allocation *found = NULL;
    tkms_err err;
    tkms_status st = tkms_allocate_search(&found, s, f, e, max_shares, &err);
    if (want != 0) {
        CHECK(st == TKMS_OK && found->total == want, "search %u: want N = %u, got %s N = %u",
              case_no, want, tkms_status_string(st), found ? found->total : 0);
        if (found != NULL) {
            tkms_allocation *direct = allocate_or_die(s, want, f);
            char *x = tkms_allocation_format_json(found), *y = tkms_allocation_format_json(direct);
            CHECK(strcmp(x, y) == 0, "search %u: the same allocation as tkms_allocate", case_no);
            free(x);
            free(y);
            tkms_allocation_free(direct);
        }
    } else {
        char closest[32];
        snprintf(closest, sizeof closest, "closest is N = %u,", best_n);
        CHECK(st == TKMS_ERR_NOT_FOUND && found == NULL && strstr(err.message, closest),
              "search %u: none qualifies, %s: %s", case_no, closest, err.message);
    }
    tkms_allocation_free(found);
    mpq_clears(fq, eq, error, best, NULL);
    tkms_stakes_free(s);
}

static void test_search(void)
{
    const char *seed = "[{\"id\": \"alice\", \"stake\": \"47.5\"}, {\"id\": \"bob\", \"stake\": \"16.5\"}, "
                       "{\"id\": \"carol\", \"stake\": \"36\"}]";
    check_search(seed, "0.4", "1", 20, 0);       /* anything goes: N = 1 */
    check_search(seed, "0.4", "0.075", 100, 1);  /* 0.36 and 0.475 are the best there is */
    check_search(seed, "0.4", "0.07", 100, 2);   /* so none */
    for (unsigned c = 0; c < 60; c++) {
        size_t count = 2 + rand_below(14);
        buffer b = {0};
        append(&b, "[");
        for (size_t i = 0; i < count; i++)
            append(&b, "%s{\"id\": \"o%02zu\", \"stake\": %u}", i ? ", " : "", i, 1 + rand_below(100));
        append(&b, "]");
        char f[16], e[16];
        random_fraction(f, sizeof f);
        snprintf(e, sizeof e, "0.%02u", rand_below(30));
        check_search(b.text, f, e, 1 + rand_below(120), 10 + c);
        free(b.text);
    }
    /* many equal owners: exactly at F for N = 999 (K = 400, 400 owners
     * without a share hold 0.4) */
    buffer b = {0};
    append(&b, "[");
    for (unsigned i = 0; i < 1000; i++)
        append(&b, "%s{\"id\": \"o%04u\", \"stake\": \"1\"}", i ? "," : "", i);
    append(&b, "]");
    tkms_stakes *s = stakes_or_die(b.text);
    tkms_allocation *a = NULL;
    tkms_err err;
    CHECK(tkms_allocate_search(&a, s, "0.4", "0", 1000, &err) == TKMS_OK && a->total == 999 &&
              strcmp(a->cannot_sign_max, "2/5") == 0 && strcmp(a->can_sign_min, "2/5") == 0,
          "1000 equal owners: N = 999 is exact");
    tkms_allocation_free(a);
    a = NULL;
    CHECK(tkms_allocate_search(&a, s, "0.4", "0", 998, &err) == TKMS_ERR_NOT_FOUND &&
              strstr(err.message, "1..998") != NULL,
          "1000 equal owners: nothing exact below 999 (%s)", err.message);
    tkms_stakes_free(s);
    free(b.text);

    s = stakes_or_die(seed);
    static const struct {
        const char *f, *e;
        uint32_t m;
        const char *word;
    } bad[] = {
        {"0.4", "-0.1", 10, "maximum error"}, {"0.4", "x", 10, "maximum error"},
        {"0.4", NULL, 10, "maximum error"},   {"1", "0.1", 10, "fraction"},
        {"0.4", "0.1", 0, "1..1024"},         {"0.4", "0.1", TKMS_MAX_SHARES + 1, "1..1024"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        a = NULL;
        tkms_status st = tkms_allocate_search(&a, s, bad[i].f, bad[i].e, bad[i].m, &err);
        CHECK(st == TKMS_ERR_INVALID_ARGUMENT && a == NULL && strstr(err.message, bad[i].word),
              "search refuses bad argument %zu (%s)", i, err.message);
    }
    tkms_stakes_free(s);
}

/* ---- stakes files ------------------------------------------------------------ */

static void expect_stakes_error(const char *json, const char *needle)
{
    tkms_stakes *s = NULL;
    tkms_err err;
    tkms_status st = tkms_stakes_parse(&s, json, strlen(json), &err);
    CHECK(st == TKMS_ERR_BAD_FORMAT && s == NULL && strstr(err.message, needle) != NULL &&
              strchr(err.message, '\n') == NULL,
          "stakes %.60s: want '%s', got %s: %s", json, needle, tkms_status_string(st), err.message);
    tkms_stakes_free(s);
}

static void test_stakes_errors(void)
{
    expect_stakes_error("[]", "stakes: the list is empty");
    expect_stakes_error("{}", "stakes: document must be a JSON array");
    expect_stakes_error("not json", "stakes: not valid JSON");
    expect_stakes_error("[1]", "stakes: entry 1: must be an object");
    expect_stakes_error("[{\"stake\": \"1\"}]", "stakes: entry 1: id is missing");
    expect_stakes_error("[{\"id\": 5, \"stake\": \"1\"}]", "stakes: entry 1: id must be a string");
    expect_stakes_error("[{\"id\": \"a\", \"stake\": \"1\"}, {\"id\": \"-x\", \"stake\": \"1\"}]",
                        "stakes: entry 2: id must be 1..64 characters");
    expect_stakes_error("[{\"id\": \"a b\", \"stake\": \"1\"}]", "stakes: entry 1: id must be");
    expect_stakes_error("[{\"id\": \"a\", \"stake\": \"1\"}, {\"id\": \"b\", \"stake\": \"2\"}, "
                        "{\"id\": \"a\", \"stake\": \"3\"}]",
                        "stakes: entries 1 and 3 have the same id 'a'");
    expect_stakes_error("[{\"id\": \"a\", \"stake\": 1}, {\"id\": \"b\", \"stake\": 2}, "
                        "{\"id\": \"bob\", \"stake\": \"0\"}]",
                        "stakes: entry 3 ('bob'): stake must be greater than zero");
    expect_stakes_error("[{\"id\": \"a\", \"stake\": 0}]", "entry 1 ('a'): stake must be greater than zero");
    expect_stakes_error("[{\"id\": \"a\", \"stake\": \"0.000\"}]", "stake must be greater than zero");
    expect_stakes_error("[{\"id\": \"a\", \"stake\": \"-5\"}]", "greater than zero (it is negative)");
    expect_stakes_error("[{\"id\": \"a\", \"stake\": -5}]", "greater than zero (it is negative)");
    static const char *const not_decimal[] = {"abc", "", "1e5", " 1", "1 ", "1.", ".5",
                                              "0x10", "1,5", "+1", "1.2.3", "--1", "NaN"};
    for (size_t i = 0; i < sizeof not_decimal / sizeof not_decimal[0]; i++) {
        char json[128];
        snprintf(json, sizeof json, "[{\"id\": \"a\", \"stake\": \"%s\"}]", not_decimal[i]);
        expect_stakes_error(json, "entry 1 ('a'): stake is not a decimal number");
    }
    expect_stakes_error("[{\"id\": \"a\", \"stake\": 47.5}]", "stake is a JSON real number");
    expect_stakes_error("[{\"id\": \"a\", \"stake\": 47.5}]", "quote it as a string");
    expect_stakes_error("[{\"id\": \"a\", \"stake\": 1e5}]", "quote it");
    expect_stakes_error("[{\"id\": \"a\", \"stake\": 100000000000000000000}]",
                        "an integer stake is too large for JSON; quote it as a string");
    expect_stakes_error("[{\"id\": \"a\", \"stake\": true}]", "stake must be a string of decimal digits");
    expect_stakes_error("[{\"id\": \"a\", \"stake\": null}]", "stake must be a string of decimal digits");
    expect_stakes_error("[{\"id\": \"a\"}]", "entry 1 ('a'): stake is missing");
    expect_stakes_error("[{\"id\": \"a\", \"stake\": \"1\", \"weight\": 2}]",
                        "entry 1 ('a'): unknown member 'weight'");
    expect_stakes_error("[{\"id\": \"a\", \"stake\": \"1\", \"id\": \"b\"}]", "not valid JSON");

    /* 78 digits are fine, 79 are not */
    char json[256], digits[80];
    memset(digits, '9', 79);
    digits[79] = '\0';
    snprintf(json, sizeof json, "[{\"id\": \"a\", \"stake\": \"%.77s.%s\"}]", digits, "9");
    tkms_stakes *s = NULL;
    CHECK(tkms_stakes_parse(&s, json, strlen(json), NULL) == TKMS_OK, "78 digits accepted");
    tkms_stakes_free(s);
    snprintf(json, sizeof json, "[{\"id\": \"a\", \"stake\": \"%s\"}]", digits);
    expect_stakes_error(json, "stake has more than 78 digits");

    /* too many owners; too large a file */
    buffer b = {0};
    append(&b, "[");
    for (unsigned i = 0; i <= TKMS_MAX_OWNERS; i++)
        append(&b, "%s{\"id\": \"o%05u\", \"stake\": 1}", i ? "," : "", i);
    append(&b, "]");
    expect_stakes_error(b.text, "stakes: more than 10000 owners");
    free(b.text);
    s = NULL;
    tkms_err err;
    CHECK(tkms_stakes_parse(&s, "[]", TKMS_STAKES_FILE_MAX_SIZE + 1u, &err) == TKMS_ERR_BAD_FORMAT &&
              strstr(err.message, "larger than"),
          "a file over the size limit is refused before parsing");
}

/* ---- allocation files ------------------------------------------------------------ */

static const char *const seed_allocation =
    "{\"total\": 100, \"threshold\": 41, \"owners\": ["
    "{\"id\": \"alice\", \"stake\": \"47.5\", \"shares\": 48, \"indices\": [%s]}, "
    "{\"id\": \"bob\", \"stake\": \"16.5\", \"shares\": 16, \"indices\": [%s]}, "
    "{\"id\": \"carol\", \"stake\": \"36\", \"shares\": 36, \"indices\": [%s]}], "
    "\"cannot_sign_max\": \"9/25\", \"can_sign_min\": \"19/40\"}";

static char *range_list(uint32_t first, uint32_t count)
{
    buffer b = {0};
    append(&b, "%s", "");
    for (uint32_t i = 0; i < count; i++)
        append(&b, "%s%u", i ? ", " : "", first + i);
    return b.text;
}

/* `text` with the first `from` replaced by `to` (a new string). */
static char *replace(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    if (at == NULL)
        test_fatal("'%s' not found", from);
    buffer out = {0};
    append(&out, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    return out.text;
}

/* The seed allocation as text, with the first `from` replaced by `to`
 * unless from is NULL. */
static char *edited(const char *from, const char *to)
{
    char *a = range_list(1, 48), *b = range_list(49, 16), *c = range_list(65, 36);
    buffer doc = {0};
    append(&doc, seed_allocation, a, b, c);
    free(a);
    free(b);
    free(c);
    if (from == NULL)
        return doc.text;
    char *out = replace(doc.text, from, to);
    free(doc.text);
    return out;
}

static void expect_allocation_error(const char *from, const char *to, const char *needle)
{
    char *text = edited(from, to);
    tkms_allocation *a = NULL;
    tkms_err err;
    tkms_status st = tkms_allocation_parse(&a, text, strlen(text), &err);
    CHECK(st == TKMS_ERR_BAD_FORMAT && a == NULL && strstr(err.message, needle) != NULL,
          "allocation with '%s' → '%s': want '%s', got %s: %s", from, to, needle,
          tkms_status_string(st), err.message);
    tkms_allocation_free(a);
    free(text);
}

static void test_allocation_files(void)
{
    char *text = edited(NULL, NULL);
    tkms_allocation *a = NULL;
    tkms_err err;
    CHECK(tkms_allocation_parse(&a, text, strlen(text), &err) == TKMS_OK,
          "the seed allocation parses: %s", err.message);
    free(text);
    if (a == NULL)
        return;
    CHECK(a->total == 100 && a->threshold == 41 && shares_of(a, "alice") == 48 &&
              owner(a, "carol")->first_index == 65 && strcmp(a->can_sign_min, "19/40") == 0,
          "the seed allocation's values");
    tkms_owner_map *map = NULL;
    CHECK(tkms_allocation_owner_map(&map, a, &err) == TKMS_OK && map->total == 100 &&
              map->count == 3 && strcmp(tkms_owner_of(map, 48)->id, "alice") == 0 &&
              strcmp(tkms_owner_of(map, 49)->id, "bob") == 0 &&
              tkms_owner_find(map, "carol")->first_index == 65,
          "owner map of an allocation");
    tkms_owner_map_free(map);
    tkms_allocation_free(a);

    /* a share moved from bob to alice, indices kept consistent */
    char *a48 = range_list(1, 48), *a49 = range_list(1, 49);
    char *b16 = range_list(49, 16), *b15 = range_list(50, 15);
    char *steps[5];
    steps[0] = edited(NULL, NULL);
    steps[1] = replace(steps[0], a48, a49);
    steps[2] = replace(steps[1], b16, b15);
    steps[3] = replace(steps[2], "\"shares\": 48", "\"shares\": 49");
    steps[4] = replace(steps[3], "\"shares\": 16", "\"shares\": 15");
    a = NULL;
    tkms_status st = tkms_allocation_parse(&a, steps[4], strlen(steps[4]), &err);
    CHECK(st == TKMS_ERR_BAD_FORMAT && strstr(err.message, "('alice'): holds 49 shares but the "
                                                          "allocation rule gives 48"),
          "a hand-moved share is refused: %s", err.message);
    tkms_allocation_free(a);
    for (int i = 0; i < 5; i++)
        free(steps[i]);
    free(a48);
    free(a49);
    free(b16);
    free(b15);

    static const char *const no_owners =
        "{\"total\": 1, \"threshold\": 1, \"owners\": [], \"cannot_sign_max\": \"0/1\", "
        "\"can_sign_min\": \"1/1\"}";
    a = NULL;
    CHECK(tkms_allocation_parse(&a, no_owners, strlen(no_owners), &err) == TKMS_ERR_BAD_FORMAT &&
              strstr(err.message, "owners must hold 1..10000"),
          "an allocation without owners is refused: %s", err.message);

    expect_allocation_error("\"stake\": \"47.5\"", "\"stake\": \"10\"", "the allocation rule gives");
    expect_allocation_error("\"stake\": \"47.5\"", "\"stake\": \"0\"", "stake must be greater than zero");
    expect_allocation_error("\"stake\": \"47.5\"", "\"stake\": 47.5", "stake must be a string");
    expect_allocation_error("[1, 2, 3", "[2, 1, 3", "('alice'): indices must be 1..48");
    expect_allocation_error(", 100]", "]", "('carol'): indices must be 65..100");
    expect_allocation_error("\"shares\": 36", "\"shares\": 35", "indices must be 65..99");
    expect_allocation_error("\"id\": \"bob\"", "\"id\": \"aaron\"", "ascending id order");
    expect_allocation_error("\"id\": \"bob\"", "\"id\": \"alice\"", "ascending id order");
    expect_allocation_error("\"id\": \"bob\"", "\"id\": \"b-ob!\"", "id must be");
    expect_allocation_error("\"threshold\": 41", "\"threshold\": 0", "threshold must be in 1..100");
    expect_allocation_error("\"threshold\": 41", "\"threshold\": 101", "threshold must be in 1..100");
    expect_allocation_error("\"total\": 100", "\"total\": 101", "add up to 100, not total 101");
    expect_allocation_error("\"total\": 100", "\"total\": 1025", "total must be in 1..1024");
    expect_allocation_error("\"9/25\"", "\"18/50\"", "cannot_sign_max must be a fraction");
    expect_allocation_error("\"9/25\"", "\"26/25\"", "cannot_sign_max must be a fraction");
    expect_allocation_error("\"9/25\"", "\"0.36\"", "cannot_sign_max must be a fraction");
    expect_allocation_error("\"19/40\"", "\"19/0\"", "can_sign_min must be a fraction");
    expect_allocation_error("\"19/40\"", "\"-19/40\"", "can_sign_min must be a fraction");
    expect_allocation_error("\"19/40\"", "\"019/40\"", "can_sign_min must be a fraction");
    expect_allocation_error("\"total\": 100", "\"total\": 100, \"extra\": 1", "unknown member 'extra'");
    expect_allocation_error("\"shares\": 48", "\"shares\": 48, \"x\": 1", "('alice'): unknown member 'x'");
    expect_allocation_error("\"can_sign_min\": \"19/40\"", "\"can_sign_min\": 0.475",
                            "can_sign_min must be a string");

    /* "0/1" and "1/1" are valid report fractions */
    text = edited("\"9/25\"", "\"0/1\"");
    a = NULL;
    CHECK(tkms_allocation_parse(&a, text, strlen(text), &err) == TKMS_OK &&
              strcmp(a->cannot_sign_max, "0/1") == 0,
          "report fraction 0/1 accepted: %s", err.message);
    tkms_allocation_free(a);
    free(text);
}

int main(void)
{
    uint8_t seed[32] = "tkms allocation tests";
    tkms_rng_seeded_init(&rng, seed);
    test_seed_cases();
    test_exactness();
    test_random();
    test_proportional();
    test_bracket_counterexamples();
    test_fraction_edges();
    test_search();
    test_stakes_errors();
    test_allocation_files();
    return test_report();
}
