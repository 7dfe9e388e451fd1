/*
 * certs.c — a small CA for mutual TLS (tkms/certs.h), on OpenSSL 3:
 * ECDSA P-256 keys (PKCS#8 PEM), X.509 v3 certificates with the
 * extensions TLS 1.3 client and server authentication need.
 */
#include "tkms/certs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/buffer.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tkms/file.h"
#include "openssl_reason.h"

#define PEM_MAX_SIZE (64u * 1024u)

/* Fails with `status`, "what: <OpenSSL's reason>" (the oldest queued
 * error, which is usually the cause); clears OpenSSL's error queue. */
static tkms_status ssl_fail(tkms_err *err, tkms_status status, const char *what)
{
    char reason[160];
    return tkms_fail(err, status, "%s: %s", what, net_openssl_reason(reason, sizeof reason));
}

bool tkms_certs_name_valid(const char *name)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > TKMS_CERTS_NAME_MAX || name[0] == '.' || name[0] == '-')
        return false;
    if (strcmp(name, "ca") == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

bool tkms_certs_dns_valid(const char *host)
{
    if (host == NULL)
        return false;
    const char *p = host;
    if (p[0] == '*' && p[1] == '.')
        p += 2;
    size_t len = strlen(p);
    if (len == 0 || strlen(host) > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i <= len; i++) {
        char c = p[i];
        if (c == '.' || c == '\0') {
            if (label == 0 || label > 63)
                return false;
            label = 0;
            continue;
        }
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '-';
        if (!ok)
            return false;
        label++;
    }
    return true;
}

static tkms_status make_path(char *out, size_t size, const char *dir, const char *name,
                             const char *suffix, tkms_err *err)
{
    int n = snprintf(out, size, "%s/%s%s", dir, name, suffix);
    if (n < 0 || (size_t)n >= size)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "%s: path too long", dir);
    return TKMS_OK;
}

static tkms_status refuse_existing(const char *path, tkms_err *err)
{
    if (access(path, F_OK) == 0)
        return tkms_fail(err, TKMS_ERR_IO, "%s: already exists, not overwriting", path);
    return TKMS_OK;
}

/* ---- writing ----------------------------------------------------------- */

/* Writes `key` (PKCS#8 PEM, mode 0600, through a secure memory BIO that is
 * wiped) or else `cert` (PEM, mode 0644) to the new file `path`. */
static tkms_status write_pem(const char *path, EVP_PKEY *key, X509 *cert, tkms_err *err)
{
    BIO *bio = BIO_new(key ? BIO_s_secmem() : BIO_s_mem());
    if (bio == NULL)
        return ssl_fail(err, TKMS_ERR_NO_MEMORY, "cannot make a memory BIO");
    int ok = key ? PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)
                 : PEM_write_bio_X509(bio, cert);
    tkms_status st;
    if (!ok) {
        st = ssl_fail(err, TKMS_ERR_NO_MEMORY,
                      key ? "cannot encode the private key" : "cannot encode the certificate");
    } else {
        BUF_MEM *mem = NULL;
        BIO_get_mem_ptr(bio, &mem);
        st = tkms_file_write_atomic(path, mem->data, mem->length, key ? 0600 : 0644, true,
                                    err);
        if (key)
            OPENSSL_cleanse(mem->data, mem->length);
    }
    BIO_free(bio);
    return st;
}

/* ---- reading the CA ---------------------------------------------------- */

static tkms_status load_ca(const char *dir, X509 **ca_cert, EVP_PKEY **ca_key, tkms_err *err)
{
    char cert_path[PATH_MAX], key_path[PATH_MAX];
    tkms_status st;
    if ((st = make_path(cert_path, sizeof cert_path, dir, "ca", ".pem", err)) != TKMS_OK ||
        (st = make_path(key_path, sizeof key_path, dir, "ca", "-key.pem", err)) != TKMS_OK)
        return st;
    char *text = NULL;
    size_t len = 0;
    tkms_err ferr;
    if (tkms_file_read(cert_path, PEM_MAX_SIZE, &text, &len, &ferr) != TKMS_OK)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "no CA (run 'tkms certs init'): %s",
                         ferr.message);
    BIO *bio = BIO_new_mem_buf(text, (int)len);
    *ca_cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    free(text);
    if (*ca_cert == NULL) {
        char what[PATH_MAX + 40];
        snprintf(what, sizeof what, "%s: not a PEM certificate", cert_path);
        return ssl_fail(err, TKMS_ERR_BAD_FORMAT, what);
    }
    if (tkms_file_read(key_path, PEM_MAX_SIZE, &text, &len, &ferr) != TKMS_OK) {
        X509_free(*ca_cert);
        *ca_cert = NULL;
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s", ferr.message);
    }
    bio = BIO_new_mem_buf(text, (int)len);
    *ca_key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    OPENSSL_cleanse(text, len);
    free(text);
    if (*ca_key == NULL) {
        X509_free(*ca_cert);
        *ca_cert = NULL;
        char what[PATH_MAX + 40];
        snprintf(what, sizeof what, "%s: not an unencrypted PEM private key", key_path);
        return ssl_fail(err, TKMS_ERR_BAD_FORMAT, what);
    }
    if (X509_check_private_key(*ca_cert, *ca_key) != 1) {
        ERR_clear_error();
        X509_free(*ca_cert);
        EVP_PKEY_free(*ca_key);
        *ca_cert = NULL;
        *ca_key = NULL;
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s does not match %s", key_path,
                         cert_path);
    }
    return TKMS_OK;
}

/* ---- building certificates --------------------------------------------- */

static tkms_status new_key(EVP_PKEY **key, tkms_err *err)
{
    *key = EVP_EC_gen("P-256");
    if (*key == NULL)
        return ssl_fail(err, TKMS_ERR_RNG, "cannot make a P-256 key");
    return TKMS_OK;
}

static tkms_status add_ext(X509 *cert, X509V3_CTX *ctx, int nid, const char *value,
                           tkms_err *err)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    if (ext == NULL || !X509_add_ext(cert, ext, -1)) {
        X509_EXTENSION_free(ext);
        char what[96];
        snprintf(what, sizeof what, "cannot add extension %s", OBJ_nid2sn(nid));
        return ssl_fail(err, TKMS_ERR_NO_MEMORY, what);
    }
    X509_EXTENSION_free(ext);
    return TKMS_OK;
}

/* The common part: version 3, a random 128-bit serial, CN, validity, key. */
static tkms_status new_cert(X509 **out, EVP_PKEY *key, const char *cn, uint32_t days,
                            tkms_err *err)
{
    X509 *cert = X509_new();
    if (cert == NULL)
        return ssl_fail(err, TKMS_ERR_NO_MEMORY, "cannot make a certificate");
    unsigned char serial[16];
    do {
        if (RAND_bytes(serial, sizeof serial) != 1) {
            X509_free(cert);
            return ssl_fail(err, TKMS_ERR_RNG, "cannot draw a serial number");
        }
    } while (serial[0] == 0);  /* keep it a full 128 bits, never zero */
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    ASN1_INTEGER *sn = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    BN_free(bn);
    X509_NAME *name = X509_NAME_new();
    bool ok = sn != NULL && name != NULL && X509_set_version(cert, X509_VERSION_3) &&
              X509_set_serialNumber(cert, sn) &&
              X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                         (const unsigned char *)cn, -1, -1, 0) &&
              X509_set_subject_name(cert, name) &&
              X509_gmtime_adj(X509_getm_notBefore(cert), -300) &&
              X509_time_adj_ex(X509_getm_notAfter(cert), (int)days, 0, NULL) &&
              X509_set_pubkey(cert, key);
    ASN1_INTEGER_free(sn);
    X509_NAME_free(name);
    if (!ok) {
        X509_free(cert);
        return ssl_fail(err, TKMS_ERR_NO_MEMORY, "cannot fill in the certificate");
    }
    *out = cert;
    return TKMS_OK;
}

static tkms_status add_san(X509 *cert, const char *const *dns, size_t dns_count,
                           const char *const *ips, size_t ip_count, tkms_err *err)
{
    static const char *const default_dns[] = {"localhost"};
    static const char *const default_ips[] = {"127.0.0.1"};
    if (dns_count == 0 && ip_count == 0) {
        dns = default_dns;
        dns_count = 1;
        ips = default_ips;
        ip_count = 1;
    }
    GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
    if (names == NULL)
        return ssl_fail(err, TKMS_ERR_NO_MEMORY, "cannot make subjectAltName");
    tkms_status st = TKMS_OK;
    for (size_t i = 0; i < dns_count && st == TKMS_OK; i++) {
        GENERAL_NAME *gn = GENERAL_NAME_new();
        ASN1_IA5STRING *s = ASN1_IA5STRING_new();
        if (gn == NULL || s == NULL || !ASN1_STRING_set(s, dns[i], -1)) {
            GENERAL_NAME_free(gn);
            ASN1_IA5STRING_free(s);
            st = ssl_fail(err, TKMS_ERR_NO_MEMORY, "cannot add a DNS name");
            break;
        }
        GENERAL_NAME_set0_value(gn, GEN_DNS, s);
        if (!sk_GENERAL_NAME_push(names, gn)) {
            GENERAL_NAME_free(gn);
            st = ssl_fail(err, TKMS_ERR_NO_MEMORY, "cannot add a DNS name");
        }
    }
    for (size_t i = 0; i < ip_count && st == TKMS_OK; i++) {
        ASN1_OCTET_STRING *ip = a2i_IPADDRESS(ips[i]);
        GENERAL_NAME *gn = ip ? GENERAL_NAME_new() : NULL;
        if (gn == NULL) {
            ASN1_OCTET_STRING_free(ip);
            ERR_clear_error();
            st = tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "'%s' is not an IP address",
                           ips[i]);
            break;
        }
        GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
        if (!sk_GENERAL_NAME_push(names, gn)) {
            GENERAL_NAME_free(gn);
            st = ssl_fail(err, TKMS_ERR_NO_MEMORY, "cannot add an IP address");
        }
    }
    if (st == TKMS_OK && !X509_add1_ext_i2d(cert, NID_subject_alt_name, names, 0, 0))
        st = ssl_fail(err, TKMS_ERR_NO_MEMORY, "cannot add subjectAltName");
    GENERAL_NAMES_free(names);
    return st;
}

/* Signs `cert` with `issuer_key` (ECDSA SHA-256). */
static tkms_status sign_cert(X509 *cert, EVP_PKEY *issuer_key, tkms_err *err)
{
    if (X509_sign(cert, issuer_key, EVP_sha256()) <= 0)
        return ssl_fail(err, TKMS_ERR_NO_MEMORY, "cannot sign the certificate");
    return TKMS_OK;
}

/* Writes key then certificate; if the certificate cannot be written, the
 * key file just written is removed again. */
static tkms_status write_pair(const char *key_path, const char *cert_path, EVP_PKEY *key,
                              X509 *cert, tkms_err *err)
{
    tkms_status st;
    if ((st = refuse_existing(key_path, err)) != TKMS_OK ||
        (st = refuse_existing(cert_path, err)) != TKMS_OK)
        return st;
    if ((st = write_pem(key_path, key, NULL, err)) != TKMS_OK)
        return st;
    if ((st = write_pem(cert_path, NULL, cert, err)) != TKMS_OK) {
        unlink(key_path);
        return st;
    }
    tkms_file_sync_parent(cert_path);
    return TKMS_OK;
}

static tkms_status check_days(uint32_t days, tkms_err *err)
{
    if (days < 1 || days > TKMS_CERTS_MAX_DAYS)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "days must be in 1..%u, got %u",
                         TKMS_CERTS_MAX_DAYS, days);
    return TKMS_OK;
}

tkms_status tkms_certs_make_ca(const char *dir, const char *ca_name, uint32_t days,
                               tkms_err *err)
{
    tkms_status st;
    if (dir == NULL || dir[0] == '\0')
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "no directory given");
    if ((st = check_days(days, err)) != TKMS_OK)
        return st;
    if (ca_name == NULL)
        ca_name = "tkms CA";
    if (strlen(ca_name) == 0 || strlen(ca_name) > TKMS_CERTS_NAME_MAX)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "CA name must have 1..%u characters",
                         TKMS_CERTS_NAME_MAX);
    char cert_path[PATH_MAX], key_path[PATH_MAX];
    if ((st = make_path(cert_path, sizeof cert_path, dir, "ca", ".pem", err)) != TKMS_OK ||
        (st = make_path(key_path, sizeof key_path, dir, "ca", "-key.pem", err)) != TKMS_OK)
        return st;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return tkms_fail(err, TKMS_ERR_IO, "%s: cannot create: %s", dir, strerror(errno));
    if ((st = refuse_existing(key_path, err)) != TKMS_OK ||
        (st = refuse_existing(cert_path, err)) != TKMS_OK)
        return st;

    unsigned char tag[4];
    if (RAND_bytes(tag, sizeof tag) != 1)
        return ssl_fail(err, TKMS_ERR_RNG, "cannot draw the CA tag");
    char cn[TKMS_CERTS_NAME_MAX + 16];
    snprintf(cn, sizeof cn, "%s %02x%02x%02x%02x", ca_name, tag[0], tag[1], tag[2], tag[3]);

    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    if ((st = new_key(&key, err)) != TKMS_OK)
        goto done;
    if ((st = new_cert(&cert, key, cn, days, err)) != TKMS_OK)
        goto done;
    if (!X509_set_issuer_name(cert, X509_get_subject_name(cert))) {
        st = ssl_fail(err, TKMS_ERR_NO_MEMORY, "cannot set the issuer");
        goto done;
    }
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
    if ((st = add_ext(cert, &ctx, NID_basic_constraints, "critical,CA:TRUE", err)) != TKMS_OK ||
        (st = add_ext(cert, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign", err)) !=
            TKMS_OK ||
        (st = add_ext(cert, &ctx, NID_subject_key_identifier, "hash", err)) != TKMS_OK ||
        (st = add_ext(cert, &ctx, NID_authority_key_identifier, "keyid:always", err)) !=
            TKMS_OK)
        goto done;
    if ((st = sign_cert(cert, key, err)) != TKMS_OK)
        goto done;
    st = write_pair(key_path, cert_path, key, cert, err);
done:
    X509_free(cert);
    EVP_PKEY_free(key);  /* OpenSSL wipes the private scalar when freeing */
    return st;
}

static tkms_status make_leaf(const char *dir, const char *name, bool server,
                             const char *const *dns, size_t dns_count,
                             const char *const *ips, size_t ip_count, uint32_t days,
                             tkms_err *err)
{
    tkms_status st;
    if (dir == NULL || dir[0] == '\0')
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "no directory given");
    if (!tkms_certs_name_valid(name))
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "name '%s' is not valid (1..%u of A-Z a-z 0-9 . _ -, not "
                         "starting with . or -, not 'ca')",
                         name ? name : "", TKMS_CERTS_NAME_MAX);
    if ((st = check_days(days, err)) != TKMS_OK)
        return st;
    if (dns_count > TKMS_CERTS_MAX_SANS || ip_count > TKMS_CERTS_MAX_SANS)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "at most %u DNS names and %u IP addresses", TKMS_CERTS_MAX_SANS,
                         TKMS_CERTS_MAX_SANS);
    for (size_t i = 0; i < dns_count; i++)
        if (!tkms_certs_dns_valid(dns[i]))
            return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "'%s' is not a valid DNS name",
                             dns[i] ? dns[i] : "");
    for (size_t i = 0; i < ip_count; i++) {
        unsigned char buf[16];
        if (ips[i] == NULL || (inet_pton(AF_INET, ips[i], buf) != 1 &&
                               inet_pton(AF_INET6, ips[i], buf) != 1))
            return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "'%s' is not an IP address",
                             ips[i] ? ips[i] : "");
    }
    char cert_path[PATH_MAX], key_path[PATH_MAX];
    if ((st = make_path(cert_path, sizeof cert_path, dir, name, ".pem", err)) != TKMS_OK ||
        (st = make_path(key_path, sizeof key_path, dir, name, "-key.pem", err)) != TKMS_OK)
        return st;
    if ((st = refuse_existing(key_path, err)) != TKMS_OK ||
        (st = refuse_existing(cert_path, err)) != TKMS_OK)
        return st;

    X509 *ca_cert = NULL, *cert = NULL;
    EVP_PKEY *ca_key = NULL, *key = NULL;
    if ((st = load_ca(dir, &ca_cert, &ca_key, err)) != TKMS_OK)
        goto done;
    if ((st = new_key(&key, err)) != TKMS_OK)
        goto done;
    if ((st = new_cert(&cert, key, name, days, err)) != TKMS_OK)
        goto done;
    if (!X509_set_issuer_name(cert, X509_get_subject_name(ca_cert))) {
        st = ssl_fail(err, TKMS_ERR_NO_MEMORY, "cannot set the issuer");
        goto done;
    }
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, ca_cert, cert, NULL, NULL, 0);
    if ((st = add_ext(cert, &ctx, NID_basic_constraints, "critical,CA:FALSE", err)) !=
            TKMS_OK ||
        (st = add_ext(cert, &ctx, NID_key_usage, "critical,digitalSignature", err)) !=
            TKMS_OK ||
        (st = add_ext(cert, &ctx, NID_ext_key_usage, server ? "serverAuth" : "clientAuth",
                      err)) != TKMS_OK ||
        (st = add_ext(cert, &ctx, NID_subject_key_identifier, "hash", err)) != TKMS_OK ||
        (st = add_ext(cert, &ctx, NID_authority_key_identifier, "keyid:always", err)) !=
            TKMS_OK)
        goto done;
    if (server && (st = add_san(cert, dns, dns_count, ips, ip_count, err)) != TKMS_OK)
        goto done;
    if ((st = sign_cert(cert, ca_key, err)) != TKMS_OK)
        goto done;
    st = write_pair(key_path, cert_path, key, cert, err);
done:
    X509_free(cert);
    X509_free(ca_cert);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
    return st;
}

tkms_status tkms_certs_make_server(const char *dir, const char *name,
                                   const char *const *dns, size_t dns_count,
                                   const char *const *ips, size_t ip_count,
                                   uint32_t days, tkms_err *err)
{
    return make_leaf(dir, name, true, dns, dns_count, ips, ip_count, days, err);
}

tkms_status tkms_certs_make_client(const char *dir, const char *name, uint32_t days,
                                   tkms_err *err)
{
    return make_leaf(dir, name, false, NULL, 0, NULL, 0, days, err);
}
