/*
 * tkms/eth2.h — Ethereum consensus signing roots from Web3Signer sign
 * requests (the body of `POST /api/v1/eth2/sign/{pubkey}`).
 *
 * A threshold server never signs a root it is handed: it parses the
 * structured request, computes the SSZ hash_tree_root of the object, the
 * domain (from fork_info and genesis_validators_root, or the genesis fork
 * version for DEPOSIT and VALIDATOR_REGISTRATION) and the signing root
 * itself, refuses a body whose own `signingRoot` differs, and hands the
 * slashing rules the fields they judge (a block's slot, an attestation's
 * source and target epochs).
 *
 * Pure: no storage, no HTTP, no clock. All parsing is bounded: the body
 * is at most TKMS_ETH2_MAX_REQUEST_SIZE bytes, every list is checked
 * against its SSZ limit, every hex field has its exact length, every
 * number is a decimal-string uint64. Failures carry a one-line message
 * naming the field ("attestation.target.epoch: not a decimal uint64").
 */
#ifndef TKMS_ETH2_H
#define TKMS_ETH2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tkms/status.h"

/* Largest request body accepted (full phase0/altair blocks fit easily). */
#define TKMS_ETH2_MAX_REQUEST_SIZE (1024u * 1024u)

/* The signing types, by their Web3Signer names. */
typedef enum {
    TKMS_ETH2_ATTESTATION = 0,
    TKMS_ETH2_BLOCK_V2,
    TKMS_ETH2_AGGREGATE_AND_PROOF,
    TKMS_ETH2_AGGREGATE_AND_PROOF_V2,
    TKMS_ETH2_AGGREGATION_SLOT,
    TKMS_ETH2_RANDAO_REVEAL,
    TKMS_ETH2_VOLUNTARY_EXIT,
    TKMS_ETH2_SYNC_COMMITTEE_MESSAGE,
    TKMS_ETH2_SYNC_COMMITTEE_SELECTION_PROOF,
    TKMS_ETH2_SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF,
    TKMS_ETH2_VALIDATOR_REGISTRATION,
    TKMS_ETH2_DEPOSIT,
    TKMS_ETH2_BLS_TO_EXECUTION_CHANGE,  /* Lodestar sends it; Capella */
} tkms_eth2_type;

/* Returns the Web3Signer name of `type` ("BLOCK_V2"), or "UNKNOWN". */
const char *tkms_eth2_type_name(tkms_eth2_type type);

/*
 * The chain's preset. It fixes SLOTS_PER_EPOCH (32 / 8), which turns a
 * slot into the epoch that picks the fork version, and the sizes of the
 * sync-committee bitvectors (512 / 32 bits) and Electra committee bits
 * (64 / 4). Every other list limit the signable objects use is the same
 * in both.
 */
typedef enum {
    TKMS_ETH2_PRESET_MAINNET = 0,
    TKMS_ETH2_PRESET_MINIMAL,
} tkms_eth2_preset;

/* What a signer must know about its chain beyond the request: the preset
 * and GENESIS_FORK_VERSION (VALIDATOR_REGISTRATION and
 * BLS_TO_EXECUTION_CHANGE are signed under it, and the body does not say
 * it). */
typedef struct {
    tkms_eth2_preset preset;
    uint8_t genesis_fork_version[4];
} tkms_eth2_chain;

/* Ethereum mainnet: mainnet preset, genesis fork version 0x00000000. */
extern const tkms_eth2_chain TKMS_ETH2_MAINNET;

/* Returns SLOTS_PER_EPOCH of `preset` (0 for an unknown preset). */
uint64_t tkms_eth2_slots_per_epoch(tkms_eth2_preset preset);

/* fork_info of a request. */
typedef struct {
    uint8_t previous_version[4];
    uint8_t current_version[4];
    uint64_t epoch;                      /* fork.epoch as the client sent it */
    uint8_t genesis_validators_root[32];
} tkms_eth2_fork_info;

/* A parsed, checked sign request: what a signer and its slashing rules
 * need. The parsed SSZ object itself is not kept. */
typedef struct {
    tkms_eth2_type type;

    bool has_fork_info;                 /* false for DEPOSIT, VALIDATOR_REGISTRATION */
    tkms_eth2_fork_info fork_info;

    uint8_t object_root[32];            /* hash_tree_root of the signed object */
    uint8_t domain[32];
    uint8_t signing_root[32];           /* what gets signed */

    /* The epoch that picked the fork version (slot / SLOTS_PER_EPOCH for
     * slot-based objects, target.epoch for attestations); 0 and unused
     * for DEPOSIT, VALIDATOR_REGISTRATION and BLS_TO_EXECUTION_CHANGE,
     * which are signed under a genesis fork version. */
    uint64_t epoch;

    /* Slashing-relevant fields. `slot` is set for BLOCK_V2 (the block's
     * slot), ATTESTATION (data.slot), AGGREGATE_AND_PROOF(_V2)
     * (aggregate.data.slot), AGGREGATION_SLOT, SYNC_COMMITTEE_* (their
     * slot); has_slot says whether it was. */
    bool has_slot;
    uint64_t slot;
    uint64_t proposer_index;            /* BLOCK_V2 only */
    uint64_t source_epoch;              /* ATTESTATION only */
    uint64_t target_epoch;              /* ATTESTATION only */
    uint64_t validator_index;           /* VOLUNTARY_EXIT, BLS_TO_EXECUTION_CHANGE */

    /* The BLS key named inside the object (DEPOSIT and
     * VALIDATOR_REGISTRATION pubkey, BLS_TO_EXECUTION_CHANGE
     * from_bls_pubkey), for a caller to compare with the key in the URL. */
    bool has_pubkey;
    uint8_t pubkey[48];

    bool has_body_signing_root;         /* the body carried `signingRoot` (or `signing_root`) */
} tkms_eth2_request;

/*
 * Parses a Web3Signer eth2 sign-request body of `len` bytes (need not be
 * NUL-terminated) and computes its signing root for `chain`.
 *
 * On TKMS_OK *out holds the type, fork_info, the object root, domain and
 * signing root, and the slashing fields. When the body carries
 * `signingRoot` it must equal the computed root; otherwise the result is
 * TKMS_ERR_VERIFY_FAILED with the message "signing root mismatch: body
 * says 0x…, computed 0x…" (and *out still holds the computed root, so a
 * caller can log it). Other failures:
 *   TKMS_ERR_BAD_FORMAT   not JSON, a missing or malformed field, a list
 *                         over its limit, a bad bitlist/bitvector, too big
 *   TKMS_ERR_UNSUPPORTED  type BLOCK (v1), an unknown type or block version
 *   TKMS_ERR_INVALID_ARGUMENT  out, json or chain NULL, unknown preset
 * Each with a one-line message naming the field. On any failure other than
 * the mismatch *out is zeroed.
 */
tkms_status tkms_eth2_parse_sign_request(tkms_eth2_request *out,
                                         const char *json, size_t len,
                                         const tkms_eth2_chain *chain,
                                         tkms_err *err);

/* Domain types (DomainType, 4 bytes) as in the consensus specs. */
extern const uint8_t TKMS_ETH2_DOMAIN_BEACON_PROPOSER[4];
extern const uint8_t TKMS_ETH2_DOMAIN_BEACON_ATTESTER[4];
extern const uint8_t TKMS_ETH2_DOMAIN_RANDAO[4];
extern const uint8_t TKMS_ETH2_DOMAIN_DEPOSIT[4];
extern const uint8_t TKMS_ETH2_DOMAIN_VOLUNTARY_EXIT[4];
extern const uint8_t TKMS_ETH2_DOMAIN_SELECTION_PROOF[4];
extern const uint8_t TKMS_ETH2_DOMAIN_AGGREGATE_AND_PROOF[4];
extern const uint8_t TKMS_ETH2_DOMAIN_SYNC_COMMITTEE[4];
extern const uint8_t TKMS_ETH2_DOMAIN_SYNC_COMMITTEE_SELECTION_PROOF[4];
extern const uint8_t TKMS_ETH2_DOMAIN_CONTRIBUTION_AND_PROOF[4];
extern const uint8_t TKMS_ETH2_DOMAIN_BLS_TO_EXECUTION_CHANGE[4];
extern const uint8_t TKMS_ETH2_DOMAIN_APPLICATION_BUILDER[4];

/* compute_fork_data_root(current_version, genesis_validators_root). */
void tkms_eth2_fork_data_root(uint8_t root[32], const uint8_t version[4],
                              const uint8_t genesis_validators_root[32]);

/* compute_domain(domain_type, fork_version, genesis_validators_root):
 * the domain type followed by the first 28 bytes of the fork data root. */
void tkms_eth2_compute_domain(uint8_t domain[32], const uint8_t domain_type[4],
                              const uint8_t fork_version[4],
                              const uint8_t genesis_validators_root[32]);

/* The domain of a signature at `epoch` under fork_info: the fork's
 * previous_version when epoch < fork.epoch, else its current_version
 * (get_domain of the specs, as Web3Signer applies it). */
void tkms_eth2_fork_domain(uint8_t domain[32], const uint8_t domain_type[4],
                           uint64_t epoch, const tkms_eth2_fork_info *fork);

/* compute_signing_root: hash_tree_root(SigningData(object_root, domain)). */
void tkms_eth2_signing_root(uint8_t root[32], const uint8_t object_root[32],
                            const uint8_t domain[32]);

#endif /* TKMS_ETH2_H */
