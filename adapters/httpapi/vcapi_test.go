package httpapi

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
	"github.com/credence-dev/credence/ports"
)

const (
	vcdmTypes          = "https://www.w3.org/TR/vc-data-model#"
	parsingError       = vcdmTypes + "PARSING_ERROR"
	cryptographicError = vcdmTypes + "CRYPTOGRAPHIC_SECURITY_ERROR"
	malformedError     = vcdmTypes + "MALFORMED_VALUE_ERROR"
	credenceTypes      = "https://github.com/credence-dev/credence/blob/main/docs/vc-api.md#"
	revokedProblem     = credenceTypes + "CREDENTIAL_REVOKED"
	suspendedProblem   = credenceTypes + "CREDENTIAL_SUSPENDED"
	unsupportedProblem = credenceTypes + "UNSUPPORTED"
	challengeError     = "https://w3id.org/security#INVALID_CHALLENGE_ERROR"
	domainError        = "https://w3id.org/security#INVALID_DOMAIN_ERROR"
)

// envelope wraps a compact JWS as VCDM 2.0 does: an enveloped credential
// (or presentation) whose id is a data: URL of mediaType.
func envelope(typ, mediaType, jws string) map[string]any {
	return map[string]any{"@context": []string{"https://www.w3.org/ns/credentials/v2"}, "type": typ, "id": "data:" + mediaType + "," + jws}
}

func envelopedVC(jws string) map[string]any {
	return envelope("EnvelopedVerifiableCredential", "application/vc+jwt", jws)
}

// vcapiVerify posts body to a VC-API verification endpoint and returns
// the answer's status and body, which must be the VC-API's JSON:
// verified with no problems (200), or not with at least one (400).
func vcapiVerify(t testing.TB, s *testServer, path string, body any) (int, vcResultWire) {
	t.Helper()
	w := s.do(http.MethodPost, path, "", body)
	var r vcResultWire
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("POST %s: %d %s %s", path, w.Code, ct, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil || r.ProblemDetails == nil {
		t.Fatalf("POST %s: %d, not the VC-API's answer (%v): %s", path, w.Code, err, w.Body)
	}
	switch {
	case w.Code == http.StatusOK && r.Verified && len(r.ProblemDetails) == 0:
	case w.Code == http.StatusBadRequest && !r.Verified && len(r.ProblemDetails) > 0:
	default:
		t.Fatalf("POST %s: %d %s", path, w.Code, w.Body)
	}
	for _, p := range r.ProblemDetails {
		if p.Type == "" || p.Title == "" || p.Detail == "" || !strings.HasSuffix(p.Type, "#"+p.Title) {
			t.Errorf("POST %s: problem %+v", path, p)
		}
	}
	return w.Code, r
}

// wantVerified requires the request to verify.
func wantVerified(t testing.TB, s *testServer, path string, body any) {
	t.Helper()
	if code, r := vcapiVerify(t, s, path, body); code != http.StatusOK {
		t.Fatalf("POST %s: not verified: %+v", path, r.ProblemDetails)
	}
}

// wantRefused requires the request not to verify, with a problem of
// typ whose detail holds detail.
func wantRefused(t testing.TB, s *testServer, path string, body any, typ, detail string) vcResultWire {
	t.Helper()
	code, r := vcapiVerify(t, s, path, body)
	if code != http.StatusBadRequest {
		t.Fatalf("POST %s: verified, want a %s problem", path, typ)
	}
	for _, p := range r.ProblemDetails {
		if p.Type == typ && strings.Contains(p.Detail, detail) {
			return r
		}
	}
	t.Fatalf("POST %s: problems %+v, want a %s saying %q", path, r.ProblemDetails, typ, detail)
	return r
}

// tamperName re-signs nothing: it changes the credential's name in the
// payload of jws and keeps the issuer's signature.
func tamperName(t *testing.T, jws string) string {
	t.Helper()
	parts := strings.Split(jws, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(payload, &doc); err != nil {
		t.Fatal(err)
	}
	doc["name"] = "Forged Expert"
	changed, _ := json.Marshal(doc)
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(changed) + "." + parts[2]
}

// A genuine credential, enveloped as VCDM 2.0 and the W3C suites write
// it, verifies as POST /api/v1/verify verifies the .jwt: 200 verified;
// changed, revoked, suspended, or signed by an issuer not published here,
// it does not, and the problem says why.
func TestVCAPIVerifyCredential(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer("")
	b := s.createBadge(owner.Token, o.ID, 0)
	c := s.issue(owner.Token, o.ID, b.ID, uniqueEmail("vcapi"))

	wantVerified(t, s, "/credentials/verify", map[string]any{"verifiableCredential": envelopedVC(c.JWT)})
	wantVerified(t, s, "/credentials/verify", map[string]any{"verifiableCredential": envelopedVC(c.JWT), "options": map[string]any{"checks": []string{"proof", "credentialStatus"}}})
	// The media types of VC-JOSE-COSE's drafts, and plain JWT as the W3C
	// VCDM 2.0 suite sends it; the ;-form, base64 and percent-encoding.
	for _, id := range []string{
		"data:application/vc-ld+jwt," + c.JWT,
		"data:application/vc+ld+jwt," + c.JWT,
		"data:application/jwt," + c.JWT,
		"DATA:Application/VC+JWT," + c.JWT,
		"data:application/vc+jwt;" + c.JWT,
		"data:application/vc+jwt;charset=utf-8," + c.JWT,
		"data:application/vc+jwt;base64," + base64.StdEncoding.EncodeToString([]byte(c.JWT)),
		"data:application/vc+jwt," + strings.ReplaceAll(c.JWT, ".", "%2E"),
	} {
		vc := envelopedVC(c.JWT)
		vc["id"] = id
		wantVerified(t, s, "/credentials/verify", map[string]any{"verifiableCredential": vc})
	}
	vc := envelopedVC(c.JWT)
	vc["@context"], vc["type"] = "https://www.w3.org/ns/credentials/v2", []string{"EnvelopedVerifiableCredential"}
	wantVerified(t, s, "/credentials/verify", map[string]any{"verifiableCredential": vc})

	// Changed after signing: the signature check says so, and only it.
	r := wantRefused(t, s, "/credentials/verify", map[string]any{"verifiableCredential": envelopedVC(tamperName(t, c.JWT))}, cryptographicError, "does not verify")
	if len(r.ProblemDetails) != 1 || r.ProblemDetails[0].Check != "signature" {
		t.Errorf("a tampered credential's problems: %+v", r.ProblemDetails)
	}

	// Signed by a key whose issuer is not published here.
	_, priv, err := signing.Generate(domain.AlgES256)
	if err != nil {
		t.Fatal(err)
	}
	for kid, detail := range map[string]string{
		"did:web:credence.test:issuers:nobody-here#key-1": `no issuer "nobody-here"`,
		"did:web:elsewhere.example:issuers:x#key-1":       "not an issuer key published here",
		"did:web:credence.test:issuers:" + o.Slug + "#k9": "is not published by",
	} {
		signer, err := signing.NewSigner(priv, domain.AlgES256, kid)
		if err != nil {
			t.Fatal(err)
		}
		payload, err := base64.RawURLEncoding.DecodeString(strings.Split(c.JWT, ".")[1])
		if err != nil {
			t.Fatal(err)
		}
		forged, err := signer.Sign(payload)
		if err != nil {
			t.Fatal(err)
		}
		wantRefused(t, s, "/credentials/verify", map[string]any{"verifiableCredential": envelopedVC(forged)}, cryptographicError, detail)
	}

	// Suspended, then revoked: not verified, the problem names it.
	credPath := "/api/v1/orgs/" + o.ID + "/credentials/" + c.ID
	var got struct {
		StatusList statusListWire `json:"statusList"`
	}
	s.expect(http.StatusOK, http.MethodPost, credPath+"/suspend", owner.Token, map[string]string{"reason": "under review"}, &got)
	r = wantRefused(t, s, "/credentials/verify", map[string]any{"verifiableCredential": envelopedVC(c.JWT)}, suspendedProblem, "suspended")
	if r.ProblemDetails[0].Check != "revocation" || !strings.Contains(r.ProblemDetails[0].Detail, "under review") {
		t.Errorf("a suspended credential's problems: %+v", r.ProblemDetails)
	}
	// Unsuspended, it verifies again once the issuer's list is published
	// without it (until then the published list still says suspended).
	// The suspension is waited for first: before it is published, the
	// list reads "not suspended" already.
	s.eventuallyBit(got.StatusList.SuspensionList, got.StatusList.Index, true)
	s.expect(http.StatusOK, http.MethodPost, credPath+"/unsuspend", owner.Token, nil, &got)
	s.eventuallyBit(got.StatusList.SuspensionList, got.StatusList.Index, false)
	wantVerified(t, s, "/credentials/verify", map[string]any{"verifiableCredential": envelopedVC(c.JWT)})
	s.expect(http.StatusOK, http.MethodPost, credPath+"/revoke", owner.Token, map[string]string{"reason": "issued in error"}, nil)
	wantRefused(t, s, "/credentials/verify", map[string]any{"verifiableCredential": envelopedVC(c.JWT)}, revokedProblem, "issued in error")
}

// Whatever cannot be read is answered 400 in the VC-API's shape, with a
// problem saying what: never a 500, never a problem+json of the API.
func TestVCAPIRefusesMalformedRequests(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer("")
	b := s.createBadge(owner.Token, o.ID, 0)
	c := s.issue(owner.Token, o.ID, b.ID, uniqueEmail("vcapi"))
	with := func(change func(map[string]any)) map[string]any {
		vc := envelopedVC(c.JWT)
		change(vc)
		return map[string]any{"verifiableCredential": vc}
	}
	for name, tc := range map[string]struct {
		body         any
		typ, problem string
	}{
		"not JSON":             {"{verifiableCredential:", parsingError, "JSON object"},
		"empty body":           {"", parsingError, "JSON object"},
		"an array":             {"[]", parsingError, "JSON object"},
		"no credential":        {map[string]any{"options": map[string]any{}}, malformedError, "verifiableCredential is required"},
		"options not object":   {map[string]any{"verifiableCredential": envelopedVC(c.JWT), "options": "all"}, malformedError, "options"},
		"the JWS as a string":  {map[string]any{"verifiableCredential": c.JWT}, malformedError, "must be an object"},
		"no type":              {with(func(m map[string]any) { delete(m, "type") }), malformedError, "type is required"},
		"type not enveloped":   {with(func(m map[string]any) { m["type"] = "VerifiableCredential" }), malformedError, "nothing secures it"},
		"no context":           {with(func(m map[string]any) { delete(m, "@context") }), malformedError, "@context"},
		"empty context":        {with(func(m map[string]any) { m["@context"] = []string{} }), malformedError, "@context"},
		"examples context":     {with(func(m map[string]any) { m["@context"] = "https://www.w3.org/ns/credentials/examples/v2" }), malformedError, "@context"},
		"id the JWS alone":     {with(func(m map[string]any) { m["id"] = c.JWT }), malformedError, "not a data: URL"},
		"id a number":          {with(func(m map[string]any) { m["id"] = 7 }), malformedError, "id must be a data: URL"},
		"id no comma":          {with(func(m map[string]any) { m["id"] = "data:application/vc+jwt" }), malformedError, "no comma"},
		"id no media type":     {with(func(m map[string]any) { m["id"] = "data:," + c.JWT }), malformedError, "no media type"},
		"id bad escape":        {with(func(m map[string]any) { m["id"] = "data:application/vc+jwt," + c.JWT + "%zz" }), malformedError, "percent"},
		"id bad base64":        {with(func(m map[string]any) { m["id"] = "data:application/vc+jwt;base64," + c.JWT }), malformedError, "base64"},
		"id no data":           {with(func(m map[string]any) { m["id"] = "data:application/vc+jwt," }), malformedError, "no data"},
		"sd-jwt":               {with(func(m map[string]any) { m["id"] = "data:application/vc+sd-jwt," + c.JWT }), unsupportedProblem, "application/vc+sd-jwt"},
		"presentation type":    {with(func(m map[string]any) { m["id"] = "data:application/vp+jwt," + c.JWT }), unsupportedProblem, "application/vp+jwt"},
		"data not a JWS":       {with(func(m map[string]any) { m["id"] = "data:application/vc+jwt,hello" }), parsingError, "compact JWS"},
		"data a JWS with junk": {with(func(m map[string]any) { m["id"] = "data:application/vc+jwt," + c.JWT + ".x" }), parsingError, "compact JWS"},
		"a control character":  {`{"verifiableCredential":{"type":"EnvelopedVerifiableCredential","@context":"https://www.w3.org/ns/credentials/v2","id":"data:application/vc+jwt,\u0000"}}`, parsingError, "compact JWS"},
		"embedded proof": {map[string]any{"verifiableCredential": map[string]any{"@context": []string{"https://www.w3.org/ns/credentials/v2"},
			"type": []string{"VerifiableCredential"}, "issuer": "did:key:z6Mk", "credentialSubject": map[string]any{"name": "A"},
			"proof": map[string]any{"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022"}}}, cryptographicError, "not an issuer key published here"},
		"embedded proof of another suite": {map[string]any{"verifiableCredential": map[string]any{"@context": []string{"https://www.w3.org/ns/credentials/v2"},
			"type": []string{"VerifiableCredential"}, "issuer": "did:key:z6Mk", "credentialSubject": map[string]any{"name": "A"},
			"proof": map[string]any{"type": "DataIntegrityProof", "cryptosuite": "ecdsa-rdfc-2019"}}}, malformedError, "not DataIntegrityProof/eddsa-rdfc-2022"},
	} {
		t.Run(name, func(t *testing.T) {
			wantRefused(t, s, "/credentials/verify", tc.body, tc.typ, tc.problem)
		})
	}
}

// holder is a did:key holder of a presentation.
type holder struct {
	did  string
	alg  domain.Algorithm
	priv crypto.Signer
}

func newHolder(t *testing.T, alg domain.Algorithm) holder {
	t.Helper()
	var priv crypto.Signer
	var err error
	switch alg {
	case domain.AlgEdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	did, err := signing.DIDKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return holder{did: did, alg: alg, priv: priv}
}

// present signs claims as the holder: a compact JWS (typ vp+jwt) whose
// kid is its did:key's verification method.
func (h holder) present(t *testing.T, claims map[string]any) string {
	t.Helper()
	return h.presentAs(t, signing.DIDKeyMethod(h.did), claims)
}

func (h holder) presentAs(t *testing.T, kid string, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.KeyIDKey, kid)
	_ = hdr.Set(jws.TypeKey, "vp+jwt")
	signed, err := jws.Sign(payload, jws.WithKey(jwa.SignatureAlgorithm(h.alg), h.priv, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

// presentation is a VCDM 2.0 presentation of the holder carrying the
// credentials (compact JWS), enveloped, with more JWT claims.
func (h holder) presentation(jwts []string, more map[string]any) map[string]any {
	vcs := make([]any, len(jwts))
	for i, j := range jwts {
		vcs[i] = envelopedVC(j)
	}
	vp := map[string]any{"@context": []string{"https://www.w3.org/ns/credentials/v2"}, "type": []string{"VerifiablePresentation"},
		"holder": h.did, "verifiableCredential": vcs}
	for k, v := range more {
		vp[k] = v
	}
	return vp
}

func vpRequest(vpJWS string, options map[string]any) map[string]any {
	body := map[string]any{"verifiablePresentation": envelope("EnvelopedVerifiablePresentation", "application/vp+jwt", vpJWS)}
	if options != nil {
		body["options"] = options
	}
	return body
}

// A presentation signed by its did:key holder (Ed25519 or P-256)
// verifies with its credentials, with and without the challenge and
// domain it was made for; another challenge or domain, a forged
// signature, another signer than its holder, or a revoked credential
// inside, and it does not.
func TestVCAPIVerifyPresentation(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer("")
	b := s.createBadge(owner.Token, o.ID, 0)
	c1 := s.issue(owner.Token, o.ID, b.ID, uniqueEmail("vp"))
	c2 := s.issue(owner.Token, o.ID, b.ID, uniqueEmail("vp"))
	const path = "/presentations/verify"
	bound := map[string]any{"nonce": "c-123", "aud": "verifier.example"}

	for _, alg := range []domain.Algorithm{domain.AlgEdDSA, domain.AlgES256} {
		h := newHolder(t, alg)
		vp := h.present(t, h.presentation([]string{c1.JWT, c2.JWT}, bound))
		wantVerified(t, s, path, vpRequest(vp, nil))
		wantVerified(t, s, path, vpRequest(vp, map[string]any{"challenge": "c-123"}))
		wantVerified(t, s, path, vpRequest(vp, map[string]any{"challenge": "c-123", "domain": "verifier.example"}))
		wantRefused(t, s, path, vpRequest(vp, map[string]any{"challenge": "c-124"}), challengeError, `nonce "c-123" is not the challenge "c-124"`)
		wantRefused(t, s, path, vpRequest(vp, map[string]any{"challenge": "c-123", "domain": "other.example"}), domainError, "other.example")
		// Made for no challenge: refused when one is asked for.
		unbound := h.present(t, h.presentation([]string{c1.JWT}, nil))
		wantVerified(t, s, path, vpRequest(unbound, nil))
		wantRefused(t, s, path, vpRequest(unbound, map[string]any{"challenge": "c-123"}), challengeError, "no nonce")
		wantRefused(t, s, path, vpRequest(unbound, map[string]any{"domain": "verifier.example"}), domainError, "no aud")
		// As VC-JWT 1.1 writes it: the presentation in a vp claim, the
		// holder as iss (the W3C VCDM 2.0 suite's fixture does).
		v11 := h.present(t, map[string]any{"iss": h.did, "nonce": "c-123", "aud": []string{"a.example", "verifier.example"},
			"vp": h.presentation([]string{c1.JWT}, nil)})
		wantVerified(t, s, path, vpRequest(v11, map[string]any{"challenge": "c-123", "domain": "verifier.example"}))
	}

	h, other := newHolder(t, domain.AlgEdDSA), newHolder(t, domain.AlgEdDSA)
	claims := h.presentation([]string{c1.JWT}, bound)
	// Signed by another key under the holder's kid.
	wantRefused(t, s, path, vpRequest(other.presentAs(t, signing.DIDKeyMethod(h.did), claims), nil), cryptographicError, "signature does not verify")
	// A byte of the signature changed.
	vp := h.present(t, claims)
	last := "A"
	if strings.HasSuffix(vp, "A") {
		last = "Q"
	}
	wantRefused(t, s, path, vpRequest(vp[:len(vp)-1]+last, nil), cryptographicError, "signature does not verify")
	// Signed by its own key, claiming another holder.
	wantRefused(t, s, path, vpRequest(other.present(t, claims), nil), cryptographicError, "is not the holder whose key signed it")
	// Not a did:key, or not its verification method.
	wantRefused(t, s, path, vpRequest(h.presentAs(t, "did:web:holder.example#key-1", claims), nil), unsupportedProblem, "only holders identified by a did:key")
	wantRefused(t, s, path, vpRequest(h.presentAs(t, h.did, claims), nil), malformedError, "verification method")
	// Expired.
	expired := h.present(t, h.presentation([]string{c1.JWT}, map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}))
	wantRefused(t, s, path, vpRequest(expired, nil), credenceTypes+"EXPIRED", "expired")

	// A revoked credential inside: the presentation is genuine, the
	// credential is not current, so it is not verified, and the problem
	// says which credential.
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/orgs/"+o.ID+"/credentials/"+c2.ID+"/revoke", owner.Token, map[string]string{"reason": "withdrawn"}, nil)
	vp = h.present(t, h.presentation([]string{c1.JWT, c2.JWT}, bound))
	r := wantRefused(t, s, path, vpRequest(vp, map[string]any{"challenge": "c-123"}), revokedProblem, "verifiableCredential[1]: ")
	if len(r.ProblemDetails) != 1 {
		t.Errorf("problems of a presentation with one revoked credential: %+v", r.ProblemDetails)
	}
	// A changed credential inside.
	vp = h.present(t, h.presentation([]string{tamperName(t, c1.JWT)}, nil))
	wantRefused(t, s, path, vpRequest(vp, nil), cryptographicError, "verifiableCredential[0]: ")

	// Unsecured presentations are not verified; nor enveloped credentials
	// posted as presentations.
	wantRefused(t, s, path, map[string]any{"verifiablePresentation": h.presentation([]string{c1.JWT}, nil)}, unsupportedProblem, "unsecured presentation")
	wantRefused(t, s, path, map[string]any{"presentation": h.presentation([]string{c1.JWT}, nil)}, unsupportedProblem, "without a proof")
	wantRefused(t, s, path, map[string]any{"verifiablePresentation": envelopedVC(c1.JWT)}, malformedError, "EnvelopedVerifiablePresentation")
	wantRefused(t, s, path, vpRequest(vp, map[string]any{"challenge": 7}), malformedError, "options.challenge")
}

// Any origin may call the VC-API: preflights are answered, and every
// answer, the rate limit's 429 included, carries
// Access-Control-Allow-Origin: *. The per-address limit counts it as
// every request.
func TestVCAPIEdge(t *testing.T) {
	t.Parallel()
	s := newTestServerWith(t, Limits{IP: ports.Limit{Rate: 3, Period: time.Minute}})
	for _, path := range []string{"/credentials/verify", "/presentations/verify"} {
		w := s.do(http.MethodOptions, path, "", nil, "Origin", "https://wallet.example", "Access-Control-Request-Method", "POST",
			"Access-Control-Request-Headers", "content-type")
		h := w.Header()
		if w.Code != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
			!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Content-Type") {
			t.Errorf("preflight of %s: %d %v", path, w.Code, h)
		}
	}
	for range 3 {
		w := s.do(http.MethodPost, "/credentials/verify", "", "{}", "Origin", "https://wallet.example")
		if w.Code != http.StatusBadRequest || w.Header().Get("Access-Control-Allow-Origin") != "*" || w.Header().Get("X-RateLimit-Limit") != "3" {
			t.Fatalf("POST /credentials/verify: %d %v", w.Code, w.Header())
		}
	}
	w := s.do(http.MethodPost, "/presentations/verify", "", "{}", "Origin", "https://wallet.example")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(w.Header().Get("Access-Control-Expose-Headers"), "Retry-After") {
		t.Errorf("over the limit: %d %v", w.Code, w.Header())
	}
	// The API's own routes stay without CORS.
	if w := s.do(http.MethodOptions, "/api/v1/verify", "", nil); w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("OPTIONS /api/v1/verify: %d %v", w.Code, w.Header())
	}
}
