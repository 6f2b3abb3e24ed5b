// Package mailhtml renders the HTML alternative of a plain-text mail: a
// Mailer that wraps another one and adds it to each message. It runs at
// send time, so the outbox keeps only the text, and it reads the
// text as the product writes it: blank lines separate paragraphs, a line
// indented four spaces (or a tab) is a code to type, and the first link
// standing alone on its line is the mail's call to action. A line
// "Badge image: <URL>" shows the image (the credential mails): the text
// reader gets its link, the HTML reader the picture.
//
// Every piece of text goes through html/template, so names and other
// user-controlled values can never become markup; links are made only of
// http and https URLs.
package mailhtml

import (
	"context"
	_ "embed"
	"fmt"
	"html/template"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/credence-dev/credence/ports"
)

// Mailer adds the HTML alternative to the messages it passes to next.
type Mailer struct {
	next ports.Mailer
	log  *slog.Logger
}

var _ ports.Mailer = (*Mailer)(nil)

// Wrap returns next sending every message with its HTML alternative.
func Wrap(next ports.Mailer, log *slog.Logger) *Mailer { return &Mailer{next: next, log: log} }

// Send renders m's HTML (unless it has one) and sends it; should rendering
// fail, the text alone goes out, logged: it still tells everything.
func (w *Mailer) Send(ctx context.Context, m ports.Message) error {
	if m.HTML == "" {
		html, err := Render(m.Subject, m.Text)
		if err != nil {
			w.log.WarnContext(ctx, "mail html failed; sending text only", "to", m.To, "err", err)
		}
		m.HTML = html
	}
	return w.next.Send(ctx, m)
}

//go:embed mail.html
var layout string

// page is the layout: inline CSS only (mail clients drop style sheets),
// tables for structure, at most 600px wide and fluid below that.
var page = template.Must(template.New("mail").Parse(layout))

// Render returns the HTML version of a plain-text mail: a "Credence"
// header, subject as heading, body (paragraphs, links, button, code) and a
// "Sent by Credence" footer.
func Render(subject, text string) (string, error) {
	var b strings.Builder
	v := view{Subject: strings.ToValidUTF8(subject, "\uFFFD"), Blocks: parse(text)}
	if err := page.Execute(&b, v); err != nil {
		return "", fmt.Errorf("render mail html: %w", err)
	}
	return b.String(), nil
}

type view struct {
	Subject string
	Blocks  []block
}

// block is one paragraph (Lines), code (Code), button (Button) or image
// (Image, its URL).
type block struct {
	Lines  [][]span
	Code   []string
	Button *button
	Image  string
}

// imagePrefix starts the line of a mail that shows an image.
const imagePrefix = "Badge image: "

// span is a run of text, a link when URL is set.
type span struct{ Text, URL string }

type button struct{ URL, Label string }

// parse splits text into blocks.
func parse(text string) []block {
	text = strings.ToValidUTF8(strings.ReplaceAll(text, "\r\n", "\n"), "\uFFFD")
	var (
		out      []block
		para     [][]span
		code     []string
		lead     string // the last text line, which may introduce a link
		buttoned bool   // the mail has its button
	)
	flush := func() {
		if len(para) > 0 {
			out = append(out, block{Lines: para})
		}
		if len(code) > 0 {
			out = append(out, block{Code: code})
		}
		para, code = nil, nil
	}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRightFunc(line, unicode.IsSpace)
		trimmed := strings.TrimSpace(line)
		switch {
		case line == "":
			flush()
		case strings.HasPrefix(line, "    ") || strings.HasPrefix(line, "\t"):
			if len(para) > 0 {
				flush()
			}
			code = append(code, trimmed)
		case strings.HasPrefix(trimmed, imagePrefix) && onlyURL(strings.TrimPrefix(trimmed, imagePrefix)):
			flush()
			out = append(out, block{Image: strings.TrimPrefix(trimmed, imagePrefix)})
		case !buttoned && onlyURL(trimmed):
			flush()
			out = append(out, block{Button: &button{URL: trimmed, Label: label(lead)}})
			buttoned = true
		default:
			if len(code) > 0 {
				flush()
			}
			para = append(para, spans(trimmed))
			lead = trimmed
		}
	}
	flush()
	return out
}

// urlRE finds URL candidates; link trims and checks them.
var urlRE = regexp.MustCompile(`https?://[^\s<>"]+`)

// link returns the URL that s starts with, without the punctuation that
// ends the sentence around it, and whether it is an http(s) URL with a host.
func link(s string) (string, bool) {
	for s != "" {
		r, size := utf8.DecodeLastRuneInString(s)
		if strings.ContainsRune(".,;:!?'", r) ||
			r == ')' && strings.Count(s, "(") < strings.Count(s, ")") ||
			r == ']' && strings.Count(s, "[") < strings.Count(s, "]") {
			s = s[:len(s)-size]
			continue
		}
		break
	}
	u, err := url.Parse(s)
	return s, err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
}

// onlyURL reports whether line is one URL and nothing else.
func onlyURL(line string) bool {
	u, ok := link(urlRE.FindString(line))
	return ok && u == line
}

// spans cuts a line into text and links.
func spans(line string) []span {
	var out []span
	text := func(s string) {
		if n := len(out); n > 0 && out[n-1].URL == "" {
			out[n-1].Text += s
		} else if s != "" {
			out = append(out, span{Text: s})
		}
	}
	for line != "" {
		loc := urlRE.FindStringIndex(line)
		if loc == nil {
			text(line)
			break
		}
		text(line[:loc[0]])
		u, ok := link(line[loc[0]:loc[1]])
		if !ok {
			text(line[loc[0]:loc[1]])
			line = line[loc[1]:]
			continue
		}
		out = append(out, span{Text: u, URL: u})
		line = line[loc[0]+len(u):]
	}
	return out
}

// label names the button after the line leading to its link when that
// line asks for it in a few words ("View and verify it here:" gives "View
// and verify it", "Confirm your email address to finish …:" gives "Confirm
// your email address"); otherwise the button says "Open link".
func label(lead string) string {
	const fallback = "Open link"
	s, ok := strings.CutSuffix(lead, ":")
	if !ok {
		return fallback
	}
	if i := strings.LastIndex(s, ". "); i >= 0 {
		s = s[i+2:] // the last sentence
	}
	if i := strings.Index(s, " to "); i > 0 {
		s = s[:i] // without its purpose
	}
	s = strings.TrimSuffix(strings.TrimSpace(s), " here")
	first, _ := utf8.DecodeRuneInString(s)
	if n := len(strings.Fields(s)); n == 0 || n > 5 || !unicode.IsUpper(first) || strings.ContainsAny(s, ",;()\"") {
		return fallback
	}
	return s
}
