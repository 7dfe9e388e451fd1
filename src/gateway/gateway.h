/*
 * gateway.h — the gateway daemon (`tkms gateway`): a Web3Signer-compatible
 * remote signer whose keys are split among threshold servers. It never
 * holds a share; it fans each request out to every server holding shares
 * of the key, combines the first K valid partials, and locks out a server
 * that returns an invalid one.
 *
 * Listeners: the main one (HTTPS; mutual TLS when a client authenticates
 * by certificate, else server-authenticated TLS with bearer tokens), and
 * one plain-HTTP loopback listener per client configured with `auth:
 * listen` (validator clients that can present neither, like Lodestar
 * 1.5.1: the address is the identity).
 *
 * Data directory D: keys/ (key_registry.h), audit.log (every key move,
 * migration.h), bans.sqlite (the ban list) and slashing.sqlite (the
 * gateway's slashing records, tkms/slashing.h),
 * unless `db` names a PostgreSQL database, which then holds both, so that
 * several gateways serving the same keys share one history and one ban
 * list (a ban made by one is seen by the others within the ban list's
 * refresh interval, TKMS_BANLIST_REFRESH_MS). The slashing database is
 * bound to genesis_validators_root: a database of another chain stops the
 * gateway from starting ("database is bound to genesis validators root
 * 0x…, not 0x…").
 *
 * Slashing protection at the gateway: a BLOCK_V2 or ATTESTATION request is
 * checked and recorded (EIP-3076, full history) in the gateway's own
 * database before any server is asked; a refusal is 412 and reaches no
 * server. The servers still check everything themselves (DESIGN §1.4):
 * the gateway's check is what makes two gateways — or an old and a new
 * validator client of one key during a migration — unable to get a
 * slashable pair signed between them, and keeps slashable requests off the
 * servers. The check runs on a worker thread with group commits (one
 * COMMIT for the checks that arrive together), never on the event loop.
 *
 * API (errors are {"error": "<reason>"}):
 *   POST /api/v1/eth2/sign/0xKEY   Web3Signer: 200 {"signature": "0x…"};
 *        400 malformed, signing-root mismatch, or (BLOCK_V2, ATTESTATION)
 *        a fork_info.genesis_validators_root that is not the gateway's;
 *        403 the key is not this client's; 404 unknown key; 412 refused
 *        by slashing protection — the gateway's own ("refused by the
 *        gateway's slashing protection: double vote …", nothing sent to
 *        the servers) or the servers'; 503 the gateway could not record
 *        its slashing check (nothing sent), or fewer than K valid partials
 *        (the reason says what each server did)
 *   GET  /api/v1/eth2/publicKeys   the keys assigned to this client
 *   GET  /upcheck                  {"status": "OK"}
 *   GET  /healthcheck              per key: healthy shares against K
 *   GET  /metrics                  Prometheus text
 *   POST /tkms/v1/assign, /tkms/v1/migrate, /tkms/v1/mark-unhealthy
 *                                  the operator's key moves (migration.h)
 * A server that answers with a validly signed response holding an invalid
 * partial is banned (tkms/banlist.h) with that response and the request
 * as evidence, logged, counted, and skipped until `tkms gateway unban`.
 */
#ifndef TKMS_GATEWAY_GATEWAY_H
#define TKMS_GATEWAY_GATEWAY_H

#include <stdint.h>

#include "gateway_config.h"
#include "tkms/status.h"

typedef struct tkms_gateway tkms_gateway;

/* Opens the data directory (created 0700), the key registry, the ban
 * list and the slashing database (TKMS_ERR_WRONG_GENESIS when it is bound
 * to another genesis validators root), and binds every listener. `cfg` is
 * borrowed and must outlive the gateway. Returns TKMS_OK or the first
 * failure with its reason. */
tkms_status tkms_gateway_open(tkms_gateway **out, const gateway_config *cfg, tkms_err *err);

/* The main listener's bound port (useful with port 0). */
uint16_t tkms_gateway_port(const tkms_gateway *g);

/* Serves until SIGINT or SIGTERM. */
tkms_status tkms_gateway_run(tkms_gateway *g, tkms_err *err);

/* Closes everything (NULL is fine). */
void tkms_gateway_free(tkms_gateway *g);

/* The ban list file of a data directory without `db`. */
#define GATEWAY_BANS_FILE "bans.sqlite"

/* The gateway's slashing database in a data directory without `db`. */
#define GATEWAY_SLASHING_FILE "slashing.sqlite"

#endif /* TKMS_GATEWAY_GATEWAY_H */
