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

/*
 * ecdsa_p384.c: ECDSA P-384 over a SHA-384 `digest` with `key` (an EC P-384 key), R and S
 * 48-byte little-endian as in the report. 1 valid, 0 not (R or S out of range included), -1
 * the key cannot be read or is not a point on the curve.
 */
int vd_snp__p384_verify(EVP_PKEY *key, const uint8_t digest[48], const uint8_t r_le[48],
                        const uint8_t s_le[48]);

/*
 * chain.c: SHA-256 of `x`'s DER encoding, remembered by object in `m` (may be NULL; it keeps a
 * reference, so a remembered address is never another object's). 1, or 0 if it cannot be
 * encoded. Objects handed to the core are not modified afterwards (OpenSSL's own caches of a
 * parsed certificate assume the same).
 */
int vd_snp__x509_sha256(vd_chain_memo_t *m, X509 *x, unsigned char out[32]);

/* chain.c: the same for a CRL. */
int vd_snp__crl_sha256(vd_chain_memo_t *m, X509_CRL *crl, unsigned char out[32]);

/*
 * chain.c, the memo: has the object of kind `tag` ('x' certificate, 'c' CRL) with DER digest
 * `what` passed its signature check under `signer` (DER digest `signer_md`, NULL = computed)?
 * 1 yes, 0 no (then `key` is what to vd_snp__memo_remember once it passes), -1 no memo or no
 * digest. Callers remember only what passed every check of that kind.
 */
#define MEMO_KEY_SIZE 65
int vd_snp__memo_lookup(vd_chain_memo_t *m, char tag, const unsigned char what[32], X509 *signer,
                        const unsigned char *signer_md, unsigned char key[MEMO_KEY_SIZE]);
void vd_snp__memo_remember(vd_chain_memo_t *m, const unsigned char key[MEMO_KEY_SIZE]);

#endif
