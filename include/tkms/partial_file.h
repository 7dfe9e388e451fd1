/*
 * tkms/partial_file.h — partial signatures as files and arguments.
 *
 * Three forms are accepted:
 *   - `i:0xSIG` (share index, colon, 96-byte signature in hex), one or
 *     more, separated by white space — what `tkms sign` prints;
 *   - {"index": i, "signature": "0x…"}, what `tkms sign --json` prints for
 *     one share keystore;
 *   - an owner response, what `tkms sign --json` prints for several shares
 *     of one owner: {"owner": "alice", "partials": [{"index": i,
 *     "signature": "0x…"}, …]}.
 * Parsing checks the syntax, the index range (1..TKMS_MAX_SHARES), the hex
 * length, and that no index repeats; whether a signature is a valid point,
 * and whether the owner holds those indices, is for the caller (combiner,
 * owner map).
 */
#ifndef TKMS_PARTIAL_FILE_H
#define TKMS_PARTIAL_FILE_H

#include <stddef.h>

#include "tkms/combine.h"
#include "tkms/owners.h"
#include "tkms/status.h"

/* Largest partial document accepted, in bytes (an owner's response for
 * every index fits). */
#define TKMS_PARTIAL_FILE_MAX_SIZE (512u * 1024u)

/*
 * Parses `len` bytes of text (surrounding white space allowed) into up to
 * `capacity` partials; *count receives how many, and `owner` the owner id
 * of an owner response ("" for the other forms). Returns TKMS_OK or
 * TKMS_ERR_BAD_FORMAT / TKMS_ERR_BAD_ENCODING with the reason in err.
 */
tkms_status tkms_partials_parse(tkms_partial *out, size_t capacity,
                                size_t *count,
                                char owner[TKMS_OWNER_ID_MAX_SIZE + 1],
                                const char *text, size_t len, tkms_err *err);

/* Formats one partial as {"index": i, "signature": "0x…"} (NUL-terminated,
 * caller frees). NULL on OOM. */
char *tkms_partial_format_json(const tkms_partial *partial);

/* Formats an owner response {"owner": …, "partials": […]} (caller frees).
 * NULL on OOM. */
char *tkms_owner_response_format_json(const char *owner,
                                      const tkms_partial *partials, size_t count);

#endif /* TKMS_PARTIAL_FILE_H */
