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
	MFAEnabled      bool       `bun:"mfa_enabled"`
}

func toUserRow(u domain.User) *userRow {
	return &userRow{ID: u.ID, Email: u.Email, Name: u.Name, PasswordHash: u.PasswordHash,
		EmailVerifiedAt: u.EmailVerifiedAt, CreatedAt: u.CreatedAt, MFAEnabled: u.MFAEnabled}
}

func (r *userRow) toDomain() domain.User {
	return domain.User{ID: r.ID, Email: r.Email, Name: r.Name, PasswordHash: r.PasswordHash,
		EmailVerifiedAt: utcPtr(r.EmailVerifiedAt), CreatedAt: utc(r.CreatedAt), MFAEnabled: r.MFAEnabled}
}

// Users is the bun ports.Users.
type Users struct{ s *Store }

var _ ports.Users = (*Users)(nil)

// Create inserts u; an email already registered returns ports.ErrEmailTaken.
// One statement either way, which a transaction survives: sign-up runs
// the same store work for a new and a registered email.
func (r *Users) Create(ctx context.Context, u domain.User) error {
	n, err := affected(r.s.idb(ctx).NewInsert().Model(toUserRow(u)).On("CONFLICT (email) DO NOTHING").Exec(ctx))
	if err != nil {
		return fmt.Errorf("create user %s: %w", u.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("create user %s: %w", u.ID, ports.ErrEmailTaken)
	}
	return nil
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

// SetPassword replaces the user's password hash.
func (r *Users) SetPassword(ctx context.Context, id, hash string) error {
	db := r.s.idb(ctx)
	n, err := affected(db.NewUpdate().Model((*userRow)(nil)).Set("password_hash = ?", hash).Where("id = ?", id).Exec(ctx))
	if err != nil {
		return fmt.Errorf("set password of user %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("set password of user %s: %w", id, domain.ErrNotFound)
	}
	return nil
}

// SetMFA switches the user's email-code MFA on or off.
func (r *Users) SetMFA(ctx context.Context, id string, enabled bool) error {
	n, err := affected(r.s.idb(ctx).NewUpdate().Model((*userRow)(nil)).Set("mfa_enabled = ?", enabled).Where("id = ?", id).Exec(ctx))
	if err != nil {
		return fmt.Errorf("set MFA of user %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("set MFA of user %s: %w", id, domain.ErrNotFound)
	}
	return nil
}

type sessionRow struct {
	bun.BaseModel `bun:"table:sessions,alias:s"`

	ID         string     `bun:"id,pk"`
	UserID     string     `bun:"user_id"`
	TokenHash  []byte     `bun:"token_hash"`
	CreatedAt  time.Time  `bun:"created_at"`
	ExpiresAt  time.Time  `bun:"expires_at"`
	LastSeenAt *time.Time `bun:"last_seen_at"`
	RevokedAt  *time.Time `bun:"revoked_at"`
	IP         string     `bun:"ip"`
	UserAgent  string     `bun:"user_agent"`
	MFA        bool       `bun:"mfa"`
}

func toSessionRow(s domain.Session) *sessionRow {
	seen := s.LastSeenAt.UTC()
	if s.LastSeenAt.IsZero() {
		seen = s.CreatedAt.UTC()
	}
	return &sessionRow{ID: s.ID, UserID: s.UserID, TokenHash: s.TokenHash, CreatedAt: s.CreatedAt.UTC(),
		ExpiresAt: s.ExpiresAt.UTC(), LastSeenAt: &seen, RevokedAt: utcPtr(s.RevokedAt), IP: s.IP, UserAgent: s.UserAgent, MFA: s.MFA}
}

func (r *sessionRow) toDomain() domain.Session {
	seen := utc(r.CreatedAt) // sessions from before last_seen_at existed
	if r.LastSeenAt != nil {
		seen = utc(*r.LastSeenAt)
	}
	return domain.Session{ID: r.ID, UserID: r.UserID, TokenHash: r.TokenHash, CreatedAt: utc(r.CreatedAt),
		ExpiresAt: utc(r.ExpiresAt), LastSeenAt: seen, RevokedAt: utcPtr(r.RevokedAt), IP: r.IP, UserAgent: r.UserAgent, MFA: r.MFA}
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

// ListForUser returns the user's sessions live at now, newest first.
func (r *Sessions) ListForUser(ctx context.Context, userID string, now time.Time) ([]domain.Session, error) {
	now = now.UTC()
	var rows []sessionRow
	err := r.s.idb(ctx).NewSelect().Model(&rows).Where("user_id = ?", userID).Where("revoked_at IS NULL").
		Where("expires_at > ?", now).Where("COALESCE(last_seen_at, created_at) > ?", now.Add(-domain.SessionIdleTTL)).
		Order("created_at DESC", "id DESC").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list sessions of user %s: %w", userID, err)
	}
	out := make([]domain.Session, 0, len(rows))
	for i := range rows {
		if s := rows[i].toDomain(); s.Live(now) {
			out = append(out, s)
		}
	}
	return out, nil
}

// Touch sets LastSeenAt to at when it is earlier.
func (r *Sessions) Touch(ctx context.Context, id string, at time.Time) error {
	at = at.UTC()
	_, err := r.s.idb(ctx).NewUpdate().Model((*sessionRow)(nil)).Set("last_seen_at = ?", at).
		Where("id = ?", id).Where("(last_seen_at IS NULL OR last_seen_at < ?)", at).Exec(ctx)
	if err != nil {
		return fmt.Errorf("touch session %s: %w", id, err)
	}
	return nil
}

// RevokeAllForUser revokes the user's unrevoked sessions but except.
func (r *Sessions) RevokeAllForUser(ctx context.Context, userID, except string, at time.Time) (int, error) {
	q := r.s.idb(ctx).NewUpdate().Model((*sessionRow)(nil)).Set("revoked_at = ?", at.UTC()).
		Where("user_id = ?", userID).Where("revoked_at IS NULL")
	if except != "" {
		q = q.Where("id <> ?", except)
	}
	n, err := affected(q.Exec(ctx))
	if err != nil {
		return 0, fmt.Errorf("revoke sessions of user %s: %w", userID, err)
	}
	return int(n), nil
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

// RevokeAllForUser marks the user's live tokens of purpose used at `at`.
func (r *EmailTokens) RevokeAllForUser(ctx context.Context, userID string, purpose domain.TokenPurpose, at time.Time) (int, error) {
	n, err := affected(r.s.idb(ctx).NewUpdate().Model((*emailTokenRow)(nil)).Set("used_at = ?", at.UTC()).
		Where("user_id = ?", userID).Where("purpose = ?", string(purpose)).Where("used_at IS NULL").Where("expires_at > ?", at.UTC()).Exec(ctx))
	if err != nil {
		return 0, fmt.Errorf("revoke %s tokens of user %s: %w", purpose, userID, err)
	}
	return int(n), nil
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
