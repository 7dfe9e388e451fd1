/*
 * ceremony_spec_file.c — the SPEC.json of a key ceremony (format in
 * tkms/ceremony.h): reading it into a checked tkms_ceremony_spec and
 * writing one back. Reading names the offending field in every error and
 * leaves the ceremony-level checks (distinct ids and identities, K and M in
 * range, a reshare's old owners among the parties) to
 * tkms_ceremony_spec_new; the nested old group is read by the group file
 * parser (tkms/group_file.h), so it is checked exactly like a group.json.
 * Writing then reading gives the same spec and the same spec hash.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "json_fields.h"
#include "tkms/ceremony.h"
#include "tkms/group_file.h"
#include "tkms/hex.h"

#define WHAT "ceremony spec"
#define SPEC_VERSION 1

static const char *const kind_names[] = {"dkg", "reshare"};

/* parties[i]: {"id", "shares", "identity"}. */
static tkms_status parse_party(tkms_ceremony_party *out, const json_t *entry, size_t i,
                               tkms_err *err)
{
    char name[64];
    snprintf(name, sizeof name, "parties[%zu]", i);
    if (!json_is_object(entry))
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, WHAT ": %s must be an object", name);
    char id_path[80], shares_path[80], identity_path[80];
    snprintf(id_path, sizeof id_path, "%s.id", name);
    snprintf(shares_path, sizeof shares_path, "%s.shares", name);
    snprintf(identity_path, sizeof identity_path, "%s.identity", name);
    json_t *id;
    tkms_status st;
    if ((st = json_field(&id, entry, id_path, JSON_STRING, true, WHAT, err)) != TKMS_OK)
        return st;
    const char *text = json_string_value(id);
    if (json_string_length(id) != strlen(text) || !tkms_owner_id_valid(text))
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         WHAT ": %s must be 1 to %u characters of [A-Za-z0-9._-], not "
                         "starting with '.' or '-'", id_path, TKMS_OWNER_ID_MAX_SIZE);
    memcpy(out->id, text, strlen(text) + 1);
    if ((st = json_get_u32(&out->shares, entry, shares_path, 0, TKMS_MAX_SHARES, WHAT,
                           err)) != TKMS_OK ||
        (st = json_get_hex(out->identity, TKMS_IDENTITY_PUBLIC_SIZE, entry, identity_path,
                           WHAT, err)) != TKMS_OK)
        return st;
    /* a key no one can seal to would only fail the ceremony later */
    if (sodium_init() < 0 || !crypto_core_ed25519_is_valid_point(out->identity))
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         WHAT ": %s is not a valid Ed25519 public key", identity_path);
    return TKMS_OK;
}

/* The nested old group: re-serialized and read by the group file parser;
 * it must list its owners. */
static tkms_status parse_old_group(tkms_group_file *out, const json_t *object, tkms_err *err)
{
    char *text = json_dumps(object, JSON_COMPACT);
    if (text == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, WHAT ": out of memory");
    size_t len = strlen(text);
    tkms_err inner;
    tkms_status st = TKMS_OK;
    if (len > TKMS_GROUP_FILE_MAX_SIZE)
        st = tkms_fail(err, TKMS_ERR_BAD_FORMAT, WHAT ": old_group is larger than %u bytes",
                       TKMS_GROUP_FILE_MAX_SIZE);
    else if ((st = tkms_group_file_parse(out, text, len, &inner)) != TKMS_OK) {
        /* "group file: X" -> "ceremony spec: old_group: X" */
        const char *reason = inner.message;
        if (strncmp(reason, "group file: ", 12) == 0)
            reason += 12;
        tkms_fail(err, st, WHAT ": old_group: %s", reason);
    } else if (out->owners == NULL) {
        tkms_group_file_clear(out);
        st = tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                       WHAT ": old_group must list its owners (who holds the shares "
                       "being reshared)");
    }
    free(text);
    return st;
}

static tkms_status parse_document(tkms_ceremony_spec **out, const json_t *root, tkms_err *err)
{
    uint32_t version, threshold, keys;
    size_t kind;
    uint8_t ceremony_id[TKMS_CEREMONY_ID_SIZE];
    json_t *list, *old;
    tkms_status st;
    if ((st = json_get_u32(&version, root, "version", SPEC_VERSION, SPEC_VERSION, WHAT,
                           err)) != TKMS_OK ||
        (st = json_get_choice(&kind, root, "kind", kind_names, 2, WHAT, err)) != TKMS_OK ||
        (st = json_get_hex(ceremony_id, sizeof ceremony_id, root, "ceremony_id", WHAT,
                           err)) != TKMS_OK ||
        (st = json_get_u32(&threshold, root, "threshold", 1, TKMS_MAX_SHARES, WHAT,
                           err)) != TKMS_OK ||
        (st = json_get_u32(&keys, root, "keys", 1, TKMS_CEREMONY_MAX_KEYS, WHAT,
                           err)) != TKMS_OK ||
        (st = json_field(&list, root, "parties", JSON_ARRAY, true, WHAT, err)) != TKMS_OK ||
        (st = json_field(&old, root, "old_group", JSON_OBJECT, false, WHAT, err)) != TKMS_OK)
        return st;
    tkms_ceremony_kind k = kind == 0 ? TKMS_CEREMONY_DKG : TKMS_CEREMONY_RESHARE;
    size_t count = json_array_size(list);
    if (count == 0 || count > TKMS_CEREMONY_MAX_PARTIES)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, WHAT ": parties must list 1..%u parties",
                         TKMS_CEREMONY_MAX_PARTIES);
    if (k == TKMS_CEREMONY_DKG && old != NULL)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         WHAT ": old_group belongs to a reshare, not a dkg");
    if (k == TKMS_CEREMONY_RESHARE && old == NULL)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         WHAT ": old_group is missing (a reshare needs the key being "
                         "reshared)");
    tkms_ceremony_party *parties = calloc(count, sizeof *parties);
    if (parties == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, WHAT ": out of memory");
    for (size_t i = 0; i < count && st == TKMS_OK; i++)
        st = parse_party(&parties[i], json_array_get(list, i), i, err);
    tkms_group_file group = {NULL, NULL};
    if (st == TKMS_OK && old != NULL)
        st = parse_old_group(&group, old, err);
    if (st == TKMS_OK)   /* takes over the old group, also on failure */
        st = tkms_ceremony_spec_new(out, k, ceremony_id, threshold, keys, parties, count,
                                    group.group, group.owners, err);
    free(parties);
    return st;
}

tkms_status tkms_ceremony_spec_parse(tkms_ceremony_spec **out, const char *json,
                                     size_t len, tkms_err *err)
{
    *out = NULL;
    if (len > TKMS_CEREMONY_SPEC_MAX_SIZE)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, WHAT ": document is larger than %u bytes",
                         TKMS_CEREMONY_SPEC_MAX_SIZE);
    json_t *root;
    tkms_status st = json_parse_object(&root, json, len, WHAT, err);
    if (st != TKMS_OK)
        return st;
    st = parse_document(out, root, err);
    json_decref(root);
    return st;
}

static json_t *hex_json(const uint8_t *bytes, size_t len)
{
    char hex[TKMS_HEX_SIZE(TKMS_CEREMONY_ID_SIZE)];
    if (len > TKMS_CEREMONY_ID_SIZE)
        return NULL;
    tkms_hex_encode(hex, bytes, len);
    return json_string(hex);
}

static json_t *parties_json(const tkms_ceremony_spec *spec)
{
    json_t *list = json_array();
    for (size_t i = 0; list != NULL && i < spec->party_count; i++) {
        const tkms_ceremony_party *p = &spec->parties[i];
        json_t *identity = hex_json(p->identity, TKMS_IDENTITY_PUBLIC_SIZE);
        json_t *entry = identity == NULL ? NULL
                        : json_pack("{s:s, s:I, s:o}", "id", p->id, "shares",
                                    (json_int_t)p->shares, "identity", identity);
        if (entry == NULL || json_array_append_new(list, entry) != 0) {
            json_decref(list);
            list = NULL;
        }
    }
    return list;
}

static json_t *old_group_json(const tkms_ceremony_spec *spec)
{
    char *text = NULL;
    if (tkms_group_file_format(&text, spec->old_group, spec->old_owners) != TKMS_OK)
        return NULL;
    json_t *object = json_loads(text, 0, NULL);
    free(text);
    return object;
}

char *tkms_ceremony_spec_format(const tkms_ceremony_spec *spec)
{
    bool reshare = spec->kind == TKMS_CEREMONY_RESHARE;
    json_t *root = json_object();
    if (root == NULL ||
        json_object_set_new(root, "version", json_integer(SPEC_VERSION)) ||
        json_object_set_new(root, "kind", json_string(kind_names[reshare ? 1 : 0])) ||
        json_object_set_new(root, "ceremony_id",
                            hex_json(spec->ceremony_id, TKMS_CEREMONY_ID_SIZE)) ||
        json_object_set_new(root, "threshold", json_integer(spec->threshold)) ||
        json_object_set_new(root, "keys", json_integer(spec->keys)) ||
        json_object_set_new(root, "parties", parties_json(spec)) ||
        (reshare && json_object_set_new(root, "old_group", old_group_json(spec)))) {
        json_decref(root);
        return NULL;
    }
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    return text;
}
