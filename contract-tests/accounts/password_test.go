package accounts_test

import (
	"testing"

	"github.com/credence-dev/credence/core/domain"
)

// resetLink asks for a password reset of email and returns its token.
func (e env) resetLink(t *testing.T, email string) string {
	t.Helper()
	if err := e.svc.RequestPasswordReset(t.Context(), email); err != nil {
		t.Fatal(err)
	}
	return e.mail.lastToken(t, email)
}

// A password reset ends every other reset link of the account: with two
// links out, using one kills the other.
func TestPasswordResetEndsOtherResetLinks(t *testing.T) {
	stores(t, func(t *testing.T, e env) {
		ctx := t.Context()
		email := e.signUp(t, "Lia")
		first, second := e.resetLink(t, email), e.resetLink(t, email)
		if first == second {
			t.Fatal("two reset requests mailed the same link")
		}
		if err := e.svc.ConfirmPasswordReset(ctx, second, "the second link's passphrase"); err != nil {
			t.Fatal(err)
		}
		wantCode(t, e.svc.ConfirmPasswordReset(ctx, first, "the first link's passphrase"), domain.CodeInvalidToken)
		if _, err := e.login(t, email, "the second link's passphrase"); err != nil {
			t.Fatalf("the password set with the second link: %v", err)
		}
	})
}
