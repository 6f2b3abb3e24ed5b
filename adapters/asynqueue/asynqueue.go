// Package asynqueue implements ports.Queue and ports.Worker with asynq
// (github.com/hibiken/asynq) over Redis, for deployments with more than one
// process: tasks survive restarts, and a worker killed mid-task gets its
// task back once its lease expires (delivery is at least once).
//
// Two asynq habits shape the adapter. A task ID would make asynq refuse a
// second task with that ID for as long as the first is kept, archived
// included, and the sweeps re-enqueue on purpose, so tasks get none.
// asynq keeps retry times in whole seconds, rounded down, so the retry
// delay gets one second more: a retry never runs before its delay.
// asynq also gives each attempt a 30-minute deadline (its default task
// timeout): a handler's context ends then, and the attempt counts as failed.
package asynqueue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/credence-dev/credence/ports"
)

// Defaults of Options.
const (
	DefaultQueue           = "credence"
	DefaultConcurrency     = 4
	DefaultMaxRetry        = 10
	DefaultShutdownTimeout = 10 * time.Second
	DefaultPollInterval    = time.Second
)

// Options configure a Queue and a Worker; zero values take the defaults.
// A Queue reads only Queue and MaxRetry.
type Options struct {
	// Queue is the asynq queue name (default "credence").
	Queue string
	// Concurrency is how many handlers run at once in this worker
	// (default 4).
	Concurrency int
	// MaxRetry is how many times a failed task is tried again (default 10;
	// negative: never), so a task gets MaxRetry+1 attempts in all. It is
	// stored with each task when enqueued.
	MaxRetry int
	// RetryDelay is the wait before the next try of a task that failed
	// attempt times (default ports.DefaultRetryDelay: exponential from
	// 1s, capped at 10 minutes, ±20% jitter). asynq adds up to a second.
	RetryDelay func(attempt int) time.Duration
	// ShutdownTimeout is how long Run waits for running handlers once its
	// context is done, before it cancels theirs and puts their tasks back
	// in the queue (default 10s).
	ShutdownTimeout time.Duration
	// PollInterval is how often an idle worker looks for new tasks, and for
	// retries that are due (default 1s). asynq polls Redis; lower values
	// cost Redis load, and suit tests.
	PollInterval time.Duration
	// Log receives failures and asynq's own messages (its Info as Debug:
	// asynq is chatty). Default slog.Default().
	Log *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Queue == "" {
		o.Queue = DefaultQueue
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	switch {
	case o.MaxRetry == 0:
		o.MaxRetry = DefaultMaxRetry
	case o.MaxRetry < 0:
		o.MaxRetry = 0
	}
	if o.RetryDelay == nil {
		o.RetryDelay = ports.DefaultRetryDelay
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return o
}

// ParseRedisURL parses a Redis URL (redis://[user:password@]host:port[/db],
// rediss:// for TLS, redis-socket:// or redis-sentinel://) into asynq's
// connection options. Errors never repeat the URL: it may hold a password.
func ParseRedisURL(raw string) (asynq.RedisConnOpt, error) {
	u, err := url.Parse(raw)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err // ue.URL is the raw URL
		}
		return nil, fmt.Errorf("redis URL: %w", err)
	}
	switch u.Scheme {
	case "redis", "rediss":
		if u.Host == "" {
			return nil, errors.New("redis URL: no host")
		}
	case "redis-socket", "redis-sentinel":
	default:
		return nil, fmt.Errorf("redis URL: scheme %q is not redis, rediss, redis-socket or redis-sentinel", u.Scheme)
	}
	opt, err := asynq.ParseRedisURI(raw)
	if err != nil {
		return nil, fmt.Errorf("redis URL: %w", err)
	}
	return opt, nil
}

// redisClient opens the Redis client opt describes.
func redisClient(opt asynq.RedisConnOpt) redis.UniversalClient {
	c, ok := opt.MakeRedisClient().(redis.UniversalClient)
	if !ok { // every asynq.RedisConnOpt makes one
		panic(fmt.Sprintf("asynqueue: unsupported Redis options %T", opt))
	}
	return c
}

// Queue is a ports.Queue enqueueing into one asynq queue.
type Queue struct {
	rdb      redis.UniversalClient
	client   *asynq.Client
	queue    string
	maxRetry int
	close    sync.Once
	closeErr error
}

var _ ports.Queue = (*Queue)(nil)

// NewQueue returns a Queue over the Redis of opt, enqueueing into o.Queue
// with o.MaxRetry retries. It connects lazily: see Ping.
func NewQueue(opt asynq.RedisConnOpt, o Options) *Queue {
	o = o.withDefaults()
	rdb := redisClient(opt)
	return &Queue{rdb: rdb, client: asynq.NewClientFromRedisClient(rdb), queue: o.Queue, maxRetry: o.MaxRetry}
}

// Enqueue stores t in Redis. It carries no task ID, so the same task may
// be enqueued again (see the package comment).
func (q *Queue) Enqueue(ctx context.Context, t ports.Task) error {
	_, err := q.client.EnqueueContext(ctx, asynq.NewTask(t.Kind, t.Payload),
		asynq.Queue(q.queue), asynq.MaxRetry(q.maxRetry))
	if err != nil {
		return fmt.Errorf("asynqueue: enqueue %q: %w", t.Kind, err)
	}
	return nil
}

// Ping checks that Redis answers (readiness).
func (q *Queue) Ping(ctx context.Context) error {
	if err := q.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("asynqueue: redis: %w", err)
	}
	return nil
}

// Close closes the Redis connections; Enqueue fails afterwards. A second
// Close does nothing.
func (q *Queue) Close() error {
	q.close.Do(func() { q.closeErr = q.rdb.Close() })
	return q.closeErr
}

// Worker is a ports.Worker: an asynq server on one queue.
type Worker struct {
	opt Options
	log *slog.Logger
	srv *asynq.Server
	mux *asynq.ServeMux

	base     context.Context // Run's context; handlers get its values
	started  atomic.Bool     // Run was called
	stopping atomic.Bool     // Run's context is done
	running  atomic.Int64    // handlers running now
	cut      atomic.Int64    // handlers that returned cancelled while stopping
}

var _ ports.Worker = (*Worker)(nil)

// NewWorker returns a Worker over the Redis of opt handling the tasks of
// o.Queue. Nothing runs before Run.
func NewWorker(opt asynq.RedisConnOpt, o Options) *Worker {
	o = o.withDefaults()
	w := &Worker{opt: o, log: o.Log, mux: asynq.NewServeMux(), base: context.Background()}
	w.srv = asynq.NewServer(opt, asynq.Config{
		Queues:      map[string]int{o.Queue: 1},
		Concurrency: o.Concurrency,
		BaseContext: func() context.Context { return w.base },
		// asynq's n is the number of retries so far, 0 on the first failure.
		// The second makes up for the whole-second rounding (see package doc).
		RetryDelayFunc: func(n int, _ error, _ *asynq.Task) time.Duration {
			return o.RetryDelay(n+1) + time.Second
		},
		// No IsFailure: asynq asks it only of tasks it retries (a "no" there
		// skips the retry count, so the task would retry forever), while a
		// permanent failure comes as SkipRetry and is archived, which asynq
		// always counts as failed.
		ErrorHandler:             asynq.ErrorHandlerFunc(w.logFailure),
		ShutdownTimeout:          o.ShutdownTimeout,
		TaskCheckInterval:        o.PollInterval,
		DelayedTaskCheckInterval: o.PollInterval,
		HealthCheckFunc: func(err error) {
			if err != nil {
				w.log.Warn("asynqueue: redis unreachable", "err", err)
			}
		},
		Logger:   asynqLogger{o.Log},
		LogLevel: asynq.DebugLevel, // let slog's handler choose
	})
	return w
}

// Handle registers h for tasks of kind. Like asynq.ServeMux.Handle, it
// panics on an empty kind or a second handler for a kind.
func (w *Worker) Handle(kind string, h ports.TaskHandler) {
	if h == nil {
		panic("asynqueue: nil handler")
	}
	w.mux.HandleFunc(kind, func(ctx context.Context, t *asynq.Task) error {
		w.running.Add(1)
		defer func() {
			if w.stopping.Load() && ctx.Err() != nil {
				w.cut.Add(1) // counted before running drops, so Run sees one of them
			}
			w.running.Add(-1)
		}()
		err := h.Call(ctx, ports.Task{Kind: t.Type(), Payload: t.Payload()})
		if errors.Is(err, ports.ErrPermanent) {
			return fmt.Errorf("%w (%w)", err, asynq.SkipRetry)
		}
		return err
	})
}

// process is the server's handler: the mux's handler for the exact kind.
// (ServeMux falls back to the longest registered prefix of the kind; the
// port wants a kind without handler to fail permanently.)
func (w *Worker) process(ctx context.Context, t *asynq.Task) error {
	h, pattern := w.mux.Handler(t)
	if pattern != t.Type() {
		return fmt.Errorf("asynqueue: no handler for task kind %q: %w (%w)", t.Type(), ports.ErrPermanent, asynq.SkipRetry)
	}
	return h.ProcessTask(ctx, t)
}

// Run starts the asynq server and, once ctx is done, shuts it down: it
// takes no new task and waits up to ShutdownTimeout for the running
// handlers, then cancels their contexts and puts their tasks back in the
// queue, and waits up to ports.CancelGrace for the cancelled handlers to
// return. Handlers get ctx's values, not its cancellation. It returns nil
// after a clean drain. Run can be called once.
func (w *Worker) Run(ctx context.Context) error {
	if !w.started.CompareAndSwap(false, true) {
		return errors.New("asynqueue: Run called twice")
	}
	w.base = context.WithoutCancel(ctx) // before Start: its goroutines read it
	if err := w.srv.Start(asynq.HandlerFunc(w.process)); err != nil {
		return fmt.Errorf("asynqueue: start worker: %w", err)
	}
	<-ctx.Done()
	w.stopping.Store(true)
	w.srv.Shutdown() // waits for handlers up to ShutdownTimeout, then cancels theirs
	// A cancelled handler may still be recording what it did: it does
	// so before the caller closes the store.
	for end := time.Now().Add(ports.CancelGrace); w.running.Load() > 0 && time.Now().Before(end); {
		time.Sleep(5 * time.Millisecond)
	}
	if n := w.running.Load() + w.cut.Load(); n > 0 {
		return fmt.Errorf("asynqueue: %d task handlers cut short by the %v shutdown timeout; their tasks went back to the queue", n, w.opt.ShutdownTimeout)
	}
	return nil
}

// logFailure logs a failed attempt; asynq calls it before it decides
// between retry and archive, on the same grounds.
func (w *Worker) logFailure(ctx context.Context, t *asynq.Task, err error) {
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, _ := asynq.GetMaxRetry(ctx)
	log := w.log.With("kind", t.Type(), "attempt", retried+1)
	if pe, ok := errors.AsType[*ports.PanicError](err); ok {
		log.Error("asynqueue: task handler panicked", "panic", pe.Value, "stack", string(pe.Stack))
	}
	switch {
	case errors.Is(err, asynq.SkipRetry):
		log.Error("asynqueue: task failed permanently, archived", "err", err)
	case retried >= maxRetry:
		log.Error("asynqueue: task failed, retries exhausted, archived", "err", err)
	default:
		log.Warn("asynqueue: task failed, will retry", "err", err)
	}
}

// asynqLogger hands asynq's messages to slog, its Info as Debug.
type asynqLogger struct{ log *slog.Logger }

func (l asynqLogger) Debug(args ...any) { l.emit(slog.LevelDebug, args) }
func (l asynqLogger) Info(args ...any)  { l.emit(slog.LevelDebug, args) }
func (l asynqLogger) Warn(args ...any)  { l.emit(slog.LevelWarn, args) }
func (l asynqLogger) Error(args ...any) { l.emit(slog.LevelError, args) }

// Fatal logs and exits, as asynq.Logger requires (asynq never calls it).
func (l asynqLogger) Fatal(args ...any) {
	l.emit(slog.LevelError, args)
	os.Exit(1)
}

func (l asynqLogger) emit(level slog.Level, args []any) {
	if ctx := context.Background(); l.log.Enabled(ctx, level) {
		l.log.Log(ctx, level, "asynq: "+fmt.Sprint(args...))
	}
}
