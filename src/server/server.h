/*
 * server.h — the threshold server daemon (`tkms server`): the wiring of a
 * configuration, a data directory, the signer, the key store, network
 * ceremonies and the HTTPS API.
 *
 * Data directory D (created 0700 when absent):
 *   D/identity.json     the server's Ed25519 identity, encrypted with the
 *                       data directory's password (created at first start)
 *   D/keys/…            share keystores (keyring.h)
 *   D/slashing.sqlite   slashing protection (tkms/slashing.h), bound to
 *                       the configured genesis validators root
 *   D/audit.log         the hash-chained audit log (tkms/audit.h)
 *   D/ceremonies/…      network ceremonies in progress (ceremony_host.h)
 *
 * API (HTTPS, mutual TLS 1.3 only; the client is the CN of its
 * certificate; every route but /health needs a rule, deny by default;
 * errors are {"error": "<reason>"}):
 *   POST   /v1/eth2/sign/0x<key>        sign (the Web3Signer request body);
 *                                        signer.h gives the response and
 *                                        the statuses
 *   GET    /v1/keys                      admin: list keys (keyring_list)
 *   POST   /v1/keys                      admin: import share keystores:
 *          {"keystores":["<keystore JSON>",…],"passwords":["…",…],
 *           "slashing_protection":"<EIP-3076 JSON>"(optional)}
 *          → {"data":[{"status":"imported"|"duplicate"|"error",
 *                      "message":"…"},…]}
 *   DELETE /v1/keys/0x<key>              admin: delete a key → {"status":
 *          "deleted","slashing_protection":"<EIP-3076 JSON of the key>"}
 *   POST   /v1/keys/0x<key>/lock|unlock  admin → {"status":"locked"|"ready"}
 *   POST   /v1/ceremony, /v1/ceremony/0x<id>/round|commit|abort,
 *   GET    /v1/ceremony/0x<id>           ceremony (ceremony_host.h)
 *   GET    /metrics                      metrics (Prometheus text)
 *   GET    /health                       any authenticated client:
 *          {"status":"ok","server":"0x<identity>","keys":{"ready":…,
 *           "locked":…,"unavailable":…}}
 * Signing, admin and ceremony work runs on the worker pool, never on the
 * event loop. Every admin action and ceremony step is in the audit log.
 */
#ifndef TKMS_SERVER_SERVER_H
#define TKMS_SERVER_SERVER_H

#include "server_config.h"
#include "tkms/status.h"

typedef struct tkms_server tkms_server;

/*
 * Opens everything the configuration names: the data directory, the
 * identity (created when absent), the slashing database (bound to the
 * configured genesis validators root; another root is refused), the audit
 * log, the keys (a key whose keystore cannot be read is reported
 * unavailable, the others serve), and binds the listening socket.
 * `password` is the data directory's (copied and wiped on free); `cfg`
 * is borrowed and must outlive the server.
 * Returns TKMS_OK or the first failure with its reason.
 */
tkms_status tkms_server_open(tkms_server **out, const server_config *cfg, const char *password,
                             tkms_err *err);

/* FOR TESTS AND DEMONSTRATIONS ONLY: makes every partial this server
 * returns invalid (tkms_signer_inject_invalid_partials); `tkms server`
 * does it when TKMS_FAULT_INJECTION=invalid-partial is set, and says so
 * loudly in its log. */
void tkms_server_inject_invalid_partials(tkms_server *server);

/* FOR TESTS AND DEMONSTRATIONS ONLY: holds every answer to a sign request
 * (signed or refused) for `delay_ms` milliseconds (1..600000) after it is
 * finished and durable, then sends it — a slow server, as a congested link
 * or an overloaded machine makes one (reply_delay.h). The waiting is on a
 * thread of its own: the worker pool and the event loop are not held up,
 * and /health and /metrics answer at once. `tkms server` does it when
 * TKMS_FAULT_INJECTION=delay-ms=N is set, and says so loudly in its log.
 * Call before tkms_server_run, at most once. TKMS_OK, or
 * TKMS_ERR_INVALID_ARGUMENT (delay out of range, or set already) or
 * TKMS_ERR_NO_MEMORY with the reason. */
tkms_status tkms_server_inject_delay(tkms_server *server, unsigned delay_ms, tkms_err *err);

/* The bound port (useful with port 0). */
uint16_t tkms_server_port(const tkms_server *server);

/* Serves until SIGINT or SIGTERM, then finishes the requests in
 * progress. Returns TKMS_OK, or the reason the loop failed. */
tkms_status tkms_server_run(tkms_server *server, tkms_err *err);

/* Closes everything and wipes every secret (NULL is fine). */
void tkms_server_free(tkms_server *server);

#endif /* TKMS_SERVER_SERVER_H */
