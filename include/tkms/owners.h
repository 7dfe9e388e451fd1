/*
 * tkms/owners.h — owners of shares and the indices they hold (DESIGN §5).
 *
 * An owner runs one threshold server and may hold several shares. Share
 * indices are given to owners in ascending owner-id order by prefix sums,
 * so each owner holds one contiguous range (possibly empty). The owner map
 * answers "who owns index i" and "which indices does owner X hold"; the
 * router and the combiner use it to blame an owner, not just an index.
 *
 * Owner ids are 1..64 bytes of [A-Za-z0-9._-], not starting with '.' or
 * '-', so they are safe as file names and in logs.
 */
#ifndef TKMS_OWNERS_H
#define TKMS_OWNERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tkms/status.h"

#define TKMS_OWNER_ID_MAX_SIZE 64u            /* bytes, without the NUL */
#define TKMS_MAX_OWNERS 10000u

typedef struct {
    char id[TKMS_OWNER_ID_MAX_SIZE + 1];
    uint32_t first_index;   /* first share index held (0 when share_count == 0) */
    uint32_t share_count;   /* number of shares held, may be 0               */
} tkms_owner;

typedef struct {
    uint32_t total;         /* n: shares in the group                         */
    size_t count;           /* owners                                         */
    tkms_owner *owners;     /* in ascending id order (strcmp)                 */
    uint32_t *holder;       /* [total + 1]: holder[i] = position in owners[]
                               of index i's owner (holder[0] unused)          */
} tkms_owner_map;

/* True when `id` is a valid owner id (see above). */
bool tkms_owner_id_valid(const char *id);

/*
 * Builds an owner map from owner ids and share counts (in any order). The
 * owners are sorted by id and given indices by prefix sums. Returns
 * TKMS_ERR_BAD_FORMAT (with the reason) for an invalid or duplicate id, no
 * owners, more than TKMS_MAX_OWNERS, or counts that do not add up to a
 * total in 1..TKMS_MAX_SHARES; TKMS_ERR_NO_MEMORY.
 */
tkms_status tkms_owner_map_new(tkms_owner_map **out, const char *const *ids,
                               const uint32_t *share_counts, size_t count,
                               tkms_err *err);

void tkms_owner_map_free(tkms_owner_map *map);

/* The owner holding share `index`, or NULL if none (index out of range). */
const tkms_owner *tkms_owner_of(const tkms_owner_map *map, uint32_t index);

/* The owner with id `id`, or NULL. */
const tkms_owner *tkms_owner_find(const tkms_owner_map *map, const char *id);

#endif /* TKMS_OWNERS_H */
