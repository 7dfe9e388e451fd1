/*
 * cmd_server.c — `tkms server`: runs a threshold server until SIGINT or
 * SIGTERM. The configuration (server_config.h) comes from a YAML file,
 * TKMS_* environment variables and flags; the daemon is server.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "server.h"
#include "tkms/log.h"

#define CMD "server"

static const char *const more_help =
    "\n"
    "Data directory (created 0700; refused when others may read it):\n"
    "  identity.json       the server's Ed25519 identity (made at first start,\n"
    "                      encrypted with the password); signs every response\n"
    "  keys/0x<KEY>/       share-<i>.json keystores, `locked` when locked\n"
    "  slashing.sqlite     slashing protection, bound to genesis_validators_root\n"
    "  audit.log           hash-chained audit log (tkms audit verify --log F)\n"
    "  ceremonies/         network ceremonies (tkms ceremony run)\n"
    "\n"
    "API (HTTPS, mutual TLS 1.3 only; errors are {\"error\": \"reason\"}):\n"
    "  POST   /v1/eth2/sign/0xKEY     sign (Web3Signer body) -> partials of every\n"
    "                                 share held, signed with the identity key;\n"
    "                                 400 bad request, 403 denied, 404 unknown key,\n"
    "                                 412 slashable, 423 locked, 503 unavailable\n"
    "  GET    /v1/keys                admin: list keys and their state\n"
    "  POST   /v1/keys                admin: import {\"keystores\", \"passwords\",\n"
    "                                 \"slashing_protection\"}\n"
    "  DELETE /v1/keys/0xKEY          admin: delete, returns its EIP-3076 history\n"
    "  POST   /v1/keys/0xKEY/lock     admin (and /unlock)\n"
    "  POST   /v1/ceremony[/0xID/round|commit|abort]   ceremony\n"
    "  GET    /metrics                metrics (Prometheus text)\n"
    "  GET    /health                 any authenticated client\n";

int cmd_server(int argc, char **argv)
{
    /* argv[0] is "server"; the rest are the daemon's flags. */
    if (server_config_wants_help(argc - 1, argv + 1)) {
        fputs(server_config_help(), stdout);
        fputs(more_help, stdout);
        return CLI_EXIT_OK;
    }
    server_config cfg;
    tkms_err err;
    tkms_status st = server_config_load(&cfg, NULL, NULL, argc - 1, argv + 1, &err);
    if (st != TKMS_OK) {
        server_config_free(&cfg);
        if (st == TKMS_ERR_INVALID_ARGUMENT)
            return cli_usage(CMD, "%s", err.message);
        return cli_fail(CMD, "%s", err.message);
    }
    tkms_log_set_level((tkms_log_level)cfg.log_level);

    char *password = NULL;
    int rc = cli_password(CMD, cfg.password_file, true, &password);
    if (rc != CLI_EXIT_OK) {
        server_config_free(&cfg);
        return rc;
    }
    tkms_server *server = NULL;
    st = tkms_server_open(&server, &cfg, password, &err);
    cli_password_free(password);
    const char *fault = getenv("TKMS_FAULT_INJECTION");
    if (st == TKMS_OK && fault != NULL && strcmp(fault, "invalid-partial") == 0)
        tkms_server_inject_invalid_partials(server);
    if (st == TKMS_OK)
        st = tkms_server_run(server, &err);
    tkms_server_free(server);
    server_config_free(&cfg);
    if (st != TKMS_OK) {
        char quoted[512];
        tkms_log(TKMS_LOG_ERROR, "server stopped", "reason=%s",
                 tkms_log_quote(quoted, sizeof quoted, err.message));
        return cli_fail(CMD, "%s", err.message);
    }
    return CLI_EXIT_OK;
}
