/*
 * `verdict audit ...`: what operators read of the audit log (include/verdict/audit.h).
 *
 *   list [--since T] [--until T] [--status S] [--limit N] [--json]   latest records, newest first
 *   show ID|REQUEST_ID [--json]                                     one record (or all with that
 *                                                                   request id)
 *   export [--since T] [--until T] [--status S] [FILE|-]            JSON lines, oldest first
 * Every command takes --db FILE (or VERDICT_DB; default verdict.db). T is RFC 3339 or an age
 * such as 90s, 15m, 2h, 7d.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "verdict/audit.h"
#include "verdict/db.h"
#include "verdict/timefmt.h"
#include "cli.h"

#define LIST_DEFAULT_LIMIT 50

static void audit_usage(FILE *f)
{
    fprintf(f,
            "usage: verdict audit list [--since T] [--until T] [--status S] [--limit N] [--json]\n"
            "       verdict audit show ID|REQUEST_ID [--json]\n"
            "       verdict audit export [--since T] [--until T] [--status S] [FILE|-]\n"
            "\n"
            "The audit log of `verdict serve`: one record per appraisal.\n"
            "  list     the latest records, newest first (--limit, default %d; 0 = all)\n"
            "  show     the record with that number, or every record with that request id\n"
            "  export   records as JSON lines, oldest first, to FILE or standard output\n"
            "options:\n"
            "  --db FILE     the database (VERDICT_DB, default verdict.db)\n"
            "  --since T     records at or after T: RFC 3339 (2026-01-31, 2026-01-31T12:00:00Z)\n"
            "                or an age (90s, 15m, 2h, 7d)\n"
            "  --until T     records before T\n"
            "  --status S    only this status (affirming, warning, contraindicated, none)\n"
            "  --json        JSON lines instead of text\n"
            "exit codes: 0 success, 1 show found nothing, 2 usage or database error\n",
            LIST_DEFAULT_LIMIT);
}

typedef struct audit_args {
    const char *db;
    vd_audit_filter_t filter;
    int json;
    int limit_set;
    const char *pos[4];
    int npos;
} audit_args_t;

/* RFC 3339, or an age: digits then s, m, h or d. Unix ms, or -1. */
static int64_t parse_when(const char *s)
{
    size_t n = strlen(s);
    if (n >= 2 && n <= 12 && strspn(s, "0123456789") == n - 1) {
        static const char units[] = "smhd";
        static const int64_t secs[] = {1, 60, 3600, 86400};
        const char *u = strchr(units, s[n - 1]);
        if (u != NULL && s[n - 1] != '\0') {
            int64_t v = strtoll(s, NULL, 10);
            return ((int64_t)time(NULL) - v * secs[u - units]) * 1000;
        }
        return -1;
    }
    time_t t;
    if (vd_time_parse_rfc3339(s, &t) != 0) {
        return -1;
    }
    return (int64_t)t * 1000;
}

static int parse_args(int argc, char **argv, audit_args_t *a, const char *who)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'd'},    {"since", required_argument, NULL, 's'},
        {"until", required_argument, NULL, 'u'}, {"status", required_argument, NULL, 't'},
        {"limit", required_argument, NULL, 'l'}, {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof(*a));
    opterr = 0;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        char *end = NULL;
        int64_t when = 0;
        switch (ch) {
        case 'd':
            a->db = optarg;
            break;
        case 's':
        case 'u':
            if ((when = parse_when(optarg)) < 0) {
                fprintf(stderr, "%s: --%s '%s' is neither an RFC 3339 time nor an age (7d)\n", who,
                        ch == 's' ? "since" : "until", optarg);
                return -1;
            }
            *(ch == 's' ? &a->filter.since_ms : &a->filter.until_ms) = when;
            break;
        case 't':
            a->filter.status = optarg;
            break;
        case 'l':
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || optarg[0] == '-' || v > 100000000) {
                fprintf(stderr, "%s: --limit '%s' is not a count\n", who, optarg);
                return -1;
            }
            a->filter.limit = (size_t)v;
            a->limit_set = 1;
            break;
        case 'j':
            a->json = 1;
            break;
        case 'h':
            audit_usage(stdout);
            return 1;
        default:
            fprintf(stderr, "%s: unknown or incomplete option '%s'\n", who, argv[optind - 1]);
            return -1;
        }
    }
    for (int i = optind; i < argc; i++) {
        if (a->npos >= (int)(sizeof(a->pos) / sizeof(a->pos[0]))) {
            fprintf(stderr, "%s: too many arguments\n", who);
            return -1;
        }
        a->pos[a->npos++] = argv[i];
    }
    return 0;
}

static sqlite3 *open_store(const char *flag, const char *who)
{
    const char *path = vd_cli_db_path(flag, who);
    if (path == NULL) {
        return NULL;
    }
    struct stat st;
    sqlite3 *db = NULL;
    vd_error_t err = {0};
    if (strcmp(path, ":memory:") != 0 && stat(path, &st) != 0) {
        fprintf(stderr, "%s: no database at %s (--db FILE or VERDICT_DB)\n", who, path);
        return NULL;
    }
    if (vd_db_open(path, &db, &err) != VD_OK) {
        fprintf(stderr, "%s: %s\n", who, err.msg);
        return NULL;
    }
    return db;
}

/* ---- output -------------------------------------------------------------------------------- */

typedef struct out_ctx {
    FILE *f;
    int json;
    int failed; /* a write or an allocation failed */
    size_t rows;
} out_ctx_t;

static int print_json(void *ud, const vd_audit_record_t *r)
{
    out_ctx_t *o = ud;
    char *line = vd_audit_record_json(r);
    if (line == NULL || fprintf(o->f, "%s\n", line) < 0) {
        o->failed = 1;
    }
    free(line);
    o->rows++;
    return o->failed;
}

static void format_time(int64_t ms, char *out, size_t n)
{
    vd_time_format_rfc3339((time_t)(ms / 1000), out, n);
}

static int print_line(void *ud, const vd_audit_record_t *r)
{
    out_ctx_t *o = ud;
    char when[40], policy[VD_AUDIT_MAX_SHORT + 16];
    if (o->json) {
        return print_json(ud, r);
    }
    format_time(r->time_ms, when, sizeof(when));
    if (r->policy_name[0] != '\0') {
        snprintf(policy, sizeof(policy), "%s@%d", r->policy_name, r->policy_version);
    } else {
        snprintf(policy, sizeof(policy), "-");
    }
    if (fprintf(o->f, "%-8lld %-20s %-15s %-22s %-20s %s\n", (long long)r->id, when,
                r->status[0] ? r->status : "-", r->route[0] ? r->route : "-", policy,
                r->request_id[0] ? r->request_id : "-") < 0) {
        o->failed = 1;
    }
    o->rows++;
    return o->failed;
}

static int print_record(void *ud, const vd_audit_record_t *r)
{
    out_ctx_t *o = ud;
    char when[40];
    if (o->json) {
        return print_json(ud, r);
    }
    format_time(r->time_ms, when, sizeof(when));
    fprintf(o->f, "%srecord %lld\n", o->rows ? "\n" : "", (long long)r->id);
    fprintf(o->f, "  time          %s (%lld ms)\n", when, (long long)r->time_ms);
    fprintf(o->f, "  request id    %s\n", r->request_id);
    fprintf(o->f, "  client        %s\n", r->client);
    fprintf(o->f, "  route         %s\n", r->route);
    if (r->policy_name[0] != '\0') {
        fprintf(o->f, "  policy        %s version %d\n", r->policy_name, r->policy_version);
    } else {
        fprintf(o->f, "  policy        none applied\n");
    }
    fprintf(o->f, "  status        %s\n", r->status);
    fprintf(o->f, "  failed checks ");
    for (size_t i = 0; i < r->n_failed_checks; i++) {
        fprintf(o->f, "%s%s", i ? ", " : "", r->failed_checks[i]);
    }
    fprintf(o->f, "%s\n", r->n_failed_checks ? "" : "none");
    fprintf(o->f, "  report sha256 %s\n", r->report_sha256[0] ? r->report_sha256 : "-");
    fprintf(o->f, "  chip id       %s\n", r->chip_id[0] ? r->chip_id : "-");
    if (fprintf(o->f, "  latency       %lld.%03lld ms\n", (long long)(r->latency_us / 1000),
                (long long)(r->latency_us % 1000)) < 0) {
        o->failed = 1;
    }
    o->rows++;
    return o->failed;
}

/* ---- subcommands --------------------------------------------------------------------------- */

static int cmd_list(audit_args_t *a, sqlite3 *db)
{
    out_ctx_t o = {.f = stdout, .json = a->json};
    vd_error_t err = {0};
    if (a->npos != 0) {
        fprintf(stderr, "verdict audit list: unexpected argument '%s'\n", a->pos[0]);
        return VD_EXIT_USAGE;
    }
    if (!a->limit_set) {
        a->filter.limit = LIST_DEFAULT_LIMIT;
    }
    a->filter.newest_first = 1;
    if (!a->json) {
        printf("%-8s %-20s %-15s %-22s %-20s %s\n", "ID", "TIME", "STATUS", "ROUTE", "POLICY",
               "REQUEST ID");
    }
    if (vd_audit_query(db, &a->filter, print_line, &o, &err) != VD_OK) {
        fprintf(stderr, "verdict audit list: %s\n", err.msg);
        return VD_EXIT_USAGE;
    }
    if (o.failed || fflush(stdout) != 0) {
        fprintf(stderr, "verdict audit list: cannot write the output\n");
        return VD_EXIT_USAGE;
    }
    return VD_EXIT_OK;
}

static int cmd_show(audit_args_t *a, sqlite3 *db)
{
    out_ctx_t o = {.f = stdout, .json = a->json};
    vd_error_t err = {0};
    size_t found = 0;
    if (a->npos != 1) {
        fprintf(stderr, "verdict audit show: give one record number or request id\n");
        return VD_EXIT_USAGE;
    }
    if (vd_audit_find(db, a->pos[0], print_record, &o, &found, &err) != VD_OK) {
        fprintf(stderr, "verdict audit show: %s\n", err.msg);
        return VD_EXIT_USAGE;
    }
    if (found == 0) {
        fprintf(stderr, "verdict audit show: no record %s\n", a->pos[0]);
        return VD_EXIT_REJECTED;
    }
    return o.failed || fflush(stdout) != 0 ? VD_EXIT_USAGE : VD_EXIT_OK;
}

static int cmd_export(audit_args_t *a, sqlite3 *db)
{
    const char *path = a->npos > 0 ? a->pos[0] : "-";
    out_ctx_t o = {.json = 1};
    vd_error_t err = {0};
    if (a->npos > 1 || a->limit_set) {
        fprintf(stderr, "verdict audit export: [--since T] [--until T] [--status S] [FILE|-]\n");
        return VD_EXIT_USAGE;
    }
    int to_stdout = strcmp(path, "-") == 0;
    o.f = to_stdout ? stdout : fopen(path, "w");
    if (o.f == NULL) {
        fprintf(stderr, "verdict audit export: cannot write %s: %s\n", path, vd_strerror(errno));
        return VD_EXIT_USAGE;
    }
    vd_err_t rc = vd_audit_query(db, &a->filter, print_json, &o, &err);
    int bad = o.failed || fflush(o.f) != 0;
    if (!to_stdout) {
        bad |= fclose(o.f) != 0;
    }
    if (rc != VD_OK) {
        fprintf(stderr, "verdict audit export: %s\n", err.msg);
        return VD_EXIT_USAGE;
    }
    if (bad) {
        fprintf(stderr, "verdict audit export: cannot write %s\n", path);
        return VD_EXIT_USAGE;
    }
    if (!to_stdout) {
        fprintf(stderr, "verdict audit export: %zu records written to %s\n", o.rows, path);
    }
    return VD_EXIT_OK;
}

int vd_cli_audit(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        audit_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? VD_EXIT_USAGE : VD_EXIT_OK;
    }
    const char *sub = argv[1];
    char who[64];
    snprintf(who, sizeof(who), "verdict audit %s", sub);
    if (strcmp(sub, "list") != 0 && strcmp(sub, "show") != 0 && strcmp(sub, "export") != 0) {
        fprintf(stderr, "verdict audit: unknown command '%s'\n", sub);
        audit_usage(stderr);
        return VD_EXIT_USAGE;
    }
    audit_args_t a;
    int p = parse_args(argc - 1, argv + 1, &a, who);
    if (p != 0) {
        return p > 0 ? VD_EXIT_OK : VD_EXIT_USAGE;
    }
    sqlite3 *db = open_store(a.db, who);
    if (db == NULL) {
        return VD_EXIT_USAGE;
    }
    int rc = strcmp(sub, "list") == 0   ? cmd_list(&a, db)
             : strcmp(sub, "show") == 0 ? cmd_show(&a, db)
                                        : cmd_export(&a, db);
    vd_db_close(&db);
    return rc;
}
