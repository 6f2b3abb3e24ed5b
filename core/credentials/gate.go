package credentials

import (
	"context"
	"fmt"

	"github.com/credence-dev/credence/core/access"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
)

// Gate is what issuing a badge takes, read and checked by Service.Gate:
// the organization, the badge and the signer of the organization's
// active key.
type Gate struct {
	Org    domain.Organization
	Badge  domain.Badge
	Signer *signing.Signer
}

// Gate decides whether actor may issue badgeID of orgID now, from one read
// of the store, and returns what the issue needs. Single, batch and bulk
// issuance all pass through it. Its refusals, in this order:
//
//   - the actor's permission to issue there (UNAUTHENTICATED; NOT_FOUND
//     for an organization the actor has no relation to; MFA_REQUIRED;
//     FORBIDDEN; PLAN_REQUIRED for API access);
//   - when require is not nil: NOT_FOUND for a badge the organization does
//     not have, then require's own refusal (a condition of the operation,
//     e.g. bulk issuance's plan);
//   - ORG_NOT_APPROVED (pending, rejected or suspended);
//   - NOT_FOUND for a badge the organization does not have; BADGE_INACTIVE;
//   - SIGNING_KEYS_MISSING.
//
// Nothing it reads is cached (only the decrypted signer of a key, by key
// ID): a suspended organization, a deactivated badge or a rotated key holds
// from the next call on.
func (s *Service) Gate(ctx context.Context, actor domain.Actor, orgID, badgeID string, require func(domain.Organization) error) (Gate, error) {
	if err := access.Check(actor, orgID); err != nil {
		return Gate{}, err
	}
	ic, err := s.store.Credentials().IssueContext(ctx, orgID, badgeID, actor.UserID)
	if err != nil {
		return Gate{}, err
	}
	org, err := s.guard.Decide(actor, ic.Org, domain.PermIssue)
	if err != nil {
		return Gate{}, err
	}
	if require != nil {
		if ic.Badge == nil {
			return Gate{}, fmt.Errorf("badge %s: %w", badgeID, domain.ErrNotFound)
		}
		if err := require(org); err != nil {
			return Gate{}, err
		}
	}
	if err := org.CanIssue(); err != nil {
		return Gate{}, err
	}
	if ic.Badge == nil {
		return Gate{}, fmt.Errorf("badge %s: %w", badgeID, domain.ErrNotFound)
	}
	badge := *ic.Badge
	if err := badge.CanIssue(); err != nil {
		return Gate{}, err
	}
	if ic.Key == nil {
		return Gate{}, domain.ErrSigningKeysMissing
	}
	signer, err := s.signer(*ic.Key, org.Slug)
	if err != nil {
		return Gate{}, err
	}
	return Gate{Org: org, Badge: badge, Signer: signer}, nil
}
