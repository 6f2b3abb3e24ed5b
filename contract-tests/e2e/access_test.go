package e2e

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// testPrivateCredential: a private credential shows only to its recipient
// and to members of the issuing organization.
func testPrivateCredential(t *testing.T, e *env) {
	owner, o := e.newIssuer(t, "")
	c := e.as(t, owner.Token)
	recipient := e.newUser(t, "private")
	stranger := e.newUser(t, "stranger")
	b := createBadge(c, o.ID, 0)
	body := issueBody(b.ID, "Pia Private", recipient.Email)
	body["public"] = false
	cr := issueWith(c, o.ID, body)
	if cr.Public {
		t.Fatalf("issued with public:false, got public:true")
	}

	view := "/api/v1/credentials/" + cr.ID
	for who, cl := range map[string]*client{
		"anonymous":    e.anon(t),
		"a bad token":  e.as(t, "crs_not-a-real-session"),
		"another user": e.as(t, stranger.Token),
		// DESIGN: private means recipient and issuer only; a platform
		// administrator is neither.
		"a platform administrator": e.admin(t),
	} {
		for _, path := range []string{view, view + "/verify", "/credentials/" + cr.ID + ".jwt", "/credentials/" + cr.ID} {
			r := cl.do(http.MethodGet, path, nil)
			if r.Status != http.StatusForbidden {
				t.Errorf("%s: want 403: %s", who, r)
				continue
			}
			if p := decodeProblem(t, r); p.Code != "CREDENTIAL_PRIVATE" {
				t.Errorf("%s: want CREDENTIAL_PRIVATE: %s", who, r)
			}
		}
	}
	for who, cl := range map[string]*client{"the recipient": e.as(t, recipient.Token), "an org member": c} {
		var pub struct {
			ID        string `json:"id"`
			Public    bool   `json:"public"`
			Recipient struct {
				Name string `json:"name"`
			} `json:"recipient"`
		}
		cl.expect(http.StatusOK, http.MethodGet, view, nil, &pub)
		if pub.ID != cr.ID || pub.Public || pub.Recipient.Name != "Pia Private" {
			t.Errorf("%s sees %+v", who, pub)
		}
		requireAllChecksOK(t, verifyByID(cl, cr.ID), "pending")
		if r := cl.do(http.MethodGet, "/credentials/"+cr.ID+".jwt", nil); r.Status != http.StatusOK || string(r.Body) != cr.JWT {
			t.Errorf("%s downloads the file: %s", who, r)
		}
	}

	// Nor does an administrator read the organization's credentials or
	// recipients through it (the organization itself, yes: support).
	admin := e.admin(t)
	org := "/api/v1/orgs/" + o.ID
	for _, path := range []string{org + "/credentials", org + "/credentials/" + cr.ID, org + "/bulk-issuances"} {
		admin.expectProblem(http.StatusForbidden, "FORBIDDEN", http.MethodGet, path, nil)
	}
	for _, path := range []string{org, org + "/members", org + "/usage", org + "/badges"} {
		admin.expect(http.StatusOK, http.MethodGet, path, nil, nil)
	}

	// A public credential shows to anyone, with the email masked.
	pubCr := issue(c, o.ID, b.ID, "Paul Public", stranger.Email)
	var pub struct {
		Recipient struct {
			Email string `json:"email"`
		} `json:"recipient"`
	}
	e.anon(t).expect(http.StatusOK, http.MethodGet, "/api/v1/credentials/"+pubCr.ID, nil, &pub)
	if pub.Recipient.Email == stranger.Email || !strings.Contains(pub.Recipient.Email, "***") {
		t.Errorf("the public view shows the email %q unmasked", pub.Recipient.Email)
	}
}

// testClaimRules: only the signed-in recipient claims, once, and only
// a credential that is neither revoked nor expired.
func testClaimRules(t *testing.T, e *env) {
	owner, o := e.newIssuer(t, "")
	c := e.as(t, owner.Token)
	b1, b2 := createBadge(c, o.ID, 0), createBadge(c, o.ID, 0)
	email := uniqueEmail("claimer")
	// Issued before the recipient has an account, to another spelling.
	cr := issue(c, o.ID, b1.ID, "Cleo Claimer", strings.ToUpper(email))
	gone := issue(c, o.ID, b2.ID, "Cleo Claimer", email)
	revoke(c, o.ID, gone.ID, "issued by mistake")

	claim := func(id string) string { return "/api/v1/credentials/" + id + "/claim" }
	e.anon(t).expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodPost, claim(cr.ID), nil)

	recipient := e.as(t, e.registerAs(t, email, "Cleo Claimer").Token)
	other := e.as(t, e.newUser(t, "other").Token)
	other.expectProblem(http.StatusForbidden, "EMAIL_MISMATCH", http.MethodPost, claim(cr.ID), nil)
	c.expectProblem(http.StatusForbidden, "EMAIL_MISMATCH", http.MethodPost, claim(cr.ID), nil) // the issuer is not the recipient

	var claimed credential
	recipient.expect(http.StatusOK, http.MethodPost, claim(cr.ID), nil, &claimed)
	if claimed.ID != cr.ID || claimed.Status != "valid" || claimed.ClaimedAt == nil {
		t.Errorf("claimed: id %q status %q claimedAt %v, want %s valid set", claimed.ID, claimed.Status, claimed.ClaimedAt, cr.ID)
	}
	requireAllChecksOK(t, verifyByID(e.anon(t), cr.ID), "valid")
	requireAllChecksOK(t, verifyPresented(e.anon(t), cr.JWT), "valid")
	if got := getCredential(c, o.ID, cr.ID); got.Status != "valid" {
		t.Errorf("the issuer sees status %q, want valid", got.Status)
	}
	for status, want := range map[string]string{"valid": cr.ID, "pending": "", "revoked": gone.ID} {
		var ids []string
		for _, got := range listCredentials(c, o.ID, "?status="+status) {
			ids = append(ids, got.ID)
		}
		if (want == "" && len(ids) != 0) || (want != "" && !slices.Equal(ids, []string{want})) {
			t.Errorf("?status=%s lists %v, want %q", status, ids, want)
		}
	}

	recipient.expectProblem(http.StatusConflict, "ALREADY_CLAIMED", http.MethodPost, claim(cr.ID), nil)
	recipient.expectProblem(http.StatusConflict, "NOT_CLAIMABLE", http.MethodPost, claim(gone.ID), nil)
	recipient.expectProblem(http.StatusNotFound, "NOT_FOUND", http.MethodPost, claim("CRD-00000000"), nil)

	var mine struct {
		Items []credential `json:"items"`
	}
	recipient.expect(http.StatusOK, http.MethodGet, "/api/v1/me/credentials", nil, &mine)
	ids := map[string]string{}
	for _, m := range mine.Items {
		ids[m.ID] = m.Status
	}
	if ids[cr.ID] != "valid" || ids[gone.ID] != "revoked" || len(ids) != 2 {
		t.Errorf("GET /api/v1/me/credentials = %v, want %s valid and %s revoked", ids, cr.ID, gone.ID)
	}
	other.expect(http.StatusOK, http.MethodGet, "/api/v1/me/credentials", nil, &mine)
	if len(mine.Items) != 0 {
		t.Errorf("another user lists %d credentials, want none", len(mine.Items))
	}
}

type apiKey struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Mode   string `json:"mode"`
	Prefix string `json:"prefix"`
	Last4  string `json:"last4"`
	Secret string `json:"secret"`
}

// testAPIKeys: API keys need the Professional plan, act as their
// organization only, and stop working when revoked or when the plan
// loses API access.
func testAPIKeys(t *testing.T, e *env) {
	owner, o := e.newIssuer(t, "")
	c := e.as(t, owner.Token)
	b := createBadge(c, o.ID, 0)
	keys := "/api/v1/orgs/" + o.ID + "/api-keys"
	newKey := map[string]string{"name": "CI", "mode": "live"}
	c.expectProblem(http.StatusForbidden, "PLAN_REQUIRED", http.MethodPost, keys, newKey)

	setPlan := func(plan string) {
		t.Helper()
		var got org
		e.admin(t).expect(http.StatusOK, http.MethodPut, "/api/v1/admin/orgs/"+o.ID+"/plan", map[string]string{"plan": plan}, &got)
		if got.Plan != plan {
			t.Fatalf("plan %q after setting %q", got.Plan, plan)
		}
	}
	c.expectProblem(http.StatusForbidden, "FORBIDDEN", http.MethodPut, "/api/v1/admin/orgs/"+o.ID+"/plan", map[string]string{"plan": "enterprise"})
	setPlan("professional")

	var k apiKey
	r := c.expect(http.StatusCreated, http.MethodPost, keys, newKey, &k)
	if !strings.HasPrefix(k.Secret, "crk_live_") || k.Prefix != "crk_live_" || k.Mode != "live" || len(k.Last4) != 4 || !strings.HasSuffix(k.Secret, k.Last4) {
		t.Fatalf("created key %s", r)
	}
	var list struct {
		Items []apiKey `json:"items"`
	}
	r = c.expect(http.StatusOK, http.MethodGet, keys, nil, &list)
	if len(list.Items) != 1 || list.Items[0].ID != k.ID || list.Items[0].Last4 != k.Last4 || list.Items[0].Prefix != "crk_live_" {
		t.Errorf("listed keys %s", r)
	}
	if strings.Contains(string(r.Body), k.Secret) || strings.Contains(string(r.Body), `"secret"`) {
		t.Errorf("the list shows the secret: %s", r)
	}

	key := e.as(t, k.Secret)
	byKey := issue(key, o.ID, b.ID, "Kay Keyed", uniqueEmail("keyed"))
	if byKey.Test || byKey.Status != "pending" {
		t.Errorf("issued with a live key: test %v status %q", byKey.Test, byKey.Status)
	}
	revoke(key, o.ID, byKey.ID, "API keys may revoke")

	c.expectProblem(http.StatusForbidden, "PLAN_LIMIT_REACHED", http.MethodPost, keys, map[string]string{"name": "second", "mode": "live"})
	key.expectProblem(http.StatusForbidden, "FORBIDDEN", http.MethodPost, keys, map[string]string{"name": "by a key"})

	// Another organization is invisible to the key.
	otherOwner, other := e.newIssuer(t, "")
	otherBadge := createBadge(e.as(t, otherOwner.Token), other.ID, 0)
	for _, call := range []struct {
		method, path string
		body         any
	}{
		{http.MethodGet, "/api/v1/orgs/" + other.ID, nil},
		{http.MethodGet, "/api/v1/orgs/" + other.ID + "/credentials", nil},
		{http.MethodGet, "/api/v1/orgs/" + other.ID + "/badges", nil},
		{http.MethodPost, "/api/v1/orgs/" + other.ID + "/credentials", issueBody(otherBadge.ID, "Kay Keyed", uniqueEmail("keyed"))},
		{http.MethodPost, "/api/v1/orgs/" + o.ID + "/credentials", issueBody(otherBadge.ID, "Kay Keyed", uniqueEmail("keyed"))},
	} {
		key.expectProblem(http.StatusNotFound, "NOT_FOUND", call.method, call.path, call.body)
	}

	setPlan("free") // no API access: the plan change revokes the key
	key.expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodPost, "/api/v1/orgs/"+o.ID+"/credentials",
		issueBody(b.ID, "Kay Keyed", uniqueEmail("keyed")))
	key.expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodGet, "/api/v1/orgs/"+o.ID+"/credentials", nil)

	c.expect(http.StatusNoContent, http.MethodDelete, keys+"/"+k.ID, nil, nil)
	key.expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodGet, "/api/v1/orgs/"+o.ID+"/credentials", nil)
	setPlan("professional")
	key.expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodPost, "/api/v1/orgs/"+o.ID+"/credentials",
		issueBody(b.ID, "Kay Keyed", uniqueEmail("keyed")))
	// The revoked key no longer fills the plan's one slot.
	var second apiKey
	c.expect(http.StatusCreated, http.MethodPost, keys, map[string]string{"name": "replacement", "mode": "test"}, &second)
	if !strings.HasPrefix(second.Secret, "crk_test_") {
		t.Errorf("test key secret %q, want crk_test_…", second.Secret)
	}
	quotaUsed := func() int { t.Helper(); return quotaUsed(c, o.ID) }
	before := quotaUsed()
	if testCr := issue(e.as(t, second.Secret), o.ID, b.ID, "Tess Test", uniqueEmail("test")); !testCr.Test {
		t.Errorf("a credential issued with a test key is not marked test")
	}
	if after := quotaUsed(); after != before {
		t.Errorf("test-mode issuance counted toward the quota: %d → %d", before, after)
	}
}

// testSuspendedOrg: a suspended issuer cannot issue; what it issued still
// verifies.
func testSuspendedOrg(t *testing.T, e *env) {
	owner, o := e.newIssuer(t, "")
	c := e.as(t, owner.Token)
	b := createBadge(c, o.ID, 0)
	cr := issue(c, o.ID, b.ID, "Sam Suspended", uniqueEmail("susp"))

	suspend := "/api/v1/admin/orgs/" + o.ID + "/suspend"
	c.expectProblem(http.StatusForbidden, "FORBIDDEN", http.MethodPost, suspend, map[string]string{"reason": "self-suspension"})
	e.admin(t).expectProblem(http.StatusUnprocessableEntity, "VALIDATION_FAILED", http.MethodPost, suspend, map[string]string{"reason": ""})
	var got org
	e.admin(t).expect(http.StatusOK, http.MethodPost, suspend, map[string]string{"reason": "unpaid invoices"}, &got)
	if got.Status != "suspended" || got.StatusReason != "unpaid invoices" {
		t.Errorf("suspended: status %q reason %q", got.Status, got.StatusReason)
	}
	e.latestMail(t, owner.Email, "suspended")
	c.expect(http.StatusOK, http.MethodGet, "/api/v1/orgs/"+o.ID, nil, &got)
	if got.Status != "suspended" {
		t.Errorf("the owner sees status %q", got.Status)
	}

	p := c.expectProblem(http.StatusForbidden, "ORG_NOT_APPROVED", http.MethodPost, "/api/v1/orgs/"+o.ID+"/credentials",
		issueBody(b.ID, "Sam Suspended", uniqueEmail("susp")))
	if !strings.Contains(p.Detail, "suspended") {
		t.Errorf("ORG_NOT_APPROVED detail %q does not say suspended", p.Detail)
	}

	anon := e.anon(t)
	for _, v := range []verification{verifyByID(anon, cr.ID), verifyPresented(anon, cr.JWT)} {
		requireAllChecksOK(t, v, "pending")
		if ic := v.check(t, "issuer"); !strings.Contains(ic.Detail, "suspended") {
			t.Errorf("issuer check detail %q does not say suspended", ic.Detail)
		}
		if v.Credential == nil || v.Credential.Issuer.Status != "suspended" {
			t.Errorf("verification credential %+v, want issuer status suspended", v.Credential)
		}
	}
	var set jwks
	anon.expect(http.StatusOK, http.MethodGet, "/issuers/"+o.Slug+"/jwks.json", nil, &set)
	if !slices.Contains(set.kids(t), cr.KID) {
		t.Errorf("the suspended issuer's JWKS lacks %s", cr.KID)
	}

	// Lifting the suspension restores issuing.
	e.approve(t, o.ID)
	issue(c, o.ID, b.ID, "Sam Suspended", uniqueEmail("susp"))
}

// testMailedLinks: the links Credence mails open pages on the server.
func testMailedLinks(t *testing.T, e *env) {
	owner, o := e.newIssuer(t, "")
	c := e.as(t, owner.Token)
	b := createBadge(c, o.ID, 0)
	email := uniqueEmail("linked")
	cr := issue(c, o.ID, b.ID, "Lin Linked", email)
	m := e.latestMail(t, email, "new credential")
	if !strings.Contains(m.Body, cr.VerificationURL) || !strings.HasPrefix(cr.VerificationURL, e.url+"/verify/") {
		t.Fatalf("the issued mail does not carry the verification URL %s:\n%s", cr.VerificationURL, m.Body)
	}
	anon := e.anon(t)
	for _, path := range []string{strings.TrimPrefix(cr.VerificationURL, e.url), "/verify"} {
		r := anon.do(http.MethodGet, path, nil)
		if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s (API.md: the HTML verification page / look-up form; the issued mail links to it): %s", path, r)
		}
	}
	if r := anon.do(http.MethodGet, strings.TrimPrefix(cr.VerificationURL, e.url), nil); r.Status == http.StatusOK && !strings.Contains(string(r.Body), cr.ID) {
		t.Errorf("the verification page does not name %s", cr.ID)
	}
}
