package accounts

import (
	"context"
	"fmt"

	"github.com/credence-dev/credence/core/access"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/work"
)

// ChangePasswordInput is a signed-in user's password change.
type ChangePasswordInput struct {
	Current string // the password now, asked again
	New     string // follows the sign-up policy
}

// ChangePassword sets a new password for the signed-in user (a session,
// never an API key), who proves the current one again, so that a session
// left open or stolen cannot take the account over.
//
// A locked account is ACCOUNT_LOCKED before anything is checked. A wrong
// current password is WRONG_PASSWORD and counts as a failed sign-in of
// the account and of the client address (confirmPassword: the fifth locks
// the account, answering ACCOUNT_LOCKED; the address's budget answers
// RATE_LIMITED).
// A new password breaking the policy is VALIDATION_FAILED at
// body.newPassword. Then, in one transaction, the new argon2id hash is
// set, every other session of the user ends (the one of the request
// stays), every outstanding password reset link stops working, the
// change is logged, and the owner is mailed.
func (s *Service) ChangePassword(ctx context.Context, actor domain.Actor, in ChangePasswordInput, from Client) error {
	if err := access.RequireUser(actor); err != nil {
		return err
	}
	now := domain.Truncate(s.clock.Now())
	u, err := s.store.Users().Get(ctx, actor.UserID)
	if err != nil {
		return err
	}
	if err := s.confirmPassword(ctx, u, in.Current, from, now); err != nil {
		return err
	}
	guard, err := s.store.LoginGuards().Get(ctx, u.Email)
	if err != nil {
		return err
	}
	var v domain.Validator
	checkPasswordAt(&v, "body.newPassword", in.New, u.Email)
	if err := v.Err(); err != nil {
		return err
	}
	hash, err := HashPassword(in.New) // before the transaction: it takes a while
	if err != nil {
		return err
	}
	return s.outbox.Within(ctx, func(ctx context.Context, mail work.Post) error {
		if err := s.store.Users().SetPassword(ctx, u.ID, hash); err != nil {
			return err
		}
		sessions, err := s.store.Sessions().RevokeAllForUser(ctx, u.ID, actor.SessionID, now)
		if err != nil {
			return err
		}
		links, err := s.store.EmailTokens().RevokeAllForUser(ctx, u.ID, domain.PurposePasswordReset, now)
		if err != nil {
			return err
		}
		if !guard.Clean() { // the right password forgets failures, as at sign-in
			if err := s.forgetFailures(ctx, u.Email); err != nil {
				return err
			}
		}
		detail := fmt.Sprintf("%d other sessions ended, %d reset links revoked", sessions, links)
		if err := s.store.Activity().Record(ctx, domain.NewActivity(actor, "", domain.ActPasswordChanged, "user", u.ID, detail, now)); err != nil {
			return err
		}
		where := ""
		if from.IP != "" {
			where = " (from the address " + from.IP + ")"
		}
		return mail(domain.MailPasswordChanged, u.Email, "Your Credence password was changed", fmt.Sprintf(
			"Hello %s,\n\nThe password of your Credence account was just changed by someone signed in to it%s. Every other session was signed out, and password reset links sent earlier no longer work.\n\nIf this was not you, reset your password at once from the sign-in page (that signs out every session), and check the security of this email account too.\n",
			u.Name, where))
	})
}
