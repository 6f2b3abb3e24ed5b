package domain

import "time"

// User is a person's account, identified by email.
type User struct {
	ID              string
	Email           string // normalized
	Name            string
	PasswordHash    string // argon2id, PHC string format
	EmailVerifiedAt *time.Time
	CreatedAt       time.Time
	MFAEnabled      bool // sign-in asks for a code mailed to Email
}

// Verified reports whether the user confirmed their email address.
func (u User) Verified() bool { return u.EmailVerifiedAt != nil }

// Session lifetimes: a session ends SessionTTL after sign-in (absolute)
// or SessionIdleTTL after its last use (idle), whichever comes first.
const (
	SessionTTL     = 7 * 24 * time.Hour
	SessionIdleTTL = 24 * time.Hour
)

// Session is a signed-in user's bearer token, stored only as a hash.
type Session struct {
	ID         string
	UserID     string
	TokenHash  []byte // sha256 of the token
	CreatedAt  time.Time
	ExpiresAt  time.Time // absolute expiry
	LastSeenAt time.Time // last authenticated use (to the minute)
	RevokedAt  *time.Time
	IP         string // client address at sign-in
	UserAgent  string // at sign-in, cut to 256 bytes
	// MFA says the sign-in that opened the session took an emailed code
	// as well as the password.
	MFA bool
}

// Live reports whether the session can authenticate at now: not revoked,
// before its absolute expiry and used within SessionIdleTTL.
func (s Session) Live(now time.Time) bool {
	return s.RevokedAt == nil && now.Before(s.EndsAt())
}

// EndsAt is when the session ends unless used again: its absolute expiry,
// or its idle expiry if sooner.
func (s Session) EndsAt() time.Time {
	if idle := s.IdleExpiry(); idle.Before(s.ExpiresAt) {
		return idle
	}
	return s.ExpiresAt
}

// IdleExpiry is when the session ends unless used again.
func (s Session) IdleExpiry() time.Time {
	last := s.LastSeenAt
	if last.Before(s.CreatedAt) {
		last = s.CreatedAt
	}
	return last.Add(SessionIdleTTL)
}

// Sign-in lock-out: LoginFailureLimit failed sign-ins of one email within
// LoginFailureWindow lock it for FirstLockout, doubled for each lock-out in
// a row (up to MaxLockout). A successful sign-in, a password reset, or a
// day without lock-out after the last one starts over.
const (
	LoginFailureLimit  = 5
	LoginFailureWindow = 15 * time.Minute
	FirstLockout       = 15 * time.Minute
	MaxLockout         = 24 * time.Hour
)

// LoginGuard is the failed sign-in record of one email (registered or
// not: unknown emails lock the same way, so locking tells nothing).
type LoginGuard struct {
	Email       string // normalized
	Failures    int    // failed sign-ins since WindowStart
	WindowStart time.Time
	LockedUntil *time.Time
	Lockouts    int // lock-outs in a row
}

// Locked reports whether sign-in is refused at now, and until when.
func (g LoginGuard) Locked(now time.Time) (time.Time, bool) {
	if g.LockedUntil != nil && now.Before(*g.LockedUntil) {
		return *g.LockedUntil, true
	}
	return time.Time{}, false
}

// Failed records a failed sign-in at now and reports whether it locked
// the email.
func (g LoginGuard) Failed(now time.Time) (LoginGuard, bool) {
	if g.LockedUntil != nil && now.After(g.LockedUntil.Add(MaxLockout)) {
		g.Lockouts = 0 // a quiet day since the last lock-out
	}
	if g.Failures == 0 || !now.Before(g.WindowStart.Add(LoginFailureWindow)) {
		g.Failures, g.WindowStart = 0, now
	}
	g.Failures++
	if g.Failures < LoginFailureLimit {
		return g, false
	}
	lock := FirstLockout
	for i := 0; i < g.Lockouts && lock < MaxLockout; i++ {
		lock *= 2
	}
	until := now.Add(min(lock, MaxLockout))
	g.LockedUntil, g.Failures = &until, 0
	g.Lockouts++
	return g, true
}

// Email one-time-code MFA: a 6-digit code, valid MFACodeTTL, refused after
// MFAMaxAttempts wrong tries, used once.
const (
	MFACodeTTL     = 10 * time.Minute
	MFAMaxAttempts = 5
	MFACodeDigits  = 6
)

// MFAPurpose names what an emailed code proves.
type MFAPurpose string

// What an MFA challenge is for.
const (
	// MFASignIn finishes a sign-in: the code opens a session.
	MFASignIn MFAPurpose = "sign_in"
	// MFAOff confirms that a signed-in user switches their codes off; it
	// never opens a session.
	MFAOff MFAPurpose = "mfa_off"
)

// MFAChallenge is a sign-in (or a change) waiting for its emailed code;
// the code is stored only as a hash.
type MFAChallenge struct {
	ID        string
	UserID    string
	CodeHash  []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	Attempts  int // wrong codes so far
	UsedAt    *time.Time
	Purpose   MFAPurpose
	// DeviceID is the known device the sign-in came through ("" for
	// none): its code is then refused by that device's failures, not by
	// the email's lock-out.
	DeviceID string
}

// Open reports whether a code may still be tried at now.
func (c MFAChallenge) Open(now time.Time) bool {
	return c.UsedAt == nil && c.Attempts < MFAMaxAttempts && now.Before(c.ExpiresAt)
}

// Known devices (OWASP's "device cookies"): every completed sign-in hands
// its client a device token; a later sign-in of the same user that sends
// it is not refused by the email's lock-out, which a stranger can set off
// at will. Its own failures count against the device instead:
// DeviceFailureLimit of them since its last sign-in revoke it. A device
// ends DeviceTTL after its last sign-in.
const (
	DeviceTTL          = 90 * 24 * time.Hour
	DeviceFailureLimit = 5
	DevicePrefix       = "crdv_"
)

// Device is a client that completed a sign-in of its user; its token is
// stored only as a hash, replaced at every sign-in through it.
type Device struct {
	ID         string
	UserID     string
	TokenHash  []byte // sha256 of the token
	CreatedAt  time.Time
	LastUsedAt time.Time // its last completed sign-in
	ExpiresAt  time.Time // LastUsedAt + DeviceTTL
	Failures   int       // failed sign-ins through it since LastUsedAt
	RevokedAt  *time.Time
}

// Live reports whether the device still vouches for sign-ins at now.
func (d Device) Live(now time.Time) bool { return d.RevokedAt == nil && now.Before(d.ExpiresAt) }

// Clean reports whether the guard holds nothing worth keeping.
func (g LoginGuard) Clean() bool { return g.Failures == 0 && g.Lockouts == 0 && g.LockedUntil == nil }

// TokenPurpose names what an emailed single-use token is for.
type TokenPurpose string

// Emailed token purposes.
const (
	PurposeVerifyEmail   TokenPurpose = "verify_email"
	PurposePasswordReset TokenPurpose = "password_reset"
)

// EmailToken is a single-use token sent by email, stored only as a hash.
type EmailToken struct {
	TokenHash []byte
	UserID    string
	Purpose   TokenPurpose
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// APIKeyMode is live or test.
type APIKeyMode string

// API key modes.
const (
	APIKeyLive APIKeyMode = "live"
	APIKeyTest APIKeyMode = "test"
)

// APIKey is an organization's API key; the secret is stored only as a hash.
type APIKey struct {
	ID         string
	OrgID      string
	Name       string
	Mode       APIKeyMode
	Prefix     string // "crk_live_" or "crk_test_"
	Last4      string
	SecretHash []byte // sha256 of the whole secret
	CreatedBy  string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	RevokedAt  *time.Time
	RevokedFor APIKeyRevocation // why, when RevokedAt is set
	LastUsedAt *time.Time
	RateLimit  int // requests per minute set by a platform admin; 0: the default
	// RegeneratedAt is when the secret was last replaced (nil: never).
	RegeneratedAt *time.Time
}

// APIKeyRevocation says why an API key was revoked.
type APIKeyRevocation string

// Reasons for revoking an API key.
const (
	// APIKeyRevokedManually: an owner revoked it.
	APIKeyRevokedManually APIKeyRevocation = ""
	// APIKeyRevokedPlanLimit: a plan change left more active keys than the
	// new plan allows, and this one was not among those kept.
	APIKeyRevokedPlanLimit APIKeyRevocation = "plan_limit"
)

// Active reports whether the key can authenticate at now.
func (k APIKey) Active(now time.Time) bool { return k.RevokedAt == nil && now.Before(k.ExpiresAt) }

// Lifetime is how long the key lives from its creation or, once
// regenerated, from its last regeneration.
func (k APIKey) Lifetime() time.Duration {
	start := k.CreatedAt
	if k.RegeneratedAt != nil {
		start = *k.RegeneratedAt
	}
	return k.ExpiresAt.Sub(start)
}

// Regenerate returns the key with a new secret (its hash and last four
// characters) from now, living lifetime from now: the old secret stops
// working, the ID, name and mode stay. A revoked key stays revoked
// (ErrInvalidState); an expired one comes back to life.
func (k APIKey) Regenerate(hash []byte, last4 string, now time.Time, lifetime time.Duration) (APIKey, error) {
	if k.RevokedAt != nil {
		return APIKey{}, Errorf(CodeInvalidState, "API key %s is revoked; create a new key instead", k.ID)
	}
	k.SecretHash, k.Last4, k.RegeneratedAt, k.ExpiresAt = hash, last4, &now, now.Add(lifetime)
	return k, nil
}

// Actor is who performs an operation: a user (with a session) or an
// organization API key.
type Actor struct {
	UserID     string
	UserEmail  string // verified email of the user
	Admin      bool   // platform administrator
	APIKeyID   string
	APIKeyOrg  string // the organization an API key acts as
	APIKeyMode APIKeyMode
	SessionID  string // the user's session, when signed in with one
	IP         string // the client address, for the activity log
	// APIKeyRateLimit is the API key's own request rate per minute, set
	// by a platform admin (0: the default).
	APIKeyRateLimit int
	// MFA says the user's session was opened with an emailed code as well
	// as the password (organizations may require it).
	MFA bool
}

// IsAPIKey reports whether the actor is an API key.
func (a Actor) IsAPIKey() bool { return a.APIKeyID != "" }

// SessionWithoutCode reports whether the actor is a user's session whose
// sign-in took no emailed code: what an organization requiring codes
// refuses. Work done for a user outside any session (a bulk job's
// worker, a program embedding the core) is no session.
func (a Actor) SessionWithoutCode() bool { return a.SessionID != "" && !a.MFA }

// Anonymous reports whether nobody is signed in.
func (a Actor) Anonymous() bool { return a.UserID == "" && a.APIKeyID == "" }

// ID returns the user or API key ID that performed an operation.
func (a Actor) ID() string {
	if a.IsAPIKey() {
		return a.APIKeyID
	}
	return a.UserID
}
