/*
 * curl_common.h — what the net layer's two libcurl clients share (net
 * layer internal): the blocking client (http_client.c) and the
 * asynchronous fanout (http_fanout.c) check their options and requests
 * the same way and configure every easy handle the same way: HTTPS only,
 * TLS 1.3 with peer and host verification, the given CA file alone, an
 * optional client certificate, no proxy and no redirects, HTTP/1.1, a
 * timeout, and the response body collected into a bounded buffer.
 *
 * Every message begins with the caller's name (`who`: "http client",
 * "http fanout").
 */
#ifndef TKMS_NET_CURL_COMMON_H
#define TKMS_NET_CURL_COMMON_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "tkms/status.h"

#define NET_CURL_METHOD_MAX 32u          /* a method token, bytes at most   */
#define NET_CURL_CONTENT_TYPE_MAX 200u   /* a Content-Type value, at most   */

/* A response body, growing up to `max` bytes (buf has room for a NUL
 * after len bytes). Zero it and set max before a transfer; free buf. */
typedef struct {
    char *buf;
    size_t len, cap, max;
    bool too_large;             /* the body went past max: transfer stopped */
    bool no_memory;
} net_curl_sink;

/* The TLS files of a client, malloc'ed copies (net_curl_tls_copy). */
typedef struct {
    char *ca_file;              /* NULL: libcurl's default CAs       */
    char *cert_file, *key_file; /* both or neither (no client cert)  */
} net_curl_tls;

/* The options of one request's easy handle beyond its method and body. */
typedef struct {
    const net_curl_tls *tls;
    char *errbuf;               /* CURL_ERROR_SIZE bytes             */
    long timeout_ms;            /* the whole transfer                */
    long connect_timeout_ms;
    size_t max_response;        /* bytes of body, at most            */
    net_curl_sink *sink;        /* where the body goes               */
} net_curl_setup;

/*
 * The options both clients have, checked in this order: a certificate
 * needs its key and the other way round ("WHO: a client certificate needs
 * both cert_file and key_file"); the largest response (`max_response`, 0
 * for `default_max`) at most `limit` ("WHO: max_response_size above
 * LIMIT"), into *max_out. TKMS_ERR_INVALID_ARGUMENT otherwise.
 */
tkms_status net_curl_check_options(const char *who, const char *cert_file, const char *key_file,
                                   size_t max_response, size_t default_max, unsigned limit,
                                   size_t *max_out, tkms_err *err);

/*
 * Checks that each given file (NULL: not given) can be read ("WHO: cannot
 * read CA file PATH: reason", TKMS_ERR_IO), then sets libcurl up for the
 * process once (curl_global_init, and SIGPIPE ignored unless the process
 * handles it: CURLOPT_NOSIGNAL leaves it to us); TKMS_ERR_NO_MEMORY with
 * "WHO: cannot initialise libcurl: …" when that failed.
 */
tkms_status net_curl_start(const char *who, const char *ca_file, const char *cert_file,
                           const char *key_file, tkms_err *err);

/* Copies the files into *tls (zeroed first); false when out of memory
 * (what was copied stays in *tls: free it). */
bool net_curl_tls_copy(net_curl_tls *tls, const char *ca_file, const char *cert_file,
                       const char *key_file);
void net_curl_tls_free(net_curl_tls *tls);

/*
 * The checks of one request, in this order: the method a token of
 * 1..NET_CURL_METHOD_MAX bytes ("WHO: bad method"), an https:// URL ("WHO:
 * not an https:// URL: …"), the content type (NULL: none) printable and
 * at most NET_CURL_CONTENT_TYPE_MAX bytes ("WHO: bad content type"), no
 * body with HEAD ("WHO: HEAD cannot have a body"). *head: the method is
 * HEAD. TKMS_ERR_INVALID_ARGUMENT otherwise.
 */
tkms_status net_curl_check_request(const char *who, const char *method, const char *url,
                                   const char *content_type, size_t len, bool *head,
                                   tkms_err *err);

/* The request headers: "Expect:" (no 100-continue round trip) and our
 * Content-Type or none (not libcurl's form default). NULL when out of
 * memory; free with curl_slist_free_all. */
struct curl_slist *net_curl_headers(const char *content_type);

/* Sets every option of `setup` on h (see the top), the write callback
 * into setup->sink included. False when libcurl refused one. */
bool net_curl_configure(CURL *h, const net_curl_setup *setup);

/*
 * The method and body: HEAD without a body; POST, PUT or any request with
 * a body (`fields`, `len` bytes, not copied: it must outlive the
 * transfer) as a POST with that method; otherwise GET with that method.
 * False when libcurl refused an option.
 */
bool net_curl_set_method(CURL *h, const char *method, const void *fields, size_t len, bool head);

#endif /* TKMS_NET_CURL_COMMON_H */
