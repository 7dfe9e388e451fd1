/*
 * tkms/simulation.h — every party of a ceremony in one process, with an
 * in-memory relay that can make chosen parties misbehave. For tests,
 * benchmarks and `tkms ceremony simulate`; sans-IO like the parties
 * themselves (an optional callback lets the caller time each party).
 *
 * Faults (the relay holds the faulty party's identity, so its tampered
 * messages are validly signed — exactly what a malicious party could do):
 *   BAD_SHARE       its share to one other party's first share is random,
 *                   and its justification later reveals that same value;
 *   BAD_COMMITMENT  a commitment of its deal is altered (shares no longer
 *                   match, and neither does its justification);
 *   MISSING         nothing it sends is delivered;
 *   EQUIVOCATE      half the parties get its deal, half an altered one;
 *   BAD_SIGNATURE   every message it sends carries a broken signature;
 *   REPLAY          its deals and shares are re-sent under another
 *                   ceremony's id.
 */
#ifndef TKMS_SIMULATION_H
#define TKMS_SIMULATION_H

#include <stddef.h>
#include <stdint.h>

#include "tkms/dkg.h"

typedef enum {
    TKMS_FAULT_NONE = 0,
    TKMS_FAULT_BAD_SHARE,
    TKMS_FAULT_BAD_COMMITMENT,
    TKMS_FAULT_MISSING,
    TKMS_FAULT_EQUIVOCATE,
    TKMS_FAULT_BAD_SIGNATURE,
    TKMS_FAULT_REPLAY,
} tkms_fault;

/* "bad-share", … "replay" → the fault; TKMS_FAULT_NONE if unknown. */
tkms_fault tkms_fault_from_name(const char *name);
const char *tkms_fault_name(tkms_fault fault);

typedef struct {
    const tkms_ceremony_spec *spec;
    const tkms_identity *identities;      /* [m], spec order               */
    const tkms_fault *faults;             /* [m] or NULL                   */
    const tkms_share *const *old_shares;  /* reshare: [m] arrays, or NULL  */
    const size_t *old_share_counts;       /* reshare: [m]                  */
    tkms_rng *rng;                        /* for every party and the relay */
    /* optional: called around each piece of a party's work */
    void (*on_work)(void *ctx, uint32_t party, int begin);
    void *ctx;
} tkms_simulation_config;

typedef struct {
    size_t party_count;
    tkms_party **parties;     /* [m]: each party's end state              */
    uint64_t *bytes_sent;     /* [m]: bytes each party sent (per recipient) */
    uint64_t *messages_sent;  /* [m]                                       */
    uint64_t refused;         /* messages the routers refused              */
} tkms_simulation;

/*
 * Runs the ceremony to its end. Returns TKMS_OK when it ran (each party is
 * then DONE or FAILED — faulty parties may fail, honest ones should not),
 * or an error if a party could not even be created.
 */
tkms_status tkms_simulate(tkms_simulation *out, const tkms_simulation_config *config,
                          tkms_err *err);

void tkms_simulation_free(tkms_simulation *sim);

#endif /* TKMS_SIMULATION_H */
