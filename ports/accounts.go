package ports

import (
	"context"
	"time"

	"github.com/credence-dev/credence/core/domain"
)

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
