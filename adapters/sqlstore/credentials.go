package sqlstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

type credentialRow struct {
	bun.BaseModel `bun:"table:credentials,alias:c"`

	ID               string     `bun:"id,pk"`
	OrgID            string     `bun:"org_id"`
	BadgeID          string     `bun:"badge_id"`
	RecipientName    string     `bun:"recipient_name"`
	RecipientEmail   string     `bun:"recipient_email"`
	IssuedAt         time.Time  `bun:"issued_at"`
	ExpiresAt        *time.Time `bun:"expires_at"`
	Public           bool       `bun:"public"`
	Test             bool       `bun:"test"`
	ClaimedAt        *time.Time `bun:"claimed_at"`
	RevokedAt        *time.Time `bun:"revoked_at"`
	RevocationReason string     `bun:"revocation_reason"`
	SuspendedAt      *time.Time `bun:"suspended_at"`
	SuspensionReason string     `bun:"suspension_reason"`
	StatusListID     string     `bun:"status_list_id"` // "" without a status list
	StatusIndex      int        `bun:"status_index"`
	// "" is NULL: the unique index of current credentials tests IS NULL.
	SupersedesID   string `bun:"supersedes_id,nullzero"`
	SupersededByID string `bun:"superseded_by_id,nullzero"`
	KeyID          string `bun:"key_id"`
	JWS            string `bun:"jws"`
	Proof          string `bun:"proof"`
	CreatedBy      string `bun:"created_by"`
}

// credentialFields are the columns of credentialRow, for reads that scan
// them without bun (see column).
var credentialFields = []column[credentialRow]{
	{"id", func(r *credentialRow) any { return stringDest{&r.ID} }},
	{"org_id", func(r *credentialRow) any { return stringDest{&r.OrgID} }},
	{"badge_id", func(r *credentialRow) any { return stringDest{&r.BadgeID} }},
	{"recipient_name", func(r *credentialRow) any { return stringDest{&r.RecipientName} }},
	{"recipient_email", func(r *credentialRow) any { return stringDest{&r.RecipientEmail} }},
	{"issued_at", func(r *credentialRow) any { return timeDest{&r.IssuedAt} }},
	{"expires_at", func(r *credentialRow) any { return timePtrDest{&r.ExpiresAt} }},
	{"public", func(r *credentialRow) any { return boolDest{&r.Public} }},
	{"test", func(r *credentialRow) any { return boolDest{&r.Test} }},
	{"claimed_at", func(r *credentialRow) any { return timePtrDest{&r.ClaimedAt} }},
	{"revoked_at", func(r *credentialRow) any { return timePtrDest{&r.RevokedAt} }},
	{"revocation_reason", func(r *credentialRow) any { return stringDest{&r.RevocationReason} }},
	{"suspended_at", func(r *credentialRow) any { return timePtrDest{&r.SuspendedAt} }},
	{"suspension_reason", func(r *credentialRow) any { return stringDest{&r.SuspensionReason} }},
	{"status_list_id", func(r *credentialRow) any { return stringDest{&r.StatusListID} }},
	{"status_index", func(r *credentialRow) any { return intDest{&r.StatusIndex} }},
	{"supersedes_id", func(r *credentialRow) any { return stringDest{&r.SupersedesID} }},
	{"superseded_by_id", func(r *credentialRow) any { return stringDest{&r.SupersededByID} }},
	{"key_id", func(r *credentialRow) any { return stringDest{&r.KeyID} }},
	{"jws", func(r *credentialRow) any { return stringDest{&r.JWS} }},
	{"proof", func(r *credentialRow) any { return stringDest{&r.Proof} }},
	{"created_by", func(r *credentialRow) any { return stringDest{&r.CreatedBy} }},
}

// toCredentialRow copies c's time pointers: bun scans RETURNING values
// back into the row (on SQLite a multi-row INSERT returns its NULL
// columns), which must not write through the caller's pointers.
func toCredentialRow(c domain.Credential) *credentialRow {
	r := &credentialRow{ID: string(c.ID), OrgID: c.OrgID, BadgeID: c.BadgeID, RecipientName: c.RecipientName,
		RecipientEmail: c.RecipientEmail, IssuedAt: c.IssuedAt, ExpiresAt: utcPtr(c.ExpiresAt), Public: c.Public,
		Test: c.Test, ClaimedAt: utcPtr(c.ClaimedAt), RevokedAt: utcPtr(c.RevokedAt), RevocationReason: c.RevocationReason,
		SuspendedAt: utcPtr(c.SuspendedAt), SuspensionReason: c.SuspensionReason,
		SupersedesID: string(c.SupersedesID), SupersededByID: string(c.SupersededByID), KeyID: c.KeyID,
		JWS: c.JWS, Proof: c.Proof, CreatedBy: c.CreatedBy}
	if c.Slot != nil {
		r.StatusListID, r.StatusIndex = c.Slot.List, c.Slot.Index
	}
	return r
}

func (r *credentialRow) toDomain() domain.Credential {
	c := domain.Credential{ID: domain.CredentialID(r.ID), OrgID: r.OrgID, BadgeID: r.BadgeID,
		RecipientName: r.RecipientName, RecipientEmail: r.RecipientEmail, IssuedAt: utc(r.IssuedAt),
		ExpiresAt: utcPtr(r.ExpiresAt), Public: r.Public, Test: r.Test, ClaimedAt: utcPtr(r.ClaimedAt),
		RevokedAt: utcPtr(r.RevokedAt), RevocationReason: r.RevocationReason,
		SuspendedAt: utcPtr(r.SuspendedAt), SuspensionReason: r.SuspensionReason,
		SupersedesID: domain.CredentialID(r.SupersedesID), SupersededByID: domain.CredentialID(r.SupersededByID),
		KeyID: r.KeyID, JWS: r.JWS, Proof: r.Proof, CreatedBy: r.CreatedBy}
	if r.StatusListID != "" {
		c.Slot = &domain.StatusSlot{List: r.StatusListID, Index: r.StatusIndex}
	}
	return c
}

func toCredentials(rows []credentialRow) []domain.Credential {
	out := make([]domain.Credential, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out
}

// Credentials is the bun ports.Credentials.
type Credentials struct{ s *Store }

var _ ports.Credentials = (*Credentials)(nil)

// Insert stores c. The unique partial index of current credentials decides
// duplicates; the INSERT skips conflicts instead of failing, so a caller's
// PostgreSQL transaction stays usable (a failed statement would abort it).
// When nothing was inserted, the recipient's current credential of the
// badge is the conflict (a *domain.DuplicateError naming it); with none, the
// ID was taken (ports.ErrIDTaken).
func (r *Credentials) Insert(ctx context.Context, c domain.Credential) error {
	db := r.s.idb(ctx)
	n, err := affected(db.NewInsert().Model(toCredentialRow(c)).On("CONFLICT DO NOTHING").Exec(ctx))
	if err != nil {
		return fmt.Errorf("insert credential %s: %w", c.ID, err)
	}
	if n == 1 {
		return nil
	}
	var existing string
	err = db.NewSelect().Model((*credentialRow)(nil)).Column("id").
		Where("badge_id = ?", c.BadgeID).Where("recipient_email = ?", c.RecipientEmail).
		Where("test = ?", c.Test).Where("superseded_by_id IS NULL").
		Limit(1).Scan(ctx, &existing)
	switch {
	case err == nil:
		return fmt.Errorf("insert credential %s: %w", c.ID, &domain.DuplicateError{Existing: domain.CredentialID(existing)})
	case isNoRows(err):
		return fmt.Errorf("insert credential %s: %w", c.ID, ports.ErrIDTaken)
	default:
		return fmt.Errorf("insert credential %s: %w", c.ID, err)
	}
}

// InsertFirst stores a chain's first credential and counts its recipient.
// On PostgreSQL outside a transaction it is one statement (autocommit):
// take a slot in a random quota shard unless the email was counted this
// month, record the email, insert the credential, queue its mail, log the
// activity. A unique violation (a chain head, a concurrent first count of
// the email, an ID collision) fails the whole statement, and a full shard
// inserts nothing: both decline. Elsewhere it is Consume, Insert, the mail
// and the activity in a transaction.
func (r *Credentials) InsertFirst(ctx context.Context, f ports.FirstIssue) (bool, error) {
	if r.s.dialect == DialectPostgres && !r.s.inTx(ctx) {
		return r.insertFirstPostgres(ctx, f)
	}
	c := f.Credential
	var handled bool
	err := r.s.WithinTx(ctx, func(ctx context.Context) error {
		if f.Version != "" {
			ic, err := r.IssueContext(ctx, c.OrgID, c.BadgeID, f.UserID)
			if err != nil && !errors.Is(err, domain.ErrNotFound) {
				return err
			}
			if err != nil || ic.Version != f.Version {
				return fmt.Errorf("insert first credential %s: %w", c.ID, ports.ErrContextChanged)
			}
		}
		if !c.Test {
			if _, err := r.s.Quota().Consume(ctx, c.OrgID, f.Month, c.RecipientEmail, f.Limit); err != nil {
				return err
			}
		}
		if err := r.Insert(ctx, c); err != nil {
			return err
		}
		if f.Mail != nil {
			if err := r.s.Mails().Create(ctx, *f.Mail); err != nil {
				return err
			}
		}
		if f.Activity != nil {
			if err := r.s.Activity().Record(ctx, *f.Activity); err != nil {
				return err
			}
		}
		handled = true
		return nil
	})
	var dup *domain.DuplicateError
	if errors.As(err, &dup) || errors.Is(err, domain.ErrQuotaExceeded) || errors.Is(err, ports.ErrIDTaken) {
		return false, nil
	}
	return handled, err
}

const insertCredentialColumns = `id, org_id, badge_id, recipient_name, recipient_email, issued_at, expires_at,
	public, test, revocation_reason, key_id, jws, created_by, status_list_id, status_index, proof`

// InsertFirst's statement is made of arms (data-modifying CTEs). The
// guard (g) holds one row when the issue context is still the one the
// issue was decided on (or no Version was given: insertFirstUnguarded);
// every write depends on it. Its placeholders: user, badge, organization,
// version.
var insertFirstGuard = `g AS (SELECT 1` + issueContextFrom + ` AND ` + issueContextVersion + ` = ?)`

const insertFirstUnguarded = `g AS (SELECT 1)`

// insertFirstQuota takes a quota slot (u), records the email (r) and
// inserts the credential (c); ? placeholders in order: org, month, shard,
// shard cap, org, month, email (u); org, month, email (r); the credential's
// columns, org, month, email (c).
const insertFirstQuota = `u AS (
	UPDATE quota_usage SET used = used + 1
	WHERE org_id = ? AND month = ? AND shard = ? AND used < ? AND EXISTS (SELECT 1 FROM g)
		AND NOT EXISTS (SELECT 1 FROM quota_recipients WHERE org_id = ? AND month = ? AND email = ?)
	RETURNING 1
), r AS (
	INSERT INTO quota_recipients (org_id, month, email) SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM u)
	RETURNING 1
), c AS (
	INSERT INTO credentials (` + insertCredentialColumns + `)
	SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
	WHERE EXISTS (SELECT 1 FROM g) AND (EXISTS (SELECT 1 FROM u)
		OR EXISTS (SELECT 1 FROM quota_recipients WHERE org_id = ? AND month = ? AND email = ?))
	RETURNING 1
)`

// insertFirstTest inserts a test credential (c), which the quota ignores;
// its placeholders are the credential's columns.
const insertFirstTest = `c AS (
	INSERT INTO credentials (` + insertCredentialColumns + `)
	SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM g)
	RETURNING 1
)`

// The arms InsertFirst adds when c inserted its row: the mail (m; its
// placeholders are mailValues) and the activity entry (a; activityValues).
const (
	insertFirstMail = `, m AS (
	INSERT INTO mails (` + insertMailColumns + `)
	SELECT ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ? WHERE EXISTS (SELECT 1 FROM c)
)`
	insertFirstActivity = `, a AS (
	INSERT INTO activity (` + insertActivityColumns + `)
	SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM c)
)`
)

// insertFirstQueries holds InsertFirst's statement for each combination
// of guard, test credential, mail and activity entry (indexes 0 or 1
// each). It answers how many credentials it inserted and whether the
// guard held.
var insertFirstQueries = func() (q [2][2][2][2]string) {
	for guard, g := range []string{insertFirstUnguarded, insertFirstGuard} {
		for test, head := range []string{insertFirstQuota, insertFirstTest} {
			for mail, m := range []string{"", insertFirstMail} {
				for act, a := range []string{"", insertFirstActivity} {
					q[guard][test][mail][act] = "WITH " + g + ", " + head + m + a +
						"\nSELECT (SELECT count(*) FROM c), (SELECT count(*) FROM g)"
				}
			}
		}
	}
	return q
}()

const insertMailColumns = `id, org_id, credential_id, kind, to_addr, subject, body, status, created_at, next_attempt_at`

func mailValues(m *domain.Mail) []any {
	return []any{m.ID, m.OrgID, string(m.CredentialID), string(m.Kind), m.To, m.Subject, m.Text, m.CreatedAt.UTC(), m.NextAttempt.UTC()}
}

const insertActivityColumns = `id, org_id, actor_user, actor_key, actor_email, ip, action, target_type, target, detail, created_at`

func activityValues(a *domain.Activity) []any {
	return []any{a.ID, a.OrgID, a.ActorUser, a.ActorKey, a.ActorEmail, a.IP, string(a.Action), a.TargetType, a.Target, a.Detail, a.CreatedAt.UTC()}
}

func (r *Credentials) insertFirstPostgres(ctx context.Context, f ports.FirstIssue) (bool, error) {
	c := f.Credential
	args := make([]any, 0, 64)
	guard, test, mail, act := 0, 0, 0, 0
	if f.Version != "" {
		guard = 1
		args = append(args, f.UserID, c.BadgeID, c.OrgID, f.Version)
	}
	if c.Test {
		test = 1
	} else {
		month := domain.MonthKey(f.Month)
		shards, shardLimit := quotaShards, math.MaxInt32
		if f.Limit != domain.Unlimited {
			if f.Limit <= 0 {
				return false, nil
			}
			shards = min(f.Limit, quotaShards) // shards below limit have a share
		}
		shard, put := r.s.shards.take(shards)
		defer put()
		if f.Limit != domain.Unlimited {
			shardLimit = shardCap(f.Limit, shard)
		}
		args = append(args, c.OrgID, month, shard, shardLimit, c.OrgID, month, c.RecipientEmail, c.OrgID, month, c.RecipientEmail)
	}
	row := toCredentialRow(c)
	args = append(args, string(c.ID), c.OrgID, c.BadgeID, c.RecipientName, c.RecipientEmail, c.IssuedAt.UTC(), utcPtr(c.ExpiresAt),
		c.Public, c.Test, c.RevocationReason, c.KeyID, c.JWS, c.CreatedBy, row.StatusListID, row.StatusIndex, c.Proof)
	if !c.Test {
		args = append(args, c.OrgID, domain.MonthKey(f.Month), c.RecipientEmail)
	}
	if f.Mail != nil {
		mail = 1
		args = append(args, mailValues(f.Mail)...)
	}
	if f.Activity != nil {
		act = 1
		args = append(args, activityValues(f.Activity)...)
	}
	var n, held int64
	st, err := r.s.prepared(ctx, insertFirstQueries[guard][test][mail][act])
	if err == nil {
		err = st.QueryRowContext(ctx, args...).Scan(&n, &held)
	}
	switch {
	case isUniqueViolation(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("insert first credential %s: %w", c.ID, err)
	case held == 0:
		return false, fmt.Errorf("insert first credential %s: %w", c.ID, ports.ErrContextChanged)
	}
	return n == 1, nil
}

// Get returns the credential with id.
func (r *Credentials) Get(ctx context.Context, id domain.CredentialID) (domain.Credential, error) {
	var row credentialRow
	if err := r.s.idb(ctx).NewSelect().Model(&row).Where("id = ?", string(id)).Scan(ctx); err != nil {
		return domain.Credential{}, notFound(err, "get credential "+string(id))
	}
	return row.toDomain(), nil
}

// GetForUpdate returns the credential with id, locked until the
// transaction ends.
func (r *Credentials) GetForUpdate(ctx context.Context, id domain.CredentialID) (domain.Credential, error) {
	var row credentialRow
	if err := r.s.forUpdate(r.s.idb(ctx).NewSelect().Model(&row).Where("id = ?", string(id))).Scan(ctx); err != nil {
		return domain.Credential{}, notFound(err, "get credential "+string(id)+" for update")
	}
	return row.toDomain(), nil
}

type issueContextRow struct {
	Org     orgRow        `bun:"embed:o_"`
	Role    string        `bun:"role"`
	Badge   badgeRow      `bun:"embed:b_"`
	Key     signingKeyRow `bun:"embed:k_"`
	Version string        `bun:"version"`
}

// issueContextColumns are the columns the issue context reads: the
// organization's, the member's role, the badge's and the active key's,
// each named with its embed prefix.
var issueContextColumns = func() (exprs, names []string) {
	add := func(alias string, cols ...string) {
		for _, c := range cols {
			exprs, names = append(exprs, alias+"."+c), append(names, alias+"_"+c)
		}
	}
	add("o", orgColumns...)
	exprs, names = append(exprs, "COALESCE(m.role, '')"), append(names, "role")
	add("b", "id", "org_id", "name", "slug", "description", "criteria", "image_url", "tags", "expires_in_days", "active", "locked", "created_at", "updated_at")
	add("k", "id", "org_id", "fragment", "algorithm", "status", "public_jwk", "private_enc", "created_at", "retired_at")
	return exprs, names
}

// issueContextFrom joins the organization, the user's membership, the
// badge and the active key; its placeholders: user, badge, organization.
const issueContextFrom = ` FROM organizations AS o
	LEFT JOIN memberships AS m ON m.org_id = o.id AND m.user_id = ?
	LEFT JOIN badges AS b ON b.id = ? AND b.org_id = o.id
	LEFT JOIN signing_keys AS k ON k.org_id = o.id AND k.status = 'active'
	WHERE o.id = ?`

// issueContextVersion is, on PostgreSQL, the version of an issue context,
// cheap enough for InsertFirst's guard to compare in its statement: a
// digest of every organization column read (not the row's xmin: counting
// a verification writes the row), and for the membership, the badge and
// the active key, which key it is and the transaction that last wrote each
// row (their xmin: an UPDATE writes a new row version, a deleted or added
// row changes what is joined). A transaction ID comes round again only
// after 2^32 others, far beyond how long a version is kept (see
// core/credentials). SQLite's version is a digest of the row read (see
// contextVersion).
var issueContextVersion = `concat(md5(ROW(` + strings.Join(prefixed("o.", orgColumns), ", ") + `)::text), ':', m.xmin, ':', b.xmin, ':', k.xmin, ':', k.id)`

// prefixed returns names with prefix before each.
func prefixed(prefix string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + n
	}
	return out
}

// issueContextQueries are the issue-context reads of PostgreSQL and of
// SQLite (whose version column is left empty).
var issueContextQueries = func() map[string]string {
	exprs, names := issueContextColumns()
	cols := make([]string, len(exprs))
	for i := range exprs {
		cols[i] = exprs[i] + " AS " + names[i]
	}
	sel := "SELECT " + strings.Join(cols, ", ")
	return map[string]string{
		DialectPostgres: sel + ", " + issueContextVersion + " AS version" + issueContextFrom,
		DialectSQLite:   sel + ", '' AS version" + issueContextFrom,
	}
}()

// IssueContext reads the organization with the user's role, the badge and
// the active signing key in one query.
func (r *Credentials) IssueContext(ctx context.Context, orgID, badgeID, userID string) (ports.IssueContext, error) {
	var row issueContextRow
	if err := r.s.scanHot(ctx, issueContextQueries[r.s.dialect], &row, userID, badgeID, orgID); err != nil {
		return ports.IssueContext{}, notFound(err, "issue context of organization "+orgID)
	}
	if row.Version == "" {
		v, err := contextVersion(&row)
		if err != nil {
			return ports.IssueContext{}, err
		}
		row.Version = v
	}
	out := ports.IssueContext{Org: ports.OrgWithRole{Org: row.Org.toDomain(), Role: domain.Role(row.Role)}, Version: row.Version}
	if row.Badge.ID != "" {
		b, err := row.Badge.toDomain()
		if err != nil {
			return ports.IssueContext{}, err
		}
		out.Badge = &b
	}
	if row.Key.ID != "" {
		k := row.Key.toDomain()
		out.Key = &k
	}
	return out, nil
}

// contextVersion is the version of an issue context read from SQLite: a
// digest of the row as read.
func contextVersion(row *issueContextRow) (string, error) {
	raw, err := json.Marshal(row)
	if err != nil {
		return "", fmt.Errorf("issue context version: %w", err)
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:]), nil
}

// LockRecipient takes a transaction-scoped advisory lock on the (badge,
// email) pair on PostgreSQL; SQLite's immediate transactions already hold
// the database's write lock.
func (r *Credentials) LockRecipient(ctx context.Context, badgeID, email string) error {
	if r.s.dialect != DialectPostgres || !r.s.inTx(ctx) {
		return nil
	}
	if _, err := r.s.idb(ctx).ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", badgeID+" "+email); err != nil {
		return fmt.Errorf("lock recipient of badge %s: %w", badgeID, err)
	}
	return nil
}

// Current returns the head of the recipient's chain of credentials of the
// badge: the latest issued that nothing supersedes, revoked or not.
func (r *Credentials) Current(ctx context.Context, badgeID, email string, test bool) (domain.Credential, error) {
	var row credentialRow
	err := r.s.idb(ctx).NewSelect().Model(&row).
		Where("badge_id = ?", badgeID).Where("recipient_email = ?", email).Where("test = ?", test).
		Where("superseded_by_id IS NULL").
		OrderExpr("c.issued_at DESC, c.id DESC").Limit(1).Scan(ctx)
	if err != nil {
		return domain.Credential{}, notFound(err, "current credential of badge "+badgeID)
	}
	return row.toDomain(), nil
}

// Update writes c's mutable fields: ClaimedAt, RevokedAt, RevocationReason,
// SuspendedAt, SuspensionReason, SupersededByID.
func (r *Credentials) Update(ctx context.Context, c domain.Credential) error {
	n, err := affected(r.s.idb(ctx).NewUpdate().Model(toCredentialRow(c)).
		Column("claimed_at", "revoked_at", "revocation_reason", "suspended_at", "suspension_reason", "superseded_by_id").
		WherePK().Exec(ctx))
	if err != nil {
		return fmt.Errorf("update credential %s: %w", c.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("update credential %s: %w", c.ID, domain.ErrNotFound)
	}
	return nil
}

// List returns the org's credentials, newest first, filtered. An unknown
// cursor yields an empty page.
func (r *Credentials) List(ctx context.Context, f ports.CredentialFilter) ([]domain.Credential, error) {
	var rows []credentialRow
	q := r.s.idb(ctx).NewSelect().Model(&rows).Where("c.org_id = ?", f.OrgID)
	if f.BadgeID != "" {
		q = q.Where("c.badge_id = ?", f.BadgeID)
	}
	if f.Email != "" {
		q = q.Where("c.recipient_email = ?", f.Email)
	}
	switch f.Status {
	case "":
	case domain.StatusPending:
		q = q.Where("c.revoked_at IS NULL AND c.suspended_at IS NULL").Where("(c.expires_at IS NULL OR c.expires_at > ?)", f.Now).
			Where("c.claimed_at IS NULL")
	case domain.StatusValid:
		q = q.Where("c.revoked_at IS NULL AND c.suspended_at IS NULL").Where("(c.expires_at IS NULL OR c.expires_at > ?)", f.Now).
			Where("c.claimed_at IS NOT NULL")
	case domain.StatusExpired:
		q = q.Where("c.revoked_at IS NULL AND c.suspended_at IS NULL").Where("c.expires_at <= ?", f.Now)
	case domain.StatusRevoked:
		q = q.Where("c.revoked_at IS NOT NULL")
	case domain.StatusSuspended:
		q = q.Where("c.revoked_at IS NULL AND c.suspended_at IS NOT NULL")
	default:
		return nil, fmt.Errorf("list credentials: unknown status %q: %w", f.Status, domain.ErrValidation)
	}
	q = newestAfter(q, string(f.After))
	if err := q.Limit(limit(f.Limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list credentials of organization %s: %w", f.OrgID, err)
	}
	return toCredentials(rows), nil
}

// ListByEmail returns every credential issued to email, newest first.
func (r *Credentials) ListByEmail(ctx context.Context, email string, page ports.Page) ([]domain.Credential, error) {
	var rows []credentialRow
	q := r.s.idb(ctx).NewSelect().Model(&rows).Where("c.recipient_email = ?", email)
	q = newestAfter(q, page.After)
	if err := q.Limit(limit(page.Limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list credentials by email: %w", err)
	}
	return toCredentials(rows), nil
}

// newestAfter orders credentials newest first and starts after the cursor
// credential's (issued_at, id).
func newestAfter(q *bun.SelectQuery, after string) *bun.SelectQuery {
	if after != "" {
		q = q.Where("(c.issued_at, c.id) < (SELECT a.issued_at, a.id FROM credentials AS a WHERE a.id = ?)", after)
	}
	return q.OrderExpr("c.issued_at DESC, c.id DESC")
}

// InsertMany stores a batch of chain heads under a savepoint: when a chain
// has a head already or an ID is taken, fewer rows than given are
// inserted, and the savepoint takes them back.
func (r *Credentials) InsertMany(ctx context.Context, cs []domain.Credential) error {
	if len(cs) == 0 {
		return nil
	}
	err := r.s.WithinTx(ctx, func(ctx context.Context) error {
		db := r.s.idb(ctx)
		if _, err := db.ExecContext(ctx, "SAVEPOINT insert_many"); err != nil {
			return err
		}
		var inserted int64
		if r.s.copyable(ctx, len(cs)) {
			rows := make([][]any, len(cs))
			for i, c := range cs {
				row := toCredentialRow(c)
				rows[i] = []any{string(c.ID), c.OrgID, c.BadgeID, c.RecipientName, c.RecipientEmail, c.IssuedAt, c.ExpiresAt,
					c.Public, c.Test, c.ClaimedAt, c.RevokedAt, c.RevocationReason, nullString(string(c.SupersedesID)),
					nullString(string(c.SupersededByID)), c.KeyID, c.JWS, c.CreatedBy, row.StatusListID, row.StatusIndex,
					c.SuspendedAt, c.SuspensionReason, c.Proof}
			}
			n, err := r.s.copyRows(ctx, "credentials", copyCredentialColumns, rows)
			if err != nil && !isUniqueViolation(err) {
				return err
			}
			inserted = n
		}
		for start := 0; start < len(cs) && !r.s.copyable(ctx, len(cs)); start += rowBatch {
			part := cs[start:min(start+rowBatch, len(cs))]
			rows := make([]credentialRow, len(part))
			for i, c := range part {
				rows[i] = *toCredentialRow(c)
			}
			n, err := affected(db.NewInsert().Model(&rows).On("CONFLICT DO NOTHING").Exec(ctx))
			if err != nil {
				return err
			}
			inserted += n
		}
		if int(inserted) != len(cs) {
			if _, err := db.ExecContext(ctx, "ROLLBACK TO SAVEPOINT insert_many"); err != nil {
				return err
			}
			return ports.ErrBatchConflict
		}
		_, err := db.ExecContext(ctx, "RELEASE SAVEPOINT insert_many")
		return err
	})
	if err != nil {
		return fmt.Errorf("insert %d credentials: %w", len(cs), err)
	}
	return nil
}

var copyCredentialColumns = []string{"id", "org_id", "badge_id", "recipient_name", "recipient_email", "issued_at",
	"expires_at", "public", "test", "claimed_at", "revoked_at", "revocation_reason", "supersedes_id", "superseded_by_id",
	"key_id", "jws", "created_by", "status_list_id", "status_index", "suspended_at", "suspension_reason", "proof"}

// nullString is nil for "".
func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// headsQuery selects into rows the test or live chain heads of badgeID for
// emails (at most rowBatch), their JWS left out.
func (r *Credentials) headsQuery(ctx context.Context, rows *[]credentialRow, badgeID string, test bool, emails []string, lock bool) *bun.SelectQuery {
	q := r.s.idb(ctx).NewSelect().Model(rows).ExcludeColumn("jws").Where("badge_id = ?", badgeID).
		Where("recipient_email IN (?)", bun.List(emails)).Where("test = ?", test).Where("superseded_by_id IS NULL")
	if lock {
		q = r.s.forUpdate(q)
	}
	return q
}

// Heads returns the chain heads of the badge for emails.
func (r *Credentials) Heads(ctx context.Context, badgeID string, test bool, emails []string, lock bool) (map[string]domain.Credential, error) {
	out := make(map[string]domain.Credential)
	for start := 0; start < len(emails); start += rowBatch {
		part := emails[start:min(start+rowBatch, len(emails))]
		var rows []credentialRow
		if err := r.headsQuery(ctx, &rows, badgeID, test, part, lock).Scan(ctx); err != nil {
			return nil, fmt.Errorf("chain heads of badge %s: %w", badgeID, err)
		}
		for i := range rows {
			out[rows[i].RecipientEmail] = rows[i].toDomain()
		}
	}
	return out, nil
}

// Expired returns credentials expired in (since, now] whose expiry was
// not announced, soonest first.
func (r *Credentials) Expired(ctx context.Context, since, now time.Time, limit int) ([]domain.Credential, error) {
	var rows []credentialRow
	err := r.s.idb(ctx).NewSelect().Model(&rows).
		Where("c.expiry_announced_at IS NULL").Where("c.expires_at IS NOT NULL").
		Where("c.expires_at > ?", since.UTC()).Where("c.expires_at <= ?", now.UTC()).
		OrderExpr("c.expires_at ASC, c.id ASC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("expired credentials: %w", err)
	}
	out := make([]domain.Credential, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// AnnounceExpiry marks a credential's expiry announced, once.
func (r *Credentials) AnnounceExpiry(ctx context.Context, id domain.CredentialID, at time.Time) (bool, error) {
	n, err := affected(r.s.idb(ctx).NewUpdate().Model((*credentialRow)(nil)).Set("expiry_announced_at = ?", at.UTC()).
		Where("id = ?", string(id)).Where("expiry_announced_at IS NULL").Exec(ctx))
	if err != nil {
		return false, fmt.Errorf("announce the expiry of %s: %w", id, err)
	}
	return n == 1, nil
}
