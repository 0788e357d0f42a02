/*
 * verdict benchmark: `verdict measure` against the hashing floor.
 *
 * A 4 MiB OVMF image (random bytes ending in an AmdSev-shaped footer table and SEV metadata),
 * a 10 MiB kernel and a 50 MiB initrd, all random and in memory. Measured in the same run:
 *   - the floor: SHA-384 of the 4 MiB firmware plus SHA-256 of the 60 MiB kernel and initrd,
 *     with OpenSSL EVP in one call each (the least any implementation must hash);
 *   - the measurement: the kernel and initrd through vd_measure_sha256 (in 1 MiB pieces, as
 *     the CLI feeds them), then vd_measure with 4 vCPUs (1024 firmware pages, the metadata
 *     pages, the hashes page, the VMSAs);
 *   - their ratio (target: at most 1.20).
 * Best of N runs each. Usage: bench_measure [RUNS]. Figures depend on the machine.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "verdict/bytes.h"
#include "verdict/measure.h"
#include "../verifier/measure/measure_internal.h"

#define MIB         (1024u * 1024u)
#define OVMF_SIZE   (4 * MIB)
#define KERNEL_SIZE (10 * MIB)
#define INITRD_SIZE (50 * MIB)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fill_random(uint8_t *p, size_t len, uint64_t seed)
{
    uint64_t x = seed | 1;
    for (size_t i = 0; i + 8 <= len; i += 8) { /* xorshift64: fast, not for secrets */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        vd_put_le64(p + i, x);
    }
}

/* Write an OVMF footer table and SEV metadata (the AmdSev fixture's layout) at the end. */
static void make_ovmf(uint8_t *fw, size_t size)
{
    static const uint32_t sections[][3] = {
        {0x800000, 0x9000, 1}, {0x80A000, 0x3000, 1}, {0x80D000, 0x1000, 2},
        {0x80E000, 0x1000, 3}, {0x80F000, 0x1000, 4}, {0x810000, 0x1000, 0x10},
        {0x811000, 0xF000, 1},
    };
    const size_t nsec = sizeof(sections) / sizeof(sections[0]);
    const uint32_t meta_off = 0x600;
    uint8_t *h = fw + size - meta_off;
    memcpy(h, "ASEV", 4); /* NOLINT(bugprone-not-null-terminated-result): a 4-byte magic */
    vd_put_le32(h + 4, (uint32_t)(16 + 12 * nsec));
    vd_put_le32(h + 8, 1);
    vd_put_le32(h + 12, (uint32_t)nsec);
    for (size_t i = 0; i < nsec; i++) {
        for (size_t k = 0; k < 3; k++) {
            vd_put_le32(h + 16 + 12 * i + 4 * k, sections[i][k]);
        }
    }
    /* Entries from the footer backwards: reset block, metadata offset, hashes table. */
    size_t end = size - 32 - 18;
    struct {
        const char *guid;
        uint32_t a, b;
        size_t len;
    } entries[] = {
        {"00f771de-1a7e-4fcb-890e-68c77e2fb44e", 0x80B004, 0, 4},
        {"dc886566-984a-4798-a75e-5585a7bf67cc", meta_off, 0, 4},
        {"7255371f-3a3b-4b04-927b-1da6efa8d454", 0x810C00, 0x400, 8},
    };
    for (size_t i = 0; i < 3; i++) {
        size_t elen = entries[i].len + 18;
        vd_measure__guid(entries[i].guid, fw + end - 16);
        fw[end - 18] = (uint8_t)elen;
        fw[end - 17] = 0;
        vd_put_le32(fw + end - elen, entries[i].a);
        if (entries[i].len == 8) {
            vd_put_le32(fw + end - elen + 4, entries[i].b);
        }
        end -= elen;
    }
    size_t table = size - 32 - end;
    vd_measure__guid("96b582de-1fb2-45f7-baea-a366c55a082d", fw + size - 48);
    fw[size - 50] = (uint8_t)table;
    fw[size - 49] = (uint8_t)(table >> 8);
}

static void digest(const EVP_MD *md, const uint8_t *p, size_t len, uint8_t *out)
{
    if (EVP_Digest(p, len, out, NULL, md, NULL) != 1) {
        fprintf(stderr, "bench: digest failed\n");
        exit(1);
    }
}

static void stream_sha256(vd_measure_sha256_t *h, const uint8_t *p, size_t len, uint8_t out[32])
{
    vd_error_t err = {0};
    for (size_t off = 0; off < len; off += MIB) {
        size_t n = len - off < MIB ? len - off : MIB;
        if (vd_measure_sha256_update(h, p + off, n, &err) != VD_OK) {
            fprintf(stderr, "bench: %s\n", err.msg);
            exit(1);
        }
    }
    if (vd_measure_sha256_final(h, out, &err) != VD_OK) {
        fprintf(stderr, "bench: %s\n", err.msg);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 5;
    if (runs < 1 || runs > 1000) {
        fprintf(stderr, "usage: bench_measure [RUNS 1..1000]\n");
        return 2;
    }
    uint8_t *ovmf = malloc(OVMF_SIZE), *kernel = malloc(KERNEL_SIZE);
    uint8_t *initrd = malloc(INITRD_SIZE);
    vd_measure_sha256_t *h = NULL;
    vd_error_t err = {0};
    if (ovmf == NULL || kernel == NULL || initrd == NULL ||
        vd_measure_sha256_new(&h, &err) != VD_OK) {
        fprintf(stderr, "bench: out of memory\n");
        free(ovmf);
        free(kernel);
        free(initrd);
        return 1;
    }
    fill_random(ovmf, OVMF_SIZE, 1);
    fill_random(kernel, KERNEL_SIZE, 2);
    fill_random(initrd, INITRD_SIZE, 3);
    make_ovmf(ovmf, OVMF_SIZE);

    double best_floor = 1e9, best_measure = 1e9;
    uint8_t d384[48], d256[32], first[48] = {0};
    vd_measure_result_t res;
    for (int r = 0; r < runs; r++) {
        double t0 = now_s();
        digest(EVP_sha384(), ovmf, OVMF_SIZE, d384);
        digest(EVP_sha256(), kernel, KERNEL_SIZE, d256);
        digest(EVP_sha256(), initrd, INITRD_SIZE, d256);
        double t1 = now_s();
        vd_measure_input_t in = {0};
        in.ovmf = ovmf;
        in.ovmf_len = OVMF_SIZE;
        in.vcpus = 4;
        in.vmm = VD_VMM_QEMU;
        in.has_vcpu_sig = 1;
        in.vcpu_sig = 0xA00F11;
        in.guest_features = 0x1;
        in.append = "console=ttyS0 root=/dev/vda1";
        in.has_kernel = in.has_initrd = 1;
        stream_sha256(h, kernel, KERNEL_SIZE, in.kernel_sha256);
        stream_sha256(h, initrd, INITRD_SIZE, in.initrd_sha256);
        if (vd_measure(&in, &res, &err) != VD_OK) {
            fprintf(stderr, "bench: %s\n", err.msg);
            return 1;
        }
        double t2 = now_s();
        if (r == 0) {
            memcpy(first, res.digest, 48);
        } else if (memcmp(first, res.digest, 48) != 0) {
            fprintf(stderr, "bench: the digest changed between runs\n");
            return 1;
        }
        best_floor = t1 - t0 < best_floor ? t1 - t0 : best_floor;
        best_measure = t2 - t1 < best_measure ? t2 - t1 : best_measure;
    }
    double mib = (double)(OVMF_SIZE + KERNEL_SIZE + INITRD_SIZE) / MIB;
    char hex[97];
    printf("inputs: OVMF 4 MiB, kernel 10 MiB, initrd 50 MiB, 4 vCPUs; best of %d runs\n", runs);
    printf("floor   (SHA-384 firmware + SHA-256 kernel, initrd): %8.2f ms  %7.0f MiB/s\n",
           best_floor * 1e3, mib / best_floor);
    printf("measure (vd_measure_sha256 + vd_measure):            %8.2f ms  %7.0f MiB/s\n",
           best_measure * 1e3, mib / best_measure);
    printf("ratio measure/floor: %.3f (target <= 1.20)\n", best_measure / best_floor);
    printf("digest: %s\n", vd_hex_encode(first, 48, hex, sizeof(hex)));
    vd_measure_sha256_free(&h);
    free(ovmf);
    free(kernel);
    free(initrd);
    return 0;
}
