package e2e

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// activityEntry is the wire form of an activity log entry.
type activityEntry struct {
	OrgID string `json:"orgId"`
	Actor struct {
		Type  string `json:"type"`
		ID    string `json:"id"`
		Email string `json:"email"`
	} `json:"actor"`
	IP     string `json:"ip"`
	Action string `json:"action"`
	Target struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	} `json:"target"`
	Detail string `json:"detail"`
}

type activityPage struct {
	Items      []activityEntry `json:"items"`
	NextCursor string          `json:"nextCursor"`
}

// testActivity: changes are logged with their actor, address and target,
// a refused change is not, owners and admins read their organization's
// log with filters and paging, platform admins read everything, sign-in
// failures included.
func testActivity(t *testing.T, e *env) {
	owner, o := e.newIssuer(t, "")
	oc := e.as(t, owner.Token)
	ownerID := userID(oc)
	b := createBadge(oc, o.ID, 0)
	cr := issue(oc, o.ID, b.ID, "Alma Activity", uniqueEmail("act"))
	oc.expectProblem(http.StatusUnprocessableEntity, "VALIDATION_FAILED", http.MethodPost, "/api/v1/orgs/"+o.ID+"/credentials/"+cr.ID+"/revoke", map[string]string{"reason": ""})
	revoke(oc, o.ID, cr.ID, "issued by mistake")
	viewer := e.join(t, oc, o.ID, "viewer")
	e.anon(t).expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodPost, "/api/v1/auth/login",
		map[string]string{"email": owner.Email, "password": "not the password"})

	log := "/api/v1/orgs/" + o.ID + "/activity"
	var page activityPage
	oc.expect(http.StatusOK, http.MethodGet, log, nil, &page)
	count := map[string]int{}
	for _, a := range page.Items {
		count[a.Action]++
		if a.OrgID != o.ID {
			t.Errorf("entry of another organization: %+v", a)
		}
	}
	for _, action := range []string{"organization.created", "organization.status_changed", "signing_key.generated", "badge.created",
		"credential.issued", "credential.revoked", "member.invited", "member.joined"} {
		if count[action] != 1 {
			t.Errorf("%d %s entries, want 1 (log: %v)", count[action], action, count)
		}
	}
	var revoked activityEntry
	oc.expect(http.StatusOK, http.MethodGet, log+"?action=credential.revoked", nil, &page)
	if len(page.Items) == 1 {
		revoked = page.Items[0]
	}
	if revoked.Actor.Type != "user" || revoked.Actor.ID != ownerID || revoked.IP == "" || revoked.Target.Type != "credential" ||
		revoked.Target.ID != cr.ID || revoked.Detail != "issued by mistake" {
		t.Errorf("the revocation's entry: %+v", revoked)
	}
	oc.expect(http.StatusOK, http.MethodGet, log+"?action=credential&target="+cr.ID, nil, &page)
	if len(page.Items) != 2 {
		t.Errorf("?action=credential&target=: %d entries, want the issue and the revocation", len(page.Items))
	}

	// Paging: two at a time, no entry twice.
	seen := map[string]bool{}
	next := log + "?limit=2"
	for pages := 0; next != ""; pages++ {
		page = activityPage{}
		oc.expect(http.StatusOK, http.MethodGet, next, nil, &page)
		for _, a := range page.Items {
			key := a.Action + a.Target.ID + a.Detail
			if seen[key] {
				t.Fatalf("entry %s twice across pages", key)
			}
			seen[key] = true
		}
		next = ""
		if page.NextCursor != "" {
			next = log + "?limit=2&cursor=" + url.QueryEscape(page.NextCursor)
		}
		if pages > 20 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) < 8 {
		t.Errorf("paging saw %d entries", len(seen))
	}

	e.as(t, viewer.Token).expectProblem(http.StatusForbidden, "FORBIDDEN", http.MethodGet, log, nil)
	oc.expectProblem(http.StatusForbidden, "FORBIDDEN", http.MethodGet, "/api/v1/admin/activity", nil)
	var all activityPage
	e.admin(t).expect(http.StatusOK, http.MethodGet, "/api/v1/admin/activity?action=user.sign_in_failed&actor="+ownerID, nil, &all)
	if len(all.Items) != 1 || all.Items[0].OrgID != "" || all.Items[0].IP == "" {
		t.Errorf("platform log of the owner's failed sign-ins: %+v", all.Items)
	}
	e.admin(t).expect(http.StatusOK, http.MethodGet, "/api/v1/admin/activity?orgId="+o.ID+"&action=badge", nil, &all)
	if len(all.Items) != 1 || all.Items[0].Target.ID != b.ID {
		t.Errorf("platform log of the organization's badges: %+v", all.Items)
	}

	// Export: the whole log as CSV, in the list's order, filters applied,
	// cells a spreadsheet would run as formulas defused.
	formula := "=HYPERLINK(\"http://evil.example\",\"x\") " + unique("f")
	oc.expect(http.StatusCreated, http.MethodPost, "/api/v1/orgs/"+o.ID+"/badges", map[string]any{"name": formula,
		"description": "d", "criteria": "c", "imageUrl": "https://issuer.example.com/f.png"}, nil)
	exported := exportActivity(t, oc, log+"/export")
	var listed []string
	for next := log + "?limit=100"; next != ""; {
		page = activityPage{}
		oc.expect(http.StatusOK, http.MethodGet, next, nil, &page)
		for _, a := range page.Items {
			listed = append(listed, a.Action+" "+a.Target.ID)
		}
		next = ""
		if page.NextCursor != "" {
			next = log + "?limit=100&cursor=" + url.QueryEscape(page.NextCursor)
		}
	}
	var got []string
	defused := false
	for _, row := range exported {
		got = append(got, row["action"]+" "+row["target_id"])
		if row["org_id"] != o.ID || row["time"] == "" || row["actor_type"] == "" {
			t.Errorf("exported row %v", row)
		}
		if row["action"] == "badge.created" && strings.Contains(row["detail"], "HYPERLINK") {
			defused = row["detail"] == "'"+formula
		}
	}
	if !defused {
		t.Errorf("the export does not hold the formula badge's name defused as %q", "'"+formula)
	}
	if !slices.Equal(got, listed) {
		t.Errorf("the export holds %d entries %v,\nthe list %d %v", len(got), got, len(listed), listed)
	}
	if rows := exportActivity(t, oc, log+"/export?action=credential.revoked"); len(rows) != 1 || rows[0]["target_id"] != cr.ID {
		t.Errorf("export ?action=credential.revoked: %v", rows)
	}
	if rows := exportActivity(t, e.admin(t), "/api/v1/admin/activity/export?action=user.sign_in_failed&actor="+ownerID); len(rows) != 1 {
		t.Errorf("platform export of the owner's failed sign-ins: %v", rows)
	}
	e.as(t, viewer.Token).expectProblem(http.StatusForbidden, "FORBIDDEN", http.MethodGet, log+"/export", nil)
	oc.expectProblem(http.StatusForbidden, "FORBIDDEN", http.MethodGet, "/api/v1/admin/activity/export", nil)
}

// exportActivity downloads an activity export and returns its rows by
// column name, requiring a CSV attachment.
func exportActivity(t *testing.T, c *client, path string) []map[string]string {
	t.Helper()
	r := c.do(http.MethodGet, path, nil)
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment; filename=\"activity-") {
		t.Fatalf("export %s: %s (Content-Type %q, Content-Disposition %q)", path, r, r.Header.Get("Content-Type"), r.Header.Get("Content-Disposition"))
	}
	records, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if err != nil || len(records) == 0 {
		t.Fatalf("export %s is no CSV: %v", path, err)
	}
	header := records[0]
	var rows []map[string]string
	for _, rec := range records[1:] {
		row := map[string]string{}
		for i, name := range header {
			row[name] = rec[i]
		}
		rows = append(rows, row)
	}
	return rows
}
