package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

type statusListRow struct {
	bun.BaseModel `bun:"table:status_lists,alias:sl"`

	ID            string     `bun:"id,pk"`
	OrgID         string     `bun:"org_id"`
	Seq           int        `bun:"seq"`
	Size          int        `bun:"size"`
	Allocated     int        `bun:"allocated"`
	Key           []byte     `bun:"key"`
	Version       int64      `bun:"version"`
	Published     int64      `bun:"published"`
	NextAttemptAt *time.Time `bun:"next_attempt_at"`
	RevocationJWS string     `bun:"revocation_jws"`
	SuspensionJWS string     `bun:"suspension_jws"`
	RevProof      string     `bun:"revocation_proof"`
	SusProof      string     `bun:"suspension_proof"`
	PublishedAt   time.Time  `bun:"published_at"`
	CreatedAt     time.Time  `bun:"created_at"`
}

func (r *statusListRow) toDomain() domain.StatusList {
	return domain.StatusList{ID: r.ID, OrgID: r.OrgID, Seq: r.Seq, Size: r.Size, Allocated: r.Allocated, Key: r.Key,
		Version: r.Version, Published: r.Published, Revocation: r.RevocationJWS, Suspension: r.SuspensionJWS,
		RevocationProof: r.RevProof, SuspensionProof: r.SusProof, PublishedAt: utc(r.PublishedAt), CreatedAt: utc(r.CreatedAt)}
}

// StatusLists is the bun ports.StatusLists.
type StatusLists struct{ s *Store }

var _ ports.StatusLists = (*StatusLists)(nil)

// StatusLists returns the organizations' status lists.
func (s *Store) StatusLists() ports.StatusLists { return &StatusLists{s} }

// Create inserts l; the unique (org_id, seq) decides between concurrent
// creators of an organization's next list.
func (r *StatusLists) Create(ctx context.Context, l domain.StatusList) error {
	db := r.s.idb(ctx)
	row := &statusListRow{ID: l.ID, OrgID: l.OrgID, Seq: l.Seq, Size: l.Size, Allocated: l.Allocated, Key: l.Key,
		Version: l.Version, Published: l.Published, RevocationJWS: l.Revocation, SuspensionJWS: l.Suspension,
		RevProof: l.RevocationProof, SusProof: l.SuspensionProof, PublishedAt: l.PublishedAt.UTC(), CreatedAt: l.CreatedAt.UTC()}
	return insertUnique(ctx, db.NewInsert().Model(row), "create status list "+l.ID,
		conflict{db.NewSelect().Model((*statusListRow)(nil)).Where("org_id = ?", l.OrgID).Where("seq = ?", l.Seq),
			fmt.Errorf("status list %d of organization %s exists: %w", l.Seq, l.OrgID, domain.ErrInvalidState)})
}

// Allocate is one UPDATE: the newest list with room takes n places. On
// PostgreSQL a concurrent caller that updated the row first makes this one
// re-check the room on the row it then locks; SQLite serializes writers.
func (r *StatusLists) Allocate(ctx context.Context, orgID string, n int) (domain.StatusList, int, error) {
	var row statusListRow
	err := r.s.idb(ctx).NewRaw(`UPDATE status_lists SET allocated = allocated + ?
		WHERE id = (SELECT id FROM status_lists WHERE org_id = ? AND allocated + ? <= size ORDER BY seq DESC LIMIT 1)
			AND allocated + ? <= size
		RETURNING id, org_id, seq, size, allocated, key, version, published, published_at, created_at`,
		n, orgID, n, n).Scan(ctx, &row)
	if err != nil {
		return domain.StatusList{}, 0, notFound(err, "allocate status list places of organization "+orgID)
	}
	return row.toDomain(), row.Allocated - n, nil
}

// Get returns the list with its documents.
func (r *StatusLists) Get(ctx context.Context, id string) (domain.StatusList, error) {
	var row statusListRow
	if err := r.s.idb(ctx).NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		return domain.StatusList{}, notFound(err, "get status list "+id)
	}
	return row.toDomain(), nil
}

// Last returns the organization's newest list.
func (r *StatusLists) Last(ctx context.Context, orgID string) (domain.StatusList, error) {
	var row statusListRow
	if err := r.s.idb(ctx).NewSelect().Model(&row).Where("org_id = ?", orgID).OrderExpr("seq DESC").Limit(1).Scan(ctx); err != nil {
		return domain.StatusList{}, notFound(err, "last status list of organization "+orgID)
	}
	return row.toDomain(), nil
}

// keepDue sets a changed list's next attempt unless it is due already
// (changed, not yet published), so that a list changed more often than
// the relay grace is still swept when its relays fail. SET expressions
// read the row as it was.
const keepDue = "next_attempt_at = CASE WHEN version > published AND next_attempt_at IS NOT NULL THEN next_attempt_at ELSE ? END"

// Changed bumps the lists' versions and sets their next attempt.
func (r *StatusLists) Changed(ctx context.Context, due time.Time, ids ...string) error {
	ids = slices.Compact(slices.Sorted(slices.Values(ids))) // one bump each, locked in one order
	if len(ids) == 0 {
		return nil
	}
	_, err := r.s.idb(ctx).NewUpdate().Model((*statusListRow)(nil)).
		Set("version = version + 1").Set(keepDue, due.UTC()).
		Where("id IN (?)", bun.List(ids)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("mark %d status lists changed: %w", len(ids), err)
	}
	return nil
}

// ChangedOrg bumps the versions of every list of the organization.
func (r *StatusLists) ChangedOrg(ctx context.Context, orgID string, due time.Time) error {
	_, err := r.s.idb(ctx).NewUpdate().Model((*statusListRow)(nil)).
		Set("version = version + 1").Set(keepDue, due.UTC()).
		Where("org_id = ?", orgID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("mark the status lists of organization %s changed: %w", orgID, err)
	}
	return nil
}

// Entries reads the revoked and the suspended places of the list.
func (r *StatusLists) Entries(ctx context.Context, id string) (revoked, suspended []int, err error) {
	var rows []struct {
		Index     int  `bun:"status_index"`
		Revoked   bool `bun:"revoked"`
		Suspended bool `bun:"suspended"`
	}
	db := r.s.idb(ctx)
	set := func(table string) *bun.SelectQuery {
		return db.NewSelect().TableExpr(table).
			ColumnExpr("status_index, revoked_at IS NOT NULL AS revoked, suspended_at IS NOT NULL AS suspended").
			Where("status_list_id = ?", id).Where("(revoked_at IS NOT NULL OR suspended_at IS NOT NULL)")
	}
	err = set("credentials").UnionAll(set("vc_records")).Scan(ctx, &rows)
	if err != nil {
		return nil, nil, fmt.Errorf("read the entries of status list %s: %w", id, err)
	}
	for _, row := range rows {
		if row.Revoked {
			revoked = append(revoked, row.Index)
		}
		if row.Suspended {
			suspended = append(suspended, row.Index)
		}
	}
	return revoked, suspended, nil
}

// Publish stores the documents of version when no later ones are stored.
func (r *StatusLists) Publish(ctx context.Context, id string, version int64, docs domain.StatusList, at time.Time) (bool, error) {
	n, err := affected(r.s.idb(ctx).NewUpdate().Model((*statusListRow)(nil)).
		Set("published = ?", version).Set("revocation_jws = ?", docs.Revocation).Set("suspension_jws = ?", docs.Suspension).
		Set("revocation_proof = ?", docs.RevocationProof).Set("suspension_proof = ?", docs.SuspensionProof).
		Set("published_at = ?", at.UTC()).
		Where("id = ?", id).Where("published < ?", version).Exec(ctx))
	if err != nil {
		return false, fmt.Errorf("publish status list %s: %w", id, err)
	}
	return n == 1, nil
}

// Due takes lists with unpublished changes whose next attempt is due.
func (r *StatusLists) Due(ctx context.Context, now, next time.Time, limit int) ([]string, error) {
	var ids []string
	err := r.s.WithinTx(ctx, func(ctx context.Context) error {
		ids = ids[:0]
		q := r.s.idb(ctx).NewSelect().Model((*statusListRow)(nil)).Column("id").
			Where("version > published").Where("next_attempt_at <= ?", now.UTC()).OrderExpr("next_attempt_at").Limit(int64(limit))
		if r.s.dialect == DialectPostgres {
			q = q.For("UPDATE SKIP LOCKED")
		}
		if err := q.Scan(ctx, &ids); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		_, err := r.s.idb(ctx).NewUpdate().Model((*statusListRow)(nil)).Set("next_attempt_at = ?", next.UTC()).
			Where("id IN (?)", bun.List(ids)).Exec(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("status lists due for publishing: %w", err)
	}
	return ids, nil
}
