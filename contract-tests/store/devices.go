package store

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// newDevice stores a known device of userID last used at used.
func newDevice(t *testing.T, s ports.Store, userID string, used time.Time) domain.Device {
	t.Helper()
	d := domain.Device{ID: domain.NewID(), UserID: userID, TokenHash: []byte("device-" + uniq()), CreatedAt: used,
		LastUsedAt: used, ExpiresAt: used.Add(domain.DeviceTTL)}
	must(t, s.Devices().Create(t.Context(), d))
	return d
}

// Devices: Get and GetByHash return a device as created, live or not;
// Rotate records a sign-in (new hash, LastUsedAt, ExpiresAt, Failures 0)
// "provided it is live at `at` and still holds prevHash", else
// ErrInvalidState (ErrNotFound for an unknown id); Fail counts and at
// domain.DeviceFailureLimit revokes, a revoked device keeping its
// RevokedAt; an unknown id is ErrNotFound.
func testDevices(t *testing.T, s ports.Store) {
	ctx := t.Context()
	u := newUser(t, s)
	d := newDevice(t, s, u.ID, t0)
	got, err := s.Devices().Get(ctx, d.ID)
	must(t, err)
	equal(t, got, d)
	got, err = s.Devices().GetByHash(ctx, d.TokenHash)
	must(t, err)
	equal(t, got, d)

	// Two failures, then a sign-in: a new hash, a new expiry, no failures.
	for i := 1; i <= 2; i++ {
		got, err = s.Devices().Fail(ctx, d.ID, t0.Add(time.Minute))
		must(t, err)
		equal(t, got.Failures, i)
		equal(t, got.RevokedAt, (*time.Time)(nil))
	}
	at := t0.Add(time.Hour)
	fresh := []byte("device-" + uniq())
	must(t, s.Devices().Rotate(ctx, d.ID, d.TokenHash, fresh, at))
	want := d
	want.TokenHash, want.LastUsedAt, want.ExpiresAt = fresh, at, at.Add(domain.DeviceTTL)
	got, err = s.Devices().GetByHash(ctx, fresh)
	must(t, err)
	equal(t, got, want)
	_, err = s.Devices().GetByHash(ctx, d.TokenHash)
	wantErr(t, err, domain.ErrNotFound) // the old token is gone

	// The old hash no longer rotates; an unknown device is not found.
	wantErr(t, s.Devices().Rotate(ctx, d.ID, d.TokenHash, []byte("device-"+uniq()), at), domain.ErrInvalidState)
	wantErr(t, s.Devices().Rotate(ctx, domain.NewID(), fresh, []byte("device-"+uniq()), at), domain.ErrNotFound)
	// An expired device does not rotate, and stays as it was.
	wantErr(t, s.Devices().Rotate(ctx, d.ID, fresh, []byte("device-"+uniq()), want.ExpiresAt), domain.ErrInvalidState)

	// The limit's failure revokes, at its time; later ones keep that time.
	revokeAt := at.Add(time.Minute)
	for i := 1; i <= domain.DeviceFailureLimit+1; i++ {
		got, err = s.Devices().Fail(ctx, d.ID, revokeAt.Add(time.Duration(i-domain.DeviceFailureLimit)*time.Second))
		must(t, err)
		equal(t, got.Failures, i)
		if (got.RevokedAt != nil) != (i >= domain.DeviceFailureLimit) {
			t.Fatalf("after %d failures RevokedAt = %v", i, got.RevokedAt)
		}
	}
	equal(t, *got.RevokedAt, revokeAt)
	if got.Live(revokeAt) {
		t.Error("a revoked device is live")
	}
	// A revoked device does not rotate.
	wantErr(t, s.Devices().Rotate(ctx, d.ID, fresh, []byte("device-"+uniq()), revokeAt), domain.ErrInvalidState)
	_, err = s.Devices().Fail(ctx, domain.NewID(), at)
	wantErr(t, err, domain.ErrNotFound)
	_, err = s.Devices().Get(ctx, domain.NewID())
	wantErr(t, err, domain.ErrNotFound)
	_, err = s.Devices().GetByHash(ctx, []byte("no such device"))
	wantErr(t, err, domain.ErrNotFound)
}

// Devices.Fail: "Concurrent calls each count once" (each sees a count no
// other saw, and the limit's one revokes); Devices.Rotate: "of concurrent
// rotations from one hash one succeeds".
func testDevicesConcurrent(t *testing.T, s ports.Store) {
	ctx := t.Context()
	u := newUser(t, s)
	d := newDevice(t, s, u.ID, t0)
	at := t0.Add(time.Hour)
	const n = 12
	counts := make([]int, n)
	errs := race(n, func(i int) error {
		got, err := s.Devices().Fail(ctx, d.ID, at)
		counts[i] = got.Failures
		return err
	})
	for _, err := range errs {
		must(t, err)
	}
	slices.Sort(counts)
	for i, c := range counts {
		if c != i+1 {
			t.Fatalf("failure counts seen by %d concurrent calls, sorted: %v; want 1…%d once each", n, counts, n)
		}
	}
	got, err := s.Devices().Get(ctx, d.ID)
	must(t, err)
	if got.Failures != n || got.RevokedAt == nil || !got.RevokedAt.Equal(at) {
		t.Errorf("after %d concurrent failures: %s, want %d failures and revoked at %s", n, show(got), n, at)
	}

	e := newDevice(t, s, u.ID, t0)
	hashes := make([][]byte, 8)
	for i := range hashes {
		hashes[i] = []byte("device-" + uniq())
	}
	errs = race(len(hashes), func(i int) error { return s.Devices().Rotate(ctx, e.ID, e.TokenHash, hashes[i], at) })
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won < 0:
			won = i
		case err == nil:
			t.Fatalf("rotations %d and %d from one hash both succeeded", won, i)
		case !errors.Is(err, domain.ErrInvalidState):
			t.Fatalf("rotation %d: %v", i, err)
		}
	}
	if won < 0 {
		t.Fatal("none of the concurrent rotations succeeded")
	}
	got, err = s.Devices().Get(ctx, e.ID)
	must(t, err)
	equal(t, got.TokenHash, hashes[won])
}

// Retention.PruneEnded, known devices: those "revoked or past their
// ExpiresAt" strictly before the cutoff go; "an unexpired unrevoked ...
// device" stays, and so does one revoked after the cutoff.
func testPruneEndedDevices(t *testing.T, s ports.Store) {
	ctx := t.Context()
	u := newUser(t, s)
	ttl := domain.DeviceTTL
	expired := newDevice(t, s, u.ID, cutoff.Add(-ttl-time.Hour))
	expiresAtCutoff := newDevice(t, s, u.ID, cutoff.Add(-ttl))
	live := newDevice(t, s, u.ID, cutoff.Add(-time.Hour))
	revoke := func(at time.Time) domain.Device {
		d := newDevice(t, s, u.ID, cutoff.Add(-2*time.Hour))
		for range domain.DeviceFailureLimit {
			_, err := s.Devices().Fail(ctx, d.ID, at)
			must(t, err)
		}
		return d
	}
	revokedBefore, revokedAfter := revoke(cutoff.Add(-time.Minute)), revoke(cutoff.Add(time.Minute))

	got, err := s.Retention().PruneEnded(ctx, cutoff, 100)
	must(t, err)
	equal(t, got, ports.Pruned{Devices: 2})
	for _, c := range []struct {
		name string
		d    domain.Device
		want bool
	}{
		{"expired before the cutoff", expired, false},
		{"expiring at the cutoff", expiresAtCutoff, true},
		{"live", live, true},
		{"revoked before the cutoff", revokedBefore, false},
		{"revoked after the cutoff", revokedAfter, true},
	} {
		_, err := s.Devices().Get(ctx, c.d.ID)
		if err != nil && !isNotFound(err) {
			t.Fatal(err)
		}
		if kept := err == nil; kept != c.want {
			t.Errorf("device %s: kept = %v, want %v", c.name, kept, c.want)
		}
	}
	got, err = s.Retention().PruneEnded(ctx, cutoff.Add(2*time.Minute), 100)
	must(t, err)
	equal(t, got, ports.Pruned{Devices: 2}) // expiresAtCutoff, revokedAfter
}
