// Package dataintegrity secures JSON-LD documents with an embedded W3C
// Data Integrity proof of the eddsa-rdfc-2022 cryptosuite (Data
// Integrity EdDSA Cryptosuites v1.0): the document and the proof's
// options are each canonicalized (RDFC-1.0, by a ports.Canonicalizer),
// hashed with SHA-256, and the two hashes, options first, signed with
// Ed25519. Keys are published as Multikey verification methods.
package dataintegrity

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/credence-dev/credence/core/signing"
	"github.com/credence-dev/credence/ports"
)

// The proof's fixed members.
const (
	ProofType   = "DataIntegrityProof"
	Cryptosuite = "eddsa-rdfc-2022"
	// Purpose is the proof purpose of a credential's issuer: the key must
	// be one of its DID document's assertionMethod.
	Purpose = "assertionMethod"
)

// Proof is an embedded proof.
type Proof struct {
	Type               string `json:"type"`
	Cryptosuite        string `json:"cryptosuite"`
	Created            string `json:"created"`
	VerificationMethod string `json:"verificationMethod"`
	ProofPurpose       string `json:"proofPurpose"`
	ProofValue         string `json:"proofValue,omitempty"`
}

// Sign returns the proof of doc (a JSON-LD object without a proof) made
// at created with key, published as verificationMethod.
func Sign(canon ports.Canonicalizer, doc []byte, key ed25519.PrivateKey, verificationMethod string, created time.Time) (Proof, error) {
	p := Proof{Type: ProofType, Cryptosuite: Cryptosuite, Created: created.UTC().Truncate(time.Second).Format(time.RFC3339),
		VerificationMethod: verificationMethod, ProofPurpose: Purpose}
	data, err := hashData(canon, doc, p)
	if err != nil {
		return Proof{}, err
	}
	p.ProofValue = "z" + signing.EncodeBase58(ed25519.Sign(key, data))
	return p, nil
}

// hashData is SHA-256 of the canonical proof options (the proof without
// its value, in the document's @context), then SHA-256 of the canonical
// document.
func hashData(canon ports.Canonicalizer, doc []byte, p Proof) ([]byte, error) {
	var head struct {
		Context json.RawMessage `json:"@context"`
	}
	if err := json.Unmarshal(doc, &head); err != nil || len(head.Context) == 0 {
		return nil, errors.New("the document is not a JSON-LD object with an @context")
	}
	options, err := json.Marshal(struct {
		Context json.RawMessage `json:"@context"`
		Proof
	}{head.Context, Proof{Type: p.Type, Cryptosuite: p.Cryptosuite, Created: p.Created,
		VerificationMethod: p.VerificationMethod, ProofPurpose: p.ProofPurpose}})
	if err != nil {
		return nil, err
	}
	canonOptions, err := canon.Canonicalize(options)
	if err != nil {
		return nil, fmt.Errorf("the proof options: %w", err)
	}
	canonDoc, err := canon.Canonicalize(doc)
	if err != nil {
		return nil, fmt.Errorf("the document: %w", err)
	}
	optionsHash, docHash := sha256.Sum256(canonOptions), sha256.Sum256(canonDoc)
	return append(optionsHash[:], docHash[:]...), nil
}

// Embed returns doc (a JSON object without a proof) with a proof member
// holding p, its other members byte for byte as they were. The proof is
// written as a set of one (an array), as VCDM 2.0 allows and the Open
// Badges 3.0 JSON Schema requires.
func Embed(doc []byte, p Proof) ([]byte, error) {
	doc = bytes.TrimSpace(doc)
	if len(doc) < 2 || doc[0] != '{' || doc[len(doc)-1] != '}' {
		return nil, errors.New("the document is not a JSON object")
	}
	proof, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(doc)+len(proof)+10)
	out = append(out, doc[:len(doc)-1]...)
	if len(bytes.TrimSpace(doc[1:len(doc)-1])) > 0 {
		out = append(out, ',')
	}
	out = append(out, `"proof":[`...)
	out = append(out, proof...)
	return append(out, ']', '}'), nil
}

// Secured is a document with its embedded proof taken apart.
type Secured struct {
	Document []byte // the document without its proof
	Proof    Proof
}

// Split takes the one eddsa-rdfc-2022 proof out of a secured document: a
// proof object, or a set (array) of one.
func Split(secured []byte) (Secured, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(secured, &members); err != nil {
		return Secured{}, errors.New("the credential is not a JSON object")
	}
	raw, ok := members["proof"]
	if !ok {
		return Secured{}, errors.New("the credential has no embedded proof")
	}
	var p Proof
	var set []json.RawMessage
	if json.Unmarshal(raw, &set) == nil {
		if len(set) != 1 {
			return Secured{}, fmt.Errorf("the proof is a set of %d proofs: one is verified here", len(set))
		}
		raw = set[0]
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return Secured{}, errors.New("the proof is not one Data Integrity proof object")
	}
	if p.Type != ProofType || p.Cryptosuite != Cryptosuite {
		return Secured{}, fmt.Errorf("the proof is %s/%s, not %s/%s", p.Type, p.Cryptosuite, ProofType, Cryptosuite)
	}
	delete(members, "proof")
	doc, err := json.Marshal(members)
	if err != nil {
		return Secured{}, err
	}
	return Secured{Document: doc, Proof: p}, nil
}

// Verify checks the proof of a secured document with the key its
// verification method names (key returns it, or an error when the
// method is not the issuer's), for purpose.
func Verify(canon ports.Canonicalizer, s Secured, purpose string, key func(verificationMethod string) (ed25519.PublicKey, error)) error {
	p := s.Proof
	if p.ProofPurpose != purpose {
		return fmt.Errorf("the proof's purpose is %q, not %q", p.ProofPurpose, purpose)
	}
	if _, err := time.Parse(time.RFC3339, p.Created); err != nil {
		return errors.New("the proof's created is not a date-time")
	}
	if len(p.ProofValue) < 2 || p.ProofValue[0] != 'z' {
		return errors.New("the proofValue is not multibase base58btc")
	}
	sig, err := signing.DecodeBase58(p.ProofValue[1:])
	if err != nil || len(sig) != ed25519.SignatureSize {
		return errors.New("the proofValue is not an Ed25519 signature")
	}
	pub, err := key(p.VerificationMethod)
	if err != nil {
		return err
	}
	data, err := hashData(canon, s.Document, p)
	if err != nil {
		return err
	}
	if !ed25519.Verify(pub, data, sig) {
		return errors.New("the proof does not verify: the document or the proof was changed, or another key signed it")
	}
	return nil
}

// multikeyEd25519 is the multicodec prefix of an Ed25519 public key.
var multikeyEd25519 = []byte{0xed, 0x01}

// Multikey returns the publicKeyMultibase of an Ed25519 public key.
func Multikey(pub ed25519.PublicKey) string {
	return "z" + signing.EncodeBase58(append(append([]byte{}, multikeyEd25519...), pub...))
}

// ParseMultikey reads an Ed25519 publicKeyMultibase.
func ParseMultikey(s string) (ed25519.PublicKey, error) {
	if len(s) < 2 || s[0] != 'z' {
		return nil, errors.New("publicKeyMultibase is not base58btc")
	}
	b, err := signing.DecodeBase58(s[1:])
	if err != nil || len(b) != 2+ed25519.PublicKeySize || !bytes.HasPrefix(b, multikeyEd25519) {
		return nil, errors.New("publicKeyMultibase is not an Ed25519 Multikey")
	}
	return ed25519.PublicKey(b[2:]), nil
}
