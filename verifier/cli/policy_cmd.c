/*
 * `verdict policy ...`: validate, test and manage stored policies.
 *
 *   validate FILE...               compile each policy; first error with file:line:col
 *   test --policy FILE|NAME ...    `verdict verify` with a policy: every check, real evidence
 *   init --from-report|--measure   a first policy from known-good inputs (policy_init_cmd.c)
 *   import FILE|DIR...             store new versions (a directory's .yaml/.yml files, atomically)
 *   list | show NAME [--version N] | history NAME | activate NAME VERSION | delete NAME
 *   export DIR                     write every active policy to DIR/NAME.yaml
 * Store commands take --db FILE (or VERDICT_DB; default in the user's cache directory).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "verdict/bytes.h"
#include "verdict/policy.h"
#include "verdict/policy_store.h"
#include "verdict/timefmt.h"
#include "cli.h"

#define MAX_IMPORTS 4096 /* files in one import; more is refused, never cut short */

static int is_directory(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---- verdict policy ------------------------------------------------------------------------ */

static void policy_usage(FILE *f)
{
    fprintf(f, "usage: verdict policy <command> [--db FILE] ...\n"
               "\n"
               "  validate FILE...               check policy files (first error of each, with\n"
               "                                 file:line:column)\n"
               "  test --policy FILE|NAME --report FILE [verify options] [--nonce HEX]\n"
               "       [--runtime-data FILE] [--json]\n"
               "                                 every genuineness and policy check against\n"
               "                                 real evidence (see verdict verify --help)\n"
               "  init --from-report REPORT ...  a policy pinned to a genuine report, or\n"
               "  init --measure ...             to computed measurements (init --help)\n"
               "  import FILE|DIR...             store policies; a new version when the text\n"
               "                                 changed; a directory is imported atomically\n"
               "  list                           active policies\n"
               "  show NAME [--version N]        a policy's text (active version by default)\n"
               "  history NAME                   every version, and which one is active\n"
               "  activate NAME VERSION          make VERSION active (roll back or forward)\n"
               "  delete NAME                    deactivate NAME (its history is kept)\n"
               "  export DIR                     write each active policy to DIR/NAME.yaml\n"
               "\n"
               "  --db FILE   SQLite database (also VERDICT_DB; default\n"
               "              $XDG_CACHE_HOME/verdict/verdict.db or ~/.cache/verdict/)\n");
}

static int cmd_validate(int argc, char **argv)
{
    int bad = 0;
    if (argc < 2) {
        fprintf(stderr, "verdict policy validate: name at least one FILE\n");
        return VD_EXIT_USAGE;
    }
    for (int i = 1; i < argc; i++) {
        vd_policy_t *p = vd_cli_load_policy_file(argv[i], "verdict policy validate");
        if (p == NULL) {
            bad = 1;
            continue;
        }
        printf("%s: policy \"%s\" is valid\n", argv[i], vd_policy_name(p));
        vd_policy_free(&p);
    }
    return bad ? VD_EXIT_USAGE : VD_EXIT_OK;
}

/* Store commands: parse --db and --version, leave the positional arguments in args. */
typedef struct store_args {
    const char *cmd;
    const char *db;
    int version;
    char **pos; /* argv's, borrowed */
    int npos;
} store_args_t;

static int parse_store_args(int argc, char **argv, const char *cmd, store_args_t *a)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'd'},
        {"version", required_argument, NULL, 'v'},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof(*a));
    a->cmd = cmd;
    opterr = 0;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        char *end = NULL;
        long v;
        switch (ch) {
        case 'd':
            a->db = optarg;
            break;
        case 'v':
            v = strtol(optarg, &end, 10);
            if (*end != '\0' || v < 1 || v > 1000000000) {
                vd_cli_usage_error(cmd, "--version takes a number >= 1");
                return -1;
            }
            a->version = (int)v;
            break;
        default:
            vd_cli_usage_error(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
            return -1;
        }
    }
    a->pos = argv + optind;
    a->npos = argc - optind;
    a->db = vd_cli_db_path(a->db, cmd);
    return a->db != NULL && vd_cli_db_prepare(a->db, cmd) == 0 ? 0 : -1;
}

static int open_store(const store_args_t *a, vd_pstore_t **s)
{
    vd_error_t err = {0};
    if (vd_pstore_open(a->db, 0, s, &err) != VD_OK) {
        fprintf(stderr, "%s: %s\n", a->cmd, err.msg);
        return -1;
    }
    return 0;
}

static int has_yaml_suffix(const char *name)
{
    size_t n = strlen(name);
    return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
           (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

static int path_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Add a copy of `path` to the import list. -1 (after printing why) past MAX_IMPORTS. */
static int add_file(char **files, size_t *n, const char *path)
{
    if (*n >= MAX_IMPORTS) {
        fprintf(stderr, "verdict policy import: more than %d files; nothing was imported\n",
                MAX_IMPORTS);
        return -1;
    }
    if ((files[*n] = strdup(path)) == NULL) {
        fprintf(stderr, "verdict policy import: out of memory\n");
        return -1;
    }
    (*n)++;
    return 0;
}

/* Expand FILE|DIR arguments into a list of malloc'd file paths (each directory sorted). */
static int collect_files(const store_args_t *a, char **files, size_t *n)
{
    *n = 0;
    for (int i = 0; i < a->npos; i++) {
        if (!is_directory(a->pos[i])) {
            if (add_file(files, n, a->pos[i]) != 0) {
                return -1;
            }
            continue;
        }
        DIR *d = opendir(a->pos[i]);
        if (d == NULL) {
            fprintf(stderr, "verdict policy import: %s: %s\n", a->pos[i], vd_strerror(errno));
            return -1;
        }
        size_t first = *n;
        struct dirent *ent;
        while ((ent = readdir(d)) != NULL) {
            char path[4096];
            if (ent->d_name[0] == '.' || !has_yaml_suffix(ent->d_name)) {
                continue;
            }
            snprintf(path, sizeof(path), "%s/%s", a->pos[i], ent->d_name);
            if (add_file(files, n, path) != 0) {
                closedir(d);
                return -1;
            }
        }
        closedir(d);
        qsort(files + first, *n - first, sizeof(char *), path_cmp);
    }
    return 0;
}

/* What one file of an import did, printed only once the whole import has committed. */
typedef struct import_line {
    char name[VD_POLICY_NAME_MAX];
    int version;
    int created;
} import_line_t;

static int cmd_import(int argc, char **argv)
{
    store_args_t a;
    vd_pstore_t *store = NULL;
    char **files = NULL;
    import_line_t *lines = NULL;
    size_t n = 0;
    int code = VD_EXIT_USAGE, changed = 0;
    vd_error_t err = {0};
    const char *cmd = "verdict policy import";
    if (parse_store_args(argc, argv, cmd, &a) != 0) {
        return VD_EXIT_USAGE;
    }
    if (a.npos == 0) {
        return vd_cli_usage_error(cmd, "name a FILE or DIR");
    }
    files = calloc(MAX_IMPORTS, sizeof(*files));
    lines = calloc(MAX_IMPORTS, sizeof(*lines));
    if (files == NULL || lines == NULL) {
        fprintf(stderr, "%s: out of memory\n", cmd);
        goto out;
    }
    if (collect_files(&a, files, &n) != 0 || open_store(&a, &store) != 0) {
        goto out;
    }
    if (n == 0) {
        fprintf(stderr, "%s: no *.yaml or *.yml files found\n", cmd);
        goto out;
    }
    /* One transaction for everything: a directory lands whole or not at all. */
    if (vd_pstore_begin(store, &err) != VD_OK) {
        fprintf(stderr, "%s: %s\n", cmd, err.msg);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        import_line_t *l = &lines[i];
        vd_err_t rc = vd_file_read(files[i], VD_FILE_MAX, &buf, &len, &err);
        if (rc == VD_OK) {
            rc = vd_pstore_put(store, (const char *)buf, len, files[i], l->name, &l->version,
                               &l->created, &err);
        }
        free(buf);
        /* Two files naming the same policy: which one wins would depend on the order. */
        for (size_t j = 0; rc == VD_OK && j < i; j++) {
            if (strcmp(lines[j].name, l->name) == 0) {
                rc = VD_ERR(&err, VD_E_CONFIG, "%s and %s both define policy \"%s\"", files[j],
                            files[i], l->name);
            }
        }
        if (rc != VD_OK) {
            vd_pstore_rollback(store);
            fprintf(stderr, "%s: %s\nnothing was imported\n", cmd, err.msg);
            goto out;
        }
    }
    if (vd_pstore_commit(store, &err) != VD_OK) {
        fprintf(stderr, "%s: %s\nnothing was imported\n", cmd, err.msg);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        printf("%s: %s version %d%s\n", files[i], lines[i].name, lines[i].version,
               lines[i].created ? " (new, active)" : " (unchanged)");
        changed += lines[i].created;
    }
    printf("%zu polic%s imported, %d new version%s\n", n, n == 1 ? "y" : "ies", changed,
           changed == 1 ? "" : "s");
    code = VD_EXIT_OK;
out:
    for (size_t i = 0; files != NULL && i < n; i++) {
        free(files[i]);
    }
    free(files);
    free(lines);
    vd_pstore_close(&store);
    return code;
}

static int print_row(const vd_pstore_version_t *v, void *ctx)
{
    char when[32];
    (void)ctx;
    printf("%-32s v%-4d %s  %s  %.12s  %s\n", v->name, v->version, v->active ? "active" : "      ",
           vd_time_format_rfc3339((time_t)v->created_at, when, sizeof(when)), v->sha256, v->origin);
    return 0;
}

/* Run one store command that needs exactly `npos` positional arguments. */
static int store_cmd(int argc, char **argv, const char *sub)
{
    store_args_t a;
    vd_pstore_t *store = NULL;
    vd_error_t err = {0};
    vd_err_t rc = VD_OK;
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "verdict policy %s", sub);
    int need = strcmp(sub, "list") == 0       ? 0
               : strcmp(sub, "activate") == 0 ? 2
               : strcmp(sub, "show") == 0 || strcmp(sub, "history") == 0 ||
                       strcmp(sub, "delete") == 0 || strcmp(sub, "export") == 0
                   ? 1
                   : -1;
    if (parse_store_args(argc, argv, cmd, &a) != 0) {
        return VD_EXIT_USAGE;
    }
    if (a.npos != need) {
        return vd_cli_usage_error(cmd, "expected %d argument%s", need, need == 1 ? "" : "s");
    }
    if (a.version != 0 && strcmp(sub, "show") != 0) {
        return vd_cli_usage_error(cmd, "--version is for show");
    }
    long v = 0;
    if (strcmp(sub, "activate") == 0) {
        char *end = NULL;
        v = strtol(a.pos[1], &end, 10);
        if (*end != '\0' || v < 1 || v > 1000000000) {
            return vd_cli_usage_error(cmd, "VERSION must be a number >= 1");
        }
    }
    if (open_store(&a, &store) != 0) {
        return VD_EXIT_USAGE;
    }
    if (strcmp(sub, "list") == 0) {
        rc = vd_pstore_list(store, print_row, NULL, &err);
    } else if (strcmp(sub, "history") == 0) {
        rc = vd_pstore_history(store, a.pos[0], print_row, NULL, &err);
    } else if (strcmp(sub, "show") == 0) {
        char *source = NULL;
        vd_pstore_version_t info;
        rc = vd_pstore_get(store, a.pos[0], a.version, &source, &info, &err);
        if (rc == VD_OK) {
            printf("# %s version %d%s, sha256 %s, from %s\n%s", info.name, info.version,
                   info.active ? " (active)" : "", info.sha256, info.origin, source);
        }
        free(source);
    } else if (strcmp(sub, "activate") == 0) {
        rc = vd_pstore_activate(store, a.pos[0], (int)v, &err);
        if (rc == VD_OK) {
            printf("%s: version %ld is active\n", a.pos[0], v);
        }
    } else if (strcmp(sub, "delete") == 0) {
        rc = vd_pstore_delete(store, a.pos[0], &err);
        if (rc == VD_OK) {
            printf("%s: deleted (history kept; import or activate to restore)\n", a.pos[0]);
        }
    }
    if (rc != VD_OK) {
        fprintf(stderr, "%s: %s\n", cmd, err.msg);
    }
    vd_pstore_close(&store);
    return rc == VD_OK ? VD_EXIT_OK : VD_EXIT_USAGE;
}

/* The active policies' names and versions, collected first: the list callback must not call
 * the store. */
typedef struct export_list {
    vd_pstore_version_t *v;
    size_t n, cap;
    int nomem;
} export_list_t;

static int export_collect(const vd_pstore_version_t *v, void *vctx)
{
    export_list_t *l = vctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        vd_pstore_version_t *nv = realloc(l->v, cap * sizeof(*nv));
        if (nv == NULL) {
            l->nomem = 1;
            return 1;
        }
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = *v;
    return 0;
}

/* Write one policy's text to `path`. 0, or -1 after printing the problem. */
static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        fprintf(stderr, "verdict policy export: %s: %s\n", path, vd_strerror(errno));
        return -1;
    }
    int bad = fputs(text, f) == EOF;
    int e = errno;
    /* Always closed, also when the write failed. */
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        fprintf(stderr, "verdict policy export: %s: %s\n", path, vd_strerror(e));
        return -1;
    }
    return 0;
}

static int cmd_export(int argc, char **argv)
{
    store_args_t a;
    vd_pstore_t *store = NULL;
    vd_error_t err = {0};
    export_list_t l = {0};
    int failed = 0;
    const char *cmd = "verdict policy export";
    if (parse_store_args(argc, argv, cmd, &a) != 0) {
        return VD_EXIT_USAGE;
    }
    if (a.npos != 1) {
        return vd_cli_usage_error(cmd, "name the DIR to write to");
    }
    if (!is_directory(a.pos[0])) {
        fprintf(stderr, "%s: %s is not a directory\n", cmd, a.pos[0]);
        return VD_EXIT_USAGE;
    }
    if (open_store(&a, &store) != 0) {
        return VD_EXIT_USAGE;
    }
    if (vd_pstore_list(store, export_collect, &l, &err) != VD_OK || l.nomem) {
        fprintf(stderr, "%s: %s\n", cmd, l.nomem ? "out of memory" : err.msg);
        failed = 1;
    }
    for (size_t i = 0; !failed && i < l.n; i++) {
        char *source = NULL;
        vd_pstore_version_t info;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s.yaml", a.pos[0], l.v[i].name);
        if (vd_pstore_get(store, l.v[i].name, l.v[i].version, &source, &info, &err) != VD_OK) {
            fprintf(stderr, "%s: %s\n", cmd, err.msg);
            failed = 1;
        } else if (write_text(path, source) != 0) {
            failed = 1;
        } else {
            printf("%s: %s version %d\n", path, l.v[i].name, l.v[i].version);
        }
        free(source);
    }
    free(l.v);
    vd_pstore_close(&store);
    return failed ? VD_EXIT_USAGE : VD_EXIT_OK;
}

int vd_cli_policy(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        policy_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? VD_EXIT_USAGE : VD_EXIT_OK;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "validate") == 0) {
        return cmd_validate(argc - 1, argv + 1);
    }
    if (strcmp(sub, "test") == 0) {
        return vd_cli_verify(argc - 1, argv + 1, 1);
    }
    if (strcmp(sub, "init") == 0) {
        return vd_cli_policy_init(argc - 1, argv + 1);
    }
    if (strcmp(sub, "import") == 0) {
        return cmd_import(argc - 1, argv + 1);
    }
    if (strcmp(sub, "export") == 0) {
        return cmd_export(argc - 1, argv + 1);
    }
    if (strcmp(sub, "sync") == 0) {
        return vd_cli_policy_sync(argc - 1, argv + 1);
    }
    if (strcmp(sub, "list") == 0 || strcmp(sub, "show") == 0 || strcmp(sub, "history") == 0 ||
        strcmp(sub, "activate") == 0 || strcmp(sub, "delete") == 0) {
        return store_cmd(argc - 1, argv + 1, sub);
    }
    return vd_cli_usage_error("verdict policy", "unknown command '%s'", sub);
}
