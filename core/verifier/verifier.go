// Package verifier checks a Credence credential offline: the signed file a
// recipient presents (the compact JWS of GET /credentials/{id}.jwt) against
// the keys its issuer publishes (/issuers/{slug}/jwks.json or
// /issuers/{slug}/did.json), with no database and no network.
//
//	v, err := verifier.New(jwks) // or the did.json bytes
//	…
//	res, err := v.Verify(jwt)
//	if res.Result == domain.ResultValid { … }
//
// It makes the checks Credence's own verification makes, as far as they
// can be made offline, and reports them the same way: signature (against
// the published key the header's kid names, retired keys included),
// integrity (the signed payload is an Open Badges 3.0 credential as
// Credence writes it), expiry (from the signed validUntil), revocation and
// issuer (the document names the issuer whose keys these are).
//
// Revocation cannot be known offline: the revocation check is always
// reported not OK with a detail saying so and where the issuer answers
// (Result.VerifyURL), and Result is never revoked. Nor can the issuer's
// record, its standing (approved or suspended) or whether the recipient
// claimed the credential: a genuine credential is valid here, never
// pending. Ask the issuer (GET /api/v1/credentials/{id}/verify) for those.
//
// A verifier believes the key document it is given: its results say
// "signed by whoever published these keys". Take the document from the
// issuer's own address (DIDDocumentURL turns its DID into it), or use
// NewFor, which refuses the keys of any other DID than the one expected.
//
// The signature and expiry checks are core/credentials' own, shared with
// the online verification.
package verifier

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
)

// ErrMalformed means the presented credential is not a compact JWS: there
// is nothing to check (Credence answers 422 INVALID_CREDENTIAL_FILE).
var ErrMalformed = signing.ErrMalformed

// Verifier checks credentials against one issuer's published keys. It is
// immutable and safe for concurrent use.
type Verifier struct {
	did  string
	keys map[string]*signing.PublicKey // by kid
	kids []string                      // in published order
}

// Issuer returns the issuer's DID (did:web:…) the keys belong to.
func (v *Verifier) Issuer() string { return v.did }

// KeyIDs returns the kids of the published keys, active and retired.
func (v *Verifier) KeyIDs() []string { return append([]string(nil), v.kids...) }

// Result is the offline answer: Result is valid, expired or invalid (never
// revoked nor pending: only the issuer knows those), and Checks are
// signature, integrity, expiry, revocation and issuer, in that order.
type Result struct {
	Result domain.VerifyResult
	Checks []domain.Check
	// KeyID is the kid of the header.
	KeyID string
	// Document is the signed credential, when its signature verified and
	// it could be read.
	Document *credentials.Document
	// Credential is the credential's ID and VerifyURL the issuer's page
	// that answers with its current status, revocation included, when the
	// signed document says.
	Credential domain.CredentialID
	VerifyURL  string
}

// Check returns the check of that name.
func (r Result) Check(name domain.CheckName) (domain.Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return domain.Check{}, false
}

// Verify checks compact, the contents of a credential's .jwt file, now.
func (v *Verifier) Verify(compact []byte) (Result, error) {
	return v.VerifyAt(compact, time.Now())
}

// VerifyAt checks compact as of now. An error (matching ErrMalformed) means
// compact is not a compact JWS; anything that is gets a Result.
func (v *Verifier) VerifyAt(compact []byte, now time.Time) (Result, error) {
	tok, err := signing.ParseToken(compact)
	if err != nil {
		return Result{}, err
	}
	out := Result{KeyID: tok.Header.KID}

	// Signature: the kid must name one of these keys.
	var payload []byte
	var sig domain.Check
	if key, ok := v.keys[tok.Header.KID]; ok {
		payload, sig = credentials.SignatureCheck(tok, credentials.IssuerKey{KID: tok.Header.KID, Key: key})
	} else if did, _, _ := signing.SplitKeyID(tok.Header.KID); did != v.did {
		sig = domain.Check{Name: domain.CheckSignature, Detail: fmt.Sprintf("the key %q is not one of %s's keys", tok.Header.KID, v.did)}
	} else {
		sig = domain.Check{Name: domain.CheckSignature, Detail: fmt.Sprintf("the key %q is not among the keys %s publishes", tok.Header.KID, v.did)}
	}

	// Integrity: the signed payload is a credential as Credence writes it.
	integrity := domain.Check{Name: domain.CheckIntegrity, Detail: "not checked: the signature is not valid"}
	expiry := domain.Check{Name: domain.CheckExpiry, Detail: "not checked: the signed document could not be read"}
	issuer := domain.Check{Name: domain.CheckIssuer, Detail: "not checked: the signed document could not be read"}
	revocation := domain.Check{Name: domain.CheckRevocation, Detail: "unknown offline: only the issuer knows whether it revoked the credential"}
	if payload != nil {
		doc, err := credentials.ParseDocument(payload)
		if err != nil {
			integrity.Detail = "the signed payload is not a credential document"
		} else {
			out.Document = &doc
			claims, bad := doc.Claims()
			if len(bad) == 0 {
				integrity = domain.Check{Name: domain.CheckIntegrity, OK: true, Detail: "the signed document is a well-formed Open Badges 3.0 credential; the issuer's record is not consulted offline"}
				if claims.Test {
					integrity.Detail += "; it is a test credential"
				}
			} else {
				integrity.Detail = "the signed document is not a credential as Credence writes it: " + strings.Join(bad, ", ")
			}
			if claims.ID != "" {
				out.Credential, out.VerifyURL = claims.ID, claims.URLs.Verify(claims.ID)
				revocation.Detail += "; it answers at " + out.VerifyURL
			}
			if !slices.Contains(bad, "validUntil") {
				expiry = credentials.ExpiryCheck(claims.ValidUntil, now)
			}
			if claims.IssuerDID == v.did {
				issuer = domain.Check{Name: domain.CheckIssuer, OK: true, Detail: fmt.Sprintf("issued by %s (%s), whose published key signed it; its standing and domain are known only online", doc.Issuer.Name, v.did)}
			} else {
				issuer.Detail = fmt.Sprintf("the document names the issuer %q, but the key that signed it is %s's", claims.IssuerDID, v.did)
			}
		}
	}

	out.Checks = []domain.Check{sig, integrity, expiry, revocation, issuer}
	// Revocation and claim state are the issuer's to tell: a genuine,
	// current credential is valid here.
	out.Result = domain.Verdict([]domain.Check{sig, integrity, expiry, issuer}, true)
	return out, nil
}

// errNoKeys is returned for a key document without a usable key.
var errNoKeys = errors.New("no signing keys")
