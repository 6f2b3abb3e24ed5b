// Package images takes uploaded badge images and organization logos: it
// refuses what is not a PNG, JPEG or WebP of sane size, decodes and
// re-encodes the rest (so no metadata, and no payload hidden after the
// image data, survives), stores them under the SHA-256 of their bytes and
// gives each its permanent URL. It also draws the plain image a baked
// badge is made from when the badge has no hosted image.
package images

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"mime"
	"strings"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"

	"github.com/credence-dev/credence/core/domain"
)

// Limits on uploads. MaxBytes is the contract's 1 MB; the pixel limits
// refuse decompression bombs (a small file declaring a huge image) before
// any pixel is decoded: a decoded image takes 4 to 8 bytes per pixel, so
// one upload decodes into at most 32 MB (a badge is shown at a few hundred
// pixels). MaxStored bounds what the re-encoding makes: a 1 MB WebP or a
// noisy PNG can grow as a lossless PNG, and a baked badge must stay under
// baking.MaxPNGSize.
const (
	MaxBytes  = 1 << 20
	MaxSide   = 2048
	MaxPixels = 4 << 20
	MaxStored = 2 << 20
)

// decoding admits this many decodes at once: each may hold tens of
// megabytes and seconds of CPU, so concurrent uploads queue rather than
// exhaust a small replica's memory.
var decoding = make(chan struct{}, 2)

// JPEGQuality is the quality uploaded JPEGs are re-encoded at.
const JPEGQuality = 90

func invalid(format string, args ...any) error {
	return domain.Errorf(domain.CodeInvalidImage, format, args...)
}

// format is what the file's first bytes say it is.
func sniff(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(b, []byte{0xff, 0xd8, 0xff}):
		return "jpeg"
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return "webp"
	}
	return ""
}

// Normalize checks an upload declared as contentType and returns it
// re-encoded: a PNG stays a PNG, a JPEG is re-encoded as a JPEG, and a
// WebP is stored as a PNG (Credence encodes no WebP; PNG keeps it
// lossless and any transparency). Anything else, SVG included (it can
// carry scripts), a file over MaxBytes, one whose bytes are not the
// declared type, one larger than MaxSide on a side or MaxPixels in all,
// and one that does not decode, is INVALID_IMAGE. Hash, Data and
// dimensions are set; CreatedAt is the caller's.
func Normalize(data []byte, contentType string) (domain.Image, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(contentType))
	}
	declared := map[string]string{"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/webp": "webp"}[mt]
	switch {
	case mt == "image/svg+xml":
		return domain.Image{}, invalid("SVG images are not accepted (they can carry scripts): upload a PNG, JPEG or WebP")
	case declared == "":
		return domain.Image{}, invalid("Content-Type %q is not an accepted image type: send image/png, image/jpeg or image/webp", contentType)
	case len(data) == 0:
		return domain.Image{}, invalid("the body is empty: send the image's bytes")
	case len(data) > MaxBytes:
		return domain.Image{}, invalid("the image is %d bytes; at most %d (1 MB) are accepted", len(data), MaxBytes)
	}
	if got := sniff(data); got != declared {
		if got == "" {
			return domain.Image{}, invalid("the body is not a %s image", strings.ToUpper(declared))
		}
		return domain.Image{}, invalid("the body is a %s image, not %s as Content-Type says", strings.ToUpper(got), mt)
	}
	decodeConfig, decode := png.DecodeConfig, png.Decode
	switch declared {
	case "jpeg":
		decodeConfig, decode = jpeg.DecodeConfig, jpeg.Decode
	case "webp":
		decodeConfig, decode = webp.DecodeConfig, webp.Decode
	}
	cfg, err := decodeConfig(bytes.NewReader(data))
	if err != nil {
		return domain.Image{}, invalid("the image cannot be read: %v", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > MaxSide || cfg.Height > MaxSide || cfg.Width*cfg.Height > MaxPixels {
		return domain.Image{}, invalid("the image is %d×%d pixels; at most %d on a side and %d in all are accepted", cfg.Width, cfg.Height, MaxSide, MaxPixels)
	}
	decoding <- struct{}{}
	defer func() { <-decoding }()
	img, err := decode(bytes.NewReader(data))
	if err != nil {
		return domain.Image{}, invalid("the image cannot be decoded: %v", err)
	}
	var out bytes.Buffer
	ct := domain.ImagePNG
	if declared == "jpeg" {
		ct = domain.ImageJPEG
		err = jpeg.Encode(&out, img, &jpeg.Options{Quality: JPEGQuality})
	} else {
		err = png.Encode(&out, img)
	}
	if err != nil {
		return domain.Image{}, invalid("the image cannot be re-encoded: %v", err)
	}
	if out.Len() > MaxStored {
		return domain.Image{}, invalid("the image takes %d bytes once re-encoded without its metadata; at most %d are kept: upload a smaller or simpler picture", out.Len(), MaxStored)
	}
	b := img.Bounds()
	return domain.Image{Hash: Hash(out.Bytes()), ContentType: ct, Data: out.Bytes(), Width: b.Dx(), Height: b.Dy()}, nil
}

// Hash is the lowercase hex SHA-256 that names an image.
func Hash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// MaxPNGSide bounds the side of a JPEG converted to PNG: a 4096-pixel
// photograph takes tens of megabytes as a PNG, and a baked badge is shown
// at a few hundred pixels.
const MaxPNGSide = 1024

// PNG returns img as PNG bytes: its own for a PNG; for a JPEG, the decoded
// picture scaled down to at most MaxPNGSide pixels a side and encoded as
// a PNG.
func PNG(img domain.Image) ([]byte, error) {
	if img.ContentType == domain.ImagePNG {
		return img.Data, nil
	}
	var dec image.Image
	dec, err := jpeg.Decode(bytes.NewReader(img.Data))
	if err != nil {
		return nil, fmt.Errorf("decode stored image %s: %w", img.Hash, err)
	}
	if b := dec.Bounds(); b.Dx() > MaxPNGSide || b.Dy() > MaxPNGSide {
		w, h := MaxPNGSide, b.Dy()*MaxPNGSide/b.Dx()
		if b.Dy() > b.Dx() {
			w, h = b.Dx()*MaxPNGSide/b.Dy(), MaxPNGSide
		}
		small := image.NewRGBA(image.Rect(0, 0, max(w, 1), max(h, 1)))
		draw.CatmullRom.Scale(small, small.Bounds(), dec, b, draw.Src, nil)
		dec = small
	}
	var out bytes.Buffer
	if err := png.Encode(&out, dec); err != nil {
		return nil, fmt.Errorf("encode image %s as PNG: %w", img.Hash, err)
	}
	return out.Bytes(), nil
}

// Plain draws the image a badge without a hosted image is baked into: a
// 256-pixel disc on transparency, its colour chosen by seed (the badge's
// name) so that different badges look different. It never fetches the
// badge's external image: a server fetching URLs its users choose can be
// made to reach its own network.
func Plain(seed string) []byte {
	const size = 256
	sum := sha256.Sum256([]byte(seed))
	fill := color.NRGBA{R: 40 + sum[0]%160, G: 40 + sum[1]%160, B: 40 + sum[2]%160, A: 255}
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	const r = size/2 - 8
	for y := range size {
		for x := range size {
			dx, dy := x-size/2, y-size/2
			if d := dx*dx + dy*dy; d <= r*r {
				img.SetNRGBA(x, y, fill)
			}
		}
	}
	var out bytes.Buffer
	_ = png.Encode(&out, img) // encoding an NRGBA in memory cannot fail
	return out.Bytes()
}
