package accounts

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/credence-dev/credence/core/domain"
)

// The policy refuses short passwords, the email (or its local part) and
// the bundled common passwords in any case; it takes long unusual ones.
func TestPasswordPolicy(t *testing.T) {
	if len(commonPasswords) < 1500 {
		t.Fatalf("the bundled list has %d passwords, want the 1,557 of 10+ characters", len(commonPasswords))
	}
	for p := range commonPasswords {
		if utf8.RuneCountInString(p) < MinPasswordLen {
			t.Fatalf("the bundled list holds %q, shorter than the length rule already refuses", p)
		}
	}
	const email = "ada.lovelace@example.com"
	for _, tc := range []struct {
		password string
		ok       bool
	}{
		{"short", false},
		{"QWERTYUIOP", false},
		{"Password1234", false},
		{"ada.lovelace", false},
		{" ADA.LOVELACE@example.com ", false},
		{"correct horse battery", true},
		{"Zertifikat für Jörg 7", true},
	} {
		var v domain.Validator
		checkPassword(&v, tc.password, email)
		if got := v.Err() == nil; got != tc.ok {
			t.Errorf("password %q accepted = %v, want %v (%v)", tc.password, got, tc.ok, v.Err())
		}
	}
}

// Hashes with the current parameters need no rehash; others do.
func TestNeedsRehash(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if NeedsRehash(h) || !CheckPassword(h, "correct horse battery") {
		t.Errorf("a fresh hash %q needs a rehash or does not check", h)
	}
	if !NeedsRehash("$argon2id$v=19$m=8192,t=1,p=1$c2FsdA$a2V5") || !NeedsRehash("$2a$10$bcrypt") {
		t.Error("a hash with other parameters needs no rehash")
	}
}

// FuzzCheckPassword: the stored-hash parser takes any string without
// panicking and accepts a password only against its own hash.
func FuzzCheckPassword(f *testing.F) {
	h, _ := HashPassword("correct horse battery")
	f.Add(h, "correct horse battery")
	f.Add("$argon2id$v=19$m=1,t=1,p=1$c2FsdA$", "x")
	f.Add("$$$$$", "")
	f.Fuzz(func(t *testing.T, phc, password string) {
		var m, tc, p uint32
		if i := strings.Index(phc, "m="); i >= 0 {
			fmt.Sscanf(phc[i:], "m=%d,t=%d,p=%d", &m, &tc, &p)
		}
		if len(phc) > 512 || m > 64*1024 || tc > 3 || p > 4 {
			return // each check would take too long for a fuzzer
		}
		if CheckPassword(phc, password) && phc != h {
			// A random string that checks must at least be a well-formed hash of it.
			if !strings.HasPrefix(phc, "$argon2id$") {
				t.Fatalf("CheckPassword(%q, %q) = true for a malformed hash", phc, password)
			}
		}
		if phc == h && CheckPassword(phc, password) != (password == "correct horse battery") {
			t.Fatalf("the real hash accepts %q", password)
		}
	})
}
