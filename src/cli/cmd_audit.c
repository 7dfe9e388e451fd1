/*
 * cmd_audit.c — `tkms audit verify|append`: check the hash-chained audit
 * log (tkms/audit.h), and append a record by hand (for operators and
 * tests; the server appends through the library).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "tkms/audit.h"
#include "tkms/hex.h"

static const char *const help =
    "usage: tkms audit verify --log F\n"
    "       tkms audit append --log F --event E --data JSON\n"
    "\n"
    "The audit log is append-only JSON lines; each line carries the SHA-256\n"
    "of the line before it (\"prev\"), so a changed, removed, inserted or\n"
    "reordered record breaks the chain.\n"
    "\n"
    "verify   checks every line (complete, canonical, seq consecutive from 1,\n"
    "         prev matching) and prints \"ok: N records, last hash 0x…\"\n"
    "         (exit 0), or one line naming the first bad line (exit 1). Keep\n"
    "         the last hash elsewhere: the chain alone cannot show that the\n"
    "         last line was changed or lines were cut off the end.\n"
    "append   adds one record: --event E (1-64 characters of [a-z0-9._-]),\n"
    "         --data JSON (an object; never put secrets in it). For operators\n"
    "         (notes, rotation markers) and tests. Takes the log's lock, so it\n"
    "         fails while a server is writing the log. Prints the new record's\n"
    "         seq and hash.\n"
    "\n"
    "A last line without its newline (a crash during an append) is reported\n"
    "as a torn write and never repaired automatically: move the log aside,\n"
    "or cut the torn line off after looking at it.\n";

int cmd_audit(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(help, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    const char *cmd;
    bool append;
    if (strcmp(argv[1], "verify") == 0) {
        cmd = "audit verify";
        append = false;
    } else if (strcmp(argv[1], "append") == 0) {
        cmd = "audit append";
        append = true;
    } else {
        return cli_usage("audit", "unknown subcommand '%s'", argv[1]);
    }
    argc--;
    argv++;

    static const struct option options[] = {
        {"log", required_argument, NULL, 'l'},
        {"event", required_argument, NULL, 'e'},
        {"data", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *log_path = NULL, *event = NULL, *data = NULL;
    int opt;
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'l': log_path = optarg; break;
        case 'e': event = optarg; break;
        case 'd': data = optarg; break;
        case 'h': fputs(help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_flag(cmd, argv);
        }
    }
    if (optind != argc)
        return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (log_path == NULL)
        return cli_usage(cmd, "--log F is required");

    tkms_err err;
    uint8_t hash[TKMS_AUDIT_HASH_SIZE];
    char hex[TKMS_HEX_SIZE(TKMS_AUDIT_HASH_SIZE)];
    if (!append) {
        if (event != NULL || data != NULL)
            return cli_usage(cmd, "--event and --data are for 'audit append'");
        uint64_t lines;
        if (tkms_audit_verify_file(log_path, &lines, hash, &err) != TKMS_OK)
            return cli_fail(cmd, "%s", err.message);
        tkms_hex_encode(hex, hash, sizeof hash);
        printf("ok: %llu records, last hash %s\n", (unsigned long long)lines, hex);
        return CLI_EXIT_OK;
    }

    if (event == NULL || data == NULL)
        return cli_usage(cmd, "--event E and --data JSON are required");
    tkms_audit *log;
    if (tkms_audit_open(&log, log_path, &err) != TKMS_OK)
        return cli_fail(cmd, "%s", err.message);
    int rc = CLI_EXIT_OK;
    if (tkms_audit_append(log, event, data, &err) != TKMS_OK) {
        rc = cli_fail(cmd, "%s", err.message);
    } else {
        tkms_audit_last_hash(log, hash);
        tkms_hex_encode(hex, hash, sizeof hash);
        printf("appended record %llu, hash %s\n",
               (unsigned long long)tkms_audit_last_seq(log), hex);
    }
    tkms_audit_close(log);
    return rc;
}
