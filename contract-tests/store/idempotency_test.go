package store_test

import (
	"testing"

	"github.com/credence-dev/credence/contract-tests/harness"
	"github.com/credence-dev/credence/contract-tests/store"
	"github.com/credence-dev/credence/ports"
)

func TestIdempotencySQLite(t *testing.T) {
	store.RunIdempotency(t, func(t *testing.T) (ports.Idempotency, ports.Transactor) {
		s := open(t, harness.FreshSQLitePath(t))
		return s.Idempotency(), s
	})
}

// TestIdempotencyPostgres skips without a server (see harness.PostgresURL).
func TestIdempotencyPostgres(t *testing.T) {
	harness.PostgresURL(t)
	store.RunIdempotency(t, func(t *testing.T) (ports.Idempotency, ports.Transactor) {
		s := open(t, harness.FreshPostgresDB(t))
		return s.Idempotency(), s
	})
}
