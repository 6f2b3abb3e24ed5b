package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/credence-dev/credence/core/access"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/work"
)

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
