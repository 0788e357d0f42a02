/*
 * Certificate inputs: the extended-report cert table (real auxblob and every bound), the
 * certificate bag (PEM, DER, CRLF, junk) and AMD's X.509 extensions on real VCEKs and VLEKs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "verdict/amdcert.h"
#include "verdict/bytes.h"
#include "verdict/certset.h"
#include "verdict/certtable.h"
#include "vectors.h"

/* ---- cert table --------------------------------------------------------------------------- */

static void test_certtable_real_auxblob(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = vd_test_read_vector("veraison-tsm/derived/auxblob_certtable.bin", &len);
    vd_certtable_t t;
    vd_error_t err = {0};
    assert_int_equal(len, 6577);
    assert_int_equal(vd_certtable_parse(buf, len, &t, &err), VD_OK);
    assert_int_equal(t.count, 3);
    assert_int_equal(t.entries[0].kind, VD_CERTTABLE_ARK);
    assert_int_equal(t.entries[0].data - buf, 96);
    assert_int_equal(t.entries[0].len, 2277);
    assert_int_equal(t.entries[1].kind, VD_CERTTABLE_ASK);
    assert_int_equal(t.entries[1].data - buf, 2373);
    assert_int_equal(t.entries[2].kind, VD_CERTTABLE_VCEK);
    assert_int_equal(t.entries[2].len, 1879);
    /* The blobs equal the separately extracted entries. */
    size_t vlen;
    uint8_t *vcek = vd_test_read_vector(
        "veraison-tsm/derived/auxblob_entry_63da758d-e664-4564-adc5-f4b93be8accd.bin", &vlen);
    assert_int_equal(vlen, t.entries[2].len);
    assert_memory_equal(vcek, t.entries[2].data, vlen);
    free(vcek);
    free(buf);
}

/* A table with `n` entries of kind VCEK whose blobs are 4 bytes each, right after the header. */
static size_t build_table(uint8_t *buf, size_t cap, size_t n)
{
    static const uint8_t vcek_guid[16] = {0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
                                          0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd};
    size_t header = (n + 1) * VD_CERTTABLE_ENTRY_SIZE;
    size_t total = header + 4 * n;
    assert_true(total <= cap);
    memset(buf, 0, total);
    for (size_t i = 0; i < n; i++) {
        uint8_t *e = buf + i * VD_CERTTABLE_ENTRY_SIZE;
        memcpy(e, vcek_guid, 16);
        vd_put_le32(e + 16, (uint32_t)(header + 4 * i));
        vd_put_le32(e + 20, 4);
        memset(buf + header + 4 * i, 0xAB, 4);
    }
    return total;
}

static void test_certtable_empty_and_terminator(void **state)
{
    (void)state;
    vd_certtable_t t;
    uint8_t buf[512] = {0};
    assert_int_equal(vd_certtable_parse(buf, 0, &t, NULL), VD_OK);
    assert_int_equal(t.count, 0);
    memset(buf, 0, 24);
    assert_int_equal(vd_certtable_parse(buf, 24, &t, NULL), VD_OK); /* terminator only */
    assert_int_equal(t.count, 0);
    size_t len = build_table(buf, sizeof(buf), 2);
    assert_int_equal(vd_certtable_parse(buf, len, &t, NULL), VD_OK);
    assert_int_equal(t.count, 2);
}

static void test_certtable_bounds(void **state)
{
    (void)state;
    uint8_t buf[1024];
    vd_certtable_t t;
    vd_error_t err = {0};
    size_t len = build_table(buf, sizeof(buf), 2);

    /* Every truncation of the table is rejected, never read past. */
    for (size_t cut = 1; cut < len; cut++) {
        uint8_t *copy = malloc(cut);
        assert_non_null(copy);
        memcpy(copy, buf, cut);
        assert_int_not_equal(vd_certtable_parse(copy, cut, &t, NULL), VD_OK);
        free(copy);
    }
    /* Offset inside the header (the terminator). */
    vd_put_le32(buf + 16, 48);
    assert_int_equal(vd_certtable_parse(buf, len, &t, &err), VD_E_MALFORMED);
    assert_non_null(strstr(err.msg, "header"));
    /* Offset past the end; length past the end; u32 overflow of offset + length. */
    build_table(buf, sizeof(buf), 2);
    vd_put_le32(buf + 16, (uint32_t)len + 1);
    assert_int_equal(vd_certtable_parse(buf, len, &t, NULL), VD_E_MALFORMED);
    build_table(buf, sizeof(buf), 2);
    vd_put_le32(buf + 20, 5000);
    assert_int_equal(vd_certtable_parse(buf, len, &t, NULL), VD_E_MALFORMED);
    build_table(buf, sizeof(buf), 2);
    vd_put_le32(buf + 16, 0xFFFFFFF0u);
    vd_put_le32(buf + 20, 0x20);
    assert_int_equal(vd_certtable_parse(buf, len, &t, NULL), VD_E_MALFORMED);
    /* Zero-length blob. */
    build_table(buf, sizeof(buf), 2);
    vd_put_le32(buf + 20, 0);
    assert_int_equal(vd_certtable_parse(buf, len, &t, NULL), VD_E_MALFORMED);
    /* No terminator: the last entry is cut off. */
    build_table(buf, sizeof(buf), 2);
    assert_int_equal(vd_certtable_parse(buf, 2 * 24 + 10, &t, NULL), VD_E_MALFORMED);
}

static void test_certtable_too_many_entries(void **state)
{
    (void)state;
    uint8_t buf[2048];
    vd_certtable_t t;
    vd_error_t err = {0};
    size_t len = build_table(buf, sizeof(buf), VD_CERTTABLE_MAX_ENTRIES);
    assert_int_equal(vd_certtable_parse(buf, len, &t, NULL), VD_OK);
    len = build_table(buf, sizeof(buf), VD_CERTTABLE_MAX_ENTRIES + 1);
    assert_int_equal(vd_certtable_parse(buf, len, &t, &err), VD_E_TOO_LARGE);
}

static void test_certtable_unknown_guid_kept(void **state)
{
    (void)state;
    uint8_t buf[256];
    vd_certtable_t t;
    size_t len = build_table(buf, sizeof(buf), 1);
    buf[0] ^= 0xFF; /* the Microsoft mixed-endian form and others are not VCEK */
    assert_int_equal(vd_certtable_parse(buf, len, &t, NULL), VD_OK);
    assert_int_equal(t.entries[0].kind, VD_CERTTABLE_UNKNOWN);
    assert_string_equal(vd_certtable_kind_name(t.entries[0].kind), "unknown");
}

/* ---- certificate bag ---------------------------------------------------------------------- */

static void test_certset_pem_der_crlf(void **state)
{
    (void)state;
    vd_certset_t *s = NULL;
    vd_error_t err = {0};
    assert_int_equal(vd_certset_new(&s, &err), VD_OK);
    vd_test_add_certs(s, "gosevguest-milan/cert_chain_milan_vcek.pem"); /* ASK, ARK */
    vd_test_add_certs(s, "virtee-sev/cert_chain_turin");                /* CRLF PEM */
    vd_test_add_certs(s, "gosevguest-milan/vcek.der");                  /* DER */
    vd_test_add_certs(s, "amd-roots-trustee/milan_ask_ark_asvk.pem");   /* three */
    assert_int_equal(vd_certset_count(s), 8);
    char cn[64];
    assert_string_equal(vd_x509_common_name(vd_certset_get(s, 0), cn, sizeof(cn)), "SEV-Milan");
    assert_string_equal(vd_x509_common_name(vd_certset_get(s, 1), cn, sizeof(cn)), "ARK-Milan");
    assert_string_equal(vd_x509_common_name(vd_certset_get(s, 2), cn, sizeof(cn)), "SEV-Turin");
    assert_string_equal(vd_x509_common_name(vd_certset_get(s, 4), cn, sizeof(cn)), "SEV-VCEK");
    assert_string_equal(vd_certset_origin(s, 4), "gosevguest-milan/vcek.der");
    assert_null(vd_certset_get(s, 8));
    vd_certset_free(&s);
    assert_null(s);
    vd_certset_free(&s); /* NULL-safe */
}

static void test_certset_rejects_junk(void **state)
{
    (void)state;
    vd_certset_t *s = NULL;
    vd_error_t err = {0};
    assert_int_equal(vd_certset_new(&s, &err), VD_OK);
    static const uint8_t junk[] = {0x30, 0x82, 0x01, 0x00, 0x01, 0x02};
    assert_int_equal(vd_certset_add_blob(s, junk, sizeof(junk), "junk", &err), VD_E_MALFORMED);
    assert_non_null(strstr(err.msg, "junk"));
    vd_error_clear(&err);
    assert_int_equal(vd_certset_add_blob(s, junk, 0, "empty", &err), VD_E_MALFORMED);
    vd_error_clear(&err);
    static const char pem_no_cert[] =
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
    assert_int_equal(
        vd_certset_add_blob(s, (const uint8_t *)pem_no_cert, sizeof(pem_no_cert) - 1, "pem", &err),
        VD_E_MALFORMED);
    vd_error_clear(&err);
    static const char pem_bad[] = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
    assert_int_equal(
        vd_certset_add_blob(s, (const uint8_t *)pem_bad, sizeof(pem_bad) - 1, "pem", &err),
        VD_E_MALFORMED);
    /* DER with trailing bytes. */
    size_t len;
    uint8_t *der = vd_test_read_vector("gosevguest-milan/vcek.der", &len);
    uint8_t *longer = malloc(len + 1);
    assert_non_null(longer);
    memcpy(longer, der, len);
    longer[len] = 0;
    vd_error_clear(&err);
    assert_int_equal(vd_certset_add_blob(s, longer, len + 1, "der+1", &err), VD_E_MALFORMED);
    assert_non_null(strstr(err.msg, "trailing"));
    /* Every truncation of a DER certificate fails cleanly. */
    for (size_t cut = 1; cut < len; cut += 7) {
        assert_int_not_equal(vd_certset_add_blob(s, der, cut, "cut", NULL), VD_OK);
    }
    assert_int_equal(vd_certset_count(s), 0);
    /* Oversized blob. */
    uint8_t *big = calloc(1, VD_CERT_BLOB_MAX + 1);
    assert_non_null(big);
    assert_int_equal(vd_certset_add_blob(s, big, VD_CERT_BLOB_MAX + 1, "big", NULL),
                     VD_E_TOO_LARGE);
    free(big);
    free(longer);
    free(der);
    vd_certset_free(&s);
}

/* ---- AMD extensions ------------------------------------------------------------------------ */

static vd_amdcert_t parse_ext(const char *rel)
{
    vd_certset_t *s = NULL;
    vd_error_t err = {0};
    vd_amdcert_t ext;
    assert_int_equal(vd_certset_new(&s, &err), VD_OK);
    vd_test_add_certs(s, rel);
    if (vd_amdcert_parse(vd_certset_get(s, 0), &ext, &err) != VD_OK) {
        fail_msg("%s: %s", rel, err.msg);
    }
    vd_certset_free(&s);
    return ext;
}

static void test_amdcert_milan_vcek(void **state)
{
    (void)state;
    vd_amdcert_t e = parse_ext("gosevguest-milan/vcek.der");
    assert_true(e.has_struct_version);
    assert_int_equal(e.struct_version, 0);
    assert_string_equal(e.product_name, "Milan-B0");
    assert_int_equal(e.spl[VD_SPL_BL], 2);
    assert_int_equal(e.spl[VD_SPL_TEE], 0);
    assert_int_equal(e.spl[VD_SPL_SNP], 5);
    assert_int_equal(e.spl[VD_SPL_UCODE], 0x44);
    assert_true(e.has_spl[4]);
    assert_false(e.has_spl[VD_SPL_FMC]);
    assert_true(e.has_hwid);
    assert_int_equal(e.hwid_len, 64);
    assert_false(e.has_csp_id);
    const char *missing;
    assert_true(vd_amdcert_tcb_complete(&e, VD_PRODUCT_MILAN, &missing));
    assert_false(vd_amdcert_tcb_complete(&e, VD_PRODUCT_TURIN, &missing)); /* no fmcSPL */
    assert_string_equal(missing, "fmcSPL");
}

static void test_amdcert_turin_vcek(void **state)
{
    (void)state;
    static const char *const files[] = {"mstav-tests/turin_vcek.pem", "virtee-sev/vcek_turin.der"};
    for (size_t i = 0; i < 2; i++) {
        vd_amdcert_t e = parse_ext(files[i]);
        assert_int_equal(e.struct_version, 1);
        assert_string_equal(e.product_name, "Turin");
        assert_true(e.has_spl[VD_SPL_FMC]);
        assert_false(e.has_spl[4]); /* no spl_4 on Turin */
        assert_int_equal(e.hwid_len, 8);
    }
    vd_amdcert_t e = parse_ext("mstav-tests/turin_vcek.pem");
    vd_tcb_t t = vd_amdcert_tcb(&e, VD_PRODUCT_TURIN);
    assert_int_equal(t.fmc, 1);
    assert_int_equal(t.microcode, 81);
}

static void test_amdcert_genoa_and_vlek(void **state)
{
    (void)state;
    vd_amdcert_t g = parse_ext("mstav-tests/genoa_vcek.pem");
    assert_string_equal(g.product_name, "Genoa");
    assert_int_equal(g.hwid_len, 64);
    vd_amdcert_t v = parse_ext("trustee-snp/test-vlek.der");
    assert_string_equal(v.product_name, "Milan");
    assert_false(v.has_hwid);
    assert_true(v.has_csp_id);
    assert_string_equal(v.csp_id, "CN=cc-us-east-2.amazonaws.com");
    /* ucodeSPL 217 is a two-content-byte INTEGER (02 02 00 D9). */
    assert_int_equal(v.spl[VD_SPL_UCODE], 217);
}

static void test_amdcert_hwid_wrapped(void **state)
{
    (void)state;
    /* trustee's patched VCEKs: raw and DER-wrapped hwID both decode (their signatures are what
     * fails, in test_vectors). */
    vd_amdcert_t raw = parse_ext("trustee-snp/test-vcek-invalid-legacy.der");
    vd_amdcert_t wrapped = parse_ext("trustee-snp/test-vcek-invalid-new.der");
    assert_int_equal(raw.hwid_len, 64);
    assert_int_equal(wrapped.hwid_len, 64);
    vd_amdcert_t good = parse_ext("trustee-snp/test-vcek.der");
    assert_memory_not_equal(raw.hwid, good.hwid, 64);
}

/* Parsed certificates are shared by the digest of their bytes: a repeat gives the same
 * certificate, other bytes never alias it, and a prefix that parsed before does not let the
 * same bytes with trailing data through. */
static void test_certset_parse_cache(void **state)
{
    (void)state;
    vd_error_t err = {0};
    vd_certset_t *a = NULL, *b = NULL;
    size_t len, len2;
    uint8_t *der = vd_test_read_vector("gosevguest-milan/vcek.der", &len);
    uint8_t *other = vd_test_read_vector("trustee-snp/test-vcek.der", &len2);
    assert_int_equal(vd_certset_new(&a, &err), VD_OK);
    assert_int_equal(vd_certset_new(&b, &err), VD_OK);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(vd_certset_add_blob(a, der, len, "der", &err), VD_OK);
        assert_int_equal(vd_certset_add_blob(b, other, len2, "other", &err), VD_OK);
    }
    assert_int_equal(vd_certset_count(a), 2);
    const unsigned char *q = der;
    X509 *fresh = d2i_X509(NULL, &q, (long)len);
    assert_non_null(fresh);
    assert_int_equal(X509_cmp(vd_certset_get(a, 0), fresh), 0);
    assert_int_equal(X509_cmp(vd_certset_get(a, 1), fresh), 0);
    assert_int_not_equal(X509_cmp(vd_certset_get(b, 0), fresh), 0);
    X509_free(fresh);
    /* Freeing one set leaves the certificates of the other (and of the cache) usable. */
    vd_certset_free(&b);
    assert_int_equal(vd_certset_new(&b, &err), VD_OK);
    assert_int_equal(vd_certset_add_blob(b, other, len2, "other again", &err), VD_OK);
    assert_non_null(X509_get0_pubkey(vd_certset_get(b, 0)));
    /* The same bytes followed by one more: still refused. */
    uint8_t *longer = malloc(len + 1);
    assert_non_null(longer);
    memcpy(longer, der, len);
    longer[len] = 0;
    assert_int_equal(vd_certset_add_blob(a, longer, len + 1, "der+1", &err), VD_E_MALFORMED);
    assert_non_null(strstr(err.msg, "trailing"));
    /* One byte changed: parsed afresh (a different certificate, or an error), never the cached. */
    longer[len / 2] ^= 0x01;
    vd_error_clear(&err);
    if (vd_certset_add_blob(b, longer, len, "flipped", &err) == VD_OK) {
        assert_int_not_equal(X509_cmp(vd_certset_get(b, 1), vd_certset_get(a, 0)), 0);
    }
    free(longer);
    vd_certset_free(&a);
    vd_certset_free(&b);
    free(der);
    free(other);
}

/* PEM blobs through the cache: one certificate, twice, is the same; a blob of two gives two,
 * every time; the PEM text of a certificate is never taken for its DER or the other way. */
static void test_certset_parse_cache_pem(void **state)
{
    (void)state;
    vd_error_t err = {0};
    vd_certset_t *s = NULL;
    size_t vl, al;
    uint8_t *vcek = vd_test_read_vector("mstav-tests/turin_vcek.pem", &vl);
    uint8_t *ask = vd_test_read_vector("mstav-tests/turin_ask.pem", &al);
    uint8_t *both = malloc(vl + al);
    assert_non_null(both);
    memcpy(both, vcek, vl);
    memcpy(both + vl, ask, al);
    assert_int_equal(vd_certset_new(&s, &err), VD_OK);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(vd_certset_add_blob(s, vcek, vl, "vcek", &err), VD_OK);
        assert_int_equal(vd_certset_add_blob(s, both, vl + al, "both", &err), VD_OK);
    }
    assert_int_equal(vd_certset_count(s), 6);
    for (size_t i = 0; i < 6; i += 3) {
        assert_int_equal(X509_cmp(vd_certset_get(s, i), vd_certset_get(s, 0)), 0);
        assert_int_equal(X509_cmp(vd_certset_get(s, i + 1), vd_certset_get(s, 0)), 0);
        assert_int_not_equal(X509_cmp(vd_certset_get(s, i + 2), vd_certset_get(s, 0)), 0);
    }
    /* The DER of the cached VCEK parses to it; the PEM text with a byte changed in its base64
     * body is parsed afresh (an error or another certificate, never the cached one). */
    unsigned char *der = NULL;
    int dl = i2d_X509(vd_certset_get(s, 0), &der);
    assert_true(dl > 0);
    assert_int_equal(vd_certset_add_blob(s, der, (size_t)dl, "der", &err), VD_OK);
    assert_int_equal(X509_cmp(vd_certset_get(s, 6), vd_certset_get(s, 0)), 0);
    OPENSSL_free(der);
    static const char begin[] = "-----BEGIN CERTIFICATE-----\n";
    assert_true(vl > sizeof(begin) + 100);
    assert_memory_equal(vcek, begin, sizeof(begin) - 1);
    uint8_t *b64 = vcek + sizeof(begin) - 1; /* 64 characters a line: [100] is base64 */
    b64[100] = b64[100] == 'A' ? 'B' : 'A';
    if (vd_certset_add_blob(s, vcek, vl, "changed", NULL) == VD_OK) {
        assert_int_not_equal(X509_cmp(vd_certset_get(s, 7), vd_certset_get(s, 0)), 0);
    }
    vd_certset_free(&s);
    free(both);
    free(vcek);
    free(ask);
}

/* One extension `oid` (critical or not, an empty OCTET STRING) on an empty certificate: what
 * vd_amdcert_parse says of it (VD_OK, or the message in `msg`). */
static vd_err_t parse_one_ext(const char *oid, int critical, char *msg, size_t n)
{
    X509 *x = X509_new();
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    ASN1_OCTET_STRING *val = ASN1_OCTET_STRING_new();
    assert_non_null(x);
    assert_non_null(obj);
    assert_non_null(val);
    X509_EXTENSION *ext = X509_EXTENSION_create_by_OBJ(NULL, obj, critical, val);
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(x, ext, -1), 1);
    vd_amdcert_t out;
    vd_error_t err = {0};
    vd_err_t rc = vd_amdcert_parse(x, &out, &err);
    snprintf(msg, n, "%s", rc == VD_OK ? "" : err.msg);
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(val);
    ASN1_OBJECT_free(obj);
    X509_free(x);
    return rc;
}

/* Arcs under AMD's OID are rendered by hand (amdcert.c oid_text): the numbers of one, two and
 * three base-128 digits, and past the 24-bit fast path, read as OpenSSL reads them. */
static void test_amdcert_oid_text(void **state)
{
    (void)state;
    static const char *const oids[] = {
        "1.3.6.1.4.1.3704.1.0",      "1.3.6.1.4.1.3704.1.7",       "1.3.6.1.4.1.3704.1.127",
        "1.3.6.1.4.1.3704.1.128",    "1.3.6.1.4.1.3704.1.3.10",    "1.3.6.1.4.1.3704.1.16383",
        "1.3.6.1.4.1.3704.1.16384",  "1.3.6.1.4.1.3704.1.9.8.7.6", "1.3.6.1.4.1.3704.1.4294967295",
        "1.3.6.1.4.1.3704.1.2097151"};
    char msg[600], want[600];
    for (size_t i = 0; i < sizeof(oids) / sizeof(oids[0]); i++) {
        assert_int_equal(parse_one_ext(oids[i], 1, msg, sizeof(msg)), VD_E_MALFORMED);
        snprintf(want, sizeof(want), "unknown critical AMD extension %s", oids[i]);
        assert_string_equal(msg, want);
        assert_int_equal(parse_one_ext(oids[i], 0, msg, sizeof(msg)), VD_OK);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_certtable_real_auxblob),
        cmocka_unit_test(test_certtable_empty_and_terminator),
        cmocka_unit_test(test_certtable_bounds),
        cmocka_unit_test(test_certtable_too_many_entries),
        cmocka_unit_test(test_certtable_unknown_guid_kept),
        cmocka_unit_test(test_certset_pem_der_crlf),
        cmocka_unit_test(test_certset_rejects_junk),
        cmocka_unit_test(test_certset_parse_cache),
        cmocka_unit_test(test_certset_parse_cache_pem),
        cmocka_unit_test(test_amdcert_milan_vcek),
        cmocka_unit_test(test_amdcert_turin_vcek),
        cmocka_unit_test(test_amdcert_genoa_and_vlek),
        cmocka_unit_test(test_amdcert_hwid_wrapped),
        cmocka_unit_test(test_amdcert_oid_text),
    };
    return cmocka_run_group_tests_name("certs", tests, NULL, NULL);
}
