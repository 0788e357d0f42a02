/*
 * libFuzzer target: bytes on a cleartext connection of a real vd_server (server_harness.h):
 * the protocol sniff, HTTP/1.1 parsing with http-parser (request line, headers, chunked and
 * Content-Length bodies, pipelining, limits), and the answers. Aborts if the server crashes,
 * stops accepting, keeps a connection after the client left, or answers something that is not
 * an HTTP/1.x status line (or, after the h2c preface, not a SETTINGS frame).
 */
#include "server_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    uint8_t head[16];
    size_t n = fz_exchange(NULL, 0, data, size, head, sizeof(head));
    if (n == 0) {
        return 0;
    }
    if (size >= 24 && memcmp(data, preface, 24) == 0) {
        if (n < 4 || head[3] != 0x04) { /* the server's SETTINGS comes first */
            abort();
        }
    } else if (n < 9 || memcmp(head, "HTTP/1.", 7) != 0) {
        abort();
    }
    return 0;
}
