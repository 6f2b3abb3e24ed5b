package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// SetRole changes a member's role.
func (r *Members) SetRole(ctx context.Context, orgID, userID string, role domain.Role) error {
	n, err := affected(r.s.idb(ctx).NewUpdate().Model((*memberRow)(nil)).Set("role = ?", string(role)).
		Where("org_id = ?", orgID).Where("user_id = ?", userID).Exec(ctx))
	if err != nil {
		return fmt.Errorf("set role of member %s of organization %s: %w", userID, orgID, err)
	}
	if n == 0 {
		return fmt.Errorf("member %s of organization %s: %w", userID, orgID, domain.ErrNotFound)
	}
	return nil
}

// Remove ends a membership.
func (r *Members) Remove(ctx context.Context, orgID, userID string) error {
	n, err := affected(r.s.idb(ctx).NewDelete().Model((*memberRow)(nil)).
		Where("org_id = ?", orgID).Where("user_id = ?", userID).Exec(ctx))
	if err != nil {
		return fmt.Errorf("remove member %s of organization %s: %w", userID, orgID, err)
	}
	if n == 0 {
		return fmt.Errorf("member %s of organization %s: %w", userID, orgID, domain.ErrNotFound)
	}
	return nil
}

// LockOrg locks the organization's row (PostgreSQL; SQLite's immediate
// transactions write one at a time anyway).
func (r *Members) LockOrg(ctx context.Context, orgID string) error {
	var id string
	err := r.s.forUpdate(r.s.idb(ctx).NewSelect().Model((*orgRow)(nil)).Column("id").Where("id = ?", orgID)).Scan(ctx, &id)
	if err != nil {
		return notFound(err, "lock organization "+orgID)
	}
	return nil
}

type invitationRow struct {
	bun.BaseModel `bun:"table:invitations,alias:inv"`

	ID         string     `bun:"id,pk"`
	OrgID      string     `bun:"org_id"`
	Email      string     `bun:"email"`
	Role       string     `bun:"role"`
	InvitedBy  string     `bun:"invited_by"`
	CreatedAt  time.Time  `bun:"created_at"`
	ExpiresAt  time.Time  `bun:"expires_at"`
	Status     string     `bun:"status"`
	AnsweredAt *time.Time `bun:"answered_at"`
}

func (r *invitationRow) toDomain() domain.Invitation {
	return domain.Invitation{ID: r.ID, OrgID: r.OrgID, Email: r.Email, Role: domain.Role(r.Role), InvitedBy: r.InvitedBy,
		CreatedAt: utc(r.CreatedAt), ExpiresAt: utc(r.ExpiresAt), Status: domain.InvitationStatus(r.Status), AnsweredAt: utcPtr(r.AnsweredAt)}
}

// Invitations is the bun ports.Invitations.
type Invitations struct{ s *Store }

var _ ports.Invitations = (*Invitations)(nil)

// Invitations returns the invitations to organizations.
func (s *Store) Invitations() ports.Invitations { return &Invitations{s} }

// Create inserts the invitation.
func (r *Invitations) Create(ctx context.Context, i domain.Invitation) error {
	row := &invitationRow{ID: i.ID, OrgID: i.OrgID, Email: i.Email, Role: string(i.Role), InvitedBy: i.InvitedBy,
		CreatedAt: i.CreatedAt.UTC(), ExpiresAt: i.ExpiresAt.UTC(), Status: string(i.Status), AnsweredAt: utcPtr(i.AnsweredAt)}
	if _, err := r.s.idb(ctx).NewInsert().Model(row).Exec(ctx); err != nil {
		return fmt.Errorf("create invitation: %w", err)
	}
	return nil
}

// Get returns the invitation with id.
func (r *Invitations) Get(ctx context.Context, id string) (domain.Invitation, error) {
	var row invitationRow
	if err := r.s.idb(ctx).NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		return domain.Invitation{}, notFound(err, "get invitation "+id)
	}
	return row.toDomain(), nil
}

func (r *Invitations) open(ctx context.Context, now time.Time) *bun.SelectQuery {
	return r.s.idb(ctx).NewSelect().Where("status = ?", string(domain.InvitationPending)).Where("expires_at > ?", now.UTC())
}

func (r *Invitations) list(ctx context.Context, q *bun.SelectQuery, what string) ([]domain.Invitation, error) {
	var rows []invitationRow
	if err := q.Model(&rows).OrderExpr("inv.created_at DESC, inv.id DESC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list invitations %s: %w", what, err)
	}
	out := make([]domain.Invitation, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// ListForOrg returns the organization's open invitations, newest first.
func (r *Invitations) ListForOrg(ctx context.Context, orgID string, now time.Time) ([]domain.Invitation, error) {
	return r.list(ctx, r.open(ctx, now).Where("org_id = ?", orgID), "of organization "+orgID)
}

// ListForEmail returns the open invitations to email, newest first.
func (r *Invitations) ListForEmail(ctx context.Context, email string, now time.Time) ([]domain.Invitation, error) {
	return r.list(ctx, r.open(ctx, now).Where("email = ?", email), "to an email")
}

// CountOpen counts the organization's open invitations with role.
func (r *Invitations) CountOpen(ctx context.Context, orgID string, role domain.Role, now time.Time) (int, error) {
	n, err := r.open(ctx, now).Model((*invitationRow)(nil)).Where("org_id = ?", orgID).Where("role = ?", string(role)).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count invitations of organization %s: %w", orgID, err)
	}
	return int(n), nil
}

// Answer moves an open invitation to status in one conditional UPDATE.
func (r *Invitations) Answer(ctx context.Context, id string, status domain.InvitationStatus, at time.Time) error {
	at = at.UTC()
	n, err := affected(r.s.idb(ctx).NewUpdate().Model((*invitationRow)(nil)).Set("status = ?", string(status)).Set("answered_at = ?", at).
		Where("id = ?", id).Where("status = ?", string(domain.InvitationPending)).Where("expires_at > ?", at).Exec(ctx))
	if err != nil {
		return fmt.Errorf("answer invitation %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("invitation %s is answered, withdrawn or expired: %w", id, domain.ErrInvalidState)
	}
	return nil
}

// RevokeOpen revokes the organization's open invitations to email.
func (r *Invitations) RevokeOpen(ctx context.Context, orgID, email string, at time.Time) (int, error) {
	at = at.UTC()
	n, err := affected(r.s.idb(ctx).NewUpdate().Model((*invitationRow)(nil)).Set("status = ?", string(domain.InvitationRevoked)).
		Set("answered_at = ?", at).Where("org_id = ?", orgID).Where("email = ?", email).
		Where("status = ?", string(domain.InvitationPending)).Where("expires_at > ?", at).Exec(ctx))
	if err != nil {
		return 0, fmt.Errorf("revoke invitations of organization %s: %w", orgID, err)
	}
	return int(n), nil
}
