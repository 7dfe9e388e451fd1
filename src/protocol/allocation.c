/*
 * allocation.c — the allocation rule of DESIGN §5 (tkms/allocation.h) in
 * exact arithmetic: stakes, the fraction F and the error bound E are read
 * as decimals into integers (GMP), stakes at one common scale; the rule is
 * integer division; the rounding report is a knapsack over share counts;
 * the search tries N = 1, 2, … until the report is within E of F. No
 * floating point anywhere. Pure: no files, no JSON.
 */
#include <gmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allocation_internal.h"
#include "tkms/shamir.h"

/* Text of a decimal with at most TKMS_STAKE_MAX_DIGITS digits, its point
 * and the NUL. */
#define DECIMAL_TEXT_SIZE (TKMS_STAKE_MAX_DIGITS + 2u)
/* Longest report fraction accepted by tkms_report_fraction_valid: both
 * terms are at most the scaled total stake (well under 200 digits). */
#define FRACTION_TEXT_MAX 512u

struct tkms_stakes {
    size_t count;
    char (*ids)[TKMS_OWNER_ID_MAX_SIZE + 1];  /* ascending (strcmp)            */
    char (*decimals)[DECIMAL_TEXT_SIZE];     /* canonical stake texts          */
    mpz_t *amounts;                          /* stake × 10^scale / gcd, > 0    */
    mpz_t total;                             /* sum of amounts                 */
    size_t *by_stake;                        /* positions by descending stake,
                                                ties by ascending id          */
};

/* ---- decimals ------------------------------------------------------------ */

typedef enum {
    DECIMAL_OK,
    DECIMAL_SYNTAX,     /* not DIGITS or DIGITS.DIGITS (with an optional '-') */
    DECIMAL_TOO_LONG,   /* more than TKMS_STAKE_MAX_DIGITS digits             */
    DECIMAL_NEGATIVE,   /* written with a minus sign                          */
} decimal_result;

/*
 * Reads `text` as DIGITS or DIGITS.DIGITS: *value = the number × 10^*scale
 * where *scale counts the fraction digits left once trailing zeros are
 * dropped. `canonical` (DECIMAL_TEXT_SIZE bytes, may be NULL) gets the
 * shortest form: no leading zeros, no trailing fraction zeros ("047.50" →
 * "47.5", "3.0" → "3").
 */
static decimal_result decimal_read(const char *text, mpz_t value, size_t *scale,
                                   char *canonical)
{
    bool negative = text[0] == '-';
    const char *int_part = text + negative;
    size_t int_len = strspn(int_part, "0123456789");
    const char *frac_part = int_part + int_len;
    size_t frac_len = 0;
    if (*frac_part == '.') {
        frac_part++;
        frac_len = strspn(frac_part, "0123456789");
        if (frac_len == 0)
            return DECIMAL_SYNTAX;
    }
    if (int_len == 0 || frac_part[frac_len] != '\0')
        return DECIMAL_SYNTAX;
    if (int_len + frac_len > TKMS_STAKE_MAX_DIGITS)
        return DECIMAL_TOO_LONG;
    if (negative)
        return DECIMAL_NEGATIVE;
    while (int_len > 1 && int_part[0] == '0') {
        int_part++;
        int_len--;
    }
    while (frac_len > 0 && frac_part[frac_len - 1] == '0')
        frac_len--;

    char digits[DECIMAL_TEXT_SIZE];
    memcpy(digits, int_part, int_len);
    memcpy(digits + int_len, frac_part, frac_len);
    digits[int_len + frac_len] = '\0';
    mpz_set_str(value, digits, 10);
    *scale = frac_len;
    if (canonical != NULL) {
        memcpy(canonical, int_part, int_len);
        size_t used = int_len;
        if (frac_len > 0) {
            canonical[used++] = '.';
            memcpy(canonical + used, frac_part, frac_len);
            used += frac_len;
        }
        canonical[used] = '\0';
    }
    return DECIMAL_OK;
}

/* Reads a parameter (F or E) as an exact rational; `name` starts the
 * messages. With `below_one`, values >= 1 are refused. */
static tkms_status ratio_read(mpq_t out, const char *text, const char *name,
                              bool below_one, tkms_err *err)
{
    if (text == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "%s is missing", name);
    size_t scale;
    switch (decimal_read(text, mpq_numref(out), &scale, NULL)) {
    case DECIMAL_OK:
        break;
    case DECIMAL_SYNTAX:
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "%s must be a decimal number such as 0.4", name);
    case DECIMAL_TOO_LONG:
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "%s has more than %u digits", name,
                         TKMS_STAKE_MAX_DIGITS);
    case DECIMAL_NEGATIVE:
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "%s must not be negative", name);
    }
    mpz_ui_pow_ui(mpq_denref(out), 10, scale);
    mpq_canonicalize(out);
    if (below_one && mpz_cmp(mpq_numref(out), mpq_denref(out)) >= 0)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "%s must be at least 0 and below 1", name);
    return TKMS_OK;
}

/* ---- stakes -------------------------------------------------------------- */

void tkms_stake_entry_label(char *out, size_t size, const char *what,
                            size_t number, const char *id)
{
    if (id != NULL && tkms_owner_id_valid(id))
        snprintf(out, size, "%s: entry %zu ('%s')", what, number, id);
    else
        snprintf(out, size, "%s: entry %zu", what, number);
}

static tkms_stakes *stakes_new(size_t count)
{
    tkms_stakes *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->ids = calloc(count, sizeof *s->ids);
    s->decimals = calloc(count, sizeof *s->decimals);
    s->amounts = calloc(count, sizeof *s->amounts);
    s->by_stake = calloc(count, sizeof *s->by_stake);
    if (s->ids == NULL || s->decimals == NULL || s->amounts == NULL || s->by_stake == NULL) {
        free(s->ids);
        free(s->decimals);
        free(s->amounts);
        free(s->by_stake);
        free(s);
        return NULL;
    }
    s->count = count;
    for (size_t i = 0; i < count; i++)
        mpz_init(s->amounts[i]);
    mpz_init(s->total);
    return s;
}

void tkms_stakes_free(tkms_stakes *stakes)
{
    if (stakes == NULL)
        return;
    for (size_t i = 0; i < stakes->count; i++)
        mpz_clear(stakes->amounts[i]);
    mpz_clear(stakes->total);
    free(stakes->ids);
    free(stakes->decimals);
    free(stakes->amounts);
    free(stakes->by_stake);
    free(stakes);
}

/* An entry being read: its number in the input and its value before
 * scaling to the common scale. */
typedef struct {
    const char *id;
    size_t number;
    size_t scale;
    mpz_t value;
    char canonical[DECIMAL_TEXT_SIZE];
} stake_reading;

static int compare_readings_by_id(const void *a, const void *b)
{
    return strcmp(((const stake_reading *)a)->id, ((const stake_reading *)b)->id);
}

/* Sorting key for step 2: position of an owner (ascending id) and its stake. */
typedef struct {
    size_t pos;
    mpz_srcptr amount;
} stake_rank;

static int compare_ranks(const void *a, const void *b)
{
    const stake_rank *x = a, *y = b;
    int c = mpz_cmp(y->amount, x->amount);   /* descending stake */
    if (c != 0)
        return c;
    return x->pos < y->pos ? -1 : x->pos > y->pos;   /* then ascending id */
}

/* Checks one entry and reads its stake into r. */
static tkms_status read_entry(stake_reading *r, const tkms_stake_entry *entry,
                              size_t number, const char *what, tkms_err *err)
{
    char label[TKMS_OWNER_ID_MAX_SIZE + 64];
    tkms_stake_entry_label(label, sizeof label, what, number, entry->id);
    r->id = entry->id;
    r->number = number;
    if (entry->id == NULL || !tkms_owner_id_valid(entry->id))
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "%s: id must be 1..%u characters of [A-Za-z0-9._-], not "
                         "starting with '.' or '-'", label, TKMS_OWNER_ID_MAX_SIZE);
    if (entry->stake == NULL)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: stake is missing", label);
    switch (decimal_read(entry->stake, r->value, &r->scale, r->canonical)) {
    case DECIMAL_OK:
        break;
    case DECIMAL_SYNTAX:
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "%s: stake is not a decimal number (digits with an optional "
                         "fraction, e.g. \"47.5\")", label);
    case DECIMAL_TOO_LONG:
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: stake has more than %u digits",
                         label, TKMS_STAKE_MAX_DIGITS);
    case DECIMAL_NEGATIVE:
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "%s: stake must be greater than zero (it is negative)", label);
    }
    if (mpz_sgn(r->value) == 0)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: stake must be greater than zero",
                         label);
    return TKMS_OK;
}

tkms_status tkms_stakes_from_entries(tkms_stakes **out,
                                     const tkms_stake_entry *entries,
                                     size_t count, const char *what,
                                     tkms_err *err)
{
    *out = NULL;
    if (count == 0)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: the list is empty", what);
    if (count > TKMS_MAX_OWNERS)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: more than %u owners", what,
                         TKMS_MAX_OWNERS);
    stake_reading *readings = calloc(count, sizeof *readings);
    stake_rank *ranks = calloc(count, sizeof *ranks);
    tkms_stakes *s = stakes_new(count);
    tkms_status st = TKMS_OK;
    for (size_t i = 0; readings != NULL && i < count; i++)
        mpz_init(readings[i].value);
    if (readings == NULL || ranks == NULL || s == NULL) {
        st = tkms_fail(err, TKMS_ERR_NO_MEMORY, "%s: out of memory", what);
        goto done;
    }
    size_t scale = 0;
    for (size_t i = 0; i < count && st == TKMS_OK; i++) {
        st = read_entry(&readings[i], &entries[i], i + 1, what, err);
        if (readings[i].scale > scale)
            scale = readings[i].scale;
    }
    if (st != TKMS_OK)
        goto done;
    qsort(readings, count, sizeof *readings, compare_readings_by_id);
    for (size_t i = 1; i < count; i++) {
        if (strcmp(readings[i - 1].id, readings[i].id) == 0) {
            size_t a = readings[i - 1].number, b = readings[i].number;
            st = tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: entries %zu and %zu have the same id '%s'",
                           what, a < b ? a : b, a < b ? b : a, readings[i].id);
            goto done;
        }
    }
    /* All stakes at the common scale, then divided by their gcd: only
     * ratios matter, and smaller integers keep the report on its fast path
     * (stakes in wei are usually whole gwei). */
    mpz_t power, gcd;
    mpz_inits(power, gcd, NULL);
    for (size_t i = 0; i < count; i++) {
        strcpy(s->ids[i], readings[i].id);
        strcpy(s->decimals[i], readings[i].canonical);
        mpz_ui_pow_ui(power, 10, scale - readings[i].scale);
        mpz_mul(s->amounts[i], readings[i].value, power);
        mpz_gcd(gcd, gcd, s->amounts[i]);
    }
    for (size_t i = 0; i < count; i++) {
        mpz_divexact(s->amounts[i], s->amounts[i], gcd);
        mpz_add(s->total, s->total, s->amounts[i]);
        ranks[i].pos = i;
        ranks[i].amount = s->amounts[i];
    }
    mpz_clears(power, gcd, NULL);
    qsort(ranks, count, sizeof *ranks, compare_ranks);
    for (size_t i = 0; i < count; i++)
        s->by_stake[i] = ranks[i].pos;
    *out = s;
    s = NULL;
done:
    if (readings != NULL)
        for (size_t i = 0; i < count; i++)
            mpz_clear(readings[i].value);
    free(readings);
    free(ranks);
    tkms_stakes_free(s);
    return st;
}

size_t tkms_stakes_count(const tkms_stakes *stakes)
{
    return stakes->count;
}

const char *tkms_stakes_id(const tkms_stakes *stakes, size_t i)
{
    return stakes->ids[i];
}

const char *tkms_stakes_decimal(const tkms_stakes *stakes, size_t i)
{
    return stakes->decimals[i];
}

/* ---- the rule ------------------------------------------------------------- */

void tkms_stakes_apply_rule(const tkms_stakes *stakes, uint32_t total,
                            uint32_t *shares)
{
    mpz_t q;
    mpz_init(q);
    uint64_t given = 0;
    for (size_t i = 0; i < stakes->count; i++) {
        mpz_mul_ui(q, stakes->amounts[i], total);
        mpz_fdiv_q(q, q, stakes->total);
        shares[i] = (uint32_t)mpz_get_ui(q);   /* <= total */
        given += shares[i];
    }
    mpz_clear(q);
    /* Each floor loses less than one share, so fewer than `count` remain
     * and one pass in stake order gives them all. */
    for (size_t k = 0; given < total && k < stakes->count; k++, given++)
        shares[stakes->by_stake[k]]++;
}

/* K = floor(F × N) + 1. */
static uint32_t threshold_for(const mpq_t fraction, uint32_t total)
{
    mpz_t k;
    mpz_init(k);
    mpz_mul_ui(k, mpq_numref(fraction), total);
    mpz_fdiv_q(k, k, mpq_denref(fraction));
    uint32_t threshold = (uint32_t)mpz_get_ui(k) + 1;   /* F < 1, so <= total */
    mpz_clear(k);
    return threshold;
}

/* ---- the rounding report ------------------------------------------------- */

/*
 * The report's dynamic program: least[s] is the least stake of a coalition
 * of shareholders holding exactly s shares (0/1 knapsack, each owner in or
 * out; owners without shares never lower a least stake and are left out).
 * From it, for two share counts a and b, the least stake of a coalition
 * holding at least a (resp. b) shares. Unreached counts hold total + 1, so
 * the inner loop has no branch: adding a stake to it never beats a reached
 * value. Two copies of the loop: unsigned __int128 when the total (after
 * dividing out the stakes' gcd) is below 2^126, so that total + 1 plus a
 * stake cannot overflow — the common case, e.g. 10,000 stakes of 10^33
 * units — and GMP otherwise, about ten times slower. Work is
 * O(shareholders × N) with shareholders <= N.
 */
__extension__ typedef unsigned __int128 u128;

static bool u128_from_mpz(u128 *out, const mpz_t z)
{
    if (mpz_sizeinbase(z, 2) > 126)
        return false;
    uint64_t words[2] = {0, 0};
    mpz_export(words, NULL, -1, sizeof words[0], 0, 0, z);
    *out = (u128)words[1] << 64 | words[0];
    return true;
}

static void u128_to_mpz(mpz_t out, u128 v)
{
    uint64_t words[2] = {(uint64_t)v, (uint64_t)(v >> 64)};
    mpz_import(out, 2, -1, sizeof words[0], 0, 0, words);
}

static tkms_status least_stakes_u128(mpz_t least_a, uint32_t a, mpz_t least_b, uint32_t b,
                                     const tkms_stakes *stakes, const uint32_t *shares,
                                     uint32_t total, u128 total_stake)
{
    u128 *least = malloc((total + 1) * sizeof *least);
    if (least == NULL)
        return TKMS_ERR_NO_MEMORY;
    least[0] = 0;
    for (uint32_t s = 1; s <= total; s++)
        least[s] = total_stake + 1;
    uint32_t reach = 0;   /* shares held by the owners seen so far */
    for (size_t i = 0; i < stakes->count; i++) {
        uint32_t c = shares[i];
        if (c == 0)
            continue;
        u128 stake = 0;
        u128_from_mpz(&stake, stakes->amounts[i]);   /* <= total_stake: fits */
        reach += c;
        for (uint32_t s = reach; s >= c; s--) {
            u128 with = least[s - c] + stake;
            if (with < least[s])
                least[s] = with;
        }
    }
    u128 min_a = least[total], min_b = least[total];
    for (uint32_t s = total; s >= 1; s--) {
        if (s >= a && least[s] < min_a)
            min_a = least[s];
        if (s >= b && least[s] < min_b)
            min_b = least[s];
    }
    free(least);
    u128_to_mpz(least_a, min_a);
    u128_to_mpz(least_b, min_b);
    return TKMS_OK;
}

static tkms_status least_stakes_mpz(mpz_t least_a, uint32_t a, mpz_t least_b, uint32_t b,
                                    const tkms_stakes *stakes, const uint32_t *shares,
                                    uint32_t total)
{
    mpz_t *least = malloc((total + 1) * sizeof *least);
    if (least == NULL)
        return TKMS_ERR_NO_MEMORY;
    mpz_init_set_ui(least[0], 0);
    for (uint32_t s = 1; s <= total; s++) {
        mpz_init_set(least[s], stakes->total);
        mpz_add_ui(least[s], least[s], 1);
    }
    mpz_t with;
    mpz_init(with);
    uint32_t reach = 0;
    for (size_t i = 0; i < stakes->count; i++) {
        uint32_t c = shares[i];
        if (c == 0)
            continue;
        reach += c;
        for (uint32_t s = reach; s >= c; s--) {
            mpz_add(with, least[s - c], stakes->amounts[i]);
            if (mpz_cmp(with, least[s]) < 0)
                mpz_swap(with, least[s]);
        }
    }
    mpz_set(least_a, least[total]);
    mpz_set(least_b, least[total]);
    for (uint32_t s = total; s >= 1; s--) {
        if (s >= a && mpz_cmp(least[s], least_a) < 0)
            mpz_set(least_a, least[s]);
        if (s >= b && mpz_cmp(least[s], least_b) < 0)
            mpz_set(least_b, least[s]);
    }
    for (uint32_t s = 0; s <= total; s++)
        mpz_clear(least[s]);
    free(least);
    mpz_clear(with);
    return TKMS_OK;
}

/* The report as stakes over the total: the largest stake that cannot sign
 * and the smallest that can. */
typedef struct {
    mpz_t cannot_sign_max;
    mpz_t can_sign_min;
} report;

static tkms_status report_compute(report *r, const tkms_stakes *stakes,
                                  const uint32_t *shares, uint32_t total,
                                  uint32_t threshold)
{
    /* A coalition cannot sign iff the others hold at least N − K + 1
     * shares, so the heaviest one that cannot is the complement of the
     * lightest one holding N − K + 1 or more. */
    mpz_t lightest_complement;
    mpz_init(lightest_complement);
    u128 total_stake;
    tkms_status st =
        u128_from_mpz(&total_stake, stakes->total)
            ? least_stakes_u128(r->can_sign_min, threshold, lightest_complement,
                                total - threshold + 1, stakes, shares, total, total_stake)
            : least_stakes_mpz(r->can_sign_min, threshold, lightest_complement,
                               total - threshold + 1, stakes, shares, total);
    mpz_sub(r->cannot_sign_max, stakes->total, lightest_complement);
    mpz_clear(lightest_complement);
    return st;
}

/* "p/q" in lowest terms for stake / total stake; NULL on OOM. */
static char *fraction_text(const mpz_t stake, const mpz_t total_stake)
{
    mpq_t q;
    mpq_init(q);
    mpq_set_num(q, stake);
    mpq_set_den(q, total_stake);
    mpq_canonicalize(q);
    size_t size = mpz_sizeinbase(mpq_numref(q), 10) + mpz_sizeinbase(mpq_denref(q), 10) + 4;
    char *text = malloc(size);
    if (text != NULL) {
        mpz_get_str(text, 10, mpq_numref(q));
        size_t used = strlen(text);
        text[used++] = '/';
        mpz_get_str(text + used, 10, mpq_denref(q));
    }
    mpq_clear(q);
    return text;
}

bool tkms_report_fraction_valid(const char *text)
{
    size_t len = strnlen(text, FRACTION_TEXT_MAX + 1);
    const char *slash = memchr(text, '/', len);
    if (len > FRACTION_TEXT_MAX || slash == NULL || slash == text ||
        strspn(text, "0123456789") != (size_t)(slash - text) ||
        strspn(slash + 1, "0123456789") != len - (size_t)(slash - text) - 1 ||
        slash[1] == '\0')
        return false;
    mpq_t q;
    mpq_init(q);
    bool ok = mpq_set_str(q, text, 10) == 0 && mpz_sgn(mpq_denref(q)) > 0;
    if (ok) {
        /* lowest terms and no leading zeros: the canonical text is the same */
        char *again = fraction_text(mpq_numref(q), mpq_denref(q));
        ok = again != NULL && strcmp(again, text) == 0 &&
             mpz_cmp(mpq_numref(q), mpq_denref(q)) <= 0;
        free(again);
    }
    mpq_clear(q);
    return ok;
}

/* ---- allocations ----------------------------------------------------------- */

void tkms_allocation_free(tkms_allocation *allocation)
{
    if (allocation == NULL)
        return;
    for (size_t i = 0; allocation->owners != NULL && i < allocation->owner_count; i++)
        free(allocation->owners[i].stake);
    free(allocation->owners);
    free(allocation->cannot_sign_max);
    free(allocation->can_sign_min);
    free(allocation);
}

tkms_allocation *tkms_allocation_new(const tkms_stakes *stakes, uint32_t total,
                                     uint32_t threshold, const uint32_t *shares,
                                     const char *cannot_sign_max,
                                     const char *can_sign_min)
{
    tkms_allocation *a = calloc(1, sizeof *a);
    if (a == NULL)
        return NULL;
    a->total = total;
    a->threshold = threshold;
    a->owners = calloc(stakes->count, sizeof *a->owners);
    a->owner_count = a->owners != NULL ? stakes->count : 0;
    a->cannot_sign_max = strdup(cannot_sign_max);
    a->can_sign_min = strdup(can_sign_min);
    bool ok = a->owners != NULL && a->cannot_sign_max != NULL && a->can_sign_min != NULL;
    uint32_t next = 1;
    for (size_t i = 0; ok && i < stakes->count; i++) {
        tkms_owner_share *o = &a->owners[i];
        strcpy(o->id, stakes->ids[i]);
        o->stake = strdup(stakes->decimals[i]);
        o->shares = shares[i];
        o->first_index = shares[i] > 0 ? next : 0;
        next += shares[i];
        ok = o->stake != NULL;
    }
    if (!ok) {
        tkms_allocation_free(a);
        return NULL;
    }
    return a;
}

/* The allocation for N = total with its report; NULL on OOM. */
static tkms_allocation *allocation_with_report(const tkms_stakes *stakes, uint32_t total,
                                               uint32_t threshold, const uint32_t *shares,
                                               const report *r)
{
    char *cannot = fraction_text(r->cannot_sign_max, stakes->total);
    char *can = fraction_text(r->can_sign_min, stakes->total);
    tkms_allocation *a = cannot != NULL && can != NULL
                             ? tkms_allocation_new(stakes, total, threshold, shares, cannot, can)
                             : NULL;
    free(cannot);
    free(can);
    return a;
}

static void report_init(report *r)
{
    mpz_init(r->cannot_sign_max);
    mpz_init(r->can_sign_min);
}

static void report_clear(report *r)
{
    mpz_clear(r->cannot_sign_max);
    mpz_clear(r->can_sign_min);
}

static tkms_status check_total(uint32_t total, const char *name, tkms_err *err)
{
    if (total < 1 || total > TKMS_MAX_SHARES)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "%s must be 1..%u, got %u", name,
                         TKMS_MAX_SHARES, total);
    return TKMS_OK;
}

tkms_status tkms_allocate(tkms_allocation **out, const tkms_stakes *stakes,
                          uint32_t total, const char *fraction, tkms_err *err)
{
    *out = NULL;
    mpq_t f;
    mpq_init(f);
    report r;
    report_init(&r);
    uint32_t *shares = NULL;
    tkms_status st = check_total(total, "the share count N", err);
    if (st == TKMS_OK)
        st = ratio_read(f, fraction, "the fraction", true, err);
    if (st != TKMS_OK)
        goto done;
    shares = malloc(stakes->count * sizeof *shares);
    if (shares == NULL) {
        st = tkms_fail(err, TKMS_ERR_NO_MEMORY, "allocation: out of memory");
        goto done;
    }
    tkms_stakes_apply_rule(stakes, total, shares);
    uint32_t threshold = threshold_for(f, total);
    if ((st = report_compute(&r, stakes, shares, total, threshold)) != TKMS_OK ||
        (*out = allocation_with_report(stakes, total, threshold, shares, &r)) == NULL)
        st = tkms_fail(err, TKMS_ERR_NO_MEMORY, "allocation: out of memory");
done:
    free(shares);
    report_clear(&r);
    mpq_clear(f);
    return st;
}

/* ---- the search ------------------------------------------------------------ */

/* *out = |numerator / total_stake − F|, exactly. */
static void side_error(mpq_t out, const mpz_t numerator, const mpz_t total_stake,
                       const mpq_t f)
{
    mpq_set_num(out, numerator);
    mpq_set_den(out, total_stake);
    mpq_canonicalize(out);
    mpq_sub(out, out, f);
    mpq_abs(out, out);
}

/* *error = max(|cannot_sign_max − F|, |can_sign_min − F|), exactly. */
static void report_error(mpq_t error, const report *r, const mpz_t total_stake,
                         const mpq_t f)
{
    mpq_t other;
    mpq_init(other);
    side_error(error, r->cannot_sign_max, total_stake, f);
    side_error(other, r->can_sign_min, total_stake, f);
    if (mpq_cmp(other, error) > 0)
        mpq_set(error, other);
    mpq_clear(other);
}

/* `q` (>= 0) rounded to six decimals, as text for messages: "about
 * 0.012346", or "less than 0.000001" for a small non-zero q. */
static void approximate(char *out, size_t size, const mpq_t q)
{
    mpz_t v;
    mpz_init(v);
    mpz_mul_ui(v, mpq_numref(q), 2000000);
    mpz_add(v, v, mpq_denref(q));
    mpz_fdiv_q(v, v, mpq_denref(q));
    mpz_fdiv_q_2exp(v, v, 1);   /* round(q × 10^6) */
    if (mpz_sgn(v) == 0 && mpq_sgn(q) != 0) {
        snprintf(out, size, "less than 0.000001");
    } else {
        unsigned long frac = mpz_fdiv_q_ui(v, v, 1000000);
        gmp_snprintf(out, size, "about %Zd.%06lu", v, frac);
    }
    mpz_clear(v);
}

tkms_status tkms_allocate_search(tkms_allocation **out, const tkms_stakes *stakes,
                                 const char *fraction, const char *max_error,
                                 uint32_t max_shares, tkms_err *err)
{
    *out = NULL;
    mpq_t f, e, error, best;
    mpq_init(f);
    mpq_init(e);
    mpq_init(error);
    mpq_init(best);
    report r;
    report_init(&r);
    uint32_t *shares = NULL, best_total = 0;
    tkms_status st = check_total(max_shares, "the largest share count", err);
    if (st == TKMS_OK)
        st = ratio_read(f, fraction, "the fraction", true, err);
    if (st == TKMS_OK)
        st = ratio_read(e, max_error, "the maximum error", false, err);
    if (st != TKMS_OK)
        goto done;
    shares = malloc(stakes->count * sizeof *shares);
    if (shares == NULL) {
        st = tkms_fail(err, TKMS_ERR_NO_MEMORY, "allocation: out of memory");
        goto done;
    }
    for (uint32_t total = 1; total <= max_shares; total++) {
        tkms_stakes_apply_rule(stakes, total, shares);
        uint32_t threshold = threshold_for(f, total);
        if (report_compute(&r, stakes, shares, total, threshold) != TKMS_OK) {
            st = tkms_fail(err, TKMS_ERR_NO_MEMORY, "allocation: out of memory");
            goto done;
        }
        report_error(error, &r, stakes->total, f);
        if (mpq_cmp(error, e) <= 0) {
            *out = allocation_with_report(stakes, total, threshold, shares, &r);
            if (*out == NULL)
                st = tkms_fail(err, TKMS_ERR_NO_MEMORY, "allocation: out of memory");
            goto done;
        }
        if (best_total == 0 || mpq_cmp(error, best) < 0) {
            mpq_set(best, error);
            best_total = total;
        }
    }
    char best_text[64];
    approximate(best_text, sizeof best_text, best);
    /* max_error was read as a decimal: digits and a point, safe to print */
    st = tkms_fail(err, TKMS_ERR_NOT_FOUND,
                   "no share count N in 1..%u keeps both report bounds within %s of the "
                   "fraction; the closest is N = %u, off by %s",
                   max_shares, max_error, best_total, best_text);
done:
    free(shares);
    report_clear(&r);
    mpq_clear(f);
    mpq_clear(e);
    mpq_clear(error);
    mpq_clear(best);
    return st;
}
