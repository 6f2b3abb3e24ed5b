package jsonld_test

import (
	"crypto/ed25519"
	"os"
	"strings"
	"testing"

	"github.com/credence-dev/credence/adapters/jsonld"
	"github.com/credence-dev/credence/core/dataintegrity"
)

const credential = `{"@context":["https://www.w3.org/ns/credentials/v2","https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
"id":"https://x.example/credentials/CRD-AAAAAAAA","type":["VerifiableCredential","OpenBadgeCredential"],
"issuer":{"id":"did:web:x.example:issuers:acme","type":["Profile"],"name":"Acme"},"validFrom":"2026-01-01T00:00:00Z","name":"Go",
"credentialSubject":{"type":["AchievementSubject"],"name":"Rae","achievement":{"id":"https://x.example/achievements/acme/go","type":["Achievement"],"name":"Go","description":"d","criteria":{"narrative":"c"}}},
"iss":"did:web:x.example:issuers:acme","nbf":1767225600}`

// The canonical form names every member with its vocabulary IRI, sorted,
// blank nodes relabelled canonically; the same document in another member
// order gives the same bytes.
func TestCanonicalize(t *testing.T) {
	c, err := jsonld.New()
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Canonicalize([]byte(credential))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<https://x.example/credentials/CRD-AAAAAAAA> <https://www.iana.org/assignments/jwt#nbf> "1767225600"^^<https://www.w3.org/2001/XMLSchema#nonNegativeInteger> .`,
		`<https://x.example/credentials/CRD-AAAAAAAA> <https://www.w3.org/2018/credentials#validFrom> "2026-01-01T00:00:00Z"^^<http://www.w3.org/2001/XMLSchema#dateTime> .`,
		`_:c14n0 <https://purl.imsglobal.org/spec/vc/ob/vocab.html#achievement> <https://x.example/achievements/acme/go> .`,
	} {
		if !strings.Contains(string(got), want+"\n") {
			t.Errorf("canonical form lacks %s:\n%s", want, got)
		}
	}
	reordered := `{"nbf":1767225600,"iss":"did:web:x.example:issuers:acme",` + strings.TrimPrefix(strings.TrimSuffix(credential, `,
"iss":"did:web:x.example:issuers:acme","nbf":1767225600}`), "{") + `}`
	again, err := c.Canonicalize([]byte(reordered))
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(got) {
		t.Errorf("member order changed the canonical form:\n%s\n%s", again, got)
	}
}

// What canonicalization would silently drop or fetch is refused: a member
// no context defines, a context that is not bundled, and what is not JSON.
func TestCanonicalizeRefuses(t *testing.T) {
	c, err := jsonld.New()
	if err != nil {
		t.Fatal(err)
	}
	for name, doc := range map[string]string{
		"an undefined member": strings.Replace(credential, `"name":"Go",`, `"name":"Go","grade":"A",`, 1),
		"a context not bundled": strings.Replace(credential, `"https://www.w3.org/ns/credentials/v2",`,
			`"https://www.w3.org/ns/credentials/v2","https://evil.example/context.json",`, 1),
		"not JSON": `{"@context":`,
	} {
		if out, err := c.Canonicalize([]byte(doc)); err == nil {
			t.Errorf("%s: canonicalized to\n%s", name, out)
		}
	}
}

// The W3C eddsa-rdfc-2022 test vector's credential canonicalizes to the
// specification's N-Quads (core/dataintegrity/testdata), and a proof made
// over this canonicalizer with the vector's key verifies.
func TestSpecificationVectorCanonicalForm(t *testing.T) {
	c, err := jsonld.New()
	if err != nil {
		t.Fatal(err)
	}
	// The VCDM 2.0 examples context: a vocabulary for every term.
	if err := c.AddContext("https://www.w3.org/ns/credentials/examples/v2",
		[]byte(`{"@context":{"@vocab":"https://www.w3.org/ns/credentials/examples#"}}`)); err != nil {
		t.Fatal(err)
	}
	signed, err := os.ReadFile("../../core/dataintegrity/testdata/signedDataInt.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := dataintegrity.Split(signed)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Canonicalize(s.Document)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile("../../core/dataintegrity/testdata/canonDocDataInt.txt")
	if strings.TrimSpace(string(got)) != strings.TrimSpace(string(want)) {
		t.Errorf("canonical document:\n%s\nwant:\n%s", got, want)
	}
	pub, err := dataintegrity.ParseMultikey("z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2")
	if err != nil {
		t.Fatal(err)
	}
	if err := dataintegrity.Verify(c, s, dataintegrity.Purpose, func(string) (ed25519.PublicKey, error) { return pub, nil }); err != nil {
		t.Errorf("the specification's signed credential does not verify through json-gold: %v", err)
	}
}
