// Package smtpmail is the Mailer adapter for production: each message is
// handed to an SMTP server (a submission port with STARTTLS, or implicit
// TLS), over one connection per message, with go-mail.
//
// The server is named by a URL:
//
//	smtp://user:pass@host:587    STARTTLS, required (port 587 by default)
//	smtps://user:pass@host:465   implicit TLS (port 465 by default)
//
// with these optional query parameters:
//
//	starttls=opportunistic     smtp only: STARTTLS when the server offers it, plain otherwise
//	tls=none                   smtp only: never TLS (a local MailHog or Mailpit); no user allowed
//	insecure_skip_verify=true  accept any server certificate (tests, self-signed)
//	timeout=10s                the longest one Send may take (30s by default)
//
// User and password are percent-encoded. With a user the Mailer
// authenticates with the strongest mechanism the server offers; PLAIN and
// LOGIN only over TLS. The password never appears in an error or a log.
package smtpmail

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/credence-dev/credence/ports"
)

// DefaultTimeout bounds one Send when the URL sets no timeout.
const DefaultTimeout = 30 * time.Second

// security is how the connection to the server is protected.
type security int

const (
	startTLSRequired security = iota
	startTLSOpportunistic
	plain
	implicitTLS
)

func (s security) String() string {
	switch s {
	case startTLSRequired:
		return "starttls"
	case startTLSOpportunistic:
		return "starttls=opportunistic"
	case plain:
		return "tls=none"
	default:
		return "implicit tls"
	}
}

// Mailer sends messages through one SMTP server. It is safe for
// concurrent use: each Send has its own connection.
type Mailer struct {
	host     string
	port     int
	addr     string // host:port, for dialing and for errors
	security security
	user     string
	pass     string
	from     *netmail.Address
	tls      *tls.Config
	timeout  time.Duration
	log      *slog.Logger
}

var _ ports.Mailer = (*Mailer)(nil)

// New returns a Mailer for the server of rawURL (see the package doc),
// sending as from ("Name <address>" or a bare address), logging one line
// per message sent (recipient and server, never the body) to log. It
// checks the URL and from but does not connect.
func New(rawURL, from string, log *slog.Logger) (*Mailer, error) {
	m, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if m.from, err = netmail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("smtpmail: sender %q is not an address", from)
	}
	if m.log = log; log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	return m, nil
}

// parseURL reads the server URL. Its errors never quote the URL, whose
// userinfo holds the password.
func parseURL(rawURL string) (*Mailer, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error quotes the whole URL and an escape error part of it.
		return nil, errors.New("smtpmail: smtp url does not parse (are user and password percent-encoded?)")
	}
	m := &Mailer{timeout: DefaultTimeout}
	switch u.Scheme {
	case "smtp":
		m.security, m.port = startTLSRequired, 587
	case "smtps":
		m.security, m.port = implicitTLS, 465
	default:
		return nil, fmt.Errorf("smtpmail: smtp url scheme is %q, want smtp or smtps", u.Scheme)
	}
	if u.Opaque != "" {
		return nil, errors.New("smtpmail: smtp url must be smtp://[user:password@]host[:port]")
	}
	if m.host = u.Hostname(); m.host == "" {
		return nil, errors.New("smtpmail: smtp url has no host")
	}
	if p := u.Port(); p != "" {
		if m.port, err = strconv.Atoi(p); err != nil || m.port < 1 || m.port > 65535 {
			return nil, fmt.Errorf("smtpmail: smtp url port %q is not a port number", p)
		}
	}
	m.addr = net.JoinHostPort(m.host, strconv.Itoa(m.port))
	if u.Path != "" && u.Path != "/" {
		return nil, errors.New("smtpmail: smtp url has a path; want smtp://[user:password@]host[:port]")
	}
	if u.User != nil {
		m.user = u.User.Username()
		m.pass, _ = u.User.Password()
		if m.user == "" || m.pass == "" {
			return nil, errors.New("smtpmail: smtp url needs both user and password, or neither")
		}
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, errors.New("smtpmail: smtp url query does not parse")
	}
	insecure := false
	for key, vals := range q {
		if len(vals) != 1 {
			return nil, fmt.Errorf("smtpmail: smtp url sets %s more than once", key)
		}
		v := vals[0]
		switch key {
		case "starttls":
			switch {
			case m.security == implicitTLS:
				return nil, errors.New("smtpmail: starttls does not apply to smtps (implicit tls)")
			case v == "required":
			case v == "opportunistic":
				m.security = startTLSOpportunistic
			default:
				return nil, fmt.Errorf("smtpmail: starttls=%q, want required or opportunistic", v)
			}
		case "tls":
			switch {
			case m.security == implicitTLS:
				return nil, errors.New("smtpmail: tls=none does not apply to smtps (implicit tls)")
			case v != "none":
				return nil, fmt.Errorf("smtpmail: tls=%q, want none", v)
			}
		case "insecure_skip_verify":
			if insecure, err = strconv.ParseBool(v); err != nil {
				return nil, fmt.Errorf("smtpmail: insecure_skip_verify=%q, want true or false", v)
			}
		case "timeout":
			if m.timeout, err = time.ParseDuration(v); err != nil || m.timeout <= 0 {
				return nil, fmt.Errorf("smtpmail: timeout=%q, want a positive duration such as 10s", v)
			}
		default:
			return nil, fmt.Errorf("smtpmail: unknown smtp url parameter %q (known: starttls, tls, insecure_skip_verify, timeout)", key)
		}
	}
	if q.Has("tls") {
		if q.Has("starttls") {
			return nil, errors.New("smtpmail: set starttls or tls=none, not both")
		}
		m.security = plain
		if m.user != "" {
			return nil, errors.New("smtpmail: tls=none would send the password in clear; drop the user or use tls")
		}
	}
	m.tls = &tls.Config{ServerName: m.host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure}
	return m, nil
}

// String describes the server without the password, for logs.
func (m *Mailer) String() string {
	u := url.URL{Scheme: "smtp", Host: m.addr}
	if m.security == implicitTLS {
		u.Scheme = "smtps"
	}
	if m.user != "" {
		u.User = url.User(m.user)
	}
	return fmt.Sprintf("%s (%s)", u.String(), m.security)
}

// Send delivers msg over a new connection, within the URL's timeout and
// ctx. Its error wraps ports.ErrPermanent when no retry can deliver msg:
// a line break in To or Subject, a To that is no address, or a 5xx reply
// to RCPT TO or DATA (the server refuses this recipient or this message).
// Everything else is worth retrying: 4xx replies, connection and TLS
// failures, failed authentication or a refused sender (both concern
// every message until the configuration is fixed), and ctx ending, in
// which case the error wraps ctx.Err().
func (m *Mailer) Send(ctx context.Context, msg ports.Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("smtpmail: send to %s: %w", msg.To, err)
	}
	gm, err := m.message(msg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	client, err := mail.NewClient(m.host, m.options(ctx)...)
	if err != nil {
		return fmt.Errorf("smtpmail: client for %s: %w", m.addr, err)
	}
	start := time.Now()
	err = client.DialAndSendWithContext(ctx, gm)
	if err != nil && !gm.IsDelivered() {
		return m.sendError(ctx, msg.To, err)
	}
	// An error after the server accepted the message (RSET or QUIT) is
	// no reason to send it again.
	m.log.InfoContext(ctx, "mail sent", "to", msg.To, "server", m.addr, "took", time.Since(start))
	return nil
}

// message builds the MIME message: From, To, Subject (RFC 2047 encoded),
// Date, Message-ID, MIME-Version, and a quoted-printable text part with
// an HTML alternative when msg has one.
func (m *Mailer) message(msg ports.Message) (*mail.Msg, error) {
	if strings.ContainsAny(msg.To, "\r\n") || strings.ContainsAny(msg.Subject, "\r\n") {
		return nil, fmt.Errorf("smtpmail: mail header contains a line break: %w", ports.ErrPermanent)
	}
	gm := mail.NewMsg(mail.WithNoDefaultUserAgent(), mail.WithCharset(mail.CharsetUTF8), mail.WithEncoding(mail.EncodingQP))
	gm.FromMailAddress(m.from)
	if err := gm.To(msg.To); err != nil {
		return nil, fmt.Errorf("smtpmail: recipient %q is not an address: %w", msg.To, ports.ErrPermanent)
	}
	gm.Subject(msg.Subject)
	gm.SetDate()
	gm.SetMessageIDWithValue(messageID(m.from.Address))
	gm.SetBodyString(mail.TypeTextPlain, msg.Text)
	if msg.HTML != "" {
		gm.AddAlternativeString(mail.TypeTextHTML, msg.HTML)
	}
	return gm, nil
}

// messageID returns a random Message-ID local part at the sender's domain,
// so IDs say who sent the mail rather than which host.
func messageID(from string) string {
	var rnd [16]byte
	_, _ = rand.Read(rnd[:])
	domain := "credence"
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i+1 < len(from) {
		domain = from[i+1:]
	}
	return hex.EncodeToString(rnd[:]) + "@" + domain
}

// options configure a go-mail client for one Send under ctx.
func (m *Mailer) options(ctx context.Context) []mail.Option {
	opts := []mail.Option{
		mail.WithPort(m.port),
		mail.WithTimeout(m.timeout),
		mail.WithTLSConfig(m.tls),
		mail.WithDialContextFunc(m.dialer(ctx)),
		mail.WithoutNoop(),
	}
	switch m.security {
	case startTLSRequired:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case startTLSOpportunistic, implicitTLS:
		// Implicit TLS is done by the dialer. The opportunistic policy
		// (a server on 465 offers no STARTTLS) makes go-mail look at the
		// connection and count it as encrypted; with NoTLS it would not,
		// and would refuse PLAIN and LOGIN.
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	case plain:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	if m.user != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(m.user), mail.WithPassword(m.pass))
	}
	return opts
}

// dialer connects to the server. go-mail bounds only the dial with its
// context and every later step with its timeout; closing the connection
// when ctx ends makes the whole conversation honour ctx. For implicit TLS
// it returns the *tls.Conn itself: go-mail recognises it as encrypted and
// then allows PLAIN and LOGIN authentication.
func (m *Mailer) dialer(ctx context.Context) mail.DialContextFunc {
	return func(dialCtx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(dialCtx, network, m.addr)
		if err != nil {
			return nil, err
		}
		context.AfterFunc(ctx, func() { conn.Close() })
		if m.security != implicitTLS {
			return conn, nil
		}
		tc := tls.Client(conn, m.tls)
		if err := tc.HandshakeContext(dialCtx); err != nil {
			conn.Close()
			return nil, err
		}
		return tc, nil
	}
}

// sendError classifies a failed send (see Send). The password is in none
// of go-mail's errors: they quote server replies and addresses only.
func (m *Mailer) sendError(ctx context.Context, to string, err error) error {
	ctxErr := ctx.Err()
	if dl, ok := ctx.Deadline(); ok && ctxErr == nil && !time.Now().Before(dl) {
		// go-mail's own i/o deadline, never earlier than ctx's, beat
		// ctx's timer to it.
		ctxErr = context.DeadlineExceeded
	}
	if ctxErr != nil {
		return fmt.Errorf("smtpmail: send to %s via %s: %w: %w", to, m.addr, ctxErr, err)
	}
	var se *mail.SendError
	if errors.As(err, &se) {
		switch se.Reason {
		case mail.ErrSMTPRcptTo, mail.ErrSMTPData, mail.ErrSMTPDataClose:
			if code := se.ErrorCode(); code >= 500 && code < 600 {
				return fmt.Errorf("smtpmail: send to %s via %s: %w: %w", to, m.addr, ports.ErrPermanent, err)
			}
		}
	}
	return fmt.Errorf("smtpmail: send to %s via %s: %w", to, m.addr, err)
}
