package httpapi

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/credence-dev/credence/core/accounts"
	"github.com/credence-dev/credence/core/domain"
)

// Browser sessions (docs/browser-sessions.md). A person who signs in
// through the pages gets a session of the same store as the API's
// session tokens, carried in a cookie instead of an Authorization header.
// Three cookies, all HttpOnly (no script reads them), SameSite=Lax (not
// sent with another site's POSTs, nor its subresource requests), Path=/,
// and Secure when the public URL is https:
//   - credence_session: the session token. It counts as the caller's token
//     only outside /api/v1 (sessionCookieCounts): the JSON API stays
//     bearer-only, so no other site can make a browser call it.
//   - credence_device: the device token of the last sign-in, sent back
//     with the next one, so that a lock-out of the email set off by
//     strangers does not lock this browser out (accounts.Login).
//   - credence_form: a random value the forms' CSRF tokens are bound to
//     before anyone signs in (formToken).
const (
	sessionCookie = "credence_session"
	deviceCookie  = "credence_device"
	formCookie    = "credence_form"
	// deviceCookieAge is how long a browser keeps its device token: a
	// device token ends 90 days after its last use.
	deviceCookieAge = 90 * 24 * time.Hour
)

// sessionCookieOf returns the session token of r's cookie, when it holds
// one that looks like a session token: an API key is never taken from a
// cookie.
func sessionCookieOf(r *http.Request) (string, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || !strings.HasPrefix(c.Value, accounts.SessionPrefix) || len(c.Value) > 512 {
		return "", false
	}
	return c.Value, true
}

// sessionCookieCounts tells whether r may act with its session cookie: a
// read (GET, HEAD) of anything but the API, or a POST to one of the
// pages' forms (forms: registered by handleForm, which refuses any
// without a valid CSRF token before it runs). Every other route — /api/v1
// and the JSON POST routes outside it (the VC-API) — sees no cookie.
func sessionCookieCounts(r *http.Request, forms map[string]bool) bool {
	if r.URL.Path == "/api" || strings.HasPrefix(r.URL.Path, "/api/") {
		return false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return true
	case http.MethodPost:
		return forms[r.URL.Path]
	}
	return false
}

// cookie returns a cookie of the pages with the flags they all share.
func (s *server) cookie(name, value string, maxAge time.Duration) *http.Cookie {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.SecureCookies}
	switch {
	case maxAge > 0:
		c.MaxAge = int(maxAge / time.Second)
		c.Expires = s.Clock.Now().Add(maxAge).UTC()
	case maxAge < 0:
		c.MaxAge = -1 // delete it
	}
	return c
}

// startSession gives the browser a session after a sign-in (and the
// device token for its next one), and a new form cookie: a form token
// obtained before the sign-in (by anyone) is no good after it.
func (s *server) startSession(w http.ResponseWriter, tok accounts.SessionToken) {
	http.SetCookie(w, s.cookie(sessionCookie, tok.Token, tok.ExpiresAt.Sub(s.Clock.Now())))
	if tok.DeviceToken != "" {
		http.SetCookie(w, s.cookie(deviceCookie, tok.DeviceToken, deviceCookieAge))
	}
	http.SetCookie(w, s.cookie(formCookie, newFormSecret(), 0))
}

// endSession deletes the browser's session cookie and renews its form
// cookie; the device cookie stays (it is what a known browser is).
func (s *server) endSession(w http.ResponseWriter) {
	http.SetCookie(w, s.cookie(sessionCookie, "", -1))
	http.SetCookie(w, s.cookie(formCookie, newFormSecret(), 0))
}

// deviceOf is the device token the browser keeps, if any.
func deviceOf(r *http.Request) string {
	if c, err := r.Cookie(deviceCookie); err == nil && len(c.Value) <= 512 {
		return c.Value
	}
	return ""
}

func newFormSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// formToken is the CSRF token the page's forms post back in their "csrf"
// field: an HMAC under Deps.FormKey of the browser's form cookie and its
// session cookie (its value, as sent). Another site can neither read it
// (the pages answer no other origin) nor compute it (it lacks the key),
// and a token is good only with the cookies it was made for: a token
// obtained by an attacker for their own cookies does not work with a
// victim's session. A browser without a form cookie is given one.
func (s *server) formToken(w http.ResponseWriter, r *http.Request) string {
	var secret string
	if c, err := r.Cookie(formCookie); err == nil && c.Value != "" {
		secret = c.Value
	} else {
		secret = newFormSecret()
		http.SetCookie(w, s.cookie(formCookie, secret, 0))
	}
	return s.formMAC(secret, r)
}

func (s *server) formMAC(secret string, r *http.Request) string {
	session := ""
	if c, err := r.Cookie(sessionCookie); err == nil {
		session = c.Value
	}
	m := hmac.New(sha256.New, s.formKey)
	m.Write([]byte("credence form v1\x00"))
	m.Write([]byte(secret))
	m.Write([]byte{0})
	m.Write([]byte(session))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// formRefusal says why a form was refused ("" when it is accepted).
func (s *server) formRefusal(r *http.Request) string {
	site := r.Header.Get("Sec-Fetch-Site")
	switch site {
	case "", "same-origin", "none":
	default:
		return "This form was sent from another site (" + site + "), so it was not accepted."
	}
	// Under the pages' Referrer-Policy (no-referrer) a browser sends
	// "Origin: null" with a form posted from this very site; when it also
	// says Sec-Fetch-Site: same-origin (a header no page can set), that
	// is the answer, and Origin is only read from browsers without it.
	if origin := r.Header.Get("Origin"); origin != "" && site != "same-origin" && !s.sameOrigin(r, origin) {
		return "This form was sent from another site, so it was not accepted."
	}
	c, err := r.Cookie(formCookie)
	sent := r.PostForm.Get("csrf")
	if err != nil || c.Value == "" || sent == "" || !hmac.Equal([]byte(sent), []byte(s.formMAC(c.Value, r))) {
		return "This form has expired or did not come from this site's page."
	}
	return ""
}

// sameOrigin tells whether origin is this service's: the public URL's
// origin, or the host the request was sent to.
func (s *server) sameOrigin(r *http.Request, origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false // "null" among others: a sandboxed or privacy-sensitive context
	}
	if s.PublicURL != nil && strings.EqualFold(u.Scheme, s.PublicURL.Scheme) && strings.EqualFold(u.Host, s.PublicURL.Host) {
		return true
	}
	return strings.EqualFold(u.Host, r.Host)
}

// maxFormBody bounds the body of a page's form: a few fields.
const maxFormBody = 16 << 10

// handleForm registers the POST handler of a page's form at path: the
// only way a page takes a form. Before h runs, the form is read (at most
// maxFormBody) and refused with a 403 page unless it comes from this
// site's page: Sec-Fetch-Site and Origin, when the browser sends them,
// must be this origin's, and its "csrf" field must be the token of the
// browser's cookies (formToken), compared in constant time. Its path is
// one where the session cookie counts (sessionCookieCounts).
func (s *server) handleForm(mux *http.ServeMux, path string, h http.HandlerFunc) {
	s.forms[path] = true
	mux.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
		if err := r.ParseForm(); err != nil {
			status := http.StatusBadRequest
			if _, over := err.(*http.MaxBytesError); over {
				status = http.StatusRequestEntityTooLarge
			}
			s.renderWeb(w, r, status, "message", webView{Title: "The form could not be read",
				Data: messageView{Heading: "The form could not be read", Message: "Go back, reload the page and try again.", Error: true}})
			return
		}
		if why := s.formRefusal(r); why != "" {
			page := path
			if p, ok := formPages[path]; ok {
				page = p
			}
			s.renderWeb(w, r, http.StatusForbidden, "message", webView{Title: "Form refused",
				Data: messageView{Heading: "Form refused", Message: why + " Go back, reload the page and send it again.", Error: true,
					Link: page, LinkText: "Open the page again"}})
			return
		}
		h(w, r)
	})
}

// formPages are the pages of the forms whose path shows none.
var formPages = map[string]string{"/signout": "/me", "/me/claim": "/me", "/signin/code": "/signin"}

// messageView is the data of web/pages/message.html: a heading, a
// message and, optionally, a link onwards.
type messageView struct {
	Heading, Message string
	Error            bool
	Link, LinkText   string
}

// localPath returns next when it is a path of this site to go back to
// after signing in, else "/me": never another site (no open redirect) —
// no scheme, no host, no "//" or "/\" that a browser reads as one, no
// control characters.
func localPath(next string) string {
	const fallback = "/me"
	if next == "" || len(next) > 512 || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsAny(next, "\\") {
		return fallback
	}
	for _, r := range next {
		if r < 0x20 || r == 0x7f {
			return fallback
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") {
		return fallback
	}
	return next
}

// pageLimit counts r against Limits.AuthIP like the operations marked
// authLimited (sign-up and the requests that mail an address), and
// returns the RATE_LIMITED error to show when it is spent.
func (s *server) pageLimit(w http.ResponseWriter, r *http.Request) error {
	if s.Limiter == nil || s.Limits.AuthIP.Rate <= 0 {
		return nil
	}
	res, err := s.Limiter.Allow(r.Context(), "auth-ip:"+domain.LimitSubject(clientFrom(r.Context()).IP), s.Limits.AuthIP)
	if err != nil {
		s.Log.WarnContext(r.Context(), "rate limiter unavailable: request let through", "err", err)
		return nil
	}
	if !res.Allowed {
		s.setLimitHeaders(w.Header(), res)
		return s.limitError(res)
	}
	return nil
}
