/*
 * tkms/allocation.h — turning owners' stakes into shares (DESIGN §5), with
 * exact arithmetic.
 *
 * Input: owners with stakes (decimal strings or integers, handled exactly:
 * no floating point anywhere), a total share count N and a safety fraction
 * F in [0, 1) (a decimal string). The rule, fixed and public:
 *   1. each owner gets floor(stake / total_stake × N) shares;
 *   2. while fewer than N are given, one more share to each owner in
 *      descending order of stake (ties: ascending owner id);
 *   3. K = floor(F × N) + 1 — a coalition needs strictly more than F of the
 *      shares;
 *   4. share indices go to owners in ascending id order by prefix sums.
 *
 * The rounding report says what the rounding costs, as exact fractions of
 * the total stake: `cannot_sign_max`, the largest stake of a coalition of
 * owners holding fewer than K shares, and `can_sign_min`, the smallest
 * stake of a coalition holding at least K. Both come from one dynamic
 * program over share counts (min stake with exactly s shares; by
 * complement, the max stake with fewer than K is 1 − min stake with at
 * least N−K+1), O(owners × N).
 */
#ifndef TKMS_ALLOCATION_H
#define TKMS_ALLOCATION_H

#include <stddef.h>
#include <stdint.h>

#include "tkms/owners.h"
#include "tkms/status.h"

/* Largest stakes file accepted, in bytes. */
#define TKMS_STAKES_FILE_MAX_SIZE (4u * 1024u * 1024u)
/* Most digits in one stake (integer and fraction parts together). */
#define TKMS_STAKE_MAX_DIGITS 78u

/* Owners and their stakes, as read from a stakes file. Opaque. */
typedef struct tkms_stakes tkms_stakes;

/*
 * Parses a stakes file: a JSON array of {"id": "...", "stake": S} where S
 * is a JSON integer or a string of decimal digits with an optional
 * fraction ("47.5"). Refused with TKMS_ERR_BAD_FORMAT and a message naming
 * the entry: not an array, empty list, more than TKMS_MAX_OWNERS owners,
 * an invalid or duplicate id (tkms_owner_id_valid), a stake that is zero,
 * negative, a JSON real (write it as a string), not a decimal number, or
 * longer than TKMS_STAKE_MAX_DIGITS digits; an unknown member in an entry.
 */
tkms_status tkms_stakes_parse(tkms_stakes **out, const char *json, size_t len,
                              tkms_err *err);

void tkms_stakes_free(tkms_stakes *stakes);

/* One owner's result. */
typedef struct {
    char id[TKMS_OWNER_ID_MAX_SIZE + 1];
    char *stake;            /* the stake as a canonical decimal string   */
    uint32_t shares;        /* shares given                              */
    uint32_t first_index;   /* indices first_index..first_index+shares-1,
                               0 when shares == 0                        */
} tkms_owner_share;

typedef struct {
    uint32_t total;            /* N                                       */
    uint32_t threshold;        /* K = floor(F × N) + 1                    */
    size_t owner_count;
    tkms_owner_share *owners;  /* ascending id order                      */
    char *cannot_sign_max;     /* "p/q" in lowest terms, e.g. "9/25", "0/1" */
    char *can_sign_min;        /* "p/q" in lowest terms                   */
} tkms_allocation;

/*
 * Applies the rule to `stakes` for N = total (1..TKMS_MAX_SHARES) and
 * fraction F (a decimal string in [0, 1), e.g. "0.4"), and computes the
 * rounding report. Returns TKMS_OK, TKMS_ERR_INVALID_ARGUMENT (N or F out
 * of range or F not a decimal, with the reason in err) or
 * TKMS_ERR_NO_MEMORY.
 */
tkms_status tkms_allocate(tkms_allocation **out, const tkms_stakes *stakes,
                          uint32_t total, const char *fraction, tkms_err *err);

/*
 * The smallest N in 1..max_shares whose rounding report is within
 * max_error of F on both sides: |cannot_sign_max − F| <= E and
 * |can_sign_min − F| <= E (E a decimal string >= 0). Returns TKMS_OK with
 * that allocation, TKMS_ERR_NOT_FOUND when no N up to max_shares
 * qualifies (err says the best error seen and at which N), or the errors of
 * tkms_allocate.
 */
tkms_status tkms_allocate_search(tkms_allocation **out, const tkms_stakes *stakes,
                                 const char *fraction, const char *max_error,
                                 uint32_t max_shares, tkms_err *err);

void tkms_allocation_free(tkms_allocation *allocation);

/*
 * The allocation as the JSON that `tkms allocate --json` prints and
 * `tkms split --allocation` reads:
 *   {"total": N, "threshold": K,
 *    "owners": [{"id": …, "stake": "…", "shares": c, "indices": [...]}, …],
 *    "cannot_sign_max": "p/q", "can_sign_min": "p/q"}
 * NUL-terminated, caller frees; NULL on OOM.
 */
char *tkms_allocation_format_json(const tkms_allocation *allocation);

/*
 * Reads that JSON back. Checks: the fields and their types; ids valid and
 * in ascending order, no duplicates; shares summing to total
 * (1..TKMS_MAX_SHARES); indices exactly the prefix-sum ranges; 1 <= K <=
 * total; and that the share counts are what the rule gives for these
 * stakes and this total (so a hand-edited file is refused). The two report
 * fractions are kept as given (not recomputed). TKMS_ERR_BAD_FORMAT with
 * the reason otherwise.
 */
tkms_status tkms_allocation_parse(tkms_allocation **out, const char *json,
                                  size_t len, tkms_err *err);

/* The owner map of an allocation (ids and share counts). */
tkms_status tkms_allocation_owner_map(tkms_owner_map **out,
                                      const tkms_allocation *allocation,
                                      tkms_err *err);

#endif /* TKMS_ALLOCATION_H */
