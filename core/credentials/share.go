package credentials

import (
	"context"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// The public pages of issuers and badges, and what a credential's page
// offers for sharing it.

// PublicIssuer returns an issuer by its slug with its active badges, for
// its public page.
func (s *Service) PublicIssuer(ctx context.Context, slug string) (domain.Organization, []domain.Badge, error) {
	if !domain.ValidSlug(slug) {
		return domain.Organization{}, nil, domain.ErrNotFound
	}
	org, err := s.store.Orgs().GetBySlug(ctx, slug)
	if err != nil {
		return domain.Organization{}, nil, err
	}
	badges, err := s.activeBadges(ctx, org.ID)
	if err != nil {
		return domain.Organization{}, nil, err
	}
	return org, badges, nil
}

// PublicBadge returns a badge by its issuer's slug and its own, for its
// public page. A deactivated badge is still found: credentials issued
// from it name it.
func (s *Service) PublicBadge(ctx context.Context, orgSlug, badgeSlug string) (domain.Organization, domain.Badge, error) {
	if !domain.ValidSlug(orgSlug) || !domain.ValidSlug(badgeSlug) {
		return domain.Organization{}, domain.Badge{}, domain.ErrNotFound
	}
	org, err := s.store.Orgs().GetBySlug(ctx, orgSlug)
	if err != nil {
		return domain.Organization{}, domain.Badge{}, err
	}
	b, err := s.store.Badges().GetBySlug(ctx, org.ID, badgeSlug)
	if err != nil {
		return domain.Organization{}, domain.Badge{}, err
	}
	return org, b, nil
}

// activeBadges lists every active badge of an organization, page by page.
func (s *Service) activeBadges(ctx context.Context, orgID string) ([]domain.Badge, error) {
	out := []domain.Badge{}
	after := ""
	for {
		page, err := s.store.Badges().List(ctx, orgID, ports.Page{After: after, Limit: 100})
		if err != nil {
			return nil, err
		}
		for _, b := range page {
			if b.Active {
				out = append(out, b)
			}
		}
		if len(page) < 100 {
			return out, nil
		}
		after = page[len(page)-1].ID
	}
}

// QRCodes reports whether org's plan offers QR codes of its credentials.
func (s *Service) QRCodes(org domain.Organization) bool { return s.plans.Get(org.Plan).QRCodes }

// QRTarget returns what a credential's QR code encodes: its verification
// page's URL and nothing else. Whoever may see the credential may have its
// code, when the issuer's plan offers QR codes (PLAN_REQUIRED otherwise).
func (s *Service) QRTarget(ctx context.Context, actor domain.Actor, id domain.CredentialID) (string, error) {
	v, err := s.View(ctx, actor, id)
	if err != nil {
		return "", err
	}
	if !s.QRCodes(v.Org) {
		return "", domain.Errorf(domain.CodePlanRequired, "QR codes require the Professional plan (the issuer is on %s)", v.Org.Plan)
	}
	return s.urls.Verify(v.Credential.ID), nil
}
