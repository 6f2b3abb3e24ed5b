// Package filemail is the Mailer adapter of the embedded default: each
// message is written as an .eml file (RFC 5322, readable by any mail
// client) under a folder, and one line is logged per message.
package filemail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/credence-dev/credence/ports"
)

// Mailer writes messages to Dir.
type Mailer struct {
	dir  string
	from string
	log  *slog.Logger
	seq  atomic.Uint64
}

var _ ports.Mailer = (*Mailer)(nil)

// New creates dir (mode 0700: mails carry sign-in links) and returns a
// Mailer writing into it as sender from.
func New(dir, from string, log *slog.Logger) (*Mailer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("mail folder: %w", err)
	}
	return &Mailer{dir: dir, from: from, log: log}, nil
}

// Dir returns the folder the mails are written to.
func (m *Mailer) Dir() string { return m.dir }

// Send writes m as <time>-<seq>-<random>.eml, atomically (temp file + rename).
// A message no retry can write (a line break in To or Subject, a To that
// is no address) fails with an error wrapping ports.ErrPermanent.
func (m *Mailer) Send(ctx context.Context, msg ports.Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("write mail: %w", err)
	}
	if strings.ContainsAny(msg.To, "\r\n") || strings.ContainsAny(msg.Subject, "\r\n") {
		return fmt.Errorf("mail header contains a line break: %w", ports.ErrPermanent)
	}
	if _, err := mail.ParseAddress(msg.To); err != nil {
		return fmt.Errorf("mail recipient %q is not an address: %w", msg.To, ports.ErrPermanent)
	}
	now := time.Now().UTC()
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	name := fmt.Sprintf("%s-%06d-%s.eml", now.Format("20060102T150405.000000Z"), m.seq.Add(1), hex.EncodeToString(rnd[:]))
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\n", m.from)
	fmt.Fprintf(&b, "To: %s\r\n", msg.To)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", msg.Subject))
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@credence>\r\n", strings.TrimSuffix(name, ".eml"))
	b.WriteString("MIME-Version: 1.0\r\n")
	if msg.HTML == "" {
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
		b.WriteString(crlf(msg.Text))
	} else if err := writeAlternative(&b, msg); err != nil {
		return fmt.Errorf("write mail: %w", err)
	}
	tmp, err := os.CreateTemp(m.dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("write mail: %w", err)
	}
	if _, err := tmp.WriteString(b.String()); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("write mail: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write mail: %w", err)
	}
	path := filepath.Join(m.dir, name)
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write mail: %w", err)
	}
	m.log.InfoContext(ctx, "mail written", "to", msg.To, "subject", msg.Subject, "file", path)
	return nil
}

// crlf gives s the line breaks of a mail file.
func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

// writeAlternative writes the Content-Type header and body of a
// multipart/alternative message: Text first, HTML last (RFC 2046: the
// last part is the preferred one). HTML goes quoted-printable because
// generated HTML may hold lines longer than mail allows.
func writeAlternative(b *strings.Builder, msg ports.Message) error {
	w := multipart.NewWriter(b)
	fmt.Fprintf(b, "Content-Type: %s\r\n\r\n", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": w.Boundary()}))
	text, err := w.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {"text/plain; charset=utf-8"},
		"Content-Transfer-Encoding": {"8bit"},
	})
	if err != nil {
		return err
	}
	if _, err := text.Write([]byte(crlf(msg.Text))); err != nil {
		return err
	}
	html, err := w.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {"text/html; charset=utf-8"},
		"Content-Transfer-Encoding": {"quoted-printable"},
	})
	if err != nil {
		return err
	}
	qp := quotedprintable.NewWriter(html)
	if _, err := qp.Write([]byte(msg.HTML)); err != nil {
		return err
	}
	if err := qp.Close(); err != nil {
		return err
	}
	return w.Close()
}
