package httpapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/credence-dev/credence/core/accounts"
	"github.com/credence-dev/credence/core/domain"
)

// caller is who sends a request, as the edge finds it once: identify
// sets the client (its address and user agent) before anything else looks
// at the request; authenticate notes its bearer token, which is looked up
// the first time a layer asks who the caller is (who), and never again.
// Every layer after them — the rate limits, the Idempotency-Key wrapper,
// admit, the API's operations, the documents and pages — reads it from
// the request's context (callerOf), none works it out again. A request
// nobody asks about (a health probe, one refused by a rate limit) costs no
// lookup.
type caller struct {
	client accounts.Client
	// token: the request carries an Authorization header.
	token bool
	// cookie: the request carries no Authorization header but a session
	// cookie, taken as its token (authenticate says where).
	cookie bool
	// lookup finds who the token stands for (nil without a token).
	lookup func() (domain.Actor, error)
	once   sync.Once
	// actor is who the token authenticates, with the client's address;
	// anonymous without a token, or with one that does not authenticate.
	actor domain.Actor
	// authErr is why the token did not authenticate: an error matching
	// domain.ErrUnauthenticated (expired, revoked, forged), or the failure
	// of the lookup (the database is down).
	authErr error
}

// who returns the actor the request acts as and, when its token does not
// authenticate, why; the first call looks the token up.
func (c *caller) who() (domain.Actor, error) {
	c.once.Do(func() {
		if c.lookup == nil {
			return
		}
		a, err := c.lookup()
		if err != nil {
			c.authErr = err
			return
		}
		a.IP = c.client.IP
		c.actor = a
	})
	return c.actor, c.authErr
}

type callerKey struct{}

// callerOf returns the caller the edge found for the request of ctx. A
// request that did not pass the edge (the API served alone) is an
// anonymous caller from nowhere.
func callerOf(ctx context.Context) *caller {
	if c, ok := ctx.Value(callerKey{}).(*caller); ok {
		return c
	}
	return &caller{}
}

// actorFrom returns who the request acts as.
func actorFrom(ctx context.Context) domain.Actor {
	a, _ := callerOf(ctx).who()
	return a
}

// pageActor returns who a page request acts as, and an error only when
// the lookup itself failed (the database is unreachable): a page must
// then say so (503), not treat the person as signed out — sending them to
// sign in, dropping a session cookie that may be fine, or showing a
// private credential as private. A token that does not authenticate is a
// visitor, without an error.
func pageActor(ctx context.Context) (domain.Actor, error) {
	a, err := callerOf(ctx).who()
	if err != nil && !errors.Is(err, domain.ErrUnauthenticated) {
		return a, err
	}
	return a, nil
}

// clientFrom returns where the request came from.
func clientFrom(ctx context.Context) accounts.Client { return callerOf(ctx).client }

// identify finds the client's address (clientAddr; X-Forwarded-For is
// read only behind the trusted proxies) and starts the request's caller
// with it, anonymous until authenticate.
func identify(next http.Handler, trusted []netip.Prefix) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var forwarded []string
		if len(trusted) > 0 {
			forwarded = r.Header.Values("X-Forwarded-For")
		}
		ip := clientAddr(r.RemoteAddr, forwarded, trusted)
		c := &caller{client: accounts.Client{IP: ip, UserAgent: r.Header.Get("User-Agent")}, actor: domain.Actor{IP: ip}}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)))
	})
}

// authenticate notes the bearer token, to be looked up once, when a
// layer first asks who the caller is (caller.who), and sets nothing else.
// It answers nothing itself: what a token that does not authenticate
// means depends on who reads it — admit refuses it for operations that
// need an actor and ignores it for public ones, the Idempotency-Key
// wrapper scopes its keys apart, a public document shows what anyone sees.
//
// Without an Authorization header, the browser's session cookie stands
// for the token where sessionCookieCounts allows it: the pages and public
// documents, never /api/v1, whose operations stay bearer-only — a
// browser never adds an Authorization header to a request another site
// makes it send, so the JSON API needs no CSRF defence.
func authenticate(next http.Handler, auth func(ctx context.Context, token string) (domain.Actor, error), forms map[string]bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := callerOf(r.Context())
		ctx := r.Context()
		if token, ok := bearer(r.Header.Get("Authorization")); ok {
			c.token = true
			c.lookup = func() (domain.Actor, error) { return auth(ctx, token) }
		} else if token, ok := sessionCookieOf(r); ok && sessionCookieCounts(r, forms) {
			c.cookie = true
			c.lookup = func() (domain.Actor, error) { return auth(ctx, token) }
		}
		next.ServeHTTP(w, r)
	})
}

// bearer returns the token of an Authorization header, and whether one
// was sent at all (a header of another scheme is a token that does not
// authenticate).
func bearer(h string) (string, bool) {
	if h == "" {
		return "", false
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", true
	}
	return strings.TrimSpace(token), true
}

// public marks operations that work without a token (the actor is used
// when the token authenticates).
const publicMeta = "public"

// admit is the API's middleware: what the edge decides per operation,
// from the caller it found. An operation marked authLimited counts
// against its client address's Limits.AuthIP; one that is not public
// needs an actor (401 UNAUTHENTICATED without a token, the token's own
// error otherwise: 401, or 503 when it could not be looked up); an API
// key's requests count against the key's limit. It runs after the
// Idempotency-Key wrapper, as the operation does: a replay counts against
// the address's limit only.
func (s *server) admit(ctx huma.Context, next func(huma.Context)) {
	r, w := humago.Unwrap(ctx)
	c := callerOf(r.Context())
	var meta map[string]any
	if o := ctx.Operation(); o != nil {
		meta = o.Metadata
	}
	if meta[authLimitedMeta] == true && !s.limit(w, r, "auth-ip:"+domain.LimitSubject(c.client.IP), s.Limits.AuthIP, false) {
		return
	}
	actor, authErr := c.who()
	if meta[publicMeta] != true {
		switch {
		case authErr != nil:
			s.write(r.Context(), w, authErr)
			return
		case actor.Anonymous():
			s.write(r.Context(), w, domain.Errorf(domain.CodeUnauthenticated, "send Authorization: Bearer <session token or API key>"))
			return
		}
	}
	if actor.IsAPIKey() && !s.limitKey(w, r, actor) {
		return
	}
	next(ctx)
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
