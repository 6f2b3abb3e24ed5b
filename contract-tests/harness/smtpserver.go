package harness

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TLS modes of an in-test SMTP server (SMTPOptions.TLS).
const (
	SMTPStartTLS = "starttls" // STARTTLS offered on a plain connection (the default)
	SMTPImplicit = "implicit" // TLS from the first byte (smtps)
	SMTPPlain    = "none"     // no TLS at all
)

// SMTPOptions shape an in-test SMTP server.
type SMTPOptions struct {
	TLS          string // SMTPStartTLS (""), SMTPImplicit or SMTPPlain; the certificate is self-signed
	User, Pass   string // when set, AUTH PLAIN is offered (over TLS) and required before MAIL
	InsecureAuth bool   // offer AUTH on plain connections too
}

// SMTPDelivery is one message an in-test SMTP server accepted.
type SMTPDelivery struct {
	From string   // MAIL FROM
	To   []string // RCPT TO, the accepted ones
	Data []byte   // the message, dot-unstuffed, CRLF line breaks
	User string   // authenticated as; "" when not
	TLS  bool     // whether the connection was encrypted
}

// SMTPServer is a real SMTP server (emersion/go-smtp) on a loopback port
// that records what it accepts, and whose replies a test can change while
// it runs: refusing a recipient or a message, or being down.
type SMTPServer struct {
	Addr string // 127.0.0.1:port
	opts SMTPOptions

	mu         sync.Mutex
	delivered  []SMTPDelivery
	rcpts      map[string]int // RCPT TO commands by address, refused ones too
	auths      int
	refused    int
	down       bool
	rejectRcpt map[string]int
	rejectData int
	stall      chan struct{} // DATA waits for it to close (when the server stops); nil: no stall
	inData     chan struct{}
}

// StartSMTP starts an SMTP server for the test and stops it when t ends.
func StartSMTP(t testing.TB, o SMTPOptions) *SMTPServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	s := &SMTPServer{Addr: l.Addr().String(), opts: o, rcpts: map[string]int{}, rejectRcpt: map[string]int{}}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.down {
			s.refused++
			return nil, &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Service not available"}
		}
		return &smtpSession{srv: s, conn: c}, nil
	}))
	srv.Domain = "mx.credence.test"
	srv.ReadTimeout, srv.WriteTimeout = 20*time.Second, 20*time.Second
	srv.AllowInsecureAuth = o.InsecureAuth
	srv.ErrorLog = log.New(io.Discard, "", 0) // clients hanging up mid-test
	switch o.TLS {
	case SMTPStartTLS, "":
		srv.TLSConfig = selfSigned(t)
	case SMTPImplicit:
		l = tls.NewListener(l, selfSigned(t))
	case SMTPPlain:
	default:
		t.Fatalf("SMTPOptions.TLS %q", o.TLS)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l) // returns smtp.ErrServerClosed on Close
	}()
	t.Cleanup(func() {
		s.mu.Lock()
		if s.stall != nil {
			close(s.stall)
		}
		s.mu.Unlock()
		srv.Close()
		l.Close() // Close misses a listener Serve has not registered yet
		<-done
	})
	return s
}

// URL returns the URL of the server for CREDENCE_SMTP_URL and smtpmail:
// smtps:// for implicit TLS, else smtp://; user "" leaves the userinfo
// out; query is the raw query ("insecure_skip_verify=true").
func (s *SMTPServer) URL(user, pass, query string) string {
	u := url.URL{Scheme: "smtp", Host: s.Addr, RawQuery: query}
	if s.opts.TLS == SMTPImplicit {
		u.Scheme = "smtps"
	}
	if user != "" {
		u.User = url.UserPassword(user, pass)
	}
	return u.String()
}

// Delivered returns copies of the accepted messages, oldest first.
func (s *SMTPServer) Delivered() []SMTPDelivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SMTPDelivery(nil), s.delivered...)
}

// RcptAttempts returns how many RCPT TO commands named addr, accepted or not.
func (s *SMTPServer) RcptAttempts(addr string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rcpts[addr]
}

// Auths returns how many AUTH exchanges clients started.
func (s *SMTPServer) Auths() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.auths
}

// Refused returns how many greetings (EHLO or HELO) were answered 421
// while the server was down.
func (s *SMTPServer) Refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

// SetDown makes the server answer every EHLO and HELO with 421 (down),
// or serve again.
func (s *SMTPServer) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// RejectRcpt makes the server answer RCPT TO addr with code (a 4xx or
// 5xx); code 0 accepts addr again.
func (s *SMTPServer) RejectRcpt(addr string, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == 0 {
		delete(s.rejectRcpt, addr)
	} else {
		s.rejectRcpt[addr] = code
	}
}

// RejectData makes the server answer the end of every DATA with code
// after reading the message; code 0 accepts messages again.
func (s *SMTPServer) RejectData(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejectData = code
}

// StallData makes every DATA from now on hang until the server stops, as
// a server that stops answering mid-message; the channel receives, without
// holding the server up, as a DATA begins.
func (s *SMTPServer) StallData() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stall == nil {
		s.stall, s.inData = make(chan struct{}), make(chan struct{}, 1)
	}
	return s.inData
}

// smtpReply is the error a session returns for code; 0 is none.
func smtpReply(code int, msg string) error {
	if code == 0 {
		return nil
	}
	return &smtp.SMTPError{Code: code, Message: msg} // go-smtp adds the enhanced code X.0.0
}

type smtpSession struct {
	srv  *SMTPServer
	conn *smtp.Conn
	user string
	from string
	rcpt []string
}

var _ smtp.AuthSession = (*smtpSession)(nil)

func (s *smtpSession) AuthMechanisms() []string {
	if s.srv.opts.User == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
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

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.srv.opts.User != "" && s.user == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	s.from = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.srv.mu.Lock()
	s.srv.rcpts[to]++
	code := s.srv.rejectRcpt[to]
	s.srv.mu.Unlock()
	if err := smtpReply(code, "Recipient refused by the test"); err != nil {
		return err
	}
	s.rcpt = append(s.rcpt, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	s.srv.mu.Lock()
	stall, inData := s.srv.stall, s.srv.inData
	s.srv.mu.Unlock()
	if stall != nil {
		select {
		case inData <- struct{}{}:
		default:
		}
		<-stall
	}
	var b bytes.Buffer
	if _, err := io.Copy(&b, r); err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	if err := smtpReply(s.srv.rejectData, "Message refused by the test"); err != nil {
		return err
	}
	s.srv.delivered = append(s.srv.delivered, SMTPDelivery{From: s.from, To: s.rcpt, Data: b.Bytes(), User: s.user, TLS: isTLS})
	return nil
}

func (s *smtpSession) Reset()        { s.from, s.rcpt = "", nil }
func (s *smtpSession) Logout() error { return nil }

// selfSigned returns a TLS config with a fresh self-signed certificate for
// 127.0.0.1 and localhost: clients connect with insecure_skip_verify=true.
func selfSigned(t testing.TB) *tls.Config {
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
