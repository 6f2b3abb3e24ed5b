package ports

import (
	"context"
	"time"

	"github.com/credence-dev/credence/core/domain"
)

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
	// InsertFirst stores f.Credential as the first credential of its chain
	// and, unless it is a test credential, counts its recipient in the
	// month's quota as Quota.Consume would with f.Limit; it queues f.Mail
	// and logs f.Activity when they are not nil; all as one atomic step:
	// the common issue, made cheap. handled is false, and nothing is
	// written, when the chain already has a head or the quota cannot simply
	// be counted (the caller then applies the full rules in a transaction).
	// When f.Version is not empty, that step also checks that the issue
	// context the issue was decided and signed on is still what
	// IssueContext would read (f.Version is its Version): when it is not,
	// nothing is written and the error matches ErrContextChanged. Other
	// errors are failures.
	InsertFirst(ctx context.Context, f FirstIssue) (handled bool, err error)
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
	// GetForUpdate is Get that, in a transaction, holds the credential
	// until the transaction ends: a change read-modified-written through
	// Update is never lost to a concurrent one (where transactions are
	// serialized anyway, SQLite, it adds nothing).
	GetForUpdate(ctx context.Context, id domain.CredentialID) (domain.Credential, error)
	// Verifiable reads in one query what showing and verifying a stored
	// credential needs, as it is at that instant: the credential, the
	// organization and the badge it was issued under, and the fragment of
	// the organization's active signing key. ErrNotFound when there is no
	// credential id.
	Verifiable(ctx context.Context, id domain.CredentialID) (Verifiable, error)
	// IssueContext reads in one query what issuing needs: the organization
	// with userID's role in it ("" for none), the badge (nil when the
	// organization has no badge badgeID) and the organization's active
	// signing key (nil when it has none), and a Version of all of it.
	// ErrNotFound when there is no organization orgID.
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
	// RevocationReason, SuspendedAt, SuspensionReason, SupersededByID.
	Update(ctx context.Context, c domain.Credential) error
	// List returns the org's credentials, newest first, filtered.
	List(ctx context.Context, f CredentialFilter) ([]domain.Credential, error)
	// ListByEmail returns every credential issued to email, newest first.
	ListByEmail(ctx context.Context, email string, page Page) ([]domain.Credential, error)
	// Expired returns up to limit credentials that expired after since and
	// at or before now and whose expiry was not announced yet, soonest
	// first.
	Expired(ctx context.Context, since, now time.Time, limit int) ([]domain.Credential, error)
	// AnnounceExpiry marks the credential's expiry announced at at; false
	// when it was already (of concurrent announcers one gets true).
	AnnounceExpiry(ctx context.Context, id domain.CredentialID, at time.Time) (bool, error)
}

// FirstIssue is what Credentials.InsertFirst writes.
type FirstIssue struct {
	Credential domain.Credential
	Month      time.Time        // the start of the quota's month
	Limit      int              // the month's quota (domain.Unlimited for none)
	Mail       *domain.Mail     // the recipient's mail, or nil
	Activity   *domain.Activity // the issue's activity entry, or nil
	// Version is the IssueContext.Version the issue was decided on (its
	// organization, role, badge and key), checked as it is written; ""
	// checks nothing.
	Version string
	// UserID is the user whose role the issue context holds ("" for API
	// keys and for no check).
	UserID string
}

// Verifiable is what Credentials.Verifiable reads.
type Verifiable struct {
	Credential domain.Credential
	Org        domain.Organization
	Badge      domain.Badge
	// ActiveKey is the fragment of the organization's active signing key
	// ("" when it has none): a key of the organization that is not the
	// active one is retired.
	ActiveKey string
	// StatusListVersion is the version the credential's status list was
	// last published at (domain.StatusList.Published; 0 without a list):
	// what a verifier's cache of the list is checked against, as an ETag.
	StatusListVersion int64
}

// IssueContext is what Credentials.IssueContext reads.
type IssueContext struct {
	Org   OrgWithRole
	Badge *domain.Badge
	Key   *domain.SigningKey
	// Version changes whenever anything above does (an opaque string that
	// only the store that read it compares).
	Version string
}

// ErrContextChanged is returned by Credentials.InsertFirst when the issue
// context it was given the Version of has changed since it was read.
var ErrContextChanged = &domain.Error{Code: "ISSUE_CONTEXT_CHANGED", Detail: "the organization, badge, key or role changed while issuing"}

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

// VCRecords persists the credentials issued through the VC-API
// (domain.VCRecord).
type VCRecords interface {
	// Insert stores a new record; its ID or its digest taken returns an
	// error matching ErrIDTaken.
	Insert(ctx context.Context, r domain.VCRecord) error
	// ByDigest returns the organization's record of the signed payload
	// whose hex SHA-256 is digest.
	ByDigest(ctx context.Context, orgID, digest string) (domain.VCRecord, error)
	// ByVCID returns the organization's records signed with the
	// credential id vcID, newest first, at most limit; none is an empty
	// slice.
	ByVCID(ctx context.Context, orgID, vcID string, limit int) ([]domain.VCRecord, error)
	// ForUpdate is ByVCID, the records locked until the transaction
	// ends.
	ForUpdate(ctx context.Context, orgID, vcID string, limit int) ([]domain.VCRecord, error)
	// Update stores the record's revocation and suspension.
	Update(ctx context.Context, r domain.VCRecord) error
}

// StatusLists persists organizations' status lists (domain.StatusList).
type StatusLists interface {
	// Create stores a new list with its first documents; a list of the
	// organization with the same Seq returns an error matching
	// domain.ErrInvalidState (a concurrent creator won).
	Create(ctx context.Context, l domain.StatusList) error
	// Allocate hands out n consecutive places of one of the organization's
	// lists with room for all n (the newest such list), atomically under
	// concurrent callers, and returns the list (without its documents)
	// and the first place's number. ErrNotFound when no list has room.
	Allocate(ctx context.Context, orgID string, n int) (domain.StatusList, int, error)
	// Get returns the list with its documents.
	Get(ctx context.Context, id string) (domain.StatusList, error)
	// Last returns the organization's list with the highest Seq, or
	// ErrNotFound.
	Last(ctx context.Context, orgID string) (domain.StatusList, error)
	// Changed marks the lists changed, in the transaction at hand: their
	// Version goes up and they are due for publishing at due (the relay
	// publishes them first when the transaction commits).
	Changed(ctx context.Context, due time.Time, ids ...string) error
	// ChangedOrg is Changed for every list of the organization.
	ChangedOrg(ctx context.Context, orgID string, due time.Time) error
	// Entries returns the places of the list's credentials (badge
	// credentials and VC-API records) that are revoked and those
	// suspended.
	Entries(ctx context.Context, id string) (revoked, suspended []int, err error)
	// Publish stores the documents built from version (docs' Revocation,
	// Suspension and their proofs), unless documents of that version or a
	// later one are stored already (then it reports false and writes
	// nothing).
	Publish(ctx context.Context, id string, version int64, docs domain.StatusList, at time.Time) (bool, error)
	// Due returns up to limit lists with unpublished changes whose next
	// attempt is due at now, and moves their next attempt to next.
	Due(ctx context.Context, now, next time.Time, limit int) ([]string, error)
}
