/*
 * vCPU signatures: the CPUID Fn0000_0001_EAX value QEMU puts in the VMSA's RDX at reset
 * (MEASURE.md section 4; AMD CPUID Specification #25481), by QEMU CPU model name.
 */
#include <strings.h>

#include "verdict/measure.h"

uint32_t vd_vcpu_sig(unsigned family, unsigned model, unsigned stepping)
{
    unsigned base_family = family > 0xF ? 0xF : family;
    unsigned ext_family = family > 0xF ? (family - 0xF) & 0xFF : 0;
    return (uint32_t)(ext_family << 20 | ((model >> 4) & 0xF) << 16 | base_family << 8 |
                      (model & 0xF) << 4 | (stepping & 0xF));
}

/* QEMU's builtin_x86_defs (target/i386/cpu.c): family, model and stepping per model name.
 * A versioned name (EPYC-Milan-v2) changes features, never these three. */
static const struct vcpu_model {
    const char *name;
    unsigned family, model, stepping;
} MODELS[] = {
    {"EPYC", 23, 1, 2},          {"EPYC-v1", 23, 1, 2},       {"EPYC-v2", 23, 1, 2},
    {"EPYC-v3", 23, 1, 2},       {"EPYC-v4", 23, 1, 2},       {"EPYC-IBPB", 23, 1, 2},
    {"EPYC-Rome", 23, 49, 0},    {"EPYC-Rome-v1", 23, 49, 0}, {"EPYC-Rome-v2", 23, 49, 0},
    {"EPYC-Rome-v3", 23, 49, 0}, {"EPYC-Milan", 25, 1, 1},    {"EPYC-Milan-v1", 25, 1, 1},
    {"EPYC-Milan-v2", 25, 1, 1}, {"EPYC-Genoa", 25, 17, 0},   {"EPYC-Genoa-v1", 25, 17, 0},
    {"EPYC-Turin", 26, 0, 0},
};

int vd_vcpu_sig_by_name(const char *name, uint32_t *sig)
{
    for (size_t i = 0; i < sizeof(MODELS) / sizeof(MODELS[0]); i++) {
        if (strcasecmp(name, MODELS[i].name) == 0) {
            *sig = vd_vcpu_sig(MODELS[i].family, MODELS[i].model, MODELS[i].stepping);
            return 0;
        }
    }
    return -1;
}

const char *vd_vcpu_names(void)
{
    return "EPYC, EPYC-v1..v4, EPYC-IBPB, EPYC-Rome, EPYC-Rome-v1..v3, EPYC-Milan, "
           "EPYC-Milan-v1, EPYC-Milan-v2, EPYC-Genoa, EPYC-Genoa-v1, EPYC-Turin";
}
