/*
 * tkms/ceremony_output.h — the files a finished ceremony party leaves
 * behind, written by every driver of a ceremony: `tkms ceremony step` and
 * `simulate` (src/cli) and the threshold server's ceremony host
 * (src/server/ceremony_host.c), which stages them before its commit.
 *
 * Under an output directory D:
 *   D/keys/<m>/group.json                 public group file of key m
 *                                         (0-based), with the owners
 *   D/keys/<m>/<owner>/share-<i>.json     that owner's share keystores
 *                                         (files 0600, directory 0700)
 *   D/transcript.json                     {"ceremony_id", "spec_hash",
 *     "transcript": "0x…", "keys": ["0x…", …], "disqualified": [{"party":
 *     ID, "reason": "…", "evidence": ["0x<signed message>", …]}]}
 *
 * The group files and the transcript are the same for every honest party,
 * so several parties may write into one D: the first writes them and the
 * next ones only check theirs against what is there (a group file must be
 * the same document; a transcript must name the same ceremony, spec,
 * transcript hash and keys — the reasons and evidence of a
 * disqualification are each party's own view of it and may differ in
 * detail, so the first party's are kept). Every file is written
 * atomically and durably (tkms/file.h) and never overwritten; every
 * directory created is made durable in its parent.
 */
#ifndef TKMS_CEREMONY_OUTPUT_H
#define TKMS_CEREMONY_OUTPUT_H

#include "tkms/ceremony.h"
#include "tkms/dkg.h"
#include "tkms/keystore.h"
#include "tkms/shamir.h"
#include "tkms/status.h"

#define TKMS_CEREMONY_TRANSCRIPT_FILE "transcript.json"
/* A transcript lists evidence (signed deals) of up to every party, so it
 * can be large; this bounds reading one back. */
#define TKMS_CEREMONY_TRANSCRIPT_MAX_SIZE (1024u * 1024u * 1024u)

/*
 * Writes what DONE party `party` of `spec` holds into `dir` (which must
 * exist; layout above): its share keystores, encrypted with `password`
 * and `params` and naming the owner, and the group files and the
 * transcript unless they are there already.
 * Returns TKMS_OK; TKMS_ERR_INVALID_ARGUMENT (the party is not DONE, or
 * params are outside the limits); TKMS_ERR_IO (a directory or file cannot
 * be created, or a share keystore exists already); TKMS_ERR_VERIFY_FAILED
 * (a group file or transcript there differs from this party's: the
 * parties did not reach the same result); TKMS_ERR_BAD_FORMAT (a password
 * that is not UTF-8); TKMS_ERR_RNG; TKMS_ERR_NO_MEMORY — with a one-line
 * reason naming the file in err. Files written before a failure stay.
 */
tkms_status tkms_ceremony_write_party(const char *dir, const tkms_ceremony_spec *spec,
                                      const tkms_party *party, const char *password,
                                      const tkms_kdf_params *params, tkms_err *err);

/*
 * Encrypts share `share` of `group` as a share keystore (tkms/keystore.h):
 * its share info (index, threshold, share count, group key, commitments)
 * with `owner` ("" for none; cut to fit), salt and IV from the system RNG.
 * On TKMS_OK *json_out is the keystore JSON (malloc'ed; it holds no secret
 * in the clear, but the caller wipes and frees it); otherwise what
 * tkms_keystore_encrypt returns, with its reason in err.
 */
tkms_status tkms_share_keystore_encrypt(char **json_out, const tkms_group *group,
                                        const tkms_share *share, const char *owner,
                                        const char *password, const tkms_kdf_params *params,
                                        tkms_err *err);

/*
 * tkms_share_keystore_encrypt, written to `path`, a new file of mode 0600
 * ending in a newline.
 * Returns TKMS_OK, what tkms_keystore_encrypt returns (the reason
 * prefixed with "share <i>: "), or TKMS_ERR_IO (the file exists or cannot
 * be written).
 */
tkms_status tkms_share_keystore_write(const char *path, const tkms_group *group,
                                      const tkms_share *share, const char *owner,
                                      const char *password, const tkms_kdf_params *params,
                                      tkms_err *err);

#endif /* TKMS_CEREMONY_OUTPUT_H */
