// Package accounts holds the account use cases: sign-up, email
// verification, sign-in sessions, and turning a bearer token into an actor.
package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"time"

	"github.com/credence-dev/credence/core/access"
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
}

// Service runs the account use cases.
type Service struct {
	store  Store
	clock  ports.Clock
	outbox *work.Outbox
	log    *slog.Logger
	cfg    Config
	admins map[string]bool
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
	return &Service{store: store, clock: clock, outbox: outbox, log: log, cfg: cfg, admins: admins}
}

// SignUpInput is a new account's details.
type SignUpInput struct {
	Email    string
	Password string
	Name     string
}

// SignUp creates an unverified account and mails a verification link. An
// email already registered gets the same answer and no change, so sign-up
// tells nobody which emails have accounts; its owner is mailed instead.
// Both take the same work: the password is hashed, one insert runs (it
// writes nothing for a taken email, leaving the transaction usable) and
// one deferred mail is written with it; which mail it becomes is decided
// at delivery (composeVerification).
func (s *Service) SignUp(ctx context.Context, in SignUpInput) error {
	email := domain.NormalizeEmail(in.Email)
	var v domain.Validator
	v.Check(domain.ValidEmail(email), "body.email", "email must be a valid address", in.Email)
	name, ok := domain.CleanText(in.Name, 120, false)
	v.Check(ok && name != "", "body.name", "name must be 1 to 120 characters of text", in.Name)
	checkPassword(&v, in.Password, email)
	if err := v.Err(); err != nil {
		return err
	}
	hash, err := HashPassword(in.Password)
	if err != nil {
		return err
	}
	now := domain.Truncate(s.clock.Now())
	u := domain.User{ID: domain.NewID(), Email: email, Name: name, PasswordHash: hash, CreatedAt: now}
	err = s.outbox.WithinDeferred(ctx, func(ctx context.Context, later work.Defer) error {
		if err := s.store.Users().Create(ctx, u); err != nil && !errors.Is(err, ports.ErrEmailTaken) {
			return err
		}
		return later(domain.MailVerifyEmail, email, verifyInput{SignUp: u.ID})
	})
	if err != nil {
		return fmt.Errorf("sign up: %w", err)
	}
	return nil
}

// VerifyEmail consumes a verification token.
func (s *Service) VerifyEmail(ctx context.Context, token string) error {
	if token == "" || len(token) > maxBearerLength {
		return domain.ErrInvalidToken
	}
	now := domain.Truncate(s.clock.Now())
	return s.store.WithinTx(ctx, func(ctx context.Context) error {
		t, err := s.store.EmailTokens().Use(ctx, domain.HashSecret(token), domain.PurposeVerifyEmail, now)
		if err != nil {
			return err
		}
		return s.store.Users().MarkVerified(ctx, t.UserID, now)
	})
}

// checkEmail refuses a normalized email that is no valid address.
func checkEmail(email string) error {
	var v domain.Validator
	v.Check(domain.ValidEmail(email), "body.email", "email must be a valid address", email)
	return v.Err()
}

// ResendVerification mails a fresh link to an unverified account. It
// answers the same, after the same work, whatever the email: it writes a
// deferred mail, and only its composition, in the worker, looks the
// account up (composeVerification).
func (s *Service) ResendVerification(ctx context.Context, email string) error {
	email = domain.NormalizeEmail(email)
	if err := checkEmail(email); err != nil {
		return err
	}
	if err := s.limitEmail(ctx, email); err != nil {
		return err
	}
	return s.outbox.WithinDeferred(ctx, func(ctx context.Context, later work.Defer) error {
		return later(domain.MailVerifyEmail, email, verifyInput{})
	})
}

// limitEmail counts one requested mail to email against Config.EmailLimit,
// before looking the address up, so that the limit answers the same for
// every address. An unreachable limiter lets the request through.
func (s *Service) limitEmail(ctx context.Context, email string) error {
	if s.cfg.Limiter == nil {
		return nil
	}
	res, err := s.cfg.Limiter.Allow(ctx, "email:"+email, s.cfg.EmailLimit)
	if err != nil {
		s.log.WarnContext(ctx, "rate limiter unavailable: mail request let through", "err", err)
		return nil
	}
	if !res.Allowed {
		return &domain.RateLimitError{Detail: "too many emails asked for this address: try again later",
			RetryAt: s.clock.Now().Add(res.RetryAfter.Truncate(time.Second) + time.Second)}
	}
	return nil
}

// SessionToken is a new session's bearer token, shown once, with the
// client's device token for its later sign-ins (a new one at each). When
// MFAChallenge is set instead, the account needs its emailed code first
// (VerifyMFA with that challenge).
type SessionToken struct {
	Token        string
	ExpiresAt    time.Time
	DeviceToken  string
	MFAChallenge string
}

// LoginInput is a sign-in: the email and password, and the device token
// that an earlier sign-in handed this client, if any.
type LoginInput struct {
	Email       string
	Password    string
	DeviceToken string
}

// ErrBadCredentials is the one answer to a wrong email or password.
var ErrBadCredentials = domain.Errorf(domain.CodeUnauthenticated, "wrong email or password")

// Client is where a request comes from, recorded with a new session.
type Client struct {
	IP        string
	UserAgent string
}

// Login checks the password and opens a session.
//
// Every email, registered or not, is locked for a while after
// domain.LoginFailureLimit failed sign-ins (ACCOUNT_LOCKED, even with the
// right password), so neither the answers nor the lock-out tell which
// emails have accounts; the owner of a registered one is mailed. A sign-in
// through a known device of the account (in.DeviceToken) is not refused by
// that lock, which strangers can set off at will: its wrong passwords
// count against the device instead. A device token of another account, or
// an expired or revoked one, counts as none, and nothing in the answers
// tells which. Failed sign-ins also spend the client address's budget
// (Config.SignInLimit), whatever the email: over it, every sign-in from
// the address is RATE_LIMITED before any password is checked. An
// unverified account gets EMAIL_NOT_VERIFIED only after the right
// password. A hash made with older argon2id parameters is replaced.
func (s *Service) Login(ctx context.Context, in LoginInput, from Client) (SessionToken, error) {
	email := domain.NormalizeEmail(in.Email)
	var v domain.Validator
	if !v.NoControls("body.email", email) { // no account has it, and the log keeps tried emails
		return SessionToken{}, v.Err()
	}
	now := domain.Truncate(s.clock.Now())
	attempt, err := s.reserveSignIn(ctx, from)
	if err != nil {
		return SessionToken{}, err
	}
	defer s.settle(ctx, attempt)
	guard, err := s.store.LoginGuards().Get(ctx, email)
	if err != nil {
		return SessionToken{}, err
	}
	u, err := s.store.Users().GetByEmail(ctx, email)
	known := err == nil
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		return SessionToken{}, err
	}
	dev, err := s.knownDevice(ctx, in.DeviceToken, u, now)
	if err != nil {
		return SessionToken{}, err
	}
	if until, locked := guard.Locked(now); locked && dev == nil {
		return SessionToken{}, &domain.LockedError{RetryAt: until}
	}
	var ok bool
	switch {
	case len(in.Password) > MaxPasswordLen*4:
	case known:
		ok = CheckPassword(u.PasswordHash, in.Password)
	default:
		CheckPassword(dummyHash, in.Password) // as slow as a real check
	}
	if !ok {
		attempt.failed = true
		if dev != nil {
			if err := s.failedOnDevice(ctx, *dev, u, from, now); err != nil {
				return SessionToken{}, err
			}
			return SessionToken{}, ErrBadCredentials
		}
		return SessionToken{}, s.failedLogin(ctx, email, u, now, from)
	}
	if NeedsRehash(u.PasswordHash) {
		if hash, err := HashPassword(in.Password); err == nil {
			if err := s.store.Users().SetPassword(ctx, u.ID, hash); err != nil {
				s.log.WarnContext(ctx, "rehash password", "user", u.ID, "err", err)
			}
		}
	}
	if !u.Verified() {
		return SessionToken{}, domain.ErrEmailNotVerified
	}
	mfa, err := s.mfaNeeded(ctx, u)
	if err != nil {
		return SessionToken{}, err
	}
	if mfa {
		// The failures are forgotten only once the code is right too:
		// otherwise the password would buy endless code guesses.
		id, err := s.challenge(ctx, u, domain.MFASignIn, dev, now)
		return SessionToken{MFAChallenge: id}, err
	}
	// A sign-in through a known device leaves the email's failures alone:
	// forgetting them would hand whoever set them off a fresh round.
	if dev == nil && !guard.Clean() {
		if err := s.forgetFailures(ctx, email); err != nil {
			return SessionToken{}, err
		}
	}
	return s.signedIn(ctx, u, dev, from, false, now)
}

// signInAttempt is one event of a client address's budget of failed
// sign-ins (Config.SignInLimit): reserved before a password or code is
// checked, so that concurrent guesses cannot overdraw the budget, and
// given back by settle unless the attempt failed.
type signInAttempt struct {
	key    string // the limiter's key; "" when nothing was reserved
	failed bool   // a wrong password or code: the event stays spent
}

// reserveSignIn takes one event of from's budget, or answers RATE_LIMITED
// when it is spent: before anything is looked up, so that the answer is
// the same for every email. A client without an address (a program
// embedding the core that gives none) has no budget, and an unreachable
// limiter lets the attempt through.
func (s *Service) reserveSignIn(ctx context.Context, from Client) (*signInAttempt, error) {
	a := &signInAttempt{}
	if s.cfg.Limiter == nil || s.cfg.SignInLimit.Rate <= 0 || from.IP == "" {
		return a, nil
	}
	key := "signin-ip:" + domain.LimitSubject(from.IP)
	res, err := s.cfg.Limiter.Allow(ctx, key, s.cfg.SignInLimit)
	if err != nil {
		s.log.WarnContext(ctx, "rate limiter unavailable: sign-in attempt let through", "err", err)
		return a, nil
	}
	if !res.Allowed {
		return nil, &domain.RateLimitError{Detail: "too many failed sign-ins from your address: try again later",
			RetryAt: s.clock.Now().Add(res.RetryAfter.Truncate(time.Second) + time.Second)}
	}
	a.key = key
	return a, nil
}

// settle gives a's event back unless the attempt failed: a right password,
// a lock-out refusing before any check, an error on the way.
func (s *Service) settle(ctx context.Context, a *signInAttempt) {
	if a.key == "" || a.failed {
		return
	}
	if err := s.cfg.Limiter.Refund(context.WithoutCancel(ctx), a.key, s.cfg.SignInLimit); err != nil {
		s.log.WarnContext(ctx, "rate limiter unavailable: a sign-in attempt stays counted", "err", err)
	}
}

// knownDevice returns the live device of u that token names, or nil: no
// token, an unknown one, one of another account, an expired or a revoked
// one all count as no device, alike.
func (s *Service) knownDevice(ctx context.Context, token string, u domain.User, now time.Time) (*domain.Device, error) {
	if token == "" || len(token) > maxBearerLength {
		return nil, nil
	}
	hash := domain.HashSecret(token)
	d, err := s.store.Devices().GetByHash(ctx, hash)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(d.TokenHash, hash) != 1 || u.ID == "" || d.UserID != u.ID || !d.Live(now) {
		return nil, nil
	}
	return &d, nil
}

// challengeDevice returns the known device that c's sign-in came through
// when it is still live, else nil.
func (s *Service) challengeDevice(ctx context.Context, c domain.MFAChallenge, u domain.User, now time.Time) (*domain.Device, error) {
	if c.DeviceID == "" {
		return nil, nil
	}
	d, err := s.store.Devices().Get(ctx, c.DeviceID)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if d.UserID != u.ID || !d.Live(now) {
		return nil, nil
	}
	return &d, nil
}

// failedOnDevice records a wrong password or code sent through known
// device d of u: it counts against the device (domain.DeviceFailureLimit
// revoke it), not against the email's lock-out.
func (s *Service) failedOnDevice(ctx context.Context, d domain.Device, u domain.User, from Client, now time.Time) error {
	return s.store.WithinTx(ctx, func(ctx context.Context) error {
		d, err := s.store.Devices().Fail(ctx, d.ID, now)
		if err != nil {
			return err
		}
		detail := "through known device " + d.ID
		if d.Failures == domain.DeviceFailureLimit {
			detail += fmt.Sprintf(", revoked after %d failures", d.Failures)
		}
		return s.store.Activity().Record(ctx, s.signInEntry(u, u.Email, from, domain.ActSignInFailed, detail, now))
	})
}

// signInEntry is an activity log entry about a sign-in of email (by u,
// when known), outside any organization.
func (s *Service) signInEntry(u domain.User, email string, from Client, action domain.Action, detail string, now time.Time) domain.Activity {
	a := domain.NewActivity(domain.Actor{UserID: u.ID, IP: from.IP}, "", action, "user", u.ID, detail, now)
	if u.ID == "" {
		a.ActorEmail = email
	}
	return a
}

// forgetFailures clears the failed sign-ins of email.
func (s *Service) forgetFailures(ctx context.Context, email string) error {
	_, err := s.store.LoginGuards().Update(ctx, email, func(domain.LoginGuard) domain.LoginGuard { return domain.LoginGuard{} })
	return err
}

// signedIn opens a session for u signing in from `from` (withCode: the
// sign-in took an emailed code as well) and hands the client a device
// token for its next sign-ins: the token of device dev, replaced, when the
// sign-in came through one, else a new device's. A device that another
// sign-in replaced or that was revoked meanwhile gives way to a new one.
func (s *Service) signedIn(ctx context.Context, u domain.User, dev *domain.Device, from Client, withCode bool, now time.Time) (SessionToken, error) {
	token, hash := domain.NewSecret(SessionPrefix)
	deviceToken, deviceHash := domain.NewSecret(domain.DevicePrefix)
	ua := from.UserAgent
	if len(ua) > maxUserAgent {
		ua = strings.ToValidUTF8(ua[:maxUserAgent], "")
	}
	sess := domain.Session{ID: domain.NewID(), UserID: u.ID, TokenHash: hash, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(domain.SessionTTL), IP: from.IP, UserAgent: ua, MFA: withCode}
	err := s.store.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.store.Sessions().Create(ctx, sess); err != nil {
			return err
		}
		rotated := false
		if dev != nil {
			err := s.store.Devices().Rotate(ctx, dev.ID, dev.TokenHash, deviceHash, now)
			if err != nil && !errors.Is(err, domain.ErrInvalidState) && !errors.Is(err, domain.ErrNotFound) {
				return err
			}
			rotated = err == nil
		}
		if !rotated {
			d := domain.Device{ID: domain.NewID(), UserID: u.ID, TokenHash: deviceHash, CreatedAt: now, LastUsedAt: now,
				ExpiresAt: now.Add(domain.DeviceTTL)}
			if err := s.store.Devices().Create(ctx, d); err != nil {
				return err
			}
		}
		return s.store.Activity().Record(ctx, s.signInEntry(u, u.Email, from, domain.ActSignedIn, "session "+sess.ID, now))
	})
	if err != nil {
		return SessionToken{}, err
	}
	return SessionToken{Token: token, ExpiresAt: sess.ExpiresAt, DeviceToken: deviceToken}, nil
}

// failedLogin records a failed sign-in of email and returns the answer:
// ErrBadCredentials, or ACCOUNT_LOCKED when this failure locked it (then
// a notice is deferred, which reaches the owner of a registered email
// only: the work is the same for every email).
func (s *Service) failedLogin(ctx context.Context, email string, u domain.User, now time.Time, from Client) error {
	var locked bool
	var g domain.LoginGuard
	err := s.store.WithinTx(ctx, func(ctx context.Context) error {
		var err error
		g, err = s.store.LoginGuards().Update(ctx, email, func(g domain.LoginGuard) domain.LoginGuard {
			g, locked = g.Failed(now)
			return g
		})
		if err != nil {
			return err
		}
		entries := []domain.Activity{s.signInEntry(u, email, from, domain.ActSignInFailed, "", now)}
		if locked {
			entries = append(entries, s.signInEntry(u, email, from, domain.ActLockedOut, "until "+g.LockedUntil.UTC().Format(time.RFC3339), now))
		}
		return s.store.Activity().Record(ctx, entries...)
	})
	if err != nil {
		return err
	}
	if !locked {
		return ErrBadCredentials
	}
	if err := s.lockedNotice(ctx, email, *g.LockedUntil); err != nil {
		return err
	}
	return &domain.LockedError{RetryAt: *g.LockedUntil}
}

// RequestPasswordReset mails a single-use reset link to a registered
// email. It answers the same, after the same work, whatever the email: it
// writes a deferred mail, and only its composition, in the worker, looks
// the account up and creates the link (composeReset).
func (s *Service) RequestPasswordReset(ctx context.Context, email string) error {
	email = domain.NormalizeEmail(email)
	if err := checkEmail(email); err != nil {
		return err
	}
	if err := s.limitEmail(ctx, email); err != nil {
		return err
	}
	return s.outbox.WithinDeferred(ctx, func(ctx context.Context, later work.Defer) error {
		return later(domain.MailPasswordReset, email, resetInput{})
	})
}

// ConfirmPasswordReset sets a new password with an emailed reset token:
// it ends every session of the account and every other reset link, lifts
// a lock-out and, the link having reached the inbox, confirms the email.
// A password breaking the policy leaves the token usable.
func (s *Service) ConfirmPasswordReset(ctx context.Context, token, password string) error {
	if token == "" || len(token) > maxBearerLength {
		return domain.ErrInvalidToken
	}
	now := domain.Truncate(s.clock.Now())
	return s.outbox.Within(ctx, func(ctx context.Context, mail work.Post) error {
		t, err := s.store.EmailTokens().Use(ctx, domain.HashSecret(token), domain.PurposePasswordReset, now)
		if err != nil {
			return err
		}
		u, err := s.store.Users().Get(ctx, t.UserID)
		if err != nil {
			return err
		}
		var v domain.Validator
		checkPassword(&v, password, u.Email)
		if err := v.Err(); err != nil {
			return err
		}
		hash, err := HashPassword(password)
		if err != nil {
			return err
		}
		if err := s.store.Users().SetPassword(ctx, u.ID, hash); err != nil {
			return err
		}
		if _, err := s.store.EmailTokens().RevokeAllForUser(ctx, u.ID, domain.PurposePasswordReset, now); err != nil {
			return err
		}
		if !u.Verified() {
			if err := s.store.Users().MarkVerified(ctx, u.ID, now); err != nil {
				return err
			}
		}
		if _, err := s.store.Sessions().RevokeAllForUser(ctx, u.ID, "", now); err != nil {
			return err
		}
		if err := s.forgetFailures(ctx, u.Email); err != nil {
			return err
		}
		if err := s.store.Activity().Record(ctx, domain.NewActivity(domain.Actor{UserID: u.ID}, "", domain.ActPasswordReset, "user", u.ID, "every session ended", now)); err != nil {
			return err
		}
		return mail(domain.MailPasswordChanged, u.Email, "Your Credence password was changed", fmt.Sprintf("Hello %s,\n\nThe password of your Credence account was just changed with a reset link, and every session was signed out.\nIf this was not you, reset your password again at once and check the email account itself.\n", u.Name))
	})
}

// Sessions returns the signed-in user's live sessions, newest first.
func (s *Service) Sessions(ctx context.Context, actor domain.Actor) ([]domain.Session, error) {
	if err := access.RequireUser(actor); err != nil {
		return nil, err
	}
	return s.store.Sessions().ListForUser(ctx, actor.UserID, domain.Truncate(s.clock.Now()))
}

// RevokeSession ends one of the signed-in user's sessions (the current one
// included). Another user's session is NOT_FOUND.
func (s *Service) RevokeSession(ctx context.Context, actor domain.Actor, id string) error {
	if err := access.RequireUser(actor); err != nil {
		return err
	}
	live, err := s.store.Sessions().ListForUser(ctx, actor.UserID, domain.Truncate(s.clock.Now()))
	if err != nil {
		return err
	}
	for _, sess := range live {
		if sess.ID == id {
			return s.store.WithinTx(ctx, func(ctx context.Context) error {
				if err := s.store.Sessions().Revoke(ctx, id, domain.Truncate(s.clock.Now())); err != nil {
					return err
				}
				return s.store.Activity().Record(ctx, domain.NewActivity(actor, "", domain.ActSessionRevoked, "user", actor.UserID, "session "+id, s.clock.Now()))
			})
		}
	}
	return fmt.Errorf("session %s: %w", id, domain.ErrNotFound)
}

// Logout ends the session of token.
func (s *Service) Logout(ctx context.Context, token string) error {
	sess, err := s.store.Sessions().GetByHash(ctx, domain.HashSecret(token))
	if err != nil {
		return domain.ErrUnauthenticated
	}
	return s.store.Sessions().Revoke(ctx, sess.ID, domain.Truncate(s.clock.Now()))
}

// Authenticate turns a bearer token (session or API key) into an actor.
// Unknown, expired and revoked tokens are UNAUTHENTICATED.
func (s *Service) Authenticate(ctx context.Context, token string) (domain.Actor, error) {
	if token == "" || len(token) > maxBearerLength {
		return domain.Actor{}, domain.ErrUnauthenticated
	}
	now := s.clock.Now()
	hash := domain.HashSecret(token)
	if strings.HasPrefix(token, APIKeyPrefix) {
		k, err := s.store.APIKeys().GetByHash(ctx, hash)
		if err != nil || subtle.ConstantTimeCompare(k.SecretHash, hash) != 1 || !k.Active(now) {
			return domain.Actor{}, unauthenticated(err)
		}
		if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= touchEvery { // not a write per request
			if err := s.store.APIKeys().Touch(ctx, k.ID, domain.Truncate(now)); err != nil {
				s.log.WarnContext(ctx, "record api key use", "key", k.ID, "err", err)
			}
		}
		return domain.Actor{APIKeyID: k.ID, APIKeyOrg: k.OrgID, APIKeyMode: k.Mode, APIKeyRateLimit: k.RateLimit}, nil
	}
	sess, err := s.store.Sessions().GetByHash(ctx, hash)
	if err != nil || subtle.ConstantTimeCompare(sess.TokenHash, hash) != 1 || !sess.Live(now) {
		return domain.Actor{}, unauthenticated(err)
	}
	u, err := s.store.Users().Get(ctx, sess.UserID)
	if err != nil {
		return domain.Actor{}, unauthenticated(err)
	}
	if now.Sub(sess.LastSeenAt) >= touchEvery {
		if err := s.store.Sessions().Touch(ctx, sess.ID, domain.Truncate(now)); err != nil {
			s.log.WarnContext(ctx, "record session use", "session", sess.ID, "err", err)
		}
	}
	a := s.actorFor(u)
	a.SessionID, a.MFA = sess.ID, sess.MFA
	return a, nil
}

func unauthenticated(err error) error {
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		return err
	}
	return domain.ErrUnauthenticated
}

func (s *Service) actorFor(u domain.User) domain.Actor {
	a := domain.Actor{UserID: u.ID, Admin: u.Verified() && s.admins[u.Email]}
	if u.Verified() {
		a.UserEmail = u.Email
	}
	return a
}

// Profile is the signed-in user's view of themselves.
type Profile struct {
	User        domain.User
	Admin       bool
	Memberships []ports.OrgWithRole
	MFA         MFAStatus
	Invitations []Invited // open invitations to the user's verified email
}

// Invited is an open invitation with the name of its organization.
type Invited struct {
	domain.Invitation
	OrgName string
}

// Me returns the signed-in user's profile and memberships.
func (s *Service) Me(ctx context.Context, actor domain.Actor) (Profile, error) {
	if actor.UserID == "" {
		return Profile{}, domain.Errorf(domain.CodeUnauthenticated, "sign in as a user")
	}
	u, err := s.store.Users().Get(ctx, actor.UserID)
	if err != nil {
		return Profile{}, err
	}
	ms, err := s.store.Orgs().ListForUser(ctx, u.ID)
	if err != nil {
		return Profile{}, err
	}
	p := Profile{User: u, Admin: s.actorFor(u).Admin, Memberships: ms, MFA: MFAStatus{Enabled: u.MFAEnabled}}
	for _, m := range ms {
		p.MFA.RequiredByOrg = p.MFA.RequiredByOrg || m.Org.RequireMFA
	}
	if !u.Verified() {
		return p, nil
	}
	invs, err := s.store.Invitations().ListForEmail(ctx, u.Email, domain.Truncate(s.clock.Now()))
	if err != nil {
		return Profile{}, err
	}
	for _, inv := range invs {
		org, err := s.store.Orgs().Get(ctx, inv.OrgID)
		if err != nil {
			return Profile{}, err
		}
		p.Invitations = append(p.Invitations, Invited{Invitation: inv, OrgName: org.Name})
	}
	return p, nil
}

// mfaNeeded reports whether u signs in with an emailed code: u switched it
// on, or an organization u belongs to requires it.
func (s *Service) mfaNeeded(ctx context.Context, u domain.User) (bool, error) {
	if u.MFAEnabled {
		return true, nil
	}
	return s.orgRequiresMFA(ctx, u.ID)
}

func (s *Service) orgRequiresMFA(ctx context.Context, userID string) (bool, error) {
	ms, err := s.store.Orgs().ListForUser(ctx, userID)
	if err != nil {
		return false, err
	}
	for _, m := range ms {
		if m.Org.RequireMFA {
			return true, nil
		}
	}
	return false, nil
}

// challenge opens an MFA challenge of purpose for u (a sign-in through
// known device dev, when not nil) and mails its code.
func (s *Service) challenge(ctx context.Context, u domain.User, purpose domain.MFAPurpose, dev *domain.Device, now time.Time) (string, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Exp(big.NewInt(10), big.NewInt(domain.MFACodeDigits), nil))
	if err != nil {
		return "", err
	}
	code := fmt.Sprintf("%0*d", domain.MFACodeDigits, n.Int64())
	c := domain.MFAChallenge{ID: domain.NewID(), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(domain.MFACodeTTL), Purpose: purpose}
	if dev != nil {
		c.DeviceID = dev.ID
	}
	c.CodeHash = mfaHash(c.ID, code)
	// No code in subjects: they are logged.
	subject, text := "Your Credence sign-in code", fmt.Sprintf(
		"Hello %s,\n\nYour code to finish signing in to Credence is:\n\n    %s\n\nIt works once, for 10 minutes. If you did not just sign in, someone knows your password: reset it from the sign-in page.\n", u.Name, code)
	if purpose == domain.MFAOff {
		subject, text = "Confirm: switch off emailed codes for Credence", fmt.Sprintf(
			"Hello %s,\n\nYour code to switch off the emailed codes that sign-in to your Credence account asks for is:\n\n    %s\n\nIt works once, for 10 minutes. If you did not ask for it, someone is signed in as you: end your sessions and reset your password from the sign-in page.\n", u.Name, code)
	}
	return c.ID, s.outbox.Within(ctx, func(ctx context.Context, mail work.Post) error {
		if err := s.store.MFAChallenges().Create(ctx, c); err != nil {
			return err
		}
		return mail(domain.MailMFACode, u.Email, subject, text)
	})
}

func mfaHash(challengeID, code string) []byte {
	h := sha256.Sum256([]byte(challengeID + ":" + code))
	return h[:]
}

// VerifyMFA finishes a sign-in with its emailed code. A wrong code counts
// against the challenge (MFAMaxAttempts), against the client address's
// budget of failed sign-ins, and as a failed sign-in of the email
// (lock-out) or, when the sign-in came through a known device that is
// still live, of that device (and the email's lock-out does not refuse
// it). An expired, used or spent challenge, or one that is not a
// sign-in's, is MFA_INVALID.
func (s *Service) VerifyMFA(ctx context.Context, challengeID, code string, from Client) (SessionToken, error) {
	if !domain.IsID(challengeID) || !wellFormedCode(code) {
		return SessionToken{}, domain.ErrMFAInvalid
	}
	now := domain.Truncate(s.clock.Now())
	attempt, err := s.reserveSignIn(ctx, from)
	if err != nil {
		return SessionToken{}, err
	}
	defer s.settle(ctx, attempt)
	c, err := s.store.MFAChallenges().Get(ctx, challengeID)
	if errors.Is(err, domain.ErrNotFound) || (err == nil && (!c.Open(now) || c.Purpose != domain.MFASignIn)) {
		return SessionToken{}, domain.ErrMFAInvalid
	}
	if err != nil {
		return SessionToken{}, err
	}
	u, err := s.store.Users().Get(ctx, c.UserID)
	if err != nil {
		return SessionToken{}, err
	}
	dev, err := s.challengeDevice(ctx, c, u, now)
	if err != nil {
		return SessionToken{}, err
	}
	var guard domain.LoginGuard
	if dev == nil {
		if guard, err = s.store.LoginGuards().Get(ctx, u.Email); err != nil {
			return SessionToken{}, err
		}
		if until, locked := guard.Locked(now); locked {
			return SessionToken{}, &domain.LockedError{RetryAt: until}
		}
	}
	if subtle.ConstantTimeCompare(mfaHash(c.ID, code), c.CodeHash) != 1 {
		attempt.failed = true
		if _, err := s.store.MFAChallenges().Fail(ctx, c.ID); err != nil {
			return SessionToken{}, err
		}
		if dev != nil {
			if err := s.failedOnDevice(ctx, *dev, u, from, now); err != nil {
				return SessionToken{}, err
			}
			return SessionToken{}, domain.ErrMFAInvalid
		}
		if err := s.failedLogin(ctx, u.Email, u, now, from); !errors.Is(err, ErrBadCredentials) {
			return SessionToken{}, err // locked now
		}
		return SessionToken{}, domain.ErrMFAInvalid
	}
	if err := s.store.MFAChallenges().Use(ctx, c.ID, now); err != nil {
		return SessionToken{}, err
	}
	if dev == nil && !guard.Clean() {
		if err := s.forgetFailures(ctx, u.Email); err != nil {
			return SessionToken{}, err
		}
	}
	return s.signedIn(ctx, u, dev, from, true, now)
}

// wellFormedCode reports whether code is domain.MFACodeDigits digits.
func wellFormedCode(code string) bool {
	return len(code) == domain.MFACodeDigits && strings.Trim(code, "0123456789") == ""
}

// MFAStatus is whether sign-in asks the user for an emailed code.
type MFAStatus struct {
	Enabled       bool // the user switched it on
	RequiredByOrg bool // an organization of the user requires it
	// Challenge is set when nothing changed yet: switching codes off
	// needs the code just mailed, sent back with this challenge.
	Challenge string
}

// MFAChange switches the signed-in user's emailed codes on or off.
// Switching them off takes a proof that a stolen session alone cannot
// give: the password, or the code of a challenge that SetMFA mailed (its
// ID and the code).
type MFAChange struct {
	Enabled     bool
	Password    string
	ChallengeID string
	Code        string
}

// SetMFA switches the signed-in user's email-code MFA on or off. Turning
// it on needs nothing more. Turning it off needs in.Password, or a code:
// without either it mails a fresh one and changes nothing (the status
// names the challenge to send it back with). A wrong password is
// WRONG_PASSWORD and counts as a failed sign-in (the email's lock-out, the
// client address's budget); a wrong, expired or spent code is MFA_INVALID
// and counts against its challenge (and the address's budget). An
// organization requiring codes keeps asking for them either way.
func (s *Service) SetMFA(ctx context.Context, actor domain.Actor, in MFAChange, from Client) (MFAStatus, error) {
	if err := access.RequireUser(actor); err != nil {
		return MFAStatus{}, err
	}
	u, err := s.store.Users().Get(ctx, actor.UserID)
	if err != nil {
		return MFAStatus{}, err
	}
	now := domain.Truncate(s.clock.Now())
	var proof string // the challenge whose code proved the change
	if !in.Enabled && u.MFAEnabled {
		switch {
		case in.Password != "":
			err = s.confirmPassword(ctx, u, in.Password, from, now)
		case in.ChallengeID != "" || in.Code != "":
			err = s.confirmOffCode(ctx, u, in.ChallengeID, in.Code, from, now)
			proof = in.ChallengeID
		default:
			id, err := s.challenge(ctx, u, domain.MFAOff, nil, now)
			if err != nil {
				return MFAStatus{}, err
			}
			required, err := s.orgRequiresMFA(ctx, u.ID)
			return MFAStatus{Enabled: true, RequiredByOrg: required, Challenge: id}, err
		}
		if err != nil {
			return MFAStatus{}, err
		}
	}
	err = s.store.WithinTx(ctx, func(ctx context.Context) error {
		if proof != "" {
			if err := s.store.MFAChallenges().Use(ctx, proof, now); err != nil {
				return err
			}
		}
		if err := s.store.Users().SetMFA(ctx, actor.UserID, in.Enabled); err != nil {
			return err
		}
		return s.store.Activity().Record(ctx, domain.NewActivity(actor, "", domain.ActMFAChanged, "user", actor.UserID,
			fmt.Sprintf("sign-in codes %v", map[bool]string{true: "on", false: "off"}[in.Enabled]), s.clock.Now()))
	})
	if err != nil {
		return MFAStatus{}, err
	}
	required, err := s.orgRequiresMFA(ctx, actor.UserID)
	return MFAStatus{Enabled: in.Enabled, RequiredByOrg: required}, err
}

// confirmPassword checks the signed-in user's password for a change that
// needs it. A locked email is ACCOUNT_LOCKED before any check; a wrong
// password counts as a failed sign-in of the email and of the client
// address, and is WRONG_PASSWORD (ACCOUNT_LOCKED when it locks the email,
// as at sign-in).
func (s *Service) confirmPassword(ctx context.Context, u domain.User, password string, from Client, now time.Time) error {
	attempt, err := s.reserveSignIn(ctx, from)
	if err != nil {
		return err
	}
	defer s.settle(ctx, attempt)
	guard, err := s.store.LoginGuards().Get(ctx, u.Email)
	if err != nil {
		return err
	}
	if until, locked := guard.Locked(now); locked {
		return &domain.LockedError{RetryAt: until}
	}
	if len(password) <= MaxPasswordLen*4 && CheckPassword(u.PasswordHash, password) {
		return nil
	}
	attempt.failed = true
	if err := s.failedLogin(ctx, u.Email, u, now, from); !errors.Is(err, ErrBadCredentials) {
		return err // ACCOUNT_LOCKED: this failure locked the email (as at sign-in)
	}
	return domain.ErrWrongPassword
}

// confirmOffCode checks the code of an MFAOff challenge of u. The ID and
// the code go together; a challenge of another user or purpose, used,
// spent or expired is MFA_INVALID; a wrong code counts against the
// challenge and the client address's budget. The caller uses the
// challenge with the change.
func (s *Service) confirmOffCode(ctx context.Context, u domain.User, challengeID, code string, from Client, now time.Time) error {
	var v domain.Validator
	v.Check(challengeID != "", "body.challengeId", "challengeId is required with a code", challengeID)
	v.Check(code != "", "body.code", "code is required with a challengeId", code)
	if err := v.Err(); err != nil {
		return err
	}
	if !domain.IsID(challengeID) || !wellFormedCode(code) {
		return domain.ErrMFAInvalid
	}
	attempt, err := s.reserveSignIn(ctx, from)
	if err != nil {
		return err
	}
	defer s.settle(ctx, attempt)
	c, err := s.store.MFAChallenges().Get(ctx, challengeID)
	if errors.Is(err, domain.ErrNotFound) || (err == nil && (c.UserID != u.ID || c.Purpose != domain.MFAOff || !c.Open(now))) {
		return domain.ErrMFAInvalid
	}
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(mfaHash(c.ID, code), c.CodeHash) != 1 {
		attempt.failed = true
		if _, err := s.store.MFAChallenges().Fail(ctx, c.ID); err != nil {
			return err
		}
		return domain.ErrMFAInvalid
	}
	return nil
}
