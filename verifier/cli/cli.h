/*
 * verdict command line: subcommands and the helpers they share. Everything that touches files,
 * the terminal or the clock for the CLI is here, outside the library. Appraisals themselves are
 * run by verifier/appraise (vd_appraise); the CLI parses arguments and prints results.
 *
 * Dependencies, one way only: verify_cmd and certs_cmd use common.c and files.c; policy_cmd
 * uses those and vd_cli_verify (for `policy test`).
 */
#ifndef verdict__cli_h
#define verdict__cli_h

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "verdict/appraise.h"
#include "verdict/certcache.h"
#include "verdict/error.h"
#include "verdict/measure.h"
#include "verdict/policy.h"
#include "verdict/trust.h"

/* Exit codes shared by every subcommand (DESIGN.md, "The contract"). */
#define VD_EXIT_OK         0
#define VD_EXIT_REJECTED   1
#define VD_EXIT_USAGE      2
#define VD_EXIT_COLLATERAL 3

#define VD_FILE_MAX (1024 * 1024) /* no input file verdict reads is larger */

/* ---- files.c ---- */

/**
 * Read a whole regular file (at most `max` bytes) into a malloc'd buffer; caller frees.
 * Never blocks on a FIFO or device: anything but a regular file is refused. VD_E_IO (message
 * names the file and the reason) or VD_E_TOO_LARGE.
 */
vd_err_t vd_file_read(const char *path, size_t max, uint8_t **buf, size_t *len, vd_error_t *err)
    __attribute__((warn_unused_result));

/**
 * Refuse a secret file (signing key, challenge secret, TLS key) that others could read or
 * change, as sshd and PostgreSQL do: owned by us, no group or other permission (0600, 0400);
 * owned by root, group read allowed (0640, 0440: a root-managed key shared with our group, as
 * a Kubernetes Secret with fsGroup). A missing file is fine (serve creates it 0600). VD_E_CONFIG
 * naming `what`, the file, its mode and the chmod that fixes it; VD_E_IO if it cannot be stat'ed.
 */
vd_err_t vd_file_check_private(const char *what, const char *path, vd_error_t *err)
    __attribute__((warn_unused_result));

/* ---- common.c ---- */

/**
 * Print "<cmd>: <problem>" and a hint to --help on stderr (a usage error: one line that
 * matters, not the whole usage). Returns VD_EXIT_USAGE.
 */
int vd_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * Trust every certificate in the PEM file `path` as an extra root (--extra-roots). No-op for
 * NULL or "". Prints "<cmd>: --extra-roots FILE: ..." and returns -1 on error.
 */
int vd_cli_load_extra_roots(const char *path, vd_trust_t *trust, const char *cmd)
    __attribute__((warn_unused_result));

/**
 * Add the certificates of one --certs file to `certs`. Prints one sentence naming the file
 * and returns -1 on error.
 */
int vd_cli_load_certs_file(const char *path, vd_certset_t *certs, const char *cmd)
    __attribute__((warn_unused_result));

/** Read and compile one policy file; prints the error (with `cmd`) and returns NULL. */
vd_policy_t *vd_cli_load_policy_file(const char *path, const char *cmd);

/**
 * The database path: `flag` if given, else $VERDICT_DB, else the user's cache directory
 * ($XDG_CACHE_HOME/verdict/verdict.db, else ~/.cache/verdict/verdict.db). NULL (after printing
 * why) when there is no home to put it in.
 */
const char *vd_cli_db_path(const char *flag, const char *cmd);

/** Create the directory of the default database path (mode 0700) if `path` is that path. */
int vd_cli_db_prepare(const char *path, const char *cmd) __attribute__((warn_unused_result));

/** How a subcommand reaches the certificate cache (flags; NULL = environment or default). */
typedef struct vd_cli_cache_opts {
    const char *db;       /* --db (VERDICT_DB, default in the user's cache directory) */
    const char *kds_url;  /* --kds-url (VERDICT_KDS_URL) */
    int offline;          /* --offline (VERDICT_OFFLINE) */
    const char *crl_mode; /* --crl fail-open|fail-closed|off (VERDICT_CRL) */
} vd_cli_cache_opts_t;

/** 1 if environment variable `name` is set to something other than "", "0", "false", "no". */
int vd_cli_env_flag(const char *name);

/** Open the cache for `o` with `trust` (borrowed). Prints the problem and returns -1 on error. */
int vd_cli_cache_open(const vd_cli_cache_opts_t *o, const vd_trust_t *trust, vd_certcache_t **out,
                      const char *who) __attribute__((warn_unused_result));

/* ---- subcommands ---- */

/**
 * `verdict verify ...` (policy_test = 0) or `verdict policy test ...` (1: --policy required).
 * Returns the process exit code.
 */
int vd_cli_verify(int argc, char **argv, int policy_test);

/**
 * The appraisal `verdict policy init --from-report` starts from: parse verify's evidence flags
 * (--report, --certs, --cert-table, --at, --product, --extra-roots, --kds-url, --offline, --crl,
 * --db; --policy, --nonce, --runtime-data and --json are refused), read the files and run
 * vd_appraise without a policy. VD_EXIT_OK with *out (caller frees) and *at (the appraisal
 * time) set, whatever the evidence is; otherwise the exit code, the problem printed (usage,
 * unreadable files, an envelope that does not decode).
 */
int vd_cli_appraise_evidence(int argc, char **argv, const char *cmd, vd_appraise_result_t **out,
                             time_t *at);

/** Write every cached object to `f` as a bundle `verdict certs import` reads; *n = objects.
 * VD_E_STORE (unreadable cache or row), VD_E_IO. */
vd_err_t vd_cli_certs_export(vd_certcache_t *c, FILE *f, size_t *n, vd_error_t *err);

/** `verdict certs ...`: returns the process exit code. */
int vd_cli_certs(int argc, char **argv);

/** `verdict token verify|rotate|jwks ...` (token_cmd.c): returns the process exit code. */
int vd_cli_token(int argc, char **argv);

/* ---- measure_cmd.c: the `verdict measure` flags, written once, also `policy init --measure` -- */

/* What each measure flag said (NULL = not given); strings are borrowed from argv. */
typedef struct vd_cli_measure_opts {
    const char *ovmf, *vcpus, *vcpu_type, *vcpu_sig, *vmm, *kernel, *initrd, *append;
    const char *features, *ovmf_hash;
} vd_cli_measure_opts_t;

#define VD_CLI_MEASURE_OPT_BASE 256 /* getopt values BASE .. BASE + NOPTS - 1 */
#define VD_CLI_MEASURE_NOPTS    10
/* --ovmf --vcpus --vcpu-type --vcpu-sig --vmm-type --kernel --initrd --append --guest-features
 * --snp-ovmf-hash: copy into a command's getopt_long table. */
extern const struct option vd_cli_measure_longopts[VD_CLI_MEASURE_NOPTS];

/** Store getopt value `ch` with `arg` in `o`: 1 if `ch` is a measure flag, else 0. */
int vd_cli_measure_opt(vd_cli_measure_opts_t *o, int ch, const char *arg);

/** Overlay the flags `over` gave on `o` (a --vcpu-type in `over` replaces a --vcpu-sig). */
void vd_cli_measure_merge(vd_cli_measure_opts_t *o, const vd_cli_measure_opts_t *over);

/** One --vcpus count, 1..VD_MEASURE_VCPUS_MAX: 0, or -1 after printing the problem. */
int vd_cli_measure_vcpus(const char *s, const char *cmd, uint32_t *out);

/**
 * Check the flags, read the firmware into *fw (caller frees) and hash the kernel and initrd
 * into `in`, ready for vd_measure. 0, or -1 after printing the problem ("<cmd>: ...").
 */
int vd_cli_measure_prepare(const vd_cli_measure_opts_t *o, const char *cmd, vd_measure_input_t *in,
                           uint8_t **fw);

/** `verdict measure ...` (measure_cmd.c): returns the process exit code. */
int vd_cli_measure(int argc, char **argv);

/** `verdict policy init ...` (policy_init_cmd.c): returns the process exit code. */
int vd_cli_policy_init(int argc, char **argv);

/** `verdict policy ...`: returns the process exit code. */
int vd_cli_policy(int argc, char **argv);

/** `verdict policy sync DIR ...` (policy_sync_cmd.c): returns the process exit code. */
int vd_cli_policy_sync(int argc, char **argv);

/** Print an appraisal result for people on `f` (verify_text.c). */
void vd_cli_print_text(FILE *f, const vd_appraise_result_t *r, time_t at);

/** `verdict serve ...` (serve_cmd.c): runs the service; returns the process exit code. */
int vd_cli_serve(int argc, char **argv);

/** `verdict audit ...` (audit_cmd.c): returns the process exit code. */
int vd_cli_audit(int argc, char **argv);

/* ---- evidence_cmd.c: the attester side, inside a confidential VM ---- */

/* A test's stand-in for the kernel: called after each configfs step of vd_cli_tsm_collect
 * (`attr` is NULL after the mkdir), so a test can play configfs on a plain directory. NULL in
 * the real command. */
typedef enum vd_tsm_step { VD_TSM_MKDIR, VD_TSM_WROTE, VD_TSM_READ } vd_tsm_step_t;
typedef void (*vd_tsm_hook_fn)(void *arg, vd_tsm_step_t step, const char *entry, const char *attr);

/**
 * One report through configfs-tsm under `root` (e.g. /sys/kernel/config/tsm/report): create a
 * fresh entry, check its provider, read `generation`, write `report_data` to inblob, read
 * outblob and auxblob, read `generation` again (it must have advanced by exactly our one
 * write), remove the entry, and build the envelope (vd_evidence_tsm_build). *json is malloc'd.
 * VD_E_IO (the tree is missing or unreadable), VD_E_UNSUPPORTED (no or another provider),
 * VD_E_MALFORMED (generation or REPORT_DATA shows another writer raced), VD_E_NOMEM.
 */
vd_err_t vd_cli_tsm_collect(const char *root, const uint8_t report_data[64], vd_tsm_hook_fn hook,
                            void *hook_arg, char **json, vd_error_t *err)
    __attribute__((warn_unused_result));

/** `verdict evidence collect ...` (evidence_cmd.c): returns the process exit code. */
int vd_cli_evidence(int argc, char **argv);

#endif
