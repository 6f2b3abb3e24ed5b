package httpapi

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/domain"
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

// BenchmarkCredentialPageKey compares what the page cache costs on every
// request (the key: encoding the view and its digest) with what it saves
// (rendering the page).
func BenchmarkCredentialPageKey(b *testing.B) {
	v := webView{Title: "Cloud Architect", Description: "Cloud Architect, awarded to Ada Lovelace by Academy on 2 December 2026. Valid.",
		CSP: credentialCSP, Data: sampleCredentialData()}
	b.Run("key", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := pageKeyOf("credential", v); !ok {
				b.Fatal("no key")
			}
		}
	})
	b.Run("render", func(b *testing.B) {
		b.ReportAllocs()
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			if err := webPages["credential"].ExecuteTemplate(&buf, "layout", v); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// sampleCredentialData is the data of a valid credential's page, with
// every section shown.
func sampleCredentialData() *credentialData {
	issued := time.Date(2026, 12, 2, 14, 54, 35, 0, time.UTC)
	expires, claimed := issued.AddDate(1, 0, 0), issued.Add(time.Hour)
	c := &publicCredential{ID: "CRD-P6PW4W9E", Status: "valid", IssuedAt: issued, ExpiresAt: &expires, ClaimedAt: &claimed, Public: true,
		VerificationURL: "https://credence.test/verify/CRD-P6PW4W9E", CredentialURL: "https://credence.test/credentials/CRD-P6PW4W9E"}
	c.Recipient.Name, c.Recipient.Email = "Ada Lovelace", "a***@example.com"
	c.Badge.Name, c.Badge.ImageURL = "Cloud Architect", "https://issuer.example.com/b.png"
	c.Badge.Description = "Designs, deploys and runs systems on public clouds, securely and at a sensible cost."
	c.Badge.Criteria = "Passed the architecture exam and delivered a reviewed project."
	c.Issuer.ID, c.Issuer.Name, c.Issuer.Slug, c.Issuer.Status = "did:web:credence.test:issuers:academy", "Academy", "academy", "approved"
	d := &credentialData{Title: c.Badge.Name, Summary: "Cloud Architect, awarded to Ada Lovelace by Academy on 2 December 2026. Valid.",
		Result: "valid", C: c, ImageURL: c.Badge.ImageURL, IssuerPath: "/issuers/academy", BadgePath: "/achievements/academy/cloud-architect",
		Banner: banner{Class: "valid", Label: "Valid", Text: "Genuine and current: issued by Academy and claimed by its recipient."}}
	for _, ch := range []domain.Check{
		{Name: domain.CheckSignature, OK: true, Detail: "signed by did:web:credence.test:issuers:academy#key-1 (ES256, active key)"},
		{Name: domain.CheckIntegrity, OK: true, Detail: "the signed document matches the issuer's record"},
		{Name: domain.CheckExpiry, OK: true, Detail: "valid until 2027-12-02T14:54:35Z"},
		{Name: domain.CheckRevocation, OK: true, Detail: "not revoked"},
		{Name: domain.CheckIssuer, OK: true, Detail: "Academy is an approved issuer; domain not verified"},
	} {
		d.Checks = append(d.Checks, plainCheck(ch))
	}
	d.Share = &shareData{PageURL: c.VerificationURL, JWT: "/credentials/CRD-P6PW4W9E.jwt", JSON: "/credentials/CRD-P6PW4W9E.json",
		PNG: "/credentials/CRD-P6PW4W9E.png", LinkedIn: linkedInURL(c),
		EmbedHTML:  `<a href="https://credence.test/verify/CRD-P6PW4W9E"><img src="https://issuer.example.com/b.png" alt="Cloud Architect, issued by Academy" width="120"></a>`,
		EmbedFrame: `<iframe src="https://credence.test/verify/CRD-P6PW4W9E/card" title="Cloud Architect: verified credential" width="360" height="190" style="border:0" loading="lazy"></iframe>`,
		QRSVG:      "/credentials/CRD-P6PW4W9E/qr.svg", QRPNG: "/credentials/CRD-P6PW4W9E/qr.png"}
	return d
}
