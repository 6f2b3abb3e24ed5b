package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/statuslist"
	"github.com/credence-dev/credence/ports"
)

type recipientWire struct {
	Name  string `json:"name" maxLength:"200"`
	Email string `json:"email" maxLength:"254"`
}

type statusWire struct {
	Index          int    `json:"index" doc:"the credential's place in both lists"`
	RevocationList string `json:"revocationList" doc:"URL of the revocation status list credential"`
	SuspensionList string `json:"suspensionList" doc:"URL of the suspension status list credential"`
}

type credentialWire struct {
	ID                       string        `json:"id" example:"CRD-ZBUYQMTA"`
	OrgID                    string        `json:"orgId"`
	BadgeID                  string        `json:"badgeId"`
	Recipient                recipientWire `json:"recipient"`
	Status                   string        `json:"status" enum:"pending,valid,expired,revoked,suspended"`
	IssuedAt                 time.Time     `json:"issuedAt"`
	ExpiresAt                *time.Time    `json:"expiresAt,omitempty"`
	Public                   bool          `json:"public"`
	Test                     bool          `json:"test" doc:"issued with a test API key"`
	ClaimedAt                *time.Time    `json:"claimedAt,omitempty"`
	RevokedAt                *time.Time    `json:"revokedAt,omitempty"`
	RevocationReason         string        `json:"revocationReason,omitempty"`
	SuspendedAt              *time.Time    `json:"suspendedAt,omitempty"`
	SuspensionReason         string        `json:"suspensionReason,omitempty"`
	StatusList               *statusWire   `json:"statusList,omitempty" doc:"where its revocation and suspension are published (Bitstring Status List); absent for credentials issued before status lists"`
	SupersedesCredentialID   string        `json:"supersedesCredentialId,omitempty"`
	SupersededByCredentialID string        `json:"supersededByCredentialId,omitempty"`
	KID                      string        `json:"kid" doc:"the key that signed it"`
	VerificationURL          string        `json:"verificationUrl"`
	CredentialURL            string        `json:"credentialUrl" doc:"the signed file (application/vc+jwt) is at this URL + .jwt"`
}

func (s *server) credentialWire(c domain.Credential) credentialWire {
	u := s.Credentials.URLs()
	return credentialWire{ID: string(c.ID), OrgID: c.OrgID, BadgeID: c.BadgeID,
		Recipient: recipientWire{Name: c.RecipientName, Email: c.RecipientEmail},
		Status:    string(c.Status(s.Clock.Now())), IssuedAt: c.IssuedAt, ExpiresAt: c.ExpiresAt, Public: c.Public, Test: c.Test,
		ClaimedAt: c.ClaimedAt, RevokedAt: c.RevokedAt, RevocationReason: c.RevocationReason,
		SuspendedAt: c.SuspendedAt, SuspensionReason: c.SuspensionReason, StatusList: statusWireOf(u, c.Slot),
		SupersedesCredentialID: string(c.SupersedesID), SupersededByCredentialID: string(c.SupersededByID),
		KID: c.KeyID, VerificationURL: u.Verify(c.ID), CredentialURL: u.Credential(c.ID)}
}

func statusWireOf(u credentials.URLs, slot *domain.StatusSlot) *statusWire {
	if slot == nil {
		return nil
	}
	return &statusWire{Index: slot.Index, RevocationList: u.StatusList(slot.List, statuslist.Revocation),
		SuspensionList: u.StatusList(slot.List, statuslist.Suspension)}
}

func credCursor(c domain.Credential) string { return string(c.ID) }

type CredentialPath struct {
	OrgPath
	CredentialID string `path:"credentialId" maxLength:"12" example:"CRD-ZBUYQMTA"`
}

type preflightOut struct {
	Body struct {
		State                string `json:"state" enum:"new,expired,active_time_bound,active_non_expiring,revoked"`
		ExistingCredentialID string `json:"existingCredentialId,omitempty"`
		CountsTowardQuota    bool   `json:"countsTowardQuota"`
	}
}

type issuedWire struct {
	credentialWire
	State string `json:"state" enum:"new,expired,active_time_bound,revoked" doc:"the pre-issue state it was issued in"`
	JWT   string `json:"jwt" doc:"the signed credential (compact JWS, typ vc+jwt)"`
}

func (s *server) registerCredentials(api huma.API) {
	tag := "Credentials"
	huma.Register(api, op(http.MethodPost, "/api/v1/orgs/{orgId}/credentials/preflight", "preflight-credential", "What issuing this badge to this email would do", tag),
		func(ctx context.Context, in *struct {
			OrgPath
			Body struct {
				BadgeID string `json:"badgeId" maxLength:"36"`
				Email   string `json:"email" maxLength:"254"`
			}
		}) (*preflightOut, error) {
			p, err := s.Credentials.Preflight(ctx, actorFrom(ctx), in.OrgID, in.Body.BadgeID, in.Body.Email)
			if err != nil {
				return nil, s.from(ctx, err)
			}
			out := &preflightOut{}
			out.Body.State, out.Body.CountsTowardQuota = string(p.State), p.CountsTowardQuota
			if p.Existing != nil {
				out.Body.ExistingCredentialID = string(p.Existing.ID)
			}
			return out, nil
		})
	huma.Register(api, withStatus(op(http.MethodPost, "/api/v1/orgs/{orgId}/credentials", "issue-credential", "Issue a credential", tag), 201),
		func(ctx context.Context, in *struct {
			OrgPath
			Body struct {
				BadgeID   string        `json:"badgeId" maxLength:"36"`
				Recipient recipientWire `json:"recipient"`
				Public    *bool         `json:"public,omitempty" doc:"default true; private credentials show only to their recipient and issuer"`
			}
		}) (*struct{ Body issuedWire }, error) {
			is, err := s.Credentials.Issue(ctx, actorFrom(ctx), in.OrgID, credentials.IssueInput{BadgeID: in.Body.BadgeID,
				Recipient: domain.Recipient{Name: in.Body.Recipient.Name, Email: in.Body.Recipient.Email}, Public: in.Body.Public})
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &struct{ Body issuedWire }{issuedWire{credentialWire: s.credentialWire(is.Credential), State: string(is.State), JWT: is.Credential.JWS}}, nil
		})
	huma.Register(api, op(http.MethodGet, "/api/v1/orgs/{orgId}/credentials", "list-credentials", "The organization's credentials, newest first", tag),
		func(ctx context.Context, in *struct {
			OrgPath
			BadgeID string `query:"badgeId" maxLength:"36"`
			Email   string `query:"email" maxLength:"254"`
			Status  string `query:"status" enum:"pending,valid,expired,revoked,suspended,"`
			PageParams
		}) (*listOut[credentialWire], error) {
			cs, err := s.Credentials.List(ctx, actorFrom(ctx), ports.CredentialFilter{OrgID: in.OrgID, BadgeID: in.BadgeID, Email: in.Email,
				Status: domain.CredentialStatus(in.Status), After: domain.CredentialID(in.Cursor), Limit: in.Limit})
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &listOut[credentialWire]{Body: listOf(cs, in.Limit, s.credentialWire, credCursor)}, nil
		})
	huma.Register(api, op(http.MethodGet, "/api/v1/orgs/{orgId}/credentials/{credentialId}", "get-credential", "One credential, with its signed file", tag),
		func(ctx context.Context, in *CredentialPath) (*struct{ Body issuedWire }, error) {
			c, err := s.Credentials.Get(ctx, actorFrom(ctx), in.OrgID, domain.CredentialID(in.CredentialID))
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &struct{ Body issuedWire }{issuedWire{credentialWire: s.credentialWire(c), JWT: c.JWS}}, nil
		})
	huma.Register(api, op(http.MethodPost, "/api/v1/orgs/{orgId}/credentials/{credentialId}/revoke", "revoke-credential", "Revoke a credential with a reason (owners, admins, API keys)", tag),
		func(ctx context.Context, in *struct {
			CredentialPath
			Body reasonBody
		}) (*struct{ Body credentialWire }, error) {
			c, err := s.Credentials.Revoke(ctx, actorFrom(ctx), in.OrgID, domain.CredentialID(in.CredentialID), in.Body.Reason)
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &struct{ Body credentialWire }{s.credentialWire(c)}, nil
		})
	huma.Register(api, op(http.MethodPost, "/api/v1/orgs/{orgId}/credentials/{credentialId}/suspend", "suspend-credential",
		"Suspend a credential with a reason, until it is unsuspended (owners, admins, API keys); its status list is published again", tag),
		func(ctx context.Context, in *struct {
			CredentialPath
			Body reasonBody
		}) (*struct{ Body credentialWire }, error) {
			c, err := s.Credentials.Suspend(ctx, actorFrom(ctx), in.OrgID, domain.CredentialID(in.CredentialID), in.Body.Reason)
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &struct{ Body credentialWire }{s.credentialWire(c)}, nil
		})
	huma.Register(api, op(http.MethodPost, "/api/v1/orgs/{orgId}/credentials/{credentialId}/unsuspend", "unsuspend-credential",
		"Lift a credential's suspension (owners, admins, API keys); its status list is published again", tag),
		func(ctx context.Context, in *CredentialPath) (*struct{ Body credentialWire }, error) {
			c, err := s.Credentials.Unsuspend(ctx, actorFrom(ctx), in.OrgID, domain.CredentialID(in.CredentialID))
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &struct{ Body credentialWire }{s.credentialWire(c)}, nil
		})
	huma.Register(api, withStatus(op(http.MethodPost, "/api/v1/orgs/{orgId}/credentials/{credentialId}/resend", "resend-credential",
		"Mail the recipient the credential's link again (7-day cooldown unless the last send failed)", tag), http.StatusAccepted),
		func(ctx context.Context, in *CredentialPath) (*struct{ Body mailWire }, error) {
			m, err := s.Credentials.Resend(ctx, actorFrom(ctx), in.OrgID, domain.CredentialID(in.CredentialID))
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &struct{ Body mailWire }{mailWire{ID: m.ID, CredentialID: string(m.CredentialID), Kind: string(m.Kind),
				Status: string(m.Status), Attempts: m.Attempts, CreatedAt: m.CreatedAt}}, nil
		})
}

type mailWire struct {
	ID           string    `json:"id"`
	CredentialID string    `json:"credentialId"`
	Kind         string    `json:"kind" doc:"credential.issued, credential.renewed or credential.resent"`
	Status       string    `json:"status" enum:"queued,sending,sent,failed" doc:"a mail still queued or being sent is returned as it is, not sent twice"`
	Attempts     int       `json:"attempts"`
	CreatedAt    time.Time `json:"createdAt"`
}
