package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
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

var build struct {
	once sync.Once
	bin  string
	err  error
}

// serverBinary builds ./apps/api once per test process.
func serverBinary(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
		if err != nil {
			build.err = fmt.Errorf("go env GOMOD: %w", err)
			return
		}
		gomod := strings.TrimSpace(string(out))
		if gomod == "" || gomod == os.DevNull {
			build.err = errors.New("go env GOMOD: not inside a module")
			return
		}
		bin := filepath.Join(workDir, "credence-api")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./apps/api")
		cmd.Dir = filepath.Dir(gomod)
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build ./apps/api: %w\n%s", err, out)
			return
		}
		build.bin = bin
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.bin
}

// server is one running credence-api process.
type server struct {
	store      string // "sqlite" or "postgres"
	url        string // http://127.0.0.1:<port>
	dataDir    string
	dsn        string // the PostgreSQL database URL; "" for SQLite
	adminEmail string // a platform administrator's email (not yet signed up)
	log        *syncBuffer
	serverErrs atomic.Int64 // 5xx responses seen by clients
	http       *http.Client
}

// serverOption adds environment variables to the server's.
type serverOption func(env map[string]string)

// withPlans overrides the plan matrix (CREDENCE_PLANS).
func withPlans(js string) serverOption {
	return func(env map[string]string) { env["CREDENCE_PLANS"] = js }
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
		http:       &http.Client{Timeout: 30 * time.Second}}
	env := map[string]string{
		"CREDENCE_DATA_DIR":     s.dataDir,
		"CREDENCE_ADMIN_EMAILS": s.adminEmail,
		"CREDENCE_LOG_LEVEL":    "info",
	}
	switch store {
	case "sqlite":
	case "postgres":
		s.dsn = harness.FreshPostgresDB(t)
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			t.Fatal(err)
		}
		env["CREDENCE_DATABASE_URL"] = s.dsn
		env["CREDENCE_MASTER_KEY"] = base64.StdEncoding.EncodeToString(key)
	default:
		t.Fatalf("unknown store %q", store)
	}
	for _, o := range opts {
		o(env)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server %s (%s) warnings and errors:\n%s\nlast %d lines of its log:\n%s",
				s.url, store, s.log.grep("level=WARN", "level=ERROR", "panic"), logTail, s.log.tail(logTail))
		}
	})

	// A port found free may be taken before the server binds it: retry.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		env["CREDENCE_HTTP_ADDR"] = fmt.Sprintf("127.0.0.1:%d", port)
		env["CREDENCE_PUBLIC_URL"] = fmt.Sprintf("http://127.0.0.1:%d", port)
		s.url = env["CREDENCE_PUBLIC_URL"]
		lastErr = s.run(t, bin, env)
		if lastErr == nil {
			return s
		}
		if !strings.Contains(s.log.String(), "address already in use") {
			break
		}
	}
	t.Fatalf("start %s server: %v", store, lastErr)
	return nil
}

// run starts the process and waits for readiness. On success the process
// is stopped (SIGTERM, then wait) when t ends.
func (s *server) run(t *testing.T, bin string, env map[string]string) error {
	cmd := exec.Command(bin)
	cmd.Env = serverEnv(env)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()

	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		if s.ready(ctx) {
			break
		}
		select {
		case <-exited:
			return fmt.Errorf("the server exited before it was ready (%v); log:\n%s", waitErr, s.log.String())
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("not ready within %s; log:\n%s", readyTimeout, s.log.String())
		case <-tick.C:
		}
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
			if waitErr != nil {
				t.Errorf("server exited with %v after SIGTERM", waitErr)
			}
		case <-time.After(stopTimeout):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("server did not stop within %s of SIGTERM", stopTimeout)
		}
		if n := s.serverErrs.Load(); n > 0 {
			t.Errorf("the server answered %d request(s) with a 5xx", n)
		}
	})
	return nil
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

// syncBuffer is a bytes.Buffer safe for the process's writers and readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

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
