package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

type activityRow struct {
	bun.BaseModel `bun:"table:activity,alias:a"`

	ID         string    `bun:"id,pk"`
	OrgID      string    `bun:"org_id"`
	ActorUser  string    `bun:"actor_user"`
	ActorKey   string    `bun:"actor_key"`
	ActorEmail string    `bun:"actor_email"`
	IP         string    `bun:"ip"`
	Action     string    `bun:"action"`
	TargetType string    `bun:"target_type"`
	Target     string    `bun:"target"`
	Detail     string    `bun:"detail"`
	CreatedAt  time.Time `bun:"created_at"`
}

// ActivityLog is the bun ports.ActivityLog.
type ActivityLog struct{ s *Store }

var _ ports.ActivityLog = (*ActivityLog)(nil)

// Activity returns the activity log.
func (s *Store) Activity() ports.ActivityLog { return &ActivityLog{s} }

// Record appends entries.
func (r *ActivityLog) Record(ctx context.Context, entries ...domain.Activity) error {
	if len(entries) == 0 {
		return nil
	}
	rows := make([]activityRow, len(entries))
	for i, a := range entries {
		rows[i] = activityRow{ID: a.ID, OrgID: a.OrgID, ActorUser: a.ActorUser, ActorKey: a.ActorKey, ActorEmail: a.ActorEmail,
			IP: a.IP, Action: string(a.Action), TargetType: a.TargetType, Target: a.Target, Detail: a.Detail, CreatedAt: a.CreatedAt.UTC()}
	}
	if _, err := r.s.idb(ctx).NewInsert().Model(&rows).Exec(ctx); err != nil {
		return fmt.Errorf("record %d activity entries: %w", len(rows), err)
	}
	return nil
}

// List returns entries matching f, newest first.
func (r *ActivityLog) List(ctx context.Context, f ports.ActivityFilter) ([]domain.Activity, error) {
	var rows []activityRow
	q := r.s.idb(ctx).NewSelect().Model(&rows)
	if !f.AllOrgs || f.OrgID != "" {
		q = q.Where("a.org_id = ?", f.OrgID)
	}
	switch {
	case f.Action == "":
	case strings.Contains(f.Action, "."):
		q = q.Where("a.action = ?", f.Action)
	default:
		q = q.Where("a.action LIKE ?", f.Action+".%")
	}
	if f.Actor != "" {
		q = q.Where("(a.actor_user = ? OR a.actor_key = ?)", f.Actor, f.Actor)
	}
	if f.Target != "" {
		q = q.Where("a.target = ?", f.Target)
	}
	if f.Since != nil {
		q = q.Where("a.created_at >= ?", f.Since.UTC())
	}
	if f.Until != nil {
		q = q.Where("a.created_at < ?", f.Until.UTC())
	}
	if f.After != "" {
		q = q.Where("(a.created_at, a.id) < (SELECT p.created_at, p.id FROM activity AS p WHERE p.id = ?)", f.After)
	}
	if f.Limit > 0 {
		q = q.Limit(int64(f.Limit))
	}
	if err := q.OrderExpr("a.created_at DESC, a.id DESC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list activity: %w", err)
	}
	out := make([]domain.Activity, len(rows))
	for i, row := range rows {
		out[i] = domain.Activity{ID: row.ID, OrgID: row.OrgID, ActorUser: row.ActorUser, ActorKey: row.ActorKey, ActorEmail: row.ActorEmail,
			IP: row.IP, Action: domain.Action(row.Action), TargetType: row.TargetType, Target: row.Target, Detail: row.Detail, CreatedAt: utc(row.CreatedAt)}
	}
	return out, nil
}
