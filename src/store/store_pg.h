/*
 * store_pg.h — what the PostgreSQL halves of the stores (slashing_pg.c,
 * banlist_pg.c) share: telling a PostgreSQL URL from a file path, hiding
 * its password in messages, a connection with the session settings the
 * stores rely on, opened again after it was lost, and parameterized
 * statements (values are always bound, never spliced into SQL) with
 * binary results, each prepared once per connection. Internal to libtkms.
 *
 * Every helper that fails returns TKMS_ERR_IO with a one-line message
 * "<what>: could not <doing>: <PostgreSQL's primary message>".
 */
#ifndef TKMS_STORE_PG_H
#define TKMS_STORE_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "tkms/status.h"

#define STORE_PG_MAX_PARAMS 8
#define STORE_PG_PREPARED_MAX 32            /* statements prepared per connection  */
#define STORE_PG_CONNECT_TIMEOUT_S "10"     /* unless the URL sets connect_timeout */
#define STORE_PG_LOCATION_SIZE 512          /* a redacted location, for messages   */

/* Advisory locks: database-wide ones use the two-int form
 * (STORE_PG_LOCK_CLASS, which store), per-key ones the bigint form, so the
 * two never collide. Decimal, as they are written into constant SQL. */
#define STORE_PG_LOCK_CLASS 1953066355      /* 0x746b6d73, "tkms" */
#define STORE_PG_LOCK_SLASHING 1
#define STORE_PG_LOCK_BANLIST 2
#define STORE_PG_STR_(x) #x
#define STORE_PG_STR(x) STORE_PG_STR_(x)    /* a constant into SQL text */

/* True when `location` is a "postgres://" or "postgresql://" URL. */
bool store_is_postgres_url(const char *location);

/* `location` for messages: a URL's password (user:PASSWORD@, or any
 * query parameter whose name ends in "password") replaced by "***";
 * anything else copied (truncated to size). */
void store_redact_location(char *out, size_t size, const char *location);

/* A connection and what was prepared on it. */
typedef struct {
    PGconn *conn;
    int lock_timeout_ms;
    const char *what;                        /* "slashing db", "ban list" */
    size_t prepared;                         /* statements prepared so far */
    const char *prepared_sql[STORE_PG_PREPARED_MAX];
} store_pg;

/*
 * Connects to `url` (connect_timeout STORE_PG_CONNECT_TIMEOUT_S unless the
 * URL says otherwise, application_name "tkms") and sets the session:
 * lock_timeout = lock_timeout_ms (every lock wait, advisory ones
 * included, gives up after it), synchronous_commit = on (COMMIT returns
 * once the commit record is flushed), client_min_messages = warning;
 * notices are dropped, never printed. `what` prefixes messages. The
 * message of a failure names the redacted URL.
 */
tkms_status store_pg_connect(store_pg **out, const char *url, int lock_timeout_ms,
                             const char *what, tkms_err *err);

/* Closes the connection (the server rolls back an open transaction). */
void store_pg_close(store_pg *pg);

/*
 * Starts a transaction with the constant `begin_sql` (may hold several
 * statements: "BEGIN; SELECT pg_advisory_xact_lock(…)"), reconnecting
 * first when the connection was lost — also when that is only found out
 * by begin_sql itself (a server restarted, a session terminated since the
 * last call): then it reconnects and tries once more, which is safe as
 * nothing had happened in the transaction yet. On failure no transaction
 * is left open.
 */
tkms_status store_pg_begin(store_pg *pg, const char *begin_sql, const char *doing,
                           tkms_err *err);

/* Statement parameters, in order ($1, $2, …): int8, bytea or text. */
typedef struct {
    int n;
    Oid types[STORE_PG_MAX_PARAMS];
    const char *values[STORE_PG_MAX_PARAMS];
    int lengths[STORE_PG_MAX_PARAMS];
    int formats[STORE_PG_MAX_PARAMS];
    unsigned char ints[STORE_PG_MAX_PARAMS][8];
} store_pg_params;

void store_pg_int64(store_pg_params *p, int64_t v);
/* `bytes` NULL is SQL NULL. The bytes are borrowed until the statement ran. */
void store_pg_bytes(store_pg_params *p, const void *bytes, size_t len);
/* NUL-terminated text, borrowed; NULL is SQL NULL. */
void store_pg_text(store_pg_params *p, const char *text);

/*
 * Runs the constant statement `sql` with parameters `p` (may be NULL) and
 * binary results, prepared on first use (a statement must always get
 * parameters of the same types). With `res` the result is handed over
 * (PQclear it); with NULL it is dropped. A failed statement is
 * TKMS_ERR_IO.
 */
tkms_status store_pg_exec(store_pg *pg, PGresult **res, const char *sql,
                          const store_pg_params *p, const char *doing, tkms_err *err);

/* Runs constant SQL without parameters or results (several statements
 * allowed: schema creation). */
tkms_status store_pg_run(store_pg *pg, const char *sql, const char *doing, tkms_err *err);

/* COMMIT: TKMS_OK only when PostgreSQL says it committed (a transaction
 * that had failed answers COMMIT with ROLLBACK: that is TKMS_ERR_IO). On
 * failure nothing is left open. */
tkms_status store_pg_commit(store_pg *pg, const char *doing, tkms_err *err);

/* Rolls back the open transaction, if any (never fails visibly). */
void store_pg_rollback(store_pg *pg);

/* The advisory lock key of a byte string (its first 8 bytes, as a signed
 * big-endian integer: public keys are uniformly random). */
int64_t store_pg_lock_key(const uint8_t *bytes, size_t len);

/* Binary result columns. store_pg_int reads an int2/int4/int8/bool column
 * (false when NULL or of another size); store_pg_bytes_at points at a
 * bytea or text column (NULL when NULL). */
bool store_pg_int(const PGresult *res, int row, int col, int64_t *out);
const uint8_t *store_pg_bytes_at(const PGresult *res, int row, int col, size_t *len);

#endif /* TKMS_STORE_PG_H */
