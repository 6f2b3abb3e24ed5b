package httpapi

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// /docs is the API reference from embedded assets: the page and what it
// loads come from this server, its Content-Security-Policy allows no
// other origin, and it reads /openapi.json.
func TestDocsWorkOffline(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	w := s.do(http.MethodGet, "/docs", "", nil)
	page := w.Body.String()
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") ||
		!strings.Contains(page, `<elements-api apiDescriptionUrl="/openapi.json"`) {
		t.Fatalf("/docs: %d %v\n%s", w.Code, w.Header(), page)
	}
	csp := w.Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "http") || strings.Contains(csp, "*") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP %q allows another origin or eval", csp)
	}
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") || strings.Contains(page, "//unpkg") {
		t.Errorf("the page names an external URL:\n%s", page)
	}

	// Every script and style sheet it loads is ours, cached for good.
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) != 2 {
		t.Fatalf("the page loads %d assets, want the script and the style sheet: %q", len(refs), refs)
	}
	for _, ref := range refs {
		u := ref[1]
		if !strings.HasPrefix(u, "/docs/assets/") {
			t.Fatalf("asset %q is not served here", u)
		}
		a := s.do(http.MethodGet, u, "", nil)
		if a.Code != http.StatusOK || a.Body.Len() < 10000 || a.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Fatalf("%s: %d, %d bytes, %v", u, a.Code, a.Body.Len(), a.Header())
		}
		body := a.Body.String()
		switch {
		case strings.HasSuffix(u, ".js"):
			if !strings.HasPrefix(a.Header().Get("Content-Type"), "text/javascript") || !strings.Contains(body, "elements-api") {
				t.Errorf("%s: %s, not the Elements bundle", u, a.Header().Get("Content-Type"))
			}
		case strings.HasSuffix(u, ".css"):
			if !strings.HasPrefix(a.Header().Get("Content-Type"), "text/css") {
				t.Errorf("%s: %s", u, a.Header().Get("Content-Type"))
			}
			// A style sheet loads fonts and images by url() and @import.
			if m := regexp.MustCompile(`(?i)(url\(\s*['"]?(https?:)?//|@import)`).FindString(body); m != "" {
				t.Errorf("%s loads from elsewhere: %q", u, m)
			}
		default:
			t.Errorf("unexpected asset %s", u)
		}
	}
	wantProblem(t, s.do(http.MethodGet, "/docs/assets/000000000000/web-components.min.js", "", nil), http.StatusNotFound, "NOT_FOUND")
	if w := s.do(http.MethodGet, "/openapi.json", "", nil); w.Code != http.StatusOK {
		t.Fatalf("/openapi.json: %d", w.Code)
	}
}
