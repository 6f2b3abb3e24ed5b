package store

import (
	"errors"
	"time"

	"testing"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// Users: Create, Get, GetByEmail round trip; "MarkVerified sets
// EmailVerifiedAt when it is not set yet".
func testUserRoundTrip(t *testing.T, s ports.Store) {
	ctx := t.Context()
	u := newUser(t, s)
	got, err := s.Users().Get(ctx, u.ID)
	must(t, err)
	equal(t, got, u)
	got, err = s.Users().GetByEmail(ctx, u.Email)
	must(t, err)
	equal(t, got, u)

	at := t0.Add(time.Hour + 7*time.Microsecond)
	must(t, s.Users().MarkVerified(ctx, u.ID, at))
	must(t, s.Users().MarkVerified(ctx, u.ID, at.Add(time.Hour))) // already set: unchanged
	got, err = s.Users().Get(ctx, u.ID)
	must(t, err)
	u.EmailVerifiedAt = &at
	equal(t, got, u)
}

// Users.Create: "an email already registered returns an error matching ErrEmailTaken".
func testUserEmailTaken(t *testing.T, s ports.Store) {
	ctx := t.Context()
	u := newUser(t, s)
	dup := domain.User{ID: domain.NewID(), Email: u.Email, Name: "Other", PasswordHash: "x", CreatedAt: t0}
	wantErr(t, s.Users().Create(ctx, dup), ports.ErrEmailTaken)
	_, err := s.Users().Get(ctx, dup.ID)
	wantErr(t, err, domain.ErrNotFound)
}

// Sessions: "GetByHash returns the session whose TokenHash equals hash";
// "Revoke sets RevokedAt on the session when it is not set yet".
func testSessions(t *testing.T, s ports.Store) {
	ctx := t.Context()
	u := newUser(t, s)
	mk := func() domain.Session {
		return domain.Session{ID: domain.NewID(), UserID: u.ID, TokenHash: []byte("hash-" + uniq()),
			CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(30 * 24 * time.Hour)}
	}
	s1, s2 := mk(), mk()
	s2.MFA = true // opened with an emailed code
	must(t, s.Sessions().Create(ctx, s1))
	must(t, s.Sessions().Create(ctx, s2))
	got, err := s.Sessions().GetByHash(ctx, s1.TokenHash)
	must(t, err)
	equal(t, got, s1)

	at := t0.Add(time.Minute)
	must(t, s.Sessions().Revoke(ctx, s1.ID, at))
	must(t, s.Sessions().Revoke(ctx, s1.ID, at.Add(time.Hour))) // already set: unchanged
	got, err = s.Sessions().GetByHash(ctx, s1.TokenHash)
	must(t, err)
	s1.RevokedAt = &at
	equal(t, got, s1)
	if got.Live(at) {
		t.Error("a revoked session is live")
	}
	got, err = s.Sessions().GetByHash(ctx, s2.TokenHash)
	must(t, err)
	equal(t, got, s2) // the other session is untouched
}

func newEmailToken(t *testing.T, s ports.Store, userID string, expiresAt time.Time) domain.EmailToken {
	t.Helper()
	tok := domain.EmailToken{TokenHash: []byte("tok-" + uniq()), UserID: userID, Purpose: domain.PurposeVerifyEmail,
		CreatedAt: t0, ExpiresAt: expiresAt}
	must(t, s.EmailTokens().Create(t.Context(), tok))
	return tok
}

// EmailTokens.Use: "marks the token with hash and purpose used at `at` and
// returns it"; "An unknown, used or expired (ExpiresAt <= at) token returns
// an error matching domain.ErrInvalidToken and marks nothing."
func testEmailTokenUse(t *testing.T, s ports.Store) {
	ctx := t.Context()
	u := newUser(t, s)
	tok := newEmailToken(t, s, u.ID, t0.Add(time.Hour))
	at := t0.Add(time.Minute)

	_, err := s.EmailTokens().Use(ctx, []byte("unknown"), domain.PurposeVerifyEmail, at)
	wantErr(t, err, domain.ErrInvalidToken)
	_, err = s.EmailTokens().Use(ctx, tok.TokenHash, domain.TokenPurpose("reset_password"), at)
	wantErr(t, err, domain.ErrInvalidToken) // wrong purpose: marks nothing
	_, err = s.EmailTokens().Use(ctx, tok.TokenHash, tok.Purpose, tok.ExpiresAt)
	wantErr(t, err, domain.ErrInvalidToken) // ExpiresAt <= at: marks nothing

	got, err := s.EmailTokens().Use(ctx, tok.TokenHash, tok.Purpose, at)
	must(t, err)
	tok.UsedAt = &at
	equal(t, got, tok)

	_, err = s.EmailTokens().Use(ctx, tok.TokenHash, tok.Purpose, at.Add(time.Second))
	wantErr(t, err, domain.ErrInvalidToken) // used

	expired := newEmailToken(t, s, u.ID, t0)
	_, err = s.EmailTokens().Use(ctx, expired.TokenHash, expired.Purpose, t0.Add(time.Microsecond))
	wantErr(t, err, domain.ErrInvalidToken)
}

// EmailTokens.Use: "atomically: of two concurrent calls one succeeds".
func testEmailTokenConcurrentUse(t *testing.T, s ports.Store) {
	ctx := t.Context()
	u := newUser(t, s)
	tok := newEmailToken(t, s, u.ID, t0.Add(time.Hour))
	errs := race(10, func(i int) error {
		_, err := s.EmailTokens().Use(ctx, tok.TokenHash, tok.Purpose, t0.Add(time.Duration(i)*time.Second))
		return err
	})
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, domain.ErrInvalidToken):
			t.Errorf("concurrent Use: unexpected error %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of 10 concurrent Use calls succeeded, want exactly 1", ok)
	}
}

// EmailTokens.RevokeAllForUser: "ends every token of the user with purpose
// that is live at `at` (unused, ExpiresAt > at), marking it used at `at`
// (Use refuses it from then on), and returns how many it ended. Tokens of
// other users or purposes are left alone."
func testEmailTokenRevokeAllForUser(t *testing.T, s ports.Store) {
	ctx := t.Context()
	u, other := newUser(t, s), newUser(t, s)
	at := t0.Add(30 * time.Minute)
	mk := func(userID string, purpose domain.TokenPurpose, expires time.Time) domain.EmailToken {
		tok := domain.EmailToken{TokenHash: []byte("tok-" + uniq()), UserID: userID, Purpose: purpose, CreatedAt: t0, ExpiresAt: expires}
		must(t, s.EmailTokens().Create(ctx, tok))
		return tok
	}
	live1 := mk(u.ID, domain.PurposePasswordReset, t0.Add(time.Hour))
	live2 := mk(u.ID, domain.PurposePasswordReset, t0.Add(2*time.Hour))
	used := mk(u.ID, domain.PurposePasswordReset, t0.Add(time.Hour))
	usedAt := t0.Add(time.Minute)
	_, err := s.EmailTokens().Use(ctx, used.TokenHash, used.Purpose, usedAt)
	must(t, err)
	mk(u.ID, domain.PurposePasswordReset, at) // expired: ExpiresAt == at is not live
	verify := mk(u.ID, domain.PurposeVerifyEmail, t0.Add(time.Hour))
	theirs := mk(other.ID, domain.PurposePasswordReset, t0.Add(time.Hour))

	n, err := s.EmailTokens().RevokeAllForUser(ctx, u.ID, domain.PurposePasswordReset, at)
	must(t, err)
	equal(t, n, 2) // not the used one, nor the one expired at `at`
	for _, tok := range []domain.EmailToken{live1, live2} {
		_, err := s.EmailTokens().Use(ctx, tok.TokenHash, tok.Purpose, at)
		wantErr(t, err, domain.ErrInvalidToken)
	}
	n, err = s.EmailTokens().RevokeAllForUser(ctx, u.ID, domain.PurposePasswordReset, at)
	must(t, err)
	equal(t, n, 0)
	// Used at `at`: housekeeping, which deletes what ended strictly before
	// a time, takes the revoked ones at `at` and not sooner.
	p, err := s.Retention().PruneEnded(ctx, at, 100)
	must(t, err)
	equal(t, p.EmailTokens, 1) // the one used before
	p, err = s.Retention().PruneEnded(ctx, at.Add(time.Microsecond), 100)
	must(t, err)
	equal(t, p.EmailTokens, 3) // the two revoked, the expired one
	for _, tok := range []domain.EmailToken{verify, theirs} {
		got, err := s.EmailTokens().Use(ctx, tok.TokenHash, tok.Purpose, at)
		must(t, err)
		tok.UsedAt = &at
		equal(t, got, tok)
	}
}

// APIKeys: round trips; "List returns the org's keys, revoked included,
// newest first"; "CountActive counts keys neither revoked nor expired at
// now"; "Revoke sets RevokedAt when it is not set yet"; "Touch records the
// last use time".
func testAPIKeys(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o, other := newOrg(t, s), newOrg(t, s)
	u := newUser(t, s)
	mk := func(orgID string, created, expires time.Time) domain.APIKey {
		k := domain.APIKey{ID: domain.NewID(), OrgID: orgID, Name: "key " + uniq(), Mode: domain.APIKeyLive,
			Prefix: "crk_live_", Last4: "a1b2", SecretHash: []byte("secret-" + uniq()), CreatedBy: u.ID,
			CreatedAt: created, ExpiresAt: expires}
		must(t, s.APIKeys().Create(ctx, k))
		return k
	}
	live := mk(o.ID, t0.Add(-3*time.Hour), t0.Add(24*time.Hour))
	toRevoke := mk(o.ID, t0.Add(-2*time.Hour), t0.Add(24*time.Hour))
	expired := mk(o.ID, t0.Add(-time.Hour), t0) // ExpiresAt == now: not active
	otherKey := mk(other.ID, t0, t0.Add(24*time.Hour))

	got, err := s.APIKeys().Get(ctx, o.ID, live.ID)
	must(t, err)
	equal(t, got, live)
	got, err = s.APIKeys().GetByHash(ctx, toRevoke.SecretHash)
	must(t, err)
	equal(t, got, toRevoke)
	_, err = s.APIKeys().Get(ctx, o.ID, otherKey.ID)
	wantErr(t, err, domain.ErrNotFound) // Get is scoped to the org

	n, err := s.APIKeys().CountActive(ctx, o.ID, t0)
	must(t, err)
	equal(t, n, 2)

	revokedAt := t0.Add(time.Minute)
	must(t, s.APIKeys().Revoke(ctx, o.ID, toRevoke.ID, revokedAt))
	must(t, s.APIKeys().Revoke(ctx, o.ID, toRevoke.ID, revokedAt.Add(time.Hour))) // unchanged
	toRevoke.RevokedAt = &revokedAt
	n, err = s.APIKeys().CountActive(ctx, o.ID, t0)
	must(t, err)
	equal(t, n, 1)

	usedAt := t0.Add(2 * time.Minute)
	must(t, s.APIKeys().Touch(ctx, live.ID, usedAt))
	live.LastUsedAt = &usedAt

	list, err := s.APIKeys().List(ctx, o.ID)
	must(t, err)
	equal(t, list, []domain.APIKey{expired, toRevoke, live})
}
