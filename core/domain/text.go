package domain

import (
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// NormalizeEmail trims and lower-cases an email address.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// DeriveSlug returns Slugify(name), made valid when the name has too few
// ASCII letters or digits: fallback and a random suffix stand in.
func DeriveSlug(name, fallback string) string {
	s := Slugify(name)
	if ValidSlug(s) {
		return s
	}
	if s == "" {
		s = fallback
	}
	return s + "-" + NewID()[:6]
}

// ValidEmail reports whether s (already normalized) is a plain addr-spec
// with a dotted domain, the form every mail system accepts.
func ValidEmail(s string) bool {
	if len(s) > 254 || strings.ContainsAny(s, " <>\"(),;:\\[]") {
		return false
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return false
		}
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 {
		return false
	}
	domain := s[at+1:]
	return strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

var slugRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// ValidSlug reports whether s is a URL slug: 2 to 63 characters of
// [a-z0-9] in hyphen-separated words.
func ValidSlug(s string) bool { return len(s) >= 2 && len(s) <= 63 && slugRE.MatchString(s) }

// Slugify derives a slug from a display name: ASCII letters and digits,
// lower-cased, other runs of characters replaced by one hyphen.
func Slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
		if b.Len() >= 60 {
			break
		}
	}
	return strings.Trim(b.String(), "-")
}

// CleanText trims s and reports whether it is valid UTF-8 without control
// characters (newlines and tabs allowed when multiline) and at most max runes.
func CleanText(s string, max int, multiline bool) (string, bool) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return s, false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			if multiline && (r == '\n' || r == '\r' || r == '\t') {
				continue
			}
			return s, false
		}
	}
	return s, true
}

// ControlFree reports whether s is valid UTF-8 without C0 controls
// (U+0000 to U+001F), DEL or C1 controls (U+0080 to U+009F); multiline
// allows tab, LF and CR. No email, ID, filter or cursor holds them, and
// PostgreSQL stores no NUL and no invalid UTF-8: input that reaches a
// query is checked with it where it enters the core (the HTTP API also
// refuses such input at its edge).
func ControlFree(s string, multiline bool) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c == 0x7f || c < 0x20 && !(multiline && (c == '\t' || c == '\n' || c == '\r')) {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r >= 0x80 && r <= 0x9f {
			return false
		}
		i += size
	}
	return true
}

// CheckCursor refuses a list cursor (query.cursor) that is not
// ControlFree: no page ends at one.
func CheckCursor(cursor string) error {
	var v Validator
	v.NoControls("query.cursor", cursor)
	return v.Err()
}

// ValidHTTPURL reports whether s is an absolute http or https URL.
func ValidHTTPURL(s string) bool {
	if len(s) > 2048 {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil
}

// Truncate drops sub-microsecond precision and converts to UTC, so times
// survive a round trip through PostgreSQL unchanged.
func Truncate(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// MonthStart returns the first instant of t's calendar month in UTC.
func MonthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// MonthKey names t's calendar month in UTC, e.g. "2026-11".
func MonthKey(t time.Time) string { return t.UTC().Format("2006-01") }

// NextMonthStart returns the first instant of the month after t's, in UTC.
func NextMonthStart(t time.Time) time.Time { return MonthStart(t).AddDate(0, 1, 0) }
