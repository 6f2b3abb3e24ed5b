package store

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// Users.SetPassword replaces the hash; an unknown user is NOT_FOUND.
func testUserSetPassword(t *testing.T, s ports.Store) {
	ctx := t.Context()
	u := newUser(t, s)
	must(t, s.Users().SetPassword(ctx, u.ID, "$argon2id$new"))
	got, err := s.Users().Get(ctx, u.ID)
	must(t, err)
	u.PasswordHash = "$argon2id$new"
	equal(t, got, u)
	wantErr(t, s.Users().SetPassword(ctx, domain.NewID(), "x"), domain.ErrNotFound)
}

// Sessions: ListForUser returns the live ones newest first (revoked,
// expired and idle ones left out, other users' never); Touch only moves
// LastSeenAt forward; RevokeAllForUser spares `except` and other users.
func testSessionsListTouchRevokeAll(t *testing.T, s ports.Store) {
	ctx := t.Context()
	u, other := newUser(t, s), newUser(t, s)
	mk := func(userID string, created time.Time, ua string) domain.Session {
		ss := domain.Session{ID: domain.NewID(), UserID: userID, TokenHash: []byte("hash-" + uniq()), CreatedAt: created,
			LastSeenAt: created, ExpiresAt: created.Add(domain.SessionTTL), IP: "203.0.113.7", UserAgent: ua}
		must(t, s.Sessions().Create(ctx, ss))
		return ss
	}
	now := t0.Add(10 * 24 * time.Hour)
	old := mk(u.ID, now.Add(-8*24*time.Hour), "old")      // past its absolute expiry
	idle := mk(u.ID, now.Add(-30*time.Hour), "idle")      // unused for 30 h
	a := mk(u.ID, now.Add(-3*time.Hour), "a")             // live
	b := mk(u.ID, now.Add(-2*time.Hour), "Mozilla/5.0 ü") // live, newer
	revoked := mk(u.ID, now.Add(-time.Hour), "revoked")
	must(t, s.Sessions().Revoke(ctx, revoked.ID, now.Add(-time.Minute)))
	theirs := mk(other.ID, now.Add(-time.Hour), "theirs")
	_ = old

	got, err := s.Sessions().ListForUser(ctx, u.ID, now)
	must(t, err)
	equal(t, got, []domain.Session{b, a})

	// Touch moves LastSeenAt forward only; a touched idle session lives again.
	seen := now.Add(-time.Minute)
	must(t, s.Sessions().Touch(ctx, idle.ID, seen))
	must(t, s.Sessions().Touch(ctx, idle.ID, seen.Add(-time.Hour)))
	g, err := s.Sessions().GetByHash(ctx, idle.TokenHash)
	must(t, err)
	equal(t, g.LastSeenAt, seen)
	got, err = s.Sessions().ListForUser(ctx, u.ID, now)
	must(t, err)
	if len(got) != 3 {
		t.Fatalf("after touching the idle session, %d live sessions, want 3: %s", len(got), show(got))
	}

	n, err := s.Sessions().RevokeAllForUser(ctx, u.ID, a.ID, now)
	must(t, err)
	if n != 3 { // old, idle, b (revoked is revoked already; a is spared)
		t.Errorf("RevokeAllForUser revoked %d sessions, want 3", n)
	}
	got, err = s.Sessions().ListForUser(ctx, u.ID, now)
	must(t, err)
	equal(t, got, []domain.Session{a})
	got, err = s.Sessions().ListForUser(ctx, other.ID, now)
	must(t, err)
	equal(t, got, []domain.Session{theirs})
	n, err = s.Sessions().RevokeAllForUser(ctx, u.ID, "", now)
	must(t, err)
	equal(t, n, 1)
}

// LoginGuards: an email without a record reads as the zero record; Update
// stores what fn returns and a Clean() result deletes the record.
func testLoginGuards(t *testing.T, s ports.Store) {
	ctx := t.Context()
	email := newEmail()
	g, err := s.LoginGuards().Get(ctx, email)
	must(t, err)
	equal(t, g, domain.LoginGuard{Email: email})

	until := t0.Add(15 * time.Minute)
	want := domain.LoginGuard{Email: email, Failures: 3, WindowStart: t0, LockedUntil: &until, Lockouts: 2}
	got, err := s.LoginGuards().Update(ctx, email, func(g domain.LoginGuard) domain.LoginGuard {
		equal(t, g, domain.LoginGuard{Email: email, WindowStart: g.WindowStart})
		return want
	})
	must(t, err)
	equal(t, got, want)
	g, err = s.LoginGuards().Get(ctx, email)
	must(t, err)
	equal(t, g, want)
	other, err := s.LoginGuards().Get(ctx, newEmail())
	must(t, err)
	equal(t, other.Failures, 0)

	_, err = s.LoginGuards().Update(ctx, email, func(g domain.LoginGuard) domain.LoginGuard {
		equal(t, g, want)
		return domain.LoginGuard{}
	})
	must(t, err)
	g, err = s.LoginGuards().Get(ctx, email)
	must(t, err)
	equal(t, g, domain.LoginGuard{Email: email})
}

// LoginGuards.Update: "concurrent updates of one email apply one after the
// other" — no failed sign-in is lost to a race.
func testLoginGuardsConcurrent(t *testing.T, s ports.Store) {
	ctx := t.Context()
	email := newEmail()
	const n = 12
	errs := race(n, func(i int) error {
		_, err := s.LoginGuards().Update(ctx, email, func(g domain.LoginGuard) domain.LoginGuard {
			g.Failures++
			g.WindowStart = t0
			return g
		})
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
	}
	g, err := s.LoginGuards().Get(ctx, email)
	must(t, err)
	if g.Failures != n {
		t.Errorf("after %d concurrent updates the record counts %d failures: %s", n, g.Failures, fmt.Sprint(g))
	}
}

// APIKeys.SetRateLimit stores the key's own rate and returns the key; an
// unknown key is NOT_FOUND.
func testAPIKeyRateLimit(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o, u := newOrg(t, s), newUser(t, s)
	k := domain.APIKey{ID: domain.NewID(), OrgID: o.ID, Name: "rated", Mode: domain.APIKeyLive, Prefix: "crk_live_",
		Last4: "wxyz", SecretHash: []byte("secret-" + uniq()), CreatedBy: u.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	must(t, s.APIKeys().Create(ctx, k))
	got, err := s.APIKeys().SetRateLimit(ctx, k.ID, 250)
	must(t, err)
	k.RateLimit = 250
	equal(t, got, k)
	again, err := s.APIKeys().GetByHash(ctx, k.SecretHash)
	must(t, err)
	equal(t, again, k)
	_, err = s.APIKeys().SetRateLimit(ctx, domain.NewID(), 5)
	wantErr(t, err, domain.ErrNotFound)
}

// Users.SetMFA switches the flag; MFAChallenges: Get round trip, Fail
// counts, Use admits one of concurrent calls and refuses a used, spent or
// expired challenge.
func testMFAChallenges(t *testing.T, s ports.Store) {
	ctx := t.Context()
	u := newUser(t, s)
	must(t, s.Users().SetMFA(ctx, u.ID, true))
	got, err := s.Users().Get(ctx, u.ID)
	must(t, err)
	equal(t, got.MFAEnabled, true)
	wantErr(t, s.Users().SetMFA(ctx, domain.NewID(), true), domain.ErrNotFound)

	mk := func(expires time.Time) domain.MFAChallenge {
		c := domain.MFAChallenge{ID: domain.NewID(), UserID: u.ID, CodeHash: []byte("hash-" + uniq()), CreatedAt: t0, ExpiresAt: expires,
			Purpose: domain.MFASignIn}
		must(t, s.MFAChallenges().Create(ctx, c))
		return c
	}
	c := mk(t0.Add(domain.MFACodeTTL))
	g, err := s.MFAChallenges().Get(ctx, c.ID)
	must(t, err)
	equal(t, g, c)
	_, err = s.MFAChallenges().Get(ctx, domain.NewID())
	wantErr(t, err, domain.ErrNotFound)
	// Get returns the challenge "with its Purpose and DeviceID"; an empty
	// Purpose is domain.MFASignIn.
	for _, want := range []domain.MFAChallenge{
		{Purpose: domain.MFAOff},
		{Purpose: domain.MFASignIn, DeviceID: domain.NewID()},
		{},
	} {
		want.ID, want.UserID, want.CodeHash, want.CreatedAt, want.ExpiresAt = domain.NewID(), u.ID, []byte("hash-"+uniq()), t0, t0.Add(time.Minute)
		must(t, s.MFAChallenges().Create(ctx, want))
		if want.Purpose == "" {
			want.Purpose = domain.MFASignIn
		}
		g, err := s.MFAChallenges().Get(ctx, want.ID)
		must(t, err)
		equal(t, g, want)
	}

	for i := 1; i < domain.MFAMaxAttempts; i++ {
		g, err = s.MFAChallenges().Fail(ctx, c.ID)
		must(t, err)
		equal(t, g.Attempts, i)
	}
	now := t0.Add(time.Minute)
	errs := race(8, func(int) error { return s.MFAChallenges().Use(ctx, c.ID, now) })
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if !errors.Is(err, domain.ErrMFAInvalid) {
			t.Fatalf("concurrent Use: %v", err)
		}
	}
	equal(t, ok, 1)
	wantErr(t, s.MFAChallenges().Use(ctx, c.ID, now), domain.ErrMFAInvalid) // used

	spent := mk(t0.Add(domain.MFACodeTTL))
	for range domain.MFAMaxAttempts {
		_, err := s.MFAChallenges().Fail(ctx, spent.ID)
		must(t, err)
	}
	wantErr(t, s.MFAChallenges().Use(ctx, spent.ID, now), domain.ErrMFAInvalid)
	expired := mk(now)
	wantErr(t, s.MFAChallenges().Use(ctx, expired.ID, now), domain.ErrMFAInvalid)
}
