package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

type signingKeyRow struct {
	bun.BaseModel `bun:"table:signing_keys,alias:k"`

	ID         string     `bun:"id,pk"`
	OrgID      string     `bun:"org_id"`
	Fragment   string     `bun:"fragment"`
	Algorithm  string     `bun:"algorithm"`
	Status     string     `bun:"status"`
	PublicJWK  []byte     `bun:"public_jwk"`
	PrivateEnc []byte     `bun:"private_enc"`
	CreatedAt  time.Time  `bun:"created_at"`
	RetiredAt  *time.Time `bun:"retired_at"`
}

func toSigningKeyRow(k domain.SigningKey) *signingKeyRow {
	return &signingKeyRow{ID: k.ID, OrgID: k.OrgID, Fragment: k.Fragment, Algorithm: string(k.Algorithm),
		Status: string(k.Status), PublicJWK: k.PublicJWK, PrivateEnc: k.PrivateEnc, CreatedAt: k.CreatedAt,
		RetiredAt: k.RetiredAt}
}

func (r *signingKeyRow) toDomain() domain.SigningKey {
	return domain.SigningKey{ID: r.ID, OrgID: r.OrgID, Fragment: r.Fragment, Algorithm: domain.Algorithm(r.Algorithm),
		Status: domain.KeyStatus(r.Status), PublicJWK: r.PublicJWK, PrivateEnc: r.PrivateEnc,
		CreatedAt: utc(r.CreatedAt), RetiredAt: utcPtr(r.RetiredAt)}
}

// SigningKeys is the bun ports.SigningKeys.
type SigningKeys struct{ s *Store }

var _ ports.SigningKeys = (*SigningKeys)(nil)

// Create inserts k. A second active key for the org returns
// domain.ErrSigningKeysExist; a fragment the org already uses (or a taken
// ID) returns domain.ErrInvalidState.
func (r *SigningKeys) Create(ctx context.Context, k domain.SigningKey) error {
	db := r.s.idb(ctx)
	var conflicts []conflict
	if k.Status == domain.KeyActive {
		conflicts = append(conflicts, conflict{db.NewSelect().Model((*signingKeyRow)(nil)).
			Where("org_id = ?", k.OrgID).Where("status = ?", string(domain.KeyActive)), domain.ErrSigningKeysExist})
	}
	conflicts = append(conflicts, conflict{db.NewSelect().Model((*signingKeyRow)(nil)).
		Where("org_id = ?", k.OrgID).Where("fragment = ?", k.Fragment), fmt.Errorf("fragment %q in use: %w", k.Fragment, domain.ErrInvalidState)})
	return insertUnique(ctx, db.NewInsert().Model(toSigningKeyRow(k)), "create signing key "+k.ID, conflicts...)
}

// Active returns the org's active key, or domain.ErrSigningKeysMissing.
func (r *SigningKeys) Active(ctx context.Context, orgID string) (domain.SigningKey, error) {
	var row signingKeyRow
	err := r.s.idb(ctx).NewSelect().Model(&row).
		Where("org_id = ?", orgID).Where("status = ?", string(domain.KeyActive)).Scan(ctx)
	if err != nil {
		if isNoRows(err) {
			return domain.SigningKey{}, fmt.Errorf("active signing key of organization %s: %w", orgID, domain.ErrSigningKeysMissing)
		}
		return domain.SigningKey{}, fmt.Errorf("active signing key of organization %s: %w", orgID, err)
	}
	return row.toDomain(), nil
}

// List returns every key of the org, oldest first.
func (r *SigningKeys) List(ctx context.Context, orgID string) ([]domain.SigningKey, error) {
	var rows []signingKeyRow
	err := r.s.idb(ctx).NewSelect().Model(&rows).Where("org_id = ?", orgID).
		OrderExpr("k.created_at ASC, k.id ASC").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list signing keys of organization %s: %w", orgID, err)
	}
	out := make([]domain.SigningKey, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// GetByFragment returns the org's key with that fragment.
func (r *SigningKeys) GetByFragment(ctx context.Context, orgID, fragment string) (domain.SigningKey, error) {
	var row signingKeyRow
	err := r.s.idb(ctx).NewSelect().Model(&row).Where("org_id = ?", orgID).Where("fragment = ?", fragment).Scan(ctx)
	if err != nil {
		return domain.SigningKey{}, notFound(err, fmt.Sprintf("signing key %s of organization %s", fragment, orgID))
	}
	return row.toDomain(), nil
}

// Retire marks an active key retired at `at`; a retired key returns
// domain.ErrInvalidState.
func (r *SigningKeys) Retire(ctx context.Context, id string, at time.Time) error {
	db := r.s.idb(ctx)
	n, err := affected(db.NewUpdate().Model((*signingKeyRow)(nil)).
		Set("status = ?", string(domain.KeyRetired)).Set("retired_at = ?", at).
		Where("id = ?", id).Where("status = ?", string(domain.KeyActive)).Exec(ctx))
	if err != nil {
		return fmt.Errorf("retire signing key %s: %w", id, err)
	}
	if n == 1 {
		return nil
	}
	if err := exists(ctx, db, (*signingKeyRow)(nil), "retire signing key "+id, "id = ?", id); err != nil {
		return err
	}
	return fmt.Errorf("retire signing key %s: already retired: %w", id, domain.ErrInvalidState)
}

type apiKeyRow struct {
	bun.BaseModel `bun:"table:api_keys,alias:ak"`

	ID            string     `bun:"id,pk"`
	OrgID         string     `bun:"org_id"`
	Name          string     `bun:"name"`
	Mode          string     `bun:"mode"`
	Prefix        string     `bun:"prefix"`
	Last4         string     `bun:"last4"`
	SecretHash    []byte     `bun:"secret_hash"`
	CreatedBy     string     `bun:"created_by"`
	CreatedAt     time.Time  `bun:"created_at"`
	ExpiresAt     time.Time  `bun:"expires_at"`
	RevokedAt     *time.Time `bun:"revoked_at"`
	RevokedFor    string     `bun:"revoked_for"`
	LastUsedAt    *time.Time `bun:"last_used_at"`
	RateLimit     int        `bun:"rate_limit"`
	RegeneratedAt *time.Time `bun:"regenerated_at"`
}

func toAPIKeyRow(k domain.APIKey) *apiKeyRow {
	return &apiKeyRow{ID: k.ID, OrgID: k.OrgID, Name: k.Name, Mode: string(k.Mode), Prefix: k.Prefix, Last4: k.Last4,
		SecretHash: k.SecretHash, CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt,
		RevokedAt: k.RevokedAt, RevokedFor: string(k.RevokedFor), LastUsedAt: k.LastUsedAt, RateLimit: k.RateLimit,
		RegeneratedAt: k.RegeneratedAt}
}

func (r *apiKeyRow) toDomain() domain.APIKey {
	return domain.APIKey{ID: r.ID, OrgID: r.OrgID, Name: r.Name, Mode: domain.APIKeyMode(r.Mode), Prefix: r.Prefix,
		Last4: r.Last4, SecretHash: r.SecretHash, CreatedBy: r.CreatedBy, CreatedAt: utc(r.CreatedAt),
		ExpiresAt: utc(r.ExpiresAt), RevokedAt: utcPtr(r.RevokedAt), RevokedFor: domain.APIKeyRevocation(r.RevokedFor),
		LastUsedAt: utcPtr(r.LastUsedAt), RateLimit: r.RateLimit, RegeneratedAt: utcPtr(r.RegeneratedAt)}
}

// APIKeys is the bun ports.APIKeys.
type APIKeys struct{ s *Store }

var _ ports.APIKeys = (*APIKeys)(nil)

// Create inserts the key.
func (r *APIKeys) Create(ctx context.Context, k domain.APIKey) error {
	if _, err := r.s.idb(ctx).NewInsert().Model(toAPIKeyRow(k)).Exec(ctx); err != nil {
		return fmt.Errorf("create API key %s: %w", k.ID, err)
	}
	return nil
}

// Get returns the org's key with id.
func (r *APIKeys) Get(ctx context.Context, orgID, id string) (domain.APIKey, error) {
	var row apiKeyRow
	if err := r.s.idb(ctx).NewSelect().Model(&row).Where("org_id = ?", orgID).Where("id = ?", id).Scan(ctx); err != nil {
		return domain.APIKey{}, notFound(err, fmt.Sprintf("get API key %s of organization %s", id, orgID))
	}
	return row.toDomain(), nil
}

// apiKeyByHashQuery reads an API key by the hash of its secret: every
// request made with a key does, so it is a prepared statement.
const apiKeyByHashQuery = `SELECT id, org_id, name, mode, prefix, last4, secret_hash, created_by, created_at, expires_at,
	revoked_at, revoked_for, last_used_at, rate_limit, regenerated_at FROM api_keys WHERE secret_hash = ?`

// GetByHash returns the key whose SecretHash equals hash.
func (r *APIKeys) GetByHash(ctx context.Context, hash []byte) (domain.APIKey, error) {
	var row apiKeyRow
	if err := r.s.scanHot(ctx, apiKeyByHashQuery, &row, hash); err != nil {
		return domain.APIKey{}, notFound(err, "get API key by hash")
	}
	return row.toDomain(), nil
}

// List returns the org's keys, revoked included, newest first.
func (r *APIKeys) List(ctx context.Context, orgID string) ([]domain.APIKey, error) {
	var rows []apiKeyRow
	err := r.s.idb(ctx).NewSelect().Model(&rows).Where("org_id = ?", orgID).
		OrderExpr("ak.created_at DESC, ak.id DESC").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list API keys of organization %s: %w", orgID, err)
	}
	out := make([]domain.APIKey, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// CountActive counts keys neither revoked nor expired at now.
func (r *APIKeys) CountActive(ctx context.Context, orgID string, now time.Time) (int, error) {
	n, err := r.s.idb(ctx).NewSelect().Model((*apiKeyRow)(nil)).
		Where("org_id = ?", orgID).Where("revoked_at IS NULL").Where("expires_at > ?", now).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count active API keys of organization %s: %w", orgID, err)
	}
	return int(n), nil
}

// Revoke sets RevokedAt when it is not set yet.
func (r *APIKeys) Revoke(ctx context.Context, orgID, id string, at time.Time) error {
	db := r.s.idb(ctx)
	n, err := affected(db.NewUpdate().Model((*apiKeyRow)(nil)).Set("revoked_at = ?", at.UTC()).
		Set("revoked_for = ?", string(domain.APIKeyRevokedManually)).
		Where("org_id = ?", orgID).Where("id = ?", id).Where("revoked_at IS NULL").Exec(ctx))
	if err != nil {
		return fmt.Errorf("revoke API key %s: %w", id, err)
	}
	if n == 0 {
		return exists(ctx, db, (*apiKeyRow)(nil), "revoke API key "+id, "org_id = ? AND id = ?", orgID, id)
	}
	return nil
}

// RevokeMany revokes the org's unrevoked keys among ids, for reason.
func (r *APIKeys) RevokeMany(ctx context.Context, orgID string, ids []string, at time.Time, reason domain.APIKeyRevocation) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	n, err := affected(r.s.idb(ctx).NewUpdate().Model((*apiKeyRow)(nil)).
		Set("revoked_at = ?", at.UTC()).Set("revoked_for = ?", string(reason)).
		Where("org_id = ?", orgID).Where("id IN (?)", bun.List(ids)).Where("revoked_at IS NULL").Exec(ctx))
	if err != nil {
		return 0, fmt.Errorf("revoke API keys of organization %s: %w", orgID, err)
	}
	return int(n), nil
}

// Regenerate swaps the key's secret when it is unrevoked and still has
// prevHash: one conditional UPDATE, so concurrent regenerations (and a
// concurrent revoke) serialize on the row and exactly one wins.
func (r *APIKeys) Regenerate(ctx context.Context, k domain.APIKey, prevHash []byte) error {
	db := r.s.idb(ctx)
	n, err := affected(db.NewUpdate().Model((*apiKeyRow)(nil)).
		Set("secret_hash = ?", k.SecretHash).Set("last4 = ?", k.Last4).
		Set("regenerated_at = ?", utcPtr(k.RegeneratedAt)).Set("expires_at = ?", k.ExpiresAt.UTC()).
		Where("org_id = ?", k.OrgID).Where("id = ?", k.ID).Where("revoked_at IS NULL").
		Where("secret_hash = ?", prevHash).Exec(ctx))
	if err != nil {
		return fmt.Errorf("regenerate API key %s: %w", k.ID, err)
	}
	if n == 1 {
		return nil
	}
	if err := exists(ctx, db, (*apiKeyRow)(nil), "regenerate API key "+k.ID, "org_id = ? AND id = ?", k.OrgID, k.ID); err != nil {
		return err
	}
	return fmt.Errorf("regenerate API key %s: revoked or regenerated meanwhile: %w", k.ID, domain.ErrInvalidState)
}

// Touch sets LastUsedAt to at when it is earlier: requests of one key
// finishing out of order never move it back.
func (r *APIKeys) Touch(ctx context.Context, id string, at time.Time) error {
	at = at.UTC()
	db := r.s.idb(ctx)
	n, err := affected(db.NewUpdate().Model((*apiKeyRow)(nil)).Set("last_used_at = ?", at).
		Where("id = ?", id).Where("(last_used_at IS NULL OR last_used_at < ?)", at).Exec(ctx))
	if err != nil {
		return fmt.Errorf("touch API key %s: %w", id, err)
	}
	if n == 0 {
		return exists(ctx, db, (*apiKeyRow)(nil), "touch API key "+id, "id = ?", id)
	}
	return nil
}

// SetRateLimit sets the key's own request rate and returns the key.
func (r *APIKeys) SetRateLimit(ctx context.Context, id string, perMinute int) (domain.APIKey, error) {
	var row apiKeyRow
	err := r.s.idb(ctx).NewUpdate().Model((*apiKeyRow)(nil)).Set("rate_limit = ?", perMinute).Where("id = ?", id).
		Returning("*").Scan(ctx, &row)
	if err != nil {
		return domain.APIKey{}, notFound(err, "set rate limit of API key "+id)
	}
	return row.toDomain(), nil
}
