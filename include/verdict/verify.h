/*
 * verdict: is this SEV-SNP report genuine AMD hardware? The verification core.
 *
 * Pure: no I/O, no clock, no network. The caller passes the report bytes, every candidate
 * certificate, the trust anchors and the time; the result is deterministic and lists every
 * check by name with pass, fail or skip and a reason (DESIGN.md, "verification core").
 *
 * Checks, in order (a check whose inputs are missing is "skip"):
 *   report.format            length 1184 and version 2..5 (if this fails nothing else runs)
 *   evidence.cert_table      the cert table (when given) parses and its blobs are certificates
 *   report.signature_algo    SIGNATURE_ALGO == 1 (ECDSA P-384 SHA-384)
 *   report.signer_info       SIGNING_KEY is VCEK or VLEK, MASK_CHIP_KEY clear, bits 31:5 zero
 *   report.policy            POLICY bit 17 set, bits 63:26 zero
 *   report.vmpl              VMPL 0..3
 *   report.reserved          every must-be-zero range for this version
 *   report.signature_format  R and S padding zero, 0x330-0x49F zero, 0 < r,s < n
 *   product                  from CPUID (v3+), else the certificate's productName or a hint
 *   cert.endorsement_key     the VCEK/VLEK is present, P-384, AMD subject, AMD extensions decode
 *   cert.product             productName matches the product
 *   chain.ark                root present, pinned (or an explicit extra anchor), self-signed,
 *                            anchors this product
 *   chain.ask                ASK/ASVK signed by the ARK with RSA-PSS SHA-384, a CA
 *   chain.endorsement_key    VCEK/VLEK signed by the ASK/ASVK with RSA-PSS SHA-384
 *   chain.validity           every certificate valid at the given time
 *   chain.revocation         always present. The CRLs given that are issued and signed (pinned
 *                            RSA-PSS) by the chain's trusted ARK: fail if any lists the
 *                            ASK/ASVK (or, by an indirect entry, the VCEK/VLEK), whatever its
 *                            age; pass if one is fresh (thisUpdate <= at < nextUpdate); else
 *                            skip with the reason (none given, none signed by the ARK, stale),
 *                            and with crl_mode fail-closed the status is COLLATERAL_MISSING.
 *                            skip when the chain is not trusted or crl_mode is off.
 *   report.signature         ECDSA P-384 over bytes 0x000-0x29F with the endorsement key
 *   binding.tcb              each SPL extension equals REPORTED_TCB's component (FMC on Turin)
 *   binding.chip_id          hwID equals CHIP_ID (8 bytes on Turin); skip if masked or VLEK
 */
#ifndef verdict__verify_h
#define verdict__verify_h

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "verdict/certset.h"
#include "verdict/chain.h"
#include "verdict/check.h"
#include "verdict/crl.h"
#include "verdict/error.h"
#include "verdict/product.h"
#include "verdict/report.h"
#include "verdict/tcb.h"
#include "verdict/trust.h"

typedef enum vd_snp_status {
    VD_SNP_GENUINE = 0,        /* every check passed or was skipped for a stated reason */
    VD_SNP_REJECTED,           /* at least one check failed */
    VD_SNP_COLLATERAL_MISSING, /* no check failed, but a needed certificate was not supplied
                                  (or, under fail-closed, no fresh CRL) */
} vd_snp_status_t;

typedef struct vd_snp_input {
    const uint8_t *report;
    size_t report_len;
    const vd_certset_t *certs; /* candidates, untrusted; may be NULL */
    const uint8_t *cert_table; /* the evidence's extended-report cert table, or NULL */
    size_t cert_table_len;
    const vd_trust_t *trust;   /* pins + extra anchors; NULL means AMD pins only */
    time_t at;                 /* the time certificate validity is judged at */
    vd_product_t product_hint; /* for v2 reports: the product an operator says it is */
    const char *kds_base;      /* for "would come from" messages; NULL = AMD's */
    X509_CRL *const *crls;     /* candidate CRLs, untrusted (the ARK's signature decides) */
    size_t n_crls;
    vd_crl_mode_t crl_mode; /* no fresh CRL: fail-open (default), fail-closed, off */
    vd_chain_memo_t *memo;  /* optional, shared: verified signatures (speed only, chain.h) */
} vd_snp_input_t;

typedef struct vd_snp_result {
    vd_snp_status_t status;
    vd_checks_t checks;
    int report_parsed;
    vd_snp_report_t report;
    vd_product_t product;
    const char *product_source;  /* "cpuid", "certificate", "hint" or NULL */
    const char *product_variant; /* "Siena/Bergamo" etc., or NULL */
    unsigned signing_key;        /* SIGNER_INFO.SIGNING_KEY */
    vd_tcb_t reported_tcb, current_tcb, committed_tcb, launch_tcb;
    char missing[512]; /* when status is COLLATERAL_MISSING: which certificate, from where */
} vd_snp_result_t;

/**
 * Verify one report. Returns VD_OK whenever a result was produced, whatever it says; an error
 * (VD_E_NOMEM, VD_E_INTERNAL) only when it could not be. The result is written to `*out`,
 * which the caller owns (it is large: allocate it, do not put it on a small stack).
 */
vd_err_t vd_snp_verify(const vd_snp_input_t *in, vd_snp_result_t *out, vd_error_t *err);

/** "genuine", "rejected" or "collateral-missing". */
const char *vd_snp_status_str(vd_snp_status_t s);

/** "VCEK", "VLEK", "none" or "reserved". */
const char *vd_signing_key_name(unsigned signing_key);

#endif
