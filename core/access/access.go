// Package access decides who may act on an organization: membership and
// role for users, organization and plan for API keys. Anyone without a
// relation to an organization gets NOT_FOUND, never a hint that it exists.
package access

import (
	"context"
	"fmt"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// Guard checks an actor's permission on an organization.
type Guard struct {
	Store interface{ Orgs() ports.Orgs }
	Plans domain.Plans
}

// Org loads the organization and returns it when actor holds perm there.
// Platform administrators may read every organization (its profile,
// members, badges, usage) for support, but not its credentials, bulk jobs
// and their recipients: a private credential is its recipient's and its
// issuer's alone (DESIGN), and a credential list is a list of people.
func (g Guard) Org(ctx context.Context, actor domain.Actor, orgID string, perm domain.Permission) (domain.Organization, error) {
	ow, err := g.Member(ctx, actor, orgID, perm)
	return ow.Org, err
}

// Member is Org with the actor's role there (empty for API keys and
// platform administrators reading).
func (g Guard) Member(ctx context.Context, actor domain.Actor, orgID string, perm domain.Permission) (ports.OrgWithRole, error) {
	if err := Check(actor, orgID); err != nil {
		return ports.OrgWithRole{}, err
	}
	ow, err := g.Store.Orgs().GetWithRole(ctx, orgID, actor.UserID)
	if err != nil {
		return ports.OrgWithRole{}, err
	}
	if ow.Org, err = g.Decide(actor, ow, perm); err != nil {
		return ports.OrgWithRole{}, err
	}
	return ow, nil
}

// Check refuses, before anything is read, an anonymous actor, a malformed
// organization ID and an API key of another organization.
func Check(actor domain.Actor, orgID string) error {
	switch {
	case actor.Anonymous():
		return domain.ErrUnauthenticated
	case !domain.IsID(orgID):
		return fmt.Errorf("organization %q: %w", orgID, domain.ErrNotFound)
	case actor.IsAPIKey() && actor.APIKeyOrg != orgID:
		return fmt.Errorf("organization %s: %w", orgID, domain.ErrNotFound)
	}
	return nil
}

// Decide returns the organization when actor, whose role there is
// ow.Role (users) or who is its API key, holds perm; ow was read for
// actor.UserID after Check passed.
//
// An organization requiring emailed codes (RequireMFA) refuses its
// members' sessions that were opened without one: MFA_REQUIRED, for
// every operation, before the role is looked at (it is the session that
// falls short, not the role). Signing in again asks for a code, since
// the organization requires it. API keys act as the organization and are
// no sessions, nor is a worker issuing a bulk job for its submitter;
// platform administrators reading an organization they do not belong to
// are outside its rules.
func (g Guard) Decide(actor domain.Actor, ow ports.OrgWithRole, perm domain.Permission) (domain.Organization, error) {
	org := ow.Org
	if actor.IsAPIKey() {
		if err := g.Plans.Get(org.Plan).RequireAPIAccess(org.Plan); err != nil {
			return domain.Organization{}, err
		}
		if !domain.APIKeyCan(perm) {
			return domain.Organization{}, domain.Errorf(domain.CodeForbidden, "API keys cannot %s", perm)
		}
		return org, nil
	}
	switch {
	case ow.Role == "" && actor.Admin && perm == domain.PermCredentialsRead:
		return domain.Organization{}, domain.Errorf(domain.CodeForbidden,
			"platform administrators do not see an organization's credentials or recipients: only its members do")
	case ow.Role == "" && actor.Admin && isRead(perm):
		return org, nil
	case ow.Role == "":
		return domain.Organization{}, fmt.Errorf("organization %s: %w", org.ID, domain.ErrNotFound)
	case org.RequireMFA && actor.SessionWithoutCode():
		return domain.Organization{}, domain.ErrMFARequired
	case !domain.RoleCan(ow.Role, perm):
		return domain.Organization{}, domain.Errorf(domain.CodeForbidden, "the %s role cannot %s", ow.Role, perm)
	}
	return org, nil
}

func isRead(p domain.Permission) bool {
	return domain.RoleCan(domain.RoleViewer, p)
}

// RequireAdmin returns FORBIDDEN unless actor is a platform administrator.
func RequireAdmin(actor domain.Actor) error {
	switch {
	case actor.Anonymous():
		return domain.ErrUnauthenticated
	case !actor.Admin:
		return domain.Errorf(domain.CodeForbidden, "platform administrators only")
	}
	return nil
}

// RequireUser returns UNAUTHENTICATED unless a user (not an API key) is signed in.
func RequireUser(actor domain.Actor) error {
	if actor.UserID == "" {
		return domain.Errorf(domain.CodeUnauthenticated, "sign in as a user")
	}
	return nil
}
