package vcapi_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
	"github.com/credence-dev/credence/core/vcapi"
	"github.com/credence-dev/credence/ports"
)

// fakeCredentials answers VerifyPresented with verdicts: a JWS it was
// given a verdict for gets it, any other a valid one; it notes what it
// was asked.
type fakeCredentials struct {
	mu       sync.Mutex
	verdicts map[string]credentials.Verification
	asked    []string
	err      error
}

func (f *fakeCredentials) VerifyPresented(_ context.Context, compact []byte) (credentials.Verification, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, string(compact))
	if f.err != nil {
		return credentials.Verification{}, f.err
	}
	if v, ok := f.verdicts[string(compact)]; ok {
		return v, nil
	}
	return verdict(domain.ResultValid), nil
}

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

var _ ports.Clock = fixedClock{}

// verdict is a Verification with result and the checks given (the
// others passed), of a credential Credence holds.
func verdict(result domain.VerifyResult, failed ...domain.Check) credentials.Verification {
	checks := []domain.Check{}
	for _, name := range []domain.CheckName{domain.CheckSignature, domain.CheckIntegrity, domain.CheckExpiry, domain.CheckRevocation, domain.CheckIssuer} {
		c := domain.Check{Name: name, OK: true, Detail: string(name) + " ok"}
		for _, f := range failed {
			if f.Name == name {
				c = f
			}
		}
		checks = append(checks, c)
	}
	return credentials.Verification{Result: result, Checks: checks, Credential: &domain.Credential{ID: "CRD-TEST0000"}}
}

var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func newService() (*vcapi.Service, *fakeCredentials) {
	f := &fakeCredentials{verdicts: map[string]credentials.Verification{}}
	return vcapi.New(f, fixedClock(now)), f
}

func credentialRequest(jws string) []byte {
	b, _ := json.Marshal(map[string]any{"verifiableCredential": map[string]any{
		"@context": "https://www.w3.org/ns/credentials/v2", "type": "EnvelopedVerifiableCredential", "id": "data:application/vc+jwt," + jws}})
	return b
}

// aJWS is a compact JWS nobody verifies here (the fake stands for
// Credence's verification).
func aJWS(t *testing.T, claims string) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := jws.Sign([]byte(claims), jws.WithKey(jwa.EdDSA, priv))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

func titles(r vcapi.Result) []string {
	var out []string
	for _, p := range r.Problems {
		out = append(out, p.Type.Title)
	}
	return out
}

// Credence's verdict of an enveloped credential becomes the answer: a
// valid or pending credential is verified; any failed check is a problem
// of its kind, with Credence's detail; nothing but the signature is
// reported of a credential whose signature fails, and no expiry or
// revocation of one Credence has no record of.
func TestVerifyCredentialMapsCredenceChecks(t *testing.T) {
	t.Parallel()
	fail := func(name domain.CheckName, outcome domain.VerifyResult, detail string) domain.Check {
		return domain.Check{Name: name, Detail: detail, Outcome: outcome}
	}
	noRecord := verdict(domain.ResultInvalid, fail(domain.CheckIntegrity, "", "no record"),
		fail(domain.CheckExpiry, "", "unknown: no record"), fail(domain.CheckRevocation, "", "unknown: no record"))
	noRecord.Credential = nil
	for name, tc := range map[string]struct {
		v    credentials.Verification
		want []string
	}{
		"valid":   {verdict(domain.ResultValid), nil},
		"pending": {verdict(domain.ResultPending), nil},
		"forged": {verdict(domain.ResultInvalid, fail(domain.CheckSignature, "", "bad signature"), fail(domain.CheckIntegrity, "", "not checked"),
			fail(domain.CheckRevocation, "", "revoked"), fail(domain.CheckIssuer, "", "rejected")), []string{"CRYPTOGRAPHIC_SECURITY_ERROR"}},
		"no record":           {noRecord, []string{"INTEGRITY_ERROR"}},
		"revoked":             {verdict(domain.ResultRevoked, fail(domain.CheckRevocation, domain.ResultRevoked, "revoked on …: error")), []string{"CREDENTIAL_REVOKED"}},
		"revoked, no outcome": {verdict(domain.ResultRevoked, fail(domain.CheckRevocation, "", "revoked")), []string{"CREDENTIAL_REVOKED"}},
		"suspended":           {verdict(domain.ResultSuspended, fail(domain.CheckRevocation, domain.ResultSuspended, "suspended")), []string{"CREDENTIAL_SUSPENDED"}},
		"status unknown":      {verdict(domain.ResultUnknown, fail(domain.CheckRevocation, domain.ResultUnknown, "unknown: list unreadable")), []string{"STATUS_RETRIEVAL_ERROR"}},
		"expired":             {verdict(domain.ResultExpired, fail(domain.CheckExpiry, "", "expired on …")), []string{"EXPIRED"}},
		"expired and revoked": {verdict(domain.ResultRevoked, fail(domain.CheckExpiry, "", "expired"), fail(domain.CheckRevocation, domain.ResultRevoked, "revoked")), []string{"EXPIRED", "CREDENTIAL_REVOKED"}},
		"issuer rejected":     {verdict(domain.ResultInvalid, fail(domain.CheckIssuer, "", "Acme is rejected")), []string{"ISSUER_NOT_APPROVED"}},
		"verdict unexplained": {credentials.Verification{Result: domain.ResultInvalid}, []string{"CRYPTOGRAPHIC_SECURITY_ERROR"}},
	} {
		s, f := newService()
		jws := aJWS(t, `{"n":"`+name+`"}`)
		f.verdicts[jws] = tc.v
		r, err := s.VerifyCredential(t.Context(), credentialRequest(jws))
		if err != nil {
			t.Fatal(err)
		}
		if got := titles(r); r.Verified != (tc.want == nil) || fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: verified %v, problems %v; want %v", name, r.Verified, got, tc.want)
		}
		for _, p := range r.Problems {
			if (p.Check == "") != (tc.v.Checks == nil) || strings.HasPrefix(p.Detail, "verifiableCredential") || p.Detail == "" {
				t.Errorf("%s: problem %+v", name, p)
			}
		}
		if len(f.asked) != 1 || f.asked[0] != jws {
			t.Errorf("%s: Credence was asked %q, want the enveloped JWS", name, f.asked)
		}
	}
}

// An answer that could not be made (the store is down) is an error, not
// a problem of the request; a JWS Credence cannot read is one.
func TestVerifyCredentialErrors(t *testing.T) {
	t.Parallel()
	s, f := newService()
	f.err = ports.ErrUnavailable
	if _, err := s.VerifyCredential(t.Context(), credentialRequest(aJWS(t, `{}`))); !errors.Is(err, ports.ErrUnavailable) {
		t.Errorf("with the store down: %v", err)
	}
	f.err = &domain.ValidationError{Fields: []domain.FieldError{{Location: "body.credential", Message: "no"}}}
	r, err := s.VerifyCredential(t.Context(), credentialRequest(aJWS(t, `{}`)))
	if err != nil || r.Verified || fmt.Sprint(titles(r)) != "[PARSING_ERROR]" {
		t.Errorf("a JWS Credence cannot read: %+v %v", r, err)
	}
}

// The W3C VCDM 2.0 test suite's enveloped presentation (an Ed25519
// did:key holder's JWS in VC-JWT 1.1 form: the vp claim, iss, nonce
// 123456789, aud example.com) verifies, and its credential is handed to
// Credence's verification as the JWS its data: URL carries; with another
// challenge or domain it does not.
func TestVerifyPresentationOfTheW3CSuite(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../signing/testdata/didkey/w3c-vp.jwt")
	if err != nil {
		t.Fatal(err)
	}
	vp := strings.TrimSpace(string(raw))
	request := func(opts map[string]any) []byte {
		b, _ := json.Marshal(map[string]any{"verifiablePresentation": map[string]any{"@context": "https://www.w3.org/ns/credentials/v2",
			"type": "EnvelopedVerifiablePresentation", "id": "data:application/jwt," + vp}, "options": opts})
		return b
	}
	s, f := newService()
	r, err := s.VerifyPresentation(t.Context(), request(map[string]any{"challenge": "123456789", "domain": "example.com"}))
	if err != nil || !r.Verified {
		t.Fatalf("the suite's presentation: %+v %v", r, err)
	}
	if len(f.asked) != 1 || !strings.HasPrefix(f.asked[0], "eyJhbGciOiJFUzI1NiIsImtpZCI6ImRpZDprZXk6ekRuYWVUUUtEYlhRVDRiYXR4S2NuTVFZUThKeW5qcUM1WHoxdU1rNWV1RzJodDhucSN6") {
		t.Errorf("Credence was asked %q, want the suite's enveloped credential", f.asked)
	}
	for opts, want := range map[string]string{
		`{"challenge":"12345678"}`:       "[INVALID_CHALLENGE_ERROR]",
		`{"domain":"example.org"}`:       "[INVALID_DOMAIN_ERROR]",
		`{"challenge":"x","domain":"y"}`: "[INVALID_CHALLENGE_ERROR INVALID_DOMAIN_ERROR]",
	} {
		var o map[string]any
		_ = json.Unmarshal([]byte(opts), &o)
		r, err := s.VerifyPresentation(t.Context(), request(o))
		if err != nil || r.Verified || fmt.Sprint(titles(r)) != want {
			t.Errorf("options %s: %v, %v; want %s", opts, titles(r), err, want)
		}
	}
	// One byte of its signature changed: refused, and no credential of
	// it is verified.
	f.asked = nil
	vp = vp[:len(vp)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(vp, "AA")]
	r, err = s.VerifyPresentation(t.Context(), request(nil))
	if err != nil || r.Verified || fmt.Sprint(titles(r)) != "[CRYPTOGRAPHIC_SECURITY_ERROR]" || len(f.asked) != 0 {
		t.Errorf("the suite's presentation, its signature changed: %v %v, asked %d", titles(r), err, len(f.asked))
	}
}

// holderKey signs presentations as an Ed25519 did:key holder.
type holderKey struct {
	did  string
	priv ed25519.PrivateKey
}

func newHolderKey(t *testing.T) holderKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	did, err := signing.DIDKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return holderKey{did: did, priv: priv}
}

// request is a verify-presentation request of claims signed by h.
func (h holderKey) request(t *testing.T, claims map[string]any, opts map[string]any) []byte {
	t.Helper()
	payload, _ := json.Marshal(claims)
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.KeyIDKey, signing.DIDKeyMethod(h.did))
	signed, err := jws.Sign(payload, jws.WithKey(jwa.EdDSA, h.priv, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"verifiablePresentation": map[string]any{"@context": []string{"https://www.w3.org/ns/credentials/v2"},
		"type": "EnvelopedVerifiablePresentation", "id": "data:application/vp+jwt," + string(signed)}, "options": opts})
	return b
}

func presentationOf(credentials ...any) map[string]any {
	return map[string]any{"@context": []string{"https://www.w3.org/ns/credentials/v2"}, "type": "VerifiablePresentation", "verifiableCredential": credentials}
}

func envelopedCredential(jws string) map[string]any {
	return map[string]any{"@context": "https://www.w3.org/ns/credentials/v2", "type": "EnvelopedVerifiableCredential", "id": "data:application/vc+jwt," + jws}
}

// A presentation's validity period (exp, nbf, a minute's skew allowed
// for nbf), its shape and the credentials it carries decide its answer;
// each credential's problems say which it is.
func TestVerifyPresentationRules(t *testing.T) {
	t.Parallel()
	h := newHolderKey(t)
	good, revoked := aJWS(t, `{"n":1}`), aJWS(t, `{"n":2}`)
	with := func(more map[string]any) map[string]any {
		p := presentationOf(envelopedCredential(good))
		for k, v := range more {
			p[k] = v
		}
		return p
	}
	many := make([]any, vcapi.MaxCredentials+1)
	for i := range many {
		many[i] = envelopedCredential(good)
	}
	for name, tc := range map[string]struct {
		claims map[string]any
		want   string
	}{
		"no credentials":            {presentationOf(), "[]"},
		"one credential, no array":  {with(map[string]any{"verifiableCredential": envelopedCredential(good)}), "[]"},
		"exp ahead":                 {with(map[string]any{"exp": now.Unix() + 1}), "[]"},
		"exp now":                   {with(map[string]any{"exp": now.Unix()}), "[EXPIRED]"},
		"exp not a date":            {with(map[string]any{"exp": "tomorrow"}), "[MALFORMED_VALUE_ERROR]"},
		"nbf within the skew":       {with(map[string]any{"nbf": now.Add(time.Minute).Unix()}), "[]"},
		"nbf past the skew":         {with(map[string]any{"nbf": now.Add(time.Minute).Unix() + 1}), "[NOT_YET_VALID]"},
		"holder as an object":       {with(map[string]any{"holder": map[string]any{"id": h.did}}), "[]"},
		"another holder":            {with(map[string]any{"holder": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"}), "[CRYPTOGRAPHIC_SECURITY_ERROR]"},
		"another iss":               {with(map[string]any{"iss": "did:web:example.com"}), "[CRYPTOGRAPHIC_SECURITY_ERROR]"},
		"no context":                {with(map[string]any{"@context": nil}), "[MALFORMED_VALUE_ERROR]"},
		"VCDM 1.1 context":          {with(map[string]any{"@context": []string{"https://www.w3.org/2018/credentials/v1"}}), "[MALFORMED_VALUE_ERROR]"},
		"not a presentation":        {with(map[string]any{"type": "VerifiableCredential"}), "[MALFORMED_VALUE_ERROR]"},
		"a revoked credential":      {with(map[string]any{"verifiableCredential": []any{envelopedCredential(good), envelopedCredential(revoked)}}), "[CREDENTIAL_REVOKED]"},
		"a credential as a string":  {with(map[string]any{"verifiableCredential": []any{good}}), "[MALFORMED_VALUE_ERROR]"},
		"credentials not a list":    {with(map[string]any{"verifiableCredential": 7}), "[MALFORMED_VALUE_ERROR]"},
		"too many credentials":      {with(map[string]any{"verifiableCredential": many}), "[RANGE_ERROR]"},
		"expired, revoked inside":   {with(map[string]any{"exp": now.Unix() - 1, "verifiableCredential": envelopedCredential(revoked)}), "[EXPIRED CREDENTIAL_REVOKED]"},
		"an enveloped presentation": {with(map[string]any{"verifiableCredential": map[string]any{"@context": "https://www.w3.org/ns/credentials/v2", "type": "EnvelopedVerifiablePresentation", "id": "data:application/vp+jwt," + good}}), "[MALFORMED_VALUE_ERROR]"},
	} {
		s, f := newService()
		f.verdicts[revoked] = verdict(domain.ResultRevoked, domain.Check{Name: domain.CheckRevocation, Outcome: domain.ResultRevoked, Detail: "revoked"})
		r, err := s.VerifyPresentation(t.Context(), h.request(t, tc.claims, nil))
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(titles(r)); got != tc.want || r.Verified != (tc.want == "[]") {
			t.Errorf("%s: verified %v, %s; want %s (%+v)", name, r.Verified, got, tc.want, r.Problems)
		}
		for _, p := range r.Problems {
			if p.Type == vcapi.Revoked && !strings.HasPrefix(p.Detail, "verifiableCredential[") {
				t.Errorf("%s: a credential's problem does not say which: %q", name, p.Detail)
			}
		}
	}
}

// stubProofs stands for a Data Integrity verifier.
type stubProofs struct {
	credential   vcapi.Result
	presentation []vcapi.Problem
	asked        []string
}

func (p *stubProofs) Credential(_ context.Context, c json.RawMessage) (vcapi.Result, error) {
	p.asked = append(p.asked, "credential")
	return p.credential, nil
}

func (p *stubProofs) Presentation(_ context.Context, _ json.RawMessage, opts vcapi.PresentationOptions) ([]vcapi.Problem, error) {
	p.asked = append(p.asked, "presentation "+opts.Challenge)
	return p.presentation, nil
}

// What carries an embedded proof is unsupported until an EmbeddedProofs
// is set; then it verifies it, and the credentials of a presentation
// with a proof are still verified one by one.
func TestEmbeddedProofsHook(t *testing.T) {
	t.Parallel()
	withProof := map[string]any{"@context": []string{"https://www.w3.org/ns/credentials/v2"}, "type": []string{"VerifiableCredential"},
		"proof": map[string]any{"type": "DataIntegrityProof"}}
	credReq, _ := json.Marshal(map[string]any{"verifiableCredential": withProof})
	revoked := aJWS(t, `{"n":3}`)
	vp := presentationOf(withProof, envelopedCredential(revoked))
	vp["proof"] = map[string]any{"type": "DataIntegrityProof"}
	vpReq, _ := json.Marshal(map[string]any{"verifiablePresentation": vp, "options": map[string]any{"challenge": "c1"}})

	s, f := newService()
	f.verdicts[revoked] = verdict(domain.ResultRevoked, domain.Check{Name: domain.CheckRevocation, Outcome: domain.ResultRevoked, Detail: "revoked"})
	unsupported := func(what string, r vcapi.Result, err error) {
		t.Helper()
		if err != nil || r.Verified || fmt.Sprint(titles(r)) != "[UNSUPPORTED]" || !strings.Contains(r.Problems[0].Detail, "embedded proof") {
			t.Errorf("%s without a verifier of embedded proofs: %+v %v", what, r, err)
		}
	}
	r, err := s.VerifyCredential(t.Context(), credReq)
	unsupported("a credential", r, err)
	r, err = s.VerifyPresentation(t.Context(), vpReq)
	unsupported("a presentation", r, err)

	p := &stubProofs{credential: vcapi.Result{Verified: true}}
	s.UseEmbeddedProofs(p)
	if r, err := s.VerifyCredential(t.Context(), credReq); err != nil || !r.Verified {
		t.Errorf("a credential the verifier passes: %+v %v", r, err)
	}
	r, err = s.VerifyPresentation(t.Context(), vpReq)
	if err != nil || r.Verified || fmt.Sprint(titles(r)) != "[CREDENTIAL_REVOKED]" || !strings.HasPrefix(r.Problems[0].Detail, "verifiableCredential[1]: ") {
		t.Errorf("a presentation with a proof carrying a revoked credential: %+v %v", r, err)
	}
	if fmt.Sprint(p.asked) != "[credential presentation c1 credential]" {
		t.Errorf("the verifier of embedded proofs was asked %v", p.asked)
	}
}
