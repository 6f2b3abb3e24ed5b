package httpapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/credence-dev/credence/ports"
)

// benchLimits never limit a benchmark: its requests all come from one
// address, far faster than any visitor's.
var benchLimits = Limits{IP: ports.Limit{Rate: 1 << 30, Period: time.Minute}, Key: ports.Limit{Rate: 1 << 30, Period: time.Minute},
	AuthIP: ports.Limit{Rate: 1000, Period: 15 * time.Minute}}

// benchCredential is a test server with a claimed credential of a
// professional issuer (QR codes, so the page shows everything it can).
func benchCredential(b *testing.B) (*testServer, string) {
	b.Helper()
	s := newTestServerWith(b, benchLimits)
	owner, o := s.newIssuer("professional")
	badge := s.createBadge(owner.Token, o.ID, 365)
	recipient := uniqueEmail("bench")
	c := s.issue(owner.Token, o.ID, badge.ID, recipient)
	holder := s.signUp(recipient)
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/credentials/"+c.ID+"/claim", holder.Token, nil, nil)
	return s, c.ID
}

// benchGet runs GET path b.N times, as a visitor's browser (accept) asks
// it: through the handler alone (httptest.ResponseRecorder), then over a
// loopback connection kept alive (httptest.Server), which also counts
// how net/http writes the answer (chunked or not, in how many writes).
// It reports the body's size.
func benchGet(b *testing.B, s *testServer, path, accept string) {
	b.Run("handler", func(b *testing.B) {
		w := s.do(http.MethodGet, path, "", nil, "Accept", accept)
		if w.Code != http.StatusOK {
			b.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
		}
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequestWithContext(b.Context(), http.MethodGet, path, nil)
			req.RemoteAddr = "198.51.100.7:40000"
			req.Header.Set("Accept", accept)
			s.h.ServeHTTP(httptest.NewRecorder(), req)
		}
		b.ReportMetric(float64(w.Body.Len()), "body-bytes")
	})
	b.Run("http", func(b *testing.B) {
		srv := httptest.NewServer(s.h)
		defer srv.Close()
		client := srv.Client()
		b.ReportAllocs()
		for b.Loop() {
			req, _ := http.NewRequestWithContext(b.Context(), http.MethodGet, srv.URL+path, nil)
			req.Header.Set("Accept", accept)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("GET %s: %d", path, resp.StatusCode)
			}
		}
	})
}

// BenchmarkCredentialPage is a credential's page for a visitor, beside
// the JSON verification of the same credential and /healthz: the page
// should cost not much more than the verification it shows.
func BenchmarkCredentialPage(b *testing.B) {
	s, id := benchCredential(b)
	b.Run("page", func(b *testing.B) { benchGet(b, s, "/verify/"+id, browserAccept) })
	b.Run("card", func(b *testing.B) { benchGet(b, s, "/verify/"+id+"/card", browserAccept) })
	b.Run("verify-json", func(b *testing.B) { benchGet(b, s, "/api/v1/credentials/"+id+"/verify", "application/json") })
	b.Run("healthz", func(b *testing.B) { benchGet(b, s, "/healthz", "application/json") })
}
