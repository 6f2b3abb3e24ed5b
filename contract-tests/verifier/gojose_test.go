package verifier_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/credence-dev/credence/core/credentials"
)

// A generic JWT library that knows nothing of Credence (go-jose) accepts
// an issued credential from the issuer's published JWKS alone: the key
// its kid names verifies the signature, the header says vc+jwt, and the
// registered claims (iss, nbf, exp) validate as a JWT's would, so an
// expired credential fails there too, by its exp.
func TestGoJoseAcceptsIssuedCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	days := 30
	acme := e.issuer(t, "Acme Academy", "acme", &days)
	c := e.issue(t, acme, "rae@example.com")
	published, _ := e.published(t, acme)
	var jwks jose.JSONWebKeySet
	if err := json.Unmarshal(published, &jwks); err != nil {
		t.Fatal(err)
	}

	tok, err := jwt.ParseSigned(c.JWS, []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA})
	if err != nil {
		t.Fatalf("go-jose cannot parse the credential: %v", err)
	}
	if len(tok.Headers) != 1 {
		t.Fatalf("%d signatures", len(tok.Headers))
	}
	h := tok.Headers[0]
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "vc+jwt" {
		t.Errorf("typ %q, want vc+jwt", typ)
	}
	keys := jwks.Key(h.KeyID)
	if len(keys) != 1 {
		t.Fatalf("the JWKS has %d keys named %q", len(keys), h.KeyID)
	}
	var claims jwt.Claims
	var doc credentials.Document
	if err := tok.Claims(keys[0].Key, &claims, &doc); err != nil {
		t.Fatalf("go-jose does not accept the signature: %v", err)
	}
	issuer := e.creds.URLs().DID(acme.org.Slug)
	if doc.Issuer.ID != issuer || doc.ID == "" {
		t.Errorf("payload read by go-jose: issuer %q, id %q", doc.Issuer.ID, doc.ID)
	}
	now := e.clock.Now()
	if err := claims.ValidateWithLeeway(jwt.Expected{Issuer: issuer, Time: now}, 0); err != nil {
		t.Errorf("go-jose's claim validation refuses a current credential: %v", err)
	}
	if err := claims.ValidateWithLeeway(jwt.Expected{Issuer: issuer, Time: now.Add(31 * 24 * time.Hour)}, 0); !errors.Is(err, jwt.ErrExpired) {
		t.Errorf("go-jose's claim validation of an expired credential: %v, want %v", err, jwt.ErrExpired)
	}
	if err := claims.ValidateWithLeeway(jwt.Expected{Issuer: issuer, Time: now.Add(-time.Hour)}, 0); !errors.Is(err, jwt.ErrNotValidYet) {
		t.Errorf("go-jose's claim validation before validFrom: %v, want %v", err, jwt.ErrNotValidYet)
	}

	// A key the kid does not name does not verify it.
	other := e.issuer(t, "Globex", "globex", nil)
	otherJWKS, _ := e.published(t, other)
	var ok jose.JSONWebKeySet
	if err := json.Unmarshal(otherJWKS, &ok); err != nil {
		t.Fatal(err)
	}
	if err := tok.Claims(ok.Keys[0].Key, &claims); err == nil {
		t.Error("go-jose accepts the credential with another issuer's key")
	}
}
