/*
 * partial_file.c — parsing partial signatures given to `tkms combine`
 * (format in tkms/partial_file.h): `i:0xSIG` or {"index": i, "signature":
 * "0x…"}.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "json_fields.h"
#include "tkms/hex.h"
#include "tkms/partial_file.h"
#include "tkms/shamir.h"

#define WHAT "partial signature"

static tkms_status parse_compact(tkms_partial *out, const char *text, size_t len,
                                 tkms_err *err)
{
    const char *colon = memchr(text, ':', len);
    size_t digits = colon != NULL ? (size_t)(colon - text) : 0;
    if (digits == 0 || digits > 4)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         WHAT ": expected INDEX:0xSIGNATURE with INDEX 1..%u",
                         TKMS_MAX_SHARES);
    uint32_t index = 0;
    for (size_t i = 0; i < digits; i++) {
        if (!isdigit((unsigned char)text[i]))
            return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                             WHAT ": index '%.*s' is not a decimal number", (int)digits, text);
        index = index * 10 + (uint32_t)(text[i] - '0');
    }
    if (index == 0 || index > TKMS_MAX_SHARES)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, WHAT ": index %u is not in 1..%u",
                         index, TKMS_MAX_SHARES);
    size_t hex_len = len - digits - 1;
    char hex[TKMS_HEX_SIZE(TKMS_SIGNATURE_SIZE) + 1];
    if (hex_len >= sizeof hex)
        return tkms_fail(err, TKMS_ERR_BAD_ENCODING,
                         WHAT ": signature for index %u is longer than 96 bytes", index);
    memcpy(hex, colon + 1, hex_len);
    hex[hex_len] = '\0';
    tkms_err hex_err;
    if (tkms_hex_decode(out->signature, TKMS_SIGNATURE_SIZE, hex, &hex_err) != TKMS_OK)
        return tkms_fail(err, TKMS_ERR_BAD_ENCODING, WHAT " %u: %s", index, hex_err.message);
    out->index = index;
    return TKMS_OK;
}

static tkms_status parse_json(tkms_partial *out, const char *text, size_t len,
                              tkms_err *err)
{
    json_t *root;
    tkms_status st = json_parse_object(&root, text, len, WHAT, err);
    if (st != TKMS_OK)
        return st;
    if ((st = json_get_u32(&out->index, root, "index", 1, TKMS_MAX_SHARES, WHAT, err)) == TKMS_OK)
        st = json_get_hex(out->signature, TKMS_SIGNATURE_SIZE, root, "signature", WHAT, err);
    json_decref(root);
    return st;
}

tkms_status tkms_partials_parse(tkms_partial *out, size_t capacity,
                                size_t *count, const char *text, size_t len,
                                tkms_err *err)
{
    *count = 0;
    if (len > TKMS_PARTIAL_FILE_MAX_SIZE)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, WHAT ": more than %u bytes",
                         TKMS_PARTIAL_FILE_MAX_SIZE);
    while (len > 0 && isspace((unsigned char)text[0])) {
        text++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        len--;
    if (len == 0)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, WHAT ": empty");
    if (capacity == 0)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, WHAT ": too many partials");
    if (memchr(text, '\0', len) != NULL)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, WHAT ": contains a NUL byte");
    tkms_status st = text[0] == '{' ? parse_json(out, text, len, err)
                                    : parse_compact(out, text, len, err);
    if (st == TKMS_OK)
        *count = 1;
    return st;
}

char *tkms_partial_format_json(const tkms_partial *partial)
{
    char hex[TKMS_HEX_SIZE(TKMS_SIGNATURE_SIZE)];
    tkms_hex_encode(hex, partial->signature, TKMS_SIGNATURE_SIZE);
    json_t *root = json_pack("{s:i, s:s}", "index", (json_int_t)partial->index,
                             "signature", hex);
    if (root == NULL)
        return NULL;
    char *text = json_dumps(root, JSON_PRESERVE_ORDER);
    json_decref(root);
    return text;
}
