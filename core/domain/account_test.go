package domain_test

import (
	"testing"
	"time"

	"github.com/credence-dev/credence/core/domain"
)

func TestUserVerified(t *testing.T) {
	t.Parallel()
	if (domain.User{}).Verified() {
		t.Error("a user without EmailVerifiedAt is verified")
	}
	if !(domain.User{EmailVerifiedAt: &t0}).Verified() {
		t.Error("a user with EmailVerifiedAt is not verified")
	}
}

func TestSessionLive(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		s    domain.Session
		now  time.Time
		want bool
	}{
		{"before_expiry", domain.Session{ExpiresAt: future, LastSeenAt: t0}, t0, true},
		{"at_expiry", domain.Session{ExpiresAt: t0}, t0, false},
		{"after_expiry", domain.Session{ExpiresAt: past}, t0, false},
		{"revoked", domain.Session{ExpiresAt: future, RevokedAt: &past}, t0, false},
		{"zero", domain.Session{}, t0, false},
	} {
		if got := tc.s.Live(tc.now); got != tc.want {
			t.Errorf("%s: Live = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestAPIKeyActive(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		k    domain.APIKey
		want bool
	}{
		{"before_expiry", domain.APIKey{ExpiresAt: future}, true},
		{"at_expiry", domain.APIKey{ExpiresAt: t0}, false},
		{"after_expiry", domain.APIKey{ExpiresAt: past}, false},
		{"revoked", domain.APIKey{ExpiresAt: future, RevokedAt: &past}, false},
	} {
		if got := tc.k.Active(t0); got != tc.want {
			t.Errorf("%s: Active = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestActor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		a         domain.Actor
		apiKey    bool
		anonymous bool
		id        string
	}{
		{"anonymous", domain.Actor{}, false, true, ""},
		{"user", domain.Actor{UserID: "u1", UserEmail: "a@example.com"}, false, false, "u1"},
		{"admin_user", domain.Actor{UserID: "u1", Admin: true}, false, false, "u1"},
		{"api_key", domain.Actor{APIKeyID: "k1", APIKeyOrg: "org-1", APIKeyMode: domain.APIKeyLive}, true, false, "k1"},
	} {
		if got := tc.a.IsAPIKey(); got != tc.apiKey {
			t.Errorf("%s: IsAPIKey = %v", tc.name, got)
		}
		if got := tc.a.Anonymous(); got != tc.anonymous {
			t.Errorf("%s: Anonymous = %v", tc.name, got)
		}
		if got := tc.a.ID(); got != tc.id {
			t.Errorf("%s: ID = %q, want %q", tc.name, got, tc.id)
		}
	}
}

// Five failed sign-ins within 15 minutes lock an email for 15 minutes; the
// next lock-out in a row lasts twice as long, up to a day; failures spread
// over more than the window never lock; a quiet day starts over.
func TestLoginGuardLocksAndGrows(t *testing.T) {
	start := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	g := domain.LoginGuard{Email: "a@example.com"}
	fail := func(at time.Time) bool {
		var locked bool
		g, locked = g.Failed(at)
		return locked
	}
	for i := range domain.LoginFailureLimit - 1 {
		if fail(start.Add(time.Duration(i) * time.Minute)) {
			t.Fatalf("failure %d locked the email", i+1)
		}
	}
	if _, locked := g.Locked(start.Add(5 * time.Minute)); locked {
		t.Fatal("locked before the fifth failure")
	}
	at := start.Add(5 * time.Minute)
	if !fail(at) {
		t.Fatal("the fifth failure within 15 minutes did not lock")
	}
	if until, locked := g.Locked(at.Add(14 * time.Minute)); !locked || !until.Equal(at.Add(15*time.Minute)) {
		t.Fatalf("first lock-out: locked %v until %v, want until %v", locked, until, at.Add(15*time.Minute))
	}
	if _, locked := g.Locked(at.Add(15 * time.Minute)); locked {
		t.Fatal("still locked when the lock-out ended")
	}
	// Five more right after: twice as long, then four times, … up to a day.
	want := 30 * time.Minute
	for round := 0; round < 10; round++ {
		at = *g.LockedUntil
		for i := range domain.LoginFailureLimit {
			fail(at.Add(time.Duration(i) * time.Second))
		}
		locked := at.Add(time.Duration(domain.LoginFailureLimit-1) * time.Second)
		if got := g.LockedUntil.Sub(locked); got != want {
			t.Fatalf("lock-out %d lasted %v, want %v", round+2, got, want)
		}
		want = min(want*2, domain.MaxLockout)
	}
	// A quiet day after the last lock-out starts over at 15 minutes.
	at = g.LockedUntil.Add(domain.MaxLockout + time.Minute)
	for i := range domain.LoginFailureLimit {
		fail(at.Add(time.Duration(i) * time.Second))
	}
	if got := g.LockedUntil.Sub(at.Add(4 * time.Second)); got != domain.FirstLockout {
		t.Errorf("lock-out after a quiet day lasted %v, want %v", got, domain.FirstLockout)
	}

	// Failures 4 minutes apart never reach 5 within 15 minutes.
	slow := domain.LoginGuard{}
	for i := range 20 {
		var locked bool
		if slow, locked = slow.Failed(start.Add(time.Duration(i) * 4 * time.Minute)); locked {
			t.Fatalf("failure %d, 4 minutes apart, locked", i+1)
		}
	}
}

// A session ends at its absolute expiry, or a day after its last use.
func TestSessionIdleAndAbsoluteExpiry(t *testing.T) {
	start := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	s := domain.Session{CreatedAt: start, LastSeenAt: start, ExpiresAt: start.Add(domain.SessionTTL)}
	if !s.Live(start.Add(domain.SessionIdleTTL - time.Second)) {
		t.Error("a session used a moment under a day ago is not live")
	}
	if s.Live(start.Add(domain.SessionIdleTTL)) {
		t.Error("a session unused for a day is live")
	}
	s.LastSeenAt = start.Add(domain.SessionTTL - time.Hour)
	if s.Live(start.Add(domain.SessionTTL)) {
		t.Error("a session used an hour ago is live past its absolute expiry")
	}
	now := start.Add(time.Hour)
	s.RevokedAt = &now
	if s.Live(now) {
		t.Error("a revoked session is live")
	}
}
