package domain

import "net/netip"

// ipv6LimitBits is the prefix an IPv6 client is limited by: a /64 is the
// smallest network an ISP hands out (RFC 6177), and any host of it may
// take as many of its 2^64 addresses as it likes.
const ipv6LimitBits = 64

// LimitSubject is what per-address limits count a client address under:
// an IPv4 address itself, an IPv6 address's /64. Anything else (no
// address at all) counts under itself.
func LimitSubject(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is4() {
		return addr.String()
	}
	return netip.PrefixFrom(addr, ipv6LimitBits).Masked().String()
}
