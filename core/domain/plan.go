package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// PlanName names a subscription plan.
type PlanName string

// The built-in plans.
const (
	PlanFree         PlanName = "free"
	PlanProfessional PlanName = "professional"
	PlanEnterprise   PlanName = "enterprise"
)

// Unlimited marks a cap without a limit.
const Unlimited = -1

// Plan is one row of the plan matrix: caps (Unlimited for none) and gates.
type Plan struct {
	MonthlyRecipients  int  `json:"monthlyRecipients"`
	BadgeTemplates     int  `json:"badgeTemplates"`
	Owners             int  `json:"owners"`
	ActiveAPIKeys      int  `json:"activeApiKeys"`
	BulkIssuance       bool `json:"bulkIssuance"`
	DomainVerification bool `json:"domainVerification"`
	QRCodes            bool `json:"qrCodes"`
	Webhooks           bool `json:"webhooks"`
}

// Plans is the plan matrix, data rather than code.
type Plans map[PlanName]Plan

// DefaultPlans returns the matrix of DESIGN.md.
func DefaultPlans() Plans {
	return Plans{
		PlanFree:         {MonthlyRecipients: 1000, BadgeTemplates: 100, Owners: 1, ActiveAPIKeys: 0},
		PlanProfessional: {MonthlyRecipients: 1000, BadgeTemplates: Unlimited, Owners: 2, ActiveAPIKeys: 1, BulkIssuance: true, DomainVerification: true, QRCodes: true},
		PlanEnterprise:   {MonthlyRecipients: 5000, BadgeTemplates: Unlimited, Owners: Unlimited, ActiveAPIKeys: Unlimited, BulkIssuance: true, DomainVerification: true, QRCodes: true, Webhooks: true},
	}
}

// WithOverrides merges a JSON object of per-plan partial settings, e.g.
// {"free":{"monthlyRecipients":6}}, over a copy of p. Unknown plans and
// unknown fields are errors, so a typo never goes unnoticed.
func (p Plans) WithOverrides(raw []byte) (Plans, error) {
	out := make(Plans, len(p))
	for k, v := range p {
		out[k] = v
	}
	var parts map[PlanName]json.RawMessage
	if err := json.Unmarshal(raw, &parts); err != nil {
		return nil, fmt.Errorf("plans override: %w", err)
	}
	for name, part := range parts {
		plan, ok := out[name]
		if !ok {
			return nil, fmt.Errorf("plans override: unknown plan %q (known: %v)", name, out.Names())
		}
		dec := json.NewDecoder(bytes.NewReader(part))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&plan); err != nil {
			return nil, fmt.Errorf("plans override for %s: %w", name, err)
		}
		for field, n := range map[string]int{"monthlyRecipients": plan.MonthlyRecipients, "badgeTemplates": plan.BadgeTemplates, "owners": plan.Owners, "activeApiKeys": plan.ActiveAPIKeys} {
			if n < Unlimited {
				return nil, fmt.Errorf("plans override for %s: %s must be %d (unlimited) or more, got %d", name, field, Unlimited, n)
			}
		}
		out[name] = plan
	}
	return out, nil
}

// Names lists the plans in a stable order.
func (p Plans) Names() []PlanName {
	names := make([]PlanName, 0, len(p))
	for n := range p {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return names[i] < names[j] })
	return names
}

// Get returns the named plan, or the free plan's caps when it is unknown.
func (p Plans) Get(name PlanName) Plan {
	if pl, ok := p[name]; ok {
		return pl
	}
	return p[PlanFree]
}

// CapKind names a capped resource.
type CapKind string

// Capped resources.
const (
	CapBadgeTemplates CapKind = "badge templates"
	CapOwners         CapKind = "owners"
	CapActiveAPIKeys  CapKind = "active API keys"
)

// CheckCap returns PLAN_REQUIRED when the plan allows none of kind at all,
// PLAN_LIMIT_REACHED when current already fills the cap, else nil.
func (p Plan) CheckCap(name PlanName, kind CapKind, current int) error {
	limit := map[CapKind]int{CapBadgeTemplates: p.BadgeTemplates, CapOwners: p.Owners, CapActiveAPIKeys: p.ActiveAPIKeys}[kind]
	switch {
	case limit == Unlimited || current < limit:
		return nil
	case limit == 0 && kind == CapActiveAPIKeys:
		return Errorf(CodePlanRequired, "API access requires Professional plan (this organization is on %s)", name)
	case limit == 0:
		return Errorf(CodePlanRequired, "%s are not part of the %s plan", kind, name)
	default:
		return Errorf(CodePlanLimitReached, "the %s plan allows %d %s", name, limit, kind)
	}
}

// RequireAPIAccess returns PLAN_REQUIRED when the plan has no API access.
func (p Plan) RequireAPIAccess(name PlanName) error {
	if p.ActiveAPIKeys == 0 {
		return Errorf(CodePlanRequired, "API access requires Professional plan (this organization is on %s)", name)
	}
	return nil
}
