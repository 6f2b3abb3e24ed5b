package httpapi

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/credence-dev/credence/core/domain"
)

// The browser pages are html/template files under web/: layout.html frames
// every page (head, site navigation, footer), web/pages/<name>.html
// defines its "content" (and, when it needs one, "head") template, and
// web/static holds the assets, served under /assets/<hash>/<file> so that
// a browser may keep them for a year. Nothing is loaded from elsewhere.
//
//go:embed web
var webFS embed.FS

// webCSP is the Content-Security-Policy of the pages rendered from web/:
// the site's own stylesheet and images (https images too: a badge image
// may live on the issuer's site), forms that post back here, no script
// unless a page sets its own policy, no framing.
const webCSP = "default-src 'none'; style-src 'self'; img-src 'self' https: data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// webAsset is one embedded static file.
type webAsset struct {
	body        []byte
	contentType string
	url         string // /assets/<hash>/<name>
}

// webAssets are the files of web/static by name, and the pages of
// web/pages by name, parsed once at start-up.
var webAssets, webPages, webForms = loadWeb()

// loadWeb parses web/: the assets, the pages, and which pages hold a form
// that posts a CSRF token (they name .CSRF).
func loadWeb() (map[string]webAsset, map[string]*template.Template, map[string]bool) {
	assets := map[string]webAsset{}
	static, err := fs.Sub(webFS, "web/static")
	if err != nil {
		panic(err)
	}
	err = fs.WalkDir(static, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(static, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		assets[name] = webAsset{body: body, contentType: assetType(name),
			url: "/assets/" + hex.EncodeToString(sum[:6]) + "/" + name}
		return nil
	})
	if err != nil {
		panic(err)
	}
	funcs := template.FuncMap{
		"asset": func(name string) (string, error) {
			a, ok := assets[name]
			if !ok {
				return "", fmt.Errorf("no asset %q under web/static", name)
			}
			return a.url, nil
		},
		"date": func(v any) string {
			switch t := v.(type) {
			case time.Time:
				return t.UTC().Format("2 January 2006")
			case *time.Time:
				if t != nil {
					return t.UTC().Format("2 January 2006")
				}
			}
			return ""
		},
	}
	layout := template.Must(template.New("layout").Funcs(funcs).ParseFS(webFS, "web/layout.html"))
	names, err := fs.Glob(webFS, "web/pages/*.html")
	if err != nil {
		panic(err)
	}
	pages, forms := map[string]*template.Template{}, map[string]bool{}
	for _, file := range names {
		t := template.Must(template.Must(layout.Clone()).ParseFS(webFS, file))
		name := strings.TrimSuffix(path.Base(file), ".html")
		pages[name] = t
		src, err := fs.ReadFile(webFS, file)
		if err != nil {
			panic(err)
		}
		forms[name] = bytes.Contains(src, []byte(".CSRF"))
	}
	return assets, pages, forms
}

func assetType(name string) string {
	switch path.Ext(name) {
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	}
	return "application/octet-stream"
}

// webView is what every page's templates see: the layout reads Title,
// Description and the signed-in user; the page's own "content" template
// reads Data.
type webView struct {
	Title       string
	Description string
	// User is the signed-in person's email, empty for a visitor.
	User string
	// CSRF is the token every form of the page posts back in its "csrf"
	// field; renderWeb sets it (formToken).
	CSRF string
	// CSP replaces webCSP for a page that needs more (a script of its own).
	CSP  string
	Data any
}

// renderWeb answers a page of web/pages with status. The page is rendered
// into a buffer first, so that a template error gives a clean 500 rather
// than half a page.
func (s *server) renderWeb(w http.ResponseWriter, r *http.Request, status int, page string, v webView) {
	s.render(w, r, status, page, v, false)
}

// renderCachedWeb is renderWeb for a page that is a pure function of v
// (a credential's page and card): for a visitor, the page rendered from
// the same v before is answered again (pagecache.go).
func (s *server) renderCachedWeb(w http.ResponseWriter, r *http.Request, status int, page string, v webView) {
	s.render(w, r, status, page, v, true)
}

func (s *server) render(w http.ResponseWriter, r *http.Request, status int, page string, v webView, cached bool) {
	if v.User = signedIn(r); v.User != "" || webForms[page] {
		// Only a page with a form that posts a token (the sign-out form
		// of the layout, for a signed-in person) makes one: a
		// credential's page for a visitor costs no HMAC and sets no
		// cookie.
		v.CSRF = s.formToken(w, r)
	}
	// A page that names its viewer or carries their token is theirs
	// alone: it is neither taken from the cache nor kept in it.
	var key pageKey
	cached = cached && v.User == "" && v.CSRF == ""
	if cached {
		key, cached = pageKeyOf(page, v)
	}
	if cached {
		if p, ok := s.pages.get(key); ok {
			writeKeptPage(w, r, status, v.CSP, p)
			return
		}
	}
	s.execute(w, r, status, page, v, key, cached)
}

// renderCachedBy is renderCachedWeb for a page whose view costs a good
// part of a render to build (a credential's page): the page is kept by
// the digest of source, which build turns into the view and nothing
// else does, so that a visitor's page found in the cache costs neither.
// csp is the policy build's view names.
func (s *server) renderCachedBy(w http.ResponseWriter, r *http.Request, status int, page, csp string, source any, build func() webView) {
	if signedIn(r) != "" || webForms[page] {
		s.render(w, r, status, page, build(), false)
		return
	}
	key, cached := pageKeyOf(page, source)
	if cached {
		if p, ok := s.pages.get(key); ok {
			writeKeptPage(w, r, status, csp, p)
			return
		}
	}
	s.execute(w, r, status, page, build(), key, cached)
}

// signedIn names the person signed in with r's session cookie ("you"
// when their email is not verified yet), or "" for a visitor.
func signedIn(r *http.Request) string {
	a := actorFrom(r.Context())
	switch {
	case a.UserID == "" || a.SessionID == "":
		return ""
	case a.UserEmail == "":
		return "you"
	}
	return a.UserEmail
}

// execute renders page from v and answers it, keeping it under key when
// keep.
func (s *server) execute(w http.ResponseWriter, r *http.Request, status int, page string, v webView, key pageKey, keep bool) {
	t, ok := webPages[page]
	if !ok {
		panic("httpapi: no page web/pages/" + page + ".html")
	}
	buf := renderBuffers.Get().(*bytes.Buffer)
	defer putRenderBuffer(buf)
	if err := t.ExecuteTemplate(buf, "layout", v); err != nil {
		s.log.ErrorContext(r.Context(), "render page", "page", page, "err", err)
		http.Error(w, "The page could not be shown.", http.StatusInternalServerError)
		return
	}
	if keep {
		p := newKeptPage(bytes.Clone(buf.Bytes()))
		s.pages.put(key, p)
		writeKeptPage(w, r, status, v.CSP, p)
		return
	}
	writePage(w, status, v.CSP, buf.Bytes())
}

// writeKeptPage answers a kept page, gzipped when the client accepts it.
// Every answer says Vary: Accept-Encoding, so that a shared cache keeps
// the two apart.
func writeKeptPage(w http.ResponseWriter, r *http.Request, status int, csp string, p *keptPage) {
	h := w.Header()
	h.Add("Vary", "Accept-Encoding")
	if p.gz != nil && acceptsGzip(r.Header.Values("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		writePage(w, status, csp, p.gz)
		return
	}
	writePage(w, status, csp, p.body)
}

// writePage answers a rendered page: its headers, then the whole body in
// one write, its length declared. Without Content-Length, net/http would
// send a page larger than its 2 KiB buffer chunked, in several small
// writes to the connection.
func writePage(w http.ResponseWriter, status int, csp string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", webCSP)
	if csp != "" {
		h.Set("Content-Security-Policy", csp)
	}
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// renderBuffers are the buffers pages are rendered into, kept from one
// request to the next: growing a fresh buffer to a page's several KiB
// was a good part of what rendering allocated. A Write never keeps the
// bytes it is given (io.Writer), so a buffer is free again once the page
// is written.
var renderBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledRender bounds the buffers kept in renderBuffers: one grown by
// an unusually long page (a long list on /me) is left to the collector
// rather than held for every later request.
const maxPooledRender = 64 << 10

func putRenderBuffer(buf *bytes.Buffer) {
	if buf.Cap() > maxPooledRender {
		return
	}
	buf.Reset()
	renderBuffers.Put(buf)
}

// registerAssets serves web/static under content-hash URLs: a changed
// file gets a new URL, so every answer may be cached for a year.
func (s *server) registerAssets(mux *http.ServeMux) {
	mux.HandleFunc("GET /assets/{hash}/{name}", func(w http.ResponseWriter, r *http.Request) {
		a, ok := webAssets[r.PathValue("name")]
		if !ok || a.url != r.URL.Path {
			writeProblem(w, &Problem{Status: http.StatusNotFound, Code: string(domain.CodeNotFound), Detail: "no such asset: " + r.URL.Path})
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.contentType)
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		h.Set("ETag", `"`+r.PathValue("hash")+`"`)
		if r.Header.Get("If-None-Match") == h.Get("ETag") {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write(a.body)
	})
}
