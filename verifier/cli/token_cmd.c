/*
 * `verdict token ...`: what a relying party and an operator do with result tokens.
 *
 *   verify TOKEN [--jwks FILE|URL] [--nonce B64] [--at RFC3339] [--leeway S] [--json]
 *       TOKEN is the JWT itself, `-` (stdin) or `@FILE`. The JWKS (also VERDICT_JWKS) is a file
 *       holding {"keys": [...]} or one JWK (a path or file://), or a URL: https, or http to a
 *       loopback address only;
 *       a URL that answers with an OpenID configuration is followed once to its jwks_uri.
 *       Exit 0 only when the token is valid and every submodule is affirming; 1 when it is not
 *       (invalid, expired, wrong nonce, not affirming); 2 for usage or input errors.
 *   rotate [--signing-key FILE] [--alg ES256|ES384|EdDSA] [--ttl S]
 *       offline rotation of the key file; the old public key stays published (token jwks, and
 *       the server's JWKS after a restart or reload) until its tokens have expired.
 *   jwks [--signing-key FILE] [--ttl S]
 *       print the JWKS the key file and its retired list publish.
 *
 * All crypto is in the library (verifier/ear); this file reads arguments and files, fetches
 * URLs (libcurl, bounded), and prints.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "verdict/base64.h"
#include "verdict/ear.h"
#include "verdict/jwt.h"
#include "verdict/signkey.h"
#include "verdict/timefmt.h"
#include "cli.h"

#define JWKS_MAX        (1024 * 1024)
#define FETCH_TIMEOUT   10000L /* ms, whole transfer */
#define CONNECT_TIMEOUT 5000L
#define NONCE_MAX       1024

static void usage(FILE *f)
{
    fprintf(f,
            "usage: verdict token verify TOKEN [--jwks FILE|URL] [--nonce B64] [--at RFC3339]\n"
            "                            [--leeway SECONDS] [--json]\n"
            "       verdict token rotate [--signing-key FILE] [--alg ES256|ES384|EdDSA]\n"
            "                            [--ttl SECONDS]\n"
            "       verdict token jwks [--signing-key FILE] [--ttl SECONDS]\n"
            "\n"
            "TOKEN is the JWT, '-' for stdin or @FILE. --jwks (or VERDICT_JWKS) is a JWKS or JWK\n"
            "file, or an https URL (http only to loopback) of a JWKS or OpenID configuration.\n"
            "--signing-key defaults to VERDICT_SIGNING_KEY, else " VD_SIGNKEY_DEFAULT_PATH ".\n"
            "\n"
            "exit codes: 0 valid and every submodule affirming, 1 invalid or not affirming,\n"
            "            2 usage or input error\n");
}

/* ---- fetching a JWKS over HTTP ---- */

typedef struct body {
    char *p;
    size_t len;
    int too_big;
} body_t;

static size_t on_data(char *data, size_t size, size_t n, void *ud)
{
    body_t *b = ud;
    size_t len = size * n;
    if (len > JWKS_MAX - b->len) {
        b->too_big = 1;
        return 0; /* aborts the transfer */
    }
    char *q = realloc(b->p, b->len + len + 1);
    if (q == NULL) {
        return 0;
    }
    memcpy(q + b->len, data, len);
    b->p = q;
    b->len += len;
    b->p[b->len] = '\0';
    return len;
}

/* https anywhere; http only to a loopback host (a JWKS fetched in clear text from elsewhere
 * could be replaced on the way, and with it every key the token is checked against). */
static int url_allowed(const char *url, int *loopback, char *why, size_t why_size)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    int ok = 0;
    *loopback = 0;
    if (u == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        snprintf(why, why_size, "%s: not a URL", url);
        goto out;
    }
    *loopback = strcmp(host, "127.0.0.1") == 0 || strcmp(host, "[::1]") == 0 ||
                strcmp(host, "localhost") == 0;
    if (strcmp(scheme, "https") == 0 || (strcmp(scheme, "http") == 0 && *loopback)) {
        ok = 1;
    } else {
        snprintf(why, why_size, "%s: only https URLs, or http to 127.0.0.1, [::1] or localhost",
                 url);
    }
out:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

static json_t *fetch_json(const char *url, char *why, size_t why_size)
{
    body_t b = {0};
    long status = 0;
    int loopback = 0;
    json_t *j = NULL;
    json_error_t je;
    CURLcode cc;
    CURL *h = NULL;
    if (!url_allowed(url, &loopback, why, why_size)) {
        return NULL;
    }
    h = curl_easy_init();
    if (h == NULL) {
        snprintf(why, why_size, "%s: cannot start libcurl", url);
        return NULL;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, FETCH_TIMEOUT);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)JWKS_MAX);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "verdict/" VD_VERSION);
    if (loopback) {
        curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    }
    cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (cc != CURLE_OK) {
        snprintf(why, why_size, "%s: %s", url,
                 b.too_big ? "answer larger than 1 MiB" : curl_easy_strerror(cc));
    } else if (status != 200) {
        snprintf(why, why_size, "%s: HTTP status %ld", url, status);
    } else if ((j = json_loadb(b.p != NULL ? b.p : "", b.len, JSON_REJECT_DUPLICATES, &je)) ==
               NULL) {
        snprintf(why, why_size, "%s: not JSON (%s)", url, je.text);
    }
    curl_easy_cleanup(h);
    free(b.p);
    return j;
}

/* A JWKS from a file or a URL; a lone JWK becomes a one-key set. */
static json_t *load_jwks(const char *where, char *why, size_t why_size)
{
    json_t *j = NULL;
    if (strncmp(where, "https://", 8) == 0 || strncmp(where, "http://", 7) == 0) {
        j = fetch_json(where, why, why_size);
        const char *next = json_string_value(json_object_get(j, "jwks_uri"));
        if (j != NULL && json_object_get(j, "keys") == NULL && next != NULL) {
            /* An OpenID configuration: follow its jwks_uri, once. */
            char *copy = strdup(next);
            json_decref(j);
            j = copy != NULL ? fetch_json(copy, why, why_size) : NULL;
            free(copy);
        }
    } else {
        vd_error_t err = {0};
        uint8_t *buf = NULL;
        size_t len = 0;
        json_error_t je;
        if (strncmp(where, "file://", 7) == 0) {
            where += 7; /* as Trustee's KBS accepts it */
        }
        if (vd_file_read(where, JWKS_MAX, &buf, &len, &err) != VD_OK) {
            snprintf(why, why_size, "%s", err.msg);
            return NULL;
        }
        j = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je);
        free(buf);
        if (j == NULL) {
            snprintf(why, why_size, "%s: not JSON (line %d: %s)", where, je.line, je.text);
        }
    }
    if (j != NULL && json_object_get(j, "keys") == NULL && json_object_get(j, "kty") != NULL) {
        json_t *set = json_pack("{s[o]}", "keys", j);
        j = set;
    }
    if (j != NULL && !json_is_array(json_object_get(j, "keys"))) {
        snprintf(why, why_size, "%s: not a JWKS ({\"keys\": [...]}) nor a JWK", where);
        json_decref(j);
        j = NULL;
    }
    return j;
}

/* The token text: literal, '-' for stdin, '@FILE'; surrounding white space removed. */
static char *read_token(const char *arg, char *why, size_t why_size)
{
    char *t = NULL;
    size_t len = 0;
    if (strcmp(arg, "-") == 0 || arg[0] == '@') {
        uint8_t *buf = NULL;
        vd_error_t err = {0};
        if (strcmp(arg, "-") == 0) {
            buf = malloc(VD_JWT_MAX + 2);
            len = buf != NULL ? fread(buf, 1, VD_JWT_MAX + 1, stdin) : 0;
            if (buf == NULL || len > VD_JWT_MAX) {
                snprintf(why, why_size, "stdin: token larger than %d bytes", VD_JWT_MAX);
                free(buf);
                return NULL;
            }
        } else if (vd_file_read(arg + 1, VD_JWT_MAX, &buf, &len, &err) != VD_OK) {
            snprintf(why, why_size, "%s", err.msg);
            return NULL;
        }
        t = (char *)buf;
    } else {
        len = strlen(arg);
        t = malloc(len + 1);
        if (t != NULL) {
            memcpy(t, arg, len);
        }
    }
    if (t == NULL) {
        snprintf(why, why_size, "out of memory");
        return NULL;
    }
    t[len] = '\0';
    while (len > 0 &&
           (t[len - 1] == '\n' || t[len - 1] == '\r' || t[len - 1] == ' ' || t[len - 1] == '\t')) {
        t[--len] = '\0';
    }
    size_t skip = strspn(t, " \t\r\n");
    memmove(t, t + skip, len - skip + 1);
    return t;
}

static const char *nonce_word(const vd_jwt_result_t *r)
{
    if (!r->nonce_checked) {
        return "not checked";
    }
    return r->nonce_ok ? "ok" : "FAILED";
}

static void print_text(const vd_jwt_result_t *r)
{
    char t[32];
    printf("signature: %s (alg %s, kid %s)\n", r->signature_ok ? "ok" : "FAILED",
           r->alg[0] ? r->alg : "-", r->kid[0] ? r->kid : "-");
    if (r->signature_ok) {
        printf("expiry:    %s (exp %s)\n", r->time_ok ? "ok" : "FAILED",
               vd_time_format_rfc3339((time_t)r->exp, t, sizeof t));
    }
    printf("nonce:     %s\n", nonce_word(r));
    for (size_t i = 0; i < r->n_submods; i++) {
        const vd_jwt_submod_t *m = &r->submods[i];
        printf("submod %s: %s%s%s\n", m->label, m->status_ok ? vd_tier_name(m->status) : "invalid",
               m->problem[0] ? ": " : "", m->problem);
    }
    if (r->status != VD_JWT_OK) {
        printf("token: invalid (%s): %s\n", vd_jwt_status_str(r->status), r->detail);
    } else {
        printf("token: %s\n", r->affirming ? "affirming" : "not affirming");
    }
}

static int print_json(const vd_jwt_result_t *r)
{
    json_t *subs = json_object();
    json_t *o =
        json_pack("{sb ss ss sb sb sb ss ss sI sI s{sb sb}}", "valid", r->status == VD_JWT_OK,
                  "result", vd_jwt_status_str(r->status), "detail", r->detail, "affirming",
                  r->affirming, "signature", r->signature_ok, "time", r->time_ok, "alg", r->alg,
                  "kid", r->kid, "iat", (json_int_t)r->iat, "exp", (json_int_t)r->exp, "nonce",
                  "checked", r->nonce_checked, "ok", r->nonce_ok);
    int rc = -1;
    if (o == NULL || subs == NULL) {
        goto out;
    }
    for (size_t i = 0; i < r->n_submods; i++) {
        const vd_jwt_submod_t *m = &r->submods[i];
        if (json_object_set_new(subs, m->label,
                                json_pack("{sb ss ss}", "valid", m->status_ok, "status",
                                          m->status_ok ? vd_tier_name(m->status) : "invalid",
                                          "problem", m->problem)) != 0) {
            goto out;
        }
    }
    if (json_object_set(o, "submods", subs) != 0 ||
        (r->payload != NULL && json_object_set(o, "claims", r->payload) != 0)) {
        goto out;
    }
    rc = json_dumpf(o, stdout, JSON_INDENT(2)) == 0 ? 0 : -1;
    putchar('\n');
out:
    json_decref(subs);
    json_decref(o);
    return rc;
}

static int cmd_verify(int argc, char **argv)
{
    enum { OPT_JWKS = 1, OPT_NONCE, OPT_JSON, OPT_AT, OPT_LEEWAY, OPT_HELP };
    static const struct option longopts[] = {
        {"jwks", required_argument, NULL, OPT_JWKS},
        {"nonce", required_argument, NULL, OPT_NONCE},
        {"json", no_argument, NULL, OPT_JSON},
        {"at", required_argument, NULL, OPT_AT},
        {"leeway", required_argument, NULL, OPT_LEEWAY},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    const char *jwks_arg = getenv("VERDICT_JWKS"), *nonce_arg = NULL, *at = NULL;
    int json = 0, ch, rc = VD_EXIT_USAGE;
    long leeway = -1;
    char why[600], *end = NULL, *token = NULL;
    uint8_t nonce[NONCE_MAX + 8];
    size_t nonce_len = 0;
    json_t *jwks = NULL;
    vd_jwt_result_t res;
    vd_error_t err = {0};
    time_t now = time(NULL);
    memset(&res, 0, sizeof res);
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_JWKS:
            jwks_arg = optarg;
            break;
        case OPT_NONCE:
            nonce_arg = optarg;
            break;
        case OPT_JSON:
            json = 1;
            break;
        case OPT_AT:
            at = optarg;
            break;
        case OPT_LEEWAY:
            errno = 0;
            leeway = strtol(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || leeway < 0 || leeway > 86400) {
                fprintf(stderr, "verdict token verify: --leeway takes 0..86400 seconds\n");
                return VD_EXIT_USAGE;
            }
            break;
        case OPT_HELP:
            usage(stdout);
            return VD_EXIT_OK;
        default:
            fprintf(stderr, "verdict token verify: unknown or incomplete option '%s'\n",
                    argv[optind - 1]);
            usage(stderr);
            return VD_EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "verdict token verify: exactly one TOKEN expected\n");
        usage(stderr);
        return VD_EXIT_USAGE;
    }
    if (jwks_arg == NULL || jwks_arg[0] == '\0') {
        fprintf(stderr, "verdict token verify: --jwks FILE|URL (or VERDICT_JWKS) is required\n");
        return VD_EXIT_USAGE;
    }
    if (at != NULL && vd_time_parse_rfc3339(at, &now) != 0) {
        fprintf(stderr, "verdict token verify: --at '%s' is not an RFC 3339 time\n", at);
        return VD_EXIT_USAGE;
    }
    if (nonce_arg != NULL &&
        (strlen(nonce_arg) > NONCE_MAX * 4 / 3 + 4 ||
         vd_base64_decode(nonce_arg, strlen(nonce_arg), nonce, &nonce_len) != 0 || nonce_len == 0 ||
         nonce_len > NONCE_MAX)) {
        fprintf(stderr, "verdict token verify: --nonce is not base64 of 1..%d bytes\n", NONCE_MAX);
        return VD_EXIT_USAGE;
    }
    token = read_token(argv[optind], why, sizeof why);
    if (token == NULL) {
        fprintf(stderr, "verdict token verify: %s\n", why);
        return VD_EXIT_USAGE;
    }
    jwks = load_jwks(jwks_arg, why, sizeof why);
    if (jwks == NULL) {
        fprintf(stderr, "verdict token verify: JWKS: %s\n", why);
        goto out;
    }
    vd_jwt_opts_t opts = {.now = (int64_t)now,
                          .leeway = leeway,
                          .nonce = nonce_arg != NULL ? nonce : NULL,
                          .nonce_len = nonce_len};
    if (vd_jwt_verify(token, strlen(token), jwks, &opts, &res, &err) != VD_OK) {
        fprintf(stderr, "verdict token verify: %s\n", err.msg);
        goto out;
    }
    if (json ? print_json(&res) != 0 : (print_text(&res), 0)) {
        fprintf(stderr, "verdict token verify: out of memory\n");
        goto out;
    }
    rc = res.status == VD_JWT_OK && res.affirming ? VD_EXIT_OK : VD_EXIT_REJECTED;
out:
    vd_jwt_result_clear(&res);
    json_decref(jwks);
    free(token);
    return rc;
}

static const char *key_path(const char *flag)
{
    const char *env = getenv("VERDICT_SIGNING_KEY");
    if (flag != NULL && flag[0] != '\0') {
        return flag;
    }
    return env != NULL && env[0] != '\0' ? env : VD_SIGNKEY_DEFAULT_PATH;
}

static int parse_ttl(const char *s, long *ttl, const char *cmd)
{
    char *end = NULL;
    errno = 0;
    *ttl = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || *ttl <= 0 || *ttl > 86400 * 30) {
        fprintf(stderr, "verdict token %s: --ttl takes 1..2592000 seconds\n", cmd);
        return -1;
    }
    return 0;
}

/* rotate and jwks share their options. */
static int cmd_keys(int argc, char **argv, int rotate)
{
    enum { OPT_KEY = 1, OPT_ALG, OPT_TTL, OPT_HELP };
    static const struct option longopts[] = {
        {"signing-key", required_argument, NULL, OPT_KEY},
        {"alg", required_argument, NULL, OPT_ALG},
        {"ttl", required_argument, NULL, OPT_TTL},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = rotate ? "rotate" : "jwks", *key_flag = NULL;
    long ttl = VD_EAR_DEFAULT_TTL;
    int ch, have_alg = 0;
    vd_sigalg_t alg = VD_SIGALG_DEFAULT;
    vd_error_t err = {0};
    struct stat st;
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_KEY:
            key_flag = optarg;
            break;
        case OPT_ALG:
            if (!rotate || vd_sigalg_from_name(optarg, &alg) != 0) {
                fprintf(stderr, "verdict token %s: --alg takes ES256, ES384 or EdDSA%s\n", cmd,
                        rotate ? "" : " (rotate only)");
                return VD_EXIT_USAGE;
            }
            have_alg = 1;
            break;
        case OPT_TTL:
            if (parse_ttl(optarg, &ttl, cmd) != 0) {
                return VD_EXIT_USAGE;
            }
            break;
        case OPT_HELP:
            usage(stdout);
            return VD_EXIT_OK;
        default:
            fprintf(stderr, "verdict token %s: unknown or incomplete option '%s'\n", cmd,
                    argv[optind - 1]);
            return VD_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "verdict token %s: unexpected argument '%s'\n", cmd, argv[optind]);
        return VD_EXIT_USAGE;
    }
    const char *path = key_path(key_flag);
    if (stat(path, &st) != 0) {
        fprintf(stderr, "verdict token %s: %s: %s (the server creates it on first start)\n", cmd,
                path, vd_strerror(errno));
        return VD_EXIT_USAGE;
    }
    time_t now = time(NULL);
    if (rotate) {
        vd_signkey_t *old = NULL, *fresh = NULL;
        if (vd_signkey_load(path, &old, &err) != VD_OK) {
            fprintf(stderr, "verdict token rotate: %s\n", err.msg);
            return VD_EXIT_USAGE;
        }
        if (!have_alg) {
            alg = vd_signkey_alg(old); /* keep the algorithm unless asked otherwise */
        }
        if (vd_signkey_rotate(path, alg, ttl, (int64_t)now, &fresh, &err) != VD_OK) {
            fprintf(stderr, "verdict token rotate: %s\n", err.msg);
            vd_signkey_free(&old);
            return VD_EXIT_USAGE;
        }
        printf("rotated %s: new key %s (%s); old key %s stays published for %ld s\n", path,
               vd_signkey_kid(fresh), vd_sigalg_name(alg), vd_signkey_kid(old),
               ttl + VD_KEYRING_GRACE_S);
        vd_signkey_free(&fresh);
        vd_signkey_free(&old);
        return VD_EXIT_OK;
    }
    vd_keyring_t *kr = NULL;
    if (vd_keyring_open(path, VD_SIGALG_DEFAULT, ttl, (int64_t)now, &kr, NULL, &err) != VD_OK) {
        fprintf(stderr, "verdict token jwks: %s\n", err.msg);
        return VD_EXIT_USAGE;
    }
    json_t *jwks = vd_keyring_jwks(kr, (int64_t)now);
    int rc =
        jwks != NULL && json_dumpf(jwks, stdout, JSON_INDENT(2)) == 0 ? VD_EXIT_OK : VD_EXIT_USAGE;
    putchar('\n');
    json_decref(jwks);
    vd_keyring_free(&kr);
    return rc;
}

int vd_cli_token(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return VD_EXIT_USAGE;
    }
    if (strcmp(argv[1], "verify") == 0) {
        return cmd_verify(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "rotate") == 0) {
        return cmd_keys(argc - 1, argv + 1, 1);
    }
    if (strcmp(argv[1], "jwks") == 0) {
        return cmd_keys(argc - 1, argv + 1, 0);
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return VD_EXIT_OK;
    }
    fprintf(stderr, "verdict token: unknown subcommand '%s'\n", argv[1]);
    usage(stderr);
    return VD_EXIT_USAGE;
}
