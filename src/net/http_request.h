/*
 * http_request.h — the HTTP/1.1 request reader of the net layer: bytes
 * from a client in, one request head (or a refusal) out. Internal to
 * libtkms; http_server.c is its user, and it is kept free of libevent and
 * OpenSSL so that it can be unit-tested (tests/net/test_http_request.c) and
 * fuzzed (fuzz/fuzz_http_request.c) on its own.
 *
 * What it reads (RFC 9112, restricted to what tkms/http_server.h
 * promises): empty lines before a request are skipped (§2.2); then a
 * request line "METHOD SP /path[?query] SP HTTP/1.x" and header lines up
 * to the first empty line. The body is not read here: the head says how
 * many bytes of body follow (its Content-Length), and the caller takes
 * them from its own input.
 *
 * Refused, with the status the server answers:
 *   400  a NUL byte anywhere in the head; a request line that is not three
 *        fields separated by single spaces, or holds CR, LF or HT; a method
 *        that is not a token of 1..TKMS_HTTP_METHOD_MAX bytes; a version
 *        that is not "HTTP/d.d"; a target that is not a path ("/…"), or
 *        holds bytes <= 0x20, >= 0x7f or '#'; a bad percent-escape or
 *        "%00" in the path; obsolete line folding; a bare CR or LF in a
 *        header line; a header line without ':' or with a name that is not
 *        a token; a control character (other than HT) in a header value; a
 *        Content-Length that is not 1..18 decimal digits, or is repeated;
 *   411  any Transfer-Encoding header (a body needs a Content-Length);
 *   413  a Content-Length above max_body (before any of the body is read);
 *   417  an Expect header other than "100-continue";
 *   431  a head (request line through the empty line) longer than
 *        max_header bytes, or more than TKMS_HTTP_MAX_HEADERS header lines;
 *   505  "HTTP/d.d" other than HTTP/1.1 and HTTP/1.0;
 *   500  out of memory.
 * The first failing check decides: the size (431) as soon as max_header
 * bytes hold no complete head; then, on the complete head, NUL bytes; the
 * request line (its shape, the method, the version, then the target); the
 * header lines in order (each line's syntax, then the count, then
 * Content-Length and Expect); and last 411, then 413.
 *
 * Memory: a reader holds at most max_header + 1 bytes of a head being
 * read; a head owns one buffer of at most that size. Nothing here has a
 * static state: readers are independent and each may be used from one
 * thread at a time.
 */
#ifndef TKMS_NET_HTTP_REQUEST_H
#define TKMS_NET_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "tkms/http_server.h" /* TKMS_HTTP_MAX_HEADERS and the limits */

/* Longest method token accepted, in bytes. */
#define TKMS_HTTP_METHOD_MAX 32u

/* One header line of a head: both strings live in the head's buffer. */
typedef struct {
    const char *name;  /* a token (RFC 9110 tchar), as sent; never empty  */
    const char *value; /* without leading or trailing SP / HT; may be ""  */
} tkms_http_header;

/*
 * A parsed request head. Every string points into `buf`, which the head
 * owns (free it with tkms_http_head_free); a head may be moved by copying
 * the struct, after which only one copy may be freed.
 */
typedef struct {
    char *buf;             /* the head's bytes, cut into strings in place   */
    size_t size;           /* bytes of the head (request line through the
                            * empty line; skipped empty lines before it not
                            * counted): 4..max_header                        */
    const char *method;    /* static: "GET", "POST", "PUT", "DELETE", "HEAD"
                            * or "OTHER" for any other token                 */
    const char *path;      /* percent-decoded, without the query; starts
                            * with '/'; '+' and ".." left as they are       */
    const char *query;     /* raw text after '?'; NULL when none or empty   */
    int version_minor;     /* HTTP/1.<version_minor>: 0 or 1                */
    tkms_http_header headers[TKMS_HTTP_MAX_HEADERS];
    size_t nheaders;       /* 0..TKMS_HTTP_MAX_HEADERS, in the sent order   */
    size_t content_length; /* 0..max_body; 0 without a Content-Length       */
    bool head_only;        /* the method is HEAD: the answer has no body    */
    bool keep_alive;       /* HTTP/1.1 without "Connection: close", or
                            * HTTP/1.0 with "Connection: keep-alive" (and
                            * without close)                                */
    bool expect_continue;  /* HTTP/1.1 with "Expect: 100-continue": send
                            * "100 Continue" before waiting for the body    */
} tkms_http_head;

/* Why a request was refused. */
typedef struct {
    int status;         /* 400, 411, 413, 417, 431, 500 or 505 */
    const char *reason; /* 1..95 bytes of printable ASCII (for the JSON
                         * body); static, or in the reader until it is fed
                         * again or freed */
} tkms_http_refusal;

typedef enum {
    TKMS_HTTP_NEED_MORE,  /* every byte taken; the head is not complete    */
    TKMS_HTTP_HEAD_READY, /* a head is complete and parsed                 */
    TKMS_HTTP_REFUSED,    /* the request is refused; the reader stays so   */
} tkms_http_read_result;

/* Reads request heads off one connection, one after the other. The fields
 * are the reader's own: use the functions below. */
typedef struct {
    size_t max_header, max_body;
    char *buf;           /* the head so far (NULL until its first byte)   */
    size_t len, cap;
    bool started;        /* past the empty lines before the request        */
    bool cr;             /* a CR of a skipped empty line, its LF awaited   */
    bool refused;
    tkms_http_refusal refusal;
    char reason[96];     /* room for a formatted reason                    */
} tkms_http_reader;

/*
 * Prepares `r` to read requests whose head is at most max_header bytes
 * (TKMS_HTTP_MIN_HEADER_LIMIT..TKMS_HTTP_MAX_HEADER_LIMIT) and whose body
 * is at most max_body bytes (..TKMS_HTTP_MAX_BODY_LIMIT). 0 means the
 * default of tkms_http_server_options; values outside the ranges are
 * clamped into them. Allocates nothing.
 */
void tkms_http_reader_init(tkms_http_reader *r, size_t max_header, size_t max_body);

/*
 * Gives the reader the next `len` bytes the client sent (data may be NULL
 * when len is 0); *used gets how many of them it took. The result:
 *
 *   TKMS_HTTP_NEED_MORE   *used == len: all were taken (kept, or skipped
 *                         as empty lines); feed the next bytes.
 *   TKMS_HTTP_HEAD_READY  *used <= len bytes completed a head, which is in
 *                         *head (the caller owns it: tkms_http_head_free).
 *                         The bytes after them (its body, if
 *                         head->content_length > 0, then maybe the next
 *                         request) were not taken. The reader is ready for
 *                         the next request.
 *   TKMS_HTTP_REFUSED     *refusal says why; *used is how many bytes were
 *                         taken (of no further use). Every later call
 *                         returns the same refusal and takes nothing.
 *
 * *head is written only for HEAD_READY, *refusal only for REFUSED. The
 * outcome does not depend on how the bytes are cut into calls: feeding
 * them in one call or in any number of pieces gives the same heads and
 * refusals. None of the pointers may be NULL (data excepted, see above).
 */
tkms_http_read_result tkms_http_reader_feed(tkms_http_reader *r, const void *data, size_t len,
                                            size_t *used, tkms_http_head *head,
                                            tkms_http_refusal *refusal);

/* Frees what `r` holds (NULL is fine). It may be initialised again. */
void tkms_http_reader_free(tkms_http_reader *r);

/* The value of the first header named `name` (ASCII case-insensitive), or
 * NULL when there is none or name is NULL. */
const char *tkms_http_head_header(const tkms_http_head *head, const char *name);

/* Frees the head's buffer and clears it (NULL is fine; so is freeing a
 * cleared head again). */
void tkms_http_head_free(tkms_http_head *head);

#endif /* TKMS_NET_HTTP_REQUEST_H */
