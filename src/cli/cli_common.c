/*
 * cli_common.c — helpers shared by the tkms subcommands (see cli.h):
 * error reporting, flag parsing, passwords, and loading keystores and
 * group files with clear errors.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tkms/ceremony_output.h"
#include "tkms/file.h"
#include "tkms/group_file.h"
#include "tkms/hex.h"
#include "tkms/secmem.h"

static void vreport(const char *cmd, const char *fmt, va_list ap)
{
    fprintf(stderr, "tkms %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(cmd, fmt, ap);
    va_end(ap);
    return CLI_EXIT_FAIL;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    /* One line, like every other error: scripts read the first line. */
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tkms %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'tkms %s --help')\n", cmd);
    return CLI_EXIT_USAGE;
}

int cli_bad_flag(const char *cmd, char **argv)
{
    extern int optind;
    const char *arg = argv[optind - 1];
    return cli_usage(cmd, "bad or incomplete option '%s'", arg ? arg : "");
}

int cli_parse_u32(const char *cmd, const char *flag, const char *text,
                  uint32_t min, uint32_t max, uint32_t *out)
{
    char *end;
    errno = 0;
    if (text[0] < '0' || text[0] > '9')
        return cli_usage(cmd, "%s must be a whole number, got '%s'", flag, text);
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return cli_usage(cmd, "%s must be a whole number in %u..%u, got '%s'", flag,
                         min, max, text);
    *out = (uint32_t)v;
    return CLI_EXIT_OK;
}

int cli_parse_hex(const char *cmd, const char *flag, const char *text,
                  size_t max, uint8_t **out, size_t *out_len)
{
    /* An empty argument is almost always an unset shell variable; the empty
     * byte string must be written as 0x. */
    if (text[0] == '\0') {
        *out = NULL;
        return cli_fail(cmd, "%s is empty (write 0x for zero bytes)", flag);
    }
    *out = malloc(max > 0 ? max : 1);
    if (*out == NULL)
        return cli_fail(cmd, "out of memory");
    tkms_err err;
    if (tkms_hex_decode_var(*out, max, out_len, text, &err) != TKMS_OK) {
        free(*out);
        *out = NULL;
        return cli_fail(cmd, "%s: %s", flag, err.message);
    }
    return CLI_EXIT_OK;
}

int cli_password(const char *cmd, const char *password_file, bool required,
                 char **out)
{
    *out = NULL;
    if (password_file != NULL) {
        char *text;
        size_t len;
        tkms_err err;
        if (tkms_file_read(password_file, TKMS_PASSWORD_MAX_SIZE, &text, &len, &err) != TKMS_OK)
            return cli_fail(cmd, "cannot read password file: %s", err.message);
        if (len > 0 && text[len - 1] == '\n') text[--len] = '\0';
        if (len > 0 && text[len - 1] == '\r') text[--len] = '\0';
        if (strlen(text) != len) {
            cli_password_free(text);
            return cli_fail(cmd, "password file %s contains a NUL byte", password_file);
        }
        *out = text;
        return CLI_EXIT_OK;
    }
    const char *env = getenv("TKMS_PASSWORD");
    if (env != NULL) {
        if (strlen(env) > TKMS_PASSWORD_MAX_SIZE)
            return cli_fail(cmd, "TKMS_PASSWORD is longer than %u bytes", TKMS_PASSWORD_MAX_SIZE);
        *out = strdup(env);
        return *out ? CLI_EXIT_OK : cli_fail(cmd, "out of memory");
    }
    if (required)
        return cli_usage(cmd, "no password: give --password-file F or set TKMS_PASSWORD");
    return CLI_EXIT_OK;
}

void cli_password_free(char *password)
{
    if (password != NULL) {
        tkms_wipe(password, strlen(password));
        free(password);
    }
}

int cli_load_keystore(const char *cmd, const char *path, tkms_keystore **out)
{
    char *text;
    size_t len;
    tkms_err err;
    if (tkms_file_read(path, TKMS_KEYSTORE_MAX_SIZE, &text, &len, &err) != TKMS_OK)
        return cli_fail(cmd, "cannot read keystore: %s", err.message);
    tkms_status st = tkms_keystore_parse(out, text, len, &err);
    free(text);
    if (st != TKMS_OK)
        return cli_fail(cmd, "%s: %s", path, err.message);
    return CLI_EXIT_OK;
}

int cli_decrypt_keystore(const char *cmd, const char *path,
                         const tkms_keystore *ks, const char *password,
                         tkms_secret_key *out)
{
    tkms_err err;
    tkms_status st = tkms_keystore_decrypt(ks, password, out, &err);
    if (st == TKMS_ERR_BAD_PASSWORD)
        return cli_fail(cmd, "%s: wrong password (keystore checksum does not match)", path);
    if (st != TKMS_OK)
        return cli_fail(cmd, "%s: %s", path, err.message);
    return CLI_EXIT_OK;
}

int cli_load_group(const char *cmd, const char *path, tkms_group_file *out)
{
    out->group = NULL;
    out->owners = NULL;
    char *text;
    size_t len;
    tkms_err err;
    if (tkms_file_read(path, TKMS_GROUP_FILE_MAX_SIZE, &text, &len, &err) != TKMS_OK)
        return cli_fail(cmd, "cannot read group file: %s", err.message);
    tkms_status st = tkms_group_file_parse(out, text, len, &err);
    free(text);
    if (st != TKMS_OK)
        return cli_fail(cmd, "%s: %s", path, err.message);
    return CLI_EXIT_OK;
}

int cli_kdf_params(const char *cmd, const char *kdf, const char *scrypt_n,
                   tkms_kdf_params *params)
{
    tkms_kdf_params_default(params);
    if (kdf != NULL) {
        if (strcmp(kdf, "scrypt") == 0)
            params->kdf = TKMS_KDF_SCRYPT;
        else if (strcmp(kdf, "pbkdf2") == 0)
            params->kdf = TKMS_KDF_PBKDF2;
        else
            return cli_usage(cmd, "--kdf must be scrypt or pbkdf2, got '%s'", kdf);
    }
    if (scrypt_n != NULL) {
        uint32_t n;
        int rc = cli_parse_u32(cmd, "--scrypt-n", scrypt_n, 2, TKMS_SCRYPT_MAX_N, &n);
        if (rc != 0)
            return rc;
        if ((n & (n - 1)) != 0)
            return cli_usage(cmd, "--scrypt-n must be a power of two, got %u", n);
        params->scrypt_n = n;
    }
    return CLI_EXIT_OK;
}

int cli_write_new_file(const char *cmd, const char *path, const char *text,
                       bool secret)
{
    size_t len = strlen(text);
    char *buf = malloc(len + 2);
    if (buf == NULL)
        return cli_fail(cmd, "out of memory");
    memcpy(buf, text, len);
    buf[len] = '\n';
    tkms_err err;
    tkms_status st = tkms_file_write_atomic(path, buf, len + 1, secret ? 0600 : 0644,
                                            true, &err);
    tkms_wipe(buf, len + 1);
    free(buf);
    if (st != TKMS_OK)
        return cli_fail(cmd, "%s", err.message);
    return CLI_EXIT_OK;
}

int cli_path(const char *cmd, char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(path, PATH_MAX, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= PATH_MAX)
        return cli_fail(cmd, "path too long (%.60s…)", path);
    return CLI_EXIT_OK;
}

int cli_write_share_keystore(const char *cmd, const char *path, const tkms_group *group,
                             const tkms_share *share, const char *owner,
                             const char *password, const tkms_kdf_params *params)
{
    tkms_err err;
    if (tkms_share_keystore_write(path, group, share, owner, password, params, &err) != TKMS_OK)
        return cli_fail(cmd, "%s", err.message);
    return CLI_EXIT_OK;
}

void cli_print_hex(const uint8_t *bytes, size_t len)
{
    char *hex = malloc(TKMS_HEX_SIZE(len));
    if (hex == NULL)
        return;
    tkms_hex_encode(hex, bytes, len);
    puts(hex);
    free(hex);
}
