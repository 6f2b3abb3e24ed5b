package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// testIdempotency: a POST retried with its Idempotency-Key replays the
// first response instead of acting twice; the key with another request is
// refused; concurrent duplicates act once; keys are per caller.
func testIdempotency(t *testing.T, e *env) {
	owner, o := e.newIssuer(t, "")
	c := e.as(t, owner.Token)
	orgPath := "/api/v1/orgs/" + o.ID
	key := func() string { return "key-" + unique("idem") }

	// A badge created twice is one badge.
	badgeKey := key()
	badgeBody := map[string]any{"name": "Retried " + unique("b"), "description": "d", "criteria": "c",
		"imageUrl": "https://issuer.example.com/r.png"}
	first := c.expect(http.StatusCreated, http.MethodPost, orgPath+"/badges", badgeBody, nil, "Idempotency-Key", badgeKey)
	again := c.expect(http.StatusCreated, http.MethodPost, orgPath+"/badges", badgeBody, nil, "Idempotency-Key", badgeKey)
	requireReplay(t, first, again)
	var b badge
	if err := json.Unmarshal(first.Body, &b); err != nil {
		t.Fatal(err)
	}
	var badges struct {
		Items []badge `json:"items"`
	}
	c.expect(http.StatusOK, http.MethodGet, orgPath+"/badges?limit=100", nil, &badges)
	if n := countBadges(badges.Items, badgeBody["name"].(string)); n != 1 {
		t.Fatalf("%d badges named %q after a retried create, want 1", n, badgeBody["name"])
	}

	// A credential issued twice is one credential: the retry gets the 201
	// again where a second issue without the key gets DUPLICATE_CREDENTIAL.
	email := uniqueEmail("idem")
	issueKey := key()
	body := issueBody(b.ID, "Ida Empotent", email)
	first = c.expect(http.StatusCreated, http.MethodPost, orgPath+"/credentials", body, nil, "Idempotency-Key", issueKey)
	again = c.expect(http.StatusCreated, http.MethodPost, orgPath+"/credentials", body, nil, "Idempotency-Key", issueKey)
	requireReplay(t, first, again)
	c.expectProblem(http.StatusConflict, "DUPLICATE_CREDENTIAL", http.MethodPost, orgPath+"/credentials", body)
	if got := listCredentials(c, o.ID, "?email="+email); len(got) != 1 {
		t.Fatalf("%d credentials after a retried issue, want 1", len(got))
	}

	// The key with another request is refused, whatever the path.
	other := issueBody(b.ID, "Ida Empotent", uniqueEmail("idem-other"))
	c.expectProblem(http.StatusUnprocessableEntity, "IDEMPOTENCY_KEY_REUSED", http.MethodPost, orgPath+"/credentials", other,
		"Idempotency-Key", issueKey)
	c.expectProblem(http.StatusUnprocessableEntity, "IDEMPOTENCY_KEY_REUSED", http.MethodPost, orgPath+"/badges", badgeBody,
		"Idempotency-Key", issueKey)

	// A refusal that holds is replayed too.
	dupKey := key()
	refused := c.do(http.MethodPost, orgPath+"/credentials", body, "Idempotency-Key", dupKey)
	c.checkProblem(refused, http.StatusConflict, "DUPLICATE_CREDENTIAL")
	requireReplay(t, refused, c.do(http.MethodPost, orgPath+"/credentials", body, "Idempotency-Key", dupKey))

	// Keys are per caller: another issuer's identical key is its own.
	owner2, o2 := e.newIssuer(t, "")
	c2 := e.as(t, owner2.Token)
	b2 := createBadge(c2, o2.ID, 0)
	mine := c2.expect(http.StatusCreated, http.MethodPost, "/api/v1/orgs/"+o2.ID+"/credentials",
		issueBody(b2.ID, "Ida Empotent", email), nil, "Idempotency-Key", issueKey)
	if mine.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("another caller's key was replayed: %s", mine)
	}

	// A malformed key is refused before anything runs.
	c.expectProblem(http.StatusUnprocessableEntity, "VALIDATION_FAILED", http.MethodPost, orgPath+"/credentials",
		issueBody(b.ID, "Ida Empotent", uniqueEmail("idem-bad")), "Idempotency-Key", strings.Repeat("k", 256))

	// Concurrent duplicates: one credential, the same answer for all.
	raceEmail, raceKey := uniqueEmail("idem-race"), key()
	raceBody := issueBody(b.ID, "Ray Retry", raceEmail)
	rs := make([]*response, concurrency)
	errs := make([]error, concurrency)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range concurrency {
		wg.Go(func() {
			<-start
			rs[i], errs[i] = c.send(http.MethodPost, orgPath+"/credentials", raceBody, "Idempotency-Key", raceKey)
		})
	}
	close(start)
	wg.Wait()
	replayed := 0
	for i, r := range rs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if r.Status != http.StatusCreated || string(r.Body) != string(rs[0].Body) {
			t.Fatalf("racing duplicates answered differently:\n%s\n%s", rs[0], r)
		}
		if r.Header.Get("Idempotent-Replayed") == "true" {
			replayed++
		}
	}
	if replayed != concurrency-1 {
		t.Errorf("%d of %d racing duplicates were replays, want %d", replayed, concurrency, concurrency-1)
	}
	if got := listCredentials(c, o.ID, "?email="+raceEmail); len(got) != 1 {
		t.Fatalf("%d credentials after %d racing duplicates, want 1", len(got), concurrency)
	}

	// A token that no longer authenticates gets no replay: signed out, the
	// retry of the badge create above is refused like any request.
	c.expect(http.StatusNoContent, http.MethodPost, "/api/v1/auth/logout", nil, nil)
	c.expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodPost, orgPath+"/badges", badgeBody, "Idempotency-Key", badgeKey)
}

// requireReplay requires again to repeat first, marked as a replay.
func requireReplay(t *testing.T, first, again *response) {
	t.Helper()
	if first.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("the first response is marked as a replay: %s", first)
	}
	if again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("the retry is not marked Idempotent-Replayed: true: %s %v", again, again.Header)
	}
	if again.Status != first.Status || string(again.Body) != string(first.Body) ||
		again.Header.Get("Content-Type") != first.Header.Get("Content-Type") {
		t.Fatalf("the retry differs from the first response:\n%s\n%s", first, again)
	}
}

func countBadges(bs []badge, name string) int {
	n := 0
	for _, b := range bs {
		if b.Name == name {
			n++
		}
	}
	return n
}

// testIdempotentSecrets: the responses kept for Idempotency-Key replays
// carry secrets (session tokens from sign-in and the MFA step, API key
// secrets from create and regenerate); the table keeps them sealed, so
// that a copy of the database gives none of them away, while a retry
// still gets its secret again. An anonymous key taken first by a stranger
// with another request takes nothing from the caller who sends it next.
func testIdempotentSecrets(t *testing.T, e *env) {
	anon := e.anon(t)
	key := func() string { return "key-" + unique("sec") }
	var secrets, keys []string
	// replayed sends req twice with one key, requires the replay, and
	// returns the secret in field of the first answer.
	replayed := func(c *client, path string, body any, field string) string {
		t.Helper()
		k := key()
		first := c.do(http.MethodPost, path, body, "Idempotency-Key", k)
		if first.Status/100 != 2 {
			t.Fatalf("first: %s", first)
		}
		requireReplay(t, first, c.do(http.MethodPost, path, body, "Idempotency-Key", k))
		var out map[string]any
		if err := json.Unmarshal(first.Body, &out); err != nil {
			t.Fatal(err)
		}
		secret, _ := out[field].(string)
		if secret == "" {
			t.Fatalf("no %s in %s", field, first)
		}
		secrets, keys = append(secrets, secret), append(keys, k)
		return secret
	}

	// Sign-in, anonymous: a stranger's request with the same short key
	// first is another record, not a key reused.
	u := e.newUser(t, "idemsec")
	anon.expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodPost, "/api/v1/auth/login",
		map[string]string{"email": u.Email, "password": "not the password"}, "Idempotency-Key", "1")
	var sess struct {
		Token string `json:"token"`
	}
	anon.expect(http.StatusOK, http.MethodPost, "/api/v1/auth/login",
		map[string]string{"email": u.Email, "password": testPassword}, &sess, "Idempotency-Key", "1")
	secrets = append(secrets, sess.Token)
	replayed(anon, "/api/v1/auth/login", map[string]string{"email": u.Email, "password": testPassword}, "token")

	// The MFA step.
	e.as(t, u.Token).expect(http.StatusOK, http.MethodPut, "/api/v1/me/mfa", map[string]bool{"enabled": true}, nil)
	seen := e.mailsAbout(t, u.Email, "sign-in code")
	var ch struct {
		ChallengeID string `json:"challengeId"`
	}
	anon.expect(http.StatusOK, http.MethodPost, "/api/v1/auth/login", map[string]string{"email": u.Email, "password": testPassword}, &ch)
	code := mfaCodeRE.FindStringSubmatch(e.nextMail(t, u.Email, "sign-in code", seen).Body)
	if code == nil || ch.ChallengeID == "" {
		t.Fatalf("no MFA challenge (%+v) or code", ch)
	}
	replayed(anon, "/api/v1/auth/mfa", map[string]string{"challengeId": ch.ChallengeID, "code": code[1]}, "token")

	// API keys: created and regenerated.
	owner, o := e.newIssuer(t, "")
	e.setPlan(t, o.ID, "professional")
	oc := e.as(t, owner.Token)
	keysPath := "/api/v1/orgs/" + o.ID + "/api-keys"
	replayed(oc, keysPath, map[string]string{"name": "ci"}, "secret")
	var list struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	oc.expect(http.StatusOK, http.MethodGet, keysPath, nil, &list)
	if len(list.Items) != 1 {
		t.Fatalf("%d API keys, want 1", len(list.Items))
	}
	replayed(oc, keysPath+"/"+list.Items[0].ID+"/regenerate", nil, "secret")

	// Every response is stored (a row per key), and none in the clear.
	db := e.openDB(t)
	for _, k := range append(keys, "1") {
		q := "SELECT count(*) FROM idempotency_keys WHERE idem_key = ? AND status > 0"
		if e.store == "postgres" {
			q = strings.ReplaceAll(q, "?", "$1")
		}
		var n int
		if err := db.QueryRowContext(t.Context(), q, k).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatalf("no stored response for Idempotency-Key %s: the scan below would prove nothing", k)
		}
	}
	if held := e.dbHolds(t, append(secrets, testPassword)); len(held) > 0 {
		for secret, where := range held {
			t.Errorf("the database holds a secret (%.12s…) in %v", secret, where)
		}
	}
}
