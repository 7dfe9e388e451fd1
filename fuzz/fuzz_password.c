/*
 * fuzz_password.c — libFuzzer target for EIP-2335 password processing
 * (tkms_password_normalize). The input, cut at its first NUL, is a
 * password. It must be accepted exactly when it is valid UTF-8 of at most
 * TKMS_PASSWORD_MAX_SIZE bytes, and the result must be valid UTF-8 with no
 * control code left in it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <unistr.h>

#include "tkms/keystore.h"
#include "tkms/secmem.h"

static int has_control_code(const uint8_t *s, size_t len)
{
    while (len > 0) {
        ucs4_t c;
        int n = u8_mbtouc(&c, s, len);
        if (c <= 0x1f || (c >= 0x7f && c <= 0x9f))
            return 1;
        s += n;
        len -= (size_t)n;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *password = malloc(size + 1);
    if (password == NULL)
        return 0;
    memcpy(password, data, size);
    password[size] = '\0';
    size_t len = strlen(password);
    int acceptable = len <= TKMS_PASSWORD_MAX_SIZE &&
                     u8_check((const uint8_t *)password, len) == NULL;

    uint8_t *out;
    size_t out_len;
    tkms_err err;
    tkms_status st = tkms_password_normalize(&out, &out_len, password, &err);
    if (acceptable != (st == TKMS_OK))
        abort();
    if (st == TKMS_OK) {
        if (out == NULL || u8_check(out, out_len) != NULL ||
            has_control_code(out, out_len))
            abort();
        tkms_wipe(out, out_len);
        free(out);
    } else if (st != TKMS_ERR_BAD_FORMAT || out != NULL) {
        abort();
    }
    free(password);
    return 0;
}
