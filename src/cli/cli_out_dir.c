/*
 * cli_out_dir.c — output directories that appear complete or not at all
 * (cli_out_dir_* in cli.h): everything is written into a staging directory
 * next to the target, which is renamed into place at the end — rename(2)
 * replaces only an absent or empty directory — or removed on failure.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "tkms/file.h"

/* NULL when path is absent or an empty directory, else why not. */
static const char *unusable(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return errno == ENOENT ? NULL : "cannot be read";
    if (!S_ISDIR(st.st_mode))
        return "exists and is not a directory";
    DIR *d = opendir(path);
    if (d == NULL)
        return "cannot be read";
    struct dirent *e;
    bool empty = true;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            empty = false;
    closedir(d);
    return empty ? NULL : "exists and is not empty";
}

void cli_remove_tree(const char *dir)
{
    tkms_file_remove_tree(dir, NULL);
}

int cli_out_dir_begin(cli_out_dir *d, const char *cmd, const char *flag, const char *path)
{
    memset(d, 0, sizeof *d);
    d->cmd = cmd;
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    if (len == 0 || len >= sizeof d->target - 16)
        return cli_usage(cmd, "%s: the path is empty or too long", flag);
    memcpy(d->target, path, len);
    d->target[len] = '\0';
    const char *why = unusable(d->target);
    if (why != NULL)
        return cli_fail(cmd, "%s %s %s", flag, d->target, why);
    snprintf(d->staging, sizeof d->staging, "%.3830s.tmp-XXXXXX", d->target);
    if (mkdtemp(d->staging) == NULL) {
        d->staging[0] = '\0';
        return cli_fail(cmd, "cannot create a directory next to %s: %s", d->target, strerror(errno));
    }
    /* mkdtemp made it 0700; give it the usual mode (secret files and
     * owner directories inside get their own) */
    mode_t mask = umask(0);
    umask(mask);
    if (chmod(d->staging, 0777 & ~mask) != 0) {
        int e = errno;
        cli_out_dir_abort(d);
        return cli_fail(cmd, "cannot set the mode of a new directory: %s", strerror(e));
    }
    return CLI_EXIT_OK;
}

int cli_out_dir_commit(cli_out_dir *d)
{
    if (rename(d->staging, d->target) != 0) {
        int e = errno;
        cli_out_dir_abort(d);
        return cli_fail(d->cmd, "cannot move the results into %s: %s", d->target,
                        e == ENOTEMPTY || e == EEXIST ? "it is no longer empty" : strerror(e));
    }
    d->staging[0] = '\0';
    tkms_file_sync_parent(d->target);
    return CLI_EXIT_OK;
}

void cli_out_dir_abort(cli_out_dir *d)
{
    if (d->staging[0] != '\0')
        cli_remove_tree(d->staging);
    d->staging[0] = '\0';
}
