package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/work"
	"github.com/credence-dev/credence/ports"
)

// sendConcurrency bounds the attempts one task makes at once: a batch of
// deliveries to slow endpoints must not take a worker's whole time one
// after another.
const sendConcurrency = 16

// settleBatch bounds the attempts recorded in one transaction.
const settleBatch = 200

// settleTimeout bounds the recording of attempts already made once the
// task's context is done (the worker stopping): what was sent is
// recorded rather than sent again.
const settleTimeout = 10 * time.Second

// HandleDeliver attempts the deliveries a task names (work.WebhookTask):
// those relayed and not held by another attempt.
//
// They are claimed together, in one statement, under a lease long enough
// for all of them: sendConcurrency at a time, each within the sender's
// timeout, so what waits its turn is never taken back and sent twice.
// Attempts are recorded together as they end, a transaction for whatever
// ended meanwhile (ports.Webhooks.Settle): a bulk job's thousands of
// deliveries cost a few statements per hundred, not a transaction each.
// An endpoint switched off by one of the task's attempts (410 Gone, five
// days of failures) gets none of the task's others.
func (s *Service) HandleDeliver(ctx context.Context, t ports.Task) error {
	var task work.WebhookTask
	if err := json.Unmarshal(t.Payload, &task); err != nil {
		return fmt.Errorf("webhook task: %w", err)
	}
	if len(task.IDs) == 0 {
		return nil
	}
	now := s.clock.Now()
	rounds := (len(task.IDs) + sendConcurrency - 1) / sendConcurrency
	claimed, err := s.store.Webhooks().Claim(ctx, task.IDs, now, now.Add(time.Duration(rounds)*s.opts.Lease))
	if err != nil || len(claimed) == 0 {
		return err
	}

	// An organization whose plan lost webhooks meanwhile gets none.
	plans := map[string]bool{}
	for _, c := range claimed {
		if _, ok := plans[c.Delivery.OrgID]; ok {
			continue
		}
		org, err := s.store.Orgs().Get(ctx, c.Delivery.OrgID)
		if err != nil && !errors.Is(err, domain.ErrNotFound) {
			return err // the lease runs out, and the sweep hands them on again
		}
		plans[c.Delivery.OrgID] = err == nil && s.plans.Get(org.Plan).Webhooks
	}

	// Recorded even when ctx ends: what was sent is not sent again.
	recordCtx := context.WithoutCancel(ctx)
	outcomes := make(chan ports.Outcome, len(claimed))
	settled := make(chan error, 1)
	go func() {
		var err error
		for o := range outcomes {
			batch := []ports.Outcome{o}
		more:
			for len(batch) < settleBatch {
				select {
				case o, ok := <-outcomes:
					if !ok {
						break more
					}
					batch = append(batch, o)
				default:
					break more
				}
			}
			err = errors.Join(err, s.settle(recordCtx, batch))
		}
		settled <- err
	}()

	run := &taskRun{outcomes: outcomes, off: map[string]bool{}, ok: map[string]time.Time{}}
	var wg sync.WaitGroup
	errs := make([]error, len(claimed))
	slots := make(chan struct{}, sendConcurrency)
	for i, c := range claimed {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			errs[i] = s.attempt(ctx, c, plans[c.Delivery.OrgID], run)
		}()
	}
	wg.Wait()
	close(outcomes)
	return errors.Join(append(errs, <-settled)...)
}

// settleTries are the waits before each try of recording a batch of
// outcomes: a batch not recorded leaves its deliveries held until their
// lease ends, then sent again. All the tries of a batch share one
// settleTimeout, so that a stopping worker's last record ends within
// ports.CancelGrace.
var settleTries = []time.Duration{0, 200 * time.Millisecond, time.Second}

// settle records a batch of outcomes, trying again after a failure (a
// failed transaction wrote nothing, so trying again is safe).
func (s *Service) settle(ctx context.Context, batch []ports.Outcome) error {
	deadline := time.Now().Add(settleTimeout)
	var err error
	for _, wait := range settleTries {
		time.Sleep(wait)
		if !time.Now().Before(deadline) {
			break
		}
		rctx, cancel := context.WithDeadline(ctx, deadline)
		err = s.store.Webhooks().Settle(rctx, batch...)
		cancel()
		if err == nil {
			return nil
		}
		s.log.WarnContext(ctx, "recording webhook attempts failed", "attempts", len(batch), "err", err)
	}
	return err
}

// taskRun is what the attempts of one task share: where their outcomes
// go to be settled, and the endpoints the task switched off.
type taskRun struct {
	outcomes chan<- ports.Outcome
	mu       sync.Mutex
	off      map[string]bool
	ok       map[string]time.Time // the latest success per endpoint, perhaps not recorded yet
}

func (r *taskRun) answered(id string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if at.After(r.ok[id]) {
		r.ok[id] = at
	}
}

func (r *taskRun) lastOK(id string) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ok[id]
}

func (r *taskRun) switchedOff(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.off[id]
}

func (r *taskRun) markOff(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.off[id] = true
}

// attempt makes one attempt at a claimed delivery, failing it unsent when
// its organization's plan has no webhooks (planned false) or its endpoint
// is gone or off. Its outcome is settled with the task's others; an
// endpoint's switch-off is recorded at once, with the activity entry and
// the owners' mail.
func (s *Service) attempt(ctx context.Context, c ports.ClaimedDelivery, planned bool, run *taskRun) error {
	d, w := c.Delivery, c.Webhook
	start := s.clock.Now()
	a := domain.WebhookAttempt{ID: domain.NewID(), DeliveryID: d.ID, N: d.Attempts, At: start}
	o := ports.Outcome{Endpoint: ports.EndpointUntold}
	done := func() error {
		o.Delivery, o.Attempt = d, a
		run.outcomes <- o
		return nil
	}
	fail := func(why string) error {
		d.Status, d.LastStatus, d.LastError, d.NextAttempt = domain.DeliveryFailed, 0, why, start
		a.Error = why
		return done()
	}
	retry := func(at time.Time) {
		next, again := domain.WebhookRetryAfter(d.Attempts, at, s.jitter())
		d.Status, d.NextAttempt = domain.DeliveryPending, next
		if !again {
			d.Status, d.NextAttempt = domain.DeliveryFailed, at
		}
	}
	switch {
	case !planned:
		return fail("webhooks are no longer part of the organization's plan")
	case w.ID == "":
		return fail("the endpoint was deleted")
	case run.switchedOff(w.ID) || (!w.Active && d.EventType != domain.EventPing):
		return fail("the endpoint is switched off")
	}
	keys, err := s.keys(w, start)
	if err != nil {
		// Recorded as a failed attempt on the schedule: never a delivery
		// left held and taken again for ever.
		s.log.ErrorContext(ctx, "webhook secret unreadable", "webhook", w.ID, "err", err)
		d.LastStatus, d.LastError, a.Error = 0, "the endpoint's secret could not be read", "the endpoint's secret could not be read"
		retry(start)
		return done()
	}
	r := s.sender.Send(ctx, ports.WebhookRequest{URL: w.URL, Headers: Headers(keys, d.MessageID, start, d.Payload), Body: d.Payload})
	a.StatusCode, a.Latency, a.Response = r.Status, r.Latency, printable(r.Body)
	now := s.clock.Now()
	// What a ping to an endpoint switched off tells changes nothing of it.
	tells := w.Active
	switch {
	case r.Status == 0 && ctx.Err() != nil:
		// No answer, the worker stopping: not the endpoint's failure. Due
		// again at once, for the sweep to hand on.
		a.Error = "cut short: the worker stopped"
		d.Status, d.LastStatus, d.LastError, d.NextAttempt = domain.DeliveryPending, 0, a.Error, now
		return done()
	case r.Status >= 200 && r.Status < 300:
		d.Status, d.LastStatus, d.LastError, d.DeliveredAt = domain.DeliverySucceeded, r.Status, "", &now
		if tells {
			o.Endpoint = ports.EndpointUp
			run.answered(w.ID, now)
		}
		return done()
	case r.Status == 410:
		a.Error = "the endpoint answered 410 Gone: it is switched off"
		d.Status, d.LastStatus, d.LastError = domain.DeliveryFailed, r.Status, a.Error
		if !tells {
			return done()
		}
		o.Endpoint = ports.EndpointDown
		run.markOff(w.ID) // gone: the task sends it nothing more, whoever switched it off
		off := w
		off.Active, off.DisabledReason, off.FailingSince, off.UpdatedAt = false, domain.WebhookDisabledGone, nil, domain.Truncate(now)
		_, err := s.switchOff(ctx, off)
		return errors.Join(err, done())
	}
	a.Error = r.Err
	if r.Status != 0 {
		a.Error = fmt.Sprintf("HTTP %d", r.Status)
	}
	d.LastStatus, d.LastError = r.Status, a.Error
	retry(now)
	if !tells {
		return done()
	}
	o.Endpoint = ports.EndpointDown
	if w.FailingSince != nil && now.Sub(*w.FailingSince) >= domain.WebhookFailingLimit && !run.lastOK(w.ID).After(*w.FailingSince) {
		// Failing for five days as the claim read it, and no success of
		// this task since; the store checks that run still stands, else
		// this is an ordinary retry.
		off := w
		off.Active, off.DisabledReason, off.UpdatedAt = false, domain.WebhookDisabledFailing, domain.Truncate(now)
		switched, err := s.switchOff(ctx, off)
		if switched {
			run.markOff(w.ID)
			d.Status, d.NextAttempt = domain.DeliveryFailed, now
		}
		return errors.Join(err, done())
	}
	return done()
}

// switchOff switches an endpoint off and, if it did (no one else did
// first, and its run of failures still stands), in the same transaction
// records the activity entry and mails the organization's owners. It
// runs to its end even when the worker is stopping.
func (s *Service) switchOff(ctx context.Context, w domain.Webhook) (bool, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	switched := false
	err := s.outbox.Within(ctx, func(ctx context.Context, post work.Post) error {
		var err error
		if switched, err = s.store.Webhooks().SwitchOff(ctx, w); err != nil || !switched {
			return err
		}
		if err := s.store.Activity().Record(ctx, domain.NewActivity(domain.Actor{}, w.OrgID, domain.ActWebhookDisabled, "webhook", w.ID,
			w.DisabledReason, s.now())); err != nil {
			return err
		}
		org, err := s.store.Orgs().Get(ctx, w.OrgID)
		if err != nil {
			return err
		}
		members, err := s.store.Members().List(ctx, w.OrgID)
		if err != nil {
			return err
		}
		subject := fmt.Sprintf("A webhook of %s was switched off", org.Name)
		text := fmt.Sprintf("Credence switched off the webhook endpoint %s of %s: %s.\n\n"+
			"Events are no longer sent to it. Once it answers again, switch it back on (PATCH /api/v1/orgs/%s/webhooks/%s {\"active\": true}); "+
			"its delivery log (GET …/webhooks/%s/deliveries) shows every attempt, and failed deliveries can be resent.\n",
			domain.WebhookURLShown(w.URL), org.Name, w.DisabledReason, w.OrgID, w.ID, w.ID)
		for _, m := range members {
			if m.Role == domain.RoleOwner {
				if err := post(domain.MailWebhookDisabled, m.Email, subject, text); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	if switched {
		s.log.WarnContext(ctx, "webhook endpoint switched off", "webhook", w.ID, "org", w.OrgID, "reason", w.DisabledReason)
	}
	return switched, nil
}

// keys are the secrets that sign at now: the endpoint's, and the one a
// rotation replaced until its overlap ends.
func (s *Service) keys(w domain.Webhook, now time.Time) ([][]byte, error) {
	key, err := s.cipher.Decrypt(w.SecretEnc)
	if err != nil {
		return nil, fmt.Errorf("decrypt the secret of webhook %s: %w", w.ID, err)
	}
	keys := [][]byte{key}
	if w.PreviousSecretEnc != nil && w.PreviousUntil != nil && now.Before(*w.PreviousUntil) {
		prev, err := s.cipher.Decrypt(w.PreviousSecretEnc)
		if err != nil {
			return nil, fmt.Errorf("decrypt the previous secret of webhook %s: %w", w.ID, err)
		}
		keys = append(keys, prev)
	}
	return keys, nil
}

// printable keeps what the log may show of a receiver's answer: valid
// UTF-8, control characters but newlines and tabs dropped.
func printable(b []byte) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r < 0x20 || r == 0x7f || r == 0xfffd:
			return -1
		}
		return r
	}, strings.ToValidUTF8(string(b), ""))
}
