package domain

import "time"

// Algorithm is a JWS signing algorithm Credence can generate keys for.
type Algorithm string

// Supported algorithms. ES256 is the default: Open Badges 3.0 verifiers
// accept RS256 and ES256 only.
const (
	AlgES256 Algorithm = "ES256"
	AlgEdDSA Algorithm = "EdDSA"
	AlgRS256 Algorithm = "RS256"
)

// ValidAlgorithm reports whether a is supported.
func ValidAlgorithm(a Algorithm) bool { return a == AlgES256 || a == AlgEdDSA || a == AlgRS256 }

// KeyStatus is active (signs) or retired (only verifies).
type KeyStatus string

// Signing key statuses.
const (
	KeyActive  KeyStatus = "active"
	KeyRetired KeyStatus = "retired"
)

// SigningKey is one of an organization's keys. Fragment ("key-1", …) names
// it inside the issuer's DID document; the full kid is the DID URL.
type SigningKey struct {
	ID         string
	OrgID      string
	Fragment   string
	Algorithm  Algorithm
	Status     KeyStatus
	PublicJWK  []byte // public JWK as JSON, without kid
	PrivateEnc []byte // private key, encrypted with the master key
	CreatedAt  time.Time
	RetiredAt  *time.Time
}

// CheckName names one verification check.
type CheckName string

// Verification checks, in the order they are reported.
const (
	CheckSignature  CheckName = "signature"
	CheckIntegrity  CheckName = "integrity"
	CheckExpiry     CheckName = "expiry"
	CheckRevocation CheckName = "revocation"
	CheckIssuer     CheckName = "issuer"
)

// Check is the outcome of one verification check.
type Check struct {
	Name   CheckName
	OK     bool
	Detail string
	// Outcome is what a failed revocation check found: ResultRevoked
	// (also when empty), ResultSuspended or ResultUnknown.
	Outcome VerifyResult
}

// VerifyResult is the overall answer of a verification.
type VerifyResult string

// Verification results.
const (
	ResultValid   VerifyResult = "valid"
	ResultPending VerifyResult = "pending"
	ResultInvalid VerifyResult = "invalid"
	ResultRevoked VerifyResult = "revoked"
	ResultExpired VerifyResult = "expired"
	// ResultSuspended: the issuer suspended the credential (reversibly).
	ResultSuspended VerifyResult = "suspended"
	// ResultUnknown: every other check passed, but whether the credential
	// was revoked or suspended could not be established (its status list
	// could not be read): never "not revoked" on a guess.
	ResultUnknown VerifyResult = "unknown"
)

// Verdict folds the checks into one result: a failed signature, integrity
// or issuer check makes it invalid; then revoked, suspended, expired, and
// unknown (a revocation check that could not tell), in that order;
// otherwise the credential's claim state decides between valid and
// pending.
func Verdict(checks []Check, claimed bool) VerifyResult {
	failed := map[CheckName]bool{}
	revocation := ResultValid
	for _, c := range checks {
		if c.OK {
			continue
		}
		failed[c.Name] = true
		if c.Name == CheckRevocation {
			revocation = ResultRevoked
			if c.Outcome == ResultSuspended || c.Outcome == ResultUnknown {
				revocation = c.Outcome
			}
		}
	}
	switch {
	case failed[CheckSignature] || failed[CheckIntegrity] || failed[CheckIssuer]:
		return ResultInvalid
	case revocation == ResultRevoked || revocation == ResultSuspended:
		return revocation
	case failed[CheckExpiry]:
		return ResultExpired
	case revocation == ResultUnknown:
		return ResultUnknown
	case claimed:
		return ResultValid
	default:
		return ResultPending
	}
}

// ProofKey is an organization's Ed25519 key for Data Integrity proofs
// (eddsa-rdfc-2022), published in its DID document as a Multikey; like
// signing keys, one is active and retired ones keep verifying.
type ProofKey struct {
	ID         string
	OrgID      string
	Fragment   string // proof-1, proof-2, …
	Public     []byte // the raw 32-byte Ed25519 public key
	PrivateEnc []byte // the 32-byte seed, encrypted with the master key
	Status     KeyStatus
	CreatedAt  time.Time
	RetiredAt  *time.Time
}
