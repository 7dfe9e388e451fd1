/*
 * hex.c — the `0x` hex codec of tkms/hex.h.
 *
 * Digits are converted with arithmetic instead of table lookups or
 * branches on their value, so decoding secret material (keystore fields,
 * --ikm) does not leak it through timing. Only the length and validity of
 * the whole string influence control flow.
 */
#include <string.h>

#include "tkms/hex.h"
#include "tkms/secmem.h"

/* Returns the digit value 0..15, or a value with bit 8 set if c is not a
 * hex digit; branch-free in c. A difference that goes negative wraps and
 * sets bit 8, which is how each range test is read. */
static unsigned hex_digit_value(unsigned char c)
{
    unsigned num = (unsigned)c ^ 0x30u;                       /* '0'..'9' -> 0..9 */
    unsigned num_ok = ((num - 10u) >> 8) & 1u;                 /* num < 10         */
    unsigned alpha = (((unsigned)c & ~0x20u) - 55u) & 0xffu;   /* 'a'/'A' -> 10    */
    unsigned alpha_ok = (((alpha - 10u) ^ (alpha - 16u)) >> 8) & 1u; /* 10 <= alpha < 16 */
    unsigned value = (num & (0u - num_ok)) | (alpha & (0u - alpha_ok));
    unsigned bad = (num_ok | alpha_ok) ^ 1u;
    return (value & 0x0fu) | (bad << 8);
}

static const char *skip_prefix(const char *hex)
{
    if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
        return hex + 2;
    return hex;
}

static tkms_status decode_digits(uint8_t *out, const char *digits, size_t nbytes,
                                 tkms_err *err)
{
    unsigned bad = 0;
    for (size_t i = 0; i < nbytes; i++) {
        unsigned hi = hex_digit_value((unsigned char)digits[2 * i]);
        unsigned lo = hex_digit_value((unsigned char)digits[2 * i + 1]);
        bad |= (hi | lo) >> 8;
        out[i] = (uint8_t)((hi << 4) | (lo & 0x0fu));
    }
    if (bad) {
        tkms_wipe(out, nbytes);
        return tkms_fail(err, TKMS_ERR_BAD_ENCODING, "not a hex string");
    }
    return TKMS_OK;
}

tkms_status tkms_hex_decode(uint8_t *out, size_t out_len, const char *hex,
                            tkms_err *err)
{
    if (hex == NULL)
        return tkms_fail(err, TKMS_ERR_BAD_ENCODING, "missing hex string");
    const char *digits = skip_prefix(hex);
    size_t ndigits = strlen(digits);
    if (ndigits % 2 != 0) {
        tkms_wipe(out, out_len);
        return tkms_fail(err, TKMS_ERR_BAD_ENCODING,
                         "hex string has an odd number of digits");
    }
    if (ndigits / 2 != out_len) {
        tkms_wipe(out, out_len);
        return tkms_fail(err, TKMS_ERR_BAD_ENCODING,
                         "hex string holds %zu bytes, expected %zu",
                         ndigits / 2, out_len);
    }
    return decode_digits(out, digits, out_len, err);
}

tkms_status tkms_hex_decode_var(uint8_t *out, size_t max_len, size_t *out_len,
                                const char *hex, tkms_err *err)
{
    *out_len = 0;
    if (hex == NULL)
        return tkms_fail(err, TKMS_ERR_BAD_ENCODING, "missing hex string");
    const char *digits = skip_prefix(hex);
    size_t ndigits = strlen(digits);
    if (ndigits % 2 != 0)
        return tkms_fail(err, TKMS_ERR_BAD_ENCODING,
                         "hex string has an odd number of digits");
    if (ndigits / 2 > max_len)
        return tkms_fail(err, TKMS_ERR_BAD_ENCODING,
                         "hex string holds %zu bytes, at most %zu allowed",
                         ndigits / 2, max_len);
    tkms_status st = decode_digits(out, digits, ndigits / 2, err);
    if (st == TKMS_OK)
        *out_len = ndigits / 2;
    return st;
}

void tkms_hex_encode(char *out, const uint8_t *in, size_t len)
{
    out[0] = '0';
    out[1] = 'x';
    for (size_t i = 0; i < len; i++) {
        unsigned hi = in[i] >> 4, lo = in[i] & 0x0fu;
        /* 0..9 -> '0'..'9', 10..15 -> 'a'..'f' without a branch */
        out[2 + 2 * i] = (char)(hi + 0x30u + (((9u - hi) >> 8) & 0x27u));
        out[3 + 2 * i] = (char)(lo + 0x30u + (((9u - lo) >> 8) & 0x27u));
    }
    out[2 + 2 * len] = '\0';
}
