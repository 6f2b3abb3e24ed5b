package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strings"
	"testing"

	"github.com/credence-dev/credence/contract-tests/harness"
)

// TestImagesAcrossReplicas runs two apps/api replicas on one PostgreSQL
// database: an image uploaded through one is served by the other, byte
// for byte, with its caching headers (images live in the database, not on
// a replica's disk).
func TestImagesAcrossReplicas(t *testing.T) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	shared := withEnv("CREDENCE_DATABASE_URL", harness.FreshPostgresDB(t), "CREDENCE_MASTER_KEY", base64.StdEncoding.EncodeToString(key))
	a := envFor(t, startServer(t, "postgres", shared))
	b := startServer(t, "postgres", shared)

	owner, o := a.newIssuer(t, "")
	c := a.as(t, owner.Token)
	badge := createBadge(c, o.ID, 0)
	var out struct {
		ImageURL string `json:"imageUrl"`
	}
	c.expect(http.StatusOK, http.MethodPut, "/api/v1/orgs/"+o.ID+"/badges/"+badge.ID+"/image", formBody{"image/png", tinyPNG(t)}, &out)
	path, ok := strings.CutPrefix(out.ImageURL, a.url)
	if !ok || !strings.HasPrefix(path, "/images/") {
		t.Fatalf("imageUrl %q is not hosted by %s", out.ImageURL, a.url)
	}
	fromA := a.anon(t).expect(http.StatusOK, http.MethodGet, path, nil, nil)
	fromB := b.anon(t).expect(http.StatusOK, http.MethodGet, path, nil, nil)
	if !bytes.Equal(fromA.Body, fromB.Body) || fromB.Header.Get("Content-Type") != "image/png" ||
		fromB.Header.Get("ETag") != fromA.Header.Get("ETag") || !strings.Contains(fromB.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("replica B serves %d bytes %v, replica A %d bytes %v", len(fromB.Body), fromB.Header, len(fromA.Body), fromA.Header)
	}
	if _, err := png.Decode(bytes.NewReader(fromB.Body)); err != nil {
		t.Fatalf("served image: %v", err)
	}
}

// tinyPNG is a 24×24 PNG with one red pixel.
func tinyPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 24, 24))
	img.SetNRGBA(3, 4, color.NRGBA{R: 255, A: 255})
	var pic bytes.Buffer
	if err := png.Encode(&pic, img); err != nil {
		t.Fatal(err)
	}
	return pic.Bytes()
}
