package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

type quotaUsageRow struct {
	bun.BaseModel `bun:"table:quota_usage,alias:qu"`

	OrgID string `bun:"org_id,pk"`
	Month string `bun:"month,pk"` // domain.MonthKey, e.g. "2026-11"
	Used  int    `bun:"used"`
}

type quotaRecipientRow struct {
	bun.BaseModel `bun:"table:quota_recipients,alias:qr"`

	OrgID string `bun:"org_id,pk"`
	Month string `bun:"month,pk"`
	Email string `bun:"email,pk"`
}

// Quota is the bun ports.Quota.
type Quota struct{ s *Store }

var _ ports.Quota = (*Quota)(nil)

// Consume counts email for org in month unless it was counted already.
//
// The recipient row is inserted with ON CONFLICT DO NOTHING (no row: already
// counted, free). Then one conditional UPDATE takes a slot only while
// used < limit, which the database serializes per (org, month) row, so
// concurrent callers never push used past limit. When no slot is left the
// recipient row is deleted again and a *domain.QuotaError returned: Consume
// writes nothing net at the limit even when the caller's transaction goes on
// and commits. It joins the caller's transaction or runs in its own.
func (r *Quota) Consume(ctx context.Context, orgID string, month time.Time, email string, limit int) (bool, error) {
	key := domain.MonthKey(month)
	var counted bool
	var quotaErr error
	err := r.s.WithinTx(ctx, func(ctx context.Context) error {
		db := r.s.idb(ctx)
		recipient := &quotaRecipientRow{OrgID: orgID, Month: key, Email: email}
		n, err := affected(db.NewInsert().Model(recipient).On("CONFLICT DO NOTHING").Exec(ctx))
		if err != nil {
			return err
		}
		if n == 0 {
			return nil // counted already
		}
		usage := &quotaUsageRow{OrgID: orgID, Month: key}
		if _, err := db.NewInsert().Model(usage).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
			return err
		}
		q := db.NewUpdate().Model((*quotaUsageRow)(nil)).Set("used = used + 1").
			Where("org_id = ?", orgID).Where("month = ?", key)
		if limit != domain.Unlimited {
			q = q.Where("used < ?", limit)
		}
		n, err = affected(q.Exec(ctx))
		if err != nil {
			return err
		}
		if n == 1 {
			counted = true
			return nil
		}
		if _, err := db.NewDelete().Model(recipient).WherePK().Exec(ctx); err != nil {
			return err
		}
		var used int
		if err := db.NewSelect().Model((*quotaUsageRow)(nil)).Column("used").
			Where("org_id = ?", orgID).Where("month = ?", key).Scan(ctx, &used); err != nil {
			return err
		}
		quotaErr = &domain.QuotaError{Used: used, Limit: limit, ResetsAt: domain.NextMonthStart(month)}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("consume quota of organization %s for %s: %w", orgID, key, err)
	}
	if quotaErr != nil {
		return false, fmt.Errorf("consume quota of organization %s for %s: %w", orgID, key, quotaErr)
	}
	return counted, nil
}

// Used returns how many recipients were counted in the month.
func (r *Quota) Used(ctx context.Context, orgID string, month time.Time) (int, error) {
	var used []int
	err := r.s.idb(ctx).NewSelect().Model((*quotaUsageRow)(nil)).Column("used").
		Where("org_id = ?", orgID).Where("month = ?", domain.MonthKey(month)).Scan(ctx, &used)
	if err != nil {
		return 0, fmt.Errorf("quota used by organization %s: %w", orgID, err)
	}
	if len(used) == 0 {
		return 0, nil
	}
	return used[0], nil
}

// Counted reports whether email was counted in the month.
func (r *Quota) Counted(ctx context.Context, orgID string, month time.Time, email string) (bool, error) {
	ok, err := r.s.idb(ctx).NewSelect().Model((*quotaRecipientRow)(nil)).
		Where("org_id = ?", orgID).Where("month = ?", domain.MonthKey(month)).Where("email = ?", email).Exists(ctx)
	if err != nil {
		return false, fmt.Errorf("quota counted for organization %s: %w", orgID, err)
	}
	return ok, nil
}
