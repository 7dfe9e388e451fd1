/*
 * bench_common.c — what every benchmark command compares against: plain
 * blst sign on one core, measured in the same run (DESIGN §10).
 */
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
