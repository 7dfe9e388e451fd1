/*
 * cmd_verify.c — `tkms verify`: one signature against one key, against
 * several keys on one message (FastAggregateVerify), or against several
 * (key, message) pairs (AggregateVerify).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "tkms/hex.h"

static const char *const help =
    "usage: tkms verify --pubkey 0x… [--pubkey 0x…]... --message 0x…\n"
    "                   [--message 0x…]... --signature 0x…\n"
    "\n"
    "Verifies a BLS signature (Ethereum ciphersuite) and prints `valid` or\n"
    "`invalid`. Exit 0 when valid, 1 when invalid or on malformed input.\n"
    "  one --pubkey, one --message        Verify\n"
    "  several --pubkey, one --message    FastAggregateVerify\n"
    "  several --pubkey/--message pairs   AggregateVerify (i-th key signs\n"
    "                                     the i-th message)\n"
    "Public keys must be valid (on the curve, in the subgroup, not the\n"
    "identity); the signature must be in the subgroup.\n";

#define MAX_SIGNERS TKMS_MAX_SHARES

int cmd_verify(int argc, char **argv)
{
    static const struct option options[] = {
        {"pubkey", required_argument, NULL, 'k'},
        {"message", required_argument, NULL, 'm'},
        {"signature", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char **pk_args = calloc(MAX_SIGNERS, sizeof *pk_args);
    const char **msg_args = calloc(MAX_SIGNERS, sizeof *msg_args);
    tkms_public_key *pks = calloc(MAX_SIGNERS, sizeof *pks);
    uint8_t **msgs = calloc(MAX_SIGNERS, sizeof *msgs);
    size_t *msg_lens = calloc(MAX_SIGNERS, sizeof *msg_lens);
    size_t npk = 0, nmsg = 0;
    const char *sig_arg = NULL;
    int rc = CLI_EXIT_OK, opt;
    if (!pk_args || !msg_args || !pks || !msgs || !msg_lens) {
        rc = cli_fail("verify", "out of memory");
        goto done;
    }
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'k':
            if (npk == MAX_SIGNERS) { rc = cli_usage("verify", "too many --pubkey"); goto done; }
            pk_args[npk++] = optarg;
            break;
        case 'm':
            if (nmsg == MAX_SIGNERS) { rc = cli_usage("verify", "too many --message"); goto done; }
            msg_args[nmsg++] = optarg;
            break;
        case 's': sig_arg = optarg; break;
        case 'h': fputs(help, stdout); goto done;
        default: rc = cli_bad_flag("verify", argv); goto done;
        }
    }
    if (optind != argc) {
        rc = cli_usage("verify", "unexpected argument '%s'", argv[optind]);
        goto done;
    }
    if (npk == 0 || nmsg == 0 || sig_arg == NULL) {
        rc = cli_usage("verify", "--pubkey, --message and --signature are required");
        goto done;
    }
    if (nmsg != 1 && nmsg != npk) {
        rc = cli_usage("verify", "give one --message, or one per --pubkey (%zu keys, %zu messages)",
                       npk, nmsg);
        goto done;
    }
    tkms_err err;
    for (size_t i = 0; i < npk; i++) {
        uint8_t bytes[TKMS_PUBLIC_KEY_SIZE];
        if (tkms_hex_decode(bytes, sizeof bytes, pk_args[i], &err) != TKMS_OK) {
            rc = cli_fail("verify", "--pubkey #%zu: %s", i + 1, err.message);
            goto done;
        }
        tkms_status st = tkms_public_key_from_bytes(&pks[i], bytes);
        if (st != TKMS_OK) {
            rc = cli_fail("verify", "--pubkey #%zu is not a valid public key: %s", i + 1,
                          tkms_status_string(st));
            goto done;
        }
    }
    for (size_t i = 0; i < nmsg; i++)
        if ((rc = cli_parse_hex("verify", "--message", msg_args[i], CLI_MESSAGE_MAX_SIZE,
                                &msgs[i], &msg_lens[i])) != 0)
            goto done;
    uint8_t sig_bytes[TKMS_SIGNATURE_SIZE];
    tkms_signature sig;
    if (tkms_hex_decode(sig_bytes, sizeof sig_bytes, sig_arg, &err) != TKMS_OK) {
        rc = cli_fail("verify", "--signature: %s", err.message);
        goto done;
    }
    tkms_status st = tkms_signature_from_bytes(&sig, sig_bytes);
    if (st != TKMS_OK) {
        rc = cli_fail("verify", "--signature is not a valid G2 point: %s", tkms_status_string(st));
        goto done;
    }
    bool valid;
    if (npk == 1)
        valid = tkms_verify(&pks[0], msgs[0], msg_lens[0], &sig);
    else if (nmsg == 1)
        valid = tkms_fast_aggregate_verify(pks, npk, msgs[0], msg_lens[0], &sig);
    else
        valid = tkms_aggregate_verify(pks, (const uint8_t *const *)msgs, msg_lens, npk, &sig);
    puts(valid ? "valid" : "invalid");
    rc = valid ? CLI_EXIT_OK : CLI_EXIT_FAIL;
done:
    for (size_t i = 0; msgs != NULL && i < nmsg; i++)
        free(msgs[i]);
    free(pk_args);
    free(msg_args);
    free(pks);
    free(msgs);
    free(msg_lens);
    return rc;
}
