package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

type userRow struct {
	bun.BaseModel `bun:"table:users,alias:u"`

	ID              string     `bun:"id,pk"`
	Email           string     `bun:"email"`
	Name            string     `bun:"name"`
	PasswordHash    string     `bun:"password_hash"`
	EmailVerifiedAt *time.Time `bun:"email_verified_at"`
	CreatedAt       time.Time  `bun:"created_at"`
}

func toUserRow(u domain.User) *userRow {
	return &userRow{ID: u.ID, Email: u.Email, Name: u.Name, PasswordHash: u.PasswordHash,
		EmailVerifiedAt: u.EmailVerifiedAt, CreatedAt: u.CreatedAt}
}

func (r *userRow) toDomain() domain.User {
	return domain.User{ID: r.ID, Email: r.Email, Name: r.Name, PasswordHash: r.PasswordHash,
		EmailVerifiedAt: utcPtr(r.EmailVerifiedAt), CreatedAt: utc(r.CreatedAt)}
}

// Users is the bun ports.Users.
type Users struct{ s *Store }

var _ ports.Users = (*Users)(nil)

// Create inserts u; an email already registered returns ports.ErrEmailTaken.
func (r *Users) Create(ctx context.Context, u domain.User) error {
	db := r.s.idb(ctx)
	return insertUnique(ctx, db.NewInsert().Model(toUserRow(u)), "create user "+u.ID,
		conflict{db.NewSelect().Model((*userRow)(nil)).Where("email = ?", u.Email), ports.ErrEmailTaken})
}

// Get returns the user with id.
func (r *Users) Get(ctx context.Context, id string) (domain.User, error) {
	var row userRow
	if err := r.s.idb(ctx).NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		return domain.User{}, notFound(err, "get user "+id)
	}
	return row.toDomain(), nil
}

// GetByEmail returns the user registered with email.
func (r *Users) GetByEmail(ctx context.Context, email string) (domain.User, error) {
	var row userRow
	if err := r.s.idb(ctx).NewSelect().Model(&row).Where("email = ?", email).Scan(ctx); err != nil {
		return domain.User{}, notFound(err, "get user by email")
	}
	return row.toDomain(), nil
}

// MarkVerified sets EmailVerifiedAt when it is not set yet.
func (r *Users) MarkVerified(ctx context.Context, id string, at time.Time) error {
	db := r.s.idb(ctx)
	n, err := affected(db.NewUpdate().Model((*userRow)(nil)).
		Set("email_verified_at = ?", at).
		Where("id = ?", id).Where("email_verified_at IS NULL").Exec(ctx))
	if err != nil {
		return fmt.Errorf("mark user %s verified: %w", id, err)
	}
	if n == 0 {
		return exists(ctx, db, (*userRow)(nil), "mark user "+id+" verified", "id = ?", id)
	}
	return nil
}

type sessionRow struct {
	bun.BaseModel `bun:"table:sessions,alias:s"`

	ID        string     `bun:"id,pk"`
	UserID    string     `bun:"user_id"`
	TokenHash []byte     `bun:"token_hash"`
	CreatedAt time.Time  `bun:"created_at"`
	ExpiresAt time.Time  `bun:"expires_at"`
	RevokedAt *time.Time `bun:"revoked_at"`
}

func toSessionRow(s domain.Session) *sessionRow {
	return &sessionRow{ID: s.ID, UserID: s.UserID, TokenHash: s.TokenHash, CreatedAt: s.CreatedAt,
		ExpiresAt: s.ExpiresAt, RevokedAt: s.RevokedAt}
}

func (r *sessionRow) toDomain() domain.Session {
	return domain.Session{ID: r.ID, UserID: r.UserID, TokenHash: r.TokenHash, CreatedAt: utc(r.CreatedAt),
		ExpiresAt: utc(r.ExpiresAt), RevokedAt: utcPtr(r.RevokedAt)}
}

// Sessions is the bun ports.Sessions.
type Sessions struct{ s *Store }

var _ ports.Sessions = (*Sessions)(nil)

// Create inserts the session.
func (r *Sessions) Create(ctx context.Context, s domain.Session) error {
	if _, err := r.s.idb(ctx).NewInsert().Model(toSessionRow(s)).Exec(ctx); err != nil {
		return fmt.Errorf("create session %s: %w", s.ID, err)
	}
	return nil
}

// GetByHash returns the session whose TokenHash equals hash.
func (r *Sessions) GetByHash(ctx context.Context, hash []byte) (domain.Session, error) {
	var row sessionRow
	if err := r.s.idb(ctx).NewSelect().Model(&row).Where("token_hash = ?", hash).Scan(ctx); err != nil {
		return domain.Session{}, notFound(err, "get session by hash")
	}
	return row.toDomain(), nil
}

// Revoke sets RevokedAt on the session when it is not set yet.
func (r *Sessions) Revoke(ctx context.Context, id string, at time.Time) error {
	db := r.s.idb(ctx)
	n, err := affected(db.NewUpdate().Model((*sessionRow)(nil)).
		Set("revoked_at = ?", at).
		Where("id = ?", id).Where("revoked_at IS NULL").Exec(ctx))
	if err != nil {
		return fmt.Errorf("revoke session %s: %w", id, err)
	}
	if n == 0 {
		return exists(ctx, db, (*sessionRow)(nil), "revoke session "+id, "id = ?", id)
	}
	return nil
}

type emailTokenRow struct {
	bun.BaseModel `bun:"table:email_tokens,alias:et"`

	TokenHash []byte     `bun:"token_hash,pk"`
	UserID    string     `bun:"user_id"`
	Purpose   string     `bun:"purpose"`
	CreatedAt time.Time  `bun:"created_at"`
	ExpiresAt time.Time  `bun:"expires_at"`
	UsedAt    *time.Time `bun:"used_at"`
}

func toEmailTokenRow(t domain.EmailToken) *emailTokenRow {
	return &emailTokenRow{TokenHash: t.TokenHash, UserID: t.UserID, Purpose: string(t.Purpose),
		CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, UsedAt: t.UsedAt}
}

func (r *emailTokenRow) toDomain() domain.EmailToken {
	return domain.EmailToken{TokenHash: r.TokenHash, UserID: r.UserID, Purpose: domain.TokenPurpose(r.Purpose),
		CreatedAt: utc(r.CreatedAt), ExpiresAt: utc(r.ExpiresAt), UsedAt: utcPtr(r.UsedAt)}
}

// EmailTokens is the bun ports.EmailTokens.
type EmailTokens struct{ s *Store }

var _ ports.EmailTokens = (*EmailTokens)(nil)

// Create inserts the token.
func (r *EmailTokens) Create(ctx context.Context, t domain.EmailToken) error {
	if _, err := r.s.idb(ctx).NewInsert().Model(toEmailTokenRow(t)).Exec(ctx); err != nil {
		return fmt.Errorf("create email token: %w", err)
	}
	return nil
}

// Use marks the token used at `at` and returns it. One conditional UPDATE
// makes it atomic: of concurrent calls only one matches "used_at IS NULL".
func (r *EmailTokens) Use(ctx context.Context, hash []byte, purpose domain.TokenPurpose, at time.Time) (domain.EmailToken, error) {
	var row emailTokenRow
	err := r.s.idb(ctx).NewRaw(`UPDATE email_tokens SET used_at = ?
		WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?
		RETURNING token_hash, user_id, purpose, created_at, expires_at, used_at`,
		at, hash, string(purpose), at).Scan(ctx, &row)
	if err != nil {
		if isNoRows(err) {
			return domain.EmailToken{}, fmt.Errorf("use email token: %w", domain.ErrInvalidToken)
		}
		return domain.EmailToken{}, fmt.Errorf("use email token: %w", err)
	}
	return row.toDomain(), nil
}
