package httpapi

import (
	"encoding/json"
	"net/http"
	"testing"
)

// Issuing as a client meets it: the org's review and keys gate it; a
// credential is signed and listed; issuing again follows the pre-issue
// state (duplicate, renewal, reissue after revocation); the quota counts
// new recipients.
func TestCredentialIssuance(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner := s.signUp(uniqueEmail("issuer"))
	var o testOrg
	s.expect(http.StatusCreated, http.MethodPost, "/api/v1/orgs", owner.Token, map[string]string{"name": uniqueName("Gated")}, &o)
	org := "/api/v1/orgs/" + o.ID
	b := s.createBadge(owner.Token, o.ID, 0)
	s.expectProblem(http.StatusForbidden, "ORG_NOT_APPROVED", http.MethodPost, org+"/credentials", owner.Token, issueBody(b.ID, uniqueEmail("early")))
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/admin/orgs/"+o.ID+"/approve", s.admin(), nil, nil)
	s.expectProblem(http.StatusConflict, "SIGNING_KEYS_MISSING", http.MethodPost, org+"/credentials", owner.Token, issueBody(b.ID, uniqueEmail("early")))
	s.expect(http.StatusCreated, http.MethodPost, org+"/signing-keys", owner.Token, nil, nil)
	s.expectProblem(http.StatusNotFound, "NOT_FOUND", http.MethodPost, org+"/credentials", owner.Token, issueBody("00000000-0000-4000-8000-000000000000", uniqueEmail("x")))
	p := s.expectProblem(http.StatusUnprocessableEntity, "VALIDATION_FAILED", http.MethodPost, org+"/credentials", owner.Token,
		map[string]any{"badgeId": b.ID, "recipient": map[string]string{"name": "Bea", "email": "@@"}})
	if len(p.Errors) != 1 || p.Errors[0].Location != "body.recipient.email" {
		t.Errorf("errors %+v", p.Errors)
	}

	type preflight struct {
		State                string `json:"state"`
		ExistingCredentialID string `json:"existingCredentialId"`
		CountsTowardQuota    bool   `json:"countsTowardQuota"`
	}
	email := uniqueEmail("grace")
	var pre preflight
	s.expect(http.StatusOK, http.MethodPost, org+"/credentials/preflight", owner.Token, map[string]string{"badgeId": b.ID, "email": email}, &pre)
	if pre.State != "new" || !pre.CountsTowardQuota {
		t.Fatalf("preflight of a new recipient %+v", pre)
	}
	c := s.issue(owner.Token, o.ID, b.ID, email)
	if !credentialIDRE.MatchString(c.ID) || c.Status != "pending" || c.State != "new" || c.JWT == "" || !c.Public || c.KID == "" ||
		c.Recipient.Email != email {
		t.Fatalf("issued %+v", c)
	}
	s.mail(email, "") // the recipient is told

	// A second non-expiring credential of the badge is refused, naming the first.
	s.expect(http.StatusOK, http.MethodPost, org+"/credentials/preflight", owner.Token, map[string]string{"badgeId": b.ID, "email": email}, &pre)
	if pre.State != "active_non_expiring" || pre.ExistingCredentialID != c.ID {
		t.Fatalf("preflight of a holder %+v", pre)
	}
	dup := s.expectProblem(http.StatusConflict, "DUPLICATE_CREDENTIAL", http.MethodPost, org+"/credentials", owner.Token, issueBody(b.ID, email))
	if dup.ExistingCredentialID != c.ID {
		t.Errorf("duplicate names %q, want %s", dup.ExistingCredentialID, c.ID)
	}

	// Revoked, then issued again: linked, the old one stays revoked.
	s.expectProblem(http.StatusUnprocessableEntity, "VALIDATION_FAILED", http.MethodPost, org+"/credentials/"+c.ID+"/revoke", owner.Token, map[string]string{"reason": ""})
	var revoked testCredential
	s.expect(http.StatusOK, http.MethodPost, org+"/credentials/"+c.ID+"/revoke", owner.Token, map[string]string{"reason": "issued in error"}, &revoked)
	if revoked.Status != "revoked" || revoked.RevokedAt == "" {
		t.Fatalf("revoked %+v", revoked)
	}
	again := s.issue(owner.Token, o.ID, b.ID, email)
	if again.State != "revoked" || again.SupersedesCredentialID != c.ID {
		t.Fatalf("reissued %+v", again)
	}

	// A time-bound credential is renewed: the old one revoked and linked.
	timed := s.createBadge(owner.Token, o.ID, 30)
	first := s.issue(owner.Token, o.ID, timed.ID, email)
	renewal := s.issue(owner.Token, o.ID, timed.ID, email)
	if renewal.State != "active_time_bound" || renewal.SupersedesCredentialID != first.ID {
		t.Fatalf("renewal %+v", renewal)
	}
	var old testCredential
	s.expect(http.StatusOK, http.MethodGet, org+"/credentials/"+first.ID, owner.Token, nil, &old)
	if old.Status != "revoked" || old.SupersededByCredentialID != renewal.ID || old.JWT == "" {
		t.Fatalf("renewed credential %+v", old)
	}

	// Lists filter by badge, email and status.
	var list struct {
		Items      []testCredential `json:"items"`
		NextCursor string           `json:"nextCursor"`
	}
	s.expect(http.StatusOK, http.MethodGet, org+"/credentials?status=revoked", owner.Token, nil, &list)
	if len(list.Items) != 2 {
		t.Fatalf("revoked credentials %+v", list)
	}
	s.expect(http.StatusOK, http.MethodGet, org+"/credentials?badgeId="+timed.ID+"&limit=1", owner.Token, nil, &list)
	if len(list.Items) != 1 || list.Items[0].ID != renewal.ID || list.NextCursor == "" {
		t.Fatalf("newest of the timed badge %+v", list)
	}
	s.expectProblem(http.StatusUnprocessableEntity, "VALIDATION_FAILED", http.MethodGet, org+"/credentials?status=lost", owner.Token, nil)
	s.expectProblem(http.StatusNotFound, "NOT_FOUND", http.MethodGet, org+"/credentials/CRD-00000000", owner.Token, nil)

	// Resending mails the link again once per cooldown: a mail still on
	// its way is answered as it is, a sent one waits.
	w := s.do(http.MethodPost, org+"/credentials/"+renewal.ID+"/resend", owner.Token, nil)
	switch w.Code {
	case http.StatusAccepted:
		var mail struct {
			CredentialID string `json:"credentialId"`
			Status       string `json:"status"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &mail); err != nil || mail.CredentialID != renewal.ID || mail.Status == "" {
			t.Fatalf("resent %s (%v)", w.Body, err)
		}
	default:
		wantProblem(t, w, http.StatusTooManyRequests, "RATE_LIMITED")
		if w.Header().Get("Retry-After") == "" {
			t.Errorf("a cooling resend without Retry-After: %v", w.Header())
		}
	}
}

// The monthly quota counts distinct new recipients; re-issuing to one
// counted is free; over it, QUOTA_EXCEEDED says the numbers.
func TestCredentialQuota(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer(testPlan) // 2 new recipients a month
	b := s.createBadge(owner.Token, o.ID, 0)
	b2 := s.createBadge(owner.Token, o.ID, 0)
	one, two := uniqueEmail("one"), uniqueEmail("two")
	s.issue(owner.Token, o.ID, b.ID, one)
	s.issue(owner.Token, o.ID, b.ID, two)
	s.issue(owner.Token, o.ID, b2.ID, one) // counted already
	p := s.expectProblem(http.StatusForbidden, "QUOTA_EXCEEDED", http.MethodPost, "/api/v1/orgs/"+o.ID+"/credentials", owner.Token, issueBody(b.ID, uniqueEmail("three")))
	if p.Used == nil || *p.Used != 2 || p.Limit == nil || *p.Limit != 2 || p.ResetsAt == nil {
		t.Fatalf("quota problem %+v", p)
	}
	var pre struct {
		CountsTowardQuota bool `json:"countsTowardQuota"`
	}
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/orgs/"+o.ID+"/credentials/preflight", owner.Token, map[string]string{"badgeId": b2.ID, "email": two}, &pre)
	if pre.CountsTowardQuota {
		t.Error("a recipient counted this month counts again")
	}
}
