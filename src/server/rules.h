/*
 * rules.h — who may do what on a threshold server: authorization rules by
 * client, operation and (for signing) signing type and validator key.
 *
 * A client is the authenticated peer of a mutual-TLS connection, named by
 * the CN of its certificate. A rule names one client (or "*", any
 * authenticated client), a set of operations, and for signing a set of
 * group public keys (or any key). A request is allowed when at least one
 * rule matches its client, its operation and, for signing, its signing
 * type and key. Everything else is denied: an empty rule set denies every
 * request.
 *
 * Operation names (as in the server's YAML file, case-sensitive):
 *   sign        every signing type;
 *   ATTESTATION, BLOCK_V2, RANDAO_REVEAL, …
 *               one signing type, by its Web3Signer name
 *               (tkms_eth2_type_name);
 *   admin       key import/export/listing and the other operator calls;
 *   ceremony    taking part in a DKG or reshare;
 *   metrics     GET /metrics.
 * Keys only restrict signing: a rule's keys are ignored for admin,
 * ceremony and metrics.
 *
 * This module knows nothing of YAML (server_config.c reads the file and
 * calls server_rules_add); it is unit-tested on its own. A rule set is
 * filled once at start-up and is then only read: server_rules_allow and
 * server_rules_denial may be called from any number of threads at once.
 */
#ifndef TKMS_SERVER_RULES_H
#define TKMS_SERVER_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tkms/eth2.h"
#include "tkms/status.h"

#define SERVER_RULES_MAX 1024u             /* rules in one set                  */
#define SERVER_RULE_KEY_SIZE 48u           /* a BLS group public key (G1, compressed) */
#define SERVER_CLIENT_MAX_SIZE 255u        /* bytes of a client name, without NUL */
#define SERVER_RULES_DENIAL_SIZE TKMS_ERR_MESSAGE_SIZE

/* What a request does. A signing request also carries its signing type. */
typedef enum {
    SERVER_OP_SIGN = 0,
    SERVER_OP_ADMIN,
    SERVER_OP_CEREMONY,
    SERVER_OP_METRICS,
} server_operation;

/* "sign", "admin", "ceremony", "metrics"; "unknown" otherwise. */
const char *server_operation_name(server_operation op);

/*
 * A set of operations a rule grants: bit t (0 <= t < SERVER_SIGN_TYPE_COUNT)
 * is signing type t (tkms_eth2_type), and three more bits are admin,
 * ceremony and metrics.
 */
typedef uint32_t server_op_set;
#define SERVER_SIGN_TYPE_COUNT ((unsigned)TKMS_ETH2_BLS_TO_EXECUTION_CHANGE + 1u)
#define SERVER_OPS_SIGN_TYPE(type) ((server_op_set)1u << (unsigned)(type))
#define SERVER_OPS_SIGN_ALL ((server_op_set)((1u << SERVER_SIGN_TYPE_COUNT) - 1u))
#define SERVER_OPS_ADMIN ((server_op_set)1u << 24)
#define SERVER_OPS_CEREMONY ((server_op_set)1u << 25)
#define SERVER_OPS_METRICS ((server_op_set)1u << 26)
#define SERVER_OPS_ALL (SERVER_OPS_SIGN_ALL | SERVER_OPS_ADMIN | SERVER_OPS_CEREMONY | \
                        SERVER_OPS_METRICS)

/*
 * Adds the operation called `name` (see the list at the top) to *set.
 * Returns TKMS_OK, or TKMS_ERR_BAD_FORMAT with "unknown operation 'NAME'
 * (expected sign, admin, ceremony, metrics or a signing type such as
 * ATTESTATION)" (the name shown printable and shortened), or
 * TKMS_ERR_INVALID_ARGUMENT for a NULL argument.
 */
tkms_status server_op_set_add(server_op_set *set, const char *name, tkms_err *err);

/*
 * Decodes a rule's key: 48 bytes of hex, "0x"-prefixed or not, either case
 * (the point itself is not checked: a key that is not a group key simply
 * never matches). Returns TKMS_OK or TKMS_ERR_BAD_FORMAT ("bad key 'TEXT':
 * expected 0x and 96 hex digits").
 */
tkms_status server_rule_key_parse(uint8_t key[SERVER_RULE_KEY_SIZE], const char *text,
                                  tkms_err *err);

/*
 * True when `client` may be the client of a rule: "*" or 1..255 bytes
 * without control characters (bytes below 0x20 and 0x7f); UTF-8 is fine.
 */
bool server_client_name_valid(const char *client);

typedef struct server_rules server_rules;

/* An empty rule set (denies everything). TKMS_OK or TKMS_ERR_NO_MEMORY. */
tkms_status server_rules_new(server_rules **out, tkms_err *err);

/* Frees the set (NULL is fine). */
void server_rules_free(server_rules *rules);

/* Number of rules in the set (0 for NULL). */
size_t server_rules_count(const server_rules *rules);

/*
 * Adds one rule: `client` (copied; "*" = any authenticated client) may do
 * the operations in `ops`; signing only for the `key_count` keys in `keys`
 * (copied), or for any key when `any_key`.
 * Returns TKMS_OK, or
 *   TKMS_ERR_BAD_FORMAT  invalid client name ("client: …"), no operations
 *                        or bits outside SERVER_OPS_ALL ("operations: …"),
 *                        keys listed for a rule that grants no signing
 *                        type ("keys: …"), SERVER_RULES_MAX rules already;
 *   TKMS_ERR_INVALID_ARGUMENT  rules or client NULL, keys NULL with a
 *                        non-zero key_count, or neither any_key nor a key;
 *   TKMS_ERR_NO_MEMORY.
 * The set is unchanged on failure.
 */
tkms_status server_rules_add(server_rules *rules, const char *client, server_op_set ops,
                             bool any_key, const uint8_t (*keys)[SERVER_RULE_KEY_SIZE],
                             size_t key_count, tkms_err *err);

/*
 * The same from text, as a config file gives it: operation names (see
 * server_op_set_add), and key texts (see server_rule_key_parse) where the
 * single entry "*" means any key; keys NULL (key_count 0) also means any
 * key. "*" mixed with keys, an empty operation list and an empty key list
 * (keys not NULL, key_count 0) are refused. Messages name the entry:
 * "operations[1]: unknown operation 'sgin' (…)", "keys[0]: bad key …".
 * Same results as server_rules_add.
 */
tkms_status server_rules_add_names(server_rules *rules, const char *client,
                                   const char *const *operations, size_t operation_count,
                                   const char *const *keys, size_t key_count,
                                   tkms_err *err);

/*
 * True when some rule lets `client` do `op`. For SERVER_OP_SIGN the rule
 * must grant signing type `type` and hold `key` (48 bytes) among its keys
 * or allow any key; a NULL key matches only any-key rules. For the other
 * operations `type` and `key` are ignored. A NULL or empty client (not
 * authenticated), a NULL rule set, an unknown operation or signing type
 * are denied.
 */
bool server_rules_allow(const server_rules *rules, const char *client, server_operation op,
                        tkms_eth2_type type, const uint8_t *key);

/*
 * Writes the one-line reason for a denial into `out` (`size` bytes,
 * SERVER_RULES_DENIAL_SIZE is enough), NUL-terminated, printable ASCII:
 *   "client gateway-2 may not sign ATTESTATION for key 0x…"
 *   "client gateway-2 may not sign ATTESTATION"        (key NULL)
 *   "client operator may not use admin"
 *   "an unauthenticated client may not use metrics"    (client NULL or "")
 * The client name is shown with non-printable bytes as '?' and cut to 64
 * bytes. Nothing secret is involved: keys here are public keys.
 */
void server_rules_denial(char *out, size_t size, const char *client, server_operation op,
                         tkms_eth2_type type, const uint8_t *key);

#endif /* TKMS_SERVER_RULES_H */
