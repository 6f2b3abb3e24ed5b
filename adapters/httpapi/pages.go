package httpapi

import (
	"html/template"
	"net/http"
)

// The verification link in sign-up mails opens this page. A GET only shows
// a button, so mail scanners that prefetch links do not use the token up;
// the button's POST verifies.
var verifyEmailPage = template.Must(template.New("verify").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Verify your email · Credence</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}button{font-size:1rem;padding:.6rem 1.2rem}</style>
</head><body>
<h1>Verify your email</h1>
{{if .Done}}<p>{{.Message}}</p>
{{else}}<form method="post" action="/verify-email"><input type="hidden" name="token" value="{{.Token}}">
<p>Confirm the email address of your Credence account.</p><button type="submit">Verify my email</button></form>
{{end}}</body></html>`))

func (s *server) registerPages(mux *http.ServeMux) {
	mux.HandleFunc("GET /verify-email", func(w http.ResponseWriter, r *http.Request) {
		s.renderVerify(w, http.StatusOK, map[string]any{"Token": r.URL.Query().Get("token")})
	})
	mux.HandleFunc("POST /verify-email", func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 4096)
		if err := s.Accounts.VerifyEmail(r.Context(), r.PostFormValue("token")); err != nil {
			p := s.from(r.Context(), err).(*Problem)
			s.renderVerify(w, p.Status, map[string]any{"Done": true, "Message": "This link cannot be used: " + p.Detail + ". Sign in to ask for a new one."})
			return
		}
		s.renderVerify(w, http.StatusOK, map[string]any{"Done": true, "Message": "Your email is verified. You can sign in now."})
	})
}

func (s *server) renderVerify(w http.ResponseWriter, status int, data map[string]any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	w.WriteHeader(status)
	_ = verifyEmailPage.Execute(w, data)
}
