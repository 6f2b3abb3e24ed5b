package vcapi

import (
	"fmt"
	"strings"

	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
)

// A ProblemType is a kind of problem: the URL that names it and the short
// title it is reported with (the URL's fragment, as the VC-API examples
// write it).
type ProblemType struct {
	URL   string
	Title string
}

func problemType(base, code string) ProblemType { return ProblemType{URL: base + code, Title: code} }

// The bases of the problem type URLs: VCDM 2.0 §7 (Problem Details), the
// Bitstring Status List's and Data Integrity's processing errors, and
// Credence's own (docs/vc-api.md, where each has an anchor).
const (
	vcdmBase       = "https://www.w3.org/TR/vc-data-model#"
	statusListBase = "https://www.w3.org/ns/credentials/status-list#"
	securityBase   = "https://w3id.org/security#"
	// CredenceBase begins the type URLs of the problems Credence defines
	// beside the specifications' (VCDM 2.0 lets implementations add
	// types).
	CredenceBase = "https://github.com/credence-dev/credence/blob/main/docs/vc-api.md#"
)

// The problem types the verification reports.
var (
	// ParsingError: the input could not be read (not JSON, not a compact
	// JWS, not the JSON a JWS must carry).
	ParsingError = problemType(vcdmBase, "PARSING_ERROR")
	// CryptographicSecurityError: a signature does not verify with the key
	// that should have made it (the credential's issuer's, the
	// presentation's holder's), no such key is published, or a signed
	// document names another signer than the key.
	CryptographicSecurityError = problemType(vcdmBase, "CRYPTOGRAPHIC_SECURITY_ERROR")
	// MalformedValueError: a member is missing or has a value the data
	// model forbids; the detail names it.
	MalformedValueError = problemType(vcdmBase, "MALFORMED_VALUE_ERROR")
	// RangeError: more of something than is verified in one request.
	RangeError = problemType(vcdmBase, "RANGE_ERROR")
	// StatusRetrievalError: the credential's status list could not be
	// read, so whether it was revoked or suspended is unknown.
	StatusRetrievalError = problemType(statusListBase, "STATUS_RETRIEVAL_ERROR")
	// InvalidChallengeError and InvalidDomainError: the presentation was
	// not made for the challenge (its nonce) or domain (its aud) the
	// options name. Data Integrity defines them for its proofs; a JWS
	// presentation fails the same way.
	InvalidChallengeError = problemType(securityBase, "INVALID_CHALLENGE_ERROR")
	InvalidDomainError    = problemType(securityBase, "INVALID_DOMAIN_ERROR")

	// Unsupported: secured in a way Credence does not verify (yet): an
	// embedded proof, a holder that is not a did:key, a media type other
	// than a JWS, an unsecured presentation.
	Unsupported = problemType(CredenceBase, "UNSUPPORTED")
	// Revoked and Suspended: the issuer revoked the credential, or
	// suspended it (reversibly).
	Revoked   = problemType(CredenceBase, "CREDENTIAL_REVOKED")
	Suspended = problemType(CredenceBase, "CREDENTIAL_SUSPENDED")
	// Expired and NotYetValid: outside its validity period (a credential
	// issued through the VC-API may be valid from a later time).
	Expired     = problemType(CredenceBase, "EXPIRED")
	NotYetValid = problemType(CredenceBase, "NOT_YET_VALID")
	// IntegrityError: genuinely signed with the issuer's key, but not the
	// credential the issuer recorded (no record, or another content).
	IntegrityError = problemType(CredenceBase, "INTEGRITY_ERROR")
	// IssuerNotApproved: the issuer is not (or no longer) approved.
	IssuerNotApproved = problemType(CredenceBase, "ISSUER_NOT_APPROVED")
)

// A Problem is one reason a verification did not pass (VCDM 2.0's
// ProblemDetails).
type Problem struct {
	Type   ProblemType
	Detail string
	// Check is Credence's verification check that found it (signature,
	// integrity, expiry, revocation, issuer), empty for problems of the
	// request or presentation itself.
	Check domain.CheckName
}

func problem(t ProblemType, format string, args ...any) Problem {
	return Problem{Type: t, Detail: fmt.Sprintf(format, args...)}
}

// Result is the answer to a verification: verified, or the problems
// found (never both).
type Result struct {
	Verified bool
	Problems []Problem
}

// failed is the result of problems (at least one).
func failed(problems ...Problem) Result { return Result{Problems: problems} }

// within prefixes the details of r's problems with where in the request
// they were found.
func (r Result) within(path string) Result {
	if path == "" {
		return r
	}
	out := make([]Problem, len(r.Problems))
	for i, p := range r.Problems {
		p.Detail = path + ": " + p.Detail
		out[i] = p
	}
	r.Problems = out
	return r
}

// fromVerification is a credential's verification (credentials'
// VerifyPresented: signature, integrity, expiry, revocation, issuer) as
// a Result: verified when the verdict is valid or pending (pending: not
// yet claimed by its recipient in Credence, which says nothing against
// the credential); otherwise a problem for each failed check. When the
// signature does not verify, nothing else of the document is reported:
// what it claims cannot be believed, and the record it names may not be
// the one it was made from. Without a record, the expiry and revocation
// checks say only that there is none, which the integrity problem says.
func fromVerification(v credentials.Verification) Result {
	var problems []Problem
	for _, c := range v.Checks {
		if c.OK {
			continue
		}
		p := Problem{Detail: c.Detail, Check: c.Name}
		switch c.Name {
		case domain.CheckSignature:
			p.Type = CryptographicSecurityError
			return failed(p)
		case domain.CheckIntegrity:
			p.Type = IntegrityError
		case domain.CheckExpiry:
			if v.Credential == nil && v.Record == nil {
				continue
			}
			p.Type = Expired
			if c.Outcome == domain.ResultPending {
				p.Type = NotYetValid
			}
		case domain.CheckRevocation:
			if v.Credential == nil && v.Record == nil {
				continue
			}
			switch c.Outcome {
			case domain.ResultSuspended:
				p.Type = Suspended
			case domain.ResultUnknown:
				p.Type = StatusRetrievalError
			default:
				p.Type = Revoked
			}
		case domain.CheckIssuer:
			p.Type = IssuerNotApproved
		default:
			p.Type = CryptographicSecurityError
		}
		problems = append(problems, p)
	}
	verified := v.Result == domain.ResultValid || v.Result == domain.ResultPending
	switch {
	case verified && len(problems) == 0:
		return Result{Verified: true}
	case len(problems) == 0: // a verdict no check explains: never verified on it
		problems = append(problems, problem(CryptographicSecurityError, "the credential did not verify: %s", v.Result))
	}
	return failed(problems...)
}

// detailList joins names for a detail: "a, b or c".
func detailList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
