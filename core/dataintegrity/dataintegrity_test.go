package dataintegrity_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/dataintegrity"
	"github.com/credence-dev/credence/core/signing"
)

// vectorCanon answers with the specification's canonical forms: the one
// of the proof options for a document carrying proofPurpose, the
// credential's otherwise. It stands in for RDF canonicalization, which
// adapters/jsonld checks against the same vectors.
type vectorCanon struct{ doc, options []byte }

func (c vectorCanon) Canonicalize(doc []byte) ([]byte, error) {
	if bytes.Contains(doc, []byte(`"proofPurpose"`)) {
		return c.options, nil
	}
	return c.doc, nil
}

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func vectorKey(t *testing.T) (ed25519.PrivateKey, ed25519.PublicKey) {
	t.Helper()
	var pair struct{ PublicKeyMultibase, PrivateKeyMultibase string }
	if err := json.Unmarshal(read(t, "keyPair.json"), &pair); err != nil {
		t.Fatal(err)
	}
	pub, err := dataintegrity.ParseMultikey(pair.PublicKeyMultibase)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := signing.DecodeBase58(pair.PrivateKeyMultibase[1:])
	if err != nil || len(raw) != 34 || raw[0] != 0x80 || raw[1] != 0x26 { // ed25519-priv multicodec
		t.Fatalf("private key multibase: %x %v", raw, err)
	}
	priv := ed25519.NewKeyFromSeed(raw[2:])
	if !priv.Public().(ed25519.PublicKey).Equal(pub) {
		t.Fatal("the vector's key pair does not match")
	}
	if dataintegrity.Multikey(pub) != pair.PublicKeyMultibase {
		t.Errorf("Multikey = %s, want %s", dataintegrity.Multikey(pub), pair.PublicKeyMultibase)
	}
	return priv, pub
}

// The specification's eddsa-rdfc-2022 vector: the same key, document and
// options give its proofValue byte for byte, and it verifies.
func TestSpecificationVector(t *testing.T) {
	priv, pub := vectorKey(t)
	canon := vectorCanon{doc: read(t, "canonDocDataInt.txt"), options: read(t, "proofCanonDataInt.txt")}
	secured, err := dataintegrity.Split(read(t, "signedDataInt.json"))
	if err != nil {
		t.Fatal(err)
	}
	created, _ := time.Parse(time.RFC3339, secured.Proof.Created)
	p, err := dataintegrity.Sign(canon, secured.Document, priv, secured.Proof.VerificationMethod, created)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSpace(string(read(t, "sigBTC58DataInt.txt"))); p.ProofValue != want || p != secured.Proof {
		t.Fatalf("proof %+v, want %+v (value %s)", p, secured.Proof, want)
	}
	key := func(vm string) (ed25519.PublicKey, error) {
		if vm != secured.Proof.VerificationMethod {
			return nil, errors.New("unknown method")
		}
		return pub, nil
	}
	if err := dataintegrity.Verify(canon, secured, dataintegrity.Purpose, key); err != nil {
		t.Fatal(err)
	}

	// Changed proofs fail: another value, purpose, key, or creation time
	// (the options are signed too: the canonical options name it).
	for name, edit := range map[string]func(s *dataintegrity.Secured){
		"a flipped signature": func(s *dataintegrity.Secured) {
			sig, _ := signing.DecodeBase58(s.Proof.ProofValue[1:])
			sig[10] ^= 1
			s.Proof.ProofValue = "z" + signing.EncodeBase58(sig)
		},
		"another purpose":    func(s *dataintegrity.Secured) { s.Proof.ProofPurpose = "authentication" },
		"not base58btc":      func(s *dataintegrity.Secured) { s.Proof.ProofValue = "u" + s.Proof.ProofValue[1:] },
		"a short signature":  func(s *dataintegrity.Secured) { s.Proof.ProofValue = s.Proof.ProofValue[:40] },
		"another key's name": func(s *dataintegrity.Secured) { s.Proof.VerificationMethod = "did:key:z6Mkother#z6Mkother" },
		"no date":            func(s *dataintegrity.Secured) { s.Proof.Created = "yesterday" },
	} {
		s := secured
		edit(&s)
		if err := dataintegrity.Verify(canon, s, dataintegrity.Purpose, key); err == nil {
			t.Errorf("%s: verifies", name)
		}
	}
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32)).Public().(ed25519.PublicKey)
	if err := dataintegrity.Verify(canon, secured, dataintegrity.Purpose, func(string) (ed25519.PublicKey, error) { return other, nil }); err == nil {
		t.Error("verifies with another key")
	}
	changed := vectorCanon{doc: bytes.Replace(canon.doc, []byte("Examples"), []byte("Exemples"), 1), options: canon.options}
	if err := dataintegrity.Verify(changed, secured, dataintegrity.Purpose, key); err == nil {
		t.Error("verifies a changed document")
	}
}

// Embed keeps the document's members byte for byte and adds the proof;
// Split takes it out again.
func TestEmbedAndSplit(t *testing.T) {
	p := dataintegrity.Proof{Type: dataintegrity.ProofType, Cryptosuite: dataintegrity.Cryptosuite, Created: "2026-12-02T10:00:00Z",
		VerificationMethod: "did:web:x#proof-1", ProofPurpose: dataintegrity.Purpose, ProofValue: "zabc"}
	doc := []byte(`{"@context":["https://www.w3.org/ns/credentials/v2"],"b":1,"a":"é"}`)
	out, err := dataintegrity.Embed(doc, p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out, doc[:len(doc)-1]) || !bytes.HasSuffix(out, []byte(`"proofValue":"zabc"}]}`)) || !json.Valid(out) {
		t.Fatalf("embedded: %s", out)
	}
	s, err := dataintegrity.Split(out)
	if err != nil || s.Proof != p {
		t.Fatalf("split: %+v %v", s.Proof, err)
	}
	var back, orig map[string]any
	_ = json.Unmarshal(s.Document, &back)
	_ = json.Unmarshal(doc, &orig)
	if len(back) != len(orig) || back["a"] != "é" {
		t.Errorf("document after split: %s", s.Document)
	}
	for _, bad := range []string{`[]`, `{"a":1}`, `{"proof":[1]}`, `{"proof":{"type":"Ed25519Signature2020"}}`, `{"proof":[]}`,
		`{"proof":[` + string(mustJSON(p)) + `,` + string(mustJSON(p)) + `]}`} {
		if _, err := dataintegrity.Split([]byte(bad)); err == nil {
			t.Errorf("Split(%s) succeeded", bad)
		}
	}
	if _, err := dataintegrity.Embed([]byte(`[1]`), p); err == nil {
		t.Error("embedded into an array")
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
