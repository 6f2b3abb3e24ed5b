package mailer_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credence-dev/credence/contract-tests/harness"
	"github.com/credence-dev/credence/contract-tests/mailer"
	"github.com/credence-dev/credence/ports"
)

// Cases only an SMTP mailer has: the envelope, authentication, TLS, the
// server's replies, and a network that fails or hangs.

var msg = ports.Message{To: "joerg@example.test", Subject: "Zertifikat für Jörg", Text: "Hallo Jörg,\nIhr Zertifikat: https://credence.test/c/CRD-ABCD1234\n", HTML: "<p>Hallo Jörg</p>"}

// wait bounds how long a Send that must give up may take.
const wait = 10 * time.Second

// sendFails sends msg, fails the test unless Send errs, and checks the
// error neither shows the password nor leaves anything delivered.
func sendFails(t *testing.T, ctx context.Context, rawURL string, srv *harness.SMTPServer) error {
	t.Helper()
	logs := &harness.SyncBuffer{}
	err := newSMTP(t, rawURL, logs).Send(ctx, msg)
	if err == nil {
		t.Fatal("Send = nil, want an error")
	}
	noSecret(t, "error", err.Error())
	noSecret(t, "log", logs.String())
	if srv != nil {
		if got := srv.Delivered(); len(got) != 0 {
			t.Errorf("server accepted %d messages, want none", len(got))
		}
	}
	return err
}

func TestSMTPEnvelopeAuthAndTLS(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{harness.SMTPStartTLS, harness.SMTPImplicit} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			srv := harness.StartSMTP(t, harness.SMTPOptions{TLS: mode, User: user, Pass: pass})
			logs := &harness.SyncBuffer{}
			if err := newSMTP(t, srv.URL(user, pass, "insecure_skip_verify=true"), logs).Send(context.Background(), msg); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := srv.Delivered()
			if len(got) != 1 {
				t.Fatalf("server accepted %d messages, want 1", len(got))
			}
			d := got[0]
			if d.From != "noreply@credence.test" || len(d.To) != 1 || d.To[0] != msg.To {
				t.Errorf("envelope MAIL FROM %q RCPT TO %q, want noreply@credence.test and [%s]", d.From, d.To, msg.To)
			}
			if d.User != user || !d.TLS {
				t.Errorf("session user %q, tls %v; want %q over TLS", d.User, d.TLS, user)
			}
			m := mailer.Parse(t, d.Data)
			if m.HTML != msg.HTML+"\n" && m.HTML != msg.HTML {
				t.Errorf("html %q, want %q", m.HTML, msg.HTML)
			}
			// One line per message, without the password or the body.
			out := logs.String()
			noSecret(t, "log", out)
			if !strings.Contains(out, "mail sent") || strings.Contains(out, "Hallo") || strings.Contains(out, "CRD-ABCD1234") {
				t.Errorf("log = %q, want a 'mail sent' line without the body", out)
			}
		})
	}
}

func TestSMTPWrongPasswordFails(t *testing.T) {
	t.Parallel()
	srv := harness.StartSMTP(t, harness.SMTPOptions{User: user, Pass: pass})
	err := sendFails(t, context.Background(), srv.URL(user, "wrong-pass", "insecure_skip_verify=true"), srv)
	if errors.Is(err, ports.ErrPermanent) {
		t.Errorf("Send = %v; a wrong password concerns every mail, want it retryable", err)
	}
	if !strings.Contains(err.Error(), "535") {
		t.Errorf("Send = %v, want the server's 535 reply", err)
	}
	if srv.Auths() != 1 {
		t.Errorf("%d AUTH attempts, want 1", srv.Auths())
	}
}

func TestSMTPRejectionsPermanentOrNot(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		rcpt, data int // the server's reply to RCPT TO, to DATA; 0 accepts
		permanent  bool
	}{
		{"rcpt_550_permanent", 550, 0, true},
		{"rcpt_451_temporary", 451, 0, false},
		{"data_554_permanent", 0, 554, true},
		{"data_452_temporary", 0, 452, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := harness.StartSMTP(t, harness.SMTPOptions{User: user, Pass: pass})
			srv.RejectRcpt(msg.To, tc.rcpt)
			srv.RejectData(tc.data)
			err := sendFails(t, context.Background(), srv.URL(user, pass, "insecure_skip_verify=true"), srv)
			if errors.Is(err, ports.ErrPermanent) != tc.permanent {
				t.Errorf("Send = %v; permanent %v, want %v", err, !tc.permanent, tc.permanent)
			}
			if code := strconv.Itoa(tc.rcpt + tc.data); !strings.Contains(err.Error(), code) {
				t.Errorf("Send = %v, want the server's %s reply", err, code)
			}
		})
	}
}

func TestSMTPServerDownIsTemporary(t *testing.T) {
	t.Parallel()
	err := sendFails(t, context.Background(), smtpURL(closedPort(t), "insecure_skip_verify=true"), nil)
	if errors.Is(err, ports.ErrPermanent) {
		t.Errorf("Send = %v, want a retryable error", err)
	}
}

// STARTTLS required (the default) and the server offers none: no mail,
// and the password never goes out in clear. Opportunistic STARTTLS
// against the same server does not send the password in clear either,
// even though the server offers AUTH PLAIN there.
func TestSMTPNoSTARTTLSOffered(t *testing.T) {
	t.Parallel()
	for _, query := range []string{"", "starttls=required", "starttls=opportunistic"} {
		t.Run("query="+query, func(t *testing.T) {
			t.Parallel()
			srv := harness.StartSMTP(t, harness.SMTPOptions{TLS: harness.SMTPPlain, User: user, Pass: pass, InsecureAuth: true})
			err := sendFails(t, context.Background(), srv.URL(user, pass, query), srv)
			if query != "starttls=opportunistic" && !strings.Contains(err.Error(), "STARTTLS") {
				t.Errorf("Send = %v, want it to name STARTTLS", err)
			}
			if errors.Is(err, ports.ErrPermanent) {
				t.Errorf("Send = %v, want a retryable error", err)
			}
			if srv.Auths() != 0 {
				t.Errorf("%d AUTH attempts over a plain connection, want none", srv.Auths())
			}
		})
	}
}

// Plain SMTP (a local MailHog) works only when the URL asks for it.
func TestSMTPPlainWhenAsked(t *testing.T) {
	t.Parallel()
	for _, query := range []string{"tls=none", "starttls=opportunistic"} {
		t.Run(query, func(t *testing.T) {
			t.Parallel()
			srv := harness.StartSMTP(t, harness.SMTPOptions{TLS: harness.SMTPPlain})
			if err := newSMTP(t, srv.URL("", "", query), nil).Send(context.Background(), msg); err != nil {
				t.Fatalf("Send: %v", err)
			}
			if got := srv.Delivered(); len(got) != 1 || got[0].TLS {
				t.Errorf("server accepted %d messages (tls %v), want 1 in plain", len(got), len(got) == 1 && got[0].TLS)
			}
		})
	}
}

// A certificate the system does not trust is refused unless the URL says
// insecure_skip_verify=true, before any password is sent.
func TestSMTPUntrustedCertificateRefused(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{harness.SMTPStartTLS, harness.SMTPImplicit} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			srv := harness.StartSMTP(t, harness.SMTPOptions{TLS: mode, User: user, Pass: pass})
			err := sendFails(t, context.Background(), srv.URL(user, pass, ""), srv)
			if !strings.Contains(err.Error(), "certificate") {
				t.Errorf("Send = %v, want a certificate error", err)
			}
			if srv.Auths() != 0 {
				t.Errorf("%d AUTH attempts, want none", srv.Auths())
			}
		})
	}
}

// Cancelling ctx while the server is in the middle of DATA ends Send
// promptly with ctx's error.
func TestSMTPCancelMidSend(t *testing.T) {
	t.Parallel()
	srv := harness.StartSMTP(t, harness.SMTPOptions{User: user, Pass: pass})
	inData := srv.StallData()
	m := newSMTP(t, srv.URL(user, pass, "insecure_skip_verify=true"), nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- m.Send(ctx, msg) }()
	select {
	case <-inData:
	case err := <-done:
		t.Fatalf("Send returned before DATA: %v", err)
	case <-time.After(wait):
		t.Fatal("server never got to DATA")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Send = %v, want context.Canceled", err)
		}
		noSecret(t, "error", err.Error())
	case <-time.After(wait):
		t.Fatal("Send still running after its context was cancelled")
	}
}

// A server that accepts the connection and never answers: the URL's
// timeout, or ctx's deadline, whichever comes first, ends Send.
func TestSMTPHungServerTimesOut(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, query string
		ctxTimeout  time.Duration
	}{
		{"url_timeout", "timeout=200ms", 0},
		{"ctx_deadline", "", 200 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			if tc.ctxTimeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.ctxTimeout)
				defer cancel()
			}
			start := time.Now()
			err := sendFails(t, ctx, smtpURL(stalledServer(t), tc.query), nil)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Send = %v, want context.DeadlineExceeded", err)
			}
			if took := time.Since(start); took > wait {
				t.Errorf("Send took %v", took)
			}
		})
	}
}
