/*
 * http_client.c — the blocking HTTPS client of tkms/http_client.h: one
 * libcurl easy handle per client, reset and configured afresh for every
 * request (curl_easy_reset keeps the open connection, so keep-alive
 * works), TLS 1.3 and certificate checks always on, the response body
 * collected into a bounded buffer.
 */
#include "tkms/http_client.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#define METHOD_MAX 32u
#define CONTENT_TYPE_MAX 200u

struct tkms_http_client {
    CURL *curl;
    char *ca_file, *cert_file, *key_file;
    long timeout_ms;
    size_t max_response;
    char errbuf[CURL_ERROR_SIZE];
};

/* ---- libcurl's global set-up, once per process ---------------------------- */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_status = CURLE_FAILED_INIT;

static void global_init(void)
{
    global_status = curl_global_init(CURL_GLOBAL_DEFAULT);
    /* CURLOPT_NOSIGNAL leaves SIGPIPE to us: a write to a connection the
     * server closed must not kill the process. */
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_IGN;
        sigaction(SIGPIPE, &sa, NULL);
    }
}

/* ---- helpers -------------------------------------------------------------- */

static tkms_status check_readable(const char *what, const char *path, tkms_err *err)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return tkms_fail(err, TKMS_ERR_IO, "http client: cannot read %s %s: %s", what, path,
                         strerror(errno));
    fclose(f);
    return TKMS_OK;
}

static bool method_ok(const char *m)
{
    size_t n = strlen(m);
    if (n == 0 || n > METHOD_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)m[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || strchr("!#$%&'*+-.^_`|~", ch) != NULL;
        if (!ok)
            return false;
    }
    return true;
}

static bool content_type_ok(const char *ct)
{
    size_t n = strnlen(ct, CONTENT_TYPE_MAX + 1);
    if (n == 0 || n > CONTENT_TYPE_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)ct[i] < 0x20 || ct[i] == 0x7f)
            return false;
    return true;
}

/* The response body, growing up to `max` bytes. */
typedef struct {
    char *buf;
    size_t len, cap, max;
    bool too_large, no_memory;
} sink;

static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
    sink *s = arg;
    size_t n = size * nmemb;
    if (n > s->max - s->len) {
        s->too_large = true;
        return 0; /* makes libcurl stop with CURLE_WRITE_ERROR */
    }
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n + 1)
            cap *= 2;
        if (cap > s->max + 1)
            cap = s->max + 1;
        char *p = realloc(s->buf, cap);
        if (p == NULL) {
            s->no_memory = true;
            return 0;
        }
        s->buf = p;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    return n;
}

/* The options every request has. False when libcurl refused one. */
static bool set_common(tkms_http_client *c, sink *s)
{
    CURL *h = c->curl;
    bool ok = true;
    ok &= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf) == CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x075500
    ok &= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https") == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https") == CURLE_OK;
#else
    ok &= curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, (long)CURLPROTO_HTTPS) == CURLE_OK;
#endif
    ok &= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_PROXY, "") == CURLE_OK; /* ignore *_proxy variables */
    ok &= curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
    if (c->ca_file != NULL) {
        ok &= curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file) == CURLE_OK;
        ok &= curl_easy_setopt(h, CURLOPT_CAPATH, NULL) == CURLE_OK; /* only ca_file */
    }
    if (c->cert_file != NULL) {
        ok &= curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert_file) == CURLE_OK;
        ok &= curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM") == CURLE_OK;
        ok &= curl_easy_setopt(h, CURLOPT_SSLKEY, c->key_file) == CURLE_OK;
        ok &= curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM") == CURLE_OK;
    }
    ok &= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_response) ==
          CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_WRITEDATA, s) == CURLE_OK;
    return ok;
}

/* ---- the client ----------------------------------------------------------- */

tkms_status tkms_http_client_new(tkms_http_client **out, const tkms_http_client_options *opt,
                                 tkms_err *err)
{
    tkms_err_clear(err);
    if (out != NULL)
        *out = NULL;
    if (out == NULL || opt == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "http client: missing argument");
    if ((opt->cert_file == NULL) != (opt->key_file == NULL))
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "http client: a client certificate needs both cert_file and key_file");
    size_t max = opt->max_response_size ? opt->max_response_size
                                        : TKMS_HTTP_CLIENT_DEFAULT_MAX_RESPONSE;
    if (max > TKMS_HTTP_CLIENT_MAX_RESPONSE_LIMIT)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "http client: max_response_size above %u",
                         TKMS_HTTP_CLIENT_MAX_RESPONSE_LIMIT);
    tkms_status st;
    if ((opt->ca_file && (st = check_readable("CA file", opt->ca_file, err)) != TKMS_OK) ||
        (opt->cert_file &&
         (st = check_readable("certificate file", opt->cert_file, err)) != TKMS_OK) ||
        (opt->key_file && (st = check_readable("key file", opt->key_file, err)) != TKMS_OK))
        return st;

    pthread_once(&global_once, global_init);
    if (global_status != CURLE_OK)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "http client: cannot initialise libcurl: %s",
                         curl_easy_strerror(global_status));

    tkms_http_client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "http client: out of memory");
    c->timeout_ms = (long)(opt->timeout_ms ? opt->timeout_ms : TKMS_HTTP_CLIENT_DEFAULT_TIMEOUT_MS);
    c->max_response = max;
    bool ok = true;
    if (opt->ca_file)
        ok &= (c->ca_file = strdup(opt->ca_file)) != NULL;
    if (opt->cert_file) {
        ok &= (c->cert_file = strdup(opt->cert_file)) != NULL;
        ok &= (c->key_file = strdup(opt->key_file)) != NULL;
    }
    if (ok)
        ok = (c->curl = curl_easy_init()) != NULL;
    if (!ok) {
        tkms_http_client_free(c);
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "http client: cannot create a libcurl handle");
    }
    *out = c;
    return TKMS_OK;
}

tkms_status tkms_http_client_request(tkms_http_client *c, const char *method, const char *url,
                                     const char *content_type, const void *body, size_t len,
                                     tkms_http_response *out, tkms_err *err)
{
    tkms_err_clear(err);
    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (c == NULL || method == NULL || url == NULL || out == NULL || (body == NULL && len > 0))
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "http client: missing argument");
    if (!method_ok(method))
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "http client: bad method");
    if (strncasecmp(url, "https://", 8) != 0)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "http client: not an https:// URL: %.64s",
                         url);
    if (content_type != NULL && !content_type_ok(content_type))
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "http client: bad content type");
    bool head = strcmp(method, "HEAD") == 0;
    if (head && len > 0)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "http client: HEAD cannot have a body");

    CURL *h = c->curl;
    curl_easy_reset(h); /* keeps the connection */
    c->errbuf[0] = '\0';
    sink s = {.max = c->max_response};
    bool ok = set_common(c, &s) && curl_easy_setopt(h, CURLOPT_URL, url) == CURLE_OK;

    bool send_body = len > 0 || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0;
    if (head) {
        ok &= curl_easy_setopt(h, CURLOPT_NOBODY, 1L) == CURLE_OK;
    } else if (send_body) {
        ok &= curl_easy_setopt(h, CURLOPT_POST, 1L) == CURLE_OK;
        ok &= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) == CURLE_OK;
        ok &= curl_easy_setopt(h, CURLOPT_POSTFIELDS, len > 0 ? body : "") == CURLE_OK;
        if (strcmp(method, "POST") != 0)
            ok &= curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method) == CURLE_OK;
    } else {
        ok &= curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) == CURLE_OK;
        if (strcmp(method, "GET") != 0)
            ok &= curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method) == CURLE_OK;
    }

    /* No "Expect: 100-continue" round trip; our Content-Type or none (not
     * libcurl's form default). */
    char ct_line[sizeof "Content-Type: " + CONTENT_TYPE_MAX];
    snprintf(ct_line, sizeof ct_line, "Content-Type:%s%s", content_type ? " " : "",
             content_type ? content_type : "");
    struct curl_slist *headers = curl_slist_append(NULL, "Expect:");
    struct curl_slist *more = headers ? curl_slist_append(headers, ct_line) : NULL;
    if (more == NULL) {
        curl_slist_free_all(headers);
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "http client: out of memory");
    }
    headers = more;
    ok &= curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers) == CURLE_OK;
    if (!ok) {
        curl_slist_free_all(headers);
        curl_easy_reset(h);
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "http client: cannot configure libcurl");
    }

    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    /* Nothing of this request may outlive the call: the header list, the
     * body pointer and the sink are ours. */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, NULL);
    curl_slist_free_all(headers);

    tkms_status st = TKMS_OK;
    if (s.too_large || rc == CURLE_FILESIZE_EXCEEDED)
        st = tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                       "http client: response body larger than %zu bytes (%s %.96s)",
                       c->max_response, method, url);
    else if (s.no_memory)
        st = tkms_fail(err, TKMS_ERR_NO_MEMORY, "http client: out of memory for the response");
    else if (rc == CURLE_URL_MALFORMAT)
        st = tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "http client: malformed URL %.96s", url);
    else if (rc != CURLE_OK)
        st = tkms_fail(err, TKMS_ERR_IO, "http client: %s (%s %.96s)",
                       c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc), method, url);
    if (st != TKMS_OK) {
        free(s.buf);
        return st;
    }
    if (s.buf == NULL) {
        s.buf = malloc(1);
        if (s.buf == NULL)
            return tkms_fail(err, TKMS_ERR_NO_MEMORY, "http client: out of memory");
    }
    s.buf[s.len] = '\0';
    out->status = status;
    out->body = s.buf;
    out->body_len = s.len;
    return TKMS_OK;
}

void tkms_http_response_free(tkms_http_response *r)
{
    if (r == NULL)
        return;
    free(r->body);
    memset(r, 0, sizeof *r);
}

void tkms_http_client_free(tkms_http_client *c)
{
    if (c == NULL)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    free(c->ca_file);
    free(c->cert_file);
    free(c->key_file);
    free(c);
}
