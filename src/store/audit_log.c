/*
 * audit_log.c — the hash-chained, append-only audit log (tkms/audit.h):
 * the line checker (shared by the file and buffer verifiers and by open),
 * and the locked, fsynced appender (one record, or a batch of records
 * with one write and one fsync).
 */
#include "tkms/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "tkms/file.h"
#include "tkms/hex.h"

#define DUMP_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER)
#define TIME_LEN 20 /* "YYYY-MM-DDTHH:MM:SSZ" */

struct tkms_audit {
    int fd;
    bool failed;          /* a write or fsync failed: refuse further appends */
    bool cut_back;        /* after a failure: the file is back at `size`, durably */
    uint64_t seq;         /* last seq (0: empty)                              */
    uint64_t size;        /* bytes in the file                                */
    uint8_t prev[TKMS_AUDIT_HASH_SIZE];
};

/* Where the chain stands after the lines checked so far. */
typedef struct {
    uint64_t seq;
    uint8_t prev[TKMS_AUDIT_HASH_SIZE];
} chain;

static bool sha256(uint8_t out[TKMS_AUDIT_HASH_SIZE], const void *data, size_t len)
{
    return EVP_Digest(data, len, out, NULL, EVP_sha256(), NULL) == 1;
}

static bool event_ok(const char *event)
{
    size_t n = strlen(event);
    if (n == 0 || n > TKMS_AUDIT_MAX_EVENT_SIZE)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = event[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return false;
    }
    return true;
}

static bool digits(const char *s, int n, int min, int max)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    return v >= min && v <= max;
}

/* "YYYY-MM-DDTHH:MM:SSZ", fields in range (the day is not checked against
 * the month: the writer's clock is what it was). */
static bool time_ok(const char *t)
{
    return strlen(t) == TIME_LEN && digits(t, 4, 0, 9999) && t[4] == '-' &&
           digits(t + 5, 2, 1, 12) && t[7] == '-' && digits(t + 8, 2, 1, 31) && t[10] == 'T' &&
           digits(t + 11, 2, 0, 23) && t[13] == ':' && digits(t + 14, 2, 0, 59) &&
           t[16] == ':' && digits(t + 17, 2, 0, 60) && t[19] == 'Z';
}

/* The record's fields in their fixed order. */
static const char *const field_names[] = {"seq", "time", "event", "data", "prev"};

/* Checks line number st->seq + 1 (len bytes, no newline) and advances st. */
static tkms_status check_line(chain *st, const char *line, size_t len, tkms_err *err)
{
    uint64_t n = st->seq + 1;
    if (len == 0)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "line %llu is empty", (unsigned long long)n);
    if (len > TKMS_AUDIT_MAX_LINE_SIZE)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "line %llu is longer than %u bytes",
                         (unsigned long long)n, TKMS_AUDIT_MAX_LINE_SIZE);
    json_error_t jerr;
    json_t *rec = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (rec == NULL)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "line %llu is not JSON: %s",
                         (unsigned long long)n, jerr.text);
    tkms_status status = TKMS_ERR_BAD_FORMAT;
    char *dump = NULL;
    if (!json_is_object(rec) || json_object_size(rec) != 5) {
        tkms_fail(err, status, "line %llu is not an object of seq, time, event, data, prev",
                  (unsigned long long)n);
        goto done;
    }
    for (size_t i = 0; i < 5; i++)
        if (json_object_get(rec, field_names[i]) == NULL) {
            tkms_fail(err, status, "line %llu has no %s", (unsigned long long)n,
                      field_names[i]);
            goto done;
        }
    json_t *seq = json_object_get(rec, "seq");
    json_t *tm = json_object_get(rec, "time");
    json_t *event = json_object_get(rec, "event");
    json_t *data = json_object_get(rec, "data");
    json_t *prev = json_object_get(rec, "prev");
    if (!json_is_integer(seq) || json_integer_value(seq) < 1) {
        tkms_fail(err, status, "line %llu: seq is not a positive integer", (unsigned long long)n);
        goto done;
    }
    if ((uint64_t)json_integer_value(seq) != n) {
        tkms_fail(err, status, "line %llu: seq is %lld, expected %llu", (unsigned long long)n,
                  (long long)json_integer_value(seq), (unsigned long long)n);
        goto done;
    }
    if (!json_is_string(tm) || !time_ok(json_string_value(tm))) {
        tkms_fail(err, status, "line %llu: time is not YYYY-MM-DDTHH:MM:SSZ",
                  (unsigned long long)n);
        goto done;
    }
    if (!json_is_string(event) || strlen(json_string_value(event)) != json_string_length(event) ||
        !event_ok(json_string_value(event))) {
        tkms_fail(err, status, "line %llu: event is not 1..%d characters of [a-z0-9._-]",
                  (unsigned long long)n, TKMS_AUDIT_MAX_EVENT_SIZE);
        goto done;
    }
    if (!json_is_object(data)) {
        tkms_fail(err, status, "line %llu: data is not an object", (unsigned long long)n);
        goto done;
    }
    uint8_t want[TKMS_AUDIT_HASH_SIZE];
    if (!json_is_string(prev) || json_string_length(prev) != TKMS_HEX_SIZE(32) - 1 ||
        tkms_hex_decode(want, sizeof want, json_string_value(prev), NULL) != TKMS_OK ||
        strncmp(json_string_value(prev), "0x", 2) != 0) {
        tkms_fail(err, status, "line %llu: prev is not 0x and 64 hex digits",
                  (unsigned long long)n);
        goto done;
    }
    if (memcmp(want, st->prev, sizeof want) != 0) {
        if (n == 1)
            tkms_fail(err, status, "line 1: prev is not zero (the first record of a log)");
        else
            tkms_fail(err, status, "line %llu: prev does not match the hash of line %llu",
                      (unsigned long long)n, (unsigned long long)(n - 1));
        goto done;
    }
    /* Canonical bytes: what the writer would have produced for this record
     * (key order, compact, escapes), so equal records hash equally. */
    const char *keys[5] = {NULL, NULL, NULL, NULL, NULL};
    size_t k = 0;
    for (void *it = json_object_iter(rec); it != NULL && k < 5;
         it = json_object_iter_next(rec, it))
        keys[k++] = json_object_iter_key(it);
    for (size_t i = 0; i < 5; i++)
        if (keys[i] == NULL || strcmp(keys[i], field_names[i]) != 0) {
            tkms_fail(err, status, "line %llu: fields are not in the order seq, time, event, "
                      "data, prev", (unsigned long long)n);
            goto done;
        }
    dump = json_dumps(rec, DUMP_FLAGS);
    if (dump == NULL) {
        status = tkms_fail(err, TKMS_ERR_NO_MEMORY, "out of memory");
        goto done;
    }
    if (strlen(dump) != len || memcmp(dump, line, len) != 0) {
        tkms_fail(err, status, "line %llu is not in canonical form (compact, fixed key order)",
                  (unsigned long long)n);
        goto done;
    }
    if (!sha256(st->prev, line, len)) {
        status = tkms_fail(err, TKMS_ERR_NO_MEMORY, "SHA-256 failed");
        goto done;
    }
    st->seq = n;
    status = TKMS_OK;
done:
    free(dump);
    json_decref(rec);
    return status;
}

/*
 * Checks the complete lines in buf[0, len) and sets *used to the bytes
 * they take. What is left (no newline yet) must be at most a line long;
 * at the end of the input, anything left is a torn line.
 */
static tkms_status check_lines(chain *st, const uint8_t *buf, size_t len, bool at_eof,
                               size_t *used, tkms_err *err)
{
    size_t start = 0;
    *used = 0;
    while (start < len) {
        const uint8_t *nl = memchr(buf + start, '\n', len - start);
        if (nl == NULL)
            break;
        size_t line_len = (size_t)(nl - (buf + start));
        tkms_status s = check_line(st, (const char *)buf + start, line_len, err);
        if (s != TKMS_OK)
            return s;
        start += line_len + 1;
        *used = start;
    }
    size_t rest = len - start;
    if (rest > TKMS_AUDIT_MAX_LINE_SIZE)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "line %llu is longer than %u bytes",
                         (unsigned long long)(st->seq + 1), TKMS_AUDIT_MAX_LINE_SIZE);
    if (at_eof && rest > 0)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "line %llu is incomplete (torn write)",
                         (unsigned long long)(st->seq + 1));
    return TKMS_OK;
}

tkms_status tkms_audit_verify_buffer(const uint8_t *buf, size_t len, uint64_t *lines,
                                     uint8_t last_hash[TKMS_AUDIT_HASH_SIZE], tkms_err *err)
{
    tkms_err_clear(err);
    if (buf == NULL && len > 0)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "audit log buffer is NULL");
    if ((uint64_t)len > TKMS_AUDIT_MAX_FILE_SIZE)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "audit log is larger than %llu bytes",
                         (unsigned long long)TKMS_AUDIT_MAX_FILE_SIZE);
    chain st = {0};
    size_t used;
    tkms_status s = check_lines(&st, buf, len, true, &used, err);
    if (s != TKMS_OK)
        return s;
    if (lines != NULL)
        *lines = st.seq;
    if (last_hash != NULL)
        memcpy(last_hash, st.prev, TKMS_AUDIT_HASH_SIZE);
    return TKMS_OK;
}

/* Reads and checks the log on fd from its current offset (0) to the end,
 * holding at most a few lines in memory. *size is the bytes read. */
static tkms_status check_fd(int fd, chain *st, uint64_t *size, tkms_err *err)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return tkms_fail(err, TKMS_ERR_IO, "cannot stat: %s", strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return tkms_fail(err, TKMS_ERR_IO, "not a regular file");
    if ((uint64_t)sb.st_size > TKMS_AUDIT_MAX_FILE_SIZE)
        return tkms_fail(err, TKMS_ERR_IO, "larger than %llu bytes; rotate it",
                         (unsigned long long)TKMS_AUDIT_MAX_FILE_SIZE);
    const size_t cap = 4 * ((size_t)TKMS_AUDIT_MAX_LINE_SIZE + 1);
    uint8_t *buf = malloc(cap);
    if (buf == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "out of memory");
    size_t have = 0;
    uint64_t total = 0;
    tkms_status s = TKMS_OK;
    for (;;) {
        ssize_t r = read(fd, buf + have, cap - have);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            s = tkms_fail(err, TKMS_ERR_IO, "read failed: %s", strerror(errno));
            break;
        }
        total += (uint64_t)r;
        if (total > TKMS_AUDIT_MAX_FILE_SIZE) {
            s = tkms_fail(err, TKMS_ERR_IO, "larger than %llu bytes; rotate it",
                          (unsigned long long)TKMS_AUDIT_MAX_FILE_SIZE);
            break;
        }
        have += (size_t)r;
        size_t used;
        s = check_lines(st, buf, have, r == 0, &used, err);
        if (s != TKMS_OK || r == 0)
            break;
        memmove(buf, buf + used, have - used);
        have -= used;
    }
    free(buf);
    *size = total;
    return s;
}

tkms_status tkms_audit_verify_file(const char *path, uint64_t *lines,
                                   uint8_t last_hash[TKMS_AUDIT_HASH_SIZE], tkms_err *err)
{
    tkms_err_clear(err);
    if (path == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "audit log path is NULL");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tkms_fail(err, TKMS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    chain st = {0};
    uint64_t size;
    tkms_err local;
    tkms_status s = check_fd(fd, &st, &size, &local);
    close(fd);
    if (s != TKMS_OK)
        return tkms_fail(err, s, "%s: %s", path, local.message);
    if (lines != NULL)
        *lines = st.seq;
    if (last_hash != NULL)
        memcpy(last_hash, st.prev, TKMS_AUDIT_HASH_SIZE);
    return TKMS_OK;
}

tkms_status tkms_audit_open(tkms_audit **out, const char *path, tkms_err *err)
{
    tkms_err_clear(err);
    if (out == NULL || path == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "audit log: NULL argument");
    *out = NULL;
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return tkms_fail(err, TKMS_ERR_IO, "audit log %s: cannot open: %s", path,
                         strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            return tkms_fail(err, TKMS_ERR_IO,
                             "audit log %s is in use by another writer (locked)", path);
        return tkms_fail(err, TKMS_ERR_IO, "audit log %s: cannot lock: %s", path, strerror(e));
    }
    chain st = {0};
    uint64_t size;
    tkms_err local;
    tkms_status s = check_fd(fd, &st, &size, &local);
    if (s != TKMS_OK) {
        close(fd);
        if (s == TKMS_ERR_BAD_FORMAT)
            return tkms_fail(err, s, "audit log %s: %s; refusing to append (move it aside)",
                             path, local.message);
        return tkms_fail(err, s, "audit log %s: %s", path, local.message);
    }
    if (size == 0)
        tkms_file_sync_parent(path); /* a newly created log survives a crash */
    tkms_audit *log = calloc(1, sizeof *log);
    if (log == NULL) {
        close(fd);
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "out of memory");
    }
    log->fd = fd;
    log->seq = st.seq;
    log->size = size;
    memcpy(log->prev, st.prev, sizeof log->prev);
    *out = log;
    return TKMS_OK;
}

/* The current UTC time as "YYYY-MM-DDTHH:MM:SSZ". */
static bool now_utc(char out[TIME_LEN + 1])
{
    time_t t = time(NULL);
    struct tm tm;
    if (t == (time_t)-1 || gmtime_r(&t, &tm) == NULL)
        return false;
    return strftime(out, TIME_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm) == TIME_LEN;
}

/* Marks the handle failed and cuts the file back to its last good size. */
static tkms_status append_failed(tkms_audit *log, tkms_err *err, const char *what, int e)
{
    log->failed = true;
    log->cut_back = ftruncate(log->fd, (off_t)log->size) == 0 && fsync(log->fd) == 0;
    return tkms_fail(err, TKMS_ERR_IO, "audit log: %s: %s", what, strerror(e));
}

/* After a failed append: true (and the handle usable again) when the
 * failed write was cut back durably and the file (still held under our
 * exclusive lock) ends exactly at the last good record this handle wrote.
 * Otherwise the failure may be retried: the cut-back is attempted again. */
static bool recovered(tkms_audit *log)
{
    if (!log->cut_back)
        log->cut_back = ftruncate(log->fd, (off_t)log->size) == 0 && fsync(log->fd) == 0;
    struct stat sb;
    if (!log->cut_back || fstat(log->fd, &sb) != 0 || (uint64_t)sb.st_size != log->size)
        return false;
    log->failed = false;
    return true;
}

/* The bytes of a batch being built: its lines, each with its newline. */
typedef struct {
    char *text;
    size_t len, capacity;
} line_buffer;

static bool buffer_put(line_buffer *b, const char *line, size_t len)
{
    if (b->len + len + 1 > b->capacity) {
        size_t capacity = b->capacity ? b->capacity : 1024;
        while (capacity < b->len + len + 1)
            capacity *= 2;
        char *grown = realloc(b->text, capacity);
        if (grown == NULL)
            return false;
        b->text = grown;
        b->capacity = capacity;
    }
    memcpy(b->text + b->len, line, len);
    b->text[b->len + len] = '\n';
    b->len += len + 1;
    return true;
}

/*
 * Builds record number `seq` (event, data_json) chained to `prev` and adds
 * its line to b; on TKMS_OK `prev` is the new line's hash. `which` prefixes
 * messages ("" for a single append, "record 3: " in a batch).
 */
static tkms_status build_line(line_buffer *b, uint64_t seq, const char *when,
                              uint8_t prev[TKMS_AUDIT_HASH_SIZE], const char *event,
                              const char *data_json, const char *which, tkms_err *err)
{
    if (event == NULL || data_json == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "audit log: %sNULL argument", which);
    if (!event_ok(event))
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "audit log: %sevent must be 1..%d characters of [a-z0-9._-]", which,
                         TKMS_AUDIT_MAX_EVENT_SIZE);
    json_error_t jerr;
    json_t *data = json_loads(data_json, JSON_REJECT_DUPLICATES, &jerr);
    if (data == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "audit log: %sdata is not JSON: %s",
                         which, jerr.text);
    if (!json_is_object(data)) {
        json_decref(data);
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "audit log: %sdata is not an object",
                         which);
    }
    char prev_hex[TKMS_HEX_SIZE(TKMS_AUDIT_HASH_SIZE)];
    tkms_hex_encode(prev_hex, prev, TKMS_AUDIT_HASH_SIZE);

    tkms_status s = TKMS_ERR_NO_MEMORY;
    char *line = NULL;
    json_t *rec = json_object();
    if (rec == NULL ||
        json_object_set_new(rec, "seq", json_integer((json_int_t)seq)) != 0 ||
        json_object_set_new(rec, "time", json_string(when)) != 0 ||
        json_object_set_new(rec, "event", json_string(event)) != 0 ||
        json_object_set(rec, "data", data) != 0 ||
        json_object_set_new(rec, "prev", json_string(prev_hex)) != 0 ||
        (line = json_dumps(rec, DUMP_FLAGS)) == NULL) {
        tkms_fail(err, s, "audit log: out of memory");
        goto done;
    }
    size_t len = strlen(line);
    if (len > TKMS_AUDIT_MAX_LINE_SIZE) {
        s = tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                      "audit log: %srecord is %zu bytes, more than %u", which, len,
                      TKMS_AUDIT_MAX_LINE_SIZE);
        goto done;
    }
    uint8_t hash[TKMS_AUDIT_HASH_SIZE];
    if (!sha256(hash, line, len)) {
        s = tkms_fail(err, TKMS_ERR_NO_MEMORY, "audit log: SHA-256 failed");
        goto done;
    }
    if (!buffer_put(b, line, len)) {
        tkms_fail(err, s, "audit log: out of memory");
        goto done;
    }
    memcpy(prev, hash, TKMS_AUDIT_HASH_SIZE);
    s = TKMS_OK;
done:
    free(line);
    json_decref(rec);
    json_decref(data);
    return s;
}

/* Builds every line, then writes them with one write(2) and one fsync. */
static tkms_status append_records(tkms_audit *log, const tkms_audit_record *records,
                                  size_t count, tkms_err *err)
{
    tkms_err_clear(err);
    if (log == NULL || (records == NULL && count > 0))
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "audit log: NULL argument");
    if (count == 0)
        return TKMS_OK;
    if (log->failed && !recovered(log))
        return tkms_fail(err, TKMS_ERR_IO,
                         "audit log: an earlier write failed and could not be cut back to the "
                         "last good record yet");
    char when[TIME_LEN + 1];
    bool clock_ok = now_utc(when);
    if (!clock_ok)
        snprintf(when, sizeof when, "1970-01-01T00:00:00Z");   /* never written */

    line_buffer b = {NULL, 0, 0};
    uint8_t prev[TKMS_AUDIT_HASH_SIZE];
    memcpy(prev, log->prev, sizeof prev);
    tkms_status s = TKMS_OK;
    for (size_t i = 0; i < count && s == TKMS_OK; i++) {
        char which[64] = "";
        if (count > 1)
            snprintf(which, sizeof which, "record %zu of %zu: ", i + 1, count);
        s = build_line(&b, log->seq + 1 + i, when, prev, records[i].event,
                       records[i].data_json, which, err);
        if (s == TKMS_OK && !clock_ok)   /* arguments first, as a single append did */
            s = tkms_fail(err, TKMS_ERR_IO, "audit log: cannot read the clock");
    }
    if (s != TKMS_OK)
        goto done;
    if (log->size + b.len > TKMS_AUDIT_MAX_FILE_SIZE) {
        s = tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "audit log: full (%llu bytes); rotate it",
                      (unsigned long long)TKMS_AUDIT_MAX_FILE_SIZE);
        goto done;
    }
    ssize_t w;
    do
        w = write(log->fd, b.text, b.len);
    while (w < 0 && errno == EINTR);
    if (w < 0) {
        s = append_failed(log, err, "write failed", errno);
        goto done;
    }
    if ((size_t)w != b.len) {
        s = append_failed(log, err, "short write", ENOSPC);
        goto done;
    }
    if (fsync(log->fd) != 0) {
        s = append_failed(log, err, "fsync failed", errno);
        goto done;
    }
    log->seq += count;
    log->size += b.len;
    memcpy(log->prev, prev, sizeof prev);
done:
    free(b.text);
    return s;
}

tkms_status tkms_audit_append(tkms_audit *log, const char *event, const char *data_json,
                              tkms_err *err)
{
    if (event == NULL || data_json == NULL) {
        tkms_err_clear(err);
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "audit log: NULL argument");
    }
    tkms_audit_record record = {event, data_json};
    return append_records(log, &record, 1, err);
}

tkms_status tkms_audit_append_batch(tkms_audit *log, const tkms_audit_record *records,
                                    size_t count, tkms_err *err)
{
    return append_records(log, records, count, err);
}

uint64_t tkms_audit_last_seq(const tkms_audit *log)
{
    return log->seq;
}

void tkms_audit_last_hash(const tkms_audit *log, uint8_t out[TKMS_AUDIT_HASH_SIZE])
{
    memcpy(out, log->prev, TKMS_AUDIT_HASH_SIZE);
}

void tkms_audit_close(tkms_audit *log)
{
    if (log == NULL)
        return;
    close(log->fd); /* releases the flock */
    free(log);
}
