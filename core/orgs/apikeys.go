package orgs

import (
	"context"
	"fmt"
	"time"

	"github.com/credence-dev/credence/core/access"
	"github.com/credence-dev/credence/core/domain"
)

// API key lifetimes.
const (
	DefaultAPIKeyDays = 180
	MaxAPIKeyDays     = 3650
)

// APIKeyInput describes a new API key.
type APIKeyInput struct {
	Name          string
	Mode          domain.APIKeyMode
	ExpiresInDays *int
}

// NewAPIKey is a created key with its secret, shown this once.
type NewAPIKey struct {
	Key    domain.APIKey
	Secret string
}

// CreateAPIKey creates an API key (owners only, within the plan's cap).
func (s *Service) CreateAPIKey(ctx context.Context, actor domain.Actor, orgID string, in APIKeyInput) (NewAPIKey, error) {
	var v domain.Validator
	name, ok := domain.CleanText(in.Name, 100, false)
	v.Check(ok && name != "", "body.name", "name must be 1 to 100 characters of text", in.Name)
	if in.Mode == "" {
		in.Mode = domain.APIKeyLive
	}
	v.Check(in.Mode == domain.APIKeyLive || in.Mode == domain.APIKeyTest, "body.mode", "mode must be live or test", in.Mode)
	days := DefaultAPIKeyDays
	if in.ExpiresInDays != nil {
		days = *in.ExpiresInDays
		v.Check(days >= 1 && days <= MaxAPIKeyDays, "body.expiresInDays", "expiresInDays must be 1 to 3650", days)
	}
	if err := v.Err(); err != nil {
		return NewAPIKey{}, err
	}
	var out NewAPIKey
	err := s.store.WithinTx(ctx, func(ctx context.Context) error {
		org, err := s.guard.Org(ctx, actor, orgID, domain.PermAPIKeys)
		if err != nil {
			return err
		}
		now := s.now()
		n, err := s.store.APIKeys().CountActive(ctx, orgID, now)
		if err != nil {
			return err
		}
		if err := s.plans.Get(org.Plan).CheckCap(org.Plan, domain.CapActiveAPIKeys, n); err != nil {
			return err
		}
		prefix := "crk_" + string(in.Mode) + "_"
		secret, hash := domain.NewSecret(prefix)
		k := domain.APIKey{ID: domain.NewID(), OrgID: orgID, Name: name, Mode: in.Mode, Prefix: prefix,
			Last4: secret[len(secret)-4:], SecretHash: hash, CreatedBy: actor.UserID, CreatedAt: now,
			ExpiresAt: now.Add(time.Duration(days) * 24 * time.Hour)}
		out = NewAPIKey{Key: k, Secret: secret}
		return s.store.APIKeys().Create(ctx, k)
	})
	return out, err
}

// APIKeys lists the organization's keys (owners only); secrets are never shown.
func (s *Service) APIKeys(ctx context.Context, actor domain.Actor, orgID string) ([]domain.APIKey, error) {
	if _, err := s.guard.Org(ctx, actor, orgID, domain.PermAPIKeys); err != nil {
		return nil, err
	}
	return s.store.APIKeys().List(ctx, orgID)
}

// MaxAPIKeyRateLimit bounds the per-minute rate an admin may give a key.
const MaxAPIKeyRateLimit = 100000

// SetAPIKeyRateLimit gives an API key of any organization its own request
// rate per minute, 0 restoring the default (platform admins only).
func (s *Service) SetAPIKeyRateLimit(ctx context.Context, actor domain.Actor, keyID string, perMinute int) (domain.APIKey, error) {
	if err := access.RequireAdmin(actor); err != nil {
		return domain.APIKey{}, err
	}
	if perMinute < 0 || perMinute > MaxAPIKeyRateLimit {
		return domain.APIKey{}, &domain.ValidationError{Fields: []domain.FieldError{{Location: "body.perMinute",
			Message: fmt.Sprintf("perMinute must be 0 (the default) to %d", MaxAPIKeyRateLimit), Value: perMinute}}}
	}
	if !domain.IsID(keyID) {
		return domain.APIKey{}, domain.ErrNotFound
	}
	return s.store.APIKeys().SetRateLimit(ctx, keyID, perMinute)
}

// RevokeAPIKey revokes a key at once (owners only).
func (s *Service) RevokeAPIKey(ctx context.Context, actor domain.Actor, orgID, keyID string) error {
	if _, err := s.guard.Org(ctx, actor, orgID, domain.PermAPIKeys); err != nil {
		return err
	}
	if !domain.IsID(keyID) {
		return domain.ErrNotFound
	}
	return s.store.APIKeys().Revoke(ctx, orgID, keyID, s.now())
}
