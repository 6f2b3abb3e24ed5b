package ports

import (
	"context"
	"fmt"
	"time"
)

// Limit allows Rate events per Period for one key, spread evenly (GCRA):
// a key at rest may spend its whole Rate at once, then earns one event back
// every Period/Rate. Rate <= 0 means no limit.
type Limit struct {
	Rate   int
	Period time.Duration
}

// Applies checks a call counting events under l, for RateLimiter
// implementations: it returns ctx's error when ctx is done, an error for a
// Rate > 0 without a positive Period, and otherwise whether l limits
// anything (Rate > 0).
func (l Limit) Applies(ctx context.Context) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if l.Rate <= 0 {
		return false, nil
	}
	if l.Period <= 0 {
		return false, fmt.Errorf("rate limit %d per %s: period must be positive", l.Rate, l.Period)
	}
	return true, nil
}

// LimitResult is what Allow decided for one event.
type LimitResult struct {
	// Allowed says whether the event may happen; a refused one is not counted.
	Allowed bool
	// Limit is the Rate applied, for X-RateLimit-Limit; 0 when there was no
	// limit (Rate <= 0), and then the other fields are zero too.
	Limit int
	// Remaining is how many more events the key may have right now, this
	// one counted, for X-RateLimit-Remaining; 0 when refused.
	Remaining int
	// RetryAfter is, when refused, how long until one event is allowed
	// again (> 0); 0 when allowed.
	RetryAfter time.Duration
	// ResetAfter is how long until the key is back at its full allowance
	// (0 < ResetAfter <= Period when limited), for X-RateLimit-Reset.
	ResetAfter time.Duration
}

// RateLimiter counts events per key (an API key, an account, a client
// address) against a Limit.
//
// Contract (checked by contract-tests/ratelimit):
//   - A key at rest allows exactly Rate events at once, Remaining counting
//     down to 0, then refuses with RetryAfter ≈ Period/Rate.
//   - A refused key is allowed again after RetryAfter, and back at its full
//     Rate after ResetAfter.
//   - Keys are independent.
//   - Rate <= 0 never refuses. Rate > 0 with Period <= 0 is an error.
//   - Allow is atomic: concurrent calls for one key allow exactly as many
//     events as sequential calls would.
//   - Limiters sharing a backing store (Redis) share counts, so a limit holds
//     across replicas; an in-process limiter counts for itself alone.
//   - Allow with a ctx already done returns its error and counts nothing.
//     Other errors (an unreachable store) are returned as they come, the
//     event counted or not; the caller decides whether to let it through.
//   - Refund gives one event of key back under limit: one more event is
//     allowed at once, and a refused key is allowed again. It never takes a
//     key beyond rest: refunds of events that were never counted (or have
//     been earned back already) are lost, so a key never allows more than
//     Rate at once. Concurrent Allows and Refunds of one key apply one after
//     the other, as sequential calls would. Rate <= 0 gives nothing back
//     and is no error; Rate > 0 with Period <= 0 is an error; a ctx already
//     done returns its error and gives nothing back.
type RateLimiter interface {
	// Allow counts one event of key against limit, if limit allows it.
	Allow(ctx context.Context, key string, limit Limit) (LimitResult, error)
	// Refund gives back one event of key that Allow counted under limit:
	// an event that turned out to be none of what the limit counts (a
	// sign-in attempt, reserved before the password was checked, that
	// succeeded).
	Refund(ctx context.Context, key string, limit Limit) error
}
