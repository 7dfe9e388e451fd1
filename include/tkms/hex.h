/*
 * tkms/hex.h — the hex codec used at every external boundary.
 *
 * Output is lower-case and `0x`-prefixed, as in the Ethereum APIs. Input may
 * carry the `0x`/`0X` prefix or not and may use either case; anything else
 * (odd length, a non-hex character, a length other than the one expected)
 * is rejected. Decoding runs in time independent of the digit values, so it
 * may be used on secrets.
 */
#ifndef TKMS_HEX_H
#define TKMS_HEX_H

#include <stddef.h>
#include <stdint.h>

#include "tkms/status.h"

/*
 * Decodes exactly `out_len` bytes from the NUL-terminated string `hex`.
 * Returns TKMS_OK, or TKMS_ERR_BAD_ENCODING (with a reason in err) when the
 * text is not hex or does not hold exactly out_len bytes. On failure `out`
 * is zeroed.
 */
tkms_status tkms_hex_decode(uint8_t *out, size_t out_len, const char *hex,
                            tkms_err *err);

/*
 * Decodes a hex string of any even length up to `max_len` bytes into `out`
 * and stores the byte count in *out_len. Same rules as tkms_hex_decode.
 */
tkms_status tkms_hex_decode_var(uint8_t *out, size_t max_len, size_t *out_len,
                                const char *hex, tkms_err *err);

/* Size of the buffer tkms_hex_encode needs for `len` bytes: "0x", 2 digits
 * per byte and the terminating NUL. */
#define TKMS_HEX_SIZE(len) (2 + 2 * (size_t)(len) + 1)

/* Writes "0x" and 2*len lower-case digits and a NUL into `out`, which must
 * hold TKMS_HEX_SIZE(len) bytes. Constant time in the byte values. */
void tkms_hex_encode(char *out, const uint8_t *in, size_t len);

#endif /* TKMS_HEX_H */
