/*
 * curl_common.c — the checks and the libcurl easy-handle set-up that the
 * blocking client (http_client.c) and the fanout (http_fanout.c) share
 * (curl_common.h).
 */
#include "curl_common.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/ssl.h>

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

/* ---- options ----------------------------------------------------------------- */

tkms_status net_curl_check_options(const char *who, const char *cert_file, const char *key_file,
                                   size_t max_response, size_t default_max, unsigned limit,
                                   size_t *max_out, tkms_err *err)
{
    if ((cert_file == NULL) != (key_file == NULL))
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "%s: a client certificate needs both cert_file and key_file", who);
    size_t max = max_response ? max_response : default_max;
    if (max > limit)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "%s: max_response_size above %u", who,
                         limit);
    *max_out = max;
    return TKMS_OK;
}

static tkms_status check_readable(const char *who, const char *what, const char *path,
                                  tkms_err *err)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return tkms_fail(err, TKMS_ERR_IO, "%s: cannot read %s %s: %s", who, what, path,
                         strerror(errno));
    fclose(f);
    return TKMS_OK;
}

tkms_status net_curl_start(const char *who, const char *ca_file, const char *cert_file,
                           const char *key_file, tkms_err *err)
{
    tkms_status st;
    if ((ca_file && (st = check_readable(who, "CA file", ca_file, err)) != TKMS_OK) ||
        (cert_file && (st = check_readable(who, "certificate file", cert_file, err)) != TKMS_OK) ||
        (key_file && (st = check_readable(who, "key file", key_file, err)) != TKMS_OK))
        return st;
    pthread_once(&global_once, global_init);
    if (global_status != CURLE_OK)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "%s: cannot initialise libcurl: %s", who,
                         curl_easy_strerror(global_status));
    return TKMS_OK;
}

bool net_curl_tls_copy(net_curl_tls *tls, const char *ca_file, const char *cert_file,
                       const char *key_file)
{
    memset(tls, 0, sizeof *tls);
    bool ok = true;
    if (ca_file)
        ok = (tls->ca_file = strdup(ca_file)) != NULL;
    if (cert_file) {
        ok = ok && (tls->cert_file = strdup(cert_file)) != NULL;
        ok = ok && (tls->key_file = strdup(key_file)) != NULL;
    }
    return ok;
}

void net_curl_tls_free(net_curl_tls *tls)
{
    free(tls->ca_file);
    free(tls->cert_file);
    free(tls->key_file);
    memset(tls, 0, sizeof *tls);
}

/* ---- requests ------------------------------------------------------------------ */

static bool method_ok(const char *m)
{
    size_t n = strlen(m);
    if (n == 0 || n > NET_CURL_METHOD_MAX)
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
    size_t n = strnlen(ct, NET_CURL_CONTENT_TYPE_MAX + 1);
    if (n == 0 || n > NET_CURL_CONTENT_TYPE_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)ct[i] < 0x20 || ct[i] == 0x7f)
            return false;
    return true;
}

tkms_status net_curl_check_request(const char *who, const char *method, const char *url,
                                   const char *content_type, size_t len, bool *head,
                                   tkms_err *err)
{
    if (!method_ok(method))
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "%s: bad method", who);
    if (strncasecmp(url, "https://", 8) != 0)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "%s: not an https:// URL: %.64s", who,
                         url);
    if (content_type != NULL && !content_type_ok(content_type))
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "%s: bad content type", who);
    *head = strcmp(method, "HEAD") == 0;
    if (*head && len > 0)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "%s: HEAD cannot have a body", who);
    return TKMS_OK;
}

struct curl_slist *net_curl_headers(const char *content_type)
{
    char ct_line[sizeof "Content-Type: " + NET_CURL_CONTENT_TYPE_MAX];
    snprintf(ct_line, sizeof ct_line, "Content-Type:%s%s", content_type ? " " : "",
             content_type ? content_type : "");
    struct curl_slist *headers = curl_slist_append(NULL, "Expect:");
    struct curl_slist *more = headers ? curl_slist_append(headers, ct_line) : NULL;
    if (more == NULL)
        curl_slist_free_all(headers);
    return more;
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
    net_curl_sink *s = arg;
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

/* CURLOPT_SSL_CTX_FUNCTION (OpenSSL backends): libcurl sets
 * SSL_MODE_RELEASE_BUFFERS, so OpenSSL frees a connection's record
 * buffers whenever they empty and allocates them again for the next
 * record — on kept-alive connections that is two large allocations per
 * request and answer. Keep them (about 34 KiB per open connection). */
static CURLcode keep_tls_buffers(CURL *h, void *ssl_ctx, void *arg)
{
    (void)h;
    (void)arg;
    SSL_CTX_clear_mode((SSL_CTX *)ssl_ctx, SSL_MODE_RELEASE_BUFFERS);
    return CURLE_OK;
}

bool net_curl_configure(CURL *h, const net_curl_setup *setup)
{
    const net_curl_tls *tls = setup->tls;
    bool ok = true;
    ok &= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, setup->errbuf) == CURLE_OK;
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
    /* Not built in for other TLS backends: then they keep their default. */
    (void)curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, keep_tls_buffers);
    if (tls->ca_file != NULL) {
        ok &= curl_easy_setopt(h, CURLOPT_CAINFO, tls->ca_file) == CURLE_OK;
        ok &= curl_easy_setopt(h, CURLOPT_CAPATH, NULL) == CURLE_OK; /* only ca_file */
    }
    if (tls->cert_file != NULL) {
        ok &= curl_easy_setopt(h, CURLOPT_SSLCERT, tls->cert_file) == CURLE_OK;
        ok &= curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM") == CURLE_OK;
        ok &= curl_easy_setopt(h, CURLOPT_SSLKEY, tls->key_file) == CURLE_OK;
        ok &= curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM") == CURLE_OK;
    }
    ok &= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, setup->timeout_ms) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, setup->connect_timeout_ms) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)setup->max_response) ==
          CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_WRITEDATA, setup->sink) == CURLE_OK;
    return ok;
}

bool net_curl_set_method(CURL *h, const char *method, const void *fields, size_t len, bool head)
{
    bool ok = true;
    bool send_body = len > 0 || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0;
    if (head) {
        ok &= curl_easy_setopt(h, CURLOPT_NOBODY, 1L) == CURLE_OK;
    } else if (send_body) {
        ok &= curl_easy_setopt(h, CURLOPT_POST, 1L) == CURLE_OK;
        ok &= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) == CURLE_OK;
        ok &= curl_easy_setopt(h, CURLOPT_POSTFIELDS, fields) == CURLE_OK;
        if (strcmp(method, "POST") != 0)
            ok &= curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method) == CURLE_OK;
    } else {
        ok &= curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) == CURLE_OK;
        if (strcmp(method, "GET") != 0)
            ok &= curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method) == CURLE_OK;
    }
    return ok;
}
