package sqlstore

import (
	"testing"
	"time"

	"github.com/credence-dev/credence/contract-tests/harness"
)

// A database written by the earlier schema keeps its chains when
// 20261130000001 reorders their index: heads are still found and still
// unique.
func TestChainHeadIndexReorderKeepsChains(t *testing.T) {
	eachDialect(t, "20261122000002", func(t *testing.T, dsn string, old *Store) {
		ctx := t.Context()
		issued := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
		insert := `INSERT INTO credentials (id, org_id, badge_id, recipient_name, recipient_email, issued_at,
				public, test, superseded_by_id, key_id, jws, created_by) VALUES (?, 'o1', 'b1', 'Ada', ?, ?, true, false, ?, 'k1', 'x.y.z', 'u1')`
		for _, c := range []struct {
			id, email string
			by        any
		}{{"c1", "ada@example.com", "c2"}, {"c2", "ada@example.com", nil}, {"c3", "bob@example.com", nil}} {
			if _, err := old.db.ExecContext(ctx, insert, c.id, c.email, issued, c.by); err != nil {
				t.Fatal(err)
			}
		}
		_ = old.db.Close()

		s, err := Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		heads, err := s.Credentials().Heads(ctx, "b1", false, []string{"ada@example.com", "bob@example.com", "eve@example.com"}, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(heads) != 2 || heads["ada@example.com"].ID != "c2" || heads["bob@example.com"].ID != "c3" {
			t.Errorf("heads after the migration = %v, want c2 for ada and c3 for bob", heads)
		}
		if _, err := s.db.ExecContext(ctx, insert, "c4", "ada@example.com", issued, nil); err == nil {
			t.Error("a second head of ada's chain was stored after the migration")
		}
	})
}

// 20261130000030 parts test and live chains: a test credential that
// superseded a live one under the earlier schema leaves the live chain
// without a head, and each mode then takes one head of its own.
func TestTestChainsMigration(t *testing.T) {
	eachDialect(t, "20261130000020", func(t *testing.T, dsn string, old *Store) {
		ctx := t.Context()
		issued := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
		insert := `INSERT INTO credentials (id, org_id, badge_id, recipient_name, recipient_email, issued_at,
				public, test, superseded_by_id, key_id, jws, created_by) VALUES (?, 'o1', 'b1', 'Ada', ?, ?, true, ?, ?, 'k1', 'x.y.z', 'u1')`
		for _, c := range []struct {
			id, email string
			test      bool
			by        any
		}{{"c1", "ada@example.com", false, "c2"}, {"c2", "ada@example.com", true, nil}, {"c3", "bob@example.com", false, nil}} {
			if _, err := old.db.ExecContext(ctx, insert, c.id, c.email, issued, c.test, c.by); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := old.db.ExecContext(ctx, insert, "c4", "bob@example.com", issued, true, nil); err == nil {
			t.Fatal("the earlier schema took a test head beside a live one")
		}
		_ = old.db.Close()

		s, err := Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		emails := []string{"ada@example.com", "bob@example.com"}
		live, err := s.Credentials().Heads(ctx, "b1", false, emails, false)
		if err != nil {
			t.Fatal(err)
		}
		test, err := s.Credentials().Heads(ctx, "b1", true, emails, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(live) != 1 || live["bob@example.com"].ID != "c3" || len(test) != 1 || test["ada@example.com"].ID != "c2" {
			t.Errorf("heads after the migration: live %v test %v, want c3 for bob, c2 (test) for ada", live, test)
		}
		for _, c := range []struct {
			id, email string
			test, ok  bool
		}{{"c5", "ada@example.com", false, true}, {"c6", "bob@example.com", true, true}, {"c7", "bob@example.com", false, false}} {
			_, err := s.db.ExecContext(ctx, insert, c.id, c.email, issued, c.test, nil)
			if (err == nil) != c.ok {
				t.Errorf("head %s of %s test=%v: err %v, want stored %v", c.id, c.email, c.test, err, c.ok)
			}
		}
	})
}

// eachDialect runs test on a fresh database of each dialect, with the
// schema migrated up to version and a connection that bypasses Open.
func eachDialect(t *testing.T, version string, test func(t *testing.T, dsn string, old *Store)) {
	for name, fresh := range map[string]func(testing.TB) string{
		"sqlite":   harness.FreshSQLitePath,
		"postgres": harness.FreshPostgresDB,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dsn := fresh(t)
			old, err := connect(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			if err := migrateTo(t.Context(), old.db, old.dialect, version); err != nil {
				t.Fatal(err)
			}
			test(t, dsn, old)
		})
	}
}

// 20261202000010 deletes the Idempotency-Key responses stored in the
// clear by earlier versions (sign-in answers held session tokens).
func TestIdempotencySealedMigration(t *testing.T) {
	eachDialect(t, "20261130000040", func(t *testing.T, dsn string, old *Store) {
		ctx := t.Context()
		at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		if _, err := old.db.ExecContext(ctx, `INSERT INTO idempotency_keys (scope, idem_key, token, request_hash, created_at,
				lease_until, expires_at, status, header, body) VALUES ('anon', 'k', 't', ?, ?, ?, ?, 200, '{}', ?)`,
			[]byte("h"), at, at.Add(time.Minute), at.Add(24*time.Hour), []byte(`{"token":"crs_plain"}`)); err != nil {
			t.Fatal(err)
		}
		_ = old.db.Close()
		s, err := Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		var n int
		if err := s.db.NewSelect().TableExpr("idempotency_keys").ColumnExpr("count(*)").Scan(ctx, &n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d plaintext idempotency records left after the migration, want 0", n)
		}
	})
}
