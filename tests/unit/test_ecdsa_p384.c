/*
 * The report signature check (verifier/snp/ecdsa_p384.c, Nettle's secp384r1) against OpenSSL's
 * EVP ECDSA verification as the reference: on real reports, on signatures made here with fresh
 * keys, on every kind of mutation (signed bytes, R, S, key), and on the edge values of R and S.
 * The two must agree on every input; a single disagreement is a wrong accept or a wrong refusal.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "verdict/chain.h"
#include "verdict/report.h"
#include "vectors.h"

/* P-384's group order n, big-endian. */
static const uint8_t P384_N[48] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xC7, 0x63, 0x4D, 0x81, 0xF4, 0x37, 0x2D, 0xDF,
    0x58, 0x1A, 0x0D, 0xB2, 0x48, 0xB0, 0xA7, 0x7A, 0xEC, 0xEC, 0x19, 0x6A, 0xCC, 0xC5, 0x29, 0x73};

/* The reference: OpenSSL's EVP verification of R, S (little-endian, as in the report). */
static int reference_verify(const vd_snp_report_t *r, EVP_PKEY *key)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *br = BN_lebin2bn(r->sig_r, 48, NULL), *bs = BN_lebin2bn(r->sig_s, 48, NULL);
    assert_non_null(sig);
    assert_int_equal(ECDSA_SIG_set0(sig, br, bs), 1);
    unsigned char *der = NULL;
    int der_len = i2d_ECDSA_SIG(sig, &der);
    assert_true(der_len > 0);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit_ex(md, NULL, "SHA384", NULL, NULL, key, NULL), 1);
    int ok = EVP_DigestVerify(md, der, (size_t)der_len, r->raw, VD_SNP_SIGNED_SIZE) == 1;
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
    return ok;
}

/* Both verifications of `r` with `key`; asserts they agree and returns the answer. */
static int both(const vd_snp_report_t *r, EVP_PKEY *key)
{
    char detail[256];
    int ours = vd_snp_report_signed_by(r, key, detail, sizeof(detail));
    int ref = reference_verify(r, key);
    if (ours != ref) {
        fail_msg("disagreement: verdict says %d (%s), OpenSSL says %d", ours, detail, ref);
    }
    return ours;
}

static EVP_PKEY *new_p384_key(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-384");
    assert_non_null(k);
    return k;
}

/* A report-shaped buffer with random signed bytes, signed by `key` (R, S little-endian). */
static void sign_random(vd_snp_report_t *r, EVP_PKEY *key)
{
    memset(r, 0, sizeof(*r));
    assert_int_equal(RAND_bytes(r->raw, VD_SNP_SIGNED_SIZE), 1);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char der[128];
    size_t der_len = sizeof(der);
    assert_int_equal(EVP_DigestSignInit_ex(md, NULL, "SHA384", NULL, NULL, key, NULL), 1);
    assert_int_equal(EVP_DigestSign(md, der, &der_len, r->raw, VD_SNP_SIGNED_SIZE), 1);
    EVP_MD_CTX_free(md);
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    assert_non_null(sig);
    assert_int_equal(BN_bn2lebinpad(ECDSA_SIG_get0_r(sig), r->sig_r, 48), 48);
    assert_int_equal(BN_bn2lebinpad(ECDSA_SIG_get0_s(sig), r->sig_s, 48), 48);
    ECDSA_SIG_free(sig);
}

static void flip_random_bit(uint8_t *buf, size_t len)
{
    uint32_t x;
    assert_int_equal(RAND_bytes((unsigned char *)&x, sizeof(x)), 1);
    buf[(x >> 3) % len] ^= (uint8_t)(1u << (x & 7));
}

/* Little-endian 48 bytes of the big-endian `be`, plus `add` (which may be negative). */
static void le_of(const uint8_t be[48], int add, uint8_t out[48])
{
    BIGNUM *b = BN_bin2bn(be, 48, NULL);
    assert_non_null(b);
    if (add >= 0) {
        assert_int_equal(BN_add_word(b, (BN_ULONG)add), 1);
    } else {
        assert_int_equal(BN_sub_word(b, (BN_ULONG)-add), 1);
    }
    memset(out, 0, 48);
    if (BN_num_bytes(b) <= 48) {
        assert_int_equal(BN_bn2lebinpad(b, out, 48), 48);
    } else {
        memset(out, 0xFF, 48); /* 2^384 - 1: above n all the same */
    }
    BN_free(b);
}

static void test_real_turin_report_and_its_bit_flips(void **state)
{
    (void)state;
    size_t len, pem_len;
    uint8_t *raw = vd_test_read_vector("mstav-tests/turin_attestation_report.bin", &len);
    uint8_t *pem = vd_test_read_vector("mstav-tests/turin_vcek.pem", &pem_len);
    BIO *bio = BIO_new_mem_buf(pem, (int)pem_len);
    X509 *vcek = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    assert_non_null(vcek);
    vd_snp_report_t r;
    assert_int_equal(vd_snp_report_parse(raw, len, &r, NULL), VD_OK);
    EVP_PKEY *key = X509_get0_pubkey(vcek);
    assert_true(both(&r, key));
    for (int i = 0; i < 64; i++) {
        vd_snp_report_t m = r;
        flip_random_bit(m.raw, VD_SNP_SIGNED_SIZE);
        assert_false(both(&m, key));
        m = r;
        flip_random_bit(i % 2 ? m.sig_r : m.sig_s, 48);
        assert_false(both(&m, key));
    }
    /* Another P-384 key does not verify it. */
    EVP_PKEY *other = new_p384_key();
    assert_false(both(&r, other));
    EVP_PKEY_free(other);
    X509_free(vcek);
    BIO_free(bio);
    free(pem);
    free(raw);
}

static void test_fresh_keys_valid_and_mutated(void **state)
{
    (void)state;
    for (int k = 0; k < 48; k++) {
        EVP_PKEY *key = new_p384_key(), *other = new_p384_key();
        vd_snp_report_t r, m;
        sign_random(&r, key);
        assert_true(both(&r, key));
        assert_false(both(&r, other));
        m = r;
        flip_random_bit(m.raw, VD_SNP_SIGNED_SIZE);
        assert_false(both(&m, key));
        m = r;
        flip_random_bit(m.sig_r, 48);
        assert_false(both(&m, key));
        m = r;
        flip_random_bit(m.sig_s, 48);
        assert_false(both(&m, key));
        m = r; /* R and S swapped */
        memcpy(m.sig_r, r.sig_s, 48);
        memcpy(m.sig_s, r.sig_r, 48);
        assert_false(both(&m, key));
        /* (R, n - S) is the other valid ECDSA signature of the same digest: both accept it
         * (the report's format check is where a verifier could insist on one form). */
        BIGNUM *s = BN_lebin2bn(r.sig_s, 48, NULL), *n = BN_bin2bn(P384_N, 48, NULL);
        assert_int_equal(BN_sub(s, n, s), 1);
        m = r;
        assert_int_equal(BN_bn2lebinpad(s, m.sig_s, 48), 48);
        assert_true(both(&m, key));
        BN_free(s);
        BN_free(n);
        EVP_PKEY_free(key);
        EVP_PKEY_free(other);
    }
}

static void test_edge_values_of_r_and_s(void **state)
{
    (void)state;
    EVP_PKEY *key = new_p384_key();
    vd_snp_report_t r, m;
    sign_random(&r, key);
    const uint8_t zero[48] = {0};
    struct {
        int which; /* 0: R, 1: S */
        int add;   /* to n, or 0 with `zero_value` */
        int zero_value;
    } cases[] = {{0, 0, 1}, {1, 0, 1},  {0, 0, 0},  {1, 0, 0},    {0, 1, 0},
                 {1, 1, 0}, {0, -1, 0}, {1, -1, 0}, {0, 1000, 0}, {1, 1000, 0}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        m = r;
        uint8_t *field = cases[i].which ? m.sig_s : m.sig_r;
        if (cases[i].zero_value) {
            memcpy(field, zero, 48);
        } else {
            le_of(P384_N, cases[i].add, field);
        }
        assert_false(both(&m, key));
    }
    /* 2^384 - 1 in both. */
    m = r;
    memset(m.sig_r, 0xFF, 48);
    memset(m.sig_s, 0xFF, 48);
    assert_false(both(&m, key));
    EVP_PKEY_free(key);
}

static void test_keys_that_are_not_p384_are_refused(void **state)
{
    (void)state;
    EVP_PKEY *key = new_p384_key(), *p256 = EVP_EC_gen("P-256"), *rsa = EVP_RSA_gen(2048);
    assert_non_null(p256);
    assert_non_null(rsa);
    vd_snp_report_t r;
    sign_random(&r, key);
    char detail[256];
    assert_false(vd_snp_report_signed_by(&r, p256, detail, sizeof(detail)));
    assert_non_null(strstr(detail, "not an EC P-384 key"));
    assert_false(vd_snp_report_signed_by(&r, rsa, detail, sizeof(detail)));
    assert_false(vd_snp_report_signed_by(&r, NULL, detail, sizeof(detail)));
    EVP_PKEY_free(key);
    EVP_PKEY_free(p256);
    EVP_PKEY_free(rsa);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_turin_report_and_its_bit_flips),
        cmocka_unit_test(test_fresh_keys_valid_and_mutated),
        cmocka_unit_test(test_edge_values_of_r_and_s),
        cmocka_unit_test(test_keys_that_are_not_p384_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
