package accounts

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"

	"github.com/credence-dev/credence/core/access"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// Sessions returns the signed-in user's live sessions, newest first.
func (s *Service) Sessions(ctx context.Context, actor domain.Actor) ([]domain.Session, error) {
	if err := access.RequireUser(actor); err != nil {
		return nil, err
	}
	return s.store.Sessions().ListForUser(ctx, actor.UserID, domain.Truncate(s.clock.Now()))
}

// RevokeSession ends one of the signed-in user's sessions (the current one
// included). Another user's session is NOT_FOUND.
func (s *Service) RevokeSession(ctx context.Context, actor domain.Actor, id string) error {
	if err := access.RequireUser(actor); err != nil {
		return err
	}
	live, err := s.store.Sessions().ListForUser(ctx, actor.UserID, domain.Truncate(s.clock.Now()))
	if err != nil {
		return err
	}
	for _, sess := range live {
		if sess.ID == id {
			return s.store.WithinTx(ctx, func(ctx context.Context) error {
				if err := s.store.Sessions().Revoke(ctx, id, domain.Truncate(s.clock.Now())); err != nil {
					return err
				}
				return s.store.Activity().Record(ctx, domain.NewActivity(actor, "", domain.ActSessionRevoked, "user", actor.UserID, "session "+id, s.clock.Now()))
			})
		}
	}
	return fmt.Errorf("session %s: %w", id, domain.ErrNotFound)
}

// Logout ends the session of token.
func (s *Service) Logout(ctx context.Context, token string) error {
	sess, err := s.store.Sessions().GetByHash(ctx, domain.HashSecret(token))
	if err != nil {
		return domain.ErrUnauthenticated
	}
	return s.store.Sessions().Revoke(ctx, sess.ID, domain.Truncate(s.clock.Now()))
}

// Authenticate turns a bearer token (session or API key) into an actor.
// Unknown, expired and revoked tokens are UNAUTHENTICATED.
func (s *Service) Authenticate(ctx context.Context, token string) (domain.Actor, error) {
	if token == "" || len(token) > maxBearerLength {
		return domain.Actor{}, domain.ErrUnauthenticated
	}
	now := s.clock.Now()
	hash := domain.HashSecret(token)
	if strings.HasPrefix(token, APIKeyPrefix) {
		k, err := s.store.APIKeys().GetByHash(ctx, hash)
		if err != nil || subtle.ConstantTimeCompare(k.SecretHash, hash) != 1 || !k.Active(now) {
			return domain.Actor{}, unauthenticated(err)
		}
		if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= touchEvery { // not a write per request
			if err := s.store.APIKeys().Touch(ctx, k.ID, domain.Truncate(now)); err != nil {
				s.log.WarnContext(ctx, "record api key use", "key", k.ID, "err", err)
			}
		}
		return domain.Actor{APIKeyID: k.ID, APIKeyOrg: k.OrgID, APIKeyMode: k.Mode, APIKeyRateLimit: k.RateLimit}, nil
	}
	sess, err := s.store.Sessions().GetByHash(ctx, hash)
	if err != nil || subtle.ConstantTimeCompare(sess.TokenHash, hash) != 1 || !sess.Live(now) {
		return domain.Actor{}, unauthenticated(err)
	}
	u, err := s.store.Users().Get(ctx, sess.UserID)
	if err != nil {
		return domain.Actor{}, unauthenticated(err)
	}
	if now.Sub(sess.LastSeenAt) >= touchEvery {
		if err := s.store.Sessions().Touch(ctx, sess.ID, domain.Truncate(now)); err != nil {
			s.log.WarnContext(ctx, "record session use", "session", sess.ID, "err", err)
		}
	}
	a := s.actorFor(u)
	a.SessionID, a.MFA = sess.ID, sess.MFA
	return a, nil
}

func unauthenticated(err error) error {
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		return err
	}
	return domain.ErrUnauthenticated
}

func (s *Service) actorFor(u domain.User) domain.Actor {
	a := domain.Actor{UserID: u.ID, Admin: u.Verified() && s.admins[u.Email]}
	if u.Verified() {
		a.UserEmail = u.Email
	}
	return a
}

// Profile is the signed-in user's view of themselves.
type Profile struct {
	User        domain.User
	Admin       bool
	Memberships []ports.OrgWithRole
	MFA         MFAStatus
	Invitations []Invited // open invitations to the user's verified email
}

// Invited is an open invitation with the name of its organization.
type Invited struct {
	domain.Invitation
	OrgName string
}

// Me returns the signed-in user's profile and memberships.
func (s *Service) Me(ctx context.Context, actor domain.Actor) (Profile, error) {
	if actor.UserID == "" {
		return Profile{}, domain.Errorf(domain.CodeUnauthenticated, "sign in as a user")
	}
	u, err := s.store.Users().Get(ctx, actor.UserID)
	if err != nil {
		return Profile{}, err
	}
	ms, err := s.store.Orgs().ListForUser(ctx, u.ID)
	if err != nil {
		return Profile{}, err
	}
	p := Profile{User: u, Admin: s.actorFor(u).Admin, Memberships: ms, MFA: MFAStatus{Enabled: u.MFAEnabled}}
	for _, m := range ms {
		p.MFA.RequiredByOrg = p.MFA.RequiredByOrg || m.Org.RequireMFA
	}
	if !u.Verified() {
		return p, nil
	}
	invs, err := s.store.Invitations().ListForEmail(ctx, u.Email, domain.Truncate(s.clock.Now()))
	if err != nil {
		return Profile{}, err
	}
	for _, inv := range invs {
		org, err := s.store.Orgs().Get(ctx, inv.OrgID)
		if err != nil {
			return Profile{}, err
		}
		p.Invitations = append(p.Invitations, Invited{Invitation: inv, OrgName: org.Name})
	}
	return p, nil
}
