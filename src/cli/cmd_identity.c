/*
 * cmd_identity.c — `tkms identity new|show`: a party's identity key for
 * key ceremonies (Ed25519: signs its ceremony messages, receives the shares
 * sealed to it), kept in a password-protected identity file
 * (tkms/identity_file.h). The public key printed here is what a ceremony
 * spec lists for the party.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_ceremony.h"
#include "tkms/identity_file.h"

#define CMD "identity"

static const char *const help =
    "usage: tkms identity new --out F [--password-file F] [--kdf scrypt|pbkdf2]\n"
    "                         [--scrypt-n N]\n"
    "       tkms identity show --identity F [--check] [--password-file F]\n"
    "\n"
    "An identity is a party's long-term key for key ceremonies (tkms ceremony):\n"
    "an Ed25519 key pair that signs the party's messages and receives the\n"
    "shares sealed to it. Its public key goes into the ceremony spec.\n"
    "\n"
    "new   makes a fresh identity from the OS RNG and writes it to F (mode\n"
    "      0600; an existing file is never overwritten): the 32-byte seed\n"
    "      encrypted with the password exactly like an EIP-2335 keystore.\n"
    "      Prints the public key (0x…, 32 bytes).\n"
    "show  prints the public key of identity file F; no password needed.\n"
    "      With --check, decrypts F and checks that its seed gives that key\n"
    "      (proves the password and that the file is intact).\n"
    "\n"
    "  --password-file F   the password (else $TKMS_PASSWORD)\n"
    "  --kdf, --scrypt-n   as for tkms keygen (default scrypt, n = 262144)\n";

static int identity_new(int argc, char **argv)
{
    static const struct option options[] = {
        {"out", required_argument, NULL, 'o'},
        {"password-file", required_argument, NULL, 'p'},
        {"kdf", required_argument, NULL, 'k'},
        {"scrypt-n", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out = NULL, *password_file = NULL, *kdf = NULL, *scrypt_n = NULL;
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'o': out = optarg; break;
        case 'p': password_file = optarg; break;
        case 'k': kdf = optarg; break;
        case 'n': scrypt_n = optarg; break;
        case 'h': fputs(help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_flag(CMD, argv);
        }
    }
    if (optind != argc)
        return cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
    if (out == NULL)
        return cli_usage(CMD, "new: --out F is required");
    tkms_kdf_params params;
    int rc = cli_kdf_params(CMD, kdf, scrypt_n, &params);
    if (rc != 0)
        return rc;
    /* fail before the (slow) KDF; the exclusive write still guards against
     * a file that appears meanwhile */
    if (access(out, F_OK) == 0)
        return cli_fail(CMD, "%s: already exists, not overwriting", out);
    char *password = NULL, *json = NULL;
    tkms_identity identity;
    memset(&identity, 0, sizeof identity);
    tkms_err err;
    if ((rc = cli_password(CMD, password_file, true, &password)) != 0)
        goto done;
    if (tkms_identity_generate(&identity, tkms_rng_system()) != TKMS_OK) {
        rc = cli_fail(CMD, "cannot make an identity (OS RNG or libsodium failed)");
        goto done;
    }
    if (tkms_identity_file_encrypt(&json, &identity, password, &params, tkms_rng_system(),
                                   &err) != TKMS_OK) {
        rc = cli_fail(CMD, "%s", err.message);
        goto done;
    }
    if ((rc = cli_write_new_file(CMD, out, json, true)) != 0)
        goto done;
    cli_print_hex(identity.public_key, sizeof identity.public_key);
done:
    tkms_identity_wipe(&identity);
    free(json);
    cli_password_free(password);
    return rc;
}

static int identity_show(int argc, char **argv)
{
    static const struct option options[] = {
        {"identity", required_argument, NULL, 'i'},
        {"check", no_argument, NULL, 'c'},
        {"password-file", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL, *password_file = NULL;
    bool check = false;
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'i': path = optarg; break;
        case 'c': check = true; break;
        case 'p': password_file = optarg; break;
        case 'h': fputs(help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_flag(CMD, argv);
        }
    }
    if (optind != argc)
        return cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
    if (path == NULL)
        return cli_usage(CMD, "show: --identity F is required");
    if (password_file != NULL && !check)
        return cli_usage(CMD, "show: --password-file is only used with --check");
    tkms_identity_file *file = NULL;
    char *password = NULL;
    tkms_identity identity;
    memset(&identity, 0, sizeof identity);
    tkms_err err;
    int rc = CLI_EXIT_OK;
    if (tkms_identity_file_read(&file, path, &err) != TKMS_OK) {
        rc = cli_fail(CMD, "%s", err.message);
        goto done;
    }
    if (check) {
        if ((rc = cli_password(CMD, password_file, true, &password)) != 0)
            goto done;
        tkms_status st = tkms_identity_file_decrypt(&identity, file, password, &err);
        if (st == TKMS_ERR_BAD_PASSWORD) {
            rc = cli_fail(CMD, "%s: wrong password (checksum does not match)", path);
            goto done;
        }
        if (st != TKMS_OK) {
            rc = cli_fail(CMD, "%s: %s", path, err.message);
            goto done;
        }
    }
    cli_print_hex(tkms_identity_file_public_key(file), TKMS_IDENTITY_PUBLIC_SIZE);
done:
    tkms_identity_wipe(&identity);
    cli_password_free(password);
    tkms_identity_file_free(file);
    return rc;
}

int cmd_identity(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(help, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "new") == 0)
        return identity_new(argc - 1, argv + 1);
    if (strcmp(argv[1], "show") == 0)
        return identity_show(argc - 1, argv + 1);
    return cli_usage(CMD, "unknown subcommand '%s' (new or show)", argv[1]);
}
