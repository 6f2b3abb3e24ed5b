package domain

import (
	"strings"
	"time"
	"unicode/utf8"
)

// CredentialStatus is what a credential is at a given instant.
type CredentialStatus string

// Credential statuses.
const (
	StatusPending CredentialStatus = "pending" // issued, not yet claimed
	StatusValid   CredentialStatus = "valid"   // claimed by its recipient
	StatusExpired CredentialStatus = "expired" // past expiresAt
	StatusRevoked CredentialStatus = "revoked"
	// StatusSuspended is a credential its issuer suspended, until lifted.
	StatusSuspended CredentialStatus = "suspended"
)

// ValidStatus reports whether s names a credential status.
func ValidStatus(s CredentialStatus) bool {
	return s == StatusPending || s == StatusValid || s == StatusExpired || s == StatusRevoked || s == StatusSuspended
}

// ReasonSupersededByRenewal is the revocation reason of a time-bound
// credential replaced by a renewal.
const ReasonSupersededByRenewal = "superseded by renewal"

// Credential is an issued, signed credential. JWS holds the exact signed
// bytes (compact serialization); they are stored and served unchanged.
type Credential struct {
	ID               CredentialID
	OrgID            string
	BadgeID          string
	RecipientName    string
	RecipientEmail   string // trimmed, lower-cased
	IssuedAt         time.Time
	ExpiresAt        *time.Time
	Public           bool
	Test             bool
	ClaimedAt        *time.Time
	RevokedAt        *time.Time
	RevocationReason string
	SuspendedAt      *time.Time // nil when not suspended
	SuspensionReason string
	// Slot is where the credential's revocation and suspension are
	// published; nil for credentials issued before status lists.
	Slot           *StatusSlot
	SupersedesID   CredentialID // "" when none
	SupersededByID CredentialID // "" when none
	KeyID          string       // the JWS header kid
	JWS            string
	// Proof is the embedded Data Integrity proof (JSON) of the signed
	// document, made when it was issued; "" without one.
	Proof     string
	CreatedBy string // user or API key ID
}

// Status returns the credential's status at now: revoked wins over
// suspended, suspended over expired, expired over claimed.
func (c Credential) Status(now time.Time) CredentialStatus {
	switch {
	case c.RevokedAt != nil:
		return StatusRevoked
	case c.SuspendedAt != nil:
		return StatusSuspended
	case c.ExpiresAt != nil && !now.Before(*c.ExpiresAt):
		return StatusExpired
	case c.ClaimedAt != nil:
		return StatusValid
	default:
		return StatusPending
	}
}

// Claim marks the credential claimed by the signed-in user whose verified
// email is userEmail.
func (c *Credential) Claim(userEmail string, now time.Time) error {
	if NormalizeEmail(userEmail) != c.RecipientEmail {
		return ErrEmailMismatch
	}
	if c.ClaimedAt != nil {
		return ErrAlreadyClaimed
	}
	if s := c.Status(now); s == StatusRevoked || s == StatusExpired || s == StatusSuspended {
		return Errorf(CodeNotClaimable, "the credential is %s and cannot be claimed", s)
	}
	t := Truncate(now)
	c.ClaimedAt = &t
	return nil
}

// Revoke revokes the credential for reason, which is required.
func (c *Credential) Revoke(reason string, now time.Time) error {
	reason, err := requireReason(reason)
	if err != nil {
		return err
	}
	if c.RevokedAt != nil {
		return Errorf(CodeInvalidState, "credential %s is already revoked", c.ID)
	}
	t := Truncate(now)
	c.RevokedAt, c.RevocationReason = &t, reason
	return nil
}

// Suspend suspends the credential for reason, which is required: until
// Unsuspend it verifies as suspended and cannot be claimed. A revoked
// credential cannot be suspended.
func (c *Credential) Suspend(reason string, now time.Time) error {
	reason, err := requireReason(reason)
	if err != nil {
		return err
	}
	switch {
	case c.RevokedAt != nil:
		return Errorf(CodeInvalidState, "credential %s is revoked: revocation is final, there is nothing to suspend", c.ID)
	case c.SuspendedAt != nil:
		return Errorf(CodeInvalidState, "credential %s is already suspended", c.ID)
	}
	t := Truncate(now)
	c.SuspendedAt, c.SuspensionReason = &t, reason
	return nil
}

// Unsuspend lifts the credential's suspension.
func (c *Credential) Unsuspend() error {
	if c.SuspendedAt == nil {
		return Errorf(CodeInvalidState, "credential %s is not suspended", c.ID)
	}
	c.SuspendedAt, c.SuspensionReason = nil, ""
	return nil
}

// StatusSlot is a credential's place in its issuer's status lists: the
// same index of the list's revocation and suspension bitstrings.
type StatusSlot struct {
	List  string // the status list's ID
	Index int
}

// IssueState is the pre-issue state of a badge and recipient email.
type IssueState string

// Pre-issue states.
const (
	StateNew               IssueState = "new"
	StateExpired           IssueState = "expired"
	StateActiveTimeBound   IssueState = "active_time_bound"
	StateRevoked           IssueState = "revoked"
	StateActiveNonExpiring IssueState = "active_non_expiring"
)

// PreIssueState classifies the recipient's current credential of the badge
// (the latest one, nil when none). A suspended credential counts as what
// it would be without its suspension: issuing again to its recipient
// renews or refuses as for an active one.
func PreIssueState(current *Credential, now time.Time) IssueState {
	if current == nil {
		return StateNew
	}
	switch {
	case current.RevokedAt != nil:
		return StateRevoked
	case current.ExpiresAt != nil && !now.Before(*current.ExpiresAt):
		return StateExpired // suspended or not: it has expired
	}
	if current.ExpiresAt != nil {
		return StateActiveTimeBound
	}
	return StateActiveNonExpiring
}

// Recipient is who a credential is issued to.
type Recipient struct {
	Name  string
	Email string
}

// NormalizeRecipient trims the name, normalizes the email and validates both.
func NormalizeRecipient(r Recipient) (Recipient, error) {
	var v Validator
	name, ok := CleanText(r.Name, 200, false)
	v.Check(ok && name != "", "body.recipient.name", "name must be 1 to 200 characters of text", r.Name)
	email := NormalizeEmail(r.Email)
	v.Check(ValidEmail(email), "body.recipient.email", "email must be a valid address", r.Email)
	return Recipient{Name: name, Email: email}, v.Err()
}

// Issuance plans what issuing does given the current credential: the new
// credential's links, and the earlier credential updated (revoked and/or
// marked superseded). It returns DUPLICATE_CREDENTIAL for an active
// non-expiring one.
type Issuance struct {
	State    IssueState
	Previous *Credential // updated copy of the earlier credential, nil when none
}

// PlanIssue applies the rules of "issuing again" to next (already filled
// with its ID and dates) and the recipient's current credential. Test and
// live credentials form separate chains: a current credential of the other
// mode is none of next's business.
func PlanIssue(next *Credential, current *Credential, now time.Time) (Issuance, error) {
	if current != nil && current.Test != next.Test {
		current = nil
	}
	state := PreIssueState(current, now)
	if state == StateNew {
		return Issuance{State: state}, nil
	}
	if state == StateActiveNonExpiring {
		return Issuance{State: state}, &DuplicateError{Existing: current.ID}
	}
	prev := *current
	if state == StateActiveTimeBound {
		t := Truncate(now)
		prev.RevokedAt, prev.RevocationReason = &t, ReasonSupersededByRenewal
	}
	prev.SupersededByID = next.ID
	next.SupersedesID = prev.ID
	return Issuance{State: state, Previous: &prev}, nil
}

// MaskEmail shows the first character of the local part and the domain:
// "r***@example.com".
func MaskEmail(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 1 {
		return "***"
	}
	_, first := utf8.DecodeRuneInString(email)
	return email[:first] + "***" + email[at:]
}
