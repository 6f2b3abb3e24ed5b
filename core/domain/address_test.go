package domain

import "testing"

// Per-address limits count an IPv6 client by its /64, which one host may
// fill with addresses at will, and an IPv4 client by its address.
func TestLimitSubject(t *testing.T) {
	for _, tc := range []struct{ ip, want string }{
		{"203.0.113.9", "203.0.113.9"},
		{"::ffff:203.0.113.9", "203.0.113.9"},
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"::1", "::/64"},
		{"not-an-ip", "not-an-ip"},
	} {
		if got := LimitSubject(tc.ip); got != tc.want {
			t.Errorf("LimitSubject(%q) = %q, want %q", tc.ip, got, tc.want)
		}
	}
}
