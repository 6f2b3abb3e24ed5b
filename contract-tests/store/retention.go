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

// cutoff is the "before" of the retention cases: what ended strictly
// before it goes, what ends at it or later stays.
var cutoff = t0.Add(48 * time.Hour)

// activityIDs returns the IDs of every entry of the log, oldest first.
func activityIDs(t *testing.T, s ports.Store) []string {
	t.Helper()
	got, err := s.Activity().List(t.Context(), ports.ActivityFilter{AllOrgs: true, Page: ports.Page{Limit: 1000}})
	must(t, err)
	ids := make([]string, len(got))
	for i, a := range got {
		ids[len(got)-1-i] = a.ID
	}
	return ids
}

// recordActivity records one entry of orgID ("" for none) at `at`.
func recordActivity(t *testing.T, s ports.Store, orgID string, at time.Time) domain.Activity {
	t.Helper()
	a := domain.NewActivity(domain.Actor{UserID: domain.NewID()}, orgID, domain.ActBadgeCreated, "badge", domain.NewID(), "", at)
	must(t, s.Activity().Record(t.Context(), a))
	return a
}

// Retention.PruneActivity: "deletes activity entries recorded strictly
// before before, of every organization (and of none) alike, oldest first,
// at most limit of them; it returns how many it deleted".
func testPruneActivity(t *testing.T, s ports.Store) {
	ctx := t.Context()
	a, b := newOrg(t, s), newOrg(t, s)
	var old []string // oldest first
	for i, orgID := range []string{a.ID, b.ID, "", a.ID, b.ID} {
		old = append(old, recordActivity(t, s, orgID, cutoff.Add(-time.Duration(5-i)*time.Hour)).ID)
	}
	kept := []string{
		recordActivity(t, s, a.ID, cutoff).ID, // at the cutoff, not before it
		recordActivity(t, s, b.ID, cutoff.Add(time.Microsecond)).ID,
		recordActivity(t, s, "", cutoff.Add(time.Hour)).ID,
	}

	n, err := s.Retention().PruneActivity(ctx, cutoff, 3)
	must(t, err)
	equal(t, n, 3) // the limit
	equal(t, activityIDs(t, s), slices.Concat(old[3:], kept))
	n, err = s.Retention().PruneActivity(ctx, cutoff, 3)
	must(t, err)
	equal(t, n, 2) // the rest: a short batch
	equal(t, activityIDs(t, s), kept)
	n, err = s.Retention().PruneActivity(ctx, cutoff, 3)
	must(t, err)
	equal(t, n, 0)

	// Each organization keeps its recent entries.
	got, err := s.Activity().List(ctx, ports.ActivityFilter{OrgID: b.ID})
	must(t, err)
	equal(t, len(got), 1)
	equal(t, got[0].ID, kept[1])
}

// newSession stores a session of userID created at created.
func newSession(t *testing.T, s ports.Store, userID string, created, expires time.Time) domain.Session {
	t.Helper()
	ss := domain.Session{ID: domain.NewID(), UserID: userID, TokenHash: []byte("hash-" + uniq()), CreatedAt: created,
		LastSeenAt: created, ExpiresAt: expires}
	must(t, s.Sessions().Create(t.Context(), ss))
	return ss
}

// sessionExists reports whether the session is still stored.
func sessionExists(t *testing.T, s ports.Store, ss domain.Session) bool {
	t.Helper()
	_, err := s.Sessions().GetByHash(t.Context(), ss.TokenHash)
	if err != nil && !isNotFound(err) {
		t.Fatalf("get session: %v", err)
	}
	return err == nil
}

func isNotFound(err error) bool { return errors.Is(err, domain.ErrNotFound) }

// Retention.PruneEnded, sessions: "sessions revoked or past their absolute
// expiry" go; "an unexpired unrevoked session" stays, and so does one
// revoked after the cutoff, until a later cutoff passes it.
func testPruneEndedSessions(t *testing.T, s ports.Store) {
	ctx := t.Context()
	u := newUser(t, s)
	created := cutoff.Add(-3 * 24 * time.Hour)
	expired := newSession(t, s, u.ID, created, cutoff.Add(-time.Hour))
	expiresAtCutoff := newSession(t, s, u.ID, created, cutoff)
	live := newSession(t, s, u.ID, created, cutoff.Add(time.Hour))
	revokedBefore := newSession(t, s, u.ID, created, cutoff.Add(time.Hour))
	must(t, s.Sessions().Revoke(ctx, revokedBefore.ID, cutoff.Add(-time.Minute)))
	revokedAfter := newSession(t, s, u.ID, created, cutoff.Add(time.Hour))
	must(t, s.Sessions().Revoke(ctx, revokedAfter.ID, cutoff.Add(time.Minute)))
	// Idle since long before the cutoff, but its absolute expiry is after.
	idle := newSession(t, s, u.ID, cutoff.Add(-2*24*time.Hour), cutoff.Add(5*24*time.Hour))

	got, err := s.Retention().PruneEnded(ctx, cutoff, 100)
	must(t, err)
	equal(t, got, ports.Pruned{Sessions: 2})
	for _, c := range []struct {
		name string
		ss   domain.Session
		want bool
	}{
		{"expired before the cutoff", expired, false},
		{"expiring at the cutoff", expiresAtCutoff, true},
		{"live", live, true},
		{"revoked before the cutoff", revokedBefore, false},
		{"revoked after the cutoff", revokedAfter, true},
		{"idle, not expired", idle, true},
	} {
		if got := sessionExists(t, s, c.ss); got != c.want {
			t.Errorf("session %s: kept = %v, want %v", c.name, got, c.want)
		}
	}

	// Once the cutoff passes the revocation, the revoked session goes too.
	got, err = s.Retention().PruneEnded(ctx, cutoff.Add(2*time.Minute), 100)
	must(t, err)
	equal(t, got, ports.Pruned{Sessions: 2}) // expiresAtCutoff, revokedAfter
	equal(t, sessionExists(t, s, revokedAfter), false)
	equal(t, sessionExists(t, s, live), true)
}

// Retention.PruneEnded, emailed tokens: "used or expired" ones go; "an
// unused unexpired token" stays, and still works.
func testPruneEndedEmailTokens(t *testing.T, s ports.Store) {
	ctx := t.Context()
	u := newUser(t, s)
	use := func(tok domain.EmailToken, at time.Time) {
		t.Helper()
		_, err := s.EmailTokens().Use(ctx, tok.TokenHash, tok.Purpose, at)
		must(t, err)
	}
	newEmailToken(t, s, u.ID, cutoff.Add(-time.Hour))                               // expired: goes
	use(newEmailToken(t, s, u.ID, cutoff.Add(time.Hour)), cutoff.Add(-time.Minute)) // used before: goes
	use(newEmailToken(t, s, u.ID, cutoff.Add(time.Hour)), cutoff.Add(time.Minute))  // used after: stays
	atCutoff := newEmailToken(t, s, u.ID, cutoff)                                   // expires at the cutoff: stays
	live := newEmailToken(t, s, u.ID, cutoff.Add(time.Hour))                        // unused, unexpired: stays

	got, err := s.Retention().PruneEnded(ctx, cutoff, 100)
	must(t, err)
	equal(t, got, ports.Pruned{EmailTokens: 2})
	got, err = s.Retention().PruneEnded(ctx, cutoff, 100)
	must(t, err)
	equal(t, got, ports.Pruned{})
	use(live, cutoff)
	use(atCutoff, cutoff.Add(-time.Second))

	// Later, the token used after the first cutoff and the two used now go.
	got, err = s.Retention().PruneEnded(ctx, cutoff.Add(2*time.Minute), 100)
	must(t, err)
	equal(t, got, ports.Pruned{EmailTokens: 3})
}

// Retention.PruneEnded, MFA challenges: "used or expired" ones go; "an
// unused unexpired ... challenge" stays.
func testPruneEndedMFAChallenges(t *testing.T, s ports.Store) {
	ctx := t.Context()
	u := newUser(t, s)
	mk := func(expires time.Time) domain.MFAChallenge {
		c := domain.MFAChallenge{ID: domain.NewID(), UserID: u.ID, CodeHash: []byte("hash-" + uniq()),
			CreatedAt: cutoff.Add(-time.Hour), ExpiresAt: expires}
		must(t, s.MFAChallenges().Create(ctx, c))
		return c
	}
	expired := mk(cutoff.Add(-time.Minute))
	usedBefore := mk(cutoff.Add(time.Minute))
	must(t, s.MFAChallenges().Use(ctx, usedBefore.ID, cutoff.Add(-time.Second)))
	usedAfter := mk(cutoff.Add(time.Minute))
	must(t, s.MFAChallenges().Use(ctx, usedAfter.ID, cutoff.Add(time.Second)))
	open := mk(cutoff.Add(time.Minute))

	got, err := s.Retention().PruneEnded(ctx, cutoff, 100)
	must(t, err)
	equal(t, got, ports.Pruned{MFAChallenges: 2})
	for _, c := range []struct {
		name string
		c    domain.MFAChallenge
		want bool
	}{
		{"expired", expired, false},
		{"used before the cutoff", usedBefore, false},
		{"used after the cutoff", usedAfter, true},
		{"open", open, true},
	} {
		_, err := s.MFAChallenges().Get(ctx, c.c.ID)
		if err != nil && !isNotFound(err) {
			t.Fatal(err)
		}
		if got := err == nil; got != c.want {
			t.Errorf("challenge %s: kept = %v, want %v", c.name, got, c.want)
		}
	}
}

// setGuard stores g.
func setGuard(t *testing.T, s ports.Store, g domain.LoginGuard) domain.LoginGuard {
	t.Helper()
	got, err := s.LoginGuards().Update(t.Context(), g.Email, func(domain.LoginGuard) domain.LoginGuard { return g })
	must(t, err)
	return got
}

// Retention.PruneEnded, sign-in guards: a guard goes once its failure
// window ended and its lock-out, with the quiet day after it, ended; "a
// guard still locking, counting failures or remembering lock-outs in a
// row" stays as it is.
func testPruneEndedLoginGuards(t *testing.T, s ports.Store) {
	ctx := t.Context()
	until := func(d time.Duration) *time.Time { return ptr(cutoff.Add(d)) }
	w := domain.LoginFailureWindow
	guards := []struct {
		name string
		g    domain.LoginGuard
		want bool // kept
	}{
		{"counting failures", domain.LoginGuard{Failures: 2, WindowStart: cutoff.Add(-w + time.Minute)}, true},
		{"window ended", domain.LoginGuard{Failures: 2, WindowStart: cutoff.Add(-w - time.Minute)}, false},
		{"window ending at the cutoff", domain.LoginGuard{Failures: 2, WindowStart: cutoff.Add(-w)}, true},
		{"locked", domain.LoginGuard{WindowStart: cutoff.Add(-2 * w), LockedUntil: until(w), Lockouts: 1}, true},
		{"lock ended, lock-outs remembered", domain.LoginGuard{WindowStart: cutoff.Add(-2 * time.Hour),
			LockedUntil: until(-time.Hour), Lockouts: 2}, true},
		{"lock and quiet day ended", domain.LoginGuard{WindowStart: cutoff.Add(-domain.MaxLockout - 2*time.Hour),
			LockedUntil: until(-domain.MaxLockout - time.Minute), Lockouts: 3}, false},
		{"quiet day ended, failures counting again", domain.LoginGuard{Failures: 1, WindowStart: cutoff.Add(-time.Minute),
			LockedUntil: until(-domain.MaxLockout - time.Minute), Lockouts: 3}, true},
	}
	for i := range guards {
		guards[i].g.Email = newEmail()
		guards[i].g = setGuard(t, s, guards[i].g)
	}

	got, err := s.Retention().PruneEnded(ctx, cutoff, 100)
	must(t, err)
	equal(t, got, ports.Pruned{LoginGuards: 2})
	for _, c := range guards {
		g, err := s.LoginGuards().Get(ctx, c.g.Email)
		must(t, err)
		want := domain.LoginGuard{Email: c.g.Email}
		if c.want {
			want = c.g
		}
		if !equalGuards(g, want) {
			t.Errorf("guard %s: got %s, want %s", c.name, show(g), show(want))
		}
	}
}

func equalGuards(a, b domain.LoginGuard) bool {
	return a.Email == b.Email && a.Failures == b.Failures && a.WindowStart.Equal(b.WindowStart) && a.Lockouts == b.Lockouts &&
		(a.LockedUntil == nil) == (b.LockedUntil == nil) && (a.LockedUntil == nil || a.LockedUntil.Equal(*b.LockedUntil))
}

// Retention.PruneEnded: "at most limit of each kind", whichever way the
// rows ended (expired, revoked or used), and "returns how many of each it
// deleted".
func testPruneEndedLimit(t *testing.T, s ports.Store) {
	ctx := t.Context()
	u := newUser(t, s)
	created := cutoff.Add(-3 * 24 * time.Hour)
	for range 2 {
		newSession(t, s, u.ID, created, cutoff.Add(-time.Hour))
		newEmailToken(t, s, u.ID, cutoff.Add(-time.Hour))
		must(t, s.MFAChallenges().Create(ctx, domain.MFAChallenge{ID: domain.NewID(), UserID: u.ID, CodeHash: []byte("h-" + uniq()),
			CreatedAt: created, ExpiresAt: cutoff.Add(-time.Hour)}))
	}
	revoked := newSession(t, s, u.ID, created, cutoff.Add(time.Hour))
	must(t, s.Sessions().Revoke(ctx, revoked.ID, cutoff.Add(-time.Hour)))
	tok := newEmailToken(t, s, u.ID, cutoff.Add(time.Hour))
	_, err := s.EmailTokens().Use(ctx, tok.TokenHash, tok.Purpose, cutoff.Add(-time.Hour))
	must(t, err)
	c := domain.MFAChallenge{ID: domain.NewID(), UserID: u.ID, CodeHash: []byte("h-" + uniq()), CreatedAt: created, ExpiresAt: cutoff.Add(time.Hour)}
	must(t, s.MFAChallenges().Create(ctx, c))
	must(t, s.MFAChallenges().Use(ctx, c.ID, cutoff.Add(-time.Hour)))
	for range 3 {
		setGuard(t, s, domain.LoginGuard{Email: newEmail(), Failures: 1, WindowStart: created})
	}
	for range 2 {
		newDevice(t, s, u.ID, cutoff.Add(-domain.DeviceTTL-time.Hour))
	}
	revokedDevice := newDevice(t, s, u.ID, created)
	for range domain.DeviceFailureLimit {
		_, err := s.Devices().Fail(ctx, revokedDevice.ID, cutoff.Add(-time.Hour))
		must(t, err)
	}
	live := newSession(t, s, u.ID, created, cutoff.Add(time.Hour))

	for _, want := range []ports.Pruned{
		{Sessions: 2, EmailTokens: 2, MFAChallenges: 2, LoginGuards: 2, Devices: 2},
		{Sessions: 1, EmailTokens: 1, MFAChallenges: 1, LoginGuards: 1, Devices: 1},
		{},
	} {
		got, err := s.Retention().PruneEnded(ctx, cutoff, 2)
		must(t, err)
		equal(t, got, want)
	}
	equal(t, sessionExists(t, s, live), true)
}

// Retention: "Concurrent calls delete each row once; their counts add up
// to what was deleted."
func testPruneConcurrent(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o := newOrg(t, s)
	u := newUser(t, s)
	const entries, sessions = 60, 30
	for i := range entries {
		recordActivity(t, s, o.ID, cutoff.Add(-time.Duration(i+1)*time.Minute))
	}
	for range sessions {
		newSession(t, s, u.ID, t0, cutoff.Add(-time.Minute))
	}
	kept := recordActivity(t, s, o.ID, cutoff)
	live := newSession(t, s, u.ID, t0, cutoff.Add(time.Minute))

	const pruners, rounds = 6, 4
	counts := make([]int, pruners)
	ended := make([]ports.Pruned, pruners)
	errs := race(pruners, func(i int) error {
		for range rounds {
			n, err := s.Retention().PruneActivity(ctx, cutoff, 7)
			if err != nil {
				return err
			}
			p, err := s.Retention().PruneEnded(ctx, cutoff, 4)
			if err != nil {
				return err
			}
			counts[i] += n
			ended[i] = ended[i].Add(p)
		}
		return nil
	})
	deleted, pruned := 0, ports.Pruned{}
	for i, err := range errs {
		must(t, err)
		deleted += counts[i]
		pruned = pruned.Add(ended[i])
	}
	// What the race left, one call takes.
	n, err := s.Retention().PruneActivity(ctx, cutoff, entries)
	must(t, err)
	p, err := s.Retention().PruneEnded(ctx, cutoff, sessions)
	must(t, err)
	equal(t, deleted+n, entries)
	equal(t, pruned.Add(p), ports.Pruned{Sessions: sessions})
	equal(t, activityIDs(t, s), []string{kept.ID})
	equal(t, sessionExists(t, s, live), true)
}

// Retention: "inside one the calls join it (and a rollback restores what
// they deleted)".
func testPruneRollback(t *testing.T, s ports.Store) {
	ctx := t.Context()
	u := newUser(t, s)
	old := recordActivity(t, s, "", cutoff.Add(-time.Hour))
	ss := newSession(t, s, u.ID, t0, cutoff.Add(-time.Hour))
	err := s.WithinTx(ctx, func(ctx context.Context) error {
		n, err := s.Retention().PruneActivity(ctx, cutoff, 10)
		must(t, err)
		equal(t, n, 1)
		p, err := s.Retention().PruneEnded(ctx, cutoff, 10)
		must(t, err)
		equal(t, p, ports.Pruned{Sessions: 1})
		return errBoom
	})
	wantErr(t, err, errBoom)
	equal(t, activityIDs(t, s), []string{old.ID})
	equal(t, sessionExists(t, s, ss), true)
}

// Retention.PruneEnded never deletes "a row still live": a guard that a
// failed sign-in makes live again while the prune waits for its lock stays,
// with the new failure.
func testPruneEndedGuardRevived(t *testing.T, s ports.Store) {
	ctx := t.Context()
	w := domain.LoginFailureWindow
	ended := setGuard(t, s, domain.LoginGuard{Email: newEmail(), Failures: 3, WindowStart: cutoff.Add(-w - time.Hour)})
	revived := domain.LoginGuard{Email: ended.Email, Failures: 4, WindowStart: cutoff.Add(time.Minute)}
	pruned := make(chan error, 1)
	must(t, s.WithinTx(ctx, func(ctx context.Context) error {
		if _, err := s.LoginGuards().Update(ctx, ended.Email, func(domain.LoginGuard) domain.LoginGuard { return revived }); err != nil {
			return err
		}
		go func() { // waits for this transaction's lock where there are row locks
			_, err := s.Retention().PruneEnded(t.Context(), cutoff, 100)
			pruned <- err
		}()
		time.Sleep(300 * time.Millisecond)
		return nil
	}))
	must(t, <-pruned)
	g, err := s.LoginGuards().Get(ctx, ended.Email)
	must(t, err)
	if !equalGuards(g, revived) {
		t.Errorf("a guard revived during the prune: got %s, want %s", show(g), show(revived))
	}
}
