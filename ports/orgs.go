package ports

import (
	"context"
	"time"

	"github.com/credence-dev/credence/core/domain"
)

// Orgs persists organizations.
type Orgs interface {
	// Create inserts o; a slug in use returns an error matching domain.ErrSlugTaken.
	Create(ctx context.Context, o domain.Organization) error
	Get(ctx context.Context, id string) (domain.Organization, error)
	GetBySlug(ctx context.Context, slug string) (domain.Organization, error)
	// GetWithRole returns the organization and userID's role in it ("" when
	// the user is not a member) in one read; ErrNotFound when there is no
	// such organization.
	GetWithRole(ctx context.Context, id, userID string) (OrgWithRole, error)
	// Update overwrites every field of o but ID, Slug and CreatedAt.
	Update(ctx context.Context, o domain.Organization) error
	// List returns organizations ordered by creation, oldest first, after the
	// cursor (an ID; "" for the start), optionally filtered by status.
	List(ctx context.Context, f OrgFilter) ([]domain.Organization, error)
	// ListForUser returns the organizations the user is a member of, with the role.
	ListForUser(ctx context.Context, userID string) ([]OrgWithRole, error)
	// AddVerifications adds n to the organization's anonymous count of
	// verifications, to whatever the count is then: each replica adds
	// the verifications it counted since it last added (see
	// core/work.Tally). An unknown id is ErrNotFound.
	AddVerifications(ctx context.Context, id string, n int64) error
	// Verifications returns that count as stored.
	Verifications(ctx context.Context, id string) (int64, error)
}

// OrgFilter narrows Orgs.List.
type OrgFilter struct {
	Status domain.OrgStatus // "" for any
	After  string           // cursor: the last ID of the previous page
	Limit  int
}

// OrgWithRole is an organization and the caller's role in it.
type OrgWithRole struct {
	Org  domain.Organization
	Role domain.Role
}

// Members persists memberships.
type Members interface {
	// Add inserts m; adding an existing member returns an error matching
	// domain.ErrInvalidState.
	Add(ctx context.Context, m domain.Membership) error
	// Get returns the membership of user in org, or domain.ErrNotFound.
	Get(ctx context.Context, orgID, userID string) (domain.Membership, error)
	// List returns an organization's members with their users, oldest first.
	List(ctx context.Context, orgID string) ([]MemberWithUser, error)
	// CountRole counts the organization's members holding role.
	CountRole(ctx context.Context, orgID string, role domain.Role) (int, error)
	// SetRole changes a member's role; a non-member is NOT_FOUND.
	SetRole(ctx context.Context, orgID, userID string, role domain.Role) error
	// Remove ends a membership; a non-member is NOT_FOUND.
	Remove(ctx context.Context, orgID, userID string) error
	// LockOrg serializes changes to what the plan caps in the
	// organization (owners, active API keys) until the transaction ends,
	// so that counting them after it is exact; an unknown organization is
	// NOT_FOUND.
	LockOrg(ctx context.Context, orgID string) error
}

// Invitations persists invitations to organizations.
type Invitations interface {
	Create(ctx context.Context, inv domain.Invitation) error
	Get(ctx context.Context, id string) (domain.Invitation, error)
	// ListForOrg returns the organization's invitations open at now,
	// newest first.
	ListForOrg(ctx context.Context, orgID string, now time.Time) ([]domain.Invitation, error)
	// ListForEmail returns the invitations to email open at now, newest
	// first.
	ListForEmail(ctx context.Context, email string, now time.Time) ([]domain.Invitation, error)
	// CountOpen counts the organization's invitations open at now with role.
	CountOpen(ctx context.Context, orgID string, role domain.Role, now time.Time) (int, error)
	// Answer moves an invitation open at `at` to status, atomically (of
	// concurrent answers one wins); otherwise domain.ErrInvalidState.
	Answer(ctx context.Context, id string, status domain.InvitationStatus, at time.Time) error
	// RevokeOpen revokes the organization's open invitations to email
	// and returns how many.
	RevokeOpen(ctx context.Context, orgID, email string, at time.Time) (int, error)
}

// MemberWithUser is a membership and its user's name and email.
type MemberWithUser struct {
	domain.Membership
	Email string
	Name  string
}

// SigningKeys persists organizations' signing keys.
type SigningKeys interface {
	// Create inserts k. A second active key for an org returns an error
	// matching domain.ErrSigningKeysExist.
	Create(ctx context.Context, k domain.SigningKey) error
	// Active returns the org's active key, or domain.ErrSigningKeysMissing.
	Active(ctx context.Context, orgID string) (domain.SigningKey, error)
	// List returns every key of the org, active and retired, oldest first.
	List(ctx context.Context, orgID string) ([]domain.SigningKey, error)
	// GetByFragment returns the org's key with that fragment, or domain.ErrNotFound.
	GetByFragment(ctx context.Context, orgID, fragment string) (domain.SigningKey, error)
	// Retire marks the key retired at `at` when it is active; a key already
	// retired returns an error matching domain.ErrInvalidState.
	Retire(ctx context.Context, id string, at time.Time) error
}

// ProofKeys persists organizations' Data Integrity keys.
type ProofKeys interface {
	// Create inserts k. A second active key for an org returns an error
	// matching domain.ErrInvalidState, as does a fragment in use.
	Create(ctx context.Context, k domain.ProofKey) error
	// Active returns the org's active key, or domain.ErrNotFound.
	Active(ctx context.Context, orgID string) (domain.ProofKey, error)
	// List returns every key of the org, active and retired, oldest first.
	List(ctx context.Context, orgID string) ([]domain.ProofKey, error)
	// Retire marks the key retired at `at` when it is active; a key already
	// retired returns an error matching domain.ErrInvalidState.
	Retire(ctx context.Context, id string, at time.Time) error
}

// APIKeys persists organization API keys.
type APIKeys interface {
	Create(ctx context.Context, k domain.APIKey) error
	Get(ctx context.Context, orgID, id string) (domain.APIKey, error)
	// GetByHash returns the key whose SecretHash equals hash.
	GetByHash(ctx context.Context, hash []byte) (domain.APIKey, error)
	// List returns the org's keys, revoked included, newest first.
	List(ctx context.Context, orgID string) ([]domain.APIKey, error)
	// CountActive counts keys neither revoked nor expired at now.
	CountActive(ctx context.Context, orgID string, now time.Time) (int, error)
	// Revoke sets RevokedAt when it is not set yet (RevokedFor stays
	// domain.APIKeyRevokedManually).
	Revoke(ctx context.Context, orgID, id string, at time.Time) error
	// RevokeMany revokes, at `at` and for reason, those of the org's keys
	// ids that are not revoked yet, and returns how many it revoked; keys
	// of other organizations are left alone.
	RevokeMany(ctx context.Context, orgID string, ids []string, at time.Time, reason domain.APIKeyRevocation) (int, error)
	// Regenerate writes k's SecretHash, Last4, RegeneratedAt and ExpiresAt
	// provided the key is not revoked and its secret hash is still
	// prevHash, atomically: of concurrent regenerations of one key one
	// succeeds. Otherwise it writes nothing and returns an error matching
	// domain.ErrInvalidState, or domain.ErrNotFound when the org has no
	// key k.ID.
	Regenerate(ctx context.Context, k domain.APIKey, prevHash []byte) error
	// Touch sets LastUsedAt to at when it is earlier (or unset): the
	// latest use wins whatever order concurrent requests record it in.
	// An unknown id is ErrNotFound.
	Touch(ctx context.Context, id string, at time.Time) error
	// SetRateLimit sets the key's own request rate per minute (0: the
	// default) and returns the key; an unknown id is NOT_FOUND.
	SetRateLimit(ctx context.Context, id string, perMinute int) (domain.APIKey, error)
}
