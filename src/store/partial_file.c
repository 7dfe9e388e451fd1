/*
 * partial_file.c — parsing and formatting the partial signatures given to
 * `tkms combine` (formats in tkms/partial_file.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_fields.h"
#include "tkms/hex.h"
#include "tkms/partial_file.h"
#include "tkms/shamir.h"

#define WHAT "partial signature"

/* One `i:0xSIG` token of `len` bytes. */
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
                             WHAT ": index before ':' is not a decimal number");
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

/* White-space separated `i:0xSIG` tokens. */
static tkms_status parse_compact_list(tkms_partial *out, size_t capacity, size_t *count,
                                      const char *text, size_t len, tkms_err *err)
{
    size_t pos = 0;
    while (pos < len) {
        while (pos < len && isspace((unsigned char)text[pos]))
            pos++;
        size_t end = pos;
        while (end < len && !isspace((unsigned char)text[end]))
            end++;
        if (end == pos)
            break;
        if (*count == capacity)
            return tkms_fail(err, TKMS_ERR_BAD_FORMAT, WHAT ": more than %zu partials",
                             capacity);
        tkms_status st = parse_compact(&out[*count], text + pos, end - pos, err);
        if (st != TKMS_OK)
            return st;
        (*count)++;
        pos = end;
    }
    return TKMS_OK;
}

/* {"index": i, "signature": "0x…"}; `where` names it in messages. */
static tkms_status parse_json_partial(tkms_partial *out, const json_t *obj,
                                      const char *where, tkms_err *err)
{
    char index_path[64], sig_path[64];
    snprintf(index_path, sizeof index_path, "%sindex", where);
    snprintf(sig_path, sizeof sig_path, "%ssignature", where);
    if (!json_is_object(obj))
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, WHAT ": %s must be an object", where);
    tkms_status st = json_get_u32(&out->index, obj, index_path, 1, TKMS_MAX_SHARES, WHAT, err);
    if (st == TKMS_OK)
        st = json_get_hex(out->signature, TKMS_SIGNATURE_SIZE, obj, sig_path, WHAT, err);
    return st;
}

static tkms_status parse_owner_response(tkms_partial *out, size_t capacity, size_t *count,
                                        char owner[TKMS_OWNER_ID_MAX_SIZE + 1],
                                        const json_t *root, tkms_err *err)
{
    const char *id;
    json_t *list;
    tkms_status st = json_get_string(&id, root, "owner", true, WHAT, err);
    if (st != TKMS_OK)
        return st;
    if (!tkms_owner_id_valid(id))
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, WHAT ": owner is not a valid owner id");
    if ((st = json_field(&list, root, "partials", JSON_ARRAY, true, WHAT, err)) != TKMS_OK)
        return st;
    size_t n = json_array_size(list);
    if (n == 0 || n > capacity)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, WHAT ": partials must hold 1..%zu entries",
                         capacity);
    for (size_t i = 0; i < n; i++) {
        char where[48];
        snprintf(where, sizeof where, "partials[%zu].", i);
        if ((st = parse_json_partial(&out[i], json_array_get(list, i), where, err)) != TKMS_OK)
            return st;
    }
    strcpy(owner, id);
    *count = n;
    return TKMS_OK;
}

static tkms_status parse_json(tkms_partial *out, size_t capacity, size_t *count,
                              char owner[TKMS_OWNER_ID_MAX_SIZE + 1], const char *text,
                              size_t len, tkms_err *err)
{
    json_t *root;
    tkms_status st = json_parse_object(&root, text, len, WHAT, err);
    if (st != TKMS_OK)
        return st;
    if (json_object_get(root, "owner") != NULL) {
        st = parse_owner_response(out, capacity, count, owner, root, err);
    } else {
        st = parse_json_partial(out, root, "", err);
        if (st == TKMS_OK)
            *count = 1;
    }
    json_decref(root);
    return st;
}

tkms_status tkms_partials_parse(tkms_partial *out, size_t capacity,
                                size_t *count,
                                char owner[TKMS_OWNER_ID_MAX_SIZE + 1],
                                const char *text, size_t len, tkms_err *err)
{
    *count = 0;
    owner[0] = '\0';
    if (len > TKMS_PARTIAL_FILE_MAX_SIZE)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, WHAT ": more than %u bytes",
                         TKMS_PARTIAL_FILE_MAX_SIZE);
    while (len > 0 && isspace((unsigned char)text[0])) {
        text++;
        len--;
    }
    if (len == 0)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, WHAT ": empty");
    if (capacity == 0)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, WHAT ": too many partials");
    if (memchr(text, '\0', len) != NULL)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, WHAT ": contains a NUL byte");
    tkms_status st = text[0] == '{'
                         ? parse_json(out, capacity, count, owner, text, len, err)
                         : parse_compact_list(out, capacity, count, text, len, err);
    for (size_t i = 0; st == TKMS_OK && i < *count; i++)
        for (size_t j = 0; j < i; j++)
            if (out[i].index == out[j].index) {
                st = tkms_fail(err, TKMS_ERR_BAD_FORMAT, WHAT ": index %u appears twice",
                               out[i].index);
                break;
            }
    if (st != TKMS_OK) {
        *count = 0;
        owner[0] = '\0';
    }
    return st;
}

static json_t *partial_json(const tkms_partial *partial)
{
    char hex[TKMS_HEX_SIZE(TKMS_SIGNATURE_SIZE)];
    tkms_hex_encode(hex, partial->signature, TKMS_SIGNATURE_SIZE);
    return json_pack("{s:I, s:s}", "index", (json_int_t)partial->index, "signature", hex);
}

static char *dump(json_t *root)
{
    if (root == NULL)
        return NULL;
    char *text = json_dumps(root, JSON_PRESERVE_ORDER);
    json_decref(root);
    return text;
}

char *tkms_partial_format_json(const tkms_partial *partial)
{
    return dump(partial_json(partial));
}

char *tkms_owner_response_format_json(const char *owner,
                                      const tkms_partial *partials, size_t count)
{
    json_t *list = json_array();
    for (size_t i = 0; list != NULL && i < count; i++)
        if (json_array_append_new(list, partial_json(&partials[i])) != 0) {
            json_decref(list);
            list = NULL;
        }
    if (list == NULL)
        return NULL;
    return dump(json_pack("{s:s, s:o}", "owner", owner, "partials", list));
}
