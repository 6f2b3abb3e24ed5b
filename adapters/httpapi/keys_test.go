package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// Signing keys: one generation, then rotation; retired keys stay listed
// and published.
func TestSigningKeys(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner := s.signUp(uniqueEmail("keys"))
	var o testOrg
	s.expect(http.StatusCreated, http.MethodPost, "/api/v1/orgs", owner.Token, map[string]string{"name": uniqueName("Keyed")}, &o)
	org := "/api/v1/orgs/" + o.ID
	s.expectProblem(http.StatusUnprocessableEntity, "VALIDATION_FAILED", http.MethodPost, org+"/signing-keys", owner.Token, map[string]string{"alg": "HS256"})
	type key struct {
		ID     string `json:"id"`
		KID    string `json:"kid"`
		Alg    string `json:"alg"`
		Status string `json:"status"`
		JWK    struct {
			Kty string `json:"kty"`
			D   string `json:"d"`
		} `json:"publicJwk"`
	}
	var first key
	s.expect(http.StatusCreated, http.MethodPost, org+"/signing-keys", owner.Token, map[string]string{"alg": "EdDSA"}, &first)
	if first.Alg != "EdDSA" || first.Status != "active" || !strings.HasPrefix(first.KID, o.IssuerID+"#") || first.JWK.Kty != "OKP" || first.JWK.D != "" {
		t.Fatalf("generated %+v", first)
	}
	s.expectProblem(http.StatusConflict, "SIGNING_KEYS_EXIST", http.MethodPost, org+"/signing-keys", owner.Token, nil)
	var second key
	s.expect(http.StatusCreated, http.MethodPost, org+"/signing-keys/rotate", owner.Token, nil, &second)
	if second.ID == first.ID || second.Status != "active" {
		t.Fatalf("rotated %+v", second)
	}
	var keys struct {
		Items []key `json:"items"`
	}
	s.expect(http.StatusOK, http.MethodGet, org+"/signing-keys", owner.Token, nil, &keys)
	status := map[string]string{}
	for _, k := range keys.Items {
		status[k.ID] = k.Status
	}
	if len(keys.Items) != 2 || status[first.ID] != "retired" || status[second.ID] != "active" {
		t.Fatalf("keys after rotation %+v", keys)
	}
}

// API keys: a plan gate, a secret shown once, the key acting as its
// organization, revocation and regeneration ending the old secret, and a
// platform administrator's rate for one key.
func TestAPIKeys(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer("")
	org := "/api/v1/orgs/" + o.ID
	s.expectProblem(http.StatusForbidden, "PLAN_REQUIRED", http.MethodPost, org+"/api-keys", owner.Token, map[string]string{"name": "ci"})
	s.expect(http.StatusOK, http.MethodPut, "/api/v1/admin/orgs/"+o.ID+"/plan", s.admin(), map[string]string{"plan": "professional"}, nil)

	type apiKey struct {
		ID         string `json:"id"`
		Mode       string `json:"mode"`
		Prefix     string `json:"prefix"`
		Last4      string `json:"last4"`
		Secret     string `json:"secret"`
		ExpiresAt  string `json:"expiresAt"`
		RevokedAt  string `json:"revokedAt"`
		Reason     string `json:"revokedReason"`
		LastUsedAt string `json:"lastUsedAt"`
		RateLimit  int    `json:"rateLimitPerMinute"`
	}
	var k apiKey
	s.expect(http.StatusCreated, http.MethodPost, org+"/api-keys", owner.Token, map[string]string{"name": "ci"}, &k)
	if k.Mode != "live" || !strings.HasPrefix(k.Secret, "crk_live_") || !strings.HasSuffix(k.Secret, k.Last4) || k.ExpiresAt == "" {
		t.Fatalf("created %+v", k)
	}
	s.expectProblem(http.StatusForbidden, "PLAN_LIMIT_REACHED", http.MethodPost, org+"/api-keys", owner.Token, map[string]string{"name": "second"})

	// The key acts as its organization, with issuer rights and no more.
	b := s.createBadge(k.Secret, o.ID, 0)
	s.issue(k.Secret, o.ID, b.ID, uniqueEmail("by-key"))
	s.expectProblem(http.StatusForbidden, "FORBIDDEN", http.MethodGet, org+"/api-keys", k.Secret, nil)
	s.expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodGet, "/api/v1/me", k.Secret, nil)
	var list struct {
		Items []apiKey `json:"items"`
	}
	s.expect(http.StatusOK, http.MethodGet, org+"/api-keys", owner.Token, nil, &list)
	if len(list.Items) != 1 || list.Items[0].Secret != "" || list.Items[0].LastUsedAt == "" {
		t.Fatalf("listed keys %+v", list)
	}

	// Regeneration: a new secret, the old one ends at once.
	var regenerated apiKey
	s.expect(http.StatusOK, http.MethodPost, org+"/api-keys/"+k.ID+"/regenerate", owner.Token, map[string]int{"expiresInDays": 30}, &regenerated)
	if regenerated.ID != k.ID || regenerated.Secret == k.Secret || regenerated.Secret == "" {
		t.Fatalf("regenerated %+v", regenerated)
	}
	s.expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodGet, org+"/badges", k.Secret, nil)
	s.expect(http.StatusNoContent, http.MethodDelete, org+"/api-keys/"+k.ID, owner.Token, nil, nil)
	s.expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodGet, org+"/badges", regenerated.Secret, nil)
	s.expect(http.StatusOK, http.MethodGet, org+"/api-keys", owner.Token, nil, &list)
	if len(list.Items) != 1 || list.Items[0].RevokedAt == "" || list.Items[0].Reason != "manual" {
		t.Fatalf("revoked key %+v", list)
	}
	s.expectProblem(http.StatusConflict, "INVALID_STATE", http.MethodPost, org+"/api-keys/"+k.ID+"/regenerate", owner.Token, nil)

	// A test key issues credentials marked test.
	_, test := s.apiKey(owner.Token, o.ID, "test")
	var issued struct {
		Test bool `json:"test"`
	}
	s.expect(http.StatusCreated, http.MethodPost, org+"/credentials", test, issueBody(b.ID, uniqueEmail("sandbox")), &issued)
	if !issued.Test {
		t.Error("a test key's credential is not marked test")
	}

	// A platform administrator gives a key its own rate: the key's
	// requests tell it, and the one over it is refused.
	s.expect(http.StatusOK, http.MethodPut, "/api/v1/admin/orgs/"+o.ID+"/plan", s.admin(), map[string]string{"plan": "enterprise"}, nil)
	fresh, secret := s.apiKey(owner.Token, o.ID, "live")
	rate := "/api/v1/admin/api-keys/" + fresh + "/rate-limit"
	s.expectProblem(http.StatusForbidden, "FORBIDDEN", http.MethodPut, rate, owner.Token, map[string]int{"perMinute": 2})
	var limited apiKey
	s.expect(http.StatusOK, http.MethodPut, rate, s.admin(), map[string]int{"perMinute": 2}, &limited)
	if limited.RateLimit != 2 {
		t.Fatalf("rate set %+v", limited)
	}
	for i := range 2 {
		w := s.do(http.MethodGet, org+"/badges", secret, nil)
		if w.Code != http.StatusOK || w.Header().Get("X-RateLimit-Limit") != "2" || w.Header().Get("X-RateLimit-Remaining") != strconv.Itoa(1-i) ||
			w.Header().Get("X-RateLimit-Reset") == "" {
			t.Fatalf("request %d within the key's rate: %d %v", i+1, w.Code, w.Header())
		}
	}
	w := s.do(http.MethodGet, org+"/badges", secret, nil)
	wantProblem(t, w, http.StatusTooManyRequests, "RATE_LIMITED")
	if w.Header().Get("Retry-After") == "" || w.Header().Get("X-RateLimit-Limit") != "2" {
		t.Errorf("429 headers %v", w.Header())
	}
	// The owner's session is not the key: the address's limit, far off.
	if w := s.do(http.MethodGet, org+"/badges", owner.Token, nil); w.Code != http.StatusOK || w.Header().Get("X-RateLimit-Limit") != "100000" {
		t.Errorf("the owner's request: %d %v", w.Code, w.Header())
	}
}
