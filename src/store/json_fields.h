/*
 * json_fields.h — typed, bounded access to the fields of parsed JSON
 * documents, shared by every file format in src/store/ (keystores, group
 * files, partial signatures). Internal to libtkms.
 *
 * Fields are named by their full dotted path ("crypto.kdf.params.n"); the
 * member looked up in `parent` is the last component. Every failure names
 * the field in a one-line message prefixed by `what`, the document's name
 * ("keystore: crypto.kdf.params.n must be an integer"), and is
 * TKMS_ERR_BAD_FORMAT unless said otherwise. Messages never quote input
 * values, so they cannot leak secrets or carry control characters.
 */
#ifndef TKMS_JSON_FIELDS_H
#define TKMS_JSON_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tkms/bls.h"
#include "tkms/status.h"

/* Parses `len` bytes as JSON whose top level is an object (duplicate keys
 * refused). jansson's description of a syntax error is made printable. */
tkms_status json_parse_object(json_t **out, const char *text, size_t len,
                              const char *what, tkms_err *err);

/* The same for a document whose top level is an array. */
tkms_status json_parse_array(json_t **out, const char *text, size_t len,
                             const char *what, tkms_err *err);

/* Looks up `path` and checks its type. An absent optional field gives
 * TKMS_OK with *out = NULL. */
tkms_status json_field(json_t **out, const json_t *parent, const char *path,
                       json_type type, bool required, const char *what,
                       tkms_err *err);

/* A required object. */
tkms_status json_get_object(json_t **out, const json_t *parent,
                            const char *path, const char *what, tkms_err *err);

/* A string; *out points into parent (NULL when optional and absent). */
tkms_status json_get_string(const char **out, const json_t *parent,
                            const char *path, bool required, const char *what,
                            tkms_err *err);

/* A required non-negative integer. */
tkms_status json_get_uint(uint64_t *out, const json_t *parent, const char *path,
                          const char *what, tkms_err *err);

/* A required integer in [min, max]. */
tkms_status json_get_u32(uint32_t *out, const json_t *parent, const char *path,
                         uint32_t min, uint32_t max, const char *what,
                         tkms_err *err);

/* A required string equal to one of names[0..count); *choice gets which.
 * Another value is TKMS_ERR_UNSUPPORTED. */
tkms_status json_get_choice(size_t *choice, const json_t *parent,
                            const char *path, const char *const *names,
                            size_t count, const char *what, tkms_err *err);

/* Decodes a string value holding exactly `len` bytes of hex; `name` is the
 * field's name for messages. */
tkms_status json_decode_hex(uint8_t *out, size_t len, const json_t *value,
                            const char *name, const char *what, tkms_err *err);

/* A required hex field of exactly `len` bytes. */
tkms_status json_get_hex(uint8_t *out, size_t len, const json_t *parent,
                         const char *path, const char *what, tkms_err *err);

/* Decodes a string value as a public key (hex, KeyValidate'd). */
tkms_status json_decode_public_key(tkms_public_key *out, const json_t *value,
                                   const char *name, const char *what,
                                   tkms_err *err);

/* A public key field; *present (may be NULL) says whether it was there. */
tkms_status json_get_public_key(tkms_public_key *out, bool *present,
                                const json_t *parent, const char *path,
                                bool required, const char *what, tkms_err *err);

/* A required array of exactly `count` public keys. */
tkms_status json_get_public_keys(tkms_public_key *out, size_t count,
                                 const json_t *parent, const char *path,
                                 const char *what, tkms_err *err);

/* A new JSON string "0x…" for a public key (NULL on OOM). */
json_t *json_public_key(const tkms_public_key *pk);

/* A new JSON array of public keys (NULL on OOM). */
json_t *json_public_keys(const tkms_public_key *pks, size_t count);

#endif /* TKMS_JSON_FIELDS_H */
