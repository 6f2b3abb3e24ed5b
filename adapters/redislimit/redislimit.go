// Package redislimit is the RateLimiter shared by every replica: GCRA in a
// Lua script on Redis, one key per limited key, read and written
// atomically on the server with the server's clock.
//
// A key is Options.Prefix + the limited key, e.g. "credence:rl:org:42"; it
// holds the key's theoretical arrival time (TAT), the instant in
// microseconds of Redis's clock at which its allowance is full again, and
// expires then.
//
// Allow is the one Redis call of every request that reaches the API (the
// per-address limit), so the calls a replica makes while one is under way
// go out together as one pipeline (adapters/internal/coalesce): each is
// still its own atomic script run, counted in the order Redis runs them.
package redislimit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/credence-dev/credence/adapters/internal/coalesce"
	"github.com/credence-dev/credence/ports"
)

// DefaultPrefix keeps the limiter's keys apart from asynq's ("asynq:…").
const DefaultPrefix = "credence:rl:"

// Options configure a Limiter; zero values take the defaults.
type Options struct {
	// Prefix is put before every key (default DefaultPrefix).
	Prefix string
}

// Limiter is a ports.RateLimiter over Redis, safe for concurrent use.
type Limiter struct {
	rdb    redis.UniversalClient
	prefix string
	allows *coalesce.Batcher[allowCall, ports.LimitResult]
}

var _ ports.RateLimiter = (*Limiter)(nil)

// allowCall is one Allow: the full Redis key and its limit.
type allowCall struct {
	key   string
	limit ports.Limit
}

// Pipelines of Allow: one under way at a time (Redis runs scripts one
// after the other anyway, so a second would only split the batch), of at
// most 128 calls, each pipeline bounded by allowTimeout beside the
// client's own read and write timeouts.
const (
	allowBatch   = 128
	allowTimeout = 5 * time.Second
)

// New returns a Limiter over rdb (a *redis.Client, *redis.ClusterClient, …),
// which the caller keeps and closes; apps build it from the asynq
// connection options of CREDENCE_REDIS_URL, so both parse the URL alike.
func New(rdb redis.UniversalClient, o Options) *Limiter {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	l := &Limiter{rdb: rdb, prefix: o.Prefix}
	l.allows = coalesce.New(l.allowAll, coalesce.Options{MaxBatch: allowBatch, MaxInFlight: 1, Timeout: allowTimeout})
	return l
}

// allowScript counts one event against a key by GCRA, allowing Rate
// events per Period with a burst of Rate. ARGV: the rate, the period in
// µs. The key holds the TAT in µs of Redis's clock; an event is allowed
// when the TAT it would push to lies at most a period ahead. It answers
// {allowed (0 or 1), remaining, retry after µs, reset after µs}; a
// refused event changes nothing.
//
// The arithmetic is in Lua doubles: µs since 1970 (about 1.8e15) keep a
// quarter-µs precision, and an interval Period/Rate without an exact
// binary form (a minute over 7) makes remaining a hair short of an
// integer, which the 1e-6 allows for.
var allowScript = redis.NewScript(`
local rate = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local interval = period / rate
local clock = redis.call("TIME")
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tat = tonumber(redis.call("GET", KEYS[1])) or now
if tat < now then
  tat = now
end
local next_tat = tat + interval
local earliest = next_tat - period
if earliest > now then
  return {0, 0, math.ceil(earliest - now), math.ceil(tat - now)}
end
redis.call("SET", KEYS[1], string.format("%.3f", next_tat), "PX", math.ceil((next_tat - now) / 1000))
return {1, math.floor((now - earliest) / interval + 1e-6), 0, math.ceil(next_tat - now)}
`)

// refundScript gives one event back: it moves the TAT one interval
// earlier (ARGV as allowScript's). A key without a TAT is at rest and
// stays so; a TAT the refund brings to now or earlier means rest, so the
// key is deleted: a refund never allows more than Rate at once.
var refundScript = redis.NewScript(`
local tat = tonumber(redis.call("GET", KEYS[1]))
if not tat then
  return 0
end
local interval = tonumber(ARGV[2]) / tonumber(ARGV[1])
local clock = redis.call("TIME")
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local earlier = tat - interval
if earlier <= now then
  redis.call("DEL", KEYS[1])
  return 1
end
redis.call("SET", KEYS[1], string.format("%.3f", earlier), "PX", math.ceil((earlier - now) / 1000))
return 1
`)

// Allow counts one event of key against limit if limit allows it. Redis
// errors are returned; whether to let the event through is the caller's call.
func (l *Limiter) Allow(ctx context.Context, key string, limit ports.Limit) (ports.LimitResult, error) {
	if applies, err := limit.Applies(ctx); !applies {
		return ports.LimitResult{Allowed: err == nil}, err
	}
	return l.allows.Do(ctx, allowCall{key: l.prefix + key, limit: limit})
}

// allowAll runs the allow script for every call in one pipeline. A script
// Redis does not hold yet (a fresh or restarted server) is sent whole for
// the calls it failed; each call gets its own answer or error.
func (l *Limiter) allowAll(ctx context.Context, calls []allowCall) ([]ports.LimitResult, []error, error) {
	cmds := make([]*redis.Cmd, len(calls))
	send := func(todo []int, whole bool) {
		_, _ = l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, i := range todo {
				keys, args := []string{calls[i].key}, limitArgs(calls[i].limit)
				if whole {
					cmds[i] = allowScript.Eval(ctx, p, keys, args...)
				} else {
					cmds[i] = allowScript.EvalSha(ctx, p, keys, args...)
				}
			}
			return nil
		})
	}
	all := make([]int, len(calls))
	for i := range all {
		all[i] = i
	}
	send(all, false)
	var missing []int
	for i, c := range cmds {
		if isNoScript(c.Err()) {
			missing = append(missing, i)
		}
	}
	if len(missing) > 0 {
		send(missing, true)
	}
	out := make([]ports.LimitResult, len(calls))
	errs := make([]error, len(calls))
	for i, c := range cmds {
		out[i], errs[i] = result(calls[i].limit, c)
	}
	return out, errs, nil
}

// isNoScript reports a script Redis does not hold (NOSCRIPT), which only
// the whole script's text cures.
func isNoScript(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
}

// limitArgs are the scripts' ARGV for limit: the rate, the period in µs.
func limitArgs(limit ports.Limit) []any {
	return []any{limit.Rate, limit.Period.Microseconds()}
}

// result reads the allow script's answer.
func result(limit ports.Limit, c *redis.Cmd) (ports.LimitResult, error) {
	v, err := c.Int64Slice()
	if err != nil {
		return ports.LimitResult{}, fmt.Errorf("rate limit in redis: %w", err)
	}
	if len(v) != 4 {
		return ports.LimitResult{}, errors.New("rate limit in redis: the script answered " + fmt.Sprint(v))
	}
	r := ports.LimitResult{
		Allowed:    v[0] == 1,
		Limit:      limit.Rate,
		ResetAfter: min(time.Duration(v[3])*time.Microsecond, limit.Period),
	}
	if r.Allowed {
		r.Remaining = int(min(max(v[1], 0), int64(limit.Rate-1)))
	} else {
		r.RetryAfter = max(time.Duration(v[2])*time.Microsecond, time.Microsecond)
	}
	return r, nil
}

// Refund gives back one event of key under limit, in one script run on
// the server (atomic beside Allow).
func (l *Limiter) Refund(ctx context.Context, key string, limit ports.Limit) error {
	if applies, err := limit.Applies(ctx); !applies {
		return err
	}
	if err := refundScript.Run(ctx, l.rdb, []string{l.prefix + key}, limitArgs(limit)...).Err(); err != nil {
		return fmt.Errorf("refund a rate-limited event in redis: %w", err)
	}
	return nil
}

// Ping checks that Redis answers.
func (l *Limiter) Ping(ctx context.Context) error {
	if err := l.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	return nil
}
