/*
 * log.c — logfmt lines on stderr for the daemons (contract in tkms/log.h).
 */
#include "tkms/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int threshold = TKMS_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void tkms_log_set_level(tkms_log_level level)
{
    atomic_store(&threshold, (int)level);
}

bool tkms_log_level_parse(const char *name, tkms_log_level *out)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (name != NULL && strcmp(name, level_names[i]) == 0) {
            *out = (tkms_log_level)i;
            return true;
        }
    }
    return false;
}

bool tkms_log_enabled(tkms_log_level level)
{
    return (int)level <= atomic_load(&threshold);
}

const char *tkms_log_quote(char *out, size_t size, const char *value)
{
    if (value == NULL)
        value = "";
    bool bare = value[0] != '\0';
    for (const unsigned char *p = (const unsigned char *)value; *p && bare; p++)
        bare = *p > ' ' && *p != '=' && *p != '"' && *p != 0x7f;
    if (bare) {
        snprintf(out, size, "%s", value);
        return out;
    }
    size_t n = 0;
    out[n++] = '"';
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        char esc[5];
        if (*p == '"' || *p == '\\')
            snprintf(esc, sizeof esc, "\\%c", *p);
        else if (*p == '\n')
            snprintf(esc, sizeof esc, "\\n");
        else if (*p == '\t')
            snprintf(esc, sizeof esc, "\\t");
        else if (*p < ' ' || *p == 0x7f)
            snprintf(esc, sizeof esc, "\\x%02x", *p);
        else
            snprintf(esc, sizeof esc, "%c", *p);
        size_t len = strlen(esc);
        if (n + len + 2 > size)
            break;
        memcpy(out + n, esc, len);
        n += len;
    }
    out[n++] = '"';
    out[n] = '\0';
    return out;
}

void tkms_log(tkms_log_level level, const char *msg, const char *fields, ...)
{
    if (!tkms_log_enabled(level) || (unsigned)level > TKMS_LOG_DEBUG)
        return;
    char line[TKMS_LOG_MAX_LINE];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    char quoted[512];
    int n = snprintf(line, sizeof line,
                     "time=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s msg=%s",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, now.tv_nsec / 1000000, level_names[level],
                     tkms_log_quote(quoted, sizeof quoted, msg));
    size_t len = n < 0 ? 0 : (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    if (fields != NULL && len + 1 < sizeof line) {
        line[len++] = ' ';
        va_list ap;
        va_start(ap, fields);
        n = vsnprintf(line + len, sizeof line - len, fields, ap);
        va_end(ap);
        len = n < 0 ? len : len + (size_t)n < sizeof line ? len + (size_t)n : sizeof line - 1;
    }
    if (len >= sizeof line - 1) {               /* cut: end in an ellipsis */
        memcpy(line + sizeof line - 5, "\xe2\x80\xa6", 3);
        len = sizeof line - 2;
    }
    line[len++] = '\n';
    ssize_t unused = write(STDERR_FILENO, line, len);
    (void)unused;
}
