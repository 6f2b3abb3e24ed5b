package vcapi

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
)

// FuzzParseEnvelope: no JSON value panics the envelope reader; what it
// accepts carries a compact JWS Credence reads, in a data: URL of one of
// the kind's media types; what it refuses, it refuses with a problem of
// the request's (parsing, malformed, unsupported) that names where.
func FuzzParseEnvelope(f *testing.F) {
	_, priv, err := signing.Generate(domain.AlgES256)
	if err != nil {
		f.Fatal(err)
	}
	signer, err := signing.NewSigner(priv, domain.AlgES256, "did:web:credence.test:issuers:acme#key-1")
	if err != nil {
		f.Fatal(err)
	}
	jws, err := signer.Sign([]byte(`{"@context":["https://www.w3.org/ns/credentials/v2"]}`))
	if err != nil {
		f.Fatal(err)
	}
	env := func(ctx, typ, id string) string {
		return `{"@context":` + ctx + `,"type":` + typ + `,"id":` + id + `}`
	}
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	v2 := q(BaseContext)
	for _, seed := range []string{
		env(v2, q("EnvelopedVerifiableCredential"), q("data:application/vc+jwt,"+jws)),
		env("["+v2+`,"https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]`, `["EnvelopedVerifiableCredential"]`, q("data:application/jwt,"+jws)),
		env(v2, q("EnvelopedVerifiableCredential"), q("data:application/vc+jwt;"+jws)),
		env(v2, q("EnvelopedVerifiableCredential"), q("data:application/vc+jwt;base64,"+base64.StdEncoding.EncodeToString([]byte(jws)))),
		env(v2, q("EnvelopedVerifiableCredential"), q("data:application/vc+jwt,"+strings.ReplaceAll(jws, ".", "%2E"))),
		env(v2, q("EnvelopedVerifiablePresentation"), q("data:application/vp+jwt,"+jws)),
		env("[]", q("EnvelopedVerifiableCredential"), q("data:application/vc+jwt,"+jws)),
		env(v2, q("VerifiableCredential"), q(jws)),
		env(v2, "null", "null"),
		env(v2, q("EnvelopedVerifiableCredential"), "7"),
		`{"@context":` + v2 + `,"type":"EnvelopedVerifiableCredential","id":"data:application/vc+jwt,\u0000"}`,
		`[]`, `null`, `"data:application/vc+jwt,` + jws + `"`, `{`, ``,
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, raw string, presentation bool) {
		kind := credentialEnvelope
		if presentation {
			kind = presentationEnvelope
		}
		compact, p := parseEnvelope(json.RawMessage(raw), kind, "verifiableCredential")
		if p != nil {
			switch p.Type {
			case ParsingError, MalformedValueError, Unsupported:
			default:
				t.Fatalf("%q: a problem of type %s", raw, p.Type.Title)
			}
			if !strings.HasPrefix(p.Detail, "verifiableCredential") || compact != nil {
				t.Fatalf("%q: problem %+v and %q", raw, p, compact)
			}
			return
		}
		if _, err := signing.ParseToken(compact); err != nil {
			t.Fatalf("%q accepted, but %q is no compact JWS: %v", raw, compact, err)
		}
		var e map[string]json.RawMessage
		var id string
		if json.Unmarshal([]byte(raw), &e) != nil || json.Unmarshal(e["id"], &id) != nil {
			t.Fatalf("%q accepted without a string id", raw)
		}
		u, err := ParseDataURL(id)
		if err != nil || !slices.Contains(kind.mediaTypes, u.MediaType) {
			t.Fatalf("%q accepted with the id %+v (%v)", raw, u, err)
		}
	})
}
