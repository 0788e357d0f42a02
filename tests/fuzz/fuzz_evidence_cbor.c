/*
 * libFuzzer target: the CBOR configfs-tsm envelope (application/vnd.veraison.tsm-report+cbor),
 * as the Veraison API and `verify --report` read it: vd_evidence_is_cbor_map, then
 * vd_evidence_parse_tsm_cbor (libcbor under the size cap, definite strings only, duplicates).
 * Aborts if a parsed envelope has no report, a refusal has no message or leaves buffers behind,
 * or an input the sniff calls "not a map" parses.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "verdict/evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vd_evidence_t ev;
    vd_error_t err = {0};
    int is_map = vd_evidence_is_cbor_map(data, size);
    if (vd_evidence_parse_tsm_cbor(data, size, &ev, &err) == VD_OK) {
        if (ev.report == NULL || !is_map) {
            abort();
        }
        if (ev.report_len > size || ev.cert_table_len > size) {
            abort();
        }
        vd_evidence_free(&ev);
    } else if (err.msg[0] == '\0' || ev.report != NULL || ev.cert_table != NULL) {
        abort();
    }
    return 0;
}
