// Command worker runs Credence's background work from Redis (asynq): bulk
// issuance jobs and mail delivery, plus the sweep that hands over work a
// crashed process left behind. It reads the same CREDENCE_* variables as
// apps/api and needs CREDENCE_REDIS_URL; run as many replicas as you like.
// SIGTERM (or Ctrl-C) drains: no new task is taken, running ones finish
// (up to 10 s; the rest go back to the queue, and a bulk job resumes where
// its last committed chunk ended).
//
//	CREDENCE_REDIS_URL=redis://127.0.0.1:6379/0 CREDENCE_DATABASE_URL=postgres://… go run ./apps/worker
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"

	"github.com/credence-dev/credence/apps/internal/app"
)

// gcPercent is the worker's garbage collection target unless GOGC says
// otherwise: signing and bulk writes allocate short-lived data at a high
// rate, and collecting a quarter as often buys about a tenth of the CPU
// for some 60 MB more memory at the peak of a bulk job.
const gcPercent = 400

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "credence worker:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stderr io.Writer) error {
	cfg, err := app.Load(getenv)
	if err != nil {
		return err
	}
	if cfg.RedisURL == "" {
		return fmt.Errorf("CREDENCE_REDIS_URL is required: the worker takes its tasks from Redis (without Redis, apps/api runs the work in-process)")
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	w, err := a.NewRedisWorker()
	if err != nil {
		return err
	}
	if err := a.Ready(ctx); err != nil {
		return err
	}
	log.Info("credence worker started", "concurrency", cfg.Concurrency, "database", cfg.DatabaseKind(), "pid", os.Getpid())

	sweepCtx, stopSweep := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSweep()
	var bg sync.WaitGroup
	bg.Go(func() { a.Dispatcher.Run(sweepCtx) })
	err = w.Run(ctx) // returns after draining once ctx is done
	stopSweep()
	bg.Wait()
	if err != nil {
		return err
	}
	log.Info("worker stopped")
	return nil
}
