package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// IdempotencyFactory returns a fresh, isolated, migrated ports.Idempotency
// and the Transactor its calls join; it closes them when t ends.
type IdempotencyFactory func(t *testing.T) (ports.Idempotency, ports.Transactor)

// RunIdempotency runs the contract of ports.Idempotency against stores
// from newStore. Each case gets its own store and runs in parallel.
func RunIdempotency(t *testing.T, newStore IdempotencyFactory) {
	for _, tc := range IdempotencyCases() {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			s, tx := newStore(t)
			tc.Run(t, s, tx)
		})
	}
}

// IdempotencyCase is one case of the ports.Idempotency contract.
type IdempotencyCase struct {
	Name string
	Run  func(t *testing.T, s ports.Idempotency, tx ports.Transactor)
}

// IdempotencyCases are the cases RunIdempotency runs.
func IdempotencyCases() []IdempotencyCase {
	return []IdempotencyCase{
		{"begin_claims_a_free_key", testIdemBegin},
		{"begin_of_a_held_key_returns_its_record", testIdemHeld},
		{"scopes_and_keys_are_independent", testIdemIndependent},
		{"complete_round_trips_the_response", testIdemComplete},
		{"expired_record_is_taken_over", testIdemExpired},
		{"claim_whose_lease_ended_is_taken_over", testIdemLeaseEnded},
		{"complete_and_abandon_need_the_claim", testIdemClaimLost},
		{"abandon_frees_the_key", testIdemAbandon},
		{"concurrent_begins_start_exactly_one", testIdemConcurrentBegin},
		{"concurrent_takeovers_start_exactly_one", testIdemConcurrentTakeover},
		{"delete_expired", testIdemDeleteExpired},
		{"begin_in_tx_joins_and_rolls_back", testIdemRollback},
	}
}

// idemClaim is a claim at now with a lease of a minute and a day to live.
func idemClaim(scope, key string, now time.Time, hash string) ports.IdempotencyClaim {
	return ports.IdempotencyClaim{Scope: scope, Key: key, Token: domain.NewID(), RequestHash: []byte(hash),
		Now: now, LeaseUntil: now.Add(time.Minute), ExpiresAt: now.Add(24 * time.Hour)}
}

func newIdemScope() string { return "auth:" + uniq() }

// begin calls Begin and requires started to be want.
func idemBegin(t *testing.T, s ports.Idempotency, c ports.IdempotencyClaim, want bool) ports.IdempotencyRecord {
	t.Helper()
	rec, started, err := s.Begin(t.Context(), c)
	must(t, err)
	if started != want {
		t.Fatalf("Begin(%s/%s) started = %v, want %v (record %+v)", c.Scope, c.Key, started, want, rec)
	}
	return rec
}

// claimed is the record a started claim stores.
func idemClaimed(c ports.IdempotencyClaim) ports.IdempotencyRecord {
	return ports.IdempotencyRecord{Scope: c.Scope, Key: c.Key, Token: c.Token, RequestHash: c.RequestHash,
		CreatedAt: c.Now, LeaseUntil: c.LeaseUntil, ExpiresAt: c.ExpiresAt}
}

var idemCreated = ports.StoredResponse{Status: 201, Header: map[string][]string{
	"Content-Type": {"application/json"}, "Location": {"/api/v1/things/1"}, "Link": {"<a>", "<b>"}},
	Body: []byte(`{"id":"1"}`)}

// Begin: "claims a free key: no record … returns the new record and started = true".
func testIdemBegin(t *testing.T, s ports.Idempotency, _ ports.Transactor) {
	c := idemClaim(newIdemScope(), "key-"+uniq(), t0, "hash-1")
	equal(t, idemBegin(t, s, c, true), idemClaimed(c))
}

// Begin: "Otherwise it changes nothing and returns the record holding the
// key with started = false" (an unfinished one here, whatever the hash).
func testIdemHeld(t *testing.T, s ports.Idempotency, _ ports.Transactor) {
	c := idemClaim(newIdemScope(), "key-"+uniq(), t0, "hash-1")
	idemBegin(t, s, c, true)
	for _, hash := range []string{"hash-1", "hash-2"} {
		again := idemClaim(c.Scope, c.Key, t0.Add(time.Second), hash)
		equal(t, idemBegin(t, s, again, false), idemClaimed(c))
	}
}

// A record is named by scope and key: either one differing is another record.
func testIdemIndependent(t *testing.T, s ports.Idempotency, _ ports.Transactor) {
	scope, key := newIdemScope(), "key-"+uniq()
	idemBegin(t, s, idemClaim(scope, key, t0, "h"), true)
	idemBegin(t, s, idemClaim(newIdemScope(), key, t0, "h"), true)
	idemBegin(t, s, idemClaim(scope, "key-"+uniq(), t0, "h"), true)
	idemBegin(t, s, idemClaim(scope, key, t0, "h"), false)
}

// Complete: "stores the response, ending the claim"; Begin then returns the
// finished record (status, header and body as stored; nil header and empty
// body read back as nil).
func testIdemComplete(t *testing.T, s ports.Idempotency, _ ports.Transactor) {
	ctx := t.Context()
	for _, resp := range []ports.StoredResponse{idemCreated, {Status: 204}, {Status: 422, Header: map[string][]string{}, Body: []byte{}}} {
		c := idemClaim(newIdemScope(), "key-"+uniq(), t0, "hash-1")
		idemBegin(t, s, c, true)
		must(t, s.Complete(ctx, c.Scope, c.Key, c.Token, resp))
		want := idemClaimed(c)
		stored := resp
		if len(stored.Header) == 0 {
			stored.Header = nil
		}
		if len(stored.Body) == 0 {
			stored.Body = nil
		}
		want.Response = &stored
		got := idemBegin(t, s, idemClaim(c.Scope, c.Key, t0.Add(time.Hour), "hash-2"), false)
		if !got.Finished() {
			t.Fatalf("record after Complete is not finished: %+v", got)
		}
		equal(t, *got.Response, stored)
		got.Response = want.Response
		equal(t, got, want)
	}
}

// Begin: "claims … an expired one (ExpiresAt <= Now)", finished or not; a
// finished record whose lease ended but that has not expired is not free.
func testIdemExpired(t *testing.T, s ports.Idempotency, _ ports.Transactor) {
	ctx := t.Context()
	c := idemClaim(newIdemScope(), "key-"+uniq(), t0, "hash-1")
	idemBegin(t, s, c, true)
	must(t, s.Complete(ctx, c.Scope, c.Key, c.Token, idemCreated))

	// Lease over, not expired: still replayed.
	idemBegin(t, s, idemClaim(c.Scope, c.Key, c.LeaseUntil.Add(time.Second), "hash-2"), false)
	// Expired (at ExpiresAt exactly): taken over, the response gone.
	over := idemClaim(c.Scope, c.Key, c.ExpiresAt, "hash-2")
	equal(t, idemBegin(t, s, over, true), idemClaimed(over))
	equal(t, idemBegin(t, s, idemClaim(c.Scope, c.Key, c.ExpiresAt, "hash-3"), false), idemClaimed(over))
	// The old claim's token no longer holds the key.
	wantErr(t, s.Complete(ctx, c.Scope, c.Key, c.Token, idemCreated), ports.ErrClaimLost)

	// An unfinished record that expired is free too.
	u := idemClaim(newIdemScope(), "key-"+uniq(), t0, "h")
	u.LeaseUntil = u.ExpiresAt
	idemBegin(t, s, u, true)
	idemBegin(t, s, idemClaim(u.Scope, u.Key, u.ExpiresAt, "h"), true)
}

// Begin: "claims … an unfinished one whose lease ended (LeaseUntil <= Now)";
// the holder it was taken from can neither complete nor abandon it.
func testIdemLeaseEnded(t *testing.T, s ports.Idempotency, _ ports.Transactor) {
	ctx := t.Context()
	c := idemClaim(newIdemScope(), "key-"+uniq(), t0, "hash-1")
	idemBegin(t, s, c, true)
	idemBegin(t, s, idemClaim(c.Scope, c.Key, c.LeaseUntil.Add(-time.Microsecond), "hash-1"), false)
	over := idemClaim(c.Scope, c.Key, c.LeaseUntil, "hash-1")
	equal(t, idemBegin(t, s, over, true), idemClaimed(over))
	wantErr(t, s.Complete(ctx, c.Scope, c.Key, c.Token, idemCreated), ports.ErrClaimLost)
	wantErr(t, s.Abandon(ctx, c.Scope, c.Key, c.Token), ports.ErrClaimLost)
	must(t, s.Complete(ctx, over.Scope, over.Key, over.Token, idemCreated))
}

// Complete and Abandon: "when token holds the claim; otherwise (… finished)
// they return an error matching ErrClaimLost and change nothing".
func testIdemClaimLost(t *testing.T, s ports.Idempotency, _ ports.Transactor) {
	ctx := t.Context()
	c := idemClaim(newIdemScope(), "key-"+uniq(), t0, "hash-1")
	idemBegin(t, s, c, true)
	other := domain.NewID()
	wantErr(t, s.Complete(ctx, c.Scope, c.Key, other, idemCreated), ports.ErrClaimLost)
	wantErr(t, s.Abandon(ctx, c.Scope, c.Key, other), ports.ErrClaimLost)
	wantErr(t, s.Complete(ctx, c.Scope, "key-"+uniq(), c.Token, idemCreated), ports.ErrClaimLost)
	equal(t, idemBegin(t, s, idemClaim(c.Scope, c.Key, t0, "hash-1"), false), idemClaimed(c))

	must(t, s.Complete(ctx, c.Scope, c.Key, c.Token, idemCreated))
	wantErr(t, s.Complete(ctx, c.Scope, c.Key, c.Token, ports.StoredResponse{Status: 500}), ports.ErrClaimLost)
	wantErr(t, s.Abandon(ctx, c.Scope, c.Key, c.Token), ports.ErrClaimLost)
	rec := idemBegin(t, s, idemClaim(c.Scope, c.Key, t0, "hash-1"), false)
	if !rec.Finished() || rec.Response.Status != idemCreated.Status {
		t.Fatalf("record after refused writes: %+v, want the first response", rec)
	}
}

// Abandon: "deletes the unfinished record", so the key is free at once.
func testIdemAbandon(t *testing.T, s ports.Idempotency, _ ports.Transactor) {
	c := idemClaim(newIdemScope(), "key-"+uniq(), t0, "hash-1")
	idemBegin(t, s, c, true)
	must(t, s.Abandon(t.Context(), c.Scope, c.Key, c.Token))
	again := idemClaim(c.Scope, c.Key, t0, "hash-2")
	equal(t, idemBegin(t, s, again, true), idemClaimed(again))
}

// Begin: "of concurrent Begins of one free key exactly one starts; the
// others get its record".
func testIdemConcurrentBegin(t *testing.T, s ports.Idempotency, _ ports.Transactor) {
	scope, key := newIdemScope(), "key-"+uniq()
	cs := make([]ports.IdempotencyClaim, 12)
	for i := range cs {
		cs[i] = idemClaim(scope, key, t0, "hash")
	}
	idemRaceBegins(t, s, cs)
}

// The same when the key is held by an expired record.
func testIdemConcurrentTakeover(t *testing.T, s ports.Idempotency, _ ports.Transactor) {
	first := idemClaim(newIdemScope(), "key-"+uniq(), t0, "hash")
	idemBegin(t, s, first, true)
	must(t, s.Complete(t.Context(), first.Scope, first.Key, first.Token, idemCreated))
	cs := make([]ports.IdempotencyClaim, 12)
	for i := range cs {
		cs[i] = idemClaim(first.Scope, first.Key, first.ExpiresAt.Add(time.Second), "hash")
	}
	idemRaceBegins(t, s, cs)
}

// raceBegins runs the claims at once and requires exactly one to start and
// every other to see the winner's unfinished record.
func idemRaceBegins(t *testing.T, s ports.Idempotency, cs []ports.IdempotencyClaim) {
	t.Helper()
	recs := make([]ports.IdempotencyRecord, len(cs))
	started := make([]bool, len(cs))
	errs := race(len(cs), func(i int) error {
		var err error
		recs[i], started[i], err = s.Begin(context.Background(), cs[i])
		return err
	})
	winner := -1
	for i, err := range errs {
		must(t, err)
		if started[i] {
			if winner >= 0 {
				t.Fatalf("claims %d and %d both started", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatal("no claim started")
	}
	for i := range cs {
		equal(t, recs[i], idemClaimed(cs[winner]))
	}
}

// DeleteExpired: "deletes the records with ExpiresAt <= before, finished or
// not, and returns how many".
func testIdemDeleteExpired(t *testing.T, s ports.Idempotency, _ ports.Transactor) {
	ctx := t.Context()
	scope := newIdemScope()
	var cs []ports.IdempotencyClaim
	for i, ttl := range []time.Duration{time.Hour, 2 * time.Hour, 2 * time.Hour, 3 * time.Hour} {
		c := idemClaim(scope, "key-"+uniq(), t0, "h")
		c.LeaseUntil, c.ExpiresAt = t0.Add(ttl), t0.Add(ttl)
		idemBegin(t, s, c, true)
		if i%2 == 0 {
			must(t, s.Complete(ctx, c.Scope, c.Key, c.Token, idemCreated))
		}
		cs = append(cs, c)
	}
	n, err := s.DeleteExpired(ctx, t0.Add(2*time.Hour))
	must(t, err)
	if n != 3 {
		t.Fatalf("DeleteExpired deleted %d records, want 3", n)
	}
	// Deleted records are gone, not merely free: a claim made before they
	// expired starts anew. The one left is still held.
	for _, c := range cs[:3] {
		idemBegin(t, s, idemClaim(scope, c.Key, t0, "h"), true)
	}
	idemBegin(t, s, idemClaim(scope, cs[3].Key, t0, "h"), false)
	n, err = s.DeleteExpired(ctx, t0)
	must(t, err)
	if n != 0 {
		t.Fatalf("DeleteExpired before anything expired deleted %d", n)
	}
}

// "inside one they join it": a claim made in a transaction that fails is
// rolled back, and a Begin meeting a held key inside a transaction leaves
// it usable (no aborted PostgreSQL transaction).
func testIdemRollback(t *testing.T, s ports.Idempotency, tx ports.Transactor) {
	ctx := t.Context()
	held := idemClaim(newIdemScope(), "key-"+uniq(), t0, "h")
	idemBegin(t, s, held, true)
	c := idemClaim(newIdemScope(), "key-"+uniq(), t0, "h")
	err := tx.WithinTx(ctx, func(ctx context.Context) error {
		if _, started, err := s.Begin(ctx, idemClaim(held.Scope, held.Key, t0, "h")); err != nil || started {
			t.Errorf("Begin of a held key in a tx: started %v, err %v", started, err)
		}
		if _, started, err := s.Begin(ctx, c); err != nil || !started {
			t.Errorf("Begin of a free key after a held one in a tx: started %v, err %v", started, err)
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("WithinTx returned %v, want errBoom", err)
	}
	idemBegin(t, s, idemClaim(c.Scope, c.Key, t0, "h"), true)

	// Committed: the claim stays.
	d := idemClaim(newIdemScope(), "key-"+uniq(), t0, "h")
	must(t, tx.WithinTx(ctx, func(ctx context.Context) error {
		_, _, err := s.Begin(ctx, d)
		return err
	}))
	equal(t, idemBegin(t, s, idemClaim(d.Scope, d.Key, t0, "h"), false), idemClaimed(d))
}
