package httpapi

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/credence-dev/credence/core/baking"
	"github.com/credence-dev/credence/core/domain"
)

func testPicture(w, h int, c color.NRGBA) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func testPNG(t *testing.T, w, h int, c color.NRGBA) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, testPicture(w, h, c)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func testJPEG(t *testing.T, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, testPicture(w, h, color.NRGBA{R: 10, G: 120, B: 200, A: 255}), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// rawBody is a request body of any type (multipartBody sends it as is).
func rawBody(contentType string, data []byte) multipartBody {
	return multipartBody{contentType: contentType, data: data}
}

var imageURLRE = regexp.MustCompile(`^https://credence\.test(/images/[0-9a-f]{64}\.(png|jpg))$`)

// uploadImage uploads data to path and returns the hosted URL's path.
func (s *testServer) uploadImage(path, token, contentType string, data []byte) string {
	s.t.Helper()
	var out struct {
		ImageURL string `json:"imageUrl"`
	}
	s.expect(http.StatusOK, http.MethodPut, path, token, rawBody(contentType, data), &out)
	m := imageURLRE.FindStringSubmatch(out.ImageURL)
	if m == nil {
		s.t.Fatalf("imageUrl %q is not a hosted image URL", out.ImageURL)
	}
	return m[1]
}

// Badge images and logos: uploaded as bytes, re-encoded, served under
// their content hash for a year with an ETag; what is not an acceptable
// image is INVALID_IMAGE; a badge that issued credentials keeps its image.
func TestImageUploads(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer("")
	b := s.createBadge(owner.Token, o.ID, 0)
	badgeImage := "/api/v1/orgs/" + o.ID + "/badges/" + b.ID + "/image"

	path := s.uploadImage(badgeImage, owner.Token, "image/png", testPNG(t, 64, 48, color.NRGBA{R: 200, A: 255}))
	var got struct {
		ImageURL string `json:"imageUrl"`
	}
	s.expect(http.StatusOK, http.MethodGet, "/api/v1/orgs/"+o.ID+"/badges/"+b.ID, owner.Token, nil, &got)
	if got.ImageURL != "https://credence.test"+path {
		t.Fatalf("badge imageUrl = %q, want the uploaded %s", got.ImageURL, path)
	}

	// Anyone fetches it, cached for good; the ETag answers 304.
	w := s.do(http.MethodGet, path, "", nil)
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "image/png" ||
		w.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" || w.Header().Get("ETag") == "" {
		t.Fatalf("GET %s: %d %v", path, w.Code, w.Header())
	}
	if cfg, err := png.DecodeConfig(bytes.NewReader(w.Body.Bytes())); err != nil || cfg.Width != 64 || cfg.Height != 48 {
		t.Fatalf("served image: %v %+v", err, cfg)
	}
	if w2 := s.do(http.MethodGet, path, "", nil, "If-None-Match", w.Header().Get("ETag")); w2.Code != http.StatusNotModified || w2.Body.Len() != 0 {
		t.Fatalf("If-None-Match: %d, %d bytes", w2.Code, w2.Body.Len())
	}
	if w2 := s.do(http.MethodGet, path, "", nil, "If-None-Match", `"other"`); w2.Code != http.StatusOK {
		t.Fatalf("another ETag: %d", w2.Code)
	}
	for _, p := range []string{strings.TrimSuffix(path, ".png") + ".jpg", "/images/" + strings.Repeat("a", 64) + ".png", "/images/x.png"} {
		wantProblem(t, s.do(http.MethodGet, p, "", nil), http.StatusNotFound, "NOT_FOUND")
	}

	// What is refused, and by whom.
	for name, body := range map[string]multipartBody{
		"svg":       rawBody("image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)),
		"mismatch":  rawBody("image/png", testJPEG(t, 8, 8)),
		"over_1mb":  rawBody("image/png", append(testPNG(t, 8, 8, color.NRGBA{A: 255}), make([]byte, 1<<20)...)),
		"garbage":   rawBody("image/jpeg", []byte{0xff, 0xd8, 0xff, 0, 1, 2}),
		"octet":     rawBody("application/octet-stream", testPNG(t, 8, 8, color.NRGBA{A: 255})),
		"bomb_side": rawBody("image/png", testPNG(t, 4097, 1, color.NRGBA{A: 255})),
	} {
		w := s.do(http.MethodPut, badgeImage, owner.Token, body)
		if p := wantProblem(t, w, http.StatusUnprocessableEntity, "INVALID_IMAGE"); p.Detail == "" {
			t.Errorf("%s: no detail", name)
		}
	}
	wantProblem(t, s.do(http.MethodPut, badgeImage, owner.Token, rawBody("image/png", make([]byte, 3<<20))), http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE")
	wantProblem(t, s.do(http.MethodPut, badgeImage, "", rawBody("image/png", testPNG(t, 8, 8, color.NRGBA{A: 255}))), http.StatusUnauthorized, "UNAUTHENTICATED")
	viewer := s.join(owner.Token, o.ID, domain.RoleViewer)
	wantProblem(t, s.do(http.MethodPut, badgeImage, viewer.Token, rawBody("image/png", testPNG(t, 8, 8, color.NRGBA{A: 255}))), http.StatusForbidden, "FORBIDDEN")
	stranger, _ := s.newIssuer("")
	wantProblem(t, s.do(http.MethodPut, badgeImage, stranger.Token, rawBody("image/png", testPNG(t, 8, 8, color.NRGBA{A: 255}))), http.StatusNotFound, "NOT_FOUND")

	// Once the badge has issued, its image is signed into credentials: the
	// same picture again is no change, another is BADGE_LOCKED.
	recipient := uniqueEmail("img")
	s.issue(owner.Token, o.ID, b.ID, recipient)
	// The credential mail shows the badge image: its URL in the text, the
	// picture in the HTML.
	m := s.mail(recipient, "new credential")
	if !strings.Contains(m.Text, "Badge image: https://credence.test"+path) ||
		!strings.Contains(m.HTML, `<img src="https://credence.test`+path+`" alt="Badge image"`) {
		t.Fatalf("credential mail without the badge image:\n%s\n%s", m.Text, m.HTML)
	}
	if again := s.uploadImage(badgeImage, owner.Token, "image/png", testPNG(t, 64, 48, color.NRGBA{R: 200, A: 255})); again != path {
		t.Fatalf("the same picture got %s, want %s", again, path)
	}
	wantProblem(t, s.do(http.MethodPut, badgeImage, owner.Token, rawBody("image/png", testPNG(t, 64, 48, color.NRGBA{G: 200, A: 255}))), http.StatusConflict, "BADGE_LOCKED")

	// The logo: a JPEG stays a JPEG; the org view and the issuer profile show it.
	logo := s.uploadImage("/api/v1/orgs/"+o.ID+"/logo", owner.Token, "image/jpeg", testJPEG(t, 32, 32))
	if !strings.HasSuffix(logo, ".jpg") {
		t.Fatalf("logo %s", logo)
	}
	if w := s.do(http.MethodGet, logo, "", nil); w.Code != http.StatusOK || w.Header().Get("Content-Type") != "image/jpeg" {
		t.Fatalf("GET %s: %d %v", logo, w.Code, w.Header())
	}
	var org struct {
		LogoURL string `json:"logoUrl"`
	}
	s.expect(http.StatusOK, http.MethodGet, "/api/v1/orgs/"+o.ID, owner.Token, nil, &org)
	var profile struct {
		Image struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"image"`
	}
	if err := json.Unmarshal(s.do(http.MethodGet, "/issuers/"+o.Slug, "", nil).Body.Bytes(), &profile); err != nil ||
		org.LogoURL != "https://credence.test"+logo || profile.Image.ID != org.LogoURL || profile.Image.Type != "Image" {
		t.Fatalf("org logoUrl %q, profile image %+v (%v), want %s", org.LogoURL, profile.Image, err, logo)
	}
	// People see it beside the issuer's name: on a credential's page and
	// on the issuer's page.
	cr := s.issue(owner.Token, o.ID, s.createBadge(owner.Token, o.ID, 0).ID, uniqueEmail("logo"))
	want := `class="issuer-logo" src="` + org.LogoURL + `"`
	for _, page := range []string{"/verify/" + cr.ID, "/issuers/" + o.Slug} {
		if w := s.do(http.MethodGet, page, "", nil, "Accept", "text/html"); !strings.Contains(w.Body.String(), want) {
			t.Errorf("%s does not show the logo (%s): %d\n%s", page, want, w.Code, w.Body)
		}
	}
	wantProblem(t, s.do(http.MethodPut, "/api/v1/orgs/"+o.ID+"/logo", viewer.Token, rawBody("image/jpeg", testJPEG(t, 8, 8))), http.StatusForbidden, "FORBIDDEN")
}

// Baked badges: /credentials/{id}.png carries the stored JWS in the
// badge's image (hosted PNG as is, hosted JPEG converted, external ones
// never fetched: a generated image), private ones as the other documents;
// POST /api/v1/verify takes the baked PNG or the .jwt as an upload.
func TestBakedBadges(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer("")

	hosted := s.createBadge(owner.Token, o.ID, 0)
	s.uploadImage("/api/v1/orgs/"+o.ID+"/badges/"+hosted.ID+"/image", owner.Token, "image/png", testPNG(t, 40, 30, color.NRGBA{B: 200, A: 255}))
	photo := s.createBadge(owner.Token, o.ID, 0)
	s.uploadImage("/api/v1/orgs/"+o.ID+"/badges/"+photo.ID+"/image", owner.Token, "image/jpeg", testJPEG(t, 50, 20))
	external := s.createBadge(owner.Token, o.ID, 0) // https://issuer.example.com/b.png

	for name, tc := range map[string]struct {
		badge testBadge
		w, h  int
	}{"hosted_png": {hosted, 40, 30}, "hosted_jpeg": {photo, 50, 20}, "external": {external, 256, 256}} {
		c := s.issue(owner.Token, o.ID, tc.badge.ID, uniqueEmail("baked"))
		w := s.do(http.MethodGet, "/credentials/"+c.ID+".png", "", nil)
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "image/png" {
			t.Fatalf("%s: %d %v %s", name, w.Code, w.Header(), w.Body)
		}
		if jws, err := baking.Extract(w.Body.Bytes()); err != nil || jws != c.JWT {
			t.Fatalf("%s: baked %q, %v; want the credential's JWS", name, jws, err)
		}
		if cfg, err := png.DecodeConfig(bytes.NewReader(w.Body.Bytes())); err != nil || cfg.Width != tc.w || cfg.Height != tc.h {
			t.Fatalf("%s: %dx%d (%v), want %dx%d", name, cfg.Width, cfg.Height, err, tc.w, tc.h)
		}

		// The baked file verifies as the credential, uploaded.
		var v struct {
			Result     string `json:"result"`
			Credential struct {
				ID string `json:"id"`
			} `json:"credential"`
			Checks []struct {
				Name string `json:"name"`
				OK   bool   `json:"ok"`
			} `json:"checks"`
		}
		s.expect(http.StatusOK, http.MethodPost, "/api/v1/verify", "", upload(t, c.ID+".png", w.Body.Bytes(), ""), &v)
		if v.Result != "pending" || v.Credential.ID != c.ID || len(v.Checks) != 5 || !v.Checks[0].OK || !v.Checks[1].OK {
			t.Fatalf("%s: verify baked PNG: %+v", name, v)
		}
	}

	// A baked PNG larger than the 1 MiB bound of other forms is checked
	// on the look-up page too (a JPEG badge is baked as a larger PNG).
	big := image.NewNRGBA(image.Rect(0, 0, 700, 700))
	if _, err := rand.Read(big.Pix); err != nil {
		t.Fatal(err)
	}
	var noisy bytes.Buffer
	if err := png.Encode(&noisy, big); err != nil {
		t.Fatal(err)
	}
	bc := s.issue(owner.Token, o.ID, hosted.ID, uniqueEmail("bigbake"))
	large, err := baking.Bake(noisy.Bytes(), bc.JWT)
	if err != nil || len(large) <= 1<<20 {
		t.Fatalf("bake %d bytes: %v (want over 1 MiB)", len(large), err)
	}
	if w := s.do(http.MethodPost, "/verify", "", upload(t, bc.ID+".png", large, ""), "Accept", "text/html"); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), bc.ID) {
		t.Fatalf("the look-up page with a %d-byte baked PNG: %d %s", len(large), w.Code, w.Body)
	}

	// A .jwt upload (with the newline a file ends with) verifies too.
	c := s.issue(owner.Token, o.ID, hosted.ID, uniqueEmail("jwt"))
	var v struct {
		Result string `json:"result"`
	}
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/verify", "", upload(t, c.ID+".jwt", []byte(c.JWT+"\n"), ""), &v)
	if v.Result != "pending" {
		t.Fatalf("verify .jwt upload: %+v", v)
	}
	// Pasted with the newline a copy takes along, it is the same file.
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/verify", "", map[string]string{"credential": "\n" + c.JWT + "\r\n"}, &v)
	if v.Result != "pending" {
		t.Fatalf("verify a JWS with white space around it: %+v", v)
	}

	// What cannot be read is INVALID_CREDENTIAL_FILE, never a 500.
	baked := s.do(http.MethodGet, "/credentials/"+c.ID+".png", "", nil).Body.Bytes()
	corrupt := append([]byte{}, baked...)
	corrupt[60] ^= 0xff
	for name, body := range map[string]multipartBody{
		"truncated_png": upload(t, "a.png", baked[:len(baked)/2], ""),
		"bad_crc":       upload(t, "a.png", corrupt, ""),
		"plain_png":     upload(t, "a.png", testPNG(t, 4, 4, color.NRGBA{A: 255}), ""),
		"not_a_jws":     upload(t, "a.jwt", []byte("hello"), ""),
		"empty_file":    upload(t, "a.jwt", nil, ""),
		"no_file_part":  csvUpload(t, "x", "a.csv", "name,email\n"),
	} {
		w := s.do(http.MethodPost, "/api/v1/verify", "", body)
		if p := wantProblem(t, w, http.StatusUnprocessableEntity, "INVALID_CREDENTIAL_FILE"); p.Detail == "" {
			t.Errorf("%s: no detail", name)
		}
	}
	// The JSON form is unchanged.
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/verify", "", map[string]string{"credential": c.JWT}, &v)

	// A private credential's baked badge: its issuer, nobody else.
	var private testCredential
	s.expect(http.StatusCreated, http.MethodPost, "/api/v1/orgs/"+o.ID+"/credentials", owner.Token,
		map[string]any{"badgeId": hosted.ID, "recipient": map[string]string{"name": "Pia", "email": uniqueEmail("private")}, "public": false}, &private)
	wantProblem(t, s.do(http.MethodGet, "/credentials/"+private.ID+".png", "", nil), http.StatusForbidden, "CREDENTIAL_PRIVATE")
	if w := s.do(http.MethodGet, "/credentials/"+private.ID+".png", owner.Token, nil); w.Code != http.StatusOK {
		t.Fatalf("the issuer's private baked badge: %d", w.Code)
	}
	wantProblem(t, s.do(http.MethodGet, "/credentials/CRD-ZZZZZZZZ.png", "", nil), http.StatusNotFound, "NOT_FOUND")
}

// An uploaded credential file over 4 MiB is 413 PAYLOAD_TOO_LARGE, sent
// with its length or chunked (of unknown length).
func TestVerifyUploadTooLarge(t *testing.T) {
	s := newTestServer(t)
	form := upload(t, "huge.png", append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, baking.MaxPNGSize)...), "")
	for _, chunked := range []bool{false, true} {
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/api/v1/verify", bytes.NewReader(form.data))
		req.Header.Set("Content-Type", form.contentType)
		if chunked {
			req.ContentLength = -1
		}
		w := httptest.NewRecorder()
		s.h.ServeHTTP(w, req)
		wantProblem(t, w, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE")
	}
}
