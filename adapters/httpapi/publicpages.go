package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/credence-dev/credence/core/domain"
)

// The public resources that answer people and programs alike: a
// credential (/credentials/{id}), an issuer (/issuers/{slug}) and a badge
// (/achievements/{org}/{badge}) are HTML pages for a browser, whose
// Accept header names text/html, and the JSON(-LD) documents they always
// were for everyone else. Both answers say Vary: Accept, so that a cache
// keeps them apart.

// negotiated answers page when the request prefers HTML, else document.
func negotiated(page, document http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept")
		if prefersHTML(r.Header.Get("Accept")) {
			page(w, r)
			return
		}
		document(w, r)
	}
}

// credentialResource answers /credentials/{file}: CRD-… is the page or
// the signed credential as JSON, CRD-….json always the JSON as a download
// (the page's "download JSON" link: a browser following a link asks for
// HTML), anything else the documents of credentialDocument (.jwt …).
func (s *server) credentialResource(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	if id, ok := strings.CutSuffix(file, ".json"); ok && !strings.Contains(id, ".") {
		r.SetPathValue("file", id)
		s.credentialDocument(&downloadWriter{ResponseWriter: w, filename: id + ".json"}, r)
		return
	}
	if strings.Contains(file, ".") {
		s.credentialDocument(w, r)
		return
	}
	negotiated(func(w http.ResponseWriter, r *http.Request) { s.credentialPage(w, r, file) }, s.credentialDocument)(w, r)
}

// downloadWriter marks a successful answer as a file to save.
type downloadWriter struct {
	http.ResponseWriter
	filename string
	started  bool
}

func (d *downloadWriter) WriteHeader(status int) {
	if !d.started && status == http.StatusOK {
		d.Header().Set("Content-Disposition", `attachment; filename="`+d.filename+`"`)
	}
	d.started = true
	d.ResponseWriter.WriteHeader(status)
}

func (d *downloadWriter) Write(b []byte) (int, error) {
	if !d.started {
		d.WriteHeader(http.StatusOK)
	}
	return d.ResponseWriter.Write(b)
}

// issuerData is what an issuer's page (web/pages/issuer.html) shows.
type issuerData struct {
	Org    domain.Organization
	Notice string // why the issuer does not issue, when it does not
	Badges []badgeCard
	DID    string
}

// badgeCard is a badge as the issuer and badge pages show it.
type badgeCard struct {
	Name, Description, Criteria string
	ImageURL                    string
	Path                        string
	Tags                        []string
	Expiry                      string // how long its credentials hold
	Active                      bool
}

func (s *server) badgeCard(org domain.Organization, b domain.Badge) badgeCard {
	c := badgeCard{Name: b.Name, Description: b.Description, Criteria: b.Criteria, ImageURL: s.absoluteURL(b.ImageURL),
		Path: "/achievements/" + org.Slug + "/" + b.Slug, Tags: b.Tags, Active: b.Active,
		Expiry: "Its credentials do not expire."}
	if d := b.ExpiresInDays; d != nil {
		c.Expiry = "Its credentials hold for " + strconv.Itoa(*d) + " days from their issue."
		if *d == 1 {
			c.Expiry = "Its credentials hold for a day from their issue."
		}
	}
	return c
}

// issuerNotice says why an issuer's page should be read with care.
func issuerNotice(o domain.Organization) string {
	switch o.Status {
	case domain.OrgApproved:
		return ""
	case domain.OrgSuspended:
		return o.Name + " is suspended: it issues no new credentials. Those it issued before stay valid."
	default:
		return o.Name + " is not an approved issuer on Credence."
	}
}

func (s *server) issuerPage(w http.ResponseWriter, r *http.Request) {
	org, badges, err := s.Credentials.PublicIssuer(r.Context(), r.PathValue("slug"))
	if err != nil {
		s.publicPageError(w, r, "issuer", err)
		return
	}
	d := issuerData{Org: org, Notice: issuerNotice(org), DID: s.Credentials.URLs().DID(org.Slug)}
	for _, b := range badges {
		d.Badges = append(d.Badges, s.badgeCard(org, b))
	}
	desc := org.Description
	if desc == "" {
		desc = org.Name + " issues credentials with Credence."
	}
	s.renderWeb(w, r, http.StatusOK, "issuer", webView{Title: org.Name, Description: desc, Data: d})
}

// badgeData is what a badge's page (web/pages/badge.html) shows.
type badgeData struct {
	Org        domain.Organization
	Notice     string
	IssuerPath string
	Badge      badgeCard
	URL        string // the page's own URL, absolute
}

func (s *server) badgePage(w http.ResponseWriter, r *http.Request) {
	org, b, err := s.Credentials.PublicBadge(r.Context(), r.PathValue("org"), r.PathValue("badge"))
	if err != nil {
		s.publicPageError(w, r, "badge", err)
		return
	}
	d := badgeData{Org: org, Notice: issuerNotice(org), IssuerPath: "/issuers/" + org.Slug, Badge: s.badgeCard(org, b),
		URL: s.Credentials.URLs().Achievement(org.Slug, b.Slug)}
	desc := b.Description
	if desc == "" {
		desc = b.Name + ", a badge of " + org.Name + "."
	}
	s.renderWeb(w, r, http.StatusOK, "badge", webView{Title: b.Name + " · " + org.Name, Description: desc, Data: d})
}

// publicPageError answers an issuer or badge page that cannot be shown.
func (s *server) publicPageError(w http.ResponseWriter, r *http.Request, what string, err error) {
	p := s.problemOf(r.Context(), err)
	msg := "There is no such " + what + " on Credence. Check the address."
	title := "Not found"
	switch {
	case p.Status == http.StatusServiceUnavailable:
		title, msg = "Unavailable", unavailablePage
	case p.Status != http.StatusNotFound:
		title, msg = "Error", "The "+what+" could not be shown: try again later."
	}
	s.renderWeb(w, r, p.Status, "message", webView{Title: title, Data: messageView{Heading: title, Message: msg, Error: true,
		Link: "/verify", LinkText: "Verify a credential"}})
}
