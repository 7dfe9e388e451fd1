/*
 * cmd_gateway.c — `tkms gateway`: runs the gateway (gateway.h) until
 * SIGINT or SIGTERM, and its operator commands: `unban` lifts a lockout,
 * `bans` lists lockouts (with their evidence on request), `add-key` adds
 * a group file to a stopped gateway, `assign`, `migrate` and
 * `mark-unhealthy` move keys between validator clients (migration.h), at
 * a running gateway (--url) or a stopped one (--data-dir).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "gateway.h"
#include "key_registry.h"
#include "migration.h"
#include "tkms/banlist.h"
#include "tkms/file.h"
#include "tkms/hex.h"
#include "tkms/http_client.h"
#include "tkms/log.h"
#include "tkms/secmem.h"

#define CMD "gateway"

static const char *const ops_help =
    "\n"
    "Operator commands (they work on the gateway's ban list while it runs; a\n"
    "running gateway sees a change within a second):\n"
    "  tkms gateway bans  (--data-dir D | --db URL) [--history] [--evidence ID]\n"
    "        lists the servers locked out (JSON), or prints one ban's evidence:\n"
    "        the request and the server's signed response\n"
    "  tkms gateway unban SERVER (--data-dir D | --db URL) [--by NAME]\n"
    "        lets a locked-out server be asked again\n"
    "\n"
    "Keys and validator clients (every move is recorded in D/audit.log first):\n"
    "  tkms gateway add-key --data-dir D --group GROUP.json [--client NAME]\n"
    "        adds a key (its group file) to a stopped gateway\n"
    "  tkms gateway assign 0xKEY --to CLIENT CONNECTION [--reason TEXT]\n"
    "        gives the key to CLIENT: only CLIENT may sign with it from now on\n"
    "  tkms gateway migrate 0xKEY --to CLIENT CONNECTION [--reason TEXT]\n"
    "        the same, for a key that has a client: the old client gets 403\n"
    "  tkms gateway mark-unhealthy CLIENT --url URL --token-file F [--ca F]\n"
    "        moves every key of CLIENT to its standby (clients[].standby)\n"
    "  CONNECTION is either --url https://GATEWAY:PORT --token-file F [--ca F]\n"
    "  [--cert F --key F] — a running gateway; F holds keymanager.token_file's\n"
    "  token; --ca is the CA of the gateway's certificate, --cert/--key a client\n"
    "  certificate when its listener asks for one — or --data-dir D, a stopped\n"
    "  gateway's data directory (refused while a gateway runs on it).\n"
    "  A running gateway also moves keys by itself to a client's standby: after\n"
    "  migration.max_refusals slashing refusals within migration.window_seconds,\n"
    "  or after migration.silence_seconds without a sign request.\n";

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

/* What a key command does. */
typedef enum { KEYS_ADD, KEYS_ASSIGN, KEYS_MIGRATE, KEYS_MARK } keys_command;

static const char *const KEYS_ROUTES[] = {NULL, "assign", "migrate", "mark-unhealthy"};

/* A move at a running gateway: POST URL/tkms/v1/ROUTE with the operator's
 * token (migration.h); prints the answer. */
static int move_online(keys_command what, const char *url, const char *token_file,
                       const char *ca, const char *cert, const char *key_file,
                       const char *subject, const char *to, const char *reason)
{
    tkms_err err;
    char *token = NULL;
    size_t len = 0;
    if (tkms_file_read(token_file, 4096, &token, &len, &err) != TKMS_OK)
        return cli_fail(CMD, "%s", err.message);
    while (len > 0 && (token[len - 1] == '\n' || token[len - 1] == '\r'))
        token[--len] = '\0';
    tkms_http_client_options opt = {.ca_file = ca, .cert_file = cert, .key_file = key_file,
                                    .bearer_token = token};
    tkms_http_client *client = NULL;
    tkms_status st = tkms_http_client_new(&client, &opt, &err);
    tkms_wipe(token, len);
    free(token);
    if (st != TKMS_OK)
        return cli_fail(CMD, "%s", err.message);
    json_t *body = json_pack("{s:s, s:s}", what == KEYS_MARK ? "client" : "pubkey", subject,
                             "reason", reason != NULL ? reason : "");
    if (body != NULL && to != NULL)
        json_object_set_new(body, "to", json_string(to));
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    char target[4200];
    snprintf(target, sizeof target, "%s%s%s", url, GATEWAY_MIGRATION_PREFIX, KEYS_ROUTES[what]);
    tkms_http_response res = {0};
    st = text != NULL ? tkms_http_client_request(client, "POST", target, "application/json",
                                                 text, strlen(text), &res, &err)
                      : tkms_fail(&err, TKMS_ERR_NO_MEMORY, "out of memory");
    free(text);
    tkms_http_client_free(client);
    if (st != TKMS_OK)
        return cli_fail(CMD, "%s", err.message);
    int rc = CLI_EXIT_OK;
    if (res.status == 200) {
        puts(res.body);
    } else {
        json_t *doc = json_loads(res.body, 0, NULL);
        const char *why = json_string_value(json_object_get(doc, "error"));
        rc = cli_fail(CMD, "the gateway answered %ld: %.300s", res.status,
                      why != NULL ? why : res.body);
        json_decref(doc);
    }
    tkms_http_response_free(&res);
    return rc;
}

static int cmd_keys(int argc, char **argv, keys_command what)
{
    static const struct option options[] = {
        {"data-dir", required_argument, NULL, 'd'},   {"group", required_argument, NULL, 'g'},
        {"client", required_argument, NULL, 'c'},     {"to", required_argument, NULL, 't'},
        {"reason", required_argument, NULL, 'r'},     {"url", required_argument, NULL, 'u'},
        {"token-file", required_argument, NULL, 'T'}, {"ca", required_argument, NULL, 'A'},
        {"cert", required_argument, NULL, 'C'},       {"key", required_argument, NULL, 'K'},
        {"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0},
    };
    const char *data_dir = NULL, *group = NULL, *client = NULL, *reason = NULL, *url = NULL,
               *token_file = NULL, *ca = NULL, *cert = NULL, *key_file = NULL;
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'd': data_dir = optarg; break;
        case 'g': group = optarg; break;
        case 'c':
        case 't': client = optarg; break;
        case 'r': reason = optarg; break;
        case 'u': url = optarg; break;
        case 'T': token_file = optarg; break;
        case 'A': ca = optarg; break;
        case 'C': cert = optarg; break;
        case 'K': key_file = optarg; break;
        case 'h': fputs(ops_help + 1, stdout); return CLI_EXIT_OK;
        default: return cli_bad_flag(CMD, argv);
        }
    }
    bool moves = what != KEYS_ADD;
    if (what == KEYS_ADD && (data_dir == NULL || optind != argc || group == NULL))
        return cli_usage(CMD, "usage: tkms gateway add-key --data-dir D --group GROUP.json");
    if (what == KEYS_MARK && (optind != argc - 1 || url == NULL || token_file == NULL))
        return cli_usage(CMD, "usage: tkms gateway mark-unhealthy CLIENT --url URL "
                              "--token-file F [--ca F] [--reason TEXT]");
    if ((what == KEYS_ASSIGN || what == KEYS_MIGRATE) &&
        (optind != argc - 1 || client == NULL || (data_dir == NULL) == (url == NULL)))
        return cli_usage(CMD, "usage: tkms gateway %s 0xKEY --to CLIENT (--data-dir D | --url "
                              "URL --token-file F [--ca F]) [--reason TEXT]",
                         KEYS_ROUTES[what]);
    if (url != NULL && token_file == NULL)
        return cli_usage(CMD, "--url needs --token-file (the keymanager's token)");
    if (url != NULL)
        return move_online(what, url, token_file, ca, cert, key_file, argv[optind], client,
                           reason);
    tkms_err err;
    if (mkdir(data_dir, 0700) != 0 && errno != EEXIST)
        return cli_fail(CMD, "cannot create %s: %s", data_dir, strerror(errno));
    tkms_status st;
    if (moves) {
        uint8_t key[TKMS_PUBLIC_KEY_SIZE];
        char from[GATEWAY_CLIENT_NAME_MAX + 1] = "";
        st = tkms_hex_decode(key, sizeof key, argv[optind], &err);
        if (st == TKMS_OK)
            st = gateway_migration_offline(data_dir, key, client, what == KEYS_MIGRATE, reason,
                                           from, &err);
        if (st == TKMS_OK)
            printf("%s: %s -> %s\n", argv[optind], from[0] ? from : "(none)", client);
    } else {
        gateway_registry *r = NULL;
        st = gateway_registry_open(&r, data_dir, NULL, 0, NULL, &err);
        char *json = NULL;
        size_t len = 0;
        if (st == TKMS_OK)
            st = tkms_file_read(group, TKMS_GROUP_FILE_MAX_SIZE, &json, &len, &err);
        if (st == TKMS_OK)
            st = gateway_registry_add(r, json, len, client, &err);
        free(json);
        gateway_registry_free(r);
    }
    if (st != TKMS_OK)
        return cli_fail(CMD, "%s", err.message);
    return CLI_EXIT_OK;
}

int cmd_gateway(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "add-key") == 0)
        return cmd_keys(argc - 1, argv + 1, KEYS_ADD);
    if (argc > 1 && strcmp(argv[1], "assign") == 0)
        return cmd_keys(argc - 1, argv + 1, KEYS_ASSIGN);
    if (argc > 1 && strcmp(argv[1], "migrate") == 0)
        return cmd_keys(argc - 1, argv + 1, KEYS_MIGRATE);
    if (argc > 1 && strcmp(argv[1], "mark-unhealthy") == 0)
        return cmd_keys(argc - 1, argv + 1, KEYS_MARK);
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
