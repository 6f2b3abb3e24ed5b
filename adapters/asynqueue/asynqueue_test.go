package asynqueue

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
)

// The queue's behaviour is checked by contract-tests/queue against Redis;
// these cases need no server (but Ping's success case, when
// CREDENCE_TEST_REDIS_URL is set).

func TestParseRedisURL(t *testing.T) {
	for _, c := range []struct {
		url  string
		addr string // "" when the URL must be refused
		db   int
	}{
		{"redis://127.0.0.1:6379/0", "127.0.0.1:6379", 0},
		{"redis://:secret@cache:6380/3", "cache:6380", 3},
		{"rediss://user:secret@cache.example.com:6380", "cache.example.com:6380", 0},
		{"", "", 0},
		{"127.0.0.1:6379", "", 0},
		{"http://cache:6379", "", 0},
		{"redis://", "", 0},
		{"redis:///0", "", 0},
		{"redis://:secret@cache:6379/zero", "", 0},
		{"redis://:secret@[::1:6379/0", "", 0},
	} {
		opt, err := ParseRedisURL(c.url)
		if c.addr == "" {
			if err == nil {
				t.Errorf("%q accepted", c.url)
			} else if strings.Contains(err.Error(), "secret") {
				t.Errorf("%q: error shows the password: %v", c.url, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.url, err)
			continue
		}
		o, ok := opt.(asynq.RedisClientOpt)
		if !ok || o.Addr != c.addr || o.DB != c.db {
			t.Errorf("%q: got %+v, want addr %s db %d", c.url, opt, c.addr, c.db)
		}
	}
	if opt, err := ParseRedisURL("redis-socket:///run/redis.sock?db=2"); err != nil {
		t.Errorf("socket URL: %v", err)
	} else if o := opt.(asynq.RedisClientOpt); o.Network != "unix" || o.Addr != "/run/redis.sock" || o.DB != 2 {
		t.Errorf("socket URL: got %+v", o)
	}
}

func TestDefaults(t *testing.T) {
	o := Options{}.withDefaults()
	if o.Queue != "credence" || o.Concurrency != 4 || o.MaxRetry != 10 || o.ShutdownTimeout != 10*time.Second ||
		o.PollInterval != time.Second || o.RetryDelay == nil || o.Log == nil {
		t.Fatalf("defaults: %+v", o)
	}
	if o := (Options{MaxRetry: -1}).withDefaults(); o.MaxRetry != 0 {
		t.Fatalf("MaxRetry -1 became %d, want 0", o.MaxRetry)
	}
}

func TestPing(t *testing.T) {
	down := NewQueue(asynq.RedisClientOpt{Addr: "127.0.0.1:1"}, Options{})
	defer down.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if err := down.Ping(ctx); err == nil {
		t.Fatal("Ping of a closed port succeeded")
	}
	if err := down.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := down.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	u := os.Getenv("CREDENCE_TEST_REDIS_URL")
	if u == "" {
		return
	}
	opt, err := ParseRedisURL(u)
	if err != nil {
		t.Fatal(err)
	}
	q := NewQueue(opt, Options{})
	defer q.Close()
	if err := q.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// asynq's Info goes to Debug: it reports every start and shutdown step.
func TestLoggerLevels(t *testing.T) {
	var buf bytes.Buffer
	l := asynqLogger{slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	l.Debug("d")
	l.Info("i")
	l.Warn("w")
	l.Error("e")
	got := buf.String()
	if strings.Contains(got, `msg="asynq: d"`) || strings.Contains(got, `msg="asynq: i"`) ||
		!strings.Contains(got, `level=WARN msg="asynq: w"`) || !strings.Contains(got, `level=ERROR msg="asynq: e"`) {
		t.Fatalf("log:\n%s", got)
	}
}
