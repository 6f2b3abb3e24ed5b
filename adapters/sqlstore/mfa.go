package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

type mfaChallengeRow struct {
	bun.BaseModel `bun:"table:mfa_challenges,alias:mc"`

	ID        string     `bun:"id,pk"`
	UserID    string     `bun:"user_id"`
	CodeHash  []byte     `bun:"code_hash"`
	CreatedAt time.Time  `bun:"created_at"`
	ExpiresAt time.Time  `bun:"expires_at"`
	Attempts  int        `bun:"attempts"`
	UsedAt    *time.Time `bun:"used_at"`
	Purpose   string     `bun:"purpose"`
	DeviceID  *string    `bun:"device_id"`
}

func (r *mfaChallengeRow) toDomain() domain.MFAChallenge {
	c := domain.MFAChallenge{ID: r.ID, UserID: r.UserID, CodeHash: r.CodeHash, CreatedAt: utc(r.CreatedAt),
		ExpiresAt: utc(r.ExpiresAt), Attempts: r.Attempts, UsedAt: utcPtr(r.UsedAt), Purpose: domain.MFAPurpose(r.Purpose)}
	if r.DeviceID != nil {
		c.DeviceID = *r.DeviceID
	}
	return c
}

// MFAChallenges is the bun ports.MFAChallenges.
type MFAChallenges struct{ s *Store }

var _ ports.MFAChallenges = (*MFAChallenges)(nil)

// Create inserts the challenge.
func (r *MFAChallenges) Create(ctx context.Context, c domain.MFAChallenge) error {
	row := &mfaChallengeRow{ID: c.ID, UserID: c.UserID, CodeHash: c.CodeHash, CreatedAt: c.CreatedAt.UTC(),
		ExpiresAt: c.ExpiresAt.UTC(), Attempts: c.Attempts, UsedAt: utcPtr(c.UsedAt), Purpose: string(c.Purpose)}
	if row.Purpose == "" {
		row.Purpose = string(domain.MFASignIn)
	}
	if c.DeviceID != "" {
		row.DeviceID = &c.DeviceID
	}
	if _, err := r.s.idb(ctx).NewInsert().Model(row).Exec(ctx); err != nil {
		return fmt.Errorf("create MFA challenge: %w", err)
	}
	return nil
}

// Get returns the challenge with id.
func (r *MFAChallenges) Get(ctx context.Context, id string) (domain.MFAChallenge, error) {
	var row mfaChallengeRow
	if err := r.s.idb(ctx).NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		return domain.MFAChallenge{}, notFound(err, "get MFA challenge "+id)
	}
	return row.toDomain(), nil
}

// Fail counts one wrong code in one UPDATE and returns the challenge.
func (r *MFAChallenges) Fail(ctx context.Context, id string) (domain.MFAChallenge, error) {
	var row mfaChallengeRow
	err := r.s.idb(ctx).NewUpdate().Model((*mfaChallengeRow)(nil)).Set("attempts = attempts + 1").Where("id = ?", id).
		Returning("*").Scan(ctx, &row)
	if err != nil {
		return domain.MFAChallenge{}, notFound(err, "count a wrong MFA code")
	}
	return row.toDomain(), nil
}

// Use marks an open challenge used, in one conditional UPDATE.
func (r *MFAChallenges) Use(ctx context.Context, id string, at time.Time) error {
	at = at.UTC()
	n, err := affected(r.s.idb(ctx).NewUpdate().Model((*mfaChallengeRow)(nil)).Set("used_at = ?", at).
		Where("id = ?", id).Where("used_at IS NULL").Where("attempts < ?", domain.MFAMaxAttempts).
		Where("expires_at > ?", at).Exec(ctx))
	if err != nil {
		return fmt.Errorf("use MFA challenge: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("use MFA challenge: %w", domain.ErrMFAInvalid)
	}
	return nil
}
