package orgs

import (
	"context"
	"errors"
	"fmt"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/work"
	"github.com/credence-dev/credence/ports"
)

// Teams: owners and admins invite by email with a role, the invitee
// accepts or declines (within domain.InvitationTTL), roles change and
// members leave or are removed. Owner changes are the owners' alone, the
// plan caps the owners, and the last owner can neither leave nor lose the
// role. Every step mails the person it concerns.

// member returns the organization and the actor's role in it when the
// actor holds perm there.
func (s *Service) member(ctx context.Context, actor domain.Actor, orgID string, perm domain.Permission) (ports.OrgWithRole, error) {
	ow, err := s.guard.Member(ctx, actor, orgID, perm)
	if err != nil {
		return ports.OrgWithRole{}, err
	}
	if actor.IsAPIKey() {
		return ports.OrgWithRole{}, domain.Errorf(domain.CodeForbidden, "API keys cannot manage members")
	}
	return ow, nil
}

// mayManage refuses an actor whose role cannot give or take role.
func mayManage(actor domain.Role, role domain.Role) error {
	if !domain.CanManageRole(actor, role) {
		return domain.Errorf(domain.CodeForbidden, "the %s role cannot manage %s members: owner changes are the owners'", actor, role)
	}
	return nil
}

// ownerRoom refuses one more owner beyond the plan's cap, counting open
// owner invitations.
func (s *Service) ownerRoom(ctx context.Context, org domain.Organization, withInvitations bool) error {
	n, err := s.store.Members().CountRole(ctx, org.ID, domain.RoleOwner)
	if err != nil {
		return err
	}
	if withInvitations {
		open, err := s.store.Invitations().CountOpen(ctx, org.ID, domain.RoleOwner, s.now())
		if err != nil {
			return err
		}
		n += open
	}
	return s.plans.Get(org.Plan).CheckCap(org.Plan, domain.CapOwners, n)
}

// Invite asks email to join the organization with role (owners and
// admins; owners alone invite owners, within the plan's cap). A newer
// invitation to the same email replaces an open one.
func (s *Service) Invite(ctx context.Context, actor domain.Actor, orgID, email string, role domain.Role) (domain.Invitation, error) {
	email = domain.NormalizeEmail(email)
	var v domain.Validator
	v.Check(domain.ValidEmail(email), "body.email", "email must be a valid address", email)
	v.Check(domain.ValidRole(role), "body.role", "role must be owner, admin, issuer or viewer", role)
	if err := v.Err(); err != nil {
		return domain.Invitation{}, err
	}
	var inv domain.Invitation
	err := s.outbox.Within(ctx, func(ctx context.Context, post work.Post) error {
		ow, err := s.member(ctx, actor, orgID, domain.PermMembersInvite)
		if err != nil {
			return err
		}
		if err := mayManage(ow.Role, role); err != nil {
			return err
		}
		if err := s.store.Members().LockOrg(ctx, orgID); err != nil {
			return err
		}
		if u, err := s.store.Users().GetByEmail(ctx, email); err == nil {
			if _, err := s.store.Members().Get(ctx, orgID, u.ID); err == nil {
				return domain.Errorf(domain.CodeInvalidState, "%s is already a member", email)
			}
		}
		if _, err := s.store.Invitations().RevokeOpen(ctx, orgID, email, s.now()); err != nil {
			return err
		}
		if role == domain.RoleOwner {
			if err := s.ownerRoom(ctx, ow.Org, true); err != nil {
				return err
			}
		}
		now := s.now()
		inv = domain.Invitation{ID: domain.NewID(), OrgID: orgID, Email: email, Role: role, InvitedBy: actor.UserID,
			CreatedAt: now, ExpiresAt: now.Add(domain.InvitationTTL), Status: domain.InvitationPending}
		if err := s.store.Invitations().Create(ctx, inv); err != nil {
			return err
		}
		if err := s.record(ctx, actor, orgID, domain.ActMemberInvited, "invitation", inv.ID, fmt.Sprintf("%s as %s", email, role)); err != nil {
			return err
		}
		return post(domain.MailInvitation, email, fmt.Sprintf("You are invited to join %s on Credence", ow.Org.Name), fmt.Sprintf(
			"You are invited to join %s on Credence as %s.\n\nSign in with this address (or sign up with it), then accept or decline the invitation: it is listed in your account (GET /api/v1/me), as invitation %s. It expires on %s (UTC).\n",
			ow.Org.Name, role, inv.ID, inv.ExpiresAt.Format("2006-01-02 15:04")))
	})
	return inv, err
}

// Invitations lists the organization's open invitations (members who may
// read the members).
func (s *Service) Invitations(ctx context.Context, actor domain.Actor, orgID string) ([]domain.Invitation, error) {
	if _, err := s.guard.Org(ctx, actor, orgID, domain.PermMembersRead); err != nil {
		return nil, err
	}
	return s.store.Invitations().ListForOrg(ctx, orgID, s.now())
}

// RevokeInvitation withdraws an open invitation (who may give its role).
func (s *Service) RevokeInvitation(ctx context.Context, actor domain.Actor, orgID, id string) error {
	return s.store.WithinTx(ctx, func(ctx context.Context) error {
		ow, err := s.member(ctx, actor, orgID, domain.PermMembersInvite)
		if err != nil {
			return err
		}
		inv, err := s.invitation(ctx, id)
		if err != nil || inv.OrgID != orgID {
			return fmt.Errorf("invitation %s: %w", id, domain.ErrNotFound)
		}
		if err := mayManage(ow.Role, inv.Role); err != nil {
			return err
		}
		if err := s.store.Invitations().Answer(ctx, id, domain.InvitationRevoked, s.now()); err != nil {
			return err
		}
		return s.record(ctx, actor, orgID, domain.ActInvitationRevoked, "invitation", id, inv.Email)
	})
}

func (s *Service) invitation(ctx context.Context, id string) (domain.Invitation, error) {
	if !domain.IsID(id) {
		return domain.Invitation{}, domain.ErrNotFound
	}
	return s.store.Invitations().Get(ctx, id)
}

// invitee returns the invitation when the actor is the user it was sent
// to (signed in with that verified email).
func (s *Service) invitee(ctx context.Context, actor domain.Actor, id string) (domain.Invitation, error) {
	if actor.UserID == "" {
		return domain.Invitation{}, domain.Errorf(domain.CodeUnauthenticated, "sign in as the invited user")
	}
	inv, err := s.invitation(ctx, id)
	if err != nil {
		return domain.Invitation{}, err
	}
	if inv.Email != actor.UserEmail {
		return domain.Invitation{}, domain.Errorf(domain.CodeEmailMismatch, "this invitation is for another email address")
	}
	if !inv.Open(s.now()) {
		return domain.Invitation{}, domain.Errorf(domain.CodeInvalidState, "this invitation was %s", closedAs(inv))
	}
	return inv, nil
}

// closedAs tells why an invitation can no longer be answered.
func closedAs(inv domain.Invitation) string {
	if inv.Status == domain.InvitationPending {
		return "not answered in time: it expired"
	}
	return string(inv.Status)
}

// AcceptInvitation makes the invited user a member with the invited role
// (an owner invitation within the owner cap at that moment).
func (s *Service) AcceptInvitation(ctx context.Context, actor domain.Actor, id string) (domain.Membership, error) {
	var m domain.Membership
	err := s.outbox.Within(ctx, func(ctx context.Context, post work.Post) error {
		inv, err := s.invitee(ctx, actor, id)
		if err != nil {
			return err
		}
		if err := s.store.Members().LockOrg(ctx, inv.OrgID); err != nil {
			return err
		}
		org, err := s.store.Orgs().Get(ctx, inv.OrgID)
		if err != nil {
			return err
		}
		if inv.Role == domain.RoleOwner {
			if err := s.ownerRoom(ctx, org, false); err != nil {
				return err
			}
		}
		if err := s.store.Invitations().Answer(ctx, id, domain.InvitationAccepted, s.now()); err != nil {
			return err
		}
		m = domain.Membership{OrgID: inv.OrgID, UserID: actor.UserID, Role: inv.Role, CreatedAt: s.now()}
		if err := s.store.Members().Add(ctx, m); err != nil {
			return err
		}
		if err := s.record(ctx, actor, inv.OrgID, domain.ActMemberJoined, "member", actor.UserID, fmt.Sprintf("%s as %s", inv.Email, inv.Role)); err != nil {
			return err
		}
		return s.tellInviter(ctx, post, inv, org, "accepted")
	})
	return m, err
}

// DeclineInvitation turns an invitation down.
func (s *Service) DeclineInvitation(ctx context.Context, actor domain.Actor, id string) error {
	return s.outbox.Within(ctx, func(ctx context.Context, post work.Post) error {
		inv, err := s.invitee(ctx, actor, id)
		if err != nil {
			return err
		}
		if err := s.store.Invitations().Answer(ctx, id, domain.InvitationDeclined, s.now()); err != nil {
			return err
		}
		if err := s.record(ctx, actor, inv.OrgID, domain.ActInvitationDecline, "invitation", id, inv.Email); err != nil {
			return err
		}
		org, err := s.store.Orgs().Get(ctx, inv.OrgID)
		if err != nil {
			return err
		}
		return s.tellInviter(ctx, post, inv, org, "declined")
	})
}

func (s *Service) tellInviter(ctx context.Context, post work.Post, inv domain.Invitation, org domain.Organization, answer string) error {
	inviter, err := s.store.Users().Get(ctx, inv.InvitedBy)
	if errors.Is(err, domain.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return post(domain.MailMembership, inviter.Email, fmt.Sprintf("%s %s your invitation to %s", inv.Email, answer, org.Name),
		fmt.Sprintf("%s %s the invitation to join %s as %s.\n", inv.Email, answer, org.Name, inv.Role))
}

// ChangeRole gives a member another role: owners change any role, admins
// any but owner (to or from). The last owner keeps the role; a new owner
// must fit the plan's cap. The member is mailed.
func (s *Service) ChangeRole(ctx context.Context, actor domain.Actor, orgID, userID string, role domain.Role) (ports.MemberWithUser, error) {
	if !domain.ValidRole(role) {
		return ports.MemberWithUser{}, &domain.ValidationError{Fields: []domain.FieldError{{Location: "body.role", Message: "role must be owner, admin, issuer or viewer", Value: role}}}
	}
	var out ports.MemberWithUser
	err := s.outbox.Within(ctx, func(ctx context.Context, post work.Post) error {
		ow, target, err := s.target(ctx, actor, orgID, userID, domain.PermMembersInvite)
		if err != nil {
			return err
		}
		if err := mayManage(ow.Role, target.Role); err != nil {
			return err
		}
		if err := mayManage(ow.Role, role); err != nil {
			return err
		}
		if target.Role == role {
			out = target
			return nil
		}
		if err := s.store.Members().LockOrg(ctx, orgID); err != nil {
			return err
		}
		if target.Role == domain.RoleOwner {
			if err := s.notLastOwner(ctx, orgID); err != nil {
				return err
			}
		}
		if role == domain.RoleOwner {
			if err := s.ownerRoom(ctx, ow.Org, false); err != nil {
				return err
			}
		}
		if err := s.store.Members().SetRole(ctx, orgID, userID, role); err != nil {
			return err
		}
		if err := s.record(ctx, actor, orgID, domain.ActRoleChanged, "member", userID, fmt.Sprintf("%s: %s → %s", target.Email, target.Role, role)); err != nil {
			return err
		}
		out = target
		out.Role = role
		return post(domain.MailMembership, target.Email, fmt.Sprintf("Your role in %s is now %s", ow.Org.Name, role),
			fmt.Sprintf("Hello %s,\n\nYour role in %s on Credence is now %s.\n", target.Name, ow.Org.Name, role))
	})
	return out, err
}

// RemoveMember ends a membership: a member may leave (but the last
// owner), owners remove anyone, admins anyone but owners. The removed
// member is mailed unless they left.
func (s *Service) RemoveMember(ctx context.Context, actor domain.Actor, orgID, userID string) error {
	return s.outbox.Within(ctx, func(ctx context.Context, post work.Post) error {
		leaving := actor.UserID != "" && actor.UserID == userID
		perm := domain.PermMembersRemove
		if leaving {
			perm = domain.PermOrgRead
		}
		ow, target, err := s.target(ctx, actor, orgID, userID, perm)
		if err != nil {
			return err
		}
		if !leaving {
			if err := mayManage(ow.Role, target.Role); err != nil {
				return err
			}
		}
		if err := s.store.Members().LockOrg(ctx, orgID); err != nil {
			return err
		}
		if target.Role == domain.RoleOwner {
			if err := s.notLastOwner(ctx, orgID); err != nil {
				return err
			}
		}
		if err := s.store.Members().Remove(ctx, orgID, userID); err != nil {
			return err
		}
		detail := target.Email
		if leaving {
			detail += " left"
		}
		if err := s.record(ctx, actor, orgID, domain.ActMemberRemoved, "member", userID, detail); err != nil {
			return err
		}
		if leaving {
			return nil
		}
		return post(domain.MailMembership, target.Email, fmt.Sprintf("You were removed from %s", ow.Org.Name),
			fmt.Sprintf("Hello %s,\n\nYou are no longer a member of %s on Credence.\n", target.Name, ow.Org.Name))
	})
}

// target returns the actor's membership (with perm) and the member userID.
func (s *Service) target(ctx context.Context, actor domain.Actor, orgID, userID string, perm domain.Permission) (ports.OrgWithRole, ports.MemberWithUser, error) {
	ow, err := s.member(ctx, actor, orgID, perm)
	if err != nil {
		return ports.OrgWithRole{}, ports.MemberWithUser{}, err
	}
	if domain.IsID(userID) {
		members, err := s.store.Members().List(ctx, orgID)
		if err != nil {
			return ports.OrgWithRole{}, ports.MemberWithUser{}, err
		}
		for _, m := range members {
			if m.UserID == userID {
				return ow, m, nil
			}
		}
	}
	return ports.OrgWithRole{}, ports.MemberWithUser{}, fmt.Errorf("member %s: %w", userID, domain.ErrNotFound)
}

// notLastOwner refuses when the organization has a single owner (counted
// under LockOrg).
func (s *Service) notLastOwner(ctx context.Context, orgID string) error {
	n, err := s.store.Members().CountRole(ctx, orgID, domain.RoleOwner)
	if err != nil {
		return err
	}
	if n <= 1 {
		return domain.ErrLastOwner
	}
	return nil
}
