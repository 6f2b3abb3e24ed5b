package accounts_test

import (
	"errors"
	"testing"
	"time"

	"github.com/credence-dev/credence/adapters/sqlstore"
	"github.com/credence-dev/credence/contract-tests/harness"
	"github.com/credence-dev/credence/core/accounts"
	"github.com/credence-dev/credence/core/domain"
)

// FuzzTokens: whatever a client sends as a bearer token, an emailed link
// token or a sign-in code, it authenticates nothing and is refused with
// its stable code (never another error) — except the real ones.
func FuzzTokens(f *testing.F) {
	s, err := sqlstore.Open(f.Context(), harness.FreshSQLitePath(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = s.Close() })
	c := &clock{now: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)}
	m := &mailbox{}
	svc := newPlatform(nil, s, c, m, accounts.Config{PublicURL: "https://credence.example"}).Accounts

	email := "fuzz@example.com"
	if err := svc.SignUp(f.Context(), accounts.SignUpInput{Email: email, Password: password, Name: "Fuzz"}); err != nil {
		f.Fatal(err)
	}
	token := m.lastTokenF(f, email)
	if err := svc.VerifyEmail(f.Context(), token); err != nil {
		f.Fatal(err)
	}
	sess, err := svc.Login(f.Context(), accounts.LoginInput{Email: email, Password: password}, accounts.Client{})
	if err != nil {
		f.Fatal(err)
	}

	f.Add(sess.Token, "00000000-0000-4000-8000-000000000000", "123456")
	f.Add("crk_live_x", "not-an-id", "12345a")
	f.Add("", "", "")
	f.Add(sess.Token+"x", token, "000000")
	f.Fuzz(func(t *testing.T, bearer, id, code string) {
		ctx := t.Context()
		a, err := svc.Authenticate(ctx, bearer)
		switch {
		case bearer == sess.Token:
			if err != nil {
				t.Fatalf("the real session token: %v", err)
			}
		case err == nil:
			t.Fatalf("token %q authenticated as %+v", bearer, a)
		case !errors.Is(err, domain.ErrUnauthenticated):
			t.Fatalf("token %q: %v, want UNAUTHENTICATED", bearer, err)
		}
		if _, err := svc.VerifyMFA(ctx, id, code, accounts.Client{}); !errors.Is(err, domain.ErrMFAInvalid) {
			t.Fatalf("challenge %q code %q: %v, want MFA_INVALID", id, code, err)
		}
		if err := svc.VerifyEmail(ctx, bearer); !errors.Is(err, domain.ErrInvalidToken) {
			t.Fatalf("verification token %q: %v, want INVALID_TOKEN", bearer, err)
		}
		if err := svc.ConfirmPasswordReset(ctx, id, "a fine new passphrase"); !errors.Is(err, domain.ErrInvalidToken) {
			t.Fatalf("reset token %q: %v, want INVALID_TOKEN", id, err)
		}
	})
}
