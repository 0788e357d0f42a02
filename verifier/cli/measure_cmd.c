/*
 * `verdict measure`: the expected SEV-SNP launch digest (report MEASUREMENT) of a guest before
 * it boots, from its firmware, kernel, initrd, command line and vCPUs (docs/measure.md).
 *
 * The CLI reads the files: the firmware whole (bounded), the kernel and initrd in 1 MiB pieces
 * into streaming SHA-256 digests; vd_measure (verifier/measure) does the rest without I/O.
 * Prints the digest as 96 lowercase hex digits (or one JSON object with --json); exit 0, or 2
 * with the problem named on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "verdict/bytes.h"
#include "verdict/measure.h"
#include "cli.h"

#define CHUNK (1024 * 1024)

static void measure_usage(FILE *f)
{
    fprintf(f,
            "usage: verdict measure --ovmf FILE --vcpus N [--vcpu-type NAME | --vcpu-sig 0xHEX]\n"
            "                       [--vmm-type qemu|ec2|gce] [--kernel FILE] [--initrd FILE]\n"
            "                       [--append STRING] [--guest-features 0xHEX]\n"
            "                       [--snp-ovmf-hash HEX] [--json]\n"
            "\n"
            "Prints the SEV-SNP launch digest (the report's MEASUREMENT) a guest will have.\n"
            "\n"
            "  --ovmf FILE            the OVMF firmware image (with SEV metadata)\n"
            "  --vcpus N              number of vCPUs, 1..%u\n"
            "  --vcpu-type NAME       QEMU CPU model: %s\n"
            "  --vcpu-sig 0xHEX       or its CPUID Fn0000_0001_EAX signature (e.g. 0xa00f11);\n"
            "                         one of the two is required for qemu, ignored for ec2, gce\n"
            "  --vmm-type TYPE        qemu (default), ec2 or gce\n"
            "  --kernel FILE          measured direct boot: the kernel given to QEMU -kernel\n"
            "  --initrd FILE          its initrd (-initrd); needs --kernel\n"
            "  --append STRING        its command line (-append); needs --kernel unless empty\n"
            "  --guest-features 0xHEX VMSA SEV_FEATURES (default 0x1: SNPActive; 0x21 adds\n"
            "                         DebugSwap, sev-snp-measure's default)\n"
            "  --snp-ovmf-hash HEX    the firmware pages' digest (96 hex digits): the firmware\n"
            "                         bytes are then not hashed, only its tables are read\n"
            "  --json                 one JSON object: digest, inputs, each measured region\n",
            VD_MEASURE_VCPUS_MAX, vd_vcpu_names());
}

const struct option vd_cli_measure_longopts[VD_CLI_MEASURE_NOPTS] = {
    {"ovmf", required_argument, NULL, VD_CLI_MEASURE_OPT_BASE + 0},
    {"vcpus", required_argument, NULL, VD_CLI_MEASURE_OPT_BASE + 1},
    {"vcpu-type", required_argument, NULL, VD_CLI_MEASURE_OPT_BASE + 2},
    {"vcpu-sig", required_argument, NULL, VD_CLI_MEASURE_OPT_BASE + 3},
    {"vmm-type", required_argument, NULL, VD_CLI_MEASURE_OPT_BASE + 4},
    {"kernel", required_argument, NULL, VD_CLI_MEASURE_OPT_BASE + 5},
    {"initrd", required_argument, NULL, VD_CLI_MEASURE_OPT_BASE + 6},
    {"append", required_argument, NULL, VD_CLI_MEASURE_OPT_BASE + 7},
    {"guest-features", required_argument, NULL, VD_CLI_MEASURE_OPT_BASE + 8},
    {"snp-ovmf-hash", required_argument, NULL, VD_CLI_MEASURE_OPT_BASE + 9},
};

int vd_cli_measure_opt(vd_cli_measure_opts_t *o, int ch, const char *arg)
{
    const char **slot[VD_CLI_MEASURE_NOPTS] = {
        &o->ovmf,   &o->vcpus,  &o->vcpu_type, &o->vcpu_sig, &o->vmm,
        &o->kernel, &o->initrd, &o->append,    &o->features, &o->ovmf_hash,
    };
    if (ch < VD_CLI_MEASURE_OPT_BASE || ch >= VD_CLI_MEASURE_OPT_BASE + VD_CLI_MEASURE_NOPTS) {
        return 0;
    }
    *slot[ch - VD_CLI_MEASURE_OPT_BASE] = arg;
    return 1;
}

void vd_cli_measure_merge(vd_cli_measure_opts_t *o, const vd_cli_measure_opts_t *over)
{
    const char **dst[VD_CLI_MEASURE_NOPTS] = {
        &o->ovmf,   &o->vcpus,  &o->vcpu_type, &o->vcpu_sig, &o->vmm,
        &o->kernel, &o->initrd, &o->append,    &o->features, &o->ovmf_hash,
    };
    const char *const src[VD_CLI_MEASURE_NOPTS] = {
        over->ovmf,   over->vcpus,  over->vcpu_type, over->vcpu_sig, over->vmm,
        over->kernel, over->initrd, over->append,    over->features, over->ovmf_hash,
    };
    for (size_t i = 0; i < VD_CLI_MEASURE_NOPTS; i++) {
        if (src[i] != NULL) {
            *dst[i] = src[i];
        }
    }
    /* A type and a signature from different levels: the more specific one wins. */
    if (over->vcpu_type != NULL && over->vcpu_sig == NULL) {
        o->vcpu_sig = NULL;
    } else if (over->vcpu_sig != NULL && over->vcpu_type == NULL) {
        o->vcpu_type = NULL;
    }
}

typedef struct measure_opts {
    vd_cli_measure_opts_t m;
    int json;
} measure_opts_t;

/* Parse flags into `o`. Returns -1 after printing the problem, 1 for --help, 0 otherwise. */
static int parse_args(int argc, char **argv, measure_opts_t *o)
{
    enum { OPT_JSON = VD_CLI_MEASURE_OPT_BASE + VD_CLI_MEASURE_NOPTS, OPT_HELP };
    struct option longopts[VD_CLI_MEASURE_NOPTS + 3];
    memcpy(longopts, vd_cli_measure_longopts, sizeof(vd_cli_measure_longopts));
    longopts[VD_CLI_MEASURE_NOPTS] = (struct option){"json", no_argument, NULL, OPT_JSON};
    longopts[VD_CLI_MEASURE_NOPTS + 1] = (struct option){"help", no_argument, NULL, OPT_HELP};
    longopts[VD_CLI_MEASURE_NOPTS + 2] = (struct option){NULL, 0, NULL, 0};
    memset(o, 0, sizeof(*o));
    opterr = 0;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (vd_cli_measure_opt(&o->m, ch, optarg)) {
            continue;
        }
        switch (ch) {
        case OPT_JSON:
            o->json = 1;
            break;
        case OPT_HELP:
            return 1;
        default:
            fprintf(stderr, "verdict measure: unknown or incomplete option '%s'\n",
                    argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "verdict measure: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    return 0;
}

/* Unsigned number in `base` (16: an optional 0x), digits only, at most `max`. 0 or -1. */
static int parse_number(const char *s, int base, unsigned long long max, unsigned long long *out)
{
    if (base == 16 && (strncmp(s, "0x", 2) == 0 || strncmp(s, "0X", 2) == 0)) {
        s += 2;
    }
    size_t n = strlen(s);
    if (n == 0 || n > 20 || strspn(s, base == 16 ? "0123456789abcdefABCDEF" : "0123456789") != n) {
        return -1;
    }
    errno = 0;
    unsigned long long v = strtoull(s, NULL, base);
    if (errno != 0 || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

/* SHA-256 of the file at `path`, read in pieces. */
static vd_err_t hash_file(const char *path, uint8_t out[VD_MEASURE_SHA256_LEN], vd_error_t *err)
{
    vd_measure_sha256_t *h = NULL;
    uint8_t *buf = NULL;
    vd_err_t rc = VD_OK;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return VD_ERR(err, VD_E_IO, "%s: %s", path, vd_strerror(errno));
    }
    buf = malloc(CHUNK);
    if (buf == NULL) {
        rc = VD_ERR(err, VD_E_NOMEM, "%s: out of memory", path);
        goto out;
    }
    rc = vd_measure_sha256_new(&h, err);
    /* Bounded by the file's size: every pass reads at least one byte or stops. */
    while (rc == VD_OK) {
        size_t n = fread(buf, 1, CHUNK, f);
        if (n > 0) {
            rc = vd_measure_sha256_update(h, buf, n, err);
        }
        if (n < CHUNK) {
            break;
        }
    }
    if (rc == VD_OK && ferror(f)) {
        rc = VD_ERR(err, VD_E_IO, "%s: read error: %s", path, vd_strerror(errno));
    }
    if (rc == VD_OK) {
        rc = vd_measure_sha256_final(h, out, err);
    }
out:
    vd_measure_sha256_free(&h);
    free(buf);
    fclose(f);
    return rc;
}

int vd_cli_measure_vcpus(const char *s, const char *cmd, uint32_t *out)
{
    unsigned long long v = 0;
    if (parse_number(s, 10, UINT32_MAX, &v) != 0 || v < 1 || v > VD_MEASURE_VCPUS_MAX) {
        fprintf(stderr, "%s: --vcpus '%s' out of range 1..%u\n", cmd, s, VD_MEASURE_VCPUS_MAX);
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

/* Fill `in` from the flags (reads the kernel and initrd). Prints the problem; 0 or -1. */
static int build_input(const vd_cli_measure_opts_t *o, const char *cmd, vd_measure_input_t *in)
{
    vd_error_t err = {0};
    unsigned long long v = 0;
    if (vd_cli_measure_vcpus(o->vcpus, cmd, &in->vcpus) != 0) {
        return -1;
    }
    if (o->vmm != NULL && vd_vmm_parse(o->vmm, &in->vmm) != 0) {
        fprintf(stderr, "%s: unknown --vmm-type '%s' (qemu, ec2 or gce)\n", cmd, o->vmm);
        return -1;
    }
    if (o->vcpu_type != NULL) {
        if (vd_vcpu_sig_by_name(o->vcpu_type, &in->vcpu_sig) != 0) {
            fprintf(stderr,
                    "%s: unknown --vcpu-type '%s' (known: %s; or give "
                    "--vcpu-sig)\n",
                    cmd, o->vcpu_type, vd_vcpu_names());
            return -1;
        }
        in->has_vcpu_sig = 1;
    }
    if (o->vcpu_sig != NULL) {
        if (parse_number(o->vcpu_sig, 16, UINT32_MAX, &v) != 0 || v == 0) {
            fprintf(stderr,
                    "%s: --vcpu-sig '%s' is not a non-zero 32-bit hex "
                    "value\n",
                    cmd, o->vcpu_sig);
            return -1;
        }
        in->vcpu_sig = (uint32_t)v;
        in->has_vcpu_sig = 1;
    }
    if (in->vmm == VD_VMM_QEMU && !in->has_vcpu_sig) {
        fprintf(stderr,
                "%s: qemu needs --vcpu-type NAME or --vcpu-sig 0xHEX (the "
                "signature is in every VMSA)\n",
                cmd);
        return -1;
    }
    if (in->vmm != VD_VMM_QEMU && in->has_vcpu_sig) {
        fprintf(stderr, "%s: note: %s ignores the vCPU type (its VMSAs carry 0x600)\n", cmd,
                vd_vmm_name(in->vmm));
    }
    in->guest_features = 0x1;
    if (o->features != NULL && parse_number(o->features, 16, UINT64_MAX, &v) != 0) {
        fprintf(stderr, "%s: --guest-features '%s' is not a 64-bit hex value\n", cmd, o->features);
        return -1;
    }
    if (o->features != NULL) {
        in->guest_features = v;
    }
    if (o->ovmf_hash != NULL) {
        size_t n = 0;
        if (strlen(o->ovmf_hash) != 2 * VD_MEASURE_DIGEST_LEN ||
            vd_hex_decode(o->ovmf_hash, strlen(o->ovmf_hash), in->ovmf_hash, sizeof(in->ovmf_hash),
                          &n) != 0 ||
            n != VD_MEASURE_DIGEST_LEN) {
            fprintf(stderr, "%s: --snp-ovmf-hash must be exactly 96 hex digits\n", cmd);
            return -1;
        }
        in->has_ovmf_hash = 1;
    }
    in->append = o->append;
    if (o->kernel == NULL && (o->initrd != NULL || (o->append != NULL && o->append[0] != '\0'))) {
        fprintf(stderr,
                "%s: --initrd and --append are measured only with "
                "--kernel\n",
                cmd);
        return -1;
    }
    if (o->kernel != NULL) {
        if (hash_file(o->kernel, in->kernel_sha256, &err) != VD_OK) {
            fprintf(stderr, "%s: --kernel %s\n", cmd, err.msg);
            return -1;
        }
        in->has_kernel = 1;
    }
    if (o->initrd != NULL) {
        if (hash_file(o->initrd, in->initrd_sha256, &err) != VD_OK) {
            fprintf(stderr, "%s: --initrd %s\n", cmd, err.msg);
            return -1;
        }
        in->has_initrd = 1;
    }
    return 0;
}

static json_t *hex_json(const uint8_t *p, size_t len)
{
    char hex[2 * VD_MEASURE_DIGEST_LEN + 1];
    vd_hex_encode(p, len, hex, sizeof(hex));
    return json_string(hex);
}

static json_t *addr_json(uint64_t v)
{
    char s[24];
    snprintf(s, sizeof(s), "0x%llx", (unsigned long long)v);
    return json_string(s);
}

static json_t *str_or_null(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

int vd_cli_measure_prepare(const vd_cli_measure_opts_t *o, const char *cmd, vd_measure_input_t *in,
                           uint8_t **fw)
{
    vd_error_t err = {0};
    size_t fw_len = 0;
    memset(in, 0, sizeof(*in));
    *fw = NULL;
    if (o->ovmf == NULL || o->vcpus == NULL) {
        fprintf(stderr, "%s: --ovmf FILE and --vcpus N are required\n", cmd);
        return -1;
    }
    if (o->vcpu_type != NULL && o->vcpu_sig != NULL) {
        fprintf(stderr, "%s: give --vcpu-type or --vcpu-sig, not both\n", cmd);
        return -1;
    }
    /* The firmware first: a missing one fails before a large kernel is hashed. */
    if (vd_file_read(o->ovmf, VD_MEASURE_OVMF_MAX, fw, &fw_len, &err) != VD_OK) {
        fprintf(stderr, "%s: --ovmf %s\n", cmd, err.msg);
        return -1;
    }
    if (build_input(o, cmd, in) != 0) {
        free(*fw);
        *fw = NULL;
        return -1;
    }
    in->ovmf = *fw;
    in->ovmf_len = fw_len;
    return 0;
}

static int print_json(const vd_cli_measure_opts_t *o, const vd_measure_input_t *in,
                      const vd_measure_result_t *r)
{
    json_t *root = json_object(), *inputs = json_object(), *fw = json_object();
    json_t *sections = json_array(), *regions = json_array();
    int rc = -1;
    if (root == NULL || inputs == NULL || fw == NULL || sections == NULL || regions == NULL) {
        goto out;
    }
    json_object_set_new(root, "digest", hex_json(r->digest, VD_MEASURE_DIGEST_LEN));
    json_object_set_new(root, "ovmf_hash", hex_json(r->ovmf_hash, VD_MEASURE_DIGEST_LEN));

    json_object_set_new(inputs, "ovmf", json_string(o->ovmf));
    json_object_set_new(inputs, "vcpus", json_integer(in->vcpus));
    json_object_set_new(inputs, "vmm_type", json_string(vd_vmm_name(in->vmm)));
    json_object_set_new(inputs, "vcpu_type",
                        in->vmm == VD_VMM_QEMU ? str_or_null(o->vcpu_type) : json_null());
    json_object_set_new(inputs, "vcpu_sig",
                        in->vmm == VD_VMM_QEMU ? addr_json(in->vcpu_sig) : addr_json(0x600));
    json_object_set_new(inputs, "guest_features", addr_json(in->guest_features));
    json_object_set_new(inputs, "kernel", str_or_null(o->kernel));
    json_object_set_new(inputs, "kernel_sha256",
                        in->has_kernel ? hex_json(in->kernel_sha256, 32) : json_null());
    json_object_set_new(inputs, "initrd", str_or_null(o->initrd));
    json_object_set_new(inputs, "initrd_sha256",
                        in->has_initrd ? hex_json(in->initrd_sha256, 32) : json_null());
    json_object_set_new(inputs, "append", str_or_null(o->append));
    json_object_set_new(inputs, "cmdline_sha256",
                        in->has_kernel ? hex_json(r->cmdline_sha256, 32) : json_null());
    json_object_set_new(inputs, "snp_ovmf_hash",
                        in->has_ovmf_hash ? hex_json(in->ovmf_hash, 48) : json_null());
    json_object_set_new(root, "inputs", inputs);
    inputs = NULL;

    json_object_set_new(fw, "size", json_integer((json_int_t)r->ovmf.size));
    json_object_set_new(fw, "base", addr_json(r->ovmf.base));
    json_object_set_new(fw, "reset_address", addr_json(r->ovmf.reset_addr));
    json_object_set_new(fw, "metadata_offset", addr_json(r->ovmf.metadata_offset));
    json_object_set_new(fw, "hashes_table",
                        r->ovmf.has_hashes_table ? addr_json(r->ovmf.hashes_gpa) : json_null());
    for (size_t i = 0; i < r->ovmf.n_sections; i++) {
        const vd_ovmf_section_t *s = &r->ovmf.sections[i];
        json_array_append_new(sections,
                              json_pack("{s:s, s:o, s:o}", "type", vd_ovmf_section_name(s->type),
                                        "gpa", addr_json(s->gpa), "size", addr_json(s->size)));
    }
    json_object_set_new(fw, "sections", sections);
    sections = NULL;
    json_object_set_new(root, "firmware", fw);
    fw = NULL;

    for (size_t i = 0; i < r->n_regions; i++) {
        const vd_measure_region_t *g = &r->regions[i];
        json_array_append_new(regions,
                              json_pack("{s:s, s:o, s:s, s:I, s:o}", "what", g->what, "gpa",
                                        addr_json(g->gpa), "page_type", vd_page_type_name(g->type),
                                        "pages", (json_int_t)g->pages, "digest_after",
                                        hex_json(g->digest_after, VD_MEASURE_DIGEST_LEN)));
    }
    json_object_set_new(root, "regions", regions);
    regions = NULL;
    if (json_dumpf(root, stdout, JSON_INDENT(2)) == 0) {
        fputc('\n', stdout);
        rc = 0;
    }
out:
    json_decref(regions);
    json_decref(sections);
    json_decref(fw);
    json_decref(inputs);
    json_decref(root);
    return rc;
}

int vd_cli_measure(int argc, char **argv)
{
    measure_opts_t o;
    vd_measure_input_t in;
    vd_measure_result_t *res = NULL;
    vd_error_t err = {0};
    uint8_t *fw = NULL;
    int code = VD_EXIT_USAGE;
    int p = parse_args(argc, argv, &o);
    if (p != 0) {
        measure_usage(p > 0 ? stdout : stderr);
        return p > 0 ? VD_EXIT_OK : VD_EXIT_USAGE;
    }
    if (vd_cli_measure_prepare(&o.m, "verdict measure", &in, &fw) != 0) {
        goto out;
    }
    res = malloc(sizeof(*res));
    if (res == NULL) {
        fprintf(stderr, "verdict measure: out of memory\n");
        goto out;
    }
    if (vd_measure(&in, res, &err) != VD_OK) {
        fprintf(stderr, "verdict measure: %s\n", err.msg);
        goto out;
    }
    if (o.json) {
        if (print_json(&o.m, &in, res) != 0) {
            fprintf(stderr, "verdict measure: cannot write the JSON output\n");
            goto out;
        }
    } else {
        char hex[2 * VD_MEASURE_DIGEST_LEN + 1];
        printf("%s\n", vd_hex_encode(res->digest, VD_MEASURE_DIGEST_LEN, hex, sizeof(hex)));
    }
    code = fflush(stdout) == 0 ? VD_EXIT_OK : VD_EXIT_USAGE;
out:
    free(res);
    free(fw);
    return code;
}
