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
// go out together as one pipeline (adapters/internal/coalesce), with one
// atomic script run per key and limit that counts the key's calls one
// after the other: what as many separate calls would have answered.
package redislimit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
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
	// Pause is how long, after a check Redis did not answer, the checks
	// that follow fail at once without asking it (default 2s): every
	// caller lets its request through when the limiter fails, and during
	// an outage none should first wait for an answer that will not come.
	Pause time.Duration
}

// Limiter is a ports.RateLimiter over Redis, safe for concurrent use.
type Limiter struct {
	rdb    redis.UniversalClient
	prefix string
	allows *coalesce.Batcher[allowCall, ports.LimitResult]
	pause  time.Duration
	// pausedUntil is when Redis is asked again (Unix ns), after a check
	// it did not answer.
	pausedUntil atomic.Int64
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

// allowWait bounds how long one Allow waits for its answer, queued and
// sent: a Redis that accepts connections but does not answer must not
// hold every request of the replica (each waiting behind the batches
// before it) for as long as the client's own read timeouts allow. A
// healthy Redis answers within a millisecond; past allowWait the caller
// gets an error, and lets the request through (httpapi fails open).
const allowWait = time.Second

// New returns a Limiter over rdb (a *redis.Client, *redis.ClusterClient, …),
// which the caller keeps and closes; apps build it from the asynq
// connection options of CREDENCE_REDIS_URL, so both parse the URL alike.
func New(rdb redis.UniversalClient, o Options) *Limiter {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Pause <= 0 {
		o.Pause = 2 * time.Second
	}
	l := &Limiter{rdb: rdb, prefix: o.Prefix, pause: o.Pause}
	l.allows = coalesce.New(l.allowAll, coalesce.Options{MaxBatch: allowBatch, MaxInFlight: 1, Timeout: allowTimeout,
		Stalled: 100 * time.Millisecond, MaxStalled: 4}) // a pipeline takes well under a millisecond
	return l
}

// allowScript counts events against a key by GCRA, allowing Rate events
// per Period with a burst of Rate. ARGV: the rate, the period in µs, and
// how many events to count, one after the other (the calls of one batch
// for the same key and limit). The key holds the TAT in µs of Redis's
// clock; an event is allowed when the TAT it would push to lies at most a
// period ahead, and a refused event changes nothing. It answers, for each
// event in turn, {allowed (0 or 1), remaining, retry after µs, reset
// after µs}: what as many calls one after the other would have answered.
//
// The arithmetic is in Lua doubles, where µs since 1970 (about 1.8e15)
// keep only a quarter-µs precision: remaining is worked out from how far
// ahead of now the TAT lies, a small number, with 1 µs to spare (Redis's
// clock ticks in µs), so it is off only when the next event is due within
// that µs. The script reads TIME before it writes, so it needs effects
// replication (the default since Redis 5, asked for on older ones).
var allowScript = redis.NewScript(`
redis.replicate_commands()
local rate = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local events = tonumber(ARGV[3])
local interval = period / rate
local clock = redis.call("TIME")
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local stored = tonumber(redis.call("GET", KEYS[1]))
local tat = stored or now
if tat < now then
  tat = now
end
local counted = false
local out = {}
for i = 1, events do
  local next_tat = tat + interval
  local earliest = next_tat - period
  if earliest > now then
    out[#out + 1] = {0, 0, math.ceil(earliest - now), math.ceil(tat - now)}
  else
    tat = next_tat
    counted = true
    local ahead = next_tat - now
    out[#out + 1] = {1, math.floor((period - ahead + 1) / interval), 0, math.ceil(ahead)}
  end
end
if counted then
  redis.call("SET", KEYS[1], string.format("%.3f", tat), "PX", math.ceil((tat - now) / 1000))
end
return out
`)

// refundScript gives one event back: it moves the TAT one interval
// earlier (ARGV: the rate, the period in µs). A key without a TAT is at rest and
// stays so; a TAT the refund brings to now or earlier means rest, so the
// key is deleted: a refund never allows more than Rate at once.
var refundScript = redis.NewScript(`
redis.replicate_commands()
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
	if until := l.pausedUntil.Load(); time.Now().UnixNano() < until {
		return ports.LimitResult{}, fmt.Errorf("rate limit in redis: %w", errPaused)
	}
	wait, cancel := context.WithTimeout(ctx, allowWait)
	defer cancel()
	r, err := l.allows.Do(wait, allowCall{key: l.prefix + key, limit: limit})
	if err != nil && ctx.Err() == nil {
		// Redis failed this check (no answer in time, no connection):
		// the next ones fail at once for a while.
		l.pausedUntil.Store(time.Now().Add(l.pause).UnixNano())
		if wait.Err() != nil {
			return ports.LimitResult{}, fmt.Errorf("rate limit in redis: no answer within %s: %w", allowWait, err)
		}
	}
	return r, err
}

// errPaused is the error of a check made while the limiter does not ask
// Redis, after one it did not answer.
var errPaused = errors.New("not asked: Redis failed a check a moment ago")

// allowAll counts the calls of one batch in one pipeline: one script run
// per key and limit, counting that key's calls in the order they came (a
// page and its images, asked for at once from one address, are one run).
// A script Redis does not hold yet (a fresh or restarted server) is sent
// whole for the runs it failed; each call gets its own answer or error.
func (l *Limiter) allowAll(ctx context.Context, calls []allowCall) ([]ports.LimitResult, []error, error) {
	var runs []*allowRun
	byCall := map[allowCall]*allowRun{}
	for i, c := range calls {
		r := byCall[c]
		if r == nil {
			r = &allowRun{call: c}
			byCall[c] = r
			runs = append(runs, r)
		}
		r.calls = append(r.calls, i)
	}
	send := func(todo []*allowRun, whole bool) {
		_, _ = l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, r := range todo {
				keys, args := []string{r.call.key}, []any{r.call.limit.Rate, r.call.limit.Period.Microseconds(), len(r.calls)}
				if whole {
					r.cmd = allowScript.Eval(ctx, p, keys, args...)
				} else {
					r.cmd = allowScript.EvalSha(ctx, p, keys, args...)
				}
			}
			return nil
		})
	}
	send(runs, false)
	var missing []*allowRun
	for _, r := range runs {
		if isNoScript(r.cmd.Err()) {
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 {
		send(missing, true)
	}
	out := make([]ports.LimitResult, len(calls))
	errs := make([]error, len(calls))
	for _, r := range runs {
		results, err := r.results()
		for j, i := range r.calls {
			if err != nil {
				errs[i] = err
			} else {
				out[i] = results[j]
			}
		}
	}
	return out, errs, nil
}

// allowRun is one run of the allow script: the calls (their indexes in
// the batch) counting against one key and limit.
type allowRun struct {
	call  allowCall
	calls []int
	cmd   *redis.Cmd
}

// results reads the script's answer, one result per call.
func (r *allowRun) results() ([]ports.LimitResult, error) {
	raw, err := r.cmd.Slice()
	if err != nil {
		return nil, fmt.Errorf("rate limit in redis: %w", err)
	}
	if len(raw) != len(r.calls) {
		return nil, fmt.Errorf("rate limit in redis: the script answered %d events of %d", len(raw), len(r.calls))
	}
	out := make([]ports.LimitResult, len(raw))
	for i, e := range raw {
		v, ok := e.([]any)
		if !ok || len(v) != 4 {
			return nil, fmt.Errorf("rate limit in redis: the script answered %v", e)
		}
		var n [4]int64
		for j := range n {
			if n[j], ok = v[j].(int64); !ok {
				return nil, fmt.Errorf("rate limit in redis: the script answered %v", e)
			}
		}
		out[i] = result(r.call.limit, n)
	}
	return out, nil
}

// isNoScript reports a script Redis does not hold (NOSCRIPT), which only
// the whole script's text cures.
func isNoScript(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
}

// result is one event's answer of the allow script: allowed, remaining,
// retry after and reset after (µs).
func result(limit ports.Limit, v [4]int64) ports.LimitResult {
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
	return r
}

// Refund gives back one event of key under limit, in one script run on
// the server (atomic beside Allow).
func (l *Limiter) Refund(ctx context.Context, key string, limit ports.Limit) error {
	if applies, err := limit.Applies(ctx); !applies {
		return err
	}
	if err := refundScript.Run(ctx, l.rdb, []string{l.prefix + key}, limit.Rate, limit.Period.Microseconds()).Err(); err != nil {
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
