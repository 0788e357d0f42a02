/*
 * Key and secret files: bounded reads, and atomic 0600 writes that never replace an existing
 * file unless asked to (signing keys, their retired list, the challenge secret). The only file
 * I/O in verifier/ear.
 *
 * Atomic write: mkstemp in the target's directory (so rename and link stay on one file system),
 * write everything, fchmod 0600, fsync, close, then rename(2) over the target (replace) or
 * link(2) to it (no replace: link fails with EEXIST, which is how two processes creating the
 * same key at once agree on one), and fsync the directory so the new name survives a crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "ear_internal.h"

void vd_ear__free_secret(void *p, size_t len)
{
    if (p != NULL) {
        OPENSSL_cleanse(p, len);
        free(p);
    }
}

vd_err_t vd_ear__read_file(const char *path, size_t max, uint8_t **buf, size_t *len, int *missing,
                           vd_error_t *err)
{
    vd_err_t rc = VD_OK;
    uint8_t *b = NULL;
    size_t n = 0;
    struct stat st;
    int fd;
    *buf = NULL;
    *len = 0;
    if (missing != NULL) {
        *missing = 0;
    }
    /* O_NONBLOCK: a FIFO in place of a key file must not hang us before the fstat check. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT && missing != NULL) {
            *missing = 1;
        }
        return VD_ERR(err, VD_E_IO, "%s: %s", path, vd_strerror(errno));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = VD_ERR(err, VD_E_IO, "%s: not a regular file", path);
        goto out;
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > max) {
        rc = VD_ERR(err, VD_E_TOO_LARGE, "%s: larger than %zu bytes", path, max);
        goto out;
    }
    b = malloc(max + 1);
    if (b == NULL) {
        rc = VD_ERR(err, VD_E_NOMEM, "%s: out of memory", path);
        goto out;
    }
    /* Read up to one byte past the limit: the file may have grown since fstat. */
    while (n <= max) {
        ssize_t r = read(fd, b + n, max + 1 - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            rc = VD_ERR(err, VD_E_IO, "%s: %s", path, vd_strerror(errno));
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
    b[n] = '\0';
    *buf = b;
    *len = n;
    b = NULL;
out:
    vd_ear__free_secret(b, max + 1);
    close(fd);
    return rc;
}

static vd_err_t write_all(int fd, const uint8_t *p, size_t len, const char *path, vd_error_t *err)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return VD_ERR(err, VD_E_IO, "%s: write: %s", path, vd_strerror(errno));
        }
        p += w;
        len -= (size_t)w;
    }
    return VD_OK;
}

/* fsync the directory holding `path`, so a rename or link in it is durable. */
static void sync_dir(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        snprintf(dir, sizeof dir, ".");
    } else if (slash == path) {
        snprintf(dir, sizeof dir, "/");
    } else {
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

vd_err_t vd_ear__write_file_atomic(const char *path, const void *data, size_t len, int replace,
                                   int *exists, vd_error_t *err)
{
    vd_err_t rc = VD_OK;
    char tmp[PATH_MAX];
    int fd = -1, have_tmp = 0;
    if (exists != NULL) {
        *exists = 0;
    }
    if (path == NULL || path[0] == '\0') {
        return VD_ERR(err, VD_E_USAGE, "no file name given");
    }
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= sizeof tmp) {
        return VD_ERR(err, VD_E_IO, "%s: path too long", path);
    }
    fd = mkstemp(tmp);
    if (fd < 0) {
        return VD_ERR(err, VD_E_IO, "%s: cannot create a temporary file: %s", path,
                      vd_strerror(errno));
    }
    have_tmp = 1;
    if (fchmod(fd, S_IRUSR | S_IWUSR) != 0) {
        rc = VD_ERR(err, VD_E_IO, "%s: chmod: %s", tmp, vd_strerror(errno));
        goto out;
    }
    rc = write_all(fd, data, len, tmp, err);
    if (rc != VD_OK) {
        goto out;
    }
    if (fsync(fd) != 0) {
        rc = VD_ERR(err, VD_E_IO, "%s: fsync: %s", tmp, vd_strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = VD_ERR(err, VD_E_IO, "%s: close: %s", tmp, vd_strerror(errno));
        goto out;
    }
    fd = -1;
    if (replace) {
        if (rename(tmp, path) != 0) {
            rc = VD_ERR(err, VD_E_IO, "%s: rename: %s", path, vd_strerror(errno));
            goto out;
        }
        have_tmp = 0;
    } else if (link(tmp, path) != 0) {
        if (errno == EEXIST && exists != NULL) {
            *exists = 1;
        }
        rc = VD_ERR(err, VD_E_IO, "%s: %s", path,
                    errno == EEXIST ? "already exists (not overwritten)" : vd_strerror(errno));
        goto out;
    }
    sync_dir(path);
out:
    if (fd >= 0) {
        close(fd);
    }
    if (have_tmp) {
        (void)unlink(tmp);
    }
    return rc;
}
