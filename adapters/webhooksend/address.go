package webhooksend

import (
	"fmt"
	"net/netip"
)

// rangeKind names a range of addresses webhooks may not reach.
type rangeKind struct {
	prefix netip.Prefix
	kind   string
}

// refusedV4 are the IPv4 ranges that are not public unicast (IANA's
// special-purpose registry, RFC 6890 and its updates), the narrower ones
// first so that they name the address.
var refusedV4 = []rangeKind{
	{netip.MustParsePrefix("255.255.255.255/32"), "the broadcast address"},
	{netip.MustParsePrefix("169.254.169.254/32"), "the cloud metadata address"},
	{netip.MustParsePrefix("0.0.0.0/8"), "an unspecified (this-network) address"},
	{netip.MustParsePrefix("10.0.0.0/8"), "a private address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a shared (carrier-grade NAT) address"},
	{netip.MustParsePrefix("127.0.0.0/8"), "a loopback address"},
	{netip.MustParsePrefix("169.254.0.0/16"), "a link-local address"},
	{netip.MustParsePrefix("172.16.0.0/12"), "a private address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol assignment address"},
	{netip.MustParsePrefix("192.0.2.0/24"), "a documentation address"},
	{netip.MustParsePrefix("192.88.99.0/24"), "a 6to4 relay anycast address"},
	{netip.MustParsePrefix("192.168.0.0/16"), "a private address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("198.51.100.0/24"), "a documentation address"},
	{netip.MustParsePrefix("203.0.113.0/24"), "a documentation address"},
	{netip.MustParsePrefix("224.0.0.0/4"), "a multicast address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
}

var (
	// globalUnicastV6 is the only IPv6 space allocated for public
	// unicast; every address outside it (but NAT64's) is refused.
	globalUnicastV6 = netip.MustParsePrefix("2000::/3")
	nat64           = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour       = netip.MustParsePrefix("2002::/16")
)

// refusedV6Outside names the common IPv6 ranges outside 2000::/3, for
// the message; anything else there is "not a global unicast address".
var refusedV6Outside = []rangeKind{
	{netip.MustParsePrefix("::/128"), "an unspecified address"},
	{netip.MustParsePrefix("::1/128"), "a loopback address"},
	{netip.MustParsePrefix("::/96"), "an IPv4-compatible (deprecated) address"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a local-use NAT64 address"},
	{netip.MustParsePrefix("100::/64"), "a discard-only address"},
	{netip.MustParsePrefix("fc00::/7"), "a unique local (private) address"},
	{netip.MustParsePrefix("fe80::/10"), "a link-local address"},
	{netip.MustParsePrefix("fec0::/10"), "a site-local (deprecated) address"},
	{netip.MustParsePrefix("ff00::/8"), "a multicast address"},
}

// refusedV6Inside are the ranges of 2000::/3 that are not public unicast
// (6to4 is judged by the IPv4 address it embeds).
var refusedV6Inside = []rangeKind{
	{netip.MustParsePrefix("2001::/32"), "a Teredo address"},
	{netip.MustParsePrefix("2001:db8::/32"), "a documentation address"},
	{netip.MustParsePrefix("2001::/23"), "an IETF protocol assignment address"},
	{netip.MustParsePrefix("3fff::/20"), "a documentation address"},
}

// refusal tells why a webhook may not reach a ("a loopback address", …),
// or "" when it may: a must be a public unicast address. An IPv4-mapped
// IPv6 address gets the answer of its IPv4 address; NAT64 (64:ff9b::/96)
// and 6to4 (2002::/16) ones that of the IPv4 address they embed, as that
// is where their packets end up.
func refusal(a netip.Addr) string {
	switch {
	case !a.IsValid():
		return "not a valid address"
	case a.Is4():
		for _, r := range refusedV4 {
			if r.prefix.Contains(a) {
				return r.kind
			}
		}
		return ""
	case a.Is4In6():
		return refusal(a.Unmap())
	}
	a = a.WithZone("")
	b := a.As16()
	switch {
	case nat64.Contains(a):
		return embedded("a NAT64", netip.AddrFrom4([4]byte(b[12:16])))
	case sixToFour.Contains(a):
		return embedded("a 6to4", netip.AddrFrom4([4]byte(b[2:6])))
	case globalUnicastV6.Contains(a):
		for _, r := range refusedV6Inside {
			if r.prefix.Contains(a) {
				return r.kind
			}
		}
		return ""
	}
	for _, r := range refusedV6Outside {
		if r.prefix.Contains(a) {
			return r.kind
		}
	}
	return "not a global unicast address"
}

// embedded judges an IPv6 address by the IPv4 address v4 it carries.
func embedded(kind string, v4 netip.Addr) string {
	if why := refusal(v4); why != "" {
		return fmt.Sprintf("%s address of %s (%s)", kind, v4, why)
	}
	return ""
}
