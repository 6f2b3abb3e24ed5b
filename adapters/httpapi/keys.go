package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/orgs"
	"github.com/credence-dev/credence/core/signing"
)

type signingKeyWire struct {
	ID        string          `json:"id"`
	KID       string          `json:"kid" doc:"the DID URL in the JWS header of what this key signs"`
	Algorithm string          `json:"alg" enum:"ES256,EdDSA,RS256"`
	Status    string          `json:"status" enum:"active,retired"`
	PublicJWK json.RawMessage `json:"publicJwk"`
	CreatedAt time.Time       `json:"createdAt"`
	RetiredAt *time.Time      `json:"retiredAt,omitempty"`
}

func (s *server) keyWire(orgSlug string, k domain.SigningKey) signingKeyWire {
	return signingKeyWire{ID: k.ID, KID: signing.KeyID(s.Credentials.URLs().DID(orgSlug), k.Fragment), Algorithm: string(k.Algorithm),
		Status: string(k.Status), PublicJWK: k.PublicJWK, CreatedAt: k.CreatedAt, RetiredAt: k.RetiredAt}
}

type signingKeyOut struct{ Body signingKeyWire }

type apiKeyWire struct {
	ID            string     `json:"id"`
	Name          string     `json:"name"`
	Mode          string     `json:"mode" enum:"live,test" doc:"test keys issue credentials marked test: never counted in the quota, never mailed, shown as TEST when verified"`
	Prefix        string     `json:"prefix"`
	Last4         string     `json:"last4"`
	Secret        string     `json:"secret,omitempty" doc:"the whole key, shown only in the response that creates or regenerates it"`
	CreatedAt     time.Time  `json:"createdAt"`
	ExpiresAt     time.Time  `json:"expiresAt"`
	RegeneratedAt *time.Time `json:"regeneratedAt,omitempty" doc:"when the secret was last replaced"`
	RevokedAt     *time.Time `json:"revokedAt,omitempty"`
	RevokedReason string     `json:"revokedReason,omitempty" enum:"manual,plan_limit" doc:"with revokedAt: manual (an owner revoked it) or plan_limit (a plan change left more active keys than the plan allows)"`
	LastUsedAt    *time.Time `json:"lastUsedAt,omitempty" doc:"the last request authenticated with the key, to the minute"`
	RateLimit     int        `json:"rateLimitPerMinute,omitempty" doc:"the key's own request rate per minute, set by a platform admin; absent: the default"`
}

func apiKeyWireOf(k domain.APIKey) apiKeyWire {
	w := apiKeyWire{ID: k.ID, Name: k.Name, Mode: string(k.Mode), Prefix: k.Prefix, Last4: k.Last4,
		CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, RegeneratedAt: k.RegeneratedAt, RevokedAt: k.RevokedAt,
		LastUsedAt: k.LastUsedAt, RateLimit: k.RateLimit}
	if k.RevokedAt != nil {
		w.RevokedReason = "manual"
		if k.RevokedFor != domain.APIKeyRevokedManually {
			w.RevokedReason = string(k.RevokedFor)
		}
	}
	return w
}

// APIKeyPath names one API key of an organization.
type APIKeyPath struct {
	OrgPath
	KeyID string `path:"keyId" maxLength:"36"`
}

// registerKeys registers an organization's keys: its signing keys, its
// API keys, and a platform admin's rate for one API key.
func (s *server) registerKeys(api huma.API) {
	tag := "Signing keys"
	huma.Register(api, withStatus(op(http.MethodPost, "/api/v1/orgs/{orgId}/signing-keys", "generate-signing-keys", "Generate the organization's signing key (once; owners)", tag), 201),
		func(ctx context.Context, in *struct {
			OrgPath
			Body *struct {
				Alg string `json:"alg,omitempty" enum:"ES256,EdDSA,RS256" doc:"ES256 by default: Open Badges 3.0 verifiers accept ES256 and RS256"`
			}
		}) (*signingKeyOut, error) {
			alg := ""
			if in.Body != nil {
				alg = in.Body.Alg
			}
			return s.keyResult(ctx, in.OrgID, func() (domain.SigningKey, error) {
				return s.Orgs.GenerateKeys(ctx, actorFrom(ctx), in.OrgID, domain.Algorithm(alg))
			})
		})
	huma.Register(api, withStatus(op(http.MethodPost, "/api/v1/orgs/{orgId}/signing-keys/rotate", "rotate-signing-keys", "Rotate: a new key signs, the old one is retired and still verifies", tag), 201),
		func(ctx context.Context, in *OrgPath) (*signingKeyOut, error) {
			return s.keyResult(ctx, in.OrgID, func() (domain.SigningKey, error) {
				return s.Orgs.RotateKeys(ctx, actorFrom(ctx), in.OrgID)
			})
		})
	huma.Register(api, op(http.MethodGet, "/api/v1/orgs/{orgId}/signing-keys", "list-signing-keys", "Public keys, active and retired", tag),
		func(ctx context.Context, in *OrgPath) (*listOut[signingKeyWire], error) {
			keys, err := s.Orgs.Keys(ctx, actorFrom(ctx), in.OrgID)
			if err != nil {
				return nil, s.from(ctx, err)
			}
			org, err := s.Orgs.Get(ctx, actorFrom(ctx), in.OrgID)
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &listOut[signingKeyWire]{Body: listOf(keys, 0, func(k domain.SigningKey) signingKeyWire { return s.keyWire(org.Slug, k) }, nil)}, nil
		})

	tag = "API keys"
	huma.Register(api, withStatus(op(http.MethodPost, "/api/v1/orgs/{orgId}/api-keys", "create-api-key", "Create an API key (owners; Professional+); the secret is shown once", tag), 201),
		func(ctx context.Context, in *struct {
			OrgPath
			Body struct {
				Name          string `json:"name" maxLength:"100"`
				Mode          string `json:"mode,omitempty" enum:"live,test" default:"live"`
				ExpiresInDays *int   `json:"expiresInDays,omitempty" doc:"default 180"`
			}
		}) (*struct{ Body apiKeyWire }, error) {
			k, err := s.Orgs.CreateAPIKey(ctx, actorFrom(ctx), in.OrgID, orgs.APIKeyInput{Name: in.Body.Name, Mode: domain.APIKeyMode(in.Body.Mode), ExpiresInDays: in.Body.ExpiresInDays})
			if err != nil {
				return nil, s.from(ctx, err)
			}
			w := apiKeyWireOf(k.Key)
			w.Secret = k.Secret
			return &struct{ Body apiKeyWire }{w}, nil
		})
	huma.Register(api, op(http.MethodGet, "/api/v1/orgs/{orgId}/api-keys", "list-api-keys", "The organization's API keys (prefix and last 4 only)", tag),
		func(ctx context.Context, in *OrgPath) (*listOut[apiKeyWire], error) {
			ks, err := s.Orgs.APIKeys(ctx, actorFrom(ctx), in.OrgID)
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &listOut[apiKeyWire]{Body: listOf(ks, 0, apiKeyWireOf, nil)}, nil
		})
	huma.Register(api, withStatus(op(http.MethodDelete, "/api/v1/orgs/{orgId}/api-keys/{keyId}", "revoke-api-key", "Revoke an API key at once", tag), 204),
		func(ctx context.Context, in *APIKeyPath) (*emptyOut, error) {
			if err := s.Orgs.RevokeAPIKey(ctx, actorFrom(ctx), in.OrgID, in.KeyID); err != nil {
				return nil, s.from(ctx, err)
			}
			return &emptyOut{}, nil
		})
	regenerate := op(http.MethodPost, "/api/v1/orgs/{orgId}/api-keys/{keyId}/regenerate", "regenerate-api-key",
		"Give an API key a new secret, shown once; the old secret stops working at once", tag)
	regenerate.Description = "The key keeps its ID, name, mode and rate limit. Its expiry restarts: it lives `expiresInDays` from now, " +
		"by default as many days as it was given when created (or last regenerated), so regenerating also renews a key. " +
		"A revoked key cannot be regenerated (409 INVALID_STATE); an expired one can, within the plan's cap of active keys."
	huma.Register(api, regenerate,
		func(ctx context.Context, in *struct {
			APIKeyPath
			Body *struct {
				ExpiresInDays *int `json:"expiresInDays,omitempty" doc:"1 to 3650; default: the key's lifetime so far"`
			}
		}) (*struct{ Body apiKeyWire }, error) {
			var days *int
			if in.Body != nil {
				days = in.Body.ExpiresInDays
			}
			k, err := s.Orgs.RegenerateAPIKey(ctx, actorFrom(ctx), in.OrgID, in.KeyID, days)
			if err != nil {
				return nil, s.from(ctx, err)
			}
			w := apiKeyWireOf(k.Key)
			w.Secret = k.Secret
			return &struct{ Body apiKeyWire }{w}, nil
		})
	s.registerAdminKeys(api)
}

type apiKeyOut struct {
	Body apiKeyWire
}

func (s *server) registerAdminKeys(api huma.API) {
	huma.Register(api, op(http.MethodPut, "/api/v1/admin/api-keys/{keyId}/rate-limit", "set-api-key-rate-limit",
		"Give an API key its own request rate per minute (0 restores CREDENCE_RATE_LIMIT_KEY)", "Platform administration"),
		func(ctx context.Context, in *struct {
			KeyID string `path:"keyId" maxLength:"64"`
			Body  struct {
				PerMinute int `json:"perMinute" minimum:"0" maximum:"100000" doc:"requests per minute; 0: the default"`
			}
		}) (*apiKeyOut, error) {
			k, err := s.Orgs.SetAPIKeyRateLimit(ctx, actorFrom(ctx), in.KeyID, in.Body.PerMinute)
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &apiKeyOut{Body: apiKeyWireOf(k)}, nil
		})
}

func (s *server) keyResult(ctx context.Context, orgID string, fn func() (domain.SigningKey, error)) (*signingKeyOut, error) {
	k, err := fn()
	if err != nil {
		return nil, s.from(ctx, err)
	}
	org, err := s.Orgs.Get(ctx, actorFrom(ctx), orgID)
	if err != nil {
		return nil, s.from(ctx, err)
	}
	return &signingKeyOut{Body: s.keyWire(org.Slug, k)}, nil
}
