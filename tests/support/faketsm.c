/*
 * faketsm: an LD_PRELOAD library that plays the kernel's configfs-tsm for the real
 * `verdict evidence collect` in end-to-end tests, where there is no SEV-SNP guest
 * (tests/deploy/test_key_broker.py). The in-process protocol tests, races included, are
 * tests/unit/test_evidence_collect.c; this only lets the unmodified binary collect.
 *
 * Under FAKETSM_ROOT (a plain directory, the command's --tsm-dir) it does what configfs and the
 * sev-guest driver do, for the one write per entry the command makes:
 *   mkdir ROOT/ENTRY      the entry gets `provider` (sev_guest), `generation` (0) and an empty
 *                         `inblob`, as the kernel populates a new report entry
 *   open ENTRY/outblob    the report is made on this read, as the kernel makes it: the test
 *                         PKI's report with REPORT_DATA = inblob, signed with its VCEK
 *                         (FAKETSM_MKPKI --sign FAKETSM_PKI HEX ENTRY/outblob), and `generation`
 *                         becomes 1
 * Every other call, and every call outside ROOT, goes straight to the next definition (libc, or
 * a sanitizer's interceptor). Built without sanitizers: it runs inside any build's binary.
 */
#undef _FORTIFY_SOURCE /* open() must be a plain function here, not glibc's inline wrapper */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

extern char **environ;

typedef int (*open_fn)(const char *, int, ...);
typedef int (*open2_fn)(const char *, int);
typedef int (*mkdir_fn)(const char *, mode_t);

int __open_2(const char *path, int flags);

/* The next definition of `name` (dlsym returns an object pointer: copied, not cast). */
static void next(const char *name, void *fn, size_t size)
{
    void *p = dlsym(RTLD_NEXT, name);
    if (p == NULL) {
        fprintf(stderr, "faketsm: no next %s\n", name);
        abort();
    }
    memcpy(fn, &p, size);
}

/* Is `path`, `levels` components up, the fake root? */
static int under_root(const char *path, int levels)
{
    const char *root = getenv("FAKETSM_ROOT");
    char dir[PATH_MAX], a[PATH_MAX], b[PATH_MAX];
    if (root == NULL || snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir)) {
        return 0;
    }
    for (int i = 0; i < levels; i++) {
        char *slash = strrchr(dir, '/');
        if (slash == NULL || slash == dir) {
            return 0;
        }
        *slash = '\0';
    }
    return realpath(root, a) != NULL && realpath(dir, b) != NULL && strcmp(a, b) == 0;
}

static int put(const char *entry, const char *attr, const void *p, size_t len)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", entry, attr);
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && fwrite(p, 1, len, f) == len;
    if (f != NULL && fclose(f) != 0) {
        ok = 0;
    }
    return ok ? 0 : -1;
}

/* mkpki --sign, with the environment minus LD_PRELOAD (mkpki needs no fake kernel). */
static int sign(const char *hex, const char *out)
{
    const char *mkpki = getenv("FAKETSM_MKPKI"), *pki = getenv("FAKETSM_PKI");
    if (mkpki == NULL || pki == NULL) {
        fprintf(stderr, "faketsm: FAKETSM_MKPKI and FAKETSM_PKI must be set\n");
        return -1;
    }
    size_t n = 0;
    while (environ[n] != NULL) {
        n++;
    }
    char **env = calloc(n + 1, sizeof(*env));
    if (env == NULL) {
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0) {
            env[k++] = environ[i];
        }
    }
    char flag[] = "--sign";
    char *argv[] = {(char *)(uintptr_t)mkpki, flag, (char *)(uintptr_t)pki, (char *)(uintptr_t)hex,
                    (char *)(uintptr_t)out,   NULL};
    pid_t pid;
    int status = 0, rc = posix_spawn(&pid, mkpki, NULL, NULL, argv, env);
    free(env);
    if (rc != 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        fprintf(stderr, "faketsm: %s --sign failed\n", mkpki);
        return -1;
    }
    return 0;
}

/* The kernel's part of reading ENTRY/outblob: a report over what was written to inblob. */
static void make_report(const char *outblob)
{
    char entry[PATH_MAX], path[PATH_MAX + sizeof("/inblob")], hex[129];
    unsigned char rd[64];
    snprintf(entry, sizeof(entry), "%s", outblob);
    *strrchr(entry, '/') = '\0';
    snprintf(path, sizeof(path), "%s/inblob", entry);
    FILE *f = fopen(path, "rb");
    size_t got = f != NULL ? fread(rd, 1, sizeof(rd), f) : 0;
    if (f != NULL) {
        fclose(f);
    }
    if (got != sizeof(rd)) {
        return; /* nothing written: no report, as a kernel would fail the read */
    }
    for (size_t i = 0; i < sizeof(rd); i++) {
        snprintf(hex + 2 * i, 3, "%02x", rd[i]);
    }
    if (sign(hex, outblob) == 0) {
        put(entry, "generation", "1\n", 2);
    }
}

static void before_open(const char *path)
{
    size_t n = path != NULL ? strlen(path) : 0;
    if (n > 8 && strcmp(path + n - 8, "/outblob") == 0 && under_root(path, 2)) {
        int e = errno;
        make_report(path);
        errno = e;
    }
}

/* open64 and __open64_2 are the same calls on LP64 glibc: aliases of ours. */
int open64(const char *path, int flags, ...) __attribute__((alias("open")));
int __open64_2(const char *path, int flags) __attribute__((alias("__open_2")));

int open(const char *path, int flags, ...)
{
    open_fn real;
    mode_t mode = 0;
    next("open", &real, sizeof(real));
    if ((flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    before_open(path);
    return real(path, flags, mode);
}

int __open_2(const char *path, int flags)
{
    open2_fn real;
    next("__open_2", &real, sizeof(real));
    before_open(path);
    return real(path, flags);
}

int mkdir(const char *path, mode_t mode)
{
    mkdir_fn real;
    next("mkdir", &real, sizeof(real));
    int rc = real(path, mode);
    if (rc == 0 && under_root(path, 1)) {
        int e = errno;
        if (put(path, "provider", "sev_guest\n", 10) != 0 ||
            put(path, "generation", "0\n", 2) != 0 || put(path, "inblob", "", 0) != 0) {
            fprintf(stderr, "faketsm: cannot populate %s\n", path);
        }
        errno = e;
    }
    return rc;
}
