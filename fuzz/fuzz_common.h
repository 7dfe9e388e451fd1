/*
 * fuzz_common.h — checks shared by the libFuzzer targets (header-only,
 * each target is its own program).
 */
#ifndef TKMS_FUZZ_COMMON_H
#define TKMS_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "tkms/keystore.h"
#include "tkms/status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts (a finding for libFuzzer) with the condition that failed. */
#define INVARIANT(cond)                                                         \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "invariant violated at %s:%d: %s\n", __FILE__,      \
                    __LINE__, #cond);                                           \
            abort();                                                            \
        }                                                                       \
    } while (0)

#define FUZZ_PASSWORD "fuzz"
#define CHEAP_SCRYPT_WORK (1024u * 8u)   /* n·r·p, the cost of scrypt */
#define CHEAP_PBKDF2_C 1000u

/* True when decrypting with these KDF parameters is cheap enough to fuzz. */
static inline bool fuzz_kdf_is_cheap(const tkms_kdf_params *p)
{
    if (p->kdf == TKMS_KDF_PBKDF2)
        return p->pbkdf2_c <= CHEAP_PBKDF2_C;
    return (uint64_t)p->scrypt_n * p->scrypt_r * p->scrypt_p <= CHEAP_SCRYPT_WORK;
}

/* Every refusal must say why, in one printable line. */
static inline void fuzz_require_explained(const tkms_err *err)
{
    if (err->message[0] == '\0')
        abort();
    for (const char *c = err->message; *c; c++)
        if (*c < 0x20 || *c > 0x7e)
            abort();
}

#endif /* TKMS_FUZZ_COMMON_H */
