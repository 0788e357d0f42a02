/*
 * `verdict verify` and `verdict policy test`: one appraisal of an SEV-SNP report (DESIGN.md,
 * "The contract"). Parses the flags, reads the files, opens the certificate cache and the
 * policy store, hands everything to vd_appraise (verifier/appraise) and prints its result.
 * Exit 0 affirming, 1 rejected or not affirming, 2 usage or unreadable input, 3 a needed
 * certificate missing.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "verdict/bytes.h"
#include "verdict/certset.h"
#include "verdict/crl.h"
#include "verdict/kds.h"
#include "verdict/policyset.h"
#include "verdict/product.h"
#include "verdict/text.h"
#include "verdict/timefmt.h"
#include "verdict/trust.h"
#include "cli.h"

#define MAX_CERT_FILES 16

static void verify_usage(FILE *f, int policy_test)
{
    fprintf(f,
            "usage: verdict %s --report FILE [--certs FILE]... [--cert-table FILE]\n"
            "                      [--at RFC3339] [--product Milan|Genoa|Turin]\n"
            "                      [--extra-roots FILE] [--kds-url URL] [--offline]\n"
            "                      [--crl fail-open|fail-closed|off] [--json] [--db FILE]\n"
            "                      %s [--nonce HEX] [--runtime-data FILE]\n"
            "                      [--challenge-binding]\n"
            "\n"
            "  --report FILE       attestation report: 1184 raw bytes, hex text, or a\n"
            "                      configfs-tsm JSON envelope {outblob, auxblob, provider}\n"
            "  --certs FILE        certificates, PEM (any number) or DER; repeatable. With\n"
            "                      --certs nothing is looked up in the cache or KDS\n"
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
            "  --crl-file FILE     a CRL (PEM or DER) to check the chain against; repeatable.\n"
            "                      With --certs, CRLs already in the cache (--db) are used too\n"
            "                      (also VERDICT_CRL; certcache/README.md)\n"
            "  --json              print one JSON object instead of text\n"
            "  --policy FILE|NAME  also appraise against this policy file, or the active\n"
            "                      policy of that name in the store (policies/README.md)\n"
            "  --db FILE           SQLite database (also VERDICT_DB; default\n"
            "                      $XDG_CACHE_HOME/verdict/verdict.db or ~/.cache/verdict/)\n"
            "  --nonce HEX         the nonce REPORT_DATA must bind: always checked, in the\n"
            "                      policy's freshness mode, or raw (zero-padded to 64 bytes)\n"
            "  --runtime-data FILE runtime data bound with the nonce (e.g. Trustee's JSON)\n"
            "  --challenge-binding vTPM evidence: the nonce is a verdict challenge, and the\n"
            "                      quote's extraData must be SHA-384(nonce || runtime data)\n"
            "                      (default: extraData equals the nonce byte for byte)\n"
            "\n"
            "exit codes: 0 genuine (and the policy, if any, affirms), 1 rejected or not\n"
            "            affirming, 2 usage or input error, 3 a needed certificate or CRL is\n"
            "            not available\n",
            policy_test ? "policy test" : "verify",
            policy_test ? "--policy FILE|NAME" : "[--policy FILE|NAME]", VD_KDS_DEFAULT_BASE);
}

typedef struct verify_opts {
    const char *cmd;
    int evidence_only; /* policy init: no policy, nonce, runtime data or JSON */
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
    int challenge_binding;
    const char *db;
    int offline;
    const char *crl;
    const char *crl_files[VD_CRLS_MAX / 2];
    size_t n_crl_files;
} verify_opts_t;

/* Parse flags into `o`. Returns -1 after printing the problem, 1 for --help, 0 otherwise. */
static int parse_args(int argc, char **argv, verify_opts_t *o, int policy_test)
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
        OPT_CRL_FILE,
        OPT_CHALLENGE_BINDING
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
        {"challenge-binding", no_argument, NULL, OPT_CHALLENGE_BINDING},
        {"db", required_argument, NULL, OPT_DB},
        {"crl", required_argument, NULL, OPT_CRL},
        {"crl-file", required_argument, NULL, OPT_CRL_FILE},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = o->cmd;
    o->extra_roots = getenv("VERDICT_EXTRA_ROOTS");
    o->kds_url = getenv("VERDICT_KDS_URL");
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
                vd_cli_usage_error(cmd, "at most %d --certs files", MAX_CERT_FILES);
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
            if (o->n_crl_files >= sizeof(o->crl_files) / sizeof(o->crl_files[0])) {
                vd_cli_usage_error(cmd, "at most %d --crl-file files", VD_CRLS_MAX / 2);
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
        case OPT_CHALLENGE_BINDING:
            o->challenge_binding = 1;
            break;
        case OPT_DB:
            o->db = optarg;
            break;
        default:
            vd_cli_usage_error(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        vd_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
        return -1;
    }
    if (o->evidence_only) {
        const char *extra = o->policy              ? "--policy"
                            : o->nonce             ? "--nonce"
                            : o->runtime_data      ? "--runtime-data"
                            : o->challenge_binding ? "--challenge-binding"
                            : o->json              ? "--json"
                                                   : NULL;
        if (extra != NULL) {
            vd_cli_usage_error(cmd, "%s is not an option of this command", extra);
            return -1;
        }
    }
    if (o->report == NULL) {
        vd_cli_usage_error(cmd, "--report FILE is required");
        return -1;
    }
    if (policy_test && o->policy == NULL) {
        vd_cli_usage_error(cmd, "--policy FILE|NAME is required");
        return -1;
    }
    return 0;
}

static int is_regular_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Everything the request borrows, released in one place. */
typedef struct verify_ctx {
    uint8_t *report, *table, *nonce, *runtime;
    vd_certset_t *certs;
    vd_trust_t *trust;
    vd_certcache_t *cache;
    vd_policy_t *policy_file;
    vd_policyset_t *policies;
    vd_appraiser_t *appraiser;
    vd_appraise_result_t *res;
    X509_CRL *crls[VD_CRLS_MAX / 2]; /* --crl-file */
    size_t n_crls;
} verify_ctx_t;

static void ctx_free(verify_ctx_t *c)
{
    for (size_t i = 0; i < c->n_crls; i++) {
        X509_CRL_free(c->crls[i]);
    }
    vd_appraiser_free(&c->appraiser);
    vd_policyset_free(&c->policies);
    vd_policy_free(&c->policy_file);
    vd_certcache_free(&c->cache);
    vd_trust_free(&c->trust);
    vd_certset_free(&c->certs);
    free(c->res);
    free(c->runtime);
    free(c->nonce);
    free(c->table);
    free(c->report);
}

/* Every --crl-file, parsed (PEM or DER). Returns 0, or -1 after printing the problem. */
static int load_crl_files(const verify_opts_t *o, verify_ctx_t *c)
{
    vd_error_t err = {0};
    for (size_t i = 0; i < o->n_crl_files; i++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        if (vd_file_read(o->crl_files[i], VD_FILE_MAX, &buf, &len, &err) != VD_OK) {
            fprintf(stderr, "%s: --crl-file %s\n", o->cmd, err.msg);
            return -1;
        }
        X509_CRL *crl = vd_crl_parse(buf, len);
        free(buf);
        if (crl == NULL) {
            fprintf(stderr, "%s: --crl-file %s is not a CRL (PEM or DER)\n", o->cmd,
                    o->crl_files[i]);
            return -1;
        }
        c->crls[c->n_crls++] = crl;
    }
    return 0;
}

/* Read the files and flags into `req`. Returns 0, or -1 after printing the problem. */
static int build_request(const verify_opts_t *o, verify_ctx_t *c, vd_appraise_request_t *req,
                         vd_appraiser_config_t *cfg)
{
    const char *cmd = o->cmd;
    vd_error_t err = {0};
    req->at = time(NULL);
    if (o->at != NULL && vd_time_parse_rfc3339(o->at, &req->at) != 0) {
        vd_cli_usage_error(cmd,
                           "--at '%s' is not an RFC 3339 time (e.g. 2025-06-01 or "
                           "2025-06-01T12:00:00Z)",
                           o->at);
        return -1;
    }
    if (o->product != NULL) {
        req->product_hint = vd_product_from_name(o->product);
        if (req->product_hint == VD_PRODUCT_UNKNOWN) {
            vd_cli_usage_error(cmd, "--product '%s' is not Milan, Genoa or Turin", o->product);
            return -1;
        }
    }
    if (o->nonce != NULL) {
        c->nonce = malloc(VD_APPRAISE_NONCE_MAX);
        if (c->nonce == NULL ||
            vd_hex_decode(o->nonce, strlen(o->nonce), c->nonce, VD_APPRAISE_NONCE_MAX,
                          &req->nonce_len) != 0 ||
            req->nonce_len == 0) {
            vd_cli_usage_error(cmd, "--nonce must be hex (1 to %d bytes)", VD_APPRAISE_NONCE_MAX);
            return -1;
        }
        req->nonce = c->nonce;
    }
    if (o->challenge_binding) {
        if (o->nonce == NULL) {
            vd_cli_usage_error(cmd, "--challenge-binding needs --nonce (the challenge)");
            return -1;
        }
        req->vtpm_binding = VD_VTPM_BIND_SHA384;
    }
    if (o->runtime_data != NULL) {
        if (vd_file_read(o->runtime_data, VD_APPRAISE_RUNTIME_MAX, &c->runtime,
                         &req->runtime_data_len, &err) != VD_OK) {
            fprintf(stderr, "%s: --runtime-data %s\n", cmd, err.msg);
            return -1;
        }
        req->runtime_data = c->runtime;
    }
    if (vd_file_read(o->report, VD_FILE_MAX, &c->report, &req->evidence_len, &err) != VD_OK) {
        fprintf(stderr, "%s: --report %s\n", cmd, err.msg);
        return -1;
    }
    req->evidence = c->report;
    if (o->cert_table != NULL) {
        if (vd_file_read(o->cert_table, VD_FILE_MAX, &c->table, &req->cert_table_len, &err) !=
            VD_OK) {
            fprintf(stderr, "%s: --cert-table %s\n", cmd, err.msg);
            return -1;
        }
        /* Set even for an empty file: the core then says the table is empty. */
        req->cert_table = c->table != NULL ? c->table : (const uint8_t *)"";
    }
    if (vd_certset_new(&c->certs, &err) != VD_OK || vd_trust_new(&c->trust, &err) != VD_OK) {
        fprintf(stderr, "%s: %s\n", cmd, err.msg);
        return -1;
    }
    for (size_t i = 0; i < o->n_certs; i++) {
        if (vd_cli_load_certs_file(o->certs[i], c->certs, cmd) != 0) {
            return -1;
        }
    }
    if (vd_cli_load_extra_roots(o->extra_roots, c->trust, cmd) != 0) {
        return -1;
    }
    req->certs = c->certs;
    req->certs_only = o->n_certs > 0;
    const char *crl_mode = o->crl != NULL ? o->crl : getenv("VERDICT_CRL");
    if (vd_crl_mode_parse(crl_mode, &cfg->crl_mode) != 0) {
        vd_cli_usage_error(cmd, "--crl '%s' is not fail-open, fail-closed or off", crl_mode);
        return -1;
    }
    if (!req->certs_only) {
        /* No --certs: the evidence's certificates, then the cache, then KDS (certcache/). */
        vd_cli_cache_opts_t co = {o->db, o->kds_url, o->offline, o->crl};
        if (vd_cli_cache_open(&co, c->trust, &c->cache, cmd) != 0) {
            return -1;
        }
    } else if (cfg->crl_mode != VD_CRL_OFF) {
        /* --certs: no network and no certificate from the cache, but a cached CRL counts. */
        const char *db = vd_cli_db_path(o->db, cmd);
        vd_cli_cache_opts_t co = {o->db, NULL, 1, o->crl};
        if (db != NULL && access(db, R_OK) == 0 &&
            vd_cli_cache_open(&co, c->trust, &c->cache, cmd) != 0) {
            c->cache = NULL; /* said on stderr; the appraisal goes on without cached CRLs */
        }
    }
    if (load_crl_files(o, c) != 0) {
        return -1;
    }
    req->crls = c->crls;
    req->n_crls = c->n_crls;
    if (o->policy != NULL) {
        /* A policy file, or else the active policy of that name in the store. */
        if (is_regular_file(o->policy) || strchr(o->policy, '/') != NULL) {
            c->policy_file = vd_cli_load_policy_file(o->policy, cmd);
            if (c->policy_file == NULL) {
                return -1;
            }
            req->policy = c->policy_file;
        } else {
            const char *db = vd_cli_db_path(o->db, cmd);
            if (db == NULL) {
                return -1;
            }
            if (!is_regular_file(db)) {
                fprintf(stderr,
                        "%s: policy: '%s' is neither a file nor a stored policy (no database "
                        "at %s)\n",
                        cmd, o->policy, db);
                return -1;
            }
            if (vd_policyset_open(db, &c->policies, &err) != VD_OK) {
                fprintf(stderr, "%s: policy: %s\n", cmd, err.msg);
                return -1;
            }
            req->policy_name = o->policy;
        }
    }
    cfg->trust = c->trust;
    cfg->cache = c->cache;
    cfg->policies = c->policies;
    cfg->kds_base = o->kds_url;
    return 0;
}

static int exit_code(const vd_appraise_result_t *r)
{
    switch (r->outcome) {
    case VD_OUTCOME_AFFIRMING:
        return VD_EXIT_OK;
    case VD_OUTCOME_NOT_AFFIRMING:
    case VD_OUTCOME_REJECTED:
        return VD_EXIT_REJECTED;
    case VD_OUTCOME_COLLATERAL:
        return VD_EXIT_COLLATERAL;
    case VD_OUTCOME_BAD_EVIDENCE:
        return VD_EXIT_USAGE;
    }
    return VD_EXIT_REJECTED;
}

int vd_cli_appraise_evidence(int argc, char **argv, const char *cmd, vd_appraise_result_t **out,
                             time_t *at)
{
    int code = VD_EXIT_USAGE;
    verify_opts_t o;
    verify_ctx_t c;
    vd_appraise_request_t req;
    vd_appraiser_config_t cfg;
    vd_error_t err = {0};
    memset(&o, 0, sizeof(o));
    memset(&c, 0, sizeof(c));
    memset(&req, 0, sizeof(req));
    memset(&cfg, 0, sizeof(cfg));
    *out = NULL;
    o.cmd = cmd;
    o.evidence_only = 1;
    if (parse_args(argc, argv, &o, 0) != 0 || build_request(&o, &c, &req, &cfg) != 0) {
        goto out;
    }
    req.no_policy = 1;
    c.res = calloc(1, sizeof(*c.res));
    if (c.res == NULL || vd_appraiser_new(&cfg, &c.appraiser, &err) != VD_OK) {
        fprintf(stderr, "%s: out of memory\n", cmd);
        goto out;
    }
    if (vd_appraise(c.appraiser, &req, c.res, &err) != VD_OK) {
        fprintf(stderr, "%s: %s\n", cmd, err.msg);
        goto out;
    }
    if (c.res->outcome == VD_OUTCOME_BAD_EVIDENCE) {
        char why[VD_TEXT_ESCAPED_SIZE(sizeof(c.res->problem))];
        fprintf(stderr, "%s: --report %s: %s\n", cmd, o.report,
                vd_text_escape(c.res->problem, why, sizeof(why)));
        goto out;
    }
    *at = req.at;
    *out = c.res;
    c.res = NULL;
    code = VD_EXIT_OK;
out:
    ctx_free(&c);
    return code;
}

int vd_cli_verify(int argc, char **argv, int policy_test)
{
    int code = VD_EXIT_USAGE;
    verify_opts_t o;
    verify_ctx_t c;
    vd_appraise_request_t req;
    vd_appraiser_config_t cfg;
    vd_error_t err = {0};
    memset(&o, 0, sizeof(o));
    memset(&c, 0, sizeof(c));
    memset(&req, 0, sizeof(req));
    memset(&cfg, 0, sizeof(cfg));
    o.cmd = policy_test ? "verdict policy test" : "verdict verify";

    int p = parse_args(argc, argv, &o, policy_test);
    if (p != 0) {
        if (p > 0) {
            verify_usage(stdout, policy_test);
        }
        return p > 0 ? VD_EXIT_OK : VD_EXIT_USAGE;
    }
    if (build_request(&o, &c, &req, &cfg) != 0) {
        goto out;
    }
    c.res = calloc(1, sizeof(*c.res));
    if (c.res == NULL || vd_appraiser_new(&cfg, &c.appraiser, &err) != VD_OK) {
        fprintf(stderr, "%s: out of memory\n", o.cmd);
        goto out;
    }
    if (vd_appraise(c.appraiser, &req, c.res, &err) != VD_OK) {
        fprintf(stderr, "%s: %s%s\n", o.cmd, err.code == VD_E_CONFIG ? "policy: " : "", err.msg);
        goto out;
    }
    const vd_appraise_result_t *r = c.res;
    if (r->outcome == VD_OUTCOME_BAD_EVIDENCE) {
        char why[VD_TEXT_ESCAPED_SIZE(sizeof(r->problem))];
        fprintf(stderr, "%s: --report %s: %s\n", o.cmd, o.report,
                vd_text_escape(r->problem, why, sizeof(why)));
        goto out;
    }
    if (r->problem[0] != '\0') {
        char why[VD_TEXT_ESCAPED_SIZE(sizeof(r->problem))];
        fprintf(stderr, "%s: collateral unavailable: %s\n", o.cmd,
                vd_text_escape(r->problem, why, sizeof(why)));
    }
    if (o.json) {
        json_t *j = vd_appraise_result_json(r, req.at);
        int bad = j == NULL || json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0;
        json_decref(j);
        if (bad) {
            fprintf(stderr, "%s: cannot encode JSON output\n", o.cmd);
            goto out;
        }
        fputc('\n', stdout);
    } else {
        vd_cli_print_text(stdout, r, req.at);
    }
    code = exit_code(r);
out:
    ctx_free(&c);
    return code;
}
