package ports

import (
	"context"
	"time"

	"github.com/credence-dev/credence/core/domain"
)

// WebhookRequest is one delivery attempt of a webhook: a POST of Body
// (JSON) to URL with Headers (the Standard Webhooks webhook-id,
// webhook-timestamp and webhook-signature among them).
type WebhookRequest struct {
	URL     string
	Headers map[string]string
	Body    []byte
}

// WebhookResponse is what one attempt came to. Status is the HTTP status
// the receiver answered (0 when none came); Body is the start of its
// answer (at most WebhookResponseLimit bytes); Latency is from the start
// of the attempt to its end. Refused says the attempt was never made
// because the URL's address is one webhooks may not reach (loopback,
// private, link-local, …: the SSRF guard) or its scheme is not allowed;
// Err, for any attempt that got no HTTP answer, says why (refused,
// unresolvable, timed out, connection refused, TLS, …) in words for the
// delivery log.
type WebhookResponse struct {
	Status  int
	Body    []byte
	Latency time.Duration
	Refused bool
	Err     string
}

// WebhookResponseLimit bounds what is kept of a receiver's answer.
const WebhookResponseLimit = 2048

// WebhookSender makes one attempt of a webhook delivery. It never follows
// a redirect (a 3xx is the answer), gives up after its timeout, reads at
// most WebhookResponseLimit bytes of the answer, and, unless told
// otherwise by its operator, refuses URLs that are not https and
// addresses that are not public: the host is resolved at send time and
// the connection made to the address that was checked.
type WebhookSender interface {
	Send(ctx context.Context, r WebhookRequest) WebhookResponse
	// Check tells whether url may be a webhook's (its scheme, and its
	// host when it is an IP literal or resolves now): "" when it may, else
	// why not, for a WEBHOOK_URL_REFUSED answer.
	Check(ctx context.Context, url string) string
}

// Webhooks persists organizations' endpoints (domain.Webhook), their
// deliveries and the attempts of each: the webhook outbox. Deliveries are
// written in the transaction of the change they tell about and relayed to
// the queue after it commits; a sweep relays what a lost relay left.
type Webhooks interface {
	// Create stores a new endpoint.
	Create(ctx context.Context, w domain.Webhook) error
	// Get returns the organization's endpoint; another organization's is
	// ErrNotFound.
	Get(ctx context.Context, orgID, id string) (domain.Webhook, error)
	// List returns the organization's endpoints, oldest first.
	List(ctx context.Context, orgID string) ([]domain.Webhook, error)
	// Update stores what may change of an endpoint: URL, events, active,
	// description, secrets, DisabledReason, FailingSince, UpdatedAt.
	Update(ctx context.Context, w domain.Webhook) error
	// Delete removes the organization's endpoint; its deliveries still
	// pending fail ("the endpoint was deleted"), the log stays until
	// retention prunes it.
	Delete(ctx context.Context, orgID, id string, at time.Time) error
	// Wanted reports whether an active endpoint of the organization chose
	// one of the types ts: one narrow read, on the path of every issue.
	Wanted(ctx context.Context, orgID string, ts ...domain.EventType) (bool, error)
	// Subscribed returns the organization's active endpoints that chose t.
	Subscribed(ctx context.Context, orgID string, t domain.EventType) ([]domain.Webhook, error)

	// Deliver stores new deliveries, pending and relayed: the caller hands
	// them to the queue once its transaction commits, and Due relays at
	// their NextAttempt what a lost relay left.
	Deliver(ctx context.Context, ds ...domain.WebhookDelivery) error
	// Delivery returns the organization's delivery.
	Delivery(ctx context.Context, orgID, id string) (domain.WebhookDelivery, error)
	// Deliveries pages through an endpoint's deliveries, newest first,
	// filtered by status and event type when set.
	Deliveries(ctx context.Context, f DeliveryFilter) ([]domain.WebhookDelivery, error)
	// Due returns up to limit pending deliveries due at now (NextAttempt
	// <= now), moving their NextAttempt to leaseUntil so that no other
	// sweep takes them meanwhile.
	Due(ctx context.Context, now, leaseUntil time.Time, limit int) ([]string, error)
	// Claim starts an attempt at each of the deliveries that is relayed
	// (by Deliver's or Resend's caller, or by Due) or whose attempt's
	// lease ended before now: one more attempt, leased until leaseUntil;
	// it returns those with their endpoints. Deliveries that are done,
	// leased to another attempt, or waiting for a retry Due has not
	// relayed yet are left out: of concurrent claimers of a delivery one
	// gets it, and a stale or repeated task never attempts a retry early.
	Claim(ctx context.Context, ids []string, now, leaseUntil time.Time) ([]ClaimedDelivery, error)
	// Settle records attempts in one transaction (a worker delivering
	// many records them together): each attempt; its delivery's state
	// after it (Status, NextAttempt, LastStatus, LastError, DeliveredAt),
	// written only while the delivery is still held by that attempt
	// (sending, its Attempts unchanged: a delivery taken by another
	// attempt meanwhile keeps what that one wrote); and what the attempts
	// tell of their endpoints' runs of failures, each as seen at the end
	// of its attempt: the latest EndpointUp ends a run begun at or before
	// it, and the first EndpointDown after it begins one unless one is on
	// or a later success was recorded already (FailingSince, and
	// UpdatedAt when it changes).
	Settle(ctx context.Context, os ...Outcome) error
	// SwitchOff switches the endpoint w off with w.DisabledReason
	// (w.UpdatedAt its time) if it is still on and, when w.FailingSince
	// is set, its run of failures began at or before it (a run ended
	// meanwhile, or begun again since, switches nothing); its deliveries
	// waiting for an attempt fail, those being attempted are left to
	// their attempts. It reports whether it switched the endpoint off.
	SwitchOff(ctx context.Context, w domain.Webhook) (bool, error)
	// Lock returns the organization's endpoint, locked until the
	// transaction at hand ends (an edit that reads and writes it back).
	Lock(ctx context.Context, orgID, id string) (domain.Webhook, error)
	// Attempts returns the attempts of the deliveries, each delivery's
	// first first (one read for a page of the log).
	Attempts(ctx context.Context, deliveryIDs ...string) ([]domain.WebhookAttempt, error)
	// Resend makes a delivery pending again and relayed (Due relays it at
	// at if the caller's relay is lost), its attempts
	// counted afresh from the next one (the log keeps the earlier).
	Resend(ctx context.Context, orgID, id string, at time.Time) error
}

// ClaimedDelivery is a delivery claimed for an attempt, with its endpoint
// as it is now.
type ClaimedDelivery struct {
	Delivery domain.WebhookDelivery
	Webhook  domain.Webhook
}

// Outcome is an attempt at a delivery, the delivery's state after it,
// and what the attempt tells of its endpoint.
type Outcome struct {
	Delivery domain.WebhookDelivery
	Attempt  domain.WebhookAttempt
	Endpoint EndpointHealth
}

// EndpointHealth is what an attempt tells of its endpoint.
type EndpointHealth int

const (
	// EndpointUntold: nothing (no request was made, or it was cut short
	// by the worker stopping).
	EndpointUntold EndpointHealth = iota
	// EndpointUp: it answered 2xx.
	EndpointUp
	// EndpointDown: the attempt failed.
	EndpointDown
)

// DeliveryFilter selects an endpoint's deliveries.
type DeliveryFilter struct {
	OrgID, WebhookID string
	Status           domain.DeliveryStatus // "" for any
	EventType        domain.EventType      // "" for any
	Page             Page
}
