package sqlstore

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/credence-dev/credence/contract-tests/harness"
)

// A bulk chunk looks up hundreds of recipients among a badge's thousands of
// chain heads, in a table the job itself just filled (PostgreSQL has no
// statistics on it yet). The lookup must read only the heads of the emails
// asked for: reading the badge's heads and filtering them made every chunk
// of a job slower than the one before.
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
		SELECT 'c' || i, 'o1', 'b1', 'P', 'u' || i || '@example.com', now(), true, false, 'k1', repeat('x', 2000), 'u1'
		FROM generate_series(1, ?) AS i`, stored); err != nil {
		t.Fatal(err)
	}
	// Half the emails asked for are stored, half are new.
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
