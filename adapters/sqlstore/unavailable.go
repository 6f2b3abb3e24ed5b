package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"strings"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/driver/pgdriver"
	"modernc.org/sqlite"

	"github.com/credence-dev/credence/ports"
)

// A database that cannot be reached becomes ports.ErrUnavailable at one
// point: the database/sql driver. The store opens its pool over
// translating, a driver.Connector whose connections, statements,
// transactions and rows hand every error of the real driver (pgdriver,
// modernc's sqlite) to unavailable before database/sql sees it. Every
// query bun builds, every prepared statement, BEGIN and COMMIT, every row
// read, every new connection and every Ping goes through there, so no
// store method needs to translate, and none written later can forget to.
// bun's query hooks see errors but cannot replace them, and they miss
// transactions, prepared statements and connecting.
//
// The one call that reaches around the wrapper is PostgreSQL's COPY, whose
// pgdriver.CopyFrom needs the driver's own connection: see conn.copyFrom.

// translating wraps a connector so that its errors are translated.
type translating struct{ driver.Connector }

// Connect opens a connection; a database that does not answer (refused,
// timed out, shutting down, out of connection slots) is ErrUnavailable.
func (c translating) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, unavailable(err)
	}
	return &conn{Conn: dc}, nil
}

// unavailable wraps err so that it also matches ports.ErrUnavailable when
// it says the database cannot be reached; other errors (and nil) are
// returned unchanged, driver.ErrSkip among them (database/sql compares it
// with ==). io.EOF, the end of the rows, never comes here (see
// rows.Next). The wrapped error keeps err in its chain, so
// errors.Is(err, driver.ErrBadConn) still makes database/sql retry on
// another connection, and pgdriver.Error and *sqlite.Error still match.
func unavailable(err error) error {
	if err == nil || !unreachable(err) || errors.Is(err, ports.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", ports.ErrUnavailable, err)
}

// SQLSTATEs meaning PostgreSQL cannot serve the connection: the server is
// shutting down or starting (57P01 admin_shutdown, 57P02 crash_shutdown,
// 57P03 cannot_connect_now) or out of connection slots (53300
// too_many_connections); class 08 is every connection exception.
var unreachableStates = map[string]bool{"57P01": true, "57P02": true, "57P03": true, "53300": true}

// SQLite result codes (primary, the low byte) meaning the database cannot
// be used now: SQLITE_BUSY and SQLITE_LOCKED once the busy timeout has
// passed, SQLITE_IOERR (an I/O error, any extended code), SQLITE_CANTOPEN
// (the file cannot be opened, e.g. its disk went away).
const (
	sqliteBusy     = 5
	sqliteLocked   = 6
	sqliteIOErr    = 10
	sqliteCantOpen = 14
)

// unreachable reports whether err says the database cannot be reached or
// cannot serve now, as opposed to a refusal of the statement (a unique
// violation, a syntax error, bad data) or a misconfiguration (a wrong
// password, a certificate that does not verify).
func unreachable(err error) bool {
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) {
		code := pgErr.Field('C')
		return strings.HasPrefix(code, "08") || unreachableStates[code]
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		switch liteErr.Code() & 0xff {
		case sqliteBusy, sqliteLocked, sqliteIOErr, sqliteCantOpen:
			return true
		}
		return false
	}
	if errors.Is(err, context.Canceled) {
		return false // the caller gave up; nothing is wrong with the database
	}
	// A connection that broke or never opened: refused, reset, timed out,
	// closed under us (net.Error covers dial and read/write errors and DNS
	// failures), or the stream ended mid-message.
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, driver.ErrBadConn)
}

// conn is a driver connection whose errors are translated. It implements
// the optional interfaces database/sql uses, falling back to what
// database/sql does for a driver without them.
type conn struct {
	driver.Conn
	// copier is a one-connection pool over the same PostgreSQL
	// connection, opened by the first COPY on it (see copyFrom).
	copier *bun.DB
}

var (
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.Pinger             = (*conn)(nil)
	_ driver.SessionResetter    = (*conn)(nil)
	_ driver.Validator          = (*conn)(nil)
	_ driver.NamedValueChecker  = (*conn)(nil)
)

func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	var st driver.Stmt
	var err error
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		st, err = p.PrepareContext(ctx, query)
	} else {
		st, err = c.Conn.Prepare(query)
	}
	if err != nil {
		return nil, unavailable(err)
	}
	return &stmt{Stmt: st}, nil
}

func (c *conn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	var tx driver.Tx
	var err error
	if b, ok := c.Conn.(driver.ConnBeginTx); ok {
		tx, err = b.BeginTx(ctx, opts)
	} else if opts.Isolation != 0 || opts.ReadOnly {
		return nil, errors.New("sqlstore: the driver supports neither isolation levels nor read-only transactions")
	} else {
		//lint:ignore SA1019 a wrapper forwards to a driver without BeginTx as database/sql does
		tx, err = c.Conn.Begin()
	}
	if err != nil {
		return nil, unavailable(err)
	}
	return &txn{Tx: tx}, nil
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := c.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip // database/sql prepares the statement instead
	}
	res, err := e.ExecContext(ctx, query, args)
	return res, unavailable(err)
}

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := c.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	rs, err := q.QueryContext(ctx, query, args)
	if err != nil {
		return nil, unavailable(err)
	}
	return &rows{Rows: rs}, nil
}

func (c *conn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return unavailable(p.Ping(ctx))
	}
	return nil
}

// ResetSession passes driver.ErrBadConn through as it is: database/sql
// then drops the connection and takes another.
func (c *conn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *conn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *conn) CheckNamedValue(v *driver.NamedValue) error {
	if n, ok := c.Conn.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(v)
	}
	return driver.ErrSkip // database/sql's default conversion
}

func (c *conn) Close() error {
	if c.copier != nil {
		_ = c.copier.Close() // closes the connection, which it holds idle
	}
	return c.Conn.Close()
}

// copyFrom runs pgdriver.CopyFrom on the PostgreSQL connection under c.
// CopyFrom asserts that the connection database/sql holds is pgdriver's
// own, which the wrapper hides, so it gets it through copier: a pool of
// at most one connection whose connector hands out this very connection.
// copier lives as long as c (Close closes both), and is used only while
// database/sql lends c out (conn.Raw), so the two pools never use the
// connection at once. Its errors are translated here.
func (c *conn) copyFrom(ctx context.Context, r io.Reader, query string) (sql.Result, error) {
	pg, ok := c.Conn.(*pgdriver.Conn)
	if !ok {
		return nil, fmt.Errorf("sqlstore: COPY needs a PostgreSQL connection, not %T", c.Conn)
	}
	if c.copier == nil {
		db := sql.OpenDB(heldConnector{pg})
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		c.copier = bun.NewDB(db, pgdialect.New())
	}
	bc, err := c.copier.Conn(ctx)
	if err != nil {
		return nil, unavailable(err)
	}
	defer bc.Close()
	res, err := pgdriver.CopyFrom(ctx, bc, r, query)
	return res, unavailable(err)
}

// heldConnector hands out one open PostgreSQL connection (see copyFrom).
type heldConnector struct{ conn *pgdriver.Conn }

func (h heldConnector) Connect(context.Context) (driver.Conn, error) {
	if !h.conn.IsValid() {
		return nil, driver.ErrBadConn
	}
	return h.conn, nil
}

func (h heldConnector) Driver() driver.Driver { return pgdriver.NewDriver() }

// stmt is a prepared statement whose errors are translated.
type stmt struct{ driver.Stmt }

var (
	_ driver.StmtExecContext  = (*stmt)(nil)
	_ driver.StmtQueryContext = (*stmt)(nil)
)

func (s *stmt) Close() error { return unavailable(s.Stmt.Close()) }

func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	//lint:ignore SA1019 a wrapper forwards to a driver without ExecContext as database/sql does
	res, err := s.Stmt.Exec(args)
	return res, unavailable(err)
}

func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	//lint:ignore SA1019 a wrapper forwards to a driver without QueryContext as database/sql does
	rs, err := s.Stmt.Query(args)
	if err != nil {
		return nil, unavailable(err)
	}
	return &rows{Rows: rs}, nil
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	e, ok := s.Stmt.(driver.StmtExecContext)
	if !ok {
		values, err := plainValues(ctx, args)
		if err != nil {
			return nil, err
		}
		return s.Exec(values)
	}
	res, err := e.ExecContext(ctx, args)
	return res, unavailable(err)
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := s.Stmt.(driver.StmtQueryContext)
	if !ok {
		values, err := plainValues(ctx, args)
		if err != nil {
			return nil, err
		}
		return s.Query(values)
	}
	rs, err := q.QueryContext(ctx, args)
	if err != nil {
		return nil, unavailable(err)
	}
	return &rows{Rows: rs}, nil
}

// plainValues is database/sql's fallback for statements without context
// methods: positional values only.
func plainValues(ctx context.Context, args []driver.NamedValue) ([]driver.Value, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	values := make([]driver.Value, len(args))
	for i, a := range args {
		if a.Name != "" {
			return nil, errors.New("sqlstore: the driver does not support named arguments")
		}
		values[i] = a.Value
	}
	return values, nil
}

// txn is a transaction whose COMMIT and ROLLBACK errors are translated.
type txn struct{ driver.Tx }

func (t *txn) Commit() error   { return unavailable(t.Tx.Commit()) }
func (t *txn) Rollback() error { return unavailable(t.Tx.Rollback()) }

// rows reads a result whose errors are translated. The column type
// methods answer what database/sql assumes for a driver without them.
type rows struct{ driver.Rows }

var (
	_ driver.RowsNextResultSet              = (*rows)(nil)
	_ driver.RowsColumnTypeScanType         = (*rows)(nil)
	_ driver.RowsColumnTypeDatabaseTypeName = (*rows)(nil)
	_ driver.RowsColumnTypeLength           = (*rows)(nil)
	_ driver.RowsColumnTypeNullable         = (*rows)(nil)
	_ driver.RowsColumnTypePrecisionScale   = (*rows)(nil)
)

// Next passes io.EOF, the end of the rows, through untouched: database/sql
// compares it with ==. A broken connection mid-result is an other error
// (pgdriver reports io.ErrUnexpectedEOF).
func (r *rows) Next(dest []driver.Value) error {
	err := r.Rows.Next(dest)
	if err == io.EOF {
		return err
	}
	return unavailable(err)
}

func (r *rows) Close() error { return unavailable(r.Rows.Close()) }

func (r *rows) HasNextResultSet() bool {
	n, ok := r.Rows.(driver.RowsNextResultSet)
	return ok && n.HasNextResultSet()
}

func (r *rows) NextResultSet() error {
	n, ok := r.Rows.(driver.RowsNextResultSet)
	if !ok {
		return io.EOF
	}
	err := n.NextResultSet()
	if err == io.EOF {
		return err
	}
	return unavailable(err)
}

func (r *rows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

func (r *rows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *rows) ColumnTypeLength(i int) (int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *rows) ColumnTypeNullable(i int) (bool, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *rows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}
