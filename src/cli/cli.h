/*
 * cli.h — what the `tkms` subcommands share: exit codes, the command table
 * entry, error reporting, and the helpers that turn flags and files into
 * library values with a clear one-line error on failure.
 *
 * Every helper that can fail prints "tkms CMD: reason" to stderr itself
 * and returns a non-zero exit code (CLI_EXIT_*), so commands can write
 * `if ((rc = cli_...(...)) != 0) goto done;`.
 */
#ifndef TKMS_CLI_H
#define TKMS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tkms/bls.h"
#include "tkms/group_file.h"
#include "tkms/http_client.h"
#include "tkms/keystore.h"
#include "tkms/shamir.h"

enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAIL = 1,     /* failed, or the input is invalid */
    CLI_EXIT_USAGE = 2,    /* wrong flags or arguments        */
    CLI_EXIT_REFUSED = 3,  /* refused by slashing protection  */
};

typedef struct {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} cli_command;

int cmd_keygen(int argc, char **argv);
int cmd_pubkey(int argc, char **argv);
int cmd_split(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_combine(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_allocate(int argc, char **argv);
int cmd_ceremony(int argc, char **argv);
int cmd_identity(int argc, char **argv);
int cmd_slashing(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_certs(int argc, char **argv);
int cmd_server(int argc, char **argv);
int cmd_gateway(int argc, char **argv);
int cmd_cluster(int argc, char **argv);
int cmd_bench_server(int argc, char **argv);
int cmd_bench_gateway(int argc, char **argv);

/* Seconds on `clock` (CLOCK_MONOTONIC, CLOCK_THREAD_CPUTIME_ID, …). */
double cli_clock_seconds(clockid_t clock);

/* Plain blst sign on this core, µs per signature: the faster of two 0.3 s
 * runs. Every benchmark prints its figures as ratios to it. */
double cli_plain_sign_us(void);

/* ---- the load benchmarks (bench server, bench gateway) ------------------- */

/* The JSON body of an ATTESTATION sign request that no earlier one of a
 * run conflicts with: target epoch `target`, source target - 1, slot
 * 32 * target, genesis validators root `gvr` (0x-hex), fork 0x00000000.
 * Returns the length, as snprintf (the body is about 700 bytes). */
int cli_bench_attestation(char *body, size_t size, const char *gvr, uint64_t target);

/* An HTTPS client with the CA, certificate and key of --ca, --cert and
 * --key (tkms_http_client_new with the default timeout and size). */
tkms_status cli_bench_http_client(tkms_http_client **out, const char *ca, const char *cert,
                                  const char *key, tkms_err *err);

/* Latencies of answered requests, in seconds: one load client's (a
 * fixed room, later samples dropped), or every client's merged. */
typedef struct {
    double *seconds;            /* `capacity` entries                   */
    size_t count, capacity;
    bool lost;                  /* a merge ran out of memory            */
} cli_latencies;

/* Room for `capacity` samples (malloc'ed); false (and marked lost) when
 * out of memory. */
bool cli_latencies_init(cli_latencies *l, size_t capacity);

/* Records one sample, unless the room is full. */
void cli_latencies_add(cli_latencies *l, double seconds);

/* Moves the samples of `from` to the end of `into` (growing it) and frees
 * from's; on out of memory `into` is marked lost. */
void cli_latencies_merge(cli_latencies *into, cli_latencies *from);

/* The median, the 99th percentile and the largest sample, seconds (sorts
 * the samples); all 0 with no samples or when some were lost. */
typedef struct {
    double p50, p99, max;
} cli_latency_summary;
cli_latency_summary cli_latencies_summary(cli_latencies *l);

void cli_latencies_free(cli_latencies *l);

/* Largest message accepted by sign/verify/combine, in bytes. */
#define CLI_MESSAGE_MAX_SIZE (1024u * 1024u)

/* Prints "tkms CMD: <message>" to stderr; returns CLI_EXIT_FAIL. */
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "tkms CMD: <message> (see 'tkms CMD --help')" (one line); returns
 * CLI_EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reports the getopt error for an unknown flag or missing value. */
int cli_bad_flag(const char *cmd, char **argv);

/* Parses a decimal integer flag value in [min, max]. */
int cli_parse_u32(const char *cmd, const char *flag, const char *text,
                  uint32_t min, uint32_t max, uint32_t *out);

/* Decodes a hex flag value of any length up to max into a malloc'ed
 * buffer (*out, *out_len). An empty argument is refused (the empty byte
 * string is written 0x). */
int cli_parse_hex(const char *cmd, const char *flag, const char *text,
                  size_t max, uint8_t **out, size_t *out_len);

/*
 * The password: the contents of `password_file` (one trailing newline
 * removed) if given, else $TKMS_PASSWORD. With `required` and neither
 * present, fails. *out is NULL when not required and absent; free with
 * cli_password_free (wipes).
 */
int cli_password(const char *cmd, const char *password_file, bool required,
                 char **out);
void cli_password_free(char *password);

/* Reads and parses a keystore file. */
int cli_load_keystore(const char *cmd, const char *path, tkms_keystore **out);

/* Decrypts a parsed keystore; reports a wrong password clearly. */
int cli_decrypt_keystore(const char *cmd, const char *path,
                         const tkms_keystore *ks, const char *password,
                         tkms_secret_key *out);

/* Reads and checks a group file (and its owners, if it lists them). */
int cli_load_group(const char *cmd, const char *path, tkms_group_file *out);

/* Applies --kdf / --scrypt-n values (either may be NULL) to params. */
int cli_kdf_params(const char *cmd, const char *kdf, const char *scrypt_n,
                   tkms_kdf_params *params);

/* Writes text + "\n" atomically to a new file (never overwrites), mode
 * 0600 for secrets or 0644 for public files. */
int cli_write_new_file(const char *cmd, const char *path, const char *text,
                       bool secret);

/*
 * An output directory that appears complete or not at all. begin checks
 * that `path` (given as `flag`) is absent or empty and creates the staging
 * directory `staging`, where everything is written; commit renames it into
 * place durably; abort (safe to call at any time, also after commit)
 * removes whatever was staged. All print their own errors.
 */
typedef struct {
    const char *cmd;
    char target[3840];     /* room left for names below it */
    char staging[3856];    /* "" when nothing is staged */
} cli_out_dir;

int cli_out_dir_begin(cli_out_dir *dir, const char *cmd, const char *flag, const char *path);
int cli_out_dir_commit(cli_out_dir *dir);
void cli_out_dir_abort(cli_out_dir *dir);

/* Removes a directory and what is in it (files, and directories of files). */
void cli_remove_tree(const char *dir);

/* path = printf(fmt, …) into PATH_MAX bytes; fails (printing why) when it
 * does not fit. */
int cli_path(const char *cmd, char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Encrypts share `share` of `group` (owner "" for none) as a share
 * keystore and writes it to `path`, a new file of mode 0600. */
int cli_write_share_keystore(const char *cmd, const char *path, const tkms_group *group,
                             const tkms_share *share, const char *owner,
                             const char *password, const tkms_kdf_params *params);

/* Prints a 0x-hex line to stdout. */
void cli_print_hex(const uint8_t *bytes, size_t len);

#endif /* TKMS_CLI_H */
