/*
 * password.c — EIP-2335 password processing (tkms_password_normalize in
 * tkms/keystore.h): check UTF-8, NFKD-normalize with libunistring, then
 * drop the C0 controls, DEL and the C1 controls.
 *
 * The normalized text is as secret as the password, so every buffer that
 * holds it is ours and is wiped before it is freed: libunistring writes its
 * result into a buffer we hand it (sized for the worst-case expansion), and
 * should it ever need more it returns a fresh allocation that we wipe too.
 * (libunistring's small internal scratch space for reordering combining
 * marks is outside our reach.)
 */
#include <stdlib.h>
#include <string.h>

#include <uninorm.h>
#include <unistr.h>

#include "tkms/keystore.h"
#include "tkms/secmem.h"

/* NFKD can turn one character into many: U+FDFA (3 UTF-8 bytes) becomes 18
 * characters (33 bytes). 18 bytes of room per input byte covers every
 * known expansion; libunistring allocates more itself if ever needed. */
#define NFKD_MAX_EXPANSION 18u

/* The code points EIP-2335 removes after normalization. */
static int is_control_code(ucs4_t c)
{
    return c <= 0x1f || (c >= 0x7f && c <= 0x9f);
}

/* Removes control codes from the valid UTF-8 text s[0..len) in place and
 * returns the new length. */
static size_t strip_control_codes(uint8_t *s, size_t len)
{
    size_t in = 0, out = 0;
    while (in < len) {
        ucs4_t c;
        int n = u8_mbtouc(&c, s + in, len - in);
        if (!is_control_code(c)) {
            memmove(s + out, s + in, (size_t)n);
            out += (size_t)n;
        }
        in += (size_t)n;
    }
    tkms_wipe(s + out, len - out);
    return out;
}

tkms_status tkms_password_normalize(uint8_t **out, size_t *out_len,
                                    const char *password, tkms_err *err)
{
    *out = NULL;
    *out_len = 0;
    size_t len = strnlen(password, TKMS_PASSWORD_MAX_SIZE + 1);
    if (len > TKMS_PASSWORD_MAX_SIZE)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "password: longer than %u bytes", TKMS_PASSWORD_MAX_SIZE);
    const uint8_t *text = (const uint8_t *)password;
    if (u8_check(text, len) != NULL)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "password: not valid UTF-8");

    size_t room = len * NFKD_MAX_EXPANSION + 1;
    uint8_t *buf = malloc(room);
    if (buf == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "password: out of memory");
    size_t nlen = room;
    uint8_t *normalized = buf;
    if (len > 0) {
        normalized = u8_normalize(UNINORM_NFKD, text, len, buf, &nlen);
        if (normalized == NULL) {
            tkms_wipe(buf, room);
            free(buf);
            return tkms_fail(err, TKMS_ERR_NO_MEMORY,
                             "password: normalization failed (out of memory)");
        }
    } else {
        nlen = 0;
    }
    nlen = strip_control_codes(normalized, nlen);

    /* Hand back an exactly sized copy (at least one byte, so *out is never
     * NULL on success) and wipe the work buffers. */
    uint8_t *result = malloc(nlen > 0 ? nlen : 1);
    if (result != NULL)
        memcpy(result, normalized, nlen);
    if (normalized != buf) {
        tkms_wipe(normalized, nlen);
        free(normalized);
    }
    tkms_wipe(buf, room);
    free(buf);
    if (result == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "password: out of memory");
    *out = result;
    *out_len = nlen;
    return TKMS_OK;
}
