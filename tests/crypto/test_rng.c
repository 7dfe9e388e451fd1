/*
 * test_rng.c — the keyed derived stream of tkms/rng.h: reproducible from
 * its key, different for another key, independent of the test RNG's
 * stream for the same 32 bytes, the same however the bytes are drawn, and
 * block i equal to HMAC-SHA256(key, "tkms-rng-derived-v1" || i LE64)
 * computed independently with OpenSSL.
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "test.h"
#include "tkms/rng.h"

static void draw(tkms_rng_seeded *rng, uint8_t *out, size_t len, size_t chunk)
{
    for (size_t at = 0; at < len; at += chunk)
        tkms_rng_fill(&rng->base, out + at, len - at < chunk ? len - at : chunk);
}

int main(void)
{
    uint8_t key[32], other[32];
    for (int i = 0; i < 32; i++) {
        key[i] = (uint8_t)i;
        other[i] = (uint8_t)(i + 1);
    }
    uint8_t a[200], b[200], c[200], d[200];
    tkms_rng_seeded r;
    tkms_rng_derived_init(&r, key);
    draw(&r, a, sizeof a, sizeof a);
    tkms_rng_derived_init(&r, key);
    draw(&r, b, sizeof b, 7);
    CHECK(memcmp(a, b, sizeof a) == 0, "the same key gives the same stream, in any chunks");
    tkms_rng_derived_init(&r, other);
    draw(&r, c, sizeof c, sizeof c);
    CHECK(memcmp(a, c, sizeof a) != 0, "another key, another stream");
    tkms_rng_seeded_init(&r, key);
    draw(&r, d, sizeof d, sizeof d);
    CHECK(memcmp(a, d, sizeof a) != 0, "not the test RNG's stream for the same bytes");

    static const char label[] = "tkms-rng-derived-v1";
    for (uint64_t block = 0; block < 6; block++) {
        uint8_t input[sizeof label - 1 + 8], mac[32];
        unsigned int len = 0;
        memcpy(input, label, sizeof label - 1);
        for (int i = 0; i < 8; i++)
            input[sizeof label - 1 + i] = (uint8_t)(block >> (8 * i));
        HMAC(EVP_sha256(), key, sizeof key, input, sizeof input, mac, &len);
        size_t at = (size_t)block * 32, n = at + 32 <= sizeof a ? 32 : sizeof a - at;
        CHECK(len == 32 && memcmp(a + at, mac, n) == 0,
              "block %llu is HMAC-SHA256(key, label || %llu)", (unsigned long long)block,
              (unsigned long long)block);
    }
    return test_report();
}
