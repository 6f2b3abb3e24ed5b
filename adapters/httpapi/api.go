// Package httpapi is Credence's HTTP adapter: the /api/v1 operations with
// huma (OpenAPI 3.1 at /openapi.json, docs at /docs), the public documents
// (/credentials, /issuers, /achievements) and health endpoints. Handlers
// only translate HTTP to core calls and back.
package httpapi

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/credence-dev/credence/core/accounts"
	"github.com/credence-dev/credence/core/badges"
	"github.com/credence-dev/credence/core/bulk"
	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/images"
	"github.com/credence-dev/credence/core/orgs"
	"github.com/credence-dev/credence/core/vcapi"
	"github.com/credence-dev/credence/core/webhooks"
	"github.com/credence-dev/credence/ports"
)

// Version is the API version shown in the OpenAPI document.
const Version = "1.0.0"

// Deps are the core services the API drives.
type Deps struct {
	Accounts    *accounts.Service
	Orgs        *orgs.Service
	Badges      *badges.Service
	Images      *images.Service
	Credentials *credentials.Service
	Bulk        *bulk.Service
	// VCAPI answers the W3C VC-API's verification requests (vcapi.go).
	VCAPI *vcapi.Service
	// Webhooks manages organizations' webhook endpoints (webhooks.go).
	Webhooks *webhooks.Service
	Clock    ports.Clock
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
	// SecureCookies marks the browser pages' cookies Secure: set it when
	// the public URL is https.
	SecureCookies bool
	// FormKey signs the CSRF tokens of the pages' forms (web_session.go):
	// the same on every replica (nil: a random key, for one process).
	FormKey []byte
	// PublicURL is where browsers reach the service: a form posted from
	// its origin (or the request's own host) is same-origin (nil: the
	// request's host alone).
	PublicURL *url.URL
}

// server holds what the routes and the edge's layers share: the Deps and
// the mapping of errors to problems.
type server struct {
	Deps
	problems
	// forms are the paths of the pages' forms (handleForm), where the
	// session cookie counts.
	forms map[string]bool
	// formKey signs the forms' CSRF tokens: Deps.FormKey, or a random key.
	formKey []byte
	// pages are the rendered credential pages and cards (pagecache.go).
	pages *pageCache
}

func newServer(d Deps) *server {
	key := d.FormKey
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key) // never fails (crypto/rand)
	}
	return &server{Deps: d, problems: problems{log: d.Log}, forms: map[string]bool{}, formKey: key,
		pages: newPageCache(pageCacheEntries, pageCacheBytes)}
}

// NewAPI registers every operation on mux and returns the huma API (whose
// OpenAPI() is the spec). Served alone, without the edge (New), its
// operations see every caller as anonymous.
func NewAPI(mux *http.ServeMux, d Deps) huma.API { return newServer(d).register(mux) }

// register registers every route on mux, the API's operations per
// resource behind admit, then the documents, pages and probes.
func (s *server) register(mux *http.ServeMux) huma.API {
	useProblems()
	cfg := huma.DefaultConfig("Credence API", Version)
	cfg.Info.Description = "Issue, manage and verify digital credentials (Open Badges 3.0, VC-JWT)."
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "a session token from sign-in, or an organization API key (crk_live_… / crk_test_…)"},
	}
	cfg.CreateHooks = nil // no $schema links in bodies
	cfg.DocsPath = ""     // registerDocs serves the reference from embedded assets
	api := humago.New(mux, cfg)
	api.UseMiddleware(s.admit)
	for _, register := range []func(huma.API){s.registerAccounts, s.registerOrgs, s.registerMembers, s.registerActivity,
		s.registerKeys, s.registerBadges, s.registerImages, s.registerCredentials, s.registerBulk, s.registerVerification, s.registerVCAPI, s.registerRecipients, s.registerWebhooks} {
		register(api)
	}
	documentIdempotency(api.OpenAPI())
	for _, register := range []func(*http.ServeMux){s.registerAssets, s.registerDocs, s.registerImageFiles, s.registerDocuments, s.registerPages,
		s.registerVerifyPages, s.registerQR, s.registerHealth} {
		register(mux)
	}
	return api
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

// Spec returns the OpenAPI document as YAML, or JSON when asJSON.
func Spec(asJSON bool) ([]byte, error) {
	api := NewAPI(http.NewServeMux(), Deps{Log: slog.Default()})
	if asJSON {
		return api.OpenAPI().MarshalJSON()
	}
	return api.OpenAPI().YAML()
}
