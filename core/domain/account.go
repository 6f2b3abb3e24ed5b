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
}

// Verified reports whether the user confirmed their email address.
func (u User) Verified() bool { return u.EmailVerifiedAt != nil }

// Session is a signed-in user's bearer token, stored only as a hash.
type Session struct {
	ID        string
	UserID    string
	TokenHash []byte // sha256 of the token
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt *time.Time
}

// Live reports whether the session can authenticate at now.
func (s Session) Live(now time.Time) bool { return s.RevokedAt == nil && now.Before(s.ExpiresAt) }

// TokenPurpose names what an emailed single-use token is for.
type TokenPurpose string

// Emailed token purposes.
const (
	PurposeVerifyEmail TokenPurpose = "verify_email"
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
	LastUsedAt *time.Time
}

// Active reports whether the key can authenticate at now.
func (k APIKey) Active(now time.Time) bool { return k.RevokedAt == nil && now.Before(k.ExpiresAt) }

// Actor is who performs an operation: a user (with a session) or an
// organization API key.
type Actor struct {
	UserID     string
	UserEmail  string // verified email of the user
	Admin      bool   // platform administrator
	APIKeyID   string
	APIKeyOrg  string // the organization an API key acts as
	APIKeyMode APIKeyMode
}

// IsAPIKey reports whether the actor is an API key.
func (a Actor) IsAPIKey() bool { return a.APIKeyID != "" }

// Anonymous reports whether nobody is signed in.
func (a Actor) Anonymous() bool { return a.UserID == "" && a.APIKeyID == "" }

// ID returns the user or API key ID that performed an operation.
func (a Actor) ID() string {
	if a.IsAPIKey() {
		return a.APIKeyID
	}
	return a.UserID
}
