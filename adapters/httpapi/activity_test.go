package httpapi

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
)

// The activity log records who did what from where, newest first,
// filtered by action, actor and target, a page at a time or as a CSV
// download; the platform's log adds sign-ins.
func TestActivity(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer("")
	org := "/api/v1/orgs/" + o.ID
	b := s.createBadge(owner.Token, o.ID, 0)
	c := s.issue(owner.Token, o.ID, b.ID, uniqueEmail("logged"))
	s.expect(http.StatusOK, http.MethodPost, org+"/credentials/"+c.ID+"/revoke", owner.Token, map[string]string{"reason": "=cmd|' /C calc'!A0"}, nil)

	type entry struct {
		OrgID string `json:"orgId"`
		Actor struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		} `json:"actor"`
		IP     string `json:"ip"`
		Action string `json:"action"`
		Target struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		} `json:"target"`
		Detail string `json:"detail"`
	}
	var page struct {
		Items      []entry `json:"items"`
		NextCursor string  `json:"nextCursor"`
	}
	s.expect(http.StatusOK, http.MethodGet, org+"/activity", owner.Token, nil, &page)
	actions := []string{}
	for _, e := range page.Items {
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, ","); !strings.HasPrefix(got, "credential.revoked,credential.issued,badge.created,signing_key.generated") {
		t.Fatalf("actions newest first: %s", got)
	}
	issued := page.Items[1]
	if issued.OrgID != o.ID || issued.Actor.Type != "user" || issued.Actor.ID == "" || issued.IP != "198.51.100.7" ||
		issued.Target.Type != "credential" || issued.Target.ID != c.ID {
		t.Fatalf("issued entry %+v", issued)
	}
	s.expect(http.StatusOK, http.MethodGet, org+"/activity?action=credential&target="+c.ID, owner.Token, nil, &page)
	if len(page.Items) != 2 {
		t.Fatalf("credential entries %+v", page)
	}
	s.expect(http.StatusOK, http.MethodGet, org+"/activity?limit=1", owner.Token, nil, &page)
	if len(page.Items) != 1 || page.NextCursor == "" {
		t.Fatalf("first page %+v", page)
	}
	s.expectProblem(http.StatusUnprocessableEntity, "VALIDATION_FAILED", http.MethodGet, org+"/activity?since=yesterday", owner.Token, nil)

	w := s.do(http.MethodGet, org+"/activity/export?action=credential.revoked", owner.Token, nil)
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/csv") ||
		!strings.Contains(w.Header().Get("Content-Disposition"), `filename="activity-`+o.ID) {
		t.Fatalf("export: %d %v", w.Code, w.Header())
	}
	rows, err := csv.NewReader(w.Body).ReadAll()
	if err != nil || len(rows) != 2 || strings.Join(rows[0], ",") != strings.Join(activityCSVHeader, ",") {
		t.Fatalf("export rows %q (%v)", rows, err)
	}
	if detail := rows[1][len(rows[1])-1]; detail != "'=cmd|' /C calc'!A0" {
		t.Errorf("the revocation's reason in the export: %q, want it defused", detail)
	}

	// The platform's log has the sign-ins; an owner may not read it.
	s.expectProblem(http.StatusForbidden, "FORBIDDEN", http.MethodGet, "/api/v1/admin/activity", owner.Token, nil)
	s.expect(http.StatusOK, http.MethodGet, "/api/v1/admin/activity?action=user.signed_in", s.admin(), nil, &page)
	if len(page.Items) < 2 || page.Items[0].Action != "user.signed_in" {
		t.Fatalf("sign-ins %+v", page)
	}
	w = s.do(http.MethodGet, "/api/v1/admin/activity/export?orgId="+o.ID, s.admin(), nil)
	if w.Code != http.StatusOK || strings.Count(w.Body.String(), "\n") < 5 {
		t.Fatalf("platform export: %d %s", w.Code, w.Body)
	}
}
