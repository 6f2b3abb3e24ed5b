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

// Credentials: Insert and Get round trip every field; "Update writes c's
// mutable fields: ClaimedAt, RevokedAt, RevocationReason, SupersededByID"
// (and nothing else).
func testCredentialRoundTrip(t *testing.T, s ports.Store) {
	ctx := t.Context()
	is := newIssuer(t, s)

	plain := is.credential(newEmail(), t0)
	must(t, s.Credentials().Insert(ctx, plain))
	got, err := s.Credentials().Get(ctx, plain.ID)
	must(t, err)
	equal(t, got, plain)

	// Every optional field set; the JWS is stored byte for byte.
	full := is.credential(newEmail(), t0.Add(-48*time.Hour))
	full.RecipientName = "Zoë O'Brien"
	full.ExpiresAt = ptr(t0.Add(300*24*time.Hour + 999999*time.Microsecond))
	full.Public, full.Test = false, true
	full.ClaimedAt = ptr(t0.Add(-47 * time.Hour))
	full.RevokedAt = ptr(t0.Add(-time.Hour))
	full.RevocationReason = "issued in error"
	full.SuspendedAt, full.SuspensionReason = ptr(t0.Add(-2*time.Hour)), "under review"
	full.Slot = &domain.StatusSlot{List: newStatusList(t, s, is.org.ID).ID, Index: 131071}
	full.Proof = `{"type":"DataIntegrityProof","cryptosuite":"eddsa-rdfc-2022","proofValue":"z3F"}`
	full.SupersedesID = plain.ID
	full.SupersededByID = domain.NewCredentialID()
	full.JWS = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImRpZDp3ZWI6ZXhhbXBsZS5jb20ja2V5LTEifQ." + strings.Repeat("eyJ2YyI6e30", 500) + ".sig_-"
	must(t, s.Credentials().Insert(ctx, full))
	got, err = s.Credentials().Get(ctx, full.ID)
	must(t, err)
	equal(t, got, full)
	must(t, s.WithinTx(ctx, func(ctx context.Context) error {
		got, err := s.Credentials().GetForUpdate(ctx, full.ID)
		must(t, err)
		equal(t, got, full)
		return nil
	}))

	upd := plain
	upd.ClaimedAt = ptr(t0.Add(time.Minute))
	upd.RevokedAt = ptr(t0.Add(2 * time.Minute))
	upd.RevocationReason = "superseded by renewal"
	upd.SuspendedAt, upd.SuspensionReason = ptr(t0.Add(3*time.Minute)), "paused"
	upd.SupersededByID = domain.NewCredentialID()
	ignored := upd
	ignored.RecipientName, ignored.JWS, ignored.IssuedAt, ignored.Public = "Other", "other.jws.text", t0.Add(time.Hour), false
	ignored.ExpiresAt, ignored.SupersedesID, ignored.KeyID = ptr(t0), domain.NewCredentialID(), "other-kid"
	ignored.Slot = &domain.StatusSlot{List: "not-written", Index: 5}
	must(t, s.Credentials().Update(ctx, ignored))
	got, err = s.Credentials().Get(ctx, plain.ID)
	must(t, err)
	equal(t, got, upd)
}

// Credentials.Insert: "When the recipient's chain for the badge already has
// a head it returns a *domain.DuplicateError naming it".
func testCredentialDuplicate(t *testing.T, s ports.Store) {
	ctx := t.Context()
	is := newIssuer(t, s)
	email := newEmail()
	first := is.credential(email, t0)
	must(t, s.Credentials().Insert(ctx, first))

	for name, c := range map[string]domain.Credential{
		"non-expiring": is.credential(email, t0.Add(time.Minute)),
		// The head is superseded by none: an expired or time-bound one
		// still holds the slot until the issuer supersedes it.
		"time-bound": func() domain.Credential {
			c := is.credential(email, t0.Add(time.Minute))
			c.ExpiresAt = ptr(t0.Add(time.Hour))
			return c
		}(),
	} {
		err := s.Credentials().Insert(ctx, c)
		var dup *domain.DuplicateError
		if !errors.As(err, &dup) || dup.Existing != first.ID || !errors.Is(err, domain.ErrDuplicate) {
			t.Errorf("%s second current credential: got %v, want *domain.DuplicateError naming %s", name, err, first.ID)
		}
		if _, err := s.Credentials().Get(ctx, c.ID); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("%s duplicate was stored (Get: %v)", name, err)
		}
	}

	// Another badge, or another recipient, is no duplicate.
	b2 := newBadge(t, s, is.org.ID)
	must(t, s.Credentials().Insert(ctx, makeCredential(is.org.ID, b2.ID, email, t0)))
	must(t, s.Credentials().Insert(ctx, is.credential(newEmail(), t0)))
}

// Credentials: "Test and live credentials form separate chains". A test
// head beside a live one is no duplicate, each mode finds its own head,
// and a second head of either mode is still refused.
func testCredentialTestChainApart(t *testing.T, s ports.Store) {
	ctx := t.Context()
	is := newIssuer(t, s)
	email, other := newEmail(), newEmail()
	live := is.credential(email, t0)
	must(t, s.Credentials().Insert(ctx, live))
	test := is.credential(email, t0.Add(time.Minute))
	test.Test = true
	must(t, s.Credentials().Insert(ctx, test))
	firstLive := is.credential(other, t0)
	must(t, s.Credentials().Insert(ctx, firstLive))
	firstTest := is.credential(other, t0.Add(time.Minute))
	firstTest.Test = true
	handled, err := s.Credentials().InsertFirst(ctx, ports.FirstIssue{Credential: firstTest, Month: domain.MonthStart(t0), Limit: 10})
	must(t, err)
	if !handled {
		t.Errorf("InsertFirst of a test credential beside a live head declined")
	}

	for _, mode := range []struct {
		test       bool
		want, also domain.Credential
	}{{false, live, firstLive}, {true, test, firstTest}} {
		cur, err := s.Credentials().Current(ctx, is.badge.ID, email, mode.test)
		must(t, err)
		equal(t, cur.ID, mode.want.ID)
		heads, err := s.Credentials().Heads(ctx, is.badge.ID, mode.test, []string{email, other}, false)
		must(t, err)
		equal(t, len(heads), 2)
		equal(t, heads[email].ID, mode.want.ID)
		equal(t, heads[other].ID, mode.also.ID)

		again := is.credential(email, t0.Add(time.Hour))
		again.Test = mode.test
		var dup *domain.DuplicateError
		if err := s.Credentials().Insert(ctx, again); !errors.As(err, &dup) || dup.Existing != mode.want.ID {
			t.Errorf("second head of the test=%v chain: got %v, want a duplicate of %s", mode.test, err, mode.want.ID)
		}
	}
	if _, err := s.Credentials().Current(ctx, is.badge.ID, newEmail(), true); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("Current of a recipient without test credentials: %v, want ErrNotFound", err)
	}
}

// Credentials.Insert: the duplicate answer comes "inside a transaction too
// (the transaction stays usable)".
func testCredentialDuplicateInTx(t *testing.T, s ports.Store) {
	ctx := t.Context()
	is := newIssuer(t, s)
	email := newEmail()
	first := is.credential(email, t0)
	must(t, s.Credentials().Insert(ctx, first))

	later := is.credential(newEmail(), t0)
	err := s.WithinTx(ctx, func(ctx context.Context) error {
		var dup *domain.DuplicateError
		if err := s.Credentials().Insert(ctx, is.credential(email, t0)); !errors.As(err, &dup) || dup.Existing != first.ID {
			t.Errorf("duplicate inside tx: got %v, want *domain.DuplicateError naming %s", err, first.ID)
		}
		if _, err := s.Credentials().Current(ctx, is.badge.ID, email, false); err != nil {
			return err
		}
		return s.Credentials().Insert(ctx, later)
	})
	must(t, err)
	got, err := s.Credentials().Get(ctx, later.ID)
	must(t, err)
	equal(t, got, later)
}

// Credentials: "The database enforces it with a unique partial index, so of
// concurrent issuers exactly one wins." Each issuer reads the current
// credential and inserts in one transaction, as the issuing use case does.
func testCredentialConcurrentIssues(t *testing.T, s ports.Store) {
	ctx := t.Context()
	is := newIssuer(t, s)
	email := newEmail()
	const n = 20
	ids := make([]domain.CredentialID, n)
	errs := race(n, func(i int) error {
		c := is.credential(email, t0)
		ids[i] = c.ID
		return s.WithinTx(ctx, func(ctx context.Context) error {
			var current *domain.Credential
			cur, err := s.Credentials().Current(ctx, is.badge.ID, email, false)
			switch {
			case err == nil:
				current = &cur
			case !errors.Is(err, domain.ErrNotFound):
				return err
			}
			if _, err := domain.PlanIssue(&c, current, t0); err != nil {
				return err
			}
			return s.Credentials().Insert(ctx, c)
		})
	})
	var winner domain.CredentialID
	for i, err := range errs {
		if err == nil {
			if winner != "" {
				t.Fatalf("two issuers won: %s and %s", winner, ids[i])
			}
			winner = ids[i]
		}
	}
	if winner == "" {
		t.Fatalf("no issuer won: %v", errors.Join(errs...))
	}
	for i, err := range errs {
		if ids[i] == winner {
			continue
		}
		var dup *domain.DuplicateError
		if !errors.As(err, &dup) || dup.Existing != winner {
			t.Errorf("issuer %d: got %v, want *domain.DuplicateError naming %s", i, err, winner)
		}
	}
	cur, err := s.Credentials().Current(ctx, is.badge.ID, email, false)
	must(t, err)
	equal(t, cur.ID, winner)
}

// Credentials.Insert: "When c.ID is taken it returns ErrIDTaken."
func testCredentialIDTaken(t *testing.T, s ports.Store) {
	ctx := t.Context()
	is := newIssuer(t, s)
	first := is.credential(newEmail(), t0)
	must(t, s.Credentials().Insert(ctx, first))
	again := is.credential(newEmail(), t0)
	again.ID = first.ID
	wantErr(t, s.Credentials().Insert(ctx, again), ports.ErrIDTaken)
	got, err := s.Credentials().Get(ctx, first.ID)
	must(t, err)
	equal(t, got, first)
}

// Credentials: "At most one credential per badge and recipient is the head
// (superseded by none, revoked or not)"; Current: "the head of the recipient's
// chain of credentials of the badge: the latest issued that no other
// credential supersedes (revoked or not)".
func testCredentialChain(t *testing.T, s ports.Store) {
	ctx := t.Context()
	is := newIssuer(t, s)
	email := newEmail()

	// Revoking keeps the credential the head: a new one must supersede it.
	a := is.credential(email, t0)
	must(t, s.Credentials().Insert(ctx, a))
	a.RevokedAt, a.RevocationReason = ptr(t0.Add(time.Minute)), "mistake"
	must(t, s.Credentials().Update(ctx, a))
	cur, err := s.Credentials().Current(ctx, is.badge.ID, email, false)
	must(t, err)
	equal(t, cur, a) // revoked, but still the head
	var headDup *domain.DuplicateError
	if err := s.Credentials().Insert(ctx, is.credential(email, t0.Add(time.Hour))); !errors.As(err, &headDup) || headDup.Existing != a.ID {
		t.Fatalf("insert beside a revoked head: got %v, want *domain.DuplicateError naming %s", err, a.ID)
	}

	// Issuing again after a revocation links the chain (PlanIssue).
	b := is.credential(email, t0.Add(time.Hour))
	b.ExpiresAt = ptr(t0.Add(2 * time.Hour))
	plan, err := domain.PlanIssue(&b, &cur, t0.Add(time.Hour))
	must(t, err)
	must(t, s.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.Credentials().Update(ctx, *plan.Previous); err != nil {
			return err
		}
		return s.Credentials().Insert(ctx, b)
	}))
	cur, err = s.Credentials().Current(ctx, is.badge.ID, email, false)
	must(t, err)
	equal(t, cur, b)

	// Superseding frees the slot: renewing the expired time-bound b.
	now := t0.Add(3 * time.Hour)
	c := is.credential(email, now)
	plan, err = domain.PlanIssue(&c, &cur, now)
	must(t, err)
	equal(t, plan.State, domain.StateExpired)
	must(t, s.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.Credentials().Update(ctx, *plan.Previous); err != nil {
			return err
		}
		return s.Credentials().Insert(ctx, c)
	}))
	cur, err = s.Credentials().Current(ctx, is.badge.ID, email, false)
	must(t, err)
	equal(t, cur, c)
	got, err := s.Credentials().Get(ctx, b.ID)
	must(t, err)
	equal(t, got, *plan.Previous)

	// And c now holds the slot.
	var dup *domain.DuplicateError
	if err := s.Credentials().Insert(ctx, is.credential(email, now)); !errors.As(err, &dup) || dup.Existing != c.ID {
		t.Fatalf("got %v, want *domain.DuplicateError naming %s", err, c.ID)
	}
}

// Credentials.List: "returns the org's credentials, newest first,
// filtered"; CredentialFilter: "expired means ExpiresAt <= Now".
func testCredentialListFilters(t *testing.T, s ports.Store) {
	ctx := t.Context()
	is := newIssuer(t, s)
	b1, b2 := is.badge, newBadge(t, s, is.org.ID)
	e1, e2, e3 := newEmail(), newEmail(), newEmail()
	now := t0
	insert := func(badgeID, email string, issued time.Duration, edit func(*domain.Credential)) domain.Credential {
		c := makeCredential(is.org.ID, badgeID, email, now.Add(issued))
		if edit != nil {
			edit(&c)
		}
		must(t, s.Credentials().Insert(ctx, c))
		return c
	}
	pending := insert(b1.ID, e1, -5*time.Hour, nil)
	valid := insert(b1.ID, e2, -4*time.Hour, func(c *domain.Credential) {
		c.ClaimedAt, c.ExpiresAt = ptr(now.Add(-3*time.Hour)), ptr(now.Add(time.Microsecond))
	})
	expired := insert(b2.ID, e1, -3*time.Hour, func(c *domain.Credential) { c.ExpiresAt = ptr(now.Add(-time.Hour)) })
	expiredNow := insert(b2.ID, e2, -2*time.Hour, func(c *domain.Credential) {
		c.ClaimedAt, c.ExpiresAt = ptr(now.Add(-time.Hour)), ptr(now) // ExpiresAt == Now: expired
	})
	revoked := insert(b2.ID, e3, -time.Hour, func(c *domain.Credential) {
		c.RevokedAt, c.RevocationReason, c.ExpiresAt = ptr(now.Add(-30*time.Minute)), "r", ptr(now.Add(-10*time.Minute))
	})
	suspended := insert(b1.ID, e3, -30*time.Minute, func(c *domain.Credential) {
		c.SuspendedAt, c.SuspensionReason, c.ClaimedAt = ptr(now.Add(-20*time.Minute)), "s", ptr(now.Add(-25*time.Minute))
	})
	elsewhere := newIssuer(t, s)
	must(t, s.Credentials().Insert(ctx, elsewhere.credential(e1, now)))

	ids := func(cs ...domain.Credential) []domain.CredentialID { return credentialIDs(cs) }
	for _, tc := range []struct {
		name string
		f    ports.CredentialFilter
		want []domain.CredentialID
	}{
		{"all", ports.CredentialFilter{}, ids(suspended, revoked, expiredNow, expired, valid, pending)},
		{"badge", ports.CredentialFilter{BadgeID: b1.ID}, ids(suspended, valid, pending)},
		{"email", ports.CredentialFilter{Email: e1}, ids(expired, pending)},
		{"pending", ports.CredentialFilter{Status: domain.StatusPending}, ids(pending)},
		{"valid", ports.CredentialFilter{Status: domain.StatusValid}, ids(valid)},
		{"expired", ports.CredentialFilter{Status: domain.StatusExpired}, ids(expiredNow, expired)},
		{"revoked", ports.CredentialFilter{Status: domain.StatusRevoked}, ids(revoked)},
		{"suspended", ports.CredentialFilter{Status: domain.StatusSuspended}, ids(suspended)},
		{"badge and status", ports.CredentialFilter{BadgeID: b2.ID, Status: domain.StatusExpired}, ids(expiredNow, expired)},
		{"email and status", ports.CredentialFilter{Email: e2, Status: domain.StatusValid}, ids(valid)},
		{"nothing", ports.CredentialFilter{BadgeID: b1.ID, Status: domain.StatusRevoked}, ids()},
	} {
		f := tc.f
		f.OrgID, f.Now = is.org.ID, now
		got, err := s.Credentials().List(ctx, f)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !slices.Equal(credentialIDs(got), tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, credentialIDs(got), tc.want)
		}
		for _, c := range got {
			if f.Status != "" && c.Status(now) != f.Status {
				t.Errorf("%s: %s has status %s", tc.name, c.ID, c.Status(now))
			}
		}
	}
	got, err := s.Credentials().List(ctx, ports.CredentialFilter{OrgID: is.org.ID, BadgeID: b1.ID, Now: now})
	must(t, err)
	equal(t, got, []domain.Credential{suspended, valid, pending})
}

// sortNewest orders by (IssuedAt, ID) descending, the order the store pages in.
func sortNewest(cs []domain.Credential) {
	slices.SortFunc(cs, func(a, b domain.Credential) int {
		if c := b.IssuedAt.Compare(a.IssuedAt); c != 0 {
			return c
		}
		return strings.Compare(string(b.ID), string(a.ID))
	})
}

// Credentials.List pages with CredentialFilter.After (the last ID of the
// previous page); ties on IssuedAt are broken the same way on every page.
func testCredentialListCursor(t *testing.T, s ports.Store) {
	ctx := t.Context()
	is := newIssuer(t, s)
	var all []domain.Credential
	for i := range 7 {
		c := is.credential(newEmail(), t0.Add(time.Duration(i/2)*time.Minute))
		must(t, s.Credentials().Insert(ctx, c))
		all = append(all, c)
	}
	sortNewest(all)
	for _, limit := range []int{1, 2, 3} {
		var got []domain.Credential
		f := ports.CredentialFilter{OrgID: is.org.ID, Now: t0, Limit: limit}
		for {
			p, err := s.Credentials().List(ctx, f)
			must(t, err)
			if len(p) > limit {
				t.Fatalf("page of %d, limit %d", len(p), limit)
			}
			got = append(got, p...)
			if len(p) < limit {
				break
			}
			f.After = p[len(p)-1].ID
		}
		equal(t, credentialIDs(got), credentialIDs(all))
	}
	got, err := s.Credentials().List(ctx, ports.CredentialFilter{OrgID: is.org.ID, Now: t0})
	must(t, err)
	equal(t, got, all) // Limit 0: a default page
}

// Credentials.ListByEmail: "returns every credential issued to email,
// newest first" across organizations, paged.
func testCredentialListByEmail(t *testing.T, s ports.Store) {
	ctx := t.Context()
	email := newEmail()
	var all []domain.Credential
	for i := range 2 {
		is := newIssuer(t, s)
		for j := range 2 {
			b := is.badge
			if j == 1 {
				b = newBadge(t, s, is.org.ID)
			}
			c := makeCredential(is.org.ID, b.ID, email, t0.Add(time.Duration(i*2+j)*time.Minute))
			if j == 1 {
				c.RevokedAt, c.RevocationReason = ptr(t0.Add(time.Hour)), "r"
			}
			must(t, s.Credentials().Insert(ctx, c))
			all = append(all, c)
		}
		must(t, s.Credentials().Insert(ctx, is.credential(newEmail(), t0)))
	}
	sortNewest(all)
	got, err := s.Credentials().ListByEmail(ctx, email, ports.Page{})
	must(t, err)
	equal(t, got, all)

	var paged []domain.Credential
	page := ports.Page{Limit: 3}
	for {
		p, err := s.Credentials().ListByEmail(ctx, email, page)
		must(t, err)
		paged = append(paged, p...)
		if len(p) < page.Limit {
			break
		}
		page.After = string(p[len(p)-1].ID)
	}
	equal(t, paged, all)
}

// Credentials.LockRecipient: "holds, until the transaction ends, a lock that
// serializes issues of the badge to the email: statements after it see
// every credential committed before it returned".
func testCredentialLockRecipient(t *testing.T, s ports.Store) {
	ctx := t.Context()
	is := newIssuer(t, s)
	email := newEmail()
	c := is.credential(email, time.Now().UTC().Truncate(time.Microsecond))
	locked := make(chan struct{})
	acquired := make(chan domain.Credential, 1)
	second := make(chan error, 1)
	err := s.WithinTx(ctx, func(txCtx context.Context) error {
		if err := s.Credentials().LockRecipient(txCtx, is.badge.ID, email); err != nil {
			return err
		}
		close(locked)
		go func() {
			// A transaction of its own: the test's ctx, not txCtx.
			second <- s.WithinTx(ctx, func(ctx2 context.Context) error {
				if err := s.Credentials().LockRecipient(ctx2, is.badge.ID, email); err != nil {
					return err
				}
				cur, err := s.Credentials().Current(ctx2, is.badge.ID, email, false)
				acquired <- cur
				return err
			})
		}()
		// While this transaction holds the lock, the second one waits.
		select {
		case <-acquired:
			return errors.New("a second issuer took the recipient lock while the first held it")
		case <-time.After(300 * time.Millisecond):
		}
		return s.Credentials().Insert(txCtx, c)
	})
	must(t, err)
	<-locked
	select {
	case cur := <-acquired:
		if cur.ID != c.ID {
			t.Fatalf("after the lock the second issuer saw %q, want the committed %q", cur.ID, c.ID)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the second issuer never got the lock")
	}
	must(t, <-second)
}

// Credentials.IssueContext: "the organization with userID's role in it (""
// for none), the badge (nil when the organization has no badge badgeID) and
// the organization's active signing key (nil when it has none). ErrNotFound
// when there is no organization orgID".
func testCredentialIssueContext(t *testing.T, s ports.Store) {
	ctx := t.Context()
	is := newIssuer(t, s)
	member, stranger := newUser(t, s), newUser(t, s)
	must(t, s.Members().Add(ctx, domain.Membership{OrgID: is.org.ID, UserID: member.ID, Role: domain.RoleAdmin, CreatedAt: t0}))

	got, err := s.Credentials().IssueContext(ctx, is.org.ID, is.badge.ID, member.ID)
	must(t, err)
	equal(t, got.Org, ports.OrgWithRole{Org: is.org, Role: domain.RoleAdmin})
	if got.Badge == nil || got.Key != nil {
		t.Fatalf("before keys: badge %v, key %v; want the badge and no key", got.Badge, got.Key)
	}
	equal(t, *got.Badge, is.badge)

	old := domain.SigningKey{ID: domain.NewID(), OrgID: is.org.ID, Fragment: "key-1", Algorithm: domain.AlgES256,
		Status: domain.KeyActive, PublicJWK: []byte(`{"kty":"EC"}`), PrivateEnc: []byte{1, 2, 3}, CreatedAt: t0}
	must(t, s.SigningKeys().Create(ctx, old))
	must(t, s.SigningKeys().Retire(ctx, old.ID, t0.Add(time.Minute)))
	active := old
	active.ID, active.Fragment, active.PrivateEnc = domain.NewID(), "key-2", []byte{4, 5, 6}
	must(t, s.SigningKeys().Create(ctx, active))

	got, err = s.Credentials().IssueContext(ctx, is.org.ID, is.badge.ID, stranger.ID)
	must(t, err)
	equal(t, got.Org.Role, domain.Role(""))
	if got.Key == nil {
		t.Fatal("IssueContext found no active key")
	}
	equal(t, *got.Key, active)

	other := newIssuer(t, s) // a badge of another organization is no badge here
	got, err = s.Credentials().IssueContext(ctx, is.org.ID, other.badge.ID, member.ID)
	must(t, err)
	if got.Badge != nil {
		t.Fatalf("IssueContext returned another organization's badge %s", got.Badge.ID)
	}
	_, err = s.Credentials().IssueContext(ctx, domain.NewID(), is.badge.ID, member.ID)
	wantErr(t, err, domain.ErrNotFound)
}

// Credentials.InsertFirst: "stores c as the first credential of its chain
// and, unless c.Test, counts its recipient in the month's quota ... as one
// atomic step"; "handled is false, and nothing is written, when the chain
// already has a head or the quota cannot simply be counted".
func testCredentialInsertFirst(t *testing.T, s ports.Store) {
	ctx := t.Context()
	is := newIssuer(t, s)
	month := domain.MonthStart(t0)
	used := func() int {
		n, err := s.Quota().Used(ctx, is.org.ID, month)
		must(t, err)
		return n
	}
	// The first issue of the month may decline (no quota rows yet); the
	// transaction path creates them, as issuing does.
	e1 := newEmail()
	must(t, s.WithinTx(ctx, func(ctx context.Context) error {
		_, err := s.Quota().Consume(ctx, is.org.ID, month, e1, 10)
		return err
	}))

	// Handled: stored and counted, in one step.
	e2 := newEmail()
	c := is.credential(e2, t0)
	var handled bool
	for i := 0; i < 20 && !handled; i++ { // a random shard may be full only at the limit
		var err error
		c = is.credential(e2, t0)
		handled, err = s.Credentials().InsertFirst(ctx, ports.FirstIssue{Credential: c, Month: month, Limit: 10})
		must(t, err)
	}
	if !handled {
		t.Fatal("InsertFirst declined a first credential with quota to spare")
	}
	got, err := s.Credentials().Get(ctx, c.ID)
	must(t, err)
	equal(t, got, c)
	equal(t, used(), 2)
	counted, err := s.Quota().Counted(ctx, is.org.ID, month, e2)
	must(t, err)
	if !counted {
		t.Fatal("InsertFirst did not count the recipient")
	}

	// A second credential of the chain: declined, nothing written.
	dup := is.credential(e2, t0.Add(time.Minute))
	handled, err = s.Credentials().InsertFirst(ctx, ports.FirstIssue{Credential: dup, Month: month, Limit: 10})
	must(t, err)
	if handled {
		t.Fatal("InsertFirst stored a second head of a chain")
	}
	_, err = s.Credentials().Get(ctx, dup.ID)
	wantErr(t, err, domain.ErrNotFound)
	equal(t, used(), 2)

	// An email counted already costs nothing; test credentials never count.
	other := newBadge(t, s, is.org.ID)
	again := makeCredential(is.org.ID, other.ID, e2, t0)
	if handled, err = s.Credentials().InsertFirst(ctx, ports.FirstIssue{Credential: again, Month: month, Limit: 10}); err != nil || !handled {
		t.Fatalf("InsertFirst for a counted email: handled %v, %v", handled, err)
	}
	test := is.credential(newEmail(), t0)
	test.Test = true
	if handled, err = s.Credentials().InsertFirst(ctx, ports.FirstIssue{Credential: test, Month: month, Limit: 10}); err != nil || !handled {
		t.Fatalf("InsertFirst of a test credential: handled %v, %v", handled, err)
	}
	equal(t, used(), 2)

	// At the limit: declined, nothing written.
	full := newIssuer(t, s)
	must(t, s.WithinTx(ctx, func(ctx context.Context) error {
		_, err := s.Quota().Consume(ctx, full.org.ID, month, newEmail(), 1)
		return err
	}))
	over := full.credential(newEmail(), t0)
	handled, err = s.Credentials().InsertFirst(ctx, ports.FirstIssue{Credential: over, Month: month, Limit: 1})
	must(t, err)
	if handled {
		t.Fatal("InsertFirst went past the quota")
	}
	_, err = s.Credentials().Get(ctx, over.ID)
	wantErr(t, err, domain.ErrNotFound)
	n, err := s.Quota().Used(ctx, full.org.ID, month)
	must(t, err)
	equal(t, n, 1)
}

// InsertFirst under concurrency: 40 first credentials to 40 emails with a
// limit of 25 never count more than 25, and every stored credential's
// recipient is counted.
func testCredentialInsertFirstQuotaRace(t *testing.T, s ports.Store) {
	ctx := t.Context()
	is := newIssuer(t, s)
	month := domain.MonthStart(t0)
	const limit = 25
	must(t, s.WithinTx(ctx, func(ctx context.Context) error { // create the month's rows
		_, err := s.Quota().Consume(ctx, is.org.ID, month, newEmail(), limit)
		return err
	}))
	creds := make([]domain.Credential, 40)
	for i := range creds {
		creds[i] = is.credential(newEmail(), t0)
	}
	handled := make([]bool, len(creds))
	errs := race(len(creds), func(i int) error {
		var err error
		handled[i], err = s.Credentials().InsertFirst(ctx, ports.FirstIssue{Credential: creds[i], Month: month, Limit: limit})
		return err
	})
	stored := 0
	for i, err := range errs {
		must(t, err)
		if handled[i] {
			stored++
			counted, err := s.Quota().Counted(ctx, is.org.ID, month, creds[i].RecipientEmail)
			must(t, err)
			if !counted {
				t.Errorf("credential %s stored without counting its recipient", creds[i].ID)
			}
		}
	}
	used, err := s.Quota().Used(ctx, is.org.ID, month)
	must(t, err)
	if used > limit || used != stored+1 {
		t.Fatalf("used %d (limit %d), stored %d: want used = stored + 1 <= limit", used, limit, stored)
	}
}

// Credentials.InsertFirst: "When f.Version is not empty, that step also
// checks that the issue context the issue was decided and signed on is
// still what IssueContext would read (f.Version is its Version): when it
// is not, nothing is written and the error matches ErrContextChanged";
// IssueContext: "a Version of all of it". Each change that may change a
// decision or a signed document — the organization's fields (even with
// its UpdatedAt as it was), the user's role, the badge, the active key —
// makes the version read before stale; an unchanged context keeps its
// version, whatever else is written (issues, the organization's count of
// verifications).
func testCredentialInsertFirstChecksContext(t *testing.T, s ports.Store) {
	ctx := t.Context()
	is := newIssuer(t, s)
	month := domain.MonthStart(t0)
	member := newUser(t, s)
	must(t, s.Members().Add(ctx, domain.Membership{OrgID: is.org.ID, UserID: member.ID, Role: domain.RoleIssuer, CreatedAt: t0}))
	key := domain.SigningKey{ID: domain.NewID(), OrgID: is.org.ID, Fragment: "key-1", Algorithm: domain.AlgES256,
		Status: domain.KeyActive, PublicJWK: []byte(`{"kty":"EC"}`), PrivateEnc: []byte{1, 2, 3}, CreatedAt: t0}
	must(t, s.SigningKeys().Create(ctx, key))
	must(t, s.WithinTx(ctx, func(ctx context.Context) error { // the month's quota rows
		_, err := s.Quota().Consume(ctx, is.org.ID, month, newEmail(), domain.Unlimited)
		return err
	}))
	version := func() string {
		t.Helper()
		ic, err := s.Credentials().IssueContext(ctx, is.org.ID, is.badge.ID, member.ID)
		must(t, err)
		if ic.Version == "" {
			t.Fatal("IssueContext returned no version")
		}
		return ic.Version
	}
	insert := func(version string, test bool) (domain.Credential, bool, error) {
		t.Helper()
		c := is.credential(newEmail(), t0)
		c.Test = test
		f := first(c, month, domain.Unlimited)
		f.Version, f.UserID = version, member.ID
		handled, err := s.Credentials().InsertFirst(ctx, f)
		return c, handled, err
	}
	stale := func(what, old string) {
		t.Helper()
		for _, test := range []bool{false, true} {
			c, handled, err := insert(old, test)
			wantErr(t, err, ports.ErrContextChanged)
			if handled {
				t.Errorf("%s: InsertFirst on a stale context (test %v) handled it", what, test)
			}
			_, err = s.Credentials().Get(ctx, c.ID)
			wantErr(t, err, domain.ErrNotFound)
			wantActivity(t, s, c, nil)
			wantNoMail(t, s, credentialMail(c).ID)
			counted, err := s.Quota().Counted(ctx, is.org.ID, month, c.RecipientEmail)
			must(t, err)
			if counted {
				t.Errorf("%s: a stale InsertFirst counted its recipient", what)
			}
		}
		fresh := version()
		if fresh == old {
			t.Fatalf("%s: the version did not change", what)
		}
		if _, handled, err := insert(fresh, false); err != nil || !handled {
			t.Fatalf("%s: InsertFirst on the context read again: handled %v, %v", what, handled, err)
		}
	}

	v := version()
	equal(t, version(), v)
	for _, test := range []bool{false, true} {
		if _, handled, err := insert(v, test); err != nil || !handled {
			t.Fatalf("InsertFirst on the context as read (test %v): handled %v, %v", test, handled, err)
		}
	}
	equal(t, version(), v) // issuing changes no part of it
	must(t, s.Orgs().AddVerifications(ctx, is.org.ID, 3))
	equal(t, version(), v) // nor does counting a verification of the organization's credentials

	v = version()
	org := is.org
	org.Name += " renamed" // UpdatedAt left as it was
	must(t, s.Orgs().Update(ctx, org))
	stale("organization renamed", v)

	v = version()
	must(t, s.Members().SetRole(ctx, is.org.ID, member.ID, domain.RoleViewer))
	stale("role changed", v)

	v = version()
	badge := is.badge
	badge.Active = false
	must(t, s.Badges().Update(ctx, badge))
	stale("badge deactivated", v)

	v = version()
	must(t, s.SigningKeys().Retire(ctx, key.ID, t0.Add(time.Minute)))
	next := key
	next.ID, next.Fragment = domain.NewID(), "key-2"
	must(t, s.SigningKeys().Create(ctx, next))
	stale("key rotated", v)
}

// Credentials: "Verifiable reads in one query what showing and verifying a
// stored credential needs, as it is at that instant: the credential, the
// organization and the badge it was issued under, and the fragment of the
// organization's active signing key".
func testCredentialVerifiable(t *testing.T, s ports.Store) {
	ctx := t.Context()
	is := newIssuer(t, s)
	c := is.credential(newEmail(), t0)
	c.ExpiresAt = ptr(t0.Add(24 * time.Hour))
	must(t, s.Credentials().Insert(ctx, c))
	read := func() ports.Verifiable {
		t.Helper()
		v, err := s.Credentials().Verifiable(ctx, c.ID)
		must(t, err)
		return v
	}
	equal(t, read(), ports.Verifiable{Credential: c, Org: is.org, Badge: is.badge})

	key := func(fragment string) domain.SigningKey {
		return domain.SigningKey{ID: domain.NewID(), OrgID: is.org.ID, Fragment: fragment, Algorithm: domain.AlgES256,
			Status: domain.KeyActive, PublicJWK: []byte(`{}`), PrivateEnc: []byte{1}, CreatedAt: t0}
	}
	k1 := key("key-1")
	must(t, s.SigningKeys().Create(ctx, k1))
	equal(t, read().ActiveKey, "key-1")
	must(t, s.SigningKeys().Retire(ctx, k1.ID, t0))
	equal(t, read().ActiveKey, "")
	must(t, s.SigningKeys().Create(ctx, key("key-2")))
	equal(t, read().ActiveKey, "key-2")

	// Every change shows at once: it is read, never kept.
	org := is.org
	org.Status, org.StatusReason = domain.OrgSuspended, "abuse"
	must(t, s.Orgs().Update(ctx, org))
	upd := c
	upd.RevokedAt, upd.RevocationReason = ptr(t0.Add(time.Hour)), "issued in error"
	must(t, s.Credentials().Update(ctx, upd))
	badge := is.badge
	badge.Active = false
	must(t, s.Badges().Update(ctx, badge))
	equal(t, read(), ports.Verifiable{Credential: upd, Org: org, Badge: badge, ActiveKey: "key-2"})

	// Every column reads back as written, set or unset, outside a
	// transaction and inside one (where the read cannot join others).
	b2 := makeBadge(is.org.ID)
	b2.ExpiresInDays, b2.Tags, b2.Locked = ptr(30), []string{`a "quoted", tag`, "ünïcode"}, true
	must(t, s.Badges().Create(ctx, b2))
	full := makeCredential(is.org.ID, b2.ID, newEmail(), t0.Add(time.Microsecond))
	full.ExpiresAt, full.ClaimedAt, full.RevokedAt = ptr(t0.Add(48*time.Hour)), ptr(t0.Add(time.Minute)), ptr(t0.Add(time.Hour))
	full.RevocationReason, full.Public, full.Test = "superseded", false, true
	full.SuspendedAt, full.SuspensionReason = ptr(t0.Add(30*time.Minute)), "paused"
	full.SupersedesID, full.SupersededByID = c.ID, domain.NewCredentialID()
	list := newStatusList(t, s, is.org.ID)
	full.Slot = &domain.StatusSlot{List: list.ID, Index: 77}
	must(t, s.Credentials().Insert(ctx, full))
	must(t, s.StatusLists().Changed(ctx, t0, list.ID))
	_, err := s.StatusLists().Publish(ctx, list.ID, 1, domain.StatusList{Revocation: "r", Suspension: "s"}, t0)
	must(t, err)
	want := ports.Verifiable{Credential: full, Org: org, Badge: b2, ActiveKey: "key-2", StatusListVersion: 1}
	got, err := s.Credentials().Verifiable(ctx, full.ID)
	must(t, err)
	equal(t, got, want)
	must(t, s.WithinTx(ctx, func(ctx context.Context) error {
		got, err := s.Credentials().Verifiable(ctx, full.ID)
		must(t, err)
		equal(t, got, want)
		_, err = s.Credentials().Verifiable(ctx, domain.NewCredentialID())
		wantErr(t, err, domain.ErrNotFound)
		// A credential written in the transaction is read there, before
		// it commits: the read goes through the transaction.
		fresh := makeCredential(is.org.ID, b2.ID, newEmail(), t0.Add(2*time.Microsecond))
		must(t, s.Credentials().Insert(ctx, fresh))
		got, err = s.Credentials().Verifiable(ctx, fresh.ID)
		must(t, err)
		equal(t, got, ports.Verifiable{Credential: fresh, Org: org, Badge: b2, ActiveKey: "key-2"})
		return nil
	}))
}
