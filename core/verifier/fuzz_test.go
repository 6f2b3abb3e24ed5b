package verifier_test

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/verifier"
)

// The fuzz targets read the example's files: a credential the product
// issued and its issuer's published keys.
func readTestdata(f *testing.F, name string) []byte {
	f.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzVerify feeds presented files to a verifier. Nothing panics; input
// that is not a compact JWS is ErrMalformed; anything else gets the five
// checks; and nothing but the genuine file is ever valid.
func FuzzVerify(f *testing.F) {
	genuine := bytes.TrimSpace(readTestdata(f, "acme.jwt"))
	v, err := verifier.New(readTestdata(f, "jwks.json"))
	if err != nil {
		f.Fatal(err)
	}
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if res, err := v.VerifyAt(genuine, at); err != nil || res.Result != domain.ResultValid {
		f.Fatalf("the genuine file does not verify: %v %+v", err, res.Checks)
	}
	parts := strings.Split(string(genuine), ".")
	for _, s := range []string{
		string(genuine),
		parts[0] + "." + parts[1] + ".",
		parts[0] + ".." + parts[2],
		"." + parts[1] + "." + parts[2],
		b64(`{"alg":"ES256","kid":"did:web:credentials.example.com:issuers:acme#key-2"}`) + "." + parts[1] + "." + parts[2],
		b64(`{"alg":"none"}`) + "." + parts[1] + ".",
		b64(`{"alg":"ES256","kid":"did:web:credentials.example.com:issuers:acme#key-1"}`) + "." + b64(`{}`) + "." + parts[2],
		"", "..", "a.b.c", "\x00.\xff.\x80",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		res, err := v.VerifyAt(in, at)
		if err != nil {
			if !errors.Is(err, verifier.ErrMalformed) || res.Result != "" || res.Checks != nil {
				t.Fatalf("VerifyAt error %v with result %+v", err, res)
			}
			return
		}
		if len(res.Checks) != 5 {
			t.Fatalf("%d checks", len(res.Checks))
		}
		switch res.Result {
		case domain.ResultValid:
			if !bytes.Equal(bytes.TrimSpace(in), genuine) {
				t.Fatalf("valid: %q", in)
			}
		case domain.ResultInvalid, domain.ResultExpired:
		default:
			t.Fatalf("result %q offline", res.Result)
		}
	})
}

// FuzzNew feeds key documents to New. Nothing panics, and a verifier made
// is one issuer's: every kid a DID URL of its DID.
func FuzzNew(f *testing.F) {
	jwks, did := readTestdata(f, "jwks.json"), readTestdata(f, "did.json")
	for _, s := range [][]byte{
		jwks, did,
		[]byte(`{"keys":[]}`), []byte(`{"keys":null}`), []byte(`{"keys":[{}]}`), []byte(`{"verificationMethod":[{}]}`),
		[]byte(`{"id":"did:web:x","verificationMethod":[{"id":"did:web:x#k","publicKeyJwk":null}],"assertionMethod":["did:web:x#k"]}`),
		[]byte(`null`), []byte(`[]`), []byte(``), []byte(`{`),
		bytes.Replace(jwks, []byte(`"ES256"`), []byte(`"EdDSA"`), 1),
		bytes.Replace(did, []byte(`"JsonWebKey2020"`), []byte(`"JsonWebKey"`), 1),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := verifier.New(in)
		if err != nil {
			if v != nil {
				t.Fatal("a verifier with an error")
			}
			return
		}
		if v.Issuer() == "" || len(v.KeyIDs()) == 0 {
			t.Fatalf("verifier of %q with no issuer or no keys", v.Issuer())
		}
		for _, kid := range v.KeyIDs() {
			if !strings.HasPrefix(kid, v.Issuer()+"#") {
				t.Fatalf("kid %q outside %q", kid, v.Issuer())
			}
		}
	})
}
