package mailer_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// delivery is one message an in-test SMTP server accepted.
type delivery struct {
	From string   // MAIL FROM
	Rcpt []string // RCPT TO
	Data []byte   // the message, dot-unstuffed, CRLF line breaks
	User string   // authenticated as; "" when not
	TLS  bool     // whether the connection was encrypted
}

// serverOptions shape an in-test SMTP server.
type serverOptions struct {
	TLS          string // "starttls" (offered), "implicit" (smtps), "none"
	User, Pass   string // when set, AUTH PLAIN is offered (over TLS) and required
	InsecureAuth bool   // offer AUTH on plain connections too

	Reject     map[string]*smtp.SMTPError // RCPT TO replies by recipient
	RejectData *smtp.SMTPError            // reply at the end of DATA
	// Stall, when set, makes DATA wait until it is closed (or the test
	// ends); InData is signalled (non-blocking) as DATA starts.
	Stall  chan struct{}
	InData chan struct{}
}

// server is a real SMTP server (emersion/go-smtp) on a loopback port that
// records what it accepts.
type server struct {
	Addr string // 127.0.0.1:port
	opts serverOptions

	mu        sync.Mutex
	delivered []delivery
	auths     int // AUTH attempts, successful or not
}

// startServer starts a server for the test and stops it when t ends.
func startServer(t *testing.T, o serverOptions) *server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	s := &server{Addr: l.Addr().String(), opts: o}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: s, conn: c}, nil
	}))
	srv.Domain = "mx.credence.test"
	srv.ReadTimeout, srv.WriteTimeout = 20*time.Second, 20*time.Second
	srv.AllowInsecureAuth = o.InsecureAuth
	srv.ErrorLog = quietLog{}
	switch o.TLS {
	case "starttls":
		srv.TLSConfig = serverTLS(t)
	case "implicit":
		l = tls.NewListener(l, serverTLS(t))
	case "none":
	default:
		t.Fatalf("serverOptions.TLS %q", o.TLS)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l) // returns smtp.ErrServerClosed on Close
	}()
	t.Cleanup(func() {
		if o.Stall != nil {
			select {
			case <-o.Stall:
			default:
				close(o.Stall)
			}
		}
		srv.Close()
		l.Close() // Close misses a listener Serve has not registered yet
		<-done
	})
	return s
}

// Delivered returns copies of the accepted messages, oldest first.
func (s *server) Delivered() []delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]delivery(nil), s.delivered...)
}

// Auths returns how many AUTH exchanges clients started.
func (s *server) Auths() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.auths
}

type session struct {
	srv  *server
	conn *smtp.Conn
	user string
	from string
	rcpt []string
}

var _ smtp.AuthSession = (*session)(nil)

func (s *session) AuthMechanisms() []string {
	if s.srv.opts.User == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain || s.srv.opts.User == "" {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, user, pass string) error {
		s.srv.mu.Lock()
		s.srv.auths++
		s.srv.mu.Unlock()
		if user != s.srv.opts.User || pass != s.srv.opts.Pass {
			return smtp.ErrAuthFailed
		}
		s.user = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.srv.opts.User != "" && s.user == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if e := s.srv.opts.Reject[to]; e != nil {
		return e
	}
	s.rcpt = append(s.rcpt, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	if s.srv.opts.InData != nil {
		select {
		case s.srv.opts.InData <- struct{}{}:
		default:
		}
	}
	if s.srv.opts.Stall != nil {
		<-s.srv.opts.Stall
	}
	var b bytes.Buffer
	if _, err := io.Copy(&b, r); err != nil {
		return err
	}
	if s.srv.opts.RejectData != nil {
		return s.srv.opts.RejectData
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.srv.mu.Lock()
	s.srv.delivered = append(s.srv.delivered, delivery{From: s.from, Rcpt: s.rcpt, Data: b.Bytes(), User: s.user, TLS: isTLS})
	s.srv.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.from, s.rcpt = "", nil }
func (s *session) Logout() error { return nil }

// serverTLS returns a TLS config with a fresh self-signed certificate for
// 127.0.0.1 and localhost.
func serverTLS(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatalf("serial: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "mx.credence.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("create certificate: %v", err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		MinVersion:   tls.VersionTLS12,
	}
}

// stalledServer accepts connections and never answers (no greeting): a
// hung server. It returns its address.
func stalledServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// quietLog drops go-smtp's own log lines (clients hanging up mid-test).
type quietLog struct{}

func (quietLog) Printf(string, ...any) {}
func (quietLog) Println(...any)        {}
