/*
 * auditfill DB N: append N audit records through the real writer (vd_audit_append), for the
 * `verdict audit` end-to-end test. Record i: request id "req-i", status cycling through
 * affirming, warning, contraindicated, none; time 2026-01-01T00:00:00Z + i seconds; every
 * third has policy "prod" version 2 and two failed checks. Then two records dated now
 * ("recent-0", "recent-1"). Exit 0, or 1 with a message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verdict/audit.h"

int main(int argc, char **argv)
{
    static const char *const statuses[] = {"affirming", "warning", "contraindicated", "none"};
    static const char *const checks[] = {"policy.measurement", "policy.tcb.snp"};
    if (argc != 3) {
        fprintf(stderr, "usage: auditfill DB N\n");
        return 1;
    }
    int n = atoi(argv[2]);
    vd_audit_config_t cfg = {.db_path = argv[1], .synchronous = VD_AUDIT_SYNC_NORMAL};
    vd_audit_t *a = NULL;
    vd_error_t err = {0};
    if (vd_audit_open(&cfg, &a, &err) != VD_OK) {
        fprintf(stderr, "auditfill: %s\n", err.msg);
        return 1;
    }
    for (int i = 0; i < n + 2; i++) {
        char id[32];
        vd_audit_record_t r;
        memset(&r, 0, sizeof(r));
        if (i < n) {
            snprintf(id, sizeof(id), "req-%d", i);
            r.time_ms = (1767225600LL + i) * 1000 + 250;
            r.status = statuses[i % 4];
        } else {
            snprintf(id, sizeof(id), "recent-%d", i - n);
            r.status = "affirming";
        }
        r.request_id = id;
        r.client = "127.0.0.1:40000";
        r.route = "/v1/attest";
        r.report_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        r.chip_id = "59790fb1c39f35c1";
        r.latency_us = 1500 + i;
        if (i % 3 == 0) {
            r.policy_name = "prod";
            r.policy_version = 2;
            r.failed_checks = checks;
            r.n_failed_checks = 2;
        }
        if (vd_audit_append(a, &r, &err) != VD_OK) {
            fprintf(stderr, "auditfill: %s\n", err.msg);
            vd_audit_close(&a);
            return 1;
        }
    }
    vd_audit_close(&a);
    return 0;
}
