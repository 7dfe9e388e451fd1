/*
 * cmd_split.c — `tkms split`: the dealer. Decrypts a keystore, splits its
 * key K-of-n with Feldman commitments and writes the public group file and
 * one share keystore per share — for weighted owners (--allocation), in one
 * directory per owner. All files are written into a fresh temporary
 * directory which is renamed into place only when complete, so a failure
 * leaves nothing half-written.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "tkms/allocation.h"
#include "tkms/file.h"
#include "tkms/group_file.h"
#include "tkms/hex.h"
#include "tkms/secmem.h"

static const char *const help =
    "usage: tkms split --keystore F (--threshold K --shares N | --allocation A)\n"
    "                  --out-dir D [--password-file F] [--kdf scrypt|pbkdf2]\n"
    "                  [--scrypt-n N]\n"
    "\n"
    "Splits the key in keystore F into N shares, any K of which can sign\n"
    "(1 <= K <= N <= 1024). Writes:\n"
    "  D/group.json      public: group key, K, N, Feldman commitments and\n"
    "                    every share's public key\n"
    "  D/share-<i>.json  share i (1..N) as an EIP-2335 keystore with a `tkms`\n"
    "                    object, encrypted with the same password\n"
    "With --allocation A (the JSON of `tkms allocate --json`), K and N come\n"
    "from A and each owner's shares go to D/<owner>/share-<i>.json (mode\n"
    "0700 directory); group.json then lists the owners and their indices,\n"
    "and each share keystore names its owner.\n"
    "D must not exist or be empty. Nothing is written unless all files are.\n"
    "Prints the group public key. The original keystore is left in place:\n"
    "destroy it once the shares are distributed.\n"
    "\n"
    "  --password-file F   password of F and of the shares (else $TKMS_PASSWORD)\n"
    "  --kdf, --scrypt-n   as for tkms keygen, for the share keystores\n";

/* Writes group.json and every share keystore into dir; with owners, share
 * i goes to dir/<owner of i>/. */
static int write_shares(const char *dir, const tkms_group *group,
                        const tkms_owner_map *owners, const tkms_share *shares,
                        const char *password, const tkms_kdf_params *params)
{
    char path[PATH_MAX];
    char *json = NULL;
    if (tkms_group_file_format(&json, group, owners) != TKMS_OK)
        return cli_fail("split", "out of memory");
    snprintf(path, sizeof path, "%s/group.json", dir);
    int rc = cli_write_new_file("split", path, json, false);
    free(json);
    for (size_t o = 0; rc == 0 && owners != NULL && o < owners->count; o++) {
        if (owners->owners[o].share_count == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, owners->owners[o].id);
        if (mkdir(path, 0700) != 0)
            rc = cli_fail("split", "cannot create %s: %s", path, strerror(errno));
    }
    for (uint32_t i = 0; rc == 0 && i < group->share_count; i++) {
        const tkms_owner *owner = owners ? tkms_owner_of(owners, shares[i].index) : NULL;
        if (owner != NULL)
            rc = cli_path("split", path, "%s/%s/share-%u.json", dir, owner->id, shares[i].index);
        else
            rc = cli_path("split", path, "%s/share-%u.json", dir, shares[i].index);
        if (rc == 0)
            rc = cli_write_share_keystore("split", path, group, &shares[i], owner ? owner->id : "",
                                          password, params);
    }
    return rc;
}

/* Reads an allocation file and its owner map. */
static int load_allocation(const char *path, tkms_allocation **allocation,
                           tkms_owner_map **owners)
{
    char *text;
    size_t len;
    tkms_err err;
    if (tkms_file_read(path, TKMS_STAKES_FILE_MAX_SIZE, &text, &len, &err) != TKMS_OK)
        return cli_fail("split", "cannot read allocation: %s", err.message);
    tkms_status st = tkms_allocation_parse(allocation, text, len, &err);
    free(text);
    if (st == TKMS_OK)
        st = tkms_allocation_owner_map(owners, *allocation, &err);
    if (st != TKMS_OK) {
        tkms_allocation_free(*allocation);
        *allocation = NULL;
        return cli_fail("split", "%s: %s", path, err.message);
    }
    return CLI_EXIT_OK;
}

int cmd_split(int argc, char **argv)
{
    static const struct option options[] = {
        {"keystore", required_argument, NULL, 'k'},
        {"threshold", required_argument, NULL, 't'},
        {"shares", required_argument, NULL, 'n'},
        {"allocation", required_argument, NULL, 'a'},
        {"out-dir", required_argument, NULL, 'o'},
        {"password-file", required_argument, NULL, 'p'},
        {"kdf", required_argument, NULL, 'K'},
        {"scrypt-n", required_argument, NULL, 'N'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *keystore = NULL, *threshold_text = NULL, *shares_text = NULL,
               *out_dir = NULL, *password_file = NULL, *kdf = NULL, *scrypt_n = NULL,
               *allocation_path = NULL;
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'k': keystore = optarg; break;
        case 't': threshold_text = optarg; break;
        case 'n': shares_text = optarg; break;
        case 'a': allocation_path = optarg; break;
        case 'o': out_dir = optarg; break;
        case 'p': password_file = optarg; break;
        case 'K': kdf = optarg; break;
        case 'N': scrypt_n = optarg; break;
        case 'h': fputs(help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_flag("split", argv);
        }
    }
    if (optind != argc)
        return cli_usage("split", "unexpected argument '%s'", argv[optind]);
    if (!keystore || !out_dir)
        return cli_usage("split", "--keystore and --out-dir are required");
    if (allocation_path != NULL && (threshold_text || shares_text))
        return cli_usage("split", "--allocation gives K and N; do not also give --threshold "
                         "or --shares");
    if (allocation_path == NULL && (!threshold_text || !shares_text))
        return cli_usage("split", "give --threshold K and --shares N, or --allocation A");

    uint32_t threshold = 0, share_count = 0;
    tkms_kdf_params params;
    tkms_allocation *allocation = NULL;
    tkms_owner_map *owners = NULL;
    int rc;
    if (allocation_path == NULL &&
        ((rc = cli_parse_u32("split", "--shares", shares_text, 1, TKMS_MAX_SHARES, &share_count)) != 0 ||
         (rc = cli_parse_u32("split", "--threshold", threshold_text, 1, TKMS_MAX_SHARES, &threshold)) != 0))
        return rc;
    if ((rc = cli_kdf_params("split", kdf, scrypt_n, &params)) != 0)
        return rc;
    if (threshold > share_count)
        return cli_usage("split", "--threshold %u is larger than --shares %u", threshold, share_count);
    cli_out_dir out;
    if ((rc = cli_out_dir_begin(&out, "split", "--out-dir", out_dir)) != 0)
        return rc;
    if (allocation_path != NULL) {
        if ((rc = load_allocation(allocation_path, &allocation, &owners)) != 0) {
            cli_out_dir_abort(&out);
            return rc;
        }
        threshold = allocation->threshold;
        share_count = allocation->total;
    }

    tkms_keystore *ks = NULL;
    char *password = NULL;
    tkms_secret_key sk = {0};
    tkms_share *shares = calloc(share_count, sizeof *shares);
    tkms_group *group = NULL;
    if (shares == NULL) {
        rc = cli_fail("split", "out of memory");
        goto done;
    }
    if ((rc = cli_load_keystore("split", keystore, &ks)) != 0 ||
        (rc = cli_password("split", password_file, true, &password)) != 0 ||
        (rc = cli_decrypt_keystore("split", keystore, ks, password, &sk)) != 0)
        goto done;
    if (tkms_keystore_share_info(ks) != NULL) {
        rc = cli_fail("split", "%s is already a share keystore; split the original key", keystore);
        goto done;
    }
    if (tkms_split(&group, shares, &sk, threshold, share_count, tkms_rng_system()) != TKMS_OK) {
        rc = cli_fail("split", "splitting failed (randomness or memory)");
        goto done;
    }
    if ((rc = write_shares(out.staging, group, owners, shares, password, &params)) != 0 ||
        (rc = cli_out_dir_commit(&out)) != 0)
        goto done;
    uint8_t gk[TKMS_PUBLIC_KEY_SIZE];
    tkms_public_key_to_bytes(gk, &group->group_key);
    cli_print_hex(gk, sizeof gk);
done:
    cli_out_dir_abort(&out);
    if (shares != NULL)
        tkms_wipe(shares, share_count * sizeof *shares);
    free(shares);
    tkms_group_free(group);
    tkms_owner_map_free(owners);
    tkms_allocation_free(allocation);
    tkms_secret_key_wipe(&sk);
    cli_password_free(password);
    tkms_keystore_free(ks);
    return rc;
}
