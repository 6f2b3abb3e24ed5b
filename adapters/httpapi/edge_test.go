package httpapi

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/credence-dev/credence/ports"
)

// capBodies answers 413 for a body over its route's bound, whatever the
// route answered once its read was cut, and leaves bodies within the
// bound alone.
func TestCapBodies(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	var ran int
	read := func(w http.ResponseWriter, r *http.Request) {
		ran++
		if _, err := io.ReadAll(r.Body); err != nil {
			w.Header().Set("Content-Disposition", "attachment")
			http.Error(w, "unprocessable: "+err.Error(), http.StatusUnprocessableEntity)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}
	mux.HandleFunc("POST /upload", read)
	mux.HandleFunc("POST /small", read)
	outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Limit", "100")
		capBodies(mux, mux, bodyLimits{"POST /upload": 4 << 20}).ServeHTTP(w, r)
	})
	send := func(path string, size int, chunked bool) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, path, io.LimitReader(repeat('x'), int64(size)))
		req.ContentLength = int64(size)
		if chunked {
			req.ContentLength = -1
		}
		w := httptest.NewRecorder()
		outer.ServeHTTP(w, req)
		return w
	}
	for _, tc := range []struct {
		name    string
		path    string
		size    int
		chunked bool
		status  int
		runs    int
	}{
		{"declared within the route's bound", "/upload", 3 << 20, false, http.StatusCreated, 1},
		{"chunked within the route's bound", "/upload", 3 << 20, true, http.StatusCreated, 1},
		{"declared over the route's bound: never read", "/upload", 5 << 20, false, http.StatusRequestEntityTooLarge, 0},
		{"chunked over the route's bound: cut", "/upload", 5 << 20, true, http.StatusRequestEntityTooLarge, 1},
		{"declared over the default bound", "/small", 2 << 20, false, http.StatusRequestEntityTooLarge, 0},
		{"chunked over the default bound", "/small", 2 << 20, true, http.StatusRequestEntityTooLarge, 1},
	} {
		ran = 0
		w := send(tc.path, tc.size, tc.chunked)
		if w.Code != tc.status || ran != tc.runs {
			t.Errorf("%s: %d after %d runs, want %d after %d: %s", tc.name, w.Code, ran, tc.status, tc.runs, w.Body)
			continue
		}
		if w.Code != http.StatusRequestEntityTooLarge {
			continue
		}
		p := wantProblem(t, w, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE")
		if w.Header().Get("X-RateLimit-Limit") != "100" || w.Header().Get("Content-Disposition") != "" || strings.Contains(w.Body.String(), "unprocessable") {
			t.Errorf("%s: headers %v, body %s (%+v): want the outer headers and the problem only", tc.name, w.Header(), w.Body, p)
		}
	}
}

// repeat reads b forever.
type repeat byte

func (r repeat) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// Every response carries the security headers; a page may set a fuller
// policy of its own.
func TestSecureHeaders(t *testing.T) {
	t.Parallel()
	h := secureHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/page" {
			w.Header().Set("Content-Security-Policy", pageCSP)
		}
	}), true)
	for _, path := range []string{"/api", "/page"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		got := w.Header()
		if got.Get("X-Content-Type-Options") != "nosniff" || got.Get("X-Frame-Options") != "DENY" || got.Get("Referrer-Policy") != "no-referrer" ||
			!strings.Contains(got.Get("Content-Security-Policy"), "frame-ancestors 'none'") || got.Get("Strict-Transport-Security") == "" {
			t.Errorf("%s: %v", path, got)
		}
	}
}

// One edge: a POST sent with an Idempotency-Key looks its token up once,
// for the Idempotency-Key wrapper and the operation alike, and so does
// its replay; a replay is counted against the address's limit only, not
// against the API key's, which counts the requests that run.
func TestEdgeAuthenticatesOnce(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer("enterprise")
	b := s.createBadge(owner.Token, o.ID, 0)
	issue := "/api/v1/orgs/" + o.ID + "/credentials"
	body := issueBody(b.ID, uniqueEmail("once"))
	for i, replay := range []string{"", "true"} {
		before := s.lookups.Load()
		w := s.do(http.MethodPost, issue, owner.Token, body, "Idempotency-Key", "k-once")
		if w.Code != http.StatusCreated || w.Header().Get("Idempotent-Replayed") != replay {
			t.Fatalf("request %d: %d %v %s", i+1, w.Code, w.Header(), w.Body)
		}
		if n := s.lookups.Load() - before; n != 1 {
			t.Errorf("request %d looked the token up %d times, want once", i+1, n)
		}
	}
	var list struct {
		Items []testCredential `json:"items"`
	}
	s.expect(http.StatusOK, http.MethodGet, issue+"?email="+body["recipient"].(map[string]string)["email"], owner.Token, nil, &list)
	if len(list.Items) != 1 {
		t.Fatalf("%d credentials issued for one keyed request and its retry", len(list.Items))
	}

	keyID, key := s.apiKey(owner.Token, o.ID, "live")
	s.expect(http.StatusOK, http.MethodPut, "/api/v1/admin/api-keys/"+keyID+"/rate-limit", s.admin(), map[string]int{"perMinute": 2}, nil)
	keyed := issueBody(b.ID, uniqueEmail("keyed"))
	if w := s.do(http.MethodPost, issue, key, keyed, "Idempotency-Key", "k-key"); w.Code != http.StatusCreated || w.Header().Get("X-RateLimit-Remaining") != "1" {
		t.Fatalf("the key's first request: %d %v", w.Code, w.Header())
	}
	for range 3 {
		w := s.do(http.MethodPost, issue, key, keyed, "Idempotency-Key", "k-key")
		if w.Code != http.StatusCreated || w.Header().Get("Idempotent-Replayed") != "true" || w.Header().Get("X-RateLimit-Limit") != "100000" {
			t.Fatalf("a replay to the key: %d %v", w.Code, w.Header())
		}
	}
	if w := s.do(http.MethodGet, issue, key, nil); w.Code != http.StatusOK || w.Header().Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("the key's second request that runs: %d %v", w.Code, w.Header())
	}
	wantProblem(t, s.do(http.MethodGet, issue, key, nil), http.StatusTooManyRequests, "RATE_LIMITED")
}

// The API served without the edge (NewAPI alone) knows no caller: an
// operation that needs one answers 401, whatever token is sent.
func TestAPIWithoutTheEdgeIsAnonymous(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	NewAPI(mux, Deps{Log: slog.New(slog.DiscardHandler)})
	req := httptest.NewRequest(http.MethodGet, "/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer crs_a-session-token")
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	wantProblem(t, w, http.StatusUnauthorized, "UNAUTHENTICATED")
}

// A token is looked up only when something asks who sends the request: a
// health probe never does, so probes, which no rate limit counts, cost no
// lookup whatever they carry; a request the sign-up and mail limit refuses
// costs none either.
func TestEdgeLooksTokensUpOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	s := newTestServerWith(t, Limits{IP: ports.Limit{Rate: 2, Period: time.Minute}, AuthIP: ports.Limit{Rate: 1, Period: time.Minute}})
	before := s.lookups.Load()
	for range 10 {
		for _, path := range []string{"/healthz", "/readyz"} {
			if w := s.do(http.MethodGet, path, "crs_guess", nil); w.Code != http.StatusOK {
				t.Fatalf("%s: %d %s", path, w.Code, w.Body)
			}
		}
	}
	if n := s.lookups.Load() - before; n != 0 {
		t.Errorf("20 health probes with a bearer token made %d token lookups, want none", n)
	}

	s = newTestServerWith(t, Limits{IP: ports.Limit{Rate: 1000, Period: time.Minute}, AuthIP: ports.Limit{Rate: 1, Period: time.Minute}})
	reset := map[string]string{"email": uniqueEmail("reset")}
	if w := s.do(http.MethodPost, "/api/v1/auth/password-reset", "", reset); w.Code != http.StatusAccepted {
		t.Fatalf("first reset request: %d %s", w.Code, w.Body)
	}
	before = s.lookups.Load()
	for range 5 {
		wantProblem(t, s.do(http.MethodPost, "/api/v1/auth/password-reset", "crs_guess", reset), http.StatusTooManyRequests, "RATE_LIMITED")
	}
	if n := s.lookups.Load() - before; n != 0 {
		t.Errorf("5 requests refused by the sign-up and mail limit made %d token lookups, want none", n)
	}
	// Asked, it is looked up: once.
	before = s.lookups.Load()
	wantProblem(t, s.do(http.MethodGet, "/api/v1/me", "crs_guess", nil), http.StatusUnauthorized, "UNAUTHENTICATED")
	if n := s.lookups.Load() - before; n != 1 {
		t.Errorf("a request needing an actor made %d token lookups, want 1", n)
	}
}
