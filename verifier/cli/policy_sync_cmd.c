/*
 * `verdict policy sync DIR [--db FILE] [--dry-run] [--allow-empty]`: make the store's active
 * policies exactly the *.yaml / *.yml files of DIR, in one transaction: every file is imported
 * (a new version only when its text changed), and every active policy no file defines any more
 * is deactivated (its history is kept). Either all of it lands or nothing does.
 *
 * Made for GitOps and Kubernetes: DIR may be a mounted ConfigMap, whose files are symlinks into
 * a hidden `..data` directory (names starting with '.' are skipped; symlinks are followed, and
 * what they point to must be a regular file). An empty DIR would deactivate every policy, which
 * is refused unless --allow-empty says it is meant (a missing mount must not wipe the store).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "verdict/policy_store.h"
#include "cli.h"

#define SYNC_MAX_FILES 4096 /* more is refused, never cut short */

static const char *const cmd = "verdict policy sync";

static void usage(FILE *f)
{
    fprintf(f, "usage: verdict policy sync DIR [--db FILE] [--dry-run] [--allow-empty]\n"
               "\n"
               "Make the active policies exactly those defined by DIR's *.yaml and *.yml files,\n"
               "in one transaction: import each (a new version only when its text changed) and\n"
               "deactivate every active policy no file defines (its history is kept).\n"
               "\n"
               "  --db FILE      SQLite database (also VERDICT_DB; default\n"
               "                 $XDG_CACHE_HOME/verdict/verdict.db or ~/.cache/verdict/)\n"
               "  --dry-run      print what would change, change nothing\n"
               "  --allow-empty  a DIR without policies deactivates every policy (refused\n"
               "                 otherwise)\n"
               "\n"
               "exit codes: 0 synced, 2 usage error or a file that does not compile (then\n"
               "            nothing was changed)\n");
}

typedef struct entry {
    char *path;
    char name[VD_POLICY_NAME_MAX];
    int version;
    int created;
} entry_t;

typedef struct sync_state {
    entry_t *files;
    size_t n;
    char (*active)[VD_POLICY_NAME_MAX]; /* active policies after the imports */
    size_t n_active, cap_active;
    int list_failed;
} sync_state_t;

static int is_policy_file(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && ((n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
                              (n > 4 && strcmp(name + n - 4, ".yml") == 0));
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const entry_t *)a)->path, ((const entry_t *)b)->path);
}

/* The policy files of `dir`, sorted. -1 after printing why. */
static int list_dir(const char *dir, sync_state_t *st)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "%s: %s: %s\n", cmd, dir, vd_strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *ent;
    while (rc == 0 && (ent = readdir(d)) != NULL) {
        char path[4096];
        struct stat sb;
        if (!is_policy_file(ent->d_name)) {
            continue;
        }
        int w = snprintf(path, sizeof(path), "%s/%s", dir, ent->d_name);
        if (w < 0 || (size_t)w >= sizeof(path)) {
            fprintf(stderr, "%s: %s/%s: path too long\n", cmd, dir, ent->d_name);
            rc = -1;
        } else if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            fprintf(stderr, "%s: %s: not a regular file\n", cmd, path);
            rc = -1;
        } else if (st->n >= SYNC_MAX_FILES) {
            fprintf(stderr, "%s: more than %d files in %s\n", cmd, SYNC_MAX_FILES, dir);
            rc = -1;
        } else if ((st->files[st->n].path = strdup(path)) == NULL) {
            fprintf(stderr, "%s: out of memory\n", cmd);
            rc = -1;
        } else {
            st->n++;
        }
    }
    closedir(d);
    qsort(st->files, st->n, sizeof(*st->files), entry_cmp);
    return rc;
}

static int collect_active(const vd_pstore_version_t *v, void *ctx)
{
    sync_state_t *st = ctx;
    if (st->n_active == st->cap_active) {
        size_t cap = st->cap_active ? st->cap_active * 2 : 64;
        void *p = realloc(st->active, cap * sizeof(*st->active));
        if (p == NULL) {
            st->list_failed = 1;
            return 1;
        }
        st->active = p;
        st->cap_active = cap;
    }
    snprintf(st->active[st->n_active++], VD_POLICY_NAME_MAX, "%s", v->name);
    return 0;
}

static int defined_by_files(const sync_state_t *st, const char *name)
{
    for (size_t i = 0; i < st->n; i++) {
        if (strcmp(st->files[i].name, name) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Imports and deactivations inside the open transaction; prints nothing on success. */
static vd_err_t sync_in_txn(vd_pstore_t *store, sync_state_t *st, vd_error_t *err)
{
    vd_err_t rc = VD_OK;
    for (size_t i = 0; i < st->n && rc == VD_OK; i++) {
        entry_t *e = &st->files[i];
        uint8_t *buf = NULL;
        size_t len = 0;
        rc = vd_file_read(e->path, VD_FILE_MAX, &buf, &len, err);
        if (rc == VD_OK) {
            rc = vd_pstore_put(store, (const char *)buf, len, e->path, e->name, &e->version,
                               &e->created, err);
        }
        free(buf);
        for (size_t j = 0; rc == VD_OK && j < i; j++) {
            if (strcmp(st->files[j].name, e->name) == 0) {
                rc = VD_ERR(err, VD_E_CONFIG, "%s and %s both define policy \"%s\"",
                            st->files[j].path, e->path, e->name);
            }
        }
    }
    if (rc == VD_OK) {
        rc = vd_pstore_list(store, collect_active, st, err);
    }
    if (rc == VD_OK && st->list_failed) {
        rc = VD_ERR(err, VD_E_NOMEM, "out of memory listing the active policies");
    }
    for (size_t i = 0; i < st->n_active && rc == VD_OK; i++) {
        if (!defined_by_files(st, st->active[i])) {
            rc = vd_pstore_delete(store, st->active[i], err);
        }
    }
    return rc;
}

int vd_cli_policy_sync(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'd'},
        {"dry-run", no_argument, NULL, 'n'},
        {"allow-empty", no_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db = NULL;
    int dry_run = 0, allow_empty = 0, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 'n':
            dry_run = 1;
            break;
        case 'e':
            allow_empty = 1;
            break;
        case 'h':
            usage(stdout);
            return VD_EXIT_OK;
        default:
            return vd_cli_usage_error(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind != 1) {
        return vd_cli_usage_error(cmd, "name one DIR");
    }
    const char *dir = argv[optind];

    int code = VD_EXIT_USAGE;
    vd_error_t err = {0};
    vd_pstore_t *store = NULL;
    sync_state_t st;
    memset(&st, 0, sizeof(st));
    st.files = calloc(SYNC_MAX_FILES, sizeof(*st.files));
    if (st.files == NULL) {
        fprintf(stderr, "%s: out of memory\n", cmd);
        return VD_EXIT_USAGE;
    }
    if (list_dir(dir, &st) != 0) {
        goto out;
    }
    if (st.n == 0 && !allow_empty) {
        fprintf(stderr,
                "%s: %s holds no *.yaml or *.yml files; that would deactivate every policy "
                "(--allow-empty to mean it)\n",
                cmd, dir);
        goto out;
    }
    if ((db = vd_cli_db_path(db, cmd)) == NULL || vd_cli_db_prepare(db, cmd) != 0) {
        goto out;
    }
    if (vd_pstore_open(db, 0, &store, &err) != VD_OK || vd_pstore_begin(store, &err) != VD_OK) {
        fprintf(stderr, "%s: %s\n", cmd, err.msg);
        goto out;
    }
    if (sync_in_txn(store, &st, &err) != VD_OK) {
        vd_pstore_rollback(store);
        fprintf(stderr, "%s: %s\nnothing was changed\n", cmd, err.msg);
        goto out;
    }
    if (dry_run) {
        vd_pstore_rollback(store);
    } else if (vd_pstore_commit(store, &err) != VD_OK) {
        fprintf(stderr, "%s: %s\nnothing was changed\n", cmd, err.msg);
        goto out;
    }
    int created = 0, removed = 0;
    const char *verb = dry_run ? "would be " : "";
    for (size_t i = 0; i < st.n; i++) {
        printf("%s: %s version %d%s\n", st.files[i].path, st.files[i].name, st.files[i].version,
               st.files[i].created ? (dry_run ? " (would be new, active)" : " (new, active)")
                                   : " (unchanged)");
        created += st.files[i].created;
    }
    for (size_t i = 0; i < st.n_active; i++) {
        if (!defined_by_files(&st, st.active[i])) {
            printf("%s: %sdeactivated (no file defines it; history kept)\n", st.active[i], verb);
            removed++;
        }
    }
    printf("%s%zu polic%s, %d new version%s, %d deactivated%s\n", dry_run ? "dry run: " : "", st.n,
           st.n == 1 ? "y" : "ies", created, created == 1 ? "" : "s", removed,
           dry_run ? " (nothing was changed)" : "");
    code = VD_EXIT_OK;
out:
    vd_pstore_close(&store);
    for (size_t i = 0; i < st.n; i++) {
        free(st.files[i].path);
    }
    free(st.files);
    free(st.active);
    return code;
}
