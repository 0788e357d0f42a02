/*
 * verdict command line: subcommands and the helpers they share. Everything that touches files,
 * the terminal or the clock for the CLI is here, outside the pure verification core.
 */
#ifndef verdict__cli_h
#define verdict__cli_h

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "verdict/certcache.h"
#include "verdict/error.h"
#include "verdict/policy.h"
#include "verdict/trust.h"
#include "verdict/verify.h"

/* Exit codes shared by every subcommand (DESIGN.md, "The contract"). */
#define VD_EXIT_OK         0
#define VD_EXIT_REJECTED   1
#define VD_EXIT_USAGE      2
#define VD_EXIT_COLLATERAL 3

#define VD_FILE_MAX (1024 * 1024) /* no input file verdict reads is larger */

/**
 * Read a whole file (at most `max` bytes) into a malloc'd buffer; caller frees.
 * VD_E_IO (message names the file and errno) or VD_E_TOO_LARGE.
 */
vd_err_t vd_file_read(const char *path, size_t max, uint8_t **buf, size_t *len, vd_error_t *err);

/**
 * Trust every certificate in the PEM file `path` as an extra root (--extra-roots). No-op for
 * NULL or "". Prints "<cmd>: extra roots: ..." and returns -1 on error.
 */
int vd_cli_load_extra_roots(const char *path, vd_trust_t *trust, const char *cmd);

/** `verdict verify ...`: returns the process exit code. */
int vd_cli_verify(int argc, char **argv);

/* A policy appraisal attached to `verify` (policy_cmd.c): the compiled policy, its inputs and,
 * once run, the appraisal. Opaque to the other commands. */
typedef struct vd_cli_appraisal vd_cli_appraisal_t;

/**
 * Load the policy `policy` (a file, or else the name of an active policy in the store at
 * `db_path`), the nonce (hex) and runtime data (a file). Prints the problem and returns -1 on
 * error (exit 2), else 0 with *out set (free with vd_cli_appraisal_free).
 */
int vd_cli_appraisal_load(vd_cli_appraisal_t **out, const char *policy, const char *db_path,
                          const char *nonce_hex, const char *runtime_data_file);

/** The database path: `flag` if given, else $VERDICT_DB, else verdict.db. */
const char *vd_cli_db_path(const char *flag);

/* ---- certificate cache glue (certs_cmd.c) ---- */

/** How a subcommand reaches the certificate cache (flags; NULL = environment or default). */
typedef struct vd_cli_cache_opts {
    const char *db;       /* --db (VERDICT_DB, default verdict.db) */
    const char *kds_url;  /* --kds-url (VERDICT_KDS_URL) */
    int offline;          /* --offline (VERDICT_OFFLINE) */
    const char *crl_mode; /* --crl fail-open|fail-closed|off (VERDICT_CRL) */
} vd_cli_cache_opts_t;

/** "fail-open" (also NULL or ""), "fail-closed", "off". 0, or -1 if unknown. */
int vd_cli_crl_mode(const char *s, vd_crl_mode_t *out);

/** 1 if environment variable `name` is set to something other than "", "0", "false", "no". */
int vd_cli_env_flag(const char *name);

/** Open the cache for `o` with `trust` (borrowed). Prints the problem and returns -1 on error. */
int vd_cli_cache_open(const vd_cli_cache_opts_t *o, const vd_trust_t *trust, vd_certcache_t **out,
                      const char *who);

/**
 * Add to `certs` what an appraisal of `report` needs: the cert table's certificates (evidence),
 * then the chain and VCEK from the cache or KDS. A certificate that cannot be obtained is
 * reported on stderr ("collateral unavailable: ...") and in `why` (may be NULL), and is not an
 * error (the core then says what is missing, exit 3). Returns -1 only on internal errors.
 */
int vd_cli_cache_collect(vd_certcache_t *c, const uint8_t *report, size_t report_len,
                         const uint8_t *table, size_t table_len, vd_product_t hint,
                         vd_certset_t *certs, const char *who, vd_error_t *why);

/** Write every cached object to `f` as a bundle `verdict certs import` reads; *n = objects.
 * VD_E_STORE (unreadable cache or row), VD_E_IO. */
vd_err_t vd_cli_certs_export(vd_certcache_t *c, FILE *f, size_t *n, vd_error_t *err);

/** `verdict certs ...`: returns the process exit code. */
int vd_cli_certs(int argc, char **argv);

/** Appraise `res` (no-op when `ap` is NULL). */
void vd_cli_appraisal_run(vd_cli_appraisal_t *ap, const vd_snp_result_t *res);

/** The appraisal's status (affirming when `ap` is NULL). */
vd_tier_t vd_cli_appraisal_status(const vd_cli_appraisal_t *ap);

/** The appraisal itself, or NULL. */
const vd_appraisal_t *vd_cli_appraisal_get(const vd_cli_appraisal_t *ap);

void vd_cli_appraisal_free(vd_cli_appraisal_t **pp);

/** `verdict measure ...` (measure_cmd.c): returns the process exit code. */
int vd_cli_measure(int argc, char **argv);

/** `verdict policy ...`: returns the process exit code. */
int vd_cli_policy(int argc, char **argv);

/** Print a verification result (and appraisal, if any) as one JSON object on `f`. 0 or -1. */
int vd_cli_print_json(FILE *f, const vd_snp_result_t *res, const vd_cli_appraisal_t *ap, time_t at);

/** Print a verification result (and appraisal, if any) for people on `f`. */
void vd_cli_print_text(FILE *f, const vd_snp_result_t *res, const vd_cli_appraisal_t *ap,
                       time_t at);

#endif
