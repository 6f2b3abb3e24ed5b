// Package issuing tests the issue path through the core services on a
// real store (SQLite, and PostgreSQL when it is reachable): the one gate
// that single, batch and bulk issuance pass, and the path a first issue
// takes.
package issuing

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/url"
	"testing"

	"github.com/credence-dev/credence/adapters/sqlstore"
	"github.com/credence-dev/credence/adapters/sysclock"
	"github.com/credence-dev/credence/contract-tests/harness"
	"github.com/credence-dev/credence/core/badges"
	"github.com/credence-dev/credence/core/bulk"
	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/orgs"
	"github.com/credence-dev/credence/core/signing"
	"github.com/credence-dev/credence/core/work"
)

// noRelay leaves queued work in the store.
type noRelay struct{}

func (noRelay) MailsQueued(context.Context, ...string) {}

func (noRelay) JobSubmitted(context.Context, string) {}

func (noRelay) StatusListsChanged(context.Context, ...string) {}

// world is the core services over one fresh store, with a platform
// administrator and an organization (pending review, no keys, free plan)
// owned by owner, holding one badge.
type world struct {
	store  *sqlstore.Store
	creds  *credentials.Service
	bulk   *bulk.Service
	orgs   *orgs.Service
	badges *badges.Service
	owner  domain.Actor
	admin  domain.Actor
	orgID  string
	badge  domain.Badge
}

// stores runs fn on a fresh SQLite store and a fresh PostgreSQL database.
func stores(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) { t.Parallel(); fn(t, harness.FreshSQLitePath(t)) })
	t.Run("postgres", func(t *testing.T) { t.Parallel(); fn(t, harness.FreshPostgresDB(t)) })
}

func newWorld(t *testing.T, dsn string) *world {
	t.Helper()
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	key := make([]byte, signing.MasterKeySize)
	_, _ = rand.Read(key)
	cipher, _ := signing.NewCipher(key)
	clock := sysclock.Clock{}
	log := slog.New(slog.DiscardHandler)
	plans := domain.DefaultPlans()
	base, _ := url.Parse("https://credence.example")
	w := &world{store: store}
	w.creds = credentials.New(store, clock, noRelay{}, cipher, plans, credentials.URLs{Base: base}, log)
	w.bulk = bulk.New(store, clock, w.creds, noRelay{}, plans, log, bulk.Options{})
	w.orgs = orgs.New(store, clock, work.NewOutbox(store, cipher, noRelay{}, clock), cipher, plans, log)
	w.badges = badges.New(store, clock, plans)

	owner := w.user(t)
	w.owner = owner
	w.admin = w.user(t)
	w.admin.Admin = true
	name := "Gate " + domain.NewID()[:8]
	org, err := w.orgs.Create(ctx, owner, domain.OrgInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	w.orgID = org.ID
	w.badge = w.newBadge(t)
	return w
}

// user is a new signed-in user with a verified email.
func (w *world) user(t *testing.T) domain.Actor {
	t.Helper()
	now := domain.Truncate(sysclock.Clock{}.Now())
	u := domain.User{ID: domain.NewID(), Email: "u-" + domain.NewID() + "@issuing.example", Name: "User", PasswordHash: "x",
		EmailVerifiedAt: &now, CreatedAt: now}
	if err := w.store.Users().Create(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return domain.Actor{UserID: u.ID, UserEmail: u.Email}
}

// member is a new user holding role in the organization.
func (w *world) member(t *testing.T, role domain.Role) domain.Actor {
	t.Helper()
	a := w.user(t)
	m := domain.Membership{OrgID: w.orgID, UserID: a.UserID, Role: role, CreatedAt: domain.Truncate(sysclock.Clock{}.Now())}
	if err := w.store.Members().Add(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return a
}

func (w *world) newBadge(t *testing.T) domain.Badge {
	t.Helper()
	text := func(s string) *string { return &s }
	b, err := w.badges.Create(context.Background(), w.owner, w.orgID, domain.BadgeInput{
		Name: text("Go Expert " + domain.NewID()[:6]), Description: text("Knows Go"), Criteria: text("Passed the exam"),
		ImageURL: text("https://credence.example/go.png")})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (w *world) decide(t *testing.T, d orgs.Review) {
	t.Helper()
	reason := ""
	if d != orgs.Approve {
		reason = "testing the gate"
	}
	if _, err := w.orgs.Decide(context.Background(), w.admin, w.orgID, d, reason); err != nil {
		t.Fatal(err)
	}
}
