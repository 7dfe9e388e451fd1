/*
 * eth2_json.c — the field getters of eth2_json.h: exact hex lengths,
 * overflow-checked decimal uint64s, bounded arrays, every error naming the
 * field's full path.
 */
#include <stdio.h>
#include <string.h>

#include "tkms/hex.h"
#include "tkms/eth2.h"

#include "eth2_json.h"

tkms_status ej_parse(json_t **out, const char *text, size_t len, tkms_err *err)
{
    *out = NULL;
    if (text == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "sign request: no body");
    if (len > TKMS_ETH2_MAX_REQUEST_SIZE)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "sign request: body of %zu bytes, at most %u", len,
                         (unsigned)TKMS_ETH2_MAX_REQUEST_SIZE);
    json_error_t jerr;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL) {
        /* jansson's text may quote input: keep only printable ASCII */
        char clean[sizeof jerr.text];
        size_t k = 0;
        for (size_t i = 0; jerr.text[i] != '\0' && k + 1 < sizeof clean; i++)
            clean[k++] = (jerr.text[i] >= 0x20 && jerr.text[i] < 0x7f) ? jerr.text[i] : '?';
        clean[k] = '\0';
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "sign request: not JSON (%s at line %d)", clean, jerr.line);
    }
    if (!json_is_object(j)) {
        json_decref(j);
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "sign request: not a JSON object");
    }
    *out = j;
    return TKMS_OK;
}

void ej_path(char buf[EJ_PATH_SIZE], const char *path, const char *key)
{
    if (key == NULL)
        snprintf(buf, EJ_PATH_SIZE, "%s", path);
    else if (path == NULL || path[0] == '\0')
        snprintf(buf, EJ_PATH_SIZE, "%s", key);
    else
        snprintf(buf, EJ_PATH_SIZE, "%s.%s", path, key);
}

void ej_path_index(char buf[EJ_PATH_SIZE], const char *path, size_t index)
{
    snprintf(buf, EJ_PATH_SIZE, "%s[%zu]", path, index);
}

/* The member `key`, or a "missing" error naming it. */
static tkms_status member(const json_t **out, const json_t *parent,
                          const char *path, const char *key, tkms_err *err)
{
    *out = json_object_get(parent, key);
    if (*out == NULL) {
        char name[EJ_PATH_SIZE];
        ej_path(name, path, key);
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: missing", name);
    }
    return TKMS_OK;
}

static tkms_status wrong_type(const char *path, const char *key,
                              const char *expected, tkms_err *err)
{
    char name[EJ_PATH_SIZE];
    ej_path(name, path, key);
    return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: not %s", name, expected);
}

tkms_status ej_object(const json_t **out, char child_path[EJ_PATH_SIZE],
                      const json_t *parent, const char *path, const char *key,
                      tkms_err *err)
{
    tkms_status st = member(out, parent, path, key, err);
    if (st != TKMS_OK)
        return st;
    if (!json_is_object(*out))
        return wrong_type(path, key, "an object", err);
    ej_path(child_path, path, key);
    return TKMS_OK;
}

tkms_status ej_array(const json_t **out, char child_path[EJ_PATH_SIZE],
                     const json_t *parent, const char *path, const char *key,
                     size_t max, tkms_err *err)
{
    tkms_status st = member(out, parent, path, key, err);
    if (st != TKMS_OK)
        return st;
    if (!json_is_array(*out))
        return wrong_type(path, key, "an array", err);
    ej_path(child_path, path, key);
    if (json_array_size(*out) > max)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: %zu entries, at most %zu",
                         child_path, json_array_size(*out), max);
    return TKMS_OK;
}

tkms_status ej_string(const char **out, const json_t *parent, const char *path,
                      const char *key, bool required, tkms_err *err)
{
    *out = NULL;
    const json_t *v = json_object_get(parent, key);
    if (v == NULL) {
        if (!required)
            return TKMS_OK;
        return member(&v, parent, path, key, err);
    }
    if (!json_is_string(v))
        return wrong_type(path, key, "a string", err);
    *out = json_string_value(v);
    return TKMS_OK;
}

/* Checks value v, named by path and key (key NULL: path is the name). */
static tkms_status uint64_value(uint64_t *out, const json_t *v, const char *path,
                                const char *key, tkms_err *err)
{
    *out = 0;
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    size_t n = s ? json_string_length(v) : 0;
    if (n == 0 || n > 20)
        return wrong_type(path, key, "a decimal uint64", err);
    uint64_t value = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return wrong_type(path, key, "a decimal uint64", err);
        unsigned digit = (unsigned)(s[i] - '0');
        if (value > (UINT64_MAX - digit) / 10)
            return wrong_type(path, key, "a decimal uint64 (too large)", err);
        value = value * 10 + digit;
    }
    *out = value;
    return TKMS_OK;
}

tkms_status ej_uint64(uint64_t *out, const json_t *parent, const char *path,
                      const char *key, tkms_err *err)
{
    const json_t *v;
    *out = 0;
    tkms_status st = member(&v, parent, path, key, err);
    if (st != TKMS_OK)
        return st;
    return uint64_value(out, v, path, key, err);
}

tkms_status ej_uint64_at(uint64_t *out, const json_t *value, const char *name,
                         tkms_err *err)
{
    return uint64_value(out, value, name, NULL, err);
}

/* Value v as a hex string (an error when it is not one). */
static tkms_status hex_string(const char **s, const json_t *v, const char *path,
                              const char *key, tkms_err *err)
{
    if (!json_is_string(v))
        return wrong_type(path, key, "a hex string", err);
    *s = json_string_value(v);
    if (json_string_length(v) != strlen(*s))
        return wrong_type(path, key, "a hex string", err);
    return TKMS_OK;
}

/* The member `key` as a hex string. */
static tkms_status hex_member(const char **s, const json_t *parent,
                              const char *path, const char *key, tkms_err *err)
{
    const json_t *v;
    tkms_status st = member(&v, parent, path, key, err);
    if (st != TKMS_OK)
        return st;
    return hex_string(s, v, path, key, err);
}

static tkms_status hex_exact(uint8_t *out, size_t len, const char *s,
                             const char *path, const char *key, tkms_err *err)
{
    if (tkms_hex_decode(out, len, s, NULL) != TKMS_OK) {
        char name[EJ_PATH_SIZE];
        ej_path(name, path, key);
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "%s: not hex of exactly %zu bytes", name, len);
    }
    return TKMS_OK;
}

tkms_status ej_hex(uint8_t *out, size_t len, const json_t *parent,
                   const char *path, const char *key, tkms_err *err)
{
    const char *s;
    tkms_status st = hex_member(&s, parent, path, key, err);
    if (st != TKMS_OK)
        return st;
    return hex_exact(out, len, s, path, key, err);
}

tkms_status ej_hex_at(uint8_t *out, size_t len, const json_t *value,
                      const char *name, tkms_err *err)
{
    const char *s;
    tkms_status st = hex_string(&s, value, name, NULL, err);
    if (st != TKMS_OK)
        return st;
    return hex_exact(out, len, s, name, NULL, err);
}

tkms_status ej_hex_var(uint8_t *out, size_t max, size_t *out_len,
                       const json_t *parent, const char *path, const char *key,
                       tkms_err *err)
{
    const char *s;
    *out_len = 0;
    tkms_status st = hex_member(&s, parent, path, key, err);
    if (st != TKMS_OK)
        return st;
    if (tkms_hex_decode_var(out, max, out_len, s, NULL) != TKMS_OK) {
        char name[EJ_PATH_SIZE];
        ej_path(name, path, key);
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "%s: not hex of at most %zu bytes", name, max);
    }
    return TKMS_OK;
}
