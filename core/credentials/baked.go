package credentials

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/credence-dev/credence/core/baking"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/images"
	"github.com/credence-dev/credence/core/signing"
)

// Baked returns the credential as an Open Badges baked badge: a PNG of
// its badge's image carrying the stored compact JWS in an
// openbadgecredential iTXt chunk. A hosted PNG is used as it is and a
// hosted JPEG converted; a badge whose image is external (or gone) is
// baked into a plain generated image, for the server never fetches a URL
// an issuer chose. Private credentials show as View says.
func (s *Service) Baked(ctx context.Context, actor domain.Actor, id domain.CredentialID) ([]byte, error) {
	v, err := s.View(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	png, err := s.badgePNG(ctx, v.Badge)
	if err != nil {
		return nil, err
	}
	baked, err := baking.Bake(png, v.Credential.JWS)
	if err != nil {
		return nil, fmt.Errorf("bake credential %s: %w", id, err)
	}
	return baked, nil
}

// badgePNG is the PNG a badge's credentials are baked into.
func (s *Service) badgePNG(ctx context.Context, b domain.Badge) ([]byte, error) {
	hash, hosted := images.HostedHash(s.urls.Base, b.ImageURL)
	if !hosted {
		return images.Plain(b.Name), nil
	}
	img, err := s.store.Images().Get(ctx, hash)
	if errors.Is(err, domain.ErrNotFound) {
		return images.Plain(b.Name), nil
	}
	if err != nil {
		return nil, err
	}
	return images.PNG(img)
}

// presentedJWS returns the compact JWS a presented file holds: the file
// itself, or the credential baked into it when it is a PNG. A PNG that
// cannot be read, or carries no credential, is INVALID_CREDENTIAL_FILE.
func presentedJWS(file []byte) ([]byte, error) {
	if !baking.IsPNG(file) {
		// A compact JWS holds no white space: what surrounds it is the
		// newline a .jwt file ends with, or a paste's.
		return bytes.TrimSpace(file), nil
	}
	jws, err := baking.Extract(file)
	if errors.Is(err, baking.ErrNoCredential) {
		return nil, domain.Errorf(domain.CodeInvalidCredentialFile, "the PNG is not a baked badge: it carries no openbadgecredential iTXt chunk")
	}
	if err != nil {
		return nil, domain.Errorf(domain.CodeInvalidCredentialFile, "the PNG cannot be read as a baked badge: %v", err)
	}
	compact := []byte(strings.TrimSpace(jws))
	if _, err := signing.ParseToken(compact); err != nil {
		return nil, domain.Errorf(domain.CodeInvalidCredentialFile, "the credential baked into the PNG is not a compact JWS")
	}
	return compact, nil
}

// VerifyFile is VerifyPresented for an uploaded file: a .jwt (surrounding
// white space allowed) or a baked badge PNG. A file that holds no
// readable compact JWS is INVALID_CREDENTIAL_FILE.
func (s *Service) VerifyFile(ctx context.Context, file []byte) (Verification, error) {
	if !baking.IsPNG(file) {
		file = bytes.TrimSpace(file)
	}
	v, err := s.VerifyPresented(ctx, file)
	if _, ok := errors.AsType[*domain.ValidationError](err); ok {
		return Verification{}, domain.Errorf(domain.CodeInvalidCredentialFile, "the file is neither a compact JWS (a .jwt file of at most 64 KiB) nor a baked badge PNG")
	}
	return v, err
}
