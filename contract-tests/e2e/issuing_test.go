package e2e

import (
	"mime"
	"net/http"
	"strings"
	"testing"
	"time"
)

// testNewcomerPath follows a new issuer from sign-up to a verified credential.
func testNewcomerPath(t *testing.T, e *env) {
	anon := e.anon(t)
	email := uniqueEmail("newcomer")
	signup := map[string]string{"email": email, "password": testPassword, "name": "Nora Newcomer"}
	var msg struct {
		Message string `json:"message"`
	}
	anon.expect(http.StatusCreated, http.MethodPost, "/api/v1/auth/signup", signup, &msg)
	if !strings.Contains(msg.Message, email) {
		t.Errorf("sign-up message %q does not name %s", msg.Message, email)
	}

	login := map[string]string{"email": email, "password": testPassword}
	anon.expectProblem(http.StatusForbidden, "EMAIL_NOT_VERIFIED", http.MethodPost, "/api/v1/auth/login", login)

	// The newcomer follows the link in the mail: a page whose button
	// verifies (a prefetching GET must not use the token up).
	token := e.verificationToken(t, email)
	link := verifyTokenRE.FindString(e.latestMail(t, email, "Verify your email").Body)
	if m := e.latestMail(t, email, "Verify your email"); !strings.Contains(m.Body, e.url+link) {
		t.Errorf("the verification link is not under the public URL %s:\n%s", e.url, m.Body)
	}
	page := anon.do(http.MethodGet, link, nil)
	if page.Status != http.StatusOK || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(page.Body), token) {
		t.Fatalf("the mailed verification link does not open a page with the token: %s", page)
	}
	anon.expectProblem(http.StatusForbidden, "EMAIL_NOT_VERIFIED", http.MethodPost, "/api/v1/auth/login", login)
	// The button posts the page's form (with its CSRF token).
	form, cookie := pageForm(t, anon, link, "token", token)
	if r := anon.do(http.MethodPost, "/verify-email", form, cookie...); r.Status != http.StatusOK || !strings.Contains(string(r.Body), "verified") {
		t.Fatalf("the verification page's button: %s", r)
	}
	form, cookie = pageForm(t, anon, link, "token", token)
	if r := anon.do(http.MethodPost, "/verify-email", form, cookie...); r.Status != http.StatusBadRequest {
		t.Errorf("a used link on the page: want 400: %s", r)
	}
	anon.expectProblem(http.StatusBadRequest, "INVALID_TOKEN", http.MethodPost, "/api/v1/auth/verify-email", map[string]string{"token": token})
	anon.expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodPost, "/api/v1/auth/login",
		map[string]string{"email": email, "password": "not the password at all"})

	// Signing up again with a registered email changes nothing and tells
	// nobody; the owner of the address is mailed.
	anon.expect(http.StatusCreated, http.MethodPost, "/api/v1/auth/signup",
		map[string]string{"email": strings.ToUpper(email), "password": "another password entirely", "name": "Impostor"}, nil)
	e.latestMail(t, email, "Someone tried to sign up")

	owner := e.as(t, e.login(t, " "+strings.ToUpper(email)))
	var me struct {
		Email         string `json:"email"`
		EmailVerified bool   `json:"emailVerified"`
		Admin         bool   `json:"admin"`
		Memberships   []any  `json:"memberships"`
	}
	owner.expect(http.StatusOK, http.MethodGet, "/api/v1/me", nil, &me)
	if me.Email != email || !me.EmailVerified || me.Admin || len(me.Memberships) != 0 {
		t.Errorf("GET /api/v1/me = %+v", me)
	}

	o := createOrg(owner, "Newcomer Academy")
	if o.Status != "pending_review" || o.Role != "owner" || o.Plan != "free" {
		t.Errorf("new organization: status %q role %q plan %q, want pending_review owner free", o.Status, o.Role, o.Plan)
	}
	if !strings.HasPrefix(o.IssuerID, "did:web:") || !strings.HasSuffix(o.IssuerID, ":issuers:"+o.Slug) {
		t.Errorf("issuerId %q is not the issuer's did:web", o.IssuerID)
	}
	// An organization can be fully set up while pending.
	b := createBadge(owner, o.ID, 0)
	recipientEmail := uniqueEmail("rae")
	body := issueBody(b.ID, "  Rae Recipient ", "  "+strings.ToUpper(recipientEmail))
	credentials := "/api/v1/orgs/" + o.ID + "/credentials"
	owner.expectProblem(http.StatusForbidden, "ORG_NOT_APPROVED", http.MethodPost, credentials, body)
	owner.expectProblem(http.StatusForbidden, "FORBIDDEN", http.MethodPost, "/api/v1/admin/orgs/"+o.ID+"/approve", nil)

	e.approve(t, o.ID)
	if m := e.latestMail(t, email, "approved"); !strings.Contains(m.Body, "Newcomer Academy") {
		t.Errorf("approval mail does not name the organization:\n%s", m.Body)
	}
	owner.expectProblem(http.StatusConflict, "SIGNING_KEYS_MISSING", http.MethodPost, credentials, body)

	key := generateKeys(owner, o.ID, "")
	if key.Alg != "ES256" || key.Status != "active" || key.KID != o.IssuerID+"#key-1" {
		t.Errorf("generated key: alg %q status %q kid %q, want ES256 active %s#key-1", key.Alg, key.Status, key.KID, o.IssuerID)
	}
	owner.expectProblem(http.StatusConflict, "SIGNING_KEYS_EXIST", http.MethodPost, "/api/v1/orgs/"+o.ID+"/signing-keys", nil)

	cr := issueWith(owner, o.ID, body)
	if cr.Status != "pending" || cr.State != "new" || !cr.Public || cr.Test {
		t.Errorf("issued: status %q state %q public %v test %v, want pending new true false", cr.Status, cr.State, cr.Public, cr.Test)
	}
	if cr.Recipient.Name != "Rae Recipient" || cr.Recipient.Email != recipientEmail {
		t.Errorf("recipient %+v, want trimmed name and lower-cased email %s", cr.Recipient, recipientEmail)
	}
	if cr.KID != key.KID || cr.ExpiresAt != nil || cr.SupersedesCredentialID != "" {
		t.Errorf("issued: kid %q expiresAt %v supersedes %q", cr.KID, cr.ExpiresAt, cr.SupersedesCredentialID)
	}
	if want := e.url + "/verify/" + cr.ID; cr.VerificationURL != want {
		t.Errorf("verificationUrl %q, want %q", cr.VerificationURL, want)
	}

	hdr, payload := decodeJWS(t, cr.JWT)
	if hdr.Alg != "ES256" || hdr.Typ != "vc+jwt" || hdr.KID != key.KID {
		t.Errorf("JWS header %+v, want ES256 vc+jwt %s", hdr, key.KID)
	}
	if payload["id"] != e.url+"/credentials/"+cr.ID {
		t.Errorf("payload id %v", payload["id"])
	}
	if issuer, _ := payload["issuer"].(map[string]any); issuer["id"] != o.IssuerID {
		t.Errorf("payload issuer %v, want id %s", payload["issuer"], o.IssuerID)
	}
	if subject, _ := payload["credentialSubject"].(map[string]any); subject["name"] != "Rae Recipient" {
		t.Errorf("payload credentialSubject %v", payload["credentialSubject"])
	}
	// The JWT claims generic verifiers need mirror the credential: iss
	// its issuer, nbf its validFrom; a non-expiring one has neither exp
	// nor validUntil, and no credential a jti or iat.
	if payload["iss"] != o.IssuerID {
		t.Errorf("payload iss %v, want the issuer %s", payload["iss"], o.IssuerID)
	}
	if nbf, _ := payload["nbf"].(float64); time.Unix(int64(nbf), 0).UTC().Format(time.RFC3339) != payload["validFrom"] {
		t.Errorf("payload nbf %v, want validFrom %v in seconds", payload["nbf"], payload["validFrom"])
	}
	for _, claim := range []string{"jti", "exp", "iat", "validUntil"} {
		if _, ok := payload[claim]; ok {
			t.Errorf("payload has %q; a non-expiring credential carries no exp or validUntil, and none a jti or iat", claim)
		}
	}
	if strings.Contains(strings.ToLower(string(mustJSON(t, payload))), recipientEmail) {
		t.Errorf("the signed payload carries the recipient's email in clear")
	}

	requireAllChecksOK(t, verifyByID(anon, cr.ID), "pending")

	r := anon.do(http.MethodGet, "/credentials/"+cr.ID+".jwt", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("want 200: %s", r)
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/vc+jwt" {
		t.Errorf("Content-Type %q, want application/vc+jwt", r.Header.Get("Content-Type"))
	}
	if string(r.Body) != cr.JWT {
		t.Errorf("the .jwt file differs from the issued jwt:\n got %s\nwant %s", r.Body, cr.JWT)
	}
	v := verifyPresented(anon, string(r.Body))
	requireAllChecksOK(t, v, "pending")
	if v.Credential == nil || v.Credential.ID != cr.ID {
		t.Errorf("verification of the file names credential %+v, want %s", v.Credential, cr.ID)
	}

	if m := e.latestMail(t, recipientEmail, "new credential"); !strings.Contains(m.Body, cr.VerificationURL) {
		t.Errorf("the recipient's mail has no link to %s:\n%s", cr.VerificationURL, m.Body)
	}
	var locked badge
	owner.expect(http.StatusOK, http.MethodGet, "/api/v1/orgs/"+o.ID+"/badges/"+b.ID, nil, &locked)
	if !locked.Locked {
		t.Errorf("the badge is not locked after issuing")
	}
	var usage struct {
		Verifications int `json:"verifications"`
	}
	owner.expect(http.StatusOK, http.MethodGet, "/api/v1/orgs/"+o.ID+"/usage", nil, &usage)
	if usage.Verifications != 2 {
		t.Errorf("usage counts %d verifications, want 2 (by ID and of the file)", usage.Verifications)
	}

	owner.expect(http.StatusNoContent, http.MethodPost, "/api/v1/auth/logout", nil, nil)
	owner.expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodGet, "/api/v1/me", nil)
}

// testDuplicate: a non-expiring badge cannot be issued twice to one email,
// whatever its case or surrounding spaces.
func testDuplicate(t *testing.T, e *env) {
	owner, o := e.newIssuer(t, "")
	c := e.as(t, owner.Token)
	b := createBadge(c, o.ID, 0)
	email := uniqueEmail("dup")
	first := issue(c, o.ID, b.ID, "Dee Dup", email)

	credentials := "/api/v1/orgs/" + o.ID + "/credentials"
	for _, variant := range []string{strings.ToUpper(email), "  " + email + "\t", " " + strings.ToUpper(email[:1]) + email[1:]} {
		p := c.expectProblem(http.StatusConflict, "DUPLICATE_CREDENTIAL", http.MethodPost, credentials, issueBody(b.ID, "Dee Dup", variant))
		if p.ExistingCredentialID != first.ID {
			t.Errorf("issuing to %q: existingCredentialId %q, want %s", variant, p.ExistingCredentialID, first.ID)
		}
	}
	pf := preflight(c, o.ID, b.ID, strings.ToUpper(email)+" ")
	if pf.State != "active_non_expiring" || pf.ExistingCredentialID != first.ID || pf.CountsTowardQuota {
		t.Errorf("preflight = %+v, want active_non_expiring naming %s, not counting", pf, first.ID)
	}
	if pf := preflight(c, o.ID, b.ID, uniqueEmail("fresh")); pf.State != "new" || pf.ExistingCredentialID != "" || !pf.CountsTowardQuota {
		t.Errorf("preflight of a new email = %+v, want new, counting", pf)
	}
	var list struct {
		Items []credential `json:"items"`
	}
	c.expect(http.StatusOK, http.MethodGet, credentials+"?email="+strings.ToUpper(email), nil, &list)
	if len(list.Items) != 1 || list.Items[0].ID != first.ID {
		t.Errorf("credentials of %s: %+v, want only %s", email, list.Items, first.ID)
	}

	// Deleting a used badge deactivates it: no more issuing, and what it
	// issued still verifies.
	var deleted struct {
		Deleted     bool `json:"deleted"`
		Deactivated bool `json:"deactivated"`
	}
	c.expect(http.StatusOK, http.MethodDelete, "/api/v1/orgs/"+o.ID+"/badges/"+b.ID, nil, &deleted)
	if deleted.Deleted || !deleted.Deactivated {
		t.Errorf("deleting a used badge: %+v, want deactivated", deleted)
	}
	c.expectProblem(http.StatusConflict, "BADGE_INACTIVE", http.MethodPost, credentials, issueBody(b.ID, "Late Comer", uniqueEmail("late")))
	requireAllChecksOK(t, verifyByID(e.anon(t), first.ID), "pending")
}

type preflightResult struct {
	State                string `json:"state"`
	ExistingCredentialID string `json:"existingCredentialId"`
	CountsTowardQuota    bool   `json:"countsTowardQuota"`
}

func preflight(c *client, orgID, badgeID, email string) preflightResult {
	c.t.Helper()
	var p preflightResult
	c.expect(http.StatusOK, http.MethodPost, "/api/v1/orgs/"+orgID+"/credentials/preflight",
		map[string]string{"badgeId": badgeID, "email": email}, &p)
	return p
}

func revoke(c *client, orgID, id, reason string) credential {
	c.t.Helper()
	var cr credential
	c.expect(http.StatusOK, http.MethodPost, "/api/v1/orgs/"+orgID+"/credentials/"+id+"/revoke", map[string]string{"reason": reason}, &cr)
	return cr
}

// testRevokeThenReissue: revoking needs a reason; issuing again links the
// new credential to the revoked one, which stays revoked.
func testRevokeThenReissue(t *testing.T, e *env) {
	owner, o := e.newIssuer(t, "")
	c := e.as(t, owner.Token)
	b := createBadge(c, o.ID, 0)
	email := uniqueEmail("revokee")
	old := issue(c, o.ID, b.ID, "Rex Revoked", email)

	revokePath := "/api/v1/orgs/" + o.ID + "/credentials/" + old.ID + "/revoke"
	c.expectProblem(http.StatusUnprocessableEntity, "VALIDATION_FAILED", http.MethodPost, revokePath, map[string]string{})
	p := c.expectProblem(http.StatusUnprocessableEntity, "VALIDATION_FAILED", http.MethodPost, revokePath, map[string]string{"reason": "   "})
	if len(p.Errors) == 0 || p.Errors[0].Location != "body.reason" {
		t.Errorf("a blank reason: errors %+v, want one at body.reason", p.Errors)
	}
	const reason = "issued in error"
	rv := revoke(c, o.ID, old.ID, reason)
	if rv.Status != "revoked" || rv.RevocationReason != reason || rv.RevokedAt == nil {
		t.Errorf("revoked: status %q reason %q revokedAt %v", rv.Status, rv.RevocationReason, rv.RevokedAt)
	}
	c.expectProblem(http.StatusConflict, "INVALID_STATE", http.MethodPost, revokePath, map[string]string{"reason": "again"})

	anon := e.anon(t)
	v := verifyByID(anon, old.ID)
	if rc := v.check(t, "revocation"); v.Result != "revoked" || rc.OK || !strings.Contains(rc.Detail, reason) {
		t.Errorf("verify revoked: result %q revocation %+v", v.Result, rc)
	}
	if sc := v.check(t, "signature"); !sc.OK {
		t.Errorf("a revoked credential's signature still verifies: %+v", sc)
	}

	if pf := preflight(c, o.ID, b.ID, email); pf.State != "revoked" || pf.ExistingCredentialID != old.ID {
		t.Errorf("preflight after revoking = %+v, want revoked naming %s", pf, old.ID)
	}
	next := issue(c, o.ID, b.ID, "Rex Revoked", email)
	if next.State != "revoked" || next.SupersedesCredentialID != old.ID || next.Status != "pending" {
		t.Errorf("re-issued: state %q supersedes %q status %q, want revoked %s pending", next.State, next.SupersedesCredentialID, next.Status, old.ID)
	}
	after := getCredential(c, o.ID, old.ID)
	if after.Status != "revoked" || after.RevocationReason != reason || after.SupersededByCredentialID != next.ID {
		t.Errorf("old after re-issue: status %q reason %q supersededBy %q, want revoked %q %s",
			after.Status, after.RevocationReason, after.SupersededByCredentialID, reason, next.ID)
	}
	if after.RevokedAt == nil || rv.RevokedAt == nil || !after.RevokedAt.Equal(*rv.RevokedAt) {
		t.Errorf("revokedAt changed: %v → %v", rv.RevokedAt, after.RevokedAt)
	}
	v = verifyByID(anon, old.ID)
	if v.Result != "revoked" || v.Credential == nil || v.Credential.SupersededByCredentialID != next.ID {
		t.Errorf("public verification of the old one: result %q credential %+v", v.Result, v.Credential)
	}
	requireAllChecksOK(t, verifyByID(anon, next.ID), "pending")

	var list struct {
		Items []credential `json:"items"`
	}
	c.expect(http.StatusOK, http.MethodGet, "/api/v1/orgs/"+o.ID+"/credentials?status=revoked", nil, &list)
	if len(list.Items) != 1 || list.Items[0].ID != old.ID {
		t.Errorf("revoked credentials: %+v, want only %s", list.Items, old.ID)
	}
}

// testRenewal: issuing a time-bound badge again revokes the active one
// ("superseded by renewal") and links both.
func testRenewal(t *testing.T, e *env) {
	owner, o := e.newIssuer(t, "")
	c := e.as(t, owner.Token)
	b := createBadge(c, o.ID, 30)
	if b.ExpiresInDays == nil || *b.ExpiresInDays != 30 {
		t.Fatalf("badge expiresInDays %v, want 30", b.ExpiresInDays)
	}
	email := uniqueEmail("renewee")
	old := issue(c, o.ID, b.ID, "Ren Renewed", email)
	if old.ExpiresAt == nil || !within(old.ExpiresAt.Sub(old.IssuedAt), 30*24*time.Hour, time.Second) {
		t.Errorf("expiresAt %v for issuedAt %s, want 30 days later", old.ExpiresAt, old.IssuedAt)
	}
	if _, payload := decodeJWS(t, old.JWT); payload["validUntil"] != old.ExpiresAt.UTC().Format(time.RFC3339) {
		t.Errorf("signed validUntil %v, want %s", payload["validUntil"], old.ExpiresAt.UTC().Format(time.RFC3339))
	}

	if pf := preflight(c, o.ID, b.ID, email); pf.State != "active_time_bound" || pf.ExistingCredentialID != old.ID || pf.CountsTowardQuota {
		t.Errorf("preflight = %+v, want active_time_bound naming %s, not counting", pf, old.ID)
	}
	renewed := issue(c, o.ID, b.ID, "Ren Renewed", strings.ToUpper(email))
	if renewed.State != "active_time_bound" || renewed.SupersedesCredentialID != old.ID || renewed.Status != "pending" {
		t.Errorf("renewal: state %q supersedes %q status %q", renewed.State, renewed.SupersedesCredentialID, renewed.Status)
	}
	if renewed.ExpiresAt == nil || renewed.ExpiresAt.Before(*old.ExpiresAt) {
		t.Errorf("renewed expiresAt %v, old %v", renewed.ExpiresAt, old.ExpiresAt)
	}
	after := getCredential(c, o.ID, old.ID)
	if after.Status != "revoked" || after.RevocationReason != "superseded by renewal" || after.SupersededByCredentialID != renewed.ID {
		t.Errorf("old after renewal: status %q reason %q supersededBy %q", after.Status, after.RevocationReason, after.SupersededByCredentialID)
	}
	anon := e.anon(t)
	if v := verifyByID(anon, old.ID); v.Result != "revoked" {
		t.Errorf("verify the renewed-away credential: %q, want revoked", v.Result)
	}
	v := verifyByID(anon, renewed.ID)
	requireAllChecksOK(t, v, "pending")
	if ec := v.check(t, "expiry"); !strings.Contains(ec.Detail, "valid until") {
		t.Errorf("expiry check detail %q", ec.Detail)
	}
	if m := e.latestMail(t, email, "renewed"); !strings.Contains(m.Body, renewed.ID) || !strings.Contains(m.Body, old.ID) {
		t.Errorf("renewal mail does not name both credentials:\n%s", m.Body)
	}
}

// testQuota runs on a server whose free plan allows 3 new recipients a month.
func testQuota(t *testing.T, e *env) {
	owner, o := e.newIssuer(t, "")
	c := e.as(t, owner.Token)
	b1, b2 := createBadge(c, o.ID, 0), createBadge(c, o.ID, 0)
	emails := []string{uniqueEmail("q1"), uniqueEmail("q2"), uniqueEmail("q3"), uniqueEmail("q4")}
	var firsts []credential
	for _, email := range emails[:3] {
		firsts = append(firsts, issue(c, o.ID, b1.ID, "Quinn Quota", email))
	}
	if pf := preflight(c, o.ID, b1.ID, emails[3]); pf.State != "new" || !pf.CountsTowardQuota {
		t.Errorf("preflight of a 4th recipient = %+v, want new, counting", pf)
	}
	if pf := preflight(c, o.ID, b2.ID, emails[0]); pf.State != "new" || pf.CountsTowardQuota {
		t.Errorf("preflight of a counted recipient with another badge = %+v, want new, not counting", pf)
	}

	credentials := "/api/v1/orgs/" + o.ID + "/credentials"
	requireQuotaExceeded := func(body map[string]any) {
		t.Helper()
		before := nextMonthStart(time.Now())
		p := c.expectProblem(http.StatusForbidden, "QUOTA_EXCEEDED", http.MethodPost, credentials, body)
		after := nextMonthStart(time.Now())
		if p.Used == nil || *p.Used != 3 || p.Limit == nil || *p.Limit != 3 {
			t.Errorf("QUOTA_EXCEEDED used %v limit %v, want 3 and 3", deref(p.Used), deref(p.Limit))
		}
		if p.ResetsAt == nil || (!p.ResetsAt.Equal(before) && !p.ResetsAt.Equal(after)) {
			t.Errorf("resetsAt %v, want %s", p.ResetsAt, before)
		}
	}
	requireQuotaExceeded(issueBody(b1.ID, "Quinn Quota", emails[3]))

	// Recipients counted this month cost nothing more.
	issue(c, o.ID, b2.ID, "Quinn Quota", emails[0])
	revoke(c, o.ID, firsts[1].ID, "wrong name")
	if again := issue(c, o.ID, b1.ID, "Quinn Quota", emails[1]); again.SupersedesCredentialID != firsts[1].ID {
		t.Errorf("re-issue after revoking supersedes %q, want %s", again.SupersedesCredentialID, firsts[1].ID)
	}
	issue(c, o.ID, b2.ID, "Quinn Quota", " "+strings.ToUpper(emails[2]))
	requireQuotaExceeded(issueBody(b2.ID, "Quinn Quota", emails[3]))

	var usage struct {
		Plan  string `json:"plan"`
		Quota struct {
			Used     int       `json:"used"`
			Limit    int       `json:"limit"`
			ResetsAt time.Time `json:"resetsAt"`
		} `json:"quota"`
	}
	c.expect(http.StatusOK, http.MethodGet, "/api/v1/orgs/"+o.ID+"/usage", nil, &usage)
	if usage.Plan != "free" || usage.Quota.Used != 3 || usage.Quota.Limit != 3 {
		t.Errorf("usage = %+v, want free with 3 of 3 used", usage)
	}

	// Concurrent issuers to distinct new recipients never exceed the quota.
	raceOwner, raceOrg := e.newIssuer(t, "")
	rc := e.as(t, raceOwner.Token)
	rb := createBadge(rc, raceOrg.ID, 0)
	rs := race(t, rc, concurrency, http.MethodPost, "/api/v1/orgs/"+raceOrg.ID+"/credentials", func(int) any {
		return issueBody(rb.ID, "Quinn Race", uniqueEmail("qrace"))
	})
	issued := 0
	for _, r := range rs {
		switch r.Status {
		case http.StatusCreated:
			issued++
		case http.StatusForbidden:
			if p := decodeProblem(t, r); p.Code != "QUOTA_EXCEEDED" {
				t.Errorf("a refused issuer: %s", r)
			}
		default:
			t.Errorf("a racing issuer: %s", r)
		}
	}
	rc.expect(http.StatusOK, http.MethodGet, "/api/v1/orgs/"+raceOrg.ID+"/usage", nil, &usage)
	if issued != 3 || usage.Quota.Used != 3 {
		t.Errorf("%d concurrent issues to new recipients: %d succeeded and usage says %d, want 3 and 3", concurrency, issued, usage.Quota.Used)
	}
}

func nextMonthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC)
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func within(got, want, tolerance time.Duration) bool {
	d := got - want
	return d >= -tolerance && d <= tolerance
}
