package sqlstore

import (
	"strings"
	"testing"
)

func TestCopyTextEscapesWhatCOPYReads(t *testing.T) {
	for in, want := range map[string]string{
		"":                         "",
		"plain é text":             "plain é text",
		"a\\b":                     `a\\b`,
		"line\r\nnext\tcol\\":      `line\r\nnext\tcol\\`,
		"\n\nHello Ådå,\n":         `\n\nHello Ådå,\n`,
		"ends with backslash \\":   `ends with backslash \\`,
		"\\N is not a null marker": `\\N is not a null marker`,
	} {
		var b strings.Builder
		copyText(&b, in)
		if b.String() != want {
			t.Errorf("copyText(%q) = %q, want %q", in, b.String(), want)
		}
	}
}
