package httpapi

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/credence-dev/credence/core/baking"
	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
)

// The credential pages: /verify looks a credential up (by ID, pasted
// signed file or uploaded file), /verify/{credentialId} is a credential's
// page (what it is, whether it holds, and how to share it; also served at
// /credentials/{credentialId} to browsers), /verify/{credentialId}/card
// the small card other sites embed. They show the same verification as
// the API.

// credentialCSP is webCSP with the page's one script (copy.js, the copy
// buttons) allowed.
const credentialCSP = webCSP + "; script-src 'self'"

// cardCSP lets any site frame the embeddable card, and nothing else: the
// card has no form and no script, and links open outside the frame.
const cardCSP = "default-src 'none'; style-src 'self'; img-src 'self' https: data:; form-action 'none'; frame-ancestors *; base-uri 'none'"

// maxPresentedFile bounds an uploaded or pasted credential file: the
// largest baked PNG Credence reads, as POST /api/v1/verify does (a
// badge's baked PNG may be larger than the uploaded image it was made
// from: a JPEG is baked as a PNG). The edge bounds the form at
// maxVerifyBody (pageBodyLimits).
const maxPresentedFile = baking.MaxPNGSize

// pageBodyLimits are the bounds of the pages' forms that take more than
// defaultMaxBody.
var pageBodyLimits = bodyLimits{"POST /verify": maxVerifyBody}

// lookupData is what the look-up page (web/pages/verify.html) shows.
type lookupData struct {
	Error string
	ID    string
}

func (s *server) registerVerifyPages(mux *http.ServeMux) {
	mux.HandleFunc("GET /verify", func(w http.ResponseWriter, r *http.Request) {
		if id := strings.ToUpper(strings.TrimSpace(r.URL.Query().Get("id"))); id != "" {
			http.Redirect(w, r, "/verify/"+id, http.StatusSeeOther)
			return
		}
		s.renderLookup(w, r, http.StatusOK, lookupData{})
	})
	mux.HandleFunc("POST /verify", s.verifyPresentedPage)
	mux.HandleFunc("GET /verify/{credentialId}", func(w http.ResponseWriter, r *http.Request) {
		s.credentialPage(w, r, r.PathValue("credentialId"))
	})
	mux.HandleFunc("GET /verify/{credentialId}/card", s.credentialCard)
}

func (s *server) renderLookup(w http.ResponseWriter, r *http.Request, status int, d lookupData) {
	title := "Verify a credential"
	if status == http.StatusNotFound {
		title = "Credential not found"
	}
	s.renderWeb(w, r, status, "verify", webView{Title: title,
		Description: "Check a credential issued with Credence: by its ID, or from its signed file.", Data: d})
}

// verifyPresentedPage checks a credential file posted by the look-up
// page: the pasted contents of a .jwt file (credential), or an uploaded
// file (file: a .jwt, or a baked PNG that carries one).
func (s *server) verifyPresentedPage(w http.ResponseWriter, r *http.Request) {
	file, status, msg := presentedFile(r)
	if msg != "" {
		s.renderLookup(w, r, status, lookupData{Error: msg})
		return
	}
	v, err := s.Credentials.VerifyPresented(r.Context(), file)
	if err != nil {
		p := s.problemOf(r.Context(), err)
		msg := "That is not a signed credential file: paste the whole contents of the .jwt file, or upload the .jwt file or the badge's baked PNG."
		if p.Status == http.StatusServiceUnavailable {
			msg = unavailablePage
		} else if p.Status >= 500 {
			msg = "The file could not be checked: try again later."
		}
		s.renderLookup(w, r, p.Status, lookupData{Error: msg})
		return
	}
	s.renderCredential(w, r, v, true)
}

// presentedFile reads the credential file of a look-up form, url-encoded
// (credential) or multipart (file, or credential). A refusal comes back
// as a status and a message for the page.
func presentedFile(r *http.Request) ([]byte, int, string) {
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	tooLarge := func(err error) bool { _, ok := errors.AsType[*http.MaxBytesError](err); return ok }
	var data []byte
	switch mediaType {
	case "multipart/form-data":
		if err := r.ParseMultipartForm(maxPresentedFile); err != nil {
			if tooLarge(err) {
				return nil, http.StatusRequestEntityTooLarge, "The file is too large: a credential file is at most 4 MiB."
			}
			return nil, http.StatusBadRequest, "The form could not be read: choose the file again and resend it."
		}
		if f, _, err := r.FormFile("file"); err == nil {
			defer func() { _ = f.Close() }()
			b, err := io.ReadAll(io.LimitReader(f, maxPresentedFile+1))
			switch {
			case err != nil:
				return nil, http.StatusBadRequest, "The file could not be read: choose it again and resend it."
			case len(b) > maxPresentedFile:
				return nil, http.StatusRequestEntityTooLarge, "The file is too large: a credential file is at most 4 MiB."
			}
			data = b
		}
		if len(data) == 0 {
			data = []byte(r.FormValue("credential"))
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			if tooLarge(err) {
				return nil, http.StatusRequestEntityTooLarge, "The text is too large: a credential file is at most 4 MiB."
			}
			return nil, http.StatusBadRequest, "The form could not be read: paste the file's contents again."
		}
		data = []byte(r.PostFormValue("credential"))
	default:
		return nil, http.StatusUnsupportedMediaType, "Send the look-up form: paste the signed file's contents, or upload the file."
	}
	// A pasted or saved .jwt often ends with a line break that is not
	// part of what was signed; a PNG's bytes are kept as they are.
	if !bytes.HasPrefix(data, []byte("\x89PNG")) {
		data = bytes.TrimSpace(data)
	}
	if len(data) == 0 {
		return nil, http.StatusUnprocessableEntity, "Paste the contents of a .jwt file, or choose a .jwt file or a baked badge PNG to upload."
	}
	return data, 0, ""
}

// credentialPage answers a credential's page by its ID: the page, or a
// page saying why there is none (private, unknown, unavailable).
func (s *server) credentialPage(w http.ResponseWriter, r *http.Request, id string) {
	actor, err := pageActor(r.Context())
	var v credentials.Verification
	if err == nil {
		v, err = s.Credentials.Verify(r.Context(), actor, domain.CredentialID(id))
	}
	if err != nil {
		s.credentialPageError(w, r, id, err)
		return
	}
	s.renderCredential(w, r, v, false)
}

// privateData is what the page of a private credential shows to a
// visitor who may not see it.
type privateData struct {
	SignIn string // the sign-in page, returning here
}

func (s *server) credentialPageError(w http.ResponseWriter, r *http.Request, id string, err error) {
	if errors.Is(err, domain.ErrCredentialPrivate) {
		s.renderWeb(w, r, http.StatusForbidden, "credential-private", webView{Title: "Private credential",
			Data: privateData{SignIn: "/signin?next=/verify/" + id}})
		return
	}
	p := s.problemOf(r.Context(), err)
	d := lookupData{Error: p.Detail, ID: id}
	switch {
	case p.Status == http.StatusNotFound:
		d.Error = "No credential has the ID " + id + ". Check it: IDs look like CRD-ZBUYQMTA."
	case p.Status == http.StatusServiceUnavailable:
		d.Error = unavailablePage
	case p.Status >= 500:
		d.Error = "The credential could not be checked: try again later."
	}
	s.renderLookup(w, r, p.Status, d)
}

// renderCredential answers the page of a verification: by ID, or of a
// presented file.
func (s *server) renderCredential(w http.ResponseWriter, r *http.Request, v credentials.Verification, presented bool) {
	build := func() webView {
		d := s.credentialView(v, presented)
		return webView{Title: d.Title, Description: d.Summary, CSP: credentialCSP, Data: d}
	}
	if presented || v.Credential == nil {
		// The page of an uploaded file is not kept: anyone may upload
		// any number of files, and push the credentials' pages out.
		s.renderWeb(w, r, http.StatusOK, "credential", build())
		return
	}
	s.renderCachedBy(w, r, http.StatusOK, "credential", credentialCSP, storedVerification(v), build)
}

// storedVerification is what the page of a stored credential's
// verification is built from: the verdict, the checks and the record,
// with its organization and badge, as read for this request. The signed
// document is left out: it is the stored JWS's payload, part of the
// record. The rest of the page comes from the server's configuration
// (its URLs, the plans), which does not change while it runs.
func storedVerification(v credentials.Verification) any {
	return struct {
		Result     domain.VerifyResult
		Checks     []domain.Check
		Credential domain.Credential
		Badge      domain.Badge
		Org        domain.Organization
	}{v.Result, v.Checks, *v.Credential, v.Badge, v.Org}
}

// credentialCard answers the card other sites frame: the badge, its
// recipient and issuer, and whether it holds, linking to the full page.
// It alone may be framed, by anyone (frame-ancestors *, no
// X-Frame-Options).
func (s *server) credentialCard(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("credentialId")
	w.Header().Del("X-Frame-Options")
	v, err := s.Credentials.Verify(r.Context(), actorFrom(r.Context()), domain.CredentialID(id))
	if err != nil {
		p := s.problemOf(r.Context(), err)
		msg := "No credential has this ID."
		switch {
		case errors.Is(err, domain.ErrCredentialPrivate):
			msg = "This credential is private."
		case p.Status == http.StatusServiceUnavailable:
			msg = unavailablePage
		case p.Status != http.StatusNotFound:
			msg = "The credential could not be checked."
		}
		s.renderWeb(w, r, p.Status, "credential-card", webView{Title: "Credential", CSP: cardCSP, Data: cardData{Message: msg}})
		return
	}
	d := s.credentialView(v, false)
	s.renderCachedWeb(w, r, http.StatusOK, "credential-card", webView{Title: d.Title, CSP: cardCSP, Data: cardData{Page: d}})
}

// cardData is what the embeddable card shows: a credential, or why not.
type cardData struct {
	Page    *credentialData
	Message string
}
