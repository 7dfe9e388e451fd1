/*
 * group_file.c — reading and writing the public group file (format in
 * tkms/group_file.h). Reading recomputes every share public key from the
 * commitments and refuses a file whose listed keys differ.
 */
#include <stdlib.h>

#include "json_fields.h"
#include "tkms/group_file.h"

#define WHAT "group file"
#define GROUP_FILE_VERSION 1

tkms_status tkms_group_file_parse(tkms_group **out, const char *json,
                                  size_t len, tkms_err *err)
{
    *out = NULL;
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
                                   err)) != TKMS_OK)
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
    *out = group;
    group = NULL;
done:
    tkms_group_free(group);
    free(commitments);
    free(listed);
    json_decref(root);
    return st;
}

tkms_status tkms_group_file_format(char **json_out, const tkms_group *group)
{
    *json_out = NULL;
    json_t *root = json_object();
    if (root == NULL ||
        json_object_set_new(root, "version", json_integer(GROUP_FILE_VERSION)) ||
        json_object_set_new(root, "group_public_key", json_public_key(&group->group_key)) ||
        json_object_set_new(root, "threshold", json_integer(group->threshold)) ||
        json_object_set_new(root, "shares", json_integer(group->share_count)) ||
        json_object_set_new(root, "commitments",
                            json_public_keys(group->commitments, group->threshold)) ||
        json_object_set_new(root, "share_public_keys",
                            json_public_keys(group->share_keys, group->share_count))) {
        json_decref(root);
        return TKMS_ERR_NO_MEMORY;
    }
    *json_out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (*json_out == NULL)
        return TKMS_ERR_NO_MEMORY;
    return TKMS_OK;
}
