package httpapi

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
	"github.com/credence-dev/credence/ports"
)

// The recipient's pages: "My credentials" (/me), every credential issued
// to the signed-in person's verified email, with a claim button for the
// pending ones (POST /me/claim, the claim-credential operation's rules)
// and "Download all" (/me/credentials.zip).
//
// Visibility (public or private) stays the issuer's choice at issuance:
// the design gives the recipient no say in it and the API has no
// operation for it, so the page shows it and offers no switch.

// myPageSize is how many credentials /me lists at a time.
const myPageSize = 50

// maxZipCredentials bounds the credentials one download holds.
const maxZipCredentials = 1000

// myCredential is one row of /me.
type myCredential struct {
	ID, Badge, Issuer, Status string
	IssuedAt                  time.Time
	ExpiresAt                 *time.Time
	Public, Claimable         bool
	VerifyURL                 string
}

// myView is the data of web/pages/me.html.
type myView struct {
	Email       string
	Credentials []myCredential
	Next        string // the cursor of the next page
	Message     string
	Error       bool
}

func (s *server) registerMyPages(mux *http.ServeMux) {
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		msg := ""
		if id := r.URL.Query().Get("claimed"); id != "" {
			if _, err := domain.ParseCredentialID(id); err == nil {
				msg = "You claimed " + id + ". It now verifies as valid."
			}
		}
		s.myPage(w, r, http.StatusOK, msg, false)
	})
	s.handleForm(mux, "/me/claim", func(w http.ResponseWriter, r *http.Request) {
		actor, ok := s.pageUser(w, r, "/me")
		if !ok {
			return
		}
		id := domain.CredentialID(r.PostForm.Get("credential"))
		if _, err := s.Credentials.Claim(r.Context(), actor, id); err != nil {
			status, msg, _ := s.pageError(w, r, err)
			s.myPage(w, r, status, msg, true)
			return
		}
		http.Redirect(w, r, "/me?claimed="+string(id), http.StatusSeeOther)
	})
	mux.HandleFunc("GET /me/credentials.zip", func(w http.ResponseWriter, r *http.Request) {
		actor, ok := s.pageUser(w, r, "/me")
		if !ok {
			return
		}
		body, err := s.credentialsZip(r, actor)
		if err != nil {
			status, msg, _ := s.pageError(w, r, err)
			s.myPage(w, r, status, msg, true)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/zip")
		h.Set("Content-Disposition", `attachment; filename="credentials.zip"`)
		h.Set("Cache-Control", "no-store")
		_, _ = w.Write(body)
	})
}

// myPage renders /me with a message (an error when bad), or sends a
// visitor to sign in first.
func (s *server) myPage(w http.ResponseWriter, r *http.Request, status int, msg string, bad bool) {
	actor, ok := s.pageUser(w, r, "/me")
	if !ok {
		return
	}
	view := myView{Email: actor.UserEmail, Message: msg, Error: bad}
	cursor := r.URL.Query().Get("cursor")
	if r.Method != http.MethodGet {
		cursor = ""
	}
	cs, err := s.Credentials.Mine(r.Context(), actor, ports.Page{After: cursor, Limit: myPageSize})
	if err != nil {
		status, view.Message, _ = s.pageError(w, r, err)
		view.Error = true
	}
	now := s.Clock.Now()
	for _, c := range cs {
		badge, issuer := credentials.Describe(c)
		st := c.Status(now)
		view.Credentials = append(view.Credentials, myCredential{ID: string(c.ID), Badge: badge, Issuer: issuer, Status: string(st),
			IssuedAt: c.IssuedAt, ExpiresAt: c.ExpiresAt, Public: c.Public, Claimable: st == domain.StatusPending,
			VerifyURL: "/verify/" + string(c.ID)})
	}
	if len(cs) == myPageSize {
		view.Next = string(cs[len(cs)-1].ID)
	}
	s.renderWeb(w, r, status, "me", webView{Title: "My credentials", Data: view})
}

// credentialsZip is every credential of the actor's email (at most
// maxZipCredentials), each as CRD-….jwt (the signed file, as
// GET /credentials/{id}.jwt serves it) and CRD-….json (its signed
// credential, as GET /credentials/{id} serves it).
func (s *server) credentialsZip(r *http.Request, actor domain.Actor) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	after, n := "", 0
	for n < maxZipCredentials {
		cs, err := s.Credentials.Mine(r.Context(), actor, ports.Page{After: after, Limit: 100})
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			if err := addToZip(zw, string(c.ID)+".jwt", c.IssuedAt, []byte(c.JWS)); err != nil {
				return nil, err
			}
			if _, payload, err := signing.Parse([]byte(c.JWS)); err == nil {
				var pretty bytes.Buffer
				if json.Indent(&pretty, payload, "", "  ") == nil {
					payload = pretty.Bytes()
				}
				if err := addToZip(zw, string(c.ID)+".json", c.IssuedAt, payload); err != nil {
					return nil, err
				}
			}
			n++
		}
		if len(cs) < 100 {
			break
		}
		after = string(cs[len(cs)-1].ID)
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func addToZip(zw *zip.Writer, name string, modified time.Time, body []byte) error {
	f, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: modified.UTC()})
	if err != nil {
		return err
	}
	_, err = f.Write(body)
	return err
}
