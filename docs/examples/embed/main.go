// Command embed shows Credence's core embedded in another Go program: a
// SQLite store and an in-process queue, the core assembled by
// core/platform, and one credential issued, mailed and verified without any
// HTTP and without writing to the store behind the core's back; then the
// same file verified offline by core/verifier, as another program would.
//
//	go run ./docs/examples/embed
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/credence-dev/credence/adapters/memqueue"
	"github.com/credence-dev/credence/adapters/sqlstore"
	"github.com/credence-dev/credence/core/accounts"
	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/orgs"
	"github.com/credence-dev/credence/core/platform"
	"github.com/credence-dev/credence/core/signing"
	"github.com/credence-dev/credence/core/verifier"
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

// chanMailer is a Mailer that hands each message to a channel: any type
// with Send(ctx, ports.Message) error will do.
type chanMailer chan ports.Message

func (m chanMailer) Send(ctx context.Context, msg ports.Message) error {
	select {
	case m <- msg:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func run(ctx context.Context, dbPath string, out io.Writer) error {
	// Adapters: a SQLite store, an in-process queue, a mailer and the
	// cipher that encrypts signing keys at rest.
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
	queue := memqueue.New(memqueue.Options{})
	mailer := make(chanMailer, 16)

	// The core, assembled. This process runs the queue's worker, so it
	// delivers the mail the services write.
	base, _ := url.Parse("https://credentials.example.com")
	p, err := platform.New(platform.Deps{Store: store, Queue: queue, Mailer: mailer, Cipher: cipher},
		platform.Options{PublicURL: base, AdminEmails: []string{"olga@example.com"}})
	if err != nil {
		return err
	}
	p.Register(queue)
	// Verifications are counted in memory: a long-running program runs
	// go p.Verifications.Run(ctx), which adds them to the store every few
	// seconds and when ctx ends; this one adds them as it returns, before
	// the store closes.
	defer func() { _ = p.Verifications.Flush(context.WithoutCancel(ctx)) }()
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	go queue.Run(ctx)

	// An account this program vouches for (an administrator here, so it
	// can approve its own organization), an organization with a signing
	// key, and a badge.
	olga, err := p.Accounts.Provision(ctx, accounts.ProvisionInput{Email: "olga@example.com", Name: "Olga Owner"})
	if err != nil {
		return err
	}
	org, err := p.Orgs.Create(ctx, olga, domain.OrgInput{Name: text("Acme Academy")})
	if err != nil {
		return err
	}
	if _, err := p.Orgs.Decide(ctx, olga, org.ID, orgs.Approve, ""); err != nil {
		return err
	}
	if _, err := p.Orgs.GenerateKeys(ctx, olga, org.ID, domain.AlgES256); err != nil {
		return err
	}
	badge, err := p.Badges.Create(ctx, olga, org.ID, domain.BadgeInput{Name: text("Go Expert"), Description: text("Knows Go"),
		Criteria: text("Passed the exam"), ImageURL: text("https://acme.example/go.png")})
	if err != nil {
		return err
	}

	// Issue, then verify the signed file as anyone holding it would.
	issued, err := p.Credentials.Issue(ctx, olga, org.ID, credentials.IssueInput{BadgeID: badge.ID,
		Recipient: domain.Recipient{Name: "Rae Recipient", Email: "rae@example.com"}})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "issued %s (%s) signed by %s\n", issued.Credential.ID, issued.State, issued.Credential.KeyID)
	v, err := p.Credentials.VerifyPresented(ctx, []byte(issued.Credential.JWS))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "verification: %s\n", v.Result)
	for _, c := range v.Checks {
		fmt.Fprintf(out, "  %-10s ok=%-5v %s\n", c.Name, c.OK, c.Detail)
	}

	// Anyone else verifies the file offline, with the keys the issuer
	// publishes at /issuers/{slug}/did.json (or jwks.json): no database.
	didJSON, err := p.Credentials.DIDDocument(ctx, org.Slug)
	if err != nil {
		return err
	}
	offline, err := verifier.New(didJSON)
	if err != nil {
		return err
	}
	res, err := offline.Verify([]byte(issued.Credential.JWS))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "offline verification: %s\n", res.Result)

	// Mail goes through the queue, in the background; wait for the
	// recipient's.
	timeout := time.After(10 * time.Second)
	for {
		select {
		case msg := <-mailer:
			fmt.Fprintf(out, "mail to %s: %s\n", msg.To, msg.Subject)
			if msg.To == "rae@example.com" {
				return nil
			}
		case <-timeout:
			return errors.New("the recipient's mail was not sent within 10s")
		}
	}
}

func text(s string) *string { return &s }
