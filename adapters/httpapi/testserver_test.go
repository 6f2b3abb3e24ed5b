package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credence-dev/credence/adapters/filemail"
	"github.com/credence-dev/credence/adapters/jsonld"
	"github.com/credence-dev/credence/adapters/mailhtml"
	"github.com/credence-dev/credence/adapters/memlimit"
	"github.com/credence-dev/credence/adapters/memqueue"
	"github.com/credence-dev/credence/adapters/sqlstore"
	"github.com/credence-dev/credence/adapters/sysclock"
	"github.com/credence-dev/credence/adapters/webhooksend"
	"github.com/credence-dev/credence/contract-tests/harness"
	"github.com/credence-dev/credence/contract-tests/mailer"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/platform"
	"github.com/credence-dev/credence/core/signing"
	"github.com/credence-dev/credence/core/webhooks"
	"github.com/credence-dev/credence/ports"
)

// testAdminEmail is the platform administrator of every test server.
const testAdminEmail = "admin@credence.test"

// testPlan is a plan of the test servers beside the built-in ones, small
// enough to reach its caps: 2 new recipients a month, 2 badges.
const testPlan = "trial"

// testServer is the whole HTTP API (New, the edge included) over a fresh
// SQLite store, with the in-process queue and limiter and the mail
// written into a temporary folder. Tests speak to it as a client does.
type testServer struct {
	t       testing.TB
	h       http.Handler
	mailDir string
	// store is the server's store, for tests that tamper with a record
	// behind the API's back.
	store *sqlstore.Store
	// lookups counts the bearer tokens looked up (sessions and API keys by
	// hash).
	lookups *atomic.Int64
	// sessionsDown makes session lookups fail as in an outage.
	sessionsDown *atomic.Bool
	// platform is the core behind the server, for tests that run its
	// sweep (platform.Dispatcher.Sweep).
	platform *platform.Platform

	adminOnce  sync.Once
	adminToken string
}

// newTestServer assembles the core with core/platform, as
// apps/internal/app.Open does: SQLite, memqueue running the work,
// memlimit, filemail into a temporary folder.
func newTestServer(t testing.TB) *testServer {
	t.Helper()
	return newTestServerWith(t, testLimits)
}

// testLimits are the rate limits of newTestServer: far above what a test
// sends, except where a test sets its own.
var testLimits = Limits{IP: ports.Limit{Rate: 100000, Period: time.Minute}, Key: ports.Limit{Rate: 1000, Period: time.Minute},
	AuthIP: ports.Limit{Rate: 1000, Period: 15 * time.Minute}}

// newClockedTestServer is newTestServer on clock: a test moves time on
// (an expiry, a retry schedule) without waiting for it.
func newClockedTestServer(t testing.TB, clock ports.Clock) *testServer {
	t.Helper()
	return newTestServerAt(t, testLimits, clock)
}

// newTestServerWith is newTestServer with limits, and the Deps changed
// by each of more.
func newTestServerWith(t testing.TB, limits Limits, more ...func(*Deps)) *testServer {
	t.Helper()
	return newTestServerAt(t, limits, sysclock.Clock{}, more...)
}

// newTestServerAt is newTestServerWith on clock (a fakeClock moves time on).
func newTestServerAt(t testing.TB, limits Limits, clock ports.Clock, more ...func(*Deps)) *testServer {
	t.Helper()
	ctx := t.Context()
	log := slog.New(slog.DiscardHandler)
	store, err := sqlstore.Open(ctx, harness.FreshSQLitePath(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	lookups := &atomic.Int64{}
	sessionsDown := &atomic.Bool{}
	counted := countedStore{Store: store, lookups: lookups, down: sessionsDown}
	cipher, err := signing.NewCipher(randomKey(t))
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := signing.NewCipher(randomKey(t))
	if err != nil {
		t.Fatal(err)
	}
	mailDir := filepath.Join(t.TempDir(), "mail")
	files, err := filemail.New(mailDir, "Credence <noreply@credence.test>", log)
	if err != nil {
		t.Fatal(err)
	}
	mailer := mailhtml.Wrap(files, log)
	queue := memqueue.New(memqueue.Options{Log: log})
	limiter := memlimit.New(memlimit.Options{Clock: clock})
	plans := domain.DefaultPlans()
	plans[testPlan] = domain.Plan{MonthlyRecipients: 2, BadgeTemplates: 2, Owners: 1}
	public, _ := url.Parse("https://credence.test")

	canon, err := jsonld.New()
	if err != nil {
		t.Fatal(err)
	}
	// Webhooks reach the tests' receivers on loopback.
	sender := webhooksend.New(webhooksend.Options{AllowPrivate: true, Timeout: 2 * time.Second})
	p, err := platform.New(platform.Deps{Store: counted, Queue: queue, Mailer: mailer, Cipher: cipher, Clock: clock, Log: log, Canonicalizer: canon, Terms: canon,
		Webhooks: sender},
		platform.Options{PublicURL: public, AdminEmails: []string{testAdminEmail}, Plans: plans, Webhooks: webhooks.Options{AllowHTTP: true}})
	if err != nil {
		t.Fatal(err)
	}
	p.Register(queue)
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { defer close(done); _ = queue.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })

	deps := Deps{Accounts: p.Accounts, Orgs: p.Orgs, Badges: p.Badges, Images: p.Images, Credentials: p.Credentials, Bulk: p.Bulk, VCAPI: p.VCAPI, Webhooks: p.Webhooks,
		Clock: clock, Ready: store.Ping, Log: log, Limiter: limiter,
		Limits:      limits,
		Idempotency: store.Idempotency(), Sealer: sealer, PublicURL: public}
	for _, f := range more {
		f(&deps)
	}
	h := New(deps)
	return &testServer{t: t, h: h, mailDir: mailDir, lookups: lookups, store: store, sessionsDown: sessionsDown, platform: p}
}

func randomKey(t testing.TB) []byte {
	k := make([]byte, signing.MasterKeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// countedStore counts the token lookups of the store it wraps; while
// down is set, session lookups fail as in an outage.
type countedStore struct {
	ports.Store
	lookups *atomic.Int64
	down    *atomic.Bool
}

func (s countedStore) Sessions() ports.Sessions {
	return countedSessions{Sessions: s.Store.Sessions(), lookups: s.lookups, down: s.down}
}

func (s countedStore) APIKeys() ports.APIKeys {
	return countedAPIKeys{APIKeys: s.Store.APIKeys(), lookups: s.lookups}
}

type countedSessions struct {
	ports.Sessions
	lookups *atomic.Int64
	down    *atomic.Bool
}

func (s countedSessions) GetByHash(ctx context.Context, hash []byte) (domain.Session, error) {
	s.lookups.Add(1)
	if s.down.Load() {
		return domain.Session{}, ports.ErrUnavailable
	}
	return s.Sessions.GetByHash(ctx, hash)
}

type countedAPIKeys struct {
	ports.APIKeys
	lookups *atomic.Int64
}

func (k countedAPIKeys) GetByHash(ctx context.Context, hash []byte) (domain.APIKey, error) {
	k.lookups.Add(1)
	return k.APIKeys.GetByHash(ctx, hash)
}

// multipartBody is a request body sent as multipart/form-data.
type multipartBody struct {
	contentType string
	data        []byte
}

// csvUpload is the bulk upload form of a CSV file.
func csvUpload(t *testing.T, badgeID, name, csv string) multipartBody {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := mw.WriteField("badgeId", badgeID); err != nil {
		t.Fatal(err)
	}
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(fw, csv)
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return multipartBody{contentType: mw.FormDataContentType(), data: buf.Bytes()}
}

// do sends one request as token ("": none) and returns the answer. body
// is sent as JSON, unless it is a string (raw JSON), a multipartBody or
// nil; header holds more names and values.
func (s *testServer) do(method, path, token string, body any, header ...string) *httptest.ResponseRecorder {
	s.t.Helper()
	var r io.Reader
	contentType := ""
	switch b := body.(type) {
	case nil:
	case string:
		r, contentType = strings.NewReader(b), "application/json"
	case multipartBody:
		r, contentType = bytes.NewReader(b.data), b.contentType
	default:
		js, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		r, contentType = bytes.NewReader(js), "application/json"
	}
	req := httptest.NewRequestWithContext(s.t.Context(), method, path, r)
	req.RemoteAddr = "198.51.100.7:40000"
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, req)
	return w
}

// expect sends a request, requires status and decodes the JSON answer
// into out (nil: not decoded).
func (s *testServer) expect(status int, method, path, token string, body, out any) *httptest.ResponseRecorder {
	s.t.Helper()
	w := s.do(method, path, token, body)
	if w.Code != status {
		s.t.Fatalf("%s %s: %d, want %d: %s", method, path, w.Code, status, w.Body)
	}
	if out != nil {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			s.t.Fatalf("%s %s: decode %s: %v", method, path, w.Body, err)
		}
	}
	return w
}

// expectProblem sends a request and requires a problem answer.
func (s *testServer) expectProblem(status int, code, method, path, token string, body any) Problem {
	s.t.Helper()
	w := s.do(method, path, token, body)
	if w.Code != status {
		s.t.Fatalf("%s %s: %d, want %d %s: %s", method, path, w.Code, status, code, w.Body)
	}
	return wantProblem(s.t, w, status, code)
}

var (
	testSeq         atomic.Int64
	verifyTokenRE   = regexp.MustCompile(`/verify-email\?token=([A-Za-z0-9_-]+)`)
	testRunID       = fmt.Sprintf("%x", time.Now().UnixNano()&0xffffff)
	testPassphrase  = "correct horse battery staple"
	mailPollTimeout = 10 * time.Second
)

// uniqueName is a name no other test uses.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s %s %d", prefix, testRunID, testSeq.Add(1))
}

// uniqueEmail is an address no other test uses.
func uniqueEmail(prefix string) string {
	return fmt.Sprintf("%s-%s-%d@example.com", prefix, testRunID, testSeq.Add(1))
}

// codeLine is a mailed sign-in code: six digits on a line of their own
// (a greeting may hold six digits too: testRunID can be all decimal).
var codeLine = regexp.MustCompile(`(?m)^\s+(\d{6})\s*$`)

// mailedCode returns the code of a sign-in code mail's text.
func mailedCode(t testing.TB, text string) string {
	t.Helper()
	m := codeLine.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no code in the mail:\n%s", text)
	}
	return m[1]
}

// mail waits for the newest mail to address whose subject holds subject.
func (s *testServer) mail(address, subject string) mailer.Message {
	s.t.Helper()
	deadline := time.Now().Add(mailPollTimeout)
	for {
		entries, _ := os.ReadDir(s.mailDir)
		for i := len(entries) - 1; i >= 0; i-- {
			if !strings.HasSuffix(entries[i].Name(), ".eml") {
				continue
			}
			raw, err := os.ReadFile(filepath.Join(s.mailDir, entries[i].Name()))
			if err != nil {
				continue
			}
			m := mailer.Parse(s.t, raw)
			to, err := mail.ParseAddress(m.Header.Get("To"))
			dec := new(mime.WordDecoder)
			subj, _ := dec.DecodeHeader(m.Header.Get("Subject"))
			if err == nil && to.Address == address && strings.Contains(subj, subject) {
				return m
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no mail to %s about %q within %s", address, subject, mailPollTimeout)
		}
		select {
		case <-s.t.Context().Done():
			s.t.Fatal(s.t.Context().Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// testUser is a signed-up, verified, signed-in account.
type testUser struct {
	Email, Token string
}

// signUp registers email, verifies it through the mailed link and signs
// in.
func (s *testServer) signUp(email string) testUser {
	s.t.Helper()
	s.expect(http.StatusCreated, http.MethodPost, "/api/v1/auth/signup", "",
		map[string]string{"email": email, "password": testPassphrase, "name": "Test " + strings.Split(email, "@")[0]}, nil)
	match := verifyTokenRE.FindStringSubmatch(s.mail(email, "Verify your email").Text)
	if match == nil {
		s.t.Fatalf("no verification link mailed to %s", email)
	}
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/auth/verify-email", "", map[string]string{"token": match[1]}, nil)
	return testUser{Email: email, Token: s.login(email)}
}

// login signs email in and returns the session token.
func (s *testServer) login(email string) string {
	s.t.Helper()
	var out struct {
		Token string `json:"token"`
	}
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": email, "password": testPassphrase}, &out)
	return out.Token
}

// admin returns a session of the platform administrator.
func (s *testServer) admin() string {
	s.adminOnce.Do(func() { s.adminToken = s.signUp(testAdminEmail).Token })
	return s.adminToken
}

// testOrg is an organization as the API answers it.
type testOrg struct {
	ID       string `json:"id"`
	Slug     string `json:"slug"`
	Status   string `json:"status"`
	Plan     string `json:"plan"`
	Role     string `json:"role"`
	IssuerID string `json:"issuerId"`
}

// newIssuer signs a new owner up, creates an organization on plan, has
// the administrator approve it and generates its signing key.
func (s *testServer) newIssuer(plan string) (testUser, testOrg) {
	s.t.Helper()
	owner := s.signUp(uniqueEmail("owner"))
	var o testOrg
	s.expect(http.StatusCreated, http.MethodPost, "/api/v1/orgs", owner.Token, map[string]string{"name": uniqueName("Academy")}, &o)
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/admin/orgs/"+o.ID+"/approve", s.admin(), nil, nil)
	if plan != "" && plan != string(domain.PlanFree) {
		s.expect(http.StatusOK, http.MethodPut, "/api/v1/admin/orgs/"+o.ID+"/plan", s.admin(), map[string]string{"plan": plan}, nil)
	}
	s.expect(http.StatusCreated, http.MethodPost, "/api/v1/orgs/"+o.ID+"/signing-keys", owner.Token, nil, nil)
	o.Status, o.Plan = "approved", plan
	return owner, o
}

// join invites a new user to orgID with role and has them accept.
func (s *testServer) join(ownerToken, orgID string, role domain.Role) testUser {
	s.t.Helper()
	u := s.signUp(uniqueEmail(string(role)))
	var inv struct {
		ID string `json:"id"`
	}
	s.expect(http.StatusCreated, http.MethodPost, "/api/v1/orgs/"+orgID+"/members", ownerToken, map[string]string{"email": u.Email, "role": string(role)}, &inv)
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/invitations/"+inv.ID+"/accept", u.Token, nil, nil)
	return u
}

// testBadge is a badge as the API answers it.
type testBadge struct {
	ID             string `json:"id"`
	Slug           string `json:"slug"`
	Name           string `json:"name"`
	IsActive       bool   `json:"isActive"`
	Locked         bool   `json:"locked"`
	ExpiresInDays  *int   `json:"expiresInDays"`
	AchievementURL string `json:"achievementUrl"`
}

// createBadge creates a badge of orgID (days > 0: its credentials expire).
func (s *testServer) createBadge(token, orgID string, days int) testBadge {
	s.t.Helper()
	body := map[string]any{"name": uniqueName("Badge"), "description": "d", "criteria": "c", "imageUrl": "https://issuer.example.com/b.png"}
	if days > 0 {
		body["expiresInDays"] = days
	}
	var b testBadge
	s.expect(http.StatusCreated, http.MethodPost, "/api/v1/orgs/"+orgID+"/badges", token, body, &b)
	return b
}

// testCredential is an issued credential as the API answers it.
type testCredential struct {
	ID                       string `json:"id"`
	Status                   string `json:"status"`
	State                    string `json:"state"`
	JWT                      string `json:"jwt"`
	Public                   bool   `json:"public"`
	KID                      string `json:"kid"`
	SupersedesCredentialID   string `json:"supersedesCredentialId"`
	SupersededByCredentialID string `json:"supersededByCredentialId"`
	RevokedAt                string `json:"revokedAt"`
	Recipient                struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"recipient"`
}

// issueBody is the body of issue-credential.
func issueBody(badgeID, email string) map[string]any {
	return map[string]any{"badgeId": badgeID, "recipient": map[string]string{"name": "Ada Lovelace", "email": email}}
}

// issue issues badgeID of orgID to email.
func (s *testServer) issue(token, orgID, badgeID, email string) testCredential {
	s.t.Helper()
	var c testCredential
	s.expect(http.StatusCreated, http.MethodPost, "/api/v1/orgs/"+orgID+"/credentials", token, issueBody(badgeID, email), &c)
	return c
}

// apiKey creates an API key of orgID (its plan must allow one) and
// returns its ID and secret.
func (s *testServer) apiKey(ownerToken, orgID, mode string) (id, secret string) {
	s.t.Helper()
	var k struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	s.expect(http.StatusCreated, http.MethodPost, "/api/v1/orgs/"+orgID+"/api-keys", ownerToken, map[string]string{"name": "key", "mode": mode}, &k)
	return k.ID, k.Secret
}

var credentialIDRE = regexp.MustCompile(`^CRD-[A-Z0-9]{8}$`)
