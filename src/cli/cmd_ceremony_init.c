/*
 * cmd_ceremony_init.c — starting a file ceremony: `tkms ceremony spec`
 * writes a SPEC.json (the parties, their identity keys and shares, K, M,
 * and for a reshare the key being reshared) with a fresh ceremony id;
 * `tkms ceremony init` checks a spec and creates the ceremony directory
 * (layout in ceremony_dir.h) that `tkms ceremony step` then works in.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ceremony_dir.h"
#include "cli_ceremony.h"
#include "tkms/file.h"
#include "tkms/hex.h"

/* ---- tkms ceremony init --------------------------------------------------- */

#define INIT "ceremony init"

static const char *const init_help =
    "usage: tkms ceremony init --spec SPEC.json --out-dir D\n"
    "\n"
    "Checks the ceremony spec (see `tkms ceremony spec`) and creates the\n"
    "ceremony directory D, which must not exist or be empty:\n"
    "  D/spec.json                 the spec, as tkms writes it\n"
    "  D/messages/round-1..4/      where the parties' messages go\n"
    "  D/out/                      where the parties' results go\n"
    "Prints the ceremony id and the spec hash (every party should check them\n"
    "against what it agreed to). Then each party runs `tkms ceremony step`\n"
    "until it reports done; D (or its messages) can be copied between\n"
    "machines, also to and from offline ones.\n"
    "Use a spec for one ceremony only: each party derives its secret\n"
    "polynomials from the spec and its identity (`tkms ceremony spec` gives\n"
    "every spec a fresh ceremony id).\n";

/* Writes the ceremony directory's contents into `dir`. */
static int populate(const char *dir, const char *spec_text)
{
    char path[PATH_MAX];
    int rc;
    if ((rc = cli_path(INIT, path, "%s/" CEREMONY_SPEC_FILE, dir)) != 0 ||
        (rc = cli_write_new_file(INIT, path, spec_text, false)) != 0 ||
        (rc = cli_path(INIT, path, "%s/" CEREMONY_OUT_DIR, dir)) != 0)
        return rc;
    if (mkdir(path, 0777) != 0)
        return cli_fail(INIT, "cannot create %s: %s", path, strerror(errno));
    if ((rc = cli_path(INIT, path, "%s/" CEREMONY_MESSAGES_DIR, dir)) != 0)
        return rc;
    if (mkdir(path, 0777) != 0)
        return cli_fail(INIT, "cannot create %s: %s", path, strerror(errno));
    for (int r = 1; r <= CEREMONY_ROUNDS; r++) {
        if ((rc = cli_path(INIT, path, "%s/" CEREMONY_MESSAGES_DIR "/round-%d", dir, r)) != 0)
            return rc;
        if (mkdir(path, 0777) != 0)
            return cli_fail(INIT, "cannot create %s: %s", path, strerror(errno));
    }
    return CLI_EXIT_OK;
}

/* Creates D whole or not at all. */
static int create_dir(const char *out_dir, const char *spec_text)
{
    cli_out_dir out;
    int rc = cli_out_dir_begin(&out, INIT, "--out-dir", out_dir);
    if (rc == 0 && (rc = populate(out.staging, spec_text)) == 0)
        rc = cli_out_dir_commit(&out);
    cli_out_dir_abort(&out);
    return rc;
}

int cmd_ceremony_init(int argc, char **argv)
{
    static const struct option options[] = {
        {"spec", required_argument, NULL, 's'},
        {"out-dir", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *spec_path = NULL, *out_dir = NULL;
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 's': spec_path = optarg; break;
        case 'o': out_dir = optarg; break;
        case 'h': fputs(init_help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_flag(INIT, argv);
        }
    }
    if (optind != argc)
        return cli_usage(INIT, "unexpected argument '%s'", argv[optind]);
    if (spec_path == NULL || out_dir == NULL)
        return cli_usage(INIT, "--spec and --out-dir are required");
    tkms_ceremony_spec *spec;
    int rc = ceremony_load_spec(INIT, spec_path, &spec);
    if (rc != 0)
        return rc;
    char *text = tkms_ceremony_spec_format(spec);
    if (text == NULL)
        rc = cli_fail(INIT, "out of memory");
    else if ((rc = create_dir(out_dir, text)) == 0)
        ceremony_print_ids(spec);
    free(text);
    tkms_ceremony_spec_free(spec);
    return rc;
}

/* ---- tkms ceremony spec --------------------------------------------------- */

#define SPEC "ceremony spec"

static const char *const spec_help =
    "usage: tkms ceremony spec --parties ID:0xIDENTITY[:SHARES],... --threshold K\n"
    "                          [--keys M] [--reshare-group GROUP.json] --out SPEC.json\n"
    "\n"
    "Writes a ceremony spec with a fresh random ceremony id, for\n"
    "`tkms ceremony init`. Every party must agree to it (compare the printed\n"
    "spec hash).\n"
    "\n"
    "  --parties LIST        the parties: id, identity public key (`tkms identity\n"
    "                        show`), and how many shares of the new key it gets\n"
    "                        (default 1; 0 for an owner that leaves a reshare)\n"
    "  --threshold K         shares needed to sign with the new key(s)\n"
    "  --keys M              keys to generate (default 1; a reshare has 1)\n"
    "  --reshare-group F     reshare the key of group file F (which must list its\n"
    "                        owners, e.g. a ceremony's out/keys/0/group.json):\n"
    "                        its owners deal their shares, the key stays the same.\n"
    "                        Every owner holding shares must be a party\n"
    "  --out SPEC.json       where to write it (never overwritten)\n"
    "\n"
    "Prints the ceremony id and the spec hash.\n";

/* A library message without its "ceremony spec: " prefix, which the
 * command's own name already gives. */
static const char *reason(const tkms_err *err)
{
    static const char prefix[] = "ceremony spec: ";
    return strncmp(err->message, prefix, sizeof prefix - 1) == 0
               ? err->message + sizeof prefix - 1
               : err->message;
}

/* Parses "ID:0xIDENTITY[:SHARES],..." into parties (caller frees). */
static int parse_parties(const char *text, tkms_ceremony_party **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    size_t cap = 1;
    for (const char *c = text; *c; c++)
        cap += *c == ',';
    if (cap > TKMS_CEREMONY_MAX_PARTIES)
        return cli_usage(SPEC, "--parties: at most %u parties", TKMS_CEREMONY_MAX_PARTIES);
    tkms_ceremony_party *parties = calloc(cap, sizeof *parties);
    char *copy = strdup(text);
    int rc = parties && copy ? CLI_EXIT_OK : cli_fail(SPEC, "out of memory");
    char *save = NULL;
    size_t n = 0;
    for (char *item = copy ? strtok_r(copy, ",", &save) : NULL; rc == 0 && item != NULL;
         item = strtok_r(NULL, ",", &save)) {
        char *identity = strchr(item, ':');
        char *shares = identity ? strchr(identity + 1, ':') : NULL;
        if (identity == NULL) {
            rc = cli_usage(SPEC, "--parties: '%s' is not ID:0xIDENTITY[:SHARES]", item);
            break;
        }
        *identity++ = '\0';
        if (shares != NULL)
            *shares++ = '\0';
        tkms_ceremony_party *p = &parties[n++];
        tkms_err err;
        if (!tkms_owner_id_valid(item))
            rc = cli_usage(SPEC, "--parties: '%s' is not a valid id (1 to %u characters of "
                           "[A-Za-z0-9._-], not starting with '.' or '-')", item,
                           TKMS_OWNER_ID_MAX_SIZE);
        else if (tkms_hex_decode(p->identity, sizeof p->identity, identity, &err) != TKMS_OK)
            rc = cli_usage(SPEC, "--parties: the identity of '%s': %s", item, err.message);
        else if (shares == NULL)
            p->shares = 1;
        else
            rc = cli_parse_u32(SPEC, "--parties: SHARES", shares, 0, TKMS_MAX_SHARES, &p->shares);
        if (rc == 0)
            snprintf(p->id, sizeof p->id, "%s", item);
    }
    free(copy);
    if (rc == 0 && n == 0)
        rc = cli_usage(SPEC, "--parties lists no party");
    if (rc != 0) {
        free(parties);
        return rc;
    }
    *out = parties;
    *count = n;
    return CLI_EXIT_OK;
}

int cmd_ceremony_spec(int argc, char **argv)
{
    static const struct option options[] = {
        {"parties", required_argument, NULL, 'p'},
        {"threshold", required_argument, NULL, 't'},
        {"keys", required_argument, NULL, 'm'},
        {"reshare-group", required_argument, NULL, 'g'},
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *parties_text = NULL, *threshold_text = NULL, *keys_text = NULL,
               *group_path = NULL, *out = NULL;
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'p': parties_text = optarg; break;
        case 't': threshold_text = optarg; break;
        case 'm': keys_text = optarg; break;
        case 'g': group_path = optarg; break;
        case 'o': out = optarg; break;
        case 'h': fputs(spec_help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_flag(SPEC, argv);
        }
    }
    if (optind != argc)
        return cli_usage(SPEC, "unexpected argument '%s'", argv[optind]);
    if (parties_text == NULL || threshold_text == NULL || out == NULL)
        return cli_usage(SPEC, "--parties, --threshold and --out are required");
    uint32_t threshold, keys = 1;
    int rc;
    if ((rc = cli_parse_u32(SPEC, "--threshold", threshold_text, 1, TKMS_MAX_SHARES,
                            &threshold)) != 0 ||
        (keys_text != NULL &&
         (rc = cli_parse_u32(SPEC, "--keys", keys_text, 1, TKMS_CEREMONY_MAX_KEYS, &keys)) != 0))
        return rc;
    if (group_path != NULL && keys != 1)
        return cli_usage(SPEC, "a reshare moves one key: --keys must be 1 with --reshare-group");
    if (access(out, F_OK) == 0)
        return cli_fail(SPEC, "%s: already exists, not overwriting", out);

    tkms_ceremony_party *parties = NULL;
    size_t count = 0;
    tkms_group_file group = {NULL, NULL};
    tkms_ceremony_spec *spec = NULL;
    char *text = NULL;
    uint8_t ceremony_id[TKMS_CEREMONY_ID_SIZE];
    tkms_err err;
    if ((rc = parse_parties(parties_text, &parties, &count)) != 0)
        goto done;
    if (group_path != NULL) {
        if ((rc = cli_load_group(SPEC, group_path, &group)) != 0)
            goto done;
        if (group.owners == NULL) {
            rc = cli_fail(SPEC, "%s lists no owners: a reshare needs to know who holds the "
                          "shares", group_path);
            goto done;
        }
    }
    if (tkms_rng_fill(tkms_rng_system(), ceremony_id, sizeof ceremony_id) != TKMS_OK) {
        rc = cli_fail(SPEC, "cannot get randomness from the OS");
        goto done;
    }
    /* the spec takes over the group, also on failure */
    tkms_status st = tkms_ceremony_spec_new(
        &spec, group_path ? TKMS_CEREMONY_RESHARE : TKMS_CEREMONY_DKG, ceremony_id, threshold,
        keys, parties, count, group.group, group.owners, &err);
    group.group = NULL;
    group.owners = NULL;
    if (st != TKMS_OK) {
        rc = cli_fail(SPEC, "%s", reason(&err));
        goto done;
    }
    if ((rc = ceremony_check_names(SPEC, spec)) != 0)
        goto done;
    if ((text = tkms_ceremony_spec_format(spec)) == NULL) {
        rc = cli_fail(SPEC, "out of memory");
        goto done;
    }
    /* read it back as init will: this also checks the identity keys */
    tkms_ceremony_spec *again = NULL;
    st = tkms_ceremony_spec_parse(&again, text, strlen(text), &err);
    tkms_ceremony_spec_free(again);
    if (st != TKMS_OK) {
        rc = cli_fail(SPEC, "%s", reason(&err));
        goto done;
    }
    if ((rc = cli_write_new_file(SPEC, out, text, false)) == 0)
        ceremony_print_ids(spec);
done:
    free(text);
    tkms_ceremony_spec_free(spec);
    tkms_group_file_clear(&group);
    free(parties);
    return rc;
}
