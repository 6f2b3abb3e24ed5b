package httpapi

import (
	"net/http"
	"strings"
	"testing"
)

// Badges: created, listed a page at a time, edited until their first
// credential freezes the signed fields, deleted while unused, deactivated
// once used; a plan caps how many.
func TestBadges(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer(testPlan) // 2 badges at most
	org := "/api/v1/orgs/" + o.ID
	var b testBadge
	s.expect(http.StatusCreated, http.MethodPost, org+"/badges", owner.Token, map[string]any{"name": "Go Basics", "description": "d",
		"criteria": "c", "imageUrl": "https://issuer.example.com/go.png", "tags": []string{"go"}, "expiresInDays": 365}, &b)
	if b.Slug != "go-basics" || !b.IsActive || b.Locked || b.ExpiresInDays == nil || *b.ExpiresInDays != 365 ||
		b.AchievementURL != "https://credence.test/achievements/"+o.Slug+"/go-basics" {
		t.Fatalf("created %+v", b)
	}
	p := s.expectProblem(http.StatusUnprocessableEntity, "VALIDATION_FAILED", http.MethodPost, org+"/badges", owner.Token,
		map[string]any{"name": "B", "description": "d", "criteria": "c", "imageUrl": "not a url"})
	if len(p.Errors) != 1 || p.Errors[0].Location != "body.imageUrl" {
		t.Errorf("errors %+v", p.Errors)
	}
	unused := s.createBadge(owner.Token, o.ID, 0)
	s.expectProblem(http.StatusForbidden, "PLAN_LIMIT_REACHED", http.MethodPost, org+"/badges", owner.Token,
		map[string]any{"name": "Third", "description": "d", "criteria": "c", "imageUrl": "https://issuer.example.com/3.png"})

	var page struct {
		Items      []testBadge `json:"items"`
		NextCursor string      `json:"nextCursor"`
	}
	s.expect(http.StatusOK, http.MethodGet, org+"/badges?limit=1", owner.Token, nil, &page)
	if len(page.Items) != 1 || page.NextCursor == "" {
		t.Fatalf("first page %+v", page)
	}
	first := page.Items[0].ID
	s.expect(http.StatusOK, http.MethodGet, org+"/badges?limit=1&cursor="+page.NextCursor, owner.Token, nil, &page)
	if len(page.Items) != 1 || page.Items[0].ID == first {
		t.Fatalf("second page %+v", page)
	}
	s.expectProblem(http.StatusUnprocessableEntity, "VALIDATION_FAILED", http.MethodGet, org+"/badges?limit=1000", owner.Token, nil)

	var edited testBadge
	s.expect(http.StatusOK, http.MethodPatch, org+"/badges/"+b.ID, owner.Token, map[string]any{"name": "Go Fundamentals", "expiresInDays": 0}, &edited)
	if edited.Name != "Go Fundamentals" || edited.ExpiresInDays != nil || edited.Slug != "go-basics" {
		t.Fatalf("edited %+v", edited)
	}
	s.issue(owner.Token, o.ID, b.ID, uniqueEmail("learner"))
	s.expect(http.StatusOK, http.MethodGet, org+"/badges/"+b.ID, owner.Token, nil, &edited)
	if !edited.Locked {
		t.Fatalf("a badge that issued is not locked: %+v", edited)
	}
	s.expectProblem(http.StatusConflict, "BADGE_LOCKED", http.MethodPatch, org+"/badges/"+b.ID, owner.Token, map[string]string{"name": "Renamed"})

	type deleted struct {
		Deleted     bool `json:"deleted"`
		Deactivated bool `json:"deactivated"`
	}
	var d deleted
	s.expect(http.StatusOK, http.MethodDelete, org+"/badges/"+unused.ID, owner.Token, nil, &d)
	if !d.Deleted || d.Deactivated {
		t.Errorf("deleting an unused badge: %+v", d)
	}
	s.expectProblem(http.StatusNotFound, "NOT_FOUND", http.MethodGet, org+"/badges/"+unused.ID, owner.Token, nil)
	s.expect(http.StatusOK, http.MethodDelete, org+"/badges/"+b.ID, owner.Token, nil, &d)
	if d.Deleted || !d.Deactivated {
		t.Errorf("deleting a used badge: %+v", d)
	}
	s.expectProblem(http.StatusConflict, "BADGE_INACTIVE", http.MethodPost, org+"/credentials", owner.Token, issueBody(b.ID, uniqueEmail("late")))

	// Another organization's badge is nobody's business.
	other, o2 := s.newIssuer("")
	s.expectProblem(http.StatusNotFound, "NOT_FOUND", http.MethodGet, "/api/v1/orgs/"+o2.ID+"/badges/"+b.ID, other.Token, nil)
	if w := s.do(http.MethodGet, org+"/badges/"+b.ID, other.Token, nil); !strings.Contains(w.Body.String(), "NOT_FOUND") {
		t.Errorf("another org's owner: %d %s", w.Code, w.Body)
	}
}
