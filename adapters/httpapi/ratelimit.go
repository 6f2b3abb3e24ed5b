package httpapi

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// Limits are the request rate limits of the API; a zero Rate switches one
// off.
type Limits struct {
	// IP limits every request of a client address.
	IP ports.Limit
	// Key limits the requests of an API key (a platform admin may set
	// another rate for one key).
	Key ports.Limit
	// AuthIP limits, per client address, the operations marked authLimited:
	// sign-up and the ones that send mail to an address.
	AuthIP ports.Limit
}

// authLimitedMeta marks operations under Limits.AuthIP.
const authLimitedMeta = "authLimited"

func authLimited(o huma.Operation) huma.Operation {
	if o.Metadata == nil {
		o.Metadata = map[string]any{}
	}
	o.Metadata[authLimitedMeta] = true
	return o
}

// unlimitedPaths are not counted against the per-address limit: load
// balancers and orchestrators poll them from one address.
var unlimitedPaths = map[string]bool{"/healthz": true, "/readyz": true}

// limitAddresses counts every request against its client address's limit
// (Limits.IP) before any route runs or any token is looked at, so that
// guessing tokens, replaying Idempotency-Key answers and fetching public
// documents and pages are limited alike. Its X-RateLimit-* headers tell
// the address's limit; an API key's own limit, counted once the key is
// known (admit), replaces them.
func (s *server) limitAddresses(next http.Handler) http.Handler {
	if s.Limiter == nil || s.Limits.IP.Rate <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if unlimitedPaths[r.URL.Path] || s.limit(w, r, "ip:"+domain.LimitSubject(clientFrom(r.Context()).IP), s.Limits.IP, true) {
			next.ServeHTTP(w, r)
		}
	})
}

// limitKey counts an API key's request against the key's limit: its own
// rate per minute when a platform admin set one, Limits.Key otherwise.
func (s *server) limitKey(w http.ResponseWriter, r *http.Request, actor domain.Actor) bool {
	l := s.Limits.Key
	if actor.APIKeyRateLimit > 0 {
		l = ports.Limit{Rate: actor.APIKeyRateLimit, Period: time.Minute}
	}
	return s.limit(w, r, "key:"+actor.APIKeyID, l, true)
}

// limit counts r against l under key, and is the one place a limit
// answers: a refused request gets 429 RATE_LIMITED with Retry-After and
// the limit's X-RateLimit-* headers, and limit returns false; an allowed
// one goes on (true), its answer telling this limit in X-RateLimit-*
// when tell (else it keeps the headers of the limit counted before). An
// unreachable limiter lets the request through (logged): limits protect
// the service, they must not take it down. A client that left gets
// nothing.
func (s *server) limit(w http.ResponseWriter, r *http.Request, key string, l ports.Limit, tell bool) bool {
	if s.Limiter == nil {
		return true
	}
	res, err := s.Limiter.Allow(r.Context(), key, l)
	if err != nil {
		if r.Context().Err() != nil {
			return false // the client left
		}
		s.Log.WarnContext(r.Context(), "rate limiter unavailable: request let through", "err", err)
		return true
	}
	if tell || !res.Allowed {
		s.setLimitHeaders(w.Header(), res)
	}
	if !res.Allowed {
		s.write(r.Context(), w, s.limitError(res))
		return false
	}
	return true
}

// setLimitHeaders writes res as X-RateLimit-Limit, -Remaining and -Reset
// (Unix seconds).
func (s *server) setLimitHeaders(h http.Header, res ports.LimitResult) {
	if res.Limit <= 0 {
		return
	}
	h.Set("X-RateLimit-Limit", strconv.Itoa(res.Limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(res.Remaining))
	reset := s.Clock.Now().Add(res.ResetAfter)
	h.Set("X-RateLimit-Reset", strconv.FormatInt(int64(math.Ceil(float64(reset.UnixNano())/1e9)), 10))
}

// limitError is the RATE_LIMITED error of a refused res.
func (s *server) limitError(res ports.LimitResult) error {
	wait := time.Duration(math.Ceil(res.RetryAfter.Seconds())) * time.Second
	return &domain.RateLimitError{Detail: "too many requests: retry after the seconds in Retry-After",
		RetryAt: s.Clock.Now().Add(max(wait, time.Second))}
}
