/*
 * sign_request.c — a Web3Signer eth2 sign-request body to its signing
 * root: dispatch on `type`, the object's root (containers.c, blocks.c),
 * the epoch that picks the fork version, the domain (signing.c), and the
 * check of the body's own `signingRoot`. The entry point of tkms/eth2.h.
 */
#include <string.h>
#include <strings.h>

#include "tkms/eth2.h"
#include "tkms/hex.h"
#include "tkms/text.h"

#include "containers.h"
#include "eth2_json.h"

const tkms_eth2_chain TKMS_ETH2_MAINNET = {
    .preset = TKMS_ETH2_PRESET_MAINNET,
    .genesis_fork_version = {0x00, 0x00, 0x00, 0x00},
};

static const char *const type_names[] = {
    [TKMS_ETH2_ATTESTATION] = "ATTESTATION",
    [TKMS_ETH2_BLOCK_V2] = "BLOCK_V2",
    [TKMS_ETH2_AGGREGATE_AND_PROOF] = "AGGREGATE_AND_PROOF",
    [TKMS_ETH2_AGGREGATE_AND_PROOF_V2] = "AGGREGATE_AND_PROOF_V2",
    [TKMS_ETH2_AGGREGATION_SLOT] = "AGGREGATION_SLOT",
    [TKMS_ETH2_RANDAO_REVEAL] = "RANDAO_REVEAL",
    [TKMS_ETH2_VOLUNTARY_EXIT] = "VOLUNTARY_EXIT",
    [TKMS_ETH2_SYNC_COMMITTEE_MESSAGE] = "SYNC_COMMITTEE_MESSAGE",
    [TKMS_ETH2_SYNC_COMMITTEE_SELECTION_PROOF] = "SYNC_COMMITTEE_SELECTION_PROOF",
    [TKMS_ETH2_SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF] = "SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF",
    [TKMS_ETH2_VALIDATOR_REGISTRATION] = "VALIDATOR_REGISTRATION",
    [TKMS_ETH2_DEPOSIT] = "DEPOSIT",
    [TKMS_ETH2_BLS_TO_EXECUTION_CHANGE] = "BLS_TO_EXECUTION_CHANGE",
};
#define TYPE_COUNT (sizeof type_names / sizeof type_names[0])

const char *tkms_eth2_type_name(tkms_eth2_type type)
{
    return (unsigned)type < TYPE_COUNT ? type_names[type] : "UNKNOWN";
}

static bool preset_params(eth2_params *p, tkms_eth2_preset preset)
{
    switch (preset) {
    case TKMS_ETH2_PRESET_MAINNET:
        *p = (eth2_params){.slots_per_epoch = 32, .sync_committee_size = 512,
                           .max_committees_per_slot = 64};
        return true;
    case TKMS_ETH2_PRESET_MINIMAL:
        *p = (eth2_params){.slots_per_epoch = 8, .sync_committee_size = 32,
                           .max_committees_per_slot = 4};
        return true;
    }
    return false;
}

uint64_t tkms_eth2_slots_per_epoch(tkms_eth2_preset preset)
{
    eth2_params p;
    return preset_params(&p, preset) ? p.slots_per_epoch : 0;
}

/* Consensus forks by their Web3Signer `version` names, oldest first. */
enum fork { FORK_PHASE0, FORK_ALTAIR, FORK_BELLATRIX, FORK_CAPELLA, FORK_DENEB,
            FORK_ELECTRA, FORK_FULU, FORK_COUNT };
static const char *const fork_names[FORK_COUNT] = {
    "PHASE0", "ALTAIR", "BELLATRIX", "CAPELLA", "DENEB", "ELECTRA", "FULU",
};

/* The `version` member of obj as a fork. */
static tkms_status version_field(enum fork *out, const json_t *obj,
                                 const char *path, tkms_err *err)
{
    const char *s;
    char name[EJ_PATH_SIZE];
    ETH2_TRY(ej_string(&s, obj, path, "version", true, err));
    for (int f = 0; f < FORK_COUNT; f++)
        if (strcasecmp(s, fork_names[f]) == 0) {
            *out = (enum fork)f;
            return TKMS_OK;
        }
    ej_path(name, path, "version");
    return tkms_fail(err, TKMS_ERR_UNSUPPORTED,
                     "%s: unknown fork (PHASE0 .. FULU supported)", name);
}

static tkms_status fork_info_field(tkms_eth2_fork_info *fi, const json_t *body,
                                   tkms_err *err)
{
    const json_t *info, *fork;
    char info_path[EJ_PATH_SIZE], fork_path[EJ_PATH_SIZE];
    ETH2_TRY(ej_object(&info, info_path, body, "", "fork_info", err));
    ETH2_TRY(ej_object(&fork, fork_path, info, info_path, "fork", err));
    ETH2_TRY(ej_hex(fi->previous_version, 4, fork, fork_path, "previous_version", err));
    ETH2_TRY(ej_hex(fi->current_version, 4, fork, fork_path, "current_version", err));
    ETH2_TRY(ej_uint64(&fi->epoch, fork, fork_path, "epoch", err));
    ETH2_TRY(ej_hex(fi->genesis_validators_root, 32, info, info_path,
                    "genesis_validators_root", err));
    return TKMS_OK;
}

/* BLOCK_V2: beacon_block { version, block | block_header }. */
static tkms_status block_v2(tkms_eth2_request *r, const json_t *bb,
                            const char *path, const eth2_params *params,
                            tkms_err *err)
{
    enum fork fork;
    const json_t *obj;
    char obj_path[EJ_PATH_SIZE];
    ETH2_TRY(version_field(&fork, bb, path, err));
    bool full = json_object_get(bb, "block") != NULL &&
                (fork <= FORK_ALTAIR || json_object_get(bb, "block_header") == NULL);
    if (full && fork > FORK_ALTAIR) {
        ej_path(obj_path, path, "block");
        return tkms_fail(err, TKMS_ERR_UNSUPPORTED,
                         "%s: full %s blocks are not supported, send block_header",
                         obj_path, fork_names[fork]);
    }
    if (full) {
        ETH2_TRY(ej_object(&obj, obj_path, bb, path, "block", err));
        ETH2_TRY(eth2_beacon_block_root(r->object_root, &r->slot, &r->proposer_index,
                                        obj, obj_path, fork == FORK_ALTAIR, params, err));
    } else {
        ETH2_TRY(ej_object(&obj, obj_path, bb, path, "block_header", err));
        ETH2_TRY(eth2_block_header_root(r->object_root, &r->slot, &r->proposer_index,
                                        obj, obj_path, err));
    }
    r->has_slot = true;
    r->epoch = r->slot / params->slots_per_epoch;
    return TKMS_OK;
}

/* AGGREGATE_AND_PROOF(_V2): v1 is the object itself, v2 wraps it as
 * { version, data }. */
static tkms_status aggregate_and_proof(tkms_eth2_request *r, const json_t *obj,
                                       const char *path, bool v2,
                                       const eth2_params *params, tkms_err *err)
{
    bool electra = false;
    const json_t *data = obj;
    char data_path[EJ_PATH_SIZE];
    ej_path(data_path, path, NULL);
    if (v2) {
        enum fork fork;
        ETH2_TRY(version_field(&fork, obj, path, err));
        ETH2_TRY(ej_object(&data, data_path, obj, path, "data", err));
        electra = fork >= FORK_ELECTRA;
    }
    eth2_attestation_info info;
    ETH2_TRY(eth2_aggregate_and_proof_root(r->object_root, &info, data, data_path,
                                           electra, params, err));
    r->has_slot = true;
    r->slot = info.slot;
    r->epoch = info.slot / params->slots_per_epoch;
    return TKMS_OK;
}

/* The object of type r->type at `obj`: its root, its domain type, the
 * epoch that picks the fork version and the slashing fields. */
static tkms_status object_root(tkms_eth2_request *r, const uint8_t **domain_type,
                               const json_t *obj, const char *path,
                               const eth2_params *params, tkms_err *err)
{
    uint64_t spe = params->slots_per_epoch;
    eth2_attestation_info info;
    switch (r->type) {
    case TKMS_ETH2_ATTESTATION:
        *domain_type = TKMS_ETH2_DOMAIN_BEACON_ATTESTER;
        ETH2_TRY(eth2_attestation_data_root(r->object_root, &info, obj, path, err));
        r->has_slot = true;
        r->slot = info.slot;
        r->source_epoch = info.source_epoch;
        r->target_epoch = info.target_epoch;
        r->epoch = info.target_epoch;
        return TKMS_OK;
    case TKMS_ETH2_BLOCK_V2:
        *domain_type = TKMS_ETH2_DOMAIN_BEACON_PROPOSER;
        return block_v2(r, obj, path, params, err);
    case TKMS_ETH2_AGGREGATE_AND_PROOF:
    case TKMS_ETH2_AGGREGATE_AND_PROOF_V2:
        *domain_type = TKMS_ETH2_DOMAIN_AGGREGATE_AND_PROOF;
        return aggregate_and_proof(r, obj, path,
                                   r->type == TKMS_ETH2_AGGREGATE_AND_PROOF_V2, params, err);
    case TKMS_ETH2_AGGREGATION_SLOT:
        *domain_type = TKMS_ETH2_DOMAIN_SELECTION_PROOF;
        ETH2_TRY(eth2_field_uint64(r->object_root, &r->slot, obj, path, "slot", err));
        r->has_slot = true;
        r->epoch = r->slot / spe;
        return TKMS_OK;
    case TKMS_ETH2_RANDAO_REVEAL:
        *domain_type = TKMS_ETH2_DOMAIN_RANDAO;
        return eth2_field_uint64(r->object_root, &r->epoch, obj, path, "epoch", err);
    case TKMS_ETH2_VOLUNTARY_EXIT:
        *domain_type = TKMS_ETH2_DOMAIN_VOLUNTARY_EXIT;
        return eth2_voluntary_exit_root(r->object_root, &r->epoch, &r->validator_index,
                                        obj, path, err);
    case TKMS_ETH2_SYNC_COMMITTEE_MESSAGE:
        /* the signed object is the block root itself */
        *domain_type = TKMS_ETH2_DOMAIN_SYNC_COMMITTEE;
        ETH2_TRY(eth2_field_bytes(r->object_root, NULL, 32, obj, path,
                                  "beacon_block_root", err));
        ETH2_TRY(ej_uint64(&r->slot, obj, path, "slot", err));
        r->has_slot = true;
        r->epoch = r->slot / spe;
        return TKMS_OK;
    case TKMS_ETH2_SYNC_COMMITTEE_SELECTION_PROOF:
        *domain_type = TKMS_ETH2_DOMAIN_SYNC_COMMITTEE_SELECTION_PROOF;
        ETH2_TRY(eth2_sync_selection_data_root(r->object_root, &r->slot, obj, path, err));
        r->has_slot = true;
        r->epoch = r->slot / spe;
        return TKMS_OK;
    case TKMS_ETH2_SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF:
        *domain_type = TKMS_ETH2_DOMAIN_CONTRIBUTION_AND_PROOF;
        ETH2_TRY(eth2_contribution_and_proof_root(r->object_root, &r->slot, obj, path,
                                                  params, err));
        r->has_slot = true;
        r->epoch = r->slot / spe;
        return TKMS_OK;
    case TKMS_ETH2_VALIDATOR_REGISTRATION:
        *domain_type = TKMS_ETH2_DOMAIN_APPLICATION_BUILDER;
        r->has_pubkey = true;
        return eth2_validator_registration_root(r->object_root, r->pubkey, obj, path, err);
    case TKMS_ETH2_DEPOSIT:
        *domain_type = TKMS_ETH2_DOMAIN_DEPOSIT;
        r->has_pubkey = true;
        return eth2_deposit_root(r->object_root, r->pubkey, obj, path, false, err);
    case TKMS_ETH2_BLS_TO_EXECUTION_CHANGE:
        *domain_type = TKMS_ETH2_DOMAIN_BLS_TO_EXECUTION_CHANGE;
        r->has_pubkey = true;
        return eth2_bls_to_execution_change_root(r->object_root, &r->validator_index,
                                                 r->pubkey, obj, path, err);
    }
    return tkms_fail(err, TKMS_ERR_UNSUPPORTED, "type: unsupported");
}

/* The member of the body that holds the object of `type`. */
static const char *payload_key(tkms_eth2_type type, const json_t *body)
{
    switch (type) {
    case TKMS_ETH2_ATTESTATION: return "attestation";
    case TKMS_ETH2_BLOCK_V2: return "beacon_block";
    case TKMS_ETH2_AGGREGATE_AND_PROOF:
    case TKMS_ETH2_AGGREGATE_AND_PROOF_V2: return "aggregate_and_proof";
    case TKMS_ETH2_AGGREGATION_SLOT: return "aggregation_slot";
    case TKMS_ETH2_RANDAO_REVEAL: return "randao_reveal";
    case TKMS_ETH2_VOLUNTARY_EXIT: return "voluntary_exit";
    case TKMS_ETH2_SYNC_COMMITTEE_MESSAGE: return "sync_committee_message";
    case TKMS_ETH2_SYNC_COMMITTEE_SELECTION_PROOF: return "sync_aggregator_selection_data";
    case TKMS_ETH2_SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF: return "contribution_and_proof";
    case TKMS_ETH2_VALIDATOR_REGISTRATION: return "validator_registration";
    case TKMS_ETH2_DEPOSIT: return "deposit";
    case TKMS_ETH2_BLS_TO_EXECUTION_CHANGE:
        /* Lodestar sends the upper-case key */
        return json_object_get(body, "BLS_TO_EXECUTION_CHANGE") != NULL
                   ? "BLS_TO_EXECUTION_CHANGE" : "bls_to_execution_change";
    }
    return "";
}

static tkms_status type_field(tkms_eth2_type *out, const json_t *body,
                              tkms_err *err)
{
    const char *s;
    ETH2_TRY(ej_string(&s, body, "", "type", true, err));
    for (size_t t = 0; t < TYPE_COUNT; t++)
        if (strcmp(s, type_names[t]) == 0) {
            *out = (tkms_eth2_type)t;
            return TKMS_OK;
        }
    if (strcmp(s, "BLOCK") == 0)
        return tkms_fail(err, TKMS_ERR_UNSUPPORTED,
                         "type: BLOCK (v1) is not supported, send BLOCK_V2");
    char shown[48];                    /* the client's text: printable, cut */
    return tkms_fail(err, TKMS_ERR_UNSUPPORTED, "type: unknown signing type '%s'",
                     tkms_text_printable(shown, sizeof shown, s, 40));
}

/* The body's own signing root, when it carries one (`signingRoot`, or the
 * snake-case `signing_root` some clients send). */
static tkms_status body_signing_root(bool *present, uint8_t root[32],
                                     const json_t *body, tkms_err *err)
{
    static const char *const keys[] = {"signingRoot", "signing_root"};
    *present = false;
    for (size_t i = 0; i < 2; i++) {
        if (json_object_get(body, keys[i]) == NULL)
            continue;
        if (*present)
            return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                             "signing_root: given twice (signingRoot and signing_root)");
        ETH2_TRY(ej_hex(root, 32, body, "", keys[i], err));
        *present = true;
    }
    return TKMS_OK;
}

static tkms_status parse(tkms_eth2_request *r, const json_t *body,
                         const tkms_eth2_chain *chain, const eth2_params *params,
                         tkms_err *err)
{
    uint8_t claimed[32];
    const uint8_t *domain_type = NULL;
    const json_t *obj;
    char obj_path[EJ_PATH_SIZE];

    ETH2_TRY(type_field(&r->type, body, err));
    ETH2_TRY(body_signing_root(&r->has_body_signing_root, claimed, body, err));

    bool genesis_domain = r->type == TKMS_ETH2_DEPOSIT ||
                          r->type == TKMS_ETH2_VALIDATOR_REGISTRATION;
    if (!genesis_domain) {
        ETH2_TRY(fork_info_field(&r->fork_info, body, err));
        r->has_fork_info = true;
    }

    ETH2_TRY(ej_object(&obj, obj_path, body, "", payload_key(r->type, body), err));
    ETH2_TRY(object_root(r, &domain_type, obj, obj_path, params, err));

    static const uint8_t zero_root[32];
    uint8_t version[4];
    switch (r->type) {
    case TKMS_ETH2_DEPOSIT:
        /* compute_domain(DOMAIN_DEPOSIT, the body's genesis fork version) */
        ETH2_TRY(ej_hex(version, 4, obj, obj_path, "genesis_fork_version", err));
        tkms_eth2_compute_domain(r->domain, domain_type, version, zero_root);
        r->epoch = 0;
        break;
    case TKMS_ETH2_VALIDATOR_REGISTRATION:
        tkms_eth2_compute_domain(r->domain, domain_type, chain->genesis_fork_version,
                                 zero_root);
        break;
    case TKMS_ETH2_BLS_TO_EXECUTION_CHANGE:
        tkms_eth2_compute_domain(r->domain, domain_type, chain->genesis_fork_version,
                                 r->fork_info.genesis_validators_root);
        break;
    default:
        tkms_eth2_fork_domain(r->domain, domain_type, r->epoch, &r->fork_info);
        break;
    }
    tkms_eth2_signing_root(r->signing_root, r->object_root, r->domain);

    if (r->has_body_signing_root && memcmp(claimed, r->signing_root, 32) != 0) {
        char said[TKMS_HEX_SIZE(32)], computed[TKMS_HEX_SIZE(32)];
        tkms_hex_encode(said, claimed, 32);
        tkms_hex_encode(computed, r->signing_root, 32);
        return tkms_fail(err, TKMS_ERR_VERIFY_FAILED,
                         "signing root mismatch: body says %s, computed %s", said, computed);
    }
    return TKMS_OK;
}

tkms_status tkms_eth2_parse_sign_request(tkms_eth2_request *out,
                                         const char *json, size_t len,
                                         const tkms_eth2_chain *chain,
                                         tkms_err *err)
{
    eth2_params params;
    tkms_err_clear(err);
    if (out == NULL || json == NULL || chain == NULL)
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT,
                         "sign request: out, json and chain are required");
    memset(out, 0, sizeof *out);
    if (!preset_params(&params, chain->preset))
        return tkms_fail(err, TKMS_ERR_INVALID_ARGUMENT, "sign request: unknown preset");
    json_t *body;
    tkms_status st = ej_parse(&body, json, len, err);
    if (st != TKMS_OK)
        return st;
    st = parse(out, body, chain, &params, err);
    json_decref(body);
    if (st != TKMS_OK && st != TKMS_ERR_VERIFY_FAILED)
        memset(out, 0, sizeof *out);
    return st;
}
