package accounts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/work"
	"github.com/credence-dev/credence/ports"
)

// Account mail that answers a request naming an email (sign-up,
// verification resends, password resets, the lock-out notice) must not
// tell by its cost whether the email has an account. So the request does
// the same work for every email: it writes one deferred mail
// (work.Defer) recording only what it knew. Everything that depends on the
// account (looking it up, creating the link's token, choosing the text,
// or dropping the mail) happens when the worker delivers it, in the
// composers below; the attacker, who sees the answer and its latency,
// sees none of it.

// verifyInput is what a sign-up or a verification resend records.
type verifyInput struct {
	// SignUp is the ID of the account the sign-up tried to create ("" for
	// a resend): when the address belongs to another account at
	// composition, the email was taken, and its owner is told instead.
	SignUp string `json:"signUp,omitempty"`
}

// resetInput is what a password reset request records: nothing but the
// address the mail goes to.
type resetInput struct{}

// lockedInput is what a lock-out records.
type lockedInput struct {
	Until time.Time `json:"until"`
}

// Composers returns how the service's deferred mail is written at
// delivery, by the kind it is deferred as. Register each on the delivery
// of every process that delivers mail (work.Delivery.Compose).
func (s *Service) Composers() map[domain.MailKind]work.Composer {
	return map[domain.MailKind]work.Composer{
		domain.MailVerifyEmail:   s.composeVerification,
		domain.MailPasswordReset: s.composeReset,
		domain.MailAccountLocked: s.composeLocked,
	}
}

// noAccount is the composition of mail to an address without an account.
var noAccount = work.Composition{Dropped: "no account"}

// account reads the account of a deferred mail's address and its input;
// found is false when the address has no account.
func (s *Service) account(ctx context.Context, to string, input []byte, into any) (u domain.User, found bool, err error) {
	if err := json.Unmarshal(input, into); err != nil {
		return domain.User{}, false, fmt.Errorf("read deferred mail: %w: %w", ports.ErrPermanent, err)
	}
	u, err = s.store.Users().GetByEmail(ctx, to)
	if errors.Is(err, domain.ErrNotFound) {
		return domain.User{}, false, nil
	}
	return u, err == nil, err
}

// composeVerification writes the mail of a sign-up or a resend: the
// verification link of an unverified account; to the owner of an email a
// sign-up found taken, a notice instead; nothing to an address without an
// account or already verified.
func (s *Service) composeVerification(ctx context.Context, to string, input []byte) (work.Composition, error) {
	var in verifyInput
	u, found, err := s.account(ctx, to, input, &in)
	switch {
	case err != nil:
		return work.Composition{}, err
	case !found:
		return noAccount, nil
	case in.SignUp != "" && u.ID != in.SignUp:
		return work.Composition{Kind: domain.MailSignUpAttempt, Subject: "Someone tried to sign up with your email",
			Text: "Someone tried to create a Credence account with this address, which already has one.\n\nIf it was you, sign in instead. If you forgot your password, reset it from the sign-in page.\n"}, nil
	case u.Verified():
		return work.Composition{Dropped: "already verified"}, nil
	}
	token, err := s.emailToken(ctx, u, domain.PurposeVerifyEmail, VerifyEmailTTL)
	if err != nil {
		return work.Composition{}, err
	}
	return work.Composition{Subject: "Verify your email for Credence",
		Text: fmt.Sprintf("Hello %s,\n\nConfirm your email address to finish creating your Credence account:\n\n%s\n\nThe link works once and expires in 24 hours.\nIf you did not sign up, ignore this email.\n",
			u.Name, s.cfg.PublicURL+verifyLinkPath+token)}, nil
}

// composeReset writes the mail of a password reset request: a reset link
// to a registered address, nothing to another.
func (s *Service) composeReset(ctx context.Context, to string, input []byte) (work.Composition, error) {
	u, found, err := s.account(ctx, to, input, &resetInput{})
	if err != nil || !found {
		return noAccount, err
	}
	token, err := s.emailToken(ctx, u, domain.PurposePasswordReset, PasswordResetTTL)
	if err != nil {
		return work.Composition{}, err
	}
	return work.Composition{Subject: "Reset your Credence password",
		Text: fmt.Sprintf("Hello %s,\n\nSomeone asked to reset the password of your Credence account. To choose a new one, open:\n\n%s\n\nThe link works once and expires in 1 hour. Setting a new password signs out every session.\nIf you did not ask, ignore this email: your password stays as it is.\n",
			u.Name, s.cfg.PublicURL+resetLinkPath+token)}, nil
}

// emailToken creates a token of purpose for u, living ttl from now (the
// composition, not the request), and returns it.
func (s *Service) emailToken(ctx context.Context, u domain.User, purpose domain.TokenPurpose, ttl time.Duration) (string, error) {
	now := domain.Truncate(s.clock.Now())
	token, hash := domain.NewSecret("")
	err := s.store.EmailTokens().Create(ctx, domain.EmailToken{TokenHash: hash, UserID: u.ID, Purpose: purpose, CreatedAt: now, ExpiresAt: now.Add(ttl)})
	return token, err
}

// lockedNotice defers the notice of a lock-out of email until `until`,
// for registered and unregistered emails alike (composeLocked).
func (s *Service) lockedNotice(ctx context.Context, email string, until time.Time) error {
	return s.outbox.WithinDeferred(ctx, func(ctx context.Context, later work.Defer) error {
		return later(domain.MailAccountLocked, email, lockedInput{Until: until})
	})
}

// composeLocked writes the lock-out notice to a registered address,
// nothing to another.
func (s *Service) composeLocked(ctx context.Context, to string, input []byte) (work.Composition, error) {
	var in lockedInput
	u, found, err := s.account(ctx, to, input, &in)
	if err != nil || !found {
		return noAccount, err
	}
	return work.Composition{Subject: "Your Credence account was locked",
		Text: fmt.Sprintf("Hello %s,\n\nThere were %d failed attempts to sign in to your Credence account, so sign-in is locked until %s (UTC), except from the browsers and apps where you signed in before.\n\nIf it was you, wait and try again, or reset your password from the sign-in page (that unlocks it).\nIf it was not you, your password held; consider resetting it anyway.\n",
			u.Name, domain.LoginFailureLimit, in.Until.UTC().Format("2006-01-02 15:04"))}, nil
}
