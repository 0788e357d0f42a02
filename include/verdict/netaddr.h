/*
 * verdict: peer addresses as the transport gives them ("v4", "v4:port", "v6", "[v6]:port").
 * Pure: no I/O, no name lookups.
 */
#ifndef verdict__netaddr_h
#define verdict__netaddr_h

#include <stdint.h>

/** The address in `text` as 16 bytes (IPv4 mapped into IPv6, ::ffff:a.b.c.d), the port
 * ignored: 1, or 0 (addr zeroed) when `text` is not an IP address. */
int vd_netaddr_parse(const char *text, uint8_t addr[16]);

/** 1 when `a` and `b` are the same IP address, whatever the ports ("192.0.2.1:443" and
 * "192.0.2.1", "[2001:db8::1]:80" and "2001:db8::1"); 0 otherwise or when either is not one. */
int vd_netaddr_same(const char *a, const char *b);

#endif
