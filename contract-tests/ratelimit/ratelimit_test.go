package ratelimit_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/credence-dev/credence/adapters/memlimit"
	"github.com/credence-dev/credence/adapters/redislimit"
	"github.com/credence-dev/credence/contract-tests/harness"
	"github.com/credence-dev/credence/contract-tests/ratelimit"
	"github.com/credence-dev/credence/ports"
)

// EnvRedisURL names the Redis server the Redis suite runs against.
const EnvRedisURL = "CREDENCE_TEST_REDIS_URL"

// TestMemLimit runs the suite against the in-process limiter. Each
// instance keeps its own counts: Shared is false.
func TestMemLimit(t *testing.T) {
	ratelimit.Run(t, func(t *testing.T) ratelimit.Setup {
		return ratelimit.Setup{New: func() ports.RateLimiter { return memlimit.New(memlimit.Options{}) }}
	})
}

// TestRedisLimit runs the suite against the Redis limiter on the server of
// CREDENCE_TEST_REDIS_URL, one fresh key prefix per case; every instance
// of a case has its own client, as a replica would. It skips without that
// variable, or fails under CREDENCE_TEST_REQUIRE_SERVICES=1.
func TestRedisLimit(t *testing.T) {
	u := redisURL(t)
	ratelimit.Run(t, func(t *testing.T) ratelimit.Setup {
		prefix := "credence:rl:test:" + randomHex(t) + ":"
		t.Cleanup(func() { dropKeys(t, u, prefix+"*") })
		return ratelimit.Setup{
			New: func() ports.RateLimiter {
				return redislimit.New(client(t, u), redislimit.Options{Prefix: prefix})
			},
			Shared: true,
		}
	})
}

// redisURL returns the URL of the Redis server to test against, checked to
// answer. Without one it skips t, or fails it when services are required.
func redisURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv(EnvRedisURL)
	if u == "" {
		msg := "no Redis: " + EnvRedisURL + " is unset"
		if os.Getenv(harness.EnvRequireServices) == "1" {
			t.Fatalf("%s (%s=1 requires it)", msg, harness.EnvRequireServices)
		}
		t.Skipf("%s; set it (e.g. redis://127.0.0.1:6379/0) to run against a server", msg)
	}
	l := redislimit.New(client(t, u), redislimit.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := l.Ping(ctx); err != nil {
		t.Fatalf("Redis of %s does not answer: %v", EnvRedisURL, err)
	}
	return u
}

// dropKeys deletes the keys matching pattern: those a case left behind
// before they expire.
func dropKeys(t *testing.T, u, pattern string) {
	t.Helper()
	opt, err := redis.ParseURL(u)
	if err != nil {
		t.Errorf("%s: %v", EnvRedisURL, err)
		return
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	iter := rdb.Scan(ctx, 0, pattern, 1000).Iterator()
	for iter.Next(ctx) {
		if err := rdb.Del(ctx, iter.Val()).Err(); err != nil {
			t.Errorf("delete %s: %v", iter.Val(), err)
			return
		}
	}
	if err := iter.Err(); err != nil {
		t.Errorf("scan %s: %v", pattern, err)
	}
}

func randomHex(t *testing.T) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// client is a Redis client of its own to u, closed when t ends.
func client(t *testing.T, u string) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(u)
	if err != nil {
		t.Fatalf("%s: %v", EnvRedisURL, err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}
