/*
 * cmd_allocate.c — `tkms allocate`: turns owners' stakes into share
 * counts, share indices and a threshold by the rule of DESIGN §5, and
 * reports what the rounding costs; or finds the smallest share count whose
 * rounding stays within a given error of the fraction. Prints a table, or
 * with --json the document that `tkms split --allocation` reads.
 */
#include <getopt.h>
#include <gmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tkms/allocation.h"
#include "tkms/file.h"

static const char *const help =
    "usage: tkms allocate --stakes FILE --fraction F --shares N [--json]\n"
    "       tkms allocate --stakes FILE --fraction F --max-error E [--max-shares M]\n"
    "                     [--json]\n"
    "\n"
    "Gives the owners in FILE N shares in proportion to their stakes: each\n"
    "gets floor(stake / total stake x N), then one more goes to each owner in\n"
    "descending order of stake (ties: ascending id) until N are given. Share\n"
    "indices go to owners in ascending id order. K = floor(F x N) + 1 shares\n"
    "are needed to sign: a coalition needs strictly more than F of them.\n"
    "Arithmetic is exact; nothing is rounded but the shares themselves.\n"
    "\n"
    "FILE is JSON: [{\"id\": \"alice\", \"stake\": \"47.5\"}, ...]. A stake is an\n"
    "integer or a string of decimal digits; quote fractions (\"47.5\", not 47.5).\n"
    "\n"
    "The rounding report, as exact fractions of the total stake: the largest\n"
    "stake of a coalition that cannot sign and the smallest stake of one that\n"
    "can (with exactly proportional shares both would be next to F).\n"
    "\n"
    "  --stakes FILE    the owners and their stakes\n"
    "  --fraction F     the share of stake that must not be able to sign, in\n"
    "                   [0, 1), as a decimal (0.4)\n"
    "  --shares N       the total number of shares, 1..1024\n"
    "  --max-error E    instead of --shares: use the smallest N whose report is\n"
    "                   within E of F on both sides (fails if there is none)\n"
    "  --max-shares M   the largest N that --max-error tries (default 1024)\n"
    "  --json           print {\"total\": N, \"threshold\": K, \"owners\": [{\"id\",\n"
    "                   \"stake\", \"shares\", \"indices\"}, ...], \"cannot_sign_max\":\n"
    "                   \"p/q\", \"can_sign_min\": \"p/q\"}\n";

static int load_stakes(const char *path, tkms_stakes **out)
{
    char *text;
    size_t len;
    tkms_err err;
    if (tkms_file_read(path, TKMS_STAKES_FILE_MAX_SIZE, &text, &len, &err) != TKMS_OK)
        return cli_fail("allocate", "cannot read stakes file: %s", err.message);
    tkms_status st = tkms_stakes_parse(out, text, len, &err);
    free(text);
    if (st != TKMS_OK)
        return cli_fail("allocate", "%s: %s", path, err.message);
    return CLI_EXIT_OK;
}

/* "p/q ≈ 0.123457": the exact fraction and a decimal for reading. */
static void print_fraction(const char *label, const char *fraction)
{
    mpq_t q;
    mpf_t f;
    mpq_init(q);
    mpf_init2(f, 128);
    mpq_set_str(q, fraction, 10);
    mpf_set_q(f, q);
    gmp_printf("%s %s ≈ %.6Ff of the total stake\n", label, fraction, f);
    mpf_clear(f);
    mpq_clear(q);
}

static void print_table(const tkms_allocation *a)
{
    int id_width = (int)strlen("owner"), stake_width = (int)strlen("stake");
    for (size_t i = 0; i < a->owner_count; i++) {
        int id_len = (int)strlen(a->owners[i].id), stake_len = (int)strlen(a->owners[i].stake);
        if (id_len > id_width)
            id_width = id_len;
        if (stake_len > stake_width)
            stake_width = stake_len;
    }
    printf("%-*s  %*s  %6s  %s\n", id_width, "owner", stake_width, "stake", "shares", "indices");
    for (size_t i = 0; i < a->owner_count; i++) {
        const tkms_owner_share *o = &a->owners[i];
        printf("%-*s  %*s  %6u  ", id_width, o->id, stake_width, o->stake, o->shares);
        if (o->shares == 0)
            puts("-");
        else if (o->shares == 1)
            printf("%u\n", o->first_index);
        else
            printf("%u-%u\n", o->first_index, o->first_index + o->shares - 1);
    }
    printf("\nN = %u shares, threshold K = %u: a coalition needs at least %u shares to sign\n",
           a->total, a->threshold, a->threshold);
    print_fraction("largest stake that cannot sign:", a->cannot_sign_max);
    print_fraction("smallest stake that can sign:  ", a->can_sign_min);
}

static int print_allocation(const tkms_allocation *a, bool json)
{
    if (!json) {
        print_table(a);
        return CLI_EXIT_OK;
    }
    char *text = tkms_allocation_format_json(a);
    if (text == NULL)
        return cli_fail("allocate", "out of memory");
    puts(text);
    free(text);
    return CLI_EXIT_OK;
}

int cmd_allocate(int argc, char **argv)
{
    static const struct option options[] = {
        {"stakes", required_argument, NULL, 's'},
        {"shares", required_argument, NULL, 'n'},
        {"fraction", required_argument, NULL, 'f'},
        {"max-error", required_argument, NULL, 'e'},
        {"max-shares", required_argument, NULL, 'm'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *stakes_path = NULL, *shares_text = NULL, *fraction = NULL,
               *max_error = NULL, *max_shares_text = NULL;
    bool json = false;
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 's': stakes_path = optarg; break;
        case 'n': shares_text = optarg; break;
        case 'f': fraction = optarg; break;
        case 'e': max_error = optarg; break;
        case 'm': max_shares_text = optarg; break;
        case 'j': json = true; break;
        case 'h': fputs(help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_flag("allocate", argv);
        }
    }
    if (optind != argc)
        return cli_usage("allocate", "unexpected argument '%s'", argv[optind]);
    if (!stakes_path || !fraction)
        return cli_usage("allocate", "--stakes and --fraction are required");
    if ((shares_text == NULL) == (max_error == NULL))
        return cli_usage("allocate", "give either --shares N or --max-error E");
    if (max_shares_text != NULL && max_error == NULL)
        return cli_usage("allocate", "--max-shares goes with --max-error");

    uint32_t total = 0, max_shares = TKMS_MAX_SHARES;
    int rc;
    if ((shares_text != NULL &&
         (rc = cli_parse_u32("allocate", "--shares", shares_text, 1, TKMS_MAX_SHARES, &total)) != 0) ||
        (max_shares_text != NULL &&
         (rc = cli_parse_u32("allocate", "--max-shares", max_shares_text, 1, TKMS_MAX_SHARES,
                             &max_shares)) != 0))
        return rc;

    tkms_stakes *stakes = NULL;
    tkms_allocation *allocation = NULL;
    if ((rc = load_stakes(stakes_path, &stakes)) != 0)
        return rc;
    tkms_err err;
    tkms_status st = shares_text != NULL
                         ? tkms_allocate(&allocation, stakes, total, fraction, &err)
                         : tkms_allocate_search(&allocation, stakes, fraction, max_error,
                                                max_shares, &err);
    if (st == TKMS_ERR_INVALID_ARGUMENT)
        rc = cli_usage("allocate", "%s", err.message);
    else if (st != TKMS_OK)
        rc = cli_fail("allocate", "%s", err.message);
    else {
        if (max_error != NULL && !json)
            printf("smallest N whose report is within %s of F = %s: %u\n\n", max_error,
                   fraction, allocation->total);
        rc = print_allocation(allocation, json);
    }
    tkms_allocation_free(allocation);
    tkms_stakes_free(stakes);
    return rc;
}
