package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// copyMin is the batch size from which PostgreSQL writes use COPY: below
// it a multi-row INSERT is as fast and simpler.
const copyMin = 64

// copyable reports whether a write of n rows in ctx goes through COPY.
func (s *Store) copyable(ctx context.Context, n int) bool {
	return s.dialect == DialectPostgres && n >= copyMin && s.inTx(ctx)
}

// copyRows writes rows into table's columns with COPY FROM STDIN in the
// transaction of ctx (PostgreSQL only): the fastest way to load rows, and
// no SQL text to build or parse. A unique violation fails the statement
// (and the transaction, unless the caller holds a savepoint). Values are
// string, *string (nil is NULL), int, bool, time.Time or *time.Time.
func (s *Store) copyRows(ctx context.Context, table string, columns []string, rows [][]any) (int64, error) {
	v, ok := ctx.Value(txKey{}).(*txValue)
	if !ok || v.s != s || s.dialect != DialectPostgres {
		return 0, fmt.Errorf("copy into %s: needs a PostgreSQL transaction", table)
	}
	var b strings.Builder
	b.Grow(len(rows) * 256)
	for _, row := range rows {
		for i, val := range row {
			if i > 0 {
				b.WriteByte('\t')
			}
			copyValue(&b, val)
		}
		b.WriteByte('\n')
	}
	var res sql.Result
	err := v.conn.Raw(func(dc any) error {
		c, ok := dc.(*conn)
		if !ok {
			return fmt.Errorf("copy into %s: the pool holds %T, not the store's connection", table, dc)
		}
		var err error
		res, err = c.copyFrom(ctx, strings.NewReader(b.String()),
			"COPY "+table+" ("+strings.Join(columns, ", ")+") FROM STDIN")
		return err
	})
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// copyValue writes one value in COPY's text format.
func copyValue(b *strings.Builder, val any) {
	switch x := val.(type) {
	case nil:
		b.WriteString(`\N`)
	case string:
		copyText(b, x)
	case *string:
		if x == nil {
			b.WriteString(`\N`)
		} else {
			copyText(b, *x)
		}
	case int:
		fmt.Fprint(b, x)
	case bool:
		if x {
			b.WriteByte('t')
		} else {
			b.WriteByte('f')
		}
	case time.Time:
		b.WriteString(x.UTC().Format("2006-01-02 15:04:05.999999Z07:00"))
	case *time.Time:
		if x == nil {
			b.WriteString(`\N`)
		} else {
			b.WriteString(x.UTC().Format("2006-01-02 15:04:05.999999Z07:00"))
		}
	default:
		panic(fmt.Sprintf("copyValue: unsupported %T", val))
	}
}

// copyText escapes backslash, tab, newline and carriage return, writing
// the runs between them whole (they are ASCII: no UTF-8 sequence holds
// their bytes).
func copyText(b *strings.Builder, s string) {
	start := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '\\':
			esc = `\\`
		case '\t':
			esc = `\t`
		case '\n':
			esc = `\n`
		case '\r':
			esc = `\r`
		default:
			continue
		}
		b.WriteString(s[start:i])
		b.WriteString(esc)
		start = i + 1
	}
	b.WriteString(s[start:])
}
