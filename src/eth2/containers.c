/*
 * containers.c — hash_tree_root of the small signable containers (and the
 * ones blocks embed) from their Web3Signer JSON: checkpoints, attestation
 * data, attestations, aggregates, block headers, exits, deposits, sync
 * committee selection data and contributions, builder registrations, BLS
 * to execution changes. Container shapes follow the consensus specs
 * (phase0, altair, capella, electra beacon-chain.md / validator.md).
 */
#include <string.h>

#include "containers.h"
#include "eth2_json.h"
#include "ssz.h"

#define ETH2_PUBKEY 48
#define ETH2_SIGNATURE 96
#define ETH2_ROOT 32
#define ETH2_ADDRESS 20

tkms_status eth2_field_uint64(uint8_t root[32], uint64_t *value,
                              const json_t *obj, const char *path,
                              const char *key, tkms_err *err)
{
    uint64_t v;
    ETH2_TRY(ej_uint64(&v, obj, path, key, err));
    ssz_uint64_root(root, v);
    if (value != NULL)
        *value = v;
    return TKMS_OK;
}

tkms_status eth2_field_bytes(uint8_t root[32], uint8_t *bytes, size_t len,
                             const json_t *obj, const char *path,
                             const char *key, tkms_err *err)
{
    uint8_t buf[ETH2_SIGNATURE];
    if (len > sizeof buf)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "field too long");
    ETH2_TRY(ej_hex(buf, len, obj, path, key, err));
    ssz_bytes_root(root, buf, len);
    if (bytes != NULL)
        memcpy(bytes, buf, len);
    return TKMS_OK;
}

tkms_status eth2_checkpoint_root(uint8_t root[32], uint64_t *epoch,
                                 const json_t *obj, const char *path,
                                 tkms_err *err)
{
    uint8_t f[2][32];
    ETH2_TRY(eth2_field_uint64(f[0], epoch, obj, path, "epoch", err));
    ETH2_TRY(eth2_field_bytes(f[1], NULL, ETH2_ROOT, obj, path, "root", err));
    ssz_container_root(root, (const uint8_t(*)[32])f, 2);
    return TKMS_OK;
}

tkms_status eth2_attestation_data_root(uint8_t root[32],
                                       eth2_attestation_info *info,
                                       const json_t *obj, const char *path,
                                       tkms_err *err)
{
    uint8_t f[5][32];
    const json_t *cp;
    char cp_path[EJ_PATH_SIZE];
    ETH2_TRY(eth2_field_uint64(f[0], &info->slot, obj, path, "slot", err));
    ETH2_TRY(eth2_field_uint64(f[1], NULL, obj, path, "index", err));
    ETH2_TRY(eth2_field_bytes(f[2], NULL, ETH2_ROOT, obj, path, "beacon_block_root", err));
    ETH2_TRY(ej_object(&cp, cp_path, obj, path, "source", err));
    ETH2_TRY(eth2_checkpoint_root(f[3], &info->source_epoch, cp, cp_path, err));
    ETH2_TRY(ej_object(&cp, cp_path, obj, path, "target", err));
    ETH2_TRY(eth2_checkpoint_root(f[4], &info->target_epoch, cp, cp_path, err));
    ssz_container_root(root, (const uint8_t(*)[32])f, 5);
    return TKMS_OK;
}

/* The Bitlist[limit_bits] field `key` of obj. */
static tkms_status bitlist_field(uint8_t root[32], const json_t *obj,
                                 const char *path, const char *key,
                                 uint64_t limit_bits, tkms_err *err)
{
    uint8_t bytes[SSZ_MAX_BITLIST_BITS / 8 + 1];
    size_t len;
    char name[EJ_PATH_SIZE];
    ETH2_TRY(ej_hex_var(bytes, (size_t)(limit_bits / 8 + 1), &len, obj, path, key, err));
    ej_path(name, path, key);
    return ssz_bitlist_root(root, NULL, bytes, len, limit_bits, name, err);
}

/* The Bitvector[bits] field `key` of obj. */
static tkms_status bitvector_field(uint8_t root[32], const json_t *obj,
                                   const char *path, const char *key,
                                   uint64_t bits, tkms_err *err)
{
    uint8_t bytes[64];
    size_t len;
    char name[EJ_PATH_SIZE];
    ej_path(name, path, key);
    if ((bits + 7) / 8 > sizeof bytes)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "%s: bitvector too long", name);
    ETH2_TRY(ej_hex_var(bytes, sizeof bytes, &len, obj, path, key, err));
    return ssz_bitvector_root(root, bytes, len, bits, name, err);
}

tkms_status eth2_attestation_root(uint8_t root[32], eth2_attestation_info *info,
                                  const json_t *obj, const char *path,
                                  bool electra, const eth2_params *params,
                                  tkms_err *err)
{
    uint8_t f[4][32];
    const json_t *data;
    char data_path[EJ_PATH_SIZE];
    uint64_t limit = ETH2_MAX_VALIDATORS_PER_COMMITTEE;
    if (electra)
        limit *= params->max_committees_per_slot;
    ETH2_TRY(bitlist_field(f[0], obj, path, "aggregation_bits", limit, err));
    ETH2_TRY(ej_object(&data, data_path, obj, path, "data", err));
    ETH2_TRY(eth2_attestation_data_root(f[1], info, data, data_path, err));
    ETH2_TRY(eth2_field_bytes(f[2], NULL, ETH2_SIGNATURE, obj, path, "signature", err));
    if (electra)
        ETH2_TRY(bitvector_field(f[3], obj, path, "committee_bits",
                                 params->max_committees_per_slot, err));
    ssz_container_root(root, (const uint8_t(*)[32])f, electra ? 4 : 3);
    return TKMS_OK;
}

tkms_status eth2_aggregate_and_proof_root(uint8_t root[32],
                                          eth2_attestation_info *info,
                                          const json_t *obj, const char *path,
                                          bool electra,
                                          const eth2_params *params,
                                          tkms_err *err)
{
    uint8_t f[3][32];
    const json_t *agg;
    char agg_path[EJ_PATH_SIZE];
    ETH2_TRY(eth2_field_uint64(f[0], NULL, obj, path, "aggregator_index", err));
    ETH2_TRY(ej_object(&agg, agg_path, obj, path, "aggregate", err));
    ETH2_TRY(eth2_attestation_root(f[1], info, agg, agg_path, electra, params, err));
    ETH2_TRY(eth2_field_bytes(f[2], NULL, ETH2_SIGNATURE, obj, path, "selection_proof", err));
    ssz_container_root(root, (const uint8_t(*)[32])f, 3);
    return TKMS_OK;
}

tkms_status eth2_block_header_root(uint8_t root[32], uint64_t *slot,
                                   uint64_t *proposer_index, const json_t *obj,
                                   const char *path, tkms_err *err)
{
    uint8_t f[5][32];
    ETH2_TRY(eth2_field_uint64(f[0], slot, obj, path, "slot", err));
    ETH2_TRY(eth2_field_uint64(f[1], proposer_index, obj, path, "proposer_index", err));
    ETH2_TRY(eth2_field_bytes(f[2], NULL, ETH2_ROOT, obj, path, "parent_root", err));
    ETH2_TRY(eth2_field_bytes(f[3], NULL, ETH2_ROOT, obj, path, "state_root", err));
    ETH2_TRY(eth2_field_bytes(f[4], NULL, ETH2_ROOT, obj, path, "body_root", err));
    ssz_container_root(root, (const uint8_t(*)[32])f, 5);
    return TKMS_OK;
}

tkms_status eth2_voluntary_exit_root(uint8_t root[32], uint64_t *epoch,
                                     uint64_t *validator_index,
                                     const json_t *obj, const char *path,
                                     tkms_err *err)
{
    uint8_t f[2][32];
    ETH2_TRY(eth2_field_uint64(f[0], epoch, obj, path, "epoch", err));
    ETH2_TRY(eth2_field_uint64(f[1], validator_index, obj, path, "validator_index", err));
    ssz_container_root(root, (const uint8_t(*)[32])f, 2);
    return TKMS_OK;
}

tkms_status eth2_deposit_root(uint8_t root[32], uint8_t pubkey[48],
                              const json_t *obj, const char *path,
                              bool with_signature, tkms_err *err)
{
    uint8_t f[4][32];
    ETH2_TRY(eth2_field_bytes(f[0], pubkey, ETH2_PUBKEY, obj, path, "pubkey", err));
    ETH2_TRY(eth2_field_bytes(f[1], NULL, ETH2_ROOT, obj, path, "withdrawal_credentials", err));
    ETH2_TRY(eth2_field_uint64(f[2], NULL, obj, path, "amount", err));
    if (with_signature)
        ETH2_TRY(eth2_field_bytes(f[3], NULL, ETH2_SIGNATURE, obj, path, "signature", err));
    ssz_container_root(root, (const uint8_t(*)[32])f, with_signature ? 4 : 3);
    return TKMS_OK;
}

/* The subcommittee_index field: below SYNC_COMMITTEE_SUBNET_COUNT. */
static tkms_status subcommittee_field(uint8_t root[32], const json_t *obj,
                                      const char *path, tkms_err *err)
{
    uint64_t index;
    ETH2_TRY(eth2_field_uint64(root, &index, obj, path, "subcommittee_index", err));
    if (index >= ETH2_SYNC_COMMITTEE_SUBNET_COUNT) {
        char name[EJ_PATH_SIZE];
        ej_path(name, path, "subcommittee_index");
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: must be below %u", name,
                         ETH2_SYNC_COMMITTEE_SUBNET_COUNT);
    }
    return TKMS_OK;
}

tkms_status eth2_sync_selection_data_root(uint8_t root[32], uint64_t *slot,
                                          const json_t *obj, const char *path,
                                          tkms_err *err)
{
    uint8_t f[2][32];
    ETH2_TRY(eth2_field_uint64(f[0], slot, obj, path, "slot", err));
    ETH2_TRY(subcommittee_field(f[1], obj, path, err));
    ssz_container_root(root, (const uint8_t(*)[32])f, 2);
    return TKMS_OK;
}

/* SyncCommitteeContribution { slot, beacon_block_root, subcommittee_index,
 * aggregation_bits: Bitvector[SYNC_COMMITTEE_SIZE / SUBNET_COUNT],
 * signature }. */
static tkms_status contribution_root(uint8_t root[32], uint64_t *slot,
                                     const json_t *obj, const char *path,
                                     const eth2_params *params, tkms_err *err)
{
    uint8_t f[5][32];
    ETH2_TRY(eth2_field_uint64(f[0], slot, obj, path, "slot", err));
    ETH2_TRY(eth2_field_bytes(f[1], NULL, ETH2_ROOT, obj, path, "beacon_block_root", err));
    ETH2_TRY(subcommittee_field(f[2], obj, path, err));
    ETH2_TRY(bitvector_field(f[3], obj, path, "aggregation_bits",
                             params->sync_committee_size / ETH2_SYNC_COMMITTEE_SUBNET_COUNT,
                             err));
    ETH2_TRY(eth2_field_bytes(f[4], NULL, ETH2_SIGNATURE, obj, path, "signature", err));
    ssz_container_root(root, (const uint8_t(*)[32])f, 5);
    return TKMS_OK;
}

tkms_status eth2_contribution_and_proof_root(uint8_t root[32], uint64_t *slot,
                                             const json_t *obj,
                                             const char *path,
                                             const eth2_params *params,
                                             tkms_err *err)
{
    uint8_t f[3][32];
    const json_t *c;
    char c_path[EJ_PATH_SIZE];
    ETH2_TRY(eth2_field_uint64(f[0], NULL, obj, path, "aggregator_index", err));
    ETH2_TRY(ej_object(&c, c_path, obj, path, "contribution", err));
    ETH2_TRY(contribution_root(f[1], slot, c, c_path, params, err));
    ETH2_TRY(eth2_field_bytes(f[2], NULL, ETH2_SIGNATURE, obj, path, "selection_proof", err));
    ssz_container_root(root, (const uint8_t(*)[32])f, 3);
    return TKMS_OK;
}

tkms_status eth2_validator_registration_root(uint8_t root[32],
                                             uint8_t pubkey[48],
                                             const json_t *obj,
                                             const char *path, tkms_err *err)
{
    uint8_t f[4][32];
    ETH2_TRY(eth2_field_bytes(f[0], NULL, ETH2_ADDRESS, obj, path, "fee_recipient", err));
    ETH2_TRY(eth2_field_uint64(f[1], NULL, obj, path, "gas_limit", err));
    ETH2_TRY(eth2_field_uint64(f[2], NULL, obj, path, "timestamp", err));
    ETH2_TRY(eth2_field_bytes(f[3], pubkey, ETH2_PUBKEY, obj, path, "pubkey", err));
    ssz_container_root(root, (const uint8_t(*)[32])f, 4);
    return TKMS_OK;
}

tkms_status eth2_bls_to_execution_change_root(uint8_t root[32],
                                              uint64_t *validator_index,
                                              uint8_t pubkey[48],
                                              const json_t *obj,
                                              const char *path, tkms_err *err)
{
    uint8_t f[3][32];
    ETH2_TRY(eth2_field_uint64(f[0], validator_index, obj, path, "validator_index", err));
    ETH2_TRY(eth2_field_bytes(f[1], pubkey, ETH2_PUBKEY, obj, path, "from_bls_pubkey", err));
    ETH2_TRY(eth2_field_bytes(f[2], NULL, ETH2_ADDRESS, obj, path, "to_execution_address", err));
    ssz_container_root(root, (const uint8_t(*)[32])f, 3);
    return TKMS_OK;
}
