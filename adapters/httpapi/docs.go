package httpapi

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"net/http"
)

// The API reference at /docs is Stoplight Elements, vendored under
// docsui/elements (see VENDORED.md there) and embedded, so that the docs
// work without internet access: huma's own /docs loads the same UI from a
// CDN. The assets are served under /docs/assets/<hash>/<file>, cached for
// a year.
//
//go:embed docsui
var docsFS embed.FS

// docsCSP allows exactly what the page needs: its own script and style
// sheet (the components also set inline styles), the OpenAPI document and
// "try it" requests to this origin, nothing else; no forms, no framing,
// and a sandbox that keeps scripts and the same origin only.
const docsCSP = "default-src 'none'; base-uri 'none'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; " +
	"sandbox allow-same-origin allow-scripts; script-src 'self'; style-src 'self' 'unsafe-inline'"

// docsAsset is one vendored file served under its content hash.
type docsAsset struct {
	body        []byte
	contentType string
	url         string
}

// docsAssets are the vendored files by URL, and docsPage the rendered page.
var docsAssets, docsPage = loadDocs()

func loadDocs() (map[string]docsAsset, []byte) {
	assets := map[string]docsAsset{}
	urls := map[string]string{}
	for name, contentType := range map[string]string{
		"web-components.min.js": "text/javascript; charset=utf-8",
		"styles.min.css":        "text/css; charset=utf-8",
	} {
		body, err := docsFS.ReadFile("docsui/elements/" + name)
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(body)
		a := docsAsset{body: body, contentType: contentType, url: "/docs/assets/" + hex.EncodeToString(sum[:6]) + "/" + name}
		assets[a.url] = a
		urls[name] = a.url
	}
	page := template.Must(template.ParseFS(docsFS, "docsui/index.html"))
	var b bytes.Buffer
	if err := page.Execute(&b, struct{ Script, Styles string }{urls["web-components.min.js"], urls["styles.min.css"]}); err != nil {
		panic(err)
	}
	return assets, b.Bytes()
}

// registerDocs serves /docs and its assets.
func (s *server) registerDocs(mux *http.ServeMux) {
	mux.HandleFunc("GET /docs", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", docsCSP)
		h.Set("Cache-Control", "no-cache")
		_, _ = w.Write(docsPage)
	})
	mux.HandleFunc("GET /docs/assets/{hash}/{file}", func(w http.ResponseWriter, r *http.Request) {
		a, ok := docsAssets[r.URL.Path]
		if !ok {
			writeProblem(w, &Problem{Status: http.StatusNotFound, Code: codeOfStatus[http.StatusNotFound], Detail: "not found"})
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.contentType)
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		_, _ = w.Write(a.body)
	})
}
