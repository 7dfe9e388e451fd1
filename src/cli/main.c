/*
 * main.c — the `tkms` command: dispatches `tkms COMMAND [--flags]` to the
 * command implementations in src/cli/cmd_*.c and prints the overview help.
 *
 * Exit codes (all commands): 0 ok, 1 failed or invalid, 2 usage error,
 * 3 refused by slashing protection.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "tkms/secmem.h"

static const cli_command commands[] = {
    {"keygen", "create a BLS key and write it as an EIP-2335 keystore", cmd_keygen},
    {"pubkey", "print the public key of a keystore", cmd_pubkey},
    {"allocate", "turn owners' stakes into share counts and a threshold", cmd_allocate},
    {"split", "split a keystore K-of-n into share keystores and a group file", cmd_split},
    {"sign", "sign a message with a keystore or a share keystore", cmd_sign},
    {"combine", "combine partial signatures into the group signature", cmd_combine},
    {"verify", "verify a signature, an aggregate or a fast aggregate", cmd_verify},
    {"identity", "make a party's identity key file (ceremony messages, sealed shares)", cmd_identity},
    {"ceremony", "distributed key generation and resharing (spec, run, init, step, simulate)", cmd_ceremony},
    {"slashing", "EIP-3076 slashing protection: import, export, check", cmd_slashing},
    {"audit", "check the hash-chained audit log", cmd_audit},
    {"certs", "create a CA and server and client certificates (mutual TLS)", cmd_certs},
    {"server", "run a threshold server (mutual TLS, its own slashing protection)", cmd_server},
    {"gateway", "run the Web3Signer-compatible gateway in front of the servers; unban, bans", cmd_gateway},
    {"cluster", "a local cluster on loopback in one command: servers, DKG, gateway (up, down)", cmd_cluster},
    {"bench", "measure threshold signing (and `bench dkg`) against plain blst sign", cmd_bench},
};

static void usage(FILE *out)
{
    fprintf(out,
            "tkms — threshold key management for BLS12-381 (Ethereum) keys\n"
            "\n"
            "usage: tkms COMMAND [--flags]     (tkms COMMAND --help for details)\n"
            "\n"
            "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\n"
            "Passwords are read from --password-file F or the TKMS_PASSWORD\n"
            "environment variable, never from an argument.\n"
            "Exit codes: 0 ok, 1 failed or invalid, 2 usage error,\n"
            "3 refused by slashing protection.\n");
}

int main(int argc, char **argv)
{
    tkms_secmem_harden_process();
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(name, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "tkms: unknown command '%s' (see tkms --help)\n", name);
    return CLI_EXIT_USAGE;
}
