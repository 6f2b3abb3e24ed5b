// Package accounts holds the account use cases: sign-up, email
// verification, sign-in sessions, and turning a bearer token into an actor.
package accounts

import (
	"log/slog"
	"strings"
	"time"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/work"
	"github.com/credence-dev/credence/ports"
)

// Lifetimes of account tokens, and the password policy.
const (
	VerifyEmailTTL   = 24 * time.Hour
	PasswordResetTTL = time.Hour
	MinPasswordLen   = 10
	MaxPasswordLen   = 256
	SessionPrefix    = "crs_"
	APIKeyPrefix     = "crk_"
	verifyLinkPath   = "/verify-email?token="
	resetLinkPath    = "/reset-password?token="
	maxBearerLength  = 512
	// touchEvery is how stale a session's LastSeenAt (an API key's
	// LastUsedAt) may get before a request writes it again.
	touchEvery   = time.Minute
	maxUserAgent = 256
)

// Config is what the service needs beyond its ports.
type Config struct {
	// PublicURL is the base of links in emails, without a trailing slash.
	PublicURL string
	// AdminEmails are the verified emails of platform administrators.
	AdminEmails []string
	// Limiter and EmailLimit limit the mail one address can be sent on
	// request (verification resends, password resets), registered or not
	// (nil Limiter: no limit).
	Limiter    ports.RateLimiter
	EmailLimit ports.Limit
	// SignInLimit is each client address's budget of failed sign-ins
	// (wrong passwords and codes, whatever the email), counted by Limiter
	// under the address's domain.LimitSubject (Rate 0: no budget).
	SignInLimit ports.Limit
	// APIKeyCacheTTL is how long Authenticate may use an API key it
	// looked up without reading it again (0: every request reads it). A
	// key revoked through another process keeps working that long there;
	// through this one, it stops at once (ForgetAPIKeys).
	APIKeyCacheTTL time.Duration
}

// Service runs the account use cases.
type Service struct {
	store  Store
	clock  ports.Clock
	outbox *work.Outbox
	log    *slog.Logger
	cfg    Config
	admins map[string]bool
	keys   *keyCache
}

// New returns an account service.
// Account mail goes through outbox.
func New(store Store, clock ports.Clock, outbox *work.Outbox, log *slog.Logger, cfg Config) *Service {
	admins := map[string]bool{}
	for _, e := range cfg.AdminEmails {
		if e = domain.NormalizeEmail(e); e != "" {
			admins[e] = true
		}
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return &Service{store: store, clock: clock, outbox: outbox, log: log, cfg: cfg, admins: admins, keys: newKeyCache(cfg.APIKeyCacheTTL)}
}
