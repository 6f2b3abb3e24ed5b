package domain

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Code is a stable machine-readable error code, part of the public API.
type Code string

// The error codes of the public contract.
const (
	CodeValidation          Code = "VALIDATION_FAILED"
	CodeUnauthenticated     Code = "UNAUTHENTICATED"
	CodeEmailNotVerified    Code = "EMAIL_NOT_VERIFIED"
	CodeForbidden           Code = "FORBIDDEN"
	CodePlanRequired        Code = "PLAN_REQUIRED"
	CodePlanLimitReached    Code = "PLAN_LIMIT_REACHED"
	CodeOrgNotApproved      Code = "ORG_NOT_APPROVED"
	CodeSigningKeysMissing  Code = "SIGNING_KEYS_MISSING"
	CodeSigningKeysExist    Code = "SIGNING_KEYS_EXIST"
	CodeDuplicateCredential Code = "DUPLICATE_CREDENTIAL"
	CodeBadgeInactive       Code = "BADGE_INACTIVE"
	CodeBadgeLocked         Code = "BADGE_LOCKED"
	CodeQuotaExceeded       Code = "QUOTA_EXCEEDED"
	CodeNotFound            Code = "NOT_FOUND"
	CodeCredentialPrivate   Code = "CREDENTIAL_PRIVATE"
	CodeEmailMismatch       Code = "EMAIL_MISMATCH"
	CodeAlreadyClaimed      Code = "ALREADY_CLAIMED"
	CodeRateLimited         Code = "RATE_LIMITED"
	CodeInvalidCSV          Code = "INVALID_CSV"
	CodeAccountLocked       Code = "ACCOUNT_LOCKED"
	CodeMFAInvalid          Code = "MFA_INVALID"

	CodeIdempotencyKeyReused  Code = "IDEMPOTENCY_KEY_REUSED"  // same Idempotency-Key, different request
	CodeInvalidImage          Code = "INVALID_IMAGE"           // an image upload that is not PNG/JPEG/WebP, over 1 MB, too large or undecodable
	CodeInvalidCredentialFile Code = "INVALID_CREDENTIAL_FILE" // a presented file (compact JWS or baked PNG) that cannot be read

	// Codes Credence adds where the contract is silent.
	CodeSlugTaken       Code = "SLUG_TAKEN"       // an org or badge slug is already in use
	CodeInvalidState    Code = "INVALID_STATE"    // the resource's state does not allow the operation
	CodeNotClaimable    Code = "NOT_CLAIMABLE"    // claiming an expired or revoked credential
	CodeInvalidToken    Code = "INVALID_TOKEN"    // an emailed link token that is unknown, used or expired
	CodeInvalidPassword Code = "INVALID_PASSWORD" // a password that breaks the policy
	CodeConcurrentIssue Code = "CONCURRENT_ISSUE" // concurrent issues to one recipient kept overtaking this one
	CodeLastOwner       Code = "LAST_OWNER"       // the change would leave an organization without an owner
	CodeWrongPassword   Code = "WRONG_PASSWORD"   // a wrong current password confirming a change to one's own account
	CodeMFARequired     Code = "MFA_REQUIRED"     // the organization requires sessions opened with an emailed code

	// CodeWebhookURLRefused: a webhook URL that is not https, or that
	// resolves to an address webhooks may not reach (API.md).
	CodeWebhookURLRefused Code = "WEBHOOK_URL_REFUSED"
	CodeUnavailable       Code = "UNAVAILABLE" // a service the request needs (the database) cannot be reached: retry later
)

// Error is a domain error that carries a stable code and a human message.
// Two *Error values match under errors.Is when their codes are equal, so
// callers compare against the sentinels below whatever the message.
type Error struct {
	Code   Code
	Detail string
}

func (e *Error) Error() string { return e.Detail }

// ErrorCode returns the stable code.
func (e *Error) ErrorCode() Code { return e.Code }

// Is reports whether target is an *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Errorf builds an *Error with a formatted detail.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Detail: fmt.Sprintf(format, args...)}
}

// Sentinels for conditions callers branch on. Compare with errors.Is.
var (
	ErrNotFound           = &Error{CodeNotFound, "not found"}
	ErrUnauthenticated    = &Error{CodeUnauthenticated, "authentication required"}
	ErrEmailNotVerified   = &Error{CodeEmailNotVerified, "verify your email address before signing in"}
	ErrMFAInvalid         = &Error{CodeMFAInvalid, "wrong or expired code: sign in again for a new one"}
	ErrForbidden          = &Error{CodeForbidden, "your role does not allow this"}
	ErrPlanRequired       = &Error{CodePlanRequired, "this feature needs a higher plan"}
	ErrPlanLimitReached   = &Error{CodePlanLimitReached, "the plan's limit is reached"}
	ErrOrgNotApproved     = &Error{CodeOrgNotApproved, "the organization is not approved for issuing"}
	ErrSigningKeysMissing = &Error{CodeSigningKeysMissing, "generate signing keys before issuing"}
	ErrSigningKeysExist   = &Error{CodeSigningKeysExist, "signing keys exist already; rotate them instead"}
	ErrBadgeInactive      = &Error{CodeBadgeInactive, "the badge is deactivated"}
	ErrBadgeLocked        = &Error{CodeBadgeLocked, "the badge has issued credentials; its signed fields cannot change"}
	ErrCredentialPrivate  = &Error{CodeCredentialPrivate, "this credential is private"}
	ErrEmailMismatch      = &Error{CodeEmailMismatch, "the credential was issued to another email address"}
	ErrAlreadyClaimed     = &Error{CodeAlreadyClaimed, "the credential is already claimed"}
	ErrNotClaimable       = &Error{CodeNotClaimable, "expired, revoked and suspended credentials cannot be claimed"}
	ErrSlugTaken          = &Error{CodeSlugTaken, "the slug is already in use"}
	ErrInvalidState       = &Error{CodeInvalidState, "the operation is not allowed in the current state"}
	ErrInvalidToken       = &Error{CodeInvalidToken, "the link is invalid, used or expired"}
	ErrWrongPassword      = &Error{CodeWrongPassword, "the current password is wrong"}
	ErrDuplicate          = &Error{CodeDuplicateCredential, "the recipient already holds an active credential of this badge"}
	ErrQuotaExceeded      = &Error{CodeQuotaExceeded, "the monthly recipient quota is reached"}
	ErrValidation         = &Error{CodeValidation, "validation failed"}
	ErrInvalidCSV         = &Error{CodeInvalidCSV, "the file is not an acceptable CSV file"}
	ErrMFARequired        = &Error{CodeMFARequired, "this organization requires sign-in with an emailed code: sign out and sign in again"}
)

// CodeOf returns the stable code of err, or "" when err carries none.
func CodeOf(err error) Code {
	var c interface{ ErrorCode() Code }
	if errors.As(err, &c) {
		return c.ErrorCode()
	}
	return ""
}

// DuplicateError is returned when the recipient already holds a current
// credential of the badge; Existing names it.
type DuplicateError struct {
	Existing CredentialID
}

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("recipient already holds credential %s of this badge", e.Existing)
}

// ErrorCode returns DUPLICATE_CREDENTIAL.
func (e *DuplicateError) ErrorCode() Code { return CodeDuplicateCredential }

// Is matches ErrDuplicate.
func (e *DuplicateError) Is(target error) bool { return target == ErrDuplicate }

// QuotaError is returned when the monthly distinct-recipient quota is used up.
type QuotaError struct {
	Used     int
	Limit    int
	ResetsAt time.Time
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("monthly recipient quota reached (%d of %d); resets %s", e.Used, e.Limit, e.ResetsAt.Format(time.RFC3339))
}

// ErrorCode returns QUOTA_EXCEEDED.
func (e *QuotaError) ErrorCode() Code { return CodeQuotaExceeded }

// Is matches ErrQuotaExceeded.
func (e *QuotaError) Is(target error) bool { return target == ErrQuotaExceeded }

// FieldError describes one bad input field.
type FieldError struct {
	Location string // e.g. "body.email"
	Message  string
	Value    any
}

// ValidationError lists every bad field of one request.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	if len(e.Fields) == 1 {
		return fmt.Sprintf("%s: %s", e.Fields[0].Location, e.Fields[0].Message)
	}
	return fmt.Sprintf("%d fields are invalid", len(e.Fields))
}

// ErrorCode returns VALIDATION_FAILED.
func (e *ValidationError) ErrorCode() Code { return CodeValidation }

// Is matches ErrValidation.
func (e *ValidationError) Is(target error) bool { return target == ErrValidation }

// Validator collects field errors; Err returns nil when there are none.
type Validator struct{ fields []FieldError }

// Add records a bad field.
func (v *Validator) Add(location, message string, value any) {
	v.fields = append(v.fields, FieldError{Location: location, Message: message, Value: value})
}

// Check records a bad field when ok is false, and returns ok.
func (v *Validator) Check(ok bool, location, message string, value any) bool {
	if !ok {
		v.Add(location, message, value)
	}
	return ok
}

// NoControls records a bad field when value is not ControlFree (one
// line), naming the field after the last part of location, and returns
// whether it was clean.
func (v *Validator) NoControls(location, value string) bool {
	name := location[strings.LastIndexByte(location, '.')+1:]
	return v.Check(ControlFree(value, false), location, name+" must be text without control characters", value)
}

// Err returns a *ValidationError, or nil when every check passed.
func (v *Validator) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &ValidationError{Fields: v.fields}
}

// JoinValidation merges the fields of every *ValidationError among errs
// into one; a non-validation error wins as it is. Nil when all are nil.
func JoinValidation(errs ...error) error {
	var fields []FieldError
	for _, err := range errs {
		if err == nil {
			continue
		}
		var ve *ValidationError
		if !errors.As(err, &ve) {
			return err
		}
		fields = append(fields, ve.Fields...)
	}
	if len(fields) == 0 {
		return nil
	}
	return &ValidationError{Fields: fields}
}

// RateLimitError is returned when an action is refused until RetryAt.
type RateLimitError struct {
	Detail  string
	RetryAt time.Time
}

func (e *RateLimitError) Error() string { return e.Detail }

// ErrorCode returns RATE_LIMITED.
func (e *RateLimitError) ErrorCode() Code { return CodeRateLimited }

// Is matches any RATE_LIMITED error.
func (e *RateLimitError) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == CodeRateLimited
}

// LockedError refuses a sign-in until RetryAt (ACCOUNT_LOCKED).
type LockedError struct {
	RetryAt time.Time
}

func (e *LockedError) Error() string {
	return "too many failed sign-ins: try again after " + e.RetryAt.UTC().Format(time.RFC3339)
}

// ErrorCode returns ACCOUNT_LOCKED.
func (e *LockedError) ErrorCode() Code { return CodeAccountLocked }

// Is matches any ACCOUNT_LOCKED error.
func (e *LockedError) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == CodeAccountLocked
}

// RetryTime is when the refused action may be tried again.
func (e *LockedError) RetryTime() time.Time { return e.RetryAt }

// RetryTime is when the refused action may be tried again.
func (e *RateLimitError) RetryTime() time.Time { return e.RetryAt }
