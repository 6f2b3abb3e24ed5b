package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// Retention is the bun ports.Retention.
type Retention struct{ s *Store }

var _ ports.Retention = (*Retention)(nil)

// Retention returns the pruning of what has outlived its use.
func (s *Store) Retention() ports.Retention { return &Retention{s} }

// activityPass deletes the oldest activity entries, along
// activity_created_idx.
var activityPass = pass{"activity", "id", "created_at < ?", "created_at, id"}

// PruneActivity deletes up to limit entries recorded before before, oldest
// first, along activity_created_idx.
func (r *Retention) PruneActivity(ctx context.Context, before time.Time, limit int) (int, error) {
	n, err := r.prune(ctx, activityPass, limit, before.UTC())
	if err != nil {
		return 0, fmt.Errorf("prune activity: %w", err)
	}
	return n, nil
}

// The webhook delivery log's passes: attempts, and deliveries done
// (pending ones are kept whatever their age).
var (
	attemptsPass   = pass{"webhook_attempts", "id", "at < ?", "at, id"}
	deliveriesPass = pass{"webhook_deliveries", "id", "created_at < ? AND status IN ('succeeded', 'failed')", "created_at, id"}
	eventsPass     = pass{"events", "id", "created_at < ?", "created_at, id"}
)

// PruneDeliveries deletes up to limit webhook attempts made before
// before, and up to limit deliveries done and events that were created
// before it, oldest first.
func (r *Retention) PruneDeliveries(ctx context.Context, before time.Time, limit int) (int, error) {
	a, err := r.prune(ctx, attemptsPass, limit, before.UTC())
	if err != nil {
		return 0, fmt.Errorf("prune webhook attempts: %w", err)
	}
	d, err := r.prune(ctx, deliveriesPass, limit, before.UTC())
	if err != nil {
		return a, fmt.Errorf("prune webhook deliveries: %w", err)
	}
	e, err := r.prune(ctx, eventsPass, limit, before.UTC())
	if err != nil {
		return max(a, d), fmt.Errorf("prune events: %w", err)
	}
	return max(a, d, e), nil
}

// PruneEnded deletes up to limit rows of each kind that ended before
// before. A kind ended in two ways (expired or used, expired or revoked)
// takes one pass per way, each along an index of its own: one condition
// with OR would leave the plan to the planner, and a scan of the table
// is what the indexes are there to avoid. The second pass takes what the
// first left of the limit.
func (r *Retention) PruneEnded(ctx context.Context, before time.Time, limit int) (ports.Pruned, error) {
	before = before.UTC()
	var out ports.Pruned
	for _, kind := range []struct {
		name   string
		into   *int
		passes []pass
		args   []any
	}{
		{"sessions", &out.Sessions, []pass{
			{"sessions", "id", "expires_at < ?", "expires_at"},
			{"sessions", "id", "revoked_at < ?", "revoked_at"},
		}, []any{before}},
		{"email tokens", &out.EmailTokens, []pass{
			{"email_tokens", "token_hash", "expires_at < ?", "expires_at"},
			{"email_tokens", "token_hash", "used_at < ?", "used_at"},
		}, []any{before}},
		{"MFA challenges", &out.MFAChallenges, []pass{
			{"mfa_challenges", "id", "expires_at < ?", "expires_at"},
			{"mfa_challenges", "id", "used_at < ?", "used_at"},
		}, []any{before}},
		// A guard matters while it counts failures (LoginFailureWindow
		// after window_start) and, once locked, until a quiet MaxLockout
		// after locked_until resets its lock-outs in a row (see
		// domain.LoginGuard.Failed). The window is asked of every guard,
		// so that the condition runs along an index: a lock-out starts
		// after its window does, so this keeps no guard longer.
		{"sign-in guards", &out.LoginGuards, []pass{
			{"login_guards", "email", "window_start < ? AND (locked_until IS NULL OR locked_until < ?)", "window_start"},
		}, []any{before.Add(-domain.LoginFailureWindow), before.Add(-domain.MaxLockout)}},
		{"known devices", &out.Devices, []pass{
			{"devices", "id", "expires_at < ?", "expires_at"},
			{"devices", "id", "revoked_at < ?", "revoked_at"},
		}, []any{before}},
	} {
		for _, p := range kind.passes {
			if *kind.into >= limit {
				break
			}
			n, err := r.prune(ctx, p, limit-*kind.into, kind.args...)
			if err != nil {
				return out, fmt.Errorf("prune %s: %w", kind.name, err)
			}
			*kind.into += n
		}
	}
	return out, nil
}

// pass is one bounded delete: the rows of table matching where, up to a
// limit, in order (the order of the index the condition runs along).
type pass struct {
	table, key, where, order string
}

// prune deletes one batch of p by primary key selected with LIMIT,
// touching at most limit rows. The outer statement repeats the condition:
// on PostgreSQL a row that a concurrent transaction made live again (a
// sign-in guard's new failure) between the selection and the delete is
// checked again once its lock is taken, and kept. There the keys are an
// array, since "IN (subquery)" lets the planner pick a hash join over a
// scan of the whole table for every batch (seen at 300,000 rows);
// "= ANY(ARRAY(…))" is probes of the primary key.
func (r *Retention) prune(ctx context.Context, p pass, limit int, args ...any) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	q, all := r.pruneQuery(p, limit, args...)
	n, err := affected(r.s.idb(ctx).ExecContext(ctx, q, all...))
	return int(n), err
}

// pruneQuery is the statement of prune and its arguments.
func (r *Retention) pruneQuery(p pass, limit int, args ...any) (string, []any) {
	sel := "SELECT " + p.key + " FROM " + p.table + " WHERE " + p.where + " ORDER BY " + p.order + " LIMIT ?"
	keys := p.key + " IN (" + sel + ")"
	if r.s.dialect == DialectPostgres {
		keys = p.key + " = ANY(ARRAY(" + sel + "))"
	}
	return "DELETE FROM " + p.table + " WHERE " + p.where + " AND " + keys, append(append(append([]any{}, args...), args...), limit)
}
