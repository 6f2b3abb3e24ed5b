package accounts_test

import (
	"context"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/uptrace/bun"

	"github.com/credence-dev/credence/core/accounts"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
	"github.com/credence-dev/credence/core/work"
)

// statements records the SQL a store runs, with every value replaced by
// "?": the shape of the work, whatever the data.
type statements struct {
	mu  sync.Mutex
	on  bool
	got []string
}

var sqlValue = regexp.MustCompile(`'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b|\b(?:NULL|TRUE|FALSE|true|false)\b`)

func (s *statements) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }

func (s *statements) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.on {
		s.got = append(s.got, sqlValue.ReplaceAllString(e.Query, "?"))
	}
}

// during returns the statements fn runs.
func (s *statements) during(fn func()) []string {
	s.mu.Lock()
	s.on, s.got = true, nil
	s.mu.Unlock()
	fn()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.on = false
	return s.got
}

// relayed counts the mails relayed, and delivers none: what the request
// path does is measured alone.
type relayed struct {
	mu  sync.Mutex
	ids []string
}

func (r *relayed) MailsQueued(_ context.Context, ids ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids = append(r.ids, ids...)
}

func (r *relayed) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.ids
	r.ids = nil
	return out
}

// Every account request that mails an address named by its caller does
// the same store work for a registered and an unregistered address, so
// that its latency tells nobody which emails have accounts: sign-up (a
// new and a taken email), verification resends, password resets,
// "retrieve my credentials" (an address holding a credential and one
// holding none), and the lock-out by failed sign-ins (whose notice only a registered owner
// receives). Each writes one mail, relayed alike; whether it is sent is
// decided at delivery.
func TestAccountRequestsWorkAlikeForEveryEmail(t *testing.T) {
	stores(t, func(t *testing.T, e env) {
		ctx := t.Context()
		rec := &statements{}
		// The store is open already: WithQueryHook would hook a copy of
		// its bun.DB that the store never uses.
		//lint:ignore SA1019 the hook must see the queries of the open store
		e.db.DB().AddQueryHook(rec)
		relay := &relayed{}
		cipher, err := signing.NewCipher(make([]byte, signing.MasterKeySize))
		if err != nil {
			t.Fatal(err)
		}
		svc := accounts.New(e.store, e.clock, work.NewOutbox(e.store, cipher, relay, e.clock), slog.New(slog.DiscardHandler), accounts.Config{PublicURL: "https://credence.example"})

		registered := e.signUp(t, "Known")
		unverified := "pending-" + domain.NewID()[:6] + "@example.com"
		if err := e.svc.SignUp(ctx, accounts.SignUpInput{Email: unverified, Password: password, Name: "Pending"}); err != nil {
			t.Fatal(err)
		}
		holder := e.credentialHolder(t)
		ghost := func() string { return "ghost-" + domain.NewID()[:6] + "@example.com" }
		for _, c := range []struct {
			name        string
			known, none string // a registered email, an unregistered one
			run         func(email string) error
		}{
			{"sign-up", registered, ghost(), func(email string) error {
				return svc.SignUp(ctx, accounts.SignUpInput{Email: email, Password: password, Name: "Someone"})
			}},
			{"resend verification", unverified, ghost(), func(email string) error { return svc.ResendVerification(ctx, email) }},
			{"password reset", registered, ghost(), func(email string) error { return svc.RequestPasswordReset(ctx, email) }},
			{"retrieve my credentials", holder, ghost(), func(email string) error { return svc.RequestCredentialLinks(ctx, email) }},
			{"lock-out by failed sign-ins", registered, ghost(), func(email string) error {
				var last error
				for range domain.LoginFailureLimit {
					_, last = svc.Login(ctx, accounts.LoginInput{Email: email, Password: "not the password"}, accounts.Client{IP: "192.0.2.9"})
				}
				if domain.CodeOf(last) != domain.CodeAccountLocked {
					t.Fatalf("%d failed sign-ins answered %v, want ACCOUNT_LOCKED", domain.LoginFailureLimit, last)
				}
				return nil
			}},
		} {
			var works [2][]string
			var mails [2]int
			for i, email := range []string{c.known, c.none} {
				works[i] = rec.during(func() {
					if err := c.run(email); err != nil {
						t.Fatalf("%s for %s: %v", c.name, email, err)
					}
				})
				mails[i] = len(relay.take())
			}
			if !slices.Equal(works[0], works[1]) {
				t.Errorf("%s runs other statements for a registered email:\n  %s\nthan for an unregistered one:\n  %s",
					c.name, strings.Join(works[0], "\n  "), strings.Join(works[1], "\n  "))
			}
			if mails != [2]int{1, 1} || !slices.ContainsFunc(works[0], func(q string) bool { return strings.Contains(q, `INSERT INTO "mails"`) }) {
				t.Errorf("%s relayed %v mails (registered, unregistered), want one each, written on the request path", c.name, mails)
			}
		}
	})
}

// credentialHolder returns an address that a credential was issued to,
// written straight to the store (an organization, a badge, a credential):
// what "retrieve my credentials" must not tell apart from any address.
func (e env) credentialHolder(t *testing.T) string {
	t.Helper()
	ctx := t.Context()
	now := domain.Truncate(e.clock.Now())
	o := domain.Organization{ID: domain.NewID(), Name: "Holder Academy", Slug: "holder-" + domain.NewID()[:8], Status: domain.OrgApproved,
		Plan: domain.PlanFree, CreatedAt: now, UpdatedAt: now}
	if err := e.store.Orgs().Create(ctx, o); err != nil {
		t.Fatal(err)
	}
	b := domain.Badge{ID: domain.NewID(), OrgID: o.ID, Name: "Holder", Slug: "holder", Description: "d", Criteria: "c",
		ImageURL: "https://issuer.example.com/b.png", Active: true, CreatedAt: now, UpdatedAt: now}
	if err := e.store.Badges().Create(ctx, b); err != nil {
		t.Fatal(err)
	}
	email := "holder-" + domain.NewID()[:6] + "@example.com"
	c := domain.Credential{ID: domain.NewCredentialID(), OrgID: o.ID, BadgeID: b.ID, RecipientName: "Holder", RecipientEmail: email, IssuedAt: now,
		Public: true, KeyID: "k", JWS: "e30.e30.c2ln", CreatedBy: "test"}
	if err := e.store.Credentials().Insert(ctx, c); err != nil {
		t.Fatal(err)
	}
	return email
}
