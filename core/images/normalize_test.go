package images_test

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"strings"
	"testing"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/images"
)

func picture(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, color.NRGBA{R: uint8(x * 7), G: uint8(y * 5), B: 90, A: 255})
		}
	}
	return img
}

func pngOf(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegOf(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withTextChunk inserts a tEXt chunk (metadata) after a PNG's IHDR.
func withTextChunk(p []byte, text string) []byte {
	var c []byte
	c = binary.BigEndian.AppendUint32(c, uint32(len(text)))
	c = append(c, "tEXt"...)
	c = append(c, text...)
	c = binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
	out := append([]byte{}, p[:33]...)
	out = append(out, c...)
	return append(out, p[33:]...)
}

// withEXIF inserts an APP1 (Exif) segment after a JPEG's SOI marker.
func withEXIF(j []byte, payload string) []byte {
	seg := append([]byte("Exif\x00\x00"), payload...)
	out := append([]byte{}, j[:2]...)
	out = append(out, 0xff, 0xe1)
	out = binary.BigEndian.AppendUint16(out, uint16(len(seg)+2))
	out = append(out, seg...)
	return append(out, j[2:]...)
}

func TestNormalizeReencodes(t *testing.T) {
	src := picture(40, 30)
	// A PNG stays a PNG, its metadata gone, its pixels kept.
	p := withTextChunk(pngOf(t, src), "Author\x00secret GPS 48.85N")
	if _, err := png.Decode(bytes.NewReader(p)); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	img, err := images.Normalize(p, "image/png")
	if err != nil {
		t.Fatal(err)
	}
	if img.ContentType != domain.ImagePNG || img.Width != 40 || img.Height != 30 || img.Hash != images.Hash(img.Data) {
		t.Errorf("PNG → %s %dx%d hash ok=%v", img.ContentType, img.Width, img.Height, img.Hash == images.Hash(img.Data))
	}
	if bytes.Contains(img.Data, []byte("secret")) {
		t.Error("the PNG's text chunk survived")
	}
	dec, err := png.Decode(bytes.NewReader(img.Data))
	if err != nil || color.NRGBAModel.Convert(dec.At(13, 7)) != color.Color(src.NRGBAAt(13, 7)) {
		t.Errorf("pixels changed: %v, %v", err, dec.At(13, 7))
	}

	// A JPEG stays a JPEG without its EXIF; parameters of the type are fine.
	j := withEXIF(jpegOf(t, src), "secret GPS 48.85N")
	if _, err := jpeg.Decode(bytes.NewReader(j)); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	img, err = images.Normalize(j, "image/jpeg; charset=binary")
	if err != nil {
		t.Fatal(err)
	}
	if img.ContentType != domain.ImageJPEG || img.Ext() != "jpg" || bytes.Contains(img.Data, []byte("secret")) {
		t.Errorf("JPEG → %s, EXIF kept: %v", img.ContentType, bytes.Contains(img.Data, []byte("secret")))
	}

	// A WebP is stored as a PNG.
	w, err := os.ReadFile("testdata/blue-purple-pink.lossy.webp")
	if err != nil {
		t.Fatal(err)
	}
	img, err = images.Normalize(w, "image/webp")
	if err != nil {
		t.Fatal(err)
	}
	if img.ContentType != domain.ImagePNG || img.Ext() != "png" || !bytes.HasPrefix(img.Data, []byte("\x89PNG")) || img.Width == 0 {
		t.Errorf("WebP → %s %dx%d", img.ContentType, img.Width, img.Height)
	}

	// The same picture is the same image.
	again, err := images.Normalize(withTextChunk(pngOf(t, src), "Other\x00x"), "image/png")
	if err != nil {
		t.Fatal(err)
	}
	first, _ := images.Normalize(p, "image/png")
	if again.Hash != first.Hash {
		t.Error("the same pixels with other metadata got another hash")
	}
}

// bombPNG is a tiny PNG header declaring a w×h image.
func bombPNG(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 6, 0, 0, 0)
	var c []byte
	c = binary.BigEndian.AppendUint32(c, uint32(len(ihdr)))
	c = append(c, "IHDR"...)
	c = append(c, ihdr...)
	c = binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
	return append([]byte("\x89PNG\r\n\x1a\n"), c...)
}

func TestNormalizeRefuses(t *testing.T) {
	src := picture(8, 8)
	for _, tc := range []struct {
		name, ct string
		data     []byte
		want     string
	}{
		{"svg", "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), "SVG"},
		{"gif", "image/gif", []byte("GIF89a"), "not an accepted image type"},
		{"no_type", "", pngOf(t, src), "not an accepted image type"},
		{"empty", "image/png", nil, "empty"},
		{"over_1mb", "image/png", append(pngOf(t, src), make([]byte, images.MaxBytes)...), "at most 1048576"},
		{"type_mismatch", "image/png", jpegOf(t, src), "JPEG image, not image/png"},
		{"not_an_image", "image/png", []byte("hello, world"), "not a PNG"},
		{"svg_as_png", "image/png", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), "not a PNG"},
		{"bomb_side", "image/png", bombPNG(100000, 10), "100000×10"},
		{"bomb_pixels", "image/png", bombPNG(2048, 2049), "2048×2049"},
		{"grows_when_reencoded", "image/jpeg", noisyJPEG(t, 2048, 23), "once re-encoded"},
		{"truncated", "image/png", pngOf(t, src)[:60], "cannot be"},
		{"bad_jpeg", "image/jpeg", []byte{0xff, 0xd8, 0xff, 0xe0, 0, 2, 0xff, 0xd9}, "cannot be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := images.Normalize(tc.data, tc.ct)
			if !errors.Is(err, &domain.Error{Code: domain.CodeInvalidImage}) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Normalize = %v; want INVALID_IMAGE saying %q", err, tc.want)
			}
		})
	}
}

func TestPNGScalesJPEGDown(t *testing.T) {
	img, err := images.Normalize(jpegOf(t, picture(2000, 500)), "image/jpeg")
	if err != nil {
		t.Fatal(err)
	}
	p, err := images.PNG(img)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(p))
	if err != nil || cfg.Width != images.MaxPNGSide || cfg.Height != 256 {
		t.Fatalf("PNG of a 2000×500 JPEG = %dx%d, %v", cfg.Width, cfg.Height, err)
	}
	small, _ := images.Normalize(pngOf(t, picture(5, 5)), "image/png")
	if p, _ := images.PNG(small); !bytes.Equal(p, small.Data) {
		t.Error("PNG changed a PNG")
	}
	if _, err := png.Decode(bytes.NewReader(images.Plain("Go basics"))); err != nil {
		t.Errorf("Plain is not a PNG: %v", err)
	}
}

// FuzzNormalize feeds Normalize arbitrary bytes under each accepted type:
// it never panics, refuses with INVALID_IMAGE, and what it accepts is a
// decodable image of the stored type within the limits.
func FuzzNormalize(f *testing.F) {
	src := picture(6, 4)
	f.Add(pngOf(f, src), "image/png")
	f.Add(jpegOf(f, src), "image/jpeg")
	if w, err := os.ReadFile("testdata/blue-purple-pink.lossy.webp"); err == nil {
		f.Add(w, "image/webp")
	}
	f.Add(bombPNG(5000, 5000), "image/png")
	f.Add([]byte("<svg/>"), "image/svg+xml")
	f.Fuzz(func(t *testing.T, data []byte, ct string) {
		img, err := images.Normalize(data, ct)
		if err != nil {
			if !errors.Is(err, &domain.Error{Code: domain.CodeInvalidImage}) {
				t.Fatalf("error without INVALID_IMAGE: %v", err)
			}
			return
		}
		if img.Width > images.MaxSide || img.Height > images.MaxSide || img.Hash != images.Hash(img.Data) {
			t.Fatalf("accepted %dx%d", img.Width, img.Height)
		}
		decode := png.DecodeConfig
		if img.ContentType == domain.ImageJPEG {
			decode = jpeg.DecodeConfig
		}
		if _, err := decode(bytes.NewReader(img.Data)); err != nil {
			t.Fatalf("stored %s does not decode: %v", img.ContentType, err)
		}
	})
}

// noisyJPEG is an n×n JPEG of random pixels at a low quality: about
// 0.94 MB, which re-encoded at JPEGQuality takes about 2.3 MB.
func noisyJPEG(t *testing.T, n, quality int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	if _, err := rand.Read(img.Pix); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: quality}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
