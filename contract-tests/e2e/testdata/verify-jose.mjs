// Verifies a Credence credential with npm jose, a verifier Credence did not
// write: the compact JWS is checked against the issuer's remote JWKS, and
// the protected header and the payload are printed as one JSON object.
//
// usage: node verify-jose.mjs <jwks-url> <compact-jws>
import * as jose from 'jose';

const [jwksURL, jwt] = process.argv.slice(2);
if (!jwksURL || !jwt) {
  console.error('usage: node verify-jose.mjs <jwks-url> <compact-jws>');
  process.exit(2);
}
const jwks = jose.createRemoteJWKSet(new URL(jwksURL));
const { payload, protectedHeader } = await jose.compactVerify(jwt, jwks, { algorithms: ['ES256', 'RS256'] });
process.stdout.write(JSON.stringify({
  protectedHeader,
  payload: JSON.parse(new TextDecoder().decode(payload)),
}) + '\n');
