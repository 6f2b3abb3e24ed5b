package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// keyWire is the owner's view of an API key, every field.
type keyWire struct {
	ID            string     `json:"id"`
	Name          string     `json:"name"`
	Mode          string     `json:"mode"`
	Prefix        string     `json:"prefix"`
	Last4         string     `json:"last4"`
	Secret        string     `json:"secret"`
	CreatedAt     time.Time  `json:"createdAt"`
	ExpiresAt     time.Time  `json:"expiresAt"`
	RegeneratedAt *time.Time `json:"regeneratedAt"`
	RevokedAt     *time.Time `json:"revokedAt"`
	RevokedReason string     `json:"revokedReason"`
	LastUsedAt    *time.Time `json:"lastUsedAt"`
}

const day = 24 * time.Hour

// testAPIKeysComplete: API keys expire (180 days by default), record
// their last use, are regenerated (a new secret shown once, the old one
// dead at once, the expiry restarted), come in test mode (credentials
// marked test: no quota, no mail, TEST wherever verified), and are
// revoked beyond the cap when the plan shrinks.
func testAPIKeysComplete(t *testing.T, e *env) {
	owner, o := e.newIssuer(t, "")
	c := e.as(t, owner.Token)
	b := createBadge(c, o.ID, 0)
	keys := "/api/v1/orgs/" + o.ID + "/api-keys"
	creds := "/api/v1/orgs/" + o.ID + "/credentials"
	e.setPlan(t, o.ID, "enterprise") // room for several keys
	listKeys := func() map[string]keyWire {
		t.Helper()
		var list struct {
			Items []keyWire `json:"items"`
		}
		r := c.expect(http.StatusOK, http.MethodGet, keys, nil, &list)
		if strings.Contains(string(r.Body), `"secret"`) {
			t.Errorf("the key list shows a secret: %s", r)
		}
		out := map[string]keyWire{}
		for _, k := range list.Items {
			out[k.ID] = k
		}
		return out
	}

	// Expiry: 180 days by default, expiresInDays 1 to 3650.
	for _, days := range []int{0, -1, 3651} {
		c.expectProblem(http.StatusUnprocessableEntity, "VALIDATION_FAILED", http.MethodPost, keys,
			map[string]any{"name": "bad expiry", "expiresInDays": days})
	}
	var live keyWire
	c.expect(http.StatusCreated, http.MethodPost, keys, map[string]any{"name": "production"}, &live)
	if live.Mode != "live" || !strings.HasPrefix(live.Secret, "crk_live_") || !strings.HasSuffix(live.Secret, live.Last4) {
		t.Fatalf("created key %+v", live)
	}
	if got := live.ExpiresAt.Sub(live.CreatedAt); got != 180*day {
		t.Errorf("default lifetime %s, want 180 days", got)
	}
	if live.LastUsedAt != nil || live.RegeneratedAt != nil || live.RevokedAt != nil {
		t.Errorf("a new key has lastUsedAt/regeneratedAt/revokedAt: %+v", live)
	}
	var short keyWire
	c.expect(http.StatusCreated, http.MethodPost, keys, map[string]any{"name": "short", "expiresInDays": 1}, &short)
	if got := short.ExpiresAt.Sub(short.CreatedAt); got != day {
		t.Errorf("expiresInDays 1: lifetime %s", got)
	}

	// Last use.
	liveKey := e.as(t, live.Secret)
	liveKey.expect(http.StatusOK, http.MethodGet, creds, nil, nil)
	listed := listKeys()
	if k := listed[live.ID]; k.LastUsedAt == nil || k.LastUsedAt.Before(live.CreatedAt) {
		t.Errorf("lastUsedAt after a request with the key: %v (created %s)", k.LastUsedAt, live.CreatedAt)
	}
	if k := listed[short.ID]; k.LastUsedAt != nil {
		t.Errorf("an unused key has lastUsedAt %s", k.LastUsedAt)
	}

	// Regenerate: same key, new secret shown once, old secret dead at once,
	// expiry restarted with the key's lifetime.
	var regen keyWire
	c.expect(http.StatusOK, http.MethodPost, keys+"/"+live.ID+"/regenerate", nil, &regen)
	if regen.ID != live.ID || regen.Name != live.Name || regen.Mode != "live" || regen.Prefix != "crk_live_" || !regen.CreatedAt.Equal(live.CreatedAt) {
		t.Errorf("regenerated key %+v, want the same key as %+v", regen, live)
	}
	if regen.Secret == "" || regen.Secret == live.Secret || !strings.HasPrefix(regen.Secret, "crk_live_") || !strings.HasSuffix(regen.Secret, regen.Last4) {
		t.Errorf("regenerated secret %q (last4 %q), old %q", regen.Secret, regen.Last4, live.Secret)
	}
	if regen.RegeneratedAt == nil || regen.ExpiresAt.Sub(*regen.RegeneratedAt) != 180*day || !regen.ExpiresAt.After(live.ExpiresAt.Add(-time.Second)) {
		t.Errorf("regenerated at %v, expires %s: want the 180 days to start again", regen.RegeneratedAt, regen.ExpiresAt)
	}
	liveKey.expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodGet, creds, nil)
	liveKey = e.as(t, regen.Secret)
	liveKey.expect(http.StatusOK, http.MethodGet, creds, nil, nil)
	listed = listKeys()
	if len(listed) != 2 {
		t.Errorf("%d keys listed after regenerating, want the same 2", len(listed))
	}
	if k := listed[live.ID]; k.Last4 != regen.Last4 || k.Secret != "" || k.RegeneratedAt == nil {
		t.Errorf("listed after regenerating: %+v", k)
	}
	// Another lifetime may be given; bounds as at creation.
	regenShort := keys + "/" + short.ID + "/regenerate"
	c.expectProblem(http.StatusUnprocessableEntity, "VALIDATION_FAILED", http.MethodPost, regenShort, map[string]any{"expiresInDays": 0})
	var renewed keyWire
	c.expect(http.StatusOK, http.MethodPost, regenShort, map[string]any{"expiresInDays": 30}, &renewed)
	if renewed.RegeneratedAt == nil || renewed.ExpiresAt.Sub(*renewed.RegeneratedAt) != 30*day {
		t.Errorf("regenerated with expiresInDays 30: %+v", renewed)
	}
	// Owners only; never a revoked key; never another organization's key.
	liveKey.expectProblem(http.StatusForbidden, "FORBIDDEN", http.MethodPost, regenShort, nil)
	c.expect(http.StatusNoContent, http.MethodDelete, keys+"/"+short.ID, nil, nil)
	c.expectProblem(http.StatusConflict, "INVALID_STATE", http.MethodPost, regenShort, nil)
	e.as(t, renewed.Secret).expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodGet, creds, nil)
	c.expectProblem(http.StatusNotFound, "NOT_FOUND", http.MethodPost, keys+"/00000000-0000-4000-8000-000000000000/regenerate", nil)
	otherOwner, other := e.newIssuer(t, "")
	e.as(t, otherOwner.Token).expectProblem(http.StatusNotFound, "NOT_FOUND", http.MethodPost,
		"/api/v1/orgs/"+other.ID+"/api-keys/"+live.ID+"/regenerate", nil)
	if k := listKeys()[short.ID]; k.RevokedAt == nil || k.RevokedReason != "manual" {
		t.Errorf("revoked by its owner: revokedAt %v reason %q, want manual", k.RevokedAt, k.RevokedReason)
	}

	// Test mode: marked test, outside the quota, never mailed.
	var sandbox keyWire
	c.expect(http.StatusCreated, http.MethodPost, keys, map[string]any{"name": "sandbox", "mode": "test"}, &sandbox)
	if sandbox.Mode != "test" || !strings.HasPrefix(sandbox.Secret, "crk_test_") {
		t.Fatalf("test key %+v", sandbox)
	}
	testKey := e.as(t, sandbox.Secret)
	quotaUsed := func() int { t.Helper(); return quotaUsed(c, o.ID) }
	used := quotaUsed()
	testEmail := uniqueEmail("sandbox")
	var pre struct {
		CountsTowardQuota bool `json:"countsTowardQuota"`
	}
	testKey.expect(http.StatusOK, http.MethodPost, creds+"/preflight", map[string]string{"badgeId": b.ID, "email": testEmail}, &pre)
	if pre.CountsTowardQuota {
		t.Errorf("preflight with a test key: countsTowardQuota true")
	}
	tc := issue(testKey, o.ID, b.ID, "Tess Sandbox", testEmail)
	if !tc.Test || !getCredential(c, o.ID, tc.ID).Test {
		t.Errorf("a credential issued with a test key is not marked test")
	}
	if got := quotaUsed(); got != used {
		t.Errorf("test-mode issuance counted toward the quota: %d → %d", used, got)
	}
	realEmail := uniqueEmail("real")
	rc := issue(liveKey, o.ID, b.ID, "Rita Real", realEmail)
	if rc.Test {
		t.Errorf("a credential issued with a live key is marked test")
	}
	if got := quotaUsed(); got != used+1 {
		t.Errorf("live issuance: quota %d → %d, want one more", used, got)
	}
	// The live credential, issued after the test one, is mailed: by then
	// a mail of the test one would have gone out too.
	e.latestMail(t, realEmail, "new credential")
	if ms := e.mails(t, testEmail); len(ms) != 0 {
		t.Errorf("the recipient of a test credential got %d mails, first %q", len(ms), ms[0].Subject)
	}
	c.expectProblem(http.StatusConflict, "INVALID_STATE", http.MethodPost, creds+"/"+tc.ID+"/resend", nil)

	// Test and live credentials form separate chains: a test credential
	// never renews, revokes or blocks a live one, nor the other way round.
	var testPre struct {
		State string `json:"state"`
	}
	testKey.expect(http.StatusOK, http.MethodPost, creds+"/preflight", map[string]string{"badgeId": b.ID, "email": realEmail}, &testPre)
	if testPre.State != "new" {
		t.Errorf("preflight with a test key for the holder of a live credential: state %q, want new", testPre.State)
	}
	if again := issue(testKey, o.ID, b.ID, "Rita Real", realEmail); again.State != "new" || again.SupersedesCredentialID != "" {
		t.Errorf("a test credential to the holder of a live non-expiring one: state %q supersedes %q, want new, nothing",
			again.State, again.SupersedesCredentialID)
	}
	timed := createBadge(c, o.ID, 30)
	both := uniqueEmail("both")
	live1 := issue(liveKey, o.ID, timed.ID, "Bo Both", both)
	test1 := issue(testKey, o.ID, timed.ID, "Bo Both", both)
	if test1.State != "new" || test1.SupersedesCredentialID != "" {
		t.Errorf("first test credential beside a live one: state %q supersedes %q, want new", test1.State, test1.SupersedesCredentialID)
	}
	if l := getCredential(c, o.ID, live1.ID); l.RevokedAt != nil || l.SupersededByCredentialID != "" || l.Status != live1.Status {
		t.Errorf("a test credential touched the live one: status %q revokedAt %v supersededBy %q", l.Status, l.RevokedAt, l.SupersededByCredentialID)
	}
	test2 := issue(testKey, o.ID, timed.ID, "Bo Both", both)
	live2 := issue(liveKey, o.ID, timed.ID, "Bo Both", both)
	if test2.State != "active_time_bound" || test2.SupersedesCredentialID != test1.ID {
		t.Errorf("second test credential: state %q supersedes %q, want active_time_bound over %s", test2.State, test2.SupersedesCredentialID, test1.ID)
	}
	if live2.State != "active_time_bound" || live2.SupersedesCredentialID != live1.ID {
		t.Errorf("second live credential: state %q supersedes %q, want active_time_bound over %s", live2.State, live2.SupersedesCredentialID, live1.ID)
	}
	if got := quotaUsed(); got != used+2 {
		t.Errorf("after the live credentials of two recipients: quota %d, want %d", got, used+2)
	}

	// Verified as TEST: the API, the signed file, the HTML pages.
	type verified struct {
		Result     string  `json:"result"`
		Checks     []check `json:"checks"`
		Credential *struct {
			ID   string `json:"id"`
			Test bool   `json:"test"`
		} `json:"credential"`
	}
	anon := e.anon(t)
	var byID verified
	anon.expect(http.StatusOK, http.MethodGet, "/api/v1/credentials/"+tc.ID+"/verify", nil, &byID)
	if byID.Result != "pending" || byID.Credential == nil || !byID.Credential.Test {
		t.Errorf("verified by ID: result %q credential %+v, want pending and test", byID.Result, byID.Credential)
	}
	var view struct {
		Test bool `json:"test"`
	}
	anon.expect(http.StatusOK, http.MethodGet, "/api/v1/credentials/"+tc.ID, nil, &view)
	if !view.Test {
		t.Errorf("the public view of a test credential has test false")
	}
	var presented verified
	anon.expect(http.StatusOK, http.MethodPost, "/api/v1/verify", map[string]string{"credential": tc.JWT}, &presented)
	if presented.Credential == nil || !presented.Credential.Test || presented.Result != "pending" {
		t.Errorf("presented test credential: result %q credential %+v", presented.Result, presented.Credential)
	}
	for _, ch := range presented.Checks {
		if !ch.OK {
			t.Errorf("presented test credential: check %s failed: %s", ch.Name, ch.Detail)
		}
	}
	if _, payload := decodeJWS(t, tc.JWT); !strings.HasPrefix(payload["name"].(string), "TEST: ") {
		t.Errorf("the signed name of a test credential is %q, want it to start with TEST: ", payload["name"])
	}
	if _, payload := decodeJWS(t, rc.JWT); strings.Contains(payload["name"].(string), "TEST") {
		t.Errorf("the signed name of a live credential is %q", payload["name"])
	}
	form := formBody{contentType: "application/x-www-form-urlencoded", data: []byte(url.Values{"credential": {tc.JWT}}.Encode())}
	for name, r := range map[string]*response{
		"GET /verify/{id}":  anon.do(http.MethodGet, "/verify/"+tc.ID, nil),
		"POST /verify file": anon.do(http.MethodPost, "/verify", form),
	} {
		if r.Status != http.StatusOK || !strings.Contains(string(r.Body), "TEST credential") || !strings.Contains(string(r.Body), `id="test-credential"`) {
			t.Errorf("%s of a test credential does not say TEST: %s", name, r)
		}
	}
	if r := anon.do(http.MethodGet, "/verify/"+rc.ID, nil); r.Status != http.StatusOK || strings.Contains(string(r.Body), "TEST") {
		t.Errorf("the page of a live credential: %s", r)
	}

	// A shrinking plan revokes the keys beyond its cap, in one step: live
	// keys first, then the most recently used, then the newest.
	var unused keyWire
	c.expect(http.StatusCreated, http.MethodPost, keys, map[string]any{"name": "newest, never used"}, &unused)
	testKey.expect(http.StatusOK, http.MethodGet, creds, nil, nil) // the test key is the latest used
	e.setPlan(t, o.ID, "professional")                             // one active key
	liveKey.expect(http.StatusOK, http.MethodGet, creds, nil, nil)
	testKey.expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodGet, creds, nil)
	e.as(t, unused.Secret).expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodGet, creds, nil)
	listed = listKeys()
	for _, id := range []string{sandbox.ID, unused.ID} {
		if k := listed[id]; k.RevokedAt == nil || k.RevokedReason != "plan_limit" {
			t.Errorf("key %q after the move to professional: revokedAt %v reason %q, want plan_limit", k.Name, k.RevokedAt, k.RevokedReason)
		}
	}
	if k := listed[live.ID]; k.RevokedAt != nil {
		t.Errorf("the live key in use was revoked by the move to professional")
	}
	if k := listed[short.ID]; k.RevokedReason != "manual" {
		t.Errorf("a key revoked earlier by its owner now says %q", k.RevokedReason)
	}

	e.setPlan(t, o.ID, "free") // no API access
	liveKey.expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodGet, creds, nil)
	if k := listKeys()[live.ID]; k.RevokedAt == nil || k.RevokedReason != "plan_limit" {
		t.Errorf("the last key after the move to free: revokedAt %v reason %q, want plan_limit", k.RevokedAt, k.RevokedReason)
	}
	c.expectProblem(http.StatusConflict, "INVALID_STATE", http.MethodPost, keys+"/"+live.ID+"/regenerate", nil) // revoked for good

	// Back on professional the revoked keys stay revoked; a new one fits.
	e.setPlan(t, o.ID, "professional")
	liveKey.expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodGet, creds, nil)
	var fresh keyWire
	c.expect(http.StatusCreated, http.MethodPost, keys, map[string]any{"name": "after the downgrade"}, &fresh)
	e.as(t, fresh.Secret).expect(http.StatusOK, http.MethodGet, creds, nil, nil)
	// Setting the same plan again revokes nothing.
	e.setPlan(t, o.ID, "professional")
	e.as(t, fresh.Secret).expect(http.StatusOK, http.MethodGet, creds, nil, nil)
}
