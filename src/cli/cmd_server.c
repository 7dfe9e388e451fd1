/*
 * cmd_server.c — `tkms server`: runs a threshold server until SIGINT or
 * SIGTERM. The configuration (server_config.h) comes from a YAML file,
 * TKMS_* environment variables and flags; the daemon is server.h.
 * TKMS_FAULT_INJECTION turns a real server into a faulty one for tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "reply_delay.h"
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
    "  GET    /health                 any authenticated client\n"
    "\n"
    "Fault injection, FOR TESTS AND DEMONSTRATIONS ONLY (never in production; the\n"
    "log says so loudly at start): TKMS_FAULT_INJECTION=MODE[,MODE]\n"
    "  invalid-partial   every partial signature returned is invalid (a lying\n"
    "                    server: the gateway must lock it out)\n"
    "  delay-ms=N        every sign answer is held N ms (1..600000) after it is\n"
    "                    finished, then sent (a slow server; the workers go on)\n";

typedef struct {
    bool invalid_partial;
    uint32_t delay_ms;          /* 0: none */
} fault_modes;

/* Parses TKMS_FAULT_INJECTION (NULL or "": nothing injected). */
static int parse_faults(const char *text, fault_modes *out)
{
    *out = (fault_modes){0};
    if (text == NULL || text[0] == '\0')
        return CLI_EXIT_OK;
    char modes[256];
    if (strlen(text) >= sizeof modes)
        return cli_usage(CMD, "TKMS_FAULT_INJECTION is too long");
    snprintf(modes, sizeof modes, "%s", text);
    char *save = NULL;
    for (char *m = strtok_r(modes, ",", &save); m != NULL; m = strtok_r(NULL, ",", &save)) {
        if (strcmp(m, "invalid-partial") == 0) {
            out->invalid_partial = true;
        } else if (strncmp(m, "delay-ms=", 9) == 0) {
            if (cli_parse_u32(CMD, "TKMS_FAULT_INJECTION delay-ms", m + 9, 1,
                              REPLY_DELAY_MAX_MS, &out->delay_ms))
                return CLI_EXIT_USAGE;
        } else {
            return cli_usage(CMD,
                             "TKMS_FAULT_INJECTION: unknown mode '%.64s' (invalid-partial, "
                             "delay-ms=N)",
                             m);
        }
    }
    return CLI_EXIT_OK;
}

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
    fault_modes faults;
    if (parse_faults(getenv("TKMS_FAULT_INJECTION"), &faults) != CLI_EXIT_OK) {
        server_config_free(&cfg);
        return CLI_EXIT_USAGE;
    }

    char *password = NULL;
    int rc = cli_password(CMD, cfg.password_file, true, &password);
    if (rc != CLI_EXIT_OK) {
        server_config_free(&cfg);
        return rc;
    }
    tkms_server *server = NULL;
    st = tkms_server_open(&server, &cfg, password, &err);
    cli_password_free(password);
    if (st == TKMS_OK && faults.invalid_partial)
        tkms_server_inject_invalid_partials(server);
    if (st == TKMS_OK && faults.delay_ms > 0)
        st = tkms_server_inject_delay(server, faults.delay_ms, &err);
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
