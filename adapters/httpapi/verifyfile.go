package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/credence-dev/credence/core/baking"
	"github.com/credence-dev/credence/core/domain"
)

// maxVerifyBody bounds POST /api/v1/verify (see capBodies): a baked PNG
// of baking.MaxPNGSize and the multipart framing around it.
const maxVerifyBody = baking.MaxPNGSize + 64<<10

// verifyFileOp lets the presented-credential operation also take
// multipart/form-data with a file: huma reads the JSON body it declares,
// and an upload is answered here, before huma would refuse its content
// type. The OpenAPI document describes both.
func (s *server) verifyFileOp(o huma.Operation) huma.Operation {
	o.MaxBodyBytes = maxVerifyBody
	o.Description = "Checks a signed credential with only the issuer's published keys, then the current state of the credential it names. " +
		"Send JSON {credential: <compact JWS>}, or multipart/form-data with the field file: a .jwt file or a baked badge PNG " +
		"(Open Badges 3.0 baking: the JWS in the PNG's iTXt chunk openbadgecredential). A file that cannot be read " +
		"(not a compact JWS, a malformed PNG, a PNG that carries no credential) is 422 INVALID_CREDENTIAL_FILE."
	o.RequestBody = &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{
		"multipart/form-data": {
			Schema: &huma.Schema{Type: "object", Required: []string{"file"}, Properties: map[string]*huma.Schema{
				"file": {Type: "string", Format: "binary", ContentEncoding: "binary",
					Description: "the signed credential file: a .jwt (compact JWS) or a baked badge PNG (iTXt openbadgecredential), at most 4 MiB"},
			}},
			Encoding: map[string]*huma.Encoding{"file": {ContentType: "application/vc+jwt, image/png, application/octet-stream"}},
		},
	}}
	o.Middlewares = append(o.Middlewares, func(ctx huma.Context, next func(huma.Context)) {
		mt, params, err := mime.ParseMediaType(ctx.Header("Content-Type"))
		if err != nil || mt != "multipart/form-data" {
			next(ctx)
			return
		}
		r, w := humago.Unwrap(ctx)
		file, err := formFile(r.Body, params["boundary"])
		if errors.Is(err, errFileTooLarge) {
			writeProblem(w, bodyTooLarge(baking.MaxPNGSize))
			return
		}
		if err != nil {
			s.write(r.Context(), w, err)
			return
		}
		v, err := s.Credentials.VerifyFile(r.Context(), file)
		if err != nil {
			s.write(r.Context(), w, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.verificationWire(v))
	})
	return o
}

// errFileTooLarge is an uploaded file over baking.MaxPNGSize: 413, as a
// body over the route's bound is, however it was sent (chunked or not).
var errFileTooLarge = errors.New("the uploaded file is larger than 4 MiB")

// formFile reads the "file" part of a multipart body, at most
// baking.MaxPNGSize bytes of it.
func formFile(body io.Reader, boundary string) ([]byte, error) {
	bad := func(detail string) error { return domain.Errorf(domain.CodeInvalidCredentialFile, "%s", detail) }
	if boundary == "" {
		return nil, bad("the multipart body has no boundary")
	}
	mr := multipart.NewReader(body, boundary)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, bad("the form has no file part: send the .jwt or baked PNG as the field \"file\"")
		}
		if err != nil {
			return nil, bad("the multipart body cannot be read")
		}
		if part.FormName() != "file" {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(part, baking.MaxPNGSize+1))
		if _, over := errors.AsType[*http.MaxBytesError](err); over || len(data) > baking.MaxPNGSize {
			return nil, errFileTooLarge
		}
		if err != nil {
			return nil, bad("the uploaded file cannot be read")
		}
		if len(data) == 0 {
			return nil, bad("the uploaded file is empty")
		}
		return data, nil
	}
}
