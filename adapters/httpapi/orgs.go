package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/orgs"
	"github.com/credence-dev/credence/ports"
)

type orgWire struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	Slug          string    `json:"slug"`
	WebsiteURL    string    `json:"websiteUrl,omitempty"`
	Description   string    `json:"description,omitempty"`
	LogoURL       string    `json:"logoUrl,omitempty" doc:"the uploaded logo's URL (PUT /api/v1/orgs/{orgId}/logo)"`
	Status        string    `json:"status" enum:"pending_review,approved,rejected,suspended"`
	StatusReason  string    `json:"statusReason,omitempty" doc:"why it was rejected or suspended"`
	Plan          string    `json:"plan"`
	EmailsEnabled bool      `json:"emailsEnabled" doc:"whether recipients are emailed"`
	RequireMFA    bool      `json:"requireMfa" doc:"every member signs in with an emailed code"`
	DataIntegrity bool      `json:"dataIntegrityProof" doc:"new credentials also carry an embedded eddsa-rdfc-2022 proof in their JSON view"`
	Role          string    `json:"role,omitempty" doc:"the caller's role"`
	IssuerID      string    `json:"issuerId" doc:"the issuer's did:web"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
}

func (s *server) orgWire(o domain.Organization, role domain.Role) orgWire {
	return orgWire{ID: o.ID, Name: o.Name, Slug: o.Slug, WebsiteURL: o.WebsiteURL, Description: o.Description,
		LogoURL: o.LogoURL, Status: string(o.Status), StatusReason: o.StatusReason, Plan: string(o.Plan), EmailsEnabled: o.EmailsEnabled, RequireMFA: o.RequireMFA, DataIntegrity: o.DataIntegrity,
		Role: string(role), IssuerID: s.Credentials.URLs().DID(o.Slug), CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
}

type orgOut struct{ Body orgWire }

type orgBody struct {
	Name          *string `json:"name,omitempty" maxLength:"120"`
	Slug          *string `json:"slug,omitempty" maxLength:"63" doc:"URL slug, derived from the name when absent; it cannot change later"`
	WebsiteURL    *string `json:"websiteUrl,omitempty" maxLength:"2048"`
	Description   *string `json:"description,omitempty" maxLength:"2000"`
	EmailsEnabled *bool   `json:"emailsEnabled,omitempty" doc:"email recipients when their credentials are issued or renewed (default true)"`
	RequireMFA    *bool   `json:"requireMfa,omitempty" doc:"make every member sign in with an emailed code (owners only; default false)"`
	DataIntegrity *bool   `json:"dataIntegrityProof,omitempty" doc:"secure new credentials with an embedded Data Integrity proof (eddsa-rdfc-2022) beside the JWS: the first time, an Ed25519 key is added to the issuer's DID document (owners only; default false)"`
}

func (b orgBody) input() domain.OrgInput {
	return domain.OrgInput{Name: b.Name, Slug: b.Slug, WebsiteURL: b.WebsiteURL, Description: b.Description, EmailsEnabled: b.EmailsEnabled, RequireMFA: b.RequireMFA,
		DataIntegrity: b.DataIntegrity}
}

type OrgPath struct {
	OrgID string `path:"orgId" maxLength:"36" doc:"organization ID"`
}

type reasonBody struct {
	Reason string `json:"reason" maxLength:"1000"`
}

type usageOut struct {
	Body struct {
		Plan               string `json:"plan"`
		SubscriptionStatus string `json:"subscriptionStatus" doc:"free, or active for paid plans (billing comes later)"`
		Quota              struct {
			Used     int       `json:"used"`
			Limit    int       `json:"limit" doc:"-1 means unlimited"`
			ResetsAt time.Time `json:"resetsAt"`
		} `json:"quota"`
		Limits        domain.Plan `json:"limits" doc:"the plan's caps (-1 unlimited) and gates"`
		Verifications int64       `json:"verifications" doc:"how many times this issuer's credentials were verified"`
	}
}

func (s *server) registerOrgs(api huma.API) {
	tag := "Organizations"
	huma.Register(api, withStatus(op(http.MethodPost, "/api/v1/orgs", "create-org", "Create an organization (pending review; you are its owner)", tag), 201),
		func(ctx context.Context, in *struct{ Body orgBody }) (*orgOut, error) {
			o, err := s.Orgs.Create(ctx, actorFrom(ctx), in.Body.input())
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &orgOut{Body: s.orgWire(o, domain.RoleOwner)}, nil
		})
	huma.Register(api, op(http.MethodGet, "/api/v1/orgs", "list-orgs", "Organizations you belong to", tag),
		func(ctx context.Context, _ *struct{}) (*listOut[orgWire], error) {
			os, err := s.Orgs.ListMine(ctx, actorFrom(ctx))
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &listOut[orgWire]{Body: listOf(os, 0, func(o ports.OrgWithRole) orgWire { return s.orgWire(o.Org, o.Role) }, nil)}, nil
		})
	huma.Register(api, op(http.MethodGet, "/api/v1/orgs/{orgId}", "get-org", "One organization", tag),
		func(ctx context.Context, in *OrgPath) (*orgOut, error) {
			o, err := s.Orgs.Get(ctx, actorFrom(ctx), in.OrgID)
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &orgOut{Body: s.orgWire(o, "")}, nil
		})
	huma.Register(api, op(http.MethodPatch, "/api/v1/orgs/{orgId}", "update-org", "Edit an organization's details", tag),
		func(ctx context.Context, in *struct {
			OrgPath
			Body orgBody
		}) (*orgOut, error) {
			o, err := s.Orgs.Update(ctx, actorFrom(ctx), in.OrgID, in.Body.input())
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &orgOut{Body: s.orgWire(o, "")}, nil
		})
	huma.Register(api, op(http.MethodPost, "/api/v1/orgs/{orgId}/resubmit", "resubmit-org", "Send a rejected organization back to review", tag),
		func(ctx context.Context, in *OrgPath) (*orgOut, error) {
			o, err := s.Orgs.Resubmit(ctx, actorFrom(ctx), in.OrgID)
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &orgOut{Body: s.orgWire(o, "")}, nil
		})
	huma.Register(api, op(http.MethodGet, "/api/v1/orgs/{orgId}/members", "list-members", "An organization's members", tag),
		func(ctx context.Context, in *OrgPath) (*listOut[memberWire], error) {
			ms, err := s.Orgs.Members(ctx, actorFrom(ctx), in.OrgID)
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &listOut[memberWire]{Body: listOf(ms, 0, memberWireOf, nil)}, nil
		})
	huma.Register(api, op(http.MethodGet, "/api/v1/orgs/{orgId}/usage", "get-usage", "Plan, monthly quota and limits", tag),
		func(ctx context.Context, in *OrgPath) (*usageOut, error) {
			u, err := s.Orgs.Usage(ctx, actorFrom(ctx), in.OrgID)
			if err != nil {
				return nil, s.from(ctx, err)
			}
			out := &usageOut{}
			b := &out.Body
			b.Plan, b.Limits, b.Verifications = string(u.Plan), u.Limits, u.Verifications
			b.SubscriptionStatus = "active"
			if u.Plan == domain.PlanFree {
				b.SubscriptionStatus = "free"
			}
			b.Quota.Used, b.Quota.Limit, b.Quota.ResetsAt = u.QuotaUsed, u.QuotaLimit, u.QuotaResetsAt
			return out, nil
		})

	admin := "Platform administration"
	huma.Register(api, op(http.MethodGet, "/api/v1/admin/orgs", "admin-list-orgs", "Every organization, by status", admin),
		func(ctx context.Context, in *struct {
			Status string `query:"status" enum:"pending_review,approved,rejected,suspended," doc:"only organizations in this status"`
			PageParams
		}) (*listOut[orgWire], error) {
			os, err := s.Orgs.ListAll(ctx, actorFrom(ctx), ports.OrgFilter{Status: domain.OrgStatus(in.Status), After: in.Cursor, Limit: in.Limit})
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &listOut[orgWire]{Body: listOf(os, in.Limit, func(o domain.Organization) orgWire { return s.orgWire(o, "") },
				func(o domain.Organization) string { return o.ID })}, nil
		})
	for _, d := range []struct {
		decision orgs.Review
		summary  string
		reason   bool
	}{
		{orgs.Approve, "Approve an organization for issuing", false},
		{orgs.Reject, "Reject an organization with a reason (it may resubmit)", true},
		{orgs.Suspend, "Suspend an organization (issuing stops; credentials stay verifiable)", true},
	} {
		path := "/api/v1/admin/orgs/{orgId}/" + string(d.decision)
		o := op(http.MethodPost, path, string(d.decision)+"-org", d.summary, admin)
		if d.reason {
			huma.Register(api, o, func(ctx context.Context, in *struct {
				OrgPath
				Body reasonBody
			}) (*orgOut, error) {
				return s.decide(ctx, in.OrgID, d.decision, in.Body.Reason)
			})
		} else {
			huma.Register(api, o, func(ctx context.Context, in *OrgPath) (*orgOut, error) {
				return s.decide(ctx, in.OrgID, d.decision, "")
			})
		}
	}
	huma.Register(api, op(http.MethodPut, "/api/v1/admin/orgs/{orgId}/plan", "set-org-plan", "Change an organization's plan", admin),
		func(ctx context.Context, in *struct {
			OrgPath
			Body struct {
				Plan string `json:"plan" maxLength:"50" doc:"free, professional, enterprise, or a plan named in CREDENCE_PLANS"`
			}
		}) (*orgOut, error) {
			o, err := s.Orgs.SetPlan(ctx, actorFrom(ctx), in.OrgID, domain.PlanName(in.Body.Plan))
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &orgOut{Body: s.orgWire(o, "")}, nil
		})
}

func (s *server) decide(ctx context.Context, orgID string, d orgs.Review, reason string) (*orgOut, error) {
	o, err := s.Orgs.Decide(ctx, actorFrom(ctx), orgID, d, reason)
	if err != nil {
		return nil, s.from(ctx, err)
	}
	return &orgOut{Body: s.orgWire(o, "")}, nil
}
