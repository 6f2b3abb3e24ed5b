package verifier_test

import (
	"testing"
	"time"
)

// joseScript verifies a credential with npm jose's jwtVerify against a
// local JWKS, as any JavaScript verifier would: the signature with the
// key its kid names, typ vc+jwt, the issuer, and the registered time
// claims at the date given. It prints the outcome as JSON.
const joseScript = `
import * as jose from 'jose';
const [jws, jwks, issuer, at] = process.argv.slice(1);
try {
  const { payload, protectedHeader } = await jose.jwtVerify(jws, jose.createLocalJWKSet(JSON.parse(jwks)),
    { issuer, typ: 'vc+jwt', currentDate: new Date(at) });
  console.log(JSON.stringify({ ok: true, kid: protectedHeader.kid, id: payload.id }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, code: e.code }));
}
`

// npm jose accepts an issued credential from the published JWKS, and
// refuses an expired one (by exp) and a forged one.
func TestNpmJoseAcceptsIssuedCredentials(t *testing.T) {
	t.Parallel()
	dir := npmVerifiers(t, "jose")
	e := newEnv(t)
	days := 30
	acme := e.issuer(t, "Acme Academy", "acme", &days)
	c := e.issue(t, acme, "rae@example.com")
	jwks, _ := e.published(t, acme)
	issuer := e.creds.URLs().DID(acme.org.Slug)

	type outcome struct {
		OK   bool   `json:"ok"`
		Kid  string `json:"kid"`
		ID   string `json:"id"`
		Code string `json:"code"`
	}
	run := func(jws string, at time.Time) outcome {
		t.Helper()
		var o outcome
		runNode(t, dir, joseScript, &o, jws, string(jwks), issuer, at.Format(time.RFC3339))
		return o
	}
	now := e.clock.Now()
	if o := run(c.JWS, now); !o.OK || o.Kid != c.KeyID || o.ID != e.creds.URLs().Credential(c.ID) {
		t.Errorf("npm jose on a current credential: %+v", o)
	}
	if o := run(c.JWS, now.Add(31*24*time.Hour)); o.OK || o.Code != "ERR_JWT_EXPIRED" {
		t.Errorf("npm jose on an expired credential: %+v, want ERR_JWT_EXPIRED", o)
	}
	// Another signature character (from the base64url alphabet, so the
	// token stays well formed): the signature no longer verifies.
	forged := []byte(c.JWS)
	if i := len(forged) - 5; forged[i] == 'A' {
		forged[i] = 'B'
	} else {
		forged[i] = 'A'
	}
	if o := run(string(forged), now); o.OK || o.Code != "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" {
		t.Errorf("npm jose on a forged signature: %+v, want ERR_JWS_SIGNATURE_VERIFICATION_FAILED", o)
	}
}
