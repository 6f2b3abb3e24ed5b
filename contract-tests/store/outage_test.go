package store_test

import (
	"context"
	"database/sql"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/credence-dev/credence/contract-tests/harness"
	"github.com/credence-dev/credence/contract-tests/store"
)

// TestPostgresOutage stops and starts a private PostgreSQL server under an
// open store (fast shutdown, as a restart does).
func TestPostgresOutage(t *testing.T) {
	t.Parallel()
	store.RunOutage(t, func(t *testing.T) store.Outage {
		pg := harness.StartPrivatePostgres(t)
		return store.Outage{Store: open(t, pg.URL), ReadsFail: true,
			Break: func(*testing.T) { pg.Stop() }, Mend: func(*testing.T) { pg.Start() }}
	})
}

// TestSQLiteOutage has another connection hold the file's write lock, so
// the store's writes wait out their busy timeout (10 s).
func TestSQLiteOutage(t *testing.T) {
	t.Parallel()
	store.RunOutage(t, func(t *testing.T) store.Outage {
		path := harness.FreshSQLitePath(t)
		s := open(t, path)
		holder, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = holder.Close() })
		var lock *sql.Conn
		return store.Outage{Store: s,
			Break: func(t *testing.T) {
				if lock, err = holder.Conn(context.Background()); err != nil {
					t.Fatal(err)
				}
				if _, err := lock.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
					t.Fatal(err)
				}
			},
			Mend: func(t *testing.T) {
				if _, err := lock.ExecContext(context.Background(), "ROLLBACK"); err != nil {
					t.Fatal(err)
				}
				_ = lock.Close()
			}}
	})
}
