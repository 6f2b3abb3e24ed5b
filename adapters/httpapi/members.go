package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// orgInvitationWire is an invitation as its organization sees it.
type orgInvitationWire struct {
	ID        string    `json:"id"`
	OrgID     string    `json:"orgId"`
	Email     string    `json:"email"`
	Role      string    `json:"role" enum:"owner,admin,issuer,viewer"`
	Status    string    `json:"status" enum:"pending,accepted,declined,revoked"`
	CreatedAt time.Time `json:"createdAt"`
	ExpiresAt time.Time `json:"expiresAt"`
}

func orgInvitationOf(i domain.Invitation) orgInvitationWire {
	return orgInvitationWire{ID: i.ID, OrgID: i.OrgID, Email: i.Email, Role: string(i.Role), Status: string(i.Status),
		CreatedAt: i.CreatedAt, ExpiresAt: i.ExpiresAt}
}

type memberWire struct {
	UserID   string    `json:"userId"`
	Email    string    `json:"email"`
	Name     string    `json:"name"`
	Role     string    `json:"role"`
	JoinedAt time.Time `json:"joinedAt"`
}

// MemberPath names one member of an organization.
type MemberPath struct {
	OrgPath
	UserID string `path:"userId" maxLength:"36" doc:"the member's user ID"`
}

func memberWireOf(m ports.MemberWithUser) memberWire {
	return memberWire{UserID: m.UserID, Email: m.Email, Name: m.Name, Role: string(m.Role), JoinedAt: m.CreatedAt}
}

func (s *server) registerMembers(api huma.API) {
	tag := "Members"
	huma.Register(api, withStatus(op(http.MethodPost, "/api/v1/orgs/{orgId}/members", "invite-member",
		"Invite an email to join with a role (owners and admins; owners alone invite owners); it has 7 days to answer", tag), 201),
		func(ctx context.Context, in *struct {
			OrgPath
			Body struct {
				Email string `json:"email" maxLength:"254"`
				Role  string `json:"role" enum:"owner,admin,issuer,viewer"`
			}
		}) (*struct{ Body orgInvitationWire }, error) {
			inv, err := s.Orgs.Invite(ctx, actorFrom(ctx), in.OrgID, in.Body.Email, domain.Role(in.Body.Role))
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &struct{ Body orgInvitationWire }{Body: orgInvitationOf(inv)}, nil
		})
	huma.Register(api, op(http.MethodGet, "/api/v1/orgs/{orgId}/invitations", "list-invitations", "The organization's open invitations, newest first", tag),
		func(ctx context.Context, in *OrgPath) (*listOut[orgInvitationWire], error) {
			invs, err := s.Orgs.Invitations(ctx, actorFrom(ctx), in.OrgID)
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &listOut[orgInvitationWire]{Body: listOf(invs, 0, orgInvitationOf, nil)}, nil
		})
	huma.Register(api, withStatus(op(http.MethodDelete, "/api/v1/orgs/{orgId}/invitations/{invitationId}", "revoke-invitation", "Withdraw an open invitation", tag), 204),
		func(ctx context.Context, in *struct {
			OrgPath
			InvitationID string `path:"invitationId" maxLength:"36"`
		}) (*emptyOut, error) {
			if err := s.Orgs.RevokeInvitation(ctx, actorFrom(ctx), in.OrgID, in.InvitationID); err != nil {
				return nil, s.from(ctx, err)
			}
			return &emptyOut{}, nil
		})
	huma.Register(api, op(http.MethodPatch, "/api/v1/orgs/{orgId}/members/{userId}", "change-member-role",
		"Change a member's role (owners any; admins any but owner; the last owner stays owner)", tag),
		func(ctx context.Context, in *struct {
			MemberPath
			Body struct {
				Role string `json:"role" enum:"owner,admin,issuer,viewer"`
			}
		}) (*struct{ Body memberWire }, error) {
			m, err := s.Orgs.ChangeRole(ctx, actorFrom(ctx), in.OrgID, in.UserID, domain.Role(in.Body.Role))
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &struct{ Body memberWire }{Body: memberWireOf(m)}, nil
		})
	huma.Register(api, withStatus(op(http.MethodDelete, "/api/v1/orgs/{orgId}/members/{userId}", "remove-member",
		"Remove a member, or leave (your own user ID); the last owner cannot leave", tag), 204),
		func(ctx context.Context, in *MemberPath) (*emptyOut, error) {
			if err := s.Orgs.RemoveMember(ctx, actorFrom(ctx), in.OrgID, in.UserID); err != nil {
				return nil, s.from(ctx, err)
			}
			return &emptyOut{}, nil
		})
	type invitationPath struct {
		InvitationID string `path:"invitationId" maxLength:"36"`
	}
	huma.Register(api, op(http.MethodPost, "/api/v1/invitations/{invitationId}/accept", "accept-invitation",
		"Join the organization (signed in with the invited, verified email)", tag),
		func(ctx context.Context, in *invitationPath) (*struct{ Body membershipWire }, error) {
			m, err := s.Orgs.AcceptInvitation(ctx, actorFrom(ctx), in.InvitationID)
			if err != nil {
				return nil, s.from(ctx, err)
			}
			org, err := s.Orgs.Get(ctx, actorFrom(ctx), m.OrgID)
			if err != nil {
				return nil, s.from(ctx, err)
			}
			return &struct{ Body membershipWire }{Body: membershipWire{OrgID: m.OrgID, OrgName: org.Name, OrgSlug: org.Slug,
				Status: string(org.Status), Role: string(m.Role)}}, nil
		})
	huma.Register(api, withStatus(op(http.MethodPost, "/api/v1/invitations/{invitationId}/decline", "decline-invitation",
		"Turn the invitation down (signed in with the invited, verified email)", tag), 204),
		func(ctx context.Context, in *invitationPath) (*emptyOut, error) {
			if err := s.Orgs.DeclineInvitation(ctx, actorFrom(ctx), in.InvitationID); err != nil {
				return nil, s.from(ctx, err)
			}
			return &emptyOut{}, nil
		})
}
