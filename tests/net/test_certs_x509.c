/*
 * test_certs_x509.c — tkms/certs.h: name and DNS validation; a CA, a server and
 * a client made in a scratch directory, loaded back with OpenSSL, with the
 * extensions TLS needs (CA flag, key usage, EKU, SAN), the chain verified
 * and the key files 0600; refusals leave nothing behind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "test.h"
#include "tkms/certs.h"

static X509 *load_cert(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.pem", dir, name);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return x;
}

static unsigned mode_of(const char *dir, const char *file)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    struct stat st;
    return stat(path, &st) == 0 ? (unsigned)(st.st_mode & 0777) : 0;
}

static bool verifies(X509 *ca, X509 *leaf, int purpose)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    bool ok = store && ctx && X509_STORE_add_cert(store, ca) &&
              X509_STORE_CTX_init(ctx, store, leaf, NULL) &&
              X509_STORE_CTX_set_purpose(ctx, purpose) && X509_verify_cert(ctx) == 1;
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return ok;
}

int main(void)
{
    CHECK(tkms_certs_name_valid("server-1.a_b"), "plain name valid");
    const char *bad_names[] = {"", "ca", ".hidden", "-x", "a/b", "a b", "a,b", "é",
                               "0123456789012345678901234567890123456789012345678901234567890123x"};
    for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++)
        CHECK(!tkms_certs_name_valid(bad_names[i]), "name '%s' refused", bad_names[i]);
    CHECK(!tkms_certs_name_valid(NULL), "NULL name refused");
    CHECK(tkms_certs_dns_valid("localhost") && tkms_certs_dns_valid("a.example.org") &&
              tkms_certs_dns_valid("*.example.org"),
          "DNS names valid");
    const char *bad_dns[] = {"", ".", "a..b", "a.", "a,IP:1.2.3.4", "a b", "*", "a.*.b"};
    for (size_t i = 0; i < sizeof bad_dns / sizeof *bad_dns; i++)
        CHECK(!tkms_certs_dns_valid(bad_dns[i]), "DNS '%s' refused", bad_dns[i]);

    char dir[] = "/tmp/tkms-certs-test.XXXXXX";
    if (mkdtemp(dir) == NULL)
        test_fatal("mkdtemp failed");
    tkms_err err;
    CHECK(tkms_certs_make_ca(dir, "test CA", 0, &err) == TKMS_ERR_INVALID_ARGUMENT,
          "0 days refused");
    CHECK(tkms_certs_make_client(dir, "c", 10, &err) == TKMS_ERR_BAD_FORMAT,
          "client without a CA refused: %s", err.message);
    CHECK(tkms_certs_make_ca(dir, "test CA", 10, &err) == TKMS_OK, "CA: %s", err.message);
    CHECK(tkms_certs_make_ca(dir, NULL, 10, &err) == TKMS_ERR_IO &&
              strstr(err.message, "already exists") != NULL,
          "second CA refused: %s", err.message);
    const char *dns[] = {"localhost", "node.example"};
    const char *ips[] = {"127.0.0.1", "::1"};
    CHECK(tkms_certs_make_server(dir, "srv", dns, 2, ips, 2, 10, &err) == TKMS_OK,
          "server: %s", err.message);
    CHECK(tkms_certs_make_client(dir, "gw", 10, &err) == TKMS_OK, "client: %s", err.message);
    const char *bad_ip[] = {"1.2.3.4.5"};
    CHECK(tkms_certs_make_server(dir, "srv2", NULL, 0, bad_ip, 1, 10, &err) ==
              TKMS_ERR_INVALID_ARGUMENT,
          "bad IP refused");
    CHECK(mode_of(dir, "srv2-key.pem") == 0 && mode_of(dir, "srv2.pem") == 0,
          "bad IP: nothing written");

    CHECK(mode_of(dir, "ca-key.pem") == 0600 && mode_of(dir, "srv-key.pem") == 0600 &&
              mode_of(dir, "gw-key.pem") == 0600,
          "keys are 0600");
    CHECK(mode_of(dir, "ca.pem") == 0644 && mode_of(dir, "srv.pem") == 0644, "certs are 0644");

    X509 *ca = load_cert(dir, "ca"), *srv = load_cert(dir, "srv"), *gw = load_cert(dir, "gw");
    CHECK(ca && srv && gw, "certificates load");
    if (ca && srv && gw) {
        CHECK(X509_check_ca(ca) == 1, "CA is a CA");
        CHECK((X509_get_key_usage(ca) & (KU_KEY_CERT_SIGN | KU_CRL_SIGN)) ==
                  (KU_KEY_CERT_SIGN | KU_CRL_SIGN),
              "CA key usage");
        CHECK(X509_check_ca(srv) == 0 && X509_check_ca(gw) == 0, "leaves are not CAs");
        CHECK(X509_get_extended_key_usage(srv) == XKU_SSL_SERVER, "server EKU serverAuth");
        CHECK(X509_get_extended_key_usage(gw) == XKU_SSL_CLIENT, "client EKU clientAuth");
        CHECK(X509_check_host(srv, "node.example", 0, 0, NULL) == 1, "SAN node.example");
        CHECK(X509_check_host(srv, "other.example", 0, 0, NULL) != 1, "no other host");
        CHECK(X509_check_ip_asc(srv, "127.0.0.1", 0) == 1 && X509_check_ip_asc(srv, "::1", 0) == 1,
              "SAN IPs");
        char cn[80] = "";
        X509_NAME_get_text_by_NID(X509_get_subject_name(gw), NID_commonName, cn, sizeof cn);
        CHECK(strcmp(cn, "gw") == 0, "client CN: %s", cn);
        X509_NAME_get_text_by_NID(X509_get_subject_name(ca), NID_commonName, cn, sizeof cn);
        CHECK(strncmp(cn, "test CA ", 8) == 0 && strlen(cn) == 16, "CA CN tagged: %s", cn);
        const ASN1_INTEGER *sn = X509_get0_serialNumber(srv);
        CHECK(ASN1_STRING_length(sn) >= 16, "128-bit serial");
        CHECK(verifies(ca, srv, X509_PURPOSE_SSL_SERVER), "server verifies as a TLS server");
        CHECK(verifies(ca, gw, X509_PURPOSE_SSL_CLIENT), "client verifies as a TLS client");
        CHECK(!verifies(ca, gw, X509_PURPOSE_SSL_SERVER), "client is not a TLS server");
        CHECK(!verifies(ca, srv, X509_PURPOSE_SSL_CLIENT), "server is not a TLS client");
    }
    X509_free(ca);
    X509_free(srv);
    X509_free(gw);

    const char *files[] = {"ca.pem", "ca-key.pem", "srv.pem", "srv-key.pem", "gw.pem", "gw-key.pem"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
    return test_report();
}
