/*
 * http_client.c — the blocking HTTPS client of tkms/http_client.h: one
 * libcurl easy handle per client, reset and configured afresh for every
 * request (curl_easy_reset keeps the open connection, so keep-alive
 * works), TLS 1.3 and certificate checks always on, the response body
 * collected into a bounded buffer.
 */
#include "tkms/http_client.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "curl_common.h"
#include "tkms/secmem.h"

#define WHO "http client"

struct tkms_http_client {
    CURL *curl;
    net_curl_tls tls;
    long timeout_ms;
    size_t max_response;
    char *authorization;    /* "Authorization: Bearer …", or NULL */
    char errbuf[CURL_ERROR_SIZE];
};

/* Wipes and frees a header list (one of them may carry a bearer token). */
static void free_headers(struct curl_slist *headers)
{
    for (struct curl_slist *h = headers; h != NULL; h = h->next)
        tkms_wipe(h->data, strlen(h->data));
    curl_slist_free_all(headers);
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
    size_t max;
    tkms_status st = net_curl_check_options(WHO, opt->cert_file, opt->key_file,
                                            opt->max_response_size,
                                            TKMS_HTTP_CLIENT_DEFAULT_MAX_RESPONSE,
                                            TKMS_HTTP_CLIENT_MAX_RESPONSE_LIMIT, &max, err);
    if (st == TKMS_OK)
        st = net_curl_start(WHO, opt->ca_file, opt->cert_file, opt->key_file, err);
    if (st != TKMS_OK)
        return st;
    for (const char *t = opt->bearer_token; t != NULL && *t != '\0'; t++)
        if ((unsigned char)*t < 0x20 || *t == 0x7f)
            return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                             "http client: the bearer token has control characters");

    tkms_http_client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "http client: out of memory");
    c->timeout_ms = (long)(opt->timeout_ms ? opt->timeout_ms : TKMS_HTTP_CLIENT_DEFAULT_TIMEOUT_MS);
    c->max_response = max;
    bool ok = net_curl_tls_copy(&c->tls, opt->ca_file, opt->cert_file, opt->key_file);
    if (ok)
        ok = (c->curl = curl_easy_init()) != NULL;
    if (ok && opt->bearer_token != NULL) {
        size_t size = strlen(opt->bearer_token) + sizeof "Authorization: Bearer ";
        ok = (c->authorization = malloc(size)) != NULL;
        if (ok)
            snprintf(c->authorization, size, "Authorization: Bearer %s", opt->bearer_token);
    }
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
    bool head;
    tkms_status st = net_curl_check_request(WHO, method, url, content_type, len, &head, err);
    if (st != TKMS_OK)
        return st;

    CURL *h = c->curl;
    curl_easy_reset(h); /* keeps the connection */
    c->errbuf[0] = '\0';
    net_curl_sink s = {.max = c->max_response};
    net_curl_setup setup = {.tls = &c->tls, .errbuf = c->errbuf, .timeout_ms = c->timeout_ms,
                            .connect_timeout_ms = c->timeout_ms,
                            .max_response = c->max_response, .sink = &s};
    bool ok = net_curl_configure(h, &setup) && curl_easy_setopt(h, CURLOPT_URL, url) == CURLE_OK;
    ok &= net_curl_set_method(h, method, len > 0 ? body : "", len, head);

    struct curl_slist *headers = net_curl_headers(content_type);
    if (headers != NULL && c->authorization != NULL) {
        struct curl_slist *more = curl_slist_append(headers, c->authorization);
        if (more == NULL)
            free_headers(headers);
        headers = more;
    }
    if (headers == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "http client: out of memory");
    ok &= curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers) == CURLE_OK;
    if (!ok) {
        free_headers(headers);
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
    free_headers(headers);

    st = TKMS_OK;
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
    net_curl_tls_free(&c->tls);
    if (c->authorization != NULL)
        tkms_wipe(c->authorization, strlen(c->authorization));
    free(c->authorization);
    free(c);
}
