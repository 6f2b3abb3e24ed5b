package verifier_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Where the npm verifiers are installed, and the switch that makes their
// absence a failure instead of a skip. The folder holds
// contract-tests/verifier/npm/package.json and package-lock.json, installed
// with `npm ci --prefix DIR` (.ci/run does so, into a cache folder named by
// the lock's hash); the npm folder itself serves too, after `npm ci` there.
const (
	envNpmVerifiers        = "CREDENCE_TEST_NPM_VERIFIERS"
	envRequireNpmVerifiers = "CREDENCE_TEST_REQUIRE_NPM_VERIFIERS"
)

// npmVerifiers returns the folder where pkgs are installed at the versions
// npm/package.json pins. A package missing, or installed at another
// version (a stale folder), skips the test, or fails it when
// CREDENCE_TEST_REQUIRE_NPM_VERIFIERS=1.
func npmVerifiers(t *testing.T, pkgs ...string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("npm", "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := json.Unmarshal(raw, &manifest); err != nil {
		t.Fatalf("npm/package.json: %v", err)
	}
	dir := os.Getenv(envNpmVerifiers)
	for _, pkg := range pkgs {
		pinned, ok := manifest.Dependencies[pkg]
		if !ok {
			t.Fatalf("npm/package.json pins no %s", pkg)
		}
		msg := ""
		var installed struct {
			Version string `json:"version"`
		}
		if dir == "" {
			msg = envNpmVerifiers + " is not set"
		} else if raw, err := os.ReadFile(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
			msg = envNpmVerifiers + "=" + dir + " has no " + pkg + " installed"
		} else if err := json.Unmarshal(raw, &installed); err != nil || installed.Version != pinned {
			msg = envNpmVerifiers + "=" + dir + " has " + pkg + " " + installed.Version + ", npm/package.json pins " + pinned
		}
		if msg == "" {
			continue
		}
		if os.Getenv(envRequireNpmVerifiers) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg + "; install the pinned verifiers with `npm ci --prefix DIR` after copying contract-tests/verifier/npm/package*.json to DIR, as .ci/run does")
	}
	return dir
}

// runNode runs an ES module script with node in dir, where its bare
// imports resolve, and decodes the one JSON value it prints into out.
// args reach the script as process.argv.slice(1). A script that fails
// (rather than printing a verdict) fails the test with node's stderr.
func runNode(t *testing.T, dir, script string, out any, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "node", append([]string{"--input-type=module", "-e", script}, args...)...)
	cmd.Dir = dir
	stdout, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("node: %v\n%s%s", err, stdout, exit.Stderr)
		}
		t.Fatalf("node: %v", err)
	}
	if err := json.Unmarshal(stdout, out); err != nil {
		t.Fatalf("node printed %q: %v", stdout, err)
	}
}

// didWebJS defines, for the scripts that resolve an issuer's DID,
// didWebURL(did): where the did:web method says the DID's document is
// (https, the host with a percent-encoded port, the colon-separated path,
// or /.well-known without one), and loadDID(published, did): that
// document from published (URL → document, what Credence serves at each
// URL), refused unless its id is the DID. Nothing is fetched: published
// stands for the web.
const didWebJS = `
const didWebURL = (did) => {
  const [scheme, method, host, ...path] = did.split(':');
  if (scheme !== 'did' || method !== 'web' || !host) throw new Error('not a did:web: ' + did);
  return 'https://' + decodeURIComponent(host) + '/' + (path.length ? path.map(decodeURIComponent).join('/') : '.well-known') + '/did.json';
};
const loadDID = (published, did) => {
  const doc = published[didWebURL(did)];
  if (!doc || doc.id !== did) throw Object.assign(new Error('no DID document for ' + did + ' at ' + didWebURL(did)), { code: 'DID_NOT_FOUND' });
  return doc;
};
`

// publishedDIDs is what the issuers publish at their did:web URLs, as
// didWebJS's loadDID reads it (a JSON object from URL to document).
func (e *env) publishedDIDs(t *testing.T, issuers ...issuer) string {
	t.Helper()
	docs := map[string]json.RawMessage{}
	for _, is := range issuers {
		_, did := e.published(t, is)
		docs[e.creds.URLs().Issuer(is.org.Slug)+"/did.json"] = did
	}
	raw, err := json.Marshal(docs)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// payloadOf returns the payload a compact JWS signs.
func payloadOf(t *testing.T, jws string) []byte {
	t.Helper()
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		t.Fatalf("%d parts in %q", len(parts), jws)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	return payload
}

// withPayload is jws with payload in place of the one it signed, header
// and signature kept: a forgery.
func withPayload(jws string, payload []byte) string {
	parts := strings.Split(jws, ".")
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}
