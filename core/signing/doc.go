// Package signing holds Credence's key material rules: key generation,
// encryption of private keys at rest (AES-256-GCM under a master key),
// compact JWS signing and verification with jwx, and the publication of
// public keys as a JWKS and a did:web document.
//
// A token is read once (ParseToken) and checked with a parsed public key
// (ParsePublicKey, memoized by the key's own bytes, never by kid); a
// Signer writes its fixed protected header once. The benchmarks beside a
// raw crypto/ecdsa loop (bench_test.go) keep the JWS layer cheap.
package signing
