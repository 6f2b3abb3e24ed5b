// Package signing holds Credence's key material rules: key generation,
// encryption of private keys at rest (AES-256-GCM under a master key),
// compact JWS signing and verification with jwx, and the publication of
// public keys as a JWKS and a did:web document.
package signing
