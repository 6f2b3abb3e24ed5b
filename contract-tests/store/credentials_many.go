package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// ---- Credentials.InsertMany and Heads ----

// cloneCredentials copies cs and what their pointers point to.
func cloneCredentials(cs []domain.Credential) []domain.Credential {
	out := slices.Clone(cs)
	for i := range out {
		for _, p := range []**time.Time{&out[i].ExpiresAt, &out[i].ClaimedAt, &out[i].RevokedAt} {
			if *p != nil {
				*p = ptr(**p)
			}
		}
	}
	return out
}

// allHeads returns the heads of the badge's test and live chains for
// emails; a batch holds both kinds.
func allHeads(t *testing.T, s ports.Store, badgeID string, emails []string) map[string]domain.Credential {
	t.Helper()
	out := map[string]domain.Credential{}
	for _, test := range []bool{false, true} {
		heads, err := s.Credentials().Heads(t.Context(), badgeID, test, emails, false)
		must(t, err)
		for email, h := range heads {
			if h.Test != test {
				t.Errorf("Heads(test=%v) returned %s, test=%v", test, h.ID, h.Test)
			}
			if _, ok := out[email]; ok {
				t.Errorf("both a test and a live head for %s in the batch", email)
			}
			out[email] = h
		}
	}
	return out
}

// batchCredentials returns n first credentials of the issuer's badge, to
// distinct recipients, with text a careless encoding breaks; every fourth
// is a test credential.
func batchCredentials(is issuer, n int) []domain.Credential {
	p := uniq()
	cs := make([]domain.Credential, n)
	for i := range cs {
		c := is.credential(fmt.Sprintf("batch%d-%s@example.com", i, p), t0)
		switch i % 4 {
		case 1:
			c.ExpiresAt = ptr(t0.Add(365 * 24 * time.Hour))
		case 2:
			c.Public, c.RecipientName = false, "Zoë O'Brien \"the\"\tsecond\\\n"
		case 3:
			c.Test = true
		}
		cs[i] = c
	}
	return cs
}

func emailsOf(cs []domain.Credential) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.RecipientEmail
	}
	return out
}

// Credentials.InsertMany: "stores cs, each at the head of its chain,
// provided none of their chains has a head and no ID is taken"; 1,500 take
// two statements. Renewals whose previous heads the transaction superseded
// are heads too. Heads reads them back.
func testCredentialInsertMany(t *testing.T, s ports.Store) {
	ctx := t.Context()
	is := newIssuer(t, s)
	prev := is.credential(newEmail(), t0.Add(-time.Hour))
	must(t, s.Credentials().Insert(ctx, prev))

	cs := batchCredentials(is, 1500)
	renewal := &cs[1234]
	renewal.RecipientEmail, renewal.SupersedesID = prev.RecipientEmail, prev.ID
	before := cloneCredentials(cs)
	must(t, s.WithinTx(ctx, func(ctx context.Context) error {
		p := prev
		p.SupersededByID = renewal.ID
		if err := s.Credentials().Update(ctx, p); err != nil {
			return err
		}
		return s.Credentials().InsertMany(ctx, cs)
	}))
	argsUnchanged(t, "Credentials.InsertMany", cs, before)

	heads := allHeads(t, s, is.badge.ID, emailsOf(cs))
	if len(heads) != len(cs) {
		t.Fatalf("%d heads, want %d", len(heads), len(cs))
	}
	for _, c := range cs {
		c.JWS = "" // Heads leaves it out; Get below reads it
		equal(t, heads[c.RecipientEmail], c)
	}
	for _, i := range []int{0, 999, 1000, 1499} {
		got, err := s.Credentials().Get(ctx, cs[i].ID)
		must(t, err)
		equal(t, got, cs[i])
	}
	// They hold their chains' slots.
	var dup *domain.DuplicateError
	beside := is.credential(cs[1499].RecipientEmail, t0)
	beside.Test = cs[1499].Test
	if err := s.Credentials().Insert(ctx, beside); !errors.As(err, &dup) || dup.Existing != cs[1499].ID {
		t.Fatalf("insert beside a batch head: got %v, want *domain.DuplicateError naming %s", err, cs[1499].ID)
	}
	must(t, s.WithinTx(ctx, func(ctx context.Context) error { return s.Credentials().InsertMany(ctx, nil) }))
}

// Credentials.InsertMany: else "it writes nothing and returns an error
// matching ErrBatchConflict. Call it in a transaction; its conflict leaves
// the transaction usable": what the transaction wrote before stays, and it
// goes on and commits. The conflicts sit in the second statement of a
// batch of 1,100, after 1,000 rows were inserted, or in the first.
func testCredentialInsertManyConflict(t *testing.T, s ports.Store) {
	ctx := t.Context()
	is := newIssuer(t, s)
	head := is.credential(newEmail(), t0)
	taken := is.credential(newEmail(), t0)
	testHead := is.credential(newEmail(), t0)
	testHead.Test = true
	must(t, s.Credentials().Insert(ctx, head))
	must(t, s.Credentials().Insert(ctx, taken))
	must(t, s.Credentials().Insert(ctx, testHead))

	for _, tc := range []struct {
		name string
		edit func(cs []domain.Credential)
	}{
		{"a chain with a head", func(cs []domain.Credential) { cs[1050].RecipientEmail = head.RecipientEmail }},
		{"a chain with a head, first statement", func(cs []domain.Credential) { cs[4].RecipientEmail = head.RecipientEmail }},
		{"a revoked head", func(cs []domain.Credential) { cs[1096].RecipientEmail = taken.RecipientEmail }},
		{"a test chain with a head", func(cs []domain.Credential) { cs[1083].RecipientEmail = testHead.RecipientEmail }},
		{"an ID taken", func(cs []domain.Credential) { cs[1070].ID = taken.ID }},
		{"two heads of one chain in the batch", func(cs []domain.Credential) { cs[1080].RecipientEmail = cs[5].RecipientEmail }},
	} {
		if tc.name == "a revoked head" {
			rev := taken
			rev.RevokedAt, rev.RevocationReason = ptr(t0), "mistake"
			must(t, s.Credentials().Update(ctx, rev))
			taken = rev
		}
		cs := batchCredentials(is, 1100)
		tc.edit(cs)
		before, after := is.credential(newEmail(), t0), is.credential(newEmail(), t0)
		err := s.WithinTx(ctx, func(ctx context.Context) error {
			if err := s.Credentials().Insert(ctx, before); err != nil {
				return err
			}
			if err := s.Credentials().InsertMany(ctx, cs); !errors.Is(err, ports.ErrBatchConflict) {
				t.Errorf("%s: got %v, want ErrBatchConflict", tc.name, err)
			}
			return s.Credentials().Insert(ctx, after)
		})
		if err != nil {
			t.Fatalf("%s: the transaction failed after the conflict: %v", tc.name, err)
		}
		for _, c := range []domain.Credential{before, after, head, taken, testHead} {
			got, err := s.Credentials().Get(ctx, c.ID)
			must(t, err)
			equal(t, got, c)
		}
		for email, h := range allHeads(t, s, is.badge.ID, emailsOf(cs)) {
			if h.ID != head.ID && h.ID != taken.ID && h.ID != testHead.ID {
				t.Fatalf("%s: %s of the batch (to %s) was stored", tc.name, h.ID, email)
			}
		}
	}
}

// Credentials.Heads: "the chain heads of the badge for the emails, by email
// (emails without credentials are absent)" — not superseded credentials,
// not other badges' — and with lock, inside a transaction, the heads are
// held until it ends: a concurrent write to one waits.
func testCredentialHeads(t *testing.T, s ports.Store) {
	ctx := t.Context()
	is := newIssuer(t, s)
	b2 := newBadge(t, s, is.org.ID)
	e1, e2, e3, e4, e5 := newEmail(), newEmail(), newEmail(), newEmail(), newEmail()

	old := is.credential(e1, t0.Add(-time.Hour))
	must(t, s.Credentials().Insert(ctx, old))
	h1 := is.credential(e1, t0)
	h1.SupersedesID = old.ID
	must(t, s.WithinTx(ctx, func(ctx context.Context) error {
		o := old
		o.SupersededByID = h1.ID
		if err := s.Credentials().Update(ctx, o); err != nil {
			return err
		}
		return s.Credentials().Insert(ctx, h1)
	}))
	h2 := is.credential(e2, t0)
	h2.RevokedAt, h2.RevocationReason = ptr(t0), "revoked, still the head"
	must(t, s.Credentials().Insert(ctx, h2))
	must(t, s.Credentials().Insert(ctx, makeCredential(is.org.ID, b2.ID, e4, t0)))
	must(t, s.Credentials().Insert(ctx, is.credential(e5, t0)))

	noJWS := func(c domain.Credential) domain.Credential { c.JWS = ""; return c } // Heads leaves it out
	want := map[string]domain.Credential{e1: noJWS(h1), e2: noJWS(h2)}
	asked := []string{e1, e2, e3, e4}
	got, err := s.Credentials().Heads(ctx, is.badge.ID, false, asked, false)
	must(t, err)
	equal(t, got, want)
	got, err = s.Credentials().Heads(ctx, is.badge.ID, false, nil, false)
	must(t, err)
	equal(t, len(got), 0)

	var wrote atomic.Bool
	writer := make(chan error, 1)
	must(t, s.WithinTx(ctx, func(txCtx context.Context) error {
		got, err := s.Credentials().Heads(txCtx, is.badge.ID, false, asked, true)
		if err != nil {
			return err
		}
		equal(t, got, want)
		go func() {
			r := h1
			r.RevokedAt, r.RevocationReason = ptr(t0.Add(time.Minute)), "concurrent"
			err := s.Credentials().Update(ctx, r) // outside the transaction
			wrote.Store(true)
			writer <- err
		}()
		time.Sleep(300 * time.Millisecond)
		if wrote.Load() {
			return errors.New("a concurrent write changed a head Heads had locked")
		}
		cur, err := s.Credentials().Get(txCtx, h1.ID)
		if err != nil {
			return err
		}
		equal(t, cur, h1)
		return nil
	}))
	select {
	case err := <-writer:
		must(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("the concurrent write never ran after the transaction ended")
	}
	cur, err := s.Credentials().Get(ctx, h1.ID)
	must(t, err)
	equal(t, cur.RevocationReason, "concurrent")
}
