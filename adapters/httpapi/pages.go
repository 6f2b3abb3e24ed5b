package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/credence-dev/credence/core/domain"
)

// registerPages serves the browser pages: the ones the links of account
// mails open (email verification, password reset), the account pages
// (web_accounts.go) and the recipient's (web_me.go). The verification
// link's GET only shows a button, so mail scanners that prefetch links do
// not use the token up; the button's POST verifies. Every form is taken
// through handleForm (CSRF).
func (s *server) registerPages(mux *http.ServeMux) {
	mux.HandleFunc("GET /verify-email", func(w http.ResponseWriter, r *http.Request) {
		s.renderWeb(w, r, http.StatusOK, "verify-email", webView{Title: "Verify your email",
			Data: map[string]any{"Token": r.URL.Query().Get("token")}})
	})
	s.handleForm(mux, "/verify-email", func(w http.ResponseWriter, r *http.Request) {
		if err := s.Accounts.VerifyEmail(r.Context(), r.PostForm.Get("token")); err != nil {
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
	s.registerAccountPages(mux)
	s.registerMyPages(mux)
}

// The reset link of password-reset mails opens this page: a GET shows the
// form (using nothing up), its POST sets the password.
func (s *server) registerResetPage(mux *http.ServeMux) {
	const title = "Choose a new password"
	mux.HandleFunc("GET /reset-password", func(w http.ResponseWriter, r *http.Request) {
		s.renderWeb(w, r, http.StatusOK, "reset-password", webView{Title: title, Data: formView{Token: r.URL.Query().Get("token")}})
	})
	s.handleForm(mux, "/reset-password", func(w http.ResponseWriter, r *http.Request) {
		view := formView{Token: r.PostForm.Get("token")}
		if err := s.Accounts.ConfirmPasswordReset(r.Context(), view.Token, r.PostForm.Get("password")); err != nil {
			p := s.problemOf(r.Context(), err)
			msg := sentence(p.Detail)
			for _, f := range p.Errors {
				msg = sentence(f.Message)
			}
			// A refused password leaves the token usable: show the form again.
			view.Done = p.Code == string(domain.CodeInvalidToken)
			switch {
			case view.Done:
				msg = "This link cannot be used: " + p.Detail + ". Ask for a new one on the “Forgot your password?” page."
			case p.Status == http.StatusServiceUnavailable:
				msg = unavailablePage
			}
			view.Message = msg
			s.renderWeb(w, r, p.Status, "reset-password", webView{Title: title, Data: view})
			return
		}
		s.renderWeb(w, r, http.StatusOK, "reset-password", webView{Title: title, Data: formView{Done: true,
			Message: "Your password is changed and every session was signed out. Sign in with the new password."}})
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
