package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

type deviceRow struct {
	bun.BaseModel `bun:"table:devices,alias:d"`

	ID         string     `bun:"id,pk"`
	UserID     string     `bun:"user_id"`
	TokenHash  []byte     `bun:"token_hash"`
	CreatedAt  time.Time  `bun:"created_at"`
	LastUsedAt time.Time  `bun:"last_used_at"`
	ExpiresAt  time.Time  `bun:"expires_at"`
	Failures   int        `bun:"failures"`
	RevokedAt  *time.Time `bun:"revoked_at"`
}

func (r *deviceRow) toDomain() domain.Device {
	return domain.Device{ID: r.ID, UserID: r.UserID, TokenHash: r.TokenHash, CreatedAt: utc(r.CreatedAt),
		LastUsedAt: utc(r.LastUsedAt), ExpiresAt: utc(r.ExpiresAt), Failures: r.Failures, RevokedAt: utcPtr(r.RevokedAt)}
}

// Devices is the bun ports.Devices.
type Devices struct{ s *Store }

var _ ports.Devices = (*Devices)(nil)

// Devices returns the known devices.
func (s *Store) Devices() ports.Devices { return &Devices{s} }

// Create inserts the device.
func (r *Devices) Create(ctx context.Context, d domain.Device) error {
	row := &deviceRow{ID: d.ID, UserID: d.UserID, TokenHash: d.TokenHash, CreatedAt: d.CreatedAt.UTC(),
		LastUsedAt: d.LastUsedAt.UTC(), ExpiresAt: d.ExpiresAt.UTC(), Failures: d.Failures, RevokedAt: utcPtr(d.RevokedAt)}
	if _, err := r.s.idb(ctx).NewInsert().Model(row).Exec(ctx); err != nil {
		return fmt.Errorf("create device %s: %w", d.ID, err)
	}
	return nil
}

// Get returns the device with id.
func (r *Devices) Get(ctx context.Context, id string) (domain.Device, error) {
	var row deviceRow
	if err := r.s.idb(ctx).NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		return domain.Device{}, notFound(err, "get device "+id)
	}
	return row.toDomain(), nil
}

// GetByHash returns the device whose TokenHash equals hash.
func (r *Devices) GetByHash(ctx context.Context, hash []byte) (domain.Device, error) {
	var row deviceRow
	if err := r.s.idb(ctx).NewSelect().Model(&row).Where("token_hash = ?", hash).Scan(ctx); err != nil {
		return domain.Device{}, notFound(err, "get device by hash")
	}
	return row.toDomain(), nil
}

// Rotate swaps the token of a live device still holding prevHash, in one
// conditional UPDATE: of concurrent rotations from one hash only one
// matches it.
func (r *Devices) Rotate(ctx context.Context, id string, prevHash, hash []byte, at time.Time) error {
	at = at.UTC()
	db := r.s.idb(ctx)
	n, err := affected(db.NewUpdate().Model((*deviceRow)(nil)).
		Set("token_hash = ?", hash).Set("last_used_at = ?", at).Set("expires_at = ?", at.Add(domain.DeviceTTL)).Set("failures = 0").
		Where("id = ?", id).Where("token_hash = ?", prevHash).Where("revoked_at IS NULL").Where("expires_at > ?", at).Exec(ctx))
	if err != nil {
		return fmt.Errorf("rotate device %s: %w", id, err)
	}
	if n == 0 {
		if err := exists(ctx, db, (*deviceRow)(nil), "rotate device "+id, "id = ?", id); err != nil {
			return err
		}
		return fmt.Errorf("rotate device %s: revoked, expired or rotated meanwhile: %w", id, domain.ErrInvalidState)
	}
	return nil
}

// Fail counts a failure and, at the limit, revokes the device, in one
// UPDATE: concurrent calls take the row one after the other.
func (r *Devices) Fail(ctx context.Context, id string, at time.Time) (domain.Device, error) {
	var row deviceRow
	err := r.s.idb(ctx).NewUpdate().Model((*deviceRow)(nil)).
		Set("failures = failures + 1").
		Set("revoked_at = CASE WHEN revoked_at IS NULL AND failures + 1 >= ? THEN ? ELSE revoked_at END", domain.DeviceFailureLimit, at.UTC()).
		Where("id = ?", id).Returning("*").Scan(ctx, &row)
	if err != nil {
		return domain.Device{}, notFound(err, "count a failure of device "+id)
	}
	return row.toDomain(), nil
}
