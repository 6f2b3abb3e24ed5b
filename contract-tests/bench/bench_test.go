// Package bench measures issuance through the core on SQLite and
// PostgreSQL beside a raw ES256 signing loop and pgbench -N, all in one
// run so their ratios mean something on a shared machine:
//
//	CREDENCE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable \
//	  go test -run '^$' -bench . -benchtime 3s ./contract-tests/bench/
package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/credence-dev/credence/adapters/sqlstore"
	"github.com/credence-dev/credence/contract-tests/harness"
	"github.com/credence-dev/credence/core/accounts"
	"github.com/credence-dev/credence/core/bulk"
	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/orgs"
	"github.com/credence-dev/credence/core/platform"
	"github.com/credence-dev/credence/core/signing"
	"github.com/credence-dev/credence/ports"
)

// concurrency is the number of concurrent issuers (and pgbench clients).
const concurrency = 16

// noQueue leaves queued mail in the outbox and submitted jobs to the
// benchmark: writing mail is part of an issue, sending it is not.
type noQueue struct{}

func (noQueue) Enqueue(context.Context, ports.Task) error { return nil }
func (noQueue) Close() error                              { return nil }

// noMailer sends nothing: no worker runs.
type noMailer struct{}

func (noMailer) Send(context.Context, ports.Message) error { return nil }

// issuer is a ready-to-issue organization on a fresh store.
type issuer struct {
	p     *platform.Platform
	svc   *credentials.Service
	actor domain.Actor
	orgID string
	badge string
	store ports.Store
	plans domain.Plans
	next  atomic.Int64 // recipients issued to by issueFor
}

func newIssuer(b *testing.B, dsn string) *issuer {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	plans, err := domain.DefaultPlans().WithOverrides([]byte(`{"free":{"monthlyRecipients":-1,"bulkIssuance":true}}`))
	if err != nil {
		b.Fatal(err)
	}
	key := make([]byte, signing.MasterKeySize)
	_, _ = rand.Read(key)
	cipher, _ := signing.NewCipher(key)
	base, _ := url.Parse("https://credence.example")
	chunk, _ := strconv.Atoi(os.Getenv("CREDENCE_BULK_CHUNK"))
	email := "owner-" + domain.NewID() + "@bench.example"
	p, err := platform.New(platform.Deps{Store: store, Queue: noQueue{}, Mailer: noMailer{}, Cipher: cipher},
		platform.Options{PublicURL: base, Plans: plans, AdminEmails: []string{email}, Bulk: bulk.Options{ChunkSize: chunk}})
	if err != nil {
		b.Fatal(err)
	}
	owner, err := p.Accounts.Provision(ctx, accounts.ProvisionInput{Email: email, Name: "Owner"})
	if err != nil {
		b.Fatal(err)
	}
	orgSvc := p.Orgs
	name := "Bench " + domain.NewID()[:8]
	org, err := orgSvc.Create(ctx, owner, domain.OrgInput{Name: &name})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := orgSvc.Decide(ctx, owner, org.ID, orgs.Approve, ""); err != nil {
		b.Fatal(err)
	}
	if _, err := orgSvc.GenerateKeys(ctx, owner, org.ID, domain.AlgES256); err != nil {
		b.Fatal(err)
	}
	text := func(s string) *string { return &s }
	badge, err := p.Badges.Create(ctx, owner, org.ID, domain.BadgeInput{
		Name: text("Go Expert"), Description: text("Knows Go"), Criteria: text("Passed the exam"), ImageURL: text("https://credence.example/go.png")})
	if err != nil {
		b.Fatal(err)
	}
	return &issuer{p: p, svc: p.Credentials,
		actor: owner, orgID: org.ID, badge: badge.ID, store: store, plans: plans}
}

// run issues b.N credentials to distinct recipients from 16 goroutines.
func (is *issuer) run(b *testing.B) {
	var n atomic.Int64
	b.SetParallelism((concurrency + 1) / 2) // RunParallel starts GOMAXPROCS × this
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			_, err := is.svc.Issue(context.Background(), is.actor, is.orgID, credentials.IssueInput{BadgeID: is.badge,
				Recipient: domain.Recipient{Name: "Rae Recipient", Email: fmt.Sprintf("r%d@bench.example", i)}})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "issues/s")
}

func BenchmarkIssueSQLite(b *testing.B) {
	newIssuer(b, harness.FreshSQLitePath(b)).run(b)
}

func BenchmarkIssuePostgres(b *testing.B) {
	newIssuer(b, harness.FreshPostgresDB(b)).run(b)
}

// BenchmarkRawES256Sign is the ceiling: jwx signing of a credential-sized
// payload on every core, nothing else.
func BenchmarkRawES256Sign(b *testing.B) {
	raw, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	key, _ := jwk.FromRaw(raw)
	payload := make([]byte, 1400)
	for i := range payload {
		payload[i] = 'a'
	}
	b.SetParallelism((concurrency + 1) / 2)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := jws.Sign(payload, jws.WithKey(jwa.ES256, key)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signs/s")
}

var tpsRE = regexp.MustCompile(`tps = ([0-9.]+)`)

// BenchmarkPgbenchN runs pgbench -N (simple-update TPC-B) with 16 clients
// on a fresh database of the same server, for the ratio the target names:
// with its default simple query protocol, and with prepared statements
// (as the issue path's two statements are). It reports tps; b.N is not
// used.
func BenchmarkPgbenchN(b *testing.B) {
	for _, mode := range []string{"simple", "prepared"} {
		b.Run(mode, func(b *testing.B) { pgbench(b, mode) })
	}
}

func pgbench(b *testing.B, mode string) {
	if _, err := exec.LookPath("pgbench"); err != nil {
		b.Skip("pgbench not on PATH")
	}
	dsn := pgbenchDB(b)
	seconds := os.Getenv("CREDENCE_BENCH_PGBENCH_SECONDS")
	if seconds == "" {
		seconds = "10"
	}
	b.ResetTimer()
	b.ReportMetric(pgbenchTPS(b, dsn, mode, seconds), "tps")
	b.ReportMetric(0, "ns/op")
}

// pgbenchDB is a fresh database initialized for pgbench at scale 16.
func pgbenchDB(b *testing.B) string {
	dsn := harness.FreshPostgresDB(b)
	if out, err := exec.Command("pgbench", "-i", "-q", "-s", "16", dsn).CombinedOutput(); err != nil {
		b.Fatalf("pgbench -i: %v\n%s", err, out)
	}
	return dsn
}

// pgbenchTPS runs pgbench -N with 16 clients for seconds and returns its
// tps (without connection time).
func pgbenchTPS(b *testing.B, dsn, mode, seconds string) float64 {
	out, err := exec.Command("pgbench", "-N", "-M", mode, "-c", strconv.Itoa(concurrency), "-j", "2", "-T", seconds, dsn).CombinedOutput()
	if err != nil {
		b.Fatalf("pgbench -N: %v\n%s", err, out)
	}
	m := tpsRE.FindSubmatch(out)
	if m == nil {
		b.Fatalf("no tps in pgbench output:\n%s", out)
	}
	tps, _ := strconv.ParseFloat(string(m[1]), 64)
	return tps
}

// BenchmarkIssueVsPgbenchN measures the ratio the issue path is held to:
// issues per second through the core with 16 concurrent issuers, against
// pgbench -N with 16 clients on the same server. On a machine shared with
// other work the load changes within seconds, so it alternates slices of
// both (pgbench simple and prepared by turns, CREDENCE_BENCH_SLICES pairs
// of CREDENCE_BENCH_SLICE_SECONDS each, default 6 of 3 s, made even) and reports
// each rate over its slices and their ratio; b.N is not used.
func BenchmarkIssueVsPgbenchN(b *testing.B) {
	if _, err := exec.LookPath("pgbench"); err != nil {
		b.Skip("pgbench not on PATH")
	}
	slices, seconds := 6, 3
	if v, err := strconv.Atoi(os.Getenv("CREDENCE_BENCH_SLICES")); err == nil && v > 0 {
		slices = 2 * ((v + 1) / 2) // as many of each mode
	}
	if v, err := strconv.Atoi(os.Getenv("CREDENCE_BENCH_SLICE_SECONDS")); err == nil && v > 0 {
		seconds = v
	}
	is := newIssuer(b, harness.FreshPostgresDB(b))
	dsn := pgbenchDB(b)
	is.issueFor(b, time.Second) // the badge's first issue, connections, prepared statements
	var issued int64
	var issuing time.Duration
	var txns [2]float64 // simple, prepared
	for i := range slices {
		mode := []string{"simple", "prepared"}[i%2]
		txns[i%2] += pgbenchTPS(b, dsn, mode, strconv.Itoa(seconds)) * float64(seconds)
		n, d := is.issueFor(b, time.Duration(seconds)*time.Second)
		issued += n
		issuing += d
	}
	rate := float64(issued) / issuing.Seconds()
	span := float64(seconds * slices / 2) // of each mode
	simple, prepared := txns[0]/span, txns[1]/span
	b.ReportMetric(rate, "issues/s")
	b.ReportMetric(simple, "simple-tps")
	b.ReportMetric(prepared, "prepared-tps")
	b.ReportMetric(100*rate/simple, "%simple")
	b.ReportMetric(100*rate/prepared, "%prepared")
	b.ReportMetric(0, "ns/op")
}

// issueFor issues to distinct recipients from 16 goroutines for d and
// returns how many it issued and how long it took.
func (is *issuer) issueFor(b *testing.B, d time.Duration) (int64, time.Duration) {
	var n atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				_, err := is.svc.Issue(context.Background(), is.actor, is.orgID, credentials.IssueInput{BadgeID: is.badge,
					Recipient: domain.Recipient{Name: "Rae Recipient", Email: fmt.Sprintf("s%d@bench.example", is.next.Add(1))}})
				if err != nil {
					b.Error(err)
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return n.Load(), time.Since(start)
}
