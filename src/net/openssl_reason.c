/*
 * openssl_reason.c — OpenSSL's error queue as one line (see
 * openssl_reason.h).
 */
#include "openssl_reason.h"

#include <stdio.h>

#include <openssl/err.h>

const char *net_openssl_reason(char *out, size_t size)
{
    unsigned long code = ERR_peek_error();
    if (code != 0)
        ERR_error_string_n(code, out, size);
    else
        snprintf(out, size, "unknown OpenSSL error");
    ERR_clear_error();
    return out;
}
