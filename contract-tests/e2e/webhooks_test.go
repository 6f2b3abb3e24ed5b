package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// hookReceiver is a webhook endpoint a test starts on loopback: it keeps
// every delivery that reached it, and answers as respond says (204 by
// default) given the message's webhook-id and how many times that id
// arrived before.
type hookReceiver struct {
	*httptest.Server
	mu      sync.Mutex
	got     []hookDelivery
	seen    map[string]int
	ok      map[string]int // 2xx answers given, by webhook-id
	respond func(id string, before int) (status int, wait time.Duration)
}

type hookDelivery struct {
	header http.Header
	body   []byte
	at     time.Time
}

func startReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	r := &hookReceiver{seen: map[string]int{}, ok: map[string]int{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		id := req.Header.Get("webhook-id")
		r.mu.Lock()
		r.got = append(r.got, hookDelivery{header: req.Header.Clone(), body: body, at: time.Now()})
		before := r.seen[id]
		r.seen[id]++
		respond := r.respond
		r.mu.Unlock()
		status, wait := http.StatusNoContent, time.Duration(0)
		if respond != nil {
			status, wait = respond(id, before)
		}
		if wait > 0 {
			select {
			case <-time.After(wait):
			case <-req.Context().Done():
				return
			}
		}
		w.WriteHeader(status)
		if status < 300 {
			r.mu.Lock()
			r.ok[id]++
			r.mu.Unlock()
		}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *hookReceiver) set(respond func(id string, before int) (int, time.Duration)) {
	r.mu.Lock()
	r.respond = respond
	r.mu.Unlock()
}

// tally is what reached the receiver: deliveries, distinct webhook-ids,
// the deliveries that repeated an id, and the ids it accepted (2xx) more
// than once (the duplicates a receiver must deduplicate).
func (r *hookReceiver) tally() (deliveries, distinct, repeated, duplicated int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.ok {
		if n > 1 {
			duplicated++
		}
	}
	return len(r.got), len(r.seen), len(r.got) - len(r.seen), duplicated
}

// TestWebhookFaults delivers webhooks through faults, on each store: the
// embedded default (SQLite, in-process queue) and PostgreSQL with Redis
// and an apps/worker process. The receiver is down for a while, then
// back; slow beyond the timeout; killed with its worker mid-delivery
// (PostgreSQL: the worker process is killed); then answers 410. Every
// event is delivered (none lost), each delivery verifies with the
// Standard Webhooks library, a redelivery carries the same webhook-id,
// and 410 switches the endpoint off and mails its owner.
func TestWebhookFaults(t *testing.T) {
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			opts := []serverOption{withEnv("CREDENCE_SWEEP_INTERVAL", "200ms", "CREDENCE_WEBHOOK_TIMEOUT", "1s")}
			if store == "postgres" {
				opts = append(opts, withEnv("CREDENCE_REDIS_URL", freshRedisDB(t, redisWebhooks)))
			}
			s := startServer(t, store, opts...)
			var w *worker
			if store == "postgres" {
				w = s.startWorker(t, "hooks")
			}
			e := envFor(t, s)
			owner, o := e.newIssuer(t, "")
			e.setPlan(t, o.ID, "enterprise")
			oc := e.as(t, owner.Token)
			rcv := startReceiver(t)
			var hook struct {
				ID, Secret string
			}
			oc.expect(http.StatusCreated, http.MethodPost, "/api/v1/orgs/"+o.ID+"/webhooks",
				map[string]any{"url": rcv.URL, "events": []string{"credential.issued", "credential.revoked"}}, &hook)
			verifier, err := standardwebhooks.NewWebhook(hook.Secret)
			if err != nil {
				t.Fatal(err)
			}
			b := createBadge(oc, o.ID, 0)
			sent := 0
			issueSome := func(n int) {
				for range n {
					issue(oc, o.ID, b.ID, "Hook Recipient", uniqueEmail("hook"))
					sent++
				}
			}
			// allArrived waits until every event sent reached the receiver
			// and was answered 2xx, and reports how long that took.
			allArrived := func(what string, within time.Duration) time.Duration {
				t.Helper()
				start := time.Now()
				for {
					_, distinct, _, _ := rcv.tally()
					if distinct >= sent && e.deliveriesDone(t, oc, o.ID, hook.ID, sent) {
						return time.Since(start)
					}
					if time.Since(start) > within {
						d, distinct, rep, _ := rcv.tally()
						t.Fatalf("%s: after %s, %d deliveries of %d distinct events (%d repeated); %d sent", what, within, d, distinct, rep, sent)
					}
					time.Sleep(100 * time.Millisecond)
				}
			}

			// 1. Down (503) for 3 s, then back: the 5 s retry delivers.
			down := time.Now().Add(3 * time.Second)
			rcv.set(func(string, int) (int, time.Duration) {
				if time.Now().Before(down) {
					return http.StatusServiceUnavailable, 0
				}
				return http.StatusNoContent, 0
			})
			issueSome(20)
			took := allArrived("receiver down, then back", 30*time.Second)
			t.Logf("down for 3 s: %d events delivered %s after the last was issued", sent, took.Round(100*time.Millisecond))

			// 2. Slow: each event's first attempt takes 2 s (the timeout
			// is 1 s), the retry is answered at once.
			rcv.set(func(_ string, before int) (int, time.Duration) {
				if before == 0 {
					return http.StatusNoContent, 2 * time.Second
				}
				return http.StatusNoContent, 0
			})
			issueSome(5)
			allArrived("slow receiver", 30*time.Second)

			// 3. PostgreSQL: the worker killed while an attempt is under
			// way; restarted, it delivers again with the same webhook-id.
			if w != nil {
				arrived := make(chan string, 1)
				rcv.set(func(id string, before int) (int, time.Duration) {
					if before == 0 {
						select {
						case arrived <- id:
						default:
						}
						return http.StatusNoContent, 5 * time.Second
					}
					return http.StatusNoContent, 0
				})
				issueSome(1)
				var id string
				select {
				case id = <-arrived:
				case <-time.After(20 * time.Second):
					t.Fatal("the delivery never reached the receiver")
				}
				w.kill(t)
				w.restart(t)
				allArrived("worker killed mid-delivery", 30*time.Second)
				rcv.mu.Lock()
				again := rcv.seen[id]
				rcv.mu.Unlock()
				if again < 2 {
					t.Errorf("the delivery cut by the worker's death arrived %d time(s), want again with webhook-id %s", again, id)
				}
			}

			// Every delivery verifies, carries a distinct or repeated
			// webhook-id of an event sent, and none was lost.
			rcv.mu.Lock()
			for _, d := range rcv.got {
				if err := verifier.Verify(d.body, d.header); err != nil {
					t.Errorf("a delivery does not verify: %v", err)
					break
				}
			}
			rcv.mu.Unlock()
			deliveries, distinct, repeated, duplicated := rcv.tally()
			t.Logf("%s: events sent %d, attempts that reached the receiver %d, distinct webhook-ids %d, ids seen again %d, "+
				"ids accepted (2xx) twice %d, lost %d", store, sent, deliveries, distinct, repeated, duplicated, sent-distinct)
			if distinct != sent {
				t.Errorf("%d events sent, %d arrived", sent, distinct)
			}

			// 4. 410 Gone: switched off, the owner told.
			rcv.set(func(string, int) (int, time.Duration) { return http.StatusGone, 0 })
			issueSome(1)
			deadline := time.Now().Add(20 * time.Second)
			for {
				var got struct {
					Active         bool   `json:"active"`
					DisabledReason string `json:"disabledReason"`
				}
				oc.expect(http.StatusOK, http.MethodGet, "/api/v1/orgs/"+o.ID+"/webhooks/"+hook.ID, nil, &got)
				if !got.Active && strings.Contains(got.DisabledReason, "410") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the endpoint answering 410 is still %+v", got)
				}
				time.Sleep(100 * time.Millisecond)
			}
			if m := s.latestMail(t, owner.Email, "was switched off"); !strings.Contains(m.Body, "410") {
				t.Errorf("the owner's mail: %s", m.Body)
			}
		})
	}
}

// deliveriesDone reports whether the endpoint's newest n deliveries all
// succeeded.
func (e *env) deliveriesDone(t *testing.T, c *client, orgID, hookID string, n int) bool {
	t.Helper()
	var page struct {
		Items []struct {
			Status string `json:"status"`
		} `json:"items"`
		NextCursor string `json:"nextCursor"`
	}
	path := "/api/v1/orgs/" + orgID + "/webhooks/" + hookID + "/deliveries?limit=100"
	ok := 0
	for {
		c.expect(http.StatusOK, http.MethodGet, path, nil, &page)
		for _, d := range page.Items {
			if d.Status != "succeeded" {
				return false
			}
			ok++
		}
		if page.NextCursor == "" {
			return ok >= n
		}
		path = "/api/v1/orgs/" + orgID + "/webhooks/" + hookID + "/deliveries?limit=100&cursor=" + page.NextCursor
	}
}

// TestWebhookAddressGuard: with the operator's default (no private
// addresses), the server refuses endpoints it may not reach, before any
// is stored: loopback (IPv4, IPv6, a name for it), cloud metadata,
// private and CGNAT addresses, IPv4-mapped loopback, and http.
func TestWebhookAddressGuard(t *testing.T) {
	t.Parallel()
	s := startServer(t, "sqlite", withEnv("CREDENCE_WEBHOOK_ALLOW_PRIVATE", "0"))
	e := envFor(t, s)
	owner, o := e.newIssuer(t, "")
	e.setPlan(t, o.ID, "enterprise")
	oc := e.as(t, owner.Token)
	hooks := "/api/v1/orgs/" + o.ID + "/webhooks"
	for _, u := range []string{"https://127.0.0.1/hooks", "https://[::1]/hooks", "https://localhost/hooks", "https://169.254.169.254/latest/meta-data",
		"https://10.0.0.7/hooks", "https://100.64.0.1/hooks", "https://[::ffff:127.0.0.1]/hooks", "https://[fd00:ec2::254]/hooks"} {
		p := oc.expectProblem(http.StatusUnprocessableEntity, "WEBHOOK_URL_REFUSED", http.MethodPost, hooks,
			map[string]any{"url": u, "events": []string{"credential.issued"}})
		t.Logf("%s: %s", u, p.Detail)
	}
	oc.expectProblem(http.StatusUnprocessableEntity, "VALIDATION_FAILED", http.MethodPost, hooks,
		map[string]any{"url": "http://hooks.example/x", "events": []string{"credential.issued"}})
	var list struct {
		Items []any `json:"items"`
	}
	oc.expect(http.StatusOK, http.MethodGet, hooks, nil, &list)
	if len(list.Items) != 0 {
		t.Errorf("refused endpoints were stored: %v", list.Items)
	}
}
