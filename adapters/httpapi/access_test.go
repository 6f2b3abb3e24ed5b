package httpapi

import (
	"encoding/json"
	"image/color"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/credence-dev/credence/core/domain"
)

// The role × operation matrix at handler level: every operation of an
// organization, called by each of its roles, its API key, another
// organization's owner and nobody, answers what the permission matrix
// (core/domain/member.go) says — allowed: its success status; a role
// without the permission: 403 FORBIDDEN; outside the organization: 404
// NOT_FOUND (it does not tell that the organization exists); without a
// token: 401 UNAUTHENTICATED. It is the org-scoped part of the e2e
// role_matrix scenario (contract-tests/e2e/teams_test.go), with the same
// answers.
func TestRoleMatrix(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer("enterprise")
	admin := s.join(owner.Token, o.ID, domain.RoleAdmin)
	issuer := s.join(owner.Token, o.ID, domain.RoleIssuer)
	viewer := s.join(owner.Token, o.ID, domain.RoleViewer)
	_, key := s.apiKey(owner.Token, o.ID, "live")
	outsider, _ := s.newIssuer("")
	callers := []struct{ name, token string }{
		{"owner", owner.Token}, {"admin", admin.Token}, {"issuer", issuer.Token}, {"viewer", viewer.Token},
		{"API key", key}, {"other org's owner", outsider.Token}, {"anonymous", ""},
	}

	org := "/api/v1/orgs/" + o.ID
	b := s.createBadge(owner.Token, o.ID, 0)
	cr := s.issue(owner.Token, o.ID, b.ID, uniqueEmail("matrix"))
	var job struct {
		ID string `json:"id"`
	}
	s.expect(http.StatusAccepted, http.MethodPost, org+"/bulk-issuances", owner.Token, csvUpload(t, b.ID, "m.csv", "name,email\nMo,"+uniqueEmail("bulk")+"\n"), &job)
	target := s.join(owner.Token, o.ID, domain.RoleViewer)
	var me struct {
		ID string `json:"id"`
	}
	s.expect(http.StatusOK, http.MethodGet, "/api/v1/me", target.Token, nil, &me)
	freshKey := func() string {
		id, _ := s.apiKey(owner.Token, o.ID, "test")
		return id
	}
	rcv := newReceiver(t)
	freshHook := func() string {
		var w webhookOut
		s.expect(http.StatusCreated, http.MethodPost, org+"/webhooks", owner.Token, map[string]any{"url": rcv.URL, "events": []string{"credential.issued"}}, &w)
		return w.ID
	}
	hook := freshHook()
	// A delivery done with (not under way: that one is not resent).
	freshDelivery := func() string {
		var d deliveryOut
		s.expect(http.StatusAccepted, http.MethodPost, org+"/webhooks/"+hook+"/test", owner.Token, nil, &d)
		eventually(t, func() bool {
			var page struct {
				Items []deliveryOut `json:"items"`
			}
			s.expect(http.StatusOK, http.MethodGet, org+"/webhooks/"+hook+"/deliveries", owner.Token, nil, &page)
			for _, x := range page.Items {
				if x.ID == d.ID {
					return x.Status != "pending"
				}
			}
			return false
		}, "the test delivery done")
		return d.ID
	}
	freshInvitation := func() string {
		var inv struct {
			ID string `json:"id"`
		}
		s.expect(http.StatusCreated, http.MethodPost, org+"/members", owner.Token, map[string]string{"email": uniqueEmail("inv"), "role": "viewer"}, &inv)
		return inv.ID
	}
	freshMember := func() string {
		u := s.join(owner.Token, o.ID, domain.RoleViewer)
		var m struct {
			ID string `json:"id"`
		}
		s.expect(http.StatusOK, http.MethodGet, "/api/v1/me", u.Token, nil, &m)
		return m.ID
	}

	const (
		ok, created, accepted, none, unauth, forbidden, notFound, conflict = 200, 201, 202, 204, 401, 403, 404, 409
		sentOrCooling                                                      = -1 // 202, or 429 once the mail went out
	)
	//             owner, admin, issuer, viewer, API key, outsider, anonymous
	read := [7]int{ok, ok, ok, ok, ok, notFound, unauth}
	manage := func(status int) [7]int {
		return [7]int{status, status, forbidden, forbidden, forbidden, notFound, unauth}
	}
	ownerOnly := func(status int) [7]int {
		return [7]int{status, forbidden, forbidden, forbidden, forbidden, notFound, unauth}
	}
	issue := func(status int) [7]int { return [7]int{status, status, status, forbidden, status, notFound, unauth} }
	at := func(p string) func() string { return func() string { return p } }
	with := func(v any) func() any { return func() any { return v } }
	type operation struct {
		method string
		path   func() string
		body   func() any
		want   [7]int
		code   string // the code of a 409
	}
	ops := map[string]operation{
		"get-org":            {"GET", at(org), nil, read, ""},
		"update-org":         {"PATCH", at(org), with(map[string]string{"description": "Edited"}), manage(ok), ""},
		"resubmit-org":       {"POST", at(org + "/resubmit"), nil, manage(conflict), "INVALID_STATE"}, // approved: nothing to resubmit
		"get-usage":          {"GET", at(org + "/usage"), nil, read, ""},
		"list-activity":      {"GET", at(org + "/activity"), nil, manage(ok), ""},
		"export-activity":    {"GET", at(org + "/activity/export"), nil, manage(ok), ""},
		"list-members":       {"GET", at(org + "/members"), nil, read, ""},
		"invite-member":      {"POST", at(org + "/members"), func() any { return map[string]string{"email": uniqueEmail("inv"), "role": "viewer"} }, manage(created), ""},
		"list-invitations":   {"GET", at(org + "/invitations"), nil, read, ""},
		"revoke-invitation":  {"DELETE", func() string { return org + "/invitations/" + freshInvitation() }, nil, manage(none), ""},
		"change-member-role": {"PATCH", at(org + "/members/" + me.ID), with(map[string]string{"role": "issuer"}), manage(ok), ""},
		"remove-member":      {"DELETE", func() string { return org + "/members/" + freshMember() }, nil, manage(none), ""},

		"list-signing-keys":     {"GET", at(org + "/signing-keys"), nil, ownerOnly(ok), ""},
		"generate-signing-keys": {"POST", at(org + "/signing-keys"), nil, ownerOnly(conflict), "SIGNING_KEYS_EXIST"},
		"rotate-signing-keys":   {"POST", at(org + "/signing-keys/rotate"), nil, ownerOnly(created), ""},
		"list-api-keys":         {"GET", at(org + "/api-keys"), nil, ownerOnly(ok), ""},
		"create-api-key":        {"POST", at(org + "/api-keys"), with(map[string]string{"name": "m", "mode": "test"}), ownerOnly(created), ""},
		"revoke-api-key":        {"DELETE", func() string { return org + "/api-keys/" + freshKey() }, nil, ownerOnly(none), ""},
		"regenerate-api-key":    {"POST", func() string { return org + "/api-keys/" + freshKey() + "/regenerate" }, nil, ownerOnly(ok), ""},

		"list-badges": {"GET", at(org + "/badges"), nil, read, ""},
		"get-badge":   {"GET", at(org + "/badges/" + b.ID), nil, read, ""},
		"create-badge": {"POST", at(org + "/badges"), func() any {
			return map[string]any{"name": uniqueName("M"), "description": "d", "criteria": "c", "imageUrl": "https://issuer.example.com/m.png"}
		}, issue(created), ""},
		"update-badge": {"PATCH", func() string { return org + "/badges/" + s.createBadge(owner.Token, o.ID, 0).ID }, with(map[string]string{"description": "Edited"}), manage(ok), ""},
		"upload-badge-image": {"PUT", func() string { return org + "/badges/" + s.createBadge(owner.Token, o.ID, 0).ID + "/image" },
			with(rawBody("image/png", testPNG(t, 8, 8, color.NRGBA{R: 9, A: 255}))), manage(ok), ""},
		"upload-org-logo": {"PUT", at(org + "/logo"), with(rawBody("image/png", testPNG(t, 8, 8, color.NRGBA{G: 9, A: 255}))), manage(ok), ""},
		"delete-badge":    {"DELETE", func() string { return org + "/badges/" + s.createBadge(owner.Token, o.ID, 0).ID }, nil, manage(ok), ""},

		"list-credentials":     {"GET", at(org + "/credentials"), nil, read, ""},
		"get-credential":       {"GET", at(org + "/credentials/" + cr.ID), nil, read, ""},
		"issue-credential":     {"POST", at(org + "/credentials"), func() any { return issueBody(b.ID, uniqueEmail("matrix")) }, issue(created), ""},
		"preflight-credential": {"POST", at(org + "/credentials/preflight"), func() any { return map[string]string{"badgeId": b.ID, "email": uniqueEmail("pf")} }, issue(ok), ""},
		"revoke-credential": {"POST", func() string {
			return org + "/credentials/" + s.issue(owner.Token, o.ID, b.ID, uniqueEmail("rv")).ID + "/revoke"
		},
			with(map[string]string{"reason": "matrix"}), [7]int{ok, ok, forbidden, forbidden, ok, notFound, unauth}, ""},
		"suspend-credential": {"POST", func() string {
			return org + "/credentials/" + s.issue(owner.Token, o.ID, b.ID, uniqueEmail("sp")).ID + "/suspend"
		},
			with(map[string]string{"reason": "matrix"}), [7]int{ok, ok, forbidden, forbidden, ok, notFound, unauth}, ""},
		"unsuspend-credential": {"POST", func() string {
			id := s.issue(owner.Token, o.ID, b.ID, uniqueEmail("us")).ID
			s.expect(http.StatusOK, "POST", org+"/credentials/"+id+"/suspend", owner.Token, map[string]string{"reason": "matrix"}, nil)
			return org + "/credentials/" + id + "/unsuspend"
		}, nil, [7]int{ok, ok, forbidden, forbidden, ok, notFound, unauth}, ""},
		"resend-credential": {"POST", func() string {
			return org + "/credentials/" + s.issue(owner.Token, o.ID, b.ID, uniqueEmail("rs")).ID + "/resend"
		}, nil,
			manage(sentOrCooling), ""},

		"validate-bulk-issuance": {"POST", at(org + "/bulk-issuances/validate"), func() any {
			return csvUpload(t, b.ID, "m.csv", "name,email\nMo,"+uniqueEmail("v")+"\n")
		}, issue(ok), ""},
		"submit-bulk-issuance": {"POST", at(org + "/bulk-issuances"), func() any {
			return csvUpload(t, b.ID, "m.csv", "name,email\nMo,"+uniqueEmail("b")+"\n")
		}, issue(accepted), ""},
		"list-bulk-issuances":     {"GET", at(org + "/bulk-issuances"), nil, read, ""},
		"get-bulk-issuance":       {"GET", at(org + "/bulk-issuances/" + job.ID), nil, read, ""},
		"list-bulk-issuance-rows": {"GET", at(org + "/bulk-issuances/" + job.ID + "/rows"), nil, read, ""},

		"create-webhook":          {"POST", at(org + "/webhooks"), with(map[string]any{"url": rcv.URL, "events": []string{"credential.revoked"}}), manage(created), ""},
		"list-webhooks":           {"GET", at(org + "/webhooks"), nil, manage(ok), ""},
		"get-webhook":             {"GET", at(org + "/webhooks/" + hook), nil, manage(ok), ""},
		"update-webhook":          {"PATCH", at(org + "/webhooks/" + hook), with(map[string]string{"description": "Edited"}), manage(ok), ""},
		"delete-webhook":          {"DELETE", func() string { return org + "/webhooks/" + freshHook() }, nil, manage(none), ""},
		"rotate-webhook-secret":   {"POST", func() string { return org + "/webhooks/" + freshHook() + "/rotate-secret" }, nil, manage(ok), ""},
		"test-webhook":            {"POST", at(org + "/webhooks/" + hook + "/test"), nil, manage(accepted), ""},
		"list-webhook-deliveries": {"GET", at(org + "/webhooks/" + hook + "/deliveries"), nil, manage(ok), ""},
		"resend-webhook-delivery": {"POST", func() string { return org + "/webhooks/" + hook + "/deliveries/" + freshDelivery() + "/resend" }, nil, manage(accepted), ""},
	}

	// Every operation on an organization is in the matrix.
	n := 0
	for path, item := range NewAPI(http.NewServeMux(), Deps{Log: slog.New(slog.DiscardHandler)}).OpenAPI().Paths {
		if !strings.HasPrefix(path, "/api/v1/orgs/{orgId}") {
			continue
		}
		for _, op := range []*huma.Operation{item.Get, item.Post, item.Put, item.Patch, item.Delete} {
			if op == nil {
				continue
			}
			n++
			if _, ok := ops[op.OperationID]; !ok {
				t.Errorf("%s %s (%s) is missing from the role matrix", op.Method, path, op.OperationID)
			}
		}
	}
	if n != len(ops) {
		t.Errorf("the API has %d operations on an organization, the matrix %d", n, len(ops))
	}

	codeOf := map[int]string{unauth: "UNAUTHENTICATED", forbidden: "FORBIDDEN", notFound: "NOT_FOUND"}
	for _, name := range slices.Sorted(maps.Keys(ops)) {
		op := ops[name]
		for i, who := range callers {
			var body any
			if op.body != nil {
				body = op.body()
			}
			w := s.do(op.method, op.path(), who.token, body)
			want := op.want[i]
			switch {
			case want == sentOrCooling && w.Code == http.StatusAccepted:
			case want == sentOrCooling:
				wantProblem(t, w, http.StatusTooManyRequests, "RATE_LIMITED")
			case w.Code != want:
				t.Errorf("%s as %s: %d, want %d: %s", name, who.name, w.Code, want, w.Body)
			case want == conflict:
				wantProblem(t, w, want, op.code)
			case codeOf[want] != "":
				wantProblem(t, w, want, codeOf[want])
			case w.Code != http.StatusNoContent && w.Header().Get("Content-Type") == "application/json" && !json.Valid(w.Body.Bytes()):
				t.Errorf("%s as %s: %d with a body that is no JSON: %s", name, who.name, w.Code, w.Body)
			}
		}
	}
}
