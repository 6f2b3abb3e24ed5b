package e2e

import (
	"mime"
	"net/http"
	netmail "net/mail"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credence-dev/credence/contract-tests/harness"
	"github.com/credence-dev/credence/contract-tests/mailer"
)

// The SMTP account of the servers' mail. The password has characters a
// URL escapes; no line of a server's log may show it, escaped or not.
const (
	smtpUser = "credence-e2e@mx.credence.test"
	smtpPass = "e2e-Sm7p:pa55/wörd@%secret"
	mailFrom = "Credence E2E <noreply@e2e.credence.test>"
	// mailWait bounds the wait for a mail; a retried one comes a second
	// (CREDENCE_MAIL_RETRY) and a sweep after the failed attempt.
	mailWait = 20 * time.Second
)

// TestSMTP runs the real server with CREDENCE_SMTP_URL pointing at an
// in-test SMTP server (STARTTLS with a self-signed certificate, AUTH
// PLAIN) on each store: mail goes out over it, a recipient the server
// refuses is not tried again, and a server that is down gets the mail
// once it is back.
func TestSMTP(t *testing.T) {
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			shared := newSMTPEnv(t, store)
			for _, sc := range []struct {
				name string
				own  bool // the scenario takes its SMTP server down: a server pair of its own
				run  func(*testing.T, *smtpEnv)
			}{
				{"verification_mail_over_tls_with_auth", false, testSMTPVerification},
				{"credential_mail_through_the_outbox", false, testSMTPCredentialMail},
				{"refused_recipient_tried_once", false, testSMTPRefusedRecipient},
				{"mail_waits_for_a_server_that_is_down", true, testSMTPServerDown},
			} {
				t.Run(sc.name, func(t *testing.T) {
					t.Parallel()
					e := shared
					if sc.own {
						e = newSMTPEnv(t, store)
					}
					sc.run(t, e)
				})
			}
		})
	}
}

// smtpEnv is a server whose mail goes to an in-test SMTP server of its own,
// retried a second after a failure, with its administrator signed in.
type smtpEnv struct {
	*env
	mx *harness.SMTPServer
}

func newSMTPEnv(t *testing.T, store string) *smtpEnv {
	t.Helper()
	e := &smtpEnv{mx: harness.StartSMTP(t, harness.SMTPOptions{User: smtpUser, Pass: smtpPass})}
	// Registered before the server starts, this runs after it stopped:
	// the whole log is read.
	t.Cleanup(func() {
		if e.env != nil {
			e.passwordNotLogged(t)
		}
	})
	s := startServer(t, store, withEnv(
		"CREDENCE_SMTP_URL", e.mx.URL(smtpUser, smtpPass, "insecure_skip_verify=true&timeout=10s"),
		"CREDENCE_MAIL_FROM", mailFrom,
		"CREDENCE_MAIL_RETRY", "1s",
		"CREDENCE_SWEEP_INTERVAL", "200ms"))
	e.env = &env{server: s}
	e.adminToken = e.register(t, s.adminEmail).Token
	return e
}

// passwordNotLogged fails when a line of the server's log shows the SMTP
// password as it is or escaped as in the URL.
func (e *smtpEnv) passwordNotLogged(t *testing.T) {
	t.Helper()
	if !strings.Contains(e.log.String(), "mail sent") {
		t.Errorf("the server log has no 'mail sent' line: is its mail going over SMTP?")
	}
	for _, secret := range []string{smtpPass, url.QueryEscape(smtpPass), url.PathEscape(smtpPass), url.UserPassword(smtpUser, smtpPass).String()} {
		if strings.Contains(e.log.String(), secret) {
			t.Errorf("the server log shows the SMTP password (%q):\n%s", secret, e.log.grep(secret))
		}
	}
}

// smtpMail is a message the SMTP server accepted, read by a mail reader.
type smtpMail struct {
	harness.SMTPDelivery
	mailer.Message
	Subject string // decoded
}

// smtpMails returns the messages accepted for address, oldest first.
func (e *smtpEnv) smtpMails(t *testing.T, address string) []smtpMail {
	t.Helper()
	var out []smtpMail
	for _, d := range e.mx.Delivered() {
		if !slices.Contains(d.To, address) {
			continue
		}
		m := smtpMail{SMTPDelivery: d, Message: mailer.Parse(t, d.Data)}
		var err error
		if m.Subject, err = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject")); err != nil {
			t.Errorf("Subject %q: %v", m.Header.Get("Subject"), err)
		}
		out = append(out, m)
	}
	return out
}

// mailTo waits for a message to address whose subject contains subject
// and returns the newest.
func (e *smtpEnv) mailTo(t *testing.T, address, subject string) smtpMail {
	t.Helper()
	var found smtpMail
	waitUntil(t, "a mail to "+address+" about "+subject, mailWait, func() bool {
		for _, m := range e.smtpMails(t, address) {
			if strings.Contains(m.Subject, subject) {
				found = m
			}
		}
		return found.Data != nil
	})
	return found
}

// requireSMTPMail checks how m went out: over TLS, as the configured
// account, from CREDENCE_MAIL_FROM (envelope and header) to address alone.
func requireSMTPMail(t *testing.T, m smtpMail, address string) {
	t.Helper()
	if !m.TLS || m.User != smtpUser {
		t.Errorf("mail to %s: tls %v, authenticated as %q; want TLS and %q", address, m.TLS, m.User, smtpUser)
	}
	want, _ := netmail.ParseAddress(mailFrom)
	if m.From != want.Address || !slices.Equal(m.To, []string{address}) {
		t.Errorf("envelope MAIL FROM %q RCPT TO %q, want %s and [%s]", m.From, m.To, want.Address, address)
	}
	if from, err := m.Header.AddressList("From"); err != nil || len(from) != 1 || *from[0] != *want {
		t.Errorf("From %q (%v), want %s", m.Header.Get("From"), err, mailFrom)
	}
	if to, err := m.Header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != address {
		t.Errorf("To %q (%v), want %s", m.Header.Get("To"), err, address)
	}
	if date, err := m.Header.Date(); err != nil || time.Since(date).Abs() > 5*time.Minute {
		t.Errorf("Date %q (%v), want about now", m.Header.Get("Date"), err)
	}
	if id := m.Header.Get("Message-ID"); !strings.HasSuffix(id, "@e2e.credence.test>") {
		t.Errorf("Message-ID %q, want one at the sender's domain", id)
	}
}

// signUp signs email up and returns the verification mail.
func (e *smtpEnv) signUp(t *testing.T, email string) smtpMail {
	t.Helper()
	e.anon(t).expect(http.StatusCreated, http.MethodPost, "/api/v1/auth/signup",
		map[string]string{"email": email, "password": testPassword, "name": "Sam Smtp"}, nil)
	return e.mailTo(t, email, "Verify your email")
}

// register signs email up, verifies it with the mailed token and signs in.
func (e *smtpEnv) register(t *testing.T, email string) user {
	t.Helper()
	token := mailedToken(t, e.signUp(t, email))
	e.anon(t).expect(http.StatusOK, http.MethodPost, "/api/v1/auth/verify-email", map[string]string{"token": token}, nil)
	return user{Email: email, Name: "Sam Smtp", Token: e.login(t, email)}
}

func mailedToken(t *testing.T, m smtpMail) string {
	t.Helper()
	match := verifyTokenRE.FindStringSubmatch(m.Text)
	if match == nil {
		t.Fatalf("no verification link in the mail:\n%s", m.Text)
	}
	return match[1]
}

// issuer registers an owner whose approved organization has signing keys
// and a badge, and waits for the approval mail: no mail of the set-up is
// left in flight.
func (e *smtpEnv) issuer(t *testing.T) (*client, org, badge) {
	t.Helper()
	owner := e.register(t, uniqueEmail("smtp-owner"))
	c := e.as(t, owner.Token)
	o := createOrg(c, "SMTP Academy "+unique("a"))
	e.approve(t, o.ID)
	e.mailTo(t, owner.Email, "is approved")
	generateKeys(c, o.ID, "")
	return c, o, createBadge(c, o.ID, 0)
}

// testSMTPVerification: the verification mail goes out over STARTTLS as
// the configured account and sender, and its link verifies the account.
func testSMTPVerification(t *testing.T, e *smtpEnv) {
	email := uniqueEmail("smtp-signup")
	m := e.signUp(t, email)
	requireSMTPMail(t, m, email)
	if m.Subject != "Verify your email for Credence" {
		t.Errorf("Subject %q", m.Subject)
	}
	token := mailedToken(t, m)
	if !strings.Contains(m.Text, e.url+"/verify-email?token="+token) {
		t.Errorf("the link is not under the public URL %s:\n%s", e.url, m.Text)
	}
	login := map[string]string{"email": email, "password": testPassword}
	e.anon(t).expectProblem(http.StatusForbidden, "EMAIL_NOT_VERIFIED", http.MethodPost, "/api/v1/auth/login", login)
	e.anon(t).expect(http.StatusOK, http.MethodPost, "/api/v1/auth/verify-email", map[string]string{"token": token}, nil)
	e.login(t, email)
}

// testSMTPCredentialMail: the credential-issued mail, written to the outbox
// and sent by the in-process queue, reaches the recipient once.
func testSMTPCredentialMail(t *testing.T, e *smtpEnv) {
	c, o, b := e.issuer(t)
	rcpt := uniqueEmail("smtp-rae")
	cr := issue(c, o.ID, b.ID, "Rae Smtp", rcpt)
	m := e.mailTo(t, rcpt, "new credential")
	requireSMTPMail(t, m, rcpt)
	if !strings.Contains(m.Subject, b.Name) || !strings.Contains(m.Text, cr.VerificationURL) {
		t.Errorf("credential mail %q does not name %q or link %s:\n%s", m.Subject, b.Name, cr.VerificationURL, m.Text)
	}
	if r := e.anon(t).do(http.MethodGet, strings.TrimPrefix(cr.VerificationURL, e.url), nil); r.Status != http.StatusOK {
		t.Errorf("the mailed link: %s", r)
	}
	if n := len(e.smtpMails(t, rcpt)); n != 1 {
		t.Errorf("%d mails to %s, want 1", n, rcpt)
	}
}

// testSMTPRefusedRecipient: a recipient the server refuses with 550 is
// tried once and given up (an ERROR, no retry) while other mail flows.
func testSMTPRefusedRecipient(t *testing.T, e *smtpEnv) {
	c, o, b := e.issuer(t)
	refused, other := uniqueEmail("smtp-refused"), uniqueEmail("smtp-other")
	e.mx.RejectRcpt(refused, 550)
	issue(c, o.ID, b.ID, "Ray Refused", refused)
	issue(c, o.ID, b.ID, "Otto Other", other)
	requireSMTPMail(t, e.mailTo(t, other, "new credential"), other)
	waitUntil(t, "the attempt to "+refused, mailWait, func() bool { return e.mx.RcptAttempts(refused) > 0 })
	waitUntil(t, "an ERROR line naming "+refused, mailWait, func() bool { return strings.Contains(e.log.grep(refused), "level=ERROR") })
	// A retry would come a second and a sweep after the attempt.
	holds(t, "one attempt to "+refused, 3*time.Second, func() bool { return e.mx.RcptAttempts(refused) == 1 })
	if lines := e.log.grep(refused); !strings.Contains(lines, "level=ERROR") || strings.Contains(lines, "level=WARN") {
		t.Errorf("the refusal is not logged as a failure for good (ERROR, never WARN):\n%s", lines)
	}
	if n := len(e.smtpMails(t, refused)); n != 0 {
		t.Errorf("%d mails delivered to the refused %s", n, refused)
	}
}

// testSMTPServerDown: while the server answers 421 the credential mail
// fails (a WARN: to be retried); once the server is up it arrives, once.
func testSMTPServerDown(t *testing.T, e *smtpEnv) {
	c, o, b := e.issuer(t)
	rcpt := uniqueEmail("smtp-later")
	e.mx.SetDown(true)
	cr := issue(c, o.ID, b.ID, "Lea Later", rcpt)
	waitUntil(t, "a WARN line naming "+rcpt, mailWait, func() bool { return strings.Contains(e.log.grep(rcpt), "level=WARN") })
	if e.mx.Refused() == 0 {
		t.Errorf("the down server refused no greeting")
	}
	e.mx.SetDown(false)
	m := e.mailTo(t, rcpt, "new credential")
	requireSMTPMail(t, m, rcpt)
	if !strings.Contains(m.Text, cr.VerificationURL) {
		t.Errorf("the retried mail does not link %s:\n%s", cr.VerificationURL, m.Text)
	}
	if n, tries := len(e.smtpMails(t, rcpt)), e.mx.RcptAttempts(rcpt); n != 1 || tries != 1 {
		t.Errorf("%d mails and %d RCPT TO for %s once up, want 1 and 1", n, tries, rcpt)
	}
	if lines := e.log.grep(rcpt); strings.Contains(lines, "level=ERROR") {
		t.Errorf("a temporary failure was logged as final:\n%s", lines)
	}
}

// waitUntil polls cond until it holds, failing t after timeout.
func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// holds polls cond for d, failing t as soon as it does not hold: for what
// must not happen.
func holds(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if !cond() {
			t.Fatalf("%s held for less than %s", what, d)
		}
	}
}
