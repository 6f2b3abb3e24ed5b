package e2e

import (
	"net/http"
	"testing"
)

// invitation is the wire form of an invitation as its organization sees it.
type invitation struct {
	ID     string `json:"id"`
	Email  string `json:"email"`
	Role   string `json:"role"`
	Status string `json:"status"`
}

// join invites a new user with role into the organization as c and has
// them accept; it returns the new member.
func (e *env) join(t *testing.T, c *client, orgID, role string) user {
	t.Helper()
	u := e.newUser(t, role)
	var inv invitation
	c.expect(http.StatusCreated, http.MethodPost, "/api/v1/orgs/"+orgID+"/members", map[string]string{"email": u.Email, "role": role}, &inv)
	e.as(t, u.Token).expect(http.StatusOK, http.MethodPost, "/api/v1/invitations/"+inv.ID+"/accept", nil, nil)
	return u
}

// userID returns the ID of the signed-in user of c.
func userID(c *client) string {
	var me struct {
		ID string `json:"id"`
	}
	c.expect(http.StatusOK, http.MethodGet, "/api/v1/me", nil, &me)
	return me.ID
}

// testTeams walks invitations, role changes and removals with their rules
// and mails.
func testTeams(t *testing.T, e *env) {
	owner, o := e.newIssuer(t, "")
	oc := e.as(t, owner.Token)
	members := "/api/v1/orgs/" + o.ID + "/members"

	// An invitation is listed for the organization and for the invitee,
	// who alone may answer it; an answered one is closed.
	invitee := e.newUser(t, "invitee")
	var inv invitation
	oc.expect(http.StatusCreated, http.MethodPost, members, map[string]string{"email": " " + invitee.Email + " ", "role": "admin"}, &inv)
	if inv.Email != invitee.Email || inv.Role != "admin" || inv.Status != "pending" {
		t.Fatalf("invitation %+v", inv)
	}
	e.latestMail(t, invitee.Email, "You are invited to join")
	var listed struct {
		Items []invitation `json:"items"`
	}
	oc.expect(http.StatusOK, http.MethodGet, "/api/v1/orgs/"+o.ID+"/invitations", nil, &listed)
	if len(listed.Items) != 1 || listed.Items[0].ID != inv.ID {
		t.Errorf("open invitations %+v", listed.Items)
	}
	var me struct {
		Invitations []struct {
			ID      string `json:"id"`
			OrgName string `json:"orgName"`
			Role    string `json:"role"`
		} `json:"invitations"`
	}
	ic := e.as(t, invitee.Token)
	ic.expect(http.StatusOK, http.MethodGet, "/api/v1/me", nil, &me)
	if len(me.Invitations) != 1 || me.Invitations[0].ID != inv.ID || me.Invitations[0].OrgName != o.Name {
		t.Errorf("GET /me invitations %+v", me.Invitations)
	}
	stranger := e.as(t, e.newUser(t, "stranger").Token)
	stranger.expectProblem(http.StatusForbidden, "EMAIL_MISMATCH", http.MethodPost, "/api/v1/invitations/"+inv.ID+"/accept", nil)
	ic.expect(http.StatusOK, http.MethodPost, "/api/v1/invitations/"+inv.ID+"/accept", nil, nil)
	ic.expectProblem(http.StatusConflict, "INVALID_STATE", http.MethodPost, "/api/v1/invitations/"+inv.ID+"/decline", nil)
	e.latestMail(t, owner.Email, "accepted your invitation")
	oc.expectProblem(http.StatusConflict, "INVALID_STATE", http.MethodPost, members, map[string]string{"email": invitee.Email, "role": "viewer"})
	admin := ic

	// Admins invite, but not owners; owners are capped by the plan (free: 1).
	admin.expectProblem(http.StatusForbidden, "FORBIDDEN", http.MethodPost, members, map[string]string{"email": uniqueEmail("o"), "role": "owner"})
	oc.expectProblem(http.StatusForbidden, "PLAN_LIMIT_REACHED", http.MethodPost, members, map[string]string{"email": uniqueEmail("o"), "role": "owner"})
	viewer := e.join(t, admin, o.ID, "viewer")
	vc := e.as(t, viewer.Token)
	vc.expectProblem(http.StatusForbidden, "FORBIDDEN", http.MethodPost, members, map[string]string{"email": uniqueEmail("v"), "role": "viewer"})

	// A declined invitation; a withdrawn one.
	decliner := e.newUser(t, "decliner")
	admin.expect(http.StatusCreated, http.MethodPost, members, map[string]string{"email": decliner.Email, "role": "issuer"}, &inv)
	e.as(t, decliner.Token).expect(http.StatusNoContent, http.MethodPost, "/api/v1/invitations/"+inv.ID+"/decline", nil, nil)
	e.as(t, decliner.Token).expectProblem(http.StatusConflict, "INVALID_STATE", http.MethodPost, "/api/v1/invitations/"+inv.ID+"/accept", nil)
	admin.expect(http.StatusCreated, http.MethodPost, members, map[string]string{"email": decliner.Email, "role": "issuer"}, &inv)
	admin.expect(http.StatusNoContent, http.MethodDelete, "/api/v1/orgs/"+o.ID+"/invitations/"+inv.ID, nil, nil)
	e.as(t, decliner.Token).expectProblem(http.StatusConflict, "INVALID_STATE", http.MethodPost, "/api/v1/invitations/"+inv.ID+"/accept", nil)

	// Roles: admins change non-owners; owners are changed only by owners;
	// the last owner keeps the role and cannot leave.
	ownerID, adminID, viewerID := userID(oc), userID(admin), userID(vc)
	admin.expect(http.StatusOK, http.MethodPatch, members+"/"+viewerID, map[string]string{"role": "issuer"}, nil)
	e.latestMail(t, viewer.Email, "is now issuer")
	admin.expectProblem(http.StatusForbidden, "FORBIDDEN", http.MethodPatch, members+"/"+viewerID, map[string]string{"role": "owner"})
	admin.expectProblem(http.StatusForbidden, "FORBIDDEN", http.MethodPatch, members+"/"+ownerID, map[string]string{"role": "viewer"})
	admin.expectProblem(http.StatusForbidden, "FORBIDDEN", http.MethodDelete, members+"/"+ownerID, nil)
	oc.expectProblem(http.StatusConflict, "LAST_OWNER", http.MethodPatch, members+"/"+ownerID, map[string]string{"role": "admin"})
	oc.expectProblem(http.StatusConflict, "LAST_OWNER", http.MethodDelete, members+"/"+ownerID, nil)
	vc.expectProblem(http.StatusForbidden, "FORBIDDEN", http.MethodDelete, members+"/"+adminID, nil)

	// On Professional (2 owners) the admin becomes owner; then the first
	// owner may leave.
	e.setPlan(t, o.ID, "professional")
	oc.expect(http.StatusOK, http.MethodPatch, members+"/"+adminID, map[string]string{"role": "owner"}, nil)
	oc.expectProblem(http.StatusForbidden, "PLAN_LIMIT_REACHED", http.MethodPatch, members+"/"+viewerID, map[string]string{"role": "owner"})
	oc.expect(http.StatusNoContent, http.MethodDelete, members+"/"+ownerID, nil, nil)
	oc.expectProblem(http.StatusNotFound, "NOT_FOUND", http.MethodGet, "/api/v1/orgs/"+o.ID, nil)

	// Removal: the member is mailed and loses access at once.
	admin.expect(http.StatusNoContent, http.MethodDelete, members+"/"+viewerID, nil, nil)
	e.latestMail(t, viewer.Email, "You were removed from")
	vc.expectProblem(http.StatusNotFound, "NOT_FOUND", http.MethodGet, "/api/v1/orgs/"+o.ID, nil)
	var left struct {
		Items []struct {
			UserID string `json:"userId"`
			Role   string `json:"role"`
		} `json:"items"`
	}
	admin.expect(http.StatusOK, http.MethodGet, members, nil, &left)
	if len(left.Items) != 1 || left.Items[0].UserID != adminID || left.Items[0].Role != "owner" {
		t.Errorf("members after the changes: %+v, want the new owner alone", left.Items)
	}
}

// testRoleMatrix walks the organization's operations for every role
// (owner, admin, issuer, viewer), its API key, another organization's
// owner and an anonymous caller, and checks each status against the
// permission matrix.
func testRoleMatrix(t *testing.T, e *env) {
	owner, o := e.newIssuer(t, "")
	oc := e.as(t, owner.Token)
	e.setPlan(t, o.ID, "professional")
	admin := e.join(t, oc, o.ID, "admin")
	issuer := e.join(t, oc, o.ID, "issuer")
	viewer := e.join(t, oc, o.ID, "viewer")
	var key apiKey
	oc.expect(http.StatusCreated, http.MethodPost, "/api/v1/orgs/"+o.ID+"/api-keys", map[string]string{"name": "matrix"}, &key)
	outsider, _ := e.newIssuer(t, "")
	callers := []struct {
		name string
		c    *client
	}{
		{"owner", oc}, {"admin", e.as(t, admin.Token)}, {"issuer", e.as(t, issuer.Token)}, {"viewer", e.as(t, viewer.Token)},
		{"API key", e.as(t, key.Secret)}, {"other org's owner", e.as(t, outsider.Token)}, {"anonymous", e.anon(t)},
	}
	org := "/api/v1/orgs/" + o.ID
	b := createBadge(oc, o.ID, 0)
	issued := func() string { return issue(oc, o.ID, b.ID, "Matt Matrix", uniqueEmail("matrix")).ID }
	const (
		ok, created, none, forbidden, notFound, anon, conflict = 200, 201, 204, 403, 404, 401, 409
	)
	for _, op := range []struct {
		name, method string
		path         func() string
		body         any
		want         [7]int // owner, admin, issuer, viewer, API key, outsider, anonymous
	}{
		{"read the organization", "GET", func() string { return org }, nil, [7]int{ok, ok, ok, ok, ok, notFound, anon}},
		{"edit the organization", "PATCH", func() string { return org }, map[string]string{"description": "Edited"}, [7]int{ok, ok, forbidden, forbidden, forbidden, notFound, anon}},
		{"require MFA", "PATCH", func() string { return org }, map[string]bool{"requireMfa": false}, [7]int{ok, forbidden, forbidden, forbidden, forbidden, notFound, anon}},
		{"list members", "GET", func() string { return org + "/members" }, nil, [7]int{ok, ok, ok, ok, ok, notFound, anon}},
		{"invite a viewer", "POST", func() string { return org + "/members" }, func() any { return map[string]string{"email": uniqueEmail("inv"), "role": "viewer"} }, [7]int{created, created, forbidden, forbidden, forbidden, notFound, anon}},
		{"invite an owner", "POST", func() string { return org + "/members" }, func() any { return map[string]string{"email": uniqueEmail("inv"), "role": "owner"} }, [7]int{created, forbidden, forbidden, forbidden, forbidden, notFound, anon}},
		{"list invitations", "GET", func() string { return org + "/invitations" }, nil, [7]int{ok, ok, ok, ok, ok, notFound, anon}},
		{"usage", "GET", func() string { return org + "/usage" }, nil, [7]int{ok, ok, ok, ok, ok, notFound, anon}},
		{"list badges", "GET", func() string { return org + "/badges" }, nil, [7]int{ok, ok, ok, ok, ok, notFound, anon}},
		{"create a badge", "POST", func() string { return org + "/badges" }, func() any {
			return map[string]any{"name": "M " + unique("b"), "description": "d", "criteria": "c", "imageUrl": "https://issuer.example.com/m.png"}
		}, [7]int{created, created, created, forbidden, created, notFound, anon}},
		{"edit a badge", "PATCH", func() string { return org + "/badges/" + createBadge(oc, o.ID, 0).ID }, map[string]string{"description": "Edited"}, [7]int{ok, ok, forbidden, forbidden, forbidden, notFound, anon}},
		{"list credentials", "GET", func() string { return org + "/credentials" }, nil, [7]int{ok, ok, ok, ok, ok, notFound, anon}},
		{"issue", "POST", func() string { return org + "/credentials" }, func() any { return issueBody(b.ID, "Ivo Issued", uniqueEmail("matrix")) }, [7]int{created, created, created, forbidden, created, notFound, anon}},
		{"revoke", "POST", func() string { return org + "/credentials/" + issued() + "/revoke" }, map[string]string{"reason": "matrix"}, [7]int{ok, ok, forbidden, forbidden, ok, notFound, anon}},
		{"generate signing keys again", "POST", func() string { return org + "/signing-keys" }, nil, [7]int{conflict, forbidden, forbidden, forbidden, forbidden, notFound, anon}},
		{"list API keys", "GET", func() string { return org + "/api-keys" }, nil, [7]int{ok, forbidden, forbidden, forbidden, forbidden, notFound, anon}},
		{"resubmit (approved: nothing to resubmit)", "POST", func() string { return org + "/resubmit" }, nil, [7]int{conflict, conflict, forbidden, forbidden, forbidden, notFound, anon}},
		{"read the activity log", "GET", func() string { return org + "/activity" }, nil, [7]int{ok, ok, forbidden, forbidden, forbidden, notFound, anon}},
		{"read the platform's activity log", "GET", func() string { return "/api/v1/admin/activity" }, nil, [7]int{forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, anon}},
		{"list every organization (platform admins)", "GET", func() string { return "/api/v1/admin/orgs" }, nil, [7]int{forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, anon}},
	} {
		for i, who := range callers {
			body := op.body
			if f, ok := body.(func() any); ok {
				body = f()
			}
			r := who.c.do(op.method, op.path(), body)
			if r.Status != op.want[i] {
				t.Errorf("%s as %s: %d, want %d: %s", op.name, who.name, r.Status, op.want[i], r)
			}
		}
	}
}
