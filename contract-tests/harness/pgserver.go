package harness

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// EnvPostgresBin names the folder holding initdb and pg_ctl, for
// StartPrivatePostgres; without it they are looked up in PATH, then in
// /usr/lib/postgresql/<version>/bin (the newest version first).
const EnvPostgresBin = "CREDENCE_TEST_POSTGRES_BIN"

// PrivatePostgres is a PostgreSQL server of one test's own: created with
// initdb in a temporary folder, listening on 127.0.0.1 on a free port,
// and stopped and removed when the test ends. A test stops and starts it
// to see what code does while its database is away; the shared server of
// PostgresURL is never stopped.
type PrivatePostgres struct {
	// URL is the server's "postgres" database, user postgres, trust
	// authentication, no TLS.
	URL string

	t     testing.TB
	bin   string // the folder of initdb and pg_ctl
	dir   string // the temporary folder: data/, the socket and server.log
	runAs string // the OS user running the server ("" for the test's own)
}

// StartPrivatePostgres creates and starts a private server and registers
// its removal with t.Cleanup. Without the PostgreSQL server binaries it
// skips t saying why, or fails it under CREDENCE_TEST_REQUIRE_SERVICES=1.
// PostgreSQL refuses to run as root: a test running as root runs the
// server as the postgres OS user (with runuser), which must exist then.
func StartPrivatePostgres(t testing.TB) *PrivatePostgres {
	t.Helper()
	bin, err := postgresBin()
	if err != nil {
		missing(t, "no private PostgreSQL: %v", err)
	}
	p := &PrivatePostgres{t: t, bin: bin}
	var uid, gid int = -1, -1
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			missing(t, "no private PostgreSQL: the test runs as root and there is no postgres OS user to run the server as: %v", err)
		}
		if _, err := exec.LookPath("runuser"); err != nil {
			missing(t, "no private PostgreSQL: the test runs as root and runuser is missing: %v", err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		p.runAs = u.Username
	}
	// Not t.TempDir: its parent folders are private to the test's user,
	// and the server may run as another.
	p.dir, err = os.MkdirTemp("", "credence-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.remove)
	if uid >= 0 {
		if err := os.Chown(p.dir, uid, gid); err != nil {
			t.Fatalf("private PostgreSQL: %v", err)
		}
	}
	if out, err := p.run("initdb", "-D", p.data(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		t.Fatalf("private PostgreSQL: initdb: %v\n%s", err, out)
	}
	// The port is found free, then bound by the server: another process
	// may take it in between, so a few ports are tried.
	for attempt := 0; ; attempt++ {
		port, err := freeLoopbackPort()
		if err != nil {
			t.Fatal(err)
		}
		conf := fmt.Sprintf("\nport = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\n"+
			"fsync = off\nfull_page_writes = off\nsynchronous_commit = off\n", port, p.dir)
		if err := os.WriteFile(filepath.Join(p.data(), "postgresql.auto.conf"), []byte(conf), 0o600); err != nil {
			t.Fatalf("private PostgreSQL: %v", err)
		}
		if uid >= 0 {
			_ = os.Chown(filepath.Join(p.data(), "postgresql.auto.conf"), uid, gid)
		}
		out, err := p.run("pg_ctl", "-D", p.data(), "-l", p.logFile(), "-w", "-t", "60", "start")
		if err == nil {
			p.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
			return p
		}
		if attempt == 2 || !strings.Contains(p.log(), "could not bind") {
			t.Fatalf("private PostgreSQL: pg_ctl start: %v\n%s\n%s", err, out, p.log())
		}
	}
}

// Stop shuts the server down (fast: open connections are terminated, as a
// server being stopped or restarted does) and waits until it is gone.
func (p *PrivatePostgres) Stop() {
	p.t.Helper()
	if out, err := p.run("pg_ctl", "-D", p.data(), "-m", "fast", "-w", "-t", "60", "stop"); err != nil {
		p.t.Fatalf("private PostgreSQL: pg_ctl stop: %v\n%s\n%s", err, out, p.log())
	}
}

// Start starts a stopped server again, on the same port with the same
// data, and waits until it accepts connections.
func (p *PrivatePostgres) Start() {
	p.t.Helper()
	if out, err := p.run("pg_ctl", "-D", p.data(), "-l", p.logFile(), "-w", "-t", "60", "start"); err != nil {
		p.t.Fatalf("private PostgreSQL: pg_ctl start: %v\n%s\n%s", err, out, p.log())
	}
}

// remove stops the server at once, whatever its state, and deletes its
// folder.
func (p *PrivatePostgres) remove() {
	if _, err := os.Stat(filepath.Join(p.data(), "postmaster.pid")); err == nil {
		if out, err := p.run("pg_ctl", "-D", p.data(), "-m", "immediate", "-w", "-t", "60", "stop"); err != nil {
			p.t.Errorf("private PostgreSQL: pg_ctl stop: %v\n%s", err, out)
		}
	}
	if err := os.RemoveAll(p.dir); err != nil {
		p.t.Errorf("private PostgreSQL: %v", err)
	}
}

func (p *PrivatePostgres) data() string    { return filepath.Join(p.dir, "data") }
func (p *PrivatePostgres) logFile() string { return filepath.Join(p.dir, "server.log") }

// log returns the server's log, for failure messages.
func (p *PrivatePostgres) log() string {
	b, _ := os.ReadFile(p.logFile())
	return string(b)
}

// run runs one of the server's programs, as the server's OS user, with
// the C locale, within two minutes.
func (p *PrivatePostgres) run(program string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	path := filepath.Join(p.bin, program)
	var cmd *exec.Cmd
	if p.runAs != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", p.runAs, "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	return cmd.CombinedOutput()
}

// postgresBin finds the folder holding initdb and pg_ctl.
func postgresBin() (string, error) {
	has := func(dir string) bool {
		for _, program := range []string{"initdb", "pg_ctl"} {
			if fi, err := os.Stat(filepath.Join(dir, program)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	if dir := os.Getenv(EnvPostgresBin); dir != "" {
		if !has(dir) {
			return "", fmt.Errorf("%s=%s holds no initdb and pg_ctl", EnvPostgresBin, dir)
		}
		return dir, nil
	}
	if initdb, err := exec.LookPath("initdb"); err == nil {
		// Packages link initdb into PATH from their own folder; pg_ctl
		// lives beside the real one.
		if real, err := filepath.EvalSymlinks(initdb); err == nil && has(filepath.Dir(real)) {
			return filepath.Dir(real), nil
		}
		if has(filepath.Dir(initdb)) {
			return filepath.Dir(initdb), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { // newest version first: 16 before 9.6
		return compareVersions(filepath.Base(filepath.Dir(b)), filepath.Base(filepath.Dir(a)))
	})
	for _, dir := range dirs {
		if has(dir) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("no initdb and pg_ctl in %s, PATH or /usr/lib/postgresql/*/bin (install the PostgreSQL server)", EnvPostgresBin)
}

// compareVersions compares dotted version numbers ("9.6", "15").
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x - y
		}
	}
	return 0
}

// freeLoopbackPort returns a TCP port free on 127.0.0.1 just now.
func freeLoopbackPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// missing skips t, or fails it when services are required.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(EnvRequireServices) == "1" {
		t.Fatalf("%s (%s=1 requires it)", msg, EnvRequireServices)
	}
	t.Skip(msg)
}
