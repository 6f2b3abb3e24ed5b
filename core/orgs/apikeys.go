package orgs

import (
	"cmp"
	"context"
	"fmt"
	"slices"
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
		checkAPIKeyDays(&v, days)
	}
	if err := v.Err(); err != nil {
		return NewAPIKey{}, err
	}
	defer s.apiKeysChanged() // after the transaction commits
	var out NewAPIKey
	err := s.store.WithinTx(ctx, func(ctx context.Context) error {
		org, err := s.keyOrg(ctx, actor, orgID)
		if err != nil {
			return err
		}
		now := s.now()
		if err := s.keyRoom(ctx, org, now, false); err != nil {
			return err
		}
		prefix := "crk_" + string(in.Mode) + "_"
		secret, hash := domain.NewSecret(prefix)
		k := domain.APIKey{ID: domain.NewID(), OrgID: orgID, Name: name, Mode: in.Mode, Prefix: prefix,
			Last4: secret[len(secret)-4:], SecretHash: hash, CreatedBy: actor.UserID, CreatedAt: now,
			ExpiresAt: now.Add(apiKeyDays(days))}
		out = NewAPIKey{Key: k, Secret: secret}
		if err := s.store.APIKeys().Create(ctx, k); err != nil {
			return err
		}
		return s.record(ctx, actor, orgID, domain.ActAPIKeyCreated, "api_key", k.ID, fmt.Sprintf("%s key %q", k.Mode, k.Name))
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
	defer s.apiKeysChanged() // after the transaction commits
	var k domain.APIKey
	err := s.store.WithinTx(ctx, func(ctx context.Context) error {
		var err error
		if k, err = s.store.APIKeys().SetRateLimit(ctx, keyID, perMinute); err != nil {
			return err
		}
		return s.record(ctx, actor, k.OrgID, domain.ActAPIKeyRateLimit, "api_key", k.ID, fmt.Sprintf("%d requests a minute (0: the default)", perMinute))
	})
	return k, err
}

// RevokeAPIKey revokes a key at once (owners only).
func (s *Service) RevokeAPIKey(ctx context.Context, actor domain.Actor, orgID, keyID string) error {
	if _, err := s.guard.Org(ctx, actor, orgID, domain.PermAPIKeys); err != nil {
		return err
	}
	if !domain.IsID(keyID) {
		return domain.ErrNotFound
	}
	defer s.apiKeysChanged() // after the transaction commits
	return s.store.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.store.APIKeys().Revoke(ctx, orgID, keyID, s.now()); err != nil {
			return err
		}
		return s.record(ctx, actor, orgID, domain.ActAPIKeyRevoked, "api_key", keyID, "")
	})
}

// keyOrg returns the organization whose API keys the owner manages, under
// its lock: the plan read and the keys counted stay true until the write,
// and a plan change (which revokes keys beyond the new cap) waits, or is
// waited for.
func (s *Service) keyOrg(ctx context.Context, actor domain.Actor, orgID string) (domain.Organization, error) {
	if err := access.Check(actor, orgID); err != nil {
		return domain.Organization{}, err
	}
	if err := s.store.Members().LockOrg(ctx, orgID); err != nil {
		return domain.Organization{}, err
	}
	return s.guard.Org(ctx, actor, orgID, domain.PermAPIKeys)
}

// keyRoom refuses one more active key beyond the plan's cap; replacing
// means the key counted among the active ones takes its own place.
func (s *Service) keyRoom(ctx context.Context, org domain.Organization, now time.Time, replacing bool) error {
	n, err := s.store.APIKeys().CountActive(ctx, org.ID, now)
	if err != nil {
		return err
	}
	if replacing {
		n--
	}
	return s.plans.Get(org.Plan).CheckCap(org.Plan, domain.CapActiveAPIKeys, n)
}

func checkAPIKeyDays(v *domain.Validator, days int) {
	v.Check(days >= 1 && days <= MaxAPIKeyDays, "body.expiresInDays", fmt.Sprintf("expiresInDays must be 1 to %d", MaxAPIKeyDays), days)
}

func apiKeyDays(days int) time.Duration { return time.Duration(days) * 24 * time.Hour }

// RegenerateAPIKey gives a key a new secret, returned this once, and
// kills the old secret at once (owners only). The ID, name, mode and
// rate limit stay. The expiry restarts: the key lives expiresInDays
// from now, by default as long as it was given when created (or last
// regenerated), so regenerating is also how a key is renewed. A revoked
// key cannot be regenerated (INVALID_STATE); an expired one can, when
// the plan has room for it beside the other active keys.
func (s *Service) RegenerateAPIKey(ctx context.Context, actor domain.Actor, orgID, keyID string, expiresInDays *int) (NewAPIKey, error) {
	if expiresInDays != nil {
		var v domain.Validator
		checkAPIKeyDays(&v, *expiresInDays)
		if err := v.Err(); err != nil {
			return NewAPIKey{}, err
		}
	}
	defer s.apiKeysChanged() // after the transaction commits
	var out NewAPIKey
	err := s.store.WithinTx(ctx, func(ctx context.Context) error {
		org, err := s.keyOrg(ctx, actor, orgID)
		if err != nil {
			return err
		}
		if !domain.IsID(keyID) {
			return domain.ErrNotFound
		}
		old, err := s.store.APIKeys().Get(ctx, orgID, keyID)
		if err != nil {
			return err
		}
		now := s.now()
		lifetime := old.Lifetime()
		if expiresInDays != nil {
			lifetime = apiKeyDays(*expiresInDays)
		}
		secret, hash := domain.NewSecret(old.Prefix)
		k, err := old.Regenerate(hash, secret[len(secret)-4:], now, lifetime)
		if err != nil {
			return err
		}
		if err := s.keyRoom(ctx, org, now, old.Active(now)); err != nil { // an active key takes its own place
			return err
		}
		if err := s.store.APIKeys().Regenerate(ctx, k, old.SecretHash); err != nil {
			return err
		}
		out = NewAPIKey{Key: k, Secret: secret}
		return s.record(ctx, actor, orgID, domain.ActAPIKeyRegenerated, "api_key", k.ID, "")
	})
	return out, err
}

// capAPIKeys revokes the organization's active API keys beyond its plan's
// cap, in the caller's transaction (a plan change). Live keys are kept
// before test keys (real issuance depends on them), then the most
// recently used, then the newest; the others are revoked for
// domain.APIKeyRevokedPlanLimit, which the key list shows.
func (s *Service) capAPIKeys(ctx context.Context, org domain.Organization) error {
	limit := s.plans.Get(org.Plan).ActiveAPIKeys
	if limit == domain.Unlimited {
		return nil
	}
	keys, err := s.store.APIKeys().List(ctx, org.ID)
	if err != nil {
		return err
	}
	now := s.now()
	active := slices.DeleteFunc(keys, func(k domain.APIKey) bool { return !k.Active(now) })
	if len(active) <= limit {
		return nil
	}
	slices.SortStableFunc(active, keepFirst)
	ids := make([]string, 0, len(active)-limit)
	for _, k := range active[limit:] {
		ids = append(ids, k.ID)
	}
	n, err := s.store.APIKeys().RevokeMany(ctx, org.ID, ids, now, domain.APIKeyRevokedPlanLimit)
	if err != nil {
		return fmt.Errorf("revoke API keys beyond the %s plan: %w", org.Plan, err)
	}
	s.log.InfoContext(ctx, "revoked API keys beyond the plan", "org", org.ID, "plan", org.Plan, "revoked", n, "kept", limit)
	return nil
}

// keepFirst orders API keys by how much keeping them matters: live before
// test, then the latest used (never used last), then the newest.
func keepFirst(a, b domain.APIKey) int {
	if a.Mode != b.Mode {
		if a.Mode == domain.APIKeyLive {
			return -1
		}
		if b.Mode == domain.APIKeyLive {
			return 1
		}
	}
	lastUsed := func(k domain.APIKey) time.Time {
		if k.LastUsedAt == nil {
			return time.Time{}
		}
		return *k.LastUsedAt
	}
	if c := lastUsed(b).Compare(lastUsed(a)); c != 0 {
		return c
	}
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	return cmp.Compare(b.ID, a.ID)
}
