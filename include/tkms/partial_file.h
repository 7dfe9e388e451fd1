/*
 * tkms/partial_file.h — partial signatures as files and arguments.
 *
 * Two forms are accepted:
 *   - `i:0xSIG`   (share index, colon, 96-byte signature in hex), and
 *   - the JSON that `tkms sign --json` prints for a share keystore:
 *     {"index": i, "signature": "0x…"}.
 * Parsing checks the syntax, the index range (1..TKMS_MAX_SHARES) and the
 * hex length; whether the signature is a valid point is for the combiner.
 */
#ifndef TKMS_PARTIAL_FILE_H
#define TKMS_PARTIAL_FILE_H

#include <stddef.h>

#include "tkms/combine.h"
#include "tkms/status.h"

/* Largest partial document accepted, in bytes. */
#define TKMS_PARTIAL_FILE_MAX_SIZE (64u * 1024u)

/*
 * Parses `len` bytes of text (surrounding white space allowed) into up to
 * `capacity` partials; *count receives how many. Returns TKMS_OK or
 * TKMS_ERR_BAD_FORMAT / TKMS_ERR_BAD_ENCODING with the reason in err.
 */
tkms_status tkms_partials_parse(tkms_partial *out, size_t capacity,
                                size_t *count, const char *text, size_t len,
                                tkms_err *err);

/* Formats one partial as {"index": i, "signature": "0x…"} (NUL-terminated,
 * caller frees). NULL on OOM. */
char *tkms_partial_format_json(const tkms_partial *partial);

#endif /* TKMS_PARTIAL_FILE_H */
