package vcapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
)

// Secured verifies credentials secured with an embedded Data Integrity
// proof (eddsa-rdfc-2022) as credentials.Service.VerifySecured does.
type Secured interface {
	VerifySecured(ctx context.Context, doc []byte) (credentials.Verification, error)
}

// DataIntegrity is the EmbeddedProofs of Credence's own issuers: a
// credential with an eddsa-rdfc-2022 proof made with an issuer's published
// proof key. Presentations secured with an embedded proof are not
// verified (only enveloped ones are).
type DataIntegrity struct{ Credentials Secured }

// Credential verifies a credential with an embedded proof.
func (d DataIntegrity) Credential(ctx context.Context, credential json.RawMessage) (Result, error) {
	v, err := d.Credentials.VerifySecured(ctx, credential)
	var invalid *domain.ValidationError
	if errors.As(err, &invalid) {
		return failed(problem(MalformedValueError, "the credential's embedded proof: %s", invalid.Fields[0].Message)), nil
	}
	if errors.Is(err, credentials.ErrNoCanonicalizer) {
		return failed(problem(Unsupported, "embedded proofs are not verified by this server: %v", err)), nil
	}
	if err != nil {
		return Result{}, fmt.Errorf("verify a credential with an embedded proof: %w", err)
	}
	return fromVerification(v), nil
}

// Presentation refuses presentations secured with an embedded proof.
func (DataIntegrity) Presentation(context.Context, json.RawMessage, PresentationOptions) ([]Problem, error) {
	return []Problem{problem(Unsupported, "a presentation secured with an embedded proof is not verified here: "+
		"send it enveloped (data:application/vp+jwt or data:application/jwt, signed by a did:key holder)")}, nil
}
