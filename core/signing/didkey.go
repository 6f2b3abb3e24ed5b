package signing

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"errors"
	"fmt"
	"strings"

	"github.com/credence-dev/credence/core/domain"
)

// DIDKeyPrefix begins every did:key identifier.
const DIDKeyPrefix = "did:key:"

// Errors of ResolveDIDKey.
var (
	// ErrDIDKeyInvalid: not a did:key, or one whose key cannot be read
	// (the did:key method's invalidDid, invalidPublicKeyLength and
	// invalidPublicKey).
	ErrDIDKeyInvalid = errors.New("not a valid did:key")
	// ErrDIDKeyUnsupported: a well-formed did:key of a key type other
	// than Ed25519 and P-256.
	ErrDIDKeyUnsupported = errors.New("a did:key of a key type Credence does not verify (only Ed25519 and P-256)")
)

// The multicodec headers (unsigned varints) of the public keys a did:key
// may hold that Credence verifies with: ed25519-pub (0xed) and p256-pub
// (0x1200, a compressed point).
var (
	codecEd25519 = []byte{0xed, 0x01}
	codecP256    = []byte{0x80, 0x24}
)

// p256CompressedSize is the length of a compressed P-256 point.
const p256CompressedSize = 33

// ResolveDIDKey returns the public key a did:key identifier is, offline
// (the did:key method: did:key:z<base58btc of the multicodec header and
// the key>): an Ed25519 key verifies EdDSA, a P-256 key ES256. Only the
// three-part form is read (no version segment), and the multibase value
// must be base58btc ("z"). The errors match ErrDIDKeyInvalid or
// ErrDIDKeyUnsupported.
func ResolveDIDKey(did string) (*PublicKey, error) {
	mb, ok := strings.CutPrefix(did, DIDKeyPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: %q does not begin with %s", ErrDIDKeyInvalid, clip(did), DIDKeyPrefix)
	}
	enc, ok := strings.CutPrefix(mb, "z")
	if !ok {
		return nil, fmt.Errorf("%w: the key must be base58btc multibase (z…)", ErrDIDKeyInvalid)
	}
	b, err := DecodeBase58(enc)
	if err != nil {
		return nil, fmt.Errorf("%w: the key is not base58btc", ErrDIDKeyInvalid)
	}
	switch {
	case hasCodec(b, codecEd25519):
		key := b[len(codecEd25519):]
		if len(key) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: an Ed25519 key of %d bytes, not %d", ErrDIDKeyInvalid, len(key), ed25519.PublicKeySize)
		}
		return newPublicKey(domain.AlgEdDSA, ed25519.PublicKey(key))
	case hasCodec(b, codecP256):
		key := b[len(codecP256):]
		if len(key) != p256CompressedSize {
			return nil, fmt.Errorf("%w: a P-256 key of %d bytes, not %d (compressed)", ErrDIDKeyInvalid, len(key), p256CompressedSize)
		}
		pub, err := decompressP256(key)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrDIDKeyInvalid, err)
		}
		return newPublicKey(domain.AlgES256, pub)
	case len(b) > 0:
		return nil, ErrDIDKeyUnsupported
	}
	return nil, fmt.Errorf("%w: no key", ErrDIDKeyInvalid)
}

// DIDKey returns the did:key of a public key: an ed25519.PublicKey, or a
// P-256 *ecdsa.PublicKey (written compressed, as the method requires).
func DIDKey(pub crypto.PublicKey) (string, error) {
	var b []byte
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return "", errors.New("did:key: an Ed25519 key of the wrong size")
		}
		b = append(append(b, codecEd25519...), k...)
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return "", errors.New("did:key: only P-256 ECDSA keys")
		}
		raw, err := k.Bytes() // 0x04 || x || y
		if err != nil {
			return "", fmt.Errorf("did:key: %w", err)
		}
		x, y := raw[1:33], raw[33:]
		b = append(append(b, codecP256...), 0x02|y[len(y)-1]&1)
		b = append(b, x...)
	default:
		return "", fmt.Errorf("did:key: a %T is not an Ed25519 or P-256 public key", pub)
	}
	return DIDKeyPrefix + "z" + EncodeBase58(b), nil
}

// DIDKeyMethod returns the verification method of a did:key, the one
// whose key signs for it: did#<the multibase value>.
func DIDKeyMethod(did string) string {
	return did + "#" + strings.TrimPrefix(did, DIDKeyPrefix)
}

// decompressP256 reads a compressed P-256 point: one on the curve, not
// the point at infinity.
func decompressP256(b []byte) (*ecdsa.PublicKey, error) {
	x, y := elliptic.UnmarshalCompressed(elliptic.P256(), b)
	if x == nil {
		return nil, errors.New("the P-256 key is not a point of the curve")
	}
	raw := make([]byte, 65)
	raw[0] = 4
	x.FillBytes(raw[1:33])
	y.FillBytes(raw[33:])
	return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
}

func hasCodec(b, codec []byte) bool {
	return len(b) >= len(codec) && string(b[:len(codec)]) == string(codec)
}

// clip shortens what an error repeats of its input.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
