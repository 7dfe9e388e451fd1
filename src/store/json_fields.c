/*
 * json_fields.c — bounded typed getters over jansson objects for the
 * store-layer file formats (see json_fields.h).
 */
#include <stdio.h>
#include <string.h>

#include "json_fields.h"
#include "tkms/hex.h"

tkms_status json_parse_object(json_t **out, const char *text, size_t len,
                              const char *what, tkms_err *err)
{
    json_error_t jerr;
    *out = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (*out == NULL)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: invalid JSON at line %d: %s",
                         what, jerr.line, jerr.text);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: expected a JSON object", what);
    }
    return TKMS_OK;
}

tkms_status json_get_u32(const json_t *obj, const char *key, uint32_t min,
                         uint32_t max, uint32_t *out, const char *what,
                         tkms_err *err)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: missing field '%s'", what, key);
    if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)min ||
        json_integer_value(v) > (json_int_t)max)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: '%s' must be an integer in %u..%u",
                         what, key, min, max);
    *out = (uint32_t)json_integer_value(v);
    return TKMS_OK;
}

tkms_status json_get_string(const json_t *obj, const char *key,
                            const char **out, const char *what, tkms_err *err)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: missing field '%s'", what, key);
    if (!json_is_string(v))
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: '%s' must be a string", what, key);
    *out = json_string_value(v);
    return TKMS_OK;
}

tkms_status json_get_hex(const json_t *obj, const char *key, uint8_t *out,
                         size_t len, const char *what, tkms_err *err)
{
    const char *text;
    tkms_status st = json_get_string(obj, key, &text, what, err);
    if (st != TKMS_OK)
        return st;
    tkms_err hex_err;
    if (tkms_hex_decode(out, len, text, &hex_err) != TKMS_OK)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: '%s': %s", what, key,
                         hex_err.message);
    return TKMS_OK;
}

static tkms_status decode_public_key_text(tkms_public_key *out, const char *text,
                                          const char *field, const char *what,
                                          tkms_err *err)
{
    uint8_t bytes[TKMS_PUBLIC_KEY_SIZE];
    tkms_err hex_err;
    if (tkms_hex_decode(bytes, sizeof bytes, text, &hex_err) != TKMS_OK)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: %s: %s", what, field,
                         hex_err.message);
    tkms_status st = tkms_public_key_from_bytes(out, bytes);
    if (st != TKMS_OK)
        return tkms_fail(err, st, "%s: %s is not a valid public key: %s", what,
                         field, tkms_status_string(st));
    return TKMS_OK;
}

tkms_status json_get_public_key(const json_t *obj, const char *key,
                                tkms_public_key *out, const char *what,
                                tkms_err *err)
{
    const char *text;
    tkms_status st = json_get_string(obj, key, &text, what, err);
    if (st != TKMS_OK)
        return st;
    return decode_public_key_text(out, text, key, what, err);
}

tkms_status json_get_public_keys(const json_t *obj, const char *key,
                                 tkms_public_key *out, size_t count,
                                 const char *what, tkms_err *err)
{
    const json_t *arr = json_object_get(obj, key);
    if (arr == NULL)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: missing field '%s'", what, key);
    if (!json_is_array(arr) || json_array_size(arr) != count)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: '%s' must be an array of %zu keys",
                         what, key, count);
    for (size_t i = 0; i < count; i++) {
        const json_t *v = json_array_get(arr, i);
        char field[96];
        snprintf(field, sizeof field, "%s[%zu]", key, i);
        if (!json_is_string(v))
            return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: %s must be a string", what, field);
        tkms_status st = decode_public_key_text(&out[i], json_string_value(v), field, what, err);
        if (st != TKMS_OK)
            return st;
    }
    return TKMS_OK;
}

json_t *json_public_key(const tkms_public_key *pk)
{
    uint8_t bytes[TKMS_PUBLIC_KEY_SIZE];
    char hex[TKMS_HEX_SIZE(TKMS_PUBLIC_KEY_SIZE)];
    tkms_public_key_to_bytes(bytes, pk);
    tkms_hex_encode(hex, bytes, sizeof bytes);
    return json_string(hex);
}

json_t *json_public_keys(const tkms_public_key *pks, size_t count)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < count; i++) {
        if (json_array_append_new(arr, json_public_key(&pks[i])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr;
}
