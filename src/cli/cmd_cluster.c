/*
 * cmd_cluster.c — `tkms cluster up|down`: a whole local cluster on
 * loopback in one command, for tests, demos and trying tkms out:
 * certificates, N threshold servers, a DKG of M keys among them, and a
 * gateway serving the keys to one validator client. Everything lives in
 * one directory; `down` stops what `up` started; `restart-gateway` starts
 * the gateway again (it reads its keys at start: after `tkms gateway
 * add-key`).
 *
 *   D/password                  the data directories' password (0600)
 *   D/pki/                      CA; server certs s1..sN and gateway;
 *                               client certs gateway-client (the gateway
 *                               to the servers), operator (ceremonies),
 *                               client (the validator client)
 *   D/sI/server.yaml, data/, log   server I (owner id sI)
 *   D/gateway/gateway.yaml, data/, log
 *   D/dkg.json                  the ceremony spec (absent with --keys 0)
 *   D/cluster.json              what a client needs, and the processes
 *
 * The processes are this same binary (`tkms server`, `tkms gateway`),
 * started in their own session so they outlive this command.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "cli.h"
#include "key_registry.h"
#include "tkms/certs.h"
#include "tkms/file.h"
#include "tkms/hex.h"
#include "tkms/http_client.h"

#define CMD "cluster"
#define MAX_SERVERS 64u
#define PATH_SIZE 4096
/* Ethereum mainnet's genesis validators root: the default chain. */
#define MAINNET_GVR "0x4b363db94e286120d76eb905340fdd4e54bfe9f06bf33ff6cf5ad27f511bfe95"

extern char **environ;

static const char *const help =
    "usage: tkms cluster up --dir D --servers N --threshold K [--keys M] [--json]\n"
    "                       [--network mainnet|minimal] [--genesis-validators-root R]\n"
    "                       [--genesis-fork-version V] [--client-listen PORT]\n"
    "                       [--scrypt-n N]\n"
    "       tkms cluster down --dir D\n"
    "       tkms cluster restart-gateway --dir D [--json]\n"
    "\n"
    "up: a local cluster on 127.0.0.1 in directory D (new or empty): a CA and\n"
    "certificates, N threshold servers (s1..sN, one share each), a DKG of M keys\n"
    "(default 1), K of N needed to sign, run by `tkms ceremony run` (--keys 0: no\n"
    "DKG; the servers and the gateway start without keys), and a gateway\n"
    "serving every key to one validator client named \"client\" (its certificate\n"
    "is D/pki/client.pem; with --client-listen PORT the keys go instead to the\n"
    "client \"client-http\", a plain-HTTP listener on 127.0.0.1:PORT, for clients\n"
    "that present no certificate).\n"
    "Prints what a client needs; with --json:\n"
    "  {\"gateway\": URL, \"ca\": FILE, \"client_cert\": FILE, \"client_key\": FILE,\n"
    "   \"keys\": [\"0x…\"], \"servers\": [{\"url\": URL, \"pid\": PID}, …],\n"
    "   \"gateway_pid\": PID, \"client_listen\": URL or null}\n"
    "The same object is kept in D/cluster.json (servers in order s1..sN).\n"
    "Defaults: --network mainnet (minimal: the minimal preset, 8 slots per epoch,\n"
    "genesis fork version 0x00000001), mainnet's genesis validators root (give\n"
    "the chain's with --genesis-validators-root), keystores with scrypt n = 2^18\n"
    "(--scrypt-n 1024 for tests).\n"
    "Keys made elsewhere (tkms split --allocation with owners s1..sN) are added\n"
    "by importing each owner's shares into its server (POST /v1/keys with the\n"
    "operator certificate, D/pki/operator.pem), then `tkms gateway add-key\n"
    "--data-dir D/gateway/data --group group.json --client client` (or\n"
    "client-http) and `tkms cluster restart-gateway --dir D`.\n"
    "down: stops every process of the cluster in D (SIGTERM, then SIGKILL after\n"
    "5 s). The directory stays.\n"
    "restart-gateway: stops the gateway (as down does) and starts it again with\n"
    "its configuration, so that it loads the keys of D/gateway/data; updates\n"
    "gateway_pid and keys in D/cluster.json and prints it as up does.\n";

typedef struct {
    const char *dir, *network, *gvr, *fork_version;
    uint32_t servers, threshold, keys, client_listen, scrypt_n;
    bool json;
} up_options;

/* ---- small helpers ------------------------------------------------------------ */

static int write_text(const char *path, const char *text, mode_t mode)
{
    tkms_err err;
    if (tkms_file_write_atomic(path, text, strlen(text), mode, false, &err) != TKMS_OK)
        return cli_fail(CMD, "%s", err.message);
    return CLI_EXIT_OK;
}

/* A port on 127.0.0.1 free right now. */
static int free_port(uint16_t *port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &len) != 0) {
        if (s >= 0)
            close(s);
        return cli_fail(CMD, "cannot find a free port: %s", strerror(errno));
    }
    *port = ntohs(a.sin_port);
    close(s);
    return CLI_EXIT_OK;
}

/* Starts `tkms ARGS…` in its own session, stdout and stderr to `log`. */
static int spawn_tkms(const char *log, char *const args[], pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
    int rc = posix_spawn(pid, "/proc/self/exe", &fa, &attr, args, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0)
        return cli_fail(CMD, "cannot start %s: %s", args[1], strerror(rc));
    return CLI_EXIT_OK;
}

/* Runs `tkms ARGS…` to the end and returns its stdout (malloc'ed). */
static int run_tkms(char *const args[], char **out)
{
    int fds[2];
    if (pipe(fds) != 0)
        return cli_fail(CMD, "pipe: %s", strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    pid_t pid;
    int rc = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, args, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return cli_fail(CMD, "cannot run tkms %s: %s", args[1], strerror(rc));
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    ssize_t n;
    while (buf != NULL && (n = read(fds[0], buf + len, cap - len - 1)) > 0) {
        len += (size_t)n;
        if (cap - len < 2) {
            char *grown = realloc(buf, cap *= 2);
            if (grown == NULL) {
                free(buf);
                buf = NULL;
            }
            buf = grown;
        }
    }
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (buf == NULL)
        return cli_fail(CMD, "out of memory");
    buf[len] = '\0';
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        free(buf);
        return cli_fail(CMD, "tkms %s %s failed (its error is above)", args[1],
                        args[2] != NULL ? args[2] : "");
    }
    *out = buf;
    return CLI_EXIT_OK;
}

/* Waits until GET url/health answers 200 (with the operator's or the
 * client's certificate); returns its body. */
static int wait_healthy(const char *dir, const char *url, const char *cert, pid_t pid,
                        const char *log, const char *path, char **body)
{
    char ca[PATH_SIZE], crt[PATH_SIZE], key[PATH_SIZE], full[PATH_SIZE];
    snprintf(ca, sizeof ca, "%s/pki/ca.pem", dir);
    snprintf(crt, sizeof crt, "%s/pki/%s.pem", dir, cert);
    snprintf(key, sizeof key, "%s/pki/%s-key.pem", dir, cert);
    snprintf(full, sizeof full, "%s%s", url, path);
    tkms_http_client_options opt = {.ca_file = ca, .cert_file = crt, .key_file = key,
                                    .timeout_ms = 2000};
    tkms_http_client *c = NULL;
    tkms_err err;
    if (tkms_http_client_new(&c, &opt, &err) != TKMS_OK)
        return cli_fail(CMD, "%s", err.message);
    for (int attempt = 0; attempt < 600; attempt++) {          /* 60 s */
        tkms_http_response res = {0};
        if (tkms_http_client_request(c, "GET", full, NULL, NULL, 0, &res, NULL) == TKMS_OK &&
            res.status == 200) {
            *body = res.body;
            tkms_http_client_free(c);
            return CLI_EXIT_OK;
        }
        tkms_http_response_free(&res);
        if (waitpid(pid, NULL, WNOHANG) == pid)
            break;
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    tkms_http_client_free(c);
    return cli_fail(CMD, "%s did not come up; see %s", url, log);
}

/* Starts the gateway of the cluster in `dir` (D/gateway/gateway.yaml, log
 * D/gateway/log) and waits until it answers /upcheck at `url`. */
static int start_gateway(const char *dir, const char *url, pid_t *pid)
{
    char config[PATH_SIZE + 32], log[PATH_SIZE + 32];
    snprintf(config, sizeof config, "%s/gateway/gateway.yaml", dir);
    snprintf(log, sizeof log, "%s/gateway/log", dir);
    char *args[] = {"tkms", "gateway", "--config", config, NULL};
    char *body = NULL;
    int rc = spawn_tkms(log, args, pid);
    if (rc == CLI_EXIT_OK)
        rc = wait_healthy(dir, url, "client", *pid, log, "/upcheck", &body);
    free(body);
    return rc;
}

static bool alive(pid_t pid)
{
    return pid > 0 && kill(pid, 0) == 0;
}

/* SIGTERM to every live pid, then SIGKILL to those still alive after 5 s. */
static void stop_pids(const pid_t *pids, size_t count)
{
    size_t i;
    for (i = 0; i < count; i++)
        if (alive(pids[i]))
            kill(pids[i], SIGTERM);
    for (int wait = 0; wait < 50; wait++) {
        bool any = false;
        for (i = 0; i < count; i++)
            any = any || alive(pids[i]);
        if (!any)
            break;
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    for (i = 0; i < count; i++)
        if (alive(pids[i]))
            kill(pids[i], SIGKILL);
}

/* Reads D/cluster.json. */
static int load_cluster(const char *dir, json_t **out)
{
    char path[PATH_SIZE + 16], *text = NULL;
    size_t len;
    tkms_err err;
    snprintf(path, sizeof path, "%s/cluster.json", dir);
    if (tkms_file_read(path, 1u << 20, &text, &len, &err) != TKMS_OK)
        return cli_fail(CMD, "no cluster in %s: %s", dir, err.message);
    json_error_t jerr;
    *out = json_loadb(text, len, 0, &jerr);
    free(text);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return cli_fail(CMD, "%s: not a cluster file (%s)", path, jerr.text);
    }
    return CLI_EXIT_OK;
}

/* Prints the cluster as `up` does: the JSON, or a few lines. */
static void print_cluster(const char *dir, const json_t *cluster, const char *text, bool json)
{
    if (json) {
        puts(text);
        return;
    }
    printf("gateway  %s (client certificate %s)\n",
           json_string_value(json_object_get(cluster, "gateway")) ?: "",
           json_string_value(json_object_get(cluster, "client_cert")) ?: "");
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(cluster, "keys"), i, k)
        printf("key      %s\n", json_string_value(k));
    printf("stop it with: tkms cluster down --dir %s\n", dir);
}

/* ---- up ---------------------------------------------------------------------------- */

static int make_pki(const up_options *o)
{
    char pki[PATH_SIZE], name[32];
    snprintf(pki, sizeof pki, "%s/pki", o->dir);
    tkms_err err;
    tkms_status st = tkms_certs_make_ca(pki, "tkms cluster CA", TKMS_CERTS_DEFAULT_DAYS, &err);
    for (uint32_t i = 1; st == TKMS_OK && i <= o->servers; i++) {
        snprintf(name, sizeof name, "s%u", i);
        st = tkms_certs_make_server(pki, name, NULL, 0, NULL, 0, TKMS_CERTS_DEFAULT_DAYS, &err);
    }
    if (st == TKMS_OK)
        st = tkms_certs_make_server(pki, "gateway", NULL, 0, NULL, 0, TKMS_CERTS_DEFAULT_DAYS,
                                    &err);
    const char *clients[] = {"gateway-client", "operator", "client"};
    for (size_t i = 0; st == TKMS_OK && i < 3; i++)
        st = tkms_certs_make_client(pki, clients[i], TKMS_CERTS_DEFAULT_DAYS, &err);
    if (st != TKMS_OK)
        return cli_fail(CMD, "certificates: %s", err.message);
    return CLI_EXIT_OK;
}

static int write_server_config(const up_options *o, uint32_t i, uint16_t port)
{
    char dir[PATH_SIZE], path[PATH_SIZE + 16], yaml[4096];
    snprintf(dir, sizeof dir, "%s/s%u", o->dir, i);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return cli_fail(CMD, "cannot create %s: %s", dir, strerror(errno));
    snprintf(yaml, sizeof yaml,
             "# server s%u of the cluster (tkms cluster up)\n"
             "listen: 127.0.0.1:%u\n"
             "data_dir: data\n"
             "tls: {cert: ../pki/s%u.pem, key: ../pki/s%u-key.pem, ca: ../pki/ca.pem}\n"
             "password_file: ../password\n"
             "owner: s%u\n"
             "network: %s\n"
             "%s%s%s"
             "genesis_validators_root: \"%s\"\n"
             "workers: 4\n"
             "max_body_size: 16MiB\n"
             "keystore: {scrypt_n: %u}\n"
             "rules:\n"
             "  - {client: gateway-client, operations: [sign, admin]}\n"
             "  - {client: operator, operations: [admin, ceremony, metrics]}\n",
             i, port, i, i, i, o->network, o->fork_version ? "genesis_fork_version: \"" : "",
             o->fork_version ? o->fork_version : "", o->fork_version ? "\"\n" : "", o->gvr,
             o->scrypt_n);
    snprintf(path, sizeof path, "%s/server.yaml", dir);
    return write_text(path, yaml, 0600);
}

static int write_gateway_config(const up_options *o, uint16_t port, const uint16_t *ports,
                                char identities[][TKMS_HEX_SIZE(32)])
{
    char dir[PATH_SIZE], path[PATH_SIZE + 16];
    snprintf(dir, sizeof dir, "%s/gateway", o->dir);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return cli_fail(CMD, "cannot create %s: %s", dir, strerror(errno));
    size_t cap = 4096 + 256 * (size_t)o->servers, n = 0;
    char *yaml = malloc(cap);
    if (yaml == NULL)
        return cli_fail(CMD, "out of memory");
    n += (size_t)snprintf(yaml + n, cap - n,
                          "# the gateway of the cluster (tkms cluster up)\n"
                          "listen: 127.0.0.1:%u\n"
                          "data_dir: data\n"
                          "tls: {cert: ../pki/gateway.pem, key: ../pki/gateway-key.pem, "
                          "ca: ../pki/ca.pem}\n"
                          "servers_tls: {cert: ../pki/gateway-client.pem, "
                          "key: ../pki/gateway-client-key.pem, ca: ../pki/ca.pem}\n"
                          "network: %s\n%s%s%s"
                          "genesis_validators_root: \"%s\"\n"
                          "health_interval_ms: 1000\n"
                          "servers:\n",
                          port, o->network, o->fork_version ? "genesis_fork_version: \"" : "",
                          o->fork_version ? o->fork_version : "",
                          o->fork_version ? "\"\n" : "", o->gvr);
    for (uint32_t i = 0; i < o->servers; i++)
        n += (size_t)snprintf(yaml + n, cap - n,
                              "  - {name: s%u, url: \"https://127.0.0.1:%u\", identity: \"%s\"}\n",
                              i + 1, ports[i], identities[i]);
    n += (size_t)snprintf(yaml + n, cap - n, "clients:\n  - {name: client, auth: cert}\n");
    if (o->client_listen != 0)
        n += (size_t)snprintf(yaml + n, cap - n,
                              "  - {name: client-http, auth: listen, listen: \"127.0.0.1:%u\"}\n",
                              o->client_listen);
    snprintf(path, sizeof path, "%s/gateway.yaml", dir);
    int rc = write_text(path, yaml, 0600);
    free(yaml);
    return rc;
}

/* Serves every key of the DKG at the gateway (group files from s1's data
 * directory, where a DKG with one share per server puts every key). */
static int register_keys(const up_options *o, json_t *keys)
{
    char data[PATH_SIZE];
    snprintf(data, sizeof data, "%s/gateway/data", o->dir);
    if (mkdir(data, 0700) != 0 && errno != EEXIST)
        return cli_fail(CMD, "cannot create %s: %s", data, strerror(errno));
    gateway_registry *r = NULL;
    tkms_err err;
    if (gateway_registry_open(&r, data, NULL, 0, NULL, &err) != TKMS_OK)
        return cli_fail(CMD, "%s", err.message);
    size_t i;
    json_t *key;
    int rc = CLI_EXIT_OK;
    json_array_foreach(keys, i, key) {
        char path[PATH_SIZE + 128], *json = NULL;
        size_t len;
        snprintf(path, sizeof path, "%s/s1/data/keys/%s/group.json", o->dir,
                 json_string_value(key));
        const char *client = o->client_listen != 0 ? "client-http" : "client";
        if (tkms_file_read(path, TKMS_GROUP_FILE_MAX_SIZE, &json, &len, &err) != TKMS_OK ||
            gateway_registry_add(r, json, len, client, &err) != TKMS_OK)
            rc = cli_fail(CMD, "gateway key %s: %s", json_string_value(key), err.message);
        free(json);
        if (rc != CLI_EXIT_OK)
            break;
    }
    gateway_registry_free(r);
    return rc;
}

static int cluster_up(const up_options *o)
{
    if (mkdir(o->dir, 0700) != 0 && errno != EEXIST)
        return cli_fail(CMD, "cannot create %s: %s", o->dir, strerror(errno));
    char path[PATH_SIZE + 64];
    snprintf(path, sizeof path, "%s/cluster.json", o->dir);
    struct stat sb;
    if (stat(path, &sb) == 0)
        return cli_fail(CMD, "%s holds a cluster already (tkms cluster down, or another --dir)",
                        o->dir);
    /* The data directories' password: $TKMS_PASSWORD, or a new random one. */
    const char *given = getenv("TKMS_PASSWORD");
    char password[65];
    if (given != NULL && given[0] != '\0') {
        snprintf(password, sizeof password, "%s", given);
    } else {
        uint8_t raw[24];
        randombytes_buf(raw, sizeof raw);
        sodium_bin2hex(password, sizeof password, raw, sizeof raw);
    }
    snprintf(path, sizeof path, "%s/password", o->dir);
    int rc = write_text(path, password, 0600);
    sodium_memzero(password, sizeof password);
    if (rc == CLI_EXIT_OK)
        rc = make_pki(o);
    if (rc != CLI_EXIT_OK)
        return rc;

    uint16_t ports[MAX_SERVERS] = {0}, gateway_port = 0;
    pid_t pids[MAX_SERVERS] = {0}, gateway_pid = 0;
    char identities[MAX_SERVERS][TKMS_HEX_SIZE(32)] = {{0}};
    json_t *servers = json_array();
    for (uint32_t i = 0; rc == CLI_EXIT_OK && i < o->servers; i++) {
        char config[PATH_SIZE + 32], log[PATH_SIZE + 32], url[64];
        rc = free_port(&ports[i]);
        if (rc == CLI_EXIT_OK)
            rc = write_server_config(o, i + 1, ports[i]);
        snprintf(config, sizeof config, "%s/s%u/server.yaml", o->dir, i + 1);
        snprintf(log, sizeof log, "%s/s%u/log", o->dir, i + 1);
        char *args[] = {"tkms", "server", "--config", config, NULL};
        if (rc == CLI_EXIT_OK)
            rc = spawn_tkms(log, args, &pids[i]);
        char *health = NULL;
        snprintf(url, sizeof url, "https://127.0.0.1:%u", ports[i]);
        if (rc == CLI_EXIT_OK)
            rc = wait_healthy(o->dir, url, "operator", pids[i], log, "/health", &health);
        if (rc == CLI_EXIT_OK) {
            json_t *h = json_loads(health, 0, NULL);
            snprintf(identities[i], sizeof identities[i], "%s",
                     json_string_value(json_object_get(h, "server")) ?: "");
            json_decref(h);
            json_array_append_new(servers,
                                  json_pack("{s:s, s:I}", "url", url, "pid", (json_int_t)pids[i]));
        }
        free(health);
    }

    /* The DKG, relayed by `tkms ceremony run`. */
    char spec[PATH_SIZE + 16], parties[MAX_SERVERS * 96] = "", threshold[16], keys_arg[16];
    snprintf(spec, sizeof spec, "%s/dkg.json", o->dir);
    for (uint32_t i = 0; i < o->servers; i++)
        snprintf(parties + strlen(parties), sizeof parties - strlen(parties), "%ss%u:%s",
                 i ? "," : "", i + 1, identities[i]);
    snprintf(threshold, sizeof threshold, "%u", o->threshold);
    snprintf(keys_arg, sizeof keys_arg, "%u", o->keys);
    char *out = NULL;
    char *spec_args[] = {"tkms", "ceremony", "spec", "--parties", parties, "--threshold",
                         threshold, "--keys", keys_arg, "--out", spec, NULL};
    /* --keys 0: no DKG; keys are added later (see the help). */
    bool dkg = o->keys > 0;
    if (rc == CLI_EXIT_OK && dkg)
        rc = run_tkms(spec_args, &out);
    free(out);
    out = NULL;
    json_t *keys = dkg ? NULL : json_array();
    if (rc == CLI_EXIT_OK && dkg) {
        char ca[PATH_SIZE], cert[PATH_SIZE], key[PATH_SIZE];
        snprintf(ca, sizeof ca, "%s/pki/ca.pem", o->dir);
        snprintf(cert, sizeof cert, "%s/pki/operator.pem", o->dir);
        snprintf(key, sizeof key, "%s/pki/operator-key.pem", o->dir);
        char *run_args[16 + 2 * MAX_SERVERS];
        char server_args[MAX_SERVERS][96];
        size_t a = 0;
        run_args[a++] = "tkms";
        run_args[a++] = "ceremony";
        run_args[a++] = "run";
        run_args[a++] = "--spec";
        run_args[a++] = spec;
        for (uint32_t i = 0; i < o->servers; i++) {
            snprintf(server_args[i], sizeof server_args[i], "s%u=https://127.0.0.1:%u", i + 1,
                     ports[i]);
            run_args[a++] = "--server";
            run_args[a++] = server_args[i];
        }
        char *tail[] = {"--ca", ca, "--cert", cert, "--key", key, "--json", NULL};
        memcpy(run_args + a, tail, sizeof tail);
        rc = run_tkms(run_args, &out);
        json_t *result = rc == CLI_EXIT_OK ? json_loads(out, 0, NULL) : NULL;
        keys = json_incref(json_object_get(result, "keys"));
        json_decref(result);
        if (rc == CLI_EXIT_OK && !json_is_array(keys))
            rc = cli_fail(CMD, "the ceremony printed no keys");
    }
    free(out);

    if (rc == CLI_EXIT_OK)
        rc = free_port(&gateway_port);
    if (rc == CLI_EXIT_OK)
        rc = write_gateway_config(o, gateway_port, ports, identities);
    if (rc == CLI_EXIT_OK)
        rc = register_keys(o, keys);
    char gw_url[64];
    snprintf(gw_url, sizeof gw_url, "https://127.0.0.1:%u", gateway_port);
    if (rc == CLI_EXIT_OK)
        rc = start_gateway(o->dir, gw_url, &gateway_pid);

    char absolute[PATH_SIZE];
    if (realpath(o->dir, absolute) == NULL)
        snprintf(absolute, sizeof absolute, "%s", o->dir);
    char ca[PATH_SIZE + 32], cert[PATH_SIZE + 32], key[PATH_SIZE + 32], listen[64];
    snprintf(ca, sizeof ca, "%s/pki/ca.pem", absolute);
    snprintf(cert, sizeof cert, "%s/pki/client.pem", absolute);
    snprintf(key, sizeof key, "%s/pki/client-key.pem", absolute);
    snprintf(listen, sizeof listen, "http://127.0.0.1:%u", o->client_listen);
    json_t *cluster = json_pack("{s:s, s:s, s:s, s:s, s:O, s:O, s:I, s:s?}", "gateway", gw_url,
                                "ca", ca, "client_cert", cert, "client_key", key, "keys",
                                keys != NULL ? keys : json_array(), "servers", servers,
                                "gateway_pid", (json_int_t)gateway_pid, "client_listen",
                                o->client_listen != 0 ? listen : NULL);
    char *text = cluster != NULL ? json_dumps(cluster, JSON_INDENT(2)) : NULL;
    /* Written even after a failure, so that `down` can stop what started. */
    snprintf(path, sizeof path, "%s/cluster.json", o->dir);
    if (text != NULL)
        write_text(path, text, 0644);
    if (rc == CLI_EXIT_OK && text != NULL)
        print_cluster(o->dir, cluster, text, o->json);
    free(text);
    json_decref(cluster);
    json_decref(keys);
    json_decref(servers);
    return rc;
}

/* ---- down ---------------------------------------------------------------------------- */

static int cluster_down(const char *dir)
{
    char path[PATH_SIZE + 16];
    json_t *cluster = NULL;
    int rc = load_cluster(dir, &cluster);
    if (rc != CLI_EXIT_OK)
        return rc;
    snprintf(path, sizeof path, "%s/cluster.json", dir);
    pid_t pids[MAX_SERVERS + 1];
    size_t count = 0, i;
    json_t *server;
    json_array_foreach(json_object_get(cluster, "servers"), i, server) {
        if (count < MAX_SERVERS)
            pids[count++] = (pid_t)json_integer_value(json_object_get(server, "pid"));
    }
    pids[count++] = (pid_t)json_integer_value(json_object_get(cluster, "gateway_pid"));
    json_decref(cluster);
    stop_pids(pids, count);
    if (unlink(path) != 0)
        return cli_fail(CMD, "cannot remove %s: %s", path, strerror(errno));
    printf("stopped the cluster in %s\n", dir);
    return CLI_EXIT_OK;
}

/* ---- restart-gateway ------------------------------------------------------------------ */

static int cluster_restart_gateway(const char *dir, bool json)
{
    json_t *cluster = NULL;
    int rc = load_cluster(dir, &cluster);
    if (rc != CLI_EXIT_OK)
        return rc;
    const char *url = json_string_value(json_object_get(cluster, "gateway"));
    if (url == NULL) {
        json_decref(cluster);
        return cli_fail(CMD, "%s/cluster.json names no gateway", dir);
    }
    pid_t old = (pid_t)json_integer_value(json_object_get(cluster, "gateway_pid"));
    stop_pids(&old, 1);
    if (alive(old)) {
        json_decref(cluster);
        return cli_fail(CMD, "the gateway (pid %ld) does not stop", (long)old);
    }

    /* The keys it will load: those of its registry. */
    char data[PATH_SIZE + 16];
    snprintf(data, sizeof data, "%s/gateway/data", dir);
    gateway_registry *r = NULL;
    tkms_err err;
    json_t *keys = json_array();
    if (gateway_registry_open(&r, data, NULL, 0, NULL, &err) != TKMS_OK)
        rc = cli_fail(CMD, "%s", err.message);
    for (size_t i = 0; rc == CLI_EXIT_OK && i < gateway_registry_count(r); i++)
        json_array_append_new(keys, json_string(gateway_registry_at(r, i)->hex));
    gateway_registry_free(r);

    pid_t pid = 0;
    if (rc == CLI_EXIT_OK)
        rc = start_gateway(dir, url, &pid);
    /* Written even after a failure, so that `down` can stop what started. */
    json_object_set_new(cluster, "gateway_pid", json_integer((json_int_t)pid));
    json_object_set_new(cluster, "keys", keys);
    char *text = json_dumps(cluster, JSON_INDENT(2));
    char path[PATH_SIZE + 16];
    snprintf(path, sizeof path, "%s/cluster.json", dir);
    if (text == NULL) {
        if (rc == CLI_EXIT_OK)
            rc = cli_fail(CMD, "out of memory");
    } else {
        int wrc = write_text(path, text, 0644);
        if (rc == CLI_EXIT_OK)
            rc = wrc;
    }
    if (rc == CLI_EXIT_OK)
        print_cluster(dir, cluster, text, json);
    free(text);
    json_decref(cluster);
    return rc;
}

int cmd_cluster(int argc, char **argv)
{
    static const struct option options[] = {
        {"dir", required_argument, NULL, 'd'},       {"servers", required_argument, NULL, 'n'},
        {"threshold", required_argument, NULL, 'k'}, {"keys", required_argument, NULL, 'm'},
        {"json", no_argument, NULL, 'j'},            {"network", required_argument, NULL, 'w'},
        {"genesis-validators-root", required_argument, NULL, 'g'},
        {"genesis-fork-version", required_argument, NULL, 'f'},
        {"client-listen", required_argument, NULL, 'l'},
        {"scrypt-n", required_argument, NULL, 's'},  {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(help, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    bool up = strcmp(argv[1], "up") == 0, restart = strcmp(argv[1], "restart-gateway") == 0;
    if (!up && !restart && strcmp(argv[1], "down") != 0)
        return cli_usage(CMD, "unknown subcommand '%s' (up, down or restart-gateway)", argv[1]);
    up_options o = {.network = "mainnet", .gvr = MAINNET_GVR, .keys = 1, .scrypt_n = 1u << 18};
    int opt;
    optind = 2;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'd': o.dir = optarg; break;
        case 'n':
            if (cli_parse_u32(CMD, "--servers", optarg, 1, MAX_SERVERS, &o.servers))
                return CLI_EXIT_USAGE;
            break;
        case 'k':
            if (cli_parse_u32(CMD, "--threshold", optarg, 1, MAX_SERVERS, &o.threshold))
                return CLI_EXIT_USAGE;
            break;
        case 'm':
            if (cli_parse_u32(CMD, "--keys", optarg, 0, 1000, &o.keys))
                return CLI_EXIT_USAGE;
            break;
        case 'l':
            if (cli_parse_u32(CMD, "--client-listen", optarg, 1, 65535, &o.client_listen))
                return CLI_EXIT_USAGE;
            break;
        case 's':
            if (cli_parse_u32(CMD, "--scrypt-n", optarg, 1024, 1u << 20, &o.scrypt_n))
                return CLI_EXIT_USAGE;
            break;
        case 'j': o.json = true; break;
        case 'w': o.network = optarg; break;
        case 'g': o.gvr = optarg; break;
        case 'f': o.fork_version = optarg; break;
        case 'h': fputs(help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_flag(CMD, argv);
        }
    }
    if (optind != argc)
        return cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
    if (o.dir == NULL)
        return cli_usage(CMD, "--dir is required");
    if (!up) {
        /* only --dir (and --json for restart-gateway) apply */
        for (int i = 2; i < argc; i++)
            if (strncmp(argv[i], "--", 2) == 0 && strncmp(argv[i], "--dir", 5) != 0 &&
                !(restart && strcmp(argv[i], "--json") == 0))
                return cli_usage(CMD, "%s does not apply to %s", argv[i], argv[1]);
        return restart ? cluster_restart_gateway(o.dir, o.json) : cluster_down(o.dir);
    }
    if (strcmp(o.network, "mainnet") != 0 && strcmp(o.network, "minimal") != 0)
        return cli_usage(CMD, "--network must be mainnet or minimal, not '%s'", o.network);
    if (o.servers == 0 || o.threshold == 0)
        return cli_usage(CMD, "--servers and --threshold are required");
    if (o.threshold > o.servers)
        return cli_usage(CMD, "--threshold %u is more than --servers %u", o.threshold, o.servers);
    return cluster_up(&o);
}
