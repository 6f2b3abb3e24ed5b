package vcapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/statuslist"
	"github.com/credence-dev/credence/core/vcapi"
)

// fakeIssuer records what the VC-API hands over to sign and to change.
type fakeIssuer struct {
	issued  []map[string]any
	proofs  []bool
	changes []credentials.VCStatusChange
	err     error
}

func (f *fakeIssuer) IssueVC(_ context.Context, _ domain.Actor, credential map[string]any, proof bool) (credentials.IssuedVC, error) {
	f.issued, f.proofs = append(f.issued, credential), append(f.proofs, proof)
	if f.err != nil {
		return credentials.IssuedVC{}, f.err
	}
	return credentials.IssuedVC{JWS: "h.p.s", Secured: []byte(`{"proof":{}}`)}, nil
}

func (f *fakeIssuer) ChangeVCStatus(_ context.Context, _ domain.Actor, ch credentials.VCStatusChange) (int, error) {
	f.changes = append(f.changes, ch)
	return 1, f.err
}

// terms refuses documents holding "undefined".
type terms struct{}

func (terms) CheckTerms(doc []byte) error {
	if strings.Contains(string(doc), "undefined") {
		return errors.New("undefined term")
	}
	return nil
}

func newIssuing(f *fakeIssuer) *vcapi.Service {
	s := vcapi.New(&fakeCredentials{}, nil)
	s.UseIssuer(f, terms{})
	return s
}

const okCredential = `{"@context":["https://www.w3.org/ns/credentials/v2"],"type":"VerifiableCredential","credentialSubject":{"id":"did:example:a","n":12345678901234567890}}`

// An issue request hands the credential over as written (numbers kept
// exactly), asks for a proof only with securingMechanism DataIntegrity,
// and answers the envelope or the secured document; what cannot be read,
// a wrong option, undefined terms and a refused issuer field are
// problems, not errors.
func TestIssueCredential(t *testing.T) {
	f := &fakeIssuer{}
	s := newIssuing(f)
	r, err := s.IssueCredential(t.Context(), domain.Actor{}, []byte(`{"credential":`+okCredential+`}`))
	if err != nil || len(r.Problems) > 0 {
		t.Fatalf("issue: %+v %v", r, err)
	}
	var env map[string]any
	if json.Unmarshal(r.Credential, &env) != nil || env["id"] != "data:application/vc+jwt,h.p.s" || env["type"] != "EnvelopedVerifiableCredential" {
		t.Errorf("envelope %s", r.Credential)
	}
	got, _ := json.Marshal(f.issued[0]["credentialSubject"])
	if string(got) != `{"id":"did:example:a","n":12345678901234567890}` || f.proofs[0] {
		t.Errorf("handed over %s (proof %v)", got, f.proofs[0])
	}
	r, err = s.IssueCredential(t.Context(), domain.Actor{}, []byte(`{"credential":`+okCredential+`,"options":{"securingMechanism":"DataIntegrity"}}`))
	if err != nil || string(r.Credential) != `{"proof":{}}` || !f.proofs[1] {
		t.Errorf("DataIntegrity: %s %v", r.Credential, err)
	}

	for name, tc := range map[string]struct{ body, says string }{
		"not JSON":            {`credential`, "JSON object"},
		"no credential":       {`{}`, "credential is required"},
		"options a string":    {`{"credential":` + okCredential + `,"options":"x"}`, "options must be an object"},
		"unknown mechanism":   {`{"credential":` + okCredential + `,"options":{"securingMechanism":"sd-jwt"}}`, "securingMechanism"},
		"credential an array": {`{"credential":[1]}`, "JSON object"},
		"two objects":         {`{"credential":{"a":1} {"b":2}}`, "JSON object"},
		"undefined term":      {`{"credential":` + strings.Replace(okCredential, `"n"`, `"undefined"`, 1) + `}`, "does not expand"},
		"too large":           {`{"credential":{"x":"` + strings.Repeat("a", vcapi.MaxIssueBytes) + `"}}`, "at most"},
	} {
		n := len(f.issued)
		r, err := s.IssueCredential(t.Context(), domain.Actor{}, []byte(tc.body))
		if err != nil || len(r.Problems) == 0 || !strings.Contains(r.Problems[0].Detail, tc.says) || len(f.issued) != n {
			t.Errorf("%s: %+v %v (issued %d more), want a problem saying %q", name, r, err, len(f.issued)-n, tc.says)
		}
	}

	f.err = &domain.ValidationError{Fields: []domain.FieldError{{Location: "body.credential.issuer", Message: "issuer is x"}}}
	r, err = s.IssueCredential(t.Context(), domain.Actor{}, []byte(`{"credential":`+okCredential+`}`))
	if err != nil || len(r.Problems) != 1 || r.Problems[0].Type != vcapi.MalformedValueError {
		t.Errorf("a refused issuer: %+v %v", r, err)
	}
	f.err = credentials.ErrNoDataIntegrity
	r, err = s.IssueCredential(t.Context(), domain.Actor{}, []byte(`{"credential":`+okCredential+`}`))
	if err != nil || len(r.Problems) != 1 || r.Problems[0].Type != vcapi.Unsupported {
		t.Errorf("Data Integrity off: %+v %v", r, err)
	}
	f.err = domain.ErrForbidden
	if _, err := s.IssueCredential(t.Context(), domain.Actor{}, []byte(`{"credential":`+okCredential+`}`)); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("a forbidden actor: %v, want the error", err)
	}
}

// A status request names one entry's purpose; set unless status is
// false; the reason is passed on trimmed.
func TestUpdateStatus(t *testing.T) {
	f := &fakeIssuer{}
	s := newIssuing(f)
	for body, want := range map[string]credentials.VCStatusChange{
		`{"credentialId":"urn:uuid:1","credentialStatus":{"type":"BitstringStatusListEntry","statusPurpose":"revocation"}}`: {VCID: "urn:uuid:1", Purpose: statuslist.Revocation, Set: true},
		`{"credentialId":"urn:uuid:1","credentialStatus":[{"statusPurpose":"suspension"}],"status":false,"reason":" ok "}`:  {VCID: "urn:uuid:1", Purpose: statuslist.Suspension, Reason: "ok"},
	} {
		f.changes = nil
		r, err := s.UpdateStatus(t.Context(), domain.Actor{}, []byte(body))
		if err != nil || len(r.Problems) > 0 || r.Changed != 1 || len(f.changes) != 1 || f.changes[0] != want {
			t.Errorf("%s: %+v %v, changes %+v, want %+v", body, r, err, f.changes, want)
		}
	}
	for _, body := range []string{
		`[]`, `{"credentialStatus":{"statusPurpose":"revocation"}}`, `{"credentialId":"x"}`,
		`{"credentialId":"x","credentialStatus":{"statusPurpose":"refresh"}}`,
		`{"credentialId":"x","credentialStatus":{"type":"StatusList2021Entry","statusPurpose":"revocation"}}`,
		`{"credentialId":"x","credentialStatus":[{"statusPurpose":"revocation"},{"statusPurpose":"suspension"}]}`,
		`{"credentialId":"x","credentialStatus":{"statusPurpose":"revocation"},"status":"yes"}`,
	} {
		f.changes = nil
		r, err := s.UpdateStatus(t.Context(), domain.Actor{}, []byte(body))
		if err != nil || len(r.Problems) == 0 || len(f.changes) > 0 {
			t.Errorf("%s: %+v %v, changes %+v, want problems and no change", body, r, err, f.changes)
		}
	}
}

// FuzzIssueCredential: no request panics the issue rules; whatever is
// handed over to sign passed CheckCredential, and a refusal hands
// nothing over.
func FuzzIssueCredential(f *testing.F) {
	for _, seed := range []string{
		`{"credential":` + okCredential + `}`,
		`{"credential":{"@context":["https://www.w3.org/ns/credentials/v2",{"x":"https://e.org/x"}],"type":["VerifiableCredential"],` +
			`"credentialSubject":[{"id":"did:example:a"}],"id":"https://e.org/1","validFrom":"2026-01-01T00:00:00Z","validUntil":"2027-01-01T00:00:00+01:00",` +
			`"issuer":{"id":"did:web:x","name":[{"@value":"n","@language":"en"}]},"credentialStatus":{"type":"X"},"relatedResource":[{"id":"https://e.org/r","digestSRI":"sha256-AAAA"}]}}`,
		`{"credential":{"credentialSubject":{"id":["a"]},"termsOfUse":[{}],"evidence":3}}`,
		`{"credential":null,"options":{"securingMechanism":"DataIntegrity"}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fi := &fakeIssuer{}
		r, err := newIssuing(fi).IssueCredential(context.Background(), domain.Actor{}, body)
		if err != nil {
			t.Fatalf("an error for a request: %v", err)
		}
		switch {
		case len(r.Problems) > 0 && len(fi.issued) > 0:
			t.Fatalf("refused (%+v) but handed over", r.Problems)
		case len(r.Problems) == 0 && len(fi.issued) != 1:
			t.Fatalf("answered without signing: %s", r.Credential)
		case len(fi.issued) == 1:
			if bad := vcapi.CheckCredential(fi.issued[0]); len(bad) > 0 {
				t.Fatalf("handed over a credential CheckCredential refuses: %+v", bad)
			}
		}
		for _, p := range r.Problems {
			if p.Type.URL == "" || p.Detail == "" {
				t.Fatalf("problem %+v", p)
			}
		}
	})
}
