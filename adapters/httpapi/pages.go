package httpapi

import (
	"context"
	"errors"
	"html/template"
	"net/http"

	"github.com/credence-dev/credence/core/domain"
)

// registerPages serves the pages the links of account mails open: email
// verification and password reset. The verification link's GET only
// shows a button, so mail scanners that prefetch links do not use the
// token up; the button's POST verifies.
func (s *server) registerPages(mux *http.ServeMux) {
	mux.HandleFunc("GET /verify-email", func(w http.ResponseWriter, r *http.Request) {
		s.renderWeb(w, r, http.StatusOK, "verify-email", webView{Title: "Verify your email",
			Data: map[string]any{"Token": r.URL.Query().Get("token")}})
	})
	mux.HandleFunc("POST /verify-email", func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 4096)
		if err := s.Accounts.VerifyEmail(r.Context(), r.PostFormValue("token")); err != nil {
			p := s.problemOf(r.Context(), err)
			msg := "This link cannot be used: " + p.Detail + ". Sign in to ask for a new one."
			if p.Status == http.StatusServiceUnavailable { // the link still works
				msg = unavailablePage
			}
			s.renderWeb(w, r, p.Status, "verify-email", webView{Title: "Verify your email", Data: map[string]any{"Done": true, "Message": msg}})
			return
		}
		s.renderWeb(w, r, http.StatusOK, "verify-email", webView{Title: "Verify your email",
			Data: map[string]any{"Done": true, "Verified": true, "Message": "Your email is verified. You can sign in now."}})
	})
	s.registerResetPage(mux)
}

// The reset link of password-reset mails opens this page: a GET shows the
// form (using nothing up), its POST sets the password.
var resetPasswordPage = template.Must(template.New("reset").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Choose a new password · Credence</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}input,button{font-size:1rem;padding:.5rem;margin:.3rem 0}</style>
</head><body>
<h1>Choose a new password</h1>
{{if .Message}}<p>{{.Message}}</p>{{end}}
{{if not .Done}}<form method="post" action="/reset-password"><input type="hidden" name="token" value="{{.Token}}">
<label>New password<br><input type="password" name="password" minlength="10" maxlength="256" autocomplete="new-password" required></label><br>
<p>At least 10 characters, not your email address, not a common password. Every session is signed out.</p>
<button type="submit">Set my password</button></form>
{{end}}</body></html>`))

func (s *server) registerResetPage(mux *http.ServeMux) {
	mux.HandleFunc("GET /reset-password", func(w http.ResponseWriter, r *http.Request) {
		s.renderPage(w, resetPasswordPage, http.StatusOK, map[string]any{"Token": r.URL.Query().Get("token")})
	})
	mux.HandleFunc("POST /reset-password", func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 4096)
		token := r.PostFormValue("token")
		if err := s.Accounts.ConfirmPasswordReset(r.Context(), token, r.PostFormValue("password")); err != nil {
			p := s.problemOf(r.Context(), err)
			msg := p.Detail
			for _, f := range p.Errors {
				msg = f.Message
			}
			// A refused password leaves the token usable: show the form again.
			done := p.Code == string(domain.CodeInvalidToken)
			switch {
			case done:
				msg = "This link cannot be used: " + msg + ". Ask for a new one from the sign-in page."
			case p.Status == http.StatusServiceUnavailable:
				msg = unavailablePage
			}
			s.renderPage(w, resetPasswordPage, p.Status, map[string]any{"Token": token, "Done": done, "Message": msg})
			return
		}
		s.renderPage(w, resetPasswordPage, http.StatusOK, map[string]any{"Done": true, "Message": "Your password is changed and every session was signed out. Sign in with the new password."})
	})
}

// problemOf is the problem err maps to, headers aside.
func (s *server) problemOf(ctx context.Context, err error) *Problem {
	return asProblem(s.from(ctx, err))
}

// asProblem unwraps the problem of a mapped error (which may carry headers).
func asProblem(mapped error) *Problem {
	var p *Problem
	if !errors.As(mapped, &p) {
		p = &Problem{Status: http.StatusInternalServerError, Title: http.StatusText(http.StatusInternalServerError), Code: "INTERNAL", Detail: "an internal error occurred"}
	}
	return p
}

func (s *server) renderPage(w http.ResponseWriter, page *template.Template, status int, data map[string]any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", pageCSP)
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_ = page.Execute(w, data)
}
