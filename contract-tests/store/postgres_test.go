package store_test

import (
	"testing"

	"github.com/credence-dev/credence/contract-tests/harness"
	"github.com/credence-dev/credence/contract-tests/store"
	"github.com/credence-dev/credence/ports"
)

// TestPostgresStore runs the suite against PostgreSQL, one fresh database
// per case. It skips without a server (see harness.PostgresURL).
func TestPostgresStore(t *testing.T) {
	harness.PostgresURL(t) // skip the whole suite at once when there is no server
	store.Run(t, func(t *testing.T) ports.Store {
		return open(t, harness.FreshPostgresDB(t))
	})
}
