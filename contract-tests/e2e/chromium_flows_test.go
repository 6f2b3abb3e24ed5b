package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowser walks the pages people use in a real browser: on the
// embedded default (SQLite, in-process queue), and on PostgreSQL + Redis
// with two api replicas and a worker, the browser going from one replica
// to the other. See browser_test.go for what every page is checked for.
func TestBrowser(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		b := newBrowser(t)
		e := newEnv(t, "sqlite")
		browse(t, b, e, e.server)
	})
	t.Run("postgres_two_replicas", func(t *testing.T) {
		b := newBrowser(t)
		// Redis has 16 databases and the e2e tests hold them all; this
		// test runs alone (it is not parallel, so no other test runs
		// beside it) and borrows testRetrieve's.
		redisURL := freshRedisDB(t, redisRetrieve)
		a := startServer(t, "postgres", withEnv("CREDENCE_REDIS_URL", redisURL))
		a.startWorker(t, "mail")
		// Replicas of one service share its public URL (a load
		// balancer's): the issuers' DIDs, and so the keys a credential
		// names, are the same on both.
		other := startServer(t, "postgres", withEnv("CREDENCE_REDIS_URL", redisURL, "CREDENCE_DATABASE_URL", a.dsn,
			"CREDENCE_MASTER_KEY", a.env["CREDENCE_MASTER_KEY"], "CREDENCE_ADMIN_EMAILS", a.adminEmail, "CREDENCE_PUBLIC_URL", a.url))
		browse(t, b, envFor(t, a), other)
	})
}

// browse runs every browser walk on e's server; other is the same
// service's second replica (e's own server when there is one).
func browse(t *testing.T, b *browser, e *env, other *server) {
	t.Run("verifier", func(t *testing.T) { browseAsVerifier(t, b, e, other) })
	t.Run("recipient", func(t *testing.T) { browseAsRecipient(t, b, e, other) })
}

// browseAsRecipient: a recipient signs up, verifies the email from the
// mailed link, signs in (on the other replica), finds both credentials
// issued to the address on My credentials and claims one; signed out, a
// private credential's page offers a sign-in that comes back to it;
// "find my credentials" mails the links.
func browseAsRecipient(t *testing.T, b *browser, e *env, other *server) {
	b.t = t
	owner, o := e.newIssuer(t, "ES256")
	oc := e.as(t, owner.Token)
	bd := createBadge(oc, o.ID, 0)
	email := uniqueEmail("rae")
	pub := issue(oc, o.ID, bd.ID, "Rae Recipient", email)
	body := issueBody(bd.ID, "Rae Recipient", email)
	body["public"] = false
	other2 := createBadge(oc, o.ID, 0)
	body["badgeId"] = other2.ID
	priv := issueWith(oc, o.ID, body)

	b.open(e.url + "/signup")
	b.page("signup")
	b.submit(map[string]string{"#name": "Rae Recipient", "#email": email, "#password": "a long browser passphrase"}, "form[action='/signup'] button")
	b.see("Check your inbox")
	b.page("signup-done")

	b.open(e.url + "/verify-email?token=" + e.verificationToken(t, email))
	b.page("verify-email")
	b.submit(nil, "form[action='/verify-email'] button")
	b.see("verified")
	b.page("email-verified")

	b.open(other.url + "/signin")
	b.page("signin")
	b.submit(map[string]string{"#email": email, "#password": "a long browser passphrase"}, "form[action='/signin'] button")
	b.see("My credentials", pub.ID, priv.ID, bd.Name)
	b.page("my-credentials")
	b.narrow("my-credentials")
	b.submit(nil, "form[action='/me/claim']:has(input[value='"+pub.ID+"']) button")
	b.see("claimed")
	b.page("claimed")
	if got := verifyByID(e.anon(t), pub.ID); got.Result != "valid" {
		t.Fatalf("after the claim in the browser, %s verifies as %q, want valid", pub.ID, got.Result)
	}

	b.submit(nil, "form[action='/signout'] button")
	b.open(e.url + "/verify/" + priv.ID)
	b.see("private")
	b.page("private-credential")
	b.run("follow the sign-in link", chromedp.Click("a[href^='/signin?next=']", chromedp.ByQuery),
		chromedp.WaitVisible("#password", chromedp.ByQuery))
	b.submit(map[string]string{"#email": email, "#password": "a long browser passphrase"}, "form[action='/signin'] button")
	if u := b.url(); !strings.HasSuffix(u, "/verify/"+priv.ID) {
		t.Fatalf("signing in from a private credential's page lands on %s, want its page back", u)
	}
	b.see(other2.Name, priv.ID)
	b.page("private-credential-signed-in")

	b.submit(nil, "form[action='/signout'] button")
	b.open(other.url + "/retrieve")
	b.page("retrieve")
	b.submit(map[string]string{"#email": email}, "form[action='/retrieve'] button")
	b.page("retrieve-sent")
	links := e.latestMail(t, email, "Your Credence credentials")
	for _, id := range []string{pub.ID, priv.ID} {
		if !strings.Contains(links.Body, "/verify/"+id) {
			t.Errorf("the retrieve mail does not link %s:\n%s", id, links.Body)
		}
	}
}

// browseAsVerifier: a verifier looks a credential up by ID and by its
// signed file, and sees the banners of a revoked and a TEST credential,
// on a desktop and on a 360 px phone.
func browseAsVerifier(t *testing.T, b *browser, e *env, other *server) {
	b.t = t
	owner, o := e.newIssuer(t, "ES256")
	oc := e.as(t, owner.Token)
	bd := createBadge(oc, o.ID, 0)
	cr := issue(oc, o.ID, bd.ID, "Vera Verified", uniqueEmail("vera"))

	b.open(e.url + "/verify")
	b.has("input[name=id]")
	b.page("verify-lookup")
	b.submit(map[string]string{"input[name=id]": cr.ID}, "form:has(input[name=id]) button")
	b.see(bd.Name, cr.ID, "Vera Verified")
	b.page("verification-by-id")
	b.open(other.url + "/verify/" + cr.ID) // the other replica shows the same
	b.see(bd.Name, cr.ID, "Genuine and current")
	b.narrow("verification-by-id")

	b.open(e.url + "/verify")
	b.submit(map[string]string{"textarea[name=credential]": cr.JWT}, "form:has(textarea[name=credential]) button")
	b.see(bd.Name)
	b.page("verification-by-pasted-jws")

	// The badge baked with the credential, downloaded, then uploaded.
	png := e.anon(t).expect(http.StatusOK, http.MethodGet, "/credentials/"+cr.ID+".png", nil, nil)
	file := filepath.Join(t.TempDir(), cr.ID+".png")
	if err := os.WriteFile(file, png.Body, 0o644); err != nil {
		t.Fatal(err)
	}
	b.open(e.url + "/verify")
	b.run("upload the baked badge", chromedp.SetUploadFiles("input[name=file]", []string{file}, chromedp.ByQuery))
	b.submit(nil, "form:has(input[name=file]) button")
	b.see(bd.Name, cr.ID)
	b.page("verification-by-baked-png")

	revoked := issue(oc, o.ID, bd.ID, "Rex Revoked", uniqueEmail("rex"))
	oc.expect(http.StatusOK, http.MethodPost, "/api/v1/orgs/"+o.ID+"/credentials/"+revoked.ID+"/revoke", map[string]string{"reason": "Issued in error"}, nil)
	b.open(e.url + "/verify/" + revoked.ID)
	b.see("revoked", "Issued in error")
	b.page("verification-revoked")

	e.setPlan(t, o.ID, "professional")
	var key struct{ Secret string }
	oc.expect(http.StatusCreated, http.MethodPost, "/api/v1/orgs/"+o.ID+"/api-keys", map[string]string{"name": "sandbox", "mode": "test"}, &key)
	test := issue(e.as(t, key.Secret), o.ID, bd.ID, "Tess Test", uniqueEmail("tess"))
	b.open(e.url + "/verify/" + test.ID)
	b.see("TEST")
	b.page("verification-test")
	b.narrow("verification-test")
}
