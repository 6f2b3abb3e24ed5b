package statuslist_test

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/statuslist"
)

// Every place of a list is handed out exactly once, in an order that is
// not the order of issue, and another key gives another order.
func TestIndexIsAKeyedPermutation(t *testing.T) {
	key := bytes.Repeat([]byte{7}, statuslist.KeySize)
	seen := make([]bool, statuslist.Size)
	inOrder := 0
	for n := range statuslist.Size {
		i, err := statuslist.Index(key, statuslist.Size, n)
		if err != nil {
			t.Fatal(err)
		}
		if i < 0 || i >= statuslist.Size || seen[i] {
			t.Fatalf("entry %d got place %d, outside the list or taken", n, i)
		}
		seen[i] = true
		if i == n {
			inOrder++
		}
	}
	if inOrder > 10 {
		t.Errorf("%d entries kept their own place: the order is not shuffled", inOrder)
	}
	other := bytes.Repeat([]byte{8}, statuslist.KeySize)
	same := 0
	for n := range 1000 {
		a, _ := statuslist.Index(key, statuslist.Size, n)
		b, _ := statuslist.Index(other, statuslist.Size, n)
		if a == b {
			same++
		}
	}
	if same > 5 {
		t.Errorf("two keys agree on %d of 1000 places", same)
	}
	if _, err := statuslist.Index(key, statuslist.Size, statuslist.Size); err == nil {
		t.Error("an entry beyond the list got a place")
	}
	if _, err := statuslist.Index(key, 1000, 1); err == nil {
		t.Error("a size that is not a power of two was accepted")
	}
}

func TestBitstringRoundTrip(t *testing.T) {
	bits := statuslist.NewBitstring(statuslist.Size)
	for _, i := range []int{0, 7, 8, 94567, statuslist.Size - 1} {
		bits.Set(i)
	}
	enc := bits.Encode()
	if !strings.HasPrefix(enc, "u") || len(enc) > 200 {
		t.Fatalf("encoded list %q: want multibase base64url, compressed", enc)
	}
	got, err := statuslist.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range statuslist.Size {
		on, err := got.Get(i)
		if err != nil {
			t.Fatal(err)
		}
		want := i == 0 || i == 7 || i == 8 || i == 94567 || i == statuslist.Size-1
		if on != want {
			t.Fatalf("entry %d = %v, want %v", i, on, want)
		}
	}
	// The first entry is the left-most bit of the first byte.
	if got[0] != 0x81 || got[1] != 0x80 {
		t.Errorf("first bytes %08b %08b, want 10000001 10000000", got[0], got[1])
	}
	if _, err := got.Get(statuslist.Size); err == nil {
		t.Error("an index beyond the list was read")
	}
}

func gz(t *testing.T, n int) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(make([]byte, n))
	_ = zw.Close()
	return "u" + base64.RawURLEncoding.EncodeToString(buf.Bytes())
}

func TestDecodeRefuses(t *testing.T) {
	for name, enc := range map[string]string{
		"no multibase prefix": strings.TrimPrefix(statuslist.NewBitstring(statuslist.Size).Encode(), "u"),
		"not base64url":       "u!!!",
		"not gzip":            "u" + base64.RawURLEncoding.EncodeToString([]byte("plain")),
		"too short":           gz(t, 1000),
		"a bomb":              gz(t, statuslist.MaxEntries/8+1),
	} {
		if _, err := statuslist.Decode(enc); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

func TestReadChecksWhatAVerifierMust(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	url, issuer := "https://c.example/status-lists/L-revocation", "did:web:c.example:issuers:acme"
	bits := statuslist.NewBitstring(statuslist.Size)
	bits.Set(42)
	good := statuslist.NewCredential(url, issuer, statuslist.Revocation, bits, now)
	read := func(c statuslist.Credential, at time.Time) error {
		js, _ := json.Marshal(c)
		got, err := statuslist.Read(js, url, issuer, statuslist.Revocation, at)
		if err == nil {
			if on, _ := got.Get(42); !on {
				t.Fatal("entry 42 read clear")
			}
		}
		return err
	}
	if err := read(good, now); err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]func(c *statuslist.Credential){
		"another id":        func(c *statuslist.Credential) { c.ID = url + "x" },
		"another issuer":    func(c *statuslist.Credential) { c.Issuer = "did:web:evil.example" },
		"another purpose":   func(c *statuslist.Credential) { c.CredentialSubject.StatusPurpose = statuslist.Suspension },
		"not a status list": func(c *statuslist.Credential) { c.Type = []string{"VerifiableCredential"} },
		"another subject":   func(c *statuslist.Credential) { c.CredentialSubject.Type = "StatusList2021" },
		"bad list":          func(c *statuslist.Credential) { c.CredentialSubject.EncodedList = "uAAAA" },
	} {
		c := good
		bad(&c)
		if err := read(c, now); err == nil {
			t.Errorf("%s: read", name)
		}
	}
	if err := read(good, now.Add(-time.Hour)); err == nil {
		t.Error("a list valid from later was read")
	}
	if err := read(good, now.Add(-time.Minute)); err != nil {
		t.Errorf("a list published by a clock a minute ahead: %v", err)
	}
}

func TestParseIndex(t *testing.T) {
	for s, want := range map[string]bool{"0": true, "94567": true, "131071": true, "": false, "-1": false, "01": false, "1e3": false, " 1": false, "9999999999": false} {
		if _, ok := statuslist.ParseIndex(s); ok != want {
			t.Errorf("ParseIndex(%q) ok = %v, want %v", s, ok, want)
		}
	}
}

// FuzzDecode: any encodedList is read or refused, within MaxEntries.
func FuzzDecode(f *testing.F) {
	f.Add(statuslist.NewBitstring(statuslist.Size).Encode())
	f.Add("uH4sIAAAAAAAA")
	f.Fuzz(func(t *testing.T, s string) {
		bits, err := statuslist.Decode(s)
		if err == nil && (len(bits)*8 < statuslist.Size || len(bits)*8 > statuslist.MaxEntries) {
			t.Fatalf("decoded %d entries", len(bits)*8)
		}
	})
}
