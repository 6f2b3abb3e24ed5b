package httpapi

import (
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/danielgtaylor/huma/v2"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// The edge is what every request passes before any route sees it, in
// this order: security headers on every response, the per-address rate
// limit, the body cap. One place each, so that no route — an API
// operation, a public document, an HTML page — can be without them.

// pageCSP is the Content-Security-Policy of the HTML pages: nothing but
// their own inline styles and forms posting back here, and no framing
// (clickjacking).
const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// secureHeaders sets the headers every response carries, before the
// route runs (a route may set a fuller Content-Security-Policy; the HTML
// pages set pageCSP):
//   - X-Content-Type-Options: nosniff — a browser never runs a JSON or
//     JWS body as script or style by guessing its type;
//   - X-Frame-Options: DENY and CSP frame-ancestors 'none' — no page is
//     framed by another site;
//   - Referrer-Policy: no-referrer — a link followed from a credential's
//     page does not tell where it came from (the credential ID);
//   - Strict-Transport-Security when the public URL is https.
func secureHeaders(next http.Handler, hsts bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "frame-ancestors 'none'")
		h.Set("Referrer-Policy", "no-referrer")
		if hsts {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// unlimitedPaths are not counted against the per-address limit: load
// balancers and orchestrators poll them from one address.
var unlimitedPaths = map[string]bool{"/healthz": true, "/readyz": true}

// limitAddresses counts every request against its client address's limit
// (Limits.IP) before any route runs or any token is looked at, so that
// guessing tokens, replaying Idempotency-Key answers and fetching public
// documents and pages are limited alike. Its X-RateLimit-* headers tell
// the address's limit; an API key's own limit, counted once the key is
// known, replaces them. An unreachable limiter lets the request through
// (logged): limits protect the service, they must not take it down.
func (s *server) limitAddresses(next http.Handler) http.Handler {
	if s.Limiter == nil || s.Limits.IP.Rate <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if unlimitedPaths[r.URL.Path] {
			next.ServeHTTP(w, r)
			return
		}
		res, err := s.Limiter.Allow(r.Context(), "ip:"+domain.LimitSubject(s.clientIP(r)), s.Limits.IP)
		if err != nil {
			if r.Context().Err() != nil {
				return // the client left
			}
			s.Log.WarnContext(r.Context(), "rate limiter unavailable: request let through", "err", err)
			next.ServeHTTP(w, r)
			return
		}
		s.setLimitHeaders(w.Header(), res)
		if !res.Allowed {
			s.write(r.Context(), w, s.limitError(res))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// clientIP is the address a request comes from (see clientAddr).
func (s *server) clientIP(r *http.Request) string {
	var forwarded []string // read only behind a trusted proxy
	if len(s.TrustedProxies) > 0 {
		forwarded = r.Header.Values("X-Forwarded-For")
	}
	return clientAddr(r.RemoteAddr, forwarded, s.TrustedProxies)
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

// defaultMaxBody bounds the body of every route that sets no bound of its
// own: huma's default for an operation, far above any JSON body the API
// takes.
const defaultMaxBody = 1 << 20

// bodyLimits are the request body bounds of the routes that take more
// than defaultMaxBody, by the pattern the ServeMux matches them with
// ("POST /api/v1/orgs/{orgId}/bulk-issuances").
type bodyLimits map[string]int64

// operationBodyLimits reads the bounds the API's operations declare
// (huma.Operation.MaxBodyBytes), so that the declaration stays the one
// place a route's bound is set.
func operationBodyLimits(api huma.API) bodyLimits {
	out := bodyLimits{}
	for path, item := range api.OpenAPI().Paths {
		for method, o := range map[string]*huma.Operation{http.MethodPost: item.Post, http.MethodPut: item.Put, http.MethodPatch: item.Patch} {
			if o != nil && o.MaxBodyBytes > defaultMaxBody {
				out[method+" "+path] = o.MaxBodyBytes
			}
		}
	}
	return out
}

// capBodies bounds every request body before any of it is parsed: a body
// declared larger than its route's bound is answered 413 at once, unread;
// one of unknown length (chunked) is cut at the bound, and whatever the
// route was answering then becomes 413. So neither multipart parsing nor
// the Idempotency-Key wrapper nor a page's form reads more than the
// bound, whoever sends it.
func capBodies(next http.Handler, mux *http.ServeMux, limits bodyLimits) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := int64(defaultMaxBody)
		if len(limits) > 0 {
			if _, pattern := mux.Handler(r); limits[pattern] > 0 {
				limit = limits[pattern]
			}
		}
		if r.ContentLength > limit {
			w.Header().Set("Connection", "close")
			writeProblem(w, bodyTooLarge(limit))
			return
		}
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		body := &cappedBody{ReadCloser: http.MaxBytesReader(w, r.Body, limit)}
		r.Body = body
		cw := &cappedWriter{ResponseWriter: w, body: body, limit: limit, outer: w.Header().Clone()}
		next.ServeHTTP(cw, r)
	})
}

// cappedBody notes when a read went past the bound.
type cappedBody struct {
	io.ReadCloser
	tripped atomic.Bool
}

func (b *cappedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if _, over := errors.AsType[*http.MaxBytesError](err); over {
		b.tripped.Store(true)
	}
	return n, err
}

// cappedWriter answers 413 instead of whatever a route answers after its
// body went past the bound (huma answers a cut multipart body 422, the
// Idempotency-Key wrapper 400).
type cappedWriter struct {
	http.ResponseWriter
	body     *cappedBody
	limit    int64
	outer    http.Header // the headers set before the route ran
	started  bool
	replaced bool
}

func (w *cappedWriter) WriteHeader(status int) {
	if w.started {
		return
	}
	w.started = true
	if !w.body.tripped.Load() {
		w.ResponseWriter.WriteHeader(status)
		return
	}
	w.replaced = true
	h := w.ResponseWriter.Header()
	for k := range h {
		delete(h, k)
	}
	for k, v := range w.outer {
		h[k] = v
	}
	writeProblem(w.ResponseWriter, bodyTooLarge(w.limit))
}

func (w *cappedWriter) Write(b []byte) (int, error) {
	if !w.started {
		w.WriteHeader(http.StatusOK)
	}
	if w.replaced {
		return len(b), nil // the route's answer gives way to the 413
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *cappedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes flushes through.
func (w *cappedWriter) Flush() {
	if !w.started {
		w.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}
