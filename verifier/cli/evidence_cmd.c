/*
 * `verdict evidence collect`: the attester side, run inside an SEV-SNP guest. It asks the
 * kernel for a report through configfs-tsm (Documentation/ABI/testing/configfs-tsm, Linux 6.7
 * and later) and prints the envelope `verdict verify --report` and `POST /v1/attest` (as
 * {"evidence": {"tsm": ...}}) read.
 *
 * The configfs protocol (one report entry per request, made by us and removed afterwards):
 *   mkdir ROOT/verdict-PID-N    a fresh entry; the kernel populates its attributes
 *   read provider               "sev_guest\n", else this is not an SEV-SNP guest
 *   read generation             G (0 for a fresh entry)
 *   write inblob                the 64 REPORT_DATA bytes; the kernel advances generation to G+1
 *   read outblob, auxblob       the report (made on this read) and the certificate table
 *   read generation             must be G+1: anything else means another process wrote to
 *                               the entry between our write and our reads, and the report may
 *                               not be ours (the kernel's race guard)
 *   rmdir the entry
 * The report must also carry our REPORT_DATA (vd_evidence_tsm_build checks it), which catches
 * a racing write the generation count alone could not attribute.
 *
 * Attribute reads are bounded and only of regular files (vd_file_read): a tree that is not
 * configfs cannot make this block.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "verdict/base64.h"
#include "verdict/evidence.h"
#include "cli.h"

#define TSM_DEFAULT_ROOT "/sys/kernel/config/tsm/report"
#define ATTR_SMALL_MAX   4096 /* provider, generation: configfs reports a page as their size */
#define ENTRY_TRIES      16

static void usage(FILE *f)
{
    fprintf(f,
            "usage: verdict evidence collect [--nonce B64] [--runtime-data FILE]\n"
            "                                [--binding raw|sha512|sha256-prefix] [--out FILE]\n"
            "                                [--tsm-dir DIR]\n"
            "\n"
            "Inside an AMD SEV-SNP guest: get an attestation report through the kernel's\n"
            "configfs-tsm interface and print the envelope {\"provider\":\"sev_guest\",\n"
            "\"outblob\":B64,\"auxblob\":B64} that `verdict verify --report` reads and\n"
            "POST /v1/attest accepts as {\"evidence\": {\"tsm\": ENVELOPE}}.\n"
            "\n"
            "  --nonce B64          the verifier's challenge (base64 or base64url)\n"
            "  --runtime-data FILE  bytes bound with the nonce (e.g. a public key)\n"
            "  --binding MODE       how REPORT_DATA binds them, the policy's freshness mode:\n"
            "                       raw (default): nonce || runtime data, zero-padded to 64\n"
            "                       bytes, as verify --nonce and /v1/attest check without a\n"
            "                       policy; sha512: SHA-512(nonce || runtime data);\n"
            "                       sha256-prefix: SHA-256(nonce || runtime data), 32 bytes\n"
            "  --out FILE           write the envelope to FILE instead of stdout\n"
            "  --tsm-dir DIR        the configfs-tsm report directory\n"
            "                       (default " TSM_DEFAULT_ROOT ")\n"
            "\n"
            "Needs Linux 6.7 or later with configfs mounted, and root (or write access to DIR).\n"
            "exit codes: 0 collected, 2 usage error or no report could be collected\n");
}

/* ---- configfs attributes ---- */

static vd_err_t attr_path(char *buf, size_t n, const char *entry, const char *attr, vd_error_t *err)
{
    int w = snprintf(buf, n, "%s/%s", entry, attr);
    if (w < 0 || (size_t)w >= n) {
        return VD_ERR(err, VD_E_USAGE, "--tsm-dir: path too long");
    }
    return VD_OK;
}

static vd_err_t attr_read(const char *entry, const char *attr, size_t max, uint8_t **buf,
                          size_t *len, vd_error_t *err)
{
    char path[4096];
    vd_err_t rc = attr_path(path, sizeof(path), entry, attr, err);
    if (rc != VD_OK) {
        return rc;
    }
    return vd_file_read(path, max, buf, len, err);
}

static vd_err_t attr_write(const char *entry, const char *attr, const uint8_t *p, size_t len,
                           vd_error_t *err)
{
    char path[4096];
    struct stat st;
    vd_err_t rc = attr_path(path, sizeof(path), entry, attr, err);
    if (rc != VD_OK) {
        return rc;
    }
    /* No O_CREAT: the kernel made the attribute; in anything else it must exist already. */
    int fd = open(path, O_WRONLY | O_TRUNC | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (fd < 0) {
        return VD_ERR(err, VD_E_IO, "%s: %s", path, vd_strerror(errno));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return VD_ERR(err, VD_E_IO, "%s: not a configfs attribute", path);
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, p + off, len - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            int e = errno;
            close(fd);
            return VD_ERR(err, VD_E_IO, "%s: write: %s", path,
                          w < 0 ? vd_strerror(e) : "no progress");
        }
        off += (size_t)w;
    }
    /* configfs commits a binary attribute when it is closed. */
    if (close(fd) != 0) {
        return VD_ERR(err, VD_E_IO, "%s: %s", path, vd_strerror(errno));
    }
    return VD_OK;
}

/* The decimal `generation` attribute (one trailing newline allowed). */
static vd_err_t read_generation(const char *entry, uint64_t *out, vd_error_t *err)
{
    uint8_t *b = NULL;
    size_t n = 0;
    vd_err_t rc = attr_read(entry, "generation", ATTR_SMALL_MAX, &b, &n, err);
    if (rc != VD_OK) {
        return rc;
    }
    if (n > 0 && b[n - 1] == '\n') {
        n--;
    }
    uint64_t v = 0;
    int ok = n > 0 && n <= 20;
    for (size_t i = 0; ok && i < n; i++) {
        unsigned d = (unsigned)(b[i] - '0');
        if (b[i] < '0' || b[i] > '9' || v > (UINT64_MAX - d) / 10) {
            ok = 0;
        } else {
            v = v * 10 + d;
        }
    }
    free(b);
    if (!ok) {
        return VD_ERR(err, VD_E_MALFORMED, "%s/generation is not a decimal number", entry);
    }
    *out = v;
    return VD_OK;
}

/* mkdir a fresh entry under root into `entry`. */
static vd_err_t make_entry(const char *root, char *entry, size_t n, vd_error_t *err)
{
    struct stat st;
    if (stat(root, &st) != 0) {
        return VD_ERR(err, VD_E_IO,
                      "%s: %s (configfs-tsm needs Linux 6.7 or later in an SEV-SNP guest, and "
                      "configfs mounted: mount -t configfs none /sys/kernel/config)",
                      root, vd_strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        return VD_ERR(err, VD_E_IO, "%s: not a directory", root);
    }
    for (int i = 0; i < ENTRY_TRIES; i++) {
        int w = snprintf(entry, n, "%s/verdict-%ld-%d", root, (long)getpid(), i);
        if (w < 0 || (size_t)w >= n) {
            return VD_ERR(err, VD_E_USAGE, "--tsm-dir: path too long");
        }
        if (mkdir(entry, 0700) == 0) {
            return VD_OK;
        }
        if (errno != EEXIST) {
            return VD_ERR(err, VD_E_IO, "cannot create a report entry in %s: %s%s", root,
                          vd_strerror(errno),
                          errno == EACCES || errno == EPERM ? " (run as root)" : "");
        }
    }
    return VD_ERR(err, VD_E_IO, "cannot create a report entry in %s: %d names taken", root,
                  ENTRY_TRIES);
}

static void step(vd_tsm_hook_fn hook, void *arg, vd_tsm_step_t s, const char *entry,
                 const char *attr)
{
    if (hook != NULL) {
        hook(arg, s, entry, attr);
    }
}

vd_err_t vd_cli_tsm_collect(const char *root, const uint8_t report_data[64], vd_tsm_hook_fn hook,
                            void *hook_arg, char **json, vd_error_t *err)
{
    char entry[4096];
    uint8_t *provider = NULL, *outblob = NULL, *auxblob = NULL;
    size_t provider_len = 0, outblob_len = 0, auxblob_len = 0;
    uint64_t g0 = 0, g1 = 0;
    char path[4096];
    struct stat st;
    *json = NULL;
    vd_err_t rc = make_entry(root, entry, sizeof(entry), err);
    if (rc != VD_OK) {
        return rc;
    }
    step(hook, hook_arg, VD_TSM_MKDIR, entry, NULL);

    if ((rc = attr_path(path, sizeof(path), entry, "provider", err)) != VD_OK) {
        goto out;
    }
    if (stat(path, &st) != 0 && errno == ENOENT) {
        rc = VD_ERR(err, VD_E_UNSUPPORTED,
                    "%s: the report entry has no provider: no confidential-computing guest "
                    "driver is loaded (sev-guest for AMD SEV-SNP)",
                    root);
        goto out;
    }
    if ((rc = attr_read(entry, "provider", ATTR_SMALL_MAX, &provider, &provider_len, err)) !=
        VD_OK) {
        goto out;
    }
    step(hook, hook_arg, VD_TSM_READ, entry, "provider");
    /* A NUL-terminated copy for vd_evidence_tsm_build; an embedded NUL is not sev_guest. */
    char prov[64];
    snprintf(prov, sizeof(prov), "%.*s", (int)(provider_len < 63 ? provider_len : 63),
             (const char *)provider);
    if (memchr(provider, 0, provider_len) != NULL || provider_len > 63 ||
        (strcmp(prov, "sev_guest") != 0 && strcmp(prov, "sev_guest\n") != 0)) {
        rc = VD_ERR(err, VD_E_UNSUPPORTED,
                    "the configfs-tsm provider is not sev_guest (AMD SEV-SNP): verdict "
                    "verifies SEV-SNP evidence only");
        goto out;
    }

    if ((rc = read_generation(entry, &g0, err)) != VD_OK) {
        goto out;
    }
    step(hook, hook_arg, VD_TSM_READ, entry, "generation");
    if ((rc = attr_write(entry, "inblob", report_data, 64, err)) != VD_OK) {
        goto out;
    }
    step(hook, hook_arg, VD_TSM_WROTE, entry, "inblob");
    if ((rc = attr_read(entry, "outblob", VD_EVIDENCE_MAX_BYTES, &outblob, &outblob_len, err)) !=
        VD_OK) {
        goto out;
    }
    step(hook, hook_arg, VD_TSM_READ, entry, "outblob");
    if ((rc = attr_path(path, sizeof(path), entry, "auxblob", err)) != VD_OK) {
        goto out;
    }
    if (stat(path, &st) == 0 || errno != ENOENT) {
        if ((rc = attr_read(entry, "auxblob", VD_EVIDENCE_MAX_BYTES, &auxblob, &auxblob_len,
                            err)) != VD_OK) {
            goto out;
        }
        step(hook, hook_arg, VD_TSM_READ, entry, "auxblob");
    }
    if ((rc = read_generation(entry, &g1, err)) != VD_OK) {
        goto out;
    }
    if (g0 == UINT64_MAX || g1 != g0 + 1) {
        rc = VD_ERR(err, VD_E_MALFORMED,
                    "%s/generation went from %" PRIu64 " to %" PRIu64 " around our one write: "
                    "another process wrote to this report entry; collect again",
                    entry, g0, g1);
        goto out;
    }
    rc = vd_evidence_tsm_build(prov, outblob, outblob_len, auxblob, auxblob_len, report_data, json,
                               err);
out:
    /* configfs frees the entry; on a plain directory a test populated, this fails harmlessly. */
    (void)rmdir(entry);
    free(provider);
    free(outblob);
    free(auxblob);
    return rc;
}

/* ---- the command ---- */

static int write_out(const char *path, const char *json)
{
    FILE *f = path != NULL ? fopen(path, "w") : stdout;
    if (f == NULL) {
        fprintf(stderr, "verdict evidence collect: --out %s: %s\n", path, vd_strerror(errno));
        return -1;
    }
    int ok = fputs(json, f) >= 0 && fputc('\n', f) != EOF;
    if (path != NULL) {
        ok = fclose(f) == 0 && ok;
    } else {
        ok = fflush(f) == 0 && ok;
    }
    if (!ok) {
        fprintf(stderr, "verdict evidence collect: cannot write %s\n",
                path != NULL ? path : "the envelope");
        return -1;
    }
    return 0;
}

static int collect(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"nonce", required_argument, NULL, 'n'},
        {"runtime-data", required_argument, NULL, 'r'},
        {"binding", required_argument, NULL, 'b'},
        {"out", required_argument, NULL, 'o'},
        {"tsm-dir", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "verdict evidence collect";
    const char *nonce_arg = NULL, *rd_path = NULL, *out_path = NULL, *root = TSM_DEFAULT_ROOT;
    vd_rdata_mode_t mode = VD_RDATA_RAW;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            nonce_arg = optarg;
            break;
        case 'r':
            rd_path = optarg;
            break;
        case 'b':
            if (vd_rdata_mode_from_name(optarg, &mode) != 0) {
                return vd_cli_usage_error(cmd,
                                          "--binding: '%s' is not raw, sha512 or "
                                          "sha256-prefix",
                                          optarg);
            }
            break;
        case 'o':
            out_path = optarg;
            break;
        case 't':
            root = optarg;
            break;
        case 'h':
            usage(stdout);
            return VD_EXIT_OK;
        default:
            return vd_cli_usage_error(cmd, "unknown option");
        }
    }
    if (optind < argc) {
        return vd_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    }

    int code = VD_EXIT_USAGE;
    vd_error_t err = {0};
    uint8_t nonce[VD_APPRAISE_NONCE_MAX + 3], *rd = NULL, report_data[64];
    size_t nonce_len = 0, rd_len = 0;
    char *json = NULL;
    if (nonce_arg != NULL) {
        size_t al = strlen(nonce_arg);
        if (al == 0 || vd_base64_decoded_max(al) > sizeof(nonce) ||
            vd_base64_decode(nonce_arg, al, nonce, &nonce_len) != 0 || nonce_len == 0 ||
            nonce_len > VD_APPRAISE_NONCE_MAX) {
            return vd_cli_usage_error(cmd, "--nonce is not base64 of 1..%d bytes",
                                      VD_APPRAISE_NONCE_MAX);
        }
    }
    if (rd_path != NULL &&
        vd_file_read(rd_path, VD_APPRAISE_RUNTIME_MAX, &rd, &rd_len, &err) != VD_OK) {
        fprintf(stderr, "%s: --runtime-data %s\n", cmd, err.msg);
        goto out;
    }
    if (vd_evidence_report_data(mode, nonce_arg != NULL ? nonce : NULL, nonce_len, rd, rd_len,
                                report_data, &err) != VD_OK ||
        vd_cli_tsm_collect(root, report_data, NULL, NULL, &json, &err) != VD_OK) {
        fprintf(stderr, "%s: %s\n", cmd, err.msg);
        goto out;
    }
    if (write_out(out_path, json) == 0) {
        code = VD_EXIT_OK;
    }
out:
    free(rd);
    free(json);
    return code;
}

int vd_cli_evidence(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? VD_EXIT_USAGE : VD_EXIT_OK;
    }
    if (strcmp(argv[1], "collect") == 0) {
        return collect(argc - 1, argv + 1);
    }
    return vd_cli_usage_error("verdict evidence", "unknown subcommand '%s'", argv[1]);
}
