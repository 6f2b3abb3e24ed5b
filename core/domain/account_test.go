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
		{"before_expiry", domain.Session{ExpiresAt: future}, t0, true},
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
