package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/credence-dev/credence/contract-tests/harness"
)

// Time limits of the server's life cycle.
const (
	readyTimeout = 30 * time.Second
	stopTimeout  = 20 * time.Second
	// logTail is how many lines of a failed test's server log are printed
	// (after every warning and error).
	logTail = 150
)

// workDir holds what the whole test process shares: the built binary and
// the npm install of jose. TestMain removes it.
var workDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "credence-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	workDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// builds holds one build per command of ./apps (*buildResult by name).
var builds sync.Map

type buildResult struct {
	once sync.Once
	bin  string
	err  error
}

// serverBinary builds ./apps/api once per test process.
func serverBinary(t testing.TB) string { return binary(t, "api") }

// workerBinary builds ./apps/worker once per test process.
func workerBinary(t testing.TB) string { return binary(t, "worker") }

// binary builds ./apps/<name> once per test process.
func binary(t testing.TB, name string) string {
	t.Helper()
	v, _ := builds.LoadOrStore(name, &buildResult{})
	b := v.(*buildResult)
	b.once.Do(func() { b.bin, b.err = goBuild(name) })
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.bin
}

func goBuild(name string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("go env GOMOD: not inside a module")
	}
	bin := filepath.Join(workDir, "credence-"+name)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./apps/"+name)
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./apps/%s: %w\n%s", name, err, out)
	}
	return bin, nil
}

// server is one running credence-api process.
type server struct {
	store      string // "sqlite" or "postgres"
	url        string // http://127.0.0.1:<port>
	dataDir    string
	dsn        string // the PostgreSQL database URL; "" for SQLite
	adminEmail string // a platform administrator's email (not yet signed up)
	log        *syncBuffer
	serverErrs atomic.Int64 // 5xx responses seen by clients (but those a client expects)
	secrets    secretSet    // what clients saw, never to be found in the database
	http       *http.Client

	bin  string
	env  map[string]string // the process's CREDENCE_* settings
	proc *proc             // the running process (the last one started)
}

// serverOption adds environment variables to the server's.
type serverOption func(env map[string]string)

// withPlans overrides the plan matrix (CREDENCE_PLANS).
func withPlans(js string) serverOption {
	return func(env map[string]string) { env["CREDENCE_PLANS"] = js }
}

// withEnv sets variables, given as name, value pairs.
func withEnv(kv ...string) serverOption {
	return func(env map[string]string) {
		for i := 0; i+1 < len(kv); i += 2 {
			env[kv[i]] = kv[i+1]
		}
	}
}

// startServer starts the binary against store on a free port with a fresh
// data folder (and, for postgres, a fresh database), waits until /readyz
// answers 200 and stops it when t ends. The server's log is printed when t
// fails.
func startServer(t *testing.T, store string, opts ...serverOption) *server {
	t.Helper()
	bin := serverBinary(t)
	s := &server{store: store, dataDir: t.TempDir(), log: &syncBuffer{},
		adminEmail: uniqueEmail("admin"),
		http:       &http.Client{Timeout: 30 * time.Second}, bin: bin}
	env := map[string]string{
		"CREDENCE_DATA_DIR":     s.dataDir,
		"CREDENCE_ADMIN_EMAILS": s.adminEmail,
		"CREDENCE_LOG_LEVEL":    "info",
		// Every test request comes from 127.0.0.1: limits are off but
		// where a scenario sets them (see testRateLimits, testSignInSpray).
		"CREDENCE_RATE_LIMIT_IP":        "0",
		"CREDENCE_RATE_LIMIT_KEY":       "0",
		"CREDENCE_RATE_LIMIT_AUTH_IP":   "0",
		"CREDENCE_RATE_LIMIT_EMAIL":     "0",
		"CREDENCE_RATE_LIMIT_SIGNIN_IP": "0",
		// Webhooks reach the tests' receivers on loopback.
		"CREDENCE_WEBHOOK_ALLOW_PRIVATE": "1",
	}
	for _, o := range opts {
		o(env)
	}
	switch store {
	case "sqlite":
	case "postgres":
		// A fresh database, unless an option names one (a private server).
		if env["CREDENCE_DATABASE_URL"] == "" {
			env["CREDENCE_DATABASE_URL"] = harness.FreshPostgresDB(t)
		}
		s.dsn = env["CREDENCE_DATABASE_URL"]
		if env["CREDENCE_MASTER_KEY"] == "" {
			key := make([]byte, 32)
			if _, err := rand.Read(key); err != nil {
				t.Fatal(err)
			}
			env["CREDENCE_MASTER_KEY"] = base64.StdEncoding.EncodeToString(key)
		}
	default:
		t.Fatalf("unknown store %q", store)
	}
	s.env = env
	t.Cleanup(func() {
		noSecrets(t, "server", s.log, env)
		s.noSecretsInDB(t) // the server has stopped: its database is as it left it
		if t.Failed() {
			t.Logf("server %s (%s) warnings and errors:\n%s\nlast %d lines of its log:\n%s",
				s.url, store, s.log.grep("level=WARN", "level=ERROR", "panic"), logTail, s.log.tail(logTail))
		}
	})

	// A port found free may be taken before the server binds it: retry.
	// The public URL is the server's own unless an option set one (a
	// proxy in front of it).
	public := env["CREDENCE_PUBLIC_URL"]
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		env["CREDENCE_HTTP_ADDR"] = fmt.Sprintf("127.0.0.1:%d", port)
		s.url = fmt.Sprintf("http://127.0.0.1:%d", port)
		env["CREDENCE_PUBLIC_URL"] = s.url
		if public != "" {
			env["CREDENCE_PUBLIC_URL"] = public
		}
		lastErr = s.launch()
		if lastErr == nil {
			t.Cleanup(func() {
				if err := s.proc.stop(); err != nil {
					t.Errorf("server: %v", err)
				}
				if n := s.serverErrs.Load(); n > 0 {
					t.Errorf("the server answered %d request(s) with a 5xx", n)
				}
			})
			return s
		}
		if !strings.Contains(s.log.String(), "address already in use") {
			break
		}
	}
	t.Fatalf("start %s server: %v", store, lastErr)
	return nil
}

// launch starts the process with s.env and waits for readiness; the
// caller stops it.
func (s *server) launch() error {
	p, err := startProc(s.bin, s.env, s.log)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		if s.ready(ctx) {
			s.proc = p
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("the server exited before it was ready (%v); log:\n%s", p.waitErr, s.log.tail(logTail))
		case <-ctx.Done():
			p.kill()
			return fmt.Errorf("not ready within %s; log:\n%s", readyTimeout, s.log.tail(logTail))
		case <-tick.C:
		}
	}
}

// kill ends the server at once with SIGKILL, as a crash or an OOM kill
// would: no drain, no cleanup.
func (s *server) kill(t *testing.T) {
	t.Helper()
	s.proc.kill()
	fmt.Fprintf(s.log, "=== e2e: server killed (SIGKILL)\n")
}

// restart starts the server again with the same settings: the same port,
// data folder and database.
func (s *server) restart(t *testing.T) {
	t.Helper()
	if s.proc.running() {
		t.Fatal("restart of a server that still runs")
	}
	fmt.Fprintf(s.log, "=== e2e: server restarted\n")
	// The killed process's port is free at once (Go listens with
	// SO_REUSEADDR), but retry briefly all the same.
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = s.launch(); err == nil || !strings.Contains(s.log.tail(20), "address already in use") {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("restart %s server: %v", s.store, err)
	}
}

// worker is an apps/worker process with its server's settings (database,
// data folder, Redis, plans), started by startWorker.
type worker struct {
	name string
	env  map[string]string
	log  *syncBuffer
	proc *proc
}

// noSecrets fails t when a process's log holds a secret: a password,
// a session token, an API key, an emailed link token, the master key.
func noSecrets(t *testing.T, who string, log *syncBuffer, env map[string]string) {
	secrets := []string{testPassword, "crs_", "crk_live_", "crk_test_", "token=", "password="}
	if k := env["CREDENCE_MASTER_KEY"]; k != "" {
		secrets = append(secrets, k)
	}
	for _, secret := range secrets {
		if lines := log.grep(secret); lines != "(none)" {
			t.Errorf("the %s log holds a secret (%q):\n%s", who, secret, lines)
		}
	}
}

// startWorker starts an apps/worker process with the server's settings,
// waits until it says it started and stops it (SIGTERM) when t ends. Its
// log is printed when t fails.
func (s *server) startWorker(t *testing.T, name string) *worker {
	t.Helper()
	w := &worker{name: name, env: maps.Clone(s.env), log: &syncBuffer{}}
	t.Cleanup(func() {
		noSecrets(t, "worker "+name, w.log, w.env)
		if t.Failed() {
			t.Logf("worker %s warnings and errors:\n%s\nlast %d lines of its log:\n%s",
				name, w.log.grep("level=WARN", "level=ERROR", "panic"), logTail, w.log.tail(logTail))
		}
	})
	w.start(t)
	t.Cleanup(func() {
		if err := w.proc.stop(); err != nil {
			t.Errorf("worker %s: %v", name, err)
		}
	})
	return w
}

// workerStarted is the line apps/worker logs once it takes tasks.
const workerStarted = "credence worker started"

func (w *worker) start(t *testing.T) {
	t.Helper()
	before := strings.Count(w.log.String(), workerStarted)
	p, err := startProc(workerBinary(t), w.env, w.log)
	if err != nil {
		t.Fatalf("start worker %s: %v", w.name, err)
	}
	deadline := time.After(readyTimeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for strings.Count(w.log.String(), workerStarted) == before {
		select {
		case <-p.exited:
			t.Fatalf("worker %s exited before it started (%v); log:\n%s", w.name, p.waitErr, w.log.tail(logTail))
		case <-deadline:
			p.kill()
			t.Fatalf("worker %s did not start within %s; log:\n%s", w.name, readyTimeout, w.log.tail(logTail))
		case <-tick.C:
		}
	}
	w.proc = p
}

// kill ends the worker at once with SIGKILL.
func (w *worker) kill(t *testing.T) {
	t.Helper()
	w.proc.kill()
	fmt.Fprintf(w.log, "=== e2e: worker killed (SIGKILL)\n")
}

// restart starts a killed worker again.
func (w *worker) restart(t *testing.T) {
	t.Helper()
	if w.proc.running() {
		t.Fatalf("restart of worker %s that still runs", w.name)
	}
	fmt.Fprintf(w.log, "=== e2e: worker restarted\n")
	w.start(t)
}

// proc is one process of a built binary.
type proc struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed once the process ended and waitErr is set
	waitErr error
}

// startProc starts bin with env (see serverEnv), its output going to out.
func startProc(bin string, env map[string]string, out io.Writer) (*proc, error) {
	cmd := exec.Command(bin)
	cmd.Env = serverEnv(env)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, exited: make(chan struct{})}
	go func() { p.waitErr = cmd.Wait(); close(p.exited) }()
	return p, nil
}

func (p *proc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL and waits for the end.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// stop sends SIGTERM and waits up to stopTimeout for a clean exit. A
// process that was killed on purpose is not stopped again.
func (p *proc) stop() error {
	if p == nil {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if p.waitErr != nil {
			return fmt.Errorf("exited with %v after SIGTERM", p.waitErr)
		}
		return nil
	case <-time.After(stopTimeout):
		p.kill()
		return fmt.Errorf("did not stop within %s of SIGTERM", stopTimeout)
	}
}

func (s *server) ready(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/readyz", nil)
	if err != nil {
		return false
	}
	res, err := s.http.Do(req)
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// serverEnv is the test process's environment without CREDENCE_*
// variables (a developer's settings must not leak in), plus env.
func serverEnv(env map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CREDENCE_") {
			out = append(out, kv)
		}
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// syncBuffer is the log of a process, read while it runs.
type syncBuffer struct{ harness.SyncBuffer }

// grep returns the lines containing any of words.
func (b *syncBuffer) grep(words ...string) string {
	var out []string
	for _, line := range strings.Split(b.String(), "\n") {
		for _, w := range words {
			if strings.Contains(line, w) {
				out = append(out, line)
				break
			}
		}
	}
	if len(out) == 0 {
		return "(none)"
	}
	return strings.Join(out, "\n")
}

func (b *syncBuffer) tail(n int) string {
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("… %d earlier lines left out", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

var uniqueSeq atomic.Int64

// runID makes names unique across runs sharing a PostgreSQL server.
var runID = func() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x", b[:])
}()

// unique returns prefix-<run>-<n>, usable as a slug.
func unique(prefix string) string {
	return fmt.Sprintf("%s-%s-%d", prefix, runID, uniqueSeq.Add(1))
}

func uniqueEmail(prefix string) string { return unique(prefix) + "@e2e.example.com" }
