package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/credence-dev/credence/adapters/redislimit"
	"github.com/credence-dev/credence/contract-tests/harness"
)

// Fault scenarios: a bulk job of faultRows rows runs while the processes
// doing the work are killed with SIGKILL and restarted, and every row is
// still issued once, with one credential, one quota count and one mail per
// recipient.

const (
	faultRows   = 5000
	faultKills  = 5
	faultChunk  = 250 // small chunks: more points to be killed at
	faultLease  = 2 * time.Second
	faultSweep  = 300 * time.Millisecond
	maxKillWait = 400 * time.Millisecond // a kill comes 0–400 ms after progress
	// mailBound is how many duplicate mails a run may show: a process
	// killed between sending mails and marking them sent sends them again
	// (at most work.sentBatch = 20 per kill).
	mailBound = faultKills * 20
	// relayGrace is work.RelayGrace: mail written by a process that dies
	// before relaying it waits that long for the sweep.
	relayGrace = 30 * time.Second
	// mailLease is work's default MailLease: a mail claimed by a process
	// that dies is sent again only once it ends.
	mailLease = 2 * time.Minute
)

// EnvRedisURL names the Redis server of the scenarios with apps/worker.
const EnvRedisURL = "CREDENCE_TEST_REDIS_URL"

// faultEnv is the configuration of the fault scenarios' servers: short
// leases, so that a killed worker's job moves on within seconds.
func faultEnv() []serverOption {
	return []serverOption{
		withEnv("CREDENCE_JOB_LEASE", faultLease.String(), "CREDENCE_SWEEP_INTERVAL", faultSweep.String(),
			"CREDENCE_BULK_CHUNK", strconv.Itoa(faultChunk), "CREDENCE_WORKER_CONCURRENCY", "4"),
		withPlans(`{"professional":{"monthlyRecipients":20000}}`),
	}
}

// TestFaults kills the processes running a bulk job, at random points, and
// checks that the job ends as if nothing happened.
func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the fault scenarios run 5,000-row jobs for about a minute each")
	}
	cases := []struct {
		name    string
		store   string
		workers int // apps/worker processes over Redis; 0: apps/api's in-process queue
		redisDB int
	}{
		{name: "redis_one_worker", store: "postgres", workers: 1, redisDB: redisFaultsOneWorker},
		{name: "redis_two_workers", store: "postgres", workers: 2, redisDB: redisFaultsTwoWorkers},
		{name: "in_process_sqlite", store: "sqlite"},
		{name: "in_process_postgres", store: "postgres"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := faultEnv()
			if tc.workers > 0 {
				opts = append(opts, withEnv("CREDENCE_REDIS_URL", freshRedisDB(t, tc.redisDB)))
			} else if tc.store == "postgres" {
				harness.PostgresURL(t) // skip (or fail) before building anything
			}
			runFault(t, tc.store, tc.workers, opts)
		})
	}
}

// The Redis databases of the tests with Redis-backed workers or limits,
// one each: a test's worker must never take another test's tasks, and
// freshRedisDB empties its database (and refuses one another running test
// holds).
const (
	redisFaultsOneWorker  = 9
	redisFaultsTwoWorkers = 10
	redisRateLimits       = 11
	redisOutage           = 12
	redisSignInBudget     = 13
	redisAccountMail      = 14
	redisStatusLists      = 8
	redisWebhooks         = 7
)

// redisInUse holds the Redis databases of the tests running now.
var redisInUse sync.Map

// freshRedisDB returns the URL of database db of the Redis server of
// CREDENCE_TEST_REDIS_URL (or of db+4 when that is the URL's own
// database), emptied now and when t ends. It refuses a database holding
// other keys than asynq's and the rate limiter's: it is not the tests' to
// empty. Without the
// variable it skips t, or fails it under CREDENCE_TEST_REQUIRE_SERVICES=1.
func freshRedisDB(t *testing.T, db int) string {
	t.Helper()
	raw := os.Getenv(EnvRedisURL)
	if raw == "" {
		msg := "no Redis: " + EnvRedisURL + " is unset"
		if os.Getenv(harness.EnvRequireServices) == "1" {
			t.Fatalf("%s (%s=1 requires it)", msg, harness.EnvRequireServices)
		}
		t.Skipf("%s; set it (e.g. redis://127.0.0.1:6379/0) to run against a server", msg)
	}
	opt, err := redis.ParseURL(raw)
	if err != nil {
		t.Fatalf("%s: %v", EnvRedisURL, err)
	}
	if db == opt.DB {
		db += 4
	}
	if other, taken := redisInUse.LoadOrStore(db, t.Name()); taken {
		t.Fatalf("Redis database %d is %s's, which runs now: give this test a database of its own", db, other)
	}
	t.Cleanup(func() { redisInUse.Delete(db) })
	opt.DB = db
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis of %s does not answer: %v", EnvRedisURL, err)
	}
	var foreign []string
	iter := rdb.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) && len(foreign) < 5 {
		if !ownKey(iter.Val()) {
			foreign = append(foreign, iter.Val())
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("scan Redis database %d: %v", db, err)
	}
	if len(foreign) > 0 {
		t.Fatalf("Redis database %d holds keys other than asynq's (%v); the fault tests empty it: free it or use another server", db, foreign)
	}
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatalf("empty Redis database %d: %v", db, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rdb.FlushDB(ctx).Err(); err != nil {
			t.Errorf("empty Redis database %d: %v", db, err)
		}
	})
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s: %v", EnvRedisURL, err)
	}
	u.Path = "/" + strconv.Itoa(db)
	return u.String()
}

// faultFile is the job's file: faultRows recipients, every 500th with a
// bad email (failed at submission), and holders (already holding the
// badge: skipped).
type faultFile struct {
	rows    []recipient
	invalid int
	holders []string // emails
}

func newFaultFile() faultFile {
	var f faultFile
	prefix := unique("fault")
	for i := 1; i <= faultRows; i++ {
		email := fmt.Sprintf("%s-%d@e2e.example.com", prefix, i)
		switch {
		case i%500 == 250:
			email = fmt.Sprintf("not-an-email-%d", i)
			f.invalid++
		case i%1000 == 100:
			f.holders = append(f.holders, email)
		}
		f.rows = append(f.rows, recipient{fmt.Sprintf("Fay Fault %d", i), email})
	}
	return f
}

func (f faultFile) issuable() int { return len(f.rows) - f.invalid - len(f.holders) }

// runFault runs one fault scenario: workers apps/worker processes (over
// Redis) or, with none, apps/api's in-process queue, killed faultKills
// times while the job runs.
func runFault(t *testing.T, store string, workers int, opts []serverOption) {
	started := time.Now()
	// The workers first: over Redis they deliver the mail (verification
	// links) that setting up the scenario needs.
	s := startServer(t, store, opts...)
	ws := make([]*worker, workers)
	for i := range ws {
		ws[i] = s.startWorker(t, fmt.Sprintf("w%d", i+1))
	}
	e := envFor(t, s)
	logs := func() string {
		var b strings.Builder
		fmt.Fprintf(&b, "last 40 lines of the server log:\n%s\n", e.log.tail(40))
		for _, w := range ws {
			fmt.Fprintf(&b, "last 40 lines of worker %s:\n%s\n", w.name, w.log.tail(40))
		}
		return b.String()
	}

	owner, o := e.newIssuer(t, "")
	e.setPlan(t, o.ID, "professional")
	c := e.as(t, owner.Token)
	b := createBadge(c, o.ID, 0)
	f := newFaultFile()
	held := map[string]string{} // email → credential
	for _, email := range f.holders {
		held[email] = issue(c, o.ID, b.ID, "Holly Holder", email).ID
	}

	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, seed>>7))
	t.Logf("kill timing seed %d", seed)
	job := submitBulk(c, o.ID, b.ID, csvOf(t, f.rows...))
	submitted := time.Now()
	if job.Total != faultRows || job.Failed != f.invalid {
		t.Fatalf("submitted: %s, want %d rows, %d failed at once", job, faultRows, f.invalid)
	}

	// Kill faultKills times: each time once the job has made progress
	// since the last restart, after a random 0–400 ms — or sooner, once
	// the job passed its share of the rows left, so that every kill finds
	// rows to interrupt. The victim is the process holding the job; with
	// two workers, every second kill takes the other one down too.
	last := getJob(c, o.ID, job.ID).Processed
	var lastKill time.Time
	kills, lateKill := 0, false
	takenUp := make([]int, len(ws)) // "bulk job started" lines per worker at the last kill
	for kills < faultKills {
		j := awaitProgress(c, o.ID, job.ID, last, 60*time.Second, logs)
		if j.done() {
			break
		}
		limit := j.Processed + (faultRows-j.Processed)/(faultKills-kills+1)
		wait := time.Duration(rng.Int64N(int64(maxKillWait) + 1))
		for end := time.Now().Add(wait); time.Now().Before(end); {
			time.Sleep(min(20*time.Millisecond, time.Until(end)))
			if getJob(c, o.ID, job.ID).Processed >= limit {
				break
			}
		}
		var victims []string
		if workers == 0 {
			e.kill(t)
			victims = []string{"api"}
		} else {
			var hit []*worker
			holders := 0
			for i, w := range ws {
				if n := strings.Count(w.log.String(), "bulk job started"); n > takenUp[i] {
					holders++
					hit = append(hit, w)
				}
			}
			if holders != 1 || kills%2 == 1 {
				hit = ws // unsure who holds it, or the turn to kill both
			}
			for _, w := range hit {
				w.kill(t)
				victims = append(victims, w.name)
			}
			for i, w := range ws {
				takenUp[i] = strings.Count(w.log.String(), "bulk job started")
			}
		}
		lastKill = time.Now()
		if workers == 0 {
			e.restart(t)
		} else {
			for _, w := range ws {
				if !w.proc.running() {
					w.restart(t)
				}
			}
		}
		at := getJob(c, o.ID, job.ID).Processed // no process works on it yet: the lease holds
		kills++
		// A kill after the last row may have hit mail delivery, as may one
		// once the job's first mail was due.
		lateKill = lateKill || at >= faultRows || lastKill.Sub(submitted) > relayGrace-5*time.Second
		last = getJob(c, o.ID, job.ID).Processed
		t.Logf("kill %d: %s killed at %d of %d rows, %s after submission, restarted",
			kills, strings.Join(victims, "+"), at, faultRows, lastKill.Sub(submitted).Round(time.Millisecond))
	}
	done := awaitJob(c, o.ID, job.ID, 90*time.Second, logs)
	took := time.Since(submitted)
	if kills < faultKills {
		t.Errorf("the job was done after %d of %d kills: it ran too fast to be killed %d times", kills, faultKills, faultKills)
	}
	resumed := strings.Count(e.log.String(), "bulk job started")
	for _, w := range ws {
		resumed += strings.Count(w.log.String(), "bulk job started")
	}
	t.Logf("job %s after %s, %d kills; the job was taken up %d times", done.Status, took.Round(time.Millisecond), kills, resumed)

	checkStart := time.Now()
	checkFaultJob(t, e, c, o.ID, b.ID, f, held, done, job.ID)
	t.Logf("rows, credentials, quota and %d verifications checked in %s", done.Issued, time.Since(checkStart).Round(time.Millisecond))

	// Mail: one per issued credential. Mail a dead process left unrelayed
	// waits relayGrace; a kill while it delivered (only possible once
	// mail was due, relayGrace after the job's first chunk) leaves some
	// claimed for mailLease.
	rows := jobRows(c, o.ID, job.ID)
	var ids []string
	for _, r := range rows {
		if r.Outcome == "issued" {
			ids = append(ids, r.CredentialID)
		}
	}
	mailWait := relayGrace + 30*time.Second
	if lateKill {
		mailWait = mailLease + relayGrace + 30*time.Second
		t.Logf("a kill came when mail may have been on its way: waiting up to %s for mail", mailWait)
	}
	mailStart := time.Now()
	e.awaitCredentialMails(t, ids, mailWait)
	time.Sleep(500 * time.Millisecond) // let a repeated send land
	byCredential := e.credentialMails(t)
	dups := 0
	for _, id := range ids {
		dups += len(byCredential[id]) - 1
	}
	for email, id := range held {
		if n := len(byCredential[id]); n != 1 {
			t.Errorf("holder %s: %d mails of %s, want only its first", email, n, id)
		}
	}
	total := 0
	for _, ms := range byCredential {
		total += len(ms)
	}
	if want := len(ids) + len(held) + dups; total != want {
		t.Errorf("%d credential mails, want %d (%d issued, %d holders, %d repeated)", total, want, len(ids), len(held), dups)
	}
	t.Logf("mail: %d credential mails for %d issued credentials after %s; %d duplicate(s) after kills",
		total-len(held), len(ids), time.Since(mailStart).Round(time.Millisecond), dups)
	if dups > mailBound {
		t.Errorf("%d duplicate mails after %d kills, more than %d", dups, kills, mailBound)
	}
	t.Logf("scenario took %s", time.Since(started).Round(time.Millisecond))
}

// awaitProgress polls the job until it processed more than last rows or
// is done; past timeout it fails with the job and the logs.
func awaitProgress(c *client, orgID, jobID string, last int, timeout time.Duration, logs func() string) bulkJob {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		j := getJob(c, orgID, jobID)
		if j.Processed > last || j.done() {
			return j
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("bulk job made no progress past %d rows within %s: %s\n%s", last, timeout, j, logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkFaultJob checks a job of f after the kills: counts, rows,
// credentials, quota, verification.
func checkFaultJob(t *testing.T, e *env, c *client, orgID, badgeID string, f faultFile, held map[string]string, done bulkJob, jobID string) {
	t.Helper()
	if done.Status != "completed" || done.Total != faultRows || done.Issued != f.issuable() || done.Skipped != len(f.holders) ||
		done.Failed != f.invalid || done.Processed != done.Total || done.Issued+done.Skipped+done.Failed != done.Total || done.Error != "" {
		t.Errorf("job after the kills: %s, want completed with %d = %d issued + %d skipped + %d failed",
			done, faultRows, f.issuable(), len(f.holders), f.invalid)
	}

	rows := jobRows(c, orgID, jobID)
	if len(rows) != faultRows {
		t.Fatalf("the job lists %d rows, want %d", len(rows), faultRows)
	}
	byCredential := map[string]int{} // credential → row
	outcomes := map[string]int{}
	for i, r := range rows {
		outcomes[r.Outcome]++
		want := f.rows[i]
		if r.Row != i+1 || r.Email != want[1] {
			t.Errorf("row %d: %+v, want %s", i+1, r, want[1])
			continue
		}
		switch {
		case strings.HasPrefix(want[1], "not-an-email"):
			if r.Outcome != "failed" || r.Code != "INVALID_ROW" || r.CredentialID != "" {
				t.Errorf("row %d: %+v, want failed INVALID_ROW", r.Row, r)
			}
		case held[want[1]] != "":
			if r.Outcome != "skipped" || r.CredentialID != held[want[1]] || r.Code != "DUPLICATE_CREDENTIAL" {
				t.Errorf("row %d: %+v, want skipped naming %s", r.Row, r, held[want[1]])
			}
		default:
			if r.Outcome != "issued" || !credentialIDRE.MatchString(r.CredentialID) {
				t.Errorf("row %d: %+v, want issued", r.Row, r)
				continue
			}
			if prev, dup := byCredential[r.CredentialID]; dup {
				t.Errorf("rows %d and %d both name credential %s", prev, r.Row, r.CredentialID)
			}
			byCredential[r.CredentialID] = r.Row
		}
	}
	if outcomes["pending"] != 0 || outcomes["issued"] != f.issuable() {
		t.Errorf("row outcomes %v, want %d issued and none pending", outcomes, f.issuable())
	}

	// The organization holds exactly one credential per recipient.
	creds := listCredentials(c, orgID, "?badgeId="+badgeID)
	if want := f.issuable() + len(f.holders); len(creds) != want {
		t.Errorf("the badge has %d credentials, want %d (issued + holders)", len(creds), want)
	}
	perEmail := map[string][]string{}
	for _, cr := range creds {
		perEmail[cr.Recipient.Email] = append(perEmail[cr.Recipient.Email], cr.ID)
		if row, ok := byCredential[cr.ID]; ok {
			if cr.Recipient.Email != f.rows[row-1][1] || cr.Status != "pending" || cr.Test {
				t.Errorf("credential %s of row %d: %+v", cr.ID, row, cr)
			}
		} else if !slices.Contains(mapValues(held), cr.ID) {
			t.Errorf("credential %s (to %s) is named by no row", cr.ID, cr.Recipient.Email)
		}
	}
	twice := 0
	for email, ids := range perEmail {
		if len(ids) > 1 {
			if twice++; twice <= 10 {
				t.Errorf("%s holds %d credentials of the badge: %v", email, len(ids), ids)
			}
		}
	}

	var usage struct {
		Quota struct {
			Used int `json:"used"`
		} `json:"quota"`
	}
	c.expect(http.StatusOK, http.MethodGet, "/api/v1/orgs/"+orgID+"/usage", nil, &usage)
	if want := len(perEmail); usage.Quota.Used != want {
		t.Errorf("quota used %d, want %d (one per distinct recipient)", usage.Quota.Used, want)
	}

	// Every issued credential verifies.
	ids := make([]string, 0, len(byCredential))
	for id := range byCredential {
		ids = append(ids, id)
	}
	verifyAll(t, e, ids)
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// verifyAll verifies credentials by ID from a few goroutines; each must
// verify as pending with every check ok.
func verifyAll(t *testing.T, e *env, ids []string) {
	t.Helper()
	const parallel = 4
	anon := e.anon(t)
	var mu sync.Mutex
	var bad []string
	var wg sync.WaitGroup
	next := make(chan string)
	for range parallel {
		wg.Go(func() {
			for id := range next {
				r, err := anon.send(http.MethodGet, "/api/v1/credentials/"+id+"/verify", nil)
				problem := ""
				switch {
				case err != nil:
					problem = err.Error()
				case r.Status != http.StatusOK:
					problem = r.String()
				case !strings.Contains(string(r.Body), `"result":"pending"`) || strings.Contains(string(r.Body), `"ok":false`):
					problem = r.String()
				}
				if problem != "" {
					mu.Lock()
					bad = append(bad, id+": "+problem)
					mu.Unlock()
				}
			}
		})
	}
	for _, id := range ids {
		next <- id
	}
	close(next)
	wg.Wait()
	if len(bad) > 0 {
		t.Errorf("%d of %d credentials do not verify, e.g. %v", len(bad), len(ids), bad[:min(len(bad), 5)])
	}
}

// ownKey reports a key of Credence's own in Redis: asynq's, the rate
// limiter's, and the limiter's of before it ran its own script
// ("rate:credence:…", expired within a period).
func ownKey(k string) bool {
	return strings.HasPrefix(k, "asynq:") || strings.HasPrefix(k, redislimit.DefaultPrefix) || strings.HasPrefix(k, "rate:credence:")
}
