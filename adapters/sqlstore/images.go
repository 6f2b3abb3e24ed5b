package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

type imageRow struct {
	bun.BaseModel `bun:"table:images,alias:img"`

	Hash        string    `bun:"hash,pk"`
	ContentType string    `bun:"content_type"`
	Data        []byte    `bun:"data"`
	Width       int       `bun:"width"`
	Height      int       `bun:"height"`
	CreatedAt   time.Time `bun:"created_at"`
}

// Images is the bun ports.Images.
type Images struct{ s *Store }

var _ ports.Images = (*Images)(nil)

// Images returns the uploaded images.
func (s *Store) Images() ports.Images { return &Images{s} }

// Put inserts img; ON CONFLICT DO NOTHING makes a second upload of the
// same bytes, concurrent or not, a no-op without aborting a PostgreSQL
// transaction.
func (r *Images) Put(ctx context.Context, img domain.Image) error {
	row := &imageRow{Hash: img.Hash, ContentType: img.ContentType, Data: img.Data, Width: img.Width, Height: img.Height,
		CreatedAt: img.CreatedAt.UTC()}
	if _, err := r.s.idb(ctx).NewInsert().Model(row).On("CONFLICT (hash) DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("store image %s: %w", img.Hash, err)
	}
	return nil
}

// Get returns the image with hash.
func (r *Images) Get(ctx context.Context, hash string) (domain.Image, error) {
	var row imageRow
	if err := r.s.idb(ctx).NewSelect().Model(&row).Where("hash = ?", hash).Scan(ctx); err != nil {
		return domain.Image{}, notFound(err, "get image "+hash)
	}
	return domain.Image{Hash: row.Hash, ContentType: row.ContentType, Data: row.Data, Width: row.Width, Height: row.Height,
		CreatedAt: utc(row.CreatedAt)}, nil
}
