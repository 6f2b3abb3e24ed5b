package httpapi

import (
	"strings"
	"testing"
	"unicode"
)

// Text a spreadsheet would run as a formula, at the start of a cell or of
// any part a spreadsheet may split off as one, gets a quote before it;
// nothing else changes.
func TestSpreadsheetSafe(t *testing.T) {
	for in, want := range map[string]string{
		"plain text":            "plain text",
		"=HYPERLINK(\"x\")":     "'=HYPERLINK(\"x\")",
		"+1":                    "'+1",
		"-5":                    "'-5",
		"@SUM(A1)":              "'@SUM(A1)",
		"  =1":                  "  '=1",
		"x;=cmd|' /C calc'!A0":  "x;'=cmd|' /C calc'!A0",
		"x, =1":                 "x, '=1",
		"a\t@x":                 "a\t'@x",
		"line\n=1":              "line\n'=1",
		"＝1+1":                  "'＝1+1",
		"a-b c=d e@f.example":   "a-b c=d e@f.example",
		"":                      "",
		"user@example.com":      "user@example.com",
		"2001:db8::1":           "2001:db8::1",
		"credential.issued; ok": "credential.issued; ok",
	} {
		if got := spreadsheetSafe(in); got != want {
			t.Errorf("spreadsheetSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzSpreadsheetSafe: the output is the input with quotes added, and no
// part a spreadsheet may read as a cell starts a formula.
func FuzzSpreadsheetSafe(f *testing.F) {
	for _, s := range []string{"=1", "x;=1", " \t-1", "＠a", "a,b;c\td"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := spreadsheetSafe(in)
		if strings.ReplaceAll(out, "'", "") != strings.ReplaceAll(in, "'", "") {
			t.Fatalf("spreadsheetSafe(%q) = %q changed more than quotes", in, out)
		}
		for _, part := range strings.FieldsFunc(out, func(r rune) bool { return strings.ContainsRune(";,\t\r\n", r) }) {
			part = strings.TrimLeftFunc(part, unicode.IsSpace)
			if part != "" && strings.ContainsRune("=+-@＝＋－＠", []rune(part)[0]) {
				t.Fatalf("spreadsheetSafe(%q) = %q: part %q starts a formula", in, out, part)
			}
		}
	})
}
