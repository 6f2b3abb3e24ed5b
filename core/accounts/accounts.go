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
}

// Service runs the account use cases.
type Service struct {
	store  ports.Store
	clock  ports.Clock
	outbox *work.Outbox
	log    *slog.Logger
	cfg    Config
	admins map[string]bool
}

// New returns an account service.
// Account mail goes through outbox.
func New(store ports.Store, clock ports.Clock, outbox *work.Outbox, log *slog.Logger, cfg Config) *Service {
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
	err = s.outbox.Within(ctx, func(ctx context.Context, mail work.Post) error {
		if err := s.store.Users().Create(ctx, u); err != nil {
			return err
		}
		return s.verification(ctx, mail, u, now)
	})
	if errors.Is(err, ports.ErrEmailTaken) {
		return s.outbox.Within(ctx, func(ctx context.Context, mail work.Post) error {
			return mail(domain.MailSignUpAttempt, email, "Someone tried to sign up with your email",
				"Someone tried to create a Credence account with this address, which already has one.\n\nIf it was you, sign in instead. If you forgot your password, reset it from the sign-in page.\n")
		})
	}
	if err != nil {
		return fmt.Errorf("sign up: %w", err)
	}
	return nil
}

// verification creates a verification token for u and mails its link.
func (s *Service) verification(ctx context.Context, mail work.Post, u domain.User, now time.Time) error {
	token, hash := domain.NewSecret("")
	if err := s.store.EmailTokens().Create(ctx, domain.EmailToken{TokenHash: hash, UserID: u.ID, Purpose: domain.PurposeVerifyEmail, CreatedAt: now, ExpiresAt: now.Add(VerifyEmailTTL)}); err != nil {
		return err
	}
	return mail(domain.MailVerifyEmail, u.Email, "Verify your email for Credence",
		fmt.Sprintf("Hello %s,\n\nConfirm your email address to finish creating your Credence account:\n\n%s\n\nThe link works once and expires in 24 hours.\nIf you did not sign up, ignore this email.\n", u.Name, s.cfg.PublicURL+verifyLinkPath+token))
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
// answers the same whatever the email.
func (s *Service) ResendVerification(ctx context.Context, email string) error {
	email = domain.NormalizeEmail(email)
	if err := checkEmail(email); err != nil {
		return err
	}
	if err := s.limitEmail(ctx, email); err != nil {
		return err
	}
	u, err := s.store.Users().GetByEmail(ctx, email)
	if errors.Is(err, domain.ErrNotFound) || (err == nil && u.Verified()) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.outbox.Within(ctx, func(ctx context.Context, mail work.Post) error {
		return s.verification(ctx, mail, u, domain.Truncate(s.clock.Now()))
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

// SessionToken is a new session's bearer token, shown once. When
// MFAChallenge is set instead, the account needs its emailed code first
// (VerifyMFA with that challenge).
type SessionToken struct {
	Token        string
	ExpiresAt    time.Time
	MFAChallenge string
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
// emails have accounts; the owner of a registered one is mailed. An
// unverified account gets EMAIL_NOT_VERIFIED only after the right
// password. A hash made with older argon2id parameters is replaced.
func (s *Service) Login(ctx context.Context, email, password string, from Client) (SessionToken, error) {
	email = domain.NormalizeEmail(email)
	var v domain.Validator
	if !v.NoControls("body.email", email) { // no account has it, and the log keeps tried emails
		return SessionToken{}, v.Err()
	}
	now := domain.Truncate(s.clock.Now())
	guard, err := s.store.LoginGuards().Get(ctx, email)
	if err != nil {
		return SessionToken{}, err
	}
	if until, locked := guard.Locked(now); locked {
		return SessionToken{}, &domain.LockedError{RetryAt: until}
	}
	u, err := s.store.Users().GetByEmail(ctx, email)
	known := err == nil
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		return SessionToken{}, err
	}
	var ok bool
	switch {
	case len(password) > MaxPasswordLen*4:
	case known:
		ok = CheckPassword(u.PasswordHash, password)
	default:
		CheckPassword(dummyHash, password) // as slow as a real check
	}
	if !ok {
		return SessionToken{}, s.failedLogin(ctx, email, u, known, now, from)
	}
	if NeedsRehash(u.PasswordHash) {
		if hash, err := HashPassword(password); err == nil {
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
		id, err := s.challenge(ctx, u, now)
		return SessionToken{MFAChallenge: id}, err
	}
	if !guard.Clean() {
		if err := s.forgetFailures(ctx, email); err != nil {
			return SessionToken{}, err
		}
	}
	return s.openSession(ctx, u, from, now)
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

// openSession creates a session for u signing in from `from`.
func (s *Service) openSession(ctx context.Context, u domain.User, from Client, now time.Time) (SessionToken, error) {
	token, hash := domain.NewSecret(SessionPrefix)
	ua := from.UserAgent
	if len(ua) > maxUserAgent {
		ua = strings.ToValidUTF8(ua[:maxUserAgent], "")
	}
	sess := domain.Session{ID: domain.NewID(), UserID: u.ID, TokenHash: hash, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(domain.SessionTTL), IP: from.IP, UserAgent: ua}
	err := s.store.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.store.Sessions().Create(ctx, sess); err != nil {
			return err
		}
		return s.store.Activity().Record(ctx, s.signInEntry(u, u.Email, from, domain.ActSignedIn, "session "+sess.ID, now))
	})
	if err != nil {
		return SessionToken{}, err
	}
	return SessionToken{Token: token, ExpiresAt: sess.ExpiresAt}, nil
}

// failedLogin records a failed sign-in of email and returns the answer:
// ErrBadCredentials, or ACCOUNT_LOCKED when this failure locked it (then
// a registered owner is told by mail).
func (s *Service) failedLogin(ctx context.Context, email string, u domain.User, known bool, now time.Time, from Client) error {
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
	if known {
		err := s.outbox.Within(ctx, func(ctx context.Context, mail work.Post) error {
			return mail(domain.MailAccountLocked, u.Email, "Your Credence account was locked", fmt.Sprintf("Hello %s,\n\nThere were %d failed attempts to sign in to your Credence account, so sign-in is locked until %s (UTC).\n\nIf it was you, wait and try again, or reset your password from the sign-in page (that unlocks it).\nIf it was not you, your password held; consider resetting it anyway.\n",
				u.Name, domain.LoginFailureLimit, g.LockedUntil.UTC().Format("2006-01-02 15:04")))
		})
		if err != nil {
			return err
		}
	}
	return &domain.LockedError{RetryAt: *g.LockedUntil}
}

// RequestPasswordReset mails a single-use reset link to a registered
// email. It answers the same whatever the email.
func (s *Service) RequestPasswordReset(ctx context.Context, email string) error {
	email = domain.NormalizeEmail(email)
	if err := checkEmail(email); err != nil {
		return err
	}
	if err := s.limitEmail(ctx, email); err != nil {
		return err
	}
	u, err := s.store.Users().GetByEmail(ctx, email)
	if errors.Is(err, domain.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	now := domain.Truncate(s.clock.Now())
	return s.outbox.Within(ctx, func(ctx context.Context, mail work.Post) error {
		token, hash := domain.NewSecret("")
		if err := s.store.EmailTokens().Create(ctx, domain.EmailToken{TokenHash: hash, UserID: u.ID, Purpose: domain.PurposePasswordReset, CreatedAt: now, ExpiresAt: now.Add(PasswordResetTTL)}); err != nil {
			return err
		}
		return mail(domain.MailPasswordReset, u.Email, "Reset your Credence password", fmt.Sprintf("Hello %s,\n\nSomeone asked to reset the password of your Credence account. To choose a new one, open:\n\n%s\n\nThe link works once and expires in 1 hour. Setting a new password signs out every session.\nIf you did not ask, ignore this email: your password stays as it is.\n",
			u.Name, s.cfg.PublicURL+resetLinkPath+token))
	})
}

// ConfirmPasswordReset sets a new password with an emailed reset token:
// it ends every session of the account, lifts a lock-out and, the link
// having reached the inbox, confirms the email. A password breaking the
// policy leaves the token usable.
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
	a.SessionID = sess.ID
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

// challenge opens an MFA challenge for u and mails its code.
func (s *Service) challenge(ctx context.Context, u domain.User, now time.Time) (string, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Exp(big.NewInt(10), big.NewInt(domain.MFACodeDigits), nil))
	if err != nil {
		return "", err
	}
	code := fmt.Sprintf("%0*d", domain.MFACodeDigits, n.Int64())
	c := domain.MFAChallenge{ID: domain.NewID(), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(domain.MFACodeTTL)}
	c.CodeHash = mfaHash(c.ID, code)
	return c.ID, s.outbox.Within(ctx, func(ctx context.Context, mail work.Post) error {
		if err := s.store.MFAChallenges().Create(ctx, c); err != nil {
			return err
		}
		return mail(domain.MailMFACode, u.Email, "Your Credence sign-in code", fmt.Sprintf( // no code in subjects: they are logged
			"Hello %s,\n\nYour code to finish signing in to Credence is:\n\n    %s\n\nIt works once, for 10 minutes. If you did not just sign in, someone knows your password: reset it from the sign-in page.\n", u.Name, code))
	})
}

func mfaHash(challengeID, code string) []byte {
	h := sha256.Sum256([]byte(challengeID + ":" + code))
	return h[:]
}

// VerifyMFA finishes a sign-in with its emailed code. A wrong code counts
// against the challenge (MFAMaxAttempts) and as a failed sign-in of the
// email (lock-out); an expired, used or spent challenge is MFA_INVALID.
func (s *Service) VerifyMFA(ctx context.Context, challengeID, code string, from Client) (SessionToken, error) {
	if !domain.IsID(challengeID) || len(code) != domain.MFACodeDigits || strings.Trim(code, "0123456789") != "" {
		return SessionToken{}, domain.ErrMFAInvalid
	}
	now := domain.Truncate(s.clock.Now())
	c, err := s.store.MFAChallenges().Get(ctx, challengeID)
	if errors.Is(err, domain.ErrNotFound) || (err == nil && !c.Open(now)) {
		return SessionToken{}, domain.ErrMFAInvalid
	}
	if err != nil {
		return SessionToken{}, err
	}
	u, err := s.store.Users().Get(ctx, c.UserID)
	if err != nil {
		return SessionToken{}, err
	}
	guard, err := s.store.LoginGuards().Get(ctx, u.Email)
	if err != nil {
		return SessionToken{}, err
	}
	if until, locked := guard.Locked(now); locked {
		return SessionToken{}, &domain.LockedError{RetryAt: until}
	}
	if subtle.ConstantTimeCompare(mfaHash(c.ID, code), c.CodeHash) != 1 {
		if _, err := s.store.MFAChallenges().Fail(ctx, c.ID); err != nil {
			return SessionToken{}, err
		}
		if err := s.failedLogin(ctx, u.Email, u, true, now, from); !errors.Is(err, ErrBadCredentials) {
			return SessionToken{}, err // locked now
		}
		return SessionToken{}, domain.ErrMFAInvalid
	}
	if err := s.store.MFAChallenges().Use(ctx, c.ID, now); err != nil {
		return SessionToken{}, err
	}
	if !guard.Clean() {
		if err := s.forgetFailures(ctx, u.Email); err != nil {
			return SessionToken{}, err
		}
	}
	return s.openSession(ctx, u, from, now)
}

// MFAStatus is whether sign-in asks the user for an emailed code.
type MFAStatus struct {
	Enabled       bool // the user switched it on
	RequiredByOrg bool // an organization of the user requires it
}

// SetMFA switches the signed-in user's email-code MFA on or off. An
// organization requiring it keeps asking for codes either way.
func (s *Service) SetMFA(ctx context.Context, actor domain.Actor, enabled bool) (MFAStatus, error) {
	if err := access.RequireUser(actor); err != nil {
		return MFAStatus{}, err
	}
	err := s.store.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.store.Users().SetMFA(ctx, actor.UserID, enabled); err != nil {
			return err
		}
		return s.store.Activity().Record(ctx, domain.NewActivity(actor, "", domain.ActMFAChanged, "user", actor.UserID,
			fmt.Sprintf("sign-in codes %v", map[bool]string{true: "on", false: "off"}[enabled]), s.clock.Now()))
	})
	if err != nil {
		return MFAStatus{}, err
	}
	required, err := s.orgRequiresMFA(ctx, actor.UserID)
	return MFAStatus{Enabled: enabled, RequiredByOrg: required}, err
}
