/*
 * `verdict serve`: the attestation service (issue #8; DESIGN.md "The contract"). This file only
 * assembles the service from its modules (configuration, trust, certificate cache, policies,
 * the appraisal pipeline, signing keys, challenges, audit log, metrics, the API and the
 * transport), says where it listens, and runs it until SIGTERM or SIGINT.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "verdict/api.h"
#include "verdict/appraise.h"
#include "verdict/audit.h"
#include "verdict/certcache.h"
#include "verdict/challenge.h"
#include "verdict/config.h"
#include "verdict/db.h"
#include "verdict/metrics.h"
#include "verdict/policyset.h"
#include "verdict/server.h"
#include "verdict/signkey.h"
#include "cli.h"

#define WHO "verdict serve"

static void serve_usage(FILE *f)
{
    fprintf(f, "usage: verdict serve [--config FILE] [--listen HOST:PORT]... [--db FILE]\n"
               "                     [--tls-cert FILE --tls-key FILE] [--signing-key FILE]\n"
               "                     [--nonce-secret FILE] [--extra-roots FILE] [--kds-url URL]\n"
               "                     [--offline] [--workers N] [--default-policy NAME]\n"
               "       verdict serve --check-config FILE\n"
               "\n"
               "Runs the attestation service: HTTP/2 (h2c with prior knowledge, or h2 over TLS)\n"
               "and HTTP/1.1 on the same ports. With nothing configured it listens on\n"
               "127.0.0.1:8080 and keeps its database, signing key and nonce secret in the\n"
               "working directory (created on first start). Flags override the environment\n"
               "(VERDICT_*), which overrides the file (docs/configuration.md).\n"
               "\n"
               "  --config FILE        YAML configuration (also VERDICT_CONFIG)\n"
               "  --check-config FILE  validate FILE and exit (0 valid, 2 not)\n"
               "  --listen HOST:PORT   listen address, repeatable ([::1]:8080 for IPv6; port 0\n"
               "                       picks a free port)\n"
               "  --db FILE            SQLite database: policies, certificates, audit log\n"
               "  --tls-cert FILE      PEM certificate chain: serve TLS (ALPN h2, http/1.1)\n"
               "  --tls-key FILE       its private key\n"
               "  --signing-key FILE   PEM key that signs results (generated 0600 if absent)\n"
               "  --nonce-secret FILE  challenge secret shared by replicas (generated if absent)\n"
               "  --extra-roots FILE   PEM roots trusted besides AMD's pinned ARKs (tests only)\n"
               "  --kds-url URL        KDS base URL (a mirror or a test server)\n"
               "  --offline            never contact KDS\n"
               "  --workers N          appraisal threads (default: four per core)\n"
               "  --default-policy N   policy applied when a request names none\n"
               "\n"
               "Admin endpoints need a bearer token: VERDICT_ADMIN_TOKEN or auth.admin_tokens.\n"
               "exit codes: 0 stopped cleanly, 2 configuration or start-up error\n");
}

/* Flags as (config key, value) pairs, applied over the file and the environment. */
typedef struct serve_opts {
    const char *config;
    const char *check;
    const char *keys[64];
    const char *values[64];
    size_t n;
    char listen[512];
} serve_opts_t;

static int add_setting(serve_opts_t *o, const char *key, const char *value)
{
    if (o->n >= sizeof(o->keys) / sizeof(o->keys[0])) {
        fprintf(stderr, WHO ": too many flags\n");
        return -1;
    }
    o->keys[o->n] = key;
    o->values[o->n] = value;
    o->n++;
    return 0;
}

static int parse_args(int argc, char **argv, serve_opts_t *o)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", required_argument, NULL, 'C'},
        {"listen", required_argument, NULL, 'l'},
        {"db", required_argument, NULL, 'd'},
        {"tls-cert", required_argument, NULL, 't'},
        {"tls-key", required_argument, NULL, 'k'},
        {"signing-key", required_argument, NULL, 's'},
        {"nonce-secret", required_argument, NULL, 'n'},
        {"extra-roots", required_argument, NULL, 'r'},
        {"kds-url", required_argument, NULL, 'u'},
        {"offline", no_argument, NULL, 'o'},
        {"workers", required_argument, NULL, 'w'},
        {"default-policy", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof(*o));
    opterr = 0;
    optind = 1;
    int ch, rc = 0;
    while (rc == 0 && (ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            o->config = optarg;
            break;
        case 'C':
            o->check = optarg;
            break;
        case 'l': {
            size_t used = strlen(o->listen);
            if (used + strlen(optarg) + 2 > sizeof(o->listen)) {
                fprintf(stderr, WHO ": too many --listen addresses\n");
                return -1;
            }
            snprintf(o->listen + used, sizeof(o->listen) - used, "%s%s", used ? "," : "", optarg);
            break;
        }
        case 'd':
            rc = add_setting(o, "db", optarg);
            break;
        case 't':
            rc = add_setting(o, "tls.cert", optarg);
            break;
        case 'k':
            rc = add_setting(o, "tls.key", optarg);
            break;
        case 's':
            rc = add_setting(o, "signing.key", optarg);
            break;
        case 'n':
            rc = add_setting(o, "challenge.secret", optarg);
            break;
        case 'r':
            rc = add_setting(o, "appraisal.extra_roots", optarg);
            break;
        case 'u':
            rc = add_setting(o, "kds.url", optarg);
            break;
        case 'o':
            rc = add_setting(o, "kds.offline", "true");
            break;
        case 'w':
            rc = add_setting(o, "server.workers", optarg);
            break;
        case 'p':
            rc = add_setting(o, "appraisal.default_policy", optarg);
            break;
        case 'h':
            return 1;
        default:
            fprintf(stderr, WHO ": unknown or incomplete option '%s' (see verdict serve --help)\n",
                    argv[optind - 1]);
            return -1;
        }
    }
    if (rc == 0 && optind < argc) {
        fprintf(stderr, WHO ": unexpected argument '%s' (see verdict serve --help)\n",
                argv[optind]);
        return -1;
    }
    if (rc == 0 && o->listen[0] != '\0') {
        rc = add_setting(o, "listen", o->listen);
    }
    return rc;
}

/* The service's parts, built in order and torn down in reverse. */
#define RELOADS_MAX 64 /* configurations kept alive for requests in flight (SIGHUP) */

typedef struct service {
    vd_config_t *cfg;
    const serve_opts_t *opts;
    vd_config_t *reloaded[RELOADS_MAX]; /* every configuration SIGHUP loaded, freed at exit */
    size_t n_reloaded;
    vd_trust_t *trust;
    vd_certcache_t *cache;
    vd_policyset_t *policies;
    vd_appraiser_t *appraiser;
    vd_keyring_t *keys;
    vd_challenger_t *challenges;
    vd_audit_t *audit;
    vd_metrics_t *metrics;
    vd_api_t *api;
    vd_server_t *server;
    /* the policy watcher: picks up changes made by other processes within a second */
    pthread_t watcher;
    int watcher_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stopping;
    int log_fd; /* the access log (-1 off, 1 stdout, else a file this service opened) */
} service_t;

static void *watch_policies(void *arg)
{
    service_t *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&s->cv, &s->mu, &until);
        if (s->stopping) {
            break;
        }
        pthread_mutex_unlock(&s->mu);
        vd_error_t err = {0};
        if (vd_policyset_refresh(s->policies, &err) != VD_OK) {
            fprintf(stderr, WHO ": policies: %s\n", err.msg);
        }
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void service_free(service_t *s)
{
    if (s->watcher_started) {
        pthread_mutex_lock(&s->mu);
        s->stopping = 1;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->watcher, NULL);
    }
    vd_server_free(&s->server);
    if (s->log_fd > 2) {
        close(s->log_fd);
    }
    vd_api_free(&s->api);
    vd_audit_close(&s->audit);
    vd_metrics_free(&s->metrics);
    vd_challenger_free(&s->challenges);
    vd_keyring_free(&s->keys);
    vd_appraiser_free(&s->appraiser);
    vd_policyset_free(&s->policies);
    vd_certcache_free(&s->cache);
    vd_trust_free(&s->trust);
    for (size_t i = 0; i < s->n_reloaded; i++) {
        vd_config_free(&s->reloaded[i]);
    }
    vd_config_free(&s->cfg);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
}

static int load_config(const serve_opts_t *o, vd_config_t **out)
{
    vd_error_t err = {0};
    vd_err_t rc = vd_config_load(o->config, out, &err);
    for (size_t i = 0; rc == VD_OK && i < o->n; i++) {
        rc = vd_config_set(*out, o->keys[i], o->values[i], &err);
    }
    if (rc == VD_OK) {
        rc = vd_config_check(*out, &err);
    }
    if (rc != VD_OK) {
        fprintf(stderr, WHO ": configuration: %s\n", err.msg);
        return -1;
    }
    return 0;
}

/* Settings a reload cannot change: the listeners, the database, the workers, the files and
 * objects built once at start. Returns the first that differs, or NULL. */
static const char *needs_restart(const vd_config_t *a, const vd_config_t *b)
{
    if (a->n_listen != b->n_listen) {
        return "listen";
    }
    for (size_t i = 0; i < a->n_listen; i++) {
        if (strcmp(a->listen[i], b->listen[i]) != 0) {
            return "listen";
        }
    }
    const struct {
        const char *key;
        const char *x, *y;
    } strs[] = {
        {"db", a->db, b->db},
        {"tls.cert", a->tls_cert, b->tls_cert},
        {"tls.key", a->tls_key, b->tls_key},
        {"signing.key", a->signing_key, b->signing_key},
        {"signing.issuer", a->issuer, b->issuer},
        {"challenge.secret", a->nonce_secret, b->nonce_secret},
        {"appraisal.default_policy", a->default_policy, b->default_policy},
        {"appraisal.extra_roots", a->extra_roots, b->extra_roots},
        {"kds.url", a->kds_url, b->kds_url},
    };
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        if (strcmp(strs[i].x, strs[i].y) != 0) {
            return strs[i].key;
        }
    }
    if (a->workers != b->workers || a->offline != b->offline || a->crl_mode != b->crl_mode ||
        a->signing_alg != b->signing_alg || a->challenge_ttl_s != b->challenge_ttl_s) {
        return "server.workers, kds.offline, appraisal.crl, signing.alg or challenge.ttl_s";
    }
    if (a->kds_client_burst != b->kds_client_burst ||
        a->kds_client_interval_ms != b->kds_client_interval_ms ||
        a->kds_max_cold != b->kds_max_cold) {
        return "kds.client_burst, kds.client_interval_ms or kds.max_cold_fetches";
    }
    return NULL;
}

/*
 * SIGHUP (on the network thread): load the file, the environment and the flags again. What the
 * API reads per request (tokens, token TTL, the collateral answer, the playground switch) takes
 * effect; a change to a setting that is built once at start is refused with the reason, and the
 * configuration in force is kept whole.
 */
static vd_err_t reload_config(void *ud, const vd_config_t **out, vd_error_t *err)
{
    service_t *s = ud;
    vd_config_t *fresh = NULL;
    if (s->n_reloaded >= RELOADS_MAX) {
        return VD_ERR(err, VD_E_CONFIG, "reloaded %d times: restart to reload again", RELOADS_MAX);
    }
    if (load_config(s->opts, &fresh) != 0) {
        return VD_ERR(err, VD_E_CONFIG, "the new configuration is not valid (see above)");
    }
    const char *key = needs_restart(s->cfg, fresh);
    if (key != NULL) {
        vd_config_free(&fresh);
        return VD_ERR(err, VD_E_CONFIG, "%s changed: that takes a restart", key);
    }
    s->reloaded[s->n_reloaded++] = fresh;
    *out = fresh;
    return VD_OK;
}

/* Build every part; prints what failed. */
static int service_start(service_t *s, const serve_opts_t *o)
{
    s->opts = o;
    vd_error_t err = {0};
    const char *what = "configuration";
    if (load_config(o, &s->cfg) != 0) {
        return -1;
    }
    const vd_config_t *cfg = s->cfg;
    int64_t now = (int64_t)time(NULL);
    int created = 0;

    /* Secrets readable by other users are refused before anything starts (SECURITY.md). */
    what = "file modes";
    if (vd_file_check_private("signing key", cfg->signing_key, &err) != VD_OK ||
        vd_file_check_private("challenge secret", cfg->nonce_secret, &err) != VD_OK ||
        vd_file_check_private("TLS key", cfg->tls_key, &err) != VD_OK) {
        goto fail;
    }
    what = "database";
    if (vd_db_check(cfg->db, &err) != VD_OK) {
        goto fail;
    }
    what = "trust";
    if (vd_trust_new(&s->trust, &err) != VD_OK) {
        goto fail;
    }
    if (vd_cli_load_extra_roots(cfg->extra_roots, s->trust, WHO) != 0) {
        return -1;
    }
    what = "certificate cache";
    vd_certcache_config_t cc;
    vd_config_certcache(cfg, s->trust, &cc);
    if (vd_certcache_open(&cc, &s->cache, &err) != VD_OK) {
        goto fail;
    }
    what = "policies";
    if (vd_policyset_open(cfg->db, &s->policies, &err) != VD_OK) {
        goto fail;
    }
    what = "appraiser";
    vd_appraiser_config_t ac = {s->trust, s->cache,     s->policies, cfg->default_policy,
                                NULL,     cfg->crl_mode};
    if (vd_appraiser_new(&ac, &s->appraiser, &err) != VD_OK) {
        goto fail;
    }
    what = "signing key";
    if (vd_keyring_open(cfg->signing_key, (vd_sigalg_t)cfg->signing_alg, cfg->token_ttl_s, now,
                        &s->keys, &created, &err) != VD_OK) {
        goto fail;
    }
    vd_signkey_t *key = vd_keyring_signer(s->keys);
    printf(WHO ": signing key %s, %s %s, kid %s\n", cfg->signing_key,
           created ? "generated" : "loaded", vd_sigalg_name(vd_signkey_alg(key)),
           vd_signkey_kid(key));
    vd_signkey_free(&key);
    what = "challenge secret";
    uint8_t *secret = NULL;
    size_t secret_len = 0;
    if (vd_challenge_secret_load_or_create(cfg->nonce_secret, &secret, &secret_len, &created,
                                           &err) != VD_OK) {
        goto fail;
    }
    vd_challenge_config_t chc = {secret, secret_len, cfg->challenge_ttl_s, 0};
    vd_err_t crc = vd_challenger_new(&chc, &s->challenges, &err);
    vd_challenge_secret_free(secret, secret_len);
    if (crc != VD_OK) {
        goto fail;
    }
    printf(WHO ": challenge secret %s, %s\n", cfg->nonce_secret, created ? "generated" : "loaded");
    what = "audit log";
    vd_audit_config_t auc;
    vd_config_audit(cfg, &auc);
    if (vd_audit_open(&auc, &s->audit, &err) != VD_OK) {
        goto fail;
    }
    what = "metrics";
    if (vd_metrics_new(&s->metrics, &err) != VD_OK) {
        goto fail;
    }
    what = "API";
    vd_api_config_t apc = {
        cfg,      s->appraiser, s->policies,           s->cache,      s->keys, s->challenges,
        s->audit, s->metrics,   "verdict " VD_VERSION, reload_config, s};
    if (vd_api_new(&apc, &s->api, &err) != VD_OK) {
        goto fail;
    }
    what = "server";
    vd_server_config_t sc;
    vd_server_handlers_t h;
    vd_config_server(cfg, &sc);
    if (vd_config_open_log(cfg, &s->log_fd, &err) != VD_OK) {
        goto fail;
    }
    sc.log_fd = s->log_fd;
    vd_api_handlers(s->api, &h);
    if (vd_server_new(&sc, &h, &s->server, &err) != VD_OK) {
        goto fail;
    }
    vd_api_set_server(s->api, s->server);
    if (pthread_create(&s->watcher, NULL, watch_policies, s) == 0) {
        s->watcher_started = 1;
    }
    printf(WHO ": database %s\n", cfg->db);
    for (size_t i = 0; i < vd_server_listen_count(s->server); i++) {
        printf(WHO ": listening on %s://%s (%s)\n", cfg->tls_cert[0] ? "https" : "http",
               vd_server_listen_addr(s->server, i),
               cfg->tls_cert[0] ? "h2 and HTTP/1.1 over TLS" : "h2c and HTTP/1.1");
    }
    fflush(stdout);
    return 0;
fail:
    fprintf(stderr, WHO ": %s: %s\n", what, err.msg);
    return -1;
}

int vd_cli_serve(int argc, char **argv)
{
    serve_opts_t o;
    service_t s;
    vd_error_t err = {0};
    int p = parse_args(argc, argv, &o);
    if (p != 0) {
        if (p > 0) {
            serve_usage(stdout);
        }
        return p > 0 ? VD_EXIT_OK : VD_EXIT_USAGE;
    }
    if (o.check != NULL) {
        if (vd_config_check_file(o.check, &err) != VD_OK) {
            fprintf(stderr, WHO ": %s\n", err.msg);
            return VD_EXIT_USAGE;
        }
        printf("%s: valid\n", o.check);
        return VD_EXIT_OK;
    }
    memset(&s, 0, sizeof(s));
    s.log_fd = -1;
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    int code = VD_EXIT_USAGE;
    if (service_start(&s, &o) == 0) {
        if (vd_server_run(s.server, &err) != VD_OK) {
            fprintf(stderr, WHO ": %s\n", err.msg);
        } else {
            printf(WHO ": stopped\n");
            code = VD_EXIT_OK;
        }
    }
    service_free(&s);
    return code;
}
