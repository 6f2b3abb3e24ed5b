package sqlstore

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/credence-dev/credence/contract-tests/harness"
)

// A bulk chunk looks up hundreds of recipients among a badge's thousands of
// chain heads, in a table the job itself just filled (PostgreSQL has no
// statistics on it yet). The lookup must read only the heads of the emails
// asked for: reading the badge's heads and filtering them made every chunk
// of a job slower than the one before. Every recipient has a live and a
// test chain: the lookup reads the live heads only.
func TestChainHeadsOfManyReadOnlyTheirRows(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, harness.FreshPostgresDB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	const stored = 20000
	if _, err := s.db.ExecContext(ctx, `INSERT INTO credentials (id, org_id, badge_id, recipient_name,
		recipient_email, issued_at, public, test, key_id, jws, created_by)
		SELECT m || i, 'o1', 'b1', 'P', 'u' || i || '@example.com', now(), true, m = 't', 'k1', repeat('x', 2000), 'u1'
		FROM generate_series(1, ?) AS i, (VALUES ('c'), ('t')) AS mode (m)`, stored); err != nil {
		t.Fatal(err)
	}
	// Half the emails asked for are stored (twice: live and test), half are new.
	var emails []string
	for i := stored - 249; i <= stored+250; i++ {
		emails = append(emails, fmt.Sprintf("u%d@example.com", i))
	}
	var heads []credentialRow
	sql := (&Credentials{s}).headsQuery(ctx, &heads, "b1", false, emails, false).String()
	var plan string
	if err := s.db.QueryRowContext(ctx, "EXPLAIN (ANALYZE, FORMAT JSON) "+sql).Scan(&plan); err != nil {
		t.Fatal(err)
	}
	var tree any
	if err := json.Unmarshal([]byte(plan), &tree); err != nil {
		t.Fatal(err)
	}
	removed := planSum(tree, "Rows Removed by Filter") + planSum(tree, "Rows Removed by Index Recheck")
	if returned := planSum(tree, "Actual Rows"); removed > 0 || returned != 250 {
		t.Errorf("chain heads of 500 emails: the plan read %d rows it filtered out and returned %d (want 0 and 250):\n%s", removed, returned, plan)
	}
}

// planSum adds up the numbers under key in an EXPLAIN (FORMAT JSON) tree.
func planSum(v any, key string) int {
	n := 0
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if f, ok := x.(float64); ok && k == key {
				n += int(f)
			} else {
				n += planSum(x, key)
			}
		}
	case []any:
		for _, x := range v {
			n += planSum(x, key)
		}
	}
	return n
}

// Housekeeping deletes a batch of old activity entries by probing indexes,
// on a table large enough that PostgreSQL's planner may rather hash-join a
// scan of the whole table with "IN (subquery)" (a review saw it at 300,000
// rows; this data gets index probes from both forms).
func TestPruneActivityProbesIndexes(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, harness.FreshPostgresDB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	// In statements of 50,000 rows: one of 300,000 can outlast the
	// driver's 10 s read timeout on a loaded machine.
	for from := 1; from <= 300000; from += 50000 {
		if _, err := s.db.ExecContext(ctx, `INSERT INTO activity (id, org_id, actor_user, actor_key, actor_email, ip,
			action, target_type, target, detail, created_at)
			SELECT 'a' || i, 'o' || (i % 50), 'u1', '', 'u1@example.com', '192.0.2.1', 'user.signed_in', 'user', 'u1', '{}',
				now() - interval '370 days' + i * interval '1 minute'
			FROM generate_series(?::int, ?::int) AS i`, from, from+49999); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.db.ExecContext(ctx, "ANALYZE activity"); err != nil {
		t.Fatal(err)
	}
	r := &Retention{s}
	q, args := r.pruneQuery(activityPass, 1000, time.Now().Add(-365*24*time.Hour))
	var plan string
	if err := s.db.QueryRowContext(ctx, "EXPLAIN (FORMAT JSON) "+q, args...).Scan(&plan); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plan, `"Seq Scan"`) {
		t.Errorf("a prune batch scans a table:\n%s", plan)
	}
	n, err := r.PruneActivity(ctx, time.Now().Add(-365*24*time.Hour), 1000)
	if err != nil || n != 1000 {
		t.Errorf("PruneActivity = %d, %v; want 1000", n, err)
	}
}
