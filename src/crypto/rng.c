/*
 * rng.c — the system RNG (getrandom), the seeded test RNG and the keyed
 * derived stream (HMAC-SHA256 blocks, libsodium) of tkms/rng.h.
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <blst.h>
#include <sodium.h>

#include "tkms/rng.h"
#include "tkms/secmem.h"

static tkms_status system_fill(tkms_rng *self, uint8_t *buf, size_t len)
{
    (void)self;
    while (len > 0) {
        ssize_t n = getrandom(buf, len, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return TKMS_ERR_RNG;
        }
        buf += n;
        len -= (size_t)n;
    }
    return TKMS_OK;
}

static tkms_rng system_rng = {system_fill};

tkms_rng *tkms_rng_system(void)
{
    return &system_rng;
}

static tkms_status seeded_fill(tkms_rng *self, uint8_t *buf, size_t len)
{
    tkms_rng_seeded *rng = (tkms_rng_seeded *)self;
    while (len > 0) {
        if (rng->used == sizeof rng->block) {
            uint8_t input[40];
            memcpy(input, rng->seed, 32);
            for (int i = 0; i < 8; i++)
                input[32 + i] = (uint8_t)(rng->counter >> (8 * i));
            rng->counter++;
            blst_sha256(rng->block, input, sizeof input);
            rng->used = 0;
        }
        size_t take = sizeof rng->block - rng->used;
        if (take > len) take = len;
        memcpy(buf, rng->block + rng->used, take);
        rng->used += take;
        buf += take;
        len -= take;
    }
    return TKMS_OK;
}

void tkms_rng_seeded_init(tkms_rng_seeded *rng, const uint8_t seed[32])
{
    rng->base.fill = seeded_fill;
    memcpy(rng->seed, seed, 32);
    rng->counter = 0;
    rng->used = sizeof rng->block;
}

/* Block `counter` of the keyed stream: HMAC-SHA256(key, label || counter). */
static tkms_status derived_fill(tkms_rng *self, uint8_t *buf, size_t len)
{
    static const char label[] = "tkms-rng-derived-v1";
    tkms_rng_seeded *rng = (tkms_rng_seeded *)self;
    while (len > 0) {
        if (rng->used == sizeof rng->block) {
            if (sodium_init() < 0)
                return TKMS_ERR_RNG;
            uint8_t input[sizeof label - 1 + 8];
            memcpy(input, label, sizeof label - 1);
            for (int i = 0; i < 8; i++)
                input[sizeof label - 1 + i] = (uint8_t)(rng->counter >> (8 * i));
            rng->counter++;
            crypto_auth_hmacsha256(rng->block, input, sizeof input, rng->seed);
            rng->used = 0;
        }
        size_t take = sizeof rng->block - rng->used;
        if (take > len) take = len;
        memcpy(buf, rng->block + rng->used, take);
        tkms_wipe(rng->block + rng->used, take);   /* drawn bytes are not kept */
        rng->used += take;
        buf += take;
        len -= take;
    }
    return TKMS_OK;
}

_Static_assert(crypto_auth_hmacsha256_KEYBYTES == 32 && crypto_auth_hmacsha256_BYTES == 32,
               "HMAC-SHA256 key and block sizes");

void tkms_rng_derived_init(tkms_rng_seeded *rng, const uint8_t key[32])
{
    rng->base.fill = derived_fill;
    memcpy(rng->seed, key, 32);
    rng->counter = 0;
    rng->used = sizeof rng->block;
}
