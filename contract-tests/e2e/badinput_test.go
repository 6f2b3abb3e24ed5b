package e2e

import (
	"strings"
	"testing"
)

// testBadInput: malformed and hostile input gets a 4xx problem with a code,
// never a 5xx (the client fails the test on any 5xx).
func testBadInput(t *testing.T, e *env) {
	owner, o := e.newIssuer(t, "")
	b := createBadge(e.as(t, owner.Token), o.ID, 0)
	cr := issue(e.as(t, owner.Token), o.ID, b.ID, "Bea Bad-Input", uniqueEmail("bad"))
	orgPath := "/api/v1/orgs/" + o.ID
	unknownID := "0d7f4b8e-3c1a-4f6e-9b2d-5a8c7e1f0a93"
	huge := strings.Repeat("x", 100_000)
	signup := func(email, password, name string) map[string]string {
		return map[string]string{"email": email, "password": password, "name": name}
	}
	recipient := map[string]string{"name": "Bea", "email": uniqueEmail("bad")}

	const (
		anon  = "anonymous"
		user  = "owner"
		admin = "admin"
	)
	for _, tc := range []struct {
		name         string
		as           string
		method, path string
		body         any
		header       []string
		status       int
		code         string
	}{
		// Bodies that are not JSON, not the right JSON, or too big.
		{"signup malformed JSON", anon, "POST", "/api/v1/auth/signup", rawJSON(`{"email":`), nil, 400, "MALFORMED_REQUEST"},
		{"signup JSON array", anon, "POST", "/api/v1/auth/signup", rawJSON(`[1,2]`), nil, 422, "VALIDATION_FAILED"},
		{"signup empty object", anon, "POST", "/api/v1/auth/signup", rawJSON(`{}`), nil, 422, "VALIDATION_FAILED"},
		{"signup no body", anon, "POST", "/api/v1/auth/signup", nil, nil, 400, "MALFORMED_REQUEST"},
		{"signup wrong types", anon, "POST", "/api/v1/auth/signup", rawJSON(`{"email":1,"password":true,"name":null}`), nil, 422, "VALIDATION_FAILED"},
		{"signup bad email", anon, "POST", "/api/v1/auth/signup", signup("not an email", testPassword, "X"), nil, 422, "VALIDATION_FAILED"},
		{"signup short password", anon, "POST", "/api/v1/auth/signup", signup(uniqueEmail("short"), "short", "X"), nil, 422, "VALIDATION_FAILED"},
		{"signup control characters", anon, "POST", "/api/v1/auth/signup", signup(uniqueEmail("ctl"), testPassword, "a\u0000b"), nil, 422, "VALIDATION_FAILED"},
		{"signup huge name", anon, "POST", "/api/v1/auth/signup", signup(uniqueEmail("huge"), testPassword, huge), nil, 422, "VALIDATION_FAILED"},
		{"signup huge email", anon, "POST", "/api/v1/auth/signup", signup(huge+"@example.com", testPassword, "X"), nil, 422, "VALIDATION_FAILED"},
		{"signup 2 MB body", anon, "POST", "/api/v1/auth/signup", rawJSON(`{"name":"` + strings.Repeat("x", 2<<20) + `"}`), nil, 413, "PAYLOAD_TOO_LARGE"},
		{"signup form encoded", anon, "POST", "/api/v1/auth/signup", rawJSON(`email=a`), []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"verify-email unknown token", anon, "POST", "/api/v1/auth/verify-email", map[string]string{"token": "nope"}, nil, 400, "INVALID_TOKEN"},
		{"verify-email huge token", anon, "POST", "/api/v1/auth/verify-email", map[string]string{"token": huge}, nil, 422, "VALIDATION_FAILED"},
		{"login huge password", anon, "POST", "/api/v1/auth/login", map[string]string{"email": owner.Email, "password": huge}, nil, 422, "VALIDATION_FAILED"},

		// Tokens.
		{"no token", anon, "GET", "/api/v1/me", nil, nil, 401, "UNAUTHENTICATED"},
		{"garbage token", anon, "GET", "/api/v1/me", nil, []string{"Authorization", "Bearer garbage"}, 401, "UNAUTHENTICATED"},
		{"garbage API key", anon, "GET", orgPath, nil, []string{"Authorization", "Bearer crk_live_garbage"}, 401, "UNAUTHENTICATED"},
		{"huge token", anon, "GET", "/api/v1/me", nil, []string{"Authorization", "Bearer " + strings.Repeat("a", 4000)}, 401, "UNAUTHENTICATED"},
		{"basic auth", anon, "GET", "/api/v1/me", nil, []string{"Authorization", "Basic dXNlcjpwYXNz"}, 401, "UNAUTHENTICATED"},
		{"admin API as a user", user, "GET", "/api/v1/admin/orgs", nil, nil, 403, "FORBIDDEN"},

		// Path IDs that are not IDs.
		{"org not a UUID", user, "GET", "/api/v1/orgs/not-a-uuid", nil, nil, 404, "NOT_FOUND"},
		{"org upper-case UUID", user, "GET", "/api/v1/orgs/" + strings.ToUpper(o.ID), nil, nil, 404, "NOT_FOUND"},
		{"org unknown UUID", user, "GET", "/api/v1/orgs/" + unknownID, nil, nil, 404, "NOT_FOUND"},
		{"org ID too long", user, "GET", "/api/v1/orgs/" + strings.Repeat("a", 300), nil, nil, 422, "VALIDATION_FAILED"},
		{"org ID with SQL", user, "GET", "/api/v1/orgs/'%20OR%201=1--", nil, nil, 404, "NOT_FOUND"},
		{"badge not a UUID", user, "GET", orgPath + "/badges/nope", nil, nil, 404, "NOT_FOUND"},
		{"badge unknown", user, "GET", orgPath + "/badges/" + unknownID, nil, nil, 404, "NOT_FOUND"},
		{"credential short ID", user, "GET", orgPath + "/credentials/CRD-1", nil, nil, 404, "NOT_FOUND"},
		{"credential lower-case ID", user, "GET", orgPath + "/credentials/" + strings.ToLower(cr.ID), nil, nil, 404, "NOT_FOUND"},
		{"credential ID too long", user, "GET", orgPath + "/credentials/CRD-AAAAAAAAAAAA", nil, nil, 422, "VALIDATION_FAILED"},
		{"credential unknown", user, "GET", orgPath + "/credentials/CRD-00000000", nil, nil, 404, "NOT_FOUND"},
		{"revoke unknown credential", user, "POST", orgPath + "/credentials/CRD-00000000/revoke", map[string]string{"reason": "x"}, nil, 404, "NOT_FOUND"},
		{"revoke no body", user, "POST", orgPath + "/credentials/" + cr.ID + "/revoke", nil, nil, 400, "MALFORMED_REQUEST"},
		{"public credential malformed", anon, "GET", "/api/v1/credentials/hello", nil, nil, 404, "NOT_FOUND"},
		{"public credential unknown", anon, "GET", "/api/v1/credentials/CRD-00000000", nil, nil, 404, "NOT_FOUND"},
		{"verify malformed ID", anon, "GET", "/api/v1/credentials/hello/verify", nil, nil, 404, "NOT_FOUND"},
		{"verify unknown ID", anon, "GET", "/api/v1/credentials/CRD-00000000/verify", nil, nil, 404, "NOT_FOUND"},
		{"claim malformed ID", user, "POST", "/api/v1/credentials/hello/claim", nil, nil, 404, "NOT_FOUND"},
		{"file of unknown credential", anon, "GET", "/credentials/CRD-00000000.jwt", nil, nil, 404, "NOT_FOUND"},
		{"file of malformed ID", anon, "GET", "/credentials/not-an-id.jwt", nil, nil, 404, "NOT_FOUND"},
		{"JSON of malformed ID", anon, "GET", "/credentials/" + strings.Repeat("Z", 500), nil, nil, 404, "NOT_FOUND"},
		{"unknown issuer", anon, "GET", "/issuers/no-such-issuer-" + runID, nil, nil, 404, "NOT_FOUND"},
		{"issuer bad slug JWKS", anon, "GET", "/issuers/NOT_A_SLUG/jwks.json", nil, nil, 404, "NOT_FOUND"},
		{"issuer bad slug DID", anon, "GET", "/issuers/" + strings.Repeat("a", 200) + "/did.json", nil, nil, 404, "NOT_FOUND"},
		{"unknown achievement", anon, "GET", "/achievements/" + o.Slug + "/no-such-badge", nil, nil, 404, "NOT_FOUND"},
		{"admin approve not a UUID", admin, "POST", "/api/v1/admin/orgs/nope/approve", nil, nil, 404, "NOT_FOUND"},
		{"admin approve unknown", admin, "POST", "/api/v1/admin/orgs/" + unknownID + "/approve", nil, nil, 404, "NOT_FOUND"},
		{"admin approve twice", admin, "POST", "/api/v1/admin/orgs/" + o.ID + "/approve", nil, nil, 409, "INVALID_STATE"},

		// Field values.
		{"create org without name", user, "POST", "/api/v1/orgs", rawJSON(`{}`), nil, 422, "VALIDATION_FAILED"},
		{"create org bad slug", user, "POST", "/api/v1/orgs", map[string]string{"name": "X", "slug": "Not A Slug!"}, nil, 422, "VALIDATION_FAILED"},
		{"create org taken slug", user, "POST", "/api/v1/orgs", map[string]string{"name": "X", "slug": o.Slug}, nil, 409, "SLUG_TAKEN"},
		{"create org bad website", user, "POST", "/api/v1/orgs", map[string]string{"name": "X", "websiteUrl": "javascript:alert(1)"}, nil, 422, "VALIDATION_FAILED"},
		{"create badge empty", user, "POST", orgPath + "/badges", rawJSON(`{}`), nil, 422, "VALIDATION_FAILED"},
		{"create badge bad image", user, "POST", orgPath + "/badges", map[string]any{"name": "B", "description": "d", "criteria": "c", "imageUrl": "not a url"}, nil, 422, "VALIDATION_FAILED"},
		{"create badge negative expiry", user, "POST", orgPath + "/badges", map[string]any{"name": "B", "description": "d", "criteria": "c", "imageUrl": "https://x.example.com/i.png", "expiresInDays": -5}, nil, 422, "VALIDATION_FAILED"},
		{"create badge huge expiry", user, "POST", orgPath + "/badges", map[string]any{"name": "B", "description": "d", "criteria": "c", "imageUrl": "https://x.example.com/i.png", "expiresInDays": 1 << 40}, nil, 422, "VALIDATION_FAILED"},
		{"create badge huge description", user, "POST", orgPath + "/badges", map[string]any{"name": "B", "description": huge, "criteria": "c", "imageUrl": "https://x.example.com/i.png"}, nil, 422, "VALIDATION_FAILED"},
		{"edit signed field of used badge", user, "PATCH", orgPath + "/badges/" + b.ID, map[string]any{"name": "Renamed"}, nil, 409, "BADGE_LOCKED"},
		{"issue badge ID not a UUID", user, "POST", orgPath + "/credentials", map[string]any{"badgeId": "nope", "recipient": recipient}, nil, 422, "VALIDATION_FAILED"},
		{"issue unknown badge", user, "POST", orgPath + "/credentials", map[string]any{"badgeId": unknownID, "recipient": recipient}, nil, 404, "NOT_FOUND"},
		{"issue without recipient", user, "POST", orgPath + "/credentials", map[string]any{"badgeId": b.ID}, nil, 422, "VALIDATION_FAILED"},
		{"issue bad email", user, "POST", orgPath + "/credentials", issueBody(b.ID, "Bea", "bea@"), nil, 422, "VALIDATION_FAILED"},
		{"issue blank name", user, "POST", orgPath + "/credentials", issueBody(b.ID, "   ", uniqueEmail("bad")), nil, 422, "VALIDATION_FAILED"},
		{"issue control characters", user, "POST", orgPath + "/credentials", issueBody(b.ID, "Bea\u0007\u0000", uniqueEmail("bad")), nil, 422, "VALIDATION_FAILED"},
		{"issue huge name", user, "POST", orgPath + "/credentials", issueBody(b.ID, huge, uniqueEmail("bad")), nil, 422, "VALIDATION_FAILED"},
		{"issue wrong types", user, "POST", orgPath + "/credentials", rawJSON(`{"badgeId":5,"recipient":"x","public":"yes"}`), nil, 422, "VALIDATION_FAILED"},
		{"preflight bad email", user, "POST", orgPath + "/credentials/preflight", map[string]string{"badgeId": b.ID, "email": "@@"}, nil, 422, "VALIDATION_FAILED"},
		{"list unknown status", user, "GET", orgPath + "/credentials?status=bogus", nil, nil, 422, "VALIDATION_FAILED"},
		{"list limit 0", user, "GET", orgPath + "/credentials?limit=0", nil, nil, 422, "VALIDATION_FAILED"},
		{"list limit 1000", user, "GET", orgPath + "/credentials?limit=1000", nil, nil, 422, "VALIDATION_FAILED"},
		{"list limit not a number", user, "GET", orgPath + "/credentials?limit=lots", nil, nil, 422, "VALIDATION_FAILED"},
		{"list badge filter not a UUID", user, "GET", orgPath + "/credentials?badgeId=nope", nil, nil, 422, "VALIDATION_FAILED"},
		{"admin list unknown status", admin, "GET", "/api/v1/admin/orgs?status=bogus", nil, nil, 422, "VALIDATION_FAILED"},
		{"admin unknown plan", admin, "PUT", "/api/v1/admin/orgs/" + o.ID + "/plan", map[string]string{"plan": "platinum"}, nil, 422, "VALIDATION_FAILED"},
		{"signing key HS256", user, "POST", orgPath + "/signing-keys", map[string]string{"alg": "HS256"}, nil, 422, "VALIDATION_FAILED"},
		{"API key bad mode", user, "POST", orgPath + "/api-keys", map[string]string{"name": "k", "mode": "root"}, nil, 422, "VALIDATION_FAILED"},
		{"verify not a JWS", anon, "POST", "/api/v1/verify", map[string]string{"credential": "hello"}, nil, 422, "VALIDATION_FAILED"},
		{"verify empty JWS", anon, "POST", "/api/v1/verify", map[string]string{"credential": ""}, nil, 422, "VALIDATION_FAILED"},
		{"verify three garbage parts", anon, "POST", "/api/v1/verify", map[string]string{"credential": "a.b.c"}, nil, 422, "VALIDATION_FAILED"},
		{"verify without credential", anon, "POST", "/api/v1/verify", rawJSON(`{}`), nil, 422, "VALIDATION_FAILED"},
		{"verify huge JWS", anon, "POST", "/api/v1/verify", map[string]string{"credential": huge}, nil, 422, "VALIDATION_FAILED"},
		{"verify upload truncated PNG", anon, "POST", "/api/v1/verify", bulkForm(t, "", "a.png", "image/png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR")), nil, 422, "INVALID_CREDENTIAL_FILE"},
		{"verify upload not a JWS", anon, "POST", "/api/v1/verify", bulkForm(t, "", "a.jwt", "application/octet-stream", []byte("hello")), nil, 422, "INVALID_CREDENTIAL_FILE"},
		{"verify upload huge file", anon, "POST", "/api/v1/verify", bulkForm(t, "", "a.png", "image/png", make([]byte, 6<<20)), nil, 413, "PAYLOAD_TOO_LARGE"},
		{"badge image SVG", user, "PUT", orgPath + "/badges/" + b.ID + "/image", formBody{"image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)}, nil, 422, "INVALID_IMAGE"},
		{"badge image claims PNG", user, "PUT", orgPath + "/badges/" + b.ID + "/image", formBody{"image/png", []byte("GIF89a")}, nil, 422, "INVALID_IMAGE"},
		{"logo garbage JPEG", user, "PUT", orgPath + "/logo", formBody{"image/jpeg", []byte{0xff, 0xd8, 0xff, 0xe0, 0, 0}}, nil, 422, "INVALID_IMAGE"},
		{"logo 3 MB", user, "PUT", orgPath + "/logo", formBody{"image/png", make([]byte, 3<<20)}, nil, 413, "PAYLOAD_TOO_LARGE"},
		{"unknown image", anon, "GET", "/images/" + strings.Repeat("0", 64) + ".png", nil, nil, 404, "NOT_FOUND"},
		{"baked badge of unknown credential", anon, "GET", "/credentials/CRD-ZZZZZZZZ.png", nil, nil, 404, "NOT_FOUND"},

		// Routes and methods that do not exist.
		{"unknown API route", user, "GET", "/api/v1/no-such-thing", nil, nil, 404, "NOT_FOUND"},
		{"wrong method", user, "DELETE", "/api/v1/me", nil, nil, 405, "METHOD_NOT_ALLOWED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c *client
			switch tc.as {
			case anon:
				c = e.anon(t)
			case user:
				c = e.as(t, owner.Token)
			case admin:
				c = e.admin(t)
			}
			r := c.do(tc.method, tc.path, tc.body, tc.header...)
			if r.Status < 400 || r.Status >= 500 {
				t.Fatalf("want a 4xx: %s", r)
			}
			p := decodeProblem(t, r)
			if r.Status != tc.status || p.Code != tc.code {
				t.Errorf("want %d %s: %s", tc.status, tc.code, r)
			}
		})
	}
}
