package httpapi

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/credence-dev/credence/ports"
)

// browser speaks to a test server as a browser does: it keeps the cookies
// it is given and posts forms with the CSRF token of the last page.
type browser struct {
	s       *testServer
	cookies map[string]*http.Cookie
	csrf    string // the token of the last page's forms
	ip      string
}

func (s *testServer) browser() *browser {
	return &browser{s: s, cookies: map[string]*http.Cookie{}, ip: "198.51.100.7"}
}

var csrfFieldRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// send sends a request with the browser's cookies, keeps the cookies of
// the answer and the CSRF token of its forms; header holds more names and
// values.
func (b *browser) send(method, path string, form url.Values, header ...string) *httptest.ResponseRecorder {
	b.s.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequestWithContext(b.s.t.Context(), method, path, body)
	req.RemoteAddr = b.ip + ":40000"
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range b.cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	b.s.h.ServeHTTP(w, req)
	for _, c := range w.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	if m := csrfFieldRE.FindStringSubmatch(w.Body.String()); m != nil {
		b.csrf = m[1]
	}
	return w
}

func (b *browser) get(path string, header ...string) *httptest.ResponseRecorder {
	b.s.t.Helper()
	return b.send(http.MethodGet, path, nil, header...)
}

// post posts form with the last page's CSRF token, unless form has one.
func (b *browser) post(path string, form url.Values, header ...string) *httptest.ResponseRecorder {
	b.s.t.Helper()
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.csrf)
	}
	return b.send(http.MethodPost, path, form, header...)
}

// signIn signs email in through the pages (no MFA) and requires the way
// to next.
func (b *browser) signIn(email, next string) {
	b.s.t.Helper()
	b.get("/signin?next=" + url.QueryEscape(next))
	w := b.post("/signin", url.Values{"email": {email}, "password": {testPassphrase}, "next": {next}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != next {
		b.s.t.Fatalf("sign-in: %d %v %s", w.Code, w.Header(), w.Body)
	}
}

func wantPage(t *testing.T, w *httptest.ResponseRecorder, status int, text string) {
	t.Helper()
	if w.Code != status || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") || !strings.Contains(w.Body.String(), text) {
		t.Fatalf("want a %d page saying %q, got %d %s: %s", status, text, w.Code, w.Header().Get("Content-Type"), w.Body)
	}
}

// A sign-in through the page opens a session of the API's store, carried
// in an HttpOnly, SameSite=Lax cookie (Secure when the public URL is
// https) with the device token beside it; the pages see the person, the
// JSON API does not take the cookie; signing out ends the session.
func TestBrowserSessionCookies(t *testing.T) {
	for _, secure := range []bool{false, true} {
		s := newTestServerWith(t, Limits{AuthIP: ports.Limit{Rate: 1000, Period: time.Minute}}, func(d *Deps) { d.SecureCookies = secure })
		u := s.signUp(uniqueEmail("cookie"))
		b := s.browser()
		b.signIn(u.Email, "/me")
		for _, name := range []string{sessionCookie, deviceCookie, formCookie} {
			c := b.cookies[name]
			if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure != secure {
				t.Fatalf("secure=%v: cookie %s: %+v", secure, name, c)
			}
		}
		if !strings.HasPrefix(b.cookies[sessionCookie].Value, "crs_") {
			t.Fatalf("the session cookie holds no session token: %q", b.cookies[sessionCookie].Value)
		}
		// The cookie's session is one of the user's sessions, as the API
		// lists them.
		var sessions struct {
			Items []struct{ ID string } `json:"items"`
		}
		s.expect(http.StatusOK, http.MethodGet, "/api/v1/me/sessions", u.Token, nil, &sessions)
		if len(sessions.Items) != 2 {
			t.Fatalf("sessions after a page sign-in: %+v, want the API's and the page's", sessions.Items)
		}
		wantPage(t, b.get("/me"), http.StatusOK, u.Email)
		if w := b.get("/api/v1/me"); w.Code != http.StatusUnauthorized {
			t.Fatalf("the JSON API took the session cookie: %d %s", w.Code, w.Body)
		}
		session := b.cookies[sessionCookie].Value
		s.expect(http.StatusOK, http.MethodGet, "/api/v1/me", session, nil, nil) // the same token as a bearer works
		w := b.post("/signout", url.Values{})
		if w.Code != http.StatusSeeOther || b.cookies[sessionCookie] != nil || b.cookies[deviceCookie] == nil {
			t.Fatalf("sign-out: %d, cookies %v", w.Code, b.cookies)
		}
		s.expectProblem(http.StatusUnauthorized, "UNAUTHENTICATED", http.MethodGet, "/api/v1/me", session, nil)
		// A cookie whose session ended elsewhere is dropped on the way to
		// sign in.
		b.cookies[sessionCookie] = &http.Cookie{Name: sessionCookie, Value: session}
		if w := b.get("/me"); w.Code != http.StatusSeeOther || b.cookies[sessionCookie] != nil {
			t.Fatalf("/me with an ended session: %d, cookies %v", w.Code, b.cookies)
		}
		if w := b.get("/me"); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/signin?next=%2Fme" {
			t.Fatalf("/me signed out: %d %v", w.Code, w.Header())
		}
	}
}

// Every form is refused with a 403 page, its action not taken, unless it
// carries the token of the browser's own cookies and, when the browser
// says where it was sent from, comes from this site.
func TestFormsRefuseCrossSiteRequests(t *testing.T) {
	s := newTestServer(t)
	u := s.signUp(uniqueEmail("csrf"))
	b := s.browser()
	b.signIn(u.Email, "/me")
	b.get("/me")
	good := b.csrf
	other := s.browser()
	other.get("/signin") // another browser's cookies and token

	for _, c := range []struct {
		name   string
		form   url.Values
		header []string
	}{
		{"no token", url.Values{"csrf": {""}}, nil},
		{"a wrong token", url.Values{"csrf": {"AAAA" + good[4:]}}, nil},
		{"another browser's token", url.Values{"csrf": {other.csrf}}, nil},
		{"cross-site fetch", url.Values{}, []string{"Sec-Fetch-Site", "cross-site"}},
		{"same-site fetch (a sibling subdomain)", url.Values{}, []string{"Sec-Fetch-Site", "same-site"}},
		{"another origin", url.Values{}, []string{"Origin", "https://evil.example"}},
		{"an opaque origin", url.Values{}, []string{"Origin", "null"}},
	} {
		w := b.post("/signout", c.form, c.header...)
		wantPage(t, w, http.StatusForbidden, "Form refused")
		if b.cookies[sessionCookie] == nil {
			t.Fatalf("%s: the session cookie was dropped", c.name)
		}
		wantPage(t, b.get("/me"), http.StatusOK, u.Email) // still signed in
	}
	// A form cookie and token an attacker got for themselves and planted
	// in the victim's browser (a sibling subdomain can set cookies) do
	// not work with the victim's session: the token is bound to it.
	planted := *other.cookies[formCookie]
	own := b.cookies[formCookie]
	b.cookies[formCookie] = &planted
	wantPage(t, b.post("/signout", url.Values{"csrf": {other.csrf}}), http.StatusForbidden, "Form refused")
	b.cookies[formCookie] = own
	b.get("/me")
	// Every form of the pages is guarded, signed in or not.
	anon := s.browser()
	for _, path := range []string{"/signin", "/signin/code", "/signup", "/forgot-password", "/retrieve", "/reset-password", "/verify-email", "/me/claim", "/signout"} {
		wantPage(t, anon.send(http.MethodPost, path, url.Values{"email": {u.Email}}), http.StatusForbidden, "Form refused")
	}
	// The same form from this site's origin goes through; so does one a
	// browser sends with "Origin: null" because the page's
	// Referrer-Policy is no-referrer (Chromium does), when it says
	// Sec-Fetch-Site: same-origin.
	w := b.post("/me/claim", url.Values{"credential": {"CRD-00000000"}}, "Origin", "null", "Sec-Fetch-Site", "same-origin")
	if strings.Contains(w.Body.String(), "Form refused") {
		t.Fatalf("a same-origin form with Origin: null was refused: %d %s", w.Code, w.Body)
	}
	b.get("/me")
	w = b.post("/signout", url.Values{}, "Origin", "https://credence.test", "Sec-Fetch-Site", "same-origin")
	if w.Code != http.StatusSeeOther {
		t.Fatalf("same-origin sign-out: %d %s", w.Code, w.Body)
	}
}

// A sign-in through the pages asks for the mailed code when the account
// has codes on; a wrong code is refused with a message; the right one
// opens the session and goes where the person was going.
func TestPageSignInWithCode(t *testing.T) {
	s := newTestServer(t)
	u := s.signUp(uniqueEmail("pagemfa"))
	s.expect(http.StatusOK, http.MethodPut, "/api/v1/me/mfa", u.Token, map[string]bool{"enabled": true}, nil)
	b := s.browser()
	b.get("/signin?next=%2Fretrieve")
	w := b.post("/signin", url.Values{"email": {u.Email}, "password": {testPassphrase}, "next": {"/retrieve"}})
	wantPage(t, w, http.StatusOK, `name="code"`)
	if b.cookies[sessionCookie] != nil {
		t.Fatal("a session before the code")
	}
	challenge := regexp.MustCompile(`name="challenge" value="([^"]+)"`).FindStringSubmatch(w.Body.String())
	code := mailedCode(t, s.mail(u.Email, "sign-in code").Text)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	wantPage(t, b.post("/signin/code", url.Values{"challenge": {challenge[1]}, "code": {wrong}, "next": {"/retrieve"}}),
		http.StatusUnauthorized, "That code is wrong or has expired")
	w = b.post("/signin/code", url.Values{"challenge": {challenge[1]}, "code": {code}, "next": {"/retrieve"}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/retrieve" || b.cookies[sessionCookie] == nil {
		t.Fatalf("sign-in with the code: %d %v", w.Code, w.Header())
	}
	wantPage(t, b.get("/me"), http.StatusOK, u.Email)
}

// The sign-in page tells what went wrong as its API twin does, with its
// status: a wrong password 401, an unverified email 403, a lock-out 423
// with Retry-After; and the browser that signed in before is not locked
// out (its device cookie).
func TestPageSignInErrors(t *testing.T) {
	s := newTestServer(t)
	u := s.signUp(uniqueEmail("pageerr"))
	known := s.browser()
	known.signIn(u.Email, "/me")

	b := s.browser()
	b.ip = "203.0.113.50"
	b.get("/signin")
	for i := 0; i < 5; i++ {
		w := b.post("/signin", url.Values{"email": {u.Email}, "password": {"not the password"}})
		if i < 4 {
			wantPage(t, w, http.StatusUnauthorized, "The email or password is wrong.")
		} else {
			wantPage(t, w, http.StatusLocked, "this account is locked until")
			if w.Header().Get("Retry-After") == "" {
				t.Fatal("423 without Retry-After")
			}
		}
	}
	wantPage(t, b.post("/signin", url.Values{"email": {u.Email}, "password": {testPassphrase}}), http.StatusLocked, "locked")
	// The browser that signed in before still can.
	known.get("/signin")
	if w := known.post("/signin", url.Values{"email": {u.Email}, "password": {testPassphrase}, "next": {"/me"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("a known browser during a lock-out: %d %s", w.Code, w.Body)
	}

	pending := uniqueEmail("pending")
	s.expect(http.StatusCreated, http.MethodPost, "/api/v1/auth/signup", "", map[string]string{"email": pending, "password": testPassphrase, "name": "P"}, nil)
	wantPage(t, b.post("/signin", url.Values{"email": {pending}, "password": {testPassphrase}}), http.StatusForbidden, "not verified yet")
}

// After signing in the browser goes back to a path of this site only:
// never to another site, however the address is dressed up.
func TestSignInRefusesOpenRedirects(t *testing.T) {
	s := newTestServer(t)
	u := s.signUp(uniqueEmail("redirect"))
	for next, want := range map[string]string{
		"/verify/CRD-ABCDEFGH?x=1":    "/verify/CRD-ABCDEFGH?x=1",
		"//evil.example/":             "/me",
		"https://evil.example/":       "/me",
		"/\\evil.example":             "/me",
		"javascript:alert(1)":         "/me",
		"/%0a/evil":                   "/%0a/evil",
		"/\t/evil.example":            "/me",
		"":                            "/me",
		"evil.example":                "/me",
		"https:/evil.example":         "/me",
		"/ok/../..//evil.example/x?y": "/evil.example/x?y", // http.Redirect cleans the path
	} {
		b := s.browser()
		b.get("/signin")
		w := b.post("/signin", url.Values{"email": {u.Email}, "password": {testPassphrase}, "next": {next}})
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != want {
			t.Errorf("next=%q: %d to %q, want %q", next, w.Code, w.Header().Get("Location"), want)
		}
	}
}

// localPath's answer, whatever it is given, resolves to this site.
func FuzzLocalPath(f *testing.F) {
	for _, seed := range []string{"/me", "//evil.example", "/\\evil", "https://x", "/a?b=c#d", "/%2F%2Fevil", "/\x00", "", "/ /x"} {
		f.Add(seed)
	}
	base, _ := url.Parse("https://credence.test/signin")
	f.Fuzz(func(t *testing.T, next string) {
		got := localPath(next)
		if got != "/me" && got != next {
			t.Fatalf("localPath(%q) = %q", next, got)
		}
		u, err := base.Parse(got)
		if err != nil || u.Host != "credence.test" || u.Scheme != "https" {
			t.Fatalf("localPath(%q) = %q leads to %v (%v)", next, got, u, err)
		}
	})
}

// "My credentials" lists what was issued to the signed-in email; its
// claim button claims, and the claim rules are told as sentences: twice
// is ALREADY_CLAIMED (409), another email's is EMAIL_MISMATCH (403).
// "Download all" holds each credential's signed file and its JSON.
func TestMyCredentialsPage(t *testing.T) {
	s := newTestServer(t)
	owner, o := s.newIssuer("")
	badge := s.createBadge(owner.Token, o.ID, 0)
	u := s.signUp(uniqueEmail("holder"))
	c1 := s.issue(owner.Token, o.ID, badge.ID, u.Email)
	badge2 := s.createBadge(owner.Token, o.ID, 30)
	c2 := s.issue(owner.Token, o.ID, badge2.ID, u.Email)
	elsewhere := s.issue(owner.Token, o.ID, badge.ID, uniqueEmail("someone"))

	b := s.browser()
	b.signIn(u.Email, "/me")
	page := b.get("/me")
	wantPage(t, page, http.StatusOK, badge.Name)
	for _, want := range []string{badge2.Name, c1.ID, c2.ID, "Claim " + c1.ID, "/me/credentials.zip", "Public: anyone with the link"} {
		if !strings.Contains(page.Body.String(), want) {
			t.Errorf("/me lacks %q", want)
		}
	}
	if strings.Contains(page.Body.String(), elsewhere.ID) {
		t.Errorf("/me lists a credential of another email")
	}

	w := b.post("/me/claim", url.Values{"credential": {c1.ID}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/me?claimed="+c1.ID {
		t.Fatalf("claim: %d %v %s", w.Code, w.Header(), w.Body)
	}
	after := b.get("/me?claimed=" + c1.ID)
	wantPage(t, after, http.StatusOK, "You claimed "+c1.ID)
	if strings.Contains(after.Body.String(), "Claim "+c1.ID) || !strings.Contains(after.Body.String(), "Claim "+c2.ID) {
		t.Errorf("claim buttons after claiming %s: %s", c1.ID, after.Body)
	}
	var got testCredential
	s.expect(http.StatusOK, http.MethodGet, "/api/v1/orgs/"+o.ID+"/credentials/"+c1.ID, owner.Token, nil, &got)
	if got.Status != "valid" {
		t.Fatalf("claimed through the page: %s", got.Status)
	}
	wantPage(t, b.post("/me/claim", url.Values{"credential": {c1.ID}}), http.StatusConflict, "You have already claimed this credential.")
	wantPage(t, b.post("/me/claim", url.Values{"credential": {elsewhere.ID}}), http.StatusForbidden, "issued to another email address")

	zw := b.get("/me/credentials.zip")
	if zw.Code != http.StatusOK || zw.Header().Get("Content-Type") != "application/zip" {
		t.Fatalf("download all: %d %v", zw.Code, zw.Header())
	}
	zr, err := zip.NewReader(bytes.NewReader(zw.Body.Bytes()), int64(zw.Body.Len()))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		_ = rc.Close()
		files[f.Name] = string(data)
	}
	if len(files) != 4 {
		t.Fatalf("zip holds %d files, want 4: %v", len(files), keys(files))
	}
	for _, c := range []testCredential{c1, c2} {
		if files[c.ID+".jwt"] != c.JWT {
			t.Errorf("%s.jwt is not the signed credential", c.ID)
		}
		var doc struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(files[c.ID+".json"]), &doc); err != nil || !strings.HasSuffix(doc.ID, "/credentials/"+c.ID) {
			t.Errorf("%s.json: %v %s", c.ID, err, files[c.ID+".json"])
		}
	}
	// A visitor is sent to sign in first.
	if w := s.browser().get("/me/credentials.zip"); w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/signin?next=") {
		t.Fatalf("download all, signed out: %d %v", w.Code, w.Header())
	}
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Retrieve answers 202 with the same body for every address, mails the
// links only to an address that holds credentials, and is limited per
// client address like the other mail requests; the page does the same.
func TestRetrieveCredentials(t *testing.T) {
	s := newTestServerWith(t, Limits{AuthIP: ports.Limit{Rate: 1000, Period: 15 * time.Minute}})
	owner, o := s.newIssuer("")
	badge := s.createBadge(owner.Token, o.ID, 0)
	holder, ghost := uniqueEmail("holder"), uniqueEmail("ghost")
	c := s.issue(owner.Token, o.ID, badge.ID, holder)

	none := s.do(http.MethodPost, "/api/v1/recipients/retrieve", "", map[string]string{"email": ghost})
	some := s.do(http.MethodPost, "/api/v1/recipients/retrieve", "", map[string]string{"email": strings.ToUpper(holder)})
	if none.Code != http.StatusAccepted || some.Code != http.StatusAccepted || none.Body.String() != some.Body.String() {
		t.Fatalf("retrieve: %d %s / %d %s", none.Code, none.Body, some.Code, some.Body)
	}
	m := s.mail(holder, "Your Credence credentials")
	if !strings.Contains(m.Text, "https://credence.test/verify/"+c.ID) || !strings.Contains(m.Text, badge.Name) {
		t.Fatalf("retrieve mail:\n%s", m.Text)
	}
	if !strings.Contains(m.HTML, "/verify/"+c.ID) {
		t.Fatalf("retrieve mail without its HTML links")
	}
	// The ghost's mail, asked first, was dropped: nothing reached it.
	if s.mailCount(holder) == 0 {
		t.Fatal("mailCount finds no mail to the holder")
	}
	if s.mailCount(ghost) != 0 {
		t.Fatal("a retrieve mail went to an address holding no credentials")
	}
	s.expectProblem(http.StatusUnprocessableEntity, "VALIDATION_FAILED", http.MethodPost, "/api/v1/recipients/retrieve", "", map[string]string{"email": "not an email"})

	// The page.
	b := s.browser()
	b.get("/retrieve")
	wantPage(t, b.post("/retrieve", url.Values{"email": {ghost}}), http.StatusAccepted, "a mail with their links is on its way")

	// 3 requests per client address here: the fourth is 429 with
	// Retry-After, from the API and from the page.
	limited := newTestServerWith(t, Limits{AuthIP: ports.Limit{Rate: 3, Period: 15 * time.Minute}})
	for range 3 {
		limited.expect(http.StatusAccepted, http.MethodPost, "/api/v1/recipients/retrieve", "", map[string]string{"email": uniqueEmail("x")}, nil)
	}
	w := limited.do(http.MethodPost, "/api/v1/recipients/retrieve", "", map[string]string{"email": uniqueEmail("x")})
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Fatalf("fourth retrieve: %d %v", w.Code, w.Header())
	}
	lb := limited.browser()
	lb.get("/retrieve")
	page := lb.post("/retrieve", url.Values{"email": {uniqueEmail("x")}})
	wantPage(t, page, http.StatusTooManyRequests, "Too many attempts from here")
	if page.Header().Get("Retry-After") == "" {
		t.Fatal("429 page without Retry-After")
	}
}

// mailCount counts the mails delivered to address so far.
func (s *testServer) mailCount(address string) int {
	s.t.Helper()
	entries, _ := os.ReadDir(s.mailDir)
	n := 0
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(s.mailDir, e.Name()))
		if err == nil && strings.HasSuffix(e.Name(), ".eml") && bytes.Contains(raw, []byte("To: "+address+"\r\n")) {
			n++
		}
	}
	return n
}

// A person signs up, verifies the email, forgets the password and sets a
// new one through the pages alone; a refused field is shown beside it
// with the API's 422; every page is framed by the layout.
func TestPagesSignUpVerifyAndReset(t *testing.T) {
	s := newTestServer(t)
	email := uniqueEmail("pages")
	b := s.browser()
	b.get("/signup")
	w := b.post("/signup", url.Values{"name": {"Page Person"}, "email": {email}, "password": {"password1234"}})
	wantPage(t, w, http.StatusUnprocessableEntity, "common password")
	if !strings.Contains(w.Body.String(), `value="`+email+`"`) {
		t.Errorf("the refused sign-up form lost the email")
	}
	wantPage(t, b.post("/signup", url.Values{"name": {"Page Person"}, "email": {email}, "password": {testPassphrase}}), http.StatusCreated, "Check your inbox")

	token := verifyTokenRE.FindStringSubmatch(s.mail(email, "Verify your email").Text)[1]
	wantPage(t, b.get("/verify-email?token="+token), http.StatusOK, "Verify my email")
	wantPage(t, b.post("/verify-email", url.Values{"token": {token}}), http.StatusOK, "Your email is verified")

	b.get("/forgot-password")
	wantPage(t, b.post("/forgot-password", url.Values{"email": {email}}), http.StatusAccepted, "a link to choose a new password is on its way")
	reset := regexp.MustCompile(`/reset-password\?token=([A-Za-z0-9_-]+)`).FindStringSubmatch(s.mail(email, "Reset your Credence password").Text)
	page := b.get("/reset-password?token=" + reset[1])
	wantPage(t, page, http.StatusOK, `name="password"`)
	if !strings.Contains(page.Body.String(), `<header class="site">`) {
		t.Errorf("the reset page is not in the layout")
	}
	wantPage(t, b.post("/reset-password", url.Values{"token": {reset[1]}, "password": {"password1234"}}), http.StatusUnprocessableEntity, "common password")
	const fresh = "a fresh page passphrase"
	wantPage(t, b.post("/reset-password", url.Values{"token": {reset[1]}, "password": {fresh}}), http.StatusOK, "Your password is changed")
	wantPage(t, b.post("/reset-password", url.Values{"token": {reset[1]}, "password": {fresh + "!"}}), http.StatusBadRequest, "This link cannot be used")

	b.get("/signin")
	if w := b.post("/signin", url.Values{"email": {email}, "password": {fresh}, "next": {"/me"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("sign-in with the new password: %d %s", w.Code, w.Body)
	}
	me := b.get("/me")
	wantPage(t, me, http.StatusOK, "No credential was issued to "+email)
	if !strings.Contains(me.Body.String(), `action="/signout"`) {
		t.Errorf("signed in, the navigation offers no sign-out")
	}
}

// When the session cannot be looked up at all (the database is down),
// a page says the service is unavailable: it neither signs the person
// out (the session may be fine) nor shows a credential as private.
func TestPagesSayUnavailableWhenTheSessionCannotBeRead(t *testing.T) {
	s := newTestServer(t)
	u := s.signUp(uniqueEmail("blip"))
	b := s.browser()
	b.signIn(u.Email, "/me")
	wantPage(t, b.get("/me"), http.StatusOK, u.Email)
	s.sessionsDown.Store(true)
	for _, path := range []string{"/me", "/me/credentials.zip", "/verify/CRD-AAAAAAAA"} {
		w := b.get(path)
		wantPage(t, w, http.StatusServiceUnavailable, unavailablePage)
		for _, c := range w.Result().Cookies() {
			if c.Name == sessionCookie {
				t.Fatalf("%s: the session cookie was touched: %+v", path, c)
			}
		}
	}
}
