/*
 * libFuzzer target: the OVMF footer GUID table and SEV metadata parser (vd_ovmf_parse), then
 * the whole launch digest (vd_measure) under each VMM, with and without a kernel.
 *
 * The input is the end of a firmware image: it is placed at the end of a zeroed buffer rounded
 * up to whole pages (the footer table is read from the end), so mutations reach the tables
 * rather than dying on the size check; inputs that are already whole pages are used as they
 * are. Aborts if a refusal has no message or leaves a parsed result, or if an accepted image
 * breaks the parser's guarantees (page-aligned sections within 4 GiB, the load address, the
 * regions' last digest being the digest).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "verdict/bytes.h"
#include "verdict/measure.h"

#define MAX_INPUT (64 * 1024)

static void check_parsed(const vd_ovmf_t *o, size_t len)
{
    if (o->size != len || o->base != 0x100000000ull - len || o->n_sections > VD_OVMF_SECTIONS_MAX) {
        abort();
    }
    for (size_t i = 0; i < o->n_sections; i++) {
        const vd_ovmf_section_t *s = &o->sections[i];
        /* SECRETS and CPUID are one page whatever their size says. */
        uint64_t bytes =
            s->type == VD_OVMF_SNP_SECRETS || s->type == VD_OVMF_CPUID ? VD_MEASURE_PAGE : s->size;
        if (s->gpa % VD_MEASURE_PAGE != 0 || bytes == 0 || bytes % VD_MEASURE_PAGE != 0 ||
            (uint64_t)s->gpa + bytes > o->base ||
            strcmp(vd_ovmf_section_name(s->type), "unknown") == 0) {
            abort();
        }
    }
}

static void run_measure(const uint8_t *fw, size_t len, vd_vmm_t vmm, int kernel, uint32_t vcpus)
{
    vd_measure_input_t in;
    vd_measure_result_t res;
    vd_error_t err = {0};
    memset(&in, 0, sizeof(in));
    in.ovmf = fw;
    in.ovmf_len = len;
    in.vcpus = vcpus;
    in.vmm = vmm;
    in.has_vcpu_sig = 1;
    in.vcpu_sig = 0xA00F11;
    in.guest_features = 0x21;
    in.has_kernel = kernel;
    in.append = kernel ? "console=ttyS0" : NULL;
    if (vd_measure(&in, &res, &err) != VD_OK) {
        if (err.msg[0] == '\0' || !vd_all_zero(res.digest, sizeof(res.digest))) {
            abort();
        }
        return;
    }
    if (res.n_regions == 0 ||
        memcmp(res.regions[res.n_regions - 1].digest_after, res.digest, 48) != 0) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT) {
        return 0;
    }
    size_t len = size == 0 ? VD_MEASURE_PAGE
                           : (size + VD_MEASURE_PAGE - 1) / VD_MEASURE_PAGE * VD_MEASURE_PAGE;
    uint8_t *fw = calloc(1, len);
    if (fw == NULL) {
        return 0;
    }
    if (size > 0) {
        memcpy(fw + len - size, data, size);
    }
    vd_ovmf_t o;
    vd_error_t err = {0};
    if (vd_ovmf_parse(fw, len, &o, &err) != VD_OK) {
        vd_ovmf_t zero;
        memset(&zero, 0, sizeof(zero));
        if (err.msg[0] == '\0' || memcmp(&o, &zero, sizeof(o)) != 0) {
            abort();
        }
        free(fw);
        return 0;
    }
    check_parsed(&o, len);
    /* Keep each run fast: measure only images whose sections are a few thousand pages. */
    uint64_t pages = 0;
    for (size_t i = 0; i < o.n_sections; i++) {
        pages += o.sections[i].type == VD_OVMF_SNP_SECRETS || o.sections[i].type == VD_OVMF_CPUID
                     ? 1
                     : o.sections[i].size / VD_MEASURE_PAGE;
    }
    if (pages <= 4096) {
        run_measure(fw, len, VD_VMM_QEMU, 0, 1);
        run_measure(fw, len, VD_VMM_QEMU, 1, 2);
        run_measure(fw, len, VD_VMM_EC2, 1, 3);
        run_measure(fw, len, VD_VMM_GCE, 0, 2);
    }
    free(fw);
    return 0;
}
