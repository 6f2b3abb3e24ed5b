package domain

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Badge is a credential template. Once it has issued a credential (Locked),
// the fields that go into the signed document cannot change.
type Badge struct {
	ID            string
	OrgID         string
	Name          string
	Slug          string
	Description   string
	Criteria      string
	ImageURL      string
	Tags          []string
	ExpiresInDays *int // nil: credentials never expire
	Active        bool // false once a used badge is deleted
	Locked        bool // true once a credential was issued from it
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// BadgeInput carries the fields a creator or editor supplies; nil means
// "not given". ClearExpiry removes an expiry.
type BadgeInput struct {
	Name          *string
	Slug          *string
	Description   *string
	Criteria      *string
	ImageURL      *string
	Tags          *[]string
	ExpiresInDays *int
	ClearExpiry   bool
}

// MaxExpiresInDays bounds expiresInDays to 100 years.
const MaxExpiresInDays = 36500

// NewBadge validates in and returns an active, unlocked badge.
func NewBadge(orgID string, in BadgeInput, now time.Time) (Badge, error) {
	b := Badge{ID: NewID(), OrgID: orgID, Active: true, Tags: []string{}, CreatedAt: Truncate(now), UpdatedAt: Truncate(now)}
	var v Validator
	for _, req := range []struct {
		p    *string
		name string
	}{{in.Name, "name"}, {in.Description, "description"}, {in.Criteria, "criteria"}, {in.ImageURL, "imageUrl"}} {
		if req.p == nil {
			v.Add("body."+req.name, req.name+" is required", nil)
		}
	}
	if in.Slug == nil && in.Name != nil {
		s := DeriveSlug(*in.Name, "badge")
		in.Slug = &s
	}
	b.apply(in, &v)
	return b, v.Err()
}

// Update applies in. A locked badge refuses changes to its signed fields
// (name, slug, description, criteria, image, tags, expiry) with
// BADGE_LOCKED; giving a field its current value is not a change.
func (b *Badge) Update(in BadgeInput, now time.Time) error {
	next := *b
	var v Validator
	next.apply(in, &v)
	if err := v.Err(); err != nil {
		return err
	}
	if b.Locked && !b.SameSignedFields(next) {
		return ErrBadgeLocked
	}
	next.UpdatedAt = Truncate(now)
	*b = next
	return nil
}

// SameSignedFields reports whether o carries the same signed fields as b:
// both would sign the same document.
func (b Badge) SameSignedFields(o Badge) bool {
	return b.Name == o.Name && b.Slug == o.Slug && b.Description == o.Description &&
		b.Criteria == o.Criteria && b.ImageURL == o.ImageURL && slices.Equal(b.Tags, o.Tags) &&
		equalIntPtr(b.ExpiresInDays, o.ExpiresInDays)
}

func equalIntPtr(a, b *int) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func (b *Badge) apply(in BadgeInput, v *Validator) {
	text := func(p *string, field string, max int, multiline, required bool) string {
		s, ok := CleanText(*p, max, multiline)
		v.Check(ok && (!required || s != ""), "body."+field, field+" must be "+map[bool]string{true: "1", false: "0"}[required]+" to "+strconv.Itoa(max)+" characters of text", *p)
		return s
	}
	if in.Name != nil {
		b.Name = text(in.Name, "name", 120, false, true)
	}
	if in.Slug != nil {
		v.Check(ValidSlug(*in.Slug), "body.slug", "slug must be 2 to 63 characters of a-z, 0-9 and single hyphens", *in.Slug)
		b.Slug = *in.Slug
	}
	if in.Description != nil {
		b.Description = text(in.Description, "description", 2000, true, true)
	}
	if in.Criteria != nil {
		b.Criteria = text(in.Criteria, "criteria", 4000, true, true)
	}
	if in.ImageURL != nil {
		u := strings.TrimSpace(*in.ImageURL)
		v.Check(ValidHTTPURL(u), "body.imageUrl", "imageUrl must be an http(s) URL", *in.ImageURL)
		b.ImageURL = u
	}
	if in.Tags != nil {
		tags := make([]string, 0, len(*in.Tags))
		v.Check(len(*in.Tags) <= 30, "body.tags", "at most 30 tags", len(*in.Tags))
		for _, t := range *in.Tags {
			s, ok := CleanText(t, 50, false)
			v.Check(ok && s != "", "body.tags", "each tag must be 1 to 50 characters of text", t)
			if !slices.Contains(tags, s) {
				tags = append(tags, s)
			}
		}
		b.Tags = tags
	}
	if in.ClearExpiry {
		b.ExpiresInDays = nil
	} else if in.ExpiresInDays != nil {
		d := *in.ExpiresInDays
		v.Check(d >= 1 && d <= MaxExpiresInDays, "body.expiresInDays", "expiresInDays must be 1 to 36500", d)
		b.ExpiresInDays = &d
	}
}

// CanIssue returns BADGE_INACTIVE for a deactivated badge.
func (b Badge) CanIssue() error {
	if !b.Active {
		return ErrBadgeInactive
	}
	return nil
}

// ExpiryFrom returns when a credential issued at issuedAt expires, or nil.
func (b Badge) ExpiryFrom(issuedAt time.Time) *time.Time {
	if b.ExpiresInDays == nil {
		return nil
	}
	t := Truncate(issuedAt.AddDate(0, 0, *b.ExpiresInDays))
	return &t
}
