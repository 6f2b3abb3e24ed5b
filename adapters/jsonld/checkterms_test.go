package jsonld_test

import (
	"strings"
	"testing"
	"time"

	"github.com/credence-dev/credence/adapters/jsonld"
)

const v2 = `"https://www.w3.org/ns/credentials/v2"`

// CheckTerms expands in safe mode over the bundled contexts: defined
// terms, inline contexts and the examples context pass; an undefined
// member, an undefined or non-IRI type, an unknown context and a
// redefined protected term do not.
func TestCheckTerms(t *testing.T) {
	c, err := jsonld.New()
	if err != nil {
		t.Fatal(err)
	}
	doc := func(ctx, rest string) string {
		return `{"@context":[` + v2 + ctx + `],"type":["VerifiableCredential"],"credentialSubject":{"id":"did:example:a"}` + rest + `}`
	}
	for name, d := range map[string]string{
		"base context":      doc("", ""),
		"examples context":  doc(`,"https://www.w3.org/ns/credentials/examples/v2"`, `,"type":["VerifiableCredential","ExampleDegreeCredential"],"degree":{"name":"x"}`),
		"inline definition": doc(`,{"Badge":"https://e.org/#Badge","level":"https://e.org/#level"}`, `,"type":["VerifiableCredential","Badge"],"level":"3"`),
		"OB context":        doc(`,"https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"`, `,"type":["VerifiableCredential","OpenBadgeCredential"]`),
		"typed literal":     doc("", `,"validFrom":"2026-01-01T00:00:00Z"`),
	} {
		if err := c.CheckTerms([]byte(d)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, tc := range map[string]struct{ doc, says string }{
		"undefined member":   {doc("", `,"statusEntry":{"a":1}`), "absolute IRI"},
		"undefined type":     {doc("", `,"type":["VerifiableCredential","Nowhere"]`), "absolute IRI"},
		"non-IRI type":       {doc(`,{"Bad":"https ://not-a-url#x"}`, `,"type":["VerifiableCredential","Bad"]`), "absolute IRI"},
		"vocab null":         {doc(`,{"@vocab":null}`, `,"type":["VerifiableCredential","Odd"]`), "absolute IRI"},
		"unknown context":    {doc(`,"https://example.org/ctx/v1"`, ""), "not bundled"},
		"protected redefine": {doc(`,{"VerifiableCredential":"https://e.org/#VC"}`, ""), "protected"},
		"not JSON":           {`{`, "unexpected end"},
	} {
		err := c.CheckTerms([]byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v, want an error saying %q", name, err, tc.says)
		}
	}
}

// FuzzCheckTerms: no document panics or hangs the term check (expansion
// only: its time grows with the document).
func FuzzCheckTerms(f *testing.F) {
	c, err := jsonld.New()
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		`{"@context":[` + v2 + `],"type":"VerifiableCredential","credentialSubject":{"id":"did:example:a"}}`,
		`{"@context":[` + v2 + `,{"a":{"@id":"https://e.org/a","@context":{"b":{"@id":"https://e.org/b","@type":"@id"}}}}],"a":{"b":"x","@type":"y"}}`,
		`{"@context":{"@vocab":"https://e.org/","@base":"https://e.org/"},"@graph":[{"@id":"x","@reverse":{"y":{"@id":"z"}}}]}`,
		`{"@context":[` + v2 + `],"@included":[{"@type":"@json"}],"@nest":{"x":[[[1]]]}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		start := time.Now()
		_ = c.CheckTerms(doc)
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("%d bytes took %s", len(doc), d)
		}
	})
}
