package store

import (
	"context"
	"errors"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

func makeWebhook(orgID string, events ...domain.EventType) domain.Webhook {
	return domain.Webhook{ID: domain.NewID(), OrgID: orgID, URL: "https://hooks.example/" + uniq(), Events: events, Active: true,
		Description: "d", SecretEnc: []byte("sealed-" + uniq()), CreatedAt: t0, UpdatedAt: t0, CreatedBy: domain.NewID()}
}

func makeDelivery(w domain.Webhook, t domain.EventType, due time.Time) domain.WebhookDelivery {
	return domain.WebhookDelivery{ID: domain.NewID(), OrgID: w.OrgID, WebhookID: w.ID, MessageID: "msg_" + uniq(), EventType: t,
		Payload: []byte(`{"type":"` + string(t) + `"}`), Status: domain.DeliveryPending, NextAttempt: due, CreatedAt: due}
}

// Webhooks: endpoints round-trip within their organization only;
// Subscribed lists the active endpoints that chose a type; Update and
// Delete change and remove one (Delete failing what it had pending).
func testWebhookEndpoints(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o := newOrg(t, s)
	w := makeWebhook(o.ID, domain.EventCredentialIssued, domain.EventCredentialRevoked)
	must(t, s.Webhooks().Create(ctx, w))
	got, err := s.Webhooks().Get(ctx, o.ID, w.ID)
	must(t, err)
	equal(t, got, w)
	if _, err := s.Webhooks().Get(ctx, newOrg(t, s).ID, w.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("another organization's Get = %v, want not found", err)
	}
	off := makeWebhook(o.ID, domain.EventCredentialIssued)
	off.Active, off.DisabledReason = false, domain.WebhookDisabledGone
	must(t, s.Webhooks().Create(ctx, off))
	other := makeWebhook(o.ID, domain.EventBulkIssuanceCompleted)
	other.CreatedAt = t0.Add(time.Second)
	must(t, s.Webhooks().Create(ctx, other))
	subs, err := s.Webhooks().Subscribed(ctx, o.ID, domain.EventCredentialIssued)
	must(t, err)
	if len(subs) != 1 || subs[0].ID != w.ID {
		t.Errorf("Subscribed(issued) = %+v, want the active endpoint that chose it", subs)
	}
	all, err := s.Webhooks().List(ctx, o.ID)
	must(t, err)
	equal(t, len(all), 3)
	// Wanted: an active endpoint chose one of the types.
	for _, c := range []struct {
		org  string
		ts   []domain.EventType
		want bool
	}{
		{o.ID, []domain.EventType{domain.EventCredentialRevoked}, true},
		{o.ID, []domain.EventType{domain.EventCredentialClaimed, domain.EventBulkIssuanceCompleted}, true},
		{o.ID, []domain.EventType{domain.EventCredentialClaimed}, false}, // no endpoint chose it
		{o.ID, nil, false}, // no type asked for
		{newOrg(t, s).ID, []domain.EventType{domain.EventCredentialIssued}, false}, // another organization's
	} {
		got, err := s.Webhooks().Wanted(ctx, c.org, c.ts...)
		must(t, err)
		if got != c.want {
			t.Errorf("Wanted(%v) = %v, want %v", c.ts, got, c.want)
		}
	}

	w.URL, w.Events, w.Description = "https://hooks.example/new", []domain.EventType{domain.EventPing}, "changed"
	w.PreviousSecretEnc, w.PreviousUntil, w.SecretEnc = w.SecretEnc, ptr(t0.Add(24*time.Hour)), []byte("sealed-new")
	w.FailingSince, w.UpdatedAt = ptr(t0), t0.Add(time.Minute)
	must(t, s.Webhooks().Update(ctx, w))
	got, err = s.Webhooks().Get(ctx, o.ID, w.ID)
	must(t, err)
	equal(t, got, w)
	// Only the switched-off endpoint still chose credential.issued.
	if wanted, err := s.Webhooks().Wanted(ctx, o.ID, domain.EventCredentialIssued); err != nil || wanted {
		t.Errorf("Wanted(issued) with only a switched-off endpoint choosing it = %v %v", wanted, err)
	}

	pending := makeDelivery(w, domain.EventCredentialIssued, t0)
	done := makeDelivery(w, domain.EventCredentialIssued, t0)
	done.Status = domain.DeliverySucceeded
	must(t, s.Webhooks().Deliver(ctx, pending, done))
	must(t, s.Webhooks().Delete(ctx, o.ID, w.ID, t0.Add(time.Hour)))
	if _, err := s.Webhooks().Get(ctx, o.ID, w.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("Get after Delete = %v, want not found", err)
	}
	d, err := s.Webhooks().Delivery(ctx, o.ID, pending.ID)
	must(t, err)
	if d.Status != domain.DeliveryFailed || d.LastError == "" {
		t.Errorf("a pending delivery of a deleted endpoint: %+v, want failed with a reason", d)
	}
	d, err = s.Webhooks().Delivery(ctx, o.ID, done.ID)
	must(t, err)
	equal(t, d.Status, domain.DeliverySucceeded)
	if err := s.Webhooks().Delete(ctx, o.ID, w.ID, t0); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("a second Delete = %v, want not found", err)
	}
}

// Webhooks deliveries: Deliver stores each message once per endpoint;
// Due leases what is due; Claim gives each delivery to one claimer, one
// attempt more; Attempted records the attempt and the new state (and
// the endpoint's, failing its other pending deliveries when switched
// off); Deliveries pages newest first with filters; Resend makes one
// pending again.
func testWebhookDeliveries(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o := newOrg(t, s)
	w := makeWebhook(o.ID, domain.EventCredentialIssued)
	must(t, s.Webhooks().Create(ctx, w))

	first := makeDelivery(w, domain.EventCredentialIssued, t0)
	again := first
	again.ID = domain.NewID()
	later := makeDelivery(w, domain.EventCredentialRevoked, t0.Add(time.Hour))
	later.CreatedAt = t0.Add(time.Second)
	must(t, s.Webhooks().Deliver(ctx, first, again, later))
	if _, err := s.Webhooks().Delivery(ctx, o.ID, again.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("a second delivery of one message to one endpoint was stored: %v", err)
	}
	got, err := s.Webhooks().Delivery(ctx, o.ID, first.ID)
	must(t, err)
	equal(t, got, first)

	due, err := s.Webhooks().Due(ctx, t0, t0.Add(30*time.Second), 10)
	must(t, err)
	equalIDs(t, "due deliveries", due, []string{first.ID})
	due, err = s.Webhooks().Due(ctx, t0, t0.Add(30*time.Second), 10)
	must(t, err)
	equal(t, len(due), 0) // leased to the relay

	const claimers = 6
	warmPool(t, s, claimers)
	claimed := make([][]ports.ClaimedDelivery, claimers)
	errs := race(claimers, func(i int) error {
		var err error
		claimed[i], err = s.Webhooks().Claim(ctx, []string{first.ID}, t0, t0.Add(time.Minute))
		return err
	})
	var won []ports.ClaimedDelivery
	for i, err := range errs {
		must(t, err)
		won = append(won, claimed[i]...)
	}
	if len(won) != 1 || won[0].Delivery.Attempts != 1 || won[0].Webhook.ID != w.ID || won[0].Webhook.URL != w.URL {
		t.Fatalf("claims: %+v, want one, attempt 1, with its endpoint", won)
	}
	// Held by an attempt: neither claimed again nor due until its lease ends.
	if c, err := s.Webhooks().Claim(ctx, []string{first.ID}, t0.Add(30*time.Second), t0.Add(2*time.Minute)); err != nil || len(c) != 0 {
		t.Errorf("a leased delivery claimed again: %+v %v", c, err)
	}
	due, err = s.Webhooks().Due(ctx, t0.Add(2*time.Minute), t0.Add(3*time.Minute), 10)
	must(t, err)
	equalIDs(t, "deliveries whose attempt's lease ended", due, []string{first.ID})
	won, err = s.Webhooks().Claim(ctx, []string{first.ID}, t0.Add(2*time.Minute), t0.Add(4*time.Minute))
	must(t, err)
	equal(t, len(won), 1)
	equal(t, won[0].Delivery.Attempts, 2)

	// The attempt failed: pending again at its retry, the attempt logged.
	d := won[0].Delivery
	d.Status, d.NextAttempt, d.LastStatus, d.LastError = domain.DeliveryPending, t0.Add(10*time.Minute), 500, "HTTP 500"
	must(t, s.Webhooks().Settle(ctx, ports.Outcome{Delivery: d, Attempt: domain.WebhookAttempt{DeliveryID: d.ID, N: 2, At: t0.Add(2 * time.Minute),
		StatusCode: 500, Latency: 1500 * time.Microsecond, Response: "oops", Error: "HTTP 500"}, Endpoint: ports.EndpointDown}))
	got, err = s.Webhooks().Delivery(ctx, o.ID, d.ID)
	must(t, err)
	equal(t, got.Status, domain.DeliveryPending)
	equal(t, got.LastStatus, 500)
	gotHook, err := s.Webhooks().Get(ctx, o.ID, w.ID)
	must(t, err)
	equal(t, gotHook.FailingSince, ptr(t0.Add(2*time.Minute+1500*time.Microsecond))) // the run of failures began as the attempt ended
	attempts, err := s.Webhooks().Attempts(ctx, d.ID)
	must(t, err)
	if len(attempts) != 1 || attempts[0].StatusCode != 500 || attempts[0].Latency != 1500*time.Microsecond || attempts[0].Response != "oops" {
		t.Errorf("attempts %+v", attempts)
	}

	// Waiting for its retry: a task for it (a duplicate, or a stale one)
	// claims nothing, neither before the retry is due nor after, until
	// Due relays it.
	for _, at := range []time.Duration{5 * time.Minute, 11 * time.Minute} {
		if c, err := s.Webhooks().Claim(ctx, []string{first.ID}, t0.Add(at), t0.Add(at+time.Minute)); err != nil || len(c) != 0 {
			t.Errorf("a delivery waiting for its retry claimed by a task the sweep did not relay (at +%s): %+v %v", at, c, err)
		}
	}
	due, err = s.Webhooks().Due(ctx, t0.Add(5*time.Minute), t0.Add(6*time.Minute), 10)
	must(t, err)
	equal(t, len(due), 0)
	due, err = s.Webhooks().Due(ctx, t0.Add(11*time.Minute), t0.Add(12*time.Minute), 10)
	must(t, err)
	equalIDs(t, "deliveries whose retry is due", due, []string{first.ID})

	// Succeeded; then switched off on another delivery's 410: what the
	// endpoint had pending fails.
	won, err = s.Webhooks().Claim(ctx, []string{first.ID}, t0.Add(11*time.Minute), t0.Add(12*time.Minute))
	must(t, err)
	if len(won) != 1 {
		t.Fatalf("a retry relayed by Due: claims %+v, want it", won)
	}
	d = won[0].Delivery
	d.Status, d.LastStatus, d.LastError, d.DeliveredAt = domain.DeliverySucceeded, 204, "", ptr(t0.Add(11*time.Minute))
	must(t, s.Webhooks().Settle(ctx, ports.Outcome{Delivery: d, Attempt: domain.WebhookAttempt{DeliveryID: d.ID, N: 3, At: t0.Add(11 * time.Minute),
		StatusCode: 204}, Endpoint: ports.EndpointUp}))
	gotHook, err = s.Webhooks().Get(ctx, o.ID, w.ID)
	must(t, err)
	if gotHook.FailingSince != nil {
		t.Errorf("a success after the failures left the run on: %v", gotHook.FailingSince)
	}
	third := makeDelivery(w, domain.EventCredentialIssued, t0.Add(time.Hour))
	third.CreatedAt = t0.Add(2 * time.Second)
	must(t, s.Webhooks().Deliver(ctx, third))
	won, err = s.Webhooks().Claim(ctx, []string{third.ID}, t0.Add(time.Hour), t0.Add(time.Hour+time.Minute))
	must(t, err)
	d = won[0].Delivery
	d.Status, d.LastStatus = domain.DeliveryFailed, 410
	gone := w
	gone.Active, gone.DisabledReason, gone.UpdatedAt = false, domain.WebhookDisabledGone, t0.Add(time.Hour)
	goneOutcome := ports.Outcome{Delivery: d, Attempt: domain.WebhookAttempt{DeliveryID: d.ID, N: 1, At: t0.Add(time.Hour), StatusCode: 410},
		Endpoint: ports.EndpointDown}
	must(t, s.Webhooks().Settle(ctx, goneOutcome))
	switched, err := s.Webhooks().SwitchOff(ctx, gone)
	must(t, err)
	if !switched {
		t.Error("SwitchOff of an endpoint on reported nothing switched")
	}
	got, err = s.Webhooks().Delivery(ctx, o.ID, later.ID)
	must(t, err)
	if got.Status != domain.DeliveryFailed || got.LastError == "" {
		t.Errorf("a pending delivery of an endpoint switched off: %+v", got)
	}
	// Switched off already: a second switch-off (another 410 of the same
	// task, say) switches nothing, and says so.
	if switched, err := s.Webhooks().SwitchOff(ctx, gone); err != nil || switched {
		t.Errorf("a second SwitchOff = %v %v, want nothing switched", switched, err)
	}

	// An attempt that read the endpoint on, settled now it is off, never
	// switches it back on, nor changes its delivery that the switch-off
	// failed.
	later.Attempts = 1
	must(t, s.Webhooks().Settle(ctx, ports.Outcome{Delivery: func() domain.WebhookDelivery {
		l := later
		l.Status, l.DeliveredAt = domain.DeliverySucceeded, ptr(t0.Add(2*time.Hour))
		return l
	}(), Attempt: domain.WebhookAttempt{DeliveryID: later.ID, N: 1, At: t0.Add(2 * time.Hour), StatusCode: 204}, Endpoint: ports.EndpointUp}))
	gotHook, err = s.Webhooks().Get(ctx, o.ID, w.ID)
	must(t, err)
	if gotHook.Active || gotHook.DisabledReason != domain.WebhookDisabledGone {
		t.Errorf("a stale attempt switched the endpoint back on: %+v", gotHook)
	}
	got, err = s.Webhooks().Delivery(ctx, o.ID, later.ID)
	must(t, err)
	if got.Status != domain.DeliveryFailed {
		t.Errorf("a delivery the switch-off failed, settled by a stale attempt: %+v", got)
	}

	// The log: newest first, filtered, paged.
	list := func(f ports.DeliveryFilter) []string {
		t.Helper()
		f.OrgID, f.WebhookID = o.ID, w.ID
		ds, err := s.Webhooks().Deliveries(ctx, f)
		must(t, err)
		ids := make([]string, len(ds))
		for i, d := range ds {
			ids[i] = d.ID
		}
		return ids
	}
	equal(t, list(ports.DeliveryFilter{}), []string{third.ID, later.ID, first.ID})
	equal(t, list(ports.DeliveryFilter{Status: domain.DeliverySucceeded}), []string{first.ID})
	equal(t, list(ports.DeliveryFilter{EventType: domain.EventCredentialRevoked}), []string{later.ID})
	equal(t, list(ports.DeliveryFilter{Page: ports.Page{Limit: 2}}), []string{third.ID, later.ID})
	equal(t, list(ports.DeliveryFilter{Page: ports.Page{After: later.ID}}), []string{first.ID})
	ds, err := s.Webhooks().Deliveries(ctx, ports.DeliveryFilter{OrgID: newOrg(t, s).ID, WebhookID: w.ID})
	must(t, err)
	equal(t, len(ds), 0)

	// Resend: pending again, attempts afresh; the log keeps the earlier.
	must(t, s.Webhooks().Resend(ctx, o.ID, first.ID, t0.Add(2*time.Hour)))
	got, err = s.Webhooks().Delivery(ctx, o.ID, first.ID)
	must(t, err)
	if got.Status != domain.DeliveryPending || got.Attempts != 0 || got.DeliveredAt != nil {
		t.Errorf("resent delivery %+v", got)
	}
	// Its caller relays it: the task claims it at once.
	if c, err := s.Webhooks().Claim(ctx, []string{first.ID}, t0.Add(time.Hour), t0.Add(time.Hour+time.Minute)); err != nil || len(c) != 1 {
		t.Errorf("a resent delivery claimed: %+v %v, want it", c, err)
	}
	if err := s.Webhooks().Resend(ctx, o.ID, domain.NewID(), t0); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("Resend of an unknown delivery = %v", err)
	}
	// A rolled-back transaction stores no delivery.
	lost := makeDelivery(w, domain.EventCredentialIssued, t0)
	err = s.WithinTx(ctx, func(ctx context.Context) error {
		must(t, s.Webhooks().Deliver(ctx, lost))
		return errBoom
	})
	wantErr(t, err, errBoom)
	if _, err := s.Webhooks().Delivery(ctx, o.ID, lost.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("a delivery of a rolled-back transaction: %v", err)
	}
}

// Retention: "PruneDeliveries deletes up to limit webhook delivery
// attempts made before before and up to limit deliveries done created
// before it": pending deliveries stay whatever their age.
func testWebhookLogPruned(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o := newOrg(t, s)
	w := makeWebhook(o.ID, domain.EventCredentialIssued)
	must(t, s.Webhooks().Create(ctx, w))
	old, oldPending, recent := makeDelivery(w, domain.EventCredentialIssued, t0), makeDelivery(w, domain.EventCredentialIssued, t0),
		makeDelivery(w, domain.EventCredentialIssued, t0.Add(48*time.Hour))
	old.Status, recent.Status = domain.DeliverySucceeded, domain.DeliveryFailed
	must(t, s.Webhooks().Deliver(ctx, old, oldPending, recent))
	for _, a := range []domain.WebhookAttempt{{DeliveryID: old.ID, N: 1, At: t0}, {DeliveryID: recent.ID, N: 1, At: t0.Add(48 * time.Hour)}} {
		d := old
		if a.DeliveryID == recent.ID {
			d = recent
		}
		must(t, s.Webhooks().Settle(ctx, ports.Outcome{Delivery: d, Attempt: a}))
	}
	oldEvent := domain.Event{ID: domain.NewID(), OrgID: o.ID, Type: domain.EventCredentialIssued, SubjectID: "c1", Payload: []byte(`{}`), CreatedAt: t0}
	newEvent := oldEvent
	newEvent.ID, newEvent.CreatedAt = domain.NewID(), t0.Add(48*time.Hour)
	must(t, s.Events().Record(ctx, oldEvent, newEvent))
	n, err := s.Retention().PruneDeliveries(ctx, t0.Add(24*time.Hour), 100)
	must(t, err)
	equal(t, n, 1)
	evs, err := s.Events().List(ctx, o.ID, ports.Page{})
	must(t, err)
	equal(t, eventIDs(evs), []string{newEvent.ID}) // the old event pruned with the log
	if _, err := s.Webhooks().Delivery(ctx, o.ID, old.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("an old delivery done survived: %v", err)
	}
	as, err := s.Webhooks().Attempts(ctx, old.ID)
	must(t, err)
	equal(t, len(as), 0)
	for _, keep := range []string{oldPending.ID, recent.ID} {
		if _, err := s.Webhooks().Delivery(ctx, o.ID, keep); err != nil {
			t.Errorf("delivery %s pruned: %v", keep, err)
		}
	}
	as, err = s.Webhooks().Attempts(ctx, recent.ID)
	must(t, err)
	equal(t, len(as), 1)
}

// Settle: "records attempts that tell nothing new of their endpoints, with
// the state of each delivery after its attempt, in one transaction".
func testWebhookSettle(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o := newOrg(t, s)
	w := makeWebhook(o.ID, domain.EventCredentialIssued)
	must(t, s.Webhooks().Create(ctx, w))
	ds := make([]domain.WebhookDelivery, 1200) // more than one statement's rows
	ids := make([]string, len(ds))
	for i := range ds {
		ds[i] = makeDelivery(w, domain.EventCredentialIssued, t0)
		ids[i] = ds[i].ID
	}
	must(t, s.Webhooks().Deliver(ctx, ds...))
	claimed, err := s.Webhooks().Claim(ctx, ids, t0, t0.Add(time.Minute))
	must(t, err)
	equal(t, len(claimed), len(ds))
	outcomes := make([]ports.Outcome, len(claimed))
	for i, c := range claimed {
		d := c.Delivery
		a := domain.WebhookAttempt{ID: domain.NewID(), DeliveryID: d.ID, N: 1, At: t0, StatusCode: 204, Latency: time.Millisecond}
		d.Status, d.LastStatus, d.DeliveredAt = domain.DeliverySucceeded, 204, ptr(t0)
		if i%2 == 1 { // every other one failed: pending at its retry
			a.StatusCode, a.Error = 503, "HTTP 503"
			d.Status, d.LastStatus, d.LastError, d.DeliveredAt, d.NextAttempt = domain.DeliveryPending, 503, "HTTP 503", nil, t0.Add(5*time.Second)
		}
		outcomes[i] = ports.Outcome{Delivery: d, Attempt: a}
	}
	// In a transaction that fails, nothing is recorded.
	wantErr(t, s.WithinTx(ctx, func(ctx context.Context) error {
		must(t, s.Webhooks().Settle(ctx, outcomes...))
		return errBoom
	}), errBoom)
	as, err := s.Webhooks().Attempts(ctx, outcomes[0].Delivery.ID)
	must(t, err)
	equal(t, len(as), 0)

	must(t, s.Webhooks().Settle(ctx, outcomes...))
	// Recorded again (a retry after a commit whose answer was lost), the
	// same attempts change nothing: one attempt each, the same states.
	must(t, s.Webhooks().Settle(ctx, outcomes...))
	for _, i := range []int{0, 1, len(outcomes) - 1} {
		want := outcomes[i]
		got, err := s.Webhooks().Delivery(ctx, o.ID, want.Delivery.ID)
		must(t, err)
		if got.Status != want.Delivery.Status || got.LastStatus != want.Delivery.LastStatus || got.LastError != want.Delivery.LastError ||
			!got.NextAttempt.Equal(want.Delivery.NextAttempt) || !reflect.DeepEqual(got.DeliveredAt, want.Delivery.DeliveredAt) {
			t.Errorf("delivery %d after Settle: %+v, want %+v", i, got, want.Delivery)
		}
		as, err := s.Webhooks().Attempts(ctx, want.Delivery.ID)
		must(t, err)
		if len(as) != 1 || as[0].StatusCode != want.Attempt.StatusCode || as[0].Error != want.Attempt.Error {
			t.Errorf("attempts of delivery %d: %+v, want %+v", i, as, want.Attempt)
		}
	}
	// A page of the log reads its attempts at once, each delivery's in order.
	more := outcomes[2]
	more.Attempt.ID, more.Attempt.N, more.Attempt.At, more.Attempt.StatusCode, more.Attempt.Error = domain.NewID(), 2, t0.Add(time.Second), 500, "HTTP 500"
	more.Delivery.Status = domain.DeliveryFailed
	must(t, s.Webhooks().Settle(ctx, more))
	as, err = s.Webhooks().Attempts(ctx, outcomes[1].Delivery.ID, outcomes[2].Delivery.ID, domain.NewID())
	must(t, err)
	if len(as) != 3 {
		t.Fatalf("attempts of two deliveries: %+v, want 3", as)
	}
	n := map[string][]int{}
	for _, a := range as {
		n[a.DeliveryID] = append(n[a.DeliveryID], a.N)
	}
	equal(t, n[outcomes[1].Delivery.ID], []int{1})
	equal(t, n[outcomes[2].Delivery.ID], []int{1, 2})

	// The failed ones wait for their retry: Due relays them when it comes.
	due, err := s.Webhooks().Due(ctx, t0.Add(10*time.Second), t0.Add(time.Minute), 1000)
	must(t, err)
	equal(t, len(due), len(ds)/2)
}

// SwitchOff and Settle side by side on one endpoint (a task's attempts,
// some answered 410, settled while others are recorded): none fails (no
// deadlock), one switch-off reports switching, and the run-of-failures
// condition keeps an endpoint whose failures ended on.
func testWebhookSwitchOffRace(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o := newOrg(t, s)
	w := makeWebhook(o.ID, domain.EventCredentialIssued)
	must(t, s.Webhooks().Create(ctx, w))
	ds := make([]domain.WebhookDelivery, 60)
	ids := make([]string, len(ds))
	for i := range ds {
		ds[i] = makeDelivery(w, domain.EventCredentialIssued, t0)
		ids[i] = ds[i].ID
	}
	must(t, s.Webhooks().Deliver(ctx, ds...))
	claimed, err := s.Webhooks().Claim(ctx, ids, t0, t0.Add(time.Hour))
	must(t, err)
	outcome := func(i int, status int) ports.Outcome {
		d := claimed[i].Delivery
		a := domain.WebhookAttempt{DeliveryID: d.ID, N: 1, At: t0.Add(time.Duration(i) * time.Second), StatusCode: status}
		health := ports.EndpointUp
		d.Status, d.LastStatus = domain.DeliverySucceeded, status
		if status >= 300 {
			health = ports.EndpointDown
			d.Status, d.NextAttempt = domain.DeliveryPending, t0.Add(time.Minute)
		}
		return ports.Outcome{Delivery: d, Attempt: a, Endpoint: health}
	}
	// More deliveries, waiting: claimed by other tasks meanwhile.
	queued := make([]domain.WebhookDelivery, 30)
	queuedIDs := make([]string, len(queued))
	for i := range queued {
		queued[i] = makeDelivery(w, domain.EventCredentialIssued, t0)
		queuedIDs[i] = queued[i].ID
	}
	must(t, s.Webhooks().Deliver(ctx, queued...))
	const settlers, switchers, claimers = 6, 4, 3
	warmPool(t, s, settlers+switchers+claimers)
	var switched atomic.Int32
	errs := race(settlers+switchers+claimers, func(i int) error {
		switch {
		case i < settlers:
			var batch []ports.Outcome
			for k := i * 9; k < i*9+9; k++ {
				o := outcome(k, 204)
				switch k % 3 {
				case 0:
					o = outcome(k, 503)
				case 1:
					o.Endpoint = ports.EndpointUntold // failed unsent, say
				}
				batch = append(batch, o)
			}
			return s.Webhooks().Settle(ctx, batch...)
		case i < settlers+switchers:
			// As the worker does: the switch-off, then the attempt's record.
			off := w
			off.Active, off.DisabledReason, off.UpdatedAt = false, domain.WebhookDisabledGone, t0.Add(time.Minute)
			ok, err := s.Webhooks().SwitchOff(ctx, off)
			if ok {
				switched.Add(1)
			}
			o := outcome(settlers*9+i-settlers, 410)
			o.Delivery.Status = domain.DeliveryFailed
			return errors.Join(err, s.Webhooks().Settle(ctx, o))
		default:
			_, err := s.Webhooks().Claim(ctx, queuedIDs, t0, t0.Add(time.Hour))
			return err
		}
	})
	for _, err := range errs {
		must(t, err)
	}
	equal(t, switched.Load(), int32(1))
	got, err := s.Webhooks().Get(ctx, o.ID, w.ID)
	must(t, err)
	if got.Active {
		t.Error("the endpoint is on after its 410s")
	}
	for _, id := range queuedIDs {
		d, err := s.Webhooks().Delivery(ctx, o.ID, id)
		must(t, err)
		// Claimed first: held by its attempt, which the switch-off leaves
		// to record it. Else failed by the switch-off, never claimed.
		if (d.Attempts == 1 && d.Status != domain.DeliveryPending) || (d.Attempts == 0 && d.Status != domain.DeliveryFailed) {
			t.Errorf("a waiting delivery after claims and a switch-off side by side: %+v", d)
		}
	}

	// Failing since t0 as a claim read it; a success ended that run since:
	// the five-day switch-off switches nothing.
	w2 := makeWebhook(o.ID, domain.EventCredentialIssued)
	must(t, s.Webhooks().Create(ctx, w2))
	d1, d2 := makeDelivery(w2, domain.EventCredentialIssued, t0), makeDelivery(w2, domain.EventCredentialIssued, t0)
	must(t, s.Webhooks().Deliver(ctx, d1, d2))
	c2, err := s.Webhooks().Claim(ctx, []string{d1.ID, d2.ID}, t0, t0.Add(time.Hour))
	must(t, err)
	equal(t, len(c2), 2)
	down := ports.Outcome{Delivery: c2[0].Delivery, Attempt: domain.WebhookAttempt{DeliveryID: c2[0].Delivery.ID, N: 1, At: t0, StatusCode: 503},
		Endpoint: ports.EndpointDown}
	down.Delivery.Status = domain.DeliveryPending
	must(t, s.Webhooks().Settle(ctx, down))
	up := ports.Outcome{Delivery: c2[1].Delivery, Attempt: domain.WebhookAttempt{DeliveryID: c2[1].Delivery.ID, N: 1, At: t0.Add(time.Hour), StatusCode: 204},
		Endpoint: ports.EndpointUp}
	up.Delivery.Status = domain.DeliverySucceeded
	must(t, s.Webhooks().Settle(ctx, up))
	stale := w2
	stale.FailingSince = ptr(t0)
	stale.Active, stale.DisabledReason, stale.UpdatedAt = false, domain.WebhookDisabledFailing, t0.Add(6*24*time.Hour)
	late := down
	late.Attempt.N, late.Attempt.At = 2, t0.Add(6*24*time.Hour)
	must(t, s.Webhooks().Settle(ctx, late))
	ok, err := s.Webhooks().SwitchOff(ctx, stale)
	must(t, err)
	got, err = s.Webhooks().Get(ctx, o.ID, w2.ID)
	must(t, err)
	if ok || !got.Active {
		t.Errorf("switched off (%v) for a run of failures that had ended: %+v", ok, got)
	}
	if got.FailingSince == nil || !got.FailingSince.Equal(t0.Add(6*24*time.Hour)) {
		t.Errorf("the failure after the success began a new run: failing since %v", got.FailingSince)
	}

	// A failure seen before a success, recorded after it, begins no run.
	w3 := makeWebhook(o.ID, domain.EventCredentialIssued)
	must(t, s.Webhooks().Create(ctx, w3))
	e1, e2 := makeDelivery(w3, domain.EventCredentialIssued, t0), makeDelivery(w3, domain.EventCredentialIssued, t0)
	must(t, s.Webhooks().Deliver(ctx, e1, e2))
	c3, err := s.Webhooks().Claim(ctx, []string{e1.ID, e2.ID}, t0, t0.Add(time.Minute))
	must(t, err)
	equal(t, len(c3), 2)
	ok3 := ports.Outcome{Delivery: c3[1].Delivery, Attempt: domain.WebhookAttempt{DeliveryID: c3[1].Delivery.ID, N: 1, At: t0.Add(time.Second),
		Latency: 10 * time.Millisecond, StatusCode: 204}, Endpoint: ports.EndpointUp}
	ok3.Delivery.Status = domain.DeliverySucceeded
	slow := ports.Outcome{Delivery: c3[0].Delivery, Attempt: domain.WebhookAttempt{DeliveryID: c3[0].Delivery.ID, N: 1, At: t0,
		Latency: 500 * time.Millisecond, Error: "timed out"}, Endpoint: ports.EndpointDown}
	slow.Delivery.Status, slow.Delivery.NextAttempt = domain.DeliveryPending, t0.Add(5*time.Second)
	must(t, s.Webhooks().Settle(ctx, ok3))
	must(t, s.Webhooks().Settle(ctx, slow))
	got, err = s.Webhooks().Get(ctx, o.ID, w3.ID)
	must(t, err)
	if got.FailingSince != nil {
		t.Errorf("a failure seen before a success, recorded after it, began a run: failing since %v", got.FailingSince)
	}

	// An attempt recorded after its delivery was claimed again (its lease
	// ended) changes nothing of the new attempt's hold.
	due, err := s.Webhooks().Due(ctx, t0.Add(10*time.Second), t0.Add(time.Minute), 10)
	must(t, err)
	equalIDs(t, "the retry due", due, []string{e1.ID})
	again, err := s.Webhooks().Claim(ctx, []string{e1.ID}, t0.Add(10*time.Second), t0.Add(time.Minute))
	must(t, err)
	equal(t, len(again), 1)
	stale1 := slow
	stale1.Delivery.Status = domain.DeliverySucceeded
	must(t, s.Webhooks().Settle(ctx, stale1))
	held, err := s.Webhooks().Delivery(ctx, o.ID, e1.ID)
	must(t, err)
	if held.Status != domain.DeliveryPending || held.Attempts != 2 {
		t.Errorf("a stale attempt's record overwrote the delivery another attempt holds: %+v", held)
	}
}
