package signing_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
)

// The signer frames what jws.Sign would write, byte for byte: the same
// header and payload segments, and a signature jwx verifies (RS256 and
// EdDSA signatures are deterministic: the whole token is the same).
func TestSignWritesWhatJWXWrites(t *testing.T) {
	t.Parallel()
	payload := []byte(`{"id":"https://localhost:8443/credentials/CRD-ZBUYQMTA","name":"Go & <Expert>"}`)
	for _, alg := range allAlgs {
		kid := exampleKID("key-1")
		tok := sign(t, newSigner(t, alg, 0, kid), payload)
		key, err := jwk.ParseKey(testKey(t, alg, 0).private)
		if err != nil {
			t.Fatal(err)
		}
		if err := key.Set(jwk.KeyIDKey, kid); err != nil {
			t.Fatal(err)
		}
		hdr := jws.NewHeaders()
		_ = hdr.Set(jws.TypeKey, signing.MediaType)
		want, err := jws.Sign(payload, jws.WithKey(jwa.SignatureAlgorithm(alg), key, jws.WithProtectedHeaders(hdr)))
		if err != nil {
			t.Fatal(err)
		}
		got := []byte(tok)
		if alg == domain.AlgES256 {
			// ECDSA signs with fresh randomness: compare the signing input.
			got, want = got[:bytes.LastIndexByte(got, '.')], want[:bytes.LastIndexByte(want, '.')]
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: Sign wrote\n%s\njws.Sign writes\n%s", alg, got, want)
		}
		pub, err := jwk.ParseKey(testKey(t, alg, 0).public)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := jws.Verify([]byte(tok), jws.WithKey(jwa.SignatureAlgorithm(alg), pub)); err != nil {
			t.Errorf("%s: jwx does not verify the token: %v", alg, err)
		}
		if parts := strings.Split(tok, "."); alg == domain.AlgES256 && len(decodeSegment(t, parts[2])) != 64 {
			t.Errorf("ES256 signature of %d bytes, want r||s of 64", len(decodeSegment(t, parts[2])))
		}
	}
}

// A parsed key is found again by its bytes and algorithm only: a kid, an
// issuer, nothing else can make one key answer for another, and a key is
// never used for another algorithm than the one it was parsed for.
func TestParsePublicKeyIsKeyedByItsBytes(t *testing.T) {
	t.Parallel()
	a, b := testKey(t, domain.AlgES256, 0), testKey(t, domain.AlgES256, 1)
	ka, err := signing.ParsePublicKey(a.public, domain.AlgES256)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := signing.ParsePublicKey(bytes.Clone(a.public), domain.AlgES256); again != ka {
		t.Error("the same bytes parsed twice: not the cached key")
	}
	kb, err := signing.ParsePublicKey(b.public, domain.AlgES256)
	if err != nil || kb == ka {
		t.Fatalf("another key: %p, %v", kb, err)
	}
	// Both tokens carry the same kid (as two issuers' key-1 would); each
	// verifies with its own key only, in any order.
	kid := exampleKID("key-1")
	ta := sign(t, newSigner(t, domain.AlgES256, 0, kid), []byte(`{"by":"a"}`))
	tb := sign(t, newSigner(t, domain.AlgES256, 1, kid), []byte(`{"by":"b"}`))
	for range 2 {
		for _, c := range []struct {
			tok string
			key []byte
			ok  bool
		}{{ta, a.public, true}, {tb, a.public, false}, {tb, b.public, true}, {ta, b.public, false}} {
			if _, err := signing.Verify([]byte(c.tok), c.key, domain.AlgES256); (err == nil) != c.ok {
				t.Errorf("Verify = %v, want ok %v", err, c.ok)
			}
		}
	}
	// The same bytes for another algorithm are another key: refused.
	for _, alg := range []domain.Algorithm{domain.AlgRS256, domain.AlgEdDSA, "HS256", ""} {
		if k, err := signing.ParsePublicKey(a.public, alg); err == nil {
			t.Errorf("an ES256 key parsed as %q: %v", alg, k.Algorithm())
		}
	}
	// A private JWK gives its public half.
	if k, err := signing.ParsePublicKey(a.private, domain.AlgES256); err != nil {
		t.Errorf("private JWK: %v", err)
	} else if _, err := k.Verify(mustParse(t, ta)); err != nil {
		t.Errorf("private JWK's public half does not verify: %v", err)
	}
}

func mustParse(t *testing.T, tok string) signing.Token {
	t.Helper()
	pt, err := signing.ParseToken([]byte(tok))
	if err != nil {
		t.Fatal(err)
	}
	return pt
}

// ParseToken keeps nothing of the caller's buffer: changing it afterwards
// changes nothing the token verifies.
func TestParseTokenCopiesItsInput(t *testing.T) {
	t.Parallel()
	tok := []byte(sign(t, newSigner(t, domain.AlgES256, 0, exampleKID("key-1")), []byte(`{"a":1}`)))
	k, err := signing.ParsePublicKey(testKey(t, domain.AlgES256, 0).public, domain.AlgES256)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := signing.ParseToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	for i := range tok {
		tok[i] = 'A'
	}
	if got, err := k.Verify(parsed); err != nil || string(got) != `{"a":1}` {
		t.Fatalf("Verify after the input changed: %q, %v", got, err)
	}
	if _, err := k.Verify(signing.Token{Header: signing.Header{Algorithm: domain.AlgES256}}); err == nil {
		t.Error("the zero Token verified")
	}
}

// signRaw signs header.payload with the ES256 test key as it is, whatever
// the header says: a genuine signature over a header Credence never writes.
func signRaw(t *testing.T, header, payload string) string {
	t.Helper()
	key, err := jwk.ParseKey(testKey(t, domain.AlgES256, 0).private)
	if err != nil {
		t.Fatal(err)
	}
	var raw any
	if err := key.Raw(&raw); err != nil {
		t.Fatal(err)
	}
	s, err := jws.NewSigner(jwa.ES256)
	if err != nil {
		t.Fatal(err)
	}
	input := b64(header) + "." + payload
	sig, err := s.Sign([]byte(input), raw)
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// A signature that is genuine but made over a header naming another
// algorithm, or a JWS extension, never verifies: the key's algorithm is
// the only one it verifies, and "b64": false (an unencoded payload) or any
// "crit" is refused as unreadable.
func TestVerifyRefusesGenuineSignaturesOverOtherHeaders(t *testing.T) {
	t.Parallel()
	pub := testKey(t, domain.AlgES256, 0).public
	kid := exampleKID("key-1")
	control := signRaw(t, `{"alg":"ES256","kid":"`+kid+`","typ":"vc+jwt"}`, b64(`{"a":1}`))
	if _, err := signing.Verify([]byte(control), pub, domain.AlgES256); err != nil {
		t.Fatalf("the hand-signed control token does not verify: %v", err)
	}
	for _, alg := range []string{"EdDSA", "RS256", "ES384", "none", ""} {
		tok := signRaw(t, `{"alg":"`+alg+`","kid":"`+kid+`","typ":"vc+jwt"}`, b64(`{"a":1}`))
		if got, err := signing.Verify([]byte(tok), pub, domain.AlgES256); err == nil {
			t.Errorf("ES256 key, header alg %q: Verify succeeded: %q", alg, got)
		}
	}
	for name, tok := range map[string]string{
		"b64 false": signRaw(t, `{"alg":"ES256","b64":false,"crit":["b64"],"kid":"`+kid+`"}`, b64(`{"a":1}`)),
		"b64 only":  signRaw(t, `{"alg":"ES256","b64":true,"kid":"`+kid+`"}`, b64(`{"a":1}`)),
		"crit":      signRaw(t, `{"alg":"ES256","crit":["exp"],"exp":1,"kid":"`+kid+`"}`, b64(`{"a":1}`)),
	} {
		if got, err := signing.Verify([]byte(tok), pub, domain.AlgES256); err == nil {
			t.Errorf("%s: Verify succeeded: %q", name, got)
		}
		if _, _, err := signing.Parse([]byte(tok)); !errors.Is(err, signing.ErrMalformed) {
			t.Errorf("%s: Parse = %v, want ErrMalformed", name, err)
		}
	}
}
