package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
)

// hotStatements are the PostgreSQL statements of the issue path, prepared
// once (database/sql prepares them on each pooled connection as needed):
// PostgreSQL then parses them once per connection and can reuse the plan.
// Everything else goes through bun, which inlines its arguments.
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
	st, err := s.db.DB.PrepareContext(ctx, dollarPlaceholders(query))
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

// scanIssueContext runs the issue-context read: prepared on PostgreSQL
// outside a transaction, through bun otherwise.
func (s *Store) scanIssueContext(ctx context.Context, row *issueContextRow, args ...any) error {
	if s.dialect != DialectPostgres || s.inTx(ctx) {
		return s.idb(ctx).NewRaw(issueContextQuery, args...).Scan(ctx, row)
	}
	st, err := s.prepared(ctx, issueContextQuery)
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
	if err := s.db.ScanRow(ctx, rows, row); err != nil {
		return err
	}
	return rows.Close()
}
