/*
 * The whole launch digest (MEASURE.md sections 5 to 7): the firmware pages, then the SEV
 * metadata sections in file order (EC2: CPUID last), then one VMSA per vCPU. Checks every
 * input first, so that no digest is produced for a guest that could not be launched as given.
 */
#include <string.h>

#include "measure_internal.h"

const char *vd_vmm_name(vd_vmm_t v)
{
    switch (v) {
    case VD_VMM_QEMU:
        return "qemu";
    case VD_VMM_EC2:
        return "ec2";
    case VD_VMM_GCE:
        return "gce";
    }
    return "unknown";
}

int vd_vmm_parse(const char *s, vd_vmm_t *out)
{
    static const vd_vmm_t all[] = {VD_VMM_QEMU, VD_VMM_EC2, VD_VMM_GCE};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (strcmp(s, vd_vmm_name(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    }
    return -1;
}

static vd_err_t check_input(const vd_measure_input_t *in, vd_error_t *err)
{
    if (in->vcpus < 1 || in->vcpus > VD_MEASURE_VCPUS_MAX) {
        return VD_ERR(err, VD_E_USAGE, "vCPU count %u out of range 1..%u", in->vcpus,
                      VD_MEASURE_VCPUS_MAX);
    }
    if (strcmp(vd_vmm_name(in->vmm), "unknown") == 0) {
        return VD_ERR(err, VD_E_USAGE, "unknown VMM type %d", (int)in->vmm);
    }
    if (in->vmm == VD_VMM_QEMU && !in->has_vcpu_sig) {
        return VD_ERR(err, VD_E_USAGE,
                      "QEMU puts the vCPU signature in every VMSA: a vCPU type or signature is "
                      "required");
    }
    if ((in->guest_features & 1) == 0) {
        return VD_ERR(err, VD_E_USAGE,
                      "guest features 0x%llx lack bit 0 (SNPActive), set for every SNP guest",
                      (unsigned long long)in->guest_features);
    }
    int has_append = in->append != NULL && in->append[0] != '\0';
    if (!in->has_kernel && (in->has_initrd || has_append)) {
        return VD_ERR(err, VD_E_USAGE,
                      "an initrd or a command line is measured only with a kernel (QEMU "
                      "-kernel)");
    }
    return VD_OK;
}

/* With a kernel: the one SNP_KERNEL_HASHES section, which must hold the hashes table. */
static vd_err_t check_kernel_hashes(const vd_ovmf_t *o, vd_error_t *err)
{
    const vd_ovmf_section_t *kh = NULL;
    for (size_t i = 0; i < o->n_sections; i++) {
        if (o->sections[i].type == VD_OVMF_SNP_KERNEL_HASHES) {
            if (kh != NULL) {
                return VD_ERR(err, VD_E_MALFORMED, "OVMF: two SNP_KERNEL_HASHES sections");
            }
            kh = &o->sections[i];
        }
    }
    if (kh == NULL) {
        return VD_ERR(err, VD_E_USAGE,
                      "the firmware has no SNP_KERNEL_HASHES section: it would not check a "
                      "kernel's hashes, so a kernel cannot be measured with it");
    }
    if (kh->size > VD_MEASURE_PAGE) {
        return VD_ERR(err, VD_E_MALFORMED,
                      "OVMF: the SNP_KERNEL_HASHES section (0x%x bytes) is larger than a page",
                      kh->size);
    }
    if (!o->has_hashes_table) {
        return VD_ERR(err, VD_E_MALFORMED,
                      "OVMF: an SNP_KERNEL_HASHES section but no SEV hashes table block");
    }
    if ((o->hashes_gpa & ~(VD_MEASURE_PAGE - 1)) != kh->gpa) {
        return VD_ERR(err, VD_E_MALFORMED,
                      "OVMF: the SEV hashes table at GPA 0x%x is not in the SNP_KERNEL_HASHES "
                      "page at 0x%x",
                      o->hashes_gpa, kh->gpa);
    }
    if (o->hashes_size < VD_MEASURE__HASHES_TABLE_LEN) {
        return VD_ERR(err, VD_E_MALFORMED, "OVMF: SEV hashes table area of %u bytes (< %d)",
                      o->hashes_size, VD_MEASURE__HASHES_TABLE_LEN);
    }
    return VD_OK;
}

static void add_region(vd_measure_result_t *out, const vd_gctx_t *g, const char *what, uint64_t gpa,
                       vd_page_type_t type, uint64_t pages)
{
    /* Bounded: one firmware run, at most VD_OVMF_SECTIONS_MAX sections, two VMSA runs. */
    if (out->n_regions < VD_MEASURE_REGIONS_MAX) {
        vd_measure_region_t *r = &out->regions[out->n_regions++];
        r->what = what;
        r->gpa = gpa;
        r->type = type;
        r->pages = pages;
        memcpy(r->digest_after, g->ld, VD_MEASURE_DIGEST_LEN);
    }
}

static vd_err_t measure_section(vd_gctx_t *g, const vd_measure_input_t *in,
                                const vd_ovmf_section_t *s, vd_measure_result_t *out,
                                vd_error_t *err)
{
    const char *what = vd_ovmf_section_name(s->type);
    uint64_t pages = vd_measure__section_pages(s);
    vd_page_type_t type = VD_PAGE_ZERO;
    vd_err_t rc;
    switch ((vd_ovmf_section_type_t)s->type) {
    case VD_OVMF_SNP_SEC_MEM:
        /* Pre-validated RAM: GCE does not measure its contents but the page still counts. */
        type = in->vmm == VD_VMM_GCE ? VD_PAGE_UNMEASURED : VD_PAGE_ZERO;
        break;
    case VD_OVMF_SNP_SECRETS:
        type = VD_PAGE_SECRETS;
        break;
    case VD_OVMF_CPUID:
        type = VD_PAGE_CPUID;
        break;
    case VD_OVMF_SVSM_CAA:
        break;
    case VD_OVMF_SNP_KERNEL_HASHES:
        if (in->has_kernel) {
            uint8_t page[VD_MEASURE_PAGE];
            static const uint8_t empty_sha256[VD_MEASURE_SHA256_LEN] = {
                0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
                0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
                0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55}; /* SHA-256("") */
            rc = vd_measure__hashes_page(
                page, out->ovmf.hashes_gpa & (VD_MEASURE_PAGE - 1), out->cmdline_sha256,
                in->has_initrd ? in->initrd_sha256 : empty_sha256, in->kernel_sha256, err);
            if (rc == VD_OK) {
                rc = vd_measure__gctx_normal(g, s->gpa, page, sizeof(page), err);
            }
            if (rc == VD_OK) {
                add_region(out, g, what, s->gpa, VD_PAGE_NORMAL, 1);
            }
            return rc;
        }
        break;
    }
    rc = vd_measure__gctx_empty_pages(g, type, s->gpa, pages, err);
    if (rc == VD_OK) {
        add_region(out, g, what, s->gpa, type, pages);
    }
    return rc;
}

static vd_err_t measure_vmsas(vd_gctx_t *g, const vd_measure_input_t *in, vd_measure_result_t *out,
                              vd_error_t *err)
{
    uint8_t page[VD_MEASURE_PAGE];
    uint8_t bsp[VD_MEASURE_DIGEST_LEN], ap[VD_MEASURE_DIGEST_LEN];
    uint32_t sig = in->vmm == VD_VMM_QEMU ? in->vcpu_sig : 0; /* EC2, GCE: fixed 0x600 */
    vd_measure__vmsa(page, in->vmm, 1, out->ovmf.reset_addr, sig, in->guest_features);
    vd_err_t rc = vd_measure__sha384(g, page, sizeof(page), bsp, err);
    vd_measure__vmsa(page, in->vmm, 0, out->ovmf.reset_addr, sig, in->guest_features);
    if (rc == VD_OK) {
        rc = vd_measure__sha384(g, page, sizeof(page), ap, err);
    }
    if (rc == VD_OK) {
        rc = vd_measure__gctx_step(g, VD_PAGE_VMSA, VD_MEASURE_VMSA_GPA, bsp, err);
    }
    if (rc != VD_OK) {
        return rc;
    }
    add_region(out, g, "VMSA (BSP)", VD_MEASURE_VMSA_GPA, VD_PAGE_VMSA, 1);
    for (uint32_t i = 1; i < in->vcpus; i++) {
        rc = vd_measure__gctx_step(g, VD_PAGE_VMSA, VD_MEASURE_VMSA_GPA, ap, err);
        if (rc != VD_OK) {
            return rc;
        }
    }
    if (in->vcpus > 1) {
        add_region(out, g, "VMSA (AP)", VD_MEASURE_VMSA_GPA, VD_PAGE_VMSA, in->vcpus - 1);
    }
    return VD_OK;
}

vd_err_t vd_measure(const vd_measure_input_t *in, vd_measure_result_t *out, vd_error_t *err)
{
    vd_gctx_t g;
    int have_gctx = 0;
    memset(out, 0, sizeof(*out));
    vd_err_t rc = check_input(in, err);
    if (rc == VD_OK) {
        rc = vd_ovmf_parse(in->ovmf, in->ovmf_len, &out->ovmf, err);
    }
    if (rc == VD_OK && in->has_kernel) {
        rc = check_kernel_hashes(&out->ovmf, err);
    }
    if (rc == VD_OK && in->has_kernel) {
        rc = vd_measure__cmdline_sha256(in->append, out->cmdline_sha256, err);
    }
    if (rc == VD_OK) {
        rc = vd_measure__gctx_init(&g, in->has_ovmf_hash ? in->ovmf_hash : NULL, err);
        have_gctx = rc == VD_OK;
    }
    if (rc != VD_OK) {
        goto out;
    }
    /* 1. The firmware, lowest GPA first, unless its hash is given. */
    if (!in->has_ovmf_hash) {
        rc = vd_measure__gctx_normal(&g, out->ovmf.base, in->ovmf, in->ovmf_len, err);
        if (rc != VD_OK) {
            goto out;
        }
        add_region(out, &g, "firmware", out->ovmf.base, VD_PAGE_NORMAL,
                   in->ovmf_len / VD_MEASURE_PAGE);
    }
    memcpy(out->ovmf_hash, g.ld, VD_MEASURE_DIGEST_LEN);
    /* 2. The metadata sections in file order; EC2 loads the CPUID page after all others. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < out->ovmf.n_sections; i++) {
            const vd_ovmf_section_t *s = &out->ovmf.sections[i];
            int deferred = in->vmm == VD_VMM_EC2 && s->type == VD_OVMF_CPUID;
            if (deferred != pass) {
                continue;
            }
            rc = measure_section(&g, in, s, out, err);
            if (rc != VD_OK) {
                goto out;
            }
        }
    }
    /* 3. The VMSAs: BSP, then each AP. */
    rc = measure_vmsas(&g, in, out, err);
    if (rc == VD_OK) {
        memcpy(out->digest, g.ld, VD_MEASURE_DIGEST_LEN);
    }
out:
    if (have_gctx) {
        vd_measure__gctx_free(&g);
    }
    if (rc != VD_OK) {
        memset(out, 0, sizeof(*out));
    }
    return rc;
}
