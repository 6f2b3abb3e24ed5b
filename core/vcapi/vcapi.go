// Package vcapi holds the rules of the W3C VC-API's verification
// endpoints (POST /credentials/verify, POST /presentations/verify): what
// a request may carry, how each thing in it is verified, and the
// problems (VCDM 2.0 ProblemDetails) an answer reports. The HTTP adapter
// only carries the JSON in and out.
//
// A credential is verified when it comes enveloped (VCDM 2.0 §4.13: a
// data: URL of its compact JWS) exactly as a presented .jwt is
// (credentials.Service.VerifyPresented): the signature with its issuer's
// published key, the signed document against the issuer's record, expiry,
// revocation and suspension from the issuer's status lists, and the
// issuer. A presentation is verified when it comes enveloped too, signed
// by a holder identified by a did:key (Ed25519 or P-256, resolved offline
// by core/signing): its signature, its nonce and aud against the
// challenge and domain asked for, then each credential it carries.
//
// Documents secured with an embedded proof (Data Integrity) are verified
// by an EmbeddedProofs, when one is set (UseEmbeddedProofs); until then
// they are answered with an Unsupported problem.
package vcapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// MaxCredentials bounds the credentials one presentation may carry: each
// costs a verification.
const MaxCredentials = 50

// Presented verifies a presented compact JWS credential:
// credentials.Service does.
type Presented interface {
	VerifyPresented(ctx context.Context, compact []byte) (credentials.Verification, error)
}

// EmbeddedProofs verifies what is secured with an embedded proof (a
// Data Integrity proof, such as eddsa-rdfc-2022): the hook where its
// verification plugs in.
type EmbeddedProofs interface {
	// Credential verifies a credential that carries a proof (the JSON
	// of the credential, proof included): its proof, and whatever else
	// an enveloped credential is checked for (record, expiry, status,
	// issuer).
	Credential(ctx context.Context, credential json.RawMessage) (Result, error)
	// Presentation checks the proof of a presentation that carries one,
	// with the challenge and domain of opts when they are set, and
	// returns its problems (none: the proof verifies). The credentials
	// the presentation carries are not its business: the Service
	// verifies each.
	Presentation(ctx context.Context, presentation json.RawMessage, opts PresentationOptions) ([]Problem, error)
}

// PresentationOptions are the options of a presentation's verification.
type PresentationOptions struct {
	// Challenge, when set, must be the presentation's (a JWS's nonce).
	Challenge string
	// Domain, when set, must be among the presentation's (a JWS's aud).
	Domain string
}

// Service answers VC-API verification requests.
type Service struct {
	credentials Presented
	clock       ports.Clock
	proofs      EmbeddedProofs
	issuer      VCIssuer
	terms       ports.TermChecker
}

// New returns a Service verifying credentials with credentials, at the
// time clock tells.
func New(credentials Presented, clock ports.Clock) *Service {
	return &Service{credentials: credentials, clock: clock}
}

// UseEmbeddedProofs has p verify what carries an embedded proof. Call it
// before the Service serves.
func (s *Service) UseEmbeddedProofs(p EmbeddedProofs) { s.proofs = p }

// VerifyCredential answers a verify-credential request, the JSON
// {verifiableCredential, options}. The options are read but change
// nothing: every check always runs (the suites' options.checks asks for
// no fewer). An error means no answer could be made (the store is
// unreachable); whatever is wrong with the request is a problem of the
// Result.
func (s *Service) VerifyCredential(ctx context.Context, request []byte) (Result, error) {
	req, ok := object(request)
	if !ok {
		return failed(problem(ParsingError, "the request must be a JSON object {verifiableCredential, options}")), nil
	}
	if opts := req["options"]; present(opts) {
		if _, ok := object(opts); !ok {
			return failed(problem(MalformedValueError, "options must be an object")), nil
		}
	}
	vc := req["verifiableCredential"]
	if !present(vc) {
		return failed(problem(MalformedValueError, "verifiableCredential is required")), nil
	}
	return s.credential(ctx, vc, "verifiableCredential")
}

// credential verifies one credential of a request, found at path: an
// enveloped one, or one with an embedded proof.
func (s *Service) credential(ctx context.Context, raw json.RawMessage, path string) (Result, error) {
	obj, ok := object(raw)
	if !ok {
		return failed(problem(MalformedValueError,
			"%s must be an object: an EnvelopedVerifiableCredential {\"@context\", \"type\", \"id\": \"data:application/vc+jwt,<compact JWS>\"}", path)), nil
	}
	types, ok := stringValues(obj["type"])
	switch {
	case !ok || len(types) == 0:
		return failed(problem(MalformedValueError, "%s.type is required: a string or an array of strings", path)), nil
	case slices.Contains(types, credentialEnvelope.typ):
		compact, p := parseEnvelope(raw, credentialEnvelope, path)
		if p != nil {
			return failed(*p), nil
		}
		v, err := s.credentials.VerifyPresented(ctx, compact)
		if _, invalid := errors.AsType[*domain.ValidationError](err); invalid {
			return failed(problem(ParsingError, "%s.id: the data is not a compact JWS", path)), nil
		}
		if err != nil {
			return Result{}, fmt.Errorf("verify %s: %w", path, err)
		}
		return fromVerification(v).within(pathIn(path)), nil
	case present(obj["proof"]):
		if s.proofs == nil {
			return failed(problem(Unsupported, "%s is secured with an embedded proof (Data Integrity), which is not verified here yet: "+
				"send it enveloped (data:application/vc+jwt,<compact JWS>)", path)), nil
		}
		r, err := s.proofs.Credential(ctx, raw)
		if err != nil {
			return Result{}, fmt.Errorf("verify %s: %w", path, err)
		}
		return r.within(pathIn(path)), nil
	}
	return failed(problem(MalformedValueError, "%s is neither an EnvelopedVerifiableCredential nor secured with an embedded proof: nothing secures it", path)), nil
}

// pathIn is how the problems of a credential found at path are
// prefixed: not at all for the request's own credential, with its place
// inside a presentation.
func pathIn(path string) string {
	if path == "verifiableCredential" {
		return ""
	}
	return path
}

// present reports whether a member is there and not null.
func present(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && string(raw) != "null"
}
