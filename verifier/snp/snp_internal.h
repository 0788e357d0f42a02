/*
 * Declarations shared by the files of the SEV-SNP verification core. Not a public API.
 * Each helper returns 1 (pass) or 0 (fail) and writes a human-readable detail either way.
 */
#ifndef verdict__snp_internal_h
#define verdict__snp_internal_h

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "verdict/chain.h"
#include "verdict/report.h"

/* signature.c: SNP-FORMAT.md section 6 (the verification itself is public: chain.h). */
int vd_snp__signature_format(const vd_snp_report_t *r, char *detail, size_t n);

/* chain.c: SHA-256 of `x`'s DER encoding. 1, or 0 if it cannot be encoded. */
int vd_snp__x509_sha256(X509 *x, unsigned char out[32]);

/*
 * chain.c: run `verify(arg)` (1 = the signature verifies) unless `memo` remembers that the
 * object with DER digest `what` verified under `signer` (DER digest `signer_md`, NULL = computed
 * here); remember it when it does. `tag` separates kinds of signed objects ("x509", "crl").
 */
int vd_snp__signature_memo(vd_chain_memo_t *m, const char *tag, const unsigned char what[32],
                           X509 *signer, const unsigned char *signer_md, int (*verify)(void *),
                           void *arg);

#endif
