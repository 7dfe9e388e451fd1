/*
 * tkms/rng.h — the one randomness interface of libtkms.
 *
 * Everything that needs randomness (polynomial coefficients, batch
 * verification weights, keystore salts and IVs) takes a `tkms_rng *`. In
 * production it is tkms_rng_system(), backed by getrandom(2). Tests make it
 * deterministic with tkms_rng_seeded_init, so a failing case can be replayed
 * from its seed. tkms_rng_derived_init makes a keyed deterministic stream
 * for production use (see there).
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
 * SHA-256(seed || counter) blocks. NOT for secrets in production. The same
 * state type holds the keyed stream of tkms_rng_derived_init.
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

/*
 * A keyed deterministic stream, for production: whoever holds the secret
 * `key` can draw the same bytes again, nobody else can predict them. Used
 * where a party must re-derive the same secret values on every run (the
 * file ceremony re-creates its polynomials at each step from a key derived
 * from its identity seed and the ceremony). Block i (i = 0, 1, …) of the
 * stream is HMAC-SHA256(key, "tkms-rng-derived-v1" || i as 8 bytes
 * little-endian), so it is independent of the test RNG's stream even for
 * the same 32 bytes. `key` must be secret, uniformly random (e.g. an HMAC
 * output) and used for one purpose only. The state holds the key: wipe it
 * with tkms_wipe(rng, sizeof *rng) when done.
 */
void tkms_rng_derived_init(tkms_rng_seeded *rng, const uint8_t key[32]);

/* Convenience: fills buf from rng. */
static inline tkms_status tkms_rng_fill(tkms_rng *rng, uint8_t *buf, size_t len)
{
    return rng->fill(rng, buf, len);
}

#endif /* TKMS_RNG_H */
