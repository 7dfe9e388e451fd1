/*
 * metrics.c — the server's request counters and sign latency histogram,
 * and their Prometheus text (contract in metrics.h).
 */
#include "metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CODE_SLOTS 600                 /* codes 0 and 100..599 */

static const char *const route_names[SERVER_ROUTE_COUNT] = {
    "sign", "admin", "ceremony", "health", "metrics", "other"};

static const double bucket_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                       0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
#define BUCKETS (sizeof bucket_bounds / sizeof bucket_bounds[0])

typedef enum {
    REFUSAL_BAD_REQUEST = 0,
    REFUSAL_DENIED,
    REFUSAL_UNKNOWN_KEY,
    REFUSAL_SLASHING,
    REFUSAL_LOCKED,
    REFUSAL_UNAVAILABLE,
    REFUSAL_INTERNAL,
    REFUSAL_COUNT
} refusal;

static const char *const refusal_names[REFUSAL_COUNT] = {
    "bad_request", "denied", "unknown_key", "slashing", "locked", "unavailable", "internal"};

struct server_metrics {
    const char *prefix;               /* "tkms_server" or "tkms_gateway" */
    pthread_mutex_t lock;
    uint64_t requests[SERVER_ROUTE_COUNT][CODE_SLOTS];
    uint64_t refusals[REFUSAL_COUNT];
    uint64_t buckets[BUCKETS];        /* not cumulative; summed when rendered */
    uint64_t sign_count;
    double sign_seconds;
};

server_metrics *server_metrics_new(const char *prefix)
{
    server_metrics *m = calloc(1, sizeof *m);
    if (m != NULL && pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m);
        m = NULL;
    }
    if (m != NULL)
        m->prefix = prefix;
    return m;
}

void server_metrics_free(server_metrics *m)
{
    if (m == NULL)
        return;
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static refusal refusal_of(int code)
{
    switch (code) {
    case 403: return REFUSAL_DENIED;
    case 404: return REFUSAL_UNKNOWN_KEY;
    case 412: return REFUSAL_SLASHING;
    case 423: return REFUSAL_LOCKED;
    case 503: return REFUSAL_UNAVAILABLE;
    default:  return code >= 500 ? REFUSAL_INTERNAL : REFUSAL_BAD_REQUEST;
    }
}

void server_metrics_request(server_metrics *m, server_route route, int code, double seconds)
{
    if (m == NULL || (unsigned)route >= SERVER_ROUTE_COUNT)
        return;
    int slot = code >= 100 && code < CODE_SLOTS ? code : 0;
    pthread_mutex_lock(&m->lock);
    m->requests[route][slot]++;
    if (route == SERVER_ROUTE_SIGN) {
        if (code != 200)
            m->refusals[refusal_of(code)]++;
        size_t b = 0;
        while (b < BUCKETS && seconds > bucket_bounds[b])
            b++;
        if (b < BUCKETS)
            m->buckets[b]++;
        m->sign_count++;
        m->sign_seconds += seconds > 0 ? seconds : 0;
    }
    pthread_mutex_unlock(&m->lock);
}

typedef struct {
    char *text;
    size_t len, capacity;
    int failed;
} out_text;

static void put(out_text *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(out_text *o, const char *fmt, ...)
{
    if (o->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->text + o->len, o->capacity - o->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->failed = 1;
            return;
        }
        if ((size_t)n < o->capacity - o->len) {
            o->len += (size_t)n;
            return;
        }
        char *grown = realloc(o->text, 2 * o->capacity + (size_t)n);
        if (grown == NULL) {
            o->failed = 1;
            return;
        }
        o->text = grown;
        o->capacity = 2 * o->capacity + (size_t)n;
    }
}

char *server_metrics_render(server_metrics *m, const server_key_counts *keys)
{
    if (m == NULL)
        return NULL;
    out_text o = {malloc(4096), 0, 4096, 0};
    if (o.text == NULL)
        return NULL;
    o.text[0] = '\0';
    pthread_mutex_lock(&m->lock);
    put(&o, "# HELP %s_requests_total Requests answered, by route and HTTP status.\n"
            "# TYPE %s_requests_total counter\n", m->prefix, m->prefix);
    for (int r = 0; r < SERVER_ROUTE_COUNT; r++)
        for (int c = 0; c < CODE_SLOTS; c++)
            if (m->requests[r][c] != 0)
                put(&o, "%s_requests_total{route=\"%s\",code=\"%d\"} %llu\n",
                    m->prefix, route_names[r], c, (unsigned long long)m->requests[r][c]);
    put(&o, "# HELP %s_sign_refusals_total Sign requests not signed, by reason.\n"
            "# TYPE %s_sign_refusals_total counter\n", m->prefix, m->prefix);
    for (int r = 0; r < REFUSAL_COUNT; r++)
        put(&o, "%s_sign_refusals_total{reason=\"%s\"} %llu\n", m->prefix, refusal_names[r],
            (unsigned long long)m->refusals[r]);
    put(&o, "# HELP %s_sign_duration_seconds Time to answer a sign request.\n"
            "# TYPE %s_sign_duration_seconds histogram\n", m->prefix, m->prefix);
    uint64_t cumulative = 0;
    for (size_t b = 0; b < BUCKETS; b++) {
        cumulative += m->buckets[b];
        put(&o, "%s_sign_duration_seconds_bucket{le=\"%g\"} %llu\n", m->prefix, bucket_bounds[b],
            (unsigned long long)cumulative);
    }
    put(&o, "%s_sign_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
            "%s_sign_duration_seconds_sum %.6f\n"
            "%s_sign_duration_seconds_count %llu\n",
        m->prefix, (unsigned long long)m->sign_count, m->prefix, m->sign_seconds, m->prefix,
        (unsigned long long)m->sign_count);
    pthread_mutex_unlock(&m->lock);
    if (keys != NULL)
        put(&o, "# HELP tkms_server_keys Group keys held, by state.\n"
                "# TYPE tkms_server_keys gauge\n"
                "tkms_server_keys{state=\"ready\"} %zu\n"
                "tkms_server_keys{state=\"locked\"} %zu\n"
                "tkms_server_keys{state=\"unavailable\"} %zu\n"
                "# HELP tkms_server_shares Shares held.\n"
                "# TYPE tkms_server_shares gauge\n"
                "tkms_server_shares %zu\n"
                "# HELP tkms_server_record_commits_total Group commits of slashing and audit "
                "records.\n"
                "# TYPE tkms_server_record_commits_total counter\n"
                "tkms_server_record_commits_total %llu\n"
                "# HELP tkms_server_records_total Requests recorded by the group commits.\n"
                "# TYPE tkms_server_records_total counter\n"
                "tkms_server_records_total %llu\n",
            keys->ready, keys->locked, keys->unavailable, keys->shares,
            (unsigned long long)keys->commits, (unsigned long long)keys->records);
    if (o.failed) {
        free(o.text);
        return NULL;
    }
    return o.text;
}
