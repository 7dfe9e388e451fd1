/*
 * cmd_ceremony.c — `tkms ceremony SUBCOMMAND`: dispatches to spec (write a
 * ceremony spec), init and step (the file ceremony, one party at a time)
 * simulate (every party in one process) and run (the relay of a ceremony
 * among threshold servers).
 */
#include <stdio.h>
#include <string.h>

#include "cli_ceremony.h"

static const char *const help =
    "usage: tkms ceremony spec --parties ID:0xIDENTITY[:SHARES],... --threshold K\n"
    "                          [--keys M] [--reshare-group F] --out SPEC.json\n"
    "       tkms ceremony init --spec SPEC.json --out-dir D\n"
    "       tkms ceremony step --dir D --party ID --identity F [--close-round]\n"
    "                          [--old-shares DIR]\n"
    "       tkms ceremony simulate --parties N --threshold K [--stakes FILE --shares N]\n"
    "                              [--keys M] [--malicious ID:KIND,...] --out-dir D [--json]\n"
    "       tkms ceremony run --spec SPEC.json --server ID=URL ... --ca CA.pem\n"
    "                         --cert CLIENT.pem --key CLIENT-key.pem [--abort | --commit]\n"
    "                         [--timeout-ms N] [--json]\n"
    "\n"
    "A key ceremony makes keys that no machine ever holds whole (distributed\n"
    "key generation), or moves a key's shares to new owners (reshare). See\n"
    "`tkms ceremony SUBCOMMAND --help`.\n";

int cmd_ceremony(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(help, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "spec") == 0)
        return cmd_ceremony_spec(argc - 1, argv + 1);
    if (strcmp(argv[1], "init") == 0)
        return cmd_ceremony_init(argc - 1, argv + 1);
    if (strcmp(argv[1], "step") == 0)
        return cmd_ceremony_step(argc - 1, argv + 1);
    if (strcmp(argv[1], "simulate") == 0)
        return cmd_ceremony_simulate(argc - 1, argv + 1);
    if (strcmp(argv[1], "run") == 0)
        return cmd_ceremony_run(argc - 1, argv + 1);
    return cli_usage("ceremony", "unknown subcommand '%s'", argv[1]);
}
