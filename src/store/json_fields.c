/*
 * json_fields.c — the typed field getters of json_fields.h over jansson.
 */
#include <stdio.h>
#include <string.h>

#include "json_fields.h"
#include "tkms/hex.h"

/* Keeps a message one printable line (jansson quotes input near errors). */
static void make_printable(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            *s = '?';
}

/* Parses a whole document and checks that its top level is `type`. */
static tkms_status parse_document(json_t **out, const char *text, size_t len,
                                  json_type type, const char *kind, const char *what,
                                  tkms_err *err)
{
    json_error_t jerr;
    *out = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (*out == NULL) {
        make_printable(jerr.text);
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: not valid JSON: %s (line %d, column %d)",
                         what, jerr.text, jerr.line, jerr.column);
    }
    if (json_typeof(*out) != type) {
        json_decref(*out);
        *out = NULL;
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: document must be a JSON %s", what, kind);
    }
    return TKMS_OK;
}

tkms_status json_parse_object(json_t **out, const char *text, size_t len,
                              const char *what, tkms_err *err)
{
    return parse_document(out, text, len, JSON_OBJECT, "object", what, err);
}

tkms_status json_parse_array(json_t **out, const char *text, size_t len,
                             const char *what, tkms_err *err)
{
    return parse_document(out, text, len, JSON_ARRAY, "array", what, err);
}

static const char *type_name(json_type type)
{
    switch (type) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    default: return "a JSON value";
    }
}

tkms_status json_field(json_t **out, const json_t *parent, const char *path,
                       json_type type, bool required, const char *what,
                       tkms_err *err)
{
    const char *dot = strrchr(path, '.');
    json_t *value = json_object_get(parent, dot ? dot + 1 : path);
    *out = value;
    if (value == NULL)
        return required ? tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: %s is missing", what, path)
                        : TKMS_OK;
    if (json_typeof(value) != type)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: %s must be %s", what, path,
                         type_name(type));
    return TKMS_OK;
}

tkms_status json_get_object(json_t **out, const json_t *parent,
                            const char *path, const char *what, tkms_err *err)
{
    return json_field(out, parent, path, JSON_OBJECT, true, what, err);
}

tkms_status json_get_string(const char **out, const json_t *parent,
                            const char *path, bool required, const char *what,
                            tkms_err *err)
{
    json_t *value;
    tkms_status st = json_field(&value, parent, path, JSON_STRING, required, what, err);
    *out = value ? json_string_value(value) : NULL;
    return st;
}

tkms_status json_get_uint(uint64_t *out, const json_t *parent, const char *path,
                          const char *what, tkms_err *err)
{
    json_t *value;
    tkms_status st = json_field(&value, parent, path, JSON_INTEGER, true, what, err);
    if (st != TKMS_OK)
        return st;
    json_int_t v = json_integer_value(value);
    if (v < 0)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: %s must not be negative", what, path);
    *out = (uint64_t)v;
    return TKMS_OK;
}

tkms_status json_get_u32(uint32_t *out, const json_t *parent, const char *path,
                         uint32_t min, uint32_t max, const char *what,
                         tkms_err *err)
{
    uint64_t v = 0;
    tkms_status st = json_get_uint(&v, parent, path, what, err);
    if (st != TKMS_OK)
        return st;
    if (v < min || v > max)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: %s must be in %u..%u", what, path,
                         min, max);
    *out = (uint32_t)v;
    return TKMS_OK;
}

tkms_status json_get_choice(size_t *choice, const json_t *parent,
                            const char *path, const char *const *names,
                            size_t count, const char *what, tkms_err *err)
{
    const char *value;
    tkms_status st = json_get_string(&value, parent, path, true, what, err);
    if (st != TKMS_OK)
        return st;
    char expected[96] = "";
    for (size_t i = 0; i < count; i++) {
        if (strcmp(value, names[i]) == 0) {
            *choice = i;
            return TKMS_OK;
        }
        size_t used = strlen(expected);
        snprintf(expected + used, sizeof expected - used, "%s%s", i ? " or " : "", names[i]);
    }
    return tkms_fail(err, TKMS_ERR_UNSUPPORTED, "%s: %s must be %s", what, path, expected);
}

tkms_status json_decode_hex(uint8_t *out, size_t len, const json_t *value,
                            const char *name, const char *what, tkms_err *err)
{
    if (!json_is_string(value))
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: %s must be a string", what, name);
    tkms_err inner;
    if (tkms_hex_decode(out, len, json_string_value(value), &inner) != TKMS_OK)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: %s: %s", what, name, inner.message);
    return TKMS_OK;
}

tkms_status json_get_hex(uint8_t *out, size_t len, const json_t *parent,
                         const char *path, const char *what, tkms_err *err)
{
    json_t *value;
    tkms_status st = json_field(&value, parent, path, JSON_STRING, true, what, err);
    return st != TKMS_OK ? st : json_decode_hex(out, len, value, path, what, err);
}

tkms_status json_decode_public_key(tkms_public_key *out, const json_t *value,
                                   const char *name, const char *what,
                                   tkms_err *err)
{
    uint8_t bytes[TKMS_PUBLIC_KEY_SIZE];
    tkms_status st = json_decode_hex(bytes, sizeof bytes, value, name, what, err);
    if (st != TKMS_OK)
        return st;
    st = tkms_public_key_from_bytes(out, bytes);
    if (st != TKMS_OK)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: %s is not a valid public key (%s)",
                         what, name, tkms_status_string(st));
    return TKMS_OK;
}

tkms_status json_get_public_key(tkms_public_key *out, bool *present,
                                const json_t *parent, const char *path,
                                bool required, const char *what, tkms_err *err)
{
    json_t *value;
    tkms_status st = json_field(&value, parent, path, JSON_STRING, required, what, err);
    if (present != NULL)
        *present = value != NULL;
    if (st != TKMS_OK || value == NULL)
        return st;
    return json_decode_public_key(out, value, path, what, err);
}

tkms_status json_get_public_keys(tkms_public_key *out, size_t count,
                                 const json_t *parent, const char *path,
                                 const char *what, tkms_err *err)
{
    json_t *array;
    tkms_status st = json_field(&array, parent, path, JSON_ARRAY, true, what, err);
    if (st != TKMS_OK)
        return st;
    if (json_array_size(array) != count)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: %s must hold %zu keys, not %zu", what,
                         path, count, json_array_size(array));
    for (size_t i = 0; i < count; i++) {
        char name[128];
        snprintf(name, sizeof name, "%s[%zu]", path, i);
        st = json_decode_public_key(&out[i], json_array_get(array, i), name, what, err);
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
    json_t *array = json_array();
    for (size_t i = 0; array != NULL && i < count; i++) {
        if (json_array_append_new(array, json_public_key(&pks[i])) != 0) {
            json_decref(array);
            array = NULL;
        }
    }
    return array;
}
