/*
 * fuzz_http_request.c — libFuzzer target for the HTTP/1.1 request reader
 * (src/net/http_request.h), which parses every byte a client of the HTTPS
 * server sends before a request body.
 *
 * The input is what one client sends on one connection. It is read as the
 * server reads it: a head, then its content_length bytes of body (passed
 * over), then the next head, until a refusal or the end of the input; at
 * the end, if no body is pending and nothing was refused, "\r\n\r\n" is
 * fed too, so that what the reader still holds shows in the outcome. This
 * is done under two sets of limits: the smallest (max_header 256,
 * max_body 64, so 431 and 413 are reached) and the server's defaults.
 *
 * Asserted, with INVARIANT:
 *   - a refusal has a status among 400 411 413 417 431 500 505 and a
 *     reason of 1..95 printable ASCII bytes; the reader then stays refused
 *     (same refusal, nothing taken);
 *   - "need more" takes every byte given; a head takes at most those;
 *   - a head: 16..max_header bytes; one of the six method names, head_only
 *     exactly for HEAD; a path starting with '/' inside the head's buffer;
 *     a query NULL or non-empty of visible ASCII without '#'; HTTP/1.0 or
 *     1.1; at most TKMS_HTTP_MAX_HEADERS headers, each a non-empty token
 *     name and a value without control characters (HT aside) nor spaces at
 *     its ends; content_length <= max_body and the Content-Length header's
 *     value (0 without one); no Transfer-Encoding; an Expect header only
 *     "100-continue", expect_continue exactly for it with HTTP/1.1;
 *     keep_alive as the version and the Connection tokens say;
 *   - the outcomes (each head in full, each refusal, what is left) are the
 *     same whether the input is fed in one piece, in two pieces at any
 *     split point (all of them for inputs up to 160 bytes; else 48 spread
 *     over the input and those next to each of its first 32 CRs or LFs),
 *     or a byte at a time.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../src/net/http_request.h"
#include "fuzz_common.h"

typedef struct {
    size_t max_header, max_body;
} limits;

/* The outcomes of one run, as bytes to compare. */
typedef struct {
    uint8_t *p;
    size_t len, cap;
} record;

static void rec_add(record *r, const void *p, size_t n)
{
    if (r->len + n > r->cap) {
        size_t cap = r->cap ? r->cap : 1024;
        while (cap < r->len + n)
            cap *= 2;
        r->p = realloc(r->p, cap);
        INVARIANT(r->p != NULL);
        r->cap = cap;
    }
    memcpy(r->p + r->len, p, n);
    r->len += n;
}

static void rec_str(record *r, const char *s)
{
    if (s == NULL)
        rec_add(r, "\xff", 1);
    else
        rec_add(r, s, strlen(s) + 1);
}

static void rec_size(record *r, size_t v)
{
    rec_add(r, &v, sizeof v);
}

static bool is_token(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && strchr("!#$%&'*+-.^_`|~", c) == NULL)
            return false;
    }
    return true;
}

static bool inside(const tkms_http_head *h, const char *p)
{
    return p >= h->buf && p < h->buf + h->size;
}

static void check_refusal(const tkms_http_refusal *no)
{
    static const int statuses[] = {400, 411, 413, 417, 431, 500, 505};
    bool known = false;
    for (size_t i = 0; i < sizeof statuses / sizeof *statuses; i++)
        known |= no->status == statuses[i];
    INVARIANT(known && no->status >= 400 && no->status <= 505);
    INVARIANT(no->reason != NULL);
    size_t n = strlen(no->reason);
    INVARIANT(n >= 1 && n <= 95);
    for (size_t i = 0; i < n; i++)
        INVARIANT(no->reason[i] >= 0x20 && no->reason[i] <= 0x7e);
}

static void check_head(const tkms_http_head *h, const limits *lim)
{
    INVARIANT(h->buf != NULL && h->size >= 16 && h->size <= lim->max_header);
    static const char *const methods[] = {"GET", "POST", "PUT", "DELETE", "HEAD", "OTHER"};
    bool known = false;
    for (size_t i = 0; i < 6; i++)
        known |= h->method == methods[i] || strcmp(h->method, methods[i]) == 0;
    INVARIANT(known);
    INVARIANT(h->head_only == (strcmp(h->method, "HEAD") == 0));
    INVARIANT(inside(h, h->path) && h->path[0] == '/' && strlen(h->path) < h->size);
    if (h->query != NULL) {
        INVARIANT(inside(h, h->query) && h->query[0] != '\0');
        for (const char *p = h->query; *p; p++)
            INVARIANT(*p > 0x20 && *p < 0x7f && *p != '#');
    }
    INVARIANT(h->version_minor == 0 || h->version_minor == 1);
    INVARIANT(h->nheaders <= TKMS_HTTP_MAX_HEADERS);

    bool have_length = false, have_expect = false, close = false, keep = false;
    size_t length = 0;
    for (size_t i = 0; i < h->nheaders; i++) {
        const char *name = h->headers[i].name, *value = h->headers[i].value;
        INVARIANT(inside(h, name) && inside(h, value) && is_token(name));
        size_t n = strlen(value);
        INVARIANT(n == 0 || (value[0] != ' ' && value[0] != '\t' && value[n - 1] != ' ' &&
                             value[n - 1] != '\t'));
        for (size_t k = 0; k < n; k++) {
            unsigned char c = (unsigned char)value[k];
            INVARIANT((c >= 0x20 || c == '\t') && c != 0x7f);
        }
        INVARIANT(strcasecmp(name, "Transfer-Encoding") != 0);
        if (strcasecmp(name, "Content-Length") == 0) {
            INVARIANT(!have_length && n >= 1 && n <= 18);
            for (size_t k = 0; k < n; k++) {
                INVARIANT(value[k] >= '0' && value[k] <= '9');
                length = length * 10 + (size_t)(value[k] - '0');
            }
            have_length = true;
        } else if (strcasecmp(name, "Expect") == 0) {
            INVARIANT(strcasecmp(value, "100-continue") == 0);
            have_expect = true;
        } else if (strcasecmp(name, "Connection") == 0) {
            for (const char *p = value; *p;) {
                p += strspn(p, " \t,");
                size_t t = strcspn(p, " \t,");
                close |= t == 5 && strncasecmp(p, "close", 5) == 0;
                keep |= t == 10 && strncasecmp(p, "keep-alive", 10) == 0;
                p += t;
            }
        }
        /* the lookup finds the first of that name */
        size_t first = 0;
        while (strcasecmp(h->headers[first].name, name) != 0)
            first++;
        INVARIANT(tkms_http_head_header(h, name) == h->headers[first].value);
    }
    INVARIANT(h->content_length == length && length <= lim->max_body);
    INVARIANT(h->expect_continue == (have_expect && h->version_minor == 1));
    INVARIANT(h->keep_alive == (!close && (h->version_minor == 1 || keep)));
    INVARIANT(tkms_http_head_header(h, NULL) == NULL);
}

static void rec_head(record *r, const tkms_http_head *h)
{
    rec_add(r, "H", 1);
    rec_size(r, h->size);
    rec_str(r, h->method);
    rec_str(r, h->path);
    rec_str(r, h->query);
    rec_size(r, (size_t)h->version_minor);
    rec_size(r, h->nheaders);
    for (size_t i = 0; i < h->nheaders; i++) {
        rec_str(r, h->headers[i].name);
        rec_str(r, h->headers[i].value);
    }
    rec_size(r, h->content_length);
    uint8_t flags = (uint8_t)(h->head_only | h->keep_alive << 1 | h->expect_continue << 2);
    rec_add(r, &flags, 1);
}

/* One feed, checked; true when reading goes on. */
static bool step(tkms_http_reader *rd, const limits *lim, record *rec, const uint8_t *p,
                 size_t n, size_t *used, size_t *body_left)
{
    tkms_http_head head;
    tkms_http_refusal no;
    tkms_http_read_result got = tkms_http_reader_feed(rd, p, n, used, &head, &no);
    INVARIANT(*used <= n);
    switch (got) {
    case TKMS_HTTP_NEED_MORE:
        INVARIANT(*used == n);
        return true;
    case TKMS_HTTP_HEAD_READY:
        INVARIANT(*used >= 1);
        check_head(&head, lim);
        rec_head(rec, &head);
        *body_left = head.content_length;
        tkms_http_head_free(&head);
        INVARIANT(head.buf == NULL);
        return true;
    case TKMS_HTTP_REFUSED: {
        check_refusal(&no);
        rec_add(rec, "R", 1);
        rec_size(rec, (size_t)no.status);
        rec_str(rec, no.reason);
        /* it stays refused */
        tkms_http_refusal again;
        size_t more = 1;
        INVARIANT(tkms_http_reader_feed(rd, "GET / HTTP/1.1\r\n\r\n", 18, &more, &head,
                                        &again) == TKMS_HTTP_REFUSED);
        INVARIANT(more == 0 && again.status == no.status && strcmp(again.reason, no.reason) == 0);
        return false;
    }
    }
    INVARIANT(!"unknown result");
    return false;
}

/* Reads data[0..size) fed in pieces that end at cuts[0..ncuts) (ascending,
 * inside the input) and at size; the outcomes in *rec. */
static void run(const uint8_t *data, size_t size, const size_t *cuts, size_t ncuts,
                const limits *lim, record *rec)
{
    tkms_http_reader rd;
    tkms_http_reader_init(&rd, lim->max_header, lim->max_body);
    INVARIANT(rd.max_header == lim->max_header && rd.max_body == lim->max_body);
    size_t body_left = 0, start = 0;
    bool going = true;
    for (size_t c = 0; c <= ncuts && going; c++) {
        size_t end = c < ncuts ? cuts[c] : size;
        const uint8_t *piece = data + start;
        size_t len = end - start, pos = 0;
        start = end;
        while (going && pos < len) {
            if (body_left > 0) {
                size_t skip = len - pos < body_left ? len - pos : body_left;
                pos += skip;
                body_left -= skip;
                continue;
            }
            size_t used = 0;
            going = step(&rd, lim, rec, piece + pos, len - pos, &used, &body_left);
            pos += used;
        }
    }
    if (going && body_left == 0) {
        size_t used = 0;
        going = step(&rd, lim, rec, (const uint8_t *)"\r\n\r\n", 4, &used, &body_left);
        rec_size(rec, used);
    }
    rec_size(rec, body_left);
    rec_add(rec, going ? "G" : "S", 1);
    tkms_http_reader_free(&rd);
    INVARIANT(rd.buf == NULL);
}

static void same_as(const record *want, const uint8_t *data, size_t size, const size_t *cuts,
                    size_t ncuts, const limits *lim)
{
    record got = {0};
    run(data, size, cuts, ncuts, lim, &got);
    INVARIANT(got.len == want->len && memcmp(got.p, want->p, got.len) == 0);
    free(got.p);
}

static void check_limits(const uint8_t *data, size_t size, const limits *lim)
{
    record whole = {0};
    run(data, size, NULL, 0, lim, &whole);

    /* two pieces */
    if (size <= 160) {
        for (size_t k = 1; k < size; k++)
            same_as(&whole, data, size, &k, 1, lim);
    } else {
        for (size_t i = 1; i < 48; i++) {
            size_t k = size * i / 48;
            same_as(&whole, data, size, &k, 1, lim);
        }
        size_t seen = 0;
        for (size_t i = 0; i < size && seen < 32; i++) {
            if (data[i] != '\r' && data[i] != '\n')
                continue;
            seen++;
            for (size_t k = i > 0 ? i : 1; k <= i + 1 && k < size; k++)
                same_as(&whole, data, size, &k, 1, lim);
        }
    }

    /* a byte at a time */
    if (size > 1) {
        size_t *cuts = malloc((size - 1) * sizeof *cuts);
        INVARIANT(cuts != NULL);
        for (size_t k = 1; k < size; k++)
            cuts[k - 1] = k;
        same_as(&whole, data, size, cuts, size - 1, lim);
        free(cuts);
    }
    free(whole.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
        return 0;
    static const limits small = {TKMS_HTTP_MIN_HEADER_LIMIT, 64};
    static const limits defaults = {TKMS_HTTP_DEFAULT_MAX_HEADER, TKMS_HTTP_DEFAULT_MAX_BODY};
    check_limits(data, size, &small);
    check_limits(data, size, &defaults);
    return 0;
}
