package bulk

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/credence-dev/credence/core/domain"
)

// MaxNameRunes is the longest recipient name, as for single issuance.
const MaxNameRunes = 200

// Recipients is what the store knows about the rows' recipients.
type Recipients struct {
	// Current returns the recipient's chain head of the badge, nil for
	// none. A nil Current knows no credential.
	Current func(email string) *domain.Credential
	// Counted reports whether the recipient is already counted in this
	// month's quota. A nil Counted counts nobody.
	Counted func(email string) bool
	// QuotaUsed is how many recipients this month has counted so far.
	QuotaUsed int
	// QuotaLimit is the monthly recipient quota; domain.Unlimited (or any
	// negative number) for no limit.
	QuotaLimit int
	// Test is test mode: test credentials take no quota.
	Test bool
}

// Preview classifies every row, in order, the way processing will treat
// it at now:
//
//   - a row whose cells break a rule of CheckRow is invalid;
//   - a row whose email an earlier valid row holds is invalid ("email
//     repeats row N"): the first valid row of an email wins;
//   - otherwise the recipient's current credential gives the state: new,
//     renewal (expired or revoked), active_time_bound, or skipped for an
//     active one that does not expire;
//   - an issuable row of a recipient not yet counted this month takes one
//     of the quota's remaining slots, and is invalid, with Quota set, when
//     none is left. Skipped and invalid rows take no slot, nor do counted
//     recipients or rows in test mode.
func Preview(rows []domain.CSVRow, r Recipients, now time.Time) ([]domain.PreviewRow, domain.PreviewTotals) {
	p := previewer{r: r, now: now, seen: make(map[string]int, len(rows)), used: r.QuotaUsed}
	out := make([]domain.PreviewRow, 0, len(rows))
	var totals domain.PreviewTotals
	for _, row := range rows {
		pr := p.row(row)
		out = append(out, pr)
		totals.Add(pr)
	}
	return out, totals
}

// previewer carries what earlier rows of a preview settled.
type previewer struct {
	r    Recipients
	now  time.Time
	seen map[string]int // email → row number of its first valid row
	used int            // quota slots used, this file's rows included
}

// row classifies one row.
func (p *previewer) row(row domain.CSVRow) domain.PreviewRow {
	name, reason := CheckRow(row)
	email := domain.NormalizeEmail(row.Email)
	pr := domain.PreviewRow{Row: row.Row, Name: name, Email: email}
	if reason != "" {
		return invalidRow(pr, reason)
	}
	if first, ok := p.seen[email]; ok {
		return invalidRow(pr, fmt.Sprintf("email repeats row %d", first))
	}
	p.seen[email] = row.Row
	cur := p.current(email)
	pr.State = domain.RowStateOf(domain.PreIssueState(cur, p.now))
	if cur != nil {
		pr.ExistingID = cur.ID
	}
	if pr.State == domain.RowSkipped {
		pr.Reason = SkipReason(cur.ID)
		return pr
	}
	if reason := p.takeSlot(email); reason != "" {
		pr.Quota = true
		return invalidRow(pr, reason)
	}
	return pr
}

// invalidRow marks pr invalid for reason.
func invalidRow(pr domain.PreviewRow, reason string) domain.PreviewRow {
	pr.State, pr.Reason = domain.RowInvalid, reason
	pr.Name, pr.Email = shorten(pr.Name), shorten(pr.Email)
	return pr
}

// echoMax bounds the cells of an invalid row as the preview shows them
// back: a 1 MB cell is not worth a 1 MB answer.
const echoMax = 256

// shorten cuts s to echoMax bytes at a character boundary, marking the cut.
func shorten(s string) string {
	if len(s) <= echoMax {
		return s
	}
	cut := echoMax
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// current returns the recipient's current credential, nil for none.
func (p *previewer) current(email string) *domain.Credential {
	if p.r.Current == nil {
		return nil
	}
	return p.r.Current(email)
}

// takeSlot takes a quota slot for an issuable row, or says why it cannot.
func (p *previewer) takeSlot(email string) string {
	if p.r.Test || p.r.QuotaLimit < 0 || (p.r.Counted != nil && p.r.Counted(email)) {
		return ""
	}
	if p.used >= p.r.QuotaLimit {
		return QuotaReason(p.used, p.r.QuotaLimit, p.now)
	}
	p.used++
	return ""
}

// SkipReason is the reason of a row skipped because its recipient already
// holds id, an active credential of the badge that does not expire.
func SkipReason(id domain.CredentialID) string {
	return fmt.Sprintf("already holds %s, which does not expire", id)
}

// QuotaReason is the reason of a row over the monthly quota, used of
// limit recipients being counted at now.
func QuotaReason(used, limit int, now time.Time) string {
	return fmt.Sprintf("monthly recipient quota reached (used %d of %d; resets %s)",
		used, limit, domain.NextMonthStart(now).Format("2006-01-02 15:04 MST"))
}

// CheckRow applies the rules on a row's own cells, at preview and again
// at processing: it returns the cleaned name, and the reason the row is
// invalid ("" when it is not) — the name's problem and the email's
// problem, joined by "; ". The rules: a name of 1 to MaxNameRunes
// characters of text; a valid email address; no value that starts with
// =, +, - or @ once trimmed, nor a name cell that starts with a tab or a
// carriage return after plain spaces: spreadsheets read those as
// formulas when the data is exported again.
func CheckRow(r domain.CSVRow) (name string, reason string) {
	name, nameReason := checkName(r.Name)
	emailReason := checkEmail(domain.NormalizeEmail(r.Email))
	switch {
	case nameReason != "" && emailReason != "":
		return name, nameReason + "; " + emailReason
	case nameReason != "":
		return name, nameReason
	default:
		return name, emailReason
	}
}

// checkName cleans a name cell and says what is wrong with it, if anything.
func checkName(raw string) (string, string) {
	name, ok := domain.CleanText(raw, MaxNameRunes, false)
	switch {
	case name == "":
		return name, "name is missing"
	case formulaStart(raw, name) != "":
		return name, "name starts with " + formulaStart(raw, name) + ": spreadsheet formulas are not accepted"
	case utf8.RuneCountInString(name) > MaxNameRunes:
		return name, fmt.Sprintf("name is longer than %d characters", MaxNameRunes)
	case !ok:
		return name, "name " + badText(name)
	}
	return name, ""
}

// checkEmail says what is wrong with a normalized email, if anything.
func checkEmail(email string) string {
	switch {
	case email == "":
		return "email is missing"
	case formulaStart(email, email) != "":
		return "email starts with " + formulaStart(email, email) + ": spreadsheet formulas are not accepted"
	case !domain.ValidEmail(email):
		return fmt.Sprintf("email %s is not a valid address", quote(email))
	}
	return ""
}

// formulaStart names the character a cell starts with when a spreadsheet
// would read the cell as a formula, and returns "" otherwise: raw is the
// cell as written, whose first character after plain spaces must not be
// a tab or a carriage return, and trimmed the value kept, which must not
// start with =, +, - or @.
func formulaStart(raw, trimmed string) string {
	if r, _ := utf8.DecodeRuneInString(trimmed); strings.ContainsRune("=+-@", r) {
		return fmt.Sprintf("%q", string(r))
	}
	switch r, _ := utf8.DecodeRuneInString(strings.TrimLeft(raw, " ")); r {
	case '\t':
		return "a tab"
	case '\r':
		return "a carriage return"
	}
	return ""
}

// badText says why text that is not too long failed domain.CleanText.
func badText(s string) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r':
			return "has a line break"
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			return fmt.Sprintf("has the invisible control character U+%04X", r)
		}
	}
	return "is not plain text"
}
