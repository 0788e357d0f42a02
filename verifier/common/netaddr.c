/* Peer addresses (include/verdict/netaddr.h). */
#include <arpa/inet.h>
#include <string.h>

#include "verdict/netaddr.h"

int vd_netaddr_parse(const char *text, uint8_t addr[16])
{
    char host[64];
    const char *h = text;
    size_t n = strlen(text);
    memset(addr, 0, 16);
    if (text[0] == '[') { /* "[v6]:port" */
        const char *end = strchr(text, ']');
        h = text + 1;
        n = end != NULL ? (size_t)(end - h) : n - 1;
    } else {
        const char *colon = strchr(text, ':');
        if (colon != NULL && strchr(colon + 1, ':') == NULL) {
            n = (size_t)(colon - text); /* "v4:port" */
        }
    }
    if (n >= sizeof(host)) {
        return 0;
    }
    memcpy(host, h, n);
    host[n] = '\0';
    struct in_addr a4;
    if (inet_pton(AF_INET, host, &a4) == 1) {
        addr[10] = addr[11] = 0xff;
        memcpy(addr + 12, &a4, 4);
        return 1;
    }
    if (inet_pton(AF_INET6, host, addr) == 1) {
        return 1;
    }
    memset(addr, 0, 16);
    return 0;
}

int vd_netaddr_same(const char *a, const char *b)
{
    uint8_t x[16], y[16];
    return vd_netaddr_parse(a, x) && vd_netaddr_parse(b, y) && memcmp(x, y, 16) == 0;
}
