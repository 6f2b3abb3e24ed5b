package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/credence-dev/credence/core/domain"
)

// PATCH {dataIntegrityProof: true} is for owners: it adds a Multikey to
// the issuer's did.json, and credentials issued afterwards carry an
// embedded proof in their JSON view (those issued before do not).
func TestDataIntegrityOverHTTP(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer("")
	b := s.createBadge(owner.Token, o.ID, 0)
	before := s.issue(owner.Token, o.ID, b.ID, uniqueEmail("di"))
	admin := s.join(owner.Token, o.ID, domain.RoleAdmin)
	orgPath := "/api/v1/orgs/" + o.ID
	on := map[string]bool{"dataIntegrityProof": true}
	s.expectProblem(http.StatusForbidden, "FORBIDDEN", http.MethodPatch, orgPath, admin.Token, on)
	var org struct {
		DataIntegrity bool `json:"dataIntegrityProof"`
	}
	s.expect(http.StatusOK, http.MethodPatch, orgPath, owner.Token, on, &org)
	if !org.DataIntegrity {
		t.Fatal("dataIntegrityProof not on after the owner's PATCH")
	}
	after := s.issue(owner.Token, o.ID, b.ID, uniqueEmail("di"))

	var did struct {
		Context            []string `json:"@context"`
		VerificationMethod []struct {
			ID, Type, PublicKeyMultibase string
		} `json:"verificationMethod"`
		AssertionMethod []string `json:"assertionMethod"`
	}
	w := s.do(http.MethodGet, "/issuers/"+o.Slug+"/did.json", "", nil)
	if err := json.Unmarshal(w.Body.Bytes(), &did); err != nil {
		t.Fatal(err)
	}
	vm := o.IssuerID + "#proof-1"
	found := false
	for _, m := range did.VerificationMethod {
		found = found || m.ID == vm && m.Type == "Multikey" && strings.HasPrefix(m.PublicKeyMultibase, "z6Mk")
	}
	if !found || !strings.Contains(strings.Join(did.AssertionMethod, " "), vm) || !strings.Contains(strings.Join(did.Context, " "), "multikey/v1") {
		t.Fatalf("did.json lacks the Multikey %s: %s", vm, w.Body)
	}

	view := func(id string) map[string]json.RawMessage {
		w := s.do(http.MethodGet, "/credentials/"+id, "", nil)
		var doc map[string]json.RawMessage
		if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &doc) != nil {
			t.Fatalf("GET /credentials/%s: %d %s", id, w.Code, w.Body)
		}
		return doc
	}
	if _, ok := view(before.ID)["proof"]; ok {
		t.Error("a credential issued before proofs were on has one")
	}
	var proofs []struct{ Type, Cryptosuite, VerificationMethod, ProofPurpose, ProofValue string }
	if err := json.Unmarshal(view(after.ID)["proof"], &proofs); err != nil || len(proofs) != 1 {
		t.Fatalf("proof %s (%v): want a set of one", view(after.ID)["proof"], err)
	}
	if proof := proofs[0]; proof.Type != "DataIntegrityProof" ||
		proof.Cryptosuite != "eddsa-rdfc-2022" || proof.VerificationMethod != vm || proof.ProofPurpose != "assertionMethod" ||
		!strings.HasPrefix(proof.ProofValue, "z") {
		t.Errorf("proof %+v", proof)
	}
	// The VC-API verifies the JSON view by its embedded proof.
	w = s.do(http.MethodGet, "/credentials/"+after.ID, "", nil)
	secured := json.RawMessage(w.Body.Bytes())
	var verdict struct {
		Verified bool                            `json:"verified"`
		Problems []struct{ Type, Detail string } `json:"problemDetails"`
	}
	if w := s.do(http.MethodPost, "/credentials/verify", "", map[string]any{"verifiableCredential": secured}); w.Code != http.StatusOK ||
		json.Unmarshal(w.Body.Bytes(), &verdict) != nil || !verdict.Verified {
		t.Errorf("VC-API verify of the secured JSON view: %d %s", w.Code, w.Body)
	}
	tampered := json.RawMessage(strings.Replace(string(secured), `"validFrom":"`, `"validFrom":"1`, 1))
	if w := s.do(http.MethodPost, "/credentials/verify", "", map[string]any{"verifiableCredential": tampered}); w.Code != http.StatusBadRequest ||
		json.Unmarshal(w.Body.Bytes(), &verdict) != nil || verdict.Verified {
		t.Errorf("VC-API verify of a changed JSON view: %d %s", w.Code, w.Body)
	}

	// The .jwt is the same signed bytes as ever.
	if w := s.do(http.MethodGet, "/credentials/"+after.ID+".jwt", "", nil); w.Body.String() != after.JWT {
		t.Error("the .jwt changed")
	}
}
