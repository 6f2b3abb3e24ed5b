package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// testKeyRotation: after a rotation the new key signs, the retired one
// still verifies what it signed, and both are published.
func testKeyRotation(t *testing.T, e *env) {
	owner, o := e.newIssuer(t, "")
	c := e.as(t, owner.Token)
	b := createBadge(c, o.ID, 0)
	a := issue(c, o.ID, b.ID, "Ann Before", uniqueEmail("before"))

	var k signingKey
	c.expect(http.StatusCreated, http.MethodPost, "/api/v1/orgs/"+o.ID+"/signing-keys/rotate", nil, &k)
	if k.KID != o.IssuerID+"#key-2" || k.Status != "active" || k.Alg != "ES256" {
		t.Errorf("rotated key: kid %q status %q alg %q, want %s#key-2 active ES256", k.KID, k.Status, k.Alg, o.IssuerID)
	}
	var list struct {
		Items []signingKey `json:"items"`
	}
	c.expect(http.StatusOK, http.MethodGet, "/api/v1/orgs/"+o.ID+"/signing-keys", nil, &list)
	states := map[string]string{}
	for _, key := range list.Items {
		states[key.KID] = key.Status
	}
	if len(states) != 2 || states[a.KID] != "retired" || states[k.KID] != "active" {
		t.Errorf("signing keys after rotation: %v, want %s retired and %s active", states, a.KID, k.KID)
	}

	bb := issue(c, o.ID, b.ID, "Ben After", uniqueEmail("after"))
	if a.KID != o.IssuerID+"#key-1" || bb.KID != k.KID {
		t.Errorf("kids: before %q, after %q; want key-1 then key-2", a.KID, bb.KID)
	}
	anon := e.anon(t)
	va := verifyByID(anon, a.ID)
	requireAllChecksOK(t, va, "pending")
	if sc := va.check(t, "signature"); !strings.Contains(sc.Detail, a.KID) || !strings.Contains(sc.Detail, "retired") {
		t.Errorf("signature check of the old credential %q does not name the retired key %s", sc.Detail, a.KID)
	}
	vb := verifyByID(anon, bb.ID)
	requireAllChecksOK(t, vb, "pending")
	if sc := vb.check(t, "signature"); !strings.Contains(sc.Detail, bb.KID) || strings.Contains(sc.Detail, "retired") {
		t.Errorf("signature check of the new credential: %q", sc.Detail)
	}
	requireAllChecksOK(t, verifyPresented(anon, a.JWT), "pending")
	requireAllChecksOK(t, verifyPresented(anon, bb.JWT), "pending")

	// The published keys: the JWKS and did:web name both kids exactly as
	// the JWS headers do, and verify the signatures without Credence.
	r := anon.expect(http.StatusOK, http.MethodGet, "/issuers/"+o.Slug+"/jwks.json", nil, nil)
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/jwk-set+json" {
		t.Errorf("JWKS Content-Type %q", r.Header.Get("Content-Type"))
	}
	var set jwks
	if err := json.Unmarshal(r.Body, &set); err != nil {
		t.Fatal(err)
	}
	ha, _ := decodeJWS(t, a.JWT)
	hb, _ := decodeJWS(t, bb.JWT)
	if kids := set.kids(t); !slices.Equal(kids, []string{ha.KID, hb.KID}) {
		t.Errorf("JWKS kids %q, want the header kids %q and %q", kids, ha.KID, hb.KID)
	}
	keySet, err := jwk.Parse(r.Body)
	if err != nil {
		t.Fatalf("parse JWKS: %v", err)
	}
	for _, cr := range []credential{a, bb} {
		if _, err := jws.Verify([]byte(cr.JWT), jws.WithKeySet(keySet, jws.WithRequireKid(true))); err != nil {
			t.Errorf("jwx cannot verify %s with the published JWKS: %v", cr.ID, err)
		}
	}

	var did struct {
		ID                 string `json:"id"`
		VerificationMethod []struct {
			ID           string `json:"id"`
			Controller   string `json:"controller"`
			PublicKeyJwk struct {
				KID string `json:"kid"`
			} `json:"publicKeyJwk"`
		} `json:"verificationMethod"`
		AssertionMethod []string `json:"assertionMethod"`
	}
	anon.expect(http.StatusOK, http.MethodGet, "/issuers/"+o.Slug+"/did.json", nil, &did)
	if did.ID != o.IssuerID {
		t.Errorf("did.json id %q, want %s", did.ID, o.IssuerID)
	}
	var methods []string
	for _, m := range did.VerificationMethod {
		methods = append(methods, m.ID)
		if m.PublicKeyJwk.KID != m.ID || m.Controller != o.IssuerID {
			t.Errorf("verification method %s: publicKeyJwk.kid %q controller %q", m.ID, m.PublicKeyJwk.KID, m.Controller)
		}
	}
	if want := []string{ha.KID, hb.KID}; !slices.Equal(methods, want) || !slices.Equal(did.AssertionMethod, want) {
		t.Errorf("did.json verificationMethod %q assertionMethod %q, want %q", methods, did.AssertionMethod, want)
	}
}

// testTampering: changing a stored field is caught by the integrity
// check; changing the signed file is caught by the signature check.
func testTampering(t *testing.T, e *env) {
	owner, o := e.newIssuer(t, "")
	c := e.as(t, owner.Token)
	b := createBadge(c, o.ID, 0)
	renamed := issue(c, o.ID, b.ID, "Honest Name", uniqueEmail("honest"))
	redated := issue(c, o.ID, b.ID, "Dated Name", uniqueEmail("dated"))
	presented := issue(c, o.ID, b.ID, "Presented Name", uniqueEmail("presented"))

	tamper(t, e.server, "UPDATE credentials SET recipient_name = %s WHERE id = %s", "Mallory Forged", renamed.ID)
	tamper(t, e.server, "UPDATE credentials SET expires_at = issued_at WHERE id = %s", redated.ID)

	anon := e.anon(t)
	for _, tc := range []struct {
		cr    credential
		field string
	}{{renamed, "credentialSubject.name"}, {redated, "validUntil"}} {
		v := verifyByID(anon, tc.cr.ID)
		ic := v.check(t, "integrity")
		if v.Result != "invalid" || ic.OK || !strings.Contains(ic.Detail, tc.field) {
			t.Errorf("%s with a tampered %s: result %q integrity %+v, want invalid naming %s", tc.cr.ID, tc.field, v.Result, ic, tc.field)
		}
		if sc := v.check(t, "signature"); !sc.OK {
			t.Errorf("%s: the stored file is untouched, yet the signature check fails: %s", tc.cr.ID, sc.Detail)
		}
	}
	if v := verifyByID(anon, renamed.ID); v.Credential == nil || v.Credential.Recipient.Name != "Mallory Forged" {
		t.Errorf("the tampered row did not reach the API (did the UPDATE hit?): %+v", v.Credential)
	}

	requireAllChecksOK(t, verifyPresented(anon, presented.JWT), "pending")
	parts := strings.Split(presented.JWT, ".")
	sig := []byte(parts[2])
	mid := len(sig) / 2
	if sig[mid] == 'A' {
		sig[mid] = 'B'
	} else {
		sig[mid] = 'A'
	}
	flipped := parts[0] + "." + parts[1] + "." + string(sig)
	v := verifyPresented(anon, flipped)
	if sc := v.check(t, "signature"); v.Result != "invalid" || sc.OK {
		t.Errorf("a flipped signature byte: result %q signature %+v, want invalid", v.Result, sc)
	}
	if ic := v.check(t, "integrity"); ic.OK {
		t.Errorf("integrity passes for a file whose signature fails: %+v", ic)
	}

	// A forged payload under the real signature fails the signature too.
	_, payload := decodeJWS(t, presented.JWT)
	payload["credentialSubject"].(map[string]any)["name"] = "Someone Else"
	forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString(mustJSON(t, payload)) + "." + parts[2]
	if v := verifyPresented(anon, forged); v.Result != "invalid" || v.check(t, "signature").OK {
		t.Errorf("a forged payload: result %q checks %+v, want invalid", v.Result, v.Checks)
	}

	// A file signed by a key not published here names no issuer of ours.
	foreign := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","kid":"did:web:evil.example.com:issuers:acme#key-1","typ":"vc+jwt"}`)) +
		"." + parts[1] + "." + parts[2]
	if v := verifyPresented(anon, foreign); v.Result != "invalid" || v.check(t, "signature").OK {
		t.Errorf("a foreign kid: result %q checks %+v, want invalid", v.Result, v.Checks)
	}
}

// tamper runs one UPDATE on the server's database behind its back; %s
// marks the arguments, written as the store's placeholders. It requires
// exactly one changed row.
func tamper(t *testing.T, s *server, query string, args ...any) {
	t.Helper()
	db := s.openDB(t)
	marks := make([]any, len(args))
	for i := range args {
		marks[i] = "?"
		if s.store == "postgres" {
			marks[i] = fmt.Sprintf("$%d", i+1)
		}
	}
	stmt := fmt.Sprintf(query, marks...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := db.ExecContext(ctx, stmt, args...)
	if err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("%s changed %d rows (%v), want 1", stmt, n, err)
	}
}
