/*
 * blocks.c — hash_tree_root of a full phase0 or altair BeaconBlock from
 * its Web3Signer JSON (BLOCK_V2 sends the whole block before bellatrix):
 * the body with its operation lists (proposer and attester slashings,
 * attestations, deposits, voluntary exits), each bounded by its SSZ limit,
 * and altair's sync_aggregate.
 */

#include "containers.h"
#include "eth2_json.h"
#include "ssz.h"

/* Root of one list element (an object) at `path`. */
typedef tkms_status (*element_root_fn)(uint8_t root[32], const json_t *obj,
                                       const char *path,
                                       const eth2_params *params,
                                       tkms_err *err);

/* hash_tree_root(List[T, limit]) of the array `key` of obj, T's root by fn.
 * limit <= ETH2_MAX_ATTESTATIONS (the largest operation list). */
static tkms_status list_field(uint8_t root[32], const json_t *obj,
                              const char *path, const char *key, size_t limit,
                              element_root_fn fn, const eth2_params *params,
                              tkms_err *err)
{
    uint8_t roots[ETH2_MAX_ATTESTATIONS][32];
    const json_t *arr;
    char arr_path[EJ_PATH_SIZE], elem_path[EJ_PATH_SIZE];
    if (limit > ETH2_MAX_ATTESTATIONS)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "list limit too large");
    ETH2_TRY(ej_array(&arr, arr_path, obj, path, key, limit, err));
    size_t n = json_array_size(arr);
    for (size_t i = 0; i < n; i++) {
        const json_t *elem = json_array_get(arr, i);
        ej_path_index(elem_path, arr_path, i);
        if (!json_is_object(elem))
            return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: not an object", elem_path);
        ETH2_TRY(fn(roots[i], elem, elem_path, params, err));
    }
    ssz_list_root(root, (const uint8_t(*)[32])roots, n, limit);
    return TKMS_OK;
}

/* The object member `key` of obj, through fn. */
static tkms_status object_field(uint8_t root[32], const json_t *obj,
                                const char *path, const char *key,
                                element_root_fn fn, const eth2_params *params,
                                tkms_err *err)
{
    const json_t *child;
    char child_path[EJ_PATH_SIZE];
    ETH2_TRY(ej_object(&child, child_path, obj, path, key, err));
    return fn(root, child, child_path, params, err);
}

/* SignedBeaconBlockHeader { message: BeaconBlockHeader, signature }. */
static tkms_status signed_header_root(uint8_t root[32], const json_t *obj,
                                      const char *path,
                                      const eth2_params *params, tkms_err *err)
{
    (void)params;
    uint8_t f[2][32];
    const json_t *msg;
    char msg_path[EJ_PATH_SIZE];
    ETH2_TRY(ej_object(&msg, msg_path, obj, path, "message", err));
    ETH2_TRY(eth2_block_header_root(f[0], NULL, NULL, msg, msg_path, err));
    ETH2_TRY(eth2_field_bytes(f[1], NULL, 96, obj, path, "signature", err));
    ssz_container_root(root, (const uint8_t(*)[32])f, 2);
    return TKMS_OK;
}

/* ProposerSlashing { signed_header_1, signed_header_2 }. */
static tkms_status proposer_slashing_root(uint8_t root[32], const json_t *obj,
                                          const char *path,
                                          const eth2_params *params,
                                          tkms_err *err)
{
    uint8_t f[2][32];
    ETH2_TRY(object_field(f[0], obj, path, "signed_header_1", signed_header_root, params, err));
    ETH2_TRY(object_field(f[1], obj, path, "signed_header_2", signed_header_root, params, err));
    ssz_container_root(root, (const uint8_t(*)[32])f, 2);
    return TKMS_OK;
}

/* IndexedAttestation { attesting_indices: List[ValidatorIndex,
 * MAX_VALIDATORS_PER_COMMITTEE], data, signature }. */
static tkms_status indexed_attestation_root(uint8_t root[32], const json_t *obj,
                                            const char *path,
                                            const eth2_params *params,
                                            tkms_err *err)
{
    (void)params;
    uint8_t f[3][32];
    uint8_t packed[ETH2_MAX_VALIDATORS_PER_COMMITTEE * 8];
    const json_t *arr, *data;
    char arr_path[EJ_PATH_SIZE], elem_path[EJ_PATH_SIZE], data_path[EJ_PATH_SIZE];
    ETH2_TRY(ej_array(&arr, arr_path, obj, path, "attesting_indices",
                      ETH2_MAX_VALIDATORS_PER_COMMITTEE, err));
    size_t n = json_array_size(arr);
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        ej_path_index(elem_path, arr_path, i);
        ETH2_TRY(ej_uint64_at(&v, json_array_get(arr, i), elem_path, err));
        for (int b = 0; b < 8; b++)
            packed[8 * i + (size_t)b] = (uint8_t)(v >> (8 * b));
    }
    ssz_merkleize(f[0], packed, n * 8, ETH2_MAX_VALIDATORS_PER_COMMITTEE * 8 / 32);
    ssz_mix_in_length(f[0], n);
    eth2_attestation_info info;
    ETH2_TRY(ej_object(&data, data_path, obj, path, "data", err));
    ETH2_TRY(eth2_attestation_data_root(f[1], &info, data, data_path, err));
    ETH2_TRY(eth2_field_bytes(f[2], NULL, 96, obj, path, "signature", err));
    ssz_container_root(root, (const uint8_t(*)[32])f, 3);
    return TKMS_OK;
}

/* AttesterSlashing { attestation_1, attestation_2: IndexedAttestation }. */
static tkms_status attester_slashing_root(uint8_t root[32], const json_t *obj,
                                          const char *path,
                                          const eth2_params *params,
                                          tkms_err *err)
{
    uint8_t f[2][32];
    ETH2_TRY(object_field(f[0], obj, path, "attestation_1", indexed_attestation_root, params, err));
    ETH2_TRY(object_field(f[1], obj, path, "attestation_2", indexed_attestation_root, params, err));
    ssz_container_root(root, (const uint8_t(*)[32])f, 2);
    return TKMS_OK;
}

/* A phase0 Attestation as a block body carries it. */
static tkms_status block_attestation_root(uint8_t root[32], const json_t *obj,
                                          const char *path,
                                          const eth2_params *params,
                                          tkms_err *err)
{
    eth2_attestation_info info;
    return eth2_attestation_root(root, &info, obj, path, false, params, err);
}

/* DepositData as a Deposit carries it. */
static tkms_status deposit_data_root(uint8_t root[32], const json_t *obj,
                                     const char *path,
                                     const eth2_params *params, tkms_err *err)
{
    (void)params;
    return eth2_deposit_root(root, NULL, obj, path, true, err);
}

/* Deposit { proof: Vector[Bytes32, DEPOSIT_CONTRACT_TREE_DEPTH + 1],
 * data: DepositData }. */
static tkms_status deposit_root(uint8_t root[32], const json_t *obj,
                                const char *path, const eth2_params *params,
                                tkms_err *err)
{
    uint8_t f[2][32];
    uint8_t proof[ETH2_DEPOSIT_PROOF_LENGTH][32];
    const json_t *arr;
    char arr_path[EJ_PATH_SIZE], elem_path[EJ_PATH_SIZE];
    ETH2_TRY(ej_array(&arr, arr_path, obj, path, "proof", ETH2_DEPOSIT_PROOF_LENGTH, err));
    if (json_array_size(arr) != ETH2_DEPOSIT_PROOF_LENGTH)
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT, "%s: %zu entries, must be %u",
                         arr_path, json_array_size(arr), ETH2_DEPOSIT_PROOF_LENGTH);
    for (size_t i = 0; i < ETH2_DEPOSIT_PROOF_LENGTH; i++) {
        ej_path_index(elem_path, arr_path, i);
        ETH2_TRY(ej_hex_at(proof[i], 32, json_array_get(arr, i), elem_path, err));
    }
    ssz_merkleize(f[0], &proof[0][0], sizeof proof, ETH2_DEPOSIT_PROOF_LENGTH);
    ETH2_TRY(object_field(f[1], obj, path, "data", deposit_data_root, params, err));
    ssz_container_root(root, (const uint8_t(*)[32])f, 2);
    return TKMS_OK;
}

/* SignedVoluntaryExit { message: VoluntaryExit, signature }. */
static tkms_status signed_exit_root(uint8_t root[32], const json_t *obj,
                                    const char *path, const eth2_params *params,
                                    tkms_err *err)
{
    (void)params;
    uint8_t f[2][32];
    const json_t *msg;
    char msg_path[EJ_PATH_SIZE];
    ETH2_TRY(ej_object(&msg, msg_path, obj, path, "message", err));
    ETH2_TRY(eth2_voluntary_exit_root(f[0], NULL, NULL, msg, msg_path, err));
    ETH2_TRY(eth2_field_bytes(f[1], NULL, 96, obj, path, "signature", err));
    ssz_container_root(root, (const uint8_t(*)[32])f, 2);
    return TKMS_OK;
}

/* Eth1Data { deposit_root, deposit_count, block_hash }. */
static tkms_status eth1_data_root(uint8_t root[32], const json_t *obj,
                                  const char *path, const eth2_params *params,
                                  tkms_err *err)
{
    (void)params;
    uint8_t f[3][32];
    ETH2_TRY(eth2_field_bytes(f[0], NULL, 32, obj, path, "deposit_root", err));
    ETH2_TRY(eth2_field_uint64(f[1], NULL, obj, path, "deposit_count", err));
    ETH2_TRY(eth2_field_bytes(f[2], NULL, 32, obj, path, "block_hash", err));
    ssz_container_root(root, (const uint8_t(*)[32])f, 3);
    return TKMS_OK;
}

/* SyncAggregate { sync_committee_bits: Bitvector[SYNC_COMMITTEE_SIZE],
 * sync_committee_signature }. */
static tkms_status sync_aggregate_root(uint8_t root[32], const json_t *obj,
                                       const char *path,
                                       const eth2_params *params, tkms_err *err)
{
    uint8_t f[2][32];
    uint8_t bits[512 / 8];
    size_t len;
    char name[EJ_PATH_SIZE];
    ej_path(name, path, "sync_committee_bits");
    if (params->sync_committee_size / 8 > sizeof bits)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "%s: too long", name);
    ETH2_TRY(ej_hex_var(bits, sizeof bits, &len, obj, path, "sync_committee_bits", err));
    ETH2_TRY(ssz_bitvector_root(f[0], bits, len, params->sync_committee_size, name, err));
    ETH2_TRY(eth2_field_bytes(f[1], NULL, 96, obj, path, "sync_committee_signature", err));
    ssz_container_root(root, (const uint8_t(*)[32])f, 2);
    return TKMS_OK;
}

/* BeaconBlockBody (phase0, or altair with sync_aggregate). */
static tkms_status body_root(uint8_t root[32], const json_t *obj,
                             const char *path, bool altair,
                             const eth2_params *params, tkms_err *err)
{
    uint8_t f[9][32];
    ETH2_TRY(eth2_field_bytes(f[0], NULL, 96, obj, path, "randao_reveal", err));
    ETH2_TRY(object_field(f[1], obj, path, "eth1_data", eth1_data_root, params, err));
    ETH2_TRY(eth2_field_bytes(f[2], NULL, 32, obj, path, "graffiti", err));
    ETH2_TRY(list_field(f[3], obj, path, "proposer_slashings", ETH2_MAX_PROPOSER_SLASHINGS,
                        proposer_slashing_root, params, err));
    ETH2_TRY(list_field(f[4], obj, path, "attester_slashings", ETH2_MAX_ATTESTER_SLASHINGS,
                        attester_slashing_root, params, err));
    ETH2_TRY(list_field(f[5], obj, path, "attestations", ETH2_MAX_ATTESTATIONS,
                        block_attestation_root, params, err));
    ETH2_TRY(list_field(f[6], obj, path, "deposits", ETH2_MAX_DEPOSITS,
                        deposit_root, params, err));
    ETH2_TRY(list_field(f[7], obj, path, "voluntary_exits", ETH2_MAX_VOLUNTARY_EXITS,
                        signed_exit_root, params, err));
    if (altair)
        ETH2_TRY(object_field(f[8], obj, path, "sync_aggregate", sync_aggregate_root,
                              params, err));
    ssz_container_root(root, (const uint8_t(*)[32])f, altair ? 9 : 8);
    return TKMS_OK;
}

tkms_status eth2_beacon_block_root(uint8_t root[32], uint64_t *slot,
                                   uint64_t *proposer_index, const json_t *obj,
                                   const char *path, bool altair,
                                   const eth2_params *params, tkms_err *err)
{
    uint8_t f[5][32];
    const json_t *body;
    char body_path[EJ_PATH_SIZE];
    ETH2_TRY(eth2_field_uint64(f[0], slot, obj, path, "slot", err));
    ETH2_TRY(eth2_field_uint64(f[1], proposer_index, obj, path, "proposer_index", err));
    ETH2_TRY(eth2_field_bytes(f[2], NULL, 32, obj, path, "parent_root", err));
    ETH2_TRY(eth2_field_bytes(f[3], NULL, 32, obj, path, "state_root", err));
    ETH2_TRY(ej_object(&body, body_path, obj, path, "body", err));
    ETH2_TRY(body_root(f[4], body, body_path, altair, params, err));
    ssz_container_root(root, (const uint8_t(*)[32])f, 5);
    return TKMS_OK;
}
