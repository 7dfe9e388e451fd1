/*
 * cmd_keygen.c — `tkms keygen`: a new BLS key (EIP-2333 derive_master_SK
 * from 32 random bytes, or from --ikm) written as an EIP-2335 keystore; or,
 * with --secret-file, an existing secret key (an import) written the same
 * way.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "tkms/file.h"
#include "tkms/hex.h"
#include "tkms/keyderive.h"
#include "tkms/secmem.h"

/* A secret file: 64 hex digits, an optional 0x, an optional line end and
 * some slack for blanks; anything longer is refused before it is read. */
#define SECRET_FILE_MAX_SIZE 256u

static const char *const help =
    "usage: tkms keygen --out KEYSTORE [--ikm 0xHEX | --secret-file F]\n"
    "                   [--password-file F] [--kdf scrypt|pbkdf2] [--scrypt-n N]\n"
    "\n"
    "Creates a BLS12-381 secret key and writes it, encrypted, as an EIP-2335\n"
    "keystore at KEYSTORE (mode 0600; an existing file is never overwritten).\n"
    "Prints the public key (0x…, 48 bytes) on stdout.\n"
    "\n"
    "  --out KEYSTORE      where to write the keystore\n"
    "  --ikm 0xHEX         input key material (at least 32 bytes) for EIP-2333\n"
    "                      derive_master_SK; default: 32 bytes from the OS RNG.\n"
    "                      For reproducible tests: an argument is visible to\n"
    "                      other local users, so never pass a real seed here.\n"
    "  --secret-file F     import an existing secret key instead of making one:\n"
    "                      F holds it as 32 bytes of big-endian hex (64 digits,\n"
    "                      0x optional, one line); it must be nonzero and below\n"
    "                      the group order r. The key is written as it is (no\n"
    "                      derivation; the keystore's path is \"\"). A file, never\n"
    "                      an argument, so that ps does not show it; keep it\n"
    "                      mode 0600 and delete it once the keystore is written.\n"
    "  --password-file F   keystore password (else $TKMS_PASSWORD)\n"
    "  --kdf scrypt|pbkdf2 key derivation function (default scrypt)\n"
    "  --scrypt-n N        scrypt cost, a power of two (default 262144;\n"
    "                      lower only for tests)\n";

/* Reads --secret-file: one line of 64 hex digits (0x optional), a
 * big-endian scalar, nonzero and below r. Errors never show the contents. */
static int read_secret_file(const char *path, tkms_secret_key *sk)
{
    char *text = NULL;
    size_t len = 0;
    tkms_err err;
    tkms_status st = tkms_file_read(path, SECRET_FILE_MAX_SIZE, &text, &len, &err);
    if (st == TKMS_ERR_BAD_FORMAT)
        return cli_fail("keygen", "--secret-file %s: too large (a secret key is one line of "
                        "64 hex digits)", path);
    if (st != TKMS_OK)
        return cli_fail("keygen", "cannot read --secret-file: %s", err.message);
    /* One line: trailing blanks and one line end are dropped; no other
     * whitespace is allowed (leading blanks, inner line breaks). */
    size_t end = len;
    while (end > 0 && (text[end - 1] == ' ' || text[end - 1] == '\t'))
        end--;
    if (end > 0 && text[end - 1] == '\n')
        end--;
    if (end > 0 && text[end - 1] == '\r')
        end--;
    while (end > 0 && (text[end - 1] == ' ' || text[end - 1] == '\t'))
        end--;
    text[end] = '\0';
    int rc = CLI_EXIT_OK;
    uint8_t bytes[TKMS_SECRET_KEY_SIZE];
    if (end == 0) {
        rc = cli_fail("keygen", "--secret-file %s is empty (expected 64 hex digits)", path);
    } else if (strlen(text) != end || strpbrk(text, " \t\r\n") != NULL) {
        rc = cli_fail("keygen", "--secret-file %s: expected one line of 64 hex digits "
                      "(0x optional), found more", path);
    } else if (tkms_hex_decode(bytes, sizeof bytes, text, &err) != TKMS_OK) {
        rc = cli_fail("keygen", "--secret-file %s: %s (a secret key is 32 bytes: 64 hex "
                      "digits, 0x optional)", path, err.message);
    } else if (tkms_secret_key_from_bytes(sk, bytes) != TKMS_OK) {
        bool zero = true;
        for (size_t i = 0; i < sizeof bytes; i++)
            zero = zero && bytes[i] == 0;
        rc = cli_fail("keygen", "--secret-file %s: %s", path,
                      zero ? "the secret key is zero"
                           : "the secret key is not below the group order r "
                             "(0x73eda753…00000001)");
    }
    tkms_wipe(bytes, sizeof bytes);
    tkms_wipe(text, len);
    free(text);
    return rc;
}

int cmd_keygen(int argc, char **argv)
{
    static const struct option options[] = {
        {"out", required_argument, NULL, 'o'},
        {"ikm", required_argument, NULL, 'i'},
        {"secret-file", required_argument, NULL, 's'},
        {"password-file", required_argument, NULL, 'p'},
        {"kdf", required_argument, NULL, 'k'},
        {"scrypt-n", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out = NULL, *ikm_hex = NULL, *secret_file = NULL, *password_file = NULL,
               *kdf = NULL, *scrypt_n = NULL;
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'o': out = optarg; break;
        case 'i': ikm_hex = optarg; break;
        case 's': secret_file = optarg; break;
        case 'p': password_file = optarg; break;
        case 'k': kdf = optarg; break;
        case 'n': scrypt_n = optarg; break;
        case 'h': fputs(help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_flag("keygen", argv);
        }
    }
    if (optind != argc)
        return cli_usage("keygen", "unexpected argument '%s'", argv[optind]);
    if (out == NULL)
        return cli_usage("keygen", "--out KEYSTORE is required");
    if (ikm_hex != NULL && secret_file != NULL)
        return cli_usage("keygen", "give --ikm or --secret-file, not both");

    tkms_kdf_params params;
    int rc = cli_kdf_params("keygen", kdf, scrypt_n, &params);
    if (rc != 0)
        return rc;
    /* fail before the (slow) KDF; the exclusive write below still guards
     * against a file that appears meanwhile */
    if (access(out, F_OK) == 0)
        return cli_fail("keygen", "%s: already exists, not overwriting", out);
    char *password = NULL;
    uint8_t *ikm = NULL;
    size_t ikm_len = 0;
    char *json = NULL;
    tkms_secret_key sk;
    tkms_wipe(&sk, sizeof sk);
    /* The secret first: a bad file fails before a password is asked for. */
    if (secret_file != NULL && (rc = read_secret_file(secret_file, &sk)) != 0)
        goto done;
    if ((rc = cli_password("keygen", password_file, true, &password)) != 0)
        goto done;
    if (secret_file != NULL) {
        /* imported as it is */
    } else if (ikm_hex != NULL) {
        if ((rc = cli_parse_hex("keygen", "--ikm", ikm_hex, 4096, &ikm, &ikm_len)) != 0)
            goto done;
        if (ikm_len < TKMS_IKM_MIN_SIZE) {
            rc = cli_fail("keygen", "--ikm must be at least %d bytes, got %zu",
                          TKMS_IKM_MIN_SIZE, ikm_len);
            goto done;
        }
    } else {
        ikm_len = 32;
        ikm = malloc(ikm_len);
        if (ikm == NULL || tkms_rng_fill(tkms_rng_system(), ikm, ikm_len) != TKMS_OK) {
            rc = cli_fail("keygen", "cannot get randomness from the OS");
            goto done;
        }
    }
    if (secret_file == NULL && tkms_derive_master_key(&sk, ikm, ikm_len) != TKMS_OK) {
        rc = cli_fail("keygen", "key derivation failed");
        goto done;
    }
    tkms_err err;
    if (tkms_keystore_encrypt(&json, &sk, password, &params, NULL,
                              secret_file != NULL ? "" : "m", tkms_rng_system(),
                              &err) != TKMS_OK) {
        rc = cli_fail("keygen", "%s", err.message);
        goto done;
    }
    if ((rc = cli_write_new_file("keygen", out, json, true)) != 0)
        goto done;
    tkms_public_key pk;
    uint8_t pk_bytes[TKMS_PUBLIC_KEY_SIZE];
    tkms_public_key_from_secret(&pk, &sk);
    tkms_public_key_to_bytes(pk_bytes, &pk);
    cli_print_hex(pk_bytes, sizeof pk_bytes);
done:
    tkms_secret_key_wipe(&sk);
    if (ikm != NULL) {
        tkms_wipe(ikm, ikm_len);
        free(ikm);
    }
    free(json);
    cli_password_free(password);
    return rc;
}
