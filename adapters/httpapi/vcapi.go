package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"

	"github.com/danielgtaylor/huma/v2"

	"github.com/credence-dev/credence/core/vcapi"
)

// The W3C VC-API's verification endpoints, outside /api/v1 at the paths
// the VC-API names, so that its test suites (VCDM 2.0, Bitstring Status
// List) and verifier coordinators can be pointed at a Credence server.
// JSON in and out: 200 {verified: true, problemDetails: []} or 400
// {verified: false, problemDetails: [...]}, whatever was wrong (a body
// that is not JSON included); a problem+json answer only when no answer
// could be made (503, 500) or the edge refused the request (413, 429).
// No token is needed; the per-address rate limit counts them as every
// request, and any origin may call them (crossOrigin). docs/vc-api.md
// describes them.
const (
	vcapiCredentialsVerify   = "/credentials/verify"
	vcapiPresentationsVerify = "/presentations/verify"
	vcapiCredentialsIssue    = "/credentials/issue"
	vcapiCredentialsStatus   = "/credentials/status"
)

// vcapiPaths are the VC-API's routes. The edge treats them apart: any
// origin may call them (crossOrigin), and a control character in a JSON
// string of their bodies is theirs to judge (refuseControls lets them
// through): they store nothing, and a request they cannot read is
// answered in the VC-API's shape, not as VALIDATION_FAILED.
var vcapiPaths = map[string]bool{vcapiCredentialsVerify: true, vcapiPresentationsVerify: true}

type vcProblemWire struct {
	Type   string `json:"type" doc:"a URL naming the kind of problem: VCDM 2.0's (https://www.w3.org/TR/vc-data-model#PARSING_ERROR, #CRYPTOGRAPHIC_SECURITY_ERROR, #MALFORMED_VALUE_ERROR, #RANGE_ERROR), the Bitstring Status List's (#STATUS_RETRIEVAL_ERROR), Data Integrity's (https://w3id.org/security#INVALID_CHALLENGE_ERROR, #INVALID_DOMAIN_ERROR) or Credence's own (docs/vc-api.md: UNSUPPORTED, CREDENTIAL_REVOKED, CREDENTIAL_SUSPENDED, EXPIRED, NOT_YET_VALID, INTEGRITY_ERROR, ISSUER_NOT_APPROVED)"`
	Title  string `json:"title" doc:"the type's name, e.g. CRYPTOGRAPHIC_SECURITY_ERROR"`
	Detail string `json:"detail" doc:"what was found, for people; inside a presentation, prefixed with the credential's place (verifiableCredential[0]: …)"`
	Check  string `json:"check,omitempty" enum:"signature,integrity,expiry,revocation,issuer" doc:"the Credence verification check that found it (as GET /api/v1/credentials/{id}/verify names them)"`
}

type vcResultWire struct {
	Verified       bool            `json:"verified"`
	ProblemDetails []vcProblemWire `json:"problemDetails" nullable:"false" doc:"why it is not verified; empty when it is"`
}

// vcEnvelopeWire documents an enveloped credential or presentation.
type vcEnvelopeWire struct {
	_       struct{} `additionalProperties:"true"`
	Context any      `json:"@context" doc:"https://www.w3.org/ns/credentials/v2, alone or first of an array"`
	Type    string   `json:"type" doc:"EnvelopedVerifiableCredential (or EnvelopedVerifiablePresentation)"`
	ID      string   `json:"id" doc:"a data: URL of the compact JWS: data:application/vc+jwt,<JWS> (also vc-ld+jwt, vc+ld+jwt, jwt; for a presentation vp+jwt, vp-ld+jwt, vp+ld+jwt, jwt)" example:"data:application/vc+jwt,eyJhbGciOiJFUzI1NiIsImtpZCI6ImRpZDp3ZWI6…"`
}

type vcVerifyCredentialRequest struct {
	_                    struct{}       `additionalProperties:"true"`
	VerifiableCredential vcEnvelopeWire `json:"verifiableCredential" doc:"an EnvelopedVerifiableCredential (a credential with an embedded proof is not verified yet: 400 UNSUPPORTED)"`
	Options              map[string]any `json:"options,omitempty" doc:"read but ignored: every check always runs"`
}

type vcPresentationOptions struct {
	_         struct{} `additionalProperties:"true"`
	Challenge string   `json:"challenge,omitempty" doc:"when set, the presentation's nonce must be it"`
	Domain    string   `json:"domain,omitempty" doc:"when set, the presentation's aud must name it"`
}

type vcVerifyPresentationRequest struct {
	_                      struct{}              `additionalProperties:"true"`
	VerifiablePresentation vcEnvelopeWire        `json:"verifiablePresentation" doc:"an EnvelopedVerifiablePresentation: a JWS signed by its holder's did:key (Ed25519 or P-256; kid did:key:z…#z…) whose payload is the VerifiablePresentation (or carries it as the vp claim), its verifiableCredential enveloped credentials"`
	Options                vcPresentationOptions `json:"options,omitzero"`
}

// vcapiRequest is a VC-API request's body, read as JSON by the core
// whatever its Content-Type.
type vcapiRequest struct {
	RawBody []byte
}

type vcapiResponse struct {
	Status int
	Body   vcResultWire
}

func vcapiAnswer(r vcapi.Result) *vcapiResponse {
	out := &vcapiResponse{Status: http.StatusOK, Body: vcResultWire{Verified: r.Verified, ProblemDetails: make([]vcProblemWire, 0, len(r.Problems))}}
	for _, p := range r.Problems {
		out.Body.ProblemDetails = append(out.Body.ProblemDetails, vcProblemWire{Type: p.Type.URL, Title: p.Type.Title, Detail: p.Detail, Check: string(p.Check)})
	}
	if !r.Verified {
		out.Status = http.StatusBadRequest
	}
	return out
}

type vcIssueOptions struct {
	_                 struct{} `additionalProperties:"true"`
	SecuringMechanism string   `json:"securingMechanism,omitempty" enum:"vc+jwt,DataIntegrity" doc:"vc+jwt (the default): the answer is the credential enveloped (data:application/vc+jwt,<JWS>); DataIntegrity: the answer is the signed document with its embedded eddsa-rdfc-2022 proof (the organization must have dataIntegrityProof on), the JWS being kept too"`
}

type vcIssueRequest struct {
	_          struct{}       `additionalProperties:"true"`
	Credential map[string]any `json:"credential" doc:"the VCDM 2.0 credential to sign: @context beginning with https://www.w3.org/ns/credentials/v2 (other contexts: those Credence holds, or inline), type including VerifiableCredential, credentialSubject; issuer, when given, the API key's organization's DID"`
	Options    vcIssueOptions `json:"options,omitzero"`
}

type vcIssueWire struct {
	VerifiableCredential json.RawMessage `json:"verifiableCredential,omitempty" doc:"the signed credential: enveloped ({@context, type: EnvelopedVerifiableCredential, id: data:application/vc+jwt,<JWS>}), or with its embedded proof (options.securingMechanism DataIntegrity)"`
	ProblemDetails       []vcProblemWire `json:"problemDetails,omitempty" doc:"why it was not issued (400)"`
}

type vcIssueResponse struct {
	Status int
	Body   vcIssueWire
}

type vcStatusEntryWire struct {
	_             struct{} `additionalProperties:"true"`
	Type          string   `json:"type,omitempty" doc:"BitstringStatusListEntry"`
	StatusPurpose string   `json:"statusPurpose" enum:"revocation,suspension"`
}

type vcStatusRequest struct {
	_                struct{}          `additionalProperties:"true"`
	CredentialID     string            `json:"credentialId" doc:"the id of a credential the API key's organization issued through POST /credentials/issue (every credential issued with that id changes)"`
	CredentialStatus vcStatusEntryWire `json:"credentialStatus"`
	Status           *bool             `json:"status,omitempty" doc:"true (the default) sets the bit: revoke or suspend; false clears a suspension (a revocation is final)"`
	Reason           string            `json:"reason,omitempty" doc:"kept with the change and in the activity log"`
}

type vcStatusWire struct {
	Changed        int             `json:"changed" doc:"how many credentials changed (all those issued with credentialId)"`
	ProblemDetails []vcProblemWire `json:"problemDetails,omitempty" doc:"why nothing changed (400)"`
}

type vcStatusResponse struct {
	Status int
	Body   vcStatusWire
}

func vcProblems(ps []vcapi.Problem) []vcProblemWire {
	out := make([]vcProblemWire, 0, len(ps))
	for _, p := range ps {
		out = append(out, vcProblemWire{Type: p.Type.URL, Title: p.Type.Title, Detail: p.Detail, Check: string(p.Check)})
	}
	return out
}

// registerVCAPI registers the VC-API's verification operations.
func (s *server) registerVCAPI(api huma.API) {
	tag := "VC-API"
	verify := func(run func(*vcapi.Service, context.Context, []byte) (vcapi.Result, error)) func(context.Context, *vcapiRequest) (*vcapiResponse, error) {
		return func(ctx context.Context, in *vcapiRequest) (*vcapiResponse, error) {
			r, err := run(s.VCAPI, ctx, in.RawBody)
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return vcapiAnswer(r), nil
		}
	}
	o := publicOp(op(http.MethodPost, vcapiCredentialsVerify, "vcapi-verify-credential", "Verify a credential (W3C VC-API)", tag))
	o.Description = "Verifies an enveloped credential (a data: URL of its compact JWS) as POST /api/v1/verify does a presented .jwt: " +
		"the signature with its issuer's published key, the signed document against the issuer's record, expiry, revocation and " +
		"suspension from the issuer's status lists, and the issuer. Only credentials of issuers published here are verified. " +
		"200 {verified: true, problemDetails: []} or 400 {verified: false, problemDetails}, whatever is wrong, the request included."
	huma.Register(api, o, verify((*vcapi.Service).VerifyCredential))
	documentVCAPI(api, vcapiCredentialsVerify, reflect.TypeFor[vcVerifyCredentialRequest]())

	o = publicOp(op(http.MethodPost, vcapiPresentationsVerify, "vcapi-verify-presentation", "Verify a presentation (W3C VC-API)", tag))
	o.Description = "Verifies an enveloped presentation (a data: URL of its compact JWS) signed by a holder identified by a did:key " +
		"(Ed25519 or P-256, the kid its verification method): the signature, iss and holder against that key, exp and nbf, " +
		"the nonce against options.challenge and the aud against options.domain when they are given; then every credential it " +
		"carries, as POST /credentials/verify does. A presentation without a proof is not verified. " +
		"200 {verified: true, problemDetails: []} or 400 {verified: false, problemDetails}."
	huma.Register(api, o, verify((*vcapi.Service).VerifyPresentation))
	documentVCAPI(api, vcapiPresentationsVerify, reflect.TypeFor[vcVerifyPresentationRequest]())

	o = withStatus(op(http.MethodPost, vcapiCredentialsIssue, "vcapi-issue-credential", "Issue a credential (W3C VC-API)", tag), http.StatusCreated)
	o.Description = "Signs the VCDM 2.0 credential given, as the organization of the API key (the issue permission), after refusing what " +
		"VCDM 2.0 forbids: no @context beginning with the base context, a context Credence does not hold, an undefined term or type, " +
		"a redefined protected term, an id that is not one URL, no VerifiableCredential type, no credentialSubject or an empty one, " +
		"a date that is not a dateTimeStamp, validUntil before validFrom, a status, schema, terms of use, evidence or refresh " +
		"service without a type, another issuer. Credence sets the issuer (the organization's DID), an id (urn:uuid:…) when there " +
		"is none, its two BitstringStatusListEntry (revocation, suspension) beside any status given, and the JWT claims iss, nbf " +
		"and exp mirroring it. The credential is recorded: POST /credentials/verify verifies it against the record, and " +
		"POST /credentials/status revokes or suspends it. 201 {verifiableCredential: {type: EnvelopedVerifiableCredential, " +
		"id: data:application/vc+jwt,<JWS>}}, or 400 {problemDetails}."
	huma.Register(api, o, func(ctx context.Context, in *vcapiRequest) (*vcIssueResponse, error) {
		r, err := s.VCAPI.IssueCredential(ctx, actorFrom(ctx), in.RawBody)
		if err != nil {
			return nil, s.from(ctx, err)
		}
		if len(r.Problems) > 0 {
			return &vcIssueResponse{Status: http.StatusBadRequest, Body: vcIssueWire{ProblemDetails: vcProblems(r.Problems)}}, nil
		}
		return &vcIssueResponse{Status: http.StatusCreated, Body: vcIssueWire{VerifiableCredential: r.Credential}}, nil
	})
	documentVCAPIWith(api, vcapiCredentialsIssue, reflect.TypeFor[vcIssueRequest](), reflect.TypeFor[vcIssueWire](), "201",
		"issued", "not issued: problemDetails says why")

	o = op(http.MethodPost, vcapiCredentialsStatus, "vcapi-update-status", "Revoke or suspend a credential (W3C VC-API)", tag)
	o.Description = "Sets (status true, the default) or clears (false) the bit of credentialStatus.statusPurpose, revocation or " +
		"suspension, of every credential the API key's organization issued through POST /credentials/issue with the id " +
		"credentialId (the revoke permission); the status lists are published again through the queue. Revocation is final. " +
		"200 {changed}; 400 {problemDetails} for a request that cannot be read; 404 NOT_FOUND for an id issued by none; " +
		"409 INVALID_STATE for a change that changes nothing or clears a revocation."
	huma.Register(api, o, func(ctx context.Context, in *vcapiRequest) (*vcStatusResponse, error) {
		r, err := s.VCAPI.UpdateStatus(ctx, actorFrom(ctx), in.RawBody)
		if err != nil {
			return nil, s.from(ctx, err)
		}
		if len(r.Problems) > 0 {
			return &vcStatusResponse{Status: http.StatusBadRequest, Body: vcStatusWire{ProblemDetails: vcProblems(r.Problems)}}, nil
		}
		return &vcStatusResponse{Status: http.StatusOK, Body: vcStatusWire{Changed: r.Changed}}, nil
	})
	documentVCAPIWith(api, vcapiCredentialsStatus, reflect.TypeFor[vcStatusRequest](), reflect.TypeFor[vcStatusWire](), "200",
		"changed", "the request could not be read: problemDetails says why")
}

// documentVCAPI describes a VC-API operation's JSON body (the handler
// reads it raw, so that whatever it holds is answered in the VC-API's
// shape) and its 400 answer. The body is not marked required: huma would
// answer a missing one itself, as a problem, and the operation answers
// it 400 PARSING_ERROR.
func documentVCAPI(api huma.API, path string, request reflect.Type) {
	documentVCAPIWith(api, path, request, reflect.TypeFor[vcResultWire](), "200", "verified",
		"not verified, or the request could not be read: problemDetails says why")
}

// documentVCAPIWith is documentVCAPI for an operation answering status
// ok (described as okText) with result, or 400 (badText).
func documentVCAPIWith(api huma.API, path string, request, result reflect.Type, ok, okText, badText string) {
	o := api.OpenAPI().Paths[path].Post
	registry := api.OpenAPI().Components.Schemas
	o.RequestBody = &huma.RequestBody{Content: map[string]*huma.MediaType{
		"application/json": {Schema: registry.Schema(request, true, "")},
	}}
	schema := registry.Schema(result, true, "")
	if o.Responses[ok] != nil {
		o.Responses[ok].Description = okText
	}
	o.Responses["400"] = &huma.Response{Description: badText,
		Content: map[string]*huma.MediaType{"application/json": {Schema: schema}}}
}

// crossOrigin lets pages of any origin call the VC-API (vcapiPaths):
// every answer there carries Access-Control-Allow-Origin: *, the edge's
// own too (429 from the rate limit, 413), with the rate limit's headers
// exposed; a preflight (OPTIONS) is answered here, 204, before the rate
// limit, allowing a POST of JSON. Nothing of a caller's is involved (no
// token, no cookie), so any origin may read the answer.
func crossOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !vcapiPaths[r.URL.Path] {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		if r.Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Content-Type, Accept, Accept-Language, Idempotency-Key")
			h.Set("Access-Control-Max-Age", "86400")
			h.Set("Allow", "POST, OPTIONS")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.Set("Access-Control-Expose-Headers", "Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset")
		next.ServeHTTP(w, r)
	})
}
