package credentials

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/credence-dev/credence/core/dataintegrity"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
	"github.com/credence-dev/credence/ports"
)

// Data Integrity proofs. An organization that switches them on
// (Organization.DataIntegrity) secures each credential issued from then on
// with an embedded eddsa-rdfc-2022 proof too, made when it is issued over
// the very document the JWS signs, and kept with it: the credential's
// JSON view (GET /credentials/{id}) carries it, for verifiers and wallets
// built on Data Integrity rather than JOSE. The JWS stays the record of
// what was signed. Its status lists' JSON views carry one too.

// UseCanonicalizer sets the JSON-LD canonicalizer Data Integrity proofs
// are made with; without one, an organization with proofs on cannot issue.
func (s *Service) UseCanonicalizer(c ports.Canonicalizer) { s.canon = c }

// ErrNoCanonicalizer is returned when proofs are on but this process has
// no canonicalizer.
var ErrNoCanonicalizer = errors.New("Data Integrity proofs are on, but this server was started without a JSON-LD canonicalizer")

// prover signs Data Integrity proofs with an organization's active proof
// key.
type prover struct {
	key ed25519.PrivateKey
	vm  string // the key's verification method: the issuer's DID and fragment
}

// prover returns org's prover when it has proofs on, nil otherwise. The
// private key is decrypted once per process.
func (s *Service) prover(ctx context.Context, org domain.Organization) (*prover, error) {
	if !org.DataIntegrity {
		return nil, nil
	}
	if s.canon == nil {
		return nil, ErrNoCanonicalizer
	}
	k, err := s.store.ProofKeys().Active(ctx, org.ID)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, fmt.Errorf("organization %s has Data Integrity proofs on but no proof key: %w", org.ID, domain.ErrSigningKeysMissing)
	}
	if err != nil {
		return nil, err
	}
	vm := signing.KeyID(s.urls.DID(org.Slug), k.Fragment)
	if v, ok := s.provers.Load(k.ID); ok && v.(*prover).vm == vm {
		return v.(*prover), nil
	}
	seed, err := s.cipher.Decrypt(k.PrivateEnc)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("decrypt proof key %s: %v", k.ID, err)
	}
	p := &prover{key: ed25519.NewKeyFromSeed(seed), vm: vm}
	s.provers.Store(k.ID, p)
	return p, nil
}

// prove returns the proof (JSON) of doc made at now, or "" without a
// prover.
func (s *Service) prove(p *prover, doc []byte, now time.Time) (string, error) {
	if p == nil {
		return "", nil
	}
	proof, err := dataintegrity.Sign(s.canon, doc, p.key, p.vm, now)
	if err != nil {
		return "", fmt.Errorf("Data Integrity proof: %w", err)
	}
	js, err := json.Marshal(proof)
	return string(js), err
}

// embedProof returns doc with the stored proof (JSON) embedded, or doc
// unchanged when proof is "".
func embedProof(doc []byte, proof string) ([]byte, error) {
	if proof == "" {
		return doc, nil
	}
	var p dataintegrity.Proof
	if err := json.Unmarshal([]byte(proof), &p); err != nil {
		return nil, fmt.Errorf("stored proof: %w", err)
	}
	return dataintegrity.Embed(doc, p)
}

// JSONView returns the credential as JSON: the signed payload, with its
// Data Integrity proof embedded when it was issued with one.
func JSONView(c domain.Credential) ([]byte, error) {
	_, payload, err := signing.Parse([]byte(c.JWS))
	if err != nil {
		return nil, err
	}
	return embedProof(payload, c.Proof)
}
