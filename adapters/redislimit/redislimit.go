// Package redislimit is the RateLimiter shared by every replica: GCRA in a
// Lua script on Redis (github.com/go-redis/redis_rate), one key per limited
// key, read and written atomically on the server with the server's clock.
//
// Keys are "rate:" (added by redis_rate) + Options.Prefix + the key, e.g.
// "rate:credence:rl:org:42", and expire once the key is back at rest.
package redislimit

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

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
	gcra   *redis_rate.Limiter
	prefix string
}

var _ ports.RateLimiter = (*Limiter)(nil)

// New returns a Limiter over rdb (a *redis.Client, *redis.ClusterClient, …),
// which the caller keeps and closes; apps build it from the asynq
// connection options of CREDENCE_REDIS_URL, so both parse the URL alike.
func New(rdb redis.UniversalClient, o Options) *Limiter {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	return &Limiter{rdb: rdb, gcra: redis_rate.NewLimiter(rdb), prefix: o.Prefix}
}

// Allow counts one event of key against limit if limit allows it. Redis
// errors are returned; whether to let the event through is the caller's call.
func (l *Limiter) Allow(ctx context.Context, key string, limit ports.Limit) (ports.LimitResult, error) {
	if applies, err := limit.Applies(ctx); !applies {
		return ports.LimitResult{Allowed: err == nil}, err
	}
	res, err := l.gcra.Allow(ctx, l.prefix+key, redis_rate.Limit{Rate: limit.Rate, Burst: limit.Rate, Period: limit.Period})
	if err != nil {
		return ports.LimitResult{}, fmt.Errorf("rate limit in redis: %w", err)
	}
	r := ports.LimitResult{
		Allowed:    res.Allowed > 0,
		Limit:      limit.Rate,
		ResetAfter: max(res.ResetAfter, 0),
	}
	if r.Allowed {
		r.Remaining = remaining(limit, res)
	} else {
		// redis_rate gives -1 when allowed; a refusal a hair from its
		// boundary may round to 0, which would promise too much.
		r.RetryAfter = max(res.RetryAfter, 1)
	}
	return r, nil
}

// refund moves a key's theoretical arrival time (TAT) one emission
// interval earlier, in redis_rate's representation: the key is
// "rate:" + the limiter's key, the TAT seconds since 2017-01-01 UTC by
// Redis's clock, the interval Period/Rate seconds, computed in the same
// doubles as redis_rate's script. A key without a TAT is at rest and stays
// so; a TAT the refund brings to now or earlier means rest, so the key is
// deleted: a refund never allows more than Rate at once.
//
// redis_rate's AllowN with n = -1 is not that: it writes only when the
// new TAT lies ahead of now, so the refund that should bring a key to
// rest (the common case: one sign-in, given back) leaves the event spent.
var refund = redis.NewScript(`
-- this script reads TIME before writing, so it needs effects replication
redis.replicate_commands()

local key = KEYS[1]
local interval = tonumber(ARGV[1]) / tonumber(ARGV[2])

local tat = redis.call("GET", key)
if not tat then
  return 0
end

local jan_1_2017 = 1483228800
local now = redis.call("TIME")
now = (now[1] - jan_1_2017) + (now[2] / 1000000)

local new_tat = tonumber(tat) - interval
if new_tat <= now then
  redis.call("DEL", key)
  return 1
end
redis.call("SET", key, new_tat, "EX", math.ceil(new_tat - now))
return 1
`)

// redisRatePrefix is what redis_rate puts before every key it writes.
const redisRatePrefix = "rate:"

// Refund gives back one event of key under limit, in one script run on
// the server (atomic beside Allow).
func (l *Limiter) Refund(ctx context.Context, key string, limit ports.Limit) error {
	if applies, err := limit.Applies(ctx); !applies {
		return err
	}
	keys := []string{redisRatePrefix + l.prefix + key}
	if err := refund.Run(ctx, l.rdb, keys, limit.Period.Seconds(), limit.Rate).Err(); err != nil {
		return fmt.Errorf("refund a rate-limited event in redis: %w", err)
	}
	return nil
}

// remaining corrects redis_rate's Remaining. Its script truncates a
// quantity computed in doubles over seconds since 2017, whose last bit is
// worth ~60ns: when Period/Rate has no exact binary form (100 per minute:
// 0.6s) it is a hair short, and a key at rest reports Rate-2 left. ResetAfter
// carries the same quantity untruncated, (Rate - Remaining) × Period/Rate;
// read back with 1µs to spare (Redis's clock ticks in µs), it is off only
// when the next event is due within that µs.
func remaining(limit ports.Limit, res *redis_rate.Result) int {
	left := float64(limit.Period-res.ResetAfter+time.Microsecond) / float64(limit.Period) * float64(limit.Rate)
	return min(max(int(math.Floor(left)), res.Remaining), res.Remaining+1, limit.Rate-1)
}

// Ping checks that Redis answers.
func (l *Limiter) Ping(ctx context.Context) error {
	if err := l.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	return nil
}
