/*
 * tkms/secmem.h — handling of secret bytes.
 *
 * Secrets (keys, shares, passwords, KDF output) are wiped with tkms_wipe as
 * soon as they are no longer needed, compared with tkms_ct_equal, and kept
 * out of core dumps by tkms_secmem_harden_process.
 */
#ifndef TKMS_SECMEM_H
#define TKMS_SECMEM_H

#include <stdbool.h>
#include <stddef.h>

/* Overwrites `len` bytes at `p` with zeros in a way the compiler may not
 * remove. p may be NULL when len is 0. */
void tkms_wipe(void *p, size_t len);

/* Returns true when the two buffers are equal; time depends only on len. */
bool tkms_ct_equal(const void *a, const void *b, size_t len);

/*
 * Disables core dumps for this process (RLIMIT_CORE = 0 and, on Linux,
 * PR_SET_DUMPABLE = 0) so that a crash cannot write secrets to disk.
 * Returns 0 on success, -1 if the platform refused.
 */
int tkms_secmem_harden_process(void);

#endif /* TKMS_SECMEM_H */
