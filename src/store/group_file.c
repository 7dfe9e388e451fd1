/*
 * group_file.c — reading and writing the public group file (format in
 * tkms/group_file.h). Reading recomputes every share public key from the
 * commitments and refuses a file whose listed keys differ, and rebuilds the
 * owner map from ids and share counts, refusing indices that are not the
 * prefix-sum ranges.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_fields.h"
#include "tkms/group_file.h"

#define WHAT "group file"
#define GROUP_FILE_VERSION 1

/* Reads the optional `owners` list; *out stays NULL when there is none. */
static tkms_status parse_owners(tkms_owner_map **out, const json_t *root,
                                uint32_t share_count, tkms_err *err)
{
    json_t *list;
    tkms_status st = json_field(&list, root, "owners", JSON_ARRAY, false, WHAT, err);
    if (st != TKMS_OK || list == NULL)
        return st;
    size_t count = json_array_size(list);
    if (count == 0 || count > TKMS_MAX_OWNERS)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, WHAT ": owners must list 1..%u owners",
                         TKMS_MAX_OWNERS);
    const char **ids = calloc(count, sizeof *ids);
    uint32_t *counts = calloc(count, sizeof *counts);
    if (ids == NULL || counts == NULL) {
        st = tkms_fail(err, TKMS_ERR_NO_MEMORY, WHAT ": out of memory");
        goto done;
    }
    for (size_t i = 0; i < count && st == TKMS_OK; i++) {
        json_t *entry = json_array_get(list, i), *indices;
        char name[48];
        snprintf(name, sizeof name, "owners[%zu]", i);
        if (!json_is_object(entry)) {
            st = tkms_fail(err, TKMS_ERR_BAD_FORMAT, WHAT ": %s must be an object", name);
            break;
        }
        if ((st = json_get_string(&ids[i], entry, "id", true, WHAT, err)) != TKMS_OK ||
            (st = json_field(&indices, entry, "indices", JSON_ARRAY, true, WHAT, err)) != TKMS_OK)
            break;
        counts[i] = (uint32_t)(json_array_size(indices) > TKMS_MAX_SHARES
                                   ? TKMS_MAX_SHARES + 1
                                   : json_array_size(indices));
        if (i > 0 && strcmp(ids[i - 1], ids[i]) >= 0)
            st = tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                           WHAT ": owners must be in ascending id order without repeats "
                           "(%s)", name);
    }
    tkms_owner_map *map = NULL;
    if (st == TKMS_OK && (st = tkms_owner_map_new(&map, ids, counts, count, err)) == TKMS_OK &&
        map->total != share_count)
        st = tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                       WHAT ": owners hold %u shares but the group has %u", map->total,
                       share_count);
    /* the listed indices must be exactly the prefix-sum ranges */
    for (size_t i = 0; st == TKMS_OK && i < count; i++) {
        json_t *indices = json_object_get(json_array_get(list, i), "indices");
        for (uint32_t j = 0; st == TKMS_OK && j < map->owners[i].share_count; j++) {
            json_t *v = json_array_get(indices, j);
            if (!json_is_integer(v) ||
                json_integer_value(v) != (json_int_t)(map->owners[i].first_index + j))
                st = tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                               WHAT ": owners[%zu].indices must be %u..%u (ascending ids "
                               "take indices by prefix sums)", i, map->owners[i].first_index,
                               map->owners[i].first_index + map->owners[i].share_count - 1);
        }
    }
    if (st == TKMS_OK)
        *out = map;
    else
        tkms_owner_map_free(map);
done:
    free(ids);
    free(counts);
    return st;
}

tkms_status tkms_group_file_parse(tkms_group_file *out, const char *json,
                                  size_t len, tkms_err *err)
{
    out->group = NULL;
    out->owners = NULL;
    json_t *root;
    tkms_status st = json_parse_object(&root, json, len, WHAT, err);
    if (st != TKMS_OK)
        return st;
    uint32_t version, threshold, share_count;
    tkms_public_key group_key;
    tkms_public_key *commitments = NULL, *listed = NULL;
    tkms_group *group = NULL;
    if ((st = json_get_u32(&version, root, "version", GROUP_FILE_VERSION,
                           GROUP_FILE_VERSION, WHAT, err)) != TKMS_OK ||
        (st = json_get_u32(&share_count, root, "shares", 1, TKMS_MAX_SHARES, WHAT,
                           err)) != TKMS_OK ||
        (st = json_get_u32(&threshold, root, "threshold", 1, share_count, WHAT,
                           err)) != TKMS_OK ||
        (st = json_get_public_key(&group_key, NULL, root, "group_public_key", true, WHAT,
                                  err)) != TKMS_OK)
        goto done;
    commitments = malloc(threshold * sizeof *commitments);
    listed = malloc(share_count * sizeof *listed);
    if (commitments == NULL || listed == NULL) {
        st = tkms_fail(err, TKMS_ERR_NO_MEMORY, WHAT ": out of memory");
        goto done;
    }
    if ((st = json_get_public_keys(commitments, threshold, root, "commitments", WHAT,
                                   err)) != TKMS_OK ||
        (st = json_get_public_keys(listed, share_count, root, "share_public_keys", WHAT,
                                   err)) != TKMS_OK ||
        (st = parse_owners(&out->owners, root, share_count, err)) != TKMS_OK)
        goto done;
    if (!tkms_public_key_equal(&commitments[0], &group_key)) {
        st = tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                       WHAT ": commitments[0] is not the group public key");
        goto done;
    }
    st = tkms_group_from_commitments(&group, commitments, threshold, share_count);
    if (st != TKMS_OK) {
        tkms_fail(err, st, WHAT ": commitments do not give valid share keys: %s",
                  tkms_status_string(st));
        goto done;
    }
    for (uint32_t i = 0; i < share_count; i++) {
        if (!tkms_public_key_equal(&listed[i], &group->share_keys[i])) {
            st = tkms_fail(err, TKMS_ERR_VERIFY_FAILED,
                           WHAT ": share_public_keys[%u] (share %u) does not match "
                           "the commitments", i, i + 1);
            goto done;
        }
    }
    out->group = group;
    group = NULL;
done:
    tkms_group_free(group);
    free(commitments);
    free(listed);
    json_decref(root);
    if (st != TKMS_OK)
        tkms_group_file_clear(out);
    return st;
}

void tkms_group_file_clear(tkms_group_file *file)
{
    tkms_group_free(file->group);
    tkms_owner_map_free(file->owners);
    file->group = NULL;
    file->owners = NULL;
}

static json_t *owners_json(const tkms_owner_map *owners)
{
    json_t *list = json_array();
    for (size_t i = 0; list != NULL && i < owners->count; i++) {
        const tkms_owner *o = &owners->owners[i];
        json_t *indices = json_array();
        for (uint32_t j = 0; indices != NULL && j < o->share_count; j++)
            if (json_array_append_new(indices, json_integer(o->first_index + j)) != 0) {
                json_decref(indices);
                indices = NULL;
            }
        json_t *entry = indices ? json_pack("{s:s, s:o}", "id", o->id, "indices", indices) : NULL;
        if (entry == NULL || json_array_append_new(list, entry) != 0) {
            json_decref(list);
            list = NULL;
        }
    }
    return list;
}

tkms_status tkms_group_file_format(char **json_out, const tkms_group *group,
                                   const tkms_owner_map *owners)
{
    *json_out = NULL;
    if (owners != NULL && owners->total != group->share_count)
        return TKMS_ERR_INVALID_ARGUMENT;
    json_t *root = json_object();
    if (root == NULL ||
        json_object_set_new(root, "version", json_integer(GROUP_FILE_VERSION)) ||
        json_object_set_new(root, "group_public_key", json_public_key(&group->group_key)) ||
        json_object_set_new(root, "threshold", json_integer(group->threshold)) ||
        json_object_set_new(root, "shares", json_integer(group->share_count)) ||
        json_object_set_new(root, "commitments",
                            json_public_keys(group->commitments, group->threshold)) ||
        json_object_set_new(root, "share_public_keys",
                            json_public_keys(group->share_keys, group->share_count)) ||
        (owners != NULL && json_object_set_new(root, "owners", owners_json(owners)))) {
        json_decref(root);
        return TKMS_ERR_NO_MEMORY;
    }
    *json_out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (*json_out == NULL)
        return TKMS_ERR_NO_MEMORY;
    return TKMS_OK;
}
