/*
 * keymanager.h — the Ethereum keymanager API at the gateway: GET, POST and
 * DELETE /eth/v1/keystores behind a bearer token. An imported keystore is
 * split among the threshold servers and forgotten; a deleted key returns
 * its slashing history (EIP-3076), merged from the gateway and the servers.
 *
 * Authorization: "Authorization: Bearer <token>", the token being the
 * first line of keymanager.token_file (read once at start; at least 16
 * characters), compared in constant time (BLAKE2b digests of both, so not
 * even the length leaks). Missing or wrong: 401. Without
 * keymanager.token_file every route here answers 404 "keymanager API is
 * off". Only the main (HTTPS) listener serves it — a client's plain
 * loopback listener answers 404 — so the token never crosses plain HTTP;
 * on a main listener in mutual-TLS mode (some client uses `auth: cert`)
 * the caller also needs a certificate of tls.ca. Errors are the spec's
 * {"message": "…"}.
 *
 * GET /eth/v1/keystores
 *   200 {"data": [{"validating_pubkey": "0x…", "derivation_path": "",
 *                  "readonly": false}, …]}: every key the gateway serves
 *   (whichever client it is assigned to).
 *
 * POST /eth/v1/keystores
 *   {"keystores": ["<EIP-2335 JSON>", …], "passwords": ["…", …],
 *    "slashing_protection": "<EIP-3076 JSON>" (optional)}
 *   → 200 {"data": [{"status": "imported"|"duplicate"|"error",
 *                    "message": "…"}, …]}, one per keystore, in order;
 *   400 {"message"} for a body of the wrong shape or an interchange that
 *   does not import (malformed, another chain): then nothing is imported.
 *   Each keystore, on the keymanager's worker thread: parsed, refused if
 *   it is a tkms share keystore (only whole validator keys come in here),
 *   decrypted with its password (a wrong one: "error", saying so);
 *   "duplicate" when the gateway serves the key already; otherwise split
 *   K-of-n among the n configured servers, one share each, with
 *
 *       K = floor(n/2) + 1     (a majority of the servers; n >= 2: with
 *                               one server the share would be the whole
 *                               key, so that is an error)
 *
 *   owners = the server names, indices by ascending name (the owner map's
 *   prefix sums, tkms/owners.h). Each share goes to its server's POST
 *   /v1/keys over mutual TLS (servers_tls.*; the servers' rules must give
 *   the gateway's certificate `admin`) as a share keystore (keystore.kdf,
 *   keystore.scrypt_n) under a fresh random password sent in the same
 *   request, with the key's slashing history: the interchange's records
 *   for that key — or an empty history naming the key — so each server's
 *   database starts from it (and a key deleted earlier is in use again).
 *   The same history goes into the gateway's own slashing database. Every
 *   server must answer "imported"; otherwise the shares that were imported
 *   are deleted again (DELETE at those servers) and the status is "error"
 *   naming the server and its answer. Then the group file (with the
 *   owners) joins the registry, assigned to the configured client when
 *   there is exactly one, else to none (the message says so: assign it
 *   with `tkms gateway assign`). The secret key, the shares, their
 *   passwords and every decrypted byte are wiped (the request body too, in
 *   place, once parsed): nothing of the key reaches the gateway's disk or
 *   its log. (Copies that the JSON parser, libcurl or OpenSSL made in
 *   memory they have freed are beyond reach; the CLI disables core dumps.)
 *   The gateway's own password (password_file) is not used here: each
 *   share has its own random password, which only its server ever sees.
 *
 * DELETE /eth/v1/keystores  {"pubkeys": ["0x…", …]}
 *   → 200 {"data": [{"status": "deleted"|"not_active"|"not_found"|"error",
 *                    "message": "…"}, …],
 *          "slashing_protection": "<EIP-3076 JSON>"}
 *   For every key at once: the gateway stops serving it (sign requests
 *   get 404 at once), deletes it from its own slashing database (the key's
 *   history is kept and returned; checks for it are refused from then on),
 *   waits until no sign request still uses the key's registry entry (the
 *   rule in gateway_internal.h), removes it from the registry, then asks
 *   every configured server to delete it (DELETE /v1/keys/0xKEY, which
 *   returns that server's history). The interchange is the union of the
 *   gateway's and every server's records (merged in a scratch in-memory
 *   database) for every key whose status is not "not_found". Status:
 *     deleted     the gateway served the key or a server held shares of
 *                 it, and everything above succeeded;
 *     not_active  nobody held it, but the gateway has history for it (a
 *                 key deleted before): the history is returned;
 *     not_found   nobody held it and there is no history;
 *     error       something failed (a server could not be asked, a
 *                 database…): the message says what; the gateway no
 *                 longer serves the key in any case, and whatever history
 *                 was collected is returned. Repeat the DELETE: servers
 *                 are asked again even for keys the gateway no longer
 *                 serves.
 *
 * Order and threads: keymanager requests run one at a time, in arrival
 * order (at most GATEWAY_KEYMANAGER_MAX_WAITING waiting; more: 503). The
 * slow parts (KDFs, splitting, the servers' round trips with the blocking
 * tkms/http_client.h) run on the keymanager's own worker thread; the
 * gateway's slashing database is used only through a job on the records
 * worker (it has the handle to itself there, gateway_internal.h; sign
 * requests' slashing checks wait meanwhile: an interchange import is one
 * transaction); the registry is changed on the event loop. Nothing here
 * blocks the loop beyond the registry's own file writes. Servers are
 * called one after the other.
 */
#ifndef TKMS_GATEWAY_KEYMANAGER_H
#define TKMS_GATEWAY_KEYMANAGER_H

#include <stdbool.h>
#include <stdint.h>

#include "gateway_internal.h"

#define GATEWAY_KEYMANAGER_PATH "/eth/v1/keystores"
#define GATEWAY_KEYMANAGER_MAX_WAITING 64u      /* requests queued behind the one under way */
#define GATEWAY_KEYMANAGER_MAX_KEYS 1024u       /* keystores or pubkeys in one request      */
#define GATEWAY_KEYMANAGER_TOKEN_MIN 16u        /* characters of the token                  */
#define GATEWAY_KEYMANAGER_SERVER_TIMEOUT_MS 30000u   /* one call to a server's admin API  */

/*
 * Sets up the keymanager API when cfg->keymanager_token_file is set (else
 * leaves g->keymanager NULL: the routes answer 404): reads the token, starts
 * its worker and loop queue. Needs g->base, g->keys, g->fanout and
 * g->records open. TKMS_ERR_IO (the token file), TKMS_ERR_BAD_FORMAT (a
 * token shorter than GATEWAY_KEYMANAGER_TOKEN_MIN), TKMS_ERR_NO_MEMORY, or
 * TKMS_ERR_INVALID_ARGUMENT when the records worker does not have exactly
 * one thread (the exclusivity rule of gateway_internal.h would not hold).
 */
tkms_status gateway_keymanager_open(struct tkms_gateway *g, tkms_err *err);

/*
 * Finishes and frees the keymanager (NULL g->keymanager is fine). Call it
 * with g->stopping set and no thread running the loop, AFTER
 * gateway_records_close (whose last jobs may hand keymanager work back)
 * and BEFORE tkms_fanout_free and event_base_free. The work under way ends
 * (a server call may take up to GATEWAY_KEYMANAGER_SERVER_TIMEOUT_MS);
 * requests not finished are answered 503 (the answers are dropped, the
 * listeners being gone). A DELETE cut short this way leaves the key in the
 * registry (not served until the restart): repeat it.
 */
void gateway_keymanager_close(struct tkms_gateway *g);

/* The HTTP side of GATEWAY_KEYMANAGER_PATH (any method): authorization,
 * then GET answers at once, POST and DELETE queue their work. Loop thread. */
void gateway_keymanager_handle(struct tkms_gateway *g, const gateway_listener *l,
                               tkms_http_request *req, double started);

/* True when `req` reached the main listener with the keymanager's bearer
 * token: the operator, who may also use the migration routes
 * (migration.h). False when the keymanager API is off. Loop thread. */
bool gateway_keymanager_operator(const struct tkms_gateway *g, const gateway_listener *l,
                                 tkms_http_request *req);

/* True while a DELETE is retiring the key: the gateway no longer serves it
 * (sign requests get 404, listings leave it out) although its registry
 * entry still exists. Loop thread. */
bool gateway_keymanager_retired(const struct tkms_gateway *g,
                                const uint8_t key[TKMS_PUBLIC_KEY_SIZE]);

#endif /* TKMS_GATEWAY_KEYMANAGER_H */
