package accounts_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credence-dev/credence/adapters/memlimit"
	"github.com/credence-dev/credence/core/accounts"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// budget is the failed sign-ins a client address may have per 15 minutes
// in these tests: small, so that they check argon2id fewer times.
const budget = 6

// withBudget gives the service an in-process limiter on the test's clock
// and a budget of failed sign-ins per address.
func withBudget(cfg *accounts.Config, c ports.Clock) {
	cfg.Limiter = memlimit.New(memlimit.Options{Clock: c})
	cfg.SignInLimit = ports.Limit{Rate: budget, Period: 15 * time.Minute}
}

// loginFrom signs in from address ip, through the device token when not "".
func (e env) loginFrom(t *testing.T, ip, email, pw, device string) (accounts.SessionToken, error) {
	t.Helper()
	return e.svc.Login(t.Context(), accounts.LoginInput{Email: email, Password: pw, DeviceToken: device}, accounts.Client{IP: ip})
}

func ghostEmail() string { return "ghost-" + domain.NewID()[:8] + "@example.com" }

// wantLimited requires RATE_LIMITED with a retry time about one event
// (15 minutes / budget) away.
func wantLimited(t *testing.T, e env, err error) {
	t.Helper()
	var rl *domain.RateLimitError
	if !errors.As(err, &rl) {
		t.Fatalf("error %v, want RATE_LIMITED", err)
	}
	interval := 15 * time.Minute / budget
	if wait := rl.RetryAt.Sub(e.clock.Now()); wait < time.Second || wait > interval+time.Second {
		t.Errorf("RATE_LIMITED retry in %s, want within (0, %s]", wait, interval+time.Second)
	}
}

// A client address has a budget of failed sign-ins whatever the emails:
// spraying distinct ones, known or not, spends it, then every sign-in
// from the address is RATE_LIMITED before any password check (the right
// password too); other addresses and other /64s are not concerned; an
// IPv6 client counts by its /64; one attempt comes back every 15
// minutes / budget. What did not fail gives its event back: right
// passwords, sign-ins that open an MFA challenge or meet
// EMAIL_NOT_VERIFIED, and refusals by a lock-out; wrong MFA codes spend it
// like wrong passwords. Concurrent guesses never overdraw it.
func TestFailedSignInBudget(t *testing.T) {
	storesWith(t, withBudget, func(t *testing.T, e env) {
		ctx := t.Context()
		known := []string{e.signUp(t, "Ann"), e.signUp(t, "Ben")}
		spray := []string{known[0], ghostEmail(), known[1], ghostEmail(), ghostEmail(), ghostEmail()}
		const a = "203.0.113.10"
		for i, email := range spray {
			_, err := e.loginFrom(t, a, email, "not the password", "")
			if !errors.Is(err, accounts.ErrBadCredentials) {
				t.Fatalf("guess %d (%s): %v, want wrong email or password", i+1, email, err)
			}
		}
		_, err := e.loginFrom(t, a, ghostEmail(), "not the password", "")
		wantLimited(t, e, err)
		_, err = e.loginFrom(t, a, known[0], password, "")
		wantLimited(t, e, err) // refused before the password is checked
		if _, err := e.loginFrom(t, "203.0.113.11", known[0], password, ""); err != nil {
			t.Errorf("another address: %v", err)
		}
		e.clock.advance(15 * time.Minute / budget)
		_, err = e.loginFrom(t, a, ghostEmail(), "not the password", "")
		wantCode(t, err, domain.CodeUnauthenticated)
		_, err = e.loginFrom(t, a, ghostEmail(), "not the password", "")
		wantLimited(t, e, err)

		// An IPv6 client counts by its /64.
		for i := range budget {
			_, err := e.loginFrom(t, fmt.Sprintf("2001:db8:5:6::%x", i+1), ghostEmail(), "wrong", "")
			wantCode(t, err, domain.CodeUnauthenticated)
		}
		_, err = e.loginFrom(t, "2001:db8:5:6:abcd::1", ghostEmail(), "wrong", "")
		wantLimited(t, e, err)
		_, err = e.loginFrom(t, "2001:db8:5:7::1", ghostEmail(), "wrong", "")
		wantCode(t, err, domain.CodeUnauthenticated)

		// What does not fail costs nothing: three times the budget of
		// right passwords, of MFA challenges opened, of EMAIL_NOT_VERIFIED
		// and of lock-out refusals, then the whole budget of failures.
		const c = "198.51.100.20"
		mfa := e.signUp(t, "Cal")
		enableMFA(t, e, mfa)
		unverified := "una-" + domain.NewID()[:6] + "@example.com"
		if err := e.svc.SignUp(ctx, accounts.SignUpInput{Email: unverified, Password: password, Name: "Una"}); err != nil {
			t.Fatal(err)
		}
		locked := e.signUp(t, "Lou")
		for range domain.LoginFailureLimit {
			_, _ = e.loginFrom(t, "198.51.100.99", locked, "wrong", "")
		}
		for range 3 * budget {
			if tok, err := e.loginFrom(t, c, known[1], password, ""); err != nil || tok.Token == "" {
				t.Fatalf("right password: %+v, %v", tok, err)
			}
		}
		for range budget {
			if tok, err := e.loginFrom(t, c, mfa, password, ""); err != nil || tok.MFAChallenge == "" {
				t.Fatalf("MFA sign-in: %+v, %v", tok, err)
			}
			_, err := e.loginFrom(t, c, unverified, password, "")
			wantCode(t, err, domain.CodeEmailNotVerified)
			_, err = e.loginFrom(t, c, locked, password, "")
			wantCode(t, err, domain.CodeAccountLocked)
		}
		for i := range budget {
			if _, err := e.loginFrom(t, c, ghostEmail(), "wrong", ""); !errors.Is(err, accounts.ErrBadCredentials) {
				t.Fatalf("failure %d after the successes: %v", i+1, err)
			}
		}
		_, err = e.loginFrom(t, c, known[1], password, "")
		wantLimited(t, e, err)

		// Wrong MFA codes spend the budget like wrong passwords; over it,
		// the right code is refused too.
		const d = "198.51.100.30"
		tok, err := e.loginFrom(t, d, mfa, password, "")
		if err != nil {
			t.Fatal(err)
		}
		code := e.mail.lastCode(t, mfa)
		wrong := otherCode(code)
		for range 2 {
			_, err := e.svc.VerifyMFA(ctx, tok.MFAChallenge, wrong, accounts.Client{IP: d})
			wantCode(t, err, domain.CodeMFAInvalid)
		}
		for range budget - 2 {
			_, err := e.loginFrom(t, d, ghostEmail(), "wrong", "")
			wantCode(t, err, domain.CodeUnauthenticated)
		}
		_, err = e.svc.VerifyMFA(ctx, tok.MFAChallenge, code, accounts.Client{IP: d})
		wantLimited(t, e, err)
		e.clock.advance(15 * time.Minute / budget)
		if sess, err := e.svc.VerifyMFA(ctx, tok.MFAChallenge, code, accounts.Client{IP: d}); err != nil || sess.Token == "" {
			t.Fatalf("the right code once an attempt came back: %+v, %v", sess, err)
		}

		// Concurrent guesses from one address: exactly the budget is checked.
		const f = "192.0.2.50"
		var mu sync.Mutex
		answers := map[domain.Code]int{}
		var wg sync.WaitGroup
		for range 2 * budget {
			wg.Go(func() {
				_, err := e.svc.Login(ctx, accounts.LoginInput{Email: ghostEmail(), Password: "wrong"}, accounts.Client{IP: f})
				mu.Lock()
				answers[domain.CodeOf(err)]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if answers[domain.CodeUnauthenticated] != budget || answers[domain.CodeRateLimited] != budget {
			t.Errorf("%d concurrent guesses from one address: %v, want %d checked and %d RATE_LIMITED", 2*budget, answers, budget, budget)
		}
	})
}

// enableMFA signs email in and switches its emailed codes on.
func enableMFA(t *testing.T, e env, email string) {
	t.Helper()
	tok, err := e.login(t, email, password)
	if err != nil {
		t.Fatal(err)
	}
	me, err := e.svc.Authenticate(t.Context(), tok.Token)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := e.svc.SetMFA(t.Context(), me, accounts.MFAChange{Enabled: true}, accounts.Client{}); err != nil || !st.Enabled {
		t.Fatalf("switch MFA on: %+v, %v", st, err)
	}
}

// otherCode returns a well-formed code that is not code.
func otherCode(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

// Known devices: a stranger's five wrong passwords lock the email, but
// not the owner's known device, whose sign-in gets a new device token
// (the old one is spent) and leaves the email's failures alone. Wrong
// passwords through the device count against it, not the email: five
// revoke it, and then it is ignored. A token of another account, or an
// expired one, is ignored the same way, with the same answers.
func TestKnownDeviceOutlivesALockOut(t *testing.T) {
	stores(t, func(t *testing.T, e env) {
		ctx := t.Context()
		victim, other := e.signUp(t, "Vic"), e.signUp(t, "Oti")
		first, err := e.login(t, victim, password)
		if err != nil || !strings.HasPrefix(first.DeviceToken, domain.DevicePrefix) {
			t.Fatalf("sign-in: %+v, %v (want a device token)", first, err)
		}
		theirs, err := e.login(t, other, password)
		if err != nil {
			t.Fatal(err)
		}
		lock := func() {
			t.Helper()
			for range domain.LoginFailureLimit {
				_, _ = e.loginFrom(t, "192.0.2.66", victim, "a stranger's guess", "")
			}
			_, err := e.login(t, victim, password)
			wantCode(t, err, domain.CodeAccountLocked)
		}
		lock()
		guard, err := e.store.LoginGuards().Get(ctx, victim)
		if err != nil {
			t.Fatal(err)
		}

		again, err := e.loginFrom(t, "198.51.100.4", victim, password, first.DeviceToken)
		if err != nil || again.Token == "" || again.DeviceToken == "" || again.DeviceToken == first.DeviceToken {
			t.Fatalf("the owner's known device during the lock-out: %+v, %v (want a session and a new device token)", again, err)
		}
		_, err = e.loginFrom(t, "198.51.100.4", victim, password, first.DeviceToken)
		wantCode(t, err, domain.CodeAccountLocked) // the old token was replaced
		_, err = e.loginFrom(t, "198.51.100.4", victim, password, theirs.DeviceToken)
		wantCode(t, err, domain.CodeAccountLocked) // another account's device
		_, err = e.loginFrom(t, "198.51.100.4", victim, password, "crdv_not-a-device")
		wantCode(t, err, domain.CodeAccountLocked)

		// Wrong passwords through the device: the device's, not the email's.
		device := again.DeviceToken
		for i := range domain.DeviceFailureLimit {
			_, err := e.loginFrom(t, "198.51.100.4", victim, "the owner mistypes", device)
			if !errors.Is(err, accounts.ErrBadCredentials) {
				t.Fatalf("wrong password %d through the device: %v, want wrong email or password", i+1, err)
			}
		}
		if g, err := e.store.LoginGuards().Get(ctx, victim); err != nil || !equalGuard(g, guard) {
			t.Errorf("the email's guard after the device's failures and sign-in: %+v, %v; want it as the stranger left it: %+v", g, err, guard)
		}
		_, err = e.loginFrom(t, "198.51.100.4", victim, password, device)
		wantCode(t, err, domain.CodeAccountLocked) // revoked: ignored

		// After the lock-out, a new device; 90 days unused, it is ignored.
		e.clock.advance(domain.FirstLockout)
		fresh, err := e.login(t, victim, password)
		if err != nil {
			t.Fatal(err)
		}
		e.clock.advance(domain.DeviceTTL)
		lock()
		_, err = e.loginFrom(t, "198.51.100.4", victim, password, fresh.DeviceToken)
		wantCode(t, err, domain.CodeAccountLocked)
	})
}

func equalGuard(a, b domain.LoginGuard) bool {
	return a.Email == b.Email && a.Failures == b.Failures && a.WindowStart.Equal(b.WindowStart) && a.Lockouts == b.Lockouts &&
		(a.LockedUntil == nil) == (b.LockedUntil == nil) && (a.LockedUntil == nil || a.LockedUntil.Equal(*b.LockedUntil))
}

// An MFA challenge opened through a known device carries it: the email's
// lock-out does not refuse its code, and its wrong codes count against the
// device, not the email. A challenge opened without one is refused by the
// lock-out.
func TestKnownDeviceThroughMFA(t *testing.T) {
	stores(t, func(t *testing.T, e env) {
		ctx := t.Context()
		victim := e.signUp(t, "Mia")
		first, err := e.login(t, victim, password)
		if err != nil {
			t.Fatal(err)
		}
		enableMFA(t, e, victim)
		viaDevice, err := e.loginFrom(t, "198.51.100.4", victim, password, first.DeviceToken)
		if err != nil || viaDevice.MFAChallenge == "" {
			t.Fatalf("sign-in through the device: %+v, %v (want a challenge)", viaDevice, err)
		}
		deviceCode := e.mail.lastCode(t, victim)
		without, err := e.login(t, victim, password)
		if err != nil {
			t.Fatal(err)
		}
		code := e.mail.lastCode(t, victim)
		for range domain.LoginFailureLimit {
			_, _ = e.loginFrom(t, "192.0.2.66", victim, "a stranger's guess", "")
		}
		_, err = e.svc.VerifyMFA(ctx, without.MFAChallenge, code, accounts.Client{})
		wantCode(t, err, domain.CodeAccountLocked)
		guard, _ := e.store.LoginGuards().Get(ctx, victim)
		for range domain.DeviceFailureLimit - 1 {
			_, err := e.svc.VerifyMFA(ctx, viaDevice.MFAChallenge, otherCode(deviceCode), accounts.Client{})
			wantCode(t, err, domain.CodeMFAInvalid)
		}
		if g, _ := e.store.LoginGuards().Get(ctx, victim); !equalGuard(g, guard) {
			t.Errorf("wrong codes through the device changed the email's guard: %+v, was %+v", g, guard)
		}
		sess, err := e.svc.VerifyMFA(ctx, viaDevice.MFAChallenge, deviceCode, accounts.Client{})
		if err != nil || sess.Token == "" || sess.DeviceToken == "" {
			t.Fatalf("the right code through the known device during the lock-out: %+v, %v", sess, err)
		}
		a, err := e.svc.Authenticate(ctx, sess.Token)
		if err != nil || !a.MFA {
			t.Errorf("a session opened with a code: %+v, %v (want MFA set)", a, err)
		}
	})
}

// Switching emailed codes off takes the password or a fresh mailed code,
// never the session alone: without either, a code is mailed and nothing
// changes; a wrong password is WRONG_PASSWORD and counts toward the
// lock-out; a wrong code is MFA_INVALID and counts against its challenge;
// a sign-in challenge is no proof, nor is another user's; and a code that
// switched codes off never opens a session. Switching on needs nothing.
func TestSwitchingMFAOffTakesProof(t *testing.T) {
	storesWith(t, withBudget, func(t *testing.T, e env) {
		ctx := t.Context()
		email, other := e.signUp(t, "Ola"), e.signUp(t, "Pia")
		enableMFA(t, e, email)
		enableMFA(t, e, other)
		tok, err := e.login(t, email, password)
		if err != nil {
			t.Fatal(err)
		}
		signInCode := e.mail.lastCode(t, email)
		sess, err := e.svc.VerifyMFA(ctx, tok.MFAChallenge, signInCode, accounts.Client{})
		if err != nil {
			t.Fatal(err)
		}
		me, err := e.svc.Authenticate(ctx, sess.Token)
		if err != nil {
			t.Fatal(err)
		}
		from := accounts.Client{IP: "198.51.100.40"}
		off := func(in accounts.MFAChange) (accounts.MFAStatus, error) {
			t.Helper()
			return e.svc.SetMFA(ctx, me, in, from)
		}
		mfaOn := func() bool {
			t.Helper()
			u, err := e.store.Users().GetByEmail(ctx, email)
			if err != nil {
				t.Fatal(err)
			}
			return u.MFAEnabled
		}

		st, err := off(accounts.MFAChange{})
		if err != nil || st.Challenge == "" || !st.Enabled || !mfaOn() {
			t.Fatalf("switching off with the session alone: %+v, %v (want a code mailed and nothing changed)", st, err)
		}
		code := e.mail.lastCode(t, email)
		_, err = off(accounts.MFAChange{ChallengeID: st.Challenge, Code: otherCode(code)})
		wantCode(t, err, domain.CodeMFAInvalid)
		if c, _ := e.store.MFAChallenges().Get(ctx, st.Challenge); c.Attempts != 1 {
			t.Errorf("a wrong code: the challenge counts %d wrong codes, want 1", c.Attempts)
		}
		_, err = off(accounts.MFAChange{Code: code})
		wantCode(t, err, domain.CodeValidation)
		_, err = off(accounts.MFAChange{ChallengeID: tok.MFAChallenge, Code: signInCode})
		wantCode(t, err, domain.CodeMFAInvalid) // a sign-in's challenge
		theirs, err := e.svc.SetMFA(ctx, actorOf(t, e, other), accounts.MFAChange{}, from)
		if err != nil {
			t.Fatal(err)
		}
		_, err = off(accounts.MFAChange{ChallengeID: theirs.Challenge, Code: e.mail.lastCode(t, other)})
		wantCode(t, err, domain.CodeMFAInvalid) // another user's
		_, err = e.svc.VerifyMFA(ctx, st.Challenge, code, accounts.Client{})
		wantCode(t, err, domain.CodeMFAInvalid) // no session from it
		if !mfaOn() {
			t.Fatal("codes were switched off without a proof")
		}
		if st, err := off(accounts.MFAChange{ChallengeID: st.Challenge, Code: code}); err != nil || st.Enabled || mfaOn() {
			t.Fatalf("switching off with the mailed code: %+v, %v", st, err)
		}
		if st, err := e.svc.SetMFA(ctx, me, accounts.MFAChange{Enabled: true}, from); err != nil || !st.Enabled {
			t.Fatalf("switching on: %+v, %v", st, err)
		}
		_, err = off(accounts.MFAChange{ChallengeID: st.Challenge, Code: code})
		wantCode(t, err, domain.CodeMFAInvalid) // used

		// The password: a wrong one counts as a failed sign-in; the one
		// that locks the email answers so, as at sign-in.
		for i := range domain.LoginFailureLimit {
			_, err := off(accounts.MFAChange{Password: "not my password"})
			want := domain.CodeWrongPassword
			if i == domain.LoginFailureLimit-1 {
				want = domain.CodeAccountLocked
			}
			wantCode(t, err, want)
			if g, _ := e.store.LoginGuards().Get(ctx, email); i < domain.LoginFailureLimit-1 && g.Failures != i+1 {
				t.Fatalf("wrong password %d: the email counts %d failures", i+1, g.Failures)
			}
		}
		// The wrong code and the five wrong passwords spent the address's
		// budget (6); the refused proofs did not. From another address,
		// the email is locked.
		_, err = off(accounts.MFAChange{Password: password})
		wantLimited(t, e, err)
		_, err = e.svc.SetMFA(ctx, me, accounts.MFAChange{Password: password}, accounts.Client{IP: "198.51.100.41"})
		wantCode(t, err, domain.CodeAccountLocked)
		e.clock.advance(domain.FirstLockout)
		if st, err := off(accounts.MFAChange{Password: password}); err != nil || st.Enabled || mfaOn() {
			t.Fatalf("switching off with the password: %+v, %v", st, err)
		}
	})
}

// actorOf signs email in (through its code when it has MFA on) and
// returns the session's actor.
func actorOf(t *testing.T, e env, email string) domain.Actor {
	t.Helper()
	tok, err := e.login(t, email, password)
	if err != nil {
		t.Fatal(err)
	}
	if tok.MFAChallenge != "" {
		if tok, err = e.svc.VerifyMFA(t.Context(), tok.MFAChallenge, e.mail.lastCode(t, email), accounts.Client{}); err != nil {
			t.Fatal(err)
		}
	}
	a, err := e.svc.Authenticate(t.Context(), tok.Token)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
