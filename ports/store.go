package ports

import (
	"context"
	"time"

	"github.com/credence-dev/credence/core/domain"
)

// Transactor runs fn as one unit of work; store calls made with fn's ctx
// join it. A WithinTx inside another joins the outer one. When fn returns
// an error, every write made through its ctx is rolled back.
type Transactor interface {
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// Store is everything the core persists, behind one Transactor.
//
// Errors (checked by contract-tests/store): a Get of an unknown ID returns
// an error matching domain.ErrNotFound; each method documents the others.
// Any method returns an error matching ErrUnavailable when the database
// cannot be reached, and the same store serves again once it is back.
type Store interface {
	Transactor
	Users() Users
	Sessions() Sessions
	EmailTokens() EmailTokens
	LoginGuards() LoginGuards
	MFAChallenges() MFAChallenges
	Devices() Devices
	Orgs() Orgs
	Members() Members
	Invitations() Invitations
	SigningKeys() SigningKeys
	APIKeys() APIKeys
	Badges() Badges
	Credentials() Credentials
	Quota() Quota
	Bulk() BulkJobs
	Mails() Mails
	Events() Events
	Activity() ActivityLog
	Retention() Retention
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	Close() error
}

// Users persists accounts.
type Users interface {
	// Create inserts u; an email already registered returns an error
	// matching ErrEmailTaken and writes nothing, inside a transaction too
	// (the transaction stays usable).
	Create(ctx context.Context, u domain.User) error
	Get(ctx context.Context, id string) (domain.User, error)
	GetByEmail(ctx context.Context, email string) (domain.User, error)
	// MarkVerified sets EmailVerifiedAt when it is not set yet.
	MarkVerified(ctx context.Context, id string, at time.Time) error
	// SetPassword replaces the user's password hash.
	SetPassword(ctx context.Context, id, hash string) error
	// SetMFA switches the user's email-code MFA on or off.
	SetMFA(ctx context.Context, id string, enabled bool) error
}

// MFAChallenges persists sign-ins (and changes) waiting for their emailed
// code.
type MFAChallenges interface {
	// Create inserts c; Get returns it with its Purpose and DeviceID. An
	// empty Purpose (or a challenge stored before challenges had one) is
	// domain.MFASignIn.
	Create(ctx context.Context, c domain.MFAChallenge) error
	Get(ctx context.Context, id string) (domain.MFAChallenge, error)
	// Fail counts one wrong code, atomically, and returns the challenge
	// as it is then.
	Fail(ctx context.Context, id string) (domain.MFAChallenge, error)
	// Use marks the challenge used at `at` when it is open then
	// (domain.MFAChallenge.Open), atomically: of concurrent calls one
	// succeeds. Otherwise it returns an error matching domain.ErrMFAInvalid.
	Use(ctx context.Context, id string, at time.Time) error
}

// Devices persists known devices (domain.Device) by token hash.
type Devices interface {
	Create(ctx context.Context, d domain.Device) error
	// Get returns the device with id, live or not.
	Get(ctx context.Context, id string) (domain.Device, error)
	// GetByHash returns the device whose TokenHash equals hash, live or
	// not.
	GetByHash(ctx context.Context, hash []byte) (domain.Device, error)
	// Rotate records a completed sign-in through the device at `at`: its
	// TokenHash becomes hash, LastUsedAt at, ExpiresAt at +
	// domain.DeviceTTL and Failures 0, provided it is live at `at` and
	// still holds prevHash, atomically: of concurrent rotations from one
	// hash one succeeds. Otherwise it writes nothing and returns an error
	// matching domain.ErrInvalidState, or domain.ErrNotFound when there is
	// no device id.
	Rotate(ctx context.Context, id string, prevHash, hash []byte, at time.Time) error
	// Fail counts one failed sign-in through the device and, when that
	// brings Failures to domain.DeviceFailureLimit, revokes it at `at`
	// (a device revoked already keeps its RevokedAt); it returns the
	// device as it is then. Concurrent calls each count once. An unknown
	// id is domain.ErrNotFound.
	Fail(ctx context.Context, id string, at time.Time) (domain.Device, error)
}

// ErrEmailTaken is returned by Users.Create for an email already registered.
var ErrEmailTaken = &domain.Error{Code: "EMAIL_TAKEN", Detail: "the email is already registered"}

// Sessions persists sign-in sessions by token hash.
type Sessions interface {
	// Create inserts s; the reads return it with every field, MFA
	// included (a session stored before sessions recorded it reads as
	// opened without a code).
	Create(ctx context.Context, s domain.Session) error
	// GetByHash returns the session whose TokenHash equals hash.
	GetByHash(ctx context.Context, hash []byte) (domain.Session, error)
	// Revoke sets RevokedAt on the session when it is not set yet.
	Revoke(ctx context.Context, id string, at time.Time) error
	// ListForUser returns the user's sessions live at now (not revoked,
	// not expired, used within domain.SessionIdleTTL), newest first.
	ListForUser(ctx context.Context, userID string, now time.Time) ([]domain.Session, error)
	// Touch sets the session's LastSeenAt to at when it is earlier.
	Touch(ctx context.Context, id string, at time.Time) error
	// RevokeAllForUser revokes every unrevoked session of the user but
	// except (when not empty) and returns how many it revoked.
	RevokeAllForUser(ctx context.Context, userID, except string, at time.Time) (int, error)
}

// LoginGuards persists failed sign-in records by normalized email.
type LoginGuards interface {
	// Get returns the email's record; an email without one gets the zero
	// LoginGuard (with Email set), not an error.
	Get(ctx context.Context, email string) (domain.LoginGuard, error)
	// Update applies fn to the email's record and stores the result,
	// atomically: concurrent updates of one email apply one after the
	// other. A result that is Clean() deletes the record.
	Update(ctx context.Context, email string, fn func(domain.LoginGuard) domain.LoginGuard) (domain.LoginGuard, error)
}

// EmailTokens persists single-use emailed tokens.
type EmailTokens interface {
	Create(ctx context.Context, t domain.EmailToken) error
	// Use marks the token with hash and purpose used at `at` and returns it,
	// atomically: of two concurrent calls one succeeds. An unknown, used
	// or expired (ExpiresAt <= at) token returns an error matching
	// domain.ErrInvalidToken and marks nothing.
	Use(ctx context.Context, hash []byte, purpose domain.TokenPurpose, at time.Time) (domain.EmailToken, error)
	// RevokeAllForUser ends every token of the user with purpose that is
	// live at `at` (unused, ExpiresAt > at), marking it used at `at` (Use
	// refuses it from then on), and returns how many it ended. Tokens of
	// other users or purposes are left alone.
	RevokeAllForUser(ctx context.Context, userID string, purpose domain.TokenPurpose, at time.Time) (int, error)
}

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
	// CountVerification adds one to the organization's anonymous count of
	// verifications.
	CountVerification(ctx context.Context, id string) error
	// Verifications returns that count.
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

// Badges persists badge templates.
type Badges interface {
	// Create inserts b; a slug used by another badge of the org returns an
	// error matching domain.ErrSlugTaken.
	Create(ctx context.Context, b domain.Badge) error
	Get(ctx context.Context, orgID, id string) (domain.Badge, error)
	GetBySlug(ctx context.Context, orgID, slug string) (domain.Badge, error)
	// Update overwrites b's editable fields, Active and UpdatedAt. When b
	// changes a signed field of a badge that is locked in the database, it
	// returns an error matching domain.ErrBadgeLocked and writes nothing.
	Update(ctx context.Context, b domain.Badge) error
	// Lock marks the badge as having issued a credential, provided it is
	// still as it was at version (its UpdatedAt when read): a badge updated
	// since returns an error matching domain.ErrInvalidState and stays as it
	// is, so nothing is signed from fields that changed meanwhile. Locking a
	// locked badge of that version is a no-op.
	Lock(ctx context.Context, id string, version time.Time) error
	// Delete removes an unlocked badge; a locked one returns domain.ErrBadgeLocked.
	Delete(ctx context.Context, orgID, id string) error
	// List returns the org's badges, oldest first, after the cursor.
	List(ctx context.Context, orgID string, page Page) ([]domain.Badge, error)
	// Count counts the org's active badges.
	Count(ctx context.Context, orgID string) (int, error)
}

// Page is a cursor position: After is the last ID of the previous page.
type Page struct {
	After string
	Limit int
}

// Credentials persists issued credentials.
//
// A recipient's credentials of one badge form a chain: each issue after the
// first supersedes the previous head. Test and live credentials form
// separate chains. At most one credential per badge, recipient and mode
// (test or live) is the head (superseded by none, revoked or not); the
// database enforces it with a unique partial index, so of concurrent
// issuers exactly one wins.
type Credentials interface {
	// Insert stores c. When the recipient's chain for the badge, in c's
	// mode (c.Test), already has a head it returns a *domain.DuplicateError naming it, inside a
	// transaction too (the transaction stays usable). When c.ID is taken it
	// returns ErrIDTaken.
	Insert(ctx context.Context, c domain.Credential) error
	// InsertFirst stores c as the first credential of its chain and, unless
	// c.Test, counts its recipient in the month's quota as Quota.Consume
	// would with limit, and queues mail when it is not nil, as one atomic
	// step: the common issue, made cheap. handled is false, and nothing is
	// written, when the chain already has a head or the quota cannot simply
	// be counted (the caller then applies the full rules in a transaction);
	// errors are failures only.
	InsertFirst(ctx context.Context, c domain.Credential, month time.Time, limit int, mail *domain.Mail) (handled bool, err error)
	// InsertMany stores cs, each at the head of its chain, provided none
	// of their chains has a head and no ID is taken: else it writes nothing
	// and returns an error matching ErrBatchConflict. Call it in a
	// transaction; its conflict leaves the transaction usable.
	InsertMany(ctx context.Context, cs []domain.Credential) error
	// Heads returns the chain heads of the badge for the emails, by email
	// (emails without credentials are absent), without their JWS: what
	// deciding how to issue again needs. Test and live credentials form
	// separate chains: test picks which. In a transaction, lock holds
	// the heads found until it ends (where transactions are serialized
	// anyway, SQLite, it adds nothing).
	Heads(ctx context.Context, badgeID string, test bool, emails []string, lock bool) (map[string]domain.Credential, error)
	Get(ctx context.Context, id domain.CredentialID) (domain.Credential, error)
	// IssueContext reads in one query what issuing needs: the organization
	// with userID's role in it ("" for none), the badge (nil when the
	// organization has no badge badgeID) and the organization's active
	// signing key (nil when it has none). ErrNotFound when there is no
	// organization orgID.
	IssueContext(ctx context.Context, orgID, badgeID, userID string) (IssueContext, error)
	// LockRecipient holds, until the transaction ends, a lock that
	// serializes issues of the badge to the email: statements after it see
	// every credential committed before it returned. Outside a transaction
	// it holds nothing. Where transactions are serialized anyway (SQLite)
	// it is a no-op.
	LockRecipient(ctx context.Context, badgeID, email string) error
	// Current returns the head of the recipient's chain of credentials of
	// the badge, its test chain or its live one: the latest issued that no
	// other credential supersedes (revoked or not). ErrNotFound when the
	// recipient has none.
	Current(ctx context.Context, badgeID, email string, test bool) (domain.Credential, error)
	// Update writes c's mutable fields: ClaimedAt, RevokedAt,
	// RevocationReason, SupersededByID.
	Update(ctx context.Context, c domain.Credential) error
	// List returns the org's credentials, newest first, filtered.
	List(ctx context.Context, f CredentialFilter) ([]domain.Credential, error)
	// ListByEmail returns every credential issued to email, newest first.
	ListByEmail(ctx context.Context, email string, page Page) ([]domain.Credential, error)
}

// IssueContext is what Credentials.IssueContext reads.
type IssueContext struct {
	Org   OrgWithRole
	Badge *domain.Badge
	Key   *domain.SigningKey
}

// ErrBatchConflict is returned by Credentials.InsertMany when a chain of
// the batch has a head or an ID is taken.
var ErrBatchConflict = &domain.Error{Code: "BATCH_CONFLICT", Detail: "a credential of the batch met a concurrent issue"}

// ErrIDTaken is returned by Credentials.Insert when the ID is in use.
var ErrIDTaken = &domain.Error{Code: "ID_TAKEN", Detail: "the credential ID is in use"}

// CredentialFilter narrows Credentials.List. Status filtering needs the
// time: expired means ExpiresAt <= Now.
type CredentialFilter struct {
	OrgID   string
	BadgeID string
	Email   string
	Status  domain.CredentialStatus
	Now     time.Time
	After   domain.CredentialID // cursor
	Limit   int
}

// Quota counts distinct new recipients per organization and month.
type Quota interface {
	// Consume counts email for org in the month starting at month unless it
	// was counted already (then it costs nothing). It never lets the count
	// pass limit: at the limit it returns a *domain.QuotaError, atomically
	// under concurrent callers. counted reports whether this call used a slot.
	Consume(ctx context.Context, orgID string, month time.Time, email string, limit int) (counted bool, err error)
	// ConsumeMany is Consume for many emails at once, in their order: the
	// emails not counted yet take the month's remaining slots first come
	// first served; the ones left without a slot are returned (rejected)
	// and not counted. Call it in a transaction.
	ConsumeMany(ctx context.Context, orgID string, month time.Time, emails []string, limit int) (rejected map[string]bool, err error)
	// Used returns how many recipients were counted in the month.
	Used(ctx context.Context, orgID string, month time.Time) (int, error)
	// CountedMany returns which of emails were counted in the month.
	CountedMany(ctx context.Context, orgID string, month time.Time, emails []string) (map[string]bool, error)
	// Counted reports whether email was counted in the month.
	Counted(ctx context.Context, orgID string, month time.Time, email string) (bool, error)
}
