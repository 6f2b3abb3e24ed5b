// Package orgs holds the organization use cases: creating and editing
// organizations, platform review (approve, reject, suspend, plan), members,
// signing keys with rotation, API keys and usage.
package orgs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/credence-dev/credence/core/access"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/work"
	"github.com/credence-dev/credence/ports"
)

// Service runs the organization use cases.
type Service struct {
	store  Store
	clock  ports.Clock
	outbox *work.Outbox
	cipher ports.KeyCipher
	plans  domain.Plans
	guard  access.Guard
	log    *slog.Logger
	// keysChanged runs after a transaction that revoked, regenerated or
	// re-limited API keys commits (OnAPIKeysChanged).
	keysChanged func()
	// tally holds the verifications this process counted and has not yet
	// added to the store (nil: none; see UseTally).
	tally *work.Tally
}

// OnAPIKeysChanged sets f to run after every committed change to API
// keys (revocation, regeneration, rate limit, a plan change that revokes
// keys beyond its cap), and after a failed attempt at one: the account
// service's ForgetAPIKeys, so that its cache of looked-up keys holds
// nothing older than the change.
func (s *Service) OnAPIKeysChanged(f func()) { s.keysChanged = f }

func (s *Service) apiKeysChanged() {
	if s.keysChanged != nil {
		s.keysChanged()
	}
}

// New returns an organization service.
// Its mail (decisions to owners) goes through outbox.
func New(store Store, clock ports.Clock, outbox *work.Outbox, cipher ports.KeyCipher, plans domain.Plans, log *slog.Logger) *Service {
	return &Service{store: store, clock: clock, outbox: outbox, cipher: cipher, plans: plans, log: log,
		guard: access.Guard{Store: store, Plans: plans}}
}

func (s *Service) now() time.Time { return domain.Truncate(s.clock.Now()) }

// UseTally makes usage report, with the stored count of verifications,
// those counted in t and not yet added (core/platform shares t with the
// credential service, which counts verifications in it).
func (s *Service) UseTally(t *work.Tally) { s.tally = t }

// verifications is the organization's count of verifications: stored,
// and pending in this process's tally.
func (s *Service) verifications(ctx context.Context, orgID string) (int64, error) {
	if s.tally != nil {
		return s.tally.Total(ctx, orgID)
	}
	return s.store.Orgs().Verifications(ctx, orgID)
}

// Create makes a pending_review organization whose owner is the caller,
// who must have a verified email.
func (s *Service) Create(ctx context.Context, actor domain.Actor, in domain.OrgInput) (domain.Organization, error) {
	if err := access.RequireUser(actor); err != nil {
		return domain.Organization{}, err
	}
	if actor.UserEmail == "" {
		return domain.Organization{}, domain.ErrEmailNotVerified
	}
	org, err := domain.NewOrganization(in, s.now())
	if err != nil {
		return domain.Organization{}, err
	}
	err = s.store.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.store.Orgs().Create(ctx, org); err != nil {
			return err
		}
		if err := s.store.Members().Add(ctx, domain.Membership{OrgID: org.ID, UserID: actor.UserID, Role: domain.RoleOwner, CreatedAt: org.CreatedAt}); err != nil {
			return err
		}
		return s.record(ctx, actor, org.ID, domain.ActOrgCreated, "organization", org.ID, org.Name)
	})
	if err != nil {
		return domain.Organization{}, fmt.Errorf("create organization: %w", err)
	}
	return org, nil
}

// Get returns an organization the actor may read.
func (s *Service) Get(ctx context.Context, actor domain.Actor, orgID string) (domain.Organization, error) {
	return s.guard.Org(ctx, actor, orgID, domain.PermOrgRead)
}

// ListMine returns the organizations the user belongs to, with roles.
func (s *Service) ListMine(ctx context.Context, actor domain.Actor) ([]ports.OrgWithRole, error) {
	if actor.IsAPIKey() {
		org, err := s.guard.Org(ctx, actor, actor.APIKeyOrg, domain.PermOrgRead)
		if err != nil {
			return nil, err
		}
		return []ports.OrgWithRole{{Org: org}}, nil
	}
	if err := access.RequireUser(actor); err != nil {
		return nil, err
	}
	return s.store.Orgs().ListForUser(ctx, actor.UserID)
}

// Update edits an organization's details. Requiring emailed codes of
// every member takes an owner whose own session was opened with one
// (MFA_REQUIRED otherwise): the change shuts out every session opened
// without one, and must not shut out the owner's own.
func (s *Service) Update(ctx context.Context, actor domain.Actor, orgID string, in domain.OrgInput) (domain.Organization, error) {
	perm := domain.PermOrgUpdate
	if in.RequireMFA != nil {
		perm = domain.PermSecurity
	}
	if in.DataIntegrity != nil {
		perm = domain.PermSigningKeys // owners (as for RequireMFA): it adds a key to the issuer's DID document
	}
	proofsWereOn := false
	return s.change(ctx, actor, domain.ActOrgUpdated, func(ctx context.Context) (domain.Organization, error) {
		return s.guard.Org(ctx, actor, orgID, perm)
	}, func(o *domain.Organization) error {
		proofsWereOn = o.DataIntegrity
		if in.RequireMFA != nil && *in.RequireMFA && !o.RequireMFA && actor.SessionWithoutCode() {
			return domain.Errorf(domain.CodeMFARequired, "requiring emailed codes takes a session opened with one: switch on your own sign-in codes, sign out and sign in again")
		}
		return o.Update(in, s.now())
	}, func(ctx context.Context, o domain.Organization) error {
		if !o.DataIntegrity || proofsWereOn {
			return nil
		}
		if err := s.ensureProofKey(ctx, actor, o.ID); err != nil {
			return err
		}
		// Its status lists are published again with proofs, for the
		// credentials with proofs that will name them (by the sweep,
		// once its relay grace has passed).
		return s.store.StatusLists().ChangedOrg(ctx, o.ID, s.now())
	})
}

// Resubmit sends a rejected organization back to review.
func (s *Service) Resubmit(ctx context.Context, actor domain.Actor, orgID string) (domain.Organization, error) {
	return s.change(ctx, actor, domain.ActOrgStatusChanged, func(ctx context.Context) (domain.Organization, error) {
		return s.guard.Org(ctx, actor, orgID, domain.PermOrgUpdate)
	}, func(o *domain.Organization) error { return o.Resubmit(s.now()) })
}

// change loads an organization, applies fn, stores it and logs action by
// actor, in one transaction.
func (s *Service) change(ctx context.Context, actor domain.Actor, action domain.Action, load func(context.Context) (domain.Organization, error), fn func(*domain.Organization) error, after ...func(context.Context, domain.Organization) error) (domain.Organization, error) {
	var out domain.Organization
	err := s.store.WithinTx(ctx, func(ctx context.Context) error {
		org, err := load(ctx)
		if err != nil {
			return err
		}
		if err := fn(&org); err != nil {
			return err
		}
		out = org
		if err := s.store.Orgs().Update(ctx, org); err != nil {
			return err
		}
		for _, a := range after {
			if err := a(ctx, org); err != nil {
				return err
			}
		}
		detail := fmt.Sprintf("status %s, plan %s", org.Status, org.Plan)
		return s.record(ctx, actor, org.ID, action, "organization", org.ID, detail)
	})
	return out, err
}

// record logs actor's action on a target of orgID (joining ctx's
// transaction).
func (s *Service) record(ctx context.Context, actor domain.Actor, orgID string, action domain.Action, targetType, target, detail string) error {
	return s.store.Activity().Record(ctx, domain.NewActivity(actor, orgID, action, targetType, target, detail, s.now()))
}

// byID loads an organization by ID for administrators, who need no membership.
func (s *Service) byID(orgID string) func(context.Context) (domain.Organization, error) {
	return func(ctx context.Context) (domain.Organization, error) {
		if !domain.IsID(orgID) {
			return domain.Organization{}, domain.ErrNotFound
		}
		return s.store.Orgs().Get(ctx, orgID)
	}
}

// ListAll lists every organization, for platform administrators.
func (s *Service) ListAll(ctx context.Context, actor domain.Actor, f ports.OrgFilter) ([]domain.Organization, error) {
	if err := access.RequireAdmin(actor); err != nil {
		return nil, err
	}
	var v domain.Validator
	v.NoControls("query.status", string(f.Status))
	v.NoControls("query.cursor", f.After)
	if err := v.Err(); err != nil {
		return nil, err
	}
	return s.store.Orgs().List(ctx, f)
}

// Review names an administrator's decision on an organization.
type Review string

// Administrator decisions.
const (
	Approve Review = "approve"
	Reject  Review = "reject"
	Suspend Review = "suspend"
)

// Decide applies an administrator's decision and mails the owners.
func (s *Service) Decide(ctx context.Context, actor domain.Actor, orgID string, decision Review, reason string) (domain.Organization, error) {
	if err := access.RequireAdmin(actor); err != nil {
		return domain.Organization{}, err
	}
	var org domain.Organization
	err := s.outbox.Within(ctx, func(ctx context.Context, post work.Post) error {
		var err error
		if org, err = s.decide(ctx, actor, orgID, decision, reason); err != nil {
			return err
		}
		return s.mailOwners(ctx, post, org, decisionMail(org))
	})
	return org, err
}

func (s *Service) decide(ctx context.Context, actor domain.Actor, orgID string, decision Review, reason string) (domain.Organization, error) {
	return s.change(ctx, actor, domain.ActOrgStatusChanged, s.byID(orgID), func(o *domain.Organization) error {
		switch decision {
		case Approve:
			return o.Approve(s.now())
		case Reject:
			return o.Reject(reason, s.now())
		case Suspend:
			return o.Suspend(reason, s.now())
		}
		return fmt.Errorf("unknown decision %q", decision)
	})
}

func decisionMail(org domain.Organization) ports.Message {
	switch org.Status {
	case domain.OrgApproved:
		return ports.Message{Subject: fmt.Sprintf("%s is approved on Credence", org.Name),
			Text: fmt.Sprintf("Good news: %s is approved. You can now issue credentials.\n", org.Name)}
	case domain.OrgRejected:
		return ports.Message{Subject: fmt.Sprintf("%s was not approved", org.Name),
			Text: fmt.Sprintf("%s was not approved, for this reason:\n\n%s\n\nUpdate the organization's details and resubmit it for review.\n", org.Name, org.StatusReason)}
	default:
		return ports.Message{Subject: fmt.Sprintf("%s is suspended", org.Name),
			Text: fmt.Sprintf("%s is suspended and cannot issue credentials, for this reason:\n\n%s\n\nCredentials issued earlier stay verifiable.\n", org.Name, org.StatusReason)}
	}
}

// mailOwners posts m to every owner of org.
func (s *Service) mailOwners(ctx context.Context, post work.Post, org domain.Organization, m ports.Message) error {
	members, err := s.store.Members().List(ctx, org.ID)
	if err != nil {
		return err
	}
	for _, mem := range members {
		if mem.Role == domain.RoleOwner {
			if err := post(domain.MailOrgDecision, mem.Email, m.Subject, m.Text); err != nil {
				return err
			}
		}
	}
	return nil
}

// SetPlan changes an organization's plan (platform administrators) and,
// in the same transaction, revokes the active API keys beyond the new
// plan's cap (see capAPIKeys).
func (s *Service) SetPlan(ctx context.Context, actor domain.Actor, orgID string, plan domain.PlanName) (domain.Organization, error) {
	if err := access.RequireAdmin(actor); err != nil {
		return domain.Organization{}, err
	}
	if _, ok := s.plans[plan]; !ok {
		return domain.Organization{}, &domain.ValidationError{Fields: []domain.FieldError{{Location: "body.plan", Message: fmt.Sprintf("plan must be one of %v", s.plans.Names()), Value: plan}}}
	}
	defer s.apiKeysChanged() // after the transaction: capAPIKeys may revoke keys
	var out domain.Organization
	err := s.store.WithinTx(ctx, func(ctx context.Context) error {
		var err error
		out, err = s.change(ctx, actor, domain.ActPlanChanged, s.byID(orgID), func(o *domain.Organization) error {
			o.Plan, o.UpdatedAt = plan, s.now()
			return nil
		})
		if err != nil {
			return err
		}
		return s.capAPIKeys(ctx, out)
	})
	return out, err
}

// Members lists an organization's members.
func (s *Service) Members(ctx context.Context, actor domain.Actor, orgID string) ([]ports.MemberWithUser, error) {
	if _, err := s.guard.Org(ctx, actor, orgID, domain.PermMembersRead); err != nil {
		return nil, err
	}
	return s.store.Members().List(ctx, orgID)
}

// Usage is an organization's plan, quota use and limits.
type Usage struct {
	Plan          domain.PlanName
	Limits        domain.Plan
	QuotaUsed     int
	QuotaLimit    int
	QuotaResetsAt time.Time
	Verifications int64
}

// Usage reports the plan, this month's quota and the caps.
func (s *Service) Usage(ctx context.Context, actor domain.Actor, orgID string) (Usage, error) {
	org, err := s.guard.Org(ctx, actor, orgID, domain.PermUsageRead)
	if err != nil {
		return Usage{}, err
	}
	now := s.clock.Now()
	used, err := s.store.Quota().Used(ctx, org.ID, domain.MonthStart(now))
	if err != nil {
		return Usage{}, err
	}
	verifications, err := s.verifications(ctx, org.ID)
	if err != nil {
		return Usage{}, err
	}
	plan := s.plans.Get(org.Plan)
	return Usage{Plan: org.Plan, Limits: plan, QuotaUsed: used, QuotaLimit: plan.MonthlyRecipients,
		QuotaResetsAt: domain.NextMonthStart(now), Verifications: verifications}, nil
}

// Activity lists an organization's activity log, newest first (owners and
// admins: it names members and their addresses).
func (s *Service) Activity(ctx context.Context, actor domain.Actor, orgID string, f ports.ActivityFilter) ([]domain.Activity, error) {
	if _, err := s.guard.Org(ctx, actor, orgID, domain.PermActivityRead); err != nil {
		return nil, err
	}
	f.OrgID, f.AllOrgs = orgID, false
	if err := checkActivityFilter(f); err != nil {
		return nil, err
	}
	return s.store.Activity().List(ctx, f)
}

// AllActivity lists the activity log of the whole platform, sign-ins
// included (platform administrators); f.OrgID narrows it to one
// organization.
func (s *Service) AllActivity(ctx context.Context, actor domain.Actor, f ports.ActivityFilter) ([]domain.Activity, error) {
	if err := access.RequireAdmin(actor); err != nil {
		return nil, err
	}
	f.AllOrgs = true
	if err := checkActivityFilter(f); err != nil {
		return nil, err
	}
	return s.store.Activity().List(ctx, f)
}

// checkActivityFilter refuses filter values with control characters or
// invalid UTF-8 (see domain.ControlFree): no entry holds them.
func checkActivityFilter(f ports.ActivityFilter) error {
	var v domain.Validator
	v.NoControls("query.action", f.Action)
	v.NoControls("query.actor", f.Actor)
	v.NoControls("query.target", f.Target)
	if f.AllOrgs {
		v.NoControls("query.orgId", f.OrgID)
	}
	v.NoControls("query.cursor", f.After)
	return v.Err()
}
