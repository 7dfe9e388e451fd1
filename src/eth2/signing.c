/*
 * signing.c — domains and signing roots: the domain-type constants,
 * compute_fork_data_root, compute_domain, the fork-version choice of
 * get_domain, and compute_signing_root (consensus specs, phase0
 * beacon-chain.md "Helper functions"; DOMAIN_APPLICATION_BUILDER from the
 * builder specs).
 */
#include <string.h>

#include "tkms/eth2.h"

#include "ssz.h"

const uint8_t TKMS_ETH2_DOMAIN_BEACON_PROPOSER[4] = {0x00, 0x00, 0x00, 0x00};
const uint8_t TKMS_ETH2_DOMAIN_BEACON_ATTESTER[4] = {0x01, 0x00, 0x00, 0x00};
const uint8_t TKMS_ETH2_DOMAIN_RANDAO[4] = {0x02, 0x00, 0x00, 0x00};
const uint8_t TKMS_ETH2_DOMAIN_DEPOSIT[4] = {0x03, 0x00, 0x00, 0x00};
const uint8_t TKMS_ETH2_DOMAIN_VOLUNTARY_EXIT[4] = {0x04, 0x00, 0x00, 0x00};
const uint8_t TKMS_ETH2_DOMAIN_SELECTION_PROOF[4] = {0x05, 0x00, 0x00, 0x00};
const uint8_t TKMS_ETH2_DOMAIN_AGGREGATE_AND_PROOF[4] = {0x06, 0x00, 0x00, 0x00};
const uint8_t TKMS_ETH2_DOMAIN_SYNC_COMMITTEE[4] = {0x07, 0x00, 0x00, 0x00};
const uint8_t TKMS_ETH2_DOMAIN_SYNC_COMMITTEE_SELECTION_PROOF[4] = {0x08, 0x00, 0x00, 0x00};
const uint8_t TKMS_ETH2_DOMAIN_CONTRIBUTION_AND_PROOF[4] = {0x09, 0x00, 0x00, 0x00};
const uint8_t TKMS_ETH2_DOMAIN_BLS_TO_EXECUTION_CHANGE[4] = {0x0a, 0x00, 0x00, 0x00};
const uint8_t TKMS_ETH2_DOMAIN_APPLICATION_BUILDER[4] = {0x00, 0x00, 0x00, 0x01};

void tkms_eth2_fork_data_root(uint8_t root[32], const uint8_t version[4],
                              const uint8_t genesis_validators_root[32])
{
    /* ForkData { current_version: Version, genesis_validators_root: Root } */
    uint8_t fields[2][32];
    ssz_bytes_root(fields[0], version, 4);
    memcpy(fields[1], genesis_validators_root, 32);
    ssz_container_root(root, (const uint8_t(*)[32])fields, 2);
}

void tkms_eth2_compute_domain(uint8_t domain[32], const uint8_t domain_type[4],
                              const uint8_t fork_version[4],
                              const uint8_t genesis_validators_root[32])
{
    uint8_t fork_data_root[32];
    tkms_eth2_fork_data_root(fork_data_root, fork_version, genesis_validators_root);
    memcpy(domain, domain_type, 4);
    memcpy(domain + 4, fork_data_root, 28);
}

void tkms_eth2_fork_domain(uint8_t domain[32], const uint8_t domain_type[4],
                           uint64_t epoch, const tkms_eth2_fork_info *fork)
{
    const uint8_t *version = epoch < fork->epoch ? fork->previous_version
                                                 : fork->current_version;
    tkms_eth2_compute_domain(domain, domain_type, version,
                             fork->genesis_validators_root);
}

void tkms_eth2_signing_root(uint8_t root[32], const uint8_t object_root[32],
                            const uint8_t domain[32])
{
    /* SigningData { object_root: Root, domain: Domain } */
    uint8_t fields[2][32];
    memcpy(fields[0], object_root, 32);
    memcpy(fields[1], domain, 32);
    ssz_container_root(root, (const uint8_t(*)[32])fields, 2);
}
