/*
 * cmd_sign.c — `tkms sign`: a signature from a keystore, a partial
 * signature from a share keystore, or an owner's response: one partial per
 * share, from all the share keystores an owner holds.
 */
#include <dirent.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tkms/combine.h"
#include "tkms/hex.h"
#include "tkms/partial_file.h"

static const char *const help =
    "usage: tkms sign (--keystore F [--keystore F]... | --keystore-dir D)\n"
    "                 --message 0xHEX [--password-file F] [--json]\n"
    "\n"
    "Signs MESSAGE (hex) with the key in keystore F (ciphersuite\n"
    "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_) and prints the 96-byte\n"
    "signature as 0x… hex.\n"
    "For a share keystore the result is a partial signature, printed as\n"
    "0x… hex, or with --json {\"index\": i, \"signature\": \"0x…\"} (or the\n"
    "owner's response below when the share names its owner).\n"
    "With several share keystores of one owner (repeated --keystore, or\n"
    "--keystore-dir D for every share-*.json in D) it signs with each and\n"
    "prints one `i:0xSIG` line per share, or with --json the owner's\n"
    "response {\"owner\": …, \"partials\": [{\"index\": i, \"signature\": …}, …]}.\n"
    "All must be shares of the same group key and the same owner, with the\n"
    "same password. `tkms combine` reads every one of these forms.\n"
    "For a plain keystore --json prints {\"pubkey\": \"0x…\", \"signature\": \"0x…\"}.\n"
    "\n"
    "  --password-file F   keystore password (else $TKMS_PASSWORD)\n";

#define MAX_KEYSTORES TKMS_MAX_SHARES

typedef struct {
    const char *paths[MAX_KEYSTORES];
    char *owned[MAX_KEYSTORES];      /* paths found in --keystore-dir */
    size_t count;
} keystore_list;

static int add_path(keystore_list *list, const char *path, bool owned)
{
    if (list->count == MAX_KEYSTORES) {
        if (owned)
            free((char *)path);
        return cli_usage("sign", "more than %u keystores", MAX_KEYSTORES);
    }
    list->owned[list->count] = owned ? (char *)path : NULL;
    list->paths[list->count++] = path;
    return CLI_EXIT_OK;
}

static int compare_paths(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Adds every share-*.json in dir, in name order. */
static int add_dir(keystore_list *list, const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return cli_fail("sign", "cannot read --keystore-dir %s", dir);
    size_t start = list->count;
    struct dirent *e;
    int rc = CLI_EXIT_OK;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, "share-", 6) != 0 || len < 11 ||
            strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        char *path = malloc(PATH_MAX);
        if (path == NULL) {
            rc = cli_fail("sign", "out of memory");
            break;
        }
        snprintf(path, PATH_MAX, "%s/%s", dir, e->d_name);
        rc = add_path(list, path, true);
    }
    closedir(d);
    if (rc == 0 && list->count == start)
        rc = cli_fail("sign", "--keystore-dir %s holds no share-*.json keystores", dir);
    qsort(list->paths + start, list->count - start, sizeof *list->paths, compare_paths);
    return rc;
}

static void print_plain_json(const tkms_public_key *pk, const uint8_t sig[TKMS_SIGNATURE_SIZE])
{
    uint8_t pk_bytes[TKMS_PUBLIC_KEY_SIZE];
    char pk_hex[TKMS_HEX_SIZE(TKMS_PUBLIC_KEY_SIZE)], sig_hex[TKMS_HEX_SIZE(TKMS_SIGNATURE_SIZE)];
    tkms_public_key_to_bytes(pk_bytes, pk);
    tkms_hex_encode(pk_hex, pk_bytes, sizeof pk_bytes);
    tkms_hex_encode(sig_hex, sig, TKMS_SIGNATURE_SIZE);
    printf("{\"pubkey\": \"%s\", \"signature\": \"%s\"}\n", pk_hex, sig_hex);
}

/* Signs msg with keystore `path`; for a share keystore checks it belongs
 * with the first one (`first`, NULL for the first itself). */
static int sign_one(const char *path, const char *password, const uint8_t *msg,
                    size_t msg_len, const tkms_share_info *first, tkms_keystore **ks_out,
                    tkms_partial *out, tkms_public_key *pk_out)
{
    tkms_secret_key sk = {0};
    int rc;
    if ((rc = cli_load_keystore("sign", path, ks_out)) != 0 ||
        (rc = cli_decrypt_keystore("sign", path, *ks_out, password, &sk)) != 0)
        return rc;
    const tkms_share_info *share = tkms_keystore_share_info(*ks_out);
    if (first != NULL) {
        if (share == NULL)
            rc = cli_fail("sign", "%s is not a share keystore; several keystores must all be "
                          "shares of one owner", path);
        else if (!tkms_public_key_equal(&share->group_key, &first->group_key))
            rc = cli_fail("sign", "%s is a share of another group key", path);
        else if (strcmp(share->owner, first->owner) != 0)
            rc = cli_fail("sign", "%s belongs to owner '%s', not '%s'", path, share->owner,
                          first->owner);
    }
    if (rc == 0) {
        tkms_signature sig;
        tkms_sign(&sig, &sk, msg, msg_len);
        tkms_signature_to_bytes(out->signature, &sig);
        out->index = share ? share->index : 0;
        tkms_public_key_from_secret(pk_out, &sk);
    }
    tkms_secret_key_wipe(&sk);
    return rc;
}

/* Prints partials as `i:0xSIG` lines, or as JSON (one partial, or the
 * owner's response). */
static int print_partials(const tkms_partial *partials, size_t count, const char *owner,
                          bool json)
{
    if (!json) {
        for (size_t i = 0; i < count; i++) {
            char hex[TKMS_HEX_SIZE(TKMS_SIGNATURE_SIZE)];
            tkms_hex_encode(hex, partials[i].signature, TKMS_SIGNATURE_SIZE);
            printf("%u:%s\n", partials[i].index, hex);
        }
        return CLI_EXIT_OK;
    }
    if (count > 1 && owner[0] == '\0')
        return cli_fail("sign", "--json with several keystores needs shares of a named owner "
                        "(split with --allocation); without --json each is printed as i:0xSIG");
    /* shares of a named owner always answer as that owner, however many */
    char *text = owner[0] != '\0' ? tkms_owner_response_format_json(owner, partials, count)
                                  : tkms_partial_format_json(&partials[0]);
    if (text == NULL)
        return cli_fail("sign", "out of memory");
    puts(text);
    free(text);
    return CLI_EXIT_OK;
}

int cmd_sign(int argc, char **argv)
{
    static const struct option options[] = {
        {"keystore", required_argument, NULL, 'k'},
        {"keystore-dir", required_argument, NULL, 'd'},
        {"message", required_argument, NULL, 'm'},
        {"password-file", required_argument, NULL, 'p'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static keystore_list list;
    const char *message = NULL, *password_file = NULL;
    bool json = false;
    int opt, rc = CLI_EXIT_OK;
    opterr = 0;
    while (rc == 0 && (opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'k': rc = add_path(&list, optarg, false); break;
        case 'd': rc = add_dir(&list, optarg); break;
        case 'm': message = optarg; break;
        case 'p': password_file = optarg; break;
        case 'j': json = true; break;
        case 'h': fputs(help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_flag("sign", argv);
        }
    }
    uint8_t *msg = NULL;
    size_t msg_len;
    char *password = NULL;
    tkms_keystore **keystores = calloc(MAX_KEYSTORES, sizeof *keystores);
    tkms_partial *partials = calloc(MAX_KEYSTORES, sizeof *partials);
    if (rc != 0)
        goto done;
    if (optind != argc) {
        rc = cli_usage("sign", "unexpected argument '%s'", argv[optind]);
        goto done;
    }
    if (list.count == 0 || message == NULL) {
        rc = cli_usage("sign", "--keystore F (or --keystore-dir D) and --message 0xHEX are required");
        goto done;
    }
    if (keystores == NULL || partials == NULL) {
        rc = cli_fail("sign", "out of memory");
        goto done;
    }
    if ((rc = cli_parse_hex("sign", "--message", message, CLI_MESSAGE_MAX_SIZE, &msg, &msg_len)) != 0 ||
        (rc = cli_password("sign", password_file, true, &password)) != 0)
        goto done;
    tkms_public_key pk;
    const tkms_share_info *first = NULL;
    for (size_t i = 0; i < list.count && rc == 0; i++) {
        rc = sign_one(list.paths[i], password, msg, msg_len, first, &keystores[i],
                      &partials[i], &pk);
        if (rc == 0 && i == 0) {
            first = tkms_keystore_share_info(keystores[0]);
            if (first == NULL && list.count > 1)
                rc = cli_fail("sign", "%s is not a share keystore; several keystores must all "
                              "be shares of one owner", list.paths[0]);
        }
        for (size_t j = 0; rc == 0 && first != NULL && j < i; j++)
            if (partials[j].index == partials[i].index)
                rc = cli_fail("sign", "%s and %s are the same share (%u)", list.paths[j],
                              list.paths[i], partials[i].index);
    }
    if (rc != 0)
        goto done;
    if (first == NULL) {   /* a plain keystore */
        if (json)
            print_plain_json(&pk, partials[0].signature);
        else
            cli_print_hex(partials[0].signature, TKMS_SIGNATURE_SIZE);
    } else if (list.count == 1 && !json) {
        cli_print_hex(partials[0].signature, TKMS_SIGNATURE_SIZE);
    } else {
        rc = print_partials(partials, list.count, first->owner, json);
    }
done:
    for (size_t i = 0; i < list.count; i++) {
        if (keystores != NULL)
            tkms_keystore_free(keystores[i]);
        free(list.owned[i]);
    }
    free(keystores);
    free(partials);
    cli_password_free(password);
    free(msg);
    return rc;
}
