/*
 * Bounded whole-file reads for the CLI. Only regular files: a FIFO or a device named by an
 * attacker-influenced flag must not block the process forever, and a directory gets its own
 * message instead of "read error".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static const char *file_kind(mode_t m)
{
    return S_ISDIR(m)    ? "a directory"
           : S_ISFIFO(m) ? "a FIFO"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
           : S_ISSOCK(m) ? "a socket"
                         : "not a regular file";
}

vd_err_t vd_file_read(const char *path, size_t max, uint8_t **buf, size_t *len, vd_error_t *err)
{
    vd_err_t rc = VD_OK;
    uint8_t *b = NULL;
    size_t n = 0;
    struct stat st;
    *buf = NULL;
    *len = 0;
    /* O_NONBLOCK: opening a FIFO without a writer must not wait; fstat then refuses it. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        return VD_ERR(err, VD_E_IO, "%s: %s", path, vd_strerror(errno));
    }
    if (fstat(fd, &st) != 0) {
        rc = VD_ERR(err, VD_E_IO, "%s: %s", path, vd_strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = VD_ERR(err, VD_E_IO, "%s: is %s, not a file", path, file_kind(st.st_mode));
        goto out;
    }
    if ((uintmax_t)st.st_size > (uintmax_t)max) {
        rc = VD_ERR(err, VD_E_TOO_LARGE, "%s: larger than %zu bytes", path, max);
        goto out;
    }
    b = malloc(max + 1);
    if (b == NULL) {
        rc = VD_ERR(err, VD_E_NOMEM, "%s: out of memory", path);
        goto out;
    }
    /* Read one byte past the limit to tell "exactly max" from "larger" (the file may grow). */
    while (n < max + 1) {
        ssize_t r = read(fd, b + n, max + 1 - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            rc = VD_ERR(err, VD_E_IO, "%s: read error: %s", path, vd_strerror(errno));
            goto out;
        }
        if (r == 0) {
            break;
        }
        n += (size_t)r;
    }
    if (n > max) {
        rc = VD_ERR(err, VD_E_TOO_LARGE, "%s: larger than %zu bytes", path, max);
        goto out;
    }
    *buf = b;
    *len = n;
    b = NULL;
out:
    free(b);
    close(fd);
    return rc;
}

vd_err_t vd_file_check_private(const char *what, const char *path, vd_error_t *err)
{
    struct stat st;
    if (path == NULL || path[0] == '\0') {
        return VD_OK;
    }
    if (stat(path, &st) != 0) {
        return errno == ENOENT ? VD_OK
                               : VD_ERR(err, VD_E_IO, "%s %s: %s", what, path, vd_strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        return VD_ERR(err, VD_E_CONFIG, "%s %s: is %s, not a file", what, path,
                      file_kind(st.st_mode));
    }
    /* Root-owned: group read is how a root-managed secret is shared with the service's group. */
    mode_t forbidden = st.st_uid == 0 && geteuid() != 0 ? (mode_t)(S_IWGRP | S_IXGRP | S_IRWXO)
                                                        : (mode_t)(S_IRWXG | S_IRWXO);
    if ((st.st_mode & forbidden) != 0) {
        return VD_ERR(err, VD_E_CONFIG,
                      "%s %s has mode %04o: group or others may read or change it; make it "
                      "private with `chmod 600 %s`",
                      what, path, (unsigned)(st.st_mode & 07777), path);
    }
    return VD_OK;
}
