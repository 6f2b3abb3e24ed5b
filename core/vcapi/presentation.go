package vcapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/credence-dev/credence/core/signing"
)

// clockSkew is how far ahead of this server's clock a presentation's
// nbf may be: a holder's device clock runs a little off.
const clockSkew = time.Minute

// maxEcho bounds what a detail repeats of a value it was sent.
const maxEcho = 200

// VerifyPresentation answers a verify-presentation request, the JSON
// {verifiablePresentation, options: {challenge?, domain?}}: the
// presentation (enveloped: its holder's signature, then its nonce and aud
// against the challenge and domain when the options give them), then
// every credential it carries, as VerifyCredential verifies one. It is
// verified when all are. A presentation that carries no proof (VC-API's
// proofless request, {presentation}) is not: nothing shows that its
// holder presented it; its credentials can be sent to VerifyCredential.
// Other options are ignored. An error means no answer could be made.
func (s *Service) VerifyPresentation(ctx context.Context, request []byte) (Result, error) {
	req, ok := object(request)
	if !ok {
		return failed(problem(ParsingError, "the request must be a JSON object {verifiablePresentation, options}")), nil
	}
	opts, p := presentationOptions(req["options"])
	if p != nil {
		return failed(*p), nil
	}
	vp := req["verifiablePresentation"]
	switch {
	case present(vp):
		return s.presentation(ctx, vp, opts)
	case present(req["presentation"]):
		return failed(problem(Unsupported, "a presentation without a proof is not verified here: nothing shows that its holder presented it; "+
			"send an EnvelopedVerifiablePresentation as verifiablePresentation, or each credential to POST /credentials/verify")), nil
	}
	return failed(problem(MalformedValueError, "verifiablePresentation is required")), nil
}

// presentationOptions reads the options a presentation is verified
// with; a challenge or domain must be a non-empty string.
func presentationOptions(raw json.RawMessage) (PresentationOptions, *Problem) {
	var opts PresentationOptions
	if !present(raw) {
		return opts, nil
	}
	obj, ok := object(raw)
	if !ok {
		p := problem(MalformedValueError, "options must be an object")
		return opts, &p
	}
	for name, dst := range map[string]*string{"challenge": &opts.Challenge, "domain": &opts.Domain} {
		if !present(obj[name]) {
			continue
		}
		if json.Unmarshal(obj[name], dst) != nil || *dst == "" {
			p := problem(MalformedValueError, "options.%s must be a non-empty string", name)
			return opts, &p
		}
	}
	return opts, nil
}

// presentation verifies the request's presentation, then the credentials
// it carries.
func (s *Service) presentation(ctx context.Context, raw json.RawMessage, opts PresentationOptions) (Result, error) {
	const path = "verifiablePresentation"
	obj, ok := object(raw)
	if !ok {
		return failed(problem(MalformedValueError, "%s must be an object: an EnvelopedVerifiablePresentation "+
			"{\"@context\", \"type\", \"id\": \"data:application/vp+jwt,<compact JWS>\"}", path)), nil
	}
	types, ok := stringValues(obj["type"])
	var problems []Problem
	var carried json.RawMessage
	switch {
	case !ok || len(types) == 0:
		return failed(problem(MalformedValueError, "%s.type is required: a string or an array of strings", path)), nil
	case slices.Contains(types, presentationEnvelope.typ):
		compact, p := parseEnvelope(raw, presentationEnvelope, path)
		if p != nil {
			return failed(*p), nil
		}
		vp, found, genuine := s.envelopedPresentation(compact, opts)
		if !genuine {
			return failed(found...), nil
		}
		problems, carried = found, vp["verifiableCredential"]
	case present(obj["proof"]):
		if s.proofs == nil {
			return failed(problem(Unsupported, "%s is secured with an embedded proof (Data Integrity), which is not verified here yet: "+
				"send it enveloped (data:application/vp+jwt,<compact JWS>)", path)), nil
		}
		found, err := s.proofs.Presentation(ctx, raw, opts)
		if err != nil {
			return Result{}, fmt.Errorf("verify %s: %w", path, err)
		}
		problems, carried = found, obj["verifiableCredential"]
	case slices.Contains(types, "VerifiablePresentation"):
		return failed(problem(Unsupported, "%s is neither enveloped nor secured with an embedded proof: nothing shows that its holder presented it; "+
			"an unsecured presentation is not verified here (send its credentials to POST /credentials/verify)", path)), nil
	default:
		return failed(problem(MalformedValueError, "%s.type must be %s", path, presentationEnvelope.typ)), nil
	}

	list, ok := values(carried)
	switch {
	case !ok:
		return failed(append(problems, problem(MalformedValueError, "the presentation's verifiableCredential must be a credential or an array of them"))...), nil
	case len(list) > MaxCredentials:
		return failed(append(problems, problem(RangeError, "the presentation carries %d credentials: at most %d are verified at once", len(list), MaxCredentials))...), nil
	}
	for i, vc := range list {
		r, err := s.credential(ctx, vc, fmt.Sprintf("verifiableCredential[%d]", i))
		if err != nil {
			return Result{}, err
		}
		problems = append(problems, r.Problems...)
	}
	if len(problems) > 0 {
		return failed(problems...), nil
	}
	return Result{Verified: true}, nil
}

// envelopedPresentation verifies a presentation's compact JWS, signed by
// its holder's did:key (the kid names its verification method,
// did:key:z…#z…), and returns the presentation (the JWS payload, or its
// vp claim as VC-JWT 1.1 writes it). genuine is false when the
// presentation cannot be believed (its signature, signer or shape is
// wrong): found says why, and the credentials it carries are not
// verified. Otherwise found holds what was wrong with a genuine
// presentation: outside its validity (exp, nbf), or not made for the
// challenge (nonce) or domain (aud) asked.
func (s *Service) envelopedPresentation(compact []byte, opts PresentationOptions) (vp map[string]json.RawMessage, found []Problem, genuine bool) {
	fatal := func(t ProblemType, format string, args ...any) (map[string]json.RawMessage, []Problem, bool) {
		return nil, []Problem{problem(t, format, args...)}, false
	}
	tok, err := signing.ParseToken(compact)
	if err != nil {
		return fatal(ParsingError, "verifiablePresentation.id: the data is not a compact JWS")
	}
	kid := tok.Header.KID
	did, _, _ := strings.Cut(kid, "#")
	switch {
	case kid == "":
		return fatal(MalformedValueError, "the presentation's JWS header has no kid: it must name the holder's did:key verification method (did:key:z…#z…)")
	case !strings.HasPrefix(did, signing.DIDKeyPrefix):
		return fatal(Unsupported, "the presentation is signed with the key %q: only holders identified by a did:key are verified here", echo(kid))
	case kid != signing.DIDKeyMethod(did):
		return fatal(MalformedValueError, "the presentation's kid %q must be its did:key's verification method, did:key:<key>#<key>", echo(kid))
	}
	key, err := signing.ResolveDIDKey(did)
	switch {
	case errors.Is(err, signing.ErrDIDKeyUnsupported):
		return fatal(Unsupported, "the holder's %s: %v", echo(did), err)
	case err != nil:
		return fatal(MalformedValueError, "the holder's did:key cannot be read: %v", err)
	}
	payload, err := key.Verify(tok)
	if err != nil {
		return fatal(CryptographicSecurityError, "the presentation's signature does not verify with %s (%s)", echo(kid), key.Algorithm())
	}
	claims, ok := object(payload)
	if !ok {
		return fatal(ParsingError, "the presentation's JWS payload is not a JSON object")
	}
	vp = claims
	if !present(claims["type"]) && present(claims["vp"]) { // VC-JWT 1.1: the presentation is the vp claim
		if vp, ok = object(claims["vp"]); !ok {
			return fatal(MalformedValueError, "presentation: the vp claim must be an object")
		}
	}
	if p := checkContext(vp["@context"], "presentation"); p != nil {
		return nil, []Problem{*p}, false
	}
	if types, ok := stringValues(vp["type"]); !ok || !slices.Contains(types, "VerifiablePresentation") {
		return fatal(MalformedValueError, "presentation.type must include VerifiablePresentation")
	}
	if present(claims["iss"]) {
		var iss string
		if json.Unmarshal(claims["iss"], &iss) != nil || iss != did {
			return fatal(CryptographicSecurityError, "the presentation's iss is not the holder whose key signed it (%s)", did)
		}
	}
	if present(vp["holder"]) {
		if holder, ok := holderID(vp["holder"]); !ok || holder != did {
			return fatal(CryptographicSecurityError, "presentation.holder %q is not the holder whose key signed it (%s)", echo(holder), did)
		}
	}

	now := s.clock.Now()
	if present(claims["exp"]) {
		switch exp, ok := numericDate(claims["exp"]); {
		case !ok:
			found = append(found, problem(MalformedValueError, "the presentation's exp must be a NumericDate (seconds since 1970)"))
		case !now.Before(exp):
			found = append(found, problem(Expired, "the presentation expired on %s", exp.UTC().Format(time.RFC3339)))
		}
	}
	if present(claims["nbf"]) {
		switch nbf, ok := numericDate(claims["nbf"]); {
		case !ok:
			found = append(found, problem(MalformedValueError, "the presentation's nbf must be a NumericDate (seconds since 1970)"))
		case now.Add(clockSkew).Before(nbf):
			found = append(found, problem(NotYetValid, "the presentation is not valid before %s", nbf.UTC().Format(time.RFC3339)))
		}
	}
	if opts.Challenge != "" {
		var nonce string
		switch {
		case !present(claims["nonce"]):
			found = append(found, problem(InvalidChallengeError, "the presentation has no nonce, and the challenge %q was asked for", echo(opts.Challenge)))
		case json.Unmarshal(claims["nonce"], &nonce) != nil || nonce != opts.Challenge:
			found = append(found, problem(InvalidChallengeError, "the presentation's nonce %q is not the challenge %q", echo(nonce), echo(opts.Challenge)))
		}
	}
	if opts.Domain != "" {
		aud, ok := stringValues(claims["aud"])
		switch {
		case !ok || len(aud) == 0:
			found = append(found, problem(InvalidDomainError, "the presentation has no aud, and the domain %q was asked for", echo(opts.Domain)))
		case !slices.Contains(aud, opts.Domain):
			found = append(found, problem(InvalidDomainError, "the presentation's aud %q does not name the domain %q", echo(strings.Join(aud, " ")), echo(opts.Domain)))
		}
	}
	return vp, found, true
}

// holderID reads a holder: a URL, or an object with an id.
func holderID(raw json.RawMessage) (string, bool) {
	var id string
	if json.Unmarshal(raw, &id) == nil {
		return id, true
	}
	obj, ok := object(raw)
	if !ok || json.Unmarshal(obj["id"], &id) != nil {
		return "", false
	}
	return id, true
}

// numericDate reads a JWT NumericDate: seconds since 1970, before the
// year 10000.
func numericDate(raw json.RawMessage) (time.Time, bool) {
	var f float64
	if json.Unmarshal(raw, &f) != nil || f < 0 || f >= 253402300800 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

// echo shortens a value a detail repeats.
func echo(s string) string {
	if len(s) <= maxEcho {
		return s
	}
	return s[:maxEcho] + "…"
}
