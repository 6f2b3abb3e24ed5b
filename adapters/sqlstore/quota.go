package sqlstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

type quotaUsageRow struct {
	bun.BaseModel `bun:"table:quota_usage,alias:qu"`

	OrgID string `bun:"org_id,pk"`
	Month string `bun:"month,pk"` // domain.MonthKey, e.g. "2026-11"
	Shard int    `bun:"shard,pk"`
	Used  int    `bun:"used"`
}

// quotaShards spreads a month's count over rows so that concurrent issuers
// of one organization do not all wait on one row lock until commit.
const quotaShards = 16

// shardCap is shard i's share of limit; the shares add up to limit.
func shardCap(limit, i int) int {
	c := limit / quotaShards
	if i < limit%quotaShards {
		c++
	}
	return c
}

// shardTokens hands out quota shards to the one-statement first issues of
// this process (Credentials.InsertFirst), so that concurrent ones take a
// shard each instead of queueing on the row lock of a shard another holds
// until it commits: with random picks most of 16 concurrent issuers share
// a shard with another. Which shard an issue counts in changes nothing
// else (each shard caps its own share of the limit); when every token is
// out (more concurrent issues than shards), a random shard it is.
type shardTokens struct {
	once sync.Once
	free chan int
}

// take returns a shard below n (n <= quotaShards) and the function that
// gives it back once the statement has committed.
func (t *shardTokens) take(n int) (shard int, put func()) {
	t.once.Do(func() {
		t.free = make(chan int, quotaShards)
		for i := range quotaShards {
			t.free <- i
		}
	})
	select {
	case token := <-t.free:
		return token % n, func() { t.free <- token }
	default:
		return rand.IntN(n), func() {}
	}
}

type quotaRecipientRow struct {
	bun.BaseModel `bun:"table:quota_recipients,alias:qr"`

	OrgID string `bun:"org_id,pk"`
	Month string `bun:"month,pk"`
	Email string `bun:"email,pk"`
}

// Quota is the bun ports.Quota.
type Quota struct{ s *Store }

var _ ports.Quota = (*Quota)(nil)

// Consume counts email for org in month unless it was counted already.
//
// The recipient row is inserted with ON CONFLICT DO NOTHING (no row: already
// counted, free). Then a slot is taken in one shard with a conditional
// UPDATE (used < the shard's share of limit), starting at a random shard.
// A shard only ever grows and the shares add up to limit, so the count never
// passes limit, and a refusal (every shard full) means the limit is reached.
// On PostgreSQL a failed conditional UPDATE that had to wait keeps the row
// lock, so each failed attempt runs under a savepoint that is rolled back:
// a consumer holds at most the shard it took, and concurrent consumers
// (ConsumeMany included, which locks shards in order) never deadlock. At
// the limit the recipient row is deleted again and a
// *domain.QuotaError returned: Consume writes nothing net at the limit even
// when the caller's transaction goes on and commits. It joins the caller's
// transaction or runs in its own.
func (r *Quota) Consume(ctx context.Context, orgID string, month time.Time, email string, limit int) (bool, error) {
	key := domain.MonthKey(month)
	var counted bool
	var quotaErr error
	err := r.s.WithinTx(ctx, func(ctx context.Context) error {
		db := r.s.idb(ctx)
		recipient := &quotaRecipientRow{OrgID: orgID, Month: key, Email: email}
		start := rand.IntN(quotaShards)
		pg := r.s.dialect == DialectPostgres
		if pg && (limit == domain.Unlimited || shardCap(limit, start) > 0) {
			// The common case in one round trip: record the email and take
			// a slot in the first shard.
			if err := r.savepoint(ctx, "quota_fast"); err != nil {
				return err
			}
			recorded, taken, err := r.recordAndTake(ctx, orgID, key, email, start, limit)
			switch {
			case err != nil:
				return err
			case !recorded:
				return r.release(ctx, "quota_fast") // counted already
			case taken:
				counted = true
				return r.release(ctx, "quota_fast")
			}
			// The first shard is full: undo the attempt, recipient row
			// included, so that no lock on that shard is kept while the
			// others are tried.
			if err := r.rollbackTo(ctx, "quota_fast"); err != nil {
				return err
			}
		}
		n, err := affected(db.NewInsert().Model(recipient).On("CONFLICT DO NOTHING").Exec(ctx))
		if err != nil {
			return err
		}
		if n == 0 {
			return nil // counted already
		}
		for pass := 0; pass < 2; pass++ {
			if pass == 1 {
				// The month's shard rows may not exist yet.
				if err := r.ensureShards(ctx, orgID, key); err != nil {
					return err
				}
			}
			for k := 0; k < quotaShards; k++ {
				shard := (start + k) % quotaShards
				q := db.NewUpdate().Model((*quotaUsageRow)(nil)).Set("used = used + 1").
					Where("org_id = ?", orgID).Where("month = ?", key).Where("shard = ?", shard)
				if limit != domain.Unlimited {
					c := shardCap(limit, shard)
					if c == 0 {
						continue
					}
					q = q.Where("used < ?", c)
				}
				// On PostgreSQL a conditional UPDATE that waited for a
				// concurrent writer and then found the shard full keeps
				// the row lock; under a savepoint rolled back it does
				// not, so a consumer only ever holds the shard it took
				// and cannot deadlock with ConsumeMany's ordered locks.
				if pg {
					if err := r.savepoint(ctx, "quota_probe"); err != nil {
						return err
					}
				}
				n, err := affected(q.Exec(ctx))
				if err != nil {
					return err
				}
				if n == 1 {
					counted = true
					if pg {
						return r.release(ctx, "quota_probe")
					}
					return nil
				}
				if pg {
					if err := r.rollbackTo(ctx, "quota_probe"); err != nil {
						return err
					}
				}
			}
		}
		if _, err := db.NewDelete().Model(recipient).WherePK().Exec(ctx); err != nil {
			return err
		}
		used, err := r.used(ctx, orgID, key)
		if err != nil {
			return err
		}
		quotaErr = &domain.QuotaError{Used: used, Limit: limit, ResetsAt: domain.NextMonthStart(month)}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("consume quota of organization %s for %s: %w", orgID, key, err)
	}
	if quotaErr != nil {
		return false, fmt.Errorf("consume quota of organization %s for %s: %w", orgID, key, quotaErr)
	}
	return counted, nil
}

// recordAndTake inserts the recipient row and, when it was new, takes a
// slot in shard, in one PostgreSQL statement (data-modifying CTEs).
func (r *Quota) recordAndTake(ctx context.Context, orgID, key, email string, shard, limit int) (recorded, taken bool, err error) {
	condition := "TRUE"
	if limit != domain.Unlimited {
		condition = fmt.Sprintf("used < %d", shardCap(limit, shard))
	}
	var nr, nu int
	err = r.s.idb(ctx).QueryRowContext(ctx, `WITH r AS (
	INSERT INTO quota_recipients (org_id, month, email) VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1
), u AS (
	UPDATE quota_usage SET used = used + 1
	WHERE org_id = ? AND month = ? AND shard = ? AND `+condition+` AND EXISTS (SELECT 1 FROM r)
	RETURNING 1
)
SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM u)`, orgID, key, email, orgID, key, shard).Scan(&nr, &nu)
	return nr > 0, nu > 0, err
}

// Used returns how many recipients were counted in the month.
func (r *Quota) Used(ctx context.Context, orgID string, month time.Time) (int, error) {
	used, err := r.used(ctx, orgID, domain.MonthKey(month))
	if err != nil {
		return 0, fmt.Errorf("quota used by organization %s: %w", orgID, err)
	}
	return used, nil
}

func (r *Quota) used(ctx context.Context, orgID, key string) (int, error) {
	var used int
	err := r.s.idb(ctx).NewSelect().Model((*quotaUsageRow)(nil)).ColumnExpr("COALESCE(SUM(used), 0)").
		Where("org_id = ?", orgID).Where("month = ?", key).Scan(ctx, &used)
	return used, err
}

// Counted reports whether email was counted in the month.
func (r *Quota) Counted(ctx context.Context, orgID string, month time.Time, email string) (bool, error) {
	ok, err := r.s.idb(ctx).NewSelect().Model((*quotaRecipientRow)(nil)).
		Where("org_id = ?", orgID).Where("month = ?", domain.MonthKey(month)).Where("email = ?", email).Exists(ctx)
	if err != nil {
		return false, fmt.Errorf("quota counted for organization %s: %w", orgID, err)
	}
	return ok, nil
}

// ensureShards creates the month's shard rows of an organization unless
// they all exist. It reads first: an INSERT … ON CONFLICT meeting a shard
// that a concurrent transaction has updated waits for that transaction to
// end, which would make the batches of one organization commit one at a
// time.
func (r *Quota) ensureShards(ctx context.Context, orgID, key string) error {
	db := r.s.idb(ctx)
	n, err := db.NewSelect().Model((*quotaUsageRow)(nil)).Where("org_id = ?", orgID).Where("month = ?", key).Count(ctx)
	if err != nil || n == quotaShards {
		return err
	}
	rows := make([]quotaUsageRow, quotaShards)
	for i := range rows {
		rows[i] = quotaUsageRow{OrgID: orgID, Month: key, Shard: i}
	}
	_, err = db.NewInsert().Model(&rows).On("CONFLICT DO NOTHING").Exec(ctx)
	return err
}

// ConsumeMany counts many emails in one pass: the recipients not counted
// yet are recorded at once (the insert returns which ones are new), the
// month's shards are locked and filled in order, and the new emails left
// without a slot are deleted again and returned. Holding the shard locks
// until commit makes concurrent single issues of the organization wait,
// which a batch of hundreds of rows is worth.
func (r *Quota) ConsumeMany(ctx context.Context, orgID string, month time.Time, emails []string, limit int) (map[string]bool, error) {
	key := domain.MonthKey(month)
	rejected := map[string]bool{}
	if len(emails) == 0 {
		return rejected, nil
	}
	err := r.s.WithinTx(ctx, func(ctx context.Context) error {
		db := r.s.idb(ctx)
		isNew := make(map[string]bool, len(emails))
		for start := 0; start < len(emails); start += rowBatch {
			part := emails[start:min(start+rowBatch, len(emails))]
			rows := make([]quotaRecipientRow, 0, len(part))
			seen := make(map[string]bool, len(part))
			for _, e := range part {
				if !seen[e] && !isNew[e] {
					seen[e] = true
					rows = append(rows, quotaRecipientRow{OrgID: orgID, Month: key, Email: e})
				}
			}
			// One order for every batch: concurrent batches sharing
			// emails then wait for each other instead of deadlocking.
			sort.Slice(rows, func(i, j int) bool { return rows[i].Email < rows[j].Email })
			var added []string
			if err := db.NewInsert().Model(&rows).On("CONFLICT DO NOTHING").Returning("email").Scan(ctx, &added); err != nil && !isNoRows(err) {
				return err
			}
			for _, e := range added {
				isNew[e] = true
			}
		}
		if len(isNew) == 0 {
			return nil
		}
		if err := r.ensureShards(ctx, orgID, key); err != nil {
			return err
		}
		need, taken := len(isNew), 0
		if limit == domain.Unlimited {
			// Nothing to refuse: count in one random shard, locking only
			// it, so that batches of one organization commit side by side.
			_, err := db.NewUpdate().Model((*quotaUsageRow)(nil)).Set("used = used + ?", need).
				Where("org_id = ?", orgID).Where("month = ?", key).Where("shard = ?", rand.IntN(quotaShards)).Exec(ctx)
			return err
		}
		var shards []quotaUsageRow
		if err := r.s.forUpdate(db.NewSelect().Model(&shards).Where("org_id = ?", orgID).Where("month = ?", key).Order("shard")).Scan(ctx); err != nil {
			return err
		}
		for _, sh := range shards {
			take := need - taken
			if limit != domain.Unlimited {
				take = min(take, max(0, shardCap(limit, sh.Shard)-sh.Used))
			}
			if take == 0 {
				continue
			}
			if _, err := db.NewUpdate().Model((*quotaUsageRow)(nil)).Set("used = used + ?", take).
				Where("org_id = ?", orgID).Where("month = ?", key).Where("shard = ?", sh.Shard).Exec(ctx); err != nil {
				return err
			}
			if taken += take; taken == need {
				break
			}
		}
		var late []string // new emails past the slots, in the callers' order
		for _, e := range emails {
			if isNew[e] && !rejected[e] {
				if taken > 0 {
					taken--
					isNew[e] = false // admitted; a repeat of it is free
					continue
				}
				rejected[e] = true
				late = append(late, e)
			}
		}
		if len(late) == 0 {
			return nil
		}
		_, err := db.NewDelete().Model((*quotaRecipientRow)(nil)).Where("org_id = ?", orgID).Where("month = ?", key).
			Where("email IN (?)", bun.List(late)).Exec(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("consume quota of organization %s for %s: %w", orgID, key, err)
	}
	return rejected, nil
}

// CountedMany returns which of emails were counted in the month.
func (r *Quota) CountedMany(ctx context.Context, orgID string, month time.Time, emails []string) (map[string]bool, error) {
	out := make(map[string]bool)
	for start := 0; start < len(emails); start += rowBatch {
		var found []string
		err := r.s.idb(ctx).NewSelect().Model((*quotaRecipientRow)(nil)).Column("email").
			Where("org_id = ?", orgID).Where("month = ?", domain.MonthKey(month)).
			Where("email IN (?)", bun.List(emails[start:min(start+rowBatch, len(emails))])).Scan(ctx, &found)
		if err != nil {
			return nil, fmt.Errorf("quota counted for organization %s: %w", orgID, err)
		}
		for _, e := range found {
			out[e] = true
		}
	}
	return out, nil
}

func (r *Quota) savepoint(ctx context.Context, name string) error {
	_, err := r.s.idb(ctx).ExecContext(ctx, "SAVEPOINT "+name)
	return err
}

func (r *Quota) release(ctx context.Context, name string) error {
	_, err := r.s.idb(ctx).ExecContext(ctx, "RELEASE SAVEPOINT "+name)
	return err
}

func (r *Quota) rollbackTo(ctx context.Context, name string) error {
	_, err := r.s.idb(ctx).ExecContext(ctx, "ROLLBACK TO SAVEPOINT "+name)
	return err
}
