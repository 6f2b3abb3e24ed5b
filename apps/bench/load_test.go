package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// The load generator reads every framing the server uses (Content-Length,
// chunked, a body up to the close), keeps its connections, counts
// unwanted statuses as errors, and sends what the per-request hook builds.
func TestLoadReadsAnswersAndSendsHookBodies(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	bodies := map[string]int{}
	conns := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		conns[r.RemoteAddr] = true
		mu.Unlock()
		switch r.URL.Path {
		case "/small":
			_, _ = io.WriteString(w, "ok")
		case "/chunked":
			for range 5 {
				_, _ = io.WriteString(w, strings.Repeat("x", 3000))
				w.(http.Flusher).Flush()
			}
		case "/closing":
			w.Header().Set("Connection", "close")
			_, _ = io.WriteString(w, "bye")
		case "/post":
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			bodies[string(b)]++
			mu.Unlock()
			w.WriteHeader(http.StatusCreated)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	ctx := t.Context()

	get := load{addr: host, conns: 4, want: http.StatusOK,
		requests: [][]byte{getRequest(host, "/small"), getRequest(host, "/chunked"), getRequest(host, "/closing")}}
	r := get.closed(ctx, 300*time.Millisecond)
	if r.errors != 0 || r.done < 30 || len(r.latency) != int(r.done) {
		t.Fatalf("closed loop: %d done, %d errors (%v), %d latencies", r.done, r.errors, r.firstErr, len(r.latency))
	}
	if r.percentile(50) <= 0 || r.percentile(50) > r.percentile(100) {
		t.Errorf("percentiles p50 %v, max %v", r.percentile(50), r.percentile(100))
	}
	if len(conns) >= int(r.done) {
		t.Errorf("%d connections for %d requests: keep-alive not kept", len(conns), r.done)
	}

	missing := load{addr: host, conns: 2, want: http.StatusOK, requests: [][]byte{getRequest(host, "/missing")}}
	if r := missing.closed(ctx, 100*time.Millisecond); r.done != 0 || r.errors == 0 || !strings.Contains(fmt.Sprint(r.firstErr), "404") {
		t.Errorf("404s: %d done, %d errors, %v", r.done, r.errors, r.firstErr)
	}

	post := load{addr: host, conns: 3, want: http.StatusCreated,
		request: func(conn int, seq int64, dst []byte) []byte {
			return appendPost(dst, host, "/post", fmt.Appendf(nil, `{"n":"%d-%d"}`, conn, seq), "Content-Type", "application/json")
		}}
	r = post.open(ctx, 200, 250*time.Millisecond)
	if r.errors != 0 || r.done != 50 {
		t.Fatalf("open loop of 50 POSTs: %d done, %d errors (%v)", r.done, r.errors, r.firstErr)
	}
	for b, n := range bodies {
		if n != 1 {
			t.Errorf("body %s sent %d times", b, n)
		}
	}
	if len(bodies) != 50 {
		t.Errorf("%d distinct bodies, want 50", len(bodies))
	}
}
