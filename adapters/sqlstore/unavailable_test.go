package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"
	"modernc.org/sqlite"

	"github.com/credence-dev/credence/contract-tests/harness"
	"github.com/credence-dev/credence/ports"
)

// (contract-tests/store runs the outage itself against both stores: a
// stopped server, a file held by another writer.)

// The errors of a broken or never opened connection are unavailability;
// a caller giving up, and the answers of a working database, are not.
func TestUnreachableErrors(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: &net.AddrError{Err: "connect: connection refused"}}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{refused, true},
		{fmt.Errorf("open: %w", refused), true},
		{&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, true},
		{io.EOF, true},
		{io.ErrUnexpectedEOF, true},
		{driver.ErrBadConn, true},
		{context.Canceled, false},
		{&net.OpError{Op: "dial", Net: "tcp", Err: context.Canceled}, false},
		{sql.ErrNoRows, false},
		{errors.New("pgdriver: unexpected message"), false},
	} {
		if got := unreachable(tc.err); got != tc.want {
			t.Errorf("unreachable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// A PostgreSQL backend terminated under a running statement (what a
// shutdown does to every session) answers 57P01: unavailable, with the
// driver's error kept in the chain.
func TestTerminatedStatementIsUnavailable(t *testing.T) {
	ctx := t.Context()
	pg := harness.StartPrivatePostgres(t)
	s, err := Open(ctx, pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	done := make(chan error, 1)
	go func() {
		_, err := s.DB().ExecContext(ctx, "SELECT pg_sleep(60)")
		done <- err
	}()
	admin := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(pg.URL)))
	t.Cleanup(func() { _ = admin.Close() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		var n int
		if err := admin.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE query = 'SELECT pg_sleep(60)' AND pid <> pg_backend_pid()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the statement never showed in pg_stat_activity")
		}
		time.Sleep(10 * time.Millisecond)
	}
	err = <-done
	var pgErr pgdriver.Error
	if !errors.Is(err, ports.ErrUnavailable) || !errors.As(err, &pgErr) || pgErr.Field('C') != "57P01" {
		t.Fatalf("terminated statement: got %v, want ErrUnavailable over SQLSTATE 57P01", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("the pool still serves: %v", err)
	}
}

// A server out of connection slots for the store (53300) is unavailable.
func TestTooManyConnectionsIsUnavailable(t *testing.T) {
	ctx := t.Context()
	pg := harness.StartPrivatePostgres(t)
	admin := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(pg.URL)))
	t.Cleanup(func() { _ = admin.Close() })
	if _, err := admin.ExecContext(ctx, "CREATE ROLE full_up LOGIN CONNECTION LIMIT 0"); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(pg.URL)
	u.User = url.User("full_up")
	_, err := Open(ctx, u.String())
	var pgErr pgdriver.Error
	if !errors.Is(err, ports.ErrUnavailable) || !errors.As(err, &pgErr) || pgErr.Field('C') != "53300" {
		t.Fatalf("open beyond the connection limit: got %v, want ErrUnavailable over SQLSTATE 53300", err)
	}
}

// SQLite busy beyond its timeout is unavailable; a constraint violation
// stays what it is, and both keep the driver's error for the store's own
// checks.
func TestSQLiteBusyIsUnavailable(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "busy.db")
	connector, err := sqlite.NewConnector(path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(50)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(translating{connector})
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (k TEXT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO t VALUES ('a')"); err != nil {
		t.Fatal(err)
	}
	_, err = db.ExecContext(ctx, "INSERT INTO t VALUES ('a')")
	if !isUniqueViolation(err) || errors.Is(err, ports.ErrUnavailable) {
		t.Errorf("duplicate key: got %v, want a unique violation, not ErrUnavailable", err)
	}

	holder, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = holder.Close() })
	lock, err := holder.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if _, err := lock.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	_, err = db.BeginTx(ctx, nil)
	if !errors.Is(err, ports.ErrUnavailable) || !isBusy(err) {
		t.Errorf("BEGIN while another writer holds the file: got %v, want ErrUnavailable over SQLITE_BUSY", err)
	}
	_, err = db.ExecContext(ctx, "INSERT INTO t VALUES ('b')")
	if !errors.Is(err, ports.ErrUnavailable) || !isBusy(err) {
		t.Errorf("write while another writer holds the file: got %v, want ErrUnavailable over SQLITE_BUSY", err)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 1 {
		t.Errorf("read beside the writer: %d, %v", n, err)
	}
}
