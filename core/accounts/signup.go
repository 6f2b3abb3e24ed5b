package accounts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/work"
	"github.com/credence-dev/credence/ports"
)

// SignUpInput is a new account's details.
type SignUpInput struct {
	Email    string
	Password string
	Name     string
}

// SignUp creates an unverified account and mails a verification link. An
// email already registered gets the same answer and no change, so sign-up
// tells nobody which emails have accounts; its owner is mailed instead.
// Both take the same work: the password is hashed, one insert runs (it
// writes nothing for a taken email, leaving the transaction usable) and
// one deferred mail is written with it; which mail it becomes is decided
// at delivery (composeVerification).
func (s *Service) SignUp(ctx context.Context, in SignUpInput) error {
	email := domain.NormalizeEmail(in.Email)
	var v domain.Validator
	v.Check(domain.ValidEmail(email), "body.email", "email must be a valid address", in.Email)
	name, ok := domain.CleanText(in.Name, 120, false)
	v.Check(ok && name != "", "body.name", "name must be 1 to 120 characters of text", in.Name)
	checkPassword(&v, in.Password, email)
	if err := v.Err(); err != nil {
		return err
	}
	hash, err := HashPassword(in.Password)
	if err != nil {
		return err
	}
	now := domain.Truncate(s.clock.Now())
	u := domain.User{ID: domain.NewID(), Email: email, Name: name, PasswordHash: hash, CreatedAt: now}
	err = s.outbox.WithinDeferred(ctx, func(ctx context.Context, later work.Defer) error {
		if err := s.store.Users().Create(ctx, u); err != nil && !errors.Is(err, ports.ErrEmailTaken) {
			return err
		}
		return later(domain.MailVerifyEmail, email, verifyInput{SignUp: u.ID})
	})
	if err != nil {
		return fmt.Errorf("sign up: %w", err)
	}
	return nil
}

// VerifyEmail consumes a verification token.
func (s *Service) VerifyEmail(ctx context.Context, token string) error {
	if token == "" || len(token) > maxBearerLength {
		return domain.ErrInvalidToken
	}
	now := domain.Truncate(s.clock.Now())
	return s.store.WithinTx(ctx, func(ctx context.Context) error {
		t, err := s.store.EmailTokens().Use(ctx, domain.HashSecret(token), domain.PurposeVerifyEmail, now)
		if err != nil {
			return err
		}
		return s.store.Users().MarkVerified(ctx, t.UserID, now)
	})
}

// checkEmail refuses a normalized email that is no valid address.
func checkEmail(email string) error {
	var v domain.Validator
	v.Check(domain.ValidEmail(email), "body.email", "email must be a valid address", email)
	return v.Err()
}

// ResendVerification mails a fresh link to an unverified account. It
// answers the same, after the same work, whatever the email: it writes a
// deferred mail, and only its composition, in the worker, looks the
// account up (composeVerification).
func (s *Service) ResendVerification(ctx context.Context, email string) error {
	return s.requestMail(ctx, email, domain.MailVerifyEmail, verifyInput{})
}

// requestMail writes the deferred mail of kind (with input) that someone
// asked to be sent to email, within the address's limit (limitEmail).
func (s *Service) requestMail(ctx context.Context, email string, kind domain.MailKind, input any) error {
	email = domain.NormalizeEmail(email)
	if err := checkEmail(email); err != nil {
		return err
	}
	if err := s.limitEmail(ctx, email); err != nil {
		return err
	}
	return s.outbox.WithinDeferred(ctx, func(ctx context.Context, later work.Defer) error {
		return later(kind, email, input)
	})
}

// limitEmail counts one requested mail to email against Config.EmailLimit,
// before looking the address up, so that the limit answers the same for
// every address. An unreachable limiter lets the request through.
func (s *Service) limitEmail(ctx context.Context, email string) error {
	if s.cfg.Limiter == nil {
		return nil
	}
	res, err := s.cfg.Limiter.Allow(ctx, "email:"+email, s.cfg.EmailLimit)
	if err != nil {
		s.log.WarnContext(ctx, "rate limiter unavailable: mail request let through", "err", err)
		return nil
	}
	if !res.Allowed {
		return &domain.RateLimitError{Detail: "too many emails asked for this address: try again later",
			RetryAt: s.clock.Now().Add(res.RetryAfter.Truncate(time.Second) + time.Second)}
	}
	return nil
}
