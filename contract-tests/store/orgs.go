package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// Orgs: Create, Get, GetBySlug round trip; "Update overwrites every field
// of o but ID, Slug and CreatedAt".
func testOrgRoundTrip(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o := newOrg(t, s)
	got, err := s.Orgs().Get(ctx, o.ID)
	must(t, err)
	equal(t, got, o)
	got, err = s.Orgs().GetBySlug(ctx, o.Slug)
	must(t, err)
	equal(t, got, o)

	changed := domain.Organization{ID: o.ID, Name: "Renamed", Slug: "other-slug", WebsiteURL: "",
		Description: "", LogoURL: "https://example.com/images/other.jpg", Status: domain.OrgSuspended, StatusReason: "abuse", Plan: domain.PlanEnterprise,
		EmailsEnabled: false, RequireMFA: true, CreatedAt: t0.Add(time.Hour), UpdatedAt: t0.Add(2 * time.Hour)}
	must(t, s.Orgs().Update(ctx, changed))
	got, err = s.Orgs().Get(ctx, o.ID)
	must(t, err)
	want := changed
	want.Slug, want.CreatedAt = o.Slug, o.CreatedAt
	equal(t, got, want)
}

// Orgs.Create: "a slug in use returns an error matching domain.ErrSlugTaken".
func testOrgSlugTaken(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o := newOrg(t, s)
	dup := makeOrg()
	dup.Slug = o.Slug
	wantErr(t, s.Orgs().Create(ctx, dup), domain.ErrSlugTaken)
	_, err := s.Orgs().Get(ctx, dup.ID)
	wantErr(t, err, domain.ErrNotFound)
}

// Orgs.List: "returns organizations ordered by creation, oldest first, after
// the cursor (an ID; "" for the start), optionally filtered by status".
func testOrgList(t *testing.T, s ports.Store) {
	ctx := t.Context()
	var all, approved []domain.Organization
	for i, st := range []domain.OrgStatus{domain.OrgApproved, domain.OrgPendingReview, domain.OrgApproved,
		domain.OrgApproved, domain.OrgRejected, domain.OrgApproved} {
		o := makeOrg()
		o.Status = st
		// Two pairs share a creation time: the cursor must break ties.
		o.CreatedAt = t0.Add(time.Duration(i/2) * time.Minute)
		must(t, s.Orgs().Create(ctx, o))
		all = append(all, o)
		if st == domain.OrgApproved {
			approved = append(approved, o)
		}
	}
	sortOrgs(all)
	sortOrgs(approved)

	page := func(f ports.OrgFilter) []domain.Organization {
		t.Helper()
		var got []domain.Organization
		for {
			p, err := s.Orgs().List(ctx, f)
			must(t, err)
			if len(p) > f.Limit {
				t.Fatalf("page of %d organizations, limit %d", len(p), f.Limit)
			}
			got = append(got, p...)
			if len(p) < f.Limit {
				return got
			}
			f.After = p[len(p)-1].ID
		}
	}
	equal(t, page(ports.OrgFilter{Limit: 2}), all)
	equal(t, page(ports.OrgFilter{Limit: 3}), all)
	equal(t, page(ports.OrgFilter{Status: domain.OrgApproved, Limit: 2}), approved)

	got, err := s.Orgs().List(ctx, ports.OrgFilter{})
	must(t, err)
	equal(t, got, all) // Limit 0: a default page
	got, err = s.Orgs().List(ctx, ports.OrgFilter{Status: domain.OrgRejected})
	must(t, err)
	equal(t, len(got), 1)
}

// sortOrgs orders by (CreatedAt, ID), the order the store pages in.
func sortOrgs(orgs []domain.Organization) {
	slices.SortFunc(orgs, func(a, b domain.Organization) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// Orgs.ListForUser: "returns the organizations the user is a member of,
// with the role".
func testOrgListForUser(t *testing.T, s ports.Store) {
	ctx := t.Context()
	u, other := newUser(t, s), newUser(t, s)
	o1, o2, o3 := newOrg(t, s), newOrg(t, s), newOrg(t, s)
	must(t, s.Members().Add(ctx, domain.Membership{OrgID: o1.ID, UserID: u.ID, Role: domain.RoleOwner, CreatedAt: t0}))
	must(t, s.Members().Add(ctx, domain.Membership{OrgID: o2.ID, UserID: u.ID, Role: domain.RoleViewer, CreatedAt: t0}))
	must(t, s.Members().Add(ctx, domain.Membership{OrgID: o3.ID, UserID: other.ID, Role: domain.RoleOwner, CreatedAt: t0}))

	got, err := s.Orgs().ListForUser(ctx, u.ID)
	must(t, err)
	roles := map[string]domain.Role{}
	for _, r := range got {
		roles[r.Org.ID] = r.Role
		want := o1
		if r.Org.ID == o2.ID {
			want = o2
		}
		equal(t, r.Org, want)
	}
	equal(t, roles, map[string]domain.Role{o1.ID: domain.RoleOwner, o2.ID: domain.RoleViewer})

	got, err = s.Orgs().ListForUser(ctx, domain.NewID())
	must(t, err)
	equal(t, len(got), 0)
}

// Orgs: "AddVerifications adds n to the organization's anonymous count of
// verifications, to whatever the count is then"; "Verifications returns
// that count as stored". Concurrent adds (replicas flushing their counts)
// all count.
func testOrgCountVerification(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o, other := newOrg(t, s), newOrg(t, s)
	n, err := s.Orgs().Verifications(ctx, o.ID)
	must(t, err)
	equal(t, n, int64(0))
	errs := race(5, func(i int) error { return s.Orgs().AddVerifications(ctx, o.ID, int64(i+1)) })
	for _, err := range errs {
		must(t, err)
	}
	n, err = s.Orgs().Verifications(ctx, o.ID)
	must(t, err)
	equal(t, n, int64(15))
	n, err = s.Orgs().Verifications(ctx, other.ID)
	must(t, err)
	equal(t, n, int64(0))

	// Update leaves the count alone.
	must(t, s.Orgs().Update(ctx, o))
	n, err = s.Orgs().Verifications(ctx, o.ID)
	must(t, err)
	equal(t, n, int64(15))
}

// Members: "Add inserts m; adding an existing member returns an error
// matching domain.ErrInvalidState"; "Get returns the membership of user in
// org, or domain.ErrNotFound"; "List returns an organization's members with
// their users, oldest first"; "CountRole counts the organization's members
// holding role".
func testMembers(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o, other := newOrg(t, s), newOrg(t, s)
	owner, admin, coOwner := newUser(t, s), newUser(t, s), newUser(t, s)
	mOwner := domain.Membership{OrgID: o.ID, UserID: owner.ID, Role: domain.RoleOwner, CreatedAt: t0}
	mAdmin := domain.Membership{OrgID: o.ID, UserID: admin.ID, Role: domain.RoleAdmin, CreatedAt: t0.Add(time.Minute)}
	mCoOwner := domain.Membership{OrgID: o.ID, UserID: coOwner.ID, Role: domain.RoleOwner, CreatedAt: t0.Add(2 * time.Minute)}
	for _, m := range []domain.Membership{mCoOwner, mOwner, mAdmin} {
		must(t, s.Members().Add(ctx, m))
	}
	must(t, s.Members().Add(ctx, domain.Membership{OrgID: other.ID, UserID: owner.ID, Role: domain.RoleOwner, CreatedAt: t0}))

	again := mAdmin
	again.Role = domain.RoleViewer
	wantErr(t, s.Members().Add(ctx, again), domain.ErrInvalidState)

	got, err := s.Members().Get(ctx, o.ID, admin.ID)
	must(t, err)
	equal(t, got, mAdmin) // the second Add changed nothing
	_, err = s.Members().Get(ctx, other.ID, admin.ID)
	wantErr(t, err, domain.ErrNotFound)

	list, err := s.Members().List(ctx, o.ID)
	must(t, err)
	equal(t, list, []ports.MemberWithUser{
		{Membership: mOwner, Email: owner.Email, Name: owner.Name},
		{Membership: mAdmin, Email: admin.Email, Name: admin.Name},
		{Membership: mCoOwner, Email: coOwner.Email, Name: coOwner.Name},
	})

	for role, want := range map[domain.Role]int{domain.RoleOwner: 2, domain.RoleAdmin: 1, domain.RoleIssuer: 0} {
		n, err := s.Members().CountRole(ctx, o.ID, role)
		must(t, err)
		if n != want {
			t.Errorf("CountRole(%s) = %d, want %d", role, n, want)
		}
	}
}

// SigningKeys: "A second active key for an org returns an error matching
// domain.ErrSigningKeysExist"; "Active returns the org's active key";
// "List returns every key of the org, active and retired, oldest first";
// "GetByFragment returns the org's key with that fragment"; "Retire marks
// the key retired at `at` when it is active; a key already retired returns
// an error matching domain.ErrInvalidState".
func testSigningKeys(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o, other := newOrg(t, s), newOrg(t, s)
	mk := func(orgID, fragment string, created time.Time) domain.SigningKey {
		return domain.SigningKey{ID: domain.NewID(), OrgID: orgID, Fragment: fragment, Algorithm: domain.AlgES256,
			Status: domain.KeyActive, PublicJWK: []byte(`{"kty":"EC","crv":"P-256","x":"` + uniq() + `","y":"y"}`),
			PrivateEnc: []byte{0x00, 0x01, 0xfe, 0xff, 0x80}, CreatedAt: created}
	}
	k1 := mk(o.ID, "key-1", t0)
	must(t, s.SigningKeys().Create(ctx, k1))
	must(t, s.SigningKeys().Create(ctx, mk(other.ID, "key-1", t0))) // one active per org, not overall

	wantErr(t, s.SigningKeys().Create(ctx, mk(o.ID, "key-2", t0.Add(time.Minute))), domain.ErrSigningKeysExist)

	got, err := s.SigningKeys().Active(ctx, o.ID)
	must(t, err)
	equal(t, got, k1)
	got, err = s.SigningKeys().GetByFragment(ctx, o.ID, "key-1")
	must(t, err)
	equal(t, got, k1)

	retiredAt := t0.Add(time.Hour)
	must(t, s.SigningKeys().Retire(ctx, k1.ID, retiredAt))
	wantErr(t, s.SigningKeys().Retire(ctx, k1.ID, retiredAt.Add(time.Hour)), domain.ErrInvalidState)
	_, err = s.SigningKeys().Active(ctx, o.ID)
	wantErr(t, err, domain.ErrSigningKeysMissing)

	k2 := mk(o.ID, "key-2", retiredAt)
	must(t, s.SigningKeys().Create(ctx, k2))
	got, err = s.SigningKeys().Active(ctx, o.ID)
	must(t, err)
	equal(t, got, k2)

	k1.Status, k1.RetiredAt = domain.KeyRetired, &retiredAt
	list, err := s.SigningKeys().List(ctx, o.ID)
	must(t, err)
	equal(t, list, []domain.SigningKey{k1, k2})
	got, err = s.SigningKeys().GetByFragment(ctx, o.ID, "key-1")
	must(t, err)
	equal(t, got, k1)
}

// Orgs.GetWithRole: "returns the organization and userID's role in it (""
// when the user is not a member) in one read; ErrNotFound when there is no
// such organization".
func testOrgGetWithRole(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o := newOrg(t, s)
	member, stranger := newUser(t, s), newUser(t, s)
	must(t, s.Members().Add(ctx, domain.Membership{OrgID: o.ID, UserID: member.ID, Role: domain.RoleIssuer, CreatedAt: o.CreatedAt}))
	got, err := s.Orgs().GetWithRole(ctx, o.ID, member.ID)
	must(t, err)
	equal(t, got, ports.OrgWithRole{Org: o, Role: domain.RoleIssuer})
	got, err = s.Orgs().GetWithRole(ctx, o.ID, stranger.ID)
	must(t, err)
	equal(t, got, ports.OrgWithRole{Org: o, Role: ""})
	_, err = s.Orgs().GetWithRole(ctx, domain.NewID(), member.ID)
	wantErr(t, err, domain.ErrNotFound)
}

// Members: SetRole and Remove change one membership (NOT_FOUND for a
// non-member); LockOrg takes an existing organization.
func testMembersChange(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o, u, v := newOrg(t, s), newUser(t, s), newUser(t, s)
	must(t, s.Members().Add(ctx, domain.Membership{OrgID: o.ID, UserID: u.ID, Role: domain.RoleOwner, CreatedAt: t0}))
	must(t, s.Members().Add(ctx, domain.Membership{OrgID: o.ID, UserID: v.ID, Role: domain.RoleViewer, CreatedAt: t0}))
	must(t, s.Members().SetRole(ctx, o.ID, v.ID, domain.RoleOwner))
	n, err := s.Members().CountRole(ctx, o.ID, domain.RoleOwner)
	must(t, err)
	equal(t, n, 2)
	must(t, s.Members().Remove(ctx, o.ID, u.ID))
	_, err = s.Members().Get(ctx, o.ID, u.ID)
	wantErr(t, err, domain.ErrNotFound)
	wantErr(t, s.Members().Remove(ctx, o.ID, u.ID), domain.ErrNotFound)
	wantErr(t, s.Members().SetRole(ctx, o.ID, u.ID, domain.RoleAdmin), domain.ErrNotFound)
	must(t, s.WithinTx(ctx, func(ctx context.Context) error { return s.Members().LockOrg(ctx, o.ID) }))
	wantErr(t, s.WithinTx(ctx, func(ctx context.Context) error { return s.Members().LockOrg(ctx, domain.NewID()) }), domain.ErrNotFound)
}

// Invitations: round trip; open ones listed per organization and per
// email, newest first, expired and answered ones left out; Answer admits
// one of concurrent answers and refuses a closed invitation; RevokeOpen.
func testInvitations(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o, other := newOrg(t, s), newOrg(t, s)
	email := newEmail()
	mk := func(orgID string, role domain.Role, created time.Time) domain.Invitation {
		inv := domain.Invitation{ID: domain.NewID(), OrgID: orgID, Email: email, Role: role, InvitedBy: "u1",
			CreatedAt: created, ExpiresAt: created.Add(domain.InvitationTTL), Status: domain.InvitationPending}
		must(t, s.Invitations().Create(ctx, inv))
		return inv
	}
	old := mk(o.ID, domain.RoleViewer, t0.Add(-8*24*time.Hour)) // expired
	a := mk(o.ID, domain.RoleOwner, t0.Add(-time.Hour))
	b := mk(other.ID, domain.RoleAdmin, t0)
	got, err := s.Invitations().Get(ctx, a.ID)
	must(t, err)
	equal(t, got, a)
	_, err = s.Invitations().Get(ctx, domain.NewID())
	wantErr(t, err, domain.ErrNotFound)

	list, err := s.Invitations().ListForOrg(ctx, o.ID, t0)
	must(t, err)
	equal(t, list, []domain.Invitation{a})
	list, err = s.Invitations().ListForEmail(ctx, email, t0)
	must(t, err)
	equal(t, list, []domain.Invitation{b, a})
	n, err := s.Invitations().CountOpen(ctx, o.ID, domain.RoleOwner, t0)
	must(t, err)
	equal(t, n, 1)

	wantErr(t, s.Invitations().Answer(ctx, old.ID, domain.InvitationAccepted, t0), domain.ErrInvalidState)
	errs := race(6, func(int) error { return s.Invitations().Answer(ctx, a.ID, domain.InvitationAccepted, t0) })
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if !errors.Is(err, domain.ErrInvalidState) {
			t.Fatalf("concurrent Answer: %v", err)
		}
	}
	equal(t, ok, 1)
	got, err = s.Invitations().Get(ctx, a.ID)
	must(t, err)
	equal(t, got.Status, domain.InvitationAccepted)

	revoked, err := s.Invitations().RevokeOpen(ctx, other.ID, email, t0)
	must(t, err)
	equal(t, revoked, 1)
	list, err = s.Invitations().ListForEmail(ctx, email, t0)
	must(t, err)
	equal(t, len(list), 0)
}

// ProofKeys: one active Data Integrity key per organization (a second
// active one, or a fragment in use, is ErrInvalidState); retiring leaves
// it listed, oldest first; the raw key bytes round-trip.
func testProofKeys(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o, other := newOrg(t, s), newOrg(t, s)
	mk := func(orgID, fragment string, created time.Time) domain.ProofKey {
		return domain.ProofKey{ID: domain.NewID(), OrgID: orgID, Fragment: fragment, Public: []byte{0x00, 0xed, 0x01, 0xff},
			PrivateEnc: []byte{0x00, 0x01, 0xfe, 0xff, 0x80}, Status: domain.KeyActive, CreatedAt: created}
	}
	_, err := s.ProofKeys().Active(ctx, o.ID)
	wantErr(t, err, domain.ErrNotFound)
	k1 := mk(o.ID, "proof-1", t0)
	must(t, s.ProofKeys().Create(ctx, k1))
	must(t, s.ProofKeys().Create(ctx, mk(other.ID, "proof-1", t0)))
	wantErr(t, s.ProofKeys().Create(ctx, mk(o.ID, "proof-2", t0)), domain.ErrInvalidState)
	got, err := s.ProofKeys().Active(ctx, o.ID)
	must(t, err)
	equal(t, got, k1)

	retiredAt := t0.Add(time.Hour)
	must(t, s.ProofKeys().Retire(ctx, k1.ID, retiredAt))
	wantErr(t, s.ProofKeys().Retire(ctx, k1.ID, retiredAt), domain.ErrInvalidState)
	wantErr(t, s.ProofKeys().Retire(ctx, domain.NewID(), retiredAt), domain.ErrNotFound)
	_, err = s.ProofKeys().Active(ctx, o.ID)
	wantErr(t, err, domain.ErrNotFound)
	retired := mk(o.ID, "proof-1", retiredAt)
	retired.Status = domain.KeyRetired
	wantErr(t, s.ProofKeys().Create(ctx, retired), domain.ErrInvalidState) // the fragment is taken
	k2 := mk(o.ID, "proof-2", retiredAt)
	must(t, s.ProofKeys().Create(ctx, k2))
	k1.Status, k1.RetiredAt = domain.KeyRetired, &retiredAt
	list, err := s.ProofKeys().List(ctx, o.ID)
	must(t, err)
	equal(t, list, []domain.ProofKey{k1, k2})
	// Rolled back with its transaction.
	err = s.WithinTx(ctx, func(ctx context.Context) error {
		must(t, s.ProofKeys().Retire(ctx, k2.ID, retiredAt))
		return errBoom
	})
	wantErr(t, err, errBoom)
	got, err = s.ProofKeys().Active(ctx, o.ID)
	must(t, err)
	equal(t, got, k2)
}
