package work

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/credence-dev/credence/ports"
)

// EndedGrace is how long housekeeping keeps sessions, emailed links, MFA
// challenges, sign-in guards and known devices after they end, so that
// support can still see what just ended.
const EndedGrace = 24 * time.Hour

// pruneBatch bounds the rows one statement of housekeeping deletes, so
// that none holds its locks (on SQLite, the database's one write lock)
// for long.
const pruneBatch = 1000

// Housekept counts what one round of housekeeping deleted.
type Housekept struct {
	Activity int
	// Deliveries counts the webhook delivery log's rows deleted (the
	// larger of attempts and deliveries per batch).
	Deliveries int
	ports.Pruned
}

// Housekeep deletes what has outlived its use, when PruneEvery has passed
// since its last round started (or it never ran): sessions, emailed links,
// MFA challenges, sign-in guards and known devices that ended EndedGrace
// ago, and activity entries and the webhook delivery log (attempts, and
// deliveries done) older than ActivityRetention (none when it is 0). It deletes in
// batches of pruneBatch until a batch comes back short, and reports what it
// deleted and whether it ran. A failed round waits for the next interval
// like any other: a broken database is not retried every sweep.
//
// Every process running a Dispatcher keeps house; rounds of several
// replicas only find less to delete.
func (d *Dispatcher) Housekeep(ctx context.Context) (Housekept, bool, error) {
	d.pruneMu.Lock()
	defer d.pruneMu.Unlock()
	now := d.clock.Now()
	if !d.lastPrune.IsZero() && now.Sub(d.lastPrune) < d.opts.PruneEvery {
		return Housekept{}, false, nil
	}
	d.lastPrune = now
	var out Housekept
	err := d.pruneEnded(ctx, now.Add(-EndedGrace), &out)
	if d.opts.ActivityRetention > 0 && ctx.Err() == nil {
		err = errors.Join(err, d.pruneActivity(ctx, now.Add(-d.opts.ActivityRetention), &out))
	}
	if out.Activity > 0 || out.Deliveries > 0 || out.Total() > 0 {
		d.log.InfoContext(ctx, "housekeeping deleted what outlived its use", "activity", out.Activity, "webhookLog", out.Deliveries, "sessions", out.Sessions,
			"emailTokens", out.EmailTokens, "mfaChallenges", out.MFAChallenges, "loginGuards", out.LoginGuards, "devices", out.Devices)
	}
	return out, true, err
}

func (d *Dispatcher) pruneEnded(ctx context.Context, before time.Time, out *Housekept) error {
	for {
		p, err := d.store.Retention().PruneEnded(ctx, before, pruneBatch)
		out.Pruned = out.Pruned.Add(p)
		if err != nil {
			return fmt.Errorf("prune what ended before %s: %w", before.Format(time.RFC3339), err)
		}
		if p.Most() < pruneBatch {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

func (d *Dispatcher) pruneActivity(ctx context.Context, before time.Time, out *Housekept) error {
	for _, prune := range []struct {
		what string
		fn   func(context.Context, time.Time, int) (int, error)
		into *int
	}{
		{"activity", d.store.Retention().PruneActivity, &out.Activity},
		{"the webhook delivery log", d.store.Retention().PruneDeliveries, &out.Deliveries},
	} {
		for {
			n, err := prune.fn(ctx, before, pruneBatch)
			*prune.into += n
			if err != nil {
				return fmt.Errorf("prune %s before %s: %w", prune.what, before.Format(time.RFC3339), err)
			}
			if n < pruneBatch {
				break
			}
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	return nil
}
