/*
 * tkms/rng.h — the one randomness interface of libtkms.
 *
 * Everything that needs randomness (polynomial coefficients, batch
 * verification weights, keystore salts and IVs) takes a `tkms_rng *`. In
 * production it is tkms_rng_system(), backed by getrandom(2). Tests make it
 * deterministic with tkms_rng_seeded_init, so a failing case can be replayed
 * from its seed.
 */
#ifndef TKMS_RNG_H
#define TKMS_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "tkms/status.h"

typedef struct tkms_rng {
    /* Fills buf with len random bytes; returns TKMS_OK or TKMS_ERR_RNG. */
    tkms_status (*fill)(struct tkms_rng *self, uint8_t *buf, size_t len);
} tkms_rng;

/* The operating system's CSPRNG (getrandom). Thread-safe; never NULL. */
tkms_rng *tkms_rng_system(void);

/*
 * A deterministic generator for tests only: the stream is
 * SHA-256(seed || counter) blocks. NOT for secrets in production.
 */
typedef struct {
    tkms_rng base;
    uint8_t seed[32];
    uint64_t counter;
    uint8_t block[32];
    size_t used;
} tkms_rng_seeded;

/* Initializes `rng` from `seed`; use &rng->base wherever a tkms_rng * goes. */
void tkms_rng_seeded_init(tkms_rng_seeded *rng, const uint8_t seed[32]);

/* Convenience: fills buf from rng. */
static inline tkms_status tkms_rng_fill(tkms_rng *rng, uint8_t *buf, size_t len)
{
    return rng->fill(rng, buf, len);
}

#endif /* TKMS_RNG_H */
