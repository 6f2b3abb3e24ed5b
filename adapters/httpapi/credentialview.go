package httpapi

import (
	"html"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
)

// credentialData is what a credential's page (web/pages/credential.html)
// and card show, worked out here so that the templates only lay it out.
type credentialData struct {
	Title   string // the badge's name, marked when TEST
	Summary string // one sentence: to whom, by whom, and whether it holds
	// Presented: the page of a presented file rather than of an ID.
	Presented bool
	Result    string // valid, pending, invalid, revoked, suspended, expired, unknown
	Banner    banner
	Test      bool
	// C is the credential as the public API shows it (email masked); nil
	// for a file that names no credential of an issuer here.
	C           *publicCredential
	ImageURL    string // the badge image, absolute
	IssuerPath  string // the issuer's page
	BadgePath   string // the badge's page
	Checks      []pageCheck
	Differences []pageDifference
	Share       *shareData // nil for a presented file
}

// banner is the status banner at the top of the page.
type banner struct {
	Class string // valid, pending, expired, revoked, suspended, unknown, invalid
	Label string
	Text  string
}

// pageCheck is one of the five checks, in plain words: a title saying
// what passed or failed, a sentence for a person, and the check's own
// detail (key IDs, dates) for whoever wants it.
type pageCheck struct {
	Name   string
	OK     bool
	Title  string
	Plain  string
	Detail string
}

// pageDifference is one field a tampered record no longer matches.
type pageDifference struct {
	Label  string
	Field  string
	Signed string
	Record string
}

// shareData are the actions of a credential's page.
type shareData struct {
	PageURL  string // the /verify page, absolute
	JWT      string
	JSON     string
	PNG      string
	LinkedIn string // "" when the credential is not one to show off
	// EmbedHTML and EmbedFrame are snippets for other sites: a linked
	// image, and the framed card.
	EmbedHTML  string
	EmbedFrame string
	QRSVG      string // "" when the issuer's plan has no QR codes
	QRPNG      string
}

// credentialView works a verification out into what its page shows.
func (s *server) credentialView(v credentials.Verification, presented bool) *credentialData {
	d := &credentialData{Presented: presented, Result: string(v.Result), Title: "Signed credential"}
	for _, c := range v.Checks {
		d.Checks = append(d.Checks, plainCheck(c))
	}
	if v.Credential == nil {
		d.Banner = banner{Class: "invalid", Label: "Not verified", Text: "This file is not a credential issued here, or its signature does not check out. Do not rely on it."}
		d.Summary = "A signed credential file that could not be verified."
		return d
	}
	c := s.publicCredential(*v.Credential, v.Badge, v.Org)
	d.C, d.Test = c, c.Test
	d.Title = c.Badge.Name
	if c.Test {
		d.Title = credentials.TestNamePrefix + d.Title
	}
	d.ImageURL = s.absoluteURL(c.Badge.ImageURL)
	d.IssuerPath = "/issuers/" + c.Issuer.Slug
	d.BadgePath = "/achievements/" + c.Issuer.Slug + "/" + v.Badge.Slug
	d.Banner = statusBanner(v.Result, c)
	d.Summary = c.Badge.Name + ", awarded to " + c.Recipient.Name + " by " + c.Issuer.Name + " on " + humanDate(c.IssuedAt) + ". " + d.Banner.Label + "."
	for _, diff := range s.Credentials.Differences(v) {
		d.Differences = append(d.Differences, pageDifference{Label: fieldLabel(diff.Field), Field: diff.Field,
			Signed: orNone(diff.Signed), Record: orNone(diff.Record)})
	}
	if len(d.Differences) > 0 && v.Result == domain.ResultInvalid {
		d.Banner.Text = "The issuer's record was changed after it was signed (see what was signed below). Rely only on the signed values."
	}
	if presented {
		return d
	}
	id := c.ID
	sh := &shareData{PageURL: c.VerificationURL, JWT: "/credentials/" + id + ".jwt", JSON: "/credentials/" + id + ".json",
		PNG: "/credentials/" + id + ".png"}
	// Only a credential that holds is offered for showing off; a test
	// credential proves nothing.
	if (v.Result == domain.ResultValid || v.Result == domain.ResultPending) && !c.Test {
		sh.LinkedIn = linkedInURL(c)
		sh.EmbedHTML = `<a href="` + html.EscapeString(c.VerificationURL) + `"><img src="` + html.EscapeString(d.ImageURL) +
			`" alt="` + html.EscapeString(c.Badge.Name+", issued by "+c.Issuer.Name) + `" width="120"></a>`
		sh.EmbedFrame = `<iframe src="` + html.EscapeString(c.VerificationURL+"/card") + `" title="` +
			html.EscapeString(c.Badge.Name+": verified credential") + `" width="360" height="190" style="border:0" loading="lazy"></iframe>`
	}
	if s.Credentials.QRCodes(v.Org) {
		sh.QRSVG, sh.QRPNG = "/credentials/"+id+"/qr.svg", "/credentials/"+id+"/qr.png"
	}
	d.Share = sh
	return d
}

// statusBanner says in a few words whether the credential holds.
func statusBanner(result domain.VerifyResult, c *publicCredential) banner {
	switch result {
	case domain.ResultValid:
		return banner{Class: "valid", Label: "Valid", Text: "Genuine and current: issued by " + c.Issuer.Name + " and claimed by its recipient."}
	case domain.ResultPending:
		return banner{Class: "pending", Label: "Pending", Text: "Genuine and current: issued by " + c.Issuer.Name + ", not yet claimed by its recipient."}
	case domain.ResultExpired:
		text := "This credential has expired."
		if c.ExpiresAt != nil {
			text = "This credential expired on " + humanDate(*c.ExpiresAt) + "."
		}
		return banner{Class: "expired", Label: "Expired", Text: text}
	case domain.ResultRevoked:
		text := c.Issuer.Name + " revoked this credential"
		if c.RevokedAt != nil {
			text += " on " + humanDate(*c.RevokedAt)
		}
		if c.RevocationReason != "" {
			text += ". Reason: " + c.RevocationReason
		}
		return banner{Class: "revoked", Label: "Revoked", Text: text + "."}
	case domain.ResultSuspended:
		text := c.Issuer.Name + " suspended this credential"
		if c.SuspendedAt != nil {
			text += " on " + humanDate(*c.SuspendedAt)
		}
		if c.SuspensionReason != "" {
			text += ". Reason: " + c.SuspensionReason
		}
		return banner{Class: "suspended", Label: "Suspended", Text: text + ". A suspension can be lifted: do not rely on it until then."}
	case domain.ResultUnknown:
		return banner{Class: "unknown", Label: "Status unknown", Text: "Genuine, but whether " + c.Issuer.Name +
			" revoked or suspended it could not be read from its published status list. Check again later before relying on it."}
	default:
		return banner{Class: "invalid", Label: "Not valid", Text: "A check below failed: the credential may have been altered, or its signature does not check out. Do not rely on it."}
	}
}

// checkWords are a check's title and sentence for a person, when it
// passed and when it failed.
var checkWords = map[domain.CheckName][4]string{
	domain.CheckSignature: {"Signed by the issuer", "The signature checks out with a key the issuer publishes.",
		"Signature not valid", "The signature does not check out with the issuer's published keys: it was not signed by this issuer, or it was changed after signing."},
	domain.CheckIntegrity: {"Unchanged since signing", "The issuer's record says exactly what was signed.",
		"Record differs from what was signed", "The issuer's record no longer says what the issuer signed."},
	domain.CheckExpiry:     {"Not expired", "It is within its period of validity.", "Expired", "It is past its expiry date."},
	domain.CheckRevocation: {"Not revoked or suspended", "The issuer has not withdrawn it, here or in its published status list.", "Revoked", "The issuer has withdrawn it."},
	domain.CheckIssuer: {"Issuer approved", "The issuer was reviewed and approved on this platform.",
		"Issuer not approved", "The issuer is not approved on this platform."},
}

// plainCheck words a check for a person.
func plainCheck(c domain.Check) pageCheck {
	p := pageCheck{Name: string(c.Name), OK: c.OK, Detail: c.Detail, Title: string(c.Name)}
	if w, ok := checkWords[c.Name]; ok {
		p.Title, p.Plain = w[0], w[1]
		if !c.OK {
			p.Title, p.Plain = w[2], w[3]
		}
	}
	if !c.OK && c.Name == domain.CheckRevocation && c.Outcome == domain.ResultSuspended {
		p.Title, p.Plain = "Suspended", "The issuer has suspended it, for now."
	}
	if !c.OK && (strings.HasPrefix(c.Detail, "unknown") || strings.HasPrefix(c.Detail, "not checked")) {
		p.Title, p.Plain = "Not checked: "+string(c.Name), "It could not be checked."
	}
	return p
}

// fieldLabel names a document field for a person.
func fieldLabel(field string) string {
	if l, ok := map[string]string{
		"id": "Credential ID", "type": "Type", "issuer.id": "Issuer", "validFrom": "Issued", "validUntil": "Expires",
		"name": "Credential name", "credentialSubject.name": "Recipient name", "credentialSubject.identifier": "Recipient email (hashed)",
		"achievement.id": "Badge", "achievement.name": "Badge name", "achievement.description": "Description",
		"achievement.criteria": "Criteria", "achievement.image": "Badge image", "achievement.tag": "Tags",
	}[field]; ok {
		return l
	}
	return field
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func humanDate(t time.Time) string { return t.UTC().Format("2 January 2006") }

// linkedInURL is LinkedIn's add-to-profile link for a certification, its
// form filled in: name, issuing organization (by name: Credence knows no
// LinkedIn organization ID), issue and expiry month and year, and the
// credential's URL and ID.
func linkedInURL(c *publicCredential) string {
	q := url.Values{}
	q.Set("startTask", "CERTIFICATION_NAME")
	q.Set("name", c.Badge.Name)
	q.Set("organizationName", c.Issuer.Name)
	issued := c.IssuedAt.UTC()
	q.Set("issueYear", strconv.Itoa(issued.Year()))
	q.Set("issueMonth", strconv.Itoa(int(issued.Month())))
	if c.ExpiresAt != nil {
		expires := c.ExpiresAt.UTC()
		q.Set("expirationYear", strconv.Itoa(expires.Year()))
		q.Set("expirationMonth", strconv.Itoa(int(expires.Month())))
	}
	q.Set("certUrl", c.VerificationURL)
	q.Set("certId", c.ID)
	return "https://www.linkedin.com/profile/add?" + q.Encode()
}

// absoluteURL makes a path on this server (an uploaded image) absolute;
// other URLs are kept. Link previews need absolute image URLs.
func (s *server) absoluteURL(u string) string {
	if !strings.HasPrefix(u, "/") || strings.HasPrefix(u, "//") {
		return u
	}
	base := *s.Credentials.URLs().Base
	base.Path = strings.TrimRight(base.Path, "/") + u
	base.RawPath = ""
	return base.String()
}
