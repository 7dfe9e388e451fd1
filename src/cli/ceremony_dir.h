/*
 * ceremony_dir.h — the directory of a file ceremony: what `tkms ceremony
 * init` creates and `tkms ceremony step` reads and writes, so that parties
 * can exchange their messages as plain files (also by carrying them to an
 * offline machine and back).
 *
 *   D/spec.json                         the spec, as tkms formats it
 *   D/messages/round-<r>/               r = 1..4, the messages sent in round r:
 *     <from>-all-<k>.msg                  the k-th broadcast of party <from>
 *     <from>-<to>-<share>.msg             to share <share> of party <to>
 *     <from>.sent                         the names of the files <from> sent in
 *                                         round r, one a line; written after
 *                                         them, so it says "<from> is done"
 *     <id>.read                           what party <id> read to close round r:
 *                                         "<sha256> <name>" lines, signed by its
 *                                         identity key (see cmd_ceremony_step.c)
 *   D/out/                              the parties' results (cli_ceremony.h)
 *
 * Every message file is one signed ceremony message (tkms/ceremony_message.h):
 * the names only sort them; the router checks what each message says. For
 * the names to be unambiguous, no party may be called "all" and no party id
 * may be another's followed by '-' ("a" and "a-b"); specs used here are
 * checked for that.
 */
#ifndef TKMS_CEREMONY_DIR_H
#define TKMS_CEREMONY_DIR_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "tkms/ceremony.h"

#define CEREMONY_ROUNDS 4
#define CEREMONY_SPEC_FILE "spec.json"
#define CEREMONY_MESSAGES_DIR "messages"
#define CEREMONY_OUT_DIR "out"
/* Longest file name of a message, manifest or read record. */
#define CEREMONY_NAME_MAX (2 * TKMS_OWNER_ID_MAX_SIZE + 32)


/* Reads and checks a SPEC.json, including that its party ids give
 * unambiguous file names. Prints the error itself. */
int ceremony_load_spec(const char *cmd, const char *path, tkms_ceremony_spec **out);

/* Fails (printing why) when the spec's party ids would make message file
 * names ambiguous (see above). */
int ceremony_check_names(const char *cmd, const tkms_ceremony_spec *spec);

/* Prints "ceremony_id 0x…" and "spec_hash 0x…" lines on stdout. */
void ceremony_print_ids(const tkms_ceremony_spec *spec);

/* The file name of a message from party `from` (1..m): the k-th (1-based)
 * broadcast when to_party is 0, else the one to share to_share of
 * to_party. */
void ceremony_message_name(char name[CEREMONY_NAME_MAX], const tkms_ceremony_spec *spec,
                           uint32_t from, uint32_t to_party, uint32_t to_share, size_t k);

/* If `name` is a message file another party sent to party `me` (a
 * broadcast, or to a share `me` holds), returns the sender's number; else
 * 0. */
uint32_t ceremony_message_for(const tkms_ceremony_spec *spec, uint32_t me, const char *name);

#endif /* TKMS_CEREMONY_DIR_H */
