package orgs

import (
	"context"
	"iter"

	"github.com/credence-dev/credence/core/access"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// exportBatch is how many activity entries an export reads at a time.
const exportBatch = 1000

// ExportActivity checks that actor may read the organization's activity
// log and returns every entry matching f, newest first, read in batches as
// the caller ranges over them (f's page is ignored): an export of a
// year holds one batch in memory, not the year.
func (s *Service) ExportActivity(ctx context.Context, actor domain.Actor, orgID string, f ports.ActivityFilter) (iter.Seq2[domain.Activity, error], error) {
	if _, err := s.guard.Org(ctx, actor, orgID, domain.PermActivityRead); err != nil {
		return nil, err
	}
	f.OrgID, f.AllOrgs = orgID, false
	if err := checkActivityFilter(f); err != nil {
		return nil, err
	}
	return s.activityBatches(ctx, f), nil
}

// ExportAllActivity is ExportActivity over the whole platform, sign-ins
// included (platform administrators); f.OrgID narrows it to one
// organization.
func (s *Service) ExportAllActivity(ctx context.Context, actor domain.Actor, f ports.ActivityFilter) (iter.Seq2[domain.Activity, error], error) {
	if err := access.RequireAdmin(actor); err != nil {
		return nil, err
	}
	f.AllOrgs = true
	if err := checkActivityFilter(f); err != nil {
		return nil, err
	}
	return s.activityBatches(ctx, f), nil
}

func (s *Service) activityBatches(ctx context.Context, f ports.ActivityFilter) iter.Seq2[domain.Activity, error] {
	return func(yield func(domain.Activity, error) bool) {
		f.Page = ports.Page{Limit: exportBatch}
		for {
			batch, err := s.store.Activity().List(ctx, f)
			if err != nil {
				yield(domain.Activity{}, err)
				return
			}
			for _, a := range batch {
				if !yield(a, nil) {
					return
				}
			}
			if len(batch) < exportBatch {
				return
			}
			f.After = batch[len(batch)-1].ID
		}
	}
}
