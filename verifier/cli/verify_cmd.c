/*
 * `verdict verify`: one offline appraisal of an SEV-SNP report (DESIGN.md, "The contract").
 *
 * Reads the report (raw or hex), certificates (PEM or DER, any number of files), an optional
 * extended-report cert table and extra trust anchors, then hands everything to the pure core.
 * Exit 0 genuine, 1 rejected, 2 usage or unreadable input, 3 a needed certificate missing.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "verdict/certcache.h"
#include "verdict/certset.h"
#include "verdict/crl.h"
#include "verdict/evidence.h"
#include "verdict/kds.h"
#include "verdict/product.h"
#include "verdict/report.h"
#include "verdict/timefmt.h"
#include "verdict/trust.h"
#include "cli.h"

#define MAX_CERT_FILES 16

static void verify_usage(FILE *f)
{
    fprintf(f,
            "usage: verdict verify --report FILE [--certs FILE]... [--cert-table FILE]\n"
            "                      [--at RFC3339] [--product Milan|Genoa|Turin]\n"
            "                      [--extra-roots FILE] [--kds-url URL] [--offline] [--json]\n"
            "                      [--policy FILE|NAME [--nonce HEX] [--runtime-data FILE]]\n"
            "                      [--db FILE]\n"
            "\n"
            "  --report FILE       attestation report: 1184 raw bytes, hex text, or a\n"
            "                      configfs-tsm JSON envelope {outblob, auxblob, provider}\n"
            "  --certs FILE        certificates, PEM (any number) or DER; repeatable\n"
            "  --cert-table FILE   extended-report certificate table (configfs-tsm auxblob)\n"
            "  --at TIME           judge certificate validity at TIME (default: now)\n"
            "  --product NAME      product of a v2 report when no VCEK names it\n"
            "  --extra-roots FILE  PEM roots to trust besides AMD's pinned ARKs (test or\n"
            "                      private PKIs only); also VERDICT_EXTRA_ROOTS\n"
            "  --kds-url URL       KDS base URL (also VERDICT_KDS_URL; default %s)\n"
            "  --offline           never contact KDS (also VERDICT_OFFLINE=1). Without --certs\n"
            "                      the certificates come from the evidence, the cache (--db)\n"
            "                      and then KDS\n"
            "  --crl MODE          no fresh CRL: fail-open (default), fail-closed or off\n"
            "                      (also VERDICT_CRL; certcache/README.md)\n"
            "  --crl-file FILE     a CRL (PEM or DER) to check the chain against; repeatable.\n"
            "                      With --certs, CRLs already in the cache (--db) are used too\n"
            "  --json              print one JSON object instead of text\n"
            "  --policy FILE|NAME  also appraise against this policy file, or the active\n"
            "                      policy of that name in the store (policies/README.md)\n"
            "  --db FILE           SQLite database (also VERDICT_DB; default verdict.db)\n"
            "  --nonce HEX         the nonce the policy's freshness binding expects\n"
            "  --runtime-data FILE runtime data bound with the nonce (e.g. Trustee's JSON)\n",
            VD_KDS_DEFAULT_BASE);
}

typedef struct verify_opts {
    const char *report;
    const char *certs[MAX_CERT_FILES];
    size_t n_certs;
    const char *cert_table;
    const char *at;
    const char *product;
    const char *extra_roots;
    const char *kds_url;
    int json;
    const char *policy;
    const char *nonce;
    const char *runtime_data;
    const char *db;
    int offline;
    const char *crl;
    const char *crl_files[VD_CRLS_MAX];
    size_t n_crl_files;
} verify_opts_t;

/* Parse flags into `o`. Returns -1 after printing the problem, 1 for --help, 0 otherwise. */
static int parse_args(int argc, char **argv, verify_opts_t *o)
{
    enum {
        OPT_REPORT = 256,
        OPT_CERTS,
        OPT_TABLE,
        OPT_AT,
        OPT_PRODUCT,
        OPT_ROOTS,
        OPT_KDS,
        OPT_OFFLINE,
        OPT_JSON,
        OPT_HELP,
        OPT_POLICY,
        OPT_NONCE,
        OPT_RUNTIME,
        OPT_DB,
        OPT_CRL,
        OPT_CRL_FILE
    };
    static const struct option longopts[] = {
        {"report", required_argument, NULL, OPT_REPORT},
        {"certs", required_argument, NULL, OPT_CERTS},
        {"cert-table", required_argument, NULL, OPT_TABLE},
        {"at", required_argument, NULL, OPT_AT},
        {"product", required_argument, NULL, OPT_PRODUCT},
        {"extra-roots", required_argument, NULL, OPT_ROOTS},
        {"kds-url", required_argument, NULL, OPT_KDS},
        {"offline", no_argument, NULL, OPT_OFFLINE},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, OPT_HELP},
        {"policy", required_argument, NULL, OPT_POLICY},
        {"nonce", required_argument, NULL, OPT_NONCE},
        {"runtime-data", required_argument, NULL, OPT_RUNTIME},
        {"db", required_argument, NULL, OPT_DB},
        {"crl", required_argument, NULL, OPT_CRL},
        {"crl-file", required_argument, NULL, OPT_CRL_FILE},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof(*o));
    o->extra_roots = getenv("VERDICT_EXTRA_ROOTS");
    o->kds_url = getenv("VERDICT_KDS_URL");
    o->db = vd_cli_db_path(NULL);
    o->offline = vd_cli_env_flag("VERDICT_OFFLINE");
    opterr = 0;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_REPORT:
            o->report = optarg;
            break;
        case OPT_CERTS:
            if (o->n_certs >= MAX_CERT_FILES) {
                fprintf(stderr, "verdict verify: at most %d --certs files\n", MAX_CERT_FILES);
                return -1;
            }
            o->certs[o->n_certs++] = optarg;
            break;
        case OPT_TABLE:
            o->cert_table = optarg;
            break;
        case OPT_AT:
            o->at = optarg;
            break;
        case OPT_PRODUCT:
            o->product = optarg;
            break;
        case OPT_ROOTS:
            o->extra_roots = optarg;
            break;
        case OPT_KDS:
            o->kds_url = optarg;
            break;
        case OPT_OFFLINE:
            o->offline = 1;
            break;
        case OPT_CRL:
            o->crl = optarg;
            break;
        case OPT_CRL_FILE:
            if (o->n_crl_files >= VD_CRLS_MAX / 2) {
                fprintf(stderr, "verdict verify: at most %d --crl-file files\n", VD_CRLS_MAX / 2);
                return -1;
            }
            o->crl_files[o->n_crl_files++] = optarg;
            break;
        case OPT_JSON:
            o->json = 1;
            break;
        case OPT_HELP:
            return 1;
        case OPT_POLICY:
            o->policy = optarg;
            break;
        case OPT_NONCE:
            o->nonce = optarg;
            break;
        case OPT_RUNTIME:
            o->runtime_data = optarg;
            break;
        case OPT_DB:
            o->db = optarg;
            break;
        default:
            fprintf(stderr, "verdict verify: unknown or incomplete option '%s'\n",
                    argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "verdict verify: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (o->report == NULL) {
        fprintf(stderr, "verdict verify: --report FILE is required\n");
        return -1;
    }
    if ((o->nonce != NULL || o->runtime_data != NULL) && o->policy == NULL) {
        fprintf(stderr, "verdict verify: --nonce and --runtime-data need --policy (the policy "
                        "says how REPORT_DATA binds them)\n");
        return -1;
    }
    return 0;
}

/* Load every --certs file and the extra roots. Returns 0, or -1 after printing the error. */
static int load_certs(const verify_opts_t *o, vd_certset_t *certs, vd_trust_t *trust)
{
    vd_error_t err = {0};
    for (size_t i = 0; i < o->n_certs; i++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        char origin[VD_CERT_ORIGIN_MAX];
        snprintf(origin, sizeof(origin), "--certs %s", o->certs[i]);
        if (vd_file_read(o->certs[i], VD_CERT_BLOB_MAX, &buf, &len, &err) != VD_OK ||
            vd_certset_add_blob(certs, buf, len, origin, &err) != VD_OK) {
            free(buf);
            fprintf(stderr, "verdict verify: %s\n", err.msg);
            return -1;
        }
        free(buf);
    }
    return vd_cli_load_extra_roots(o->extra_roots, trust, "verdict verify");
}

/*
 * The CRLs for the core: every --crl-file, then what the cache has (with --certs: only what is
 * already cached, nothing fetched). Returns 0, or -1 after printing the error.
 */
static int load_crls(const verify_opts_t *o, vd_certcache_t *cache, const uint8_t *report,
                     size_t report_len, vd_product_t hint, vd_crl_list_t *out)
{
    vd_error_t err = {0};
    vd_crl_list_t cached;
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < o->n_crl_files; i++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        if (vd_file_read(o->crl_files[i], VD_FILE_MAX, &buf, &len, &err) != VD_OK) {
            fprintf(stderr, "verdict verify: --crl-file: %s\n", err.msg);
            return -1;
        }
        X509_CRL *crl = vd_crl_parse(buf, len);
        free(buf);
        if (crl == NULL) {
            fprintf(stderr, "verdict verify: --crl-file %s is not a CRL (PEM or DER)\n",
                    o->crl_files[i]);
            return -1;
        }
        out->crls[out->n++] = crl;
    }
    if (cache == NULL || vd_certcache_get_crls_for_report(cache, report, report_len, hint, 0,
                                                          o->n_certs > 0, &cached, &err) != VD_OK) {
        return 0; /* no cache: the core says no CRL is known */
    }
    if (cached.overflow || out->n + cached.n > VD_CRLS_MAX) {
        fprintf(stderr, "verdict verify: more than %d CRLs (--crl-file and the cache)\n",
                VD_CRLS_MAX);
        vd_crl_list_free(&cached);
        return -1; /* never appraise with some left out: one of them may revoke */
    }
    for (size_t i = 0; i < cached.n; i++) {
        X509_CRL_up_ref(cached.crls[i]);
        out->crls[out->n++] = cached.crls[i];
    }
    snprintf(out->note, sizeof(out->note), "%s", cached.note);
    vd_crl_list_free(&cached);
    return 0;
}

int vd_cli_verify(int argc, char **argv)
{
    int code = VD_EXIT_USAGE;
    verify_opts_t o;
    vd_error_t err = {0};
    uint8_t *file = NULL, *table = NULL;
    size_t file_len = 0, table_len = 0;
    vd_evidence_t ev = {0};
    uint8_t report[VD_SNP_REPORT_SIZE * 2];
    size_t report_len = 0;
    vd_certset_t *certs = NULL;
    vd_certcache_t *cache = NULL;
    vd_error_t cache_err = {0};
    vd_trust_t *trust = NULL;
    vd_snp_result_t *res = NULL;
    vd_cli_appraisal_t *ap = NULL;
    vd_snp_input_t in;
    vd_crl_list_t crls;
    memset(&in, 0, sizeof(in));
    memset(&crls, 0, sizeof(crls));

    int p = parse_args(argc, argv, &o);
    if (p != 0) {
        verify_usage(p > 0 ? stdout : stderr);
        return p > 0 ? VD_EXIT_OK : VD_EXIT_USAGE;
    }
    in.at = time(NULL);
    const char *crl_mode = o.crl != NULL ? o.crl : getenv("VERDICT_CRL");
    if (vd_crl_mode_parse(crl_mode, &in.crl_mode) != 0) {
        fprintf(stderr, "verdict verify: --crl '%s' is not fail-open, fail-closed or off\n",
                crl_mode);
        goto out;
    }
    if (o.at != NULL && vd_time_parse_rfc3339(o.at, &in.at) != 0) {
        fprintf(stderr,
                "verdict verify: --at '%s' is not an RFC 3339 time "
                "(e.g. 2025-06-01 or 2025-06-01T12:00:00Z)\n",
                o.at);
        goto out;
    }
    if (o.product != NULL) {
        in.product_hint = vd_product_from_name(o.product);
        if (in.product_hint == VD_PRODUCT_UNKNOWN) {
            fprintf(stderr, "verdict verify: --product '%s' is not Milan, Genoa or Turin\n",
                    o.product);
            goto out;
        }
    }
    if (vd_file_read(o.report, VD_FILE_MAX, &file, &file_len, &err) != VD_OK) {
        fprintf(stderr, "verdict verify: report: %s\n", err.msg);
        goto out;
    }
    /* Raw bytes or hex text. Anything else goes to the core as it is: a wrong length is a
     * rejection with a reason, not a usage error. */
    const uint8_t *rbytes = file;
    size_t rlen = file_len;
    if (vd_evidence_is_json(file, file_len)) {
        /* A configfs-tsm envelope: outblob is the report, auxblob the cert table. */
        if (vd_evidence_parse_tsm_json(file, file_len, &ev, &err) != VD_OK) {
            fprintf(stderr, "verdict verify: report %s: %s\n", o.report, err.msg);
            goto out;
        }
        rbytes = ev.report;
        rlen = ev.report_len;
        if (o.cert_table == NULL && ev.cert_table != NULL) {
            table = ev.cert_table;
            table_len = ev.cert_table_len;
            ev.cert_table = NULL;
        }
    }
    in.report = report;
    if (vd_snp_report_from_file_bytes(rbytes, rlen, report, sizeof(report), &report_len) != 0) {
        in.report = rbytes;
        report_len = rlen;
    }
    if (o.cert_table != NULL &&
        vd_file_read(o.cert_table, VD_FILE_MAX, &table, &table_len, &err) != VD_OK) {
        fprintf(stderr, "verdict verify: cert table: %s\n", err.msg);
        goto out;
    }
    if (vd_certset_new(&certs, &err) != VD_OK || vd_trust_new(&trust, &err) != VD_OK) {
        fprintf(stderr, "verdict verify: %s\n", err.msg);
        goto out;
    }
    if (load_certs(&o, certs, trust) != 0) {
        goto out;
    }
    if (o.n_certs == 0) {
        /* No --certs: the evidence's certificates, then the cache, then KDS (certcache/). */
        vd_cli_cache_opts_t co = {o.db, o.kds_url, o.offline, o.crl};
        if (vd_cli_cache_open(&co, trust, &cache, "verdict verify") != 0 ||
            vd_cli_cache_collect(cache, in.report, report_len, table, table_len, in.product_hint,
                                 certs, "verdict verify", &cache_err) != 0) {
            goto out;
        }
    } else if (in.crl_mode != VD_CRL_OFF && access(vd_cli_db_path(o.db), R_OK) == 0) {
        /* --certs: no network and no certificate from the cache, but a cached CRL counts. */
        vd_cli_cache_opts_t co = {o.db, NULL, 1, o.crl};
        if (vd_cli_cache_open(&co, trust, &cache, "verdict verify") != 0) {
            cache = NULL; /* said on stderr; the appraisal goes on without cached CRLs */
        }
    }
    if (in.crl_mode != VD_CRL_OFF &&
        load_crls(&o, cache, in.report, report_len, in.product_hint, &crls) != 0) {
        goto out;
    }
    in.crls = crls.crls;
    in.n_crls = crls.n;
    if (o.policy != NULL &&
        vd_cli_appraisal_load(&ap, o.policy, o.db, o.nonce, o.runtime_data) != 0) {
        goto out;
    }
    res = calloc(1, sizeof(*res));
    if (res == NULL) {
        fprintf(stderr, "verdict verify: out of memory\n");
        goto out;
    }
    in.report_len = report_len;
    in.certs = certs;
    in.cert_table = table; /* non-NULL whenever --cert-table was read, even if empty */
    in.cert_table_len = table_len;
    in.trust = trust;
    in.kds_base = o.kds_url != NULL && o.kds_url[0] != '\0' ? o.kds_url : NULL;
    if (vd_snp_verify(&in, res, &err) != VD_OK) {
        fprintf(stderr, "verdict verify: %s\n", err.msg);
        code = VD_EXIT_USAGE;
        goto out;
    }
    if (cache_err.code != VD_OK && res->status == VD_SNP_COLLATERAL_MISSING) {
        /* Why the cache could not help, for --json's "missing" too. */
        size_t used = strlen(res->missing);
        snprintf(res->missing + used, sizeof(res->missing) - used, "%scertificate cache: %s",
                 used ? "; " : "", cache_err.msg);
    }
    if (crls.note[0] != '\0' && res->status == VD_SNP_COLLATERAL_MISSING) {
        size_t used = strlen(res->missing);
        snprintf(res->missing + used, sizeof(res->missing) - used, "%s%s", used ? "; " : "",
                 crls.note);
    }
    vd_cli_appraisal_run(ap, res);
    if (o.json) {
        if (vd_cli_print_json(stdout, res, ap, in.at) != 0) {
            fprintf(stderr, "verdict verify: cannot encode JSON output\n");
            goto out;
        }
    } else {
        vd_cli_print_text(stdout, res, ap, in.at);
    }
    switch (res->status) {
    case VD_SNP_GENUINE:
        code = VD_EXIT_OK;
        break;
    case VD_SNP_REJECTED:
        code = VD_EXIT_REJECTED;
        break;
    case VD_SNP_COLLATERAL_MISSING:
        code = VD_EXIT_COLLATERAL;
        break;
    }
    if (code == VD_EXIT_OK && ap != NULL && vd_cli_appraisal_status(ap) != VD_TIER_AFFIRMING) {
        code = VD_EXIT_REJECTED; /* genuine, but the policy is not met */
    }
out:
    vd_crl_list_free(&crls);
    vd_evidence_free(&ev);
    vd_cli_appraisal_free(&ap);
    vd_certcache_free(&cache);
    free(res);
    vd_trust_free(&trust);
    vd_certset_free(&certs);
    free(table);
    free(file);
    return code;
}
