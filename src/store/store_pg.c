/*
 * store_pg.c — the PostgreSQL plumbing shared by the stores that can live
 * in PostgreSQL (store_pg.h): URL recognition and redaction, connecting
 * with fixed session settings, reconnecting, and parameterized statements
 * with binary parameters and results over libpq, prepared once per
 * connection (a prepared statement skips parsing and planning: a check,
 * about ten statements, costs a fraction of what it would otherwise).
 */
#include "store_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INT8_OID 20
#define BYTEA_OID 17
#define TEXT_OID 25

bool store_is_postgres_url(const char *location)
{
    return location != NULL && (strncmp(location, "postgres://", 11) == 0 ||
                                strncmp(location, "postgresql://", 13) == 0);
}

/* Appends [s, s+n) to out (size bytes, NUL-terminated), truncating. */
static void append(char *out, size_t size, size_t *used, const char *s, size_t n)
{
    if (*used + 1 >= size)
        return;
    size_t room = size - 1 - *used;
    if (n > room)
        n = room;
    memcpy(out + *used, s, n);
    *used += n;
    out[*used] = '\0';
}

void store_redact_location(char *out, size_t size, const char *location)
{
    size_t used = 0;
    if (size == 0)
        return;
    out[0] = '\0';
    if (!store_is_postgres_url(location)) {
        append(out, size, &used, location, strlen(location));
        return;
    }
    const char *authority = strstr(location, "://") + 3;
    size_t auth_len = strcspn(authority, "/?");
    const char *at = NULL;
    for (const char *c = authority; c < authority + auth_len; c++)
        if (*c == '@')
            at = c;
    const char *colon = at != NULL ? memchr(authority, ':', (size_t)(at - authority)) : NULL;
    if (colon != NULL) {
        append(out, size, &used, location, (size_t)(colon + 1 - location));
        append(out, size, &used, "***", 3);
        append(out, size, &used, at, (size_t)(authority + auth_len - at));
    } else {
        append(out, size, &used, location, (size_t)(authority + auth_len - location));
    }
    const char *rest = authority + auth_len;
    const char *query = strchr(rest, '?');
    if (query == NULL) {
        append(out, size, &used, rest, strlen(rest));
        return;
    }
    append(out, size, &used, rest, (size_t)(query + 1 - rest));
    for (const char *param = query + 1; *param != '\0';) {
        size_t len = strcspn(param, "&");
        const char *eq = memchr(param, '=', len);
        size_t key_len = eq != NULL ? (size_t)(eq - param) : 0;
        if (key_len >= 8 && strncmp(eq - 8, "password", 8) == 0) {
            append(out, size, &used, param, key_len + 1);
            append(out, size, &used, "***", 3);
        } else {
            append(out, size, &used, param, len);
        }
        param += len;
        if (*param == '&')
            append(out, size, &used, param++, 1);
    }
}

/* The first line of a libpq message, control characters made spaces. */
static void one_line(char *out, size_t size, const char *message)
{
    if (message == NULL || message[0] == '\0')
        message = "unknown error";
    size_t n = strcspn(message, "\n");
    while (n > 0 && (message[n - 1] == ' ' || message[n - 1] == '\r'))
        n--;
    if (n >= size)
        n = size - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)message[i] < 0x20 ? ' ' : message[i];
    out[n] = '\0';
}

static tkms_status fail(PGconn *conn, const PGresult *res, const char *what, const char *doing,
                        tkms_err *err)
{
    char why[200];
    const char *primary = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    one_line(why, sizeof why, primary != NULL ? primary : PQerrorMessage(conn));
    return tkms_fail(err, TKMS_ERR_IO, "%s: could not %s: %s", what, doing, why);
}

static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static tkms_status set_session(store_pg *pg, tkms_err *err)
{
    char timeout[24];
    snprintf(timeout, sizeof timeout, "%d", pg->lock_timeout_ms);
    store_pg_params p = {0};
    store_pg_text(&p, timeout);
    pg->prepared = 0;   /* a new session has none */
    return store_pg_exec(pg, NULL,
                         "SELECT set_config('lock_timeout', $1, false),"
                         " set_config('synchronous_commit', 'on', false),"
                         " set_config('client_min_messages', 'warning', false)",
                         &p, "set up the session", err);
}

tkms_status store_pg_connect(store_pg **out, const char *url, int lock_timeout_ms,
                             const char *what, tkms_err *err)
{
    static const char *const keywords[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *const values[] = {STORE_PG_CONNECT_TIMEOUT_S, "tkms", url, NULL};
    char where[STORE_PG_LOCATION_SIZE];
    store_redact_location(where, sizeof where, url);
    *out = NULL;
    store_pg *pg = calloc(1, sizeof *pg);
    if (pg == NULL)
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "%s: out of memory", what);
    pg->lock_timeout_ms = lock_timeout_ms;
    pg->what = what;
    /* Keywords are applied in order, so the URL's own settings win. */
    pg->conn = PQconnectdbParams(keywords, values, 1);
    if (pg->conn == NULL) {
        free(pg);
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "%s: out of memory connecting to %s", what,
                         where);
    }
    tkms_status status = TKMS_OK;
    if (PQstatus(pg->conn) != CONNECTION_OK) {
        char why[200];
        one_line(why, sizeof why, PQerrorMessage(pg->conn));
        status = tkms_fail(err, TKMS_ERR_IO, "%s: could not connect to %s: %s", what, where, why);
    } else {
        PQsetNoticeProcessor(pg->conn, ignore_notice, NULL);
        status = set_session(pg, err);
    }
    if (status != TKMS_OK) {
        store_pg_close(pg);
        return status;
    }
    *out = pg;
    return TKMS_OK;
}

void store_pg_close(store_pg *pg)
{
    if (pg == NULL)
        return;
    PQfinish(pg->conn);
    free(pg);
}

/* Outside a transaction: when the connection was lost, reconnects and
 * sets the session again. TKMS_OK when the connection is usable. */
static tkms_status ready(store_pg *pg, tkms_err *err)
{
    if (PQstatus(pg->conn) == CONNECTION_OK) {
        store_pg_rollback(pg);   /* nothing should be open; make sure */
        return TKMS_OK;
    }
    PQreset(pg->conn);
    if (PQstatus(pg->conn) != CONNECTION_OK)
        return fail(pg->conn, NULL, pg->what, "reconnect to the database", err);
    return set_session(pg, err);
}

tkms_status store_pg_begin(store_pg *pg, const char *begin_sql, const char *doing,
                           tkms_err *err)
{
    tkms_status status = ready(pg, err);
    if (status != TKMS_OK)
        return status;
    status = store_pg_run(pg, begin_sql, doing, err);
    if (status != TKMS_OK && PQstatus(pg->conn) != CONNECTION_OK &&
        (status = ready(pg, err)) == TKMS_OK)
        status = store_pg_run(pg, begin_sql, doing, err);
    if (status != TKMS_OK)
        store_pg_rollback(pg);
    return status;
}

static void add(store_pg_params *p, Oid type, const char *value, int len, int format)
{
    if (p->n >= STORE_PG_MAX_PARAMS)
        return;   /* cannot happen: the callers' statements are constant */
    p->types[p->n] = type;
    p->values[p->n] = value;
    p->lengths[p->n] = len;
    p->formats[p->n] = format;
    p->n++;
}

void store_pg_int64(store_pg_params *p, int64_t v)
{
    if (p->n >= STORE_PG_MAX_PARAMS)
        return;
    uint64_t u = (uint64_t)v;
    for (int i = 7; i >= 0; i--, u >>= 8)
        p->ints[p->n][i] = (unsigned char)(u & 0xff);
    add(p, INT8_OID, (const char *)p->ints[p->n], 8, 1);
}

void store_pg_bytes(store_pg_params *p, const void *bytes, size_t len)
{
    add(p, BYTEA_OID, bytes, bytes != NULL ? (int)len : 0, 1);
}

void store_pg_text(store_pg_params *p, const char *text)
{
    add(p, TEXT_OID, text, text != NULL ? (int)strlen(text) : 0, 1);
}

/* The name of `sql` prepared on this connection, preparing it first;
 * false (and name unset) when the cache is full: run it unprepared. */
static tkms_status prepared_name(store_pg *pg, const char *sql, const store_pg_params *p,
                                 char name[32], bool *prepared, const char *doing, tkms_err *err)
{
    *prepared = false;
    for (size_t i = 0; i < pg->prepared; i++)
        if (pg->prepared_sql[i] == sql || strcmp(pg->prepared_sql[i], sql) == 0) {
            snprintf(name, 32, "tkms_%zu", i);
            *prepared = true;
            return TKMS_OK;
        }
    if (pg->prepared == STORE_PG_PREPARED_MAX)
        return TKMS_OK;
    snprintf(name, 32, "tkms_%zu", pg->prepared);
    PGresult *r = PQprepare(pg->conn, name, sql, p != NULL ? p->n : 0,
                            p != NULL ? p->types : NULL);
    tkms_status status = TKMS_OK;
    if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK)
        status = fail(pg->conn, r, pg->what, doing, err);
    PQclear(r);
    if (status == TKMS_OK) {
        pg->prepared_sql[pg->prepared++] = sql;
        *prepared = true;
    }
    return status;
}

tkms_status store_pg_exec(store_pg *pg, PGresult **res, const char *sql,
                          const store_pg_params *p, const char *doing, tkms_err *err)
{
    if (res != NULL)
        *res = NULL;
    char name[32];
    bool prepared = false;
    tkms_status status = prepared_name(pg, sql, p, name, &prepared, doing, err);
    if (status != TKMS_OK)
        return status;
    int n = p != NULL ? p->n : 0;
    const char *const *values = p != NULL ? p->values : NULL;
    const int *lengths = p != NULL ? p->lengths : NULL, *formats = p != NULL ? p->formats : NULL;
    PGresult *r = prepared ? PQexecPrepared(pg->conn, name, n, values, lengths, formats, 1)
                           : PQexecParams(pg->conn, sql, n, p != NULL ? p->types : NULL, values,
                                          lengths, formats, 1);
    ExecStatusType st = r != NULL ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        status = fail(pg->conn, r, pg->what, doing, err);
        PQclear(r);
        return status;
    }
    if (res != NULL)
        *res = r;
    else
        PQclear(r);
    return TKMS_OK;
}

tkms_status store_pg_run(store_pg *pg, const char *sql, const char *doing, tkms_err *err)
{
    PGresult *r = PQexec(pg->conn, sql);
    ExecStatusType st = r != NULL ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    tkms_status status = TKMS_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        status = fail(pg->conn, r, pg->what, doing, err);
    PQclear(r);
    return status;
}

tkms_status store_pg_commit(store_pg *pg, const char *doing, tkms_err *err)
{
    PGresult *r = PQexec(pg->conn, "COMMIT");
    tkms_status status = TKMS_OK;
    if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK)
        status = fail(pg->conn, r, pg->what, doing, err);
    else if (strcmp(PQcmdStatus(r), "COMMIT") != 0)
        status = tkms_fail(err, TKMS_ERR_IO, "%s: could not %s: the transaction had failed and "
                           "was rolled back", pg->what, doing);
    PQclear(r);
    if (status != TKMS_OK)
        store_pg_rollback(pg);
    return status;
}

void store_pg_rollback(store_pg *pg)
{
    if (PQstatus(pg->conn) == CONNECTION_OK && PQtransactionStatus(pg->conn) != PQTRANS_IDLE)
        PQclear(PQexec(pg->conn, "ROLLBACK"));
}

int64_t store_pg_lock_key(const uint8_t *bytes, size_t len)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 8 && i < len; i++)
        v = v << 8 | bytes[i];
    return (int64_t)v;
}

bool store_pg_int(const PGresult *res, int row, int col, int64_t *out)
{
    if (PQgetisnull(res, row, col))
        return false;
    int len = PQgetlength(res, row, col);
    if (len != 1 && len != 2 && len != 4 && len != 8)
        return false;
    const unsigned char *b = (const unsigned char *)PQgetvalue(res, row, col);
    uint64_t v = b[0] & 0x80 && len > 1 ? UINT64_MAX : 0;   /* sign-extend */
    for (int i = 0; i < len; i++)
        v = v << 8 | b[i];
    *out = (int64_t)v;
    return true;
}

const uint8_t *store_pg_bytes_at(const PGresult *res, int row, int col, size_t *len)
{
    if (PQgetisnull(res, row, col))
        return NULL;
    *len = (size_t)PQgetlength(res, row, col);
    return (const uint8_t *)PQgetvalue(res, row, col);
}
