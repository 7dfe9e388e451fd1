/*
 * cmd_bench_dkg.c — `tkms bench dkg`: what a distributed key generation
 * costs, run with every party in this process (tkms/simulation.h), beside
 * plain blst sign measured in the same run (DESIGN §10).
 *
 * For each configuration of the issue — 5 parties K = 3 with 1,000 keys,
 * 64 parties K = 43 with one key, and 10 weighted owners holding 100
 * shares with one key — it reports the wall time of the whole ceremony,
 * the CPU time of the process, each party's own CPU time (measured around
 * every piece of its work through the simulator's on_work callback with
 * the thread CPU clock; what is left is the relay's), and the bytes each
 * party sent (counted once per recipient). Nothing is written to disk.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_ceremony.h"
#include "tkms/secmem.h"
#include "tkms/simulation.h"

#define CMD "bench dkg"

static const char *const help =
    "usage: tkms bench dkg [--json]\n"
    "\n"
    "Runs three distributed key generations with every party in this process\n"
    "and reports, for each: wall time, total CPU time, CPU time per party\n"
    "(min / mean / max) and bytes sent per party (min / mean / max), and the\n"
    "total CPU as a ratio to one plain blst sign measured in the same run:\n"
    "  n=5 K=3 M=1000      5 parties, 1,000 keys in one ceremony\n"
    "  n=64 K=43 M=1       64 parties, one key\n"
    "  weighted            10 owners holding 20/15/12/10/10/9/8/7/5/4 of\n"
    "                      100 shares, K = 67, one key\n"
    "Identities and polynomials come from the system RNG; no file is written.\n";

typedef struct {
    const char *name;
    uint32_t parties, threshold, keys;
    const uint32_t *shares;   /* per party, NULL: one each */
} config;

static const uint32_t weighted_shares[10] = {20, 15, 12, 10, 10, 9, 8, 7, 5, 4};

static const config configs[] = {
    {"n=5 K=3 M=1000", 5, 3, 1000, NULL},
    {"n=64 K=43 M=1", 64, 43, 1, NULL},
    {"weighted 10 owners n=100 K=67 M=1", 10, 67, 1, weighted_shares},
};

/* on_work: CPU seconds spent inside each party's calls. */
typedef struct {
    double *cpu;     /* [m] */
    double started;
} party_clock;

static void on_work(void *ctx, uint32_t party, int begin)
{
    party_clock *c = ctx;
    double now = cli_clock_seconds(CLOCK_THREAD_CPUTIME_ID);
    if (begin)
        c->started = now;
    else
        c->cpu[party - 1] += now - c->started;
}


typedef struct {
    double wall, cpu;               /* seconds, the whole ceremony       */
    double party_min, party_mean, party_max;
    double bytes_min, bytes_mean, bytes_max;
} result;

static void min_mean_max(const double *v, size_t n, double *min, double *mean, double *max)
{
    double sum = 0;
    *min = *max = v[0];
    for (size_t i = 0; i < n; i++) {
        sum += v[i];
        *min = v[i] < *min ? v[i] : *min;
        *max = v[i] > *max ? v[i] : *max;
    }
    *mean = sum / (double)n;
}

/* Runs one configuration; checks that every party finished with the same
 * transcript, so a broken run is never reported as a time. */
static int run_config(const config *c, result *out)
{
    tkms_ceremony_party *parties = calloc(c->parties, sizeof *parties);
    tkms_identity *fresh = calloc(c->parties, sizeof *fresh);
    tkms_identity *identities = calloc(c->parties, sizeof *identities);
    double *cpu = calloc(c->parties, sizeof *cpu), *bytes = calloc(c->parties, sizeof *bytes);
    tkms_ceremony_spec *spec = NULL;
    tkms_simulation sim = {0};
    tkms_err err;
    uint8_t ceremony_id[TKMS_CEREMONY_ID_SIZE];
    int rc = CLI_EXIT_OK;
    if (!parties || !fresh || !identities || !cpu || !bytes) {
        rc = cli_fail(CMD, "out of memory");
        goto done;
    }
    for (uint32_t i = 0; i < c->parties; i++) {
        snprintf(parties[i].id, sizeof parties[i].id, "p%u", i + 1);
        parties[i].shares = c->shares ? c->shares[i] : 1;
        if (tkms_identity_generate(&fresh[i], tkms_rng_system()) != TKMS_OK) {
            rc = cli_fail(CMD, "cannot make an identity key");
            goto done;
        }
        memcpy(parties[i].identity, fresh[i].public_key, TKMS_IDENTITY_PUBLIC_SIZE);
    }
    if (tkms_rng_fill(tkms_rng_system(), ceremony_id, sizeof ceremony_id) != TKMS_OK ||
        tkms_ceremony_spec_new(&spec, TKMS_CEREMONY_DKG, ceremony_id, c->threshold, c->keys,
                               parties, c->parties, NULL, NULL, &err) != TKMS_OK) {
        rc = cli_fail(CMD, "%s: cannot set up the ceremony", c->name);
        goto done;
    }
    for (uint32_t i = 0; i < c->parties; i++)
        identities[tkms_ceremony_party_number(spec, parties[i].id) - 1] = fresh[i];
    party_clock clock = {.cpu = cpu};
    tkms_simulation_config cfg = {.spec = spec, .identities = identities,
                                  .rng = tkms_rng_system(), .on_work = on_work, .ctx = &clock};
    double wall0 = cli_clock_seconds(CLOCK_MONOTONIC), cpu0 = cli_clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
    tkms_status st = tkms_simulate(&sim, &cfg, &err);
    out->wall = cli_clock_seconds(CLOCK_MONOTONIC) - wall0;
    out->cpu = cli_clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
    if (st != TKMS_OK) {
        rc = cli_fail(CMD, "%s: %s", c->name, err.message);
        goto done;
    }
    for (uint32_t q = 0; q < c->parties; q++) {
        const tkms_party *p = sim.parties[q];
        if (tkms_party_state_of(p) != TKMS_PARTY_DONE ||
            memcmp(tkms_party_transcript(p), tkms_party_transcript(sim.parties[0]), 32) != 0) {
            rc = cli_fail(CMD, "%s: party %s did not finish with the others: %s", c->name,
                          spec->parties[q].id, tkms_party_failure(p));
            goto done;
        }
        bytes[q] = (double)sim.bytes_sent[q];
    }
    min_mean_max(cpu, c->parties, &out->party_min, &out->party_mean, &out->party_max);
    min_mean_max(bytes, c->parties, &out->bytes_min, &out->bytes_mean, &out->bytes_max);
done:
    tkms_simulation_free(&sim);
    tkms_ceremony_spec_free(spec);
    if (fresh != NULL)
        tkms_wipe(fresh, c->parties * sizeof *fresh);
    if (identities != NULL)
        tkms_wipe(identities, c->parties * sizeof *identities);
    free(fresh);
    free(identities);
    free(parties);
    free(cpu);
    free(bytes);
    return rc;
}

static void print_result(const config *c, const result *r, double sign, bool json, bool first)
{
    if (json) {
        printf("%s    {\"config\": \"%s\", \"parties\": %u, \"threshold\": %u, \"keys\": %u, "
               "\"wall_s\": %.3f, \"cpu_s\": %.3f, \"cpu_ratio\": %.0f, "
               "\"party_cpu_s\": {\"min\": %.3f, \"mean\": %.3f, \"max\": %.3f}, "
               "\"bytes_sent\": {\"min\": %.0f, \"mean\": %.0f, \"max\": %.0f}}",
               first ? "" : ",\n", c->name, c->parties, c->threshold, c->keys, r->wall, r->cpu,
               r->cpu * 1e6 / sign, r->party_min, r->party_mean, r->party_max, r->bytes_min,
               r->bytes_mean, r->bytes_max);
        return;
    }
    printf("%s\n"
           "  wall %.3f s, CPU %.3f s (%.0f× blst sign)\n"
           "  CPU per party  min %.3f s  mean %.3f s  max %.3f s\n"
           "  sent per party min %.0f  mean %.0f  max %.0f bytes\n",
           c->name, r->wall, r->cpu, r->cpu * 1e6 / sign, r->party_min, r->party_mean,
           r->party_max, r->bytes_min, r->bytes_mean, r->bytes_max);
}

int cmd_bench_dkg(int argc, char **argv)
{
    static const struct option options[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool json = false;
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'j': json = true; break;
        case 'h': fputs(help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_flag(CMD, argv);
        }
    }
    if (optind != argc)
        return cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
    /* the baseline is taken before and after the ceremonies; the faster
     * one is used, which can only make the ratios larger (conservative) */
    enum { CONFIGS = sizeof configs / sizeof *configs };
    result results[CONFIGS];
    double sign = cli_plain_sign_us();
    for (size_t i = 0; i < CONFIGS; i++) {
        int rc = run_config(&configs[i], &results[i]);
        if (rc != 0)
            return rc;
    }
    double after = cli_plain_sign_us();
    sign = after < sign ? after : sign;
    if (json)
        printf("{\"blst_sign_us\": %.1f,\n \"results\": [\n", sign);
    else
        printf("tkms bench dkg: every party in one process, one core; plain blst sign "
               "%.1f µs in this run\n\n", sign);
    for (size_t i = 0; i < CONFIGS; i++)
        print_result(&configs[i], &results[i], sign, json, i == 0);
    if (json)
        printf("\n]}\n");
    return CLI_EXIT_OK;
}
