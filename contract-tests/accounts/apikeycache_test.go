package accounts_test

import (
	"testing"
	"time"

	"github.com/credence-dev/credence/core/accounts"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/orgs"
	"github.com/credence-dev/credence/ports"
)

// keyCacheTTL is the API-key cache of these tests: long, so that only
// what the cache promises can make a changed key stop working.
const keyCacheTTL = time.Minute

func withKeyCache(cfg *accounts.Config, _ ports.Clock) { cfg.APIKeyCacheTTL = keyCacheTTL }

// apiKey makes an organization on a plan with API keys and one key.
func (e env) apiKey(t *testing.T, name string) (*orgs.Service, domain.Actor, domain.Organization, orgs.NewAPIKey) {
	t.Helper()
	svc, owner, o := e.ownedOrg(t, name)
	admin := domain.Actor{UserID: domain.NewID(), Admin: true}
	if _, err := svc.SetPlan(t.Context(), admin, o.ID, domain.PlanProfessional); err != nil {
		t.Fatal(err)
	}
	k, err := svc.CreateAPIKey(t.Context(), owner, o.ID, orgs.APIKeyInput{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	return svc, owner, o, k
}

func (e env) authenticates(t *testing.T, secret string) bool {
	t.Helper()
	a, err := e.svc.Authenticate(t.Context(), secret)
	if err != nil && domain.CodeOf(err) != domain.CodeUnauthenticated {
		t.Fatal(err)
	}
	return err == nil && a.APIKeyID != ""
}

// A key looked up once serves the next requests without a read: changed
// behind this process's back (another replica revoking it), it keeps
// working until the cache lifetime has passed, and not a moment longer.
func TestAPIKeyCacheServesUntilItsLifetime(t *testing.T) {
	storesWith(t, withKeyCache, func(t *testing.T, e env) {
		_, _, o, k := e.apiKey(t, "Ada")
		if !e.authenticates(t, k.Secret) {
			t.Fatal("a new key does not authenticate")
		}
		// Another replica revokes it: this one does not know.
		if err := e.store.APIKeys().Revoke(t.Context(), o.ID, k.Key.ID, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if !e.authenticates(t, k.Secret) {
			t.Fatal("the cached key was read again (the cache is not used)")
		}
		e.clock.advance(keyCacheTTL)
		if e.authenticates(t, k.Secret) {
			t.Fatal("a key revoked elsewhere still works after the cache lifetime")
		}
	})
}

// Without a cache lifetime every request reads the key: a revocation by
// another replica holds at once.
func TestAPIKeyWithoutCacheIsReadEachTime(t *testing.T) {
	stores(t, func(t *testing.T, e env) {
		_, _, o, k := e.apiKey(t, "Bea")
		if !e.authenticates(t, k.Secret) {
			t.Fatal("a new key does not authenticate")
		}
		if err := e.store.APIKeys().Revoke(t.Context(), o.ID, k.Key.ID, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if e.authenticates(t, k.Secret) {
			t.Fatal("a revoked key works without a cache")
		}
	})
}

// Whatever this process changes about a key holds from the next request,
// however long the cache lifetime: revocation, regeneration, a plan
// change that revokes keys beyond its cap; and a cached key still expires
// on time.
func TestAPIKeyChangesHoldAtOnceDespiteTheCache(t *testing.T) {
	storesWith(t, withKeyCache, func(t *testing.T, e env) {
		ctx := t.Context()
		t.Run("revoke", func(t *testing.T) {
			svc, owner, o, k := e.apiKey(t, "Cy")
			if !e.authenticates(t, k.Secret) {
				t.Fatal("a new key does not authenticate")
			}
			if err := svc.RevokeAPIKey(ctx, owner, o.ID, k.Key.ID); err != nil {
				t.Fatal(err)
			}
			if e.authenticates(t, k.Secret) {
				t.Fatal("a revoked key works from the cache")
			}
		})
		t.Run("regenerate", func(t *testing.T) {
			svc, owner, o, k := e.apiKey(t, "Di")
			if !e.authenticates(t, k.Secret) {
				t.Fatal("a new key does not authenticate")
			}
			fresh, err := svc.RegenerateAPIKey(ctx, owner, o.ID, k.Key.ID, nil)
			if err != nil {
				t.Fatal(err)
			}
			if e.authenticates(t, k.Secret) {
				t.Fatal("the old secret of a regenerated key works from the cache")
			}
			if !e.authenticates(t, fresh.Secret) {
				t.Fatal("the new secret does not authenticate")
			}
		})
		t.Run("downgrade", func(t *testing.T) {
			svc, _, o, k := e.apiKey(t, "Ed")
			if !e.authenticates(t, k.Secret) {
				t.Fatal("a new key does not authenticate")
			}
			admin := domain.Actor{UserID: domain.NewID(), Admin: true}
			if _, err := svc.SetPlan(ctx, admin, o.ID, domain.PlanFree); err != nil {
				t.Fatal(err)
			}
			if e.authenticates(t, k.Secret) {
				t.Fatal("a key revoked by a downgrade works from the cache")
			}
		})
		t.Run("expiry", func(t *testing.T) {
			svc, owner, o := e.ownedOrg(t, "Flo")
			admin := domain.Actor{UserID: domain.NewID(), Admin: true}
			if _, err := svc.SetPlan(ctx, admin, o.ID, domain.PlanProfessional); err != nil {
				t.Fatal(err)
			}
			days := 1
			k, err := svc.CreateAPIKey(ctx, owner, o.ID, orgs.APIKeyInput{Name: "short", ExpiresInDays: &days})
			if err != nil {
				t.Fatal(err)
			}
			e.clock.advance(24*time.Hour - 30*time.Second)
			if !e.authenticates(t, k.Secret) {
				t.Fatal("a key does not authenticate before its expiry")
			}
			e.clock.advance(30 * time.Second)
			if e.authenticates(t, k.Secret) {
				t.Fatal("a cached key works past its expiry")
			}
		})
	})
}
