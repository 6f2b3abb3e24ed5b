package verifier_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/dataintegrity"
	"github.com/credence-dev/credence/core/domain"
)

// proofKeyFromDID finds a Data Integrity key as a verifier does: in the
// issuer's published did.json, a Multikey method with that id, listed in
// assertionMethod.
func proofKeyFromDID(did []byte) func(string) (ed25519.PublicKey, error) {
	return func(vm string) (ed25519.PublicKey, error) {
		var doc struct {
			VerificationMethod []struct{ ID, Type, Controller, PublicKeyMultibase string }
			AssertionMethod    []string
			Context            []string `json:"@context"`
		}
		if err := json.Unmarshal(did, &doc); err != nil {
			return nil, err
		}
		if !slices.Contains(doc.AssertionMethod, vm) || !slices.Contains(doc.Context, "https://w3id.org/security/multikey/v1") {
			return nil, fmt.Errorf("%s is not an assertion method of the DID document", vm)
		}
		for _, m := range doc.VerificationMethod {
			if m.ID == vm && m.Type == "Multikey" && strings.HasPrefix(vm, m.Controller+"#") {
				return dataintegrity.ParseMultikey(m.PublicKeyMultibase)
			}
		}
		return nil, errors.New("no Multikey method " + vm)
	}
}

func (e *env) enableProofs(t *testing.T, is issuer, on bool) {
	t.Helper()
	if _, err := e.orgs.Update(t.Context(), e.owner, is.org.ID, domain.OrgInput{DataIntegrity: &on}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) verifyJSONView(t *testing.T, is issuer, view []byte) error {
	t.Helper()
	_, did := e.published(t, is)
	secured, err := dataintegrity.Split(view)
	if err != nil {
		return err
	}
	return dataintegrity.Verify(e.canon, secured, dataintegrity.Purpose, proofKeyFromDID(did))
}

// An organization that switches Data Integrity proofs on issues
// credentials whose JSON view carries an eddsa-rdfc-2022 proof over the
// very document the JWS signs, verifiable with the Multikey its did.json
// publishes; a changed view fails; a key rotation keeps earlier proofs
// verifying; its status lists' JSON views carry proofs too; switched off,
// new credentials carry none.
func TestDataIntegrityProofs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acme := e.issuer(t, "Acme Academy", "acme", nil)
	plain := e.issue(t, acme, "before@example.com")
	if plain.Proof != "" {
		t.Fatal("a credential of an organization without proofs has one")
	}
	view, err := credentials.JSONView(plain)
	if err != nil || bytes.Contains(view, []byte(`"proof"`)) {
		t.Fatalf("JSON view without proofs: %s %v", view, err)
	}

	e.enableProofs(t, acme, true)
	// The list created before is due again, and once the sweep has it
	// published, it carries a proof too.
	due, err := e.store.StatusLists().Due(t.Context(), e.clock.Now(), e.clock.Now().Add(time.Minute), 10)
	if err != nil || !slices.Contains(due, plain.Slot.List) {
		t.Fatalf("after switching proofs on, due lists %v (%v), want %s", due, err, plain.Slot.List)
	}
	if err := e.creds.PublishStatusList(t.Context(), plain.Slot.List); err != nil {
		t.Fatal(err)
	}
	if _, proof, err := e.creds.StatusListDocument(t.Context(), plain.Slot.List+"-suspension"); err != nil || proof == "" {
		t.Fatalf("the list published before proofs were on has none after: %v", err)
	}
	c := e.issue(t, acme, "rae@example.com")
	view, err = credentials.JSONView(c)
	if err != nil {
		t.Fatal(err)
	}
	_, payload, _ := strings.Cut(c.JWS, ".")
	if err := e.verifyJSONView(t, acme, view); err != nil {
		t.Fatalf("the proof does not verify: %v\n%s", err, view)
	}
	secured, _ := dataintegrity.Split(view)
	if want := e.creds.URLs().DID("acme") + "#proof-1"; secured.Proof.VerificationMethod != want || secured.Proof.Cryptosuite != "eddsa-rdfc-2022" {
		t.Errorf("proof %+v, want made with %s", secured.Proof, want)
	}
	if len(payload) == 0 || !bytes.HasPrefix(view, mustPayload(t, c.JWS)[:len(mustPayload(t, c.JWS))-1]) {
		t.Error("the JSON view is not the signed payload with the proof added")
	}
	for name, edit := range map[string]func([]byte) []byte{
		"recipient renamed": func(v []byte) []byte { return bytes.Replace(v, []byte("Rae Recipient"), []byte("Eve Recipient"), 1) },
		"validFrom moved": func(v []byte) []byte {
			return bytes.Replace(v, []byte(`"validFrom":"2026`), []byte(`"validFrom":"2025`), 1)
		},
		"proof re-dated": func(v []byte) []byte {
			return bytes.Replace(v, []byte(`"created":"2026`), []byte(`"created":"2025`), 1)
		},
	} {
		if err := e.verifyJSONView(t, acme, edit(view)); err == nil {
			t.Errorf("%s: the proof still verifies", name)
		}
	}

	// Credence verifies the secured JSON view as it does a presented file.
	v, err := e.creds.VerifySecured(t.Context(), view)
	if err != nil || v.Result != domain.ResultPending || !strings.Contains(v.Checks[0].Detail, "Data Integrity proof by") || !v.Checks[1].OK {
		t.Errorf("VerifySecured of the JSON view: %s %+v %v", v.Result, v.Checks, err)
	}
	// A changed document is refused before anything is canonicalized:
	// JSON-LD canonicalization of a hostile document can take exponential
	// time, so only documents Credence wrote are.
	counted := &countingCanon{inner: e.canon}
	e.creds.UseCanonicalizer(counted)
	renamed := bytes.Replace(view, []byte("Rae Recipient"), []byte("Eve Recipient"), 1)
	poison := bytes.Replace(view, []byte(`"name":"Rae Recipient"`),
		[]byte(`"name":"Rae Recipient","knows":{"@id":"_:a","knows":{"@id":"_:b","knows":{"@id":"_:a"}}}`), 1)
	for name, doc := range map[string][]byte{"a renamed recipient": renamed, "an added graph": poison} {
		if v, err := e.creds.VerifySecured(t.Context(), doc); err != nil || v.Result != domain.ResultInvalid ||
			!strings.Contains(v.Checks[0].Detail, "not the one the issuer signed") {
			t.Errorf("VerifySecured of %s: %s %+v %v", name, v.Result, v.Checks, err)
		}
	}
	if counted.n != 0 {
		t.Errorf("%d documents canonicalized to refuse changed ones", counted.n)
	}
	e.creds.UseCanonicalizer(e.canon)
	for name, bad := range map[string][]byte{"not JSON": []byte("{"), "no proof": mustPayload(t, c.JWS)} {
		if _, err := e.creds.VerifySecured(t.Context(), bad); domain.CodeOf(err) != domain.CodeValidation {
			t.Errorf("VerifySecured of %s: %v, want a validation error", name, err)
		}
	}

	// Status lists published from now on carry proofs in their JSON view.
	if _, err := e.creds.Revoke(t.Context(), e.owner, acme.org.ID, c.ID, "test"); err != nil {
		t.Fatal(err)
	}
	jws, proof, err := e.creds.StatusListDocument(t.Context(), c.Slot.List+"-revocation")
	if err != nil || proof == "" {
		t.Fatalf("status list proof %q: %v", proof, err)
	}
	listView, err := credentials.StatusListJSON(jws, proof)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.verifyJSONView(t, acme, listView); err != nil {
		t.Errorf("the status list's proof does not verify: %v", err)
	}
	if v, err := e.creds.VerifySecured(t.Context(), view); err != nil || v.Result != domain.ResultRevoked {
		t.Errorf("VerifySecured of a revoked credential: %s %v", v.Result, err)
	}

	// Rotation: a new proof key signs, the retired one still verifies.
	if _, err := e.orgs.RotateKeys(t.Context(), e.owner, acme.org.ID); err != nil {
		t.Fatal(err)
	}
	after := e.issue(t, acme, "sam@example.com")
	afterView, _ := credentials.JSONView(after)
	if s, _ := dataintegrity.Split(afterView); !strings.HasSuffix(s.Proof.VerificationMethod, "#proof-2") {
		t.Errorf("after rotation the proof is made with %s", s.Proof.VerificationMethod)
	}
	for name, v := range map[string][]byte{"before rotation": view, "after rotation": afterView} {
		if err := e.verifyJSONView(t, acme, v); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}

	// Another issuer's key does not verify acme's proof.
	globex := e.issuer(t, "Globex", "globex", nil)
	e.enableProofs(t, globex, true)
	_, globexDID := e.published(t, globex)
	s, _ := dataintegrity.Split(view)
	if err := dataintegrity.Verify(e.canon, s, dataintegrity.Purpose, proofKeyFromDID(globexDID)); err == nil {
		t.Error("acme's proof verifies with globex's DID document")
	}

	// Bulk issues carry proofs too; switched off, new credentials do not.
	results, err := e.creds.IssueBatch(t.Context(), e.owner, acme.org.ID, acme.badge.ID,
		[]domain.Recipient{{Name: "Bo", Email: "bo@example.com"}, {Name: "Cy", Email: "cy@example.com"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		v, _ := credentials.JSONView(r.Issued.Credential)
		if err := e.verifyJSONView(t, acme, v); err != nil {
			t.Errorf("bulk-issued %s: %v", r.Recipient.Email, err)
		}
	}
	e.enableProofs(t, acme, false)
	off := e.issue(t, acme, "off@example.com")
	if off.Proof != "" {
		t.Error("a credential issued with proofs off has one")
	}
	// Its lists keep their proofs: credentials issued with one name them.
	if _, err := e.creds.Suspend(t.Context(), e.owner, acme.org.ID, off.ID, "check"); err != nil {
		t.Fatal(err)
	}
	if _, proof, err := e.creds.StatusListDocument(t.Context(), off.Slot.List+"-suspension"); err != nil || proof == "" {
		t.Errorf("a list published after proofs were switched off lost its proof (%v)", err)
	}
	if _, did := e.published(t, acme); !bytes.Contains(did, []byte("#proof-1")) {
		t.Error("the proof keys left the DID document when proofs were switched off")
	}
}

// countingCanon counts the documents it canonicalizes.
type countingCanon struct {
	inner interface{ Canonicalize([]byte) ([]byte, error) }
	n     int
}

func (c *countingCanon) Canonicalize(doc []byte) ([]byte, error) {
	c.n++
	return c.inner.Canonicalize(doc)
}

func mustPayload(t *testing.T, jws string) []byte {
	t.Helper()
	return payloadOf(t, jws)
}
