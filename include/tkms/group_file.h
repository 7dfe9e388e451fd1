/*
 * tkms/group_file.h — the public group file (`group.json`).
 *
 *   { "version": 1,
 *     "group_public_key": "0x…",          48-byte G1, equals commitments[0]
 *     "threshold": K, "shares": n,
 *     "commitments": ["0x…", …],           K Feldman commitments
 *     "share_public_keys": ["0x…", …],     n keys, entry i-1 is share i's
 *     "owners": [{"id": "alice", "indices": [1, 2, …]}, …] }   optional
 *
 * `owners` is present for weighted groups (tkms split --allocation, DKG):
 * owners in ascending id order, each holding the contiguous indices that
 * prefix sums give (DESIGN §5), together exactly 1..n; an owner may hold
 * none ("indices": []).
 *
 * Reading checks everything that can be checked: sizes and bounds, every
 * point decodes (subgroup, not identity), commitments[0] is the group key,
 * every listed share key equals the one the commitments give, and the
 * owners' indices are the prefix-sum ranges. A group file that passes
 * cannot make an honest share look dishonest.
 */
#ifndef TKMS_GROUP_FILE_H
#define TKMS_GROUP_FILE_H

#include <stddef.h>

#include "tkms/owners.h"
#include "tkms/shamir.h"
#include "tkms/status.h"

/* Largest group file accepted, in bytes. */
#define TKMS_GROUP_FILE_MAX_SIZE (1024u * 1024u)

/* What a group file holds. */
typedef struct {
    tkms_group *group;
    tkms_owner_map *owners;   /* NULL when the file lists no owners */
} tkms_group_file;

/*
 * Parses and checks a group file of `len` bytes. On TKMS_OK, *out holds a
 * new group (and owner map, if any); release with tkms_group_file_clear.
 * Otherwise TKMS_ERR_BAD_FORMAT (also for a point that does not decode),
 * TKMS_ERR_VERIFY_FAILED when a share key does not match the commitments,
 * or TKMS_ERR_NO_MEMORY, with the reason in err, and *out is empty.
 */
tkms_status tkms_group_file_parse(tkms_group_file *out, const char *json,
                                  size_t len, tkms_err *err);

/* Frees what *file holds and empties it. */
void tkms_group_file_clear(tkms_group_file *file);

/* Formats a group file (NUL-terminated, caller frees). `owners` may be
 * NULL; otherwise its total must equal the group's n. */
tkms_status tkms_group_file_format(char **json_out, const tkms_group *group,
                                   const tkms_owner_map *owners);

#endif /* TKMS_GROUP_FILE_H */
