/*
 * verdict measure: the SEV-SNP launch digest (verifier/measure, MEASURE.md).
 *
 * Every row of ../shared/vectors/measure/cases.tsv is one test (digests asserted by
 * virtee/sev-snp-measure, and Debian's OVMF); then MEASURE.md's check values (parsed footer,
 * worked example step by step, VMSA and hashes-page digests, OVMF hashes); then synthetic
 * firmware for each section type, the descriptor order and every error path, checked against
 * an independent replay of the chain written here from the spec tables.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "verdict/bytes.h"
#include "verdict/measure.h"
#include "../../verifier/measure/measure_internal.h"
#include "vectors.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static void sha256(const void *p, size_t len, uint8_t out[32])
{
    assert_int_equal(EVP_Digest(p, len, out, NULL, EVP_sha256(), NULL), 1);
}

static void sha384(const void *p, size_t len, uint8_t out[48])
{
    assert_int_equal(EVP_Digest(p, len, out, NULL, EVP_sha384(), NULL), 1);
}

static void assert_hex(const uint8_t *p, size_t len, const char *want)
{
    char hex[256];
    vd_hex_encode(p, len, hex, sizeof(hex));
    assert_string_equal(hex, want);
}

static void assert_hex_prefix(const uint8_t *p, size_t len, const char *prefix)
{
    char hex[256];
    vd_hex_encode(p, len, hex, sizeof(hex));
    if (strncmp(hex, prefix, strlen(prefix)) != 0) {
        fail_msg("%s does not start with %s", hex, prefix);
    }
}

/* Read an absolute path (Debian's OVMF); skip locally, fail in CI, when it is missing. */
static uint8_t *read_system_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        const char *ci = getenv("CI");
        if (ci != NULL && ci[0] != '\0') {
            fail_msg("%s missing (CI installs the ovmf package, scripts/deps.sh)", path);
        }
        print_message("%s missing (apt-get install ovmf): skipping\n", path);
        skip();
    }
    uint8_t *buf = malloc(VD_MEASURE_OVMF_MAX);
    assert_non_null(buf);
    *len = fread(buf, 1, VD_MEASURE_OVMF_MAX, f);
    fclose(f);
    return buf;
}

static uint8_t *read_input(const char *spec, size_t *len)
{
    if (strncmp(spec, "debian:", 7) == 0) {
        return read_system_file(spec + 7, len);
    }
    if (strcmp(spec, "/dev/null") == 0) {
        *len = 0;
        return calloc(1, 1);
    }
    char rel[512];
    snprintf(rel, sizeof(rel), "measure/%s", spec);
    return vd_test_read_vector(rel, len);
}

static vd_measure_input_t qemu_input(const uint8_t *fw, size_t len)
{
    vd_measure_input_t in = {0};
    in.ovmf = fw;
    in.ovmf_len = len;
    in.vcpus = 1;
    in.vmm = VD_VMM_QEMU;
    in.has_vcpu_sig = 1;
    in.vcpu_sig = 0x800F12;
    in.guest_features = 0x1;
    return in;
}

/* ---- cases.tsv: one cmocka test per row ------------------------------------------------- */

#define MAX_CASES 64
#define NCOLS     11

typedef struct tsv_case {
    char *col[NCOLS]; /* name ovmf vcpus vcpu_sig vmm_type kernel initrd append features
                         ovmf_hash expected */
} tsv_case_t;

static tsv_case_t g_cases[MAX_CASES];
static size_t g_ncases;
static char *g_tsv;

static int is_dash(const char *s)
{
    return strcmp(s, "-") == 0;
}

static void test_case_row(void **state)
{
    const tsv_case_t *c = *state;
    const char *name = c->col[0];
    size_t fw_len = 0;
    uint8_t *fw = read_input(c->col[1], &fw_len);
    vd_measure_input_t in = qemu_input(fw, fw_len);
    vd_measure_result_t res;
    vd_error_t err = {0};

    in.vcpus = (uint32_t)strtoul(c->col[2], NULL, 10);
    in.has_vcpu_sig = !is_dash(c->col[3]);
    in.vcpu_sig = in.has_vcpu_sig ? (uint32_t)strtoul(c->col[3], NULL, 16) : 0;
    if (!is_dash(c->col[4])) {
        assert_int_equal(vd_vmm_parse(c->col[4], &in.vmm), 0);
    }
    if (!is_dash(c->col[5])) {
        size_t n;
        uint8_t *k = read_input(c->col[5], &n);
        sha256(k, n, in.kernel_sha256);
        in.has_kernel = 1;
        free(k);
    }
    if (!is_dash(c->col[6])) {
        size_t n;
        uint8_t *k = read_input(c->col[6], &n);
        sha256(k, n, in.initrd_sha256);
        in.has_initrd = 1;
        free(k);
    }
    if (!is_dash(c->col[7])) {
        in.append = strcmp(c->col[7], "\"\"") == 0 ? "" : c->col[7];
    }
    in.guest_features = strtoull(c->col[8], NULL, 16);
    if (!is_dash(c->col[9])) {
        size_t n = 0;
        assert_int_equal(vd_hex_decode(c->col[9], strlen(c->col[9]), in.ovmf_hash, 48, &n), 0);
        assert_int_equal(n, 48);
        in.has_ovmf_hash = 1;
    }
    vd_err_t rc = vd_measure(&in, &res, &err);
    if (strcmp(c->col[10], "error") == 0) {
        if (rc == VD_OK) {
            fail_msg("%s: expected an error, got a digest", name);
        }
        assert_true(err.msg[0] != '\0');
        print_message("%s: %s\n", name, err.msg);
    } else {
        if (rc != VD_OK) {
            fail_msg("%s: %s", name, err.msg);
        }
        assert_hex(res.digest, 48, c->col[10]);
    }
    free(fw);
}

static void test_cases_missing(void **state)
{
    (void)state;
    size_t n;
    free(vd_test_read_vector("measure/cases.tsv", &n)); /* skips, or fails in CI */
    fail_msg("cases.tsv is readable but has no rows");
}

/* Split the tsv into g_cases (header line dropped). 0 when it cannot be read. */
static size_t load_cases(void)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/measure/cases.tsv", vd_test_vectors_dir());
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return 0;
    }
    g_tsv = calloc(1, 1 << 20);
    size_t n = g_tsv != NULL ? fread(g_tsv, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (n == 0) {
        return 0;
    }
    char *save = NULL;
    char *line = strtok_r(g_tsv, "\n", &save); /* header */
    while ((line = strtok_r(NULL, "\n", &save)) != NULL && g_ncases < MAX_CASES) {
        tsv_case_t *c = &g_cases[g_ncases];
        size_t k = 0;
        char *p = line;
        while (k < NCOLS) {
            c->col[k++] = p;
            char *tab = strchr(p, '\t');
            if (tab == NULL) {
                break;
            }
            *tab = '\0';
            p = tab + 1;
        }
        if (k == NCOLS) {
            g_ncases++;
        }
    }
    return g_ncases;
}

/* ---- MEASURE.md check values ------------------------------------------------------------ */

static void test_parse_fixtures(void **state)
{
    (void)state;
    size_t len;
    uint8_t *fw = vd_test_read_vector("measure/ovmf_AmdSev_suffix.bin", &len);
    vd_ovmf_t o;
    vd_error_t err = {0};
    assert_int_equal(vd_ovmf_parse(fw, len, &o, &err), VD_OK);
    assert_int_equal(o.base, 0xFFFFF000u);
    assert_int_equal(o.reset_addr, 0x0080B004u);
    assert_int_equal(o.metadata_offset, 0x554);
    assert_true(o.has_hashes_table);
    assert_int_equal(o.hashes_gpa, 0x00810C00u);
    /* The order is the file's: KERNEL_HASHES at 0x810000 comes before SEC_MEM at 0x811000. */
    static const uint32_t want[][3] = {
        {0x800000, 0x9000, 1}, {0x80A000, 0x3000, 1}, {0x80D000, 0x1000, 2},
        {0x80E000, 0x1000, 3}, {0x80F000, 0x1000, 4}, {0x810000, 0x1000, 0x10},
        {0x811000, 0xF000, 1},
    };
    assert_int_equal(o.n_sections, 7);
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(o.sections[i].gpa, want[i][0]);
        assert_int_equal(o.sections[i].type, want[i][2]);
    }
    assert_int_equal(o.sections[0].size, 0x9000);
    assert_int_equal(o.sections[6].size, 0xF000);
    free(fw);

    fw = vd_test_read_vector("measure/ovmf_OvmfX64_suffix.bin", &len);
    assert_int_equal(vd_ovmf_parse(fw, len, &o, &err), VD_OK);
    assert_int_equal(o.reset_addr, 0x0080B004u);
    assert_int_equal(o.metadata_offset, 0x548);
    assert_int_equal(o.hashes_gpa, 0);
    for (size_t i = 0; i < o.n_sections; i++) {
        assert_int_not_equal(o.sections[i].type, VD_OVMF_SNP_KERNEL_HASHES);
    }
    free(fw);
}

static void test_parse_debian(void **state)
{
    (void)state;
    size_t len;
    uint8_t *fw = read_system_file("/usr/share/OVMF/OVMF_CODE.fd", &len);
    vd_ovmf_t o;
    vd_error_t err = {0};
    assert_int_equal(vd_ovmf_parse(fw, len, &o, &err), VD_OK);
    assert_int_equal(len, 0x1E0000);
    assert_int_equal(o.base, 0xFFE20000u);
    assert_int_equal(o.reset_addr, 0x0080B004u);
    assert_int_equal(o.metadata_offset, 0x52C);
    static const uint32_t want[][3] = {
        {0x800000, 0x9000, 1}, {0x80A000, 0x3000, 1},  {0x80D000, 0, 2},
        {0x80E000, 0, 3},      {0x80F000, 0x11000, 1},
    };
    assert_int_equal(o.n_sections, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(o.sections[i].gpa, want[i][0]);
        assert_int_equal(o.sections[i].type, want[i][2]);
        if (want[i][1] != 0) {
            assert_int_equal(o.sections[i].size, want[i][1]);
        }
    }
    vd_measure_input_t in = qemu_input(fw, len);
    vd_measure_result_t res;
    assert_int_equal(vd_measure(&in, &res, &err), VD_OK);
    assert_hex(res.ovmf_hash, 48,
               "a5429c12f18e96502e1dd4917e8b0c35e4f4ebceac5fe8820b41d91d1c509abeb28146fcc453e8be"
               "4d3ede27c3fbaad3");
    free(fw);

    /* OVMF_CODE_4M.fd has no SEV metadata: QEMU cannot launch it as SNP. */
    fw = read_system_file("/usr/share/OVMF/OVMF_CODE_4M.fd", &len);
    vd_error_clear(&err);
    assert_int_equal(vd_ovmf_parse(fw, len, &o, &err), VD_E_MALFORMED);
    assert_non_null(strstr(err.msg, "no SEV metadata"));
    free(fw);
}

/* MEASURE.md section 8: LD after each step, AmdSev fixture, QEMU, 1 vCPU, no kernel. */
static void test_worked_example(void **state)
{
    (void)state;
    size_t len;
    uint8_t *fw = vd_test_read_vector("measure/ovmf_AmdSev_suffix.bin", &len);
    vd_measure_input_t in = qemu_input(fw, len);
    vd_measure_result_t res;
    vd_error_t err = {0};
    assert_int_equal(vd_measure(&in, &res, &err), VD_OK);
    static const struct {
        const char *what;
        uint64_t gpa;
        vd_page_type_t type;
        uint64_t pages;
        const char *ld;
    } steps[] = {
        {"firmware", 0xFFFFF000, VD_PAGE_NORMAL, 1, "086e2e9149ebf45a"},
        {"SNP_SEC_MEM", 0x800000, VD_PAGE_ZERO, 9, "411a1360ae4001ab"},
        {"SNP_SEC_MEM", 0x80A000, VD_PAGE_ZERO, 3, "e0b2ff7ad80630d6"},
        {"SNP_SECRETS", 0x80D000, VD_PAGE_SECRETS, 1, "230c05427474c064"},
        {"CPUID", 0x80E000, VD_PAGE_CPUID, 1, "17af371be37e5a8f"},
        {"SVSM_CAA", 0x80F000, VD_PAGE_ZERO, 1, "1de7f0d81360fb80"},
        {"SNP_KERNEL_HASHES", 0x810000, VD_PAGE_ZERO, 1, "367f275c105049c7"},
        {"SNP_SEC_MEM", 0x811000, VD_PAGE_ZERO, 15, "2a436bb1f7bd08b3"},
        {"VMSA (BSP)", VD_MEASURE_VMSA_GPA, VD_PAGE_VMSA, 1, "19358ba9a7615534"},
    };
    assert_int_equal(res.n_regions, 9);
    for (size_t i = 0; i < 9; i++) {
        assert_string_equal(res.regions[i].what, steps[i].what);
        assert_int_equal(res.regions[i].gpa, steps[i].gpa);
        assert_int_equal(res.regions[i].type, steps[i].type);
        assert_int_equal(res.regions[i].pages, steps[i].pages);
        assert_hex_prefix(res.regions[i].digest_after, 48, steps[i].ld);
    }
    assert_memory_equal(res.digest, res.regions[8].digest_after, 48);
    assert_hex_prefix(res.digest, 48, "19358ba9a7615534");
    assert_hex_prefix(res.ovmf_hash, 48, "086e2e9149ebf45a");

    /* With an empty kernel and initrd and a command line: the hashes page is NORMAL. */
    in.has_kernel = 1;
    in.has_initrd = 1;
    sha256("", 0, in.kernel_sha256);
    sha256("", 0, in.initrd_sha256);
    in.append = "console=ttyS0 loglevel=7";
    in.guest_features = 0x21;
    assert_int_equal(vd_measure(&in, &res, &err), VD_OK);
    assert_int_equal(res.regions[6].type, VD_PAGE_NORMAL);
    assert_int_equal(res.regions[6].gpa, 0x810000);
    assert_hex_prefix(res.regions[6].digest_after, 48, "ce06e9d69b176848");
    assert_hex_prefix(res.digest, 48, "803f691094946e42");

    /* The OvmfX64 fixture's firmware hash (MEASURE.md 6). */
    free(fw);
    fw = vd_test_read_vector("measure/ovmf_OvmfX64_suffix.bin", &len);
    in = qemu_input(fw, len);
    assert_int_equal(vd_measure(&in, &res, &err), VD_OK);
    assert_hex(res.ovmf_hash, 48,
               "b91e6fec73d2bcc57ad5fd400a426ce02731c22ea92bc894ce675e7c9921a822977d6cf025b85f8e"
               "f4f264bff8839d20");
    free(fw);
}

/* MEASURE.md section 4 check values: EPYC-v4, features 0x1, R_AP 0x80B004. */
static void test_vmsa_check_values(void **state)
{
    (void)state;
    static const struct {
        vd_vmm_t vmm;
        const char *bsp, *ap;
    } want[] = {
        {VD_VMM_QEMU, "77920c4c629ff47e", "8413b852790765a3"},
        {VD_VMM_EC2, "d08442e8bcdb6a5d", "acff2d22db95b8eb"},
        {VD_VMM_GCE, "f9e03177dad7f481", "5302d262c88780a7"},
    };
    uint8_t page[4096], d[48];
    for (size_t i = 0; i < 3; i++) {
        uint32_t sig = want[i].vmm == VD_VMM_QEMU ? 0x800F12 : 0;
        vd_measure__vmsa(page, want[i].vmm, 1, 0x80B004, sig, 0x1);
        sha384(page, sizeof(page), d);
        assert_hex_prefix(d, 48, want[i].bsp);
        vd_measure__vmsa(page, want[i].vmm, 0, 0x80B004, sig, 0x1);
        sha384(page, sizeof(page), d);
        assert_hex_prefix(d, 48, want[i].ap);
    }
    /* The AmdSev AP: CS base 0x00800000, RIP 0xB004; the BSP: 0xFFFF0000, 0xFFF0. */
    vd_measure__vmsa(page, VD_VMM_QEMU, 0, 0x80B004, 0x800F12, 0x21);
    assert_int_equal(vd_le64(page + 0x018), 0x00800000);
    assert_int_equal(vd_le64(page + 0x178), 0xB004);
    assert_int_equal(vd_le64(page + 0x310), 0x800F12);
    assert_int_equal(vd_le64(page + 0x3B0), 0x21);
    vd_measure__vmsa(page, VD_VMM_QEMU, 1, 0x80B004, 0x800F12, 0x21);
    assert_int_equal(vd_le64(page + 0x018), 0xFFFF0000u);
    assert_int_equal(vd_le64(page + 0x178), 0xFFF0);
}

/* MEASURE.md section 3 check value, and the command line's NUL. */
static void test_hashes_page(void **state)
{
    (void)state;
    uint8_t page[4096], d[48], cmd[32], empty[32];
    vd_error_t err = {0};
    sha256("", 0, empty);
    assert_int_equal(vd_measure__cmdline_sha256("console=ttyS0 loglevel=7", cmd, &err), VD_OK);
    assert_int_equal(vd_measure__hashes_page(page, 0xC00, cmd, empty, empty, &err), VD_OK);
    sha384(page, sizeof(page), d);
    assert_hex_prefix(d, 48, "adbef9bc7385f7a6");
    char hex[100];
    vd_hex_encode(d, 48, hex, sizeof(hex));
    assert_string_equal(hex + 90, "e7fd27");
    assert_int_equal(page[0xC00 + 0x10], 0xA8);
    assert_int_equal(page[0xC00 + 0x12 + 0x10], 0x32);
    assert_true(vd_all_zero(page + 0xC00 + 0xA8, 8));
    assert_true(vd_all_zero(page, 0xC00));

    /* No command line and "" both hash the single byte 00. */
    assert_int_equal(vd_measure__cmdline_sha256(NULL, cmd, &err), VD_OK);
    assert_hex_prefix(cmd, 32, "6e340b9c");
    assert_int_equal(vd_measure__cmdline_sha256("", cmd, &err), VD_OK);
    assert_hex_prefix(cmd, 32, "6e340b9c");
    /* The last offset where the 176-byte table fits, and the first where it does not. */
    assert_int_equal(vd_measure__hashes_page(page, 4096 - 176, cmd, empty, empty, &err), VD_OK);
    assert_int_equal(vd_measure__hashes_page(page, 4096 - 176 + 16, cmd, empty, empty, &err),
                     VD_E_MALFORMED);
}

static void test_vcpu_signatures(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        uint32_t sig;
    } want[] = {
        {"EPYC", 0x800F12},          {"EPYC-v1", 0x800F12},       {"EPYC-v4", 0x800F12},
        {"EPYC-IBPB", 0x800F12},     {"EPYC-Rome", 0x830F10},     {"EPYC-Rome-v3", 0x830F10},
        {"EPYC-Milan", 0xA00F11},    {"EPYC-Milan-v2", 0xA00F11}, {"EPYC-Genoa", 0xA10F10},
        {"EPYC-Genoa-v1", 0xA10F10}, {"EPYC-Turin", 0xB00F00},    {"epyc-milan", 0xA00F11},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        uint32_t sig = 0;
        assert_int_equal(vd_vcpu_sig_by_name(want[i].name, &sig), 0);
        assert_int_equal(sig, want[i].sig);
    }
    uint32_t sig = 0;
    assert_int_equal(vd_vcpu_sig_by_name("EPYC-Milan-v9", &sig), -1);
    assert_int_equal(vd_vcpu_sig_by_name("Skylake-Server", &sig), -1);
    assert_int_equal(vd_vcpu_sig_by_name("", &sig), -1);
    assert_int_equal(vd_vcpu_sig(23, 1, 2), 0x800F12);
    assert_int_equal(vd_vcpu_sig(6, 0x55, 4), 0x50654); /* family <= 0xF: no extended family */
    vd_vmm_t v;
    assert_int_equal(vd_vmm_parse("gce", &v), 0);
    assert_int_equal(v, VD_VMM_GCE);
    assert_int_equal(vd_vmm_parse("azure", &v), -1);
    assert_int_equal(vd_vmm_parse("QEMU", &v), -1);
}

static void test_sha256_streaming(void **state)
{
    (void)state;
    uint8_t buf[10000], one[32], pieces[32];
    vd_error_t err = {0};
    vd_measure_sha256_t *h = NULL;
    for (size_t i = 0; i < sizeof(buf); i++) {
        buf[i] = (uint8_t)(i * 7 + 3);
    }
    sha256(buf, sizeof(buf), one);
    assert_int_equal(vd_measure_sha256_new(&h, &err), VD_OK);
    for (size_t off = 0; off < sizeof(buf); off += 999) {
        size_t n = sizeof(buf) - off < 999 ? sizeof(buf) - off : 999;
        assert_int_equal(vd_measure_sha256_update(h, buf + off, n, &err), VD_OK);
    }
    assert_int_equal(vd_measure_sha256_final(h, pieces, &err), VD_OK);
    assert_memory_equal(one, pieces, 32);
    /* Reset after final: an empty input hashes as empty. */
    assert_int_equal(vd_measure_sha256_final(h, pieces, &err), VD_OK);
    assert_hex_prefix(pieces, 32, "e3b0c442");
    vd_measure_sha256_free(&h);
    assert_null(h);
    vd_measure_sha256_free(&h);
}

/* ---- synthetic firmware ----------------------------------------------------------------- */

typedef struct fw_entry {
    const char *guid;
    uint8_t data[16];
    size_t len;
} fw_entry_t;

typedef struct fw_spec {
    size_t pages;
    fw_entry_t entries[6];
    size_t n_entries;
    uint32_t meta_offset; /* where "ASEV" is written (from the end); 0: 0x600 */
    uint32_t meta_version;
    uint32_t sections[VD_OVMF_SECTIONS_MAX + 2][3];
    size_t n_sections;
    int32_t meta_len_delta; /* added to the metadata length field */
} fw_spec_t;

static const char RESET_GUID[] = "00f771de-1a7e-4fcb-890e-68c77e2fb44e";
static const char META_GUID[] = "dc886566-984a-4798-a75e-5585a7bf67cc";
static const char HASHES_GUID[] = "7255371f-3a3b-4b04-927b-1da6efa8d454";
static const char SECRET_GUID[] = "4c2eb361-7d9b-4cc3-8081-127c90d3d294";

static void add_entry(fw_spec_t *s, const char *guid, uint32_t a, uint32_t b, size_t len)
{
    fw_entry_t *e = &s->entries[s->n_entries++];
    e->guid = guid;
    vd_put_le32(e->data, a);
    vd_put_le32(e->data + 4, b);
    e->len = len;
}

static void add_section(fw_spec_t *s, uint32_t gpa, uint32_t size, uint32_t type)
{
    s->sections[s->n_sections][0] = gpa;
    s->sections[s->n_sections][1] = size;
    s->sections[s->n_sections][2] = type;
    s->n_sections++;
}

/* The AmdSev layout in miniature: reset block, metadata, hashes table at 0x810C00. */
static fw_spec_t default_spec(void)
{
    fw_spec_t s;
    memset(&s, 0, sizeof(s));
    s.pages = 2;
    s.meta_version = 1;
    add_entry(&s, SECRET_GUID, 0x80D000, 0x1000, 8);
    add_entry(&s, HASHES_GUID, 0x810C00, 0x400, 8);
    add_entry(&s, META_GUID, 0x600, 0, 4);
    add_entry(&s, RESET_GUID, 0x80B004, 0, 4);
    add_section(&s, 0x800000, 0x9000, VD_OVMF_SNP_SEC_MEM);
    add_section(&s, 0x80E000, 0x1000, VD_OVMF_CPUID);
    add_section(&s, 0x80D000, 0x1000, VD_OVMF_SNP_SECRETS);
    add_section(&s, 0x80F000, 0x1000, VD_OVMF_SVSM_CAA);
    add_section(&s, 0x810000, 0x1000, VD_OVMF_SNP_KERNEL_HASHES);
    add_section(&s, 0x80A000, 0x3000, VD_OVMF_SNP_SEC_MEM);
    return s;
}

/* Lay out `s` into a new buffer (caller frees); the footer table is built from the entries
 * in order, the first nearest the footer. */
static uint8_t *build_fw(const fw_spec_t *s, size_t *len)
{
    size_t size = s->pages * 4096;
    uint8_t *fw = calloc(1, size);
    assert_non_null(fw);
    for (size_t i = 0; i < size - 4096; i++) {
        fw[i] = (uint8_t)(i * 31 + 1); /* firmware bytes that are not all zero */
    }
    memcpy(fw + size - 16, "VTF", 4);
    size_t pos = size - 32 - 18; /* the footer's trailer */
    uint8_t guid[16];
    vd_measure__guid("96b582de-1fb2-45f7-baea-a366c55a082d", guid);
    memcpy(fw + pos + 2, guid, 16);
    size_t end = pos;
    for (size_t i = 0; i < s->n_entries; i++) {
        const fw_entry_t *e = &s->entries[i];
        size_t elen = e->len + 18;
        vd_measure__guid(e->guid, guid);
        memcpy(fw + end - 16, guid, 16);
        fw[end - 18] = (uint8_t)elen;
        fw[end - 17] = (uint8_t)(elen >> 8);
        memcpy(fw + end - elen, e->data, e->len);
        end -= elen;
    }
    size_t table = size - 32 - end;
    fw[pos] = (uint8_t)table;
    fw[pos + 1] = (uint8_t)(table >> 8);
    uint32_t off = s->meta_offset ? s->meta_offset : 0x600;
    uint8_t *h = fw + size - off;
    memcpy(h, "ASEV", 4);
    vd_put_le32(h + 4, (uint32_t)(16 + 12 * s->n_sections + (size_t)(int64_t)s->meta_len_delta));
    vd_put_le32(h + 8, s->meta_version);
    vd_put_le32(h + 12, (uint32_t)s->n_sections);
    for (size_t i = 0; i < s->n_sections; i++) {
        for (size_t k = 0; k < 3; k++) {
            vd_put_le32(h + 16 + 12 * i + 4 * k, s->sections[i][k]);
        }
    }
    *len = size;
    return fw;
}

/* An independent replay of MEASURE.md for synthetic firmware, written from the tables. */
static void ref_step(uint8_t ld[48], uint8_t type, uint64_t gpa, const uint8_t *contents)
{
    uint8_t info[112] = {0};
    memcpy(info, ld, 48);
    if (contents != NULL) {
        memcpy(info + 48, contents, 48);
    }
    info[96] = 112;
    info[98] = type;
    vd_put_le64(info + 104, gpa);
    sha384(info, sizeof(info), ld);
}

static void ref_measure(const vd_measure_input_t *in, const fw_spec_t *s, uint8_t ld[48])
{
    uint8_t d[48], page[4096];
    memset(ld, 0, 48);
    for (size_t off = 0; off < in->ovmf_len; off += 4096) {
        sha384(in->ovmf + off, 4096, d);
        ref_step(ld, 1, 0x100000000ull - in->ovmf_len + off, d);
    }
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < s->n_sections; i++) {
            uint32_t gpa = s->sections[i][0], size = s->sections[i][1], type = s->sections[i][2];
            if ((in->vmm == VD_VMM_EC2 && type == 3) != pass) {
                continue;
            }
            if (type == 2 || type == 3) {
                ref_step(ld, type == 2 ? 5 : 6, gpa, NULL);
            } else if (type == 0x10 && in->has_kernel) {
                uint8_t cmd[32], init[32];
                const char *a = in->append ? in->append : "";
                sha256(a, strlen(a) + 1, cmd);
                if (in->has_initrd) {
                    memcpy(init, in->initrd_sha256, 32);
                } else {
                    sha256("", 0, init);
                }
                vd_error_t err = {0};
                assert_int_equal(
                    vd_measure__hashes_page(page, 0xC00, cmd, init, in->kernel_sha256, &err),
                    VD_OK);
                sha384(page, sizeof(page), d);
                ref_step(ld, 1, gpa, d);
            } else {
                uint8_t t = type == 1 && in->vmm == VD_VMM_GCE ? 4 : 3;
                for (uint32_t p = 0; p < size / 4096; p++) {
                    ref_step(ld, t, gpa + (uint64_t)p * 4096, NULL);
                }
            }
        }
    }
    for (uint32_t v = 0; v < in->vcpus; v++) {
        vd_measure__vmsa(page, in->vmm, v == 0, 0x80B004, in->vmm == VD_VMM_QEMU ? in->vcpu_sig : 0,
                         in->guest_features);
        sha384(page, sizeof(page), d);
        ref_step(ld, 2, 0xFFFFFFFFF000ull, d);
    }
}

static void check_against_ref(const fw_spec_t *s, vd_measure_input_t in)
{
    size_t len;
    uint8_t *fw = build_fw(s, &len);
    uint8_t want[48];
    vd_measure_result_t res;
    vd_error_t err = {0};
    in.ovmf = fw;
    in.ovmf_len = len;
    if (vd_measure(&in, &res, &err) != VD_OK) {
        fail_msg("measure: %s", err.msg);
    }
    ref_measure(&in, s, want);
    assert_memory_equal(res.digest, want, 48);
    free(fw);
}

/* Every section type under every VMM, several vCPU counts, with and without a kernel. */
static void test_synthetic_sections(void **state)
{
    (void)state;
    fw_spec_t s = default_spec();
    static const vd_vmm_t vmms[] = {VD_VMM_QEMU, VD_VMM_EC2, VD_VMM_GCE};
    for (size_t v = 0; v < 3; v++) {
        for (uint32_t vcpus = 1; vcpus <= 3; vcpus++) {
            vd_measure_input_t in = qemu_input(NULL, 0);
            in.vmm = vmms[v];
            in.vcpus = vcpus;
            check_against_ref(&s, in);
            in.has_kernel = 1;
            sha256("kernel", 6, in.kernel_sha256);
            in.append = "root=/dev/vda";
            check_against_ref(&s, in);
            in.has_initrd = 1;
            sha256("initrd", 6, in.initrd_sha256);
            check_against_ref(&s, in);
        }
    }
}

/* Sections are measured in file order, never sorted by GPA; reordering changes the digest. */
static void test_synthetic_file_order(void **state)
{
    (void)state;
    fw_spec_t a = default_spec();
    fw_spec_t b = a;
    /* b: the same sections sorted by GPA. */
    for (size_t i = 0; i < b.n_sections; i++) {
        for (size_t j = i + 1; j < b.n_sections; j++) {
            if (b.sections[j][0] < b.sections[i][0]) {
                uint32_t t[3];
                memcpy(t, b.sections[i], sizeof(t));
                memcpy(b.sections[i], b.sections[j], sizeof(t));
                memcpy(b.sections[j], t, sizeof(t));
            }
        }
    }
    size_t la, lb;
    uint8_t *fa = build_fw(&a, &la), *fb = build_fw(&b, &lb);
    vd_measure_input_t in = qemu_input(fa, la);
    vd_measure_result_t ra, rb;
    vd_error_t err = {0};
    assert_int_equal(vd_measure(&in, &ra, &err), VD_OK);
    in.ovmf = fb;
    assert_int_equal(vd_measure(&in, &rb, &err), VD_OK);
    assert_memory_not_equal(ra.digest, rb.digest, 48);
    check_against_ref(&b, qemu_input(NULL, 0));
    /* EC2 defers the CPUID page: its region comes right before the VMSA. */
    in.ovmf = fa;
    in.vmm = VD_VMM_EC2;
    assert_int_equal(vd_measure(&in, &ra, &err), VD_OK);
    assert_string_equal(ra.regions[ra.n_regions - 2].what, "CPUID");
    assert_string_equal(ra.regions[2].what, "SNP_SECRETS");
    /* GCE measures SEC_MEM as UNMEASURED pages, SVSM_CAA as ZERO. */
    in.vmm = VD_VMM_GCE;
    assert_int_equal(vd_measure(&in, &ra, &err), VD_OK);
    assert_int_equal(ra.regions[1].type, VD_PAGE_UNMEASURED);
    assert_int_equal(ra.regions[4].type, VD_PAGE_ZERO);
    free(fa);
    free(fb);
}

/* EC2 and GCE ignore the vCPU signature; QEMU does not. */
static void test_signature_ignored_off_qemu(void **state)
{
    (void)state;
    fw_spec_t s = default_spec();
    size_t len;
    uint8_t *fw = build_fw(&s, &len);
    vd_measure_input_t in = qemu_input(fw, len);
    vd_measure_result_t r1, r2;
    vd_error_t err = {0};
    static const vd_vmm_t off_qemu[] = {VD_VMM_EC2, VD_VMM_GCE};
    for (size_t i = 0; i < 2; i++) {
        in.vmm = off_qemu[i];
        in.has_vcpu_sig = 1;
        in.vcpu_sig = 0xA00F11;
        assert_int_equal(vd_measure(&in, &r1, &err), VD_OK);
        in.has_vcpu_sig = 0;
        assert_int_equal(vd_measure(&in, &r2, &err), VD_OK);
        assert_memory_equal(r1.digest, r2.digest, 48);
    }
    in.vmm = VD_VMM_QEMU;
    in.has_vcpu_sig = 1;
    in.vcpu_sig = 0x800F12;
    assert_int_equal(vd_measure(&in, &r1, &err), VD_OK);
    in.vcpu_sig = 0xA00F11;
    assert_int_equal(vd_measure(&in, &r2, &err), VD_OK);
    assert_memory_not_equal(r1.digest, r2.digest, 48);
    free(fw);
}

/* --snp-ovmf-hash: the firmware bytes are not hashed, the rest is the same. */
static void test_ovmf_hash_shortcut(void **state)
{
    (void)state;
    fw_spec_t s = default_spec();
    size_t len;
    uint8_t *fw = build_fw(&s, &len);
    vd_measure_input_t in = qemu_input(fw, len);
    vd_measure_result_t full, quick;
    vd_error_t err = {0};
    assert_int_equal(vd_measure(&in, &full, &err), VD_OK);
    in.has_ovmf_hash = 1;
    memcpy(in.ovmf_hash, full.ovmf_hash, 48);
    fw[0] ^= 0xFF; /* firmware bytes no longer count */
    assert_int_equal(vd_measure(&in, &quick, &err), VD_OK);
    assert_memory_equal(full.digest, quick.digest, 48);
    assert_string_not_equal(quick.regions[0].what, "firmware");
    in.has_ovmf_hash = 0;
    assert_int_equal(vd_measure(&in, &quick, &err), VD_OK);
    assert_memory_not_equal(full.digest, quick.digest, 48);
    free(fw);
}

/* Run vd_measure on `s` with `in` and expect `code` and `msg` in the message. */
static void expect_error(const fw_spec_t *s, vd_measure_input_t in, vd_err_t code, const char *msg)
{
    size_t len;
    uint8_t *fw = build_fw(s, &len);
    vd_measure_result_t res;
    vd_error_t err = {0};
    if (in.ovmf_len == 0) {
        in.ovmf = fw;
        in.ovmf_len = len;
    }
    vd_err_t rc = vd_measure(&in, &res, &err);
    if (rc != code || strstr(err.msg, msg) == NULL) {
        fail_msg("expected %d '%s', got %d '%s'", code, msg, rc, err.msg);
    }
    assert_true(vd_all_zero(res.digest, 48));
    free(fw);
}

static void test_errors_firmware(void **state)
{
    (void)state;
    vd_measure_input_t in = qemu_input(NULL, 0);
    fw_spec_t s = default_spec();
    uint8_t junk[8192] = {0};

    in.ovmf = junk;
    in.ovmf_len = 4095;
    expect_error(&s, in, VD_E_MALFORMED, "multiple of 4096");
    in.ovmf_len = 8192;
    expect_error(&s, in, VD_E_MALFORMED, "no footer GUID table");
    in = qemu_input(NULL, 0);

    fw_spec_t t = default_spec();
    t.n_entries = 3; /* drop the reset block */
    expect_error(&t, in, VD_E_MALFORMED, "no SEV-ES reset block");
    t = default_spec();
    t.entries[3].len = 2;
    expect_error(&t, in, VD_E_MALFORMED, "SEV-ES reset block of 2 bytes");
    t = default_spec();
    t.entries[2] = t.entries[3];
    t.n_entries = 3; /* no metadata entry */
    expect_error(&t, in, VD_E_MALFORMED, "no SEV metadata");
    t = default_spec();
    t.entries[2].len = 2;
    expect_error(&t, in, VD_E_MALFORMED, "SEV metadata entry of 2 bytes");
    t = default_spec();
    t.entries[1].len = 4;
    expect_error(&t, in, VD_E_MALFORMED, "SEV hashes table entry of 4 bytes");
    t = default_spec();
    t.entries[4] = t.entries[3];
    t.n_entries = 5;
    expect_error(&t, in, VD_E_MALFORMED, "two SEV-ES reset block entries");
    t = default_spec();
    vd_put_le32(t.entries[2].data, 0x2000); /* metadata offset: 8 KiB, the whole file */
    expect_error(&t, in, VD_E_MALFORMED, "no SEV metadata header");
    vd_put_le32(t.entries[2].data, 0x2001);
    expect_error(&t, in, VD_E_MALFORMED, "outside the");
    vd_put_le32(t.entries[2].data, 8);
    expect_error(&t, in, VD_E_MALFORMED, "outside the");
    t = default_spec();
    t.meta_version = 2;
    expect_error(&t, in, VD_E_MALFORMED, "version 2");
    t = default_spec();
    t.meta_len_delta = -1;
    expect_error(&t, in, VD_E_MALFORMED, "does not hold");
    t = default_spec();
    t.meta_len_delta = 0x600; /* runs past the end of the image */
    expect_error(&t, in, VD_E_MALFORMED, "does not hold");
    t = default_spec();
    for (size_t i = t.n_sections; i < VD_OVMF_SECTIONS_MAX + 1; i++) {
        add_section(&t, 0x900000 + (uint32_t)i * 0x1000, 0x1000, 1);
    }
    t.meta_offset = 0x800;
    vd_put_le32(t.entries[2].data, 0x800);
    expect_error(&t, in, VD_E_TOO_LARGE, "sections (at most");
    t = default_spec();
    add_section(&t, 0x900000, 0x1000, 0x5);
    expect_error(&t, in, VD_E_MALFORMED, "unknown type 0x5");
    t = default_spec();
    add_section(&t, 0x900800, 0x1000, 1);
    expect_error(&t, in, VD_E_MALFORMED, "not page-aligned");
    t = default_spec();
    add_section(&t, 0x900000, 0x800, 1);
    expect_error(&t, in, VD_E_MALFORMED, "not whole pages");
    t = default_spec();
    add_section(&t, 0x900000, 0, 4);
    expect_error(&t, in, VD_E_MALFORMED, "not whole pages");
    t = default_spec();
    add_section(&t, 0xFFFFF000u, 0x2000, 1);
    expect_error(&t, in, VD_E_MALFORMED, "below 4 GiB");
    t = default_spec();
    add_section(&t, 0xFFFFE000u, 0x1000, 1); /* the firmware starts at 0xFFFFE000 */
    expect_error(&t, in, VD_E_MALFORMED, "overlaps the firmware at 0xffffe000");
    t = default_spec();
    add_section(&t, 0x808000, 0x2000, 1); /* SEC_MEM 0x800000+0x9000 ends at 0x809000 */
    expect_error(&t, in, VD_E_MALFORMED, "SNP_SEC_MEM section at GPA 0x808000 overlaps");
    t = default_spec();
    add_section(&t, 0x80E000, 0, VD_OVMF_CPUID); /* the same CPUID page twice */
    expect_error(&t, in, VD_E_MALFORMED, "overlaps CPUID at 0x80e000");
    t = default_spec();
    add_section(&t, 0x809000, 0x1000, 4); /* exactly in the gap: measured */
    check_against_ref(&t, qemu_input(NULL, 0));
}

/* Footer tables whose lengths do not add up. */
static void test_errors_footer_lengths(void **state)
{
    (void)state;
    fw_spec_t s = default_spec();
    size_t len;
    uint8_t *fw = build_fw(&s, &len);
    vd_ovmf_t o;
    vd_error_t err = {0};
    uint8_t save0 = fw[len - 50], save1 = fw[len - 49];

    fw[len - 50] = 17; /* table shorter than its own trailer */
    fw[len - 49] = 0;
    assert_int_equal(vd_ovmf_parse(fw, len, &o, &err), VD_E_MALFORMED);
    assert_non_null(strstr(err.msg, "footer table length 17"));
    fw[len - 50] = 0xFF; /* 0xFFFF: longer than the image */
    fw[len - 49] = 0xFF;
    vd_error_clear(&err);
    assert_int_equal(vd_ovmf_parse(fw, len, &o, &err), VD_E_MALFORMED);
    assert_non_null(strstr(err.msg, "footer table length 65535 out of range"));
    free(fw);

    /* A 4 KiB image: the table length cannot exceed what precedes the tail. */
    s.pages = 1;
    fw = build_fw(&s, &len);
    fw[len - 50] = 0xE1; /* 4065 > 4096 - 32 */
    fw[len - 49] = 0x0F;
    vd_error_clear(&err);
    assert_int_equal(vd_ovmf_parse(fw, len, &o, &err), VD_E_MALFORMED);
    assert_non_null(strstr(err.msg, "out of range"));
    fw[len - 50] = save0;
    fw[len - 49] = save1;
    /* The first entry (nearest the footer) claims 17 bytes, then more than the table. */
    fw[len - 32 - 18 - 18] = 17;
    vd_error_clear(&err);
    assert_int_equal(vd_ovmf_parse(fw, len, &o, &err), VD_E_MALFORMED);
    assert_non_null(strstr(err.msg, "entry length 17"));
    fw[len - 32 - 18 - 18] = 0xFF;
    vd_error_clear(&err);
    assert_int_equal(vd_ovmf_parse(fw, len, &o, &err), VD_E_MALFORMED);
    assert_non_null(strstr(err.msg, "entry length 255"));
    free(fw);
}

static void test_errors_input(void **state)
{
    (void)state;
    fw_spec_t s = default_spec();
    vd_measure_input_t in = qemu_input(NULL, 0);
    in.vcpus = 0;
    expect_error(&s, in, VD_E_USAGE, "vCPU count 0 out of range");
    in.vcpus = VD_MEASURE_VCPUS_MAX + 1;
    expect_error(&s, in, VD_E_USAGE, "out of range");
    in = qemu_input(NULL, 0);
    in.has_vcpu_sig = 0;
    expect_error(&s, in, VD_E_USAGE, "vCPU type or signature is required");
    in = qemu_input(NULL, 0);
    in.vmm = (vd_vmm_t)7;
    expect_error(&s, in, VD_E_USAGE, "unknown VMM type");
    in = qemu_input(NULL, 0);
    in.guest_features = 0x20;
    expect_error(&s, in, VD_E_USAGE, "SNPActive");
    in = qemu_input(NULL, 0);
    in.has_initrd = 1;
    expect_error(&s, in, VD_E_USAGE, "only with a kernel");
    in = qemu_input(NULL, 0);
    in.append = "quiet";
    expect_error(&s, in, VD_E_USAGE, "only with a kernel");
    in.append = ""; /* an empty command line without a kernel changes nothing */
    check_against_ref(&s, in);
}

static void test_errors_kernel(void **state)
{
    (void)state;
    vd_measure_input_t in = qemu_input(NULL, 0);
    in.has_kernel = 1;
    fw_spec_t t = default_spec();
    t.n_sections = 4; /* drop KERNEL_HASHES (and the last SEC_MEM) */
    expect_error(&t, in, VD_E_USAGE, "no SNP_KERNEL_HASHES section");
    t = default_spec();
    t.entries[1] = t.entries[0]; /* no hashes table block: two secret blocks instead */
    expect_error(&t, in, VD_E_MALFORMED, "no SEV hashes table block");
    t = default_spec();
    vd_put_le32(t.entries[1].data, 0x811C00);
    expect_error(&t, in, VD_E_MALFORMED, "not in the SNP_KERNEL_HASHES page");
    t = default_spec();
    vd_put_le32(t.entries[1].data + 4, 0x80);
    expect_error(&t, in, VD_E_MALFORMED, "area of 128 bytes");
    t = default_spec();
    vd_put_le32(t.entries[1].data, 0x810F80);
    expect_error(&t, in, VD_E_MALFORMED, "does not fit its page");
    t = default_spec();
    t.sections[4][1] = 0x2000;
    expect_error(&t, in, VD_E_MALFORMED, "larger than a page");
    t = default_spec();
    add_section(&t, 0x900000, 0x1000, VD_OVMF_SNP_KERNEL_HASHES);
    expect_error(&t, in, VD_E_MALFORMED, "two SNP_KERNEL_HASHES");
    /* Without a kernel the same firmware measures: both pages are ZERO. */
    in.has_kernel = 0;
    check_against_ref(&t, in);
}

int main(void)
{
    const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_parse_fixtures),
        cmocka_unit_test(test_parse_debian),
        cmocka_unit_test(test_worked_example),
        cmocka_unit_test(test_vmsa_check_values),
        cmocka_unit_test(test_hashes_page),
        cmocka_unit_test(test_vcpu_signatures),
        cmocka_unit_test(test_sha256_streaming),
        cmocka_unit_test(test_synthetic_sections),
        cmocka_unit_test(test_synthetic_file_order),
        cmocka_unit_test(test_signature_ignored_off_qemu),
        cmocka_unit_test(test_ovmf_hash_shortcut),
        cmocka_unit_test(test_errors_firmware),
        cmocka_unit_test(test_errors_footer_lengths),
        cmocka_unit_test(test_errors_input),
        cmocka_unit_test(test_errors_kernel),
    };
    struct CMUnitTest rows[MAX_CASES];
    size_t n = load_cases();
    for (size_t i = 0; i < n; i++) {
        rows[i] = (struct CMUnitTest){g_cases[i].col[0], test_case_row, NULL, NULL, &g_cases[i]};
    }
    if (n == 0) {
        rows[0] = (struct CMUnitTest){"cases.tsv", test_cases_missing, NULL, NULL, NULL};
        n = 1;
    }
    int failed = _cmocka_run_group_tests("measure cases.tsv", rows, n, NULL, NULL);
    failed += cmocka_run_group_tests(fixed, NULL, NULL);
    free(g_tsv);
    return failed;
}
