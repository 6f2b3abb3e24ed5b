package ports

import (
	"context"
	"time"

	"github.com/credence-dev/credence/core/domain"
)

// ActivityFilter selects activity log entries, newest first.
type ActivityFilter struct {
	OrgID   string // one organization's entries; "" with AllOrgs for every entry
	AllOrgs bool
	Action  string // an action ("credential.issued") or a thing ("credential")
	Actor   string // a user or API key ID
	Target  string // the ID acted on
	Since   *time.Time
	Until   *time.Time // exclusive
	Page
}

// ActivityLog persists the activity log.
type ActivityLog interface {
	// Record appends entries (joining the caller's transaction).
	Record(ctx context.Context, entries ...domain.Activity) error
	// List returns entries matching f, newest first, after f.After (an
	// entry ID), at most f.Limit.
	List(ctx context.Context, f ActivityFilter) ([]domain.Activity, error)
}
