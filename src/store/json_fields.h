/*
 * json_fields.h — typed, bounded access to fields of a parsed JSON object,
 * shared by the file formats in src/store/. Every getter names the field
 * in its error message ("group file: threshold must be 1..1024"), prefixed
 * by `what` (the document's name). Internal to libtkms.
 */
#ifndef TKMS_JSON_FIELDS_H
#define TKMS_JSON_FIELDS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tkms/bls.h"
#include "tkms/status.h"

/* Parses `len` bytes as a JSON document whose top level is an object. */
tkms_status json_parse_object(json_t **out, const char *text, size_t len,
                              const char *what, tkms_err *err);

/* A required integer field in [min, max]. */
tkms_status json_get_u32(const json_t *obj, const char *key, uint32_t min,
                         uint32_t max, uint32_t *out, const char *what,
                         tkms_err *err);

/* A required string field; *out points into obj. */
tkms_status json_get_string(const json_t *obj, const char *key,
                            const char **out, const char *what, tkms_err *err);

/* A required hex string field holding exactly `len` bytes. */
tkms_status json_get_hex(const json_t *obj, const char *key, uint8_t *out,
                         size_t len, const char *what, tkms_err *err);

/* A required public key field (hex, KeyValidate'd). */
tkms_status json_get_public_key(const json_t *obj, const char *key,
                                tkms_public_key *out, const char *what,
                                tkms_err *err);

/* A required array of exactly `count` public keys. */
tkms_status json_get_public_keys(const json_t *obj, const char *key,
                                 tkms_public_key *out, size_t count,
                                 const char *what, tkms_err *err);

/* A new JSON string "0x…" for a public key (NULL on OOM). */
json_t *json_public_key(const tkms_public_key *pk);

/* A new JSON array of public keys (NULL on OOM). */
json_t *json_public_keys(const tkms_public_key *pks, size_t count);

#endif /* TKMS_JSON_FIELDS_H */
