package verifier

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
)

// MaxKeysSize caps the key document New reads.
const MaxKeysSize = 1 << 20

// New returns a verifier for the issuer whose keys published lists:
// the bytes of its JWKS (/issuers/{slug}/jwks.json) or of its did:web
// document (/issuers/{slug}/did.json), as Credence publishes them. Every
// key is named by a DID URL (kid) of one issuer DID; in a DID document,
// only keys listed in assertionMethod count. Keys are ES256 (P-256), EdDSA
// (Ed25519) or RS256; a key's alg, when given, must match its type.
func New(published []byte) (*Verifier, error) {
	if len(published) > MaxKeysSize {
		return nil, fmt.Errorf("key document of %d bytes, over %d", len(published), MaxKeysSize)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(published, &top); err != nil || top == nil {
		return nil, fmt.Errorf("key document is not a JSON object")
	}
	if _, ok := top["keys"]; ok {
		return fromJWKS(published)
	}
	if _, ok := top["verificationMethod"]; ok {
		return fromDIDDocument(published)
	}
	return nil, fmt.Errorf("key document is neither a JWKS (keys) nor a DID document (verificationMethod)")
}

// jwkHeader is what New reads of a JWK itself; the key material is read by
// signing.ParsePublicKey.
type jwkHeader struct {
	KID string `json:"kid"`
	Alg string `json:"alg"`
	Kty string `json:"kty"`
	Crv string `json:"crv"`
}

func fromJWKS(b []byte) (*Verifier, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("JWKS: %w", err)
	}
	v := &Verifier{keys: map[string]*signing.PublicKey{}}
	for i, raw := range set.Keys {
		var h jwkHeader
		if err := json.Unmarshal(raw, &h); err != nil {
			return nil, fmt.Errorf("JWKS key %d: %w", i, err)
		}
		did, _, ok := signing.SplitKeyID(h.KID)
		if !ok {
			return nil, fmt.Errorf("JWKS key %d: kid %q is not a DID URL (did:…#fragment)", i, h.KID)
		}
		if v.did == "" {
			v.did = did
		}
		if did != v.did {
			return nil, fmt.Errorf("JWKS key %d: kid %q is not of %s: the keys of more than one issuer", i, h.KID, v.did)
		}
		if err := v.add(h.KID, h, raw); err != nil {
			return nil, fmt.Errorf("JWKS key %d: %w", i, err)
		}
	}
	if len(v.keys) == 0 {
		return nil, fmt.Errorf("JWKS: %w", errNoKeys)
	}
	return v, nil
}

func fromDIDDocument(b []byte) (*Verifier, error) {
	var doc struct {
		ID                 string `json:"id"`
		VerificationMethod []struct {
			ID           string          `json:"id"`
			Type         string          `json:"type"`
			Controller   string          `json:"controller"`
			PublicKeyJwk json.RawMessage `json:"publicKeyJwk"`
		} `json:"verificationMethod"`
		// References (strings) or embedded methods (objects, not used).
		AssertionMethod []json.RawMessage `json:"assertionMethod"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("DID document: %w", err)
	}
	if !isDID(doc.ID) {
		return nil, fmt.Errorf("DID document: id %q is not a DID", doc.ID)
	}
	var asserts []string
	for _, ref := range doc.AssertionMethod {
		var s string
		if json.Unmarshal(ref, &s) == nil {
			asserts = append(asserts, s)
		}
	}
	v := &Verifier{did: doc.ID, keys: map[string]*signing.PublicKey{}}
	for i, m := range doc.VerificationMethod {
		if !slices.Contains(asserts, m.ID) {
			continue // not a key the issuer signs credentials with
		}
		did, _, ok := signing.SplitKeyID(m.ID)
		if !ok || did != doc.ID {
			return nil, fmt.Errorf("DID document method %d: id %q is not a key of %s", i, m.ID, doc.ID)
		}
		if m.Controller != "" && m.Controller != doc.ID {
			return nil, fmt.Errorf("DID document method %d: controller %q is not %s", i, m.Controller, doc.ID)
		}
		if m.Type != "JsonWebKey" && m.Type != "JsonWebKey2020" {
			return nil, fmt.Errorf("DID document method %d: type %q, want JsonWebKey", i, m.Type)
		}
		var h jwkHeader
		if err := json.Unmarshal(m.PublicKeyJwk, &h); err != nil {
			return nil, fmt.Errorf("DID document method %d: publicKeyJwk: %w", i, err)
		}
		if h.KID != "" && h.KID != m.ID {
			return nil, fmt.Errorf("DID document method %d: publicKeyJwk kid %q is not the method's id %q", i, h.KID, m.ID)
		}
		if err := v.add(m.ID, h, m.PublicKeyJwk); err != nil {
			return nil, fmt.Errorf("DID document method %d: %w", i, err)
		}
	}
	if len(v.keys) == 0 {
		return nil, fmt.Errorf("DID document: %w in assertionMethod", errNoKeys)
	}
	return v, nil
}

// add parses one published key under kid.
func (v *Verifier) add(kid string, h jwkHeader, raw json.RawMessage) error {
	if _, dup := v.keys[kid]; dup {
		return fmt.Errorf("kid %q published twice", kid)
	}
	if !domain.ControlFree(kid, false) {
		return fmt.Errorf("kid %q holds control characters", kid)
	}
	alg := domain.Algorithm(h.Alg)
	if alg == "" {
		alg = algOf(h)
	}
	if !domain.ValidAlgorithm(alg) {
		return fmt.Errorf("kid %q: unsupported algorithm %q", kid, h.Alg)
	}
	key, err := signing.ParsePublicKey(bytes.TrimSpace(raw), alg)
	if err != nil {
		return fmt.Errorf("kid %q: %w", kid, err)
	}
	v.keys[kid] = key
	v.kids = append(v.kids, kid)
	return nil
}

// algOf names the algorithm of a JWK that does not say (RFC 7517 makes alg
// optional): the one Credence signs with for its type.
func algOf(h jwkHeader) domain.Algorithm {
	switch {
	case h.Kty == "EC" && h.Crv == "P-256":
		return domain.AlgES256
	case h.Kty == "OKP" && h.Crv == "Ed25519":
		return domain.AlgEdDSA
	case h.Kty == "RSA":
		return domain.AlgRS256
	}
	return ""
}

// isDID reports whether s looks like a DID: did:<method>:<id>.
func isDID(s string) bool {
	rest, ok := strings.CutPrefix(s, "did:")
	method, id, ok2 := strings.Cut(rest, ":")
	return ok && ok2 && method != "" && id != "" && !strings.Contains(s, "#") && domain.ControlFree(s, false)
}
