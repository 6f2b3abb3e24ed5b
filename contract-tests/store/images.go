package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"testing"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// makeImage returns an image of distinct bytes (not a decodable picture:
// the store keeps bytes and does not look at them).
func makeImage(ct string) domain.Image {
	data := append([]byte("\x89PNG\r\n\x1a\n"), uniq()+"\x00\xff binary"...)
	sum := sha256.Sum256(data)
	return domain.Image{Hash: hex.EncodeToString(sum[:]), ContentType: ct, Data: data, Width: 3, Height: 2, CreatedAt: t0}
}

// Images: Put stores an image that Get returns byte for byte; "storing
// one twice … keeps one and is no error" (the first one's CreatedAt
// stays); Get of an unknown hash is ErrNotFound.
func testImages(t *testing.T, s ports.Store) {
	ctx := t.Context()
	for _, ct := range []string{domain.ImagePNG, domain.ImageJPEG} {
		img := makeImage(ct)
		must(t, s.Images().Put(ctx, img))
		got, err := s.Images().Get(ctx, img.Hash)
		must(t, err)
		equal(t, got, img)
		if !bytes.Equal(got.Data, img.Data) {
			t.Fatalf("data differs")
		}
		again := img
		again.CreatedAt = t0.Add(1)
		must(t, s.Images().Put(ctx, again))
		got, err = s.Images().Get(ctx, img.Hash)
		must(t, err)
		equal(t, got, img)
	}
	_, err := s.Images().Get(ctx, makeImage(domain.ImagePNG).Hash)
	wantErr(t, err, domain.ErrNotFound)
}

// Images.Put: "storing one … concurrently keeps one and is no error",
// inside transactions too (a conflict must not abort PostgreSQL's).
func testImagesConcurrent(t *testing.T, s ports.Store) {
	ctx := t.Context()
	img := makeImage(domain.ImagePNG)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			errs[i] = s.WithinTx(ctx, func(ctx context.Context) error {
				if err := s.Images().Put(ctx, img); err != nil {
					return err
				}
				_, err := s.Images().Get(ctx, img.Hash) // the transaction is still usable
				return err
			})
		})
	}
	wg.Wait()
	for _, err := range errs {
		must(t, err)
	}
	got, err := s.Images().Get(ctx, img.Hash)
	must(t, err)
	equal(t, got, img)
}

// An image put in a transaction that fails is not stored.
func testImagesRollback(t *testing.T, s ports.Store) {
	ctx := t.Context()
	img := makeImage(domain.ImageJPEG)
	err := s.WithinTx(ctx, func(ctx context.Context) error {
		must(t, s.Images().Put(ctx, img))
		return errBoom
	})
	wantErr(t, err, errBoom)
	_, err = s.Images().Get(ctx, img.Hash)
	wantErr(t, err, domain.ErrNotFound)
}
