package domain

import "time"

// Activity is one entry of the activity log: who changed what, from where
// and when, recorded in the transaction of the change.
type Activity struct {
	ID         string
	OrgID      string // "" for account events outside any organization
	ActorUser  string // the user who acted, or ""
	ActorKey   string // the API key that acted, or ""
	ActorEmail string // the email a sign-in was tried with, when no user acted
	IP         string // the client address
	Action     Action
	TargetType string // credential, badge, member, invitation, api_key, signing_key, organization, user
	Target     string // the ID of what was acted on
	Detail     string // a short human note
	CreatedAt  time.Time
}

// Action names what happened, as "<thing>.<verb>".
type Action string

// Logged actions.
const (
	ActSignedIn              Action = "user.signed_in"
	ActSignInFailed          Action = "user.sign_in_failed"
	ActLockedOut             Action = "user.locked_out"
	ActPasswordReset         Action = "user.password_reset"
	ActPasswordChanged       Action = "user.password_changed"
	ActMFAChanged            Action = "user.mfa_changed"
	ActSessionRevoked        Action = "user.session_revoked"
	ActOrgCreated            Action = "organization.created"
	ActOrgUpdated            Action = "organization.updated"
	ActOrgStatusChanged      Action = "organization.status_changed"
	ActPlanChanged           Action = "organization.plan_changed"
	ActMemberInvited         Action = "member.invited"
	ActInvitationRevoked     Action = "member.invitation_revoked"
	ActMemberJoined          Action = "member.joined"
	ActInvitationDecline     Action = "member.invitation_declined"
	ActRoleChanged           Action = "member.role_changed"
	ActMemberRemoved         Action = "member.removed"
	ActSigningKeyCreated     Action = "signing_key.generated"
	ActSigningKeyRotated     Action = "signing_key.rotated"
	ActAPIKeyCreated         Action = "api_key.created"
	ActAPIKeyRegenerated     Action = "api_key.regenerated"
	ActAPIKeyRevoked         Action = "api_key.revoked"
	ActAPIKeyRateLimit       Action = "api_key.rate_limit_set"
	ActBadgeCreated          Action = "badge.created"
	ActBadgeUpdated          Action = "badge.updated"
	ActBadgeDeleted          Action = "badge.deleted"
	ActCredentialIssued      Action = "credential.issued"
	ActCredentialRevoked     Action = "credential.revoked"
	ActCredentialClaimed     Action = "credential.claimed"
	ActCredentialSuspended   Action = "credential.suspended"
	ActCredentialUnsuspended Action = "credential.unsuspended"
	ActBulkSubmitted         Action = "bulk_issuance.submitted"
	ActWebhookCreated        Action = "webhook.created"
	ActWebhookUpdated        Action = "webhook.updated"
	ActWebhookDeleted        Action = "webhook.deleted"
	ActWebhookSecretRotated  Action = "webhook.secret_rotated"
	ActWebhookTested         Action = "webhook.tested"
	ActWebhookResent         Action = "webhook.delivery_resent"
	ActWebhookDisabled       Action = "webhook.disabled"
)

// NewActivity is an entry of actor's action on a target of orgID at now.
func NewActivity(actor Actor, orgID string, action Action, targetType, target, detail string, now time.Time) Activity {
	return Activity{ID: NewID(), OrgID: orgID, ActorUser: actor.UserID, ActorKey: actor.APIKeyID, IP: actor.IP,
		Action: action, TargetType: targetType, Target: target, Detail: detail, CreatedAt: Truncate(now)}
}
