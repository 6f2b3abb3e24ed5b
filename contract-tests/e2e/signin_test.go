package e2e

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var resetTokenRE = regexp.MustCompile(`/reset-password\?token=([A-Za-z0-9_-]+)`)

// testSignIn walks the hardened sign-in over HTTP: lock-out with its
// Retry-After and the same answers for an unknown email, password reset by
// the emailed link (page and API) lifting the lock and ending sessions,
// and the sessions list and revoke.
func testSignIn(t *testing.T, e *env) {
	anon := e.anon(t)
	u := e.newUser(t, "signin")
	ghost := uniqueEmail("ghost")
	for _, who := range []string{u.Email, ghost} {
		for range 4 {
			anon.expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodPost, "/api/v1/auth/login",
				map[string]string{"email": who, "password": "not the password"})
		}
		r := anon.do(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": who, "password": "not the password"})
		anon.checkProblem(r, http.StatusLocked, "ACCOUNT_LOCKED")
		if wait, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || wait < 890 || wait > 900 {
			t.Errorf("%s: Retry-After %q, want about 900 seconds", who, r.Header.Get("Retry-After"))
		}
		anon.expectProblem(http.StatusLocked, "ACCOUNT_LOCKED", http.MethodPost, "/api/v1/auth/login",
			map[string]string{"email": who, "password": testPassword})
	}
	e.latestMail(t, u.Email, "was locked")
	if n := len(e.mails(t, ghost)); n != 0 {
		t.Errorf("%d mails to an unregistered email", n)
	}

	// Reset: the same 202 for both; the link opens a page whose form sets
	// the password, ends the old session and lifts the lock.
	for _, who := range []string{u.Email, ghost} {
		anon.expect(http.StatusAccepted, http.MethodPost, "/api/v1/auth/password-reset", map[string]string{"email": who}, nil)
	}
	m := e.latestMail(t, u.Email, "Reset your Credence password")
	token := resetTokenRE.FindStringSubmatch(m.Body)
	if token == nil {
		t.Fatalf("no reset link in:\n%s", m.Body)
	}
	page := anon.do(http.MethodGet, "/reset-password?token="+token[1], nil)
	if page.Status != http.StatusOK || !strings.Contains(string(page.Body), `name="password"`) {
		t.Fatalf("reset page: %s", page)
	}
	body, cookie := pageForm(t, anon, "/reset-password?token="+token[1], "token", token[1], "password", "password1234")
	weak := anon.do(http.MethodPost, "/reset-password", body, cookie...)
	if weak.Status != http.StatusUnprocessableEntity || !strings.Contains(string(weak.Body), "common password") {
		t.Errorf("a common password on the reset page: %s", weak)
	}
	const fresh = "a fresh passphrase for e2e"
	body, cookie = pageForm(t, anon, "/reset-password?token="+token[1], "token", token[1], "password", fresh)
	done := anon.do(http.MethodPost, "/reset-password", body, cookie...)
	if done.Status != http.StatusOK || !strings.Contains(string(done.Body), "password is changed") {
		t.Fatalf("reset page POST: %s", done)
	}
	e.as(t, u.Token).expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodGet, "/api/v1/me", nil)
	anon.expectProblem(http.StatusBadRequest, "INVALID_TOKEN", http.MethodPost, "/api/v1/auth/password-reset/confirm",
		map[string]string{"token": token[1], "password": "another passphrase here"})
	var sess struct {
		Token string `json:"token"`
	}
	anon.expect(http.StatusOK, http.MethodPost, "/api/v1/auth/login", map[string]string{"email": u.Email, "password": fresh}, &sess)

	// Sessions: listed newest first with the current one marked; another
	// user's session is not found; a revoked one stops authenticating.
	v := e.newUser(t, "sessions")
	second := e.login(t, v.Email)
	var list struct {
		Items []struct {
			ID        string `json:"id"`
			Current   bool   `json:"current"`
			IP        string `json:"ip"`
			UserAgent string `json:"userAgent"`
		} `json:"items"`
	}
	me := e.as(t, second)
	me.expect(http.StatusOK, http.MethodGet, "/api/v1/me/sessions", nil, &list)
	if len(list.Items) != 2 || list.Items[0].IP == "" {
		t.Fatalf("sessions: %+v, want 2 with their client address", list.Items)
	}
	var firstID string
	for _, it := range list.Items {
		if !it.Current {
			firstID = it.ID
		}
	}
	e.as(t, sess.Token).expectProblem(http.StatusNotFound, "NOT_FOUND", http.MethodDelete, "/api/v1/me/sessions/"+firstID, nil)
	me.expect(http.StatusNoContent, http.MethodDelete, "/api/v1/me/sessions/"+firstID, nil, nil)
	e.as(t, v.Token).expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodGet, "/api/v1/me", nil)
	me.expect(http.StatusOK, http.MethodGet, "/api/v1/me", nil, nil)
}

var mfaCodeRE = regexp.MustCompile(`\n    (\d{6})\n`)

// testMFA signs in with an emailed code over HTTP: switched on by the user,
// then required by their organization's owner after they switch it off.
func testMFA(t *testing.T, e *env) {
	anon := e.anon(t)
	owner, o := e.newIssuer(t, "ES256")
	me := e.as(t, owner.Token)
	var st struct {
		MFAEnabled       bool `json:"mfaEnabled"`
		MFARequiredByOrg bool `json:"mfaRequiredByOrg"`
	}
	me.expect(http.StatusOK, http.MethodPut, "/api/v1/me/mfa", map[string]bool{"enabled": true}, &st)
	if !st.MFAEnabled || st.MFARequiredByOrg {
		t.Fatalf("after switching MFA on: %+v", st)
	}
	signIn := func() string {
		var res struct {
			Token       string `json:"token"`
			MFARequired bool   `json:"mfaRequired"`
			ChallengeID string `json:"challengeId"`
		}
		codes := e.mailsAbout(t, owner.Email, "sign-in code")
		anon.expect(http.StatusOK, http.MethodPost, "/api/v1/auth/login", map[string]string{"email": owner.Email, "password": testPassword}, &res)
		if res.Token != "" || !res.MFARequired || res.ChallengeID == "" {
			t.Fatalf("login with MFA: %+v", res)
		}
		m := e.nextMail(t, owner.Email, "sign-in code", codes)
		code := mfaCodeRE.FindStringSubmatch(m.Body)
		if code == nil {
			t.Fatalf("no code in:\n%s", m.Body)
		}
		anon.expectProblem(http.StatusUnauthorized, "MFA_INVALID", http.MethodPost, "/api/v1/auth/mfa",
			map[string]string{"challengeId": res.ChallengeID, "code": "12345"})
		var sess struct {
			Token string `json:"token"`
		}
		anon.expect(http.StatusOK, http.MethodPost, "/api/v1/auth/mfa", map[string]string{"challengeId": res.ChallengeID, "code": code[1]}, &sess)
		anon.expectProblem(http.StatusUnauthorized, "MFA_INVALID", http.MethodPost, "/api/v1/auth/mfa",
			map[string]string{"challengeId": res.ChallengeID, "code": code[1]})
		if regexp.MustCompile(`(^|\D)` + code[1] + `(\D|$)`).MatchString(e.log.String()) {
			t.Errorf("the sign-in code %s is in the server log", code[1])
		}
		return sess.Token
	}
	token := signIn()
	e.as(t, token).expect(http.StatusOK, http.MethodPut, "/api/v1/me/mfa", map[string]any{"enabled": false, "password": testPassword}, &st)
	e.as(t, token).expect(http.StatusOK, http.MethodPatch, "/api/v1/orgs/"+o.ID, map[string]bool{"requireMfa": true}, nil)
	var prof struct {
		MFAEnabled  bool `json:"mfaEnabled"`
		MFARequired bool `json:"mfaRequiredByOrg"`
	}
	e.as(t, token).expect(http.StatusOK, http.MethodGet, "/api/v1/me", nil, &prof)
	if prof.MFAEnabled || !prof.MFARequired {
		t.Errorf("profile after the org requires MFA: %+v", prof)
	}
	signIn()
}

// mailsAbout counts the mails to address whose subject holds subject.
func (s *server) mailsAbout(t *testing.T, address, subject string) int {
	n := 0
	for _, m := range s.mails(t, address) {
		if strings.Contains(m.Subject, subject) {
			n++
		}
	}
	return n
}

// nextMail waits for the mail after the first `seen` about subject (mail
// is delivered in the background) and returns it.
func (s *server) nextMail(t *testing.T, address, subject string, seen int) mail {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var found []mail
		for _, m := range s.mails(t, address) {
			if strings.Contains(m.Subject, subject) {
				found = append(found, m)
			}
		}
		if len(found) > seen {
			return found[seen]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new mail to %s about %q after %d", address, subject, seen)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
