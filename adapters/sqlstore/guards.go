package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

type loginGuardRow struct {
	bun.BaseModel `bun:"table:login_guards,alias:lg"`

	Email       string     `bun:"email,pk"`
	Failures    int        `bun:"failures"`
	WindowStart time.Time  `bun:"window_start"`
	LockedUntil *time.Time `bun:"locked_until"`
	Lockouts    int        `bun:"lockouts"`
}

func (r *loginGuardRow) toDomain() domain.LoginGuard {
	return domain.LoginGuard{Email: r.Email, Failures: r.Failures, WindowStart: utc(r.WindowStart),
		LockedUntil: utcPtr(r.LockedUntil), Lockouts: r.Lockouts}
}

// LoginGuards is the bun ports.LoginGuards.
type LoginGuards struct{ s *Store }

var _ ports.LoginGuards = (*LoginGuards)(nil)

// Get returns the email's record, or the zero record.
func (r *LoginGuards) Get(ctx context.Context, email string) (domain.LoginGuard, error) {
	var row loginGuardRow
	err := r.s.idb(ctx).NewSelect().Model(&row).Where("email = ?", email).Scan(ctx)
	if isNoRows(err) {
		return domain.LoginGuard{Email: email}, nil
	}
	if err != nil {
		return domain.LoginGuard{}, fmt.Errorf("get login guard: %w", err)
	}
	return row.toDomain(), nil
}

// Update applies fn to the email's record under a row lock (PostgreSQL)
// or the write lock of an immediate transaction (SQLite).
func (r *LoginGuards) Update(ctx context.Context, email string, fn func(domain.LoginGuard) domain.LoginGuard) (domain.LoginGuard, error) {
	var out domain.LoginGuard
	err := r.s.WithinTx(ctx, func(ctx context.Context) error {
		db := r.s.idb(ctx)
		// The row first, so that there is one to lock.
		if _, err := db.NewInsert().Model(&loginGuardRow{Email: email, WindowStart: time.Unix(0, 0).UTC()}).
			On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
			return err
		}
		var row loginGuardRow
		if err := r.s.forUpdate(db.NewSelect().Model(&row).Where("email = ?", email)).Scan(ctx); err != nil {
			return err
		}
		out = fn(row.toDomain())
		out.Email = email
		if out.Clean() {
			_, err := db.NewDelete().Model((*loginGuardRow)(nil)).Where("email = ?", email).Exec(ctx)
			return err
		}
		_, err := db.NewUpdate().Model(&loginGuardRow{Email: email, Failures: out.Failures, WindowStart: out.WindowStart.UTC(),
			LockedUntil: utcPtr(out.LockedUntil), Lockouts: out.Lockouts}).WherePK().Exec(ctx)
		return err
	})
	if err != nil {
		return domain.LoginGuard{}, fmt.Errorf("update login guard: %w", err)
	}
	return out, nil
}
