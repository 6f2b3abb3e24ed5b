package core_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

const module = "github.com/credence-dev/credence/"

// The package diagram in docs/architecture.md is the import graph: every
// package of core/, ports/, adapters/ and apps/ is in one of its boxes,
// every arrow stands for at least one import, and every import between two
// boxes has its arrow. Packages in one box do not import each other.
func TestArchitectureDiagramMatchesImports(t *testing.T) {
	doc, err := os.ReadFile("../docs/architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	boxes, arrows := parseDiagram(t, string(doc))

	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}\t{{join .Imports \" \"}}",
		module+"core/...", module+"ports/...", module+"adapters/...", module+"apps/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	boxOf := map[string]string{}
	for id, pkgs := range boxes {
		for _, p := range pkgs {
			if other, ok := boxOf[p]; ok {
				t.Errorf("%s is in two boxes: %s and %s", p, other, id)
			}
			boxOf[p] = id
		}
	}
	realized := map[[2]string]bool{}
	listed := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, deps, _ := strings.Cut(line, "\t")
		pkg := strings.TrimPrefix(path, module)
		if pkg == "core" { // this test's package: no code
			continue
		}
		listed[pkg] = true
		from, ok := boxOf[pkg]
		if !ok {
			t.Errorf("%s is in no box of the diagram", pkg)
			continue
		}
		for _, dep := range strings.Fields(deps) {
			dep, ours := strings.CutPrefix(dep, module)
			if !ours {
				continue
			}
			to, ok := boxOf[dep]
			switch {
			case !ok:
				// reported as a package in no box
			case to == from:
				t.Errorf("%s imports %s, in its own box %s", pkg, dep, from)
			case !arrows[[2]string{from, to}]:
				t.Errorf("%s imports %s, but the diagram has no arrow %s --> %s", pkg, dep, from, to)
			default:
				realized[[2]string{from, to}] = true
			}
		}
	}
	for p := range boxOf {
		if !listed[p] {
			t.Errorf("the diagram names %s, which is no package", p)
		}
	}
	for a := range arrows {
		if !realized[a] {
			t.Errorf("the arrow %s --> %s stands for no import", a[0], a[1])
		}
	}
	if len(listed) < 25 || len(arrows) < 15 {
		t.Fatalf("read only %d packages and %d arrows", len(listed), len(arrows))
	}
}

var (
	boxLine   = regexp.MustCompile(`^\s*(\w+)\["([^"]+)"\]\s*$`)
	arrowLine = regexp.MustCompile(`^\s*(\w+)\s*-->\s*([\w &]+?)\s*$`)
)

// parseDiagram reads the ```mermaid block: boxes `id["pkg<br>pkg"]` and
// arrows `a --> b` or `a --> b & c`.
func parseDiagram(t *testing.T, doc string) (boxes map[string][]string, arrows map[[2]string]bool) {
	t.Helper()
	_, block, ok := strings.Cut(doc, "```mermaid\n")
	if !ok {
		t.Fatal("docs/architecture.md has no ```mermaid block")
	}
	block, _, _ = strings.Cut(block, "```")
	boxes, arrows = map[string][]string{}, map[[2]string]bool{}
	for _, line := range strings.Split(block, "\n") {
		line = strings.TrimSpace(line)
		if m := boxLine.FindStringSubmatch(line); m != nil {
			for _, p := range strings.Split(m[2], "<br>") {
				boxes[m[1]] = append(boxes[m[1]], strings.TrimSpace(p))
			}
			continue
		}
		if m := arrowLine.FindStringSubmatch(line); m != nil {
			for _, to := range strings.Split(m[2], "&") {
				arrows[[2]string{m[1], strings.TrimSpace(to)}] = true
			}
			continue
		}
		if line != "" && line != "flowchart TD" && !strings.HasPrefix(line, "%%") {
			t.Errorf("diagram line not understood: %q", line)
		}
	}
	for a := range arrows {
		for _, id := range a {
			if _, ok := boxes[id]; !ok {
				t.Errorf("an arrow names %s, which is no box", id)
			}
		}
	}
	return boxes, arrows
}
