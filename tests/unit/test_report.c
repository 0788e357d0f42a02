/*
 * Report parsing, TCB layouts, product detection and the small pure helpers: field offsets
 * checked against real reports, every length and version bound, hex text input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "verdict/bytes.h"
#include "verdict/kds.h"
#include "verdict/product.h"
#include "verdict/report.h"
#include "verdict/tcb.h"
#include "verdict/timefmt.h"
#include "vectors.h"

static void test_report_parse_turin_fields(void **state)
{
    (void)state;
    size_t len;
    uint8_t *raw = vd_test_read_vector("mstav-tests/turin_attestation_report.bin", &len);
    vd_snp_report_t r;
    vd_error_t err = {0};
    assert_int_equal(vd_snp_report_parse(raw, len, &r, &err), VD_OK);
    assert_int_equal(r.version, 5);
    assert_int_equal(r.policy, 0x3001F);
    assert_int_equal(r.signature_algo, 1);
    assert_int_equal(r.signer_info, 0);
    assert_int_equal(r.cpuid_fam_id, 0x1A);
    assert_int_equal(r.cpuid_mod_id, 0x02);
    assert_int_equal(r.cpuid_step, 1);
    assert_true(r.platform_info == 0x65 || r.platform_info == 0x64);
    assert_int_equal(r.reported_tcb, 0x5100000004010101ull);
    assert_true(vd_all_zero(r.chip_id + 8, 56));
    assert_false(vd_all_zero(r.chip_id, 8));
    assert_int_equal(r.launch_mit_vector, 0x3F);
    assert_memory_equal(r.sig_r, raw + 0x2A0, 48);
    assert_memory_equal(r.sig_s, raw + 0x2E8, 48);
    assert_memory_equal(r.raw, raw, VD_SNP_REPORT_SIZE);
    for (size_t i = 0; i < 32; i++) {
        assert_int_equal(r.report_id_ma[i], 0xFF);
    }
    free(raw);
}

static void test_report_parse_v2_has_no_cpuid(void **state)
{
    (void)state;
    size_t len;
    uint8_t *raw = vd_test_read_vector("gosevguest-milan/attestation.bin", &len);
    vd_snp_report_t r;
    raw[0x188] = 0x19; /* a v2 report's CPUID bytes are reserved: never read as CPUID */
    assert_int_equal(vd_snp_report_parse(raw, len, &r, NULL), VD_OK);
    assert_int_equal(r.version, 2);
    assert_int_equal(r.cpuid_fam_id, 0);
    assert_int_equal(r.policy, 0xB0000);
    assert_int_equal(r.launch_mit_vector, 0);
    free(raw);
}

static void test_report_parse_lengths(void **state)
{
    (void)state;
    uint8_t buf[VD_SNP_REPORT_SIZE + 1];
    memset(buf, 0, sizeof(buf));
    vd_put_le32(buf, 3);
    static const size_t lens[] = {0, 1, 4, 0x2A0, VD_SNP_REPORT_SIZE - 1, VD_SNP_REPORT_SIZE + 1};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        vd_snp_report_t r;
        vd_error_t err = {0};
        assert_int_equal(vd_snp_report_parse(buf, lens[i], &r, &err), VD_E_MALFORMED);
        assert_non_null(strstr(err.msg, "expected 1184"));
    }
    vd_snp_report_t r;
    assert_int_equal(vd_snp_report_parse(buf, VD_SNP_REPORT_SIZE, &r, NULL), VD_OK);
}

static void test_report_parse_versions(void **state)
{
    (void)state;
    uint8_t buf[VD_SNP_REPORT_SIZE];
    memset(buf, 0, sizeof(buf));
    static const uint32_t bad[] = {0, 1, 6, 0x100, 0xFFFFFFFF};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vd_snp_report_t r;
        vd_error_t err = {0};
        vd_put_le32(buf, bad[i]);
        assert_int_equal(vd_snp_report_parse(buf, sizeof(buf), &r, &err), VD_E_UNSUPPORTED);
        assert_non_null(strstr(err.msg, "not supported"));
    }
    for (uint32_t v = 2; v <= 5; v++) {
        vd_snp_report_t r;
        vd_put_le32(buf, v);
        assert_int_equal(vd_snp_report_parse(buf, sizeof(buf), &r, NULL), VD_OK);
        assert_int_equal(r.version, v);
    }
}

static void test_report_hex_text(void **state)
{
    (void)state;
    size_t len, n = 0;
    uint8_t *text = vd_test_read_vector("virtee-sev/report_milan.hex", &len);
    uint8_t out[VD_SNP_REPORT_SIZE * 2];
    assert_int_equal(len, 2368);
    assert_int_equal(vd_snp_report_from_file_bytes(text, len, out, sizeof(out), &n), 0);
    assert_int_equal(n, VD_SNP_REPORT_SIZE);
    assert_int_equal(vd_le32(out), 2);
    /* Raw input of the right size stays raw. */
    uint8_t raw[VD_SNP_REPORT_SIZE];
    memset(raw, 'a', sizeof(raw));
    assert_int_equal(vd_snp_report_from_file_bytes(raw, sizeof(raw), out, sizeof(out), &n), 0);
    assert_int_equal(n, VD_SNP_REPORT_SIZE);
    assert_memory_equal(out, raw, sizeof(raw));
    free(text);
}

static void test_hex_decode_rules(void **state)
{
    (void)state;
    uint8_t out[4];
    size_t n;
    assert_int_equal(vd_hex_decode("0aFf\n 10", 8, out, sizeof(out), &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(out[1], 0xFF);
    char hex[9];
    assert_string_equal(vd_hex_encode(out, 3, hex, sizeof(hex)), "0aff10");
    assert_string_equal(vd_hex_encode(out, 3, hex, 5), "0aff");          /* truncates on bytes */
    assert_int_equal(vd_hex_decode("abc", 3, out, sizeof(out), &n), -1); /* odd */
    assert_int_equal(vd_hex_decode("zz", 2, out, sizeof(out), &n), -1);  /* non-hex */
    assert_int_equal(vd_hex_decode("0011223344", 10, out, sizeof(out), &n), -1); /* too long */
    assert_int_equal(n, 0);
}

static void test_tcb_layouts(void **state)
{
    (void)state;
    /* Milan (go-sev-guest sample): 02 00 00 00 00 00 05 44. */
    vd_tcb_t m = vd_tcb_decode(0x4405000000000002ull, VD_PRODUCT_MILAN);
    assert_false(m.has_fmc);
    assert_int_equal(m.bootloader, 2);
    assert_int_equal(m.tee, 0);
    assert_int_equal(m.snp, 5);
    assert_int_equal(m.microcode, 0x44);
    /* Turin (MS TAV sample): 01 01 01 04 00 00 00 51. */
    vd_tcb_t t = vd_tcb_decode(0x5100000004010101ull, VD_PRODUCT_TURIN);
    assert_true(t.has_fmc);
    assert_int_equal(t.fmc, 1);
    assert_int_equal(t.bootloader, 1);
    assert_int_equal(t.tee, 1);
    assert_int_equal(t.snp, 4);
    assert_int_equal(t.microcode, 81);
    char s[64];
    assert_string_equal(vd_tcb_format(&t, s, sizeof(s)), "fmc=1 bl=1 tee=1 snp=4 ucode=81");
    assert_string_equal(vd_tcb_format(&m, s, sizeof(s)), "bl=2 tee=0 snp=5 ucode=68");
}

static void test_tcb_compare_componentwise(void **state)
{
    (void)state;
    vd_tcb_t a = vd_tcb_decode(0x4405000000000002ull, VD_PRODUCT_GENOA);
    vd_tcb_t b = a;
    assert_true(vd_tcb_ge(&a, &b) && vd_tcb_eq(&a, &b));
    /* Higher as a u64 (microcode) but lower bootloader: neither is >= the other. */
    b.microcode = 0x45;
    b.bootloader = 1;
    assert_false(vd_tcb_ge(&a, &b));
    assert_false(vd_tcb_ge(&b, &a));
    vd_tcb_t t1 = vd_tcb_decode(0x5100000004010102ull, VD_PRODUCT_TURIN);
    vd_tcb_t t2 = vd_tcb_decode(0x5100000004010101ull, VD_PRODUCT_TURIN);
    assert_true(vd_tcb_ge(&t1, &t2));
    assert_false(vd_tcb_ge(&t2, &t1)); /* FMC counts on Turin */
    assert_false(vd_tcb_eq(&t1, &t2));
}

static void test_product_from_cpuid(void **state)
{
    (void)state;
    const char *v;
    assert_int_equal(vd_product_from_cpuid(0x19, 0x01, &v), VD_PRODUCT_MILAN);
    assert_string_equal(v, "Milan");
    assert_int_equal(vd_product_from_cpuid(0x19, 0x0F, NULL), VD_PRODUCT_MILAN);
    assert_int_equal(vd_product_from_cpuid(0x19, 0x11, &v), VD_PRODUCT_GENOA);
    assert_int_equal(vd_product_from_cpuid(0x19, 0x1F, NULL), VD_PRODUCT_GENOA);
    assert_int_equal(vd_product_from_cpuid(0x19, 0xA0, &v), VD_PRODUCT_GENOA);
    assert_string_equal(v, "Siena/Bergamo");
    assert_int_equal(vd_product_from_cpuid(0x19, 0xAF, NULL), VD_PRODUCT_GENOA);
    assert_int_equal(vd_product_from_cpuid(0x1A, 0x02, &v), VD_PRODUCT_TURIN);
    assert_int_equal(vd_product_from_cpuid(0x1A, 0x11, NULL), VD_PRODUCT_TURIN);
    /* Never a guess: unknown family/model is unknown. */
    assert_int_equal(vd_product_from_cpuid(0x19, 0x20, &v), VD_PRODUCT_UNKNOWN);
    assert_null(v);
    assert_int_equal(vd_product_from_cpuid(0x1A, 0x50, NULL), VD_PRODUCT_UNKNOWN);
    assert_int_equal(vd_product_from_cpuid(0x17, 0x01, NULL), VD_PRODUCT_UNKNOWN);
    assert_int_equal(vd_product_from_cpuid(0, 0, NULL), VD_PRODUCT_UNKNOWN);
}

static void test_product_from_name(void **state)
{
    (void)state;
    assert_int_equal(vd_product_from_name("Milan-B0"), VD_PRODUCT_MILAN);
    assert_int_equal(vd_product_from_name("Milan"), VD_PRODUCT_MILAN);
    assert_int_equal(vd_product_from_name("Genoa"), VD_PRODUCT_GENOA);
    assert_int_equal(vd_product_from_name("Siena"), VD_PRODUCT_GENOA);
    assert_int_equal(vd_product_from_name("Turin-B1"), VD_PRODUCT_TURIN);
    assert_int_equal(vd_product_from_name("Milano"), VD_PRODUCT_UNKNOWN);
    assert_int_equal(vd_product_from_name("milan"), VD_PRODUCT_UNKNOWN);
    assert_int_equal(vd_product_from_name(""), VD_PRODUCT_UNKNOWN);
    assert_int_equal(vd_product_from_name(NULL), VD_PRODUCT_UNKNOWN);
}

static void test_kds_urls(void **state)
{
    (void)state;
    uint8_t chip[64];
    for (int i = 0; i < 64; i++) {
        chip[i] = (uint8_t)i;
    }
    char url[VD_KDS_URL_MAX];
    vd_tcb_t t = vd_tcb_decode(0x5100000004010101ull, VD_PRODUCT_TURIN);
    assert_int_equal(
        vd_kds_vcek_url("http://127.0.0.1:1", VD_PRODUCT_TURIN, chip, &t, url, sizeof(url)), 0);
    assert_string_equal(url, "http://127.0.0.1:1/vcek/v1/Turin/0001020304050607"
                             "?fmcSPL=1&blSPL=1&teeSPL=1&snpSPL=4&ucodeSPL=81");
    vd_tcb_t m = vd_tcb_decode(0xD917000000000003ull, VD_PRODUCT_GENOA);
    assert_int_equal(
        vd_kds_vcek_url(VD_KDS_DEFAULT_BASE, VD_PRODUCT_GENOA, chip, &m, url, sizeof(url)), 0);
    assert_non_null(strstr(url, "/vcek/v1/Genoa/000102"));
    assert_non_null(strstr(url, "3c3d3e3f?blSPL=3&teeSPL=0&snpSPL=23&ucodeSPL=217"));
    assert_int_equal(
        vd_kds_vcek_url(VD_KDS_DEFAULT_BASE, VD_PRODUCT_UNKNOWN, chip, &m, url, sizeof(url)), -1);
    assert_int_equal(vd_kds_vcek_url(VD_KDS_DEFAULT_BASE, VD_PRODUCT_GENOA, chip, &m, url, 40), -1);
    assert_int_equal(vd_kds_chain_url("https://k", VD_PRODUCT_MILAN, 1, url, sizeof(url)), 0);
    assert_string_equal(url, "https://k/vlek/v1/Milan/cert_chain");
    assert_int_equal(vd_kds_crl_url("https://k", VD_PRODUCT_GENOA, 0, url, sizeof(url)), 0);
    assert_string_equal(url, "https://k/vcek/v1/Genoa/crl");
}

static void test_time_rfc3339(void **state)
{
    (void)state;
    time_t t;
    assert_int_equal(vd_time_parse_rfc3339("2025-06-01", &t), 0);
    assert_int_equal(t, 1748736000);
    assert_int_equal(vd_time_parse_rfc3339("2025-06-01T00:00:00Z", &t), 0);
    assert_int_equal(t, 1748736000);
    assert_int_equal(vd_time_parse_rfc3339("2025-06-01T02:00:00.123+02:00", &t), 0);
    assert_int_equal(t, 1748736000);
    assert_int_equal(vd_time_parse_rfc3339("2025-05-31T19:00:00-05:00", &t), 0);
    assert_int_equal(t, 1748736000);
    static const char *const bad[] = {"",
                                      "2025",
                                      "2025-13-01",
                                      "2025-02-30",
                                      "2025-06-01T",
                                      "2025-06-01T24:00:00Z",
                                      "2025-06-01T00:00:00",
                                      "2025-06-01T00:00:00Zjunk",
                                      "2025-06-01T00:00:00.Z",
                                      "yesterday"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (vd_time_parse_rfc3339(bad[i], &t) != -1) {
            fail_msg("accepted '%s'", bad[i]);
        }
    }
    char s[32];
    assert_string_equal(vd_time_format_rfc3339(1748736000, s, sizeof(s)), "2025-06-01T00:00:00Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_parse_turin_fields),
        cmocka_unit_test(test_report_parse_v2_has_no_cpuid),
        cmocka_unit_test(test_report_parse_lengths),
        cmocka_unit_test(test_report_parse_versions),
        cmocka_unit_test(test_report_hex_text),
        cmocka_unit_test(test_hex_decode_rules),
        cmocka_unit_test(test_tcb_layouts),
        cmocka_unit_test(test_tcb_compare_componentwise),
        cmocka_unit_test(test_product_from_cpuid),
        cmocka_unit_test(test_product_from_name),
        cmocka_unit_test(test_kds_urls),
        cmocka_unit_test(test_time_rfc3339),
    };
    return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
