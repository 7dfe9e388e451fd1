/*
 * metrics.h — request counters of the threshold server (and the gateway),
 * rendered as Prometheus text (exposition format 0.0.4) for GET /metrics.
 * The names below are the server's; the gateway's start with tkms_gateway.
 *
 *   tkms_server_requests_total{route="sign",code="200"}   requests answered
 *   tkms_server_sign_refusals_total{reason="slashing"}      sign requests not
 *       signed, by reason: bad_request, denied, unknown_key, slashing,
 *       locked, unavailable, internal
 *   tkms_server_sign_duration_seconds_bucket{le="…"} / _sum / _count
 *       time from the request's arrival to its answer, signed or not
 *   tkms_server_keys{state="ready"|"locked"|"unavailable"}  gauges the
 *       caller passes to the renderer, with tkms_server_shares and the
 *       group-commit counters tkms_server_record_commits_total and
 *       tkms_server_records_total (records / commits = the mean group)
 *
 * Labels come from fixed sets, so the number of series is bounded whatever
 * clients send. Every function is safe from any thread.
 */
#ifndef TKMS_SERVER_METRICS_H
#define TKMS_SERVER_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    SERVER_ROUTE_SIGN = 0,
    SERVER_ROUTE_ADMIN,
    SERVER_ROUTE_CEREMONY,
    SERVER_ROUTE_HEALTH,
    SERVER_ROUTE_METRICS,
    SERVER_ROUTE_OTHER,
    SERVER_ROUTE_COUNT
} server_route;

typedef struct server_metrics server_metrics;

/* Counters whose metric names start with `prefix` (static: "tkms_server",
 * "tkms_gateway"); NULL when out of memory. */
server_metrics *server_metrics_new(const char *prefix);
void server_metrics_free(server_metrics *m);

/* Counts one answered request with HTTP status `code` (100..599; others
 * are counted as 0). For SERVER_ROUTE_SIGN also records `seconds` in the
 * histogram and, when code is not 200, a refusal by the code's reason. */
void server_metrics_request(server_metrics *m, server_route route, int code, double seconds);

/* Key counts shown as gauges. */
typedef struct {
    size_t ready, locked, unavailable, shares;
    uint64_t commits, records;   /* group commits made, requests they recorded */
} server_key_counts;

/* The Prometheus text (malloc'ed, NUL-terminated), or NULL when out of
 * memory. */
char *server_metrics_render(server_metrics *m, const server_key_counts *keys);

#endif /* TKMS_SERVER_METRICS_H */
