package verifier_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
	"github.com/credence-dev/credence/core/verifier"
)

// These tests make their own keys and documents with the product's
// signing and document code; contract-tests/verifier checks what the
// running services issue and publish.

var (
	now  = time.Date(2026, 11, 22, 3, 23, 15, 0, time.UTC)
	base = mustURL("https://credentials.example.com")
	urls = credentials.URLs{Base: base}
)

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// testIssuer is an issuer with keys of its own.
type testIssuer struct {
	org   domain.Organization
	badge domain.Badge
	keys  []signing.PublishedKey
	priv  [][]byte
}

func newIssuer(t *testing.T, slug string, algs ...domain.Algorithm) *testIssuer {
	t.Helper()
	is := &testIssuer{org: domain.Organization{ID: domain.NewID(), Name: "Org " + slug, Slug: slug, WebsiteURL: "https://" + slug + ".example"}}
	is.badge = domain.Badge{ID: domain.NewID(), OrgID: is.org.ID, Name: "Go Expert", Slug: "go-expert", Description: "Knows Go",
		Criteria: "Passed the exam", ImageURL: "https://" + slug + ".example/go.png", Tags: []string{"go"}}
	for i, alg := range algs {
		pub, priv, err := signing.Generate(alg)
		if err != nil {
			t.Fatal(err)
		}
		kid := signing.KeyID(urls.DID(slug), "key-"+string(rune('1'+i)))
		is.keys = append(is.keys, signing.PublishedKey{KID: kid, Algorithm: alg, Public: pub})
		is.priv = append(is.priv, priv)
	}
	return is
}

func (is *testIssuer) jwks(t *testing.T) []byte {
	t.Helper()
	b, err := signing.JWKS(is.keys)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (is *testIssuer) did(t *testing.T) []byte {
	t.Helper()
	b, err := signing.DIDDocument(urls.DID(is.org.Slug), is.keys)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// document is the credential document the product would sign.
func (is *testIssuer) document(expires *time.Time) credentials.Document {
	c := domain.Credential{ID: "CRD-ZBUYQMTA", OrgID: is.org.ID, BadgeID: is.badge.ID, RecipientName: "Rae Recipient",
		RecipientEmail: "rae@example.com", IssuedAt: now.Add(-time.Hour), ExpiresAt: expires}
	return urls.BuildDocument(c, is.org, is.badge)
}

// sign signs v (a document, or raw bytes) with the issuer's n-th key.
func (is *testIssuer) sign(t *testing.T, n int, v any) string {
	t.Helper()
	payload, ok := v.([]byte)
	if !ok {
		var err error
		if payload, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	s, err := signing.NewSigner(is.priv[n], is.keys[n].Algorithm, is.keys[n].KID)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func newVerifier(t *testing.T, doc []byte) *verifier.Verifier {
	t.Helper()
	v, err := verifier.New(doc)
	if err != nil {
		t.Fatalf("New: %v\n%s", err, doc)
	}
	return v
}

func verifyAt(t *testing.T, v *verifier.Verifier, tok string) verifier.Result {
	t.Helper()
	res, err := v.VerifyAt([]byte(tok), now)
	if err != nil {
		t.Fatalf("VerifyAt: %v", err)
	}
	return res
}

func checkOf(t *testing.T, r verifier.Result, name domain.CheckName) domain.Check {
	t.Helper()
	c, ok := r.Check(name)
	if !ok {
		t.Fatalf("no %s check: %+v", name, r.Checks)
	}
	return c
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// Every algorithm Credence makes keys for verifies, from either document,
// retired keys included, and the checks come in the online order.
func TestVerifyEveryAlgorithm(t *testing.T) {
	t.Parallel()
	is := newIssuer(t, "acme", domain.AlgES256, domain.AlgEdDSA, domain.AlgRS256)
	expires := now.Add(24 * time.Hour)
	for name, doc := range map[string][]byte{"jwks": is.jwks(t), "did.json": is.did(t)} {
		v := newVerifier(t, doc)
		if !slices.Equal(v.KeyIDs(), []string{is.keys[0].KID, is.keys[1].KID, is.keys[2].KID}) {
			t.Errorf("%s: KeyIDs() = %v", name, v.KeyIDs())
		}
		for n, k := range is.keys {
			res := verifyAt(t, v, is.sign(t, n, is.document(&expires)))
			var names []domain.CheckName
			for _, c := range res.Checks {
				names = append(names, c.Name)
			}
			want := []domain.CheckName{domain.CheckSignature, domain.CheckIntegrity, domain.CheckExpiry, domain.CheckRevocation, domain.CheckIssuer}
			if !slices.Equal(names, want) {
				t.Fatalf("checks %v, want %v", names, want)
			}
			if res.Result != domain.ResultValid || res.KeyID != k.KID {
				t.Errorf("%s, %s key: %s %+v", name, k.Algorithm, res.Result, res.Checks)
			}
			if ec := checkOf(t, res, domain.CheckExpiry); ec.Detail != "valid until "+expires.Format(time.RFC3339) {
				t.Errorf("expiry %+v", ec)
			}
		}
	}
}

// The signed document itself must be a credential as Credence writes it:
// each field out of shape is named, and the credential is invalid.
func TestVerifyNamesMalformedFields(t *testing.T) {
	t.Parallel()
	is := newIssuer(t, "acme", domain.AlgES256)
	v := newVerifier(t, is.jwks(t))
	expires := now.Add(time.Hour)
	for field, edit := range map[string]func(d *credentials.Document){
		"@context":                     func(d *credentials.Document) { d.Context = d.Context[:1] },
		"type":                         func(d *credentials.Document) { d.Type = []string{"VerifiableCredential"} },
		"id":                           func(d *credentials.Document) { d.ID = "urn:uuid:1" },
		"issuer.type":                  func(d *credentials.Document) { d.Issuer.Type = nil },
		"validFrom":                    func(d *credentials.Document) { d.ValidFrom = "yesterday" },
		"validUntil":                   func(d *credentials.Document) { d.ValidUntil = "2020-01-01T00:00:00Z" },
		"name":                         func(d *credentials.Document) { d.Name = "" },
		"credentialSubject.identifier": func(d *credentials.Document) { d.CredentialSubject.Identifier[0].IdentityHash = "rae@example.com" },
		"achievement.id": func(d *credentials.Document) {
			d.CredentialSubject.Achievement.ID = urls.Achievement("globex", "go-expert")
		},
	} {
		d := is.document(&expires)
		edit(&d)
		res := verifyAt(t, v, is.sign(t, 0, d))
		ic := checkOf(t, res, domain.CheckIntegrity)
		// A date changed alone parts from the JWT claim mirroring it.
		want := map[string]string{"validFrom": "validFrom, nbf", "validUntil": "validUntil, exp"}[field]
		if want == "" {
			want = field
		}
		if res.Result != domain.ResultInvalid || ic.OK || !strings.HasSuffix(ic.Detail, ": "+want) {
			t.Errorf("%s: %s, integrity %+v", field, res.Result, ic)
		}
		if !checkOf(t, res, domain.CheckSignature).OK {
			t.Errorf("%s: the signature is genuine", field)
		}
	}

	// A payload that is not a credential at all.
	for _, p := range []string{`{}`, `[]`, `"x"`, `not json`} {
		res := verifyAt(t, v, is.sign(t, 0, []byte(p)))
		if res.Result != domain.ResultInvalid || checkOf(t, res, domain.CheckIntegrity).OK {
			t.Errorf("payload %s: %s %+v", p, res.Result, res.Checks)
		}
	}

	// The issuer a document names must be the one whose key signed it,
	// on the same platform as the credential's URL.
	other := is.document(nil)
	other.Issuer.ID, other.Iss = urls.DID("globex"), urls.DID("globex")
	other.CredentialSubject.Achievement.ID = urls.Achievement("globex", "go-expert")
	res := verifyAt(t, v, is.sign(t, 0, other))
	if ic := checkOf(t, res, domain.CheckIssuer); res.Result != domain.ResultInvalid || ic.OK || !checkOf(t, res, domain.CheckIntegrity).OK {
		t.Errorf("document naming globex signed by acme: %s %+v", res.Result, res.Checks)
	}
	elsewhere := is.document(nil)
	elsewhere.ID = "https://elsewhere.example/credentials/CRD-ZBUYQMTA"
	res = verifyAt(t, v, is.sign(t, 0, elsewhere))
	if ic := checkOf(t, res, domain.CheckIntegrity); res.Result != domain.ResultInvalid || !strings.Contains(ic.Detail, "issuer.id") {
		t.Errorf("credential URL on another platform: %s %+v", res.Result, res.Checks)
	}
}

// A test credential is said to be one; an expired one is expired.
func TestVerifyTestAndExpired(t *testing.T) {
	t.Parallel()
	is := newIssuer(t, "acme", domain.AlgES256)
	v := newVerifier(t, is.jwks(t))
	d := is.document(nil)
	d.Name = credentials.TestNamePrefix + d.Name
	if res := verifyAt(t, v, is.sign(t, 0, d)); res.Result != domain.ResultValid || !strings.HasSuffix(checkOf(t, res, domain.CheckIntegrity).Detail, "a test credential") {
		t.Errorf("test credential: %s %+v", res.Result, res.Checks)
	}
	past := now.Add(-time.Minute)
	d = is.document(&past)
	d.ValidFrom = now.Add(-time.Hour).Format(time.RFC3339)
	res := verifyAt(t, v, is.sign(t, 0, d))
	if ec := checkOf(t, res, domain.CheckExpiry); res.Result != domain.ResultExpired || ec.OK || ec.Detail != "expired on "+past.Format(time.RFC3339) {
		t.Errorf("expired: %s %+v", res.Result, ec)
	}
}

// Tokens whose header lies about the algorithm never verify, whatever
// the signature: HS256 keyed with the public JWK, none, and another
// algorithm's name over a genuine signature.
func TestVerifyAlgorithmConfusion(t *testing.T) {
	t.Parallel()
	is := newIssuer(t, "acme", domain.AlgES256)
	v := newVerifier(t, is.jwks(t))
	tok := is.sign(t, 0, is.document(nil))
	parts := strings.Split(tok, ".")
	kid := is.keys[0].KID
	hs := b64(`{"alg":"HS256","kid":"` + kid + `","typ":"vc+jwt"}`)
	m := hmac.New(sha256.New, is.keys[0].Public)
	m.Write([]byte(hs + "." + parts[1]))
	for name, forged := range map[string]string{
		"HS256 with the public key": hs + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil)),
		"none":                      b64(`{"alg":"none","kid":"`+kid+`","typ":"vc+jwt"}`) + "." + parts[1] + ".",
		"EdDSA over ES256":          b64(`{"alg":"EdDSA","kid":"`+kid+`","typ":"vc+jwt"}`) + "." + parts[1] + "." + parts[2],
		"crit extension":            b64(`{"alg":"ES256","crit":["b64"],"b64":false,"kid":"`+kid+`","typ":"vc+jwt"}`) + "." + parts[1] + "." + parts[2],
	} {
		res, err := v.VerifyAt([]byte(forged), now)
		if err == nil && (res.Result != domain.ResultInvalid || checkOf(t, res, domain.CheckSignature).OK) {
			t.Errorf("%s: %s %+v", name, res.Result, res.Checks)
		}
	}
}

// Key documents that are not one issuer's usable keys are refused, each
// saying why; keys not meant for signing credentials are left out.
func TestNewRefusesBadKeyDocuments(t *testing.T) {
	t.Parallel()
	acme := newIssuer(t, "acme", domain.AlgES256, domain.AlgEdDSA)
	globex := newIssuer(t, "globex", domain.AlgES256)
	jwks := string(acme.jwks(t))
	did := string(acme.did(t))
	kid1, kid2 := acme.keys[0].KID, acme.keys[1].KID
	mixed, err := signing.JWKS([]signing.PublishedKey{acme.keys[0], globex.keys[0]})
	if err != nil {
		t.Fatal(err)
	}
	sameKID := acme.keys[1]
	sameKID.KID = kid1
	dup, err := signing.JWKS([]signing.PublishedKey{acme.keys[0], sameKID})
	if err != nil {
		t.Fatal(err)
	}
	for name, doc := range map[string]string{
		"not JSON":                  `keys`,
		"JSON array":                `[]`,
		"neither":                   `{"id":"did:web:x"}`,
		"no keys":                   `{"keys":[]}`,
		"keys not an array":         `{"keys":{}}`,
		"two issuers":               string(mixed),
		"kid twice":                 string(dup),
		"kid not a DID URL":         strings.ReplaceAll(jwks, kid1, "key-1"),
		"alg of another key type":   strings.Replace(jwks, `"alg":"ES256"`, `"alg":"RS256"`, 1),
		"unsupported alg":           strings.Replace(jwks, `"alg":"ES256"`, `"alg":"HS256"`, 1),
		"symmetric key":             `{"keys":[{"kty":"oct","k":"c2VjcmV0","alg":"HS256","kid":"` + kid1 + `"}]}`,
		"broken key":                strings.Replace(jwks, `"crv":"P-256"`, `"crv":"P-384"`, 1),
		"DID document id":           strings.Replace(did, `"id":"did:web:credentials.example.com:issuers:acme"`, `"id":"acme"`, 1),
		"method of another DID":     strings.ReplaceAll(did, kid1, globex.keys[0].KID),
		"method controller":         strings.Replace(did, `"controller":"did:web:credentials.example.com:issuers:acme"`, `"controller":"did:web:evil.example"`, 1),
		"method type":               strings.Replace(did, `"type":"JsonWebKey2020"`, `"type":"X25519KeyAgreementKey2020"`, 1),
		"publicKeyJwk kid":          strings.Replace(did, `"kid":"`+kid1+`"`, `"kid":"`+kid2+`"`, 1),
		"no assertionMethod":        strings.Replace(did, `"assertionMethod":["`+kid1+`","`+kid2+`"]`, `"assertionMethod":[]`, 1),
		"control character in kid":  strings.ReplaceAll(jwks, kid1, kid1+`\u0007`),
		"over the key document cap": `{"keys":[` + strings.Repeat(" ", verifier.MaxKeysSize) + `]}`,
	} {
		if doc == jwks || doc == did {
			t.Fatalf("%s: the edit changed nothing", name)
		}
		if v, err := verifier.New([]byte(doc)); err == nil {
			t.Errorf("%s: New succeeded with %v", name, v.KeyIDs())
		}
	}

	// A method not listed in assertionMethod does not sign credentials.
	partial := strings.Replace(did, `"assertionMethod":["`+kid1+`","`+kid2+`"]`, `"assertionMethod":["`+kid2+`",{"id":"`+kid1+`"}]`, 1)
	v := newVerifier(t, []byte(partial))
	if !slices.Equal(v.KeyIDs(), []string{kid2}) {
		t.Fatalf("KeyIDs() = %v, want only %s", v.KeyIDs(), kid2)
	}
	res := verifyAt(t, v, acme.sign(t, 0, acme.document(nil)))
	if sc := checkOf(t, res, domain.CheckSignature); res.Result != domain.ResultInvalid || !strings.Contains(sc.Detail, "not among the keys") {
		t.Errorf("key left out of assertionMethod: %s %+v", res.Result, sc)
	}

	// A JWK without alg is read as the algorithm of its type.
	noAlg := strings.NewReplacer(`"alg":"ES256",`, ``, `"alg":"EdDSA",`, ``).Replace(jwks)
	if noAlg == jwks || bytes.Contains([]byte(noAlg), []byte(`"alg"`)) {
		t.Fatalf("setup: %s", noAlg)
	}
	v = newVerifier(t, []byte(noAlg))
	for n := range acme.keys {
		if res := verifyAt(t, v, acme.sign(t, n, acme.document(nil))); res.Result != domain.ResultValid {
			t.Errorf("key %d without alg: %s %+v", n, res.Result, res.Checks)
		}
	}
}
