/*
 * tkms/group_file.h — the public group file (`group.json`).
 *
 *   { "version": 1,
 *     "group_public_key": "0x…",          48-byte G1, equals commitments[0]
 *     "threshold": K, "shares": n,
 *     "commitments": ["0x…", …],           K Feldman commitments
 *     "share_public_keys": ["0x…", …] }    n keys, entry i-1 is share i's
 *
 * Reading checks everything that can be checked: sizes and bounds, every
 * point decodes (subgroup, not identity), commitments[0] is the group key,
 * and every listed share key equals the one the commitments give. A group
 * file that passes cannot make an honest share look dishonest.
 */
#ifndef TKMS_GROUP_FILE_H
#define TKMS_GROUP_FILE_H

#include <stddef.h>

#include "tkms/shamir.h"
#include "tkms/status.h"

/* Largest group file accepted, in bytes. */
#define TKMS_GROUP_FILE_MAX_SIZE (1024u * 1024u)

/*
 * Parses and checks a group file of `len` bytes. On TKMS_OK, *out is a new
 * group (free with tkms_group_free). Otherwise TKMS_ERR_BAD_FORMAT (also
 * for a point that does not decode), TKMS_ERR_VERIFY_FAILED when a share
 * key does not match the commitments, or TKMS_ERR_NO_MEMORY, with the
 * reason in err.
 */
tkms_status tkms_group_file_parse(tkms_group **out, const char *json,
                                  size_t len, tkms_err *err);

/* Formats `group` as a group file (NUL-terminated, caller frees). */
tkms_status tkms_group_file_format(char **json_out, const tkms_group *group);

#endif /* TKMS_GROUP_FILE_H */
