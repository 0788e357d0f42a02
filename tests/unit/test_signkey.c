/*
 * Result-signing keys (verifier/ear/signkey.c, jwk.c, keyring.c, keyfile.c): RFC 7638 and
 * RFC 8037 known answers, JWS signature shapes for every algorithm, PEM and file handling,
 * rotation and the published JWKS, concurrent signing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "verdict/base64.h"
#include "verdict/signkey.h"
#include "../../verifier/ear/ear_internal.h"

static const vd_sigalg_t all_algs[] = {VD_SIGALG_ES256, VD_SIGALG_ES384, VD_SIGALG_EDDSA};

/* RFC 8037 appendix A.1: the Ed25519 private key (d = nWGxne_9...) as PKCS#8. */
static const char rfc8037_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";

static char tmpdir[64];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/vd_signkey_XXXXXX");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown_dir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_in(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", tmpdir, name);
}

static void test_jwk_thumbprint_rfc7638_example(void **state)
{
    (void)state;
    /* RFC 7638 section 3.1; the extra members (alg, kid) must not change the result. */
    json_t *jwk = json_pack(
        "{ssssssssss}", "kty", "RSA", "n",
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
        "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
        "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
        "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-"
        "kEgU8awapJzKnqDKgw",
        "e", "AQAB", "alg", "RS256", "kid", "2011-04-29");
    char tp[VD_KID_MAX];
    assert_int_equal(vd_jwk_thumbprint(jwk, tp, NULL), VD_OK);
    assert_string_equal(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    json_decref(jwk);
}

static void test_jwk_thumbprint_rejects_incomplete(void **state)
{
    (void)state;
    char tp[VD_KID_MAX];
    vd_error_t err = {0};
    json_t *jwk = json_pack("{ssssss}", "kty", "EC", "crv", "P-256", "x", "AAAA");
    assert_int_equal(vd_jwk_thumbprint(jwk, tp, &err), VD_E_MALFORMED);
    assert_non_null(strstr(err.msg, "\"y\""));
    json_decref(jwk);
    jwk = json_pack("{ss}", "kty", "oct");
    assert_int_equal(vd_jwk_thumbprint(jwk, tp, NULL), VD_E_UNSUPPORTED);
    json_decref(jwk);
    assert_int_equal(vd_jwk_thumbprint(NULL, tp, NULL), VD_E_MALFORMED);
}

/* RFC 8037 appendix A: public key, thumbprint (A.3) and the deterministic signature (A.4). */
static void test_signkey_ed25519_rfc8037_known_answers(void **state)
{
    (void)state;
    vd_signkey_t *k = NULL;
    vd_error_t err = {0};
    const char *signing_input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
    uint8_t sig[VD_SIG_MAX];
    size_t sig_len = 0;
    assert_int_equal(vd_signkey_from_pem(rfc8037_pem, strlen(rfc8037_pem), &k, &err), VD_OK);
    assert_int_equal(vd_signkey_alg(k), VD_SIGALG_EDDSA);
    assert_string_equal(vd_signkey_kid(k), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    json_t *jwk = vd_signkey_jwk(k);
    assert_string_equal(json_string_value(json_object_get(jwk, "kty")), "OKP");
    assert_string_equal(json_string_value(json_object_get(jwk, "crv")), "Ed25519");
    assert_string_equal(json_string_value(json_object_get(jwk, "x")),
                        "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
    assert_string_equal(json_string_value(json_object_get(jwk, "alg")), "EdDSA");
    assert_null(json_object_get(jwk, "d"));
    json_decref(jwk);
    assert_int_equal(vd_signkey_sign(k, (const uint8_t *)signing_input, strlen(signing_input), sig,
                                     &sig_len, &err),
                     VD_OK);
    char *b64 = vd_ear__b64url(sig, sig_len);
    assert_string_equal(b64, "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVs"
                             "Pt9g7sVvpAr_MuM0KAg");
    free(b64);
    vd_signkey_free(&k);
    assert_null(k);
}

static void test_signkey_all_algs_sign_and_verify(void **state)
{
    (void)state;
    static const char *const crv[] = {"P-256", "P-384", "Ed25519"};
    static const size_t coord_chars[] = {43, 64, 43};
    for (size_t a = 0; a < 3; a++) {
        vd_signkey_t *k = NULL;
        vd_error_t err = {0};
        uint8_t sig[VD_SIG_MAX];
        size_t sig_len = 0;
        const uint8_t msg[] = "header.payload";
        assert_int_equal(vd_signkey_generate(all_algs[a], &k, &err), VD_OK);
        assert_int_equal(vd_signkey_alg(k), all_algs[a]);
        assert_int_equal(strlen(vd_signkey_kid(k)), 43);

        json_t *jwk = vd_signkey_jwk(k);
        assert_string_equal(json_string_value(json_object_get(jwk, "crv")), crv[a]);
        assert_string_equal(json_string_value(json_object_get(jwk, "alg")),
                            vd_sigalg_name(all_algs[a]));
        assert_string_equal(json_string_value(json_object_get(jwk, "use")), "sig");
        assert_string_equal(json_string_value(json_object_get(jwk, "kid")), vd_signkey_kid(k));
        assert_int_equal(strlen(json_string_value(json_object_get(jwk, "x"))), coord_chars[a]);
        if (all_algs[a] != VD_SIGALG_EDDSA) {
            assert_int_equal(strlen(json_string_value(json_object_get(jwk, "y"))), coord_chars[a]);
        }
        char tp[VD_KID_MAX];
        assert_int_equal(vd_jwk_thumbprint(jwk, tp, NULL), VD_OK);
        assert_string_equal(tp, vd_signkey_kid(k));

        /* R||S (or raw Ed25519), not DER: exactly 64/96/64 bytes. */
        assert_int_equal(vd_signkey_sign(k, msg, sizeof msg, sig, &sig_len, &err), VD_OK);
        assert_int_equal(sig_len, vd_sigalg_sig_len(all_algs[a]));
        assert_int_equal(sig_len, all_algs[a] == VD_SIGALG_ES384 ? 96 : 64);

        /* The published JWK verifies it; a changed message or signature does not. */
        EVP_PKEY *pub = NULL;
        vd_sigalg_t alg;
        char why[128];
        assert_int_equal(vd_ear__jwk_to_pkey(jwk, &pub, &alg, why, sizeof why), 0);
        assert_int_equal(alg, all_algs[a]);
        assert_int_equal(vd_ear__jws_verify_sig(pub, alg, msg, sizeof msg, sig, sig_len), 1);
        assert_int_equal(vd_ear__jws_verify_sig(pub, alg, msg, sizeof msg - 1, sig, sig_len), 0);
        sig[3] ^= 1;
        assert_int_equal(vd_ear__jws_verify_sig(pub, alg, msg, sizeof msg, sig, sig_len), 0);
        sig[3] ^= 1;
        assert_int_equal(vd_ear__jws_verify_sig(pub, alg, msg, sizeof msg, sig, sig_len - 1), 0);
        EVP_PKEY_free(pub);
        json_decref(jwk);

        /* PEM round trip keeps the key. */
        char *pem = NULL;
        size_t pem_len = 0;
        vd_signkey_t *k2 = NULL;
        assert_int_equal(vd_signkey_to_pem(k, &pem, &pem_len, &err), VD_OK);
        assert_non_null(strstr(pem, "BEGIN PRIVATE KEY"));
        assert_int_equal(vd_signkey_from_pem(pem, pem_len, &k2, &err), VD_OK);
        assert_string_equal(vd_signkey_kid(k2), vd_signkey_kid(k));
        vd_signkey_pem_free(pem, pem_len);
        vd_signkey_free(&k2);
        vd_signkey_free(&k);
    }
}

static void test_sigalg_names(void **state)
{
    (void)state;
    vd_sigalg_t a;
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(vd_sigalg_from_name(vd_sigalg_name(all_algs[i]), &a), 0);
        assert_int_equal(a, all_algs[i]);
    }
    assert_int_equal(vd_sigalg_from_name("none", &a), -1);
    assert_int_equal(vd_sigalg_from_name("es256", &a), -1);
    assert_int_equal(vd_sigalg_from_name("RS256", &a), -1);
    assert_int_equal(vd_sigalg_from_name(NULL, &a), -1);
}

static char *pem_of(EVP_PKEY *pkey, const EVP_CIPHER *enc)
{
    BIO *bio = BIO_new(BIO_s_mem());
    BUF_MEM *mem = NULL;
    assert_int_equal(
        PEM_write_bio_PrivateKey(bio, pkey, enc, (unsigned char *)(uintptr_t) "pw", 2, NULL, NULL),
        1);
    BIO_get_mem_ptr(bio, &mem);
    char *s = strndup(mem->data, mem->length);
    BIO_free(bio);
    return s;
}

static void test_signkey_from_pem_refuses_other_keys(void **state)
{
    (void)state;
    vd_signkey_t *k = NULL;
    vd_error_t err = {0};
    EVP_PKEY *p521 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
    EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *x25519 = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    char *pem = pem_of(p521, NULL);
    assert_int_equal(vd_signkey_from_pem(pem, strlen(pem), &k, &err), VD_E_UNSUPPORTED);
    assert_null(k);
    free(pem);
    pem = pem_of(x25519, NULL);
    assert_int_equal(vd_signkey_from_pem(pem, strlen(pem), &k, NULL), VD_E_UNSUPPORTED);
    free(pem);
    /* Encrypted: refused without prompting for a passphrase. */
    pem = pem_of(p256, EVP_aes_128_cbc());
    assert_non_null(strstr(pem, "ENCRYPTED"));
    assert_int_equal(vd_signkey_from_pem(pem, strlen(pem), &k, NULL), VD_E_MALFORMED);
    free(pem);
    /* A SEC1 "EC PRIVATE KEY" file is accepted. */
    BIO *bio = BIO_new(BIO_s_mem());
    BUF_MEM *mem = NULL;
    assert_int_equal(PEM_write_bio_PrivateKey_traditional(bio, p256, NULL, NULL, 0, NULL, NULL), 1);
    BIO_get_mem_ptr(bio, &mem);
    assert_non_null(strstr(mem->data, "EC PRIVATE KEY"));
    assert_int_equal(vd_signkey_from_pem(mem->data, mem->length, &k, NULL), VD_OK);
    assert_int_equal(vd_signkey_alg(k), VD_SIGALG_ES256);
    vd_signkey_free(&k);
    BIO_free(bio);
    assert_int_equal(vd_signkey_from_pem("garbage", 7, &k, NULL), VD_E_MALFORMED);
    assert_int_equal(vd_signkey_from_pem("", 0, &k, NULL), VD_E_MALFORMED);
    EVP_PKEY_free(p521);
    EVP_PKEY_free(p256);
    EVP_PKEY_free(x25519);
}

static void test_signkey_files_0600_and_never_overwritten(void **state)
{
    (void)state;
    char path[128];
    struct stat st;
    vd_signkey_t *k = NULL, *k2 = NULL, *k3 = NULL;
    vd_error_t err = {0};
    int created = -1;
    path_in(path, sizeof path, "files.pem");
    mode_t old = umask(0);
    assert_int_equal(vd_signkey_load_or_create(path, VD_SIGALG_ES384, &k, &created, &err), VD_OK);
    umask(old);
    assert_int_equal(created, 1);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* Second start: the same key, whatever algorithm is asked for. */
    assert_int_equal(vd_signkey_load_or_create(path, VD_SIGALG_EDDSA, &k2, &created, &err), VD_OK);
    assert_int_equal(created, 0);
    assert_int_equal(vd_signkey_alg(k2), VD_SIGALG_ES384);
    assert_string_equal(vd_signkey_kid(k2), vd_signkey_kid(k));
    /* save never replaces an existing file. */
    assert_int_equal(vd_signkey_generate(VD_SIGALG_ES256, &k3, &err), VD_OK);
    vd_error_clear(&err);
    assert_int_equal(vd_signkey_save(k3, path, &err), VD_E_IO);
    assert_non_null(strstr(err.msg, "already exists"));
    vd_signkey_free(&k2);
    assert_int_equal(vd_signkey_load(path, &k2, &err), VD_OK);
    assert_string_equal(vd_signkey_kid(k2), vd_signkey_kid(k));
    /* No temporary file is left behind. */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -q tmp", tmpdir);
    assert_int_not_equal(system(cmd), 0);
    /* A damaged file is an error, not a new key. */
    char bad[128];
    path_in(bad, sizeof bad, "bad.pem");
    FILE *f = fopen(bad, "w");
    fputs("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", f);
    fclose(f);
    vd_signkey_free(&k2);
    assert_int_equal(vd_signkey_load_or_create(bad, VD_SIGALG_ES256, &k2, &created, NULL),
                     VD_E_MALFORMED);
    assert_null(k2);
    vd_signkey_free(&k);
    vd_signkey_free(&k3);
}

static int jwks_has(const json_t *jwks, const char *kid)
{
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(jwks, "keys"), i, k)
    {
        if (strcmp(json_string_value(json_object_get(k, "kid")), kid) == 0) {
            return 1;
        }
    }
    return 0;
}

static void test_keyring_rotation_keeps_old_kid(void **state)
{
    (void)state;
    char path[128], rpath[160];
    vd_keyring_t *kr = NULL, *kr2 = NULL;
    vd_error_t err = {0};
    int created = 0;
    const int64_t now = 1767225600, ttl = 300;
    path_in(path, sizeof path, "ring.pem");
    snprintf(rpath, sizeof rpath, "%s.retired.json", path);
    assert_int_equal(vd_keyring_open(path, VD_SIGALG_ES256, ttl, now, &kr, &created, &err), VD_OK);
    assert_int_equal(created, 1);
    vd_signkey_t *old = vd_keyring_signer(kr);
    char old_kid[VD_KID_MAX];
    snprintf(old_kid, sizeof old_kid, "%s", vd_signkey_kid(old));
    json_t *jwks = vd_keyring_jwks(kr, now);
    assert_int_equal(json_array_size(json_object_get(jwks, "keys")), 1);
    json_decref(jwks);

    assert_int_equal(vd_keyring_rotate(kr, VD_SIGALG_EDDSA, now + 10, &err), VD_OK);
    vd_signkey_t *cur = vd_keyring_signer(kr);
    assert_string_not_equal(vd_signkey_kid(cur), old_kid);
    assert_int_equal(vd_signkey_alg(cur), VD_SIGALG_EDDSA);
    /* The signer taken before the rotation still works. */
    uint8_t sig[VD_SIG_MAX];
    size_t sig_len;
    assert_int_equal(vd_signkey_sign(old, (const uint8_t *)"x", 1, sig, &sig_len, &err), VD_OK);
    jwks = vd_keyring_jwks(kr, now + 10);
    assert_int_equal(json_array_size(json_object_get(jwks, "keys")), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(jwks, "keys"), 0), "kid")),
        vd_signkey_kid(cur));
    assert_true(jwks_has(jwks, old_kid));
    json_decref(jwks);

    /* Discovery lists both algorithms, once each, and the JWKS under the issuer. */
    json_t *oidc = vd_keyring_openid_configuration(kr, "https://verdict.example/", now + 10);
    assert_non_null(oidc);
    assert_string_equal(json_string_value(json_object_get(oidc, "issuer")),
                        "https://verdict.example");
    assert_string_equal(json_string_value(json_object_get(oidc, "jwks_uri")),
                        "https://verdict.example/.well-known/jwks.json");
    json_t *algs = json_object_get(oidc, "id_token_signing_alg_values_supported");
    assert_int_equal(json_array_size(algs), 2);
    assert_string_equal(json_string_value(json_array_get(algs, 0)), "EdDSA");
    assert_string_equal(json_string_value(json_array_get(algs, 1)), "ES256");
    json_decref(oidc);

    /* A restart keeps publishing the retired key... */
    struct stat st;
    assert_int_equal(stat(rpath, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(vd_keyring_open(path, VD_SIGALG_ES256, ttl, now + 20, &kr2, &created, &err),
                     VD_OK);
    assert_int_equal(created, 0);
    jwks = vd_keyring_jwks(kr2, now + 20);
    assert_true(jwks_has(jwks, old_kid));
    assert_true(jwks_has(jwks, vd_signkey_kid(cur)));
    json_decref(jwks);
    /* ...until its last token has expired (retired_at + ttl + grace). */
    jwks = vd_keyring_jwks(kr2, now + 10 + ttl + VD_KEYRING_GRACE_S);
    assert_true(jwks_has(jwks, old_kid));
    json_decref(jwks);
    jwks = vd_keyring_jwks(kr2, now + 10 + ttl + VD_KEYRING_GRACE_S + 1);
    assert_false(jwks_has(jwks, old_kid));
    assert_int_equal(json_array_size(json_object_get(jwks, "keys")), 1);
    json_decref(jwks);

    /* Offline rotation (verdict token rotate), picked up by reload. */
    vd_signkey_t *offline = NULL;
    assert_int_equal(vd_signkey_rotate(path, VD_SIGALG_ES384, ttl, now + 30, &offline, &err),
                     VD_OK);
    assert_int_equal(vd_keyring_reload(kr2, now + 30, &err), VD_OK);
    vd_signkey_t *after = vd_keyring_signer(kr2);
    assert_string_equal(vd_signkey_kid(after), vd_signkey_kid(offline));
    jwks = vd_keyring_jwks(kr2, now + 30);
    assert_int_equal(json_array_size(json_object_get(jwks, "keys")), 3);
    assert_true(jwks_has(jwks, old_kid));
    assert_true(jwks_has(jwks, vd_signkey_kid(cur)));
    json_decref(jwks);

    vd_signkey_free(&after);
    vd_signkey_free(&offline);
    vd_signkey_free(&cur);
    vd_signkey_free(&old);
    vd_keyring_free(&kr2);
    vd_keyring_free(&kr);
    assert_null(kr);
}

static void test_keyring_refuses_damaged_retired_list(void **state)
{
    (void)state;
    char path[128], rpath[160];
    vd_keyring_t *kr = NULL;
    vd_error_t err = {0};
    path_in(path, sizeof path, "damaged.pem");
    snprintf(rpath, sizeof rpath, "%s.retired.json", path);
    assert_int_equal(vd_keyring_open(path, VD_SIGALG_ES256, 300, 1000, &kr, NULL, &err), VD_OK);
    assert_int_equal(vd_keyring_rotate(kr, VD_SIGALG_ES256, 1000, &err), VD_OK);
    vd_keyring_free(&kr);

    /* Swap the kid of the retired entry: its JWK no longer matches. */
    json_t *doc = json_load_file(rpath, 0, NULL);
    json_t *e = json_array_get(json_object_get(doc, "retired"), 0);
    json_object_set_new(e, "kid", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    assert_int_equal(json_dump_file(doc, rpath, 0), 0);
    json_decref(doc);
    assert_int_equal(vd_keyring_open(path, VD_SIGALG_ES256, 300, 1000, &kr, NULL, &err),
                     VD_E_CONFIG);
    assert_null(kr);
    FILE *f = fopen(rpath, "w");
    fputs("{not json", f);
    fclose(f);
    assert_int_equal(vd_keyring_open(path, VD_SIGALG_ES256, 300, 1000, &kr, NULL, NULL),
                     VD_E_CONFIG);
    /* Rotation needs an existing key. */
    char none[128];
    path_in(none, sizeof none, "absent.pem");
    assert_int_equal(vd_signkey_rotate(none, VD_SIGALG_ES256, 300, 1000, NULL, NULL), VD_E_IO);
}

/* Workers sign concurrently with one shared key; every signature must verify. */
typedef struct sign_job {
    vd_signkey_t *key;
    EVP_PKEY *pub;
    int bad;
} sign_job_t;

static void *sign_worker(void *arg)
{
    sign_job_t *j = arg;
    for (int i = 0; i < 200; i++) {
        uint8_t msg[32], sig[VD_SIG_MAX];
        size_t sig_len = 0;
        snprintf((char *)msg, sizeof msg, "message %d", i);
        if (vd_signkey_sign(j->key, msg, sizeof msg, sig, &sig_len, NULL) != VD_OK ||
            vd_ear__jws_verify_sig(j->pub, vd_signkey_alg(j->key), msg, sizeof msg, sig, sig_len) !=
                1) {
            j->bad++;
        }
    }
    return NULL;
}

static void test_signkey_concurrent_signing(void **state)
{
    (void)state;
    for (size_t a = 0; a < 3; a++) {
        vd_signkey_t *k = NULL;
        assert_int_equal(vd_signkey_generate(all_algs[a], &k, NULL), VD_OK);
        json_t *jwk = vd_signkey_jwk(k);
        EVP_PKEY *pub = NULL;
        vd_sigalg_t alg;
        char why[128];
        assert_int_equal(vd_ear__jwk_to_pkey(jwk, &pub, &alg, why, sizeof why), 0);
        pthread_t th[4];
        sign_job_t jobs[4];
        for (int i = 0; i < 4; i++) {
            jobs[i] = (sign_job_t){.key = k, .pub = pub, .bad = 0};
            assert_int_equal(pthread_create(&th[i], NULL, sign_worker, &jobs[i]), 0);
        }
        for (int i = 0; i < 4; i++) {
            pthread_join(th[i], NULL);
            assert_int_equal(jobs[i].bad, 0);
        }
        EVP_PKEY_free(pub);
        json_decref(jwk);
        vd_signkey_free(&k);
    }
}

/* Replicas (or threads) starting together on one key path agree on one key. */
typedef struct race {
    const char *path;
    char kid[VD_KID_MAX];
    int created;
    vd_err_t rc;
} race_t;

static void *race_worker(void *arg)
{
    race_t *r = arg;
    vd_signkey_t *k = NULL;
    r->rc = vd_signkey_load_or_create(r->path, VD_SIGALG_ES256, &k, &r->created, NULL);
    if (k != NULL) {
        snprintf(r->kid, sizeof r->kid, "%s", vd_signkey_kid(k));
    }
    vd_signkey_free(&k);
    return NULL;
}

static void test_signkey_load_or_create_race_agrees(void **state)
{
    (void)state;
    char path[128];
    pthread_t th[6];
    race_t r[6];
    int created = 0;
    path_in(path, sizeof path, "race.pem");
    for (int i = 0; i < 6; i++) {
        r[i] = (race_t){.path = path};
        assert_int_equal(pthread_create(&th[i], NULL, race_worker, &r[i]), 0);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(th[i], NULL);
    }
    for (int i = 0; i < 6; i++) {
        assert_int_equal(r[i].rc, VD_OK);
        assert_string_equal(r[i].kid, r[0].kid);
        created += r[i].created;
    }
    assert_int_equal(created, 1);
}

static void test_jwk_to_pkey_refusals(void **state)
{
    (void)state;
    vd_signkey_t *k = NULL;
    EVP_PKEY *pub = NULL;
    vd_sigalg_t alg;
    char why[160];
    assert_int_equal(vd_signkey_generate(VD_SIGALG_ES256, &k, NULL), VD_OK);
    json_t *good = vd_signkey_jwk(k);
    struct {
        const char *key;
        json_t *value; /* NULL: delete the member */
        const char *why;
    } cases[] = {
        {"alg", json_string("ES384"), "does not fit"},
        {"alg", json_string("none"), "does not fit"},
        {"alg", json_integer(7), "does not fit"},
        {"crv", json_string("P-521"), "not supported"},
        {"use", json_string("enc"), "\"use\""},
        {"key_ops", json_pack("[s]", "sign"), "key_ops"},
        {"d", json_string("AAAA"), "private"},
        {"x", json_string("AAAA"), "32 bytes"},
        {"y", NULL, "\"y\""},
        {"y", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), "not a valid"},
        {"x", json_string("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo="), "base64url"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *j = json_deep_copy(good);
        if (cases[i].value == NULL) {
            json_object_del(j, cases[i].key);
        } else {
            json_object_set_new(j, cases[i].key, cases[i].value);
        }
        why[0] = '\0';
        assert_int_equal(vd_ear__jwk_to_pkey(j, &pub, &alg, why, sizeof why), -1);
        assert_null(pub);
        if (strstr(why, cases[i].why) == NULL) {
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, why, cases[i].why);
        }
        json_decref(j);
    }
    /* Without alg the key type decides (and pins) it. */
    json_object_del(good, "alg");
    assert_int_equal(vd_ear__jwk_to_pkey(good, &pub, &alg, why, sizeof why), 0);
    assert_int_equal(alg, VD_SIGALG_ES256);
    EVP_PKEY_free(pub);
    json_decref(good);
    vd_signkey_free(&k);
}

static void test_base64_encode_forms(void **state)
{
    (void)state;
    char out[16];
    const uint8_t b[] = {0xfb, 0xff, 0x01, 0x02};
    assert_int_equal(vd_base64_encode(b, 4, VD_B64_STD_PAD, out, sizeof out), 8);
    assert_string_equal(out, "+/8BAg==");
    assert_int_equal(vd_base64_encode(b, 4, VD_B64_URL_PAD, out, sizeof out), 8);
    assert_string_equal(out, "-_8BAg==");
    assert_int_equal(vd_base64_encode(b, 4, VD_B64_URL_NOPAD, out, sizeof out), 6);
    assert_string_equal(out, "-_8BAg");
    assert_int_equal(vd_base64_encode(b, 3, VD_B64_URL_NOPAD, out, sizeof out), 4);
    assert_string_equal(out, "-_8B");
    assert_int_equal(vd_base64_encode(b, 0, VD_B64_STD_PAD, out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(vd_base64_encode(b, 4, VD_B64_STD_PAD, out, 8), (size_t)-1);
    uint8_t *dec = NULL;
    size_t n = 0;
    assert_int_equal(vd_ear__b64url_decode("-_8BAg", 6, &dec, &n), 0);
    assert_int_equal(n, 4);
    assert_memory_equal(dec, b, 4);
    free(dec);
    assert_int_equal(vd_ear__b64url_decode("-_8BAg==", 8, &dec, &n), -1);
    assert_int_equal(vd_ear__b64url_decode("+/8BAg", 6, &dec, &n), -1);
    assert_int_equal(vd_ear__b64url_decode("-_8 BAg", 7, &dec, &n), -1);
    assert_null(dec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jwk_thumbprint_rfc7638_example),
        cmocka_unit_test(test_jwk_thumbprint_rejects_incomplete),
        cmocka_unit_test(test_signkey_ed25519_rfc8037_known_answers),
        cmocka_unit_test(test_signkey_all_algs_sign_and_verify),
        cmocka_unit_test(test_sigalg_names),
        cmocka_unit_test(test_signkey_from_pem_refuses_other_keys),
        cmocka_unit_test(test_signkey_files_0600_and_never_overwritten),
        cmocka_unit_test(test_keyring_rotation_keeps_old_kid),
        cmocka_unit_test(test_keyring_refuses_damaged_retired_list),
        cmocka_unit_test(test_signkey_concurrent_signing),
        cmocka_unit_test(test_signkey_load_or_create_race_agrees),
        cmocka_unit_test(test_jwk_to_pkey_refusals),
        cmocka_unit_test(test_base64_encode_forms),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
