/*
 * status.c — names for tkms_status and the error-detail helpers declared in
 * tkms/status.h. Every module reports failures through these.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tkms/status.h"

const char *tkms_status_string(tkms_status status)
{
    switch (status) {
    case TKMS_OK: return "ok";
    case TKMS_ERR_INVALID_ARGUMENT: return "invalid argument";
    case TKMS_ERR_BAD_ENCODING: return "bad encoding";
    case TKMS_ERR_NOT_ON_CURVE: return "point not on the curve";
    case TKMS_ERR_NOT_IN_GROUP: return "point not in the subgroup";
    case TKMS_ERR_INFINITY: return "point at infinity";
    case TKMS_ERR_BAD_SCALAR: return "secret is zero or not below the group order";
    case TKMS_ERR_VERIFY_FAILED: return "verification failed";
    case TKMS_ERR_NOT_ENOUGH_SHARES: return "not enough valid shares";
    case TKMS_ERR_DUPLICATE_INDEX: return "duplicate share index";
    case TKMS_ERR_BAD_PASSWORD: return "wrong password";
    case TKMS_ERR_BAD_FORMAT: return "malformed input";
    case TKMS_ERR_UNSUPPORTED: return "unsupported";
    case TKMS_ERR_IO: return "input/output error";
    case TKMS_ERR_NO_MEMORY: return "out of memory";
    case TKMS_ERR_RNG: return "randomness source failed";
    case TKMS_ERR_NOT_FOUND: return "not found";
    case TKMS_ERR_REFUSED: return "refused by slashing protection";
    case TKMS_ERR_WRONG_GENESIS: return "wrong genesis validators root";
    }
    return "unknown error";
}

tkms_status tkms_fail(tkms_err *err, tkms_status status, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        err->status = status;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return status;
}

void tkms_err_clear(tkms_err *err)
{
    if (err != NULL) {
        err->status = TKMS_OK;
        err->message[0] = '\0';
    }
}
