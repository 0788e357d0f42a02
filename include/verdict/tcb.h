/*
 * verdict: TCB_VERSION decoding and comparison.
 *
 * The 8-byte TCB_VERSION has two layouts chosen by the product, not the report version
 * (SNP-FORMAT.md section 2): Milan/Genoa {bl, tee, rsvd x4, snp, ucode} and Turin
 * {fmc, bl, tee, snp, rsvd x3, ucode}. TCBs compare component by component, never as an
 * integer.
 */
#ifndef verdict__tcb_h
#define verdict__tcb_h

#include <stddef.h>
#include <stdint.h>

#include "verdict/product.h"

typedef struct vd_tcb {
    uint64_t raw;
    int has_fmc; /* Turin layout */
    uint8_t fmc;
    uint8_t bootloader;
    uint8_t tee;
    uint8_t snp;
    uint8_t microcode;
} vd_tcb_t;

/** Decode `raw` with the layout of product `p` (Turin layout for Turin, else Milan/Genoa). */
vd_tcb_t vd_tcb_decode(uint64_t raw, vd_product_t p);

/** 1 if every component of `a` is >= the same component of `b` (FMC only when both have it). */
int vd_tcb_ge(const vd_tcb_t *a, const vd_tcb_t *b);

/** 1 if every named component is equal. */
int vd_tcb_eq(const vd_tcb_t *a, const vd_tcb_t *b);

/** "fmc=1 bl=1 tee=1 snp=4 ucode=81" (fmc only on Turin) into `out`; returns `out`. */
char *vd_tcb_format(const vd_tcb_t *t, char *out, size_t out_size);

#endif
