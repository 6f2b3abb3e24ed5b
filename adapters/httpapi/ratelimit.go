package httpapi

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
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

// limitAuth counts an operation marked authLimited (sign-up and the ones
// that mail an address) against its client address's Limits.AuthIP; every
// request was counted against Limits.IP already (limitAddresses). limitKey
// counts an API key's requests against the key's limit. Either answers
// 429 and returns false when a limit refuses. The X-RateLimit-* headers
// tell the caller's limit: its API key's, else its address's. An
// unreachable limiter lets requests through (logged).
func (s *server) limitAuth(api huma.API, ctx huma.Context, ip string) bool {
	if ctx.Operation() == nil || ctx.Operation().Metadata[authLimitedMeta] != true {
		return true
	}
	res, ok := s.count(ctx, "auth-ip:"+domain.LimitSubject(ip), s.Limits.AuthIP)
	if ok {
		return true // the headers stay the address's general limit
	}
	return s.answer(api, ctx, res, ok)
}

func (s *server) limitKey(api huma.API, ctx huma.Context, actor domain.Actor) bool {
	if !actor.IsAPIKey() {
		return true
	}
	l := s.Limits.Key
	if actor.APIKeyRateLimit > 0 {
		l = ports.Limit{Rate: actor.APIKeyRateLimit, Period: time.Minute}
	}
	res, ok := s.count(ctx, "key:"+actor.APIKeyID, l)
	return s.answer(api, ctx, res, ok)
}

func (s *server) count(ctx huma.Context, key string, l ports.Limit) (ports.LimitResult, bool) {
	if s.Limiter == nil {
		return ports.LimitResult{Allowed: true}, true
	}
	res, err := s.Limiter.Allow(ctx.Context(), key, l)
	if err != nil {
		s.Log.WarnContext(ctx.Context(), "rate limiter unavailable: request let through", "err", err)
		return ports.LimitResult{Allowed: true}, true
	}
	return res, res.Allowed
}

// answer sets the headers of res and, when refused, answers 429.
func (s *server) answer(api huma.API, ctx huma.Context, res ports.LimitResult, ok bool) bool {
	if res.Limit > 0 {
		h := http.Header{}
		s.setLimitHeaders(h, res)
		for k, v := range h {
			ctx.SetHeader(k, v[0])
		}
	}
	if ok {
		return true
	}
	s.writeErr(api, ctx, s.limitError(res))
	return false
}

// limitError is the RATE_LIMITED error of a refused res.
func (s *server) limitError(res ports.LimitResult) error {
	wait := time.Duration(math.Ceil(res.RetryAfter.Seconds())) * time.Second
	return &domain.RateLimitError{Detail: "too many requests: retry after the seconds in Retry-After",
		RetryAt: s.Clock.Now().Add(max(wait, time.Second))}
}

// clientAddr is the client's address: the socket's peer, or, when the peer
// is a trusted proxy, the nearest address in X-Forwarded-For that is not a
// trusted proxy (the ones further left could be forged by the client).
func clientAddr(remote string, forwarded []string, trusted []netip.Prefix) string {
	peer := remote
	if host, _, err := net.SplitHostPort(remote); err == nil && host != "" {
		peer = host
	}
	if !isTrusted(peer, trusted) {
		return peer
	}
	var hops []string
	for _, h := range forwarded {
		for _, part := range strings.Split(h, ",") {
			if part = strings.TrimSpace(part); part != "" {
				hops = append(hops, part)
			}
		}
	}
	for i := len(hops) - 1; i >= 0; i-- {
		addr, err := netip.ParseAddr(hops[i])
		if err != nil {
			return peer // a hop that is no address: trust nothing beyond it
		}
		if !isTrusted(addr.String(), trusted) {
			return addr.Unmap().String()
		}
	}
	if len(hops) > 0 {
		return hops[0]
	}
	return peer
}

func isTrusted(ip string, trusted []netip.Prefix) bool {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
