package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/statuslist"
)

type statusListWire struct {
	Index          int    `json:"index"`
	RevocationList string `json:"revocationList"`
	SuspensionList string `json:"suspensionList"`
}

// statusBit fetches a status list as a verifier does and reads entry
// index: the ETag it came with too.
func (s *testServer) statusBit(listURL string, index int) (bool, string) {
	s.t.Helper()
	u, err := url.Parse(listURL)
	if err != nil {
		s.t.Fatal(err)
	}
	w := s.do(http.MethodGet, u.Path, "", nil, "Accept", "application/vc")
	if w.Code != http.StatusOK {
		s.t.Fatalf("GET %s: %d %s", u.Path, w.Code, w.Body)
	}
	var list statuslist.Credential
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil {
		s.t.Fatal(err)
	}
	bits, err := statuslist.Decode(list.CredentialSubject.EncodedList)
	if err != nil {
		s.t.Fatal(err)
	}
	on, err := bits.Get(index)
	if err != nil {
		s.t.Fatal(err)
	}
	return on, w.Header().Get("ETag")
}

// eventually polls the list until entry index reads want: the worker
// publishes it once the change commits.
func (s *testServer) eventuallyBit(listURL string, index int, want bool) {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if on, _ := s.statusBit(listURL, index); on == want {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s entry %d never read %v", listURL, index, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// GET /status-lists/{listId} serves the signed status list credential
// (application/vc+jwt), or its JSON for Accept application/vc or
// application/json, cacheable with an ETag; suspend and unsuspend change
// the credential, its status in verify and lists, and the published list.
func TestStatusListsOverHTTP(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer("")
	b := s.createBadge(owner.Token, o.ID, 0)
	c := s.issue(owner.Token, o.ID, b.ID, uniqueEmail("sl"))
	credPath := "/api/v1/orgs/" + o.ID + "/credentials/" + c.ID
	var got struct {
		Status     string          `json:"status"`
		StatusList *statusListWire `json:"statusList"`
	}
	s.expect(http.StatusOK, http.MethodGet, credPath, owner.Token, nil, &got)
	if got.StatusList == nil || !strings.HasSuffix(got.StatusList.RevocationList, "-revocation") ||
		!strings.HasSuffix(got.StatusList.SuspensionList, "-suspension") {
		t.Fatalf("credential's status list: %+v", got.StatusList)
	}
	sl := got.StatusList

	// The signed file names the same places.
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(c.JWT, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var vc struct {
		CredentialStatus []statuslist.Entry `json:"credentialStatus"`
	}
	if err := json.Unmarshal(payload, &vc); err != nil || len(vc.CredentialStatus) != 2 ||
		vc.CredentialStatus[0].StatusListCredential != sl.RevocationList || vc.CredentialStatus[1].StatusListCredential != sl.SuspensionList ||
		vc.CredentialStatus[0].StatusListIndex != strconv.Itoa(sl.Index) {
		t.Fatalf("credentialStatus %+v (%v), want the places of %+v", vc.CredentialStatus, err, sl)
	}

	path := mustPath(t, sl.RevocationList)
	w := s.do(http.MethodGet, path, "", nil)
	etag := w.Header().Get("ETag")
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/vc+jwt" || strings.Count(w.Body.String(), ".") != 2 ||
		etag == "" || w.Header().Get("Cache-Control") != "public, max-age=60" || w.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("GET %s: %d %v %s", path, w.Code, w.Header(), w.Body)
	}
	if w := s.do(http.MethodGet, path, "", nil, "Accept", "application/json;q=0, application/vc+jwt"); w.Header().Get("Content-Type") != "application/vc+jwt" {
		t.Errorf("Accept refusing JSON (q=0): %s", w.Header().Get("Content-Type"))
	}
	// Labelled as asked: the W3C status list suite's loader wants "json"
	// in the type of what it fetched with application/ld+json, json.
	for accept, want := range map[string]string{"application/vc": "application/vc", "application/json": "application/json",
		"text/html;q=0.5, application/json": "application/json", "application/ld+json, application/json": "application/ld+json"} {
		w := s.do(http.MethodGet, path, "", nil, "Accept", accept)
		var list statuslist.Credential
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != want || json.Unmarshal(w.Body.Bytes(), &list) != nil ||
			list.ID != sl.RevocationList || list.CredentialSubject.StatusPurpose != statuslist.Revocation || w.Header().Get("ETag") == etag {
			t.Errorf("Accept %s: %d %v %s", accept, w.Code, w.Header(), w.Body)
		}
	}
	if w := s.do(http.MethodGet, path, "", nil, "If-None-Match", etag); w.Code != http.StatusNotModified || w.Body.Len() != 0 {
		t.Errorf("If-None-Match with the current ETag: %d %s", w.Code, w.Body)
	}
	for _, missing := range []string{"/status-lists/nothing", "/status-lists/" + strings.Repeat("x", 36) + "-revocation",
		strings.TrimSuffix(path, "-revocation") + "-refresh", strings.TrimSuffix(path, "-revocation")} {
		if w := s.do(http.MethodGet, missing, "", nil); w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", missing, w.Code)
		}
	}

	// Suspend: a reason is required; then the credential, verify and the
	// published list say suspended, and a second suspension is refused.
	s.expectProblem(http.StatusUnprocessableEntity, "VALIDATION_FAILED", http.MethodPost, credPath+"/suspend", owner.Token, map[string]string{"reason": " "})
	s.expectProblem(http.StatusConflict, "INVALID_STATE", http.MethodPost, credPath+"/unsuspend", owner.Token, nil)
	s.expect(http.StatusOK, http.MethodPost, credPath+"/suspend", owner.Token, map[string]string{"reason": "under review"}, &got)
	if got.Status != "suspended" {
		t.Errorf("suspended credential's status %q", got.Status)
	}
	s.expectProblem(http.StatusConflict, "INVALID_STATE", http.MethodPost, credPath+"/suspend", owner.Token, map[string]string{"reason": "again"})
	s.eventuallyBit(sl.SuspensionList, sl.Index, true)
	if on, _ := s.statusBit(sl.RevocationList, sl.Index); on {
		t.Error("suspension set the revocation bit")
	}
	var verdict struct {
		Result string `json:"result"`
	}
	s.expect(http.StatusOK, http.MethodGet, "/api/v1/credentials/"+c.ID+"/verify", "", nil, &verdict)
	if verdict.Result != "suspended" {
		t.Errorf("verify of a suspended credential: %s", verdict.Result)
	}
	var listed struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	s.expect(http.StatusOK, http.MethodGet, "/api/v1/orgs/"+o.ID+"/credentials?status=suspended", owner.Token, nil, &listed)
	if len(listed.Items) != 1 || listed.Items[0].ID != c.ID {
		t.Errorf("?status=suspended lists %+v", listed.Items)
	}
	page := s.do(http.MethodGet, "/verify/"+c.ID, "", nil, "Accept", "text/html")
	if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), "Suspended") || !strings.Contains(page.Body.String(), "under review") {
		t.Errorf("the page of a suspended credential: %d, banner missing", page.Code)
	}

	// Unsuspend: valid again, the bit cleared; revoke sets the other.
	s.expect(http.StatusOK, http.MethodPost, credPath+"/unsuspend", owner.Token, nil, &got)
	if got.Status != "pending" {
		t.Errorf("unsuspended credential's status %q", got.Status)
	}
	s.eventuallyBit(sl.SuspensionList, sl.Index, false)
	s.expect(http.StatusOK, http.MethodPost, credPath+"/revoke", owner.Token, map[string]string{"reason": "issued in error"}, nil)
	s.eventuallyBit(sl.RevocationList, sl.Index, true)
	if _, now := s.statusBit(sl.RevocationList, sl.Index); now == "" {
		t.Error("no ETag")
	}
	if w := s.do(http.MethodGet, path, "", nil, "If-None-Match", etag); w.Code != http.StatusOK {
		t.Errorf("the old ETag after a change: %d, want the new list", w.Code)
	}
	s.expectProblem(http.StatusConflict, "INVALID_STATE", http.MethodPost, credPath+"/suspend", owner.Token, map[string]string{"reason": "late"})
}

func mustPath(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Path
}
