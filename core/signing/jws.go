package signing

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
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
//
// The protected header never changes for a signer, so it is written once,
// by jws.Sign, when the signer is made; each Sign frames the payload
// after it and has jwx's signer for the algorithm sign the JWS signing
// input (for ES256 the 64-byte r||s of RFC 7518 §3.4). The bytes are
// those jws.Sign writes.
type Signer struct {
	header []byte // base64url of the protected header {alg, kid, typ}
	key    any    // the raw private key: *ecdsa.PrivateKey, ed25519.PrivateKey or *rsa.PrivateKey
	sign   jws.Signer
	kid    string
}

// NewSigner parses a private JWK and prepares it to sign with kid in every
// header. A key that cannot sign with alg is refused here.
func NewSigner(private []byte, alg domain.Algorithm, kid string) (*Signer, error) {
	key, err := jwk.ParseKey(private)
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	// jws.Sign writes the key's own kid into the header, so the kid is
	// set on the key.
	if err := key.Set(jwk.KeyIDKey, kid); err != nil {
		return nil, err
	}
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.TypeKey, MediaType); err != nil {
		return nil, err
	}
	probe, err := jws.Sign([]byte("{}"), jws.WithKey(jwa.SignatureAlgorithm(alg), key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return nil, fmt.Errorf("sign with a %s key: %w", alg, err)
	}
	var raw any
	if err := key.Raw(&raw); err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	signer, err := jws.NewSigner(jwa.SignatureAlgorithm(alg))
	if err != nil {
		return nil, err
	}
	s := &Signer{header: probe[:bytes.IndexByte(probe, '.')], key: raw, sign: signer, kid: kid}
	// The framed signature must be one jwx verifies, or the signer is
	// not made.
	tok, err := s.Sign([]byte("{}"))
	if err != nil {
		return nil, err
	}
	if _, err := jws.Verify([]byte(tok), jws.WithKey(jwa.SignatureAlgorithm(alg), key)); err != nil {
		return nil, fmt.Errorf("sign with a %s key: %w", alg, err)
	}
	return s, nil
}

// KID returns the kid the signer writes.
func (s *Signer) KID() string { return s.kid }

// Sign returns the compact JWS of payload with header {alg, kid, typ}.
func (s *Signer) Sign(payload []byte) (string, error) {
	enc := base64.RawURLEncoding
	buf := make([]byte, 0, len(s.header)+1+enc.EncodedLen(len(payload))+1+enc.EncodedLen(512))
	buf = append(buf, s.header...)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, payload)
	sig, err := s.sign.Sign(buf, s.key)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	buf = append(buf, '.')
	return string(enc.AppendEncode(buf, sig)), nil
}

// Header is the protected header of a parsed JWS.
type Header struct {
	Algorithm domain.Algorithm
	KID       string
	Type      string
}

// ErrMalformed means the input is not a compact JWS Credence can read.
var ErrMalformed = errors.New("not a compact JWS")

// Token is a compact JWS read but not verified: what it claims to be.
// Verify it with the public key its KID names (PublicKey.Verify).
type Token struct {
	Header  Header
	Payload []byte
	input   []byte // the JWS signing input: the header and payload segments as sent
	sig     []byte
}

// ParseToken reads a compact JWS once: its segments, header and payload.
// Surrounding whitespace is ignored. Only canonical base64url is read (no
// padding, no other alphabet, zero trailing bits): the signature covers
// the text as sent, so one token has exactly one spelling. A header with
// "crit" or "b64" is refused: Credence signs with no JWS extension.
func ParseToken(compact []byte) (Token, error) {
	compact = bytes.TrimSpace(compact)
	if len(compact) == 0 || len(compact) > MaxJWSSize || bytes.Count(compact, []byte{'.'}) != 2 {
		return Token{}, ErrMalformed
	}
	dot1 := bytes.IndexByte(compact, '.')
	dot2 := dot1 + 1 + bytes.IndexByte(compact[dot1+1:], '.')
	strict := base64.RawURLEncoding.Strict()
	var seg [3][]byte
	for i, part := range [3][]byte{compact[:dot1], compact[dot1+1 : dot2], compact[dot2+1:]} {
		b, err := strict.AppendDecode(nil, part)
		if err != nil {
			return Token{}, ErrMalformed
		}
		seg[i] = b
	}
	// The header is read by jwx, as jws.Parse reads it.
	h := jws.NewHeaders()
	if err := json.Unmarshal(seg[0], h); err != nil {
		return Token{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, ok := h.Get("b64"); ok || len(h.Critical()) > 0 {
		return Token{}, fmt.Errorf("%w: a JWS extension (crit, b64) is not supported", ErrMalformed)
	}
	if seg[1] == nil {
		seg[1] = []byte{}
	}
	return Token{
		Header:  Header{Algorithm: domain.Algorithm(h.Algorithm().String()), KID: h.KeyID(), Type: h.Type()},
		Payload: seg[1],
		input:   bytes.Clone(compact[:dot2]),
		sig:     seg[2],
	}, nil
}

// Parse reads a compact JWS without verifying it: its header and payload.
func Parse(compact []byte) (Header, []byte, error) {
	t, err := ParseToken(compact)
	if err != nil {
		return Header{}, nil, err
	}
	return t.Header, t.Payload, nil
}

// Verify checks the compact JWS against a public JWK (JSON, as Generate
// returns) of algorithm alg and returns the payload. The header's alg must
// equal alg, so a key is never used with an algorithm it was not made for.
// The token is parsed once and the key comes from ParsePublicKey's cache.
func Verify(compact []byte, public []byte, alg domain.Algorithm) ([]byte, error) {
	t, err := ParseToken(compact)
	if err != nil {
		return nil, err
	}
	key, err := ParsePublicKey(public, alg)
	if err != nil {
		return nil, err
	}
	return key.Verify(t)
}
