package domain_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/credence-dev/credence/core/domain"
)

var credentialIDPattern = regexp.MustCompile(`^CRD-[A-Z0-9]{8}$`)

func TestNewCredentialIDFormat(t *testing.T) {
	t.Parallel()
	const draws = 5000
	seenChar := map[byte]int{}
	for range draws {
		id := string(domain.NewCredentialID())
		if !credentialIDPattern.MatchString(id) {
			t.Fatalf("NewCredentialID() = %q, want ^CRD-[A-Z0-9]{8}$", id)
		}
		if _, err := domain.ParseCredentialID(id); err != nil {
			t.Fatalf("ParseCredentialID(NewCredentialID() = %q): %v", id, err)
		}
		for i := 4; i < len(id); i++ {
			seenChar[id[i]]++
		}
	}
	// 40,000 characters over 36 symbols: each is expected ~1,111 times, so a
	// missing symbol, or one drawn at under half or over twice its share,
	// means a broken alphabet or a heavy bias, not bad luck.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	expected := draws * 8 / len(alphabet)
	for _, c := range []byte(alphabet) {
		if n := seenChar[c]; n < expected/2 || n > expected*2 {
			t.Errorf("symbol %q drawn %d times, expected about %d", c, n, expected)
		}
	}
	if len(seenChar) != len(alphabet) {
		t.Errorf("drew %d distinct symbols, want %d", len(seenChar), len(alphabet))
	}
}

func TestNewCredentialIDNoRepeats(t *testing.T) {
	t.Parallel()
	// 10,000 draws from 36^8 ≈ 2.8e12 values collide with probability
	// about 2e-5, so a repeat here means the randomness is broken.
	const draws = 10_000
	seen := make(map[domain.CredentialID]bool, draws)
	for i := range draws {
		id := domain.NewCredentialID()
		if seen[id] {
			t.Fatalf("draw %d repeated %s", i, id)
		}
		seen[id] = true
	}
}

func TestParseCredentialID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"CRD-ABCD1234", true},
		{"CRD-00000000", true},
		{"CRD-ZZZZZZZZ", true},
		{"", false},
		{"CRD-", false},
		{"CRD-ABCD123", false},
		{"CRD-ABCD12345", false},
		{"crd-abcd1234", false},
		{"CRD-abcd1234", false},
		{"crd-ABCD1234", false},
		{"CRD_ABCD1234", false},
		{"CRDABCD1234", false},
		{"XYZ-ABCD1234", false},
		{" CRD-ABCD1234", false},
		{"CRD-ABCD1234 ", false},
		{"CRD-ABCD1234\n", false},
		{"CRD-ABC@1234", false},
		{"CRD-ABC[1234", false},
		{"CRD-ABC/1234", false},
		{"CRD-ABC:1234", false},
		{"CRD-ABCD123\xff", false},
		{"CRD-ABCDÉ12", false},
		{"CRD-ABCD-234", false},
		{"CRD-ÄBCD1234", false},
		{"CRD-ABCD1234/../x", false},
		{"xCRD-ABCD1234", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			id, err := domain.ParseCredentialID(tc.in)
			if tc.ok {
				if err != nil || string(id) != tc.in {
					t.Fatalf("ParseCredentialID(%q) = %q, %v", tc.in, id, err)
				}
				return
			}
			wantErr(t, err, domain.ErrNotFound)
			if id != "" {
				t.Errorf("ParseCredentialID(%q) returned %q with its error", tc.in, id)
			}
		})
	}
}

var uuidV4Pattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewID(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 2000 {
		id := domain.NewID()
		if !uuidV4Pattern.MatchString(id) {
			t.Fatalf("NewID() = %q, want a lower-case version 4 UUID", id)
		}
		if !domain.IsID(id) {
			t.Fatalf("IsID(NewID() = %q) = false", id)
		}
		if seen[id] {
			t.Fatalf("NewID repeated %s", id)
		}
		seen[id] = true
	}
}

func TestIsID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b", true},
		{"00000000-0000-0000-0000-000000000000", true},
		{"3F2A1B4C-5D6E-4F70-8A9B-0C1D2E3F4A5B", false},
		{"3f2a1b4c5d6e4f708a9b0c1d2e3f4a5b", false},
		{"3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5", false},
		{"{3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b}", false},
		{"3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5g", false},
		{"", false},
		{"CRD-ABCD1234", false},
		{strings.Repeat("a", 36), false},
	} {
		if got := domain.IsID(tc.in); got != tc.want {
			t.Errorf("IsID(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
