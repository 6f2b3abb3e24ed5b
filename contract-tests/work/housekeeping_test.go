package work

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credence-dev/credence/adapters/sqlstore"
	"github.com/credence-dev/credence/contract-tests/harness"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/work"
	"github.com/credence-dev/credence/ports"
)

// TestHousekeeping checks the dispatcher's housekeeping against the real
// stores: a round on the first sweep and then once per PruneEvery of the
// clock, ended sessions kept for work.EndedGrace, activity kept for
// ActivityRetention (forever when it is 0), deletes in batches of 1,000
// until one comes back short, and Run keeping house beside the sweep.
func TestHousekeeping(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testHousekeeping(t, harness.FreshSQLitePath(t)) })
	t.Run("postgres", func(t *testing.T) { testHousekeeping(t, harness.FreshPostgresDB(t)) })
}

// batches records the size of every batch of PruneActivity, and the
// sessions of every batch of PruneEnded.
type batches struct {
	ports.Store
	mu                 sync.Mutex
	activity, sessions []int
}

func (b *batches) Retention() ports.Retention { return &batchRetention{b.Store.Retention(), b} }

func (b *batches) take() (activity, sessions []int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	activity, sessions = b.activity, b.sessions
	b.activity, b.sessions = nil, nil
	return activity, sessions
}

type batchRetention struct {
	ports.Retention
	b *batches
}

func (r *batchRetention) PruneActivity(ctx context.Context, before time.Time, limit int) (int, error) {
	n, err := r.Retention.PruneActivity(ctx, before, limit)
	r.b.mu.Lock()
	r.b.activity = append(r.b.activity, n)
	r.b.mu.Unlock()
	return n, err
}

func (r *batchRetention) PruneEnded(ctx context.Context, before time.Time, limit int) (ports.Pruned, error) {
	p, err := r.Retention.PruneEnded(ctx, before, limit)
	r.b.mu.Lock()
	r.b.sessions = append(r.b.sessions, p.Sessions)
	r.b.mu.Unlock()
	return p, err
}

func testHousekeeping(t *testing.T, dsn string) {
	ctx := t.Context()
	s, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	store := &batches{Store: s}
	start := domain.Truncate(time.Now())
	clk := &clock{now: start}
	var logs bytes.Buffer
	const retention = 30 * 24 * time.Hour
	disp := work.NewDispatcher(store, &queue{}, clk, slog.New(slog.NewTextHandler(&logs, nil)),
		work.Options{ActivityRetention: retention, PruneEvery: time.Hour})
	if got := disp.Options().PruneEvery; got != time.Hour {
		t.Fatalf("PruneEvery %v", got)
	}

	user := domain.User{ID: domain.NewID(), Email: "u-" + domain.NewID()[:8] + "@example.com", Name: "U", PasswordHash: "x", CreatedAt: start}
	if err := s.Users().Create(ctx, user); err != nil {
		t.Fatal(err)
	}
	record := func(at time.Time, n int) []domain.Activity {
		t.Helper()
		entries := make([]domain.Activity, n)
		for i := range entries {
			entries[i] = domain.NewActivity(domain.Actor{UserID: user.ID}, "", domain.ActSignedIn, "user", user.ID, "", at.Add(-time.Duration(i)*time.Microsecond))
		}
		if err := s.Activity().Record(ctx, entries...); err != nil {
			t.Fatal(err)
		}
		return entries
	}
	session := func(expires time.Time) domain.Session {
		t.Helper()
		ss := domain.Session{ID: domain.NewID(), UserID: user.ID, TokenHash: []byte(domain.NewID()), CreatedAt: expires.Add(-domain.SessionTTL),
			LastSeenAt: expires.Add(-domain.SessionTTL), ExpiresAt: expires}
		if err := s.Sessions().Create(ctx, ss); err != nil {
			t.Fatal(err)
		}
		return ss
	}
	exists := func(ss domain.Session) bool {
		t.Helper()
		_, err := s.Sessions().GetByHash(ctx, ss.TokenHash)
		if err != nil && !errors.Is(err, domain.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	remaining := func() int {
		t.Helper()
		got, err := s.Activity().List(ctx, ports.ActivityFilter{AllOrgs: true, Page: ports.Page{Limit: 100}})
		if err != nil {
			t.Fatal(err)
		}
		return len(got)
	}
	housekeep := func(d *work.Dispatcher, wantRan bool, want work.Housekept) {
		t.Helper()
		got, ran, err := d.Housekeep(ctx)
		if err != nil || ran != wantRan || got != want {
			t.Fatalf("Housekeep = %+v, ran %v, %v; want %+v, ran %v", got, ran, err, want, wantRan)
		}
	}

	old := record(start.Add(-retention-time.Hour), 2500) // 2,500 entries a day past retention
	record(start.Add(-retention+time.Hour), 1)           // 29 days and 23 hours old
	expired := session(start.Add(-work.EndedGrace - time.Minute))
	must(t, s.WithinTx(ctx, func(ctx context.Context) error { // 1,000 more
		for range 1000 {
			if err := s.Sessions().Create(ctx, domain.Session{ID: domain.NewID(), UserID: user.ID, TokenHash: []byte(domain.NewID()),
				CreatedAt: start.Add(-30 * 24 * time.Hour), ExpiresAt: start.Add(-23 * 24 * time.Hour)}); err != nil {
				return err
			}
		}
		return nil
	}))
	justEnded := session(start.Add(-time.Hour)) // within the grace day
	live := session(start.Add(2 * time.Hour))

	// The first round runs at once, in batches until one comes back short.
	housekeep(disp, true, work.Housekept{Activity: len(old), Pruned: ports.Pruned{Sessions: 1001}})
	activity, sessions := store.take()
	if !slices.Equal(activity, []int{1000, 1000, 500}) || !slices.Equal(sessions, []int{1000, 1}) {
		t.Errorf("batches: activity %v, sessions %v; want [1000 1000 500], [1000 1]", activity, sessions)
	}
	if got := remaining(); got != 1 {
		t.Errorf("%d activity entries left, want the recent one", got)
	}
	if exists(expired) || !exists(justEnded) || !exists(live) {
		t.Errorf("sessions kept: expired %v, just ended %v, live %v; want false, true, true", exists(expired), exists(justEnded), exists(live))
	}
	if l := logs.String(); !strings.Contains(l, "level=INFO") || !strings.Contains(l, "activity=2500") || !strings.Contains(l, "sessions=1001") {
		t.Errorf("housekeeping log: %s", l)
	}

	// Within PruneEvery nothing runs, however much is due.
	record(start.Add(-2*retention), 1)
	clk.add(time.Hour - time.Second)
	housekeep(disp, false, work.Housekept{})
	if got := remaining(); got != 2 {
		t.Errorf("%d activity entries, want 2 before the interval passed", got)
	}
	// Once it passed, the next round takes it; the session that ended an
	// hour before start is still within its grace day.
	clk.add(time.Second)
	housekeep(disp, true, work.Housekept{Activity: 1})
	if !exists(justEnded) {
		t.Error("a session ended 2 hours ago was deleted")
	}
	// A day later the recent entry is past retention and that session past
	// its grace day; the one that ended 23 hours ago stays.
	clk.add(24 * time.Hour)
	housekeep(disp, true, work.Housekept{Activity: 1, Pruned: ports.Pruned{Sessions: 1}})
	if exists(justEnded) || !exists(live) {
		t.Errorf("sessions kept: ended 25 hours ago %v, 23 hours ago %v; want false, true", exists(justEnded), exists(live))
	}
	if got := remaining(); got != 0 {
		t.Errorf("%d activity entries left, want none", got)
	}

	// ActivityRetention 0 keeps activity forever; what ended still goes:
	// a session, and a known device past its expiry (one still live stays).
	forever := work.NewDispatcher(store, &queue{}, clk, slog.New(slog.DiscardHandler), work.Options{})
	ancient := record(clk.Now().Add(-10*365*24*time.Hour), 1)
	ended := session(clk.Now().Add(-work.EndedGrace - time.Hour))
	device := func(expires time.Time) domain.Device {
		t.Helper()
		d := domain.Device{ID: domain.NewID(), UserID: user.ID, TokenHash: []byte(domain.NewID()), CreatedAt: expires.Add(-domain.DeviceTTL),
			LastUsedAt: expires.Add(-domain.DeviceTTL), ExpiresAt: expires}
		must(t, s.Devices().Create(ctx, d))
		return d
	}
	oldDevice, liveDevice := device(clk.Now().Add(-work.EndedGrace-time.Hour)), device(clk.Now().Add(time.Hour))
	housekeep(forever, true, work.Housekept{Pruned: ports.Pruned{Sessions: 1, Devices: 1}})
	if _, err := s.Devices().Get(ctx, oldDevice.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("a device expired more than a day ago: %v, want it deleted", err)
	}
	if _, err := s.Devices().Get(ctx, liveDevice.ID); err != nil {
		t.Errorf("a live device: %v, want it kept", err)
	}
	if got, err := s.Activity().List(ctx, ports.ActivityFilter{AllOrgs: true}); err != nil || len(got) != 1 || got[0].ID != ancient[0].ID {
		t.Errorf("with ActivityRetention 0 the log holds %d entries (%v), want the ten-year-old one", len(got), err)
	}
	if exists(ended) {
		t.Error("ActivityRetention 0: an ended session was kept")
	}

	// Run keeps house on its first sweep, beside the sweep.
	record(clk.Now().Add(-retention-time.Minute), 1)
	gone := session(clk.Now().Add(-work.EndedGrace - time.Minute))
	runner := work.NewDispatcher(store, &queue{}, clk, slog.New(slog.DiscardHandler),
		work.Options{ActivityRetention: retention, SweepEvery: 10 * time.Millisecond})
	runCtx, cancel := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() { defer close(stopped); runner.Run(runCtx) }()
	for deadline := time.Now().Add(10 * time.Second); exists(gone) || remaining() > 0; {
		if time.Now().After(deadline) {
			t.Fatal("Run did not prune the ended session and the entry past retention within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-stopped
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
