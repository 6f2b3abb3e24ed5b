package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/credence-dev/credence/contract-tests/harness"
)

// joseVersion is the npm jose release line the external check uses.
const joseVersion = "jose@6"

var jose struct {
	once   sync.Once
	script string // verify-jose.mjs beside node_modules/jose
	skip   string // why the check cannot run here
	err    error
}

// joseScript installs npm jose once per test process and returns the path
// of testdata/verify-jose.mjs copied beside it (bare imports resolve from
// the script's folder). Without node and npm the test is skipped, or fails
// under CREDENCE_TEST_REQUIRE_SERVICES=1.
func joseScript(t *testing.T) string {
	t.Helper()
	jose.once.Do(func() {
		for _, tool := range []string{"node", "npm"} {
			if _, err := exec.LookPath(tool); err != nil {
				jose.skip = tool + " is not on PATH"
				return
			}
		}
		dir := filepath.Join(workDir, "jose")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			jose.err = err
			return
		}
		// --prefer-offline reuses npm's cache; the short fetch limits make
		// an offline machine give up quickly rather than hang.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "npm", "install", "--prefix", dir, "--prefer-offline", "--no-audit", "--no-fund",
			"--no-package-lock", "--fetch-retries=1", "--fetch-timeout=30000", "--loglevel=error", joseVersion)
		if out, err := cmd.CombinedOutput(); err != nil {
			jose.skip = fmt.Sprintf("npm install %s failed (%v): %s", joseVersion, err, out)
			return
		}
		src, err := os.ReadFile(filepath.Join("testdata", "verify-jose.mjs"))
		if err != nil {
			jose.err = err
			return
		}
		jose.script = filepath.Join(dir, "verify-jose.mjs")
		jose.err = os.WriteFile(jose.script, src, 0o600)
	})
	switch {
	case jose.err != nil:
		t.Fatal(jose.err)
	case jose.skip != "" && os.Getenv(harness.EnvRequireServices) == "1":
		t.Fatalf("external verifier: %s (%s=1 requires it)", jose.skip, harness.EnvRequireServices)
	case jose.skip != "":
		t.Skipf("external verifier: %s", jose.skip)
	}
	return jose.script
}

// testJoseVerifier: npm jose verifies ES256 and RS256 credentials with
// nothing but the issuer's published JWKS.
func testJoseVerifier(t *testing.T, e *env) {
	script := joseScript(t)
	for _, alg := range []string{"ES256", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			owner, o := e.newIssuer(t, alg)
			c := e.as(t, owner.Token)
			b := createBadge(c, o.ID, 365)
			cr := issue(c, o.ID, b.ID, "Jo Sé "+alg, uniqueEmail("jose"))

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var stdout, stderr bytes.Buffer
			cmd := exec.CommandContext(ctx, "node", script, e.url+"/issuers/"+o.Slug+"/jwks.json", cr.JWT)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("jose rejected the %s credential (%v):\n%s", alg, err, stderr.String())
			}
			var out struct {
				ProtectedHeader jwsHeader `json:"protectedHeader"`
				Payload         struct {
					ID                string `json:"id"`
					CredentialSubject struct {
						Name string `json:"name"`
					} `json:"credentialSubject"`
					Issuer struct {
						ID string `json:"id"`
					} `json:"issuer"`
				} `json:"payload"`
			}
			if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
				t.Fatalf("jose output %q: %v", stdout.String(), err)
			}
			h := out.ProtectedHeader
			if h.Alg != alg || h.KID != cr.KID || h.Typ != "vc+jwt" {
				t.Errorf("jose protected header %+v, want alg %s kid %s typ vc+jwt", h, alg, cr.KID)
			}
			if out.Payload.ID != e.url+"/credentials/"+cr.ID || out.Payload.CredentialSubject.Name != cr.Recipient.Name || out.Payload.Issuer.ID != o.IssuerID {
				t.Errorf("jose payload %+v, want id …/credentials/%s, subject %q, issuer %s", out.Payload, cr.ID, cr.Recipient.Name, o.IssuerID)
			}
		})
	}
}
