/*
 * cmd_combine.c — `tkms combine`: partial signatures in, the group
 * signature out. Uses the optimistic combiner: bad partials are found,
 * named on stderr — with their owner when the group lists owners — and left
 * out; the command fails only when fewer than K valid partials remain.
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
    "prints it (0x…, 96 bytes). Each PARTIAL is `i:0xSIG` (share index and\n"
    "partial signature) or a file written by `tkms sign`: `i:0xSIG` lines,\n"
    "{\"index\": i, \"signature\": …}, or an owner's response {\"owner\": …,\n"
    "\"partials\": […]} holding a partial per share of that owner. An owner\n"
    "may only answer for the indices the group file gives it.\n"
    "The first K partials are combined and the result verified against the\n"
    "group key; if it does not verify, the partials are checked, the invalid\n"
    "ones are named on stderr (with their owner) and K valid ones combined.\n"
    "Exit 1 when fewer than K valid partials remain, or on invalid input\n"
    "(unreadable file, malformed partial, index outside 1..N, an index given\n"
    "twice, an owner answering for another owner's share).\n"
    "\n"
    "  --group F       the group file written by tkms split\n"
    "  --message 0xHEX the message that was signed (needed to verify)\n";

static bool is_inline_partial(const char *arg)
{
    size_t digits = strspn(arg, "0123456789");
    return digits > 0 && arg[digits] == ':';
}

/* Reads one PARTIAL argument, appending up to `capacity` partials. */
static int read_partials(const char *arg, const tkms_group_file *file,
                         tkms_partial *out, size_t capacity, size_t *count)
{
    tkms_err err;
    char owner[TKMS_OWNER_ID_MAX_SIZE + 1];
    tkms_status st;
    if (is_inline_partial(arg)) {
        st = tkms_partials_parse(out, capacity, count, owner, arg, strlen(arg), &err);
    } else {
        char *text;
        size_t len;
        if (tkms_file_read(arg, TKMS_PARTIAL_FILE_MAX_SIZE, &text, &len, &err) != TKMS_OK)
            return cli_fail("combine", "cannot read partial: %s", err.message);
        st = tkms_partials_parse(out, capacity, count, owner, text, len, &err);
        free(text);
    }
    if (st != TKMS_OK)
        return cli_fail("combine", "%s: %s", arg, err.message);
    if (owner[0] == '\0')
        return CLI_EXIT_OK;
    /* an owner answers only for its own shares (DESIGN §5 routing) */
    if (file->owners == NULL)
        return cli_fail("combine", "%s: a response from owner %s, but the group file lists "
                        "no owners", arg, owner);
    const tkms_owner *claimed = tkms_owner_find(file->owners, owner);
    if (claimed == NULL)
        return cli_fail("combine", "%s: owner %s is not an owner of this group", arg, owner);
    for (size_t i = 0; i < *count; i++) {
        const tkms_owner *holder = tkms_owner_of(file->owners, out[i].index);
        if (holder != claimed)
            return cli_fail("combine", "%s: owner %s answered for share %u, which %s%s", arg,
                            owner, out[i].index, holder ? "belongs to owner " : "does not exist",
                            holder ? holder->id : "");
    }
    return CLI_EXIT_OK;
}

/* Names each invalid partial, and its owner when the group lists owners. */
static void report_bad(const tkms_group_file *file, const uint32_t *bad, size_t bad_count)
{
    for (size_t i = 0; i < bad_count; i++) {
        const tkms_owner *o = file->owners ? tkms_owner_of(file->owners, bad[i]) : NULL;
        if (o != NULL)
            fprintf(stderr, "tkms combine: partial signature of share %u is invalid: "
                            "owner %s is to blame\n", bad[i], o->id);
        else
            fprintf(stderr, "tkms combine: partial signature of share %u is invalid\n", bad[i]);
    }
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
    if (optind == argc)
        return cli_usage("combine", "no partial signatures given");

    tkms_group_file file = {NULL, NULL};
    tkms_combiner *combiner = NULL;
    tkms_partial *partials = NULL;
    uint32_t *bad = NULL;
    uint8_t *msg = NULL;
    size_t msg_len, count = 0;
    const char **source = NULL;   /* the argument each partial came from */
    int rc;
    if ((rc = cli_parse_hex("combine", "--message", message, CLI_MESSAGE_MAX_SIZE, &msg, &msg_len)) != 0 ||
        (rc = cli_load_group("combine", group_path, &file)) != 0)
        goto done;
    const tkms_group *group = file.group;
    size_t n = group->share_count;
    partials = calloc(n, sizeof *partials);
    bad = calloc(n, sizeof *bad);
    source = calloc(n, sizeof *source);
    combiner = tkms_combiner_new(group);
    if (partials == NULL || bad == NULL || source == NULL || combiner == NULL) {
        rc = cli_fail("combine", "out of memory");
        goto done;
    }
    for (int a = optind; a < argc; a++) {
        size_t got;
        if (count == n) {
            rc = cli_fail("combine", "more partials given than the group has: only %zu shares exist", n);
            goto done;
        }
        if ((rc = read_partials(argv[a], &file, partials + count, n - count, &got)) != 0)
            goto done;
        for (size_t i = count; i < count + got; i++) {
            source[i] = argv[a];
            if (partials[i].index > n) {
                rc = cli_fail("combine", "%s: share index %u is outside 1..%zu", argv[a],
                              partials[i].index, n);
                goto done;
            }
            for (size_t j = 0; j < i; j++)
                if (partials[j].index == partials[i].index) {
                    rc = cli_fail("combine", "share index %u given twice (%s and %s)",
                                  partials[i].index, source[j], argv[a]);
                    goto done;
                }
        }
        count += got;
    }
    tkms_signature sig;
    size_t bad_count;
    tkms_status st = tkms_combiner_combine(combiner, msg, msg_len, partials, count,
                                           tkms_rng_system(), &sig, bad, &bad_count);
    report_bad(&file, bad, bad_count);
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
    tkms_group_file_clear(&file);
    free(partials);
    free(bad);
    free(source);
    free(msg);
    return rc;
}
