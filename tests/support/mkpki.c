/*
 * mkpki: write a test PKI and a synthetic signed report to a directory, for end-to-end tests of
 * the real binary (tests/cli). Never a trust anchor unless a test passes --extra-roots.
 *
 * usage: mkpki DIR [Milan|Genoa|Turin [MEASUREMENT]]
 * writes DIR/ark.pem, DIR/chain.pem (ASK then ARK), DIR/vcek.pem, DIR/vcek_key.pem (its private
 * key), DIR/report.bin (v3, or v5 on Turin, signed by the VCEK), DIR/expired_vcek.pem (same key,
 * expired a year ago). MEASUREMENT (96 hex digits) replaces the reports' patterned one.
 *
 * usage: mkpki --sign DIR REPORT_DATA_HEX OUT
 * writes OUT: DIR/report.bin with REPORT_DATA set to the hex (zero-padded to 64 bytes) and signed
 * again with DIR/vcek_key.pem, for tests that bind a nonce the server made up at run time.
 *
 * usage: mkpki --vtpm DIR OUT [--version 1|2] [--extra HEX | --challenge B64 [--runtime-data F]]
 *                             [--user-data HEX] [--pcr N=HEX]... [--secure-boot-off]
 * writes OUT (- for stdout): Azure vTPM evidence JSON (testvtpm.h) around DIR/report.bin, signed by
 * the test VCEK, with the AK DIR/ak_key.pem (made on first use: one VM, one AK). The quote's
 * extraData is --extra, or the binding of a verdict challenge and runtime data computed by
 * verdict's own rule (vd_vtpm_challenge_binding); v2 user-data is the same unless --user-data says
 * otherwise.
 * --nonce is --challenge (the arguments a collector gets, as for `verdict evidence collect`).
 *
 * usage: mkpki --many DIR N
 * writes DIR/ark.pem and DIR/bodies.jsonl: N /v1/attest bodies, one a line, each from a
 * different Milan chip (its own VCEK key), {"evidence": {"report": base64, "certs": [VCEK, ASK,
 * ARK PEM]}}, for the memory benchmark (bench/bench_memory.sh: N distinct endorsement keys).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <getopt.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "verdict/base64.h"
#include "verdict/bytes.h"
#include "verdict/vtpm.h"
#include "testpki.h"
#include "testvtpm.h"

static int write_file(const char *dir, const char *name, const void *p, size_t len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s%s%s", dir != NULL ? dir : "", dir != NULL ? "/" : "", name);
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && fwrite(p, 1, len, f) == len;
    if (f != NULL && fclose(f) != 0) {
        ok = 0;
    }
    return ok ? 0 : -1;
}

static int write_pem(const char *dir, const char *name, X509 *a, X509 *b)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && PEM_write_X509(f, a) == 1 && (b == NULL || PEM_write_X509(f, b) == 1);
    if (f != NULL && fclose(f) != 0) {
        ok = 0;
    }
    return ok ? 0 : -1;
}

/* DIR/report.bin and the key that signed it (DIR/vcek_key.pem); 0, or -1. */
static int load_report(const char *dir, uint8_t report[VD_SNP_REPORT_SIZE], EVP_PKEY **key)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/report.bin", dir);
    FILE *f = fopen(path, "rb");
    size_t n = f != NULL ? fread(report, 1, VD_SNP_REPORT_SIZE, f) : 0;
    if (f != NULL) {
        fclose(f);
    }
    snprintf(path, sizeof(path), "%s/vcek_key.pem", dir);
    f = fopen(path, "rb");
    *key = f != NULL ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f != NULL) {
        fclose(f);
    }
    return n == VD_SNP_REPORT_SIZE && *key != NULL ? 0 : -1;
}

/* --sign DIR HEX OUT: a copy of DIR/report.bin binding HEX in REPORT_DATA, signed again. */
static int sign_mode(const char *dir, const char *hex, const char *out)
{
    uint8_t report[VD_SNP_REPORT_SIZE], data[64] = {0};
    size_t data_len = 0;
    EVP_PKEY *key = NULL;
    int rc = load_report(dir, report, &key) != 0 ||
             vd_hex_decode(hex, strlen(hex), data, sizeof(data), &data_len) != 0;
    if (!rc) {
        memcpy(report + 0x50, data, sizeof(data));
        rc = vd_testreport_sign(report, key) != 0;
    }
    rc = rc || write_file(NULL, out, report, sizeof(report)) != 0;
    EVP_PKEY_free(key);
    if (rc) {
        fprintf(stderr, "mkpki --sign: cannot make %s from %s\n", out, dir);
    }
    return rc ? 1 : 0;
}

/* DIR/ak_key.pem, generated and written when it does not exist yet. NULL on failure. */
static EVP_PKEY *load_or_make_ak(const char *dir)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/ak_key.pem", dir);
    FILE *f = fopen(path, "rb");
    EVP_PKEY *ak = NULL;
    if (f != NULL) {
        ak = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
        return ak;
    }
    ak = vd_testvtpm_new_ak();
    f = ak != NULL ? fopen(path, "wb") : NULL;
    int ok = f != NULL && PEM_write_PrivateKey(f, ak, NULL, NULL, 0, NULL, NULL) == 1;
    if (f != NULL && fclose(f) != 0) {
        ok = 0;
    }
    if (!ok) {
        EVP_PKEY_free(ak);
        return NULL;
    }
    return ak;
}

static X509 *load_cert(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    X509 *x = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f != NULL) {
        fclose(f);
    }
    return x;
}

static int read_small(const char *path, uint8_t *buf, size_t cap, size_t *len)
{
    FILE *f = fopen(path, "rb");
    *len = f != NULL ? fread(buf, 1, cap, f) : 0;
    int ok = f != NULL && !ferror(f) && feof(f);
    if (f != NULL) {
        fclose(f);
    }
    return ok ? 0 : -1;
}

static int vtpm_usage(const char *why)
{
    fprintf(stderr,
            "mkpki --vtpm: %s\nusage: mkpki --vtpm DIR OUT [--version 1|2] [--extra HEX | "
            "--challenge B64 [--runtime-data FILE]] [--user-data HEX] [--pcr N=HEX]... "
            "[--secure-boot-off]\n",
            why);
    return 2;
}

/* --vtpm DIR OUT [options]: Azure vTPM evidence bound to a value made up at run time. */
static int vtpm_mode(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"version", required_argument, NULL, 'v'},
        {"extra", required_argument, NULL, 'x'},
        {"challenge", required_argument, NULL, 'c'},
        {"nonce", required_argument, NULL, 'c'},
        {"runtime-data", required_argument, NULL, 'r'},
        {"user-data", required_argument, NULL, 'u'},
        {"pcr", required_argument, NULL, 'p'},
        {"secure-boot-off", no_argument, NULL, 'b'},
        {NULL, 0, NULL, 0},
    };
    static uint8_t rd[256 * 1024];
    uint8_t extra[64], user[64], challenge[128], bound[VD_VTPM_CHALLENGE_BIND_LEN];
    uint8_t pcrs[24][32];
    size_t extra_len = 0, user_len = 0, challenge_len = 0, rd_len = 0;
    const char *challenge_b64 = NULL, *rd_path = NULL;
    int have_extra = 0, have_user = 0, opt;
    vd_testvtpm_opts_t o;
    memset(&o, 0, sizeof(o));
    for (unsigned i = 0; i < 24; i++) {
        vd_testvtpm_pcr(i, pcrs[i]);
    }
    if (argc < 4) {
        return vtpm_usage("DIR and OUT are needed");
    }
    const char *dir = argv[2], *out = argv[3];
    optind = 4;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        size_t n = 0;
        char *end = NULL;
        switch (opt) {
        case 'v':
            o.version = atoi(optarg);
            if (o.version != 1 && o.version != 2) {
                return vtpm_usage("--version is 1 or 2");
            }
            break;
        case 'x':
            if (vd_hex_decode(optarg, strlen(optarg), extra, sizeof(extra), &extra_len) != 0) {
                return vtpm_usage("--extra is hex of at most 64 bytes");
            }
            have_extra = 1;
            break;
        case 'c':
            challenge_b64 = optarg;
            break;
        case 'r':
            rd_path = optarg;
            break;
        case 'u':
            if (vd_hex_decode(optarg, strlen(optarg), user, sizeof(user), &user_len) != 0) {
                return vtpm_usage("--user-data is hex of at most 64 bytes");
            }
            have_user = 1;
            break;
        case 'p': {
            unsigned long i = strtoul(optarg, &end, 10);
            if (end == optarg || *end != '=' || i >= 24 ||
                vd_hex_decode(end + 1, strlen(end + 1), pcrs[i], 32, &n) != 0 || n != 32) {
                return vtpm_usage("--pcr is N=HEX (N 0..23, 32 bytes)");
            }
            break;
        }
        case 'b':
            o.secure_boot_off = 1;
            break;
        default:
            return vtpm_usage("unknown option");
        }
    }
    if (have_extra == (challenge_b64 != NULL) || (rd_path != NULL && challenge_b64 == NULL)) {
        return vtpm_usage("give --extra, or --challenge (with --runtime-data, optionally)");
    }
    if (challenge_b64 != NULL) {
        if (vd_base64_decoded_max(strlen(challenge_b64)) > sizeof(challenge) ||
            vd_base64_decode(challenge_b64, strlen(challenge_b64), challenge, &challenge_len) !=
                0) {
            return vtpm_usage("--challenge is not base64");
        }
        if (rd_path != NULL && read_small(rd_path, rd, sizeof(rd), &rd_len) != 0) {
            return vtpm_usage("--runtime-data cannot be read");
        }
        vd_error_t err = {0};
        if (vd_vtpm_challenge_binding(challenge, challenge_len, rd_path != NULL ? rd : NULL, rd_len,
                                      bound, &err) != VD_OK) {
            return vtpm_usage(err.msg);
        }
        memcpy(extra, bound, sizeof(bound));
        extra_len = sizeof(bound);
    }
    o.extra = extra;
    o.extra_len = extra_len;
    if (have_user) {
        o.user_data = user;
        o.user_data_len = user_len;
    }
    o.pcrs = (const uint8_t(*)[32])pcrs;
    uint8_t report[VD_SNP_REPORT_SIZE];
    EVP_PKEY *key = NULL, *ak = NULL;
    X509 *vcek = NULL;
    char *json = NULL;
    int rc = load_report(dir, report, &key) != 0 || (vcek = load_cert(dir, "vcek.pem")) == NULL ||
             (ak = load_or_make_ak(dir)) == NULL ||
             (json = vd_testvtpm_evidence(report, key, vcek, ak, &o)) == NULL ||
             (strcmp(out, "-") == 0
                  ? fwrite(json, 1, strlen(json), stdout) != strlen(json) || fflush(stdout) != 0
                  : write_file(NULL, out, json, strlen(json)) != 0);
    if (rc) {
        fprintf(stderr, "mkpki --vtpm: cannot make %s from %s\n", out, dir);
    }
    free(json);
    X509_free(vcek);
    EVP_PKEY_free(ak);
    EVP_PKEY_free(key);
    return rc ? 1 : 0;
}

/* `x` as PEM text in a JSON string; NULL on failure. */
static json_t *pem_json(X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data = NULL;
    long len = b != NULL && PEM_write_bio_X509(b, x) == 1 ? BIO_get_mem_data(b, &data) : 0;
    json_t *s = len > 0 ? json_stringn(data, (size_t)len) : NULL;
    BIO_free(b);
    return s;
}

/* --many DIR N: N bodies from N chips of one test PKI (see the usage above). */
static int many_mode(const char *dir, long n)
{
    char path[1024];
    vd_testpki_t *pki = vd_testpki_new(VD_PRODUCT_MILAN);
    snprintf(path, sizeof(path), "%s/bodies.jsonl", dir);
    FILE *f = pki != NULL ? fopen(path, "w") : NULL;
    int rc = f == NULL || write_pem(dir, "ark.pem", vd_testpki_ark(pki), NULL) != 0;
    json_t *ask = rc ? NULL : pem_json(vd_testpki_ask(pki));
    json_t *ark = rc ? NULL : pem_json(vd_testpki_ark(pki));
    uint64_t tcb_raw = vd_testreport_tcb_raw(VD_PRODUCT_MILAN, 0, 3, 0, 8, 115);
    rc = rc || ask == NULL || ark == NULL;
    for (long i = 0; !rc && i < n; i++) {
        uint8_t chip[64], report[VD_SNP_REPORT_SIZE];
        char b64[2 * VD_SNP_REPORT_SIZE];
        for (size_t j = 0; j < sizeof(chip); j++) {
            chip[j] = (uint8_t)(0xC0 + j);
        }
        memcpy(chip, &i, sizeof(i)); /* distinct chips */
        vd_testpki_leaf_opts_t o;
        memset(&o, 0, sizeof(o));
        o.product_name = "Milan-B0";
        o.tcb = vd_tcb_decode(tcb_raw, VD_PRODUCT_MILAN);
        o.hwid = chip;
        o.hwid_len = sizeof(chip);
        EVP_PKEY *key = NULL;
        X509 *vcek = vd_testpki_issue_leaf(pki, &o, &key);
        vd_testreport_init(report, 3, VD_PRODUCT_MILAN, tcb_raw, chip);
        rc = vcek == NULL || vd_testreport_sign(report, key) != 0;
        if (!rc) {
            EVP_EncodeBlock((unsigned char *)b64, report, (int)sizeof(report));
            json_t *body = json_pack("{s:{s:s, s:[o, O, O]}}", "evidence", "report", b64, "certs",
                                     pem_json(vcek), ask, ark);
            char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
            rc = text == NULL || fprintf(f, "%s\n", text) < 0;
            free(text);
            json_decref(body);
        }
        X509_free(vcek);
        EVP_PKEY_free(key);
    }
    if (f != NULL && fclose(f) != 0) {
        rc = 1;
    }
    json_decref(ask);
    json_decref(ark);
    vd_testpki_free(&pki);
    if (rc) {
        fprintf(stderr, "mkpki --many: failed writing to %s\n", dir);
    }
    return rc ? 1 : 0;
}

static int write_key(const char *dir, EVP_PKEY *key)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/vcek_key.pem", dir);
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1;
    if (f != NULL && fclose(f) != 0) {
        ok = 0;
    }
    return ok ? 0 : -1;
}

static int write_crl(const char *dir, const char *name, X509_CRL *crl, int pem)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && (pem ? PEM_write_X509_CRL(f, crl) == 1 : i2d_X509_CRL_fp(f, crl) == 1);
    if (f != NULL && fclose(f) != 0) {
        ok = 0;
    }
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "--sign") == 0) {
        return sign_mode(argv[2], argv[3], argv[4]);
    }
    if (argc > 1 && strcmp(argv[1], "--vtpm") == 0) {
        return vtpm_mode(argc, argv);
    }
    if (argc == 4 && strcmp(argv[1], "--many") == 0) {
        return many_mode(argv[2], strtol(argv[3], NULL, 10));
    }
    if (argc < 2) {
        fprintf(stderr, "usage: mkpki DIR [Milan|Genoa|Turin [MEASUREMENT]]\n");
        return 2;
    }
    vd_product_t product = argc > 2 ? vd_product_from_name(argv[2]) : VD_PRODUCT_MILAN;
    if (product == VD_PRODUCT_UNKNOWN) {
        fprintf(stderr, "mkpki: unknown product %s\n", argv[2]);
        return 2;
    }
    uint8_t measurement[48];
    size_t mlen = 0;
    if (argc > 3 && (strlen(argv[3]) != 96 ||
                     vd_hex_decode(argv[3], 96, measurement, sizeof(measurement), &mlen) != 0)) {
        fprintf(stderr, "mkpki: MEASUREMENT must be 96 hex digits\n");
        return 2;
    }
    vd_testpki_t *pki = vd_testpki_new(product);
    if (pki == NULL) {
        fprintf(stderr, "mkpki: cannot generate the PKI\n");
        return 1;
    }
    uint8_t chip[64];
    for (size_t i = 0; i < sizeof(chip); i++) {
        chip[i] = (uint8_t)(0xA0 + i);
    }
    int turin = product == VD_PRODUCT_TURIN;
    if (turin) {
        memset(chip + 8, 0, 56); /* Turin: 8-byte chip ID */
    }
    uint64_t tcb_raw = vd_testreport_tcb_raw(product, 1, 3, 0, 8, 115);
    vd_testpki_leaf_opts_t o;
    memset(&o, 0, sizeof(o));
    o.product_name = product == VD_PRODUCT_MILAN ? "Milan-B0" : vd_product_name(product);
    o.tcb = vd_tcb_decode(tcb_raw, product);
    o.hwid = chip;
    o.hwid_len = turin ? 8 : 64;
    EVP_PKEY *key = NULL;
    X509 *vcek = vd_testpki_issue_leaf(pki, &o, &key);
    o.not_before = time(NULL) - 3 * 365 * 24 * 3600L;
    o.not_after = time(NULL) - 365 * 24 * 3600L;
    EVP_PKEY *key2 = NULL;
    X509 *expired = vd_testpki_issue_leaf(pki, &o, &key2);
    uint8_t report[VD_SNP_REPORT_SIZE];
    vd_testreport_init(report, turin ? 5 : 3, product, tcb_raw, chip);
    if (mlen == 48) {
        memcpy(report + 0x090, measurement, 48);
    }
    int rc = vcek == NULL || expired == NULL || vd_testreport_sign(report, key) != 0 ||
             write_pem(argv[1], "ark.pem", vd_testpki_ark(pki), NULL) != 0 ||
             write_pem(argv[1], "chain.pem", vd_testpki_ask(pki), vd_testpki_ark(pki)) != 0 ||
             write_pem(argv[1], "vcek.pem", vcek, NULL) != 0 || write_key(argv[1], key) != 0 ||
             write_pem(argv[1], "expired_vcek.pem", expired, NULL) != 0 ||
             write_file(argv[1], "report.bin", report, sizeof(report)) != 0;
    /* The expired VCEK has a different key: re-sign a second report with it. */
    vd_testreport_init(report, turin ? 5 : 3, product, tcb_raw, chip);
    rc = rc || vd_testreport_sign(report, key2) != 0 ||
         write_file(argv[1], "report_expired.bin", report, sizeof(report)) != 0;
    /* CRLs from the ARK (issue #7): one listing the ASK, one listing nothing (PEM and DER). */
    long ask_serial = ASN1_INTEGER_get(X509_get0_serialNumber(vd_testpki_ask(pki)));
    vd_testpki_crl_opts_t co;
    memset(&co, 0, sizeof(co));
    co.serials = &ask_serial;
    co.n_serials = 1;
    co.number = 2;
    X509_CRL *revoked = vd_testpki_crl(pki, &co);
    co.n_serials = 0;
    co.number = 1;
    co.this_update = time(NULL) - 7 * 24 * 3600L;
    X509_CRL *clean = vd_testpki_crl(pki, &co);
    rc = rc || revoked == NULL || clean == NULL ||
         write_crl(argv[1], "crl_revoked.pem", revoked, 1) != 0 ||
         write_crl(argv[1], "crl_revoked.der", revoked, 0) != 0 ||
         write_crl(argv[1], "crl_clean.pem", clean, 1) != 0;
    X509_CRL_free(revoked);
    X509_CRL_free(clean);
    X509_free(vcek);
    X509_free(expired);
    EVP_PKEY_free(key);
    EVP_PKEY_free(key2);
    vd_testpki_free(&pki);
    if (rc) {
        fprintf(stderr, "mkpki: failed writing to %s\n", argv[1]);
        return 1;
    }
    return 0;
}
