package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
)

// hotStatements are the statements of the issue and verification paths,
// prepared once (database/sql prepares them on each pooled connection as
// needed): the database then parses them once per connection and can
// reuse the plan. On SQLite, parsing a statement of a few joins costs
// more than running it. Everything else goes through bun, which inlines
// its arguments.
type hotStatements struct {
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// prepared returns the prepared form of query, whose placeholders are ?.
func (s *Store) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	h := &s.hot
	h.mu.Lock()
	defer h.mu.Unlock()
	if st, ok := h.stmts[query]; ok {
		return st, nil
	}
	text := query
	if s.dialect == DialectPostgres {
		text = dollarPlaceholders(query)
	}
	st, err := s.db.DB.PrepareContext(ctx, text)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	if h.stmts == nil {
		h.stmts = map[string]*sql.Stmt{}
	}
	h.stmts[query] = st
	return st, nil
}

func (h *hotStatements) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, st := range h.stmts {
		_ = st.Close()
	}
	h.stmts = nil
}

// dollarPlaceholders turns ? into $1, $2, … (the queries here hold no ? in
// literals).
func dollarPlaceholders(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// scanHot runs a query of the hot path that returns one row into dest (a
// row struct whose columns the query names): prepared outside a
// transaction, through bun inside one. No row is sql.ErrNoRows.
func (s *Store) scanHot(ctx context.Context, query string, dest any, args ...any) error {
	if s.inTx(ctx) {
		return s.idb(ctx).NewRaw(query, args...).Scan(ctx, dest)
	}
	st, err := s.prepared(ctx, query)
	if err != nil {
		return err
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := s.db.ScanRow(ctx, rows, dest); err != nil {
		return err
	}
	return rows.Close()
}
