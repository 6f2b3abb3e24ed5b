// Package harness gives contract tests the services they run against: a
// PostgreSQL server (from CREDENCE_TEST_POSTGRES_URL, else a testcontainers
// container when a Docker engine answers, else the test is skipped) with a
// fresh database per test, fresh SQLite file paths, and private
// PostgreSQL servers a test may stop and start (StartPrivatePostgres).
//
// Set CREDENCE_TEST_REQUIRE_SERVICES=1 (CI) to fail instead of skipping
// when a service is missing.
package harness

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
	"github.com/uptrace/bun/driver/pgdriver"
)

// Environment variables the harness reads.
const (
	EnvPostgresURL     = "CREDENCE_TEST_POSTGRES_URL"
	EnvRequireServices = "CREDENCE_TEST_REQUIRE_SERVICES"
)

// unavailable skips t, or fails it when services are required.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(EnvRequireServices) == "1" {
		t.Fatalf("%s (%s=1 requires it)", msg, EnvRequireServices)
	}
	t.Skipf("%s; set %s to run against a server", msg, EnvPostgresURL)
}

// PostgresURL returns the URL of a PostgreSQL server's default database:
// CREDENCE_TEST_POSTGRES_URL when set, else a container started once per
// test process (removed by testcontainers' reaper when the process ends).
// Without either it skips t, or fails it under CREDENCE_TEST_REQUIRE_SERVICES=1.
func PostgresURL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv(EnvPostgresURL); u != "" {
		return u
	}
	u, err := containerURL()
	if err != nil {
		unavailable(t, "no PostgreSQL: %s is unset and no container could be started: %v", EnvPostgresURL, err)
	}
	return u
}

var container struct {
	once sync.Once
	url  string
	err  error
}

// containerURL starts one PostgreSQL container for the process.
func containerURL() (string, error) {
	container.once.Do(func() {
		container.url, container.err = startContainer()
	})
	return container.url, container.err
}

func startContainer() (u string, err error) {
	// testcontainers panics in some setups without Docker (it cannot work
	// out a Docker host); a missing engine must skip, never crash.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("testcontainers panicked: %v", r)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	provider, err := testcontainers.ProviderDefault.GetProvider()
	if err != nil {
		return "", fmt.Errorf("no Docker engine: %w", err)
	}
	defer func() { _ = provider.Close() }()
	if err := provider.Health(ctx); err != nil {
		return "", fmt.Errorf("no Docker engine: %w", err)
	}
	c, err := tcpostgres.Run(ctx, "postgres:15-alpine", tcpostgres.BasicWaitStrategies())
	if err != nil {
		return "", fmt.Errorf("start PostgreSQL container: %w", err)
	}
	return c.ConnectionString(ctx, "sslmode=disable")
}

// FreshPostgresDB creates a new, uniquely named, empty database on the
// PostgreSQL server of PostgresURL, drops it when t ends, and returns its URL.
func FreshPostgresDB(t testing.TB) string {
	t.Helper()
	server := PostgresURL(t)
	su, err := url.Parse(server)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvPostgresURL, err)
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := "credence_test_" + hex.EncodeToString(b[:])

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := adminExec(ctx, server, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := adminExec(ctx, server, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})

	du := *su
	du.Path = "/" + name
	return du.String()
}

// adminExec runs one statement on the server's default database, outside
// any transaction (CREATE DATABASE cannot run inside one).
func adminExec(ctx context.Context, server, stmt string) (err error) {
	defer func() { // pgdriver panics on a malformed DSN
		if r := recover(); r != nil {
			err = fmt.Errorf("connect to %s: %v", EnvPostgresURL, r)
		}
	}()
	// Without pgdriver's 10 s read timeout, within ctx's minute: CREATE
	// and DROP DATABASE wait for a checkpoint, which takes longer than
	// that on a loaded CI machine now and then.
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(server), pgdriver.WithReadTimeout(0)))
	defer func() { _ = db.Close() }()
	_, err = db.ExecContext(ctx, stmt)
	return err
}

// FreshSQLitePath returns the path of a not yet existing SQLite file in a
// directory removed when t ends.
func FreshSQLitePath(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "credence.db")
}
