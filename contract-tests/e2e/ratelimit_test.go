package e2e

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
)

// rateLimited runs a server with small limits behind a trusted loopback
// proxy, so that each check speaks from an address of its own.
var rateLimited = []serverOption{withEnv(
	"CREDENCE_TRUSTED_PROXIES", "127.0.0.1",
	"CREDENCE_RATE_LIMIT_IP", "8",
	"CREDENCE_RATE_LIMIT_AUTH_IP", "3",
	"CREDENCE_RATE_LIMIT_EMAIL", "2",
	"CREDENCE_RATE_LIMIT_KEY", "4",
), withPlans(`{"professional":{"activeApiKeys":2}}`)}

// testRateLimits checks each limit answers 429 RATE_LIMITED with
// Retry-After at its threshold, the X-RateLimit-* headers, the client
// address taken from X-Forwarded-For behind a trusted proxy, the per-email
// limit counting unknown addresses alike, and a platform admin's per-key
// rate.
func testRateLimits(t *testing.T, e *env) {
	anon := e.anon(t)
	from := func(ip string) []string { return []string{"X-Forwarded-For", "192.0.2.99, " + ip} }

	// Per client address: 8 a minute, whatever the answer.
	for i := range 8 {
		r := anon.do(http.MethodGet, "/api/v1/me", nil, from("203.0.113.1")...)
		if r.Status != http.StatusUnauthorized || r.Header.Get("X-RateLimit-Limit") != "8" ||
			r.Header.Get("X-RateLimit-Remaining") != strconv.Itoa(7-i) || r.Header.Get("X-RateLimit-Reset") == "" {
			t.Fatalf("request %d: %s with limit headers %q/%q/%q", i+1, r, r.Header.Get("X-RateLimit-Limit"),
				r.Header.Get("X-RateLimit-Remaining"), r.Header.Get("X-RateLimit-Reset"))
		}
	}
	r := anon.do(http.MethodGet, "/api/v1/me", nil, from("203.0.113.1")...)
	anon.checkProblem(r, http.StatusTooManyRequests, "RATE_LIMITED")
	if wait, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || wait < 1 || wait > 8 {
		t.Errorf("Retry-After %q, want 1 to 8 seconds (one request in 7.5 s)", r.Header.Get("Retry-After"))
	}
	// Another address is not limited by the first one's requests.
	anon.expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodGet, "/api/v1/me", nil, from("203.0.113.2")...)

	// Every route counts against the one limit, not only the API's
	// operations: documents, pages, replays; health checks do not.
	for i, path := range []string{"/verify", "/verify/CRD-NOSUCH00", "/credentials/CRD-NOSUCH00.jwt", "/issuers/no-such-org/did.json",
		"/reset-password?token=x", "/verify-email?token=x", "/openapi.json", "/no/such/path"} {
		r := anon.do(http.MethodGet, path, nil, from("203.0.113.8")...)
		if r.Status == http.StatusTooManyRequests || r.Header.Get("X-RateLimit-Remaining") != strconv.Itoa(7-i) {
			t.Fatalf("request %d: %s with X-RateLimit-Remaining %q", i+1, r, r.Header.Get("X-RateLimit-Remaining"))
		}
	}
	for _, path := range []string{"/verify/CRD-NOSUCH00", "/credentials/CRD-NOSUCH00", "/reset-password"} {
		anon.expectProblem(http.StatusTooManyRequests, "RATE_LIMITED", http.MethodGet, path, nil, from("203.0.113.8")...)
	}
	anon.expectProblem(http.StatusTooManyRequests, "RATE_LIMITED", http.MethodPost, "/api/v1/verify", map[string]string{"credential": "x"}, from("203.0.113.8")...)
	anon.expect(http.StatusOK, http.MethodGet, "/healthz", nil, nil, from("203.0.113.8")...)

	// An IPv6 client is limited by its /64, however many of its addresses
	// it uses; the next /64 is another client.
	for i := range 8 {
		anon.expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodGet, "/api/v1/me", nil,
			from(fmt.Sprintf("2001:db8:77:1::%x", i+1))...)
	}
	anon.expectProblem(http.StatusTooManyRequests, "RATE_LIMITED", http.MethodGet, "/api/v1/me", nil, from("2001:db8:77:1:abcd::9")...)
	anon.expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodGet, "/api/v1/me", nil, from("2001:db8:77:2::1")...)

	// Sign-up and mail-sending endpoints: 3 per address per 15 minutes.
	for i := range 3 {
		anon.expect(http.StatusCreated, http.MethodPost, "/api/v1/auth/signup", map[string]string{
			"email": uniqueEmail("rl"), "password": testPassword, "name": "R " + strconv.Itoa(i)}, nil, from("203.0.113.3")...)
	}
	anon.expectProblem(http.StatusTooManyRequests, "RATE_LIMITED", http.MethodPost, "/api/v1/auth/password-reset",
		map[string]string{"email": uniqueEmail("rl")}, from("203.0.113.3")...)

	// Per email address: 2 requested mails per 15 minutes, from any
	// address, registered or not (the answer tells nothing).
	known := e.newUser(t, "rlknown")
	for _, email := range []string{known.Email, uniqueEmail("rlghost")} {
		anon.expect(http.StatusAccepted, http.MethodPost, "/api/v1/auth/password-reset", map[string]string{"email": email}, nil, from("203.0.113.4")...)
		anon.expect(http.StatusAccepted, http.MethodPost, "/api/v1/auth/resend-verification", map[string]string{"email": email}, nil, from("203.0.113.5")...)
		anon.expectProblem(http.StatusTooManyRequests, "RATE_LIMITED", http.MethodPost, "/api/v1/auth/password-reset",
			map[string]string{"email": email}, from("203.0.113.6")...)
	}

	// Per API key: 4 a minute by default; a platform admin may set a key's own rate.
	owner, o := e.newIssuer(t, "ES256")
	e.setPlan(t, o.ID, "professional")
	type apiKey struct {
		ID        string `json:"id"`
		Secret    string `json:"secret"`
		RateLimit int    `json:"rateLimitPerMinute"`
	}
	var k1, k2 apiKey
	oc := e.as(t, owner.Token)
	oc.expect(http.StatusCreated, http.MethodPost, "/api/v1/orgs/"+o.ID+"/api-keys", map[string]string{"name": "one"}, &k1)
	oc.expect(http.StatusCreated, http.MethodPost, "/api/v1/orgs/"+o.ID+"/api-keys", map[string]string{"name": "two"}, &k2)
	badges := "/api/v1/orgs/" + o.ID + "/badges"
	key := e.as(t, k1.Secret)
	for i := range 4 {
		r := key.do(http.MethodGet, badges, nil)
		if r.Status != http.StatusOK || r.Header.Get("X-RateLimit-Limit") != "4" || r.Header.Get("X-RateLimit-Remaining") != strconv.Itoa(3-i) {
			t.Fatalf("API key request %d: %s, X-RateLimit-Limit %q", i+1, r, r.Header.Get("X-RateLimit-Limit"))
		}
	}
	key.expectProblem(http.StatusTooManyRequests, "RATE_LIMITED", http.MethodGet, badges, nil)

	// The admin sets key two's own rate; only admins may.
	rate := "/api/v1/admin/api-keys/" + k2.ID + "/rate-limit"
	oc.expectProblem(http.StatusForbidden, "FORBIDDEN", http.MethodPut, rate, map[string]int{"perMinute": 2})
	e.admin(t).expectProblem(http.StatusNotFound, "NOT_FOUND", http.MethodPut, "/api/v1/admin/api-keys/00000000-0000-4000-8000-000000000000/rate-limit", map[string]int{"perMinute": 2})
	var set apiKey
	e.admin(t).expect(http.StatusOK, http.MethodPut, rate, map[string]int{"perMinute": 2}, &set)
	if set.RateLimit != 2 {
		t.Errorf("the key's rate after setting it: %+v", set)
	}
	two := e.as(t, k2.Secret)
	for range 2 {
		if r := two.do(http.MethodGet, badges, nil); r.Status != http.StatusOK || r.Header.Get("X-RateLimit-Limit") != "2" {
			t.Fatalf("key with its own rate: %s, X-RateLimit-Limit %q", r, r.Header.Get("X-RateLimit-Limit"))
		}
	}
	two.expectProblem(http.StatusTooManyRequests, "RATE_LIMITED", http.MethodGet, badges, nil)
}

// TestRateLimitsAcrossReplicas runs two apps/api replicas on one Redis: a
// client's requests count against one limit whichever replica answers.
func TestRateLimitsAcrossReplicas(t *testing.T) {
	opts := append([]serverOption{withEnv("CREDENCE_REDIS_URL", freshRedisDB(t, redisRateLimits))}, rateLimited...)
	a, b := startServer(t, "sqlite", opts...), startServer(t, "sqlite", opts...)
	from := []string{"X-Forwarded-For", "203.0.113.77"}
	for i := range 8 {
		s := a
		if i%2 == 1 {
			s = b
		}
		s.anon(t).expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodGet, "/api/v1/me", nil, from...)
	}
	for _, s := range []*server{a, b} {
		s.anon(t).expectProblem(http.StatusTooManyRequests, "RATE_LIMITED", http.MethodGet, "/api/v1/me", nil, from...)
	}
}
