/*
 * slashing_test.h — a helper shared by the slashing protection tests
 * (tests/store/test_slashing.c, test_slashing_backends.c).
 */
#ifndef TKMS_SLASHING_TEST_H
#define TKMS_SLASHING_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tkms/slashing.h"

/* The number of blocks and attestations db exports for `key` (0 and 0 when
 * the key is not in the database at all; *known says which). Stops the
 * test when the export fails. */
void test_slashing_counts(tkms_slashing_db *db, const uint8_t *key, size_t *blocks, size_t *atts,
                          bool *known);

#endif /* TKMS_SLASHING_TEST_H */
