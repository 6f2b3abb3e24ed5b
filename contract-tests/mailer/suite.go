// Package mailer is the contract suite of ports.Mailer: every adapter
// runs the same Run, and the suite reads back, message by message, what
// the adapter delivered (an .eml file, what an SMTP server received) as
// any mail reader would, with net/mail and mime/multipart. Each case
// documents the sentence it checks.
package mailer

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credence-dev/credence/ports"
)

// From is the sender every factory must build its mailer with.
const From = "Credence <noreply@credence.test>"

// Target is a mailer under test and a way to read back what it delivered.
type Target struct {
	Mailer ports.Mailer
	// Delivered returns the raw RFC 5322 messages delivered so far, in
	// any order. A message counts once Send has returned nil for it.
	Delivered func(t *testing.T) [][]byte
}

// Factory returns a fresh mailer sending as From, with nothing delivered
// yet, released when t ends.
type Factory func(t *testing.T) Target

// Run runs every case of the contract against mailers from newMailer.
// Each case gets its own mailer and runs in parallel with the others.
func Run(t *testing.T, newMailer Factory) {
	for _, tc := range []struct {
		name string
		run  func(*testing.T, Target)
	}{
		{"text_message_has_headers_and_body", testText},
		{"html_makes_multipart_alternative_with_text", testHTML},
		{"concurrent_sends_each_delivered_once", testConcurrent},
		{"line_break_in_header_is_refused_permanently", testHeaderInjection},
		{"recipient_not_an_address_is_refused_permanently", testBadRecipient},
		{"done_context_sends_nothing", testDoneContext},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newMailer(t))
		})
	}
}

// Sample values: non-ASCII in the subject and bodies, a line of a single
// dot and a line starting "From " (both special to SMTP or mbox),
// trailing blanks, a tab, and HTML longer than a mail line with the
// characters quoted-printable escapes.
const (
	sampleTo      = "joerg@example.test"
	sampleSubject = "Zertifikat für Jörg"
	sampleText    = "Hallo Jörg,\n\nIhr Zertifikat ist ausgestellt:\nhttps://credence.test/c/CRD-ABCD1234\n.\nFrom the Credence team \t \n– Grüße 🎓\n"
)

var sampleHTML = `<!doctype html><html><body><p style="font-family:sans-serif">Hallo Jörg,</p>` +
	`<p>Ihr <a href="https://credence.test/c/CRD-ABCD1234?a=1&amp;b=2">Zertifikat</a> ist ausgestellt. ` +
	strings.Repeat("Grüße 🎓 = ", 40) + "</p>\n.\n<p>From the team</p></body></html>\n"

// Message is a delivered message as a mail reader sees it.
type Message struct {
	Header mail.Header
	Text   string // the text/plain body, decoded, line breaks as \n
	HTML   string // the text/html alternative, decoded; "" when none
}

// Parse reads a raw delivered message and checks what every message must
// have: 7-bit header lines, MIME-Version 1.0, UTF-8 parts, and either a
// single text/plain body or multipart/alternative with exactly text/plain
// then text/html (RFC 2046: the preferred part last).
func Parse(t testing.TB, raw []byte) Message {
	t.Helper()
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	for _, line := range strings.Split(string(head), "\r\n") {
		if !isASCII(line) || len(line) > 998 {
			t.Errorf("header line %q: want 7-bit ASCII, at most 998 bytes", line)
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("read message: %v\n%s", err, raw)
	}
	if v := msg.Header.Get("MIME-Version"); v != "1.0" {
		t.Errorf("MIME-Version = %q, want 1.0", v)
	}
	out := Message{Header: msg.Header}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	switch mt {
	case "text/plain":
		checkCharset(t, mt, params)
		out.Text = decode(t, msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	case "multipart/alternative":
		mr := multipart.NewReader(msg.Body, params["boundary"])
		for i, want := range []string{"text/plain", "text/html", ""} {
			p, err := mr.NextPart()
			if want == "" {
				if err != io.EOF {
					t.Errorf("part %d: %v, want no more parts", i, err)
				}
				break
			}
			if err != nil {
				t.Fatalf("part %d: %v", i, err)
			}
			pt, pparams, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
			if err != nil || pt != want {
				t.Fatalf("part %d Content-Type %q (%v), want %s", i, p.Header.Get("Content-Type"), err, want)
			}
			checkCharset(t, pt, pparams)
			// NextPart has already undone quoted-printable.
			body := decode(t, p.Header.Get("Content-Transfer-Encoding"), p)
			if pt == "text/plain" {
				out.Text = body
			} else {
				out.HTML = body
			}
		}
	default:
		t.Fatalf("Content-Type %s, want text/plain or multipart/alternative", mt)
	}
	return out
}

func checkCharset(t testing.TB, mt string, params map[string]string) {
	t.Helper()
	if !strings.EqualFold(params["charset"], "utf-8") {
		t.Errorf("%s charset %q, want utf-8", mt, params["charset"])
	}
}

// decode undoes a Content-Transfer-Encoding and turns CRLF into \n.
func decode(t testing.TB, cte string, r io.Reader) string {
	t.Helper()
	switch strings.ToLower(cte) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	case "", "7bit", "8bit":
	default:
		t.Fatalf("Content-Transfer-Encoding %q", cte)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read body (%s): %v", cte, err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

// sameBody reports whether a delivered body is what was sent: transports
// may end the last line with a line break.
func sameBody(got, sent string) bool {
	sent = strings.ReplaceAll(sent, "\r\n", "\n")
	return strings.TrimSuffix(got, "\n") == strings.TrimSuffix(sent, "\n")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

var messageID = regexp.MustCompile(`^<[^<>@\s]+@[^<>@\s]+>$`)

// checkHeaders checks what the message of Send(m) must carry: From is the
// mailer's sender, To and Subject are m's (the subject RFC 2047-encoded
// when not ASCII), Date is when it was sent, Message-ID is well-formed.
func checkHeaders(t *testing.T, got Message, m ports.Message, sent time.Time) {
	t.Helper()
	want, _ := mail.ParseAddress(From)
	if from, err := got.Header.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != want.Address {
		t.Errorf("From = %q (%v), want %s", got.Header.Get("From"), err, want.Address)
	}
	if to, err := got.Header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != m.To {
		t.Errorf("To = %q (%v), want %s", got.Header.Get("To"), err, m.To)
	}
	raw := got.Header.Get("Subject")
	subject, err := new(mime.WordDecoder).DecodeHeader(raw)
	if err != nil || subject != m.Subject {
		t.Errorf("Subject %q decodes to %q (%v), want %q", raw, subject, err, m.Subject)
	}
	if date, err := got.Header.Date(); err != nil || date.Before(sent.Add(-time.Minute)) || date.After(time.Now().Add(time.Minute)) {
		t.Errorf("Date = %q (%v), want about %s", got.Header.Get("Date"), err, sent.Format(time.RFC1123Z))
	}
	if id := got.Header.Get("Message-ID"); !messageID.MatchString(id) {
		t.Errorf("Message-ID = %q, want <local@domain>", id)
	}
	if len(got.Header["Bcc"]) > 0 || len(got.Header["Cc"]) > 0 {
		t.Errorf("message has Cc or Bcc: %v", got.Header)
	}
}

// one returns the only delivered message, failing unless there is exactly one.
func one(t *testing.T, tg Target) []byte {
	t.Helper()
	got := tg.Delivered(t)
	if len(got) != 1 {
		t.Fatalf("delivered %d messages, want 1", len(got))
	}
	return got[0]
}

func send(t *testing.T, tg Target, m ports.Message) {
	t.Helper()
	if err := tg.Mailer.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
}

// ---- cases ----

// Message without HTML: one text/plain body with the headers of checkHeaders.
func testText(t *testing.T, tg Target) {
	start := time.Now()
	m := ports.Message{To: sampleTo, Subject: sampleSubject, Text: sampleText}
	send(t, tg, m)
	got := Parse(t, one(t, tg))
	checkHeaders(t, got, m, start)
	if ct, _, _ := mime.ParseMediaType(got.Header.Get("Content-Type")); ct != "text/plain" {
		t.Errorf("Content-Type %s, want text/plain", ct)
	}
	if !sameBody(got.Text, m.Text) {
		t.Errorf("text body:\n%q\nwant\n%q", got.Text, m.Text)
	}
}

// "When set, the message is multipart/alternative with Text and HTML."
func testHTML(t *testing.T, tg Target) {
	start := time.Now()
	m := ports.Message{To: sampleTo, Subject: sampleSubject, Text: sampleText, HTML: sampleHTML}
	send(t, tg, m)
	got := Parse(t, one(t, tg))
	checkHeaders(t, got, m, start)
	if ct, _, _ := mime.ParseMediaType(got.Header.Get("Content-Type")); ct != "multipart/alternative" {
		t.Errorf("Content-Type %s, want multipart/alternative", ct)
	}
	if !sameBody(got.Text, m.Text) {
		t.Errorf("text part:\n%q\nwant\n%q", got.Text, m.Text)
	}
	if !sameBody(got.HTML, m.HTML) {
		t.Errorf("html part:\n%q\nwant\n%q", got.HTML, m.HTML)
	}
}

// Concurrent sends: each message delivered exactly once, intact, with a
// Message-ID of its own.
func testConcurrent(t *testing.T, tg Target) {
	const n = 16
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := ports.Message{To: fmt.Sprintf("r%d@example.test", i), Subject: fmt.Sprintf("%s #%d", sampleSubject, i), Text: sampleText}
			if i%2 == 1 {
				m.HTML = sampleHTML
			}
			errs[i] = tg.Mailer.Send(context.Background(), m)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("Send: %v", err)
	}
	delivered := tg.Delivered(t)
	if len(delivered) != n {
		t.Fatalf("delivered %d messages, want %d", len(delivered), n)
	}
	seen := map[string]bool{}
	ids := map[string]bool{}
	for _, raw := range delivered {
		got := Parse(t, raw)
		addr, err := mail.ParseAddress(got.Header.Get("To"))
		var i int
		if err == nil {
			_, err = fmt.Sscanf(addr.Address, "r%d@example.test", &i)
		}
		if err != nil || seen[addr.Address] {
			t.Errorf("unexpected or repeated To %q", got.Header.Get("To"))
			continue
		}
		to := addr.Address
		seen[to] = true
		m := ports.Message{To: to, Subject: fmt.Sprintf("%s #%d", sampleSubject, i), Text: sampleText}
		if i%2 == 1 {
			m.HTML = sampleHTML
		}
		checkHeaders(t, got, m, start)
		if !sameBody(got.Text, m.Text) || !sameBody(got.HTML, m.HTML) {
			t.Errorf("message %d: bodies differ from what was sent", i)
		}
		id := got.Header.Get("Message-ID")
		if ids[id] {
			t.Errorf("Message-ID %s used twice", id)
		}
		ids[id] = true
	}
}

// A line break in To or Subject would let a caller add headers (a Bcc):
// refused, with an error wrapping ports.ErrPermanent, nothing delivered.
func testHeaderInjection(t *testing.T, tg Target) {
	for _, m := range []ports.Message{
		{To: sampleTo + "\r\nBcc: spy@example.test", Subject: "hi", Text: "x"},
		{To: sampleTo, Subject: "hi\nBcc: spy@example.test", Text: "x"},
		{To: sampleTo, Subject: "hi\r\n\r\nforged body", Text: "x"},
	} {
		err := tg.Mailer.Send(context.Background(), m)
		if !errors.Is(err, ports.ErrPermanent) {
			t.Errorf("Send(%q, %q) = %v, want an error wrapping ErrPermanent", m.To, m.Subject, err)
		}
	}
	if got := tg.Delivered(t); len(got) != 0 {
		t.Errorf("delivered %d messages, want none:\n%s", len(got), got[0])
	}
}

// A To that is no address can never be delivered: ErrPermanent.
func testBadRecipient(t *testing.T, tg Target) {
	for _, to := range []string{"", "joerg", "joerg@", "<joerg@example.test", "a@example.test, b@example.test"} {
		err := tg.Mailer.Send(context.Background(), ports.Message{To: to, Subject: "hi", Text: "x"})
		if !errors.Is(err, ports.ErrPermanent) {
			t.Errorf("Send(to %q) = %v, want an error wrapping ErrPermanent", to, err)
		}
	}
	if got := tg.Delivered(t); len(got) != 0 {
		t.Errorf("delivered %d messages, want none", len(got))
	}
}

// A Send whose context is done delivers nothing and says why.
func testDoneContext(t *testing.T, tg Target) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := tg.Mailer.Send(ctx, ports.Message{To: sampleTo, Subject: sampleSubject, Text: sampleText})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Send = %v, want context.Canceled", err)
	}
	if got := tg.Delivered(t); len(got) != 0 {
		t.Errorf("delivered %d messages, want none", len(got))
	}
}
