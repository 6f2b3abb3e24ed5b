package accounts_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/accounts"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
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

// Changing the password while signed in: the current password is asked
// again, and a wrong one counts as a failed sign-in (five lock the
// account; a locked account is refused before anything is checked);
// the new one follows the policy; success ends every other session and
// every reset link, keeps the current session, is logged and mailed.
func TestChangePassword(t *testing.T) {
	stores(t, func(t *testing.T, e env) {
		ctx := t.Context()
		email := e.signUp(t, "Max")
		current, err := e.login(t, email, password)
		if err != nil {
			t.Fatal(err)
		}
		other, err := e.login(t, email, password)
		if err != nil {
			t.Fatal(err)
		}
		me, err := e.svc.Authenticate(ctx, current.Token)
		if err != nil {
			t.Fatal(err)
		}
		link := e.resetLink(t, email)
		from := accounts.Client{IP: "203.0.113.5", UserAgent: "test"}
		change := func(actor domain.Actor, cur, next string) error {
			return e.svc.ChangePassword(ctx, actor, accounts.ChangePasswordInput{Current: cur, New: next}, from)
		}

		wantCode(t, change(domain.Actor{APIKeyID: domain.NewID(), APIKeyOrg: domain.NewID()}, password, "an API key's passphrase"), domain.CodeUnauthenticated)
		wantCode(t, change(me, "not the password", "a brand new passphrase"), domain.CodeWrongPassword)
		for _, weak := range []string{"short", "password1234", email} {
			err := change(me, password, weak)
			wantCode(t, err, domain.CodeValidation)
			var v *domain.ValidationError
			if !errors.As(err, &v) || len(v.Fields) != 1 || v.Fields[0].Location != "body.newPassword" {
				t.Errorf("weak new password %q: %v, want the problem at body.newPassword", weak, err)
			}
		}
		const fresh = "a brand new passphrase"
		if err := change(me, password, fresh); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Authenticate(ctx, current.Token); err != nil {
			t.Errorf("the session that changed the password was ended: %v", err)
		}
		if _, err := e.svc.Authenticate(ctx, other.Token); !errors.Is(err, domain.ErrUnauthenticated) {
			t.Errorf("another session still authenticates after the change: %v", err)
		}
		wantCode(t, e.svc.ConfirmPasswordReset(ctx, link, "a reset over the change"), domain.CodeInvalidToken)
		if _, err := e.login(t, email, password); err == nil {
			t.Error("the old password still signs in")
		}
		if _, err := e.login(t, email, fresh); err != nil {
			t.Errorf("the new password: %v", err)
		}
		changed := e.mail.to(email)[len(e.mail.to(email))-1]
		if changed.Subject != "Your Credence password was changed" || !strings.Contains(changed.Text, "signed in") || !strings.Contains(changed.Text, from.IP) {
			t.Errorf("last mail to the owner: %q\n%s", changed.Subject, changed.Text)
		}
		u, _ := e.store.Users().GetByEmail(ctx, email)
		log, err := e.store.Activity().List(ctx, ports.ActivityFilter{AllOrgs: true, Target: u.ID})
		if err != nil {
			t.Fatal(err)
		}
		if !slicesContainsAction(log, domain.ActPasswordChanged) {
			t.Errorf("no %s entry in the activity log", domain.ActPasswordChanged)
		}

		// Wrong current passwords count toward the lock-out: the fifth in
		// a row locks; then even the right one is refused, unchecked.
		for i := range domain.LoginFailureLimit - 1 {
			wantCode(t, change(me, "wrong guess "+string(rune('a'+i)), "another new passphrase"), domain.CodeWrongPassword)
		}
		err = change(me, "wrong guess e", "another new passphrase")
		var locked *domain.LockedError
		if !errors.As(err, &locked) || !locked.RetryAt.Equal(e.clock.Now().Add(domain.FirstLockout)) {
			t.Fatalf("the fifth wrong current password: %v, want ACCOUNT_LOCKED for %v", err, domain.FirstLockout)
		}
		wantCode(t, change(me, fresh, "another new passphrase"), domain.CodeAccountLocked)
		_, err = e.login(t, email, fresh)
		wantCode(t, err, domain.CodeAccountLocked) // one lock-out for sign-in and the change
		e.clock.advance(domain.FirstLockout + time.Second)
		if err := change(me, fresh, "another new passphrase"); err != nil {
			t.Fatalf("after the lock-out: %v", err)
		}
	})
}

func slicesContainsAction(log []domain.Activity, a domain.Action) bool {
	for _, x := range log {
		if x.Action == a {
			return true
		}
	}
	return false
}
