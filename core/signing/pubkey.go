package signing

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/credence-dev/credence/core/domain"
)

// PublicKey is a parsed public key of one algorithm, ready to verify. It is
// immutable and safe for concurrent use.
type PublicKey struct {
	alg    domain.Algorithm
	raw    any // *ecdsa.PublicKey (P-256), ed25519.PublicKey or *rsa.PublicKey
	verify jws.Verifier
}

// Algorithm returns the algorithm the key verifies.
func (k *PublicKey) Algorithm() domain.Algorithm { return k.alg }

// ErrSignature means a token's signature does not verify with the key.
var ErrSignature = errors.New("the signature does not match the key")

// Verify checks t's signature with k and returns its payload. The header's
// alg must be k's: a key is never used with an algorithm it was not made
// for.
func (k *PublicKey) Verify(t Token) ([]byte, error) {
	if t.Header.Algorithm != k.alg {
		return nil, fmt.Errorf("header alg %q does not match the key's %q", t.Header.Algorithm, k.alg)
	}
	if t.input == nil || k.verify.Verify(t.input, t.sig, k.raw) != nil {
		return nil, ErrSignature
	}
	return t.Payload, nil
}

// maxRSABits is the largest RSA modulus a key may have.
const maxRSABits = 8192

// keyCacheSize bounds the parsed keys kept per process: far more than the
// keys one server verifies with in a while.
const keyCacheSize = 1024

// keyCache memoizes ParsePublicKey. An entry is found by the algorithm and
// the SHA-256 of the very bytes of the JWK it was parsed from (so a large
// JWK costs the cache 32 bytes, not its size), never by a kid, a slug or
// an organization: it can only ever answer for the key material the caller
// holds, so no issuer's kid can be made to resolve to another's key, and a
// key that changed (or a JWK spelled differently) is simply another entry.
// Which key a kid means is decided by the caller's record (the store, a
// published key set) on every verification: a retired key verifies as long
// as the record keeps it, an unknown kid never reaches the cache, and a key
// the record no longer holds is never asked for again and ages out.
var keyCache = struct {
	sync.RWMutex
	byAlg map[domain.Algorithm]map[[sha256.Size]byte]*PublicKey
	n     int
}{byAlg: map[domain.Algorithm]map[[sha256.Size]byte]*PublicKey{}}

// ParsePublicKey parses a public JWK (JSON, as Generate returns; a private
// JWK gives its public half) to verify with alg: a P-256 key for ES256, an
// Ed25519 key for EdDSA, an RSA key for RS256. Parsed keys are memoized by
// alg and the JWK's bytes, up to keyCacheSize keys.
func ParsePublicKey(public []byte, alg domain.Algorithm) (*PublicKey, error) {
	sum := sha256.Sum256(public)
	keyCache.RLock()
	k := keyCache.byAlg[alg][sum]
	keyCache.RUnlock()
	if k != nil {
		return k, nil
	}
	k, err := parsePublicKey(public, alg)
	if err != nil {
		return nil, err
	}
	keyCache.Lock()
	defer keyCache.Unlock()
	if hit := keyCache.byAlg[alg][sum]; hit != nil {
		return hit, nil
	}
	if keyCache.n >= keyCacheSize {
		// Full: drop an arbitrary entry (map order); it is parsed again
		// if asked for.
	evict:
		for _, m := range keyCache.byAlg {
			for jwk := range m {
				delete(m, jwk)
				keyCache.n--
				break evict
			}
		}
	}
	m := keyCache.byAlg[alg]
	if m == nil {
		m = map[[sha256.Size]byte]*PublicKey{}
		keyCache.byAlg[alg] = m
	}
	m[sum] = k
	keyCache.n++
	return k, nil
}

func parsePublicKey(public []byte, alg domain.Algorithm) (*PublicKey, error) {
	if !domain.ValidAlgorithm(alg) {
		return nil, fmt.Errorf("unsupported algorithm %q", alg)
	}
	key, err := jwk.ParseKey(public)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	raw, err := jwk.PublicRawKeyOf(key)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	ok := false
	switch k := raw.(type) {
	case *ecdsa.PublicKey:
		ok = alg == domain.AlgES256 && k.Curve == elliptic.P256()
	case ed25519.PublicKey:
		ok = alg == domain.AlgEdDSA && len(k) == ed25519.PublicKeySize
	case *rsa.PublicKey:
		// Bounded: a published key set is anyone's input, and an RSA
		// check costs with the square of the modulus.
		ok = alg == domain.AlgRS256 && k.N.BitLen() >= 2048 && k.N.BitLen() <= maxRSABits
	}
	if !ok {
		return nil, fmt.Errorf("parse public key: a %T is not a %s key", raw, alg)
	}
	return newPublicKey(alg, raw)
}

// newPublicKey makes a PublicKey of raw, a key already checked to be one
// of alg's.
func newPublicKey(alg domain.Algorithm, raw any) (*PublicKey, error) {
	v, err := jws.NewVerifier(jwa.SignatureAlgorithm(alg))
	if err != nil {
		return nil, err
	}
	return &PublicKey{alg: alg, raw: raw, verify: v}, nil
}
