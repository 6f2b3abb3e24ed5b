package accounts

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/credence-dev/credence/core/domain"
)

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
	case known && u.PasswordHash != "":
		ok = CheckPassword(u.PasswordHash, in.Password)
	default:
		// As slow as a real check: no account has the email, or it has
		// no password (Provision) and the timing must not tell.
		CheckPassword(dummyHash, in.Password)
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
