package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// newAPIKey stores a live key of org, created at t0 and expiring a day later.
func newAPIKey(t *testing.T, s ports.Store, orgID, createdBy string, mode domain.APIKeyMode) domain.APIKey {
	t.Helper()
	k := domain.APIKey{ID: domain.NewID(), OrgID: orgID, Name: "key " + uniq(), Mode: mode,
		Prefix: "crk_" + string(mode) + "_", Last4: "a1b2", SecretHash: []byte("secret-" + uniq()), CreatedBy: createdBy,
		CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)}
	must(t, s.APIKeys().Create(t.Context(), k))
	return k
}

func getAPIKey(t *testing.T, s ports.Store, orgID, id string) domain.APIKey {
	t.Helper()
	k, err := s.APIKeys().Get(t.Context(), orgID, id)
	must(t, err)
	return k
}

// APIKeys: RevokedFor and RegeneratedAt round trip through Create, Get,
// GetByHash and List.
func testAPIKeyNewFieldsRoundTrip(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o, u := newOrg(t, s), newUser(t, s)
	regenerated, revoked := t0.Add(time.Hour+3*time.Microsecond), t0.Add(2*time.Hour)
	k := domain.APIKey{ID: domain.NewID(), OrgID: o.ID, Name: "full", Mode: domain.APIKeyTest, Prefix: "crk_test_",
		Last4: "wxyz", SecretHash: []byte("secret-" + uniq()), CreatedBy: u.ID, CreatedAt: t0,
		ExpiresAt: t0.Add(48 * time.Hour), RegeneratedAt: &regenerated, RevokedAt: &revoked,
		RevokedFor: domain.APIKeyRevokedPlanLimit}
	must(t, s.APIKeys().Create(ctx, k))
	equal(t, getAPIKey(t, s, o.ID, k.ID), k)
	got, err := s.APIKeys().GetByHash(ctx, k.SecretHash)
	must(t, err)
	equal(t, got, k)
	list, err := s.APIKeys().List(ctx, o.ID)
	must(t, err)
	equal(t, list, []domain.APIKey{k})
}

// APIKeys.Regenerate: "writes k's SecretHash, Last4, RegeneratedAt and
// ExpiresAt provided the key is not revoked and its secret hash is still
// prevHash … Otherwise it writes nothing and returns an error matching
// domain.ErrInvalidState, or domain.ErrNotFound when the org has no key
// k.ID"; Revoke leaves RevokedFor manual.
func testAPIKeyRegenerate(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o, other, u := newOrg(t, s), newOrg(t, s), newUser(t, s)
	k := newAPIKey(t, s, o.ID, u.ID, domain.APIKeyLive)
	must(t, s.APIKeys().Touch(ctx, k.ID, t0.Add(time.Minute)))
	k = getAPIKey(t, s, o.ID, k.ID)

	at := t0.Add(time.Hour + 7*time.Microsecond)
	next := k
	next.SecretHash, next.Last4, next.RegeneratedAt, next.ExpiresAt = []byte("secret-"+uniq()), "c3d4", &at, at.Add(24*time.Hour)
	must(t, s.APIKeys().Regenerate(ctx, next, k.SecretHash))
	equal(t, getAPIKey(t, s, o.ID, k.ID), next) // name, mode, last use… stay
	_, err := s.APIKeys().GetByHash(ctx, k.SecretHash)
	wantErr(t, err, domain.ErrNotFound) // the old secret is gone
	got, err := s.APIKeys().GetByHash(ctx, next.SecretHash)
	must(t, err)
	equal(t, got, next)

	// A stale prevHash: nothing written.
	stale := next
	stale.SecretHash, stale.Last4 = []byte("secret-"+uniq()), "zzzz"
	wantErr(t, s.APIKeys().Regenerate(ctx, stale, k.SecretHash), domain.ErrInvalidState)
	equal(t, getAPIKey(t, s, o.ID, k.ID), next)

	// Unknown key, or one of another organization: not found.
	ghost := next
	ghost.ID = domain.NewID()
	wantErr(t, s.APIKeys().Regenerate(ctx, ghost, next.SecretHash), domain.ErrNotFound)
	foreign := next
	foreign.OrgID = other.ID
	wantErr(t, s.APIKeys().Regenerate(ctx, foreign, next.SecretHash), domain.ErrNotFound)

	// A revoked key stays as it was revoked.
	revokedAt := t0.Add(2 * time.Hour)
	must(t, s.APIKeys().Revoke(ctx, o.ID, k.ID, revokedAt))
	next.RevokedAt = &revokedAt
	got = getAPIKey(t, s, o.ID, k.ID)
	equal(t, got, next)
	equal(t, got.RevokedFor, domain.APIKeyRevokedManually)
	again := next
	again.SecretHash = []byte("secret-" + uniq())
	wantErr(t, s.APIKeys().Regenerate(ctx, again, next.SecretHash), domain.ErrInvalidState)
	equal(t, getAPIKey(t, s, o.ID, k.ID), next)
}

// APIKeys.Regenerate: "of concurrent regenerations of one key one
// succeeds" — and the stored secret is the winner's.
func testAPIKeyRegenerateConcurrent(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o, u := newOrg(t, s), newUser(t, s)
	k := newAPIKey(t, s, o.ID, u.ID, domain.APIKeyLive)
	const n = 8
	versions := make([]domain.APIKey, n)
	for i := range versions {
		at := t0.Add(time.Duration(i+1) * time.Minute)
		v := k
		v.SecretHash, v.RegeneratedAt, v.ExpiresAt = []byte("secret-"+uniq()), &at, at.Add(time.Hour)
		versions[i] = v
	}
	errs := race(n, func(i int) error { return s.APIKeys().Regenerate(ctx, versions[i], k.SecretHash) })
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner == -1:
			winner = i
		case err == nil:
			t.Fatalf("regenerations %d and %d both succeeded", winner, i)
		case !errors.Is(err, domain.ErrInvalidState):
			t.Fatalf("regeneration %d: got %v, want nil or an error matching domain.ErrInvalidState", i, err)
		}
	}
	if winner == -1 {
		t.Fatal("no regeneration succeeded")
	}
	equal(t, getAPIKey(t, s, o.ID, k.ID), versions[winner])
}

// APIKeys.RevokeMany: "revokes, at `at` and for reason, those of the
// org's keys ids that are not revoked yet, and returns how many it
// revoked; keys of other organizations are left alone". Inside a failed
// transaction it revokes nothing.
func testAPIKeyRevokeMany(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o, other, u := newOrg(t, s), newOrg(t, s), newUser(t, s)
	keep := newAPIKey(t, s, o.ID, u.ID, domain.APIKeyLive)
	a := newAPIKey(t, s, o.ID, u.ID, domain.APIKeyLive)
	b := newAPIKey(t, s, o.ID, u.ID, domain.APIKeyTest)
	already := newAPIKey(t, s, o.ID, u.ID, domain.APIKeyLive)
	foreign := newAPIKey(t, s, other.ID, u.ID, domain.APIKeyLive)
	manual := t0.Add(time.Minute)
	must(t, s.APIKeys().Revoke(ctx, o.ID, already.ID, manual))
	already.RevokedAt = &manual

	n, err := s.APIKeys().RevokeMany(ctx, o.ID, nil, t0, domain.APIKeyRevokedPlanLimit)
	must(t, err)
	equal(t, n, 0)

	at := t0.Add(time.Hour)
	ids := []string{a.ID, b.ID, already.ID, foreign.ID, domain.NewID()}
	err = s.WithinTx(ctx, func(ctx context.Context) error {
		n, err := s.APIKeys().RevokeMany(ctx, o.ID, ids, at, domain.APIKeyRevokedPlanLimit)
		must(t, err)
		equal(t, n, 2)
		return errBoom
	})
	wantErr(t, err, errBoom)
	active, err := s.APIKeys().CountActive(ctx, o.ID, t0)
	must(t, err)
	equal(t, active, 3) // rolled back: keep, a, b

	n, err = s.APIKeys().RevokeMany(ctx, o.ID, ids, at, domain.APIKeyRevokedPlanLimit)
	must(t, err)
	equal(t, n, 2)
	for _, k := range []*domain.APIKey{&a, &b} {
		k.RevokedAt, k.RevokedFor = &at, domain.APIKeyRevokedPlanLimit
	}
	for _, want := range []domain.APIKey{keep, a, b, already} { // already: its manual revoke stands
		equal(t, getAPIKey(t, s, o.ID, want.ID), want)
	}
	equal(t, getAPIKey(t, s, other.ID, foreign.ID), foreign)
	n, err = s.APIKeys().RevokeMany(ctx, o.ID, ids, at.Add(time.Hour), domain.APIKeyRevokedPlanLimit)
	must(t, err)
	equal(t, n, 0) // nothing left to revoke
	active, err = s.APIKeys().CountActive(ctx, o.ID, t0)
	must(t, err)
	equal(t, active, 1)
}

// APIKeys.Touch: "sets LastUsedAt to at when it is earlier (or unset):
// the latest use wins whatever order concurrent requests record it in. An
// unknown id is ErrNotFound".
func testAPIKeyTouch(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o, u := newOrg(t, s), newUser(t, s)
	k := newAPIKey(t, s, o.ID, u.ID, domain.APIKeyLive)
	equal(t, getAPIKey(t, s, o.ID, k.ID).LastUsedAt, (*time.Time)(nil))

	later, earlier := t0.Add(time.Hour+5*time.Microsecond), t0.Add(time.Minute)
	must(t, s.APIKeys().Touch(ctx, k.ID, later))
	must(t, s.APIKeys().Touch(ctx, k.ID, earlier)) // an older request finishing late
	must(t, s.APIKeys().Touch(ctx, k.ID, later))   // the same instant again
	equal(t, getAPIKey(t, s, o.ID, k.ID).LastUsedAt, &later)
	wantErr(t, s.APIKeys().Touch(ctx, domain.NewID(), later), domain.ErrNotFound)

	const n = 12
	times := make([]time.Time, n)
	for i := range times {
		times[i] = t0.Add(2*time.Hour + time.Duration(i)*time.Second)
	}
	errs := race(n, func(i int) error { return s.APIKeys().Touch(ctx, k.ID, times[n-1-i]) })
	for i, err := range errs {
		if err != nil {
			t.Fatalf("touch %d: %v", i, err)
		}
	}
	latest := slices.MaxFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	equal(t, getAPIKey(t, s, o.ID, k.ID).LastUsedAt, &latest)
}
