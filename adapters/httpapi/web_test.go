package httpapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Pages link their stylesheet under a content-hash URL that a browser may
// keep for a year, and answer with the pages' Content-Security-Policy.
func TestPagesServeTheirAssets(t *testing.T) {
	s := newTestServer(t)
	w := s.do("GET", "/verify-email?token=abc", "", nil)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `value="abc"`) {
		t.Fatalf("verify-email page: %d %s", w.Code, w.Body)
	}
	if csp := w.Header().Get("Content-Security-Policy"); csp != webCSP {
		t.Fatalf("CSP %q, want %q", csp, webCSP)
	}
	m := regexp.MustCompile(`href="(/assets/[0-9a-f]{12}/site\.css)"`).FindStringSubmatch(w.Body.String())
	if m == nil {
		t.Fatalf("no stylesheet link in %s", w.Body)
	}
	css := s.do("GET", m[1], "", nil)
	if css.Code != http.StatusOK || css.Header().Get("Content-Type") != "text/css; charset=utf-8" ||
		!strings.Contains(css.Header().Get("Cache-Control"), "immutable") || !strings.Contains(css.Body.String(), "360 px") {
		t.Fatalf("stylesheet: %d %v", css.Code, css.Header())
	}
	if again := s.do("GET", m[1], "", nil, "If-None-Match", css.Header().Get("ETag")); again.Code != http.StatusNotModified {
		t.Fatalf("revalidation: %d, want 304", again.Code)
	}
	// An old hash is not served the new file.
	if old := s.do("GET", "/assets/000000000000/site.css", "", nil); old.Code != http.StatusNotFound {
		t.Fatalf("stale asset URL: %d, want 404", old.Code)
	}
}

// Every page is sent whole with its Content-Length: over a connection,
// not chunked; the cached credential page and card as the rendered ones.
func TestPagesDeclareTheirLength(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer("")
	c := s.issue(owner.Token, o.ID, s.createBadge(owner.Token, o.ID, 0).ID, uniqueEmail("length"))
	srv := httptest.NewServer(s.h)
	t.Cleanup(srv.Close)
	for _, p := range []struct {
		path   string
		status int
	}{
		{"/verify/" + c.ID, http.StatusOK}, {"/verify/" + c.ID, http.StatusOK}, // rendered, then from the cache
		{"/verify/" + c.ID + "/card", http.StatusOK}, {"/verify/" + c.ID + "/card", http.StatusOK},
		{"/credentials/" + c.ID, http.StatusOK}, {"/verify", http.StatusOK}, {"/signin", http.StatusOK},
		{"/verify/CRD-NOTFOUND", http.StatusNotFound},
	} {
		// Set outright, Accept-Encoding keeps the client from
		// unzipping: the length is the gzipped body's.
		for _, encoding := range []string{"gzip", "identity"} {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+p.path, nil)
			req.Header.Set("Accept", browserAccept)
			req.Header.Set("Accept-Encoding", encoding)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != p.status || len(resp.TransferEncoding) > 0 || resp.ContentLength != int64(len(body)) ||
				resp.Header.Get("Content-Length") != strconv.Itoa(len(body)) {
				t.Errorf("GET %s (%s): %d, Transfer-Encoding %v, Content-Length %s for %d bytes; want %d, not chunked, the body's length",
					p.path, encoding, resp.StatusCode, resp.TransferEncoding, resp.Header.Get("Content-Length"), len(body), p.status)
			}
		}
	}
	// A signed-in page, and one with a form, too.
	b := s.browser()
	b.signIn(owner.Email, "/me")
	for _, path := range []string{"/me", "/verify/" + c.ID} {
		w := b.get(path, "Accept", browserAccept)
		if body := wantHTML(t, w, http.StatusOK); w.Header().Get("Content-Length") != strconv.Itoa(len(body)) {
			t.Errorf("GET %s signed in: Content-Length %s for %d bytes", path, w.Header().Get("Content-Length"), len(body))
		}
	}
	w := b.post("/signin", url.Values{"email": {"nobody@example.com"}, "password": {"wrong password"}})
	if w.Header().Get("Content-Length") != strconv.Itoa(w.Body.Len()) {
		t.Errorf("POST /signin refused: Content-Length %s for %d bytes", w.Header().Get("Content-Length"), w.Body.Len())
	}
}
