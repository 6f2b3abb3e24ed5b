package store

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// Badges: Create, Get, GetBySlug round trip (with and without expiry and
// tags); Create: "a slug used by another badge of the org returns an error
// matching domain.ErrSlugTaken" (another org may use it).
func testBadgeRoundTrip(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o, other := newOrg(t, s), newOrg(t, s)
	b := makeBadge(o.ID)
	b.ExpiresInDays = ptr(365)
	b.Tags = []string{"émigré", `quote"d`, "x"}
	must(t, s.Badges().Create(ctx, b))
	plain := makeBadge(o.ID)
	plain.Tags = []string{}
	must(t, s.Badges().Create(ctx, plain))

	got, err := s.Badges().Get(ctx, o.ID, b.ID)
	must(t, err)
	equal(t, got, b)
	got, err = s.Badges().GetBySlug(ctx, o.ID, b.Slug)
	must(t, err)
	equal(t, got, b)
	got, err = s.Badges().Get(ctx, o.ID, plain.ID)
	must(t, err)
	equal(t, got, plain)
	_, err = s.Badges().Get(ctx, other.ID, b.ID)
	wantErr(t, err, domain.ErrNotFound) // scoped to the org

	dup := makeBadge(o.ID)
	dup.Slug = b.Slug
	wantErr(t, s.Badges().Create(ctx, dup), domain.ErrSlugTaken)
	elsewhere := makeBadge(other.ID)
	elsewhere.Slug = b.Slug
	must(t, s.Badges().Create(ctx, elsewhere))
}

// Badges: "Update overwrites b's editable fields, Active and UpdatedAt"
// (not Locked, not CreatedAt); "Delete removes an unlocked badge".
func testBadgeUpdateUnlocked(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o := newOrg(t, s)
	b := newBadge(t, s, o.ID)

	changed := b
	changed.Name, changed.Slug, changed.Description, changed.Criteria = "New name", "new-"+uniq(), "New description", "New criteria"
	changed.ImageURL, changed.Tags, changed.ExpiresInDays = "https://example.com/new.png", []string{"new"}, ptr(30)
	changed.Active, changed.UpdatedAt = false, t0.Add(time.Hour)
	changed.Locked, changed.CreatedAt = true, t0.Add(-time.Hour) // not editable: ignored
	must(t, s.Badges().Update(ctx, changed))
	got, err := s.Badges().Get(ctx, o.ID, b.ID)
	must(t, err)
	want := changed
	want.Locked, want.CreatedAt = false, b.CreatedAt
	equal(t, got, want)

	// Clearing the expiry is an edit too.
	want.ExpiresInDays = nil
	must(t, s.Badges().Update(ctx, want))
	got, err = s.Badges().Get(ctx, o.ID, b.ID)
	must(t, err)
	equal(t, got, want)

	// A slug of another badge of the org is taken.
	other := newBadge(t, s, o.ID)
	clash := want
	clash.Slug = other.Slug
	wantErr(t, s.Badges().Update(ctx, clash), domain.ErrSlugTaken)

	must(t, s.Badges().Delete(ctx, o.ID, b.ID))
	_, err = s.Badges().Get(ctx, o.ID, b.ID)
	wantErr(t, err, domain.ErrNotFound)
}

// Badges: "When b changes a signed field of a badge that is locked in the
// database, it returns an error matching domain.ErrBadgeLocked and writes
// nothing"; "Lock marks the badge as having issued a credential"; "Delete
// ... a locked one returns domain.ErrBadgeLocked".
func testBadgeLocked(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o := newOrg(t, s)
	b := makeBadge(o.ID)
	b.ExpiresInDays = ptr(10)
	must(t, s.Badges().Create(ctx, b))
	must(t, s.Badges().Lock(ctx, b.ID, b.UpdatedAt))
	got, err := s.Badges().Get(ctx, o.ID, b.ID)
	must(t, err)
	if !got.Locked {
		t.Fatal("Lock did not lock the badge")
	}

	// b is a stale copy (Locked false): the database's lock decides.
	for name, edit := range map[string]func(*domain.Badge){
		"name":          func(x *domain.Badge) { x.Name = "Other" },
		"slug":          func(x *domain.Badge) { x.Slug = "other-" + uniq() },
		"description":   func(x *domain.Badge) { x.Description = "Other" },
		"criteria":      func(x *domain.Badge) { x.Criteria = "Other" },
		"imageURL":      func(x *domain.Badge) { x.ImageURL = "https://example.com/other.png" },
		"tags":          func(x *domain.Badge) { x.Tags = []string{"go"} },
		"expiry":        func(x *domain.Badge) { x.ExpiresInDays = ptr(11) },
		"expiry clear":  func(x *domain.Badge) { x.ExpiresInDays = nil },
		"and an active": func(x *domain.Badge) { x.Active = false; x.Name = "Other" },
	} {
		changed := b
		changed.Tags = slices.Clone(b.Tags)
		edit(&changed)
		changed.UpdatedAt = t0.Add(time.Hour)
		if err := s.Badges().Update(ctx, changed); !errors.Is(err, domain.ErrBadgeLocked) {
			t.Errorf("changing %s of a locked badge: got %v, want ErrBadgeLocked", name, err)
		}
	}
	got, err = s.Badges().Get(ctx, o.ID, b.ID)
	must(t, err)
	want := b
	want.Locked = true
	equal(t, got, want) // nothing written

	// Non-signed fields still change: deactivating a used badge.
	off := want
	off.Active, off.UpdatedAt = false, t0.Add(2*time.Hour)
	must(t, s.Badges().Update(ctx, off))
	got, err = s.Badges().Get(ctx, o.ID, b.ID)
	must(t, err)
	equal(t, got, off)

	wantErr(t, s.Badges().Delete(ctx, o.ID, b.ID), domain.ErrBadgeLocked)
	_, err = s.Badges().Get(ctx, o.ID, b.ID)
	must(t, err)
}

// Badges: "List returns the org's badges, oldest first, after the cursor";
// "Count counts the org's active badges".
func testBadgeList(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o, other := newOrg(t, s), newOrg(t, s)
	var all []domain.Badge
	for i := range 5 {
		b := makeBadge(o.ID)
		b.CreatedAt = t0.Add(time.Duration(i/2) * time.Minute) // ties broken by ID
		b.UpdatedAt = b.CreatedAt
		must(t, s.Badges().Create(ctx, b))
		all = append(all, b)
	}
	newBadge(t, s, other.ID)
	slices.SortFunc(all, func(a, b domain.Badge) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})

	var got []domain.Badge
	page := ports.Page{Limit: 2}
	for {
		p, err := s.Badges().List(ctx, o.ID, page)
		must(t, err)
		got = append(got, p...)
		if len(p) < page.Limit {
			break
		}
		page.After = p[len(p)-1].ID
	}
	equal(t, got, all)
	got, err := s.Badges().List(ctx, o.ID, ports.Page{})
	must(t, err)
	equal(t, got, all)

	n, err := s.Badges().Count(ctx, o.ID)
	must(t, err)
	equal(t, n, 5)
	off := all[0]
	off.Active = false
	must(t, s.Badges().Update(ctx, off))
	n, err = s.Badges().Count(ctx, o.ID)
	must(t, err)
	equal(t, n, 4)
}

// Badges.Lock: "provided it is still as it was at version ...: a badge
// updated since returns an error matching domain.ErrInvalidState and stays
// as it is"; "Locking a locked badge of that version is a no-op".
func testBadgeLockStale(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o := newOrg(t, s)
	b := makeBadge(o.ID)
	must(t, s.Badges().Create(ctx, b))
	read := b.UpdatedAt
	edited := b
	edited.Description = "changed meanwhile"
	edited.UpdatedAt = read.Add(time.Second)
	must(t, s.Badges().Update(ctx, edited))
	wantErr(t, s.Badges().Lock(ctx, b.ID, read), domain.ErrInvalidState)
	got, err := s.Badges().Get(ctx, o.ID, b.ID)
	must(t, err)
	if got.Locked {
		t.Fatal("a stale Lock locked the badge")
	}
	must(t, s.Badges().Lock(ctx, b.ID, edited.UpdatedAt))
	must(t, s.Badges().Lock(ctx, b.ID, edited.UpdatedAt))
	wantErr(t, s.Badges().Lock(ctx, domain.NewID(), read), domain.ErrNotFound)
}
