package httpapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/credence-dev/credence/core/domain"
)

// receiver is a webhook endpoint started by a test: it records every
// delivery and answers with the status the test sets.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []receivedHook
	status int
}

type receivedHook struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{status: http.StatusNoContent}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, receivedHook{header: req.Header.Clone(), body: body})
		status := r.status
		r.mu.Unlock()
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "received")
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) answer(status int) {
	r.mu.Lock()
	r.status = status
	r.mu.Unlock()
}

// await waits for the n-th delivery.
func (r *receiver) await(t *testing.T, n int) receivedHook {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		if len(r.got) >= n {
			h := r.got[n-1]
			r.mu.Unlock()
			return h
		}
		r.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("delivery %d never arrived", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type webhookOut struct {
	ID             string   `json:"id"`
	URL            string   `json:"url"`
	Events         []string `json:"events"`
	Active         bool     `json:"active"`
	Secret         string   `json:"secret"`
	DisabledReason string   `json:"disabledReason"`
}

type deliveryOut struct {
	ID        string `json:"id"`
	MessageID string `json:"messageId"`
	EventType string `json:"eventType"`
	Status    string `json:"status"`
	Attempts  []struct {
		StatusCode int     `json:"statusCode"`
		LatencyMS  float64 `json:"latencyMs"`
		Response   string  `json:"response"`
		Error      string  `json:"error"`
	} `json:"attempts"`
}

// Owners and admins manage webhook endpoints on plans that have them:
// the secret is shown once, a ping is signed per Standard Webhooks (the
// Go library verifies it), the delivery log shows each attempt, a rotated
// secret signs beside the old one, resend delivers the same message
// again, a 410 switches the endpoint off and tells its owners, and bad
// input gets a problem.
func TestWebhookEndpoints(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer("enterprise")
	rcv := newReceiver(t)
	hooks := "/api/v1/orgs/" + o.ID + "/webhooks"

	var w webhookOut
	s.expect(http.StatusCreated, http.MethodPost, hooks, owner.Token, map[string]any{"url": rcv.URL + "/hooks?x=1",
		"events": []string{"credential.issued", "credential.revoked"}, "description": "our LMS"}, &w)
	if !strings.HasPrefix(w.Secret, "whsec_") || !w.Active || len(w.Events) != 2 {
		t.Fatalf("created endpoint %+v", w)
	}
	var got webhookOut
	s.expect(http.StatusOK, http.MethodGet, hooks+"/"+w.ID, owner.Token, nil, &got)
	if got.Secret != "" || got.URL != w.URL {
		t.Errorf("GET shows %+v (the secret must not be shown again)", got)
	}

	// A ping: signed so that the Standard Webhooks library verifies it.
	var d deliveryOut
	s.expect(http.StatusAccepted, http.MethodPost, hooks+"/"+w.ID+"/test", owner.Token, nil, &d)
	h := rcv.await(t, 1)
	verifier, err := standardwebhooks.NewWebhook(w.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := verifier.Verify(h.body, h.header); err != nil {
		t.Errorf("the ping does not verify: %v (headers %v)", err, h.header)
	}
	var msg struct {
		ID, Type, Timestamp string
		Data                map[string]string
	}
	if err := json.Unmarshal(h.body, &msg); err != nil || msg.Type != "ping" || msg.ID != h.header.Get("webhook-id") ||
		msg.ID != d.MessageID || msg.Data["webhookId"] != w.ID || h.header.Get("Content-Type") != "application/json" {
		t.Errorf("ping %s (%v), headers %v", h.body, err, h.header)
	}
	logged := func() []deliveryOut {
		t.Helper()
		var page struct {
			Items []deliveryOut `json:"items"`
		}
		s.expect(http.StatusOK, http.MethodGet, hooks+"/"+w.ID+"/deliveries", owner.Token, nil, &page)
		return page.Items
	}
	eventually(t, func() bool {
		l := logged()
		return len(l) == 1 && l[0].Status == "succeeded" && len(l[0].Attempts) == 1 && l[0].Attempts[0].StatusCode == 204
	}, "the ping logged as succeeded with one 204 attempt")

	// Rotated: the old secret and the new both sign for a day.
	var rotated struct {
		Secret string `json:"secret"`
	}
	s.expect(http.StatusOK, http.MethodPost, hooks+"/"+w.ID+"/rotate-secret", owner.Token, nil, &rotated)
	if rotated.Secret == w.Secret || !strings.HasPrefix(rotated.Secret, "whsec_") {
		t.Fatalf("rotated secret %q", rotated.Secret)
	}
	s.expect(http.StatusAccepted, http.MethodPost, hooks+"/"+w.ID+"/test", owner.Token, nil, nil)
	h = rcv.await(t, 2)
	newVerifier, err := standardwebhooks.NewWebhook(rotated.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if verifier.Verify(h.body, h.header) != nil || newVerifier.Verify(h.body, h.header) != nil {
		t.Errorf("after a rotation, a delivery must verify with both secrets: %v", h.header.Get("webhook-signature"))
	}

	// Resend: the same message again, its webhook-id unchanged.
	first := logged()[1]
	s.expect(http.StatusAccepted, http.MethodPost, hooks+"/"+w.ID+"/deliveries/"+first.ID+"/resend", owner.Token, nil, nil)
	h = rcv.await(t, 3)
	if h.header.Get("webhook-id") != first.MessageID {
		t.Errorf("resent with webhook-id %q, want %q", h.header.Get("webhook-id"), first.MessageID)
	}

	// 410 Gone switches the endpoint off; its owners are told.
	rcv.answer(http.StatusGone)
	s.expect(http.StatusAccepted, http.MethodPost, hooks+"/"+w.ID+"/test", owner.Token, nil, nil)
	rcv.await(t, 4)
	eventually(t, func() bool {
		s.expect(http.StatusOK, http.MethodGet, hooks+"/"+w.ID, owner.Token, nil, &got)
		return !got.Active && strings.Contains(got.DisabledReason, "410")
	}, "the endpoint switched off after 410")
	if m := s.mail(owner.Email, "was switched off"); !strings.Contains(m.Text, "410 Gone") {
		t.Errorf("the owners' mail: %s", m.Text)
	}
	var on webhookOut
	s.expect(http.StatusOK, http.MethodPatch, hooks+"/"+w.ID, owner.Token, map[string]any{"active": true}, &on)
	if !on.Active || on.DisabledReason != "" {
		t.Errorf("switched on again: %+v", on)
	}

	// Bad input, roles and plans.
	admin := s.join(owner.Token, o.ID, domain.RoleAdmin)
	issuer := s.join(owner.Token, o.ID, domain.RoleIssuer)
	s.expect(http.StatusOK, http.MethodGet, hooks, admin.Token, nil, nil)
	s.expectProblem(http.StatusForbidden, "FORBIDDEN", http.MethodGet, hooks, issuer.Token, nil)
	for name, body := range map[string]map[string]any{
		"no url":        {"events": []string{"credential.issued"}},
		"ftp url":       {"url": "ftp://hooks.example/x", "events": []string{"credential.issued"}},
		"a user in url": {"url": "https://u:p@hooks.example/x", "events": []string{"credential.issued"}},
		"no events":     {"url": rcv.URL, "events": []string{}},
		"unknown event": {"url": rcv.URL, "events": []string{"credential.exploded"}},
		"ping event":    {"url": rcv.URL, "events": []string{"ping"}},
		"twice":         {"url": rcv.URL, "events": []string{"credential.issued", "credential.issued"}},
	} {
		if p := s.expectProblem(http.StatusUnprocessableEntity, "VALIDATION_FAILED", http.MethodPost, hooks, owner.Token, body); p.Code == "" {
			t.Errorf("%s: no problem", name)
		}
	}
	s.expectProblem(http.StatusUnprocessableEntity, "WEBHOOK_URL_REFUSED", http.MethodPost, hooks, owner.Token,
		map[string]any{"url": "https://nowhere.invalid/hooks", "events": []string{"credential.issued"}})
	freeOwner, free := s.newIssuer("")
	s.expectProblem(http.StatusForbidden, "PLAN_REQUIRED", http.MethodPost, "/api/v1/orgs/"+free.ID+"/webhooks", freeOwner.Token,
		map[string]any{"url": rcv.URL, "events": []string{"credential.issued"}})
	s.expectProblem(http.StatusNotFound, "NOT_FOUND", http.MethodGet, hooks+"/"+w.ID, freeOwner.Token, nil)

	s.expect(http.StatusNoContent, http.MethodDelete, hooks+"/"+w.ID, owner.Token, nil, nil)
	s.expectProblem(http.StatusNotFound, "NOT_FOUND", http.MethodGet, hooks+"/"+w.ID, owner.Token, nil)
}

// eventually polls cond for up to 10 s.
func eventually(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A credential's life reaches a subscribed endpoint as events: issued,
// suspended, unsuspended, revoked, a renewal (renewed, and the
// replaced credential revoked), claimed; each once, signed, with the
// credential in data; an endpoint that did not choose a type gets none
// of it, and test-mode credentials' events say test.
func TestWebhookCredentialEvents(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer("enterprise")
	rcv := newReceiver(t)
	other := newReceiver(t)
	hooks := "/api/v1/orgs/" + o.ID + "/webhooks"
	var w webhookOut
	s.expect(http.StatusCreated, http.MethodPost, hooks, owner.Token, map[string]any{"url": rcv.URL,
		"events": []string{"credential.issued", "credential.renewed", "credential.revoked", "credential.suspended", "credential.unsuspended", "credential.claimed"}}, &w)
	s.expect(http.StatusCreated, http.MethodPost, hooks, owner.Token, map[string]any{"url": other.URL, "events": []string{"bulk_issuance.completed"}}, nil)
	verifier, err := standardwebhooks.NewWebhook(w.Secret)
	if err != nil {
		t.Fatal(err)
	}
	type event struct {
		ID, Type string
		Test     bool
		Data     struct {
			ID, Status, RevocationReason, SuspensionReason string
			Recipient                                      struct{ Email string }
		}
	}
	n := 0
	next := func(want string) event {
		t.Helper()
		n++
		h := rcv.await(t, n)
		if err := verifier.Verify(h.body, h.header); err != nil {
			t.Errorf("event %d does not verify: %v", n, err)
		}
		var e event
		if err := json.Unmarshal(h.body, &e); err != nil || e.Type != want || e.ID != h.header.Get("webhook-id") {
			t.Fatalf("event %d: %s (%v), want %s", n, h.body, err, want)
		}
		return e
	}

	b := s.createBadge(owner.Token, o.ID, 30)
	email := uniqueEmail("hook")
	c := s.issue(owner.Token, o.ID, b.ID, email)
	if e := next("credential.issued"); e.Data.ID != c.ID || e.Data.Recipient.Email != email || e.Test {
		t.Errorf("issued: %+v", e)
	}
	cred := "/api/v1/orgs/" + o.ID + "/credentials/" + c.ID
	s.expect(http.StatusOK, http.MethodPost, cred+"/suspend", owner.Token, map[string]string{"reason": "checking"}, nil)
	if e := next("credential.suspended"); e.Data.SuspensionReason != "checking" || e.Data.Status != "suspended" {
		t.Errorf("suspended: %+v", e)
	}
	s.expect(http.StatusOK, http.MethodPost, cred+"/unsuspend", owner.Token, nil, nil)
	next("credential.unsuspended")

	// Issuing again renews the time-bound credential: renewed, and the
	// replaced one revoked.
	// (Their order is not promised: both are sent at once.)
	renewal := s.issue(owner.Token, o.ID, b.ID, email)
	pair := map[string]event{}
	for range 2 {
		n++
		h := rcv.await(t, n)
		var e event
		if err := json.Unmarshal(h.body, &e); err != nil || verifier.Verify(h.body, h.header) != nil {
			t.Fatalf("renewal event %s: %v", h.body, err)
		}
		pair[e.Type] = e
	}
	if pair["credential.renewed"].Data.ID != renewal.ID || pair["credential.revoked"].Data.ID != c.ID {
		t.Errorf("renewal events: %+v", pair)
	}
	recipient := s.signUp(email)
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/credentials/"+renewal.ID+"/claim", recipient.Token, nil, nil)
	next("credential.claimed")
	s.expect(http.StatusOK, http.MethodPost, "/api/v1/orgs/"+o.ID+"/credentials/"+renewal.ID+"/revoke", owner.Token, map[string]string{"reason": "withdrawn"}, nil)
	if e := next("credential.revoked"); e.Data.RevocationReason != "withdrawn" {
		t.Errorf("revoked: %+v", e)
	}
	// Issued again after the revocation: its one event, and no second
	// credential.revoked for the credential revoked before (the final
	// count below would see one).
	again := s.issue(owner.Token, o.ID, b.ID, email)
	if e := next("credential.renewed"); e.Data.ID != again.ID {
		t.Errorf("issued again after a revocation: %+v", e)
	}

	// A test key's credential: its event says test.
	_, testKey := s.apiKey(owner.Token, o.ID, "test")
	s.issue(testKey, o.ID, b.ID, uniqueEmail("hooktest"))
	if e := next("credential.issued"); !e.Test {
		t.Errorf("a test-mode credential's event: %+v", e)
	}
	// A bulk job: one credential.issued per row, written with the row's
	// chunk; bulk_issuance.completed to the endpoint that chose it.
	var csv strings.Builder
	csv.WriteString("name,email\n")
	rows := map[string]bool{}
	for i := range 3 {
		e := uniqueEmail("hookbulk")
		rows[e] = true
		fmt.Fprintf(&csv, "Row %d,%s\n", i, e)
	}
	var job struct{ ID string }
	s.expect(http.StatusAccepted, http.MethodPost, "/api/v1/orgs/"+o.ID+"/bulk-issuances", owner.Token, csvUpload(t, b.ID, "hooks.csv", csv.String()), &job)
	for range len(rows) {
		e := next("credential.issued")
		if !rows[e.Data.Recipient.Email] || e.Test {
			t.Errorf("a bulk row's event: %+v, want one of %v, live", e, rows)
		}
		delete(rows, e.Data.Recipient.Email)
	}
	done := other.await(t, 1)
	var finished struct {
		Type string
		Data struct{ ID string }
	}
	if err := json.Unmarshal(done.body, &finished); err != nil || finished.Type != "bulk_issuance.completed" || finished.Data.ID != job.ID {
		t.Errorf("the job's event: %s (%v), want bulk_issuance.completed of %s", done.body, err, job.ID)
	}

	time.Sleep(200 * time.Millisecond)
	rcv.mu.Lock()
	extra := len(rcv.got) - n
	rcv.mu.Unlock()
	other.mu.Lock()
	elsewhere := len(other.got)
	other.mu.Unlock()
	if extra != 0 || elsewhere != 1 {
		t.Errorf("%d events more than expected, %d to the endpoint that chose only the job's (want 1)", extra, elsewhere)
	}
}

// A plan that loses webhooks stops them: a delivery waiting for its retry
// fails at its retry without being sent, and a resend is refused.
func TestWebhookPlanDowngrade(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Now()}
	s := newClockedTestServer(t, clock)
	owner, o := s.newIssuer("enterprise")
	rcv := newReceiver(t)
	rcv.answer(http.StatusServiceUnavailable)
	hooks := "/api/v1/orgs/" + o.ID + "/webhooks"
	var w webhookOut
	s.expect(http.StatusCreated, http.MethodPost, hooks, owner.Token, map[string]any{"url": rcv.URL, "events": []string{"credential.issued"}}, &w)
	var d deliveryOut
	s.expect(http.StatusAccepted, http.MethodPost, hooks+"/"+w.ID+"/test", owner.Token, nil, &d)
	rcv.await(t, 1)
	logged := func() deliveryOut {
		t.Helper()
		var page struct {
			Items []deliveryOut `json:"items"`
		}
		s.expect(http.StatusOK, http.MethodGet, hooks+"/"+w.ID+"/deliveries", owner.Token, nil, &page)
		return page.Items[0]
	}
	eventually(t, func() bool { l := logged(); return l.Status == "pending" && len(l.Attempts) == 1 }, "the ping pending its retry after a 503")

	s.expect(http.StatusOK, http.MethodPut, "/api/v1/admin/orgs/"+o.ID+"/plan", s.admin(), map[string]string{"plan": "professional"}, nil)
	clock.advance(time.Minute) // the retry is due
	if err := s.platform.Dispatcher.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { l := logged(); return l.Status == "failed" && len(l.Attempts) == 2 }, "the retry failed")
	if l := logged(); !strings.Contains(l.Attempts[1].Error, "plan") || l.Attempts[1].StatusCode != 0 {
		t.Errorf("the retry after the downgrade: %+v, want failed for the plan, nothing sent", l.Attempts[1])
	}
	s.expectProblem(http.StatusForbidden, "PLAN_REQUIRED", http.MethodPost, hooks+"/"+w.ID+"/deliveries/"+d.ID+"/resend", owner.Token, nil)
	rcv.mu.Lock()
	sent := len(rcv.got)
	rcv.mu.Unlock()
	if sent != 1 {
		t.Errorf("the receiver got %d requests, want only the first attempt", sent)
	}
}

// An endpoint answering 410 to a bulk job's deliveries: switched off once
// (one activity entry, one mail to its owner), the rest of the task's
// deliveries failed unsent rather than sent to an endpoint that is gone.
func TestWebhookGoneMidTask(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	owner, o := s.newIssuer("enterprise")
	rcv := newReceiver(t)
	rcv.answer(http.StatusGone)
	hooks := "/api/v1/orgs/" + o.ID + "/webhooks"
	var w webhookOut
	s.expect(http.StatusCreated, http.MethodPost, hooks, owner.Token, map[string]any{"url": rcv.URL, "events": []string{"credential.issued"}}, &w)
	b := s.createBadge(owner.Token, o.ID, 30)
	const rows = 60
	var csv strings.Builder
	csv.WriteString("name,email\n")
	for i := range rows {
		fmt.Fprintf(&csv, "Row %d,%s\n", i, uniqueEmail("gone"))
	}
	s.expect(http.StatusAccepted, http.MethodPost, "/api/v1/orgs/"+o.ID+"/bulk-issuances", owner.Token, csvUpload(t, b.ID, "gone.csv", csv.String()), nil)
	eventually(t, func() bool {
		var page struct {
			Items []deliveryOut `json:"items"`
		}
		s.expect(http.StatusOK, http.MethodGet, hooks+"/"+w.ID+"/deliveries?status=failed&limit=100", owner.Token, nil, &page)
		return len(page.Items) == rows
	}, "every delivery failed")
	s.mail(owner.Email, "was switched off")
	time.Sleep(200 * time.Millisecond) // anything more would have come by now
	var activity struct {
		Items []struct {
			Action string `json:"action"`
		} `json:"items"`
	}
	s.expect(http.StatusOK, http.MethodGet, "/api/v1/orgs/"+o.ID+"/activity?action=webhook.disabled", owner.Token, nil, &activity)
	entries, _ := os.ReadDir(s.mailDir)
	mails := 0
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(s.mailDir, e.Name()))
		if err == nil && strings.Contains(string(raw), "was switched off") {
			mails++
		}
	}
	rcv.mu.Lock()
	sent := len(rcv.got)
	rcv.mu.Unlock()
	if len(activity.Items) != 1 || mails != 1 {
		t.Errorf("switched off: %d activity entries, %d mails, want one each", len(activity.Items), mails)
	}
	if sent > 16 {
		t.Errorf("%d requests reached the endpoint after it answered 410; at most the first round's 16 may", sent)
	}
	t.Logf("%d deliveries: %d requests sent, %d activity entries, %d mails", rows, sent, len(activity.Items), mails)
}

// Five days of failures switch an endpoint off and tell its owner; a
// success in between ends the run, so failures on either side of it do
// not add up.
func TestWebhookFailingFiveDays(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Now()}
	s := newClockedTestServer(t, clock)
	owner, o := s.newIssuer("enterprise")
	rcv := newReceiver(t)
	hooks := "/api/v1/orgs/" + o.ID + "/webhooks"
	var w webhookOut
	s.expect(http.StatusCreated, http.MethodPost, hooks, owner.Token, map[string]any{"url": rcv.URL, "events": []string{"credential.issued"}}, &w)
	one := hooks + "/" + w.ID
	later := func(d time.Duration) {
		t.Helper()
		clock.advance(d)
		owner.Token = s.login(owner.Email) // days later: a new session
	}
	ping := func(status int) {
		t.Helper()
		rcv.mu.Lock()
		n := len(rcv.got)
		rcv.mu.Unlock()
		rcv.answer(status)
		s.expect(http.StatusAccepted, http.MethodPost, one+"/test", owner.Token, nil, nil)
		rcv.await(t, n+1)
		time.Sleep(100 * time.Millisecond) // its record
	}
	state := func() webhookOut {
		var got webhookOut
		s.expect(http.StatusOK, http.MethodGet, one, owner.Token, nil, &got)
		return got
	}

	ping(http.StatusServiceUnavailable) // day 0: the run begins
	later(2 * 24 * time.Hour)
	ping(http.StatusNoContent) // day 2: it ends
	later(4 * 24 * time.Hour)
	ping(http.StatusServiceUnavailable) // day 6: a new run, one attempt old
	eventually(t, func() bool {
		var page struct {
			Items []deliveryOut `json:"items"`
		}
		s.expect(http.StatusOK, http.MethodGet, one+"/deliveries?limit=1", owner.Token, nil, &page)
		return len(page.Items) == 1 && len(page.Items[0].Attempts) == 1
	}, "the day-6 attempt recorded")
	if got := state(); !got.Active {
		t.Fatalf("switched off by failures a success separated: %+v", got)
	}
	later(5*24*time.Hour + time.Minute)
	ping(http.StatusServiceUnavailable) // day 11: five days into the run
	eventually(t, func() bool { return !state().Active }, "switched off after five days of failures")
	if got := state(); !strings.Contains(got.DisabledReason, "5 days") {
		t.Errorf("switched off for %q", got.DisabledReason)
	}
	if m := s.mail(owner.Email, "was switched off"); !strings.Contains(m.Text, "5 days") {
		t.Errorf("the owner's mail: %s", m.Text)
	}
}
