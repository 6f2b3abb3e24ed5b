package signing

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/credence-dev/credence/core/domain"
)

// Generate creates a key pair for alg and returns the public and the
// private key as JWK JSON (no kid: the kid is derived at use).
func Generate(alg domain.Algorithm) (public, private []byte, err error) {
	var raw any
	switch alg {
	case domain.AlgES256:
		raw, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case domain.AlgEdDSA:
		_, raw, err = ed25519.GenerateKey(rand.Reader)
	case domain.AlgRS256:
		raw, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		return nil, nil, fmt.Errorf("unsupported algorithm %q", alg)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("generate %s key: %w", alg, err)
	}
	priv, err := jwk.FromRaw(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("generate %s key: %w", alg, err)
	}
	if err := priv.Set(jwk.AlgorithmKey, jwa.SignatureAlgorithm(alg)); err != nil {
		return nil, nil, err
	}
	pub, err := jwk.PublicKeyOf(priv)
	if err != nil {
		return nil, nil, fmt.Errorf("public key: %w", err)
	}
	if public, err = json.Marshal(pub); err != nil {
		return nil, nil, err
	}
	if private, err = json.Marshal(priv); err != nil {
		return nil, nil, err
	}
	return public, private, nil
}

// IssuerDID returns the did:web identifier of an issuer published under
// publicURL: https://example.com/base + slug acme gives
// did:web:example.com:base:issuers:acme (a port is percent-encoded).
func IssuerDID(publicURL *url.URL, slug string) string {
	parts := []string{"did:web", strings.ReplaceAll(publicURL.Host, ":", "%3A")}
	for _, seg := range strings.Split(strings.Trim(publicURL.Path, "/"), "/") {
		if seg != "" {
			parts = append(parts, strings.ReplaceAll(url.PathEscape(seg), ":", "%3A"))
		}
	}
	parts = append(parts, "issuers", slug)
	return strings.Join(parts, ":")
}

// KeyID returns the DID URL naming a key: <did>#<fragment>.
func KeyID(did, fragment string) string { return did + "#" + fragment }

// SplitKeyID splits a DID URL into the DID and the fragment.
func SplitKeyID(kid string) (did, fragment string, ok bool) {
	did, fragment, ok = strings.Cut(kid, "#")
	return did, fragment, ok && did != "" && fragment != ""
}

// PublicJWK returns the public key as a JWK with kid and alg set.
func PublicJWK(public []byte, kid string, alg domain.Algorithm) (jwk.Key, error) {
	parsed, err := jwk.ParseKey(public)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	// Whatever was passed, only public material is ever published.
	key, err := jwk.PublicKeyOf(parsed)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	if err := key.Set(jwk.KeyIDKey, kid); err != nil {
		return nil, err
	}
	if err := key.Set(jwk.AlgorithmKey, jwa.SignatureAlgorithm(alg)); err != nil {
		return nil, err
	}
	return key, nil
}

// PublishedKey is a public key as it is published.
type PublishedKey struct {
	KID       string
	Algorithm domain.Algorithm
	Public    []byte // JWK JSON without kid
}

// JWKS renders {"keys":[…]} with each kid byte-identical to the JWS header kids.
func JWKS(keys []PublishedKey) ([]byte, error) {
	set := jwk.NewSet()
	for _, k := range keys {
		key, err := PublicJWK(k.Public, k.KID, k.Algorithm)
		if err != nil {
			return nil, err
		}
		if err := set.AddKey(key); err != nil {
			return nil, err
		}
	}
	return json.Marshal(set)
}

// DIDDocument renders the did:web document of an issuer: every JWS key,
// active and retired, as a JsonWebKey2020 verification method (the type JWT
// verifiers such as did-jwt and trustbloc vc-go look for; the W3C
// Controlled Identifiers name JsonWebKey is newer but less read), and
// every Data Integrity key as a Multikey, all listed in assertionMethod.
func DIDDocument(did string, keys []PublishedKey, multikeys ...Multikey) ([]byte, error) {
	type method struct {
		ID                 string  `json:"id"`
		Type               string  `json:"type"`
		Controller         string  `json:"controller"`
		PublicKeyJwk       jwk.Key `json:"publicKeyJwk,omitempty"`
		PublicKeyMultibase string  `json:"publicKeyMultibase,omitempty"`
	}
	doc := struct {
		Context            []string `json:"@context"`
		ID                 string   `json:"id"`
		VerificationMethod []method `json:"verificationMethod"`
		AssertionMethod    []string `json:"assertionMethod"`
	}{
		Context:            []string{"https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"},
		ID:                 did,
		VerificationMethod: []method{},
		AssertionMethod:    []string{},
	}
	for _, k := range keys {
		key, err := PublicJWK(k.Public, k.KID, k.Algorithm)
		if err != nil {
			return nil, err
		}
		doc.VerificationMethod = append(doc.VerificationMethod, method{ID: k.KID, Type: "JsonWebKey2020", Controller: did, PublicKeyJwk: key})
		doc.AssertionMethod = append(doc.AssertionMethod, k.KID)
	}
	if len(multikeys) > 0 {
		doc.Context = append(doc.Context, "https://w3id.org/security/multikey/v1")
	}
	for _, k := range multikeys {
		doc.VerificationMethod = append(doc.VerificationMethod, method{ID: k.ID, Type: "Multikey", Controller: did, PublicKeyMultibase: k.PublicKeyMultibase})
		doc.AssertionMethod = append(doc.AssertionMethod, k.ID)
	}
	return json.Marshal(doc)
}

// Multikey is a Data Integrity key as a DID document publishes it.
type Multikey struct {
	ID                 string // DID#fragment
	PublicKeyMultibase string
}

// GenerateEd25519 returns a new Ed25519 key pair for Data Integrity
// proofs: the raw public key and the 32-byte seed.
func GenerateEd25519() (public, seed []byte, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate Ed25519 key: %w", err)
	}
	return pub, priv.Seed(), nil
}
