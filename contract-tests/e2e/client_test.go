package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// client calls one server as one caller (a session token, an API key, or
// nobody) on behalf of one test.
type client struct {
	t     *testing.T
	s     *server
	token string
	// allow5xx is a 5xx status the test expects (see expecting); every
	// other 5xx fails the test.
	allow5xx int
}

// expecting returns a copy of c for which status (a 5xx the test
// provokes, such as 503 while the database is down) is no failure.
func (c *client) expecting(status int) *client {
	cc := *c
	cc.allow5xx = status
	return &cc
}

// as returns a client sending token ("" for anonymous calls).
func (s *server) as(t *testing.T, token string) *client { return &client{t: t, s: s, token: token} }

// anon returns a client without credentials.
func (s *server) anon(t *testing.T) *client { return s.as(t, "") }

// response is a read HTTP response.
type response struct {
	method, path string
	Status       int
	Header       http.Header
	Body         []byte
}

func (r *response) String() string {
	body := string(r.Body)
	if len(body) > 2000 {
		body = body[:2000] + "…"
	}
	return r.method + " " + r.path + " → " + http.StatusText(r.Status) + " " + body
}

// rawJSON is a request body sent as-is with Content-Type application/json.
type rawJSON string

// formBody is a request body sent as-is with its Content-Type (a
// multipart form, see bulkForm).
type formBody struct {
	contentType string
	data        []byte
}

// do sends a request. body is nil (no body), rawJSON, or a value encoded
// as JSON. A 5xx fails the test (but the one a client from expecting
// expects): no input may make the server fail.
func (c *client) do(method, path string, body any, header ...string) *response {
	c.t.Helper()
	r, err := c.send(method, path, body, header...)
	if err != nil {
		c.t.Fatal(err)
	}
	return r
}

// send is do for other goroutines than the test's: it reports errors
// instead of stopping the test (a 5xx still fails it).
func (c *client) send(method, path string, body any, header ...string) (*response, error) {
	var rd io.Reader
	contentType := ""
	switch b := body.(type) {
	case nil:
	case rawJSON:
		rd, contentType = strings.NewReader(string(b)), "application/json"
	case formBody:
		rd, contentType = bytes.NewReader(b.data), b.contentType
	default:
		js, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("encode request body: %w", err)
		}
		c.s.secrets.collect(js)
		rd, contentType = bytes.NewReader(js), "application/json"
	}
	req, err := http.NewRequest(method, c.s.url+path, rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.s.env["CREDENCE_TRUSTED_PROXIES"] == "127.0.0.1" {
		// Behind the loopback "proxy" every request comes from an address
		// of its own (so that setting up a test spends no one's limits)
		// unless the test names one.
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.18.%d.%d", rand.IntN(256), 1+rand.IntN(254)))
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := c.s.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	r := &response{method: method, path: path, Status: res.StatusCode, Header: res.Header, Body: data}
	if strings.Contains(res.Header.Get("Content-Type"), "json") {
		c.s.secrets.collect(data)
	}
	if r.Status >= 500 && r.Status != c.allow5xx {
		c.s.serverErrs.Add(1)
		c.t.Errorf("server error: %s", r)
	}
	return r, nil
}

// expect sends a request, requires status and decodes the JSON body into
// out (when not nil). header holds extra header names and values.
func (c *client) expect(status int, method, path string, body, out any, header ...string) *response {
	c.t.Helper()
	r := c.do(method, path, body, header...)
	if r.Status != status {
		c.t.Fatalf("want %d: %s", status, r)
	}
	if out != nil {
		if err := json.Unmarshal(r.Body, out); err != nil {
			c.t.Fatalf("decode %s: %v", r, err)
		}
	}
	return r
}

// problem is an RFC 9457 problem body with Credence's extensions.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	Errors []struct {
		Location string `json:"location"`
		Message  string `json:"message"`
		Value    any    `json:"value"`
	} `json:"errors"`
	ExistingCredentialID string     `json:"existingCredentialId"`
	Used                 *int       `json:"used"`
	Limit                *int       `json:"limit"`
	ResetsAt             *time.Time `json:"resetsAt"`
}

// expectProblem sends a request and requires an application/problem+json
// answer with status and code. header holds extra header names and values.
func (c *client) expectProblem(status int, code, method, path string, body any, header ...string) problem {
	c.t.Helper()
	return c.checkProblem(c.do(method, path, body, header...), status, code)
}

func (c *client) checkProblem(r *response, status int, code string) problem {
	c.t.Helper()
	if r.Status != status {
		c.t.Fatalf("want %d %s: %s", status, code, r)
	}
	p := decodeProblem(c.t, r)
	if p.Code != code {
		c.t.Fatalf("want code %s: %s", code, r)
	}
	if p.Status != status {
		c.t.Errorf("problem status %d differs from the HTTP status: %s", p.Status, r)
	}
	return p
}

// decodeProblem requires r to be a problem with a code.
func decodeProblem(t *testing.T, r *response) problem {
	t.Helper()
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/problem+json" {
		t.Errorf("want Content-Type application/problem+json, got %q: %s", r.Header.Get("Content-Type"), r)
	}
	var p problem
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("decode problem: %v: %s", err, r)
	}
	if p.Code == "" {
		t.Errorf("problem without a code: %s", r)
	}
	return p
}

// mail is one message the file mailer wrote.
type mail struct {
	File, To, Subject, Body string
}

// mails returns the messages written to address, oldest first (file names
// start with the time and a sequence number).
func (s *server) mails(t *testing.T, address string) []mail {
	t.Helper()
	var out []mail
	for _, m := range s.allMails(t) {
		if strings.EqualFold(m.To, address) {
			out = append(out, m)
		}
	}
	return out
}

// allMails returns every message written so far, oldest first.
func (s *server) allMails(t *testing.T) []mail {
	t.Helper()
	dir := filepath.Join(s.dataDir, "mail")
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatalf("read mail folder: %v", err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".eml") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	out := make([]mail, 0, len(names))
	for _, n := range names {
		raw, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatalf("read mail: %v", err)
		}
		head, body, _ := strings.Cut(strings.ReplaceAll(string(raw), "\r\n", "\n"), "\n\n")
		m := mail{File: n, Body: body}
		for _, line := range strings.Split(head, "\n") {
			k, v, _ := strings.Cut(line, ": ")
			switch k {
			case "To":
				m.To = v
			case "Subject":
				if dec, err := new(mime.WordDecoder).DecodeHeader(v); err == nil {
					v = dec
				}
				m.Subject = v
			}
		}
		out = append(out, m)
	}
	return out
}

// latestMail waits (with a deadline) for a message to address whose
// subject contains subject, and returns the newest.
func (s *server) latestMail(t *testing.T, address, subject string) mail {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ms := s.mails(t, address)
		for i := len(ms) - 1; i >= 0; i-- {
			if strings.Contains(ms[i].Subject, subject) {
				return ms[i]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail to %s with subject %q (got %d other mails)", address, subject, len(ms))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var verifyTokenRE = regexp.MustCompile(`/verify-email\?token=([A-Za-z0-9_-]+)`)

// verificationToken extracts the token of the newest verification mail.
func (s *server) verificationToken(t *testing.T, address string) string {
	t.Helper()
	m := s.latestMail(t, address, "Verify your email")
	match := verifyTokenRE.FindStringSubmatch(m.Body)
	if match == nil {
		t.Fatalf("no verification link in %s:\n%s", m.File, m.Body)
	}
	return match[1]
}
