/*
 * The initial VMSA of each vCPU (MEASURE.md section 4; AMD64 APM Vol. 2 #24593, Appendix B,
 * "VMSA Layout, State Save Area for SEV-ES"). KVM/QEMU, EC2 and GCE set a few fields
 * differently; each difference is written once in vmm_fields below.
 *
 * The page is all zeros except the fields set here. R, the reset address, is 0xFFFFFFF0 for
 * the BSP and the firmware's SEV-ES reset block value for the APs.
 */
#include <string.h>

#include "verdict/bytes.h"
#include "measure_internal.h"

#define BSP_RESET_ADDR 0xFFFFFFF0u

/* Segment registers: u16 selector, u16 attributes, u32 limit, u64 base. */
static void put_segment(uint8_t *p, uint16_t selector, uint16_t attrib, uint32_t limit,
                        uint64_t base)
{
    p[0] = (uint8_t)selector;
    p[1] = (uint8_t)(selector >> 8);
    p[2] = (uint8_t)attrib;
    p[3] = (uint8_t)(attrib >> 8);
    vd_put_le32(p + 4, limit);
    vd_put_le64(p + 8, base);
}

/* The fields in which the VMMs differ. */
typedef struct vmm_fields {
    uint16_t cs_attr, ss_attr, tr_attr;
    uint64_t g_pat, rdx;
    uint32_t mxcsr;
    uint16_t fcw;
} vmm_fields_t;

static vmm_fields_t vmm_fields(vd_vmm_t vmm, int bsp, uint32_t vcpu_sig)
{
    vmm_fields_t f = {0x9B, 0x93, 0x8B, 0x0007040600070406ull, vcpu_sig, 0x1F80, 0x037F};
    switch (vmm) {
    case VD_VMM_QEMU:
        break;
    case VD_VMM_EC2:
        f.cs_attr = bsp ? 0x9A : 0x9B;
        f.ss_attr = 0x92;
        f.tr_attr = 0x83;
        f.rdx = 0x600; /* sev-snp-measure 0.0.13, matching live EC2 reports */
        f.mxcsr = 0;
        f.fcw = 0;
        break;
    case VD_VMM_GCE:
        f.g_pat = 0x0000000000070106ull;
        f.rdx = 0x600;
        f.mxcsr = 0;
        f.fcw = 0;
        break;
    }
    return f;
}

void vd_measure__vmsa(uint8_t page[VD_MEASURE_PAGE], vd_vmm_t vmm, int bsp, uint32_t reset_addr,
                      uint32_t vcpu_sig, uint64_t guest_features)
{
    uint32_t r = bsp ? BSP_RESET_ADDR : reset_addr;
    vmm_fields_t f = vmm_fields(vmm, bsp, vcpu_sig);
    memset(page, 0, VD_MEASURE_PAGE);
    put_segment(page + 0x000, 0, 0x93, 0xFFFF, 0);                         /* ES */
    put_segment(page + 0x010, 0xF000, f.cs_attr, 0xFFFF, r & 0xFFFF0000u); /* CS */
    put_segment(page + 0x020, 0, f.ss_attr, 0xFFFF, 0);                    /* SS */
    put_segment(page + 0x030, 0, 0x93, 0xFFFF, 0);                         /* DS */
    put_segment(page + 0x040, 0, 0x93, 0xFFFF, 0);                         /* FS */
    put_segment(page + 0x050, 0, 0x93, 0xFFFF, 0);                         /* GS */
    put_segment(page + 0x060, 0, 0, 0xFFFF, 0);                            /* GDTR */
    put_segment(page + 0x070, 0, 0x82, 0xFFFF, 0);                         /* LDTR */
    put_segment(page + 0x080, 0, 0, 0xFFFF, 0);                            /* IDTR */
    put_segment(page + 0x090, 0, f.tr_attr, 0xFFFF, 0);                    /* TR */
    vd_put_le64(page + 0x0D0, 0x1000);                                     /* EFER: SVME */
    vd_put_le64(page + 0x148, 0x40);                                       /* CR4: MCE */
    vd_put_le64(page + 0x158, 0x10);                                       /* CR0: ET */
    vd_put_le64(page + 0x160, 0x400);                                      /* DR7 */
    vd_put_le64(page + 0x168, 0xFFFF0FF0);                                 /* DR6 */
    vd_put_le64(page + 0x170, 0x2);                                        /* RFLAGS */
    vd_put_le64(page + 0x178, r & 0xFFFFu);                                /* RIP */
    vd_put_le64(page + 0x268, f.g_pat);                                    /* G_PAT */
    vd_put_le64(page + 0x310, f.rdx);          /* RDX: CPUID Fn0000_0001_EAX at reset */
    vd_put_le64(page + 0x3B0, guest_features); /* SEV_FEATURES */
    vd_put_le64(page + 0x3E8, 0x1);            /* XCR0: x87 */
    vd_put_le32(page + 0x408, f.mxcsr);        /* MXCSR */
    page[0x410] = (uint8_t)f.fcw;              /* x87 FCW */
    page[0x411] = (uint8_t)(f.fcw >> 8);
}
