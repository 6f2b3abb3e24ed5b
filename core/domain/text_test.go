package domain_test

import (
	"testing"
	"time"

	"github.com/credence-dev/credence/core/domain"
)

func TestNormalizeEmail(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"alice@example.com", "alice@example.com"},
		{"Alice@Example.COM", "alice@example.com"},
		{"  alice@example.com\t\n", "alice@example.com"},
		{"\u00a0alice@example.com\u00a0", "alice@example.com"},
		{"ÄLICE@EXAMPLE.COM", "älice@example.com"},
		{"", ""},
		{"   ", ""},
		{"not an email", "not an email"},
	} {
		if got := domain.NormalizeEmail(tc.in); got != tc.want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := domain.NormalizeEmail(domain.NormalizeEmail(tc.in)); got != tc.want {
			t.Errorf("NormalizeEmail is not idempotent on %q", tc.in)
		}
	}
}

func TestValidEmail(t *testing.T) {
	t.Parallel()
	long := repeat("a", 64) + "@" + repeat(repeat("b", 60)+".", 3) + "cccccc" // 254 characters
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"a@b.co", true},
		{"alice@example.com", true},
		{"first.last@sub.example.org", true},
		{"alice+tag@example.com", true},
		{"o'brien@example.ie", true},
		{"user_name@example.com", true},
		{"1234@example.com", true},
		{"a@b-c.example", true},
		{"a!#$%&*/=?^_`{|}~@example.io", true},
		{"Alice@Example.com", true}, // validity does not depend on case
		{long, true},

		{"", false},
		{"alice", false},
		{"alice@", false},
		{"@example.com", false},
		{"alice@example", false},
		{"alice@localhost", false},
		{"alice@.example.com", false},
		{"alice@example.com.", false},
		{"alice@example..com", false},
		{"al..ice@example.com", false},
		{".alice@example.com", false},
		{"alice.@example.com", false},
		{"al ice@example.com", false},
		{"alice@exa mple.com", false},
		{" alice@example.com", false},
		{"alice@example.com ", false},
		{"Alice <alice@example.com>", false},
		{"<alice@example.com>", false},
		{`"alice"@example.com`, false},
		{`"al ice"@example.com`, false},
		{"alice@[192.0.2.1]", false},
		{"alice@example.com,bob@example.com", false},
		{"alice;bob@example.com", false},
		{"alice:bob@example.com", false},
		{`alice\bob@example.com`, false},
		{"alice(comment)@example.com", false},
		{"alice@example.com (Alice)", false},
		{"alice@bob@example.com", false},
		{"alice@example.com\n", false},
		{"alice\r\n@example.com", false},
		{"ali\tce@example.com", false},
		{"alice\x00@example.com", false},
		{long + "c", false}, // 255 characters
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			if got := domain.ValidEmail(tc.in); got != tc.want {
				t.Errorf("ValidEmail(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
	if len(long) != 254 {
		t.Fatalf("test setup: long address has %d characters", len(long))
	}
}

// ValidEmail refuses an ASCII space anywhere; Unicode spaces, line
// separators, C1 controls and invisible characters must not slip through
// either: no mail system accepts them and they make look-alike addresses.
func TestValidEmailRejectsUnicodeSpaceAndInvisibles(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"al\u00a0ice@example.com", // no-break space
		"alice@exa\u00a0mple.com",
		"alice@example\u3000.com", // ideographic space
		"alice\u2028@example.com", // line separator
		"alice\u0085@example.com", // NEL, a C1 control
		"al\u200bice@example.com", // zero-width space
		"alice@example.com\u200e", // left-to-right mark
	} {
		t.Run(in, func(t *testing.T) {
			t.Parallel()
			if domain.ValidEmail(in) {
				t.Errorf("ValidEmail(%q) = true, want false", in)
			}
		})
	}
}

func TestValidSlug(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"ab", true},
		{"a1", true},
		{"42", true},
		{"acme", true},
		{"acme-university", true},
		{"a-b-c-d", true},
		{"2026-cohort", true},
		{repeat("a", 63), true},
		{"", false},
		{"a", false},
		{"-", false},
		{repeat("a", 64), false},
		{"Acme", false},
		{"acme_university", false},
		{"acme university", false},
		{"-acme", false},
		{"acme-", false},
		{"acme--university", false},
		{"acmé", false},
		{"acme.edu", false},
		{"acme/edu", false},
		{"acme\n", false},
	} {
		if got := domain.ValidSlug(tc.in); got != tc.want {
			t.Errorf("ValidSlug(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestSlugify(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"Acme University", "acme-university"},
		{"acme", "acme"},
		{"  Acme  ", "acme"},
		{"Hello, World!", "hello-world"},
		{"--a--b--", "a-b"},
		{"ACME Inc. (Europe)", "acme-inc-europe"},
		{"Go 1.26 Release", "go-1-26-release"},
		{"snake_case_name", "snake-case-name"},
		{"tab\tand\nnewline", "tab-and-newline"},
		{"Café Olé", "caf-ol"},
		{"İstanbul", "istanbul"},
		{"\u212Aelvin", "kelvin"}, // KELVIN SIGN lower-cases to k
		{"日本大学", ""},
		{"", ""},
		{"!!!", ""},
		{"A", "a"},
		{repeat("a", 100), repeat("a", 60)},
		// Cut at about 60 characters, even inside a word.
		{repeat("ab ", 40), repeat("ab-", 20) + "a"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got := domain.Slugify(tc.in)
			if got != tc.want {
				t.Errorf("Slugify(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if len(got) >= 2 && !domain.ValidSlug(got) {
				t.Errorf("Slugify(%q) = %q is not a valid slug", tc.in, got)
			}
		})
	}
}

func TestCleanText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		in        string
		max       int
		multiline bool
		want      string
		ok        bool
	}{
		{"plain", "hello", 10, false, "hello", true},
		{"trimmed", "  hello \t\n", 10, false, "hello", true},
		{"empty_is_ok", "", 10, false, "", true},
		{"blank_trims_to_empty", "   ", 10, false, "", true},
		{"exactly_max_runes", repeat("é", 10), 10, false, repeat("é", 10), true},
		{"over_max_runes", repeat("é", 11), 10, false, repeat("é", 11), false},
		{"max_counts_runes_not_bytes", "日本語", 3, false, "日本語", true},
		{"max_after_trim", "  abc  ", 3, false, "abc", true},
		{"inner_newline_single_line", "a\nb", 10, false, "a\nb", false},
		{"inner_tab_single_line", "a\tb", 10, false, "a\tb", false},
		{"inner_cr_single_line", "a\rb", 10, false, "a\rb", false},
		{"inner_newline_multiline", "a\nb", 10, true, "a\nb", true},
		{"inner_crlf_tab_multiline", "a\r\n\tb", 10, true, "a\r\n\tb", true},
		{"nul", "a\x00b", 10, true, "a\x00b", false},
		{"bell", "a\x07b", 10, true, "a\x07b", false},
		{"escape", "a\x1b[31mb", 20, true, "a\x1b[31mb", false},
		{"del", "a\x7fb", 10, true, "a\x7fb", false},
		{"invalid_utf8", "a\xffb", 10, true, "a\xffb", false},
		{"truncated_utf8", "a\xc3", 10, false, "a\xc3", false},
		{"emoji", "🎓 graduate", 20, false, "🎓 graduate", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := domain.CleanText(tc.in, tc.max, tc.multiline)
			if got != tc.want || ok != tc.ok {
				t.Errorf("CleanText(%q, %d, %v) = %q, %v; want %q, %v", tc.in, tc.max, tc.multiline, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestCleanTextRejectsC1Controls(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"a\u0085b", "a\u0080b", "a\u009bb"} {
		t.Run(in, func(t *testing.T) {
			t.Parallel()
			if _, ok := domain.CleanText(in, 10, false); ok {
				t.Errorf("CleanText(%q) accepted a C1 control character", in)
			}
		})
	}
}

func TestValidHTTPURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"https://example.com", true},
		{"http://example.com", true},
		{"https://example.com/a/b.png?x=1#f", true},
		{"https://example.com:8443/x", true},
		{"HTTPS://EXAMPLE.COM/X", true},
		{"http://127.0.0.1/x", true},
		{"https://" + repeat("a", 2040), true}, // 2048 characters
		{"https://" + repeat("a", 2041), false},
		{"", false},
		{"example.com", false},
		{"//example.com/x", false},
		{"/relative/path", false},
		{"https://", false},
		{"https:///path", false},
		{"ftp://example.com/x", false},
		{"file:///etc/passwd", false},
		{"javascript:alert(1)", false},
		{"data:image/png;base64,AAAA", false},
		{"mailto:a@example.com", false},
		{"https://user@example.com", false},
		{"https://user:pass@example.com", false},
		{"http://exa mple.com", false},
		{"https://example.com/%zz", false},
		{" https://example.com", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			if got := domain.ValidHTTPURL(tc.in); got != tc.want {
				t.Errorf("ValidHTTPURL(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	zone := time.FixedZone("CET", 3600)
	for _, tc := range []struct {
		name string
		in   time.Time
		want time.Time
	}{
		{"drops_nanoseconds", time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC), time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)},
		{"rounds_down", time.Date(2026, 1, 2, 3, 4, 5, 999999999, time.UTC), time.Date(2026, 1, 2, 3, 4, 5, 999999000, time.UTC)},
		{"microseconds_kept", time.Date(2026, 1, 2, 3, 4, 5, 1000, time.UTC), time.Date(2026, 1, 2, 3, 4, 5, 1000, time.UTC)},
		{"converts_to_utc", time.Date(2026, 1, 1, 0, 30, 0, 0, zone), time.Date(2025, 12, 31, 23, 30, 0, 0, time.UTC)},
		{"zero", time.Time{}, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := domain.Truncate(tc.in)
			if got != tc.want {
				t.Errorf("Truncate(%v) = %v (%v), want %v", tc.in, got, got.Location(), tc.want)
			}
		})
	}
}

func TestTruncateDropsMonotonicClock(t *testing.T) {
	t.Parallel()
	now := time.Now()
	got := domain.Truncate(now)
	if got != got.Round(0) {
		t.Error("Truncate keeps the monotonic clock reading; == comparisons of stored times would fail")
	}
}

func TestMonthBoundaries(t *testing.T) {
	t.Parallel()
	utc := func(y int, m time.Month, d, h, min, s, ns int) time.Time {
		return time.Date(y, m, d, h, min, s, ns, time.UTC)
	}
	tokyo := time.FixedZone("JST", 9*3600)
	newYork := time.FixedZone("EST", -5*3600)
	for _, tc := range []struct {
		name  string
		in    time.Time
		start time.Time
		next  time.Time
		key   string
	}{
		{"mid_month", utc(2026, 3, 15, 12, 0, 0, 0), utc(2026, 3, 1, 0, 0, 0, 0), utc(2026, 4, 1, 0, 0, 0, 0), "2026-03"},
		{"first_instant", utc(2026, 3, 1, 0, 0, 0, 0), utc(2026, 3, 1, 0, 0, 0, 0), utc(2026, 4, 1, 0, 0, 0, 0), "2026-03"},
		{"last_instant", utc(2026, 3, 31, 23, 59, 59, 999999999), utc(2026, 3, 1, 0, 0, 0, 0), utc(2026, 4, 1, 0, 0, 0, 0), "2026-03"},
		{"december_to_january", utc(2026, 12, 31, 23, 0, 0, 0), utc(2026, 12, 1, 0, 0, 0, 0), utc(2027, 1, 1, 0, 0, 0, 0), "2026-12"},
		{"january", utc(2027, 1, 1, 0, 0, 0, 1), utc(2027, 1, 1, 0, 0, 0, 0), utc(2027, 2, 1, 0, 0, 0, 0), "2027-01"},
		{"end_of_january_to_february", utc(2026, 1, 31, 12, 0, 0, 0), utc(2026, 1, 1, 0, 0, 0, 0), utc(2026, 2, 1, 0, 0, 0, 0), "2026-01"},
		{"leap_february", utc(2028, 2, 29, 12, 0, 0, 0), utc(2028, 2, 1, 0, 0, 0, 0), utc(2028, 3, 1, 0, 0, 0, 0), "2028-02"},
		{"local_new_year_is_utc_december", time.Date(2027, 1, 1, 5, 0, 0, 0, tokyo), utc(2026, 12, 1, 0, 0, 0, 0), utc(2027, 1, 1, 0, 0, 0, 0), "2026-12"},
		{"local_december_is_utc_january", time.Date(2026, 12, 31, 22, 0, 0, 0, newYork), utc(2027, 1, 1, 0, 0, 0, 0), utc(2027, 2, 1, 0, 0, 0, 0), "2027-01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := domain.MonthStart(tc.in); got != tc.start {
				t.Errorf("MonthStart(%v) = %v, want %v", tc.in, got, tc.start)
			}
			if got := domain.NextMonthStart(tc.in); got != tc.next {
				t.Errorf("NextMonthStart(%v) = %v, want %v", tc.in, got, tc.next)
			}
			if got := domain.MonthKey(tc.in); got != tc.key {
				t.Errorf("MonthKey(%v) = %q, want %q", tc.in, got, tc.key)
			}
			if s := domain.MonthStart(tc.in); tc.in.Before(s) || !tc.in.Before(domain.NextMonthStart(tc.in)) {
				t.Errorf("%v is not within [MonthStart, NextMonthStart)", tc.in)
			}
		})
	}
}

func TestDeriveSlugAlwaysValid(t *testing.T) {
	for _, name := range []string{"", "A", "日本大学", "Go Expert", "---", "x y"} {
		s := domain.DeriveSlug(name, "org")
		if !domain.ValidSlug(s) {
			t.Errorf("DeriveSlug(%q) = %q, not a valid slug", name, s)
		}
	}
	if got := domain.DeriveSlug("Go Expert", "badge"); got != "go-expert" {
		t.Errorf("DeriveSlug keeps a valid derived slug as it is: got %q", got)
	}
}

func TestControlFree(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in              string
		line, multiline bool
	}{
		{"", true, true},
		{"credential.issued", true, true},
		{"Zoë 日本 \u00a0 \ufffd 🎓", true, true}, // U+FFFD written out is a character like any other
		{"a\tb", false, true},
		{"a\nb\r\n", false, true},
		{"a\x00b", false, false},
		{"\x01", false, false},
		{"\x1f", false, false},
		{"\x7f", false, false},
		{"\u0080", false, false},
		{"a\u0085b", false, false},
		{"\u009f", false, false},
		{"\u00a0", true, true},
		{"\xff", false, false},
		{"a\xc3", false, false},        // cut short
		{"\xed\xa0\x80", false, false}, // a surrogate
	} {
		if got := domain.ControlFree(tc.in, false); got != tc.line {
			t.Errorf("ControlFree(%q, false) = %v, want %v", tc.in, got, tc.line)
		}
		if got := domain.ControlFree(tc.in, true); got != tc.multiline {
			t.Errorf("ControlFree(%q, true) = %v, want %v", tc.in, got, tc.multiline)
		}
	}
}
