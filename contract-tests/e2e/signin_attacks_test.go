package e2e

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// signInBudget runs a server whose only limit is the budget of failed
// sign-ins per client address (the default, 20 per 15 minutes), behind a
// trusted loopback proxy so that each check speaks from an address of its
// own.
var signInBudget = []serverOption{withEnv(
	"CREDENCE_TRUSTED_PROXIES", "127.0.0.1",
	"CREDENCE_RATE_LIMIT_SIGNIN_IP", "20",
)}

// signInAnswer is what the sign-in endpoints answer.
type signInAnswer struct {
	Token       string `json:"token"`
	DeviceToken string `json:"deviceToken"`
	MFARequired bool   `json:"mfaRequired"`
	ChallengeID string `json:"challengeId"`
}

// loginBody is a sign-in request, with a device token when not "".
func loginBody(email, password, device string) map[string]string {
	b := map[string]string{"email": email, "password": password}
	if device != "" {
		b["deviceToken"] = device
	}
	return b
}

// testSignInSpray sprays wrong passwords over distinct emails, unknown and
// known, from one address: exactly 20 are checked, then every sign-in from
// it is 429 RATE_LIMITED with Retry-After, the right password included,
// while other addresses sign in. An IPv6 client counts by its /64. Right
// passwords spend nothing: a classroom of 30 behind one NAT signs in, and
// the address still has its 20 failures.
func testSignInSpray(t *testing.T, e *env) {
	anon := e.anon(t)
	from := func(ip string) []string { return []string{"X-Forwarded-For", ip} }
	known := make([]user, 4)
	for i := range known {
		known[i] = e.newUser(t, "sprayed")
	}
	const attacker = "203.0.113.50"
	checked := 0
	for i := range 20 {
		email := uniqueEmail("spray")
		if i%5 == 0 {
			email = known[i/5].Email
		}
		anon.expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodPost, "/api/v1/auth/login",
			loginBody(email, "Winter2026!", ""), from(attacker)...)
		checked++
	}
	r := anon.do(http.MethodPost, "/api/v1/auth/login", loginBody(uniqueEmail("spray"), "Winter2026!", ""), from(attacker)...)
	anon.checkProblem(r, http.StatusTooManyRequests, "RATE_LIMITED")
	wait, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || wait < 1 || wait > 46 {
		t.Errorf("Retry-After %q, want 1 to 46 seconds (one attempt back every 45 s)", r.Header.Get("Retry-After"))
	}
	refused := 1
	for _, u := range known[:2] { // the right password too, and the same answer for every email
		anon.expectProblem(http.StatusTooManyRequests, "RATE_LIMITED", http.MethodPost, "/api/v1/auth/login",
			loginBody(u.Email, testPassword, ""), from(attacker)...)
		refused++
	}
	t.Logf("spray from %s: %d wrong passwords checked (401), then %d sign-ins refused (429, Retry-After %ds)", attacker, checked, refused, wait)
	var ok signInAnswer
	anon.expect(http.StatusOK, http.MethodPost, "/api/v1/auth/login", loginBody(known[0].Email, testPassword, ""), &ok, from("203.0.113.51")...)

	// An IPv6 client: its /64 is one address, however many it uses.
	for i := range 20 {
		anon.expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodPost, "/api/v1/auth/login",
			loginBody(uniqueEmail("spray6"), "wrong password", ""), from(fmt.Sprintf("2001:db8:99:1::%x", i+1))...)
	}
	anon.expectProblem(http.StatusTooManyRequests, "RATE_LIMITED", http.MethodPost, "/api/v1/auth/login",
		loginBody(uniqueEmail("spray6"), "wrong password", ""), from("2001:db8:99:1:ffff::1")...)

	// A classroom behind one NAT: 30 sign-ins, then still 20 failures.
	const school = "198.51.100.77"
	students := make([]user, 30)
	for i := range students {
		students[i] = e.newUser(t, "student")
	}
	for _, s := range students {
		var got signInAnswer
		anon.expect(http.StatusOK, http.MethodPost, "/api/v1/auth/login", loginBody(s.Email, testPassword, ""), &got, from(school)...)
		if got.Token == "" {
			t.Fatalf("student sign-in: %+v", got)
		}
	}
	for range 20 {
		anon.expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodPost, "/api/v1/auth/login",
			loginBody(uniqueEmail("typo"), "mistyped", ""), from(school)...)
	}
	anon.expectProblem(http.StatusTooManyRequests, "RATE_LIMITED", http.MethodPost, "/api/v1/auth/login",
		loginBody(students[1].Email, testPassword, ""), from(school)...)
}

// signInWithCode signs email in through its emailed code (sending device
// when not "") and returns the answer of the code's check.
func (e *env) signInWithCode(t *testing.T, email, device string) signInAnswer {
	t.Helper()
	anon := e.anon(t)
	codes := e.mailsAbout(t, email, "sign-in code")
	var res signInAnswer
	anon.expect(http.StatusOK, http.MethodPost, "/api/v1/auth/login", loginBody(email, testPassword, device), &res)
	if !res.MFARequired || res.ChallengeID == "" || res.Token != "" || res.DeviceToken != "" {
		t.Fatalf("sign-in that needs a code: %+v", res)
	}
	code := mfaCodeRE.FindStringSubmatch(e.nextMail(t, email, "sign-in code", codes).Body)
	if code == nil {
		t.Fatalf("no code mailed to %s", email)
	}
	var sess signInAnswer
	anon.expect(http.StatusOK, http.MethodPost, "/api/v1/auth/mfa", map[string]string{"challengeId": res.ChallengeID, "code": code[1]}, &sess)
	if sess.Token == "" || sess.DeviceToken == "" {
		t.Fatalf("the code's answer: %+v, want a session and a device token", sess)
	}
	return sess
}

// lockOut has a stranger lock email with five wrong passwords.
func lockOut(t *testing.T, c *client, email string) {
	t.Helper()
	for range 4 {
		c.expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodPost, "/api/v1/auth/login", loginBody(email, "a stranger's guess", ""))
	}
	c.expectProblem(http.StatusLocked, "ACCOUNT_LOCKED", http.MethodPost, "/api/v1/auth/login", loginBody(email, "a stranger's guess", ""))
}

// testKnownDevice has a stranger lock the victim's email with five wrong
// passwords: a sign-in without the victim's device token gets 423, but
// their known device still signs in (with a new token: the old one is
// spent), then also through an emailed code once MFA is on; another
// account's device token, or a made-up one, is ignored.
func testKnownDevice(t *testing.T, e *env) {
	anon := e.anon(t)
	victim := e.newUser(t, "victim")
	var first signInAnswer
	anon.expect(http.StatusOK, http.MethodPost, "/api/v1/auth/login", loginBody(victim.Email, testPassword, ""), &first)
	if first.Token == "" || !strings.HasPrefix(first.DeviceToken, "crdv_") {
		t.Fatalf("sign-in: %+v, want a session and a device token", first)
	}
	var theirs signInAnswer
	anon.expect(http.StatusOK, http.MethodPost, "/api/v1/auth/login", loginBody(e.newUser(t, "other").Email, testPassword, ""), &theirs)

	lockOut(t, anon, victim.Email)
	anon.expectProblem(http.StatusLocked, "ACCOUNT_LOCKED", http.MethodPost, "/api/v1/auth/login", loginBody(victim.Email, testPassword, ""))
	var again signInAnswer
	anon.expect(http.StatusOK, http.MethodPost, "/api/v1/auth/login", loginBody(victim.Email, testPassword, first.DeviceToken), &again)
	if again.Token == "" || again.DeviceToken == "" || again.DeviceToken == first.DeviceToken {
		t.Fatalf("the known device during the lock-out: %+v, want a session and a new device token", again)
	}
	me := e.as(t, again.Token)
	me.expect(http.StatusOK, http.MethodGet, "/api/v1/me", nil, nil)
	for name, device := range map[string]string{"the spent token": first.DeviceToken, "another account's": theirs.DeviceToken, "a made-up one": "crdv_made-up"} {
		r := anon.do(http.MethodPost, "/api/v1/auth/login", loginBody(victim.Email, testPassword, device))
		if r.Status != http.StatusLocked {
			t.Errorf("%s device token during the lock-out: %s, want 423 ACCOUNT_LOCKED", name, r)
		}
	}

	// With MFA on, the known device's sign-in goes through its code.
	me.expect(http.StatusOK, http.MethodPut, "/api/v1/me/mfa", map[string]bool{"enabled": true}, nil)
	sess := e.signInWithCode(t, victim.Email, again.DeviceToken)
	e.as(t, sess.Token).expect(http.StatusOK, http.MethodGet, "/api/v1/me", nil, nil)
	anon.expectProblem(http.StatusLocked, "ACCOUNT_LOCKED", http.MethodPost, "/api/v1/auth/login", loginBody(victim.Email, testPassword, ""))
}

// mfaSetting is the answer of PUT /api/v1/me/mfa.
type mfaSetting struct {
	MFAEnabled  bool   `json:"mfaEnabled"`
	CodeSent    bool   `json:"codeSent"`
	ChallengeID string `json:"challengeId"`
}

// testMFAOffTakesProof switches emailed codes off: the session alone gets
// 202 and a mailed code, nothing changed; a wrong code is 401 MFA_INVALID
// (and the code never opens a session); the code, or the password, switch
// them off; a wrong password is 403 WRONG_PASSWORD.
func testMFAOffTakesProof(t *testing.T, e *env) {
	u := e.newUser(t, "mfaoff")
	me := e.as(t, u.Token)
	var st mfaSetting
	me.expect(http.StatusOK, http.MethodPut, "/api/v1/me/mfa", map[string]bool{"enabled": true}, &st)
	if !st.MFAEnabled || st.CodeSent {
		t.Fatalf("switching on: %+v", st)
	}
	me.expect(http.StatusAccepted, http.MethodPut, "/api/v1/me/mfa", map[string]bool{"enabled": false}, &st)
	if !st.MFAEnabled || !st.CodeSent || st.ChallengeID == "" {
		t.Fatalf("switching off with the session alone: %+v, want codeSent and MFA still on", st)
	}
	m := e.latestMail(t, u.Email, "switch off emailed codes")
	code := mfaCodeRE.FindStringSubmatch(m.Body)
	if code == nil {
		t.Fatalf("no code in:\n%s", m.Body)
	}
	wrong := "000000"
	if code[1] == wrong {
		wrong = "111111"
	}
	me.expectProblem(http.StatusUnauthorized, "MFA_INVALID", http.MethodPut, "/api/v1/me/mfa",
		map[string]any{"enabled": false, "challengeId": st.ChallengeID, "code": wrong})
	e.anon(t).expectProblem(http.StatusUnauthorized, "MFA_INVALID", http.MethodPost, "/api/v1/auth/mfa",
		map[string]string{"challengeId": st.ChallengeID, "code": code[1]})
	var prof struct {
		MFAEnabled bool `json:"mfaEnabled"`
	}
	me.expect(http.StatusOK, http.MethodGet, "/api/v1/me", nil, &prof)
	if !prof.MFAEnabled {
		t.Fatal("MFA was switched off without a proof")
	}
	var done mfaSetting
	me.expect(http.StatusOK, http.MethodPut, "/api/v1/me/mfa", map[string]any{"enabled": false, "challengeId": st.ChallengeID, "code": code[1]}, &done)
	if done.MFAEnabled || done.CodeSent {
		t.Fatalf("switching off with the mailed code: %+v", done)
	}

	me.expect(http.StatusOK, http.MethodPut, "/api/v1/me/mfa", map[string]bool{"enabled": true}, nil)
	me.expectProblem(http.StatusForbidden, "WRONG_PASSWORD", http.MethodPut, "/api/v1/me/mfa", map[string]any{"enabled": false, "password": "not my password"})
	done = mfaSetting{}
	me.expect(http.StatusOK, http.MethodPut, "/api/v1/me/mfa", map[string]any{"enabled": false, "password": testPassword}, &done)
	if done.MFAEnabled || done.CodeSent {
		t.Fatalf("switching off with the password: %+v", done)
	}
}

// testRequireMFASessions requires emailed codes of an organization: its
// owner cannot switch it on from a session opened without one; once on,
// every member's session opened without a code (the owner's old one too)
// gets 403 MFA_REQUIRED on every operation of the organization, while
// /me still answers and strangers still get 404; a new session through a
// code works, and API keys are unaffected.
func testRequireMFASessions(t *testing.T, e *env) {
	owner, o := e.newIssuer(t, "")
	e.setPlan(t, o.ID, "professional")
	org := "/api/v1/orgs/" + o.ID
	oc := e.as(t, owner.Token)
	member := e.join(t, oc, o.ID, "admin")
	var key struct {
		Secret string `json:"secret"`
	}
	oc.expect(http.StatusCreated, http.MethodPost, org+"/api-keys", map[string]string{"name": "mfa"}, &key)

	oc.expectProblem(http.StatusForbidden, "MFA_REQUIRED", http.MethodPatch, org, map[string]bool{"requireMfa": true})
	oc.expect(http.StatusOK, http.MethodPut, "/api/v1/me/mfa", map[string]bool{"enabled": true}, nil)
	withCode := e.as(t, e.signInWithCode(t, owner.Email, "").Token)
	withCode.expect(http.StatusOK, http.MethodPatch, org, map[string]bool{"requireMfa": true}, nil)

	mc := e.as(t, member.Token)
	for _, path := range []string{org, org + "/badges", org + "/members", org + "/credentials", org + "/activity"} {
		mc.expectProblem(http.StatusForbidden, "MFA_REQUIRED", http.MethodGet, path, nil)
	}
	mc.expectProblem(http.StatusForbidden, "MFA_REQUIRED", http.MethodPost, org+"/badges", map[string]any{
		"name": "No " + unique("b"), "description": "d", "criteria": "c", "imageUrl": "https://issuer.example.com/n.png"})
	oc.expectProblem(http.StatusForbidden, "MFA_REQUIRED", http.MethodGet, org, nil)
	mc.expect(http.StatusOK, http.MethodGet, "/api/v1/me", nil, nil)
	e.as(t, e.newUser(t, "stranger").Token).expectProblem(http.StatusNotFound, "NOT_FOUND", http.MethodGet, org, nil)
	e.as(t, key.Secret).expect(http.StatusOK, http.MethodGet, org+"/badges", nil, nil)
	withCode.expect(http.StatusOK, http.MethodGet, org+"/members", nil, nil)

	// The member signs in again: the organization asks for a code.
	fresh := e.as(t, e.signInWithCode(t, member.Email, "").Token)
	fresh.expect(http.StatusOK, http.MethodGet, org, nil, nil)
	b := createBadge(fresh, o.ID, 0)
	// A bulk job that such a session submitted is issued by a worker,
	// which acts for the submission and has no session of its own.
	job := submitBulk(fresh, o.ID, b.ID, csvOf(t, recipient{"Bo Bulk", uniqueEmail("mfabulk")}))
	if j := awaitJob(fresh, o.ID, job.ID, 30*time.Second, nil); j.Status != "completed" || j.Issued != 1 {
		t.Errorf("bulk job of an organization requiring codes: %s, want completed with 1 issued", j)
	}
}

// TestSignInBudgetAcrossReplicas runs two apps/api replicas on one Redis:
// failed sign-ins from one address spend one budget whichever replica
// answers, and a success on one gives its attempt back for both.
func TestSignInBudgetAcrossReplicas(t *testing.T) {
	opts := append([]serverOption{withEnv("CREDENCE_REDIS_URL", freshRedisDB(t, redisSignInBudget))}, signInBudget...)
	first := startServer(t, "sqlite", opts...)
	first.startWorker(t, "mail") // with Redis, mail goes through a worker
	a, b := envFor(t, first), startServer(t, "sqlite", opts...)
	u := a.newUser(t, "replicas")
	from := []string{"X-Forwarded-For", "203.0.113.88"}
	for i := range 20 {
		s := a.server
		if i%2 == 1 {
			s = b
		}
		if i == 10 { // a success in the middle costs nothing
			s.anon(t).expect(http.StatusOK, http.MethodPost, "/api/v1/auth/login", loginBody(u.Email, testPassword, ""), nil, from...)
		}
		s.anon(t).expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodPost, "/api/v1/auth/login",
			loginBody(uniqueEmail("replica"), "wrong password", ""), from...)
	}
	for _, s := range []*server{a.server, b} {
		s.anon(t).expectProblem(http.StatusTooManyRequests, "RATE_LIMITED", http.MethodPost, "/api/v1/auth/login",
			loginBody(u.Email, testPassword, ""), from...)
	}
}
