package ports

import (
	"context"
	"time"

	"github.com/credence-dev/credence/core/domain"
)

// Badges persists badge templates.
type Badges interface {
	// Create inserts b; a slug used by another badge of the org returns an
	// error matching domain.ErrSlugTaken.
	Create(ctx context.Context, b domain.Badge) error
	Get(ctx context.Context, orgID, id string) (domain.Badge, error)
	GetBySlug(ctx context.Context, orgID, slug string) (domain.Badge, error)
	// Update overwrites b's editable fields, Active and UpdatedAt. When b
	// changes a signed field of a badge that is locked in the database, it
	// returns an error matching domain.ErrBadgeLocked and writes nothing.
	Update(ctx context.Context, b domain.Badge) error
	// Lock marks the badge as having issued a credential, provided it is
	// still as it was at version (its UpdatedAt when read): a badge updated
	// since returns an error matching domain.ErrInvalidState and stays as it
	// is, so nothing is signed from fields that changed meanwhile. Locking a
	// locked badge of that version is a no-op.
	Lock(ctx context.Context, id string, version time.Time) error
	// Delete removes an unlocked badge; a locked one returns domain.ErrBadgeLocked.
	Delete(ctx context.Context, orgID, id string) error
	// List returns the org's badges, oldest first, after the cursor.
	List(ctx context.Context, orgID string, page Page) ([]domain.Badge, error)
	// Count counts the org's active badges.
	Count(ctx context.Context, orgID string) (int, error)
}

// Page is a cursor position: After is the last ID of the previous page.
type Page struct {
	After string
	Limit int
}

// Images persists uploaded images, keyed by the SHA-256 of their bytes.
// Images are never changed and, being named by their content, never
// deleted: a credential signed with an image URL keeps it.
type Images interface {
	// Put stores img unless an image with its hash is stored already (the
	// same bytes): storing one twice, or concurrently, keeps one and is no
	// error.
	Put(ctx context.Context, img domain.Image) error
	// Get returns the image with that hash, or an error matching
	// domain.ErrNotFound.
	Get(ctx context.Context, hash string) (domain.Image, error)
}
