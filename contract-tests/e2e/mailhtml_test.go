package e2e

import (
	"html"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/credence-dev/credence/contract-tests/mailer"
)

var (
	// verifyURLRE finds the whole verification link of a text body.
	verifyURLRE = regexp.MustCompile(`https?://\S+/verify-email\?token=[A-Za-z0-9_-]+`)
	hrefRE      = regexp.MustCompile(`href="([^"]*)"`)
)

// testMailHTML signs a user up (with markup in their name) and reads the
// verification mail as a mail client does: multipart/alternative, the
// text and an HTML version whose links all go where the text's link
// goes, with the name escaped.
func testMailHTML(t *testing.T, e *env) {
	email := uniqueEmail("mailhtml")
	const name = `Hal "<b>Html</b>" O'Mail`
	e.anon(t).expect(http.StatusCreated, http.MethodPost, "/api/v1/auth/signup",
		map[string]string{"email": email, "password": testPassword, "name": name}, nil)
	m := e.latestMail(t, email, "Verify your email")
	got := e.readMail(t, m)

	if mt, _, err := mime.ParseMediaType(got.Header.Get("Content-Type")); err != nil || mt != "multipart/alternative" {
		t.Fatalf("%s: Content-Type %q (%v), want multipart/alternative", m.File, got.Header.Get("Content-Type"), err)
	}
	if got.HTML == "" {
		t.Fatalf("%s has no text/html part", m.File)
	}
	link := verifyURLRE.FindString(got.Text)
	if link == "" || !strings.HasPrefix(link, e.url+"/") {
		t.Fatalf("no verification link under %s in the text part:\n%s", e.url, got.Text)
	}
	hrefs := hrefRE.FindAllStringSubmatch(got.HTML, -1)
	if len(hrefs) == 0 {
		t.Fatalf("no link in the HTML part:\n%s", got.HTML)
	}
	for _, h := range hrefs {
		if href := html.UnescapeString(h[1]); href != link {
			t.Errorf("HTML link %q, want the text's %q", href, link)
		}
	}
	if !strings.Contains(got.HTML, ">Confirm your email address</a>") {
		t.Errorf("the HTML part has no button to confirm the address:\n%s", got.HTML)
	}
	if !strings.Contains(got.Text, "Hello "+name+",") {
		t.Errorf("the text part does not greet %q:\n%s", name, got.Text)
	}
	if !strings.Contains(got.HTML, "Hello "+html.EscapeString(name)+",") || strings.Contains(got.HTML, "<b>Html") {
		t.Errorf("the HTML part does not greet %q escaped:\n%s", name, got.HTML)
	}
}

// readMail reads the file of m as a mail reader does (mailer.Parse checks
// its MIME structure: text/plain alone or then text/html).
func (s *server) readMail(t *testing.T, m mail) mailer.Message {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(s.dataDir, "mail", m.File))
	if err != nil {
		t.Fatalf("read mail: %v", err)
	}
	return mailer.Parse(t, raw)
}
