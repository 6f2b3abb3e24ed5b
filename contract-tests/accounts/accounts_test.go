// Package accounts_test runs the sign-in rules of core/accounts over the
// real stores (SQLite and PostgreSQL) with a settable clock: lock-out,
// password reset, session expiry and revocation, emailed links, rehashing.
package accounts_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/credence-dev/credence/adapters/sqlstore"
	"github.com/credence-dev/credence/contract-tests/harness"
	"github.com/credence-dev/credence/core/accounts"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/orgs"
	"github.com/credence-dev/credence/core/platform"
	"github.com/credence-dev/credence/core/signing"
	"github.com/credence-dev/credence/ports"
)

// clock is a settable ports.Clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }
func (c *clock) set(t time.Time)         { c.mu.Lock(); c.now = t; c.mu.Unlock() }
func (m *mailbox) Send(_ context.Context, msg ports.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, msg)
	return nil
}

// mailbox keeps what the service mailed.
type mailbox struct {
	mu   sync.Mutex
	sent []ports.Message
}

// to returns the messages sent to addr.
func (m *mailbox) to(addr string) []ports.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []ports.Message
	for _, msg := range m.sent {
		if msg.To == addr {
			out = append(out, msg)
		}
	}
	return out
}

var linkToken = regexp.MustCompile(`token=([A-Za-z0-9_-]+)`)

// lastToken is the token of the newest link mailed to addr.
func (m *mailbox) lastToken(t *testing.T, addr string) string {
	t.Helper()
	return m.lastTokenF(t, addr)
}

func (m *mailbox) lastTokenF(t testing.TB, addr string) string {
	t.Helper()
	msgs := m.to(addr)
	for i := len(msgs) - 1; i >= 0; i-- {
		if got := linkToken.FindStringSubmatch(msgs[i].Text); got != nil {
			return got[1]
		}
	}
	t.Fatalf("no link mailed to %s", addr)
	return ""
}

type env struct {
	svc   *accounts.Service
	p     *platform.Platform // svc is p.Accounts
	store ports.Store
	db    *sqlstore.Store
	clock *clock
	mail  *mailbox
}

const password = "correct horse battery"

func stores(t *testing.T, run func(t *testing.T, e env)) { storesWith(t, nil, run) }

// storesWith is stores with a service whose configuration configure
// completes (it may use the test's clock).
func storesWith(t *testing.T, configure func(cfg *accounts.Config, c ports.Clock), run func(t *testing.T, e env)) {
	for name, dsn := range map[string]func(testing.TB) string{"sqlite": harness.FreshSQLitePath, "postgres": harness.FreshPostgresDB} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, err := sqlstore.Open(t.Context(), dsn(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			c := &clock{now: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)}
			m := &mailbox{}
			cfg := accounts.Config{PublicURL: "https://credence.example"}
			if configure != nil {
				configure(&cfg, c)
			}
			p := newPlatform(t, s, c, m, cfg)
			run(t, env{svc: p.Accounts, p: p, store: s, db: s, clock: c, mail: m})
		})
	}
}

// newPlatform returns a core assembled on s by
// core/platform, as the apps assemble it, whose queue runs each task at
// once: mail goes through the real outbox and delivery, composed at
// delivery, before the call that wrote it returns. Delivery errors fail t
// (when not nil).
func newPlatform(t *testing.T, s ports.Store, c ports.Clock, m ports.Mailer, cfg accounts.Config) *platform.Platform {
	cipher, err := signing.NewCipher(make([]byte, signing.MasterKeySize))
	if err != nil {
		panic(err)
	}
	base, err := url.Parse(cfg.PublicURL)
	if err != nil {
		panic(err)
	}
	var tb testing.TB
	if t != nil {
		tb = t
	}
	q := harness.NewSyncQueue(tb)
	p, err := platform.New(platform.Deps{Store: s, Queue: q, Mailer: m, Cipher: cipher, Clock: c, Limiter: cfg.Limiter},
		platform.Options{PublicURL: base, AdminEmails: cfg.AdminEmails, EmailLimit: cfg.EmailLimit, SignInLimit: cfg.SignInLimit,
			APIKeyCacheTTL: cfg.APIKeyCacheTTL})
	if err != nil {
		panic(err)
	}
	p.Register(q)
	return p
}

// signUp makes a verified account and returns its email.
func (e env) signUp(t *testing.T, name string) string {
	t.Helper()
	email := strings.ToLower(name) + "-" + domain.NewID()[:6] + "@example.com"
	if err := e.svc.SignUp(t.Context(), accounts.SignUpInput{Email: email, Password: password, Name: name}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.VerifyEmail(t.Context(), e.mail.lastToken(t, email)); err != nil {
		t.Fatal(err)
	}
	return email
}

func (e env) login(t *testing.T, email, pw string) (accounts.SessionToken, error) {
	t.Helper()
	return e.svc.Login(t.Context(), accounts.LoginInput{Email: email, Password: pw}, accounts.Client{IP: "198.51.100.4", UserAgent: "test"})
}

func wantCode(t *testing.T, err error, code domain.Code) {
	t.Helper()
	if domain.CodeOf(err) != code {
		t.Fatalf("error %v (code %q), want %s", err, domain.CodeOf(err), code)
	}
}

// Five wrong passwords lock the account for 15 minutes, even against the
// right one; the owner is mailed once; afterwards the right password works
// and a second lock-out lasts 30 minutes. An unregistered email answers
// exactly the same and nobody is mailed.
func TestLockOut(t *testing.T) {
	stores(t, func(t *testing.T, e env) {
		email := e.signUp(t, "Ada")
		ghost := "ghost-" + domain.NewID()[:6] + "@example.com"
		for _, who := range []string{email, ghost} {
			for i := range domain.LoginFailureLimit - 1 {
				_, err := e.login(t, who, "wrong password "+string(rune('a'+i)))
				wantCode(t, err, domain.CodeUnauthenticated)
				e.clock.advance(time.Minute)
			}
			_, err := e.login(t, who, "wrong password e")
			var locked *domain.LockedError
			if !errors.As(err, &locked) || !locked.RetryAt.Equal(e.clock.Now().Add(15*time.Minute)) {
				t.Fatalf("%s: fifth failure answered %v, want ACCOUNT_LOCKED for 15 minutes", who, err)
			}
			e.clock.advance(14 * time.Minute)
			_, err = e.login(t, who, password)
			wantCode(t, err, domain.CodeAccountLocked)
		}
		if n := len(e.mail.to(ghost)); n != 0 {
			t.Errorf("%d mails to an unregistered email", n)
		}
		lockMails := 0
		for _, m := range e.mail.to(email) {
			if strings.Contains(m.Subject, "locked") {
				lockMails++
			}
		}
		if lockMails != 1 {
			t.Errorf("%d lock-out mails to the owner, want 1", lockMails)
		}

		e.clock.advance(2 * time.Minute) // the lock-out is over
		for range domain.LoginFailureLimit {
			_, _ = e.login(t, email, "wrong again")
		}
		_, err := e.login(t, email, password)
		var locked *domain.LockedError
		if !errors.As(err, &locked) || locked.RetryAt.Sub(e.clock.Now()) != 30*time.Minute {
			t.Fatalf("second lock-out in a row: %v, want 30 minutes", err)
		}
		e.clock.advance(30 * time.Minute)
		if _, err := e.login(t, email, password); err != nil {
			t.Fatalf("right password after the lock-out: %v", err)
		}
		// Success forgets the failures: four more do not lock.
		for range domain.LoginFailureLimit - 1 {
			_, err := e.login(t, email, "wrong")
			wantCode(t, err, domain.CodeUnauthenticated)
		}
	})
}

// Password reset: any email gets the same answer, only a registered one a
// link; a refused password leaves the link usable; the new password ends
// every session and the lock-out; the link works once and for an hour.
func TestPasswordReset(t *testing.T) {
	stores(t, func(t *testing.T, e env) {
		ctx := t.Context()
		email := e.signUp(t, "Bea")
		ghost := "nobody-" + domain.NewID()[:6] + "@example.com"
		if err := e.svc.RequestPasswordReset(ctx, ghost); err != nil {
			t.Fatalf("reset for an unregistered email: %v, want the same answer as for a registered one", err)
		}
		if n := len(e.mail.to(ghost)); n != 0 {
			t.Fatalf("%d mails to an unregistered email", n)
		}
		s1, err := e.login(t, email, password)
		if err != nil {
			t.Fatal(err)
		}
		for range domain.LoginFailureLimit {
			_, _ = e.login(t, email, "wrong password")
		}
		if err := e.svc.RequestPasswordReset(ctx, " "+strings.ToUpper(email)+" "); err != nil {
			t.Fatal(err)
		}
		token := e.mail.lastToken(t, email)

		for _, weak := range []string{"short", "password1234", strings.ToUpper(email)} {
			wantCode(t, e.svc.ConfirmPasswordReset(ctx, token, weak), domain.CodeValidation)
		}
		const fresh = "a brand new passphrase"
		if err := e.svc.ConfirmPasswordReset(ctx, token, fresh); err != nil {
			t.Fatalf("reset after refused passwords: %v (a refused password must leave the link usable)", err)
		}
		if _, err := e.svc.Authenticate(ctx, s1.Token); !errors.Is(err, domain.ErrUnauthenticated) {
			t.Errorf("a session from before the reset still authenticates: %v", err)
		}
		if _, err := e.login(t, email, password); err == nil {
			t.Error("the old password still signs in")
		}
		if _, err := e.login(t, email, fresh); err != nil {
			t.Errorf("the new password (which also lifts the lock-out): %v", err)
		}
		wantCode(t, e.svc.ConfirmPasswordReset(ctx, token, "yet another passphrase"), domain.CodeInvalidToken)

		if err := e.svc.RequestPasswordReset(ctx, email); err != nil {
			t.Fatal(err)
		}
		late := e.mail.lastToken(t, email)
		e.clock.advance(accounts.PasswordResetTTL)
		wantCode(t, e.svc.ConfirmPasswordReset(ctx, late, "too late passphrase"), domain.CodeInvalidToken)
	})
}

// Verification links work once and for 24 hours.
func TestVerificationLinkExpiresAndIsSingleUse(t *testing.T) {
	stores(t, func(t *testing.T, e env) {
		ctx := t.Context()
		email := "cy-" + domain.NewID()[:6] + "@example.com"
		if err := e.svc.SignUp(ctx, accounts.SignUpInput{Email: email, Password: password, Name: "Cy"}); err != nil {
			t.Fatal(err)
		}
		first := e.mail.lastToken(t, email)
		_, err := e.login(t, email, password)
		wantCode(t, err, domain.CodeEmailNotVerified)
		e.clock.advance(accounts.VerifyEmailTTL)
		wantCode(t, e.svc.VerifyEmail(ctx, first), domain.CodeInvalidToken)
		if err := e.svc.ResendVerification(ctx, email); err != nil {
			t.Fatal(err)
		}
		second := e.mail.lastToken(t, email)
		if err := e.svc.VerifyEmail(ctx, second); err != nil {
			t.Fatal(err)
		}
		wantCode(t, e.svc.VerifyEmail(ctx, second), domain.CodeInvalidToken)
		if _, err := e.login(t, email, password); err != nil {
			t.Fatal(err)
		}
	})
}

// Sessions end a day after their last use and a week after sign-in; the
// user lists their own and revokes any of them, never another user's.
func TestSessionsExpireAndRevoke(t *testing.T) {
	stores(t, func(t *testing.T, e env) {
		ctx := t.Context()
		email, other := e.signUp(t, "Dee"), e.signUp(t, "Eve")
		idle, err := e.login(t, email, password)
		if err != nil {
			t.Fatal(err)
		}
		busy, err := e.login(t, email, password)
		if err != nil {
			t.Fatal(err)
		}
		start := e.clock.Now()
		for e.clock.Now().Add(12 * time.Hour).Before(start.Add(domain.SessionTTL)) {
			e.clock.advance(12 * time.Hour)
			if _, err := e.svc.Authenticate(ctx, busy.Token); err != nil {
				t.Fatalf("a session used every 12 hours ended after %v: %v", e.clock.Now().Sub(start), err)
			}
		}
		if _, err := e.svc.Authenticate(ctx, idle.Token); !errors.Is(err, domain.ErrUnauthenticated) {
			t.Errorf("a session unused for days still authenticates: %v", err)
		}
		e.clock.set(start.Add(domain.SessionTTL))
		if _, err := e.svc.Authenticate(ctx, busy.Token); !errors.Is(err, domain.ErrUnauthenticated) {
			t.Errorf("a session past its absolute expiry still authenticates: %v", err)
		}

		a, err := e.login(t, email, password)
		if err != nil {
			t.Fatal(err)
		}
		e.clock.advance(time.Minute)
		b, err := e.login(t, email, password)
		if err != nil {
			t.Fatal(err)
		}
		actorA, err := e.svc.Authenticate(ctx, a.Token)
		if err != nil {
			t.Fatal(err)
		}
		list, err := e.svc.Sessions(ctx, actorA)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].IP != "198.51.100.4" {
			t.Fatalf("live sessions: %+v, want the two new ones with their client address", list)
		}
		theirs, err := e.login(t, other, password)
		if err != nil {
			t.Fatal(err)
		}
		actorOther, err := e.svc.Authenticate(ctx, theirs.Token)
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, e.svc.RevokeSession(ctx, actorOther, actorA.SessionID), domain.CodeNotFound)
		if err := e.svc.RevokeSession(ctx, actorA, list[0].ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Authenticate(ctx, b.Token); !errors.Is(err, domain.ErrUnauthenticated) {
			t.Errorf("the revoked session (the newest, b) still authenticates: %v", err)
		}
		if _, err := e.svc.Authenticate(ctx, a.Token); err != nil {
			t.Errorf("the other session was ended too: %v", err)
		}
	})
}

// A hash made with older argon2id parameters is replaced at sign-in.
func TestRehashOnLogin(t *testing.T) {
	stores(t, func(t *testing.T, e env) {
		ctx := t.Context()
		email := e.signUp(t, "Flo")
		u, err := e.store.Users().GetByEmail(ctx, email)
		if err != nil {
			t.Fatal(err)
		}
		old := weakHash(t, password)
		if err := e.store.Users().SetPassword(ctx, u.ID, old); err != nil {
			t.Fatal(err)
		}
		if _, err := e.login(t, email, password); err != nil {
			t.Fatalf("sign-in with an old-parameter hash: %v", err)
		}
		u, _ = e.store.Users().GetByEmail(ctx, email)
		if u.PasswordHash == old || accounts.NeedsRehash(u.PasswordHash) || !accounts.CheckPassword(u.PasswordHash, password) {
			t.Errorf("hash after sign-in = %q, want one with the current parameters", u.PasswordHash)
		}
	})
}

// weakHash is an argon2id PHC string with parameters below the current ones.
func weakHash(t *testing.T, pw string) string {
	t.Helper()
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte(pw), salt, 1, 8*1024, 1, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, 8*1024, 1, 1,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

var mfaCodeRE = regexp.MustCompile(`\n    (\d{6})\n`)

// lastCode is the newest sign-in code mailed to addr.
func (m *mailbox) lastCode(t *testing.T, addr string) string {
	t.Helper()
	msgs := m.to(addr)
	for i := len(msgs) - 1; i >= 0; i-- {
		if got := mfaCodeRE.FindStringSubmatch(msgs[i].Text); got != nil {
			if strings.Contains(msgs[i].Subject, got[1]) {
				t.Fatalf("the code is in the subject (subjects are logged): %q", msgs[i].Subject)
			}
			return got[1]
		}
	}
	t.Fatalf("no sign-in code mailed to %s", addr)
	return ""
}

// MFA by emailed code: the password alone opens no session; a wrong code
// is MFA_INVALID and counts toward the lock-out; the right one works once,
// for 10 minutes; an organization can require codes of every member.
func TestMFA(t *testing.T) {
	stores(t, func(t *testing.T, e env) {
		ctx := t.Context()
		email := e.signUp(t, "Gus")
		first, err := e.login(t, email, password)
		if err != nil {
			t.Fatal(err)
		}
		me, err := e.svc.Authenticate(ctx, first.Token)
		if err != nil {
			t.Fatal(err)
		}
		if st, err := e.svc.SetMFA(ctx, me, accounts.MFAChange{Enabled: true}, accounts.Client{}); err != nil || !st.Enabled {
			t.Fatalf("switch MFA on: %+v, %v", st, err)
		}

		tok, err := e.login(t, email, password)
		if err != nil || tok.Token != "" || tok.MFAChallenge == "" {
			t.Fatalf("sign-in with MFA on: %+v, %v (want a challenge and no session)", tok, err)
		}
		code := e.mail.lastCode(t, email)
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		for range domain.LoginFailureLimit - 1 {
			_, err := e.svc.VerifyMFA(ctx, tok.MFAChallenge, wrong, accounts.Client{})
			wantCode(t, err, domain.CodeMFAInvalid)
		}
		sess, err := e.svc.VerifyMFA(ctx, tok.MFAChallenge, code, accounts.Client{IP: "192.0.2.1"})
		if err != nil || sess.Token == "" {
			t.Fatalf("the right code after 4 wrong ones: %+v, %v", sess, err)
		}
		if _, err := e.svc.Authenticate(ctx, sess.Token); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.VerifyMFA(ctx, tok.MFAChallenge, code, accounts.Client{})
		wantCode(t, err, domain.CodeMFAInvalid) // used

		// Expired after 10 minutes.
		tok, _ = e.login(t, email, password)
		code = e.mail.lastCode(t, email)
		e.clock.advance(domain.MFACodeTTL)
		_, err = e.svc.VerifyMFA(ctx, tok.MFAChallenge, code, accounts.Client{})
		wantCode(t, err, domain.CodeMFAInvalid)

		// Five wrong codes lock the account like five wrong passwords; the
		// right password does not forget them before the code is right.
		tok, _ = e.login(t, email, password)
		for range 3 {
			_, _ = e.svc.VerifyMFA(ctx, tok.MFAChallenge, wrong, accounts.Client{})
		}
		tok, _ = e.login(t, email, password)
		code = e.mail.lastCode(t, email)
		_, _ = e.svc.VerifyMFA(ctx, tok.MFAChallenge, wrong, accounts.Client{})
		_, err = e.svc.VerifyMFA(ctx, tok.MFAChallenge, wrong, accounts.Client{})
		wantCode(t, err, domain.CodeAccountLocked)
		_, err = e.svc.VerifyMFA(ctx, tok.MFAChallenge, code, accounts.Client{})
		wantCode(t, err, domain.CodeAccountLocked)
		e.clock.advance(domain.FirstLockout)

		// Off again (with the password): the password is enough.
		if _, err := e.svc.SetMFA(ctx, me, accounts.MFAChange{Password: password}, accounts.Client{}); err != nil {
			t.Fatal(err)
		}
		if tok, err := e.login(t, email, password); err != nil || tok.Token == "" {
			t.Fatalf("sign-in with MFA off: %+v, %v", tok, err)
		}

		// An organization requiring MFA asks its members for codes.
		member := e.signUp(t, "Hal")
		u, _ := e.store.Users().GetByEmail(ctx, member)
		o := domain.Organization{ID: domain.NewID(), Name: "Strict", Slug: "strict-" + domain.NewID()[:8], Status: domain.OrgApproved,
			Plan: domain.PlanFree, RequireMFA: true, CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now()}
		if err := e.store.Orgs().Create(ctx, o); err != nil {
			t.Fatal(err)
		}
		if err := e.store.Members().Add(ctx, domain.Membership{OrgID: o.ID, UserID: u.ID, Role: domain.RoleViewer, CreatedAt: e.clock.Now()}); err != nil {
			t.Fatal(err)
		}
		tok, err = e.login(t, member, password)
		if err != nil || tok.MFAChallenge == "" {
			t.Fatalf("member of an organization requiring MFA: %+v, %v (want a challenge)", tok, err)
		}
		if _, err := e.svc.VerifyMFA(ctx, tok.MFAChallenge, e.mail.lastCode(t, member), accounts.Client{}); err != nil {
			t.Fatal(err)
		}
	})
}

// Account mail goes through the outbox sealed: the sign-in link it carries
// is not readable in the database, and the mail is marked sent.
func TestAccountMailIsSealedAtRest(t *testing.T) {
	stores(t, func(t *testing.T, e env) {
		ctx := t.Context()
		email := "ivy-" + domain.NewID()[:6] + "@example.com"
		if err := e.svc.SignUp(ctx, accounts.SignUpInput{Email: email, Password: password, Name: "Ivy"}); err != nil {
			t.Fatal(err)
		}
		token := e.mail.lastToken(t, email)
		var rows []struct {
			Kind   string `bun:"kind"`
			Body   string `bun:"body"`
			Sealed bool   `bun:"sealed"`
			Status string `bun:"status"`
		}
		if err := e.db.DB().NewSelect().Table("mails").Column("kind", "body", "sealed", "status").Where("to_addr = ?", email).Scan(ctx, &rows); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].Kind != string(domain.MailVerifyEmail) || !rows[0].Sealed || rows[0].Status != string(domain.MailSent) ||
			strings.Contains(rows[0].Body, token) || strings.Contains(rows[0].Body, "verify-email") {
			t.Fatalf("outbox rows for %s: %+v (want one sent verification mail, sealed, without its link)", email, rows)
		}
	})
}

// A plan change racing the creation of an API key never leaves a key
// beyond the new plan's cap: on Free (no keys) none stays active.
func TestAPIKeyCreationRacesDowngrade(t *testing.T) {
	stores(t, func(t *testing.T, e env) {
		ctx := t.Context()
		svc, owner, o := e.ownedOrg(t, "Kim")
		admin := domain.Actor{UserID: domain.NewID(), Admin: true}
		for round := range 15 {
			if _, err := svc.SetPlan(ctx, admin, o.ID, domain.PlanProfessional); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			wg.Go(func() {
				_, err := svc.CreateAPIKey(ctx, owner, o.ID, orgs.APIKeyInput{Name: fmt.Sprintf("k%d", round)})
				if err != nil && domain.CodeOf(err) != domain.CodePlanLimitReached && domain.CodeOf(err) != domain.CodePlanRequired {
					t.Errorf("create: %v", err)
				}
			})
			wg.Go(func() {
				if _, err := svc.SetPlan(ctx, admin, o.ID, domain.PlanFree); err != nil {
					t.Errorf("downgrade: %v", err)
				}
			})
			wg.Wait()
			if n, err := e.store.APIKeys().CountActive(ctx, o.ID, e.clock.Now()); err != nil || n != 0 {
				t.Fatalf("round %d: %d active keys on Free (%v), want none", round, n, err)
			}
		}
	})
}

// An activity export reads the log in batches and yields every entry
// once, newest first, however many batches it takes; it is checked for
// permission before anything is read.
func TestActivityExportReadsEveryBatch(t *testing.T) {
	stores(t, func(t *testing.T, e env) {
		ctx := t.Context()
		svc, owner, o := e.ownedOrg(t, "Eve")
		const recorded = 2500
		entries := make([]domain.Activity, recorded)
		for i := range entries {
			entries[i] = domain.NewActivity(owner, o.ID, domain.ActBadgeCreated, "badge", domain.NewID(), "",
				e.clock.Now().Add(time.Duration(i)*time.Second))
		}
		if err := e.store.Activity().Record(ctx, entries...); err != nil {
			t.Fatal(err)
		}

		if _, err := svc.ExportActivity(ctx, domain.Actor{UserID: domain.NewID()}, o.ID, ports.ActivityFilter{}); domain.CodeOf(err) != domain.CodeNotFound {
			t.Errorf("export by a stranger: %v, want NOT_FOUND", err)
		}
		all, err := svc.ExportActivity(ctx, owner, o.ID, ports.ActivityFilter{})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		var last time.Time
		badges := 0
		for a, err := range all {
			if err != nil {
				t.Fatal(err)
			}
			if seen[a.ID] || (!last.IsZero() && a.CreatedAt.After(last)) || a.OrgID != o.ID {
				t.Fatalf("entry %s (%s) repeated, out of order or of another organization", a.ID, a.CreatedAt)
			}
			seen[a.ID], last = true, a.CreatedAt
			if a.Action == domain.ActBadgeCreated {
				badges++
			}
		}
		if badges != recorded {
			t.Errorf("the export yielded %d of %d recorded entries (%d in all)", badges, recorded, len(seen))
		}
		n := 0
		for range all { // stopping early reads no more
			if n++; n == 10 {
				break
			}
		}
	})
}

// ownedOrg signs up name and gives them an organization, run by e's
// orgs service.
func (e env) ownedOrg(t *testing.T, name string) (*orgs.Service, domain.Actor, domain.Organization) {
	t.Helper()
	email := e.signUp(t, name)
	u, err := e.store.Users().GetByEmail(t.Context(), email)
	if err != nil {
		t.Fatal(err)
	}
	owner := domain.Actor{UserID: u.ID, UserEmail: email}
	orgName := name + "'s academy " + domain.NewID()[:6]
	o, err := e.p.Orgs.Create(t.Context(), owner, domain.OrgInput{Name: &orgName})
	if err != nil {
		t.Fatal(err)
	}
	return e.p.Orgs, owner, o
}
