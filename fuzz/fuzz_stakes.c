/*
 * fuzz_stakes.c — libFuzzer target for stakes files (tkms_stakes_parse).
 * Any input must be refused with a message or accepted. An accepted one is
 * allocated for a small N (from the input's length) at F = 0.4 and must
 * obey the rule: N shares in all, each owner floor(stake / total × N) or
 * one more, extras in descending stake order, ids ascending, indices by
 * prefix sums, K = floor(0.4 N) + 1, report fractions "p/q" in lowest terms
 * in [0, 1]. The allocation must format and re-parse to the same document
 * and give the same owner map. Stakes are re-read here with GMP, apart from
 * the library's own decimal reader.
 */
#include <gmp.h>
#include <stdlib.h>
#include <string.h>

#include "tkms/allocation.h"

#define FRACTION "0.4"

/* A canonical stake text "123.45" as an exact rational. */
static void stake_value(mpq_t out, const char *text)
{
    const char *dot = strchr(text, '.');
    size_t len = strlen(text), scale = dot ? len - (size_t)(dot - text) - 1 : 0;
    char *digits = malloc(len + 1);
    if (digits == NULL)
        abort();
    size_t j = 0;
    for (size_t i = 0; i < len; i++)
        if (text[i] != '.')
            digits[j++] = text[i];
    digits[j] = '\0';
    if (mpz_set_str(mpq_numref(out), digits, 10) != 0 || mpz_sgn(mpq_numref(out)) <= 0)
        abort();   /* accepted stakes are positive decimals */
    free(digits);
    mpz_ui_pow_ui(mpq_denref(out), 10, scale);
    mpq_canonicalize(out);
}

static void check_fraction(const char *text)
{
    mpq_t q;
    mpq_init(q);
    if (strchr(text, '/') == NULL || mpq_set_str(q, text, 10) != 0 ||
        mpz_sgn(mpq_denref(q)) <= 0 || mpq_sgn(q) < 0 || mpq_cmp_ui(q, 1, 1) > 0)
        abort();
    mpz_t g;
    mpz_init(g);
    mpz_gcd(g, mpq_numref(q), mpq_denref(q));
    if (mpz_cmp_ui(g, 1) != 0)
        abort();
    mpz_clear(g);
    mpq_clear(q);
}

static void check_rule(const tkms_allocation *a)
{
    size_t count = a->owner_count;
    mpq_t *stake = malloc(count * sizeof *stake);
    char *extra = malloc(count);
    if (stake == NULL || extra == NULL)
        abort();
    mpq_t total, e;
    mpq_inits(total, e, NULL);
    for (size_t i = 0; i < count; i++) {
        mpq_init(stake[i]);
        stake_value(stake[i], a->owners[i].stake);
        mpq_add(total, total, stake[i]);
    }
    mpz_t fl;
    mpz_init(fl);
    uint32_t sum = 0, next = 1;
    for (size_t i = 0; i < count; i++) {
        const tkms_owner_share *o = &a->owners[i];
        if ((i > 0 && strcmp(a->owners[i - 1].id, o->id) >= 0) ||
            o->first_index != (o->shares ? next : 0))
            abort();
        next += o->shares;
        sum += o->shares;
        mpq_div(e, stake[i], total);
        mpz_mul_ui(fl, mpq_numref(e), a->total);
        mpz_fdiv_q(fl, fl, mpq_denref(e));
        if (mpz_cmp_ui(fl, o->shares) > 0 ||
            (o->shares > 0 && mpz_cmp_ui(fl, o->shares - 1) < 0))
            abort();   /* not floor(e) or floor(e) + 1 */
        extra[i] = mpz_cmp_ui(fl, o->shares) < 0;
    }
    if (sum != a->total || a->threshold != a->total * 2 / 5 + 1)
        abort();
    for (size_t i = 0; i < count; i++)
        for (size_t j = 0; j < count; j++)
            if (extra[i] && !extra[j]) {
                int c = mpq_cmp(stake[i], stake[j]);
                if (c < 0 || (c == 0 && i > j))
                    abort();   /* an extra skipped a heavier owner */
            }
    for (size_t i = 0; i < count; i++)
        mpq_clear(stake[i]);
    mpq_clears(total, e, NULL);
    mpz_clear(fl);
    free(stake);
    free(extra);
    check_fraction(a->cannot_sign_max);
    check_fraction(a->can_sign_min);
}

static void check_round_trip(const tkms_allocation *a)
{
    char *text = tkms_allocation_format_json(a);
    if (text == NULL)
        abort();
    tkms_allocation *again = NULL;
    tkms_err err;
    if (tkms_allocation_parse(&again, text, strlen(text), &err) != TKMS_OK)
        abort();
    char *text2 = tkms_allocation_format_json(again);
    if (text2 == NULL || strcmp(text, text2) != 0)
        abort();
    tkms_owner_map *map = NULL;
    if (tkms_allocation_owner_map(&map, again, &err) != TKMS_OK || map->total != a->total ||
        map->count != a->owner_count)
        abort();
    for (size_t i = 0; i < a->owner_count; i++) {
        const tkms_owner *o = tkms_owner_find(map, a->owners[i].id);
        if (o == NULL || o->share_count != a->owners[i].shares ||
            o->first_index != a->owners[i].first_index)
            abort();
    }
    tkms_owner_map_free(map);
    free(text);
    free(text2);
    tkms_allocation_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > TKMS_STAKES_FILE_MAX_SIZE)
        return 0;
    tkms_stakes *stakes = NULL;
    tkms_err err;
    if (tkms_stakes_parse(&stakes, (const char *)data, size, &err) != TKMS_OK) {
        if (err.message[0] == '\0' || strchr(err.message, '\n') != NULL)
            abort();   /* every refusal says why, on one line */
        return 0;
    }
    tkms_allocation *a = NULL;
    uint32_t n = 1 + (uint32_t)(size % 64);
    if (tkms_allocate(&a, stakes, n, FRACTION, &err) != TKMS_OK)
        abort();
    check_rule(a);
    check_round_trip(a);
    tkms_allocation_free(a);
    tkms_stakes_free(stakes);
    return 0;
}
