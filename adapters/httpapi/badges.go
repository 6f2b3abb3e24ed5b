package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/credence-dev/credence/core/domain"
)

type badgeWire struct {
	ID             string    `json:"id"`
	OrgID          string    `json:"orgId"`
	Name           string    `json:"name"`
	Slug           string    `json:"slug"`
	Description    string    `json:"description"`
	Criteria       string    `json:"criteria"`
	ImageURL       string    `json:"imageUrl"`
	Tags           []string  `json:"tags"`
	ExpiresInDays  *int      `json:"expiresInDays" doc:"null: credentials never expire"`
	IsActive       bool      `json:"isActive" doc:"false once a used badge was deleted"`
	Locked         bool      `json:"locked" doc:"true once it issued a credential: its signed fields cannot change"`
	AchievementURL string    `json:"achievementUrl"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
}

type badgeOut struct{ Body badgeWire }

type badgeDeletedOut struct {
	Body struct {
		Deleted     bool `json:"deleted" doc:"true: removed; false: it had issued credentials and is now deactivated"`
		Deactivated bool `json:"deactivated"`
	}
}

type badgeBody struct {
	Name          *string   `json:"name,omitempty" maxLength:"120"`
	Slug          *string   `json:"slug,omitempty" maxLength:"63" doc:"derived from the name when absent"`
	Description   *string   `json:"description,omitempty" maxLength:"2000"`
	Criteria      *string   `json:"criteria,omitempty" maxLength:"4000"`
	ImageURL      *string   `json:"imageUrl,omitempty" maxLength:"2048"`
	Tags          *[]string `json:"tags,omitempty" maxItems:"30"`
	ExpiresInDays *int      `json:"expiresInDays,omitempty" doc:"credentials expire this many days after issue; 0 on PATCH removes the expiry"`
}

func (b badgeBody) input(patch bool) domain.BadgeInput {
	in := domain.BadgeInput{Name: b.Name, Slug: b.Slug, Description: b.Description, Criteria: b.Criteria,
		ImageURL: b.ImageURL, Tags: b.Tags, ExpiresInDays: b.ExpiresInDays}
	if patch && b.ExpiresInDays != nil && *b.ExpiresInDays == 0 {
		in.ExpiresInDays, in.ClearExpiry = nil, true
	}
	return in
}

type BadgePath struct {
	OrgPath
	BadgeID string `path:"badgeId" maxLength:"36"`
}

func (s *server) badgeWire(orgSlug string, b domain.Badge) badgeWire {
	tags := b.Tags
	if tags == nil {
		tags = []string{}
	}
	return badgeWire{ID: b.ID, OrgID: b.OrgID, Name: b.Name, Slug: b.Slug, Description: b.Description, Criteria: b.Criteria,
		ImageURL: b.ImageURL, Tags: tags, ExpiresInDays: b.ExpiresInDays, IsActive: b.Active, Locked: b.Locked,
		AchievementURL: s.Credentials.URLs().Achievement(orgSlug, b.Slug), CreatedAt: b.CreatedAt, UpdatedAt: b.UpdatedAt}
}

func (s *server) orgSlug(ctx context.Context, orgID string) string {
	o, err := s.Orgs.Get(ctx, actorFrom(ctx), orgID)
	if err != nil {
		return ""
	}
	return o.Slug
}

func (s *server) registerBadges(api huma.API) {
	tag := "Badges"
	huma.Register(api, withStatus(op(http.MethodPost, "/api/v1/orgs/{orgId}/badges", "create-badge", "Create a badge template", tag), 201),
		func(ctx context.Context, in *struct {
			OrgPath
			Body badgeBody
		}) (*badgeOut, error) {
			b, err := s.Badges.Create(ctx, actorFrom(ctx), in.OrgID, in.Body.input(false))
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &badgeOut{Body: s.badgeWire(s.orgSlug(ctx, in.OrgID), b)}, nil
		})
	huma.Register(api, op(http.MethodGet, "/api/v1/orgs/{orgId}/badges", "list-badges", "The organization's badges", tag),
		func(ctx context.Context, in *struct {
			OrgPath
			PageParams
		}) (*listOut[badgeWire], error) {
			bs, err := s.Badges.List(ctx, actorFrom(ctx), in.OrgID, in.page())
			if err != nil {
				return nil, s.from(ctx, err)
			}
			slug := s.orgSlug(ctx, in.OrgID)
			return &listOut[badgeWire]{Body: listOf(bs, in.Limit, func(b domain.Badge) badgeWire { return s.badgeWire(slug, b) },
				func(b domain.Badge) string { return b.ID })}, nil
		})
	huma.Register(api, op(http.MethodGet, "/api/v1/orgs/{orgId}/badges/{badgeId}", "get-badge", "One badge", tag),
		func(ctx context.Context, in *BadgePath) (*badgeOut, error) {
			b, err := s.Badges.Get(ctx, actorFrom(ctx), in.OrgID, in.BadgeID)
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &badgeOut{Body: s.badgeWire(s.orgSlug(ctx, in.OrgID), b)}, nil
		})
	huma.Register(api, op(http.MethodPatch, "/api/v1/orgs/{orgId}/badges/{badgeId}", "update-badge", "Edit a badge (signed fields freeze after the first issue: BADGE_LOCKED)", tag),
		func(ctx context.Context, in *struct {
			BadgePath
			Body badgeBody
		}) (*badgeOut, error) {
			b, err := s.Badges.Update(ctx, actorFrom(ctx), in.OrgID, in.BadgeID, in.Body.input(true))
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &badgeOut{Body: s.badgeWire(s.orgSlug(ctx, in.OrgID), b)}, nil
		})
	huma.Register(api, op(http.MethodDelete, "/api/v1/orgs/{orgId}/badges/{badgeId}", "delete-badge", "Delete an unused badge, or deactivate a used one", tag),
		func(ctx context.Context, in *BadgePath) (*badgeDeletedOut, error) {
			deleted, err := s.Badges.Delete(ctx, actorFrom(ctx), in.OrgID, in.BadgeID)
			if err != nil {
				return nil, s.from(ctx, err)
			}
			out := &badgeDeletedOut{}
			out.Body.Deleted, out.Body.Deactivated = deleted, !deleted
			return out, nil
		})
}
