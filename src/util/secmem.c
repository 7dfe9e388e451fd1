/*
 * secmem.c — wiping and comparing secrets, and keeping them out of core
 * dumps (tkms/secmem.h).
 */
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "tkms/secmem.h"

void tkms_wipe(void *p, size_t len)
{
    if (p == NULL || len == 0)
        return;
    /* explicit_bzero is glibc's "cannot be optimized away" memset. */
    explicit_bzero(p, len);
}

bool tkms_ct_equal(const void *a, const void *b, size_t len)
{
    const volatile unsigned char *x = a, *y = b;
    unsigned char diff = 0;
    for (size_t i = 0; i < len; i++)
        diff |= (unsigned char)(x[i] ^ y[i]);
    return diff == 0;
}

int tkms_secmem_harden_process(void)
{
    struct rlimit none = {0, 0};
    int rc = setrlimit(RLIMIT_CORE, &none);
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        rc = -1;
    return rc == 0 ? 0 : -1;
}
