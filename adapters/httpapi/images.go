package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/images"
)

// maxImageBody bounds an image upload's body before any of it is read
// (see capBodies). It is above images.MaxBytes so that an image somewhat
// too large gets INVALID_IMAGE saying its size rather than a bare 413.
const maxImageBody = 2 << 20

// ImageUpload is the body of an image upload and its declared type.
type ImageUpload struct {
	ContentType string `header:"Content-Type" doc:"image/png, image/jpeg or image/webp"`
	RawBody     []byte `contentType:"image/png"`
}

type imageOut struct {
	Body struct {
		ImageURL string `json:"imageUrl" doc:"the image's permanent URL (named by the SHA-256 of the stored bytes)"`
	}
}

// imageOp declares an upload operation: the image bytes as the body, in
// one of the three accepted types.
func imageOp(o huma.Operation) huma.Operation {
	o.MaxBodyBytes = maxImageBody
	binary := func() *huma.MediaType { return &huma.MediaType{Schema: &huma.Schema{Type: "string", Format: "binary"}} }
	o.RequestBody = &huma.RequestBody{Required: true,
		Description: "The image's bytes: PNG, JPEG or WebP, at most 1 MB and 4096 pixels a side (16 Mpx in all). It is decoded and re-encoded, which drops its metadata (EXIF, comments, colour profiles); a WebP is stored as a PNG. SVG is refused.",
		Content:     map[string]*huma.MediaType{"image/png": binary(), "image/jpeg": binary(), "image/webp": binary()}}
	o.Errors = []int{http.StatusUnprocessableEntity, http.StatusRequestEntityTooLarge}
	return o
}

func (s *server) registerImages(api huma.API) {
	badgeImage := imageOp(op(http.MethodPut, "/api/v1/orgs/{orgId}/badges/{badgeId}/image", "upload-badge-image", "Upload the badge's image", "Badges"))
	badgeImage.Description = "Sets the badge's imageUrl to the uploaded image's permanent URL. The image URL is signed into every credential of the badge " +
		"(achievement.image), so once the badge has issued credentials a different image is refused with 409 BADGE_LOCKED; the same picture again is no change. " +
		"An external https imageUrl can still be set with PATCH while the badge is unlocked. An image that is not accepted is 422 INVALID_IMAGE."
	badgeImage.Errors = append(badgeImage.Errors, http.StatusConflict)
	huma.Register(api, badgeImage,
		func(ctx context.Context, in *struct {
			BadgePath
			ImageUpload
		}) (*imageOut, error) {
			b, err := s.Images.SetBadgeImage(ctx, actorFrom(ctx), in.OrgID, in.BadgeID, in.RawBody, in.ContentType)
			if err != nil {
				return nil, s.from(ctx, err)
			}
			out := &imageOut{}
			out.Body.ImageURL = b.ImageURL
			return out, nil
		})
	logo := imageOp(op(http.MethodPut, "/api/v1/orgs/{orgId}/logo", "upload-org-logo", "Upload the organization's logo", "Organizations"))
	logo.Description = "Sets the organization's logoUrl, shown in its views and as the image of its Open Badges issuer profile (/issuers/{slug}). " +
		"The logo is not signed into credentials, so it can change at any time. An image that is not accepted is 422 INVALID_IMAGE."
	huma.Register(api, logo,
		func(ctx context.Context, in *struct {
			OrgPath
			ImageUpload
		}) (*imageOut, error) {
			o, err := s.Images.SetLogo(ctx, actorFrom(ctx), in.OrgID, in.RawBody, in.ContentType)
			if err != nil {
				return nil, s.from(ctx, err)
			}
			out := &imageOut{}
			out.Body.ImageURL = o.LogoURL
			return out, nil
		})
}

// registerImageFiles serves the uploaded images under their content-hash
// names. A name never stands for other bytes, so browsers and caches may
// keep them for a year without asking again; a client asking again with
// the ETag gets 304.
func (s *server) registerImageFiles(mux *http.ServeMux) {
	mux.HandleFunc("GET "+images.PathPrefix+"{file}", func(w http.ResponseWriter, r *http.Request) {
		img, err := s.Images.Get(r.Context(), r.PathValue("file"))
		if err != nil {
			s.writeDocument(w, r, "", nil, err)
			return
		}
		h := w.Header()
		etag := `"` + img.Hash + `"`
		h.Set("ETag", etag)
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		h.Set("Access-Control-Allow-Origin", "*")
		// An image is never a document: nothing in it may run or load.
		h.Set("Content-Security-Policy", "default-src 'none'; sandbox; frame-ancestors 'none'")
		if etagMatches(r.Header.Get("If-None-Match"), etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", img.ContentType)
		_, _ = w.Write(img.Data)
	})
}

// etagMatches reports whether an If-None-Match header names etag (weak
// comparison, as RFC 9110 asks for If-None-Match; * matches anything).
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// bakedBadge serves /credentials/CRD-….png: the badge image with the
// credential baked in, for whoever may see the credential.
func (s *server) bakedBadge(w http.ResponseWriter, r *http.Request, id string) {
	png, err := s.Credentials.Baked(r.Context(), actorFrom(r.Context()), domain.CredentialID(id))
	if err != nil {
		s.writeDocument(w, r, "", nil, err)
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+id+`.png"`)
	s.writeDocument(w, r, "image/png", png, nil)
}
