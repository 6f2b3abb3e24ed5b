package ports

import (
	"context"
	"time"

	"github.com/credence-dev/credence/core/domain"
)

// BulkJobs persists bulk issuance jobs and their rows. A job is processed
// by one owner at a time, who holds it under a lease it renews with every
// chunk of rows it records; a sweep hands a job whose lease ended to a new
// owner. Every write of an owner is fenced by the ownership, so a stalled
// owner that lost the job writes nothing.
type BulkJobs interface {
	// Create inserts the job and all its rows in one go. Rows with an
	// outcome other than pending are stored as processed. The job's lease
	// starts at leaseUntil with no owner: the sweep leaves it alone until
	// then while the submitter hands it to the queue.
	Create(ctx context.Context, j domain.BulkJob, rows []domain.BulkRow, leaseUntil time.Time) error
	// Get returns the organization's job; ErrNotFound for another's.
	Get(ctx context.Context, orgID, id string) (domain.BulkJob, error)
	// List returns the organization's jobs, newest first, after the cursor.
	List(ctx context.Context, orgID string, page Page) ([]domain.BulkJob, error)
	// Rows returns the job's rows in row order after row `after`, at most
	// limit, only those with outcome when it is not "".
	Rows(ctx context.Context, jobID string, after, limit int, outcome domain.RowOutcome) ([]domain.BulkRow, error)
	// Acquire makes owner the job's processor until leaseUntil when the job
	// is not done and nobody holds it (no owner, or a lease that ended
	// before now); a pending job becomes processing. ok is false, and
	// nothing changes, when the job is done or held by another.
	Acquire(ctx context.Context, id, owner string, now, leaseUntil time.Time) (j domain.BulkJob, ok bool, err error)
	// Record stores the outcomes of processed rows, adds them to the job's
	// counts and renews the lease to leaseUntil, provided owner holds the
	// job and every row is still pending; otherwise it returns an error
	// matching ErrLeaseLost and writes nothing.
	Record(ctx context.Context, jobID, owner string, rows []domain.BulkRow, leaseUntil time.Time) error
	// Finish ends the job with status (completed or failed, with errMsg),
	// failing its remaining pending rows with code and reason, provided
	// owner holds it; else ErrLeaseLost. It returns the finished job.
	Finish(ctx context.Context, jobID, owner string, status domain.JobStatus, errMsg, code string, at time.Time) (domain.BulkJob, error)
	// Release gives the job up when owner holds it: no owner, lease ended
	// at now, so the next sweep hands it on.
	Release(ctx context.Context, jobID, owner string, now time.Time) error
	// Stale returns up to limit jobs that are not done and whose lease ended
	// before now, releasing their owner and marking them until leaseUntil
	// so that sweeps running elsewhere leave them alone meanwhile.
	Stale(ctx context.Context, now, leaseUntil time.Time, limit int) ([]string, error)
}

// ErrLeaseLost is returned by BulkJobs writes of an owner who no longer
// holds the job.
var ErrLeaseLost = &domain.Error{Code: "LEASE_LOST", Detail: "the job is held by another worker"}
