/*
 * `verdict policy init`: write a first policy from known-good inputs.
 *
 *   --from-report REPORT [evidence flags]   pinned to a genuine report; the evidence is
 *                                           appraised by vd_appraise (verify's flags, parsed
 *                                           by verify_cmd.c), never verified here
 *   --measure [measure flags] [--label NAME [measure flags]]...
 *                                           reference measurements computed by vd_measure
 *                                           (measure's flags, parsed by measure_cmd.c)
 *
 * The YAML itself is library code (vd_policy_init, policies/policy_init.c); this file parses
 * flags, reads files and prints. Exit 0 with the policy on stdout (or --out FILE), 1 when the
 * evidence is not genuine (the failed check named), 2 for usage errors and unreadable files,
 * 3 when a needed certificate is not available.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verdict/bytes.h"
#include "verdict/measure.h"
#include "verdict/policy_init.h"
#include "verdict/product.h"
#include "verdict/timefmt.h"
#include "cli.h"

#define CMD          "verdict policy init"
#define MAX_SETS     64  /* --label sets */
#define MAX_COUNTS   64  /* vCPU counts in one --vcpus list */
#define LABEL_BYTES  400 /* VD_POLICY_LABEL_CHARS characters of UTF-8, and room to refuse more */
#define COMMENT_SIZE 1024

static void init_usage(FILE *f)
{
    fprintf(
        f, "usage: verdict policy init --from-report REPORT [--certs FILE]... [--cert-table FILE]\n"
           "           [--at TIME] [--product NAME] [--extra-roots FILE] [--kds-url URL]\n"
           "           [--offline] [--crl MODE] [--db FILE]\n"
           "           [--name NAME] [--description TEXT] [--label TEXT] [--out FILE]\n"
           "       verdict policy init --measure --ovmf FILE --vcpus N[,N...] [measure flags]\n"
           "           [--label NAME [measure flags]]... [--name NAME] [--description TEXT]\n"
           "           [--out FILE]\n"
           "\n"
           "Writes a commented YAML policy (stdout, or --out FILE) that always validates.\n"
           "\n"
           "  --from-report REPORT  a known-good guest's report (as verify --report reads it):\n"
           "                        pins its product, signing key, TCBs, guest policy, VMPL,\n"
           "                        SVN, HOST_DATA, ID block and measurement. The evidence must\n"
           "                        be genuine (the other flags are verify's, verdict verify\n"
           "                        --help); exit 1 otherwise\n"
           "  --measure             measurements computed before the guest boots, with the\n"
           "                        flags of verdict measure (--help there). --vcpus takes a\n"
           "                        list (2,4,8): one entry each. Each --label NAME starts a\n"
           "                        measurement set; the measure flags after it apply to that\n"
           "                        set only, the ones before the first --label to every set\n"
           "  --name NAME           the policy's name (default from the product or digest)\n"
           "  --description TEXT    its description\n"
           "  --label TEXT          from a report: the measurement's label\n"
           "  --out FILE            write the policy to FILE instead of stdout\n"
           "\n"
           "exit codes: 0 written, 1 the evidence is not genuine, 2 usage or unreadable\n"
           "            input, 3 a needed certificate is not available\n");
}

/* The policy's own flags, common to both modes. */
typedef struct init_opts {
    const char *name, *description, *label, *out;
} init_opts_t;

/* Write the policy text to stdout or `path`. 0, or -1 after printing why. */
static int emit(const char *path, const char *yaml)
{
    if (path == NULL) {
        if (fputs(yaml, stdout) == EOF || fflush(stdout) != 0) {
            fprintf(stderr, "%s: cannot write to stdout: %s\n", CMD, vd_strerror(errno));
            return -1;
        }
        return 0;
    }
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "%s: --out %s: %s\n", CMD, path, vd_strerror(errno));
        return -1;
    }
    int bad = fputs(yaml, f) == EOF;
    int e = errno;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        fprintf(stderr, "%s: --out %s: %s\n", CMD, path, vd_strerror(e));
        return -1;
    }
    return 0;
}

static int write_policy(const vd_pinit_t *in, const init_opts_t *io)
{
    vd_error_t err = {0};
    char *yaml = NULL;
    if (vd_policy_init(in, &yaml, &err) != VD_OK) {
        fprintf(stderr, "%s: %s\n", CMD, err.msg);
        return VD_EXIT_USAGE;
    }
    int rc = emit(io->out, yaml);
    free(yaml);
    return rc == 0 ? VD_EXIT_OK : VD_EXIT_USAGE;
}

/* ---- --from-report ------------------------------------------------------------------------- */

/*
 * Take the policy's own flags out of argv (also in --flag=value form) and turn --from-report
 * into verify's --report; the rest is verify's to parse. `args` has room for argc + 1.
 */
static int split_report_args(int argc, char **argv, init_opts_t *io, char **args, int *nargs)
{
    static const struct {
        const char *flag;
        size_t off;
    } own[] = {
        {"--name", offsetof(init_opts_t, name)},
        {"--description", offsetof(init_opts_t, description)},
        {"--label", offsetof(init_opts_t, label)},
        {"--out", offsetof(init_opts_t, out)},
    };
    static char report_flag[] = "--report";
    int n = 0;
    args[n++] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int taken = 0;
        if (strcmp(a, "--") == 0) {
            return vd_cli_usage_error(CMD, "unexpected argument '--'"), -1;
        }
        for (size_t k = 0; k < sizeof(own) / sizeof(own[0]); k++) {
            size_t fl = strlen(own[k].flag);
            const char **slot = (const char **)(void *)((char *)io + own[k].off);
            if (strcmp(a, own[k].flag) == 0) {
                if (i + 1 >= argc) {
                    vd_cli_usage_error(CMD, "%s needs a value", own[k].flag);
                    return -1;
                }
                *slot = argv[++i];
                taken = 1;
            } else if (strncmp(a, own[k].flag, fl) == 0 && a[fl] == '=') {
                *slot = a + fl + 1;
                taken = 1;
            }
        }
        if (taken) {
            continue;
        }
        if (strcmp(a, "--report") == 0 || strncmp(a, "--report=", 9) == 0) {
            vd_cli_usage_error(CMD, "give the report with --from-report");
            return -1;
        }
        if (strcmp(a, "--from-report") == 0) {
            args[n++] = report_flag;
        } else if (strncmp(a, "--from-report=", 14) == 0) {
            args[n++] = report_flag;
            args[n++] = argv[i] + 14;
        } else {
            args[n++] = argv[i];
        }
    }
    args[n] = NULL;
    *nargs = n;
    return 0;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s != NULL ? s + 1 : path;
}

static int from_report(int argc, char **argv)
{
    init_opts_t io = {0};
    vd_appraise_result_t *res = NULL;
    time_t at = 0;
    int nargs = 0, code = VD_EXIT_USAGE;
    const char *report = NULL;
    char **args = calloc((size_t)argc + 2, sizeof(*args));
    if (args == NULL) {
        fprintf(stderr, "%s: out of memory\n", CMD);
        return VD_EXIT_USAGE;
    }
    if (split_report_args(argc, argv, &io, args, &nargs) != 0) {
        goto out;
    }
    for (int i = 1; i + 1 < nargs; i++) {
        if (strcmp(args[i], "--report") == 0) {
            report = args[i + 1];
        }
    }
    code = vd_cli_appraise_evidence(nargs, args, CMD, &res, &at);
    if (code != VD_EXIT_OK) {
        goto out;
    }
    const vd_snp_result_t *snp = &res->snp;
    if (res->outcome == VD_OUTCOME_COLLATERAL || snp->status == VD_SNP_COLLATERAL_MISSING) {
        fprintf(stderr, "%s: collateral unavailable: %s%s%s; no policy written\n", CMD,
                snp->missing, res->problem[0] ? ": " : "", res->problem);
        code = VD_EXIT_COLLATERAL;
        goto out;
    }
    if (res->outcome != VD_OUTCOME_AFFIRMING || snp->status != VD_SNP_GENUINE) {
        const vd_check_t *f = vd_checks_first(&snp->checks, VD_CHECK_FAIL);
        fprintf(stderr, "%s: %s: the evidence is not genuine (%s: %s); no policy written\n", CMD,
                report ? report : "report", f ? f->name : vd_snp_status_str(snp->status),
                f ? f->detail : "");
        code = VD_EXIT_REJECTED;
        goto out;
    }
    char name[VD_POLICY_NAME_MAX], when[32], source[512], lower[16], hex[97];
    vd_hex_encode(snp->report.measurement, 48, hex, sizeof(hex));
    snprintf(lower, sizeof(lower), "%s", vd_product_name(snp->product));
    for (char *q = lower; *q; q++) {
        *q = (char)tolower((unsigned char)*q);
    }
    snprintf(name, sizeof(name), "%s%s-%.8s", res->has_vtpm ? "azure-" : "", lower, hex);
    snprintf(source, sizeof(source), "report %s: %s, version %u, signed by its %s, genuine at %s",
             report ? base_name(report) : "?", vd_product_name(snp->product), snp->report.version,
             vd_signing_key_name(snp->signing_key), vd_time_format_rfc3339(at, when, sizeof(when)));
    vd_pinit_t in = {
        .name = io.name ? io.name : name,
        .description = io.description,
        .source = source,
        .snp = snp,
        .report_label = io.label,
        .vtpm = res->has_vtpm ? &res->vtpm : NULL,
    };
    code = write_policy(&in, &io);
out:
    free(res);
    free(args);
    return code;
}

/* ---- --measure ----------------------------------------------------------------------------- */

typedef struct mset {
    const char *label; /* NULL for the defaults before the first --label */
    vd_cli_measure_opts_t o;
} mset_t;

/* One measurement's label and comment. */
typedef struct mtext {
    char label[LABEL_BYTES];
    char comment[COMMENT_SIZE];
} mtext_t;

static void add_field(char *buf, size_t size, const char *key, const char *value)
{
    size_t used = strlen(buf);
    if (value != NULL && used < size) {
        int quote = value[0] == '\0' || strpbrk(value, " \t\"'") != NULL;
        snprintf(buf + used, size - used, "%s%s=%s%s%s", used ? " " : "", key, quote ? "'" : "",
                 value, quote ? "'" : "");
    }
}

/* The flags that reproduce this measurement, for a comment. */
static void describe(const vd_cli_measure_opts_t *o, uint32_t vcpus, char *buf, size_t size)
{
    char n[16];
    snprintf(n, sizeof(n), "%u", vcpus);
    buf[0] = '\0';
    add_field(buf, size, "--ovmf", o->ovmf);
    add_field(buf, size, "--vcpus", n);
    add_field(buf, size, "--vcpu-type", o->vcpu_type);
    add_field(buf, size, "--vcpu-sig", o->vcpu_sig);
    add_field(buf, size, "--vmm-type", o->vmm);
    add_field(buf, size, "--kernel", o->kernel);
    add_field(buf, size, "--initrd", o->initrd);
    add_field(buf, size, "--append", o->append);
    add_field(buf, size, "--guest-features", o->features);
    add_field(buf, size, "--snp-ovmf-hash", o->ovmf_hash);
}

/* A label for a set without --label: vCPUs, CPU type or VMM, firmware file (printable ASCII). */
static void auto_label(const vd_cli_measure_opts_t *o, uint32_t vcpus, char *buf, size_t size)
{
    const char *cpu = o->vcpu_type ? o->vcpu_type : o->vcpu_sig ? o->vcpu_sig : o->vmm;
    snprintf(buf, size, "%u vCPU%s%s%.24s, %.40s", vcpus, vcpus == 1 ? "" : "s", cpu ? ", " : "",
             cpu ? cpu : "", base_name(o->ovmf));
    for (char *q = buf; *q; q++) {
        if ((unsigned char)*q < 0x20 || (unsigned char)*q >= 0x7F) {
            *q = '?';
        }
    }
}

/* Split a --vcpus list "2,4,8" into counts. 0, or -1 after printing the problem. */
static int parse_counts(const char *list, uint32_t *counts, size_t *n)
{
    char piece[32];
    *n = 0;
    for (const char *p = list;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0 || len >= sizeof(piece)) {
            fprintf(stderr, "%s: --vcpus '%s': expected N or a list N,N,...\n", CMD, list);
            return -1;
        }
        if (*n >= MAX_COUNTS) {
            fprintf(stderr, "%s: --vcpus '%s': at most %d counts\n", CMD, list, MAX_COUNTS);
            return -1;
        }
        memcpy(piece, p, len);
        piece[len] = '\0';
        if (vd_cli_measure_vcpus(piece, CMD, &counts[*n]) != 0) {
            return -1;
        }
        for (size_t i = 0; i < *n; i++) {
            if (counts[i] == counts[*n]) {
                fprintf(stderr, "%s: --vcpus '%s': %u is listed twice\n", CMD, list, counts[i]);
                return -1;
            }
        }
        (*n)++;
        if (comma == NULL) {
            return 0;
        }
        p = comma + 1;
    }
}

/* Parse the --measure command line into the defaults, the sets and the policy's flags. */
static int parse_measure_args(int argc, char **argv, init_opts_t *io, mset_t *sets, size_t *nsets)
{
    enum {
        OPT_MEASURE = VD_CLI_MEASURE_OPT_BASE + VD_CLI_MEASURE_NOPTS,
        OPT_NAME,
        OPT_DESCRIPTION,
        OPT_LABEL,
        OPT_OUT,
        OPT_HELP
    };
    struct option longopts[VD_CLI_MEASURE_NOPTS + 7];
    memcpy(longopts, vd_cli_measure_longopts, sizeof(vd_cli_measure_longopts));
    struct option *o = longopts + VD_CLI_MEASURE_NOPTS;
    o[0] = (struct option){"measure", no_argument, NULL, OPT_MEASURE};
    o[1] = (struct option){"name", required_argument, NULL, OPT_NAME};
    o[2] = (struct option){"description", required_argument, NULL, OPT_DESCRIPTION};
    o[3] = (struct option){"label", required_argument, NULL, OPT_LABEL};
    o[4] = (struct option){"out", required_argument, NULL, OPT_OUT};
    o[5] = (struct option){"help", no_argument, NULL, OPT_HELP};
    o[6] = (struct option){NULL, 0, NULL, 0};
    /* sets[0] holds the defaults; each --label appends one. */
    memset(&sets[0], 0, sizeof(sets[0]));
    *nsets = 1;
    opterr = 0;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (vd_cli_measure_opt(&sets[*nsets - 1].o, ch, optarg)) {
            continue;
        }
        switch (ch) {
        case OPT_MEASURE:
            break;
        case OPT_NAME:
            io->name = optarg;
            break;
        case OPT_DESCRIPTION:
            io->description = optarg;
            break;
        case OPT_OUT:
            io->out = optarg;
            break;
        case OPT_LABEL:
            if (*nsets > MAX_SETS) {
                vd_cli_usage_error(CMD, "at most %d --label sets", MAX_SETS);
                return -1;
            }
            memset(&sets[*nsets], 0, sizeof(sets[0]));
            sets[*nsets].label = optarg;
            (*nsets)++;
            break;
        case OPT_HELP:
            return 1;
        default:
            vd_cli_usage_error(CMD,
                               "unknown or incomplete option '%s' (the --measure flags are "
                               "verdict measure's)",
                               argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        vd_cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
        return -1;
    }
    return 0;
}

static int from_measure(int argc, char **argv)
{
    init_opts_t io = {0};
    mset_t *sets = calloc(MAX_SETS + 1, sizeof(*sets));
    vd_pinit_measurement_t *ms = calloc(MAX_SETS * MAX_COUNTS, sizeof(*ms));
    mtext_t *texts = calloc(MAX_SETS * MAX_COUNTS, sizeof(*texts));
    vd_measure_result_t *res = malloc(sizeof(*res));
    size_t nsets = 0, nm = 0;
    int code = VD_EXIT_USAGE;
    if (sets == NULL || ms == NULL || texts == NULL || res == NULL) {
        fprintf(stderr, "%s: out of memory\n", CMD);
        goto out;
    }
    int p = parse_measure_args(argc, argv, &io, sets, &nsets);
    if (p != 0) {
        if (p > 0) {
            init_usage(stdout);
            code = VD_EXIT_OK;
        }
        goto out;
    }
    /* Without --label the defaults are the one set; with, they only fill in the sets. */
    size_t first = nsets > 1 ? 1 : 0;
    for (size_t s = first; s < nsets; s++) {
        vd_cli_measure_opts_t eff = sets[0].o;
        vd_measure_input_t in;
        uint8_t *fw = NULL;
        uint32_t counts[MAX_COUNTS];
        size_t ncounts = 0;
        if (s > 0) {
            vd_cli_measure_merge(&eff, &sets[s].o);
        }
        if (eff.vcpus != NULL && parse_counts(eff.vcpus, counts, &ncounts) != 0) {
            goto out;
        }
        char one[16];
        snprintf(one, sizeof(one), "%u", ncounts ? counts[0] : 1u);
        vd_cli_measure_opts_t first_count = eff;
        first_count.vcpus = eff.vcpus != NULL ? one : NULL;
        if (vd_cli_measure_prepare(&first_count, CMD, &in, &fw) != 0) {
            goto out;
        }
        for (size_t c = 0; c < ncounts; c++) {
            vd_error_t err = {0};
            in.vcpus = counts[c];
            if (vd_measure(&in, res, &err) != VD_OK) {
                fprintf(stderr, "%s: %s%s%s\n", CMD, sets[s].label ? sets[s].label : "",
                        sets[s].label ? ": " : "", err.msg);
                free(fw);
                goto out;
            }
            mtext_t *t = &texts[nm];
            if (sets[s].label != NULL && ncounts == 1) {
                snprintf(t->label, sizeof(t->label), "%s", sets[s].label);
            } else if (sets[s].label != NULL) {
                snprintf(t->label, sizeof(t->label), "%s, %u vCPU%s", sets[s].label, counts[c],
                         counts[c] == 1 ? "" : "s");
            } else {
                auto_label(&eff, counts[c], t->label, sizeof(t->label));
            }
            describe(&eff, counts[c], t->comment, sizeof(t->comment));
            memcpy(ms[nm].digest, res->digest, 48);
            ms[nm].label = t->label;
            ms[nm].comment = t->comment;
            nm++;
        }
        free(fw);
    }
    char name[VD_POLICY_NAME_MAX], hex[97], source[96];
    vd_hex_encode(ms[0].digest, 48, hex, sizeof(hex));
    snprintf(name, sizeof(name), "measured-%.8s", hex);
    snprintf(source, sizeof(source), "%zu measurement%s computed by verdict measure", nm,
             nm == 1 ? "" : "s");
    vd_pinit_t in = {.name = io.name ? io.name : name,
                     .description = io.description,
                     .source = source,
                     .measurements = ms,
                     .n_measurements = nm};
    code = write_policy(&in, &io);
out:
    free(res);
    free(texts);
    free(ms);
    free(sets);
    return code;
}

int vd_cli_policy_init(int argc, char **argv)
{
    int report = 0, measure = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            init_usage(stdout);
            return VD_EXIT_OK;
        }
        report |=
            strcmp(argv[i], "--from-report") == 0 || strncmp(argv[i], "--from-report=", 14) == 0;
        measure |= strcmp(argv[i], "--measure") == 0;
    }
    if (report == measure) {
        return vd_cli_usage_error(CMD, "give --from-report REPORT or --measure%s",
                                  report ? ", not both" : "");
    }
    return report ? from_report(argc, argv) : from_measure(argc, argv);
}
