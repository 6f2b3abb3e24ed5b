package smtpmail

import (
	"strings"
	"testing"
	"time"
)

// secret is the password of every URL below; no error may quote it.
const secret = "s3cr%25t-Pw"

func TestNewReadsURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url      string
		addr     string
		security security
		user     string
		insecure bool
		timeout  time.Duration
	}{
		{"smtp://mail.example.com", "mail.example.com:587", startTLSRequired, "", false, DefaultTimeout},
		{"smtp://u:" + secret + "@mail.example.com:2525", "mail.example.com:2525", startTLSRequired, "u", false, DefaultTimeout},
		{"smtp://u%40x.test:" + secret + "@mail.example.com/?starttls=required", "mail.example.com:587", startTLSRequired, "u@x.test", false, DefaultTimeout},
		{"smtp://mail.example.com?starttls=opportunistic", "mail.example.com:587", startTLSOpportunistic, "", false, DefaultTimeout},
		{"smtp://localhost:1025?tls=none", "localhost:1025", plain, "", false, DefaultTimeout},
		{"smtps://u:" + secret + "@mail.example.com", "mail.example.com:465", implicitTLS, "u", false, DefaultTimeout},
		{"smtps://[::1]:4650?insecure_skip_verify=true&timeout=1500ms", "[::1]:4650", implicitTLS, "", true, 1500 * time.Millisecond},
	} {
		m, err := New(tc.url, "Credence <noreply@credence.test>", nil)
		if err != nil {
			t.Errorf("New(%q): %v", tc.url, err)
			continue
		}
		if m.addr != tc.addr || m.security != tc.security || m.user != tc.user ||
			m.tls.InsecureSkipVerify != tc.insecure || m.timeout != tc.timeout {
			t.Errorf("New(%q) = addr %s, %v, user %q, insecure %v, timeout %v; want %s, %v, %q, %v, %v", tc.url,
				m.addr, m.security, m.user, m.tls.InsecureSkipVerify, m.timeout,
				tc.addr, tc.security, tc.user, tc.insecure, tc.timeout)
		}
		if tc.user != "" && m.pass != "s3cr%t-Pw" {
			t.Errorf("New(%q): password not percent-decoded", tc.url)
		}
		if s := m.String(); strings.Contains(s, "s3cr") {
			t.Errorf("String() = %q shows the password", s)
		}
	}
}

func TestNewRefusesBadURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ url, want string }{
		{"", "scheme"},
		{"mail.example.com:587", "scheme"},
		{"http://u:" + secret + "@mail.example.com", "scheme"},
		{"smtp:u:" + secret + "@mail.example.com", "smtp://"},
		{"smtp://", "no host"},
		{"smtp://u:" + secret + "@:587", "no host"},
		{"smtp://u:" + secret + "@mail.example.com:0", "port"},
		{"smtp://u:" + secret + "@mail.example.com:99999", "port"},
		{"smtp://u:" + secret + "@mail.example.com:smtp", "parse"},
		{"smtp://u:s3cr%zzt@mail.example.com", "parse"},
		{"smtp://u:" + secret + "@mail.example.com/inbox", "path"},
		{"smtp://u@mail.example.com", "user and password"},
		{"smtp://:" + secret + "@mail.example.com", "user and password"},
		{"smtp://u:" + secret + "@mail.example.com?starttls=maybe", "starttls"},
		{"smtp://u:" + secret + "@mail.example.com?tls=on", "tls"},
		{"smtp://mail.example.com?tls=none&starttls=opportunistic", "not both"},
		{"smtp://u:" + secret + "@mail.example.com?tls=none", "in clear"},
		{"smtps://u:" + secret + "@mail.example.com?starttls=opportunistic", "smtps"},
		{"smtps://u:" + secret + "@mail.example.com?tls=none", "smtps"},
		{"smtp://u:" + secret + "@mail.example.com?insecure_skip_verify=perhaps", "insecure_skip_verify"},
		{"smtp://u:" + secret + "@mail.example.com?timeout=10", "timeout"},
		{"smtp://u:" + secret + "@mail.example.com?timeout=-1s", "timeout"},
		{"smtp://u:" + secret + "@mail.example.com?timeout=1s&timeout=2s", "more than once"},
		{"smtp://u:" + secret + "@mail.example.com?startls=opportunistic", "unknown"},
		{"smtp://u:" + secret + "@mail.example.com?x=%zz", "query"},
	} {
		_, err := New(tc.url, "noreply@credence.test", nil)
		if err == nil {
			t.Errorf("New(%q) = nil error, want one about %s", tc.url, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%q) = %q, want it to mention %q", tc.url, err, tc.want)
		}
		if strings.Contains(err.Error(), "s3cr") {
			t.Errorf("New(%q) = %q quotes the password", tc.url, err)
		}
	}
}

func TestNewRefusesBadSender(t *testing.T) {
	t.Parallel()
	for _, from := range []string{"", "credence", "Credence <noreply>x"} {
		if _, err := New("smtp://mail.example.com", from, nil); err == nil || !strings.Contains(err.Error(), "sender") {
			t.Errorf("New(from %q) = %v, want a sender error", from, err)
		}
	}
}
