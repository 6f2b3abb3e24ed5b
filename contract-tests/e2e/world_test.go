package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// env is one server of one store with its platform administrator signed in.
type env struct {
	*server
	adminToken string
}

// newEnv starts a server and signs its administrator up and in.
func newEnv(t *testing.T, store string, opts ...serverOption) *env {
	t.Helper()
	return envFor(t, startServer(t, store, opts...))
}

// envFor registers the platform administrator on a started server.
func envFor(t *testing.T, s *server) *env {
	t.Helper()
	admin := s.registerAs(t, s.adminEmail, "Platform Admin")
	var me struct {
		Admin bool `json:"admin"`
	}
	s.as(t, admin.Token).expect(http.StatusOK, http.MethodGet, "/api/v1/me", nil, &me)
	if !me.Admin {
		t.Fatalf("%s is in CREDENCE_ADMIN_EMAILS but GET /api/v1/me says admin=false", s.adminEmail)
	}
	return &env{server: s, adminToken: admin.Token}
}

// admin is the platform administrator's client.
func (e *env) admin(t *testing.T) *client { return e.as(t, e.adminToken) }

const testPassword = "correct horse battery staple"

// user is a signed-up, verified, signed-in account.
type user struct {
	Email, Name, Token string
}

// newUser registers a fresh account.
func (s *server) newUser(t *testing.T, prefix string) user {
	t.Helper()
	return s.registerAs(t, uniqueEmail(prefix), "Test "+prefix)
}

// registerAs signs email up, verifies it through the mailed link and signs in.
func (s *server) registerAs(t *testing.T, email, name string) user {
	t.Helper()
	anon := s.anon(t)
	anon.expect(http.StatusCreated, http.MethodPost, "/api/v1/auth/signup",
		map[string]string{"email": email, "password": testPassword, "name": name}, nil)
	normalized := strings.ToLower(strings.TrimSpace(email))
	anon.expect(http.StatusOK, http.MethodPost, "/api/v1/auth/verify-email",
		map[string]string{"token": s.verificationToken(t, normalized)}, nil)
	return user{Email: normalized, Name: name, Token: s.login(t, email)}
}

func (s *server) login(t *testing.T, email string) string {
	t.Helper()
	var sess struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expiresAt"`
	}
	s.anon(t).expect(http.StatusOK, http.MethodPost, "/api/v1/auth/login",
		map[string]string{"email": email, "password": testPassword}, &sess)
	if sess.Token == "" || !sess.ExpiresAt.After(time.Now()) {
		t.Fatalf("login gave token %q expiring %s", sess.Token, sess.ExpiresAt)
	}
	return sess.Token
}

// org is the wire form of an organization.
type org struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Slug         string `json:"slug"`
	Status       string `json:"status"`
	StatusReason string `json:"statusReason"`
	Plan         string `json:"plan"`
	Role         string `json:"role"`
	IssuerID     string `json:"issuerId"`
}

// createOrg creates a pending organization owned by the client's user.
func createOrg(c *client, name string) org {
	c.t.Helper()
	var o org
	c.expect(http.StatusCreated, http.MethodPost, "/api/v1/orgs",
		map[string]string{"name": name, "slug": unique("org"), "websiteUrl": "https://issuer.example.com"}, &o)
	return o
}

// approve approves an organization as the platform administrator.
func (e *env) approve(t *testing.T, orgID string) org {
	t.Helper()
	var o org
	e.admin(t).expect(http.StatusOK, http.MethodPost, "/api/v1/admin/orgs/"+orgID+"/approve", nil, &o)
	if o.Status != "approved" {
		t.Fatalf("approved organization has status %q", o.Status)
	}
	return o
}

// setPlan puts an organization on plan as the platform administrator.
func (e *env) setPlan(t *testing.T, orgID, plan string) {
	t.Helper()
	var got org
	e.admin(t).expect(http.StatusOK, http.MethodPut, "/api/v1/admin/orgs/"+orgID+"/plan", map[string]string{"plan": plan}, &got)
	if got.Plan != plan {
		t.Fatalf("plan %q after setting %q", got.Plan, plan)
	}
}

// signingKey is the wire form of a signing key.
type signingKey struct {
	ID        string          `json:"id"`
	KID       string          `json:"kid"`
	Alg       string          `json:"alg"`
	Status    string          `json:"status"`
	PublicJWK json.RawMessage `json:"publicJwk"`
}

// generateKeys creates the organization's signing key (alg "" sends no body).
func generateKeys(c *client, orgID, alg string) signingKey {
	c.t.Helper()
	var body any
	if alg != "" {
		body = map[string]string{"alg": alg}
	}
	var k signingKey
	c.expect(http.StatusCreated, http.MethodPost, "/api/v1/orgs/"+orgID+"/signing-keys", body, &k)
	return k
}

// newIssuer gives a fresh user an approved organization with signing keys
// of alg ("" for the default) and returns the owner and the organization.
func (e *env) newIssuer(t *testing.T, alg string) (user, org) {
	t.Helper()
	owner := e.newUser(t, "owner")
	c := e.as(t, owner.Token)
	o := createOrg(c, "Academy "+unique("a"))
	e.approve(t, o.ID)
	generateKeys(c, o.ID, alg)
	o.Status = "approved"
	return owner, o
}

// badge is the wire form of a badge.
type badge struct {
	ID             string   `json:"id"`
	OrgID          string   `json:"orgId"`
	Name           string   `json:"name"`
	Slug           string   `json:"slug"`
	Description    string   `json:"description"`
	Criteria       string   `json:"criteria"`
	ImageURL       string   `json:"imageUrl"`
	Tags           []string `json:"tags"`
	ExpiresInDays  *int     `json:"expiresInDays"`
	IsActive       bool     `json:"isActive"`
	Locked         bool     `json:"locked"`
	AchievementURL string   `json:"achievementUrl"`
}

// createBadge creates a badge; expiresInDays 0 means it never expires.
func createBadge(c *client, orgID string, expiresInDays int) badge {
	c.t.Helper()
	body := map[string]any{
		"name": "Go Expert " + unique("b"), "description": "Knows Go", "criteria": "Passed the exam",
		"imageUrl": "https://issuer.example.com/go.png", "tags": []string{"go", "backend"},
	}
	if expiresInDays > 0 {
		body["expiresInDays"] = expiresInDays
	}
	var b badge
	c.expect(http.StatusCreated, http.MethodPost, "/api/v1/orgs/"+orgID+"/badges", body, &b)
	return b
}

// credential is the issuer's wire form of a credential (with the issue
// response's state and jwt when present).
type credential struct {
	ID        string `json:"id"`
	OrgID     string `json:"orgId"`
	BadgeID   string `json:"badgeId"`
	Recipient struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"recipient"`
	Status                   string     `json:"status"`
	IssuedAt                 time.Time  `json:"issuedAt"`
	ExpiresAt                *time.Time `json:"expiresAt"`
	Public                   bool       `json:"public"`
	Test                     bool       `json:"test"`
	ClaimedAt                *time.Time `json:"claimedAt"`
	RevokedAt                *time.Time `json:"revokedAt"`
	RevocationReason         string     `json:"revocationReason"`
	SupersedesCredentialID   string     `json:"supersedesCredentialId"`
	SupersededByCredentialID string     `json:"supersededByCredentialId"`
	KID                      string     `json:"kid"`
	VerificationURL          string     `json:"verificationUrl"`
	CredentialURL            string     `json:"credentialUrl"`
	State                    string     `json:"state"`
	JWT                      string     `json:"jwt"`
}

// issueBody is the body of POST /api/v1/orgs/{orgId}/credentials.
func issueBody(badgeID, name, email string) map[string]any {
	return map[string]any{"badgeId": badgeID, "recipient": map[string]string{"name": name, "email": email}}
}

// issue issues a credential and requires 201.
func issue(c *client, orgID, badgeID, name, email string) credential {
	c.t.Helper()
	return issueWith(c, orgID, issueBody(badgeID, name, email))
}

func issueWith(c *client, orgID string, body map[string]any) credential {
	c.t.Helper()
	var cr credential
	c.expect(http.StatusCreated, http.MethodPost, "/api/v1/orgs/"+orgID+"/credentials", body, &cr)
	if !credentialIDRE.MatchString(cr.ID) {
		c.t.Errorf("credential ID %q is not CRD- + 8 of [A-Z0-9]", cr.ID)
	}
	if cr.JWT == "" {
		c.t.Errorf("issue response without jwt: %+v", cr)
	}
	return cr
}

// getCredential reads a credential through the issuer's API.
func getCredential(c *client, orgID, id string) credential {
	c.t.Helper()
	var cr credential
	c.expect(http.StatusOK, http.MethodGet, "/api/v1/orgs/"+orgID+"/credentials/"+id, nil, &cr)
	return cr
}

// check is one verification check.
type check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// verification is the answer of both verify endpoints.
type verification struct {
	Result     string  `json:"result"`
	Checks     []check `json:"checks"`
	Credential *struct {
		ID        string `json:"id"`
		Status    string `json:"status"`
		Recipient struct {
			Name  string `json:"name"`
			Email string `json:"email"`
		} `json:"recipient"`
		Issuer struct {
			ID     string `json:"id"`
			Slug   string `json:"slug"`
			Status string `json:"status"`
		} `json:"issuer"`
		RevocationReason         string `json:"revocationReason"`
		SupersedesCredentialID   string `json:"supersedesCredentialId"`
		SupersededByCredentialID string `json:"supersededByCredentialId"`
	} `json:"credential"`
}

func (v verification) check(t *testing.T, name string) check {
	t.Helper()
	for _, c := range v.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s check in %+v", name, v.Checks)
	return check{}
}

// checkNames are the five checks, in the order they are reported.
var checkNames = []string{"signature", "integrity", "expiry", "revocation", "issuer"}

// requireAllChecksOK requires the five checks, each ok, and result.
func requireAllChecksOK(t *testing.T, v verification, result string) {
	t.Helper()
	if v.Result != result {
		t.Errorf("result %q, want %q: %+v", v.Result, result, v.Checks)
	}
	if len(v.Checks) != len(checkNames) {
		t.Fatalf("want the %d checks %v, got %+v", len(checkNames), checkNames, v.Checks)
	}
	for i, c := range v.Checks {
		if c.Name != checkNames[i] {
			t.Errorf("check %d is %q, want %q", i, c.Name, checkNames[i])
		}
		if !c.OK {
			t.Errorf("check %s failed: %s", c.Name, c.Detail)
		}
		if c.Detail == "" {
			t.Errorf("check %s has no detail", c.Name)
		}
	}
}

// verifyByID calls GET /api/v1/credentials/{id}/verify.
func verifyByID(c *client, id string) verification {
	c.t.Helper()
	var v verification
	c.expect(http.StatusOK, http.MethodGet, "/api/v1/credentials/"+id+"/verify", nil, &v)
	return v
}

// verifyPresented calls POST /api/v1/verify with a compact JWS.
func verifyPresented(c *client, jws string) verification {
	c.t.Helper()
	var v verification
	c.expect(http.StatusOK, http.MethodPost, "/api/v1/verify", map[string]string{"credential": jws}, &v)
	return v
}

// jwsHeader is a JWS protected header.
type jwsHeader struct {
	Alg string `json:"alg"`
	KID string `json:"kid"`
	Typ string `json:"typ"`
}

// decodeJWS returns the protected header and the payload of a compact JWS.
func decodeJWS(t *testing.T, compact string) (jwsHeader, map[string]any) {
	t.Helper()
	parts := strings.Split(compact, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", compact)
	}
	var h jwsHeader
	var p map[string]any
	for i, out := range []any{&h, &p} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("JWS part %d is not base64url: %v", i, err)
		}
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("JWS part %d is not JSON: %v", i, err)
		}
	}
	return h, p
}

// jwks is a JSON Web Key Set, with the raw keys kept for verification.
type jwks struct {
	Keys []json.RawMessage `json:"keys"`
}

// kids returns the kid of every key, in order.
func (k jwks) kids(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, raw := range k.Keys {
		var key struct {
			KID string `json:"kid"`
		}
		if err := json.Unmarshal(raw, &key); err != nil {
			t.Fatal(err)
		}
		out = append(out, key.KID)
	}
	return out
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// quotaUsed is the organization's count of recipients this month.
func quotaUsed(c *client, orgID string) int {
	c.t.Helper()
	var usage struct {
		Quota struct {
			Used int `json:"used"`
		} `json:"quota"`
	}
	c.expect(http.StatusOK, http.MethodGet, "/api/v1/orgs/"+orgID+"/usage", nil, &usage)
	return usage.Quota.Used
}
