/*
 * `verdict certs fetch|list|export|import` (DESIGN.md "The contract", issue #4) and the
 * certificate-cache glue `verdict verify` uses when no --certs are given.
 *
 * All network and database I/O of the CLI's certificate handling goes through certcache/; the
 * verification core never sees it. Exit codes: 0 success, 1 a bundle that does not chain to a
 * trusted root (refused), 2 usage or input error, 3 a certificate that cannot be obtained.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verdict/bytes.h"
#include "verdict/certcache.h"
#include "verdict/certtable.h"
#include "verdict/kds.h"
#include "verdict/report.h"
#include "verdict/tcb.h"
#include "verdict/timefmt.h"
#include "cli.h"

/* ---- shared with verify ------------------------------------------------------------------ */

int vd_cli_crl_mode(const char *s, vd_crl_mode_t *out)
{
    if (s == NULL || s[0] == '\0' || strcmp(s, "fail-open") == 0) {
        *out = VD_CRL_FAIL_OPEN;
    } else if (strcmp(s, "fail-closed") == 0) {
        *out = VD_CRL_FAIL_CLOSED;
    } else if (strcmp(s, "off") == 0) {
        *out = VD_CRL_OFF;
    } else {
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
    cfg.db_path = vd_cli_db_path(o->db);
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
    if (vd_cli_crl_mode(crl, &cfg.crl_mode) != 0) {
        fprintf(stderr, "%s: --crl '%s' is not fail-open, fail-closed or off\n", who, crl);
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

int vd_cli_cache_collect(vd_certcache_t *c, const uint8_t *report, size_t report_len,
                         const uint8_t *table, size_t table_len, vd_product_t hint,
                         vd_certset_t *certs, const char *who, vd_error_t *why)
{
    vd_error_t err = {0};
    vd_certtable_t t;
    /* The cert table's certificates are evidence too: look them up first. */
    if (table != NULL && vd_certtable_parse(table, table_len, &t, &err) == VD_OK) {
        for (size_t i = 0; i < t.count; i++) {
            vd_certtable_kind_t k = t.entries[i].kind;
            if (k == VD_CERTTABLE_VCEK || k == VD_CERTTABLE_VLEK || k == VD_CERTTABLE_ASK ||
                k == VD_CERTTABLE_ARK) {
                vd_error_t e2 = {0};
                vd_certset_add_blob(certs, t.entries[i].data, t.entries[i].len, "cert table", &e2);
            }
        }
    }
    vd_error_clear(&err);
    vd_certset_t *found = NULL;
    if (vd_certset_new(&found, &err) != VD_OK) {
        fprintf(stderr, "%s: %s\n", who, err.msg);
        return -1;
    }
    vd_err_t rc = vd_certcache_collect(c, report, report_len, certs, hint, 0, found, NULL, &err);
    for (size_t i = 0; i < vd_certset_count(found); i++) {
        vd_error_t e2 = {0};
        vd_certset_add_x509(certs, vd_certset_get(found, i), vd_certset_origin(found, i), &e2);
    }
    vd_certset_free(&found);
    if (rc != VD_OK) {
        fprintf(stderr, "%s: collateral unavailable: %s\n", who, err.msg);
        if (why != NULL) {
            *why = err;
        }
        return rc == VD_E_COLLATERAL_UNAVAILABLE ? 0 : -1;
    }
    return 0;
}

/* ---- verdict certs list / export: the library hands out entries, the CLI prints ----------- */

static const char *when(int64_t t, char *buf, size_t n)
{
    return vd_time_format_rfc3339((time_t)t, buf, n) != NULL ? buf : "?";
}

static int list_entry(void *ud, const vd_certcache_entry_t *e)
{
    FILE *f = ud;
    char at[40], nu[40];
    if (strcmp(e->kind, "chain") == 0) {
        fprintf(f, "chain  %-6s %-4s  %zu bytes  fetched %s\n", e->product, e->detail, e->size,
                when(e->fetched_at, at, sizeof(at)));
    } else if (strcmp(e->kind, "crl") == 0) {
        fprintf(f, "crl    %-6s %-4s  nextUpdate %s  fetched %s\n", e->product, e->detail,
                when(e->next_update, nu, sizeof(nu)), when(e->fetched_at, at, sizeof(at)));
    } else {
        fprintf(f, "%-6s %-6s %s  tcb 0x%016llx  fetched %s\n", e->kind, e->product, e->detail,
                (unsigned long long)e->tcb, when(e->fetched_at, at, sizeof(at)));
    }
    return 0;
}

typedef struct export_ctx {
    FILE *f;
    int failed;
} export_ctx_t;

static int export_entry(void *ud, const vd_certcache_entry_t *e)
{
    export_ctx_t *x = ud;
    if (e->pem == NULL) {
        x->failed = 1; /* a row that does not parse: the bundle would be incomplete */
        return 1;
    }
    if (strcmp(e->kind, "chain") == 0 || strcmp(e->kind, "crl") == 0) {
        fprintf(x->f, "# %s %s %s\n", e->kind, e->product, e->detail);
    } else {
        fprintf(x->f, "# %s %s %s %016llx\n", e->kind, e->product, e->detail,
                (unsigned long long)e->tcb);
    }
    fwrite(e->pem, 1, e->pem_len, x->f);
    return 0;
}

vd_err_t vd_cli_certs_export(vd_certcache_t *c, FILE *f, size_t *n, vd_error_t *err)
{
    export_ctx_t x = {f, 0};
    fprintf(f, "# verdict certificate bundle v1 (verdict certs import FILE)\n");
    vd_err_t rc = vd_certcache_each(c, export_entry, &x, n, err);
    if (rc != VD_OK) {
        return rc;
    }
    if (x.failed) {
        return VD_ERR(err, VD_E_STORE, "a cached object does not parse; the bundle is incomplete");
    }
    if (fflush(f) != 0 || ferror(f)) {
        return VD_ERR(err, VD_E_IO, "cannot write the bundle");
    }
    return VD_OK;
}

/* ---- verdict certs ------------------------------------------------------------------------ */

static void certs_usage(FILE *f)
{
    fprintf(
        f,
        "usage: verdict certs fetch --product Milan|Genoa|Turin --hwid HEX --tcb TCB\n"
        "       verdict certs fetch --from-report FILE\n"
        "       verdict certs list\n"
        "       verdict certs export FILE\n"
        "       verdict certs import FILE\n"
        "options for every subcommand: [--db FILE] [--kds-url URL] [--extra-roots FILE]\n"
        "\n"
        "  fetch   prefetch a chip's VCEK, its product's chain and CRL into the cache\n"
        "          --hwid: CHIP_ID hex (128 digits; 16 for Turin)\n"
        "          --tcb: REPORTED_TCB as 0x<16 hex digits> or bl=N,tee=N,snp=N,ucode=N[,fmc=N]\n"
        "  list    show what is cached\n"
        "  export  write every cached chain, CRL, VCEK and VLEK as a PEM bundle (- = stdout)\n"
        "  import  load a bundle; everything must chain to a pinned AMD ARK (or --extra-roots)\n"
        "\n"
        "  --db FILE           SQLite database (also VERDICT_DB; default verdict.db)\n"
        "  --kds-url URL       KDS base URL (also VERDICT_KDS_URL; default %s)\n"
        "  --extra-roots FILE  PEM roots trusted besides AMD's pins (also VERDICT_EXTRA_ROOTS)\n"
        "\n"
        "exit codes: 0 success, 1 bundle refused (untrusted root), 2 usage or input error,\n"
        "            3 a certificate could not be obtained\n",
        VD_KDS_DEFAULT_BASE);
}

typedef struct certs_opts {
    vd_cli_cache_opts_t cache;
    const char *extra_roots;
    const char *product;
    const char *hwid;
    const char *tcb;
    const char *from_report;
    const char *file; /* export/import */
} certs_opts_t;

static int parse_opts(int argc, char **argv, certs_opts_t *o)
{
    enum { OPT_DB = 256, OPT_KDS, OPT_ROOTS, OPT_PRODUCT, OPT_HWID, OPT_TCB, OPT_REPORT, OPT_HELP };
    static const struct option longopts[] = {
        {"db", required_argument, NULL, OPT_DB},
        {"kds-url", required_argument, NULL, OPT_KDS},
        {"extra-roots", required_argument, NULL, OPT_ROOTS},
        {"product", required_argument, NULL, OPT_PRODUCT},
        {"hwid", required_argument, NULL, OPT_HWID},
        {"tcb", required_argument, NULL, OPT_TCB},
        {"from-report", required_argument, NULL, OPT_REPORT},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof(*o));
    o->extra_roots = getenv("VERDICT_EXTRA_ROOTS");
    o->cache.kds_url = getenv("VERDICT_KDS_URL");
    opterr = 0;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_DB:
            o->cache.db = optarg;
            break;
        case OPT_KDS:
            o->cache.kds_url = optarg;
            break;
        case OPT_ROOTS:
            o->extra_roots = optarg;
            break;
        case OPT_PRODUCT:
            o->product = optarg;
            break;
        case OPT_HWID:
            o->hwid = optarg;
            break;
        case OPT_TCB:
            o->tcb = optarg;
            break;
        case OPT_REPORT:
            o->from_report = optarg;
            break;
        case OPT_HELP:
            return 1;
        default:
            fprintf(stderr, "verdict certs: unknown or incomplete option '%s'\n", argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        o->file = argv[optind++];
    }
    if (optind < argc) {
        fprintf(stderr, "verdict certs: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    return 0;
}

static int load_roots(const char *path, vd_trust_t *trust)
{
    return vd_cli_load_extra_roots(path, trust, "verdict certs");
}

/* "0x0123..." or "bl=3,tee=0,snp=8,ucode=115[,fmc=1]" in product p's layout. */
static int parse_tcb(const char *s, vd_product_t p, vd_tcb_t *out)
{
    if (strncmp(s, "0x", 2) == 0 || strncmp(s, "0X", 2) == 0) {
        char *end = NULL;
        unsigned long long v = strtoull(s + 2, &end, 16);
        if (end == s + 2 || *end != '\0') {
            return -1;
        }
        *out = vd_tcb_decode((uint64_t)v, p);
        return 0;
    }
    unsigned vals[5] = {0, 0, 0, 0, 0}; /* fmc bl tee snp ucode */
    int seen[5] = {0};
    static const char *const names[] = {"fmc", "bl", "tee", "snp", "ucode"};
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", s);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        int found = 0;
        if (eq == NULL) {
            return -1;
        }
        *eq = '\0';
        for (int i = 0; i < 5; i++) {
            if (strcmp(tok, names[i]) == 0) {
                char *end = NULL;
                unsigned long v = strtoul(eq + 1, &end, 10);
                if (end == eq + 1 || *end != '\0' || v > 255) {
                    return -1;
                }
                vals[i] = (unsigned)v;
                seen[i] = found = 1;
            }
        }
        if (!found) {
            return -1;
        }
    }
    if (!seen[1] || !seen[2] || !seen[3] || !seen[4] || (p == VD_PRODUCT_TURIN && !seen[0])) {
        return -1;
    }
    uint8_t b[8] = {0};
    if (p == VD_PRODUCT_TURIN) {
        b[0] = (uint8_t)vals[0];
        b[1] = (uint8_t)vals[1];
        b[2] = (uint8_t)vals[2];
        b[3] = (uint8_t)vals[3];
    } else {
        b[0] = (uint8_t)vals[1];
        b[1] = (uint8_t)vals[2];
        b[6] = (uint8_t)vals[3];
    }
    b[7] = (uint8_t)vals[4];
    *out = vd_tcb_decode(vd_le64(b), p);
    return 0;
}

static int certs_fetch(const certs_opts_t *o, vd_certcache_t *c)
{
    uint8_t chip[64] = {0};
    vd_tcb_t tcb;
    vd_product_t p = VD_PRODUCT_UNKNOWN;
    vd_error_t err = {0};
    X509 *vcek = NULL, *ask = NULL, *ark = NULL;
    int code = VD_EXIT_USAGE;
    if (o->from_report != NULL) {
        uint8_t *file = NULL, raw[VD_SNP_REPORT_SIZE * 2];
        size_t flen = 0, rlen = 0;
        vd_snp_report_t *r = malloc(sizeof(*r));
        if (r == NULL || vd_file_read(o->from_report, VD_FILE_MAX, &file, &flen, &err) != VD_OK ||
            vd_snp_report_from_file_bytes(file, flen, raw, sizeof(raw), &rlen) != 0 ||
            vd_snp_report_parse(raw, rlen, r, &err) != VD_OK) {
            fprintf(stderr, "verdict certs fetch: report: %s\n",
                    err.msg[0] ? err.msg : "not an attestation report");
            free(file);
            free(r);
            return VD_EXIT_USAGE;
        }
        free(file);
        p = r->version >= 3 ? vd_product_from_cpuid(r->cpuid_fam_id, r->cpuid_mod_id, NULL)
                            : vd_product_from_name(o->product != NULL ? o->product : "");
        memcpy(chip, r->chip_id, sizeof(chip));
        tcb = vd_tcb_decode(r->reported_tcb, p);
        unsigned key = vd_snp_report_signing_key(r);
        free(r);
        if (p == VD_PRODUCT_UNKNOWN) {
            fprintf(stderr, "verdict certs fetch: the report does not name its product (v2): "
                            "add --product\n");
            return VD_EXIT_USAGE;
        }
        if (key == VD_SNP_SIGNING_KEY_VLEK) {
            fprintf(stderr, "verdict certs fetch: the report is VLEK-signed; KDS does not serve "
                            "VLEKs (import them with verdict certs import)\n");
            return VD_EXIT_USAGE;
        }
        if (vd_all_zero(chip, sizeof(chip))) {
            fprintf(stderr, "verdict certs fetch: CHIP_ID is masked: KDS cannot serve this "
                            "chip's VCEK\n");
            return VD_EXIT_USAGE;
        }
    } else {
        size_t hl = 0;
        p = o->product != NULL ? vd_product_from_name(o->product) : VD_PRODUCT_UNKNOWN;
        if (p == VD_PRODUCT_UNKNOWN || o->hwid == NULL || o->tcb == NULL) {
            fprintf(stderr, "verdict certs fetch: needs --product Milan|Genoa|Turin, --hwid and "
                            "--tcb, or --from-report FILE\n");
            return VD_EXIT_USAGE;
        }
        if (vd_hex_decode(o->hwid, strlen(o->hwid), chip, sizeof(chip), &hl) != 0 ||
            !(hl == 64 || (p == VD_PRODUCT_TURIN && hl == 8))) {
            fprintf(stderr, "verdict certs fetch: --hwid must be 64 bytes of hex (8 for Turin)\n");
            return VD_EXIT_USAGE;
        }
        if (parse_tcb(o->tcb, p, &tcb) != 0) {
            fprintf(stderr,
                    "verdict certs fetch: --tcb '%s' is not 0x<hex> or "
                    "bl=N,tee=N,snp=N,ucode=N%s\n",
                    o->tcb, p == VD_PRODUCT_TURIN ? ",fmc=N" : "");
            return VD_EXIT_USAGE;
        }
    }
    if (vd_certcache_get_chain(c, p, 0, 0, &ask, &ark, &err) != VD_OK ||
        vd_certcache_get_vcek(c, p, chip, &tcb, 0, &vcek, &err) != VD_OK) {
        fprintf(stderr, "verdict certs fetch: collateral unavailable: %s\n", err.msg);
        code = VD_EXIT_COLLATERAL;
        goto out;
    }
    char t[64];
    printf("cached: %s chain and VCEK for tcb %s\n", vd_product_name(p),
           vd_tcb_format(&tcb, t, sizeof(t)));
    vd_error_clear(&err);
    if (vd_certcache_refresh_crl(c, p, 0, time(NULL), 0, &err) != VD_OK) {
        fprintf(stderr, "verdict certs fetch: warning: CRL not refreshed: %s\n", err.msg);
    } else {
        printf("cached: %s CRL\n", vd_product_name(p));
    }
    code = VD_EXIT_OK;
out:
    X509_free(vcek);
    X509_free(ask);
    X509_free(ark);
    return code;
}

int vd_cli_certs(int argc, char **argv)
{
    certs_opts_t o;
    vd_trust_t *trust = NULL;
    vd_certcache_t *c = NULL;
    vd_error_t err = {0};
    int code = VD_EXIT_USAGE;
    uint8_t *buf = NULL;
    size_t len = 0;
    if (argc < 2) {
        certs_usage(stderr);
        return VD_EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0) {
        certs_usage(stdout);
        return VD_EXIT_OK;
    }
    int pr = parse_opts(argc - 1, argv + 1, &o);
    if (pr != 0) {
        certs_usage(pr > 0 ? stdout : stderr);
        return pr > 0 ? VD_EXIT_OK : VD_EXIT_USAGE;
    }
    int is_fetch = strcmp(sub, "fetch") == 0, is_list = strcmp(sub, "list") == 0;
    int is_export = strcmp(sub, "export") == 0, is_import = strcmp(sub, "import") == 0;
    if (!is_fetch && !is_list && !is_export && !is_import) {
        fprintf(stderr, "verdict certs: unknown subcommand '%s'\n", sub);
        certs_usage(stderr);
        return VD_EXIT_USAGE;
    }
    if ((is_export || is_import) && o.file == NULL) {
        fprintf(stderr, "verdict certs %s: FILE is required\n", sub);
        return VD_EXIT_USAGE;
    }
    if ((is_fetch || is_list) && o.file != NULL) {
        fprintf(stderr, "verdict certs %s: unexpected argument '%s'\n", sub, o.file);
        return VD_EXIT_USAGE;
    }
    /* Only fetch talks to KDS. */
    o.cache.offline = !is_fetch;
    if (is_fetch && vd_cli_env_flag("VERDICT_OFFLINE")) {
        fprintf(stderr, "verdict certs fetch: VERDICT_OFFLINE is set: not contacting KDS\n");
        return VD_EXIT_COLLATERAL;
    }
    if (is_import && vd_file_read(o.file, VD_FILE_MAX, &buf, &len, &err) != VD_OK) {
        fprintf(stderr, "verdict certs import: %s\n", err.msg);
        return VD_EXIT_USAGE;
    }
    if (vd_trust_new(&trust, &err) != VD_OK) {
        fprintf(stderr, "verdict certs: %s\n", err.msg);
        goto out;
    }
    if (load_roots(o.extra_roots, trust) != 0 ||
        vd_cli_cache_open(&o.cache, trust, &c, "verdict certs") != 0) {
        goto out;
    }
    if (is_fetch) {
        code = certs_fetch(&o, c);
    } else if (is_list) {
        size_t n = 0;
        code = vd_certcache_each(c, list_entry, stdout, &n, &err) == VD_OK ? VD_EXIT_OK
                                                                           : VD_EXIT_USAGE;
        if (code != VD_EXIT_OK) {
            fprintf(stderr, "verdict certs list: %s\n", err.msg);
        } else if (n == 0) {
            printf("(the certificate cache is empty)\n");
        }
    } else if (is_export) {
        size_t n = 0;
        int to_stdout = strcmp(o.file, "-") == 0;
        FILE *f = to_stdout ? stdout : fopen(o.file, "w");
        if (f == NULL) {
            fprintf(stderr, "verdict certs export: cannot write %s\n", o.file);
            goto out;
        }
        vd_err_t rc = vd_cli_certs_export(c, f, &n, &err);
        if (!to_stdout && fclose(f) != 0 && rc == VD_OK) {
            rc = VD_ERR(&err, VD_E_IO, "cannot write %s", o.file);
        }
        if (rc != VD_OK) {
            fprintf(stderr, "verdict certs export: %s\n", err.msg);
            goto out;
        }
        fprintf(stderr, "exported %zu objects\n", n);
        code = VD_EXIT_OK;
    } else {
        size_t n = 0;
        vd_err_t rc = vd_certcache_import(c, buf, len, &n, &err);
        if (rc != VD_OK) {
            fprintf(stderr, "verdict certs import: %s\n", err.msg);
            code = rc == VD_E_CHAIN_UNTRUSTED ? VD_EXIT_REJECTED : VD_EXIT_USAGE;
            goto out;
        }
        printf("imported %zu objects\n", n);
        code = VD_EXIT_OK;
    }
out:
    vd_certcache_free(&c);
    vd_trust_free(&trust);
    free(buf);
    return code;
}
