/*
 * `verdict policy ...` and the policy appraisal that `verdict verify --policy` attaches.
 *
 *   validate FILE...               compile each policy; first error with file:line:col
 *   test --policy FILE|NAME ...    `verdict verify` with a policy: every check, real evidence
 *   import FILE|DIR...             store new versions (a directory's .yaml/.yml files, atomically)
 *   list | show NAME [--version N] | history NAME | activate NAME VERSION | delete NAME
 *   export DIR                     write every active policy to DIR/NAME.yaml
 * Store commands take --db FILE (or VERDICT_DB; default verdict.db).
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
#include "verdict/db.h"
#include "verdict/policy.h"
#include "verdict/policy_store.h"
#include "verdict/timefmt.h"
#include "cli.h"

#define NONCE_MAX   1024
#define MAX_IMPORTS 1024

struct vd_cli_appraisal {
    vd_policy_t *policy;
    uint8_t *nonce;
    size_t nonce_len;
    uint8_t *runtime_data;
    size_t runtime_data_len;
    vd_appraisal_t result;
    int ran;
};

const char *vd_cli_db_path(const char *flag)
{
    const char *env = getenv("VERDICT_DB");
    if (flag != NULL && flag[0] != '\0') {
        return flag;
    }
    return env != NULL && env[0] != '\0' ? env : VD_DB_DEFAULT_PATH;
}

void vd_cli_appraisal_free(vd_cli_appraisal_t **pp)
{
    if (pp == NULL || *pp == NULL) {
        return;
    }
    vd_policy_free(&(*pp)->policy);
    free((*pp)->nonce);
    free((*pp)->runtime_data);
    free(*pp);
    *pp = NULL;
}

static int is_regular_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int is_directory(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Read and compile one policy file; prints the error. */
static vd_policy_t *load_policy_file(const char *path)
{
    vd_error_t err = {0};
    uint8_t *buf = NULL;
    size_t len = 0;
    vd_policy_t *p = NULL;
    if (vd_file_read(path, VD_FILE_MAX, &buf, &len, &err) == VD_OK) {
        vd_policy_compile((const char *)buf, len, path, &p, &err);
    }
    if (p == NULL) {
        fprintf(stderr, "verdict: policy: %s\n", err.msg);
    }
    free(buf);
    return p;
}

/* A policy file, or else the active policy of that name in the store. */
static vd_policy_t *load_policy(const char *policy, const char *db_path)
{
    if (is_regular_file(policy) || strchr(policy, '/') != NULL) {
        return load_policy_file(policy);
    }
    vd_error_t err = {0};
    sqlite3 *db = NULL;
    vd_policy_t *p = NULL;
    if (!is_regular_file(db_path)) {
        fprintf(stderr,
                "verdict: policy: '%s' is neither a file nor a stored policy (no database at "
                "%s)\n",
                policy, db_path);
        return NULL;
    }
    if (vd_db_open(db_path, &db, &err) == VD_OK) {
        vd_pstore_load(db, policy, &p, &err);
    }
    if (p == NULL) {
        fprintf(stderr, "verdict: policy: %s\n", err.msg);
    }
    vd_db_close(&db);
    return p;
}

int vd_cli_appraisal_load(vd_cli_appraisal_t **out, const char *policy, const char *db_path,
                          const char *nonce_hex, const char *runtime_data_file)
{
    vd_error_t err = {0};
    vd_cli_appraisal_t *ap = calloc(1, sizeof(*ap));
    *out = NULL;
    if (ap == NULL) {
        fprintf(stderr, "verdict: out of memory\n");
        return -1;
    }
    ap->policy = load_policy(policy, vd_cli_db_path(db_path));
    if (ap->policy == NULL) {
        goto fail;
    }
    if (nonce_hex != NULL) {
        ap->nonce = malloc(NONCE_MAX);
        if (ap->nonce == NULL ||
            vd_hex_decode(nonce_hex, strlen(nonce_hex), ap->nonce, NONCE_MAX, &ap->nonce_len) !=
                0 ||
            ap->nonce_len == 0) {
            fprintf(stderr, "verdict: --nonce must be hex (1 to %d bytes)\n", NONCE_MAX);
            goto fail;
        }
    }
    if (runtime_data_file != NULL && vd_file_read(runtime_data_file, VD_FILE_MAX, &ap->runtime_data,
                                                  &ap->runtime_data_len, &err) != VD_OK) {
        fprintf(stderr, "verdict: --runtime-data: %s\n", err.msg);
        goto fail;
    }
    *out = ap;
    return 0;
fail:
    vd_cli_appraisal_free(&ap);
    return -1;
}

void vd_cli_appraisal_run(vd_cli_appraisal_t *ap, const vd_snp_result_t *res)
{
    if (ap == NULL) {
        return;
    }
    vd_policy_input_t in = {
        .nonce = ap->nonce,
        .nonce_len = ap->nonce_len,
        .runtime_data = ap->runtime_data,
        .runtime_data_len = ap->runtime_data_len,
    };
    vd_policy_evaluate(ap->policy, res, &in, &ap->result);
    ap->ran = 1;
}

vd_tier_t vd_cli_appraisal_status(const vd_cli_appraisal_t *ap)
{
    return ap != NULL && ap->ran ? ap->result.status : VD_TIER_AFFIRMING;
}

const vd_appraisal_t *vd_cli_appraisal_get(const vd_cli_appraisal_t *ap)
{
    return ap != NULL && ap->ran ? &ap->result : NULL;
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
               "  import FILE|DIR...             store policies; a new version when the text\n"
               "                                 changed; a directory is imported atomically\n"
               "  list                           active policies\n"
               "  show NAME [--version N]        a policy's text (active version by default)\n"
               "  history NAME                   every version, and which one is active\n"
               "  activate NAME VERSION          make VERSION active (roll back or forward)\n"
               "  delete NAME                    deactivate NAME (its history is kept)\n"
               "  export DIR                     write each active policy to DIR/NAME.yaml\n"
               "\n"
               "  --db FILE   SQLite database (also VERDICT_DB; default verdict.db)\n");
}

static int cmd_validate(int argc, char **argv)
{
    int bad = 0;
    if (argc < 2) {
        fprintf(stderr, "verdict policy validate: name at least one FILE\n");
        return VD_EXIT_USAGE;
    }
    for (int i = 1; i < argc; i++) {
        vd_policy_t *p = load_policy_file(argv[i]);
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
    const char *db;
    int version;
    char *pos[MAX_IMPORTS];
    int npos;
} store_args_t;

static int parse_store_args(int argc, char **argv, store_args_t *a)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'd'},
        {"version", required_argument, NULL, 'v'},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof(*a));
    opterr = 0;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        char *end = NULL;
        switch (ch) {
        case 'd':
            a->db = optarg;
            break;
        case 'v':
            a->version = (int)strtol(optarg, &end, 10);
            if (*end != '\0' || a->version < 1) {
                fprintf(stderr, "verdict policy: --version takes a number >= 1\n");
                return -1;
            }
            break;
        default:
            fprintf(stderr, "verdict policy: unknown or incomplete option '%s'\n",
                    argv[optind - 1]);
            return -1;
        }
    }
    for (int i = optind; i < argc && a->npos < MAX_IMPORTS; i++) {
        a->pos[a->npos++] = argv[i];
    }
    a->db = vd_cli_db_path(a->db);
    return 0;
}

static int open_store(const store_args_t *a, sqlite3 **db)
{
    vd_error_t err = {0};
    if (vd_db_open(a->db, db, &err) != VD_OK) {
        fprintf(stderr, "verdict policy: %s\n", err.msg);
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

/* Expand FILE|DIR arguments into a sorted list of malloc'd file paths. */
static int collect_files(const store_args_t *a, char **files, size_t *n)
{
    *n = 0;
    for (int i = 0; i < a->npos; i++) {
        if (!is_directory(a->pos[i])) {
            if (*n >= MAX_IMPORTS || (files[(*n)++] = strdup(a->pos[i])) == NULL) {
                return -1;
            }
            continue;
        }
        DIR *d = opendir(a->pos[i]);
        if (d == NULL) {
            fprintf(stderr, "verdict policy import: %s: %s\n", a->pos[i], strerror(errno));
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
            if (*n >= MAX_IMPORTS || (files[(*n)++] = strdup(path)) == NULL) {
                closedir(d);
                fprintf(stderr, "verdict policy import: more than %d files\n", MAX_IMPORTS);
                return -1;
            }
        }
        closedir(d);
        qsort(files + first, *n - first, sizeof(char *), path_cmp);
    }
    return 0;
}

static int cmd_import(int argc, char **argv)
{
    store_args_t a;
    sqlite3 *db = NULL;
    char **files = NULL;
    size_t n = 0;
    int code = VD_EXIT_USAGE, changed = 0;
    vd_error_t err = {0};
    if (parse_store_args(argc, argv, &a) != 0) {
        return VD_EXIT_USAGE;
    }
    if (a.npos == 0) {
        fprintf(stderr, "verdict policy import: name a FILE or DIR\n");
        return VD_EXIT_USAGE;
    }
    files = calloc(MAX_IMPORTS, sizeof(*files));
    if (files == NULL || collect_files(&a, files, &n) != 0 || open_store(&a, &db) != 0) {
        goto out;
    }
    if (n == 0) {
        fprintf(stderr, "verdict policy import: no *.yaml or *.yml files found\n");
        goto out;
    }
    /* One transaction for everything: a directory lands whole or not at all. */
    if (vd_pstore_begin(db, &err) != VD_OK) {
        fprintf(stderr, "verdict policy import: %s\n", err.msg);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        char name[VD_POLICY_NAME_MAX];
        int version = 0, created = 0;
        vd_err_t rc = vd_file_read(files[i], VD_FILE_MAX, &buf, &len, &err);
        if (rc == VD_OK) {
            rc =
                vd_pstore_put(db, (const char *)buf, len, files[i], name, &version, &created, &err);
        }
        free(buf);
        if (rc != VD_OK) {
            vd_pstore_rollback(db);
            fprintf(stderr, "verdict policy import: %s\nnothing was imported\n", err.msg);
            goto out;
        }
        printf("%s: %s version %d%s\n", files[i], name, version,
               created ? " (new, active)" : " (unchanged)");
        changed += created;
    }
    if (vd_pstore_commit(db, &err) != VD_OK) {
        fprintf(stderr, "verdict policy import: %s\n", err.msg);
        goto out;
    }
    printf("%zu polic%s imported, %d new version%s\n", n, n == 1 ? "y" : "ies", changed,
           changed == 1 ? "" : "s");
    code = VD_EXIT_OK;
out:
    for (size_t i = 0; files != NULL && i < n; i++) {
        free(files[i]);
    }
    free(files);
    vd_db_close(&db);
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
    sqlite3 *db = NULL;
    vd_error_t err = {0};
    vd_err_t rc = VD_OK;
    int need = strcmp(sub, "list") == 0       ? 0
               : strcmp(sub, "activate") == 0 ? 2
               : strcmp(sub, "show") == 0 || strcmp(sub, "history") == 0 ||
                       strcmp(sub, "delete") == 0 || strcmp(sub, "export") == 0
                   ? 1
                   : -1;
    if (parse_store_args(argc, argv, &a) != 0) {
        return VD_EXIT_USAGE;
    }
    if (a.npos != need) {
        fprintf(stderr, "verdict policy %s: expected %d argument%s (verdict policy --help)\n", sub,
                need, need == 1 ? "" : "s");
        return VD_EXIT_USAGE;
    }
    if (a.version != 0 && strcmp(sub, "show") != 0) {
        fprintf(stderr, "verdict policy %s: --version is for show\n", sub);
        return VD_EXIT_USAGE;
    }
    if (open_store(&a, &db) != 0) {
        return VD_EXIT_USAGE;
    }
    if (strcmp(sub, "list") == 0) {
        rc = vd_pstore_list(db, print_row, NULL, &err);
    } else if (strcmp(sub, "history") == 0) {
        rc = vd_pstore_history(db, a.pos[0], print_row, NULL, &err);
    } else if (strcmp(sub, "show") == 0) {
        char *source = NULL;
        vd_pstore_version_t info;
        rc = vd_pstore_get(db, a.pos[0], a.version, &source, &info, &err);
        if (rc == VD_OK) {
            printf("# %s version %d%s, sha256 %s, from %s\n%s", info.name, info.version,
                   info.active ? " (active)" : "", info.sha256, info.origin, source);
        }
        free(source);
    } else if (strcmp(sub, "activate") == 0) {
        char *end = NULL;
        long v = strtol(a.pos[1], &end, 10);
        if (*end != '\0' || v < 1 || v > 1000000000) {
            fprintf(stderr, "verdict policy activate: VERSION must be a number >= 1\n");
            vd_db_close(&db);
            return VD_EXIT_USAGE;
        }
        rc = vd_pstore_activate(db, a.pos[0], (int)v, &err);
        if (rc == VD_OK) {
            printf("%s: version %ld is active\n", a.pos[0], v);
        }
    } else if (strcmp(sub, "delete") == 0) {
        rc = vd_pstore_delete(db, a.pos[0], &err);
        if (rc == VD_OK) {
            printf("%s: deleted (history kept; import or activate to restore)\n", a.pos[0]);
        }
    }
    if (rc != VD_OK) {
        fprintf(stderr, "verdict policy %s: %s\n", sub, err.msg);
    }
    vd_db_close(&db);
    return rc == VD_OK ? VD_EXIT_OK : VD_EXIT_USAGE;
}

typedef struct export_ctx {
    sqlite3 *db;
    const char *dir;
    int failed;
    int count;
} export_ctx_t;

static int export_one(const vd_pstore_version_t *v, void *vctx)
{
    export_ctx_t *x = vctx;
    vd_error_t err = {0};
    char *source = NULL;
    vd_pstore_version_t info;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.yaml", x->dir, v->name);
    if (vd_pstore_get(x->db, v->name, v->version, &source, &info, &err) != VD_OK) {
        fprintf(stderr, "verdict policy export: %s\n", err.msg);
        x->failed = 1;
        return 1;
    }
    FILE *f = fopen(path, "wb");
    if (f == NULL || fputs(source, f) == EOF || fclose(f) != 0) {
        fprintf(stderr, "verdict policy export: %s: %s\n", path, strerror(errno));
        x->failed = 1;
    } else {
        printf("%s: %s version %d\n", path, v->name, v->version);
        x->count++;
    }
    free(source);
    return x->failed;
}

static int cmd_export(int argc, char **argv)
{
    store_args_t a;
    vd_error_t err = {0};
    export_ctx_t x = {0};
    if (parse_store_args(argc, argv, &a) != 0 || a.npos != 1) {
        fprintf(stderr, "verdict policy export: name the DIR to write to\n");
        return VD_EXIT_USAGE;
    }
    if (!is_directory(a.pos[0])) {
        fprintf(stderr, "verdict policy export: %s is not a directory\n", a.pos[0]);
        return VD_EXIT_USAGE;
    }
    if (open_store(&a, &x.db) != 0) {
        return VD_EXIT_USAGE;
    }
    x.dir = a.pos[0];
    if (vd_pstore_list(x.db, export_one, &x, &err) != VD_OK) {
        fprintf(stderr, "verdict policy export: %s\n", err.msg);
        x.failed = 1;
    }
    vd_db_close(&x.db);
    return x.failed ? VD_EXIT_USAGE : VD_EXIT_OK;
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
        int has_policy = 0;
        for (int i = 2; i < argc; i++) {
            has_policy |= strcmp(argv[i], "--policy") == 0 || strncmp(argv[i], "--policy=", 9) == 0;
        }
        if (!has_policy) {
            fprintf(stderr, "verdict policy test: --policy FILE|NAME is required\n");
            return VD_EXIT_USAGE;
        }
        return vd_cli_verify(argc - 1, argv + 1);
    }
    if (strcmp(sub, "import") == 0) {
        return cmd_import(argc - 1, argv + 1);
    }
    if (strcmp(sub, "export") == 0) {
        return cmd_export(argc - 1, argv + 1);
    }
    if (strcmp(sub, "list") == 0 || strcmp(sub, "show") == 0 || strcmp(sub, "history") == 0 ||
        strcmp(sub, "activate") == 0 || strcmp(sub, "delete") == 0) {
        return store_cmd(argc - 1, argv + 1, sub);
    }
    fprintf(stderr, "verdict policy: unknown command '%s'\n", sub);
    policy_usage(stderr);
    return VD_EXIT_USAGE;
}
