/*
 * cmd_bench_server.c — `tkms bench server`: partial signatures per second
 * from one running threshold server, with its slashing protection on,
 * under concurrent clients on loopback, beside plain blst sign on one core
 * measured in the same run.
 *
 * Every request is a distinct ATTESTATION (target epoch one above the last
 * one sent, source one below its target), so each one makes the server
 * check its history and commit a new record before it signs.
 */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "tkms/hex.h"
#include "tkms/http_client.h"

#define CMD "bench server"
#define MAX_CLIENTS 256u
#define MAX_SAMPLES (1u << 22)

static const char *const help =
    "usage: tkms bench server --url URL --pubkey 0xKEY --genesis-validators-root 0xR\n"
    "                         --ca F --cert F --key F [--clients N] [--seconds S] [--json]\n"
    "\n"
    "Sends ATTESTATION sign requests for group key KEY to the threshold server at\n"
    "URL (https://HOST:PORT) from N concurrent clients (default 8) for S seconds\n"
    "(default 5), each a new attestation the server records in its slashing\n"
    "database before signing, and prints the partial signatures per second and\n"
    "the latency (p50, p99) beside plain blst sign on one core of this machine,\n"
    "measured in the same run. The clients run on this machine too: on a small\n"
    "machine they take CPU from the server.\n"
    "\n"
    "  --ca F, --cert F, --key F   the CA and this client's certificate and key\n"
    "                              (a client the server lets sign ATTESTATION)\n"
    "  --json                      one JSON object instead of text\n";

typedef struct {
    const char *url, *ca, *cert, *key, *pubkey, *gvr;
    double seconds;
    atomic_uint_fast64_t *next_epoch;
    double deadline;
    uint64_t ok, failed;
    cli_latencies latency;            /* one per signed request */
    char first_error[256];
} client_state;

/* Sends requests until the deadline (at least one). */
static void *client_main(void *arg)
{
    client_state *c = arg;
    tkms_http_client *http = NULL;
    tkms_err err;
    if (cli_bench_http_client(&http, c->ca, c->cert, c->key, &err) != TKMS_OK) {
        snprintf(c->first_error, sizeof c->first_error, "%s", err.message);
        c->failed++;
        return NULL;
    }
    char url[1024], body[1024];
    snprintf(url, sizeof url, "%s/v1/eth2/sign/%s", c->url, c->pubkey);
    do {
        uint64_t target = atomic_fetch_add(c->next_epoch, 1);
        int len = cli_bench_attestation(body, sizeof body, c->gvr, target);
        double started = cli_clock_seconds(CLOCK_MONOTONIC);
        tkms_http_response res = {0};
        tkms_status st = tkms_http_client_request(http, "POST", url, "application/json", body,
                                                  (size_t)len, &res, &err);
        double took = cli_clock_seconds(CLOCK_MONOTONIC) - started;
        if (st == TKMS_OK && res.status == 200) {
            c->ok++;
            cli_latencies_add(&c->latency, took);
        } else {
            if (c->failed++ == 0)
                snprintf(c->first_error, sizeof c->first_error, "%s",
                         st != TKMS_OK ? err.message : res.body != NULL ? res.body : "?");
        }
        tkms_http_response_free(&res);
    } while (cli_clock_seconds(CLOCK_MONOTONIC) < c->deadline);
    tkms_http_client_free(http);
    return NULL;
}

int cmd_bench_server(int argc, char **argv)
{
    static const struct option options[] = {
        {"url", required_argument, NULL, 'u'},
        {"pubkey", required_argument, NULL, 'p'},
        {"genesis-validators-root", required_argument, NULL, 'g'},
        {"ca", required_argument, NULL, 'a'},
        {"cert", required_argument, NULL, 'c'},
        {"key", required_argument, NULL, 'k'},
        {"clients", required_argument, NULL, 'n'},
        {"seconds", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    client_state base = {0};
    uint32_t clients = 8, seconds = 5;
    bool json = false;
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'u': base.url = optarg; break;
        case 'p': base.pubkey = optarg; break;
        case 'g': base.gvr = optarg; break;
        case 'a': base.ca = optarg; break;
        case 'c': base.cert = optarg; break;
        case 'k': base.key = optarg; break;
        case 'n':
            if (cli_parse_u32(CMD, "--clients", optarg, 1, MAX_CLIENTS, &clients))
                return CLI_EXIT_USAGE;
            break;
        case 's':
            if (cli_parse_u32(CMD, "--seconds", optarg, 1, 3600, &seconds))
                return CLI_EXIT_USAGE;
            break;
        case 'j': json = true; break;
        case 'h': fputs(help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_flag(CMD, argv);
        }
    }
    if (optind != argc)
        return cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
    if (!base.url || !base.pubkey || !base.gvr || !base.ca || !base.cert || !base.key)
        return cli_usage(CMD, "--url, --pubkey, --genesis-validators-root, --ca, --cert and "
                              "--key are required");

    double sign_before = cli_plain_sign_us();
    /* Epochs above anything a previous run on the same database sent. */
    atomic_uint_fast64_t next_epoch = (uint64_t)time(NULL) * 100000u;
    client_state *state = calloc(clients, sizeof *state);
    pthread_t *threads = calloc(clients, sizeof *threads);
    if (state == NULL || threads == NULL) {
        free(state);
        free(threads);
        return cli_fail(CMD, "out of memory");
    }
    /* One request first, alone: the lowest epochs of the run are then on
     * record, and requests the clients send out of order stay above them. */
    client_state anchor = base;
    anchor.next_epoch = &next_epoch;
    anchor.latency = (cli_latencies){.seconds = &(double){0}, .capacity = 1};
    anchor.deadline = 0;                     /* one request, then stop */
    client_main(&anchor);
    double start = cli_clock_seconds(CLOCK_MONOTONIC);
    for (uint32_t i = 0; i < clients; i++) {
        state[i] = base;
        state[i].next_epoch = &next_epoch;
        state[i].deadline = start + seconds;
        if (!cli_latencies_init(&state[i].latency, MAX_SAMPLES / clients) ||
            pthread_create(&threads[i], NULL, client_main, &state[i]) != 0)
            return cli_fail(CMD, "cannot start client %u", i);
    }
    uint64_t ok = 0, failed = 0;
    size_t samples = 0;
    const char *error = NULL;
    for (uint32_t i = 0; i < clients; i++) {
        pthread_join(threads[i], NULL);
        ok += state[i].ok;
        failed += state[i].failed;
        samples += state[i].latency.count;
        if (error == NULL && state[i].failed > 0)
            error = state[i].first_error;
    }
    double elapsed = cli_clock_seconds(CLOCK_MONOTONIC) - start;
    double sign_after = cli_plain_sign_us();
    double sign = sign_before < sign_after ? sign_before : sign_after;

    cli_latencies all;
    cli_latencies_init(&all, samples);
    for (uint32_t i = 0; i < clients; i++)
        cli_latencies_merge(&all, &state[i].latency);
    cli_latency_summary latency = cli_latencies_summary(&all);
    cli_latencies_free(&all);
    double p50 = latency.p50, p99 = latency.p99;
    free(state);
    free(threads);

    double rate = ok / elapsed, plain = 1e6 / sign;
    if (json) {
        printf("{\"blst_sign_us\": %.1f, \"plain_sign_per_second\": %.0f, \"clients\": %u, "
               "\"seconds\": %.2f, \"signed\": %" PRIu64 ", \"failed\": %" PRIu64 ", "
               "\"partials_per_second\": %.0f, \"ratio_to_plain_sign\": %.3f, "
               "\"latency_p50_ms\": %.2f, \"latency_p99_ms\": %.2f}\n",
               sign, plain, clients, elapsed, ok, failed, rate, rate / plain, p50 * 1e3,
               p99 * 1e3);
    } else {
        printf("tkms bench server: %u clients for %.1f s on loopback, slashing protection on\n"
               "  plain blst sign (one core):  %.1f us = %.0f signatures/s\n"
               "  server partial signatures:   %.0f /s = %.1f%% of plain sign (%" PRIu64
               " signed, %" PRIu64 " failed)\n"
               "  latency:                     p50 %.2f ms, p99 %.2f ms\n",
               clients, elapsed, sign, plain, rate, 100 * rate / plain, ok, failed, p50 * 1e3,
               p99 * 1e3);
    }
    if (failed > 0)
        fprintf(stderr, "tkms bench server: first failure: %s\n", error != NULL ? error : "?");
    return ok > 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
