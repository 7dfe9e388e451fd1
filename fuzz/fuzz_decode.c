/*
 * fuzz_decode.c — libFuzzer target for the decoders that take outside
 * input: the hex codec (tkms/hex.h) and the G1/G2 point decoders
 * (tkms/bls.h).
 *
 * The input is used as a NUL-terminated string for tkms_hex_decode and
 * tkms_hex_decode_var, and as raw bytes for the public-key (first 48 bytes)
 * and signature (first 96 bytes) decoders; the bytes a hex string decodes to
 * go to the point decoders as well. Besides "no crash, no sanitizer report"
 * it asserts the invariants the rest of tkms relies on:
 *   - hex: a string decodes iff it is an even number of hex digits (checked
 *     with isxdigit) after an optional 0x/0X; the fixed- and variable-length
 *     decoders agree; what decodes re-encodes to the same digits (modulo case
 *     and prefix) in lower case; a failure leaves its status in err and
 *     zeroes the fixed-size output;
 *   - G1: a decoded public key is not the identity, equals what
 *     tkms_g1_decode gives, and re-encodes to the same 48 bytes;
 *   - G2: checked decode succeeds iff tkms_g2_decode does, and implies the
 *     unchecked decode succeeds with the same point; a checked point
 *     re-encodes to the same 96 bytes; an unchecked one is on the curve.
 * Seeds: fuzz/seeds/decode/.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_common.h"
#include "tkms/bls.h"
#include "tkms/hex.h"

#define HEX_MAX 128 /* bytes; longer strings exercise the "too long" path */

static bool all_zero(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != 0)
            return false;
    return true;
}

/* Runs the hex decoders on `data` as a string; returns the number of bytes
 * it decodes to (in `var`), or 0. */
static size_t fuzz_hex(const uint8_t *data, size_t size, uint8_t var[HEX_MAX])
{
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    const char *digits = text;
    if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X'))
        digits += 2;

    /* the oracle: an even number of hex digits, after an optional prefix,
     * that fits */
    size_t ndigits = strlen(digits);
    bool well_formed = ndigits % 2 == 0 && ndigits / 2 <= HEX_MAX;
    for (size_t i = 0; well_formed && i < ndigits; i++)
        well_formed = isxdigit((unsigned char)digits[i]) != 0;

    uint8_t fixed[HEX_MAX];
    size_t n = (size_t)-1;
    tkms_err err;
    tkms_err_clear(&err);
    tkms_status st = tkms_hex_decode_var(var, HEX_MAX, &n, text, &err);
    INVARIANT((st == TKMS_OK) == well_formed);
    if (st == TKMS_OK) {
        INVARIANT(n <= HEX_MAX && 2 * n == ndigits);
        char again[TKMS_HEX_SIZE(HEX_MAX)];
        tkms_hex_encode(again, var, n);
        INVARIANT(again[0] == '0' && again[1] == 'x');
        INVARIANT(strlen(again) == 2 + 2 * n);
        INVARIANT(strncasecmp(again + 2, digits, 2 * n) == 0);
        for (size_t i = 2; again[i] != '\0'; i++) /* output is lower-case */
            INVARIANT((again[i] >= '0' && again[i] <= '9') || (again[i] >= 'a' && again[i] <= 'f'));
        INVARIANT(tkms_hex_decode(fixed, n, text, NULL) == TKMS_OK);
        INVARIANT(memcmp(fixed, var, n) == 0);
    } else {
        INVARIANT(st == TKMS_ERR_BAD_ENCODING && n == 0);
        INVARIANT(err.status == st && memchr(err.message, '\0', sizeof err.message) != NULL);
    }

    /* the fixed-length decoder at the sizes tkms uses */
    static const size_t sizes[] = {TKMS_SECRET_KEY_SIZE, TKMS_PUBLIC_KEY_SIZE, TKMS_SIGNATURE_SIZE};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        memset(fixed, 0xa5, sizeof fixed);
        tkms_status fst = tkms_hex_decode(fixed, sizes[i], text, NULL);
        INVARIANT(fst == TKMS_OK || fst == TKMS_ERR_BAD_ENCODING);
        INVARIANT((fst == TKMS_OK) == (st == TKMS_OK && n == sizes[i]));
        if (fst == TKMS_OK)
            INVARIANT(memcmp(fixed, var, sizes[i]) == 0);
        else
            INVARIANT(all_zero(fixed, sizes[i]));
    }
    free(text);
    return st == TKMS_OK ? n : 0;
}

static void fuzz_g1(const uint8_t in[TKMS_PUBLIC_KEY_SIZE])
{
    tkms_public_key pk;
    blst_p1_affine raw;
    tkms_status st = tkms_public_key_from_bytes(&pk, in);
    tkms_status rst = tkms_g1_decode(&raw, in);
    if (st == TKMS_OK) {
        uint8_t again[TKMS_PUBLIC_KEY_SIZE];
        INVARIANT(!blst_p1_affine_is_inf(&pk.point));
        INVARIANT(blst_p1_affine_in_g1(&pk.point));
        INVARIANT(rst == TKMS_OK && blst_p1_affine_is_equal(&raw, &pk.point));
        tkms_public_key_to_bytes(again, &pk);
        INVARIANT(memcmp(again, in, sizeof again) == 0);
    } else if (st == TKMS_ERR_INFINITY) {
        INVARIANT(rst == TKMS_OK && blst_p1_affine_is_inf(&raw));
    } else {
        INVARIANT(st == TKMS_ERR_BAD_ENCODING || st == TKMS_ERR_NOT_ON_CURVE ||
                  st == TKMS_ERR_NOT_IN_GROUP);
        INVARIANT(rst == st);
    }
}

static void fuzz_g2(const uint8_t in[TKMS_SIGNATURE_SIZE])
{
    tkms_signature checked, unchecked;
    blst_p2_affine raw;
    tkms_status st = tkms_signature_from_bytes(&checked, in);
    tkms_status ust = tkms_signature_from_bytes_unchecked(&unchecked, in);
    tkms_status rst = tkms_g2_decode(&raw, in);
    INVARIANT(st == rst);
    if (st == TKMS_OK) {
        uint8_t again[TKMS_SIGNATURE_SIZE];
        INVARIANT(blst_p2_affine_in_g2(&checked.point));
        INVARIANT(blst_p2_affine_is_equal(&raw, &checked.point));
        INVARIANT(ust == TKMS_OK && tkms_signature_equal(&checked, &unchecked));
        tkms_signature_to_bytes(again, &checked);
        INVARIANT(memcmp(again, in, sizeof again) == 0);
    } else {
        INVARIANT(st == TKMS_ERR_BAD_ENCODING || st == TKMS_ERR_NOT_ON_CURVE ||
                  st == TKMS_ERR_NOT_IN_GROUP);
        /* only the subgroup check may separate the two decoders */
        INVARIANT(st == TKMS_ERR_NOT_IN_GROUP ? ust == TKMS_OK : ust == st);
    }
    if (ust == TKMS_OK)
        INVARIANT(blst_p2_affine_on_curve(&unchecked.point));
}

/* The point decoders on raw bytes, when there are enough of them. */
static void fuzz_points(const uint8_t *bytes, size_t len)
{
    if (len >= TKMS_PUBLIC_KEY_SIZE)
        fuzz_g1(bytes);
    if (len >= TKMS_SIGNATURE_SIZE)
        fuzz_g2(bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t decoded[HEX_MAX];
    size_t n = fuzz_hex(data, size, decoded);
    fuzz_points(data, size);
    /* hex text that decodes to a point's worth of bytes feeds the point
     * decoders too, so a hex seed of a valid point reaches the success paths */
    fuzz_points(decoded, n);
    return 0;
}
