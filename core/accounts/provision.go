package accounts

import (
	"context"

	"github.com/credence-dev/credence/core/domain"
)

// ProvisionInput is an account that a program embedding Credence vouches
// for: it has checked the address itself.
type ProvisionInput struct {
	Email string
	Name  string
	// Password lets the account sign in over HTTP too; empty, it has no
	// password until a reset sets one.
	Password string
}

// Provision creates a verified account without mailing anyone and returns
// the actor that acts as it (an administrator when its email is one of
// Config.AdminEmails). No HTTP operation reaches it: it is for Go programs
// that embed the core (core/platform) and for operators' tools. An email
// already registered returns an error matching ports.ErrEmailTaken and
// changes nothing.
func (s *Service) Provision(ctx context.Context, in ProvisionInput) (domain.Actor, error) {
	email := domain.NormalizeEmail(in.Email)
	var v domain.Validator
	v.Check(domain.ValidEmail(email), "email", "email must be a valid address", in.Email)
	name, ok := domain.CleanText(in.Name, 120, false)
	v.Check(ok && name != "", "name", "name must be 1 to 120 characters of text", in.Name)
	if in.Password != "" {
		checkPassword(&v, in.Password, email)
	}
	if err := v.Err(); err != nil {
		return domain.Actor{}, err
	}
	var hash string
	if in.Password != "" {
		var err error
		if hash, err = HashPassword(in.Password); err != nil {
			return domain.Actor{}, err
		}
	}
	now := domain.Truncate(s.clock.Now())
	u := domain.User{ID: domain.NewID(), Email: email, Name: name, PasswordHash: hash, EmailVerifiedAt: &now, CreatedAt: now}
	if err := s.store.Users().Create(ctx, u); err != nil {
		return domain.Actor{}, err
	}
	return s.actorFor(u), nil
}
