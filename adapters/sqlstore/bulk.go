package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

type bulkJobRow struct {
	bun.BaseModel `bun:"table:bulk_jobs,alias:j"`

	ID         string     `bun:"id,pk"`
	OrgID      string     `bun:"org_id"`
	BadgeID    string     `bun:"badge_id"`
	FileName   string     `bun:"file_name"`
	Status     string     `bun:"status"`
	Total      int        `bun:"total"`
	Issued     int        `bun:"issued"`
	Skipped    int        `bun:"skipped"`
	Failed     int        `bun:"failed"`
	Test       bool       `bun:"test"`
	CreatedBy  string     `bun:"created_by"`
	APIKeyID   string     `bun:"api_key_id"`
	Error      string     `bun:"error"`
	CreatedAt  time.Time  `bun:"created_at"`
	StartedAt  *time.Time `bun:"started_at"`
	FinishedAt *time.Time `bun:"finished_at"`
	Owner      string     `bun:"owner,nullzero"`
	LeaseUntil time.Time  `bun:"lease_until"`
}

func (r *bulkJobRow) toDomain() domain.BulkJob {
	return domain.BulkJob{ID: r.ID, OrgID: r.OrgID, BadgeID: r.BadgeID, FileName: r.FileName,
		Status: domain.JobStatus(r.Status), Total: r.Total, Issued: r.Issued, Skipped: r.Skipped, Failed: r.Failed,
		Test: r.Test, CreatedBy: r.CreatedBy, APIKeyID: r.APIKeyID, Error: r.Error, CreatedAt: utc(r.CreatedAt),
		StartedAt: utcPtr(r.StartedAt), FinishedAt: utcPtr(r.FinishedAt)}
}

type bulkRowRow struct {
	bun.BaseModel `bun:"table:bulk_rows,alias:r"`

	JobID        string     `bun:"job_id,pk"`
	Row          int        `bun:"row_no,pk"`
	Name         string     `bun:"name"`
	Email        string     `bun:"email"`
	State        string     `bun:"state"`
	Outcome      string     `bun:"outcome"`
	CredentialID string     `bun:"credential_id"`
	Code         string     `bun:"code"`
	Reason       string     `bun:"reason"`
	ProcessedAt  *time.Time `bun:"processed_at"`
}

func (r *bulkRowRow) toDomain() domain.BulkRow {
	return domain.BulkRow{JobID: r.JobID, Row: r.Row, Name: r.Name, Email: r.Email, State: domain.RowState(r.State),
		Outcome: domain.RowOutcome(r.Outcome), CredentialID: domain.CredentialID(r.CredentialID), Code: r.Code,
		Reason: r.Reason, ProcessedAt: utcPtr(r.ProcessedAt)}
}

// BulkJobs is the bun ports.BulkJobs.
type BulkJobs struct{ s *Store }

var _ ports.BulkJobs = (*BulkJobs)(nil)

// Bulk returns the bulk job repository.
func (s *Store) Bulk() ports.BulkJobs { return &BulkJobs{s} }

// rowBatch bounds the rows of one multi-row statement: one statement of
// 100k rows is twice as slow as chunks of a thousand.
const rowBatch = 1000

// Create inserts the job and its rows in one transaction.
func (r *BulkJobs) Create(ctx context.Context, j domain.BulkJob, rows []domain.BulkRow, leaseUntil time.Time) error {
	job := &bulkJobRow{ID: j.ID, OrgID: j.OrgID, BadgeID: j.BadgeID, FileName: j.FileName, Status: string(j.Status),
		Total: j.Total, Issued: j.Issued, Skipped: j.Skipped, Failed: j.Failed, Test: j.Test, CreatedBy: j.CreatedBy,
		APIKeyID: j.APIKeyID, Error: j.Error, CreatedAt: j.CreatedAt, StartedAt: utcPtr(j.StartedAt), FinishedAt: utcPtr(j.FinishedAt),
		LeaseUntil: leaseUntil}
	err := r.s.WithinTx(ctx, func(ctx context.Context) error {
		db := r.s.idb(ctx)
		if _, err := db.NewInsert().Model(job).Exec(ctx); err != nil {
			return err
		}
		if r.s.copyable(ctx, len(rows)) {
			values := make([][]any, len(rows))
			for i, row := range rows {
				values[i] = []any{j.ID, row.Row, row.Name, row.Email, string(row.State), string(row.Outcome),
					string(row.CredentialID), row.Code, row.Reason, row.ProcessedAt}
			}
			_, err := r.s.copyRows(ctx, "bulk_rows", []string{"job_id", "row_no", "name", "email", "state", "outcome",
				"credential_id", "code", "reason", "processed_at"}, values)
			return err
		}
		for start := 0; start < len(rows); start += rowBatch {
			part := rows[start:min(start+rowBatch, len(rows))]
			models := make([]bulkRowRow, len(part))
			for i, row := range part {
				models[i] = bulkRowRow{JobID: j.ID, Row: row.Row, Name: row.Name, Email: row.Email, State: string(row.State),
					Outcome: string(row.Outcome), CredentialID: string(row.CredentialID), Code: row.Code, Reason: row.Reason,
					ProcessedAt: utcPtr(row.ProcessedAt)} // a copy: bun may scan RETURNING values into it
			}
			if _, err := db.NewInsert().Model(&models).Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create bulk job %s: %w", j.ID, err)
	}
	return nil
}

// Get returns the organization's job.
func (r *BulkJobs) Get(ctx context.Context, orgID, id string) (domain.BulkJob, error) {
	var row bulkJobRow
	err := r.s.idb(ctx).NewSelect().Model(&row).Where("id = ?", id).Where("org_id = ?", orgID).Scan(ctx)
	if err != nil {
		return domain.BulkJob{}, notFound(err, "bulk job "+id)
	}
	return row.toDomain(), nil
}

// List returns the organization's jobs, newest first.
func (r *BulkJobs) List(ctx context.Context, orgID string, page ports.Page) ([]domain.BulkJob, error) {
	var rows []bulkJobRow
	q := r.s.idb(ctx).NewSelect().Model(&rows).Where("org_id = ?", orgID)
	if page.After != "" {
		q = q.Where("(created_at, id) < (SELECT created_at, id FROM bulk_jobs WHERE id = ?)", page.After)
	}
	if err := q.OrderExpr("created_at DESC, id DESC").Limit(limit(page.Limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list bulk jobs of organization %s: %w", orgID, err)
	}
	out := make([]domain.BulkJob, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// Rows returns the job's rows in row order. Its limit is the caller's:
// the worker reads chunks larger than a page.
func (r *BulkJobs) Rows(ctx context.Context, jobID string, after, n int, outcome domain.RowOutcome) ([]domain.BulkRow, error) {
	var rows []bulkRowRow
	q := r.s.idb(ctx).NewSelect().Model(&rows).Where("job_id = ?", jobID).Where("row_no > ?", after)
	if outcome != "" {
		q = q.Where("outcome = ?", string(outcome))
	}
	if n <= 0 {
		n = defaultLimit
	}
	if err := q.Order("row_no").Limit(int64(n)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("rows of bulk job %s: %w", jobID, err)
	}
	out := make([]domain.BulkRow, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// Acquire takes the job for owner with a conditional UPDATE: of concurrent
// callers one wins.
func (r *BulkJobs) Acquire(ctx context.Context, id, owner string, now, leaseUntil time.Time) (domain.BulkJob, bool, error) {
	n, err := affected(r.s.idb(ctx).NewUpdate().Model((*bulkJobRow)(nil)).
		Set("owner = ?", owner).Set("lease_until = ?", leaseUntil.UTC()).
		Set("status = ?", string(domain.JobProcessing)).Set("started_at = COALESCE(started_at, ?)", now.UTC()).
		Where("id = ?", id).Where("status IN (?)", bun.List([]string{string(domain.JobPending), string(domain.JobProcessing)})).
		Where("(owner IS NULL OR lease_until < ?)", now.UTC()).Exec(ctx))
	if err != nil {
		return domain.BulkJob{}, false, fmt.Errorf("acquire bulk job %s: %w", id, err)
	}
	if n == 0 {
		return domain.BulkJob{}, false, nil
	}
	var row bulkJobRow
	if err := r.s.idb(ctx).NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		return domain.BulkJob{}, false, notFound(err, "bulk job "+id)
	}
	return row.toDomain(), true, nil
}

// Record stores row outcomes and counts under the owner's fence: the rows'
// UPDATE only takes rows still pending, and the job row's conditional
// UPDATE, last, only a job the owner holds; either refusal undoes all.
func (r *BulkJobs) Record(ctx context.Context, jobID, owner string, rows []domain.BulkRow, leaseUntil time.Time) error {
	var issued, skipped, failed int
	for _, row := range rows {
		switch row.Outcome {
		case domain.OutcomeIssued:
			issued++
		case domain.OutcomeSkipped:
			skipped++
		case domain.OutcomeFailed:
			failed++
		default:
			return fmt.Errorf("record bulk job %s row %d: outcome %q is not final", jobID, row.Row, row.Outcome)
		}
		if row.ProcessedAt == nil || row.JobID != jobID {
			return fmt.Errorf("record bulk job %s row %d: a processed row of the job needs its time", jobID, row.Row)
		}
	}
	// A row processed already shows only once earlier statements wrote:
	// inside a caller's transaction, which goes on after the error, a
	// savepoint takes them back (a transaction of its own rolls back).
	outer := r.s.inTx(ctx)
	err := r.s.WithinTx(ctx, func(ctx context.Context) error {
		db := r.s.idb(ctx)
		write := func() error {
			for start := 0; start < len(rows); start += rowBatch {
				part := rows[start:min(start+rowBatch, len(rows))]
				n, err := affected(db.ExecContext(ctx, r.recordQuery(part)))
				if err != nil {
					return err
				}
				if int(n) != len(part) {
					return ports.ErrLeaseLost // a row was processed already
				}
			}
			// The job's row last: its lock is held only from here to the
			// commit, so chunks of one job commit side by side.
			n, err := affected(db.NewUpdate().Model((*bulkJobRow)(nil)).
				Set("issued = issued + ?", issued).Set("skipped = skipped + ?", skipped).Set("failed = failed + ?", failed).
				Set("lease_until = ?", leaseUntil.UTC()).
				Where("id = ?", jobID).Where("owner = ?", owner).Where("status = ?", string(domain.JobProcessing)).Exec(ctx))
			if err != nil {
				return err
			}
			if n == 0 {
				return ports.ErrLeaseLost
			}
			return nil
		}
		if !outer {
			return write()
		}
		if _, err := db.ExecContext(ctx, "SAVEPOINT bulk_record"); err != nil {
			return err
		}
		if err := write(); err != nil {
			if _, rerr := db.ExecContext(ctx, "ROLLBACK TO SAVEPOINT bulk_record"); rerr != nil {
				return errors.Join(err, rerr)
			}
			return err
		}
		_, err := db.ExecContext(ctx, "RELEASE SAVEPOINT bulk_record")
		return err
	})
	if err != nil {
		return fmt.Errorf("record %d rows of bulk job %s: %w", len(rows), jobID, err)
	}
	return nil
}

// recordQuery sets the outcomes of rows of one job still pending, in one
// UPDATE … FROM a VALUES list statement (both databases have it; SQLite
// names VALUES columns only through a CTE). Every row
// carries its ProcessedAt.
func (r *BulkJobs) recordQuery(rows []domain.BulkRow) string {
	f := r.s.db.QueryGen()
	timeType := "" // SQLite stores times as text
	if r.s.dialect == DialectPostgres {
		timeType = "::timestamptz" // VALUES holds untyped literals
	}
	var b strings.Builder
	b.WriteString("WITH v (job_id, row_no, outcome, credential_id, code, reason, processed_at) AS (VALUES ")
	for i, row := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.FormatQuery("(?, ?, ?, ?, ?, ?, ?)", row.JobID, row.Row, string(row.Outcome),
			string(row.CredentialID), row.Code, row.Reason, utcPtr(row.ProcessedAt)))
	}
	b.WriteString(") UPDATE bulk_rows SET outcome = v.outcome, credential_id = v.credential_id, code = v.code," +
		" reason = v.reason, processed_at = v.processed_at" + timeType + " FROM v" +
		" WHERE bulk_rows.job_id = v.job_id AND bulk_rows.row_no = v.row_no AND bulk_rows.outcome = 'pending'")
	return b.String()
}

// Finish ends the job under the owner's fence, failing its pending rows.
func (r *BulkJobs) Finish(ctx context.Context, jobID, owner string, status domain.JobStatus, errMsg, code string, at time.Time) (domain.BulkJob, error) {
	var out domain.BulkJob
	err := r.s.WithinTx(ctx, func(ctx context.Context) error {
		db := r.s.idb(ctx)
		var job bulkJobRow
		err := r.s.forUpdate(db.NewSelect().Model(&job).Where("id = ?", jobID).Where("owner = ?", owner).
			Where("status = ?", string(domain.JobProcessing))).Scan(ctx)
		if isNoRows(err) {
			return ports.ErrLeaseLost
		}
		if err != nil {
			return err
		}
		failed, err := affected(db.NewUpdate().Model((*bulkRowRow)(nil)).
			Set("outcome = ?", string(domain.OutcomeFailed)).Set("code = ?", code).Set("reason = ?", errMsg).
			Set("processed_at = ?", at.UTC()).
			Where("job_id = ?", jobID).Where("outcome = ?", string(domain.OutcomePending)).Exec(ctx))
		if err != nil {
			return err
		}
		job.Failed += int(failed)
		job.Status, job.Error, job.FinishedAt, job.Owner = string(status), errMsg, &at, ""
		if _, err := db.NewUpdate().Model(&job).Column("failed", "status", "error", "finished_at", "owner").WherePK().Exec(ctx); err != nil {
			return err
		}
		out = job.toDomain()
		return nil
	})
	if err != nil {
		return domain.BulkJob{}, fmt.Errorf("finish bulk job %s: %w", jobID, err)
	}
	return out, nil
}

// Release ends owner's lease now, so that the sweep hands the job on at
// once.
func (r *BulkJobs) Release(ctx context.Context, jobID, owner string, now time.Time) error {
	_, err := r.s.idb(ctx).NewUpdate().Model((*bulkJobRow)(nil)).Set("owner = NULL").Set("lease_until = ?", now.UTC()).
		Where("id = ?", jobID).Where("owner = ?", owner).Exec(ctx)
	if err != nil {
		return fmt.Errorf("release bulk job %s: %w", jobID, err)
	}
	return nil
}

// Stale claims jobs whose lease ended for the caller's relay.
func (r *BulkJobs) Stale(ctx context.Context, now, leaseUntil time.Time, n int) ([]string, error) {
	var ids []string
	err := r.s.WithinTx(ctx, func(ctx context.Context) error {
		db := r.s.idb(ctx)
		q := db.NewSelect().Model((*bulkJobRow)(nil)).Column("id").
			Where("status IN (?)", bun.List([]string{string(domain.JobPending), string(domain.JobProcessing)})).
			Where("lease_until < ?", now.UTC()).Order("lease_until").Limit(int64(n))
		if r.s.dialect == DialectPostgres {
			q = q.For("UPDATE SKIP LOCKED")
		}
		if err := q.Scan(ctx, &ids); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		_, err := db.NewUpdate().Model((*bulkJobRow)(nil)).Set("owner = NULL").Set("lease_until = ?", leaseUntil.UTC()).
			Where("id IN (?)", bun.List(ids)).Exec(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("stale bulk jobs: %w", err)
	}
	return ids, nil
}
