/*
 * tkms/file.h — reading and writing whole files safely.
 *
 * Reads are bounded (a file larger than the caller's limit is refused
 * before it is read into memory). Writes are atomic: the data goes to a
 * temporary file in the same directory, is fsync'ed, then renamed over the
 * target, so a crash leaves either the old file or the new one, never half
 * of one.
 */
#ifndef TKMS_FILE_H
#define TKMS_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "tkms/status.h"

/*
 * Reads the whole file at `path` into a NUL-terminated malloc'ed buffer
 * (*out, length *out_len without the NUL). Refuses files over max_size
 * bytes. Returns TKMS_OK, TKMS_ERR_IO (with errno's text in err) or
 * TKMS_ERR_BAD_FORMAT (too large), or TKMS_ERR_NO_MEMORY.
 */
tkms_status tkms_file_read(const char *path, size_t max_size, char **out,
                           size_t *out_len, tkms_err *err);

/*
 * Atomically writes `len` bytes to `path` with permissions `mode`. With
 * `exclusive`, fails with TKMS_ERR_IO if `path` already exists (never
 * overwrites a keystore). Returns TKMS_OK or TKMS_ERR_IO.
 */
tkms_status tkms_file_write_atomic(const char *path, const void *data,
                                   size_t len, mode_t mode, bool exclusive,
                                   tkms_err *err);

/* fsyncs the directory holding `path`, making a rename or creation of
 * `path` durable. Best effort: errors are ignored. */
void tkms_file_sync_parent(const char *path);

/* Deletes `path` and everything below it (not following symbolic links)
 * and makes the deletion durable in its parent. An absent path is fine.
 * Returns TKMS_OK, or TKMS_ERR_IO naming what could not be deleted. */
tkms_status tkms_file_remove_tree(const char *path, tkms_err *err);

#endif /* TKMS_FILE_H */
