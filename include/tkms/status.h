/*
 * tkms/status.h — result codes and error detail shared by every module.
 *
 * Every fallible libtkms function returns a tkms_status. Functions that parse
 * outside input also take a `tkms_err *` (which may be NULL) and fill it with
 * a one-line, human-readable reason naming what was wrong ("keystore:
 * crypto.kdf.params.dklen must be 32"). The message never contains secret
 * material: no keys, shares, passwords or decrypted bytes.
 */
#ifndef TKMS_STATUS_H
#define TKMS_STATUS_H

#include <stddef.h>

typedef enum {
    TKMS_OK = 0,
    TKMS_ERR_INVALID_ARGUMENT,   /* caller broke a documented precondition   */
    TKMS_ERR_BAD_ENCODING,       /* malformed hex, wrong length, bad flags    */
    TKMS_ERR_NOT_ON_CURVE,       /* point does not satisfy the curve equation */
    TKMS_ERR_NOT_IN_GROUP,       /* point on the curve but not in the subgroup*/
    TKMS_ERR_INFINITY,           /* identity where it is not allowed          */
    TKMS_ERR_BAD_SCALAR,         /* secret is zero or not below r             */
    TKMS_ERR_VERIFY_FAILED,      /* a signature did not verify                */
    TKMS_ERR_NOT_ENOUGH_SHARES,  /* fewer than K valid shares or partials     */
    TKMS_ERR_DUPLICATE_INDEX,    /* the same share index given twice          */
    TKMS_ERR_BAD_PASSWORD,       /* keystore checksum did not match           */
    TKMS_ERR_BAD_FORMAT,         /* a file or JSON document is malformed      */
    TKMS_ERR_UNSUPPORTED,        /* well-formed but not supported (e.g. KDF)  */
    TKMS_ERR_IO,                 /* reading or writing a file failed          */
    TKMS_ERR_NO_MEMORY,          /* allocation failed                         */
    TKMS_ERR_RNG,                /* the randomness source failed              */
    TKMS_ERR_NOT_FOUND,          /* nothing satisfies the request             */
    TKMS_ERR_REFUSED,            /* refused by slashing protection: slashable */
    TKMS_ERR_WRONG_GENESIS,      /* another chain's genesis validators root   */
} tkms_status;

/* Error detail. `message` is always NUL-terminated. */
#define TKMS_ERR_MESSAGE_SIZE 256
typedef struct {
    tkms_status status;
    char message[TKMS_ERR_MESSAGE_SIZE];
} tkms_err;

/* Returns a static, lower-case description of `status` ("bad password"). */
const char *tkms_status_string(tkms_status status);

/*
 * Records `status` and a printf-style message in `err` (if err is not NULL)
 * and returns `status`, so parsers can write `return tkms_fail(err, ...)`.
 * Never pass secret material as an argument.
 */
tkms_status tkms_fail(tkms_err *err, tkms_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears `err` to TKMS_OK with an empty message (err may be NULL). */
void tkms_err_clear(tkms_err *err);

#endif /* TKMS_STATUS_H */
