package credentials

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/credence-dev/credence/core/access"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
	"github.com/credence-dev/credence/ports"
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
// It reads the store every time (only the decrypted signer of a key is
// kept, by key ID): a suspended organization, a deactivated badge or a
// rotated key holds from the next call on.
func (s *Service) Gate(ctx context.Context, actor domain.Actor, orgID, badgeID string, require func(domain.Organization) error) (Gate, error) {
	g, _, err := s.gate(ctx, actor, orgID, badgeID, require)
	return g, err
}

// gate is Gate, also returning the issue context it decided on.
func (s *Service) gate(ctx context.Context, actor domain.Actor, orgID, badgeID string, require func(domain.Organization) error) (Gate, ports.IssueContext, error) {
	if err := access.Check(actor, orgID); err != nil {
		return Gate{}, ports.IssueContext{}, err
	}
	ic, err := s.store.Credentials().IssueContext(ctx, orgID, badgeID, actor.UserID)
	if err != nil {
		return Gate{}, ports.IssueContext{}, err
	}
	g, err := s.decide(actor, badgeID, ic, require)
	return g, ic, err
}

// decide is Gate's decision on an issue context read for actor (after
// access.Check passed).
func (s *Service) decide(actor domain.Actor, badgeID string, ic ports.IssueContext, require func(domain.Organization) error) (Gate, error) {
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

// contexts remembers, per organization, badge and user, the issue context
// of the last issue that took the one-step path (Credentials.InsertFirst),
// so that the next one decides and signs without reading first. It is
// never trusted: InsertFirst writes only if the context's Version is still
// the store's, in the same step, and a context that changed sends the
// issue back to a fresh read; nor does it ever refuse: an issue it would
// refuse reads afresh. A context is kept at most maxContextAge (so a
// version compared is always recent), and a process keeps at most
// maxContexts.
type contexts struct {
	mu sync.Mutex
	m  map[contextKey]remembered
}

type contextKey struct{ org, badge, user string }

type remembered struct {
	ic ports.IssueContext
	at time.Time
}

const (
	maxContexts   = 4096
	maxContextAge = time.Minute
)

func (c *contexts) get(k contextKey, now time.Time) (ports.IssueContext, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.m[k]
	if !ok || now.Sub(r.at) > maxContextAge || now.Before(r.at) {
		return ports.IssueContext{}, false
	}
	return r.ic, true
}

func (c *contexts) put(k contextKey, ic ports.IssueContext, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.m[k]; ok && r.ic.Version == ic.Version {
		return // remembered since it was read
	}
	if c.m == nil || len(c.m) >= maxContexts {
		c.m = make(map[contextKey]remembered)
	}
	c.m[k] = remembered{ic, now}
}

func (c *contexts) drop(k contextKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, k)
}
