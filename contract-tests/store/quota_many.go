package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// ---- Quota.ConsumeMany and CountedMany ----

func emailList(n int) []string {
	p := uniq()
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("q%d-%s@example.com", i, p)
	}
	return out
}

func setOf(emails ...string) map[string]bool {
	out := map[string]bool{}
	for _, e := range emails {
		out[e] = true
	}
	return out
}

// Quota.ConsumeMany: "the emails not counted yet take the month's remaining
// slots first come first served; the ones left without a slot are returned
// (rejected) and not counted"; an email counted already costs nothing and
// is never rejected; a repeated email takes one slot. CountedMany: "which
// of emails were counted in the month".
func testQuotaConsumeMany(t *testing.T, s ports.Store) {
	ctx := t.Context()
	month := domain.MonthStart(t0)
	q := s.Quota()
	consumeMany := func(orgID string, emails []string, limit int) map[string]bool {
		t.Helper()
		var rejected map[string]bool
		must(t, s.WithinTx(ctx, func(ctx context.Context) error {
			var err error
			rejected, err = q.ConsumeMany(ctx, orgID, month, emails, limit)
			return err
		}))
		if rejected == nil {
			rejected = map[string]bool{}
		}
		return rejected
	}
	used := func(orgID string) int {
		t.Helper()
		n, err := q.Used(ctx, orgID, month)
		must(t, err)
		return n
	}
	countedMany := func(orgID string, emails []string) map[string]bool {
		t.Helper()
		got, err := q.CountedMany(ctx, orgID, month, emails)
		must(t, err)
		if got == nil {
			got = map[string]bool{}
		}
		for e, ok := range got { // a false entry would be harmless: drop it
			if !ok {
				delete(got, e)
			}
		}
		return got
	}
	prime := func(orgID string, n int) []string {
		t.Helper()
		old := emailList(n)
		for _, e := range old {
			if _, err := q.Consume(ctx, orgID, month, e, 10); err != nil {
				t.Fatal(err)
			}
		}
		return old
	}

	// Limit 10, 4 used: of 10 new emails the first 6 are counted.
	o := newOrg(t, s)
	old := prime(o.ID, 4)
	fresh := emailList(10)
	equal(t, consumeMany(o.ID, fresh, 10), setOf(fresh[6:]...))
	equal(t, used(o.ID), 10)
	for i, e := range fresh {
		c, err := q.Counted(ctx, o.ID, month, e)
		must(t, err)
		if c != (i < 6) {
			t.Fatalf("Counted(fresh[%d]) = %v", i, c)
		}
	}
	unknown := newEmail()
	equal(t, countedMany(o.ID, slices.Concat(old, fresh, []string{unknown})), setOf(slices.Concat(old, fresh[:6])...))
	equal(t, countedMany(newOrg(t, s).ID, old), map[string]bool{})

	// At the limit, counted emails are free and never rejected.
	late := newEmail()
	equal(t, consumeMany(o.ID, []string{old[0], late, fresh[5]}, 10), setOf(late))
	equal(t, used(o.ID), 10)

	// Below it, a counted email among new ones takes no slot.
	o = newOrg(t, s)
	old = prime(o.ID, 4)
	fresh = emailList(7)
	equal(t, consumeMany(o.ID, slices.Concat(fresh[:1], old[:1], fresh[1:]), 10), setOf(fresh[6]))
	equal(t, used(o.ID), 10)

	// Duplicates count once.
	o = newOrg(t, s)
	prime(o.ID, 4)
	fresh = emailList(7)
	var twice []string
	for _, e := range fresh {
		twice = append(twice, e, e)
	}
	equal(t, consumeMany(o.ID, twice, 10), setOf(fresh[6]))
	equal(t, used(o.ID), 10)
	equal(t, countedMany(o.ID, fresh), setOf(fresh[:6]...))

	// The first count of a month, with no slot used yet.
	o = newOrg(t, s)
	fresh = emailList(5)
	equal(t, consumeMany(o.ID, fresh, 3), setOf(fresh[3:]...))
	equal(t, used(o.ID), 3)

	// Unlimited counts every one; a limit of 0 none; no emails, nothing.
	o = newOrg(t, s)
	fresh = emailList(30)
	equal(t, consumeMany(o.ID, fresh, domain.Unlimited), map[string]bool{})
	equal(t, used(o.ID), 30)
	equal(t, countedMany(o.ID, fresh), setOf(fresh...))
	o = newOrg(t, s)
	fresh = emailList(3)
	equal(t, consumeMany(o.ID, fresh, 0), setOf(fresh...))
	equal(t, used(o.ID), 0)
	equal(t, countedMany(o.ID, fresh), map[string]bool{})
	equal(t, consumeMany(o.ID, nil, 10), map[string]bool{})
}

// Quota.ConsumeMany beside concurrent single Consume calls (half in their
// own transaction): the count never passes the limit, whatever each call
// counted is counted, and what was refused is not.
func testQuotaConsumeManyConcurrent(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o := newOrg(t, s)
	month := domain.MonthStart(t0)
	const singles, limit = 20, 25
	singleEmails, batch := emailList(singles), emailList(20)

	var (
		stop     = make(chan struct{})
		sampled  sync.WaitGroup
		maxSeen  atomic.Int64
		samplerr error
	)
	sampled.Add(1)
	go func() { // Used never shows more than the limit, even mid-race
		defer sampled.Done()
		for {
			n, err := s.Quota().Used(ctx, o.ID, month)
			if err != nil {
				samplerr = err
				return
			}
			if int64(n) > maxSeen.Load() {
				maxSeen.Store(int64(n))
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()

	warmPool(t, s, singles+1)
	counted := make([]bool, singles)
	var rejected map[string]bool
	errs := race(singles+1, func(i int) error {
		switch {
		case i == singles:
			return s.WithinTx(ctx, func(ctx context.Context) error {
				var err error
				rejected, err = s.Quota().ConsumeMany(ctx, o.ID, month, batch, limit)
				return err
			})
		case i%2 == 0:
			var err error
			counted[i], err = s.Quota().Consume(ctx, o.ID, month, singleEmails[i], limit)
			return err
		default:
			return s.WithinTx(ctx, func(ctx context.Context) error {
				var err error
				counted[i], err = s.Quota().Consume(ctx, o.ID, month, singleEmails[i], limit)
				return err
			})
		}
	})
	close(stop)
	sampled.Wait()
	must(t, samplerr)

	want := map[string]bool{}
	for i, err := range errs {
		switch {
		case i == singles:
			must(t, err)
			for _, e := range batch {
				if !rejected[e] {
					want[e] = true
				}
			}
		case err == nil && counted[i]:
			want[singleEmails[i]] = true
		case err == nil:
			t.Errorf("single %d: not counted and no error", i)
		case !errors.Is(err, domain.ErrQuotaExceeded):
			t.Errorf("single %d: %v", i, err)
		}
	}
	n, err := s.Quota().Used(ctx, o.ID, month)
	must(t, err)
	if n > limit || maxSeen.Load() > limit {
		t.Fatalf("used %d (at most %d seen during the race), limit %d", n, maxSeen.Load(), limit)
	}
	// 40 new emails for 25 slots: a refusal means the slots ran out.
	equal(t, n, limit)
	equal(t, len(want), limit)
	got, err := s.Quota().CountedMany(ctx, o.ID, month, slices.Concat(singleEmails, batch))
	must(t, err)
	equal(t, got, want)
}
