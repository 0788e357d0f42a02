/*
 * The policy compiler (policies/policy_compile.c, policies/yamltree.c) against the language in
 * policies/README.md: every parser and schema error path yields VD_E_MALFORMED (or
 * VD_E_TOO_LARGE for the document bounds) with a message that carries the file name,
 * line:column, the key path and what was expected; every example in policies/examples compiles;
 * the accepted spellings (0x hex, upper-case hex, quoted integers) compile to the right values.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "verdict/policy.h"
#include "../../policies/policy_internal.h"

#define FILE_NAME "p.yaml"

/* A 96-hex-digit (48-byte) value and friends, for reference-value lists. */
#define HEX48                                                                                      \
    "7699e6ac12ccdfd1dfac70e649ce1f046cb2afbb003438f4cdddfe2ccbe182fa5ffbe8dcdb930454324e10c52c7"  \
    "88980"
#define HEX32 "b3452a0ed30f1010bd32740dd1610bc63296ceb0f882f2cac3a3152d651fe7e4"
#define HEX16 "01000000000000000000000000000000"
#define HEX64                                                                                      \
    "3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a1936776b5"  \
    "64ea464cdce40c05f63c9b610c5068b006b5d"
#define HEX8 "59790fb1c39f35c1"

/* Compile `yaml`; the policy must be rejected with `code` and a message holding every needle. */
static void expect_err(const char *yaml, size_t len, vd_err_t code, const char *const *needles)
{
    vd_error_t err = {0};
    vd_policy_t *p = (vd_policy_t *)(uintptr_t)1; /* must be reset to NULL */
    vd_err_t rc = vd_policy_compile(yaml, len, FILE_NAME, &p, &err);
    if (rc != code) {
        vd_policy_free(&p);
        fail_msg("expected error %d, got %d (%s) for:\n%.400s", (int)code, (int)rc, err.msg, yaml);
    }
    assert_null(p);
    assert_int_equal(err.code, code);
    for (size_t i = 0; needles[i] != NULL; i++) {
        if (strstr(err.msg, needles[i]) == NULL) {
            fail_msg("message lacks \"%s\": %s", needles[i], err.msg);
        }
    }
}

#define EXPECT_ERR(yaml, ...)                                                                      \
    expect_err((yaml), strlen(yaml), VD_E_MALFORMED, (const char *const[]){__VA_ARGS__, NULL})
#define EXPECT_TOO_LARGE(yaml, len, ...)                                                           \
    expect_err((yaml), (len), VD_E_TOO_LARGE, (const char *const[]){__VA_ARGS__, NULL})

/* Compile `yaml`, which must be accepted. Caller frees. */
static vd_policy_t *compile_ok(const char *yaml)
{
    vd_error_t err = {0};
    vd_policy_t *p = NULL;
    vd_err_t rc = vd_policy_compile(yaml, strlen(yaml), FILE_NAME, &p, &err);
    if (rc != VD_OK) {
        fail_msg("policy rejected: %s\n%.400s", err.msg, yaml);
    }
    assert_non_null(p);
    return p;
}

/* Compile a policy whose `snp:` section is `snp_body` (already indented by two spaces). */
static char *with_snp(const char *snp_body)
{
    static char buf[8192];
    snprintf(buf, sizeof(buf), "name: t\nsnp:\n%s", snp_body);
    return buf;
}

/* ---- YAML level ----------------------------------------------------------------------------- */

static void test_compile_yaml_syntax_error(void **state)
{
    (void)state;
    EXPECT_ERR("name: a\nsnp: [1, 2\n", "p.yaml:3:1: YAML syntax error", "did not find expected");
    EXPECT_ERR("name: a\n  bad: indentation\n", "p.yaml:2:6: YAML syntax error",
               "mapping values are not allowed");
    EXPECT_ERR("name: \"unterminated\n", "p.yaml:", "YAML syntax error", "quoted scalar");
}

static void test_compile_empty_document(void **state)
{
    (void)state;
    EXPECT_ERR("", "p.yaml: empty document; a policy needs at least a name");
    EXPECT_ERR("# only a comment\n\n", "p.yaml: empty document");
    /* An explicit empty document is an empty scalar at the top, not a mapping. */
    EXPECT_ERR("---\n", "p.yaml:", "(top level): expected a mapping, got a scalar");
}

static void test_compile_two_documents(void **state)
{
    (void)state;
    EXPECT_ERR("name: a\n---\nname: b\n", "p.yaml:2:1: more than one YAML document");
    EXPECT_ERR("---\nname: a\n...\n---\nname: b\n", "p.yaml:4:1: more than one YAML document");
}

static void test_compile_anchor_rejected(void **state)
{
    (void)state;
    EXPECT_ERR("name: &n a\n", "p.yaml:1:7: YAML anchors (&n) are not allowed in policies");
    EXPECT_ERR("name: a\nsnp: &s\n  vmpl: 0\n", "p.yaml:2:6: YAML anchors (&s)");
    EXPECT_ERR("name: a\nsnp:\n  measurements: &m [" HEX48 "]\n", "p.yaml:3:17: YAML anchors (&m)");
}

static void test_compile_alias_rejected(void **state)
{
    (void)state;
    /* The alias is reported even without a (rejected) anchor before it. */
    EXPECT_ERR("name: a\ndescription: *x\n",
               "p.yaml:2:14: YAML aliases (*x) are not allowed in policies");
    EXPECT_ERR("name: a\nsnp:\n  vmpl: *v\n", "p.yaml:3:9: YAML aliases (*v)");
}

static void test_compile_tag_rejected(void **state)
{
    (void)state;
    EXPECT_ERR("name: !foo a\n", "p.yaml:1:7: YAML tag !foo is not allowed");
    EXPECT_ERR("name: !<tag:example.com,2000:x> a\n", "p.yaml:1:7: YAML tag", "example.com");
    /* In the yaml.org namespace but not a core-schema tag: still not allowed. */
    EXPECT_ERR("name: !!python/object:os.system a\n", "p.yaml:1:7: YAML tag",
               "python/object:os.system", "not allowed");
    EXPECT_ERR("name: a\nsnp: !!omap\n  - vmpl: 0\n", "p.yaml:2:6: YAML tag", "omap");
    EXPECT_ERR("name: a\ndescription: !!binary aGVsbG8=\n", "p.yaml:2:14: YAML tag", "binary");
}

static void test_compile_core_tags_accepted(void **state)
{
    (void)state;
    vd_policy_t *p = compile_ok("name: !!str t1\nsnp: !!map\n  vmpl: !!int 2\n"
                                "  measurements: !!seq [" HEX48 "]\n");
    assert_string_equal(vd_policy_name(p), "t1");
    assert_int_equal(p->vmpl_mask, 1u << 2);
    vd_policy_free(&p);
}

static void test_compile_nul_byte_rejected(void **state)
{
    (void)state;
    EXPECT_ERR("name: a\ndescription: \"x\\0y\"\n", "p.yaml:2:14: NUL byte in a value");
}

static void test_compile_top_level_not_mapping(void **state)
{
    (void)state;
    EXPECT_ERR("- name: a\n", "p.yaml:1:1: (top level): expected a mapping, got a sequence");
    EXPECT_ERR("just-a-string\n", "p.yaml:1:1: (top level): expected a mapping, got a scalar");
}

/* ---- name, description, top-level keys ------------------------------------------------------ */

static void test_compile_name_missing(void **state)
{
    (void)state;
    EXPECT_ERR("description: nameless\n", "p.yaml:1:1: name: missing: every policy has a name");
    EXPECT_ERR("snp: {}\n", "p.yaml:1:1: name: missing");
}

static void test_compile_name_bad_characters(void **state)
{
    (void)state;
    EXPECT_ERR("name: a b\n", "p.yaml:1:7: name: 'a b': use letters, digits, '-', '_' and '.'");
    EXPECT_ERR("name: a/b\n", "p.yaml:1:7: name: 'a/b'");
    EXPECT_ERR("name: -a\n", "p.yaml:1:7: name: '-a'");
    EXPECT_ERR("name: .hidden\n", "p.yaml:1:7: name: '.hidden'");
    EXPECT_ERR("name: \"\"\n", "p.yaml:1:7: name: '': use letters");
    EXPECT_ERR("name:\n", "p.yaml:1:6: name: '': use letters");
    EXPECT_ERR("name: \"caf\xc3\xa9\"\n", "p.yaml:1:7: name:");
}

static void test_compile_name_too_long(void **state)
{
    (void)state;
    char yaml[256];
    char name[VD_POLICY_NAME_MAX + 1];
    memset(name, 'n', VD_POLICY_NAME_MAX);
    name[VD_POLICY_NAME_MAX] = '\0';
    snprintf(yaml, sizeof(yaml), "name: %s\n", name);
    EXPECT_ERR(yaml, "p.yaml:1:7: name: longer than 63 characters");
    /* 63 characters is the most that fits. */
    name[VD_POLICY_NAME_MAX - 1] = '\0';
    snprintf(yaml, sizeof(yaml), "name: %s\n", name);
    vd_policy_t *p = compile_ok(yaml);
    assert_string_equal(vd_policy_name(p), name);
    vd_policy_free(&p);
}

static void test_compile_name_wrong_type(void **state)
{
    (void)state;
    EXPECT_ERR("name: [a]\n", "p.yaml:1:7: name: expected a string, got a sequence");
    EXPECT_ERR("name: {a: b}\n", "p.yaml:1:7: name: expected a string, got a mapping");
}

static void test_compile_description_wrong_type_and_length(void **state)
{
    (void)state;
    EXPECT_ERR("name: a\ndescription: [x]\n",
               "p.yaml:2:14: description: expected a string, got a sequence");
    static char yaml[1024];
    char text[600];
    memset(text, 'd', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    snprintf(yaml, sizeof(yaml), "name: a\ndescription: %s\n", text);
    EXPECT_ERR(yaml, "p.yaml:2:14: description: longer than 511 characters");
}

static void test_compile_unknown_top_level_key(void **state)
{
    (void)state;
    EXPECT_ERR("name: a\nsnpp: {}\n",
               "p.yaml:2:1: (top level): unknown key 'snpp' (expected one of: name, description, "
               "snp, tpm, azure, appraisal)");
    EXPECT_ERR("name: a\nversion: 2\n", "p.yaml:2:1: (top level): unknown key 'version'");
}

static void test_compile_unknown_key_in_sections(void **state)
{
    (void)state;
    EXPECT_ERR(with_snp("  vmpl: 0\n  debug: forbidden\n"), "p.yaml:4:3: snp: unknown key 'debug'",
               "expected one of: products, signing_keys, min_tcb");
    EXPECT_ERR(with_snp("  guest_policy:\n    debug: forbidden\n    dbg: allowed\n"),
               "p.yaml:5:5: snp.guest_policy: unknown key 'dbg'",
               "smt, migrate_ma, debug, single_socket, cxl_allowed, mem_aes_256_xts, "
               "rapl_disabled, ciphertext_hiding, page_swap_disabled, min_abi");
    EXPECT_ERR(with_snp("  platform_info:\n    bit6: required\n"),
               "p.yaml:4:5: snp.platform_info: unknown key 'bit6'",
               "smt, tsme, ecc, rapl_disabled, ciphertext_hiding, alias_check_complete, "
               "iommu_write_safe, tio)");
    /* min_abi belongs to guest_policy only. */
    EXPECT_ERR(with_snp("  platform_info:\n    min_abi: \"1.0\"\n"),
               "p.yaml:4:5: snp.platform_info: unknown key 'min_abi'");
    EXPECT_ERR(with_snp("  min_tcb:\n    snp: 1\n    ucode: 2\n"),
               "p.yaml:5:5: snp.min_tcb: unknown key 'ucode'",
               "expected one of: fmc, bootloader, tee, snp, microcode");
    EXPECT_ERR(with_snp("  min_launch_tcb: {snp: 1, bl: 2}\n"),
               "p.yaml:3:28: snp.min_launch_tcb: unknown key 'bl'");
    EXPECT_ERR("name: a\nappraisal:\n  on_fail: {}\n",
               "p.yaml:3:3: appraisal: unknown key 'on_fail' (expected one of: on_failure)");
}

static void test_compile_duplicate_key(void **state)
{
    (void)state;
    EXPECT_ERR("name: a\nname: b\n", "p.yaml:2:1: (top level): key 'name' appears twice");
    EXPECT_ERR(with_snp("  vmpl: 0\n  vmpl: 1\n"), "p.yaml:4:3: snp: key 'vmpl' appears twice");
    EXPECT_ERR(with_snp("  guest_policy: {debug: allowed, debug: forbidden}\n"),
               "p.yaml:3:34: snp.guest_policy: key 'debug' appears twice");
    EXPECT_ERR(with_snp("  min_tcb: {snp: 1, snp: 2}\n"),
               "p.yaml:3:21: snp.min_tcb: key 'snp' appears twice");
    EXPECT_ERR(with_snp("  measurements:\n    - {value: " HEX48 ", value: " HEX48 "}\n"),
               "p.yaml:4:", "snp.measurements[0]: key 'value' appears twice");
}

static void test_compile_non_scalar_key(void **state)
{
    (void)state;
    EXPECT_ERR("? [a]\n: b\nname: c\n", "p.yaml:1:3: (top level): keys must be plain strings");
}

/* ---- wrong types ---------------------------------------------------------------------------- */

static void test_compile_wrong_types(void **state)
{
    (void)state;
    EXPECT_ERR("name: a\nsnp: [vmpl]\n", "p.yaml:2:6: snp: expected a mapping, got a sequence");
    EXPECT_ERR("name: a\nsnp: yes\n", "p.yaml:2:6: snp: expected a mapping, got a scalar");
    EXPECT_ERR("name: a\nappraisal: [1]\n",
               "p.yaml:2:12: appraisal: expected a mapping, got a sequence");
    EXPECT_ERR(with_snp("  min_tcb: 5\n"), "p.yaml:3:12: snp.min_tcb: expected a mapping, got a "
                                           "scalar");
    EXPECT_ERR(with_snp("  min_tcb: [1, 2]\n"),
               "p.yaml:3:12: snp.min_tcb: expected a mapping, got a sequence");
    EXPECT_ERR(with_snp("  guest_policy: [debug]\n"),
               "p.yaml:3:17: snp.guest_policy: expected a mapping, got a sequence");
    EXPECT_ERR(with_snp("  platform_info: required\n"),
               "p.yaml:3:18: snp.platform_info: expected a mapping, got a scalar");
    EXPECT_ERR(with_snp("  products: Milan\n"),
               "p.yaml:3:13: snp.products: expected a sequence, got a scalar");
    EXPECT_ERR(with_snp("  signing_keys: {VCEK: 1}\n"),
               "p.yaml:3:17: snp.signing_keys: expected a sequence, got a mapping");
    EXPECT_ERR(with_snp("  measurements: {value: " HEX48 "}\n"),
               "p.yaml:3:17: snp.measurements: expected a sequence, got a mapping");
    EXPECT_ERR(with_snp("  host_data: " HEX32 "\n"),
               "p.yaml:3:14: snp.host_data: expected a sequence, got a scalar");
    EXPECT_ERR(with_snp("  vmpl: {a: 0}\n"), "p.yaml:3:9: snp.vmpl: expected a sequence, got a "
                                             "mapping");
    EXPECT_ERR(with_snp("  vmpl: [[0]]\n"),
               "p.yaml:3:10: snp.vmpl: expected an integer 0..3, got 'sequence'");
    EXPECT_ERR(with_snp("  min_guest_svn: [1]\n"),
               "p.yaml:3:18: snp.min_guest_svn: expected an integer 0..4294967295, got 'sequence'");
    EXPECT_ERR(with_snp("  min_tcb: {snp: [1]}\n"),
               "p.yaml:3:18: snp.min_tcb.snp: expected an integer 0..255, got 'sequence'");
    EXPECT_ERR(with_snp("  guest_policy: {debug: [forbidden]}\n"),
               "p.yaml:3:25: snp.guest_policy.debug: expected required, forbidden or allowed, "
               "got 'sequence'");
    EXPECT_ERR(with_snp("  freshness: [raw]\n"), "p.yaml:3:14: snp.freshness: expected raw, "
                                                 "sha512, sha384-jcs, sha256-prefix or none, got "
                                                 "'sequence'");
    EXPECT_ERR(with_snp("  min_api_version: {major: 1}\n"),
               "p.yaml:3:20: snp.min_api_version: expected a version MAJOR.MINOR", "got 'mapping'");
    EXPECT_ERR(with_snp("  require_id_block: [true]\n"),
               "p.yaml:3:21: snp.require_id_block: expected true or false, got 'sequence'");
    EXPECT_ERR(with_snp("  measurements: [[" HEX48 "]]\n"),
               "p.yaml:3:18: snp.measurements[0]:", "expected 96 hex digits (48 bytes)");
    EXPECT_ERR(with_snp("  measurements:\n    - {value: [" HEX48 "]}\n"),
               "p.yaml:4:15: snp.measurements[0].value: expected 96 hex digits");
    EXPECT_ERR(with_snp("  measurements:\n    - {value: " HEX48 ", label: [a]}\n"),
               "snp.measurements[0].label: expected a string, got a sequence");
}

/* ---- integers ------------------------------------------------------------------------------- */

static void test_compile_integer_out_of_range(void **state)
{
    (void)state;
    EXPECT_ERR(with_snp("  min_tcb: {snp: 256}\n"),
               "p.yaml:3:18: snp.min_tcb.snp: expected an integer 0..255, got '256'");
    EXPECT_ERR(with_snp("  min_tcb:\n    microcode: -1\n"),
               "p.yaml:4:16: snp.min_tcb.microcode: expected an integer 0..255, got '-1'");
    EXPECT_ERR(with_snp("  min_tcb:\n    bootloader: 0x1FF\n"),
               "p.yaml:4:17: snp.min_tcb.bootloader: expected an integer 0..255, got '0x1FF'");
    EXPECT_ERR(with_snp("  min_tcb: {fmc: 1000}\n"),
               "snp.min_tcb.fmc: expected an integer 0..255, got '1000'");
    EXPECT_ERR(with_snp("  min_launch_tcb: {tee: 256}\n"),
               "p.yaml:3:25: snp.min_launch_tcb.tee: expected an integer 0..255, got '256'");
    EXPECT_ERR(with_snp("  vmpl: 4\n"), "p.yaml:3:9: snp.vmpl: expected an integer 0..3, got '4'");
    EXPECT_ERR(with_snp("  vmpl: [0, 4]\n"),
               "p.yaml:3:13: snp.vmpl: expected an integer 0..3, got '4'");
    EXPECT_ERR(with_snp("  vmpl: -1\n"), "snp.vmpl: expected an integer 0..3, got '-1'");
    EXPECT_ERR(with_snp("  min_guest_svn: 4294967296\n"),
               "p.yaml:3:18: snp.min_guest_svn: expected an integer 0..4294967295, "
               "got '4294967296'");
    EXPECT_ERR(with_snp("  min_guest_svn: 99999999999999999999999\n"),
               "snp.min_guest_svn: expected an integer 0..4294967295");
    EXPECT_ERR(with_snp("  min_firmware_build: 256\n"),
               "p.yaml:3:23: snp.min_firmware_build: expected an integer 0..255, got '256'");
    EXPECT_ERR(with_snp("  min_launch_mit_vector: 0x10000000000000000\n"),
               "p.yaml:3:26: snp.min_launch_mit_vector: expected an integer "
               "0..18446744073709551615");
    EXPECT_ERR(with_snp("  min_current_mit_vector: -0x1\n"),
               "snp.min_current_mit_vector: expected an integer", "got '-0x1'");
}

static void test_compile_integer_not_a_number(void **state)
{
    (void)state;
    EXPECT_ERR(with_snp("  min_guest_svn: ten\n"),
               "p.yaml:3:18: snp.min_guest_svn: expected an integer 0..4294967295, got 'ten'");
    EXPECT_ERR(with_snp("  min_guest_svn: 1.5\n"),
               "p.yaml:3:18: snp.min_guest_svn: expected an integer", "got '1.5'");
    EXPECT_ERR(with_snp("  min_guest_svn: \"\"\n"),
               "p.yaml:3:18: snp.min_guest_svn: expected an integer", "got ''");
    EXPECT_ERR(with_snp("  min_guest_svn:\n"), "p.yaml:3:17: snp.min_guest_svn: expected an "
                                               "integer");
    EXPECT_ERR(with_snp("  min_guest_svn: \" 5\"\n"), "snp.min_guest_svn: expected an integer",
               "got ' 5'");
    EXPECT_ERR(with_snp("  min_guest_svn: +5\n"), "snp.min_guest_svn: expected an integer",
               "got '+5'");
    EXPECT_ERR(with_snp("  min_guest_svn: 5 # five\n  vmpl: 0x\n"),
               "p.yaml:4:9: snp.vmpl: expected an integer 0..3, got '0x'");
    EXPECT_ERR(with_snp("  min_tcb: {snp: 1e2}\n"), "snp.min_tcb.snp: expected an integer",
               "got '1e2'");
    EXPECT_ERR(with_snp("  min_tcb: {snp: true}\n"), "snp.min_tcb.snp: expected an integer",
               "got 'true'");
    EXPECT_ERR(with_snp("  min_firmware_build: 1_000\n"),
               "snp.min_firmware_build: expected an integer", "got '1_000'");
}

static void test_compile_integers_quoted_and_plain(void **state)
{
    (void)state;
    vd_policy_t *p = compile_ok(with_snp("  min_tcb: {bootloader: \"10\", tee: 0, snp: '23', "
                                         "microcode: 0x54, fmc: \"0x01\"}\n"
                                         "  min_guest_svn: \"4294967295\"\n"
                                         "  min_firmware_build: 255\n"
                                         "  vmpl: \"2\"\n"
                                         "  min_launch_mit_vector: 0xFFFFFFFFFFFFFFFF\n"
                                         "  min_current_mit_vector: \"63\"\n"));
    assert_true(p->min_tcb.present);
    assert_int_equal(p->min_tcb.v[VD_TCBC_BL], 10);
    assert_int_equal(p->min_tcb.v[VD_TCBC_TEE], 0);
    assert_true(p->min_tcb.has[VD_TCBC_TEE]);
    assert_int_equal(p->min_tcb.v[VD_TCBC_SNP], 23);
    assert_int_equal(p->min_tcb.v[VD_TCBC_UCODE], 0x54);
    assert_int_equal(p->min_tcb.v[VD_TCBC_FMC], 1);
    assert_false(p->min_launch_tcb.present);
    assert_true(p->has_min_guest_svn);
    assert_int_equal(p->min_guest_svn, UINT32_MAX);
    assert_int_equal(p->min_build, 255);
    assert_int_equal(p->vmpl_mask, 1u << 2);
    assert_true(p->min_launch_mit == UINT64_MAX);
    assert_true(p->min_current_mit == 63);
    vd_policy_free(&p);
}

/* The compiler reads "decimal or 0x-hex": a leading zero is not octal (as in YAML 1.2). */
static void test_compile_integer_leading_zero_is_decimal(void **state)
{
    (void)state;
    vd_policy_t *p = compile_ok(with_snp("  min_guest_svn: 010\n  min_tcb: {snp: 08}\n"));
    assert_int_equal(p->min_guest_svn, 10);
    assert_int_equal(p->min_tcb.v[VD_TCBC_SNP], 8);
    vd_policy_free(&p);
    EXPECT_ERR(with_snp("  min_guest_svn: 0x0x5\n"), "snp.min_guest_svn: expected an integer",
               "got '0x0x5'");
    EXPECT_ERR(with_snp("  min_current_mit_vector: 0x-1\n"),
               "snp.min_current_mit_vector: expected an integer", "got '0x-1'");
    EXPECT_ERR(with_snp("  min_current_mit_vector: \"0x 1\"\n"),
               "snp.min_current_mit_vector: expected an integer", "got '0x 1'");
    EXPECT_ERR(with_snp("  min_guest_svn: 0o10\n"), "snp.min_guest_svn: expected an integer",
               "got '0o10'");
}

/* ---- versions, rules, booleans -------------------------------------------------------------- */

static void test_compile_bad_version(void **state)
{
    (void)state;
    static const char *const bad[] = {"1",        "\"1\"",    "1.2.3",     "a.b", "256.0",
                                      "1.256",    "\"1. 5\"", "1.",        ".5",  "\"\"",
                                      "\"+1.5\"", "\"1.+5\"", "\"\\t1.5\""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char snp[128];
        snprintf(snp, sizeof(snp), "  min_api_version: %s\n", bad[i]);
        EXPECT_ERR(with_snp(snp), "p.yaml:3:20: snp.min_api_version: expected a version "
                                  "MAJOR.MINOR such as \"1.55\", got '");
        snprintf(snp, sizeof(snp), "  guest_policy:\n    min_abi: %s\n", bad[i]);
        EXPECT_ERR(with_snp(snp), "p.yaml:4:14: snp.guest_policy.min_abi: expected a version "
                                  "MAJOR.MINOR");
    }
    EXPECT_ERR(with_snp("  min_api_version: 1.2.3\n"), "got '1.2.3'");
    EXPECT_ERR(with_snp("  min_api_version: 256.0\n"), "got '256.0'");
}

static void test_compile_version_accepted(void **state)
{
    (void)state;
    vd_policy_t *p =
        compile_ok(with_snp("  min_api_version: 1.55\n  guest_policy: {min_abi: \"0.31\"}\n"));
    assert_true(p->has_min_api);
    assert_int_equal(p->min_api_major, 1);
    assert_int_equal(p->min_api_minor, 55);
    assert_true(p->has_min_abi);
    assert_int_equal(p->min_abi_major, 0);
    assert_int_equal(p->min_abi_minor, 31);
    vd_policy_free(&p);
    p = compile_ok(with_snp("  min_api_version: \"255.255\"\n"));
    assert_int_equal(p->min_api_major, 255);
    assert_int_equal(p->min_api_minor, 255);
    vd_policy_free(&p);
}

static void test_compile_bad_rule_word(void **state)
{
    (void)state;
    static const char *const bad[] = {"yes", "true", "\"Required\"", "Forbidden",
                                      "no",  "1",    "required!",    "\"\""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char snp[128];
        snprintf(snp, sizeof(snp), "  guest_policy:\n    debug: %s\n", bad[i]);
        EXPECT_ERR(with_snp(snp), "p.yaml:4:12: snp.guest_policy.debug: expected required, "
                                  "forbidden or allowed, got '");
        snprintf(snp, sizeof(snp), "  platform_info:\n    iommu_write_safe: %s\n", bad[i]);
        EXPECT_ERR(with_snp(snp), "p.yaml:4:23: snp.platform_info.iommu_write_safe: expected "
                                  "required, forbidden or allowed");
    }
    EXPECT_ERR(with_snp("  guest_policy: {smt: yes}\n"), "snp.guest_policy.smt", "got 'yes'");
    EXPECT_ERR(with_snp("  provisional_firmware: maybe\n"),
               "p.yaml:3:25: snp.provisional_firmware: expected required, forbidden or allowed, "
               "got 'maybe'");
    /* "required" makes no sense for provisional firmware. */
    EXPECT_ERR(with_snp("  provisional_firmware: required\n"),
               "p.yaml:3:25: snp.provisional_firmware: expected allowed or forbidden");
}

static void test_compile_bad_boolean(void **state)
{
    (void)state;
    static const char *const bad[] = {"yes", "no", "1", "0", "True", "\"true\"", "on", "\"\""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char snp[128];
        snprintf(snp, sizeof(snp), "  require_id_block: %s\n", bad[i]);
        EXPECT_ERR(with_snp(snp),
                   "p.yaml:3:21: snp.require_id_block: expected true or false, got '");
        snprintf(snp, sizeof(snp), "  require_author_key: %s\n", bad[i]);
        EXPECT_ERR(with_snp(snp),
                   "p.yaml:3:23: snp.require_author_key: expected true or false, got '");
    }
}

/* ---- reference values ----------------------------------------------------------------------- */

typedef struct refset_case {
    const char *key;
    size_t len, alt;
} refset_case_t;

static const refset_case_t refsets[] = {
    {"measurements", 48, 0},       {"host_data", 32, 0}, {"family_ids", 16, 0},
    {"image_ids", 16, 0},          {"chip_ids", 64, 8},  {"id_key_digests", 48, 0},
    {"author_key_digests", 48, 0},
};

static void hex_of_len(char *out, size_t bytes, char digit)
{
    memset(out, digit, 2 * bytes);
    out[2 * bytes] = '\0';
}

static void test_compile_hex_wrong_length(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(refsets) / sizeof(refsets[0]); i++) {
        const refset_case_t *rc = &refsets[i];
        const size_t lens[] = {rc->len - 1, rc->len + 1, 1, 0};
        for (size_t j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
            char hex[300], snp[400], want[160];
            hex_of_len(hex, lens[j], 'a');
            snprintf(snp, sizeof(snp), "  %s: [\"%s\"]\n", rc->key, hex);
            if (rc->alt) {
                snprintf(want, sizeof(want),
                         "p.yaml:3:%zu: snp.%s[0]: expected %zu or %zu hex digits (%zu or %zu "
                         "bytes), got '",
                         strlen(rc->key) + 6, rc->key, 2 * rc->len, 2 * rc->alt, rc->len, rc->alt);
            } else {
                snprintf(want, sizeof(want),
                         "p.yaml:3:%zu: snp.%s[0]: expected %zu hex digits (%zu bytes), got %zu "
                         "characters '",
                         strlen(rc->key) + 6, rc->key, 2 * rc->len, rc->len, 2 * lens[j]);
            }
            EXPECT_ERR(with_snp(snp), want);
        }
    }
    /* chip_ids: neither 64 nor 8 bytes. */
    EXPECT_ERR(with_snp("  chip_ids: [" HEX8 "00]\n"),
               "snp.chip_ids[0]: expected 128 or 16 hex digits (64 or 8 bytes)");
    /* An odd number of digits. */
    EXPECT_ERR(with_snp("  host_data: [" HEX32 "0]\n"),
               "snp.host_data[0]: expected 64 hex digits (32 bytes), got 65 characters");
    /* A long value is shown truncated. */
    EXPECT_ERR(with_snp("  family_ids: [" HEX48 "]\n"), "got 96 characters '7699e6ac12ccdfd1dfac"
                                                        "70e649ce1f046cb2afbb...'");
}

static void test_compile_hex_bad_characters(void **state)
{
    (void)state;
    char hex[200];
    hex_of_len(hex, 48, 'a');
    hex[10] = 'g';
    EXPECT_ERR(with_snp("  measurements:\n    - aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaz\n"),
               "p.yaml:4:7: snp.measurements[0]: expected 96 hex digits (48 bytes)");
    char snp[300];
    snprintf(snp, sizeof(snp), "  id_key_digests: [\"%s\"]\n", hex);
    EXPECT_ERR(with_snp(snp), "snp.id_key_digests[0]: expected 96 hex digits");
    /* Spaces inside, a 0x prefix with nothing after it, a sign. */
    EXPECT_ERR(with_snp("  family_ids: [\"0100 0000000000000000000000000000\"]\n"),
               "snp.family_ids[0]: expected 32 hex digits");
    EXPECT_ERR(with_snp("  family_ids: [\"0x\"]\n"), "snp.family_ids[0]: expected 32 hex digits");
    EXPECT_ERR(with_snp("  image_ids: [\"-" HEX16 "\"]\n"), "snp.image_ids[0]: expected 32 hex");
    EXPECT_ERR(with_snp("  image_ids: [\"0x0x" HEX16 "\"]\n"), "snp.image_ids[0]: expected 32 hex");
}

static void test_compile_hex_duplicates(void **state)
{
    (void)state;
    EXPECT_ERR(with_snp("  measurements:\n    - " HEX48 "\n    - " HEX48 "\n"),
               "p.yaml:5:7: snp.measurements[1]: duplicate of item 0");
    /* Duplicates are found however they are spelled. */
    EXPECT_ERR(with_snp("  family_ids: [" HEX16 ", \"0X" HEX16 "\"]\n"),
               "snp.family_ids[1]: duplicate of item 0");
    EXPECT_ERR(with_snp("  host_data:\n    - {value: " HEX32 ", label: a}\n    - {value: 0x" HEX32
                        ", label: b}\n"),
               "p.yaml:5:15: snp.host_data[1].value: duplicate of item 0");
}

static void test_compile_empty_list(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(refsets) / sizeof(refsets[0]); i++) {
        char snp[128], want[200];
        snprintf(snp, sizeof(snp), "  %s: []\n", refsets[i].key);
        snprintf(want, sizeof(want),
                 "p.yaml:3:%zu: snp.%s: empty list: an empty allow-list would reject everything",
                 strlen(refsets[i].key) + 5, refsets[i].key);
        EXPECT_ERR(with_snp(snp), want);
    }
    EXPECT_ERR(with_snp("  products: []\n"),
               "p.yaml:3:13: snp.products: empty list: name at least one of Milan, Genoa, Turin");
    EXPECT_ERR(with_snp("  signing_keys: []\n"),
               "p.yaml:3:17: snp.signing_keys: empty list: name VCEK, VLEK or both");
    EXPECT_ERR(with_snp("  vmpl: []\n"), "p.yaml:3:9: snp.vmpl: empty list: name the accepted "
                                         "VMPLs (0..3)");
    EXPECT_ERR(with_snp("  min_tcb: {}\n"),
               "p.yaml:3:12: snp.min_tcb: empty: name at least one of fmc, bootloader, tee, snp, "
               "microcode");
}

static void test_compile_refval_item_keys(void **state)
{
    (void)state;
    EXPECT_ERR(with_snp("  measurements:\n    - value: " HEX48 "\n      lable: x\n"),
               "p.yaml:5:7: snp.measurements[0]: unknown key 'lable' (expected one of: value, "
               "label)");
    EXPECT_ERR(with_snp("  measurements:\n    - " HEX48 "\n    - label: only a label\n"),
               "p.yaml:5:7: snp.measurements[1]: missing 'value'");
    EXPECT_ERR(with_snp("  chip_ids:\n    - {}\n"), "p.yaml:4:7: snp.chip_ids[0]: missing 'value'");
    EXPECT_ERR(with_snp("  image_ids:\n    - value: " HEX16 "\n      value: " HEX16 "\n"),
               "p.yaml:5:7: snp.image_ids[0]: key 'value' appears twice");
    char label[120], snp[400];
    memset(label, 'l', sizeof(label) - 1);
    label[sizeof(label) - 1] = '\0';
    snprintf(snp, sizeof(snp), "  measurements:\n    - value: %s\n      label: %s\n", HEX48, label);
    EXPECT_ERR(with_snp(snp), "p.yaml:5:14: snp.measurements[0].label: longer than 95 characters");
    /* Characters, not bytes (issue #7): 95 two-byte characters fit, 96 do not. */
    char wide[2 * 96 + 1], snp2[600];
    for (size_t i = 0; i < 96; i++) {
        wide[2 * i] = (char)0xc3; /* U+00E9 */
        wide[2 * i + 1] = (char)0xa9;
    }
    wide[2 * 96] = '\0';
    snprintf(snp2, sizeof(snp2), "  measurements:\n    - value: %s\n      label: %s\n", HEX48,
             wide);
    EXPECT_ERR(with_snp(snp2), "p.yaml:5:14: snp.measurements[0].label: longer than 95 characters");
    wide[2 * 95] = '\0';
    snprintf(snp2, sizeof(snp2), "  measurements:\n    - value: %s\n      label: %s\n", HEX48,
             wide);
    vd_policy_t *p = compile_ok(with_snp(snp2));
    vd_policy_free(&p);
}

static void test_compile_too_many_values(void **state)
{
    (void)state;
    size_t n = VD_POLICY_MAX_VALUES + 1, cap = 64 + n * 40;
    char *yaml = malloc(cap);
    assert_non_null(yaml);
    size_t used = (size_t)snprintf(yaml, cap, "name: t\nsnp:\n  family_ids:\n");
    for (size_t i = 0; i < n; i++) {
        used += (size_t)snprintf(yaml + used, cap - used, "    - %032zx\n", i);
    }
    EXPECT_ERR(yaml, "p.yaml:4:5: snp.family_ids: more than 4096 values");
    /* Exactly the maximum is fine. */
    char *last = strrchr(yaml, '-');
    *last = '\0';
    vd_policy_t *p = compile_ok(yaml);
    assert_int_equal(p->family_ids.count, VD_POLICY_MAX_VALUES);
    vd_policy_free(&p);
    free(yaml);
}

/* ---- names of things ------------------------------------------------------------------------ */

static void test_compile_unknown_product(void **state)
{
    (void)state;
    EXPECT_ERR(with_snp("  products: [Milan, Naples]\n"),
               "p.yaml:3:21: snp.products: expected Milan, Genoa or Turin, got 'Naples'");
    EXPECT_ERR(with_snp("  products: [Milan-B0]\n"),
               "p.yaml:3:14: snp.products: expected Milan, Genoa or Turin, got 'Milan-B0'");
    EXPECT_ERR(with_snp("  products: [milan]\n"), "snp.products: expected Milan, Genoa or Turin",
               "got 'milan'");
    EXPECT_ERR(with_snp("  products: [[Milan]]\n"), "p.yaml:3:14: snp.products: expected Milan, "
                                                    "Genoa or Turin, got 'sequence'");
}

static void test_compile_unknown_signing_key(void **state)
{
    (void)state;
    EXPECT_ERR(with_snp("  signing_keys: [VCEK, vlek]\n"),
               "p.yaml:3:24: snp.signing_keys: expected VCEK or VLEK, got 'vlek'");
    EXPECT_ERR(with_snp("  signing_keys: [none]\n"), "snp.signing_keys: expected VCEK or VLEK",
               "got 'none'");
}

static void test_compile_unknown_freshness_mode(void **state)
{
    (void)state;
    EXPECT_ERR(with_snp("  freshness: sha384\n"),
               "p.yaml:3:14: snp.freshness: expected raw, sha512, sha384-jcs, sha256-prefix or "
               "none, got 'sha384'");
    EXPECT_ERR(with_snp("  freshness: SHA512\n"), "snp.freshness", "got 'SHA512'");
    EXPECT_ERR(with_snp("  freshness: \"\"\n"), "snp.freshness", "got ''");
}

static void test_compile_on_failure_errors(void **state)
{
    (void)state;
    EXPECT_ERR("name: a\nappraisal:\n  on_failure:\n    policy.nope: {executables: 33}\n",
               "p.yaml:4:5: appraisal.on_failure: 'policy.nope' is not a policy check name");
    /* A genuineness check cannot be remapped: it is not a policy check. */
    EXPECT_ERR("name: a\nappraisal:\n  on_failure:\n    report.signature: {hardware: 33}\n",
               "'report.signature' is not a policy check name");
    EXPECT_ERR("name: a\nappraisal:\n  on_failure:\n    policy.vmpl: {executable: 33}\n",
               "p.yaml:4:18: appraisal.on_failure.policy.vmpl: expected one claim and its value",
               "instance-identity, configuration, executables");
    EXPECT_ERR("name: a\nappraisal:\n  on_failure:\n    policy.vmpl: {configuration: 33, "
               "hardware: 32}\n",
               "appraisal.on_failure.policy.vmpl: expected one claim and its value");
    EXPECT_ERR("name: a\nappraisal:\n  on_failure:\n    policy.vmpl: {}\n",
               "appraisal.on_failure.policy.vmpl: expected one claim and its value");
    EXPECT_ERR("name: a\nappraisal:\n  on_failure:\n    policy.vmpl: 33\n",
               "p.yaml:4:18: appraisal.on_failure.policy.vmpl: expected a mapping, got a scalar");
    EXPECT_ERR("name: a\nappraisal:\n  on_failure: [policy.vmpl]\n",
               "p.yaml:3:15: appraisal.on_failure: expected a mapping, got a sequence");
    static const char *const values[] = {"2",    "3",   "31",  "-2",   "-32",  "128",
                                         "-129", "200", "abc", "\"\"", "33.5", "[33]"};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        char yaml[200];
        snprintf(yaml, sizeof(yaml),
                 "name: a\nappraisal:\n  on_failure:\n    policy.measurement: {executables: %s}\n",
                 values[i]);
        EXPECT_ERR(yaml,
                   "p.yaml:4:39: appraisal.on_failure.policy.measurement: expected a claim value "
                   "-128..127 in the warning or contraindicated range (32..127 or -33..-128)");
    }
}

static void test_compile_on_failure_duplicate_check(void **state)
{
    (void)state;
    EXPECT_ERR("name: a\nappraisal:\n  on_failure:\n    policy.vmpl: {configuration: 33}\n"
               "    policy.vmpl: {configuration: 96}\n",
               "p.yaml:5:5: appraisal.on_failure: key 'policy.vmpl' appears twice");
}

/* 0 ("no claim"), 1 and -1 are not in the warning or contraindicated range either: a failure
 * mapped to them would leave the vector affirming. */
static void test_compile_on_failure_none_tier_rejected(void **state)
{
    (void)state;
    static const char *const values[] = {"0", "1", "-1"};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        char yaml[200];
        snprintf(yaml, sizeof(yaml),
                 "name: a\nappraisal:\n  on_failure:\n    policy.vmpl: {configuration: %s}\n",
                 values[i]);
        EXPECT_ERR(yaml, "p.yaml:4:34: appraisal.on_failure.policy.vmpl: expected a claim value",
                   "warning or contraindicated range");
    }
}

static void test_compile_on_failure_accepted(void **state)
{
    (void)state;
    vd_policy_t *p = compile_ok("name: a\nappraisal:\n  on_failure:\n"
                                "    policy.measurement: {executables: 33}\n"
                                "    policy.platform_info.iommu_write_safe: {hardware: 96}\n"
                                "    policy.freshness: {instance-identity: -128}\n"
                                "    policy.vmpl: {configuration: \"127\"}\n"
                                "    policy.guest_policy.debug: {runtime-opaque: -33}\n");
    assert_int_equal(p->override_count, 5);
    assert_string_equal(p->overrides[0].check, "policy.measurement");
    assert_int_equal(p->overrides[0].claim, VD_CLAIM_EXECUTABLES);
    assert_int_equal(p->overrides[0].value, 33);
    assert_int_equal(p->overrides[1].claim, VD_CLAIM_HARDWARE);
    assert_int_equal(p->overrides[1].value, 96);
    assert_int_equal(p->overrides[2].claim, VD_CLAIM_INSTANCE_IDENTITY);
    assert_int_equal(p->overrides[2].value, -128);
    assert_int_equal(p->overrides[3].value, 127);
    assert_int_equal(p->overrides[4].claim, VD_CLAIM_RUNTIME_OPAQUE);
    assert_int_equal(p->overrides[4].value, -33);
    vd_policy_free(&p);
}

/* ---- bounds --------------------------------------------------------------------------------- */

/* `name: t` then `description:` nested `levels` sequences deep; the root mapping is one level. */
static char *nested(size_t levels)
{
    size_t cap = 64 + 2 * levels;
    char *y = malloc(cap);
    assert_non_null(y);
    size_t n = (size_t)snprintf(y, cap, "name: t\ndescription: ");
    for (size_t i = 0; i < levels; i++) {
        y[n++] = '[';
    }
    for (size_t i = 0; i < levels; i++) {
        y[n++] = ']';
    }
    y[n++] = '\n';
    y[n] = '\0';
    return y;
}

static void test_compile_depth_bound(void **state)
{
    (void)state;
    /* 1 + 15 = 16 levels: within the bound, so the compiler (not the parser) objects. */
    char *y = nested(15);
    EXPECT_ERR(y, "p.yaml:2:14: description: expected a string, got a sequence");
    free(y);
    /* 17 levels: the parser stops at the 17th with VD_E_TOO_LARGE. */
    y = nested(16);
    EXPECT_TOO_LARGE(y, strlen(y), "p.yaml:2:29: nested deeper than 16 levels");
    free(y);
    /* Far deeper than that is rejected the same way, without recursion trouble. */
    y = nested(100000);
    EXPECT_TOO_LARGE(y, strlen(y), "p.yaml:2:29: nested deeper than 16 levels");
    free(y);
}

static void test_compile_node_bound(void **state)
{
    (void)state;
    /* A flow sequence of VD_YAML_MAX_NODES scalars: with the root, the key and the sequence that
     * is three nodes too many; the error names the first node past the bound. */
    size_t n = 20000, cap = 64 + 2 * n;
    char *y = malloc(cap);
    assert_non_null(y);
    size_t used = (size_t)snprintf(y, cap, "name: t\ndescription: [");
    for (size_t i = 0; i < n; i++) {
        y[used++] = '0';
        y[used++] = ',';
    }
    y[used - 1] = ']';
    y[used++] = '\n';
    y[used] = '\0';
    EXPECT_TOO_LARGE(y, used, "p.yaml:2:", "more than 20000 YAML nodes");
    free(y);
}

static void test_compile_size_bound(void **state)
{
    (void)state;
    size_t len = 1024 * 1024 + 1;
    char *y = malloc(len + 1);
    assert_non_null(y);
    memcpy(y, "name: t\n", 8);
    memset(y + 8, '#', len - 8); /* a comment: harmless if it were parsed */
    y[len] = '\0';
    EXPECT_TOO_LARGE(y, len, "p.yaml: 1048577 bytes, policies are limited to 1048576");
    /* Exactly 1 MiB is parsed. */
    y[len - 1] = '\n';
    vd_error_t err = {0};
    vd_policy_t *p = NULL;
    assert_int_equal(vd_policy_compile(y, len - 1, FILE_NAME, &p, &err), VD_OK);
    assert_string_equal(vd_policy_name(p), "t");
    vd_policy_free(&p);
    free(y);
}

/* ---- positive cases ------------------------------------------------------------------------- */

/* policies/examples, found from this source file's path (tests/unit/ -> ../../policies). */
static void examples_dir(char *out, size_t n)
{
    const char *file = __FILE__;
    const char *slash = strrchr(file, '/');
    assert_non_null(slash);
    snprintf(out, n, "%.*s/../../policies/examples", (int)(slash - file), file);
}

static void test_compile_examples(void **state)
{
    (void)state;
    char dir[4096];
    examples_dir(dir, sizeof(dir));
    DIR *d = opendir(dir);
    if (d == NULL) {
        fail_msg("cannot open %s", dir);
    }
    size_t count = 0;
    int saw_no_debug = 0, saw_trustee = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        size_t nl = strlen(ent->d_name);
        if (nl < 6 || strcmp(ent->d_name + nl - 5, ".yaml") != 0) {
            continue;
        }
        char path[8192];
        snprintf(path, sizeof(path), "%s/%s", dir, ent->d_name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        static char text[65536];
        size_t len = fread(text, 1, sizeof(text) - 1, f);
        fclose(f);
        assert_true(len > 0 && len < sizeof(text) - 1);
        text[len] = '\0';
        vd_error_t err = {0};
        vd_policy_t *p = NULL;
        if (vd_policy_compile(text, len, ent->d_name, &p, &err) != VD_OK) {
            fail_msg("example %s does not compile: %s", ent->d_name, err.msg);
        }
        /* Each example is stored under its file's name and says what it is for. */
        assert_int_equal(strlen(vd_policy_name(p)), nl - 5);
        assert_memory_equal(vd_policy_name(p), ent->d_name, nl - 5);
        assert_true(strlen(vd_policy_description(p)) > 0);
        saw_no_debug |= strcmp(vd_policy_name(p), "no-debug") == 0;
        if (strcmp(vd_policy_name(p), "trustee-kbs") == 0) {
            saw_trustee = 1;
            assert_int_equal(p->binding, VD_BIND_SHA384_JCS);
            assert_int_equal(p->override_count, 1);
        }
        vd_policy_free(&p);
        count++;
    }
    closedir(d);
    assert_true(count >= 6);
    assert_true(saw_no_debug);
    assert_true(saw_trustee);
}

/* ---- REPORT_ID, REPORT_ID_MA, REPORT_DATA ---------------------------------------------------- */

static void test_compile_report_ids(void **state)
{
    (void)state;
    vd_policy_t *p =
        compile_ok(with_snp("  report_ids: [" HEX32 "]\n"
                            "  report_id_mas:\n    - {value: " HEX32 ", label: ma}\n    - "
                            "ffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
                            "ffffffff\n"));
    assert_true(p->report_ids.present);
    assert_int_equal(p->report_ids.count, 1);
    assert_int_equal(p->report_ids.items[0].len, 32);
    assert_int_equal(p->report_ids.items[0].v[0], 0xb3);
    assert_int_equal(p->report_id_mas.count, 2);
    assert_string_equal(p->report_id_mas.items[0].label, "ma");
    assert_int_equal(p->report_id_mas.items[1].v[31], 0xff);
    vd_policy_free(&p);
    EXPECT_ERR(with_snp("  report_ids: [" HEX16 "]\n"),
               "p.yaml:3:16: snp.report_ids[0]: expected 64 hex digits (32 bytes)");
    EXPECT_ERR(with_snp("  report_id_mas: [" HEX48 "]\n"),
               "snp.report_id_mas[0]: expected 64 hex digits");
    EXPECT_ERR(with_snp("  report_ids: []\n"), "snp.report_ids: empty list");
    EXPECT_ERR(with_snp("  report_id_mas: " HEX32 "\n"),
               "snp.report_id_mas: expected a sequence, got a scalar");
    EXPECT_ERR(with_snp("  report_ids: [" HEX32 ", " HEX32 "]\n"),
               "snp.report_ids[1]: duplicate of item 0");
}

#define HEX64_RD HEX64

static void test_compile_report_data(void **state)
{
    (void)state;
    vd_policy_t *p = compile_ok(with_snp("  report_data: " HEX64_RD "\n"));
    assert_true(p->has_report_data);
    assert_int_equal(p->report_data[0], 0x3a);
    assert_int_equal(p->report_data[63], 0x5d);
    vd_policy_free(&p);
    /* freshness: none is compatible (nothing is bound); no freshness key too. */
    p = compile_ok(with_snp("  report_data: " HEX64_RD "\n  freshness: none\n"));
    assert_int_equal(p->binding, VD_BIND_NONE);
    vd_policy_free(&p);
    EXPECT_ERR(with_snp("  report_data: " HEX32 "\n"),
               "p.yaml:3:16: snp.report_data: expected 128 hex digits (64 bytes)");
    EXPECT_ERR(with_snp("  report_data: [" HEX64_RD "]\n"), "snp.report_data: expected 128 hex");
    static const char *const modes[] = {"raw", "sha512", "sha384-jcs", "sha256-prefix"};
    for (size_t i = 0; i < 4; i++) {
        char body[512];
        snprintf(body, sizeof(body), "  report_data: %s\n  freshness: %s\n", HEX64_RD, modes[i]);
        EXPECT_ERR(with_snp(body), "p.yaml:4:14: snp.freshness: ", modes[i],
                   "binds a nonce into REPORT_DATA, but snp.report_data pins it to a fixed value");
    }
}

/* ---- trusted keys as PEM ------------------------------------------------------------------ */

static char *pem_of(EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_mem());
    assert_non_null(b);
    assert_int_equal(PEM_write_bio_PUBKEY(b, k), 1);
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    char *out = calloc(1, (size_t)n + 1);
    assert_non_null(out);
    memcpy(out, data, (size_t)n);
    BIO_free(b);
    return out;
}

/* The SEV-SNP API form's SHA-384, computed here from the uncompressed point (04 || X || Y,
 * big-endian), independently of policies/sevkey.c (which reads the coordinates as numbers). */
static void sev_digest_of(EVP_PKEY *k, uint8_t out[48])
{
    uint8_t pt[97], buf[0x404] = {0};
    size_t n = 0;
    assert_int_equal(
        EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &n), 1);
    assert_int_equal(n, 97);
    assert_int_equal(pt[0], 0x04);
    buf[0] = 2;
    for (size_t i = 0; i < 48; i++) {
        buf[0x04 + i] = pt[1 + 47 - i];
        buf[0x4C + i] = pt[49 + 47 - i];
    }
    unsigned int dlen = 0;
    assert_int_equal(EVP_Digest(buf, sizeof(buf), out, &dlen, EVP_sha384(), NULL), 1);
}

/* "  KEY:\n    - |\n      <pem lines>" */
static void append_pem_item(char *buf, size_t size, const char *pem, const char *indent)
{
    size_t used = strlen(buf);
    snprintf(buf + used, size - used, "%s- |\n", indent);
    for (const char *line = pem; *line != '\0';) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        used = strlen(buf);
        snprintf(buf + used, size - used, "%s  %.*s\n", indent, (int)len, line);
        line += len + (nl != NULL);
    }
}

static void test_compile_id_keys_pem(void **state)
{
    (void)state;
    EVP_PKEY *k1 = EVP_EC_gen("P-384"), *k2 = EVP_EC_gen("P-384"), *p256 = EVP_EC_gen("P-256");
    assert_non_null(k1);
    assert_non_null(k2);
    assert_non_null(p256);
    char *pem1 = pem_of(k1), *pem2 = pem_of(k2), *pem256 = pem_of(p256);
    uint8_t d1[48], d2[48], got[48];
    char hex1[97];
    sev_digest_of(k1, d1);
    sev_digest_of(k2, d2);
    for (size_t i = 0; i < 48; i++) {
        snprintf(hex1 + 2 * i, 3, "%02x", d1[i]);
    }
    vd_error_t err = {0};
    assert_int_equal(vd_policy_sev_key_digest(pem1, strlen(pem1), got, &err), VD_OK);
    assert_memory_equal(got, d1, 48);

    static char y[16384];
    snprintf(y, sizeof(y), "name: t\nsnp:\n  id_keys:\n");
    append_pem_item(y, sizeof(y), pem1, "    ");
    snprintf(y + strlen(y), sizeof(y) - strlen(y), "  author_keys:\n");
    append_pem_item(y, sizeof(y), pem2, "    ");
    vd_policy_t *p = compile_ok(y);
    assert_int_equal(p->id_keys.count, 1);
    assert_int_equal(p->id_keys.items[0].len, 48);
    assert_memory_equal(p->id_keys.items[0].v, d1, 48);
    assert_int_equal(p->author_keys.count, 1);
    assert_memory_equal(p->author_keys.items[0].v, d2, 48);
    vd_policy_free(&p);

    /* Digests and keys together, a labelled key. */
    snprintf(y, sizeof(y),
             "name: t\nsnp:\n  id_key_digests: [" HEX48 "]\n  id_keys:\n"
             "    - label: release signer\n      value: |\n");
    append_pem_item(y, sizeof(y), pem2, "        ");
    /* append_pem_item wrote "- |" for a sequence item: use the scalar lines only. */
    char *dash = strstr(y, "        - |\n");
    assert_non_null(dash);
    memmove(dash, dash + strlen("        - |\n"), strlen(dash + strlen("        - |\n")) + 1);
    p = compile_ok(y);
    assert_int_equal(p->id_keys.count, 2);
    assert_memory_equal(p->id_keys.items[1].v, d2, 48);
    assert_string_equal(p->id_keys.items[1].label, "release signer");
    vd_policy_free(&p);

    /* The same key as a digest and as PEM. */
    snprintf(y, sizeof(y), "name: t\nsnp:\n  id_key_digests: [%s]\n  id_keys:\n", hex1);
    append_pem_item(y, sizeof(y), pem1, "    ");
    EXPECT_ERR(y, "snp.id_keys[0]: the same key as snp.id_key_digests[0]");
    /* Twice as PEM. */
    snprintf(y, sizeof(y), "name: t\nsnp:\n  author_keys:\n");
    append_pem_item(y, sizeof(y), pem1, "    ");
    append_pem_item(y, sizeof(y), pem1, "    ");
    EXPECT_ERR(y, "snp.author_keys[1]: duplicate of item 0");
    /* Not P-384. */
    snprintf(y, sizeof(y), "name: t\nsnp:\n  id_keys:\n");
    append_pem_item(y, sizeof(y), pem256, "    ");
    EXPECT_ERR(y, "p.yaml:4:7: snp.id_keys[0]: the key is EC prime256v1, not EC P-384");
    /* Not PEM at all; a hex digest where a key belongs; wrong shapes. */
    EXPECT_ERR(with_snp("  id_keys: [" HEX48 "]\n"),
               "snp.id_keys[0]: no PEM public key (-----BEGIN PUBLIC KEY-----) or certificate");
    EXPECT_ERR(with_snp("  author_keys: [\"-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC "
                        "KEY-----\\n\"]\n"),
               "snp.author_keys[0]: no PEM public key");
    EXPECT_ERR(with_snp("  id_keys: []\n"), "snp.id_keys: empty list");
    EXPECT_ERR(with_snp("  id_keys: [[a]]\n"),
               "snp.id_keys[0]: expected a PEM public key or certificate, got a sequence");
    EXPECT_ERR(with_snp("  id_keys: [{label: x}]\n"), "snp.id_keys[0]: missing 'value'");
    EXPECT_ERR(with_snp("  author_keys: [{value: x, lable: y}]\n"),
               "snp.author_keys[0]: unknown key 'lable'");
    EXPECT_ERR(with_snp("  author_keys: {a: b}\n"),
               "snp.author_keys: expected a sequence, got a mapping");
    free(pem1);
    free(pem2);
    free(pem256);
    EVP_PKEY_free(k1);
    EVP_PKEY_free(k2);
    EVP_PKEY_free(p256);
}

static void test_compile_every_key(void **state)
{
    (void)state;
    vd_policy_t *p = compile_ok(
        "name: every-key_1.0\n"
        "description: Every key of the language\n"
        "snp:\n"
        "  products: [Milan, Genoa, Turin]\n"
        "  signing_keys: [VCEK, VLEK]\n"
        "  min_tcb: {fmc: 1, bootloader: 2, tee: 3, snp: 4, microcode: 5}\n"
        "  min_launch_tcb: {snp: 22}\n"
        "  provisional_firmware: forbidden\n"
        "  min_api_version: \"1.55\"\n"
        "  min_firmware_build: 21\n"
        "  guest_policy:\n"
        "    min_abi: \"0.31\"\n"
        "    smt: allowed\n    migrate_ma: forbidden\n    debug: forbidden\n"
        "    single_socket: required\n    cxl_allowed: forbidden\n"
        "    mem_aes_256_xts: required\n    rapl_disabled: allowed\n"
        "    ciphertext_hiding: allowed\n    page_swap_disabled: forbidden\n"
        "  platform_info:\n"
        "    smt: allowed\n    tsme: required\n    ecc: allowed\n    rapl_disabled: forbidden\n"
        "    ciphertext_hiding: allowed\n    alias_check_complete: required\n"
        "    iommu_write_safe: required\n    tio: forbidden\n"
        "  vmpl: [0, 1, 3]\n"
        "  min_guest_svn: 1\n"
        "  min_launch_mit_vector: 0x3f\n"
        "  min_current_mit_vector: 0x1\n"
        "  measurements:\n"
        "    - value: " HEX48 "\n"
        "      label: ubuntu-24.04 4 vCPU\n"
        "    - "
        "0xAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        "AAAAAAAA\n"
        "  host_data: [" HEX32 "]\n"
        "  family_ids: [" HEX16 "]\n"
        "  image_ids: [{value: " HEX16 ", label: img}]\n"
        "  chip_ids: [" HEX64 ", " HEX8 "]\n"
        "  id_key_digests: [" HEX48 "]\n"
        "  author_key_digests: [" HEX48 "]\n"
        "  report_ids: [" HEX32 "]\n"
        "  report_id_mas: [" HEX32 "]\n"
        "  report_data: " HEX64 "\n"
        "  require_id_block: true\n"
        "  require_author_key: false\n"
        "  freshness: none\n"
        "appraisal:\n"
        "  on_failure:\n"
        "    policy.measurement: {executables: 33}\n"
        "    policy.report_id: {instance-identity: 96}\n");
    assert_string_equal(vd_policy_name(p), "every-key_1.0");
    assert_string_equal(vd_policy_description(p), "Every key of the language");
    assert_int_equal(p->products, (1u << VD_PRODUCT_MILAN) | (1u << VD_PRODUCT_GENOA) |
                                      (1u << VD_PRODUCT_TURIN));
    assert_int_equal(p->signing_keys, 3u);
    for (int i = 0; i < VD_TCBC__COUNT; i++) {
        assert_true(p->min_tcb.has[i]);
    }
    assert_int_equal(p->min_tcb.v[VD_TCBC_FMC], 1);
    assert_int_equal(p->min_tcb.v[VD_TCBC_UCODE], 5);
    assert_true(p->min_launch_tcb.has[VD_TCBC_SNP]);
    assert_false(p->min_launch_tcb.has[VD_TCBC_BL]);
    assert_int_equal(p->provisional_firmware, VD_RULE_FORBIDDEN);
    assert_int_equal(p->min_build, 21);
    /* guest flags in table order: smt, migrate_ma, debug, single_socket, cxl_allowed, ... */
    assert_int_equal(p->guest_flags[0], VD_RULE_ALLOWED);
    assert_int_equal(p->guest_flags[2], VD_RULE_FORBIDDEN);
    assert_int_equal(p->guest_flags[3], VD_RULE_REQUIRED);
    assert_int_equal(p->platform_flags[6], VD_RULE_REQUIRED);
    assert_int_equal(p->platform_flags[7], VD_RULE_FORBIDDEN);
    assert_int_equal(p->vmpl_mask, 0xBu);
    assert_int_equal(p->min_guest_svn, 1);
    assert_true(p->min_launch_mit == 0x3f);
    assert_int_equal(p->measurements.count, 2);
    assert_string_equal(p->measurements.items[0].label, "ubuntu-24.04 4 vCPU");
    assert_string_equal(p->measurements.items[1].label, "");
    assert_int_equal(p->measurements.items[1].v[0], 0xaa);
    assert_int_equal(p->measurements.items[1].v[47], 0xaa);
    assert_int_equal(p->chip_ids.count, 2);
    assert_int_equal(p->chip_ids.items[0].len, 64);
    assert_int_equal(p->chip_ids.items[1].len, 8);
    assert_int_equal(p->chip_ids.items[1].v[0], 0x59);
    assert_string_equal(p->image_ids.items[0].label, "img");
    assert_true(p->require_id_block);
    assert_false(p->require_author_key);
    assert_int_equal(p->binding, VD_BIND_NONE);
    assert_int_equal(p->report_ids.count, 1);
    assert_int_equal(p->report_id_mas.count, 1);
    assert_true(p->has_report_data);
    assert_int_equal(p->override_count, 2);
    vd_policy_free(&p);
}

static void test_compile_hex_spellings(void **state)
{
    (void)state;
    /* 0x prefix, upper case, quoted: all the same 16 bytes. */
    vd_policy_t *p = compile_ok(with_snp("  family_ids:\n"
                                         "    - 0xABCDEF0123456789abcdef0123456789\n"
                                         "  image_ids:\n"
                                         "    - \"0XABCDEF0123456789ABCDEF0123456789\"\n"
                                         "  host_data: ['" HEX32 "']\n"));
    static const uint8_t want[16] = {0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89,
                                     0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89};
    assert_int_equal(p->family_ids.items[0].len, 16);
    assert_memory_equal(p->family_ids.items[0].v, want, 16);
    assert_memory_equal(p->image_ids.items[0].v, want, 16);
    assert_int_equal(p->host_data.items[0].v[0], 0xb3);
    vd_policy_free(&p);
}

static void test_compile_minimal_and_empty_sections(void **state)
{
    (void)state;
    vd_policy_t *p = compile_ok("name: only-a-name\n");
    assert_string_equal(vd_policy_name(p), "only-a-name");
    assert_string_equal(vd_policy_description(p), "");
    assert_int_equal(p->products, 0);
    assert_int_equal(p->binding, VD_BIND_UNSET);
    vd_policy_free(&p);
    p = compile_ok("name: 123\nsnp: {}\nappraisal: {}\n");
    assert_string_equal(vd_policy_name(p), "123");
    vd_policy_free(&p);
    /* Siena/Bergamo are Genoa for the product rule. */
    p = compile_ok(with_snp("  products: [Siena, Bergamo]\n"));
    assert_int_equal(p->products, 1u << VD_PRODUCT_GENOA);
    vd_policy_free(&p);
    p = compile_ok(with_snp("  freshness: none\n  vmpl: 3\n"));
    assert_int_equal(p->binding, VD_BIND_NONE);
    assert_int_equal(p->vmpl_mask, 1u << 3);
    vd_policy_free(&p);
}

static void test_compile_free_null_safe(void **state)
{
    (void)state;
    vd_policy_t *p = NULL;
    vd_policy_free(&p);
    vd_policy_free(NULL);
    assert_null(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compile_yaml_syntax_error),
        cmocka_unit_test(test_compile_empty_document),
        cmocka_unit_test(test_compile_two_documents),
        cmocka_unit_test(test_compile_anchor_rejected),
        cmocka_unit_test(test_compile_alias_rejected),
        cmocka_unit_test(test_compile_tag_rejected),
        cmocka_unit_test(test_compile_core_tags_accepted),
        cmocka_unit_test(test_compile_nul_byte_rejected),
        cmocka_unit_test(test_compile_top_level_not_mapping),
        cmocka_unit_test(test_compile_name_missing),
        cmocka_unit_test(test_compile_name_bad_characters),
        cmocka_unit_test(test_compile_name_too_long),
        cmocka_unit_test(test_compile_name_wrong_type),
        cmocka_unit_test(test_compile_description_wrong_type_and_length),
        cmocka_unit_test(test_compile_unknown_top_level_key),
        cmocka_unit_test(test_compile_unknown_key_in_sections),
        cmocka_unit_test(test_compile_duplicate_key),
        cmocka_unit_test(test_compile_non_scalar_key),
        cmocka_unit_test(test_compile_wrong_types),
        cmocka_unit_test(test_compile_integer_out_of_range),
        cmocka_unit_test(test_compile_integer_not_a_number),
        cmocka_unit_test(test_compile_integers_quoted_and_plain),
        cmocka_unit_test(test_compile_integer_leading_zero_is_decimal),
        cmocka_unit_test(test_compile_bad_version),
        cmocka_unit_test(test_compile_version_accepted),
        cmocka_unit_test(test_compile_bad_rule_word),
        cmocka_unit_test(test_compile_bad_boolean),
        cmocka_unit_test(test_compile_hex_wrong_length),
        cmocka_unit_test(test_compile_hex_bad_characters),
        cmocka_unit_test(test_compile_hex_duplicates),
        cmocka_unit_test(test_compile_empty_list),
        cmocka_unit_test(test_compile_refval_item_keys),
        cmocka_unit_test(test_compile_too_many_values),
        cmocka_unit_test(test_compile_unknown_product),
        cmocka_unit_test(test_compile_unknown_signing_key),
        cmocka_unit_test(test_compile_unknown_freshness_mode),
        cmocka_unit_test(test_compile_on_failure_errors),
        cmocka_unit_test(test_compile_on_failure_duplicate_check),
        cmocka_unit_test(test_compile_on_failure_none_tier_rejected),
        cmocka_unit_test(test_compile_on_failure_accepted),
        cmocka_unit_test(test_compile_depth_bound),
        cmocka_unit_test(test_compile_node_bound),
        cmocka_unit_test(test_compile_size_bound),
        cmocka_unit_test(test_compile_examples),
        cmocka_unit_test(test_compile_report_ids),
        cmocka_unit_test(test_compile_report_data),
        cmocka_unit_test(test_compile_id_keys_pem),
        cmocka_unit_test(test_compile_every_key),
        cmocka_unit_test(test_compile_hex_spellings),
        cmocka_unit_test(test_compile_minimal_and_empty_sections),
        cmocka_unit_test(test_compile_free_null_safe),
    };
    return cmocka_run_group_tests_name("policy_compile", tests, NULL, NULL);
}
