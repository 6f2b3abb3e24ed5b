package httpapi

import (
	"context"
	"errors"
	"io"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/danielgtaylor/huma/v2"

	"github.com/credence-dev/credence/core/domain"
)

// New returns the HTTP handler serving the whole API: every route behind
// one edge, a chain of layers each request passes in this order,
// outermost first:
//
//  1. retryAfter503 (unavailable.go): Retry-After on every 503;
//  2. secureHeaders: the security headers of every response;
//  3. crossOrigin (vcapi.go): CORS for the VC-API's routes, their
//     preflights answered;
//  4. identify (caller.go): the client's address, found once;
//  5. limitAddresses (ratelimit.go): the per-address rate limit, before
//     any token is looked at;
//  6. capBodies: the body bound of the route;
//  7. refuseControls (controls.go): control characters in the path, the
//     query or a JSON body;
//  8. authenticate (caller.go): the bearer token looked up once, the
//     actor set for everything after; without one, the browser's session
//     cookie, on the pages and public documents only (never /api/v1,
//     which stays bearer-only and so out of reach of CSRF;
//     web_session.go);
//  9. idempotent (idempotency.go): replays of POSTs sent with an
//     Idempotency-Key (when Deps.Idempotency is set);
//  10. the routes: the API's operations, each behind admit (caller.go:
//     the per-operation limits and the need for an actor), the public
//     documents, the pages, unknown paths answered as problems.
//
// Every problem body is written by writeProblem (problem.go), huma's own
// through its NewError hook; every 429 by limit (ratelimit.go).
func New(d Deps) http.Handler {
	mux := http.NewServeMux()
	s := newServer(d)
	api := s.register(mux)
	h := notFoundAsProblem(mux)
	if d.Idempotency != nil {
		if d.Sealer == nil {
			panic("httpapi: Deps.Idempotency needs Deps.Sealer: stored responses may carry secrets")
		}
		h = idempotent(h, idempotencyDeps{store: d.Idempotency, clock: d.Clock, log: d.Log, sealer: d.Sealer}, defaultIdempotency)
	}
	h = authenticate(h, func(ctx context.Context, token string) (domain.Actor, error) {
		return d.Accounts.Authenticate(ctx, token)
	}, s.forms)
	h = refuseControls(mux, h)
	limits := operationBodyLimits(api)
	maps.Copy(limits, pageBodyLimits)
	h = capBodies(h, mux, limits)
	h = s.limitAddresses(h)
	h = identify(h, d.TrustedProxies)
	h = crossOrigin(h)
	return retryAfter503(secureHeaders(h, d.HSTS))
}

// notFoundAsProblem answers unknown paths and methods with problems
// (404 NOT_FOUND, 405 METHOD_NOT_ALLOWED) instead of ServeMux's plain text.
func notFoundAsProblem(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		var allowed []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, p := mux.Handler(probe); p != "" {
				allowed = append(allowed, m)
			}
		}
		p := &Problem{Status: http.StatusNotFound, Code: string(domain.CodeNotFound), Detail: "no such resource: " + r.URL.Path}
		if len(allowed) > 0 {
			p = &Problem{Status: http.StatusMethodNotAllowed, Code: "METHOD_NOT_ALLOWED", Detail: r.Method + " is not allowed here"}
			w.Header().Set("Allow", strings.Join(allowed, ", "))
		}
		writeProblem(w, p)
	})
}

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

func bodyTooLarge(limit int64) *Problem {
	return &Problem{Status: http.StatusRequestEntityTooLarge, Code: codeOfStatus[http.StatusRequestEntityTooLarge],
		Detail: "the request body is larger than " + strconv.FormatInt(limit>>20, 10) + " MiB"}
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
