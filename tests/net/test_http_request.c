/*
 * test_http_request.c — the HTTP/1.1 request reader (src/net/http_request.h)
 * on its own, without sockets or TLS.
 *
 * It shows: a head is parsed into its method, decoded path, raw query,
 * trimmed headers and flags, and the reader takes exactly the bytes of the
 * head (a body and a pipelined request stay with the caller); empty lines
 * before a request are skipped and not counted; every refusal has its
 * status and reason, and the reader stays refused; the limits hold at
 * their edges (max_header, TKMS_HTTP_MAX_HEADERS, max_body, 18 digits);
 * feeding a request in two pieces at any point, or a byte at a time, gives
 * what feeding it whole gives; the limits given to init are clamped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/net/http_request.h"
#include "test.h"

/* Feeds all of `s` (len bytes) in one call. */
static tkms_http_read_result feed(tkms_http_reader *r, const char *s, size_t len, size_t *used,
                                  tkms_http_head *head, tkms_http_refusal *no)
{
    return tkms_http_reader_feed(r, s, len, used, head, no);
}

/* Reads one head from `s` with fresh default-ish limits (256, 64). */
static tkms_http_read_result read_one(const char *s, tkms_http_head *head, tkms_http_refusal *no,
                                      size_t *used)
{
    tkms_http_reader r;
    tkms_http_reader_init(&r, 256, 64);
    size_t u;
    tkms_http_read_result got = feed(&r, s, strlen(s), used ? used : &u, head, no);
    tkms_http_reader_free(&r);
    return got;
}

static void test_basics(void)
{
    static const char req[] = "GET /hello/%41b%2Fc+d?x=1&y=%20 HTTP/1.1\r\n"
                              "Host: example\r\n"
                              "X-Test:  \t spaced value \t \r\n"
                              "x-test: second\r\n"
                              "Empty:\r\n"
                              "\r\n"
                              "rest";
    tkms_http_head h;
    tkms_http_refusal no;
    size_t used;
    tkms_http_read_result got = read_one(req, &h, &no, &used);
    CHECK(got == TKMS_HTTP_HEAD_READY, "a GET is read");
    if (got != TKMS_HTTP_HEAD_READY)
        return;
    CHECK(used == sizeof req - 1 - 4 && h.size == used, "the head's bytes taken, not the rest (%zu)",
          used);
    CHECK(strcmp(h.method, "GET") == 0 && !h.head_only, "method GET");
    CHECK(strcmp(h.path, "/hello/Ab/c+d") == 0, "path decoded, '+' kept: %s", h.path);
    CHECK(h.query && strcmp(h.query, "x=1&y=%20") == 0, "query raw: %s", h.query ? h.query : "-");
    CHECK(h.version_minor == 1 && h.keep_alive && !h.expect_continue && h.content_length == 0,
          "HTTP/1.1, keep-alive, no body");
    CHECK(h.nheaders == 4 && strcmp(h.headers[1].name, "X-Test") == 0 &&
              strcmp(h.headers[1].value, "spaced value") == 0 && strcmp(h.headers[3].value, "") == 0,
          "headers in order, values trimmed");
    const char *v = tkms_http_head_header(&h, "x-TEST");
    CHECK(v && strcmp(v, "spaced value") == 0, "lookup is case-insensitive, finds the first");
    CHECK(tkms_http_head_header(&h, "nope") == NULL && tkms_http_head_header(&h, NULL) == NULL,
          "absent header: NULL");
    tkms_http_head_free(&h);
    CHECK(h.buf == NULL, "head cleared");
    tkms_http_head_free(&h);
    tkms_http_head_free(NULL);

    struct {
        const char *req, *method;
        bool head_only, keep_alive, expect;
        const char *query;
    } cases[] = {
        {"POST /p? HTTP/1.1\r\n\r\n", "POST", false, true, false, NULL},
        {"PUT /p HTTP/1.1\r\nConnection: foo, close\r\n\r\n", "PUT", false, false, false, NULL},
        {"DELETE /p HTTP/1.0\r\n\r\n", "DELETE", false, false, false, NULL},
        {"HEAD /p HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", "HEAD", true, true, false, NULL},
        {"PATCH /p HTTP/1.0\r\nConnection: keep-alive,close\r\n\r\n", "OTHER", false, false, false,
         NULL},
        {"get /p?a HTTP/1.1\r\nExpect: 100-CONTINUE\r\n\r\n", "OTHER", false, true, true, "a"},
        {"POST /p HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", "POST", false, false, false, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        got = read_one(cases[i].req, &h, &no, NULL);
        CHECK(got == TKMS_HTTP_HEAD_READY && strcmp(h.method, cases[i].method) == 0 &&
                  h.head_only == cases[i].head_only && h.keep_alive == cases[i].keep_alive &&
                  h.expect_continue == cases[i].expect &&
                  (cases[i].query ? h.query && strcmp(h.query, cases[i].query) == 0
                                  : h.query == NULL),
              "flags of %.30s", cases[i].req);
        if (got == TKMS_HTTP_HEAD_READY)
            tkms_http_head_free(&h);
    }
}

static void test_refusals(void)
{
    struct {
        const char *req;
        int status;
        const char *reason;
    } cases[] = {
        {"BLAH\r\n\r\n", 400, "malformed request line"},
        {"GET  / HTTP/1.1\r\n\r\n", 400, "malformed request line"},
        {"GET / HTTP/1.1 \r\n\r\n", 400, "malformed request line"},
        {"GET\t/ HTTP/1.1\r\n\r\n", 400, "malformed request line"},
        {"G@T / HTTP/1.1\r\n\r\n", 400, "malformed request method"},
        {"ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFG / HTTP/1.1\r\n\r\n", 400, "malformed request method"},
        {"GET / HTTP/2.0\r\n\r\n", 505, "only HTTP/1.1 and HTTP/1.0 are supported"},
        {"GET / HTTP/1.10\r\n\r\n", 400, "malformed HTTP version"},
        {"GET / http/1.1\r\n\r\n", 400, "malformed HTTP version"},
        {"GET http://x/ HTTP/1.1\r\n\r\n", 400,
         "the request target must be a path starting with '/'"},
        {"GET * HTTP/1.1\r\n\r\n", 400, "the request target must be a path starting with '/'"},
        {"GET /a#b HTTP/1.1\r\n\r\n", 400, "invalid character in the request target"},
        {"GET /\x80 HTTP/1.1\r\n\r\n", 400, "invalid character in the request target"},
        {"GET /a%00b HTTP/1.1\r\n\r\n", 400, "bad percent-encoding in the request path"},
        {"GET /a%zz HTTP/1.1\r\n\r\n", 400, "bad percent-encoding in the request path"},
        {"GET /a%4 HTTP/1.1\r\n\r\n", 400, "bad percent-encoding in the request path"},
        {"GET /a%4?x HTTP/1.1\r\n\r\n", 400, "bad percent-encoding in the request path"},
        {"GET / HTTP/1.1\r\n folded\r\n\r\n", 400, "obsolete header line folding"},
        {"GET / HTTP/1.1\r\nA: b\nc\r\n\r\n", 400, "bare CR or LF in the request head"},
        {"GET / HTTP/1.1\r\nNo colon\r\n\r\n", 400, "malformed header line"},
        {"GET / HTTP/1.1\r\n: v\r\n\r\n", 400, "malformed header line"},
        {"GET / HTTP/1.1\r\nX Y: v\r\n\r\n", 400, "malformed header name"},
        {"GET / HTTP/1.1\r\nX: a\x01\r\n\r\n", 400, "control character in a header value"},
        {"GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n", 400, "control character in a header value"},
        {"POST / HTTP/1.1\r\nContent-Length: 1\r\ncontent-length: 1\r\n\r\nx", 400,
         "bad or repeated Content-Length"},
        {"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, "bad or repeated Content-Length"},
        {"POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", 400, "bad or repeated Content-Length"},
        {"POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", 400, "bad or repeated Content-Length"},
        {"POST / HTTP/1.1\r\nContent-Length: 1234567890123456789\r\n\r\n", 400,
         "bad or repeated Content-Length"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 411,
         "a request body needs a Content-Length (Transfer-Encoding is not supported)"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\nContent-Length: 99\r\n\r\n", 411,
         "a request body needs a Content-Length (Transfer-Encoding is not supported)"},
        {"POST / HTTP/1.1\r\nContent-Length: 123456789012345678\r\n\r\n", 413,
         "request body larger than 64 bytes"},
        {"POST / HTTP/1.1\r\nContent-Length: 65\r\nExpect: 100-continue\r\n\r\n", 413,
         "request body larger than 64 bytes"},
        {"POST / HTTP/1.1\r\nExpect: magic\r\n\r\n", 417, "unsupported Expect header"},
        {"\r\r\nGET / HTTP/1.1\r\n\r\n", 400, "malformed request line"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        tkms_http_reader r;
        tkms_http_reader_init(&r, 256, 64);
        tkms_http_head h;
        tkms_http_refusal no = {0};
        size_t used;
        tkms_http_read_result got = feed(&r, cases[i].req, strlen(cases[i].req), &used, &h, &no);
        CHECK(got == TKMS_HTTP_REFUSED && no.status == cases[i].status &&
                  strcmp(no.reason, cases[i].reason) == 0,
              "%.40s: %d %s", cases[i].req, no.status, no.reason ? no.reason : "-");
        tkms_http_refusal again = {0};
        got = feed(&r, "GET / HTTP/1.1\r\n\r\n", 18, &used, &h, &again);
        CHECK(got == TKMS_HTTP_REFUSED && used == 0 && again.status == no.status &&
                  again.reason && no.reason && strcmp(again.reason, no.reason) == 0,
              "… and stays refused");
        tkms_http_reader_free(&r);
    }

    static const char nul[] = "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n";
    tkms_http_reader r;
    tkms_http_reader_init(&r, 256, 64);
    tkms_http_head h;
    tkms_http_refusal no = {0};
    size_t used;
    CHECK(feed(&r, nul, sizeof nul - 1, &used, &h, &no) == TKMS_HTTP_REFUSED && no.status == 400 &&
              strcmp(no.reason, "NUL byte in the request head") == 0 && used == sizeof nul - 1,
          "a NUL byte in a header: 400");
    tkms_http_reader_free(&r);
}

/* A head of exactly `size` bytes with `headers` extra header lines. */
static char *make_head(size_t size, unsigned headers)
{
    char *s = malloc(size + 1);
    size_t n = (size_t)sprintf(s, "GET / HTTP/1.1\r\n");
    for (unsigned i = 0; i < headers; i++)
        n += (size_t)sprintf(s + n, "X-%u: v\r\n", i);
    size_t fill = size - n - 4 - 8; /* "X-Fill: " */
    n += (size_t)sprintf(s + n, "X-Fill: ");
    memset(s + n, 'f', fill);
    n += fill;
    memcpy(s + n, "\r\n\r\n", 5);
    return s;
}

static void test_limits(void)
{
    tkms_http_reader r;
    tkms_http_head h;
    tkms_http_refusal no = {0};
    size_t used;

    char *s = make_head(256, 0);
    tkms_http_reader_init(&r, 256, 64);
    CHECK(feed(&r, s, 256, &used, &h, &no) == TKMS_HTTP_HEAD_READY && h.size == 256 && used == 256,
          "a head of exactly max_header bytes");
    tkms_http_head_free(&h);
    /* the reader goes on with the next request */
    CHECK(feed(&r, s, 255, &used, &h, &no) == TKMS_HTTP_NEED_MORE && used == 255,
          "255 bytes without the end: need more");
    CHECK(feed(&r, "x", 1, &used, &h, &no) == TKMS_HTTP_REFUSED && used == 1 && no.status == 431 &&
              strcmp(no.reason, "request line and headers are too large") == 0,
          "the 256th byte without the end: 431");
    tkms_http_reader_free(&r);
    free(s);

    s = make_head(257, 0);
    tkms_http_reader_init(&r, 256, 64);
    CHECK(feed(&r, s, 257, &used, &h, &no) == TKMS_HTTP_REFUSED && no.status == 431 && used == 256,
          "a head of max_header + 1 bytes: 431 (%zu taken)", used);
    tkms_http_reader_free(&r);
    free(s);

    /* empty lines before a request are not counted */
    tkms_http_reader_init(&r, 256, 64);
    bool skipped = true;
    for (int i = 0; i < 1000; i++)
        skipped &= feed(&r, "\r\n", 2, &used, &h, &no) == TKMS_HTTP_NEED_MORE && used == 2;
    CHECK(skipped, "1000 empty lines skipped");
    s = make_head(256, 0);
    CHECK(feed(&r, s, 256, &used, &h, &no) == TKMS_HTTP_HEAD_READY && h.size == 256,
          "… then a head of max_header bytes");
    tkms_http_head_free(&h);
    free(s);
    tkms_http_reader_free(&r);

    tkms_http_reader_init(&r, 0, 0);
    CHECK(r.max_header == TKMS_HTTP_DEFAULT_MAX_HEADER && r.max_body == TKMS_HTTP_DEFAULT_MAX_BODY,
          "0: the defaults");
    s = make_head(4000, TKMS_HTTP_MAX_HEADERS - 1);
    CHECK(feed(&r, s, strlen(s), &used, &h, &no) == TKMS_HTTP_HEAD_READY &&
              h.nheaders == TKMS_HTTP_MAX_HEADERS,
          "%u header lines", TKMS_HTTP_MAX_HEADERS);
    tkms_http_head_free(&h);
    free(s);
    s = make_head(4000, TKMS_HTTP_MAX_HEADERS);
    CHECK(feed(&r, s, strlen(s), &used, &h, &no) == TKMS_HTTP_REFUSED && no.status == 431 &&
              strcmp(no.reason, "too many header lines") == 0,
          "%u header lines: 431", TKMS_HTTP_MAX_HEADERS + 1);
    free(s);
    tkms_http_reader_free(&r);

    tkms_http_reader_init(&r, 1, TKMS_HTTP_MAX_BODY_LIMIT + 1ull);
    CHECK(r.max_header == TKMS_HTTP_MIN_HEADER_LIMIT && r.max_body == TKMS_HTTP_MAX_BODY_LIMIT,
          "limits clamped up and down");
    tkms_http_reader_init(&r, TKMS_HTTP_MAX_HEADER_LIMIT + 1ull, 5);
    CHECK(r.max_header == TKMS_HTTP_MAX_HEADER_LIMIT && r.max_body == 5, "max_header clamped");
    static const char five[] = "POST / HTTP/1.1\r\nContent-Length: 005\r\n\r\n";
    CHECK(feed(&r, five, sizeof five - 1, &used, &h, &no) == TKMS_HTTP_HEAD_READY &&
              h.content_length == 5,
          "Content-Length of exactly max_body");
    tkms_http_head_free(&h);
    static const char six[] = "POST / HTTP/1.1\r\nContent-Length: 6\r\n\r\n";
    CHECK(feed(&r, six, sizeof six - 1, &used, &h, &no) == TKMS_HTTP_REFUSED && no.status == 413 &&
              strcmp(no.reason, "request body larger than 5 bytes") == 0,
          "max_body + 1: 413: %s", no.reason);
    tkms_http_reader_free(&r);
    tkms_http_reader_free(NULL);

    tkms_http_reader_init(&r, TKMS_HTTP_MAX_HEADER_LIMIT, TKMS_HTTP_MAX_BODY_LIMIT);
    static const char big[] = "POST / HTTP/1.1\r\nContent-Length: 1073741824\r\n\r\n";
    CHECK(feed(&r, big, sizeof big - 1, &used, &h, &no) == TKMS_HTTP_HEAD_READY &&
              h.content_length == TKMS_HTTP_MAX_BODY_LIMIT,
          "a 1 GiB Content-Length under the largest limit");
    tkms_http_head_free(&h);
    CHECK(feed(&r, NULL, 0, &used, &h, &no) == TKMS_HTTP_NEED_MORE && used == 0,
          "nothing fed: need more");
    tkms_http_reader_free(&r);
}

/* The heads and the refusal got from `s` fed in pieces ending at cuts[],
 * the caller passing over each body, as one string. */
static void outcome(const char *s, size_t len, const size_t *cuts, size_t ncuts, char *out,
                    size_t cap)
{
    tkms_http_reader r;
    tkms_http_reader_init(&r, 256, 64);
    size_t o = 0, start = 0, body = 0;
    out[0] = '\0';
    bool going = true;
    for (size_t c = 0; c <= ncuts && going; c++) {
        size_t end = c < ncuts ? cuts[c] : len, pos = start;
        start = end;
        while (going && pos < end) {
            if (body > 0) {
                size_t k = end - pos < body ? end - pos : body;
                pos += k;
                body -= k;
                continue;
            }
            tkms_http_head h;
            tkms_http_refusal no;
            size_t used;
            switch (tkms_http_reader_feed(&r, s + pos, end - pos, &used, &h, &no)) {
            case TKMS_HTTP_HEAD_READY:
                o += (size_t)snprintf(out + o, cap - o, "[%s %s %s %zu %s]", h.method, h.path,
                                      h.query ? h.query : "-", h.content_length,
                                      h.nheaders ? h.headers[0].value : "-");
                body = h.content_length;
                tkms_http_head_free(&h);
                break;
            case TKMS_HTTP_REFUSED:
                o += (size_t)snprintf(out + o, cap - o, "[%d %s]", no.status, no.reason);
                going = false;
                break;
            case TKMS_HTTP_NEED_MORE:
                break;
            }
            pos += used;
        }
    }
    snprintf(out + o, cap - o, "(%zu)", body);
    tkms_http_reader_free(&r);
}

static void test_pieces(void)
{
    static const char stream[] = "\r\n\r\nGET /p1?q HTTP/1.1\r\nX-Test:  one \r\n\r\n"
                                 "POST /p%32 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
                                 "\r\nHEAD /h HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                                 "GET /x HTTP/1.1\r\nX: \x01\r\n\r\nGET /never HTTP/1.1\r\n\r\n";
    size_t len = sizeof stream - 1;
    char whole[512], got[512];
    outcome(stream, len, NULL, 0, whole, sizeof whole);
    CHECK(strcmp(whole, "[GET /p1 q 0 one][POST /p2 - 3 3][HEAD /h - 0 keep-alive]"
                        "[400 control character in a header value](0)") == 0,
          "pipelined stream read in order: %s", whole);
    bool same = true;
    for (size_t k = 1; k < len; k++) {
        outcome(stream, len, &k, 1, got, sizeof got);
        if (strcmp(got, whole) != 0) {
            same = false;
            CHECK(false, "split at %zu: %s", k, got);
        }
    }
    CHECK(same, "the same in two pieces, split anywhere");
    size_t cuts[sizeof stream];
    for (size_t k = 1; k < len; k++)
        cuts[k - 1] = k;
    outcome(stream, len, cuts, len - 1, got, sizeof got);
    CHECK(strcmp(got, whole) == 0, "the same a byte at a time: %s", got);

    /* a CR of an empty line and its LF in two pieces */
    tkms_http_reader r;
    tkms_http_reader_init(&r, 256, 64);
    tkms_http_head h;
    tkms_http_refusal no;
    size_t used;
    CHECK(tkms_http_reader_feed(&r, "\r", 1, &used, &h, &no) == TKMS_HTTP_NEED_MORE &&
              tkms_http_reader_feed(&r, "\nGET / HTTP/1.1\r\n\r", 18, &used, &h, &no) ==
                  TKMS_HTTP_NEED_MORE &&
              tkms_http_reader_feed(&r, "\nBODY", 5, &used, &h, &no) == TKMS_HTTP_HEAD_READY &&
              used == 1 && h.size == 18,
          "empty line and head end split across pieces");
    tkms_http_head_free(&h);
    tkms_http_reader_free(&r);
}

int main(void)
{
    test_basics();
    test_refusals();
    test_limits();
    test_pieces();
    return test_report();
}
