package domain

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
)

// NewID returns a random (version 4) UUID string.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// IsID reports whether s looks like a UUID as produced by NewID.
func IsID(s string) bool { return uuidRE.MatchString(s) }

// CredentialID is the public identifier of a credential: "CRD-" followed by
// 8 characters of [A-Z0-9].
type CredentialID string

const credentialAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// NewCredentialID draws a credential ID from crypto/rand without modulo bias.
func NewCredentialID() CredentialID {
	out := []byte("CRD-________")
	var buf [16]byte
	for i := 4; i < len(out); {
		if _, err := rand.Read(buf[:]); err != nil {
			panic(fmt.Sprintf("crypto/rand failed: %v", err))
		}
		for _, c := range buf {
			// 252 is the largest multiple of 36 below 256.
			if c >= 252 || i >= len(out) {
				continue
			}
			out[i] = credentialAlphabet[int(c)%len(credentialAlphabet)]
			i++
		}
	}
	return CredentialID(out)
}

// ParseCredentialID checks the format of s: CRD- and eight capital
// letters or digits. (Checked by hand: it runs on every verification,
// where a regular expression cost a percent of the request.)
func ParseCredentialID(s string) (CredentialID, error) {
	ok := len(s) == 12 && strings.HasPrefix(s, "CRD-")
	for i := 4; ok && i < len(s); i++ {
		c := s[i]
		ok = 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
	}
	if !ok {
		return "", Errorf(CodeNotFound, "no credential %q", s)
	}
	return CredentialID(s), nil
}
