package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

type proofKeyRow struct {
	bun.BaseModel `bun:"table:proof_keys,alias:pk"`

	ID         string     `bun:"id,pk"`
	OrgID      string     `bun:"org_id"`
	Fragment   string     `bun:"fragment"`
	PublicKey  []byte     `bun:"public_key"`
	PrivateEnc []byte     `bun:"private_enc"`
	Status     string     `bun:"status"`
	CreatedAt  time.Time  `bun:"created_at"`
	RetiredAt  *time.Time `bun:"retired_at"`
}

func (r *proofKeyRow) toDomain() domain.ProofKey {
	return domain.ProofKey{ID: r.ID, OrgID: r.OrgID, Fragment: r.Fragment, Public: r.PublicKey, PrivateEnc: r.PrivateEnc,
		Status: domain.KeyStatus(r.Status), CreatedAt: utc(r.CreatedAt), RetiredAt: utcPtr(r.RetiredAt)}
}

// ProofKeys is the bun ports.ProofKeys.
type ProofKeys struct{ s *Store }

var _ ports.ProofKeys = (*ProofKeys)(nil)

// ProofKeys returns the organizations' Data Integrity keys.
func (s *Store) ProofKeys() ports.ProofKeys { return &ProofKeys{s} }

// Create inserts k; the partial unique index keeps one active key per org.
func (r *ProofKeys) Create(ctx context.Context, k domain.ProofKey) error {
	db := r.s.idb(ctx)
	row := &proofKeyRow{ID: k.ID, OrgID: k.OrgID, Fragment: k.Fragment, PublicKey: k.Public, PrivateEnc: k.PrivateEnc,
		Status: string(k.Status), CreatedAt: k.CreatedAt.UTC(), RetiredAt: utcPtr(k.RetiredAt)}
	var conflicts []conflict
	if k.Status == domain.KeyActive {
		conflicts = append(conflicts, conflict{db.NewSelect().Model((*proofKeyRow)(nil)).
			Where("org_id = ?", k.OrgID).Where("status = ?", string(domain.KeyActive)),
			fmt.Errorf("organization %s has an active proof key: %w", k.OrgID, domain.ErrInvalidState)})
	}
	conflicts = append(conflicts, conflict{db.NewSelect().Model((*proofKeyRow)(nil)).
		Where("org_id = ?", k.OrgID).Where("fragment = ?", k.Fragment), fmt.Errorf("fragment %q in use: %w", k.Fragment, domain.ErrInvalidState)})
	return insertUnique(ctx, db.NewInsert().Model(row), "create proof key "+k.ID, conflicts...)
}

// Active returns the org's active proof key.
func (r *ProofKeys) Active(ctx context.Context, orgID string) (domain.ProofKey, error) {
	var row proofKeyRow
	err := r.s.idb(ctx).NewSelect().Model(&row).Where("org_id = ?", orgID).Where("status = ?", string(domain.KeyActive)).Scan(ctx)
	if err != nil {
		return domain.ProofKey{}, notFound(err, "active proof key of organization "+orgID)
	}
	return row.toDomain(), nil
}

// List returns the org's proof keys, oldest first.
func (r *ProofKeys) List(ctx context.Context, orgID string) ([]domain.ProofKey, error) {
	var rows []proofKeyRow
	if err := r.s.idb(ctx).NewSelect().Model(&rows).Where("org_id = ?", orgID).OrderExpr("pk.created_at ASC, pk.id ASC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list proof keys of organization %s: %w", orgID, err)
	}
	out := make([]domain.ProofKey, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// Retire marks an active proof key retired.
func (r *ProofKeys) Retire(ctx context.Context, id string, at time.Time) error {
	db := r.s.idb(ctx)
	n, err := affected(db.NewUpdate().Model((*proofKeyRow)(nil)).
		Set("status = ?", string(domain.KeyRetired)).Set("retired_at = ?", at.UTC()).
		Where("id = ?", id).Where("status = ?", string(domain.KeyActive)).Exec(ctx))
	if err != nil {
		return fmt.Errorf("retire proof key %s: %w", id, err)
	}
	if n == 1 {
		return nil
	}
	if err := exists(ctx, db, (*proofKeyRow)(nil), "retire proof key "+id, "id = ?", id); err != nil {
		return err
	}
	return fmt.Errorf("retire proof key %s: %w", id, domain.ErrInvalidState)
}
