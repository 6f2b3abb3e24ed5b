package httpapi

import (
	"bytes"
	"html"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	gozxingqr "github.com/makiuchi-d/gozxing/qrcode"
)

// browserAccept is the Accept header a browser sends when it opens a page.
const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"

// page opens path as a browser does (token "": a visitor).
func (s *testServer) page(path, token string) *httptest.ResponseRecorder {
	s.t.Helper()
	return s.do(http.MethodGet, path, token, nil, "Accept", browserAccept)
}

// wantHTML requires an HTML answer with status.
func wantHTML(t *testing.T, w *httptest.ResponseRecorder, status int) string {
	t.Helper()
	if w.Code != status || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("got %d %s, want a %d page: %.2000s", w.Code, w.Header().Get("Content-Type"), status, w.Body)
	}
	return w.Body.String()
}

// element returns the opening tag of the element whose id is id ("" if none).
func element(body, id string) string {
	return regexp.MustCompile(`<[a-z0-9]+[^>]*\bid="` + regexp.QuoteMeta(id) + `"[^>]*>`).FindString(body)
}

// attr returns an attribute of a tag, HTML-unescaped.
func attr(tag, name string) string {
	m := regexp.MustCompile(`\b` + name + `="([^"]*)"`).FindStringSubmatch(tag)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// meta returns the content of a <meta property=… or name=…> tag.
func meta(body, key string) string {
	m := regexp.MustCompile(`<meta (?:property|name)="` + regexp.QuoteMeta(key) + `" content="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// textOf returns the text of the element whose id is id, unescaped.
func textOf(body, id string) string {
	m := regexp.MustCompile(`(?s)<([a-z0-9]+)[^>]*\bid="` + regexp.QuoteMeta(id) + `"[^>]*>(.*?)</[a-z0-9]+>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[2])
}

// check returns the class of the check's list item (ok, bad; "" when absent).
func checkClass(body, name string) string { return attr(element(body, "check-"+name), "class") }

// bannerOf returns the class and text of the status banner.
func bannerOf(body string) (class, text string) {
	m := regexp.MustCompile(`(?s)<div class="banner ([a-z]+)" role="status" id="status">(.*?)</div>`).FindStringSubmatch(body)
	if m == nil {
		return "", ""
	}
	return m[1], html.UnescapeString(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[2], ""))
}

// The credential page of each status: what a person needs to see is
// there (badge image, name, description, criteria, issuer, recipient with
// the email masked, dates, banner, the five checks), the banner says the
// status (and a revocation's reason), a TEST credential says so, and the
// renewal links lead from one credential of a chain to the other.
func TestCredentialPageByStatus(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Now()}
	s := newClockedTestServer(t, clock)
	owner, o := s.newIssuer("professional")
	var org struct {
		Name string `json:"name"`
	}
	s.expect(http.StatusOK, http.MethodGet, "/api/v1/orgs/"+o.ID, owner.Token, nil, &org)
	b := s.createBadge(owner.Token, o.ID, 0)
	daily := s.createBadge(owner.Token, o.ID, 1)

	recipient := uniqueEmail("rae")
	pending := s.issue(owner.Token, o.ID, b.ID, recipient)
	body := wantHTML(t, s.page("/verify/"+pending.ID, ""), http.StatusOK)
	for what, want := range map[string]string{
		"badge image":   `src="https://issuer.example.com/b.png"`,
		"badge name":    "<h1>" + html.EscapeString(b.Name) + "</h1>",
		"issuer":        `href="/issuers/` + o.Slug + `">` + html.EscapeString(org.Name) + "</a>",
		"recipient":     "<strong>Ada Lovelace</strong>",
		"masked email":  recipient[:1] + "***@example.com",
		"criteria":      `<p class="text" id="criteria">c</p>`,
		"credential ID": `<dd class="mono">` + pending.ID + "</dd>",
		"badge page":    `href="/achievements/` + o.Slug + "/" + b.Slug + `"`,
		"issued":        `<dd id="issued">` + clock.Now().UTC().Format("2 January 2006") + "</dd>",
		"expires never": `<dd id="expires">Never</dd>`,
		"downloads":     `href="/credentials/` + pending.ID + `.jwt"`,
		"JSON":          `href="/credentials/` + pending.ID + `.json"`,
		"baked PNG":     `href="/credentials/` + pending.ID + `.png"`,
		"copy link":     `<input id="page-url" type="text" readonly value="https://credence.test/verify/` + pending.ID + `">`,
		"copy script":   `<script src="/assets/`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("pending page: no %s (%s)", what, want)
		}
	}
	if strings.Contains(body, recipient) {
		t.Errorf("the page shows the recipient's email in clear")
	}
	if class, text := bannerOf(body); class != "pending" || !strings.Contains(text, "not yet claimed") {
		t.Errorf("pending banner %q %q", class, text)
	}
	for _, name := range []string{"signature", "integrity", "expiry", "revocation", "issuer"} {
		if c := checkClass(body, name); c != "ok" {
			t.Errorf("pending page: check %s is %q, want ok", name, c)
		}
	}
	if strings.Contains(body, "TEST") || element(body, "test-credential") != "" {
		t.Errorf("a live credential's page says TEST")
	}

	// Claimed: valid.
	holder := s.signUp(recipient)
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/credentials/"+pending.ID+"/claim", holder.Token, nil, nil)
	if class, text := bannerOf(wantHTML(t, s.page("/verify/"+pending.ID, ""), http.StatusOK)); class != "valid" || !strings.HasPrefix(text, "Valid ") {
		t.Errorf("claimed banner %q %q", class, text)
	}

	// Revoked, with its reason.
	revoked := s.issue(owner.Token, o.ID, b.ID, uniqueEmail("revoked"))
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/orgs/"+o.ID+"/credentials/"+revoked.ID+"/revoke", owner.Token,
		map[string]string{"reason": "Awarded in error"}, nil)
	body = wantHTML(t, s.page("/verify/"+revoked.ID, ""), http.StatusOK)
	if class, text := bannerOf(body); class != "revoked" || !strings.Contains(text, "Reason: Awarded in error") {
		t.Errorf("revoked banner %q %q", class, text)
	}
	if checkClass(body, "revocation") != "bad" || !strings.Contains(textOf(body, "revoked"), "Awarded in error") {
		t.Errorf("revoked page: revocation check %q, revoked %q", checkClass(body, "revocation"), textOf(body, "revoked"))
	}

	// TEST: issued with a test API key.
	_, testKey := s.apiKey(owner.Token, o.ID, "test")
	test := s.issue(testKey, o.ID, b.ID, uniqueEmail("test"))
	body = wantHTML(t, s.page("/verify/"+test.ID, ""), http.StatusOK)
	if !strings.Contains(textOf(body, "test-credential"), "TEST credential") || !strings.Contains(body, "<h1>TEST: "+html.EscapeString(b.Name)+"</h1>") {
		t.Errorf("a TEST credential's page does not say TEST")
	}

	// Expired, then renewed: each links to the other.
	expiring := uniqueEmail("expiring")
	old := s.issue(owner.Token, o.ID, daily.ID, expiring)
	clock.advance(25 * time.Hour)
	body = wantHTML(t, s.page("/verify/"+old.ID, ""), http.StatusOK)
	if class, text := bannerOf(body); class != "expired" || !strings.Contains(text, "expired on") {
		t.Errorf("expired banner %q %q", class, text)
	}
	if checkClass(body, "expiry") != "bad" {
		t.Errorf("expired page: expiry check %q", checkClass(body, "expiry"))
	}
	renewed := s.issue(s.login(owner.Email), o.ID, daily.ID, expiring)
	if renewed.SupersedesCredentialID != old.ID {
		t.Fatalf("renewal supersedes %q, want %s", renewed.SupersedesCredentialID, old.ID)
	}
	if got := attr(element(wantHTML(t, s.page("/verify/"+old.ID, ""), http.StatusOK), "superseded-by"), "href"); got != "/verify/"+renewed.ID {
		t.Errorf("expired page: superseded-by link %q, want /verify/%s", got, renewed.ID)
	}
	if got := attr(element(wantHTML(t, s.page("/verify/"+renewed.ID, ""), http.StatusOK), "supersedes"), "href"); got != "/verify/"+old.ID {
		t.Errorf("renewed page: supersedes link %q, want /verify/%s", got, old.ID)
	}
}

// A record changed behind the issuer's back fails the integrity check,
// and the page shows, field by field, what was signed beside what the
// record now says.
func TestCredentialPageShowsSignedAgainstRecord(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer("")
	b := s.createBadge(owner.Token, o.ID, 0)
	c := s.issue(owner.Token, o.ID, b.ID, uniqueEmail("tampered"))
	res, err := s.store.DB().ExecContext(t.Context(), "UPDATE credentials SET recipient_name = ? WHERE id = ?", "Mallory Forged", c.ID)
	if n, _ := res.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("tamper: %v (%d rows)", err, n)
	}
	body := wantHTML(t, s.page("/verify/"+c.ID, ""), http.StatusOK)
	if class, _ := bannerOf(body); class != "invalid" {
		t.Errorf("tampered banner %q, want invalid", class)
	}
	if checkClass(body, "integrity") != "bad" || checkClass(body, "signature") != "ok" {
		t.Errorf("checks: integrity %q signature %q", checkClass(body, "integrity"), checkClass(body, "signature"))
	}
	row := `<tr><th scope="row">Recipient name</th><td class="signed" data-label="Signed">Ada Lovelace</td><td class="record" data-label="The record says">Mallory Forged</td></tr>`
	if !strings.Contains(body, row) {
		t.Errorf("the page does not show the signed name beside the record's: %s", body)
	}
	if element(body, "linkedin") != "" || strings.Contains(body, "<iframe") {
		t.Errorf("a credential that fails a check is offered for sharing")
	}
}

// Browsers get pages, programs keep their documents: text/html named
// above every JSON type gets HTML; */*, no Accept, and JSON-LD clients
// get the JSON(-LD) they always got. Both answers vary on Accept. The
// issuer's page lists its active badges with their images, linking to
// the badge pages.
func TestContentNegotiation(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer("")
	b := s.createBadge(owner.Token, o.ID, 0)
	retired := s.createBadge(owner.Token, o.ID, 0)
	c := s.issue(owner.Token, o.ID, b.ID, uniqueEmail("negotiated"))
	s.issue(owner.Token, o.ID, retired.ID, uniqueEmail("retired"))
	s.expect(http.StatusOK, http.MethodDelete, "/api/v1/orgs/"+o.ID+"/badges/"+retired.ID, owner.Token, nil, nil)

	resources := map[string]struct{ contentType, html string }{
		"/credentials/" + c.ID:                   {"application/vc", `<dd class="mono">` + c.ID + "</dd>"},
		"/issuers/" + o.Slug:                     {"application/ld+json", `<a href="/achievements/` + o.Slug + "/" + b.Slug + `"><img src="https://issuer.example.com/b.png"`},
		"/achievements/" + o.Slug + "/" + b.Slug: {"application/ld+json", "<h1>" + html.EscapeString(b.Name) + "</h1>"},
	}
	for path, want := range resources {
		for _, accept := range []string{browserAccept, "text/html", "application/json;q=0.5, text/html"} {
			w := s.do(http.MethodGet, path, "", nil, "Accept", accept)
			if body := wantHTML(t, w, http.StatusOK); !strings.Contains(body, want.html) {
				t.Errorf("%s for %q: the page lacks %s", path, accept, want.html)
			}
			if !strings.Contains(w.Header().Get("Vary"), "Accept") {
				t.Errorf("%s for %q: Vary %q", path, accept, w.Header().Get("Vary"))
			}
		}
		for _, accept := range []string{"", "*/*", "application/ld+json", "application/json", "text/html;q=0.5, application/ld+json", "text/html;q=0"} {
			w := s.do(http.MethodGet, path, "", nil, "Accept", accept)
			if w.Code != http.StatusOK || w.Header().Get("Content-Type") != want.contentType || !bytes.HasPrefix(w.Body.Bytes(), []byte("{")) {
				t.Errorf("%s for %q: %d %s, want the %s document", path, accept, w.Code, w.Header().Get("Content-Type"), want.contentType)
			}
			if !strings.Contains(w.Header().Get("Vary"), "Accept") {
				t.Errorf("%s for %q: Vary %q", path, accept, w.Header().Get("Vary"))
			}
		}
	}

	issuer := wantHTML(t, s.page("/issuers/"+o.Slug, ""), http.StatusOK)
	if strings.Contains(issuer, retired.Slug) {
		t.Errorf("the issuer's page lists a deactivated badge")
	}
	if page := wantHTML(t, s.page("/achievements/"+o.Slug+"/"+retired.Slug, ""), http.StatusOK); element(page, "inactive") == "" {
		t.Errorf("a deactivated badge's page does not say it is no longer issued")
	}
	for _, path := range []string{"/issuers/no-such-org", "/achievements/" + o.Slug + "/no-such-badge", "/credentials/CRD-NOSUCH00"} {
		wantHTML(t, s.page(path, ""), http.StatusNotFound)
		wantProblem(t, s.do(http.MethodGet, path, "", nil), http.StatusNotFound, "NOT_FOUND")
	}
	// The page's JSON link downloads the document whatever a browser asks.
	w := s.page("/credentials/"+c.ID+".json", "")
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/vc" ||
		w.Header().Get("Content-Disposition") != `attachment; filename="`+c.ID+`.json"` {
		t.Errorf("JSON download: %d %v", w.Code, w.Header())
	}
	wantProblem(t, s.page("/credentials/CRD-NOSUCH00.json", ""), http.StatusNotFound, "NOT_FOUND")
}

// LinkedIn's add-to-profile link carries the certification's name, the
// issuing organization, the issue and expiry month and year, and the
// credential's URL and ID.
func TestLinkedInAddToProfile(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer("")
	var org struct {
		Name string `json:"name"`
	}
	s.expect(http.StatusOK, http.MethodGet, "/api/v1/orgs/"+o.ID, owner.Token, nil, &org)
	yearly := s.createBadge(owner.Token, o.ID, 365)
	forever := s.createBadge(owner.Token, o.ID, 0)
	c := s.issue(owner.Token, o.ID, yearly.ID, uniqueEmail("linked"))
	var view struct {
		IssuedAt  time.Time `json:"issuedAt"`
		ExpiresAt time.Time `json:"expiresAt"`
	}
	s.expect(http.StatusOK, http.MethodGet, "/api/v1/credentials/"+c.ID, "", nil, &view)

	link := attr(element(wantHTML(t, s.page("/verify/"+c.ID, ""), http.StatusOK), "linkedin"), "href")
	u, err := url.Parse(link)
	if err != nil || u.Scheme != "https" || u.Host != "www.linkedin.com" || u.Path != "/profile/add" {
		t.Fatalf("LinkedIn link %q", link)
	}
	want := url.Values{
		"startTask": {"CERTIFICATION_NAME"}, "name": {yearly.Name}, "organizationName": {org.Name},
		"issueYear": {strconv.Itoa(view.IssuedAt.Year())}, "issueMonth": {strconv.Itoa(int(view.IssuedAt.Month()))},
		"expirationYear": {strconv.Itoa(view.ExpiresAt.Year())}, "expirationMonth": {strconv.Itoa(int(view.ExpiresAt.Month()))},
		"certUrl": {"https://credence.test/verify/" + c.ID}, "certId": {c.ID},
	}
	if got := u.Query(); got.Encode() != want.Encode() {
		t.Errorf("LinkedIn parameters\n got %v\nwant %v", got, want)
	}

	never := s.issue(owner.Token, o.ID, forever.ID, uniqueEmail("forever"))
	u, _ = url.Parse(attr(element(wantHTML(t, s.page("/verify/"+never.ID, ""), http.StatusOK), "linkedin"), "href"))
	if q := u.Query(); q.Get("certId") != never.ID || q.Has("expirationYear") || q.Has("expirationMonth") {
		t.Errorf("a credential that never expires: LinkedIn parameters %v", q)
	}
	// A revoked credential is not offered.
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/orgs/"+o.ID+"/credentials/"+never.ID+"/revoke", owner.Token, map[string]string{"reason": "r"}, nil)
	if element(wantHTML(t, s.page("/verify/"+never.ID, ""), http.StatusOK), "linkedin") != "" {
		t.Errorf("a revoked credential's page offers LinkedIn")
	}
}

// decodeQR reads the QR code in img.
func decodeQR(t *testing.T, img image.Image) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := gozxingqr.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("decode QR code: %v", err)
	}
	return res.GetText()
}

// rasterSVG draws the modules of a QR code SVG (one path of
// "Mx yhNv1h-Nz" runs, one unit per module) at scale pixels a module.
func rasterSVG(t *testing.T, svg string, scale int) image.Image {
	t.Helper()
	m := regexp.MustCompile(`viewBox="0 0 (\d+) (\d+)"`).FindStringSubmatch(svg)
	d := regexp.MustCompile(`<path fill="#000" d="([^"]*)"`).FindStringSubmatch(svg)
	if m == nil || d == nil {
		t.Fatalf("not a QR code SVG: %.300s", svg)
	}
	n, _ := strconv.Atoi(m[1])
	img := image.NewGray(image.Rect(0, 0, n*scale, n*scale))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for _, run := range regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-\d+z`).FindAllStringSubmatch(d[1], -1) {
		x, _ := strconv.Atoi(run[1])
		y, _ := strconv.Atoi(run[2])
		w, _ := strconv.Atoi(run[3])
		for py := y * scale; py < (y+1)*scale; py++ {
			for px := x * scale; px < (x+w)*scale; px++ {
				img.SetGray(px, py, color.Gray{})
			}
		}
	}
	return img
}

// A credential's QR codes, PNG and SVG, decode to its /verify URL and
// nothing else, for Professional issuers and up; a free issuer's are
// refused with PLAN_REQUIRED, and its page offers none; a private
// credential's are refused to strangers.
func TestQRCodes(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, pro := s.newIssuer("professional")
	c := s.issue(owner.Token, pro.ID, s.createBadge(owner.Token, pro.ID, 0).ID, uniqueEmail("qr"))
	want := "https://credence.test/verify/" + c.ID

	w := s.do(http.MethodGet, "/credentials/"+c.ID+"/qr.png", "", nil)
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "image/png" {
		t.Fatalf("qr.png: %d %v %s", w.Code, w.Header(), w.Body)
	}
	img, err := png.Decode(w.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got := decodeQR(t, img); got != want {
		t.Errorf("qr.png decodes to %q, want %q", got, want)
	}
	w = s.do(http.MethodGet, "/credentials/"+c.ID+"/qr.svg", "", nil)
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "image/svg+xml" {
		t.Fatalf("qr.svg: %d %v", w.Code, w.Header())
	}
	if got := decodeQR(t, rasterSVG(t, w.Body.String(), 6)); got != want {
		t.Errorf("qr.svg decodes to %q, want %q", got, want)
	}
	if src := attr(element(wantHTML(t, s.page("/verify/"+c.ID, ""), http.StatusOK), "qr"), "src"); src != "/credentials/"+c.ID+"/qr.svg" {
		t.Errorf("a Professional issuer's credential page shows QR code %q", src)
	}

	freeOwner, free := s.newIssuer("")
	fc := s.issue(freeOwner.Token, free.ID, s.createBadge(freeOwner.Token, free.ID, 0).ID, uniqueEmail("noqr"))
	for _, file := range []string{"qr.png", "qr.svg"} {
		wantProblem(t, s.do(http.MethodGet, "/credentials/"+fc.ID+"/"+file, "", nil), http.StatusForbidden, "PLAN_REQUIRED")
		wantProblem(t, s.do(http.MethodGet, "/credentials/"+fc.ID+"/"+file, freeOwner.Token, nil), http.StatusForbidden, "PLAN_REQUIRED")
		wantProblem(t, s.do(http.MethodGet, "/credentials/CRD-NOSUCH00/"+file, "", nil), http.StatusNotFound, "NOT_FOUND")
	}
	if element(wantHTML(t, s.page("/verify/"+fc.ID, ""), http.StatusOK), "qr") != "" {
		t.Errorf("a free issuer's credential page shows a QR code")
	}

	var private testCredential
	s.expect(http.StatusCreated, http.MethodPost, "/api/v1/orgs/"+pro.ID+"/credentials", owner.Token,
		map[string]any{"badgeId": s.createBadge(owner.Token, pro.ID, 0).ID, "recipient": map[string]string{"name": "Pia", "email": uniqueEmail("pia")}, "public": false}, &private)
	wantProblem(t, s.do(http.MethodGet, "/credentials/"+private.ID+"/qr.png", "", nil), http.StatusForbidden, "CREDENTIAL_PRIVATE")
	if w := s.do(http.MethodGet, "/credentials/"+private.ID+"/qr.png", owner.Token, nil); w.Code != http.StatusOK || w.Header().Get("Cache-Control") != "private, no-store" {
		t.Errorf("the issuer's QR code of a private credential: %d %v", w.Code, w.Header())
	}
}

// The card other sites embed may be framed by any site, and only the
// card: the credential's page stays unframeable. The page's embed snippet
// frames the card.
func TestCredentialCardFraming(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer("")
	b := s.createBadge(owner.Token, o.ID, 0)
	c := s.issue(owner.Token, o.ID, b.ID, uniqueEmail("card"))

	w := s.page("/verify/"+c.ID+"/card", "")
	body := wantHTML(t, w, http.StatusOK)
	if h := w.Header(); h.Get("X-Frame-Options") != "" || h.Get("Content-Security-Policy") != cardCSP ||
		!strings.Contains(cardCSP, "frame-ancestors *") {
		t.Errorf("card headers: X-Frame-Options %q, CSP %q", h.Get("X-Frame-Options"), h.Get("Content-Security-Policy"))
	}
	for _, want := range []string{html.EscapeString(b.Name), "Ada Lovelace", `href="https://credence.test/verify/` + c.ID + `" target="_blank" rel="noopener"`,
		`class="pill pending"`} {
		if !strings.Contains(body, want) {
			t.Errorf("card lacks %s", want)
		}
	}
	if strings.Contains(body, `<nav`) {
		t.Errorf("the card carries the site's navigation")
	}
	page := s.page("/verify/"+c.ID, "")
	if h := page.Header(); h.Get("X-Frame-Options") != "DENY" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("the credential page may be framed: %v", h)
	}
	snippet := textOf(page.Body.String(), "embed-frame")
	if !strings.Contains(snippet, `<iframe src="https://credence.test/verify/`+c.ID+`/card"`) {
		t.Errorf("embed snippet %q does not frame the card", snippet)
	}
	if img := textOf(page.Body.String(), "embed-html"); !strings.HasPrefix(img, `<a href="https://credence.test/verify/`+c.ID+`"><img src="https://issuer.example.com/b.png"`) {
		t.Errorf("image snippet %q", img)
	}
	if w := s.page("/verify/CRD-NOSUCH00/card", ""); w.Code != http.StatusNotFound || w.Header().Get("X-Frame-Options") != "" {
		t.Errorf("unknown card: %d %v", w.Code, w.Header())
	}
}

// Link previews: the page carries OpenGraph and Twitter meta tags with
// the badge's name, a summary, its image and the page's URL; a private
// credential's page tells nothing.
func TestCredentialPageLinkPreview(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer("")
	b := s.createBadge(owner.Token, o.ID, 0)
	c := s.issue(owner.Token, o.ID, b.ID, uniqueEmail("og"))
	body := wantHTML(t, s.page("/verify/"+c.ID, ""), http.StatusOK)
	for key, want := range map[string]string{
		"og:title": b.Name, "og:image": "https://issuer.example.com/b.png", "og:url": "https://credence.test/verify/" + c.ID,
		"twitter:card": "summary", "twitter:title": b.Name, "twitter:image": "https://issuer.example.com/b.png",
	} {
		if got := meta(body, key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if d := meta(body, "og:description"); !strings.Contains(d, "Ada Lovelace") || meta(body, "twitter:description") != d || meta(body, "description") != d {
		t.Errorf("descriptions: og %q, twitter %q, meta %q", d, meta(body, "twitter:description"), meta(body, "description"))
	}
	for _, path := range []string{"/issuers/" + o.Slug, "/achievements/" + o.Slug + "/" + b.Slug} {
		if page := wantHTML(t, s.page(path, ""), http.StatusOK); meta(page, "og:title") == "" {
			t.Errorf("%s: no og:title", path)
		}
	}

	var private testCredential
	s.expect(http.StatusCreated, http.MethodPost, "/api/v1/orgs/"+o.ID+"/credentials", owner.Token,
		map[string]any{"badgeId": b.ID, "recipient": map[string]string{"name": "Pia Private", "email": uniqueEmail("pia")}, "public": false}, &private)
	if page := wantHTML(t, s.page("/verify/"+private.ID, ""), http.StatusForbidden); strings.Contains(page, "og:") || strings.Contains(page, "Pia") {
		t.Errorf("a private credential's page tells about it")
	}
}

// A private credential's page offers a visitor the sign-in page, which
// returns to it; a signed-in stranger is told whom they are signed in as.
// The same holds at /credentials/{id} for a browser, while a program gets
// the CREDENTIAL_PRIVATE problem.
func TestPrivateCredentialPage(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer("")
	var private testCredential
	s.expect(http.StatusCreated, http.MethodPost, "/api/v1/orgs/"+o.ID+"/credentials", owner.Token,
		map[string]any{"badgeId": s.createBadge(owner.Token, o.ID, 0).ID, "recipient": map[string]string{"name": "Pia", "email": uniqueEmail("pia")}, "public": false}, &private)
	for _, path := range []string{"/verify/" + private.ID, "/credentials/" + private.ID} {
		body := wantHTML(t, s.page(path, ""), http.StatusForbidden)
		if got := attr(element(body, "signin"), "href"); got != "/signin?next=/verify/"+private.ID {
			t.Errorf("%s: sign-in link %q", path, got)
		}
	}
	stranger := s.signUp(uniqueEmail("stranger"))
	if body := wantHTML(t, s.page("/verify/"+private.ID, stranger.Token), http.StatusForbidden); !strings.Contains(body, "signed in as "+stranger.Email) {
		t.Errorf("a signed-in stranger is not told whom they are signed in as")
	}
	wantProblem(t, s.do(http.MethodGet, "/credentials/"+private.ID, "", nil), http.StatusForbidden, "CREDENTIAL_PRIVATE")
	if body := wantHTML(t, s.page("/verify/"+private.ID, owner.Token), http.StatusOK); !strings.Contains(body, private.ID) {
		t.Errorf("the issuer's page of its private credential")
	}
}

// upload is the look-up form with a file (and the pasted text, if any).
func upload(t *testing.T, name string, data []byte, pasted string) multipartBody {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if pasted != "" {
		_ = mw.WriteField("credential", pasted)
	}
	if name != "" {
		fw, err := mw.CreateFormFile("file", name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fw.Write(data)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return multipartBody{contentType: mw.FormDataContentType(), data: buf.Bytes()}
}

// The look-up page takes an ID, a pasted signed file or an uploaded one;
// what cannot be read gets a page saying so with a fitting status, never
// a 500.
func TestLookupPage(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer("")
	b := s.createBadge(owner.Token, o.ID, 0)
	c := s.issue(owner.Token, o.ID, b.ID, uniqueEmail("lookup"))

	form := wantHTML(t, s.page("/verify", ""), http.StatusOK)
	for _, want := range []string{`name="id"`, `name="credential"`, `enctype="multipart/form-data"`, `type="file" name="file"`} {
		if !strings.Contains(form, want) {
			t.Errorf("look-up page lacks %s", want)
		}
	}
	if w := s.page("/verify?id="+strings.ToLower(c.ID), ""); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/verify/"+c.ID {
		t.Errorf("look-up by ID: %d %v", w.Code, w.Header())
	}

	for name, body := range map[string]any{
		"uploaded .jwt":           upload(t, c.ID+".jwt", []byte(c.JWT+"\n"), ""),
		"pasted, multipart":       upload(t, "", nil, c.JWT),
		"pasted with line breaks": multipartBody{contentType: "application/x-www-form-urlencoded", data: []byte(url.Values{"credential": {"\r\n" + c.JWT + "\r\n"}}.Encode())},
	} {
		page := wantHTML(t, s.do(http.MethodPost, "/verify", "", body), http.StatusOK)
		if class, _ := bannerOf(page); class != "pending" || !strings.Contains(page, `href="/verify/`+c.ID+`"`) {
			t.Errorf("%s: banner %q: %.3000s", name, class, page)
		}
	}

	for name, tc := range map[string]struct {
		body   any
		status int
	}{
		"nothing":          {upload(t, "", nil, ""), http.StatusUnprocessableEntity},
		"an empty file":    {upload(t, "empty.jwt", nil, ""), http.StatusUnprocessableEntity},
		"text, not a JWS":  {upload(t, "notes.jwt", []byte("hello"), ""), http.StatusUnprocessableEntity},
		"a PNG, not baked": {upload(t, "badge.png", []byte("\x89PNG\r\n\x1a\nnot really"), ""), http.StatusUnprocessableEntity},
		"JSON":             {`{"credential":"x"}`, http.StatusUnsupportedMediaType},
		"a broken form":    {multipartBody{contentType: "multipart/form-data; boundary=x", data: []byte("--x\r\nbroken")}, http.StatusBadRequest},
	} {
		page := wantHTML(t, s.do(http.MethodPost, "/verify", "", tc.body), tc.status)
		if textOf(page, "error") == "" {
			t.Errorf("%s: no error message on the page", name)
		}
	}
	for _, path := range []string{"/verify/CRD-NOSUCH00", "/verify/not-an-id"} {
		if page := wantHTML(t, s.page(path, ""), http.StatusNotFound); !strings.Contains(textOf(page, "error"), "No credential has the ID") {
			t.Errorf("%s: %s", path, textOf(page, "error"))
		}
	}
}

func TestPrefersHTML(t *testing.T) {
	t.Parallel()
	for accept, want := range map[string]bool{
		browserAccept:                            true,
		"text/html":                              true,
		"TEXT/HTML; charset=utf-8":               true,
		"application/xhtml+xml":                  true,
		"application/json;q=0.9, text/html":      true,
		"":                                       false,
		"*/*":                                    false,
		"text/*":                                 false,
		"application/ld+json":                    false,
		"application/vc+ld+json, text/html":      false,
		"text/html;q=0.5, application/json":      false,
		"text/html;q=0":                          false,
		"text/html;q=abc":                        false,
		"text/html;q=NaN":                        false,
		"text/html;q=2":                          false,
		"application/json;q=0.2, text/html;q=.5": true,
	} {
		if got := prefersHTML(accept); got != want {
			t.Errorf("prefersHTML(%q) = %v, want %v", accept, got, want)
		}
	}
}

// FuzzPrefersHTML: any Accept header is read without panicking, and only
// one naming HTML asks for a page.
func FuzzPrefersHTML(f *testing.F) {
	for _, seed := range []string{browserAccept, "", "*/*", "text/html;q=0.5, application/json", "text/html;q=", ";;,,;q=1", "text/html;level=1;q=0.9"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		if prefersHTML(accept) && !strings.Contains(strings.ToLower(accept), "html") {
			t.Errorf("prefersHTML(%q) without HTML named", accept)
		}
	})
}

// An issuer that may not issue says so on its pages: a suspended one
// issues nothing new, and what it issued stays valid.
func TestIssuerPageNotice(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer("")
	b := s.createBadge(owner.Token, o.ID, 0)
	if element(wantHTML(t, s.page("/issuers/"+o.Slug, ""), http.StatusOK), "notice") != "" {
		t.Errorf("an approved issuer's page carries a notice")
	}
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/admin/orgs/"+o.ID+"/suspend", s.admin(), map[string]string{"reason": "unpaid"}, nil)
	for _, path := range []string{"/issuers/" + o.Slug, "/achievements/" + o.Slug + "/" + b.Slug} {
		if notice := textOf(wantHTML(t, s.page(path, ""), http.StatusOK), "notice"); !strings.Contains(notice, "suspended") {
			t.Errorf("%s of a suspended issuer: notice %q", path, notice)
		}
	}
}
