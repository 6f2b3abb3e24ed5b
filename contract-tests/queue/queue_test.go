package queue_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/credence-dev/credence/adapters/asynqueue"
	"github.com/credence-dev/credence/adapters/memqueue"
	"github.com/credence-dev/credence/contract-tests/harness"
	"github.com/credence-dev/credence/contract-tests/queue"
	"github.com/credence-dev/credence/ports"
)

// EnvRedisURL names the Redis server the asynq suite runs against.
const EnvRedisURL = "CREDENCE_TEST_REDIS_URL"

func TestMemQueue(t *testing.T) {
	queue.Run(t, func(t *testing.T, o queue.Options) (ports.Queue, ports.Worker) {
		q := memqueue.New(memqueue.Options{Concurrency: o.Concurrency, MaxRetry: o.MaxRetry,
			RetryDelay: o.RetryDelay, ShutdownTimeout: o.ShutdownTimeout, Log: testLog(t)})
		t.Cleanup(func() {
			if err := q.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return q, q
	})
}

// TestAsynQueue runs the suite against asynq on the Redis of
// CREDENCE_TEST_REDIS_URL, one fresh asynq queue per case. It skips
// without that variable, or fails under CREDENCE_TEST_REQUIRE_SERVICES=1.
func TestAsynQueue(t *testing.T) {
	opt := redisOpt(t)
	queue.Run(t, func(t *testing.T, o queue.Options) (ports.Queue, ports.Worker) {
		name := "ct-" + randomHex(t)
		ao := asynqueue.Options{Queue: name, Concurrency: o.Concurrency, MaxRetry: o.MaxRetry,
			RetryDelay: o.RetryDelay, ShutdownTimeout: o.ShutdownTimeout,
			PollInterval: 50 * time.Millisecond, Log: testLog(t)}
		q := asynqueue.NewQueue(opt, ao)
		t.Cleanup(func() {
			if err := q.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			dropQueue(t, opt, name)
		})
		return q, asynqueue.NewWorker(opt, ao)
	})
}

// redisOpt returns the options of the Redis server to test against,
// checked to answer. Without one it skips t, or fails it when services are
// required.
func redisOpt(t *testing.T) asynq.RedisConnOpt {
	t.Helper()
	u := os.Getenv(EnvRedisURL)
	if u == "" {
		msg := "no Redis: " + EnvRedisURL + " is unset"
		if os.Getenv(harness.EnvRequireServices) == "1" {
			t.Fatalf("%s (%s=1 requires it)", msg, harness.EnvRequireServices)
		}
		t.Skipf("%s; set it (e.g. redis://127.0.0.1:6379/0) to run against a server", msg)
	}
	opt, err := asynqueue.ParseRedisURL(u)
	if err != nil {
		t.Fatalf("%s: %v", EnvRedisURL, err)
	}
	q := asynqueue.NewQueue(opt, asynqueue.Options{})
	defer q.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := q.Ping(ctx); err != nil {
		t.Fatalf("Redis of %s does not answer: %v", EnvRedisURL, err)
	}
	return opt
}

// dropQueue deletes asynq queue name with its tasks, then the statistics
// keys asynq leaves behind.
func dropQueue(t *testing.T, opt asynq.RedisConnOpt, name string) {
	t.Helper()
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	if err := insp.DeleteQueue(name, true); err != nil && !errors.Is(err, asynq.ErrQueueNotFound) {
		t.Errorf("delete queue %s: %v", name, err)
	}
	rdb := opt.MakeRedisClient().(redis.UniversalClient)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	keys, err := rdb.Keys(ctx, "asynq:{"+name+"}:*").Result()
	if err == nil && len(keys) > 0 {
		err = rdb.Del(ctx, keys...).Err()
	}
	if err != nil {
		t.Errorf("delete keys of queue %s: %v", name, err)
	}
}

func randomHex(t *testing.T) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// testLog returns a logger whose lines are shown when t fails. It writes
// to a buffer, not to t: a worker may still log after t completes.
func testLog(t *testing.T) *slog.Logger {
	buf := &harness.SyncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("queue log:\n%s", buf)
		}
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
}
