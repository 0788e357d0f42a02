/*
 * The service configuration (include/verdict/config.h, docs/configuration.md).
 *
 * One table, `settings`, describes every key once: its environment variable, type, bounds,
 * default and meaning. Defaults are applied by parsing each default text with the same code that
 * parses files, the environment and flags, so the documented default is the real one.
 *
 * Trust boundary: the file and the environment come from whoever deploys the service, but are
 * still parsed with every size bounded (vd_ydoc_parse) and every value checked; bearer tokens
 * never appear in messages and are kept only as SHA-256 digests.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "verdict/bytes.h"
#include "verdict/config.h"
#include "verdict/ear.h"
#include "verdict/kds.h"
#include "verdict/yamltree.h"

#define CONFIG_FILE_MAX ((size_t)VD_YAML_MAX_BYTES) /* one more byte read is refused there */

typedef enum setting_type {
    T_STR,    /* char *, any scalar */
    T_BOOL,   /* int */
    T_INT,    /* int64_t, decimal */
    T_SIZE,   /* int64_t, bytes with an optional KiB/MiB suffix */
    T_ENUM,   /* an enum field (int-sized), one of `names` (case-insensitive) */
    T_LISTEN, /* the listen list */
    T_TOKENS, /* a token hash list; `min` holds the vd_auth_level_t */
} setting_type_t;

typedef enum setting_check {
    C_NONE,
    C_NONEMPTY, /* a string that must not be "" */
    C_URL,      /* "" or http(s)://... */
    C_IP,       /* "" or a literal IPv4 or IPv6 address */
} setting_check_t;

typedef struct setting {
    const char *key;
    const char *env;
    setting_type_t type;
    size_t off;
    int64_t min, max;
    const char *const *names;
    setting_check_t check;
    const char *def;
    const char *help;
} setting_t;

static const char *const alg_names[] = {"ES256", "ES384", "EdDSA", NULL};
static const char *const collateral_names[] = {"200", "503", NULL};
static const char *const crl_names[] = {"fail-open", "fail-closed", "off", NULL};
static const char *const sync_names[] = {"FULL", "NORMAL", NULL};

/* The enum fields are written as int: make sure that is their size. */
_Static_assert(sizeof(vd_sigalg_t) == sizeof(int), "enum size");
_Static_assert(sizeof(vd_collateral_answer_t) == sizeof(int), "enum size");
_Static_assert(sizeof(vd_crl_mode_t) == sizeof(int), "enum size");
_Static_assert(sizeof(vd_audit_sync_t) == sizeof(int), "enum size");
_Static_assert(VD_SIGALG_ES256 == 0 && VD_SIGALG_ES384 == 1 && VD_SIGALG_EDDSA == 2, "alg_names");
_Static_assert(VD_SIGALG_DEFAULT == VD_SIGALG_ES256, "signing.alg default below");
_Static_assert(VD_COLLATERAL_200 == 0 && VD_COLLATERAL_503 == 1, "collateral_names");
_Static_assert(VD_CRL_FAIL_OPEN == 0 && VD_CRL_FAIL_CLOSED == 1 && VD_CRL_OFF == 2, "crl_names");
_Static_assert(VD_AUDIT_SYNC_FULL == 0 && VD_AUDIT_SYNC_NORMAL == 1, "sync_names");

#define OFF(f)  offsetof(vd_config_t, f)
#define STR_(x) #x
#define STR(x)  STR_(x) /* a numeric default shared with another module, as text */
#define DAY_MS  (24LL * 3600 * 1000)

/* Documentation order; docs/configuration.md follows it (a test checks every key is there). */
static const setting_t settings[] = {
    {"listen", "VERDICT_LISTEN", T_LISTEN, OFF(listen), 0, 0, NULL, C_NONE,
     "[" VD_CONFIG_DEFAULT_LISTEN "]",
     "addresses to listen on (host:port, [v6]:port); h2c and HTTP/1.1, or TLS when configured"},
    {"db", "VERDICT_DB", T_STR, OFF(db), 0, 0, NULL, C_NONEMPTY, "verdict.db",
     "the SQLite file: policies, certificate cache, audit log"},
    {"tls.cert", "VERDICT_TLS_CERT", T_STR, OFF(tls_cert), 0, 0, NULL, C_NONE, "",
     "PEM certificate chain; with tls.key the listeners speak TLS (ALPN h2, http/1.1)"},
    {"tls.key", "VERDICT_TLS_KEY", T_STR, OFF(tls_key), 0, 0, NULL, C_NONE, "",
     "PEM private key of tls.cert"},
    {"server.workers", "VERDICT_WORKERS", T_INT, OFF(workers), 0, 1024, NULL, C_NONE, "0",
     "appraisal worker threads; 0 = four per core"},
    {"server.queue", "VERDICT_QUEUE", T_INT, OFF(queue), 0, 1000000, NULL, C_NONE, "0",
     "requests in flight before 503 with Retry-After; 0 = 64 per core"},
    {"server.body_max", "VERDICT_BODY_MAX", T_SIZE, OFF(body_max), 1024, 64LL << 20, NULL, C_NONE,
     "256KiB", "largest request body (413 beyond)"},
    {"server.header_max", "VERDICT_HEADER_MAX", T_SIZE, OFF(header_max), 1024, 1LL << 20, NULL,
     C_NONE, "16KiB", "largest request header block (431 beyond)"},
    {"server.max_streams", "VERDICT_MAX_STREAMS", T_INT, OFF(max_streams), 1, 10000, NULL, C_NONE,
     "100", "concurrent streams per HTTP/2 connection"},
    {"server.max_connections", "VERDICT_MAX_CONNECTIONS", T_INT, OFF(max_connections), 1, 1000000,
     NULL, C_NONE, "4096", "open connections at once"},
    {"server.request_timeout_ms", "VERDICT_REQUEST_TIMEOUT_MS", T_INT, OFF(request_timeout_ms), 100,
     3600000, NULL, C_NONE, "10000", "headers and body must arrive within this time"},
    {"server.idle_timeout_ms", "VERDICT_IDLE_TIMEOUT_MS", T_INT, OFF(idle_timeout_ms), 100,
     86400000, NULL, C_NONE, "60000", "an idle connection is closed after this time"},
    {"server.shutdown_grace_ms", "VERDICT_SHUTDOWN_GRACE_MS", T_INT, OFF(shutdown_grace_ms), 0,
     3600000, NULL, C_NONE, "10000", "on SIGTERM, in-flight requests may finish within this time"},
    {"signing.key", "VERDICT_SIGNING_KEY", T_STR, OFF(signing_key), 0, 0, NULL, C_NONEMPTY,
     VD_SIGNKEY_DEFAULT_PATH,
     "PEM private key that signs results; generated (0600) on first start when absent"},
    {"signing.alg", "VERDICT_SIGNING_ALG", T_ENUM, OFF(signing_alg), 0, 0, alg_names, C_NONE,
     "ES256", "result signature algorithm: ES256, ES384 or EdDSA"},
    {"signing.issuer", "VERDICT_ISSUER", T_STR, OFF(issuer), 0, 0, NULL, C_URL, "",
     "`iss` of results and the OpenID issuer; \"\" = http(s)://the first listen address"},
    {"signing.token_ttl_s", "VERDICT_TOKEN_TTL_S", T_INT, OFF(token_ttl_s), 1, 604800, NULL, C_NONE,
     STR(VD_EAR_DEFAULT_TTL), "result lifetime in seconds (`exp` - `iat`)"},
    {"challenge.secret", "VERDICT_NONCE_SECRET", T_STR, OFF(nonce_secret), 0, 0, NULL, C_NONEMPTY,
     VD_CHALLENGE_DEFAULT_SECRET_PATH,
     "file with the challenge HMAC secret; generated (0600) when absent; replicas share it"},
    {"challenge.ttl_s", "VERDICT_CHALLENGE_TTL_S", T_INT, OFF(challenge_ttl_s), 1,
     VD_CHALLENGE_MAX_TTL, NULL, C_NONE, STR(VD_CHALLENGE_DEFAULT_TTL),
     "how long a challenge nonce is accepted, in seconds"},
    {"appraisal.default_policy", "VERDICT_DEFAULT_POLICY", T_STR, OFF(default_policy), 0, 0, NULL,
     C_NONE, "", "policy applied when a request names none; \"\" = genuineness only"},
    {"appraisal.collateral_unavailable", "VERDICT_COLLATERAL_UNAVAILABLE", T_ENUM,
     OFF(collateral_unavailable), 0, 0, collateral_names, C_NONE, "200",
     "missing collateral: \"200\" (signed result, status none) or \"503\" (Retry-After)"},
    {"appraisal.extra_roots", "VERDICT_EXTRA_ROOTS", T_STR, OFF(extra_roots), 0, 0, NULL, C_NONE,
     "", "PEM file of trust anchors besides AMD's pinned ARKs (test or private PKIs only)"},
    {"appraisal.crl", "VERDICT_CRL", T_ENUM, OFF(crl_mode), 0, 0, crl_names, C_NONE, "fail-open",
     "without a fresh CRL: fail-open (check skipped), fail-closed (collateral missing) or off"},
    {"kds.url", "VERDICT_KDS_URL", T_STR, OFF(kds_url), 0, 0, NULL, C_URL, VD_KDS_DEFAULT_BASE,
     "AMD KDS base URL (a mirror or a test server may stand in)"},
    {"kds.offline", "VERDICT_OFFLINE", T_BOOL, OFF(offline), 0, 0, NULL, C_NONE, "false",
     "never contact KDS; only certificates in requests and the cache are used"},
    {"kds.timeout_ms", "VERDICT_KDS_TIMEOUT_MS", T_INT, OFF(kds_timeout_ms), 0, 600000, NULL,
     C_NONE, "0", "connect and transfer timeout per KDS request; 0 = the client's defaults"},
    {"kds.client_burst", "VERDICT_KDS_CLIENT_BURST", T_INT, OFF(kds_client_burst), 1, 100000, NULL,
     C_NONE, STR(VD_CERTCACHE_COLD_BURST),
     "appraisals of uncached chips a client (its IP address) may make at once before 429"},
    {"kds.client_interval_ms", "VERDICT_KDS_CLIENT_INTERVAL_MS", T_INT, OFF(kds_client_interval_ms),
     0, 86400000, NULL, C_NONE, STR(VD_CERTCACHE_COLD_INTERVAL_MS),
     "then one more per this interval; 0 = no per-client budget"},
    {"kds.max_cold_fetches", "VERDICT_KDS_MAX_COLD_FETCHES", T_INT, OFF(kds_max_cold), 1, 1024,
     NULL, C_NONE, "1", "appraisals waiting for KDS at once (503 beyond); keep below workers"},
    {"kds.trusted_proxy", "VERDICT_KDS_TRUSTED_PROXY", T_STR, OFF(kds_trusted_proxy), 0, 0, NULL,
     C_IP, "", "a reverse proxy's IP: its requests count against the last X-Forwarded-For address"},
    {"auth.admin_tokens_sha256", "VERDICT_ADMIN_TOKEN", T_TOKENS, 0, VD_AUTH_ADMIN, 0, NULL, C_NONE,
     "[]",
     "SHA-256 (hex) of admin bearer tokens; the variable holds one plain token, added to them"},
    {"auth.reader_tokens_sha256", "VERDICT_READER_TOKEN", T_TOKENS, 0, VD_AUTH_READER, 0, NULL,
     C_NONE, "[]", "SHA-256 (hex) of reader bearer tokens (policy reads, evidence if required)"},
    {"auth.open_policy_reads", "VERDICT_OPEN_POLICY_READS", T_BOOL, OFF(open_policy_reads), 0, 0,
     NULL, C_NONE, "false", "policy reads and dry runs need no token"},
    {"auth.evidence_token_required", "VERDICT_EVIDENCE_TOKEN_REQUIRED", T_BOOL,
     OFF(evidence_token_required), 0, 0, NULL, C_NONE, "false",
     "evidence endpoints (/v1/attest, /v1/challenge, Veraison) need a reader or admin token"},
    {"audit.max_age_days", "VERDICT_AUDIT_MAX_AGE_DAYS", T_INT, OFF(audit_max_age_days), 0, 36500,
     NULL, C_NONE, "90", "audit records older than this are deleted; 0 = keep regardless of age"},
    {"audit.max_rows", "VERDICT_AUDIT_MAX_ROWS", T_INT, OFF(audit_max_rows), 0, 1000000000000LL,
     NULL, C_NONE, "10000000", "keep at most this many audit records (oldest deleted); 0 = all"},
    {"audit.synchronous", "VERDICT_AUDIT_SYNCHRONOUS", T_ENUM, OFF(audit_synchronous), 0, 0,
     sync_names, C_NONE, "FULL",
     "FULL: a record survives power loss; NORMAL: it survives a crash of the process"},
    {"audit.queue", "VERDICT_AUDIT_QUEUE", T_INT, OFF(audit_queue), 1, 1000000, NULL, C_NONE,
     "4096", "records waiting for the audit writer before appends fail (503)"},
    {"audit.commit_timeout_ms", "VERDICT_AUDIT_COMMIT_TIMEOUT_MS", T_INT,
     OFF(audit_commit_timeout_ms), 100, 600000, NULL, C_NONE, "10000",
     "how long a request waits for its audit record to commit before failing (503)"},
    {"ui.enabled", "VERDICT_UI", T_BOOL, OFF(ui_enabled), 0, 0, NULL, C_NONE, "true",
     "serve the policy playground at /ui/ (and redirect / there)"},
    {"log.access", "VERDICT_LOG_ACCESS", T_BOOL, OFF(log_access), 0, 0, NULL, C_NONE, "true",
     "one JSON line per request (no secrets, tokens or evidence)"},
    {"log.file", "VERDICT_LOG_FILE", T_STR, OFF(log_file), 0, 0, NULL, C_NONEMPTY, "-",
     "where access lines go: \"-\" = standard output, else a file (appended)"},
};

#define N_SETTINGS (sizeof(settings) / sizeof(settings[0]))

size_t vd_config_keys(vd_config_key_info_t *out, size_t cap)
{
    for (size_t i = 0; i < N_SETTINGS && i < cap && out != NULL; i++) {
        out[i].key = settings[i].key;
        out[i].env = settings[i].env;
        out[i].def = settings[i].def;
        out[i].help = settings[i].help;
    }
    return N_SETTINGS;
}

/* ---- field access -------------------------------------------------------------------------- */

static void *field(vd_config_t *c, const setting_t *s)
{
    return (void *)((char *)c + s->off);
}

static const void *cfield(const vd_config_t *c, const setting_t *s)
{
    return (const void *)((const char *)c + s->off);
}

static const setting_t *find_setting(const char *key)
{
    for (size_t i = 0; i < N_SETTINGS; i++) {
        if (strcmp(settings[i].key, key) == 0) {
            return &settings[i];
        }
    }
    return NULL;
}

static vd_err_t set_string(char **slot, const char *value, vd_error_t *err)
{
    char *copy = strdup(value);
    if (copy == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "out of memory for the configuration");
    }
    free(*slot);
    *slot = copy;
    return VD_OK;
}

/* ---- value parsers (one per type; `where` prefixes every message) --------------------------- */

static vd_err_t __attribute__((format(printf, 3, 4)))
bad(vd_error_t *err, const char *where, const char *fmt, ...)
{
    char what[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return VD_ERR(err, VD_E_CONFIG, "%s: %s", where, what);
}

static int all_digits(const char *s)
{
    return s[0] != '\0' && strspn(s, "0123456789") == strlen(s);
}

static vd_err_t parse_int(const setting_t *s, const char *text, const char *where, int64_t *out,
                          vd_error_t *err)
{
    static const struct {
        const char *suffix;
        int64_t unit;
    } units[] = {{"KiB", 1024}, {"MiB", 1024LL * 1024}, {"GiB", 1024LL * 1024 * 1024}};
    char digits[24];
    int64_t unit = 1;
    size_t n = strlen(text);
    for (size_t i = 0; s->type == T_SIZE && i < sizeof(units) / sizeof(units[0]); i++) {
        size_t sl = strlen(units[i].suffix);
        if (n > sl && strcmp(text + n - sl, units[i].suffix) == 0) {
            unit = units[i].unit;
            n -= sl;
            break;
        }
    }
    int ok = n < sizeof(digits);
    unsigned long long v = 0;
    if (ok) {
        memcpy(digits, text, n);
        digits[n] = '\0';
        errno = 0;
        ok = all_digits(digits) && (v = strtoull(digits, NULL, 10), errno == 0) &&
             v <= (unsigned long long)(INT64_MAX / unit) && (int64_t)v * unit >= s->min &&
             (int64_t)v * unit <= s->max;
    }
    if (!ok) {
        if (s->type == T_SIZE) {
            return bad(err, where,
                       "expected a size %lld..%lld bytes (optionally KiB or MiB), got '%s'",
                       (long long)s->min, (long long)s->max, text);
        }
        return bad(err, where, "expected an integer %lld..%lld, got '%s'", (long long)s->min,
                   (long long)s->max, text);
    }
    *out = (int64_t)v * unit;
    return VD_OK;
}

/* Booleans: true/false in files; the environment and flags also take 1/0, yes/no, on/off. */
static vd_err_t parse_bool(const char *text, int strict, const char *where, int *out,
                           vd_error_t *err)
{
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};
    size_t n = strict ? 1 : sizeof(yes) / sizeof(yes[0]);
    for (size_t i = 0; i < n; i++) {
        if ((strict ? strcmp(text, yes[i]) : strcasecmp(text, yes[i])) == 0) {
            *out = 1;
            return VD_OK;
        }
        if ((strict ? strcmp(text, no[i]) : strcasecmp(text, no[i])) == 0) {
            *out = 0;
            return VD_OK;
        }
    }
    return bad(err, where, "expected true or false, got '%s'", text);
}

static vd_err_t parse_enum(const setting_t *s, const char *text, const char *where, int *out,
                           vd_error_t *err)
{
    char list[128] = "";
    for (int i = 0; s->names[i] != NULL; i++) {
        if (strcasecmp(text, s->names[i]) == 0) {
            *out = i;
            return VD_OK;
        }
        size_t used = strlen(list);
        snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", s->names[i]);
    }
    return bad(err, where, "expected one of %s, got '%s'", list, text);
}

/* "host:port" or "[v6]:port", port 0..65535 (0: any free port, for tests). */
static vd_err_t check_listen(const char *text, const char *where, vd_error_t *err)
{
    const char *colon = NULL;
    int host_ok = 0;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        host_ok = close != NULL && close > text + 1;
        colon = close != NULL && close[1] == ':' ? close + 1 : NULL;
    } else {
        colon = strrchr(text, ':');
        host_ok =
            colon != NULL && colon > text && memchr(text, ':', (size_t)(colon - text)) == NULL;
    }
    if (!host_ok || colon == NULL || !all_digits(colon + 1) || strlen(colon + 1) > 5 ||
        strtol(colon + 1, NULL, 10) > 65535 || strpbrk(text, " \t\r\n/") != NULL) {
        return bad(err, where, "expected host:port or [v6]:port, got '%s'", text);
    }
    return VD_OK;
}

static vd_err_t check_string(const setting_t *s, const char *text, const char *where,
                             vd_error_t *err)
{
    if (s->check == C_NONEMPTY && text[0] == '\0') {
        return bad(err, where, "must not be empty");
    }
    if (s->check == C_URL && text[0] != '\0' && strncmp(text, "https://", 8) != 0 &&
        strncmp(text, "http://", 7) != 0) {
        return bad(err, where, "expected an http:// or https:// URL, got '%s'", text);
    }
    unsigned char addr[16];
    if (s->check == C_IP && text[0] != '\0' && inet_pton(AF_INET, text, addr) != 1 &&
        inet_pton(AF_INET6, text, addr) != 1) {
        return bad(err, where, "expected an IPv4 or IPv6 address, got '%s'", text);
    }
    if (strlen(text) > 4096) {
        return bad(err, where, "longer than 4096 characters");
    }
    return VD_OK;
}

static vd_err_t add_hash(vd_config_t *c, vd_auth_level_t level, const uint8_t h[32],
                         const char *where, vd_error_t *err)
{
    size_t *n = level == VD_AUTH_ADMIN ? &c->n_admin_tokens : &c->n_reader_tokens;
    uint8_t(*list)[32] = level == VD_AUTH_ADMIN ? c->admin_token_sha256 : c->reader_token_sha256;
    if (*n >= VD_CONFIG_MAX_TOKENS) {
        return bad(err, where, "more than %d tokens", VD_CONFIG_MAX_TOKENS);
    }
    memcpy(list[*n], h, 32);
    (*n)++;
    return VD_OK;
}

static vd_err_t add_hash_hex(vd_config_t *c, vd_auth_level_t level, const char *text,
                             const char *where, vd_error_t *err)
{
    uint8_t h[32];
    size_t n = 0;
    if (strlen(text) != 64 || strspn(text, "0123456789abcdefABCDEF") != 64 ||
        vd_hex_decode(text, 64, h, sizeof(h), &n) != 0 || n != 32) {
        return bad(err, where,
                   "expected 64 hex digits, the SHA-256 of a token (printf %%s TOKEN | "
                   "sha256sum), got '%s'",
                   text);
    }
    return add_hash(c, level, h, where, err);
}

/* RFC 6750 section 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static int b64token_ok(const char *t)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789-._~+/";
    size_t n = strspn(t, alphabet);
    if (n == 0) {
        return 0;
    }
    return strspn(t + n, "=") == strlen(t + n);
}

static vd_err_t add_token(vd_config_t *c, vd_auth_level_t level, const char *token,
                          const char *where, vd_error_t *err)
{
    uint8_t h[32];
    if (level != VD_AUTH_ADMIN && level != VD_AUTH_READER) {
        return VD_ERR(err, VD_E_USAGE, "a token is either an admin or a reader token");
    }
    /* Never echo the token itself. */
    if (token == NULL || !b64token_ok(token) || strlen(token) > 4096) {
        return bad(err, where,
                   "not a valid bearer token (letters, digits and -._~+/ then optional '=', "
                   "at most 4096)");
    }
    SHA256((const unsigned char *)token, strlen(token), h);
    vd_err_t rc = add_hash(c, level, h, where, err);
    OPENSSL_cleanse(h, sizeof(h));
    return rc;
}

vd_err_t vd_config_add_token(vd_config_t *c, vd_auth_level_t level, const char *token,
                             vd_error_t *err)
{
    return add_token(c, level, token, level == VD_AUTH_ADMIN ? "admin token" : "reader token", err);
}

/*
 * Set `s` from one text value. `strict`: the value comes from a file (booleans only true/false).
 * Lists (listen) are replaced by the comma-separated items when `append` is 0, else extended.
 */
static vd_err_t set_text(vd_config_t *c, const setting_t *s, const char *text, int strict,
                         int append, const char *where, vd_error_t *err)
{
    vd_err_t rc = VD_OK;
    switch (s->type) {
    case T_STR:
        if ((rc = check_string(s, text, where, err)) != VD_OK) {
            return rc;
        }
        return set_string(field(c, s), text, err);
    case T_BOOL:
        return parse_bool(text, strict, where, field(c, s), err);
    case T_INT:
    case T_SIZE:
        return parse_int(s, text, where, field(c, s), err);
    case T_ENUM: {
        int v = 0;
        if ((rc = parse_enum(s, text, where, &v, err)) == VD_OK) {
            memcpy(field(c, s), &v, sizeof(v));
        }
        return rc;
    }
    case T_LISTEN: {
        char *items[VD_CONFIG_MAX_LISTEN] = {0};
        size_t n = 0;
        const char *p = text;
        for (;;) {
            const char *comma = strchr(p, ',');
            size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
            while (len > 0 && (*p == ' ' || *p == '\t')) {
                p++;
                len--;
            }
            while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t')) {
                len--;
            }
            if (n + (append ? c->n_listen : 0) >= VD_CONFIG_MAX_LISTEN) {
                rc = bad(err, where, "more than %d listen addresses", VD_CONFIG_MAX_LISTEN);
                break;
            }
            if ((items[n] = strndup(p, len)) == NULL) {
                rc = VD_ERR(err, VD_E_NOMEM, "out of memory for the configuration");
                break;
            }
            if ((rc = check_listen(items[n++], where, err)) != VD_OK) {
                break;
            }
            if (comma == NULL) {
                break;
            }
            p = comma + 1;
        }
        if (rc != VD_OK) {
            for (size_t i = 0; i < n; i++) {
                free(items[i]);
            }
            return rc;
        }
        if (!append) {
            for (size_t i = 0; i < c->n_listen; i++) {
                free(c->listen[i]);
                c->listen[i] = NULL;
            }
            c->n_listen = 0;
        }
        for (size_t i = 0; i < n; i++) {
            c->listen[c->n_listen++] = items[i];
        }
        return VD_OK;
    }
    case T_TOKENS:
        return add_hash_hex(c, (vd_auth_level_t)s->min, text, where, err);
    }
    return VD_ERR(err, VD_E_INTERNAL, "%s: unknown setting type", s->key);
}

/* ---- defaults, free ------------------------------------------------------------------------ */

void vd_config_free(vd_config_t **pp)
{
    if (pp == NULL || *pp == NULL) {
        return;
    }
    vd_config_t *c = *pp;
    for (size_t i = 0; i < N_SETTINGS; i++) {
        if (settings[i].type == T_STR) {
            free(*(char **)field(c, &settings[i]));
        }
    }
    for (size_t i = 0; i < c->n_listen; i++) {
        free(c->listen[i]);
    }
    free(c->source);
    OPENSSL_cleanse(c, sizeof(*c)); /* token digests */
    free(c);
    *pp = NULL;
}

vd_err_t vd_config_defaults(vd_config_t **out, vd_error_t *err)
{
    vd_err_t rc = VD_OK;
    vd_config_t *c = calloc(1, sizeof(*c));
    *out = NULL;
    if (c == NULL || (c->source = strdup("")) == NULL) {
        free(c);
        VD_ERR(err, VD_E_NOMEM, "out of memory for the configuration");
        return VD_E_NOMEM; /* spelled out: *out stays NULL only on failure */
    }
    for (size_t i = 0; i < N_SETTINGS && rc == VD_OK; i++) {
        const setting_t *s = &settings[i];
        if (s->type == T_TOKENS) {
            continue;
        }
        if (s->type == T_LISTEN) {
            rc = set_text(c, s, VD_CONFIG_DEFAULT_LISTEN, 1, 0, s->key, err);
        } else {
            rc = set_text(c, s, s->def, 1, 0, s->key, err);
        }
    }
    if (rc != VD_OK) {
        vd_config_free(&c);
        VD_ERR(err, VD_E_INTERNAL, "embedded configuration defaults do not parse");
        return VD_E_INTERNAL;
    }
    *out = c;
    return VD_OK;
}

/* ---- YAML ---------------------------------------------------------------------------------- */

typedef struct yctx {
    vd_config_t *c;
    const char *file;
    vd_error_t *err;
} yctx_t;

static void where_at(char *out, size_t n, const yctx_t *y, const vd_ynode_t *node, const char *key)
{
    snprintf(out, n, "%s:%u:%u: %s", y->file, node->line, node->column, key);
}

static int is_null(const vd_ynode_t *n)
{
    return n->kind == VD_YNODE_SCALAR && !n->quoted &&
           (n->scalar[0] == '\0' || strcmp(n->scalar, "~") == 0 || strcmp(n->scalar, "null") == 0 ||
            strcmp(n->scalar, "Null") == 0 || strcmp(n->scalar, "NULL") == 0);
}

static const char *kind_shown(const vd_ynode_t *n)
{
    if (n->kind != VD_YNODE_SCALAR) {
        return vd_ynode_kind_name(n->kind);
    }
    return is_null(n) ? "null" : n->quoted ? "quoted string" : "scalar";
}

static vd_err_t apply_node(yctx_t *y, const setting_t *s, const vd_ynode_t *v)
{
    char where[600];
    where_at(where, sizeof(where), y, v, s->key);
    switch (s->type) {
    case T_STR:
        if (v->kind != VD_YNODE_SCALAR) {
            return bad(y->err, where, "expected a string, got a %s", kind_shown(v));
        }
        return set_text(y->c, s, is_null(v) ? "" : v->scalar, 1, 0, where, y->err);
    case T_BOOL:
    case T_INT:
    case T_SIZE:
        if (v->kind != VD_YNODE_SCALAR || v->quoted || is_null(v)) {
            return bad(y->err, where, "expected %s, got a %s",
                       s->type == T_BOOL ? "true or false" : "an unquoted number", kind_shown(v));
        }
        return set_text(y->c, s, v->scalar, 1, 0, where, y->err);
    case T_ENUM:
        if (v->kind != VD_YNODE_SCALAR || is_null(v)) {
            return bad(y->err, where, "expected a string, got a %s", kind_shown(v));
        }
        return set_text(y->c, s, v->scalar, 1, 0, where, y->err);
    case T_LISTEN:
    case T_TOKENS:
        break;
    }
    /* Lists: one scalar, or a sequence of scalars; either replaces the list. */
    if (v->kind != VD_YNODE_SEQUENCE && (v->kind != VD_YNODE_SCALAR || is_null(v))) {
        return bad(y->err, where, "expected a list, got a %s", kind_shown(v));
    }
    if (s->type == T_LISTEN && v->kind == VD_YNODE_SEQUENCE && v->count == 0) {
        return bad(y->err, where, "at least one address");
    }
    if (s->type == T_LISTEN) {
        for (size_t i = 0; i < y->c->n_listen; i++) {
            free(y->c->listen[i]);
            y->c->listen[i] = NULL;
        }
        y->c->n_listen = 0;
    } else if (s->min == VD_AUTH_ADMIN) {
        y->c->n_admin_tokens = 0;
    } else {
        y->c->n_reader_tokens = 0;
    }
    if (v->kind == VD_YNODE_SCALAR) {
        if (s->type == T_LISTEN && strchr(v->scalar, ',') != NULL) {
            return bad(y->err, where, "one address per item: use a list [a, b]");
        }
        return set_text(y->c, s, v->scalar, 1, 1, where, y->err);
    }
    for (size_t i = 0; i < v->count; i++) {
        const vd_ynode_t *item = v->items[i];
        char iwhere[640];
        snprintf(iwhere, sizeof(iwhere), "%s:%u:%u: %s[%zu]", y->file, item->line, item->column,
                 s->key, i);
        if (item->kind != VD_YNODE_SCALAR || is_null(item)) {
            return bad(y->err, iwhere, "expected a string, got a %s", kind_shown(item));
        }
        if (s->type == T_LISTEN && strchr(item->scalar, ',') != NULL) {
            return bad(y->err, iwhere, "expected host:port or [v6]:port, got '%s'", item->scalar);
        }
        vd_err_t rc = set_text(y->c, s, item->scalar, 1, 1, iwhere, y->err);
        if (rc != VD_OK) {
            return rc;
        }
    }
    return VD_OK;
}

/* Keys of `map` unique plain scalars; returns the first problem. */
static vd_err_t check_map_keys(yctx_t *y, const vd_ynode_t *map, const char *path)
{
    for (size_t i = 0; i + 1 < map->count; i += 2) {
        const vd_ynode_t *k = map->items[i];
        char where[600];
        if (k->kind != VD_YNODE_SCALAR) {
            where_at(where, sizeof(where), y, k, path);
            return bad(y->err, where, "keys must be plain strings");
        }
        for (size_t j = 0; j < i; j += 2) {
            if (strcmp(map->items[j]->scalar, k->scalar) == 0) {
                where_at(where, sizeof(where), y, k, path);
                return bad(y->err, where, "key '%s' appears twice", k->scalar);
            }
        }
    }
    return VD_OK;
}

/* The keys allowed under `section` ("" = top level: leaf keys and section names). */
static void allowed_keys(const char *section, char *out, size_t n)
{
    size_t sl = strlen(section);
    out[0] = '\0';
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const char *k = settings[i].key, *dot = strchr(k, '.');
        char name[64];
        if (sl == 0) {
            size_t len = dot != NULL ? (size_t)(dot - k) : strlen(k);
            snprintf(name, sizeof(name), "%.*s", (int)len, k);
        } else if (strncmp(k, section, sl) == 0 && k[sl] == '.') {
            snprintf(name, sizeof(name), "%s", k + sl + 1);
        } else {
            continue;
        }
        /* Skip names already listed (sections have several keys). */
        char probe[70];
        snprintf(probe, sizeof(probe), ", %s,", name);
        char listed[1100];
        snprintf(listed, sizeof(listed), ", %s,", out);
        if (strstr(listed, probe) != NULL) {
            continue;
        }
        size_t used = strlen(out);
        snprintf(out + used, n - used, "%s%s", used ? ", " : "", name);
    }
}

static int is_section(const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < N_SETTINGS; i++) {
        if (strncmp(settings[i].key, name, n) == 0 && settings[i].key[n] == '.') {
            return 1;
        }
    }
    return 0;
}

static vd_err_t unknown_key(yctx_t *y, const vd_ynode_t *k, const char *section)
{
    char where[600], list[1024];
    allowed_keys(section, list, sizeof(list));
    where_at(where, sizeof(where), y, k, section[0] ? section : "configuration");
    return bad(y->err, where, "unknown key '%s' (expected one of: %s)", k->scalar, list);
}

vd_err_t vd_config_apply_yaml(vd_config_t *c, const char *text, size_t len, const char *filename,
                              vd_error_t *err)
{
    vd_ydoc_t doc;
    yctx_t y = {.c = c, .file = filename, .err = err};
    vd_err_t rc = vd_ydoc_parse(text, len, filename, "configuration files", &doc, err);
    if (rc != VD_OK) {
        return rc;
    }
    const vd_ynode_t *root = doc.root;
    if (root == NULL || is_null(root)) {
        goto out; /* an empty file: every default stands */
    }
    if (root->kind != VD_YNODE_MAPPING) {
        char where[600];
        where_at(where, sizeof(where), &y, root, "configuration");
        rc = bad(err, where, "expected a mapping of settings, got a %s", kind_shown(root));
        goto out;
    }
    if ((rc = check_map_keys(&y, root, "configuration")) != VD_OK) {
        goto out;
    }
    for (size_t i = 0; i + 1 < root->count && rc == VD_OK; i += 2) {
        const vd_ynode_t *k = root->items[i], *v = root->items[i + 1];
        const setting_t *s = find_setting(k->scalar);
        if (s != NULL && strchr(k->scalar, '.') == NULL) {
            rc = apply_node(&y, s, v);
            continue;
        }
        if (strchr(k->scalar, '.') != NULL || !is_section(k->scalar)) {
            rc = unknown_key(&y, k, "");
            continue;
        }
        if (is_null(v)) {
            continue; /* "tls:" with nothing under it */
        }
        if (v->kind != VD_YNODE_MAPPING) {
            char where[600];
            where_at(where, sizeof(where), &y, v, k->scalar);
            rc = bad(err, where, "expected a mapping, got a %s", kind_shown(v));
            continue;
        }
        if ((rc = check_map_keys(&y, v, k->scalar)) != VD_OK) {
            continue;
        }
        for (size_t j = 0; j + 1 < v->count && rc == VD_OK; j += 2) {
            const vd_ynode_t *k2 = v->items[j], *v2 = v->items[j + 1];
            char key[160];
            snprintf(key, sizeof(key), "%s.%s", k->scalar, k2->scalar);
            const setting_t *s2 = strchr(k2->scalar, '.') == NULL ? find_setting(key) : NULL;
            rc = s2 != NULL ? apply_node(&y, s2, v2) : unknown_key(&y, k2, k->scalar);
        }
    }
out:
    vd_ydoc_free(&doc);
    return rc;
}

/* ---- environment and flags ----------------------------------------------------------------- */

vd_err_t vd_config_apply_env(vd_config_t *c, vd_error_t *err)
{
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const setting_t *s = &settings[i];
        const char *v = s->env != NULL ? getenv(s->env) : NULL;
        if (v == NULL || v[0] == '\0') {
            continue; /* empty = not set */
        }
        vd_err_t rc = s->type == T_TOKENS ? add_token(c, (vd_auth_level_t)s->min, v, s->env, err)
                                          : set_text(c, s, v, 0, 0, s->env, err);
        if (rc != VD_OK) {
            return rc;
        }
    }
    return VD_OK;
}

vd_err_t vd_config_set(vd_config_t *c, const char *key, const char *value, vd_error_t *err)
{
    const setting_t *s = key != NULL ? find_setting(key) : NULL;
    if (s == NULL) {
        return VD_ERR(err, VD_E_USAGE, "unknown configuration key '%s'", key ? key : "(null)");
    }
    if (s->type == T_TOKENS) {
        return VD_ERR(err, VD_E_USAGE, "%s: token hashes come from the file or %s", key, s->env);
    }
    if (value == NULL) {
        return VD_ERR(err, VD_E_USAGE, "%s: no value", key);
    }
    return set_text(c, s, value, 0, 0, key, err);
}

/* ---- whole-configuration rules, loading ---------------------------------------------------- */

vd_err_t vd_config_check(const vd_config_t *c, vd_error_t *err)
{
    if ((c->tls_cert[0] == '\0') != (c->tls_key[0] == '\0')) {
        return VD_ERR(err, VD_E_CONFIG, "tls.cert and tls.key go together: %s is set, %s is not",
                      c->tls_cert[0] ? "tls.cert" : "tls.key",
                      c->tls_cert[0] ? "tls.key" : "tls.cert");
    }
    if (c->n_listen == 0) {
        return VD_ERR(err, VD_E_CONFIG, "listen: at least one address");
    }
    return VD_OK;
}

static vd_err_t apply_file(vd_config_t *c, const char *path, vd_error_t *err)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0;
    vd_err_t rc = VD_OK;
    if (f == NULL) {
        return VD_ERR(err, VD_E_IO, "cannot read configuration %s: %s", path, vd_strerror(errno));
    }
    if ((buf = malloc(CONFIG_FILE_MAX + 1)) == NULL) {
        rc = VD_ERR(err, VD_E_NOMEM, "out of memory reading %s", path);
        goto out;
    }
    len = fread(buf, 1, CONFIG_FILE_MAX + 1, f);
    if (ferror(f)) {
        rc = VD_ERR(err, VD_E_IO, "cannot read configuration %s: %s", path, vd_strerror(errno));
        goto out;
    }
    if ((rc = vd_config_apply_yaml(c, buf, len, path, err)) == VD_OK) {
        rc = set_string(&c->source, path, err);
    }
out:
    free(buf);
    fclose(f);
    return rc;
}

vd_err_t vd_config_load(const char *path, vd_config_t **out, vd_error_t *err)
{
    vd_config_t *c = NULL;
    vd_err_t rc = vd_config_defaults(&c, err);
    *out = NULL;
    if (rc != VD_OK) {
        return rc;
    }
    if (path == NULL || path[0] == '\0') {
        path = getenv("VERDICT_CONFIG");
    }
    if (path != NULL && path[0] != '\0' && (rc = apply_file(c, path, err)) != VD_OK) {
        goto fail;
    }
    if ((rc = vd_config_apply_env(c, err)) != VD_OK || (rc = vd_config_check(c, err)) != VD_OK) {
        goto fail;
    }
    *out = c;
    return VD_OK;
fail:
    vd_config_free(&c);
    return rc;
}

vd_err_t vd_config_check_file(const char *path, vd_error_t *err)
{
    vd_config_t *c = NULL;
    vd_err_t rc = vd_config_defaults(&c, err);
    if (rc == VD_OK && (rc = apply_file(c, path, err)) == VD_OK) {
        rc = vd_config_check(c, err);
    }
    vd_config_free(&c);
    return rc;
}

/* ---- bearer tokens ------------------------------------------------------------------------- */

vd_auth_level_t vd_config_auth(const vd_config_t *c, const char *token, size_t len)
{
    uint8_t h[32];
    int admin = 0, reader = 0;
    if (c == NULL || token == NULL || len == 0) {
        return VD_AUTH_NONE;
    }
    SHA256((const unsigned char *)token, len, h);
    /* Every hash is compared, whatever matched, so the time does not say which one did. */
    for (size_t i = 0; i < c->n_admin_tokens; i++) {
        admin |= CRYPTO_memcmp(h, c->admin_token_sha256[i], sizeof(h)) == 0;
    }
    for (size_t i = 0; i < c->n_reader_tokens; i++) {
        reader |= CRYPTO_memcmp(h, c->reader_token_sha256[i], sizeof(h)) == 0;
    }
    OPENSSL_cleanse(h, sizeof(h));
    return admin ? VD_AUTH_ADMIN : reader ? VD_AUTH_READER : VD_AUTH_NONE;
}

vd_auth_level_t vd_config_auth_header(const vd_config_t *c, const char *authorization)
{
    const char *p = authorization;
    if (p == NULL || strncasecmp(p, "Bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t')) {
        return VD_AUTH_NONE;
    }
    p += 6;
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    size_t len = strlen(p);
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t')) {
        len--;
    }
    return vd_config_auth(c, p, len);
}

/* ---- derived settings ---------------------------------------------------------------------- */

const char *vd_config_issuer(const vd_config_t *c, const char *bound_addr, char *out, size_t size)
{
    if (size == 0) {
        return out;
    }
    if (c->issuer[0] != '\0') {
        snprintf(out, size, "%s", c->issuer);
    } else {
        snprintf(out, size, "%s://%s", c->tls_cert[0] ? "https" : "http",
                 bound_addr != NULL ? bound_addr : c->listen[0]);
    }
    return out;
}

static const char *or_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

void vd_config_server(const vd_config_t *c, vd_server_config_t *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < c->n_listen && i < VD_SERVER_MAX_LISTEN; i++) {
        out->listen[out->n_listen++] = c->listen[i];
    }
    out->tls_cert = or_null(c->tls_cert);
    out->tls_key = or_null(c->tls_key);
    out->workers = (unsigned)c->workers;
    out->queue_max = (unsigned)c->queue;
    out->body_max = (size_t)c->body_max;
    out->header_max = (size_t)c->header_max;
    out->max_streams = (unsigned)c->max_streams;
    out->max_connections = (unsigned)c->max_connections;
    out->request_timeout_ms = (long)c->request_timeout_ms;
    out->idle_timeout_ms = (long)c->idle_timeout_ms;
    out->shutdown_grace_ms = (long)c->shutdown_grace_ms;
    out->log_fd = c->log_access ? 1 : -1;
}

vd_err_t vd_config_open_log(const vd_config_t *c, int *fd, vd_error_t *err)
{
    *fd = -1;
    if (!c->log_access) {
        return VD_OK;
    }
    if (strcmp(c->log_file, "-") == 0) {
        *fd = 1;
        return VD_OK;
    }
    int f = open(c->log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (f < 0) {
        return VD_ERR(err, VD_E_IO, "log.file: cannot open %s: %s", c->log_file,
                      vd_strerror(errno));
    }
    *fd = f;
    return VD_OK;
}

void vd_config_certcache(const vd_config_t *c, const vd_trust_t *trust, vd_certcache_config_t *out)
{
    memset(out, 0, sizeof(*out));
    out->db_path = c->db;
    out->trust = trust;
    out->offline = c->offline;
    out->kds.base_url = c->kds_url;
    if (c->kds_timeout_ms > 0) {
        out->kds.connect_timeout_ms = (long)c->kds_timeout_ms;
        out->kds.total_timeout_ms = (long)c->kds_timeout_ms;
    }
    out->crl_mode = c->crl_mode;
    out->cold_burst = (unsigned)c->kds_client_burst;
    out->cold_interval_ms = c->kds_client_interval_ms > 0 ? (long)c->kds_client_interval_ms : -1;
    out->cold_max_concurrent = (unsigned)c->kds_max_cold;
}

void vd_config_audit(const vd_config_t *c, vd_audit_config_t *out)
{
    memset(out, 0, sizeof(*out));
    out->db_path = c->db;
    out->synchronous = c->audit_synchronous;
    out->queue_max = (size_t)c->audit_queue;
    out->commit_timeout_ms = (long)c->audit_commit_timeout_ms;
    out->max_age_s = c->audit_max_age_days * 86400;
    out->max_rows = c->audit_max_rows;
}

/* ---- formatting ---------------------------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf_t;

static void __attribute__((format(printf, 2, 3))) put(sbuf_t *b, const char *fmt, ...)
{
    va_list ap;
    for (int attempt = 0; attempt < 2 && !b->oom; attempt++) {
        va_start(ap, fmt);
        int n = vsnprintf(b->p != NULL ? b->p + b->len : NULL, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

/* A YAML double-quoted string. */
static void put_quoted(sbuf_t *b, const char *s)
{
    put(b, "\"");
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            put(b, "\\%c", ch);
        } else if (ch < 0x20 || ch == 0x7f) {
            put(b, "\\x%02x", ch);
        } else {
            put(b, "%c", ch);
        }
    }
    put(b, "\"");
}

static void put_value(sbuf_t *b, const vd_config_t *c, const setting_t *s)
{
    switch (s->type) {
    case T_STR:
        put_quoted(b, *(char *const *)cfield(c, s));
        break;
    case T_BOOL:
        put(b, "%s", *(const int *)cfield(c, s) ? "true" : "false");
        break;
    case T_INT:
    case T_SIZE: {
        int64_t v;
        memcpy(&v, cfield(c, s), sizeof(v));
        put(b, "%lld", (long long)v);
        break;
    }
    case T_ENUM: {
        int v;
        memcpy(&v, cfield(c, s), sizeof(v));
        put_quoted(b, s->names[v]);
        break;
    }
    case T_LISTEN:
        put(b, "[");
        for (size_t i = 0; i < c->n_listen; i++) {
            put(b, "%s", i ? ", " : "");
            put_quoted(b, c->listen[i]);
        }
        put(b, "]");
        break;
    case T_TOKENS:
        break;
    }
}

vd_err_t vd_config_format(const vd_config_t *c, char **out, vd_error_t *err)
{
    sbuf_t b = {0};
    char section[32] = "";
    *out = NULL;
    put(&b, "# verdict configuration%s%s\n", c->source[0] ? " from " : " (defaults)",
        c->source[0] ? c->source : "");
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const setting_t *s = &settings[i];
        const char *dot = strchr(s->key, '.');
        size_t sl = dot != NULL ? (size_t)(dot - s->key) : 0;
        if (dot != NULL && (strlen(section) != sl || strncmp(section, s->key, sl) != 0)) {
            snprintf(section, sizeof(section), "%.*s", (int)sl, s->key);
            put(&b, "%s:\n", section);
        }
        if (s->type == T_TOKENS) {
            size_t n = s->min == VD_AUTH_ADMIN ? c->n_admin_tokens : c->n_reader_tokens;
            put(&b, "  # %s: %zu configured (not shown)\n", dot + 1, n);
            continue;
        }
        put(&b, "%s%s: ", dot != NULL ? "  " : "", dot != NULL ? dot + 1 : s->key);
        put_value(&b, c, s);
        put(&b, "\n");
    }
    if (b.oom || b.p == NULL) {
        free(b.p);
        return VD_ERR(err, VD_E_NOMEM, "out of memory formatting the configuration");
    }
    *out = b.p;
    return VD_OK;
}
