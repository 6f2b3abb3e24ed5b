// Package badges holds the badge template use cases: create (within the
// plan's cap), read, edit (signed fields freeze after the first issue) and
// delete (a used badge is deactivated instead).
package badges

import (
	"context"
	"errors"
	"time"

	"github.com/credence-dev/credence/core/access"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// Service runs the badge use cases.
type Service struct {
	store Store
	clock ports.Clock
	plans domain.Plans
	guard access.Guard
}

// New returns a badge service.
func New(store Store, clock ports.Clock, plans domain.Plans) *Service {
	return &Service{store: store, clock: clock, plans: plans, guard: access.Guard{Store: store, Plans: plans}}
}

func (s *Service) now() time.Time { return domain.Truncate(s.clock.Now()) }

// record logs actor's action on a badge of orgID (joining ctx's
// transaction).
func (s *Service) record(ctx context.Context, actor domain.Actor, orgID string, action domain.Action, badgeID, detail string) error {
	return s.store.Activity().Record(ctx, domain.NewActivity(actor, orgID, action, "badge", badgeID, detail, s.now()))
}

// Create adds a badge within the plan's cap on templates.
func (s *Service) Create(ctx context.Context, actor domain.Actor, orgID string, in domain.BadgeInput) (domain.Badge, error) {
	b, err := domain.NewBadge(orgID, in, s.now())
	if err != nil {
		return domain.Badge{}, err
	}
	err = s.store.WithinTx(ctx, func(ctx context.Context) error {
		org, err := s.guard.Org(ctx, actor, orgID, domain.PermBadgeCreate)
		if err != nil {
			return err
		}
		n, err := s.store.Badges().Count(ctx, orgID)
		if err != nil {
			return err
		}
		if err := s.plans.Get(org.Plan).CheckCap(org.Plan, domain.CapBadgeTemplates, n); err != nil {
			return err
		}
		if err := s.store.Badges().Create(ctx, b); err != nil {
			return err
		}
		return s.record(ctx, actor, orgID, domain.ActBadgeCreated, b.ID, b.Name)
	})
	return b, err
}

// Get returns one badge of the organization.
func (s *Service) Get(ctx context.Context, actor domain.Actor, orgID, badgeID string) (domain.Badge, error) {
	if _, err := s.guard.Org(ctx, actor, orgID, domain.PermBadgeRead); err != nil {
		return domain.Badge{}, err
	}
	return s.get(ctx, orgID, badgeID)
}

func (s *Service) get(ctx context.Context, orgID, badgeID string) (domain.Badge, error) {
	if !domain.IsID(badgeID) {
		return domain.Badge{}, domain.Errorf(domain.CodeNotFound, "no badge %q", badgeID)
	}
	return s.store.Badges().Get(ctx, orgID, badgeID)
}

// List pages through the organization's badges.
func (s *Service) List(ctx context.Context, actor domain.Actor, orgID string, page ports.Page) ([]domain.Badge, error) {
	if _, err := s.guard.Org(ctx, actor, orgID, domain.PermBadgeRead); err != nil {
		return nil, err
	}
	if err := domain.CheckCursor(page.After); err != nil {
		return nil, err
	}
	return s.store.Badges().List(ctx, orgID, page)
}

// Update edits a badge; a used badge refuses changes to its signed fields
// with BADGE_LOCKED.
func (s *Service) Update(ctx context.Context, actor domain.Actor, orgID, badgeID string, in domain.BadgeInput) (domain.Badge, error) {
	var out domain.Badge
	err := s.store.WithinTx(ctx, func(ctx context.Context) error {
		if _, err := s.guard.Org(ctx, actor, orgID, domain.PermBadgeEdit); err != nil {
			return err
		}
		b, err := s.get(ctx, orgID, badgeID)
		if err != nil {
			return err
		}
		if err := b.Update(in, s.now()); err != nil {
			return err
		}
		out = b
		if err := s.store.Badges().Update(ctx, b); err != nil {
			return err
		}
		return s.record(ctx, actor, orgID, domain.ActBadgeUpdated, b.ID, b.Name)
	})
	return out, err
}

// Delete removes an unused badge; a used one is deactivated (its
// credentials stay valid, new issues get BADGE_INACTIVE). It reports
// whether the badge was deleted (true) or deactivated (false).
func (s *Service) Delete(ctx context.Context, actor domain.Actor, orgID, badgeID string) (deleted bool, err error) {
	err = s.store.WithinTx(ctx, func(ctx context.Context) error {
		if _, err := s.guard.Org(ctx, actor, orgID, domain.PermBadgeEdit); err != nil {
			return err
		}
		b, err := s.get(ctx, orgID, badgeID)
		if err != nil {
			return err
		}
		err = s.store.Badges().Delete(ctx, orgID, badgeID)
		switch {
		case err == nil:
			deleted = true
			return s.record(ctx, actor, orgID, domain.ActBadgeDeleted, b.ID, b.Name)
		case !errors.Is(err, domain.ErrBadgeLocked):
			return err
		}
		b.Active, b.UpdatedAt = false, s.now()
		if err := s.store.Badges().Update(ctx, b); err != nil {
			return err
		}
		return s.record(ctx, actor, orgID, domain.ActBadgeUpdated, b.ID, b.Name+": deactivated (it has issued credentials)")
	})
	return deleted, err
}
