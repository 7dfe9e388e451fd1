/*
 * bench_common.c — what the benchmark commands share: plain blst sign on
 * one core, measured in the same run, that every figure is compared
 * against (DESIGN §10), and for the load benchmarks (bench server, bench
 * gateway) the attestation they send, their HTTPS client and their
 * latency percentiles.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "tkms/bls.h"

double cli_clock_seconds(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double cli_plain_sign_us(void)
{
    tkms_secret_key sk;
    uint8_t bytes[32] = {0}, msg[32] = {0};
    bytes[31] = 7;
    tkms_secret_key_from_bytes(&sk, bytes);
    double best = 0;
    for (int run = 0; run < 2; run++) {
        unsigned n = 0;
        double start = cli_clock_seconds(CLOCK_MONOTONIC), elapsed;
        do {
            tkms_signature sig;
            msg[0] = (uint8_t)n++;
            tkms_sign(&sig, &sk, msg, sizeof msg);
            elapsed = cli_clock_seconds(CLOCK_MONOTONIC) - start;
        } while (elapsed < 0.3 || n < 3);
        double us = elapsed * 1e6 / n;
        if (run == 0 || us < best)
            best = us;
    }
    tkms_secret_key_wipe(&sk);
    return best;
}

/* ---- the load benchmarks ------------------------------------------------------ */

static const char attestation_format[] =
    "{\"type\":\"ATTESTATION\",\"fork_info\":{\"fork\":{\"previous_version\":\"0x00000000\","
    "\"current_version\":\"0x00000000\",\"epoch\":\"0\"},\"genesis_validators_root\":\"%s\"},"
    "\"attestation\":{\"slot\":\"%" PRIu64 "\",\"index\":\"0\",\"beacon_block_root\":"
    "\"0x1111111111111111111111111111111111111111111111111111111111111111\",\"source\":{"
    "\"epoch\":\"%" PRIu64 "\",\"root\":\"0x2222222222222222222222222222222222222222222222222"
    "222222222222222\"},\"target\":{\"epoch\":\"%" PRIu64 "\",\"root\":\"0x33333333333333333"
    "33333333333333333333333333333333333333333333333\"}}}";

int cli_bench_attestation(char *body, size_t size, const char *gvr, uint64_t target)
{
    return snprintf(body, size, attestation_format, gvr, target * 32, target - 1, target);
}

tkms_status cli_bench_http_client(tkms_http_client **out, const char *ca, const char *cert,
                                  const char *key, tkms_err *err)
{
    tkms_http_client_options opt = {.ca_file = ca, .cert_file = cert, .key_file = key};
    return tkms_http_client_new(out, &opt, err);
}

bool cli_latencies_init(cli_latencies *l, size_t capacity)
{
    *l = (cli_latencies){.seconds = malloc((capacity ? capacity : 1) * sizeof(double)),
                         .capacity = capacity};
    l->lost = l->seconds == NULL;
    return !l->lost;
}

void cli_latencies_add(cli_latencies *l, double seconds)
{
    if (l->count < l->capacity)
        l->seconds[l->count++] = seconds;
}

void cli_latencies_merge(cli_latencies *into, cli_latencies *from)
{
    if (!into->lost && into->count + from->count > into->capacity) {
        size_t capacity = into->count + from->count;
        double *grown = realloc(into->seconds, (capacity ? capacity : 1) * sizeof *grown);
        if (grown == NULL) {
            into->lost = true;
        } else {
            into->seconds = grown;
            into->capacity = capacity;
        }
    }
    if (!into->lost && from->count > 0) {
        memcpy(into->seconds + into->count, from->seconds, from->count * sizeof(double));
        into->count += from->count;
    }
    cli_latencies_free(from);
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

cli_latency_summary cli_latencies_summary(cli_latencies *l)
{
    cli_latency_summary s = {0, 0, 0};
    if (l->lost || l->count == 0)
        return s;
    qsort(l->seconds, l->count, sizeof *l->seconds, compare_double);
    s.p50 = l->seconds[l->count / 2];
    s.p99 = l->seconds[l->count * 99 / 100];
    s.max = l->seconds[l->count - 1];
    return s;
}

void cli_latencies_free(cli_latencies *l)
{
    free(l->seconds);
    *l = (cli_latencies){0};
}
