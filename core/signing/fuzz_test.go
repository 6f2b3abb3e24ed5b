package signing_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
)

// A fixed ES256 test key and one token it signed, so that inputs the
// fuzzer saves under testdata/fuzz replay against the same key. The key
// signs nothing but this test.
const (
	fuzzPublicJWK  = `{"alg":"ES256","crv":"P-256","kty":"EC","x":"TMps1kjkZTsE3y_Y3i7TiqkD4azxdQcrWwEK7dDy_so","y":"cGeNTofYhcCNKcrtaYVJRzao-3KxAKt0Fo9S9WpJCjw"}`
	fuzzPrivateJWK = `{"alg":"ES256","crv":"P-256","d":"Pes4DxB0qi1BUUIzMPm91Sar1HOn3vw_kB0vPgP0Txg","kty":"EC","x":"TMps1kjkZTsE3y_Y3i7TiqkD4azxdQcrWwEK7dDy_so","y":"cGeNTofYhcCNKcrtaYVJRzao-3KxAKt0Fo9S9WpJCjw"}`
	fuzzKID        = "did:web:localhost%3A8443:issuers:acme#key-1"
	fuzzPayload    = `{"@context":["https://www.w3.org/ns/credentials/v2"],"id":"https://localhost:8443/credentials/CRD-ZBUYQMTA","name":"Go Expert"}`
	fuzzToken      = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImRpZDp3ZWI6bG9jYWxob3N0JTNBODQ0Mzppc3N1ZXJzOmFjbWUja2V5LTEiLCJ0eXAiOiJ2Yytqd3QifQ" +
		".eyJAY29udGV4dCI6WyJodHRwczovL3d3dy53My5vcmcvbnMvY3JlZGVudGlhbHMvdjIiXSwiaWQiOiJodHRwczovL2xvY2FsaG9zdDo4NDQzL2NyZWRlbnRpYWxzL0NSRC1aQlVZUU1UQSIsIm5hbWUiOiJHbyBFeHBlcnQifQ" +
		".8DWmWIqK-GkWABF8YnlxFwAcGhYX9pUuL136rPxljVb4Xmci1RXTDr5dLB7aa6eAGAwaEwwIRyeJrvcogp33iw"
)

// fuzzSeeds are valid tokens and edge cases around them.
func fuzzSeeds(f *testing.F) []string {
	f.Helper()
	parts := strings.Split(fuzzToken, ".")
	// Another key under the same kid: a genuine signature, but not by
	// the issuer's key.
	_, priv, err := signing.Generate(domain.AlgES256)
	if err != nil {
		f.Fatal(err)
	}
	s, err := signing.NewSigner(priv, domain.AlgES256, fuzzKID)
	if err != nil {
		f.Fatal(err)
	}
	other, err := s.Sign([]byte(`{"name":"Eve"}`))
	if err != nil {
		f.Fatal(err)
	}
	o := strings.Split(other, ".")
	seeds := []string{
		fuzzToken,
		" " + fuzzToken + "\n",
		other,
		parts[0] + "." + o[1] + "." + parts[2], // payload swapped
		o[0] + "." + parts[1] + "." + o[2],     // signature swapped
		parts[0] + "." + parts[1] + ".",        // no signature
		parts[0] + ".." + parts[2],             // detached payload
		"." + parts[1] + "." + parts[2],        // no header
		parts[0] + "." + parts[1],              // two parts
		fuzzToken + "." + parts[2],             // four parts
		fuzzToken + "==",                       // padded signature
		parts[0] + "==." + parts[1] + "." + parts[2],
		strings.NewReplacer("-", "+", "_", "/").Replace(fuzzToken),
		b64(`{"alg":"none"}`) + "." + parts[1] + ".",
		b64(`{"alg":"none","kid":"`+fuzzKID+`","typ":"vc+jwt"}`) + "." + parts[1] + "." + parts[2],
		b64(`{"alg":"HS256"}`) + "." + parts[1] + "." + hmacSHA256([]byte(fuzzPublicJWK), b64(`{"alg":"HS256"}`)+"."+parts[1]),
		b64(`{"alg":"ES256","b64":false,"crit":["b64"]}`) + "." + fuzzPayload + "." + parts[2],
		b64(`{"alg":"ES256","crit":["exp"]}`) + "." + parts[1] + "." + parts[2],
		b64(`{"alg":"ES256","jwk":`+fuzzPublicJWK+`}`) + "." + parts[1] + "." + parts[2],
		b64(`{"alg":["ES256"]}`) + "." + parts[1] + "." + parts[2],
		b64(`{"alg":"ES256","alg":"none"}`) + "." + parts[1] + "." + parts[2],
		b64(`null`) + "." + parts[1] + "." + parts[2],
		b64(`{}`) + "." + b64(`{}`) + "." + b64(``),
		`{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`,
		"",
		"..",
		"...",
		"a.b.c",
		"\x00.\xff.\x80",
		strings.Repeat("A", signing.MaxJWSSize) + "..",
		parts[0] + "." + strings.Repeat("A", signing.MaxJWSSize) + "." + parts[2],
	}
	return seeds
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		orig := bytes.Clone(in)
		h, payload, err := signing.Parse(in)
		if !bytes.Equal(in, orig) {
			t.Fatal("Parse modified its input")
		}
		if err != nil {
			if !errors.Is(err, signing.ErrMalformed) {
				t.Fatalf("Parse error %v does not match ErrMalformed", err)
			}
			if h != (signing.Header{}) || payload != nil {
				t.Fatalf("Parse returned %+v, %q with an error", h, payload)
			}
			return
		}
		trimmed := bytes.TrimSpace(in)
		if n := len(bytes.Split(trimmed, []byte("."))); n != 3 {
			t.Fatalf("Parse accepted %d dot-separated parts: %q", n, in)
		}
		if len(trimmed) > signing.MaxJWSSize {
			t.Fatalf("Parse accepted %d bytes, over the %d cap", len(trimmed), signing.MaxJWSSize)
		}
	})
}

func FuzzVerify(f *testing.F) {
	pub := []byte(fuzzPublicJWK)
	for _, s := range fuzzSeeds(f) {
		f.Add([]byte(s))
	}
	// The fixture is genuine: it verifies, or the fuzz target proves nothing.
	if got, err := signing.Verify([]byte(fuzzToken), pub, domain.AlgES256); err != nil || string(got) != fuzzPayload {
		f.Fatalf("the genuine token does not verify: %q, %v", got, err)
	}
	if s, err := signing.NewSigner([]byte(fuzzPrivateJWK), domain.AlgES256, fuzzKID); err != nil {
		f.Fatal(err)
	} else if tok, err := s.Sign([]byte("{}")); err != nil {
		f.Fatal(err)
	} else if _, err := signing.Verify([]byte(tok), pub, domain.AlgES256); err != nil {
		f.Fatalf("the fixture's private and public keys do not match: %v", err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, alg := range []domain.Algorithm{domain.AlgRS256, domain.AlgEdDSA, "none", "HS256"} {
			if got, err := signing.Verify(in, pub, alg); err == nil {
				t.Fatalf("an ES256 key verified %q as %s: %q", in, alg, got)
			}
		}
		got, err := signing.Verify(in, pub, domain.AlgES256)
		if err != nil {
			if got != nil {
				t.Fatalf("Verify returned a payload with an error: %q", got)
			}
			return
		}
		// Never a forgery: whatever verifies carries the genuine payload
		// and header.
		if string(got) != fuzzPayload {
			t.Fatalf("Verify accepted %q with payload %q", in, got)
		}
		h, _, err := signing.Parse(in)
		if err != nil || h != (signing.Header{Algorithm: domain.AlgES256, KID: fuzzKID, Type: signing.MediaType}) {
			t.Fatalf("Verify accepted %q with header %+v (%v)", in, h, err)
		}
		if string(bytes.TrimSpace(in)) != fuzzToken {
			t.Fatalf("Verify accepted a non-canonical spelling %q of the genuine token", in)
		}
	})
}
