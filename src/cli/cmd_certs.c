/*
 * cmd_certs.c — `tkms certs init|server|client`: a CA and the server and
 * client certificates for the mutual-TLS links between the gateway and the
 * threshold servers, for a test or a small deployment (tkms/certs.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tkms/certs.h"

#define CMD "certs"

static const char *const help =
    "usage: tkms certs init   --dir D [--days N] [--ca-name CN]\n"
    "       tkms certs server --dir D --name NAME [--dns H]... [--ip A]... [--days N]\n"
    "       tkms certs client --dir D --name NAME [--days N]\n"
    "\n"
    "Certificates for mutual TLS (TLS 1.3) between the gateway and the\n"
    "threshold servers. Keys are ECDSA P-256, PKCS#8 PEM, mode 0600;\n"
    "certificates PEM, mode 0644. No file is ever overwritten.\n"
    "\n"
    "init    makes a CA in D (created if missing): D/ca.pem, D/ca-key.pem.\n"
    "server  makes D/NAME.pem and D/NAME-key.pem, signed by the CA in D:\n"
    "        CN = NAME, subjectAltName the --dns names and --ip addresses\n"
    "        (default DNS:localhost, IP:127.0.0.1), extendedKeyUsage\n"
    "        serverAuth.\n"
    "client  likewise with CN = NAME (the identity a server gives the\n"
    "        client) and extendedKeyUsage clientAuth.\n"
    "\n"
    "  --dir D       the certificate directory\n"
    "  --name NAME   1..64 of A-Z a-z 0-9 . _ - (not starting with . or -,\n"
    "                not 'ca')\n"
    "  --dns H       a DNS name for the server (repeatable)\n"
    "  --ip A        an IPv4 or IPv6 address for the server (repeatable)\n"
    "  --days N      validity in days (default 825)\n"
    "  --ca-name CN  the CA's name (default 'tkms CA'; a random tag is added)\n";

enum { SUB_INIT, SUB_SERVER, SUB_CLIENT };

static int certs_run(int sub, int argc, char **argv)
{
    static const struct option options[] = {
        {"dir", required_argument, NULL, 'd'},
        {"name", required_argument, NULL, 'n'},
        {"dns", required_argument, NULL, 'D'},
        {"ip", required_argument, NULL, 'I'},
        {"days", required_argument, NULL, 't'},
        {"ca-name", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *name = NULL, *days_text = NULL, *ca_name = NULL;
    const char *dns[TKMS_CERTS_MAX_SANS], *ips[TKMS_CERTS_MAX_SANS];
    size_t dns_count = 0, ip_count = 0;
    const char *subname = argv[0];
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'd': dir = optarg; break;
        case 'n': name = optarg; break;
        case 't': days_text = optarg; break;
        case 'c': ca_name = optarg; break;
        case 'D':
            if (dns_count == TKMS_CERTS_MAX_SANS)
                return cli_usage(CMD, "at most %u --dns", TKMS_CERTS_MAX_SANS);
            dns[dns_count++] = optarg;
            break;
        case 'I':
            if (ip_count == TKMS_CERTS_MAX_SANS)
                return cli_usage(CMD, "at most %u --ip", TKMS_CERTS_MAX_SANS);
            ips[ip_count++] = optarg;
            break;
        case 'h': fputs(help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_flag(CMD, argv);
        }
    }
    if (optind != argc)
        return cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
    if (dir == NULL)
        return cli_usage(CMD, "%s: --dir D is required", subname);
    if (sub == SUB_INIT && name != NULL)
        return cli_usage(CMD, "init: --name is for server and client (use --ca-name)");
    if (sub != SUB_INIT && ca_name != NULL)
        return cli_usage(CMD, "%s: --ca-name is only for init", subname);
    if (sub != SUB_INIT && name == NULL)
        return cli_usage(CMD, "%s: --name NAME is required", subname);
    if (sub != SUB_SERVER && (dns_count > 0 || ip_count > 0))
        return cli_usage(CMD, "%s: --dns and --ip are only for server", subname);
    if (name != NULL && !tkms_certs_name_valid(name))
        return cli_fail(CMD, "--name '%s' is not valid (1..%u of A-Z a-z 0-9 . _ -, not "
                             "starting with . or -, not 'ca')",
                        name, TKMS_CERTS_NAME_MAX);
    uint32_t days = TKMS_CERTS_DEFAULT_DAYS;
    int rc;
    if (days_text != NULL &&
        (rc = cli_parse_u32(CMD, "--days", days_text, 1, TKMS_CERTS_MAX_DAYS, &days)) != 0)
        return rc;

    tkms_err err;
    tkms_status st;
    if (sub == SUB_INIT)
        st = tkms_certs_make_ca(dir, ca_name, days, &err);
    else if (sub == SUB_SERVER)
        st = tkms_certs_make_server(dir, name, dns, dns_count, ips, ip_count, days, &err);
    else
        st = tkms_certs_make_client(dir, name, days, &err);
    if (st != TKMS_OK)
        return cli_fail(CMD, "%s", err.message);
    if (sub == SUB_INIT)
        printf("%s/ca.pem\n%s/ca-key.pem\n", dir, dir);
    else
        printf("%s/%s.pem\n%s/%s-key.pem\n", dir, name, dir, name);
    return CLI_EXIT_OK;
}

int cmd_certs(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(help, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "init") == 0)
        return certs_run(SUB_INIT, argc - 1, argv + 1);
    if (strcmp(argv[1], "server") == 0)
        return certs_run(SUB_SERVER, argc - 1, argv + 1);
    if (strcmp(argv[1], "client") == 0)
        return certs_run(SUB_CLIENT, argc - 1, argv + 1);
    return cli_usage(CMD, "unknown subcommand '%s' (init, server or client)", argv[1]);
}
