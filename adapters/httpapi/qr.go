package httpapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/skip2/go-qrcode"

	"github.com/credence-dev/credence/core/domain"
)

// QR codes of credentials, GET /credentials/{credentialId}/qr.png and
// /qr.svg: they encode the credential's /verify page's URL and nothing
// else, for issuers whose plan offers them (403 PLAN_REQUIRED otherwise);
// a private credential's code is for those who may see it.
//
// The encoder is github.com/skip2/go-qrcode: pure Go without
// dependencies, and it picks the mask pattern by the standard's penalty
// rules (rsc.io/qr always uses mask 0, which some readers scan worse).

// qrModulePixels is the size of one module of the PNG code, in pixels.
const qrModulePixels = 8

func (s *server) registerQR(mux *http.ServeMux) {
	mux.HandleFunc("GET /credentials/{credentialId}/qr.png", s.qrCode(false))
	mux.HandleFunc("GET /credentials/{credentialId}/qr.svg", s.qrCode(true))
}

func (s *server) qrCode(svg bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		target, err := s.Credentials.QRTarget(r.Context(), actorFrom(r.Context()), domain.CredentialID(r.PathValue("credentialId")))
		if err != nil {
			s.writeDocument(w, r, "", nil, err)
			return
		}
		// Medium recovery (15%) keeps the code small for a URL this short
		// and survives a smudged print.
		q, err := qrcode.New(target, qrcode.Medium)
		if err != nil {
			s.writeDocument(w, r, "", nil, fmt.Errorf("encode QR code: %w", err))
			return
		}
		h := w.Header()
		// The code of a credential never changes, but whether the plan
		// offers it may: a day's caching, and none for a private one.
		h.Set("Cache-Control", "public, max-age=86400")
		if a := actorFrom(r.Context()); a.UserID != "" || a.APIKeyID != "" {
			h.Set("Cache-Control", "private, no-store")
		}
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		if svg {
			h.Set("Content-Type", "image/svg+xml")
			_, _ = w.Write(qrSVG(q.Bitmap()))
			return
		}
		png, err := q.PNG(-qrModulePixels)
		if err != nil {
			s.writeDocument(w, r, "", nil, fmt.Errorf("encode QR code: %w", err))
			return
		}
		h.Set("Content-Type", "image/png")
		_, _ = w.Write(png)
	}
}

// qrSVG draws a code's modules (quiet zone included) as one path, one
// unit per module, so that it scales to any size without blurring.
func qrSVG(bitmap [][]bool) []byte {
	n := len(bitmap)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges">`, n, n)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y, row := range bitmap {
		for x := 0; x < len(row); x++ {
			if !row[x] {
				continue
			}
			start := x
			for x+1 < len(row) && row[x+1] {
				x++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", start, y, x-start+1, x-start+1)
		}
	}
	b.WriteString(`"/></svg>`)
	return []byte(b.String())
}
