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

// What a review of the issue endpoint found, each as a user would meet
// it: names under this server's URL and badge types refused (so no
// document issued here passes for a badge credential), test keys
// refused, each credential counted toward the quota, a reused id's
// revoked record not blocking the others, a validFrom ahead, JWT claims
// given by the caller, a document too large once signed, and a secured
// document whose numbers were changed.
func TestVCAPIIssueRefusals(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer("enterprise")
	_, key := s.apiKey(owner.Token, o.ID, "live")
	_, testKey := s.apiKey(owner.Token, o.ID, "test")
	base := func() map[string]any {
		return map[string]any{"@context": []any{v2}, "type": []any{"VerifiableCredential"}, "credentialSubject": map[string]any{"id": "did:example:dan"}}
	}
	with := func(k string, v any) map[string]any {
		c := base()
		c[k] = v
		return c
	}
	refused := func(name string, credential any, says string) {
		t.Helper()
		code, a := issueVC(t, s, key, credential)
		if code != http.StatusBadRequest {
			t.Errorf("%s: %d %+v, want 400", name, code, a)
			return
		}
		for _, p := range a.ProblemDetails {
			if strings.Contains(p.Detail, says) {
				return
			}
		}
		t.Errorf("%s: problems %+v, want one saying %q", name, a.ProblemDetails, says)
	}
	refused("id of a badge credential", with("id", "https://credence.test/credentials/CRD-AAAAAAAA"), "public URL")
	nested := with("credentialSubject", map[string]any{"achievement": map[string]any{"id": "https://CREDENCE.test/achievements/x/y"}})
	nested["@context"] = []any{v2, "https://www.w3.org/ns/credentials/examples/v2"}
	refused("nested id under the server", nested, "public URL")
	refused("Open Badges type", with("type", []any{"VerifiableCredential", "OpenBadgeCredential"}), "Open Badges")
	refused("a JWT claim", with("exp", 1), "JWT claims")
	refused("an id too long", with("id", "urn:x:"+strings.Repeat("a", 3000)), "id must be a single URL")
	refused("members repeated ignoring case", with("Type", "x"), "appears twice")
	refused("too large once signed", with("credentialSubject", map[string]any{"id": "did:example:dan", "name": strings.Repeat("?", 40000)}), "once signed")
	deep := any(map[string]any{"id": "did:example:deep"})
	for range 40 {
		deep = map[string]any{"name": deep}
	}
	refused("nested too deep", with("credentialSubject", deep), "levels deep")
	s.expectProblem(http.StatusForbidden, "FORBIDDEN", http.MethodPost, "/credentials/issue", testKey, map[string]any{"credential": base()})

	// Each credential counts toward the month's recipients, however its
	// id is reused.
	usage := func() int {
		var u struct {
			Quota struct {
				Used int `json:"used"`
			} `json:"quota"`
		}
		s.expect(http.StatusOK, http.MethodGet, "/api/v1/orgs/"+o.ID+"/usage", owner.Token, nil, &u)
		return u.Quota.Used
	}
	before := usage()
	reused := with("id", "urn:uuid:5e0c4c55-3b5d-4b8e-a8a7-0c1d3a5b9f00")
	_, first := issueVC(t, s, key, reused)
	status := func(purpose string, set bool) (int, int) {
		var got struct {
			Changed int `json:"changed"`
		}
		w := s.do(http.MethodPost, "/credentials/status", key, map[string]any{"credentialId": reused["id"],
			"credentialStatus": map[string]any{"statusPurpose": purpose}, "status": set})
		_ = json.Unmarshal(w.Body.Bytes(), &got)
		return w.Code, got.Changed
	}
	if code, n := status("revocation", true); code != http.StatusOK || n != 1 {
		t.Fatalf("revoke: %d changed %d", code, n)
	}
	_, second := issueVC(t, s, key, reused)
	// Another organization's key reaches none of them.
	otherOwner, other := s.newIssuer("professional")
	_, otherKey := s.apiKey(otherOwner.Token, other.ID, "live")
	s.expectProblem(http.StatusNotFound, "NOT_FOUND", http.MethodPost, "/credentials/status", otherKey, map[string]any{"credentialId": reused["id"],
		"credentialStatus": map[string]any{"statusPurpose": "suspension"}})
	if got := usage() - before; got != 2 {
		t.Errorf("two credentials with one id counted %d recipients, want 2", got)
	}
	// The first is revoked already: the second's revocation goes through.
	if code, n := status("suspension", true); code != http.StatusOK || n != 1 {
		t.Errorf("suspend with one of two revoked: %d changed %d", code, n)
	}
	if code, n := status("revocation", true); code != http.StatusOK || n != 1 {
		t.Errorf("revoke the second: %d changed %d", code, n)
	}
	if code, _ := status("revocation", true); code != http.StatusConflict {
		t.Errorf("revoking all-revoked: %d, want 409", code)
	}
	for _, a := range []vcIssueAnswer{first, second} {
		wantRefused(t, s, "/credentials/verify", map[string]any{"verifiableCredential": a.VerifiableCredential}, revokedProblem, "")
	}

	// Valid from a later time: not verified yet.
	_, later := issueVC(t, s, key, with("validFrom", "2099-01-01T00:00:00Z"))
	wantRefused(t, s, "/credentials/verify", map[string]any{"verifiableCredential": later.VerifiableCredential}, credenceTypes+"NOT_YET_VALID", "not yet valid")

	// POST /api/v1/verify of one: verified, and no badge credential named.
	_, now := issueVC(t, s, key, base())
	jws := strings.TrimPrefix(now.VerifiableCredential.ID, "data:application/vc+jwt,")
	var v struct {
		Result     string          `json:"result"`
		Credential json.RawMessage `json:"credential"`
	}
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/verify", "", map[string]string{"credential": jws}, &v)
	if v.Result != "valid" || len(v.Credential) != 0 {
		t.Errorf("POST /api/v1/verify of a VC-API credential: %s, credential %s", v.Result, v.Credential)
	}

	// A secured document whose number was changed is not the one signed.
	s.expect(http.StatusOK, http.MethodPatch, "/api/v1/orgs/"+o.ID, owner.Token, map[string]bool{"dataIntegrityProof": true}, nil)
	big := `{"credential":{"@context":["` + "https://www.w3.org/ns/credentials/v2" + `",{"amount":"https://e.org/#amount"}],"type":"VerifiableCredential",` +
		`"id":"urn:uuid:6a1f0d52-8d0e-4f39-9d8a-3c2b1e0f4a77","credentialSubject":{"id":"did:example:dan","amount":9007199254740993}},` +
		`"options":{"securingMechanism":"DataIntegrity"}}`
	w := s.do(http.MethodPost, "/credentials/issue", key, json.RawMessage(big))
	if w.Code != http.StatusCreated {
		t.Fatalf("issue with a large number: %d %s", w.Code, w.Body)
	}
	var secured struct {
		VerifiableCredential json.RawMessage `json:"verifiableCredential"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &secured); err != nil {
		t.Fatal(err)
	}
	wantVerified(t, s, "/credentials/verify", map[string]any{"verifiableCredential": secured.VerifiableCredential})
	for _, changed := range []string{"9007199254740992", "9.007199254740993e15"} {
		doc := json.RawMessage(strings.Replace(string(secured.VerifiableCredential), "9007199254740993", changed, 1))
		wantRefused(t, s, "/credentials/verify", map[string]any{"verifiableCredential": doc}, cryptographicError, "not one the issuer recorded")
	}
}
