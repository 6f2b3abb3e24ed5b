package accounts

import (
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/credence-dev/credence/core/domain"
)

// Argon2id parameters: OWASP's minimum of 19 MiB, t=2, p=1.
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns an argon2id PHC string.
func HashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// NeedsRehash reports whether a PHC string was made with parameters other
// than the current ones (or is not argon2id): the password is hashed anew
// at its next successful sign-in.
func NeedsRehash(phc string) bool {
	return !strings.HasPrefix(phc, fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$", argon2.Version, argonMemory, argonTime, argonThreads))
}

// CheckPassword compares password with a PHC string in constant time.
func CheckPassword(phc, password string) bool {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false
	}
	var m, t uint32
	var p uint8
	// Bounds far above any parameters Credence writes (19 MiB, t=2), so
	// that no stored string makes one check take gigabytes or minutes.
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<18 || t > 10 || p > 16 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	// A salt of 8 bytes and a key of 16 at least: a shorter key would let
	// a wrong password match by chance (a 1-byte key, one time in 256).
	if err1 != nil || err2 != nil || len(salt) < 8 || len(want) < 16 || len(want) > 64 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is compared against when no user matches, so a sign-in takes as
// long whether or not the email is registered.
var dummyHash, _ = HashPassword("credence-dummy-password")

//go:embed common-passwords.txt
var commonPasswordList string

// commonPasswords holds the bundled list, lower-cased.
var commonPasswords = func() map[string]bool {
	m := map[string]bool{}
	for _, line := range strings.Split(commonPasswordList, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			m[strings.ToLower(line)] = true
		}
	}
	return m
}()

// checkPassword applies the password policy: MinPasswordLen to
// MaxPasswordLen characters of valid UTF-8, not the account's email, not in
// the bundled list of common passwords (compared without case).
func checkPassword(v *domain.Validator, password, email string) {
	checkPasswordAt(v, "body.password", password, email)
}

// checkPasswordAt is checkPassword for a password sent at location.
func checkPasswordAt(v *domain.Validator, location, password, email string) {
	n := utf8.RuneCountInString(password)
	if !v.Check(n >= MinPasswordLen && n <= MaxPasswordLen && utf8.ValidString(password), location,
		fmt.Sprintf("password must be %d to %d characters", MinPasswordLen, MaxPasswordLen), nil) {
		return
	}
	folded := strings.ToLower(strings.TrimSpace(password))
	if !v.Check(folded != email && folded != strings.SplitN(email, "@", 2)[0], location, "password must not be the email address", nil) {
		return
	}
	v.Check(!commonPasswords[folded], location, "password is one of the most common passwords: choose another", nil)
}
