package signing_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
)

// allAlgs are the algorithms Credence generates keys for.
var allAlgs = []domain.Algorithm{domain.AlgES256, domain.AlgEdDSA, domain.AlgRS256}

// privateMembers are the JWK members that carry private key material
// (RFC 7518 §6.2.2, §6.3.2; RFC 8037 §2).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

const exampleDID = "did:web:localhost%3A8443:issuers:acme"

func exampleKID(fragment string) string { return exampleDID + "#" + fragment }

// keyPair is a generated key, cached per algorithm: RSA-2048 generation is slow.
type keyPair struct{ public, private []byte }

var (
	keysMu sync.Mutex
	keys   = map[domain.Algorithm][]keyPair{}
)

// testKey returns the n-th cached key pair of alg.
func testKey(t *testing.T, alg domain.Algorithm, n int) keyPair {
	t.Helper()
	keysMu.Lock()
	defer keysMu.Unlock()
	for len(keys[alg]) <= n {
		pub, priv, err := signing.Generate(alg)
		if err != nil {
			t.Fatalf("Generate(%s): %v", alg, err)
		}
		keys[alg] = append(keys[alg], keyPair{public: pub, private: priv})
	}
	return keys[alg][n]
}

func newSigner(t *testing.T, alg domain.Algorithm, n int, kid string) *signing.Signer {
	t.Helper()
	s, err := signing.NewSigner(testKey(t, alg, n).private, alg, kid)
	if err != nil {
		t.Fatalf("NewSigner(%s): %v", alg, err)
	}
	return s
}

func sign(t *testing.T, s *signing.Signer, payload []byte) string {
	t.Helper()
	tok, err := s.Sign(payload)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return tok
}

func jsonObject(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, b)
	}
	return m
}

func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func hmacSHA256(key []byte, msg string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// decodeSegment decodes one base64url segment of a compact JWS.
func decodeSegment(t *testing.T, seg string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatalf("segment %q is not base64url: %v", seg, err)
	}
	return b
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatalf("url.Parse(%q): %v", s, err)
	}
	return u
}

// --- Cipher ---------------------------------------------------------------

func newCipher(t *testing.T) *signing.Cipher {
	t.Helper()
	key := make([]byte, signing.MasterKeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	c, err := signing.NewCipher(key)
	if err != nil {
		t.Fatalf("NewCipher: %v", err)
	}
	return c
}

func TestCipherRoundTrip(t *testing.T) {
	t.Parallel()
	c := newCipher(t)
	large := make([]byte, 1<<16)
	if _, err := rand.Read(large); err != nil {
		t.Fatal(err)
	}
	for name, plain := range map[string][]byte{
		"empty": {},
		"short": []byte("k"),
		"jwk":   testKey(t, domain.AlgES256, 0).private,
		"large": large,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sealed, err := c.Encrypt(plain)
			if err != nil {
				t.Fatalf("Encrypt: %v", err)
			}
			if len(plain) > 4 && bytes.Contains(sealed, plain) {
				t.Fatal("ciphertext contains the plaintext")
			}
			got, err := c.Decrypt(sealed)
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			if !bytes.Equal(got, plain) {
				t.Fatalf("round trip changed the plaintext: got %d bytes, want %d", len(got), len(plain))
			}
		})
	}
}

func TestCipherFreshNonceEachTime(t *testing.T) {
	t.Parallel()
	c := newCipher(t)
	plain := []byte("the same private key")
	seen := map[string]bool{}
	nonces := map[string]bool{}
	for range 50 {
		sealed, err := c.Encrypt(plain)
		if err != nil {
			t.Fatal(err)
		}
		if seen[string(sealed)] {
			t.Fatal("two encryptions of the same plaintext are identical")
		}
		seen[string(sealed)] = true
		nonce := string(sealed[1:13])
		if nonces[nonce] {
			t.Fatal("a nonce was reused")
		}
		nonces[nonce] = true
	}
}

func TestCipherDecryptWithWrongKeyFails(t *testing.T) {
	t.Parallel()
	sealed, err := newCipher(t).Encrypt([]byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := newCipher(t).Decrypt(sealed)
	if !errors.Is(err, signing.ErrDecrypt) {
		t.Fatalf("Decrypt under another key: got %q, %v; want ErrDecrypt", got, err)
	}
}

func TestCipherAnyFlippedByteFails(t *testing.T) {
	t.Parallel()
	c := newCipher(t)
	sealed, err := c.Encrypt([]byte("a private key worth protecting"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range sealed {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			bad := bytes.Clone(sealed)
			bad[i] ^= mask
			if got, err := c.Decrypt(bad); !errors.Is(err, signing.ErrDecrypt) {
				t.Fatalf("byte %d ^ %#x: got %q, %v; want ErrDecrypt", i, mask, got, err)
			}
		}
	}
}

func TestCipherTruncatedOrExtendedFails(t *testing.T) {
	t.Parallel()
	c := newCipher(t)
	sealed, err := c.Encrypt([]byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Decrypt(nil); !errors.Is(err, signing.ErrDecrypt) {
		t.Fatalf("Decrypt(nil) = %v, want ErrDecrypt", err)
	}
	for n := range len(sealed) {
		if got, err := c.Decrypt(sealed[:n]); !errors.Is(err, signing.ErrDecrypt) {
			t.Fatalf("Decrypt(first %d of %d bytes) = %q, %v; want ErrDecrypt", n, len(sealed), got, err)
		}
	}
	for n := 1; n < len(sealed); n++ {
		if got, err := c.Decrypt(sealed[n:]); !errors.Is(err, signing.ErrDecrypt) {
			t.Fatalf("Decrypt(without first %d bytes) = %q, %v; want ErrDecrypt", n, got, err)
		}
	}
	if got, err := c.Decrypt(append(bytes.Clone(sealed), 0)); !errors.Is(err, signing.ErrDecrypt) {
		t.Fatalf("Decrypt(with a trailing byte) = %q, %v; want ErrDecrypt", got, err)
	}
}

func TestNewCipherRejectsWrongKeySizes(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 16, 24, 31, 33, 64} {
		if c, err := signing.NewCipher(make([]byte, n)); err == nil || c != nil {
			t.Errorf("NewCipher(%d bytes) = %v, %v; want an error", n, c, err)
		}
	}
	if _, err := signing.NewCipher(make([]byte, 32)); err != nil {
		t.Errorf("NewCipher(32 bytes): %v", err)
	}
}

func TestCipherConcurrentUse(t *testing.T) {
	t.Parallel()
	c := newCipher(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			plain := []byte(strings.Repeat("x", i))
			for range 50 {
				sealed, err := c.Encrypt(plain)
				if err != nil {
					errs <- err
					return
				}
				got, err := c.Decrypt(sealed)
				if err != nil || !bytes.Equal(got, plain) {
					errs <- errors.New("concurrent round trip failed")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// --- Generate -------------------------------------------------------------

func TestGeneratePublicKeyHasNoPrivateParts(t *testing.T) {
	t.Parallel()
	want := map[domain.Algorithm]map[string]any{
		domain.AlgES256: {"kty": "EC", "crv": "P-256"},
		domain.AlgEdDSA: {"kty": "OKP", "crv": "Ed25519"},
		domain.AlgRS256: {"kty": "RSA"},
	}
	for _, alg := range allAlgs {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			kp := testKey(t, alg, 0)
			pub := jsonObject(t, kp.public)
			for _, m := range privateMembers {
				if _, ok := pub[m]; ok {
					t.Errorf("public JWK has private member %q: %s", m, kp.public)
				}
			}
			if pub["alg"] != string(alg) {
				t.Errorf("public JWK alg = %v, want %s", pub["alg"], alg)
			}
			if _, ok := pub["kid"]; ok {
				t.Errorf("public JWK has a kid; the kid is derived at use: %s", kp.public)
			}
			for k, v := range want[alg] {
				if pub[k] != v {
					t.Errorf("public JWK %s = %v, want %v", k, pub[k], v)
				}
			}
			priv := jsonObject(t, kp.private)
			if _, ok := priv["d"]; !ok {
				t.Errorf("private JWK has no d: %s", kp.private)
			}
			if priv["alg"] != string(alg) {
				t.Errorf("private JWK alg = %v, want %s", priv["alg"], alg)
			}
		})
	}
}

func TestGenerateIsFresh(t *testing.T) {
	t.Parallel()
	a, _, err := signing.Generate(domain.AlgES256)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := signing.Generate(domain.AlgES256)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, b) {
		t.Fatal("two generated keys are identical")
	}
}

func TestGenerateRejectsUnsupportedAlgorithms(t *testing.T) {
	t.Parallel()
	for _, alg := range []domain.Algorithm{"", "none", "HS256", "ES384", "PS256", "es256", "RS512", "Ed25519"} {
		pub, priv, err := signing.Generate(alg)
		if err == nil || pub != nil || priv != nil {
			t.Errorf("Generate(%q) = %d, %d bytes, %v; want an error and no key", alg, len(pub), len(priv), err)
		}
	}
}

// --- Signer, Parse, Verify ------------------------------------------------

func TestSignHeaderIsExactlyAlgKidTyp(t *testing.T) {
	t.Parallel()
	for _, alg := range allAlgs {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			kid := exampleKID("key-1")
			s := newSigner(t, alg, 0, kid)
			if s.KID() != kid {
				t.Errorf("KID() = %q, want %q", s.KID(), kid)
			}
			tok := sign(t, s, []byte(`{"a":1}`))
			parts := strings.Split(tok, ".")
			if len(parts) != 3 {
				t.Fatalf("not compact: %d parts", len(parts))
			}
			hdr := jsonObject(t, decodeSegment(t, parts[0]))
			want := map[string]any{"alg": string(alg), "kid": kid, "typ": "vc+jwt"}
			if !reflect.DeepEqual(hdr, want) {
				t.Fatalf("protected header = %v, want exactly %v", hdr, want)
			}
			h, _, err := signing.Parse([]byte(tok))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if h != (signing.Header{Algorithm: alg, KID: kid, Type: signing.MediaType}) {
				t.Fatalf("Parse header = %+v", h)
			}
		})
	}
}

// jws.Sign writes the key's own kid; the signer must write the DID URL instead.
func TestSignKidIsTheGivenDIDURLNotTheKeysOwn(t *testing.T) {
	t.Parallel()
	priv := jsonObject(t, testKey(t, domain.AlgES256, 0).private)
	priv["kid"] = "the-keys-own-kid"
	withKid, err := json.Marshal(priv)
	if err != nil {
		t.Fatal(err)
	}
	kid := exampleKID("key-7")
	s, err := signing.NewSigner(withKid, domain.AlgES256, kid)
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := signing.Parse([]byte(sign(t, s, []byte("{}"))))
	if err != nil {
		t.Fatal(err)
	}
	if h.KID != kid {
		t.Fatalf("header kid = %q, want %q", h.KID, kid)
	}
}

func TestSignPreservesPayloadBytes(t *testing.T) {
	t.Parallel()
	payloads := [][]byte{
		[]byte(`{"@context":["https://www.w3.org/ns/credentials/v2"],"name":"Go Expert"}`),
		[]byte("{ \"spaced\" :\t1 ,\n\"b\": [ ] }\n"),
		[]byte(`{"u":"h\u00e9llo & <b> é 漢字 \ud83d\ude00","url":"https://x/?a=1&b=2"}`),
		[]byte(`{"z":1,"a":2,"z":3}`),
		[]byte("not json at all"),
		[]byte(""),
	}
	for _, alg := range allAlgs {
		s := newSigner(t, alg, 0, exampleKID("key-1"))
		pub := testKey(t, alg, 0).public
		for _, p := range payloads {
			tok := sign(t, s, p)
			if got := decodeSegment(t, strings.Split(tok, ".")[1]); !bytes.Equal(got, p) {
				t.Errorf("%s: signed payload segment = %q, want %q", alg, got, p)
			}
			_, got, err := signing.Parse([]byte(tok))
			if err != nil {
				// An empty payload is not a useful credential; only the
				// non-empty ones must round-trip through Parse.
				if len(p) == 0 {
					continue
				}
				t.Fatalf("%s: Parse: %v", alg, err)
			}
			if !bytes.Equal(got, p) {
				t.Errorf("%s: Parse payload = %q, want %q", alg, got, p)
			}
			if len(p) == 0 {
				continue
			}
			got, err = signing.Verify([]byte(tok), pub, alg)
			if err != nil {
				t.Fatalf("%s: Verify: %v", alg, err)
			}
			if !bytes.Equal(got, p) {
				t.Errorf("%s: Verify payload = %q, want %q", alg, got, p)
			}
		}
	}
}

func TestVerifySucceedsWithThePublicKey(t *testing.T) {
	t.Parallel()
	payload := []byte(`{"id":"https://localhost:8443/credentials/CRD-ZBUYQMTA"}`)
	for _, alg := range allAlgs {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			tok := sign(t, newSigner(t, alg, 0, exampleKID("key-1")), payload)
			got, err := signing.Verify([]byte(tok), testKey(t, alg, 0).public, alg)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !bytes.Equal(got, payload) {
				t.Fatalf("Verify payload = %q, want %q", got, payload)
			}
			// Surrounding whitespace (a file with a trailing newline) is fine.
			if _, err := signing.Verify([]byte("\n "+tok+"\r\n"), testKey(t, alg, 0).public, alg); err != nil {
				t.Fatalf("Verify with surrounding whitespace: %v", err)
			}
		})
	}
}

func TestVerifyFailsWithAnotherKey(t *testing.T) {
	t.Parallel()
	for _, alg := range allAlgs {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			tok := sign(t, newSigner(t, alg, 0, exampleKID("key-1")), []byte(`{"a":1}`))
			if got, err := signing.Verify([]byte(tok), testKey(t, alg, 1).public, alg); err == nil {
				t.Fatalf("Verify with another %s key succeeded: %q", alg, got)
			}
		})
	}
}

func TestVerifyFailsWithAFlippedSignatureByte(t *testing.T) {
	t.Parallel()
	for _, alg := range allAlgs {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			tok := sign(t, newSigner(t, alg, 0, exampleKID("key-1")), []byte(`{"a":1}`))
			parts := strings.Split(tok, ".")
			sig := decodeSegment(t, parts[2])
			pub := testKey(t, alg, 0).public
			for i := range sig {
				bad := bytes.Clone(sig)
				bad[i] ^= 0x01
				forged := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(bad)
				if got, err := signing.Verify([]byte(forged), pub, alg); err == nil {
					t.Fatalf("signature byte %d flipped: Verify succeeded: %q", i, got)
				}
			}
			// Truncated and empty signatures.
			for _, s := range []string{"", parts[2][:len(parts[2])/2], parts[2] + "AAAA"} {
				forged := parts[0] + "." + parts[1] + "." + s
				if got, err := signing.Verify([]byte(forged), pub, alg); err == nil {
					t.Fatalf("signature %q: Verify succeeded: %q", s, got)
				}
			}
		})
	}
}

func TestVerifyFailsWithAModifiedPayload(t *testing.T) {
	t.Parallel()
	for _, alg := range allAlgs {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			tok := sign(t, newSigner(t, alg, 0, exampleKID("key-1")), []byte(`{"name":"Rae Recipient"}`))
			parts := strings.Split(tok, ".")
			pub := testKey(t, alg, 0).public
			for _, p := range []string{`{"name":"Eve Recipient"}`, `{"name":"Rae Recipient"} `, `{"name": "Rae Recipient"}`, ``} {
				forged := parts[0] + "." + b64(p) + "." + parts[2]
				if got, err := signing.Verify([]byte(forged), pub, alg); err == nil {
					t.Fatalf("payload %q: Verify succeeded: %q", p, got)
				}
			}
			// A modified header (another kid) breaks the signature too.
			h := `{"alg":"` + string(alg) + `","kid":"did:web:evil.example:issuers:acme#key-1","typ":"vc+jwt"}`
			forged := b64(h) + "." + parts[1] + "." + parts[2]
			if got, err := signing.Verify([]byte(forged), pub, alg); err == nil {
				t.Fatalf("modified header: Verify succeeded: %q", got)
			}
		})
	}
}

func TestVerifyRejectsAlgorithmConfusion(t *testing.T) {
	t.Parallel()
	payload := []byte(`{"a":1}`)
	// A token signed with one algorithm never verifies when the caller says
	// the key is of another, whatever key it passes.
	for _, signAlg := range allAlgs {
		tok := sign(t, newSigner(t, signAlg, 0, exampleKID("key-1")), payload)
		for _, keyAlg := range allAlgs {
			if keyAlg == signAlg {
				continue
			}
			for _, pub := range [][]byte{testKey(t, signAlg, 0).public, testKey(t, keyAlg, 0).public} {
				if got, err := signing.Verify([]byte(tok), pub, keyAlg); err == nil {
					t.Errorf("%s token verified as %s: %q", signAlg, keyAlg, got)
				}
			}
		}
	}

	es := testKey(t, domain.AlgES256, 0)
	tok := sign(t, newSigner(t, domain.AlgES256, 0, exampleKID("key-1")), payload)
	parts := strings.Split(tok, ".")

	// Header rewritten to another alg, signature kept.
	for _, alg := range []string{"RS256", "EdDSA", "HS256", "ES384", "none", "None", "NONE", ""} {
		h := `{"alg":"` + alg + `","kid":"` + exampleKID("key-1") + `","typ":"vc+jwt"}`
		for _, sig := range []string{parts[2], ""} {
			forged := b64(h) + "." + parts[1] + "." + sig
			for _, claim := range []domain.Algorithm{domain.AlgES256, domain.Algorithm(alg)} {
				if got, err := signing.Verify([]byte(forged), es.public, claim); err == nil {
					t.Errorf("header alg %q, signature kept %v, key claimed %q: Verify succeeded: %q", alg, sig != "", claim, got)
				}
			}
		}
	}

	// HS256 with the public key's JSON as the HMAC secret (the classic
	// RS/ES → HS confusion), crafted by hand.
	{
		h := b64(`{"alg":"HS256","kid":"` + exampleKID("key-1") + `","typ":"vc+jwt"}`)
		p := b64(`{"a":1}`)
		forged := h + "." + p + "." + hmacSHA256(es.public, h+"."+p)
		for _, claim := range []domain.Algorithm{domain.AlgES256, "HS256"} {
			if got, err := signing.Verify([]byte(forged), es.public, claim); err == nil {
				t.Errorf("HS256 token keyed with the public JWK, key claimed %q: Verify succeeded: %q", claim, got)
			}
		}
	}
}

func TestVerifyRejectsUnparseableKeys(t *testing.T) {
	t.Parallel()
	tok := sign(t, newSigner(t, domain.AlgES256, 0, exampleKID("key-1")), []byte("{}"))
	for _, pub := range [][]byte{nil, []byte(""), []byte("{}"), []byte("not json"), []byte(`{"kty":"oct","k":"c2VjcmV0"}`)} {
		if got, err := signing.Verify([]byte(tok), pub, domain.AlgES256); err == nil {
			t.Errorf("Verify with key %q succeeded: %q", pub, got)
		}
	}
}

func TestParseRejectsMalformedInput(t *testing.T) {
	t.Parallel()
	tok := sign(t, newSigner(t, domain.AlgES256, 0, exampleKID("key-1")), []byte(`{"a":1}`))
	parts := strings.Split(tok, ".")
	jsonSerialization := `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`
	flattened := `{"payload":"` + parts[1] + `","signatures":[{"protected":"` + parts[0] + `","signature":"` + parts[2] + `"}]}`
	cases := map[string]string{
		"empty":                     "",
		"whitespace":                " \n\t",
		"garbage":                   "garbage",
		"dots only":                 "..",
		"two parts":                 parts[0] + "." + parts[1],
		"four parts":                tok + "." + parts[2],
		"five parts (JWE shape)":    parts[0] + "." + parts[1] + "." + parts[2] + "." + parts[2] + "." + parts[2],
		"JSON serialization":        jsonSerialization,
		"general JSON":              flattened,
		"header not base64":         "!!!." + parts[1] + "." + parts[2],
		"header not JSON":           b64("not json") + "." + parts[1] + "." + parts[2],
		"header JSON array":         b64(`["alg"]`) + "." + parts[1] + "." + parts[2],
		"payload not base64":        parts[0] + ".%%%." + parts[2],
		"signature not base64":      parts[0] + "." + parts[1] + ".***",
		"inner whitespace":          parts[0] + " ." + parts[1] + "." + parts[2],
		"over 64 KiB":               parts[0] + "." + strings.Repeat("A", signing.MaxJWSSize) + "." + parts[2],
		"garbage with two dots":     "a.b.c",
		"binary":                    "\x00\xff.\x01.\x02",
		"nested JWS in header slot": b64(tok) + "." + parts[1] + "." + parts[2],
	}
	for name, in := range cases {
		h, p, err := signing.Parse([]byte(in))
		if err == nil {
			t.Errorf("%s: Parse accepted %.80q: %+v, %q", name, in, h, p)
			continue
		}
		if !errors.Is(err, signing.ErrMalformed) {
			t.Errorf("%s: Parse error %v does not match ErrMalformed", name, err)
		}
		if h != (signing.Header{}) || p != nil {
			t.Errorf("%s: Parse returned data with an error: %+v, %q", name, h, p)
		}
		if _, err := signing.Verify([]byte(in), testKey(t, domain.AlgES256, 0).public, domain.AlgES256); err == nil {
			t.Errorf("%s: Verify accepted %.80q", name, in)
		}
	}
}

func TestParseSizeCap(t *testing.T) {
	t.Parallel()
	s := newSigner(t, domain.AlgES256, 0, exampleKID("key-1"))
	pub := testKey(t, domain.AlgES256, 0).public
	// Find the largest payload whose token fits in MaxJWSSize and the
	// smallest that does not: the cap is on the token, at exactly 64 KiB.
	overhead := len(sign(t, s, []byte(`""`))) - len(b64(`""`))
	fill := func(n int) []byte { return []byte(`"` + strings.Repeat("x", n) + `"`) }
	n := (signing.MaxJWSSize-overhead)*3/4 - 2
	for len(sign(t, s, fill(n+1))) <= signing.MaxJWSSize {
		n++
	}
	for len(sign(t, s, fill(n))) > signing.MaxJWSSize {
		n--
	}
	fits := sign(t, s, fill(n))
	tooBig := sign(t, s, fill(n+1))
	if len(fits) > signing.MaxJWSSize || len(tooBig) <= signing.MaxJWSSize {
		t.Fatalf("setup: %d and %d bytes around %d", len(fits), len(tooBig), signing.MaxJWSSize)
	}
	if _, _, err := signing.Parse([]byte(fits)); err != nil {
		t.Errorf("Parse(%d bytes): %v", len(fits), err)
	}
	if _, err := signing.Verify([]byte(fits), pub, domain.AlgES256); err != nil {
		t.Errorf("Verify(%d bytes): %v", len(fits), err)
	}
	if _, _, err := signing.Parse([]byte(tooBig)); !errors.Is(err, signing.ErrMalformed) {
		t.Errorf("Parse(%d bytes) = %v, want ErrMalformed", len(tooBig), err)
	}
	if _, err := signing.Verify([]byte(tooBig), pub, domain.AlgES256); err == nil {
		t.Errorf("Verify(%d bytes) succeeded over the cap", len(tooBig))
	}
	// A megabyte of dots and garbage is rejected without parsing.
	if _, _, err := signing.Parse(bytes.Repeat([]byte("a.b.c"), 1<<18)); !errors.Is(err, signing.ErrMalformed) {
		t.Errorf("Parse(1 MiB) = %v, want ErrMalformed", err)
	}
}

func TestSignerConcurrentUse(t *testing.T) {
	t.Parallel()
	for _, alg := range []domain.Algorithm{domain.AlgES256, domain.AlgEdDSA} {
		s := newSigner(t, alg, 0, exampleKID("key-1"))
		pub := testKey(t, alg, 0).public
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range 20 {
					p := []byte(`{"i":` + string(rune('0'+i)) + `,"j":` + string(rune('a'+j)) + `}`)
					tok, err := s.Sign(p)
					if err != nil {
						errs <- err
						return
					}
					got, err := signing.Verify([]byte(tok), pub, alg)
					if err != nil || !bytes.Equal(got, p) {
						errs <- errors.New("concurrent sign/verify round trip failed")
						return
					}
					if h, _, _ := signing.Parse([]byte(tok)); h.KID != exampleKID("key-1") {
						errs <- errors.New("concurrent sign wrote kid " + h.KID)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("%s: %v", alg, err)
		}
	}
}

func TestNewSignerRejectsBadKeys(t *testing.T) {
	t.Parallel()
	for _, priv := range [][]byte{nil, []byte("{}"), []byte("not json")} {
		if _, err := signing.NewSigner(priv, domain.AlgES256, exampleKID("key-1")); err == nil {
			t.Errorf("NewSigner(%q) succeeded", priv)
		}
	}
	// A key used with an algorithm it was not made for cannot sign.
	s, err := signing.NewSigner(testKey(t, domain.AlgES256, 0).private, domain.AlgRS256, exampleKID("key-1"))
	if err == nil {
		if tok, err := s.Sign([]byte("{}")); err == nil {
			t.Errorf("an ES256 key signed as RS256: %s", tok)
		}
	}
}

// --- Identifiers ----------------------------------------------------------

func TestIssuerDID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ base, slug, want string }{
		{"https://example.com", "acme", "did:web:example.com:issuers:acme"},
		{"https://example.com/", "acme", "did:web:example.com:issuers:acme"},
		{"http://localhost:8443", "acme", "did:web:localhost%3A8443:issuers:acme"},
		{"https://localhost:8443", "acme", "did:web:localhost%3A8443:issuers:acme"},
		{"https://example.com/base/", "acme", "did:web:example.com:base:issuers:acme"},
		{"https://example.com/base", "acme", "did:web:example.com:base:issuers:acme"},
		{"https://example.com:8443/a/b", "acme", "did:web:example.com%3A8443:a:b:issuers:acme"},
		{"https://example.com", "go-academy-2", "did:web:example.com:issuers:go-academy-2"},
	} {
		if got := signing.IssuerDID(mustURL(t, tc.base), tc.slug); got != tc.want {
			t.Errorf("IssuerDID(%s, %s) = %q, want %q", tc.base, tc.slug, got, tc.want)
		}
	}
}

func TestKeyIDAndSplitKeyID(t *testing.T) {
	t.Parallel()
	kid := signing.KeyID(exampleDID, "key-1")
	if kid != "did:web:localhost%3A8443:issuers:acme#key-1" {
		t.Fatalf("KeyID = %q", kid)
	}
	did, frag, ok := signing.SplitKeyID(kid)
	if !ok || did != exampleDID || frag != "key-1" {
		t.Fatalf("SplitKeyID(%q) = %q, %q, %v", kid, did, frag, ok)
	}
	for _, bad := range []string{"", "#", "did:web:example.com", "#key-1", "did:web:example.com#"} {
		if did, frag, ok := signing.SplitKeyID(bad); ok {
			t.Errorf("SplitKeyID(%q) = %q, %q, true; want not ok", bad, did, frag)
		}
	}
	// Only the first # splits.
	if did, frag, ok := signing.SplitKeyID("did:web:x#a#b"); !ok || did != "did:web:x" || frag != "a#b" {
		t.Errorf("SplitKeyID(did:web:x#a#b) = %q, %q, %v", did, frag, ok)
	}
}

// --- Publication ----------------------------------------------------------

// publishedKeys returns one key of each algorithm under the example DID:
// key-1 retired ES256, key-2 EdDSA, key-3 active RS256.
func publishedKeys(t *testing.T) []signing.PublishedKey {
	t.Helper()
	var out []signing.PublishedKey
	for i, alg := range allAlgs {
		out = append(out, signing.PublishedKey{
			KID:       exampleKID("key-" + string(rune('1'+i))),
			Algorithm: alg,
			Public:    testKey(t, alg, 0).public,
		})
	}
	return out
}

func checkPublicJWK(t *testing.T, where string, k map[string]any, want signing.PublishedKey) {
	t.Helper()
	if k["kid"] != want.KID {
		t.Errorf("%s: kid = %v, want %q", where, k["kid"], want.KID)
	}
	if k["alg"] != string(want.Algorithm) {
		t.Errorf("%s: alg = %v, want %s", where, k["alg"], want.Algorithm)
	}
	for _, m := range privateMembers {
		if _, ok := k[m]; ok {
			t.Errorf("%s: private member %q published", where, m)
		}
	}
	pub := jsonObject(t, want.Public)
	for member, v := range pub {
		if k[member] != v {
			t.Errorf("%s: %s = %v, want %v", where, member, k[member], v)
		}
	}
	extra := map[string]bool{"kid": true}
	for member := range k {
		if _, ok := pub[member]; !ok && !extra[member] {
			t.Errorf("%s: unexpected member %q", where, member)
		}
	}
}

func TestJWKS(t *testing.T) {
	t.Parallel()
	keys := publishedKeys(t)
	raw, err := signing.JWKS(keys)
	if err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatal(err)
	}
	if got := keysOf(jsonObject(t, raw)); !slices.Equal(got, []string{"keys"}) {
		t.Errorf("JWKS members = %v, want [keys]", got)
	}
	if len(set.Keys) != len(keys) {
		t.Fatalf("JWKS has %d keys, want %d: %s", len(set.Keys), len(keys), raw)
	}
	byKID := map[string]map[string]any{}
	for _, k := range set.Keys {
		kid, _ := k["kid"].(string)
		byKID[kid] = k
	}
	for _, want := range keys {
		k, ok := byKID[want.KID]
		if !ok {
			t.Errorf("JWKS lacks kid %q", want.KID)
			continue
		}
		checkPublicJWK(t, "JWKS "+want.KID, k, want)
		// Byte-identical in the JSON text too (npm jose compares exactly).
		if !bytes.Contains(raw, []byte(`"kid":"`+want.KID+`"`)) {
			t.Errorf("JWKS text lacks the kid %q verbatim", want.KID)
		}
	}
	if bytes.Contains(raw, []byte(`"d"`)) {
		t.Errorf("JWKS contains a d member: %s", raw)
	}

	empty, err := signing.JWKS(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := jsonObject(t, empty); !reflect.DeepEqual(got, map[string]any{"keys": []any{}}) {
		t.Errorf("JWKS(nil) = %s, want {\"keys\":[]}", empty)
	}
}

// Every kid a signer writes finds, in the JWKS, a key that verifies it.
func TestJWKSKeyVerifiesSignedToken(t *testing.T) {
	t.Parallel()
	keys := publishedKeys(t)
	raw, err := signing.JWKS(keys)
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatal(err)
	}
	for _, pk := range keys {
		tok := sign(t, newSigner(t, pk.Algorithm, 0, pk.KID), []byte(`{"a":1}`))
		h, _, err := signing.Parse([]byte(tok))
		if err != nil {
			t.Fatal(err)
		}
		var found bool
		for _, k := range set.Keys {
			if jsonObject(t, k)["kid"] == h.KID {
				found = true
				if _, err := signing.Verify([]byte(tok), k, h.Algorithm); err != nil {
					t.Errorf("%s: the JWKS key does not verify: %v", h.KID, err)
				}
			}
		}
		if !found {
			t.Errorf("header kid %q is not in the JWKS", h.KID)
		}
	}
}

func TestDIDDocument(t *testing.T) {
	t.Parallel()
	keys := publishedKeys(t)
	raw, err := signing.DIDDocument(exampleDID, keys)
	if err != nil {
		t.Fatalf("DIDDocument: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if got := keysOf(doc); !slices.Equal(got, []string{"@context", "assertionMethod", "id", "verificationMethod"}) {
		t.Errorf("DID document members = %v", got)
	}
	if want := []any{"https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"}; !reflect.DeepEqual(doc["@context"], want) {
		t.Errorf("@context = %v, want %v", doc["@context"], want)
	}
	if doc["id"] != exampleDID {
		t.Errorf("id = %v, want %s", doc["id"], exampleDID)
	}
	methods, _ := doc["verificationMethod"].([]any)
	if len(methods) != len(keys) {
		t.Fatalf("verificationMethod has %d entries, want %d", len(methods), len(keys))
	}
	var kids []any
	for i, want := range keys {
		kids = append(kids, want.KID)
		m, _ := methods[i].(map[string]any)
		if got := keysOf(m); !slices.Equal(got, []string{"controller", "id", "publicKeyJwk", "type"}) {
			t.Errorf("method %d members = %v", i, got)
		}
		if m["id"] != want.KID || m["type"] != "JsonWebKey2020" || m["controller"] != exampleDID {
			t.Errorf("method %d = id %v type %v controller %v", i, m["id"], m["type"], m["controller"])
		}
		jwkMap, _ := m["publicKeyJwk"].(map[string]any)
		checkPublicJWK(t, "verificationMethod "+want.KID, jwkMap, want)

		// The published key verifies what the kid signed.
		jwkJSON, err := json.Marshal(jwkMap)
		if err != nil {
			t.Fatal(err)
		}
		tok := sign(t, newSigner(t, want.Algorithm, 0, want.KID), []byte(`{"a":1}`))
		if _, err := signing.Verify([]byte(tok), jwkJSON, want.Algorithm); err != nil {
			t.Errorf("%s: publicKeyJwk does not verify: %v", want.KID, err)
		}
	}
	if !reflect.DeepEqual(doc["assertionMethod"], kids) {
		t.Errorf("assertionMethod = %v, want %v", doc["assertionMethod"], kids)
	}
	if bytes.Contains(raw, []byte(`"d"`)) {
		t.Errorf("DID document contains a d member: %s", raw)
	}

	empty, err := signing.DIDDocument(exampleDID, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := jsonObject(t, empty)
	if !reflect.DeepEqual(e["verificationMethod"], []any{}) || !reflect.DeepEqual(e["assertionMethod"], []any{}) {
		t.Errorf("DIDDocument with no keys = %s, want empty arrays", empty)
	}
}

// The DID document of the example in credential-example.md, member by member.
func TestDIDDocumentMatchesExample(t *testing.T) {
	t.Parallel()
	pub := testKey(t, domain.AlgES256, 0).public
	raw, err := signing.DIDDocument(exampleDID, []signing.PublishedKey{{KID: exampleKID("key-1"), Algorithm: domain.AlgES256, Public: pub}})
	if err != nil {
		t.Fatal(err)
	}
	p := jsonObject(t, pub)
	want := map[string]any{
		"@context": []any{"https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"},
		"id":       exampleDID,
		"verificationMethod": []any{map[string]any{
			"id": exampleKID("key-1"), "type": "JsonWebKey2020",
			"controller": exampleDID,
			"publicKeyJwk": map[string]any{"kty": "EC", "crv": "P-256", "alg": "ES256",
				"kid": exampleKID("key-1"), "x": p["x"], "y": p["y"]},
		}},
		"assertionMethod": []any{exampleKID("key-1")},
	}
	if got := jsonObject(t, raw); !reflect.DeepEqual(got, want) {
		t.Errorf("DID document =\n%s\nwant the shape of credential-example.md", raw)
	}
}

func TestPublishRejectsBadKeys(t *testing.T) {
	t.Parallel()
	bad := []signing.PublishedKey{{KID: exampleKID("key-1"), Algorithm: domain.AlgES256, Public: []byte("not json")}}
	if _, err := signing.JWKS(bad); err == nil {
		t.Error("JWKS accepted an unparseable key")
	}
	if _, err := signing.DIDDocument(exampleDID, bad); err == nil {
		t.Error("DIDDocument accepted an unparseable key")
	}
}

// nonCanonical returns encodings of tok's segments that RFC 7515 does not
// allow (padding, the standard alphabet, non-zero unused trailing bits) but
// that decode to the same bytes.
func nonCanonical(t *testing.T, tok string) map[string]string {
	t.Helper()
	parts := strings.Split(tok, ".")
	join := func(h, p, s string) string { return h + "." + p + "." + s }
	out := map[string]string{}
	pad := func(seg string) string { return seg + strings.Repeat("=", (4-len(seg)%4)%4) }
	for i, name := range []string{"header", "payload", "signature"} {
		seg := parts[i]
		variants := map[string]string{}
		if len(seg)%4 != 0 {
			variants["padded"] = pad(seg)
		}
		if std := strings.NewReplacer("-", "+", "_", "/").Replace(seg); std != seg {
			variants["standard alphabet"] = std
		}
		// Set the unused low bits of the last character.
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		if unused := map[int]int{2: 4, 3: 2}[len(seg)%4]; unused > 0 {
			last := strings.IndexByte(alphabet, seg[len(seg)-1])
			variants["non-zero trailing bits"] = seg[:len(seg)-1] + string(alphabet[last|(1<<unused-1)])
		}
		for v, enc := range variants {
			p := slices.Clone(parts)
			p[i] = enc
			out[name+" "+v] = join(p[0], p[1], p[2])
		}
	}
	return out
}

// RFC 7515 signs the base64url text as received: a token re-encoded with
// padding, the standard alphabet or other trailing bits is another byte
// string and must not verify (npm jose rejects it). jwx decodes leniently
// and re-encodes the header and payload before checking the signature, so
// one signed credential has many accepted byte forms.
func TestVerifyRejectsNonCanonicalEncodings(t *testing.T) {
	t.Parallel()
	for _, alg := range allAlgs {
		tok := sign(t, newSigner(t, alg, 0, exampleKID("key-1")), []byte(`{"name":"Go Expert?"}`))
		pub := testKey(t, alg, 0).public
		for name, v := range nonCanonical(t, tok) {
			if v == tok {
				continue
			}
			if _, err := signing.Verify([]byte(v), pub, alg); err == nil {
				t.Errorf("%s, %s: a non-canonical encoding verifies: %s", alg, name, v)
			}
		}
	}
}

// Whatever the encoding leniency, a non-canonical form never yields a
// payload or header other than the genuine one.
func TestVerifyNonCanonicalNeverForges(t *testing.T) {
	t.Parallel()
	payload := []byte(`{"name":"Go Expert?"}`)
	for _, alg := range allAlgs {
		kid := exampleKID("key-1")
		tok := sign(t, newSigner(t, alg, 0, kid), payload)
		pub := testKey(t, alg, 0).public
		for name, v := range nonCanonical(t, tok) {
			got, err := signing.Verify([]byte(v), pub, alg)
			if err != nil {
				continue
			}
			if !bytes.Equal(got, payload) {
				t.Errorf("%s, %s: payload %q, want %q", alg, name, got, payload)
			}
			if h, _, err := signing.Parse([]byte(v)); err != nil || h.KID != kid || h.Algorithm != alg {
				t.Errorf("%s, %s: header %+v, %v", alg, name, h, err)
			}
		}
	}
}

// A colon inside a base path segment must be percent-encoded: did:web
// turns every ':' back into '/', so https://example.com/a:b would otherwise
// name https://example.com/a/b/issuers/acme/did.json.
func TestIssuerDIDEncodesColonsInPathSegments(t *testing.T) {
	t.Parallel()
	a := signing.IssuerDID(mustURL(t, "https://example.com/a:b"), "acme")
	if want := "did:web:example.com:a%3Ab:issuers:acme"; a != want {
		t.Errorf("IssuerDID(https://example.com/a:b) = %q, want %q", a, want)
	}
	if b := signing.IssuerDID(mustURL(t, "https://example.com/a/b"), "acme"); a == b {
		t.Errorf("two bases give the same DID %q", a)
	}
}
