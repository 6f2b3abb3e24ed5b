package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// verifiableRow is what Credentials.Verifiable reads: every column of the
// credential, its organization and its badge, the organization's active
// key fragment, and the version its status list was last published at.
type verifiableRow struct {
	Cred          credentialRow
	Org           orgRow
	Badge         badgeRow
	ActiveKey     string
	StatusVersion int64
}

// verifiableColumns are the columns Credentials.Verifiable reads, in the
// order of verifiableSelect. It is the busiest read of a public server:
// its rows are scanned into typed destinations (see column), which costs
// a fraction of bun's reflection over some 44 columns a row.
var verifiableColumns = func() []column[verifiableRow] {
	var cols []column[verifiableRow]
	cols = append(cols, embedded("c", credentialFields, func(r *verifiableRow) *credentialRow { return &r.Cred })...)
	cols = append(cols, embedded("o", orgFields, func(r *verifiableRow) *orgRow { return &r.Org })...)
	cols = append(cols, embedded("b", badgeFields, func(r *verifiableRow) *badgeRow { return &r.Badge })...)
	return append(cols, column[verifiableRow]{
		name: "COALESCE(k.fragment, '')",
		dest: func(r *verifiableRow) any { return stringDest{&r.ActiveKey} },
	}, column[verifiableRow]{
		name: "COALESCE(sl.published, 0)",
		dest: func(r *verifiableRow) any { return int64Dest{&r.StatusVersion} },
	})
}()

// verifiableSelect reads credentials with their organizations and badges
// by primary keys, the active key's fragment through the partial unique
// index of active keys (at most one row), and the status list's version;
// verifiableQuery and verifiableBatch add the WHERE clause. Joined rather
// than as subqueries per row: PostgreSQL answered a batch of 12 about a
// sixth faster (pgbench, 2 cores).
var verifiableSelect = "SELECT " + strings.Join(columnNames(verifiableColumns), ", ") + `
	FROM credentials AS c
	JOIN organizations AS o ON o.id = c.org_id
	JOIN badges AS b ON b.id = c.badge_id
	LEFT JOIN signing_keys AS k ON k.org_id = c.org_id AND k.status = 'active'
	LEFT JOIN status_lists AS sl ON sl.id = c.status_list_id`

// verifiableQuery reads one credential; its placeholder is the ID. It
// serves reads inside a transaction, which must see the transaction's
// writes and so cannot share a batch.
var verifiableQuery = verifiableSelect + " WHERE c.id = ?"

// verifiableBatch reads many credentials in one prepared statement (see
// Store.prepared); its one placeholder is the list of IDs, as the dialect can
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
		rows, err := r.s.idb(ctx).QueryContext(ctx, verifiableQuery, string(id))
		if err != nil {
			return ports.Verifiable{}, notFound(err, "verifiable credential "+string(id))
		}
		list, err := scanVerifiables(rows)
		if err == nil && len(list) == 0 {
			err = sql.ErrNoRows
		}
		if err != nil {
			return ports.Verifiable{}, notFound(err, "verifiable credential "+string(id))
		}
		row = &list[0]
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
	return ports.Verifiable{Credential: row.Cred.toDomain(), Org: row.Org.toDomain(), Badge: badge, ActiveKey: row.ActiveKey, StatusListVersion: row.StatusVersion}, nil
}

// readVerifiables is the round trip of Store.verifiables: the rows of ids
// in one statement, sql.ErrNoRows for an ID without one.
func (s *Store) readVerifiables(ctx context.Context, ids []domain.CredentialID) ([]*verifiableRow, []error, error) {
	rows, err := s.queryVerifiables(ctx, ids)
	var bad badRowError
	if errors.As(err, &bad) && len(ids) > 1 {
		// A row that cannot be read (a record altered behind the
		// store's back) is its own caller's error, not its batch's:
		// each is read again alone.
		out := make([]*verifiableRow, len(ids))
		errs := make([]error, len(ids))
		for i, id := range ids {
			out[i], errs[i] = s.readVerifiable(ctx, id)
		}
		return out, errs, nil
	}
	if err != nil {
		if ctx.Err() != nil {
			// The batch's own deadline (coalesce.Options.Timeout) ran
			// out: the database did not answer in time.
			err = fmt.Errorf("%w: %w", ports.ErrUnavailable, err)
		}
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

// readVerifiable reads one credential through the batch statement.
func (s *Store) readVerifiable(ctx context.Context, id domain.CredentialID) (*verifiableRow, error) {
	rows, err := s.queryVerifiables(ctx, []domain.CredentialID{id})
	switch {
	case err != nil:
		return nil, err
	case len(rows) == 0:
		return nil, sql.ErrNoRows
	}
	return &rows[0], nil
}

// queryVerifiables runs the batch statement over ids. A row whose
// columns cannot be read is a badRowError.
func (s *Store) queryVerifiables(ctx context.Context, ids []domain.CredentialID) ([]verifiableRow, error) {
	var list string
	if s.dialect == DialectPostgres {
		list = pgTextArray(ids)
	} else {
		b, err := json.Marshal(ids)
		if err != nil {
			return nil, err
		}
		list = string(b)
	}
	st, err := s.prepared(ctx, verifiableBatch[s.dialect])
	if err != nil {
		return nil, err
	}
	sqlRows, err := st.QueryContext(ctx, list)
	if err != nil {
		return nil, err
	}
	return scanVerifiables(sqlRows)
}

// badRowError is a row whose columns could not be read into its fields.
type badRowError struct{ err error }

func (e badRowError) Error() string { return e.err.Error() }
func (e badRowError) Unwrap() error { return e.err }

// scanVerifiables scans every row of rows (a statement selecting
// verifiableColumns) and closes them.
func scanVerifiables(rows *sql.Rows) ([]verifiableRow, error) {
	defer rows.Close()
	var out []verifiableRow
	dests := make([]any, len(verifiableColumns))
	for rows.Next() {
		out = append(out, verifiableRow{})
		if err := scanColumns(rows, verifiableColumns, &out[len(out)-1], dests); err != nil {
			return nil, badRowError{err}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, rows.Close()
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
