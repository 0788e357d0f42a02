/*
 * libFuzzer target: HTTP/2 frames on an h2c connection of a real vd_server (server_harness.h).
 * The harness sends the client connection preface, then the input (frames: SETTINGS, HEADERS
 * with HPACK blocks, CONTINUATION, DATA, WINDOW_UPDATE, RST_STREAM, PRIORITY, PING, GOAWAY...),
 * exercising nghttp2's session and verdict's callbacks (h2.c: header arena, limits, bodies,
 * resets, the rapid-reset budget, answers). Aborts if the server crashes, stops accepting,
 * keeps the connection after the client left, or does not start with its SETTINGS frame.
 */
#include "server_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    uint8_t head[16];
    size_t n = fz_exchange((const uint8_t *)preface, 24, data, size, head, sizeof(head));
    if (n > 0 && (n < 9 || head[3] != 0x04 || (head[4] & 0x01) != 0)) {
        abort(); /* the first frame must be the server's SETTINGS (not an ACK) */
    }
    return 0;
}
