package domain

import "time"

// Role is a member's role in an organization.
type Role string

// Roles, from most to least powerful.
const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleIssuer Role = "issuer"
	RoleViewer Role = "viewer"
)

// ValidRole reports whether r is one of the four roles.
func ValidRole(r Role) bool {
	return r == RoleOwner || r == RoleAdmin || r == RoleIssuer || r == RoleViewer
}

// Membership ties a user to an organization with a role.
type Membership struct {
	OrgID     string
	UserID    string
	Role      Role
	CreatedAt time.Time
}

// Permission names one action of the permission matrix.
type Permission string

// The permission matrix's actions.
const (
	PermOrgRead         Permission = "org:read"
	PermOrgUpdate       Permission = "org:update"
	PermSigningKeys     Permission = "signing-keys:manage"
	PermAPIKeys         Permission = "api-keys:manage"
	PermBilling         Permission = "billing:manage"
	PermDomain          Permission = "domain:manage"
	PermMembersRead     Permission = "members:read"
	PermMembersInvite   Permission = "members:invite"
	PermMembersRemove   Permission = "members:remove"
	PermOwnersManage    Permission = "owners:manage"
	PermBadgeRead       Permission = "badges:read"
	PermBadgeCreate     Permission = "badges:create"
	PermBadgeEdit       Permission = "badges:edit" // edit and delete
	PermIssue           Permission = "credentials:issue"
	PermRevoke          Permission = "credentials:revoke"
	PermResend          Permission = "credentials:resend"
	PermCredentialsRead Permission = "credentials:read"
	PermUsageRead       Permission = "usage:read"
	PermSecurity        Permission = "security:manage" // require MFA of members
	PermActivityRead    Permission = "activity:read"
	PermWebhooks        Permission = "webhooks:manage" // endpoints, their deliveries, resends
)

var (
	readPerms   = []Permission{PermOrgRead, PermMembersRead, PermBadgeRead, PermCredentialsRead, PermUsageRead}
	issuerPerms = append([]Permission{PermBadgeCreate, PermIssue}, readPerms...)
	adminPerms  = append([]Permission{PermOrgUpdate, PermMembersInvite, PermMembersRemove, PermBadgeEdit, PermRevoke, PermResend, PermActivityRead, PermWebhooks}, issuerPerms...)
	ownerPerms  = append([]Permission{PermSigningKeys, PermAPIKeys, PermBilling, PermDomain, PermOwnersManage, PermSecurity}, adminPerms...)
	// An API key acts as its organization with issuer rights plus revoke.
	apiKeyPerms = append([]Permission{PermRevoke}, issuerPerms...)
)

var rolePerms = map[Role]map[Permission]bool{
	RoleOwner:  set(ownerPerms),
	RoleAdmin:  set(adminPerms),
	RoleIssuer: set(issuerPerms),
	RoleViewer: set(readPerms),
}

var apiKeyPermSet = set(apiKeyPerms)

func set(ps []Permission) map[Permission]bool {
	m := make(map[Permission]bool, len(ps))
	for _, p := range ps {
		m[p] = true
	}
	return m
}

// RoleCan reports whether role r holds permission p.
func RoleCan(r Role, p Permission) bool { return rolePerms[r][p] }

// APIKeyCan reports whether an organization API key holds permission p.
func APIKeyCan(p Permission) bool { return apiKeyPermSet[p] }

// InvitationTTL is how long an invitation can be answered.
const InvitationTTL = 7 * 24 * time.Hour

// InvitationStatus is where an invitation stands.
type InvitationStatus string

// Invitation statuses.
const (
	InvitationPending  InvitationStatus = "pending"
	InvitationAccepted InvitationStatus = "accepted"
	InvitationDeclined InvitationStatus = "declined"
	InvitationRevoked  InvitationStatus = "revoked" // withdrawn, or replaced by a newer one
)

// Invitation asks the holder of an email to join an organization with a
// role.
type Invitation struct {
	ID         string
	OrgID      string
	Email      string // normalized
	Role       Role
	InvitedBy  string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	Status     InvitationStatus
	AnsweredAt *time.Time
}

// Open reports whether the invitation can still be accepted or declined.
func (i Invitation) Open(now time.Time) bool {
	return i.Status == InvitationPending && now.Before(i.ExpiresAt)
}

// ErrLastOwner refuses to leave an organization without an owner.
var ErrLastOwner = &Error{CodeLastOwner, "an organization keeps at least one owner: make someone else owner first"}

// CanManageRole reports whether a member with role actor may give the
// role target to someone, or change or remove a member holding target:
// owners manage every role; admins every role but owner (owner changes
// are the owners' alone).
func CanManageRole(actor, target Role) bool {
	switch actor {
	case RoleOwner:
		return true
	case RoleAdmin:
		return target != RoleOwner
	}
	return false
}
