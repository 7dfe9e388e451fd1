/*
 * migration.h — which validator client signs for each key, and moving keys
 * from one client to another while the gateway runs: by the operator
 * (`tkms gateway assign|migrate`, `tkms gateway mark-unhealthy`) or by rule.
 *
 * A key is assigned to at most one client (key_registry.h keeps it in
 * D/keys/0x…/client); only that client may sign with it (403 otherwise).
 * A move of one or more keys:
 *   1. on the migration worker thread: one record per key is appended to
 *      the gateway's audit log D/audit.log (tkms/audit.h: hash-chained,
 *      fsynced; `tkms audit verify` checks it), event "key.assign" (the key
 *      had no client) or "key.migrate", data
 *        {"pubkey": "0x…", "from": "OLD" (or ""), "to": "NEW",
 *         "cause": CAUSE, "reason": "…"};
 *      then each key's client file is written durably;
 *   2. back on the loop, the registry names the new client: the old one
 *      gets 403 from its next request, the new one may sign at once.
 * A request the old client sent before the move goes on. What keeps the
 * old and the new client from getting a slashable pair signed between them
 * is slashing protection: the gateway's own records (every BLOCK_V2 and
 * ATTESTATION is checked there before any server is asked) and each
 * server's. Nothing is audited when nothing moves (the key is already the
 * target's).
 *
 * Causes (CAUSE in the record and in the log line "key moved"):
 *   operator           `tkms gateway assign|migrate 0xKEY --to CLIENT`
 *   unhealthy-mark     `tkms gateway mark-unhealthy CLIENT`: every key of
 *                      CLIENT moves to CLIENT's standby
 *   slashing-refusals  the client got migration.max_refusals slashing
 *                      refusals (412: the gateway's or the servers') within
 *                      migration.window_seconds
 *   silence            the client holds keys and sent no sign request for
 *                      migration.silence_seconds (0: this rule is off),
 *                      counted from its last sign request, the gateway's
 *                      start or the moment it got keys, whichever is last
 * The automatic causes move every key of the client to its configured
 * standby, and only when it has one. The standby starts with no refusals
 * and a full silence period. A refusal of a request sent before a move is
 * counted against the key's client at the time of the answer.
 *
 * Operator routes: main listener only, "Authorization: Bearer" with the
 * keymanager's token (keymanager.h; without keymanager.token_file they
 * answer 404), JSON bodies, errors {"error": "…"}:
 *   POST /tkms/v1/assign          {"pubkey": "0x…", "to": "CLIENT",
 *                                  "reason": "…" (optional)}
 *   POST /tkms/v1/migrate         the same; the key must be assigned
 *                                 already (to another client)
 *   POST /tkms/v1/mark-unhealthy  {"client": "NAME", "reason": "…"}
 *   → 200 {"data": [{"pubkey", "from", "to"}, …]} (empty: nothing moved);
 *   400 malformed body, unknown client, a client without a standby, or
 *   migrate of a key that has no client; 401 missing or wrong token; 404
 *   unknown key; 503 the audit record or a client file could not be
 *   written — the keys listed in "data" have moved, the others have not.
 * Moves run one at a time in arrival order (at most
 * GATEWAY_MIGRATION_MAX_WAITING wait; more get 503).
 *
 * Offline (the gateway stopped): gateway_migration_offline does the same
 * for the registry and audit log of a data directory. The audit log's
 * lock makes it fail while a gateway runs on that directory ("… is in use
 * by another writer"): then use the routes.
 */
#ifndef TKMS_GATEWAY_MIGRATION_H
#define TKMS_GATEWAY_MIGRATION_H

#include <stdbool.h>
#include <stdint.h>

#include "gateway_internal.h"

#define GATEWAY_MIGRATION_PREFIX "/tkms/v1/"
#define GATEWAY_AUDIT_FILE "audit.log"
#define GATEWAY_MIGRATION_MAX_WAITING 64u
#define GATEWAY_MIGRATION_REASON_MAX 200u   /* bytes of an operator's reason */

/*
 * Opens the audit log (D/audit.log), the migration worker and its loop
 * queue, and the silence timer (when migration.silence_seconds is set).
 * Needs g->base and g->keys. TKMS_ERR_IO (the audit log cannot be opened
 * or is held by another writer), TKMS_ERR_BAD_FORMAT (it does not verify),
 * TKMS_ERR_NO_MEMORY.
 */
tkms_status gateway_migration_open(struct tkms_gateway *g, tkms_err *err);

/* Finishes the move under way, answers the waiting ones 503 and closes
 * the audit log. Call it with g->stopping set, no thread running the loop,
 * before gateway_registry_free and event_base_free. Safe when not open. */
void gateway_migration_close(struct tkms_gateway *g);

/* The operator routes (any path under GATEWAY_MIGRATION_PREFIX). Loop. */
void gateway_migration_handle(struct tkms_gateway *g, const gateway_listener *l,
                              tkms_http_request *req, double started);

/* The rules' inputs, from the sign path (loop thread): a sign request from
 * configured client number `client` (no lookup: this is on every request),
 * and a slashing refusal (412) answered to the client named `client` (a
 * name that is no configured client is ignored). */
void gateway_migration_sign_request(struct tkms_gateway *g, size_t client);
void gateway_migration_refusal(struct tkms_gateway *g, const char *client);

/* Keys moved since the gateway started (for /metrics). Loop thread. */
uint64_t gateway_migration_moved(const struct tkms_gateway *g);

/*
 * The offline move (`tkms gateway assign|migrate --data-dir D`): assigns
 * the key served from data directory D to `to`, with its audit record in
 * D/audit.log (cause "operator") first. With `migrate` the key must have a
 * client already. *from receives the old client ("" none). Returns
 * TKMS_OK (also when the key already was `to`'s: nothing is written),
 * TKMS_ERR_NOT_FOUND (D does not serve the key), TKMS_ERR_INVALID_ARGUMENT
 * (a bad client name or reason; migrate of an unassigned key), TKMS_ERR_IO
 * (among them: a gateway runs on D), TKMS_ERR_BAD_FORMAT (the audit log
 * does not verify), TKMS_ERR_NO_MEMORY.
 */
tkms_status gateway_migration_offline(const char *data_dir,
                                      const uint8_t key[TKMS_PUBLIC_KEY_SIZE], const char *to,
                                      bool migrate, const char *reason,
                                      char from[GATEWAY_CLIENT_NAME_MAX + 1], tkms_err *err);

#endif /* TKMS_GATEWAY_MIGRATION_H */
