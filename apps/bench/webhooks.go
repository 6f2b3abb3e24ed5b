package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// hookCounter is a webhook endpoint served by the bench: it answers 204
// and notes, per event, when it first arrived and how long after the
// event's own time.
type hookCounter struct {
	srv *http.Server
	mu  sync.Mutex
	h   hookReport
	ids map[string]bool
}

type hookReport struct {
	deliveries, distinct int
	first, last          time.Time
	maxLag               time.Duration
}

// addWebhook starts an endpoint on loopback and subscribes the bench
// organization's webhook to every event of a bulk job.
func (c *client) addWebhook(ctx context.Context, s session) (*hookCounter, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := &hookCounter{ids: map[string]bool{}}
	h.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(h.serve)}
	go func() { _ = h.srv.Serve(ln) }()
	err = c.json(ctx, "POST", "/api/v1/orgs/"+s.org+"/webhooks", s.token, map[string]any{"url": "http://" + ln.Addr().String() + "/hooks",
		"events": []string{"credential.issued", "bulk_issuance.completed", "bulk_issuance.failed"}}, nil)
	if err != nil {
		h.close()
		return nil, err
	}
	return h, nil
}

func (h *hookCounter) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	now := time.Now()
	var msg struct {
		ID        string    `json:"id"`
		Timestamp time.Time `json:"timestamp"`
	}
	_ = json.Unmarshal(body, &msg)
	h.mu.Lock()
	h.h.deliveries++
	if !h.ids[msg.ID] {
		h.ids[msg.ID] = true
		h.h.distinct++
		if h.h.first.IsZero() {
			h.h.first = now
		}
		h.h.last = now
		h.h.maxLag = max(h.h.maxLag, now.Sub(msg.Timestamp))
	}
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (h *hookCounter) distinct() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.h.distinct
}

func (h *hookCounter) report() hookReport {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.h
}

func (h *hookCounter) close() { _ = h.srv.Close() }
