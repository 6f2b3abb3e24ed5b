// Command embed shows Credence's core embedded in another Go program: a
// SQLite store, the core services, and one credential issued and verified
// without any HTTP.
//
//	go run ./docs/examples/embed
package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"

	"github.com/credence-dev/credence/adapters/sqlstore"
	"github.com/credence-dev/credence/adapters/sysclock"
	"github.com/credence-dev/credence/core/badges"
	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/orgs"
	"github.com/credence-dev/credence/core/signing"
	"github.com/credence-dev/credence/core/work"
	"github.com/credence-dev/credence/ports"
)

func main() {
	dir, err := os.MkdirTemp("", "credence-embed-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	if err := run(context.Background(), filepath.Join(dir, "credence.db"), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
		os.Exit(1)
	}
}

// printMailer is a Mailer that prints each message's subject: any type
// with Send(ctx, ports.Message) error will do.
type printMailer struct{ w io.Writer }

func (m printMailer) Send(_ context.Context, msg ports.Message) error {
	_, err := fmt.Fprintf(m.w, "mail to %s: %s\n", msg.To, msg.Subject)
	return err
}

// deliverNow relays queued mail by sending it at once.
type deliverNow struct{ d *work.Delivery }

func (r deliverNow) MailsQueued(ctx context.Context, ids ...string) {
	if err := r.d.Deliver(ctx, ids...); err != nil {
		fmt.Println("mail:", err)
	}
}

func run(ctx context.Context, dbPath string, out io.Writer) error {
	// Adapters: the store, a clock, a mailer and the key cipher.
	store, err := sqlstore.Open(ctx, dbPath)
	if err != nil {
		return err
	}
	defer store.Close()
	masterKey := make([]byte, signing.MasterKeySize) // keep yours safe: it encrypts the signing keys
	if _, err := rand.Read(masterKey); err != nil {
		return err
	}
	cipher, err := signing.NewCipher(masterKey)
	if err != nil {
		return err
	}
	clock, mailer, log := sysclock.Clock{}, printMailer{out}, slog.New(slog.DiscardHandler)
	plans := domain.DefaultPlans()
	base, _ := url.Parse("https://credentials.example.com")

	// Core services. Mail is written to the store's outbox with the change
	// it tells about; a server relays it to a queue (see
	// apps/internal/app), a script can deliver it at once.
	relay := deliverNow{work.NewDelivery(store, mailer, cipher, clock, log, work.Options{})}
	orgSvc := orgs.New(store, clock, work.NewOutbox(store, cipher, relay, clock), cipher, plans, log)
	badgeSvc := badges.New(store, clock, plans)
	credSvc := credentials.New(store, clock, relay, cipher, plans, credentials.URLs{Base: base}, log)

	// A verified user who owns an organization, approved by an administrator.
	now := domain.Truncate(clock.Now())
	user := domain.User{ID: domain.NewID(), Email: "owner@example.com", Name: "Olga Owner", EmailVerifiedAt: &now, CreatedAt: now}
	if err := store.Users().Create(ctx, user); err != nil {
		return err
	}
	owner := domain.Actor{UserID: user.ID, UserEmail: user.Email}
	name := "Acme Academy"
	org, err := orgSvc.Create(ctx, owner, domain.OrgInput{Name: &name})
	if err != nil {
		return err
	}
	if _, err := orgSvc.Decide(ctx, domain.Actor{UserID: user.ID, Admin: true}, org.ID, orgs.Approve, ""); err != nil {
		return err
	}
	if _, err := orgSvc.GenerateKeys(ctx, owner, org.ID, domain.AlgES256); err != nil {
		return err
	}
	text := func(s string) *string { return &s }
	badge, err := badgeSvc.Create(ctx, owner, org.ID, domain.BadgeInput{Name: text("Go Expert"), Description: text("Knows Go"),
		Criteria: text("Passed the exam"), ImageURL: text("https://acme.example/go.png")})
	if err != nil {
		return err
	}

	// Issue, then verify.
	issued, err := credSvc.Issue(ctx, owner, org.ID, credentials.IssueInput{BadgeID: badge.ID,
		Recipient: domain.Recipient{Name: "Rae Recipient", Email: "rae@example.com"}})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "issued %s (%s) signed by %s\n", issued.Credential.ID, issued.State, issued.Credential.KeyID)
	v, err := credSvc.VerifyPresented(ctx, []byte(issued.Credential.JWS))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "verification: %s\n", v.Result)
	for _, c := range v.Checks {
		fmt.Fprintf(out, "  %-10s ok=%-5v %s\n", c.Name, c.OK, c.Detail)
	}
	return nil
}
