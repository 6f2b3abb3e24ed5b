package verifier_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
	"github.com/credence-dev/credence/core/vcapi"
)

// transmuteHolderScript makes a presentation as a holder with
// @transmute/verifiable-credentials (holder, application/vp-ld+jwt): the
// credential it is given enveloped as transmute writes it
// (data:application/vc-ld+jwt;<JWS>), signed by npm jose with the
// holder's private JWK under the kid it is given, with a nonce and an
// aud among the presentation's members. It prints the compact JWS.
const transmuteHolderScript = `
import * as transmute from '@transmute/verifiable-credentials';
import * as jose from 'jose';
const [jwk, kid, alg, did, credential] = process.argv.slice(1);
const key = await jose.importJWK(JSON.parse(jwk), alg);
const signer = { sign: async (bytes) => new TextEncoder().encode(
  await new jose.CompactSign(bytes).setProtectedHeader({ alg, kid, typ: 'vp-ld+jwt' }).sign(key)) };
const vp = await transmute.holder({ alg, type: 'application/vp-ld+jwt' }).issue({
  signer,
  presentation: {
    '@context': ['https://www.w3.org/ns/credentials/v2'],
    type: ['VerifiablePresentation'],
    holder: did,
    nonce: 'n-0f3a',
    aud: 'verifier.example',
  },
  disclosures: [{ type: 'application/vc-ld+jwt', credential: new TextEncoder().encode(credential) }],
});
console.log(JSON.stringify(new TextDecoder().decode(vp)));
`

// A presentation made by @transmute/verifiable-credentials as a did:key
// holder (Ed25519 and P-256 keys, signed by npm jose) carrying a
// credential Credence issued verifies with Credence's VC-API rules, for
// the challenge and domain it was made for and not for others.
func TestTransmutePresentationVerifiesWithVCAPI(t *testing.T) {
	t.Parallel()
	dir := npmVerifiers(t, "@transmute/verifiable-credentials", "jose")
	e := newEnv(t)
	acme := e.issuer(t, "Acme Academy", "acme", nil)
	c := e.issue(t, acme, "rae@example.com")
	svc := vcapi.New(e.creds, e.clock)

	for _, alg := range []domain.Algorithm{domain.AlgEdDSA, domain.AlgES256} {
		var priv crypto.Signer
		var err error
		if alg == domain.AlgEdDSA {
			_, priv, err = ed25519.GenerateKey(rand.Reader)
		} else {
			priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		}
		if err != nil {
			t.Fatal(err)
		}
		did, err := signing.DIDKey(priv.Public())
		if err != nil {
			t.Fatal(err)
		}
		key, err := jwk.FromRaw(priv)
		if err != nil {
			t.Fatal(err)
		}
		var vp string
		runNode(t, dir, transmuteHolderScript, &vp, mustJSON(t, key), signing.DIDKeyMethod(did), string(alg), did, c.JWS)

		request := func(challenge, domain string) []byte {
			b, _ := json.Marshal(map[string]any{
				"verifiablePresentation": map[string]any{"@context": []string{"https://www.w3.org/ns/credentials/v2"},
					"type": "EnvelopedVerifiablePresentation", "id": "data:application/vp-ld+jwt;" + vp},
				"options": map[string]string{"challenge": challenge, "domain": domain}})
			return b
		}
		r, err := svc.VerifyPresentation(t.Context(), request("n-0f3a", "verifier.example"))
		if err != nil || !r.Verified {
			t.Fatalf("%s: transmute's presentation: %+v %v", alg, r, err)
		}
		r, err = svc.VerifyPresentation(t.Context(), request("n-0f3b", "verifier.example"))
		if err != nil || r.Verified || len(r.Problems) != 1 || r.Problems[0].Type != vcapi.InvalidChallengeError {
			t.Errorf("%s: transmute's presentation for another challenge: %+v %v", alg, r, err)
		}
		t.Logf("%s: %s", alg, fmt.Sprint(r.Problems))
	}
}
