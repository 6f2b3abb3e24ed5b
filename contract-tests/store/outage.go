package store

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// Outage is a store whose database a test can make unreachable, for
// RunOutage.
type Outage struct {
	Store ports.Store
	// Break makes the database unreachable (a stopped server, a file held
	// by another writer); Mend makes it reachable again.
	Break, Mend func(t *testing.T)
	// ReadsFail tells whether reads fail too while it is broken: a SQLite
	// writer holding the file blocks only other writers.
	ReadsFail bool
}

// RunOutage checks the Store sentence "a method returns an error matching
// ErrUnavailable when the database cannot be reached, and the same store
// serves again once the database is back" on a store from newOutage.
func RunOutage(t *testing.T, newOutage func(t *testing.T) Outage) {
	t.Run("unreachable_database_is_unavailable_then_serves_again", func(t *testing.T) {
		testOutage(t, newOutage(t))
	})
}

func testOutage(t *testing.T, o Outage) {
	ctx := t.Context()
	s := o.Store
	before := newUser(t, s)
	// Fill the pool with connections, which the outage leaves broken.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_ = s.WithinTx(ctx, func(ctx context.Context) error {
				_, err := s.Users().Get(ctx, before.ID)
				return err
			})
		})
	}
	wg.Wait()

	o.Break(t)
	// Writes, in and outside a transaction, at once (SQLite waits its busy
	// timeout for each).
	lost := []domain.User{otherUser(), otherUser()}
	errs := make([]error, 2)
	wg.Go(func() { errs[0] = s.Users().Create(ctx, lost[0]) })
	wg.Go(func() {
		errs[1] = s.WithinTx(ctx, func(ctx context.Context) error {
			return s.Users().Create(ctx, lost[1])
		})
	})
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, ports.ErrUnavailable) {
			t.Errorf("write %d while the database is unreachable: got %v, want an error matching ErrUnavailable", i, err)
		}
	}
	if o.ReadsFail {
		if _, err := s.Users().Get(ctx, before.ID); !errors.Is(err, ports.ErrUnavailable) {
			t.Errorf("read while the database is unreachable: got %v, want an error matching ErrUnavailable", err)
		}
		if err := s.Ping(ctx); !errors.Is(err, ports.ErrUnavailable) {
			t.Errorf("Ping while the database is unreachable: got %v, want an error matching ErrUnavailable", err)
		}
	}

	o.Mend(t)
	// Every call succeeds at once: no connection the outage broke is used.
	for range 10 {
		got, err := s.Users().Get(ctx, before.ID)
		must(t, err)
		equal(t, got, before)
	}
	must(t, s.Ping(ctx))
	for _, u := range lost {
		_, err := s.Users().Get(ctx, u.ID)
		wantErr(t, err, domain.ErrNotFound) // nothing was written
	}
	after := newUser(t, s)
	must(t, s.WithinTx(ctx, func(ctx context.Context) error {
		return s.Users().MarkVerified(ctx, after.ID, t0)
	}))
}

func otherUser() domain.User {
	return domain.User{ID: domain.NewID(), Email: "u-" + uniq() + "@example.com", Name: "User " + uniq(),
		PasswordHash: "x", CreatedAt: t0}
}
