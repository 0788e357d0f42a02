/*
 * Helpers every subcommand shares: usage errors, --extra-roots, --certs files, policy files,
 * the database path and the certificate cache's flags.
 */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "verdict/certset.h"
#include "verdict/crl.h"
#include "cli.h"

int vd_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help' for more information.\n", cmd);
    return VD_EXIT_USAGE;
}

/* A certificate blob that does not parse: one sentence, not OpenSSL's error queue. */
static void print_cert_error(const char *cmd, const char *flag, const char *path,
                             const vd_error_t *err)
{
    if (err->code == VD_E_MALFORMED) {
        fprintf(stderr, "%s: %s %s: no certificate could be read (expected PEM or DER)\n", cmd,
                flag, path);
    } else {
        fprintf(stderr, "%s: %s %s\n", cmd, flag, err->msg);
    }
}

int vd_cli_load_extra_roots(const char *path, vd_trust_t *trust, const char *cmd)
{
    vd_error_t err = {0};
    vd_certset_t *roots = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = -1;
    if (path == NULL || path[0] == '\0') {
        return 0;
    }
    if (vd_certset_new(&roots, &err) != VD_OK) {
        fprintf(stderr, "%s: %s\n", cmd, err.msg);
        goto out;
    }
    if (vd_file_read(path, VD_CERT_BLOB_MAX, &buf, &len, &err) != VD_OK) {
        fprintf(stderr, "%s: --extra-roots %s\n", cmd, err.msg);
        goto out;
    }
    if (vd_certset_add_blob(roots, buf, len, "--extra-roots", &err) != VD_OK) {
        print_cert_error(cmd, "--extra-roots", path, &err);
        goto out;
    }
    for (size_t i = 0; i < vd_certset_count(roots); i++) {
        if (vd_trust_add_extra(trust, vd_certset_get(roots, i), &err) != VD_OK) {
            fprintf(stderr, "%s: --extra-roots %s: %s\n", cmd, path, err.msg);
            goto out;
        }
    }
    rc = 0;
out:
    free(buf);
    vd_certset_free(&roots);
    return rc;
}

int vd_cli_load_certs_file(const char *path, vd_certset_t *certs, const char *cmd)
{
    vd_error_t err = {0};
    uint8_t *buf = NULL;
    size_t len = 0;
    char origin[VD_CERT_ORIGIN_MAX];
    snprintf(origin, sizeof(origin), "--certs %s", path);
    if (vd_file_read(path, VD_CERT_BLOB_MAX, &buf, &len, &err) != VD_OK) {
        fprintf(stderr, "%s: --certs %s\n", cmd, err.msg);
        return -1;
    }
    vd_err_t rc = vd_certset_add_blob(certs, buf, len, origin, &err);
    free(buf);
    if (rc != VD_OK) {
        print_cert_error(cmd, "--certs", path, &err);
        return -1;
    }
    return 0;
}

vd_policy_t *vd_cli_load_policy_file(const char *path, const char *cmd)
{
    vd_error_t err = {0};
    uint8_t *buf = NULL;
    size_t len = 0;
    vd_policy_t *p = NULL;
    if (vd_file_read(path, VD_FILE_MAX, &buf, &len, &err) == VD_OK &&
        vd_policy_compile((const char *)buf, len, path, &p, &err) != VD_OK) {
        p = NULL;
    }
    if (p == NULL) {
        fprintf(stderr, "%s: policy: %s\n", cmd, err.msg);
    }
    free(buf);
    return p;
}

/* The default database, in the user's cache directory (XDG Base Directory). */
static char default_db[4096];

static const char *default_db_path(void)
{
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    int n;
    if (xdg != NULL && xdg[0] == '/') { /* relative values are invalid: ignored (XDG spec) */
        n = snprintf(default_db, sizeof(default_db), "%s/verdict/verdict.db", xdg);
    } else {
        struct passwd pwbuf, *pw = NULL;
        char pwtext[1024];
        if ((home == NULL || home[0] == '\0') &&
            getpwuid_r(getuid(), &pwbuf, pwtext, sizeof(pwtext), &pw) == 0 && pw != NULL) {
            home = pw->pw_dir; /* getpwuid_r: no static buffer shared between threads */
        }
        if (home == NULL || home[0] == '\0') {
            return NULL;
        }
        n = snprintf(default_db, sizeof(default_db), "%s/.cache/verdict/verdict.db", home);
    }
    return n > 0 && (size_t)n < sizeof(default_db) ? default_db : NULL;
}

const char *vd_cli_db_path(const char *flag, const char *cmd)
{
    const char *env = getenv("VERDICT_DB");
    if (flag != NULL && flag[0] != '\0') {
        return flag;
    }
    if (env != NULL && env[0] != '\0') {
        return env;
    }
    const char *p = default_db_path();
    if (p == NULL) {
        fprintf(stderr,
                "%s: no home directory for the database: give --db FILE or set VERDICT_DB\n", cmd);
    }
    return p;
}

/* mkdir -p for the directory part of `path`, each new level 0700. */
static int mkdirs_for(char *path)
{
    for (char *s = strchr(path + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
        *s = '\0';
        int rc = mkdir(path, 0700);
        int e = errno;
        *s = '/';
        if (rc != 0 && e != EEXIST) {
            errno = e;
            return -1;
        }
    }
    return 0;
}

int vd_cli_db_prepare(const char *path, const char *cmd)
{
    char dir[sizeof(default_db)];
    if (path != default_db) {
        return 0; /* given explicitly: the directory is the caller's business */
    }
    snprintf(dir, sizeof(dir), "%s", path);
    if (mkdirs_for(dir) != 0) {
        fprintf(stderr, "%s: cannot create the directory of %s: %s\n", cmd, path,
                vd_strerror(errno));
        return -1;
    }
    return 0;
}

int vd_cli_env_flag(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0 && strcmp(v, "false") != 0 &&
           strcmp(v, "no") != 0;
}

int vd_cli_cache_open(const vd_cli_cache_opts_t *o, const vd_trust_t *trust, vd_certcache_t **out,
                      const char *who)
{
    vd_certcache_config_t cfg;
    vd_error_t err = {0};
    memset(&cfg, 0, sizeof(cfg));
    cfg.db_path = vd_cli_db_path(o->db, who);
    if (cfg.db_path == NULL || vd_cli_db_prepare(cfg.db_path, who) != 0) {
        return -1;
    }
    cfg.trust = trust;
    cfg.offline = o->offline;
    cfg.kds.base_url = o->kds_url;
    const char *t = getenv("VERDICT_KDS_TIMEOUT_MS");
    long ms = t != NULL ? strtol(t, NULL, 10) : 0;
    if (ms > 0) {
        cfg.kds.total_timeout_ms = ms;
        cfg.kds.connect_timeout_ms = ms;
    }
    const char *crl = o->crl_mode != NULL ? o->crl_mode : getenv("VERDICT_CRL");
    if (vd_crl_mode_parse(crl, &cfg.crl_mode) != 0) {
        vd_cli_usage_error(who, "--crl '%s' is not fail-open, fail-closed or off", crl);
        return -1;
    }
    if (vd_certcache_open(&cfg, out, &err) != VD_OK) {
        fprintf(stderr, "%s: certificate cache: %s\n", who, err.msg);
        return -1;
    }
    const char *w = vd_certcache_warning(*out);
    if (w != NULL) {
        fprintf(stderr, "%s: warning: %s\n", who, w);
    }
    return 0;
}
