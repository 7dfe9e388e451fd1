/*
 * cmd_sign.c — `tkms sign`: a signature from a keystore, or a partial
 * signature from a share keystore.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "tkms/combine.h"
#include "tkms/hex.h"
#include "tkms/partial_file.h"

static const char *const help =
    "usage: tkms sign --keystore F --message 0xHEX [--password-file F] [--json]\n"
    "\n"
    "Signs MESSAGE (hex, up to 1 MiB) with the key in keystore F\n"
    "(ciphersuite BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_) and prints\n"
    "the 96-byte signature as 0x… hex.\n"
    "For a share keystore the result is a partial signature; with --json it\n"
    "is printed as {\"index\": i, \"signature\": \"0x…\"}, the form that\n"
    "`tkms combine` reads. For a plain keystore --json prints\n"
    "{\"pubkey\": \"0x…\", \"signature\": \"0x…\"}.\n"
    "\n"
    "  --password-file F   keystore password (else $TKMS_PASSWORD)\n";

static void print_plain_json(const tkms_public_key *pk, const uint8_t sig[TKMS_SIGNATURE_SIZE])
{
    uint8_t pk_bytes[TKMS_PUBLIC_KEY_SIZE];
    char pk_hex[TKMS_HEX_SIZE(TKMS_PUBLIC_KEY_SIZE)], sig_hex[TKMS_HEX_SIZE(TKMS_SIGNATURE_SIZE)];
    tkms_public_key_to_bytes(pk_bytes, pk);
    tkms_hex_encode(pk_hex, pk_bytes, sizeof pk_bytes);
    tkms_hex_encode(sig_hex, sig, TKMS_SIGNATURE_SIZE);
    printf("{\"pubkey\": \"%s\", \"signature\": \"%s\"}\n", pk_hex, sig_hex);
}

int cmd_sign(int argc, char **argv)
{
    static const struct option options[] = {
        {"keystore", required_argument, NULL, 'k'},
        {"message", required_argument, NULL, 'm'},
        {"password-file", required_argument, NULL, 'p'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *keystore = NULL, *message = NULL, *password_file = NULL;
    bool json = false;
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'k': keystore = optarg; break;
        case 'm': message = optarg; break;
        case 'p': password_file = optarg; break;
        case 'j': json = true; break;
        case 'h': fputs(help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_flag("sign", argv);
        }
    }
    if (optind != argc)
        return cli_usage("sign", "unexpected argument '%s'", argv[optind]);
    if (keystore == NULL || message == NULL)
        return cli_usage("sign", "--keystore F and --message 0xHEX are required");

    uint8_t *msg = NULL;
    size_t msg_len;
    tkms_keystore *ks = NULL;
    char *password = NULL;
    tkms_secret_key sk = {0};
    int rc;
    if ((rc = cli_parse_hex("sign", "--message", message, CLI_MESSAGE_MAX_SIZE, &msg, &msg_len)) != 0 ||
        (rc = cli_load_keystore("sign", keystore, &ks)) != 0 ||
        (rc = cli_password("sign", password_file, true, &password)) != 0 ||
        (rc = cli_decrypt_keystore("sign", keystore, ks, password, &sk)) != 0)
        goto done;

    tkms_signature sig;
    tkms_partial partial;
    tkms_sign(&sig, &sk, msg, msg_len);
    tkms_signature_to_bytes(partial.signature, &sig);
    const tkms_share_info *share = tkms_keystore_share_info(ks);
    if (!json) {
        cli_print_hex(partial.signature, TKMS_SIGNATURE_SIZE);
    } else if (share != NULL) {
        partial.index = share->index;
        char *text = tkms_partial_format_json(&partial);
        if (text == NULL) {
            rc = cli_fail("sign", "out of memory");
            goto done;
        }
        puts(text);
        free(text);
    } else {
        tkms_public_key pk;
        tkms_public_key_from_secret(&pk, &sk);
        print_plain_json(&pk, partial.signature);
    }
done:
    tkms_secret_key_wipe(&sk);
    cli_password_free(password);
    tkms_keystore_free(ks);
    free(msg);
    return rc;
}
