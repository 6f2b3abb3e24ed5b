package domain

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Webhooks: an organization's endpoints, each receiving the events it
// chose, signed per the Standard Webhooks scheme, every attempt logged.
// Events are written in the transaction of the change they tell about,
// with one delivery per subscribed endpoint (the outbox), and delivered
// by the queue's workers at least once.

// The event types webhooks deliver (API.md), beside
// EventBulkIssuanceCompleted.
const (
	EventCredentialIssued      EventType = "credential.issued"
	EventCredentialRenewed     EventType = "credential.renewed"
	EventCredentialClaimed     EventType = "credential.claimed"
	EventCredentialRevoked     EventType = "credential.revoked"
	EventCredentialSuspended   EventType = "credential.suspended"
	EventCredentialUnsuspended EventType = "credential.unsuspended"
	EventCredentialExpired     EventType = "credential.expired"
	EventBulkIssuanceFailed    EventType = "bulk_issuance.failed"
	// EventPing is sent by POST …/webhooks/{id}/test, to that endpoint
	// only, whatever it subscribed to.
	EventPing EventType = "ping"
)

// WebhookEventTypes are the event types an endpoint may subscribe to.
var WebhookEventTypes = []EventType{
	EventCredentialIssued, EventCredentialRenewed, EventCredentialClaimed, EventCredentialRevoked,
	EventCredentialSuspended, EventCredentialUnsuspended, EventCredentialExpired,
	EventBulkIssuanceCompleted, EventBulkIssuanceFailed,
}

// Webhook is an organization's endpoint.
type Webhook struct {
	ID          string
	OrgID       string
	URL         string
	Events      []EventType
	Active      bool
	Description string
	// SecretEnc is the signing secret's key bytes, encrypted under the
	// master key (they must be read to sign: a hash would not do).
	SecretEnc []byte
	// PreviousSecretEnc, until PreviousUntil, is the secret a rotation
	// replaced: both sign meanwhile.
	PreviousSecretEnc []byte
	PreviousUntil     *time.Time
	// DisabledReason says why the endpoint was switched off by Credence
	// (Active false): it answered 410 Gone, or kept failing; "" when it is
	// active or an administrator switched it off.
	DisabledReason string
	// FailingSince is when the endpoint's unbroken run of failed attempts
	// began (nil after a success).
	FailingSince *time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
	CreatedBy    string
}

// Why Credence switches an endpoint off.
const (
	WebhookDisabledGone    = "the endpoint answered 410 Gone"
	WebhookDisabledFailing = "every delivery to the endpoint failed for 5 days"
)

// WebhookFailingLimit is how long an endpoint may fail every attempt
// before it is switched off and its organization's owners told.
const WebhookFailingLimit = 5 * 24 * time.Hour

// Subscribes reports whether the endpoint is active and chose t.
func (w Webhook) Subscribes(t EventType) bool {
	return w.Active && slices.Contains(w.Events, t)
}

// WebhookInput is what a caller sets of an endpoint: nil fields are left
// as they are (on create: url and events are required, active defaults
// to true).
type WebhookInput struct {
	URL         *string
	Events      *[]string
	Active      *bool
	Description *string
}

// Apply checks in and sets it on w; it returns a ValidationError naming
// each field that is wrong. allowHTTP admits http URLs (the operator's
// development setting); which addresses a URL may reach is the sender's
// to judge.
func (in WebhookInput) Apply(w *Webhook, creating, allowHTTP bool) error {
	var bad []FieldError
	if in.URL != nil {
		u := strings.TrimSpace(*in.URL)
		if msg := webhookURLProblem(u, allowHTTP); msg != "" {
			bad = append(bad, FieldError{Location: "body.url", Message: msg, Value: *in.URL})
		} else {
			w.URL = u
		}
	} else if creating {
		bad = append(bad, FieldError{Location: "body.url", Message: "url is required"})
	}
	if in.Events != nil {
		events, msg := webhookEvents(*in.Events)
		if msg != "" {
			bad = append(bad, FieldError{Location: "body.events", Message: msg, Value: *in.Events})
		} else {
			w.Events = events
		}
	} else if creating {
		bad = append(bad, FieldError{Location: "body.events", Message: "events is required: one or more of " + webhookEventList()})
	}
	if in.Description != nil {
		d, ok := CleanText(*in.Description, 500, false)
		if !ok {
			bad = append(bad, FieldError{Location: "body.description", Message: "description must be at most 500 characters, without control characters", Value: *in.Description})
		} else {
			w.Description = d
		}
	}
	if in.Active != nil {
		w.Active = *in.Active
		if *in.Active {
			w.DisabledReason, w.FailingSince = "", nil
		}
	} else if creating {
		w.Active = true
	}
	if len(bad) > 0 {
		return &ValidationError{Fields: bad}
	}
	return nil
}

// webhookURLProblem says what is wrong with a webhook URL's form ("" when
// nothing is).
func webhookURLProblem(raw string, allowHTTP bool) string {
	if raw == "" || len(raw) > 2048 {
		return "url must be an absolute https URL of at most 2048 characters"
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		return "url must be an absolute https URL"
	case u.User != nil:
		return "url must not carry a user name or password"
	case u.Fragment != "":
		return "url must not carry a fragment"
	case u.Scheme == "https":
	case u.Scheme == "http" && allowHTTP:
	default:
		return "url must be https"
	}
	return ""
}

// webhookEvents checks a subscription: one or more known event types,
// each once.
func webhookEvents(in []string) ([]EventType, string) {
	if len(in) == 0 {
		return nil, "events must name one or more of " + webhookEventList()
	}
	out := make([]EventType, 0, len(in))
	for _, e := range in {
		t := EventType(strings.TrimSpace(e))
		if !slices.Contains(WebhookEventTypes, t) {
			return nil, fmt.Sprintf("unknown event %q: events are %s", e, webhookEventList())
		}
		if slices.Contains(out, t) {
			return nil, fmt.Sprintf("event %q is named twice", e)
		}
		out = append(out, t)
	}
	return out, ""
}

func webhookEventList() string {
	names := make([]string, len(WebhookEventTypes))
	for i, t := range WebhookEventTypes {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

// DeliveryStatus is where a webhook delivery stands.
type DeliveryStatus string

// Delivery statuses.
const (
	// DeliveryPending: not yet delivered, an attempt is due (or under way).
	DeliveryPending DeliveryStatus = "pending"
	// DeliverySucceeded: the endpoint answered 2xx.
	DeliverySucceeded DeliveryStatus = "succeeded"
	// DeliveryFailed: every attempt failed, or the endpoint was switched
	// off (or deleted) before one succeeded.
	DeliveryFailed DeliveryStatus = "failed"
)

// ValidDeliveryStatus reports whether s is a delivery status.
func ValidDeliveryStatus(s DeliveryStatus) bool {
	return s == DeliveryPending || s == DeliverySucceeded || s == DeliveryFailed
}

// WebhookDelivery is one event's delivery to one endpoint. Payload is
// the exact body sent at every attempt; MessageID, the webhook-id header,
// is the event's ID: the same at every attempt and resend, so receivers
// can deduplicate.
type WebhookDelivery struct {
	ID          string
	OrgID       string
	WebhookID   string
	MessageID   string
	EventType   EventType
	Payload     []byte
	Test        bool // the event came from a test-mode API key
	Status      DeliveryStatus
	Attempts    int
	NextAttempt time.Time // when a pending one is due, or an attempt's lease ends
	LastStatus  int       // the HTTP status of the last attempt, 0 when none came
	LastError   string
	CreatedAt   time.Time
	DeliveredAt *time.Time
}

// WebhookAttempt is one attempt of a delivery, as the delivery log shows
// it.
type WebhookAttempt struct {
	// ID names the attempt from when it is made, so that recording it
	// again (a retried write whose first answer was lost) records it
	// once.
	ID         string
	DeliveryID string
	N          int // 1 for the first attempt
	At         time.Time
	StatusCode int // 0 when no HTTP answer came
	Latency    time.Duration
	Response   string // the start of the answer (at most 2 KB)
	Error      string // why no answer came, or why it is a failure
}

// WebhookRetries are the waits between a delivery's attempts: ten
// attempts over about three days (then the delivery has failed). Each is
// stretched by up to a fifth at random (jitter) so that the retries of a
// failing endpoint's many deliveries spread out.
var WebhookRetries = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour,
	10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour,
}

// WebhookRetryAfter returns when attempt n+1 of a delivery whose attempt
// n (1-based) failed at now is due, jitter in [0, 1) stretching the wait;
// false when n was the last attempt.
func WebhookRetryAfter(n int, now time.Time, jitter float64) (time.Time, bool) {
	if n < 1 || n > len(WebhookRetries) {
		return time.Time{}, false
	}
	wait := WebhookRetries[n-1]
	wait += time.Duration(float64(wait) * 0.2 * jitter)
	return now.Add(wait), true
}

// WebhookURLShown is how a webhook's URL appears where it is told rather
// than used (the activity log, mail): its scheme and host, the rest (a
// path or query that may carry a token) elided.
func WebhookURLShown(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(a URL that does not parse)"
	}
	shown := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		shown += "/…"
	}
	return shown
}
