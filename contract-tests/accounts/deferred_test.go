package accounts_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/accounts"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
	"github.com/credence-dev/credence/core/work"
)

// Account mail is decided at delivery: a sign-up mails its verification
// link when it created the account and a notice to the owner when the
// email was taken; a resend mails nobody once the email is verified; a
// reset and a lock-out notice mail nobody at an address without an
// account (the mail ends dropped). A link's lifetime starts when its mail
// is composed, not when it was asked for.
func TestAccountMailIsComposedAtDelivery(t *testing.T) {
	stores(t, func(t *testing.T, e env) {
		ctx := t.Context()
		cipher, err := signing.NewCipher(make([]byte, signing.MasterKeySize))
		if err != nil {
			t.Fatal(err)
		}
		relay := &relayed{}
		delivery := work.NewDelivery(e.store, e.mail, cipher, e.clock, slog.New(slog.DiscardHandler), work.Options{})
		svc := accounts.New(e.store, e.clock, work.NewOutbox(e.store, cipher, relay, e.clock), slog.New(slog.DiscardHandler),
			accounts.Config{PublicURL: "https://credence.example"})
		for kind, compose := range svc.Composers() {
			delivery.Compose(kind, compose)
		}
		deliver := func() []string {
			t.Helper()
			ids := relay.take()
			if err := delivery.Deliver(ctx, ids...); err != nil {
				t.Fatal(err)
			}
			return ids
		}
		status := func(id string) domain.MailStatus {
			t.Helper()
			m, err := e.store.Mails().Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return m.Status
		}
		subjects := func(addr string) []string {
			var out []string
			for _, m := range e.mail.to(addr) {
				out = append(out, m.Subject)
			}
			return out
		}

		// Sign-up: the link to the account it created; a second sign-up
		// with that email mails its owner a notice, not a link.
		email := "kit-" + domain.NewID()[:6] + "@example.com"
		for _, name := range []string{"Kit", "Impostor"} {
			if err := svc.SignUp(ctx, accounts.SignUpInput{Email: email, Password: password, Name: name}); err != nil {
				t.Fatal(err)
			}
		}
		deliver()
		if got := subjects(email); len(got) != 2 || got[0] != "Verify your email for Credence" || got[1] != "Someone tried to sign up with your email" {
			t.Fatalf("mail after a sign-up and a second one with the same email: %q", got)
		}
		if strings.Contains(e.mail.to(email)[1].Text, "token=") || !strings.Contains(e.mail.to(email)[0].Text, "Hello Kit,") {
			t.Fatalf("the notice carries a link, or the link is not Kit's:\n%s\n%s", e.mail.to(email)[0].Text, e.mail.to(email)[1].Text)
		}
		if err := svc.VerifyEmail(ctx, e.mail.lastToken(t, email)); err != nil {
			t.Fatal(err)
		}

		// Resend once verified: dropped.
		if err := svc.ResendVerification(ctx, email); err != nil {
			t.Fatal(err)
		}
		ids := deliver()
		if len(ids) != 1 || status(ids[0]) != domain.MailDropped || len(e.mail.to(email)) != 2 {
			t.Fatalf("resend to a verified email: mail %v %s, %d mails in all", ids, status(ids[0]), len(e.mail.to(email)))
		}

		// Reset and lock-out of an unregistered email: dropped, nothing sent.
		ghost := "ghost-" + domain.NewID()[:6] + "@example.com"
		if err := svc.RequestPasswordReset(ctx, ghost); err != nil {
			t.Fatal(err)
		}
		for range domain.LoginFailureLimit {
			_, _ = svc.Login(ctx, accounts.LoginInput{Email: ghost, Password: "wrong password"}, accounts.Client{})
		}
		ids = deliver()
		if len(ids) != 2 || status(ids[0]) != domain.MailDropped || status(ids[1]) != domain.MailDropped || len(e.mail.to(ghost)) != 0 {
			t.Fatalf("reset and lock-out notice of an unregistered email: %d mails relayed, %d sent", len(ids), len(e.mail.to(ghost)))
		}

		// The reset link lives an hour from its composition: asked for now,
		// delivered 50 minutes later, it still works 59 minutes after that.
		if err := svc.RequestPasswordReset(ctx, email); err != nil {
			t.Fatal(err)
		}
		e.clock.advance(50 * time.Minute)
		deliver()
		e.clock.advance(59 * time.Minute)
		if err := svc.ConfirmPasswordReset(ctx, e.mail.lastToken(t, email), "a late but fine passphrase"); err != nil {
			t.Fatalf("a reset link 59 minutes after its mail was written, 109 after it was asked for: %v", err)
		}
	})
}
