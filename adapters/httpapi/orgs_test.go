package httpapi

import (
	"net/http"
	"strings"
	"testing"
)

// An organization from creation to review: pending until a platform
// administrator decides; rejected ones are edited and resubmitted; a plan
// changes its caps; usage tells the quota.
func TestOrgs(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner := s.signUp(uniqueEmail("founder"))
	var o testOrg
	s.expect(http.StatusCreated, http.MethodPost, "/api/v1/orgs", owner.Token,
		map[string]string{"name": "Open Academy", "websiteUrl": "https://academy.example.com"}, &o)
	if o.Status != "pending_review" || o.Role != "owner" || o.Plan != "free" || o.Slug != "open-academy" ||
		o.IssuerID != "did:web:credence.test:issuers:open-academy" {
		t.Fatalf("created org %+v", o)
	}
	s.expectProblem(http.StatusConflict, "SLUG_TAKEN", http.MethodPost, "/api/v1/orgs", owner.Token, map[string]string{"name": "Open Academy"})
	p := s.expectProblem(http.StatusUnprocessableEntity, "VALIDATION_FAILED", http.MethodPost, "/api/v1/orgs", owner.Token,
		map[string]string{"name": "X", "websiteUrl": "javascript:alert(1)"})
	if len(p.Errors) == 0 || !strings.HasPrefix(p.Errors[0].Location, "body.websiteUrl") {
		t.Errorf("errors %+v", p.Errors)
	}

	var list struct {
		Items []testOrg `json:"items"`
	}
	s.expect(http.StatusOK, http.MethodGet, "/api/v1/orgs", owner.Token, nil, &list)
	if len(list.Items) != 1 || list.Items[0].ID != o.ID || list.Items[0].Role != "owner" {
		t.Fatalf("my orgs %+v", list)
	}
	var edited struct {
		Description string `json:"description"`
	}
	s.expect(http.StatusOK, http.MethodPatch, "/api/v1/orgs/"+o.ID, owner.Token, map[string]string{"description": "We teach"}, &edited)
	if edited.Description != "We teach" {
		t.Errorf("edited %+v", edited)
	}

	// Review by the platform administrator; the owner may not decide.
	admin := s.admin()
	s.expectProblem(http.StatusForbidden, "FORBIDDEN", http.MethodPost, "/api/v1/admin/orgs/"+o.ID+"/approve", owner.Token, nil)
	s.expectProblem(http.StatusForbidden, "FORBIDDEN", http.MethodGet, "/api/v1/admin/orgs", owner.Token, nil)
	var pending struct {
		Items []testOrg `json:"items"`
	}
	s.expect(http.StatusOK, http.MethodGet, "/api/v1/admin/orgs?status=pending_review", admin, nil, &pending)
	if len(pending.Items) != 1 || pending.Items[0].ID != o.ID {
		t.Fatalf("pending orgs %+v", pending)
	}
	s.expectProblem(http.StatusUnprocessableEntity, "VALIDATION_FAILED", http.MethodPost, "/api/v1/admin/orgs/"+o.ID+"/reject", admin, map[string]string{"reason": ""})
	var rejected struct {
		Status       string `json:"status"`
		StatusReason string `json:"statusReason"`
	}
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/admin/orgs/"+o.ID+"/reject", admin, map[string]string{"reason": "no website"}, &rejected)
	if rejected.Status != "rejected" || rejected.StatusReason != "no website" {
		t.Fatalf("rejected %+v", rejected)
	}
	s.mail(owner.Email, "") // the owner is told
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/orgs/"+o.ID+"/resubmit", owner.Token, nil, &rejected)
	if rejected.Status != "pending_review" {
		t.Fatalf("resubmitted %+v", rejected)
	}
	s.expectProblem(http.StatusConflict, "INVALID_STATE", http.MethodPost, "/api/v1/orgs/"+o.ID+"/resubmit", owner.Token, nil)
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/admin/orgs/"+o.ID+"/approve", admin, nil, &o)
	if o.Status != "approved" {
		t.Fatalf("approved %+v", o)
	}

	s.expectProblem(http.StatusUnprocessableEntity, "VALIDATION_FAILED", http.MethodPut, "/api/v1/admin/orgs/"+o.ID+"/plan", admin, map[string]string{"plan": "platinum"})
	s.expect(http.StatusOK, http.MethodPut, "/api/v1/admin/orgs/"+o.ID+"/plan", admin, map[string]string{"plan": testPlan}, &o)
	var usage struct {
		Plan               string `json:"plan"`
		SubscriptionStatus string `json:"subscriptionStatus"`
		Quota              struct {
			Used     int    `json:"used"`
			Limit    int    `json:"limit"`
			ResetsAt string `json:"resetsAt"`
		} `json:"quota"`
		Limits struct {
			BadgeTemplates int `json:"badgeTemplates"`
		} `json:"limits"`
	}
	s.expect(http.StatusOK, http.MethodGet, "/api/v1/orgs/"+o.ID+"/usage", owner.Token, nil, &usage)
	if usage.Plan != testPlan || usage.SubscriptionStatus != "active" || usage.Quota.Limit != 2 || usage.Quota.Used != 0 ||
		usage.Quota.ResetsAt == "" || usage.Limits.BadgeTemplates != 2 {
		t.Fatalf("usage %+v", usage)
	}

	// Suspension stops nothing but issuing; another user sees no such org.
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/admin/orgs/"+o.ID+"/suspend", admin, map[string]string{"reason": "unpaid"}, &o)
	if o.Status != "suspended" {
		t.Fatalf("suspended %+v", o)
	}
	stranger := s.signUp(uniqueEmail("stranger"))
	s.expectProblem(http.StatusNotFound, "NOT_FOUND", http.MethodGet, "/api/v1/orgs/"+o.ID, stranger.Token, nil)
	s.expectProblem(http.StatusNotFound, "NOT_FOUND", http.MethodGet, "/api/v1/orgs/00000000-0000-4000-8000-000000000000", owner.Token, nil)
	s.expectProblem(http.StatusUnprocessableEntity, "VALIDATION_FAILED", http.MethodGet, "/api/v1/orgs/"+strings.Repeat("x", 40), owner.Token, nil)
}

// Members: invitations by email with a role, accepted or declined by the
// invitee; roles change; members leave; the last owner stays.
func TestMembers(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer("enterprise")
	org := "/api/v1/orgs/" + o.ID
	invitee := s.signUp(uniqueEmail("invitee"))
	type invitation struct {
		ID     string `json:"id"`
		Email  string `json:"email"`
		Role   string `json:"role"`
		Status string `json:"status"`
	}
	var inv invitation
	s.expect(http.StatusCreated, http.MethodPost, org+"/members", owner.Token, map[string]string{"email": invitee.Email, "role": "issuer"}, &inv)
	if inv.Email != invitee.Email || inv.Role != "issuer" || inv.Status != "pending" {
		t.Fatalf("invitation %+v", inv)
	}
	s.expectProblem(http.StatusUnprocessableEntity, "VALIDATION_FAILED", http.MethodPost, org+"/members", owner.Token, map[string]string{"email": "x@example.com", "role": "god"})
	var invs struct {
		Items []invitation `json:"items"`
	}
	s.expect(http.StatusOK, http.MethodGet, org+"/invitations", owner.Token, nil, &invs)
	if len(invs.Items) != 1 || invs.Items[0].ID != inv.ID {
		t.Fatalf("open invitations %+v", invs)
	}
	var me struct {
		Invitations []struct {
			ID      string `json:"id"`
			OrgName string `json:"orgName"`
		} `json:"invitations"`
	}
	s.expect(http.StatusOK, http.MethodGet, "/api/v1/me", invitee.Token, nil, &me)
	if len(me.Invitations) != 1 || me.Invitations[0].ID != inv.ID {
		t.Fatalf("the invitee's invitations %+v", me.Invitations)
	}
	s.expectProblem(http.StatusForbidden, "EMAIL_MISMATCH", http.MethodPost, "/api/v1/invitations/"+inv.ID+"/accept", owner.Token, nil)
	var joined struct {
		OrgID string `json:"orgId"`
		Role  string `json:"role"`
	}
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/invitations/"+inv.ID+"/accept", invitee.Token, nil, &joined)
	if joined.OrgID != o.ID || joined.Role != "issuer" {
		t.Fatalf("joined %+v", joined)
	}

	type member struct {
		UserID string `json:"userId"`
		Email  string `json:"email"`
		Role   string `json:"role"`
	}
	var members struct {
		Items []member `json:"items"`
	}
	s.expect(http.StatusOK, http.MethodGet, org+"/members", invitee.Token, nil, &members)
	ids := map[string]string{}
	for _, m := range members.Items {
		ids[m.Email] = m.UserID
	}
	if len(members.Items) != 2 || ids[owner.Email] == "" || ids[invitee.Email] == "" {
		t.Fatalf("members %+v", members)
	}
	var changed member
	s.expect(http.StatusOK, http.MethodPatch, org+"/members/"+ids[invitee.Email], owner.Token, map[string]string{"role": "admin"}, &changed)
	if changed.Role != "admin" {
		t.Fatalf("changed %+v", changed)
	}
	s.expectProblem(http.StatusConflict, "LAST_OWNER", http.MethodDelete, org+"/members/"+ids[owner.Email], owner.Token, nil)
	s.expectProblem(http.StatusConflict, "LAST_OWNER", http.MethodPatch, org+"/members/"+ids[owner.Email], owner.Token, map[string]string{"role": "viewer"})
	s.expect(http.StatusNoContent, http.MethodDelete, org+"/members/"+ids[invitee.Email], invitee.Token, nil, nil) // leaving
	s.expectProblem(http.StatusNotFound, "NOT_FOUND", http.MethodGet, org, invitee.Token, nil)

	// Declined and withdrawn invitations end.
	other := s.signUp(uniqueEmail("declines"))
	s.expect(http.StatusCreated, http.MethodPost, org+"/members", owner.Token, map[string]string{"email": other.Email, "role": "viewer"}, &inv)
	s.expect(http.StatusNoContent, http.MethodPost, "/api/v1/invitations/"+inv.ID+"/decline", other.Token, nil, nil)
	s.expectProblem(http.StatusConflict, "INVALID_STATE", http.MethodPost, "/api/v1/invitations/"+inv.ID+"/accept", other.Token, nil)
	s.expect(http.StatusCreated, http.MethodPost, org+"/members", owner.Token, map[string]string{"email": uniqueEmail("withdrawn"), "role": "viewer"}, &inv)
	s.expect(http.StatusNoContent, http.MethodDelete, org+"/invitations/"+inv.ID, owner.Token, nil, nil)
	s.expect(http.StatusOK, http.MethodGet, org+"/invitations", owner.Token, nil, &invs)
	if len(invs.Items) != 0 {
		t.Errorf("open invitations after decline and withdrawal: %+v", invs)
	}
}
