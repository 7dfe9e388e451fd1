/*
 * cmd_gateway.c — `tkms gateway`: runs the gateway (gateway.h) until
 * SIGINT or SIGTERM, and its operator commands: `unban` lifts a lockout,
 * `bans` lists lockouts (with their evidence on request).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "gateway.h"
#include "key_registry.h"
#include "tkms/banlist.h"
#include "tkms/file.h"
#include "tkms/hex.h"
#include "tkms/log.h"

#define CMD "gateway"

static const char *const ops_help =
    "\n"
    "Operator commands (they work on the gateway's ban list while it runs; a\n"
    "running gateway sees a change within a second):\n"
    "  tkms gateway bans  (--data-dir D | --db URL) [--history] [--evidence ID]\n"
    "        lists the servers locked out (JSON), or prints one ban's evidence:\n"
    "        the request and the server's signed response\n"
    "  tkms gateway unban SERVER (--data-dir D | --db URL) [--by NAME]\n"
    "        lets a locked-out server be asked again\n";

/* Opens the ban list of --data-dir D or --db URL. */
static int open_bans(const char *data_dir, const char *db, tkms_banlist **out)
{
    if ((data_dir == NULL) == (db == NULL))
        return cli_usage(CMD, "give exactly one of --data-dir and --db");
    char path[4096];
    if (db == NULL)
        snprintf(path, sizeof path, "%s/%s", data_dir, GATEWAY_BANS_FILE);
    tkms_err err;
    if (tkms_banlist_open(out, db != NULL ? db : path, &err) != TKMS_OK)
        return cli_fail(CMD, "%s", err.message);
    return CLI_EXIT_OK;
}

static int cmd_bans(int argc, char **argv, bool unban)
{
    static const struct option options[] = {
        {"data-dir", required_argument, NULL, 'd'}, {"db", required_argument, NULL, 'b'},
        {"history", no_argument, NULL, 'H'},        {"evidence", required_argument, NULL, 'e'},
        {"by", required_argument, NULL, 'y'},       {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *data_dir = NULL, *db = NULL, *by = "operator";
    bool history = false;
    long long evidence = -1;
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'd': data_dir = optarg; break;
        case 'b': db = optarg; break;
        case 'H': history = true; break;
        case 'e': evidence = atoll(optarg); break;
        case 'y': by = optarg; break;
        case 'h': fputs(ops_help + 1, stdout); return CLI_EXIT_OK;
        default: return cli_bad_flag(CMD, argv);
        }
    }
    if (unban && optind != argc - 1)
        return cli_usage(CMD, "unban needs exactly one SERVER");
    if (!unban && optind != argc)
        return cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
    tkms_banlist *bans = NULL;
    int rc = open_bans(data_dir, db, &bans);
    if (rc != CLI_EXIT_OK)
        return rc;
    tkms_err err;
    char *text = NULL;
    size_t len = 0, lifted = 0;
    tkms_status st;
    if (unban)
        st = tkms_banlist_unban(bans, argv[optind], NULL, by, (int64_t)time(NULL), &lifted, &err);
    else if (evidence >= 0)
        st = tkms_banlist_evidence(bans, evidence, &text, &len, &err);
    else
        st = tkms_banlist_list(bans, history, &text, &err);
    tkms_banlist_close(bans);
    if (st != TKMS_OK) {
        free(text);
        return cli_fail(CMD, "%s", err.message);
    }
    if (unban)
        printf("unbanned %s (%zu ban%s lifted)\n", argv[optind], lifted, lifted == 1 ? "" : "s");
    else
        puts(text);
    free(text);
    return CLI_EXIT_OK;
}

static int cmd_keys(int argc, char **argv, bool assign)
{
    static const struct option options[] = {
        {"data-dir", required_argument, NULL, 'd'}, {"group", required_argument, NULL, 'g'},
        {"client", required_argument, NULL, 'c'},   {"to", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    const char *data_dir = NULL, *group = NULL, *client = NULL;
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'd': data_dir = optarg; break;
        case 'g': group = optarg; break;
        case 'c':
        case 't': client = optarg; break;
        case 'h': fputs(ops_help + 1, stdout); return CLI_EXIT_OK;
        default: return cli_bad_flag(CMD, argv);
        }
    }
    if (data_dir == NULL)
        return cli_usage(CMD, "--data-dir is required");
    if (assign && (optind != argc - 1 || client == NULL))
        return cli_usage(CMD, "usage: tkms gateway assign 0xKEY --to NAME --data-dir D");
    if (!assign && (optind != argc || group == NULL))
        return cli_usage(CMD, "usage: tkms gateway add-key --data-dir D --group GROUP.json");
    tkms_err err;
    gateway_registry *r = NULL;
    if (mkdir(data_dir, 0700) != 0 && errno != EEXIST)
        return cli_fail(CMD, "cannot create %s: %s", data_dir, strerror(errno));
    if (gateway_registry_open(&r, data_dir, NULL, 0, NULL, &err) != TKMS_OK)
        return cli_fail(CMD, "%s", err.message);
    tkms_status st;
    uint8_t key[TKMS_PUBLIC_KEY_SIZE];
    if (assign) {
        st = tkms_hex_decode(key, sizeof key, argv[optind], &err);
        if (st == TKMS_OK)
            st = gateway_registry_assign(r, key, client, &err);
    } else {
        char *json = NULL;
        size_t len = 0;
        st = tkms_file_read(group, TKMS_GROUP_FILE_MAX_SIZE, &json, &len, &err);
        if (st == TKMS_OK)
            st = gateway_registry_add(r, json, len, client, &err);
        free(json);
    }
    gateway_registry_free(r);
    if (st != TKMS_OK)
        return cli_fail(CMD, "%s", err.message);
    return CLI_EXIT_OK;
}

int cmd_gateway(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "add-key") == 0)
        return cmd_keys(argc - 1, argv + 1, false);
    if (argc > 1 && strcmp(argv[1], "assign") == 0)
        return cmd_keys(argc - 1, argv + 1, true);
    if (argc > 1 && strcmp(argv[1], "unban") == 0)
        return cmd_bans(argc - 1, argv + 1, true);
    if (argc > 1 && strcmp(argv[1], "bans") == 0)
        return cmd_bans(argc - 1, argv + 1, false);
    if (gateway_config_wants_help(argc - 1, argv + 1)) {
        fputs(gateway_config_help(), stdout);
        fputs(ops_help, stdout);
        return CLI_EXIT_OK;
    }
    gateway_config cfg;
    tkms_err err;
    tkms_status st = gateway_config_load(&cfg, NULL, NULL, argc - 1, argv + 1, &err);
    if (st != TKMS_OK) {
        gateway_config_free(&cfg);
        if (st == TKMS_ERR_INVALID_ARGUMENT)
            return cli_usage(CMD, "%s", err.message);
        return cli_fail(CMD, "%s", err.message);
    }
    tkms_log_set_level(cfg.log_level);
    tkms_gateway *g = NULL;
    st = tkms_gateway_open(&g, &cfg, &err);
    if (st == TKMS_OK)
        st = tkms_gateway_run(g, &err);
    tkms_gateway_free(g);
    gateway_config_free(&cfg);
    if (st != TKMS_OK) {
        char quoted[512];
        tkms_log(TKMS_LOG_ERROR, "gateway stopped", "reason=%s",
                 tkms_log_quote(quoted, sizeof quoted, err.message));
        return cli_fail(CMD, "%s", err.message);
    }
    return CLI_EXIT_OK;
}
