package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

type badgeRow struct {
	bun.BaseModel `bun:"table:badges,alias:b"`

	ID            string    `bun:"id,pk"`
	OrgID         string    `bun:"org_id"`
	Name          string    `bun:"name"`
	Slug          string    `bun:"slug"`
	Description   string    `bun:"description"`
	Criteria      string    `bun:"criteria"`
	ImageURL      string    `bun:"image_url"`
	Tags          string    `bun:"tags"` // JSON array, written and read here
	ExpiresInDays *int      `bun:"expires_in_days"`
	Active        bool      `bun:"active"`
	Locked        bool      `bun:"locked"`
	CreatedAt     time.Time `bun:"created_at"`
	UpdatedAt     time.Time `bun:"updated_at"`
}

// badgeFields are the columns of badgeRow, for reads that scan them
// without bun (see column).
var badgeFields = []column[badgeRow]{
	{"id", func(r *badgeRow) any { return stringDest{&r.ID} }},
	{"org_id", func(r *badgeRow) any { return stringDest{&r.OrgID} }},
	{"name", func(r *badgeRow) any { return stringDest{&r.Name} }},
	{"slug", func(r *badgeRow) any { return stringDest{&r.Slug} }},
	{"description", func(r *badgeRow) any { return stringDest{&r.Description} }},
	{"criteria", func(r *badgeRow) any { return stringDest{&r.Criteria} }},
	{"image_url", func(r *badgeRow) any { return stringDest{&r.ImageURL} }},
	{"tags", func(r *badgeRow) any { return stringDest{&r.Tags} }},
	{"expires_in_days", func(r *badgeRow) any { return intPtrDest{&r.ExpiresInDays} }},
	{"active", func(r *badgeRow) any { return boolDest{&r.Active} }},
	{"locked", func(r *badgeRow) any { return boolDest{&r.Locked} }},
	{"created_at", func(r *badgeRow) any { return timeDest{&r.CreatedAt} }},
	{"updated_at", func(r *badgeRow) any { return timeDest{&r.UpdatedAt} }},
}

func toBadgeRow(b domain.Badge) (*badgeRow, error) {
	tags, err := json.Marshal(b.Tags)
	if err != nil {
		return nil, fmt.Errorf("encode tags: %w", err)
	}
	return &badgeRow{ID: b.ID, OrgID: b.OrgID, Name: b.Name, Slug: b.Slug, Description: b.Description,
		Criteria: b.Criteria, ImageURL: b.ImageURL, Tags: string(tags), ExpiresInDays: b.ExpiresInDays,
		Active: b.Active, Locked: b.Locked, CreatedAt: b.CreatedAt, UpdatedAt: b.UpdatedAt}, nil
}

func (r *badgeRow) toDomain() (domain.Badge, error) {
	var tags []string
	if err := json.Unmarshal([]byte(r.Tags), &tags); err != nil {
		return domain.Badge{}, fmt.Errorf("decode tags of badge %s: %w", r.ID, err)
	}
	return domain.Badge{ID: r.ID, OrgID: r.OrgID, Name: r.Name, Slug: r.Slug, Description: r.Description,
		Criteria: r.Criteria, ImageURL: r.ImageURL, Tags: tags, ExpiresInDays: r.ExpiresInDays,
		Active: r.Active, Locked: r.Locked, CreatedAt: utc(r.CreatedAt), UpdatedAt: utc(r.UpdatedAt)}, nil
}

// Badges is the bun ports.Badges.
type Badges struct{ s *Store }

var _ ports.Badges = (*Badges)(nil)

// Create inserts b; a slug used by another badge of the org returns
// domain.ErrSlugTaken.
func (r *Badges) Create(ctx context.Context, b domain.Badge) error {
	row, err := toBadgeRow(b)
	if err != nil {
		return fmt.Errorf("create badge %s: %w", b.ID, err)
	}
	db := r.s.idb(ctx)
	return insertUnique(ctx, db.NewInsert().Model(row), "create badge "+b.ID,
		conflict{db.NewSelect().Model((*badgeRow)(nil)).Where("org_id = ?", b.OrgID).Where("slug = ?", b.Slug),
			fmt.Errorf("slug %q: %w", b.Slug, domain.ErrSlugTaken)})
}

// Get returns the org's badge with id.
func (r *Badges) Get(ctx context.Context, orgID, id string) (domain.Badge, error) {
	return r.get(ctx, r.s.idb(ctx).NewSelect(), "get badge "+id, "b.org_id = ? AND b.id = ?", orgID, id)
}

// GetBySlug returns the org's badge with slug.
func (r *Badges) GetBySlug(ctx context.Context, orgID, slug string) (domain.Badge, error) {
	return r.get(ctx, r.s.idb(ctx).NewSelect(), "get badge by slug "+slug, "b.org_id = ? AND b.slug = ?", orgID, slug)
}

func (r *Badges) get(ctx context.Context, q *bun.SelectQuery, what, where string, args ...any) (domain.Badge, error) {
	var row badgeRow
	if err := q.Model(&row).Where(where, args...).Scan(ctx); err != nil {
		return domain.Badge{}, notFound(err, what)
	}
	return row.toDomain()
}

// Update overwrites b's editable fields, Active and UpdatedAt. The stored
// row is read and locked (FOR UPDATE on PostgreSQL; SQLite transactions
// hold the write lock) in the same transaction as the write, so a
// concurrent Lock either comes first and is seen, or waits.
func (r *Badges) Update(ctx context.Context, b domain.Badge) error {
	row, err := toBadgeRow(b)
	if err != nil {
		return fmt.Errorf("update badge %s: %w", b.ID, err)
	}
	return r.s.WithinTx(ctx, func(ctx context.Context) error {
		db := r.s.idb(ctx)
		stored, err := r.get(ctx, r.s.forUpdate(db.NewSelect()), "update badge "+b.ID, "b.org_id = ? AND b.id = ?", b.OrgID, b.ID)
		if err != nil {
			return err
		}
		if stored.Locked && !stored.SameSignedFields(b) {
			return fmt.Errorf("update badge %s: %w", b.ID, domain.ErrBadgeLocked)
		}
		if b.Slug != stored.Slug {
			// Checked first so a taken slug never fails the statement, which
			// would abort the caller's PostgreSQL transaction.
			taken, err := db.NewSelect().Model((*badgeRow)(nil)).
				Where("org_id = ?", b.OrgID).Where("slug = ?", b.Slug).Where("id <> ?", b.ID).Exists(ctx)
			if err != nil {
				return fmt.Errorf("update badge %s: %w", b.ID, err)
			}
			if taken {
				return fmt.Errorf("update badge %s: slug %q: %w", b.ID, b.Slug, domain.ErrSlugTaken)
			}
		}
		_, err = db.NewUpdate().Model(row).
			Column("name", "slug", "description", "criteria", "image_url", "tags", "expires_in_days", "active", "updated_at").
			Where("b.org_id = ?", b.OrgID).Where("b.id = ?", b.ID).Exec(ctx)
		if err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("update badge %s: slug %q: %w", b.ID, b.Slug, domain.ErrSlugTaken)
			}
			return fmt.Errorf("update badge %s: %w", b.ID, err)
		}
		return nil
	})
}

// Lock marks the badge as having issued a credential.
func (r *Badges) Lock(ctx context.Context, id string, version time.Time) error {
	db := r.s.idb(ctx)
	n, err := affected(db.NewUpdate().Model((*badgeRow)(nil)).Set("locked = ?", true).
		Where("id = ?", id).Where("updated_at = ?", version.UTC()).Exec(ctx))
	if err != nil {
		return fmt.Errorf("lock badge %s: %w", id, err)
	}
	if n == 1 {
		return nil
	}
	exists, err := db.NewSelect().Model((*badgeRow)(nil)).Where("id = ?", id).Exists(ctx)
	if err != nil {
		return fmt.Errorf("lock badge %s: %w", id, err)
	}
	if !exists {
		return fmt.Errorf("lock badge %s: %w", id, domain.ErrNotFound)
	}
	return fmt.Errorf("lock badge %s: changed since it was read: %w", id, domain.ErrInvalidState)
}

// Delete removes an unlocked badge; a locked one returns
// domain.ErrBadgeLocked. The lock is checked by the DELETE itself.
func (r *Badges) Delete(ctx context.Context, orgID, id string) error {
	db := r.s.idb(ctx)
	n, err := affected(db.NewDelete().Model((*badgeRow)(nil)).
		Where("org_id = ?", orgID).Where("id = ?", id).Where("locked = ?", false).Exec(ctx))
	if err != nil {
		return fmt.Errorf("delete badge %s: %w", id, err)
	}
	if n == 1 {
		return nil
	}
	if err := exists(ctx, db, (*badgeRow)(nil), "delete badge "+id, "org_id = ? AND id = ?", orgID, id); err != nil {
		return err
	}
	return fmt.Errorf("delete badge %s: %w", id, domain.ErrBadgeLocked)
}

// List returns the org's badges, oldest first, after the cursor. An unknown
// cursor yields an empty page.
func (r *Badges) List(ctx context.Context, orgID string, page ports.Page) ([]domain.Badge, error) {
	var rows []badgeRow
	q := r.s.idb(ctx).NewSelect().Model(&rows).Where("b.org_id = ?", orgID)
	if page.After != "" {
		q = q.Where("(b.created_at, b.id) > (SELECT c.created_at, c.id FROM badges AS c WHERE c.id = ?)", page.After)
	}
	if err := q.OrderExpr("b.created_at ASC, b.id ASC").Limit(limit(page.Limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list badges of organization %s: %w", orgID, err)
	}
	out := make([]domain.Badge, len(rows))
	var errs []error
	for i := range rows {
		var err error
		out[i], err = rows[i].toDomain()
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("list badges of organization %s: %w", orgID, err)
	}
	return out, nil
}

// Count counts the org's active badges.
func (r *Badges) Count(ctx context.Context, orgID string) (int, error) {
	n, err := r.s.idb(ctx).NewSelect().Model((*badgeRow)(nil)).
		Where("org_id = ?", orgID).Where("active = ?", true).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count badges of organization %s: %w", orgID, err)
	}
	return int(n), nil
}
