package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// The errors the port names for conflicts come back inside a transaction
// without breaking it (PostgreSQL aborts a transaction on a failed
// statement): after each, the transaction still writes and commits.
func testConflictsKeepTxUsable(t *testing.T, s ports.Store) {
	ctx := t.Context()
	is := newIssuer(t, s)
	u := newUser(t, s)
	must(t, s.Members().Add(ctx, domain.Membership{OrgID: is.org.ID, UserID: u.ID, Role: domain.RoleOwner, CreatedAt: t0}))
	key := domain.SigningKey{ID: domain.NewID(), OrgID: is.org.ID, Fragment: "key-1", Algorithm: domain.AlgES256,
		Status: domain.KeyActive, PublicJWK: []byte(`{}`), PrivateEnc: []byte{1}, CreatedAt: t0}
	must(t, s.SigningKeys().Create(ctx, key))
	cred := is.credential(newEmail(), t0)
	must(t, s.Credentials().Insert(ctx, cred))

	var after domain.User
	err := s.WithinTx(ctx, func(ctx context.Context) error {
		dupUser := domain.User{ID: domain.NewID(), Email: u.Email, Name: "x", PasswordHash: "x", CreatedAt: t0}
		dupOrg := makeOrg()
		dupOrg.Slug = is.org.Slug
		dupBadge := makeBadge(is.org.ID)
		dupBadge.Slug = is.badge.Slug
		key2 := key
		key2.ID, key2.Fragment = domain.NewID(), "key-2"
		idTaken := is.credential(newEmail(), t0)
		idTaken.ID = cred.ID
		for name, c := range map[string]struct {
			err  error
			want error
		}{
			"Users.Create":       {s.Users().Create(ctx, dupUser), ports.ErrEmailTaken},
			"Orgs.Create":        {s.Orgs().Create(ctx, dupOrg), domain.ErrSlugTaken},
			"Badges.Create":      {s.Badges().Create(ctx, dupBadge), domain.ErrSlugTaken},
			"Members.Add":        {s.Members().Add(ctx, domain.Membership{OrgID: is.org.ID, UserID: u.ID, Role: domain.RoleAdmin, CreatedAt: t0}), domain.ErrInvalidState},
			"SigningKeys.Create": {s.SigningKeys().Create(ctx, key2), domain.ErrSigningKeysExist},
			"Credentials.Insert": {s.Credentials().Insert(ctx, is.credential(cred.RecipientEmail, t0)), domain.ErrDuplicate},
			"Credentials.ID":     {s.Credentials().Insert(ctx, idTaken), ports.ErrIDTaken},
		} {
			if !errors.Is(c.err, c.want) {
				t.Errorf("%s inside tx: got %v, want %v", name, c.err, c.want)
			}
		}
		after = domain.User{ID: domain.NewID(), Email: newEmail(), Name: "After", PasswordHash: "x", CreatedAt: t0}
		return s.Users().Create(ctx, after)
	})
	must(t, err)
	got, err := s.Users().Get(ctx, after.ID)
	must(t, err)
	equal(t, got, after)
}

// Transactor: "store calls made with fn's ctx join it"; "When fn returns an
// error, every write made through its ctx is rolled back."
func testRollback(t *testing.T, s ports.Store) {
	ctx := t.Context()
	u := newUser(t, s)
	o := newOrg(t, s)
	b := newBadge(t, s, o.ID)
	month := domain.MonthStart(t0)

	var (
		u2    domain.User
		o2    domain.Organization
		b2    domain.Badge
		c     domain.Credential
		sess  domain.Session
		key   domain.SigningKey
		email = newEmail()
	)
	err := s.WithinTx(ctx, func(txCtx context.Context) error {
		u2 = domain.User{ID: domain.NewID(), Email: newEmail(), Name: "Tx", PasswordHash: "x", CreatedAt: t0}
		must(t, s.Users().Create(txCtx, u2))
		// Reads with the tx's ctx see its writes; reads outside do not.
		if _, err := s.Users().Get(txCtx, u2.ID); err != nil {
			t.Errorf("read inside tx: %v", err)
		}
		if _, err := s.Users().Get(ctx, u2.ID); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("read outside tx sees an uncommitted user: %v", err)
		}
		must(t, s.Users().MarkVerified(txCtx, u.ID, t0))
		sess = domain.Session{ID: domain.NewID(), UserID: u.ID, TokenHash: []byte("h-" + uniq()), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		must(t, s.Sessions().Create(txCtx, sess))
		o2 = makeOrg()
		must(t, s.Orgs().Create(txCtx, o2))
		must(t, s.Orgs().AddVerifications(txCtx, o.ID, 1))
		must(t, s.Members().Add(txCtx, domain.Membership{OrgID: o.ID, UserID: u.ID, Role: domain.RoleOwner, CreatedAt: t0}))
		key = domain.SigningKey{ID: domain.NewID(), OrgID: o.ID, Fragment: "key-1", Algorithm: domain.AlgEdDSA,
			Status: domain.KeyActive, PublicJWK: []byte(`{}`), PrivateEnc: []byte{1}, CreatedAt: t0}
		must(t, s.SigningKeys().Create(txCtx, key))
		b2 = makeBadge(o.ID)
		must(t, s.Badges().Create(txCtx, b2))
		must(t, s.Badges().Lock(txCtx, b.ID, b.UpdatedAt))
		c = makeCredential(o.ID, b.ID, email, t0)
		must(t, s.Credentials().Insert(txCtx, c))
		counted, err := s.Quota().Consume(txCtx, o.ID, month, email, 5)
		must(t, err)
		if !counted {
			t.Error("Consume inside tx did not count")
		}
		return errBoom
	})
	wantErr(t, err, errBoom)

	gone := func(name string, err error) {
		t.Helper()
		if !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("%s after rollback: got %v, want ErrNotFound", name, err)
		}
	}
	_, err = s.Users().Get(ctx, u2.ID)
	gone("user", err)
	_, err = s.Sessions().GetByHash(ctx, sess.TokenHash)
	gone("session", err)
	_, err = s.Orgs().Get(ctx, o2.ID)
	gone("organization", err)
	_, err = s.Members().Get(ctx, o.ID, u.ID)
	gone("membership", err)
	_, err = s.Badges().Get(ctx, o.ID, b2.ID)
	gone("badge", err)
	_, err = s.Credentials().Get(ctx, c.ID)
	gone("credential", err)
	_, err = s.SigningKeys().Active(ctx, o.ID)
	wantErr(t, err, domain.ErrSigningKeysMissing)

	gotU, err := s.Users().Get(ctx, u.ID)
	must(t, err)
	equal(t, gotU, u) // MarkVerified undone
	gotB, err := s.Badges().Get(ctx, o.ID, b.ID)
	must(t, err)
	equal(t, gotB, b) // Lock undone
	n, err := s.Orgs().Verifications(ctx, o.ID)
	must(t, err)
	equal(t, n, int64(0))
	used, err := s.Quota().Used(ctx, o.ID, month)
	must(t, err)
	equal(t, used, 0)
	counted, err := s.Quota().Counted(ctx, o.ID, month, email)
	must(t, err)
	equal(t, counted, false)

	// A quota refusal returned from fn rolls back the writes before it.
	before := makeCredential(o.ID, b.ID, newEmail(), t0)
	err = s.WithinTx(ctx, func(ctx context.Context) error {
		must(t, s.Credentials().Insert(ctx, before))
		_, err := s.Quota().Consume(ctx, o.ID, month, before.RecipientEmail, 0)
		return err
	})
	wantErr(t, err, domain.ErrQuotaExceeded)
	_, err = s.Credentials().Get(ctx, before.ID)
	gone("credential before a quota refusal", err)

	// A panic rolls back too, and is not swallowed.
	p := domain.User{ID: domain.NewID(), Email: newEmail(), Name: "Panic", PasswordHash: "x", CreatedAt: t0}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("WithinTx swallowed a panic")
			}
		}()
		_ = s.WithinTx(ctx, func(ctx context.Context) error {
			must(t, s.Users().Create(ctx, p))
			panic("boom")
		})
	}()
	_, err = s.Users().Get(ctx, p.ID)
	gone("user written before a panic", err)

	// Without an error, everything commits.
	ok := domain.User{ID: domain.NewID(), Email: newEmail(), Name: "Ok", PasswordHash: "x", CreatedAt: t0}
	must(t, s.WithinTx(ctx, func(ctx context.Context) error { return s.Users().Create(ctx, ok) }))
	got, err := s.Users().Get(ctx, ok.ID)
	must(t, err)
	equal(t, got, ok)
}

// Transactor: "A WithinTx inside another joins the outer one": the inner
// writes commit and roll back with the outer transaction.
func testNestedTx(t *testing.T, s ports.Store) {
	ctx := t.Context()
	mk := func() domain.User {
		return domain.User{ID: domain.NewID(), Email: newEmail(), Name: "Nested", PasswordHash: "x", CreatedAt: t0}
	}
	exists := func(u domain.User) bool {
		t.Helper()
		_, err := s.Users().Get(ctx, u.ID)
		if err != nil && !errors.Is(err, domain.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}

	// Inner succeeds, outer fails: both roll back.
	outer, inner := mk(), mk()
	err := s.WithinTx(ctx, func(ctx context.Context) error {
		must(t, s.Users().Create(ctx, outer))
		must(t, s.WithinTx(ctx, func(ctx context.Context) error {
			if _, err := s.Users().Get(ctx, outer.ID); err != nil {
				t.Errorf("inner tx does not see the outer's write: %v", err)
			}
			return s.Users().Create(ctx, inner)
		}))
		if _, err := s.Users().Get(ctx, inner.ID); err != nil {
			t.Errorf("outer tx does not see the inner's write: %v", err)
		}
		return errBoom
	})
	wantErr(t, err, errBoom)
	if exists(outer) || exists(inner) {
		t.Errorf("after the outer rollback: outer exists %v, inner exists %v; want neither", exists(outer), exists(inner))
	}

	// Inner fails and the outer returns its error: both roll back.
	outer, inner = mk(), mk()
	err = s.WithinTx(ctx, func(ctx context.Context) error {
		must(t, s.Users().Create(ctx, outer))
		return s.WithinTx(ctx, func(ctx context.Context) error {
			must(t, s.Users().Create(ctx, inner))
			return errBoom
		})
	})
	wantErr(t, err, errBoom)
	if exists(outer) || exists(inner) {
		t.Errorf("after the inner error: outer exists %v, inner exists %v; want neither", exists(outer), exists(inner))
	}

	// Both succeed: both commit, together.
	outer, inner = mk(), mk()
	must(t, s.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.Users().Create(ctx, outer); err != nil {
			return err
		}
		return s.WithinTx(ctx, func(ctx context.Context) error { return s.Users().Create(ctx, inner) })
	}))
	if !exists(outer) || !exists(inner) {
		t.Errorf("after commit: outer exists %v, inner exists %v; want both", exists(outer), exists(inner))
	}
}
