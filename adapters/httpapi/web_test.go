package httpapi

import (
	"net/http"
	"regexp"
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
