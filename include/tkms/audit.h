/*
 * tkms/audit.h — the audit log: an append-only file of JSON lines, each
 * line carrying the SHA-256 of the line before it, so that changing,
 * removing, inserting or reordering any record breaks the chain at a
 * line that tkms_audit_verify_file names.
 *
 * Format. One JSON object per line, written compactly with its keys in
 * exactly this order (the bytes are canonical: a verifier re-serialises
 * each parsed line and requires the same bytes):
 *
 *   {"seq":n,"time":"YYYY-MM-DDTHH:MM:SSZ","event":"…","data":{…},"prev":"0x…"}
 *
 *   seq    1 for the first line, then consecutive;
 *   time   when the record was appended, RFC 3339 in UTC, whole seconds;
 *   event  the kind of record: 1..TKMS_AUDIT_MAX_EVENT_SIZE characters
 *          out of [a-z0-9._-] ("sign", "sign.refused", "admin.ban", …);
 *   data   the caller's JSON object, key order kept;
 *   prev   "0x" + hex of the SHA-256 of the previous line's bytes without
 *          its newline; 32 zero bytes for the first line.
 * Every line ends in "\n"; a line is at most TKMS_AUDIT_MAX_LINE_SIZE
 * bytes (without the newline); a log is at most TKMS_AUDIT_MAX_FILE_SIZE
 * bytes (rotate before that: start a new file and record the last hash
 * of the old one in the new one's first record).
 *
 * What the chain does not prove: the last line can be changed, and lines
 * can be cut off the end, without breaking the chain. Compare the last
 * hash printed by `tkms audit verify` with a copy kept elsewhere to cover
 * that.
 *
 * Secrets. The log is not secret (mode 0600 only keeps it private).
 * Callers must never pass secret material in `data` or `event`: no keys,
 * shares, passwords, seeds, decrypted bytes or tokens. Public keys,
 * signing roots, slots, peer names and refusal reasons are fine.
 *
 * Torn tail. A final line without its newline is what a crash during an
 * append leaves (the append had not returned TKMS_OK, so nobody acted on
 * it). Verification reports it as "line N is incomplete (torn write)",
 * and tkms_audit_open refuses such a log like any other broken one: it is
 * never repaired automatically (removing bytes from an audit log is the
 * operator's decision). The operator moves the log aside (keeping it as
 * evidence) or, having looked at it, cuts the torn line off.
 */
#ifndef TKMS_AUDIT_H
#define TKMS_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "tkms/status.h"

#define TKMS_AUDIT_HASH_SIZE 32                        /* SHA-256             */
#define TKMS_AUDIT_MAX_LINE_SIZE (64u * 1024u)         /* bytes, no newline   */
#define TKMS_AUDIT_MAX_FILE_SIZE ((uint64_t)4 << 30)   /* 4 GiB               */
#define TKMS_AUDIT_MAX_EVENT_SIZE 64                   /* characters          */

/* An audit log open for appending (one writer per file). */
typedef struct tkms_audit tkms_audit;

/*
 * Opens the audit log at `path` for appending, creating it (mode 0600,
 * empty) when absent. Takes an exclusive, non-blocking flock(2) on the
 * file that is held until tkms_audit_close: a second writer, in this or
 * another process, gets TKMS_ERR_IO ("… is in use by another writer").
 * Then reads and verifies the whole existing log (as
 * tkms_audit_verify_file) to learn the last seq and hash; a broken log —
 * tampered, torn, too long — is refused with the message naming the first
 * bad line, so nothing is ever appended to a log that does not verify.
 *
 * Returns TKMS_OK (*out is the handle), TKMS_ERR_IO (open, lock or read
 * failed), TKMS_ERR_BAD_FORMAT (the existing log does not verify),
 * TKMS_ERR_NO_MEMORY or TKMS_ERR_INVALID_ARGUMENT (NULL out or path).
 * On failure *out is NULL.
 */
tkms_status tkms_audit_open(tkms_audit **out, const char *path, tkms_err *err);

/*
 * Appends one record: event (see the format above) and data_json, the
 * text of a JSON object (duplicate keys refused). Builds the line, writes
 * it and its newline with one write(2), fsyncs the file, and only then
 * returns TKMS_OK: a caller that acts only after TKMS_OK (signs, bans,
 * answers) always has its record on disk first.
 *
 * data_json must not contain secret material (see above).
 *
 * Returns TKMS_OK, TKMS_ERR_INVALID_ARGUMENT (bad event, data not a JSON
 * object, line longer than TKMS_AUDIT_MAX_LINE_SIZE, log would exceed
 * TKMS_AUDIT_MAX_FILE_SIZE), TKMS_ERR_IO or TKMS_ERR_NO_MEMORY. After a
 * TKMS_ERR_IO the handle is failed (the write or fsync may have been
 * partial; the file is cut back to its last good size and fsynced). The
 * next append first makes sure of that cut (retrying it if it failed) and
 * that the file — locked by this handle, so no other writer — ends exactly
 * at the last record this handle wrote; then the handle is usable again
 * and the append goes on, so a disk that was full for a while needs no
 * restart. Otherwise the append returns TKMS_ERR_IO (and the next one
 * tries again). Argument errors leave the handle usable.
 */
tkms_status tkms_audit_append(tkms_audit *log, const char *event,
                              const char *data_json, tkms_err *err);

/* One record of a batch: as the arguments of tkms_audit_append. */
typedef struct {
    const char *event;       /* see the format above                      */
    const char *data_json;   /* the text of a JSON object; no secrets     */
} tkms_audit_record;

/*
 * Appends `count` records (records[0] first) as if by count calls of
 * tkms_audit_append, but with one write(2) of all their lines and one
 * fsync: TKMS_OK only once every one of them is on disk. They get
 * consecutive seqs, each line's prev is the hash of the line before it
 * (the last line of the log for records[0]), and all carry the same time.
 *
 * All or nothing. Every record is built and checked before anything is
 * written: an argument error in any of them writes none and names it
 * ("audit log: record 3 of 5: event must be …"; a batch of one reads as
 * tkms_audit_append). A failed or short write, or a failed fsync, cuts the
 * file back to where it ended before the batch (best effort, as
 * tkms_audit_append, with the same recovery on the next append): so
 * after a failure the log holds none of the batch's lines — unless the
 * cut itself failed, in which case the handle stays failed and every
 * later append is TKMS_ERR_IO until the log is reopened (and open refuses
 * the torn or unconfirmed tail for the operator to look at).
 *
 * `records` may be NULL when `count` is 0; a batch of 0 records writes
 * nothing and returns TKMS_OK. Returns TKMS_OK, TKMS_ERR_INVALID_ARGUMENT
 * (NULL log, a NULL or bad event or data in any record, a line longer than
 * TKMS_AUDIT_MAX_LINE_SIZE, the log would exceed TKMS_AUDIT_MAX_FILE_SIZE:
 * the handle stays usable), TKMS_ERR_IO or TKMS_ERR_NO_MEMORY.
 */
tkms_status tkms_audit_append_batch(tkms_audit *log, const tkms_audit_record *records,
                                    size_t count, tkms_err *err);

/* The seq of the last record (0 for an empty log). */
uint64_t tkms_audit_last_seq(const tkms_audit *log);

/* The SHA-256 of the last line (32 zero bytes for an empty log): the
 * `prev` of the next record. */
void tkms_audit_last_hash(const tkms_audit *log, uint8_t out[TKMS_AUDIT_HASH_SIZE]);

/* Releases the lock and the handle (NULL is fine). Every TKMS_OK append
 * is already durable; closing adds nothing to that. */
void tkms_audit_close(tkms_audit *log);

/*
 * Verifies the audit log at `path` without locking or changing it: every
 * line is present in full, parses, is canonical, has seq = its line
 * number and prev = the SHA-256 of the line before. Reports the first bad
 * line in err, e.g.
 *   "<path>: line 17: prev does not match the hash of line 16"
 *   "<path>: line 5: seq is 6, expected 5"
 *   "<path>: line 9 is incomplete (torn write)".
 * An empty file is a valid log of 0 records.
 *
 * On TKMS_OK, *lines (if not NULL) is the number of records and
 * last_hash (if not NULL) the SHA-256 of the last line (zeros when
 * empty). Returns TKMS_OK, TKMS_ERR_BAD_FORMAT (the log does not
 * verify), TKMS_ERR_IO (cannot open or read; larger than
 * TKMS_AUDIT_MAX_FILE_SIZE), TKMS_ERR_NO_MEMORY or
 * TKMS_ERR_INVALID_ARGUMENT.
 */
tkms_status tkms_audit_verify_file(const char *path, uint64_t *lines,
                                   uint8_t last_hash[TKMS_AUDIT_HASH_SIZE],
                                   tkms_err *err);

/*
 * The same verification on a log held in memory (`len` bytes at `buf`;
 * buf may be NULL when len is 0). Messages are as above without the path
 * prefix ("line 17: …"). Same results, without TKMS_ERR_IO (a buffer
 * longer than TKMS_AUDIT_MAX_FILE_SIZE is TKMS_ERR_BAD_FORMAT).
 */
tkms_status tkms_audit_verify_buffer(const uint8_t *buf, size_t len, uint64_t *lines,
                                     uint8_t last_hash[TKMS_AUDIT_HASH_SIZE],
                                     tkms_err *err);

#endif /* TKMS_AUDIT_H */
