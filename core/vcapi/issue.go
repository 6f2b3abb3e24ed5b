package vcapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/statuslist"
	"github.com/credence-dev/credence/ports"
)

// MaxIssueBytes bounds the credential an issue request carries: as large
// as a presented credential may be once signed.
const MaxIssueBytes = 48 << 10

// baseContext is the VCDM 2.0 base context, first of every credential.
const baseContext = "https://www.w3.org/ns/credentials/v2"

// VCIssuer signs and records a VCDM 2.0 credential that passed the rules
// here, for the organization of actor (an API key), with an embedded Data
// Integrity proof too when proof is set; and changes the status of what
// it issued: credentials.Service does. A domain error (a refused actor,
// the quota) is the caller's to answer.
type VCIssuer interface {
	IssueVC(ctx context.Context, actor domain.Actor, credential map[string]any, proof bool) (credentials.IssuedVC, error)
	ChangeVCStatus(ctx context.Context, actor domain.Actor, ch credentials.VCStatusChange) (int, error)
}

// UseIssuer has the Service answer issue requests with i, after checking
// each credential's terms with terms. Call it before the Service serves.
func (s *Service) UseIssuer(i VCIssuer, terms ports.TermChecker) { s.issuer, s.terms = i, terms }

// Issued is the answer to an issue request: the credential (enveloped,
// VCDM 2.0 §4.13, or with its embedded proof), or the problems that
// refused the request.
type Issued struct {
	Credential json.RawMessage
	Problems   []Problem
}

// The securing mechanisms an issue request may ask for (its
// options.securingMechanism).
const (
	// SecuredEnveloped: a compact JWS (vc+jwt), answered enveloped; the
	// default.
	SecuredEnveloped = "vc+jwt"
	// SecuredDataIntegrity: the JWS too, and the document answered with
	// its embedded Data Integrity proof (eddsa-rdfc-2022).
	SecuredDataIntegrity = "DataIntegrity"
)

// IssueCredential answers an issue request, the JSON {credential,
// options}: the credential is checked against what VCDM 2.0 requires,
// then signed as given by the organization of actor, which adds its
// issuer id, its status list entries and the JWT claims that mirror the
// document. An error means no answer: a domain error (the actor may not
// issue, the quota) or the store.
func (s *Service) IssueCredential(ctx context.Context, actor domain.Actor, request []byte) (Issued, error) {
	if s.issuer == nil {
		return Issued{Problems: []Problem{problem(Unsupported, "this server does not issue through the VC-API")}}, nil
	}
	req, ok := object(request)
	if !ok {
		return refused(problem(ParsingError, "the request must be a JSON object {credential, options}")), nil
	}
	mechanism := SecuredEnveloped
	if opts := req["options"]; present(opts) {
		o, ok := object(opts)
		if !ok {
			return refused(problem(MalformedValueError, "options must be an object")), nil
		}
		if m := o["securingMechanism"]; present(m) {
			if json.Unmarshal(m, &mechanism) != nil || mechanism != SecuredEnveloped && mechanism != SecuredDataIntegrity {
				return refused(problem(MalformedValueError, "options.securingMechanism must be %q (the default) or %q",
					SecuredEnveloped, SecuredDataIntegrity)), nil
			}
		}
	}
	raw := bytes.TrimSpace(req["credential"])
	switch {
	case !present(raw):
		return refused(problem(MalformedValueError, "credential is required: the VCDM 2.0 credential to sign")), nil
	case len(raw) > MaxIssueBytes:
		return refused(problem(RangeError, "credential is %d bytes; at most %d are signed", len(raw), MaxIssueBytes)), nil
	}
	doc, err := decodeObject(raw)
	if err != nil {
		return refused(problem(MalformedValueError, "credential must be a JSON object")), nil
	}
	if key, repeated := credentials.RepeatedMember(raw); repeated {
		// Readers disagree on which of "exp" and "Exp" counts.
		return refused(problem(MalformedValueError, "credential: the member %q appears twice in one object (ignoring case)", key)), nil
	}
	if bad := CheckCredential(doc); len(bad) > 0 {
		return refused(bad...), nil
	}
	if err := s.terms.CheckTerms(raw); err != nil {
		return refused(problem(MalformedValueError, "credential: its JSON-LD does not expand (every term must be defined by a context Credence holds, "+
			"and no protected term redefined): %v", err)), nil
	}
	vc, err := s.issuer.IssueVC(ctx, actor, doc, mechanism == SecuredDataIntegrity)
	if invalid, ok := errors.AsType[*domain.ValidationError](err); ok {
		return refused(validationProblems(invalid)...), nil
	}
	if errors.Is(err, credentials.ErrNoDataIntegrity) {
		return refused(problem(Unsupported, "options.securingMechanism %s: %v", SecuredDataIntegrity, credentials.ErrNoDataIntegrity)), nil
	}
	if err != nil {
		return Issued{}, err
	}
	if mechanism == SecuredDataIntegrity {
		return Issued{Credential: vc.Secured}, nil
	}
	envelope, err := json.Marshal(map[string]any{
		"@context": []string{baseContext},
		"type":     credentialEnvelope.typ,
		"id":       "data:application/vc+jwt," + vc.JWS,
	})
	return Issued{Credential: envelope}, err
}

func refused(problems ...Problem) Issued { return Issued{Problems: problems} }

// decodeObject reads a JSON object keeping its numbers as written.
func decodeObject(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if doc == nil || dec.More() {
		return nil, errors.New("not one JSON object")
	}
	return doc, nil
}

// CheckCredential returns what VCDM 2.0 forbids in a credential to be
// issued (none: it may be signed). The JSON-LD expansion, which refuses
// undefined terms and redefined protected ones, is the TermChecker's.
// The issuer is not checked here: it must be the signing organization's,
// which only the VCIssuer knows.
func CheckCredential(doc map[string]any) []Problem {
	var out []Problem
	bad := func(format string, args ...any) { out = append(out, problem(MalformedValueError, format, args...)) }

	switch ctx := doc["@context"].(type) {
	case []any:
		if len(ctx) == 0 || ctx[0] != baseContext {
			bad("@context must begin with %s", baseContext)
		}
		for i, c := range ctx {
			switch c := c.(type) {
			case string:
				if !isURL(c) {
					bad("@context[%d] is not a URL: %q", i, c)
				}
			case map[string]any:
			default:
				bad("@context[%d] must be a context URL or an object", i)
			}
		}
	default:
		bad("@context is required: an array beginning with %s", baseContext)
	}

	types, ok := stringSet(doc["type"])
	if !ok || !slices.Contains(types, "VerifiableCredential") {
		bad("type is required: VerifiableCredential, alone or with more types, as a string or an array of strings")
	}
	for _, t := range types {
		if slices.Contains(badgeTypes, t) {
			bad("type %s: Open Badges credentials are issued with POST /api/v1/orgs/{orgId}/credentials, under a badge", t)
		}
	}
	for _, claim := range jwtClaims {
		if _, ok := doc[claim]; ok {
			bad("%s: the JWT claims (iss, sub, aud, exp, nbf, iat, jti, cnf, vc, vp) are Credence's to set; say validFrom and validUntil", claim)
		}
	}
	if depth, terms := shape(doc, 0, false); depth > MaxDepth {
		bad("credential: nested more than %d levels deep", MaxDepth)
	} else if terms > MaxContextTerms {
		bad("credential: its inline contexts define %d terms; at most %d are read", terms, MaxContextTerms)
	}
	if v, ok := doc["id"]; ok {
		if s, isString := v.(string); !isString || !isURL(s) {
			bad("id must be a single URL")
		}
	}
	checkIDs(doc, "", bad)

	switch subj := doc["credentialSubject"].(type) {
	case map[string]any:
		if len(subj) == 0 {
			bad("credentialSubject must make at least one claim")
		}
	case []any:
		if len(subj) == 0 {
			bad("credentialSubject must hold at least one subject")
		}
		for i, s := range subj {
			if m, ok := s.(map[string]any); !ok || len(m) == 0 {
				bad("credentialSubject[%d] must be an object making at least one claim", i)
			}
		}
	default:
		bad("credentialSubject is required: an object, or an array of objects")
	}

	if issuer, ok := doc["issuer"]; ok {
		switch is := issuer.(type) {
		case string:
			if !isURL(is) {
				bad("issuer must be a URL (the issuer's DID) or an object with one as its id")
			}
		case map[string]any:
			checkLanguageValues(is, "issuer.", bad)
		default:
			bad("issuer must be a URL or an object with an id")
		}
	}
	checkLanguageValues(doc, "", bad)

	var from, until time.Time
	for _, m := range []struct {
		name string
		at   *time.Time
	}{{"validFrom", &from}, {"validUntil", &until}} {
		v, ok := doc[m.name]
		if !ok {
			continue
		}
		s, _ := v.(string)
		t, err := parseDateTimeStamp(s)
		if err != nil {
			bad("%s must be an XML Schema dateTimeStamp (2026-01-01T00:00:00Z, an offset or Z required)", m.name)
			continue
		}
		*m.at = t
	}
	if !from.IsZero() && !until.IsZero() && until.Before(from) {
		bad("validUntil (%s) is before validFrom (%s)", until.Format(time.RFC3339), from.Format(time.RFC3339))
	}

	for _, m := range []struct {
		name   string
		needID bool
	}{{"credentialStatus", false}, {"credentialSchema", true}, {"termsOfUse", false}, {"evidence", false}, {"refreshService", false}} {
		v, ok := doc[m.name]
		if !ok {
			continue
		}
		items, isList := v.([]any)
		if !isList {
			items = []any{v}
		}
		for i, item := range items {
			where := m.name
			if isList {
				where = fmt.Sprintf("%s[%d]", m.name, i)
			}
			obj, ok := item.(map[string]any)
			if !ok {
				bad("%s must be an object", where)
				continue
			}
			if types, ok := stringSet(obj["type"]); !ok || len(types) == 0 {
				bad("%s.type is required: a string or an array of strings", where)
			}
			if _, hasID := obj["id"]; m.needID && !hasID {
				bad("%s.id is required", where)
			}
		}
	}
	if v, ok := doc["relatedResource"]; ok {
		checkRelatedResources(v, bad)
	}
	if _, ok := doc["proof"]; ok {
		bad("proof: the credential to issue must not carry a proof; Credence secures it")
	}
	return out
}

// The Open Badges types, which Credence issues under a badge only: a
// document of them signed here must be one of its badge credentials.
var badgeTypes = []string{"OpenBadgeCredential", "AchievementCredential", "EndorsementCredential"}

// jwtClaims are the registered JWT claim names (and VC-JWT 1.1's) a
// credential signed as a JWT carries at its top level: Credence sets iss,
// nbf and exp from the document, and no caller may make them contradict
// it.
var jwtClaims = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "cnf", "vc", "vp"}

// Bounds of what the JSON-LD expansion is given: nesting and the terms
// inline contexts define (each scoped context is processed where it
// applies, so their number multiplies the work).
const (
	MaxDepth        = 32
	MaxContextTerms = 256
	// MaxURL bounds an id: an index entry must hold it.
	MaxURL = 2048
)

// shape returns the depth of v and the number of members of the
// objects inside its @context values (the terms they define).
func shape(v any, depth int, inContext bool) (int, int) {
	deepest, terms := depth, 0
	switch v := v.(type) {
	case map[string]any:
		if inContext {
			terms += len(v)
		}
		for k, member := range v {
			d, n := shape(member, depth+1, inContext || k == "@context")
			deepest, terms = max(deepest, d), terms+n
		}
	case []any:
		for _, item := range v {
			d, n := shape(item, depth+1, inContext)
			deepest, terms = max(deepest, d), terms+n
		}
	}
	return deepest, terms
}

// checkIDs requires every id member at any depth (contexts aside) to be
// one URL.
func checkIDs(v any, path string, bad func(string, ...any)) {
	switch v := v.(type) {
	case map[string]any:
		for k, member := range v {
			if k == "@context" {
				continue
			}
			p := k
			if path != "" {
				p = path + "." + k
			}
			if k == "id" && path != "" {
				if s, ok := member.(string); !ok || !isURL(s) {
					bad("%s must be a single URL", p)
				}
			}
			checkIDs(member, p, bad)
		}
	case []any:
		for i, item := range v {
			checkIDs(item, fmt.Sprintf("%s[%d]", path, i), bad)
		}
	}
}

// checkLanguageValues checks obj's name and description: strings, or
// language value objects ({@value, @language, @direction}), one or many.
func checkLanguageValues(obj map[string]any, prefix string, bad func(string, ...any)) {
	for _, name := range []string{"name", "description"} {
		v, ok := obj[name]
		if !ok {
			continue
		}
		items, isList := v.([]any)
		if !isList {
			items = []any{v}
		}
		for _, item := range items {
			switch item := item.(type) {
			case string:
			case map[string]any:
				_, isString := item["@value"].(string)
				extra := false
				for k := range item {
					if k != "@value" && k != "@language" && k != "@direction" {
						extra = true
					}
				}
				if !isString || extra {
					bad("%s%s must be a string or a value object {@value, @language, @direction}", prefix, name)
				}
			default:
				bad("%s%s must be a string or a value object {@value, @language, @direction}", prefix, name)
			}
		}
	}
}

// checkRelatedResources checks relatedResource: objects, each with a
// distinct id and at least one digest (digestSRI or digestMultibase).
// The digests are not checked against the resources: nothing is fetched.
func checkRelatedResources(v any, bad func(string, ...any)) {
	items, isList := v.([]any)
	if !isList {
		items = []any{v}
	}
	seen := map[string]bool{}
	for i, item := range items {
		obj, ok := item.(map[string]any)
		if !ok {
			bad("relatedResource[%d] must be an object {id, digestSRI or digestMultibase}", i)
			continue
		}
		id, _ := obj["id"].(string)
		switch {
		case id == "":
			bad("relatedResource[%d].id is required", i)
		case seen[id]:
			bad("relatedResource[%d].id %q is given twice", i, id)
		}
		seen[id] = true
		sri, hasSRI := obj["digestSRI"].(string)
		mb, hasMB := obj["digestMultibase"].(string)
		if (!hasSRI || !sriRE.MatchString(sri)) && (!hasMB || !multibaseRE.MatchString(mb)) {
			bad("relatedResource[%d] needs a digestSRI (sha256-, sha384- or sha512- and base64) or a digestMultibase (u and base64url)", i)
		}
	}
}

var (
	sriRE       = regexp.MustCompile(`^sha(256|384|512)-[A-Za-z0-9+/]+={0,2}$`)
	multibaseRE = regexp.MustCompile(`^u[A-Za-z0-9_-]+$`)
)

// stringSet reads a string or an array of strings.
func stringSet(v any) ([]string, bool) {
	switch v := v.(type) {
	case string:
		return []string{v}, true
	case []any:
		out := make([]string, 0, len(v))
		for _, item := range v {
			s, ok := item.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

// isURL reports whether s is an absolute URL (RFC 3986: a scheme, then
// no spaces or controls), as VCDM 2.0 requires of ids.
func isURL(s string) bool {
	if s == "" || len(s) > MaxURL || strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme != ""
}

// dateTimeStampRE is XML Schema's dateTimeStamp: a dateTime with its
// time zone.
var dateTimeStampRE = regexp.MustCompile(`^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`)

// parseDateTimeStamp reads an XML Schema dateTimeStamp.
func parseDateTimeStamp(s string) (time.Time, error) {
	if !dateTimeStampRE.MatchString(s) {
		return time.Time{}, fmt.Errorf("%q is not a dateTimeStamp", s)
	}
	return time.Parse(time.RFC3339Nano, s)
}

// validationProblems are the fields of a validation error as problems.
func validationProblems(v *domain.ValidationError) []Problem {
	out := make([]Problem, 0, len(v.Fields))
	for _, f := range v.Fields {
		out = append(out, problem(MalformedValueError, "%s", f.Message))
	}
	return out
}

// StatusUpdate is the answer to a status request: how many credentials
// it changed, or the problems that refused it.
type StatusUpdate struct {
	Changed  int
	Problems []Problem
}

// UpdateStatus answers a status request, the JSON {credentialId,
// credentialStatus: {type: "BitstringStatusListEntry", statusPurpose},
// status, reason}: it sets (status true or absent) or clears (false) the
// bit of statusPurpose ("revocation", final, or "suspension") of every
// credential the organization of actor issued through the VC-API with
// the id credentialId. An error means no answer: a domain error (no such
// credential, the change is refused, the actor may not) or the store.
func (s *Service) UpdateStatus(ctx context.Context, actor domain.Actor, request []byte) (StatusUpdate, error) {
	if s.issuer == nil {
		return StatusUpdate{Problems: []Problem{problem(Unsupported, "this server does not issue through the VC-API")}}, nil
	}
	var req struct {
		CredentialID     *string         `json:"credentialId"`
		CredentialStatus json.RawMessage `json:"credentialStatus"`
		Status           *bool           `json:"status"`
		Reason           *string         `json:"reason"`
	}
	if _, ok := object(request); !ok || json.Unmarshal(request, &req) != nil {
		return StatusUpdate{Problems: []Problem{problem(ParsingError,
			"the request must be a JSON object {credentialId, credentialStatus: {type, statusPurpose}, status, reason}")}}, nil
	}
	var problems []Problem
	if req.CredentialID == nil || *req.CredentialID == "" {
		problems = append(problems, problem(MalformedValueError, "credentialId is required: the id of a credential issued here"))
	}
	entries := []json.RawMessage{req.CredentialStatus}
	if list, ok := values(req.CredentialStatus); ok && bytes.HasPrefix(bytes.TrimSpace(req.CredentialStatus), []byte("[")) {
		entries = list
	}
	var purpose statuslist.Purpose
	if len(entries) != 1 {
		problems = append(problems, problem(MalformedValueError, "credentialStatus must be one entry {type, statusPurpose}"))
	} else {
		var e struct {
			Type          *string `json:"type"`
			StatusPurpose string  `json:"statusPurpose"`
		}
		p, ok := statuslist.Purpose(""), false
		if json.Unmarshal(entries[0], &e) == nil {
			p, ok = statuslist.ParsePurpose(e.StatusPurpose)
		}
		switch {
		case !ok:
			problems = append(problems, problem(MalformedValueError, "credentialStatus.statusPurpose must be revocation or suspension"))
		case e.Type != nil && *e.Type != "BitstringStatusListEntry":
			problems = append(problems, problem(MalformedValueError, "credentialStatus.type must be BitstringStatusListEntry"))
		}
		purpose = p
	}
	if len(problems) > 0 {
		return StatusUpdate{Problems: problems}, nil
	}
	ch := credentials.VCStatusChange{VCID: *req.CredentialID, Purpose: purpose, Set: req.Status == nil || *req.Status}
	if req.Reason != nil {
		ch.Reason = strings.TrimSpace(*req.Reason)
	}
	n, err := s.issuer.ChangeVCStatus(ctx, actor, ch)
	return StatusUpdate{Changed: n}, err
}
