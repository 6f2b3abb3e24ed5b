package store_test

import (
	"testing"

	"github.com/credence-dev/credence/adapters/sqlstore"
	"github.com/credence-dev/credence/contract-tests/harness"
	"github.com/credence-dev/credence/contract-tests/store"
	"github.com/credence-dev/credence/ports"
)

func TestSQLiteStore(t *testing.T) {
	store.Run(t, func(t *testing.T) ports.Store {
		return open(t, harness.FreshSQLitePath(t))
	})
}

// open opens a store on dsn and closes it when t ends.
func open(t *testing.T, dsn string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return s
}
