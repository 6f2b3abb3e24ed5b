package domain_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/credence-dev/credence/core/domain"
)

// designPlans is DESIGN.md's plan table.
var designPlans = domain.Plans{
	domain.PlanFree: {
		MonthlyRecipients: 1000, BadgeTemplates: 100, Owners: 1, ActiveAPIKeys: 0,
		BulkIssuance: false, DomainVerification: false, QRCodes: false, Webhooks: false,
	},
	domain.PlanProfessional: {
		MonthlyRecipients: 1000, BadgeTemplates: domain.Unlimited, Owners: 2, ActiveAPIKeys: 1,
		BulkIssuance: true, DomainVerification: true, QRCodes: true, Webhooks: false,
	},
	domain.PlanEnterprise: {
		MonthlyRecipients: 5000, BadgeTemplates: domain.Unlimited, Owners: domain.Unlimited, ActiveAPIKeys: domain.Unlimited,
		BulkIssuance: true, DomainVerification: true, QRCodes: true, Webhooks: true,
	},
}

func TestDefaultPlans(t *testing.T) {
	t.Parallel()
	got := domain.DefaultPlans()
	if len(got) != len(designPlans) {
		t.Errorf("DefaultPlans has %d plans, want %d", len(got), len(designPlans))
	}
	for name, want := range designPlans {
		if got[name] != want {
			t.Errorf("plan %s:\n got %+v\nwant %+v", name, got[name], want)
		}
	}
	if domain.Unlimited != -1 {
		t.Errorf("Unlimited = %d, want -1", domain.Unlimited)
	}
	if names := got.Names(); !slices.Equal(names, []domain.PlanName{domain.PlanEnterprise, domain.PlanFree, domain.PlanProfessional}) {
		t.Errorf("Names() = %v, want sorted enterprise, free, professional", names)
	}
}

func TestDefaultPlansReturnsAFreshMatrix(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPlans()
	p[domain.PlanFree] = domain.Plan{}
	delete(p, domain.PlanEnterprise)
	if again := domain.DefaultPlans(); !reflect.DeepEqual(again, designPlans) {
		t.Errorf("mutating one DefaultPlans result changed the next: %+v", again)
	}
}

func TestPlansGet(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPlans()
	for _, tc := range []struct {
		name domain.PlanName
		want domain.Plan
	}{
		{domain.PlanFree, designPlans[domain.PlanFree]},
		{domain.PlanProfessional, designPlans[domain.PlanProfessional]},
		{domain.PlanEnterprise, designPlans[domain.PlanEnterprise]},
		{"gold", designPlans[domain.PlanFree]},
		{"", designPlans[domain.PlanFree]},
		{"Enterprise", designPlans[domain.PlanFree]},
	} {
		if got := p.Get(tc.name); got != tc.want {
			t.Errorf("Get(%q) = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestWithOverrides(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		raw     string
		wantErr string // substring of the error; "" for success
		edit    func(p domain.Plans)
	}{
		{"design_example", `{"free":{"monthlyRecipients":6}}`, "", func(p domain.Plans) {
			f := p[domain.PlanFree]
			f.MonthlyRecipients = 6
			p[domain.PlanFree] = f
		}},
		{"empty_object", `{}`, "", nil},
		{"null", `null`, "", nil},
		{"plan_null", `{"free":null}`, "", nil},
		{"plan_empty", `{"professional":{}}`, "", nil},
		{"gates_and_caps", `{"professional":{"webhooks":true,"activeApiKeys":3},"enterprise":{"monthlyRecipients":-1}}`, "", func(p domain.Plans) {
			pro := p[domain.PlanProfessional]
			pro.Webhooks, pro.ActiveAPIKeys = true, 3
			p[domain.PlanProfessional] = pro
			ent := p[domain.PlanEnterprise]
			ent.MonthlyRecipients = domain.Unlimited
			p[domain.PlanEnterprise] = ent
		}},
		{"unlimited_everywhere", `{"free":{"monthlyRecipients":-1,"badgeTemplates":-1,"owners":-1,"activeApiKeys":-1}}`, "", func(p domain.Plans) {
			p[domain.PlanFree] = domain.Plan{MonthlyRecipients: -1, BadgeTemplates: -1, Owners: -1, ActiveAPIKeys: -1}
		}},
		{"zero_caps", `{"enterprise":{"owners":0,"bulkIssuance":false}}`, "", func(p domain.Plans) {
			e := p[domain.PlanEnterprise]
			e.Owners, e.BulkIssuance = 0, false
			p[domain.PlanEnterprise] = e
		}},

		{"unknown_plan", `{"gold":{"owners":3}}`, `unknown plan "gold"`, nil},
		{"plan_name_case", `{"Free":{"owners":3}}`, `unknown plan "Free"`, nil},
		{"unknown_field", `{"free":{"monthlyRecipient":6}}`, "monthlyRecipient", nil},
		{"unknown_field_beside_known", `{"free":{"owners":2,"seats":9}}`, "seats", nil},
		{"bad_json", `{"free":`, "plans override", nil},
		{"not_json", `free.monthlyRecipients=6`, "plans override", nil},
		{"empty_input", ``, "plans override", nil},
		{"array", `[{"free":{}}]`, "plans override", nil},
		{"plan_not_object", `{"free":6}`, "free", nil},
		{"wrong_type", `{"free":{"owners":"2"}}`, "free", nil},
		{"fractional_cap", `{"free":{"owners":1.5}}`, "free", nil},
		{"monthly_below_unlimited", `{"free":{"monthlyRecipients":-2}}`, "monthlyRecipients", nil},
		{"badges_below_unlimited", `{"free":{"badgeTemplates":-2}}`, "badgeTemplates", nil},
		{"owners_below_unlimited", `{"professional":{"owners":-5}}`, "owners", nil},
		{"api_keys_below_unlimited", `{"enterprise":{"activeApiKeys":-100}}`, "activeApiKeys", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			base := domain.DefaultPlans()
			got, err := base.WithOverrides([]byte(tc.raw))
			if !reflect.DeepEqual(base, designPlans) {
				t.Errorf("WithOverrides changed its receiver: %+v", base)
			}
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("WithOverrides(%s) = %+v, want an error", tc.raw, got)
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("error %q does not mention %q", err, tc.wantErr)
				}
				if got != nil {
					t.Errorf("WithOverrides returned plans with its error: %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("WithOverrides(%s): %v", tc.raw, err)
			}
			want := domain.DefaultPlans()
			if tc.edit != nil {
				tc.edit(want)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("WithOverrides(%s):\n got %+v\nwant %+v", tc.raw, got, want)
			}
		})
	}
}

func TestWithOverridesResultIsIndependent(t *testing.T) {
	t.Parallel()
	base := domain.DefaultPlans()
	got, err := base.WithOverrides([]byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	got[domain.PlanFree] = domain.Plan{}
	if base[domain.PlanFree] != designPlans[domain.PlanFree] {
		t.Error("the overridden matrix shares storage with its receiver")
	}
}

func TestCheckCap(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPlans()
	custom := domain.Plan{BadgeTemplates: 0, Owners: 0, ActiveAPIKeys: 0}
	for _, tc := range []struct {
		name    string
		plan    domain.PlanName
		p       domain.Plan
		kind    domain.CapKind
		current int
		want    *domain.Error // nil: allowed
		msg     string        // prefix of the message
	}{
		{"free_api_keys_gate", domain.PlanFree, p[domain.PlanFree], domain.CapActiveAPIKeys, 0, domain.ErrPlanRequired, "API access requires Professional plan"},
		{"free_api_keys_gate_with_keys", domain.PlanFree, p[domain.PlanFree], domain.CapActiveAPIKeys, 3, domain.ErrPlanRequired, "API access requires Professional plan"},
		{"free_badges_under", domain.PlanFree, p[domain.PlanFree], domain.CapBadgeTemplates, 99, nil, ""},
		{"free_badges_none", domain.PlanFree, p[domain.PlanFree], domain.CapBadgeTemplates, 0, nil, ""},
		{"free_badges_at_cap", domain.PlanFree, p[domain.PlanFree], domain.CapBadgeTemplates, 100, domain.ErrPlanLimitReached, "the free plan allows 100 badge templates"},
		{"free_badges_over_cap", domain.PlanFree, p[domain.PlanFree], domain.CapBadgeTemplates, 150, domain.ErrPlanLimitReached, ""},
		{"free_owners_under", domain.PlanFree, p[domain.PlanFree], domain.CapOwners, 0, nil, ""},
		{"free_owners_at_cap", domain.PlanFree, p[domain.PlanFree], domain.CapOwners, 1, domain.ErrPlanLimitReached, "the free plan allows 1 owners"},
		{"pro_api_keys_under", domain.PlanProfessional, p[domain.PlanProfessional], domain.CapActiveAPIKeys, 0, nil, ""},
		{"pro_api_keys_at_cap", domain.PlanProfessional, p[domain.PlanProfessional], domain.CapActiveAPIKeys, 1, domain.ErrPlanLimitReached, "the professional plan allows 1 active API keys"},
		{"pro_owners_under", domain.PlanProfessional, p[domain.PlanProfessional], domain.CapOwners, 1, nil, ""},
		{"pro_owners_at_cap", domain.PlanProfessional, p[domain.PlanProfessional], domain.CapOwners, 2, domain.ErrPlanLimitReached, ""},
		{"pro_badges_unlimited", domain.PlanProfessional, p[domain.PlanProfessional], domain.CapBadgeTemplates, 1_000_000, nil, ""},
		{"ent_badges_unlimited", domain.PlanEnterprise, p[domain.PlanEnterprise], domain.CapBadgeTemplates, 1 << 30, nil, ""},
		{"ent_owners_unlimited", domain.PlanEnterprise, p[domain.PlanEnterprise], domain.CapOwners, 1 << 30, nil, ""},
		{"ent_api_keys_unlimited", domain.PlanEnterprise, p[domain.PlanEnterprise], domain.CapActiveAPIKeys, 1 << 30, nil, ""},
		{"zero_badge_cap_is_a_gate", "custom", custom, domain.CapBadgeTemplates, 0, domain.ErrPlanRequired, "badge templates are not part of the custom plan"},
		{"zero_owner_cap_is_a_gate", "custom", custom, domain.CapOwners, 0, domain.ErrPlanRequired, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.p.CheckCap(tc.plan, tc.kind, tc.current)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("CheckCap(%s, %s, %d) = %v, want nil", tc.plan, tc.kind, tc.current, err)
				}
				return
			}
			wantErr(t, err, tc.want)
			if !strings.HasPrefix(err.Error(), tc.msg) {
				t.Errorf("message %q, want it to start with %q", err, tc.msg)
			}
			other := domain.ErrPlanRequired
			if tc.want == domain.ErrPlanRequired {
				other = domain.ErrPlanLimitReached
			}
			if errors.Is(err, other) {
				t.Errorf("%v also matches %s", err, other.Code)
			}
		})
	}
}

func TestRequireAPIAccess(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPlans()
	err := p[domain.PlanFree].RequireAPIAccess(domain.PlanFree)
	wantErr(t, err, domain.ErrPlanRequired)
	if err != nil && !strings.HasPrefix(err.Error(), "API access requires Professional plan") {
		t.Errorf("message %q", err)
	}
	for _, name := range []domain.PlanName{domain.PlanProfessional, domain.PlanEnterprise} {
		if err := p[name].RequireAPIAccess(name); err != nil {
			t.Errorf("%s: RequireAPIAccess() = %v, want nil", name, err)
		}
	}
}
