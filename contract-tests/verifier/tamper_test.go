package verifier_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
)

// The tamper corpus: every way of passing off what the issuer did not
// sign is refused, 100%, by the offline verifier (with the issuer's
// published keys) and by Credence's own verification of a presented file:
// no algorithm, an HMAC keyed with the public key, unknown and foreign
// kids, a key embedded in the header (jwk) or pointed at (jku), every
// single character changed in each part, and the payload re-encoded.
func TestTamperCorpusIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acme := e.issuer(t, "Acme Academy", "acme", nil)
	globex := e.issuer(t, "Globex Institute", "globex", nil)
	c := e.issue(t, acme, "rae@example.com")
	g := e.issue(t, globex, "rae@example.com")
	jwks, _ := e.published(t, acme)
	v := newVerifier(t, jwks)
	parts := strings.Split(c.JWS, ".")
	b64 := base64.RawURLEncoding.EncodeToString
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	header := func(h map[string]any) string {
		raw, err := json.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		return b64(raw)
	}

	// An attacker's own key, for the headers that carry or point at one.
	attacker, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	es256 := func(h map[string]any, body string) string {
		input := header(h) + "." + body
		sum := sha256.Sum256([]byte(input))
		r, s, err := ecdsa.Sign(rand.Reader, attacker, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return input + "." + b64(sig)
	}
	attackerJWK, err := json.Marshal(jose.JSONWebKey{Key: attacker.Public(), KeyID: c.KeyID, Algorithm: "ES256", Use: "sig"})
	if err != nil {
		t.Fatal(err)
	}
	var jwk map[string]any
	_ = json.Unmarshal(attackerJWK, &jwk)

	// HS256 keyed with each form a verifier might hold the public key in.
	var set struct{ Keys []json.RawMessage }
	_ = json.Unmarshal(jwks, &set)
	hs256 := func(key []byte) string {
		input := header(map[string]any{"alg": "HS256", "typ": "vc+jwt", "kid": c.KeyID}) + "." + parts[1]
		m := hmac.New(sha256.New, key)
		m.Write([]byte(input))
		return input + "." + b64(m.Sum(nil))
	}

	corpus := map[string]string{
		"alg none":                              header(map[string]any{"alg": "none", "typ": "vc+jwt", "kid": c.KeyID}) + "." + parts[1] + ".",
		"alg none, signature kept":              header(map[string]any{"alg": "none", "typ": "vc+jwt", "kid": c.KeyID}) + "." + parts[1] + "." + parts[2],
		"HS256 keyed with the JWK":              hs256(set.Keys[0]),
		"HS256 keyed with the JWKS":             hs256(jwks),
		"unknown kid":                           es256(map[string]any{"alg": "ES256", "typ": "vc+jwt", "kid": c.KeyID + "x"}, parts[1]),
		"acme's kid, attacker's key":            es256(map[string]any{"alg": "ES256", "typ": "vc+jwt", "kid": c.KeyID}, parts[1]),
		"jwk header":                            es256(map[string]any{"alg": "ES256", "typ": "vc+jwt", "kid": c.KeyID, "jwk": jwk}, parts[1]),
		"jku header":                            es256(map[string]any{"alg": "ES256", "typ": "vc+jwt", "kid": c.KeyID, "jku": "https://evil.example/jwks.json"}, parts[1]),
		"globex's kid on acme's":                strings.Split(g.JWS, ".")[0] + "." + parts[1] + "." + parts[2],
		"globex's signature on acme's document": strings.Split(g.JWS, ".")[0] + "." + parts[1] + "." + strings.Split(g.JWS, ".")[2],
		"payload with white space":              parts[0] + "." + b64([]byte(" "+string(payload))) + "." + parts[2],
		"payload with padding":                  parts[0] + "." + base64.URLEncoding.EncodeToString(payload) + "." + parts[2],
		"payload in standard base64":            parts[0] + "." + base64.RawStdEncoding.EncodeToString(payload) + "." + parts[2],
	}
	var reordered map[string]any
	_ = json.Unmarshal(payload, &reordered)
	if raw, err := json.Marshal(reordered); err == nil { // keys sorted: the same JSON, other bytes
		corpus["payload re-encoded"] = parts[0] + "." + b64(raw) + "." + parts[2]
	}
	// Every character of each part, replaced by another base64url one.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for p := range parts {
		for i := range parts[p] {
			flipped := []byte(parts[p])
			flipped[i] = alphabet[(strings.IndexByte(alphabet, flipped[i])+1+i%63)%64]
			tok := make([]string, 3)
			copy(tok, parts)
			tok[p] = string(flipped)
			corpus["part "+string(rune('0'+p))+" char "+itoa(i)] = strings.Join(tok, ".")
		}
	}

	refused, tried := 0, 0
	for name, tok := range corpus {
		if tok == c.JWS {
			continue // an encoding that happens to write the same bytes
		}
		tried++
		off, err := v.VerifyAt([]byte(tok), e.clock.Now())
		offOK := err == nil && off.Result != domain.ResultInvalid
		on, err := e.creds.VerifyPresented(t.Context(), []byte(tok))
		var invalid *domain.ValidationError
		if err != nil && !errors.As(err, &invalid) {
			t.Fatalf("%s: online verification failed: %v", name, err) // no verdict is not a refusal
		}
		onOK := err == nil && on.Result != domain.ResultInvalid
		if offOK || onOK {
			t.Errorf("%s: accepted (offline %s, online %s)", name, off.Result, on.Result)
			continue
		}
		refused++
	}
	if tried < 1000 {
		t.Errorf("only %d forgeries tried", tried)
	}
	t.Logf("tamper corpus: %d of %d forgeries refused offline and online", refused, tried)
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// A document the issuer's own key signed whose JWT claims contradict its
// members (a generic JWT verifier would read another expiry, issuer or
// start than Credence) is refused by both verifications, and said to
// contradict itself: the issuer's record is not what differs.
func TestSelfContradictingClaimsAreRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	days := 30
	acme := e.issuer(t, "Acme Academy", "acme", &days)
	c := e.issue(t, acme, "rae@example.com")
	jwks, _ := e.published(t, acme)
	v := newVerifier(t, jwks)
	signer := e.signer(t, acme)
	_, payload, err := signing.Parse([]byte(c.JWS))
	if err != nil {
		t.Fatal(err)
	}
	for claim, edit := range map[string]func(map[string]any){
		"exp": func(m map[string]any) { m["exp"] = m["exp"].(float64) + 365*24*3600 },
		"nbf": func(m map[string]any) { m["nbf"] = m["nbf"].(float64) - 3600 },
		"iss": func(m map[string]any) { m["iss"] = e.creds.URLs().DID("globex") },
	} {
		var m map[string]any
		if err := json.Unmarshal(payload, &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		raw, _ := json.Marshal(m)
		tok, err := signer.Sign(raw)
		if err != nil {
			t.Fatal(err)
		}
		off := verify(t, v, tok, e.clock.Now())
		if ic := check(t, off, domain.CheckIntegrity); off.Result != domain.ResultInvalid || ic.OK || !strings.HasSuffix(ic.Detail, ": "+claim) {
			t.Errorf("%s: offline %s, integrity %+v", claim, off.Result, ic)
		}
		on, err := e.creds.VerifyPresented(t.Context(), []byte(tok))
		if err != nil {
			t.Fatal(err)
		}
		if ic := on.Checks[1]; on.Result != domain.ResultInvalid || ic.OK || !strings.Contains(ic.Detail, "contradicts itself: its JWT claims "+claim+" ") {
			t.Errorf("%s: online %s, integrity %+v", claim, on.Result, ic)
		}
	}
}
