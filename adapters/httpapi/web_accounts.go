package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/credence-dev/credence/core/accounts"
	"github.com/credence-dev/credence/core/domain"
)

// The account pages: sign-up, sign-in (the password, then the mailed code
// when the account needs one), sign-out, forgotten password, and the
// pages the account mails link to (verify-email, reset-password). Each
// calls the same core operation as its API twin, so the lock-out, the
// sign-in budget, the mail-request limits and the enumeration rules are
// the API's; the sign-up, forgotten-password and retrieve forms count
// against Limits.AuthIP like their operations (pageLimit).

// formView is the data of a page with one form: the values to show again
// and what went wrong.
type formView struct {
	Email, Name string
	Next        string
	Token       string // the mailed link's token
	Challenge   string // the MFA challenge of a sign-in
	Message     string // what went wrong (or, with Done, what happened)
	Fields      map[string]string
	Done        bool
}

// pageError is how a page tells err: the status of its API twin (with
// its Retry-After), and a sentence for a person instead of the problem's
// code.
func (s *server) pageError(w http.ResponseWriter, r *http.Request, err error) (int, string, map[string]string) {
	mapped := s.from(r.Context(), err)
	if he, ok := errors.AsType[huma.HeadersError](mapped); ok {
		for k, vs := range he.GetHeaders() {
			for _, v := range vs {
				w.Header().Set(k, v)
			}
		}
	}
	p := asProblem(mapped)
	var fields map[string]string
	for _, f := range p.Errors {
		if fields == nil {
			fields = map[string]string{}
		}
		fields[strings.TrimPrefix(f.Location, "body.")] = sentence(f.Message)
	}
	msg := sentence(p.Detail)
	switch p.Code {
	case string(domain.CodeValidation):
		msg = "Please correct what is marked below."
	case string(domain.CodeUnauthenticated):
		msg = "The email or password is wrong."
	case string(domain.CodeMFAInvalid):
		msg = "That code is wrong or has expired. Check the latest mail, or sign in again for a new code."
	case string(domain.CodeEmailNotVerified):
		msg = "Your email address is not verified yet: open the link we mailed you. If it expired, choose “Forgot your password?” — a reset verifies the address too."
	case string(domain.CodeAccountLocked):
		msg = "Too many failed sign-ins: this account is locked" + until(p.RetryAt) +
			". Browsers you signed in with before can still sign in; or reset your password to unlock it now."
	case string(domain.CodeRateLimited):
		msg = "Too many attempts from here. Please wait" + wait(p.RetryAt) + " and try again."
	case string(domain.CodeEmailMismatch):
		msg = "This credential was issued to another email address than the one you are signed in with."
	case string(domain.CodeAlreadyClaimed):
		msg = "You have already claimed this credential."
	case string(domain.CodeUnavailable):
		msg = unavailablePage
	case "INTERNAL":
		msg = "Something went wrong on our side; it was logged. Please try again later."
	}
	return p.Status, msg, fields
}

// sentence makes a problem's lowercase detail a sentence.
func sentence(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

func until(at *time.Time) string {
	if at == nil {
		return ""
	}
	return " until " + at.UTC().Format("15:04") + " UTC"
}

func wait(at *time.Time) string {
	if at == nil {
		return " a while"
	}
	d := time.Until(*at)
	if d <= time.Minute {
		return " a minute"
	}
	return fmt.Sprintf(" %d minutes", int(d.Round(time.Minute)/time.Minute))
}

func (s *server) registerAccountPages(mux *http.ServeMux) {
	mux.HandleFunc("GET /signup", func(w http.ResponseWriter, r *http.Request) {
		s.renderWeb(w, r, http.StatusOK, "signup", webView{Title: "Create your account", Data: formView{}})
	})
	s.handleForm(mux, "/signup", func(w http.ResponseWriter, r *http.Request) {
		in := accounts.SignUpInput{Email: r.PostForm.Get("email"), Password: r.PostForm.Get("password"), Name: r.PostForm.Get("name")}
		view := formView{Email: in.Email, Name: in.Name}
		err := s.pageLimit(w, r)
		if err == nil {
			err = s.Accounts.SignUp(r.Context(), in)
		}
		if err != nil {
			status, msg, fields := s.pageError(w, r, err)
			view.Message, view.Fields = msg, fields
			s.renderWeb(w, r, status, "signup", webView{Title: "Create your account", Data: view})
			return
		}
		s.renderWeb(w, r, http.StatusCreated, "message", webView{Title: "Check your inbox", Data: messageView{Heading: "Check your inbox",
			Message: "We mailed a link to " + domain.NormalizeEmail(in.Email) + ". Open it to verify your address, then sign in."}})
	})

	mux.HandleFunc("GET /signin", func(w http.ResponseWriter, r *http.Request) {
		s.renderWeb(w, r, http.StatusOK, "signin", webView{Title: "Sign in", Data: formView{Next: localPath(r.URL.Query().Get("next"))}})
	})
	s.handleForm(mux, "/signin", func(w http.ResponseWriter, r *http.Request) {
		view := formView{Email: r.PostForm.Get("email"), Next: localPath(r.PostForm.Get("next"))}
		tok, err := s.Accounts.Login(r.Context(), accounts.LoginInput{Email: view.Email, Password: r.PostForm.Get("password"),
			DeviceToken: deviceOf(r)}, clientFrom(r.Context()))
		if err != nil {
			status, msg, _ := s.pageError(w, r, err)
			view.Message = msg
			s.renderWeb(w, r, status, "signin", webView{Title: "Sign in", Data: view})
			return
		}
		s.signedIn(w, r, tok, view)
	})
	s.handleForm(mux, "/signin/code", func(w http.ResponseWriter, r *http.Request) {
		view := formView{Challenge: r.PostForm.Get("challenge"), Next: localPath(r.PostForm.Get("next"))}
		tok, err := s.Accounts.VerifyMFA(r.Context(), view.Challenge, strings.TrimSpace(r.PostForm.Get("code")), clientFrom(r.Context()))
		if err != nil {
			status, msg, _ := s.pageError(w, r, err)
			view.Message = msg
			s.renderWeb(w, r, status, "signin-code", webView{Title: "Enter your sign-in code", Data: view})
			return
		}
		s.signedIn(w, r, tok, view)
	})
	s.handleForm(mux, "/signout", func(w http.ResponseWriter, r *http.Request) {
		if token, ok := sessionCookieOf(r); ok {
			if err := s.Accounts.Logout(r.Context(), token); err != nil && !errors.Is(err, domain.ErrUnauthenticated) {
				status, msg, _ := s.pageError(w, r, err)
				s.renderWeb(w, r, status, "message", webView{Title: "Sign out", Data: messageView{Heading: "Sign out", Message: msg, Error: true}})
				return
			}
		}
		s.endSession(w)
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
	})

	s.mailForm(mux, "/forgot-password", "forgot-password", "Forgot your password?", s.Accounts.RequestPasswordReset,
		"If that address has an account, a link to choose a new password is on its way. It works once, for 1 hour.")
	s.mailForm(mux, "/retrieve", "retrieve", "Find my credentials", s.Accounts.RequestCredentialLinks,
		"If credentials were issued to that address, a mail with their links is on its way.")
}

// signedIn finishes a sign-in: the code form when the account needs its
// mailed code, else the session cookie and the way back to where the
// person was going.
func (s *server) signedIn(w http.ResponseWriter, r *http.Request, tok accounts.SessionToken, view formView) {
	if tok.MFAChallenge != "" {
		view.Challenge, view.Email = tok.MFAChallenge, ""
		s.renderWeb(w, r, http.StatusOK, "signin-code", webView{Title: "Enter your sign-in code", Data: view})
		return
	}
	s.startSession(w, tok)
	http.Redirect(w, r, view.Next, http.StatusSeeOther)
}

// mailForm serves a page whose form asks for a mail to an address
// (request), with one answer whatever the address (done), as its API
// twin does.
func (s *server) mailForm(mux *http.ServeMux, path, page, title string, request func(context.Context, string) error, done string) {
	mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
		s.renderWeb(w, r, http.StatusOK, page, webView{Title: title, Data: formView{Email: r.URL.Query().Get("email")}})
	})
	s.handleForm(mux, path, func(w http.ResponseWriter, r *http.Request) {
		view := formView{Email: r.PostForm.Get("email")}
		err := s.pageLimit(w, r)
		if err == nil {
			err = request(r.Context(), view.Email)
		}
		if err != nil {
			status, msg, fields := s.pageError(w, r, err)
			view.Message, view.Fields = msg, fields
			s.renderWeb(w, r, status, page, webView{Title: title, Data: view})
			return
		}
		view.Done, view.Message = true, done
		s.renderWeb(w, r, http.StatusAccepted, page, webView{Title: title, Data: view})
	})
}

// signInPath is the sign-in page returning to next.
func signInPath(next string) string { return "/signin?next=" + url.QueryEscape(next) }

// toSignIn sends a visitor to sign in and come back to next; a session
// cookie that no longer authenticates (expired, signed out elsewhere) is
// deleted on the way.
// pageUser returns the signed-in person of a page that needs one. A
// visitor is sent to sign in (next: where to come back to); when the
// session could not be looked up at all, the page says the service is
// unavailable (503) and the session cookie is kept.
func (s *server) pageUser(w http.ResponseWriter, r *http.Request, next string) (domain.Actor, bool) {
	actor, err := pageActor(r.Context())
	if err != nil {
		s.renderWeb(w, r, http.StatusServiceUnavailable, "message", webView{Title: "Unavailable",
			Data: messageView{Heading: "Unavailable", Message: unavailablePage, Error: true, Link: r.URL.Path, LinkText: "Try again"}})
		return actor, false
	}
	if actor.SessionID == "" {
		s.toSignIn(w, r, next)
		return actor, false
	}
	return actor, true
}

func (s *server) toSignIn(w http.ResponseWriter, r *http.Request, next string) {
	if callerOf(r.Context()).cookie {
		http.SetCookie(w, s.cookie(sessionCookie, "", -1))
	}
	http.Redirect(w, r, signInPath(next), http.StatusSeeOther)
}
