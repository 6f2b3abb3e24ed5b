package mailhtml

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/credence-dev/credence/ports"
)

// doc is a rendered mail as a reader sees it.
type doc struct {
	raw   string
	title string
	h1    string
	text  string   // all text, whitespace collapsed, a line break as a space
	paras []string // text of each p
	links []anchor
	codes []string
	tags  map[string]bool
	attrs map[string]bool
}

type anchor struct{ href, text, style string }

// voidRE finds the void elements the layout uses, to close them for XML.
var voidRE = regexp.MustCompile(`<(br|meta)\b([^>]*)>`)

// inspect renders subject and text and reads the result with a strict
// XML decoder (void elements closed first): a tag left open, a bad
// attribute or a stray '<' or '&' fails the test.
func inspect(t *testing.T, subject, text string) doc {
	t.Helper()
	raw, err := Render(subject, text)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	d := doc{raw: raw, tags: map[string]bool{}, attrs: map[string]bool{}}
	dec := xml.NewDecoder(strings.NewReader(voidRE.ReplaceAllString(raw, "<$1$2/>")))
	dec.Entity = xml.HTMLEntity
	type open struct {
		el   xml.StartElement
		text *strings.Builder // set on the elements whose text is collected
	}
	var (
		stack []open
		all   strings.Builder
	)
	// write adds s to the text of the whole mail and of every open
	// collected element.
	write := func(s string) {
		all.WriteString(s)
		for _, o := range stack {
			if o.text != nil {
				o.text.WriteString(s)
			}
		}
	}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("rendered HTML does not parse: %v\n%s", err, raw)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			name := tok.Name.Local
			d.tags[name] = true
			for _, a := range tok.Attr {
				d.attrs[a.Name.Local] = true
			}
			if !slices.Contains(inline, name) {
				write(" ") // a block or a line break ends a line
			}
			o := open{el: tok.Copy()}
			if slices.Contains([]string{"title", "h1", "p", "a", "code"}, name) {
				o.text = new(strings.Builder)
			}
			stack = append(stack, o)
		case xml.EndElement:
			o := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if !slices.Contains(inline, o.el.Name.Local) {
				write(" ")
			}
			if o.text == nil {
				continue
			}
			s := strings.Join(strings.Fields(o.text.String()), " ")
			switch o.el.Name.Local {
			case "title":
				d.title = s
			case "h1":
				d.h1 = s
			case "p":
				d.paras = append(d.paras, s)
			case "a":
				d.links = append(d.links, anchor{href: attr(o.el, "href"), text: s, style: attr(o.el, "style")})
			case "code":
				d.codes = append(d.codes, s)
			}
		case xml.CharData:
			write(string(tok))
		}
	}
	if len(stack) != 0 {
		t.Fatalf("elements left open: %v", stack)
	}
	d.text = strings.Join(strings.Fields(all.String()), " ")
	return d
}

// inline lists the elements that do not break a line of text.
var inline = []string{"a", "code"}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// button returns the call-to-action link, if any.
func (d doc) button() (anchor, bool) {
	for _, a := range d.links {
		if strings.Contains(a.style, "background") || strings.Contains(a.style, "display:inline-block") {
			return a, true
		}
	}
	return anchor{}, false
}

func (d doc) hrefs() []string {
	var out []string
	for _, a := range d.links {
		out = append(out, a.href)
	}
	return out
}

// Only these elements and attributes may appear: the layout's own.
var (
	allowedTags  = []string{"html", "head", "meta", "title", "body", "table", "tr", "td", "h1", "p", "a", "br", "code"}
	allowedAttrs = []string{"lang", "charset", "name", "content", "style", "role", "width", "cellpadding", "cellspacing", "border", "align", "href"}
)

func checkOnlyLayoutMarkup(t *testing.T, d doc) {
	t.Helper()
	for tag := range d.tags {
		if !slices.Contains(allowedTags, tag) {
			t.Errorf("element <%s> in the HTML:\n%s", tag, d.raw)
		}
	}
	for a := range d.attrs {
		if !slices.Contains(allowedAttrs, a) {
			t.Errorf("attribute %s in the HTML:\n%s", a, d.raw)
		}
	}
}

func TestLayout(t *testing.T) {
	d := inspect(t, "Your role in Acme is now admin", "Hello Ann,\n\nYour role in Acme on Credence is now admin.\n")
	if d.title != "Your role in Acme is now admin" || d.h1 != d.title {
		t.Errorf("title %q, h1 %q: want the subject in both", d.title, d.h1)
	}
	for _, want := range []string{"Credence Your role in Acme", "Sent by Credence"} {
		if !strings.Contains(d.text, want) {
			t.Errorf("text lacks %q: %s", want, d.text)
		}
	}
	for _, want := range []string{`<!DOCTYPE html>`, `<html lang="en">`, `<meta charset="utf-8">`, `name="viewport"`, `role="presentation"`, `max-width:600px`} {
		if !strings.Contains(d.raw, want) {
			t.Errorf("HTML lacks %s", want)
		}
	}
	for _, banned := range []string{"<style", "class=", "<link", "<img"} {
		if strings.Contains(d.raw, banned) {
			t.Errorf("HTML has %s: mail clients want inline CSS only", banned)
		}
	}
	checkOnlyLayoutMarkup(t, d)
	if !slices.Equal(d.paras, []string{"Hello Ann,", "Your role in Acme on Credence is now admin."}) {
		t.Errorf("paragraphs %q", d.paras)
	}
}

func TestEscapesEverything(t *testing.T) {
	const (
		subject = `<script>alert("s")</script> & 'quotes'`
		name    = `Eve "<script>alert('x')</script>" O'Brien & <b>Co</b> <img src=x onerror=alert(1)>`
	)
	text := "Hello " + name + ",\n\n" +
		"Bad links: javascript:alert(1) and https://x.example/?q=\"><script>alert(2)</script>\n" +
		"https://x.example/a'onmouseover='alert(3)\n\n" +
		"    <script>alert(4)</script>\n"
	d := inspect(t, subject, text)
	checkOnlyLayoutMarkup(t, d)
	if strings.Contains(strings.ToLower(d.raw), "<script") || strings.Contains(d.raw, "<b>") {
		t.Errorf("markup from the text reached the HTML:\n%s", d.raw)
	}
	if d.title != subject || d.h1 != subject {
		t.Errorf("title %q h1 %q, want %q", d.title, d.h1, subject)
	}
	for _, want := range []string{"Hello " + name + ",", "javascript:alert(1)", `"><script>alert(2)</script>`} {
		if !strings.Contains(d.text, want) {
			t.Errorf("text lacks %q (escaped, not dropped): %s", want, d.text)
		}
	}
	if !slices.Equal(d.codes, []string{"<script>alert(4)</script>"}) {
		t.Errorf("codes %q", d.codes)
	}
	for _, h := range d.hrefs() {
		if !strings.HasPrefix(h, "https://x.example/") || strings.ContainsAny(h, `"<> `) {
			t.Errorf("href %q", h)
		}
	}
	if want := []string{"https://x.example/?q=", "https://x.example/a%27onmouseover=%27alert%283%29", "https://x.example/a%27onmouseover=%27alert%283%29"}; !slices.Equal(d.hrefs(), want) {
		t.Errorf("hrefs %q, want %q", d.hrefs(), want)
	}
}

func TestLinks(t *testing.T) {
	for _, tc := range []struct {
		line  string
		hrefs []string
		text  string
	}{
		{"See https://c.example/docs.", []string{"https://c.example/docs"}, "See https://c.example/docs."},
		{"Two: http://a.example/x, and (https://b.example/y)!", []string{"http://a.example/x", "https://b.example/y"}, "Two: http://a.example/x, and (https://b.example/y)!"},
		{"Wiki https://w.example/Go_(lang): ok", []string{"https://w.example/Go_%28lang%29"}, "Wiki https://w.example/Go_(lang): ok"},
		{"Query https://c.example/s?a=1&b=2 here", []string{"https://c.example/s?a=1&b=2"}, "Query https://c.example/s?a=1&b=2 here"},
		{"Not links: ftp://f.example mailto:a@b.example https:// http://user@h.example/", nil, "Not links: ftp://f.example mailto:a@b.example https:// http://user@h.example/"},
		{"GET /api/v1/me", nil, "GET /api/v1/me"},
	} {
		d := inspect(t, "Links", "Intro.\n\n"+tc.line+"\n")
		if !slices.Equal(d.hrefs(), tc.hrefs) {
			t.Errorf("%q: hrefs %q, want %q", tc.line, d.hrefs(), tc.hrefs)
		}
		if _, ok := d.button(); ok {
			t.Errorf("%q: a link inside a sentence became a button", tc.line)
		}
		if !slices.Contains(d.paras, tc.text) {
			t.Errorf("%q: paragraphs %q", tc.line, d.paras)
		}
	}
}

func TestButton(t *testing.T) {
	text := "Read https://c.example/first first.\n\nView and verify it here:\nhttps://c.example/verify/CRD-ABCD1234\n\nAlso:\nhttps://c.example/second\n"
	d := inspect(t, "Button", text)
	b, ok := d.button()
	if !ok || b.href != "https://c.example/verify/CRD-ABCD1234" || b.text != "View and verify it" {
		t.Fatalf("button %+v (%v), want the first link alone on its line, labelled by its lead", b, ok)
	}
	want := []string{"https://c.example/first", "https://c.example/verify/CRD-ABCD1234", "https://c.example/verify/CRD-ABCD1234", "https://c.example/second"}
	if !slices.Equal(d.hrefs(), want) {
		t.Errorf("hrefs %q, want %q (button, its fallback link, then the rest inline)", d.hrefs(), want)
	}
	if !strings.Contains(d.text, "Or open this link: https://c.example/verify/CRD-ABCD1234") {
		t.Errorf("no visible fallback link: %s", d.text)
	}
	if !slices.Contains(d.paras, "Also: https://c.example/second") {
		t.Errorf("a second lone link is not inline: %q", d.paras)
	}
}

func TestButtonLabel(t *testing.T) {
	for lead, want := range map[string]string{
		"View and verify it here:": "View and verify it",
		"Confirm your email address to finish creating your Credence account:":            "Confirm your email address",
		"Someone asked to reset the password of your account. To choose a new one, open:": "Open link",
		"Your link:":                   "Your link",
		"Here it is":                   "Open link",
		"":                             "Open link",
		"a lower-case lead:":           "Open link",
		"One two three four five six:": "Open link",
		`Say "hi":`:                    "Open link",
	} {
		if got := label(lead); got != want {
			t.Errorf("label(%q) = %q, want %q", lead, got, want)
		}
	}
}

func TestCode(t *testing.T) {
	d := inspect(t, "Code", "Your code is:\n\n    123456\n\nIt works once.\n\tABC-DEF\n")
	if !slices.Equal(d.codes, []string{"123456", "ABC-DEF"}) {
		t.Fatalf("codes %q", d.codes)
	}
	if !regexp.MustCompile(`<code style="[^"]*monospace[^"]*font-size:28px[^"]*">123456</code>`).MatchString(d.raw) {
		t.Errorf("the code is not large and monospace:\n%s", d.raw)
	}
	if !slices.Equal(d.paras, []string{"Your code is:", "123456", "It works once.", "ABC-DEF"}) {
		t.Errorf("paragraphs %q: want each code in a paragraph of its own", d.paras)
	}
}

func TestParagraphs(t *testing.T) {
	d := inspect(t, "Paragraphs", "\r\nOne\r\n  Two  \r\n\n \t \n\nThree\n\n\n")
	if !slices.Equal(d.paras, []string{"One Two", "Three"}) {
		t.Errorf("paragraphs %q", d.paras)
	}
	if !strings.Contains(d.raw, "One<br>\nTwo</p>") {
		t.Errorf("line break not kept:\n%s", d.raw)
	}
	if d := inspect(t, "Empty", ""); len(d.paras) != 0 || d.h1 != "Empty" {
		t.Errorf("empty text: paragraphs %q, h1 %q", d.paras, d.h1)
	}
}

// productMail is a sample of a mail the product writes, as the format
// strings of core/accounts, core/orgs and core/credentials fill it in,
// with hostile values where users choose them.
type productMail struct {
	name, subject, text string
	button, code        string // the expected call to action and code, if any
}

func productMails() []productMail {
	const (
		user   = `Zoë "<script>alert(1)</script>" O'Neil & Co`
		org    = `Acme <b>Academy</b> & "Friends"`
		badge  = `Go <img src=x onerror=alert(1)> Expert`
		email  = "ann@example.com"
		base   = "https://credence.example"
		verify = base + "/verify/CRD-ABCD1234"
	)
	reason := "The website https://acme.example does not load.\nPlease add a description."
	return []productMail{
		{"signup_attempt", "Someone tried to sign up with your email",
			"Someone tried to create a Credence account with this address, which already has one.\n\nIf it was you, sign in instead. If you forgot your password, reset it from the sign-in page.\n", "", ""},
		{"verify_email", "Verify your email for Credence",
			"Hello " + user + ",\n\nConfirm your email address to finish creating your Credence account:\n\n" + base + "/verify-email?token=Abc_12-xyz\n\nThe link works once and expires in 24 hours.\nIf you did not sign up, ignore this email.\n",
			"Confirm your email address", ""},
		{"account_locked", "Your Credence account was locked",
			"Hello " + user + ",\n\nThere were 5 failed attempts to sign in to your Credence account, so sign-in is locked until 2030-01-02 15:04 (UTC).\n\nIf it was you, wait and try again, or reset your password from the sign-in page (that unlocks it).\nIf it was not you, your password held; consider resetting it anyway.\n", "", ""},
		{"password_reset", "Reset your Credence password",
			"Hello " + user + ",\n\nSomeone asked to reset the password of your Credence account. To choose a new one, open:\n\n" + base + "/reset-password?token=Abc_12-xyz\n\nThe link works once and expires in 1 hour. Setting a new password signs out every session.\nIf you did not ask, ignore this email: your password stays as it is.\n",
			"Open link", ""},
		{"password_changed", "Your Credence password was changed",
			"Hello " + user + ",\n\nThe password of your Credence account was just changed with a reset link, and every session was signed out.\nIf this was not you, reset your password again at once and check the email account itself.\n", "", ""},
		{"mfa_code", "Your Credence sign-in code",
			"Hello " + user + ",\n\nYour code to finish signing in to Credence is:\n\n    042917\n\nIt works once, for 10 minutes. If you did not just sign in, someone knows your password: reset it from the sign-in page.\n", "", "042917"},
		{"org_approved", org + " is approved on Credence",
			"Good news: " + org + " is approved. You can now issue credentials.\n", "", ""},
		{"org_rejected", org + " was not approved",
			org + " was not approved, for this reason:\n\n" + reason + "\n\nUpdate the organization's details and resubmit it for review.\n", "", ""},
		{"org_suspended", org + " is suspended",
			org + " is suspended and cannot issue credentials, for this reason:\n\n" + reason + "\n\nCredentials issued earlier stay verifiable.\n", "", ""},
		{"invitation", "You are invited to join " + org + " on Credence",
			"You are invited to join " + org + " on Credence as admin.\n\nSign in with this address (or sign up with it), then accept or decline the invitation: it is listed in your account (GET /api/v1/me), as invitation 0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b. It expires on 2030-01-09 15:04 (UTC).\n", "", ""},
		{"invitation_answered", email + " accepted your invitation to " + org,
			email + " accepted the invitation to join " + org + " as issuer.\n", "", ""},
		{"role_changed", "Your role in " + org + " is now owner",
			"Hello " + user + ",\n\nYour role in " + org + " on Credence is now owner.\n", "", ""},
		{"removed", "You were removed from " + org,
			"Hello " + user + ",\n\nYou are no longer a member of " + org + " on Credence.\n", "", ""},
		{"credential_issued", "You've earned a new credential: " + badge,
			"Hello " + user + ",\n\n" + org + " has issued you the credential \"" + badge + "\" (CRD-ABCD1234).\n\nView and verify it here:\n" + verify + "\n",
			"View and verify it", ""},
		{"credential_renewed", "Your " + badge + " credential has been renewed",
			"Hello " + user + ",\n\n" + org + " has renewed your credential \"" + badge + "\". The new credential is CRD-ABCD1234; the earlier one (CRD-WXYZ9876) is now superseded.\n\nView and verify it here:\n" + verify + "\n",
			"View and verify it", ""},
	}
}

// TestProductMails renders a sample of every mail the product writes: the
// HTML parses, carries only the layout's markup, says every line of the
// text, links every URL of it, and has the expected button and code.
func TestProductMails(t *testing.T) {
	for _, m := range productMails() {
		t.Run(m.name, func(t *testing.T) {
			d := inspect(t, m.subject, m.text)
			checkOnlyLayoutMarkup(t, d)
			if d.title != m.subject || d.h1 != m.subject {
				t.Errorf("title %q, h1 %q, want the subject %q", d.title, d.h1, m.subject)
			}
			for _, line := range strings.Split(m.text, "\n") {
				if line = strings.Join(strings.Fields(line), " "); !strings.Contains(d.text, line) {
					t.Errorf("the HTML does not say %q:\n%s", line, d.text)
				}
			}
			for _, u := range urlRE.FindAllString(m.text, -1) {
				if u, _ = link(u); !slices.Contains(d.hrefs(), u) {
					t.Errorf("%s is not linked: hrefs %q", u, d.hrefs())
				}
			}
			b, ok := d.button()
			if b.text != m.button || ok != (m.button != "") {
				t.Errorf("button %+v (%v), want %q", b, ok, m.button)
			}
			if want := []string{m.code}; m.code != "" && !slices.Equal(d.codes, want) || m.code == "" && len(d.codes) > 0 {
				t.Errorf("codes %q, want %q", d.codes, m.code)
			}
		})
	}
}

type captured struct{ got []ports.Message }

func (c *captured) Send(_ context.Context, m ports.Message) error {
	c.got = append(c.got, m)
	return nil
}

// The wrapping Mailer passes each message on with its HTML alternative,
// and leaves one that has its own alone.
func TestMailerAddsHTML(t *testing.T) {
	next := &captured{}
	m := Wrap(next, slog.New(slog.DiscardHandler))
	if err := m.Send(t.Context(), ports.Message{To: "a@example.com", Subject: "Hi", Text: "Open:\n\nhttps://credence.example/x\n"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Send(t.Context(), ports.Message{To: "b@example.com", Subject: "Hi", Text: "t", HTML: "<p>own</p>"}); err != nil {
		t.Fatal(err)
	}
	if len(next.got) != 2 || !strings.Contains(next.got[0].HTML, `href="https://credence.example/x"`) || next.got[0].Text == "" || next.got[1].HTML != "<p>own</p>" {
		t.Fatalf("passed on: %+v", next.got)
	}
}

// A "Badge image: <URL>" line shows the picture, and is no link or
// button; a line that only mentions one stays text.
func TestBadgeImage(t *testing.T) {
	text := "Hello Ada,\n\nBadge image: https://c.example/images/ab12.png\n\nView and verify it here:\nhttps://c.example/verify/CRD-ABCD1234\n\nBadge image: not a URL\n"
	d := inspect(t, "Image", text)
	if !regexp.MustCompile(`<img src="https://c.example/images/ab12.png" alt="Badge image"`).MatchString(d.raw) {
		t.Fatalf("no badge image: %s", d.raw)
	}
	if b, ok := d.button(); !ok || b.href != "https://c.example/verify/CRD-ABCD1234" {
		t.Errorf("button %+v: the image line took the call to action", b)
	}
	if slices.Contains(d.hrefs(), "https://c.example/images/ab12.png") {
		t.Errorf("the image URL became a link: %q", d.hrefs())
	}
	if !slices.Contains(d.paras, "Badge image: not a URL") {
		t.Errorf("paragraphs %q", d.paras)
	}
	// Markup in the URL cannot escape the attribute.
	raw, err := Render("s", "Badge image: https://c.example/a.png\"onerror=\"alert(1)\n")
	if err != nil || strings.Contains(raw, `onerror="alert`) {
		t.Fatalf("attribute injection: %v %s", err, raw)
	}
}
