/*
 * containers.h — hash_tree_root of the consensus containers a signer is
 * asked to sign, read from their Web3Signer JSON. Internal to libtkms.
 *
 * Each function reads the container at `obj` (whose full path `path` names
 * it in errors), checks every field (exact hex lengths, decimal uint64s,
 * lists within their SSZ limits, well-formed bitlists and bitvectors) and
 * writes its root; the fields a signer or the slashing rules need are
 * handed back through the out-parameters. containers.c holds the small
 * containers, blocks.c the BeaconBlock and its phase0/altair body.
 */
#ifndef TKMS_ETH2_CONTAINERS_H
#define TKMS_ETH2_CONTAINERS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "tkms/status.h"

#define ETH2_TRY(expr)                                                        \
    do {                                                                      \
        tkms_status eth2_try_st_ = (expr);                                    \
        if (eth2_try_st_ != TKMS_OK)                                          \
            return eth2_try_st_;                                              \
    } while (0)

/* List limits of the consensus specs (phase0/altair/electra; identical in
 * the mainnet and minimal presets). */
#define ETH2_MAX_VALIDATORS_PER_COMMITTEE 2048u
#define ETH2_MAX_PROPOSER_SLASHINGS 16u
#define ETH2_MAX_ATTESTER_SLASHINGS 2u
#define ETH2_MAX_ATTESTATIONS 128u
#define ETH2_MAX_DEPOSITS 16u
#define ETH2_MAX_VOLUNTARY_EXITS 16u
#define ETH2_DEPOSIT_PROOF_LENGTH 33u            /* DEPOSIT_CONTRACT_TREE_DEPTH + 1 */
#define ETH2_SYNC_COMMITTEE_SUBNET_COUNT 4u

/* The preset-dependent sizes (see tkms_eth2_preset). */
typedef struct {
    uint64_t slots_per_epoch;
    uint64_t sync_committee_size;
    uint64_t max_committees_per_slot;
} eth2_params;

/* What an AttestationData says to the slashing rules. */
typedef struct {
    uint64_t slot;
    uint64_t source_epoch;
    uint64_t target_epoch;
} eth2_attestation_info;

/* Reads the uint64 field `key` of obj into *value (may be NULL) and writes
 * its root to `root`. */
tkms_status eth2_field_uint64(uint8_t root[32], uint64_t *value,
                              const json_t *obj, const char *path,
                              const char *key, tkms_err *err);

/* Reads the ByteVector[len] field `key` (hex of exactly len bytes, len <=
 * 96) into `bytes` (may be NULL) and writes its root. */
tkms_status eth2_field_bytes(uint8_t root[32], uint8_t *bytes, size_t len,
                             const json_t *obj, const char *path,
                             const char *key, tkms_err *err);

/* Checkpoint { epoch, root }. */
tkms_status eth2_checkpoint_root(uint8_t root[32], uint64_t *epoch,
                                 const json_t *obj, const char *path,
                                 tkms_err *err);

/* AttestationData { slot, index, beacon_block_root, source, target }. */
tkms_status eth2_attestation_data_root(uint8_t root[32],
                                       eth2_attestation_info *info,
                                       const json_t *obj, const char *path,
                                       tkms_err *err);

/* Attestation { aggregation_bits, data, signature } (phase0 .. deneb), or
 * with `electra` the EIP-7549 one: the larger bitlist and committee_bits. */
tkms_status eth2_attestation_root(uint8_t root[32], eth2_attestation_info *info,
                                  const json_t *obj, const char *path,
                                  bool electra, const eth2_params *params,
                                  tkms_err *err);

/* AggregateAndProof { aggregator_index, aggregate, selection_proof }. */
tkms_status eth2_aggregate_and_proof_root(uint8_t root[32],
                                          eth2_attestation_info *info,
                                          const json_t *obj, const char *path,
                                          bool electra,
                                          const eth2_params *params,
                                          tkms_err *err);

/* BeaconBlockHeader { slot, proposer_index, parent_root, state_root,
 * body_root }. */
tkms_status eth2_block_header_root(uint8_t root[32], uint64_t *slot,
                                   uint64_t *proposer_index, const json_t *obj,
                                   const char *path, tkms_err *err);

/* VoluntaryExit { epoch, validator_index }. */
tkms_status eth2_voluntary_exit_root(uint8_t root[32], uint64_t *epoch,
                                     uint64_t *validator_index,
                                     const json_t *obj, const char *path,
                                     tkms_err *err);

/* DepositMessage { pubkey, withdrawal_credentials, amount }, or with
 * `with_signature` DepositData (the same and a signature). */
tkms_status eth2_deposit_root(uint8_t root[32], uint8_t pubkey[48],
                              const json_t *obj, const char *path,
                              bool with_signature, tkms_err *err);

/* SyncAggregatorSelectionData { slot, subcommittee_index }. */
tkms_status eth2_sync_selection_data_root(uint8_t root[32], uint64_t *slot,
                                          const json_t *obj, const char *path,
                                          tkms_err *err);

/* ContributionAndProof { aggregator_index, contribution:
 * SyncCommitteeContribution, selection_proof }. */
tkms_status eth2_contribution_and_proof_root(uint8_t root[32], uint64_t *slot,
                                             const json_t *obj,
                                             const char *path,
                                             const eth2_params *params,
                                             tkms_err *err);

/* ValidatorRegistrationV1 { fee_recipient, gas_limit, timestamp, pubkey }. */
tkms_status eth2_validator_registration_root(uint8_t root[32],
                                             uint8_t pubkey[48],
                                             const json_t *obj,
                                             const char *path, tkms_err *err);

/* BLSToExecutionChange { validator_index, from_bls_pubkey,
 * to_execution_address }. */
tkms_status eth2_bls_to_execution_change_root(uint8_t root[32],
                                              uint64_t *validator_index,
                                              uint8_t pubkey[48],
                                              const json_t *obj,
                                              const char *path, tkms_err *err);

/* BeaconBlock { slot, proposer_index, parent_root, state_root, body } with
 * the phase0 body, or with `altair` the altair body (sync_aggregate). */
tkms_status eth2_beacon_block_root(uint8_t root[32], uint64_t *slot,
                                   uint64_t *proposer_index, const json_t *obj,
                                   const char *path, bool altair,
                                   const eth2_params *params, tkms_err *err);

#endif /* TKMS_ETH2_CONTAINERS_H */
