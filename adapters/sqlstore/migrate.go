package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// migrations holds the versioned schema, one directory per dialect. Files
// are named <version>_<name>.up.sql and applied in version order.
//
//go:embed migrations/postgres/*.sql migrations/sqlite/*.sql
var migrations embed.FS

// migrationLockKey is the PostgreSQL advisory lock that serializes
// migrations of replicas starting at once (an arbitrary constant).
const migrationLockKey = 7_226_512_118_730_411

// migrateUp applies the pending migrations of dialect in one transaction.
// Concurrent callers wait for each other: on PostgreSQL a transaction-level
// advisory lock is taken before the migrations table is even read; on
// SQLite the transaction is immediate, so it holds the write lock from its
// start. Both databases run DDL transactionally, so a failed migration
// leaves nothing half applied.
//
// A small runner rather than bun's migrate package: bun's lock fails at once
// when another process holds it (a replica starting beside another would
// exit) and its table creation is not guarded by any lock.
func migrateUp(ctx context.Context, db *bun.DB, dialect string) error {
	return migrateTo(ctx, db, dialect, "")
}

// migrateTo applies the pending migrations up to version upTo (all of them
// when upTo is empty).
func migrateTo(ctx context.Context, db *bun.DB, dialect, upTo string) error {
	files, err := migrationFiles(dialect)
	if err != nil {
		return err
	}
	return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if dialect == DialectPostgres {
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", int64(migrationLockKey)); err != nil {
				return fmt.Errorf("lock migrations: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version text PRIMARY KEY,
			applied_at text NOT NULL
		)`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		var applied []string
		if err := tx.NewSelect().Table("schema_migrations").Column("version").Scan(ctx, &applied); err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		done := make(map[string]bool, len(applied))
		for _, v := range applied {
			done[v] = true
		}
		for _, f := range files {
			if upTo != "" && f.version > upTo {
				break
			}
			if done[f.version] {
				continue
			}
			if _, err := tx.ExecContext(ctx, f.sql); err != nil {
				return fmt.Errorf("migration %s: %w", f.name, err)
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
				f.version, time.Now().UTC().Format(time.RFC3339)); err != nil {
				return fmt.Errorf("record migration %s: %w", f.name, err)
			}
		}
		return nil
	})
}

type migrationFile struct {
	version string
	name    string
	sql     string
}

func migrationFiles(dialect string) ([]migrationFile, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var files []migrationFile
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".up.sql") {
			continue
		}
		version, _, ok := strings.Cut(name, "_")
		if !ok || version == "" {
			return nil, fmt.Errorf("migration %s: name must be <version>_<name>.up.sql", name)
		}
		b, err := fs.ReadFile(migrations, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		files = append(files, migrationFile{version: version, name: name, sql: string(b)})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].version < files[j].version })
	if len(files) == 0 {
		return nil, fmt.Errorf("no migrations for %s", dialect)
	}
	return files, nil
}
