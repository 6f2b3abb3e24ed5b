package httpapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
)

// A visitor's page comes from the cache only while nothing it shows has
// changed: revoking the credential, its expiry passing (the clock alone
// moves) and the issuer's suspension (a check's detail) each show on the
// very next page or card, though the same page was answered from the
// cache just before.
func TestCachedCredentialPageIsNeverStale(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Now()}
	s := newClockedTestServer(t, clock)
	owner, o := s.newIssuer("professional")
	c := s.issue(owner.Token, o.ID, s.createBadge(owner.Token, o.ID, 0).ID, uniqueEmail("stale"))
	daily := s.issue(owner.Token, o.ID, s.createBadge(owner.Token, o.ID, 1).ID, uniqueEmail("stale"))

	// pageTwice opens a page twice (the second from the cache) and
	// requires the same bytes both times.
	pageTwice := func(path string) string {
		t.Helper()
		first := wantHTML(t, s.page(path, ""), http.StatusOK)
		if again := wantHTML(t, s.page(path, ""), http.StatusOK); again != first {
			t.Fatalf("%s: the page answered again differs from the first:\n%s\n---\n%s", path, first, again)
		}
		return first
	}
	cardLabel := func(body string) string {
		m := strings.SplitN(strings.SplitN(body, `<span class="pill `, 2)[1], `</span>`, 2)[0]
		return m[strings.Index(m, ">")+1:]
	}

	if class, _ := bannerOf(pageTwice("/verify/" + c.ID)); class != "pending" {
		t.Fatalf("banner %q before revocation, want pending", class)
	}
	if label := cardLabel(pageTwice("/verify/" + c.ID + "/card")); label != "Pending" {
		t.Fatalf("card says %q before revocation, want Pending", label)
	}
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/orgs/"+o.ID+"/credentials/"+c.ID+"/revoke", owner.Token,
		map[string]string{"reason": "Awarded in error"}, nil)
	body := pageTwice("/verify/" + c.ID)
	if class, text := bannerOf(body); class != "revoked" || !strings.Contains(text, "Awarded in error") {
		t.Errorf("after revocation: banner %q %q, want revoked with its reason", class, text)
	}
	if checkClass(body, "revocation") != "bad" {
		t.Errorf("after revocation: revocation check %q, want bad", checkClass(body, "revocation"))
	}
	if label := cardLabel(pageTwice("/verify/" + c.ID + "/card")); label != "Revoked" {
		t.Errorf("after revocation: card says %q, want Revoked", label)
	}

	if class, _ := bannerOf(pageTwice("/verify/" + daily.ID)); class != "pending" {
		t.Fatalf("banner %q before expiry, want pending", class)
	}
	clock.advance(25 * time.Hour)
	if class, _ := bannerOf(pageTwice("/verify/" + daily.ID)); class != "expired" {
		t.Errorf("after expiry: banner %q, want expired", class)
	}

	s.admin() // signed up before the clock moves; its session has expired since
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/admin/orgs/"+o.ID+"/suspend", s.login(testAdminEmail), map[string]string{"reason": "unpaid"}, nil)
	// A suspended issuer's earlier credentials stay valid: only the
	// check's detail says so.
	if body := pageTwice("/verify/" + c.ID); !strings.Contains(body, "is suspended and issues no new credentials") {
		t.Errorf("after the issuer's suspension: the issuer check does not say so:\n%s", body)
	}
}

// A signed-in person's page names them and carries their sign-out form:
// they never get the visitor's page from the cache, and a visitor never
// gets theirs, nor their token or a cookie, however the two alternate.
func TestCachedCredentialPageIsAVisitorsOnly(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer("")
	c := s.issue(owner.Token, o.ID, s.createBadge(owner.Token, o.ID, 0).ID, uniqueEmail("viewer"))
	path := "/verify/" + c.ID

	visitor := wantHTML(t, s.page(path, ""), http.StatusOK)
	b := s.browser()
	b.signIn(owner.Email, "/me")
	for range 2 {
		w := b.get(path, "Accept", browserAccept)
		body := wantHTML(t, w, http.StatusOK)
		if !strings.Contains(body, `action="/signout"`) || !strings.Contains(body, `value="`+b.csrf+`"`) || strings.Contains(body, `href="/signin"`) {
			t.Fatalf("signed in: the page is not theirs (no sign-out form with their token):\n%s", body)
		}
		again := s.page(path, "")
		if got := wantHTML(t, again, http.StatusOK); got != visitor {
			t.Fatalf("a visitor after a signed-in person: the page differs from the visitor's:\n%s", got)
		}
		if again.Header().Get("Set-Cookie") != "" {
			t.Errorf("a visitor's page sets a cookie: %s", again.Header().Get("Set-Cookie"))
		}
	}
	for _, leak := range []string{`name="csrf"`, `action="/signout"`, b.csrf} {
		if strings.Contains(visitor, leak) {
			t.Errorf("the visitor's page holds %q", leak)
		}
	}
}

// Only a visitor's page is kept: one naming a signed-in person, or
// carrying a form token, is rendered for its request alone.
func TestPageCacheKeepsNoSignedInPage(t *testing.T) {
	t.Parallel()
	s := newServer(Deps{Log: slog.New(slog.DiscardHandler)})
	open := func(actor domain.Actor) string {
		r := httptest.NewRequestWithContext(context.WithValue(t.Context(), callerKey{}, &caller{actor: actor}), http.MethodGet, "/verify/CRD-X/card", nil)
		w := httptest.NewRecorder()
		s.renderCachedWeb(w, r, http.StatusOK, "credential-card", webView{Title: "Credential", CSP: cardCSP, Data: cardData{Message: "No credential has this ID."}})
		return wantHTML(t, w, http.StatusOK)
	}
	open(domain.Actor{UserID: "USR-1", SessionID: "SES-1", UserEmail: "ada@example.com"})
	if n := s.pages.len(); n != 0 {
		t.Fatalf("a signed-in person's page was kept (%d pages)", n)
	}
	open(domain.Actor{})
	if n := s.pages.len(); n != 1 {
		t.Fatalf("a visitor's page: %d pages kept, want 1", n)
	}
}

// The cache's key changes with every value a credential's page or card
// is rendered from, down to the last field of the data (a field added
// later included): a change it missed would leave a stale page.
func TestPageKeyCoversEveryField(t *testing.T) {
	t.Parallel()
	d := &credentialData{}
	fillValue(reflect.ValueOf(d).Elem(), new(int))
	card := cardData{Page: d, Message: "m"}
	pageView := webView{Title: "t", Description: "d", CSP: credentialCSP, Data: d}
	cardView := webView{Title: "t", CSP: cardCSP}
	for _, tc := range []struct {
		page string
		view *webView
		data reflect.Value
		key  func() pageKey
	}{
		{"credential", &pageView, reflect.ValueOf(d).Elem(), func() pageKey { return mustKey(t, "credential", pageView) }},
		{"credential-card", &cardView, reflect.ValueOf(&card).Elem(), func() pageKey {
			v := cardView
			v.Data = card
			return mustKey(t, "credential-card", v)
		}},
	} {
		base := tc.key()
		changes := 0
		check := func(path string) {
			changes++
			if tc.key() == base {
				t.Errorf("%s: changing %s leaves the key as it was", tc.page, path)
			}
		}
		view := reflect.ValueOf(tc.view).Elem()
		for i := range view.NumField() {
			if name := view.Type().Field(i).Name; name != "Data" {
				eachChange(view.Field(i), name, check)
			}
		}
		eachChange(tc.data, "Data", check)
		if tc.key() != base {
			t.Fatalf("%s: the key differs once every change is undone", tc.page)
		}
		if changes < 50 {
			t.Errorf("%s: only %d changes tried", tc.page, changes)
		}
	}
	if mustKey(t, "credential", pageView) == mustKey(t, "credential-card", pageView) {
		t.Errorf("two pages rendered from the same view share a key")
	}
}

func mustKey(t *testing.T, page string, v webView) pageKey {
	t.Helper()
	k, ok := pageKeyOf(page, v)
	if !ok {
		t.Fatalf("%s: the view cannot be keyed", page)
	}
	return k
}

// fillValue gives every field of v a value of its own: strings and
// numbers by *n, pointers set, lists of two.
func fillValue(v reflect.Value, n *int) {
	*n++
	switch v.Kind() {
	case reflect.String:
		v.SetString("s" + strconv.Itoa(*n))
	case reflect.Bool:
		v.SetBool(*n%2 == 0)
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(*n))
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillValue(v.Elem(), n)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fillValue(v.Index(i), n)
		}
	case reflect.Struct:
		if v.Type() == timeType {
			v.Set(reflect.ValueOf(time.Date(2025, 1, 1, 0, 0, *n, 0, time.UTC)))
			return
		}
		for i := range v.NumField() {
			fillValue(v.Field(i), n)
		}
	default:
		panic(fmt.Sprintf("fillValue: a %s: teach the test (and pageKeyOf) this kind", v.Type()))
	}
}

// eachChange changes, one at a time, every part of v that a template could
// show (a value, a list's length, whether a pointer is set, a time's
// instant or zone), calls check, and undoes the change.
func eachChange(v reflect.Value, path string, check func(path string)) {
	switch v.Kind() {
	case reflect.String:
		old := v.String()
		v.SetString(old + "x")
		check(path)
		v.SetString(old)
	case reflect.Bool:
		v.SetBool(!v.Bool())
		check(path)
		v.SetBool(!v.Bool())
	case reflect.Int, reflect.Int64:
		v.SetInt(v.Int() + 1)
		check(path)
		v.SetInt(v.Int() - 1)
	case reflect.Pointer:
		old := reflect.ValueOf(v.Interface())
		v.Set(reflect.Zero(v.Type()))
		check(path + " (nil)")
		v.Set(old)
		eachChange(v.Elem(), path, check)
	case reflect.Slice:
		old := reflect.ValueOf(v.Interface())
		v.Set(reflect.Append(old, reflect.Zero(v.Type().Elem())))
		check(path + " (longer)")
		v.Set(old.Slice(0, old.Len()-1))
		check(path + " (shorter)")
		v.Set(old)
		for i := range v.Len() {
			eachChange(v.Index(i), fmt.Sprintf("%s[%d]", path, i), check)
		}
	case reflect.Struct:
		if v.Type() == timeType {
			old := v.Interface().(time.Time)
			v.Set(reflect.ValueOf(old.Add(time.Nanosecond)))
			check(path + " (instant)")
			v.Set(reflect.ValueOf(old.In(time.FixedZone("XYZ", 0))))
			check(path + " (zone)")
			v.Set(reflect.ValueOf(old))
			return
		}
		for i := range v.NumField() {
			eachChange(v.Field(i), path+"."+v.Type().Field(i).Name, check)
		}
	default:
		panic(fmt.Sprintf("eachChange: a %s at %s: teach the test this kind", v.Type(), path))
	}
}

// The cache keeps at most its entries and bytes, evicting the least
// recently used page first, and never a page larger than maxCachedPage.
func TestPageCacheBounds(t *testing.T) {
	t.Parallel()
	key := func(i int) pageKey { return pageKey{byte(i)} }
	c := newPageCache(3, 100)
	for i := range 3 {
		c.put(key(i), &keptPage{body: bytes.Repeat([]byte{'a'}, 20)})
	}
	c.get(key(0)) // used: 1 is now the least recently used
	c.put(key(3), &keptPage{body: bytes.Repeat([]byte{'b'}, 20)})
	for i, want := range []bool{true, false, true, true} {
		if _, ok := c.get(key(i)); ok != want {
			t.Errorf("entries bound: page %d kept %v, want %v", i, ok, want)
		}
	}
	c.put(key(4), &keptPage{body: bytes.Repeat([]byte{'c'}, 70)}) // 60+70 > 100 bytes: two must go
	if n := c.len(); n != 2 {
		t.Errorf("bytes bound: %d pages kept, want 2", n)
	}
	if p, ok := c.get(key(4)); !ok || len(p.body) != 70 {
		t.Errorf("bytes bound: the newest page is not kept")
	}
	big := newPageCache(10, 4*maxCachedPage)
	big.put(key(1), &keptPage{body: make([]byte, maxCachedPage+1)})
	if big.len() != 0 {
		t.Errorf("a page over maxCachedPage was kept")
	}
}

// renderCachedBy builds a visitor's view once per source: the same source
// again is answered from the cache without building it; a signed-in
// person's view is built (and rendered) for each of their requests, and
// kept for nobody.
func TestPageCachedBySourceBuildsOnce(t *testing.T) {
	t.Parallel()
	s := newServer(Deps{Log: slog.New(slog.DiscardHandler)})
	builds := 0
	open := func(actor domain.Actor, source any) string {
		r := httptest.NewRequestWithContext(context.WithValue(t.Context(), callerKey{}, &caller{actor: actor}), http.MethodGet, "/verify/CRD-X/card", nil)
		w := httptest.NewRecorder()
		s.renderCachedBy(w, r, http.StatusOK, "credential-card", cardCSP, source, func() webView {
			builds++
			return webView{Title: "Credential", CSP: cardCSP, Data: cardData{Message: fmt.Sprint("source ", source)}}
		})
		if got := w.Header().Get("Content-Security-Policy"); got != cardCSP {
			t.Errorf("policy %q, want %q", got, cardCSP)
		}
		return wantHTML(t, w, http.StatusOK)
	}
	visitor, person := domain.Actor{}, domain.Actor{UserID: "USR-1", SessionID: "SES-1", UserEmail: "ada@example.com"}
	first := open(visitor, 1)
	if again := open(visitor, 1); again != first || builds != 1 {
		t.Fatalf("the same source twice: %d builds, same page %v; want 1 build, the same page", builds, again == first)
	}
	if other := open(visitor, 2); other == first || !strings.Contains(other, "source 2") || builds != 2 {
		t.Fatalf("another source: %d builds; want it built and rendered afresh", builds)
	}
	open(person, 1)
	open(person, 1)
	if builds != 4 || s.pages.len() != 2 {
		t.Fatalf("after two signed-in requests: %d builds, %d pages kept; want 4 and 2", builds, s.pages.len())
	}
	if open(visitor, map[string]int{"a": 1}); open(visitor, map[string]int{"a": 1}) == "" || builds != 6 {
		t.Fatalf("a source the key cannot encode: %d builds, want each request built (6)", builds)
	}
}

// What a stored credential's page is kept by can be encoded, and changes
// with every field of the verdict, the checks, the record, its
// organization and badge: a type the key cannot encode (a map) would
// quietly turn the cache off, a field it missed would leave a stale page.
func TestStoredVerificationKeyCoversEveryField(t *testing.T) {
	t.Parallel()
	var v credentials.Verification
	v.Credential = &domain.Credential{}
	n := new(int)
	fillValue(reflect.ValueOf(&v.Result).Elem(), n)
	fillValue(reflect.ValueOf(&v.Checks).Elem(), n)
	fillValue(reflect.ValueOf(v.Credential).Elem(), n)
	fillValue(reflect.ValueOf(&v.Badge).Elem(), n)
	fillValue(reflect.ValueOf(&v.Org).Elem(), n)
	key := func() pageKey {
		k, ok := pageKeyOf("credential", storedVerification(v))
		if !ok {
			t.Fatal("a stored credential's verification cannot key its page")
		}
		return k
	}
	base := key()
	changes := 0
	check := func(path string) {
		changes++
		if key() == base {
			t.Errorf("changing %s leaves the key as it was", path)
		}
	}
	eachChange(reflect.ValueOf(&v.Result).Elem(), "Result", check)
	eachChange(reflect.ValueOf(&v.Checks).Elem(), "Checks", check)
	eachChange(reflect.ValueOf(v.Credential).Elem(), "Credential", check)
	eachChange(reflect.ValueOf(&v.Badge).Elem(), "Badge", check)
	eachChange(reflect.ValueOf(&v.Org).Elem(), "Org", check)
	if key() != base {
		t.Fatal("the key differs once every change is undone")
	}
	if changes < 40 {
		t.Errorf("only %d changes tried", changes)
	}
}

// A visitor's page goes gzipped to a client that takes gzip, as every
// browser does, whether rendered for it or taken from the cache, and
// plain to one that does not; every answer says Vary: Accept-Encoding,
// and both bodies are the same page.
func TestCredentialPageGzipped(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer("")
	c := s.issue(owner.Token, o.ID, s.createBadge(owner.Token, o.ID, 0).ID, uniqueEmail("gzip"))
	for _, path := range []string{"/verify/" + c.ID, "/verify/" + c.ID + "/card", "/credentials/" + c.ID} {
		var zipped []string
		for range 2 { // rendered, then from the cache
			w := s.do(http.MethodGet, path, "", nil, "Accept", browserAccept, "Accept-Encoding", "gzip, deflate, br, zstd")
			if w.Code != http.StatusOK || w.Header().Get("Content-Encoding") != "gzip" {
				t.Fatalf("%s with Accept-Encoding gzip: %d, Content-Encoding %q", path, w.Code, w.Header().Get("Content-Encoding"))
			}
			if n, _ := strconv.Atoi(w.Header().Get("Content-Length")); n != w.Body.Len() {
				t.Errorf("%s: Content-Length %d for %d bytes", path, n, w.Body.Len())
			}
			zr, err := gzip.NewReader(w.Body)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			page, err := io.ReadAll(zr)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			zipped = append(zipped, string(page))
			wantVary(t, path, w, "Accept-Encoding")
		}
		plain := wantHTML(t, s.page(path, ""), http.StatusOK)
		if zipped[0] != plain || zipped[1] != plain {
			t.Errorf("%s: the gzipped page differs from the plain one:\n%s\n---\n%s", path, zipped[0], plain)
		}
		for _, refused := range []string{"gzip;q=0, identity", "*;q=0", "br, zstd", "gzip;q=abc"} {
			w := s.do(http.MethodGet, path, "", nil, "Accept", browserAccept, "Accept-Encoding", refused)
			if w.Header().Get("Content-Encoding") != "" || wantHTML(t, w, http.StatusOK) != plain {
				t.Errorf("%s with Accept-Encoding %q: Content-Encoding %q, or not the plain page", path, refused, w.Header().Get("Content-Encoding"))
			}
			wantVary(t, path, w, "Accept-Encoding")
		}
	}
	// Content negotiation at /credentials/{id} keeps saying Vary: Accept.
	wantVary(t, "/credentials/"+c.ID, s.do(http.MethodGet, "/credentials/"+c.ID, "", nil, "Accept", browserAccept, "Accept-Encoding", "gzip"), "Accept")
}

// wantVary requires name among w's Vary values.
func wantVary(t *testing.T, path string, w *httptest.ResponseRecorder, name string) {
	t.Helper()
	for _, v := range w.Header().Values("Vary") {
		for f := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), name) {
				return
			}
		}
	}
	t.Errorf("%s: Vary %q does not name %s", path, w.Header().Values("Vary"), name)
}

func TestAcceptsGzip(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		values []string
		want   bool
	}{
		{nil, false},
		{[]string{""}, false},
		{[]string{"gzip"}, true},
		{[]string{"GZIP;Q=0.5"}, true},
		{[]string{"x-gzip"}, true},
		{[]string{"gzip, deflate, br, zstd"}, true},
		{[]string{"br", "gzip"}, true},
		{[]string{"identity"}, false},
		{[]string{"br;q=1.0, zstd"}, false},
		{[]string{"*"}, true},
		{[]string{"*;q=0"}, false},
		{[]string{"gzip;q=0"}, false},
		{[]string{"gzip;q=0.000"}, false},
		{[]string{"gzip;q=0, *"}, false},
		{[]string{"*, gzip;q=0"}, false},
		{[]string{"*;q=0, gzip"}, true},
		{[]string{"gzip;q=2"}, false},
		{[]string{"gzip;q="}, false},
		{[]string{"gzip ; q=0.8"}, true},
		{[]string{strings.Repeat("br,", maxAcceptRanges) + "gzip"}, false},
	} {
		if got := acceptsGzip(c.values); got != c.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", c.values, got, c.want)
		}
	}
}

func FuzzAcceptsGzip(f *testing.F) {
	for _, seed := range []string{"gzip, deflate, br, zstd", "", "*", "gzip;q=0", "gzip;q=0.5", "gzip;q=0.000", "*;q=0, x-gzip;q=0.1", ";;,,;q=1", "gzip;q=abc"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		lower := strings.ToLower(v)
		if acceptsGzip([]string{v}) && !strings.Contains(lower, "gzip") && !strings.Contains(lower, "*") {
			t.Errorf("acceptsGzip(%q) without gzip or * named", v)
		}
		// gzip;q=0 followed by no digit but zeros, and no other item:
		// a weight of zero (or a malformed one), so a refusal.
		if rest, ok := strings.CutPrefix(lower, "gzip;q=0"); ok && !strings.ContainsAny(rest, ",123456789") && acceptsGzip([]string{v}) {
			t.Errorf("acceptsGzip(%q) though gzip is refused", v)
		}
	})
}
