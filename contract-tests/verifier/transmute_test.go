package verifier_test

import (
	"strings"
	"testing"
	"time"
)

// transmuteScript verifies credentials with @transmute/verifiable-credentials
// as VC-JOSE-COSE secured credentials (application/vc-ld+jwt, the media
// type of the 2024 draft this release implements; it reads no typ), each
// both on its own and enveloped in a presentation as an
// EnvelopedVerifiableCredential. The key comes from the issuer's did:web
// document as Credence publishes it. It prints one outcome per credential.
const transmuteScript = `
import * as transmute from '@transmute/verifiable-credentials';
` + didWebJS + `
const [tokens, published] = process.argv.slice(1).map((a) => JSON.parse(a));
const enc = (s) => new TextEncoder().encode(s);
const fail = (code, message) => Object.assign(new Error(message), { code });
// transmute verifies with whatever key the resolver returns and checks no
// issuer: binding the key to the issuer is the resolver's work. This one
// takes the kid's DID, which must be the credential's issuer, resolves it
// as did:web, and returns the key the kid names if the document lists it
// for assertions.
const resolver = { resolve: async ({ content, purpose }) => {
  if (purpose !== 'verification-material') throw fail('UNSUPPORTED', 'no ' + purpose + ' here');
  const [header, payload] = new TextDecoder().decode(content).split('.');
  const { kid } = JSON.parse(Buffer.from(header, 'base64url'));
  const did = String(kid).split('#')[0];
  const { issuer } = JSON.parse(Buffer.from(payload, 'base64url'));
  if ((issuer?.id ?? issuer) !== did) throw fail('KID_NOT_ISSUERS', kid + ' is no key of the issuer');
  const doc = loadDID(published, did);
  const method = (doc.verificationMethod ?? []).find((m) => m.id === kid);
  if (!method || !(doc.assertionMethod ?? []).includes(kid)) throw fail('KID_NOT_FOUND', kid + ' is not an assertion method of ' + did);
  return { type: 'application/jwk+json', content: enc(JSON.stringify(method.publicKeyJwk)) };
}};
const verifier = transmute.verifier({ resolver });
const outcome = async (verify) => {
  try {
    const vc = await verify();
    return { ok: true, id: vc.id ?? '', issuer: vc.issuer?.id ?? '' };
  } catch (e) {
    return { ok: false, code: e.code ?? '', message: String(e.message).slice(0, 160) };
  }
};
const out = [];
for (const jws of tokens) {
  const alone = await outcome(() => verifier.verify({ type: 'application/vc-ld+jwt', content: enc(jws) }));
  // Enveloped, the data: URL is spelled as transmute 0.3.3 reads it
  // (media type ';' token, the 2024 draft's form).
  const presentation = {
    '@context': ['https://www.w3.org/ns/credentials/v2'],
    type: ['VerifiablePresentation'],
    verifiableCredential: [{ '@context': 'https://www.w3.org/ns/credentials/v2', type: 'EnvelopedVerifiableCredential', id: 'data:application/vc-ld+jwt;' + jws }],
  };
  const enveloped = await outcome(async () => {
    await verifier.verify({ type: 'application/vp-ld', content: enc(JSON.stringify(presentation)) });
    return {};
  });
  // As the VC-JOSE-COSE Recommendation spells it (data:media type ',' token).
  presentation.verifiableCredential[0].id = 'data:application/vc+jwt,' + jws;
  const envelopedRec = await outcome(async () => {
    await verifier.verify({ type: 'application/vp-ld', content: enc(JSON.stringify(presentation)) });
    return {};
  });
  out.push({ alone, enveloped, envelopedRec });
}
console.log(JSON.stringify(out));
`

// @transmute/verifiable-credentials verifies an issued credential, alone
// and enveloped in a presentation, with the key the issuer's did:web
// document names, and refuses a changed payload, a signature by another
// issuer's key and an expired credential. Enveloped with the data: URL
// the VC-JOSE-COSE Recommendation spells, it reads an unknown media type.
func TestTransmuteVerifiesIssuedCredentials(t *testing.T) {
	t.Parallel()
	dir := npmVerifiers(t, "@transmute/verifiable-credentials")
	e := newEnv(t)
	// transmute checks nbf and exp against the machine's clock (it takes
	// no date), so the credentials are issued in real time: one 40 days
	// ago that expired after 30, the others now.
	now := time.Now().Add(-time.Minute).Truncate(time.Second)
	e.clock.add(now.Add(-40 * 24 * time.Hour).Sub(e.clock.Now()))
	days := 30
	acme := e.issuer(t, "Acme Academy", "acme", nil)
	globex := e.issuer(t, "Globex Institute", "globex", nil)
	initech := e.issuer(t, "Initech", "initech", &days)
	expired := e.issue(t, initech, "rae@example.com")
	e.clock.add(40 * 24 * time.Hour)
	c := e.issue(t, acme, "rae@example.com")

	payload := payloadOf(t, c.JWS)
	renamed := strings.Replace(string(payload), "Rae Recipient", "Eve Recipient", 1)
	if renamed == string(payload) {
		t.Fatalf("no recipient name in %s", payload)
	}
	byGlobex, err := e.signerNaming(t, globex, c.KeyID).Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		OK      bool   `json:"ok"`
		ID      string `json:"id"`
		Issuer  string `json:"issuer"`
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	var got []struct{ Alone, Enveloped, EnvelopedRec outcome }
	tokens := []string{c.JWS, withPayload(c.JWS, []byte(renamed)), byGlobex, expired.JWS}
	runNode(t, dir, transmuteScript, &got, mustJSON(t, tokens), e.publishedDIDs(t, acme, globex, initech))
	if len(got) != len(tokens) {
		t.Fatalf("%d outcomes for %d credentials: %+v", len(got), len(tokens), got)
	}
	for _, o := range got {
		t.Logf("transmute: alone %+v; enveloped %+v; enveloped as the Recommendation spells it %+v", o.Alone, o.Enveloped, o.EnvelopedRec)
	}

	if o := got[0].Alone; !o.OK || o.ID != e.creds.URLs().Credential(c.ID) || o.Issuer != e.creds.URLs().DID("acme") {
		t.Errorf("transmute on an issued credential: %+v", o)
	}
	if o := got[0].Enveloped; !o.OK {
		t.Errorf("transmute on an issued credential in a presentation: %+v", o)
	}
	// 0.3.3 reads the data: URL of the 2024 draft only; docs/compatibility.md
	// says so, and this says when that changes.
	if o := got[0].EnvelopedRec; o.OK || !strings.HasPrefix(o.Message, "Verifier does not support content type: application/vc+jwt,") {
		t.Errorf("transmute on an issued credential in a presentation, data:application/vc+jwt,…: %+v", o)
	}
	for i, tc := range []struct{ name, code string }{
		{"a renamed recipient", "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"},
		{"globex's signature naming acme's key", "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"},
		{"a credential 10 days past its validUntil", "ERR_JWT_EXPIRED"},
	} {
		o := got[i+1]
		if o.Alone.OK || o.Alone.Code != tc.code || o.Enveloped.OK || o.Enveloped.Code != tc.code {
			t.Errorf("transmute on %s: %+v, enveloped %+v; want %s", tc.name, o.Alone, o.Enveloped, tc.code)
		}
	}
}
