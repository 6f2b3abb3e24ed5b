package httpapi

import (
	"errors"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
)

// The human verification pages: /verify (look up an ID or paste a signed
// file) and /verify/{credentialId} (the result with every check). They
// show the same verification as the API.
var verifyPages = template.Must(template.New("layout").Funcs(template.FuncMap{
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
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}} · Credence</title>
<style>
body{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#1d2329}
.result{display:inline-block;padding:.3rem .8rem;border-radius:1rem;font-weight:600;color:#fff}
.valid{background:#1a7f37}.pending{background:#0969da}.expired,.revoked{background:#9a6700}.invalid{background:#cf222e}
ul.checks{list-style:none;padding:0}ul.checks li{margin:.4rem 0}.ok{color:#1a7f37}.bad{color:#cf222e}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}dt{font-weight:600}
textarea{width:100%;min-height:8rem;font-family:monospace}input[type=text]{width:16rem;font-size:1rem;padding:.3rem}
.notice{background:#fff8c5;padding:.8rem;border-radius:.4rem}
.test{background:#cf222e;color:#fff;padding:.8rem;border-radius:.4rem;font-weight:600}
</style></head><body>
{{if .Lookup}}
<h1>Verify a credential</h1>
{{if .Error}}<p class="notice">{{.Error}}</p>{{end}}
<form method="get" action="/verify"><p><label>Credential ID <input type="text" name="id" placeholder="CRD-XXXXXXXX" pattern="CRD-[A-Za-z0-9]{8}" required></label>
<button type="submit">Verify</button></p></form>
<h2>Or check a signed credential file</h2>
<form method="post" action="/verify"><p><textarea name="credential" placeholder="eyJhbGciOi…" required></textarea></p><button type="submit">Check the file</button></form>
{{else if .Private}}
<h1>Private credential</h1>
<p class="notice">This credential is private: only its recipient and its issuer can see it.</p>
{{else}}{{with .V}}
<h1>{{if .Credential}}{{if .Credential.Test}}TEST: {{end}}{{.Credential.Badge.Name}}{{else}}Signed credential{{end}}</h1>
<p><span class="result {{.Result}}">{{.Result}}</span></p>
{{if and .Credential .Credential.Test}}<p class="test" id="test-credential">TEST credential: issued with a test API key to try out an integration. It is not a real award and proves nothing about its recipient.</p>{{end}}
{{with .Credential}}
<dl>
<dt>Recipient</dt><dd>{{.Recipient.Name}} ({{.Recipient.Email}})</dd>
<dt>Issuer</dt><dd><a href="{{.Issuer.Profile}}">{{.Issuer.Name}}</a> ({{.Issuer.Status}})</dd>
<dt>Credential ID</dt><dd>{{.ID}}{{if .Test}} — TEST{{end}}</dd>
<dt>Issued</dt><dd>{{date .IssuedAt}}</dd>
{{if .ExpiresAt}}<dt>Expires</dt><dd>{{date .ExpiresAt}}</dd>{{end}}
{{if .ClaimedAt}}<dt>Claimed</dt><dd>{{date .ClaimedAt}}</dd>{{end}}
{{if .RevokedAt}}<dt>Revoked</dt><dd>{{date .RevokedAt}}: {{.RevocationReason}}</dd>{{end}}
{{if .SupersedesCredentialID}}<dt>Supersedes</dt><dd><a href="/verify/{{.SupersedesCredentialID}}">{{.SupersedesCredentialID}}</a></dd>{{end}}
{{if .SupersededByCredentialID}}<dt>Superseded by</dt><dd><a href="/verify/{{.SupersededByCredentialID}}">{{.SupersededByCredentialID}}</a></dd>{{end}}
<dt>Description</dt><dd>{{.Badge.Description}}</dd>
<dt>Criteria</dt><dd>{{.Badge.Criteria}}</dd>
</dl>
<p><a href="/credentials/{{.ID}}.jwt">Download the signed file (.jwt)</a> · <a href="/credentials/{{.ID}}">JSON</a></p>
{{end}}
<h2>Checks</h2>
<ul class="checks">{{range .Checks}}<li><span class="{{if .OK}}ok{{else}}bad{{end}}">{{if .OK}}✓{{else}}✗{{end}} {{.Name}}</span> — {{.Detail}}</li>{{end}}</ul>
{{end}}{{end}}
<p><a href="/verify">Verify another credential</a></p>
</body></html>`))

type verifyPageData struct {
	Title   string
	Lookup  bool
	Private bool
	Error   string
	V       *verificationWire
}

func (s *server) registerVerifyPages(mux *http.ServeMux) {
	mux.HandleFunc("GET /verify", func(w http.ResponseWriter, r *http.Request) {
		if id := strings.ToUpper(strings.TrimSpace(r.URL.Query().Get("id"))); id != "" {
			http.Redirect(w, r, "/verify/"+id, http.StatusSeeOther)
			return
		}
		s.renderVerifyPage(w, http.StatusOK, verifyPageData{Title: "Verify a credential", Lookup: true})
	})
	mux.HandleFunc("POST /verify", func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 80<<10)
		v, err := s.Credentials.VerifyPresented(r.Context(), []byte(r.PostFormValue("credential")))
		if err != nil {
			p := s.problemOf(r.Context(), err)
			d := verifyPageData{Title: "Verify a credential", Lookup: true,
				Error: "That is not a signed credential file: paste the whole contents of the .jwt file."}
			if p.Status == http.StatusServiceUnavailable {
				d.Error = unavailablePage
			}
			s.renderVerifyPage(w, p.Status, d)
			return
		}
		s.renderVerification(w, v)
	})
	mux.HandleFunc("GET /verify/{credentialId}", func(w http.ResponseWriter, r *http.Request) {
		v, err := s.Credentials.Verify(r.Context(), actorFrom(r.Context()), domain.CredentialID(r.PathValue("credentialId")))
		switch {
		case errors.Is(err, domain.ErrCredentialPrivate):
			s.renderVerifyPage(w, http.StatusForbidden, verifyPageData{Title: "Private credential", Private: true})
		case err != nil:
			p := s.problemOf(r.Context(), err)
			d := verifyPageData{Title: "Not found", Lookup: true,
				Error: "No credential has the ID " + r.PathValue("credentialId") + ". Check it: IDs look like CRD-ZBUYQMTA."}
			if p.Status == http.StatusServiceUnavailable {
				d.Title, d.Error = "Unavailable", unavailablePage
			}
			s.renderVerifyPage(w, p.Status, d)
		default:
			s.renderVerification(w, v)
		}
	})
}

func (s *server) renderVerification(w http.ResponseWriter, v credentials.Verification) {
	wire := s.verificationWire(v)
	d := verifyPageData{Title: "Verification", V: &wire}
	if v.Credential != nil {
		d.Title = v.Badge.Name
		if v.Credential.Test {
			d.Title = credentials.TestNamePrefix + d.Title
		}
	}
	s.renderVerifyPage(w, http.StatusOK, d)
}

func (s *server) renderVerifyPage(w http.ResponseWriter, status int, d verifyPageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", pageCSP)
	w.WriteHeader(status)
	if err := verifyPages.Execute(w, d); err != nil {
		s.log.Error("render verification page", "err", err)
	}
}
