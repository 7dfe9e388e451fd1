/*
 * cmd_pubkey.c — `tkms pubkey`: the public key of a keystore. Without a
 * password it prints the keystore's `pubkey` field; with one it decrypts
 * and prints the key computed from the secret (which must match the field).
 */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"

static const char *const help =
    "usage: tkms pubkey --keystore F [--password-file F]\n"
    "\n"
    "Prints the public key (0x…) of an EIP-2335 keystore. For a share\n"
    "keystore this is the share's public key.\n"
    "With --password-file F (or $TKMS_PASSWORD set) the keystore is\n"
    "decrypted and the key is computed from the secret, which proves the\n"
    "password and checks the stored `pubkey`; without, `pubkey` is read.\n";

int cmd_pubkey(int argc, char **argv)
{
    static const struct option options[] = {
        {"keystore", required_argument, NULL, 'k'},
        {"password-file", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *keystore = NULL, *password_file = NULL;
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'k': keystore = optarg; break;
        case 'p': password_file = optarg; break;
        case 'h': fputs(help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_flag("pubkey", argv);
        }
    }
    if (optind != argc)
        return cli_usage("pubkey", "unexpected argument '%s'", argv[optind]);
    if (keystore == NULL)
        return cli_usage("pubkey", "--keystore F is required");

    tkms_keystore *ks = NULL;
    char *password = NULL;
    tkms_secret_key sk = {0};
    int rc;
    if ((rc = cli_load_keystore("pubkey", keystore, &ks)) != 0 ||
        (rc = cli_password("pubkey", password_file, false, &password)) != 0)
        goto done;
    tkms_public_key pk;
    if (password != NULL) {
        if ((rc = cli_decrypt_keystore("pubkey", keystore, ks, password, &sk)) != 0)
            goto done;
        tkms_public_key_from_secret(&pk, &sk);
    } else if (tkms_keystore_pubkey(ks) != NULL) {
        pk = *tkms_keystore_pubkey(ks);
    } else {
        rc = cli_fail("pubkey", "%s has no pubkey field; give a password to compute it",
                      keystore);
        goto done;
    }
    uint8_t bytes[TKMS_PUBLIC_KEY_SIZE];
    tkms_public_key_to_bytes(bytes, &pk);
    cli_print_hex(bytes, sizeof bytes);
done:
    tkms_secret_key_wipe(&sk);
    cli_password_free(password);
    tkms_keystore_free(ks);
    return rc;
}
