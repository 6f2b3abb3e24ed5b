package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// The public documents other verifiers fetch: the signed credential as a
// file and as JSON, the issuer's profile, keys and DID document, its
// achievements. A private credential shows to its issuer only (the
// edge's actor); what does not exist is a plain 404 problem.
func TestPublicDocuments(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer("")
	b := s.createBadge(owner.Token, o.ID, 0)
	c := s.issue(owner.Token, o.ID, b.ID, uniqueEmail("doc"))

	w := s.do(http.MethodGet, "/credentials/"+c.ID+".jwt", "", nil)
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/vc+jwt" || w.Body.String() != c.JWT ||
		w.Header().Get("Content-Disposition") != `attachment; filename="`+c.ID+`.jwt"` || w.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("signed file: %d %v", w.Code, w.Header())
	}
	w = s.do(http.MethodGet, "/credentials/"+c.ID, "", nil)
	var vc struct {
		Type   []string `json:"type"`
		Issuer struct {
			ID string `json:"id"`
		} `json:"issuer"`
	}
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/vc" || json.Unmarshal(w.Body.Bytes(), &vc) != nil ||
		vc.Issuer.ID != o.IssuerID || !strings.Contains(strings.Join(vc.Type, ","), "OpenBadgeCredential") {
		t.Fatalf("credential JSON: %d %v %s", w.Code, w.Header(), w.Body)
	}

	issuer := "/issuers/" + o.Slug
	for path, contentType := range map[string]string{issuer: "application/ld+json", issuer + "/jwks.json": "application/jwk-set+json",
		issuer + "/did.json": "application/did+json", issuer + "/achievements": "application/ld+json",
		"/achievements/" + o.Slug + "/" + b.Slug: "application/ld+json"} {
		w := s.do(http.MethodGet, path, "", nil)
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != contentType || !json.Valid(w.Body.Bytes()) {
			t.Errorf("%s: %d %s %s", path, w.Code, w.Header().Get("Content-Type"), w.Body)
		}
	}
	var jwks struct {
		Keys []struct {
			Kid string `json:"kid"`
			D   string `json:"d"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(s.do(http.MethodGet, issuer+"/jwks.json", "", nil).Body.Bytes(), &jwks); err != nil || len(jwks.Keys) != 1 ||
		jwks.Keys[0].Kid != c.KID || jwks.Keys[0].D != "" {
		t.Fatalf("JWKS %+v (%v), want the key %s", jwks, err, c.KID)
	}
	var did struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(s.do(http.MethodGet, issuer+"/did.json", "", nil).Body.Bytes(), &did); err != nil || did.ID != o.IssuerID {
		t.Fatalf("DID document %+v (%v)", did, err)
	}

	for _, path := range []string{"/credentials/CRD-NOSUCH00", "/credentials/CRD-NOSUCH00.jwt", "/issuers/no-such-org", "/issuers/no-such-org/jwks.json",
		"/achievements/" + o.Slug + "/no-such-badge"} {
		if p := wantProblem(t, s.do(http.MethodGet, path, "", nil), http.StatusNotFound, "NOT_FOUND"); p.Detail != "not found" {
			t.Errorf("%s: %+v", path, p)
		}
	}

	// A private credential: its issuer sees it, others are refused; a
	// token that does not authenticate counts as none.
	var private testCredential
	s.expect(http.StatusCreated, http.MethodPost, "/api/v1/orgs/"+o.ID+"/credentials", owner.Token,
		map[string]any{"badgeId": b.ID, "recipient": map[string]string{"name": "Pia", "email": uniqueEmail("private")}, "public": false}, &private)
	for _, token := range []string{"", "crs_not-a-session", s.signUp(uniqueEmail("nosy")).Token} {
		wantProblem(t, s.do(http.MethodGet, "/credentials/"+private.ID+".jwt", token, nil), http.StatusForbidden, "CREDENTIAL_PRIVATE")
		wantProblem(t, s.do(http.MethodGet, "/api/v1/credentials/"+private.ID, token, nil), http.StatusForbidden, "CREDENTIAL_PRIVATE")
	}
	if w := s.do(http.MethodGet, "/credentials/"+private.ID+".jwt", owner.Token, nil); w.Code != http.StatusOK || w.Body.String() != private.JWT {
		t.Fatalf("the issuer's private credential: %d %s", w.Code, w.Body)
	}
	if w := s.do(http.MethodGet, "/verify/"+private.ID, owner.Token, nil); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), private.ID) {
		t.Fatalf("the issuer's verification page of a private credential: %d", w.Code)
	}
	if w := s.do(http.MethodGet, "/verify/"+private.ID, "", nil); w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "Private credential") {
		t.Fatalf("a stranger's verification page of a private credential: %d", w.Code)
	}
}

// Verification as anyone asks for it: by ID, as a presented file, on
// the HTML page; and the claim by the recipient signed in with the
// credential's email.
func TestVerification(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer("")
	b := s.createBadge(owner.Token, o.ID, 0)
	recipient := uniqueEmail("recipient")
	c := s.issue(owner.Token, o.ID, b.ID, recipient)

	var view struct {
		ID        string `json:"id"`
		Status    string `json:"status"`
		Recipient struct {
			Email string `json:"email"`
		} `json:"recipient"`
		Issuer struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"issuer"`
		VerificationURL string `json:"verificationUrl"`
	}
	s.expect(http.StatusOK, http.MethodGet, "/api/v1/credentials/"+c.ID, "", nil, &view)
	if view.ID != c.ID || view.Status != "pending" || view.Recipient.Email == recipient || !strings.Contains(view.Recipient.Email, "*") ||
		view.Issuer.ID != o.IssuerID || view.VerificationURL != "https://credence.test/verify/"+c.ID {
		t.Fatalf("public view %+v", view)
	}
	type verification struct {
		Result string `json:"result"`
		Checks []struct {
			Name string `json:"name"`
			OK   bool   `json:"ok"`
		} `json:"checks"`
		Credential *struct {
			ID string `json:"id"`
		} `json:"credential"`
	}
	var v verification
	s.expect(http.StatusOK, http.MethodGet, "/api/v1/credentials/"+c.ID+"/verify", "", nil, &v)
	if v.Result != "pending" || len(v.Checks) != 5 || v.Credential == nil || v.Credential.ID != c.ID {
		t.Fatalf("verification %+v", v)
	}
	for _, ch := range v.Checks {
		if !ch.OK {
			t.Errorf("check %s failed", ch.Name)
		}
	}
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/verify", "", map[string]string{"credential": c.JWT}, &v)
	if v.Result != "pending" || v.Credential == nil || v.Credential.ID != c.ID {
		t.Fatalf("presented file %+v", v)
	}
	tampered := c.JWT[:len(c.JWT)-4] + "AAAA"
	if tampered == c.JWT {
		tampered = c.JWT[:len(c.JWT)-4] + "BBBB"
	}
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/verify", "", map[string]string{"credential": tampered}, &v)
	if v.Result != "invalid" {
		t.Fatalf("a tampered file verified %q", v.Result)
	}
	s.expectProblem(http.StatusUnprocessableEntity, "VALIDATION_FAILED", http.MethodPost, "/api/v1/verify", "", map[string]string{"credential": "hello"})
	s.expectProblem(http.StatusNotFound, "NOT_FOUND", http.MethodGet, "/api/v1/credentials/CRD-NOSUCH00/verify", "", nil)
	if w := s.do(http.MethodGet, "/verify/"+c.ID, "", nil); w.Code != http.StatusOK || w.Header().Get("Content-Security-Policy") != credentialCSP ||
		!strings.Contains(w.Body.String(), c.ID) {
		t.Fatalf("verification page: %d %v", w.Code, w.Header())
	}

	// Only the recipient claims it, once.
	s.expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodPost, "/api/v1/credentials/"+c.ID+"/claim", "", nil)
	s.expectProblem(http.StatusForbidden, "EMAIL_MISMATCH", http.MethodPost, "/api/v1/credentials/"+c.ID+"/claim", owner.Token, nil)
	holder := s.signUp(recipient)
	var claimed testCredential
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/credentials/"+c.ID+"/claim", holder.Token, nil, &claimed)
	if claimed.Status != "valid" {
		t.Fatalf("claimed %+v", claimed)
	}
	s.expectProblem(http.StatusConflict, "ALREADY_CLAIMED", http.MethodPost, "/api/v1/credentials/"+c.ID+"/claim", holder.Token, nil)
	var mine struct {
		Items []testCredential `json:"items"`
	}
	s.expect(http.StatusOK, http.MethodGet, "/api/v1/me/credentials", holder.Token, nil, &mine)
	if len(mine.Items) != 1 || mine.Items[0].ID != c.ID {
		t.Fatalf("my credentials %+v", mine)
	}
	s.expect(http.StatusOK, http.MethodGet, "/api/v1/credentials/"+c.ID+"/verify", "", nil, &v)
	if v.Result != "valid" {
		t.Fatalf("a claimed credential verifies %q", v.Result)
	}
}
