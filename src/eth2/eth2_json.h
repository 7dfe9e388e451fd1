/*
 * eth2_json.h — typed, bounded getters for the JSON of Web3Signer eth2 sign
 * requests. Internal to libtkms (the eth2 layer keeps its own, small set:
 * numbers are decimal strings, bytes are hex strings of an exact length).
 *
 * Every getter names the field by its full path — the parent's path and
 * the member's key ("attestation.target" + "epoch") — in a one-line
 * TKMS_ERR_BAD_FORMAT message ("attestation.target.epoch: not a decimal
 * uint64"). Messages never quote input values.
 */
#ifndef TKMS_ETH2_JSON_H
#define TKMS_ETH2_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tkms/status.h"

/* Room for a field path; longer paths are truncated in messages only. */
#define EJ_PATH_SIZE 160

/* Parses `len` bytes as a JSON object (duplicate keys refused). */
tkms_status ej_parse(json_t **out, const char *text, size_t len, tkms_err *err);

/* Writes "path.key" ("key" when path is empty, "path" when key is NULL)
 * into buf[EJ_PATH_SIZE]. */
void ej_path(char buf[EJ_PATH_SIZE], const char *path, const char *key);

/* Writes "path[index]" into buf[EJ_PATH_SIZE]. */
void ej_path_index(char buf[EJ_PATH_SIZE], const char *path, size_t index);

/* A required member that is an object; its path goes to child_path. */
tkms_status ej_object(const json_t **out, char child_path[EJ_PATH_SIZE],
                      const json_t *parent, const char *path, const char *key,
                      tkms_err *err);

/* A required member that is an array of at most `max` entries. */
tkms_status ej_array(const json_t **out, char child_path[EJ_PATH_SIZE],
                     const json_t *parent, const char *path, const char *key,
                     size_t max, tkms_err *err);

/* A string member; absent and optional gives TKMS_OK with *out = NULL. */
tkms_status ej_string(const char **out, const json_t *parent, const char *path,
                      const char *key, bool required, tkms_err *err);

/* A required decimal-string uint64 ("0" .. "18446744073709551615"). */
tkms_status ej_uint64(uint64_t *out, const json_t *parent, const char *path,
                      const char *key, tkms_err *err);

/* The same for an array element `value` whose full path is `name`. */
tkms_status ej_uint64_at(uint64_t *out, const json_t *value, const char *name,
                         tkms_err *err);

/* A required hex string of exactly `len` bytes. */
tkms_status ej_hex(uint8_t *out, size_t len, const json_t *parent,
                   const char *path, const char *key, tkms_err *err);

/* The same for an array element `value` whose full path is `name`. */
tkms_status ej_hex_at(uint8_t *out, size_t len, const json_t *value,
                      const char *name, tkms_err *err);

/* A required hex string of 0 .. max bytes; *out_len gets the count. */
tkms_status ej_hex_var(uint8_t *out, size_t max, size_t *out_len,
                       const json_t *parent, const char *path, const char *key,
                       tkms_err *err);

#endif /* TKMS_ETH2_JSON_H */
