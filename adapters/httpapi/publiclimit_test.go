package httpapi

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/credence-dev/credence/ports"
)

// The public HTML pages, the documents verifiers fetch and the page
// assets are counted against the client address's limit like the API
// (limitAddresses wraps every route but /healthz and /readyz): each
// address gets Limits.IP requests, then 429 RATE_LIMITED with
// Retry-After, whatever public route it asks for.
func TestPublicPagesAndDocumentsAreRateLimited(t *testing.T) {
	t.Parallel()
	const rate = 3
	s := newTestServerWith(t, Limits{IP: ports.Limit{Rate: rate, Period: time.Minute}})
	var asset string
	for _, a := range webAssets {
		asset = a.url
		break
	}
	routes := []struct{ method, path, body string }{
		{http.MethodGet, "/verify", ""},
		{http.MethodPost, "/verify", "credential=eyJhbGciOiJFUzI1NiJ9.e30.c2ln"},
		{http.MethodGet, "/verify/CRD-AAAAAAAA", ""},
		{http.MethodGet, "/verify-email?token=x", ""},
		{http.MethodGet, "/reset-password?token=x", ""},
		{http.MethodGet, "/credentials/CRD-AAAAAAAA", ""},
		{http.MethodGet, "/credentials/CRD-AAAAAAAA.jwt", ""},
		{http.MethodGet, "/issuers/no-such-issuer", ""},
		{http.MethodGet, "/issuers/no-such-issuer/jwks.json", ""},
		{http.MethodGet, "/issuers/no-such-issuer/did.json", ""},
		{http.MethodGet, "/issuers/no-such-issuer/achievements", ""},
		{http.MethodGet, "/achievements/no-such-issuer/no-such-badge", ""},
		{http.MethodGet, asset, ""},
	}
	for i, rt := range routes {
		addr := fmt.Sprintf("203.0.113.%d:5000", i+1) // an address of its own per route
		send := func() *httptest.ResponseRecorder {
			req := httptest.NewRequestWithContext(t.Context(), rt.method, rt.path, strings.NewReader(rt.body))
			if rt.body != "" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			req.RemoteAddr = addr
			w := httptest.NewRecorder()
			s.h.ServeHTTP(w, req)
			return w
		}
		for n := 1; n <= rate; n++ {
			if w := send(); w.Code == http.StatusTooManyRequests || w.Header().Get("X-RateLimit-Limit") != fmt.Sprint(rate) {
				t.Fatalf("%s %s, request %d of %d: %d %v", rt.method, rt.path, n, rate, w.Code, w.Header())
			}
		}
		w := send()
		wantProblem(t, w, http.StatusTooManyRequests, "RATE_LIMITED")
		if w.Header().Get("Retry-After") == "" {
			t.Errorf("%s %s: 429 without Retry-After", rt.method, rt.path)
		}
	}
}
