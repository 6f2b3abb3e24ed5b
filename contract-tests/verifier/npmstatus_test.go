package verifier_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/statuslist"
)

// npmStatusScript reads credentials' statuses with third-party Bitstring
// Status List checkers from the npm registry, as a verifier holding only
// the .jwt would: its credentialStatus entries, the documents published at
// their statusListCredential URLs, and the issuer's did:web document.
//
// DCC's @digitalcredentials/vc-bitstring-status-list and Digital Bazaar's
// @digitalbazaar/vc-bitstring-status-list (checkStatus) check the entries
// (type BitstringStatusListEntry, purpose, index, statusListCredential),
// load each list through the documentLoader they are given, and check
// that its purpose is the entry's, that its issuer is the credential's,
// that it is typed BitstringStatusListCredential with a BitstringStatusList
// subject; then they decode the encodedList (multibase "u", base64url,
// GZIP) and read the entry's bit. They verify a list only as a Data
// Integrity credential (verifyBitstringStatusListCredential, on by
// default, needs a proof); Credence signs its lists as vc+jwt, so that is
// turned off and the documentLoader is where the list's signature is
// checked: npm jose verifies the served JWS (typ vc+jwt, nbf) with the key
// its kid names in the issuer's did:web document, whose DID must be the
// list's issuer, and the list's id must be the URL it was loaded from.
// The .jwt itself is verified the same way before its status is read.
//
// @transmute/verifiable-credentials' validator resolves each entry's list
// by its URL, verifies it as application/vc-ld+jwt with the key its
// resolver returns, and reads the bit with its own bitstring decoder
// (status.bs), which transmuteBits and transmuteAsServed call directly.
//
// Each case is one credential and what was published at that moment; the
// script prints one outcome per case.
const npmStatusScript = `
import * as jose from 'jose';
import * as dcc from '@digitalcredentials/vc-bitstring-status-list';
import * as db from '@digitalbazaar/vc-bitstring-status-list';
import * as transmute from '@transmute/verifiable-credentials';
` + didWebJS + `
const [cases, published, at] = process.argv.slice(1).map((a) => JSON.parse(a));
const currentDate = new Date(at);
const enc = (s) => new TextEncoder().encode(s);
const fail = (code, message) => Object.assign(new Error(message), { code });
const said = (e) => ({ error: String(e?.message ?? e), code: e?.code ?? '', cause: String(e?.cause?.message ?? ''), causeCode: e?.cause?.code ?? '' });
const claims = (jws) => JSON.parse(Buffer.from(jws.split('.')[1], 'base64url'));
const outcomes = [];

// The key a kid names, if the kid's DID document (did:web) lists it for
// assertions.
const keyOf = (kid) => {
  const doc = loadDID(published, String(kid).split('#')[0]);
  const method = (doc.verificationMethod ?? []).find((m) => m.id === kid);
  if (!method || !(doc.assertionMethod ?? []).includes(kid)) throw fail('KID_NOT_FOUND', kid + ' is not an assertion method of ' + doc.id);
  return method.publicKeyJwk;
};
// A vc+jwt verified with npm jose: the key from the issuer's DID document,
// the kid's DID the issuer.
const verifyVCJWT = async (jws) => {
  let did = '';
  const { payload } = await jose.jwtVerify(jws, async (header) => {
    did = String(header.kid).split('#')[0];
    return jose.importJWK(keyOf(header.kid), header.alg);
  }, { typ: 'vc+jwt', currentDate });
  if ((payload.issuer?.id ?? payload.issuer) !== did || payload.iss !== did) throw fail('KID_NOT_ISSUERS', 'signed by ' + did + ', not by its issuer');
  return payload;
};

for (const { token, lists } of cases) {
  const out = {};
  let credential;
  try {
    credential = await verifyVCJWT(token);
    out.credential = { ok: true };
  } catch (e) {
    out.credential = { ok: false, ...said(e) };
  }
  // GET statusListCredential: what was served at the URL, verified.
  const documentLoader = async (url) => {
    if (!(url in lists)) throw fail('NOT_FOUND', 'nothing is published at ' + url);
    const document = await verifyVCJWT(lists[url]);
    if (document.id !== url) throw fail('LIST_ELSEWHERE', 'the list at ' + url + ' names itself ' + document.id);
    return { contextUrl: null, documentUrl: url, document };
  };
  for (const [name, lib] of [['dcc', dcc], ['db', db]]) {
    if (!credential) break;
    const res = await lib.checkStatus({ credential, documentLoader, verifyBitstringStatusListCredential: false });
    const o = { verified: res.verified, results: (res.results ?? []).map((r) => ({ purpose: r.credentialStatus.statusPurpose, verified: r.verified, status: r.status ?? null })) };
    if (res.error) Object.assign(o, said(res.error));
    try {
      o.typeMatches = lib.statusTypeMatches({ credential });
    } catch (e) {
      o.typeMatchesError = String(e.message);
    }
    // With the list's verification on (the default), it is verified as a
    // Data Integrity credential: the suite is never reached, as the list
    // carries no proof.
    const di = await lib.checkStatus({ credential, documentLoader, suite: {} });
    o.withProofCheck = { verified: di.verified, ...(di.error ? said(di.error) : {}), causeErrors: (di.error?.cause?.errors ?? []).map((e) => String(e.message)) };
    out[name] = o;
  }

  const resolver = { resolve: async ({ id, type, content, purpose }) => {
    if (purpose === 'status-check') {
      if (!(id in lists)) throw fail('NOT_FOUND', 'nothing is published at ' + id);
      return { type, content: enc(lists[id]) };
    }
    if (purpose !== 'verification-material') throw fail('UNSUPPORTED', 'no ' + purpose + ' here');
    const jws = new TextDecoder().decode(content);
    const { kid } = JSON.parse(Buffer.from(jws.split('.')[0], 'base64url'));
    const { issuer } = claims(jws);
    if ((issuer?.id ?? issuer) !== String(kid).split('#')[0]) throw fail('KID_NOT_ISSUERS', kid + ' is no key of the issuer');
    return { type: 'application/jwk+json', content: enc(JSON.stringify(keyOf(kid))) };
  }};
  try {
    const v = await transmute.validator({ resolver }).validate({ type: 'application/vc-ld+jwt', content: enc(token) });
    out.transmute = { ok: true, status: v.status };
  } catch (e) {
    out.transmute = { ok: false, ...said(e) };
  }
  // transmute's decoder on each entry's list, as served and without the
  // encodedList's first character.
  out.transmuteBits = {};
  out.transmuteAsServed = {};
  for (const entry of claims(token).credentialStatus ?? []) {
    const { encodedList } = claims(lists[entry.statusListCredential]).credentialSubject;
    const index = parseInt(entry.statusListIndex, 10);
    try {
      out.transmuteAsServed[entry.statusPurpose] = transmute.status.bs(encodedList).get(index);
    } catch (e) {
      out.transmuteAsServed[entry.statusPurpose] = 'error: ' + String(e?.message ?? e);
    }
    try {
      out.transmuteBits[entry.statusPurpose] = transmute.status.bs(encodedList.slice(1)).get(index);
    } catch (e) {
      out.transmuteBitsError = String(e?.message ?? e);
    }
  }
  outcomes.push(out);
}
console.log(JSON.stringify(outcomes));
`

// bslOutcome is what a Bitstring Status List library's checkStatus said.
type bslOutcome struct {
	Verified bool `json:"verified"`
	Results  []struct {
		Purpose  string `json:"purpose"`
		Verified bool   `json:"verified"`
		Status   *bool  `json:"status"`
	} `json:"results"`
	Error          string `json:"error"`
	Cause          string `json:"cause"`
	CauseCode      string `json:"causeCode"`
	TypeMatches    bool   `json:"typeMatches"`
	WithProofCheck struct {
		Verified    bool     `json:"verified"`
		Error       string   `json:"error"`
		CauseErrors []string `json:"causeErrors"`
	} `json:"withProofCheck"`
}

// npmStatus is one case's outcomes.
type npmStatus struct {
	Credential struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	} `json:"credential"`
	DCC       *bslOutcome `json:"dcc"`
	DB        *bslOutcome `json:"db"`
	Transmute struct {
		OK     bool                      `json:"ok"`
		Status map[string]map[string]any `json:"status"`
		Error  string                    `json:"error"`
		Code   string                    `json:"code"`
	} `json:"transmute"`
	TransmuteBits      map[string]bool `json:"transmuteBits"`
	TransmuteBitsError string          `json:"transmuteBitsError"`
	TransmuteAsServed  map[string]any  `json:"transmuteAsServed"`
}

// statusCase is a credential and the status lists published when it is
// checked (URL → the served document).
type statusCase struct {
	name               string
	Token              string            `json:"token"`
	Lists              map[string]string `json:"lists"`
	revoked, suspended bool
}

// statusEntries returns a .jwt's credentialStatus entries.
func statusEntries(t *testing.T, jws string) []statuslist.Entry {
	t.Helper()
	var vc struct {
		CredentialStatus []statuslist.Entry `json:"credentialStatus"`
	}
	if err := json.Unmarshal(payloadOf(t, jws), &vc); err != nil {
		t.Fatal(err)
	}
	if len(vc.CredentialStatus) != 2 {
		t.Fatalf("credentialStatus %+v: want a revocation and a suspension entry", vc.CredentialStatus)
	}
	return vc.CredentialStatus
}

// servedLists returns what is served now at the statusListCredential URLs
// of the .jwt's entries: GET /status-lists/{listId}, as application/vc+jwt.
func (e *env) servedLists(t *testing.T, jws string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, entry := range statusEntries(t, jws) {
		listID := entry.StatusListCredential[strings.LastIndex(entry.StatusListCredential, "/")+1:]
		doc, _, err := e.creds.StatusListDocument(t.Context(), listID)
		if err != nil {
			t.Fatalf("GET %s: %v", entry.StatusListCredential, err)
		}
		out[entry.StatusListCredential] = doc
	}
	return out
}

// withBitSet is the list document at url in lists with the bit of jws's
// entry set in its encodedList, its header and signature kept.
func withBitSet(t *testing.T, lists map[string]string, url, jws string) map[string]string {
	t.Helper()
	index := -1
	for _, entry := range statusEntries(t, jws) {
		if entry.StatusListCredential == url {
			index, _ = strconv.Atoi(entry.StatusListIndex)
		}
	}
	doc, ok := lists[url]
	if index < 0 || !ok {
		t.Fatalf("the credential names no place in %s, or nothing is published there", url)
	}
	var list map[string]json.RawMessage
	if err := json.Unmarshal(payloadOf(t, doc), &list); err != nil {
		t.Fatal(err)
	}
	setBit(t, list, index, url)
	out := map[string]string{}
	for k, v := range lists {
		out[k] = v
	}
	out[url] = withPayload(doc, []byte(mustJSON(t, list)))
	return out
}

// Third-party Bitstring Status List checkers from npm read revocation and
// suspension from a .jwt and the documents Credence publishes (the status
// lists at the credential's statusListCredential URLs, the issuer's
// did:web document), nothing else: a fresh credential reads clear, a
// revoked one revoked and its neighbour clear, a suspended one suspended
// until the suspension is lifted. A list whose bit was set after signing
// is refused by its signature. transmute's validator cannot read
// Credence's lists (see below).
func TestNpmStatusListCheckers(t *testing.T) {
	t.Parallel()
	dir := npmVerifiers(t, "jose", "@digitalcredentials/vc-bitstring-status-list", "@digitalbazaar/vc-bitstring-status-list",
		"@transmute/verifiable-credentials")
	e := newEnv(t)
	// transmute checks nbf against the machine's clock: issue in real time.
	e.clock.add(time.Now().Add(-time.Minute).Truncate(time.Second).Sub(e.clock.Now()))
	acme := e.issuer(t, "Acme Academy", "acme", nil)
	first, second := e.issue(t, acme, "rae@example.com"), e.issue(t, acme, "sam@example.com")
	ctx := t.Context()

	cases := []statusCase{
		{name: "a fresh credential", Token: first.JWS, Lists: e.servedLists(t, first.JWS)},
		{name: "another fresh credential", Token: second.JWS, Lists: e.servedLists(t, second.JWS)},
	}
	if _, err := e.creds.Revoke(ctx, e.owner, acme.org.ID, first.ID, "issued in error"); err != nil {
		t.Fatal(err)
	}
	afterRevoke := e.servedLists(t, second.JWS)
	cases = append(cases,
		statusCase{name: "the revoked credential", Token: first.JWS, Lists: e.servedLists(t, first.JWS), revoked: true},
		statusCase{name: "its neighbour in the list", Token: second.JWS, Lists: afterRevoke})
	if _, err := e.creds.Suspend(ctx, e.owner, acme.org.ID, second.ID, "under review"); err != nil {
		t.Fatal(err)
	}
	cases = append(cases,
		statusCase{name: "the suspended credential", Token: second.JWS, Lists: e.servedLists(t, second.JWS), suspended: true},
		statusCase{name: "the revoked credential while the other is suspended", Token: first.JWS, Lists: e.servedLists(t, first.JWS), revoked: true})
	if _, err := e.creds.Unsuspend(ctx, e.owner, acme.org.ID, second.ID); err != nil {
		t.Fatal(err)
	}
	cases = append(cases, statusCase{name: "the credential whose suspension was lifted", Token: second.JWS, Lists: e.servedLists(t, second.JWS)})
	forged := len(cases)
	// The revocation list as published after the revocation, with the
	// neighbour's bit set too and the signature kept.
	revocationURL := statusEntries(t, second.JWS)[0].StatusListCredential
	if !strings.HasSuffix(revocationURL, "-revocation") {
		t.Fatalf("the first entry names %s, want the revocation list", revocationURL)
	}
	cases = append(cases, statusCase{name: "a revocation list with a bit set after signing", Token: second.JWS,
		Lists: withBitSet(t, afterRevoke, revocationURL, second.JWS)})

	var got []npmStatus
	runNode(t, dir, npmStatusScript, &got, mustJSON(t, cases), e.publishedDIDs(t, acme), mustJSON(t, e.clock.Now().Format(time.RFC3339)))
	if len(got) != len(cases) {
		t.Fatalf("%d outcomes for %d cases", len(got), len(cases))
	}
	for i, tc := range cases {
		o := got[i]
		t.Logf("%s:\n  dcc %s\n  db %s\n  transmute %+v; its decoder as served %v, without the first character %v",
			tc.name, mustJSON(t, o.DCC), mustJSON(t, o.DB), o.Transmute, o.TransmuteAsServed, o.TransmuteBits)
		if !o.Credential.OK || o.DCC == nil || o.DB == nil {
			t.Errorf("%s: npm jose refuses the .jwt: %s", tc.name, o.Credential.Error)
			continue
		}
		if i == forged {
			continue
		}
		want := map[string]bool{"revocation": tc.revoked, "suspension": tc.suspended}
		// DCC 1.0.0 says verified: false for an entry whose bit is set.
		if read, ok := bitsOf(o.DCC, func(verified bool, _ *bool) (bool, bool) { return !verified, true }); !ok || !maps(read, want) || o.DCC.Error != "" {
			t.Errorf("%s: DCC's checker reads %v (%+v), want %v", tc.name, read, o.DCC, want)
		}
		// Digital Bazaar 2.0.1 says the bit as status, verified: true.
		if read, ok := bitsOf(o.DB, func(verified bool, status *bool) (bool, bool) {
			return status != nil && *status, verified && status != nil
		}); !ok || !maps(read, want) || o.DB.Error != "" {
			t.Errorf("%s: Digital Bazaar's checker reads %v (%+v), want %v", tc.name, read, o.DB, want)
		}
		if o.DCC.Verified != !(tc.revoked || tc.suspended) {
			t.Errorf("%s: DCC's checker says verified %v overall", tc.name, o.DCC.Verified)
		}
		// Both check a list only as a Data Integrity credential when asked
		// to (their default): Credence's vc+jwt lists carry no proof.
		for lib, b := range map[string]*bslOutcome{"DCC": o.DCC, "Digital Bazaar": o.DB} {
			if w := b.WithProofCheck; w.Verified || !strings.HasPrefix(w.Error, `"BitstringStatusListCredential" not verified`) ||
				len(w.CauseErrors) == 0 || w.CauseErrors[0] != "No matching proofs found in the given document." {
				t.Errorf("%s: %s's checker verifying the list as a Data Integrity credential: %+v", tc.name, lib, w)
			}
		}
		// statusTypeMatches, which a verifier may ask before checkStatus:
		// DCC 1.0.0 wants the Bitstring Status List v1 context in
		// @context, which a VCDM 2.0 credential does not name (the v2
		// context defines the terms); Digital Bazaar 2.0.1 accepts v2.
		if o.DCC.TypeMatches || !o.DB.TypeMatches {
			t.Errorf("%s: statusTypeMatches: DCC %v, Digital Bazaar %v; want false, true", tc.name, o.DCC.TypeMatches, o.DB.TypeMatches)
		}

		// transmute 0.3.3 base64url-decodes the whole encodedList, where
		// Bitstring Status List v1.0 puts a multibase prefix ("u") before
		// the base64url: the GZIP header is then off and pako throws
		// "incorrect header check" (a string, not an Error). Its validator
		// therefore fails on every credential with a status, after
		// verifying the list's signature; the same decoder, given the
		// encodedList without the "u", reads the right bits.
		if o.Transmute.OK || o.Transmute.Error != "incorrect header check" {
			t.Errorf("%s: transmute's validator: %+v, want the throw \"incorrect header check\"", tc.name, o.Transmute)
		}
		for _, p := range []string{"revocation", "suspension"} {
			if o.TransmuteAsServed[p] != "error: incorrect header check" {
				t.Errorf("%s: transmute's decoder on the %s list as served: %v", tc.name, p, o.TransmuteAsServed[p])
			}
		}
		if !maps(o.TransmuteBits, want) || o.TransmuteBitsError != "" {
			t.Errorf("%s: transmute's decoder without the multibase prefix reads %v %s, want %v", tc.name, o.TransmuteBits, o.TransmuteBitsError, want)
		}
	}

	// The list with a bit set after signing: refused by its signature,
	// read neither as revoked nor as clear.
	o := got[forged]
	for lib, b := range map[string]*bslOutcome{"DCC": o.DCC, "Digital Bazaar": o.DB} {
		if b == nil || b.Verified || len(b.Results) != 0 || b.Error != `Could not load "BitstringStatusListCredential"; reason: signature verification failed` ||
			b.CauseCode != "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" {
			t.Errorf("%s's checker on a list with a bit set after signing: %+v", lib, b)
		}
	}
	if o.Transmute.OK || o.Transmute.Code != "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" {
		t.Errorf("transmute's validator on a list with a bit set after signing: %+v", o.Transmute)
	}
	if want := map[string]bool{"revocation": true, "suspension": false}; !maps(o.TransmuteBits, want) {
		t.Errorf("the forged list reads %v, want the bit set: the forgery is no forgery", o.TransmuteBits)
	}
}

// bitsOf returns, by purpose, what a checker's results say of the bit:
// read turns a result into the bit and whether it says one.
func bitsOf(o *bslOutcome, read func(verified bool, status *bool) (bool, bool)) (map[string]bool, bool) {
	out := map[string]bool{}
	for _, r := range o.Results {
		bit, ok := read(r.Verified, r.Status)
		if !ok {
			return out, false
		}
		out[r.Purpose] = bit
	}
	return out, len(out) == len(o.Results)
}

// setBit sets entry index of a status list credential's encodedList (its
// JSON members), leaving its signature or proof as it was: a forged list.
func setBit(t *testing.T, list map[string]json.RawMessage, index int, url string) {
	t.Helper()
	var subject map[string]json.RawMessage
	if err := json.Unmarshal(list["credentialSubject"], &subject); err != nil {
		t.Fatal(err)
	}
	var encoded string
	if err := json.Unmarshal(subject["encodedList"], &encoded); err != nil {
		t.Fatal(err)
	}
	bits, err := statuslist.Decode(encoded)
	if err != nil {
		t.Fatal(err)
	}
	if set, _ := bits.Get(index); set {
		t.Fatalf("the bit of %d is set already in %s", index, url)
	}
	bits.Set(index)
	subject["encodedList"] = json.RawMessage(mustJSON(t, bits.Encode()))
	list["credentialSubject"] = json.RawMessage(mustJSON(t, subject))
}
