package e2e

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// redisRetrieve is the Redis database of testRetrieve's private server.
const redisRetrieve = 15

var csrfFieldRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// pageForm opens page as a browser does and returns the form fields kv
// with the page's CSRF token, and the Cookie header the browser sends
// back with it (the form cookie the page set).
func pageForm(t *testing.T, c *client, page string, kv ...string) (formBody, []string) {
	t.Helper()
	r := c.do(http.MethodGet, page, nil)
	m := csrfFieldRE.FindSubmatch(r.Body)
	if r.Status != http.StatusOK || m == nil {
		t.Fatalf("%s has no form with a CSRF token: %s", page, r)
	}
	var cookies []string
	for _, ck := range (&http.Response{Header: r.Header}).Cookies() {
		cookies = append(cookies, ck.Name+"="+ck.Value)
	}
	return form(append(kv, "csrf", string(m[1]))...), []string{"Cookie", strings.Join(cookies, "; ")}
}

// testRetrieve: "retrieve my credentials", through the API and the page.
// Every address gets the same 202; the holder of a credential is mailed
// its link, an address holding none nothing. On PostgreSQL it runs on a
// server of its own over Redis, its mail delivered (and composed) by an
// apps/worker process.
func testRetrieve(t *testing.T, e *env) {
	if e.store == "postgres" {
		s := startServer(t, "postgres", withEnv("CREDENCE_REDIS_URL", freshRedisDB(t, redisRetrieve)))
		s.startWorker(t, "mail")
		e = envFor(t, s)
	}
	owner, o := e.newIssuer(t, "")
	oc := e.as(t, owner.Token)
	b := createBadge(oc, o.ID, 0)
	holder, ghost := uniqueEmail("holder"), uniqueEmail("ghost")
	cr := issue(oc, o.ID, b.ID, "Holly Holder", holder)

	anon := e.anon(t)
	none := anon.expect(http.StatusAccepted, http.MethodPost, "/api/v1/recipients/retrieve", map[string]string{"email": ghost}, nil)
	some := anon.expect(http.StatusAccepted, http.MethodPost, "/api/v1/recipients/retrieve", map[string]string{"email": holder}, nil)
	if string(none.Body) != string(some.Body) {
		t.Fatalf("retrieve answers apart: %s / %s", none.Body, some.Body)
	}
	m := e.latestMail(t, holder, "Your Credence credentials")
	if !strings.Contains(m.Body, e.url+"/verify/"+cr.ID) {
		t.Fatalf("the retrieve mail lacks the credential's link:\n%s", m.Body)
	}

	// The page: the same answer for both addresses, the same mail.
	for _, email := range []string{ghost, holder} {
		body, cookie := pageForm(t, anon, "/retrieve", "email", email)
		r := anon.do(http.MethodPost, "/retrieve", body, cookie...)
		if r.Status != http.StatusAccepted || !strings.Contains(string(r.Body), "a mail with their links is on its way") {
			t.Fatalf("retrieve page for %s: %s", email, r)
		}
	}
	// A form without its token is refused.
	if r := anon.do(http.MethodPost, "/retrieve", form("email", holder)); r.Status != http.StatusForbidden {
		t.Fatalf("retrieve page without a CSRF token: %s", r)
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.mailsAbout(t, holder, "Your Credence credentials") < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no second retrieve mail to the holder (the page's)")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(e.mails(t, ghost)); n != 0 {
		t.Errorf("%d mails to an address holding no credentials", n)
	}
}
