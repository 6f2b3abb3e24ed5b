package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

type orgRow struct {
	bun.BaseModel `bun:"table:organizations,alias:o"`

	ID            string    `bun:"id,pk"`
	Name          string    `bun:"name"`
	Slug          string    `bun:"slug"`
	WebsiteURL    string    `bun:"website_url"`
	Description   string    `bun:"description"`
	LogoURL       string    `bun:"logo_url"`
	Status        string    `bun:"status"`
	StatusReason  string    `bun:"status_reason"`
	Plan          string    `bun:"plan"`
	EmailsEnabled bool      `bun:"emails_enabled"`
	RequireMFA    bool      `bun:"require_mfa"`
	DataIntegrity bool      `bun:"data_integrity"`
	CreatedAt     time.Time `bun:"created_at"`
	UpdatedAt     time.Time `bun:"updated_at"`
}

// orgFields are the organization columns the domain knows, for reads
// that scan them without bun (see column): the verification counter is
// written only by AddVerifications.
var orgFields = []column[orgRow]{
	{"id", func(r *orgRow) any { return stringDest{&r.ID} }},
	{"name", func(r *orgRow) any { return stringDest{&r.Name} }},
	{"slug", func(r *orgRow) any { return stringDest{&r.Slug} }},
	{"website_url", func(r *orgRow) any { return stringDest{&r.WebsiteURL} }},
	{"description", func(r *orgRow) any { return stringDest{&r.Description} }},
	{"logo_url", func(r *orgRow) any { return stringDest{&r.LogoURL} }},
	{"status", func(r *orgRow) any { return stringDest{&r.Status} }},
	{"status_reason", func(r *orgRow) any { return stringDest{&r.StatusReason} }},
	{"plan", func(r *orgRow) any { return stringDest{&r.Plan} }},
	{"emails_enabled", func(r *orgRow) any { return boolDest{&r.EmailsEnabled} }},
	{"require_mfa", func(r *orgRow) any { return boolDest{&r.RequireMFA} }},
	{"data_integrity", func(r *orgRow) any { return boolDest{&r.DataIntegrity} }},
	{"created_at", func(r *orgRow) any { return timeDest{&r.CreatedAt} }},
	{"updated_at", func(r *orgRow) any { return timeDest{&r.UpdatedAt} }},
}

// orgColumns are the names of orgFields.
var orgColumns = columnNames(orgFields)

func toOrgRow(o domain.Organization) *orgRow {
	return &orgRow{ID: o.ID, Name: o.Name, Slug: o.Slug, WebsiteURL: o.WebsiteURL, Description: o.Description,
		LogoURL: o.LogoURL, Status: string(o.Status), StatusReason: o.StatusReason, Plan: string(o.Plan), EmailsEnabled: o.EmailsEnabled,
		RequireMFA: o.RequireMFA, DataIntegrity: o.DataIntegrity, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
}

func (r *orgRow) toDomain() domain.Organization {
	return domain.Organization{ID: r.ID, Name: r.Name, Slug: r.Slug, WebsiteURL: r.WebsiteURL,
		Description: r.Description, LogoURL: r.LogoURL, Status: domain.OrgStatus(r.Status), StatusReason: r.StatusReason,
		Plan: domain.PlanName(r.Plan), EmailsEnabled: r.EmailsEnabled, RequireMFA: r.RequireMFA, DataIntegrity: r.DataIntegrity,
		CreatedAt: utc(r.CreatedAt),
		UpdatedAt: utc(r.UpdatedAt)}
}

// Orgs is the bun ports.Orgs.
type Orgs struct{ s *Store }

var _ ports.Orgs = (*Orgs)(nil)

// Create inserts o; a slug in use returns domain.ErrSlugTaken.
func (r *Orgs) Create(ctx context.Context, o domain.Organization) error {
	db := r.s.idb(ctx)
	return insertUnique(ctx, db.NewInsert().Model(toOrgRow(o)).Column(orgColumns...), "create organization "+o.ID,
		conflict{db.NewSelect().Model((*orgRow)(nil)).Where("slug = ?", o.Slug), fmt.Errorf("slug %q: %w", o.Slug, domain.ErrSlugTaken)})
}

// Get returns the organization with id.
func (r *Orgs) Get(ctx context.Context, id string) (domain.Organization, error) {
	var row orgRow
	if err := r.s.idb(ctx).NewSelect().Model(&row).Column(orgColumns...).Where("id = ?", id).Scan(ctx); err != nil {
		return domain.Organization{}, notFound(err, "get organization "+id)
	}
	return row.toDomain(), nil
}

// GetWithRole returns the organization and the user's role in it.
func (r *Orgs) GetWithRole(ctx context.Context, id, userID string) (ports.OrgWithRole, error) {
	var row orgRoleRow
	q := r.s.idb(ctx).NewSelect().Model(&row)
	for _, c := range orgColumns {
		q = q.ColumnExpr("o.?", bun.Ident(c))
	}
	err := q.ColumnExpr("COALESCE(m.role, '') AS role").
		Join("LEFT JOIN memberships AS m ON m.org_id = o.id AND m.user_id = ?", userID).
		Where("o.id = ?", id).Scan(ctx)
	if err != nil {
		return ports.OrgWithRole{}, notFound(err, "get organization "+id)
	}
	return ports.OrgWithRole{Org: row.toDomain(), Role: domain.Role(row.Role)}, nil
}

// GetBySlug returns the organization with slug.
func (r *Orgs) GetBySlug(ctx context.Context, slug string) (domain.Organization, error) {
	var row orgRow
	if err := r.s.idb(ctx).NewSelect().Model(&row).Column(orgColumns...).Where("slug = ?", slug).Scan(ctx); err != nil {
		return domain.Organization{}, notFound(err, "get organization by slug "+slug)
	}
	return row.toDomain(), nil
}

// Update overwrites every field of o but ID, Slug and CreatedAt.
func (r *Orgs) Update(ctx context.Context, o domain.Organization) error {
	n, err := affected(r.s.idb(ctx).NewUpdate().Model(toOrgRow(o)).
		Column("name", "website_url", "description", "logo_url", "status", "status_reason", "plan", "emails_enabled", "require_mfa", "data_integrity", "updated_at").
		WherePK().Exec(ctx))
	if err != nil {
		return fmt.Errorf("update organization %s: %w", o.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("update organization %s: %w", o.ID, domain.ErrNotFound)
	}
	return nil
}

// List returns organizations oldest first after the cursor, optionally
// filtered by status. An unknown cursor yields an empty page.
func (r *Orgs) List(ctx context.Context, f ports.OrgFilter) ([]domain.Organization, error) {
	var rows []orgRow
	q := r.s.idb(ctx).NewSelect().Model(&rows).Column(orgColumns...)
	if f.Status != "" {
		q = q.Where("o.status = ?", string(f.Status))
	}
	if f.After != "" {
		q = q.Where("(o.created_at, o.id) > (SELECT c.created_at, c.id FROM organizations AS c WHERE c.id = ?)", f.After)
	}
	if err := q.OrderExpr("o.created_at ASC, o.id ASC").Limit(limit(f.Limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list organizations: %w", err)
	}
	out := make([]domain.Organization, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

type orgRoleRow struct {
	orgRow `bun:",extend"`
	Role   string `bun:"role"`
}

// ListForUser returns the user's organizations with the role, oldest
// organization first.
func (r *Orgs) ListForUser(ctx context.Context, userID string) ([]ports.OrgWithRole, error) {
	var rows []orgRoleRow
	q := r.s.idb(ctx).NewSelect().Model(&rows)
	for _, c := range orgColumns {
		q = q.ColumnExpr("o.?", bun.Ident(c))
	}
	err := q.ColumnExpr("m.role").
		Join("JOIN memberships AS m ON m.org_id = o.id").
		Where("m.user_id = ?", userID).
		OrderExpr("o.created_at ASC, o.id ASC").
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list organizations of user %s: %w", userID, err)
	}
	out := make([]ports.OrgWithRole, len(rows))
	for i := range rows {
		out[i] = ports.OrgWithRole{Org: rows[i].toDomain(), Role: domain.Role(rows[i].Role)}
	}
	return out, nil
}

// AddVerifications adds n to the organization's count of verifications,
// relative to what the row holds then, so that replicas adding their own
// counts never overwrite each other's.
func (r *Orgs) AddVerifications(ctx context.Context, id string, n int64) error {
	rows, err := affected(r.s.idb(ctx).NewUpdate().Model((*orgRow)(nil)).
		Set("verifications = verifications + ?", n).Where("id = ?", id).Exec(ctx))
	if err != nil {
		return fmt.Errorf("add verifications of organization %s: %w", id, err)
	}
	if rows == 0 {
		return fmt.Errorf("add verifications of organization %s: %w", id, domain.ErrNotFound)
	}
	return nil
}

// Verifications returns the organization's count of verifications.
func (r *Orgs) Verifications(ctx context.Context, id string) (int64, error) {
	var n int64
	err := r.s.idb(ctx).NewSelect().Model((*orgRow)(nil)).Column("verifications").Where("id = ?", id).Scan(ctx, &n)
	if err != nil {
		return 0, notFound(err, "verifications of organization "+id)
	}
	return n, nil
}

type memberRow struct {
	bun.BaseModel `bun:"table:memberships,alias:m"`

	OrgID     string    `bun:"org_id,pk"`
	UserID    string    `bun:"user_id,pk"`
	Role      string    `bun:"role"`
	CreatedAt time.Time `bun:"created_at"`
}

func toMemberRow(m domain.Membership) *memberRow {
	return &memberRow{OrgID: m.OrgID, UserID: m.UserID, Role: string(m.Role), CreatedAt: m.CreatedAt}
}

func (r *memberRow) toDomain() domain.Membership {
	return domain.Membership{OrgID: r.OrgID, UserID: r.UserID, Role: domain.Role(r.Role), CreatedAt: utc(r.CreatedAt)}
}

// Members is the bun ports.Members.
type Members struct{ s *Store }

var _ ports.Members = (*Members)(nil)

// Add inserts m; an existing member returns domain.ErrInvalidState.
func (r *Members) Add(ctx context.Context, m domain.Membership) error {
	n, err := affected(r.s.idb(ctx).NewInsert().Model(toMemberRow(m)).On("CONFLICT DO NOTHING").Exec(ctx))
	if err != nil {
		return fmt.Errorf("add member %s to organization %s: %w", m.UserID, m.OrgID, err)
	}
	if n == 0 {
		return fmt.Errorf("add member %s to organization %s: already a member: %w", m.UserID, m.OrgID, domain.ErrInvalidState)
	}
	return nil
}

// Get returns the membership of user in org.
func (r *Members) Get(ctx context.Context, orgID, userID string) (domain.Membership, error) {
	var row memberRow
	err := r.s.idb(ctx).NewSelect().Model(&row).Where("org_id = ?", orgID).Where("user_id = ?", userID).Scan(ctx)
	if err != nil {
		return domain.Membership{}, notFound(err, fmt.Sprintf("get member %s of organization %s", userID, orgID))
	}
	return row.toDomain(), nil
}

type memberUserRow struct {
	memberRow `bun:",extend"`
	Email     string `bun:"email"`
	Name      string `bun:"name"`
}

// List returns the organization's members with their users, oldest first.
func (r *Members) List(ctx context.Context, orgID string) ([]ports.MemberWithUser, error) {
	var rows []memberUserRow
	err := r.s.idb(ctx).NewSelect().Model(&rows).
		ColumnExpr("m.org_id, m.user_id, m.role, m.created_at, u.email, u.name").
		Join("JOIN users AS u ON u.id = m.user_id").
		Where("m.org_id = ?", orgID).
		OrderExpr("m.created_at ASC, m.user_id ASC").
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list members of organization %s: %w", orgID, err)
	}
	out := make([]ports.MemberWithUser, len(rows))
	for i := range rows {
		out[i] = ports.MemberWithUser{Membership: rows[i].toDomain(), Email: rows[i].Email, Name: rows[i].Name}
	}
	return out, nil
}

// CountRole counts the organization's members holding role.
func (r *Members) CountRole(ctx context.Context, orgID string, role domain.Role) (int, error) {
	n, err := r.s.idb(ctx).NewSelect().Model((*memberRow)(nil)).
		Where("org_id = ?", orgID).Where("role = ?", string(role)).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count %s members of organization %s: %w", role, orgID, err)
	}
	return int(n), nil
}
