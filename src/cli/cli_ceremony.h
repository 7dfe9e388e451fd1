/*
 * cli_ceremony.h — what the `tkms ceremony …`, `tkms identity …` and
 * `tkms bench dkg` commands share.
 *
 * Outputs of a finished ceremony, under an output directory D, are laid
 * out as tkms/ceremony_output.h says (D/keys/<m>/group.json,
 * D/keys/<m>/<owner>/share-<i>.json, D/transcript.json).
 */
#ifndef TKMS_CLI_CEREMONY_H
#define TKMS_CLI_CEREMONY_H

#include "cli.h"
#include "tkms/ceremony.h"
#include "tkms/dkg.h"
#include "tkms/keystore.h"

/* Subcommands of `tkms ceremony`. */
int cmd_ceremony_init(int argc, char **argv);
int cmd_ceremony_step(int argc, char **argv);
int cmd_ceremony_simulate(int argc, char **argv);
int cmd_ceremony_spec(int argc, char **argv);
int cmd_ceremony_run(int argc, char **argv);

/* `tkms bench dkg`. */
int cmd_bench_dkg(int argc, char **argv);

/*
 * Writes what DONE party `party` holds into `dir` with
 * tkms_ceremony_write_party (tkms/ceremony_output.h): its share keystores
 * (encrypted with `password` and `params`, naming the owner), and the
 * group files and the transcript if they are not there yet (an existing
 * file that differs is an error). Prints the error itself; returns a
 * CLI_EXIT_* code.
 */
int cli_ceremony_write_party(const char *cmd, const char *dir,
                             const tkms_ceremony_spec *spec, const tkms_party *party,
                             const char *password, const tkms_kdf_params *params);

#endif /* TKMS_CLI_CEREMONY_H */
