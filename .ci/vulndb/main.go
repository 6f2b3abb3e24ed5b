// Command vulndb builds a local copy of the Go vulnerability database, for
// govulncheck's -db flag, from a pinned snapshot of golang.org/x/vulndb
// fetched through the Go module proxy, and prints its file:// URL.
//
// CI reaches the module proxy but not vuln.go.dev. The vulndb module holds
// every report as an OSV entry (data/osv/<ID>.json); this writes them in
// the layout of the database API (go.dev/security/vuln/database#api):
//
//	index/db.json       when the database was last modified
//	index/modules.json  each affected module with the IDs of its entries
//	index/vulns.json    each entry's ID, modified time and aliases
//	ID/<ID>.json        the OSV entries
//
// The snapshot's OSV entries leave "modified" unset (the deployed
// database takes it from the repository's history), so each gets the
// snapshot's commit time. The index leaves out the optional "fixed"
// versions: govulncheck then reads the entry of every module it finds
// in the index and decides from the entry's own ranges, which is exact.
//
// Usage:
//
//	db=$(go run ./.ci/vulndb) && go run golang.org/x/vuln/cmd/govulncheck@v1.9.0 -db "$db" ./...
//
// Moving to a newer snapshot is a change of vulndbVersion (see
// https://proxy.golang.org/golang.org/x/vulndb/@latest).
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// vulndbVersion is the snapshot of golang.org/x/vulndb the database is
// built from.
const vulndbVersion = "v0.0.0-20261105234957-e22db6528018"

func main() {
	out := flag.String("out", "", "directory to write the database to (default: the user cache directory)")
	flag.Parse()
	u, err := run(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vulndb:", err)
		os.Exit(1)
	}
	fmt.Println(u)
}

func run(out string) (string, error) {
	src, snapshot, err := download("golang.org/x/vulndb@" + vulndbVersion)
	if err != nil {
		return "", err
	}
	if out == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return "", err
		}
		out = filepath.Join(cache, "credence", "vulndb", vulndbVersion)
	}
	if out, err = filepath.Abs(out); err != nil {
		return "", err
	}
	files, err := build(filepath.Join(src, "data", "osv"), snapshot)
	if err != nil {
		return "", err
	}
	if err := write(out, files); err != nil {
		return "", err
	}
	fmt.Fprintf(os.Stderr, "vulndb: %d entries of golang.org/x/vulndb@%s (%s) in %s\n",
		len(files)-3, vulndbVersion, snapshot.Format(time.DateOnly), out)
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(out)}).String(), nil
}

// download fetches module@version through the module proxy (checked
// against go.sum's checksum database like any module) and returns its
// directory and commit time.
func download(module string) (dir string, at time.Time, err error) {
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	var m struct{ Dir, Info, Error string }
	if jerr := json.Unmarshal(b, &m); jerr != nil || m.Error != "" || err != nil {
		return "", time.Time{}, fmt.Errorf("go mod download %s: %w %s", module, errors.Join(err, jerr), m.Error)
	}
	b, err = os.ReadFile(m.Info)
	if err != nil {
		return "", time.Time{}, err
	}
	var info struct{ Time time.Time }
	if err := json.Unmarshal(b, &info); err != nil || info.Time.IsZero() {
		return "", time.Time{}, fmt.Errorf("no commit time in %s: %v", m.Info, err)
	}
	return m.Dir, info.Time.UTC(), nil
}

// entry is the part of an OSV entry the index is made of.
type entry struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases"`
	Affected []struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
	} `json:"affected"`
}

type moduleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
}

type module struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

type vuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases,omitempty"`
}

// build reads the OSV entries in dir and returns the database's files by
// their path; entries whose modified time is unset get snapshot.
func build(dir string, snapshot time.Time) (map[string][]byte, error) {
	names, err := filepath.Glob(filepath.Join(dir, "GO-*.json"))
	if err != nil {
		return nil, err
	}
	// The snapshot holds thousands; a few would mean the layout moved.
	if len(names) < 1000 {
		return nil, fmt.Errorf("%s holds %d OSV entries: not a vulndb snapshot this program knows", dir, len(names))
	}
	files := map[string][]byte{}
	modules := map[string]*module{}
	var vulns []vuln
	var modified time.Time
	for _, name := range names {
		raw, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		var e entry
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if e.ID+".json" != filepath.Base(name) {
			return nil, fmt.Errorf("%s holds entry %q", name, e.ID)
		}
		if e.Modified.IsZero() {
			e.Modified = snapshot
			if raw, err = setModified(raw, snapshot); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
		files["ID/"+e.ID+".json"] = raw
		vulns = append(vulns, vuln{ID: e.ID, Modified: e.Modified, Aliases: e.Aliases})
		if e.Modified.After(modified) {
			modified = e.Modified
		}
		for _, a := range e.Affected {
			m := modules[a.Package.Name]
			if m == nil {
				m = &module{Path: a.Package.Name}
				modules[a.Package.Name] = m
			}
			if !slices.ContainsFunc(m.Vulns, func(v moduleVuln) bool { return v.ID == e.ID }) {
				m.Vulns = append(m.Vulns, moduleVuln{ID: e.ID, Modified: e.Modified})
			}
		}
	}
	if modules["stdlib"] == nil {
		return nil, errors.New("no entry affects the standard library: not a vulndb snapshot this program knows")
	}
	index := make([]*module, 0, len(modules))
	for _, m := range modules {
		slices.SortFunc(m.Vulns, func(a, b moduleVuln) int { return strings.Compare(a.ID, b.ID) })
		index = append(index, m)
	}
	slices.SortFunc(index, func(a, b *module) int { return strings.Compare(a.Path, b.Path) })
	slices.SortFunc(vulns, func(a, b vuln) int { return strings.Compare(a.ID, b.ID) })
	for name, v := range map[string]any{
		"index/db.json": struct {
			Modified time.Time `json:"modified"`
		}{modified},
		"index/modules.json": index,
		"index/vulns.json":   vulns,
	} {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		files[name] = b
	}
	return files, nil
}

// setModified returns the OSV entry raw with its "modified" set to t,
// every other field as it was.
func setModified(raw []byte, t time.Time) ([]byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, err
	}
	b, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	fields["modified"] = b
	return json.Marshal(fields)
}

// write replaces dir with files, so that a run cut short never leaves a
// database that lacks entries its index names.
func write(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+".new-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for _, sub := range []string{"index", "ID"} {
		if err := os.Mkdir(filepath.Join(tmp, sub), 0o755); err != nil {
			return err
		}
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(tmp, filepath.FromSlash(name)), b, 0o644); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}
