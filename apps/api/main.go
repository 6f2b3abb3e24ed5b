// Command api is Credence's composition root: configuration → adapters →
// core → HTTP server. With no configuration it runs the embedded default:
// SQLite under ./credence-data, mail written to files, listening on :8080.
//
//	go run ./apps/api           serve
//	go run ./apps/api openapi   print the OpenAPI document (YAML)
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/credence-dev/credence/adapters/filemail"
	"github.com/credence-dev/credence/adapters/httpapi"
	"github.com/credence-dev/credence/adapters/sqlstore"
	"github.com/credence-dev/credence/adapters/sysclock"
	"github.com/credence-dev/credence/core/accounts"
	"github.com/credence-dev/credence/core/badges"
	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/orgs"
	"github.com/credence-dev/credence/core/signing"
	"github.com/credence-dev/credence/ports"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "credence:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	if len(args) > 0 {
		switch args[0] {
		case "openapi":
			return printOpenAPI(stdout, args[1:])
		case "-h", "--help", "help":
			fmt.Fprint(stdout, usage)
			return nil
		default:
			return fmt.Errorf("unknown command %q\n%s", args[0], usage)
		}
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	return serve(ctx, cfg, log)
}

const usage = `usage: api [command]

  (none)    serve the HTTP API (configuration from CREDENCE_* variables; see README)
  openapi   print the OpenAPI document as YAML (--json for JSON)
`

// app is the wired application.
type app struct {
	store   ports.Store
	handler http.Handler
	mailDir string
}

func wire(ctx context.Context, cfg config, log *slog.Logger) (*app, error) {
	// Infrastructure.
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	masterKey, err := cfg.masterKey(log)
	if err != nil {
		return nil, err
	}
	cipher, err := signing.NewCipher(masterKey)
	if err != nil {
		return nil, err
	}
	store, err := sqlstore.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	mailDir := filepath.Join(cfg.DataDir, "mail")
	mailer, err := filemail.New(mailDir, cfg.MailFrom, log)
	if err != nil {
		store.Close()
		return nil, err
	}
	clock := sysclock.Clock{}

	// Core.
	urls := credentials.URLs{Base: cfg.PublicURL}
	acc := accounts.New(store, clock, mailer, log, accounts.Config{PublicURL: cfg.PublicURL.String(), AdminEmails: cfg.AdminEmails})
	org := orgs.New(store, clock, mailer, cipher, cfg.Plans, log)
	bdg := badges.New(store, clock, cfg.Plans)
	crd := credentials.New(store, clock, mailer, cipher, cfg.Plans, urls, log)

	// Inbound.
	handler := httpapi.New(httpapi.Deps{Accounts: acc, Orgs: org, Badges: bdg, Credentials: crd, Clock: clock,
		Ready: store.Ping, Log: log})
	return &app{store: store, handler: logRequests(log, handler), mailDir: mailDir}, nil
}

func serve(ctx context.Context, cfg config, log *slog.Logger) error {
	a, err := wire(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.store.Close()

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: a.handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	log.Info("credence api listening", "addr", ln.Addr().String(), "public_url", cfg.PublicURL.String(),
		"database", cfg.databaseKind(), "data_dir", cfg.DataDir, "mail_dir", a.mailDir)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

func printOpenAPI(stdout io.Writer, args []string) error {
	out, err := httpapi.Spec(len(args) > 0 && args[0] == "--json")
	if err != nil {
		return err
	}
	_, err = stdout.Write(out)
	return err
}

// logRequests logs one line per request: method, path, status, duration.
// Query strings are left out: they may carry tokens.
func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		next.ServeHTTP(rec, r)
		log.Info("http", "method", r.Method, "path", r.URL.Path, "status", rec.status, "ms", time.Since(start).Milliseconds())
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
