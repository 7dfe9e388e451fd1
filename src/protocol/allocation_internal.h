/*
 * allocation_internal.h — what the two halves of tkms/allocation.h share
 * inside libtkms: src/protocol/allocation.c (decimals, the rule, the
 * report) and src/store/allocation_file.c (the JSON formats). The store
 * side reads ids and decimal texts out of JSON and hands them here; it
 * never does arithmetic itself.
 */
#ifndef TKMS_ALLOCATION_INTERNAL_H
#define TKMS_ALLOCATION_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tkms/allocation.h"

/* One owner as read from a document: its id and its stake as decimal text
 * (digits with an optional fraction, e.g. "47.5"). */
typedef struct {
    const char *id;
    const char *stake;
} tkms_stake_entry;

/*
 * Builds stakes from `count` entries (in any order; entry numbers in
 * messages are 1-based positions in `entries`). Checks what tkms_stakes_parse
 * documents beyond JSON types: count, ids, decimal syntax and length, sign.
 * Messages start with `what` ("stakes"). TKMS_ERR_BAD_FORMAT or
 * TKMS_ERR_NO_MEMORY.
 */
tkms_status tkms_stakes_from_entries(tkms_stakes **out,
                                     const tkms_stake_entry *entries,
                                     size_t count, const char *what,
                                     tkms_err *err);

/* Writes "WHAT: entry N ('id')" (the id only when valid, so messages never
 * carry arbitrary input) — the prefix of every per-entry message. */
void tkms_stake_entry_label(char *out, size_t size, const char *what,
                            size_t number, const char *id);

/* Number of owners, and owner i's id and canonical stake, in ascending id
 * order. */
size_t tkms_stakes_count(const tkms_stakes *stakes);
const char *tkms_stakes_id(const tkms_stakes *stakes, size_t i);
const char *tkms_stakes_decimal(const tkms_stakes *stakes, size_t i);

/* Steps 1 and 2 of the rule: shares[i] for owner i (ascending id order)
 * for N = total (1..TKMS_MAX_SHARES). */
void tkms_stakes_apply_rule(const tkms_stakes *stakes, uint32_t total,
                            uint32_t *shares);

/*
 * A new allocation for `stakes` with these share counts (which sum to
 * total) and this threshold; indices by prefix sums. The report fractions
 * are copied as given. NULL on OOM.
 */
tkms_allocation *tkms_allocation_new(const tkms_stakes *stakes, uint32_t total,
                                     uint32_t threshold, const uint32_t *shares,
                                     const char *cannot_sign_max,
                                     const char *can_sign_min);

/* True when `text` is a report fraction: "p/q" in lowest terms with
 * 0 <= p/q <= 1, of bounded length. */
bool tkms_report_fraction_valid(const char *text);

#endif /* TKMS_ALLOCATION_INTERNAL_H */
