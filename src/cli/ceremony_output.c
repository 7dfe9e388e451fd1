/*
 * ceremony_output.c — cli_ceremony_write_party (cli_ceremony.h): the
 * results of a finished ceremony party, written by the store layer
 * (tkms_ceremony_write_party, tkms/ceremony_output.h) for `tkms ceremony
 * simulate` and `tkms ceremony step`, with the error printed as the CLI
 * does.
 */
#include "cli_ceremony.h"
#include "tkms/ceremony_output.h"

int cli_ceremony_write_party(const char *cmd, const char *dir,
                             const tkms_ceremony_spec *spec, const tkms_party *party,
                             const char *password, const tkms_kdf_params *params)
{
    tkms_err err;
    if (tkms_ceremony_write_party(dir, spec, party, password, params, &err) != TKMS_OK)
        return cli_fail(cmd, "%s", err.message);
    return CLI_EXIT_OK;
}
