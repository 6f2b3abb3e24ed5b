package signing_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
)

// The did:key method's own test vectors resolve to keys of their type.
func TestResolveDIDKeySpecVectors(t *testing.T) {
	t.Parallel()
	for did, alg := range map[string]domain.Algorithm{
		"did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK":  domain.AlgEdDSA,
		"did:key:z6Mkf5rGMoatrSj1f4CyvuHBeXJELe9RPdzo2PKGNCKVtZxP":  domain.AlgEdDSA,
		"did:key:zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv": domain.AlgES256,
	} {
		k, err := signing.ResolveDIDKey(did)
		if err != nil || k.Algorithm() != alg {
			t.Errorf("%s: %v, %v; want a %s key", did, k, err, alg)
		}
	}
}

// Keys resolved from did:key identifiers verify signatures made by
// another implementation (the W3C VCDM 2.0 test suite's enveloped
// presentation, testdata/didkey): the holder's Ed25519 key the
// presentation, the issuer's P-256 key the credential inside; each key
// verifies only its own.
func TestResolveDIDKeyVerifiesForeignSignatures(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/didkey/w3c-vp.jwt")
	if err != nil {
		t.Fatal(err)
	}
	vp, err := signing.ParseToken(raw)
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		VP struct {
			VerifiableCredential []struct {
				ID string `json:"id"`
			} `json:"verifiableCredential"`
		} `json:"vp"`
	}
	if err := json.Unmarshal(vp.Payload, &claims); err != nil || len(claims.VP.VerifiableCredential) != 1 {
		t.Fatalf("the vector's payload: %v %s", err, vp.Payload)
	}
	inner, ok := strings.CutPrefix(claims.VP.VerifiableCredential[0].ID, "data:application/jwt,")
	if !ok {
		t.Fatalf("the enveloped credential: %s", claims.VP.VerifiableCredential[0].ID)
	}
	vc, err := signing.ParseToken([]byte(inner))
	if err != nil {
		t.Fatal(err)
	}
	keyOf := func(tok signing.Token) *signing.PublicKey {
		t.Helper()
		did, fragment, ok := strings.Cut(tok.Header.KID, "#")
		if !ok || signing.DIDKeyMethod(did) != did+"#"+fragment {
			t.Fatalf("kid %q is not a did:key verification method", tok.Header.KID)
		}
		k, err := signing.ResolveDIDKey(did)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	holder, issuer := keyOf(vp), keyOf(vc)
	if holder.Algorithm() != domain.AlgEdDSA || issuer.Algorithm() != domain.AlgES256 {
		t.Fatalf("algorithms %s and %s, want EdDSA and ES256", holder.Algorithm(), issuer.Algorithm())
	}
	if _, err := holder.Verify(vp); err != nil {
		t.Errorf("the presentation does not verify with its holder's did:key: %v", err)
	}
	if _, err := issuer.Verify(vc); err != nil {
		t.Errorf("the credential does not verify with its issuer's did:key: %v", err)
	}
	// Another Ed25519 did:key does not verify the presentation.
	other, err := signing.ResolveDIDKey("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Verify(vp); !errors.Is(err, signing.ErrSignature) {
		t.Errorf("another did:key verifies the presentation: %v", err)
	}
}

// Keys generated here (Ed25519, and P-256 with both parities of y) make
// a did:key that resolves to a key verifying their signatures, and only
// theirs.
func TestDIDKeyRoundTrip(t *testing.T) {
	t.Parallel()
	type pair struct {
		pub  any
		priv any
		alg  domain.Algorithm
	}
	var pairs []pair
	for range 3 {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pairs = append(pairs, pair{pub, priv, domain.AlgEdDSA})
	}
	parities := map[byte]bool{}
	for len(parities) < 2 || len(pairs) < 8 {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := k.PublicKey.Bytes()
		parities[raw[64]&1] = true
		pairs = append(pairs, pair{&k.PublicKey, k, domain.AlgES256})
	}
	for i, p := range pairs {
		did, err := signing.DIDKey(p.pub)
		if err != nil {
			t.Fatal(err)
		}
		prefix := map[domain.Algorithm]string{domain.AlgEdDSA: "did:key:z6Mk", domain.AlgES256: "did:key:zDn"}[p.alg]
		if !strings.HasPrefix(did, prefix) {
			t.Errorf("%s key's did:key %s does not begin with %s", p.alg, did, prefix)
		}
		if want := didKeyOf(multicodec(t, p.pub)); did != want {
			t.Errorf("DIDKey wrote %s, want %s", did, want)
		}
		k, err := signing.ResolveDIDKey(did)
		if err != nil || k.Algorithm() != p.alg {
			t.Fatalf("%s: %v %v", did, k, err)
		}
		signed, err := jws.Sign([]byte(`{"n":1}`), jws.WithKey(jwa.SignatureAlgorithm(p.alg), p.priv))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := signing.ParseToken(signed)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := k.Verify(tok); err != nil {
			t.Errorf("%s does not verify its own key's signature: %v", did, err)
		}
		// The next key of the same algorithm does not.
		next := pairs[(i+1)%len(pairs)]
		if next.alg == p.alg {
			nextDID, _ := signing.DIDKey(next.pub)
			nk, _ := signing.ResolveDIDKey(nextDID)
			if _, err := nk.Verify(tok); err == nil {
				t.Errorf("%s verifies %s's signature", nextDID, did)
			}
		}
	}
	if _, err := signing.DIDKey(ed25519.PublicKey(make([]byte, 31))); err == nil {
		t.Error("a 31-byte Ed25519 key has a did:key")
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if _, err := signing.DIDKey(&p384.PublicKey); err == nil {
		t.Error("a P-384 key has a did:key here")
	}
}

// What is not a did:key of a key Credence reads is refused, telling an
// invalid identifier from a key type Credence does not verify.
func TestResolveDIDKeyRefuses(t *testing.T) {
	t.Parallel()
	ed := "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
	// A P-256 header before an x of no point of the curve.
	var x [32]byte
	for x[31] = 1; ; x[31]++ {
		if px, _ := elliptic.UnmarshalCompressed(elliptic.P256(), append([]byte{0x02}, x[:]...)); px == nil {
			break
		}
	}
	notOnCurve := didKeyOf(append([]byte{0x80, 0x24, 0x02}, x[:]...))
	for did, want := range map[string]error{
		"":                            signing.ErrDIDKeyInvalid,
		"did:web:example.com":         signing.ErrDIDKeyInvalid,
		"did:key:":                    signing.ErrDIDKeyInvalid,
		"did:key:z":                   signing.ErrDIDKeyInvalid,
		"did:key:" + ed[1:]:           signing.ErrDIDKeyInvalid, // no multibase prefix
		"did:key:u" + ed[1:]:          signing.ErrDIDKeyInvalid, // base64url multibase
		"did:key:1:" + ed:             signing.ErrDIDKeyInvalid, // version segment
		"DID:KEY:" + ed:               signing.ErrDIDKeyInvalid,
		"did:key:" + ed + "#" + ed:    signing.ErrDIDKeyInvalid, // a DID URL, not a DID
		"did:key:z6MkhaXgBZDvotDkL0O": signing.ErrDIDKeyInvalid, // 0 and O are not base58
		didKeyOf(append([]byte{0xed, 0x01}, make([]byte, 31)...)):                         signing.ErrDIDKeyInvalid,
		didKeyOf(append([]byte{0xed, 0x01}, make([]byte, 33)...)):                         signing.ErrDIDKeyInvalid,
		didKeyOf(append([]byte{0x80, 0x24, 0x02}, x[1:]...)):                              signing.ErrDIDKeyInvalid, // 32 bytes
		"did:key:z" + strings.Repeat("z", 300):                                            signing.ErrDIDKeyInvalid,
		notOnCurve:                                                                        signing.ErrDIDKeyInvalid,
		didKeyOf(append([]byte{0x80, 0x24, 0x04}, make([]byte, 64)...)):                   signing.ErrDIDKeyInvalid,     // uncompressed
		"did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme":                       signing.ErrDIDKeyUnsupported, // secp256k1
		"did:key:z82LkvCwHNreneWpsgPEbV3gu1C6NFJEBg4srfJ5gdxEsMGRJUz2sG9FE42shbn2xkZJh54": signing.ErrDIDKeyUnsupported, // P-384
		"did:key:z6LSj72tK8brWgZja8NLRwPigth2T9QRiG1uH9oKZuKjdh9p":                        signing.ErrDIDKeyUnsupported, // X25519: agreement, not signing
	} {
		if k, err := signing.ResolveDIDKey(did); !errors.Is(err, want) {
			t.Errorf("%.60q: %v, %v; want %v", did, k, err, want)
		}
	}
}

// didKeyOf writes b (a multicodec header and key) as a did:key, with a
// base58 encoder written apart from the one under test (schoolbook long
// division).
func didKeyOf(b []byte) string {
	const alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
	n := append([]byte(nil), b...)
	var out []byte
	for len(n) > 0 {
		var q []byte
		rem := 0
		for _, d := range n {
			acc := rem*256 + int(d)
			if len(q) > 0 || acc/58 > 0 {
				q = append(q, byte(acc/58))
			}
			rem = acc % 58
		}
		out = append(out, alphabet[rem])
		n = q
	}
	for _, d := range b {
		if d != 0 {
			break
		}
		out = append(out, '1')
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return "did:key:z" + string(out)
}

// multicodec is the multicodec header and raw bytes of a public key, as
// the did:key method writes them.
func multicodec(t *testing.T, pub any) []byte {
	t.Helper()
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return append([]byte{0xed, 0x01}, k...)
	case *ecdsa.PublicKey:
		raw, err := k.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		x, y := new(big.Int).SetBytes(raw[1:33]), new(big.Int).SetBytes(raw[33:])
		return append([]byte{0x80, 0x24}, elliptic.MarshalCompressed(elliptic.P256(), x, y)...)
	}
	t.Fatalf("no multicodec for %T", pub)
	return nil
}
