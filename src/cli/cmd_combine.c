/*
 * cmd_combine.c — `tkms combine`: partial signatures in, the group
 * signature out. Uses the optimistic combiner: bad partials are found,
 * named on stderr and left out; the command fails only when fewer than K
 * valid partials remain.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tkms/combine.h"
#include "tkms/file.h"
#include "tkms/partial_file.h"

static const char *const help =
    "usage: tkms combine --group D/group.json --message 0xHEX PARTIAL...\n"
    "\n"
    "Combines partial signatures of MESSAGE into the group signature and\n"
    "prints it (0x…, 96 bytes). Each PARTIAL is either `i:0xSIG` (share index\n"
    "and partial signature) or a file written by `tkms sign --json` with a\n"
    "share keystore.\n"
    "The first K partials are combined and the result verified against the\n"
    "group key; if it does not verify, every partial is checked, the invalid\n"
    "ones are named on stderr, and K valid ones are combined.\n"
    "Exit 1 when fewer than K valid partials remain, or on invalid input\n"
    "(unreadable file, malformed partial, index outside 1..N, an index given\n"
    "twice).\n"
    "\n"
    "  --group F       the group file written by tkms split\n"
    "  --message 0xHEX the message that was signed (needed to verify)\n";

static bool is_inline_partial(const char *arg)
{
    size_t digits = strspn(arg, "0123456789");
    return digits > 0 && arg[digits] == ':';
}

/* Reads one PARTIAL argument into *out. */
static int read_partial(const char *arg, tkms_partial *out)
{
    tkms_err err;
    size_t count;
    tkms_status st;
    if (is_inline_partial(arg)) {
        st = tkms_partials_parse(out, 1, &count, arg, strlen(arg), &err);
    } else {
        char *text;
        size_t len;
        if (tkms_file_read(arg, TKMS_PARTIAL_FILE_MAX_SIZE, &text, &len, &err) != TKMS_OK)
            return cli_fail("combine", "cannot read partial: %s", err.message);
        st = tkms_partials_parse(out, 1, &count, text, len, &err);
        free(text);
    }
    if (st != TKMS_OK)
        return cli_fail("combine", "%s: %s", arg, err.message);
    return CLI_EXIT_OK;
}

int cmd_combine(int argc, char **argv)
{
    static const struct option options[] = {
        {"group", required_argument, NULL, 'g'},
        {"message", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *group_path = NULL, *message = NULL;
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'g': group_path = optarg; break;
        case 'm': message = optarg; break;
        case 'h': fputs(help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_flag("combine", argv);
        }
    }
    if (group_path == NULL || message == NULL)
        return cli_usage("combine", "--group F and --message 0xHEX are required");
    size_t count = (size_t)(argc - optind);
    if (count == 0)
        return cli_usage("combine", "no partial signatures given");

    tkms_group *group = NULL;
    tkms_combiner *combiner = NULL;
    tkms_partial *partials = NULL;
    uint32_t *bad = NULL;
    uint8_t *msg = NULL;
    size_t msg_len;
    int rc;
    if ((rc = cli_parse_hex("combine", "--message", message, CLI_MESSAGE_MAX_SIZE, &msg, &msg_len)) != 0 ||
        (rc = cli_load_group("combine", group_path, &group)) != 0)
        goto done;
    if (count > group->share_count) {
        rc = cli_fail("combine", "%zu partials given but the group has only %u shares",
                      count, group->share_count);
        goto done;
    }
    partials = calloc(count, sizeof *partials);
    bad = calloc(count, sizeof *bad);
    combiner = tkms_combiner_new(group);
    if (partials == NULL || bad == NULL || combiner == NULL) {
        rc = cli_fail("combine", "out of memory");
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        if ((rc = read_partial(argv[optind + i], &partials[i])) != 0)
            goto done;
        if (partials[i].index > group->share_count) {
            rc = cli_fail("combine", "%s: share index %u is outside 1..%u", argv[optind + i],
                          partials[i].index, group->share_count);
            goto done;
        }
        for (size_t j = 0; j < i; j++)
            if (partials[j].index == partials[i].index) {
                rc = cli_fail("combine", "share index %u given twice (%s and %s)",
                              partials[i].index, argv[optind + j], argv[optind + i]);
                goto done;
            }
    }
    tkms_signature sig;
    size_t bad_count;
    tkms_status st = tkms_combiner_combine(combiner, msg, msg_len, partials, count,
                                           tkms_rng_system(), &sig, bad, &bad_count);
    for (size_t i = 0; i < bad_count; i++)
        fprintf(stderr, "tkms combine: partial signature of share %u is invalid\n", bad[i]);
    if (st == TKMS_ERR_NOT_ENOUGH_SHARES) {
        size_t valid = count - bad_count;
        rc = cli_fail("combine", "only %zu valid partial signature%s, %u needed", valid,
                      valid == 1 ? "" : "s", group->threshold);
        goto done;
    }
    if (st != TKMS_OK) {
        rc = cli_fail("combine", "combining failed: %s", tkms_status_string(st));
        goto done;
    }
    uint8_t bytes[TKMS_SIGNATURE_SIZE];
    tkms_signature_to_bytes(bytes, &sig);
    cli_print_hex(bytes, sizeof bytes);
done:
    tkms_combiner_free(combiner);
    tkms_group_free(group);
    free(partials);
    free(bad);
    free(msg);
    return rc;
}
