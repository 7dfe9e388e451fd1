/*
 * cmd_slashing.c — `tkms slashing import|export|check`: the operator's
 * door to the slashing protection database (tkms/slashing.h), the same
 * code path the signing server uses. `check` records and exits 0 when the
 * block or attestation may be signed, exits 3 with the reason when it is
 * slashable, and 1 when it could not be recorded (then nothing may sign).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tkms/file.h"
#include "tkms/hex.h"
#include "tkms/slashing.h"

static const char *const help =
    "usage: tkms slashing import --db F --file I.json --genesis-validators-root R\n"
    "       tkms slashing export --db F [--file O.json] --genesis-validators-root R\n"
    "                            [--pubkey P]...\n"
    "       tkms slashing check  --db F --genesis-validators-root R --pubkey P\n"
    "                            (--block SLOT | --source EPOCH --target EPOCH)\n"
    "                            [--signing-root R]\n"
    "\n"
    "Slashing protection (EIP-3076, complete history) in an SQLite database F,\n"
    "created on first use and bound to one genesis validators root R.\n"
    "  import  adds an EIP-3076 interchange (format 5), all or nothing\n"
    "  export  writes the history as an interchange (to a new file, or stdout)\n"
    "  check   records a block or attestation and exits 0 when it may be\n"
    "          signed; exits 3 with the reason when it is slashable\n"
    "Without --signing-root a record never counts as the same message, so it\n"
    "cannot be signed twice. Exit codes: 0 ok, 1 failed, 2 usage, 3 refused.\n";

#define MAX_PUBKEYS 1024

typedef struct {
    const char *cmd;                       /* "slashing check" etc. */
    const char *db, *file, *genesis, *signing_root;
    const char *block, *source, *target;
    const char *pubkeys[MAX_PUBKEYS];
    size_t pubkey_count;
} args;

static int parse_args(args *a, int argc, char **argv)
{
    static const struct option options[] = {
        {"db", required_argument, NULL, 'd'},
        {"file", required_argument, NULL, 'f'},
        {"genesis-validators-root", required_argument, NULL, 'g'},
        {"pubkey", required_argument, NULL, 'p'},
        {"block", required_argument, NULL, 'b'},
        {"source", required_argument, NULL, 's'},
        {"target", required_argument, NULL, 't'},
        {"signing-root", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'd': a->db = optarg; break;
        case 'f': a->file = optarg; break;
        case 'g': a->genesis = optarg; break;
        case 'b': a->block = optarg; break;
        case 's': a->source = optarg; break;
        case 't': a->target = optarg; break;
        case 'r': a->signing_root = optarg; break;
        case 'p':
            if (a->pubkey_count == MAX_PUBKEYS)
                return cli_usage(a->cmd, "at most %d --pubkey flags", MAX_PUBKEYS);
            a->pubkeys[a->pubkey_count++] = optarg;
            break;
        case 'h': fputs(help, stdout); return -1;
        default: return cli_bad_flag(a->cmd, argv);
        }
    }
    if (optind != argc)
        return cli_usage(a->cmd, "unexpected argument '%s'", argv[optind]);
    if (a->db == NULL)
        return cli_usage(a->cmd, "--db F is required");
    if (a->genesis == NULL)
        return cli_usage(a->cmd, "--genesis-validators-root R is required");
    return CLI_EXIT_OK;
}

/* A flag that makes no sense for this subcommand. */
static int refuse_flag(const args *a, const char *value, const char *flag)
{
    return value != NULL ? cli_usage(a->cmd, "%s does not apply here", flag) : CLI_EXIT_OK;
}

static int parse_root(const args *a, const char *flag, const char *text,
                      uint8_t out[TKMS_ROOT_SIZE])
{
    tkms_err err;
    if (tkms_hex_decode(out, TKMS_ROOT_SIZE, text, &err) != TKMS_OK)
        return cli_fail(a->cmd, "%s must be 32 bytes of hex: %s", flag, err.message);
    return CLI_EXIT_OK;
}

static int parse_pubkey(const args *a, const char *text, uint8_t out[TKMS_PUBLIC_KEY_SIZE])
{
    tkms_err err;
    tkms_public_key pk;
    if (tkms_hex_decode(out, TKMS_PUBLIC_KEY_SIZE, text, &err) != TKMS_OK)
        return cli_fail(a->cmd, "--pubkey must be 48 bytes of hex: %s", err.message);
    tkms_status st = tkms_public_key_from_bytes(&pk, out);
    if (st != TKMS_OK)
        return cli_fail(a->cmd, "--pubkey is not a valid public key (%s)", tkms_status_string(st));
    return CLI_EXIT_OK;
}

/* A decimal slot or epoch up to TKMS_SLASHING_MAX_EPOCH. */
static int parse_epoch(const args *a, const char *flag, const char *text, uint64_t *out)
{
    size_t n = strlen(text);
    uint64_t v = 0;
    if (n == 0 || n > 19 || strspn(text, "0123456789") != n)
        return cli_usage(a->cmd, "%s must be a whole number, got '%s'", flag, text);
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (uint64_t)(text[i] - '0');
    if (v > (uint64_t)TKMS_SLASHING_MAX_EPOCH)
        return cli_usage(a->cmd, "%s is too large", flag);
    *out = v;
    return CLI_EXIT_OK;
}

static int open_db(const args *a, tkms_slashing_db **db)
{
    uint8_t genesis[TKMS_ROOT_SIZE];
    tkms_err err;
    int rc = parse_root(a, "--genesis-validators-root", a->genesis, genesis);
    if (rc != 0)
        return rc;
    if (tkms_slashing_open(db, a->db, genesis, &err) != TKMS_OK)
        return cli_fail(a->cmd, "%s", err.message);
    return CLI_EXIT_OK;
}

static int run_import(const args *a)
{
    int rc;
    if ((rc = refuse_flag(a, a->block, "--block")) != 0 ||
        (rc = refuse_flag(a, a->source, "--source")) != 0 ||
        (rc = refuse_flag(a, a->target, "--target")) != 0 ||
        (rc = refuse_flag(a, a->signing_root, "--signing-root")) != 0 ||
        (rc = refuse_flag(a, a->pubkey_count ? "" : NULL, "--pubkey")) != 0)
        return rc;
    if (a->file == NULL)
        return cli_usage(a->cmd, "--file I.json is required");
    char *text = NULL;
    size_t len;
    tkms_err err;
    tkms_slashing_db *db = NULL;
    if (tkms_file_read(a->file, TKMS_SLASHING_INTERCHANGE_MAX_SIZE, &text, &len, &err) != TKMS_OK)
        return cli_fail(a->cmd, "cannot read %s: %s", a->file, err.message);
    if ((rc = open_db(a, &db)) == 0 && tkms_slashing_import(db, text, len, &err) != TKMS_OK)
        rc = cli_fail(a->cmd, "%s: %s", a->file, err.message);
    tkms_slashing_close(db);
    free(text);
    return rc;
}

static int run_export(const args *a)
{
    int rc;
    if ((rc = refuse_flag(a, a->block, "--block")) != 0 ||
        (rc = refuse_flag(a, a->source, "--source")) != 0 ||
        (rc = refuse_flag(a, a->target, "--target")) != 0 ||
        (rc = refuse_flag(a, a->signing_root, "--signing-root")) != 0)
        return rc;
    uint8_t (*keys)[TKMS_PUBLIC_KEY_SIZE] = NULL;
    if (a->pubkey_count > 0 && (keys = calloc(a->pubkey_count, sizeof *keys)) == NULL)
        return cli_fail(a->cmd, "out of memory");
    for (size_t i = 0; i < a->pubkey_count && rc == 0; i++)
        rc = parse_pubkey(a, a->pubkeys[i], keys[i]);
    tkms_slashing_db *db = NULL;
    char *json = NULL;
    tkms_err err;
    if (rc == 0 && (rc = open_db(a, &db)) == 0 &&
        tkms_slashing_export(db, &json, (const uint8_t (*)[TKMS_PUBLIC_KEY_SIZE])keys,
                             a->pubkey_count, &err) != TKMS_OK)
        rc = cli_fail(a->cmd, "%s", err.message);
    if (rc == 0) {
        if (a->file != NULL)
            rc = cli_write_new_file(a->cmd, a->file, json, false);
        else
            puts(json);
    }
    free(json);
    free(keys);
    tkms_slashing_close(db);
    return rc;
}

static int run_check(const args *a)
{
    int rc;
    if ((rc = refuse_flag(a, a->file, "--file")) != 0)
        return rc;
    if (a->pubkey_count != 1)
        return cli_usage(a->cmd, "exactly one --pubkey P is required");
    bool block = a->block != NULL;
    if (block == (a->source != NULL || a->target != NULL))
        return cli_usage(a->cmd, "give either --block SLOT or --source EPOCH --target EPOCH");
    if (!block && (a->source == NULL || a->target == NULL))
        return cli_usage(a->cmd, "an attestation needs both --source and --target");
    uint8_t pubkey[TKMS_PUBLIC_KEY_SIZE], root[TKMS_ROOT_SIZE];
    uint64_t x = 0, y = 0;
    if ((rc = parse_pubkey(a, a->pubkeys[0], pubkey)) != 0 ||
        (block && (rc = parse_epoch(a, "--block", a->block, &x)) != 0) ||
        (!block && ((rc = parse_epoch(a, "--source", a->source, &x)) != 0 ||
                    (rc = parse_epoch(a, "--target", a->target, &y)) != 0)) ||
        (a->signing_root != NULL && (rc = parse_root(a, "--signing-root", a->signing_root, root)) != 0))
        return rc;
    const uint8_t *signing_root = a->signing_root != NULL ? root : NULL;
    tkms_slashing_db *db = NULL;
    if ((rc = open_db(a, &db)) != 0)
        return rc;
    tkms_err err;
    tkms_status st = block ? tkms_slashing_check_block(db, pubkey, x, signing_root, &err)
                           : tkms_slashing_check_attestation(db, pubkey, x, y, signing_root, &err);
    tkms_slashing_close(db);
    if (st == TKMS_ERR_REFUSED) {
        fprintf(stderr, "tkms %s: refused: %s\n", a->cmd, err.message);
        return CLI_EXIT_REFUSED;
    }
    if (st != TKMS_OK)
        return cli_fail(a->cmd, "%s", err.message);
    if (block)
        printf("allowed: block at slot %llu recorded\n", (unsigned long long)x);
    else
        printf("allowed: attestation %llu->%llu recorded\n", (unsigned long long)x,
               (unsigned long long)y);
    return CLI_EXIT_OK;
}

int cmd_slashing(int argc, char **argv)
{
    static const struct {
        const char *name, *cmd;
        int (*run)(const args *a);
    } subcommands[] = {
        {"import", "slashing import", run_import},
        {"export", "slashing export", run_export},
        {"check", "slashing check", run_check},
    };
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(help, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof subcommands / sizeof *subcommands; i++) {
        if (strcmp(argv[1], subcommands[i].name) != 0)
            continue;
        args a = {.cmd = subcommands[i].cmd};
        int rc = parse_args(&a, argc - 1, argv + 1);
        if (rc < 0)
            return CLI_EXIT_OK;   /* --help */
        return rc != 0 ? rc : subcommands[i].run(&a);
    }
    return cli_usage("slashing", "unknown subcommand '%s'", argv[1]);
}
