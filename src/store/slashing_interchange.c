/*
 * slashing_interchange.c — the EIP-3076 slashing protection interchange
 * (format version 5) over the storage of slashing_internal.h, whichever
 * backend holds it: import (bounded, validated, all or nothing in one
 * transaction that holds the whole database), export (one consistent
 * read), and deleting a key from use while handing back its interchange.
 *
 *   {"metadata": {"interchange_format_version": "5",
 *                 "genesis_validators_root": "0x…32 bytes"},
 *    "data": [{"pubkey": "0x…48 bytes",
 *              "signed_blocks": [{"slot": "12", "signing_root": "0x…"?}],
 *              "signed_attestations": [{"source_epoch": "3",
 *                                       "target_epoch": "4",
 *                                       "signing_root": "0x…"?}]}]}
 *
 * Numbers are decimal strings. Unknown members are ignored (later minor
 * versions may add some).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json_fields.h"
#include "slashing_internal.h"
#include "tkms/hex.h"

static const char what[] = "interchange";

/* ---- import --------------------------------------------------------------- */

/* A decimal string (digits only, no sign or space) up to the max epoch. */
static tkms_status get_decimal(int64_t *out, const json_t *parent, const char *path,
                               tkms_err *err)
{
    const char *text;
    tkms_status st = json_get_string(&text, parent, path, true, what, err);
    if (st != TKMS_OK)
        return st;
    size_t n = strlen(text);
    if (n == 0 || n > 19 || strspn(text, "0123456789") != n)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "%s: %s must be a decimal string of at most 19 digits", what, path);
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (uint64_t)(text[i] - '0');   /* 19 digits cannot overflow */
    if (v > (uint64_t)TKMS_SLASHING_MAX_EPOCH)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: %s is above %" PRId64, what, path,
                         TKMS_SLASHING_MAX_EPOCH);
    *out = (int64_t)v;
    return TKMS_OK;
}

/* An optional signing_root: *root = buf when present, NULL when absent. */
static tkms_status get_signing_root(const uint8_t **root, uint8_t buf[TKMS_ROOT_SIZE],
                                    const json_t *parent, const char *path, tkms_err *err)
{
    json_t *value;
    tkms_status st = json_field(&value, parent, path, JSON_STRING, false, what, err);
    *root = NULL;
    if (st != TKMS_OK || value == NULL)
        return st;
    if ((st = json_decode_hex(buf, TKMS_ROOT_SIZE, value, path, what, err)) == TKMS_OK)
        *root = buf;
    return st;
}

/* The array member `name` of data[index]; each element must be an object. */
static tkms_status get_records(json_t **out, const json_t *entry, const char *prefix,
                               const char *name, tkms_err *err)
{
    char path[96];
    snprintf(path, sizeof path, "%s.%s", prefix, name);
    tkms_status st = json_field(out, entry, path, JSON_ARRAY, true, what, err);
    if (st != TKMS_OK)
        return st;
    for (size_t i = 0; i < json_array_size(*out); i++)
        if (!json_is_object(json_array_get(*out, i)))
            return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: %s[%zu] must be an object", what,
                             path, i);
    return TKMS_OK;
}

static tkms_status import_entry(tkms_slashing_db *db, const json_t *entry, size_t index,
                                tkms_err *err)
{
    char prefix[40], path[128];
    snprintf(prefix, sizeof prefix, "data[%zu]", index);
    if (!json_is_object(entry))
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: %s must be an object", what, prefix);
    tkms_public_key pk;
    snprintf(path, sizeof path, "%s.pubkey", prefix);
    tkms_status st = json_get_public_key(&pk, NULL, entry, path, true, what, err);
    if (st != TKMS_OK)
        return st;
    uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE];
    tkms_public_key_to_bytes(pubkey, &pk);
    json_t *blocks, *attestations;
    if ((st = get_records(&blocks, entry, prefix, "signed_blocks", err)) != TKMS_OK ||
        (st = get_records(&attestations, entry, prefix, "signed_attestations", err)) != TKMS_OK)
        return st;
    int64_t id;
    if ((st = slashing_validator(db, pubkey, true, &id, NULL, err)) != TKMS_OK ||
        (st = db->ops->set_enabled(db, id, true, err)) != TKMS_OK)
        return st;

    uint8_t buf[TKMS_ROOT_SIZE];
    const uint8_t *root;
    for (size_t i = 0; i < json_array_size(blocks); i++) {
        const json_t *b = json_array_get(blocks, i);
        int64_t slot;
        snprintf(path, sizeof path, "%s.signed_blocks[%zu].slot", prefix, i);
        if ((st = get_decimal(&slot, b, path, err)) != TKMS_OK)
            return st;
        snprintf(path, sizeof path, "%s.signed_blocks[%zu].signing_root", prefix, i);
        if ((st = get_signing_root(&root, buf, b, path, err)) != TKMS_OK ||
            (st = slashing_merge(db, SLASHING_BLOCK, id, slot, 0, root, err)) != TKMS_OK)
            return st;
    }
    for (size_t i = 0; i < json_array_size(attestations); i++) {
        const json_t *a = json_array_get(attestations, i);
        int64_t source, target;
        snprintf(path, sizeof path, "%s.signed_attestations[%zu].source_epoch", prefix, i);
        if ((st = get_decimal(&source, a, path, err)) != TKMS_OK)
            return st;
        snprintf(path, sizeof path, "%s.signed_attestations[%zu].target_epoch", prefix, i);
        if ((st = get_decimal(&target, a, path, err)) != TKMS_OK)
            return st;
        snprintf(path, sizeof path, "%s.signed_attestations[%zu].signing_root", prefix, i);
        if ((st = get_signing_root(&root, buf, a, path, err)) != TKMS_OK ||
            (st = slashing_merge(db, SLASHING_ATTESTATION, id, source, target, root,
                                  err)) != TKMS_OK)
            return st;
    }
    return TKMS_OK;
}

tkms_status tkms_slashing_import(tkms_slashing_db *db, const char *json, size_t len,
                                 tkms_err *err)
{
    if (db == NULL || json == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "%s: no database or document", what);
    if (len > TKMS_SLASHING_INTERCHANGE_MAX_SIZE)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: document is larger than %u bytes", what,
                         TKMS_SLASHING_INTERCHANGE_MAX_SIZE);
    json_t *doc, *metadata, *data;
    tkms_status st = json_parse_object(&doc, json, len, what, err);
    if (st != TKMS_OK)
        return st;
    const char *version;
    uint8_t genesis[TKMS_ROOT_SIZE];
    if ((st = json_get_object(&metadata, doc, "metadata", what, err)) != TKMS_OK ||
        (st = json_get_string(&version, metadata, "metadata.interchange_format_version", true,
                              what, err)) != TKMS_OK)
        goto done;
    if (strcmp(version, "5") != 0) {
        st = tkms_fail(err, TKMS_ERR_UNSUPPORTED,
                       "%s: metadata.interchange_format_version must be \"5\"", what);
        goto done;
    }
    if ((st = json_get_hex(genesis, sizeof genesis, metadata, "metadata.genesis_validators_root",
                           what, err)) != TKMS_OK ||
        (st = json_field(&data, doc, "data", JSON_ARRAY, true, what, err)) != TKMS_OK ||
        (st = slashing_begin(db, SLASHING_TX_ALL, "start the import", err)) != TKMS_OK)
        goto done;
    if ((st = slashing_bind_genesis(db, genesis, err)) != TKMS_OK)
        goto rollback;
    for (size_t i = 0; i < json_array_size(data); i++)
        if ((st = import_entry(db, json_array_get(data, i), i, err)) != TKMS_OK)
            goto rollback;
    if ((st = db->ops->commit(db, "commit the import", err)) == TKMS_OK) {
        db->bound = true;
        memcpy(db->genesis, genesis, sizeof genesis);
    }
    goto done;
rollback:
    db->ops->rollback(db);
done:
    json_decref(doc);
    return st;
}

/* ---- export --------------------------------------------------------------- */

static json_t *decimal(int64_t v)
{
    char text[24];
    snprintf(text, sizeof text, "%" PRId64, v);
    return json_string(text);
}

static json_t *hex_string(const void *bytes, size_t len)
{
    char text[TKMS_HEX_SIZE(TKMS_PUBLIC_KEY_SIZE)];
    if (len > TKMS_PUBLIC_KEY_SIZE)
        return NULL;
    tkms_hex_encode(text, bytes, len);
    return json_string(text);
}

/* Adds `value` to `parent` (object member `key`, or array element when key
 * is NULL), taking the reference; false when anything is NULL or fails. */
static bool put(json_t *parent, const char *key, json_t *value)
{
    if (parent == NULL || value == NULL) {
        json_decref(value);
        return false;
    }
    return (key != NULL ? json_object_set_new(parent, key, value)
                        : json_array_append_new(parent, value)) == 0;
}

/* The array a listing appends record objects to, and their member names. */
typedef struct {
    json_t *array;
    const char *const *names;   /* "slot", or "source_epoch" and "target_epoch" */
    int n;
} record_list;

/* Appends one record object: its numbers, then its signing root if known. */
static tkms_status add_record(void *arg, int64_t a, int64_t b, const uint8_t *root,
                              tkms_err *err)
{
    const record_list *list = arg;
    const int64_t values[] = {a, b};
    json_t *record = json_object();
    bool ok = record != NULL;
    for (int i = 0; ok && i < list->n; i++)
        ok = put(record, list->names[i], decimal(values[i]));
    if (ok && root != NULL)
        ok = put(record, "signing_root", hex_string(root, TKMS_ROOT_SIZE));
    if (!ok) {
        json_decref(record);
        record = NULL;
    }
    if (!put(list->array, NULL, record))
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "%s: out of memory", what);
    return TKMS_OK;
}

/* Appends the data[] entry of one key (id 0: no history). */
static tkms_status export_key(tkms_slashing_db *db, json_t *data, int64_t id,
                              const uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE], tkms_err *err)
{
    static const char *const block_names[] = {"slot"};
    static const char *const attestation_names[] = {"source_epoch", "target_epoch"};
    json_t *entry = json_object(), *blocks = json_array(), *attestations = json_array();
    bool ok = put(entry, "pubkey", hex_string(pubkey, TKMS_PUBLIC_KEY_SIZE)) &&
              put(entry, "signed_blocks", json_incref(blocks)) &&
              put(entry, "signed_attestations", json_incref(attestations)) &&
              put(data, NULL, json_incref(entry));
    tkms_status st = ok ? TKMS_OK : tkms_fail(err, TKMS_ERR_NO_MEMORY, "%s: out of memory", what);
    record_list block_list = {blocks, block_names, 1};
    record_list attestation_list = {attestations, attestation_names, 2};
    if (st == TKMS_OK && id != 0)
        st = db->ops->each_record(db, SLASHING_BLOCK, id, add_record, &block_list, err);
    if (st == TKMS_OK && id != 0)
        st = db->ops->each_record(db, SLASHING_ATTESTATION, id, add_record, &attestation_list,
                                  err);
    json_decref(entry);
    json_decref(blocks);
    json_decref(attestations);
    return st;
}

typedef struct {
    tkms_slashing_db *db;
    json_t *data;
} key_list;

static tkms_status add_key(void *arg, int64_t id, const uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE],
                           tkms_err *err)
{
    const key_list *list = arg;
    return export_key(list->db, list->data, id, pubkey, err);
}

tkms_status slashing_export_locked(tkms_slashing_db *db, char **json,
                                   const uint8_t (*pubkeys)[TKMS_PUBLIC_KEY_SIZE],
                                   size_t count, tkms_err *err)
{
    *json = NULL;
    if (!db->bound)
        return tkms_fail(err, TKMS_ERR_NOT_FOUND,
                         "slashing db: no genesis validators root is bound yet (nothing to export)");
    json_t *doc = json_object(), *metadata = json_object(), *data = json_array();
    bool ok = put(doc, "metadata", json_incref(metadata)) &&
              put(metadata, "interchange_format_version", json_string("5")) &&
              put(metadata, "genesis_validators_root", hex_string(db->genesis, TKMS_ROOT_SIZE)) &&
              put(doc, "data", json_incref(data));
    tkms_status st = ok ? TKMS_OK : tkms_fail(err, TKMS_ERR_NO_MEMORY, "%s: out of memory", what);
    key_list all = {db, data};
    if (st == TKMS_OK && pubkeys == NULL)
        st = db->ops->each_key(db, add_key, &all, err);
    for (size_t i = 0; st == TKMS_OK && pubkeys != NULL && i < count; i++) {
        int64_t id;
        if ((st = slashing_validator(db, pubkeys[i], false, &id, NULL, err)) == TKMS_OK)
            st = export_key(db, data, id, pubkeys[i], err);
    }
    if (st == TKMS_OK && (*json = json_dumps(doc, JSON_INDENT(2))) == NULL)
        st = tkms_fail(err, TKMS_ERR_NO_MEMORY, "%s: out of memory", what);
    json_decref(metadata);
    json_decref(data);
    json_decref(doc);
    return st;
}

tkms_status tkms_slashing_export(tkms_slashing_db *db, char **json,
                                 const uint8_t (*pubkeys)[TKMS_PUBLIC_KEY_SIZE],
                                 size_t count, tkms_err *err)
{
    *json = NULL;
    if (db == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "%s: no database", what);
    tkms_status st = slashing_begin(db, SLASHING_TX_READ, "start the export", err);
    if (st != TKMS_OK)
        return st;
    st = slashing_export_locked(db, json, pubkeys, count, err);
    db->ops->rollback(db);   /* read only: nothing to commit */
    return st;
}

tkms_status tkms_slashing_delete_key(tkms_slashing_db *db,
                                     const uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE],
                                     char **json, tkms_err *err)
{
    *json = NULL;
    if (db == NULL || pubkey == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "%s: no database or key", what);
    tkms_status st = slashing_begin(db, SLASHING_TX_CHECKS, "delete the key", err);
    if (st != TKMS_OK)
        return st;
    int64_t id;
    const uint8_t (*one)[TKMS_PUBLIC_KEY_SIZE] = (const uint8_t (*)[TKMS_PUBLIC_KEY_SIZE])pubkey;
    if ((st = db->ops->lock_key(db, pubkey, err)) != TKMS_OK ||
        (st = slashing_validator(db, pubkey, true, &id, NULL, err)) != TKMS_OK ||
        (st = db->ops->set_enabled(db, id, false, err)) != TKMS_OK ||
        (st = slashing_export_locked(db, json, one, 1, err)) != TKMS_OK ||
        (st = db->ops->commit(db, "delete the key", err)) != TKMS_OK) {
        db->ops->rollback(db);
        free(*json);
        *json = NULL;
    }
    return st;
}
