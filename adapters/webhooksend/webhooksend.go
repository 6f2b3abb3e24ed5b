// Package webhooksend is the WebhookSender: one POST per delivery
// attempt over net/http, guarded against server-side request forgery.
//
// A URL must be absolute, https (http too when the operator allows
// private addresses), and carry no user name or password. Its host is
// resolved at send time, and the attempt refused when any address it
// resolves to is not public unicast (loopback, private, link-local and
// cloud metadata, carrier-grade NAT, multicast, reserved, …; IPv4 in
// IPv6 judged by its IPv4 address). The connection is then made to the
// addresses that were checked, never to a second lookup of the name,
// while TLS verifies the certificate for the URL's host as usual.
// Redirects are never followed, proxies from the environment never used.
//
// Nothing is logged: the headers carry signatures, the body personal
// data, and the URL may hold a token, so Err never quotes any of them.
package webhooksend

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/credence-dev/credence/ports"
)

// DefaultTimeout bounds one attempt when Options.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// DefaultUserAgent is sent when Options.UserAgent is empty.
const DefaultUserAgent = "Credence-Webhooks/1"

// drainLimit is how much of an answer beyond WebhookResponseLimit is read
// and thrown away, so that a short rest leaves the connection reusable
// while a long one cannot keep the attempt busy.
const drainLimit = 64 << 10

// Resolver looks up the addresses of a host; *net.Resolver is one.
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// Options configure a Sender; zero values take the defaults.
type Options struct {
	// AllowPrivate lets webhooks reach any address, loopback and private
	// ones included, and use http URLs: the operator's
	// CREDENCE_WEBHOOK_ALLOW_PRIVATE=1, for development and tests only.
	AllowPrivate bool
	// Timeout bounds one attempt: lookup, connect, TLS, sending, the
	// answer's headers and the reading of its body (default
	// DefaultTimeout).
	Timeout time.Duration
	// Resolver looks hosts up (default net.DefaultResolver).
	Resolver Resolver
	// UserAgent is the User-Agent header of every attempt (default
	// DefaultUserAgent).
	UserAgent string
	// RootCAs are the authorities receivers' certificates must chain to
	// (default: the system's). Tests set it to trust their own server.
	RootCAs *x509.CertPool
}

// Sender makes webhook delivery attempts. It is safe for concurrent use;
// its connections are pooled across attempts.
type Sender struct {
	allowPrivate bool
	timeout      time.Duration
	resolver     Resolver
	userAgent    string
	client       *http.Client
	transport    *http.Transport
}

var _ ports.WebhookSender = (*Sender)(nil)

// New returns a Sender configured by o.
func New(o Options) *Sender {
	s := &Sender{
		allowPrivate: o.AllowPrivate,
		timeout:      o.Timeout,
		resolver:     o.Resolver,
		userAgent:    o.UserAgent,
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.resolver == nil {
		s.resolver = net.DefaultResolver
	}
	if s.userAgent == "" {
		s.userAgent = DefaultUserAgent
	}
	dialer := &net.Dialer{Timeout: s.timeout, KeepAlive: 30 * time.Second, Control: s.control}
	s.transport = &http.Transport{
		Proxy: nil, // never HTTP(S)_PROXY: the guard judges the receiver's address
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return s.dial(ctx, dialer, addr)
		},
		TLSClientConfig:     &tls.Config{RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: s.timeout,
		DisableCompression:  true, // Body is what the receiver sent
		// A bulk job's deliveries go to one endpoint from every task a
		// worker runs at once (each sends sixteen at a time): enough idle
		// connections per host that they are reused, not redialed.
		MaxIdleConns:           256,
		MaxIdleConnsPerHost:    64,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	s.client = &http.Client{
		Transport: s.transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return s
}

// CloseIdleConnections closes the pooled connections no attempt is using.
func (s *Sender) CloseIdleConnections() { s.transport.CloseIdleConnections() }

// Check implements ports.WebhookSender.
func (s *Sender) Check(ctx context.Context, rawURL string) string {
	u, why := s.parse(rawURL)
	if why != "" {
		return why
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	addrs, err := s.resolve(ctx, u.Hostname())
	if err != nil {
		return describe(ctx, err, s.timeout)
	}
	return s.screen(u.Hostname(), addrs)
}

// Send implements ports.WebhookSender.
func (s *Sender) Send(ctx context.Context, r ports.WebhookRequest) ports.WebhookResponse {
	start := time.Now()
	resp := s.send(ctx, r)
	resp.Latency = time.Since(start)
	return resp
}

func (s *Sender) send(parent context.Context, r ports.WebhookRequest) ports.WebhookResponse {
	u, why := s.parse(r.URL)
	if why != "" {
		return ports.WebhookResponse{Refused: true, Err: why}
	}
	ctx, cancel := context.WithTimeout(parent, s.timeout)
	defer cancel()
	host := u.Hostname()
	addrs, err := s.resolve(ctx, host)
	if err != nil {
		return ports.WebhookResponse{Err: describe(ctx, err, s.timeout)}
	}
	if why := s.screen(host, addrs); why != "" {
		return ports.WebhookResponse{Refused: true, Err: why}
	}

	ctx = context.WithValue(ctx, checkedKey{}, addrs)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(r.Body))
	if err != nil {
		return ports.WebhookResponse{Err: "the request cannot be made from this URL"}
	}
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.userAgent)
	res, err := s.client.Do(req)
	if err != nil {
		return ports.WebhookResponse{Err: describe(ctx, err, s.timeout)}
	}
	defer res.Body.Close()
	// The status is the answer: a body cut short by the deadline or the
	// receiver keeps what arrived of it.
	body, _ := io.ReadAll(io.LimitReader(res.Body, ports.WebhookResponseLimit))
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, drainLimit))
	return ports.WebhookResponse{Status: res.StatusCode, Body: body}
}

// parse reads a webhook URL and applies the scheme rules: the URL, or why
// it may not be a webhook's. The reasons never quote the URL.
func (s *Sender) parse(rawURL string) (*url.URL, string) {
	u, err := url.Parse(rawURL)
	switch {
	case err != nil:
		return nil, "the URL does not parse"
	case !u.IsAbs() || u.Host == "":
		return nil, "the URL is not absolute"
	case u.Scheme == "http" && !s.allowPrivate:
		return nil, "http URLs are not allowed, only https"
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, fmt.Sprintf("%s URLs are not allowed, only https", u.Scheme)
	case u.User != nil:
		return nil, "URLs with a user name or password are not allowed"
	case u.Hostname() == "":
		return nil, "the URL has no host"
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, "the URL's port is not a port number"
		}
	}
	return u, ""
}

// resolve returns the addresses of host: itself when it is an IP literal,
// else those it resolves to now.
func (s *Sender) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	ips, err := s.resolver.LookupIPAddr(ctx, host)
	if err != nil {
		return nil, err
	}
	addrs := make([]netip.Addr, 0, len(ips))
	for _, ip := range ips {
		a, ok := netip.AddrFromSlice(ip.IP)
		if !ok {
			continue
		}
		// A resolver may hand IPv4 addresses over in their 16-byte form.
		addrs = append(addrs, a.Unmap().WithZone(ip.Zone))
	}
	if len(addrs) == 0 {
		return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
	}
	return addrs, nil
}

// screen tells why host, of addresses addrs, may not be a webhook's, or
// "" when every address may be reached.
func (s *Sender) screen(host string, addrs []netip.Addr) string {
	if s.allowPrivate {
		return ""
	}
	_, err := netip.ParseAddr(host)
	literal := err == nil
	for _, a := range addrs {
		why := refusal(a)
		switch {
		case why == "":
		case literal:
			return fmt.Sprintf("%s is %s", host, why)
		default:
			return fmt.Sprintf("%s resolves to %s, %s", host, a, why)
		}
	}
	return ""
}

// checkedKey carries to dial the addresses an attempt checked.
type checkedKey struct{}

// dial connects to addr's port on the addresses the attempt checked, in
// the resolver's order, never looking the host up again: what was judged
// is what is reached.
func (s *Sender) dial(ctx context.Context, d *net.Dialer, addr string) (net.Conn, error) {
	addrs, _ := ctx.Value(checkedKey{}).([]netip.Addr)
	_, port, err := net.SplitHostPort(addr)
	if err != nil || len(addrs) == 0 {
		return nil, errors.New("webhooksend: no checked address to dial")
	}
	var first error
	for _, a := range addrs {
		c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(a.String(), port))
		if err == nil {
			return c, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, first
}

// control checks once more, on the socket about to connect, the address it
// connects to: a second guard should dial ever be handed another one.
func (s *Sender) control(_, address string, _ syscall.RawConn) error {
	if s.allowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhooksend: refusing to connect to %s", address)
	}
	if why := refusal(ap.Addr()); why != "" {
		return fmt.Errorf("webhooksend: refusing to connect to %s: %s", ap.Addr(), why)
	}
	return nil
}

// describe says in words why an attempt got no answer, for the delivery
// log; ctx is the attempt's.
func describe(ctx context.Context, err error, timeout time.Duration) string {
	var (
		dnsErr   *net.DNSError
		certErr  *tls.CertificateVerificationError
		recErr   tls.RecordHeaderError
		alertErr tls.AlertError
		opErr    *net.OpError
		urlErr   *url.Error
	)
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(ctx.Err(), context.Canceled):
		return "canceled"
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return dnsErr.Name + " does not resolve"
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) || isTimeout(err):
		if dnsErr != nil {
			return fmt.Sprintf("timed out resolving %s (limit %s)", dnsErr.Name, timeout)
		}
		return fmt.Sprintf("timed out (limit %s)", timeout)
	case dnsErr != nil:
		return fmt.Sprintf("%s could not be resolved: %s", dnsErr.Name, dnsErr.Err)
	case errors.As(err, &certErr):
		return "TLS error: " + certErr.Err.Error()
	case errors.As(err, &recErr) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return "TLS error: the receiver did not answer in TLS"
	case errors.As(err, &alertErr):
		return "TLS error: " + alertErr.Error()
	case errors.Is(err, syscall.ECONNREFUSED):
		if errors.As(err, &opErr) && opErr.Addr != nil {
			return "connection refused by " + opErr.Addr.String()
		}
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by the receiver"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "the receiver closed the connection without an answer"
	case errors.As(err, &urlErr):
		// url.Error quotes the URL, which may hold a token.
		return urlErr.Err.Error()
	}
	return err.Error()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
