package signing_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/url"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
)

// The JWS benchmarks run beside a raw crypto/ecdsa loop over the very
// bytes the JWS signs (base64url(header).base64url(payload), SHA-256,
// P-256), so that their ratio is what the JWS layer costs:
//
//	go test -run '^$' -bench 'Sign|Verify' -benchmem -count 3 ./core/signing/
//
// The raw loops get their signing input ready-made; the JWS loops encode
// and parse it themselves.

// benchFixture is an ES256 key and a credential document signed as the
// credential service signs one.
type benchFixture struct {
	signer  *signing.Signer
	public  []byte // public JWK, as stored
	priv    *ecdsa.PrivateKey
	payload []byte
	token   []byte
	input   []byte // the JWS signing input of token
	r, s    *big.Int
}

func newBenchFixture(b *testing.B) benchFixture {
	b.Helper()
	pub, priv, err := signing.Generate(domain.AlgES256)
	if err != nil {
		b.Fatal(err)
	}
	base, _ := url.Parse("https://credentials.example.com")
	urls := credentials.URLs{Base: base}
	org := domain.Organization{ID: domain.NewID(), Name: "Acme Academy", Slug: "acme", WebsiteURL: "https://acme.example"}
	badge := domain.Badge{ID: domain.NewID(), OrgID: org.ID, Name: "Go Expert", Slug: "go-expert",
		Description: "Knows Go: concurrency, the standard library, testing and profiling", Criteria: "Passed the two-hour practical exam",
		ImageURL: "https://acme.example/badges/go-expert.png", Tags: []string{"go", "backend"}}
	issued := time.Date(2026, 11, 22, 3, 23, 15, 0, time.UTC)
	expires := issued.AddDate(2, 0, 0)
	c := domain.Credential{ID: "CRD-ZBUYQMTA", OrgID: org.ID, BadgeID: badge.ID, RecipientName: "Rae Recipient",
		RecipientEmail: "rae@example.com", IssuedAt: issued, ExpiresAt: &expires}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(urls.BuildDocument(c, org, badge)); err != nil {
		b.Fatal(err)
	}
	payload := bytes.TrimRight(buf.Bytes(), "\n")

	kid := signing.KeyID(urls.DID(org.Slug), "key-1")
	signer, err := signing.NewSigner(priv, domain.AlgES256, kid)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := signer.Sign(payload)
	if err != nil {
		b.Fatal(err)
	}
	key, err := jwk.ParseKey(priv)
	if err != nil {
		b.Fatal(err)
	}
	var raw ecdsa.PrivateKey
	if err := key.Raw(&raw); err != nil {
		b.Fatal(err)
	}
	input := []byte(tok[:bytes.LastIndexByte([]byte(tok), '.')])
	sig, err := base64.RawURLEncoding.DecodeString(tok[len(input)+1:])
	if err != nil || len(sig) != 64 {
		b.Fatalf("signature of %d bytes: %v", len(sig), err)
	}
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	digest := sha256.Sum256(input)
	if !ecdsa.Verify(&raw.PublicKey, digest[:], r, s) {
		b.Fatal("the raw loop does not verify the JWS signature: not the same bytes")
	}
	return benchFixture{signer: signer, public: pub, priv: &raw, payload: payload, token: []byte(tok), input: input, r: r, s: s}
}

func BenchmarkSignRaw(b *testing.B) {
	f := newBenchFixture(b)
	b.ReportAllocs()
	for b.Loop() {
		digest := sha256.Sum256(f.input)
		if _, _, err := ecdsa.Sign(rand.Reader, f.priv, digest[:]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignJWS(b *testing.B) {
	f := newBenchFixture(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.signer.Sign(f.payload); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyRaw(b *testing.B) {
	f := newBenchFixture(b)
	b.ReportAllocs()
	for b.Loop() {
		digest := sha256.Sum256(f.input)
		if !ecdsa.Verify(&f.priv.PublicKey, digest[:], f.r, f.s) {
			b.Fatal("does not verify")
		}
	}
}

// BenchmarkVerifyJWS is what the credential service does per verification:
// one call with the token and the stored public JWK of the kid.
func BenchmarkVerifyJWS(b *testing.B) {
	f := newBenchFixture(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := signing.Verify(f.token, f.public, domain.AlgES256); err != nil {
			b.Fatal(err)
		}
	}
}
