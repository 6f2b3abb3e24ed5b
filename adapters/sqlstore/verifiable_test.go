package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/credence-dev/credence/contract-tests/harness"
	"github.com/credence-dev/credence/core/domain"
)

// One batch answers each caller with its own credential: repeated IDs
// each get the row, an ID without one gets sql.ErrNoRows, in any order.
func TestVerifiableBatchAnswersEachID(t *testing.T) {
	for name, fresh := range map[string]func(testing.TB) string{
		"sqlite":   harness.FreshSQLitePath,
		"postgres": harness.FreshPostgresDB,
	} {
		t.Run(name, func(t *testing.T) {
			s, err := Open(t.Context(), fresh(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			ids := verifiableFixture(t, s, 3)
			missing := domain.NewCredentialID()
			ask := []domain.CredentialID{ids[2], missing, ids[0], ids[2], ids[1], `CRD-"},{x`}
			rows, errs, err := s.readVerifiables(t.Context(), ask)
			if err != nil {
				t.Fatal(err)
			}
			for i, id := range ask {
				switch {
				case id == missing || id == `CRD-"},{x`:
					if !errors.Is(errs[i], sql.ErrNoRows) {
						t.Errorf("%d (%s): err %v, want no rows", i, id, errs[i])
					}
				case errs[i] != nil:
					t.Errorf("%d (%s): %v", i, id, errs[i])
				case rows[i].Cred.ID != string(id):
					t.Errorf("%d: asked %s, answered %s", i, id, rows[i].Cred.ID)
				}
			}
		})
	}
}

// A row that cannot be read (a record altered behind the store's back)
// fails its own caller only: the others batched with it are answered.
func TestVerifiableBadRowFailsItsOwnCallerOnly(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, harness.FreshSQLitePath(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ids := verifiableFixture(t, s, 2)
	if _, err := s.db.ExecContext(ctx, "UPDATE credentials SET claimed_at = 'garbage' WHERE id = ?", string(ids[0])); err != nil {
		t.Fatal(err)
	}
	rows, errs, err := s.readVerifiables(ctx, []domain.CredentialID{ids[0], ids[1]})
	if err != nil {
		t.Fatalf("the batch failed: %v", err)
	}
	if errs[0] == nil {
		t.Error("the unreadable row was answered")
	}
	if errs[1] != nil || rows[1].Cred.ID != string(ids[1]) {
		t.Errorf("the good row batched with it: %v", errs[1])
	}
}
