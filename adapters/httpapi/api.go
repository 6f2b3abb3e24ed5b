// Package httpapi is Credence's HTTP adapter: the /api/v1 operations with
// huma (OpenAPI 3.1 at /openapi.json, docs at /docs), the public documents
// (/credentials, /issuers, /achievements) and health endpoints. Handlers
// only translate HTTP to core calls and back.
package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/credence-dev/credence/core/accounts"
	"github.com/credence-dev/credence/core/badges"
	"github.com/credence-dev/credence/core/bulk"
	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/orgs"
	"github.com/credence-dev/credence/ports"
)

// Version is the API version shown in the OpenAPI document.
const Version = "1.0.0"

// Deps are the core services the API drives.
type Deps struct {
	Accounts    *accounts.Service
	Orgs        *orgs.Service
	Badges      *badges.Service
	Credentials *credentials.Service
	Bulk        *bulk.Service
	Clock       ports.Clock
	// Ready reports whether the database (and queue) answer, for /readyz.
	Ready func(ctx context.Context) error
	Log   *slog.Logger
	// Limiter counts requests against Limits (nil: no limits).
	Limiter ports.RateLimiter
	Limits  Limits
	// TrustedProxies are the proxies whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// Idempotency stores the responses to POSTs sent with an
	// Idempotency-Key, for replay (nil: the header is ignored).
	Idempotency ports.Idempotency
	// Sealer encrypts the responses Idempotency keeps (required with it):
	// they may carry session tokens and API key secrets.
	Sealer ports.KeyCipher
	// HSTS sends Strict-Transport-Security: set it when the public URL is
	// https.
	HSTS bool
}

type server struct {
	Deps
	problems
}

// New returns the HTTP handler serving the whole API: the routes behind
// the edge, outermost first — Retry-After on every 503 (unavailable.go),
// security headers, the per-address rate limit and the body cap
// (edge.go), the refusal of control characters (controls.go) — and the
// Idempotency-Key wrapper.
func New(d Deps) http.Handler {
	mux := http.NewServeMux()
	api := NewAPI(mux, d)
	s := &server{Deps: d, problems: problems{log: d.Log}}
	h := notFoundAsProblem(mux)
	if d.Idempotency != nil {
		if d.Sealer == nil {
			panic("httpapi: Deps.Idempotency needs Deps.Sealer: stored responses may carry secrets")
		}
		h = idempotent(h, idempotencyDeps{store: d.Idempotency, clock: d.Clock, log: d.Log, sealer: d.Sealer,
			authenticate: func(ctx context.Context, token string) error {
				_, err := d.Accounts.Authenticate(ctx, token)
				return err
			}}, defaultIdempotency)
	}
	h = refuseControls(mux, h)
	h = capBodies(h, mux, operationBodyLimits(api))
	h = s.limitAddresses(h)
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

// NewAPI registers every operation on mux and returns the huma API (whose
// OpenAPI() is the spec).
func NewAPI(mux *http.ServeMux, d Deps) huma.API {
	useProblems()
	cfg := huma.DefaultConfig("Credence API", Version)
	cfg.Info.Description = "Issue, manage and verify digital credentials (Open Badges 3.0, VC-JWT)."
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "a session token from sign-in, or an organization API key (crk_live_… / crk_test_…)"},
	}
	cfg.CreateHooks = nil // no $schema links in bodies
	api := humago.New(mux, cfg)
	s := &server{Deps: d, problems: problems{log: d.Log}}
	api.UseMiddleware(s.authenticate(api))
	s.registerAccounts(api)
	s.registerOrgs(api)
	s.registerMembers(api)
	s.registerActivity(api)
	s.registerActivityExport(api)
	s.registerKeys(api)
	s.registerAdminKeys(api)
	s.registerBadges(api)
	s.registerCredentials(api)
	s.registerBulk(api)
	s.registerPublicAPI(api)
	documentIdempotency(api.OpenAPI())
	s.registerDocuments(mux)
	s.registerPages(mux)
	s.registerResetPage(mux)
	s.registerVerifyPages(mux)
	s.registerHealth(mux)
	return api
}

type actorKey struct{}

// public marks operations that work without a token (a session is used
// when one is sent).
const publicMeta = "public"

// authenticate turns the bearer token into an actor. Operations that need
// one answer 401 without it; public ones ignore a bad token.
func (s *server) authenticate(api huma.API) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		public := ctx.Operation() != nil && ctx.Operation().Metadata[publicMeta] == true
		var forwarded []string // read only behind a trusted proxy
		if len(s.TrustedProxies) > 0 {
			forwarded = forwardedFor(ctx)
		}
		ip := clientAddr(ctx.RemoteAddr(), forwarded, s.TrustedProxies)
		if !s.limitAuth(api, ctx, ip) {
			return
		}
		var actor domain.Actor
		token, hasToken := bearer(ctx.Header("Authorization"))
		if hasToken {
			a, err := s.Accounts.Authenticate(ctx.Context(), token)
			switch {
			case err == nil:
				actor = a
			case !public:
				s.writeErr(api, ctx, err)
				return
			}
		}
		if actor.Anonymous() && !public {
			s.writeErr(api, ctx, domain.Errorf(domain.CodeUnauthenticated, "send Authorization: Bearer <session token or API key>"))
			return
		}
		if !s.limitKey(api, ctx, actor) {
			return
		}
		actor.IP = ip
		ctx = huma.WithValue(ctx, clientKey{}, accounts.Client{IP: ip, UserAgent: ctx.Header("User-Agent")})
		next(huma.WithValue(ctx, actorKey{}, actor))
	}
}

type clientKey struct{}

// clientFrom returns where the request came from.
func clientFrom(ctx context.Context) accounts.Client {
	c, _ := ctx.Value(clientKey{}).(accounts.Client)
	return c
}

// forwardedFor returns the X-Forwarded-For headers of a request.
func forwardedFor(ctx huma.Context) []string {
	var out []string
	ctx.EachHeader(func(name, value string) {
		if strings.EqualFold(name, "X-Forwarded-For") {
			out = append(out, value)
		}
	})
	return out
}

func (s *server) writeErr(api huma.API, ctx huma.Context, err error) {
	e := s.from(ctx.Context(), err)
	var he huma.HeadersError
	if errors.As(e, &he) {
		for k, vs := range he.GetHeaders() {
			for _, v := range vs {
				ctx.AppendHeader(k, v)
			}
		}
	}
	p := asProblem(e)
	ctx.SetHeader("Content-Type", "application/problem+json")
	ctx.SetStatus(p.Status)
	_ = api.Marshal(ctx.BodyWriter(), "application/json", p)
}

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

func actorFrom(ctx context.Context) domain.Actor {
	a, _ := ctx.Value(actorKey{}).(domain.Actor)
	return a
}

// op fills the conventions every operation shares.
func op(method, path, id, summary string, tags ...string) huma.Operation {
	o := huma.Operation{Method: method, Path: path, OperationID: id, Summary: summary, Tags: tags,
		Security: []map[string][]string{{"bearer": {}}}}
	return o
}

func publicOp(o huma.Operation) huma.Operation {
	o.Metadata = map[string]any{publicMeta: true}
	o.Security = nil
	return o
}

func withStatus(o huma.Operation, status int) huma.Operation {
	o.DefaultStatus = status
	return o
}

func (s *server) registerHealth(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if s.Ready != nil {
			if err := s.Ready(r.Context()); err != nil {
				s.log.WarnContext(r.Context(), "not ready", "err", err)
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write([]byte(`{"status":"unavailable"}`))
				return
			}
		}
		_, _ = w.Write([]byte(`{"status":"ready"}`))
	})
}

// Spec returns the OpenAPI document as YAML, or JSON when asJSON.
func Spec(asJSON bool) ([]byte, error) {
	api := NewAPI(http.NewServeMux(), Deps{Log: slog.Default()})
	if asJSON {
		return api.OpenAPI().MarshalJSON()
	}
	return api.OpenAPI().YAML()
}
