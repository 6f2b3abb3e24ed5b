package bulk_test

import (
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/credence-dev/credence/core/bulk"
	"github.com/credence-dev/credence/core/domain"
)

// t0 is the fixed "now" of the tests.
var t0 = time.Date(2026, time.March, 15, 12, 30, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

func row(n int, name, email string) domain.CSVRow {
	return domain.CSVRow{Row: n, Name: name, Email: email}
}

func TestCheckRow(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", bulk.MaxNameRunes)
	for _, tc := range []struct {
		name, email string
		wantName    string
		want        string
	}{
		{"Alice", "alice@example.com", "Alice", ""},
		{"  Alice Martin \t", " Alice@Example.com ", "Alice Martin", ""},
		{long, "a@example.com", long, ""},
		{"O'Brien - Smith", "a+tag@example.com", "O'Brien - Smith", ""},
		{"Jane\nDoe", "a@example.com", "Jane\nDoe", "name has a line break"},
		{"Jane\u200bDoe", "a@example.com", "Jane\u200bDoe", "name has the invisible control character U+200B"},
		{"Jane\x07", "a@example.com", "Jane\x07", "name has the invisible control character U+0007"},

		{"", "a@example.com", "", "name is missing"},
		{" \t ", "a@example.com", "", "name is missing"},
		{long + "é", "a@example.com", long + "é", "name is longer than 200 characters"},
		{"Alice", "", "Alice", "email is missing"},
		{"Alice", "   ", "Alice", "email is missing"},
		{"Alice", "alice", "Alice", `email "alice" is not a valid address`},
		{"Alice", "Alice <alice@example.com>", "Alice", `email "alice <alice@example.com>" is not a valid address`},
		{"Alice", "alice@example", "Alice", `email "alice@example" is not a valid address`},
		{"Alice", strings.Repeat("a", 300) + "@example.com", "Alice", `email "` + strings.Repeat("a", 60) + `"… is not a valid address`},
		{"", "", "", "name is missing; email is missing"},

		// Formula injection (OWASP CSV injection): =, +, -, @, tab, CR.
		{`=cmd|' /C calc'!A0`, "a@example.com", `=cmd|' /C calc'!A0`, `name starts with "=": spreadsheet formulas are not accepted`},
		{"+1", "a@example.com", "+1", `name starts with "+": spreadsheet formulas are not accepted`},
		{"-2", "a@example.com", "-2", `name starts with "-": spreadsheet formulas are not accepted`},
		{"@SUM(1)", "a@example.com", "@SUM(1)", `name starts with "@": spreadsheet formulas are not accepted`},
		{"   =1+1", "a@example.com", "=1+1", `name starts with "=": spreadsheet formulas are not accepted`},
		{"\u00a0\u3000=1+1", "a@example.com", "=1+1", `name starts with "=": spreadsheet formulas are not accepted`},
		{"\t=1+1", "a@example.com", "=1+1", `name starts with "=": spreadsheet formulas are not accepted`},
		{"\tAlice", "a@example.com", "Alice", "name starts with a tab: spreadsheet formulas are not accepted"},
		{"  \tAlice", "a@example.com", "Alice", "name starts with a tab: spreadsheet formulas are not accepted"},
		{"\rAlice", "a@example.com", "Alice", "name starts with a carriage return: spreadsheet formulas are not accepted"},
		{"=" + long, "a@example.com", "=" + long, `name starts with "=": spreadsheet formulas are not accepted`},
		{"Alice", `=cmd|' /C calc'!A0`, "Alice", `email starts with "=": spreadsheet formulas are not accepted`},
		{"Alice", "=a@example.com", "Alice", `email starts with "=": spreadsheet formulas are not accepted`},
		{"Alice", "+1@example.com", "Alice", `email starts with "+": spreadsheet formulas are not accepted`},
		{"Alice", " -2@example.com", "Alice", `email starts with "-": spreadsheet formulas are not accepted`},
		{"Alice", "@SUM(1)", "Alice", `email starts with "@": spreadsheet formulas are not accepted`},
		{"Alice", "\t=1@example.com", "Alice", `email starts with "=": spreadsheet formulas are not accepted`},
		{"Alice", "\u00a0+1@example.com", "Alice", `email starts with "+": spreadsheet formulas are not accepted`},
		{"+1", "-2", "+1", `name starts with "+": spreadsheet formulas are not accepted; email starts with "-": spreadsheet formulas are not accepted`},
		{"Alice=Bob", "a=b@example.com", "Alice=Bob", ""},
	} {
		name, reason := bulk.CheckRow(row(1, tc.name, tc.email))
		if name != tc.wantName || reason != tc.want {
			t.Errorf("CheckRow(%q, %q) = %q, %q\nwant %q, %q", tc.name, tc.email, name, reason, tc.wantName, tc.want)
		}
	}
}

// store is an in-memory Recipients source.
type store struct {
	heads   map[string]*domain.Credential
	counted map[string]bool
	asked   []string // emails Counted was asked about
}

func (s *store) recipients(used, limit int) bulk.Recipients {
	return bulk.Recipients{
		Current: func(email string) *domain.Credential { return s.heads[email] },
		Counted: func(email string) bool {
			s.asked = append(s.asked, email)
			return s.counted[email]
		},
		QuotaUsed:  used,
		QuotaLimit: limit,
	}
}

func credential(id string, edit func(c *domain.Credential)) *domain.Credential {
	c := &domain.Credential{ID: domain.CredentialID(id), IssuedAt: t0.AddDate(0, -2, 0)}
	if edit != nil {
		edit(c)
	}
	return c
}

func TestPreviewStates(t *testing.T) {
	t.Parallel()
	s := &store{heads: map[string]*domain.Credential{
		"expired@example.com": credential("CRD-EXPIRED1", func(c *domain.Credential) { c.ExpiresAt = ptr(t0.Add(-time.Hour)) }),
		"expires-now@example.com": credential("CRD-EXPIRED2", func(c *domain.Credential) {
			c.ExpiresAt = ptr(t0)
		}),
		"revoked@example.com": credential("CRD-REVOKED1", func(c *domain.Credential) { c.RevokedAt = ptr(t0.AddDate(0, -1, 0)) }),
		"revoked-bound@example.com": credential("CRD-REVOKED2", func(c *domain.Credential) {
			c.RevokedAt, c.ExpiresAt = ptr(t0.AddDate(0, -1, 0)), ptr(t0.AddDate(1, 0, 0))
		}),
		"bound@example.com":   credential("CRD-BOUND001", func(c *domain.Credential) { c.ExpiresAt = ptr(t0.Add(time.Second)) }),
		"claimed@example.com": credential("CRD-CLAIMED1", func(c *domain.Credential) { c.ClaimedAt = ptr(t0.AddDate(0, 0, -1)) }),
		"forever@example.com": credential("CRD-FOREVER1", nil),
	}}
	in := []domain.CSVRow{
		row(1, "New", "new@example.com"),
		row(2, "Expired", "expired@example.com"),
		row(3, "Expires now", "expires-now@example.com"),
		row(4, "Revoked", "revoked@example.com"),
		row(5, "Revoked bound", "revoked-bound@example.com"),
		row(6, "Bound", "bound@example.com"),
		row(7, "Claimed", "claimed@example.com"),
		row(8, "Forever", "forever@example.com"),
	}
	got, totals := bulk.Preview(in, s.recipients(0, domain.Unlimited), t0)
	want := []domain.PreviewRow{
		{Row: 1, Name: "New", Email: "new@example.com", State: domain.RowNew},
		{Row: 2, Name: "Expired", Email: "expired@example.com", State: domain.RowRenewal, ExistingID: "CRD-EXPIRED1"},
		{Row: 3, Name: "Expires now", Email: "expires-now@example.com", State: domain.RowRenewal, ExistingID: "CRD-EXPIRED2"},
		{Row: 4, Name: "Revoked", Email: "revoked@example.com", State: domain.RowRenewal, ExistingID: "CRD-REVOKED1"},
		{Row: 5, Name: "Revoked bound", Email: "revoked-bound@example.com", State: domain.RowRenewal, ExistingID: "CRD-REVOKED2"},
		{Row: 6, Name: "Bound", Email: "bound@example.com", State: domain.RowActiveTimeBound, ExistingID: "CRD-BOUND001"},
		{Row: 7, Name: "Claimed", Email: "claimed@example.com", State: domain.RowSkipped, Reason: "already holds CRD-CLAIMED1, which does not expire", ExistingID: "CRD-CLAIMED1"},
		{Row: 8, Name: "Forever", Email: "forever@example.com", State: domain.RowSkipped, Reason: "already holds CRD-FOREVER1, which does not expire", ExistingID: "CRD-FOREVER1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Preview =\n%+v\nwant\n%+v", got, want)
	}
	wantTotals := domain.PreviewTotals{Rows: 8, New: 1, Renewal: 4, ActiveTimeBound: 1, Skipped: 2}
	if totals != wantTotals {
		t.Errorf("totals = %+v, want %+v", totals, wantTotals)
	}
}

func TestPreviewRepeatedEmails(t *testing.T) {
	t.Parallel()
	s := &store{heads: map[string]*domain.Credential{"forever@example.com": credential("CRD-FOREVER1", nil)}}
	in := []domain.CSVRow{
		row(1, "", "alice@example.com"),            // invalid: does not claim the email
		row(2, "Alice", "Alice@Example.com"),       // the first valid row wins
		row(3, "Alice Again", "ALICE@example.COM"), // repeats row 2
		row(4, "Alice", " alice@example.com "),     // repeats row 2
		row(5, "Bad", "not-an-email"),
		row(6, "Bad", "not-an-email"), // its own reason, not a repeat
		row(7, "Forever", "forever@example.com"),
		row(8, "Forever", "forever@example.com"), // a repeat of a skipped row
	}
	got, totals := bulk.Preview(in, s.recipients(0, 10), t0)
	want := []struct {
		state  domain.RowState
		reason string
	}{
		{domain.RowInvalid, "name is missing"},
		{domain.RowNew, ""},
		{domain.RowInvalid, "email repeats row 2"},
		{domain.RowInvalid, "email repeats row 2"},
		{domain.RowInvalid, `email "not-an-email" is not a valid address`},
		{domain.RowInvalid, `email "not-an-email" is not a valid address`},
		{domain.RowSkipped, "already holds CRD-FOREVER1, which does not expire"},
		{domain.RowInvalid, "email repeats row 7"},
	}
	for i, w := range want {
		if got[i].State != w.state || got[i].Reason != w.reason {
			t.Errorf("row %d = %s %q, want %s %q", got[i].Row, got[i].State, got[i].Reason, w.state, w.reason)
		}
	}
	if got[3].Email != "alice@example.com" {
		t.Errorf("row 4 email = %q, want it normalized", got[3].Email)
	}
	if totals.New != 1 || totals.Skipped != 1 || totals.Invalid != 6 || totals.Rows != 8 {
		t.Errorf("totals = %+v", totals)
	}
}

func TestPreviewQuota(t *testing.T) {
	t.Parallel()
	const full = "monthly recipient quota reached (used 3 of 3; resets 2026-04-01 00:00 UTC)"
	heads := map[string]*domain.Credential{
		"forever@example.com": credential("CRD-FOREVER1", nil),
		"expired@example.com": credential("CRD-EXPIRED1", func(c *domain.Credential) { c.ExpiresAt = ptr(t0.Add(-time.Hour)) }),
	}
	for _, tc := range []struct {
		name        string
		used, limit int
		test        bool
		counted     []string
		emails      []string
		want        []string // "" for a row that takes no quota refusal
		wantAsked   int      // Counted calls
	}{
		{name: "room for every row", used: 0, limit: 3, emails: []string{"a", "b", "c"}, want: []string{"", "", ""}, wantAsked: 3},
		{name: "exactly at the limit", used: 1, limit: 3, emails: []string{"a", "b", "c"}, want: []string{"", "", full}, wantAsked: 3},
		{name: "last slot", used: 2, limit: 3, emails: []string{"a"}, want: []string{""}, wantAsked: 1},
		{name: "full before the file", used: 3, limit: 3, emails: []string{"a", "b"}, want: []string{full, full}, wantAsked: 2},
		{name: "over the limit after a downgrade", used: 5, limit: 3, emails: []string{"a"}, want: []string{"monthly recipient quota reached (used 5 of 3; resets 2026-04-01 00:00 UTC)"}, wantAsked: 1},
		{name: "a counted email is free", used: 3, limit: 3, counted: []string{"b"}, emails: []string{"a", "b", "c"}, want: []string{full, "", full}, wantAsked: 3},
		{name: "renewals take a slot", used: 2, limit: 3, emails: []string{"expired", "a"}, want: []string{"", full}, wantAsked: 2},
		{name: "skipped rows take none", used: 2, limit: 3, emails: []string{"forever", "a"}, want: []string{"", ""}, wantAsked: 1},
		{name: "invalid rows take none", used: 2, limit: 3, emails: []string{"bad", "a"}, want: []string{"", ""}, wantAsked: 1},
		{name: "repeats take none", used: 2, limit: 3, emails: []string{"a", "a", "b"}, want: []string{"", "", full}, wantAsked: 2},
		{name: "zero quota", used: 0, limit: 0, emails: []string{"a"}, want: []string{"monthly recipient quota reached (used 0 of 0; resets 2026-04-01 00:00 UTC)"}, wantAsked: 1},
		{name: "unlimited", used: 1_000_000, limit: domain.Unlimited, emails: []string{"a", "b"}, want: []string{"", ""}},
		{name: "test mode", used: 3, limit: 3, test: true, emails: []string{"a", "b"}, want: []string{"", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := &store{heads: heads, counted: map[string]bool{}}
			for _, e := range tc.counted {
				s.counted[e+"@example.com"] = true
			}
			var in []domain.CSVRow
			for i, e := range tc.emails {
				email := e + "@example.com"
				if e == "bad" {
					email = "bad"
				}
				in = append(in, row(i+1, "Name", email))
			}
			r := s.recipients(tc.used, tc.limit)
			r.Test = tc.test
			got, totals := bulk.Preview(in, r, t0)
			for i, want := range tc.want {
				quota := got[i].State == domain.RowInvalid && strings.HasPrefix(got[i].Reason, "monthly")
				if want == "" && quota || want != "" && got[i].Reason != want {
					t.Errorf("row %d = %s %q, want quota reason %q", i+1, got[i].State, got[i].Reason, want)
				}
				if got[i].Quota != quota {
					t.Errorf("row %d Quota = %v, want %v", i+1, got[i].Quota, quota)
				}
			}
			if len(s.asked) != tc.wantAsked {
				t.Errorf("Counted asked about %q, want %d calls", s.asked, tc.wantAsked)
			}
			if totals.Rows != len(in) {
				t.Errorf("totals = %+v", totals)
			}
		})
	}
}

func TestPreviewQuotaKeepsState(t *testing.T) {
	t.Parallel()
	s := &store{heads: map[string]*domain.Credential{
		"bound@example.com": credential("CRD-BOUND001", func(c *domain.Credential) { c.ExpiresAt = ptr(t0.AddDate(0, 1, 0)) }),
	}}
	got, totals := bulk.Preview([]domain.CSVRow{row(1, "Bound", "bound@example.com")}, s.recipients(1, 1), t0)
	want := domain.PreviewRow{Row: 1, Name: "Bound", Email: "bound@example.com", State: domain.RowInvalid, Quota: true,
		Reason: "monthly recipient quota reached (used 1 of 1; resets 2026-04-01 00:00 UTC)", ExistingID: "CRD-BOUND001"}
	if len(got) != 1 || got[0] != want {
		t.Errorf("Preview = %+v, want %+v", got, want)
	}
	if totals.Invalid != 1 || totals.Issuable() != 0 {
		t.Errorf("totals = %+v", totals)
	}
}

func TestPreviewNilLookups(t *testing.T) {
	t.Parallel()
	got, totals := bulk.Preview([]domain.CSVRow{row(1, "A", "a@example.com"), row(2, "B", "b@example.com")},
		bulk.Recipients{QuotaLimit: 1}, t0)
	if got[0].State != domain.RowNew || got[1].State != domain.RowInvalid || !got[1].Quota {
		t.Errorf("Preview = %+v", got)
	}
	if totals != (domain.PreviewTotals{Rows: 2, New: 1, Invalid: 1}) {
		t.Errorf("totals = %+v", totals)
	}
	if got, totals := bulk.Preview(nil, bulk.Recipients{}, t0); len(got) != 0 || totals != (domain.PreviewTotals{}) {
		t.Errorf("Preview(nil) = %+v, %+v", got, totals)
	}
}

// TestPreviewOfParsedFile runs a file through ParseCSV and Preview.
func TestPreviewOfParsedFile(t *testing.T) {
	t.Parallel()
	data := "\xEF\xBB\xBFEmail,Name,Team\r\n" +
		"alice@example.com,Alice,A\r\n" +
		"\"bob@example.com\",\"Doe, Bob\",B\r\n" +
		"ALICE@example.com,Alice twice,A\r\n" +
		"carol@example.com,\"=HYPERLINK(\"\"http://x\"\")\",C\r\n" +
		"dave@example.com\r\n"
	in, err := bulk.ParseCSV("team.csv", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	got, totals := bulk.Preview(in, bulk.Recipients{QuotaLimit: domain.Unlimited}, t0)
	var reasons []string
	for _, r := range got {
		reasons = append(reasons, string(r.State)+": "+r.Reason)
	}
	want := []string{
		"new: ",
		"new: ",
		"invalid: email repeats row 1",
		`invalid: name starts with "=": spreadsheet formulas are not accepted`,
		"invalid: name is missing",
	}
	if !reflect.DeepEqual(reasons, want) {
		t.Errorf("preview =\n%q\nwant\n%q", reasons, want)
	}
	if got[1].Name != "Doe, Bob" || totals != (domain.PreviewTotals{Rows: 5, New: 2, Invalid: 3}) {
		t.Errorf("row 2 = %+v, totals = %+v", got[1], totals)
	}
}

func TestPreviewShortensTheCellsOfInvalidRowsItShowsBack(t *testing.T) {
	huge := strings.Repeat("é", 500_000) // 1 MB of two-byte characters
	rows, _ := bulk.Preview([]domain.CSVRow{{Row: 1, Name: huge, Email: "a@example.com"}}, bulk.Recipients{QuotaLimit: domain.Unlimited}, time.Now())
	got := rows[0]
	if got.State != domain.RowInvalid || len(got.Name) > 256+len("…") || !utf8.ValidString(got.Name) || !strings.HasSuffix(got.Name, "…") {
		t.Fatalf("invalid row shown back as %d bytes (valid UTF-8: %v), state %s", len(got.Name), utf8.ValidString(got.Name), got.State)
	}
}
