package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/webhooks"
	"github.com/credence-dev/credence/ports"
)

type webhookWire struct {
	ID             string     `json:"id"`
	URL            string     `json:"url"`
	Events         []string   `json:"events" doc:"the event types delivered to it"`
	Active         bool       `json:"active"`
	Description    string     `json:"description"`
	DisabledReason string     `json:"disabledReason,omitempty" doc:"why Credence switched it off (it answered 410 Gone, or failed for 5 days); cleared when it is switched on again"`
	FailingSince   *time.Time `json:"failingSince,omitempty" doc:"when its unbroken run of failed attempts began"`
	Secret         string     `json:"secret,omitempty" doc:"the signing secret (whsec_…), shown only in the response that creates the endpoint or rotates it"`
	SecretRotated  *time.Time `json:"previousSecretUntil,omitempty" doc:"after a rotation, until when the previous secret signs beside the new one"`
	CreatedAt      time.Time  `json:"createdAt"`
	UpdatedAt      time.Time  `json:"updatedAt"`
}

func webhookWireOf(w domain.Webhook) webhookWire {
	events := make([]string, len(w.Events))
	for i, e := range w.Events {
		events[i] = string(e)
	}
	return webhookWire{ID: w.ID, URL: w.URL, Events: events, Active: w.Active, Description: w.Description,
		DisabledReason: w.DisabledReason, FailingSince: w.FailingSince, SecretRotated: w.PreviousUntil,
		CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt}
}

type attemptWire struct {
	At         time.Time `json:"at"`
	StatusCode int       `json:"statusCode" doc:"the endpoint's HTTP status; 0 when no answer came"`
	LatencyMS  float64   `json:"latencyMs"`
	Response   string    `json:"response" doc:"the first 2 KB of the endpoint's answer"`
	Error      string    `json:"error,omitempty" doc:"why the attempt failed (refused by the address guard, timed out, an HTTP status …)"`
}

type deliveryWire struct {
	ID          string          `json:"id"`
	MessageID   string          `json:"messageId" doc:"the webhook-id header: the event's ID, the same at every attempt and resend"`
	EventType   string          `json:"eventType"`
	Status      string          `json:"status" enum:"pending,succeeded,failed"`
	Test        bool            `json:"test" doc:"the event came from a test-mode API key"`
	Attempts    []attemptWire   `json:"attempts"`
	NextAttempt *time.Time      `json:"nextAttemptAt,omitempty" doc:"when a pending delivery is next attempted"`
	CreatedAt   time.Time       `json:"createdAt"`
	DeliveredAt *time.Time      `json:"deliveredAt,omitempty"`
	Payload     json.RawMessage `json:"payload" doc:"the body sent: {id, type, timestamp, data}"`
}

func deliveryWireOf(l webhooks.Logged) deliveryWire {
	d := l.Delivery
	w := deliveryWire{ID: d.ID, MessageID: d.MessageID, EventType: string(d.EventType), Status: string(d.Status), Test: d.Test,
		Attempts: make([]attemptWire, len(l.Attempts)), CreatedAt: d.CreatedAt, DeliveredAt: d.DeliveredAt, Payload: d.Payload}
	if d.Status == domain.DeliveryPending {
		next := d.NextAttempt
		w.NextAttempt = &next
	}
	for i, a := range l.Attempts {
		w.Attempts[i] = attemptWire{At: a.At, StatusCode: a.StatusCode, LatencyMS: float64(a.Latency.Microseconds()) / 1000,
			Response: a.Response, Error: a.Error}
	}
	return w
}

// WebhookPath names one endpoint of an organization.
type WebhookPath struct {
	OrgPath
	WebhookID string `path:"webhookId" maxLength:"36"`
}

type webhookBody struct {
	URL         *string   `json:"url,omitempty" maxLength:"2048" doc:"https (http only where the operator allows private addresses); it must resolve to public addresses"`
	Events      *[]string `json:"events,omitempty" doc:"one or more of credential.issued, credential.renewed, credential.claimed, credential.revoked, credential.suspended, credential.unsuspended, credential.expired, bulk_issuance.completed, bulk_issuance.failed"`
	Active      *bool     `json:"active,omitempty" doc:"default true; switching it on again clears why Credence switched it off"`
	Description *string   `json:"description,omitempty" maxLength:"500"`
}

func (b *webhookBody) input() domain.WebhookInput {
	if b == nil {
		return domain.WebhookInput{}
	}
	return domain.WebhookInput{URL: b.URL, Events: b.Events, Active: b.Active, Description: b.Description}
}

// registerWebhooks registers an organization's webhook endpoints and
// their delivery logs (owners and admins; Enterprise by default).
func (s *server) registerWebhooks(api huma.API) {
	tag := "Webhooks"
	base := "/api/v1/orgs/{orgId}/webhooks"
	one := base + "/{webhookId}"
	huma.Register(api, withStatus(op(http.MethodPost, base, "create-webhook", "Add a webhook endpoint; its signing secret is shown once", tag), http.StatusCreated),
		func(ctx context.Context, in *struct {
			OrgPath
			Body *webhookBody
		}) (*struct{ Body webhookWire }, error) {
			c, err := s.Webhooks.Create(ctx, actorFrom(ctx), in.OrgID, in.Body.input())
			if err != nil {
				return nil, s.from(ctx, err)
			}
			w := webhookWireOf(c.Webhook)
			w.Secret = c.Secret
			return &struct{ Body webhookWire }{w}, nil
		})
	huma.Register(api, op(http.MethodGet, base, "list-webhooks", "The organization's webhook endpoints", tag),
		func(ctx context.Context, in *OrgPath) (*listOut[webhookWire], error) {
			ws, err := s.Webhooks.List(ctx, actorFrom(ctx), in.OrgID)
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &listOut[webhookWire]{Body: listOf(ws, 0, webhookWireOf, nil)}, nil
		})
	huma.Register(api, op(http.MethodGet, one, "get-webhook", "A webhook endpoint", tag),
		func(ctx context.Context, in *WebhookPath) (*struct{ Body webhookWire }, error) {
			w, err := s.Webhooks.Get(ctx, actorFrom(ctx), in.OrgID, in.WebhookID)
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &struct{ Body webhookWire }{webhookWireOf(w)}, nil
		})
	huma.Register(api, op(http.MethodPatch, one, "update-webhook", "Change a webhook endpoint (url, events, active, description)", tag),
		func(ctx context.Context, in *struct {
			WebhookPath
			Body *webhookBody
		}) (*struct{ Body webhookWire }, error) {
			w, err := s.Webhooks.Update(ctx, actorFrom(ctx), in.OrgID, in.WebhookID, in.Body.input())
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &struct{ Body webhookWire }{webhookWireOf(w)}, nil
		})
	huma.Register(api, withStatus(op(http.MethodDelete, one, "delete-webhook", "Remove a webhook endpoint; what it had pending fails", tag), http.StatusNoContent),
		func(ctx context.Context, in *WebhookPath) (*emptyOut, error) {
			if err := s.Webhooks.Delete(ctx, actorFrom(ctx), in.OrgID, in.WebhookID); err != nil {
				return nil, s.from(ctx, err)
			}
			return &emptyOut{}, nil
		})
	huma.Register(api, op(http.MethodPost, one+"/rotate-secret", "rotate-webhook-secret", "A new signing secret, shown once; the old one signs beside it for 24 hours", tag),
		func(ctx context.Context, in *WebhookPath) (*struct {
			Body struct {
				Secret string `json:"secret"`
			}
		}, error) {
			secret, err := s.Webhooks.RotateSecret(ctx, actorFrom(ctx), in.OrgID, in.WebhookID)
			if err != nil {
				return nil, s.from(ctx, err)
			}
			out := &struct {
				Body struct {
					Secret string `json:"secret"`
				}
			}{}
			out.Body.Secret = secret
			return out, nil
		})
	huma.Register(api, withStatus(op(http.MethodPost, one+"/test", "test-webhook", "Send a ping event to the endpoint (active or not)", tag), http.StatusAccepted),
		func(ctx context.Context, in *WebhookPath) (*struct{ Body deliveryWire }, error) {
			d, err := s.Webhooks.Test(ctx, actorFrom(ctx), in.OrgID, in.WebhookID)
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &struct{ Body deliveryWire }{deliveryWireOf(webhooks.Logged{Delivery: d})}, nil
		})
	huma.Register(api, op(http.MethodGet, one+"/deliveries", "list-webhook-deliveries", "The endpoint's delivery log, newest first, each with its attempts", tag),
		func(ctx context.Context, in *struct {
			WebhookPath
			PageParams
			Status string `query:"status" enum:"pending,succeeded,failed" doc:"only deliveries in this status"`
			Event  string `query:"event" maxLength:"64" doc:"only deliveries of this event type"`
		}) (*listOut[deliveryWire], error) {
			ls, err := s.Webhooks.Deliveries(ctx, actorFrom(ctx), ports.DeliveryFilter{OrgID: in.OrgID, WebhookID: in.WebhookID,
				Status: domain.DeliveryStatus(in.Status), EventType: domain.EventType(in.Event), Page: in.page()})
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &listOut[deliveryWire]{Body: listOf(ls, in.Limit, deliveryWireOf, func(l webhooks.Logged) string { return l.Delivery.ID })}, nil
		})
	huma.Register(api, withStatus(op(http.MethodPost, one+"/deliveries/{deliveryId}/resend", "resend-webhook-delivery",
		"Deliver again, with the same webhook-id and body (its attempts counted afresh)", tag), http.StatusAccepted),
		func(ctx context.Context, in *struct {
			WebhookPath
			DeliveryID string `path:"deliveryId" maxLength:"36"`
		}) (*emptyOut, error) {
			if err := s.Webhooks.Resend(ctx, actorFrom(ctx), in.OrgID, in.WebhookID, in.DeliveryID); err != nil {
				return nil, s.from(ctx, err)
			}
			return &emptyOut{}, nil
		})
	documentWebhooks(api)
}

// messageDoc documents what an endpoint receives for one event type.
type messageDoc[T any] struct {
	ID        string    `json:"id" doc:"the event's ID, sent again as the webhook-id header: the same at every retry and resend"`
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp" doc:"when the event happened"`
	Data      T         `json:"data"`
	Test      bool      `json:"test,omitempty" doc:"true for the events of a test-mode API key's credentials and jobs"`
}

// bulkEventDoc is the data of bulk_issuance.completed and failed.
type bulkEventDoc struct {
	ID      string `json:"id"`
	BadgeID string `json:"badgeId"`
	Status  string `json:"status" enum:"completed,failed"`
	Total   int    `json:"total"`
	Issued  int    `json:"issued"`
	Skipped int    `json:"skipped"`
	Failed  int    `json:"failed"`
	Error   string `json:"error,omitempty"`
}

// pingDoc is the data of ping.
type pingDoc struct {
	WebhookID string `json:"webhookId"`
	Message   string `json:"message"`
}

// documentWebhooks describes, under the OpenAPI document's webhooks, the
// POST each event type makes to an endpoint: its JSON body and the
// Standard Webhooks headers.
func documentWebhooks(api huma.API) {
	oa := api.OpenAPI()
	registry := oa.Components.Schemas
	credential := registry.Schema(reflect.TypeFor[messageDoc[credentials.CredentialEvent]](), true, "CredentialEventMessage")
	job := registry.Schema(reflect.TypeFor[messageDoc[bulkEventDoc]](), true, "BulkIssuanceEventMessage")
	ping := registry.Schema(reflect.TypeFor[messageDoc[pingDoc]](), true, "PingEventMessage")
	header := func(name, doc string) *huma.Param {
		return &huma.Param{Name: name, In: "header", Required: true, Description: doc, Schema: &huma.Schema{Type: "string"}}
	}
	params := []*huma.Param{
		header("webhook-id", "the event's ID (deduplicate by it)"),
		header("webhook-timestamp", "Unix seconds of the attempt"),
		header("webhook-signature", "v1,<base64 HMAC-SHA256 of id.timestamp.body with the endpoint's secret>; two, space-separated, for 24 hours after a rotation"),
	}
	if oa.Webhooks == nil {
		oa.Webhooks = map[string]*huma.PathItem{}
	}
	add := func(t domain.EventType, schema *huma.Schema, about string) {
		oa.Webhooks[string(t)] = &huma.PathItem{Post: &huma.Operation{
			OperationID: "webhook-" + strings.ReplaceAll(string(t), ".", "-"),
			Summary:     string(t),
			Description: about + " Sent as JSON to each endpoint that chose the type; a 2xx answer within 10 s delivers it, anything else is retried (ten attempts over about three days); 410 switches the endpoint off.",
			Tags:        []string{"Webhooks"},
			Parameters:  params,
			RequestBody: &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{"application/json": {Schema: schema}}},
			Responses:   map[string]*huma.Response{"2XX": {Description: "delivered"}, "410": {Description: "the endpoint is gone: it is switched off"}},
		}}
	}
	for t, about := range map[domain.EventType]string{
		domain.EventCredentialIssued:      "A credential was issued (one by one or in a bulk job).",
		domain.EventCredentialRenewed:     "A credential was issued again to a recipient of the badge (a renewal); the replaced credential's credential.revoked follows when it was revoked.",
		domain.EventCredentialClaimed:     "The recipient claimed the credential.",
		domain.EventCredentialRevoked:     "The credential was revoked (by the issuer, or replaced by a renewal).",
		domain.EventCredentialSuspended:   "The credential was suspended.",
		domain.EventCredentialUnsuspended: "The credential's suspension was lifted.",
		domain.EventCredentialExpired:     "The credential expired (announced within seconds, for expiries of the last day).",
	} {
		add(t, credential, about)
	}
	add(domain.EventBulkIssuanceCompleted, job, "A bulk issuance job ended.")
	add(domain.EventBulkIssuanceFailed, job, "A bulk issuance job failed.")
	add(domain.EventPing, ping, "POST …/webhooks/{webhookId}/test asked for it.")
}
