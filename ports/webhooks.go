package ports

import (
	"context"
	"time"
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
