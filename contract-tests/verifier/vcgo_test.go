package verifier_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trustbloc/did-go/doc/did"
	"github.com/trustbloc/did-go/method/web"
	"github.com/trustbloc/did-go/vdr"
	vdrapi "github.com/trustbloc/did-go/vdr/api"
	"github.com/trustbloc/vc-go/proof/checker"
	"github.com/trustbloc/vc-go/proof/defaults"
	"github.com/trustbloc/vc-go/verifiable"
	"github.com/trustbloc/vc-go/vermethod"

	"github.com/credence-dev/credence/core/domain"
)

// trustbloc vc-go v1.3.6 (with did-go v1.3.5, which brings its did:web
// resolver) is a test-only dependency: only this file imports it. It
// builds only with go.mod's replace of piprate/json-gold by trustbloc's
// fork, as vc-go's own go.mod has it: did-go's JSON-LD processor uses
// ld.JsonLdOptions.MessageDigestAlgorithm, which upstream json-gold
// (v0.9.1 included) lacks. Should the product come to require a newer
// piprate/json-gold, the pinned replace stops applying and this file stops
// building.

// didWeb is the web as trustbloc's did:web resolver (did-go) sees it in
// these tests: the did.json each issuer publishes, at the URL the product
// serves it from, read from memory. The resolver maps a DID to its URL
// itself, so a product URL it would not compute is a 404 here too, and
// nothing leaves the process.
type didWeb map[string][]byte

func (w didWeb) publish(t *testing.T, e *env, is issuer) {
	t.Helper()
	_, doc := e.published(t, is)
	w[e.creds.URLs().Issuer(is.org.Slug)+"/did.json"] = doc
}

func (w didWeb) RoundTrip(r *http.Request) (*http.Response, error) {
	doc, ok := w[r.URL.String()]
	status := http.StatusOK
	if r.Method != http.MethodGet || !ok {
		status, doc = http.StatusNotFound, nil
	}
	return &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(doc)), Request: r}, nil
}

// Resolve resolves a DID with did-go's did:web method, over w.
func (w didWeb) Resolve(id string, opts ...vdrapi.DIDMethodOption) (*did.DocResolution, error) {
	opts = append(opts, vdrapi.WithOption(web.HTTPClientOpt, &http.Client{Transport: w}))
	return vdr.New(vdr.WithVDR(web.New())).Resolve(id, opts...)
}

// trustbloc vc-go verifies an issued credential with what it resolves
// from the issuer's published did.json, for each algorithm Credence signs
// with, and refuses forgeries. It verifies a JWT only with a
// JsonWebKey2020 method (or Ed25519VerificationKey2018 /
// RsaVerificationKey2018), the type Credence's did.json gives its keys.
func TestVcGo(t *testing.T) {
	t.Parallel()
	for _, alg := range []domain.Algorithm{domain.AlgES256, domain.AlgEdDSA, domain.AlgRS256} {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			days := 30
			acme := e.issuerAlg(t, "Acme Academy", "acme", &days, alg)
			globex := e.issuerAlg(t, "Globex Institute", "globex", nil, alg)
			w := didWeb{}
			w.publish(t, e, acme)
			w.publish(t, e, globex)
			c := e.issue(t, acme, "rae@example.com")

			vcgoChecks(t, e, acme, globex, c, defaults.NewDefaultProofChecker(vermethod.NewVDRResolver(w)))
		})
	}
}

func vcgoParse(jws string, pc *checker.ProofChecker) (*verifiable.Credential, error) {
	return verifiable.ParseCredential([]byte(jws), verifiable.WithJWTProofChecker(pc))
}

// vcgoChecks is what vc-go must say of acme's credential c and of
// documents made from it that acme did not issue.
func vcgoChecks(t *testing.T, e *env, acme, globex issuer, c domain.Credential, pc *checker.ProofChecker) {
	t.Helper()
	vc, err := vcgoParse(c.JWS, pc)
	if err != nil {
		t.Fatalf("vc-go refuses a genuine credential: %v", err)
	}
	got := vc.Contents()
	if want := e.creds.URLs().DID(acme.org.Slug); got.Issuer == nil || got.Issuer.ID != want {
		t.Errorf("vc-go reads issuer %+v, want %s", got.Issuer, want)
	}
	if want := e.creds.URLs().Credential(c.ID); got.ID != want {
		t.Errorf("vc-go reads id %q, want %q", got.ID, want)
	}
	if len(got.Subject) != 1 || got.Subject[0].CustomFields["name"] != "Rae Recipient" {
		t.Errorf("vc-go reads subject %+v", got.Subject)
	}
	if got.Issued == nil || !got.Issued.Time.Equal(c.IssuedAt) {
		t.Errorf("vc-go reads validFrom %v, want %v", got.Issued, c.IssuedAt)
	}
	if got.Expired == nil || c.ExpiresAt == nil || !got.Expired.Time.Equal(*c.ExpiresAt) {
		t.Errorf("vc-go reads validUntil %v, want %v", got.Expired, c.ExpiresAt)
	}

	parts := strings.Split(c.JWS, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	acmeSigner, globexSigner := e.signer(t, acme), e.signer(t, globex)
	sign := func(s interface{ Sign([]byte) (string, error) }, payload []byte) string {
		t.Helper()
		jws, err := s.Sign(payload)
		if err != nil {
			t.Fatal(err)
		}
		return jws
	}
	acmeDID, globexDID := e.creds.URLs().DID(acme.org.Slug), e.creds.URLs().DID(globex.org.Slug)
	globexSigned := sign(globexSigner, payload)
	naming := func(issuerDID string) []byte { // the payload, issued in another's name
		return []byte(strings.ReplaceAll(string(payload), `"`+acmeDID+`"`, `"`+issuerDID+`"`))
	}

	// vc-go has no clock: ParseCredential accepts an expired credential
	// and leaves comparing validUntil (read from exp) to the caller.
	expired := sign(acmeSigner, setClaims(t, payload, map[string]any{"validUntil": "2001-01-01T00:00:00Z", "exp": 978307200}))
	if vc, err := vcgoParse(expired, pc); err != nil {
		t.Errorf("vc-go refuses a credential expired in 2001: %v (it checked no expiry in v1.3.6; update the compatibility table)", err)
	} else if exp := vc.Contents().Expired; exp == nil || !exp.Time.Equal(time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("vc-go reads the expired credential's validUntil as %v", exp)
	}

	// Each is refused by the proof check, for one of the reasons given:
	// a signature the key does not verify (worded per algorithm: ecdsa,
	// ed25519, crypto/rsa), or a kid the issuer's DID document lacks.
	badSignature := []string{"invalid signature", "verification error"}
	for name, tc := range map[string]struct {
		jws     string
		reasons []string
	}{
		"a payload byte changed":       {parts[0] + "." + b64([]byte(strings.Replace(string(payload), "Rae Recipient", "Eve Recipient", 1))) + "." + parts[2], badSignature},
		"another issuer's signature":   {parts[0] + "." + parts[1] + "." + strings.Split(globexSigned, ".")[2], badSignature},
		"signed by another issuer":     {globexSigned, []string{"not found for DID " + acmeDID}},
		"acme's key, globex as issuer": {sign(acmeSigner, naming(globexDID)), []string{"not found for DID " + globexDID}},
	} {
		_, err := vcgoParse(tc.jws, pc)
		if err == nil {
			t.Errorf("%s: vc-go accepts it", name)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "JWS proof check: ") || !slices.ContainsFunc(tc.reasons, func(r string) bool { return strings.Contains(msg, r) }) {
			t.Errorf("%s: vc-go refuses it with %q, want a proof check failing on one of %q", name, msg, tc.reasons)
		}
	}

	// A credential signed before the JWT claims (no iss, nbf or exp) is
	// not verified by vc-go: v1.3.6 dereferences the absent claims and
	// panics (verifiable/credential_jwt.go:186), or, once mended, refuses.
	preClaims := sign(acmeSigner, setClaims(t, payload, map[string]any{"iss": nil, "nbf": nil, "exp": nil}))
	if err := vcgoParseRecovering(preClaims, pc); err == nil {
		t.Error("vc-go accepts a credential without iss, nbf and exp; update the compatibility table")
	} else {
		t.Logf("credential without the JWT claims: %v", err)
	}
}

// setClaims returns payload with the given members set, or removed where
// nil.
func setClaims(t *testing.T, payload []byte, set map[string]any) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(payload, &doc); err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		if v == nil {
			delete(doc, k)
		} else {
			doc[k] = v
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func vcgoParseRecovering(jws string, pc *checker.ProofChecker) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("vc-go panicked: %v", p)
		}
	}()
	_, err = vcgoParse(jws, pc)
	return err
}
