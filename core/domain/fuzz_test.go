package domain_test

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/credence-dev/credence/core/domain"
)

func FuzzValidEmail(f *testing.F) {
	for _, s := range []string{
		"alice@example.com", "Alice <alice@example.com>", "a@b", "@", "", "a@b.c.", `"a b"@c.de`,
		"a@[1.2.3.4]", "ü@example.com", "a@b\u00a0.co", "a..b@c.de", strings.Repeat("a", 300) + "@x.io",
		"=?utf-8?q?a?=@b.co", "a@b.co\r\n", "a@b.co,", "\xff@b.co",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ok := domain.ValidEmail(s)
		_ = domain.MaskEmail(s)
		n := domain.NormalizeEmail(s)
		if domain.NormalizeEmail(n) != n {
			t.Errorf("NormalizeEmail is not idempotent on %q", s)
		}
		if !ok {
			return
		}
		if len(s) > 254 {
			t.Errorf("ValidEmail accepted %d bytes", len(s))
		}
		if strings.ContainsAny(s, " <>\"(),;:\\[]\t\r\n") {
			t.Errorf("ValidEmail accepted %q with a forbidden character", s)
		}
		at := strings.LastIndexByte(s, '@')
		if at < 1 || strings.Count(s, "@") != 1 {
			t.Fatalf("ValidEmail accepted %q without exactly one @ after a local part", s)
		}
		d := s[at+1:]
		if !strings.Contains(d, ".") || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") || strings.Contains(d, "..") {
			t.Errorf("ValidEmail accepted %q with domain %q", s, d)
		}
		if !utf8.ValidString(s) {
			t.Errorf("ValidEmail accepted invalid UTF-8 %q", s)
		}
		// Recipients are stored normalized: a valid address stays valid once normalized.
		if !domain.ValidEmail(domain.NormalizeEmail(s)) {
			t.Errorf("ValidEmail(%q) but not its normalized form %q", s, domain.NormalizeEmail(s))
		}
	})
}

var slugShape = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

func FuzzSlugify(f *testing.F) {
	for _, s := range []string{
		"Acme University", "", "---", "A", "日本大学", "İstanbul", "\u212A", "Café Olé",
		strings.Repeat("ab ", 40), strings.Repeat("a", 59) + " b c", "\xff\xfe", "a\x00b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := domain.Slugify(s)
		if got == "" {
			return
		}
		if !slugShape.MatchString(got) || len(got) > 63 {
			t.Fatalf("Slugify(%q) = %q: not a-z, 0-9 and single inner hyphens within 63 characters", s, got)
		}
		if len(got) >= 2 && !domain.ValidSlug(got) {
			t.Errorf("Slugify(%q) = %q is not ValidSlug", s, got)
		}
		if again := domain.Slugify(got); again != got {
			t.Errorf("Slugify is not idempotent: %q -> %q -> %q", s, got, again)
		}
	})
}
