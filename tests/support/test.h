/*
 * test.h — the small test harness every C test uses.
 *
 * A test file is a main() that calls CHECK(...) as often as it likes and
 * returns test_report(), which prints "N passed, N failed" and yields a
 * non-zero exit status when anything failed. Vector helpers find the
 * official vectors in $TKMS_VECTORS (or ../shared/vectors next to the
 * source tree) and stop the test with a clear message when they are
 * absent — a missing vector set is a failure, never a silent skip.
 */
#ifndef TKMS_TEST_H
#define TKMS_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tkms/rng.h"

extern unsigned long test_passed, test_failed;

void test_check(bool ok, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* CHECK(cond, "what, with %s", args): records a pass or a named failure. */
#define CHECK(cond, ...) test_check((cond), __FILE__, __LINE__, __VA_ARGS__)

/* Prints the tally ("N passed, N failed") and returns the exit status. */
int test_report(void);

/* Stops the test with a failure message (for set-up errors). */
void test_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Absolute path of `rel` under the vectors directory; exits with a clear
 * message if the directory does not exist. Returned string is static until
 * the next call. */
const char *test_vector_path(const char *rel);

/* Sorted list of the *.json files in vector sub-directory `rel` (full
 * paths, malloc'ed, NULL-terminated). Exits if the directory is missing or
 * empty. Free with test_free_list. */
char **test_vector_files(const char *rel);
void test_free_list(char **list);

/* Absolute path of `rel` under the shared Lodestar folder ($TKMS_LODESTAR,
 * else ../shared/lodestar next to the source tree); exits with a clear
 * message if the folder does not exist. Static until the next call. */
const char *test_lodestar_path(const char *rel);

/* Reads a whole file (NUL-terminated, malloc'ed; *len without the NUL);
 * exits on failure. */
char *test_read_file(const char *path, size_t *len);

/* Loads a JSON file or exits with the parse error. */
json_t *test_load_json(const char *path);

/* Decodes hex (with or without 0x) of any length into a malloc'ed buffer;
 * returns false for invalid hex. */
bool test_hex(const char *hex, uint8_t **out, size_t *out_len);

/* A uniformly distributed number in [0, bound) from rng (bound > 0; the
 * modulo bias is irrelevant for tests). */
uint32_t test_rand_below(tkms_rng *rng, uint32_t bound);

/* Base name of a path (pointer into it). */
const char *test_basename(const char *path);

#endif /* TKMS_TEST_H */
