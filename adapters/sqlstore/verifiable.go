package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// verifiableRow is what Credentials.Verifiable reads: every column of the
// credential, its organization and its badge, and the organization's
// active key fragment.
type verifiableRow struct {
	Cred      credentialRow `bun:"embed:c_"`
	Org       orgRow        `bun:"embed:o_"`
	Badge     badgeRow      `bun:"embed:b_"`
	ActiveKey string        `bun:"active_key"`
}

// credentialColumns are the columns of credentialRow.
var credentialColumns = []string{"id", "org_id", "badge_id", "recipient_name", "recipient_email", "issued_at",
	"expires_at", "public", "test", "claimed_at", "revoked_at", "revocation_reason", "supersedes_id",
	"superseded_by_id", "key_id", "jws", "created_by"}

// badgeColumns are the columns of badgeRow.
var badgeColumns = []string{"id", "org_id", "name", "slug", "description", "criteria", "image_url", "tags",
	"expires_in_days", "active", "locked", "created_at", "updated_at"}

// verifiableSelect reads credentials with their organizations and badges
// by primary keys, and the active key's fragment through the partial index
// of active keys; verifiableQuery and verifiableBatch add the WHERE clause.
var verifiableSelect = func() string {
	var cols []string
	add := func(alias string, names []string) {
		for _, n := range names {
			cols = append(cols, alias+"."+n+" AS "+alias+"_"+n)
		}
	}
	add("c", credentialColumns)
	add("o", orgColumns)
	add("b", badgeColumns)
	return "SELECT " + strings.Join(cols, ", ") +
		`, COALESCE((SELECT k.fragment FROM signing_keys AS k WHERE k.org_id = c.org_id AND k.status = 'active'), '') AS active_key
	FROM credentials AS c
	JOIN organizations AS o ON o.id = c.org_id
	JOIN badges AS b ON b.id = c.badge_id`
}()

// verifiableQuery reads one credential; its placeholder is the ID. It
// serves reads inside a transaction, which must see the transaction's
// writes and so cannot share a batch.
var verifiableQuery = verifiableSelect + " WHERE c.id = ?"

// verifiableBatch reads many credentials in one prepared statement (see
// scanHot); its one placeholder is the list of IDs, as the dialect can
// bind a list: a PostgreSQL text[] literal, or a JSON array for SQLite.
var verifiableBatch = map[string]string{
	DialectPostgres: verifiableSelect + " WHERE c.id = ANY(?::text[])",
	DialectSQLite:   verifiableSelect + " WHERE c.id IN (SELECT value FROM json_each(?))",
}

// Verifiable reads the credential, its organization, its badge and the
// organization's active key fragment. Outside a transaction, reads that
// arrive while others are under way go out together in one statement
// (Store.verifiables): verification is the busiest read of a public
// server, and one round trip for many requests spares the database the
// fixed cost of a statement per request. Each read is still answered by a
// statement sent after it arrived, so it sees every committed change.
func (r *Credentials) Verifiable(ctx context.Context, id domain.CredentialID) (ports.Verifiable, error) {
	var row *verifiableRow
	if r.s.inTx(ctx) {
		row = new(verifiableRow)
		if err := r.s.scanHot(ctx, verifiableQuery, row, string(id)); err != nil {
			return ports.Verifiable{}, notFound(err, "verifiable credential "+string(id))
		}
	} else {
		var err error
		if row, err = r.s.verifiables.Do(ctx, id); err != nil {
			return ports.Verifiable{}, notFound(err, "verifiable credential "+string(id))
		}
	}
	badge, err := row.Badge.toDomain()
	if err != nil {
		return ports.Verifiable{}, err
	}
	return ports.Verifiable{Credential: row.Cred.toDomain(), Org: row.Org.toDomain(), Badge: badge, ActiveKey: row.ActiveKey}, nil
}

// readVerifiables is the round trip of Store.verifiables: the rows of ids
// in one statement, sql.ErrNoRows for an ID without one.
func (s *Store) readVerifiables(ctx context.Context, ids []domain.CredentialID) ([]*verifiableRow, []error, error) {
	var list string
	if s.dialect == DialectPostgres {
		list = pgTextArray(ids)
	} else {
		b, err := json.Marshal(ids)
		if err != nil {
			return nil, nil, err
		}
		list = string(b)
	}
	var rows []verifiableRow
	if err := s.scanHotRows(ctx, verifiableBatch[s.dialect], &rows, list); err != nil {
		return nil, nil, err
	}
	byID := make(map[string]*verifiableRow, len(rows))
	for i := range rows {
		byID[rows[i].Cred.ID] = &rows[i]
	}
	out := make([]*verifiableRow, len(ids))
	errs := make([]error, len(ids))
	for i, id := range ids {
		if out[i] = byID[string(id)]; out[i] == nil {
			errs[i] = sql.ErrNoRows
		}
	}
	return out, errs, nil
}

// pgTextArray writes ids as a PostgreSQL array literal, every element
// quoted (so no ID, whatever it holds, can end or split the list).
func pgTextArray(ids []domain.CredentialID) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		for _, r := range string(id) {
			if r == '"' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}
