package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// resetToken asks for a password reset of email and returns the token of
// the link mailed for it.
func (s *server) resetToken(t *testing.T, email string) string {
	t.Helper()
	seen := s.mailsAbout(t, email, "Reset your Credence password")
	s.anon(t).expect(http.StatusAccepted, http.MethodPost, "/api/v1/auth/password-reset", map[string]string{"email": email}, nil)
	m := s.nextMail(t, email, "Reset your Credence password", seen)
	token := resetTokenRE.FindStringSubmatch(m.Body)
	if token == nil {
		t.Fatalf("no reset link in:\n%s", m.Body)
	}
	return token[1]
}

// testResetLinksEnd: of two reset links, the one used ends the other.
func testResetLinksEnd(t *testing.T, e *env) {
	anon := e.anon(t)
	u := e.newUser(t, "twolinks")
	first, second := e.resetToken(t, u.Email), e.resetToken(t, u.Email)
	anon.expect(http.StatusOK, http.MethodPost, "/api/v1/auth/password-reset/confirm",
		map[string]string{"token": second, "password": "the second link's passphrase"}, nil)
	anon.expectProblem(http.StatusBadRequest, "INVALID_TOKEN", http.MethodPost, "/api/v1/auth/password-reset/confirm",
		map[string]string{"token": first, "password": "the first link's passphrase"})
	anon.expect(http.StatusOK, http.MethodPost, "/api/v1/auth/login",
		map[string]string{"email": u.Email, "password": "the second link's passphrase"}, nil)
}

// testChangePassword: POST /api/v1/me/password asks for the current
// password (403 WRONG_PASSWORD, counted toward the lock-out: five wrong
// lock the account, 423), refuses API keys, and on success keeps the
// session of the request, ends the others and the outstanding reset
// links, mails the owner, and the new password signs in.
func testChangePassword(t *testing.T, e *env) {
	const path = "/api/v1/me/password"
	const fresh = "a changed passphrase for e2e"
	u := e.newUser(t, "changer")
	other := e.login(t, u.Email)
	link := e.resetToken(t, u.Email)
	me := e.as(t, u.Token)

	me.expectProblem(http.StatusForbidden, "WRONG_PASSWORD", http.MethodPost, path,
		map[string]string{"currentPassword": "not the password", "newPassword": fresh})
	p := me.expectProblem(http.StatusUnprocessableEntity, "VALIDATION_FAILED", http.MethodPost, path,
		map[string]string{"currentPassword": testPassword, "newPassword": "password1234"})
	if len(p.Errors) != 1 || p.Errors[0].Location != "body.newPassword" {
		t.Errorf("a common new password: errors %+v, want one at body.newPassword", p.Errors)
	}
	var out struct {
		Message string `json:"message"`
	}
	me.expect(http.StatusOK, http.MethodPost, path, map[string]string{"currentPassword": testPassword, "newPassword": fresh}, &out)
	if out.Message == "" {
		t.Error("no message in the answer")
	}
	me.expect(http.StatusOK, http.MethodGet, "/api/v1/me", nil, nil)
	e.as(t, other).expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodGet, "/api/v1/me", nil)
	e.anon(t).expectProblem(http.StatusBadRequest, "INVALID_TOKEN", http.MethodPost, "/api/v1/auth/password-reset/confirm",
		map[string]string{"token": link, "password": "a reset over the change"})
	if m := e.latestMail(t, u.Email, "password was changed"); !strings.Contains(m.Body, "signed in") {
		t.Errorf("the mail about the change:\n%s", m.Body)
	}
	e.anon(t).expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodPost, "/api/v1/auth/login",
		map[string]string{"email": u.Email, "password": testPassword})
	e.anon(t).expect(http.StatusOK, http.MethodPost, "/api/v1/auth/login", map[string]string{"email": u.Email, "password": fresh}, nil)

	// Five wrong current passwords lock the account; then even the right
	// one is refused.
	v := e.newUser(t, "guesser")
	guesser := e.as(t, v.Token)
	for range 4 {
		guesser.expectProblem(http.StatusForbidden, "WRONG_PASSWORD", http.MethodPost, path,
			map[string]string{"currentPassword": "a wrong guess", "newPassword": fresh})
	}
	guesser.expectProblem(http.StatusLocked, "ACCOUNT_LOCKED", http.MethodPost, path,
		map[string]string{"currentPassword": "a wrong guess", "newPassword": fresh})
	r := guesser.do(http.MethodPost, path, map[string]string{"currentPassword": testPassword, "newPassword": fresh})
	guesser.checkProblem(r, http.StatusLocked, "ACCOUNT_LOCKED")
	if r.Header.Get("Retry-After") == "" {
		t.Errorf("423 without Retry-After: %s", r)
	}
	e.latestMail(t, v.Email, "was locked")

	// API keys are refused.
	owner, o := e.newIssuer(t, "")
	e.setPlan(t, o.ID, "professional")
	var key apiKey
	e.as(t, owner.Token).expect(http.StatusCreated, http.MethodPost, "/api/v1/orgs/"+o.ID+"/api-keys", map[string]string{"name": "ci", "mode": "live"}, &key)
	e.as(t, key.Secret).expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodPost, path,
		map[string]string{"currentPassword": testPassword, "newPassword": fresh})
}
