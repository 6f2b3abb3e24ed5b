package mailer_test

import (
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/credence-dev/credence/adapters/filemail"
	"github.com/credence-dev/credence/adapters/smtpmail"
	"github.com/credence-dev/credence/contract-tests/harness"
	"github.com/credence-dev/credence/contract-tests/mailer"
)

func TestFileMail(t *testing.T) {
	mailer.Run(t, func(t *testing.T) mailer.Target {
		dir := filepath.Join(t.TempDir(), "mail")
		m, err := filemail.New(dir, mailer.From, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("filemail.New: %v", err)
		}
		return mailer.Target{Mailer: m, Delivered: func(t *testing.T) [][]byte { return emlFiles(t, dir) }}
	})
}

// TestSMTPMail runs the suite against smtpmail and a real SMTP server,
// authenticating over STARTTLS and over implicit TLS.
func TestSMTPMail(t *testing.T) {
	for _, mode := range []string{harness.SMTPStartTLS, harness.SMTPImplicit} {
		t.Run(mode, func(t *testing.T) {
			mailer.Run(t, func(t *testing.T) mailer.Target {
				srv := harness.StartSMTP(t, harness.SMTPOptions{TLS: mode, User: user, Pass: pass})
				m := newSMTP(t, srv.URL(user, pass, "insecure_skip_verify=true"), nil)
				return mailer.Target{Mailer: m, Delivered: func(*testing.T) [][]byte {
					var out [][]byte
					for _, d := range srv.Delivered() {
						out = append(out, d.Data)
					}
					return out
				}}
			})
		})
	}
}

// emlFiles reads the messages filemail wrote to dir.
func emlFiles(t *testing.T, dir string) [][]byte {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil {
		t.Fatalf("list mail: %v", err)
	}
	sort.Strings(names)
	var out [][]byte
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatalf("read mail: %v", err)
		}
		out = append(out, b)
	}
	return out
}

// The account of the in-test servers. The password has characters a URL
// must escape, and is looked for in every error and log line.
const (
	user = "credence@credence.test"
	pass = "pa55:w%rd/Ünïcode@secret"
)

// smtpURL is the URL of a server at addr that is no harness.SMTPServer,
// with the account and query.
func smtpURL(addr, query string) string {
	return (&url.URL{Scheme: "smtp", User: url.UserPassword(user, pass), Host: addr, RawQuery: query}).String()
}

// newSMTP returns an smtpmail.Mailer for rawURL sending as mailer.From,
// logging into logs when it is not nil.
func newSMTP(t *testing.T, rawURL string, logs *harness.SyncBuffer) *smtpmail.Mailer {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	if logs != nil {
		log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	m, err := smtpmail.New(rawURL, mailer.From, log)
	if err != nil {
		t.Fatalf("smtpmail.New: %v", err)
	}
	return m
}

// noSecret fails when text shows pass, raw or URL-escaped.
func noSecret(t *testing.T, what, text string) {
	t.Helper()
	for _, s := range []string{pass, url.UserPassword(user, pass).String(), "pa55", "wrong-pass"} {
		if strings.Contains(text, s) {
			t.Errorf("%s shows a password (%q): %s", what, s, text)
		}
	}
}
