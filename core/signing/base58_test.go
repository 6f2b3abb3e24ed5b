package signing_test

import (
	"testing"

	"github.com/credence-dev/credence/core/signing"
)

func TestBase58(t *testing.T) {
	for in, want := range map[string]string{"\x00\x00\x01": "112", "Hello World!": "2NEpo7TZRRrLZSi2U", "\xff": "5Q"} {
		if got := signing.EncodeBase58([]byte(in)); got != want {
			t.Errorf("EncodeBase58(%q) = %s, want %s", in, got, want)
		}
		back, err := signing.DecodeBase58(want)
		if err != nil || string(back) != in {
			t.Errorf("DecodeBase58(%s) = %q %v", want, back, err)
		}
	}
	for _, bad := range []string{"0", "O", "I", "l", "abc+"} {
		if _, err := signing.DecodeBase58(bad); err == nil {
			t.Errorf("DecodeBase58(%q) succeeded", bad)
		}
	}
}

// FuzzBase58: decoding and encoding again is the identity on valid input,
// and no input makes either panic.
func FuzzBase58(f *testing.F) {
	f.Add("2NEpo7TZRRrLZSi2U")
	f.Add("111z")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := signing.DecodeBase58(s)
		if err == nil && signing.EncodeBase58(b) != s {
			t.Fatalf("%q decodes to %x, which encodes to %q", s, b, signing.EncodeBase58(b))
		}
	})
}
