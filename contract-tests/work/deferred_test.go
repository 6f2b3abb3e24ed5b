package work

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credence-dev/credence/adapters/sqlstore"
	"github.com/credence-dev/credence/contract-tests/harness"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
	"github.com/credence-dev/credence/core/work"
	"github.com/credence-dev/credence/ports"
)

func TestDeferredMail(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testDeferredMail(t, harness.FreshSQLitePath(t)) })
	t.Run("postgres", func(t *testing.T) { testDeferredMail(t, harness.FreshPostgresDB(t)) })
}

// inbox records the messages sent, failing the first sends to an address
// as many times as told.
type inbox struct {
	mu    sync.Mutex
	fails map[string]int
	got   []ports.Message
}

func (b *inbox) Send(_ context.Context, msg ports.Message) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fails[msg.To] > 0 {
		b.fails[msg.To]--
		return errors.New("451 try again later")
	}
	b.got = append(b.got, msg)
	return nil
}

func (b *inbox) to(addr string) []ports.Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []ports.Message
	for _, m := range b.got {
		if m.To == addr {
			out = append(out, m)
		}
	}
	return out
}

// Kinds of the test's deferred mail.
const (
	kindGreeting domain.MailKind = "test.greeting"      // composed: a token made at composition, mailed
	kindOrphan   domain.MailKind = "test.no_composer"   // no composer registered
	kindComposed domain.MailKind = "test.greeting_sent" // what a greeting turns into
)

// greetingInput is what the test's requests record.
type greetingInput struct {
	Name string `json:"name"`
}

// testDeferredMail: a deferred mail is written sealed by the request and
// composed at delivery by the composer of its kind, whose writes commit
// with the composed mail; the composed mail keeps the outbox guarantees
// (sealed at rest, retried with backoff, the same text on a retry); a
// dropped mail ends dropped, never attempted again; a kind without a
// composer is retried and fails for good once its attempts run out.
func testDeferredMail(t *testing.T, dsn string) {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clk := &clock{now: domain.Truncate(time.Now())}
	box := &inbox{fails: map[string]int{"flaky@example.com": 1}}
	q := &queue{}
	log := slog.New(slog.DiscardHandler)
	opts := work.Options{MailAttempts: 3}
	disp := work.NewDispatcher(store, q, clk, log, opts)
	cipher, err := signing.NewCipher(make([]byte, signing.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	delivery := work.NewDelivery(store, box, cipher, clk, log, opts)
	outbox := work.NewOutbox(store, cipher, disp, clk)
	now := domain.Truncate(clk.Now())
	owner := domain.User{ID: domain.NewID(), Email: "owner-" + domain.NewID()[:6] + "@example.com", Name: "Owner", PasswordHash: "x", CreatedAt: now}
	if err := store.Users().Create(ctx, owner); err != nil {
		t.Fatal(err)
	}

	// The greeting composer makes a token (a write that must commit with
	// the composition), drops mail to nobody@, and fails while failNext.
	var mu sync.Mutex
	calls, failNext, lastToken := 0, 0, ""
	delivery.Compose(kindGreeting, func(ctx context.Context, to string, input []byte) (work.Composition, error) {
		mu.Lock()
		calls++
		fail := failNext > 0
		failNext = max(failNext-1, 0)
		mu.Unlock()
		var in greetingInput
		if err := json.Unmarshal(input, &in); err != nil {
			return work.Composition{}, err
		}
		if strings.HasPrefix(to, "nobody@") {
			return work.Composition{Dropped: "no account"}, nil
		}
		token, hash := domain.NewSecret("")
		if err := store.EmailTokens().Create(ctx, domain.EmailToken{TokenHash: hash, UserID: owner.ID, Purpose: domain.PurposeVerifyEmail,
			CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			return work.Composition{}, err
		}
		mu.Lock()
		lastToken = token
		mu.Unlock()
		if fail {
			return work.Composition{}, errors.New("lookup failed")
		}
		return work.Composition{Kind: kindComposed, Subject: "Hello " + in.Name, Text: "token=" + token}, nil
	})
	calledTimes := func() int { mu.Lock(); defer mu.Unlock(); return calls }
	run := func() int { // handles every queued task, returns how many
		tasks := q.take()
		for _, task := range tasks {
			if err := delivery.Handle(ctx, task); err != nil {
				t.Fatal(err)
			}
		}
		return len(tasks)
	}
	deferMail := func(kind domain.MailKind, to, name string) domain.Mail {
		t.Helper()
		if err := outbox.WithinDeferred(ctx, func(ctx context.Context, later work.Defer) error {
			return later(kind, to, greetingInput{Name: name})
		}); err != nil {
			t.Fatal(err)
		}
		var task work.MailTask
		tasks := q.tasks
		if len(tasks) == 0 || json.Unmarshal(tasks[len(tasks)-1].Payload, &task) != nil || len(task.IDs) != 1 {
			t.Fatalf("deferring relayed %v", tasks)
		}
		m, err := store.Mails().Get(ctx, task.IDs[0])
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	get := func(id string) domain.Mail {
		m, err := store.Mails().Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	tokenWorks := func(text string) bool {
		_, token, _ := strings.Cut(text, "token=")
		_, err := store.EmailTokens().Use(ctx, domain.HashSecret(token), domain.PurposeVerifyEmail, now)
		return err == nil
	}

	// Composed and sent: at rest sealed before and after, the kind the
	// composer chose, the token it made usable. (The name is looked for
	// with its space: sealed text is base64, which may hold "Ada" by
	// chance but never a space.)
	ada := deferMail(kindGreeting, "ada@example.com", "Ada Lovelace")
	if !ada.Deferred || !ada.Sealed || ada.Subject != "" || strings.Contains(ada.Text, "Ada Lovelace") || ada.Status != domain.MailQueued {
		t.Fatalf("deferred mail at rest: %+v (want deferred, sealed, no subject, the input unreadable)", ada)
	}
	run()
	sent := box.to("ada@example.com")
	if len(sent) != 1 || sent[0].Subject != "Hello Ada Lovelace" || !tokenWorks(sent[0].Text) {
		t.Fatalf("composed mail: %+v (want one greeting with a working token)", sent)
	}
	ada = get(ada.ID)
	if ada.Deferred || ada.Kind != kindComposed || ada.Status != domain.MailSent || !ada.Sealed || strings.Contains(ada.Text, "token=") {
		t.Fatalf("composed mail at rest: %+v (want sent, kind %s, sealed)", ada, kindComposed)
	}

	// Dropped: nothing sent, final, never relayed or composed again.
	before := calledTimes()
	ghost := deferMail(kindGreeting, "nobody@example.com", "Ghost")
	run()
	ghost = get(ghost.ID)
	if ghost.Status != domain.MailDropped || ghost.Deferred || ghost.LastError != "dropped: no account" || ghost.To != "" || len(box.to("nobody@example.com")) != 0 {
		t.Fatalf("dropped mail: %+v, sent %d", ghost, len(box.to("nobody@example.com")))
	}
	if err := delivery.Deliver(ctx, ghost.ID); err != nil {
		t.Fatal(err)
	}
	clk.add(48 * time.Hour)
	if err := disp.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if n := run(); n != 0 || calledTimes() != before+1 {
		t.Fatalf("a dropped mail was relayed again (%d tasks) or composed again (%d calls)", n, calledTimes()-before)
	}

	// A failed composition is a failed attempt: its writes roll back, the
	// mail stays deferred, and the retry composes it.
	mu.Lock()
	failNext = 1
	mu.Unlock()
	bea := deferMail(kindGreeting, "bea@example.com", "Bea")
	run()
	bea = get(bea.ID)
	mu.Lock()
	rolledBack := lastToken
	mu.Unlock()
	if tokenWorks("token=" + rolledBack) {
		t.Error("the token of a failed composition was kept")
	}
	if !bea.Deferred || bea.Status != domain.MailQueued || bea.Attempts != 1 || !bea.NextAttempt.Equal(clk.Now().Add(work.DefaultMailBackoff(1))) {
		t.Fatalf("after a failed composition: %+v (want deferred, queued for a retry with backoff)", bea)
	}
	clk.add(work.DefaultMailBackoff(1))
	_ = disp.Sweep(ctx)
	run()
	if got := box.to("bea@example.com"); len(got) != 1 || !tokenWorks(got[0].Text) || get(bea.ID).Status != domain.MailSent {
		t.Fatalf("the retry of a failed composition: sent %+v, mail %+v", got, get(bea.ID))
	}

	// A send failing after the composition: the retry sends the same
	// mail, not a new composition (one token, the one mailed).
	before = calledTimes()
	flaky := deferMail(kindGreeting, "flaky@example.com", "Flo")
	run()
	if m := get(flaky.ID); m.Deferred || m.Status != domain.MailQueued || m.Attempts != 1 {
		t.Fatalf("after composing and failing to send: %+v", m)
	}
	clk.add(work.DefaultMailBackoff(1))
	_ = disp.Sweep(ctx)
	run()
	if got := box.to("flaky@example.com"); len(got) != 1 || calledTimes() != before+1 || !tokenWorks(got[0].Text) {
		t.Fatalf("retried send: %d sent, composed %d times (want 1, once)", len(got), calledTimes()-before)
	}

	// No composer: retried, then failed for good; never sent.
	orphan := deferMail(kindOrphan, "orphan@example.com", "Orphan")
	for range opts.MailAttempts {
		run()
		clk.add(13 * time.Hour)
		_ = disp.Sweep(ctx)
	}
	run()
	if m := get(orphan.ID); m.Status != domain.MailFailed || m.Attempts != opts.MailAttempts || !strings.Contains(m.LastError, "no composer") ||
		len(box.to("orphan@example.com")) != 0 {
		t.Fatalf("deferred mail without a composer: %+v", m)
	}
}
