/*
 * tkms/certs.h — a small certificate authority for mutual TLS between the
 * gateway and the threshold servers (and for tests): a CA, server
 * certificates and client certificates, all in one directory.
 *
 * Layout of a certificate directory D:
 *   D/ca.pem, D/ca-key.pem          the CA (self-signed)
 *   D/NAME.pem, D/NAME-key.pem      a server or client certificate and key
 *
 * Keys are ECDSA P-256, written as unencrypted PKCS#8 PEM ("BEGIN PRIVATE
 * KEY") with mode 0600; certificates are X.509 v3 PEM with mode 0644. Every
 * file is written atomically and never overwrites an existing file. Serial
 * numbers are 128 random bits; signatures are ECDSA with SHA-256. A
 * certificate is valid from five minutes before it was made (clock skew)
 * for `days` days.
 *
 * The CA has basicConstraints CA:TRUE (critical) and keyUsage keyCertSign,
 * cRLSign (critical). A server certificate has CN = NAME, subjectAltName
 * with its DNS names and IP addresses, extendedKeyUsage serverAuth; a
 * client certificate has CN = NAME (the identity a server gives the
 * client), extendedKeyUsage clientAuth. Both have basicConstraints CA:FALSE
 * (critical), keyUsage digitalSignature (critical) and subject/authority
 * key identifiers.
 *
 * Errors carry a one-line reason, with OpenSSL's reason where OpenSSL
 * failed. Key material held in memory is wiped (OPENSSL_cleanse) before it
 * is freed.
 */
#ifndef TKMS_CERTS_H
#define TKMS_CERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tkms/status.h"

/* Validity default (days) and the largest accepted. */
#define TKMS_CERTS_DEFAULT_DAYS 825u
#define TKMS_CERTS_MAX_DAYS 36500u

/* Longest certificate name (CN, and the file name stem). */
#define TKMS_CERTS_NAME_MAX 64u

/* At most this many DNS names and IP addresses each in a server cert. */
#define TKMS_CERTS_MAX_SANS 32u

/*
 * True when `name` is a valid certificate name: 1..TKMS_CERTS_NAME_MAX
 * characters from [A-Za-z0-9._-], not starting with '.' or '-', and not
 * "ca" (which names the CA's files).
 */
bool tkms_certs_name_valid(const char *name);

/*
 * True when `host` is a valid DNS name for a subjectAltName: 1..253
 * characters from [A-Za-z0-9.-], optionally starting with "*." (wildcard),
 * no empty label.
 */
bool tkms_certs_dns_valid(const char *host);

/*
 * Makes a new CA in directory `dir` (created with mode 0700 if it does not
 * exist; its parent must): dir/ca-key.pem and dir/ca.pem. `ca_name` is the
 * CA's CN (NULL for "tkms CA"); a random 32-bit hex tag is appended to it
 * so two CAs never share a subject. `days` in 1..TKMS_CERTS_MAX_DAYS.
 * Fails with TKMS_ERR_IO when either file already exists (nothing is
 * written then), TKMS_ERR_INVALID_ARGUMENT for bad arguments,
 * TKMS_ERR_RNG / TKMS_ERR_NO_MEMORY / TKMS_ERR_IO for OpenSSL or file
 * failures.
 */
tkms_status tkms_certs_make_ca(const char *dir, const char *ca_name, uint32_t days,
                               tkms_err *err);

/*
 * Makes a server certificate NAME signed by the CA in `dir` (dir/ca.pem
 * and dir/ca-key.pem, which must match): dir/NAME-key.pem, dir/NAME.pem.
 * `dns` (dns_count entries) are DNS names (tkms_certs_dns_valid), `ips`
 * (ip_count entries) IPv4 or IPv6 addresses in text form; when both counts
 * are 0 the SAN is DNS:localhost, IP:127.0.0.1. At most
 * TKMS_CERTS_MAX_SANS of each. The validity is not clipped to the CA's
 * own (a verifier rejects the chain once the CA expires). Fails like
 * tkms_certs_make_ca, and with TKMS_ERR_BAD_FORMAT when the CA files
 * cannot be read or do not match. On failure no new file is left behind.
 */
tkms_status tkms_certs_make_server(const char *dir, const char *name,
                                   const char *const *dns, size_t dns_count,
                                   const char *const *ips, size_t ip_count,
                                   uint32_t days, tkms_err *err);

/*
 * Makes a client certificate NAME (CN = NAME, extendedKeyUsage
 * clientAuth) signed by the CA in `dir`: dir/NAME-key.pem, dir/NAME.pem.
 * Fails like tkms_certs_make_server.
 */
tkms_status tkms_certs_make_client(const char *dir, const char *name, uint32_t days,
                                   tkms_err *err);

#endif /* TKMS_CERTS_H */
