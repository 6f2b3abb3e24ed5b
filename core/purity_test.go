// Package core_test guards the dependency rule: the core and the ports
// never reach a database, HTTP, queue or adapter package, and no adapter
// imports another.
package core_test

import (
	"os/exec"
	"strings"
	"testing"
)

// viaAllowed lists third-party packages that may import net/http for
// features the core never calls: jwx's JWKS fetching (jwx is the core's
// signing library by design).
var viaAllowed = []string{"github.com/lestrrat-go/"}

func TestCoreIsPure(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}\t{{join .Imports \" \"}}", "github.com/credence-dev/credence/core/...", "github.com/credence-dev/credence/ports/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, "\t")
		imports[pkg] = strings.Fields(deps)
	}
	// Walk from every core and ports package; a forbidden package may be
	// reached only as jwx's net/http import, which is not followed.
	var queue []string
	for pkg := range imports {
		if strings.HasPrefix(pkg, "github.com/credence-dev/credence/core") || strings.HasPrefix(pkg, "github.com/credence-dev/credence/ports") {
			queue = append(queue, pkg)
		}
	}
	seen := map[string]bool{}
	for len(queue) > 0 {
		pkg := queue[0]
		queue = queue[1:]
		if seen[pkg] {
			continue
		}
		seen[pkg] = true
		for _, dep := range imports[pkg] {
			if isForbidden(dep) {
				if dep == "net/http" && hasPrefix(pkg, viaAllowed) {
					continue
				}
				t.Errorf("%s imports %s: core/ and ports/ must not reach it", pkg, dep)
				continue
			}
			queue = append(queue, dep)
		}
	}
	if len(seen) < 10 {
		t.Fatalf("walked only %d packages", len(seen))
	}
}

// TestAdaptersImportNoOtherAdapter guards the adapters' side of the rule:
// an adapter is made of core, ports, the standard library and third-party
// packages, never of another adapter or an app, so that each can be
// replaced or dropped alone; what adapters share belongs in ports or the
// core. Only the code an adapter ships counts: its tests may compose it
// with others (httpapi's run over a SQLite store).
//
// adapters/internal is no adapter: it holds the plumbing several adapters
// use alike (coalesce: concurrent calls sent as one round trip), made of
// the standard library alone, so that it cannot carry one technology
// into another adapter.
func TestAdaptersImportNoOtherAdapter(t *testing.T) {
	const adapters = "github.com/credence-dev/credence/adapters/"
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}\t{{join .Imports \" \"}}", adapters+"...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	// adapterOf names the adapter path belongs to (its first element
	// under adapters/), or "" outside adapters.
	adapterOf := func(path string) string {
		rest, ok := strings.CutPrefix(path, adapters)
		if !ok {
			return ""
		}
		name, _, _ := strings.Cut(rest, "/")
		if name == "internal" {
			return ""
		}
		return name
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for _, line := range lines {
		pkg, deps, _ := strings.Cut(line, "\t")
		shared := strings.HasPrefix(pkg, adapters+"internal/")
		for _, dep := range strings.Fields(deps) {
			if shared && strings.Contains(strings.Split(dep, "/")[0], ".") {
				t.Errorf("%s imports %s: adapters/internal is made of the standard library alone", pkg, dep)
			}
			if other := adapterOf(dep); other != "" && other != adapterOf(pkg) {
				t.Errorf("%s imports %s: an adapter must not import another adapter", pkg, dep)
			}
			if strings.HasPrefix(dep, "github.com/credence-dev/credence/apps") {
				t.Errorf("%s imports %s: an adapter must not import an app", pkg, dep)
			}
		}
	}
	if len(lines) < 5 {
		t.Fatalf("listed only %d adapter packages", len(lines))
	}
}

// isForbidden reports whether core/ and ports/ must never reach path:
// adapters, apps, bun, huma, asynq, redis, testcontainers, database/sql
// and net/http.
func isForbidden(path string) bool {
	if rest, ok := strings.CutPrefix(path, "github.com/credence-dev/credence/"); ok {
		return strings.HasPrefix(rest, "adapters") || strings.HasPrefix(rest, "apps")
	}
	return path == "net/http" || path == "database/sql" ||
		hasPrefix(path, []string{"github.com/uptrace/bun", "github.com/danielgtaylor/huma", "github.com/hibiken/asynq"}) ||
		strings.Contains(path, "redis") || strings.Contains(path, "testcontainers")
}

func hasPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
