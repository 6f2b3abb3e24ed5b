// Package sqlstore implements ports.Store with bun over PostgreSQL or SQLite
// (the pure-Go modernc driver). Row structs are private: domain types carry
// no bun tags. Errors are translated at this edge into the domain and port
// errors the port documents.
package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/pgdriver"
	"modernc.org/sqlite"

	"github.com/credence-dev/credence/adapters/internal/coalesce"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// Dialect names returned by Store.Dialect.
const (
	DialectPostgres = "postgres"
	DialectSQLite   = "sqlite"
)

// sqliteParams make concurrent writers wait for each other instead of
// failing: WAL lets readers run beside the writer, busy_timeout waits for the
// lock, and immediate transactions take the write lock at BEGIN, because a
// deferred transaction that has read cannot upgrade while another writer
// holds the database (it fails with SQLITE_BUSY at once).
const sqliteParams = "_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"

// Store is a ports.Store over one bun database.
type Store struct {
	db      *bun.DB
	dialect string
	hot     hotStatements
	shards  shardTokens
	// verifiables coalesces Credentials.Verifiable outside transactions.
	verifiables *coalesce.Batcher[domain.CredentialID, *verifiableRow]
}

var _ ports.Store = (*Store)(nil)

// Connection pool sizes.
const (
	pgMaxConns     = 32
	sqliteMaxConns = 8
)

// Coalesced verification reads (Credentials.Verifiable): at most
// verifiableRoundTrips statements under way at once, each reading at most
// verifiableBatchSize credentials. One at a time lets the reads that
// arrive meanwhile gather: measured on PostgreSQL with 2 cores and 64
// connections (apps/bench/verify.sh), one statement under way cost the
// database 24 µs per verification against 47 with two and 77 with four,
// whose batches stayed near one read each; throughput rose with it. The
// batch grows with the load, and a batch of 64 rows of a few KB stays one
// quick index scan.
const (
	verifiableRoundTrips = 1
	verifiableBatchSize  = 64
)

// verifiableStalled is how long a verification read may be under way
// before the reads arriving meanwhile go out beside it (a batch takes
// about a millisecond): a statement stuck on a dead connection holds only
// its own readers, not every verification after it.
const verifiableStalled = 100 * time.Millisecond

// Open connects to dsn, applies pending migrations and returns the store. A
// dsn starting with postgres:// or postgresql:// opens PostgreSQL; anything
// else is a SQLite file path or file: URI (not ":memory:": every pooled
// connection would get a database of its own).
func Open(ctx context.Context, dsn string) (*Store, error) {
	s, err := connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := s.migrate(ctx, dsn); err != nil {
		_ = s.db.Close()
		return nil, fmt.Errorf("open %s store: %w", s.dialect, err)
	}
	return s, nil
}

// migrate applies the pending migrations. On PostgreSQL they run on a
// connection of their own without pgdriver's read timeout (10 s unless
// the DSN sets read_timeout), bounded by ctx alone: a migration may
// build an index on a large table, and a replica starting beside one
// that migrates waits on the migration lock as long as that takes; with
// the timeout, either one failed after 10 s (and a loaded CI machine's
// fresh databases did so now and then).
func (s *Store) migrate(ctx context.Context, dsn string) error {
	if s.dialect != DialectPostgres {
		return migrateUp(ctx, s.db, s.dialect)
	}
	connector, err := pgConnector(dsn, pgdriver.WithReadTimeout(0))
	if err != nil {
		return err
	}
	sqldb := sql.OpenDB(translating{connector})
	defer sqldb.Close()
	sqldb.SetMaxOpenConns(1)
	return migrateUp(ctx, bun.NewDB(sqldb, pgdialect.New()), s.dialect)
}

// connect opens dsn's database and waits for it, migrating nothing.
func connect(ctx context.Context, dsn string) (*Store, error) {
	var s *Store
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		connector, err := pgConnector(dsn)
		if err != nil {
			return nil, err
		}
		sqldb := sql.OpenDB(translating{connector})
		// Keep every connection: database/sql keeps only 2 idle by default,
		// and a new PostgreSQL connection costs a backend process.
		sqldb.SetMaxOpenConns(pgMaxConns)
		sqldb.SetMaxIdleConns(pgMaxConns)
		sqldb.SetConnMaxIdleTime(5 * time.Minute)
		s = &Store{db: bun.NewDB(sqldb, pgdialect.New()), dialect: DialectPostgres}
	} else {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		connector, err := sqlite.NewConnector(dsn + sep + sqliteParams)
		if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		sqldb := sql.OpenDB(translating{connector})
		// One writer at a time anyway (immediate transactions); a few
		// connections let reads run beside it.
		sqldb.SetMaxOpenConns(sqliteMaxConns)
		sqldb.SetMaxIdleConns(sqliteMaxConns)
		s = &Store{db: bun.NewDB(sqldb, sqlitedialect.New()), dialect: DialectSQLite}
	}
	if err := s.ping(ctx); err != nil {
		_ = s.db.Close()
		return nil, fmt.Errorf("open %s store: %w", s.dialect, err)
	}
	s.verifiables = coalesce.New(s.readVerifiables, coalesce.Options{MaxBatch: verifiableBatchSize, MaxInFlight: verifiableRoundTrips,
		Stalled: verifiableStalled, MaxStalled: pgMaxConns / 4})
	return s, nil
}

// pgConnector turns pgdriver's panic on a malformed DSN into an error.
// Pooled connections are checked before reuse (see idleConnAlive), so
// connections a PostgreSQL restart left behind are dropped instead of
// failing a request each.
func pgConnector(dsn string, more ...pgdriver.Option) (c *pgdriver.Connector, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("parse postgres DSN: %v", r)
		}
	}()
	opts := append([]pgdriver.Option{pgdriver.WithDSN(dsn), pgdriver.WithResetSessionFunc(checkIdleConn)}, more...)
	return pgdriver.NewConnector(opts...), nil
}

// checkIdleConn is called by database/sql before it hands out a pooled
// connection again: one the server closed meanwhile is driver.ErrBadConn,
// which makes database/sql drop it and take or open another.
func checkIdleConn(_ context.Context, cn *pgdriver.Conn) error {
	if !idleConnAlive(cn.Conn()) {
		return driver.ErrBadConn
	}
	return nil
}

// ping waits for the database. On SQLite it retries while the file is busy:
// switching a new file to WAL takes an exclusive lock without calling the
// busy handler, so replicas opening a fresh file at once see SQLITE_BUSY
// from the connection's pragmas. Once the file is in WAL the pragma is a
// no-op and later connections open at once.
func (s *Store) ping(ctx context.Context) error {
	deadline := time.Now().Add(10 * time.Second)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		err := s.Ping(ctx)
		if err == nil || s.dialect != DialectSQLite || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// DB returns the underlying bun database, for tests and benchmarks.
func (s *Store) DB() *bun.DB { return s.db }

// Dialect returns "postgres" or "sqlite".
func (s *Store) Dialect() string { return s.dialect }

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Close closes the connection pool.
func (s *Store) Close() error {
	s.hot.close()
	return s.db.Close()
}

// Users returns the user repository.
func (s *Store) Users() ports.Users { return &Users{s} }

// Sessions returns the session repository.
func (s *Store) Sessions() ports.Sessions { return &Sessions{s} }

// EmailTokens returns the emailed-token repository.
func (s *Store) EmailTokens() ports.EmailTokens { return &EmailTokens{s} }

// Orgs returns the organization repository.
func (s *Store) Orgs() ports.Orgs { return &Orgs{s} }

// Members returns the membership repository.
func (s *Store) Members() ports.Members { return &Members{s} }

// SigningKeys returns the signing key repository.
func (s *Store) SigningKeys() ports.SigningKeys { return &SigningKeys{s} }

// APIKeys returns the API key repository.
func (s *Store) APIKeys() ports.APIKeys { return &APIKeys{s} }

// Badges returns the badge repository.
func (s *Store) Badges() ports.Badges { return &Badges{s} }

// Credentials returns the credential repository.
func (s *Store) Credentials() ports.Credentials { return &Credentials{s} }

// MFAChallenges returns the sign-ins waiting for their emailed code.
func (s *Store) MFAChallenges() ports.MFAChallenges { return &MFAChallenges{s} }

// LoginGuards returns the failed sign-in records.
func (s *Store) LoginGuards() ports.LoginGuards { return &LoginGuards{s} }

// Quota returns the monthly recipient quota counter.
func (s *Store) Quota() ports.Quota { return &Quota{s} }

// txKey carries the open transaction in a context.
type txKey struct{}

// txValue remembers which store opened the transaction, so a context
// carrying one store's transaction never leaks into another store.
type txValue struct {
	s    *Store
	tx   bun.Tx
	conn bun.Conn // PostgreSQL: the connection under tx, for COPY
}

// WithinTx runs fn in a transaction; store calls made with fn's ctx join it.
// A WithinTx inside another joins the outer transaction. When fn returns an
// error (or panics) everything written through its ctx is rolled back.
// Calls inside one transaction must not run concurrently: they share one
// connection. On SQLite every transaction takes the write lock at BEGIN, so
// transactions run one at a time (readers outside them are not blocked).
func (s *Store) WithinTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if s.inTx(ctx) {
		return fn(ctx)
	}
	if s.dialect != DialectPostgres {
		return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return fn(context.WithValue(ctx, txKey{}, &txValue{s: s, tx: tx}))
		})
	}
	// On PostgreSQL the transaction runs on a connection held apart, so
	// that bulk writes can COPY on it inside the transaction.
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		return fn(context.WithValue(ctx, txKey{}, &txValue{s: s, tx: tx, conn: conn}))
	})
}

func (s *Store) inTx(ctx context.Context) bool {
	v, ok := ctx.Value(txKey{}).(*txValue)
	return ok && v.s == s
}

// idb returns the transaction carried by ctx, or the pool.
func (s *Store) idb(ctx context.Context) bun.IDB {
	if v, ok := ctx.Value(txKey{}).(*txValue); ok && v.s == s {
		return v.tx
	}
	return s.db
}

// forUpdate locks selected rows until the transaction ends. SQLite has no
// row locks and needs none: its transactions take the write lock at BEGIN.
func (s *Store) forUpdate(q *bun.SelectQuery) *bun.SelectQuery {
	if s.dialect == DialectPostgres {
		return q.For("UPDATE")
	}
	return q
}

// notFound translates sql.ErrNoRows into domain.ErrNotFound, wrapped with what.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, domain.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// exists returns nil when a row of model matches where, else ErrNotFound
// wrapped with what.
func exists(ctx context.Context, db bun.IDB, model any, what, where string, args ...any) error {
	ok, err := db.NewSelect().Model(model).Where(where, args...).Exists(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if !ok {
		return fmt.Errorf("%s: %w", what, domain.ErrNotFound)
	}
	return nil
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// isUniqueViolation reports whether err is a unique or primary key
// violation on either database.
func isUniqueViolation(err error) bool {
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) {
		return pgErr.Field('C') == "23505"
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		const constraintUnique, constraintPrimaryKey = 2067, 1555
		return liteErr.Code() == constraintUnique || liteErr.Code() == constraintPrimaryKey
	}
	return false
}

// isBusy reports whether err is SQLite's SQLITE_BUSY (any extended code).
func isBusy(err error) bool {
	var liteErr *sqlite.Error
	const busy = 5
	return errors.As(err, &liteErr) && liteErr.Code()&0xff == busy
}

// affected returns the number of rows a statement changed.
// conflict names a unique key an insert may hit: exists asks whether the
// key is taken, err is what a taken key means.
type conflict struct {
	exists *bun.SelectQuery
	err    error
}

// insertUnique inserts with ON CONFLICT DO NOTHING, so a conflict never
// aborts a PostgreSQL transaction. When nothing was inserted, the first
// conflict whose key is taken names the error; otherwise the ID is in use.
func insertUnique(ctx context.Context, ins *bun.InsertQuery, what string, conflicts ...conflict) error {
	n, err := affected(ins.On("CONFLICT DO NOTHING").Exec(ctx))
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 1 {
		return nil
	}
	for _, c := range conflicts {
		taken, err := c.exists.Exists(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if taken {
			return fmt.Errorf("%s: %w", what, c.err)
		}
	}
	return fmt.Errorf("%s: the ID is in use: %w", what, domain.ErrInvalidState)
}

func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Page sizes of every list.
const (
	defaultLimit = 50
	maxLimit     = 100
)

func limit(n int) int64 {
	switch {
	case n <= 0:
		return defaultLimit
	case n > maxLimit:
		return maxLimit
	default:
		return int64(n)
	}
}

// utc returns t in UTC: drivers hand times back in the local or a fixed zone.
func utc(t time.Time) time.Time { return t.UTC() }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
