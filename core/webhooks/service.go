// Package webhooks holds the rules of outbound webhooks: an
// organization's endpoints (owners and admins manage them, on plans that
// have webhooks), the events written for them in the transaction of the
// change they tell about (Emit: one delivery per subscribed endpoint, the
// outbox), and the delivery of each (HandleDeliver): signed per the
// Standard Webhooks scheme, sent through ports.WebhookSender (the SSRF
// guard), retried with backoff over about three days, every attempt
// logged; an endpoint answering 410 Gone, or failing for five days, is
// switched off and its organization's owners told.
//
// Delivery is at least once: an attempt whose outcome was not recorded
// (the worker died) is made again, with the same webhook-id, so
// receivers deduplicate by it. Deliveries of one endpoint are not
// ordered: a retry may arrive after a later event.
package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/credence-dev/credence/core/access"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/work"
	"github.com/credence-dev/credence/ports"
)

// Store is what the webhook service persists.
type Store interface {
	ports.Transactor
	Orgs() ports.Orgs
	Members() ports.Members
	Webhooks() ports.Webhooks
	Events() ports.Events
	Activity() ports.ActivityLog
}

// Relay hands deliveries to the queue once their transaction committed.
type Relay interface {
	WebhooksQueued(ctx context.Context, ids ...string)
}

// Options tune the service.
type Options struct {
	// AllowHTTP admits http URLs (CREDENCE_WEBHOOK_ALLOW_PRIVATE, which
	// lets the sender reach private addresses too).
	AllowHTTP bool
	// Lease is how long one attempt may take before its delivery is
	// taken again, by the sweep, from a worker that died (default 30 s,
	// three times the sender's default timeout). A task's deliveries are
	// leased together for one Lease per sixteen (the attempts it makes
	// at once).
	Lease time.Duration
}

// Service manages endpoints and delivers their events.
type Service struct {
	store  Store
	clock  ports.Clock
	relay  Relay
	cipher ports.KeyCipher
	sender ports.WebhookSender
	outbox *work.Outbox
	plans  domain.Plans
	guard  access.Guard
	log    *slog.Logger
	opts   Options
	jitter func() float64
}

// New returns the webhook service.
func New(store Store, clock ports.Clock, relay Relay, cipher ports.KeyCipher, sender ports.WebhookSender, outbox *work.Outbox,
	plans domain.Plans, log *slog.Logger, o Options) *Service {
	if o.Lease <= 0 {
		o.Lease = 30 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if sender == nil {
		sender = noSender{}
	}
	return &Service{store: store, clock: clock, relay: relay, cipher: cipher, sender: sender, outbox: outbox, plans: plans,
		guard: access.Guard{Store: store, Plans: plans}, log: log, opts: o, jitter: rand.Float64}
}

func (s *Service) now() time.Time { return domain.Truncate(s.clock.Now()) }

// Created is a new endpoint with its secret, shown this once.
type Created struct {
	Webhook domain.Webhook
	Secret  string
}

// manage checks that actor manages the organization's webhooks.
func (s *Service) manage(ctx context.Context, actor domain.Actor, orgID string) (domain.Organization, error) {
	return s.guard.Org(ctx, actor, orgID, domain.PermWebhooks)
}

// requirePlan refuses what the organization's plan does not include.
func (s *Service) requirePlan(org domain.Organization) error {
	if !s.plans.Get(org.Plan).Webhooks {
		return domain.Errorf(domain.CodePlanRequired, "webhooks are not part of the %s plan", org.Plan)
	}
	return nil
}

// checkURL asks the sender whether u may be an endpoint's.
func (s *Service) checkURL(ctx context.Context, u string) error {
	if why := s.sender.Check(ctx, u); why != "" {
		return domain.Errorf(domain.CodeWebhookURLRefused, "the webhook URL is refused: %s", why)
	}
	return nil
}

// Create adds an endpoint to the organization and returns it with its
// signing secret.
func (s *Service) Create(ctx context.Context, actor domain.Actor, orgID string, in domain.WebhookInput) (Created, error) {
	org, err := s.manage(ctx, actor, orgID)
	if err != nil {
		return Created{}, err
	}
	if err := s.requirePlan(org); err != nil {
		return Created{}, err
	}
	now := s.now()
	w := domain.Webhook{ID: domain.NewID(), OrgID: org.ID, CreatedAt: now, UpdatedAt: now, CreatedBy: actor.ID()}
	if err := in.Apply(&w, true, s.opts.AllowHTTP); err != nil {
		return Created{}, err
	}
	if err := s.checkURL(ctx, w.URL); err != nil {
		return Created{}, err
	}
	key, secret, err := NewSecret()
	if err != nil {
		return Created{}, err
	}
	if w.SecretEnc, err = s.cipher.Encrypt(key); err != nil {
		return Created{}, err
	}
	err = s.store.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.store.Webhooks().Create(ctx, w); err != nil {
			return err
		}
		return s.record(ctx, actor, org.ID, domain.ActWebhookCreated, w.ID, domain.WebhookURLShown(w.URL))
	})
	if err != nil {
		return Created{}, err
	}
	return Created{Webhook: w, Secret: secret}, nil
}

func (s *Service) record(ctx context.Context, actor domain.Actor, orgID string, action domain.Action, id, detail string) error {
	return s.store.Activity().Record(ctx, domain.NewActivity(actor, orgID, action, "webhook", id, detail, s.now()))
}

// List returns the organization's endpoints.
func (s *Service) List(ctx context.Context, actor domain.Actor, orgID string) ([]domain.Webhook, error) {
	if _, err := s.manage(ctx, actor, orgID); err != nil {
		return nil, err
	}
	return s.store.Webhooks().List(ctx, orgID)
}

// Get returns one of the organization's endpoints.
func (s *Service) Get(ctx context.Context, actor domain.Actor, orgID, id string) (domain.Webhook, error) {
	if _, err := s.manage(ctx, actor, orgID); err != nil {
		return domain.Webhook{}, err
	}
	return s.store.Webhooks().Get(ctx, orgID, id)
}

// Update changes an endpoint. Switching it on (again) needs the plan;
// it clears why Credence had switched it off.
func (s *Service) Update(ctx context.Context, actor domain.Actor, orgID, id string, in domain.WebhookInput) (domain.Webhook, error) {
	org, err := s.manage(ctx, actor, orgID)
	if err != nil {
		return domain.Webhook{}, err
	}
	if in.URL != nil {
		// A new URL is resolved before the endpoint is locked: a slow
		// resolver never holds up the records of its deliveries.
		var probe domain.Webhook
		if err := (domain.WebhookInput{URL: in.URL}).Apply(&probe, false, s.opts.AllowHTTP); err != nil {
			return domain.Webhook{}, err
		}
		if err := s.checkURL(ctx, probe.URL); err != nil {
			return domain.Webhook{}, err
		}
	}
	var out domain.Webhook
	err = s.store.WithinTx(ctx, func(ctx context.Context) error {
		w, err := s.store.Webhooks().Lock(ctx, orgID, id)
		if err != nil {
			return err
		}
		if err := in.Apply(&w, false, s.opts.AllowHTTP); err != nil {
			return err
		}
		if in.Active != nil && *in.Active {
			if err := s.requirePlan(org); err != nil {
				return err
			}
		}
		w.UpdatedAt = s.now()
		if err := s.store.Webhooks().Update(ctx, w); err != nil {
			return err
		}
		out = w
		return s.record(ctx, actor, orgID, domain.ActWebhookUpdated, w.ID, domain.WebhookURLShown(w.URL))
	})
	return out, err
}

// Delete removes an endpoint; what it had pending fails.
func (s *Service) Delete(ctx context.Context, actor domain.Actor, orgID, id string) error {
	if _, err := s.manage(ctx, actor, orgID); err != nil {
		return err
	}
	return s.store.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.store.Webhooks().Delete(ctx, orgID, id, s.now()); err != nil {
			return err
		}
		return s.record(ctx, actor, orgID, domain.ActWebhookDeleted, id, "")
	})
}

// SecretOverlap is how long a rotated-out secret keeps signing.
const SecretOverlap = 24 * time.Hour

// RotateSecret gives an endpoint a new secret, returned this once; the
// old one signs beside it for SecretOverlap.
func (s *Service) RotateSecret(ctx context.Context, actor domain.Actor, orgID, id string) (string, error) {
	if _, err := s.manage(ctx, actor, orgID); err != nil {
		return "", err
	}
	key, secret, err := NewSecret()
	if err != nil {
		return "", err
	}
	enc, err := s.cipher.Encrypt(key)
	if err != nil {
		return "", err
	}
	err = s.store.WithinTx(ctx, func(ctx context.Context) error {
		w, err := s.store.Webhooks().Lock(ctx, orgID, id)
		if err != nil {
			return err
		}
		now := s.now()
		until := now.Add(SecretOverlap)
		w.PreviousSecretEnc, w.PreviousUntil, w.SecretEnc, w.UpdatedAt = w.SecretEnc, &until, enc, now
		if err := s.store.Webhooks().Update(ctx, w); err != nil {
			return err
		}
		return s.record(ctx, actor, orgID, domain.ActWebhookSecretRotated, id, "")
	})
	return secret, err
}

// Message is the JSON body of a delivery.
type Message struct {
	ID        string           `json:"id"`
	Type      domain.EventType `json:"type"`
	Timestamp time.Time        `json:"timestamp"`
	Data      json.RawMessage  `json:"data"`
	Test      bool             `json:"test,omitempty"`
}

// Test sends a ping event to the endpoint alone (active or not) and
// returns its delivery.
func (s *Service) Test(ctx context.Context, actor domain.Actor, orgID, id string) (domain.WebhookDelivery, error) {
	org, err := s.manage(ctx, actor, orgID)
	if err != nil {
		return domain.WebhookDelivery{}, err
	}
	if err := s.requirePlan(org); err != nil {
		return domain.WebhookDelivery{}, err
	}
	var d domain.WebhookDelivery
	err = s.store.WithinTx(ctx, func(ctx context.Context) error {
		w, err := s.store.Webhooks().Get(ctx, orgID, id)
		if err != nil {
			return err
		}
		data, err := json.Marshal(map[string]string{"webhookId": w.ID, "message": "a test event from Credence"})
		if err != nil {
			return err
		}
		e := domain.Event{ID: "evt_" + domain.NewID(), OrgID: orgID, Type: domain.EventPing, SubjectID: w.ID, Payload: data, CreatedAt: s.now()}
		ds, err := s.write(ctx, orgID, false, []domain.Event{e}, func(domain.EventType) ([]domain.Webhook, error) {
			return []domain.Webhook{w}, nil
		})
		if err != nil {
			return err
		}
		d = ds[0]
		return s.record(ctx, actor, orgID, domain.ActWebhookTested, id, "")
	})
	if err == nil {
		s.relay.WebhooksQueued(context.WithoutCancel(ctx), d.ID)
	}
	return d, err
}

// Wants reports whether an event of one of the types ts of the
// organization would be delivered anywhere now (its plan has webhooks and
// an active endpoint chose the type): an issue that none wants may take
// the one-statement path.
func (s *Service) Wants(ctx context.Context, org domain.Organization, ts ...domain.EventType) (bool, error) {
	if !s.plans.Get(org.Plan).Webhooks {
		return false, nil
	}
	return s.store.Webhooks().Wanted(ctx, org.ID, ts...)
}

// Queued relays deliveries Emit wrote once their transaction committed.
func (s *Service) Queued(ctx context.Context, ids ...string) {
	if len(ids) > 0 {
		s.relay.WebhooksQueued(context.WithoutCancel(ctx), ids...)
	}
}

// Emit writes events and their deliveries, one per endpoint of the
// organization that chose the event's type, in the transaction at hand,
// and returns the deliveries' IDs for the relay once it commits (none
// when the organization's plan has no webhooks). An event no endpoint
// chose is not written. Each type's endpoints are read once, and the
// events and deliveries written a batch to a statement, so a chunk of a
// bulk job costs a few statements, not one per row. An event's ID and
// CreatedAt are set when empty.
func (s *Service) Emit(ctx context.Context, org domain.Organization, test bool, es ...domain.Event) ([]string, error) {
	if len(es) == 0 || !s.plans.Get(org.Plan).Webhooks {
		return nil, nil
	}
	subscribed := map[domain.EventType][]domain.Webhook{}
	ds, err := s.write(ctx, org.ID, test, es, func(t domain.EventType) ([]domain.Webhook, error) {
		hooks, ok := subscribed[t]
		if !ok {
			var err error
			if hooks, err = s.store.Webhooks().Subscribed(ctx, org.ID, t); err != nil {
				return nil, err
			}
			subscribed[t] = hooks
		}
		return hooks, nil
	})
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	return ids, nil
}

// write records the events es of the organization that have endpoints
// (hooks of their type), and one delivery of each per endpoint.
func (s *Service) write(ctx context.Context, orgID string, test bool, es []domain.Event,
	hooks func(domain.EventType) ([]domain.Webhook, error)) ([]domain.WebhookDelivery, error) {
	now := s.now()
	due := s.clock.Now().Add(work.RelayGrace)
	var events []domain.Event
	var ds []domain.WebhookDelivery
	for _, e := range es {
		to, err := hooks(e.Type)
		if err != nil {
			return nil, err
		}
		if len(to) == 0 {
			continue
		}
		if e.ID == "" {
			e.ID = "evt_" + domain.NewID()
		}
		if e.CreatedAt.IsZero() {
			e.CreatedAt = now
		}
		e.OrgID = orgID
		body, err := json.Marshal(Message{ID: e.ID, Type: e.Type, Timestamp: e.CreatedAt.UTC(), Data: e.Payload, Test: test})
		if err != nil {
			return nil, fmt.Errorf("webhook message %s: %w", e.ID, err)
		}
		events = append(events, e)
		for _, w := range to {
			ds = append(ds, domain.WebhookDelivery{ID: domain.NewID(), OrgID: orgID, WebhookID: w.ID, MessageID: e.ID, EventType: e.Type,
				Payload: body, Test: test, Status: domain.DeliveryPending, NextAttempt: due, CreatedAt: e.CreatedAt})
		}
	}
	if len(ds) == 0 {
		return nil, nil
	}
	if err := s.store.Events().Record(ctx, events...); err != nil {
		return nil, err
	}
	return ds, s.store.Webhooks().Deliver(ctx, ds...)
}

// Logged is a delivery with its attempts.
type Logged struct {
	Delivery domain.WebhookDelivery
	Attempts []domain.WebhookAttempt
}

// Deliveries pages through an endpoint's delivery log.
func (s *Service) Deliveries(ctx context.Context, actor domain.Actor, f ports.DeliveryFilter) ([]Logged, error) {
	if _, err := s.manage(ctx, actor, f.OrgID); err != nil {
		return nil, err
	}
	if _, err := s.store.Webhooks().Get(ctx, f.OrgID, f.WebhookID); err != nil {
		return nil, err
	}
	ds, err := s.store.Webhooks().Deliveries(ctx, f)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	as, err := s.store.Webhooks().Attempts(ctx, ids...)
	if err != nil {
		return nil, err
	}
	of := map[string][]domain.WebhookAttempt{}
	for _, a := range as {
		of[a.DeliveryID] = append(of[a.DeliveryID], a)
	}
	out := make([]Logged, len(ds))
	for i, d := range ds {
		out[i] = Logged{Delivery: d, Attempts: of[d.ID]}
	}
	return out, nil
}

// Resend delivers a delivery of the endpoint again, with the same
// webhook-id and body; its attempts are counted afresh.
func (s *Service) Resend(ctx context.Context, actor domain.Actor, orgID, webhookID, deliveryID string) error {
	org, err := s.manage(ctx, actor, orgID)
	if err != nil {
		return err
	}
	if err := s.requirePlan(org); err != nil {
		return err
	}
	err = s.store.WithinTx(ctx, func(ctx context.Context) error {
		d, err := s.store.Webhooks().Delivery(ctx, orgID, deliveryID)
		if err != nil {
			return err
		}
		if d.WebhookID != webhookID {
			return fmt.Errorf("delivery %s of webhook %s: %w", deliveryID, webhookID, domain.ErrNotFound)
		}
		if _, err := s.store.Webhooks().Get(ctx, orgID, webhookID); err != nil {
			return err
		}
		if err := s.store.Webhooks().Resend(ctx, orgID, deliveryID, s.clock.Now().Add(work.RelayGrace)); err != nil {
			return err
		}
		return s.record(ctx, actor, orgID, domain.ActWebhookResent, webhookID, deliveryID)
	})
	if err == nil {
		s.relay.WebhooksQueued(context.WithoutCancel(ctx), deliveryID)
	}
	return err
}

// noSender stands in when no sender is configured: nothing is sent.
type noSender struct{}

const noSenderWhy = "no webhook sender is configured on this server"

func (noSender) Send(context.Context, ports.WebhookRequest) ports.WebhookResponse {
	return ports.WebhookResponse{Refused: true, Err: noSenderWhy}
}

func (noSender) Check(context.Context, string) string { return noSenderWhy }
