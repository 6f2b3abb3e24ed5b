package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/credence-dev/credence/adapters/sqlstore"
	"github.com/credence-dev/credence/core/accounts"
	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/orgs"
	"github.com/credence-dev/credence/core/platform"
	"github.com/credence-dev/credence/core/signing"
	"github.com/credence-dev/credence/ports"
)

// runIssue is -mode issue: o.clients clients issue single credentials over
// HTTP with an API key, in slices alternating with slices of issuing in
// this process when o.inprocessDB is set.
func runIssue(ctx context.Context, o options) error {
	// One keep-alive connection per client: the default transport keeps
	// only two idle, and would open and close connections all along.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = o.clients
	c := &client{base: o.url, http: &http.Client{Timeout: time.Minute, Transport: transport}}
	setup, err := c.setup(ctx, o)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	var key struct{ Secret string }
	if err := c.json(ctx, "POST", "/api/v1/orgs/"+setup.org+"/api-keys", setup.token, map[string]any{"name": "bench"}, &key); err != nil {
		return fmt.Errorf("create an API key: %w", err)
	}
	run := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	var next atomic.Int64
	email := func(kind string) string { return fmt.Sprintf("%s%d@%s.i.example", kind, next.Add(1), run) }
	// The load generator shares the machine with the server: it spends as
	// little as it can per request (load: raw keep-alive connections, the
	// request written from a template into a reused buffer, the answer
	// read only as far as its framing).
	path := "/api/v1/orgs/" + setup.org + "/credentials"
	prefix := `{"badgeId":"` + setup.badge + `","recipient":{"name":"Rae Recipient","email":"`
	u, err := url.Parse(o.url)
	if err != nil {
		return err
	}
	httpLoad := load{addr: u.Host, conns: o.clients, want: http.StatusCreated, timeout: time.Minute,
		request: func(_ int, _ int64, dst []byte) []byte {
			return appendPost(dst, u.Host, path, []byte(prefix+email("h")+`"}}`),
				"Authorization", "Bearer "+key.Secret, "Content-Type", "application/json")
		}}
	httpIssue := func(ctx context.Context) error {
		return c.issue(ctx, path, key.Secret, []byte(prefix+email("h")+`"}}`))
	}
	// The badge's first issue locks it (the full path): not part of the rate.
	if err := httpIssue(ctx); err != nil {
		return err
	}
	var local func(context.Context) error
	if o.inprocessDB != "" {
		is, err := newLocalIssuer(ctx, o.inprocessDB, o.noMail)
		if err != nil {
			return fmt.Errorf("in-process issuer: %w", err)
		}
		defer is.store.Close()
		local = func(ctx context.Context) error { return is.issue(ctx, email("l")) }
		if err := local(ctx); err != nil {
			return err
		}
	}
	server := o.pid
	if server == 0 && o.pidOf != "" {
		if server, err = pgrep(o.pidOf); err != nil {
			return err
		}
	}
	fmt.Printf("issue: %d clients, %d slices of %v each\n", o.clients, o.slices, o.slice)
	var httpN, localN int64
	var httpT, localT time.Duration
	for i := range o.slices {
		before := cpuNow(server)
		r := httpLoad.closed(ctx, o.slice)
		if r.errors > 0 {
			return fmt.Errorf("HTTP: %d of %d issues failed, the first: %w", r.errors, r.errors+r.done, r.firstErr)
		}
		n, d := r.done, r.elapsed
		httpN, httpT = httpN+n, httpT+d
		fmt.Printf("slice %d: HTTP %.0f issues/s (%s)\n", i+1, float64(n)/d.Seconds(), cpuNow(server).perIssue(before, n))
		if local != nil {
			before := cpuNow(server)
			n, d, err := issueFor(ctx, o.clients, o.slice, local)
			if err != nil {
				return fmt.Errorf("in-process: %w", err)
			}
			localN, localT = localN+n, localT+d
			fmt.Printf("slice %d: in-process %.0f issues/s (%s)\n", i+1, float64(n)/d.Seconds(), cpuNow(server).perIssue(before, n))
		}
	}
	httpRate := float64(httpN) / httpT.Seconds()
	fmt.Printf("HTTP: %d credentials in %v: %.0f issues/s\n", httpN, httpT.Round(time.Millisecond), httpRate)
	if local != nil {
		localRate := float64(localN) / localT.Seconds()
		fmt.Printf("in-process: %d credentials in %v: %.0f issues/s\n", localN, localT.Round(time.Millisecond), localRate)
		fmt.Printf("HTTP / in-process: %.1f%%\n", 100*httpRate/localRate)
	}
	return nil
}

// issue POSTs one credential with an API key and reads the whole answer.
func (c *client) issue(ctx context.Context, path, key string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, "POST", c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		raw, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, raw)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// issueFor runs issue from n goroutines for d and returns how many
// succeeded and how long it took; the first error stops it.
func issueFor(ctx context.Context, n int, d time.Duration, issue func(context.Context) error) (int64, time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var done atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for range n {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if err := issue(ctx); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	return done.Load(), time.Since(start), first
}

// localIssuer issues through the core in this process, on an organization
// of its own (approved, keys, a badge) in the server's database: the
// in-process rate the HTTP rate is compared with.
type localIssuer struct {
	store *sqlstore.Store
	svc   *credentials.Service
	actor domain.Actor
	org   string
	badge string
}

// benchPlans lift the monthly quota of the in-process organization.
const benchPlans = `{"free":{"monthlyRecipients":-1}}`

func newLocalIssuer(ctx context.Context, dsn string, noMail bool) (*localIssuer, error) {
	store, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	is, err := setupLocal(ctx, store, noMail)
	if err != nil {
		store.Close()
		return nil, err
	}
	return is, nil
}

func setupLocal(ctx context.Context, store *sqlstore.Store, noMail bool) (*localIssuer, error) {
	plans, err := domain.DefaultPlans().WithOverrides([]byte(benchPlans))
	if err != nil {
		return nil, err
	}
	master := make([]byte, signing.MasterKeySize)
	if _, err := rand.Read(master); err != nil {
		return nil, err
	}
	cipher, err := signing.NewCipher(master)
	if err != nil {
		return nil, err
	}
	email := "bench-local-" + domain.NewID() + "@example.com"
	p, err := platform.New(platform.Deps{Store: store, Queue: noQueue{}, Mailer: noMailer{}, Cipher: cipher},
		platform.Options{PublicURL: benchBase, Plans: plans, AdminEmails: []string{email}})
	if err != nil {
		return nil, err
	}
	owner, err := p.Accounts.Provision(ctx, accounts.ProvisionInput{Email: email, Name: "Bench"})
	if err != nil {
		return nil, err
	}
	orgSvc := p.Orgs
	name := "Bench local " + domain.NewID()[:8]
	emails := !noMail
	org, err := orgSvc.Create(ctx, owner, domain.OrgInput{Name: &name, EmailsEnabled: &emails})
	if err != nil {
		return nil, err
	}
	if _, err := orgSvc.Decide(ctx, owner, org.ID, orgs.Approve, ""); err != nil {
		return nil, err
	}
	if _, err := orgSvc.GenerateKeys(ctx, owner, org.ID, domain.AlgES256); err != nil {
		return nil, err
	}
	text := func(s string) *string { return &s }
	badge, err := p.Badges.Create(ctx, owner, org.ID, domain.BadgeInput{Name: text("Bench badge"),
		Description: text("Benchmarks"), Criteria: text("Being counted"), ImageURL: text("https://bench.example/b.png")})
	if err != nil {
		return nil, err
	}
	return &localIssuer{store: store, svc: p.Credentials, actor: owner, org: org.ID, badge: badge.ID}, nil
}

func (l *localIssuer) issue(ctx context.Context, email string) error {
	_, err := l.svc.Issue(ctx, l.actor, l.org, credentials.IssueInput{BadgeID: l.badge,
		Recipient: domain.Recipient{Name: "Rae Recipient", Email: email}})
	return err
}

// benchBase is the public URL the in-process issuer signs under.
var benchBase, _ = url.Parse("https://bench.example")

// noQueue leaves the in-process issuer's queued mail in the outbox (the
// server's sweep sends it, if recipient mail is on).
type noQueue struct{}

func (noQueue) Enqueue(context.Context, ports.Task) error { return nil }
func (noQueue) Close() error                              { return nil }

// noMailer sends nothing: this process registers no worker.
type noMailer struct{}

func (noMailer) Send(context.Context, ports.Message) error { return nil }
