package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"
	_ "modernc.org/sqlite" // the "sqlite" driver of database/sql
)

// openDB opens the server's database behind its back (the SQLite file, or
// its PostgreSQL database), closed when t ends.
func (s *server) openDB(t *testing.T) *sql.DB {
	t.Helper()
	var db *sql.DB
	switch s.store {
	case "sqlite":
		var err error
		db, err = sql.Open("sqlite", "file:"+filepath.Join(s.dataDir, "credence.db")+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
	case "postgres":
		db = sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(s.dsn)))
	default:
		t.Fatalf("unknown store %q", s.store)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// dbHolds reports, for each of secrets, the tables and columns of the
// server's database holding it (as text or as raw bytes) anywhere in any
// row of any table.
func (s *server) dbHolds(t *testing.T, secrets []string) map[string][]string {
	t.Helper()
	return s.dbScan(t, func(cell string) []string {
		var out []string
		for _, secret := range secrets {
			if strings.Contains(cell, secret) {
				out = append(out, secret)
			}
		}
		return out
	})
}

// dbScan runs find on every text and byte cell of every table of the
// server's database and returns, for each value it reports, the tables
// and columns where it was found.
func (s *server) dbScan(t *testing.T, find func(cell string) []string) map[string][]string {
	t.Helper()
	db := s.openDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	list := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	if s.store == "postgres" {
		list = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	}
	tables := queryStrings(t, ctx, db, list)
	if len(tables) < 10 {
		t.Fatalf("found only %d tables (%v): the scan would prove nothing", len(tables), tables)
	}
	found := map[string][]string{}
	for _, table := range tables {
		rows, err := db.QueryContext(ctx, fmt.Sprintf(`SELECT * FROM %q`, table))
		if err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("read %s: %v", table, err)
			}
			for i, v := range vals {
				var text string
				switch x := v.(type) {
				case []byte:
					text = string(x)
				case string:
					text = x
				default:
					continue
				}
				for _, secret := range find(text) {
					found[secret] = append(found[secret], table+"."+cols[i])
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		rows.Close()
	}
	return found
}

func queryStrings(t *testing.T, ctx context.Context, db *sql.DB, query string) []string {
	t.Helper()
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// secretSet is every secret a server's clients saw: session tokens, API
// key secrets and device tokens in responses, passwords in requests.
type secretSet struct {
	mu     sync.Mutex
	tokens map[string]bool // long random values, found by tokenRE
	words  map[string]bool // passwords, found by strings.Contains
}

// secretFields are the JSON fields whose string values are secrets.
var secretFields = map[string]bool{"token": true, "secret": true, "deviceToken": true,
	"password": true, "currentPassword": true, "newPassword": true}

// collect adds the secrets of a JSON document (a request or a response
// body) to the set; anything else is ignored.
func (s *secretSet) collect(body []byte) {
	var doc any
	if json.Unmarshal(body, &doc) != nil {
		return
	}
	var walk func(key string, v any)
	walk = func(key string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, v := range x {
				walk(k, v)
			}
		case []any:
			for _, v := range x {
				walk(key, v)
			}
		case string:
			if secretFields[key] && len(x) >= 8 {
				s.add(x)
			}
		}
	}
	walk("", doc)
}

func (s *secretSet) add(secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tokens == nil {
		s.tokens, s.words = map[string]bool{}, map[string]bool{}
	}
	if tokenRE.MatchString(secret) && tokenRE.FindString(secret) == secret {
		s.tokens[secret] = true
	} else {
		s.words[secret] = true
	}
}

// tokenRE matches the random tokens Credence hands out (session tokens,
// API keys, emailed link tokens: 256 bits of base64url with a prefix or
// without) as they would appear in a stored cell.
var tokenRE = regexp.MustCompile(`(?:crs_|crk_live_|crk_test_|crd_)?[A-Za-z0-9_-]{32,}`)

// mailTokenRE finds the tokens of emailed links.
var mailTokenRE = regexp.MustCompile(`[?&]token=([A-Za-z0-9_-]{32,})`)

// noSecretsInDB fails t when the server's database holds, anywhere, a
// secret its clients saw (s.secrets) or a token of a mailed link: they
// must be stored only as hashes or sealed.
func (s *server) noSecretsInDB(t *testing.T) {
	t.Helper()
	if s.store == "" || s.proc == nil {
		return
	}
	if s.dataDir != "" {
		for _, m := range s.allMails(t) {
			for _, match := range mailTokenRE.FindAllStringSubmatch(m.Body, -1) {
				s.secrets.add(match[1])
			}
		}
	}
	s.secrets.mu.Lock()
	tokens, words := maps.Clone(s.secrets.tokens), slices.Collect(maps.Keys(s.secrets.words))
	s.secrets.mu.Unlock()
	if len(tokens) == 0 {
		return // nobody signed in: nothing to look for
	}
	held := s.dbScan(t, func(cell string) []string {
		var out []string
		for _, tok := range tokenRE.FindAllString(cell, -1) {
			if tokens[tok] {
				out = append(out, tok)
			}
		}
		for _, w := range words {
			if strings.Contains(cell, w) {
				out = append(out, w)
			}
		}
		return out
	})
	for secret, where := range held {
		t.Errorf("the %s database holds a secret a client saw (%.12s…) in %v", s.store, secret, where)
	}
	if len(held) == 0 {
		t.Logf("%s database scanned for %d tokens and %d passwords: none stored", s.store, len(tokens), len(words))
	}
}
