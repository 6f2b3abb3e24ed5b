// Package work checks mail delivery through the outbox against the real
// stores (SQLite always, PostgreSQL when CREDENCE_TEST_POSTGRES_URL is
// set): relay after commit, retries with backoff, no second send, the
// resend cooldown and its waiver.
package work

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/credence-dev/credence/adapters/sqlstore"
	"github.com/credence-dev/credence/contract-tests/harness"
	"github.com/credence-dev/credence/core/accounts"
	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/orgs"
	"github.com/credence-dev/credence/core/platform"
	"github.com/credence-dev/credence/core/signing"
	"github.com/credence-dev/credence/core/work"
	"github.com/credence-dev/credence/ports"
)

func TestMailDelivery(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testMailDelivery(t, harness.FreshSQLitePath(t)) })
	t.Run("postgres", func(t *testing.T) { testMailDelivery(t, harness.FreshPostgresDB(t)) })
}

// clock is a settable ports.Clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// mailer fails the sends to an address as many times as told, then
// records them.
type mailer struct {
	mu    sync.Mutex
	fails map[string]int
	sent  map[string]int
}

func (m *mailer) Send(_ context.Context, msg ports.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fails[msg.To] > 0 {
		m.fails[msg.To]--
		return errors.New("550 mailbox unavailable")
	}
	m.sent[msg.To]++
	return nil
}

func (m *mailer) count(to string) int { m.mu.Lock(); defer m.mu.Unlock(); return m.sent[to] }

// queue records tasks; the test runs them.
type queue struct {
	mu    sync.Mutex
	tasks []ports.Task
}

func (q *queue) Enqueue(_ context.Context, t ports.Task) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.tasks = append(q.tasks, t)
	return nil
}

func (q *queue) Close() error { return nil }

func (q *queue) take() []ports.Task {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.tasks
	q.tasks = nil
	return out
}

func testMailDelivery(t *testing.T, dsn string) {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clk := &clock{now: domain.Truncate(time.Now())}
	m := &mailer{fails: map[string]int{"flaky@example.com": 2, "dead@example.com": 100}, sent: map[string]int{}}
	q := &queue{}
	log := slog.New(slog.DiscardHandler)
	cipher, err := signing.NewCipher(make([]byte, signing.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse("https://credence.example")
	opts := work.Options{MailAttempts: 3}
	p, err := platform.New(platform.Deps{Store: store, Queue: q, Mailer: m, Cipher: cipher, Clock: clk, Log: log},
		platform.Options{PublicURL: base, AdminEmails: []string{"owner@example.com"}, Work: opts})
	if err != nil {
		t.Fatal(err)
	}
	disp, delivery := p.Dispatcher, p.Delivery
	creds, owner, orgID, badgeID := setup(t, p)

	run := func() int { // handles every queued task, returns how many
		tasks := q.take()
		for _, task := range tasks {
			if task.Kind != work.KindMail {
				t.Fatalf("unexpected task %q", task.Kind)
			}
			if err := delivery.Handle(ctx, task); err != nil {
				t.Fatal(err)
			}
		}
		return len(tasks)
	}
	issue := func(email string) domain.Credential {
		is, err := creds.Issue(ctx, owner, orgID, credentials.IssueInput{BadgeID: badgeID, Recipient: domain.Recipient{Name: "R", Email: email}})
		if err != nil {
			t.Fatal(err)
		}
		return is.Credential
	}

	if n := run(); n != 1 { // the owner's "approved" mail, relayed by setup
		t.Fatalf("setup relayed %d mail tasks, want 1 (the approval mail)", n)
	}

	// Relayed after commit, sent once; the same task again sends nothing.
	ok := issue("ok@example.com")
	tasks := q.take()
	if len(tasks) != 1 {
		t.Fatalf("issue relayed %d tasks, want 1", len(tasks))
	}
	for range 2 {
		if err := delivery.Handle(ctx, tasks[0]); err != nil {
			t.Fatal(err)
		}
	}
	if n := m.count("ok@example.com"); n != 1 {
		t.Fatalf("sent %d times, want once", n)
	}
	last, err := store.Mails().Latest(ctx, ok.ID)
	if err != nil || last.Status != domain.MailSent || last.Attempts != 1 {
		t.Fatalf("mail after delivery: %+v %v", last, err)
	}

	// A failing address is retried with backoff: not before its time.
	flaky := issue("flaky@example.com")
	run()
	mail, _ := store.Mails().Latest(ctx, flaky.ID)
	if mail.Status != domain.MailQueued || mail.Attempts != 1 || mail.LastError == "" ||
		!mail.NextAttempt.Equal(clk.Now().Add(work.DefaultMailBackoff(1))) {
		t.Fatalf("after a failed attempt: %+v", mail)
	}
	clk.add(30 * time.Second)
	if err := disp.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if n := run(); n != 0 {
		t.Fatalf("the sweep relayed a mail before its retry time (%d tasks)", n)
	}
	clk.add(31 * time.Second) // past the 1-minute backoff
	if err := disp.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if n := run(); n != 1 {
		t.Fatalf("the sweep relayed %d tasks once the retry was due, want 1", n)
	}
	mail, _ = store.Mails().Latest(ctx, flaky.ID)
	if mail.Attempts != 2 || !mail.NextAttempt.Equal(clk.Now().Add(work.DefaultMailBackoff(2))) {
		t.Fatalf("second attempt: %+v (the backoff grows: want %v)", mail, work.DefaultMailBackoff(2))
	}
	clk.add(work.DefaultMailBackoff(2) + time.Second)
	_ = disp.Sweep(ctx)
	run()
	mail, _ = store.Mails().Latest(ctx, flaky.ID)
	if mail.Status != domain.MailSent || mail.Attempts != 3 || m.count("flaky@example.com") != 1 {
		t.Fatalf("third attempt: %+v, sent %d", mail, m.count("flaky@example.com"))
	}

	// Resend: refused for 7 days after the delivery, with when to retry.
	_, err = creds.Resend(ctx, owner, orgID, ok.ID)
	var rl *domain.RateLimitError
	if !errors.As(err, &rl) || !rl.RetryAt.Equal(last.SentAt.Add(credentials.ResendCooldown)) {
		t.Fatalf("resend within the cooldown: %v", err)
	}
	clk.add(credentials.ResendCooldown)
	again, err := creds.Resend(ctx, owner, orgID, ok.ID)
	if err != nil || again.Kind != credentials.MailCredentialResent || again.Status != domain.MailQueued {
		t.Fatalf("resend after the cooldown: %+v %v", again, err)
	}
	// A resend while that mail is on its way queues nothing new.
	if same, err := creds.Resend(ctx, owner, orgID, ok.ID); err != nil || same.ID != again.ID {
		t.Fatalf("second resend while queued: %+v %v (want the queued mail %s)", same, err, again.ID)
	}
	run()
	if n := m.count("ok@example.com"); n != 2 {
		t.Fatalf("ok@ got %d mails, want 2 (issue + resend)", n)
	}

	// Attempts run out: failed for good, and the cooldown is waived.
	dead := issue("dead@example.com")
	for range opts.MailAttempts {
		run()
		clk.add(13 * time.Hour)
		_ = disp.Sweep(ctx)
	}
	run()
	mail, _ = store.Mails().Latest(ctx, dead.ID)
	if mail.Status != domain.MailFailed || mail.Attempts != opts.MailAttempts {
		t.Fatalf("after %d failed attempts: %+v", opts.MailAttempts, mail)
	}
	if _, err := creds.Resend(ctx, owner, orgID, dead.ID); err != nil {
		t.Fatalf("resend after a failed send must be allowed at once: %v", err)
	}

	// A relay lost before the queue: the sweep finds the mail after the grace.
	lost := issue("lost@example.com")
	q.take() // the relay's task is lost
	clk.add(work.RelayGrace + time.Second)
	_ = disp.Sweep(ctx)
	var ids []string
	for _, task := range q.tasks {
		var mt work.MailTask
		_ = json.Unmarshal(task.Payload, &mt)
		ids = append(ids, mt.IDs...)
	}
	run()
	mail, _ = store.Mails().Latest(ctx, lost.ID)
	if mail.Status != domain.MailSent || m.count("lost@example.com") != 1 {
		t.Fatalf("lost relay: swept %v, mail %+v", ids, mail)
	}
}

// setup makes an approved organization with a signing key and a badge,
// owned by an administrator, through the platform's services.
func setup(t *testing.T, p *platform.Platform) (*credentials.Service, domain.Actor, string, string) {
	ctx := context.Background()
	owner, err := p.Accounts.Provision(ctx, accounts.ProvisionInput{Email: "owner@example.com", Name: "Owner"})
	if err != nil {
		t.Fatal(err)
	}
	name := "Acme"
	org, err := p.Orgs.Create(ctx, owner, domain.OrgInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Orgs.Decide(ctx, owner, org.ID, orgs.Approve, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Orgs.GenerateKeys(ctx, owner, org.ID, domain.AlgES256); err != nil {
		t.Fatal(err)
	}
	text := func(s string) *string { return &s }
	badge, err := p.Badges.Create(ctx, owner, org.ID, domain.BadgeInput{
		Name: text("Go Expert"), Description: text("Knows Go"), Criteria: text("Passed"), ImageURL: text("https://acme.example/go.png")})
	if err != nil {
		t.Fatal(err)
	}
	return p.Credentials, owner, org.ID, badge.ID
}
