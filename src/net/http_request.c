/*
 * http_request.c — the HTTP/1.1 request reader of http_request.h: finds
 * the end of a request head in bytes that arrive in pieces, bounded by
 * max_header, and parses the head in place (request line, headers,
 * Content-Length / Transfer-Encoding / Expect / Connection) into a
 * tkms_http_head, or a refusal with its status and reason. No I/O, no
 * libevent, no OpenSSL: http_server.c feeds it what the connection read.
 *
 * The head is copied into the reader's buffer only up to its end (the
 * first CRLF CRLF), found without rescanning: a terminator is either
 * across the boundary of the bytes held and the new ones (a 6-byte window)
 * or wholly inside the new ones. The parser then works on that one
 * NUL-terminated buffer: it checks there is no NUL in it, cuts it into
 * strings in place and percent-decodes the path in place (decoding only
 * shrinks it), so a parsed head is a single allocation.
 */
#include "http_request.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* First size of a reader's buffer; it doubles up to max_header + 1. */
#define INITIAL_CAPACITY 256u

static const char too_large[] = "request line and headers are too large";

static bool is_tchar(unsigned char ch)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
        return true;
    return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static int hex_value(unsigned char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Percent-decodes the `n` bytes at p in place and NUL-terminates the
 * result (at most at p[n]). False on a bad escape or "%00". */
static bool decode_path(char *p, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '%') {
            p[o++] = p[i];
            continue;
        }
        int hi = i + 1 < n ? hex_value((unsigned char)p[i + 1]) : -1;
        int lo = i + 2 < n ? hex_value((unsigned char)p[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return false;
        p[o++] = (char)(hi * 16 + lo);
        i += 2;
    }
    p[o] = '\0';
    return true;
}

/*
 * Parses the head in h (NUL-terminated, `len` bytes, ending in "\r\n\r\n"
 * which occurs nowhere before) into *out, cutting h into strings. Returns
 * 0, or the status to refuse with and the reason in *why (static, or in
 * r->reason).
 */
static int parse_head(tkms_http_reader *r, char *h, size_t len, tkms_http_head *out,
                      const char **why)
{
    if (memchr(h, '\0', len) != NULL)
        return *why = "NUL byte in the request head", 400;

    char *line = h;
    char *end = strstr(line, "\r\n");
    *end = '\0';
    if (strpbrk(line, "\r\n\t") != NULL)
        return *why = "malformed request line", 400;
    char *sp1 = strchr(line, ' ');
    char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (sp1 == NULL || sp2 == NULL || strchr(sp2 + 1, ' ') != NULL)
        return *why = "malformed request line", 400;
    *sp1 = *sp2 = '\0';
    const char *method = line, *version = sp2 + 1;
    char *target = sp1 + 1;
    size_t mlen = strlen(method);
    if (mlen == 0 || mlen > TKMS_HTTP_METHOD_MAX)
        return *why = "malformed request method", 400;
    for (size_t i = 0; i < mlen; i++)
        if (!is_tchar((unsigned char)method[i]))
            return *why = "malformed request method", 400;
    int minor;
    if (strcmp(version, "HTTP/1.1") == 0)
        minor = 1;
    else if (strcmp(version, "HTTP/1.0") == 0)
        minor = 0;
    else if (strncmp(version, "HTTP/", 5) == 0 && version[5] >= '0' && version[5] <= '9' &&
             version[6] == '.' && version[7] >= '0' && version[7] <= '9' && version[8] == '\0')
        return *why = "only HTTP/1.1 and HTTP/1.0 are supported", 505;
    else
        return *why = "malformed HTTP version", 400;

    if (target[0] != '/')
        return *why = "the request target must be a path starting with '/'", 400;
    for (const char *p = target; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '#')
            return *why = "invalid character in the request target", 400;
    char *q = strchr(target, '?');
    size_t path_len = q ? (size_t)(q - target) : strlen(target);
    /* the query, if any, starts after the '?' the decoded path may end on */
    out->query = q != NULL && q[1] != '\0' ? q + 1 : NULL;
    if (!decode_path(target, path_len))
        return *why = "bad percent-encoding in the request path", 400;
    out->path = target;
    out->version_minor = minor;

    if (strcmp(method, "GET") == 0)
        out->method = "GET";
    else if (strcmp(method, "POST") == 0)
        out->method = "POST";
    else if (strcmp(method, "PUT") == 0)
        out->method = "PUT";
    else if (strcmp(method, "DELETE") == 0)
        out->method = "DELETE";
    else if (strcmp(method, "HEAD") == 0)
        out->method = "HEAD";
    else
        out->method = "OTHER";
    out->head_only = strcmp(method, "HEAD") == 0;

    bool have_length = false, chunked = false, want_close = false, keep_alive = false;
    for (line = end + 2; strncmp(line, "\r\n", 2) != 0; line = end + 2) {
        end = strstr(line, "\r\n");
        *end = '\0';
        if (line[0] == ' ' || line[0] == '\t')
            return *why = "obsolete header line folding", 400;
        if (strpbrk(line, "\r\n") != NULL)
            return *why = "bare CR or LF in the request head", 400;
        char *colon = strchr(line, ':');
        if (colon == NULL || colon == line)
            return *why = "malformed header line", 400;
        for (char *p = line; p < colon; p++)
            if (!is_tchar((unsigned char)*p))
                return *why = "malformed header name", 400;
        *colon = '\0';
        char *value = colon + 1;
        while (*value == ' ' || *value == '\t')
            value++;
        char *vend = value + strlen(value);
        while (vend > value && (vend[-1] == ' ' || vend[-1] == '\t'))
            *--vend = '\0';
        for (const char *p = value; *p; p++) {
            unsigned char c = (unsigned char)*p;
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return *why = "control character in a header value", 400;
        }
        if (out->nheaders == TKMS_HTTP_MAX_HEADERS)
            return *why = "too many header lines", 431;
        out->headers[out->nheaders].name = line;
        out->headers[out->nheaders].value = value;
        out->nheaders++;

        if (strcasecmp(line, "Content-Length") == 0) {
            size_t n = 0, digits = strlen(value);
            if (have_length || digits == 0 || digits > 18 ||
                strspn(value, "0123456789") != digits)
                return *why = "bad or repeated Content-Length", 400;
            for (size_t i = 0; i < digits; i++)
                n = n * 10 + (size_t)(value[i] - '0');
            out->content_length = n;
            have_length = true;
        } else if (strcasecmp(line, "Transfer-Encoding") == 0) {
            chunked = true;
        } else if (strcasecmp(line, "Connection") == 0) {
            /* comma-separated tokens */
            for (const char *p = value; *p;) {
                p += strspn(p, " \t,");
                size_t n = strcspn(p, " \t,");
                if (n == 5 && strncasecmp(p, "close", 5) == 0)
                    want_close = true;
                else if (n == 10 && strncasecmp(p, "keep-alive", 10) == 0)
                    keep_alive = true;
                p += n;
            }
        } else if (strcasecmp(line, "Expect") == 0) {
            if (strcasecmp(value, "100-continue") != 0)
                return *why = "unsupported Expect header", 417;
            out->expect_continue = minor == 1;
        }
    }
    if (chunked)
        return *why = "a request body needs a Content-Length (Transfer-Encoding is not supported)",
               411;
    if (out->content_length > r->max_body) {
        snprintf(r->reason, sizeof r->reason, "request body larger than %zu bytes", r->max_body);
        return *why = r->reason, 413;
    }
    out->keep_alive = !want_close && (minor == 1 || keep_alive);
    return 0;
}

void tkms_http_reader_init(tkms_http_reader *r, size_t max_header, size_t max_body)
{
    if (max_header == 0)
        max_header = TKMS_HTTP_DEFAULT_MAX_HEADER;
    else if (max_header < TKMS_HTTP_MIN_HEADER_LIMIT)
        max_header = TKMS_HTTP_MIN_HEADER_LIMIT;
    else if (max_header > TKMS_HTTP_MAX_HEADER_LIMIT)
        max_header = TKMS_HTTP_MAX_HEADER_LIMIT;
    if (max_body == 0)
        max_body = TKMS_HTTP_DEFAULT_MAX_BODY;
    else if (max_body > TKMS_HTTP_MAX_BODY_LIMIT)
        max_body = TKMS_HTTP_MAX_BODY_LIMIT;
    memset(r, 0, sizeof *r);
    r->max_header = max_header;
    r->max_body = max_body;
}

void tkms_http_reader_free(tkms_http_reader *r)
{
    if (r == NULL)
        return;
    free(r->buf);
    r->buf = NULL;
    r->len = r->cap = 0;
}

/* Makes the reader refuse from now on; returns TKMS_HTTP_REFUSED. */
static tkms_http_read_result refuse(tkms_http_reader *r, int status, const char *why,
                                    tkms_http_refusal *refusal)
{
    free(r->buf);
    r->buf = NULL;
    r->len = r->cap = 0;
    r->refused = true;
    r->refusal.status = status;
    r->refusal.reason = why;
    *refusal = r->refusal;
    return TKMS_HTTP_REFUSED;
}

/* Room for `need` bytes and a NUL in r->buf (need <= max_header). */
static bool reserve(tkms_http_reader *r, size_t need)
{
    if (need + 1 <= r->cap)
        return true;
    size_t cap = r->cap ? r->cap : INITIAL_CAPACITY;
    while (cap < need + 1)
        cap *= 2;
    if (cap > r->max_header + 1)
        cap = r->max_header + 1;
    char *p = realloc(r->buf, cap);
    if (p == NULL)
        return false;
    r->buf = p;
    r->cap = cap;
    return true;
}

/* Appends n bytes (the caller checked they fit in max_header). */
static bool append(tkms_http_reader *r, const char *p, size_t n)
{
    if (!reserve(r, r->len + n))
        return false;
    memcpy(r->buf + r->len, p, n);
    r->len += n;
    return true;
}

/* How many of the n bytes at p complete a head begun by the r->len bytes
 * held (the first "\r\n\r\n" ends there), or 0 when they do not. */
static size_t head_end(const tkms_http_reader *r, const char *p, size_t n)
{
    static const char crlf2[4] = {'\r', '\n', '\r', '\n'};
    /* across the boundary: the last 3 bytes held and the first 3 new */
    char window[6];
    size_t old = r->len < 3 ? r->len : 3, fresh = n < 3 ? n : 3;
    if (old > 0)
        memcpy(window, r->buf + r->len - old, old);
    memcpy(window + old, p, fresh);
    const char *at = memmem(window, old + fresh, crlf2, 4);
    if (at != NULL) /* it starts among the held bytes (none holds it whole) */
        return (size_t)(at - window) + 4 - old;
    at = memmem(p, n, crlf2, 4);
    return at != NULL ? (size_t)(at - p) + 4 : 0;
}

tkms_http_read_result tkms_http_reader_feed(tkms_http_reader *r, const void *data, size_t len,
                                            size_t *used, tkms_http_head *head,
                                            tkms_http_refusal *refusal)
{
    const char *in = data;
    *used = 0;
    if (r->refused) {
        *refusal = r->refusal;
        return TKMS_HTTP_REFUSED;
    }
    size_t i = 0;
    /* Empty lines before the request are skipped (RFC 9112 §2.2). */
    while (!r->started && i < len) {
        if (!r->cr && in[i] == '\r') {
            r->cr = true;
            i++;
        } else if (r->cr && in[i] == '\n') {
            r->cr = false;
            i++;
        } else {
            r->started = true;
            /* a CR not followed by LF begins the request */
            if (r->cr && !append(r, "\r", 1)) {
                *used = i;
                return refuse(r, 500, "out of memory", refusal);
            }
            r->cr = false;
        }
    }
    if (i == len) {
        *used = len;
        return TKMS_HTTP_NEED_MORE;
    }

    size_t room = r->max_header - r->len; /* > 0: a full buffer was refused */
    size_t take = len - i < room ? len - i : room;
    size_t end = head_end(r, in + i, take);
    size_t n = end != 0 ? end : take;
    if (!append(r, in + i, n)) {
        *used = i;
        return refuse(r, 500, "out of memory", refusal);
    }
    *used = i + n;
    if (end == 0) {
        if (r->len == r->max_header)
            return refuse(r, 431, too_large, refusal);
        return TKMS_HTTP_NEED_MORE;
    }

    r->buf[r->len] = '\0';
    tkms_http_head h;
    memset(&h, 0, sizeof h);
    h.buf = r->buf;
    h.size = r->len;
    const char *why = NULL;
    int status = parse_head(r, r->buf, r->len, &h, &why);
    if (status != 0)
        return refuse(r, status, why, refusal);
    /* the buffer is the head's now; the reader starts afresh */
    r->buf = NULL;
    r->len = r->cap = 0;
    r->started = false;
    *head = h;
    return TKMS_HTTP_HEAD_READY;
}

const char *tkms_http_head_header(const tkms_http_head *head, const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < head->nheaders; i++)
        if (strcasecmp(head->headers[i].name, name) == 0)
            return head->headers[i].value;
    return NULL;
}

void tkms_http_head_free(tkms_http_head *head)
{
    if (head == NULL)
        return;
    free(head->buf);
    memset(head, 0, sizeof *head);
}
