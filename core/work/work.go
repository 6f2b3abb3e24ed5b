// Package work moves background work from the database to the queue and
// back: the relay that hands freshly written outbox rows (queued mail,
// submitted bulk jobs) to the queue after their transaction commits, the
// sweep that finds rows whose relay or worker was lost and hands them over
// again, the delivery of mail, and the housekeeping that deletes what has
// outlived its use. The database is the record of what must be done; the
// queue only carries "work to do now", so a lost or repeated task costs
// nothing.
package work

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// Task kinds.
const (
	KindMail    = "mail.send"    // payload: MailTask
	KindBulkJob = "bulk.process" // payload: JobTask
)

// MailTask names mails to attempt.
type MailTask struct {
	IDs []string `json:"ids"`
}

// JobTask names a bulk job to process.
type JobTask struct {
	JobID string `json:"jobId"`
}

// RelayGrace is how long the sweep leaves a freshly written outbox row to
// the relay of the process that wrote it. Writers set a new row's next
// attempt (a mail's, a job's lease) to now + RelayGrace.
const RelayGrace = 30 * time.Second

// Options tune the relay, the sweep and mail delivery.
type Options struct {
	SweepEvery   time.Duration                   // how often the sweep runs (default 5s)
	JobLease     time.Duration                   // how long a bulk worker holds a job between chunks (default 30s)
	MailLease    time.Duration                   // how long one send attempt may take before the mail is taken again (default 2m)
	MailAttempts int                             // attempts before a mail fails for good (default 8)
	MailBackoff  func(attempt int) time.Duration // wait after failed attempt n (default 1m·4^(n-1), at most 12h)
	MailBatch    int                             // mails per task (default 100)
	// ActivityRetention is how long activity entries are kept (0: forever).
	ActivityRetention time.Duration
	PruneEvery        time.Duration // how often housekeeping runs (default 1h)
}

func (o Options) withDefaults() Options {
	if o.SweepEvery <= 0 {
		o.SweepEvery = 5 * time.Second
	}
	if o.JobLease <= 0 {
		o.JobLease = 30 * time.Second
	}
	if o.MailLease <= 0 {
		o.MailLease = 2 * time.Minute
	}
	if o.MailAttempts <= 0 {
		o.MailAttempts = 8
	}
	if o.MailBackoff == nil {
		o.MailBackoff = DefaultMailBackoff
	}
	if o.MailBatch <= 0 {
		o.MailBatch = 100
	}
	if o.PruneEvery <= 0 {
		o.PruneEvery = time.Hour
	}
	if o.ActivityRetention < 0 {
		o.ActivityRetention = 0
	}
	return o
}

// DefaultMailBackoff waits 1 minute after the first failed attempt, four
// times longer after each next one, and at most 12 hours: 8 attempts span
// about a day.
func DefaultMailBackoff(attempt int) time.Duration { return MailBackoff(time.Minute, attempt) }

// MailBackoff is the wait after failed attempt n when the first wait is
// first: four times longer after each next attempt, at most 12 hours.
func MailBackoff(first time.Duration, attempt int) time.Duration {
	d := first
	for i := 1; i < attempt && d < 12*time.Hour; i++ {
		d *= 4
	}
	return min(d, 12*time.Hour)
}

// Dispatcher relays outbox rows to the queue and sweeps for lost ones.
type Dispatcher struct {
	store DispatchStore
	queue ports.Queue
	clock ports.Clock
	log   *slog.Logger
	opts  Options

	pruneMu   sync.Mutex // one housekeeping round at a time
	lastPrune time.Time  // when the last round started; zero before the first
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
// next) attempt, and bulk jobs whose lease ended (never relayed, or their
// worker died). Each row it takes is marked so that sweeps of other
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
	if len(mails) > 0 || len(jobs) > 0 {
		d.log.InfoContext(ctx, "sweep relayed work", "mails", len(mails), "jobs", len(jobs))
	}
	return nil
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
	ports.Pruned
}

// Housekeep deletes what has outlived its use, when PruneEvery has passed
// since its last round started (or it never ran): sessions, emailed links,
// MFA challenges, sign-in guards and known devices that ended EndedGrace
// ago, and activity
// entries older than ActivityRetention (none when it is 0). It deletes in
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
	if out.Activity > 0 || out.Total() > 0 {
		d.log.InfoContext(ctx, "housekeeping deleted what outlived its use", "activity", out.Activity, "sessions", out.Sessions,
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
	for {
		n, err := d.store.Retention().PruneActivity(ctx, before, pruneBatch)
		out.Activity += n
		if err != nil {
			return fmt.Errorf("prune activity before %s: %w", before.Format(time.RFC3339), err)
		}
		if n < pruneBatch {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// Delivery sends queued mail, composing deferred mail first (Compose).
type Delivery struct {
	store     MailStore
	mailer    ports.Mailer
	cipher    ports.KeyCipher
	clock     ports.Clock
	log       *slog.Logger
	opts      Options
	composers map[domain.MailKind]Composer
}

// NewDelivery returns the mail task handler; cipher opens sealed mail.
func NewDelivery(store MailStore, mailer ports.Mailer, cipher ports.KeyCipher, clock ports.Clock, log *slog.Logger, opts Options) *Delivery {
	return &Delivery{store: store, mailer: mailer, cipher: cipher, clock: clock, log: log, opts: opts.withDefaults(),
		composers: map[domain.MailKind]Composer{}}
}

// seal encrypts a mail body under cipher for the outbox (domain.Mail.Sealed).
func seal(cipher ports.KeyCipher, body string) (string, error) {
	sealed, err := cipher.Encrypt([]byte(body))
	if err != nil {
		return "", fmt.Errorf("seal mail: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sealed), nil
}

// open returns the body of mail, decrypting a sealed one.
func (m *Delivery) open(mail domain.Mail) (string, error) {
	if !mail.Sealed {
		return mail.Text, nil
	}
	raw, err := base64.StdEncoding.DecodeString(mail.Text)
	if err == nil {
		var body []byte
		if body, err = m.cipher.Decrypt(raw); err == nil {
			return string(body), nil
		}
	}
	return "", fmt.Errorf("open sealed mail (was the master key changed?): %w: %w", ports.ErrPermanent, err)
}

// Handle attempts the task's mails. Each is claimed first, so a mail sent
// or being sent elsewhere is left alone: a repeated task sends nothing
// twice. A failed attempt is logged and scheduled again with backoff
// until the attempts run out; only store failures fail the task.
func (m *Delivery) Handle(ctx context.Context, t ports.Task) error {
	var task MailTask
	if err := json.Unmarshal(t.Payload, &task); err != nil {
		return fmt.Errorf("mail task: %w: %w", ports.ErrPermanent, err)
	}
	return m.Deliver(ctx, task.IDs...)
}

// sentBatch bounds how many sent mails are marked at once. A worker killed
// between sending mails and marking them sent leaves them to be sent again
// once their lease ends: at most this many, and only then.
const sentBatch = 20

// Deliver attempts the mails now, in the caller's goroutine: it claims
// them in one statement (so a mail sent or being sent elsewhere is left
// alone), composes the deferred ones, sends each, and marks the sent ones
// in small groups.
func (m *Delivery) Deliver(ctx context.Context, ids ...string) error {
	now := m.clock.Now()
	mails, err := m.store.Mails().Claim(ctx, ids, now, now.Add(m.opts.MailLease))
	if err != nil {
		return err
	}
	var sent []string
	flush := func() error {
		err := m.store.Mails().Sent(context.WithoutCancel(ctx), sent, m.clock.Now())
		sent = sent[:0]
		return err
	}
	for _, mail := range mails {
		if err := ctx.Err(); err != nil {
			return errors.Join(err, flush()) // the rest go again once their lease ends
		}
		var sendErr error
		if mail.Deferred {
			var send bool
			if mail, send, sendErr = m.compose(ctx, mail); sendErr == nil && !send {
				continue // dropped, or composed and sent by a concurrent attempt
			}
		}
		var body string
		if sendErr == nil {
			body, sendErr = m.open(mail)
		}
		if sendErr == nil {
			sendErr = m.mailer.Send(ctx, ports.Message{To: mail.To, Subject: mail.Subject, Text: body})
		}
		if sendErr == nil {
			if sent = append(sent, mail.ID); len(sent) == sentBatch {
				if err := flush(); err != nil {
					return err
				}
			}
			continue
		}
		if err := m.failed(ctx, mail, sendErr); err != nil {
			return errors.Join(err, flush())
		}
	}
	return flush()
}

// failed records a failed attempt: retried with backoff, or failed for
// good once the attempts run out or the mailer says no retry can deliver
// it (ports.ErrPermanent: a rejected recipient, a malformed address).
func (m *Delivery) failed(ctx context.Context, mail domain.Mail, sendErr error) error {
	if mail.Attempts >= m.opts.MailAttempts || errors.Is(sendErr, ports.ErrPermanent) {
		m.log.ErrorContext(ctx, "mail failed for good", "mail", mail.ID, "kind", mail.Kind, "attempt", mail.Attempts, "err", sendErr)
		return m.store.Mails().Fail(ctx, mail.ID, sendErr.Error())
	}
	next := m.clock.Now().Add(m.opts.MailBackoff(mail.Attempts))
	m.log.WarnContext(ctx, "mail attempt failed", "mail", mail.ID, "kind", mail.Kind, "attempt", mail.Attempts, "retryAt", next, "err", sendErr)
	return m.store.Mails().Retry(ctx, mail.ID, sendErr.Error(), next)
}

// Relay hands mail to the queue once its transaction has committed.
type Relay interface {
	MailsQueued(ctx context.Context, ids ...string)
}

// Outbox writes mail with the change it tells about, in one transaction,
// sealed (its bodies carry sign-in links and codes), and relays it once
// that commits: mail is neither lost with a crash nor sent for a change
// rolled back.
type Outbox struct {
	store  MailStore
	cipher ports.KeyCipher
	relay  Relay
	clock  ports.Clock
}

// NewOutbox returns an outbox over store, sealing with cipher.
func NewOutbox(store MailStore, cipher ports.KeyCipher, relay Relay, clock ports.Clock) *Outbox {
	return &Outbox{store: store, cipher: cipher, relay: relay, clock: clock}
}

// Post queues one mail in the transaction at hand.
type Post func(kind domain.MailKind, to, subject, body string) error

// Defer queues, in the transaction at hand, a mail to `to` that the
// Composer registered for kind (Delivery.Compose) writes at delivery from
// input (encoded as JSON, sealed until then), or drops. A request that
// must not tell by its cost whether an address has an account defers its
// mail: it writes one row whatever the address, and the worker does what
// depends on the account.
type Defer func(kind domain.MailKind, to string, input any) error

// Within runs fn in a transaction; the mail fn posts is written in it and
// relayed after it commits.
func (o *Outbox) Within(ctx context.Context, fn func(ctx context.Context, post Post) error) error {
	return o.within(ctx, func(ctx context.Context, add func(domain.Mail) error) error {
		return fn(ctx, func(kind domain.MailKind, to, subject, body string) error {
			return add(domain.Mail{Kind: kind, To: to, Subject: subject, Text: body})
		})
	})
}

// WithinDeferred is Within for mail composed at delivery (Defer).
func (o *Outbox) WithinDeferred(ctx context.Context, fn func(ctx context.Context, later Defer) error) error {
	return o.within(ctx, func(ctx context.Context, add func(domain.Mail) error) error {
		return fn(ctx, func(kind domain.MailKind, to string, input any) error {
			js, err := json.Marshal(input)
			if err != nil {
				return fmt.Errorf("defer %s mail: %w", kind, err)
			}
			return add(domain.Mail{Kind: kind, To: to, Text: string(js), Deferred: true})
		})
	})
}

// within runs fn in a transaction, writing the mail it adds sealed and
// queued, and relays that mail after the transaction commits.
func (o *Outbox) within(ctx context.Context, fn func(ctx context.Context, add func(domain.Mail) error) error) error {
	var ids []string
	err := o.store.WithinTx(ctx, func(ctx context.Context) error {
		ids = ids[:0]
		now := domain.Truncate(o.clock.Now())
		return fn(ctx, func(m domain.Mail) error {
			sealed, err := seal(o.cipher, m.Text)
			if err != nil {
				return err
			}
			m.ID, m.Text, m.Sealed, m.Status, m.CreatedAt, m.NextAttempt = domain.NewID(), sealed, true, domain.MailQueued, now, now
			if err := o.store.Mails().Create(ctx, m); err != nil {
				return err
			}
			ids = append(ids, m.ID)
			return nil
		})
	})
	if err == nil && len(ids) > 0 {
		o.relay.MailsQueued(context.WithoutCancel(ctx), ids...)
	}
	return err
}
