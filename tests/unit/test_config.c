/*
 * The service configuration (verifier/config/config.c): defaults, the file with every error at
 * file:line:column, environment overrides, flags, bearer tokens, and the documentation
 * (docs/configuration.md and docs/verdict.example.yaml) kept in step with the code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "verdict/bytes.h"
#include "verdict/config.h"

#ifndef VD_SOURCE_DIR
#    define VD_SOURCE_DIR "."
#endif

/* No VERDICT_* variable from the caller's shell may leak into a test. */
static void clear_env(void)
{
    vd_config_key_info_t keys[128];
    size_t n = vd_config_keys(keys, 128);
    assert_true(n <= 128);
    for (size_t i = 0; i < n; i++) {
        if (keys[i].env != NULL) {
            unsetenv(keys[i].env);
        }
    }
    unsetenv("VERDICT_CONFIG");
}

static int setup(void **state)
{
    (void)state;
    clear_env();
    return 0;
}

static vd_config_t *defaults(void)
{
    vd_config_t *c = NULL;
    vd_error_t err = {0};
    assert_int_equal(vd_config_defaults(&c, &err), VD_OK);
    assert_non_null(c);
    return c;
}

/* Apply `yaml` over the defaults; expect success. */
static vd_config_t *from_yaml(const char *yaml)
{
    vd_config_t *c = defaults();
    vd_error_t err = {0};
    vd_err_t rc = vd_config_apply_yaml(c, yaml, strlen(yaml), "c.yaml", &err);
    if (rc != VD_OK) {
        fail_msg("unexpected error: %s", err.msg);
    }
    assert_int_equal(vd_config_check(c, &err), VD_OK);
    return c;
}

/* Apply `yaml` over the defaults; expect `code` and every fragment in the message. */
static void expect_yaml_err(const char *yaml, vd_err_t code, const char *const *frags)
{
    vd_config_t *c = defaults();
    vd_error_t err = {0};
    vd_err_t rc = vd_config_apply_yaml(c, yaml, strlen(yaml), "c.yaml", &err);
    if (rc == VD_OK) {
        rc = vd_config_check(c, &err);
    }
    if (rc != code) {
        fail_msg("for\n%s\nexpected code %d, got %d (%s)", yaml, code, rc, err.msg);
    }
    for (size_t i = 0; frags[i] != NULL; i++) {
        if (strstr(err.msg, frags[i]) == NULL) {
            fail_msg("for\n%s\nmessage '%s' lacks '%s'", yaml, err.msg, frags[i]);
        }
    }
    vd_config_free(&c);
}

#define EXPECT_CFG_ERR(yaml, ...)                                                                  \
    expect_yaml_err((yaml), VD_E_CONFIG, (const char *const[]){__VA_ARGS__, NULL})
#define EXPECT_YAML_ERR(yaml, ...)                                                                 \
    expect_yaml_err((yaml), VD_E_MALFORMED, (const char *const[]){__VA_ARGS__, NULL})

/* ---- defaults ------------------------------------------------------------------------------ */

static void test_config_defaults(void **state)
{
    (void)state;
    vd_config_t *c = NULL;
    vd_error_t err = {0};
    assert_int_equal(vd_config_load(NULL, &c, &err), VD_OK);
    assert_int_equal(c->n_listen, 1);
    assert_string_equal(c->listen[0], "127.0.0.1:8080");
    assert_string_equal(c->db, "verdict.db");
    assert_string_equal(c->tls_cert, "");
    assert_string_equal(c->tls_key, "");
    assert_int_equal(c->workers, 0);
    assert_int_equal(c->queue, 0);
    assert_int_equal(c->body_max, 256 * 1024);
    assert_int_equal(c->header_max, 16 * 1024);
    assert_int_equal(c->max_streams, 100);
    assert_int_equal(c->max_connections, 4096);
    assert_int_equal(c->request_timeout_ms, 10000);
    assert_int_equal(c->idle_timeout_ms, 60000);
    assert_int_equal(c->shutdown_grace_ms, 10000);
    assert_string_equal(c->signing_key, "verdict-signing-key.pem");
    assert_int_equal(c->signing_alg, VD_SIGALG_ES256);
    assert_string_equal(c->issuer, "");
    assert_int_equal(c->token_ttl_s, 300);
    assert_string_equal(c->nonce_secret, "verdict-nonce.secret");
    assert_int_equal(c->challenge_ttl_s, 300);
    assert_string_equal(c->default_policy, "");
    assert_int_equal(c->collateral_unavailable, VD_COLLATERAL_200);
    assert_string_equal(c->extra_roots, "");
    assert_int_equal(c->crl_mode, VD_CRL_FAIL_OPEN);
    assert_string_equal(c->kds_url, "https://kdsintf.amd.com");
    assert_int_equal(c->offline, 0);
    assert_int_equal(c->kds_timeout_ms, 0);
    assert_int_equal(c->n_admin_tokens, 0);
    assert_int_equal(c->n_reader_tokens, 0);
    assert_int_equal(c->open_policy_reads, 0);
    assert_int_equal(c->evidence_token_required, 0);
    assert_int_equal(c->audit_max_age_days, 90);
    assert_int_equal(c->audit_max_rows, 10000000);
    assert_int_equal(c->audit_synchronous, VD_AUDIT_SYNC_FULL);
    assert_int_equal(c->audit_queue, 4096);
    assert_int_equal(c->audit_commit_timeout_ms, 10000);
    assert_int_equal(c->log_access, 1);
    assert_string_equal(c->log_file, "-");
    assert_string_equal(c->source, "");

    char iss[128];
    assert_string_equal(vd_config_issuer(c, NULL, iss, sizeof(iss)), "http://127.0.0.1:8080");
    assert_string_equal(vd_config_issuer(c, "127.0.0.1:40000", iss, sizeof(iss)),
                        "http://127.0.0.1:40000");
    /* With no token configured nothing is granted, whatever is presented. */
    assert_int_equal(vd_config_auth(c, "anything", 8), VD_AUTH_NONE);
    assert_int_equal(vd_config_auth(c, "", 0), VD_AUTH_NONE);
    assert_int_equal(vd_config_auth_header(c, "Bearer anything"), VD_AUTH_NONE);
    vd_config_free(&c);
    assert_null(c);
    vd_config_free(&c); /* NULL-safe */
}

/* An empty file, or one with only comments, changes nothing. */
static void test_config_empty_file(void **state)
{
    (void)state;
    vd_config_t *c = from_yaml("");
    assert_string_equal(c->listen[0], "127.0.0.1:8080");
    vd_config_free(&c);
    c = from_yaml("# nothing here\n");
    assert_string_equal(c->db, "verdict.db");
    vd_config_free(&c);
    c = from_yaml("tls:\nserver: ~\n");
    assert_int_equal(c->max_streams, 100);
    vd_config_free(&c);
}

/* Every documented default, set over a file that changes everything, gives the defaults back. */
static void test_config_documented_defaults_are_real(void **state)
{
    (void)state;
    vd_config_key_info_t keys[128];
    size_t n = vd_config_keys(keys, 128);
    vd_config_t *d = defaults(), *c = NULL;
    vd_error_t err = {0};
    assert_int_equal(vd_config_load(VD_SOURCE_DIR "/docs/verdict.example.yaml", &c, &err), VD_OK);
    char *a = NULL, *b = NULL;
    assert_int_equal(vd_config_format(c, &a, &err), VD_OK);
    assert_int_equal(vd_config_format(d, &b, &err), VD_OK);
    assert_string_not_equal(a, b);
    free(a);
    for (size_t i = 0; i < n; i++) {
        if (strstr(keys[i].key, "tokens") != NULL) {
            continue;
        }
        const char *def = keys[i].def;
        char unbracketed[128];
        if (def[0] == '[') { /* a list default, as a flag gives it */
            snprintf(unbracketed, sizeof(unbracketed), "%.*s", (int)strlen(def) - 2, def + 1);
            def = unbracketed;
        }
        if (vd_config_set(c, keys[i].key, def, &err) != VD_OK) {
            fail_msg("default of %s: %s", keys[i].key, err.msg);
        }
    }
    c->n_admin_tokens = 0;
    free(c->source);
    c->source = strdup("");
    assert_int_equal(vd_config_format(c, &a, &err), VD_OK);
    assert_string_equal(a, b);
    free(a);
    free(b);
    vd_config_free(&c);
    vd_config_free(&d);
}

/* ---- the file ------------------------------------------------------------------------------ */

static void test_config_file_every_section(void **state)
{
    (void)state;
    vd_config_t *c = from_yaml("listen: [\"0.0.0.0:9000\", \"[::1]:9001\"]\n"
                               "db: /tmp/x.db\n"
                               "tls:\n  cert: a.pem\n  key: b.pem\n"
                               "server:\n  workers: 3\n  queue: 77\n  body_max: 1MiB\n"
                               "  header_max: 2048\n  max_streams: 5\n  max_connections: 6\n"
                               "  request_timeout_ms: 1000\n  idle_timeout_ms: 2000\n"
                               "  shutdown_grace_ms: 0\n"
                               "signing:\n  key: k.pem\n  alg: es384\n"
                               "  issuer: https://v.example\n  token_ttl_s: 60\n"
                               "challenge:\n  secret: s.bin\n  ttl_s: 30\n"
                               "appraisal:\n  default_policy: prod\n"
                               "  collateral_unavailable: 503\n  extra_roots: roots.pem\n"
                               "  crl: fail-closed\n"
                               "kds:\n  url: http://127.0.0.1:1234\n  offline: true\n"
                               "  timeout_ms: 500\n"
                               "auth:\n  open_policy_reads: true\n"
                               "  evidence_token_required: true\n"
                               "audit:\n  max_age_days: 0\n  max_rows: 5\n  synchronous: normal\n"
                               "  queue: 8\n  commit_timeout_ms: 100\n"
                               "log:\n  access: false\n  file: /tmp/access.log\n");
    assert_int_equal(c->n_listen, 2);
    assert_string_equal(c->listen[0], "0.0.0.0:9000");
    assert_string_equal(c->listen[1], "[::1]:9001");
    assert_string_equal(c->db, "/tmp/x.db");
    assert_string_equal(c->tls_cert, "a.pem");
    assert_string_equal(c->tls_key, "b.pem");
    assert_int_equal(c->workers, 3);
    assert_int_equal(c->queue, 77);
    assert_int_equal(c->body_max, 1024 * 1024);
    assert_int_equal(c->header_max, 2048);
    assert_int_equal(c->max_streams, 5);
    assert_int_equal(c->max_connections, 6);
    assert_int_equal(c->request_timeout_ms, 1000);
    assert_int_equal(c->idle_timeout_ms, 2000);
    assert_int_equal(c->shutdown_grace_ms, 0);
    assert_string_equal(c->signing_key, "k.pem");
    assert_int_equal(c->signing_alg, VD_SIGALG_ES384);
    assert_string_equal(c->issuer, "https://v.example");
    assert_int_equal(c->token_ttl_s, 60);
    assert_string_equal(c->nonce_secret, "s.bin");
    assert_int_equal(c->challenge_ttl_s, 30);
    assert_string_equal(c->default_policy, "prod");
    assert_int_equal(c->collateral_unavailable, VD_COLLATERAL_503);
    assert_string_equal(c->extra_roots, "roots.pem");
    assert_int_equal(c->crl_mode, VD_CRL_FAIL_CLOSED);
    assert_string_equal(c->kds_url, "http://127.0.0.1:1234");
    assert_int_equal(c->offline, 1);
    assert_int_equal(c->kds_timeout_ms, 500);
    assert_int_equal(c->open_policy_reads, 1);
    assert_int_equal(c->evidence_token_required, 1);
    assert_int_equal(c->audit_max_age_days, 0);
    assert_int_equal(c->audit_max_rows, 5);
    assert_int_equal(c->audit_synchronous, VD_AUDIT_SYNC_NORMAL);
    assert_int_equal(c->audit_queue, 8);
    assert_int_equal(c->audit_commit_timeout_ms, 100);
    assert_int_equal(c->log_access, 0);
    assert_string_equal(c->log_file, "/tmp/access.log");

    char iss[128];
    assert_string_equal(vd_config_issuer(c, "0.0.0.0:9000", iss, sizeof(iss)), "https://v.example");

    /* What the other modules are given. */
    vd_server_config_t sc;
    vd_config_server(c, &sc);
    assert_int_equal(sc.n_listen, 2);
    assert_string_equal(sc.listen[1], "[::1]:9001");
    assert_string_equal(sc.tls_cert, "a.pem");
    assert_string_equal(sc.tls_key, "b.pem");
    assert_int_equal(sc.workers, 3);
    assert_int_equal(sc.queue_max, 77);
    assert_int_equal(sc.body_max, 1024 * 1024);
    assert_int_equal(sc.header_max, 2048);
    assert_int_equal(sc.max_streams, 5);
    assert_int_equal(sc.max_connections, 6);
    assert_int_equal(sc.request_timeout_ms, 1000);
    assert_int_equal(sc.idle_timeout_ms, 2000);
    assert_int_equal(sc.shutdown_grace_ms, 0);
    assert_int_equal(sc.log_fd, -1);
    vd_certcache_config_t cc;
    vd_config_certcache(c, NULL, &cc);
    assert_string_equal(cc.db_path, "/tmp/x.db");
    assert_int_equal(cc.offline, 1);
    assert_string_equal(cc.kds.base_url, "http://127.0.0.1:1234");
    assert_int_equal(cc.kds.total_timeout_ms, 500);
    assert_int_equal(cc.crl_mode, VD_CRL_FAIL_CLOSED);
    vd_audit_config_t ac;
    vd_config_audit(c, &ac);
    assert_string_equal(ac.db_path, "/tmp/x.db");
    assert_int_equal(ac.synchronous, VD_AUDIT_SYNC_NORMAL);
    assert_int_equal(ac.queue_max, 8);
    assert_int_equal(ac.commit_timeout_ms, 100);
    assert_int_equal(ac.max_age_s, 0);
    assert_int_equal(ac.max_rows, 5);
    vd_config_free(&c);

    /* A single address may be a plain string; TLS defaults keep no TLS in the server config. */
    c = from_yaml("listen: localhost:0\n");
    assert_int_equal(c->n_listen, 1);
    assert_string_equal(c->listen[0], "localhost:0");
    vd_config_server(c, &sc);
    assert_null(sc.tls_cert);
    assert_null(sc.tls_key);
    assert_int_equal(sc.log_fd, 1);
    vd_config_audit(c, &ac);
    assert_int_equal(ac.max_age_s, 90 * 86400);
    vd_config_free(&c);
}

static void test_config_file_unknown_key(void **state)
{
    (void)state;
    EXPECT_CFG_ERR("db: a.db\nlisen: x\n", "c.yaml:2:1: configuration: unknown key 'lisen'",
                   "expected one of: listen, db, tls, server, signing");
    EXPECT_CFG_ERR("server:\n  workers: 2\n  wokers: 3\n",
                   "c.yaml:3:3: server: unknown key 'wokers'", "workers, queue, body_max");
    EXPECT_CFG_ERR("tls:\n  certificate: x\n", "c.yaml:2:3: tls: unknown key 'certificate'",
                   "(expected one of: cert, key)");
    /* Dotted keys are not a shortcut for sections. */
    EXPECT_CFG_ERR("server.workers: 2\n",
                   "c.yaml:1:1: configuration: unknown key 'server.workers'");
    EXPECT_CFG_ERR("server:\n  a.b: 2\n", "c.yaml:2:3: server: unknown key 'a.b'");
    EXPECT_CFG_ERR("db:\n  nested: x\n", "c.yaml:2:3: db: expected a string, got a mapping");
}

static void test_config_file_wrong_types(void **state)
{
    (void)state;
    EXPECT_CFG_ERR("server:\n  workers: many\n",
                   "c.yaml:2:12: server.workers: expected an integer 0..1024, got 'many'");
    EXPECT_CFG_ERR("server:\n  workers: \"4\"\n",
                   "c.yaml:2:12: server.workers: expected an unquoted number, got a quoted string");
    EXPECT_CFG_ERR("server:\n  workers: [1]\n",
                   "c.yaml:2:12: server.workers: expected an unquoted number, got a sequence");
    EXPECT_CFG_ERR("server:\n  workers:\n",
                   "server.workers: expected an unquoted number, got a null");
    EXPECT_CFG_ERR("server:\n  workers: -1\n", "c.yaml:2:12: server.workers: expected an integer");
    EXPECT_CFG_ERR("server:\n  workers: 1025\n", "expected an integer 0..1024, got '1025'");
    EXPECT_CFG_ERR("server:\n  workers: 0x10\n", "got '0x10'");
    EXPECT_CFG_ERR("server:\n  workers: 99999999999999999999999\n", "expected an integer 0..1024");
    EXPECT_CFG_ERR("server:\n  body_max: 10\n",
                   "c.yaml:2:13: server.body_max: expected a size 1024..67108864 bytes");
    EXPECT_CFG_ERR("server:\n  body_max: 1TiB\n", "server.body_max: expected a size");
    EXPECT_CFG_ERR("server:\n  body_max: 65MiB\n", "server.body_max: expected a size");
    EXPECT_CFG_ERR("server:\n  body_max: KiB\n", "got 'KiB'");
    EXPECT_CFG_ERR("kds:\n  offline: yes\n",
                   "c.yaml:2:12: kds.offline: expected true or false, got 'yes'");
    EXPECT_CFG_ERR("kds:\n  offline: \"true\"\n",
                   "c.yaml:2:12: kds.offline: expected true or false, got a quoted string");
    EXPECT_CFG_ERR("kds:\n  url: ftp://x\n",
                   "c.yaml:2:8: kds.url: expected an http:// or https:// URL, got 'ftp://x'");
    EXPECT_CFG_ERR("signing:\n  alg: RS256\n",
                   "c.yaml:2:8: signing.alg: expected one of ES256, ES384, EdDSA, got 'RS256'");
    EXPECT_CFG_ERR("signing:\n  alg: [ES256]\n", "c.yaml:2:8: signing.alg: expected a string");
    EXPECT_CFG_ERR("appraisal:\n  collateral_unavailable: 404\n",
                   "appraisal.collateral_unavailable: expected one of 200, 503, got '404'");
    EXPECT_CFG_ERR("appraisal:\n  crl: maybe\n", "expected one of fail-open, fail-closed, off");
    EXPECT_CFG_ERR("audit:\n  synchronous: OFF\n",
                   "c.yaml:2:16: audit.synchronous: expected one of FULL, NORMAL, got 'OFF'");
    EXPECT_CFG_ERR("db: \"\"\n", "c.yaml:1:5: db: must not be empty");
    EXPECT_CFG_ERR("signing:\n  key:\n", "signing.key: must not be empty");
    EXPECT_CFG_ERR("server: 4\n", "c.yaml:1:9: server: expected a mapping, got a scalar");
    EXPECT_CFG_ERR("server: [1, 2]\n", "c.yaml:1:9: server: expected a mapping, got a sequence");
    EXPECT_CFG_ERR("- a\n- b\n", "c.yaml:1:1: configuration: expected a mapping of settings");
    EXPECT_CFG_ERR("just text\n", "expected a mapping of settings, got a scalar");
    EXPECT_CFG_ERR("db: a\ndb: b\n", "c.yaml:2:1: configuration: key 'db' appears twice");
    EXPECT_CFG_ERR("server:\n  workers: 1\n  workers: 2\n",
                   "c.yaml:3:3: server: key 'workers' appears twice");
    EXPECT_CFG_ERR("[a]: 1\n", "c.yaml:1:1: configuration: keys must be plain strings");
}

static void test_config_file_listen(void **state)
{
    (void)state;
    EXPECT_CFG_ERR("listen: 8080\n",
                   "c.yaml:1:9: listen: expected host:port or [v6]:port, got '8080'");
    EXPECT_CFG_ERR("listen: [\"127.0.0.1:8080\", \"::1:8080\"]\n",
                   "c.yaml:1:28: listen[1]: expected host:port or [v6]:port, got '::1:8080'");
    EXPECT_CFG_ERR("listen: \"a:1,b:2\"\n", "listen: one address per item");
    EXPECT_CFG_ERR("listen: []\n", "c.yaml:1:9: listen: at least one address");
    EXPECT_CFG_ERR("listen: x:65536\n", "got 'x:65536'");
    EXPECT_CFG_ERR("listen: \"[::1]8080\"\n", "got '[::1]8080'");
    EXPECT_CFG_ERR("listen: \"[]:80\"\n", "got '[]:80'");
    EXPECT_CFG_ERR("listen: \":80\"\n", "got ':80'");
    EXPECT_CFG_ERR("listen: \"a b:80\"\n", "got 'a b:80'");
    EXPECT_CFG_ERR("listen: {a: b}\n", "c.yaml:1:9: listen: expected a list, got a mapping");
    EXPECT_CFG_ERR("listen: [[a]]\n", "c.yaml:1:10: listen[0]: expected a string, got a sequence");
    EXPECT_CFG_ERR("listen: [a:1, b:2, c:3, d:4, e:5, f:6, g:7, h:8, i:9]\n",
                   "more than 8 listen addresses");
}

static void test_config_file_yaml_errors(void **state)
{
    (void)state;
    EXPECT_YAML_ERR("db: [a\n", "c.yaml:2:1: YAML syntax error");
    EXPECT_YAML_ERR("db: &a x\n",
                    "c.yaml:1:5: YAML anchors (&a) are not allowed in configuration files");
    EXPECT_YAML_ERR("db: x\n---\ndb: y\n", "c.yaml:2:1: more than one YAML document");
    EXPECT_YAML_ERR("db: !!binary eA==\n", "c.yaml:1:5: YAML tag");
}

static void test_config_tls_pair(void **state)
{
    (void)state;
    EXPECT_CFG_ERR("tls:\n  cert: a.pem\n", "tls.cert and tls.key go together: tls.cert is set");
    EXPECT_CFG_ERR("tls:\n  key: a.pem\n", "tls.key is set, tls.cert is not");
    vd_config_t *c = from_yaml("tls:\n  cert: a.pem\n  key: b.pem\n");
    char iss[64];
    assert_string_equal(vd_config_issuer(c, NULL, iss, sizeof(iss)), "https://127.0.0.1:8080");
    vd_config_free(&c);
}

/* ---- files on disk ------------------------------------------------------------------------- */

static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/vd-config-XXXXXX");
    assert_non_null(path);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_config_check_file(void **state)
{
    (void)state;
    vd_error_t err = {0};
    char *good = write_temp("server:\n  workers: 2\n");
    char *bad = write_temp("server:\n  workers: 2\n  oops: 1\n");
    assert_int_equal(vd_config_check_file(good, &err), VD_OK);
    assert_int_equal(vd_config_check_file(bad, &err), VD_E_CONFIG);
    char want[128];
    snprintf(want, sizeof(want), "%s:3:3: server: unknown key 'oops'", bad);
    assert_non_null(strstr(err.msg, want));
    vd_error_clear(&err);
    assert_int_equal(vd_config_check_file("/nonexistent/verdict.yaml", &err), VD_E_IO);
    assert_non_null(strstr(err.msg, "cannot read configuration /nonexistent/verdict.yaml"));

    /* --check-config ignores the environment; loading does not. */
    setenv("VERDICT_WORKERS", "lots", 1);
    vd_error_clear(&err);
    assert_int_equal(vd_config_check_file(good, &err), VD_OK);
    vd_config_t *c = NULL;
    assert_int_equal(vd_config_load(good, &c, &err), VD_E_CONFIG);
    assert_null(c);
    assert_string_equal(err.msg, "VERDICT_WORKERS: expected an integer 0..1024, got 'lots'");
    unsetenv("VERDICT_WORKERS");

    /* The file named by VERDICT_CONFIG, when no path is given. */
    setenv("VERDICT_CONFIG", good, 1);
    vd_error_clear(&err);
    assert_int_equal(vd_config_load(NULL, &c, &err), VD_OK);
    assert_int_equal(c->workers, 2);
    assert_string_equal(c->source, good);
    vd_config_free(&c);
    setenv("VERDICT_CONFIG", "/nonexistent/v.yaml", 1);
    assert_int_equal(vd_config_load(NULL, &c, &err), VD_E_IO);
    /* An explicit path wins over VERDICT_CONFIG. */
    vd_error_clear(&err);
    assert_int_equal(vd_config_load(good, &c, &err), VD_OK);
    vd_config_free(&c);
    unsetenv("VERDICT_CONFIG");

    /* Larger than 1 MiB: refused before parsing. */
    char *big_text = malloc(1024 * 1024 + 2);
    assert_non_null(big_text);
    memset(big_text, '#', 1024 * 1024 + 1);
    big_text[1024 * 1024 + 1] = '\0';
    char *big = write_temp(big_text);
    vd_error_clear(&err);
    assert_int_equal(vd_config_check_file(big, &err), VD_E_TOO_LARGE);
    assert_non_null(strstr(err.msg, "configuration files are limited to 1048576"));
    unlink(big);
    free(big);
    free(big_text);

    unlink(good);
    unlink(bad);
    free(good);
    free(bad);
}

/* ---- environment and flags ----------------------------------------------------------------- */

static void test_config_env_overrides(void **state)
{
    (void)state;
    char *file = write_temp("listen: [\"10.0.0.1:1\"]\ndb: file.db\nserver:\n  workers: 2\n"
                            "kds:\n  offline: false\n");
    setenv("VERDICT_LISTEN", " 127.0.0.1:0 , [::1]:0", 1);
    setenv("VERDICT_DB", "env.db", 1);
    setenv("VERDICT_KDS_URL", "http://127.0.0.1:9", 1);
    setenv("VERDICT_EXTRA_ROOTS", "roots.pem", 1);
    setenv("VERDICT_OFFLINE", "1", 1);
    setenv("VERDICT_TLS_CERT", "c.pem", 1);
    setenv("VERDICT_TLS_KEY", "k.pem", 1);
    setenv("VERDICT_SIGNING_KEY", "sk.pem", 1);
    setenv("VERDICT_NONCE_SECRET", "ns.bin", 1);
    setenv("VERDICT_CRL", "off", 1);
    setenv("VERDICT_KDS_TIMEOUT_MS", "250", 1);
    setenv("VERDICT_AUDIT_SYNCHRONOUS", "NORMAL", 1);
    setenv("VERDICT_BODY_MAX", "512KiB", 1);
    setenv("VERDICT_OPEN_POLICY_READS", "yes", 1);
    setenv("VERDICT_LOG_ACCESS", "off", 1);
    setenv("VERDICT_WORKERS", "", 1); /* empty = unset: the file's 2 stays */
    vd_config_t *c = NULL;
    vd_error_t err = {0};
    assert_int_equal(vd_config_load(file, &c, &err), VD_OK);
    assert_int_equal(c->n_listen, 2);
    assert_string_equal(c->listen[0], "127.0.0.1:0");
    assert_string_equal(c->listen[1], "[::1]:0");
    assert_string_equal(c->db, "env.db");
    assert_string_equal(c->kds_url, "http://127.0.0.1:9");
    assert_string_equal(c->extra_roots, "roots.pem");
    assert_int_equal(c->offline, 1);
    assert_string_equal(c->tls_cert, "c.pem");
    assert_string_equal(c->tls_key, "k.pem");
    assert_string_equal(c->signing_key, "sk.pem");
    assert_string_equal(c->nonce_secret, "ns.bin");
    assert_int_equal(c->crl_mode, VD_CRL_OFF);
    assert_int_equal(c->kds_timeout_ms, 250);
    assert_int_equal(c->audit_synchronous, VD_AUDIT_SYNC_NORMAL);
    assert_int_equal(c->body_max, 512 * 1024);
    assert_int_equal(c->open_policy_reads, 1);
    assert_int_equal(c->log_access, 0);
    assert_int_equal(c->workers, 2);

    /* Flags come last. */
    assert_int_equal(vd_config_set(c, "listen", "[::1]:7000", &err), VD_OK);
    assert_int_equal(vd_config_set(c, "db", "flag.db", &err), VD_OK);
    assert_int_equal(vd_config_set(c, "kds.offline", "false", &err), VD_OK);
    assert_int_equal(vd_config_set(c, "server.workers", "8", &err), VD_OK);
    assert_int_equal(vd_config_check(c, &err), VD_OK);
    assert_int_equal(c->n_listen, 1);
    assert_string_equal(c->listen[0], "[::1]:7000");
    assert_string_equal(c->db, "flag.db");
    assert_int_equal(c->offline, 0);
    assert_int_equal(c->workers, 8);
    assert_int_equal(vd_config_set(c, "server.wokers", "8", &err), VD_E_USAGE);
    assert_non_null(strstr(err.msg, "unknown configuration key 'server.wokers'"));
    vd_error_clear(&err);
    assert_int_equal(vd_config_set(c, "server.workers", "x", &err), VD_E_CONFIG);
    assert_string_equal(err.msg, "server.workers: expected an integer 0..1024, got 'x'");
    vd_error_clear(&err);
    assert_int_equal(vd_config_set(c, "auth.admin_tokens_sha256", "00", &err), VD_E_USAGE);
    vd_error_clear(&err);
    assert_int_equal(vd_config_set(c, "tls.key", "", &err), VD_OK);
    assert_int_equal(vd_config_check(c, &err), VD_E_CONFIG); /* cert without key */
    vd_config_free(&c);

    /* Each bad variable is named. */
    static const struct {
        const char *var, *value, *msg;
    } bad[] = {
        {"VERDICT_LISTEN", "8080", "VERDICT_LISTEN: expected host:port or [v6]:port, got '8080'"},
        {"VERDICT_LISTEN", "a:1,,b:2", "VERDICT_LISTEN: expected host:port or [v6]:port, got ''"},
        {"VERDICT_OFFLINE", "maybe", "VERDICT_OFFLINE: expected true or false, got 'maybe'"},
        {"VERDICT_KDS_URL", "kds.example", "VERDICT_KDS_URL: expected an http:// or https:// URL"},
        {"VERDICT_CRL", "strict", "VERDICT_CRL: expected one of fail-open, fail-closed, off"},
        {"VERDICT_SIGNING_ALG", "none", "VERDICT_SIGNING_ALG: expected one of ES256"},
        {"VERDICT_BODY_MAX", "1GiB", "VERDICT_BODY_MAX: expected a size 1024..67108864"},
        {"VERDICT_TLS_CERT", "only-cert.pem", "tls.cert and tls.key go together"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setup(NULL);
        setenv(bad[i].var, bad[i].value, 1);
        vd_error_clear(&err);
        assert_int_equal(vd_config_load(NULL, &c, &err), VD_E_CONFIG);
        assert_null(c);
        if (strstr(err.msg, bad[i].msg) == NULL) {
            fail_msg("%s=%s: message '%s' lacks '%s'", bad[i].var, bad[i].value, err.msg,
                     bad[i].msg);
        }
    }
    setup(NULL);
    unlink(file);
    free(file);
}

/* ---- bearer tokens ------------------------------------------------------------------------- */

static void sha256_hex(const char *s, char out[65])
{
    uint8_t h[32];
    SHA256((const unsigned char *)s, strlen(s), h);
    vd_hex_encode(h, 32, out, 65);
}

static void test_config_tokens(void **state)
{
    (void)state;
    char admin_hex[65], reader_hex[65], yaml[512];
    sha256_hex("admin-secret-token-0123456789", admin_hex);
    sha256_hex("reader-secret-token-0123456789", reader_hex);
    /* Upper-case hex is accepted too. */
    for (char *p = reader_hex; *p; p++) {
        *p = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
    }
    snprintf(yaml, sizeof(yaml),
             "auth:\n  admin_tokens_sha256:\n    - %s\n  reader_tokens_sha256: [%s]\n", admin_hex,
             reader_hex);
    vd_config_t *c = from_yaml(yaml);
    assert_int_equal(c->n_admin_tokens, 1);
    assert_int_equal(c->n_reader_tokens, 1);
    const char *a = "admin-secret-token-0123456789", *r = "reader-secret-token-0123456789";
    assert_int_equal(vd_config_auth(c, a, strlen(a)), VD_AUTH_ADMIN);
    assert_int_equal(vd_config_auth(c, r, strlen(r)), VD_AUTH_READER);
    /* Wrong, truncated, extended, empty and NULL tokens grant nothing. */
    assert_int_equal(vd_config_auth(c, "admin-secret-token-012345678X", 29), VD_AUTH_NONE);
    assert_int_equal(vd_config_auth(c, a, strlen(a) - 1), VD_AUTH_NONE);
    assert_int_equal(vd_config_auth(c, "admin-secret-token-01234567890", 30), VD_AUTH_NONE);
    assert_int_equal(vd_config_auth(c, "", 0), VD_AUTH_NONE);
    assert_int_equal(vd_config_auth(c, NULL, 5), VD_AUTH_NONE);
    assert_int_equal(vd_config_auth(NULL, a, strlen(a)), VD_AUTH_NONE);
    /* The hash itself is not a token. */
    assert_int_equal(vd_config_auth(c, admin_hex, 64), VD_AUTH_NONE);

    /* Authorization header forms. */
    assert_int_equal(vd_config_auth_header(c, "Bearer admin-secret-token-0123456789"),
                     VD_AUTH_ADMIN);
    assert_int_equal(vd_config_auth_header(c, "bearer   admin-secret-token-0123456789  "),
                     VD_AUTH_ADMIN);
    assert_int_equal(vd_config_auth_header(c, "BEARER\treader-secret-token-0123456789"),
                     VD_AUTH_READER);
    assert_int_equal(vd_config_auth_header(c, "Bearer"), VD_AUTH_NONE);
    assert_int_equal(vd_config_auth_header(c, "Bearer "), VD_AUTH_NONE);
    assert_int_equal(vd_config_auth_header(c, "Beareradmin-secret-token-0123456789"), VD_AUTH_NONE);
    assert_int_equal(vd_config_auth_header(c, "Basic admin-secret-token-0123456789"), VD_AUTH_NONE);
    assert_int_equal(vd_config_auth_header(c, "admin-secret-token-0123456789"), VD_AUTH_NONE);
    assert_int_equal(vd_config_auth_header(c, NULL), VD_AUTH_NONE);

    /* VERDICT_ADMIN_TOKEN is added to the configured hashes. */
    char *file = write_temp(yaml);
    setenv("VERDICT_ADMIN_TOKEN", "env-admin-token_with.chars~+/==", 1);
    setenv("VERDICT_READER_TOKEN", "env-reader", 1);
    vd_config_t *e = NULL;
    vd_error_t err = {0};
    assert_int_equal(vd_config_load(file, &e, &err), VD_OK);
    assert_int_equal(e->n_admin_tokens, 2);
    assert_int_equal(e->n_reader_tokens, 2);
    assert_int_equal(vd_config_auth_header(e, "Bearer env-admin-token_with.chars~+/=="),
                     VD_AUTH_ADMIN);
    assert_int_equal(vd_config_auth_header(e, "Bearer admin-secret-token-0123456789"),
                     VD_AUTH_ADMIN);
    assert_int_equal(vd_config_auth_header(e, "Bearer env-reader"), VD_AUTH_READER);
    assert_int_equal(vd_config_auth_header(e, "Bearer env-admin-token"), VD_AUTH_NONE);
    /* The formatted configuration shows neither tokens nor hashes. */
    char *text = NULL;
    assert_int_equal(vd_config_format(e, &text, &err), VD_OK);
    assert_null(strstr(text, "env-admin"));
    assert_null(strstr(text, admin_hex));
    assert_non_null(strstr(text, "# admin_tokens_sha256: 2 configured (not shown)"));
    free(text);
    vd_config_free(&e);

    /* A token that cannot be a bearer token is refused, without echoing it. */
    setenv("VERDICT_ADMIN_TOKEN", "has space secretvalue", 1);
    vd_error_clear(&err);
    assert_int_equal(vd_config_load(file, &e, &err), VD_E_CONFIG);
    assert_non_null(strstr(err.msg, "VERDICT_ADMIN_TOKEN: not a valid bearer token"));
    assert_null(strstr(err.msg, "secretvalue"));
    setenv("VERDICT_ADMIN_TOKEN", "=abc", 1);
    vd_error_clear(&err);
    assert_int_equal(vd_config_load(file, &e, &err), VD_E_CONFIG);
    setenv("VERDICT_ADMIN_TOKEN", "ab=c", 1);
    vd_error_clear(&err);
    assert_int_equal(vd_config_load(file, &e, &err), VD_E_CONFIG);
    unsetenv("VERDICT_ADMIN_TOKEN");
    unsetenv("VERDICT_READER_TOKEN");

    /* The public adder, and its bound. */
    vd_error_clear(&err);
    assert_int_equal(vd_config_add_token(c, VD_AUTH_READER, "x", &err), VD_OK);
    assert_int_equal(vd_config_auth(c, "x", 1), VD_AUTH_READER);
    assert_int_equal(vd_config_add_token(c, VD_AUTH_NONE, "y", &err), VD_E_USAGE);
    vd_error_clear(&err);
    vd_err_t rc = VD_OK;
    for (int i = 0; i < VD_CONFIG_MAX_TOKENS + 1 && rc == VD_OK; i++) {
        rc = vd_config_add_token(c, VD_AUTH_ADMIN, "t", &err);
    }
    assert_int_equal(rc, VD_E_CONFIG);
    assert_non_null(strstr(err.msg, "more than 64 tokens"));
    vd_config_free(&c);

    /* Hash syntax errors carry the position. */
    EXPECT_CFG_ERR("auth:\n  admin_tokens_sha256: [abcd]\n",
                   "c.yaml:2:25: auth.admin_tokens_sha256[0]: expected 64 hex digits");
    EXPECT_CFG_ERR("auth:\n  admin_tokens_sha256: {a: b}\n",
                   "c.yaml:2:24: auth.admin_tokens_sha256: expected a list, got a mapping");
    char long_hex[160];
    snprintf(long_hex, sizeof(long_hex), "auth:\n  reader_tokens_sha256: %sg\n", admin_hex);
    EXPECT_CFG_ERR(long_hex, "auth.reader_tokens_sha256: expected 64 hex digits");
    /* A file's list replaces; an empty list means none. */
    c = from_yaml("auth:\n  admin_tokens_sha256: []\n");
    assert_int_equal(c->n_admin_tokens, 0);
    assert_int_equal(vd_config_auth(c, "", 0), VD_AUTH_NONE);
    vd_config_free(&c);
    unlink(file);
    free(file);
}

static void test_config_open_log(void **state)
{
    (void)state;
    vd_config_t *c = defaults();
    vd_error_t err = {0};
    int fd = 99;
    assert_int_equal(vd_config_open_log(c, &fd, &err), VD_OK);
    assert_int_equal(fd, 1); /* "-" = standard output */
    assert_int_equal(vd_config_set(c, "log.access", "false", &err), VD_OK);
    assert_int_equal(vd_config_open_log(c, &fd, &err), VD_OK);
    assert_int_equal(fd, -1);
    char path[] = "/tmp/vd-config-log-XXXXXX";
    int tmp = mkstemp(path);
    assert_true(tmp >= 0);
    assert_int_equal(write(tmp, "old\n", 4), 4);
    close(tmp);
    assert_int_equal(vd_config_set(c, "log.access", "true", &err), VD_OK);
    assert_int_equal(vd_config_set(c, "log.file", path, &err), VD_OK);
    assert_int_equal(vd_config_open_log(c, &fd, &err), VD_OK);
    assert_true(fd > 2);
    assert_int_equal(write(fd, "new\n", 4), 4); /* appended, not truncated */
    close(fd);
    FILE *f = fopen(path, "r");
    char buf[16] = "";
    assert_int_equal(fread(buf, 1, sizeof(buf) - 1, f), 8);
    fclose(f);
    assert_string_equal(buf, "old\nnew\n");
    unlink(path);
    assert_int_equal(vd_config_set(c, "log.file", "/nonexistent/dir/access.log", &err), VD_OK);
    assert_int_equal(vd_config_open_log(c, &fd, &err), VD_E_IO);
    assert_int_equal(fd, -1);
    assert_non_null(strstr(err.msg, "log.file: cannot open /nonexistent/dir/access.log"));
    vd_config_free(&c);
}

/* ---- formatting and documentation ---------------------------------------------------------- */

static void test_config_format_round_trip(void **state)
{
    (void)state;
    vd_config_t *c = from_yaml("listen: [\"0.0.0.0:9000\", \"[::1]:9001\"]\n"
                               "db: \"we\\\"ird \\\\ path.db\"\n"
                               "signing:\n  alg: EdDSA\n"
                               "appraisal:\n  collateral_unavailable: \"503\"\n"
                               "audit:\n  synchronous: NORMAL\n  max_rows: 0\n"
                               "kds:\n  offline: true\n");
    char *a = NULL, *b = NULL;
    vd_error_t err = {0};
    assert_int_equal(vd_config_format(c, &a, &err), VD_OK);
    vd_config_t *d = defaults();
    assert_int_equal(vd_config_apply_yaml(d, a, strlen(a), "formatted", &err), VD_OK);
    assert_string_equal(d->db, "we\"ird \\ path.db");
    assert_int_equal(d->signing_alg, VD_SIGALG_EDDSA);
    assert_int_equal(vd_config_format(d, &b, &err), VD_OK);
    assert_string_equal(a, b);
    free(a);
    free(b);
    vd_config_free(&c);
    vd_config_free(&d);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fail_msg("cannot open %s", path);
    }
    char *buf = calloc(1, 256 * 1024);
    assert_non_null(buf);
    size_t n = fread(buf, 1, 256 * 1024 - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* docs/configuration.md has a row per key with its variable and its default. */
static void test_config_documentation(void **state)
{
    (void)state;
    char *doc = read_text(VD_SOURCE_DIR "/docs/configuration.md");
    vd_config_key_info_t keys[128];
    size_t n = vd_config_keys(keys, 128);
    for (size_t i = 0; i < n; i++) {
        char head[128], def[128];
        snprintf(head, sizeof(head), "\n| `%s` | ", keys[i].key);
        const char *row = strstr(doc, head);
        if (row == NULL) {
            fail_msg("docs/configuration.md has no row for %s", keys[i].key);
        }
        const char *end = strchr(row + 1, '\n');
        char line[2048];
        snprintf(line, sizeof(line), "%.*s", (int)(end - row), row);
        snprintf(def, sizeof(def), "%s", keys[i].def[0] ? keys[i].def : "\"\"");
        if (keys[i].env != NULL && strstr(line, keys[i].env) == NULL) {
            fail_msg("the row of %s does not name %s", keys[i].key, keys[i].env);
        }
        if (strstr(line, def) == NULL) {
            fail_msg("the row of %s does not give the default %s", keys[i].key, def);
        }
    }
    free(doc);
}

/* docs/verdict.example.yaml is valid and sets every key. */
static void test_config_example_validates(void **state)
{
    (void)state;
    vd_error_t err = {0};
    const char *path = VD_SOURCE_DIR "/docs/verdict.example.yaml";
    if (vd_config_check_file(path, &err) != VD_OK) {
        fail_msg("%s", err.msg);
    }
    char *text = read_text(path);
    vd_config_key_info_t keys[128];
    size_t n = vd_config_keys(keys, 128);
    for (size_t i = 0; i < n; i++) {
        const char *dot = strchr(keys[i].key, '.');
        char want[96];
        snprintf(want, sizeof(want), "%s%s:", dot ? "\n  " : "\n", dot ? dot + 1 : keys[i].key);
        if (strstr(text, want) == NULL) {
            fail_msg("the example does not set %s", keys[i].key);
        }
    }
    vd_config_t *c = NULL;
    assert_int_equal(vd_config_load(path, &c, &err), VD_OK);
    assert_int_equal(c->n_admin_tokens, 1);
    assert_int_equal(c->collateral_unavailable, VD_COLLATERAL_503);
    vd_config_free(&c);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_config_defaults, setup),
        cmocka_unit_test_setup(test_config_empty_file, setup),
        cmocka_unit_test_setup(test_config_documented_defaults_are_real, setup),
        cmocka_unit_test_setup(test_config_file_every_section, setup),
        cmocka_unit_test_setup(test_config_file_unknown_key, setup),
        cmocka_unit_test_setup(test_config_file_wrong_types, setup),
        cmocka_unit_test_setup(test_config_file_listen, setup),
        cmocka_unit_test_setup(test_config_file_yaml_errors, setup),
        cmocka_unit_test_setup(test_config_tls_pair, setup),
        cmocka_unit_test_setup(test_config_check_file, setup),
        cmocka_unit_test_setup(test_config_env_overrides, setup),
        cmocka_unit_test_setup(test_config_tokens, setup),
        cmocka_unit_test_setup(test_config_open_log, setup),
        cmocka_unit_test_setup(test_config_format_round_trip, setup),
        cmocka_unit_test_setup(test_config_documentation, setup),
        cmocka_unit_test_setup(test_config_example_validates, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
