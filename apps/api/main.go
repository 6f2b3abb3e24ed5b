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
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/credence-dev/credence/adapters/httpapi"
	"github.com/credence-dev/credence/apps/internal/app"
)

// gcPercent is the API's garbage collection target unless GOGC says
// otherwise, as for apps/worker: under load the server allocates
// short-lived request data at a high rate over a small live heap, and
// collecting a quarter as often cut the server's CPU per verification by
// a quarter (85 → 63 µs, apps/bench/verify.sh on PostgreSQL) for a peak
// heap a few times the live one (tens of MB).
const gcPercent = 400

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "credence:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := app.Load(getenv)
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

func serve(ctx context.Context, cfg app.Config, log *slog.Logger) error {
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	ipLimit, keyLimit, authLimit, _ := cfg.Limits()
	handler := httpapi.New(httpapi.Deps{Accounts: a.Accounts, Orgs: a.Orgs, Badges: a.Badges, Images: a.Images, Credentials: a.Credentials,
		Bulk: a.Bulk, VCAPI: a.VCAPI, Webhooks: a.Webhooks, Clock: a.Clock, Ready: a.Ready, Log: log, Limiter: a.Limiter,
		Limits: httpapi.Limits{IP: ipLimit, Key: keyLimit, AuthIP: authLimit}, TrustedProxies: cfg.TrustedProxies,
		Idempotency: a.Idempotency, Sealer: a.ResponseSealer, HSTS: cfg.PublicURL.Scheme == "https",
		SecureCookies: cfg.PublicURL.Scheme == "https", FormKey: a.FormKey, PublicURL: cfg.PublicURL})

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: logRequests(log, handler), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	if !cfg.DIDWebResolvable() {
		log.Warn("CREDENCE_PUBLIC_URL is not https: did:web resolvers fetch did.json over https only, so verifiers outside cannot resolve the issuers' DIDs (did:web:…) of the credentials signed here",
			"public_url", cfg.PublicURL.String())
	}
	log.Info("credence api listening", "addr", ln.Addr().String(), "public_url", cfg.PublicURL.String(),
		"database", cfg.DatabaseKind(), "queue", a.QueueKind(), "data_dir", cfg.DataDir, "mail", a.MailVia)

	// Background work: the sweep always (it relays what a crash left
	// behind), the in-process worker when there is no Redis.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var bg sync.WaitGroup
	bg.Go(func() { a.Dispatcher.Run(workCtx) })
	// Verifications are counted in memory and added to the database every
	// few seconds; workCtx ends after the server has drained its requests,
	// so the last counts are added before the database closes.
	bg.Go(func() { a.Verifications.Run(workCtx) })
	if a.Local != nil {
		bg.Go(func() {
			if err := a.Local.Run(workCtx); err != nil {
				log.Error("in-process worker stopped", "err", err)
			}
		})
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests and running tasks")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if serr := srv.Shutdown(shutdownCtx); serr != nil && err == nil {
		err = fmt.Errorf("shutdown: %w", serr)
	}
	stopWork()
	bg.Wait()
	if err == nil {
		err = <-errc
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
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

// Unwrap lets http.ResponseController reach the connection (a streamed
// export extends its write deadline).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
