/*
 * Output of `verdict verify` for people: the verdict line, the decoded essentials and every
 * check. Every string that can carry text from the evidence is printed through vd_text_escape,
 * so a certificate name cannot end a line and forge one of ours (issue #7, defect 5).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verdict/text.h"
#include "verdict/timefmt.h"
#include "cli.h"

static void print_checks(FILE *f, const vd_checks_t *c)
{
    char name[VD_TEXT_ESCAPED_SIZE(VD_CHECK_NAME_MAX)];
    char detail[VD_TEXT_ESCAPED_SIZE(VD_CHECK_DETAIL_MAX)];
    for (size_t i = 0; i < c->count; i++) {
        const vd_check_t *k = &c->items[i];
        fprintf(f, "  %-4s  %-30s %s\n", vd_check_result_str(k->result),
                vd_text_escape(k->name, name, sizeof(name)),
                vd_text_escape(k->detail, detail, sizeof(detail)));
    }
}

void vd_cli_print_text(FILE *f, const vd_appraise_result_t *r, time_t at)
{
    char when[32], t[64];
    char a[VD_TEXT_ESCAPED_SIZE(VD_CHECK_DETAIL_MAX)], b[VD_TEXT_ESCAPED_SIZE(512)];
    const vd_snp_result_t *res = &r->snp;
    const vd_check_t *first_fail = vd_checks_first(&res->checks, VD_CHECK_FAIL);
    switch (res->status) {
    case VD_SNP_GENUINE:
        fprintf(f, "GENUINE: AMD SEV-SNP report verified\n");
        break;
    case VD_SNP_REJECTED:
        fprintf(f, "REJECTED: %s: %s\n",
                vd_text_escape(first_fail ? first_fail->name : "?", a, sizeof(a)),
                vd_text_escape(first_fail ? first_fail->detail : "", b, sizeof(b)));
        break;
    case VD_SNP_COLLATERAL_MISSING:
        fprintf(f, "COLLATERAL MISSING: %s\n", vd_text_escape(res->missing, b, sizeof(b)));
        break;
    }
    /* A report that did not even parse was not verified at any time worth printing. */
    if (res->report_parsed) {
        fprintf(f, "  verified at   %s\n", vd_time_format_rfc3339(at, when, sizeof(when)));
        const char *prod =
            res->product_variant ? res->product_variant : vd_product_name(res->product);
        fprintf(f, "  product       %s%s%s%s\n", vd_text_escape(prod, a, sizeof(a)),
                res->product_source ? " (from " : "",
                vd_text_escape(res->product_source ? res->product_source : "", b, sizeof(b)),
                res->product_source ? ")" : "");
        fprintf(f, "  report        version %u, signed by %s\n", res->report.version,
                vd_signing_key_name(res->signing_key));
        fprintf(f, "  reported TCB  %s\n", vd_tcb_format(&res->reported_tcb, t, sizeof(t)));
    }
    if (r->has_vtpm && r->vtpm.runtime_ok) {
        static const char *const state[] = {"absent", "off", "on"};
        const vd_vtpm_runtime_t *rt = &r->vtpm.runtime;
        fprintf(f, "  Azure vTPM    %s evidence; secure boot %s, TPM %s, console %s; VM %s\n",
                vd_vtpm_form_str(r->vtpm.form), state[rt->secure_boot + 1],
                state[rt->tpm_enabled + 1], state[rt->console_enabled + 1],
                vd_text_escape(rt->vm_unique_id[0] ? rt->vm_unique_id : "?", a, sizeof(a)));
        fprintf(f, "  PCRs          %s\n",
                r->vtpm.pcr_mask ? "SHA-256 bank, quoted (--json lists them by number)"
                                 : "none (no quote)");
    }
    fprintf(f, "checks:\n");
    print_checks(f, &res->checks);
    const vd_appraisal_t *ap = &r->appraisal;
    if (!r->policy_applied && ap->checks.count == 0) {
        return;
    }
    const vd_check_t *pf = vd_checks_first(&ap->checks, VD_CHECK_FAIL);
    if (r->policy_applied) {
        fprintf(f, "policy \"%s\": ", vd_text_escape(ap->policy_name, a, sizeof(a)));
    } else {
        fprintf(f, "no policy (freshness only): ");
    }
    fprintf(f, "%s%s%s%s\n", vd_tier_name(ap->status), pf ? " (" : "",
            vd_text_escape(pf ? pf->name : "", b, sizeof(b)), pf ? ")" : "");
    fprintf(f, "  trust vector ");
    for (int i = 0; i < VD_CLAIM__COUNT; i++) {
        if (ap->tvec.claims[i] != 0) {
            fprintf(f, " %s=%d", vd_claim_name((vd_claim_t)i), ap->tvec.claims[i]);
        }
    }
    fprintf(f, "\n");
    print_checks(f, &ap->checks);
}
