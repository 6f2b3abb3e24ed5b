package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credence-dev/credence/adapters/sqlstore"
	"github.com/credence-dev/credence/contract-tests/harness"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
	"github.com/credence-dev/credence/ports"
)

// idemFixture is the wrapper over a real SQLite store and a handler that
// counts its runs and answers what answer says, behind the edge's
// identify and authenticate, whose token lookup is check (nil: every
// token authenticates).
type idemFixture struct {
	t      *testing.T
	h      http.Handler
	store  *spyIdempotency
	clock  *fakeClock
	runs   atomic.Int64
	answer func(w http.ResponseWriter, r *http.Request, run int64)
	check  func(ctx context.Context, token string) error
}

func newIdemFixture(t *testing.T, cfg idempotencyConfig) *idemFixture {
	t.Helper()
	s, err := sqlstore.Open(t.Context(), harness.FreshSQLitePath(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	f := &idemFixture{t: t, store: &spyIdempotency{Idempotency: s.Idempotency()},
		clock: &fakeClock{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}}
	f.answer = func(w http.ResponseWriter, r *http.Request, run int64) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Location", "/things/"+fmt.Sprint(run))
		w.Header().Set("X-RateLimit-Remaining", "7")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"run": run, "echo": string(body)})
	}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.answer(w, r, f.runs.Add(1))
	})
	sealer, err := signing.NewCipher(bytes.Repeat([]byte{7}, signing.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(ctx context.Context, token string) (domain.Actor, error) {
		if f.check != nil {
			if err := f.check(ctx, token); err != nil {
				return domain.Actor{}, err
			}
		}
		return domain.Actor{UserID: "user-" + token}, nil
	}
	f.h = identify(authenticate(idempotent(next, idempotencyDeps{store: f.store, clock: f.clock, sealer: sealer}, cfg), lookup, nil), nil)
	return f
}

// send serves one request; header holds names and values.
func (f *idemFixture) send(method, path, body string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	return w
}

func (f *idemFixture) post(key, body string, header ...string) *httptest.ResponseRecorder {
	return f.send(http.MethodPost, "/api/v1/things", body, append([]string{"Idempotency-Key", key}, header...)...)
}

// holdFirstRun makes the handler's run wait for release, once running
// is closed; it allows one run.
func (f *idemFixture) holdFirstRun() (running, release chan struct{}) {
	created := f.answer
	running, release = make(chan struct{}), make(chan struct{})
	f.answer = func(w http.ResponseWriter, r *http.Request, run int64) {
		close(running)
		<-release
		created(w, r, run)
	}
	return running, release
}

func (f *idemFixture) wantRuns(n int64) {
	f.t.Helper()
	if got := f.runs.Load(); got != n {
		f.t.Fatalf("the handler ran %d times, want %d", got, n)
	}
}

func wantProblem(t testing.TB, w *httptest.ResponseRecorder, status int, code string) Problem {
	t.Helper()
	var p Problem
	if w.Code != status || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("got %d %s %s, want a %d problem", w.Code, w.Header().Get("Content-Type"), w.Body, status)
	}
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Code != code || p.Status != status {
		t.Fatalf("got %s (%v), want code %s", w.Body, err, code)
	}
	return p
}

func sameResponse(t *testing.T, first, again *httptest.ResponseRecorder) {
	t.Helper()
	if again.Code != first.Code || again.Body.String() != first.Body.String() ||
		again.Header().Get("Location") != first.Header().Get("Location") ||
		again.Header().Get("Content-Type") != first.Header().Get("Content-Type") {
		t.Fatalf("replay %d %v %s differs from the first response %d %v %s",
			again.Code, again.Header(), again.Body, first.Code, first.Header(), first.Body)
	}
	if again.Header().Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay without Idempotent-Replayed: true: %v", again.Header())
	}
}

func TestIdempotencyReplays(t *testing.T) {
	t.Parallel()
	f := newIdemFixture(t, defaultIdempotency)
	first := f.post("k1", `{"a":1}`, "Authorization", "Bearer alice")
	if first.Code != http.StatusCreated || first.Header().Get("Idempotent-Replayed") != "" {
		t.Fatalf("first: %d %v %s", first.Code, first.Header(), first.Body)
	}
	again := f.post("k1", `{"a":1}`, "Authorization", "Bearer alice")
	sameResponse(t, first, again)
	if again.Header().Get("X-RateLimit-Remaining") != "" {
		t.Errorf("a replay repeats the first response's rate-limit headers: %v", again.Header())
	}
	f.wantRuns(1)

	// Another caller's key of the same name is another key; so is another
	// key of the same caller.
	if w := f.post("k1", `{"a":1}`, "Authorization", "Bearer bob"); w.Code != http.StatusCreated || w.Header().Get("Idempotent-Replayed") != "" {
		t.Fatalf("bob's k1: %d %v", w.Code, w.Header())
	}
	f.post("k2", `{"a":1}`, "Authorization", "Bearer alice")
	f.wantRuns(3)

	// Anonymous calls are replayed to the very same request only.
	anon := f.post("k1", `{"a":1}`)
	sameResponse(t, anon, f.post("k1", `{"a":1}`))
	f.wantRuns(4)

	// After 24 hours the key is forgotten: the request runs again.
	f.clock.advance(24 * time.Hour)
	if w := f.post("k1", `{"a":1}`, "Authorization", "Bearer alice"); w.Header().Get("Idempotent-Replayed") != "" {
		t.Fatalf("replayed after 24 h: %v", w.Header())
	}
	f.wantRuns(5)
}

func TestIdempotencyKeyReused(t *testing.T) {
	t.Parallel()
	f := newIdemFixture(t, defaultIdempotency)
	alice := []string{"Idempotency-Key", "k", "Authorization", "Bearer alice"}
	f.post("k", `{"a":1}`, alice[2:]...)
	for name, w := range map[string]*httptest.ResponseRecorder{
		"other body":  f.post("k", `{"a":2}`, alice[2:]...),
		"other path":  f.send(http.MethodPost, "/api/v1/others", `{"a":1}`, alice...),
		"other query": f.send(http.MethodPost, "/api/v1/things?x=1", `{"a":1}`, alice...),
		"other type":  f.send(http.MethodPost, "/api/v1/things", `{"a":1}`, append(alice, "Content-Type", "text/plain")...),
	} {
		t.Run(name, func(t *testing.T) { wantProblem(t, w, http.StatusUnprocessableEntity, "IDEMPOTENCY_KEY_REUSED") })
	}
	f.wantRuns(1)
}

// Anonymous keys cannot be squatted: a stranger who sends a short key
// first, with a request of their own, takes nothing from the caller who
// sends that key next with theirs; and only the very same request gets a
// replay.
func TestIdempotencyAnonymousKeys(t *testing.T) {
	t.Parallel()
	f := newIdemFixture(t, defaultIdempotency)
	f.post("1", `{"email":"mallory@example.com"}`)
	victim := f.post("1", `{"email":"victim@example.com"}`)
	if victim.Code != http.StatusCreated || victim.Header().Get(replayedHeader) != "" {
		t.Fatalf("the victim's request with a squatted key: %d %v %s", victim.Code, victim.Header(), victim.Body)
	}
	f.wantRuns(2)
	sameResponse(t, victim, f.post("1", `{"email":"victim@example.com"}`))
	f.wantRuns(2)
}

// What the store keeps of a response is sealed: a secret in a response
// (a session token, an API key) is nowhere in the stored record, and a
// record moved to another key or caller does not replay there.
func TestIdempotencySealsResponses(t *testing.T) {
	t.Parallel()
	f := newIdemFixture(t, defaultIdempotency)
	const secret = "crs_5ecret-session-token"
	f.answer = func(w http.ResponseWriter, r *http.Request, run int64) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Location", "/sessions/"+secret)
		_, _ = io.WriteString(w, `{"token":"`+secret+`"}`)
	}
	first := f.post("k", `{"password":"pw"}`)
	stored := f.store.lastCompleted()
	if stored == nil {
		t.Fatal("nothing stored")
	}
	if raw := fmt.Sprintf("%d %v %q", stored.Status, stored.Header, stored.Body); strings.Contains(raw, secret) || stored.Header != nil {
		t.Fatalf("the stored response holds the secret or headers in the clear: %s", raw)
	}
	sameResponse(t, first, f.post("k", `{"password":"pw"}`))

	// The same sealed box under another caller's key does not open there.
	req := httptest.NewRequest(http.MethodPost, "/api/v1/things", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer mallory")
	hash := requestHash(req, []byte("{}"))
	claim := ports.IdempotencyClaim{Scope: idempotencyScope(req), Key: "stolen", Token: "t", RequestHash: hash,
		Now: f.clock.Now(), LeaseUntil: f.clock.Now().Add(time.Minute), ExpiresAt: f.clock.Now().Add(time.Hour)}
	if _, _, err := f.store.Begin(t.Context(), claim); err != nil {
		t.Fatal(err)
	}
	if err := f.store.Complete(t.Context(), claim.Scope, claim.Key, claim.Token, *stored); err != nil {
		t.Fatal(err)
	}
	w := f.post("stolen", "{}", "Authorization", "Bearer mallory")
	if strings.Contains(w.Body.String(), secret) || w.Code != http.StatusInternalServerError {
		t.Fatalf("a moved record replayed: %d %s", w.Code, w.Body)
	}
}

func TestIdempotencyHeaderValidation(t *testing.T) {
	t.Parallel()
	f := newIdemFixture(t, defaultIdempotency)
	for name, key := range map[string][]string{
		"empty":        {""},
		"too long":     {strings.Repeat("k", 256)},
		"non-ASCII":    {"clé"},
		"control char": {"a\tb"},
		"sent twice":   {"a", "a"},
	} {
		header := []string{}
		for _, k := range key {
			header = append(header, "Idempotency-Key", k)
		}
		p := wantProblem(t, f.send(http.MethodPost, "/api/v1/things", "{}", header...), http.StatusUnprocessableEntity, "VALIDATION_FAILED")
		if len(p.Errors) != 1 || p.Errors[0].Location != "header.Idempotency-Key" {
			t.Errorf("%s: errors %+v", name, p.Errors)
		}
	}
	f.wantRuns(0)
	for _, key := range []string{strings.Repeat("k", 255), `"quoted sf-string"`, "~ !"} {
		if w := f.post(key, "{}"); w.Code != http.StatusCreated {
			t.Errorf("key %q: %d %s", key, w.Code, w.Body)
		}
	}
	// Not a POST, or no key: the header is not looked at.
	f.send(http.MethodGet, "/api/v1/things", "", "Idempotency-Key", "g")
	f.send(http.MethodGet, "/api/v1/things", "", "Idempotency-Key", "g")
	f.send(http.MethodPost, "/api/v1/things", "{}")
	f.send(http.MethodPost, "/api/v1/things", "{}")
	f.wantRuns(7)
}

// Bodies are read up to maxBody for a caller whose token authenticates,
// and up to maxAnonBody for any other: a stranger cannot make the wrapper
// buffer a bulk upload's 4 MiB before authentication refuses it.
func TestIdempotencyBody(t *testing.T) {
	t.Parallel()
	cfg := defaultIdempotency
	cfg.maxBody, cfg.maxAnonBody = 1<<20, 1<<10
	f := newIdemFixture(t, cfg)
	f.check = func(_ context.Context, token string) error {
		if token != "valid" {
			return domain.ErrUnauthenticated
		}
		return nil
	}
	w := f.post("k", `{"echo":"me"}`)
	if !strings.Contains(w.Body.String(), `"echo":"{\"echo\":\"me\"}"`) {
		t.Fatalf("the handler did not read the body: %s", w.Body)
	}
	f.wantRuns(1)
	valid, invalid := []string{"Authorization", "Bearer valid"}, []string{"Authorization", "Bearer forged"}
	big := strings.Repeat("x", 1<<10+1)

	// Authenticated: a body beyond the anonymous bound is kept and replayed.
	f.post("big", big, valid...)
	if w := f.post("big", big, valid...); w.Header().Get(replayedHeader) != "true" {
		t.Errorf("an authenticated retry was not replayed: %d %s", w.Code, w.Body)
	}
	f.wantRuns(2)
	f.post("huge", strings.Repeat("x", 1<<20+1), valid...) // declared over the bound: the API answers it, unstored
	f.wantRuns(3)

	// Without a token, or with one that does not authenticate, a body over
	// the anonymous bound is not read: the API answers it (401 or 413
	// there), and a retry runs again.
	for _, header := range [][]string{nil, invalid} {
		f.post("stranger", big, header...)
		if w := f.post("stranger", big, header...); w.Header().Get(replayedHeader) != "" {
			t.Errorf("replayed: a body over the anonymous bound with header %v", header)
		}
	}
	f.wantRuns(7)

	// A body of unknown length is cut at the bound.
	req := httptest.NewRequest(http.MethodPost, "/api/v1/things", io.MultiReader(strings.NewReader(big)))
	req.Header.Set(idempotencyKeyHeader, "chunked")
	req.ContentLength = -1
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	wantProblem(t, rec, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE")
	f.wantRuns(7)
}

// A token that stops authenticating (signed out, revoked) replays none of
// the responses it got while it did; retried with that stale token, a
// request (a public operation, which the API runs without the token)
// still gets its first answer again. A failed token lookup runs nothing.
func TestIdempotencyTokenScopes(t *testing.T) {
	t.Parallel()
	f := newIdemFixture(t, defaultIdempotency)
	var signedOut, broken atomic.Bool
	f.check = func(context.Context, string) error {
		switch {
		case broken.Load():
			return errors.New("connection refused")
		case signedOut.Load():
			return fmt.Errorf("session ended: %w", domain.ErrUnauthenticated)
		}
		return nil
	}
	token := []string{"Authorization", "Bearer s3ssion"}
	f.post("k", "{}", token...)
	if w := f.post("k", "{}", token...); w.Header().Get(replayedHeader) != "true" {
		t.Fatalf("a retry with a valid token was not replayed: %d %s", w.Code, w.Body)
	}
	f.wantRuns(1)
	signedOut.Store(true)
	if w := f.post("k", "{}", token...); w.Header().Get(replayedHeader) != "" {
		t.Errorf("a signed-out token got the replay of a response it got while signed in")
	}
	f.wantRuns(2)
	if w := f.post("k", "{}", token...); w.Header().Get(replayedHeader) != "true" {
		t.Errorf("a retry with the same stale token was not replayed: %d %s", w.Code, w.Body)
	}
	f.wantRuns(2)
	broken.Store(true)
	wantProblem(t, f.post("k2", "{}", token...), http.StatusInternalServerError, "INTERNAL")
	f.wantRuns(2)
}

// Responses a retry should not get again are not stored: the retry runs.
func TestIdempotencyNotStored(t *testing.T) {
	t.Parallel()
	f := newIdemFixture(t, defaultIdempotency)
	created := f.answer
	for _, tc := range []struct {
		name   string
		answer func(w http.ResponseWriter)
	}{
		{"500", func(w http.ResponseWriter) { w.WriteHeader(http.StatusInternalServerError) }},
		{"503", func(w http.ResponseWriter) { w.WriteHeader(http.StatusServiceUnavailable) }},
		{"429", func(w http.ResponseWriter) { w.WriteHeader(http.StatusTooManyRequests) }},
		{"Retry-After", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "900")
			w.WriteHeader(http.StatusLocked)
		}},
		{"CONCURRENT_ISSUE", func(w http.ResponseWriter) {
			writeProblem(w, &Problem{Status: http.StatusConflict, Code: "CONCURRENT_ISSUE"})
		}},
		{"panic", func(w http.ResponseWriter) { panic(http.ErrAbortHandler) }},
	} {
		key := "k-" + tc.name
		f.answer = func(w http.ResponseWriter, _ *http.Request, _ int64) { tc.answer(w) }
		func() {
			defer func() { _ = recover() }()
			f.post(key, "{}")
		}()
		f.answer = created
		retry := f.post(key, "{}")
		if retry.Code != http.StatusCreated || retry.Header().Get("Idempotent-Replayed") != "" {
			t.Errorf("%s: the retry got %d %v %s, want a fresh 201", tc.name, retry.Code, retry.Header(), retry.Body)
		}
		sameResponse(t, retry, f.post(key, "{}"))
	}

	// A 4xx that holds is stored like a success.
	f.answer = func(w http.ResponseWriter, _ *http.Request, _ int64) {
		writeProblem(w, &Problem{Status: http.StatusConflict, Code: "DUPLICATE_CREDENTIAL"})
	}
	first := f.post("k-409", "{}")
	f.answer = created
	sameResponse(t, first, f.post("k-409", "{}"))
}

// Concurrent duplicates wait for the first request and replay its response.
func TestIdempotencyConcurrentDuplicates(t *testing.T) {
	t.Parallel()
	f := newIdemFixture(t, defaultIdempotency)
	running, release := f.holdFirstRun()
	const duplicates = 4
	waiting := f.store.notifyHeld(duplicates)
	out := make([]*httptest.ResponseRecorder, duplicates+1)
	var wg sync.WaitGroup
	wg.Go(func() { out[0] = f.post("k", `{"a":1}`) })
	<-running
	for i := 1; i <= duplicates; i++ {
		wg.Go(func() { out[i] = f.post("k", `{"a":1}`) })
	}
	<-waiting // every duplicate found the key held
	close(release)
	wg.Wait()
	f.wantRuns(1)
	for _, w := range out[1:] {
		sameResponse(t, out[0], w)
	}
}

// Requests released at once run the handler once.
func TestIdempotencyRace(t *testing.T) {
	t.Parallel()
	f := newIdemFixture(t, defaultIdempotency)
	const n = 8
	out := make([]*httptest.ResponseRecorder, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			out[i] = f.post("k", `{"a":1}`, "Authorization", "Bearer alice")
		})
	}
	close(start)
	wg.Wait()
	f.wantRuns(1)
	replayed := 0
	for _, w := range out {
		if w.Code != http.StatusCreated || w.Body.String() != out[0].Body.String() {
			t.Fatalf("responses differ: %d %s and %d %s", w.Code, w.Body, out[0].Code, out[0].Body)
		}
		if w.Header().Get("Idempotent-Replayed") == "true" {
			replayed++
		}
	}
	if replayed != n-1 {
		t.Fatalf("%d responses replayed, want %d", replayed, n-1)
	}
}

// A duplicate gives up waiting with 409 IDEMPOTENCY_IN_PROGRESS; a lease
// that ended (a crashed holder) lets a retry run.
func TestIdempotencyInProgress(t *testing.T) {
	t.Parallel()
	cfg := defaultIdempotency
	cfg.wait = 50 * time.Millisecond
	f := newIdemFixture(t, cfg)
	// A holder that never finishes: its claim is made directly.
	auth := []string{"Authorization", "Bearer alice"}
	req := httptest.NewRequest(http.MethodPost, "/api/v1/things", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(auth[0], auth[1])
	claim := ports.IdempotencyClaim{Scope: idempotencyScope(req), Key: "k", Token: "crashed", RequestHash: []byte("other"),
		Now: f.clock.Now(), LeaseUntil: f.clock.Now().Add(cfg.lease), ExpiresAt: f.clock.Now().Add(cfg.ttl)}
	if _, _, err := f.store.Begin(t.Context(), claim); err != nil {
		t.Fatal(err)
	}
	// Its hash differs, so a duplicate is refused at once…
	wantProblem(t, f.post("k", "{}", auth...), http.StatusUnprocessableEntity, "IDEMPOTENCY_KEY_REUSED")
	// …and one of the same request waits, then gives up.
	claim.Key, claim.Token, claim.RequestHash = "k2", "crashed-2", requestHash(req, []byte("{}"))
	if _, _, err := f.store.Begin(t.Context(), claim); err != nil {
		t.Fatal(err)
	}
	w := f.post("k2", "{}", auth...)
	wantProblem(t, w, http.StatusConflict, "IDEMPOTENCY_IN_PROGRESS")
	if w.Header().Get("Retry-After") == "" {
		t.Error("409 IDEMPOTENCY_IN_PROGRESS without Retry-After")
	}
	f.wantRuns(0)
	f.clock.advance(cfg.lease)
	if w := f.post("k2", "{}", auth...); w.Code != http.StatusCreated || w.Header().Get("Idempotent-Replayed") != "" {
		t.Fatalf("after the lease: %d %v %s", w.Code, w.Header(), w.Body)
	}
	f.wantRuns(1)
}

// A waiting duplicate whose client leaves stops waiting.
func TestIdempotencyWaitEndsWithTheRequest(t *testing.T) {
	t.Parallel()
	f := newIdemFixture(t, defaultIdempotency)
	running, release := f.holdFirstRun()
	done := make(chan struct{})
	go func() { defer close(done); f.post("k", "{}") }()
	<-running
	ctx, cancel := context.WithCancel(t.Context())
	waiting := f.store.notifyHeld(1)
	left := make(chan *httptest.ResponseRecorder)
	go func() {
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/api/v1/things", strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "k")
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, req)
		left <- w
	}()
	<-waiting
	cancel()
	<-left // returns although the first request still runs
	close(release)
	<-done
}

// Expired records are deleted on one claim in sweepEvery.
func TestIdempotencySweeps(t *testing.T) {
	t.Parallel()
	cfg := defaultIdempotency
	cfg.sweepEvery = 3
	f := newIdemFixture(t, cfg)
	for i := range 3 {
		f.post(fmt.Sprint("k", i), "{}")
	}
	f.clock.advance(25 * time.Hour)
	for i := range 4 {
		f.post(fmt.Sprint("new", i), "{}")
	}
	// Claims 1, 4 and 7 swept; the second sweep found the three expired.
	if got := f.store.deleted.Load(); got != 3 {
		t.Fatalf("%d expired records deleted, want 3", got)
	}
	if got := f.store.sweeps.Load(); got != 3 {
		t.Fatalf("%d sweeps, want 3", got)
	}
}

// spyIdempotency counts sweeps, keeps the last response stored and tells
// when duplicates find a key held.
type spyIdempotency struct {
	ports.Idempotency
	sweeps, deleted atomic.Int64
	completed       atomic.Pointer[ports.StoredResponse]

	mu   sync.Mutex
	held map[string]bool // keys found held, once each per waiter count
	want int
	seen int
	note chan struct{}
}

func (s *spyIdempotency) Complete(ctx context.Context, scope, key, token string, r ports.StoredResponse) error {
	s.completed.Store(&r)
	return s.Idempotency.Complete(ctx, scope, key, token, r)
}

// lastCompleted is the last response given to Complete.
func (s *spyIdempotency) lastCompleted() *ports.StoredResponse { return s.completed.Load() }

// notifyHeld returns a channel closed once n Begins found a key held.
func (s *spyIdempotency) notifyHeld(n int) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.want, s.seen, s.note = n, 0, make(chan struct{})
	return s.note
}

func (s *spyIdempotency) Begin(ctx context.Context, c ports.IdempotencyClaim) (ports.IdempotencyRecord, bool, error) {
	rec, started, err := s.Idempotency.Begin(ctx, c)
	if err == nil && !started && !rec.Finished() {
		s.mu.Lock()
		if s.held == nil {
			s.held = map[string]bool{}
		}
		if s.note != nil && !s.held[c.Token] {
			s.held[c.Token] = true
			if s.seen++; s.seen == s.want {
				close(s.note)
			}
		}
		s.mu.Unlock()
	}
	return rec, started, err
}

func (s *spyIdempotency) DeleteExpired(ctx context.Context, before time.Time) (int, error) {
	n, err := s.Idempotency.DeleteExpired(ctx, before)
	s.sweeps.Add(1)
	s.deleted.Add(int64(n))
	return n, err
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
