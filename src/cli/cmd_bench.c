/*
 * cmd_bench.c — `tkms bench`: the cost of threshold signing, each figure
 * beside plain blst sign measured in the same run: re-measured before and
 * after the figures of every K, the faster of the two taken as the base.
 *
 * For K in {3, 41, 101} with n = 2K − 1 it times, on one core:
 *   partial sign    share signs H(m) and encodes 96 bytes
 *   partial verify  one partial against its share key (2 pairings)
 *   combine         optimistic combine of K encoded partials, incl. the
 *                   decoding, the MSM and the final verify
 *   culprit search  combine of K+1 partials where one of the first K is
 *                   bad: fast path fails, batch verification + bisection,
 *                   combine of K good ones, verify
 *   batch verify    K decompressed partials: subgroup check of each, then
 *                   one random-linear-combination check (2 MSMs with
 *                   64-bit weights, 2 pairings); decompression is counted
 *                   in `combine`, which starts from the 96-byte encodings
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_ceremony.h"
#include "tkms/combine.h"
#include "tkms/shamir.h"

static const char *const help =
    "usage: tkms bench [--json] [--seconds S]\n"
    "       tkms bench dkg [--json]   (see tkms bench dkg --help)\n"
    "       tkms bench server …       (see tkms bench server --help)\n"
    "\n"
    "Measures threshold BLS operations for K = 3, 41, 101 (n = 2K-1) on one\n"
    "core and prints each as microseconds per operation and as a ratio to\n"
    "plain blst sign measured in the same run. --seconds sets the minimum\n"
    "time spent on each figure (default 0.3).\n";

typedef struct {
    const char *name;
    double us;
} figure;

typedef struct {
    const tkms_group *group;
    tkms_combiner *combiner;
    const tkms_share *shares;
    tkms_partial *partials;        /* valid partials of all n shares */
    tkms_partial *with_bad;        /* K+1 partials, one of the first K bad */
    tkms_signature *decoded;       /* all partials, decompressed only */
    tkms_signature *checked;       /* scratch for batch verify */
    uint32_t *indices;
    uint32_t *bad;
    uint8_t msg[32];
} bench_state;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef void (*bench_op)(bench_state *s, unsigned iteration);

/* Runs op until `min_seconds` have passed (at least 3 times); µs per op. */
static double time_op(bench_op op, bench_state *s, double min_seconds)
{
    op(s, 0);   /* warm up */
    unsigned n = 0;
    double start = now_seconds(), elapsed;
    do {
        op(s, n++);
        elapsed = now_seconds() - start;
    } while (elapsed < min_seconds || n < 3);
    return elapsed * 1e6 / n;
}

static void op_plain_sign(bench_state *s, unsigned i)
{
    tkms_signature sig;
    uint8_t msg[sizeof s->msg];
    memcpy(msg, s->msg, sizeof msg);
    msg[0] ^= (uint8_t)i;
    tkms_sign(&sig, &s->shares[0].key, msg, sizeof msg);
}

static void op_partial_sign(bench_state *s, unsigned i)
{
    tkms_signature sig;
    tkms_partial p;
    (void)i;
    tkms_partial_sign(&sig, &s->shares[0], s->msg, sizeof s->msg);
    tkms_signature_to_bytes(p.signature, &sig);
}

static void op_partial_verify(bench_state *s, unsigned i)
{
    tkms_signature sig;
    (void)i;
    tkms_signature_from_bytes(&sig, s->partials[0].signature);
    if (!tkms_partial_verify(s->group, 1, s->msg, sizeof s->msg, &sig))
        abort();
}

/* Combines `count` partials; aborts unless it succeeds naming `expected_bad`
 * culprits, so a benchmark can never time a failure. */
static void combine_expecting(bench_state *s, const tkms_partial *partials,
                              size_t count, size_t expected_bad)
{
    tkms_signature sig;
    size_t nbad;
    if (tkms_combiner_combine(s->combiner, s->msg, sizeof s->msg, partials, count,
                              tkms_rng_system(), &sig, s->bad, &nbad) != TKMS_OK ||
        nbad != expected_bad)
        abort();
}

static void op_combine(bench_state *s, unsigned i)
{
    (void)i;
    combine_expecting(s, s->partials, s->group->threshold, 0);
}

static void op_culprit(bench_state *s, unsigned i)
{
    (void)i;
    combine_expecting(s, s->with_bad, s->group->threshold + 1, 1);
}

static void op_batch_verify(bench_state *s, unsigned i)
{
    uint32_t k = s->group->threshold;
    (void)i;
    for (uint32_t t = 0; t < k; t++) {
        s->indices[t] = s->partials[t].index;
        s->checked[t] = s->decoded[t];
        if (!blst_p2_affine_in_g2(&s->checked[t].point))
            abort();
    }
    if (!tkms_combiner_batch_verify(s->combiner, s->msg, sizeof s->msg, s->indices,
                                    s->checked, k, tkms_rng_system()))
        abort();
}

static int bench_threshold(uint32_t k, double seconds, bool json, bool first)
{
    uint32_t n = 2 * k - 1;
    bench_state s;
    memset(&s, 0, sizeof s);
    memset(s.msg, 0x42, sizeof s.msg);
    tkms_secret_key sk;
    uint8_t sk_bytes[32] = {0};
    sk_bytes[31] = 7;
    tkms_secret_key_from_bytes(&sk, sk_bytes);
    tkms_share *shares = calloc(n, sizeof *shares);
    tkms_group *group = NULL;
    s.partials = calloc(n, sizeof *s.partials);
    s.with_bad = calloc(k + 1, sizeof *s.with_bad);
    s.decoded = calloc(n, sizeof *s.decoded);
    s.checked = calloc(n, sizeof *s.checked);
    s.indices = calloc(n, sizeof *s.indices);
    s.bad = calloc(n, sizeof *s.bad);
    if (!shares || !s.partials || !s.with_bad || !s.decoded || !s.checked || !s.indices || !s.bad ||
        tkms_split(&group, shares, &sk, k, n, tkms_rng_system()) != TKMS_OK ||
        (s.combiner = tkms_combiner_new(group)) == NULL)
        return cli_fail("bench", "set-up failed (memory or randomness)");
    s.group = group;
    s.shares = shares;
    for (uint32_t i = 0; i < n; i++) {
        tkms_signature sig;
        tkms_partial_sign(&sig, &shares[i], s.msg, sizeof s.msg);
        s.partials[i].index = shares[i].index;
        tkms_signature_to_bytes(s.partials[i].signature, &sig);
        tkms_signature_from_bytes_unchecked(&s.decoded[i], s.partials[i].signature);
    }
    memcpy(s.with_bad, s.partials, (k + 1) * sizeof *s.with_bad);
    /* share k/2+1 sends share 1's partial: a valid point, the wrong value */
    memcpy(s.with_bad[k / 2].signature, s.partials[(k / 2 + 1) % n].signature,
           TKMS_SIGNATURE_SIZE);

    double sign_before = time_op(op_plain_sign, &s, seconds);
    figure figs[] = {
        {"partial_sign", time_op(op_partial_sign, &s, seconds)},
        {"partial_verify", time_op(op_partial_verify, &s, seconds)},
        {"combine", time_op(op_combine, &s, seconds)},
        {"culprit_search", time_op(op_culprit, &s, seconds)},
        {"batch_verify", time_op(op_batch_verify, &s, seconds)},
    };
    size_t nfigs = sizeof figs / sizeof *figs;
    /* the baseline is taken before and after the figures; the faster one
     * is used, which can only make the ratios larger (conservative) */
    double sign_after = time_op(op_plain_sign, &s, seconds);
    double sign_us = sign_before < sign_after ? sign_before : sign_after;
    if (json) {
        printf("%s    {\"k\": %u, \"n\": %u, \"blst_sign_us\": %.1f", first ? "" : ",\n", k, n, sign_us);
        for (size_t i = 0; i < nfigs; i++)
            printf(", \"%s_us\": %.1f, \"%s_ratio\": %.2f", figs[i].name, figs[i].us,
                   figs[i].name, figs[i].us / sign_us);
        printf("}");
    } else {
        printf("%4u %4u %8.1f", k, n, sign_us);
        for (size_t i = 0; i < nfigs; i++)
            printf("  %8.1f %6.2fx", figs[i].us, figs[i].us / sign_us);
        printf("\n");
    }
    fflush(stdout);
    tkms_combiner_free(s.combiner);
    tkms_group_free(group);
    for (uint32_t i = 0; i < n; i++)
        tkms_share_wipe(&shares[i]);
    free(shares);
    free(s.partials);
    free(s.with_bad);
    free(s.decoded);
    free(s.checked);
    free(s.indices);
    free(s.bad);
    tkms_secret_key_wipe(&sk);
    return CLI_EXIT_OK;
}

int cmd_bench(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "dkg") == 0)
        return cmd_bench_dkg(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "server") == 0)
        return cmd_bench_server(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "gateway") == 0)
        return cmd_bench_gateway(argc - 1, argv + 1);
    static const struct option options[] = {
        {"json", no_argument, NULL, 'j'},
        {"seconds", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool json = false;
    double seconds = 0.3;
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'j': json = true; break;
        case 's': {
            char *end;
            seconds = strtod(optarg, &end);
            if (*end != '\0' || !(seconds > 0 && seconds <= 60))
                return cli_usage("bench", "--seconds must be a number in (0, 60]");
            break;
        }
        case 'h': fputs(help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_flag("bench", argv);
        }
    }
    if (optind != argc)
        return cli_usage("bench", "unexpected argument '%s'", argv[optind]);
    static const uint32_t thresholds[] = {3, 41, 101};
    if (json) {
        printf("{\"unit\": \"microseconds per operation, ratio to blst sign in the same run\",\n"
               " \"results\": [\n");
    } else {
        printf("tkms bench: µs per operation on one core, and ratio to plain blst sign\n"
               "(measured before and after each K in this run; the faster is the base)\n\n"
               "%4s %4s %8s  %16s  %16s  %16s  %16s  %16s\n", "K", "n", "sign", "partial sign",
               "partial verify", "combine (opt.)", "culprit (1 bad)", "batch verify K");
    }
    for (size_t i = 0; i < sizeof thresholds / sizeof *thresholds; i++) {
        int rc = bench_threshold(thresholds[i], seconds, json, i == 0);
        if (rc != 0)
            return rc;
    }
    if (json)
        printf("\n]}\n");
    return CLI_EXIT_OK;
}
