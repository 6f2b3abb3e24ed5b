package httpapi

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var resetTokenRE = regexp.MustCompile(`/reset-password\?token=([A-Za-z0-9_-]+)`)

// Sign-up, verification and sign-in as a client goes through them: the
// answers before and after the mailed link, the profile, the sessions,
// sign-out.
func TestAccountLifecycle(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	email := uniqueEmail("Ada")
	var msg struct {
		Message string `json:"message"`
	}
	s.expect(http.StatusCreated, http.MethodPost, "/api/v1/auth/signup", "",
		map[string]string{"email": "  " + strings.ToUpper(email) + " ", "password": testPassphrase, "name": "Ada"}, &msg)
	if !strings.Contains(msg.Message, strings.ToLower(email)) {
		t.Errorf("sign-up message %q does not name the normalized address", msg.Message)
	}
	email = strings.ToLower(email)
	s.expectProblem(http.StatusForbidden, "EMAIL_NOT_VERIFIED", http.MethodPost, "/api/v1/auth/login", "",
		map[string]string{"email": email, "password": testPassphrase})
	s.expectProblem(http.StatusBadRequest, "INVALID_TOKEN", http.MethodPost, "/api/v1/auth/verify-email", "", map[string]string{"token": "not-a-token"})
	token := verifyTokenRE.FindStringSubmatch(s.mail(email, "Verify your email").Text)[1]
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/auth/verify-email", "", map[string]string{"token": token}, nil)
	s.expectProblem(http.StatusBadRequest, "INVALID_TOKEN", http.MethodPost, "/api/v1/auth/verify-email", "", map[string]string{"token": token})

	p := s.expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodPost, "/api/v1/auth/login", "",
		map[string]string{"email": email, "password": "not the passphrase"})
	if p.Title != "Unauthorized" {
		t.Errorf("problem title %q", p.Title)
	}
	var session struct {
		Token       string `json:"token"`
		ExpiresAt   string `json:"expiresAt"`
		DeviceToken string `json:"deviceToken"`
	}
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": email, "password": testPassphrase}, &session)
	if session.Token == "" || session.ExpiresAt == "" || session.DeviceToken == "" {
		t.Fatalf("sign-in answer %+v", session)
	}

	var me struct {
		Email         string `json:"email"`
		Name          string `json:"name"`
		EmailVerified bool   `json:"emailVerified"`
		Admin         bool   `json:"admin"`
		Memberships   []any  `json:"memberships"`
		Invitations   []any  `json:"invitations"`
	}
	s.expect(http.StatusOK, http.MethodGet, "/api/v1/me", session.Token, nil, &me)
	if me.Email != email || me.Name != "Ada" || !me.EmailVerified || me.Admin || me.Memberships == nil || me.Invitations == nil {
		t.Errorf("profile %+v", me)
	}
	second := s.login(email)
	var sessions struct {
		Items []struct {
			ID      string `json:"id"`
			IP      string `json:"ip"`
			Current bool   `json:"current"`
		} `json:"items"`
	}
	s.expect(http.StatusOK, http.MethodGet, "/api/v1/me/sessions", session.Token, nil, &sessions)
	if len(sessions.Items) != 2 || sessions.Items[0].IP != "198.51.100.7" {
		t.Fatalf("sessions %+v", sessions)
	}
	var other string
	for _, x := range sessions.Items {
		if !x.Current {
			other = x.ID
		}
	}
	s.expect(http.StatusNoContent, http.MethodDelete, "/api/v1/me/sessions/"+other, session.Token, nil, nil)
	s.expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodGet, "/api/v1/me", second, nil)

	s.expect(http.StatusNoContent, http.MethodPost, "/api/v1/auth/logout", session.Token, nil, nil)
	s.expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodGet, "/api/v1/me", session.Token, nil)
	w := s.do(http.MethodGet, "/api/v1/me", "", nil)
	if p := wantProblem(t, w, http.StatusUnauthorized, "UNAUTHENTICATED"); !strings.Contains(p.Detail, "Authorization: Bearer") {
		t.Errorf("401 without a token: %+v", p)
	}
}

// A password reset mails a single-use link; the new password works, the
// old one and every session end. Changing the password needs the current
// one.
func TestAccountPasswords(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	u := s.signUp(uniqueEmail("pw"))
	s.expectProblem(http.StatusForbidden, "WRONG_PASSWORD", http.MethodPost, "/api/v1/me/password", u.Token,
		map[string]string{"currentPassword": "wrong", "newPassword": "a fine new passphrase"})
	p := s.expectProblem(http.StatusUnprocessableEntity, "VALIDATION_FAILED", http.MethodPost, "/api/v1/me/password", u.Token,
		map[string]string{"currentPassword": testPassphrase, "newPassword": "short"})
	if len(p.Errors) != 1 || p.Errors[0].Location != "body.newPassword" {
		t.Errorf("errors %+v", p.Errors)
	}

	for _, email := range []string{u.Email, uniqueEmail("nobody")} { // the same answer, account or not
		s.expect(http.StatusAccepted, http.MethodPost, "/api/v1/auth/password-reset", "", map[string]string{"email": email}, nil)
	}
	token := resetTokenRE.FindStringSubmatch(s.mail(u.Email, "Reset your Credence password").Text)[1]
	s.expectProblem(http.StatusUnprocessableEntity, "VALIDATION_FAILED", http.MethodPost, "/api/v1/auth/password-reset/confirm", "",
		map[string]string{"token": token, "password": "short"})
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/auth/password-reset/confirm", "",
		map[string]string{"token": token, "password": "a brand new passphrase"}, nil)
	s.expectProblem(http.StatusBadRequest, "INVALID_TOKEN", http.MethodPost, "/api/v1/auth/password-reset/confirm", "",
		map[string]string{"token": token, "password": "yet another passphrase"})
	s.expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodGet, "/api/v1/me", u.Token, nil)
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": u.Email, "password": "a brand new passphrase"}, nil)
}

// Sign-in codes by mail: switched on, sign-in answers a challenge, the
// mailed code finishes it; a wrong code is MFA_INVALID.
func TestAccountMFA(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	u := s.signUp(uniqueEmail("mfa"))
	var set struct {
		MFAEnabled bool `json:"mfaEnabled"`
	}
	s.expect(http.StatusOK, http.MethodPut, "/api/v1/me/mfa", u.Token, map[string]bool{"enabled": true}, &set)
	if !set.MFAEnabled {
		t.Fatalf("%+v", set)
	}
	var login struct {
		Token       string `json:"token"`
		MFARequired bool   `json:"mfaRequired"`
		ChallengeID string `json:"challengeId"`
	}
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": u.Email, "password": testPassphrase}, &login)
	if !login.MFARequired || login.ChallengeID == "" || login.Token != "" {
		t.Fatalf("sign-in with codes on: %+v", login)
	}
	code := mailedCode(t, s.mail(u.Email, "sign-in code").Text)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	s.expectProblem(http.StatusUnauthorized, "MFA_INVALID", http.MethodPost, "/api/v1/auth/mfa", "", map[string]string{"challengeId": login.ChallengeID, "code": wrong})
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/auth/mfa", "", map[string]string{"challengeId": login.ChallengeID, "code": code}, &login)
	if login.Token == "" {
		t.Fatalf("no session after the code: %+v", login)
	}
	// Switching off without a proof mails a code and changes nothing yet.
	var off struct {
		MFAEnabled  bool   `json:"mfaEnabled"`
		CodeSent    bool   `json:"codeSent"`
		ChallengeID string `json:"challengeId"`
	}
	s.expect(http.StatusAccepted, http.MethodPut, "/api/v1/me/mfa", login.Token, map[string]bool{"enabled": false}, &off)
	if !off.MFAEnabled || !off.CodeSent || off.ChallengeID == "" {
		t.Fatalf("switching off without proof: %+v", off)
	}
	s.expect(http.StatusOK, http.MethodPut, "/api/v1/me/mfa", login.Token, map[string]any{"enabled": false, "password": testPassphrase}, &off)
	if off.MFAEnabled {
		t.Fatalf("switching off with the password: %+v", off)
	}
}
