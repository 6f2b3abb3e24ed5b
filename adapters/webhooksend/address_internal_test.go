package webhooksend

import (
	"net/netip"
	"strings"
	"testing"
)

func TestRefusal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ addr, want string }{
		{"8.8.8.8", ""},
		{"1.1.1.1", ""},
		{"100.63.255.255", ""},
		{"100.128.0.0", ""},
		{"172.15.255.255", ""},
		{"172.32.0.0", ""},
		{"198.17.255.255", ""},
		{"198.20.0.0", ""},
		{"223.255.255.255", ""},
		{"2606:4700:4700::1111", ""},
		{"2001:4860:4860::8888", ""},
		{"::ffff:8.8.8.8", ""},
		{"64:ff9b::808:808", ""},
		{"2002:808:808::1", ""},
		{"127.0.0.1", "a loopback address"},
		{"127.255.255.254", "a loopback address"},
		{"::1", "a loopback address"},
		{"0.0.0.0", "an unspecified (this-network) address"},
		{"0.1.2.3", "an unspecified (this-network) address"},
		{"::", "an unspecified address"},
		{"10.255.0.1", "a private address"},
		{"172.16.0.1", "a private address"},
		{"192.168.0.1", "a private address"},
		{"fc00::1", "a unique local (private) address"},
		{"fd00:ec2::254", "a unique local (private) address"},
		{"169.254.169.254", "the cloud metadata address"},
		{"169.254.0.1", "a link-local address"},
		{"fe80::1", "a link-local address"},
		{"fe80::1%eth0", "a link-local address"},
		{"100.64.0.1", "a shared (carrier-grade NAT) address"},
		{"100.127.255.255", "a shared (carrier-grade NAT) address"},
		{"224.0.0.1", "a multicast address"},
		{"239.255.255.255", "a multicast address"},
		{"ff02::1", "a multicast address"},
		{"255.255.255.255", "the broadcast address"},
		{"192.0.0.9", "an IETF protocol assignment address"},
		{"198.18.0.1", "a benchmarking address"},
		{"198.19.255.255", "a benchmarking address"},
		{"240.0.0.1", "a reserved address"},
		{"192.0.2.1", "a documentation address"},
		{"198.51.100.1", "a documentation address"},
		{"203.0.113.1", "a documentation address"},
		{"2001:db8::1", "a documentation address"},
		{"3fff::1", "a documentation address"},
		{"::ffff:127.0.0.1", "a loopback address"},
		{"::ffff:169.254.169.254", "the cloud metadata address"},
		{"::ffff:10.0.0.1", "a private address"},
		{"64:ff9b::7f00:1", "a NAT64 address of 127.0.0.1 (a loopback address)"},
		{"64:ff9b::a9fe:a9fe", "a NAT64 address of 169.254.169.254 (the cloud metadata address)"},
		{"64:ff9b:1::808:808", "a local-use NAT64 address"},
		{"2002:7f00:1::", "a 6to4 address of 127.0.0.1 (a loopback address)"},
		{"2002:c0a8:101::1", "a 6to4 address of 192.168.1.1 (a private address)"},
		{"2001::1", "a Teredo address"},
		{"2001:100::1", "an IETF protocol assignment address"},
		{"::7f00:1", "an IPv4-compatible (deprecated) address"},
		{"::808:808", "an IPv4-compatible (deprecated) address"},
		{"100::1", "a discard-only address"},
		{"fec0::1", "a site-local (deprecated) address"},
		{"4000::1", "not a global unicast address"},
		{"5f00::1", "not a global unicast address"},
	} {
		if got := refusal(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("refusal(%s) = %q, want %q", tc.addr, got, tc.want)
		}
	}
	if got := refusal(netip.Addr{}); got == "" {
		t.Error("refusal of the zero Addr is empty")
	}
}

// FuzzAllowed checks that the address rule never panics, that an
// IPv4-mapped IPv6 address gets the answer of its IPv4 address, and that
// a refused IPv4 address stays refused behind NAT64 or 6to4.
func FuzzAllowed(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "8.8.8.8", "169.254.169.254", "::1", "::ffff:10.0.0.1", "64:ff9b::7f00:1", "2002:a00:1::", "2606:4700::1", "fe80::1"} {
		a := netip.MustParseAddr(s)
		f.Add(a.AsSlice())
	}
	f.Add([]byte{})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, ip []byte) {
		a, ok := netip.AddrFromSlice(ip)
		why := refusal(a)
		if !ok {
			if why == "" {
				t.Fatalf("refusal of an invalid address %x is empty", ip)
			}
			return
		}
		if !a.Is4() && !a.Is4In6() {
			return
		}
		v4 := a.Unmap()
		mapped := netip.AddrFrom16(v4.As16())
		if w4, wm := refusal(v4), refusal(mapped); w4 != wm {
			t.Fatalf("refusal(%s) = %q but refusal(%s) = %q", v4, w4, mapped, wm)
		}
		if refusal(v4) == "" {
			return
		}
		b4 := v4.As4()
		var n64, s2 [16]byte
		copy(n64[:], netip.MustParseAddr("64:ff9b::").AsSlice())
		copy(n64[12:], b4[:])
		s2[0], s2[1] = 0x20, 0x02
		copy(s2[2:6], b4[:])
		for _, e := range []netip.Addr{netip.AddrFrom16(n64), netip.AddrFrom16(s2)} {
			if w := refusal(e); !strings.Contains(w, v4.String()) {
				t.Fatalf("refusal(%s) = %q, want it refused for %s", e, w, v4)
			}
		}
	})
}

// The socket-level guard refuses what the address rule refuses, unless the
// operator allows private addresses.
func TestControlRefusesWhatTheRuleRefuses(t *testing.T) {
	t.Parallel()
	strict, lax := New(Options{}), New(Options{AllowPrivate: true})
	for _, addr := range []string{"127.0.0.1:443", "[::1]:443", "[::ffff:10.0.0.1]:80", "169.254.169.254:80", "not an address"} {
		if err := strict.control("tcp", addr, nil); err == nil {
			t.Errorf("control(%s) = nil, want a refusal", addr)
		}
	}
	if err := strict.control("tcp4", "8.8.8.8:443", nil); err != nil {
		t.Errorf("control(8.8.8.8:443) = %v", err)
	}
	if err := lax.control("tcp4", "127.0.0.1:443", nil); err != nil {
		t.Errorf("with AllowPrivate, control(127.0.0.1:443) = %v", err)
	}
}
