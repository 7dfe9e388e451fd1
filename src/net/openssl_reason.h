/*
 * openssl_reason.h — OpenSSL's reason for the error it just reported, as
 * one line for a tkms_err (net layer internal).
 */
#ifndef TKMS_NET_OPENSSL_REASON_H
#define TKMS_NET_OPENSSL_REASON_H

#include <stddef.h>

/* Writes the reason of the first error on OpenSSL's queue (usually the
 * cause) into `out` ("unknown OpenSSL error" when it is empty) and clears
 * the queue. Returns out. */
const char *net_openssl_reason(char *out, size_t size);

#endif /* TKMS_NET_OPENSSL_REASON_H */
