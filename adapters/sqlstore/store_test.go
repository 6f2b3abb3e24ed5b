package sqlstore_test

import (
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/credence-dev/credence/adapters/sqlstore"
	"github.com/credence-dev/credence/contract-tests/harness"
)

// Replicas starting at once on an empty database all come up, and the
// migrations run once. (The port contract itself is checked by
// contract-tests/store.)
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	for name, fresh := range map[string]func(testing.TB) string{
		"sqlite":   harness.FreshSQLitePath,
		"postgres": harness.FreshPostgresDB,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dsn := fresh(t)
			const replicas = 5
			stores := make([]*sqlstore.Store, replicas)
			errs := make([]error, replicas)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range replicas {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					stores[i], errs[i] = sqlstore.Open(t.Context(), dsn)
				}()
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("replica %d: %v", i, err)
					continue
				}
				t.Cleanup(func() { _ = stores[i].Close() })
			}
			if t.Failed() {
				return
			}
			s := stores[0]
			if s.Dialect() != name {
				t.Errorf("Dialect() = %q, want %q", s.Dialect(), name)
			}
			n, err := s.DB().NewSelect().Table("schema_migrations").Count(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			files, _ := filepath.Glob(filepath.Join("migrations", name, "*.up.sql"))
			if int(n) != len(files) || n < 2 {
				t.Errorf("schema_migrations has %d rows, want one per migration file (%d)", n, len(files))
			}

			// Opening a migrated database again changes nothing.
			again, err := sqlstore.Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = again.Close() })
			if err := again.Ping(t.Context()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A pooled PostgreSQL connection survives being idle for longer than
// pgdriver's read timeout: each statement leaves that deadline on the
// socket, and the idle check before reuse used to find it passed and
// drop the connection, so every lull of more than 10 s cost a new
// backend (and a request's latency) per connection.
func TestPostgresConnectionOutlivesItsReadTimeout(t *testing.T) {
	t.Parallel()
	dsn, err := url.Parse(harness.FreshPostgresDB(t))
	if err != nil {
		t.Fatal(err)
	}
	q := dsn.Query()
	q.Set("read_timeout", "200ms")
	dsn.RawQuery = q.Encode()
	s, err := sqlstore.Open(t.Context(), dsn.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	backend := func() int {
		var pid int
		if err := s.DB().QueryRowContext(t.Context(), "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			t.Fatal(err)
		}
		return pid
	}
	first := backend()
	time.Sleep(400 * time.Millisecond) // twice the read timeout, idle
	if again := backend(); again != first {
		t.Errorf("after an idle spell longer than the read timeout the statement ran on backend %d, not %d: the connection was dropped", again, first)
	}
}

// A replica that starts while another migrates waits for the migration
// lock as long as the migration takes, however short the pool's read
// timeout: migrations run without it (here a lock held three times the
// read timeout; with it, Open failed with an i/o timeout).
func TestPostgresOpenWaitsOutALongMigration(t *testing.T) {
	t.Parallel()
	fresh := harness.FreshPostgresDB(t)
	dsn, err := url.Parse(fresh)
	if err != nil {
		t.Fatal(err)
	}
	q := dsn.Query()
	q.Set("read_timeout", "200ms")
	dsn.RawQuery = q.Encode()

	holder, err := sqlstore.Open(t.Context(), fresh) // migrated; its connection holds the lock below
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = holder.Close() })
	tx, err := holder.DB().BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(t.Context(), "SELECT pg_advisory_xact_lock(7226512118730411)"); err != nil { // migrationLockKey
		t.Fatal(err)
	}
	// Closed just before the lock is let go: Open cannot take the lock
	// sooner (closed after it, Open may return first under load).
	releasing := make(chan struct{})
	go func() {
		time.Sleep(600 * time.Millisecond)
		close(releasing)
		_ = tx.Rollback()
	}()
	s, err := sqlstore.Open(t.Context(), dsn.String())
	if err != nil {
		t.Fatalf("Open while another replica held the migration lock for 600 ms (read timeout 200 ms): %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	select {
	case <-releasing:
	default:
		t.Errorf("Open returned before the migration lock was released")
	}
}
