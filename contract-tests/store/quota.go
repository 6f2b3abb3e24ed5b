package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// Quota.Consume: "counts email for org in the month starting at month
// unless it was counted already (then it costs nothing)"; "at the limit it
// returns a *domain.QuotaError"; "counted reports whether this call used a
// slot"; Used and Counted; months and organizations are counted apart.
func testQuota(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o, other := newOrg(t, s), newOrg(t, s)
	month := domain.MonthStart(t0)
	next := domain.NextMonthStart(t0)
	q := s.Quota()
	a, b, c := newEmail(), newEmail(), newEmail()

	consume := func(orgID string, m time.Time, email string, limit int, wantCounted bool) {
		t.Helper()
		counted, err := q.Consume(ctx, orgID, m, email, limit)
		must(t, err)
		if counted != wantCounted {
			t.Fatalf("Consume(%s) counted = %v, want %v", email, counted, wantCounted)
		}
	}
	used := func(orgID string, m time.Time) int {
		t.Helper()
		n, err := q.Used(ctx, orgID, m)
		must(t, err)
		return n
	}

	equal(t, used(o.ID, month), 0)
	consume(o.ID, month, a, 2, true)
	consume(o.ID, month, a, 2, false) // counted already: free
	consume(o.ID, month, b, 2, true)
	equal(t, used(o.ID, month), 2)

	_, err := q.Consume(ctx, o.ID, month, c, 2)
	var qe *domain.QuotaError
	if !errors.As(err, &qe) || !errors.Is(err, domain.ErrQuotaExceeded) {
		t.Fatalf("Consume at the limit: got %v, want *domain.QuotaError", err)
	}
	equal(t, *qe, domain.QuotaError{Used: 2, Limit: 2, ResetsAt: next})
	equal(t, used(o.ID, month), 2)
	counted, err := q.Counted(ctx, o.ID, month, c)
	must(t, err)
	equal(t, counted, false) // the refused recipient used no slot

	consume(o.ID, month, a, 2, false) // re-consuming a counted email is free at the limit

	for email, want := range map[string]bool{a: true, b: true, c: false} {
		got, err := q.Counted(ctx, o.ID, month, email)
		must(t, err)
		if got != want {
			t.Errorf("Counted(%s) = %v, want %v", email, got, want)
		}
	}

	// Another month and another organization start from zero.
	consume(o.ID, next, c, 2, true)
	equal(t, used(o.ID, next), 1)
	consume(other.ID, month, c, 2, true)
	equal(t, used(other.ID, month), 1)
	got, err := q.Counted(ctx, other.ID, month, a)
	must(t, err)
	equal(t, got, false)

	// Unlimited still counts.
	for range 3 {
		consume(other.ID, next, newEmail(), domain.Unlimited, true)
	}
	equal(t, used(other.ID, next), 3)

	// A limit of zero admits nobody.
	_, err = q.Consume(ctx, other.ID, next.AddDate(0, 1, 0), newEmail(), 0)
	wantErr(t, err, domain.ErrQuotaExceeded)
}

// Quota.Consume: "It never lets the count pass limit ... atomically under
// concurrent callers." Half the callers consume inside their own
// transaction, as the issuing use case does; half call it bare.
func testQuotaConcurrent(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o := newOrg(t, s)
	month := domain.MonthStart(t0)
	const callers, limit = 30, 10
	emails := make([]string, callers)
	for i := range emails {
		emails[i] = newEmail()
	}
	counted := make([]bool, callers)
	errs := race(callers, func(i int) error {
		if i%2 == 0 {
			var err error
			counted[i], err = s.Quota().Consume(ctx, o.ID, month, emails[i], limit)
			return err
		}
		return s.WithinTx(ctx, func(ctx context.Context) error {
			var err error
			counted[i], err = s.Quota().Consume(ctx, o.ID, month, emails[i], limit)
			return err
		})
	})
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil && counted[i]:
			ok++
		case err == nil:
			t.Errorf("caller %d: not counted and no error", i)
		case !errors.Is(err, domain.ErrQuotaExceeded):
			t.Errorf("caller %d: unexpected error %v", i, err)
		}
	}
	if ok != limit {
		t.Fatalf("%d of %d callers got a slot, want exactly %d", ok, callers, limit)
	}
	n, err := s.Quota().Used(ctx, o.ID, month)
	must(t, err)
	equal(t, n, limit)
	for i, email := range emails {
		c, err := s.Quota().Counted(ctx, o.ID, month, email)
		must(t, err)
		if c != (errs[i] == nil) {
			t.Errorf("caller %d: Counted = %v, but Consume returned %v", i, c, errs[i])
		}
	}
}
