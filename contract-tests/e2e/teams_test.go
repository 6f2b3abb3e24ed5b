package e2e

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
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

// testRoleMatrix walks every operation of the API (the OpenAPI document
// lists them: an operation missing here fails the test) for every role
// (owner, admin, issuer, viewer), the organization's API key, another
// organization's owner and an anonymous caller, and checks each status
// against the permission matrix.
func testRoleMatrix(t *testing.T, e *env) {
	owner, o := e.newIssuer(t, "")
	oc := e.as(t, owner.Token)
	e.setPlan(t, o.ID, "enterprise")
	admin := e.join(t, oc, o.ID, "admin")
	issuer := e.join(t, oc, o.ID, "issuer")
	viewer := e.join(t, oc, o.ID, "viewer")
	var key apiKey
	oc.expect(http.StatusCreated, http.MethodPost, "/api/v1/orgs/"+o.ID+"/api-keys", map[string]string{"name": "matrix"}, &key)
	outsider, _ := e.newIssuer(t, "")
	users := []user{owner, admin, issuer, viewer}
	callers := []struct {
		name  string
		c     *client
		fresh func() *client // a client whose session may end
	}{
		{"owner", oc, nil}, {"admin", e.as(t, admin.Token), nil}, {"issuer", e.as(t, issuer.Token), nil}, {"viewer", e.as(t, viewer.Token), nil},
		{"API key", e.as(t, key.Secret), nil}, {"other org's owner", e.as(t, outsider.Token), nil}, {"anonymous", e.anon(t), nil},
	}
	for i := range callers {
		switch {
		case i < len(users):
			email := users[i].Email
			callers[i].fresh = func() *client { return e.as(t, e.login(t, email)) }
		case i == 5:
			callers[i].fresh = func() *client { return e.as(t, e.login(t, outsider.Email)) }
		default:
			c := callers[i].c
			callers[i].fresh = func() *client { return c }
		}
	}

	org := "/api/v1/orgs/" + o.ID
	b := createBadge(oc, o.ID, 0)
	cr := issue(oc, o.ID, b.ID, "Mona Matrix", uniqueEmail("matrix"))
	csv := []byte("name,email\nMo Matrix," + uniqueEmail("bulk") + "\n")
	var job struct {
		ID string `json:"id"`
	}
	oc.expect(http.StatusAccepted, http.MethodPost, org+"/bulk-issuances", bulkForm(t, b.ID, "m.csv", "text/csv", csv), &job)
	var foreign invitation // for another address than any caller's
	oc.expect(http.StatusCreated, http.MethodPost, org+"/members", map[string]string{"email": uniqueEmail("foreign"), "role": "viewer"}, &foreign)
	target := e.join(t, oc, o.ID, "viewer")
	targetID := userID(e.as(t, target.Token))
	freshKey := func() string {
		var k apiKey
		oc.expect(http.StatusCreated, http.MethodPost, org+"/api-keys", map[string]string{"name": "m", "mode": "test"}, &k)
		return k.ID
	}
	freshInvitation := func() string {
		var inv invitation
		oc.expect(http.StatusCreated, http.MethodPost, org+"/members", map[string]string{"email": uniqueEmail("i"), "role": "viewer"}, &inv)
		return inv.ID
	}
	const (
		ok, created, accepted, none, bad, anon, forbidden, notFound, conflict = 200, 201, 202, 204, 400, 401, 403, 404, 409
		sentOrCooling                                                         = -1 // 202, or 429 once the mail went out
	)
	all := func(status int) [7]int { return [7]int{status, status, status, status, status, status, status} }
	read := [7]int{ok, ok, ok, ok, ok, notFound, anon}
	adminOnly := [7]int{forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, anon}
	userOnly := func(status int) [7]int { return [7]int{status, status, status, status, anon, status, anon} }
	type op struct {
		method string
		path   func() string
		body   func() any
		want   [7]int // owner, admin, issuer, viewer, API key, outsider, anonymous
		fresh  bool   // the call may end the caller's session: use a fresh one
	}
	at := func(p string) func() string { return func() string { return p } }
	with := func(v any) func() any { return func() any { return v } }
	manageHooks := func(status int) [7]int {
		return [7]int{status, status, forbidden, forbidden, forbidden, notFound, anon}
	}
	rcv := startReceiver(t)
	freshHook := func() string {
		var w struct {
			ID string `json:"id"`
		}
		oc.expect(http.StatusCreated, http.MethodPost, org+"/webhooks", map[string]any{"url": rcv.URL, "events": []string{"credential.issued"}}, &w)
		return w.ID
	}
	hook := freshHook()
	// A delivery done with: one under way is not resent.
	doneDelivery := func() string {
		var d struct {
			ID string `json:"id"`
		}
		oc.expect(http.StatusAccepted, http.MethodPost, org+"/webhooks/"+hook+"/test", nil, &d)
		deadline := time.Now().Add(15 * time.Second)
		for {
			var page struct {
				Items []struct{ ID, Status string } `json:"items"`
			}
			oc.expect(http.StatusOK, http.MethodGet, org+"/webhooks/"+hook+"/deliveries", nil, &page)
			for _, x := range page.Items {
				if x.ID == d.ID && x.Status != "pending" {
					return d.ID
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("the test delivery %s never ended", d.ID)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	ops := map[string]op{
		// Platform administration.
		"admin-list-activity":    {"GET", at("/api/v1/admin/activity"), nil, adminOnly, false},
		"admin-export-activity":  {"GET", at("/api/v1/admin/activity/export"), nil, adminOnly, false},
		"admin-list-orgs":        {"GET", at("/api/v1/admin/orgs"), nil, adminOnly, false},
		"approve-org":            {"POST", at("/api/v1/admin/orgs/" + o.ID + "/approve"), nil, adminOnly, false},
		"reject-org":             {"POST", at("/api/v1/admin/orgs/" + o.ID + "/reject"), with(map[string]string{"reason": "r"}), adminOnly, false},
		"suspend-org":            {"POST", at("/api/v1/admin/orgs/" + o.ID + "/suspend"), with(map[string]string{"reason": "r"}), adminOnly, false},
		"set-org-plan":           {"PUT", at("/api/v1/admin/orgs/" + o.ID + "/plan"), with(map[string]string{"plan": "free"}), adminOnly, false},
		"set-api-key-rate-limit": {"PUT", at("/api/v1/admin/api-keys/" + key.ID + "/rate-limit"), with(map[string]int{"perMinute": 5}), adminOnly, false},
		// Accounts: the same answer for everyone where no account is involved.
		"sign-up": {"POST", at("/api/v1/auth/signup"), func() any {
			return map[string]string{"email": uniqueEmail("su"), "password": testPassword, "name": "S"}
		}, all(created), false},
		"verify-email":           {"POST", at("/api/v1/auth/verify-email"), with(map[string]string{"token": "not-a-token"}), all(bad), false},
		"resend-verification":    {"POST", at("/api/v1/auth/resend-verification"), func() any { return map[string]string{"email": uniqueEmail("rv")} }, all(accepted), false},
		"login":                  {"POST", at("/api/v1/auth/login"), func() any { return map[string]string{"email": uniqueEmail("li"), "password": "wrong password"} }, all(anon), false},
		"verify-mfa":             {"POST", at("/api/v1/auth/mfa"), with(map[string]string{"challengeId": "00000000-0000-4000-8000-000000000000", "code": "123456"}), all(anon), false},
		"request-password-reset": {"POST", at("/api/v1/auth/password-reset"), func() any { return map[string]string{"email": uniqueEmail("pr")} }, all(accepted), false},
		"retrieve-credentials":   {"POST", at("/api/v1/recipients/retrieve"), func() any { return map[string]string{"email": uniqueEmail("rc")} }, all(accepted), false},
		"confirm-password-reset": {"POST", at("/api/v1/auth/password-reset/confirm"), with(map[string]string{"token": "not-a-token", "password": "a fine new passphrase"}), all(bad), false},
		"logout":                 {"POST", at("/api/v1/auth/logout"), nil, [7]int{none, none, none, none, anon, none, anon}, true},
		"get-me":                 {"GET", at("/api/v1/me"), nil, userOnly(ok), false},
		"list-my-credentials":    {"GET", at("/api/v1/me/credentials"), nil, userOnly(ok), false},
		"set-my-mfa":             {"PUT", at("/api/v1/me/mfa"), with(map[string]bool{"enabled": false}), userOnly(ok), false},
		"list-my-sessions":       {"GET", at("/api/v1/me/sessions"), nil, userOnly(ok), false},
		"revoke-my-session":      {"DELETE", at("/api/v1/me/sessions/00000000-0000-4000-8000-000000000000"), nil, userOnly(notFound), false},
		"change-my-password":     {"POST", at("/api/v1/me/password"), with(map[string]string{"currentPassword": "wrong", "newPassword": "a fine new passphrase"}), userOnly(forbidden), false}, // WRONG_PASSWORD
		"accept-invitation":      {"POST", at("/api/v1/invitations/" + foreign.ID + "/accept"), nil, userOnly(forbidden), false},
		"decline-invitation":     {"POST", at("/api/v1/invitations/" + foreign.ID + "/decline"), nil, userOnly(forbidden), false},
		// Public credential pages and verification.
		"view-credential":   {"GET", at("/api/v1/credentials/" + cr.ID), nil, all(ok), false},
		"verify-credential": {"GET", at("/api/v1/credentials/" + cr.ID + "/verify"), nil, all(ok), false},
		"verify-presented":  {"POST", at("/api/v1/verify"), with(map[string]string{"credential": cr.JWT}), all(ok), false},
		"claim-credential":  {"POST", at("/api/v1/credentials/" + cr.ID + "/claim"), nil, userOnly(forbidden), false},
		// The W3C VC-API: public, whoever asks.
		"vcapi-verify-credential": {"POST", at("/credentials/verify"), with(map[string]any{"verifiableCredential": map[string]any{
			"@context": []string{"https://www.w3.org/ns/credentials/v2"}, "type": "EnvelopedVerifiableCredential",
			"id": "data:application/vc+jwt," + cr.JWT}}), all(ok), false},
		"vcapi-verify-presentation": {"POST", at("/presentations/verify"), with(map[string]any{}), all(bad), false},
		// Issuing and status changes through the VC-API: an organization's
		// API key only (a person's token is refused: it names no one
		// organization).
		"vcapi-issue-credential": {"POST", at("/credentials/issue"), with(map[string]any{"credential": map[string]any{
			"@context": []string{"https://www.w3.org/ns/credentials/v2"}, "type": "VerifiableCredential",
			"credentialSubject": map[string]string{"id": "did:example:matrix"}}}), [7]int{forbidden, forbidden, forbidden, forbidden, created, forbidden, anon}, false},
		"vcapi-update-status": {"POST", at("/credentials/status"), with(map[string]any{"credentialId": "urn:uuid:issued-by-none",
			"credentialStatus": map[string]string{"type": "BitstringStatusListEntry", "statusPurpose": "revocation"}}),
			[7]int{forbidden, forbidden, forbidden, forbidden, notFound, forbidden, anon}, false},
		// Organizations.
		"list-orgs":          {"GET", at("/api/v1/orgs"), nil, [7]int{ok, ok, ok, ok, ok, ok, anon}, false},
		"create-org":         {"POST", at("/api/v1/orgs"), func() any { return map[string]string{"name": "M " + unique("o")} }, [7]int{created, created, created, created, anon, created, anon}, false}, // API keys are no users
		"get-org":            {"GET", at(org), nil, read, false},
		"update-org":         {"PATCH", at(org), with(map[string]string{"description": "Edited"}), [7]int{ok, ok, forbidden, forbidden, forbidden, notFound, anon}, false},
		"upload-org-logo":    {"PUT", at(org + "/logo"), with(formBody{"image/png", tinyPNG(t)}), [7]int{ok, ok, forbidden, forbidden, forbidden, notFound, anon}, false},
		"resubmit-org":       {"POST", at(org + "/resubmit"), nil, [7]int{conflict, conflict, forbidden, forbidden, forbidden, notFound, anon}, false},
		"get-usage":          {"GET", at(org + "/usage"), nil, read, false},
		"list-activity":      {"GET", at(org + "/activity"), nil, [7]int{ok, ok, forbidden, forbidden, forbidden, notFound, anon}, false},
		"export-activity":    {"GET", at(org + "/activity/export"), nil, [7]int{ok, ok, forbidden, forbidden, forbidden, notFound, anon}, false},
		"list-members":       {"GET", at(org + "/members"), nil, read, false},
		"invite-member":      {"POST", at(org + "/members"), func() any { return map[string]string{"email": uniqueEmail("inv"), "role": "viewer"} }, [7]int{created, created, forbidden, forbidden, forbidden, notFound, anon}, false},
		"list-invitations":   {"GET", at(org + "/invitations"), nil, read, false},
		"revoke-invitation":  {"DELETE", func() string { return org + "/invitations/" + freshInvitation() }, nil, [7]int{none, none, forbidden, forbidden, forbidden, notFound, anon}, false},
		"change-member-role": {"PATCH", at(org + "/members/" + targetID), with(map[string]string{"role": "issuer"}), [7]int{ok, ok, forbidden, forbidden, forbidden, notFound, anon}, false},
		"remove-member":      {"DELETE", func() string { return org + "/members/" + userID(e.as(t, e.join(t, oc, o.ID, "viewer").Token)) }, nil, [7]int{none, none, forbidden, forbidden, forbidden, notFound, anon}, false},
		// Keys.
		"list-signing-keys":     {"GET", at(org + "/signing-keys"), nil, [7]int{ok, forbidden, forbidden, forbidden, forbidden, notFound, anon}, false}, // public anyway in the JWKS
		"generate-signing-keys": {"POST", at(org + "/signing-keys"), nil, [7]int{conflict, forbidden, forbidden, forbidden, forbidden, notFound, anon}, false},
		"rotate-signing-keys":   {"POST", at(org + "/signing-keys/rotate"), nil, [7]int{created, forbidden, forbidden, forbidden, forbidden, notFound, anon}, false},
		"list-api-keys":         {"GET", at(org + "/api-keys"), nil, [7]int{ok, forbidden, forbidden, forbidden, forbidden, notFound, anon}, false},
		"create-api-key":        {"POST", at(org + "/api-keys"), with(map[string]string{"name": "m", "mode": "test"}), [7]int{created, forbidden, forbidden, forbidden, forbidden, notFound, anon}, false},
		"revoke-api-key":        {"DELETE", func() string { return org + "/api-keys/" + freshKey() }, nil, [7]int{none, forbidden, forbidden, forbidden, forbidden, notFound, anon}, false},
		"regenerate-api-key":    {"POST", func() string { return org + "/api-keys/" + freshKey() + "/regenerate" }, nil, [7]int{ok, forbidden, forbidden, forbidden, forbidden, notFound, anon}, false},
		// Badges.
		"list-badges": {"GET", at(org + "/badges"), nil, read, false},
		"get-badge":   {"GET", at(org + "/badges/" + b.ID), nil, read, false},
		"create-badge": {"POST", at(org + "/badges"), func() any {
			return map[string]any{"name": "M " + unique("b"), "description": "d", "criteria": "c", "imageUrl": "https://issuer.example.com/m.png"}
		}, [7]int{created, created, created, forbidden, created, notFound, anon}, false},
		"update-badge": {"PATCH", func() string { return org + "/badges/" + createBadge(oc, o.ID, 0).ID }, with(map[string]string{"description": "Edited"}), [7]int{ok, ok, forbidden, forbidden, forbidden, notFound, anon}, false},
		"upload-badge-image": {"PUT", func() string { return org + "/badges/" + createBadge(oc, o.ID, 0).ID + "/image" },
			with(formBody{"image/png", tinyPNG(t)}), [7]int{ok, ok, forbidden, forbidden, forbidden, notFound, anon}, false},
		"delete-badge": {"DELETE", func() string { return org + "/badges/" + createBadge(oc, o.ID, 0).ID }, nil, [7]int{ok, ok, forbidden, forbidden, forbidden, notFound, anon}, false},
		// Credentials.
		"list-credentials":     {"GET", at(org + "/credentials"), nil, read, false},
		"get-credential":       {"GET", at(org + "/credentials/" + cr.ID), nil, read, false},
		"issue-credential":     {"POST", at(org + "/credentials"), func() any { return issueBody(b.ID, "Ivo Issued", uniqueEmail("matrix")) }, [7]int{created, created, created, forbidden, created, notFound, anon}, false},
		"preflight-credential": {"POST", at(org + "/credentials/preflight"), func() any { return map[string]string{"badgeId": b.ID, "email": uniqueEmail("pf")} }, [7]int{ok, ok, ok, forbidden, ok, notFound, anon}, false},
		"revoke-credential": {"POST", func() string {
			return org + "/credentials/" + issue(oc, o.ID, b.ID, "R", uniqueEmail("rv")).ID + "/revoke"
		}, with(map[string]string{"reason": "matrix"}),
			[7]int{ok, ok, forbidden, forbidden, ok, notFound, anon}, false},
		"suspend-credential": {"POST", func() string {
			return org + "/credentials/" + issue(oc, o.ID, b.ID, "S", uniqueEmail("sp")).ID + "/suspend"
		}, with(map[string]string{"reason": "matrix"}),
			[7]int{ok, ok, forbidden, forbidden, ok, notFound, anon}, false},
		"unsuspend-credential": {"POST", func() string {
			id := issue(oc, o.ID, b.ID, "U", uniqueEmail("us")).ID
			oc.expect(http.StatusOK, http.MethodPost, org+"/credentials/"+id+"/suspend", map[string]string{"reason": "matrix"}, nil)
			return org + "/credentials/" + id + "/unsuspend"
		}, nil,
			[7]int{ok, ok, forbidden, forbidden, ok, notFound, anon}, false},
		"resend-credential": {"POST", func() string {
			return org + "/credentials/" + issue(oc, o.ID, b.ID, "R", uniqueEmail("rs")).ID + "/resend"
		}, nil,
			[7]int{sentOrCooling, sentOrCooling, forbidden, forbidden, forbidden, notFound, anon}, false},
		// Bulk issuance.
		"validate-bulk-issuance": {"POST", at(org + "/bulk-issuances/validate"), func() any { return bulkForm(t, b.ID, "m.csv", "text/csv", csv) }, [7]int{ok, ok, ok, forbidden, ok, notFound, anon}, false},
		"submit-bulk-issuance": {"POST", at(org + "/bulk-issuances"), func() any {
			return bulkForm(t, b.ID, "m.csv", "text/csv", []byte("name,email\nB,"+uniqueEmail("b")+"\n"))
		}, [7]int{accepted, accepted, accepted, forbidden, accepted, notFound, anon}, false},
		"list-bulk-issuances":     {"GET", at(org + "/bulk-issuances"), nil, read, false},
		"get-bulk-issuance":       {"GET", at(org + "/bulk-issuances/" + job.ID), nil, read, false},
		"list-bulk-issuance-rows": {"GET", at(org + "/bulk-issuances/" + job.ID + "/rows"), nil, read, false},
		// Webhooks: owners and admins.
		"create-webhook":          {"POST", at(org + "/webhooks"), with(map[string]any{"url": rcv.URL, "events": []string{"credential.revoked"}}), manageHooks(created), false},
		"list-webhooks":           {"GET", at(org + "/webhooks"), nil, manageHooks(ok), false},
		"get-webhook":             {"GET", at(org + "/webhooks/" + hook), nil, manageHooks(ok), false},
		"update-webhook":          {"PATCH", at(org + "/webhooks/" + hook), with(map[string]string{"description": "Edited"}), manageHooks(ok), false},
		"delete-webhook":          {"DELETE", func() string { return org + "/webhooks/" + freshHook() }, nil, manageHooks(none), false},
		"rotate-webhook-secret":   {"POST", func() string { return org + "/webhooks/" + freshHook() + "/rotate-secret" }, nil, manageHooks(ok), false},
		"test-webhook":            {"POST", at(org + "/webhooks/" + hook + "/test"), nil, manageHooks(accepted), false},
		"list-webhook-deliveries": {"GET", at(org + "/webhooks/" + hook + "/deliveries"), nil, manageHooks(ok), false},
		"resend-webhook-delivery": {"POST", func() string { return org + "/webhooks/" + hook + "/deliveries/" + doneDelivery() + "/resend" }, nil, manageHooks(accepted), false},
	}

	// Every operation of the API is in the matrix.
	var spec struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
		} `json:"paths"`
	}
	e.anon(t).expect(http.StatusOK, http.MethodGet, "/openapi.json", nil, &spec)
	n := 0
	for path, methods := range spec.Paths {
		for method, o := range methods {
			n++
			if _, ok := ops[o.OperationID]; !ok {
				t.Errorf("%s %s (%s) is missing from the role matrix", strings.ToUpper(method), path, o.OperationID)
			}
		}
	}
	if n != len(ops) {
		t.Errorf("the API has %d operations, the matrix %d", n, len(ops))
	}

	for _, name := range slices.Sorted(maps.Keys(ops)) {
		op := ops[name]
		for i, who := range callers {
			c := who.c
			if op.fresh {
				c = who.fresh()
			}
			var body any
			if op.body != nil {
				body = op.body()
			}
			r := c.do(op.method, op.path(), body)
			want := op.want[i]
			if want == sentOrCooling && (r.Status == accepted || r.Status == http.StatusTooManyRequests) {
				continue
			}
			if r.Status != want {
				t.Errorf("%s as %s: %d, want %d: %s", name, who.name, r.Status, want, r)
			}
		}
	}
}
