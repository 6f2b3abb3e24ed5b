package e2e

import (
	"context"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/credence-dev/credence/contract-tests/harness"
)

// outageRequest is one request of an outage test and its answer once the
// service is back.
type outageRequest struct {
	name         string
	c            *client
	method, path string
	body         any
	header       []string
	back         int  // the status once the database is back
	page         bool // an HTML page: its 503 is HTML too
}

// TestDatabaseOutage stops the PostgreSQL server under a running API (a
// private server, fast shutdown, as a restart or a failover does): every
// route answers 503 with Retry-After, a problem UNAVAILABLE (a page: HTML)
// and never a 500, /readyz 503; once the server is started again the same
// requests succeed, without restarting the API.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	pg := harness.StartPrivatePostgres(t)
	e := envFor(t, startServer(t, "postgres", withEnv("CREDENCE_DATABASE_URL", pg.URL)))
	owner, o := e.newIssuer(t, "")
	oc := e.as(t, owner.Token)
	b := createBadge(oc, o.ID, 0)
	cr := issue(oc, o.ID, b.ID, "Olive Outage", uniqueEmail("outage"))

	reqs := []outageRequest{
		{name: "sign-in", c: e.anon(t), method: http.MethodPost, path: "/api/v1/auth/login",
			body: map[string]string{"email": owner.Email, "password": testPassword}, back: http.StatusOK},
		{name: "me", c: oc, method: http.MethodGet, path: "/api/v1/me", back: http.StatusOK},
		{name: "org", c: oc, method: http.MethodGet, path: "/api/v1/orgs/" + o.ID, back: http.StatusOK},
		{name: "issue", c: oc, method: http.MethodPost, path: "/api/v1/orgs/" + o.ID + "/credentials",
			body: issueBody(b.ID, "Ida Issue", uniqueEmail("outage")), back: http.StatusCreated},
		{name: "issue with Idempotency-Key", c: oc, method: http.MethodPost, path: "/api/v1/orgs/" + o.ID + "/credentials",
			body: issueBody(b.ID, "Kim Key", uniqueEmail("outage")), header: []string{"Idempotency-Key", unique("key")}, back: http.StatusCreated},
		{name: "signed file", c: e.anon(t), method: http.MethodGet, path: "/credentials/" + cr.ID + ".jwt", back: http.StatusOK},
		{name: "DID document", c: e.anon(t), method: http.MethodGet, path: "/issuers/" + o.Slug + "/did.json", back: http.StatusOK},
		{name: "verification page", c: e.anon(t), method: http.MethodGet, path: "/verify/" + cr.ID, back: http.StatusOK, page: true},
		{name: "verify", c: e.anon(t), method: http.MethodGet, path: "/api/v1/credentials/" + cr.ID + "/verify", back: http.StatusOK},
		{name: "verify a pasted file (page)", c: e.anon(t), method: http.MethodPost, path: "/verify",
			body: form("credential", cr.JWT), back: http.StatusOK, page: true},
	}
	// The pages' forms carry the CSRF token of the page (fetched now:
	// showing a form needs no database).
	for _, p := range []struct{ name, path, page string }{
		{"verify-email page", "/verify-email", "/verify-email?token=not-a-token"},
		{"reset-password page", "/reset-password", "/reset-password?token=not-a-token"},
	} {
		c := e.anon(t)
		body, cookie := pageForm(t, c, p.page, "token", "not-a-token", "password", testPassword)
		reqs = append(reqs, outageRequest{name: p.name, c: c, method: http.MethodPost, path: p.path, body: body, header: cookie,
			back: http.StatusBadRequest, page: true})
	}

	pg.Stop()
	fmtLog(e.server, "PostgreSQL stopped")
	for _, rq := range reqs {
		r := rq.c.expecting(http.StatusServiceUnavailable).do(rq.method, rq.path, rq.body, rq.header...)
		checkUnavailable(t, rq, r)
	}
	readyz := e.anon(t).expecting(http.StatusServiceUnavailable).do(http.MethodGet, "/readyz", nil)
	if readyz.Status != http.StatusServiceUnavailable || readyz.Header.Get("Retry-After") == "" {
		t.Errorf("/readyz while the database is down: want 503 with Retry-After: %s", readyz)
	}

	pg.Start()
	fmtLog(e.server, "PostgreSQL started again")
	awaitReady(t, e.server)
	for _, rq := range reqs {
		if r := rq.c.do(rq.method, rq.path, rq.body, rq.header...); r.Status != rq.back {
			t.Errorf("%s once the database is back: want %d: %s", rq.name, rq.back, r)
		}
	}
}

// checkUnavailable requires r to be the 503 of an outage.
func checkUnavailable(t *testing.T, rq outageRequest, r *response) {
	t.Helper()
	if r.Status != http.StatusServiceUnavailable {
		t.Errorf("%s while the database is down: want 503: %s", rq.name, r)
		return
	}
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("%s: want Retry-After in seconds, got %q", rq.name, r.Header.Get("Retry-After"))
	}
	if rq.page {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "text/html" {
			t.Errorf("%s: want an HTML page: %s", rq.name, r)
		}
		return
	}
	if p := decodeProblem(t, r); p.Code != "UNAVAILABLE" || p.Status != http.StatusServiceUnavailable {
		t.Errorf("%s: want problem UNAVAILABLE: %s", rq.name, r)
	}
}

// awaitReady waits (up to readyTimeout) until /readyz answers 200.
func awaitReady(t *testing.T, s *server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	for !s.ready(ctx) {
		select {
		case <-ctx.Done():
			t.Fatalf("/readyz did not answer 200 within %s", readyTimeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// form is an application/x-www-form-urlencoded body of name, value pairs.
func form(kv ...string) formBody {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return formBody{contentType: "application/x-www-form-urlencoded", data: []byte(v.Encode())}
}

// fmtLog marks a step in the server's log.
func fmtLog(s *server, step string) { _, _ = io.WriteString(s.log, "=== e2e: "+step+"\n") }

// TestRedisOutage cuts the API off Redis (the queue and the rate limits):
// requests whose work would go to the queue still answer as usual (the
// relay is retried by the sweep), rate limits let requests through, and
// only /readyz says 503. Nothing answers a 5xx.
func TestRedisOutage(t *testing.T) {
	t.Parallel()
	redisURL, err := url.Parse(freshRedisDB(t, redisOutage))
	if err != nil {
		t.Fatal(err)
	}
	link := startLink(t, redisURL.Host)
	redisURL.Host = link.addr
	s := startServer(t, "sqlite", withEnv("CREDENCE_REDIS_URL", redisURL.String(),
		"CREDENCE_RATE_LIMIT_IP", "10000", "CREDENCE_RATE_LIMIT_KEY", "10000", "CREDENCE_RATE_LIMIT_AUTH_IP", "10000",
		"CREDENCE_RATE_LIMIT_EMAIL", "100"))
	s.startWorker(t, "mail") // delivers the sign-up mails of the set-up
	e := envFor(t, s)
	owner, o := e.newIssuer(t, "")
	e.setPlan(t, o.ID, "professional")
	oc := e.as(t, owner.Token)
	b := createBadge(oc, o.ID, 0)

	link.cut()
	fmtLog(e.server, "Redis cut off")
	start := time.Now()
	newcomer := uniqueEmail("redis")
	e.anon(t).expect(http.StatusCreated, http.MethodPost, "/api/v1/auth/signup",
		map[string]string{"email": newcomer, "password": testPassword, "name": "Rhea Redis"}, nil)
	e.anon(t).expect(http.StatusAccepted, http.MethodPost, "/api/v1/auth/resend-verification", map[string]string{"email": newcomer}, nil)
	issue(oc, o.ID, b.ID, "Ria Relay", uniqueEmail("redis"))
	job := submitBulk(oc, o.ID, b.ID, csvOf(t, recipient{"Bo Bulk", uniqueEmail("redis")}, recipient{"Cy Bulk", uniqueEmail("redis")}))
	oc.expect(http.StatusOK, http.MethodGet, bulkPath(o.ID)+"/"+job.ID, nil, nil)
	took := time.Since(start)
	t.Logf("with Redis away the five requests took %s", took)
	if took > 20*time.Second {
		t.Errorf("five requests took %s with Redis away: the relay holds requests too long", took)
	}
	if relay := e.log.grep("relay of"); relay == "(none)" {
		t.Errorf("no relay failure logged with Redis away: did the requests reach the queue?")
	}
	readyz := e.anon(t).expecting(http.StatusServiceUnavailable).do(http.MethodGet, "/readyz", nil)
	if readyz.Status != http.StatusServiceUnavailable || readyz.Header.Get("Retry-After") == "" {
		t.Errorf("/readyz while Redis is away: want 503 with Retry-After: %s", readyz)
	}

	link.heal(t)
	fmtLog(e.server, "Redis reachable again")
	awaitReady(t, e.server)
}

// link forwards TCP connections from a loopback port to a server until
// cut, which closes the port and every connection, as a server that went
// away would; heal opens the port again.
type link struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        map[net.Conn]bool
}

func startLink(t *testing.T, target string) *link {
	t.Helper()
	l := &link{target: target, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.addr = ln.Addr().String()
	l.serve(ln)
	t.Cleanup(l.cut)
	return l
}

func (l *link) serve(ln net.Listener) {
	l.mu.Lock()
	l.ln = ln
	l.mu.Unlock()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", l.target)
			if err != nil {
				in.Close()
				continue
			}
			l.mu.Lock()
			l.conns[in], l.conns[out] = true, true
			l.mu.Unlock()
			pipe := func(dst, src net.Conn) {
				_, _ = io.Copy(dst, src)
				dst.Close()
				src.Close()
			}
			go pipe(in, out)
			go pipe(out, in)
		}
	}()
}

func (l *link) cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ln != nil {
		l.ln.Close()
		l.ln = nil
	}
	for c := range l.conns {
		c.Close()
		delete(l.conns, c)
	}
}

func (l *link) heal(t *testing.T) {
	t.Helper()
	var ln net.Listener
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if ln, err = net.Listen("tcp", l.addr); err == nil || time.Now().After(deadline) || !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	if err != nil {
		t.Fatalf("reopen %s: %v", l.addr, err)
	}
	l.serve(ln)
}
