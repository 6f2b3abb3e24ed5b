package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
)

// registerDocuments serves the public, standard documents outside /api/v1:
// credentials as signed files and JSON, issuer profiles, keys and
// achievements. They are what other verifiers fetch; a browser asking for
// HTML gets the pages of credentials, issuers and badges at the same
// addresses (publicpages.go).
func (s *server) registerDocuments(mux *http.ServeMux) {
	mux.HandleFunc("GET /credentials/{file}", s.credentialResource)
	mux.HandleFunc("GET /issuers/{slug}", negotiated(s.issuerPage, s.document("application/ld+json", s.Credentials.IssuerProfile)))
	mux.HandleFunc("GET /issuers/{slug}/jwks.json", s.document("application/jwk-set+json", s.Credentials.JWKS))
	mux.HandleFunc("GET /issuers/{slug}/did.json", s.document("application/did+json", s.Credentials.DIDDocument))
	mux.HandleFunc("GET /issuers/{slug}/achievements", s.document("application/ld+json", s.Credentials.Achievements))
	mux.HandleFunc("GET /status-lists/{listId}", s.statusListDocument)
	mux.HandleFunc("GET /achievements/{org}/{badge}", negotiated(s.badgePage, func(w http.ResponseWriter, r *http.Request) {
		body, err := s.Credentials.Achievement(r.Context(), r.PathValue("org"), r.PathValue("badge"))
		s.writeDocument(w, r, "application/ld+json", body, err)
	}))
}

func (s *server) document(contentType string, load func(context.Context, string) ([]byte, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := load(r.Context(), r.PathValue("slug"))
		s.writeDocument(w, r, contentType, body, err)
	}
}

// credentialDocument serves /credentials/CRD-….jwt (the exact signed bytes)
// and /credentials/CRD-… (the signed credential as JSON). A private one
// shows to its recipient and issuer: the actor the edge authenticated (a
// token that does not authenticate is ignored, as on every public
// document).
func (s *server) credentialDocument(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	if id, ok := strings.CutSuffix(file, ".png"); ok {
		s.bakedBadge(w, r, id)
		return
	}
	id, isJWT := strings.CutSuffix(file, ".jwt")
	v, err := s.Credentials.View(r.Context(), actorFrom(r.Context()), domain.CredentialID(id))
	if err != nil {
		s.writeDocument(w, r, "", nil, err)
		return
	}
	if isJWT {
		w.Header().Set("Content-Disposition", `attachment; filename="`+id+`.jwt"`)
		s.writeDocument(w, r, "application/vc+jwt", []byte(v.Credential.JWS), nil)
		return
	}
	body, err := credentials.JSONView(v.Credential)    // with its Data Integrity proof, when it has one
	s.writeDocument(w, r, "application/vc", body, err) // VCDM 2.0's media type of a credential
}

// statusListCacheAge is how long a status list may be served from a
// cache: a revocation or suspension reaches verifiers that cache it this
// long after it is published.
const statusListCacheAge = "public, max-age=60"

// statusListDocument serves a status list credential: the compact JWS
// (application/vc+jwt), or with Accept application/vc or application/json
// the credential as JSON (with its Data Integrity proof when the
// organization has proofs on), with an ETag of the bytes so that a verifier
// polling it revalidates for the price of a 304.
func (s *server) statusListDocument(w http.ResponseWriter, r *http.Request) {
	jws, proof, err := s.Credentials.StatusListDocument(r.Context(), r.PathValue("listId"))
	if err != nil {
		s.writeDocument(w, r, "", nil, err)
		return
	}
	contentType, body := "application/vc+jwt", []byte(jws)
	if asJSON := credentialJSONType(r.Header.Get("Accept")); asJSON != "" {
		if body, err = credentials.StatusListJSON(jws, proof); err != nil {
			s.writeDocument(w, r, "", nil, err)
			return
		}
		contentType = asJSON
	}
	sum := sha256.Sum256(append([]byte(contentType+"\n"), body...))
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", statusListCacheAge)
	w.Header().Set("Vary", "Accept")
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	s.writeDocument(w, r, contentType, body, nil)
}

// credentialJSONType is the JSON media type an Accept header asks a
// credential in (application/vc, application/json, application/ld+json
// or application/vc+ld+json, whichever it names first), or "" when it
// asks for the signed application/vc+jwt first or names neither. The
// answer is labelled with the type asked for: clients that check for
// "json" in it get what they check for.
func credentialJSONType(accept string) string {
	for part := range strings.SplitSeq(accept, ",") {
		mediaType, params, _ := strings.Cut(part, ";")
		if refused(params) {
			continue // q=0: not acceptable
		}
		switch mt := strings.ToLower(strings.TrimSpace(mediaType)); mt {
		case "application/vc+jwt", "application/jwt":
			return ""
		case "application/vc", "application/json", "application/ld+json", "application/vc+ld+json":
			return mt
		}
	}
	return ""
}

// refused reports whether the parameters of an Accept entry give it q=0.
func refused(params string) bool {
	for p := range strings.SplitSeq(params, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(name), "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			return err == nil && q == 0
		}
	}
	return false
}

func (s *server) writeDocument(w http.ResponseWriter, r *http.Request, contentType string, body []byte, err error) {
	if err != nil {
		if errors.Is(err, domain.ErrNotFound) {
			err = domain.Errorf(domain.CodeNotFound, "not found") // which one is nobody's business
		}
		s.write(r.Context(), w, err)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(body)
}
