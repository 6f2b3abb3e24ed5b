package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
)

type publicCredential struct {
	ID        string `json:"id"`
	Status    string `json:"status" enum:"pending,valid,expired,revoked,suspended"`
	Recipient struct {
		Name  string `json:"name"`
		Email string `json:"email" doc:"partly masked"`
	} `json:"recipient"`
	Badge struct {
		Name           string   `json:"name"`
		Description    string   `json:"description"`
		Criteria       string   `json:"criteria"`
		ImageURL       string   `json:"imageUrl"`
		Tags           []string `json:"tags"`
		AchievementURL string   `json:"achievementUrl"`
	} `json:"badge"`
	Issuer struct {
		ID      string `json:"id" doc:"did:web"`
		Name    string `json:"name"`
		Slug    string `json:"slug"`
		URL     string `json:"url,omitempty"`
		Status  string `json:"status"`
		Profile string `json:"profileUrl"`
		LogoURL string `json:"logoUrl,omitempty" doc:"the issuer's uploaded logo"`
	} `json:"issuer"`
	IssuedAt                 time.Time   `json:"issuedAt"`
	ExpiresAt                *time.Time  `json:"expiresAt,omitempty"`
	ClaimedAt                *time.Time  `json:"claimedAt,omitempty"`
	RevokedAt                *time.Time  `json:"revokedAt,omitempty"`
	RevocationReason         string      `json:"revocationReason,omitempty"`
	SuspendedAt              *time.Time  `json:"suspendedAt,omitempty"`
	SuspensionReason         string      `json:"suspensionReason,omitempty"`
	StatusList               *statusWire `json:"statusList,omitempty" doc:"where its revocation and suspension are published (Bitstring Status List)"`
	SupersedesCredentialID   string      `json:"supersedesCredentialId,omitempty"`
	SupersededByCredentialID string      `json:"supersededByCredentialId,omitempty"`
	Public                   bool        `json:"public"`
	Test                     bool        `json:"test"`
	VerificationURL          string      `json:"verificationUrl"`
	CredentialURL            string      `json:"credentialUrl"`
}

func (s *server) publicCredential(c domain.Credential, b domain.Badge, o domain.Organization) *publicCredential {
	u := s.Credentials.URLs()
	p := &publicCredential{ID: string(c.ID), Status: string(c.Status(s.Clock.Now())), IssuedAt: c.IssuedAt, ExpiresAt: c.ExpiresAt,
		ClaimedAt: c.ClaimedAt, RevokedAt: c.RevokedAt, RevocationReason: c.RevocationReason,
		SuspendedAt: c.SuspendedAt, SuspensionReason: c.SuspensionReason, StatusList: statusWireOf(u, c.Slot),
		SupersedesCredentialID: string(c.SupersedesID), SupersededByCredentialID: string(c.SupersededByID),
		Public: c.Public, Test: c.Test, VerificationURL: u.Verify(c.ID), CredentialURL: u.Credential(c.ID)}
	p.Recipient.Name, p.Recipient.Email = c.RecipientName, domain.MaskEmail(c.RecipientEmail)
	p.Badge.Name, p.Badge.Description, p.Badge.Criteria, p.Badge.ImageURL = b.Name, b.Description, b.Criteria, b.ImageURL
	p.Badge.Tags, p.Badge.AchievementURL = b.Tags, u.Achievement(o.Slug, b.Slug)
	if p.Badge.Tags == nil {
		p.Badge.Tags = []string{}
	}
	p.Issuer.ID, p.Issuer.Name, p.Issuer.Slug, p.Issuer.URL = u.DID(o.Slug), o.Name, o.Slug, o.WebsiteURL
	p.Issuer.Status, p.Issuer.Profile, p.Issuer.LogoURL = string(o.Status), u.Issuer(o.Slug), o.LogoURL
	return p
}

type checkWire struct {
	Name   string `json:"name" enum:"signature,integrity,expiry,revocation,issuer"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

type verificationWire struct {
	Result     string            `json:"result" enum:"valid,pending,invalid,revoked,suspended,expired,unknown" doc:"unknown: every other check passed but the credential's status list could not be read, so whether it was revoked or suspended is not known"`
	Checks     []checkWire       `json:"checks"`
	Credential *publicCredential `json:"credential,omitempty" doc:"absent when the file names no credential the issuer knows"`
}

func (s *server) verificationWire(v credentials.Verification) verificationWire {
	w := verificationWire{Result: string(v.Result), Checks: make([]checkWire, 0, len(v.Checks))}
	for _, c := range v.Checks {
		w.Checks = append(w.Checks, checkWire{Name: string(c.Name), OK: c.OK, Detail: c.Detail})
	}
	if v.Credential != nil {
		w.Credential = s.publicCredential(*v.Credential, v.Badge, v.Org)
	}
	return w
}

type PublicCredentialPath struct {
	CredentialID string `path:"credentialId" maxLength:"12" example:"CRD-ZBUYQMTA"`
}

// registerVerification registers what anyone may ask of a credential:
// its public view, its verification by ID or as a presented file; and
// its claim by its recipient.
func (s *server) registerVerification(api huma.API) {
	tag := "Verification"
	huma.Register(api, publicOp(op(http.MethodGet, "/api/v1/credentials/{credentialId}", "view-credential", "A credential's public view (private ones: recipient and issuer only)", tag)),
		func(ctx context.Context, in *PublicCredentialPath) (*struct{ Body *publicCredential }, error) {
			v, err := s.Credentials.View(ctx, actorFrom(ctx), domain.CredentialID(in.CredentialID))
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &struct{ Body *publicCredential }{s.publicCredential(v.Credential, v.Badge, v.Org)}, nil
		})
	huma.Register(api, publicOp(op(http.MethodGet, "/api/v1/credentials/{credentialId}/verify", "verify-credential", "Verify a credential by ID: signature, integrity, expiry, revocation, issuer", tag)),
		func(ctx context.Context, in *PublicCredentialPath) (*struct{ Body verificationWire }, error) {
			v, err := s.Credentials.Verify(ctx, actorFrom(ctx), domain.CredentialID(in.CredentialID))
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &struct{ Body verificationWire }{s.verificationWire(v)}, nil
		})
	huma.Register(api, s.verifyFileOp(publicOp(op(http.MethodPost, "/api/v1/verify", "verify-presented", "Verify a presented signed credential file", tag))),
		func(ctx context.Context, in *struct {
			Body struct {
				Credential string `json:"credential" maxLength:"65536" doc:"the compact JWS (contents of the .jwt file)"`
			}
		}) (*struct{ Body verificationWire }, error) {
			v, err := s.Credentials.VerifyPresented(ctx, []byte(in.Body.Credential))
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &struct{ Body verificationWire }{s.verificationWire(v)}, nil
		})
	huma.Register(api, op(http.MethodPost, "/api/v1/credentials/{credentialId}/claim", "claim-credential", "Claim a credential issued to your verified email", "Recipients"),
		func(ctx context.Context, in *PublicCredentialPath) (*struct{ Body credentialWire }, error) {
			c, err := s.Credentials.Claim(ctx, actorFrom(ctx), domain.CredentialID(in.CredentialID))
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &struct{ Body credentialWire }{s.credentialWire(c)}, nil
		})
}
