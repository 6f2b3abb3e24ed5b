package accounts

import (
	"context"
	"fmt"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/work"
)

// RequestPasswordReset mails a single-use reset link to a registered
// email. It answers the same, after the same work, whatever the email: it
// writes a deferred mail, and only its composition, in the worker, looks
// the account up and creates the link (composeReset).
func (s *Service) RequestPasswordReset(ctx context.Context, email string) error {
	return s.requestMail(ctx, email, domain.MailPasswordReset, resetInput{})
}

// ConfirmPasswordReset sets a new password with an emailed reset token:
// it ends every session of the account and every other reset link, lifts
// a lock-out and, the link having reached the inbox, confirms the email.
// A password breaking the policy leaves the token usable.
func (s *Service) ConfirmPasswordReset(ctx context.Context, token, password string) error {
	if token == "" || len(token) > maxBearerLength {
		return domain.ErrInvalidToken
	}
	now := domain.Truncate(s.clock.Now())
	return s.outbox.Within(ctx, func(ctx context.Context, mail work.Post) error {
		t, err := s.store.EmailTokens().Use(ctx, domain.HashSecret(token), domain.PurposePasswordReset, now)
		if err != nil {
			return err
		}
		u, err := s.store.Users().Get(ctx, t.UserID)
		if err != nil {
			return err
		}
		var v domain.Validator
		checkPassword(&v, password, u.Email)
		if err := v.Err(); err != nil {
			return err
		}
		hash, err := HashPassword(password)
		if err != nil {
			return err
		}
		if err := s.store.Users().SetPassword(ctx, u.ID, hash); err != nil {
			return err
		}
		if _, err := s.store.EmailTokens().RevokeAllForUser(ctx, u.ID, domain.PurposePasswordReset, now); err != nil {
			return err
		}
		if !u.Verified() {
			if err := s.store.Users().MarkVerified(ctx, u.ID, now); err != nil {
				return err
			}
		}
		if _, err := s.store.Sessions().RevokeAllForUser(ctx, u.ID, "", now); err != nil {
			return err
		}
		if err := s.forgetFailures(ctx, u.Email); err != nil {
			return err
		}
		if err := s.store.Activity().Record(ctx, domain.NewActivity(domain.Actor{UserID: u.ID}, "", domain.ActPasswordReset, "user", u.ID, "every session ended", now)); err != nil {
			return err
		}
		return mail(domain.MailPasswordChanged, u.Email, "Your Credence password was changed", fmt.Sprintf("Hello %s,\n\nThe password of your Credence account was just changed with a reset link, and every session was signed out.\nIf this was not you, reset your password again at once and check the email account itself.\n", u.Name))
	})
}
