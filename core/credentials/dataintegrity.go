package credentials

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
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
var ErrNoCanonicalizer = errors.New("this server was started without a JSON-LD canonicalizer: it makes and checks no Data Integrity proofs")

// prover signs Data Integrity proofs with an organization's active proof
// key.
type prover struct {
	key ed25519.PrivateKey
	vm  string // the key's verification method: the issuer's DID and fragment
}

// prover returns the prover of org's credentials when it has proofs on,
// nil otherwise. The private key is decrypted once per process.
func (s *Service) prover(ctx context.Context, org domain.Organization) (*prover, error) {
	if !org.DataIntegrity {
		return nil, nil
	}
	p, err := s.listProver(ctx, org)
	if err == nil && p == nil {
		err = fmt.Errorf("organization %s has Data Integrity proofs on but no proof key: %w", org.ID, domain.ErrSigningKeysMissing)
	}
	return p, err
}

// listProver returns the prover of org's status lists: its active proof
// key's, whether or not its new credentials carry proofs (credentials
// issued with one name lists that should keep carrying one), nil when it
// has none.
func (s *Service) listProver(ctx context.Context, org domain.Organization) (*prover, error) {
	k, err := s.store.ProofKeys().Active(ctx, org.ID)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if s.canon == nil {
		return nil, ErrNoCanonicalizer
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
		return "", fmt.Errorf("make the Data Integrity proof: %w", err)
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

// VerifySecured checks a credential secured with an embedded Data
// Integrity proof (a JSON view as GET /credentials/{id} serves it): the
// record it names must be one of the issuer's, the document the one the
// issuer signed, and the proof must verify with the issuer's published
// proof key its verificationMethod names; then expiry, revocation,
// suspension and the issuer are checked as they are now. Only documents
// Credence wrote are canonicalized: a presented document is compared
// with the record first, so a hostile one (JSON-LD canonicalization can
// be made to take exponential time) costs a JSON comparison. A document
// that is not a JSON object with one eddsa-rdfc-2022 proof is a
// validation error.
func (s *Service) VerifySecured(ctx context.Context, doc []byte) (Verification, error) {
	secured, err := dataintegrity.Split(doc)
	if err != nil {
		return Verification{}, &domain.ValidationError{Fields: []domain.FieldError{{Location: "body.credential", Message: err.Error()}}}
	}
	if s.canon == nil {
		return Verification{}, ErrNoCanonicalizer
	}
	fail := func(detail string) Verification {
		checks := []domain.Check{{Name: domain.CheckSignature, Detail: detail}}
		return Verification{Result: domain.Verdict(checks, false), Checks: checks}
	}
	vm := secured.Proof.VerificationMethod
	did, fragment, ok := signing.SplitKeyID(vm)
	slug, found := strings.CutPrefix(did, s.urls.DID(""))
	if !ok || !found || !domain.ValidSlug(slug) {
		return fail(fmt.Sprintf("the proof's key %q is not an issuer key published here", vm)), nil
	}
	org, err := s.store.Orgs().GetBySlug(ctx, slug)
	if errors.Is(err, domain.ErrNotFound) {
		return fail(fmt.Sprintf("no issuer %q is published here", slug)), nil
	}
	if err != nil {
		return Verification{}, err
	}
	keys, err := s.store.ProofKeys().List(ctx, org.ID)
	if err != nil {
		return Verification{}, err
	}
	i := slices.IndexFunc(keys, func(k domain.ProofKey) bool { return k.Fragment == fragment })
	if i < 0 {
		return fail(fmt.Sprintf("the key %q is not published by %s", vm, org.Name)), nil
	}
	key := keys[i]

	// The record the document names, and what the issuer signed.
	var signed struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(secured.Document, &signed)
	idStr, _ := strings.CutPrefix(signed.ID, s.urls.Credential(""))
	id, err := domain.ParseCredentialID(idStr)
	if err != nil {
		return s.verifySecuredVC(ctx, org, key, secured, signed.ID, fail)
	}
	stored, err := s.store.Credentials().Verifiable(ctx, id)
	switch {
	case errors.Is(err, domain.ErrNotFound) || err == nil && stored.Credential.OrgID != org.ID:
		return fail("not checked: the issuer has no record of this credential"), nil
	case err != nil:
		return Verification{}, err
	}
	_, payload, err := signing.Parse([]byte(stored.Credential.JWS))
	if err != nil || !sameJSON(payload, secured.Document) {
		return fail("the secured document is not the one the issuer signed"), nil
	}
	err = dataintegrity.Verify(s.canon, dataintegrity.Secured{Document: payload, Proof: secured.Proof}, dataintegrity.Purpose,
		func(string) (ed25519.PublicKey, error) { return ed25519.PublicKey(key.Public), nil })
	if err != nil {
		return fail(err.Error()), nil
	}
	out, err := s.check(ctx, stored.Credential.JWS, nil, stored.Org, stored.Badge, &stored.Credential, &stored.ActiveKey, stored.StatusListVersion)
	if err != nil {
		return Verification{}, err
	}
	out.Checks[0] = domain.Check{Name: domain.CheckSignature, OK: true,
		Detail: fmt.Sprintf("Data Integrity proof by %s (eddsa-rdfc-2022, %s key published by the issuer)", vm, key.Status)}
	out.Result = domain.Verdict(out.Checks, stored.Credential.ClaimedAt != nil)
	return out, nil
}

// verifySecuredVC is VerifySecured of a document that names no badge
// credential: a VC-API credential of org with the id vcID, issued with
// its proof.
func (s *Service) verifySecuredVC(ctx context.Context, org domain.Organization, key domain.ProofKey, secured dataintegrity.Secured, vcID string,
	fail func(string) Verification) (Verification, error) {
	if vcID == "" {
		return fail("not checked: the issuer has no record of this credential"), nil
	}
	r, payload, ok, err := s.securedRecord(ctx, org, vcID, secured.Document)
	switch {
	case err != nil:
		return Verification{}, err
	case !ok:
		return fail("not checked: the secured document is not one the issuer recorded"), nil
	}
	err = dataintegrity.Verify(s.canon, dataintegrity.Secured{Document: payload, Proof: secured.Proof}, dataintegrity.Purpose,
		func(string) (ed25519.PublicKey, error) { return ed25519.PublicKey(key.Public), nil })
	if err != nil {
		return fail(err.Error()), nil
	}
	signature := domain.Check{Name: domain.CheckSignature, OK: true,
		Detail: fmt.Sprintf("Data Integrity proof by %s (eddsa-rdfc-2022, %s key published by the issuer)", secured.Proof.VerificationMethod, key.Status)}
	integrity := domain.Check{Name: domain.CheckIntegrity, OK: true, Detail: "the secured document is the one the issuer recorded"}
	return s.recordVerification(ctx, r, org, signature, integrity)
}

// sameJSON reports whether two JSON documents hold the same values.
func sameJSON(a, b []byte) bool {
	x, errA := decodeExact(a)
	y, errB := decodeExact(b)
	return errA == nil && errB == nil && reflect.DeepEqual(x, y)
}

// decodeExact reads a JSON document keeping each number as written:
// 9007199254740993 and 9007199254740992 differ, as do 1e3 and 1000.
func decodeExact(doc []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("more than one JSON value")
	}
	return v, nil
}
