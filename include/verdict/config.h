/*
 * verdict: the configuration of `verdict serve` (issue #8 section 5, docs/configuration.md).
 *
 * Precedence, lowest first: embedded defaults, one YAML file (`--config FILE` or
 * VERDICT_CONFIG), environment variables, then command-line flags, which the caller applies
 * last with vd_config_set. Every setting has a default, so a configuration loaded from nothing
 * runs the service: h2c and HTTP/1.1 on 127.0.0.1:8080, verdict.db, the signing key and nonce
 * secret in the working directory.
 *
 * Every setting is described once, in a table in verifier/config/config.c (its key, environment
 * variable, type, bounds, default and meaning); the file parser, the environment, the setter,
 * vd_config_format and the documentation check all read that table. Errors in a file carry
 * file:line:column like policy errors ("verdict.yaml:4:3: server: unknown key 'wokers'"), in
 * the environment the variable's name.
 *
 * A loaded vd_config_t is immutable by convention and may be read by any thread; a reload
 * (SIGHUP) loads a new one. Bearer tokens are never stored: only their SHA-256, compared in
 * constant time (vd_config_auth).
 */
#ifndef verdict__config_h
#define verdict__config_h

#include <stddef.h>
#include <stdint.h>

#include "verdict/audit.h"
#include "verdict/certcache.h"
#include "verdict/challenge.h"
#include "verdict/error.h"
#include "verdict/server.h"
#include "verdict/signkey.h"

#define VD_CONFIG_MAX_LISTEN VD_SERVER_MAX_LISTEN
#define VD_CONFIG_MAX_TOKENS 64

/* The default listen address; the key and secret files default to VD_SIGNKEY_DEFAULT_PATH
 * (signkey.h) and VD_CHALLENGE_DEFAULT_SECRET_PATH (challenge.h), TTLs to VD_EAR_DEFAULT_TTL and
 * VD_CHALLENGE_DEFAULT_TTL: one definition each, shared with `verdict token`. */
#define VD_CONFIG_DEFAULT_LISTEN "127.0.0.1:8080"

/* What /v1/attest answers when collateral (a VCEK, a chain, a CRL) cannot be obtained. */
typedef enum vd_collateral_answer {
    VD_COLLATERAL_200 = 0, /* 200 with a signed token whose status is `none` and the reason */
    VD_COLLATERAL_503,     /* 503 with Retry-After, no token */
} vd_collateral_answer_t;

/* What a bearer token grants (ordered: admin can do what a reader can). */
typedef enum vd_auth_level {
    VD_AUTH_NONE = 0,
    VD_AUTH_READER = 1,
    VD_AUTH_ADMIN = 2,
} vd_auth_level_t;

/*
 * Every string is malloc'd, owned by the configuration and never NULL; "" means unset (no TLS,
 * no extra roots, no default policy, issuer derived from the listen address).
 */
typedef struct vd_config {
    char *listen[VD_CONFIG_MAX_LISTEN]; /* "host:port", "[v6]:port"; at least one */
    size_t n_listen;
    char *db;

    char *tls_cert; /* both or neither */
    char *tls_key;

    int64_t workers; /* 0 = four per core */
    int64_t queue;   /* requests in flight before 503; 0 = 64 per core */
    int64_t body_max;
    int64_t header_max;
    int64_t max_streams;
    int64_t max_connections;
    int64_t request_timeout_ms;
    int64_t idle_timeout_ms;
    int64_t shutdown_grace_ms;

    char *signing_key;       /* PEM private key, generated 0600 on first start when absent */
    vd_sigalg_t signing_alg; /* ES256 (the default), ES384, EdDSA */
    char *issuer;            /* "" = derived, see vd_config_issuer */
    int64_t token_ttl_s;     /* EAR `exp` - `iat` */
    char *nonce_secret;      /* file holding the challenge HMAC secret */
    int64_t challenge_ttl_s;

    char *default_policy; /* "" = none: genuine evidence is affirming, "no policy applied" */
    vd_collateral_answer_t collateral_unavailable;
    char *extra_roots; /* PEM file of extra trust anchors; "" = AMD's pinned ARKs only */
    vd_crl_mode_t crl_mode;
    char *kds_url;
    int offline;
    int64_t kds_timeout_ms;         /* 0 = the KDS client's defaults */
    int64_t kds_client_burst;       /* cold appraisals (uncached chips) per client at once */
    int64_t kds_client_interval_ms; /* then one more per interval; 0 = no per-client budget */
    int64_t kds_max_cold;           /* cold appraisals fetching from KDS at once */
    char *kds_trusted_proxy;        /* "" = X-Forwarded-For is never believed */

    uint8_t admin_token_sha256[VD_CONFIG_MAX_TOKENS][32];
    size_t n_admin_tokens; /* 0: admin endpoints are disabled (403), never open */
    uint8_t reader_token_sha256[VD_CONFIG_MAX_TOKENS][32];
    size_t n_reader_tokens;
    int open_policy_reads;       /* policy reads and dry runs without a token */
    int evidence_token_required; /* /v1/attest and the Veraison API need a reader token */

    int64_t audit_max_age_days; /* 0 = no age limit */
    int64_t audit_max_rows;     /* 0 = no count limit */
    vd_audit_sync_t audit_synchronous;
    int64_t audit_queue;
    int64_t audit_commit_timeout_ms;

    int ui_enabled; /* the policy playground at /ui/ */

    int log_access; /* one JSON line per request */
    char *log_file; /* "-" = standard output */

    char *source; /* the file loaded, or "" for none */
} vd_config_t;

/**
 * Defaults, then the file `path` (NULL: $VERDICT_CONFIG if set, else no file), then the
 * environment, then vd_config_check. A file that was named but cannot be read is an error.
 * VD_E_CONFIG (message "file:line:col: key: ..." or "VERDICT_X: ..."), VD_E_MALFORMED or
 * VD_E_TOO_LARGE for YAML that does not parse, VD_E_IO, VD_E_NOMEM. Free with vd_config_free.
 */
vd_err_t vd_config_load(const char *path, vd_config_t **out, vd_error_t *err)
    __attribute__((warn_unused_result));

/** The embedded defaults alone (no file, no environment). */
vd_err_t vd_config_defaults(vd_config_t **out, vd_error_t *err) __attribute__((warn_unused_result));

/**
 * Apply one YAML document (`text`, named `filename` in messages) over `c`. Keys not in the
 * document keep their values. Does not run vd_config_check.
 */
vd_err_t vd_config_apply_yaml(vd_config_t *c, const char *text, size_t len, const char *filename,
                              vd_error_t *err) __attribute__((warn_unused_result));

/** Apply the environment variables over `c` (docs/configuration.md lists them). */
vd_err_t vd_config_apply_env(vd_config_t *c, vd_error_t *err) __attribute__((warn_unused_result));

/**
 * Set one key from text, as a flag gives it: `key` is the dotted key ("listen",
 * "server.workers", "tls.cert"); lists are comma-separated and replace the list; booleans are
 * true/false/1/0/yes/no. Token hash lists cannot be set this way (VD_E_USAGE). Messages start
 * with the key. Call vd_config_check after the last flag.
 */
vd_err_t vd_config_set(vd_config_t *c, const char *key, const char *value, vd_error_t *err)
    __attribute__((warn_unused_result));

/**
 * Add a plain bearer token (hashed here; the text is not kept) to the admin or reader list.
 * VD_E_CONFIG when it is not a valid bearer token (RFC 6750 b64token: letters, digits and
 * -._~+/ then optional '=') or the list is full.
 */
vd_err_t vd_config_add_token(vd_config_t *c, vd_auth_level_t level, const char *token,
                             vd_error_t *err) __attribute__((warn_unused_result));

/** Cross-setting rules (TLS cert and key together, URLs, listen syntax). VD_E_CONFIG. */
vd_err_t vd_config_check(const vd_config_t *c, vd_error_t *err) __attribute__((warn_unused_result));

/**
 * `verdict serve --check-config FILE`: defaults + the file + vd_config_check, without the
 * environment. VD_OK when the file is valid.
 */
vd_err_t vd_config_check_file(const char *path, vd_error_t *err)
    __attribute__((warn_unused_result));

void vd_config_free(vd_config_t **pp);

/**
 * What the bearer token `token` (`len` bytes) grants: it is hashed with SHA-256 and compared
 * with every configured hash with CRYPTO_memcmp, all of them, whatever matched. NULL or empty:
 * VD_AUTH_NONE. Thread-safe.
 */
vd_auth_level_t vd_config_auth(const vd_config_t *c, const char *token, size_t len);

/**
 * The same for an Authorization header value ("Bearer TOKEN", scheme case-insensitive). NULL or
 * any other scheme: VD_AUTH_NONE.
 */
vd_auth_level_t vd_config_auth_header(const vd_config_t *c, const char *authorization);

/**
 * The issuer URL (`iss` in tokens, `issuer` in the OpenID configuration): the configured one,
 * else "http://ADDR" or "https://ADDR" (TLS configured) with ADDR = `bound_addr` (the address
 * the first listener is bound to; NULL = the first configured one). Returns `out`, truncated to
 * `size`.
 */
const char *vd_config_issuer(const vd_config_t *c, const char *bound_addr, char *out, size_t size);

/**
 * The server's settings (strings borrowed from `c`). log_fd is 1 when log.access is on (the
 * caller replaces it with an opened log.file other than "-") and -1 when off.
 */
void vd_config_server(const vd_config_t *c, vd_server_config_t *out);

/**
 * The access log's file descriptor: -1 when log.access is off, 1 for "-", else log.file opened
 * for appending (created 0640, close-on-exec; the caller closes it). VD_E_IO naming the file.
 */
vd_err_t vd_config_open_log(const vd_config_t *c, int *fd, vd_error_t *err)
    __attribute__((warn_unused_result));

/** The certificate cache's settings (strings borrowed from `c`; `trust` borrowed). */
void vd_config_certcache(const vd_config_t *c, const vd_trust_t *trust, vd_certcache_config_t *out);

/** The audit log's settings (strings borrowed from `c`). */
void vd_config_audit(const vd_config_t *c, vd_audit_config_t *out);

/**
 * The effective configuration as YAML that vd_config_apply_yaml reads back (token hashes are
 * not printed: a comment says how many there are). Malloc'd into *out; VD_E_NOMEM.
 */
vd_err_t vd_config_format(const vd_config_t *c, char **out, vd_error_t *err)
    __attribute__((warn_unused_result));

/* One setting, as documented (for docs and tests). */
typedef struct vd_config_key_info {
    const char *key;  /* "server.workers" */
    const char *env;  /* "VERDICT_WORKERS", or NULL */
    const char *def;  /* the default as written in a file ("0", "256KiB", "[127.0.0.1:8080]") */
    const char *help; /* one line */
} vd_config_key_info_t;

/**
 * Every setting, in documentation order: fills up to `cap` entries of `out` (may be NULL) with
 * pointers to static strings and returns the number of settings.
 */
size_t vd_config_keys(vd_config_key_info_t *out, size_t cap);

#endif
