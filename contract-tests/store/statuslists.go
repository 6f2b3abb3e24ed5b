package store

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// makeStatusList returns an organization's list number seq (not stored).
func makeStatusList(orgID string, seq, size, allocated int) domain.StatusList {
	return domain.StatusList{ID: domain.NewID(), OrgID: orgID, Seq: seq, Size: size, Allocated: allocated,
		Key: []byte("0123456789abcdef0123456789abcdef"), Revocation: "rev." + uniq() + ".sig", Suspension: "sus." + uniq() + ".sig",
		PublishedAt: t0, CreatedAt: t0}
}

func newStatusList(t *testing.T, s ports.Store, orgID string) domain.StatusList {
	t.Helper()
	l := makeStatusList(orgID, 1, 1024, 0)
	must(t, s.StatusLists().Create(t.Context(), l))
	return l
}

// StatusLists: "Create stores a new list with its first documents; a
// list of the organization with the same Seq returns an error matching
// domain.ErrInvalidState"; Get and Last read it back.
func testStatusListRoundTrip(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o := newOrg(t, s)
	if _, err := s.StatusLists().Last(ctx, o.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("Last of an organization without lists = %v, want not found", err)
	}
	first := makeStatusList(o.ID, 1, 131072, 3)
	must(t, s.StatusLists().Create(ctx, first))
	got, err := s.StatusLists().Get(ctx, first.ID)
	must(t, err)
	equal(t, got, first)
	if err := s.StatusLists().Create(ctx, makeStatusList(o.ID, 1, 8, 0)); !errors.Is(err, domain.ErrInvalidState) {
		t.Errorf("a second list number 1 = %v, want ErrInvalidState", err)
	}
	second := makeStatusList(o.ID, 2, 8, 0)
	must(t, s.StatusLists().Create(ctx, second))
	must(t, s.StatusLists().Create(ctx, makeStatusList(newOrg(t, s).ID, 1, 8, 0))) // another organization's
	last, err := s.StatusLists().Last(ctx, o.ID)
	must(t, err)
	equal(t, last.ID, second.ID)
	if _, err := s.StatusLists().Get(ctx, domain.NewID()); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("Get of an unknown list = %v, want not found", err)
	}
}

// StatusLists: "Allocate hands out n consecutive places of one of the
// organization's lists with room for all n (the newest such list),
// atomically under concurrent callers … ErrNotFound when no list has
// room".
func testStatusListAllocate(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o := newOrg(t, s)
	if _, _, err := s.StatusLists().Allocate(ctx, o.ID, 1); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("Allocate without lists = %v, want not found", err)
	}
	l := makeStatusList(o.ID, 1, 64, 2)
	must(t, s.StatusLists().Create(ctx, l))
	got, first, err := s.StatusLists().Allocate(ctx, o.ID, 5)
	must(t, err)
	if got.ID != l.ID || first != 2 || got.Allocated != 7 || !slices.Equal(got.Key, l.Key) || got.Size != 64 {
		t.Errorf("Allocate = list %s from %d (allocated %d), want %s from 2 (7)", got.ID, first, got.Allocated, l.ID)
	}
	// Concurrent callers share the rest without overlap, and the one
	// that finds too little room gets none.
	warmPool(t, s, 8)
	var mu sync.Mutex
	taken := map[int]bool{}
	errs := race(16, func(int) error {
		_, first, err := s.StatusLists().Allocate(ctx, o.ID, 4)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for i := first; i < first+4; i++ {
			if taken[i] {
				return errors.New("place handed out twice")
			}
			taken[i] = true
		}
		return nil
	})
	var refused int
	for _, err := range errs {
		switch {
		case errors.Is(err, domain.ErrNotFound):
			refused++
		case err != nil:
			t.Fatal(err)
		}
	}
	// 57 places were left: 14 callers get 4, two find 1 left.
	if len(taken) != 56 || refused != 2 {
		t.Errorf("%d places handed out, %d callers refused; want 56 and 2", len(taken), refused)
	}
	// A newer list with room takes the next ones; a list of another
	// organization never does.
	must(t, s.StatusLists().Create(ctx, makeStatusList(newOrg(t, s).ID, 1, 64, 0)))
	next := makeStatusList(o.ID, 2, 64, 0)
	must(t, s.StatusLists().Create(ctx, next))
	got, first, err = s.StatusLists().Allocate(ctx, o.ID, 1)
	must(t, err)
	if got.ID != next.ID || first != 0 {
		t.Errorf("Allocate after a new list = %s from %d, want %s from 0", got.ID, first, next.ID)
	}
	// An allocation in a transaction that rolls back hands out nothing.
	err = s.WithinTx(ctx, func(ctx context.Context) error {
		_, _, err := s.StatusLists().Allocate(ctx, o.ID, 10)
		must(t, err)
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatal(err)
	}
	_, first, err = s.StatusLists().Allocate(ctx, o.ID, 1)
	must(t, err)
	equal(t, first, 1)
}

// StatusLists: Changed marks lists (Version up, due at the time given),
// in the transaction at hand; Due hands out the due ones and moves their
// next attempt; Publish stores the documents of a version only when none
// as recent are stored; Entries reads the revoked and suspended places.
func testStatusListPublishing(t *testing.T, s ports.Store) {
	ctx := t.Context()
	is := newIssuer(t, s)
	l := newStatusList(t, s, is.org.ID)
	other := newStatusList(t, s, newOrg(t, s).ID)

	// Entries: revoked, suspended (a credential can be both), and the
	// credentials of other lists or of none left out.
	place := func(index int, edit func(c *domain.Credential)) {
		c := is.credential(newEmail(), t0)
		c.Slot = &domain.StatusSlot{List: l.ID, Index: index}
		if edit != nil {
			edit(&c)
		}
		must(t, s.Credentials().Insert(ctx, c))
	}
	place(3, nil)
	place(5, func(c *domain.Credential) { c.RevokedAt, c.RevocationReason = ptr(t0), "r" })
	place(8, func(c *domain.Credential) { c.SuspendedAt, c.SuspensionReason = ptr(t0), "s" })
	place(13, func(c *domain.Credential) {
		c.RevokedAt, c.RevocationReason, c.SuspendedAt, c.SuspensionReason = ptr(t0), "r", ptr(t0), "s"
	})
	revokedElsewhere := is.credential(newEmail(), t0)
	revokedElsewhere.RevokedAt, revokedElsewhere.RevocationReason = ptr(t0), "r"
	must(t, s.Credentials().Insert(ctx, revokedElsewhere))
	revoked, suspended, err := s.StatusLists().Entries(ctx, l.ID)
	must(t, err)
	slices.Sort(revoked)
	slices.Sort(suspended)
	equal(t, revoked, []int{5, 13})
	equal(t, suspended, []int{8, 13})
	// Two places of one credential cannot be given twice.
	dup := is.credential(newEmail(), t0)
	dup.Slot = &domain.StatusSlot{List: l.ID, Index: 3}
	if err := s.Credentials().Insert(ctx, dup); err == nil {
		t.Error("a second credential took place 3")
	}

	// Nothing is due before a change.
	due, err := s.StatusLists().Due(ctx, t0.Add(time.Hour), t0.Add(2*time.Hour), 10)
	must(t, err)
	equal(t, len(due), 0)
	// A change in a rolled-back transaction marks nothing.
	err = s.WithinTx(ctx, func(ctx context.Context) error {
		must(t, s.StatusLists().Changed(ctx, t0, l.ID))
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatal(err)
	}
	due, err = s.StatusLists().Due(ctx, t0.Add(time.Hour), t0.Add(2*time.Hour), 10)
	must(t, err)
	equal(t, len(due), 0)

	// Two changes (one list named twice counts once per call); the second,
	// made while the first is not yet published, keeps its due time.
	must(t, s.StatusLists().Changed(ctx, t0.Add(time.Minute), l.ID, l.ID))
	must(t, s.StatusLists().Changed(ctx, t0.Add(time.Hour), l.ID))
	must(t, s.StatusLists().Changed(ctx, t0.Add(time.Minute), other.ID))
	got, err := s.StatusLists().Get(ctx, l.ID)
	must(t, err)
	if got.Version != 2 || got.Published != 0 { // l: two changes
		t.Errorf("after two changes: version %d, published %d; want 2, 0", got.Version, got.Published)
	}
	// Not due before its time; then due once until its next attempt.
	due, err = s.StatusLists().Due(ctx, t0, t0.Add(time.Hour), 10)
	must(t, err)
	equal(t, len(due), 0)
	due, err = s.StatusLists().Due(ctx, t0.Add(time.Minute), t0.Add(time.Hour), 10)
	must(t, err)
	slices.Sort(due)
	want := []string{l.ID, other.ID}
	slices.Sort(want)
	equal(t, due, want)
	due, err = s.StatusLists().Due(ctx, t0.Add(30*time.Minute), t0.Add(time.Hour), 10)
	must(t, err)
	equal(t, len(due), 0)

	// Publish version 1, then a stale publisher of version 1 again and of
	// version 0 writes nothing; version 2 is stored and nothing is due.
	ok, err := s.StatusLists().Publish(ctx, l.ID, 1, domain.StatusList{Revocation: "rev.v1", Suspension: "sus.v1"}, t0.Add(time.Minute))
	must(t, err)
	equal(t, ok, true)
	for _, v := range []int64{1, 0} {
		ok, err = s.StatusLists().Publish(ctx, l.ID, v, domain.StatusList{Revocation: "rev.stale", Suspension: "sus.stale"}, t0.Add(2*time.Minute))
		must(t, err)
		equal(t, ok, false)
	}
	got, err = s.StatusLists().Get(ctx, l.ID)
	must(t, err)
	if got.Revocation != "rev.v1" || got.Suspension != "sus.v1" || got.RevocationProof != "" || got.Published != 1 || !got.PublishedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("after publishing version 1: %q %q published %d at %s", got.Revocation, got.Suspension, got.Published, got.PublishedAt)
	}
	due, err = s.StatusLists().Due(ctx, t0.Add(2*time.Hour), t0.Add(3*time.Hour), 10)
	must(t, err)
	if !slices.Contains(due, l.ID) {
		t.Errorf("a list published at version 1 of 2 is not due: %v", due)
	}
	ok, err = s.StatusLists().Publish(ctx, l.ID, 2, domain.StatusList{Revocation: "rev.v2", Suspension: "sus.v2",
		RevocationProof: `{"proofValue":"zR"}`, SuspensionProof: `{"proofValue":"zS"}`}, t0.Add(3*time.Minute))
	must(t, err)
	equal(t, ok, true)
	got, err = s.StatusLists().Get(ctx, l.ID)
	must(t, err)
	if got.Revocation != "rev.v2" || got.RevocationProof != `{"proofValue":"zR"}` || got.SuspensionProof != `{"proofValue":"zS"}` {
		t.Errorf("after publishing version 2 with proofs: %+v", got)
	}
	due, err = s.StatusLists().Due(ctx, t0.Add(24*time.Hour), t0.Add(25*time.Hour), 10)
	must(t, err)
	if slices.Contains(due, l.ID) {
		t.Errorf("a published list is still due: %v", due)
	}
	v, err := s.Credentials().Verifiable(ctx, revokedElsewhere.ID)
	must(t, err)
	equal(t, v.StatusListVersion, 0) // a credential without a list
}

// StatusLists.Due: concurrent sweeps hand out each due list once.
func testStatusListDueConcurrent(t *testing.T, s ports.Store) {
	ctx := t.Context()
	var ids []string
	for range 12 {
		l := newStatusList(t, s, newOrg(t, s).ID)
		must(t, s.StatusLists().Changed(ctx, t0, l.ID))
		ids = append(ids, l.ID)
	}
	warmPool(t, s, 4)
	var mu sync.Mutex
	var got []string
	for _, err := range race(4, func(int) error {
		due, err := s.StatusLists().Due(ctx, t0, t0.Add(time.Hour), 100)
		mu.Lock()
		got = append(got, due...)
		mu.Unlock()
		return err
	}) {
		must(t, err)
	}
	slices.Sort(got)
	slices.Sort(ids)
	equal(t, got, ids)
}
