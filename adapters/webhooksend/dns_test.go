package webhooksend_test

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"testing"
)

// startDNS serves, over UDP on 127.0.0.1, the A and AAAA records of zone
// (lower-case names without the final dot → addresses) and NXDOMAIN for
// every other name, until the test ends; it returns a resolver that asks
// it alone.
func startDNS(t *testing.T, zone map[string][]string) *net.Resolver {
	t.Helper()
	records := make(map[string][]netip.Addr, len(zone))
	for name, addrs := range zone {
		for _, s := range addrs {
			records[name] = append(records[name], netip.MustParseAddr(s))
		}
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp := answerDNS(buf[:n], records); resp != nil {
				_, _ = pc.WriteTo(resp, from)
			}
		}
	}()
	server := pc.LocalAddr().String()
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp", server)
		},
	}
}

const (
	typeA    = 1
	typeAAAA = 28
	classIN  = 1
)

// answerDNS answers query (RFC 1035 §4.1) from records, or returns nil
// when query is not one question it can read.
func answerDNS(query []byte, records map[string][]netip.Addr) []byte {
	if len(query) < 12 || query[2]&0x80 != 0 || binary.BigEndian.Uint16(query[4:6]) != 1 {
		return nil
	}
	var labels []string
	off := 12
	for {
		if off >= len(query) {
			return nil
		}
		n := int(query[off])
		off++
		if n == 0 {
			break
		}
		if n > 63 || off+n > len(query) {
			return nil
		}
		labels = append(labels, strings.ToLower(string(query[off:off+n])))
		off += n
	}
	if off+4 > len(query) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(query[off : off+2])
	question := query[12 : off+4]

	addrs, known := records[strings.Join(labels, ".")]
	var answers [][]byte
	for _, a := range addrs {
		switch {
		case qtype == typeA && a.Is4():
			b := a.As4()
			answers = append(answers, b[:])
		case qtype == typeAAAA && a.Is6():
			b := a.As16()
			answers = append(answers, b[:])
		}
	}
	// QR, AA, the query's RD, RA; NXDOMAIN (3) for unknown names.
	flags := uint16(0x8480) | binary.BigEndian.Uint16(query[2:4])&0x0100
	if !known {
		flags |= 3
	}
	resp := make([]byte, 0, 512)
	resp = append(resp, query[0], query[1])
	resp = binary.BigEndian.AppendUint16(resp, flags)
	resp = binary.BigEndian.AppendUint16(resp, 1)
	resp = binary.BigEndian.AppendUint16(resp, uint16(len(answers)))
	resp = binary.BigEndian.AppendUint16(resp, 0)
	resp = binary.BigEndian.AppendUint16(resp, 0)
	resp = append(resp, question...)
	for _, rdata := range answers {
		resp = append(resp, 0xc0, 12) // the name: a pointer to the question's
		resp = binary.BigEndian.AppendUint16(resp, qtype)
		resp = binary.BigEndian.AppendUint16(resp, classIN)
		resp = binary.BigEndian.AppendUint32(resp, 60)
		resp = binary.BigEndian.AppendUint16(resp, uint16(len(rdata)))
		resp = append(resp, rdata...)
	}
	return resp
}
