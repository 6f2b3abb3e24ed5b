package bulk_test

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/credence-dev/credence/core/bulk"
	"github.com/credence-dev/credence/core/domain"
)

// FuzzParseCSV feeds hostile files to ParseCSV and its result to Preview.
// Invariants: nothing panics; a refusal is an INVALID_CSV *domain.Error
// with a short UTF-8 detail; otherwise the rows are numbered 1, 2, … with
// normalized UTF-8 emails, and the preview has one row per row, totals
// that add up, and at most one issuable row per email.
func FuzzParseCSV(f *testing.F) {
	for _, s := range []string{
		"name,email\nAlice,alice@example.com\n",
		"\xEF\xBB\xBFEmail,Name\r\nalice@example.com,Alice\r\n",
		"\xEF\xBB\xBF",
		"",
		"name,email\n",
		"name,email,email\n",
		"Name,mail\nA,b\n",
		"name;email\nA;b@example.com\n",
		"name,email\n\"Doe, Jane\",jane@example.com\n\"Line\nTwo\",two@example.com\n",
		"name,email\n\"Ja\"ne\",a@example.com\n",
		"name,email\nJa\"ne,a@example.com\n",
		"name,email\n\"never closed,a@example.com\n",
		"name,email\r\"lone\rCR\",a@example.com\r",
		"name,email\nJean-Ren\xE9,jr@example.com\n",
		"name,email\n\xED\xA0\x80,a@example.com\n",
		"PK\x03\x04\x14\x00\x06\x00",
		"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1",
		"%PDF-1.7\n",
		"\x1F\x8B\x08\x00",
		"\x89PNG\r\n\x1A\n",
		"\xFF\xFEn\x00a\x00m\x00e\x00",
		"n\x00a\x00m\x00e\x00",
		"name,email\n=cmd|' /C calc'!A0,a@example.com\n+1,b@example.com\n-2,c@example.com\n@SUM(1),d@example.com\n",
		"name,email\nA,=1@example.com\nB,\t+1@example.com\n\"\rC\",c@example.com\n",
		"name,email\nA,a@example.com\nB,A@EXAMPLE.COM\nC, a@example.com \n",
		"name,email\n,\n  ,  \n\n\nA\n,b@example.com\nx,y,z,w\n",
		"name,email\n\u200bA,\u00a0a@example.com\u2028\n",
		"EMAIL,NAME,\"\"\"\",,\n\"\"\"\",\"\",\n",
		"name,email\nİ,İ@example.com\nK,k@example.com\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := bulk.ParseCSV("fuzz.csv", data)
		if err != nil {
			checkRefusal(t, err, rows)
			return
		}
		checkRows(t, rows)
		checkPreview(t, rows)
	})
}

func checkRefusal(t *testing.T, err error, rows []domain.CSVRow) {
	t.Helper()
	var de *domain.Error
	if !errors.As(err, &de) || de.Code != domain.CodeInvalidCSV {
		t.Fatalf("err = %v (%T), want an INVALID_CSV *domain.Error", err, err)
	}
	if rows != nil {
		t.Errorf("refusal %q came with %d rows", de.Detail, len(rows))
	}
	if de.Detail == "" || !utf8.ValidString(de.Detail) || len(de.Detail) > 1000 {
		t.Errorf("detail %q is empty, not UTF-8 or too long", de.Detail)
	}
}

func checkRows(t *testing.T, rows []domain.CSVRow) {
	t.Helper()
	if len(rows) == 0 || len(rows) > bulk.MaxRows {
		t.Fatalf("accepted %d rows", len(rows))
	}
	for i, r := range rows {
		if r.Row != i+1 {
			t.Fatalf("row %d is numbered %d", i+1, r.Row)
		}
		if domain.NormalizeEmail(r.Email) != r.Email || !utf8.ValidString(r.Email) || !utf8.ValidString(r.Name) {
			t.Fatalf("row %d: email %q is not normalized UTF-8, or name %q is not UTF-8", r.Row, r.Email, r.Name)
		}
	}
}

// fuzzRecipients derives a recipient's credential and quota state from
// its email, so every state occurs.
func fuzzRecipients(now time.Time) bulk.Recipients {
	past, future := now.Add(-time.Hour), now.Add(time.Hour)
	return bulk.Recipients{
		Current: func(email string) *domain.Credential {
			c := &domain.Credential{ID: "CRD-FUZZ0001", RecipientEmail: email}
			switch len(email) % 5 {
			case 0:
				return nil
			case 1:
				c.ExpiresAt = &past
			case 2:
				c.RevokedAt = &past
			case 3:
				c.ExpiresAt = &future
			}
			return c
		},
		Counted:    func(email string) bool { return len(email)%3 == 0 },
		QuotaUsed:  1,
		QuotaLimit: 3,
	}
}

func checkPreview(t *testing.T, rows []domain.CSVRow) {
	t.Helper()
	now := time.Date(2026, time.March, 15, 12, 0, 0, 0, time.UTC)
	out, totals := bulk.Preview(rows, fuzzRecipients(now), now)
	if len(out) != len(rows) || totals.Rows != len(rows) ||
		totals.New+totals.Renewal+totals.ActiveTimeBound+totals.Skipped+totals.Invalid != len(rows) {
		t.Fatalf("%d rows gave %d preview rows and totals %+v", len(rows), len(out), totals)
	}
	issuable := map[string]bool{}
	slots := 0
	for i, p := range out {
		// An invalid row's cells come back cut to 256 bytes and marked.
		shown := p.Email == rows[i].Email || p.State == domain.RowInvalid && len(rows[i].Email) > 256 &&
			strings.HasSuffix(p.Email, "…") && strings.HasPrefix(rows[i].Email, strings.TrimSuffix(p.Email, "…"))
		if p.Row != rows[i].Row || !shown {
			t.Fatalf("preview row %d is %d %q, want %d %q", i, p.Row, p.Email, rows[i].Row, rows[i].Email)
		}
		if (p.State == domain.RowInvalid || p.State == domain.RowSkipped) != (p.Reason != "") || p.Quota && p.State != domain.RowInvalid {
			t.Fatalf("row %d: state %s, reason %q, quota %v", p.Row, p.State, p.Reason, p.Quota)
		}
		if !p.State.Issuable() {
			continue
		}
		if issuable[p.Email] {
			t.Fatalf("row %d: %q is issued twice", p.Row, p.Email)
		}
		issuable[p.Email] = true
		checkIssuable(t, rows[i], p)
		if len(p.Email)%3 != 0 {
			slots++
		}
	}
	if slots > 2 {
		t.Fatalf("%d quota slots taken, 2 were left", slots)
	}
}

// checkIssuable fails unless an issuable row passes the rules of single
// issuance and starts no cell with a formula character.
func checkIssuable(t *testing.T, in domain.CSVRow, p domain.PreviewRow) {
	t.Helper()
	if _, reason := bulk.CheckRow(in); reason != "" {
		t.Fatalf("row %d is issuable but CheckRow says %q", p.Row, reason)
	}
	rc, err := domain.NormalizeRecipient(domain.Recipient{Name: in.Name, Email: in.Email})
	if err != nil || rc.Name != p.Name || rc.Email != p.Email {
		t.Fatalf("row %d is issuable as %q <%s> but single issuance says %v (%q <%s>)", p.Row, p.Name, p.Email, err, rc.Name, rc.Email)
	}
	for _, v := range []string{p.Name, p.Email} {
		if strings.IndexAny(v, "=+-@\t\r") == 0 {
			t.Fatalf("row %d is issuable with the formula-like value %q", p.Row, v)
		}
	}
}
