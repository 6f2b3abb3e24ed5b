package webhooksend_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credence-dev/credence/adapters/webhooksend"
	"github.com/credence-dev/credence/ports"
)

// delivery is what a receiver saw of one request.
type delivery struct {
	method, path, host string
	header             http.Header
	body               []byte
}

// receiver is a webhook endpoint on loopback that records what reaches it:
// every connection and every request but its own probe's.
type receiver struct {
	*httptest.Server
	conns atomic.Int32
	mu    sync.Mutex
	seen  []delivery
}

// newReceiver starts a receiver answering with h (on network "tcp4" or
// "tcp6", over TLS when tls), closed when the test ends.
func newReceiver(t *testing.T, network string, tls bool, h http.HandlerFunc) *receiver {
	t.Helper()
	r := &receiver{}
	addr := "127.0.0.1:0"
	if network == "tcp6" {
		addr = "[::1]:0"
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/probe" {
			return
		}
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.seen = append(r.seen, delivery{req.Method, req.URL.RequestURI(), req.Host, req.Header.Clone(), body})
		r.mu.Unlock()
		if h != nil {
			h(w, req)
		}
	}))
	_ = srv.Listener.Close()
	srv.Listener = ln
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the TLS cases' refused handshakes
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			r.conns.Add(1)
		}
	}
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	r.Server = srv
	t.Cleanup(srv.Close)
	return r
}

// deliveries returns what reached r so far.
func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.seen...)
}

// assertUntouched fails t unless nothing ever connected to r. It first
// makes a connection of its own and waits for its answer: connections
// are accepted in the order they came, so any earlier one has been
// counted by then.
func (r *receiver) assertUntouched(t *testing.T) {
	t.Helper()
	c := r.Client()
	c.Transport.(*http.Transport).DisableKeepAlives = true
	resp, err := c.Get(r.URL + "/probe")
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	_ = resp.Body.Close()
	if n := r.conns.Load(); n != 1 {
		t.Errorf("receiver %s got %d connections besides the probe's, want none", r.URL, n-1)
	}
	if d := r.deliveries(); len(d) != 0 {
		t.Errorf("receiver %s got %d requests, want none", r.URL, len(d))
	}
}

// tripwire is a resolver no test case may reach.
type tripwire struct{ t *testing.T }

func (w tripwire) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	w.t.Errorf("looked up %s", host)
	return nil, &net.DNSError{Err: "tripwire", Name: host}
}

func TestSendDelivers(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, "tcp4", false, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
	s := webhooksend.New(webhooksend.Options{AllowPrivate: true})
	body := []byte(`{"type":"credential.issued","data":{"id":"c1"}}`)
	resp := s.Send(t.Context(), ports.WebhookRequest{
		URL: rcv.URL + "/hooks/credence?org=42",
		Headers: map[string]string{
			"webhook-id":        "msg_1",
			"webhook-timestamp": "1700000000",
			"webhook-signature": "v1,c2lnbmF0dXJl",
		},
		Body: body,
	})
	if resp.Status != http.StatusAccepted || string(resp.Body) != `{"ok":true}` || resp.Refused || resp.Err != "" {
		t.Fatalf("Send = %+v, want 202 with the receiver's body", resp)
	}
	if resp.Latency <= 0 || resp.Latency > 10*time.Second {
		t.Errorf("Latency = %s", resp.Latency)
	}
	got := rcv.deliveries()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(got))
	}
	d := got[0]
	if d.method != http.MethodPost || d.path != "/hooks/credence?org=42" || !bytes.Equal(d.body, body) {
		t.Errorf("receiver got %s %s %q", d.method, d.path, d.body)
	}
	for k, want := range map[string]string{
		"Content-Type":      "application/json",
		"User-Agent":        webhooksend.DefaultUserAgent,
		"Webhook-Id":        "msg_1",
		"Webhook-Timestamp": "1700000000",
		"Webhook-Signature": "v1,c2lnbmF0dXJl",
	} {
		if v := d.header.Get(k); v != want {
			t.Errorf("header %s = %q, want %q", k, v, want)
		}
	}
}

func TestSendSetsUserAgent(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, "tcp4", false, nil)
	s := webhooksend.New(webhooksend.Options{AllowPrivate: true, UserAgent: "Credence-Test/9"})
	if resp := s.Send(t.Context(), ports.WebhookRequest{URL: rcv.URL, Body: []byte(`{}`)}); resp.Status != http.StatusOK {
		t.Fatalf("Send = %+v", resp)
	}
	if ua := rcv.deliveries()[0].header.Get("User-Agent"); ua != "Credence-Test/9" {
		t.Errorf("User-Agent = %q", ua)
	}
}

func TestSendKeepsTheStartOfALargeAnswer(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	rcv := newReceiver(t, "tcp4", false, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write(big)
	})
	s := webhooksend.New(webhooksend.Options{AllowPrivate: true})
	resp := s.Send(t.Context(), ports.WebhookRequest{URL: rcv.URL, Body: []byte(`{}`)})
	if resp.Status != http.StatusInternalServerError || resp.Err != "" {
		t.Fatalf("Send = status %d, err %q", resp.Status, resp.Err)
	}
	if len(resp.Body) != ports.WebhookResponseLimit || !bytes.Equal(resp.Body, big[:ports.WebhookResponseLimit]) {
		t.Errorf("Body has %d bytes, want the first %d of the answer", len(resp.Body), ports.WebhookResponseLimit)
	}
}

func TestSendRefusesWithoutConnecting(t *testing.T) {
	t.Parallel()
	v4 := newReceiver(t, "tcp4", false, nil)
	port := v4.Listener.Addr().(*net.TCPAddr).Port
	at := func(host string) string { return "https://" + net.JoinHostPort(host, strconv.Itoa(port)) + "/hook" }
	s := webhooksend.New(webhooksend.Options{Resolver: tripwire{t}})
	cases := []struct{ url, want string }{
		{at("127.0.0.1"), "127.0.0.1 is a loopback address"},
		{at("127.8.9.10"), "loopback"},
		{at("::ffff:127.0.0.1"), "::ffff:127.0.0.1 is a loopback address"},
		{"http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) + "/hook", "http URLs are not allowed"},
		{at("::1"), "::1 is a loopback address"},
		{at("0.0.0.0"), "unspecified"},
		{at("::"), "unspecified"},
		{"https://169.254.169.254/latest/meta-data/", "cloud metadata"},
		{"https://169.254.1.1/", "link-local"},
		{"https://[fe80::1%25lo]/", "link-local"},
		{"https://10.0.0.1/", "10.0.0.1 is a private address"},
		{"https://172.31.255.255/", "private"},
		{"https://192.168.1.1/", "private"},
		{"https://[fd00:ec2::254]/", "unique local"},
		{"https://100.64.0.1/", "carrier-grade NAT"},
		{"https://[64:ff9b::7f00:1]/", "NAT64 address of 127.0.0.1 (a loopback address)"},
		{"https://[2002:a00:1::]/", "6to4 address of 10.0.0.1"},
		{"https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "Teredo"},
		{"https://224.0.0.1/", "multicast"},
		{"https://[ff02::1]/", "multicast"},
		{"https://255.255.255.255/", "broadcast"},
		{"https://198.18.0.1/", "benchmarking"},
		{"https://192.0.0.8/", "IETF"},
		{"https://240.0.0.1/", "reserved"},
		{"http://example.com/", "http URLs are not allowed"},
		{"ftp://example.com/", "ftp URLs are not allowed"},
		{"https://user:secret@example.com/", "user name or password"},
		{"//example.com/hook", "not absolute"},
		{"/hook", "not absolute"},
		{"https:///hook", "not absolute"},
		{"https://example.com:99999/", "port"},
		{"https://exa mple.com/", "does not parse"},
	}
	for _, tc := range cases {
		resp := s.Send(t.Context(), ports.WebhookRequest{URL: tc.url, Body: []byte(`{}`)})
		if !resp.Refused || resp.Status != 0 || !strings.Contains(resp.Err, tc.want) {
			t.Errorf("Send(%s) = refused %v, status %d, err %q; want refused, 0, %q", tc.url, resp.Refused, resp.Status, resp.Err, tc.want)
		}
		if strings.Contains(resp.Err, "secret") {
			t.Errorf("Send(%s): err %q quotes the URL's password", tc.url, resp.Err)
		}
		if why := s.Check(t.Context(), tc.url); !strings.Contains(why, tc.want) {
			t.Errorf("Check(%s) = %q, want %q", tc.url, why, tc.want)
		}
	}
	v4.assertUntouched(t)

	v6 := newReceiver(t, "tcp6", false, nil)
	url6 := "https://" + net.JoinHostPort("::1", strconv.Itoa(v6.Listener.Addr().(*net.TCPAddr).Port)) + "/"
	if resp := s.Send(t.Context(), ports.WebhookRequest{URL: url6}); !resp.Refused {
		t.Errorf("Send(%s) = %+v, want refused", url6, resp)
	}
	v6.assertUntouched(t)
}

func TestSendRefusesNamesOfPrivateAddresses(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, "tcp4", true, nil)
	port := strconv.Itoa(rcv.Listener.Addr().(*net.TCPAddr).Port)
	s := webhooksend.New(webhooksend.Options{Resolver: startDNS(t, map[string][]string{
		"evil.test":     {"127.0.0.1"},
		"mixed.test":    {"8.8.8.8", "127.0.0.1"},
		"six.test":      {"2606:4700:4700::1111", "::1"},
		"metadata.test": {"169.254.169.254"},
	})})
	for _, tc := range []struct{ host, want string }{
		{"evil.test", "evil.test resolves to 127.0.0.1, a loopback address"},
		{"EVIL.test.", "resolves to 127.0.0.1, a loopback address"},
		{"mixed.test", "mixed.test resolves to 127.0.0.1, a loopback address"},
		{"six.test", "six.test resolves to ::1, a loopback address"},
		{"metadata.test", "cloud metadata"},
	} {
		url := "https://" + tc.host + ":" + port + "/hook"
		resp := s.Send(t.Context(), ports.WebhookRequest{URL: url, Body: []byte(`{}`)})
		if !resp.Refused || resp.Status != 0 || resp.Err != strings.TrimSpace(resp.Err) || !strings.Contains(resp.Err, tc.want) {
			t.Errorf("Send(%s) = refused %v, status %d, err %q; want refused, %q", url, resp.Refused, resp.Status, resp.Err, tc.want)
		}
	}
	rcv.assertUntouched(t)

	resp := s.Send(t.Context(), ports.WebhookRequest{URL: "https://nowhere.test/hook"})
	if resp.Refused || resp.Status != 0 || resp.Err != "nowhere.test does not resolve" {
		t.Errorf("Send(nowhere.test) = %+v, want not refused, err %q", resp, "nowhere.test does not resolve")
	}
}

// The connection goes to the address the lookup gave, not to a second
// lookup of the name (which the system resolver, not knowing hooks.test,
// could not make), and the request still names the URL's host.
func TestSendConnectsToTheCheckedAddress(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, "tcp4", false, nil)
	port := strconv.Itoa(rcv.Listener.Addr().(*net.TCPAddr).Port)
	s := webhooksend.New(webhooksend.Options{
		AllowPrivate: true,
		Resolver:     startDNS(t, map[string][]string{"hooks.test": {"127.0.0.1"}}),
	})
	resp := s.Send(t.Context(), ports.WebhookRequest{URL: "http://hooks.test:" + port + "/in", Body: []byte(`{}`)})
	if resp.Status != http.StatusOK || resp.Err != "" {
		t.Fatalf("Send = %+v, want 200", resp)
	}
	got := rcv.deliveries()
	if len(got) != 1 || got[0].host != "hooks.test:"+port || got[0].path != "/in" {
		t.Errorf("receiver got %+v, want one request for hooks.test:%s/in", got, port)
	}
}

func TestSendDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()
	target := newReceiver(t, "tcp4", false, nil)
	for _, code := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		origin := newReceiver(t, "tcp4", false, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+"/elsewhere", code)
		})
		s := webhooksend.New(webhooksend.Options{AllowPrivate: true})
		resp := s.Send(t.Context(), ports.WebhookRequest{URL: origin.URL + "/hook", Body: []byte(`{}`)})
		if resp.Status != code || resp.Err != "" || resp.Refused {
			t.Errorf("Send to a %d = %+v, want the %d as the answer", code, resp, code)
		}
		if len(origin.deliveries()) != 1 {
			t.Errorf("origin got %d requests, want 1", len(origin.deliveries()))
		}
	}
	target.assertUntouched(t)
}

func TestSendTimesOut(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	rcv := newReceiver(t, "tcp4", false, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) }) // before the server's Close, which waits for the handler
	const timeout = 300 * time.Millisecond
	s := webhooksend.New(webhooksend.Options{AllowPrivate: true, Timeout: timeout})
	resp := s.Send(t.Context(), ports.WebhookRequest{URL: rcv.URL, Body: []byte(`{}`)})
	if resp.Status != 0 || resp.Refused || !strings.Contains(resp.Err, "timed out") {
		t.Errorf("Send = %+v, want status 0 and a timeout", resp)
	}
	if resp.Latency < timeout || resp.Latency > timeout+5*time.Second {
		t.Errorf("Latency = %s, want about %s", resp.Latency, timeout)
	}
}

func TestSendReportsConnectionRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	s := webhooksend.New(webhooksend.Options{AllowPrivate: true})
	resp := s.Send(t.Context(), ports.WebhookRequest{URL: "http://" + addr + "/hook"})
	if resp.Status != 0 || resp.Refused || resp.Err != "connection refused by "+addr {
		t.Errorf("Send = %+v, want err %q", resp, "connection refused by "+addr)
	}
}

func TestSendOverTLS(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, "tcp4", true, nil)
	port := strconv.Itoa(rcv.Listener.Addr().(*net.TCPAddr).Port)
	trusted := x509.NewCertPool()
	trusted.AddCert(rcv.Certificate())
	// httptest's certificate is for 127.0.0.1, ::1 and example.com.
	dns := startDNS(t, map[string][]string{"example.com": {"127.0.0.1"}, "other.test": {"127.0.0.1"}})
	s := webhooksend.New(webhooksend.Options{AllowPrivate: true, RootCAs: trusted, Resolver: dns})

	for _, url := range []string{rcv.URL + "/hook", "https://example.com:" + port + "/hook"} {
		if resp := s.Send(t.Context(), ports.WebhookRequest{URL: url, Body: []byte(`{}`)}); resp.Status != http.StatusOK || resp.Err != "" {
			t.Errorf("Send(%s) = %+v, want 200", url, resp)
		}
	}
	// The certificate is checked against the URL's host, not the address.
	resp := s.Send(t.Context(), ports.WebhookRequest{URL: "https://other.test:" + port + "/hook"})
	if resp.Status != 0 || resp.Refused || !strings.HasPrefix(resp.Err, "TLS error: ") || !strings.Contains(resp.Err, "other.test") {
		t.Errorf("Send to a host the certificate is not for = %+v, want a TLS error", resp)
	}

	untrusting := webhooksend.New(webhooksend.Options{AllowPrivate: true})
	resp = untrusting.Send(t.Context(), ports.WebhookRequest{URL: rcv.URL + "/hook"})
	if resp.Status != 0 || resp.Refused || !strings.HasPrefix(resp.Err, "TLS error: ") {
		t.Errorf("Send with the certificate untrusted = %+v, want a TLS error", resp)
	}
	if n := len(rcv.deliveries()); n != 2 {
		t.Errorf("receiver got %d requests, want 2", n)
	}

	// A plain HTTP server answering an https URL.
	plain := newReceiver(t, "tcp4", false, nil)
	resp = s.Send(t.Context(), ports.WebhookRequest{URL: "https://" + plain.Listener.Addr().String() + "/hook"})
	if resp.Status != 0 || !strings.HasPrefix(resp.Err, "TLS error: ") {
		t.Errorf("Send over TLS to a plain server = %+v, want a TLS error", resp)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	dns := startDNS(t, map[string][]string{
		"public.test": {"8.8.8.8", "2001:4860:4860::8888"},
		"evil.test":   {"127.0.0.1"},
	})
	strict := webhooksend.New(webhooksend.Options{Resolver: dns})
	lax := webhooksend.New(webhooksend.Options{Resolver: dns, AllowPrivate: true})
	for _, tc := range []struct {
		s         *webhooksend.Sender
		url, want string
	}{
		{strict, "https://public.test/hooks", ""},
		{strict, "https://8.8.8.8:8443/hooks", ""},
		{strict, "https://[2606:4700:4700::1111]/", ""},
		{strict, "https://[::ffff:8.8.8.8]/", ""},
		{strict, "https://[64:ff9b::808:808]/", ""},
		{strict, "https://evil.test/hooks", "evil.test resolves to 127.0.0.1, a loopback address"},
		{strict, "https://nowhere.test/hooks", "nowhere.test does not resolve"},
		{strict, "http://public.test/hooks", "http URLs are not allowed, only https"},
		{strict, "https://[::1]/", "::1 is a loopback address"},
		{lax, "http://evil.test/hooks", ""},
		{lax, "https://127.0.0.1/", ""},
		{lax, "http://nowhere.test/", "nowhere.test does not resolve"},
		{lax, "gopher://public.test/", "gopher URLs are not allowed, only https"},
		{lax, "https://u@public.test/", "URLs with a user name or password are not allowed"},
	} {
		if got := tc.s.Check(t.Context(), tc.url); got != tc.want {
			t.Errorf("Check(%s) = %q, want %q", tc.url, got, tc.want)
		}
	}
}
