package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const v2 = "https://www.w3.org/ns/credentials/v2"

type vcIssueAnswer struct {
	VerifiableCredential *struct {
		Context []string `json:"@context"`
		Type    string   `json:"type"`
		ID      string   `json:"id"`
	} `json:"verifiableCredential"`
	ProblemDetails []vcProblemWire `json:"problemDetails"`
}

// issueVC posts credential to POST /credentials/issue with the API key
// and returns the answer's status and body.
func issueVC(t *testing.T, s *testServer, key string, credential any) (int, vcIssueAnswer) {
	t.Helper()
	w := s.do(http.MethodPost, "/credentials/issue", key, map[string]any{"credential": credential, "options": map[string]any{}})
	var a vcIssueAnswer
	if w.Code == http.StatusCreated || w.Code == http.StatusBadRequest {
		if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
			t.Fatalf("POST /credentials/issue: %d %s", w.Code, w.Body)
		}
	}
	return w.Code, a
}

// signedPayload decodes the payload of the JWS an envelope carries, as
// the W3C suites do (atob: base64 without - or _).
func signedPayload(t *testing.T, id string) map[string]any {
	t.Helper()
	jws, ok := strings.CutPrefix(id, "data:application/vc+jwt,")
	if !ok {
		t.Fatalf("envelope id %q", id)
	}
	payload := strings.Split(jws, ".")[1]
	if strings.ContainsAny(payload, "-_") {
		t.Errorf("payload %s holds - or _: atob cannot read it", payload)
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// POST /credentials/issue signs a VCDM 2.0 credential as the API key's
// organization: the caller's document with the issuer, an id, the status
// entries and the JWT claims added; POST /credentials/verify verifies it;
// POST /credentials/status suspends, unsuspends and revokes it, and the
// published lists and verify follow.
func TestVCAPIIssue(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer("professional")
	_, key := s.apiKey(owner.Token, o.ID, "live")
	did := "did:web:credence.test:issuers:" + o.Slug

	subject := map[string]any{"id": "did:example:alice", "name": "Alice?~"}
	code, a := issueVC(t, s, key, map[string]any{
		"@context":          []any{v2, "https://www.w3.org/ns/credentials/examples/v2"},
		"type":              []any{"VerifiableCredential", "ExampleDegreeCredential"},
		"credentialSubject": subject,
		"validFrom":         "2026-01-01T00:00:00.5-06:00",
		"validUntil":        "2099-01-01T00:00:00Z",
	})
	if code != http.StatusCreated || a.VerifiableCredential == nil {
		t.Fatalf("issue: %d %+v", code, a)
	}
	env := a.VerifiableCredential
	if len(env.Context) != 1 || env.Context[0] != v2 || env.Type != "EnvelopedVerifiableCredential" {
		t.Errorf("envelope %+v", env)
	}
	doc := signedPayload(t, env.ID)
	if doc["issuer"] != did || doc["iss"] != did || !strings.HasPrefix(doc["id"].(string), "urn:uuid:") {
		t.Errorf("issuer, iss, id: %v %v %v", doc["issuer"], doc["iss"], doc["id"])
	}
	if got, _ := json.Marshal(doc["credentialSubject"]); string(got) != `{"id":"did:example:alice","name":"Alice?~"}` {
		t.Errorf("credentialSubject changed: %s", got)
	}
	if doc["nbf"] != float64(1767247200) || doc["exp"] != float64(4070908800) {
		t.Errorf("nbf %v, exp %v", doc["nbf"], doc["exp"])
	}
	status, _ := doc["credentialStatus"].([]any)
	if len(status) != 2 {
		t.Fatalf("credentialStatus %v", doc["credentialStatus"])
	}
	entry := status[1].(map[string]any)
	if entry["statusPurpose"] != "suspension" || entry["type"] != "BitstringStatusListEntry" {
		t.Errorf("suspension entry %v", entry)
	}
	wantVerified(t, s, "/credentials/verify", map[string]any{"verifiableCredential": env})

	// Suspend, unsuspend, revoke through the status endpoint: the list
	// and verify follow.
	listURL := entry["statusListCredential"].(string)
	var index int
	if err := json.Unmarshal([]byte(entry["statusListIndex"].(string)), &index); err != nil {
		t.Fatal(err)
	}
	change := func(want int, purpose string, set bool) {
		t.Helper()
		var got struct {
			Changed int `json:"changed"`
		}
		s.expect(want, http.MethodPost, "/credentials/status", key, map[string]any{"credentialId": doc["id"],
			"credentialStatus": map[string]any{"type": "BitstringStatusListEntry", "statusPurpose": purpose}, "status": set, "reason": "checking"}, &got)
		if want == http.StatusOK && got.Changed != 1 {
			t.Errorf("status change: changed %d", got.Changed)
		}
	}
	change(http.StatusOK, "suspension", true)
	s.eventuallyBit(listURL, index, true)
	wantRefused(t, s, "/credentials/verify", map[string]any{"verifiableCredential": env}, suspendedProblem, "checking")
	s.expectProblem(http.StatusConflict, "INVALID_STATE", http.MethodPost, "/credentials/status", key, map[string]any{"credentialId": doc["id"],
		"credentialStatus": map[string]any{"statusPurpose": "suspension"}})
	change(http.StatusOK, "suspension", false)
	s.eventuallyBit(listURL, index, false)
	wantVerified(t, s, "/credentials/verify", map[string]any{"verifiableCredential": env})
	change(http.StatusOK, "revocation", true)
	wantRefused(t, s, "/credentials/verify", map[string]any{"verifiableCredential": env}, revokedProblem, "checking")
	s.expectProblem(http.StatusConflict, "INVALID_STATE", http.MethodPost, "/credentials/status", key, map[string]any{"credentialId": doc["id"],
		"credentialStatus": map[string]any{"statusPurpose": "revocation"}, "status": false})
	revocationURL := status[0].(map[string]any)["statusListCredential"].(string)
	s.eventuallyBit(revocationURL, index, true)
	s.expectProblem(http.StatusNotFound, "NOT_FOUND", http.MethodPost, "/credentials/status", key, map[string]any{"credentialId": "urn:uuid:nothing",
		"credentialStatus": map[string]any{"statusPurpose": "revocation"}})

	// A payload changed after signing, or signed but never recorded, does
	// not verify.
	jws := strings.TrimPrefix(env.ID, "data:application/vc+jwt,")
	wantRefused(t, s, "/credentials/verify", map[string]any{"verifiableCredential": envelopedVC(tamperName(t, jws))}, cryptographicError, "does not verify")

	// Only an organization's API key issues; a person's token, none, or
	// another issuer named is refused.
	ok := map[string]any{"@context": []any{v2}, "type": "VerifiableCredential", "credentialSubject": map[string]any{"id": "did:example:bob"}}
	s.expectProblem(http.StatusForbidden, "FORBIDDEN", http.MethodPost, "/credentials/issue", owner.Token, map[string]any{"credential": ok})
	s.expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodPost, "/credentials/issue", "", map[string]any{"credential": ok})
	with := func(k string, v any) map[string]any {
		out := map[string]any{}
		for key, val := range ok {
			out[key] = val
		}
		out[k] = v
		return out
	}
	code, a = issueVC(t, s, key, with("issuer", map[string]any{"id": did, "name": "Acme"}))
	if code != http.StatusCreated {
		t.Errorf("issuer object with the organization's DID: %d %+v", code, a)
	}

	// What VCDM 2.0 forbids is refused 400 with a problem naming it.
	for name, tc := range map[string]struct {
		credential any
		says       string
	}{
		"not an object":              {"a string", "JSON object"},
		"no context":                 {with("@context", nil), "@context"},
		"context not first":          {with("@context", []any{"https://www.w3.org/ns/credentials/examples/v2", v2}), "@context must begin"},
		"context not a URL":          {with("@context", []any{v2, "https ://not-a-url/x"}), "not a URL"},
		"context a number":           {with("@context", []any{v2, 123}), "@context[1]"},
		"context not held":           {with("@context", []any{v2, "https://example.org/unknown/v1"}), "not bundled"},
		"no type":                    {with("type", nil), "type is required"},
		"no VerifiableCredential":    {with("type", []any{"RelationshipCredential"}), "type is required"},
		"undefined type":             {with("type", []any{"VerifiableCredential", "Undefined"}), "absolute IRI"},
		"undefined member":           {with("statusEntry", map[string]any{"type": "BitstringStatusListEntry"}), "expand"},
		"id null":                    {with("id", nil), "id must be a single URL"},
		"id not a URL":               {with("id", "https ://x"), "id must be a single URL"},
		"subject id an array":        {with("credentialSubject", map[string]any{"id": []any{"did:example:a", "did:example:b"}}), "credentialSubject.id"},
		"no subject":                 {with("credentialSubject", nil), "credentialSubject is required"},
		"empty subject":              {with("credentialSubject", map[string]any{}), "at least one claim"},
		"empty subject in a list":    {with("credentialSubject", []any{map[string]any{"id": "did:example:a"}, map[string]any{}}), "credentialSubject[1]"},
		"another issuer":             {with("issuer", "did:example:fake"), "signs as"},
		"issuer not a URL":           {with("issuer", "fake-issuer"), "issuer must be a URL"},
		"issuer null":                {with("issuer", nil), "issuer must be"},
		"issuer id null":             {with("issuer", map[string]any{"id": nil}), "issuer.id"},
		"validFrom not a date":       {with("validFrom", "Sat 25 Feb 2023 07:16:31 PM CST"), "dateTimeStamp"},
		"validUntil no time zone":    {with("validUntil", "2030-01-01T00:00:00"), "dateTimeStamp"},
		"status without type":        {with("credentialStatus", map[string]any{"id": "https://example.org/status/1"}), "credentialStatus.type"},
		"status type a number":       {with("credentialStatus", map[string]any{"type": 2}), "credentialStatus.type"},
		"schema without id":          {with("credentialSchema", map[string]any{"type": "JsonSchema"}), "credentialSchema.id"},
		"terms of use without type":  {with("termsOfUse", map[string]any{"id": "https://example.org/terms"}), "termsOfUse.type"},
		"name with a url":            {with("name", map[string]any{"@value": "x", "url": "https://example.org"}), "value object"},
		"related resource no digest": {with("relatedResource", map[string]any{"id": v2}), "digest"},
		"a proof":                    {with("proof", map[string]any{"type": "DataIntegrityProof"}), "proof"},
		"redefined protected term":   {with("@context", []any{v2, map[string]any{"VerifiableCredential": "https://example.org/#VC"}}), "protected"},
	} {
		code, a := issueVC(t, s, key, tc.credential)
		if code != http.StatusBadRequest {
			t.Errorf("%s: %d %+v, want 400", name, code, a)
			continue
		}
		found := false
		for _, p := range a.ProblemDetails {
			found = found || strings.Contains(p.Detail, tc.says)
		}
		if !found {
			t.Errorf("%s: problems %+v, want one saying %q", name, a.ProblemDetails, tc.says)
		}
	}
}

// With options.securingMechanism DataIntegrity, an organization with
// proofs on gets the signed document with its eddsa-rdfc-2022 proof
// embedded; POST /credentials/verify verifies it, refuses it changed, and
// reads its status; without proofs on, the request is refused.
func TestVCAPIIssueDataIntegrity(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer("professional")
	_, key := s.apiKey(owner.Token, o.ID, "live")
	vc := map[string]any{"@context": []any{v2}, "type": "VerifiableCredential", "id": "urn:uuid:0b4f5b7e-6a43-4c55-9d7e-7f1f0e3d2a11",
		"credentialSubject": map[string]any{"id": "did:example:carol"}}
	di := map[string]any{"securingMechanism": "DataIntegrity"}
	issue := func() *httptest.ResponseRecorder {
		return s.do(http.MethodPost, "/credentials/issue", key, map[string]any{"credential": vc, "options": di})
	}
	if w := issue(); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "dataIntegrityProof") {
		t.Fatalf("DataIntegrity with proofs off: %d %s", w.Code, w.Body)
	}
	s.expect(http.StatusOK, http.MethodPatch, "/api/v1/orgs/"+o.ID, owner.Token, map[string]bool{"dataIntegrityProof": true}, nil)
	w := issue()
	var got struct {
		VerifiableCredential map[string]any `json:"verifiableCredential"`
	}
	if w.Code != http.StatusCreated || json.Unmarshal(w.Body.Bytes(), &got) != nil {
		t.Fatalf("DataIntegrity: %d %s", w.Code, w.Body)
	}
	secured := got.VerifiableCredential
	proofs, _ := secured["proof"].([]any) // a set of one, as Credence embeds proofs
	var proof map[string]any
	if len(proofs) == 1 {
		proof, _ = proofs[0].(map[string]any)
	}
	if proof["cryptosuite"] != "eddsa-rdfc-2022" || secured["id"] != vc["id"] || secured["credentialStatus"] == nil {
		t.Fatalf("secured credential: %v", secured)
	}
	wantVerified(t, s, "/credentials/verify", map[string]any{"verifiableCredential": secured})
	changed := map[string]any{}
	for k, v := range secured {
		changed[k] = v
	}
	changed["credentialSubject"] = map[string]any{"id": "did:example:mallory"}
	wantRefused(t, s, "/credentials/verify", map[string]any{"verifiableCredential": changed}, cryptographicError, "not one the issuer recorded")
	s.expect(http.StatusOK, http.MethodPost, "/credentials/status", key, map[string]any{"credentialId": vc["id"],
		"credentialStatus": map[string]any{"statusPurpose": "revocation"}, "reason": "withdrawn"}, nil)
	wantRefused(t, s, "/credentials/verify", map[string]any{"verifiableCredential": secured}, revokedProblem, "withdrawn")
}
