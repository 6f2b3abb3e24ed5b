package work

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/credence-dev/credence/ports"
)

// Dispatcher relays outbox rows to the queue and sweeps for lost ones.
type Dispatcher struct {
	store DispatchStore
	queue ports.Queue
	clock ports.Clock
	log   *slog.Logger
	opts  Options

	pruneMu   sync.Mutex // one housekeeping round at a time
	lastPrune time.Time  // when the last round started; zero before the first

	// alsoOnSweep run at every sweep (OnSweep), before webhook
	// deliveries are relayed.
	alsoOnSweep []func(context.Context) error
}

// OnSweep has every sweep also run fn (as the credentials' expiry
// announcer, which writes webhook deliveries). Call it before Run.
func (d *Dispatcher) OnSweep(fn func(context.Context) error) {
	d.alsoOnSweep = append(d.alsoOnSweep, fn)
}

// NewDispatcher returns a dispatcher enqueuing on queue.
func NewDispatcher(store DispatchStore, queue ports.Queue, clock ports.Clock, log *slog.Logger, opts Options) *Dispatcher {
	return &Dispatcher{store: store, queue: queue, clock: clock, log: log, opts: opts.withDefaults()}
}

// Options returns the options in effect.
func (d *Dispatcher) Options() Options { return d.opts }

// MailsQueued relays mails written by a transaction that committed. A
// failure is only logged: the sweep relays the mails once RelayGrace has
// passed.
func (d *Dispatcher) MailsQueued(ctx context.Context, ids ...string) {
	if err := d.enqueueMails(ctx, ids); err != nil {
		d.log.WarnContext(ctx, "relay of queued mail failed; the sweep will retry", "mails", len(ids), "err", err)
	}
}

// JobSubmitted relays a bulk job whose submission committed; like
// MailsQueued, a failure is left to the sweep.
func (d *Dispatcher) JobSubmitted(ctx context.Context, jobID string) {
	if err := d.enqueueJob(ctx, jobID); err != nil {
		d.log.WarnContext(ctx, "relay of bulk job failed; the sweep will retry", "job", jobID, "err", err)
	}
}

// StatusListsChanged relays status lists whose change committed; like
// MailsQueued, a failure is left to the sweep.
func (d *Dispatcher) StatusListsChanged(ctx context.Context, ids ...string) {
	if err := d.enqueueStatusLists(ctx, ids); err != nil {
		d.log.WarnContext(ctx, "relay of status lists failed; the sweep will retry", "lists", len(ids), "err", err)
	}
}

// WebhooksQueued relays webhook deliveries whose transaction committed;
// like MailsQueued, a failure is left to the sweep.
func (d *Dispatcher) WebhooksQueued(ctx context.Context, ids ...string) {
	if err := d.enqueueWebhooks(ctx, ids); err != nil {
		d.log.WarnContext(ctx, "relay of webhook deliveries failed; the sweep will retry", "deliveries", len(ids), "err", err)
	}
}

func (d *Dispatcher) enqueueWebhooks(ctx context.Context, ids []string) error {
	for start := 0; start < len(ids); start += webhookBatch {
		payload, err := json.Marshal(WebhookTask{IDs: ids[start:min(start+webhookBatch, len(ids))]})
		if err != nil {
			return err
		}
		if err := d.queue.Enqueue(ctx, ports.Task{Kind: KindWebhook, Payload: payload}); err != nil {
			return err
		}
	}
	return nil
}

func (d *Dispatcher) enqueueStatusLists(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	payload, err := json.Marshal(StatusListTask{IDs: ids})
	if err != nil {
		return err
	}
	return d.queue.Enqueue(ctx, ports.Task{Kind: KindStatusList, Payload: payload})
}

func (d *Dispatcher) enqueueMails(ctx context.Context, ids []string) error {
	for start := 0; start < len(ids); start += d.opts.MailBatch {
		payload, err := json.Marshal(MailTask{IDs: ids[start:min(start+d.opts.MailBatch, len(ids))]})
		if err != nil {
			return err
		}
		if err := d.queue.Enqueue(ctx, ports.Task{Kind: KindMail, Payload: payload}); err != nil {
			return err
		}
	}
	return nil
}

func (d *Dispatcher) enqueueJob(ctx context.Context, jobID string) error {
	payload, err := json.Marshal(JobTask{JobID: jobID})
	if err != nil {
		return err
	}
	return d.queue.Enqueue(ctx, ports.Task{Kind: KindBulkJob, Payload: payload})
}

// sweepBatch bounds what one sweep takes of each kind of row.
const sweepBatch = 1000

// Sweep relays what is due and was not relayed: mail due for a (first or
// next) attempt, bulk jobs whose lease ended (never relayed, or their
// worker died), status lists with changes not yet published, and webhook
// deliveries due for an attempt (a retry's time come, or an attempt's
// lease ended). Each row it takes is marked so that sweeps of other
// replicas leave it alone for a while; a repeated task is harmless anyway.
func (d *Dispatcher) Sweep(ctx context.Context) error {
	now := d.clock.Now()
	mails, err := d.store.Mails().Due(ctx, now, now.Add(RelayGrace), sweepBatch)
	if err != nil {
		return err
	}
	if err := d.enqueueMails(ctx, mails); err != nil {
		return fmt.Errorf("relay %d due mails: %w", len(mails), err)
	}
	jobs, err := d.store.Bulk().Stale(ctx, now, now.Add(d.opts.JobLease), sweepBatch)
	if err != nil {
		return err
	}
	for _, id := range jobs {
		if err := d.enqueueJob(ctx, id); err != nil {
			return fmt.Errorf("relay bulk job %s: %w", id, err)
		}
	}
	lists, err := d.store.StatusLists().Due(ctx, now, now.Add(RelayGrace), sweepBatch)
	if err != nil {
		return err
	}
	if err := d.enqueueStatusLists(ctx, lists); err != nil {
		return fmt.Errorf("relay %d status lists: %w", len(lists), err)
	}
	hooks, err := d.store.Webhooks().Due(ctx, now, now.Add(RelayGrace), sweepBatch)
	if err != nil {
		return err
	}
	if err := d.enqueueWebhooks(ctx, hooks); err != nil {
		return fmt.Errorf("relay %d webhook deliveries: %w", len(hooks), err)
	}
	// After the relays: a failing extra must not hold them up.
	var extra error
	for _, also := range d.alsoOnSweep {
		extra = errors.Join(extra, also(ctx))
	}
	if len(mails) > 0 || len(jobs) > 0 || len(lists) > 0 || len(hooks) > 0 {
		d.log.InfoContext(ctx, "sweep relayed work", "mails", len(mails), "jobs", len(jobs), "statusLists", len(lists), "webhookDeliveries", len(hooks))
	}
	return extra
}

// Run sweeps every SweepEvery, and keeps house (Housekeep) beside the
// sweep, until ctx is done. Housekeeping runs in a goroutine of its own: a
// long first round (a backlog of years) never holds up the sweep.
func (d *Dispatcher) Run(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.every(ctx, func(ctx context.Context) {
			if _, _, err := d.Housekeep(ctx); err != nil && ctx.Err() == nil {
				d.log.ErrorContext(ctx, "housekeeping failed; it runs again after the prune interval", "err", err)
			}
		})
	}()
	d.every(ctx, func(ctx context.Context) {
		if err := d.Sweep(ctx); err != nil && ctx.Err() == nil {
			d.log.ErrorContext(ctx, "sweep failed", "err", err)
		}
	})
	<-done
}

// every calls fn now and then every SweepEvery until ctx is done.
func (d *Dispatcher) every(ctx context.Context, fn func(context.Context)) {
	t := time.NewTicker(d.opts.SweepEvery)
	defer t.Stop()
	for {
		fn(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
