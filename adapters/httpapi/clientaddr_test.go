package httpapi

import (
	"net/netip"
	"testing"
)

// The client's address is the socket peer unless that peer is a trusted
// proxy; then the nearest X-Forwarded-For hop that is not one. Hops left
// of it could be forged by the client, so they never count.
func TestClientAddr(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32")}
	for _, tc := range []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"no proxy", "203.0.113.9:5555", nil, "203.0.113.9"},
		{"untrusted peer's header ignored", "203.0.113.9:5555", []string{"198.51.100.1"}, "203.0.113.9"},
		{"trusted peer, one hop", "10.1.2.3:443", []string{"198.51.100.1"}, "198.51.100.1"},
		{"forged hops left of the real one", "10.1.2.3:443", []string{"1.1.1.1, 6.6.6.6, 198.51.100.1"}, "198.51.100.1"},
		{"chain of trusted proxies", "127.0.0.1:80", []string{"198.51.100.1, 10.9.9.9", "10.8.8.8"}, "198.51.100.1"},
		{"garbage hop stops trust", "10.1.2.3:443", []string{"198.51.100.1, not-an-ip"}, "10.1.2.3"},
		{"only trusted hops", "10.1.2.3:443", []string{"10.0.0.5"}, "10.0.0.5"},
		{"trusted peer without header", "10.1.2.3:443", nil, "10.1.2.3"},
		{"IPv6 peer", "[2001:db8::1]:443", nil, "2001:db8::1"},
		{"IPv4-mapped hop", "10.1.2.3:443", []string{"::ffff:198.51.100.7"}, "198.51.100.7"},
	} {
		if got := clientAddr(tc.remote, tc.xff, trusted); got != tc.want {
			t.Errorf("%s: clientAddr = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// FuzzClientAddr: any X-Forwarded-For yields the peer or an address of the
// header, never a panic, and an untrusted peer is never overridden.
func FuzzClientAddr(f *testing.F) {
	f.Add("10.1.2.3:443", "198.51.100.1, 10.0.0.1")
	f.Add("203.0.113.9:1", "1.2.3.4")
	f.Add("10.0.0.1:1", ",,, ::ffff:1.2.3.4 ,")
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		got := clientAddr(remote, []string{xff}, trusted)
		if got == "" && remote != "" {
			t.Fatalf("empty address for peer %q", remote)
		}
		peer := clientAddr(remote, nil, nil)
		if !isTrusted(peer, trusted) && got != peer {
			t.Fatalf("untrusted peer %q overridden by %q", remote, got)
		}
	})
}
