/*
 * tkms/log.h — the daemons' operational log: one logfmt line per event on
 * stderr (DESIGN §6), with a level and a threshold.
 *
 *   time=2026-11-21T10:00:00.123Z level=info msg="listening" addr=127.0.0.1:9000
 *
 * The caller gives the message and then key=value pairs already formatted
 * as logfmt (use tkms_log_quote for values that may hold spaces, quotes or
 * control characters). Lines are written with one write(2) each, so lines
 * from several threads never interleave. Never pass secret material.
 */
#ifndef TKMS_LOG_H
#define TKMS_LOG_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    TKMS_LOG_ERROR = 0,
    TKMS_LOG_WARN = 1,
    TKMS_LOG_INFO = 2,
    TKMS_LOG_DEBUG = 3,
} tkms_log_level;

/* Longest line written (longer ones are cut, ending in "…"). */
#define TKMS_LOG_MAX_LINE 2048

/* Sets the threshold: events above `level` are dropped (default INFO). */
void tkms_log_set_level(tkms_log_level level);

/* Parses "error", "warn", "info" or "debug"; false for anything else. */
bool tkms_log_level_parse(const char *name, tkms_log_level *out);

/* True when events at `level` are written (to skip costly formatting). */
bool tkms_log_enabled(tkms_log_level level);

/*
 * Writes one line: time, level, msg="<msg>" (quoted), then the printf-style
 * `fields` (may be NULL) as given, e.g. "addr=%s port=%u".
 */
void tkms_log(tkms_log_level level, const char *msg, const char *fields, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Writes `value` into `out` (`size` bytes, at least 3) as a logfmt value:
 * bare when it is non-empty and has no space, '=', '"' or control
 * character; otherwise quoted with \" \\ \n \t and \xHH escapes. Cuts to
 * fit. Returns out.
 */
const char *tkms_log_quote(char *out, size_t size, const char *value);

#endif /* TKMS_LOG_H */
