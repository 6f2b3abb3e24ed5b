package e2e

import (
	"net/http"
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
