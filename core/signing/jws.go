package signing

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/credence-dev/credence/core/domain"
)

// MediaType is the JWS typ of a credential: VC-JOSE-COSE.
const MediaType = "vc+jwt"

// MaxJWSSize caps what Parse and Verify accept from users.
const MaxJWSSize = 64 << 10

// Signer signs payloads with one private key under a fixed kid.
type Signer struct {
	key jwk.Key
	alg jwa.SignatureAlgorithm
	kid string
}

// NewSigner parses a private JWK and prepares it to sign with kid in every
// header. jws.Sign writes the key's own kid into the header, so the kid is
// set on the key.
func NewSigner(private []byte, alg domain.Algorithm, kid string) (*Signer, error) {
	key, err := jwk.ParseKey(private)
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	if err := key.Set(jwk.KeyIDKey, kid); err != nil {
		return nil, err
	}
	return &Signer{key: key, alg: jwa.SignatureAlgorithm(alg), kid: kid}, nil
}

// KID returns the kid the signer writes.
func (s *Signer) KID() string { return s.kid }

// Sign returns the compact JWS of payload with header {alg, kid, typ}.
func (s *Signer) Sign(payload []byte) (string, error) {
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.TypeKey, MediaType); err != nil {
		return "", err
	}
	out, err := jws.Sign(payload, jws.WithKey(s.alg, s.key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return string(out), nil
}

// Header is the protected header of a parsed JWS.
type Header struct {
	Algorithm domain.Algorithm
	KID       string
	Type      string
}

// ErrMalformed means the input is not a compact JWS Credence can read.
var ErrMalformed = errors.New("not a compact JWS")

// Parse reads a compact JWS without verifying it: its header and payload.
func Parse(compact []byte) (Header, []byte, error) {
	compact = bytes.TrimSpace(compact)
	if len(compact) == 0 || len(compact) > MaxJWSSize || bytes.Count(compact, []byte{'.'}) != 2 {
		return Header{}, nil, ErrMalformed
	}
	// Only canonical base64url (no padding, no other alphabet, zero
	// trailing bits): the signature covers the text as sent, so one token
	// has exactly one spelling.
	for _, part := range bytes.Split(compact, []byte{'.'}) {
		if _, err := base64.RawURLEncoding.Strict().DecodeString(string(part)); err != nil {
			return Header{}, nil, ErrMalformed
		}
	}
	msg, err := jws.Parse(compact, jws.WithCompact())
	if err != nil {
		return Header{}, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	sigs := msg.Signatures()
	if len(sigs) != 1 {
		return Header{}, nil, ErrMalformed
	}
	h := sigs[0].ProtectedHeaders()
	return Header{Algorithm: domain.Algorithm(h.Algorithm().String()), KID: h.KeyID(), Type: h.Type()}, msg.Payload(), nil
}

// Verify checks the compact JWS against a public JWK (JSON, as Generate
// returns) of algorithm alg and returns the payload. The header's alg must
// equal alg, so a key is never used with an algorithm it was not made for.
func Verify(compact []byte, public []byte, alg domain.Algorithm) ([]byte, error) {
	hdr, _, err := Parse(compact)
	if err != nil {
		return nil, err
	}
	if hdr.Algorithm != alg {
		return nil, fmt.Errorf("header alg %q does not match the key's %q", hdr.Algorithm, alg)
	}
	key, err := jwk.ParseKey(public)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	payload, err := jws.Verify(bytes.TrimSpace(compact), jws.WithKey(jwa.SignatureAlgorithm(alg), key))
	if err != nil {
		return nil, errors.New("the signature does not match the key")
	}
	return payload, nil
}
