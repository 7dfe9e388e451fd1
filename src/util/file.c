/*
 * file.c — bounded whole-file reads and atomic writes (tkms/file.h).
 *
 * Writes go to "<path>.tmp-XXXXXX" in the target's directory, are fsync'ed,
 * then renamed into place (link(2) instead of rename when the target must
 * not exist, so two writers cannot both win), and the directory is
 * fsync'ed. A failure removes the temporary file.
 */
#include <errno.h>
#include <ftw.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tkms/file.h"
#include "tkms/secmem.h"

tkms_status tkms_file_read(const char *path, size_t max_size, char **out,
                           size_t *out_len, tkms_err *err)
{
    *out = NULL;
    *out_len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tkms_fail(err, TKMS_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return tkms_fail(err, TKMS_ERR_IO, "%s: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return tkms_fail(err, TKMS_ERR_IO, "%s: is a directory", path);
    }
    /* Read in chunks up to max_size + 1 so pipes and /proc files work and
     * oversize input is detected without trusting st_size. */
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap + 1);
    if (buf == NULL) {
        close(fd);
        return tkms_fail(err, TKMS_ERR_NO_MEMORY, "%s: out of memory", path);
    }
    for (;;) {
        if (len == cap) {
            if (cap > max_size) break;
            /* grow by copying, and wipe the old buffer: files read here
             * may hold passwords or keystores */
            size_t ncap = cap * 2 > max_size + 1 ? max_size + 1 : cap * 2;
            char *nbuf = malloc(ncap + 1);
            if (nbuf != NULL)
                memcpy(nbuf, buf, len);
            tkms_wipe(buf, len);
            free(buf);
            if (nbuf == NULL) {
                close(fd);
                return tkms_fail(err, TKMS_ERR_NO_MEMORY, "%s: out of memory", path);
            }
            buf = nbuf;
            cap = ncap;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            free(buf);
            close(fd);
            return tkms_fail(err, TKMS_ERR_IO, "%s: %s", path, strerror(e));
        }
        if (n == 0) break;
        len += (size_t)n;
    }
    close(fd);
    if (len > max_size) {
        tkms_wipe(buf, len);
        free(buf);
        return tkms_fail(err, TKMS_ERR_BAD_FORMAT,
                         "%s: file is larger than the %zu bytes allowed", path,
                         max_size);
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return TKMS_OK;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

void tkms_file_sync_parent(const char *path)
{
    char copy[PATH_MAX];
    if (strlen(path) >= sizeof copy) return;
    strcpy(copy, path);
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
}

tkms_status tkms_file_write_atomic(const char *path, const void *data,
                                   size_t len, mode_t mode, bool exclusive,
                                   tkms_err *err)
{
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path) >= sizeof tmp)
        return tkms_fail(err, TKMS_ERR_IO, "%s: path too long", path);
    if (exclusive && access(path, F_OK) == 0)
        return tkms_fail(err, TKMS_ERR_IO, "%s: already exists, not overwriting", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return tkms_fail(err, TKMS_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    int e = 0;
    if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0)
        e = errno;
    if (close(fd) != 0 && e == 0)
        e = errno;
    if (e == 0) {
        if (exclusive) {
            if (link(tmp, path) != 0) e = errno;
            unlink(tmp);
        } else if (rename(tmp, path) != 0) {
            e = errno;
        }
    }
    if (e != 0) {
        unlink(tmp);
        return tkms_fail(err, TKMS_ERR_IO, "%s: cannot write: %s", path, strerror(e));
    }
    tkms_file_sync_parent(path);
    return TKMS_OK;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

tkms_status tkms_file_remove_tree(const char *path, tkms_err *err)
{
    struct stat st;
    if (lstat(path, &st) != 0 && errno == ENOENT)
        return TKMS_OK;
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return tkms_fail(err, TKMS_ERR_IO, "cannot delete %s: %s", path, strerror(errno));
    tkms_file_sync_parent(path);
    return TKMS_OK;
}
