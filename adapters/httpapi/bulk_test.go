package httpapi

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Bulk issuance: a CSV previewed row by row on any plan, submitted on a
// plan that has it, issued in the background, its rows' outcomes listed.
func TestBulkIssuance(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer("")
	org := "/api/v1/orgs/" + o.ID
	b := s.createBadge(owner.Token, o.ID, 0)
	holder := uniqueEmail("holder")
	held := s.issue(owner.Token, o.ID, b.ID, holder)
	fresh := uniqueEmail("fresh")
	csv := "Name,EMAIL,team\nFay Fresh," + fresh + ",a\nHal Holder," + holder + ",b\nNo Mail,not-an-email,c\nFay Again," + fresh + ",d\n"

	type preview struct {
		Rows []struct {
			Row                  int    `json:"row"`
			Email                string `json:"email"`
			State                string `json:"state"`
			Reason               string `json:"reason"`
			ExistingCredentialID string `json:"existingCredentialId"`
		} `json:"rows"`
		RowsTruncated bool `json:"rowsTruncated"`
		Totals        struct {
			Rows     int `json:"rows"`
			Issuable int `json:"issuable"`
			New      int `json:"new"`
			Skipped  int `json:"skipped"`
			Invalid  int `json:"invalid"`
		} `json:"totals"`
	}
	var v preview
	s.expect(http.StatusOK, http.MethodPost, org+"/bulk-issuances/validate", owner.Token, csvUpload(t, b.ID, "people.csv", csv), &v)
	states := []string{}
	for _, r := range v.Rows {
		states = append(states, r.State)
	}
	if got := strings.Join(states, ","); got != "new,skipped,invalid,invalid" || v.Rows[1].ExistingCredentialID != held.ID || v.Rows[2].Reason == "" {
		t.Fatalf("preview states %s: %+v", got, v)
	}
	if v.Totals.Rows != 4 || v.Totals.Issuable != 1 || v.Totals.New != 1 || v.Totals.Skipped != 1 || v.Totals.Invalid != 2 {
		t.Fatalf("totals %+v", v.Totals)
	}
	s.expect(http.StatusOK, http.MethodPost, org+"/bulk-issuances/validate?state=invalid&limit=1", owner.Token, csvUpload(t, b.ID, "people.csv", csv), &v)
	if len(v.Rows) != 1 || v.Rows[0].State != "invalid" || !v.RowsTruncated || v.Totals.Rows != 4 {
		t.Fatalf("invalid rows, one: %+v", v)
	}
	for name, file := range map[string]string{"people.txt": csv, "empty.csv": "", "headless.csv": "who,where\nx,y\n"} {
		w := s.do(http.MethodPost, org+"/bulk-issuances/validate", owner.Token, csvUpload(t, b.ID, name, file))
		if p := wantProblem(t, w, http.StatusUnprocessableEntity, "INVALID_CSV"); p.Detail == "" {
			t.Errorf("%s: no detail", name)
		}
	}

	s.expectProblem(http.StatusForbidden, "PLAN_REQUIRED", http.MethodPost, org+"/bulk-issuances", owner.Token, csvUpload(t, b.ID, "people.csv", csv))
	s.expect(http.StatusOK, http.MethodPut, "/api/v1/admin/orgs/"+o.ID+"/plan", s.admin(), map[string]string{"plan": "professional"}, nil)
	type job struct {
		ID        string `json:"id"`
		Status    string `json:"status"`
		Total     int    `json:"total"`
		Issued    int    `json:"issued"`
		Skipped   int    `json:"skipped"`
		Failed    int    `json:"failed"`
		Processed int    `json:"processed"`
		FileName  string `json:"fileName"`
	}
	var j job
	w := s.expect(http.StatusAccepted, http.MethodPost, org+"/bulk-issuances", owner.Token, csvUpload(t, b.ID, "people.csv", csv), &j)
	if w.Header().Get("Location") != org+"/bulk-issuances/"+j.ID || j.Total != 4 || j.FileName != "people.csv" {
		t.Fatalf("submitted %v %+v", w.Header(), j)
	}
	deadline := time.Now().Add(10 * time.Second)
	for j.Status != "completed" && j.Status != "failed" {
		if time.Now().After(deadline) {
			t.Fatalf("the job did not end: %+v", j)
		}
		select {
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		case <-time.After(20 * time.Millisecond):
		}
		s.expect(http.StatusOK, http.MethodGet, org+"/bulk-issuances/"+j.ID, owner.Token, nil, &j)
	}
	if j.Status != "completed" || j.Issued != 1 || j.Skipped != 1 || j.Failed != 2 || j.Processed != 4 {
		t.Fatalf("ended %+v", j)
	}
	var rows struct {
		Items []struct {
			Row          int    `json:"row"`
			Outcome      string `json:"outcome"`
			CredentialID string `json:"credentialId"`
			Code         string `json:"code"`
		} `json:"items"`
		NextCursor string `json:"nextCursor"`
	}
	s.expect(http.StatusOK, http.MethodGet, org+"/bulk-issuances/"+j.ID+"/rows?outcome=issued", owner.Token, nil, &rows)
	if len(rows.Items) != 1 || rows.Items[0].Row != 1 || !credentialIDRE.MatchString(rows.Items[0].CredentialID) {
		t.Fatalf("issued rows %+v", rows)
	}
	s.expect(http.StatusOK, http.MethodGet, org+"/bulk-issuances/"+j.ID+"/rows?limit=2", owner.Token, nil, &rows)
	if len(rows.Items) != 2 || rows.NextCursor != "2" {
		t.Fatalf("first rows %+v", rows)
	}
	s.expect(http.StatusOK, http.MethodGet, org+"/bulk-issuances/"+j.ID+"/rows?limit=2&cursor="+rows.NextCursor, owner.Token, nil, &rows)
	if len(rows.Items) != 2 || rows.Items[0].Row != 3 || rows.Items[0].Outcome != "failed" || rows.Items[0].Code == "" {
		t.Fatalf("next rows %+v", rows)
	}
	var jobs struct {
		Items []job `json:"items"`
	}
	s.expect(http.StatusOK, http.MethodGet, org+"/bulk-issuances", owner.Token, nil, &jobs)
	if len(jobs.Items) != 1 || jobs.Items[0].ID != j.ID {
		t.Fatalf("jobs %+v", jobs)
	}
	s.expectProblem(http.StatusNotFound, "NOT_FOUND", http.MethodGet, org+"/bulk-issuances/00000000-0000-4000-8000-000000000000", owner.Token, nil)

	// A body over the upload bound is refused before it is read.
	big := csvUpload(t, b.ID, "big.csv", "name,email\n"+strings.Repeat(fmt.Sprintf("N,%s\n", fresh), 5<<20/30))
	s.expectProblem(http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", http.MethodPost, org+"/bulk-issuances/validate", owner.Token, big)
}
