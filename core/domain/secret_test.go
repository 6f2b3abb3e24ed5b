package domain_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"testing"

	"github.com/credence-dev/credence/core/domain"
)

func TestNewSecret(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{"crk_live_", "crk_test_", ""} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			t.Parallel()
			shape := regexp.MustCompile(`^` + regexp.QuoteMeta(prefix) + `[A-Za-z0-9_-]{43}$`)
			seen := map[string]bool{}
			for range 500 {
				secret, hash := domain.NewSecret(prefix)
				if !shape.MatchString(secret) {
					t.Fatalf("NewSecret(%q) = %q, want the prefix and 43 base64url characters", prefix, secret)
				}
				sum := sha256.Sum256([]byte(secret))
				if !bytes.Equal(hash, sum[:]) {
					t.Fatalf("hash of %q is not its SHA-256", secret)
				}
				if !bytes.Equal(domain.HashSecret(secret), hash) {
					t.Fatalf("HashSecret(%q) differs from the hash NewSecret returned", secret)
				}
				if seen[secret] {
					t.Fatalf("NewSecret repeated %q", secret)
				}
				seen[secret] = true
			}
		})
	}
}

func TestHashSecret(t *testing.T) {
	t.Parallel()
	// SHA-256 test vectors (FIPS 180-2).
	for _, tc := range []struct{ in, hex string }{
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	} {
		got := domain.HashSecret(tc.in)
		if len(got) != 32 || hex.EncodeToString(got) != tc.hex {
			t.Errorf("HashSecret(%q) = %x, want %s", tc.in, got, tc.hex)
		}
	}
	if bytes.Equal(domain.HashSecret("crk_live_a"), domain.HashSecret("crk_test_a")) {
		t.Error("the prefix does not change the hash")
	}
}
