/*
 * TCB_VERSION layouts (SNP-FORMAT.md section 2). Pure.
 */
#include <stdio.h>

#include "verdict/tcb.h"

vd_tcb_t vd_tcb_decode(uint64_t raw, vd_product_t p)
{
    vd_tcb_t t = {.raw = raw};
    if (p == VD_PRODUCT_TURIN) {
        t.has_fmc = 1;
        t.fmc = (uint8_t)raw;
        t.bootloader = (uint8_t)(raw >> 8);
        t.tee = (uint8_t)(raw >> 16);
        t.snp = (uint8_t)(raw >> 24);
    } else {
        t.bootloader = (uint8_t)raw;
        t.tee = (uint8_t)(raw >> 8);
        t.snp = (uint8_t)(raw >> 48);
    }
    t.microcode = (uint8_t)(raw >> 56);
    return t;
}

int vd_tcb_ge(const vd_tcb_t *a, const vd_tcb_t *b)
{
    if (a->has_fmc && b->has_fmc && a->fmc < b->fmc) {
        return 0;
    }
    return a->bootloader >= b->bootloader && a->tee >= b->tee && a->snp >= b->snp &&
           a->microcode >= b->microcode;
}

int vd_tcb_eq(const vd_tcb_t *a, const vd_tcb_t *b)
{
    return vd_tcb_ge(a, b) && vd_tcb_ge(b, a);
}

char *vd_tcb_format(const vd_tcb_t *t, char *out, size_t out_size)
{
    if (t->has_fmc) {
        snprintf(out, out_size, "fmc=%u bl=%u tee=%u snp=%u ucode=%u", t->fmc, t->bootloader,
                 t->tee, t->snp, t->microcode);
    } else {
        snprintf(out, out_size, "bl=%u tee=%u snp=%u ucode=%u", t->bootloader, t->tee, t->snp,
                 t->microcode);
    }
    return out;
}
