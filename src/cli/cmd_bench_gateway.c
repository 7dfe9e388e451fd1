/*
 * cmd_bench_gateway.c — `tkms bench gateway`: signed attestations per
 * second through a running gateway and its threshold servers, with p50/p99
 * latency, as a ratio to the CPU bound computed in the same run from
 * measured blst costs (DESIGN §10: n partial signs + one combine + one
 * verify per signature, spread over the machine's cores).
 *
 * Closed loop (no --rate): N clients send back to back, which finds the
 * highest sustained rate. Open loop (--rate R): request k is due at
 * start + k/R whichever client is free to send it, and its latency counts
 * from that due time, so time spent waiting for a free client counts too.
 * Every request is a distinct ATTESTATION (target epoch one above the last
 * one, source one below its target); one anchor request goes first, alone,
 * and its signature is checked here against the key.
 *
 * With --watch NAME=PID the CPU time of those processes (from /proc) over
 * the measured window is reported per signature, beside this process's own
 * and the whole machine's, against the bound's budget per signature.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "tkms/combine.h"
#include "tkms/eth2.h"
#include "tkms/hex.h"
#include "tkms/http_client.h"

#define CMD "bench gateway"
#define MAX_CLIENTS 1024u
#define MAX_WATCH 64u
#define MAX_SAMPLES (1u << 22)
#define LATE_SECONDS 0.001          /* an open-loop send this late had to wait */

static const char *const help =
    "usage: tkms bench gateway --url URL --pubkey 0xKEY --genesis-validators-root 0xR\n"
    "                          --ca F --cert F --key F [--clients N] [--seconds S]\n"
    "                          [--rate R] [--shares n] [--threshold K] [--cores C]\n"
    "                          [--watch NAME=PID]... [--json]\n"
    "\n"
    "Sends ATTESTATION sign requests for key KEY to the gateway at URL\n"
    "(https://HOST:PORT, Web3Signer API) from N concurrent clients (default 16)\n"
    "for S seconds (default 10), each a new attestation (target epoch increasing,\n"
    "source = target - 1), and prints the signatures per second, the failures\n"
    "(with the first reason) and the latency (p50, p99).\n"
    "\n"
    "  (no --rate)    closed loop: every client sends its next request as soon as\n"
    "                 the last one is answered; the rate is the highest sustained.\n"
    "  --rate R       open loop: request k is due at start + k/R (R per second),\n"
    "                 sent by whichever client is free; latency counts from the\n"
    "                 due time, so waiting for a free client counts (\"late\"\n"
    "                 sends are those that left more than 1 ms after their time).\n"
    "\n"
    "The rate is printed as a ratio to plain blst sign on one core and to the CPU\n"
    "bound, both measured in this run (before and after the load; the faster is\n"
    "kept): bound = C cores / (n x sign + combine + verify) signatures/s, where\n"
    "combine is tkms's K-of-n optimistic combine (decoding, interpolation and its\n"
    "final verify, which is the bound's one verify). n and K default to 5 and 3\n"
    "(--shares, --threshold); C to the cores online (--cores).\n"
    "\n"
    "  --ca F, --cert F, --key F   the CA and this client's certificate and key\n"
    "                              (a client the gateway serves KEY to)\n"
    "  --watch NAME=PID            also report the CPU time process PID spent\n"
    "                              during the load, per signature (repeatable:\n"
    "                              the gateway and each server)\n"
    "  --json                      one JSON object instead of text\n"
    "\n"
    "The clients run on this machine too: their CPU is reported as \"load\n"
    "generator\", and what neither they nor the watched processes used as \"other\".\n"
    "The costs are also measured in thread CPU time, which other processes on a\n"
    "shared machine do not inflate; with --watch, the efficiency is that budget\n"
    "(n x sign + combine, CPU time) over the CPU the watched processes and the\n"
    "load generator spent per signature: the fraction of the bound this machine\n"
    "would reach with nothing else running.\n";

/* What every client sends to. */
typedef struct {
    char url[1024];                 /* the sign URL */
    char upcheck[1024];             /* GET before the start, to connect */
    const char *ca, *cert, *key, *gvr;
} endpoint;

/* The start line: clients connect (TLS handshake), count themselves in
 * `connected`, and wait for `go`; the window starts only then. */
typedef struct {
    atomic_uint connected;
    atomic_bool go;
    double start, end;              /* written before go is set */
} start_line;

typedef struct {
    const endpoint *ep;
    start_line *line;
    atomic_uint_fast64_t *next;     /* request counter (the anchor takes 0) */
    uint64_t epoch_base;
    double rate;                    /* 0: closed loop */
    uint64_t ok, failed, late;
    cli_latencies latency;          /* one per signed request */
    char first_error[256];
} client_state;

static double now(void)
{
    return cli_clock_seconds(CLOCK_MONOTONIC);
}

static void sleep_until(double t)
{
    struct timespec ts;
    ts.tv_sec = (time_t)t;
    ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec >= 1000000000L)
        ts.tv_nsec = 999999999L;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

static void note_failure(client_state *c, const char *why)
{
    if (c->failed++ == 0)
        snprintf(c->first_error, sizeof c->first_error, "%s", why);
}

static void pause_us(long us)
{
    struct timespec ts = {0, us * 1000L};
    nanosleep(&ts, NULL);
}

/* Sends this client's share of the load until its end time. */
static void *client_main(void *arg)
{
    client_state *c = arg;
    const endpoint *ep = c->ep;
    tkms_http_client *http = NULL;
    tkms_err err;
    bool usable = cli_bench_http_client(&http, ep->ca, ep->cert, ep->key, &err) == TKMS_OK;
    if (!usable) {
        note_failure(c, err.message);
    } else {
        /* connect now, outside the measured window (the answer does not matter) */
        tkms_http_response res = {0};
        tkms_http_client_request(http, "GET", ep->upcheck, NULL, NULL, 0, &res, NULL);
        tkms_http_response_free(&res);
    }
    atomic_fetch_add(&c->line->connected, 1);
    while (!atomic_load(&c->line->go))
        pause_us(200);
    double start = c->line->start, end = c->line->end;
    char body[1024];
    while (usable) {
        uint64_t k = atomic_fetch_add(c->next, 1);
        double due;
        if (c->rate > 0) {
            due = start + (double)(k - 1) / c->rate;
            if (due >= end)
                break;
            sleep_until(due);
        } else {
            due = now();
            if (due >= end)
                break;
        }
        double sent = now();
        if (c->rate > 0 && sent - due > LATE_SECONDS)
            c->late++;
        int len = cli_bench_attestation(body, sizeof body, ep->gvr, c->epoch_base + k);
        tkms_http_response res = {0};
        tkms_status st = tkms_http_client_request(http, "POST", ep->url, "application/json",
                                                  body, (size_t)len, &res, &err);
        double took = now() - due;
        if (st == TKMS_OK && res.status == 200) {
            c->ok++;
            cli_latencies_add(&c->latency, took);
        } else {
            char why[256];
            if (st != TKMS_OK)
                snprintf(why, sizeof why, "%s", err.message);
            else
                snprintf(why, sizeof why, "HTTP %ld: %.200s", res.status,
                         res.body != NULL ? res.body : "");
            note_failure(c, why);
        }
        tkms_http_response_free(&res);
    }
    tkms_http_client_free(http);
    return NULL;
}

/* ---- the anchor: one request, alone, its signature checked here ---------- */

static int send_anchor(const endpoint *ep, const char *pubkey_hex, uint64_t epoch)
{
    tkms_http_client *http = NULL;
    tkms_err err;
    if (cli_bench_http_client(&http, ep->ca, ep->cert, ep->key, &err) != TKMS_OK)
        return cli_fail(CMD, "%s", err.message);
    char body[1024];
    int len = cli_bench_attestation(body, sizeof body, ep->gvr, epoch);
    tkms_http_response res = {0};
    tkms_status st = tkms_http_client_request(http, "POST", ep->url, "application/json", body,
                                              (size_t)len, &res, &err);
    tkms_http_client_free(http);
    if (st != TKMS_OK)
        return cli_fail(CMD, "first request: %s", err.message);
    if (res.status != 200) {
        int rc = cli_fail(CMD, "first request: HTTP %ld: %.300s", res.status,
                          res.body != NULL ? res.body : "");
        tkms_http_response_free(&res);
        return rc;
    }
    json_t *j = json_loadb(res.body, res.body_len, 0, NULL);
    const char *sig_hex = json_string_value(json_object_get(j, "signature"));
    uint8_t pk_bytes[TKMS_PUBLIC_KEY_SIZE], sig_bytes[TKMS_SIGNATURE_SIZE];
    tkms_public_key pk;
    tkms_signature sig;
    tkms_eth2_request parsed;
    int rc = CLI_EXIT_OK;
    if (sig_hex == NULL || tkms_hex_decode(sig_bytes, sizeof sig_bytes, sig_hex, &err) != TKMS_OK ||
        tkms_signature_from_bytes(&sig, sig_bytes) != TKMS_OK)
        rc = cli_fail(CMD, "first request: no valid signature in %.300s", res.body);
    else if (tkms_hex_decode(pk_bytes, sizeof pk_bytes, pubkey_hex, &err) != TKMS_OK ||
             tkms_public_key_from_bytes(&pk, pk_bytes) != TKMS_OK)
        rc = cli_fail(CMD, "--pubkey is not a public key");
    else if (tkms_eth2_parse_sign_request(&parsed, body, (size_t)len, &TKMS_ETH2_MAINNET,
                                          &err) != TKMS_OK)
        rc = cli_fail(CMD, "cannot compute the signing root: %s", err.message);
    else if (!tkms_verify(&pk, parsed.signing_root, sizeof parsed.signing_root, &sig))
        rc = cli_fail(CMD, "the gateway's signature does not verify against %s", pubkey_hex);
    json_decref(j);
    tkms_http_response_free(&res);
    return rc;
}

/* ---- the bound: blst costs measured here ------------------------------------ */

typedef struct {
    tkms_combiner *combiner;
    const tkms_group *group;
    tkms_partial *partials;         /* K of them */
    uint32_t k;
    uint32_t *bad;
    tkms_signature sig;             /* the group signature on msg */
    tkms_secret_key sk;             /* for plain sign */
    uint8_t msg[32];
} cost_state;

typedef void (*cost_op)(cost_state *s);

static void op_sign(cost_state *s)
{
    tkms_signature sig;
    s->msg[31]++;
    tkms_sign(&sig, &s->sk, s->msg, sizeof s->msg);
    s->msg[31]--;
}

static void op_combine(cost_state *s)
{
    size_t nbad = 0;
    if (tkms_combiner_combine(s->combiner, s->msg, sizeof s->msg, s->partials, s->k,
                              tkms_rng_system(), &s->sig, s->bad, &nbad) != TKMS_OK ||
        nbad != 0)
        abort();
}

static void op_verify(cost_state *s)
{
    if (!tkms_verify(&s->group->group_key, s->msg, sizeof s->msg, &s->sig))
        abort();
}

/* What one operation costs: wall time (the project's measure, DESIGN
 * §10) and this thread's CPU time (what it takes from the machine, which
 * other processes on a shared machine do not inflate), µs. */
typedef struct {
    double wall, cpu;
} cost;

/* Per op: at least 0.3 s and 3 runs, after one to warm up. */
static cost time_op(cost_op op, cost_state *s)
{
    op(s);
    unsigned n = 0;
    double start = now(), cpu_start = cli_clock_seconds(CLOCK_THREAD_CPUTIME_ID), elapsed;
    do {
        op(s);
        n++;
        elapsed = now() - start;
    } while (elapsed < 0.3 || n < 3);
    double cpu = cli_clock_seconds(CLOCK_THREAD_CPUTIME_ID) - cpu_start;
    return (cost){elapsed * 1e6 / n, cpu * 1e6 / n};
}

typedef struct {
    double sign_us, verify_us, combine_us;   /* wall; sign is cli_plain_sign_us */
    cost sign, verify, combine;              /* wall and CPU, measured here */
} crypto_costs;

/* Plain sign, one verify and one K-of-n combine on this machine now. */
static int measure_costs(uint32_t n, uint32_t k, crypto_costs *out)
{
    cost_state s;
    memset(&s, 0, sizeof s);
    memset(s.msg, 0x5a, sizeof s.msg);
    s.k = k;
    tkms_secret_key sk;
    uint8_t sk_bytes[32] = {0};
    sk_bytes[31] = 11;
    tkms_secret_key_from_bytes(&sk, sk_bytes);
    tkms_share *shares = calloc(n, sizeof *shares);
    tkms_group *group = NULL;
    s.partials = calloc(k, sizeof *s.partials);
    s.bad = calloc(k, sizeof *s.bad);
    int rc = CLI_EXIT_OK;
    if (shares == NULL || s.partials == NULL || s.bad == NULL ||
        tkms_split(&group, shares, &sk, k, n, tkms_rng_system()) != TKMS_OK ||
        (s.combiner = tkms_combiner_new(group)) == NULL) {
        rc = cli_fail(CMD, "cannot set up the cost measurement (memory or randomness)");
    } else {
        s.group = group;
        /* the last K shares answer, as any K may */
        for (uint32_t i = 0; i < k; i++) {
            tkms_signature p;
            tkms_partial_sign(&p, &shares[n - k + i], s.msg, sizeof s.msg);
            s.partials[i].index = shares[n - k + i].index;
            tkms_signature_to_bytes(s.partials[i].signature, &p);
        }
        s.sk = shares[0].key;
        out->sign_us = cli_plain_sign_us();
        out->sign = time_op(op_sign, &s);
        out->combine = time_op(op_combine, &s);
        out->verify = time_op(op_verify, &s);
        out->combine_us = out->combine.wall;
        out->verify_us = out->verify.wall;
        tkms_secret_key_wipe(&s.sk);
    }
    tkms_combiner_free(s.combiner);
    tkms_group_free(group);
    if (shares != NULL)
        for (uint32_t i = 0; i < n; i++)
            tkms_share_wipe(&shares[i]);
    free(shares);
    free(s.partials);
    free(s.bad);
    tkms_secret_key_wipe(&sk);
    return rc;
}

/* ---- CPU time of processes and of the machine ------------------------------- */

typedef struct {
    const char *name;
    pid_t pid;
    double before, after;           /* CPU seconds (user + system) */
    bool ok;
} watched;

/* utime + stime of PID, all its threads, in seconds. */
static bool process_cpu(pid_t pid, double *out)
{
    char path[64], line[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    bool got = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    char *p = got ? strrchr(line, ')') : NULL;
    unsigned long long utime, stime;
    /* after "(comm)": state ppid pgrp session tty tpgid flags minflt
     * cminflt majflt cmajflt utime stime */
    if (p == NULL || sscanf(p + 1, " %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu",
                            &utime, &stime) != 2)
        return false;
    *out = (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
    return true;
}

/* Busy CPU seconds of the whole machine, all cores (from /proc/stat). */
static bool machine_busy(double *out)
{
    FILE *f = fopen("/proc/stat", "r");
    if (f == NULL)
        return false;
    unsigned long long user, nice, sys, idle, iowait, irq, softirq, steal;
    int got = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &sys,
                     &idle, &iowait, &irq, &softirq, &steal);
    fclose(f);
    if (got != 8)
        return false;
    *out = (double)(user + nice + sys + irq + softirq + steal) / (double)sysconf(_SC_CLK_TCK);
    return true;
}

static int parse_double(const char *flag, const char *text, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !(v >= min && v <= max))
        return cli_usage(CMD, "%s must be a number in [%g, %g]", flag, min, max);
    *out = v;
    return CLI_EXIT_OK;
}

static double min2(double a, double b)
{
    return a < b ? a : b;
}

int cmd_bench_gateway(int argc, char **argv)
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
        {"rate", required_argument, NULL, 'r'},
        {"shares", required_argument, NULL, 'N'},
        {"threshold", required_argument, NULL, 'K'},
        {"cores", required_argument, NULL, 'C'},
        {"watch", required_argument, NULL, 'w'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *url = NULL, *pubkey = NULL;
    endpoint ep = {0};
    uint32_t clients = 16, shares = 5, threshold = 3;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    uint32_t cores = online > 0 ? (uint32_t)online : 1;
    double seconds = 10, rate = 0;
    watched watch[MAX_WATCH];
    size_t nwatch = 0;
    bool json = false;
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'u': url = optarg; break;
        case 'p': pubkey = optarg; break;
        case 'g': ep.gvr = optarg; break;
        case 'a': ep.ca = optarg; break;
        case 'c': ep.cert = optarg; break;
        case 'k': ep.key = optarg; break;
        case 'n':
            if (cli_parse_u32(CMD, "--clients", optarg, 1, MAX_CLIENTS, &clients))
                return CLI_EXIT_USAGE;
            break;
        case 's':
            if (parse_double("--seconds", optarg, 0.1, 3600, &seconds))
                return CLI_EXIT_USAGE;
            break;
        case 'r':
            if (parse_double("--rate", optarg, 0.01, 1e6, &rate))
                return CLI_EXIT_USAGE;
            break;
        case 'N':
            if (cli_parse_u32(CMD, "--shares", optarg, 1, TKMS_MAX_SHARES, &shares))
                return CLI_EXIT_USAGE;
            break;
        case 'K':
            if (cli_parse_u32(CMD, "--threshold", optarg, 1, TKMS_MAX_SHARES, &threshold))
                return CLI_EXIT_USAGE;
            break;
        case 'C':
            if (cli_parse_u32(CMD, "--cores", optarg, 1, 4096, &cores))
                return CLI_EXIT_USAGE;
            break;
        case 'w': {
            const char *eq = strchr(optarg, '=');
            char *end;
            long pid = eq != NULL ? strtol(eq + 1, &end, 10) : 0;
            if (eq == NULL || eq == optarg || *end != '\0' || pid <= 0)
                return cli_usage(CMD, "--watch wants NAME=PID, not '%s'", optarg);
            if (nwatch == MAX_WATCH)
                return cli_usage(CMD, "at most %u --watch", MAX_WATCH);
            *(char *)eq = '\0';
            watch[nwatch++] = (watched){.name = optarg, .pid = (pid_t)pid};
            break;
        }
        case 'j': json = true; break;
        case 'h': fputs(help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_flag(CMD, argv);
        }
    }
    if (optind != argc)
        return cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
    if (!url || !pubkey || !ep.gvr || !ep.ca || !ep.cert || !ep.key)
        return cli_usage(CMD, "--url, --pubkey, --genesis-validators-root, --ca, --cert and "
                              "--key are required");
    if (threshold > shares)
        return cli_usage(CMD, "--threshold %u is more than --shares %u", threshold, shares);
    if ((size_t)snprintf(ep.url, sizeof ep.url, "%s/api/v1/eth2/sign/%s", url, pubkey) >=
            sizeof ep.url ||
        (size_t)snprintf(ep.upcheck, sizeof ep.upcheck, "%s/upcheck", url) >= sizeof ep.upcheck)
        return cli_usage(CMD, "--url is too long");

    /* Epochs above anything an earlier run sent: one per microsecond of
     * the wall clock (a run cannot send faster than that). */
    uint64_t epoch_base = (uint64_t)(cli_clock_seconds(CLOCK_REALTIME) * 1e6);
    atomic_uint_fast64_t next = 1;
    /* One request first, alone: the lowest epoch of the run is then on
     * record, and requests the clients send out of order stay above it. */
    int rc = send_anchor(&ep, pubkey, epoch_base);
    if (rc != CLI_EXIT_OK)
        return rc;
    crypto_costs before, after;
    rc = measure_costs(shares, threshold, &before);
    if (rc != CLI_EXIT_OK)
        return rc;

    client_state *state = calloc(clients, sizeof *state);
    pthread_t *threads = calloc(clients, sizeof *threads);
    if (state == NULL || threads == NULL) {
        free(state);
        free(threads);
        return cli_fail(CMD, "out of memory");
    }
    start_line line;
    atomic_init(&line.connected, 0);
    atomic_init(&line.go, false);
    uint32_t started = 0;
    for (uint32_t i = 0; i < clients; i++) {
        state[i] = (client_state){.ep = &ep, .line = &line, .next = &next,
                                  .epoch_base = epoch_base, .rate = rate};
        if (!cli_latencies_init(&state[i].latency, MAX_SAMPLES / clients) ||
            pthread_create(&threads[i], NULL, client_main, &state[i]) != 0) {
            cli_latencies_free(&state[i].latency);
            rc = cli_fail(CMD, "cannot start client %u", i);
            break;                            /* the started ones run to the end */
        }
        started++;
    }
    while (atomic_load(&line.connected) < started)
        pause_us(1000);
    double busy_before = 0, busy_after = 0;
    bool busy_ok = machine_busy(&busy_before);
    for (size_t i = 0; i < nwatch; i++)
        watch[i].ok = process_cpu(watch[i].pid, &watch[i].before);
    double self_before = cli_clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
    double start = now();
    line.start = start;
    line.end = start + seconds;
    atomic_store(&line.go, true);
    uint64_t ok = 0, failed = 0, late = 0;
    size_t samples = 0;
    const char *error = NULL;
    for (uint32_t i = 0; i < started; i++) {
        pthread_join(threads[i], NULL);
        ok += state[i].ok;
        failed += state[i].failed;
        late += state[i].late;
        samples += state[i].latency.count;
        if (error == NULL && state[i].failed > 0)
            error = state[i].first_error;
    }
    double elapsed = now() - start;
    double self_cpu = cli_clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - self_before;
    for (size_t i = 0; i < nwatch; i++)
        watch[i].ok = watch[i].ok && process_cpu(watch[i].pid, &watch[i].after);
    busy_ok = busy_ok && machine_busy(&busy_after);

    cli_latencies all;
    cli_latencies_init(&all, samples);
    for (uint32_t i = 0; i < started; i++)
        cli_latencies_merge(&all, &state[i].latency);
    cli_latency_summary latency = cli_latencies_summary(&all);
    cli_latencies_free(&all);
    double p50 = latency.p50, p99 = latency.p99, pmax = latency.max;
    if (rc != CLI_EXIT_OK) {
        free(state);
        free(threads);
        return rc;
    }

    rc = measure_costs(shares, threshold, &after);
    if (rc != CLI_EXIT_OK) {
        free(state);
        free(threads);
        return rc;
    }
    crypto_costs c = {
        .sign_us = min2(before.sign_us, after.sign_us),
        .verify_us = min2(before.verify_us, after.verify_us),
        .combine_us = min2(before.combine_us, after.combine_us),
        .sign = {0, min2(before.sign.cpu, after.sign.cpu)},
        .verify = {0, min2(before.verify.cpu, after.verify.cpu)},
        .combine = {0, min2(before.combine.cpu, after.combine.cpu)},
    };
    /* the combine's own final verify is the model's one verify */
    double budget_us = shares * c.sign_us + c.combine_us;
    double bound = cores * 1e6 / budget_us, plain = 1e6 / c.sign_us;
    /* the same from CPU time: what the machine could do with nobody else on it */
    double budget_cpu_us = shares * c.sign.cpu + c.combine.cpu;
    double bound_cpu = cores * 1e6 / budget_cpu_us;
    double signed_rate = ok / elapsed;
    double per_sig_ms = ok > 0 ? 1e3 / (double)ok : 0;   /* CPU s -> ms per signature */
    double watched_cpu = 0;
    for (size_t i = 0; i < nwatch; i++)
        if (watch[i].ok)
            watched_cpu += watch[i].after - watch[i].before;
    double machine = busy_after - busy_before;
    double other = machine - watched_cpu - self_cpu;
    /* The bound's budget over what the watched processes and the load
     * generator spent a signature: the fraction of the bound reachable
     * with the machine to ourselves (1 = no CPU beyond the model). */
    double spent_ms = (watched_cpu + self_cpu) * per_sig_ms;
    double efficiency = nwatch > 0 && spent_ms > 0 ? budget_cpu_us / 1e3 / spent_ms : 0;

    if (json) {
        json_t *o = json_object();
        json_object_set_new(o, "mode", json_string(rate > 0 ? "open" : "closed"));
        json_object_set_new(o, "offered_per_second", rate > 0 ? json_real(rate) : json_null());
        json_object_set_new(o, "clients", json_integer(clients));
        json_object_set_new(o, "seconds", json_real(elapsed));
        json_object_set_new(o, "shares", json_integer(shares));
        json_object_set_new(o, "threshold", json_integer(threshold));
        json_object_set_new(o, "cores", json_integer(cores));
        json_object_set_new(o, "signed", json_integer((json_int_t)ok));
        json_object_set_new(o, "failed", json_integer((json_int_t)failed));
        json_object_set_new(o, "first_failure", error != NULL ? json_string(error) : json_null());
        json_object_set_new(o, "late_sends", json_integer((json_int_t)late));
        json_object_set_new(o, "signed_per_second", json_real(signed_rate));
        json_object_set_new(o, "latency_p50_ms", json_real(p50 * 1e3));
        json_object_set_new(o, "latency_p99_ms", json_real(p99 * 1e3));
        json_object_set_new(o, "latency_max_ms", json_real(pmax * 1e3));
        json_object_set_new(o, "blst_sign_us", json_real(c.sign_us));
        json_object_set_new(o, "verify_us", json_real(c.verify_us));
        json_object_set_new(o, "combine_us", json_real(c.combine_us));
        json_object_set_new(o, "budget_ms_per_signature", json_real(budget_us / 1e3));
        json_object_set_new(o, "blst_sign_cpu_us", json_real(c.sign.cpu));
        json_object_set_new(o, "verify_cpu_us", json_real(c.verify.cpu));
        json_object_set_new(o, "combine_cpu_us", json_real(c.combine.cpu));
        json_object_set_new(o, "budget_cpu_ms_per_signature", json_real(budget_cpu_us / 1e3));
        json_object_set_new(o, "bound_cpu_per_second", json_real(bound_cpu));
        json_object_set_new(o, "ratio_to_cpu_bound", json_real(signed_rate / bound_cpu));
        json_object_set_new(o, "bound_per_second", json_real(bound));
        json_object_set_new(o, "plain_sign_per_second", json_real(plain));
        json_object_set_new(o, "ratio_to_bound", json_real(signed_rate / bound));
        json_object_set_new(o, "ratio_to_plain_sign", json_real(signed_rate / plain));
        json_t *cpu = json_array();
        for (size_t i = 0; i < nwatch; i++)
            if (watch[i].ok)
                json_array_append_new(cpu, json_pack("{s:s, s:f, s:f}", "name", watch[i].name,
                                                     "cpu_seconds",
                                                     watch[i].after - watch[i].before,
                                                     "ms_per_signature",
                                                     (watch[i].after - watch[i].before) *
                                                         per_sig_ms));
        json_array_append_new(cpu, json_pack("{s:s, s:f, s:f}", "name", "load generator",
                                             "cpu_seconds", self_cpu, "ms_per_signature",
                                             self_cpu * per_sig_ms));
        if (busy_ok) {
            json_array_append_new(cpu, json_pack("{s:s, s:f, s:f}", "name", "other",
                                                 "cpu_seconds", other, "ms_per_signature",
                                                 other * per_sig_ms));
            json_array_append_new(cpu, json_pack("{s:s, s:f, s:f}", "name", "machine",
                                                 "cpu_seconds", machine, "ms_per_signature",
                                                 machine * per_sig_ms));
        }
        json_object_set_new(o, "cpu", cpu);
        json_object_set_new(o, "efficiency", nwatch > 0 ? json_real(efficiency) : json_null());
        char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6));
        if (text != NULL)
            puts(text);
        free(text);
        json_decref(o);
    } else {
        if (rate > 0)
            printf("tkms bench gateway: open loop, %.1f requests/s due over %u clients for "
                   "%.1f s (%u-of-%u, loopback)\n",
                   rate, clients, seconds, threshold, shares);
        else
            printf("tkms bench gateway: closed loop, %u clients for %.1f s (%u-of-%u, "
                   "loopback)\n",
                   clients, seconds, threshold, shares);
        printf("  signed:            %.1f /s (%" PRIu64 " signed, %" PRIu64 " failed in %.2f s)\n",
               signed_rate, ok, failed, elapsed);
        printf("  latency:           p50 %.2f ms, p99 %.2f ms, max %.2f ms%s\n", p50 * 1e3,
               p99 * 1e3, pmax * 1e3, rate > 0 ? " (from the due time)" : "");
        if (rate > 0)
            printf("  late sends:        %" PRIu64 " (left > 1 ms after their due time)\n",
                   late);
        printf("  blst, one core:    sign %.1f us, verify %.1f us, combine %u-of-%u %.1f us "
               "(incl. its verify)\n",
               c.sign_us, c.verify_us, threshold, shares, c.combine_us);
        printf("  CPU bound:         %u cores / (%u x sign + combine) = %u / %.3f ms = %.1f /s\n",
               cores, shares, cores, budget_us / 1e3, bound);
        printf("  rate / bound:      %.3f\n", signed_rate / bound);
        printf("  rate / plain sign: %.4f (plain sign: %.0f /s on one core)\n",
               signed_rate / plain, plain);
        printf("  in CPU time:       sign %.1f us, verify %.1f us, combine %.1f us: budget "
               "%.3f ms,\n"
               "                     bound %.1f /s, rate / that bound %.3f (the wall-time "
               "figures\n"
               "                     above also count time other processes took)\n",
               c.sign.cpu, c.verify.cpu, c.combine.cpu, budget_cpu_us / 1e3, bound_cpu,
               signed_rate / bound_cpu);
        printf("  CPU per signature over the run, ms (the budget in CPU time: %.3f ms):\n",
               budget_cpu_us / 1e3);
        for (size_t i = 0; i < nwatch; i++) {
            if (watch[i].ok)
                printf("    %-16s %8.3f  (%.2f s)\n", watch[i].name,
                       (watch[i].after - watch[i].before) * per_sig_ms,
                       watch[i].after - watch[i].before);
            else
                printf("    %-16s (pid %d not readable)\n", watch[i].name, (int)watch[i].pid);
        }
        printf("    %-16s %8.3f  (%.2f s)\n", "load generator", self_cpu * per_sig_ms, self_cpu);
        if (busy_ok) {
            printf("    %-16s %8.3f  (%.2f s)\n", "other", other * per_sig_ms, other);
            printf("    %-16s %8.3f  (%.2f s = %.0f%% of %u cores)\n", "machine",
                   machine * per_sig_ms, machine, 100 * machine / (cores * elapsed), cores);
        }
        if (nwatch > 0)
            printf("  efficiency:        %.3f = budget %.3f ms / %.3f ms spent by the watched\n"
                   "                     processes and the load generator (the fraction of the\n"
                   "                     bound reachable with the machine to ourselves)\n",
                   efficiency, budget_cpu_us / 1e3, spent_ms);
    }
    if (failed > 0)
        fprintf(stderr, "tkms bench gateway: %" PRIu64 " failed; the first: %s\n", failed,
                error != NULL ? error : "?");
    free(state);
    free(threads);
    return ok > 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
