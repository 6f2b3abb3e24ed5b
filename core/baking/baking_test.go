package baking_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"

	"github.com/credence-dev/credence/core/baking"
)

const jws = "eyJhbGciOiJFUzI1NiJ9.eyJpZCI6IkNSRC0xIn0.c2lnbmF0dXJl"

// plainPNG encodes a small image with the standard library.
func plainPNG(t testing.TB) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	img.Set(1, 1, color.NRGBA{R: 200, A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withChunk inserts a chunk of type typ with data after IHDR (which ends
// at byte 33 of a PNG).
func withChunk(p []byte, typ string, data []byte) []byte {
	var c []byte
	c = binary.BigEndian.AppendUint32(c, uint32(len(data)))
	c = append(c, typ...)
	c = append(c, data...)
	c = binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
	out := append([]byte{}, p[:33]...)
	out = append(out, c...)
	return append(out, p[33:]...)
}

func itxt(keyword string, compressed byte, text string) []byte {
	return append([]byte(keyword+"\x00"+string([]byte{compressed, 0})+"en\x00\x00"), text...)
}

func TestBakeExtractRoundTrip(t *testing.T) {
	plain := plainPNG(t)
	baked, err := baking.Bake(plain, jws)
	if err != nil {
		t.Fatal(err)
	}
	got, err := baking.Extract(baked)
	if err != nil || got != jws {
		t.Fatalf("Extract = %q, %v; want the baked JWS", got, err)
	}
	// The image is unchanged: the standard decoder reads the same pixels.
	a, _ := png.Decode(bytes.NewReader(plain))
	b, err := png.Decode(bytes.NewReader(baked))
	if err != nil {
		t.Fatalf("the baked PNG does not decode: %v", err)
	}
	if a.At(1, 1) != b.At(1, 1) || a.Bounds() != b.Bounds() {
		t.Error("baking changed the pixels")
	}
	// Baking again replaces the credential: still one chunk, the new text.
	again, err := baking.Bake(baked, jws+"x")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := baking.Extract(again); err != nil || got != jws+"x" {
		t.Fatalf("re-baked Extract = %q, %v", got, err)
	}
	if n := bytes.Count(again, []byte(baking.Keyword)); n != 1 {
		t.Errorf("re-baked PNG carries the keyword %d times", n)
	}
	// The chunk is what the specification writes: uncompressed, keyword
	// first, right after IHDR.
	if !bytes.Equal(baked[33+4:33+8], []byte("iTXt")) || !bytes.HasPrefix(baked[33+8:], []byte("openbadgecredential\x00\x00\x00\x00\x00"+jws)) {
		t.Errorf("chunk after IHDR = %q", baked[33:33+40])
	}
}

func TestExtractRefuses(t *testing.T) {
	plain := plainPNG(t)
	baked, err := baking.Bake(plain, jws)
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte{}, baked...)
	flipped[33+8+30] ^= 1 // a byte of the credential: the CRC no longer matches
	for _, tc := range []struct {
		name string
		png  []byte
		want string
	}{
		{"not_png", []byte(jws), "PNG signature"},
		{"empty", nil, "PNG signature"},
		{"truncated", baked[:len(baked)-5], "ends inside"},
		{"bad_crc", flipped, "CRC"},
		{"trailing_bytes", append(append([]byte{}, baked...), 0), "follow"},
		{"two_chunks", withChunk(baked, "iTXt", itxt(baking.Keyword, 0, jws)), "more than one"},
		{"compressed", withChunk(plain, "iTXt", itxt(baking.Keyword, 1, "x")), "compressed"},
		{"empty_text", withChunk(plain, "iTXt", itxt(baking.Keyword, 0, "")), "empty"},
		{"too_long", withChunk(plain, "iTXt", itxt(baking.Keyword, 0, strings.Repeat("a", baking.MaxCredentialSize+1))), "longer"},
		{"bad_itxt", withChunk(plain, "iTXt", []byte(baking.Keyword)), "iTXt"},
		{"no_ihdr", append(append([]byte{}, baking.Signature...), plain[33:]...), "IHDR"},
		{"huge_length", append(append([]byte{}, plain[:33]...), 0xff, 0xff, 0xff, 0xff, 'i', 'T', 'X', 't', 0, 0, 0, 0), "longer than the file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := baking.Extract(tc.png)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Extract = %q, %v; want an error saying %q", got, err, tc.want)
			}
		})
	}
	if _, err := baking.Extract(plain); !errors.Is(err, baking.ErrNoCredential) {
		t.Errorf("Extract(unbaked) = %v, want ErrNoCredential", err)
	}
	// Another tool's iTXt chunk is not the credential.
	if got, err := baking.Extract(withChunk(baked, "iTXt", itxt("Comment", 0, "hello"))); err != nil || got != jws {
		t.Errorf("Extract beside a Comment chunk = %q, %v", got, err)
	}
}

func TestBakeRefuses(t *testing.T) {
	if _, err := baking.Bake([]byte("GIF89a"), jws); err == nil {
		t.Error("Bake baked into a GIF")
	}
	if _, err := baking.Bake(plainPNG(t), ""); err == nil {
		t.Error("Bake baked an empty credential")
	}
}

// FuzzExtract feeds Extract arbitrary files: it must never panic, and
// whatever it accepts must bake and extract back to the same credential.
func FuzzExtract(f *testing.F) {
	plain := plainPNG(f)
	baked, err := baking.Bake(plain, jws)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(baked)
	f.Add(plain)
	f.Add(withChunk(baked, "iTXt", itxt(baking.Keyword, 0, jws)))
	f.Add(withChunk(plain, "iTXt", itxt(baking.Keyword, 1, "x")))
	f.Add(baked[:40])
	f.Add([]byte(jws))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := baking.Extract(b)
		if err != nil {
			return
		}
		if got == "" || len(got) > baking.MaxCredentialSize {
			t.Fatalf("Extract accepted %d bytes of credential", len(got))
		}
		rebaked, err := baking.Bake(b, got)
		if err != nil {
			t.Fatalf("Bake refused a PNG Extract read: %v", err)
		}
		if again, err := baking.Extract(rebaked); err != nil || again != got {
			t.Fatalf("re-extract = %q, %v; want %q", again, err, got)
		}
	})
}
